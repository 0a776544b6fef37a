/* The LSP.NextProc.* rules (spec §7.7): how a layer uses the provider below it. Rebuilt from the
 * trace: lower calls are layer-1 CALL/RETURN events whose RETURN names the lower module; a lower
 * call made inside one of the client's calls has that call as its parent, which pairs the client's
 * (upper) sockets with the lower handles the layer obtained for them. */
#include "rules_lsp.h"

#include "lower.h"
#include "util.h"
#include "wsph/spi.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_USE_AFTER_CLOSE "LSP.NextProc.NoUseAfterClose"
#define R_KNOWN		  "LSP.NextProc.KnownHandlesOnly"
#define R_LEAK		  "LSP.NextProc.NoHandleLeak"
#define R_WITHIN	  "LSP.NextProc.WithinStartup"
#define R_BALANCED	  "LSP.NextProc.CleanupBalanced"
#define R_CLOSES_FIRST	  "LSP.NextProc.ClosesBeforeFinalCleanup"
#define R_PARTIAL	  "LSP.NextProc.PartialReceive"
#define R_TABLE_DOWN	  "LSP.UpcallTable.PassedDown"

#define MAX_INFLIGHT 64
#define MAX_ISSUED   8
#define MAX_INST     4

/* A call that has not returned yet. */
struct inflight {
	struct wsph_event call;
	uint64_t issued[MAX_ISSUED]; /* layer 0: lower handles issued inside it */
	size_t n_issued;
	uint64_t closed[MAX_ISSUED]; /* layer 0: lower handles closed inside it */
	size_t n_closed;
};

#define MAX_TOLD 16
#define MAX_REFUSED 16

/* A lower provider (by module), with the ledger rebuilt from its RETURN events. */
struct inst {
	char module[64];
	struct wsph_lower_ledger led;
	uint64_t last_cleanup_seq; /* the cleanup that brought the count to 0 */
	/* What the layer told it in the WSAPROTOCOL_INFOW of its lower WSPStartups and WSPSockets
	 * that returned: the catalog ids, and XP1_IFS_HANDLES of the most recent successful
	 * WSPStartup's (-1 none yet). */
	uint32_t told_ids[MAX_TOLD];
	size_t n_told;
	int told_ifs;
	/* The lower WSPCleanup that brought the count to 0 with lower sockets open: judged once the
	 * layer's cleanup is over, since a layer that then still closes them (the calls are
	 * LSP.NextProc.WithinStartup's) has one defect, the order, not two. */
	struct {
		size_t open;
		uint64_t first_h, first_seq, seq;
		int step, pending, used_after;
	} closes_first;
	/* Lower handles whose lower WSPCloseSocket the layer made and the provider below refused:
	 * what stays open of them is that provider's answer, not the layer's omission. */
	uint64_t refused[MAX_REFUSED];
	size_t n_refused;
};

/* A socket the client got from the layer. */
struct usock {
	uint64_t h;
	int stream;
	uint64_t lower[MAX_ISSUED]; /* the lower handles obtained inside the call that returned it */
	size_t n_lower;
	uint64_t created_seq;
	uint64_t client_bytes, lower_bytes; /* received: by the client, from the lower provider */
	int unaccountable;		    /* an overlapped receive: byte counts not all in the trace */
	int overlapped;			    /* the client started overlapped I/O on it */
	int closed, check_pending, close_step;
	uint64_t close_seq;
};

/* Per-case state; a case whose provider is no layer has none. */
struct rules_lsp {
	const struct wsph_rule_sink *sink;
	unsigned kind;
	struct inflight fl[MAX_INFLIGHT];
	size_t n_fl;
	struct inst inst[MAX_INST];
	size_t n_inst;
	struct usock *u;
	size_t n_u, cap_u;
	int upper_startups;
	int upper_table; /* the table of the layer's most recent successful WSPStartup (-1 none) */
};

static void *lsp_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	if (!cfg->layered)
		return NULL;
	struct rules_lsp *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->sink = sink;
	l->kind = cfg->kind;
	l->upper_table = -1;
	return l;
}

static void lsp_destroy(void *st)
{
	struct rules_lsp *l = st;
	if (!l)
		return;
	for (size_t i = 0; i < l->n_inst; i++)
		wsph_ledger_reset(&l->inst[i].led);
	free(l->u);
	free(l);
}

