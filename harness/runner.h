/* The runner: every selected scenario in every requested provider kind, into one results model. */
#ifndef WSPH_RUNNER_H
#define WSPH_RUNNER_H

#include "filter.h"
#include "results.h"
#include "ruleset.h"
#include "scenario.h"
#include "watchdog.h" /* the program's end: wsph_stdout_guard, wsph_exit_if_abandoned */

struct wsph_catalog;

struct wsph_run_config {
	const char *provider;
	/* Layered runs: the provider is an LSP over `lower` (a base of `lower_kind`). */
	int layered;
	const char *lower;
	unsigned lower_kind;
	const void *guid;			    /* GUID * for the layer, or NULL */
	const struct wsph_catalog *manifest; /* --catalog: used as is (NULL: built from flags) */
	unsigned kinds;	    /* WSPH_KIND_* to run; both means every scenario twice */
	const char *filter; /* colon-separated globs over "<suite>/<name>[<kind>]"; NULL = all
			       (filter.h: a glob starting with '-' excludes) */
	/* A selection of no case is bad input (wsph_run returns 1 saying why) unless allow_empty. */
	int allow_empty;
	const struct wsph_ruleset *set;
	const struct wsph_suite *suite;
	size_t trace_cap;
	/* Called after each case (may be NULL). */
	void (*progress)(void *ctx, size_t done, size_t total, const struct wsph_case *c);
	void *progress_ctx;
	/* Called (may be NULL) with the case whose progress is due next, the one the run waits
	 * for (its classname and name set), whenever that changes (NULL once none is left), and
	 * the counts as progress gives them. */
	void (*progress_next)(void *ctx, size_t done, size_t total, const struct wsph_case *next);
	/* Isolation: cases run in a persistent child process (the default), replaced after a
	 * crash, timeout, abort, exit or a failing case; a case is killed after timeout_ms (a
	 * scenario's own `timeout:` times timeout_scale instead, when it has one). */
	int isolate;
	unsigned timeout_ms;
	double timeout_scale; /* WSPHARNESS_TIMEOUT_MULTIPLIER (0: 1) */
	unsigned jobs;	      /* --jobs: children in parallel (0: one per processor) */
	unsigned cases_per_child; /* WSPHARNESS_CASES_PER_CHILD: a child's cases (0: no limit) */
	int argc; /* the program's arguments, to start it again in child mode (Windows) */
	char **argv;
	/* Child mode (--child CHANNEL, Windows): run the cases the parent asks for on the channel
	 * (>= 0: child mode; -1: a normal run). */
	long child_case;
	const char *channel;
	/* Where wsph_run says why a module cannot be used at all (it returns 1 then). */
	char *bad_input;
	size_t bad_input_len;
	/* --fault-sweep: rerun each passing case once per upcall call made in it, failing it. */
	int fault_sweep;
	/* --shard K/N (or GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS): this run takes every Nth case of
	 * the selection, starting at K; shard_n 0 takes all. */
	unsigned shard_k, shard_n;
	/* --rule ID: only the scenarios whose `checks` name this rule (NULL: all). */
	const char *rule;
	/* Set (by a signal) to stop after the case in progress; the results hold what ran. */
	volatile int *interrupted;
};

/* Runs and fills `out` (the caller frees it with wsph_results_free). Isolated, every module is
 * first loaded once in a child of its own (never in this process). Returns 0; 1 when a module
 * cannot be loaded or exports no WSPStartup (cfg->bad_input says why); -1 when out of memory.
 * In process (isolate 0) the cases run on a thread of their own under a watchdog (watchdog.h):
 * when one passes its time limit (an <error type="timeout">) or *interrupted is set (the case
 * running becomes an <error type="interrupted">), wsph_run returns at once with the cases that
 * finished, leaving that thread where it is: the caller writes its reports and then must call
 * wsph_exit_if_abandoned before freeing anything. */
int wsph_run(const struct wsph_run_config *cfg, struct wsph_results *out);

/* "sockets.nonifs/create-and-close[nonifs]": the text --filter matches, allocated (the caller
 * frees it; NULL when out of memory). A NULL kind leaves out the "[kind]". */
char *wsph_case_id(const struct wsph_scenario *sc, const char *kind);

const char *wsph_kind_name(unsigned kind); /* "nonifs" or "ifs" */

#endif
