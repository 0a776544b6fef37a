/* The driver: loads the provider, plays a scenario's steps through its WSPPROC_TABLE, records all. */
#include "driver.h"

#include "catalog.h"
#include "imports.h"
#include "lower.h"

#include "platform/async.h"
#include "platform/platform.h"
#include "rules.h"
#include "rules_lifecycle.h"
#include "trace.h"
#include "upcalls.h"
#include "util.h"
#include "wsph/spi.h"
#include "decode.h"
#include "stall.h"
#include "stress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64
#define MAX_EVENTS 32
/* How long the driver waits for a notification that must come (reached only when a provider
 * fails), and for one that must not (a conforming provider never sends it, so this bounds the
 * window in which a late one from a provider thread is still caught). */
#define WAIT_MS 300
#define NONE_WAIT_MS 30
/* Either wait ends sooner when nothing can change any more (stall.h): the process still for this
 * long. A wait is made of slices of WAIT_SLICE_MS. */
#define QUIET_MS 10
#define WAIT_SLICE_MS 5
/* How long the driver waits, before unloading the provider, for threads the provider started to
 * end (a conforming provider has ended them by the time its final WSPCleanup returns, so this is
 * spent only on one that has not: its late upcalls are caught meanwhile). */
#define SETTLE_MS 1000

struct arrival;

struct drv {
	const struct wsph_drive_opts *o;
	const struct wsph_scenario *sc;
	struct wsph_trace *trace;
	struct wsph_rules *rules;
	struct wsph_module *mod;
	WSPH_WSPSTARTUP_BYREF startup;
	WSPPROC_TABLE procs;
	int have_procs;
	WSAPROTOCOL_INFOW pi_stream, pi_dgram;
	struct {
		const char *name;
		SOCKET s;
	} names[MAX_NAMES];
	size_t n_names;
#define MAX_PENDING 64
	struct pending *pending[MAX_PENDING];
	size_t n_pending;
	struct {
		const char *name;
		WSAEVENT ev;
		int registered; /* a WSPEventSelect with it succeeded */
	} events[MAX_EVENTS];
	size_t n_events;
	SOCKET nonblocking[MAX_NAMES]; /* sockets made nonblocking (FIONBIO, event/async select) */
	size_t n_nonblocking;
	struct arrival *arrival; /* the helper thread of an `arrive` step, joined after the next */
	int final_cleanup;	 /* the final WSPCleanup has begun */
	struct wsph_proctables *tables; /* the lpProcTable buffers, watched after WSPStartup */
	int threads_before;		/* threads in the process before the provider was loaded */
	/* Premises: the first step whose expectation was not met stops the scenario; the steps
	 * after it are not reached, but for those that close what is open (see teardown). */
	int async_registered;  /* a WSPAsyncSelect succeeded */
	int stopped;	       /* the step the scenario stopped at (0: running) */
	int inconclusive;      /* ... and it was a control step */
	char stop_reason[512];
	SOCKET closed[MAX_NAMES]; /* sockets a close step closed */
	size_t n_closed;
	struct wsph_unreached *unreached;
	size_t n_unreached, cap_unreached;
	uint32_t catalog_ids[16]; /* the provider's own catalog ids (the rule engine reads them) */
	/* Threads: the lock of the bookkeeping above and of the rule engine (never held while the
	 * provider is called), the parallel block in progress, and a stop a thread's step asked for
	 * (the block's threads stop after their current step; the scenario after the block). */
	struct wsph_mutex *lock;
	struct block *block;
	int stop_req; /* atomic */
	int stop_step, stop_control;
};

/* What each driver thread (the main one, a parallel block's) keeps of its own: the step in
 * progress, the error findings when it began, and the last step that reported an unmet
 * expectation with what its first report said. */
static WSPH_THREAD_LOCAL struct {
	int step;
	size_t errors_before_step;
	int failed_step;
	char failure[400];
	struct block_thread *bt; /* a parallel block's thread: what a `blocked` step watches */
} me;

static void lock(struct drv *d)
{
	wsph_mutex_lock(d->lock);
}

static void unlock(struct drv *d)
{
	wsph_mutex_unlock(d->lock);
}

/* The rule engine, one driver thread at a time. */
static void rreport(struct drv *d, const char *rule, int step, uint64_t seq, const char *msg)
{
	lock(d);
	wsph_rules_report(d->rules, rule, step, seq, msg);
	unlock(d);
}

static void radvance(struct drv *d)
{
	lock(d);
	wsph_rules_advance(d->rules);
	unlock(d);
}

static void tables_check(struct drv *d, uint64_t seq, const char *after)
{
	lock(d);
	wsph_proctables_check(d->tables, d->rules, me.step, seq, after);
	unlock(d);
}

static void *fn_address(const void *fnptr_storage)
{
	void *p;
	memcpy(&p, fnptr_storage, sizeof p);
	return p;
}

/* ---- calls and their events ---- */

/* A CALL event filled, not recorded yet: a step that records more of its arguments (they must be
 * in place when it is recorded, for another driver thread may have the engine read it at once)
 * fills them before call_push. */
static void call_fill(struct wsph_event *ev, enum wsph_fn fn, uint64_t a0, uint64_t a1,
		      uint64_t a2, uint64_t a3)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WSPH_EV_CALL;
	ev->fn = fn;
	ev->step = me.step;
	ev->a[0] = a0;
	ev->a[1] = a1;
	ev->a[2] = a2;
	ev->a[3] = a3;
	ev->err = WSPH_ERRNO_UNSET;
	snprintf(ev->module, sizeof ev->module, "wspharness");
}

static void watched_call(int delta);

static uint64_t call_push(struct drv *d, struct wsph_event *ev)
{
	ev->seq = wsph_trace_append(d->trace, ev);
	wsph_upcalls_enter(ev->seq, me.step);
	watched_call(1);
	return ev->seq;
}

static uint64_t call_begin(struct drv *d, struct wsph_event *ev, enum wsph_fn fn, uint64_t a0,
			   uint64_t a1, uint64_t a2, uint64_t a3)
{
	call_fill(ev, fn, a0, a1, a2, a3);
	return call_push(d, ev);
}

static void call_end(struct drv *d, const struct wsph_event *call, struct wsph_event *ret,
		     int64_t rv, int err, const void *fnptr_storage)
{
	watched_call(-1);
	wsph_upcalls_leave();
	*ret = *call;
	ret->kind = WSPH_EV_RETURN;
	ret->parent = call->seq;
	ret->ret = rv;
	ret->err = err;
	wsph_plat_module_name_at(fn_address(fnptr_storage), ret->module, sizeof ret->module);
	ret->seq = wsph_trace_append(d->trace, ret);
	radvance(d);
	char after[96];
	snprintf(after, sizeof after, "%s returned", wsph_fn_name(ret->fn));
	tables_check(d, ret->seq, after);
}

static void report(struct drv *d, const struct wsph_step *st, uint64_t seq, const char *fmt, ...) WSPH_PRINTF(4, 5);
static void report_locked(struct drv *d, const struct wsph_step *st, uint64_t seq, const char *msg);
static void stop_record(struct drv *d, const struct wsph_step *st);

/* A step's expectation was not met: charged to the step's rule, except in a control step, whose
 * failure makes the case inconclusive instead. Either way the scenario stops after the step. */
#include <stdarg.h>
static void report(struct drv *d, const struct wsph_step *st, uint64_t seq, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lock(d);
	report_locked(d, st, seq, msg);
	unlock(d);
}

static void report_locked(struct drv *d, const struct wsph_step *st, uint64_t seq, const char *msg)
{
	if (me.failed_step != me.step) {
		me.failed_step = me.step;
		snprintf(me.failure, sizeof me.failure, "%.390s", msg);
	}
	/* After the scenario stopped only its teardown runs: how it goes follows from the defect
	 * already found (a close of a handle the provider mishandled), and is not charged again;
	 * nor is a step of a thread that ends after another thread's step stopped the scenario. */
	if (d->stopped || (wsph_atomic_load_int(&d->stop_req) && d->stop_step != me.step))
		return;
	if (st->thread)
		stop_record(d, st); /* at once: the other threads charge nothing more */
	/* One defect, one finding: a result a rule already judged is not charged to the step too,
	 * nor is a step during which a rule was already broken (its result follows from that). */
	if (!st->control && (st->rule || !wsph_rules_charged(d->rules, seq)) &&
	    wsph_rules_errors(d->rules) == me.errors_before_step)
		rreport(d, st->rule, me.step, seq, msg);
}

/* Notes a step or a rule the case did not reach. */
static void unreached(struct drv *d, const struct wsph_rule *rule, int step, const char *fmt, ...)
	WSPH_PRINTF(4, 5);
static void unreached(struct drv *d, const struct wsph_rule *rule, int step, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lock(d);
	if (wsph_grow((void **)&d->unreached, &d->cap_unreached, d->n_unreached,
		      sizeof *d->unreached) == 0) {
		struct wsph_unreached *u = &d->unreached[d->n_unreached++];
		u->rule = rule;
		u->step = step;
		u->reason = wsph_strdup(msg);
	}
	unlock(d);
}

/* Whether an injected fault hit an upcall made inside the call `call_seq`. */
static int fault_fired(const struct drv *d, uint64_t call_seq)
{
	struct wsph_event ev;
	size_t n = wsph_trace_count(d->trace);
	for (size_t i = (size_t)call_seq; i < n && wsph_trace_get(d->trace, i, &ev) == 0; i++)
		if (ev.kind == WSPH_EV_UPCALL && ev.parent == call_seq && ev.fault)
			return 1;
	return 0;
}

/* Compares the outcome of a step with what the scenario expects. */
static void expect(struct drv *d, const struct wsph_step *st, const struct wsph_event *ret,
		   int failed, int code)
{
	char call[1024], e[64], x[64];
	wsph_event_call_text(ret, call, sizeof call);
	if (st->expect == WSPH_EXPECT_ANY)
		return;
	/* A failure the scenario expects because of an injected fault is owed only when the fault
	 * hit: a provider that never made the faulted upcall in this call (it does not use it
	 * here) says nothing about how it propagates a failure. */
	if (!failed && d->sc->n_faults && (st->expect == WSPH_EXPECT_FAILURE || st->expect > 0) &&
	    !fault_fired(d, ret->parent)) {
		unreached(d, NULL, me.step, "%s made no upcall the scenario's faults name, so the "
			  "injected failure never reached it", call);
		return;
	}
	if (st->expect == WSPH_EXPECT_OK && failed)
		report(d, st, ret->seq, "%s failed; the scenario expects success", call);
	else if (st->expect == WSPH_EXPECT_FAILURE && !failed)
		report(d, st, ret->seq, "%s succeeded; the scenario expects it to fail", call);
	else if (st->expect > 0 && !failed)
		report(d, st, ret->seq, "%s succeeded; the scenario expects it to fail with %s",
		       call, wsph_error_format(st->expect, x, sizeof x));
	else if (st->expect > 0 && code != st->expect)
		report(d, st, ret->seq, "%s failed with %s; the scenario expects %s", call,
		       code == WSPH_ERRNO_UNSET ? "*lpErrno unwritten" : wsph_error_format(code, e, sizeof e),
		       wsph_error_format(st->expect, x, sizeof x));
}

static SOCKET resolve(struct drv *d, const char *name)
{
	SOCKET s = INVALID_SOCKET;
	if (!name)
		return INVALID_SOCKET;
	if (!strcmp(name, "bogus"))
		return wsph_upcalls_bogus_handle();
	lock(d);
	for (size_t i = d->n_names; i-- > 0 && s == INVALID_SOCKET;)
		if (!strcmp(d->names[i].name, name))
			s = d->names[i].s;
	unlock(d);
	return s;
}

