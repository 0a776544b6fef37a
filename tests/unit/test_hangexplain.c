/* A hang explained (harness/hangexplain.c) and the deadlock verdict (harness/stall.c): a synthetic
 * trace with calls open on three threads, the platform's view of the threads given as data; and
 * the platform's own view (harness/platform/posix/idle.c, wsph_plat_idle_threads) of a thread
 * blocked in a condition wait with and without a time limit. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "hangexplain.h"
#include "stall.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DRIVER 101ul
#define HELPER 202ul
#define PROVIDER 303ul
#define IDLE 404ul

#define MS 1000000ull

static struct wsph_trace *trace;
static uint64_t next_seq;

static uint64_t put(unsigned long thread, enum wsph_ev_kind kind, enum wsph_fn fn, int step,
		    uint64_t parent, int layer, uint64_t ms)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = ++next_seq;
	ev.time_ns = ms * MS;
	ev.thread = thread;
	ev.kind = kind;
	ev.fn = fn;
	ev.step = step;
	ev.parent = parent;
	ev.layer = layer;
	ev.err = WSPH_ERRNO_UNSET;
	cr_assert_eq(wsph_trace_put(trace, &ev), ev.seq);
	return ev.seq;
}

/* The scenario: startup, socket, send (the arrive step's thread), close, cleanup. */
static struct wsph_step steps[5];
static struct wsph_scenario sc;

/* Driver: startup returned; WSPCloseSocket of step 4 open, and inside it a WSPCloseSocket of the
 * layer to the provider below. Helper: a WSPSend of step 3 open. Provider thread: an upcall, no
 * call open. Another thread that made an upcall: none open either. */
static void setup(void)
{
	next_seq = 0;
	trace = wsph_trace_new();
	uint64_t s = put(DRIVER, WSPH_EV_CALL, WSPH_FN_WSPSTARTUP, 1, 0, 0, 1);
	put(DRIVER, WSPH_EV_RETURN, WSPH_FN_WSPSTARTUP, 1, s, 0, 2);
	s = put(DRIVER, WSPH_EV_CALL, WSPH_FN_WSPSOCKET, 2, 0, 0, 3);
	put(DRIVER, WSPH_EV_RETURN, WSPH_FN_WSPSOCKET, 2, s, 0, 4);
	put(HELPER, WSPH_EV_CALL, WSPH_FN_WSPSEND, 3, 0, 0, 10);
	put(PROVIDER, WSPH_EV_UPCALL, WSPH_FN_WPUQUEUEAPC, 3, 0, 0, 11);
	s = put(DRIVER, WSPH_EV_CALL, WSPH_FN_WSPCLOSESOCKET, 4, 0, 0, 20);
	put(DRIVER, WSPH_EV_CALL, WSPH_FN_WSPCLOSESOCKET, 4, s, 1, 25);
	put(IDLE, WSPH_EV_UPCALL, WSPH_FN_WPUSETEVENT, 4, 0, 0, 26);
	enum wsph_op ops[5] = {WSPH_OP_STARTUP, WSPH_OP_SOCKET, WSPH_OP_SEND, WSPH_OP_CLOSE,
			       WSPH_OP_CLEANUP};
	memset(&sc, 0, sizeof sc);
	memset(steps, 0, sizeof steps);
	for (int i = 0; i < 5; i++)
		steps[i].op = ops[i];
	sc.steps = steps;
	sc.n_steps = 5;
}

static void teardown(void)
{
	wsph_trace_free(trace);
}

TestSuite(hangexplain, .init = setup, .fini = teardown);

static const struct wsph_hang_thread *find(const struct wsph_hang *h, unsigned long tid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->t[i].tid == tid)
			return &h->t[i];
	return NULL;
}

Test(hangexplain, open_calls_per_thread)
{
	struct wsph_hang h;
	wsph_hang_scan(trace, &h);
	cr_assert_eq(h.n, 4);
	const struct wsph_hang_thread *d = find(&h, DRIVER), *p = find(&h, PROVIDER);
	cr_assert(d && p && find(&h, HELPER));
	cr_assert_eq(d->role, WSPH_HANG_DRIVER);
	cr_assert_eq(d->depth, 2); /* the layer's call under the harness's */
	cr_assert_eq(d->open[0], 7);
	cr_assert_eq(d->open[1], 8);
	cr_assert_eq(find(&h, HELPER)->role, WSPH_HANG_HELPER);
	cr_assert_eq(find(&h, HELPER)->depth, 1);
	cr_assert_eq(p->role, WSPH_HANG_PROVIDER);
	cr_assert_eq(p->depth, 0);
	cr_assert_eq(p->last, 6);
	cr_assert_eq(wsph_hang_in_calls(&h), 2);
}

