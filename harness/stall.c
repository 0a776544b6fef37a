/* Stillness (stall.h): the platform's view of the threads, the trace's event count and what the
 * harness has pending, sampled until they agree for long enough; and the child's monitor, which
 * ends a case whose WSP call waits for what can no longer come. */
#include "stall.h"

#include "hangexplain.h"
#include "platform/async.h"
#include "platform/platform.h"
#include "upcalls.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUIET_SAMPLES 3

void wsph_quiet_reset(struct wsph_quiet *q)
{
	memset(q, 0, sizeof *q);
}

static int sample(struct wsph_quiet *q, unsigned long waiter, uint64_t events, int pending,
		  unsigned min_ms)
{
	struct wsph_idle idle;
	if (wsph_plat_idle(waiter, &idle) != 0)
		return -1;
	uint64_t now = wsph_plat_now_ns();
	/* a waiter that polls runs a few microseconds a slice; one that ran a tenth of the time
	 * since the sample before is at work (a long WSPStartup, or every thread slowed down under
	 * valgrind, which runs one thread at a time and shows the others as blocked) */
	int busy = waiter && q->streak &&
		   (idle.waiter_cpu_ns - q->waiter_cpu_ns) * 10 > now - q->at_ns;
	int still = !pending && idle.all_waiting && !busy &&
		    (q->streak == 0 || (idle.switches == q->switches && events == q->events));
	q->switches = idle.switches;
	q->events = events;
	q->at_ns = now;
	q->waiter_cpu_ns = idle.waiter_cpu_ns;
	if (!still) {
		q->streak = 0;
		return 0;
	}
	if (q->streak++ == 0)
		q->since_ns = now;
	return q->streak >= QUIET_SAMPLES && now - q->since_ns >= (uint64_t)min_ms * 1000000u;
}

int wsph_quiet_sample(struct wsph_quiet *q, uint64_t events, int pending, unsigned min_ms)
{
	return sample(q, 0, events, pending, min_ms);
}

int wsph_quiet_sample_in_call(struct wsph_quiet *q, unsigned long waiter, uint64_t events,
			      unsigned min_ms)
{
	return sample(q, waiter, events, 0, min_ms);
}

/* ---- the child's monitor ---- */

#define MONITOR_MS 10     /* between samples */
#define MONITOR_MIN_MS 50 /* still for at least this long */

static struct {
	struct wsph_mutex *lock; /* held while armed is changed and while a sample runs */
	struct wsph_thread *thread;
	void *wake;
	void (*on_stall)(const char *type, const char *message);
	uint64_t (*events)(void);
	struct wsph_mutex *trace_lock; /* held while the trace is read (may be NULL) */
	int armed, stop;
	unsigned long driver; /* the thread that armed the monitor: the one running the case */
	const struct wsph_scenario *sc; /* the armed case's */
	uint64_t armed_ns;		/* when it was armed: about when its trace began */
} M;

#define MAX_WAITS 64

char *wsph_stall_message(int step, uint64_t still_ms, struct wsph_trace *t, uint64_t now_ns,
			 const struct wsph_scenario *sc, const struct wsph_thread_wait *waits,
			 size_t n_waits, const char **type)
{
	int deadlock = 0;
	char *why = wsph_hang_explain(t, waits, n_waits, now_ns, sc, &deadlock);
	char *msg;
	*type = deadlock ? WSPH_DEADLOCK_TYPE : "timeout";
	if (deadlock)
		msg = wsph_format("every thread of the process is blocked with no time limit, step %d "
				  "inside its WSP call for %llu ms with no event: nothing can wake the "
				  "provider.%s",
				  step, (unsigned long long)still_ms, why ? why : "");
	else
		msg = wsph_format("%s: step %d has been inside its WSP call for %llu ms with no event, "
				  "every other thread of the process blocked with no time limit.%s",
				  WSPH_STALL_TEXT, step, (unsigned long long)still_ms, why ? why : "");
	free(why);
	return msg;
}