static void bind_name(struct drv *d, const char *name, SOCKET s)
{
	if (!name)
		return;
	lock(d);
	size_t i = 0;
	while (i < d->n_names && strcmp(d->names[i].name, name))
		i++;
	if (i < MAX_NAMES) {
		d->names[i].name = name;
		d->names[i].s = s;
		d->n_names += i == d->n_names;
	}
	unlock(d);
}

static void make_addr(struct sockaddr_in *sin, const char *text)
{
	unsigned a = 0, b = 0, c = 0, e = 0, port = 0;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	if (text)
		sscanf(text, "%u.%u.%u.%u:%u", &a, &b, &c, &e, &port);
	unsigned char *p = (unsigned char *)&sin->sin_port;
	p[0] = (unsigned char)(port >> 8);
	p[1] = (unsigned char)port;
	unsigned char *ip = (unsigned char *)&sin->sin_addr;
	ip[0] = (unsigned char)a;
	ip[1] = (unsigned char)b;
	ip[2] = (unsigned char)c;
	ip[3] = (unsigned char)e;
}

/* Overlapped operations the driver started: the WSAOVERLAPPED, the WSATHREADID and the buffer stay
 * valid to the end of the scenario, whatever the provider does with them. */
struct pending {
	WSAOVERLAPPED ov;
	WSATHREADID tid;
	WSAEVENT event;
	int completion; /* WSPH_COMPLETION_* */
	const char *name;
	SOCKET s;
	enum wsph_fn fn;
	unsigned char *buf;
	size_t cap;
	int sending;
	int step;
	uint64_t call_seq;
	int failed;	  /* the call failed with an error other than WSA_IO_PENDING */
	int done;	  /* the completion was seen */
	int status_known; /* done, and the error below is what the provider reported */
	int routine_runs;
	int reaped; /* a step took the result */
	int silenced; /* pending when the final WSPCleanup began: no notification may come */
	DWORD error, bytes, flags;
};

static struct drv *current; /* the completion routine finds its operation through it */

static void CALLBACK completion_routine(DWORD error, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
	struct drv *d = current;
	char msg[256];
	if (d)
		lock(d);
	for (size_t i = 0; d && i < d->n_pending; i++) {
		struct pending *op = d->pending[i];
		if (&op->ov != ov)
			continue;
		op->routine_runs++;
		if (op->silenced) {
			snprintf(msg, sizeof msg,
				 "the completion routine of the overlapped %s of step %d ran after the "
				 "final WSPCleanup began; pending operations are cancelled without "
				 "invoking it",
				 wsph_fn_name(op->fn), op->step);
			rreport(d, "SPI.Cleanup.Silent", me.step, 0, msg);
		} else if (op->routine_runs > 1) {
			snprintf(msg, sizeof msg,
				 "the completion routine of the overlapped %s of step %d ran %d times; "
				 "an operation completes exactly once",
				 wsph_fn_name(op->fn), op->step, op->routine_runs);
			rreport(d, "WPU.QueueApc.OnlyWithRoutine", me.step, 0, msg);
		}
		if (bytes > op->cap) {
			snprintf(msg, sizeof msg,
				 "the completion routine of the overlapped %s of step %d got "
				 "cbTransferred %lu, more than the %zu byte(s) of its WSABUF",
				 wsph_fn_name(op->fn), op->step, (unsigned long)bytes, op->cap);
			rreport(d, "SPI.Transfer.WithinBuffers", me.step, 0, msg);
		}
		if (!op->done) {
			op->done = 1;
			op->status_known = 1;
			op->error = error;
			op->bytes = bytes;
			op->flags = flags;
		}
	}
	if (d)
		unlock(d);
}

/* Collects the result of a signalled or polled operation with WSPGetOverlappedResult(fWait FALSE).
 * Returns 1 when the operation is complete. */
static int collect(struct drv *d, struct pending *op)
{
	DWORD n = 0, fl = 0;
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	if (!fn_address(&d->procs.lpWSPGetOverlappedResult))
		return 0;
	call_begin(d, &call, WSPH_FN_WSPGETOVERLAPPEDRESULT, (uint64_t)op->s,
		   (uint64_t)(uintptr_t)&op->ov, 0, 0);
	BOOL ok = d->procs.lpWSPGetOverlappedResult(op->s, &op->ov, &n, FALSE, &fl, &err);
	call.a[2] = n;
	call_end(d, &call, &ret, ok, err, &d->procs.lpWSPGetOverlappedResult);
	if (!ok && err == WSA_IO_INCOMPLETE)
		return 0;
	op->done = 1;
	op->bytes = ok ? n : 0;
	op->flags = fl;
	op->error = ok ? 0 : (DWORD)err;
	/* A socket closed (or a provider cleaned up) since: the status is gone with it. */
	op->status_known = ok || (err != WSAENOTSOCK && err != WSANOTINITIALISED);
	return 1;
}

static int arrival_pending(const struct drv *d);

/* One slice of a wait: waits up to `ms` for what the wait is for; 1 once it came. */
typedef int (*wait_slice)(struct drv *d, void *ctx, unsigned ms);

/* How a wait ended: what it waited for came, its limit passed, or the process was still (nothing
 * can change any more: every thread blocked with no time limit on nothing ready, no event, no
 * arrival pending) after `ms`. */
enum waited { CAME, LIMIT, STILL };

/* Waits (in slices, up to `limit` ms of them) for what `slice` looks for, or until the process is
 * still (stall.h; never on a platform that cannot tell). */
static enum waited wait_until(struct drv *d, unsigned limit, wait_slice slice, void *ctx,
			      unsigned *ms)
{
	struct wsph_quiet q;
	wsph_quiet_reset(&q);
	for (unsigned waited = 0;; waited += WAIT_SLICE_MS) {
		*ms = waited;
		if (slice(d, ctx, WAIT_SLICE_MS))
			return CAME;
		if (waited >= limit)
			return LIMIT;
		if (wsph_quiet_sample(&q, wsph_trace_count(d->trace), arrival_pending(d),
				      QUIET_MS) == 1)
			return slice(d, ctx, 0) ? CAME : STILL;
	}
}

/* "within 300 ms", or why the wait ended sooner */
static const char *waited_text(enum waited w, unsigned limit, unsigned ms, char *buf, size_t len)
{
	if (w == STILL)
		snprintf(buf, len, "after %u ms: " WSPH_STALL_TEXT, ms);
	else
		snprintf(buf, len, "within %u ms", limit);
	return buf;
}

/* A slice of the wait for an operation's completion through the mechanism it chose: an alertable
 * wait for the routine, the event then WSPGetOverlappedResult, or polling WSPGetOverlappedResult. */
static int completion_slice(struct drv *d, void *ctx, unsigned ms)
{
	struct pending *op = ctx;
	wsph_upcalls_alertable();
	if (op->done)
		return 1;
	if (op->completion == WSPH_COMPLETION_ROUTINE) {
		if (ms)
			wsph_alertable_sleep(ms);
		wsph_upcalls_alertable();
		return op->done;
	}
	if (op->completion == WSPH_COMPLETION_EVENT)
		return wsph_plat_event_wait(op->event, ms) && collect(d, op);
	if (collect(d, op))
		return 1;
	if (ms)
		wsph_plat_sleep_ms(ms);
	return 0;
}

/* Waits (up to ms) for the operation's completion: CAME once it completed. */
static enum waited wait_completion(struct drv *d, struct pending *op, unsigned ms, unsigned *took)
{
	return wait_until(d, ms, completion_slice, op, took);
}

/* Once the result is taken the provider may no longer touch the WSAOVERLAPPED: poison it. */
static void poison_overlapped(struct pending *op)
{
	memset(&op->ov, 0xDD, offsetof(WSAOVERLAPPED, hEvent));
	op->ov.hEvent = (WSAEVENT)WSPH_POISON_EVENT;
}

static struct pending *find_op(struct drv *d, const char *name)
{
	struct pending *op = NULL;
	lock(d);
	for (size_t i = d->n_pending; name && !op && i-- > 0;)
		if (d->pending[i]->name && !strcmp(d->pending[i]->name, name))
			op = d->pending[i];
	unlock(d);
	return op;
}

/* Up to 48 bytes as C-escaped text ("ab\\x00c"), so a report stays readable and valid UTF-8. */
static const char *escaped(const unsigned char *p, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < n && i < 48 && o + 5 < len; i++) {
		unsigned char c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (n > 48 && o + 4 < len)
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o] = '\0';
	return buf;
}

static void report_data(struct drv *d, const struct wsph_step *st, uint64_t seq, enum wsph_fn fn,
			const unsigned char *buf, size_t cap, size_t count)
{
	char got[256], want[256];
	size_t shown = count < cap ? count : cap;
	if (count == st->data_len && shown == count && !memcmp(buf, st->data, st->data_len))
		return;
	report(d, st, seq, "%s received %lu byte(s) \"%s\"; the scenario expects %zu byte(s) \"%s\"",
	       wsph_fn_name(fn), (unsigned long)count, escaped(buf, shown, got, sizeof got),
	       st->data_len, escaped(st->data, st->data_len, want, sizeof want));
}

/* A NULL entry cannot be called; it was already reported when WSPStartup returned. */
static int usable(struct drv *d, const void *entry, const char *name)
{
	if (!d->have_procs) {
		/* The startup was refused (a step that accepted it, or a fault sweep's injected
		 * failure): the step's WSP call cannot happen, and says nothing about the provider. */
		unreached(d, NULL, me.step, "cannot call %s: no WSPStartup has succeeded in this "
			  "scenario", name);
		return 0;
	}
	if (!fn_address(entry)) {
		/* reported once, when WSPStartup returned (SPI.Startup.ProcTableComplete) */
		unreached(d, NULL, me.step, "cannot call %s: the provider left lp%s NULL in its "
			  "WSPPROC_TABLE", name, name);
		return 0;
	}
	return 1;
}

static void step_startup(struct drv *d, const struct wsph_step *st)
{
	struct wsph_event call, ret;
	WSPDATA data;
	WSPPROC_TABLE procs;
	memset(&data, 0xCD, sizeof data);
	memset(&procs, 0, sizeof procs);
	WSPUPCALLTABLE *buf = wsph_upcalls_table_buffer(st->table);
	if (!buf) {
		report(d, st, 0, "too many WSPStartup calls in one scenario");
		return;
	}
	/* The provider fills a buffer of its own that outlives the call (one that keeps the pointer
	 * writes into harness memory, never into the driver's stack); the driver calls through the
	 * copy taken when WSPStartup returned. */
	WSPPROC_TABLE *filled = wsph_proctables_next(d->tables, me.step);
	if (!filled) {
		report(d, st, 0, "out of memory");
		return;
	}
	WORD version = (WORD)st->version;
	call_fill(&call, WSPH_FN_WSPSTARTUP, version, 0, 0, 0);
	call.table = st->table;
	call_push(d, &call);
	int rc = d->startup(version, &data, &d->pi_stream, buf, filled);
	memcpy(&procs, filled, sizeof procs);
	wsph_proctables_returned(d->tables, filled);
	wsph_upcalls_poison(buf);
	void *entries[30];
	memcpy(entries, &procs, sizeof entries);
	uint64_t nulls = 0;
	for (int i = 0; i < 30; i++)
		if (!entries[i])
			nulls |= 1ull << i;
	int terminated = 0;
	for (int i = 0; i <= WSPDESCRIPTION_LEN; i++)
		if (data.szDescription[i] == 0)
			terminated = 1;
	int written = data.wVersion != 0xCDCD && data.wHighVersion != 0xCDCD;
	wsph_upcalls_leave();
	ret = call;
	ret.kind = WSPH_EV_RETURN;
	ret.parent = call.seq;
	ret.ret = rc;
	ret.a[1] = data.wVersion;
	ret.a[2] = data.wHighVersion;
	ret.a[3] = rc == 0 ? nulls : 0;
	ret.a[4] = (uint64_t)terminated;
	ret.a[5] = (uint64_t)written;
	wsph_plat_module_name_at(fn_address(&d->startup), ret.module, sizeof ret.module);
	ret.seq = wsph_trace_append(d->trace, &ret);
	if (rc == 0) {
		d->procs = procs;
		d->have_procs = 1;
		d->final_cleanup = 0;
	}
	wsph_upcalls_startup_done(st->table, rc == 0);
	radvance(d);
	expect(d, st, &ret, rc != 0, rc);
}

