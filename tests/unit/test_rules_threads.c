/* Unit tests of the rule engine with several threads: the calls of two threads interleaved event by
 * event give exactly the findings each thread alone gives, the handle rules judge by the order of
 * the records across threads, and the rules about what a close or the final cleanup makes of the
 * calls of other threads. */
#include "rules.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;

#define T1 1001ul
#define T2 1002ul

/* One event of a thread's script; a RETURN returns the thread's innermost call. */
struct sev {
	enum wsph_ev_kind kind;
	enum wsph_fn fn;
	uint64_t a0, a1;
	int64_t ret;
	int err;
	int layer; /* 1: the layer under test calls the provider below (lower.so) */
};

#define CALL(fn, a0)	     {WSPH_EV_CALL, WSPH_FN_##fn, (a0), 0, 0, WSPH_ERRNO_UNSET, 0}
#define UP(fn, a0, a1, rv)   {WSPH_EV_UPCALL, WSPH_FN_##fn, (a0), (a1), (rv), 0, 0}
#define RET(fn, a0, rv, err) {WSPH_EV_RETURN, WSPH_FN_##fn, (a0), 0, (rv), (err), 0}
#define END		     {WSPH_EV_CALL, WSPH_FN_COUNT, 0, 0, 0, 0, 0}
#define OK		     WSPH_ERRNO_UNSET
#define LCALL(fn, a0)	     {WSPH_EV_CALL, WSPH_FN_##fn, (a0), 0, 0, WSPH_ERRNO_UNSET, 1}
#define LRET(fn, a0, rv, err) {WSPH_EV_RETURN, WSPH_FN_##fn, (a0), 0, (rv), (err), 1}

/* The calls each thread has in progress (their CALL seqs), as the recorder would know them. */
static struct {
	unsigned long thread;
	uint64_t open[8];
	int n;
} threads[2];
/* Upcalls recorded without their call (the recorder did not know the thread's call): the engine
 * then finds it from the thread. */
static int parents_unknown;

static void load_as(unsigned kind, int layered)
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
	if (layered) {
		cfg.layered = 1;
		cfg.n_lower = 1;
		snprintf(cfg.lower[0].module, sizeof cfg.lower[0].module, "lower.so");
		cfg.lower[0].kind = WSPH_KIND_NONIFS;
		cfg.lower[0].ids[0] = 2001;
		cfg.lower[0].n_ids = 1;
	}
	engine = wsph_rules_new(&cfg);
	memset(threads, 0, sizeof threads);
	threads[0].thread = T1;
	threads[1].thread = T2;
	parents_unknown = 0;
}

static void load(unsigned kind)
{
	load_as(kind, 0);
}

static void nonifs(void)
{
	load(WSPH_KIND_NONIFS);
}

static void layered(void)
{
	load_as(WSPH_KIND_NONIFS, 1);
}

static void teardown(void)
{
	wsph_rules_free(engine);
	wsph_trace_free(trace);
	wsph_ruleset_free(&set);
}

/* Records one event of thread t (0 or 1) with the next seq, as that thread would. */
static void put(int t, const struct sev *s)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = wsph_trace_count(trace) + 1;
	ev.thread = threads[t].thread;
	ev.kind = s->kind;
	ev.fn = s->fn;
	ev.a[0] = s->a0;
	ev.a[1] = s->a1;
	ev.ret = s->ret;
	ev.err = s->err;
	int n = threads[t].n;
	ev.layer = s->layer;
	strcpy(ev.module, s->kind == WSPH_EV_CALL ? (s->layer ? "provider.so" : "wspharness")
			  : s->layer			? "lower.so"
							: "provider.so");
	if (s->layer && s->kind == WSPH_EV_RETURN)
		strcpy(ev.behalf, "provider.so");
	if (s->kind == WSPH_EV_CALL && s->fn == WSPH_FN_WSPSOCKET)
		ev.a[4] = WSA_FLAG_OVERLAPPED;
	if (s->kind == WSPH_EV_RETURN && s->fn == WSPH_FN_WSPSTARTUP) {
		ev.a[0] = ev.a[1] = ev.a[2] = 0x0202; /* requested, version, high version */
		ev.a[4] = ev.a[5] = 1;		      /* description, WSPDATA written */
	}
	if (s->kind == WSPH_EV_UPCALL) {
		ev.parent = n && !parents_unknown ? threads[t].open[n - 1] : 0;
		ev.table = WSPH_TABLE_A;
		ev.current_table = WSPH_TABLE_A;
	} else if (s->kind == WSPH_EV_RETURN) {
		ev.parent = n ? threads[t].open[--threads[t].n] : 0;
	} else {
		threads[t].open[threads[t].n++] = ev.seq;
	}
	cr_assert_eq(wsph_trace_put(trace, &ev), ev.seq);
}