Test(hangexplain, text_names_every_thread)
{
	char *text = wsph_hang_explain(trace, NULL, 0, 30 * MS, &sc, NULL);
	cr_assert(text);
	cr_log_info("%s", text);
	cr_assert(strstr(text, "thread 101 (the harness's driver thread) is in WSPCloseSocket("),
		  "%s", text);
	cr_assert(strstr(text, ") under WSPCloseSocket("), "%s", text);
	cr_assert(strstr(text, "(event #8) since step 4 (close), for 5 ms"), "%s", text);
	cr_assert(strstr(text, "thread 202 (the harness's helper thread) is in WSPSend("), "%s",
		  text);
	cr_assert(strstr(text, "(event #5) since step 3 (send), for 20 ms"), "%s", text);
	cr_assert(strstr(text, "thread 303 (a provider thread) is in no recorded call (its last "
			       "event #6, WPUQueueApc)"),
		  "%s", text);
	cr_assert(strstr(text, "thread 404 (a provider thread) is in no recorded call"), "%s", text);
	/* the driver first, then the other thread in a call, then those in none */
	cr_assert(strstr(text, "thread 101") < strstr(text, "thread 202"));
	cr_assert(strstr(text, "thread 202") < strstr(text, "thread 303"));
	cr_assert_eq(strncmp(text, " Threads: ", 10), 0);
	free(text);
}

Test(hangexplain, a_call_that_returned_is_not_open)
{
	put(HELPER, WSPH_EV_RETURN, WSPH_FN_WSPSEND, 3, 5, 0, 27);
	struct wsph_hang h;
	wsph_hang_scan(trace, &h);
	cr_assert_eq(find(&h, HELPER)->depth, 0);
	cr_assert_eq(wsph_hang_in_calls(&h), 1);
}

static struct wsph_thread_wait wait_of(unsigned long tid, char state, int untimed,
				       const char *call)
{
	struct wsph_thread_wait w;
	memset(&w, 0, sizeof w);
	w.tid = tid;
	w.state = state;
	w.untimed = untimed;
	snprintf(w.call, sizeof w.call, "%s", call);
	return w;
}

Test(hangexplain, deadlock_when_every_thread_waits_for_good)
{
	struct wsph_thread_wait w[4] = {
	    wait_of(DRIVER, 'S', 1, "futex"), wait_of(HELPER, 'S', 1, "futex"),
	    wait_of(PROVIDER, 'S', 1, "futex"), wait_of(505, 'S', 1, "poll")};
	int deadlock = 0;
	char *text = wsph_hang_explain(trace, w, 4, 30 * MS, &sc, &deadlock);
	cr_assert_eq(deadlock, 1);
	cr_assert(strstr(text, "for 5 ms, blocked in futex with no time limit"), "%s", text);
	/* a thread the trace never saw: a provider thread */
	cr_assert(strstr(text, "thread 505 (a provider thread) is in no recorded call, blocked in "
			       "poll with no time limit"),
		  "%s", text);
	/* a thread of the trace the platform did not list has ended */
	cr_assert(strstr(text, "thread 404 (a provider thread) is in no recorded call (its last "
			       "event #9, WPUSetEvent), no longer running"),
		  "%s", text);
	free(text);
}

Test(hangexplain, no_deadlock_while_a_thread_can_still_run)
{
	struct wsph_hang h;
	struct wsph_thread_wait w[3] = {wait_of(DRIVER, 'S', 1, "futex"),
					wait_of(HELPER, 'S', 1, "futex"),
					wait_of(PROVIDER, 'S', 0, "clock_nanosleep")};
	wsph_hang_scan(trace, &h);
	wsph_hang_add_waits(&h, w, 3);
	cr_assert_eq(wsph_hang_is_deadlock(&h), 0); /* a timed sleep ends */
	w[2] = wait_of(PROVIDER, 'R', 0, "");
	wsph_hang_scan(trace, &h);
	wsph_hang_add_waits(&h, w, 3);
	cr_assert_eq(wsph_hang_is_deadlock(&h), 0); /* running */
	w[2] = wait_of(PROVIDER, 'S', 1, "futex");
	wsph_hang_scan(trace, &h);
	wsph_hang_add_waits(&h, w, 3);
	cr_assert_eq(wsph_hang_is_deadlock(&h), 1);
	wsph_hang_scan(trace, &h); /* without the platform's view nothing is known */
	cr_assert_eq(wsph_hang_is_deadlock(&h), 0);
}

Test(hangexplain, no_deadlock_without_a_call_in_progress)
{
	wsph_trace_free(trace);
	trace = wsph_trace_new();
	next_seq = 0;
	uint64_t s = put(DRIVER, WSPH_EV_CALL, WSPH_FN_WSPSTARTUP, 1, 0, 0, 1);
	put(DRIVER, WSPH_EV_RETURN, WSPH_FN_WSPSTARTUP, 1, s, 0, 2);
	struct wsph_thread_wait w = wait_of(DRIVER, 'S', 1, "futex");
	int deadlock = 1;
	free(wsph_hang_explain(trace, &w, 1, 0, &sc, &deadlock));
	cr_assert_eq(deadlock, 0);
}