static void step_cleanup(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPCleanup, "WSPCleanup"))
		return;
	struct wsph_event call, ret;
	int err = WSPH_ERRNO_UNSET;
	lock(d);
	int before = wsph_rules_startups(d->rules);
	if (before == 1) {
		/* From here on, operations that were pending are cancelled without notification. */
		d->final_cleanup = 1;
		for (size_t i = 0; i < d->n_pending; i++)
			if (!d->pending[i]->done)
				d->pending[i]->silenced = 1;
	}
	unlock(d);
	call_begin(d, &call, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	int rc = d->procs.lpWSPCleanup(&err);
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPCleanup);
	if (before > 0)
		wsph_upcalls_cleanup_done(1);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
}

static void step_socket(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPSocket, "WSPSocket"))
		return;
	int dgram = st->sock_type == SOCK_DGRAM;
	int type = dgram ? SOCK_DGRAM : SOCK_STREAM, proto = dgram ? IPPROTO_UDP : IPPROTO_TCP;
	WSAPROTOCOL_INFOW *pi = dgram ? &d->pi_dgram : &d->pi_stream;
	struct wsph_event call, ret;
	int err = WSPH_ERRNO_UNSET;
	call_fill(&call, WSPH_FN_WSPSOCKET, AF_INET, (uint64_t)type, (uint64_t)proto,
		  pi->dwCatalogEntryId);
	call.a[4] = WSA_FLAG_OVERLAPPED;
	call_push(d, &call);
	SOCKET s = d->procs.lpWSPSocket(AF_INET, type, proto, pi, 0, WSA_FLAG_OVERLAPPED, &err);
	call_end(d, &call, &ret, s == INVALID_SOCKET ? -1 : (int64_t)s, err, &d->procs.lpWSPSocket);
	bind_name(d, st->as, s);
	expect(d, st, &ret, s == INVALID_SOCKET, err);
}

static int is_nonblocking(struct drv *d, SOCKET s)
{
	int found = 0;
	lock(d);
	for (size_t i = 0; i < d->n_nonblocking && !found; i++)
		found = d->nonblocking[i] == s;
	unlock(d);
	return found;
}

static void set_nonblocking(struct drv *d, SOCKET s)
{
	lock(d);
	if (!is_nonblocking(d, s) && d->n_nonblocking < MAX_NAMES)
		d->nonblocking[d->n_nonblocking++] = s;
	unlock(d);
}

static void step_accept(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPAccept, "WSPAccept"))
		return;
	SOCKET l = resolve(d, st->socket);
	struct sockaddr_in sin;
	int len = (int)sizeof sin;
	struct wsph_event call, ret;
	int err = WSPH_ERRNO_UNSET;
	memset(&sin, 0, sizeof sin);
	call_begin(d, &call, WSPH_FN_WSPACCEPT, (uint64_t)l, 0, 0, 0);
	SOCKET s = d->procs.lpWSPAccept(l, (struct sockaddr *)&sin, &len, NULL, 0, &err);
	call_end(d, &call, &ret, s == INVALID_SOCKET ? -1 : (int64_t)s, err, &d->procs.lpWSPAccept);
	bind_name(d, st->as, s);
	if (s != INVALID_SOCKET && is_nonblocking(d, l))
		set_nonblocking(d, s); /* the accepted socket has the listener's properties */
	expect(d, st, &ret, s == INVALID_SOCKET, err);
}

/* The WSPPROC_TABLE entry of a WSP function: the table holds the entries in the order of
 * enum wsph_fn after WSPStartup (fn.h), each one function pointer. */
_Static_assert(sizeof(WSPPROC_TABLE) ==
		       (WSPH_FN_WSPSTRINGTOADDRESS - WSPH_FN_WSPACCEPT + 1) * sizeof(LPWSPACCEPT),
	       "WSPPROC_TABLE is the WSP functions of fn.h after WSPStartup, in order");
static const void *proc_entry(const struct drv *d, enum wsph_fn fn)
{
	return (const char *)&d->procs + (size_t)(fn - WSPH_FN_WSPACCEPT) * sizeof(LPWSPACCEPT);
}

/* The WSP function a step calls (its row in steps.c). */
static enum wsph_fn step_fn(const struct wsph_step *st)
{
	return (enum wsph_fn)wsph_step_def(st->op)->fn;
}

/* bind, connect, listen, close, shutdown, getsockname, getpeername: one int result */
static void step_simple(struct drv *d, const struct wsph_step *st)
{
	SOCKET s = resolve(d, st->socket);
	struct sockaddr_in sin;
	int len = (int)sizeof sin;
	int err = WSPH_ERRNO_UNSET, rc = SOCKET_ERROR;
	struct wsph_event call, ret;
	enum wsph_fn fn = step_fn(st);
	const void *entry = proc_entry(d, fn);
	if (!usable(d, entry, wsph_fn_name(fn)))
		return;
	make_addr(&sin, st->addr);
	call_begin(d, &call, fn, (uint64_t)s,
		   st->op == WSPH_OP_LISTEN ? (uint64_t)st->backlog
		   : st->op == WSPH_OP_SHUTDOWN ? (uint64_t)st->how
		   : st->op == WSPH_OP_BIND || st->op == WSPH_OP_CONNECT
			   ? wsph_decode_pack_sockaddr(&sin, sizeof sin)
			   : 0, 0, 0);
	switch (st->op) {
	case WSPH_OP_BIND:
		rc = d->procs.lpWSPBind(s, (struct sockaddr *)&sin, (int)sizeof sin, &err);
		break;
	case WSPH_OP_CONNECT:
		rc = d->procs.lpWSPConnect(s, (struct sockaddr *)&sin, (int)sizeof sin, NULL, NULL,
					   NULL, NULL, &err);
		break;
	case WSPH_OP_LISTEN:
		rc = d->procs.lpWSPListen(s, st->backlog, &err);
		break;
	case WSPH_OP_CLOSE:
		rc = d->procs.lpWSPCloseSocket(s, &err);
		break;
	case WSPH_OP_SHUTDOWN:
		rc = d->procs.lpWSPShutdown(s, st->how, &err);
		break;
	case WSPH_OP_GETSOCKNAME:
		rc = d->procs.lpWSPGetSockName(s, (struct sockaddr *)&sin, &len, &err);
		break;
	default:
		rc = d->procs.lpWSPGetPeerName(s, (struct sockaddr *)&sin, &len, &err);
		break;
	}
	call_end(d, &call, &ret, rc, err, entry);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	lock(d);
	if (st->op == WSPH_OP_CLOSE && rc == 0 && d->n_closed < MAX_NAMES)
		d->closed[d->n_closed++] = s;
	unlock(d);
}

/* A transfer step's buffer and, when it is overlapped, its operation (kept until the scenario
 * ends: a provider may still write to either). Returns 0, or -1 after reporting why not. */
static int transfer_begin(struct drv *d, const struct wsph_step *st, enum wsph_fn fn, SOCKET s,
			  size_t cap, unsigned char **buf, struct pending **opp)
{
	int sending = fn == WSPH_FN_WSPSEND || fn == WSPH_FN_WSPSENDTO;
	struct pending *op = NULL;
	*buf = calloc(1, cap ? cap : 1);
	if (*buf && st->overlapped) {
		op = calloc(1, sizeof *op);
		lock(d);
		int room = op && d->n_pending < MAX_PENDING;
		if (room) {
			op->buf = *buf;
			op->silenced = d->final_cleanup;
			d->pending[d->n_pending++] = op;
		}
		unlock(d);
		if (!room) {
			free(op);
			free(*buf);
			report(d, st, 0, "too many overlapped operations in one scenario");
			return -1;
		}
	}
	if (!*buf) {
		report(d, st, 0, "out of memory");
		return -1;
	}
	if (sending && st->data_len)
		memcpy(*buf, st->data, st->data_len);
	*opp = op;
	if (!op)
		return 0;
	op->completion = st->completion;
	op->name = st->opname;
	op->s = s;
	op->fn = fn;
	op->cap = cap;
	op->sending = sending;
	op->step = me.step;
	if (st->completion == WSPH_COMPLETION_EVENT)
		op->ov.hEvent = op->event = wsph_upcalls_client_event();
	return 0;
}

/* The transfer's WSP call itself, with its CALL and RETURN events. */
static int transfer_call(struct drv *d, const struct wsph_step *st, enum wsph_fn fn, SOCKET s,
			 unsigned char *buf, size_t cap, struct pending *op, DWORD *count,
			 int *err, struct wsph_event *ret)
{
	WSABUF wb;
	wb.len = (ULONG)cap;
	wb.buf = (char *)buf;
	WSATHREADID stack_tid, *tid = op ? &op->tid : &stack_tid;
	wsph_upcalls_thread_id(tid);
	LPWSATHREADID tid_arg = op && st->no_thread_id ? NULL : tid;
	struct sockaddr_in sin;
	make_addr(&sin, st->addr);
	int fromlen = (int)sizeof sin, rc;
	DWORD flags = 0;
	struct wsph_event call;
	LPWSAOVERLAPPED ov = op ? &op->ov : NULL;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine =
		op && st->completion == WSPH_COMPLETION_ROUTINE ? completion_routine : NULL;
	/* a[2] (an output) carries the flags in the CALL: 1 overlapped, 2 lpThreadId given;
	 * a[3] lpOverlapped, a[4] lpCompletionRoutine, a[5] the overlapped hEvent. */
	call_fill(&call, fn, (uint64_t)s, cap, (op ? 1u : 0u) | (tid_arg ? 2u : 0u),
		  (uint64_t)(uintptr_t)ov);
	call.a[4] = (uint64_t)(uintptr_t)fn_address(&routine);
	call.a[5] = op ? (uint64_t)(uintptr_t)op->event : 0;
	call_push(d, &call);
	if (op)
		op->call_seq = call.seq;
	if (fn == WSPH_FN_WSPSEND)
		rc = d->procs.lpWSPSend(s, &wb, 1, count, 0, ov, routine, tid_arg, err);
	else if (fn == WSPH_FN_WSPSENDTO)
		rc = d->procs.lpWSPSendTo(s, &wb, 1, count, 0, (struct sockaddr *)&sin,
					  (int)sizeof sin, ov, routine, tid_arg, err);
	else if (fn == WSPH_FN_WSPRECV)
		rc = d->procs.lpWSPRecv(s, &wb, 1, count, &flags, ov, routine, tid_arg, err);
	else
		rc = d->procs.lpWSPRecvFrom(s, &wb, 1, count, &flags, (struct sockaddr *)&sin,
					    &fromlen, ov, routine, tid_arg, err);
	call.a[2] = *count;
	call_end(d, &call, ret, rc, *err, proc_entry(d, fn));
	/* The provider had to copy the WSATHREADID: from now on it names no thread. */
	if (op)
		wsph_upcalls_poison_thread_id(&op->tid);
	return rc;
}

/* An overlapped transfer no later step takes: waits for its completion. Returns 0 with its
 * result in *count and *rc, or -1 after reporting that it never came. */
