/* Unit tests of the rule engine: event streams in, exact rule IDs out. */
#include "rules.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <string.h>

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;
static uint64_t open_call;

#define WINDOW 0x99u

static void load(unsigned kind)
{
	struct wsph_diag d;
	memset(&set, 0, sizeof set);
	cr_assert_eq(wsph_ruleset_load(&set, WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &d), 0, "%s",
		     d.text);
	trace = wsph_trace_new();
	static const uint32_t ids[] = {1001, 1002};
	struct wsph_rules_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.set = &set;
	cfg.trace = trace;
	cfg.kind = kind;
	cfg.catalog_ids = ids;
	cfg.n_catalog_ids = 2;
	cfg.window = (void *)(uintptr_t)WINDOW;
	engine = wsph_rules_new(&cfg);
}

static void nonifs(void) { load(WSPH_KIND_NONIFS); }
static void ifs(void) { load(WSPH_KIND_IFS); }

static void teardown(void)
{
	wsph_rules_free(engine);
	wsph_trace_free(trace);
	wsph_ruleset_free(&set);
}

static void call(enum wsph_fn fn, uint64_t a0)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_CALL;
	ev.fn = fn;
	ev.a[0] = a0;
	if (fn == WSPH_FN_WSPSOCKET)
		ev.a[4] = WSA_FLAG_OVERLAPPED; /* dwFlags: the driver makes every socket overlapped */
	ev.err = WSPH_ERRNO_UNSET;
	open_call = wsph_trace_append(trace, &ev);
}

static void ret(enum wsph_fn fn, uint64_t a0, int64_t rv, int err)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.parent = open_call;
	ev.ret = rv;
	ev.err = err;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

/* An upcall inside the open call, through `table`; `fault` is the error injected into it (0 none). */
static void up_at(enum wsph_fn fn, uint64_t a0, uint64_t a1, int64_t rv, int table, int fault)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.ret = rv;
	ev.err = WSPH_ERRNO_UNSET;
	ev.parent = open_call;
	ev.fault = fault;
	ev.table = table;
	strcpy(ev.module, "provider.so");
	wsph_trace_append(trace, &ev);
}

static void up(enum wsph_fn fn, uint64_t a0, uint64_t a1, int64_t rv, int table)
{
	up_at(fn, a0, a1, rv, table, 0);
}

static void startup_ok(unsigned requested, unsigned version, uint64_t nulls)
{
	call(WSPH_FN_WSPSTARTUP, requested);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.fn = WSPH_FN_WSPSTARTUP;
	ev.parent = open_call;
	ev.a[0] = requested;
	ev.a[1] = version;
	ev.a[2] = 0x0202;
	ev.a[3] = nulls;
	ev.a[4] = 1;
	ev.a[5] = 1;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

/* The rule IDs found, in order, joined by spaces. */
static const char *found(void)
{
	static char buf[4096];
	size_t n;
	wsph_rules_finish(engine);
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(buf, " ");
		strcat(buf, f[i].rule->id);
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	return buf;
}

Test(rules, every_rule_the_engine_reports_is_in_the_catalogue, .init = nonifs, .fini = teardown)
{
	for (size_t i = 0; wsph_rules_ids_used[i]; i++)
		cr_expect_not_null(wsph_ruleset_find(&set, wsph_rules_ids_used[i]), "%s is not in rules.yaml",
				   wsph_rules_ids_used[i]);
}

Test(rules, conforming_nonifs_socket_lifecycle_is_clean, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLOSESOCKET, 0x3c000000);
	up(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000000, 0, 0, WSPH_TABLE_A);
	ret(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLEANUP, 0);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "");
}

Test(rules, close_without_handle_release, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLOSESOCKET, 0x3c000000);
	ret(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLEANUP, 0);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	/* one defect (the close kept the handle), one finding: its leak is not charged again */
	cr_assert_str_eq(found(), "WPU.CloseSocketHandle.OnClose");
}

Test(rules, double_release_and_foreign_catalog_id, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLOSESOCKET, 0x3c000000);
	up(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000000, 0, 0, WSPH_TABLE_A);
	up(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000000, 0, -1, WSPH_TABLE_A);
	ret(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "WPU.CreateSocketHandle.OwnCatalogId WPU.CloseSocketHandle.MatchesCreate");
}

