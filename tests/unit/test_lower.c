/* Unit tests of the lower-provider ledger (harness/lower.c) and of the LSP.NextProc.* rules built on
 * it (harness/rules_lsp.c): event streams in, exact rule IDs out. */
#include "lower.h"
#include "rules.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the ledger ---- */

Test(ledger, issue_close_and_quarantine)
{
	struct wsph_lower_ledger l;
	memset(&l, 0, sizeof l);
	cr_assert_eq(wsph_ledger_state(&l, 0x10), WSPH_LH_UNKNOWN);
	cr_assert_eq(wsph_ledger_issue(&l, 0x10, 1, 5), 0);
	cr_assert_eq(wsph_ledger_issue(&l, 0x14, 0, 6), 0);
	cr_assert_eq(wsph_ledger_state(&l, 0x10), WSPH_LH_OPEN);
	cr_assert(wsph_ledger_find(&l, 0x10)->stream);
	cr_assert_not(wsph_ledger_find(&l, 0x14)->stream);
	/* issuing an open value again (WSPJoinLeaf returning its socket) changes nothing */
	cr_assert_eq(wsph_ledger_issue(&l, 0x10, 0, 9), 0);
	cr_assert_eq(wsph_ledger_find(&l, 0x10)->issued_seq, 5);
	cr_assert_eq(wsph_ledger_close(&l, 0x10, 11), WSPH_LH_OPEN);
	cr_assert_eq(wsph_ledger_state(&l, 0x10), WSPH_LH_CLOSED);
	cr_assert_eq(wsph_ledger_find(&l, 0x10)->closed_seq, 11);
	/* a second close reports the state it found and keeps the first closing event */
	cr_assert_eq(wsph_ledger_close(&l, 0x10, 12), WSPH_LH_CLOSED);
	cr_assert_eq(wsph_ledger_find(&l, 0x10)->closed_seq, 11);
	cr_assert_eq(wsph_ledger_close(&l, 0x99, 13), WSPH_LH_UNKNOWN);
	const struct wsph_lh *first;
	cr_assert_eq(wsph_ledger_open(&l, &first), 1);
	cr_assert_eq(first->h, 0x14);
	wsph_ledger_reset(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.v);
}

Test(ledger, startups_cleanups_and_reset_at_zero)
{
	struct wsph_lower_ledger l;
	memset(&l, 0, sizeof l);
	size_t reset = 99;
	cr_assert_eq(wsph_ledger_cleanup(&l, 0, 1, &reset), 0, "no startup yet: count 0 before");
	cr_assert_eq(reset, 0);
	wsph_ledger_startup(&l, WSASYSNOTREADY);
	cr_assert(l.last_failed);
	cr_assert_not(l.ever_started);
	wsph_ledger_startup(&l, 0);
	wsph_ledger_startup(&l, 0);
	cr_assert_eq(l.startups, 2);
	cr_assert_not(l.last_failed);
	wsph_ledger_issue(&l, 0x20, 1, 3);
	wsph_ledger_issue(&l, 0x24, 1, 4);
	wsph_ledger_close(&l, 0x24, 5);
	cr_assert_eq(wsph_ledger_cleanup(&l, 0, 6, &reset), 2);
	cr_assert_eq(reset, 0, "not the final cleanup: nothing reset");
	cr_assert_eq(wsph_ledger_state(&l, 0x20), WSPH_LH_OPEN);
	/* a failed cleanup changes nothing */
	cr_assert_eq(wsph_ledger_cleanup(&l, WSAENETDOWN, 7, &reset), 1);
	cr_assert_eq(l.startups, 1);
	cr_assert_eq(wsph_ledger_cleanup(&l, 0, 8, &reset), 1);
	cr_assert_eq(reset, 1);
	cr_assert_eq(wsph_ledger_state(&l, 0x20), WSPH_LH_RESET);
	cr_assert_eq(wsph_ledger_find(&l, 0x20)->closed_seq, 8);
	cr_assert_eq(wsph_ledger_state(&l, 0x24), WSPH_LH_CLOSED);
	cr_assert_eq(wsph_ledger_open(&l, NULL), 0);
	wsph_ledger_reset(&l);
}

