/* Exploration: random sequences of steps, valid by construction (drawn from the step table,
 * steps.h, and a model of what each step needs), judged by every rule, and a failing one shrunk
 * to a small scenario that still breaks the same rule. The generator and the shrinker are pure
 * (a seeded generator of their own, no I/O); wsph_explore_run plays sequences through the runner. */
#ifndef WSPH_EXPLORE_H
#define WSPH_EXPLORE_H

#include "diag.h"
#include "explore_gen.h"
#include "runner.h"
#include "steps.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The defaults (the same as scenarios/explore.yaml). */
void wsph_explore_model_default(struct wsph_explore_model *m);
/* Loads a model file: `weights:` (step name: integer 0..1000), `connection:` (a weight), and
 * `faults:`, `upcalls:`, `open_at_cleanup:` (percentages); what it does not name keeps the
 * default. 0, or -1 with "file:line:column: ..." in diag. */
int wsph_explore_model_load(struct wsph_explore_model *m, const char *path,
			    struct wsph_diag *diag);
int wsph_explore_model_load_string(struct wsph_explore_model *m, const char *path,
				   const char *text, size_t len, struct wsph_diag *diag);

/* The sequence as a scenario file: one scenario `name`, `checks: [check]`, every step with
 * `expect: any` but those with an expectation of the model, the startups the rest relies on and
 * the premises of an expectation the model knows succeed (control steps); `header` (may be NULL)
 * is written first as comment lines. Returns the malloc'd text (NULL when out of memory). */
char *wsph_explore_yaml(const struct wsph_seq *s, const char *name, const char *check,
			const char *header);
/* Several sequences as one file of scenarios named PREFIX0, PREFIX1, ... (malloc'd, NULL when out
 * of memory). */
char *wsph_explore_yaml_batch(const struct wsph_seq *seqs, size_t n, const char *prefix,
			      const char *check);

/* Judges candidates: fails[i] = 1 when candidate i still breaks the rule. 0, or -1 when the
 * judging itself failed. */
typedef int (*wsph_explore_judge)(void *ctx, const struct wsph_seq *cands, size_t n, int *fails);

/* Shrinks s in place: drops steps (with the steps that use a name only it binds), faults,
 * upcalls: settings and optional arguments, and replaces a stream socket's connection by a
 * datagram socket, while the judge says it still fails, until nothing more can go. A candidate
 * without a premise of an expectation has that step as expect: any. Returns the number of judge
 * rounds, or -1 when the judge failed. */
int wsph_explore_shrink(struct wsph_seq *s, wsph_explore_judge judge, void *ctx);

/* ---- Running ---- */

struct wsph_explore_config {
	struct wsph_run_config run; /* provider, kinds, layered, set, timeouts; suite is set here */
	const struct wsph_explore_model *model;
	uint64_t seed;
	unsigned long runs;   /* sequences to draw (0: until the time is up) */
	double seconds;	      /* wall time bound (0: none) */
	size_t max_steps;
	const char *out_dir;  /* where the shrunk scenarios go */
	const char *work_file; /* the batch file the runs read (a child under Windows loads it) */
	const char *command;   /* the command line said in each file's header */
	FILE *progress;	       /* NULL: quiet */
	volatile int *interrupted;
};

struct wsph_explore_summary {
	unsigned long sequences;
	unsigned long cases_run; /* shrinking included */
	unsigned long findings;	 /* distinct: rule, WSP call, module */
	unsigned long errors;	 /* cases that crashed or timed out (not findings) */
	double seconds;
	char files[32][600]; /* written, the first 32 */
	char rules[32][128];
	size_t n_files;
};

/* Explores; 0 done, 1 the runner refused the provider (bad_input says why), -1 out of memory or
 * an output that cannot be written (diag). */
int wsph_explore_run(const struct wsph_explore_config *cfg, struct wsph_explore_summary *sum,
		     struct wsph_diag *diag);

#endif
