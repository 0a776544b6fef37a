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

/* ---- premises: an expectation does not outlive the steps it holds with ---- */

static void add_step(struct wsph_seq *s, enum wsph_op op, enum wsph_key k1, const char *v1,
		     enum wsph_key k2, const char *v2)
{
	struct wsph_gen_step *st = &s->steps[s->n_steps++];
	memset(st, 0, sizeof *st);
	st->op = op;
	if (k1 != WSPH_KEY_NONE) {
		st->args[st->n_args].key = k1;
		snprintf(st->args[st->n_args++].value, sizeof st->args[0].value, "%s", v1);
	}
	if (k2 != WSPH_KEY_NONE) {
		st->args[st->n_args].key = k2;
		snprintf(st->args[st->n_args++].value, sizeof st->args[0].value, "%s", v2);
	}
	st->sure = op != WSPH_OP_ARRIVE;
}

/* A getsockopt (removable, no premise of anything), then a connection, an arrive and the
 * blocking receive that expects its data (premises: the connection and the arrive). */
static void arrive_sequence(struct wsph_seq *s)
{
	memset(s, 0, sizeof *s);
	add_step(s, WSPH_OP_STARTUP, WSPH_KEY_NONE, NULL, WSPH_KEY_NONE, NULL);
	s->steps[0].expect = "ok";
	s->steps[0].control = 1;
	add_step(s, WSPH_OP_SOCKET, WSPH_KEY_AS, "s1", WSPH_KEY_NONE, NULL);
	add_step(s, WSPH_OP_GETSOCKOPT, WSPH_KEY_SOCKET, "s1", WSPH_KEY_OPTION, "SO_TYPE");
	add_step(s, WSPH_OP_BIND, WSPH_KEY_SOCKET, "s1", WSPH_KEY_ADDR, "\"127.0.0.1:20000\"");
	add_step(s, WSPH_OP_LISTEN, WSPH_KEY_SOCKET, "s1", WSPH_KEY_NONE, NULL);
	add_step(s, WSPH_OP_SOCKET, WSPH_KEY_AS, "s2", WSPH_KEY_NONE, NULL);
	add_step(s, WSPH_OP_CONNECT, WSPH_KEY_SOCKET, "s2", WSPH_KEY_ADDR, "\"127.0.0.1:20000\"");
	add_step(s, WSPH_OP_ACCEPT, WSPH_KEY_SOCKET, "s1", WSPH_KEY_AS, "s3");
	add_step(s, WSPH_OP_ARRIVE, WSPH_KEY_SOCKET, "s2", WSPH_KEY_DATA, "ping");
	add_step(s, WSPH_OP_RECV, WSPH_KEY_SOCKET, "s3", WSPH_KEY_NONE, NULL);
	struct wsph_gen_step *r = &s->steps[9];
	r->expect = "ok";
	r->rule = "WPU.BlockingCallback.NullIsNormal";
	r->sure = 0;
	static const unsigned char premises[] = {1, 3, 4, 5, 6, 7, 8};
	memcpy(r->premises, premises, sizeof premises);
	r->n_premises = sizeof premises;
}

static const struct wsph_gen_step *with_rule(const struct wsph_seq *s, const char *rule)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].rule && !strcmp(s->steps[i].rule, rule))
			return &s->steps[i];
	return NULL;
}

/* Judges like a provider that fails the receive's expectation: a candidate fails while the
 * sequence still has the expectation on its receive (a provider whose select is fine). Each
 * candidate's premises are checked on the way: each names an earlier step of the op it named in
 * arrive_sequence. */
static int fails_while_expected(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	const struct wsph_seq *orig = ctx;
	for (size_t i = 0; i < n; i++) {
		const struct wsph_gen_step *r = with_rule(&cands[i], "WPU.BlockingCallback.NullIsNormal");
		if (r && r->op != WSPH_OP_RECV)
			r = NULL;
		fails[i] = r != NULL;
		for (size_t k = 0; r && k < r->n_premises; k++) {
			const struct wsph_gen_step *p = &cands[i].steps[r->premises[k]];
			cr_expect_lt(p, r);
			cr_expect_eq(p->op, orig->steps[orig->steps[9].premises[k]].op);
			cr_expect_eq(p->n_args, orig->steps[orig->steps[9].premises[k]].n_args);
			cr_expect_str_eq(p->args[0].value,
					 orig->steps[orig->steps[9].premises[k]].args[0].value);
		}
	}
	return 0;
}