static int transfer_reap(struct drv *d, const struct wsph_step *st, struct pending *op,
			 uint64_t seq, DWORD *count, int *rc)
{
	unsigned took;
	char w[96];
	enum waited how = wait_completion(d, op, WAIT_MS, &took);
	if (how != CAME) {
		report(d, st, seq,
		       "the overlapped %s was never completed (no completion routine ran, no event "
		       "was signalled %s)",
		       wsph_fn_name(op->fn), waited_text(how, WAIT_MS, took, w, sizeof w));
		return -1;
	}
	op->reaped = 1;
	if (op->status_known && op->error && st->expect == WSPH_EXPECT_OK)
		report(d, st, seq, "the overlapped %s completed with error %lu", wsph_fn_name(op->fn),
		       (unsigned long)op->error);
	if (op->bytes > op->cap)
		rreport(d, "SPI.Transfer.WithinBuffers", me.step, seq,
				  "the overlapped operation completed with more bytes than its "
				  "WSABUF holds");
	*count = op->bytes;
	*rc = op->error ? SOCKET_ERROR : 0;
	poison_overlapped(op);
	return 0;
}

/* The blocking hook may only be called while a blocking call cannot complete. */
static void hook_on_nonblocking(struct drv *d, SOCKET s, uint64_t seq,
				const struct wsph_blocking_stats *before)
{
	struct wsph_blocking_stats after;
	wsph_upcalls_blocking_stats(&after);
	if (after.calls > before->calls && is_nonblocking(d, s))
		rreport(d, "WPU.BlockingCallback.Contract", me.step, seq,
				  "the provider called the blocking hook during a call on a "
				  "nonblocking socket; it may only be called while a blocking call "
				  "cannot complete");
}

/* An overlapped call with a completion routine that completed at once: the routine "will have
 * already been queued" when it returned. */
static void immediate_routine(struct drv *d, struct pending *op, uint64_t seq)
{
	wsph_upcalls_alertable();
	if (!op->done)
		rreport(d, "WPU.QueueApc.ImmediateCompletion", me.step, seq,
				  "the overlapped call returned 0 (completed at once) but its "
				  "completion routine was not queued before it returned: the first "
				  "alertable wait after the return did not run it");
}

static void step_transfer(struct drv *d, const struct wsph_step *st)
{
	SOCKET s = resolve(d, st->socket);
	enum wsph_fn fn = step_fn(st);
	int sending = fn == WSPH_FN_WSPSEND || fn == WSPH_FN_WSPSENDTO;
	if (!usable(d, proc_entry(d, fn), wsph_fn_name(fn)))
		return;
	size_t cap = sending ? st->data_len : st->len;
	unsigned char *buf;
	struct pending *op;
	if (transfer_begin(d, st, fn, s, cap, &buf, &op))
		return;
	DWORD count = 0;
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event ret;
	struct wsph_blocking_stats before;
	wsph_upcalls_blocking_stats(&before);
	int rc = transfer_call(d, st, fn, s, buf, cap, op, &count, &err, &ret);
	hook_on_nonblocking(d, s, ret.seq, &before);
	int pending_ok = op && rc == SOCKET_ERROR && err == WSA_IO_PENDING;
	expect(d, st, &ret, rc == SOCKET_ERROR && !pending_ok, err);
	if (op && rc == SOCKET_ERROR && !pending_ok) {
		op->failed = 1;
		return;
	}
	if (op && rc == 0 && op->completion == WSPH_COMPLETION_ROUTINE)
		immediate_routine(d, op, ret.seq);
	if (op && op->name)
		return; /* left pending: a later complete/getoverlappedresult step takes it */
	if (op && transfer_reap(d, st, op, ret.seq, &count, &rc))
		return;
	if (!sending && rc == 0 && st->has_data)
		report_data(d, st, ret.seq, fn, buf, cap, count);
	if (!op)
		free(buf);
}

static void step_sockopt(struct drv *d, const struct wsph_step *st)
{
	SOCKET s = resolve(d, st->socket);
	enum wsph_fn fn = step_fn(st);
	int get = fn == WSPH_FN_WSPGETSOCKOPT;
	const void *entry = proc_entry(d, fn);
	if (!usable(d, entry, wsph_fn_name(fn)))
		return;
	int val = get ? 0 : (int)st->value, len = (int)sizeof val;
	int err = WSPH_ERRNO_UNSET, rc;
	struct wsph_event call, ret;
	call_begin(d, &call, fn, (uint64_t)s, (uint64_t)(unsigned)st->level,
		   (uint64_t)(unsigned)st->option, (uint64_t)(int64_t)val);
	if (get)
		rc = d->procs.lpWSPGetSockOpt(s, st->level, st->option, (char *)&val, &len, &err);
	else
		rc = d->procs.lpWSPSetSockOpt(s, st->level, st->option, (const char *)&val,
					      (int)sizeof val, &err);
	call.a[3] = (uint64_t)(int64_t)val;
	call_end(d, &call, &ret, rc, err, entry);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (get && rc == 0 && st->has_value && val != (int)st->value)
		report(d, st, ret.seq,
		       "WSPGetSockOpt(optname=0x%x) returned the value %d; the scenario expects %ld",
		       (unsigned)st->option, val, st->value);
}

static void step_ioctl(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPIoctl, "WSPIoctl"))
		return;
	SOCKET s = resolve(d, st->socket);
	u_long in = (u_long)st->value, out = 0;
	DWORD bytes = 0;
	WSATHREADID tid;
	wsph_upcalls_thread_id(&tid);
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPIOCTL, (uint64_t)s, (uint64_t)(DWORD)st->command,
		   (uint64_t)in, 0);
	int rc = d->procs.lpWSPIoctl(s, (DWORD)st->command, &in, (DWORD)sizeof in, &out,
				     (DWORD)sizeof out, &bytes, NULL, NULL, &tid, &err);
	call.a[3] = out;
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPIoctl);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (rc == 0 && (DWORD)st->command == (DWORD)FIONBIO && in)
		set_nonblocking(d, s);
	if (rc == 0 && st->has_result && (long)out != st->result)
		report(d, st, ret.seq, "WSPIoctl(0x%lx) returned %lu; the scenario expects %ld",
		       st->command, (unsigned long)out, st->result);
}

static void step_asyncselect(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPAsyncSelect, "WSPAsyncSelect"))
		return;
	SOCKET s = resolve(d, st->socket);
	HWND w = wsph_upcalls_window();
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPASYNCSELECT, (uint64_t)s, (uint64_t)(uintptr_t)w,
		   st->command, (uint64_t)st->value);
	int rc = d->procs.lpWSPAsyncSelect(s, w, (unsigned)st->command, (LONG)st->value, &err);
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPAsyncSelect);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (rc == 0)
		set_nonblocking(d, s);
	d->async_registered |= rc == 0;
}

static WSAEVENT event_named_locked(struct drv *d, const char *name, int create)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < d->n_events; i++)
		if (!strcmp(d->events[i].name, name))
			return d->events[i].ev;
	if (!create || d->n_events == MAX_EVENTS)
		return NULL;
	WSAEVENT e = wsph_upcalls_client_event();
	if (e) {
		d->events[d->n_events].name = name;
		d->events[d->n_events].ev = e;
		d->n_events++;
	}
	return e;
}

static WSAEVENT event_named(struct drv *d, const char *name, int create)
{
	lock(d);
	WSAEVENT e = event_named_locked(d, name, create);
	unlock(d);
	return e;
}

static void step_eventselect(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPEventSelect, "WSPEventSelect"))
		return;
	SOCKET s = resolve(d, st->socket);
	WSAEVENT e = event_named(d, st->event, 1);
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPEVENTSELECT, (uint64_t)s, (uint64_t)(uintptr_t)e,
		   (uint64_t)st->value, 0);
	int rc = d->procs.lpWSPEventSelect(s, e, (LONG)st->value, &err);
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPEventSelect);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (rc == 0) {
		set_nonblocking(d, s);
		lock(d);
		for (size_t i = 0; i < d->n_events; i++)
			if (d->events[i].ev == e)
				d->events[i].registered = 1;
		unlock(d);
	}
}

static void step_enumnetworkevents(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPEnumNetworkEvents, "WSPEnumNetworkEvents"))
		return;
	SOCKET s = resolve(d, st->socket);
	WSAEVENT e = event_named(d, st->event, 0);
	WSANETWORKEVENTS ne;
	memset(&ne, 0xCD, sizeof ne);
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPENUMNETWORKEVENTS, (uint64_t)s, (uint64_t)(uintptr_t)e, 0,
		   0);
	int rc = d->procs.lpWSPEnumNetworkEvents(s, e, &ne, &err);
	call.a[2] = rc == 0 ? (uint64_t)(uint32_t)ne.lNetworkEvents : 0;
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPEnumNetworkEvents);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (rc == 0 && st->has_value && ne.lNetworkEvents != (LONG)st->value)
		report(d, st, ret.seq,
		       "WSPEnumNetworkEvents reported the network events 0x%lx; the scenario "
		       "expects 0x%lx",
		       (unsigned long)(uint32_t)ne.lNetworkEvents, (unsigned long)st->value);
}

static int in_set(const fd_set *set, SOCKET s)
{
	for (u_int i = 0; i < set->fd_count && i < FD_SETSIZE; i++)
		if (set->fd_array[i] == s)
			return 1;
	return 0;
}

/* The sockets of WSPSelect's sets in the event's text (decode.h): the sets given, and with `out`
 * the sets the call returned after them. */
static void record_sets(struct wsph_event *ev, fd_set *const args[3], int out)
{
	uint64_t socks[3][FD_SETSIZE];
	const uint64_t *sets[3];
	size_t n[3];
	for (int i = 0; i < 3; i++) {
		n[i] = 0;
		sets[i] = args[i] ? socks[i] : NULL;
		for (u_int k = 0; args[i] && k < args[i]->fd_count && k < FD_SETSIZE; k++)
			socks[i][n[i]++] = (uint64_t)args[i]->fd_array[k];
	}
	wsph_decode_sets_record(ev->text, sizeof ev->text, sets, n, out);
}

static void step_select(struct drv *d, const struct wsph_step *st)
{
	static const char *const set_names[3] = {"readfds", "writefds", "exceptfds"};
	if (!usable(d, &d->procs.lpWSPSelect, "WSPSelect"))
		return;
	fd_set sets[3], input[3];
	fd_set *args[3];
	for (int i = 0; i < 3; i++) {
		memset(&sets[i], 0, sizeof sets[i]);
		for (size_t k = 0; k < st->n_sets[i] && k < FD_SETSIZE; k++)
			sets[i].fd_array[sets[i].fd_count++] = resolve(d, st->sets[i][k]);
		input[i] = sets[i];
		args[i] = st->has_set[i] ? &sets[i] : NULL;
	}
	TIMEVAL tv;
	tv.tv_sec = st->timeout_ms > 0 ? st->timeout_ms / 1000 : 0;
	tv.tv_usec = st->timeout_ms > 0 ? (st->timeout_ms % 1000) * 1000 : 0;
	struct wsph_blocking_stats before, after;
	wsph_upcalls_blocking_stats(&before);
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_fill(&call, WSPH_FN_WSPSELECT, 0, (uint64_t)(uintptr_t)args[0],
		  (uint64_t)(uintptr_t)args[1], (uint64_t)(uintptr_t)args[2]);
	record_sets(&call, args, 0);
	call_push(d, &call);
	int rc = d->procs.lpWSPSelect(0, args[0], args[1], args[2],
				      st->timeout_ms < 0 ? NULL : &tv, &err);
	if (rc != SOCKET_ERROR)
		record_sets(&call, args, 1);
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPSelect);
	wsph_upcalls_blocking_stats(&after);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (st->timeout_ms == 0 && after.calls > before.calls)
		rreport(d, "WPU.BlockingCallback.Contract", me.step, ret.seq,
				  "the provider called the blocking hook during a WSPSelect with a "
				  "{0,0} timeout, which never blocks");
	if (rc == SOCKET_ERROR)
		return;
	/* What came back must be a subset of what went in, counted by the return value. */
	u_int total = 0;
	for (int i = 0; i < 3; i++) {
		if (!args[i])
			continue;
		if (sets[i].fd_count > FD_SETSIZE) {
			report(d, st, ret.seq, "WSPSelect left fd_count %u in %s", sets[i].fd_count,
			       set_names[i]);
			return;
		}
		total += sets[i].fd_count;
		for (u_int k = 0; k < sets[i].fd_count; k++)
			if (!in_set(&input[i], sets[i].fd_array[k])) {
				char msg[256];
				snprintf(msg, sizeof msg,
					 "WSPSelect returned socket 0x%llx in %s, which the client did "
					 "not put in that set",
					 (unsigned long long)sets[i].fd_array[k], set_names[i]);
				rreport(d, "WPU.FDIsSet.PureQuery", me.step, ret.seq,
						  msg);
			}
	}
	if ((u_int)rc != total) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "WSPSelect returned %d but its output sets hold %u socket(s); the return "
			 "value is the total membership of the sets",
			 rc, total);
		rreport(d, "WPU.FDIsSet.PureQuery", me.step, ret.seq, msg);
	}
	for (int i = 0; i < 2; i++) {
		if (!st->has_ready[i])
			continue;
		int same = args[i] ? sets[i].fd_count == st->n_ready[i] : st->n_ready[i] == 0;
		for (size_t k = 0; same && k < st->n_ready[i]; k++)
			same = in_set(&sets[i], resolve(d, st->ready[i][k]));
		if (!same)
			report(d, st, ret.seq,
			       "WSPSelect reported %u socket(s) %s; the scenario expects %zu (%s)",
			       args[i] ? sets[i].fd_count : 0, i ? "writable" : "readable",
			       st->n_ready[i], st->n_ready[i] ? st->ready[i][0] : "none");
	}
}

