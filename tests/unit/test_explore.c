/* Unit tests of exploration (harness/explore.c): the generator is reproducible and writes
 * scenarios the loader takes, the model file is read with positions, the shrinker reaches a
 * minimal sequence on a judge of its own. */
#include "explore.h"
#include "scenario.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *gen_text(const struct wsph_explore_model *m, uint64_t seed, size_t max_steps)
{
	static struct wsph_seq s;
	wsph_explore_generate(m, seed, max_steps, &s);
	return wsph_explore_yaml(&s, "x", "SPI.Startup.VersionMin", NULL);
}

Test(explore, same_seed_same_text_other_seed_other_text)
{
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	size_t differ = 0;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		char *a = gen_text(&m, seed, 16), *b = gen_text(&m, seed, 16),
		     *c = gen_text(&m, seed + 1000, 16);
		cr_assert(a && b && c);
		cr_expect_str_eq(a, b, "seed %llu", (unsigned long long)seed);
		differ += strcmp(a, c) != 0;
		free(a);
		free(b);
		free(c);
	}
	cr_expect_geq(differ, 45, "only %zu of 50 pairs of seeds differ", differ);
}

/* n sequences from seeds first.. as one file, loaded. */
static void expect_loads(const struct wsph_explore_model *m, uint64_t first, size_t n,
			 size_t max_steps)
{
	struct wsph_seq *seqs = calloc(n, sizeof *seqs);
	struct wsph_suite suite;
	struct wsph_diag diag;
	cr_assert_not_null(seqs);
	for (size_t i = 0; i < n; i++) {
		wsph_explore_generate(m, first + i, max_steps, &seqs[i]);
		cr_expect_leq(seqs[i].n_steps, max_steps);
		cr_expect_eq(seqs[i].steps[0].op, WSPH_OP_STARTUP);
		cr_expect_eq(seqs[i].steps[seqs[i].n_steps - 1].op, WSPH_OP_CLEANUP);
	}
	char *text = wsph_explore_yaml_batch(seqs, n, "x", "SPI.Startup.VersionMin");
	cr_assert_not_null(text);
	memset(&suite, 0, sizeof suite);
	int rc = wsph_scenario_load_string(&suite, "batch.yaml", text, strlen(text), NULL, &diag);
	cr_expect_eq(rc, 0, "%s", rc ? diag.text : "");
	cr_expect_eq(suite.n_scenarios, rc ? 0 : n);
	wsph_suite_free(&suite);
	free(text);
	free(seqs);
}

Test(explore, five_hundred_sequences_load)
{
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	expect_loads(&m, 1, 500, 16);
	expect_loads(&m, 7777, 100, 64);
	expect_loads(&m, 99, 100, 4);
}

Test(explore, every_step_with_a_weight_loads)
{
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	for (int op = 0; op < WSPH_OP_COUNT; op++)
		m.weights[op] = 5;
	m.fault_percent = 100;
	expect_loads(&m, 1, 500, 32);
}

Test(explore, model_file_with_positions)
{
	struct wsph_explore_model m;
	struct wsph_diag diag;
	static const char good[] = "weights:\n  socket: 3\n  select: 0\nfaults: 0\n";
	cr_assert_eq(wsph_explore_model_load_string(&m, "m.yaml", good, strlen(good), &diag), 0,
		     "%s", diag.text);
	cr_expect_eq(m.weights[WSPH_OP_SOCKET], 3);
	cr_expect_eq(m.weights[WSPH_OP_SELECT], 0);
	cr_expect_eq(m.weights[WSPH_OP_BIND], 6); /* not named: the default */
	cr_expect_eq(m.fault_percent, 0);
	static const char shapes[] = "connection: 0\nupcalls: 100\nopen_at_cleanup: 50\n";
	cr_assert_eq(wsph_explore_model_load_string(&m, "m.yaml", shapes, strlen(shapes), &diag), 0,
		     "%s", diag.text);
	cr_expect_eq(m.connection, 0);
	cr_expect_eq(m.upcalls_percent, 100);
	cr_expect_eq(m.open_at_cleanup_percent, 50);
	static const char bad_upcalls[] = "faults: 3\nupcalls: 101\n";
	cr_expect_eq(wsph_explore_model_load_string(&m, "m.yaml", bad_upcalls, strlen(bad_upcalls),
						    &diag),
		     -1);
	cr_expect(strstr(diag.text, "m.yaml:2:10:") && strstr(diag.text, "'upcalls'"), "%s",
		  diag.text);
	static const char bad_step[] = "weights:\n  sockets: 3\n";
	cr_expect_eq(wsph_explore_model_load_string(&m, "m.yaml", bad_step, strlen(bad_step), &diag),
		     -1);
	cr_expect(strstr(diag.text, "m.yaml:2:3:") && strstr(diag.text, "'sockets'"), "%s",
		  diag.text);
	static const char bad_pct[] = "faults: 101\n";
	cr_expect_eq(wsph_explore_model_load_string(&m, "m.yaml", bad_pct, strlen(bad_pct), &diag),
		     -1);
	cr_expect(strstr(diag.text, "m.yaml:1:9:") != NULL, "%s", diag.text);
	static const char bad_key[] = "weight: {}\n";
	cr_expect_eq(wsph_explore_model_load_string(&m, "m.yaml", bad_key, strlen(bad_key), &diag),
		     -1);
}

