/* Unit tests of the recorder: ordering, thread safety, formatting and excerpts. */
#include "trace.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wsph_event upcall(enum wsph_fn fn, uint64_t a0, uint64_t a1, int64_t ret)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.ret = ret;
	ev.err = WSPH_ERRNO_UNSET;
	strcpy(ev.module, "mockbase.so");
	return ev;
}

Test(trace, appends_in_order_with_sequence_numbers)
{
	struct wsph_trace *t = wsph_trace_new();
	for (int i = 0; i < 1000; i++) {
		struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, (uint64_t)i, 0, 0);
		cr_assert_eq(wsph_trace_append(t, &ev), (uint64_t)i + 1);
	}
	cr_assert_eq(wsph_trace_count(t), 1000);
	struct wsph_event out;
	cr_assert_eq(wsph_trace_get(t, 499, &out), 0);
	cr_assert_eq(out.seq, 500);
	cr_assert_eq(out.a[0], 499);
	cr_assert_neq(wsph_trace_get(t, 1000, &out), 0);
	wsph_trace_reset(t);
	cr_assert_eq(wsph_trace_count(t), 0);
	wsph_trace_free(t);
}

static void *writer(void *arg)
{
	struct wsph_trace *t = arg;
	for (int i = 0; i < 5000; i++) {
		struct wsph_event ev = upcall(WSPH_FN_WPUSETEVENT, 1, 0, 1);
		wsph_trace_append(t, &ev);
	}
	return NULL;
}

Test(trace, concurrent_appends_lose_nothing)
{
	struct wsph_trace *t = wsph_trace_new();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, writer, t);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(wsph_trace_count(t), 20000);
	for (size_t i = 0; i < 20000; i++) {
		struct wsph_event ev;
		wsph_trace_get(t, i, &ev);
		cr_assert_eq(ev.seq, i + 1);
	}
	wsph_trace_free(t);
}

Test(trace, formats_upcalls_with_names_arguments_and_errors)
{
	char buf[512];
	struct wsph_event ev = upcall(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x1234, 0x3c000004);
	ev.seq = 7;
	ev.step = 2;
	wsph_event_format(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "#7 step 2 upcall WPUCreateSocketHandle(dwCatalogEntryId=1001, "
			      "dwContext=0x1234) -> 0x3c000004 [mockbase.so]");

	ev = upcall(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000004, 0, -1);
	ev.err = 10038;
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "WPUCloseSocketHandle(s=0x3c000004) -> SOCKET_ERROR, WSAENOTSOCK (10038)");

	ev = upcall(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x10, -1);
	ev.err = 10055;
	ev.fault = 10055;
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "WPUCreateSocketHandle(dwCatalogEntryId=1001, dwContext=0x10) -> "
			      "INVALID_SOCKET, WSAENOBUFS (10055) [fault injected: WSAENOBUFS (10055)]");
}

Test(trace, formats_wsp_returns_with_unwritten_errno)
{
	char buf[512];
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.fn = WSPH_FN_WSPSEND;
	ev.a[0] = 0xbadbad0;
	ev.a[1] = 5;
	ev.ret = -1;
	ev.err = WSPH_ERRNO_UNSET;
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "WSPSend(s=0xbadbad0, len=5, sent=0) -> SOCKET_ERROR, *lpErrno not written");
}

Test(trace, excerpt_marks_the_offending_event)
{
	struct wsph_trace *t = wsph_trace_new();
	for (int i = 0; i < 10; i++) {
		struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, (uint64_t)i, 0, 0);
		wsph_trace_append(t, &ev);
	}
	char *x = wsph_trace_excerpt(t, 4, 6, 5);
	cr_assert_not_null(x);
	cr_assert(strstr(x, "   #4 ") == x, "got: %s", x);
	cr_assert_not_null(strstr(x, "\n=> #5 "));
	cr_assert_not_null(strstr(x, "\n   #6 "));
	cr_assert_null(strstr(x, "#7 "));
	free(x);
	char *all = wsph_trace_text(t, 150);
	cr_assert_not_null(strstr(all, "trace truncated"));
	free(all);
	wsph_trace_free(t);
}