/* Without the arrive (or any step of the connection) the receive expects nothing: a finding that
 * only its expectation made is not reproduced, so those steps stay; the getsockopt goes, and
 * every premise follows its step to its new index. */
Test(explore, removing_a_premise_voids_the_expectation)
{
	struct wsph_seq s, orig;
	arrive_sequence(&s);
	orig = s;
	cr_assert_geq(wsph_explore_shrink(&s, fails_while_expected, &orig), 1);
	cr_assert_eq(s.n_steps, 9, "%zu steps", s.n_steps);
	for (size_t i = 0; i < s.n_steps; i++)
		cr_expect_neq(s.steps[i].op, WSPH_OP_GETSOCKOPT);
	const struct wsph_gen_step *r = &s.steps[8];
	cr_assert_str_eq(r->rule, "WPU.BlockingCallback.NullIsNormal");
	cr_assert_eq(r->n_premises, 7);
	static const unsigned char shifted[] = {1, 2, 3, 4, 5, 6, 7};
	cr_expect_eq(memcmp(r->premises, shifted, sizeof shifted), 0);
	cr_expect_eq(s.steps[7].op, WSPH_OP_ARRIVE);
	/* the premises the model knows succeed are control steps in the text, the arrive is not */
	char *text = wsph_explore_yaml(&s, "x", "WPU.BlockingCallback.NullIsNormal", NULL);
	cr_assert_not_null(text);
	const char *arrive = strstr(text, "- arrive:");
	cr_assert_not_null(arrive);
	cr_expect(!strncmp(strchr(arrive, '\n'), "\n        expect: any\n", 21), "%s", text);
	const char *bind = strstr(text, "- bind:");
	cr_assert_not_null(bind);
	cr_expect(!strncmp(strchr(bind, '\n'), "\n        expect: ok\n        control: true\n", 41),
		  "%s", text);
	free(text);
}

/* A provider that fails any blocking call without a hook: the candidate fails while some step
 * still expects NullIsNormal, receive or select. */
static int fails_any_blocking(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		fails[i] = with_rule(&cands[i], "WPU.BlockingCallback.NullIsNormal") != NULL;
	return 0;
}

/* The blocking receive after an arrive becomes a select that waits out its time-out on a
 * datagram socket of its own: the connection and the arrive go, four steps stay. */
Test(explore, a_blocking_receive_becomes_a_waiting_select)
{
	struct wsph_seq s;
	arrive_sequence(&s);
	cr_assert_geq(wsph_explore_shrink(&s, fails_any_blocking, NULL), 1);
	cr_assert_eq(s.n_steps, 4, "%zu steps", s.n_steps);
	cr_expect_eq(s.steps[1].op, WSPH_OP_SOCKET);
	cr_expect_eq(s.steps[2].op, WSPH_OP_BIND);
	const struct wsph_gen_step *w = &s.steps[3];
	cr_assert_eq(w->op, WSPH_OP_SELECT);
	cr_assert_str_eq(w->rule, "WPU.BlockingCallback.NullIsNormal");
	cr_expect_str_eq(value_of(w, WSPH_KEY_READ), "[w1]");
	cr_expect_str_eq(value_of(w, WSPH_KEY_TIMEOUT), "10");
	cr_expect_str_eq(value_of(&s.steps[1], WSPH_KEY_TYPE), "dgram");
	cr_assert_eq(w->n_premises, 2);
	cr_expect(w->premises[0] == 1 && w->premises[1] == 2);
}

static int has_op(const struct wsph_seq *s, enum wsph_op op)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].op == op)
			return 1;
	return 0;
}

/* Keeps the candidate without the arrive (seen[0]) and the one without the getsockopt (seen[1]). */
static int never_judged(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	struct wsph_seq *seen = ctx;
	for (size_t i = 0; i < n; i++) {
		const struct wsph_seq *c = &cands[i];
		fails[i] = 0;
		if (c->n_steps == 9 && has_op(c, WSPH_OP_GETSOCKOPT) != has_op(c, WSPH_OP_ARRIVE))
			seen[has_op(c, WSPH_OP_ARRIVE)] = *c;
	}
	return 0;
}

static size_t count(const char *text, const char *what)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

/* The candidates themselves: without the arrive the receive is expect: any; without the
 * getsockopt it keeps its expectation, every premise one step earlier. */
