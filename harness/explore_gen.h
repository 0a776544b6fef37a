/* Exploration's generator: the model's data, and random sequences of steps drawn from the step
 * table (steps.h) and a small model of what exists, valid by construction. Pure: a seeded
 * generator of its own, no I/O. explore.h writes, shrinks and runs them. */
#ifndef WSPH_EXPLORE_GEN_H
#define WSPH_EXPLORE_GEN_H

#include "steps.h"

#include <stddef.h>
#include <stdint.h>

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

/* One generated step: its row and its arguments, each as the text a scenario writes. */
struct wsph_gen_arg {
	enum wsph_key key;
	char value[64];
};
struct wsph_gen_step {
	enum wsph_op op;
	struct wsph_gen_arg args[WSPH_STEP_MAX_ARGS];
	size_t n_args;
	/* what the model knows the step must give, and the rule a different result breaks (NULL:
	 * expect: any); or, for a control step, what the rest of the sequence relies on (a startup
	 * that succeeds: if it does not, the sequence is inconclusive, not a cascade of findings) */
	const char *expect, *rule;
	int control;
	/* A step with an expectation: the earlier steps (indices into the sequence) it holds only
	 * with, and whether it holds only with the sequence's upcalls: setting. A sequence without
	 * one of them (the shrinker removed it) keeps the step, but as expect: any. */
	unsigned char premises[WSPH_EXPLORE_MAX_STEPS];
	size_t n_premises;
	int premise_setting;
	/* A step that waits: the earlier steps what it waits for comes from (the connect an accept
	 * takes, the sends whose data a receive takes, the step that completes an operation, the
	 * arrive). A sequence without one of them may wait for good: the shrinker tries it only
	 * when no other candidate still fails. */
	unsigned char needs[WSPH_EXPLORE_MAX_STEPS];
	size_t n_needs;
	/* the model knows the call succeeds: a premise step is written as a control step (if it
	 * fails, what relies on it is not judged: the case is inconclusive) */
	int sure;
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
	int may_wait; /* a shrinker's candidate in which a step lost what it waits for */
};

/* A small generator of our own (splitmix64): the same state gives the same numbers everywhere. */
uint64_t wsph_explore_next(uint64_t *state);

/* Draws one sequence of at most max_steps steps (teardown included) from `seed`. */
void wsph_explore_generate(const struct wsph_explore_model *m, uint64_t seed, size_t max_steps,
			   struct wsph_seq *out);

#endif
