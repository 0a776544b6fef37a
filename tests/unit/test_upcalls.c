/* Unit tests of the handle upcalls: many handles, closed and never-issued values, avoided values,
 * injected faults, and several provider threads at once. */
#include "scenario.h"
#include "trace.h"
#include "upcalls.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BASE ((SOCKET)0x3c000000u) /* the first handle the harness issues (upcalls.c) */
#define STEP 4

static WSPUPCALLTABLE *start(struct wsph_trace *t, const struct wsph_fault *faults, size_t n)
{
	struct wsph_upcall_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.kind = WSPH_KIND_NONIFS;
	cfg.faults = faults;
	cfg.n_faults = n;
	wsph_upcalls_begin(t, &cfg);
	WSPUPCALLTABLE *table = wsph_upcalls_table_buffer(WSPH_TABLE_A);
	cr_assert_not_null(table);
	return table;
}

/* The answer to a value that is not an open handle the harness created. */
static void expect_not_a_socket(WSPUPCALLTABLE *u, SOCKET s)
{
	int err = 0;
	DWORD_PTR ctx = 0x77;
	cr_assert_eq(u->lpWPUQuerySocketHandleContext(s, &ctx, &err), SOCKET_ERROR, "%#llx",
		     (unsigned long long)s);
	cr_assert_eq(err, WSAENOTSOCK);
	cr_assert_eq(ctx, 0x77, "the context is not written");
	err = 0;
	cr_assert_eq(u->lpWPUCloseSocketHandle(s, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAENOTSOCK);
}

Test(upcalls, a_hundred_thousand_handles_answer_query_and_close)
{
	enum { N = 100000 };
	struct wsph_trace *t = wsph_trace_new();
	WSPUPCALLTABLE *u = start(t, NULL, 0);
	SOCKET *h = malloc(N * sizeof *h);
	cr_assert_not_null(h);
	int err = 0;
	for (size_t i = 0; i < N; i++) {
		h[i] = u->lpWPUCreateSocketHandle(1001, (DWORD_PTR)(0x10000 + i), &err);
		cr_assert_neq(h[i], INVALID_SOCKET);
		cr_assert(i == 0 || h[i] > h[i - 1], "handles go up, never reused");
	}
	for (size_t i = 0; i < N; i++) { /* every one still answers with its own context */
		DWORD_PTR ctx = 0;
		cr_assert_eq(u->lpWPUQuerySocketHandleContext(h[i], &ctx, &err), 0, "handle %zu", i);
		cr_assert_eq(ctx, (DWORD_PTR)(0x10000 + i));
	}
	for (size_t i = 0; i < N; i += 2)
		cr_assert_eq(u->lpWPUCloseSocketHandle(h[i], &err), 0, "handle %zu", i);
	for (size_t i = 0; i < N; i += 2) /* closed: as if never issued */
		expect_not_a_socket(u, h[i]);
	for (size_t i = 1; i < N; i += 2) { /* the others are untouched */
		DWORD_PTR ctx = 0;
		cr_assert_eq(u->lpWPUQuerySocketHandleContext(h[i], &ctx, &err), 0, "handle %zu", i);
		cr_assert_eq(ctx, (DWORD_PTR)(0x10000 + i));
		cr_assert_eq(u->lpWPUCloseSocketHandle(h[i], &err), 0);
	}
	/* values never issued: below the first, past the last, between two, the bogus one */
	expect_not_a_socket(u, BASE - STEP);
	expect_not_a_socket(u, h[N - 1] + STEP);
	expect_not_a_socket(u, h[7] + 1);
	expect_not_a_socket(u, wsph_upcalls_bogus_handle());
	expect_not_a_socket(u, 0);
	expect_not_a_socket(u, INVALID_SOCKET);

	/* every upcall recorded, in order, with its arguments and result */
	/* creates, queries, closes of the even ones, query and close of each even and each odd one,
	 * and of each value never issued */
	size_t events = N + N + N / 2 + N / 2 * 2 + N / 2 * 2 + 6 * 2;
	cr_assert_eq(wsph_trace_count(t), events);
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(t, N - 1, &ev), 0);
	cr_assert_eq(ev.fn, WSPH_FN_WPUCREATESOCKETHANDLE);
	cr_assert_eq(ev.a[0], 1001);
	cr_assert_eq(ev.a[1], 0x10000 + N - 1);
	cr_assert_eq(ev.ret, (int64_t)h[N - 1]);
	cr_assert_eq(ev.err, WSPH_ERRNO_UNSET);
	cr_assert_eq(ev.kind, WSPH_EV_UPCALL);
	cr_assert_eq(ev.table, WSPH_TABLE_A);
	cr_assert_eq(wsph_trace_get(t, 2 * N + N / 2, &ev), 0); /* a closed handle's first query */
	cr_assert_eq(ev.fn, WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT);
	cr_assert_eq(ev.a[0], (uint64_t)h[0]);
	cr_assert_eq(ev.ret, SOCKET_ERROR);
	cr_assert_eq(ev.err, WSAENOTSOCK);
	cr_assert_eq(wsph_trace_get(t, events - 1, &ev), 0);
	cr_assert_eq(ev.fn, WSPH_FN_WPUCLOSESOCKETHANDLE);
	cr_assert_eq(ev.a[0], (uint64_t)INVALID_SOCKET);
	cr_assert_eq(ev.err, WSAENOTSOCK);
	cr_assert_eq(wsph_upcalls_count(WSPH_FN_WPUCREATESOCKETHANDLE), N);
	wsph_upcalls_end();
	t = wsph_trace_seal(t);
	cr_assert_eq(wsph_trace_count(t), events, "the seal keeps them all");
	cr_assert_eq(wsph_trace_get(t, N - 1, &ev), 0);
	cr_assert_eq(ev.ret, (int64_t)h[N - 1]);
	wsph_trace_free(t);
	free(h);
}