Test(rules, failure_without_errno_and_handle_not_from_the_table, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSEND, 0xbadbad0);
	ret(WSPH_FN_WSPSEND, 0xbadbad0, -1, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x1234, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "SPI.Errno.OnFailure WPU.CreateSocketHandle.BeforeReturn");
}

Test(rules, injected_create_failure_must_propagate, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = WSPH_FN_WPUCREATESOCKETHANDLE;
	ev.a[0] = 1001;
	ev.ret = -1;
	ev.err = ev.fault = WSAENOBUFS;
	ev.parent = open_call;
	wsph_trace_append(trace, &ev);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x77, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "WPU.CreateSocketHandle.FailurePropagates");
}

Test(rules, ifs_provider_must_return_the_modified_handle, .init = ifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUMODIFYIFSHANDLE, 1001, 0x1000, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x1000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x2000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPSEND, 0x3c000000);
	up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, -1, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSEND, 0x3c000000, 0, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "WPU.ModifyIFSHandle.UseReturned WPU.ModifyIFSHandle.BeforeReturn "
				  "WPU.QueryContext.OnlyCreatedHandles");
}

Test(rules, startup_results, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0002, 0x0202, 1ull << 15); /* asked 2.0, told 2.2, GetQOSByName NULL */
	call(WSPH_FN_WSPSTARTUP, 0x0101);
	ret(WSPH_FN_WSPSTARTUP, 0x0101, WSAEINVAL, 0);
	/* a wrong code for a low version is VersionTooLow's alone (one wrong result) */
	cr_assert_str_eq(found(), "SPI.Startup.VersionMin SPI.Startup.ProcTableComplete "
				  "SPI.Startup.VersionTooLow");
}

Test(rules, upcall_tables_poisoned_and_stale, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_POISON);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = WSPH_FN_WPUFDISSET;
	ev.table = WSPH_TABLE_A;
	ev.current_table = WSPH_TABLE_B;
	ev.step = 3;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
	cr_assert_str_eq(found(), "SPI.Startup.UpcallTableCopied SPI.Startup.MostRecentUpcallTable");
}

Test(rules, cleanup_balance, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLEANUP, 0); /* non-final, but it releases the handle */
	up(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000000, 0, 0, WSPH_TABLE_A);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLEANUP, 0); /* final, reports an error */
	ret(WSPH_FN_WSPCLEANUP, 0, -1, 0);
	call(WSPH_FN_WSPCLEANUP, 0); /* unbalanced, but "succeeds" */
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	/* the cleanup should not have failed: that is the defect, not its error code */
	cr_assert_str_eq(found(), "SPI.Startup.RefCount SPI.Cleanup.SuccessReturnsZero "
				  "SPI.Cleanup.Unbalanced");
}

/* ---- the asynchronous paths ---- */

/* A CALL with all six arguments (the driver's layout for overlapped calls and registrations). */
static void callx(enum wsph_fn fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		  uint64_t a5)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_CALL;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.a[2] = a2;
	ev.a[3] = a3;
	ev.a[4] = a4;
	ev.a[5] = a5;
	ev.err = WSPH_ERRNO_UNSET;
	open_call = wsph_trace_append(trace, &ev);
}

/* The RETURN of the open call, with the CALL's arguments (as the driver copies them). */
static void retx(int64_t rv, int err, uint64_t a2)
{
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(trace, (size_t)open_call - 1, &ev), 0);
	ev.kind = WSPH_EV_RETURN;
	ev.parent = open_call;
	ev.ret = rv;
	ev.err = err;
	ev.a[2] = a2;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

static void upx(enum wsph_fn fn, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, int64_t rv,
		uint64_t parent)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.a[2] = a2;
	ev.a[3] = a3;
	ev.ret = rv;
	ev.err = WSPH_ERRNO_UNSET;
	ev.parent = parent;
	strcpy(ev.module, "provider.so");
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

static uint64_t socket_ok(uint64_t h)
{
	call(WSPH_FN_WSPSOCKET, AF_INET);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, (int64_t)h, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, (int64_t)h, WSPH_ERRNO_UNSET);
	return h;
}