Test(explore, candidates_renumber_or_void_premises)
{
	struct wsph_seq s, seen[2];
	arrive_sequence(&s);
	memset(seen, 0, sizeof seen);
	cr_assert_geq(wsph_explore_shrink(&s, never_judged, seen), 1);
	/* seen[0]: no arrive (step 8 gone) */
	cr_assert_eq(seen[0].n_steps, 9);
	cr_expect_null(seen[0].steps[8].expect);
	cr_expect_null(seen[0].steps[8].rule);
	cr_expect_eq(seen[0].steps[8].n_premises, 0);
	char *text = wsph_explore_yaml(&seen[0], "x", "SPI.Startup.VersionMin", NULL);
	cr_assert_not_null(text);
	cr_expect_null(strstr(text, "rule:"), "%s", text);
	cr_expect_eq(count(text, "control: true"), 1, "%s", text); /* the startup's only */
	free(text);
	/* seen[1]: no getsockopt (step 2 gone) */
	cr_assert_eq(seen[1].n_steps, 9);
	cr_assert_eq(seen[1].steps[2].op, WSPH_OP_BIND);
	cr_expect_str_eq(seen[1].steps[8].rule, "WPU.BlockingCallback.NullIsNormal");
	static const unsigned char shifted[] = {1, 2, 3, 4, 5, 6, 7};
	cr_expect_eq(memcmp(seen[1].steps[8].premises, shifted, sizeof shifted), 0);
}

static int fails_while_contract(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		fails[i] = with_rule(&cands[i], "WPU.BlockingCallback.Contract") != NULL;
	return 0;
}

/* Dropping the upcalls: setting voids an expectation that holds only with the hook (the
 * receive, made a waiting select, keeps it and the setting). */
Test(explore, removing_the_hook_voids_its_expectation)
{
	struct wsph_seq s;
	arrive_sequence(&s);
	s.blocking = 2; /* WSPH_BLOCKING_FALSE */
	s.steps[9].expect = "WSAEINTR";
	s.steps[9].rule = "WPU.BlockingCallback.Contract";
	s.steps[9].premise_setting = 1;
	cr_assert_geq(wsph_explore_shrink(&s, fails_while_contract, NULL), 1);
	cr_expect_eq(s.blocking, 2);
	cr_assert_eq(s.n_steps, 4);
	const struct wsph_gen_step *w = &s.steps[3];
	cr_expect_eq(w->op, WSPH_OP_SELECT);
	cr_expect_str_eq(w->rule, "WPU.BlockingCallback.Contract");
	cr_expect_str_eq(w->expect, "WSAEINTR");
	cr_expect(w->premise_setting);
}

/* Whether one of st's premises is a step of op whose argument key has the value. */
static int premise_is(const struct wsph_seq *s, const struct wsph_gen_step *st, enum wsph_op op,
		      enum wsph_key key, const char *value)
{
	for (size_t k = 0; k < st->n_premises; k++)
		if (s->steps[st->premises[k]].op == op &&
		    (!value || has_arg(&s->steps[st->premises[k]], key, value)))
			return 1;
	return 0;
}

/* What a waiting step of a generated sequence waits for: an accept a connect, a completion the
 * step that completed its operation. */
static void expect_needs(const struct wsph_seq *s, size_t i)
{
	const struct wsph_gen_step *st = &s->steps[i];
	for (size_t k = 0; k < st->n_needs; k++)
		cr_expect_lt(st->needs[k], i);
	if (st->op == WSPH_OP_ACCEPT) {
		cr_expect_gt(st->n_needs, 0);
		for (size_t k = 0; k < st->n_needs; k++)
			cr_expect_eq(s->steps[st->needs[k]].op, WSPH_OP_CONNECT);
	}
	if (st->op == WSPH_OP_COMPLETE) {
		cr_assert_eq(st->n_needs, 1);
		enum wsph_op by = s->steps[st->needs[0]].op;
		cr_expect(by == WSPH_OP_SEND || by == WSPH_OP_SENDTO || by == WSPH_OP_CLOSE ||
			  by == WSPH_OP_SHUTDOWN, "completed by %s", wsph_step_def(by)->name);
	}
}

/* The generator records the premises of each expectation it draws: the arrive and the accept
 * before a blocking receive, the close before a stale call, the overlapped receive and the close
 * before an aborted completion. */