/* A long trace keeps only a window in memory: the rest goes to a spill file, and every event reads
 * back the same, text and module included; an update reaches a spilled event too. */
Test(trace, long_trace_spills_and_reads_back_exactly)
{
	struct wsph_trace *t = wsph_trace_new_bounded(2048);
	const size_t n = 20000;
	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev = upcall(i % 3 ? WSPH_FN_WPUFDISSET : WSPH_FN_LOADLIBRARYA,
					      (uint64_t)i, ~(uint64_t)i, (int64_t)i - 7);
		ev.step = (int)(i % 11);
		ev.parent = i / 2;
		ev.table = (int)(i % 3);
		ev.layer = (int)(i % 2);
		ev.fault = i % 5 ? 0 : 10055;
		if (i % 3 == 0)
			snprintf(ev.text, sizeof ev.text, "lib%zu.so", i);
		snprintf(ev.module, sizeof ev.module, "mod%zu.so", i % 4);
		cr_assert_eq(wsph_trace_append(t, &ev), i + 1);
	}
	cr_assert_eq(wsph_trace_count(t), n);
	cr_assert_geq(wsph_trace_spilled(t), n - 4096, "spilled %zu", wsph_trace_spilled(t));

	struct wsph_event upd;
	cr_assert_eq(wsph_trace_get(t, 9, &upd), 0); /* seq 10, long spilled */
	upd.ret = 4242;
	snprintf(upd.text, sizeof upd.text, "updated");
	wsph_trace_update(t, &upd);
	cr_assert_eq(wsph_trace_get(t, 5000, &upd), 0); /* another chunk: seq 10 is read anew */

	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev;
		cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
		cr_assert_eq(ev.seq, i + 1);
		cr_assert_eq(ev.fn, i % 3 ? WSPH_FN_WPUFDISSET : WSPH_FN_LOADLIBRARYA);
		cr_assert_eq(ev.a[0], i);
		cr_assert_eq(ev.a[1], ~(uint64_t)i);
		cr_assert_eq(ev.ret, i == 9 ? 4242 : (int64_t)i - 7);
		cr_assert_eq(ev.step, (int)(i % 11));
		cr_assert_eq(ev.parent, i / 2);
		cr_assert_eq(ev.table, (int)(i % 3));
		cr_assert_eq(ev.layer, (int)(i % 2));
		cr_assert_eq(ev.fault, i % 5 ? 0 : 10055);
		cr_assert_eq(ev.err, WSPH_ERRNO_UNSET);
		char want[64];
		snprintf(want, sizeof want, "mod%zu.so", i % 4);
		cr_assert_str_eq(ev.module, want);
		if (i == 9)
			snprintf(want, sizeof want, "updated");
		else if (i % 3 == 0)
			snprintf(want, sizeof want, "lib%zu.so", i);
		else
			want[0] = '\0';
		cr_assert_str_eq(ev.text, want, "event %zu", i);
	}
	size_t copied;
	struct wsph_event *all = wsph_trace_copy(t, &copied);
	cr_assert_eq(copied, n);
	cr_assert_eq(all[n - 1].a[0], n - 1);
	cr_assert_eq(all[9].ret, 4242);
	free(all);
	wsph_trace_reset(t);
	cr_assert_eq(wsph_trace_count(t), 0);
	cr_assert_eq(wsph_trace_spilled(t), 0);
	struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, 1, 2, 3);
	cr_assert_eq(wsph_trace_append(t, &ev), 1);
	wsph_trace_free(t);
}

