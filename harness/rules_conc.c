/* What a WSPCloseSocket or the final WSPCleanup makes of the calls other threads have in progress
 * (SPI.Close.CancelsBlockingCalls, SPI.Cleanup.EndsCallsInFlight). Both are judged when the case
 * has ended, the one time nothing more can happen: a call that should have returned and was still
 * in progress then is the finding. The judgement needs the trace alone, so it is made the same way
 * for a case whose process was killed (a timeout, a stall: rules.h). */
#include "rules_conc.h"

#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_CLOSE	  "SPI.Close.CancelsBlockingCalls"
#define R_CLEANUP "SPI.Cleanup.EndsCallsInFlight"

/* A call of the harness into the provider under test that has not returned yet. */
struct open_call {
	struct wsph_event call;
	int startups_before; /* a WSPCleanup: the successful startups outstanding when it began */
	/* the RETURN of a WSPCloseSocket of its socket that returned 0 on another thread while it was
	 * in progress, and that thread (0: none) */
	uint64_t closed_at;
	unsigned long closed_by;
	/* the RETURN of the final WSPCleanup that returned on another thread while it was in
	 * progress, and that thread (0: none) */
	uint64_t outlived;
	unsigned long cleaned_by;
	/* the final WSPCleanup: a call another thread had in progress while it was (its CALL; 0) */
	uint64_t others;
	unsigned long others_thread;
};

struct rules_conc {
	const struct wsph_rule_sink *sink;
	struct open_call *v;
	size_t n, cap;
	int startups;
	unsigned long threads[64]; /* in the order of their first events, for their numbers */
	size_t n_threads;
};

static void *conc_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	(void)cfg;
	struct rules_conc *k = calloc(1, sizeof *k);
	if (k)
		k->sink = sink;
	return k;
}

static void conc_destroy(void *st)
{
	struct rules_conc *k = st;
	if (k)
		free(k->v);
	free(k);
}

/* Numbers threads as the engine does: 1 for the thread of the first event, and so on. */
static void see_thread(struct rules_conc *k, unsigned long t)
{
	if (k->n_threads && k->threads[k->n_threads - 1] == t)
		return;
	for (size_t i = 0; i < k->n_threads; i++)
		if (k->threads[i] == t)
			return;
	if (k->n_threads < sizeof k->threads / sizeof k->threads[0])
		k->threads[k->n_threads++] = t;
}

static unsigned thread_no(const struct rules_conc *k, unsigned long t)
{
	for (size_t i = 0; i < k->n_threads; i++)
		if (k->threads[i] == t)
			return (unsigned)i + 1;
	return 0;
}

static struct open_call *open_find(struct rules_conc *k, uint64_t seq)
{
	for (size_t i = k->n; seq && i-- > 0;)
		if (k->v[i].call.seq == seq)
			return &k->v[i];
	return NULL;
}

static int final_cleanup(const struct open_call *o)
{
	return o->call.fn == WSPH_FN_WSPCLEANUP && o->startups_before == 1;
}

/* A call begins: while a final WSPCleanup of another thread is in progress, or as that cleanup
 * while other threads have calls in progress, the cleanup has calls in flight to end. */
static void call_begins(struct rules_conc *k, const struct wsph_event *ev)
{
	if (wsph_grow((void **)&k->v, &k->cap, k->n, sizeof *k->v) != 0)
		return;
	struct open_call *o = &k->v[k->n++];
	memset(o, 0, sizeof *o);
	o->call = *ev;
	o->startups_before = k->startups;
	for (size_t i = 0; i + 1 < k->n; i++) {
		struct open_call *x = &k->v[i];
		if (x->call.thread == ev->thread)
			continue;
		if (final_cleanup(o) && !o->others) {
			o->others = x->call.seq;
			o->others_thread = x->call.thread;
		} else if (final_cleanup(x) && !x->others) {
			x->others = ev->seq;
			x->others_thread = ev->thread;
		}
	}
}

/* WSPCloseSocket(s) returned 0: the calls on s other threads have in progress must return. */
static void close_returned(struct rules_conc *k, const struct wsph_event *ret)
{
	for (size_t i = 0; i < k->n; i++) {
		struct open_call *x = &k->v[i];
		if (x->call.thread != ret->thread && !x->closed_at &&
		    wsph_fn_takes_socket(x->call.fn) && x->call.a[0] == ret->a[0]) {
			x->closed_at = ret->seq;
			x->closed_by = ret->thread;
		}
	}
}

