/* Unit tests of attribution in layered runs: which module made an event, whom it acted for, and
 * which module a finding is charged to (harness/trace.c, lower.c, rules.c, rules_lsp.c). */
#include "catalog.h"
#include "imports.h"
#include "rules.h"
#include "upcalls.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAYER "lsp.so"
#define LOWER "lower.so"

/* ---- the rules, from event streams ---- */

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;

/* A layered run: the layer under test (IFS unless nonifs) with entries 1101/1111/1112 over an IFS
 * base LOWER with entries 1001/1002. */
static void load(unsigned kind)
{
	struct wsph_diag d;
	memset(&set, 0, sizeof set);
	cr_assert_eq(wsph_ruleset_load(&set, WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &d), 0, "%s",
		     d.text);
	trace = wsph_trace_new();
	static const uint32_t ids[] = {1101, 1111, 1112};
	struct wsph_rules_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.set = &set;
	cfg.trace = trace;
	cfg.kind = kind;
	cfg.catalog_ids = ids;
	cfg.n_catalog_ids = 3;
	cfg.layered = 1;
	cfg.n_lower = 1;
	snprintf(cfg.lower[0].module, sizeof cfg.lower[0].module, "%s", LOWER);
	cfg.lower[0].kind = WSPH_KIND_IFS;
	cfg.lower[0].ids[0] = 1001;
	cfg.lower[0].ids[1] = 1002;
	cfg.lower[0].n_ids = 2;
	engine = wsph_rules_new(&cfg);
}

static void ifs(void) { load(WSPH_KIND_IFS); }
static void nonifs(void) { load(WSPH_KIND_NONIFS); }

static void teardown(void)
{
	wsph_rules_free(engine);
	wsph_trace_free(trace);
	wsph_ruleset_free(&set);
}

static int step_now = 1;

/* A call: of the harness (layer 0, made by the harness) or of the layer into the lower provider
 * (layer 1, made by the layer, inside `parent`). */
static uint64_t call(int layer, uint64_t parent, enum wsph_fn fn, uint64_t a0)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_CALL;
	ev.layer = layer;
	ev.parent = parent;
	ev.fn = fn;
	ev.step = step_now;
	ev.a[0] = a0;
	ev.err = WSPH_ERRNO_UNSET;
	snprintf(ev.module, sizeof ev.module, "%s", layer ? LAYER : "wspharness");
	return wsph_trace_append(trace, &ev);
}

/* Its RETURN, answered by `module`'s code (for `behalf`, "" itself). */
static void ret(const struct wsph_event *c, const char *module, const char *behalf, int64_t rv,
		uint64_t a2)
{
	struct wsph_event ev = *c;
	ev.kind = WSPH_EV_RETURN;
	ev.parent = c->seq;
	ev.ret = rv;
	ev.a[2] = a2;
	ev.err = rv == -1 ? WSAENOTSOCK : WSPH_ERRNO_UNSET;
	snprintf(ev.module, sizeof ev.module, "%s", module);
	snprintf(ev.behalf, sizeof ev.behalf, "%s", behalf);
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
}

static struct wsph_event get(uint64_t seq)
{
	struct wsph_event ev;
	cr_assert_eq(wsph_trace_get(trace, (size_t)(seq - 1), &ev), 0);
	return ev;
}

/* An upcall by the lower provider (acting for the layer) or by the layer, through table A. */
static void up(const char *module, uint64_t parent, enum wsph_fn fn, uint64_t a0, uint64_t a1,
	       int64_t rv, int current_table)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = fn;
	ev.step = step_now;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.ret = rv;
	ev.err = WSPH_ERRNO_UNSET;
	ev.parent = parent;
	ev.table = WSPH_TABLE_A;
	ev.current_table = current_table;
	snprintf(ev.module, sizeof ev.module, "%s", module);
	if (!strcmp(module, LOWER))
		snprintf(ev.behalf, sizeof ev.behalf, "%s", LAYER);
	wsph_trace_append(trace, &ev);
}

/* The layer's WSPStartup (table `table`): it starts the lower provider with the protocol
 * information of catalog entry `down_id` (flags: XP1_IFS_HANDLES or not) and upcall table
 * `down_table`. */