static void *rec_writer(void *arg)
{
	struct wsph_trace *t = arg;
	unsigned mod = wsph_trace_module_id("fast.so");
	for (int i = 0; i < 20000; i++) {
		uint64_t seq = 1;
		struct wsph_rec *r = wsph_trace_reserve(t, &seq);
		cr_assert_not_null(r);
		memset((char *)r + sizeof r->seq, 0, sizeof *r - sizeof r->seq);
		r->kind = WSPH_EV_UPCALL;
		r->fn = WSPH_FN_WPUFDISSET;
		r->a[0] = (uint64_t)i;
		r->module = (uint16_t)mod;
		wsph_trace_commit(r, seq);
	}
	return NULL;
}

/* The lock-free path: four threads, a small memory bound, nothing lost or torn. */
Test(trace, lock_free_records_from_threads_spill_and_stay_whole)
{
	struct wsph_trace *t = wsph_trace_new_bounded(2048);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, rec_writer, t);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(wsph_trace_count(t), 80000);
	cr_assert_gt(wsph_trace_spilled(t), 0);
	uint64_t sum = 0;
	for (size_t i = 0; i < 80000; i++) {
		struct wsph_event ev;
		cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
		cr_assert_eq(ev.seq, i + 1);
		cr_assert_str_eq(ev.module, "fast.so");
		cr_assert_eq(ev.fn, WSPH_FN_WPUFDISSET);
		sum += ev.a[0];
	}
	cr_assert_eq(sum, 4 * (uint64_t)19999 * 20000 / 2);
	wsph_trace_free(t);
}

/* A fast recorder's events wait in its own area and enter the trace a batch at a time: each
 * thread's events keep their order, and an event appended after a thread's events were recorded
 * (here: after the thread ended) comes after all of them, however few it left staged. */
struct staged_writer {
	struct wsph_trace *t;
	uint64_t tag, n;
	uint64_t repeat; /* a[1] = i / repeat: runs of equal records (0 or 1: none) */
};

static void *staged_writer(void *p)
{
	struct staged_writer *w = p;
	uint64_t repeat = w->repeat > 1 ? w->repeat : 1;
	for (uint64_t i = 0; i < w->n; i++) {
		uint64_t seq = 0;
		struct wsph_rec *r = wsph_trace_reserve(w->t, &seq);
		cr_assert(r && seq);
		memset(r->a, 0, sizeof r->a);
		r->parent = 0;
		r->ret = (int64_t)(i / repeat % 2);
		r->step = r->fault = r->layer = r->table = r->current_table = 0;
		r->err = WSPH_ERRNO_UNSET;
		r->text = 0;
		r->kind = WSPH_EV_UPCALL;
		r->fn = WSPH_FN_WPUFDISSET;
		r->a[0] = w->tag;
		r->a[1] = i / repeat;
		r->module = 0;
		wsph_trace_commit(r, seq);
	}
	return NULL;
}

/* Runs of equal records (a busy data path repeating its upcall) spill as bare masks and read
 * back exactly, between records that differ. */
Test(trace, runs_of_equal_records_spill_and_read_back_exactly)
{
	struct wsph_trace *t = wsph_trace_new_bounded(2048);
	struct staged_writer w = {t, 0x3c000000u, 30000, 7}; /* seven equal records in a row */
	staged_writer(&w);
	cr_assert_eq(wsph_trace_count(t), 30000);
	cr_assert_gt(wsph_trace_spilled(t), 20000);
	for (size_t i = 0; i < 30000; i++) {
		struct wsph_event ev;
		cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
		cr_assert_eq(ev.seq, i + 1);
		cr_assert_eq(ev.a[0], 0x3c000000u);
		cr_assert_eq(ev.a[1], i / 7, "event %zu", i);
		cr_assert_eq(ev.ret, (int64_t)(i / 7 % 2));
		cr_assert_eq(ev.err, WSPH_ERRNO_UNSET);
	}
	t = wsph_trace_seal(t);
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(t, 29999, &ev), 0);
	cr_assert_eq(ev.a[1], 29999 / 7);
	wsph_trace_free(t);
}