/* A value the provider used as a context is never issued, however far ahead it lies. */
Test(upcalls, a_context_the_next_handle_would_take_is_skipped)
{
	struct wsph_trace *t = wsph_trace_new();
	WSPUPCALLTABLE *u = start(t, NULL, 0);
	int err = 0;
	SOCKET first = u->lpWPUCreateSocketHandle(1001, (DWORD_PTR)(BASE + STEP), &err);
	SOCKET far = BASE + 1000 * STEP;
	SOCKET second = u->lpWPUCreateSocketHandle(1001, (DWORD_PTR)far, &err);
	cr_assert_eq(first, BASE);
	cr_assert_eq(second, BASE + 2 * STEP, "the context's value is skipped");
	for (int i = 0; i < 2000; i++) {
		SOCKET s = u->lpWPUCreateSocketHandle(1001, 7, &err);
		cr_assert_neq(s, far, "issued a value used as a context");
		cr_assert_eq(u->lpWPUCloseSocketHandle(s, &err), 0);
	}
	DWORD_PTR ctx = 0;
	cr_assert_eq(u->lpWPUQuerySocketHandleContext(second, &ctx, &err), 0);
	cr_assert_eq(ctx, (DWORD_PTR)far);
	wsph_upcalls_end();
	wsph_trace_free(t);
}

