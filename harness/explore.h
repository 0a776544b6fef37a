/* Exploration: random sequences of steps, valid by construction (drawn from the step table,
 * steps.h, and a model of what each step needs), judged by every rule, and a failing one shrunk
 * to a small scenario that still breaks the same rule. The generator and the shrinker are pure
 * (a seeded generator of their own, no I/O); wsph_explore_run plays sequences through the runner. */
#ifndef WSPH_EXPLORE_H
#define WSPH_EXPLORE_H

#include "diag.h"
#include "runner.h"
#include "steps.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WSPH_EXPLORE_MAX_STEPS 64
#define WSPH_EXPLORE_MAX_FAULTS 2
#define WSPH_EXPLORE_MAX_SOCKETS 6
#define WSPH_EXPLORE_DEFAULT_STEPS 24 /* --max-steps without the option */

/* The model's data (scenarios/explore.yaml): how often each step is drawn, how often a sequence
 * gets injected faults, an upcalls: setting, or a final cleanup with sockets still open. */
struct wsph_explore_model {
	unsigned weights[WSPH_OP_COUNT];  /* 0: never drawn */
	unsigned connection;		  /* weight of a whole connection drawn at once */
	unsigned fault_percent;		  /* 0..100: sequences with a fault */
	unsigned upcalls_percent;	  /* 0..100: sequences with an upcalls: setting */
	unsigned open_at_cleanup_percent; /* 0..100: sockets left open at the final cleanup */
};

/* The defaults (the same as scenarios/explore.yaml). */
void wsph_explore_model_default(struct wsph_explore_model *m);
/* Loads a model file: `weights:` (step name: integer 0..1000), `connection:` (a weight), and
 * `faults:`, `upcalls:`, `open_at_cleanup:` (percentages); what it does not name keeps the
 * default. 0, or -1 with "file:line:column: ..." in diag. */
int wsph_explore_model_load(struct wsph_explore_model *m, const char *path,
			    struct wsph_diag *diag);
int wsph_explore_model_load_string(struct wsph_explore_model *m, const char *path,
				   const char *text, size_t len, struct wsph_diag *diag);

/* One generated step: its row and its arguments, each as the text a scenario writes. */
struct wsph_gen_arg {
	enum wsph_key key;
	char value[64];
};
struct wsph_gen_step {
	enum wsph_op op;
	struct wsph_gen_arg args[WSPH_STEP_MAX_ARGS];
	size_t n_args;
};
struct wsph_gen_fault {
	int upcall; /* enum wsph_fn */
	unsigned call;
	const char *error; /* "WSAENOBUFS" */
};
struct wsph_seq {
	struct wsph_gen_step steps[WSPH_EXPLORE_MAX_STEPS];
	size_t n_steps;
	struct wsph_gen_fault faults[WSPH_EXPLORE_MAX_FAULTS];
	size_t n_faults;
	int blocking;	      /* upcalls.blocking_callback: WSPH_BLOCKING_* (0: not set) */
	int modify_different; /* upcalls.modify_ifs_handle: different */
	uint64_t seed;	      /* the seed the sequence was drawn from */
};

/* A small generator of our own (splitmix64): the same state gives the same numbers everywhere. */
uint64_t wsph_explore_next(uint64_t *state);

/* Draws one sequence of at most max_steps steps (teardown included) from `seed`. */
void wsph_explore_generate(const struct wsph_explore_model *m, uint64_t seed, size_t max_steps,
			   struct wsph_seq *out);

/* The sequence as a scenario file: one scenario `name`, `checks: [check]`, every step with
 * `expect: any`; `header` (may be NULL) is written first as comment lines. Returns the malloc'd
 * text (NULL when out of memory). */
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
 * upcalls: settings and optional arguments while the judge says it still fails, until nothing more can go. Returns the
 * number of judge rounds, or -1 when the judge failed. */
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