static void report(const struct rules_lsp *l, const char *rule, int step, uint64_t seq,
		   const char *fmt, ...) WSPH_PRINTF(5, 6);

static void report(const struct rules_lsp *l, const char *rule, int step, uint64_t seq,
		   const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wsph_sink_report(l->sink, rule, step, seq, msg);
}

static struct inst *inst_for(struct rules_lsp *l, const char *module)
{
	for (size_t i = 0; i < l->n_inst; i++)
		if (!strcmp(l->inst[i].module, module))
			return &l->inst[i];
	if (l->n_inst == MAX_INST)
		return NULL;
	struct inst *in = &l->inst[l->n_inst++];
	memset(in, 0, sizeof *in);
	snprintf(in->module, sizeof in->module, "%s", module);
	in->told_ifs = -1;
	return in;
}

static const struct inst *inst_find(const struct rules_lsp *l, const char *module)
{
	for (size_t i = 0; i < l->n_inst; i++)
		if (!strcmp(l->inst[i].module, module))
			return &l->inst[i];
	return NULL;
}

static void told_id(struct inst *in, uint64_t id)
{
	for (size_t i = 0; i < in->n_told; i++)
		if (in->told_ids[i] == id)
			return;
	if (id && in->n_told < MAX_TOLD)
		in->told_ids[in->n_told++] = (uint32_t)id;
}

static struct inflight *inflight_find(struct rules_lsp *l, uint64_t seq)
{
	for (size_t i = l->n_fl; seq && i-- > 0;)
		if (l->fl[i].call.seq == seq)
			return &l->fl[i];
	return NULL;
}

static struct usock *usock_find(struct rules_lsp *l, uint64_t h)
{
	for (size_t i = l->n_u; i-- > 0;)
		if (l->u[i].h == h)
			return &l->u[i];
	return NULL;
}

static struct usock *usock_of_lower(struct rules_lsp *l, uint64_t lower)
{
	for (size_t i = l->n_u; i-- > 0;)
		for (size_t k = 0; k < l->u[i].n_lower; k++)
			if (l->u[i].lower[k] == lower)
				return &l->u[i];
	return NULL;
}

static struct usock *usock_add(struct rules_lsp *l, uint64_t h)
{
	if (l->n_u == l->cap_u) {
		size_t nc = l->cap_u ? l->cap_u * 2 : 16;
		struct usock *p = realloc(l->u, nc * sizeof *p);
		if (!p)
			return NULL;
		l->u = p;
		l->cap_u = nc;
	}
	struct usock *u = &l->u[l->n_u++];
	memset(u, 0, sizeof *u);
	u->h = h;
	return u;
}

static int issues_handle(enum wsph_fn fn)
{
	return fn == WSPH_FN_WSPSOCKET || fn == WSPH_FN_WSPACCEPT || fn == WSPH_FN_WSPJOINLEAF;
}

/*
 * The client's own race: `upper`, a client call on the socket the lower handle h serves (or a
 * select), began before another of the client's calls closed h (its close of that socket, or its
 * final cleanup; the lower close returned at event `closed_seq`). The layer had let the call
 * through while the socket was open; where it then meets h is the client's doing.
 */
static int client_raced(struct rules_lsp *l, const struct inflight *upper, uint64_t h,
			uint64_t closed_seq)
{
	if (!upper || upper->call.layer != 0 || upper->call.seq >= closed_seq)
		return 0;
	for (size_t i = 0; i < upper->n_closed; i++)
		if (upper->closed[i] == h)
			return 0; /* closed inside this very call */
	if (upper->call.fn == WSPH_FN_WSPSELECT)
		return 1;
	const struct usock *u = usock_of_lower(l, h);
	return u && wsph_fn_takes_socket(upper->call.fn) && upper->call.a[0] == u->h;
}

