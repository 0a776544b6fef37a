/* Unit tests of parallel blocks in scenarios (harness/scenario.c) and of the stress expansion
 * (harness/stress.c): what the loader makes of a block, and each malformed block refused with its
 * file:line:column. */
#include "scenario.h"
#include "steps.h"
#include "stress.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define HEAD "scenarios:\n  - name: p\n    checks: [SPI.Errno.OnFailure]\n    steps:\n"

static int load(struct wsph_suite *suite, const char *text, struct wsph_diag *diag)
{
	memset(suite, 0, sizeof *suite);
	memset(diag, 0, sizeof *diag);
	return wsph_scenario_load_string(suite, "t.yaml", text, strlen(text), NULL, diag);
}

Test(parallel, a_block_is_followed_by_its_threads_steps)
{
	static const char text[] = HEAD
		"      - startup:\n"
		"      - parallel:\n"
		"          repeat: 3\n"
		"          threads:\n"
		"            a: [{socket: {as: s}}, {barrier: go}]\n"
		"            b: [{barrier: go}, {close: {socket: s}}, {barrier: {name: end}}]\n"
		"            c: [{barrier: end}]\n"
		"      - close: {socket: s}\n";
	struct wsph_suite suite;
	struct wsph_diag diag;
	cr_assert_eq(load(&suite, text, &diag), 0, "%s", diag.text);
	const struct wsph_scenario *sc = &suite.scenarios[0];
	cr_assert_eq(sc->n_steps, 9);
	const struct wsph_step *head = &sc->steps[1];
	cr_assert_eq(head->op, WSPH_OP_PARALLEL);
	cr_assert_not_null(head->par);
	cr_expect_eq(head->par->repeat, 3);
	cr_expect_eq(head->par->n_threads, 3);
	cr_expect_eq(head->par->n_nested, 6);
	cr_expect_str_eq(head->par->threads[1].name, "b");
	cr_expect_eq(head->par->threads[1].first, 4);
	cr_expect_eq(head->par->threads[1].n_steps, 3);
	cr_expect_eq(head->par->n_barriers, 2);
	cr_expect_str_eq(head->par->barriers[0], "go");
	cr_expect_eq(head->par->parties[0], 2);
	cr_expect_eq(head->par->parties[1], 2);
	cr_expect_eq(sc->steps[3].op, WSPH_OP_BARRIER);
	cr_expect_eq(sc->steps[3].thread, 1);
	cr_expect_eq(sc->steps[3].block, 2);
	cr_expect_eq(sc->steps[6].barrier_index, 1);
	cr_expect_eq(sc->steps[7].thread, 3);
	cr_expect_eq(sc->steps[8].thread, 0, "after the block: the main thread again");
	cr_expect_str_eq(sc->steps[8].socket, "s", "a name bound in a thread is visible after");
	wsph_suite_free(&suite);
}

Test(parallel, concurrent_is_read)
{
	static const char text[] = "scenarios:\n  - name: p\n    concurrent: true\n"
				   "    checks: [SPI.Errno.OnFailure]\n    steps:\n      - startup:\n";
	struct wsph_suite suite;
	struct wsph_diag diag;
	cr_assert_eq(load(&suite, text, &diag), 0, "%s", diag.text);
	cr_expect_eq(suite.scenarios[0].concurrent, 1);
	wsph_suite_free(&suite);
}

/* Each malformed block and the one message it must give. */
static const struct {
	const char *steps;
	const char *message;
} bad[] = {
	{"      - parallel: {threads: {a: [{startup: }]}}\n",
	 "t.yaml:5:29: 'threads' must name 2..16 threads (found 1)"},
	{"      - parallel: {threads: {a: [], b: [{startup: }]}}\n",
	 "t.yaml:5:33: the steps of thread 'a' must not be empty"},
	{"      - parallel: {threads: {a: [{startup: }], 1b: [{startup: }]}}\n",
	 "t.yaml:5:48: a thread's name must match [A-Za-z_][A-Za-z0-9_]* (found '1b')"},
	{"      - parallel: {threads: {a: [{startup: }], b: [{startup: }]}, thread: 2}\n",
	 "t.yaml:5:67: unknown key 'thread' in 'parallel' step (expected one of: repeat, threads)"},
	{"      - parallel: {repeat: 0, threads: {a: [{startup: }], b: [{startup: }]}}\n",
	 "t.yaml:5:28: 'repeat' must be in 1..1000 (found '0')"},
	{"      - parallel: {repeat: 1001, threads: {a: [{startup: }], b: [{startup: }]}}\n",
	 "t.yaml:5:28: 'repeat' must be in 1..1000 (found '1001')"},
	{"      - parallel: {threads: {a: [{parallel: {threads: {x: [{startup: }], y: [{startup: }]}}}],"
	 " b: [{startup: }]}}\n",
	 "t.yaml:5:35: a parallel block cannot hold another (nested 'parallel' in a thread)"},
	{"      - parallel: {threads: {a: [{barrier: go}], b: [{startup: }]}}\n",
	 "t.yaml:5:35: barrier 'go' is named in thread 'a' only: a barrier lines up two threads or "
	 "more"},
	{"      - parallel: {threads: {a: [{barrier: go}, {barrier: go}], b: [{barrier: go}]}}\n",
	 "t.yaml:5:70: barrier 'go' is passed 1 time(s) in thread 'b' and 2 in thread 'a': every "
	 "thread that names it passes it as often"},
	{"      - parallel: {threads: {a: [{arrive: {socket: s, data: x}}], b: [{startup: }]}}\n",
	 "t.yaml:5:35: 'arrive' runs on the main thread only, not in a thread of a parallel block"},
	{"      - parallel: {threads: {a: [{waitmessage: {socket: s, events: [FD_READ]}}], b: "
	 "[{startup: }]}}\n",
	 "t.yaml:5:35: 'waitmessage' runs on the main thread only, not in a thread of a parallel "
	 "block"},
	{"      - barrier: go\n",
	 "t.yaml:5:9: 'barrier' is for the threads of a parallel block only"},
	{"      - parallel: {threads: {a: [{barrier: 'x y'}], b: [{barrier: 'x y'}]}}\n",
	 "t.yaml:5:44: 'name' must be a name matching [A-Za-z_][A-Za-z0-9_]* (found 'x y')"},
	{"      - parallel: {threads: [a, b]}\n",
	 "t.yaml:5:29: 'threads' must be a mapping (found a sequence)"},
	{"      - parallel: {repeat: 2}\n",
	 "t.yaml:5:9: missing required key 'threads' in 'parallel' step"},
	{"      - parallel: {threads: {a: [{blocked: c}], b: [{startup: }]}}\n",
	 "t.yaml:5:35: 'blocked: c': the block has no thread of that name"},
	{"      - parallel: {threads: {a: [{blocked: a}], b: [{startup: }]}}\n",
	 "t.yaml:5:35: 'blocked: a' in thread 'a' itself: a thread waits for another"},
	{"      - blocked: a\n",
	 "t.yaml:5:9: 'blocked' is for the threads of a parallel block only"},
};