Test(trace, staged_events_keep_each_threads_order_and_precede_later_appends)
{
	struct wsph_trace *t = wsph_trace_new_bounded(2048);
	/* odd counts: each thread leaves a partial batch behind when it ends */
	struct staged_writer w[3] = {{t, 1, 10007, 1}, {t, 2, 7, 1}, {t, 3, 4099, 1}};
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, staged_writer, &w[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	struct wsph_event last = upcall(WSPH_FN_WPUCLOSESOCKETHANDLE, 99, 0, 0);
	uint64_t total = 10007 + 7 + 4099;
	cr_assert_eq(wsph_trace_append(t, &last), total + 1, "after every staged event");
	uint64_t next[4] = {0};
	for (size_t i = 0; i < total; i++) {
		struct wsph_event ev;
		cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
		cr_assert_eq(ev.seq, i + 1);
		cr_assert(ev.a[0] >= 1 && ev.a[0] <= 3);
		cr_assert_eq(ev.a[1], next[ev.a[0]]++, "thread %u in order", (unsigned)ev.a[0]);
	}
	cr_assert_eq(next[1], 10007);
	cr_assert_eq(next[2], 7);
	cr_assert_eq(next[3], 4099);

	/* one thread: a staged event is counted, read and sealed without any other append */
	struct wsph_trace *u = wsph_trace_new();
	struct staged_writer one = {u, 5, 3, 1};
	staged_writer(&one);
	cr_assert_eq(wsph_trace_count(u), 3);
	struct wsph_trace *v = wsph_trace_new();
	struct staged_writer two = {v, 6, 2, 1};
	staged_writer(&two);
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(v, 1, &ev), 0, "a reader reading on sees staged events");
	cr_assert_eq(ev.a[1], 1);
	struct staged_writer three = {v, 6, 1, 1};
	staged_writer(&three);
	v = wsph_trace_seal(v);
	cr_assert_eq(wsph_trace_count(v), 3, "sealing takes the staged event in");
	/* a reset drops what was staged */
	staged_writer(&one);
	wsph_trace_reset(u);
	cr_assert_eq(wsph_trace_count(u), 0);
	wsph_trace_free(u);
	wsph_trace_free(v);
	wsph_trace_free(t);
}

/* Checks every event of a trace made by fill() below. */
static void check_filled(struct wsph_trace *t, size_t n)
{
	cr_assert_eq(wsph_trace_count(t), n);
	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev;
		cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
		cr_assert_eq(ev.seq, i + 1);
		cr_assert_eq(ev.a[0], i);
		cr_assert_eq(ev.ret, (int64_t)i * 3);
		cr_assert_eq(ev.thread, 100 + i % 3);
		cr_assert_eq(ev.time_ns, 1000 * i);
		char want[32];
		if (i % 7)
			want[0] = '\0';
		else
			snprintf(want, sizeof want, "t%zu", i);
		cr_assert_str_eq(ev.text, want, "event %zu", i);
		cr_assert_str_eq(ev.module, "mockbase.so");
	}
	struct wsph_event ev;
	cr_assert_neq(wsph_trace_get(t, n, &ev), 0);
}

/* What a parent does with its child's stream: events stored as they are, updates replacing. */
static void fill(struct wsph_trace *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, (uint64_t)i, 0, -1);
		ev.seq = i + 1;
		ev.thread = 100 + i % 3;
		ev.time_ns = 1000 * i;
		if (i % 7 == 0)
			snprintf(ev.text, sizeof ev.text, "t%zu", i);
		cr_assert_eq(wsph_trace_put(t, &ev), i + 1);
		ev.ret = (int64_t)i * 3; /* the RETURN data, sent again */
		cr_assert_eq(wsph_trace_put(t, &ev), i + 1);
	}
	struct wsph_event gap = upcall(WSPH_FN_WPUFDISSET, 0, 0, 0);
	gap.seq = n + 2;
	cr_assert_eq(wsph_trace_put(t, &gap), 0, "a gap is dropped");
}