Test(hangexplain, stall_message_type)
{
	struct wsph_thread_wait w[3] = {wait_of(DRIVER, 'S', 1, "futex"),
					wait_of(HELPER, 'S', 1, "futex"),
					wait_of(PROVIDER, 'S', 1, "futex")};
	const char *type = NULL;
	char *msg = wsph_stall_message(4, 50, trace, 30 * MS, &sc, w, 3, &type);
	cr_assert_str_eq(type, WSPH_DEADLOCK_TYPE);
	cr_assert(strstr(msg, "every thread of the process is blocked with no time limit, step 4 "
			      "inside its WSP call for 50 ms"),
		  "%s", msg);
	cr_assert(strstr(msg, "thread 101 (the harness's driver thread) is in WSPCloseSocket("),
		  "%s", msg);
	free(msg);
	w[2] = wait_of(PROVIDER, 'S', 0, "clock_nanosleep");
	msg = wsph_stall_message(4, 50, trace, 30 * MS, &sc, w, 3, &type);
	cr_assert_str_eq(type, "timeout");
	cr_assert_eq(strncmp(msg, WSPH_STALL_TEXT, strlen(WSPH_STALL_TEXT)), 0, "%s", msg);
	cr_assert(strstr(msg, "blocked in clock_nanosleep with a time limit"), "%s", msg);
	free(msg);
}

/* ---- the platform's view of a real thread ---- */

static pid_t waiter_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void *cond_waiter(void *timed)
{
	pthread_mutex_lock(&mu);
	__atomic_store_n(&waiter_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!done) {
		if (timed) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 600;
			pthread_cond_timedwait(&cv, &mu, &ts);
		} else {
			pthread_cond_wait(&cv, &mu);
		}
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int remote; /* look at the process as a parent looks at its child's */

/* The thread's entry once /proc shows it blocked in futex (no timer: it is looked at until). */
static struct wsph_thread_wait blocked_view(unsigned long tid)
{
	struct wsph_thread_wait w[64];
	for (;;) {
		int n = remote ? wsph_plat_idle_threads_of((unsigned long)getpid(), w, 64)
			       : wsph_plat_idle_threads(w, 64);
		cr_assert_geq(n, 1);
		for (int i = 0; i < n && i < 64; i++)
			if (w[i].tid == tid && w[i].state == 'S' && !strcmp(w[i].call, "futex"))
				return w[i];
		sched_yield();
	}
}

static void platform_view(int timed)
{
	pthread_t t;
	done = 0;
	__atomic_store_n(&waiter_tid, 0, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_create(&t, NULL, cond_waiter, timed ? &t : NULL), 0);
	pid_t tid;
	while (!(tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE)))
		sched_yield();
	struct wsph_thread_wait w = blocked_view((unsigned long)tid);
	cr_assert_eq(w.untimed, !timed);
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
}

Test(hangexplain_platform, condition_wait_without_a_limit)
{
	platform_view(0);
}

Test(hangexplain_platform, condition_wait_with_a_limit)
{
	platform_view(1);
}

Test(hangexplain_platform, the_caller_is_not_listed)
{
	struct wsph_thread_wait w[64];
	int n = wsph_plat_idle_threads(w, 64);
	unsigned long me = wsph_plat_thread_id();
	for (int i = 0; i < n && i < 64; i++)
		cr_assert_neq(w[i].tid, me);
}

Test(hangexplain_platform, another_process_condition_waits)
{
	remote = 1;
	platform_view(0);
	platform_view(1);
	remote = 0;
}

static void *helper(void *arg)
{
	(void)arg;
	wsph_plat_idle_exempt(1);
	pthread_mutex_lock(&mu);
	__atomic_store_n(&waiter_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	while (!done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	wsph_plat_idle_exempt(0);
	return NULL;
}

/* A helper of the harness is left out, seen from inside and (by its name) from outside. */
Test(hangexplain_platform, helpers_are_left_out)
{
	pthread_t t;
	done = 0;
	__atomic_store_n(&waiter_tid, 0, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_create(&t, NULL, helper, NULL), 0);
	pid_t tid;
	while (!(tid = __atomic_load_n(&waiter_tid, __ATOMIC_ACQUIRE)))
		sched_yield();
	struct wsph_thread_wait w[64];
	int n = wsph_plat_idle_threads(w, 64);
	for (int i = 0; i < n && i < 64; i++)
		cr_assert_neq(w[i].tid, (unsigned long)tid);
	n = wsph_plat_idle_threads_of((unsigned long)getpid(), w, 64);
	cr_assert_geq(n, 1);
	for (int i = 0; i < n && i < 64; i++)
		cr_assert_neq(w[i].tid, (unsigned long)tid);
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
}
