/* The watchdog of an in-process run (--no-isolation): the work (the cases) runs on a thread of its
 * own while the calling thread waits for the running case's time limit or an interrupt. A thread
 * inside a provider cannot be stopped safely, so either of those ends the run: the worker is
 * abandoned where it is, never to go past its next wsph_watchdog_end, and the process ends without
 * freeing what the worker may still use (wsph_exit_if_abandoned, below). */
#ifndef WSPH_WATCHDOG_H
#define WSPH_WATCHDOG_H

#include <stdint.h>

enum wsph_watch_end {
	WSPH_WATCH_DONE,	/* the work returned; the watchdog is freed */
	WSPH_WATCH_TIMEOUT,	/* the running case passed its limit */
	WSPH_WATCH_INTERRUPTED	/* *interrupted was set */
};

struct wsph_watchdog;
/* Starts work(ctx, w) on a thread of its own. The work holds the watchdog's lock all the time
 * except between wsph_watchdog_begin and wsph_watchdog_end, so what it shares (ctx) may be read by
 * the waiting thread once wsph_watchdog_wait returns. NULL when no thread can be started. */
struct wsph_watchdog *wsph_watchdog_start(void (*work)(void *ctx, struct wsph_watchdog *w),
					  void *ctx);
/* Worker: a case starts, with this limit; the lock is released. Nothing with w NULL. */
void wsph_watchdog_begin(struct wsph_watchdog *w, unsigned timeout_ms);
/* Worker: the case ended; the lock is taken again. Never returns once the work was abandoned. */
void wsph_watchdog_end(struct wsph_watchdog *w);
/* Waits until the work returns, the running case passes its limit or *interrupted (may be NULL)
 * is set. With TIMEOUT and INTERRUPTED the work is abandoned: the caller keeps the lock for good
 * and may read what the worker shares but must free nothing it uses; *case_ns says how long the
 * running case (if any) ran. */
enum wsph_watch_end wsph_watchdog_wait(struct wsph_watchdog *w, volatile int *interrupted,
				       uint64_t *case_ns);
/* 1 once a watchdog abandoned its work. */
int wsph_watchdog_abandoned(void);

/* The program's end. wsph_stdout_guard, first thing in main (a no-op in child mode,
 * argv[1] "--child"): a write to a closed stdout fails instead of killing the process
 * (wsph_plat_guard_stdio), and at exit a stdout that did not take everything written to it is
 * said on stderr, the exit status then 3. wsph_exit_if_abandoned: after an in-process run whose
 * worker was abandoned, ends the process at once with this status (or 3, stdout as above), its
 * exit handlers and frees left out; returns otherwise. */
void wsph_stdout_guard(int argc, char **argv);
void wsph_exit_if_abandoned(int status);

#endif