static const char *event_bits(long mask, char *buf, size_t len)
{
	static const char *const names[] = {"FD_READ",	  "FD_WRITE", "FD_OOB",
					    "FD_ACCEPT", "FD_CONNECT", "FD_CLOSE"};
	size_t pos = 0;
	buf[0] = '\0';
	for (int i = 0; i < 10 && pos < len; i++)
		if (mask & (1L << i))
			pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? "|" : "",
						i < 6 ? names[i] : "FD_?");
	if (!pos)
		snprintf(buf, len, "none");
	return buf;
}

/* What a waitmessage step has seen so far. */
struct msg_wait {
	const struct wsph_step *st;
	SOCKET s;
	long want, got;
};

/* Takes the messages posted for the socket (each judged as it comes); 1 once all wanted came. */
static int message_slice(struct drv *d, void *ctx, unsigned ms)
{
	struct msg_wait *w = ctx;
	const struct wsph_step *st = w->st;
	int none = st->expect == WSPH_EXPECT_NONE;
	struct wsph_message m;
	char a[128];
	if (wsph_upcalls_pump_window(&m)) {
		snprintf(a, sizeof a,
			 "the harness window received Msg 0x%x (wParam 0x%llx), which was not posted "
			 "through WPUPostMessage",
			 m.msg, (unsigned long long)m.wparam);
		rreport(d, "WPU.PostMessage.Mandatory", me.step, 0, a);
	}
	while (wsph_upcalls_take_message((uint64_t)w->s, 0, &m)) {
		WORD ev = WSAGETSELECTEVENT(m.lparam), e = WSAGETSELECTERROR(m.lparam);
		if (none)
			report(d, st, m.seq,
			       "a message for socket 0x%llx arrived (%s); the scenario expects none",
			       (unsigned long long)w->s, event_bits(ev, a, sizeof a));
		else if (m.msg != (unsigned)st->command)
			report(d, st, m.seq,
			       "a message for socket 0x%llx came with Msg 0x%x; the scenario "
			       "registered 0x%lx",
			       (unsigned long long)w->s, m.msg, st->command);
		else if ((ev & w->want) && e != (WORD)st->msg_error)
			report(d, st, m.seq,
			       "the %s message for socket 0x%llx carries error %u; the scenario "
			       "expects %d",
			       event_bits(ev, a, sizeof a), (unsigned long long)w->s, e,
			       st->msg_error);
		if (!none)
			w->got |= ev;
	}
	if (!none && (w->got & w->want) == w->want)
		return 1;
	wsph_upcalls_alertable();
	if (ms)
		wsph_plat_sleep_ms(ms);
	return 0;
}

static void step_waitmessage(struct drv *d, const struct wsph_step *st)
{
	if (!d->async_registered) {
		unreached(d, NULL, me.step, "no WSPAsyncSelect has succeeded in this scenario");
		return;
	}
	int none = st->expect == WSPH_EXPECT_NONE;
	struct msg_wait w = {st, resolve(d, st->socket), none ? 0 : st->value, 0};
	unsigned took;
	char a[128], b[128], t[96];
	enum waited how = wait_until(d, none ? NONE_WAIT_MS : WAIT_MS, message_slice, &w, &took);
	if (!none && how != CAME)
		report(d, st, 0, "the harness window did not receive %s for socket 0x%llx %s "
		       "(received: %s)",
		       event_bits(w.want & ~w.got, a, sizeof a), (unsigned long long)w.s,
		       waited_text(how, WAIT_MS, took, t, sizeof t), event_bits(w.got, b, sizeof b));
}

static int event_registered(struct drv *d, const char *name)
{
	int registered = 0;
	lock(d);
	for (size_t i = 0; name && i < d->n_events; i++)
		if (!strcmp(d->events[i].name, name))
			registered = d->events[i].registered;
	unlock(d);
	return registered;
}

static int event_slice(struct drv *d, void *ctx, unsigned ms)
{
	(void)d;
	return wsph_plat_event_wait(ctx, ms);
}

/* APCs: 1 once one ran (ctx NULL) or once the operation's routine ran (ctx an operation). */
static int apc_slice(struct drv *d, void *ctx, unsigned ms)
{
	(void)d;
	int ran = wsph_upcalls_alertable_wait(ms);
	return ctx ? ((struct pending *)ctx)->routine_runs > 0 : ran > 0;
}

static void step_waitevent(struct drv *d, const struct wsph_step *st)
{
	if (!event_registered(d, st->event)) {
		unreached(d, NULL, me.step, "event '%s' was never registered (no WSPEventSelect "
			  "with it succeeded)", st->event ? st->event : "?");
		return;
	}
	WSAEVENT e = event_named(d, st->event, 0);
	int none = st->expect == WSPH_EXPECT_NONE;
	unsigned took;
	char w[96];
	enum waited how = e ? wait_until(d, none ? NONE_WAIT_MS : WAIT_MS, event_slice, e, &took)
			    : LIMIT;
	if (none && how == CAME)
		report(d, st, 0, "event '%s' was signalled; the scenario expects it not to be",
		       st->event);
	else if (!none && how != CAME)
		report(d, st, 0, "event '%s' was not signalled %s", st->event,
		       waited_text(how, WAIT_MS, e ? took : 0, w, sizeof w));
}

static void step_complete(struct drv *d, const struct wsph_step *st)
{
	struct pending *op = find_op(d, st->opname);
	char e[64], x[64];
	if (!op || op->failed) {
		unreached(d, NULL, me.step, "operation '%s' was never started (its call failed)",
			  st->opname);
		return;
	}
	if (op->reaped) {
		report(d, st, 0, "the result of operation '%s' was already taken", st->opname);
		return;
	}
	if (st->expect == WSPH_EXPECT_NONE) {
		/* Nothing may arrive: a routine must not run, an event must stay unsignalled. */
		unsigned took;
		if (op->completion == WSPH_COMPLETION_ROUTINE) {
			wait_until(d, NONE_WAIT_MS, apc_slice, op, &took);
			if (op->routine_runs)
				report(d, st, op->call_seq,
				       "the completion routine of operation '%s' ran; the scenario "
				       "expects no notification",
				       st->opname);
		} else if (op->completion == WSPH_COMPLETION_EVENT &&
			   wait_until(d, NONE_WAIT_MS, event_slice, op->event, &took) == CAME) {
			report(d, st, op->call_seq,
			       "the event of operation '%s' was signalled; the scenario expects no "
			       "notification",
			       st->opname);
		}
		return;
	}
	unsigned took;
	char w[96];
	enum waited how = wait_completion(d, op, WAIT_MS, &took);
	if (how != CAME) {
		report(d, st, op->call_seq,
		       "operation '%s' (the overlapped %s of step %d) did not complete %s",
		       st->opname, wsph_fn_name(op->fn), op->step,
		       waited_text(how, WAIT_MS, took, w, sizeof w));
		return;
	}
	op->reaped = 1;
	if (op->status_known) {
		int code = (int)op->error;
		if (st->expect == WSPH_EXPECT_OK && code)
			report(d, st, op->call_seq,
			       "operation '%s' completed with %s; the scenario expects success",
			       st->opname, wsph_error_format(code, e, sizeof e));
		else if (st->expect == WSPH_EXPECT_FAILURE && !code)
			report(d, st, op->call_seq,
			       "operation '%s' completed successfully; the scenario expects it to "
			       "fail",
			       st->opname);
		else if (st->expect > 0 && code != st->expect)
			report(d, st, op->call_seq,
			       "operation '%s' completed with %s; the scenario expects %s",
			       st->opname, code ? wsph_error_format(code, e, sizeof e) : "success",
			       wsph_error_format(st->expect, x, sizeof x));
	}
	if (op->bytes > op->cap)
		rreport(d, "SPI.Transfer.WithinBuffers", me.step, op->call_seq,
				  "the overlapped operation completed with more bytes than its "
				  "WSABUF holds");
	if (!op->sending && op->status_known && !op->error && st->has_data)
		report_data(d, st, op->call_seq, op->fn, op->buf, op->cap, op->bytes);
	poison_overlapped(op);
}

static void step_getoverlappedresult(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPGetOverlappedResult, "WSPGetOverlappedResult"))
		return;
	struct pending *op = find_op(d, st->opname);
	if (!op || op->failed) {
		unreached(d, NULL, me.step, "operation '%s' was never started (its call failed)",
			  st->opname);
		return;
	}
	if (op->reaped) {
		report(d, st, 0, "operation '%s' has no result to take", st->opname);
		return;
	}
	DWORD n = 0, fl = 0;
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPGETOVERLAPPEDRESULT, (uint64_t)op->s,
		   (uint64_t)(uintptr_t)&op->ov, 0, (uint64_t)st->wait);
	BOOL ok = d->procs.lpWSPGetOverlappedResult(op->s, &op->ov, &n, st->wait ? TRUE : FALSE,
						    &fl, &err);
	call.a[2] = n;
	call_end(d, &call, &ret, ok, err, &d->procs.lpWSPGetOverlappedResult);
	expect(d, st, &ret, !ok, err);
	if (!ok && err == WSA_IO_INCOMPLETE)
		return;
	op->done = op->reaped = op->status_known = 1;
	op->bytes = ok ? n : 0;
	op->error = ok ? 0 : (DWORD)err;
	if (ok && n > op->cap)
		rreport(d, "SPI.Transfer.WithinBuffers", me.step, ret.seq,
				  "WSPGetOverlappedResult reported more bytes than the operation's "
				  "WSABUF holds");
	if (ok && !op->sending && st->has_data)
		report_data(d, st, ret.seq, op->fn, op->buf, op->cap, n);
	poison_overlapped(op);
}

/* ---- the helper thread: data arriving from a peer while the driver blocks ---- */

struct arrival {
	struct drv *d;
	SOCKET s;
	const unsigned char *data;
	size_t len;
	int step;	  /* the arrive step; the data goes out during the next one */
	unsigned queried; /* WPUQueryBlockingCallback calls when it started */
	unsigned calls_done; /* the driver's returned calls when it started */
	struct wsph_thread *t;
	int finished; /* atomic: its WSPSend returned (or it never made one) */
};

/* Records a call made on the helper thread: no frame on the driver's stack, no rule advance (the
 * driver thread advances the engine). */
static int arrival_send(struct arrival *a);