/* The final WSPCleanup returned: the calls other threads have in progress must return. */
static void cleanup_returned(struct rules_conc *k, const struct wsph_event *ret)
{
	for (size_t i = 0; i < k->n; i++) {
		struct open_call *x = &k->v[i];
		if (x->call.thread != ret->thread && !x->outlived) {
			x->outlived = ret->seq;
			x->cleaned_by = ret->thread;
		}
	}
}

static void call_returns(struct rules_conc *k, const struct wsph_event *ret)
{
	struct open_call *o = open_find(k, ret->parent);
	int before = o ? o->startups_before : k->startups;
	if (ret->fn == WSPH_FN_WSPSTARTUP && ret->ret == 0)
		k->startups++;
	else if (ret->fn == WSPH_FN_WSPCLEANUP && before > 0)
		k->startups = before - 1; /* the count goes down even when it reports badly */
	if (o) {
		size_t i = (size_t)(o - k->v);
		memmove(&k->v[i], &k->v[i + 1], (k->n - i - 1) * sizeof *k->v);
		k->n--;
	}
	if (ret->fn == WSPH_FN_WSPCLOSESOCKET && ret->ret == 0)
		close_returned(k, ret);
	else if (ret->fn == WSPH_FN_WSPCLEANUP && before == 1 && ret->ret == 0)
		cleanup_returned(k, ret);
}

/* Every event, in trace order: the harness's calls into the provider under test. */
static void conc_event(void *st, const struct wsph_event *ev)
{
	struct rules_conc *k = st;
	see_thread(k, ev->thread);
	if (ev->layer != 0 || ev->kind == WSPH_EV_UPCALL)
		return;
	if (ev->kind == WSPH_EV_CALL)
		call_begins(k, ev);
	else
		call_returns(k, ev);
}

static void report(const struct rules_conc *k, const char *rule, const struct open_call *o,
		   const char *why)
{
	char call[512], msg[1536];
	wsph_event_call_text(&o->call, call, sizeof call);
	snprintf(msg, sizeof msg,
		 "%s, begun on thread %u (event #%" PRIu64 "), had not returned when the case "
		 "ended, %s",
		 call, thread_no(k, o->call.thread), o->call.seq, why);
	wsph_sink_report(k->sink, rule, o->call.step, o->call.seq, msg);
}

/* The calls still in progress at the end that a close or the final cleanup should have ended. */
static void judge_open(const struct rules_conc *k, const struct open_call *o)
{
	char why[768];
	if (o->closed_at) {
		snprintf(why, sizeof why,
			 "although WSPCloseSocket(s=0x%" PRIx64 ") had returned 0 on thread %u (event "
			 "#%" PRIu64 "): closing a socket cancels the blocking calls pending on it, "
			 "whichever thread made them (they return, failing with WSAEINTR or WSAENOTSOCK)",
			 o->call.a[0], thread_no(k, o->closed_by), o->closed_at);
		report(k, R_CLOSE, o, why);
	} else if (o->outlived) {
		snprintf(why, sizeof why,
			 "although the final WSPCleanup had returned on thread %u (event #%" PRIu64
			 "): the final cleanup cancels the blocking calls in progress in the process, "
			 "and they return",
			 thread_no(k, o->cleaned_by), o->outlived);
		report(k, R_CLEANUP, o, why);
	} else if (final_cleanup(o) && o->others) {
		snprintf(why, sizeof why,
			 "while thread %u had a call in progress (event #%" PRIu64 "): the final "
			 "WSPCleanup cancels the calls in flight and returns, it does not wait for them",
			 thread_no(k, o->others_thread), o->others);
		report(k, R_CLEANUP, o, why);
	}
}

static void conc_finish(void *st)
{
	const struct rules_conc *k = st;
	for (size_t i = 0; i < k->n; i++)
		judge_open(k, &k->v[i]);
}

const struct wsph_rule_family wsph_rule_family_conc = {
	.name = "conc",
	.create = conc_create,
	.destroy = conc_destroy,
	.on_event = conc_event,
	.on_finish = conc_finish,
};