Test(rules, async_select_messages, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPASYNCSELECT, s, WINDOW, 0x8001, FD_READ | FD_CLOSE, 0, 0);
	upx(WSPH_FN_WPUPOSTMESSAGE, WINDOW, 0x8001, s, FD_READ, 1, 0); /* clean, from a thread */
	retx(0, WSPH_ERRNO_UNSET, 0);
	upx(WSPH_FN_WPUPOSTMESSAGE, WINDOW, 0x8002, s, FD_READ, 1, 0); /* wrong Msg */
	upx(WSPH_FN_WPUPOSTMESSAGE, WINDOW, 0x8001, s, FD_READ | FD_CLOSE, 1, 0); /* two events */
	callx(WSPH_FN_WSPASYNCSELECT, s, WINDOW, 0x8001, 0, 0, 0);
	retx(0, WSPH_ERRNO_UNSET, 0);
	upx(WSPH_FN_WPUPOSTMESSAGE, WINDOW, 0x8001, s, FD_READ, 1, 0); /* after the cancel */
	cr_assert_str_eq(found(), "WPU.PostMessage.MatchesRegistration "
				  "WPU.PostMessage.StopsAfterCancel");
}

Test(rules, notifications_after_the_final_cleanup_began, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPASYNCSELECT, s, WINDOW, 0x8001, FD_READ, 0, 0);
	retx(0, WSPH_ERRNO_UNSET, 0);
	callx(WSPH_FN_WSPRECV, s, 16, 3, 0x5000, 0x6000, 0); /* overlapped, routine */
	retx(-1, WSA_IO_PENDING, 0);
	call(WSPH_FN_WSPCLEANUP, 0);
	upx(WSPH_FN_WPUPOSTMESSAGE, WINDOW, 0x8001, s, FD_READ, 1, open_call);
	upx(WSPH_FN_WPUCLOSESOCKETHANDLE, s, 0, 0, 0, 0, open_call);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	upx(WSPH_FN_WPUQUERYBLOCKINGCALLBACK, 1001, 0, 0, 0, 0, 0); /* a late upcall */
	cr_assert_str_eq(found(), "SPI.Cleanup.Silent WPU.Table.NotAfterFinalCleanup");
}

Test(rules, overlapped_completions, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	/* a receive with a routine, pending */
	callx(WSPH_FN_WSPRECV, s, 16, 3, 0x5000, 0x6000, 0);
	retx(-1, WSA_IO_PENDING, 0);
	/* a receive with an event, pending */
	callx(WSPH_FN_WSPRECV, s, 16, 3, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0);
	upx(WSPH_FN_WPUQUEUEAPC, 0x10, 0x8000, 0x20, 0x7a000004, 0, 0); /* the provider's APC */
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, s, 0x5100, 0, 4, 0, 0);	/* clean */
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, s, 0x5000, 0, 4, 0, 0);	/* has a routine */
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, s, 0x5900, 0, 4, 0, 0);	/* not the client's */
	upx(WSPH_FN_WPUQUEUEAPC, 0x10, 0x6000, 0x20, 0x0dead7d0, 0, 0);	/* client routine, poison */
	upx(WSPH_FN_WPUSETEVENT, 0x7777, 0, 0, 0, 1, 0);			/* nobody's event */
	/* one upcall, one finding: the client's routine queued with an uncopied thread id */
	cr_assert_str_eq(found(), "WPU.QueueApc.OnlyWithRoutine WPU.CompleteOverlapped.ClientOverlapped "
				  "WPU.QueueApc.ThreadIdCopied "
				  "WPU.SetEvent.Optional");
}

Test(rules, completion_after_the_handle_was_released, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPRECV, s, 16, 3, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0);
	callx(WSPH_FN_WSPCLOSESOCKET, s, 0, 0, 0, 0, 0);
	upx(WSPH_FN_WPUCLOSESOCKETHANDLE, s, 0, 0, 0, 0, open_call);
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, s, 0x5100, WSA_OPERATION_ABORTED, 0, 0, open_call);
	retx(0, WSPH_ERRNO_UNSET, 0);
	cr_assert_str_eq(found(), "WPU.Handles.NoUseAfterClose");
}