Test(ledger, chunks_are_1_to_k_and_seeded)
{
	uint32_t a = 7, b = 7;
	unsigned seen[4] = {0};
	for (int i = 0; i < 300; i++) {
		unsigned c = wsph_lower_chunk(&a, 3);
		cr_assert(c >= 1 && c <= 3, "chunk %u", c);
		seen[c]++;
		cr_assert_eq(wsph_lower_chunk(&b, 3), c, "the same seed gives the same chunks");
	}
	cr_assert(seen[1] && seen[2] && seen[3], "every size 1..3 occurs");
	cr_assert_eq(wsph_lower_chunk(&a, 0), 0);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(wsph_lower_chunk(&a, 1), 1);
}

/* ---- the rules, from event streams ---- */

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;

#define LOWER "lower.so"

static void load(unsigned kind)
{
	struct wsph_diag d;
	memset(&set, 0, sizeof set);
	cr_assert_eq(wsph_ruleset_load(&set, WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &d), 0, "%s",
		     d.text);
	trace = wsph_trace_new();
	static const uint32_t ids[] = {1101};
	struct wsph_rules_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.set = &set;
	cfg.trace = trace;
	cfg.kind = kind;
	cfg.catalog_ids = ids;
	cfg.n_catalog_ids = 1;
	cfg.layered = 1;
	cfg.n_lower = 1;
	snprintf(cfg.lower[0].module, sizeof cfg.lower[0].module, "%s", LOWER);
	cfg.lower[0].kind = WSPH_KIND_IFS;
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

/* A call of the client (layer 0) or of the layer into the lower provider (layer 1, inside
 * `parent`). Returns its seq; end() appends the RETURN. */
static uint64_t begin(int layer, uint64_t parent, enum wsph_fn fn, uint64_t a0, uint64_t a1,
		      uint64_t a2)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_CALL;
	ev.layer = layer;
	ev.parent = parent;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.a[2] = a2;
	ev.err = WSPH_ERRNO_UNSET;
	snprintf(ev.module, sizeof ev.module, "%s", layer ? "lsp.so" : "wspharness");
	return wsph_trace_append(trace, &ev);
}

static void end(int layer, uint64_t call, enum wsph_fn fn, uint64_t a0, uint64_t a1, uint64_t a2,
		int64_t rv)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.layer = layer;
	ev.parent = call;
	ev.fn = fn;
	ev.a[0] = a0;
	ev.a[1] = a1;
	ev.a[2] = a2;
	ev.ret = rv;
	ev.err = rv == -1 ? WSAENOTSOCK : WSPH_ERRNO_UNSET;
	snprintf(ev.module, sizeof ev.module, "%s", layer ? LOWER : "lsp.so");
	wsph_trace_append(trace, &ev);
}

/* A lower call inside `parent`, returning at once. */
static void lower(uint64_t parent, enum wsph_fn fn, uint64_t a0, uint64_t a1, uint64_t a2,
		  int64_t rv)
{
	uint64_t c = begin(1, parent, fn, a0, a1, a2);
	end(1, c, fn, a0, a1, a2, rv);
}

static void startup(void)
{
	uint64_t c = begin(0, 0, WSPH_FN_WSPSTARTUP, 0x202, 0, 0);
	lower(c, WSPH_FN_WSPSTARTUP, 0x202, 0, 0, 0);
	end(0, c, WSPH_FN_WSPSTARTUP, 0x202, 0, 0, 0);
}

/* A stream socket of the client's (upper) over a lower one. */
static void socket_pair(uint64_t upper, uint64_t low)
{
	uint64_t c = begin(0, 0, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6);
	lower(c, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6, (int64_t)low);
	end(0, c, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6, (int64_t)upper);
}

static void close_pair(uint64_t upper, uint64_t low)
{
	uint64_t c = begin(0, 0, WSPH_FN_WSPCLOSESOCKET, upper, 0, 0);
	if (low)
		lower(c, WSPH_FN_WSPCLOSESOCKET, low, 0, 0, 0);
	end(0, c, WSPH_FN_WSPCLOSESOCKET, upper, 0, 0, 0);
}