/* The layer named h in a call to the lower provider `in`: it must be an open handle of in's. */
static void check_handle(struct rules_lsp *l, const struct inst *in,
			 const struct wsph_event *ev, const struct inflight *upper, uint64_t h,
			 const char *where, uint64_t begun)
{
	char call[768];
	wsph_event_call_text(ev, call, sizeof call);
	/* An IFS layer may forward the value its client passed, unchanged. */
	if (l->kind == WSPH_KIND_IFS && upper && upper->call.layer == 0 &&
	    wsph_fn_takes_socket(upper->call.fn) && upper->call.a[0] == h)
		return;
	const struct wsph_lh *e = wsph_ledger_find(&in->led, h);
	if (e && e->state == WSPH_LH_OPEN)
		return;
	/* a call begun (CALL `begun`) before another thread's close or reset of h and returned
	 * after it: h was open when the layer used it, whatever the order of the RETURNs */
	if (e && e->closed_seq > begun)
		return;
	if (e && client_raced(l, upper, h, e->closed_seq))
		return;
	if (e && e->state == WSPH_LH_CLOSED) {
		report(l, R_USE_AFTER_CLOSE, ev->step, ev->seq,
		       "the layer called %s's %s naming 0x%" PRIx64 " (%s), a handle it had already closed "
		       "with a lower WSPCloseSocket that returned 0 (event #%" PRIu64 "); a closed "
		       "lower handle must not be used again",
		       in->module, call, h, where,
		       e->closed_seq);
		return;
	}
	if (e && e->state == WSPH_LH_RESET) {
		report(l, R_KNOWN, ev->step, ev->seq,
		       "the layer called %s's %s naming 0x%" PRIx64 " (%s), a handle that was reset "
		       "by the lower WSPCleanup that brought that provider's count to 0 (event #%" PRIu64
		       "); it is no longer open",
		       in->module, call, h, where, e->closed_seq);
		return;
	}
	const char *what = "a value that provider never issued";
	char other[160];
	for (size_t i = 0; i < l->n_inst; i++) {
		if (&l->inst[i] == in || !wsph_ledger_find(&l->inst[i].led, h))
			continue;
		snprintf(other, sizeof other, "a handle of another lower provider (%s)",
			 l->inst[i].module);
		what = other;
	}
	if (what != other && usock_find(l, h))
		what = "the layer's own (upper) handle, the one its client holds: an upper handle "
		       "passed down";
	report(l, R_KNOWN, ev->step, ev->seq,
	       "the layer called %s's %s naming 0x%" PRIx64 " (%s): %s; every SOCKET a layer passes "
	       "down must have been issued to it by that provider (WSPSocket, WSPAccept, WSPJoinLeaf) "
	       "and still be open",
	       in->module, call, h, where, what);
}

/* Is lower handle h the object of a socket the client still holds? An IFS layer's client handle
 * is the lower handle itself, registered with WPUModifyIFSHandle: the client's to close, and the
 * lower provider's final WSPCleanup resets it as it resets a base provider's. */
static int held_by_client(const struct rules_lsp *l, uint64_t h)
{
	if (l->kind != WSPH_KIND_IFS)
		return 0;
	for (size_t i = 0; i < l->n_u; i++) {
		const struct usock *u = &l->u[i];
		if (u->closed)
			continue;
		if (u->h == h)
			return 1;
		for (size_t k = 0; k < u->n_lower; k++)
			if (u->lower[k] == h)
				return 1;
	}
	return 0;
}

/* Is lower handle h one the layer obtained for a client socket the client has closed? Keeping it
 * open is LSP.NextProc.NoHandleLeak's (judged at the close, or at the final cleanup when the
 * client had overlapped operations on it), not also ClosesBeforeFinalCleanup's. */
static int of_closed_client_socket(const struct rules_lsp *l, uint64_t h)
{
	for (size_t i = 0; i < l->n_u; i++) {
		const struct usock *u = &l->u[i];
		for (size_t k = 0; u->closed && k < u->n_lower; k++)
			if (u->lower[k] == h)
				return 1;
	}
	return 0;
}

/* Lower handles of closed client sockets, once the close has fully returned. */
static void check_closed(struct rules_lsp *l, uint64_t before_seq)
{
	for (size_t i = 0; i < l->n_u; i++) {
		struct usock *u = &l->u[i];
		if (!u->check_pending || u->close_seq >= before_seq)
			continue;
		u->check_pending = 0;
		/* A layer may keep the lower socket until the client's overlapped operations have
		 * completed: then only the final WSPCleanup is a sure point (check_final). */
		if (u->overlapped)
			continue;
		for (size_t k = 0; k < u->n_lower; k++) {
			for (size_t j = 0; j < l->n_inst; j++) {
				const struct wsph_lh *e = wsph_ledger_find(&l->inst[j].led, u->lower[k]);
				if (!wsph_ledger_charge(&l->inst[j].led, u->lower[k]))
					continue;
				report(l, R_LEAK, u->close_step, u->close_seq,
				       "the client closed 0x%" PRIx64 " (WSPCloseSocket returned 0 at "
				       "event #%" PRIu64 "), but the lower handle 0x%" PRIx64
				       " the layer obtained for it from %s (event #%" PRIu64
				       ") was never closed with a lower WSPCloseSocket",
				       u->h, u->close_seq, u->lower[k], l->inst[j].module,
				       e->issued_seq);
			}
		}
	}
}