Test(rules, thread_ids_and_events, .init = nonifs, .fini = teardown)
{
	callx(WSPH_FN_WSPSTARTUP, 0x0202, 0, 0, 0, 0, 0);
	upx(WSPH_FN_WPUOPENCURRENTTHREAD, 0x10, 0x7a000008, 0, 0, -1, open_call); /* too early */
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(trace, (size_t)open_call - 1, &ev), 0);
	ev.kind = WSPH_EV_RETURN;
	ev.parent = open_call;
	ev.a[1] = ev.a[2] = 0x0202; /* wVersion, wHighVersion */
	ev.a[4] = ev.a[5] = 1;	    /* description terminated, WSPDATA written */
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
	startup_ok(0x0202, 0x0202, 0);
	upx(WSPH_FN_WPUOPENCURRENTTHREAD, 0x10, 0x7a000010, 0, 0, 0, 0);
	upx(WSPH_FN_WPUCLOSETHREAD, 0x10, 0x7a00000c, 1, 0, -1, 0); /* the client's thread id */
	upx(WSPH_FN_WPUCREATEEVENT, 0, 0, 0, 0, 0x4444, 0);
	upx(WSPH_FN_WPUSETEVENT, 0x4444, 0, 0, 0, 1, 0); /* its own event: fine */
	upx(WSPH_FN_WPUCLOSEEVENT, 0x5555, 1, 0, 0, 0, 0); /* a client event */
	call(WSPH_FN_WSPCLEANUP, 0);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLEANUP, 0);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "WPU.OpenCurrentThread.AfterStartup WPU.OpenCurrentThread.Paired "
				  "WPU.Event.NoCloseOfClientEvents WPU.Handles.NoLeak");
}

Test(rules, return_values_and_byte_counts, .init = ifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	callx(WSPH_FN_WSPSEND, 0x4000, 4, 0, 0, 0, 0);
	retx(4, WSPH_ERRNO_UNSET, 4); /* the byte count as the return value */
	callx(WSPH_FN_WSPRECV, 0x4000, 4, 0, 0, 0, 0);
	retx(0, WSPH_ERRNO_UNSET, 5); /* more than the buffer */
	callx(WSPH_FN_WSPRECV, 0x4000, 16, 3, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0);
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, 0x4000, 0x5100, 0, 4, 0, 0); /* an IFS provider */
	upx(WSPH_FN_WPUQUERYBLOCKINGCALLBACK, 7, 0, 0, 0, -1, 0); /* not its catalog id */
	/* one upcall (an IFS provider completing with its own handle), one finding */
	cr_assert_str_eq(found(), "SPI.Return.Domain SPI.Transfer.WithinBuffers "
				  "WPU.CompleteOverlapped.IFSNotUsed "
				  "WPU.BlockingCallback.OwnCatalogId");
}

/* WSPCloseSocket with an overlapped receive pending: the handle may be released after the
 * operation completes (the abort is delivered later, from a provider thread). */
Test(rules, close_with_pending_operation_may_defer_the_release, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPRECV, s, 16, 3, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0);
	callx(WSPH_FN_WSPCLOSESOCKET, s, 0, 0, 0, 0, 0);
	retx(0, WSPH_ERRNO_UNSET, 0);
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, s, 0x5100, WSA_OPERATION_ABORTED, 0, 0, 0);
	upx(WSPH_FN_WPUCLOSESOCKETHANDLE, s, 0, 0, 0, 0, 0);
	call(WSPH_FN_WSPCLEANUP, 0);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	cr_assert_str_eq(found(), "");
}

/* ... but it must come: a deferred release that never happens is caught at the end. */
Test(rules, deferred_release_that_never_comes, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPRECV, s, 16, 3, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0);
	callx(WSPH_FN_WSPCLOSESOCKET, s, 0, 0, 0, 0, 0);
	retx(0, WSPH_ERRNO_UNSET, 0);
	upx(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, s, 0x5100, WSA_OPERATION_ABORTED, 0, 0, 0);
	call(WSPH_FN_WSPCLEANUP, 0);
	ret(WSPH_FN_WSPCLEANUP, 0, 0, WSPH_ERRNO_UNSET);
	/* the close that never released is the one finding; its leak is not charged again */
	cr_assert_str_eq(found(), "WPU.CloseSocketHandle.OnClose");
}