static int arrival_main(void *ctx)
{
	struct arrival *a = ctx;
	int rc = arrival_send(a);
	wsph_atomic_store_int(&a->finished, 1);
	return rc;
}

static int arrival_pending(const struct drv *d)
{
	return d->arrival && !wsph_atomic_load_int(&d->arrival->finished);
}

static int arrival_send(struct arrival *a)
{
	struct drv *d = a->d;
	/* With a hook that ends the call (FALSE, cancel) the data must not race the hook: it goes
	 * out once the next call has returned, or after a long bound for a provider that never asks
	 * the hook and would block for good. Otherwise it goes once the provider asked for the hook
	 * (it is about to block), or once the next step has been inside its call for a while, or
	 * after a bound. Either way the verdict on a conforming provider does not depend on when. */
	int after_return = d->sc->blocking == WSPH_BLOCKING_FALSE ||
			   d->sc->blocking == WSPH_BLOCKING_CANCEL;
	unsigned busy_ms = 0, limit = after_return ? 1000 : 300;
	for (unsigned waited = 0; waited < limit; waited += 2) {
		struct wsph_blocking_stats hs;
		int step = 0;
		unsigned done = 0;
		wsph_upcalls_blocking_stats(&hs);
		int busy = wsph_upcalls_driver_busy(&step, &done);
		if (after_return) {
			if (done > a->calls_done)
				break;
		} else {
			if (hs.queried > a->queried)
				break;
			if (busy && step > a->step)
				busy_ms += 2;
			if (busy_ms >= 30)
				break;
		}
		wsph_plat_sleep_ms(2);
	}
	WSABUF wb;
	wb.len = (ULONG)a->len;
	wb.buf = (char *)(uintptr_t)a->data;
	DWORD sent = 0;
	int err = WSPH_ERRNO_UNSET;
	WSATHREADID tid;
	wsph_upcalls_thread_id(&tid);
	struct wsph_event call, ret;
	memset(&call, 0, sizeof call);
	call.kind = WSPH_EV_CALL;
	call.fn = WSPH_FN_WSPSEND;
	call.step = a->step;
	call.a[0] = (uint64_t)a->s;
	call.a[1] = a->len;
	call.err = WSPH_ERRNO_UNSET;
	snprintf(call.module, sizeof call.module, "wspharness");
	call.seq = wsph_trace_append(d->trace, &call);
	int rc = d->procs.lpWSPSend(a->s, &wb, 1, &sent, 0, NULL, NULL, &tid, &err);
	ret = call;
	ret.kind = WSPH_EV_RETURN;
	ret.parent = call.seq;
	ret.a[2] = sent;
	ret.ret = rc;
	ret.err = err;
	wsph_plat_module_name_at(fn_address(&d->procs.lpWSPSend), ret.module, sizeof ret.module);
	ret.seq = wsph_trace_append(d->trace, &ret);
	/* any return but SOCKET_ERROR sent the data (one other than 0 is SPI.Return.Domain's) */
	return rc == SOCKET_ERROR ? (err ? err : WSAEINVAL) : 0;
}

static void join_arrival(struct drv *d)
{
	struct arrival *a = d->arrival;
	if (!a)
		return;
	d->arrival = NULL;
	int rc = wsph_thread_join(a->t);
	if (rc) {
		char e[64];
		const struct wsph_step *st = &d->sc->steps[a->step - 1];
		report(d, st, 0, "the data of the arrive step could not be sent (WSPSend: %s)",
		       wsph_error_format(rc, e, sizeof e));
	}
	free(a);
}

static void step_arrive(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPSend, "WSPSend"))
		return;
	join_arrival(d);
	struct arrival *a = calloc(1, sizeof *a);
	if (!a) {
		report(d, st, 0, "out of memory");
		return;
	}
	struct wsph_blocking_stats hs;
	wsph_upcalls_blocking_stats(&hs);
	a->d = d;
	a->s = resolve(d, st->socket);
	a->data = st->data;
	a->len = st->data_len;
	a->step = me.step;
	a->queried = hs.queried;
	wsph_upcalls_driver_busy(NULL, &a->calls_done);
	a->t = wsph_thread_start(arrival_main, a);
	if (!a->t) {
		free(a);
		report(d, st, 0, "cannot start the harness's helper thread");
		return;
	}
	d->arrival = a;
}

/* WSPCancelBlockingCall, from the step or from the blocking hook (nested in the blocked call). */
static int cancel_blocking_call(struct drv *d, int *err, uint64_t *seq)
{
	struct wsph_event call, ret;
	*err = WSPH_ERRNO_UNSET;
	call_begin(d, &call, WSPH_FN_WSPCANCELBLOCKINGCALL, 0, 0, 0, 0);
	int rc = d->procs.lpWSPCancelBlockingCall(err);
	call_end(d, &call, &ret, rc, *err, &d->procs.lpWSPCancelBlockingCall);
	*seq = ret.seq;
	return rc;
}

static void hook_cancel(void *ctx)
{
	struct drv *d = ctx;
	int err;
	uint64_t seq;
	if (d->have_procs && fn_address(&d->procs.lpWSPCancelBlockingCall))
		cancel_blocking_call(d, &err, &seq);
}

static void step_cancelblockingcall(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, &d->procs.lpWSPCancelBlockingCall, "WSPCancelBlockingCall"))
		return;
	int err;
	uint64_t seq;
	int rc = cancel_blocking_call(d, &err, &seq);
	struct wsph_event ret;
	if (wsph_trace_get(d->trace, (size_t)seq - 1, &ret) == 0)
		expect(d, st, &ret, rc == SOCKET_ERROR, err);
}

/* After each step: what the blocking hook saw that breaks its contract. */
static void check_hook(struct drv *d, struct wsph_blocking_stats *seen)
{
	struct wsph_blocking_stats now;
	wsph_upcalls_blocking_stats(&now);
	if (now.bad_context > seen->bad_context)
		rreport(d, "WPU.BlockingCallback.Contract", me.step, 0,
				  "the provider called the blocking hook with a context other "
				  "than the one WPUQueryBlockingCallback returned");
	if (now.outside_call > seen->outside_call)
		rreport(d, "WPU.BlockingCallback.Contract", me.step, 0,
				  "the provider called the blocking hook while no blocking call "
				  "was in progress in the client's thread");
	if (now.after_stop > seen->after_stop && d->sc->blocking == WSPH_BLOCKING_FALSE)
		rreport(d, "WPU.BlockingCallback.Contract", me.step, 0,
				  "the blocking hook returned FALSE but the provider went on "
				  "waiting (and called it again); the call must fail with WSAEINTR");
	if (now.after_stop >= 50 && seen->after_stop < 50)
		rreport(d, "WPU.BlockingCallback.Contract", me.step, 0,
				  "the blocking hook called WSPCancelBlockingCall but the provider "
				  "went on waiting; a cancelled call fails with WSAEINTR");
	*seen = now;
}

static void step_alertable(struct drv *d, const struct wsph_step *st)
{
	unsigned took;
	(void)st;
	wait_until(d, NONE_WAIT_MS, apc_slice, NULL, &took);
}

/* ---- threads: a parallel block ---- */

static void play_step(struct drv *d, const struct wsph_scenario *sc, size_t i,
		      struct wsph_blocking_stats *hook_seen);
static void stop_after(struct drv *d, const struct wsph_step *st);
static void play_teardown(struct drv *d, size_t from, size_t to,
			  struct wsph_blocking_stats *hook_seen);

/* One repetition of a parallel block: its barriers, its threads. */
struct block {
	struct drv *d;
	const struct wsph_step *head;
	unsigned repetition;
	struct wsph_barrier **barriers;
	struct block_thread *threads;
};

struct block_thread {
	struct block *b;
	unsigned index;
	struct wsph_thread *th;
	/* what another thread's `blocked` step reads (atomics) */
	uint64_t tid;	 /* its thread id, 0 until it runs */
	uint64_t calls;	 /* WSP calls it began */
	uint64_t in_call; /* WSP calls of its own in progress */
	uint64_t ended;	 /* its steps ended */
};

static void watched_call(int delta)
{
	if (!me.bt)
		return;
	if (delta > 0)
		wsph_atomic_add_u64(&me.bt->calls, 1);
	wsph_atomic_add_u64(&me.bt->in_call, (uint64_t)(int64_t)delta);
}

static void break_barriers(struct block *b)
{
	for (size_t i = 0; i < b->head->par->n_barriers; i++)
		if (b->barriers[i])
			wsph_barrier_break(b->barriers[i]);
}

/* A thread of the block: its start offset (stress.h), then its steps until they end or the
 * scenario stops; a thread that stops breaks the barriers (no other thread waits for it). */
static int block_thread_main(void *ctx)
{
	struct block_thread *bt = ctx;
	struct block *b = bt->b;
	struct drv *d = b->d;
	const struct wsph_thread_steps *ts = &b->head->par->threads[bt->index];
	struct wsph_blocking_stats hook_seen;
	memset(&me, 0, sizeof me);
	me.bt = bt;
	wsph_atomic_store_u64(&bt->tid, wsph_plat_thread_id());
	wsph_upcalls_driver_thread((int)ts->first + 1);
	wsph_upcalls_blocking_stats(&hook_seen);
	for (unsigned k = wsph_stress_offset(d->sc->stress_seed, b->repetition, bt->index); k; k--)
		wsph_thread_yield();
	size_t j = 0;
	for (; j < ts->n_steps && !wsph_atomic_load_int(&d->stop_req); j++)
		play_step(d, d->sc, ts->first + j, &hook_seen);
	if (j < ts->n_steps) {
		break_barriers(b);
		play_teardown(d, ts->first + j, ts->first + ts->n_steps, &hook_seen);
	}
	wsph_atomic_store_u64(&bt->ended, 1);
	me.bt = NULL;
	return 0;
}

/* Starts the block's threads together and waits until every one has ended. -1 when one could
 * not be started (reported; the scenario stops). */
static int run_block(struct drv *d, const struct wsph_step *st, struct block *b)
{
	const struct wsph_parallel *par = st->par;
	struct block_thread bt[WSPH_MAX_THREADS];
	size_t started = 0;
	int ok = 1;
	for (size_t i = 0; i < par->n_barriers && ok; i++)
		ok = (b->barriers[i] = wsph_barrier_new(par->parties[i])) != NULL;
	memset(bt, 0, sizeof bt);
	b->threads = bt;
	d->block = b;
	for (; ok && started < par->n_threads; started++) {
		bt[started].b = b;
		bt[started].index = (unsigned)started;
		bt[started].th = wsph_thread_start(block_thread_main, &bt[started]);
		if (!bt[started].th)
			break;
	}
	if (started < par->n_threads) {
		ok = 0;
		report(d, st, 0, "cannot start the threads of the parallel block");
		stop_after(d, st);
		break_barriers(b);
	}
	for (size_t i = 0; i < started; i++)
		wsph_thread_join(bt[i].th);
	d->block = NULL;
	b->threads = NULL;
	for (size_t i = 0; i < par->n_barriers; i++)
		wsph_barrier_free(b->barriers[i]);
	return ok ? 0 : -1;
}

static void step_parallel(struct drv *d, const struct wsph_step *st)
{
	const struct wsph_parallel *par = st->par;
	struct wsph_barrier **barriers = calloc(par->n_barriers + 1, sizeof *barriers);
	if (!barriers) {
		report(d, st, 0, "out of memory");
		return;
	}
	for (unsigned r = 0; r < par->repeat && !wsph_atomic_load_int(&d->stop_req); r++) {
		struct block b = {d, st, r, barriers, NULL};
		memset(barriers, 0, (par->n_barriers + 1) * sizeof *barriers);
		if (run_block(d, st, &b))
			break;
	}
	free(barriers);
	wsph_upcalls_set_step(me.step); /* the main thread's again */
}

static void step_barrier(struct drv *d, const struct wsph_step *st)
{
	struct block *b = d->block;
	if (b && b->barriers[st->barrier_index])
		wsph_barrier_wait(b->barriers[st->barrier_index]);
}

