/* Unit tests of the rule engine: event streams in, exact rule IDs out. */
#include "rules.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <string.h>

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;
static uint64_t open_call;

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

static void up(enum wsph_fn fn, uint64_t a0, uint64_t a1, int64_t rv, int table)
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
	ev.table = table;
	strcpy(ev.module, "provider.so");
	wsph_trace_append(trace, &ev);
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
	cr_assert_str_eq(found(), "WPU.CloseSocketHandle.OnClose SPI.Cleanup.ReleasesHandles WPU.Handles.NoLeak");
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
	cr_assert_str_eq(found(), "SPI.Startup.VersionMin SPI.Startup.ProcTableComplete "
				  "SPI.Startup.VersionTooLow SPI.Startup.ErrorIsReturnValue");
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
	cr_assert_str_eq(found(), "SPI.Startup.RefCount SPI.Errno.OnFailure SPI.Cleanup.SuccessReturnsZero "
				  "SPI.Cleanup.Unbalanced");
}