/* ---- the codes of failing calls (rules_errno.c) ---- */

#include "errtable.h"

Test(rules, errno_codes_documented_and_io_pending, .init = nonifs, .fini = teardown)
{
	struct wsph_diag d;
	cr_assert_eq(wsph_errtable_load_beside(set.path, &set.errors, &d), 0, "%s", d.text);
	cr_assert_not_null(set.errors);
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPGETPEERNAME, s, 0, 0, 0, 0, 0);
	retx(-1, WSAENOTCONN, 0); /* listed: fine */
	callx(WSPH_FN_WSPGETPEERNAME, s, 0, 0, 0, 0, 0);
	retx(-1, WSAEINVAL, 0); /* not on the WSPGetPeerName page */
	callx(WSPH_FN_WSPRECV, s, 4, 1, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0); /* overlapped: fine */
	cr_assert_str_eq(found(), "SPI.Errno.Documented");
}

Test(rules, errno_io_pending_without_overlapped, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	uint64_t s = socket_ok(0x3c000000);
	callx(WSPH_FN_WSPRECV, s, 4, 0, 0, 0, 0); /* neither lpOverlapped nor a routine */
	retx(-1, WSA_IO_PENDING, 0);
	cr_assert_str_eq(found(), "SPI.Errno.IoPendingOnlyOverlapped");
}

Test(rules, errno_io_pending_on_a_nonoverlapped_socket, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	callx(WSPH_FN_WSPSOCKET, AF_INET, 1, 6, 1001, 0, 0); /* dwFlags 0 */
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	retx(0x3c000000, WSPH_ERRNO_UNSET, 6);
	callx(WSPH_FN_WSPRECV, 0x3c000000, 4, 1, 0x5100, 0, 0x7000);
	retx(-1, WSA_IO_PENDING, 0);
	callx(WSPH_FN_WSPBIND, 0x3c000000, 0, 0, 0, 0, 0);
	retx(-1, WSA_IO_PENDING, 0); /* no overlapped form at all */
	cr_assert_str_eq(found(), "SPI.Errno.IoPendingOnlyOverlapped");
}

/* ---- every upcall of a call is kept (no fixed cap) ---- */

/* 299 context queries, then the handle: the 300th upcall of the call is still seen. */
Test(rules, a_handle_created_after_300_upcalls_is_seen, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	for (int i = 0; i < 299; i++)
		up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, SOCKET_ERROR, WSPH_TABLE_A);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	call(WSPH_FN_WSPCLOSESOCKET, 0x3c000000);
	up(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000000, 0, 0, WSPH_TABLE_A);
	ret(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0, WSPH_ERRNO_UNSET);
	cr_expect_str_eq(found(), "");
}

/* A fault injected into the 400th upcall of a call that then succeeds is charged. */
Test(rules, a_fault_past_256_upcalls_is_seen, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	for (int i = 0; i < 399; i++)
		up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, SOCKET_ERROR, WSPH_TABLE_A);
	up_at(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, SOCKET_ERROR, WSPH_TABLE_A, 10055);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET);
	cr_expect_str_eq(found(), "WPU.CreateSocketHandle.FailurePropagates");
}

/* Frames nested and returning out of order keep their own upcalls. */
Test(rules, out_of_order_returns_keep_each_frames_upcalls, .init = nonifs, .fini = teardown)
{
	startup_ok(0x0202, 0x0202, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	uint64_t outer = open_call;
	for (int i = 0; i < 40; i++)
		up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, SOCKET_ERROR, WSPH_TABLE_A);
	call(WSPH_FN_WSPSOCKET, AF_INET); /* another thread's call, inside the first */
	uint64_t inner = open_call;
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x78, 0x3c000004, WSPH_TABLE_A);
	open_call = outer;
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, WSPH_TABLE_A);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000, WSPH_ERRNO_UNSET); /* the outer returns first */
	open_call = inner;
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000004, WSPH_ERRNO_UNSET);
	for (uint64_t h = 0x3c000000; h <= 0x3c000004; h += 4) {
		call(WSPH_FN_WSPCLOSESOCKET, h);
		up(WSPH_FN_WPUCLOSESOCKETHANDLE, h, 0, 0, WSPH_TABLE_A);
		ret(WSPH_FN_WSPCLOSESOCKET, h, 0, WSPH_ERRNO_UNSET);
	}
	cr_expect_str_eq(found(), "");
}