Test(explore, generated_expectations_name_their_premises)
{
	struct wsph_explore_model m;
	size_t seen[4] = {0};
	wsph_explore_model_default(&m);
	for (uint64_t seed = 1; seed <= 3000; seed++) {
		struct wsph_seq s;
		wsph_explore_generate(&m, seed * 0x9e3779b97f4a7c15ull, 32, &s);
		for (size_t i = 0; i < s.n_steps; i++) {
			const struct wsph_gen_step *st = &s.steps[i];
			expect_needs(&s, i);
			if (!st->rule)
				continue;
			cr_assert_gt(st->n_premises, 0, "seed %llu step %zu", (unsigned long long)seed, i);
			for (size_t k = 0; k < st->n_premises; k++)
				cr_expect_lt(st->premises[k], i);
			const char *sock = value_of(st, WSPH_KEY_SOCKET), *op = value_of(st, WSPH_KEY_OP);
			if (st->op == WSPH_OP_RECV) {
				seen[0]++;
				cr_expect(st->n_needs == 1 && st->needs[0] == i - 1);
				cr_expect(premise_is(&s, st, WSPH_OP_ARRIVE, WSPH_KEY_NONE, NULL));
				cr_expect(premise_is(&s, st, WSPH_OP_ACCEPT, WSPH_KEY_NONE, NULL));
				cr_expect_eq(st->premises[st->n_premises - 1], i - 1);
				cr_expect_eq(st->premise_setting, s.blocking != 0);
			} else if (st->op == WSPH_OP_SELECT) {
				/* a select that waits its time-out out on an idle datagram socket */
				seen[3]++;
				const char *rd = value_of(st, WSPH_KEY_READ);
				cr_expect(rd && premise_is(&s, st, WSPH_OP_BIND, WSPH_KEY_NONE, NULL));
				cr_expect_str_eq(value_of(st, WSPH_KEY_TIMEOUT), "10");
				cr_expect_eq(st->premise_setting, s.blocking != 0);
			} else if (st->op == WSPH_OP_GETSOCKNAME) {
				seen[1]++;
				cr_expect(premise_is(&s, st, WSPH_OP_CLOSE, WSPH_KEY_SOCKET, sock));
			} else {
				cr_assert_eq(st->op, WSPH_OP_COMPLETE);
				seen[2]++;
				cr_expect(premise_is(&s, st, WSPH_OP_RECV, WSPH_KEY_OP, op) ||
					  premise_is(&s, st, WSPH_OP_RECVFROM, WSPH_KEY_OP, op));
				cr_expect(premise_is(&s, st, WSPH_OP_CLOSE, WSPH_KEY_NONE, NULL));
			}
		}
	}
	cr_expect(seen[0] && seen[1] && seen[2] && seen[3],
		  "receives %zu, stale calls %zu, completions %zu, waiting selects %zu", seen[0],
		  seen[1], seen[2], seen[3]);
}

/* ---- a stream connection replaced by a datagram socket ---- */

/* startup; a listener s1 (bound, listening); s2 connected to it, accepted as s3. */
static void connection_sequence(struct wsph_seq *s)
{
	memset(s, 0, sizeof *s);
	add_step(s, WSPH_OP_STARTUP, WSPH_KEY_NONE, NULL, WSPH_KEY_NONE, NULL);
	s->steps[0].expect = "ok";
	s->steps[0].control = 1;
	add_step(s, WSPH_OP_SOCKET, WSPH_KEY_AS, "s1", WSPH_KEY_NONE, NULL);
	add_step(s, WSPH_OP_BIND, WSPH_KEY_SOCKET, "s1", WSPH_KEY_ADDR, "\"127.0.0.1:20000\"");
	add_step(s, WSPH_OP_LISTEN, WSPH_KEY_SOCKET, "s1", WSPH_KEY_NONE, NULL);
	add_step(s, WSPH_OP_SOCKET, WSPH_KEY_AS, "s2", WSPH_KEY_NONE, NULL);
	add_step(s, WSPH_OP_CONNECT, WSPH_KEY_SOCKET, "s2", WSPH_KEY_ADDR, "\"127.0.0.1:20000\"");
	add_step(s, WSPH_OP_ACCEPT, WSPH_KEY_SOCKET, "s1", WSPH_KEY_AS, "s3");
}

static int fails_while_aborted(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		fails[i] = with_rule(&cands[i], "WPU.CompleteOverlapped.AbortOnClose") != NULL;
	return 0;
}

/* An overlapped receive of the client that its close aborts: the connection becomes a datagram
 * socket bound where the listener was, and the completion keeps its expectation, its premises
 * now the socket, its bind, the receive and the close. */