/* The lower sockets a lower WSPCleanup left open, unless the layer went on to use the lower
 * provider after it (then that is the one finding, LSP.NextProc.WithinStartup). */
static void judge_closes_first(struct rules_lsp *l)
{
	for (size_t i = 0; i < l->n_inst; i++) {
		struct inst *in = &l->inst[i];
		if (!in->closes_first.pending)
			continue;
		in->closes_first.pending = 0;
		if (in->closes_first.used_after)
			continue;
		report(l, R_CLOSES_FIRST, in->closes_first.step, in->closes_first.seq,
		       "the layer made the lower WSPCleanup that brought %s's count to 0 with %zu of "
		       "its lower socket(s) still open (first: 0x%" PRIx64 ", issued at event #%" PRIu64
		       "); it should close every lower socket before that cleanup",
		       in->module, in->closes_first.open, in->closes_first.first_h,
		       in->closes_first.first_seq);
	}
}

/* The layer's final WSPCleanup returned: every lower handle closed, every lower startup balanced. */
static void check_final(struct rules_lsp *l, const struct wsph_event *ev)
{
	check_closed(l, UINT64_MAX);
	judge_closes_first(l);
	for (size_t i = 0; i < l->n_inst; i++) {
		struct inst *in = &l->inst[i];
		const struct wsph_lh *first;
		size_t open = wsph_ledger_open(&in->led, &first);
		if (open)
			report(l, R_LEAK, ev->step, ev->seq,
			       "the layer's final WSPCleanup returned with %zu handle(s) of %s still "
			       "open, never closed with a lower WSPCloseSocket (first: 0x%" PRIx64
			       ", issued at event #%" PRIu64 ")",
			       open, in->module, first->h, first->issued_seq);
		if (in->led.startups != 0)
			report(l, R_BALANCED, ev->step, ev->seq,
			       "the layer's final WSPCleanup returned with %d successful WSPStartup(s) "
			       "of %s not balanced by a lower WSPCleanup; a matching WSPCleanup must "
			       "be called for each successful WSPStartup",
			       in->led.startups, in->module);
	}
}

/* Whether the handle a WSPSocket of socket type `type`, a WSPAccept or a WSPJoinLeaf (on the
 * provider's handle a[0]) issued is a stream socket. */
static int issued_stream(const struct inst *in, const struct wsph_event *ev, uint64_t type)
{
	const struct wsph_lh *from = wsph_ledger_find(&in->led, ev->a[0]);
	return ev->fn == WSPH_FN_WSPACCEPT ||
	       (ev->fn == WSPH_FN_WSPSOCKET ? type == SOCK_STREAM : from && from->stream);
}

/* A lower WSPStartup returned: what the layer told the provider below in it. */
static void lower_startup(struct inst *in, const struct wsph_event *ev,
			  const struct wsph_event *call)
{
	wsph_ledger_startup(&in->led, (int)ev->ret);
	if (ev->ret == 0) {
		/* the CALL's a[1], a[2]: the catalog id and service flags passed down */
		told_id(in, call->a[1]);
		in->told_ifs = (call->a[2] & XP1_IFS_HANDLES) != 0;
	}
}

static int close_refused(const struct inst *in, uint64_t h)
{
	for (size_t i = 0; i < in->n_refused; i++)
		if (in->refused[i] == h)
			return 1;
	return 0;
}

/* The lower sockets of `in` still open that the layer would have to close before its final
 * lower WSPCleanup: not those the client holds itself (an IFS layer's: the layer cannot close
 * them without completing the client's own operations on them, which a final cleanup cancels
 * silently), nor those already found leaked when their client socket was closed (one defect, one
 * finding), nor those whose lower close the provider below refused (the layer did close them).
 * The first one goes to *first. */