Test(trace, put_keeps_seq_time_and_thread_and_seal_keeps_every_event)
{
	struct wsph_trace *t = wsph_trace_new_bounded(2048);
	fill(t, 1500);
	check_filled(t, 1500);
	cr_assert_eq(wsph_trace_spilled(t), 0);
	size_t before = wsph_trace_memory(t);
	t = wsph_trace_seal(t);
	check_filled(t, 1500);
	cr_assert_eq(wsph_trace_spilled(t), 0, "a trace that never spilled has no file");
	size_t after = wsph_trace_memory(t);
	cr_assert_lt(after * 4, before, "sealed %zu bytes, %zu before", after, before);
	/* read-only */
	struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, 1, 2, 3);
	cr_assert_eq(wsph_trace_append(t, &ev), 0);
	check_filled(t, 1500);
	cr_assert_eq(wsph_trace_seal(t), t);
	wsph_trace_free(t);
}

/* A finished chunk is encoded as soon as the next one begins, spill or not: an update of one of
 * its events afterwards must reach the spill file and the seal, not the encoding made before. */
static void update_ret(struct wsph_trace *t, size_t i, int64_t ret)
{
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(t, i, &ev), 0);
	ev.ret = ret;
	wsph_trace_update(t, &ev);
}

static void expect_ret(struct wsph_trace *t, size_t i, int64_t ret)
{
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
	cr_assert_eq(ev.ret, ret, "event %zu", i);
}

Test(trace, updates_after_a_chunk_was_encoded_are_kept)
{
	for (int bounded = 0; bounded < 2; bounded++) {
		struct wsph_trace *t = bounded ? wsph_trace_new_bounded(2048) : wsph_trace_new();
		fill(t, 2500); /* chunks 0 and 1 encoded; bounded: chunk 0 in the spill file */
		update_ret(t, 1500, -5);	  /* chunk 1, encoded, in memory */
		update_ret(t, 10, -6);		  /* chunk 0 */
		struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, 0, 0, 0);
		for (size_t i = 2500; i < 4500; i++) /* bounded: chunk 1 goes to the file now */
			cr_assert_eq(wsph_trace_append(t, &ev), i + 1);
		cr_assert_eq(wsph_trace_spilled(t) > 0, bounded);
		expect_ret(t, 1500, -5);
		expect_ret(t, 10, -6);
		expect_ret(t, 1501, 1501 * 3);
		t = wsph_trace_seal(t);
		cr_assert_eq(wsph_trace_count(t), 4500);
		expect_ret(t, 1500, -5);
		expect_ret(t, 10, -6);
		expect_ret(t, 1499, 1499 * 3);
		expect_ret(t, 4499, 0);
		wsph_trace_free(t);
	}
}

/* Spilled chunks wait in memory to be written to the file together: a trace long enough to fill
 * that buffer several times reads back whole from both, before and after the seal, and an update
 * reaches an event whose chunk was written out. */
Test(trace, a_long_spill_reads_back_from_the_file_and_the_waiting_bytes)
{
	enum { N = 200000 };
	struct wsph_trace *t = wsph_trace_new_bounded(2048);
	for (size_t i = 0; i < N; i++) {
		uint64_t mix = (uint64_t)i * 0x9e3779b97f4a7c15ull; /* 8 bytes of its own each */
		struct wsph_event ev = upcall(WSPH_FN_WPUFDISSET, mix, ~mix, (int64_t)mix);
		cr_assert_eq(wsph_trace_append(t, &ev), i + 1);
	}
	update_ret(t, 3, 33);
	for (int sealed = 0; sealed < 2; sealed++) {
		cr_assert_eq(wsph_trace_count(t), N);
		for (size_t i = 0; i < N; i += 97) {
			uint64_t mix = (uint64_t)i * 0x9e3779b97f4a7c15ull;
			struct wsph_event ev;
			cr_assert_eq(wsph_trace_get(t, i, &ev), 0, "event %zu", i);
			cr_assert_eq(ev.a[0], mix, "event %zu", i);
			cr_assert_eq(ev.a[1], ~mix, "event %zu", i);
		}
		expect_ret(t, 3, 33);
		expect_ret(t, N - 1, (int64_t)((uint64_t)(N - 1) * 0x9e3779b97f4a7c15ull));
		if (!sealed)
			t = wsph_trace_seal(t);
	}
	cr_assert_eq(wsph_trace_spilled(t), N);
	wsph_trace_free(t);
}