/* An unterminated description and a wrong version are two defects, two findings. */
Test(rules, version_judged_whatever_the_description, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.fn = WSPH_FN_WSPSTARTUP;
	ev.parent = open_call;
	ev.a[0] = 0x0202;
	ev.a[1] = 0x0002;
	ev.a[2] = 0x0202;
	ev.a[4] = 0; /* szDescription without a NUL */
	ev.a[5] = 1;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
	cr_expect_str_eq(found(), "SPI.Startup.WSPDataFilled SPI.Startup.VersionMin");
}

/* ---- the interposed path functions: ExpandEnvironmentStrings, WSCGetProviderPath, LoadLibrary,
 * GetProcAddress (arguments as harness/imports.c records them) ---- */

#define HASH_FULL 0x1111u  /* the complete expansion of the source */
#define HASH_OTHER 0x2222u /* any other path */

/* An interposed call inside the open call: its six arguments, return value and text. */
static uint64_t imp(enum wsph_fn fn, const uint64_t a[6], int64_t rv, const char *text)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = fn;
	for (int i = 0; i < 6; i++)
		ev.a[i] = a[i];
	ev.ret = rv;
	ev.err = WSPH_ERRNO_UNSET;
	ev.parent = open_call;
	ev.step = 1;
	snprintf(ev.text, sizeof ev.text, "%s", text);
	strcpy(ev.module, "layer.so");
	uint64_t seq = wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
	return seq;
}

/* ExpandEnvironmentStringsW(src, dst, size) of a 29-character source that needs 56. */
static void expand_w(uint64_t src, uint64_t dst, uint64_t size)
{
	uint64_t a[6] = {src, dst, size, 29, 56, HASH_FULL};
	imp(WSPH_FN_EXPANDENVIRONMENTSTRINGSW, a, 56, "%WSPH_LOWER_DIR%/mockbase.so");
}

/* LoadLibraryW of the text in buffer `buf`; `hash` its identity; returns the module (its seq). */
static uint64_t load_w(uint64_t buf, uint64_t hash, int from_catalog, int unexpanded)
{
	uint64_t a[6] = {0x7000, (uint64_t)from_catalog, (uint64_t)unexpanded, buf, hash, 0};
	return imp(WSPH_FN_LOADLIBRARYW, a, 0x7000, "/lib/mockbase.so");
}

static void lookup(uint64_t load_seq, int from_catalog, const char *name)
{
	uint64_t a[6] = {0x7000, load_seq, (uint64_t)from_catalog, 0, 0, 0};
	imp(WSPH_FN_GETPROCADDRESS, a, 1, name);
}

Test(rules, expand_in_place_is_one_finding_at_the_expansion, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	expand_w(0x1000, 0x1000, 29); /* in place, too small: the user's case */
	/* the unexpanded text is then loaded from that buffer: not charged again as Expands */
	load_w(0x1000, HASH_OTHER, 0, 1);
	/* the startup fails because of it (a code the WSPStartup page lists) */
	ret(WSPH_FN_WSPSTARTUP, 0x0202, WSASYSNOTREADY, WSPH_ERRNO_UNSET);
	size_t n;
	wsph_rules_finish(engine);
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].rule->id, "WPU.GetProviderPath.ExpandBuffer");
	cr_expect_eq(f[0].upcall_fn, WSPH_FN_EXPANDENVIRONMENTSTRINGSW, "the site is the call");
	free(f[0].message);
	free(f[0].excerpt);
	free(f);
}