Test(explore, connection_becomes_a_datagram_socket)
{
	struct wsph_seq s;
	connection_sequence(&s);
	add_step(&s, WSPH_OP_RECV, WSPH_KEY_SOCKET, "s2", WSPH_KEY_OVERLAPPED, "true");
	add_step(&s, WSPH_OP_CLOSE, WSPH_KEY_SOCKET, "s2", WSPH_KEY_NONE, NULL);
	add_step(&s, WSPH_OP_COMPLETE, WSPH_KEY_OP, "o1", WSPH_KEY_NONE, NULL);
	struct wsph_gen_step *recv = &s.steps[7], *done = &s.steps[9];
	recv->args[recv->n_args].key = WSPH_KEY_OP;
	strcpy(recv->args[recv->n_args++].value, "o1");
	recv->sure = 0;
	done->sure = 0;
	done->expect = "WSA_OPERATION_ABORTED";
	done->rule = "WPU.CompleteOverlapped.AbortOnClose";
	static const unsigned char premises[] = {1, 2, 3, 4, 5, 7, 8};
	memcpy(done->premises, premises, sizeof premises);
	done->n_premises = sizeof premises;
	cr_assert_geq(wsph_explore_shrink(&s, fails_while_aborted, NULL), 1);
	cr_assert_eq(s.n_steps, 6, "%zu steps", s.n_steps);
	static const enum wsph_op ops[] = {WSPH_OP_STARTUP, WSPH_OP_SOCKET, WSPH_OP_BIND,
					   WSPH_OP_RECV, WSPH_OP_CLOSE, WSPH_OP_COMPLETE};
	for (size_t i = 0; i < 6; i++)
		cr_expect_eq(s.steps[i].op, ops[i], "step %zu", i);
	cr_expect(has_arg(&s.steps[1], WSPH_KEY_TYPE, "dgram"));
	cr_expect(has_arg(&s.steps[1], WSPH_KEY_AS, "s2"));
	cr_expect(has_arg(&s.steps[2], WSPH_KEY_ADDR, "\"127.0.0.1:20000\""));
	cr_assert_str_eq(s.steps[5].rule, "WPU.CompleteOverlapped.AbortOnClose");
	cr_assert_eq(s.steps[5].n_premises, 4);
	unsigned mask = 0;
	for (size_t k = 0; k < 4; k++)
		mask |= 1u << s.steps[5].premises[k];
	cr_expect_eq(mask, 0x1eu); /* steps 1 to 4, once each */
	char *text = wsph_explore_yaml(&s, "x", "WPU.CompleteOverlapped.AbortOnClose", NULL);
	cr_assert_not_null(text);
	cr_expect_eq(count(text, "control: true"), 4, "%s", text); /* startup, socket, bind, close */
	struct wsph_suite suite;
	struct wsph_diag diag;
	memset(&suite, 0, sizeof suite);
	cr_expect_eq(wsph_scenario_load_string(&suite, "d.yaml", text, strlen(text), NULL, &diag),
		     0, "%s", diag.text);
	wsph_suite_free(&suite);
	free(text);
}

static int keeps_sendto(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	struct wsph_seq *seen = ctx;
	for (size_t i = 0; i < n; i++) {
		fails[i] = 0;
		if (has_op(&cands[i], WSPH_OP_SENDTO))
			*seen = cands[i];
	}
	return 0;
}

/* The peer's send becomes a datagram the socket sends itself, as long as the receive after it
 * takes; the peer's close one byte. */
Test(explore, peer_traffic_becomes_datagrams)
{
	struct wsph_seq s, seen;
	connection_sequence(&s);
	add_step(&s, WSPH_OP_SEND, WSPH_KEY_SOCKET, "s3", WSPH_KEY_DATA, "abcdefgh");
	add_step(&s, WSPH_OP_RECV, WSPH_KEY_SOCKET, "s2", WSPH_KEY_LEN, "4");
	add_step(&s, WSPH_OP_CLOSE, WSPH_KEY_SOCKET, "s3", WSPH_KEY_NONE, NULL);
	add_step(&s, WSPH_OP_CLOSE, WSPH_KEY_SOCKET, "s2", WSPH_KEY_NONE, NULL);
	memset(&seen, 0, sizeof seen);
	cr_assert_geq(wsph_explore_shrink(&s, keeps_sendto, &seen), 1);
	/* s2 as a datagram socket: startup, socket, bind, sendto, recv, sendto (the close), close */
	cr_assert_eq(seen.n_steps, 7, "%zu steps", seen.n_steps);
	cr_expect_eq(seen.steps[3].op, WSPH_OP_SENDTO);
	cr_expect(has_arg(&seen.steps[3], WSPH_KEY_SOCKET, "s2"));
	cr_expect(has_arg(&seen.steps[3], WSPH_KEY_ADDR, "\"127.0.0.1:20000\""));
	cr_expect(has_arg(&seen.steps[3], WSPH_KEY_DATA, "abcd"));
	cr_expect(has_arg(&seen.steps[4], WSPH_KEY_LEN, "4"));
	cr_expect_eq(seen.steps[5].op, WSPH_OP_SENDTO);
	cr_expect(has_arg(&seen.steps[5], WSPH_KEY_DATA, "x"));
	cr_expect_eq(seen.steps[6].op, WSPH_OP_CLOSE);
}

