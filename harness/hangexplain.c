/* A hang explained (hangexplain.h): the open calls of every thread of a trace, what the platform
 * says each thread waits in, and the line that tells it. */
#include "hangexplain.h"

#include "steps.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wsph_hang_thread *thread_of(struct wsph_hang *h, unsigned long tid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->t[i].tid == tid)
			return &h->t[i];
	if (h->n == WSPH_HANG_THREADS)
		return NULL;
	struct wsph_hang_thread *th = &h->t[h->n++];
	memset(th, 0, sizeof *th);
	th->tid = tid;
	return th;
}

/* The RETURN of call `seq`: the call is no longer open (on whichever thread opened it). */
static void close_call(struct wsph_hang *h, struct wsph_hang_thread *own, uint64_t seq)
{
	for (size_t k = 0; k <= h->n; k++) {
		struct wsph_hang_thread *th = k == 0 ? own : &h->t[k - 1];
		for (int i = th ? th->depth - 1 : -1; i >= 0; i--) {
			if (th->open[i] != seq)
				continue;
			memmove(&th->open[i], &th->open[i + 1],
				(size_t)(th->depth - i - 1) * sizeof th->open[0]);
			th->depth--;
			return;
		}
	}
}

static void scan_event(struct wsph_hang *h, const struct wsph_event *ev, int *have_driver)
{
	struct wsph_hang_thread *th = thread_of(h, ev->thread);
	if (!th)
		return;
	th->last = ev->seq;
	if (ev->kind == WSPH_EV_CALL && ev->layer == 0 && th->role == WSPH_HANG_PROVIDER) {
		th->role = *have_driver ? WSPH_HANG_HELPER : WSPH_HANG_DRIVER;
		*have_driver = 1;
	}
	if (ev->kind == WSPH_EV_CALL && th->depth < WSPH_HANG_DEPTH)
		th->open[th->depth++] = ev->seq;
	else if (ev->kind == WSPH_EV_RETURN)
		close_call(h, th, ev->parent);
}

void wsph_hang_scan(struct wsph_trace *t, struct wsph_hang *h)
{
	memset(h, 0, sizeof *h);
	size_t n = t ? wsph_trace_count(t) : 0;
	int have_driver = 0;
	struct wsph_event ev;
	for (size_t i = 0; i < n && wsph_trace_get(t, i, &ev) == 0; i++)
		scan_event(h, &ev, &have_driver);
}

void wsph_hang_add_waits(struct wsph_hang *h, const struct wsph_thread_wait *w, size_t n)
{
	h->platform = 1;
	for (size_t i = 0; i < n; i++) {
		struct wsph_hang_thread *th = thread_of(h, w[i].tid);
		if (!th)
			continue;
		th->seen = 1;
		th->state = w[i].state;
		th->untimed = w[i].untimed;
		snprintf(th->call, sizeof th->call, "%s", w[i].call);
	}
}

size_t wsph_hang_in_calls(const struct wsph_hang *h)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n; i++)
		n += h->t[i].depth > 0;
	return n;
}

int wsph_hang_is_deadlock(const struct wsph_hang *h)
{
	int in_call = 0, any = 0;
	if (!h->platform)
		return 0;
	for (size_t i = 0; i < h->n; i++) {
		const struct wsph_hang_thread *th = &h->t[i];
		if (!th->seen)
			continue; /* ended, or one of the harness's helpers */
		if (!th->untimed)
			return 0;
		any = 1;
		in_call |= th->depth > 0;
	}
	return any && in_call;
}

/* ---- the text ---- */