/* An injected failure answers the call it names, is recorded, and leaves no handle behind. */
Test(upcalls, faults_hit_the_call_they_name)
{
	struct wsph_fault faults[2];
	memset(faults, 0, sizeof faults);
	faults[0].upcall = WSPH_FN_WPUCREATESOCKETHANDLE;
	faults[0].call = 2;
	faults[0].error = WSAENOBUFS;
	faults[1].upcall = WSPH_FN_WPUCLOSESOCKETHANDLE;
	faults[1].call = 1;
	faults[1].error = WSAEINVAL;
	struct wsph_trace *t = wsph_trace_new();
	WSPUPCALLTABLE *u = start(t, faults, 2);
	int err = 0;
	SOCKET a = u->lpWPUCreateSocketHandle(1001, 1, &err);
	cr_assert_neq(a, INVALID_SOCKET);
	cr_assert_eq(u->lpWPUCreateSocketHandle(1001, 2, &err), INVALID_SOCKET);
	cr_assert_eq(err, WSAENOBUFS);
	SOCKET c = u->lpWPUCreateSocketHandle(1001, 3, &err);
	cr_assert_eq(c, a + STEP, "the failed call issued nothing");
	err = 0;
	cr_assert_eq(u->lpWPUCloseSocketHandle(a, &err), SOCKET_ERROR);
	cr_assert_eq(err, WSAEINVAL);
	cr_assert_eq(u->lpWPUCloseSocketHandle(a, &err), 0, "the handle stayed open");
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(t, 1, &ev), 0);
	cr_assert_eq(ev.fault, WSAENOBUFS);
	cr_assert_eq(ev.err, WSAENOBUFS);
	cr_assert_eq(ev.ret, -1);
	cr_assert_eq(wsph_trace_get(t, 3, &ev), 0);
	cr_assert_eq(ev.fn, WSPH_FN_WPUCLOSESOCKETHANDLE);
	cr_assert_eq(ev.fault, WSAEINVAL);
	cr_assert_eq(wsph_trace_get(t, 4, &ev), 0);
	cr_assert_eq(ev.fault, 0);
	cr_assert_eq(ev.err, WSPH_ERRNO_UNSET);
	wsph_upcalls_end();
	wsph_trace_free(t);
}

/* Several provider threads create, query and close at once: every handle is issued once, each
 * thread reads back its own contexts, and the trace records each handle's create before its
 * close, with nothing lost. */
enum { THREADS = 4, PER_THREAD = 20000 };

struct worker {
	WSPUPCALLTABLE *u;
	int id;
	int failures;
};

static void *work(void *p)
{
	struct worker *w = p;
	for (int i = 0; i < PER_THREAD; i++) {
		int err = 0;
		DWORD_PTR mine = ((DWORD_PTR)w->id << 24) | (DWORD_PTR)i, ctx = 0;
		SOCKET s = w->u->lpWPUCreateSocketHandle(1001, mine, &err);
		if (s == INVALID_SOCKET ||
		    w->u->lpWPUQuerySocketHandleContext(s, &ctx, &err) != 0 || ctx != mine ||
		    w->u->lpWPUCloseSocketHandle(s, &err) != 0)
			w->failures++;
	}
	return NULL;
}

Test(upcalls, threads_create_query_and_close_at_once)
{
	struct wsph_trace *t = wsph_trace_new();
	WSPUPCALLTABLE *u = start(t, NULL, 0);
	pthread_t th[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){u, i + 1, 0};
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(w[i].failures, 0, "thread %d", i);
	}
	size_t n = wsph_trace_count(t), handles = (size_t)THREADS * PER_THREAD;
	cr_assert_eq(n, handles * 3);
	unsigned char *state = calloc(handles, 1); /* 1 created, 2 closed */
	cr_assert_not_null(state);
	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev;
		cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
		cr_assert_eq(ev.seq, i + 1);
		uint64_t s = ev.fn == WSPH_FN_WPUCREATESOCKETHANDLE ? (uint64_t)ev.ret : ev.a[0];
		cr_assert(s >= BASE && (s - BASE) % STEP == 0 && (s - BASE) / STEP < handles,
			  "event %zu: %#llx", i, (unsigned long long)s);
		unsigned char *st = &state[(s - BASE) / STEP];
		if (ev.fn == WSPH_FN_WPUCREATESOCKETHANDLE) {
			cr_assert_eq(*st, 0, "issued twice");
			*st = 1;
		} else if (ev.fn == WSPH_FN_WPUCLOSESOCKETHANDLE) {
			cr_assert_eq(*st, 1, "closed before its create was recorded");
			*st = 2;
		} else {
			cr_assert_eq(ev.fn, WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT);
			cr_assert_eq(*st, 1, "queried outside its life");
		}
		cr_assert_eq(ev.ret, ev.fn == WSPH_FN_WPUCREATESOCKETHANDLE ? (int64_t)s : 0);
	}
	for (size_t i = 0; i < handles; i++)
		cr_assert_eq(state[i], 2);
	free(state);
	wsph_upcalls_end();
	wsph_trace_free(t);
}