static size_t open_for_layer(const struct rules_lsp *l, const struct inst *in,
			     const struct wsph_lh **first)
{
	size_t open = 0;
	for (size_t i = 0; i < in->led.n; i++) {
		const struct wsph_lh *e = &in->led.v[i];
		if (e->state != WSPH_LH_OPEN || e->charged || held_by_client(l, e->h) ||
		    of_closed_client_socket(l, e->h) || close_refused(in, e->h))
			continue;
		if (!open++)
			*first = e;
	}
	return open;
}

/* A lower WSPCleanup returned: one too many is charged now; the one that brings the count to 0
 * with lower sockets open is judged once the layer's cleanup is over (judge_closes_first). */
static void lower_cleanup(struct rules_lsp *l, struct inst *in, const struct wsph_event *ev,
			  const struct wsph_event *call)
{
	check_closed(l, call->seq);
	const struct wsph_lh *first = NULL;
	size_t open = open_for_layer(l, in, &first);
	uint64_t first_h = first ? first->h : 0, first_seq = first ? first->issued_seq : 0;
	int last_failed = in->led.last_failed;
	int before = wsph_ledger_cleanup(&in->led, (int)ev->ret, ev->seq, NULL);
	if (before <= 0) {
		char text[768];
		wsph_event_call_text(ev, text, sizeof text);
		report(l, R_BALANCED, ev->step, ev->seq,
		       "the layer called %s's %s with no successful lower WSPStartup "
		       "outstanding (%s); it must call the lower WSPCleanup once per "
		       "successful lower WSPStartup, never more",
		       in->module, text,
		       !in->led.ever_started ? "none ever succeeded"
		       : last_failed	       ? "the last lower WSPStartup failed"
					       : "every one was already balanced");
	} else if (before == 1 && ev->ret == 0) {
		in->last_cleanup_seq = ev->seq;
		if (open) {
			in->closes_first.open = open;
			in->closes_first.first_h = first_h;
			in->closes_first.first_seq = first_seq;
			in->closes_first.seq = ev->seq;
			in->closes_first.step = ev->step;
			in->closes_first.pending = 1;
			in->closes_first.used_after = 0;
		}
	}
}

/* A lower call made while the layer held no successful, unbalanced lower WSPStartup. The handles
 * it names are that defect's, not also KnownHandlesOnly's. */
static void outside_startup(struct rules_lsp *l, struct inst *in, const struct wsph_event *ev)
{
	char why[96], text[768];
	wsph_event_call_text(ev, text, sizeof text);
	if (!in->led.ever_started)
		snprintf(why, sizeof why, "no lower WSPStartup has succeeded");
	else
		snprintf(why, sizeof why,
			 "its last lower WSPCleanup (event #%" PRIu64 ") balanced them all",
			 in->last_cleanup_seq);
	report(l, R_WITHIN, ev->step, ev->seq,
	       "the layer called %s's %s while it held no successful, unbalanced WSPStartup "
	       "on that provider (%s); the lower procedure table may only be used between "
	       "a successful WSPStartup and the WSPCleanup that balances it",
	       in->module, text, why);
	in->closes_first.used_after = 1;
}

/* A lower receive: the bytes the provider below delivered for a client socket (through the
 * lower handle the layer obtained for it, or inside the client's own receive). */
static void lower_received(struct rules_lsp *l, const struct wsph_event *ev,
			   const struct inflight *upper)
{
	struct usock *u = usock_of_lower(l, ev->a[0]);
	if (!u && upper && upper->call.layer == 0 &&
	    (upper->call.fn == WSPH_FN_WSPRECV || upper->call.fn == WSPH_FN_WSPRECVFROM))
		u = usock_find(l, upper->call.a[0]);
	if (!u)
		return;
	if (ev->a[4]) /* overlapped: its byte count is not in the trace */
		u->unaccountable = 1;
	else if (ev->ret == 0)
		u->lower_bytes += ev->a[2];
}

/* A lower call within a lower startup returned: the handles it named, and the ledger of what it
 * issued and closed. A handle issued inside a client's call is paired with the client's socket. */
static void lower_use(struct rules_lsp *l, struct inst *in, const struct wsph_event *ev,
		      struct inflight *upper, uint64_t begun)
{
	if (wsph_fn_takes_socket(ev->fn))
		check_handle(l, in, ev, upper, ev->a[0], "as s", begun);
	else if (ev->fn == WSPH_FN_WSPSELECT && ev->a[3])
		check_handle(l, in, ev, upper, ev->a[1], "a member of an fd_set", begun);

