/* A hang explained: for every thread of a case, the WSP call it is inside (its CALL recorded, its
 * RETURN not), under which outer call, since when and at which step; for the threads in no call,
 * what the platform says they wait in. Built from a trace (the child's own as it records, or the
 * parent's copy rebuilt from the child's stream) and, where the platform can tell, the state of
 * every thread of the process (platform.h, wsph_plat_idle_threads). */
#ifndef WSPH_HANGEXPLAIN_H
#define WSPH_HANGEXPLAIN_H

#include "platform/platform.h"
#include "scenario.h"
#include "trace.h"

#include <stddef.h>
#include <stdint.h>

#define WSPH_HANG_THREADS 32 /* threads described at most */
#define WSPH_HANG_DEPTH 16   /* calls open on one thread, at most */

enum wsph_hang_role {
	WSPH_HANG_PROVIDER, /* a thread of the provider's (or one the trace does not show) */
	WSPH_HANG_DRIVER,   /* the harness's driver thread: the case's first WSP call was its */
	WSPH_HANG_HELPER    /* another thread that made a WSP call of the harness's (arrive) */
};

struct wsph_hang_thread {
	unsigned long tid;
	int role;			/* enum wsph_hang_role */
	uint64_t open[WSPH_HANG_DEPTH]; /* seqs of its open calls, outermost first */
	int depth;
	uint64_t last; /* its last event (0: none recorded) */
	int seen;      /* the platform listed it (then the four below are its view) */
	char state;
	int untimed;
	char call[40];
};

struct wsph_hang {
	struct wsph_hang_thread t[WSPH_HANG_THREADS];
	size_t n;
	int platform; /* the platform's view was added: threads it did not list have ended */
};

/* Every thread of trace t (NULL: none) with the calls it has open. */
void wsph_hang_scan(struct wsph_trace *t, struct wsph_hang *h);
/* Adds the platform's view of the process's threads (n of them): a thread the trace does not show
 * is a provider thread in no recorded call. */
void wsph_hang_add_waits(struct wsph_hang *h, const struct wsph_thread_wait *w, size_t n);
/* Threads with a call open. */
size_t wsph_hang_in_calls(const struct wsph_hang *h);
/* A deadlock: the platform's view was added, every thread it listed is blocked with no time limit
 * on nothing ready, and at least one of them is inside a WSP call. */
int wsph_hang_is_deadlock(const struct wsph_hang *h);
/* One line for people, malloc'd: each thread in a call first (the driver's first), then the
 * others, "; " between them: "thread 812 (the harness's driver thread) in WSPCleanup(...) since
 * step 7 (cleanup), for 2003 ms; waits in futex with no time limit". now_ns is the time of the
 * verdict on the trace's clock (0: durations left out); sc (may be NULL) names the steps. */
char *wsph_hang_text(const struct wsph_hang *h, struct wsph_trace *t, uint64_t now_ns,
		     const struct wsph_scenario *sc);
/* The whole explanation for a case of trace t: scanned, with the platform's view when given
 * (waits NULL: none), as " Threads: ...". Sets *deadlock (may be NULL). malloc'd, NULL when the
 * trace shows no thread. */
char *wsph_hang_explain(struct wsph_trace *t, const struct wsph_thread_wait *waits, size_t n,
			uint64_t now_ns, const struct wsph_scenario *sc, int *deadlock);

#endif