static void startup(uint64_t down_id, int down_ifs, int table, int down_table)
{
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPSTARTUP, 0x202));
	c.table = table;
	wsph_trace_update(trace, &c);
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPSTARTUP, 0x202));
	l.a[1] = down_id;
	l.a[2] = down_ifs ? XP1_IFS_HANDLES : 0;
	l.a[3] = down_id == 1001 ? 1 : 2; /* what lower.c stamps: the propagation verdict */
	l.table = down_table;
	wsph_trace_update(trace, &l);
	ret(&l, LOWER, LAYER, 0, 0);
	struct wsph_event r = c;
	r.kind = WSPH_EV_RETURN;
	r.parent = c.seq;
	r.a[1] = 0x202;
	r.a[2] = 0x202;
	r.a[4] = 1;
	r.a[5] = 1;
	snprintf(r.module, sizeof r.module, "%s", LAYER);
	wsph_trace_append(trace, &r);
	wsph_rules_advance(engine);
}

/* The layer's WSPSocket: the lower WSPSocket (told `down_id`) makes the lower handle `h` with
 * WPUModifyIFSHandle(`lower_id`); the layer registers it with its own id and returns it. */
static void ifs_socket(uint64_t down_id, uint64_t lower_id, uint64_t h)
{
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPSOCKET, AF_INET));
	c.a[1] = SOCK_STREAM;
	wsph_trace_update(trace, &c);
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPSOCKET, AF_INET));
	l.a[1] = SOCK_STREAM;
	l.a[3] = down_id;
	l.a[5] = down_id == 1001 ? 1 : 2;
	wsph_trace_update(trace, &l);
	up(LOWER, l.seq, WSPH_FN_WPUMODIFYIFSHANDLE, lower_id, 0x4d420004, (int64_t)h,
	   WSPH_TABLE_A);
	ret(&l, LOWER, LAYER, (int64_t)h, 0);
	up(LAYER, c.seq, WSPH_FN_WPUMODIFYIFSHANDLE, 1111, h, (int64_t)h, WSPH_TABLE_A);
	ret(&c, LAYER, "", (int64_t)h, 0);
}

/* A harness call the lower provider's own code answers (an entry the layer took from it). */
static void forwarded(enum wsph_fn fn, uint64_t s, uint64_t flags, int64_t rv, uint64_t got)
{
	struct wsph_event c = get(call(0, 0, fn, s));
	c.a[1] = 64;
	c.a[2] = flags;
	wsph_trace_update(trace, &c);
	ret(&c, LOWER, LAYER, rv, got);
}

static void cleanup(void)
{
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPCLEANUP, 0));
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPCLEANUP, 0));
	ret(&l, LOWER, LAYER, 0, 0);
	ret(&c, LAYER, "", 0, 0);
}

/* The findings as "RULE@module" joined by spaces; messages of the first `show` go to the log. */
static const char *found(void)
{
	static char buf[4096];
	wsph_rules_finish(engine);
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t pos = strlen(buf);
		snprintf(buf + pos, sizeof buf - pos, "%s%s@%s", i ? " " : "", f[i].rule->id,
			 f[i].module);
		cr_log_info("%s: %s", f[i].rule->id, f[i].message);
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	return buf;
}

Test(attribution, harness_calls_answered_by_the_lower_code_are_not_the_layers, .init = ifs,
     .fini = teardown)
{
	startup(1001, 1, WSPH_TABLE_A, WSPH_TABLE_A);
	ifs_socket(1001, 1001, 0x3c000000);
	/* The harness's overlapped receive, without a thread id, and a send, a select naming a
	 * stranger, a close: the layer put the lower provider's functions in its own table, so the
	 * lower code answers the harness directly. None of it is the layer's use of the provider
	 * below (no LSP.ThreadId.Private, no LSP.NextProc.KnownHandlesOnly). */
	step_now = 2;
	forwarded(WSPH_FN_WSPRECV, 0x3c000000, 1, -1, 0);
	step_now = 3;
	forwarded(WSPH_FN_WSPSEND, 0x3c000000, 0, 0, 4);
	step_now = 4;
	forwarded(WSPH_FN_WSPGETSOCKNAME, 0x0badbad0, 0, -1, 0);
	step_now = 5;
	forwarded(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0, 0, 0);
	step_now = 6;
	cleanup();
	/* the close the lower code answered closed the lower handle: no leak, nothing open at the
	 * final lower cleanup */
	cr_assert_str_empty(found());
}