/* The bundled model is valid and names every step. */
Test(explore, bundled_model_loads)
{
	struct wsph_explore_model m;
	struct wsph_diag diag;
	cr_assert_eq(wsph_explore_model_load(&m, WSPH_SOURCE_ROOT "/scenarios/explore.yaml", &diag),
		     0, "%s", diag.text);
	struct wsph_explore_model d;
	wsph_explore_model_default(&d);
	cr_expect_eq(memcmp(&m, &d, sizeof m), 0, "scenarios/explore.yaml and the defaults differ");
}

/* The fake judge: a sequence fails when it closes a socket no earlier step bound. */
static const char *value_of(const struct wsph_gen_step *st, enum wsph_key key)
{
	for (size_t k = 0; k < st->n_args; k++)
		if (st->args[k].key == key)
			return st->args[k].value;
	return NULL;
}

static int closes_unbound(const struct wsph_seq *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		if (s->steps[i].op != WSPH_OP_CLOSE)
			continue;
		const char *name = value_of(&s->steps[i], WSPH_KEY_SOCKET);
		int bound = 0;
		for (size_t j = 0; j < i; j++)
			bound |= s->steps[j].op == WSPH_OP_BIND &&
				 !strcmp(value_of(&s->steps[j], WSPH_KEY_SOCKET), name);
		if (!bound)
			return 1;
	}
	return 0;
}

static int calls;

static int fake_judge(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	(void)ctx;
	calls++;
	for (size_t i = 0; i < n; i++)
		fails[i] = closes_unbound(&cands[i]);
	return 0;
}

Test(explore, shrinks_to_a_minimal_sequence)
{
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	m.fault_percent = 100;
	size_t shrunk = 0;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct wsph_seq s;
		wsph_explore_generate(&m, seed, 24, &s);
		if (!closes_unbound(&s))
			continue;
		calls = 0;
		cr_assert_geq(wsph_explore_shrink(&s, fake_judge, NULL), 1);
		cr_expect(closes_unbound(&s));
		/* the smallest: a startup (a step that needs one keeps one), the socket and its
		 * close, nothing else */
		cr_expect_eq(s.n_steps, 3, "seed %llu: %zu steps", (unsigned long long)seed, s.n_steps);
		cr_expect_eq(s.steps[0].op, WSPH_OP_STARTUP);
		cr_expect_eq(s.steps[0].n_args, 0); /* the optional version: went */
		cr_expect_eq(s.steps[1].op, WSPH_OP_SOCKET);
		cr_expect_eq(s.steps[2].op, WSPH_OP_CLOSE);
		cr_expect_eq(s.steps[1].n_args, 1); /* the optional type: went */
		cr_expect_eq(s.n_faults, 0);
		char *text = wsph_explore_yaml(&s, "x", "SPI.Startup.VersionMin", "# shrunk\n");
		struct wsph_suite suite;
		struct wsph_diag diag;
		memset(&suite, 0, sizeof suite);
		cr_expect_eq(wsph_scenario_load_string(&suite, "s.yaml", text, strlen(text), NULL,
						       &diag), 0, "%s", diag.text);
		wsph_suite_free(&suite);
		free(text);
		shrunk++;
	}
	cr_expect_geq(shrunk, 50, "only %zu sequences close an unbound socket", shrunk);
}