Test(trace, a_sealed_trace_costs_a_small_part_of_its_events)
{
	struct wsph_trace *t = wsph_trace_new();
	fill(t, 20);
	t = wsph_trace_seal(t);
	check_filled(t, 20);
	/* 20 events as struct wsph_event copies were 20 * 352 bytes */
	cr_assert_lt(wsph_trace_memory(t), 20 * sizeof(struct wsph_event) / 2, "%zu bytes",
		     wsph_trace_memory(t));
	wsph_trace_free(t);
	t = wsph_trace_seal(wsph_trace_new());
	cr_assert_eq(wsph_trace_count(t), 0);
	wsph_trace_free(t);
}

Test(trace, spilled_traces_share_one_file_and_stay_readable_after_seal)
{
	enum { N = 6, EV = 9000 };
	struct wsph_trace *t[N];
	for (int k = 0; k < N; k++) {
		t[k] = wsph_trace_new_bounded(2048);
		fill(t[k], EV + (size_t)k);
		cr_assert_gt(wsph_trace_spilled(t[k]), 0);
		t[k] = wsph_trace_seal(t[k]);
		cr_assert_eq(wsph_trace_spilled(t[k]), EV + (size_t)k, "all of it in the file");
	}
	for (int k = N - 1; k >= 0; k--)
		check_filled(t[k], EV + (size_t)k);
	/* an update after the seal reads back */
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(t[2], 4, &ev), 0);
	ev.ret = 77;
	wsph_trace_update(t[2], &ev);
	cr_assert_eq(wsph_trace_get(t[2], 5000, &ev), 0);
	cr_assert_eq(wsph_trace_get(t[2], 4, &ev), 0);
	cr_assert_eq(ev.ret, 77);
	for (int k = 0; k < N; k++)
		wsph_trace_free(t[k]);
	/* the file is written over once nobody reads it; a new trace is whole all the same */
	struct wsph_trace *u = wsph_trace_new_bounded(2048);
	fill(u, 7000);
	u = wsph_trace_seal(u);
	check_filled(u, 7000);
	wsph_trace_free(u);
}

/* The interposed imports read with their own parameter names: strings as strings, handles and
 * pointers in hex, typed results, no *lpErrno where the function has none (GetLastError). */