Test(attribution, a_forwarded_receive_is_bytes_the_lower_provider_delivered, .init = ifs,
     .fini = teardown)
{
	startup(1001, 1, WSPH_TABLE_A, WSPH_TABLE_A);
	ifs_socket(1001, 1001, 0x3c000000);
	step_now = 2;
	forwarded(WSPH_FN_WSPRECV, 0x3c000000, 0, 0, 7);
	step_now = 3;
	forwarded(WSPH_FN_WSPCLOSESOCKET, 0x3c000000, 0, 0, 0);
	step_now = 4;
	cleanup();
	cr_assert_str_empty(found(), "no LSP.NextProc.PartialReceive");
}

Test(attribution, a_layer_rule_on_a_lower_event_is_charged_to_the_layer, .init = nonifs,
     .fini = teardown)
{
	startup(1001, 0, WSPH_TABLE_A, WSPH_TABLE_A);
	step_now = 2;
	/* the layer names a handle the lower provider never issued: the offending event is the
	 * lower RETURN (made by the lower code), the rule judges the layer */
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPGETSOCKNAME, 0x3c000004));
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPGETSOCKNAME, 0x777));
	ret(&l, LOWER, LAYER, -1, 0);
	ret(&c, LAYER, "", -1, 0);
	step_now = 3;
	cleanup();
	cr_assert_str_eq(found(), "LSP.NextProc.KnownHandlesOnly@" LAYER);
}

Test(attribution, a_lower_upcall_with_the_layers_catalog_id_is_charged_to_the_layer, .init = ifs,
     .fini = teardown)
{
	/* The layer starts the lower provider with its own chained entry (1111): the lower
	 * provider then registers its handles with 1111, what it was told. */
	startup(1111, 1, WSPH_TABLE_A, WSPH_TABLE_A);
	step_now = 2;
	ifs_socket(1001, 1111, 0x3c000000);
	step_now = 3;
	cleanup();
	cr_assert_str_eq(found(), "LSP.ProtocolInfo.Propagation@" LAYER
				  " LSP.ProtocolInfo.Propagation@" LAYER,
			 "the startup's own finding, then the lower upcall's, both the layer's; "
			 "no WPU.ModifyIFSHandle.OwnCatalogId on the lower provider");
}

Test(attribution, a_lower_upcall_with_a_catalog_id_nobody_gave_it_stays_the_lower_providers,
     .init = ifs, .fini = teardown)
{
	startup(1001, 1, WSPH_TABLE_A, WSPH_TABLE_A);
	ifs_socket(1001, 4242, 0x3c000000);
	step_now = 2;
	cleanup();
	cr_assert_str_eq(found(), "WPU.ModifyIFSHandle.OwnCatalogId@" LOWER);
}

Test(attribution, a_lower_provider_told_non_ifs_that_creates_handles_is_the_layers_doing,
     .init = ifs, .fini = teardown)
{
	/* The layer hands the IFS base its entry without XP1_IFS_HANDLES: the base then makes its
	 * handles with WPUCreateSocketHandle, as a non-IFS provider. */
	startup(1001, 0, WSPH_TABLE_A, WSPH_TABLE_A);
	step_now = 2;
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPSOCKET, AF_INET));
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPSOCKET, AF_INET));
	l.a[3] = 1001;
	l.a[5] = 1;
	wsph_trace_update(trace, &l);
	up(LOWER, l.seq, WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x55, 0x3c000000, WSPH_TABLE_A);
	ret(&l, LOWER, LAYER, -1, 0);
	ret(&c, LAYER, "", -1, 0);
	step_now = 3;
	cleanup();
	cr_assert_str_eq(found(), "LSP.ProtocolInfo.Propagation@" LAYER);
}