static const char *const role_names[] = {
	[WSPH_HANG_PROVIDER] = "a provider thread",
	[WSPH_HANG_DRIVER] = "the harness's driver thread",
	[WSPH_HANG_HELPER] = "the harness's helper thread",
};

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) WSPH_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if (o->len + (size_t)n + 1 > o->cap) {
		size_t nc = (o->len + (size_t)n + 1) * 2;
		char *p = realloc(o->buf, nc);
		if (!p)
			return;
		o->buf = p;
		o->cap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* "step 7 (cleanup)", or the harness's own calls outside the steps. */
static void put_step(struct out *o, int step, const struct wsph_scenario *sc)
{
	if (step <= 0) {
		put(o, "outside the steps (the harness's own start or teardown)");
		return;
	}
	const char *name = sc && (size_t)step <= sc->n_steps
				   ? wsph_step_def(sc->steps[step - 1].op)->name
				   : NULL;
	put(o, "step %d%s%s%s", step, name ? " (" : "", name ? name : "", name ? ")" : "");
}

/* "in WSPCleanup(...) under WSPCloseSocket(...) since step 7 (cleanup), for 52 ms" */
static void put_calls(struct out *o, const struct wsph_hang_thread *th, struct wsph_trace *t,
		      uint64_t now_ns, const struct wsph_scenario *sc)
{
	struct wsph_event inner, outer;
	char text[512];
	if (wsph_trace_get(t, th->open[th->depth - 1] - 1, &inner) != 0 ||
	    wsph_trace_get(t, th->open[0] - 1, &outer) != 0) {
		put(o, " is in a WSP call");
		return;
	}
	put(o, " is in %s", wsph_event_call_text(&inner, text, sizeof text));
	if (th->depth > 1)
		put(o, " under %s", wsph_event_call_text(&outer, text, sizeof text));
	put(o, " (event #%llu) since ", (unsigned long long)inner.seq);
	put_step(o, outer.step, sc);
	if (now_ns && now_ns >= inner.time_ns)
		put(o, ", for %llu ms", (unsigned long long)((now_ns - inner.time_ns) / 1000000u));
}

/* ", blocked in futex with no time limit" (the platform's view). */
static void put_wait(struct out *o, const struct wsph_hang_thread *th, int platform)
{
	if (!platform)
		return;
	if (!th->seen)
		put(o, ", no longer running");
	else if (th->state == 'S')
		put(o, ", blocked%s%s %s", th->call[0] ? " in " : "", th->call,
		    th->untimed ? "with no time limit" : "with a time limit or on something ready");
	else if (th->state == 'R')
		put(o, ", running");
	else
		put(o, ", in state %c", th->state);
}

static void put_thread(struct out *o, const struct wsph_hang_thread *th, struct wsph_trace *t,
		       uint64_t now_ns, const struct wsph_scenario *sc, int platform)
{
	put(o, "%sthread %lu (%s)", o->len ? "; " : "", th->tid, role_names[th->role]);
	if (th->depth > 0) {
		put_calls(o, th, t, now_ns, sc);
	} else {
		struct wsph_event ev;
		put(o, " is in no recorded call");
		if (th->last && wsph_trace_get(t, th->last - 1, &ev) == 0)
			put(o, " (its last event #%llu, %s)", (unsigned long long)ev.seq,
			    wsph_fn_name(ev.fn));
	}
	put_wait(o, th, platform);
}

char *wsph_hang_text(const struct wsph_hang *h, struct wsph_trace *t, uint64_t now_ns,
		     const struct wsph_scenario *sc)
{
	struct out o = {NULL, 0, 0};
	/* in a call first, the driver first; then the others, in the order they appeared */
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < h->n; i++) {
			const struct wsph_hang_thread *th = &h->t[i];
			int in_call = th->depth > 0, driver = th->role == WSPH_HANG_DRIVER;
			if ((pass == 0 && in_call && driver) || (pass == 1 && in_call && !driver) ||
			    (pass == 2 && !in_call))
				put_thread(&o, th, t, now_ns, sc, h->platform);
		}
	return o.buf;
}

char *wsph_hang_explain(struct wsph_trace *t, const struct wsph_thread_wait *waits, size_t n,
			uint64_t now_ns, const struct wsph_scenario *sc, int *deadlock)
{
	struct wsph_hang *h = malloc(sizeof *h);
	if (deadlock)
		*deadlock = 0;
	if (!h)
		return NULL;
	wsph_hang_scan(t, h);
	if (waits)
		wsph_hang_add_waits(h, waits, n);
	if (deadlock)
		*deadlock = wsph_hang_is_deadlock(h);
	char *text = h->n ? wsph_hang_text(h, t, now_ns, sc) : NULL;
	char *all = text ? wsph_format(" Threads: %s.", text) : NULL;
	free(text);
	free(h);
	return all;
}