/* A judge that never fails leaves the sequence as it was; one that errs stops the shrinker. */
static int never(void *ctx, const struct wsph_seq *c, size_t n, int *fails)
{
	(void)ctx;
	(void)c;
	memset(fails, 0, n * sizeof *fails);
	return 0;
}

static int broken(void *ctx, const struct wsph_seq *c, size_t n, int *fails)
{
	(void)ctx;
	(void)c;
	(void)n;
	(void)fails;
	return -1;
}

Test(explore, judge_that_never_fails_or_errs)
{
	struct wsph_explore_model m;
	struct wsph_seq s, t;
	wsph_explore_model_default(&m);
	wsph_explore_generate(&m, 4, 16, &s);
	t = s;
	cr_expect_eq(wsph_explore_shrink(&s, never, NULL), 2); /* a round per phase */
	cr_expect_eq(memcmp(&s, &t, sizeof s), 0);
	cr_expect_eq(wsph_explore_shrink(&s, broken, NULL), -1);
}

static int has_arg(const struct wsph_gen_step *st, enum wsph_key key, const char *value)
{
	for (size_t k = 0; k < st->n_args; k++)
		if (st->args[k].key == key && (!value || !strcmp(st->args[k].value, value)))
			return 1;
	return 0;
}

/* A sequence with faults has no step that waits: a failed call may mean it would wait forever. */
Test(explore, sequences_with_faults_never_wait)
{
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	m.fault_percent = 100;
	for (uint64_t seed = 1; seed <= 500; seed++) {
		struct wsph_seq s;
		wsph_explore_generate(&m, seed, 32, &s);
		cr_assert_gt(s.n_faults, 0);
		for (size_t i = 0; i < s.n_steps; i++) {
			const struct wsph_gen_step *st = &s.steps[i];
			cr_expect(st->op != WSPH_OP_ACCEPT && st->op != WSPH_OP_ARRIVE &&
					  st->op != WSPH_OP_COMPLETE && st->op != WSPH_OP_ALERTABLE,
				  "seed %llu step %zu: %s", (unsigned long long)seed, i + 1,
				  wsph_step_def(st->op)->name);
		}
	}
}

/* What the default model reaches in 500 sequences: each shape of sequence that a provider's
 * defect needs to show (the faulty providers' rules) is drawn. */
Test(explore, default_model_reaches_every_shape)
{
	enum { ROUTINE, OLD_VERSION, UNBALANCED, RESTART, HOOK, MODIFY, ARRIVE, COMPLETE, OPEN_AT_END,
	       N_SHAPES };
	static const char *const names[] = {"routine", "old version", "unbalanced cleanup",
					    "restart", "hook", "modify different", "arrive",
					    "complete", "open at the final cleanup"};
	int seen[N_SHAPES] = {0};
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	for (uint64_t seed = 1; seed <= 500; seed++) {
		struct wsph_seq s;
		int started = 0, opened = 0, cleaned_to_zero = 0;
		wsph_explore_generate(&m, seed * 0x9e3779b97f4a7c15ull, WSPH_EXPLORE_DEFAULT_STEPS, &s);
		seen[HOOK] |= s.blocking != 0;
		seen[MODIFY] |= s.modify_different;
		for (size_t i = 0; i < s.n_steps; i++) {
			const struct wsph_gen_step *st = &s.steps[i];
			seen[ROUTINE] |= has_arg(st, WSPH_KEY_COMPLETION, "routine");
			seen[ARRIVE] |= st->op == WSPH_OP_ARRIVE;
			seen[COMPLETE] |= st->op == WSPH_OP_COMPLETE;
			opened += (st->op == WSPH_OP_SOCKET || st->op == WSPH_OP_ACCEPT) -
				  (st->op == WSPH_OP_CLOSE);
			if (st->op == WSPH_OP_STARTUP) {
				int old = has_arg(st, WSPH_KEY_VERSION, "1.1") ||
					  has_arg(st, WSPH_KEY_VERSION, "1.0");
				seen[OLD_VERSION] |= old;
				seen[RESTART] |= cleaned_to_zero && !old;
				started += !old;
			}
			if (st->op == WSPH_OP_CLEANUP) {
				seen[UNBALANCED] |= started == 0;
				seen[OPEN_AT_END] |= started == 1 && opened > 0;
				cleaned_to_zero |= started == 1;
				started -= started > 0;
			}
		}
	}
	for (int i = 0; i < N_SHAPES; i++)
		cr_expect(seen[i], "no sequence with: %s", names[i]);
}