/*
 * blocked: waits until the thread named is blocked inside a WSP call of its step: the platform
 * sees it waiting there twice in a row (where it cannot tell, on Windows, once the same call has
 * lasted BLOCKED_GUESS_MS), or its steps ended, or BLOCKED_MAX_MS passed (a thread that never
 * blocks: the step only lines the threads up, it judges nothing).
 */
#define BLOCKED_GUESS_MS 100u
#define BLOCKED_MAX_MS 2000u

static int blocked_now(struct block_thread *t, uint64_t *seen, uint64_t *since, unsigned *streak)
{
	uint64_t now = wsph_plat_now_ns(), calls = wsph_atomic_load_u64(&t->calls);
	unsigned long tid = (unsigned long)wsph_atomic_load_u64(&t->tid);
	if (!tid || !wsph_atomic_load_u64(&t->in_call)) {
		*streak = 0;
		return 0;
	}
	if (calls != *seen) { /* another call than at the last look */
		*seen = calls;
		*since = now;
		*streak = 0;
	}
	int r = wsph_plat_idle_thread(tid, tid);
	if (r < 0)
		return now - *since >= (uint64_t)BLOCKED_GUESS_MS * 1000000u;
	*streak = r == 1 ? *streak + 1 : 0;
	return *streak >= 2;
}

static void step_blocked(struct drv *d, const struct wsph_step *st)
{
	struct block *b = d->block;
	if (!b || !b->threads)
		return;
	struct block_thread *t = &b->threads[st->blocked_index];
	uint64_t start = wsph_plat_now_ns(), seen = 0, since = 0;
	unsigned streak = 0;
	while (!wsph_atomic_load_u64(&t->ended) && !blocked_now(t, &seen, &since, &streak) &&
	       wsph_plat_now_ns() - start < (uint64_t)BLOCKED_MAX_MS * 1000000u)
		wsph_plat_sleep_ms(1);
}

/* The action of each step of steps.c. */
static void (*const actions[WSPH_OP_COUNT])(struct drv *, const struct wsph_step *) = {
	[WSPH_OP_STARTUP] = step_startup,
	[WSPH_OP_CLEANUP] = step_cleanup,
	[WSPH_OP_SOCKET] = step_socket,
	[WSPH_OP_BIND] = step_simple,
	[WSPH_OP_LISTEN] = step_simple,
	[WSPH_OP_CONNECT] = step_simple,
	[WSPH_OP_ACCEPT] = step_accept,
	[WSPH_OP_SEND] = step_transfer,
	[WSPH_OP_RECV] = step_transfer,
	[WSPH_OP_SENDTO] = step_transfer,
	[WSPH_OP_RECVFROM] = step_transfer,
	[WSPH_OP_CLOSE] = step_simple,
	[WSPH_OP_SHUTDOWN] = step_simple,
	[WSPH_OP_GETSOCKOPT] = step_sockopt,
	[WSPH_OP_SETSOCKOPT] = step_sockopt,
	[WSPH_OP_IOCTL] = step_ioctl,
	[WSPH_OP_GETSOCKNAME] = step_simple,
	[WSPH_OP_GETPEERNAME] = step_simple,
	[WSPH_OP_ASYNCSELECT] = step_asyncselect,
	[WSPH_OP_EVENTSELECT] = step_eventselect,
	[WSPH_OP_ENUMNETWORKEVENTS] = step_enumnetworkevents,
	[WSPH_OP_SELECT] = step_select,
	[WSPH_OP_WAITMESSAGE] = step_waitmessage,
	[WSPH_OP_WAITEVENT] = step_waitevent,
	[WSPH_OP_ALERTABLE] = step_alertable,
	[WSPH_OP_COMPLETE] = step_complete,
	[WSPH_OP_GETOVERLAPPEDRESULT] = step_getoverlappedresult,
	[WSPH_OP_ARRIVE] = step_arrive,
	[WSPH_OP_CANCELBLOCKINGCALL] = step_cancelblockingcall,
	[WSPH_OP_PARALLEL] = step_parallel,
	[WSPH_OP_BARRIER] = step_barrier,
	[WSPH_OP_BLOCKED] = step_blocked,
};

int wsph_drive_has_action(int op)
{
	return op >= 0 && op < WSPH_OP_COUNT && actions[op] != NULL;
}

static void run_step(struct drv *d, const struct wsph_step *st)
{
	actions[st->op](d, st);
}

/* ---- premises ---- */

static int by_step(const void *a, const void *b)
{
	const struct wsph_unreached *x = a, *y = b;
	if ((x->rule != NULL) != (y->rule != NULL))
		return x->rule ? 1 : -1; /* the steps first, then the rules */
	return (x->step > y->step) - (x->step < y->step);
}

static int is_closed(struct drv *d, SOCKET s)
{
	int found = 0;
	lock(d);
	for (size_t i = 0; i < d->n_closed && !found; i++)
		found = d->closed[i] == s;
	unlock(d);
	return found;
}

/* After the scenario stopped, a step still runs when it puts back what the scenario opened (the
 * provider is left as a program leaves it, and the rules about releasing handles still judge
 * it): a close of a socket that was made and not closed yet, a cleanup while a startup is
 * outstanding. */
static int teardown(struct drv *d, const struct wsph_step *st)
{
	if (!(wsph_step_def(st->op)->flags & WSPH_STEP_TEARDOWN))
		return 0;
	if (st->op == WSPH_OP_CLEANUP) {
		lock(d);
		int startups = wsph_rules_startups(d->rules);
		unlock(d);
		return startups > 0;
	}
	if (!st->socket || !strcmp(st->socket, "bogus"))
		return 0;
	SOCKET s = resolve(d, st->socket);
	return s != INVALID_SOCKET && !is_closed(d, s);
}

/* The scenario stops once the main thread is back: at once after its own step, after the block
 * when a thread's step asked for it. */
static void stop_now(struct drv *d)
{
	if (!d->stopped && wsph_atomic_load_int(&d->stop_req)) {
		d->stopped = d->stop_step;
		d->inconclusive = d->stop_control;
	}
}

/* The step just run did not meet its expectation: the scenario stops here; in a thread of a
 * parallel block, the block's threads stop after their current step and the scenario after the
 * block. The first step to ask says why. */
static void stop_after(struct drv *d, const struct wsph_step *st)
{
	lock(d);
	stop_record(d, st);
	unlock(d);
	if (!st->thread)
		stop_now(d);
}

/* stop_after's record, with the lock held. */
static void stop_record(struct drv *d, const struct wsph_step *st)
{
	if (wsph_atomic_load_int(&d->stop_req))
		return;
	d->stop_step = me.step;
	d->stop_control = st->control;
	snprintf(d->stop_reason, sizeof d->stop_reason, "%sstep %d (%s) failed: %s",
		 st->control ? "the control " : "", me.step, wsph_op_name(st->op), me.failure);
	wsph_atomic_store_int(&d->stop_req, 1);
}

static int step_mentions(const struct wsph_step *st, const char *rule)
{
	return st->rule && !strcmp(st->rule, rule);
}

/* The rules the scenario checks that said nothing because the scenario stopped before what they
 * are about: a rule its steps judge, when none of them ran; every rule without a finding when a
 * control step failed (the case is inconclusive). A rule judged as the events come is not
 * listed otherwise: the calls before the stop may well have been what it is about. */
static void rules_unreached(struct drv *d, const struct wsph_finding *found, size_t n_found)
{
	const struct wsph_scenario *sc = d->sc;
	for (size_t i = 0; d->stopped && i < sc->n_checks; i++) {
		const struct wsph_rule *rule = wsph_ruleset_find(d->o->set, sc->checks[i]);
		int judged = 0, by_step = 0;
		if (!rule)
			continue;
		for (size_t k = 0; k < n_found && !judged; k++)
			judged = found[k].rule == rule;
		for (size_t k = 0; k < sc->n_steps && !judged; k++) {
			if (!step_mentions(&sc->steps[k], rule->id))
				continue;
			by_step = 1;
			if ((int)k + 1 <= d->stopped)
				judged = 1; /* its step ran (and met its expectation) */
		}
		if (judged || (!by_step && !d->inconclusive))
			continue;
		unreached(d, rule, d->stopped, "%s%s", d->inconclusive ? "inconclusive: " : "",
			  d->stop_reason);
	}
}

/* After the step's action: the engine's step end, and a stop when its expectation was not met
 * or a rule was broken during it. */
static void step_end(struct drv *d, const struct wsph_step *st, size_t errors)
{
	lock(d);
	wsph_rules_step_end(d->rules);
	if (!d->stopped && me.failed_step != me.step && wsph_rules_errors(d->rules) > errors) {
		/* A rule was broken during the step: what follows is not reached either. */
		me.failed_step = me.step;
		snprintf(me.failure, sizeof me.failure, "the provider broke %s",
			 wsph_rules_last_error(d->rules));
	}
	unlock(d);
	if (!d->stopped && me.failed_step == me.step)
		stop_after(d, st);
}

/* Runs step i (0-based), on the main thread or a thread of a parallel block, and what follows
 * each step: the checks, a stop when its expectation was not met or a rule was broken. */
static void play_step(struct drv *d, const struct wsph_scenario *sc, size_t i,
		      struct wsph_blocking_stats *hook_seen)
{
	const struct wsph_step *st = &sc->steps[i];
	me.step = (int)i + 1;
	wsph_upcalls_set_step(me.step);
	lock(d);
	size_t errors = me.errors_before_step = wsph_rules_errors(d->rules);
	unlock(d);
	run_step(d, st);
	step_end(d, st, errors);
	if (!st->thread && d->arrival && d->arrival->step < me.step)
		join_arrival(d);
	wsph_upcalls_alertable();
	check_hook(d, hook_seen);
	radvance(d);
	char after[64];
	snprintf(after, sizeof after, "step %d ended", me.step);
	tables_check(d, 0, after);
	if (!st->thread)
		stop_now(d);
}

/* What an LSP exports to name the GUID of its hidden catalog entry (the one it looks for). */
typedef void(WSPAPI *get_lsp_guid_fn)(LPGUID lpGuid);

int wsph_drive_probe(const char *provider, char *err, size_t errlen, GUID *lsp_guid)
{
	struct wsph_module *m = wsph_plat_load(provider, err, errlen);
	if (!m)
		return -1;
	if (!wsph_plat_symbol(m, "WSPStartup")) {
		snprintf(err, errlen,
			 "the provider exports no WSPStartup (SPI.Startup.SingleExport: a transport "
			 "provider is a DLL with a single exported entry point, WSPStartup)");
		return -1;
	}
	void *sym = lsp_guid ? wsph_plat_symbol(m, "GetLspGuid") : NULL;
	if (!sym)
		return 0;
	get_lsp_guid_fn get;
	memcpy(&get, &sym, sizeof get);
	GUID g;
	memset(&g, 0, sizeof g);
	get(&g);
	*lsp_guid = g;
	return 1;
}

/* Before the provider is unloaded: waits (up to SETTLE_MS) until the process has no more threads
 * than before the provider was loaded, so none of the provider's threads can still be running its
 * code when it goes. Meanwhile late upcalls from such threads are recorded (and the driver thread
 * stays alertable for late APCs); it ends sooner when they are blocked for good. Returns the
 * number of threads still left over (0 settled). */
static int settle_threads(struct drv *d)
{
	if (d->threads_before < 0)
		return 0;
	uint64_t t0 = wsph_plat_now_ns();
	struct wsph_quiet q;
	wsph_quiet_reset(&q);
	for (;;) {
		int n = wsph_plat_thread_count();
		if (n < 0 || n <= d->threads_before)
			return 0;
		/* threads blocked for good (stall.h) will not end by themselves either */
		if (wsph_plat_now_ns() - t0 >= (uint64_t)SETTLE_MS * 1000000u ||
		    wsph_quiet_sample(&q, wsph_trace_count(d->trace), 0, QUIET_MS) == 1)
			return n - d->threads_before;
		wsph_upcalls_alertable();
		wsph_plat_sleep_ms(2);
	}
}

