/* The in-process watchdog and the program's orderly end (watchdog.h): stdout checked,
 * an abandoned run ended without touching what its worker still uses. */
#include "watchdog.h"

#include "platform/async.h"
#include "platform/platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wsph_watchdog {
	struct wsph_mutex *lock;
	struct wsph_thread *thread;
	void (*work)(void *ctx, struct wsph_watchdog *w);
	void *ctx;
	uint64_t t0, deadline; /* the running case: its start and limit (deadline 0: none runs) */
	int done;
};

static volatile int abandoned;

static int worker(void *arg)
{
	struct wsph_watchdog *w = arg;
	wsph_mutex_lock(w->lock);
	w->work(w->ctx, w);
	w->done = 1;
	wsph_mutex_unlock(w->lock);
	wsph_plat_wake();
	return 0;
}

struct wsph_watchdog *wsph_watchdog_start(void (*work)(void *ctx, struct wsph_watchdog *w),
					  void *ctx)
{
	struct wsph_watchdog *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->work = work;
	w->ctx = ctx;
	w->lock = wsph_mutex_new();
	if (w->lock)
		w->thread = wsph_thread_start(worker, w);
	if (!w->thread) {
		wsph_mutex_free(w->lock);
		free(w);
		return NULL;
	}
	return w;
}

void wsph_watchdog_begin(struct wsph_watchdog *w, unsigned timeout_ms)
{
	if (!w)
		return;
	w->t0 = wsph_plat_now_ns();
	w->deadline = w->t0 + (uint64_t)timeout_ms * 1000000u;
	wsph_mutex_unlock(w->lock);
}

void wsph_watchdog_end(struct wsph_watchdog *w)
{
	if (!w)
		return;
	/* once abandoned, the waiting thread keeps the lock until the process ends */
	wsph_mutex_lock(w->lock);
	w->deadline = 0;
}

/* What ends the wait now (DONE: nothing yet). Called with the lock. */
static enum wsph_watch_end verdict(const struct wsph_watchdog *w, volatile int *interrupted,
				   uint64_t now)
{
	if (interrupted && *interrupted)
		return WSPH_WATCH_INTERRUPTED;
	if (w->deadline && now >= w->deadline)
		return WSPH_WATCH_TIMEOUT;
	return WSPH_WATCH_DONE;
}

enum wsph_watch_end wsph_watchdog_wait(struct wsph_watchdog *w, volatile int *interrupted,
				       uint64_t *case_ns)
{
	wsph_plat_idle_exempt(1); /* a timed wait of the harness's own (stall.h) */
	for (;;) {
		wsph_mutex_lock(w->lock);
		if (w->done) {
			wsph_mutex_unlock(w->lock);
			wsph_thread_join(w->thread);
			wsph_mutex_free(w->lock);
			free(w);
			return WSPH_WATCH_DONE;
		}
		uint64_t now = wsph_plat_now_ns();
		enum wsph_watch_end end = verdict(w, interrupted, now);
		if (end != WSPH_WATCH_DONE) {
			abandoned = 1;
			*case_ns = w->deadline ? now - w->t0 : 0;
			return end;
		}
		/* no case yet (the worker is starting): look again soon */
		uint64_t left = w->deadline ? (w->deadline - now) / 1000000u + 1 : 100;
		wsph_mutex_unlock(w->lock);
		wsph_plat_wake_wait(left > 1000000u ? 1000000u : (unsigned)left);
	}
}

int wsph_watchdog_abandoned(void)
{
	return abandoned;
}

/* ---- the program's end ---- */

static unsigned long guard_pid; /* the process whose stdout is checked (0: none) */

/* Did everything written to stdout reach it? Else says why on stderr. */
static int stdout_failed(void)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	int e = errno ? errno : wsph_plat_stdout_errno();
	fprintf(stderr, "wspharness: cannot write to stdout%s%s\n", e ? ": " : "",
		e ? strerror(e) : "");
	return 1;
}

static void check_at_exit(void)
{
	if (wsph_plat_process_id() != guard_pid)
		return; /* a forked child (isolation): its stdout is the provider's output pipe */
	if (stdout_failed()) {
		fflush(stderr);
		wsph_plat_exit_now(3); /* internal error (main.c's EXIT_INTERNAL) */
	}
}

void wsph_stdout_guard(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--child"))
		return; /* child mode (Windows): stdout is the provider's output pipe */
	wsph_plat_guard_stdio();
	guard_pid = wsph_plat_process_id();
	atexit(check_at_exit);
}

void wsph_exit_if_abandoned(int status)
{
	if (!abandoned)
		return;
	if (guard_pid && stdout_failed())
		status = 3;
	fflush(stderr);
	wsph_plat_exit_now(status);
}