Test(attribution, a_lower_provider_told_ifs_that_creates_handles_is_at_fault, .init = ifs,
     .fini = teardown)
{
	startup(1001, 1, WSPH_TABLE_A, WSPH_TABLE_A);
	step_now = 2;
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPSOCKET, AF_INET));
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPSOCKET, AF_INET));
	l.a[3] = 1001;
	l.a[5] = 1;
	wsph_trace_update(trace, &l);
	up(LOWER, l.seq, WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x55, 0x3c000000, WSPH_TABLE_A);
	ret(&l, LOWER, LAYER, -1, 0);
	ret(&c, LAYER, "", -1, 0);
	step_now = 3;
	cleanup();
	cr_assert_str_eq(found(), "WPU.CreateSocketHandle.NoIFSFlag@" LOWER);
}

Test(attribution, each_module_is_judged_against_the_table_it_was_given, .init = ifs,
     .fini = teardown)
{
	/* The layer starts the lower provider once, with table A; a second WSPStartup of the
	 * layer's brings table B, which the layer keeps to itself. The lower provider goes on with
	 * A, the table it was given; the layer must use B. */
	startup(1001, 1, WSPH_TABLE_A, WSPH_TABLE_A);
	step_now = 2;
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPSTARTUP, 0x202));
	c.table = WSPH_TABLE_B;
	wsph_trace_update(trace, &c);
	struct wsph_event r = c;
	r.kind = WSPH_EV_RETURN;
	r.parent = c.seq;
	r.a[1] = r.a[2] = 0x202;
	r.a[4] = r.a[5] = 1;
	snprintf(r.module, sizeof r.module, "%s", LAYER);
	wsph_trace_append(trace, &r);
	wsph_rules_advance(engine);
	step_now = 3;
	struct wsph_event s = get(call(0, 0, WSPH_FN_WSPSEND, 0x3c000000));
	up(LOWER, s.seq, WSPH_FN_WPUFDISSET, 0, 0, 0, WSPH_TABLE_A); /* given A: fine */
	ret(&s, LOWER, LAYER, -1, 0);
	step_now = 4;
	s = get(call(0, 0, WSPH_FN_WSPSEND, 0x3c000000));
	up(LAYER, s.seq, WSPH_FN_WPUFDISSET, 0, 0, 0, WSPH_TABLE_B); /* given B, used A */
	ret(&s, LAYER, "", -1, 0);
	cr_assert_str_eq(found(), "SPI.Startup.MostRecentUpcallTable@" LAYER);
}

Test(attribution, a_stale_table_handed_down_is_the_layers, .init = ifs, .fini = teardown)
{
	/* The layer's WSPStartup brings table B, and it starts the lower provider with A. */
	startup(1001, 1, WSPH_TABLE_B, WSPH_TABLE_A);
	cr_assert_str_eq(found(), "LSP.UpcallTable.PassedDown@" LAYER);
}

Test(attribution, a_handle_made_below_is_the_layers_leak, .init = nonifs, .fini = teardown)
{
	startup(1001, 0, WSPH_TABLE_A, WSPH_TABLE_A);
	step_now = 2;
	/* A non-IFS layer that passed its own catalog id down returns the handle the lower provider
	 * made in this call: two defects of the layer's, and not also the lower provider's
	 * WPU.CreateSocketHandle.BeforeReturn. */
	struct wsph_event c = get(call(0, 0, WSPH_FN_WSPSOCKET, AF_INET));
	struct wsph_event l = get(call(1, c.seq, WSPH_FN_WSPSOCKET, AF_INET));
	l.a[3] = 1001;
	l.a[5] = 1;
	wsph_trace_update(trace, &l);
	up(LOWER, l.seq, WSPH_FN_WPUCREATESOCKETHANDLE, 1001, 0x55, 0x3c000000, WSPH_TABLE_A);
	ret(&l, LOWER, LAYER, 0x3c000000, 0);
	ret(&c, LAYER, "", 0x3c000000, 0);
	cr_assert_str_eq(found(), "LSP.ProtocolInfo.Propagation@" LAYER " LSP.NonIFS.NoLowerHandleLeak@" LAYER);
}

/* ---- the trace ---- */