/* Plays the scripts of the two threads, one event of each in turn (b may be NULL). */
static void play(const struct sev *a, const struct sev *b)
{
	while ((a && a->fn != WSPH_FN_COUNT) || (b && b->fn != WSPH_FN_COUNT)) {
		if (a && a->fn != WSPH_FN_COUNT)
			put(0, a++);
		if (b && b->fn != WSPH_FN_COUNT)
			put(1, b++);
		wsph_rules_advance(engine);
	}
}

/* The rule IDs found, in order, joined by spaces; *msg gets the first message. */
static const char *found_msg(char *msg, size_t len)
{
	static char buf[4096];
	size_t n;
	wsph_rules_finish(engine);
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	buf[0] = '\0';
	if (msg)
		snprintf(msg, len, "%s", n ? f[0].message : "");
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

static const char *found(void)
{
	return found_msg(NULL, 0);
}

#define H1 0x3c000000u
#define H2 0x3c000004u
#define H3 0x3c000008u

static const struct sev startup[] = {CALL(WSPSTARTUP, 0x0202), RET(WSPSTARTUP, 0, 0, OK), END};
static const struct sev cleanup[] = {CALL(WSPCLEANUP, 0), RET(WSPCLEANUP, 0, 0, OK), END};

/* A socket made with its handle, and closed with it released: what a thread does cleanly. */
#define MAKE(h) CALL(WSPSOCKET, AF_INET), UP(WPUCREATESOCKETHANDLE, 1001, 0x77, (h)), \
		RET(WSPSOCKET, AF_INET, (h), OK)
#define CLOSE(h) CALL(WSPCLOSESOCKET, (h)), UP(WPUCLOSESOCKETHANDLE, (h), 0, 0), \
		 RET(WSPCLOSESOCKET, (h), 0, OK)

/* A WSPSocket on one thread with WPUCreateSocketHandle inside it, while another thread's
 * WSPCloseSocket releases another handle with WPUCloseSocketHandle, event by event. */
static void socket_beside_close(void)
{
	static const struct sev first[] = {MAKE(H1), END};
	static const struct sev make[] = {MAKE(H2), CLOSE(H2), END};
	static const struct sev close[] = {CLOSE(H1), END};
	play(startup, NULL);
	play(first, NULL);
	play(make, close);
	play(cleanup, NULL);
}

Test(threads, socket_and_close_interleaved_are_clean, .init = nonifs, .fini = teardown)
{
	socket_beside_close();
	cr_expect_str_eq(found(), "");
}

Test(threads, upcalls_without_their_call_belong_to_their_threads_call, .init = nonifs,
     .fini = teardown)
{
	parents_unknown = 1;
	socket_beside_close();
	cr_expect_str_eq(found(), "");
}

/* ---- each single-thread defect, alone and beside a clean thread ---- */

struct defect {
	const char *rule;
	struct sev steps[8];
};

static const struct defect defects[] = {
	{"WPU.CloseSocketHandle.OnClose", {MAKE(H1), CALL(WSPCLOSESOCKET, H1),
					    RET(WSPCLOSESOCKET, H1, 0, OK), END}},
	{"WPU.CloseSocketHandle.MatchesCreate",
	 {MAKE(H1), CALL(WSPCLOSESOCKET, H1), UP(WPUCLOSESOCKETHANDLE, H1, 0, 0),
	  UP(WPUCLOSESOCKETHANDLE, H1, 0, 0), RET(WSPCLOSESOCKET, H1, 0, OK), END}},
	{"WPU.CreateSocketHandle.BeforeReturn",
	 {CALL(WSPSOCKET, AF_INET), RET(WSPSOCKET, AF_INET, H3, OK), END}},
	{"WPU.CreateSocketHandle.OwnCatalogId",
	 {CALL(WSPSOCKET, AF_INET), UP(WPUCREATESOCKETHANDLE, 7, 0x77, H1),
	  RET(WSPSOCKET, AF_INET, H1, OK), CLOSE(H1), END}},
	{"SPI.Errno.OnFailure", {CALL(WSPLISTEN, H3), RET(WSPLISTEN, H3, -1, OK), END}},
};

/* The clean thread beside it: a socket made and closed, event by event with the defect's. */
static const struct sev clean[] = {MAKE(H2), CLOSE(H2), MAKE(H2 + 0x100), CLOSE(H2 + 0x100), END};

static const char *run_defect(const struct defect *d, int beside, int unknown)
{
	teardown();
	nonifs();
	parents_unknown = unknown;
	play(startup, NULL);
	play(d->steps, beside ? clean : NULL);
	play(cleanup, NULL);
	return found();
}

Test(threads, each_defect_alone_and_beside_a_clean_thread_is_one_finding, .init = nonifs,
     .fini = teardown)
{
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++)
		for (int unknown = 0; unknown < 2; unknown++) {
			cr_expect_str_eq(run_defect(&defects[i], 0, unknown), defects[i].rule,
					 "alone (parents %s)", unknown ? "unknown" : "known");
			cr_expect_str_eq(run_defect(&defects[i], 1, unknown), defects[i].rule,
					 "beside a clean thread (parents %s)",
					 unknown ? "unknown" : "known");
		}
}