	if (ev->fn == WSPH_FN_WSPSOCKET)
		told_id(in, ev->a[3]);
	if (issues_handle(ev->fn) && ev->ret != -1) {
		int stream = issued_stream(in, ev, ev->a[1]);
		const struct wsph_lh *had = wsph_ledger_find(&in->led, (uint64_t)ev->ret);
		int fresh = !had || had->state != WSPH_LH_OPEN;
		wsph_ledger_issue(&in->led, (uint64_t)ev->ret, stream, ev->seq);
		if (fresh && upper && upper->call.layer == 0 && upper->n_issued < MAX_ISSUED)
			upper->issued[upper->n_issued++] = (uint64_t)ev->ret;
	}
	if (ev->fn == WSPH_FN_WSPCLOSESOCKET && ev->ret != 0 && in->n_refused < MAX_REFUSED &&
	    wsph_ledger_state(&in->led, ev->a[0]) == WSPH_LH_OPEN)
		in->refused[in->n_refused++] = ev->a[0];
	if (ev->fn == WSPH_FN_WSPCLOSESOCKET && ev->ret == 0) {
		wsph_ledger_close(&in->led, ev->a[0], ev->seq);
		if (upper && upper->call.layer == 0 && upper->n_closed < MAX_ISSUED)
			upper->closed[upper->n_closed++] = ev->a[0];
	}
	if (ev->fn == WSPH_FN_WSPRECV || ev->fn == WSPH_FN_WSPRECVFROM)
		lower_received(l, ev, upper);
}

/* A call of the layer into the provider below returned (`call` is its CALL event). */
static void lower_return(struct rules_lsp *l, const struct wsph_event *ev,
			 const struct wsph_event *call)
{
	struct inst *in = inst_for(l, ev->module);
	if (!in)
		return;
	if (ev->fn == WSPH_FN_WSPSTARTUP)
		lower_startup(in, ev, call);
	else if (ev->fn == WSPH_FN_WSPCLEANUP)
		lower_cleanup(l, in, ev, call);
	else if (in->led.startups <= 0 && in->last_cleanup_seq < call->seq)
		outside_startup(l, in, ev); /* begun after the cleanup that balanced them (or none) */
	else
		lower_use(l, in, ev, inflight_find(l, call->parent), call->seq);
}

/* A harness call the lower provider's own code answered (the layer put that function of the
 * provider below in its own table): nothing in it is the layer's use of the provider below, so
 * no rule here judges it, but what it issued and closed changes that provider's ledger, and what
 * it delivered the client read from the provider below. */
static void answered_below(struct rules_lsp *l, struct inst *in, const struct wsph_event *ev,
			   const struct wsph_event *call)
{
	if (issues_handle(ev->fn) && ev->ret != -1)
		wsph_ledger_issue(&in->led, (uint64_t)ev->ret, issued_stream(in, ev, call->a[1]),
				  ev->seq);
	if (ev->fn == WSPH_FN_WSPCLOSESOCKET && ev->ret == 0)
		wsph_ledger_close(&in->led, ev->a[0], ev->seq);
	if ((ev->fn == WSPH_FN_WSPRECV || ev->fn == WSPH_FN_WSPRECVFROM) && ev->ret == 0 &&
	    !(call->a[2] & 1u)) {
		struct usock *u = usock_find(l, ev->a[0]);
		if (u)
			u->lower_bytes += ev->a[2];
	}
}

/* A lower WSPStartup: the table the layer hands down must be the one it was given most recently
 * (its WSPStartup in progress, else its last successful one), or one that forwards to it. */
static void check_table_down(struct rules_lsp *l,
			     const struct wsph_event *ev)
{
	if (ev->table != WSPH_TABLE_A && ev->table != WSPH_TABLE_B)
		return;
	int want = -1;
	/* the layer's WSPStartup in progress on the same thread, else on any */
	for (int any = 0; any < 2 && want < 0; any++)
		for (size_t i = l->n_fl; i-- > 0 && want < 0;)
			if (l->fl[i].call.layer == 0 && l->fl[i].call.fn == WSPH_FN_WSPSTARTUP &&
			    (any || l->fl[i].call.thread == ev->thread))
				want = l->fl[i].call.table;
	if (want < 0)
		want = l->upper_table;
	if (want < 0 || want == ev->table)
		return;
	report(l, R_TABLE_DOWN, ev->step, ev->seq,
	       "%s passed upcall table %c to the next provider's WSPStartup, but its own most "
	       "recent WSPStartup supplied table %c: a layer passes down the table it received "
	       "(or one that forwards to it), so the provider below uses the most recent one too",
	       ev->module, ev->table == WSPH_TABLE_A ? 'A' : 'B', want == WSPH_TABLE_A ? 'A' : 'B');
}