Test(attribution_trace, behalf_is_kept_and_the_answering_module_names_the_return)
{
	struct wsph_trace *t = wsph_trace_new();
	struct wsph_event c;
	memset(&c, 0, sizeof c);
	c.kind = WSPH_EV_CALL;
	c.fn = WSPH_FN_WSPRECV;
	snprintf(c.module, sizeof c.module, "wspharness");
	uint64_t seq = wsph_trace_append(t, &c);
	cr_assert_eq(wsph_trace_thread_call(t), seq);
	wsph_trace_answered_by(t, seq, LOWER, LAYER);
	struct wsph_event r = c;
	r.kind = WSPH_EV_RETURN;
	r.parent = seq;
	snprintf(r.module, sizeof r.module, "wspharness"); /* what the appender thinks */
	wsph_trace_append(t, &r);
	cr_assert_str_eq(r.module, LOWER, "the appender's copy is corrected too");
	cr_assert_eq(wsph_trace_thread_call(t), 0);
	struct wsph_event back;
	cr_assert_eq(wsph_trace_get(t, 1, &back), 0);
	cr_assert_str_eq(back.module, LOWER);
	cr_assert_str_eq(back.behalf, LAYER);
	cr_assert_eq(wsph_trace_get(t, 0, &back), 0);
	cr_assert_str_empty(back.behalf);
	/* a sealed trace keeps it */
	t = wsph_trace_seal(t);
	cr_assert_eq(wsph_trace_get(t, 1, &back), 0);
	cr_assert_str_eq(back.behalf, LAYER);
	wsph_trace_free(t);
}

/* ---- the stand-in of the provider below (lower.c) ---- */

static SOCKET WSPAPI fake_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
				 DWORD fl, LPINT err)
{
	(void)af, (void)type, (void)protocol, (void)pi, (void)g, (void)fl, (void)err;
	return (SOCKET)0x500;
}

static int WSPAPI fake_recv(SOCKET s, LPWSABUF b, DWORD n, LPDWORD got, LPDWORD fl,
			    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
			    LPWSATHREADID tid, LPINT err)
{
	(void)s, (void)b, (void)n, (void)fl, (void)ov, (void)cr, (void)tid, (void)err;
	*got = 3;
	return 0;
}

static int WSPAPI fake_startup(WORD v, LPWSPDATA data, LPWSAPROTOCOL_INFOW pi,
			       WSPUPCALLTABLE *up, LPWSPPROC_TABLE procs)
{
	(void)v, (void)pi, (void)up;
	data->wVersion = data->wHighVersion = 0x202;
	memset(procs, 0, sizeof *procs);
	procs->lpWSPSocket = fake_socket;
	procs->lpWSPRecv = fake_recv;
	return 0;
}