/* The defect's thread second: the clean thread's events come first in each pair. */
Test(threads, a_defect_on_the_second_thread_is_one_finding, .init = nonifs, .fini = teardown)
{
	for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
		teardown();
		nonifs();
		play(startup, NULL);
		play(clean, defects[i].steps);
		play(cleanup, NULL);
		cr_expect_str_eq(found(), defects[i].rule);
	}
}

/* ---- the handle rules judge by the order of the records, across threads ---- */

/* A handle released by one thread and then looked up by another, in a call that does not name
 * it: a use after close, and the message names both threads. */
Test(threads, a_handle_released_by_one_thread_used_by_another, .init = nonifs, .fini = teardown)
{
	static const struct sev made[] = {MAKE(H1), MAKE(H2), END};
	static const struct sev t1[] = {CLOSE(H1), END};
	static const struct sev t2[] = {CALL(WSPLISTEN, H2), UP(WPUQUERYSOCKETHANDLECONTEXT, H2, 0, 0),
					END};
	static const struct sev late[] = {UP(WPUQUERYSOCKETHANDLECONTEXT, H1, 0, -1),
					  RET(WSPLISTEN, H2, 0, OK), CLOSE(H2), END};
	char msg[2048];
	play(startup, NULL);
	play(made, NULL);
	play(t1, t2);
	play(NULL, late);
	play(cleanup, NULL);
	cr_expect_str_eq(found_msg(msg, sizeof msg), "WPU.Handles.NoUseAfterClose");
	cr_expect(strstr(msg, "on thread 1, and used here on thread 2") != NULL, "%s", msg);
}

