/* Deciding that nothing can change any more: the provider is waiting and nothing can wake it.
 * A wait of the harness (a blocking step, a notification that must or must not come) can then end
 * at once instead of at its time limit. Where the platform cannot tell (Windows), nothing here
 * ever concludes and the limits stay as they are. */
#ifndef WSPH_STALL_H
#define WSPH_STALL_H

#include "platform/platform.h"
#include "scenario.h"
#include "trace.h"

#include <stdint.h>

/* What the caller says for the process is still, besides the platform's view of its threads. */
struct wsph_quiet {
	int streak;	   /* samples in a row that found the process still */
	uint64_t switches; /* at the last sample */
	uint64_t events;   /* the trace's events at the last sample */
	uint64_t since_ns; /* when the streak began */
	uint64_t at_ns, waiter_cpu_ns; /* the last sample's time, and the waiter's CPU time then */
};

/* The message a case that ends this way carries. */
#define WSPH_STALL_TEXT "the provider is waiting and nothing can wake it"

void wsph_quiet_reset(struct wsph_quiet *q);
/* One sample, from a thread that is not the provider's: 1 once the process has been still for at
 * least three samples in a row and min_ms (every thread but the caller and the harness's helpers
 * blocked with no time limit on nothing ready, none of them run and no event recorded since the
 * sample before, and the harness has nothing pending: pending 0), 0 while not (yet), -1 when the
 * platform cannot tell. */
int wsph_quiet_sample(struct wsph_quiet *q, uint64_t events, int pending, unsigned min_ms);
/* The same, with thread `waiter` inside a blocking WSP call (wsph_plat_idle). */
int wsph_quiet_sample_in_call(struct wsph_quiet *q, unsigned long waiter, uint64_t events,
			      unsigned min_ms);

/* The error type of a case whose every thread is blocked with no time limit, one of them inside a
 * WSP call (hangexplain.h): nothing can ever wake the provider. */
#define WSPH_DEADLOCK_TYPE "deadlock"

/* The child's monitor: a thread that, while a case is armed and the driver is inside a WSP call,
 * samples every few milliseconds (events() says how many events the case has recorded so far) and
 * calls on_stall(type, message) once the process is still: type "deadlock" when every thread is
 * blocked with no time limit (one of them inside the WSP call), else "timeout"; the message says
 * which thread is in which call since when (hangexplain.h), from the case's trace
 * (wsph_upcalls_trace), read holding trace_lock (may be NULL), the lock the traces take to
 * record, so that the case cannot end and free its trace meanwhile. Not started (0 returned,
 * nothing done) where the platform cannot tell. */
int wsph_stall_start(void (*on_stall)(const char *type, const char *message),
		     uint64_t (*events)(void), struct wsph_mutex *trace_lock);
void wsph_stall_stop(void);
/* Arms the monitor for a case of scenario sc (its steps named in messages), or disarms it (NULL);
 * disarming waits for a sample in progress, so that no descriptor of the monitor is open while the
 * process's state is taken. The case's trace begins right after it is armed: the monitor counts
 * the time of its messages from then. */
void wsph_stall_arm(const struct wsph_scenario *sc);
/* The message of a still case: what the monitor says, the threads explained. malloc'd. For
 * tests: *type is WSPH_DEADLOCK_TYPE or "timeout". */
char *wsph_stall_message(int step, uint64_t still_ms, struct wsph_trace *t, uint64_t now_ns,
			 const struct wsph_scenario *sc, const struct wsph_thread_wait *waits,
			 size_t n_waits, const char **type);

#endif
