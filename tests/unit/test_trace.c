/* Unit tests of the recorder: ordering, thread safety, formatting and excerpts. */
#include "trace.h"

#include <criterion/criterion.h>
#include <pthread.h>
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