static void cleanup(int lower_cleanups)
{
	uint64_t c = begin(0, 0, WSPH_FN_WSPCLEANUP, 0, 0, 0);
	for (int i = 0; i < lower_cleanups; i++)
		lower(c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	end(0, c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
}

static int reported(const char *id)
{
	wsph_rules_finish(engine);
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	int hit = 0;
	for (size_t i = 0; i < n; i++) {
		hit |= !strcmp(f[i].rule->id, id);
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	return hit;
}

static int any_nextproc(void)
{
	wsph_rules_finish(engine);
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	int hit = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(f[i].rule->id, "LSP.NextProc.", 13)) {
			cr_log_error("%s: %s", f[i].rule->id, f[i].message);
			hit = 1;
		}
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	return hit;
}

Test(lsp_rules, a_clean_layer_is_clean, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPBIND, 0x3c000004, 0, 0);
	lower(c, WSPH_FN_WSPBIND, 0x500, 0, 0, 0);
	end(0, c, WSPH_FN_WSPBIND, 0x3c000004, 0, 0, 0);
	close_pair(0x3c000004, 0x500);
	cleanup(1);
	cr_assert_not(any_nextproc());
}

Test(lsp_rules, closed_handle_used_again, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPCLOSESOCKET, 0x3c000004, 0, 0);
	lower(c, WSPH_FN_WSPCLOSESOCKET, 0x500, 0, 0, 0);
	lower(c, WSPH_FN_WSPCLOSESOCKET, 0x500, 0, 0, -1);
	end(0, c, WSPH_FN_WSPCLOSESOCKET, 0x3c000004, 0, 0, 0);
	cr_assert(reported("LSP.NextProc.NoUseAfterClose"));
}

Test(lsp_rules, upper_handle_passed_down, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPGETSOCKNAME, 0x3c000004, 0, 0);
	lower(c, WSPH_FN_WSPGETSOCKNAME, 0x3c000004, 0, 0, -1);
	end(0, c, WSPH_FN_WSPGETSOCKNAME, 0x3c000004, 0, 0, -1);
	cr_assert(reported("LSP.NextProc.KnownHandlesOnly"));
}

Test(lsp_rules, an_ifs_layer_may_forward_the_clients_value, .init = ifs, .fini = teardown)
{
	startup();
	uint64_t c = begin(0, 0, WSPH_FN_WSPGETSOCKNAME, 0x777, 0, 0);
	lower(c, WSPH_FN_WSPGETSOCKNAME, 0x777, 0, 0, -1);
	end(0, c, WSPH_FN_WSPGETSOCKNAME, 0x777, 0, 0, -1);
	cr_assert_not(reported("LSP.NextProc.KnownHandlesOnly"));
}

Test(lsp_rules, select_member_never_issued, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPSELECT, 0, 0, 0);
	uint64_t l = begin(1, c, WSPH_FN_WSPSELECT, 0, 0x3c000004, 1);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.layer = 1;
	ev.parent = l;
	ev.fn = WSPH_FN_WSPSELECT;
	ev.a[1] = 0x3c000004; /* what lower.c stamps: the member, the count, the flag */
	ev.a[2] = 1;
	ev.a[3] = 1;
	snprintf(ev.module, sizeof ev.module, "%s", LOWER);
	wsph_trace_append(trace, &ev);
	end(0, c, WSPH_FN_WSPSELECT, 0, 0, 0, 0);
	cr_assert(reported("LSP.NextProc.KnownHandlesOnly"));
}

Test(lsp_rules, lower_socket_left_open_after_the_client_closed, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	close_pair(0x3c000004, 0);
	uint64_t c = begin(0, 0, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6); /* the next step */
	end(0, c, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6, -1);
	cr_assert(reported("LSP.NextProc.NoHandleLeak"));
}