Test(trace, formats_interposed_calls_by_their_parameters)
{
	char buf[512];
	struct wsph_event ev = upcall(WSPH_FN_LOADLIBRARYW, 0x2d6da0000, 1, 0x2d6da0000);
	ev.table = WSPH_TABLE_EXPORT;
	ev.seq = 5;
	ev.step = 1;
	snprintf(ev.text, sizeof ev.text, "C:\\x\\mock\"base.dll");
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "LoadLibraryW(lpLibFileName=\"C:\\\\x\\\\mock\\\"base.dll\") -> 0x2d6da0000");
	wsph_event_format(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "#5 step 1 upcall LoadLibraryW(lpLibFileName=\"C:\\\\x\\\\mock\\\"base.dll\") "
			      "-> 0x2d6da0000 (interposed) [mockbase.so]");

	ev = upcall(WSPH_FN_LOADLIBRARYA, 0, 0, 0);
	snprintf(ev.text, sizeof ev.text, "(null)");
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "LoadLibraryA(lpLibFileName=NULL) -> NULL");

	ev = upcall(WSPH_FN_GETPROCADDRESS, 0x2d6da0000, 5, 1);
	snprintf(ev.text, sizeof ev.text, "WSPStartup");
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "GetProcAddress(hModule=0x2d6da0000, lpProcName=\"WSPStartup\") -> non-NULL");

	ev = upcall(WSPH_FN_FREELIBRARY, 0x2d6da0000, 0, 1);
	snprintf(ev.text, sizeof ev.text, "mockbase.dll");
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "FreeLibrary(hLibModule=0x2d6da0000 (mockbase.dll)) -> TRUE");

	ev = upcall(WSPH_FN_WSCGETPROVIDERPATH, 0x7ff0, 260, -1);
	ev.err = 10014;
	snprintf(ev.text, sizeof ev.text, "%%WSPH_LOWER_DIR%%\\mockbase.dll");
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "WSCGetProviderPath(lpProviderId=0x7ff0, lpszProviderDllPath="
			      "\"%WSPH_LOWER_DIR%\\\\mockbase.dll\", lpProviderDllPathLen=260) -> "
			      "SOCKET_ERROR, WSAEFAULT (10014)");

	ev = upcall(WSPH_FN_WSCENUMPROTOCOLS, 0, 0, -1);
	ev.err = 10055;
	wsph_event_call_text(&ev, buf, sizeof buf);
	cr_assert_str_eq(buf, "WSCEnumProtocols(lpiProtocols=0x0, lpdwBufferLength=0) -> "
			      "SOCKET_ERROR, WSAENOBUFS (10055)");

	ev = upcall(WSPH_FN_POSTMESSAGEW, 0x1234, 0x401, 0);
	ev.a[2] = 0x3c000000;
	ev.a[3] = 0x20;
	wsph_event_call_text(&ev, buf, sizeof buf);
	/* the message and the select reply by name (decode.h) */
	cr_assert_str_eq(buf, "PostMessageW(hWnd=0x1234, Msg=WM_USER+1 (0x401), wParam=0x3c000000, "
			      "lParam=FD_CLOSE) -> FALSE");
}

/* What the writers ask of the table: the parameters as shown, pointers, typed returns. */
Test(trace, the_function_table_answers_the_writers)
{
	struct wsph_param ps[WSPH_FN_PARAMS_MAX];
	cr_assert_eq(wsph_fn_params(WSPH_FN_LOADLIBRARYEXW, ps), 1);
	cr_assert_str_eq(ps[0].name, "lpLibFileName");
	cr_assert_eq(ps[0].kind, 's');
	cr_assert_eq(ps[0].slot, -1);
	cr_assert_eq(wsph_fn_params(WSPH_FN_WSPSEND, ps), 3);
	cr_assert(ps[2].output && !ps[0].output);
	cr_assert(wsph_fn_arg_is_pointer(WSPH_FN_WPUCREATESOCKETHANDLE, "dwContext"));
	cr_assert(!wsph_fn_arg_is_pointer(WSPH_FN_WPUCREATESOCKETHANDLE, "dwCatalogEntryId"));
	cr_assert(wsph_fn_arg_is_pointer(WSPH_FN_GETPROCADDRESS, "hModule"));
	cr_assert(wsph_fn_ret_is_pointer(WSPH_FN_LOADLIBRARYW));
	cr_assert(wsph_fn_ret_is_pointer(WSPH_FN_WPUCREATEEVENT));
	cr_assert(!wsph_fn_ret_is_pointer(WSPH_FN_WSPSOCKET));
	cr_assert(wsph_fn_ret_failed(WSPH_FN_LOADLIBRARYW, 0));
	cr_assert(!wsph_fn_ret_errno(WSPH_FN_LOADLIBRARYW));
	cr_assert(wsph_fn_ret_errno(WSPH_FN_WSCENUMPROTOCOLS));
	cr_assert(wsph_fn_ret_failed(WSPH_FN_WSPSTARTUP, 10092));
	char b[64];
	cr_assert_str_eq(wsph_fn_ret_text(WSPH_FN_WPUCREATEEVENT, 0, b, sizeof b), "NULL");
	cr_assert_str_eq(wsph_quote("a\tb", b, sizeof b), "\"a\\x09b\"");
	cr_assert_str_eq(wsph_quote("abcdefghijklmnop", b, 12), "\"abcde...\"");
}