static int unloaded_uncleaned;

int wsph_drive_unloaded_uncleaned(void)
{
	return unloaded_uncleaned;
}

/* The rule engine's view of the catalog: the provider's own catalog ids and the layers below. */
static void catalog_for_rules(const struct wsph_catalog *cat, struct wsph_rules_config *cfg,
			      uint32_t *ids, size_t max_ids)
{
	cfg->catalog_ids = ids;
	for (size_t i = 0; i < cat->n_providers; i++) {
		if (cat->providers[i].under_test) {
			/* one DLL may be registered under several GUIDs (an installer's hidden entry
			 * and its chained entries): all its ids are the provider's own */
			cfg->n_catalog_ids += wsph_catalog_ids(cat, (int)i, ids + cfg->n_catalog_ids,
							       max_ids - cfg->n_catalog_ids);
			continue;
		}
		if (cfg->n_lower == sizeof cfg->lower / sizeof cfg->lower[0])
			continue;
		struct wsph_rules_layer *l = &cfg->lower[cfg->n_lower++];
		char *x = wsph_catalog_expand(cat, cat->providers[i].path);
		snprintf(l->module, sizeof l->module, "%s", x ? wsph_path_base(x) : "?");
		free(x);
		l->kind = wsph_catalog_provider_kind(cat, (int)i);
		l->n_ids = wsph_catalog_ids(cat, (int)i, l->ids, 16);
	}
}

/* The recorders, the rule engine and the import patching, in place before the provider is
 * loaded: what its DllMain (on POSIX, its constructors) calls during the load is recorded too.
 * Returns 0, or -1 when out of memory (nothing left begun). */
static int begin_case(struct drv *d)
{
	const struct wsph_drive_opts *o = d->o;
	const struct wsph_scenario *sc = d->sc;
	struct wsph_rules_config rc_cfg;
	memset(&rc_cfg, 0, sizeof rc_cfg);
	rc_cfg.set = o->set;
	rc_cfg.trace = d->trace;
	rc_cfg.scenario = sc;
	rc_cfg.kind = o->kind;
	rc_cfg.layered = o->layered;
	rc_cfg.on_finding = o->on_finding;
	catalog_for_rules(o->catalog, &rc_cfg, d->catalog_ids, 16);

	struct wsph_upcall_config ucfg;
	memset(&ucfg, 0, sizeof ucfg);
	ucfg.kind = o->kind;
	ucfg.catalog = o->catalog;
	ucfg.modify_ifs_same = sc->modify_ifs_same;
	ucfg.faults = sc->faults;
	ucfg.n_faults = sc->n_faults;
	ucfg.blocking = sc->blocking;
	ucfg.cancel_blocking = hook_cancel;
	ucfg.cancel_ctx = d;
	wsph_upcalls_begin(d->trace, &ucfg);
	for (size_t i = 0; i < sc->n_steps; i++)
		if (wsph_step_def(sc->steps[i].op)->needs & WSPH_NEEDS_WINDOW) {
			wsph_upcalls_open_window();
			break;
		}
	rc_cfg.window = (void *)wsph_upcalls_window();
	d->rules = wsph_rules_new(&rc_cfg);
	if (!d->rules) {
		wsph_upcalls_end();
		return -1;
	}
	struct wsph_imports_config icfg = {o->catalog, sc->lower_hole};
	wsph_imports_begin(&icfg);
	wsph_lower_set_fragment(sc->lower_fragment);
	return 0;
}

static void case_error(struct wsph_case *c, const char *type, const char *msg)
{
	c->outcome = WSPH_ERROR;
	c->error_type = wsph_strdup(type);
	c->error_message = wsph_strdup(msg);
}

/* Loads the provider (its DllMain runs inside the load, on this thread) and finds WSPStartup.
 * Returns 0, or -1 with the case's error filled. */
static int load_provider(struct drv *d, unsigned long me, struct wsph_case *c)
{
	char err[512];
	d->threads_before = wsph_plat_thread_count();
	uint64_t mark = wsph_trace_count(d->trace);
	d->mod = wsph_plat_load(d->o->provider, err, sizeof err);
	if (!d->mod) {
		case_error(c, "provider-error", err);
		return -1;
	}
	wsph_rules_dllmain_window(d->rules, d->trace, mark, me, "loading");
	void *sym = wsph_plat_symbol(d->mod, "WSPStartup");
	if (!sym) {
		case_error(c, "provider-error", "the provider exports no WSPStartup");
		return -1;
	}
	memcpy(&d->startup, &sym, sizeof sym);
	wsph_imports_patch(d->mod);
	return 0;
}

/* After a stop, steps [from, to): the rest of a block's thread, or on the main thread the steps
 * after the stop (blocks that never ran included: their teardown runs on the main thread). The
 * teardown among them runs, the closes first, then the cleanups; the rest is not reached. */
static void play_teardown(struct drv *d, size_t from, size_t to,
			  struct wsph_blocking_stats *hook_seen)
{
	const struct wsph_scenario *sc = d->sc;
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = from; k < to; k++) {
			int cleanup = sc->steps[k].op == WSPH_OP_CLEANUP;
			me.step = (int)k + 1;
			if (cleanup != pass)
				continue;
			if (teardown(d, &sc->steps[k]))
				play_step(d, sc, k, hook_seen);
			else
				unreached(d, NULL, me.step, "%s", d->stop_reason);
		}
}

/* The main thread's step after step i: past a parallel step's threads. */
static size_t next_main_step(const struct wsph_scenario *sc, size_t i)
{
	const struct wsph_parallel *par = sc->steps[i].par;
	return i + 1 + (par ? par->n_nested : 0);
}

/* Every step until the scenario stops; after a stop the rest is not reached, but for its
 * teardown: the closes of open sockets first and then the cleanups a startup still needs (a
 * scenario that started twice may clean up once before its closes). */
static void play_steps(struct drv *d)
{
	const struct wsph_scenario *sc = d->sc;
	struct wsph_blocking_stats hook_seen;
	memset(&hook_seen, 0, sizeof hook_seen);
	size_t i = 0;
	for (; i < sc->n_steps && !d->stopped; i = next_main_step(sc, i))
		play_step(d, sc, i, &hook_seen);
	play_teardown(d, i, sc->n_steps, &hook_seen);
	if (d->n_unreached > 1)
		qsort(d->unreached, d->n_unreached, sizeof *d->unreached, by_step);
	join_arrival(d);
	me.step = 0;
	wsph_upcalls_set_step(0);
}

/* The provider's threads end before its code goes. One that outlives the bound keeps the
 * provider (and what it loaded) in memory for good: unloading it would pull the code from under
 * a running thread. The provider's DllMain (DLL_PROCESS_DETACH; on POSIX its destructors) runs
 * inside the unload, and so do those of the modules it loaded and did not free. Returns the
 * threads left over. */
static int unload_provider(struct drv *d, unsigned long me)
{
	int left = settle_threads(d);
	wsph_rules_advance(d->rules);
	if (left && d->final_cleanup && wsph_rules_startups(d->rules) == 0) {
		char msg[512];
		snprintf(msg, sizeof msg,
			 "%d thread(s) more than before the provider was loaded still ran %d ms after "
			 "the final WSPCleanup returned: a WSPCleanup returns only once the provider is "
			 "prepared to be unloaded, and such a thread can still call the upcall table "
			 "(the harness leaves the provider loaded rather than unload code in use)",
			 left, SETTLE_MS);
		rreport(d, "WPU.Table.NotAfterFinalCleanup", 0, 0, msg);
	}
	wsph_proctables_check(d->tables, d->rules, 0, 0, "the scenario ended");
	uint64_t mark = wsph_trace_count(d->trace);
	unloaded_uncleaned = !left && wsph_rules_startups(d->rules) != 0;
	if (left)
		wsph_imports_keep_modules();
	else
		wsph_plat_unload(d->mod);
	d->mod = NULL;
	wsph_imports_end();
	wsph_rules_dllmain_window(d->rules, d->trace, mark, me, "unloading");
	wsph_rules_finish(d->rules);
	return left;
}

/* The client events and overlapped buffers; with threads left over, a provider thread may still
 * write to the buffers, which are then kept. */
static void release_client_state(struct drv *d, int left)
{
	for (size_t i = 0; i < d->n_pending; i++) {
		if (d->pending[i]->event)
			wsph_upcalls_client_event_free(d->pending[i]->event);
		if (!left) {
			free(d->pending[i]->buf);
			free(d->pending[i]);
		}
	}
	d->n_pending = 0;
	for (size_t i = 0; i < d->n_events; i++)
		wsph_upcalls_client_event_free(d->events[i].ev);
	d->n_events = 0;
	wsph_upcalls_end();
	if (left) {
		wsph_proctables_free(d->tables, 1);
		d->tables = NULL;
	}
}

/* The case's findings, what was not reached, its outcome and its trace. */
static void fill_case(struct drv *d, struct wsph_case *c)
{
	c->findings = wsph_rules_take(d->rules, &c->n_findings);
	rules_unreached(d, c->findings, c->n_findings);
	c->unreached = d->unreached;
	c->n_unreached = d->n_unreached;
	d->unreached = NULL;
	d->n_unreached = 0;
	c->outcome = WSPH_PASS;
	for (size_t i = 0; i < c->n_findings; i++)
		if (c->findings[i].rule->severity == WSPH_SEV_ERROR)
			c->outcome = WSPH_FAIL;
	if (c->outcome == WSPH_PASS && d->inconclusive) {
		c->outcome = WSPH_SKIP;
		c->skip_reason = wsph_format("inconclusive: %s", d->stop_reason);
	}
	c->trace = wsph_trace_text(d->trace, d->o->trace_cap ? d->o->trace_cap : 65536);
	c->events = wsph_trace_seal(d->trace); /* the case owns it now */
	d->trace = NULL;
}

int wsph_drive(const struct wsph_drive_opts *o, const struct wsph_scenario *sc,
	       struct wsph_case *c)
{
	struct drv d;
	int rc = -1, begun = 0;
	unloaded_uncleaned = 0;
	memset(&d, 0, sizeof d);
	memset(&me, 0, sizeof me);
	d.o = o;
	d.sc = sc;
	d.lock = wsph_mutex_new();
	uint64_t t0 = wsph_plat_now_ns();
	d.trace = wsph_trace_new();
	d.tables = wsph_proctables_new();
	const struct wsph_catalog *cat = o->catalog;
	d.pi_stream = cat->entries[cat->stream_entry].info;
	d.pi_dgram = cat->entries[cat->dgram_entry >= 0 ? cat->dgram_entry : cat->stream_entry].info;
	if (cat->env_value)
		wsph_plat_setenv(cat->env_name, cat->env_value);
	if (!d.lock || !d.trace || !d.tables || begin_case(&d)) {
		case_error(c, "internal", "out of memory");
		goto out;
	}
	begun = 1;
	unsigned long me = wsph_plat_thread_id();
	if (load_provider(&d, me, c))
		goto out;
	current = &d;
	play_steps(&d);
	int left = unload_provider(&d, me);
	begun = 0;
	current = NULL;
	release_client_state(&d, left);
	fill_case(&d, c);
	rc = 0;
out:
	if (d.mod)
		wsph_plat_unload(d.mod);
	if (begun) {
		wsph_imports_end();
		wsph_upcalls_end();
	}
	c->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	wsph_rules_free(d.rules);
	for (size_t i = 0; i < d.n_unreached; i++)
		free(d.unreached[i].reason);
	free(d.unreached);
	wsph_trace_free(d.trace);
	wsph_proctables_free(d.tables, 0);
	wsph_mutex_free(d.lock);
	return rc;
}
