/* Unit tests of the rule engine's bookkeeping: every upcall of a call is kept (no fixed cap), and a
 * startup's version is judged whatever its description says. */
#include "rules.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <string.h>

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;
static uint64_t open_call;

static void nonifs(void)
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
	cfg.kind = WSPH_KIND_NONIFS;
	cfg.catalog_ids = ids;
	cfg.n_catalog_ids = 2;
	engine = wsph_rules_new(&cfg);
}

static void teardown(void)
{
	wsph_rules_free(engine);
	wsph_trace_free(trace);
	wsph_ruleset_free(&set);
}

static struct wsph_event event(enum wsph_ev_kind kind, enum wsph_fn fn, uint64_t a0)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.err = WSPH_ERRNO_UNSET;
	ev.parent = kind == WSPH_EV_CALL ? 0 : open_call;
	strcpy(ev.module, "provider.so");
	return ev;
}

static void call(enum wsph_fn fn, uint64_t a0)
{
	struct wsph_event ev = event(WSPH_EV_CALL, fn, a0);
	if (fn == WSPH_FN_WSPSOCKET)
		ev.a[4] = WSA_FLAG_OVERLAPPED;
	open_call = wsph_trace_append(trace, &ev);
}

static void ret(enum wsph_fn fn, uint64_t a0, int64_t rv)
{
	struct wsph_event ev = event(WSPH_EV_RETURN, fn, a0);
	ev.ret = rv;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

static void up(enum wsph_fn fn, uint64_t a0, uint64_t a1, int64_t rv, int fault)
{
	struct wsph_event ev = event(WSPH_EV_UPCALL, fn, a0);
	ev.a[1] = a1;
	ev.ret = rv;
	ev.fault = fault;
	ev.table = WSPH_TABLE_A;
	wsph_trace_append(trace, &ev);
}

/* WSPStartup returned 0 with these WSPDATA facts. */
static void startup(unsigned requested, unsigned version, int terminated)
{
	call(WSPH_FN_WSPSTARTUP, requested);
	struct wsph_event ev = event(WSPH_EV_RETURN, WSPH_FN_WSPSTARTUP, requested);
	ev.a[1] = version;
	ev.a[2] = 0x0202;
	ev.a[4] = (uint64_t)terminated;
	ev.a[5] = 1;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

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

/* 299 context queries, then the handle: the 300th upcall of the call is still seen. */
Test(frames, a_handle_created_after_300_upcalls_is_seen, .init = nonifs, .fini = teardown)
{
	startup(0x0202, 0x0202, 1);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	for (int i = 0; i < 299; i++)
		up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, SOCKET_ERROR, 0);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, 0);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000);
	call(WSPH_FN_WSPCLOSESOCKET, 0x3c000000);
	up(WSPH_FN_WPUCLOSESOCKETHANDLE, 0x3c000000, 0, 0, 0);
	ret(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0);
	cr_expect_str_eq(found(), "");
}

/* A fault injected into the 400th upcall of a call that then succeeds is charged. */
Test(frames, a_fault_past_256_upcalls_is_seen, .init = nonifs, .fini = teardown)
{
	startup(0x0202, 0x0202, 1);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	for (int i = 0; i < 399; i++)
		up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, SOCKET_ERROR, 0);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, SOCKET_ERROR, 10055);
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, 0);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000);
	cr_expect_str_eq(found(), "WPU.CreateSocketHandle.FailurePropagates");
}

/* Frames nested and returning out of order keep their own upcalls. */
Test(frames, out_of_order_returns_keep_each_frames_upcalls, .init = nonifs, .fini = teardown)
{
	startup(0x0202, 0x0202, 1);
	call(WSPH_FN_WSPSOCKET, AF_INET);
	uint64_t outer = open_call;
	for (int i = 0; i < 40; i++)
		up(WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0x3c000000, 0, SOCKET_ERROR, 0);
	call(WSPH_FN_WSPSOCKET, AF_INET); /* another thread's call, inside the first */
	uint64_t inner = open_call;
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x78, 0x3c000004, 0);
	open_call = outer;
	up(WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x77, 0x3c000000, 0);
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000000); /* the outer returns first */
	open_call = inner;
	ret(WSPH_FN_WSPSOCKET, AF_INET, 0x3c000004);
	for (uint64_t h = 0x3c000000; h <= 0x3c000004; h += 4) {
		call(WSPH_FN_WSPCLOSESOCKET, h);
		up(WSPH_FN_WPUCLOSESOCKETHANDLE, h, 0, 0, 0);
		ret(WSPH_FN_WSPCLOSESOCKET, h, 0);
	}
	cr_expect_str_eq(found(), "");
}

/* An unterminated description and a wrong version are two defects, two findings. */
Test(frames, version_judged_whatever_the_description, .init = nonifs, .fini = teardown)
{
	startup(0x0202, 0x0002, 0);
	cr_expect_str_eq(found(), "SPI.Startup.WSPDataFilled SPI.Startup.VersionMin");
}