Test(attribution_lower, the_harness_calling_a_lower_entry_is_the_harness_call)
{
	struct wsph_catalog cat;
	cr_assert_eq(wsph_catalog_layered(&cat, "/x/" LAYER, WSPH_KIND_IFS, "/y/" LOWER,
					  WSPH_KIND_IFS, NULL),
		     0);
	struct wsph_trace *t = wsph_trace_new();
	struct wsph_upcall_config ucfg;
	memset(&ucfg, 0, sizeof ucfg);
	ucfg.kind = WSPH_KIND_IFS;
	ucfg.catalog = &cat;
	wsph_upcalls_begin(t, &ucfg);
	struct wsph_imports_config icfg = {&cat, -1};
	wsph_imports_begin(&icfg);
	struct wsph_ruleset rs;
	struct wsph_diag d;
	memset(&rs, 0, sizeof rs);
	cr_assert_eq(wsph_ruleset_load(&rs, WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &d), 0, "%s",
		     d.text);
	static const uint32_t ids[] = {1101, 1111, 1112};
	struct wsph_rules_config rcfg;
	memset(&rcfg, 0, sizeof rcfg);
	rcfg.set = &rs;
	rcfg.trace = t;
	rcfg.kind = WSPH_KIND_IFS;
	rcfg.catalog_ids = ids;
	rcfg.n_catalog_ids = 3;
	rcfg.layered = 1;
	rcfg.n_lower = 1;
	snprintf(rcfg.lower[0].module, sizeof rcfg.lower[0].module, "%s", LOWER);
	rcfg.lower[0].kind = WSPH_KIND_IFS;
	struct wsph_rules *rules = wsph_rules_new(&rcfg);

	void *real;
	WSPH_WSPSTARTUP_BYREF fs = fake_startup;
	memcpy(&real, &fs, sizeof real);
	LPWSPSTARTUP start = wsph_lower_startup(real, LOWER, 0);
	WSPDATA data;
	WSPPROC_TABLE procs;
	/* the layer's own startup of the provider below (no harness call of WSPStartup's is in
	 * progress): a layer-1 call */
	cr_assert_eq(start(0x202, &data, NULL, *wsph_upcalls_table_buffer(WSPH_TABLE_A), &procs),
		     0);

	/* The harness calls WSPRecv, overlapped and without a thread id, and the layer's table
	 * holds the stand-in's lpWSPRecv. */
	struct wsph_event c;
	memset(&c, 0, sizeof c);
	c.kind = WSPH_EV_CALL;
	c.fn = WSPH_FN_WSPRECV;
	c.a[0] = 0x500;
	snprintf(c.module, sizeof c.module, "wspharness");
	uint64_t seq = wsph_trace_append(t, &c);
	wsph_upcalls_enter(seq, 1); /* as the driver does around its calls */
	size_t before = wsph_trace_count(t);
	WSABUF b = {8, (char *)&c};
	DWORD got = 0, fl = 0;
	int err = 0;
	WSAOVERLAPPED ov;
	memset(&ov, 0, sizeof ov);
	cr_assert_eq(procs.lpWSPRecv(0x500, &b, 1, &got, &fl, &ov, NULL, NULL, &err), 0);
	cr_assert_eq(wsph_trace_count(t), before, "no lower call recorded for the harness's");
	wsph_upcalls_leave();
	struct wsph_event r = c;
	r.kind = WSPH_EV_RETURN;
	r.parent = seq;
	wsph_trace_append(t, &r);
	cr_assert_str_eq(r.module, LOWER);
	cr_assert_str_eq(r.behalf, LAYER);

	/* Inside a harness call of another entry, the same lower entries are the layer's calls
	 * (here the test program plays the layer too, so the entry must differ). */
	c.fn = WSPH_FN_WSPIOCTL;
	c.a[0] = 0x999;
	seq = wsph_trace_append(t, &c);
	wsph_upcalls_enter(seq, 1);
	cr_assert_eq(procs.lpWSPSocket(AF_INET, SOCK_STREAM, 6, NULL, 0, 0, &err), 0x500);
	cr_assert_eq(procs.lpWSPRecv(0x500, &b, 1, &got, &fl, &ov, NULL, NULL, &err), 0);
	wsph_upcalls_leave();
	struct wsph_event low;
	cr_assert_eq(wsph_trace_get(t, (size_t)seq + 2, &low), 0);
	cr_assert_eq(low.kind, WSPH_EV_CALL);
	cr_assert_eq(low.fn, WSPH_FN_WSPRECV);
	cr_assert_eq(low.layer, 1);
	cr_assert_eq(low.parent, seq);
	char layer_module[64];
	snprintf(layer_module, sizeof layer_module, "%s", low.module); /* its caller's */
	cr_assert_eq(wsph_trace_get(t, (size_t)seq + 3, &low), 0);
	cr_assert_eq(low.kind, WSPH_EV_RETURN);
	cr_assert_str_eq(low.module, LOWER);
	cr_assert_str_eq(low.behalf, LAYER);
	r = c;
	r.kind = WSPH_EV_RETURN;
	r.parent = seq;
	r.ret = 0;
	snprintf(r.module, sizeof r.module, LAYER);
	wsph_trace_append(t, &r);

	/* Only the layer's own overlapped call without a thread id is the layer's doing. */
	wsph_rules_finish(rules);
	size_t n;
	struct wsph_finding *f = wsph_rules_take(rules, &n);
	int thread_id = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(f[i].rule->id, "LSP.ThreadId.Private")) {
			thread_id++;
			/* the layer's call, charged to its caller (here the test program) */
			cr_expect_str_eq(f[i].module, layer_module);
		}
		cr_expect(strncmp(f[i].rule->id, "LSP.NextProc.", 13) != 0, "%s: %s", f[i].rule->id,
			  f[i].message);
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	cr_assert_eq(thread_id, 1, "the harness's call through the layer's table is not judged");
	wsph_rules_free(rules);
	wsph_ruleset_free(&rs);

	wsph_imports_end();
	wsph_upcalls_end();
	wsph_trace_free(t);
	wsph_catalog_free(&cat);
}