Test(parallel, a_malformed_block_is_refused_with_its_position)
{
	char text[1024];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wsph_suite suite;
		struct wsph_diag diag;
		snprintf(text, sizeof text, HEAD "      - startup:\n      - socket: {as: s}\n%s",
			 bad[i].steps);
		/* the two steps before it move the block two lines down */
		char want[512];
		int line, col;
		const char *rest;
		cr_assert_eq(sscanf(bad[i].message, "t.yaml:%d:%d:", &line, &col), 2);
		rest = strchr(strchr(bad[i].message + 7, ':') + 1, ':');
		snprintf(want, sizeof want, "t.yaml:%d:%d%s", line + 2, col, rest);
		cr_expect_eq(load(&suite, text, &diag), -1, "case %zu loaded", i);
		cr_expect_str_eq(diag.text, want, "case %zu: %s", i, diag.text);
		wsph_suite_free(&suite);
	}
}

Test(parallel, stress_runs_each_concurrent_scenario_n_times_with_the_same_offsets_per_seed)
{
	static const char text[] =
		"scenarios:\n"
		"  - name: plain\n    checks: [SPI.Errno.OnFailure]\n    steps:\n      - startup:\n"
		"  - name: busy\n    concurrent: true\n    checks: [SPI.Errno.OnFailure]\n"
		"    steps:\n      - parallel: {threads: {a: [{startup: }], b: [{startup: }]}}\n";
	struct wsph_suite one, two;
	struct wsph_diag diag;
	char d1[256], d2[256];
	cr_assert_eq(load(&one, text, &diag), 0, "%s", diag.text);
	cr_assert_eq(load(&two, text, &diag), 0, "%s", diag.text);
	cr_assert_eq(wsph_stress_expand(&one, 4, 7), 0);
	cr_assert_eq(wsph_stress_expand(&two, 4, 7), 0);
	cr_assert_eq(one.n_scenarios, 5);
	cr_expect_str_eq(one.scenarios[0].name, "plain");
	cr_expect_eq(one.scenarios[0].stress_seed, 0);
	cr_expect_str_eq(one.scenarios[1].name, "busy#stress-1");
	cr_expect_str_eq(one.scenarios[4].name, "busy#stress-4");
	cr_expect_eq(one.scenarios[1].borrowed, 0);
	cr_expect_eq(one.scenarios[2].borrowed, 1);
	cr_expect_eq(one.scenarios[2].steps, one.scenarios[1].steps);
	for (size_t i = 1; i < 5; i++) {
		cr_expect_neq(one.scenarios[i].stress_seed, 0);
		cr_expect_eq(one.scenarios[i].stress_seed, two.scenarios[i].stress_seed);
		wsph_stress_describe(&one.scenarios[i], d1, sizeof d1);
		wsph_stress_describe(&two.scenarios[i], d2, sizeof d2);
		cr_expect_str_eq(d1, d2);
		cr_expect(strncmp(d1, "a=", 2) == 0, "%s", d1);
	}
	cr_expect_neq(one.scenarios[1].stress_seed, one.scenarios[2].stress_seed);
	wsph_suite_free(&two);
	cr_assert_eq(load(&two, text, &diag), 0, "%s", diag.text);
	cr_assert_eq(wsph_stress_expand(&two, 4, 8), 0);
	cr_expect_neq(one.scenarios[1].stress_seed, two.scenarios[1].stress_seed,
		      "another seed, other offsets");
	cr_expect_eq(wsph_stress_offset(0, 0, 0), 0, "no seed: no offsets");
	for (unsigned t = 0; t < 16; t++)
		cr_expect_leq(wsph_stress_offset(one.scenarios[1].stress_seed, 2, t),
			      WSPH_STRESS_MAX_OFFSET);
	wsph_suite_free(&one);
	wsph_suite_free(&two);
}