/* A socket the client got from the layer, with the lower handles the layer obtained for it inside
 * the call that returned it (`f`, NULL when unknown). */
static void upper_new_socket(struct rules_lsp *l, const struct wsph_event *ev,
			     const struct wsph_event *call, const struct inflight *f)
{
	if (ev->ret == -1 || (ev->fn == WSPH_FN_WSPJOINLEAF && (uint64_t)ev->ret == ev->a[0]))
		return;
	struct usock *u = usock_add(l, (uint64_t)ev->ret);
	if (!u)
		return;
	u->created_seq = ev->seq;
	u->stream = ev->fn == WSPH_FN_WSPACCEPT ||
		    (ev->fn == WSPH_FN_WSPSOCKET && call->a[1] == SOCK_STREAM);
	for (size_t k = 0; f && k < f->n_issued; k++)
		u->lower[u->n_lower++] = f->issued[k];
}

/* The client closed a socket: its lower handles are judged once the close has fully returned
 * (check_closed). */
static void upper_close(struct rules_lsp *l, const struct wsph_event *ev)
{
	struct usock *u = usock_find(l, ev->a[0]);
	if (ev->ret == 0 && u && !u->closed) {
		u->closed = 1;
		u->check_pending = 1;
		u->close_seq = ev->seq;
		u->close_step = ev->step;
	}
}

/* A receive of the client's: no more bytes than it asked for, and no more in all than the
 * provider below delivered on the layer's lower sockets. */
static void upper_received(struct rules_lsp *l, const struct wsph_event *ev,
			   const struct wsph_event *call)
{
	struct usock *u = usock_find(l, ev->a[0]);
	if (!u)
		return;
	if (call->a[2] & 1u) { /* overlapped: completed elsewhere */
		u->unaccountable = 1;
		u->overlapped = 1;
		return;
	}
	if (ev->ret != 0)
		return;
	char text[768];
	wsph_event_call_text(ev, text, sizeof text);
	uint64_t got = ev->a[2], cap = ev->a[1];
	u->client_bytes += got;
	if (got > cap)
		report(l, R_PARTIAL, ev->step, ev->seq,
		       "%s reported %" PRIu64 " byte(s) received into a buffer of %" PRIu64
		       "; no receive may report more than the client asked for",
		       text, got, cap);
	else if (!u->unaccountable && u->client_bytes > u->lower_bytes) /* datagrams too */
		report(l, R_PARTIAL, ev->step, ev->seq,
		       "%s: the client has now read %" PRIu64 " byte(s) through the layer on "
		       "0x%" PRIx64 ", but the provider below delivered only %" PRIu64
		       " on the layer's lower socket(s); the layer reported bytes it never "
		       "received (a partial lower receive taken for a whole one?)",
		       text, u->client_bytes, u->h, u->lower_bytes);
}

/* A call of the harness into the layer returned (`f` its call in flight, NULL when unknown). */
static void upper_return(struct rules_lsp *l, const struct wsph_event *ev,
			 const struct inflight *f)
{
	const struct wsph_event *call = f ? &f->call : ev;
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
		if (ev->ret == 0) {
			l->upper_startups++;
			l->upper_table = call->table;
		}
		break;
	case WSPH_FN_WSPCLEANUP:
		if (ev->ret == 0 && l->upper_startups > 0 && --l->upper_startups == 0)
			check_final(l, ev);
		break;
	case WSPH_FN_WSPSOCKET:
	case WSPH_FN_WSPACCEPT:
	case WSPH_FN_WSPJOINLEAF:
		upper_new_socket(l, ev, call, f);
		break;
	case WSPH_FN_WSPCLOSESOCKET:
		upper_close(l, ev);
		break;
	case WSPH_FN_WSPSEND:
	case WSPH_FN_WSPSENDTO: {
		struct usock *u = usock_find(l, ev->a[0]);
		if (u && (call->a[2] & 1u))
			u->overlapped = 1;
		break;
	}
	case WSPH_FN_WSPRECV:
	case WSPH_FN_WSPRECVFROM:
		upper_received(l, ev, call);
		break;
	default:
		break;
	}
}

