/* Progress while running (progress.h): the count the runner reports, and the thread that prints
 * the periodic line on a stderr that is not a terminal. */
#include "progress.h"
#include "platform/async.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

#define TICK_MS_DEFAULT 5000
#define TICK_ENV "WSPHARNESS_PROGRESS_INTERVAL_MS"

int wsph_term_color(FILE *stream, int requested)
{
	const char *no = getenv("NO_COLOR");

	if (requested != WSPH_COLOR_AUTO)
		return requested != 0;
	if (no && *no) /* https://no-color.org: present and not empty */
		return 0;
	return wsph_plat_stream_is_tty(stream);
}

static struct ticker {
	const struct wsph_progress *p;
	struct wsph_mutex *lock;
	void *stop;    /* a platform event: set to end the thread */
	void *running; /* set by the thread first thing */
	struct wsph_thread *thread;
	unsigned interval_ms;
	uint64_t t0;
	size_t done, total;
	char *current; /* the case the run waits for (its ID), NULL none */
	unsigned long lines;
} tick;

static void tick_line(void)
{
	uint64_t s = (wsph_plat_now_ns() - tick.t0) / 1000000000u;

	tick.p->tick_line(stderr, tick.done, tick.total, s, tick.current);
	fflush(stderr);
	tick.lines++;
}

static int tick_main(void *ctx)
{
	(void)ctx;
	wsph_plat_idle_exempt(1); /* the harness's own timed wait, not the provider's */
	wsph_plat_event_set(tick.running);
	while (!wsph_plat_event_wait(tick.stop, tick.interval_ms)) {
		wsph_mutex_lock(tick.lock);
		tick_line();
		wsph_mutex_unlock(tick.lock);
	}
	return 0;
}

/* The interval: WSPHARNESS_PROGRESS_INTERVAL_MS, a plain decimal from 1 to 3600000, or 5 s. */
static int tick_interval(unsigned *ms, char *err, size_t errlen)
{
	const char *v = getenv(TICK_ENV), *p;
	unsigned long x = 0;

	*ms = TICK_MS_DEFAULT;
	if (!v)
		return 0;
	for (p = v; *p >= '0' && *p <= '9' && x <= 3600000; p++)
		x = x * 10 + (unsigned long)(*p - '0');
	if (!*v || *p || x < 1 || x > 3600000) {
		snprintf(err, errlen, TICK_ENV " must be a number of milliseconds from 1 to 3600000, "
				      "not '%.40s'",
			 v);
		return -1;
	}
	*ms = (unsigned)x;
	return 0;
}

static void tick_free(void)
{
	if (tick.lock)
		wsph_mutex_free(tick.lock);
	if (tick.stop)
		wsph_plat_event_free(tick.stop);
	if (tick.running)
		wsph_plat_event_free(tick.running);
	free(tick.current);
	memset(&tick, 0, sizeof tick);
}

int wsph_progress_start(struct wsph_progress *p, char *err, size_t errlen)
{
	unsigned ms;

	if (tick_interval(&ms, err, errlen) != 0)
		return -1;
	if (!p->tick || !p->tick_line || tick.thread)
		return 0;
	memset(&tick, 0, sizeof tick);
	tick.p = p;
	tick.interval_ms = ms;
	tick.t0 = wsph_plat_now_ns();
	tick.lock = wsph_mutex_new();
	tick.stop = wsph_plat_event_new();
	tick.running = wsph_plat_event_new();
	if (tick.lock && tick.stop && tick.running)
		tick.thread = wsph_thread_start(tick_main, NULL);
	/* Running before any case starts: a Windows thread is counted when it first runs, and an
	 * in-process run compares the thread count before a provider loads with the count after. */
	if (tick.thread)
		wsph_plat_event_wait(tick.running, 60000);
	else /* no progress line is no reason to stop a run */
		tick_free();
	return 0;
}

void wsph_progress_stop(void)
{
	if (!tick.thread)
		return;
	wsph_plat_event_set(tick.stop);
	wsph_thread_join(tick.thread);
	/* a run of cases longer than the interval says so at least once, however the thread was
	 * scheduled (not one that ended before its first case did: a module that cannot be used) */
	if (!tick.lines && tick.done &&
	    wsph_plat_now_ns() - tick.t0 >= (uint64_t)tick.interval_ms * 1000000u)
		tick_line();
	tick_free();
}

/* The ticker's count and current case; nothing while no ticker runs. */
static void tick_update(size_t done, size_t total, const struct wsph_case *next, int has_next)
{
	if (!tick.thread)
		return;
	wsph_mutex_lock(tick.lock);
	if (has_next) {
		free(tick.current);
		tick.current = next && tick.p->label ? tick.p->label(next) : NULL;
	}
	tick.done = done;
	tick.total = total;
	wsph_mutex_unlock(tick.lock);
}

void wsph_progress_case(void *ctx, size_t done, size_t total, const struct wsph_case *c)
{
	const struct wsph_progress *p = ctx;

	if (c)
		tick_update(done, total, NULL, 0);
	if (p && p->on_case)
		p->on_case(p->ctx, done, total, c);
}

void wsph_progress_next(void *ctx, size_t done, size_t total, const struct wsph_case *next)
{
	(void)ctx;
	tick_update(done, total, next, 1);
}