Test(lsp_rules, lower_table_used_after_the_last_cleanup, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPCLEANUP, 0, 0, 0);
	lower(c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	lower(c, WSPH_FN_WSPCLOSESOCKET, 0x500, 0, 0, -1);
	end(0, c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	cr_assert(reported("LSP.NextProc.WithinStartup"));
}

Test(lsp_rules, more_lower_cleanups_than_startups, .init = nonifs, .fini = teardown)
{
	startup();
	cleanup(2);
	cr_assert(reported("LSP.NextProc.CleanupBalanced"));
}

Test(lsp_rules, lower_startup_never_balanced, .init = nonifs, .fini = teardown)
{
	startup();
	cleanup(0);
	cr_assert(reported("LSP.NextProc.CleanupBalanced"));
}

Test(lsp_rules, final_lower_cleanup_with_sockets_open, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	cleanup(1);
	wsph_rules_finish(engine);
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	int closes_first = 0, leak = 0;
	for (size_t i = 0; i < n; i++) {
		closes_first |= !strcmp(f[i].rule->id, "LSP.NextProc.ClosesBeforeFinalCleanup");
		leak |= !strcmp(f[i].rule->id, "LSP.NextProc.NoHandleLeak");
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	cr_assert(closes_first);
	cr_assert_not(leak, "a handle the final lower cleanup reset is not also a leak");
}

/* The layer's final cleanup closes its lower socket, the provider below refuses (here because an
 * upcall of its own failed), and the lower cleanup follows: the layer did close it, and what stays
 * open is that provider's answer, not ClosesBeforeFinalCleanup. */
Test(lsp_rules, a_lower_close_the_provider_below_refused, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPCLEANUP, 0, 0, 0);
	lower(c, WSPH_FN_WSPCLOSESOCKET, 0x500, 0, 0, -1);
	lower(c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	end(0, c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	cr_assert_not(reported("LSP.NextProc.ClosesBeforeFinalCleanup"));
}

Test(lsp_rules, receive_reports_bytes_never_delivered, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPRECV, 0x3c000004, 64, 0);
	lower(c, WSPH_FN_WSPRECV, 0x500, 64, 3, 0);
	end(0, c, WSPH_FN_WSPRECV, 0x3c000004, 64, 64, 0);
	cr_assert(reported("LSP.NextProc.PartialReceive"));
}

Test(lsp_rules, partial_receives_passed_through_are_fine, .init = nonifs, .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	for (int i = 1; i <= 3; i++) {
		uint64_t c = begin(0, 0, WSPH_FN_WSPRECV, 0x3c000004, 64, 0);
		lower(c, WSPH_FN_WSPRECV, 0x500, 64, (uint64_t)i, 0);
		end(0, c, WSPH_FN_WSPRECV, 0x3c000004, 64, (uint64_t)i, 0);
	}
	cr_assert_not(any_nextproc());
}

/* ---- the scenario key ---- */

Test(lower_scenario, fragment_receives_is_parsed_and_bounded)
{
	static const char good[] = "scenarios:\n  - name: f\n    checks: [LSP.NextProc.PartialReceive]\n"
				   "    layered: true\n"
				   "    lower: {fragment_receives: 3}\n    steps:\n      - startup:\n";
	static const char zero[] = "scenarios:\n  - name: f\n    checks: [LSP.NextProc.PartialReceive]\n"
				   "    layered: true\n"
				   "    lower: {fragment_receives: 0}\n    steps:\n      - startup:\n";
	struct wsph_suite s;
	struct wsph_diag d;
	memset(&s, 0, sizeof s);
	cr_assert_eq(wsph_scenario_load_string(&s, "f.yaml", good, sizeof good - 1, NULL, &d), 0,
		     "%s", d.text);
	cr_assert_eq(s.n_scenarios, 1);
	cr_assert_eq(s.scenarios[0].lower_fragment, 3);
	cr_assert_eq(s.scenarios[0].lower_hole, -1);
	wsph_suite_free(&s);
	memset(&s, 0, sizeof s);
	cr_assert_eq(wsph_scenario_load_string(&s, "f.yaml", zero, sizeof zero - 1, NULL, &d), -1);
	cr_assert(strstr(d.text, "f.yaml:5:") && strstr(d.text, "'fragment_receives'"), "%s", d.text);
	wsph_suite_free(&s);
}

Test(lsp_rules, overlapped_io_defers_the_leak_check_to_the_final_cleanup, .init = nonifs,
     .fini = teardown)
{
	startup();
	socket_pair(0x3c000004, 0x500);
	uint64_t c = begin(0, 0, WSPH_FN_WSPRECV, 0x3c000004, 64, 1); /* a[2] bit 0: overlapped */
	end(0, c, WSPH_FN_WSPRECV, 0x3c000004, 64, 0, -1);
	close_pair(0x3c000004, 0);
	c = begin(0, 0, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6);
	end(0, c, WSPH_FN_WSPSOCKET, 2, SOCK_STREAM, 6, -1);
	wsph_rules_advance(engine);
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_neq(f[i].rule->id, "LSP.NextProc.NoHandleLeak",
				  "pending operations may keep the lower socket: %s", f[i].message);
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	/* ... but not past the final cleanup (no lower cleanup: the handle stays open) */
	c = begin(0, 0, WSPH_FN_WSPCLEANUP, 0, 0, 0);
	end(0, c, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	cr_assert(reported("LSP.NextProc.NoHandleLeak"));
}