/* One look: the driver inside the same WSP call as at the sample before, and the process still.
 * Then *msg is the case's message (malloc'd) and *type its error type. */
static int stalled(struct wsph_quiet *q, int *step, unsigned *done, char **msg, const char **type)
{
	int s = 0;
	unsigned d = 0;
	if (!wsph_upcalls_driver_busy(&s, &d) || s != *step || d != *done) {
		*step = s;
		*done = d;
		wsph_quiet_reset(q);
		return 0;
	}
	if (wsph_quiet_sample_in_call(q, M.driver, M.events(), MONITOR_MIN_MS) != 1)
		return 0;
	uint64_t now = wsph_plat_now_ns();
	struct wsph_thread_wait waits[MAX_WAITS];
	int n = wsph_plat_idle_threads(waits, MAX_WAITS);
	/* no event is recorded meanwhile: the case cannot end, nor its trace go */
	if (M.trace_lock)
		wsph_mutex_lock(M.trace_lock);
	*msg = wsph_stall_message(s, (now - q->since_ns) / 1000000u, wsph_upcalls_trace(),
				  now - M.armed_ns, M.sc, n < 0 ? NULL : waits,
				  n < 0 ? 0 : n > MAX_WAITS ? MAX_WAITS : (size_t)n, type);
	if (M.trace_lock)
		wsph_mutex_unlock(M.trace_lock);
	return 1;
}

static int monitor(void *ctx)
{
	(void)ctx;
	wsph_plat_idle_exempt(1);
	struct wsph_quiet q;
	wsph_quiet_reset(&q);
	int step = -1;
	unsigned done = 0;
	char *msg = NULL;
	const char *type = "timeout";
	for (;;) {
		wsph_plat_event_wait(M.wake, MONITOR_MS);
		wsph_mutex_lock(M.lock);
		if (M.stop) {
			wsph_mutex_unlock(M.lock);
			return 0;
		}
		int hit = M.armed && stalled(&q, &step, &done, &msg, &type);
		if (!M.armed)
			wsph_quiet_reset(&q);
		wsph_mutex_unlock(M.lock);
		if (hit)
			M.on_stall(type, msg ? msg : WSPH_STALL_TEXT); /* ends the process */
		free(msg);
		msg = NULL;
	}
}

int wsph_stall_start(void (*on_stall)(const char *type, const char *message),
		     uint64_t (*events)(void), struct wsph_mutex *trace_lock)
{
	struct wsph_idle probe;
	if (M.thread || wsph_plat_idle(0, &probe) != 0)
		return 0;
	M.on_stall = on_stall;
	M.events = events;
	M.trace_lock = trace_lock;
	M.lock = wsph_mutex_new();
	M.wake = wsph_plat_event_new();
	M.armed = M.stop = 0;
	if (M.lock && M.wake)
		M.thread = wsph_thread_start(monitor, NULL);
	if (!M.thread) {
		if (M.wake)
			wsph_plat_event_free(M.wake);
		if (M.lock)
			wsph_mutex_free(M.lock);
		memset(&M, 0, sizeof M);
		return 0;
	}
	return 1;
}

void wsph_stall_arm(const struct wsph_scenario *sc)
{
	if (!M.thread)
		return;
	wsph_mutex_lock(M.lock);
	M.armed = sc != NULL;
	M.sc = sc;
	M.armed_ns = wsph_plat_now_ns();
	M.driver = wsph_plat_thread_id();
	wsph_mutex_unlock(M.lock);
}

void wsph_stall_stop(void)
{
	if (!M.thread)
		return;
	wsph_mutex_lock(M.lock);
	M.stop = 1;
	wsph_mutex_unlock(M.lock);
	wsph_plat_event_set(M.wake);
	wsph_thread_join(M.thread);
	wsph_plat_event_free(M.wake);
	wsph_mutex_free(M.lock);
	memset(&M, 0, sizeof M);
}