/* The innermost call in flight on a thread (its CALL seq; 0 none): the call a lower call made on
 * that thread is made inside, when the recorder did not say. */
static uint64_t innermost_on(const struct rules_lsp *l, unsigned long thread)
{
	for (size_t i = l->n_fl; i-- > 0;)
		if (l->fl[i].call.thread == thread)
			return l->fl[i].call.seq;
	return 0;
}

/* Every event, in trace order. */
static void lsp_event(void *st, const struct wsph_event *ev)
{
	struct rules_lsp *l = st;
	switch (ev->kind) {
	case WSPH_EV_CALL:
		if (ev->layer == 0)
			check_closed(l, ev->seq);
		else if (ev->fn == WSPH_FN_WSPSTARTUP)
			check_table_down(l, ev);
		if (l->n_fl == MAX_INFLIGHT) { /* calls that never returned: forget the oldest */
			memmove(&l->fl[0], &l->fl[1], (MAX_INFLIGHT - 1) * sizeof l->fl[0]);
			l->n_fl--;
		}
		memset(&l->fl[l->n_fl], 0, sizeof l->fl[0]);
		l->fl[l->n_fl].call = *ev;
		if (ev->layer == 1 && !ev->parent) /* the recorder did not know its thread's call */
			l->fl[l->n_fl].call.parent = innermost_on(l, ev->thread);
		l->n_fl++;
		break;
	case WSPH_EV_RETURN: {
		struct inflight *f = inflight_find(l, ev->parent);
		struct inflight copy;
		if (f)
			copy = *f;
		if (ev->layer == 1) {
			lower_return(l, ev, f ? &copy.call : ev);
		} else {
			struct inst *in = ev->behalf[0] ? inst_for(l, ev->module) : NULL;
			if (in)
				answered_below(l, in, ev, f ? &copy.call : ev);
			upper_return(l, ev, f ? &copy : NULL);
		}
		if (f) {
			size_t i = (size_t)(f - l->fl);
			memmove(&l->fl[i], &l->fl[i + 1], (l->n_fl - i - 1) * sizeof l->fl[0]);
			l->n_fl--;
		}
		break;
	}
	default:
		break;
	}
}

/* What the layer told the lower provider `module` in the WSAPROTOCOL_INFOW it passed down (the
 * told hook of rulefamily.h). What a provider below does because of what its layer told it is the
 * layer's doing. */
static int lsp_told(const void *st, const char *module, uint64_t parent, uint64_t id,
		    int *told_ifs)
{
	const struct rules_lsp *l = st;
	int told = 0;
	*told_ifs = -1;
	/* the lower call in progress, whose protocol information the provider may be using now */
	for (size_t i = l->n_fl; parent && i-- > 0;) {
		const struct wsph_event *c = &l->fl[i].call;
		if (c->seq != parent || c->layer != 1)
			continue;
		if (c->fn == WSPH_FN_WSPSTARTUP) {
			told = id && c->a[1] == id;
			*told_ifs = (c->a[2] & XP1_IFS_HANDLES) != 0;
		} else if (c->fn == WSPH_FN_WSPSOCKET) {
			told = id && c->a[3] == id;
		}
		break;
	}
	const struct inst *in = inst_find(l, module);
	for (size_t i = 0; in && i < in->n_told; i++)
		told |= id && in->told_ids[i] == id;
	if (in && *told_ifs < 0)
		*told_ifs = in->told_ifs;
	return told;
}

/* A scenario step ended: the closes it made have returned, so what they left open is known now
 * (a step that then waits for the peer's notification is not charged for it). */
static void lsp_step_end(void *st)
{
	check_closed(st, UINT64_MAX);
}

/* End of the scenario (after the last event). */
static void lsp_finish(void *st)
{
	check_closed(st, UINT64_MAX);
	judge_closes_first(st);
}

const struct wsph_rule_family wsph_rule_family_lsp = {
	.name = "lsp",
	.create = lsp_create,
	.destroy = lsp_destroy,
	.on_event = lsp_event,
	.on_step_end = lsp_step_end,
	.on_finish = lsp_finish,
	.told = lsp_told,
};