/* The same lookup recorded before the other thread's release is no use after close. */
Test(threads, a_lookup_recorded_before_the_release_is_clean, .init = nonifs, .fini = teardown)
{
	static const struct sev made[] = {MAKE(H1), MAKE(H2), END};
	static const struct sev begin_close[] = {CALL(WSPCLOSESOCKET, H1), END};
	static const struct sev t2[] = {CALL(WSPLISTEN, H2), UP(WPUQUERYSOCKETHANDLECONTEXT, H1, 0, 0),
					RET(WSPLISTEN, H2, 0, OK), END};
	static const struct sev end_close[] = {UP(WPUCLOSESOCKETHANDLE, H1, 0, 0),
					       RET(WSPCLOSESOCKET, H1, 0, OK), CLOSE(H2), END};
	play(startup, NULL);
	play(made, NULL);
	play(begin_close, t2); /* the close begins; the lookup comes before its release */
	play(end_close, NULL);
	play(cleanup, NULL);
	cr_expect_str_eq(found(), "");
}

/* A receive of another thread that named the handle may look it up after the release (the
 * provider has to, to fail it): not a use after close. */
Test(threads, a_receive_naming_the_released_handle_may_look_it_up, .init = nonifs,
     .fini = teardown)
{
	static const struct sev made[] = {MAKE(H1), END};
	static const struct sev t2[] = {CALL(WSPRECV, H1), UP(WPUQUERYSOCKETHANDLECONTEXT, H1, 0, 0),
					END};
	static const struct sev t1[] = {CLOSE(H1), END};
	static const struct sev woken[] = {UP(WPUQUERYSOCKETHANDLECONTEXT, H1, 0, -1),
					   RET(WSPRECV, H1, -1, WSAEINTR), END};
	play(startup, NULL);
	play(made, NULL);
	play(t1, t2);
	play(NULL, woken);
	play(cleanup, NULL);
	cr_expect_str_eq(found(), "");
}

/* ---- what a close or the final cleanup makes of the calls of other threads ---- */

static const struct sev made1[] = {MAKE(H1), END};
static const struct sev recv_blocks[] = {CALL(WSPRECV, H1), END};
static const struct sev recv_ends[] = {RET(WSPRECV, H1, -1, WSAEINTR), END};

Test(threads, a_receive_left_blocked_by_the_close_of_its_socket, .init = nonifs, .fini = teardown)
{
	static const struct sev close[] = {CLOSE(H1), END};
	char msg[2048];
	play(startup, NULL);
	play(made1, NULL);
	play(NULL, recv_blocks);
	play(close, NULL);
	cr_expect_str_eq(found_msg(msg, sizeof msg), "SPI.Close.CancelsBlockingCalls");
	cr_expect(strstr(msg, "WSPRecv") && strstr(msg, "thread 2") && strstr(msg, "thread 1"), "%s",
		  msg);
}

Test(threads, a_receive_the_close_ends_is_clean, .init = nonifs, .fini = teardown)
{
	static const struct sev close[] = {CLOSE(H1), END};
	play(startup, NULL);
	play(made1, NULL);
	play(NULL, recv_blocks);
	play(close, NULL);
	play(NULL, recv_ends);
	play(cleanup, NULL);
	cr_expect_str_eq(found(), "");
}

/* Not the premise: a receive on another socket, or one begun after the close returned (a stale
 * handle: SPI.Handle.StaleFailsNotSock's business), or a close that failed. */
Test(threads, calls_outside_the_close_premise_are_not_judged, .init = nonifs, .fini = teardown)
{
	static const struct sev made2[] = {MAKE(H2), END};
	static const struct sev other[] = {CALL(WSPRECV, H2), END};
	static const struct sev close[] = {CLOSE(H1), END};
	static const struct sev late[] = {CALL(WSPRECV, H1), END};
	play(startup, NULL);
	play(made1, NULL);
	play(made2, NULL);
	play(NULL, other);
	play(close, NULL);
	play(NULL, late);
	cr_expect_str_eq(found(), "");
}

Test(threads, a_final_cleanup_that_waits_for_a_call_in_flight, .init = nonifs, .fini = teardown)
{
	static const struct sev begin[] = {CALL(WSPCLEANUP, 0), END};
	char msg[2048];
	play(startup, NULL);
	play(made1, NULL);
	play(NULL, recv_blocks);
	play(begin, NULL);
	cr_expect_str_eq(found_msg(msg, sizeof msg), "SPI.Cleanup.EndsCallsInFlight");
	cr_expect(strstr(msg, "WSPCleanup") && strstr(msg, "thread 2 had a call in progress"), "%s",
		  msg);
}