/* The model's sockets as the provider has them: one accepted from a nonblocking (or registered)
 * listener is nonblocking too, so never the blocking receiver of an arrive; a datagram socket a
 * sendto bound is never bound again (nor sent to: its port is not known). */
Test(explore, model_knows_inherited_and_implicit_state)
{
	struct wsph_explore_model m;
	wsph_explore_model_default(&m);
	size_t arrives = 0, implicit = 0;
	for (uint64_t seed = 1; seed <= 3000; seed++) {
		struct wsph_seq s;
		int nb[8] = {0}, bound[8] = {0}, anon[8] = {0};
		wsph_explore_generate(&m, seed * 0x9e3779b97f4a7c15ull, 64, &s);
		for (size_t i = 0; i < s.n_steps; i++) {
			const struct wsph_gen_step *st = &s.steps[i];
			const char *sock = value_of(st, WSPH_KEY_SOCKET), *as = value_of(st, WSPH_KEY_AS);
			int k = sock ? atoi(sock + 1) & 7 : 0, n = as ? atoi(as + 1) & 7 : 0;
			if (st->op == WSPH_OP_ACCEPT)
				nb[n] = nb[k];
			if (st->op == WSPH_OP_ASYNCSELECT || st->op == WSPH_OP_EVENTSELECT ||
			    has_arg(st, WSPH_KEY_COMMAND, "FIONBIO"))
				nb[k] = 1;
			if (st->op == WSPH_OP_RECV && st->rule) {
				arrives++;
				cr_expect(!nb[k], "seed %llu step %zu: a nonblocking receiver",
					  (unsigned long long)seed, i + 1);
			}
			if (st->op == WSPH_OP_SENDTO && !bound[k]) {
				implicit += !anon[k];
				anon[k] = 1;
			}
			if (st->op == WSPH_OP_BIND || st->op == WSPH_OP_CONNECT) {
				cr_expect(!anon[k], "seed %llu step %zu: bound by a sendto before",
					  (unsigned long long)seed, i + 1);
				bound[k] = 1;
			}
		}
	}
	cr_expect(arrives > 50 && implicit > 50, "arrives %zu, implicit binds %zu", arrives, implicit);
}

/* Fails while the blocking receive is there. Checks that a round's candidates all keep what
 * their waiting steps wait for, or all do not (may_wait), and that those that do not come only
 * after a round of the others in which none failed. */
struct wait_log {
	int last_pass, last_failed, mixed, early;
};

static int fails_with_receive(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	struct wait_log *log = ctx;
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		fails[i] = has_op(&cands[i], WSPH_OP_RECV);
		failed |= fails[i];
		log->mixed |= cands[i].may_wait != cands[0].may_wait;
	}
	if (cands[0].may_wait)
		log->early |= log->last_pass != 0 || log->last_failed;
	log->last_pass = cands[0].may_wait;
	log->last_failed = failed;
	return 0;
}

/* A candidate without the connect an accept takes, or the arrive a receive waits for, may wait
 * for good: it is judged only once no other candidate still fails. */
Test(explore, steps_that_wait_keep_what_they_wait_for)
{
	struct wsph_seq s;
	struct wait_log log = {0, 0, 0, 0};
	arrive_sequence(&s);
	s.steps[7].needs[0] = 6; /* the accept: the connect */
	s.steps[7].n_needs = 1;
	s.steps[9].needs[0] = 8; /* the receive: the arrive */
	s.steps[9].n_needs = 1;
	cr_assert_geq(wsph_explore_shrink(&s, fails_with_receive, &log), 1);
	cr_expect(!log.mixed, "a round mixed both kinds of candidates");
	cr_expect(!log.early, "a candidate that may wait was judged while others still failed");
	/* the startup, the listener's socket, the accept and the receive */
	cr_expect_eq(s.n_steps, 4, "%zu steps", s.n_steps);
	cr_expect_eq(s.may_wait, 0);
}