Test(rules, expand_overlapping_but_not_the_same_pointer, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	expand_w(0x1000, 0x1010, 260); /* lpDst 8 characters into lpSrc */
	expand_w(0x1000, 0x1000 + 29 * 2, 260); /* right after the source's terminator: fine */
	expand_w(0x1000, 0x1000, 0);	       /* a size query (nothing written): fine */
	cr_expect_str_eq(found(), "WPU.GetProviderPath.ExpandBuffer");
}

Test(rules, expand_result_used_although_it_did_not_fit, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	expand_w(0x1000, 0x2000, 16);
	uint64_t m = load_w(0x2000 + 4, HASH_OTHER, 0, 0); /* a pointer into the buffer counts too */
	lookup(m, 0, "WSPStartup"); /* not charged again as FromCatalog */
	size_t n;
	wsph_rules_finish(engine);
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].rule->id, "WPU.GetProviderPath.ExpandBuffer");
	cr_expect_eq(f[0].upcall_fn, WSPH_FN_LOADLIBRARYW, "the site is the load");
	free(f[0].message);
	free(f[0].excerpt);
	free(f);
}

Test(rules, expand_retried_with_the_returned_size_is_clean, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	expand_w(0x1000, 0x2000, 16); /* too small: returns 56 */
	expand_w(0x1000, 0x3000, 56); /* the retry, into a new buffer */
	lookup(load_w(0x3000, HASH_FULL, 1, 0), 1, "WSPStartup");
	expand_w(0x1000, 0x4000, 16); /* too small */
	expand_w(0x1000, 0x4000, 56); /* the retry, into the same (grown) buffer */
	load_w(0x4000, HASH_FULL, 1, 0);
	expand_w(0x1000, 0x5000, 16); /* too small, but the buffer is filled in some other way */
	load_w(0x5000, HASH_FULL, 1, 0);
	load_w(0x6000, HASH_OTHER, 0, 0); /* a load from elsewhere is not the expansion's business */
	cr_expect_str_eq(found(), "");
}

Test(rules, provider_path_length_beyond_the_stack_frame, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	/* id, *len, buffer, room in its frame (bytes), beyond */
	uint64_t fits[6] = {0x10, 261, 0x7ff0, 552, 0, 0};
	imp(WSPH_FN_WSCGETPROVIDERPATH, fits, 0, "%WSPH_LOWER_DIR%/mockbase.so");
	uint64_t heap[6] = {0x10, 522, 0x2000, 0, 0, 0}; /* not on the stack: not judged */
	imp(WSPH_FN_WSCGETPROVIDERPATH, heap, 0, "%WSPH_LOWER_DIR%/mockbase.so");
	cr_expect_str_eq(found(), "");
}

Test(rules, provider_path_length_in_bytes, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	uint64_t bytes[6] = {0x10, 522, 0x7ff0, 552, 1, 0};
	imp(WSPH_FN_WSCGETPROVIDERPATH, bytes, 0, "%WSPH_LOWER_DIR%/mockbase.so");
	cr_expect_str_eq(found(), "WPU.GetProviderPath.LengthInChars");
}

Test(rules, provider_from_another_path_is_charged_at_its_load, .init = nonifs, .fini = teardown)
{
	call(WSPH_FN_WSPSTARTUP, 0x0202);
	uint64_t helper = load_w(0x6000, HASH_OTHER, 0, 0); /* a helper DLL: never a provider */
	lookup(helper, 0, "HelperInit");
	uint64_t other = load_w(0x6100, HASH_OTHER, 0, 0);
	lookup(other, 0, "AcceptEx"); /* mswsock.dll for its extensions: fine */
	lookup(other, 0, "WSPStartup"); /* ... but not as the next provider */
	lookup(other, 0, "WSPStartup"); /* the same module again: the same defect */
	size_t n;
	wsph_rules_finish(engine);
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].rule->id, "LSP.NextProvider.FromCatalog");
	cr_expect_eq(f[0].upcall_fn, WSPH_FN_LOADLIBRARYW, "the site is the load");
	cr_expect_not_null(strstr(f[0].message, "LoadLibraryW(\"/lib/mockbase.so\")"), "%s",
			   f[0].message);
	free(f[0].message);
	free(f[0].excerpt);
	free(f);
}