/* The call begins while the final cleanup is in progress: in flight all the same. */
Test(threads, a_call_begun_during_the_final_cleanup_counts_as_in_flight, .init = nonifs,
     .fini = teardown)
{
	static const struct sev begin[] = {CALL(WSPCLEANUP, 0), END};
	play(startup, NULL);
	play(made1, NULL);
	play(begin, NULL);
	play(NULL, recv_blocks);
	cr_expect_str_eq(found(), "SPI.Cleanup.EndsCallsInFlight");
}

Test(threads, a_call_that_outlives_the_final_cleanup, .init = nonifs, .fini = teardown)
{
	static const struct sev release[] = {CALL(WSPCLEANUP, 0), UP(WPUCLOSESOCKETHANDLE, H1, 0, 0),
					     RET(WSPCLEANUP, 0, 0, OK), END};
	play(startup, NULL);
	play(made1, NULL);
	play(NULL, recv_blocks);
	play(release, NULL);
	cr_expect_str_eq(found(), "SPI.Cleanup.EndsCallsInFlight");
}

Test(threads, calls_the_final_cleanup_ends_are_clean, .init = nonifs, .fini = teardown)
{
	static const struct sev release[] = {CALL(WSPCLEANUP, 0), UP(WPUCLOSESOCKETHANDLE, H1, 0, 0),
					     RET(WSPCLEANUP, 0, 0, OK), END};
	play(startup, NULL);
	play(made1, NULL);
	play(NULL, recv_blocks);
	play(release, recv_ends);
	cr_expect_str_eq(found(), "");
}

/* A cleanup that is not the final one ends nothing. */
Test(threads, a_call_outliving_a_cleanup_that_is_not_final, .init = nonifs, .fini = teardown)
{
	play(startup, NULL);
	play(startup, NULL);
	play(made1, NULL);
	play(NULL, recv_blocks);
	play(cleanup, NULL);
	cr_expect_str_eq(found(), "");
}

/* A case whose process was killed: its trace judged again by the families that need the trace
 * alone; the engine's own checks (made in the child) are not repeated. */
Test(threads, an_unfinished_case_is_judged_from_its_trace, .init = nonifs, .fini = teardown)
{
	static const struct sev begin[] = {CALL(WSPCLOSESOCKET, H2), RET(WSPCLOSESOCKET, H2, 0, OK),
					   CALL(WSPCLEANUP, 0), END};
	static const struct sev made2[] = {MAKE(H2), END};
	play(startup, NULL);
	play(made1, NULL);
	play(made2, NULL);
	play(NULL, recv_blocks);
	play(begin, NULL); /* WSPCloseSocket without its release: WPU.CloseSocketHandle.OnClose */
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	c.events = trace;
	struct wsph_rules_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.set = &set;
	cfg.kind = WSPH_KIND_NONIFS;
	cr_assert_eq(wsph_rules_judge_unfinished(&cfg, &c), 1);
	cr_expect_str_eq(c.findings[0].rule->id, "SPI.Cleanup.EndsCallsInFlight");
	cr_expect_str_eq(c.findings[0].module, "provider.so", "the provider is charged");
	free(c.findings[0].message);
	free(c.findings[0].excerpt);
	free(c.findings);
}

/* The layered tests below: a startup and one socket (H1 over lower 0x5000), and its close. */
static const struct sev layered_start[] = {CALL(WSPSTARTUP, 0x0202), LCALL(WSPSTARTUP, 0x0202),
					   LRET(WSPSTARTUP, 0x0202, 0, OK), RET(WSPSTARTUP, 0, 0, OK),
					   CALL(WSPSOCKET, AF_INET), LCALL(WSPSOCKET, AF_INET),
					   LRET(WSPSOCKET, AF_INET, 0x5000, OK),
					   UP(WPUCREATESOCKETHANDLE, 1001, 0x77, H1),
					   RET(WSPSOCKET, AF_INET, H1, OK), END};
static const struct sev layered_close[] = {CALL(WSPCLOSESOCKET, H1), LCALL(WSPCLOSESOCKET, 0x5000),
					   LRET(WSPCLOSESOCKET, 0x5000, 0, OK),
					   UP(WPUCLOSESOCKETHANDLE, H1, 0, 0),
					   RET(WSPCLOSESOCKET, H1, 0, OK), END};

/* A layer's lower receive, blocked in the provider below, returns after another thread's close
 * of the same lower handle: it began while the handle was open, no use after close. */
Test(threads, a_lower_call_returning_after_another_threads_lower_close, .init = layered,
     .fini = teardown)
{
	static const struct sev reader[] = {CALL(WSPRECV, H1), LCALL(WSPRECV, 0x5000), END};
	static const struct sev woken[] = {LRET(WSPRECV, 0x5000, -1, WSAEINTR),
					   RET(WSPRECV, H1, -1, WSAEINTR), END};
	static const struct sev stop[] = {CALL(WSPCLEANUP, 0), LCALL(WSPCLEANUP, 0),
					  LRET(WSPCLEANUP, 0, 0, OK), RET(WSPCLEANUP, 0, 0, OK), END};
	play(layered_start, NULL);
	play(NULL, reader);
	play(layered_close, NULL);
	play(NULL, woken);
	play(stop, NULL);
	cr_expect_str_eq(found(), "");
}

/* The same receive begun after the lower close is a use after close. */
Test(threads, a_lower_call_begun_after_the_lower_close, .init = layered, .fini = teardown)
{
	static const struct sev late[] = {CALL(WSPRECV, H1), LCALL(WSPRECV, 0x5000),
					  LRET(WSPRECV, 0x5000, -1, WSAENOTSOCK),
					  RET(WSPRECV, H1, -1, WSAENOTSOCK), END};
	play(layered_start, NULL);
	play(layered_close, NULL);
	play(NULL, late);
	cr_expect_str_eq(found(), "LSP.NextProc.NoUseAfterClose");
}

/* The client's receive had started (its call was in the layer) when another thread closed the
 * socket; the layer's lower receive then comes after the lower close: the client raced its own
 * close, and the layer is not charged. */
Test(threads, a_client_call_racing_its_own_close_is_not_the_layers, .init = layered,
     .fini = teardown)
{
	static const struct sev reader[] = {CALL(WSPRECV, H1), END};
	static const struct sev late[] = {LCALL(WSPRECV, 0x5000),
					  LRET(WSPRECV, 0x5000, -1, WSAENOTSOCK),
					  RET(WSPRECV, H1, -1, WSAENOTSOCK), END};
	play(layered_start, NULL);
	play(NULL, reader);
	play(layered_close, NULL);
	play(NULL, late);
	cr_expect_str_eq(found(), "");
}

/* The same, but the racing call is on another socket of the client's: the layer named a lower
 * handle that socket does not own, and that is the layer's use after close. */
Test(threads, a_call_on_another_socket_meeting_the_closed_handle, .init = layered,
     .fini = teardown)
{
	static const struct sev second[] = {CALL(WSPSOCKET, AF_INET), LCALL(WSPSOCKET, AF_INET),
					    LRET(WSPSOCKET, AF_INET, 0x5004, OK),
					    UP(WPUCREATESOCKETHANDLE, 1001, 0x78, H2),
					    RET(WSPSOCKET, AF_INET, H2, OK), END};
	static const struct sev reader[] = {CALL(WSPRECV, H2), END};
	static const struct sev late[] = {LCALL(WSPRECV, 0x5000),
					  LRET(WSPRECV, 0x5000, -1, WSAENOTSOCK),
					  RET(WSPRECV, H2, -1, WSAENOTSOCK), END};
	play(layered_start, NULL);
	play(second, NULL);
	play(NULL, reader);
	play(layered_close, NULL);
	play(NULL, late);
	cr_expect_str_eq(found(), "LSP.NextProc.NoUseAfterClose");
}
