/* The rule engine: startup/cleanup, errno and socket-handle lifecycle rules over the event stream,
 * and the rule families (rulefamily.h) it runs beside them. */
#include "rules.h"
#include "rulefamilies.h"

#include "wsph/spi.h"

#include "util.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_EXPECTATION "HARNESS.Step.Expectation"
/* A provider below a layer that acted on the protocol information its layer passed it. */
#define R_PROPAGATION "LSP.ProtocolInfo.Propagation"
#define PROPAGATION_RULE                                                                           \
	"a layer passes the next element's own WSAPROTOCOL_INFOW (the base's), or the structure "  \
	"it received unmodified to a further layer"
#define PROPAGATION_ID_FMT                                                                         \
	"%s called %s with catalog id %" PRIu64 ", which is not its own (%s) but the one %s "      \
	"passed it in the WSAPROTOCOL_INFOW of a lower WSPStartup or WSPSocket; " PROPAGATION_RULE

const char *const wsph_rules_ids_used[] = {
	R_EXPECTATION,
	"SPI.Startup.ErrorIsReturnValue",
	"SPI.Startup.VersionTooLow",
	"SPI.Startup.VersionMin",
	"SPI.Startup.WSPDataFilled",
	"SPI.Startup.ProcTableComplete",
	"SPI.Startup.UpcallTableCopied",
	"SPI.Startup.MostRecentUpcallTable",
	"SPI.Startup.RefCount",
	"SPI.Cleanup.Unbalanced",
	"SPI.Cleanup.SuccessReturnsZero",
	"SPI.Cleanup.Reinit",
	"SPI.Cleanup.ReleasesHandles",
	"SPI.Errno.OnFailure",
	"WPU.ModifyIFSHandle.BeforeReturn",
	"WPU.ModifyIFSHandle.UseReturned",
	"WPU.ModifyIFSHandle.FailurePropagates",
	"WPU.ModifyIFSHandle.OwnCatalogId",
	"WPU.ModifyIFSHandle.IFSOnly",
	"WPU.CreateSocketHandle.BeforeReturn",
	"WPU.CreateSocketHandle.NoIFSFlag",
	"WPU.CreateSocketHandle.OwnCatalogId",
	"WPU.CreateSocketHandle.FailurePropagates",
	"WPU.CloseSocketHandle.MatchesCreate",
	"WPU.CloseSocketHandle.OnClose",
	"WPU.CloseSocketHandle.NotIFS",
	"WPU.QueryContext.OnlyCreatedHandles",
	"WPU.Handles.NoLeak",
	"LSP.ProtocolInfo.Propagation",
	"LSP.NextProc.Validated",
	"LSP.UpcallTable.PassedDown",
	"LSP.NonIFS.NoLowerHandleLeak",
	"LSP.IFS.OverIFSOnly",
	"LSP.ThreadId.Private",
	"LSP.NextProvider.FromCatalog",
	"WPU.GetProviderPath.Expands",
	"WPU.GetProviderPath.ShortBuffer",
	"WPU.GetProviderPath.ExpandBuffer",
	"WPU.GetProviderPath.LengthInChars",
	"WPU.PostMessage.Mandatory",
	"WPU.PostMessage.MatchesRegistration",
	"WPU.PostMessage.StopsAfterCancel",
	"WPU.QueueApc.OnlyWithRoutine",
	"WPU.QueueApc.ImmediateCompletion",
	"WPU.QueueApc.ThreadIdCopied",
	"WPU.QueueApc.NotClientRoutine",
	"WPU.CompleteOverlapped.CreatedHandleOnly",
	"WPU.CompleteOverlapped.ClientOverlapped",
	"WPU.CompleteOverlapped.IFSNotUsed",
	"WPU.CompleteOverlapped.AbortOnClose",
	"WPU.OpenCurrentThread.Paired",
	"WPU.OpenCurrentThread.AfterStartup",
	"WPU.SetEvent.Optional",
	"WPU.Event.NoCloseOfClientEvents",
	"WPU.FDIsSet.PureQuery",
	"WPU.BlockingCallback.NullIsNormal",
	"WPU.BlockingCallback.OwnCatalogId",
	"WPU.BlockingCallback.Contract",
	"SPI.Cleanup.Silent",
	"WPU.Table.NotAfterFinalCleanup",
	"WPU.Handles.NoUseAfterClose",
	"SPI.Handle.StaleFailsNotSock",
	"SPI.Return.Domain",
	"SPI.Transfer.WithinBuffers",
	"SPI.Errno.Documented",
	"SPI.Errno.IoPendingOnlyOverlapped",
	"LSP.NextProc.NoUseAfterClose",
	"LSP.NextProc.KnownHandlesOnly",
	"LSP.NextProc.NoHandleLeak",
	"LSP.NextProc.WithinStartup",
	"LSP.NextProc.CleanupBalanced",
	"LSP.NextProc.ClosesBeforeFinalCleanup",
	"LSP.NextProc.PartialReceive",
	"SPI.Startup.ProcTableNotRetained",
	"SPI.DllMain.NoNetworkCalls",
	"SPI.Close.CancelsBlockingCalls",
	"SPI.Cleanup.EndsCallsInFlight",
	NULL,
};

/* The poison values of upcalls.h, repeated so this file needs no upcall header. */
#define POISON_THREAD 0x0dead7d0u

struct ledger_entry {
	uint64_t value;
	int modified; /* from WPUModifyIFSHandle (else WPUCreateSocketHandle) */
	int open;
	uint64_t created_seq, closed_seq;
	unsigned long closed_thread; /* the thread of the release */
	uint64_t close_deferred_seq; /* WSPCloseSocket returned with overlapped operations pending */
	int charged; /* a finding already names this handle's missing release: not charged again */
};

struct frame {
	struct wsph_event call;
	size_t n_up;
	int startups_before;
	int lower_hole_accepted; /* a lower WSPStartup with a hole in its table returned 0 */
	int lower_startup_ok;	 /* a lower WSPStartup succeeded inside this call */
	uint64_t lower_handles[8]; /* handles lower WSPSocket/WSPAccept returned inside this call */
	size_t n_lower_handles;
	/* the upcalls made inside the call, every one of them (the room grows and is kept) */
	struct wsph_event *up;
	size_t cap_up;
};

#define MAX_DEPTH 8

/* The calls in progress on one thread, innermost last: a CALL on the thread opens a frame on its
 * stack, its RETURN closes it, and an upcall on the thread belongs to its innermost open call, so
 * that the calls of several threads interleave without mixing. A frame is set up when its CALL
 * arrives, and only the frames below the depth and their first n_up upcalls are read. */
struct tstack {
	unsigned long thread;
	unsigned ordinal;     /* 1-based, in the order of the threads' first events */
	struct frame *frames; /* MAX_DEPTH of them, from the first call on the thread (else NULL) */
	int depth;
};

/* Frame stacks, with the room their frames grew, are kept for the next case of the process (fresh
 * allocations per case cost a trivial case most of its time). */
#define SPARE_STACKS 8
static struct frame *spare_frames[SPARE_STACKS];

static struct frame *frames_get(void)
{
	for (size_t i = 0; i < SPARE_STACKS; i++) {
		struct frame *f = wsph_atomic_xchg_ptr((void **)&spare_frames[i], NULL);
		if (f)
			return f;
	}
	return calloc(MAX_DEPTH, sizeof(struct frame));
}

static void frames_free(struct frame *f)
{
	for (size_t i = 0; f && i < MAX_DEPTH; i++)
		free(f[i].up);
	free(f);
}

static void frames_put(struct frame *f)
{
	for (size_t i = 0; f && i < SPARE_STACKS; i++)
		f = wsph_atomic_xchg_ptr((void **)&spare_frames[i], f);
	frames_free(f);
}

static int stored_depth(const struct tstack *ts)
{
	return ts->frames ? (ts->depth < MAX_DEPTH ? ts->depth : MAX_DEPTH) : 0;
}

/* Keeps an upcall made inside the frame's call. */
/* The upcalls a return check reads (frame_find, check_cleanup, check_new_handle,
 * check_query_context, check_layer_return): handle creation, release and modification, a failed
 * context query, and any upcall that failed by injection. The rest (the data path's WPUFDIsSet,
 * successful queries: a provider may make millions inside one call) are judged as they come and
 * not kept, so a frame's room is bounded by what the provider did to its handles. */
static int frame_keeps(const struct wsph_event *ev)
{
	switch (ev->fn) {
	case WSPH_FN_WPUCREATESOCKETHANDLE:
	case WSPH_FN_WPUCLOSESOCKETHANDLE:
	case WSPH_FN_WPUMODIFYIFSHANDLE:
		return 1;
	case WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT:
		return ev->ret == SOCKET_ERROR || ev->fault;
	default:
		return ev->fault != 0;
	}
}

static void frame_add_upcall(struct frame *f, const struct wsph_event *ev)
{
	if (frame_keeps(ev) && wsph_grow((void **)&f->up, &f->cap_up, f->n_up, sizeof *f->up) == 0)
		f->up[f->n_up++] = *ev;
}

/* Drops frame `at` of the `top + 1` stored ones, keeping its room for the frame that comes next. */
static void frame_remove(struct frame *frames, int at, int top)
{
	struct wsph_event *up = frames[at].up;
	size_t cap = frames[at].cap_up;
	if (at < top)
		memmove(&frames[at], &frames[at + 1], (size_t)(top - at) * sizeof *frames);
	frames[top].up = up;
	frames[top].cap_up = cap;
	frames[top].n_up = 0;
}


/* An overlapped operation the client started (from the driver's CALL events). */
enum op_state { OP_IN_CALL, OP_PENDING, OP_IMMEDIATE, OP_FAILED };
struct op_rec {
	uint64_t ov, routine, s, len, hevent, call_seq;
	enum op_state state;
	int notified;	 /* a completion was delivered through the upcalls */
	int have_done;	 /* ... by WPUCompleteOverlappedRequest, with: */
	uint64_t done_err, done_cb;
};

/* A WSPAsyncSelect or WSPEventSelect registration of a client socket. */
struct reg {
	uint64_t s;
	int async; /* WSPAsyncSelect (else WSPEventSelect) */
	uint64_t target, msg, mask; /* hWnd or hEvent */
	int active;
	const char *ended_by; /* what cancelled it */
};

/* A handle the provider got from WPUOpenCurrentThread or WPUCreateEvent. */
struct owned {
	uint64_t h, seq;
	int open;
};

struct wsph_rules {
	struct wsph_rules_config cfg;
	size_t next;
	int startups;
	int had_final_cleanup;
	int ever_started;
	unsigned granted[8]; /* wVersionRequested values a WSPStartup succeeded with */
	size_t n_granted;
	struct ledger_entry *ledger;
	size_t n_ledger, cap_ledger;
	struct tstack *stacks; /* every thread that made an event, with its calls in progress */
	size_t n_stacks, cap_stacks, last_stack; /* last_stack: the thread of the latest event */
	char provider_module[64]; /* the module that answers the harness's calls (its first RETURN) */
	uint64_t *lower_handles; /* every handle a lower provider returned */
	size_t n_lower_handles, cap_lower_handles;
	int path_fault_pending; /* a provider-path lookup failed with WSAEFAULT, not yet retried */
	/* ExpandEnvironmentStrings destinations whose content is not a complete expansion (the
	 * result did not fit, or the call was made in place), until a call that fits rewrites them */
	struct expand_rec {
		uint64_t lo, hi; /* [lpDst, lpDst + nSize) in bytes */
		uint64_t hash;	 /* the complete expansion (see imports.c) */
		uint64_t seq, need, size;
		int charged; /* a finding already names this buffer */
	} expands[8];
	size_t n_expands;
	uint64_t charged_loads[8]; /* LoadLibrary events a finding already names */
	size_t n_charged_loads;
	int cleanup_begun; /* the final WSPCleanup has begun (until the next successful startup) */
	uint64_t cleanup_seq;	     /* ... its CALL */
	unsigned long cleanup_thread; /* ... and its thread */
	int after_final;   /* the final WSPCleanup has returned (until the next successful startup) */
	struct op_rec *ops;
	size_t n_ops, cap_ops;
	struct reg *regs;
	size_t n_regs, cap_regs;
	struct owned *threads, *events;
	size_t n_threads, cap_threads, n_events, cap_events;
	struct wsph_finding *findings;
	size_t n_findings, cap_findings;
	uint64_t *finding_seqs; /* the offending event of each finding (0 none) */
	uint64_t *finding_calls; /* ... and the WSP call it belongs to (0 none) */
	uint64_t charged_handles[64]; /* handles a finding was made about when they were returned */
	size_t n_charged_handles;
	/* The rule families (cfg.families, else the registered ones) and each one's state (NULL: it
	 * sits this case out); they report through sink. */
	const struct wsph_rule_family *const *families;
	void **family_state;
	size_t n_families;
	struct wsph_rule_sink sink;
};

/* The WSP call event `seq` belongs to: itself for a CALL, its call for a RETURN or an UPCALL. */
static uint64_t call_of_seq(struct wsph_rules *r, uint64_t seq)
{
	struct wsph_event ev;
	if (!seq || wsph_trace_get(r->cfg.trace, (size_t)(seq - 1), &ev) != 0)
		return 0;
	return ev.kind == WSPH_EV_CALL ? ev.seq : ev.parent;
}

/* The thread's number for messages: 1 for the thread of the first event, and so on (0 unseen). */
static unsigned thread_number(const struct wsph_rules *r, unsigned long thread)
{
	for (size_t i = 0; i < r->n_stacks; i++)
		if (r->stacks[i].thread == thread)
			return r->stacks[i].ordinal;
	return 0;
}

/* ---- the rule families ---- */

static void sink_report(void *engine, const char *rule_id, int step, uint64_t seq,
			const char *message)
{
	wsph_rules_report(engine, rule_id, step, seq, message);
}

static void families_create(struct wsph_rules *r)
{
	r->families = r->cfg.families ? r->cfg.families : wsph_rule_families;
	size_t n = 0;
	while (r->families[n])
		n++;
	r->family_state = calloc(n ? n : 1, sizeof *r->family_state);
	if (!r->family_state)
		return; /* out of memory: no family runs */
	r->n_families = n;
	r->sink = (struct wsph_rule_sink){r, sink_report};
	for (size_t i = 0; i < n; i++)
		if (r->families[i]->create)
			r->family_state[i] = r->families[i]->create(&r->cfg, &r->sink);
}

static void families_destroy(struct wsph_rules *r)
{
	for (size_t i = 0; i < r->n_families; i++)
		if (r->family_state[i] && r->families[i]->destroy)
			r->families[i]->destroy(r->family_state[i]);
	free(r->family_state);
}

static void families_event(struct wsph_rules *r, const struct wsph_event *ev)
{
	for (size_t i = 0; i < r->n_families; i++)
		if (r->family_state[i] && r->families[i]->on_event)
			r->families[i]->on_event(r->family_state[i], ev);
}

static void families_return(struct wsph_rules *r, const struct wsph_event *call,
			    const struct wsph_event *ret)
{
	for (size_t i = 0; i < r->n_families; i++)
		if (r->family_state[i] && r->families[i]->on_return)
			r->families[i]->on_return(r->family_state[i], call, ret);
}

static void families_step_end(struct wsph_rules *r)
{
	for (size_t i = 0; i < r->n_families; i++)
		if (r->family_state[i] && r->families[i]->on_step_end)
			r->families[i]->on_step_end(r->family_state[i]);
}

static void families_finish(struct wsph_rules *r)
{
	for (size_t i = 0; i < r->n_families; i++)
		if (r->family_state[i] && r->families[i]->on_finish)
			r->families[i]->on_finish(r->family_state[i]);
}

/* Whether any family knows that the layer told the provider below, `module`, catalog id `id`;
 * *told_ifs gets the first answer a family knows about XP1_IFS_HANDLES (-1 none). */
static int families_told(const struct wsph_rules *r, const char *module, uint64_t parent,
			 uint64_t id, int *told_ifs)
{
	int told = 0;
	*told_ifs = -1;
	for (size_t i = 0; i < r->n_families; i++) {
		int ifs = -1;
		if (!r->family_state[i] || !r->families[i]->told)
			continue;
		told |= r->families[i]->told(r->family_state[i], module, parent, id, &ifs);
		if (*told_ifs < 0)
			*told_ifs = ifs;
	}
	return told;
}

struct wsph_rules *wsph_rules_new(const struct wsph_rules_config *cfg)
{
	struct wsph_rules *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->cfg = *cfg;
	families_create(r);
	return r;
}

void wsph_rules_free(struct wsph_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_findings; i++) {
		free(r->findings[i].message);
		free(r->findings[i].excerpt);
	}
	free(r->findings);
	free(r->finding_seqs);
	free(r->finding_calls);
	free(r->ops);
	free(r->regs);
	free(r->threads);
	free(r->events);
	free(r->ledger);
	for (size_t i = 0; i < r->n_stacks; i++)
		frames_put(r->stacks[i].frames);
	free(r->stacks);
	free(r->lower_handles);
	families_destroy(r);
	free(r);
}

int wsph_rules_startups(const struct wsph_rules *r)
{
	return r->startups;
}

struct wsph_finding *wsph_rules_take(struct wsph_rules *r, size_t *n)
{
	struct wsph_finding *f = r->findings;
	*n = r->n_findings;
	r->findings = NULL;
	free(r->finding_seqs);
	free(r->finding_calls);
	r->finding_seqs = r->finding_calls = NULL;
	r->n_findings = r->cap_findings = 0;
	return f;
}

const char *wsph_rules_last_error(const struct wsph_rules *r)
{
	for (size_t i = r->n_findings; i-- > 0;)
		if (r->findings[i].rule->severity == WSPH_SEV_ERROR)
			return r->findings[i].rule->id;
	return "";
}

size_t wsph_rules_errors(const struct wsph_rules *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_findings; i++)
		n += r->findings[i].rule->severity == WSPH_SEV_ERROR;
	return n;
}

int wsph_rules_charged(struct wsph_rules *r, uint64_t seq)
{
	uint64_t call = call_of_seq(r, seq);
	for (size_t i = 0; seq && i < r->n_findings; i++)
		if ((r->finding_seqs[i] == seq || (call && r->finding_calls[i] == call)) &&
		    r->findings[i].rule->severity == WSPH_SEV_ERROR &&
		    strcmp(r->findings[i].rule->id, R_EXPECTATION) != 0)
			return 1;
	return 0;
}

static const struct wsph_step *step_at(const struct wsph_rules *r, int step)
{
	const struct wsph_scenario *sc = r->cfg.scenario;
	if (!sc || step < 1 || (size_t)step > sc->n_steps)
		return NULL;
	return &sc->steps[step - 1];
}

/* The function of event `seq` (-1 when there is none). */
static int call_fn_of_seq(struct wsph_rules *r, uint64_t seq)
{
	struct wsph_event ev;
	if (!seq || wsph_trace_get(r->cfg.trace, (size_t)(seq - 1), &ev) != 0)
		return -1;
	return (int)ev.fn;
}

/* The site of the event `seq` (1-based): the module charged, its WSP call and its upcall. An
 * LSP.* rule judges what a layer does: an event made on a layer's behalf (by the provider below
 * it) is charged to that layer; every other rule charges the module whose code made the event. */
static void finding_site(struct wsph_rules *r, struct wsph_finding *f, uint64_t seq)
{
	struct wsph_event ev, call;
	if (wsph_trace_get(r->cfg.trace, (size_t)(seq - 1), &ev) != 0)
		return;
	int layer_rule = f->rule && !strncmp(f->rule->id, "LSP.", 4);
	/* the harness's own call (one that never returned, say) is charged to the provider it
	 * called, the module that answers its calls */
	int harness_call = ev.kind == WSPH_EV_CALL && ev.layer == 0 && r->provider_module[0] &&
			   !strcmp(ev.module, "wspharness");
	snprintf(f->module, sizeof f->module, "%s",
		 harness_call		    ? r->provider_module
		 : layer_rule && ev.behalf[0] ? ev.behalf
					      : ev.module);
	if (ev.kind != WSPH_EV_UPCALL) {
		f->call_fn = (int)ev.fn;
		return;
	}
	f->upcall_fn = (int)ev.fn;
	if (ev.parent && wsph_trace_get(r->cfg.trace, (size_t)(ev.parent - 1), &call) == 0)
		f->call_fn = (int)call.fn;
}

/* A handle returned by the call a finding is about: what its later calls do follows from it. */
static void note_charged_handle(struct wsph_rules *r, const struct wsph_rule *rule, uint64_t seq)
{
	struct wsph_event ev;
	if (rule->severity != WSPH_SEV_ERROR || !seq ||
	    wsph_trace_get(r->cfg.trace, (size_t)(seq - 1), &ev) != 0 || ev.kind != WSPH_EV_RETURN)
		return;
	int handle = ev.fn == WSPH_FN_WSPSOCKET || ev.fn == WSPH_FN_WSPACCEPT ||
		     ev.fn == WSPH_FN_WSPJOINLEAF;
	if (handle && ev.ret != -1 && r->n_charged_handles < 64)
		r->charged_handles[r->n_charged_handles++] = (uint64_t)ev.ret;
}

static int handle_charged(const struct wsph_rules *r, uint64_t h)
{
	for (size_t i = 0; i < r->n_charged_handles; i++)
		if (r->charged_handles[i] == h)
			return 1;
	return 0;
}

/* Whether a finding of `rule` about event `seq` (of WSP call `call`, 0 when each event of it
 * counts alone) in `step` would repeat one already made. One finding per rule and step: the first
 * instance is the one worth reading. And one per offending event: the rules that describe the
 * same wrong call or upcall from another angle are not charged again. */
static int finding_repeats(const struct wsph_rules *r, const struct wsph_rule *rule, int step,
			   uint64_t seq, int per_event, uint64_t call)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		/* a warning does not hide an error that comes after it */
		int outranks = r->findings[i].rule->severity == WSPH_SEV_ERROR ||
			       rule->severity == WSPH_SEV_WARNING;
		if ((r->findings[i].rule == rule && r->findings[i].step == step) ||
		    (per_event && r->finding_seqs[i] == seq && outranks) ||
		    (call && r->finding_calls[i] == call &&
		     r->findings[i].rule->severity == WSPH_SEV_ERROR))
			return 1;
	}
	return 0;
}

/* Room for one more finding (0), or -1 when out of memory. */
static int findings_grow(struct wsph_rules *r)
{
	if (r->n_findings < r->cap_findings)
		return 0;
	size_t nc = r->cap_findings ? r->cap_findings * 2 : 8;
	struct wsph_finding *p = realloc(r->findings, nc * sizeof *p);
	if (!p)
		return -1;
	r->findings = p;
	uint64_t *q = realloc(r->finding_seqs, nc * sizeof *q);
	if (!q)
		return -1;
	r->finding_seqs = q;
	q = realloc(r->finding_calls, nc * sizeof *q);
	if (!q)
		return -1;
	r->finding_calls = q;
	r->cap_findings = nc;
	return 0;
}

/* The finding's place in the scenario and its message, headed by the step. */
static void finding_text(struct wsph_rules *r, struct wsph_finding *f, int step,
			 const char *message)
{
	const struct wsph_step *st = step_at(r, step);
	if (st)
		f->loc = st->loc;
	else if (r->cfg.scenario)
		f->loc = r->cfg.scenario->loc;
	char head[64] = "";
	if (st)
		snprintf(head, sizeof head, "step %d (%s): ", step, wsph_op_name(st->op));
	size_t len = strlen(head) + strlen(message) + 1;
	f->message = malloc(len);
	if (f->message)
		snprintf(f->message, len, "%s%s", head, message);
}

static void add_finding(struct wsph_rules *r, const char *rule_id, int step, uint64_t seq,
			const char *message)
{
	const struct wsph_rule *rule = wsph_ruleset_find(r->cfg.set, rule_id);
	if (!rule)
		rule = wsph_ruleset_find(r->cfg.set, R_EXPECTATION);
	if (!rule)
		return;
	/* A WSPStartup's return is the exception to one finding per event: it reports several
	 * independent facts (the version, WSPDATA, the procedure table). */
	int per_event = seq && call_fn_of_seq(r, seq) != WSPH_FN_WSPSTARTUP;
	uint64_t call = per_event ? call_of_seq(r, seq) : 0;
	if (finding_repeats(r, rule, step, seq, per_event, call) || findings_grow(r) != 0)
		return;
	r->finding_seqs[r->n_findings] = seq;
	r->finding_calls[r->n_findings] = call_of_seq(r, seq);
	note_charged_handle(r, rule, seq);
	struct wsph_finding *f = &r->findings[r->n_findings++];
	memset(f, 0, sizeof *f);
	f->rule = rule;
	f->step = step;
	finding_text(r, f, step, message);
	f->call_fn = f->upcall_fn = -1;
	if (seq) {
		f->excerpt = wsph_trace_excerpt(r->cfg.trace, seq > 6 ? seq - 6 : 1, seq + 1, seq);
		finding_site(r, f, seq);
	}
	if (r->cfg.on_finding)
		r->cfg.on_finding(f);
}

void wsph_rules_report(struct wsph_rules *r, const char *rule_id, int step, uint64_t seq,
		       const char *message)
{
	add_finding(r, rule_id ? rule_id : R_EXPECTATION, step, seq, message);
}

static void finding(struct wsph_rules *r, const char *rule_id, const struct wsph_event *ev,
		    const char *fmt, ...) WSPH_PRINTF(4, 5);

static void finding(struct wsph_rules *r, const char *rule_id, const struct wsph_event *ev,
		    const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	add_finding(r, rule_id, ev ? ev->step : 0, ev ? ev->seq : 0, msg);
}

/* ---- the interposed path functions: ExpandEnvironmentStrings, LoadLibrary, GetProcAddress ---- */

static int load_charged(const struct wsph_rules *r, uint64_t seq)
{
	for (size_t i = 0; i < r->n_charged_loads; i++)
		if (r->charged_loads[i] == seq)
			return 1;
	return 0;
}

static void charge_load(struct wsph_rules *r, uint64_t seq)
{
	if (r->n_charged_loads < sizeof r->charged_loads / sizeof r->charged_loads[0])
		r->charged_loads[r->n_charged_loads++] = seq;
}

/* An ExpandEnvironmentStrings call: lpDst must not overlap lpSrc (the source cannot be the
 * destination); a destination left without the complete expansion (the result did not fit: the
 * return value is then the size needed, or 0 on failure) is remembered until a call that fits
 * rewrites it, so that loading from it is seen. */
static void on_expand(struct wsph_rules *r, const struct wsph_event *ev)
{
	uint64_t unit = ev->fn == WSPH_FN_EXPANDENVIRONMENTSTRINGSW ? 2 : 1;
	uint64_t src = ev->a[0], dst = ev->a[1], size = ev->a[2];
	uint64_t src_end = src + ev->a[3] * unit, dst_end = dst + size * unit;
	int overlap = src && dst && size && dst < src_end && src < dst_end;
	if (overlap)
		finding(r, "WPU.GetProviderPath.ExpandBuffer", ev,
			"%s called %s(\"%s\", lpDst, %" PRIu64 ") with lpDst %s lpSrc (in place); "
			"the destination cannot be the source buffer",
			ev->module, wsph_fn_name(ev->fn), ev->text, size,
			dst == src ? "the same buffer as" : "overlapping");
	int fits = ev->ret > 0 && (uint64_t)ev->ret <= size;
	if (!dst || !size)
		return;
	/* this call rewrote [dst, dst_end): older records of that memory are stale */
	size_t k = 0;
	for (size_t i = 0; i < r->n_expands; i++)
		if (!(r->expands[i].lo < dst_end && dst < r->expands[i].hi))
			r->expands[k++] = r->expands[i];
	r->n_expands = k;
	if (fits && !overlap)
		return;
	if (r->n_expands == sizeof r->expands / sizeof r->expands[0])
		memmove(r->expands, r->expands + 1, --r->n_expands * sizeof r->expands[0]);
	r->expands[r->n_expands++] = (struct expand_rec){dst, dst_end, ev->a[5], ev->seq,
							  (uint64_t)ev->ret, size, overlap};
}

/* A LoadLibrary whose path argument lies in an ExpandEnvironmentStrings destination that did not
 * get the complete expansion, and is not that expansion: the result was used although the call
 * said it did not fit. Returns 1 when the path is such a one (charged now or before). */
static int load_from_bad_expansion(struct wsph_rules *r, const struct wsph_event *ev)
{
	uint64_t p = ev->a[3];
	for (size_t i = r->n_expands; p && i-- > 0;) {
		struct expand_rec *x = &r->expands[i];
		if (p < x->lo || p >= x->hi)
			continue;
		if (!x->charged && ev->a[4] == x->hash)
			return 0; /* the complete expansion after all: nothing wrong with it */
		if (!x->charged)
			finding(r, "WPU.GetProviderPath.ExpandBuffer", ev,
				"%s called %s(\"%s\") with the destination of ExpandEnvironmentStrings "
				"(event #%" PRIu64 "), which returned %" PRIu64 " for nSize %" PRIu64
				": the expansion did not fit and its result was used anyway",
				ev->module, wsph_fn_name(ev->fn), ev->text, x->seq, x->need, x->size);
		x->charged = 1;
		charge_load(r, ev->seq);
		return 1;
	}
	return 0;
}

/* GetProcAddress("WSPStartup") in a module loaded from a path the catalog does not hold: a
 * provider DLL that is not the catalog's. The lookup is what shows the module is loaded as a
 * provider (a layer may load helper DLLs, or mswsock.dll for its extension functions); the
 * finding names the LoadLibrary that chose the path, unless a finding already names that load. */
static void not_from_catalog(struct wsph_rules *r, const struct wsph_event *ev)
{
	struct wsph_event load;
	if (load_charged(r, ev->a[1]))
		return;
	charge_load(r, ev->a[1]);
	if (!ev->a[1] || wsph_trace_get(r->cfg.trace, (size_t)(ev->a[1] - 1), &load) != 0) {
		finding(r, "LSP.NextProvider.FromCatalog", ev,
			"%s looked up WSPStartup in a module loaded from a path the catalog never "
			"returned; the next provider's DLL must come from "
			"WSCGetProviderPath/WPUGetProviderPath",
			ev->module);
		return;
	}
	finding(r, "LSP.NextProvider.FromCatalog", &load,
		"%s called %s(\"%s\"), a path the catalog does not hold (no provider's registered "
		"path, expanded, names it), and looked up WSPStartup in that module (event #%" PRIu64
		"); the next provider's DLL must come from WSCGetProviderPath/WPUGetProviderPath",
		load.module, wsph_fn_name(load.fn), load.text, ev->seq);
}

/* ---- the handle ledger, rebuilt from the upcalls ---- */

static struct ledger_entry *ledger_find(struct wsph_rules *r, uint64_t v)
{
	for (size_t i = r->n_ledger; i-- > 0;)
		if (r->ledger[i].value == v)
			return &r->ledger[i];
	return NULL;
}

static void ledger_add(struct wsph_rules *r, uint64_t v, int modified, uint64_t seq)
{
	if (wsph_grow((void **)&r->ledger, &r->cap_ledger, r->n_ledger, sizeof *r->ledger) != 0)
		return;
	r->ledger[r->n_ledger++] = (struct ledger_entry){v, modified, 1, seq, 0, 0, 0, 0};
}

/* Where a released handle was released, when another thread than the one of `ev` released it:
 * ", on thread 1, and used here on thread 2"; else "". The order of the records decides what came
 * first, whatever the threads. */
static const char *release_thread(const struct wsph_rules *r, const struct ledger_entry *e,
				  const struct wsph_event *ev, char *buf, size_t len)
{
	buf[0] = '\0';
	if (e->closed_thread != ev->thread)
		snprintf(buf, len, ", on thread %u, and used here on thread %u",
			 thread_number(r, e->closed_thread), thread_number(r, ev->thread));
	return buf;
}

/* The provider that made a call: one below the layer under test, or (NULL) the one under test. */
static const struct wsph_rules_layer *lower_of(const struct wsph_rules *r, const char *module)
{
	for (size_t i = 0; i < r->cfg.n_lower; i++)
		if (!strcmp(r->cfg.lower[i].module, module))
			return &r->cfg.lower[i];
	return NULL;
}

static unsigned kind_of(const struct wsph_rules *r, const char *module)
{
	const struct wsph_rules_layer *l = lower_of(r, module);
	return l ? l->kind : r->cfg.kind;
}

static int own_catalog_id(const struct wsph_rules *r, const char *module, uint64_t id)
{
	const struct wsph_rules_layer *l = lower_of(r, module);
	const uint32_t *ids = l ? l->ids : r->cfg.catalog_ids;
	size_t n = l ? l->n_ids : r->cfg.n_catalog_ids;
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

static const char *own_ids_text(const struct wsph_rules *r, const char *module, char *buf,
				size_t len)
{
	const struct wsph_rules_layer *l = lower_of(r, module);
	const uint32_t *ids = l ? l->ids : r->cfg.catalog_ids;
	size_t n = l ? l->n_ids : r->cfg.n_catalog_ids, pos = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < len; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%" PRIu32, i ? " or " : "", ids[i]);
	return buf;
}

/* A provider below the layer that used, in an upcall, what its layer told it rather than its own
 * catalog entry: the catalog id `id` came in the WSAPROTOCOL_INFOW the layer passed it (lower
 * WSPStartup or WSPSocket). What it did then is the layer's doing (LSP.ProtocolInfo.Propagation),
 * with the lower provider's upcall as evidence. */
static int told_by_layer(const struct wsph_rules *r, const struct wsph_event *ev, uint64_t id)
{
	int ifs;
	return ev->behalf[0] && lower_of(r, ev->module) &&
	       families_told(r, ev->module, ev->parent, id, &ifs);
}

/* The kind its layer told a provider below (XP1_IFS_HANDLES in the WSAPROTOCOL_INFOW of its lower
 * WSPStartup): WSPH_KIND_IFS or WSPH_KIND_NONIFS, 0 when unknown or not a provider below. */
static unsigned told_kind(const struct wsph_rules *r, const struct wsph_event *ev)
{
	int ifs = -1;
	if (ev->behalf[0] && lower_of(r, ev->module))
		families_told(r, ev->module, ev->parent, 0, &ifs);
	return ifs < 0 ? 0 : ifs ? WSPH_KIND_IFS : WSPH_KIND_NONIFS;
}

static int is_lower_handle(const struct wsph_rules *r, uint64_t h)
{
	for (size_t i = 0; i < r->n_lower_handles; i++)
		if (r->lower_handles[i] == h)
			return 1;
	return 0;
}

static struct op_rec *op_find(struct wsph_rules *r, uint64_t ov)
{
	for (size_t i = r->n_ops; i-- > 0;)
		if (r->ops[i].ov == ov)
			return &r->ops[i];
	return NULL;
}

/* Overlapped operations on s that were pending and whose completion has not been delivered. */
static size_t pending_ops(const struct wsph_rules *r, uint64_t s)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_ops; i++)
		if (r->ops[i].s == s && r->ops[i].state == OP_PENDING && !r->ops[i].notified)
			n++;
	return n;
}

static int is_client_routine(const struct wsph_rules *r, uint64_t fn)
{
	for (size_t i = 0; fn && i < r->n_ops; i++)
		if (r->ops[i].routine == fn)
			return 1;
	return 0;
}

/* The registration of s of one kind (active or the last one cancelled), or NULL. */
static struct reg *reg_find(struct wsph_rules *r, uint64_t s, int async)
{
	for (size_t i = r->n_regs; i-- > 0;)
		if (r->regs[i].s == s && r->regs[i].async == async)
			return &r->regs[i];
	return NULL;
}

static void reg_end(struct wsph_rules *r, uint64_t s, int async, const char *why)
{
	struct reg *g = reg_find(r, s, async);
	if (g && g->active) {
		g->active = 0;
		g->ended_by = why;
	}
}

static void reg_set(struct wsph_rules *r, uint64_t s, int async, uint64_t target, uint64_t msg,
		    uint64_t mask)
{
	struct reg *g = reg_find(r, s, async);
	if (!g) {
		if (wsph_grow((void **)&r->regs, &r->cap_regs, r->n_regs, sizeof *r->regs) != 0)
			return;
		g = &r->regs[r->n_regs++];
	}
	*g = (struct reg){s, async, target, msg, mask, 1, NULL};
}

static struct owned *owned_find(struct owned *v, size_t n, uint64_t h)
{
	for (size_t i = n; i-- > 0;)
		if (v[i].h == h)
			return &v[i];
	return NULL;
}

static void owned_add(struct owned **v, size_t *n, size_t *cap, uint64_t h, uint64_t seq)
{
	if (wsph_grow((void **)v, cap, *n, sizeof **v) == 0)
		(*v)[(*n)++] = (struct owned){h, seq, 1};
}

static int is_event_target(const struct wsph_rules *r, uint64_t ev)
{
	for (size_t i = 0; i < r->n_regs; i++)
		if (!r->regs[i].async && r->regs[i].active && r->regs[i].target == ev)
			return 1;
	return 0;
}

static int is_op_event(const struct wsph_rules *r, uint64_t ev)
{
	for (size_t i = 0; ev && i < r->n_ops; i++)
		if (r->ops[i].hevent == ev && r->ops[i].state != OP_FAILED)
			return 1;
	return 0;
}

/* The thread's stack (made on its first event), or NULL when out of memory. */
static struct tstack *stack_of(struct wsph_rules *r, unsigned long thread)
{
	if (r->last_stack < r->n_stacks && r->stacks[r->last_stack].thread == thread)
		return &r->stacks[r->last_stack];
	for (size_t i = 0; i < r->n_stacks; i++)
		if (r->stacks[i].thread == thread) {
			r->last_stack = i;
			return &r->stacks[i];
		}
	if (wsph_grow((void **)&r->stacks, &r->cap_stacks, r->n_stacks, sizeof *r->stacks) != 0)
		return NULL;
	r->last_stack = r->n_stacks;
	r->stacks[r->n_stacks] = (struct tstack){thread, (unsigned)r->n_stacks + 1, NULL, 0};
	return &r->stacks[r->n_stacks++];
}

/* The frame of call `seq` on the stack, at *at (-1 when not there). */
static struct frame *stack_find(const struct tstack *ts, uint64_t seq, int *at)
{
	for (int i = stored_depth(ts) - 1; seq && i >= 0; i--)
		if (ts->frames[i].call.seq == seq) {
			*at = i;
			return &ts->frames[i];
		}
	*at = -1;
	return NULL;
}

/* The frame of call `seq` in progress on any thread (the latest event's first), and its stack. */
static struct frame *find_frame(const struct wsph_rules *r, uint64_t seq, struct tstack **stack,
				int *at)
{
	size_t first = r->last_stack < r->n_stacks ? r->last_stack : 0;
	for (size_t k = 0; seq && k < r->n_stacks; k++) {
		struct tstack *ts = &r->stacks[(first + k) % r->n_stacks];
		struct frame *f = stack_find(ts, seq, at);
		if (f) {
			if (stack)
				*stack = ts;
			return f;
		}
	}
	*at = -1;
	return NULL;
}

static const struct frame *frame_of(const struct wsph_rules *r, uint64_t seq)
{
	int at;
	return find_frame(r, seq, NULL, &at);
}

/* The client itself passed the upcall's socket to the WSP call in progress (a stale handle the
 * provider has to look up to reject). */
static int client_named(const struct wsph_rules *r, const struct wsph_event *ev)
{
	const struct frame *f = frame_of(r, ev->parent);
	return f && (f->call.fn == WSPH_FN_WSPSELECT || f->call.a[0] == ev->a[0]);
}

/* Whether an upcall falls under SPI.Cleanup.Silent: the final WSPCleanup has begun, and the upcall
 * is not made inside a call that another thread began before it (that call's notifications may come
 * before the cleanup's start inside the provider, whatever the order of their records). */
static int after_cleanup_began(const struct wsph_rules *r, const struct wsph_event *ev)
{
	if (!r->cleanup_begun)
		return 0;
	const struct frame *f = frame_of(r, ev->parent);
	return !f || f->call.thread == r->cleanup_thread || f->call.seq > r->cleanup_seq;
}

/* ---- per-upcall checks ---- */

/* The call's text for a finding's message, formatted on first use: most events make no finding,
 * and formatting every one cost more than the rest of the checks. In the per-upcall checks, CALL
 * is that text. */
struct lazy_call {
	const struct wsph_event *ev;
	int done;
	char buf[1024];
};

static const char *call_of(struct lazy_call *lc)
{
	if (!lc->done) {
		wsph_event_call_text(lc->ev, lc->buf, sizeof lc->buf);
		lc->done = 1;
	}
	return lc->buf;
}
#define CALL call_of(lc)

/* The checks of one upcall or interposed import, found by its function in a table. */
typedef void upcall_check(struct wsph_rules *r, const struct wsph_event *ev, struct lazy_call *lc);

/* A catalog id the caller passed that is not one of its own entries. */
static void not_own_id(struct wsph_rules *r, const struct wsph_event *ev, struct lazy_call *lc,
		       const char *rule_id)
{
	char ids[64];
	finding(r, rule_id, ev, "%s called %s with catalog id %" PRIu64 ", which is not its own (%s)",
		ev->module, CALL, ev->a[0], own_ids_text(r, ev->module, ids, sizeof ids));
}

/* ---- the notification upcalls, checked for the provider under test ---- */

/* The listener's WSPAsyncSelect registration when `handle` is the socket a WSPAccept in progress
 * (the event's call) made, with WPUCreateSocketHandle or WPUModifyIFSHandle: the accepted socket
 * has the listener's registration from the start, so its messages may come before the call
 * returns (the registration is copied to it then). NULL otherwise. */
static struct reg *accepting_reg(struct wsph_rules *r, const struct wsph_event *ev, uint64_t handle)
{
	const struct frame *f = frame_of(r, ev->parent);
	if (!f || f->call.fn != WSPH_FN_WSPACCEPT)
		return NULL;
	for (size_t i = 0; i < f->n_up; i++) {
		const struct wsph_event *u = &f->up[i];
		if ((u->fn == WSPH_FN_WPUCREATESOCKETHANDLE || u->fn == WSPH_FN_WPUMODIFYIFSHANDLE) &&
		    (uint64_t)u->ret == handle) {
			struct reg *g = reg_find(r, f->call.a[0], 1);
			return g && g->active ? g : NULL;
		}
	}
	return NULL;
}

/* WPUPostMessage to the client's window: a registered socket, its window and message, one of
 * its events. */
static void notify_post_message(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	if (after_cleanup_began(r, ev)) {
		finding(r, "SPI.Cleanup.Silent", ev,
			"%s called %s after the final WSPCleanup began; pending "
			"notifications are cancelled without posting messages",
			ev->module, CALL);
		return;
	}
	if ((void *)(uintptr_t)ev->a[0] != r->cfg.window)
		return; /* a window of the layer's own, not the client's */
	struct ledger_entry *e = ledger_find(r, ev->a[2]);
	char th[96];
	if (e && !e->modified && !e->open) {
		finding(r, "WPU.Handles.NoUseAfterClose", ev,
			"%s called %s with wParam 0x%" PRIx64 ", a handle it released with "
			"WPUCloseSocketHandle (event #%" PRIu64 "%s)",
			ev->module, CALL, ev->a[2], e->closed_seq,
			release_thread(r, e, ev, th, sizeof th));
		return;
	}
	struct reg *g = reg_find(r, ev->a[2], 1);
	if (!g)
		g = accepting_reg(r, ev, ev->a[2]);
	uint64_t bit = ev->a[3] & 0xffff;
	if (g && !g->active && g->ended_by)
		finding(r, "WPU.PostMessage.StopsAfterCancel", ev,
			"%s called %s for socket 0x%" PRIx64 " after %s; no message may "
			"follow",
			ev->module, CALL, ev->a[2], g->ended_by);
	else if (!g || !g->active)
		finding(r, "WPU.PostMessage.MatchesRegistration", ev,
			"%s called %s, but wParam 0x%" PRIx64 " is not a client socket "
			"registered with WSPAsyncSelect",
			ev->module, CALL, ev->a[2]);
	else if (g->target != ev->a[0] || g->msg != ev->a[1])
		finding(r, "WPU.PostMessage.MatchesRegistration", ev,
			"%s called %s, but socket 0x%" PRIx64 " was registered with hWnd 0x%" PRIx64
			" and Msg 0x%" PRIx64,
			ev->module, CALL, ev->a[2], g->target, g->msg);
	else if (!bit || (bit & (bit - 1)) || !(bit & g->mask))
		finding(r, "WPU.PostMessage.MatchesRegistration", ev,
			"%s called %s with lParam 0x%" PRIx64 "; LOWORD(lParam) must be a single "
			"FD_ event of the registration (0x%" PRIx64 ")",
			ev->module, CALL, ev->a[3], g->mask);
}

static void notify_set_event(struct wsph_rules *r, const struct wsph_event *ev,
			     struct lazy_call *lc)
{
	if (after_cleanup_began(r, ev) && ev->a[1]) {
		finding(r, "SPI.Cleanup.Silent", ev,
			"%s called %s on a client event after the final WSPCleanup began; "
			"pending operations are cancelled without signalling events",
			ev->module, CALL);
		return;
	}
	if (owned_find(r->events, r->n_events, ev->a[0]) || is_event_target(r, ev->a[0]) ||
	    is_op_event(r, ev->a[0]))
		return;
	finding(r, "WPU.SetEvent.Optional", ev,
		"%s called %s on an event that is neither registered with WSPEventSelect, "
		"nor the hEvent of an overlapped operation, nor one it created with "
		"WPUCreateEvent",
		ev->module, CALL);
}

/* WPUQueueApc: a copied WSATHREADID, the provider's own routine, an operation waiting for it. */
static void notify_queue_apc(struct wsph_rules *r, const struct wsph_event *ev,
			     struct lazy_call *lc)
{
	if (ev->a[3] == POISON_THREAD)
		finding(r, "WPU.QueueApc.ThreadIdCopied", ev,
			"%s called %s with a WSATHREADID whose ThreadHandle the harness "
			"poisoned when the call that passed it returned: the provider kept "
			"the lpThreadId pointer instead of copying the structure",
			ev->module, CALL);
	if (is_client_routine(r, ev->a[1]))
		finding(r, "WPU.QueueApc.NotClientRoutine", ev,
			"%s called %s with lpfnUserApc = the client's completion routine; the "
			"provider queues its own APC, which then calls the client's routine",
			ev->module, CALL);
	if (after_cleanup_began(r, ev)) {
		finding(r, "SPI.Cleanup.Silent", ev,
			"%s called %s after the final WSPCleanup began; pending operations "
			"are cancelled without invoking completion routines",
			ev->module, CALL);
		return;
	}
	struct op_rec *o = NULL;
	for (size_t i = 0; i < r->n_ops && !o; i++)
		if (r->ops[i].routine && !r->ops[i].notified && r->ops[i].state != OP_FAILED)
			o = &r->ops[i];
	if (o)
		o->notified = 1;
	else
		finding(r, "WPU.QueueApc.OnlyWithRoutine", ev,
			"%s called %s while no overlapped operation with a completion routine "
			"was waiting for its completion",
			ev->module, CALL);
}

/* The operation WPUCompleteOverlappedRequest completes: one that may complete that way, once,
 * on the client's handle it was issued on, with no more bytes than its buffer holds. */
static void check_completion(struct wsph_rules *r, const struct wsph_event *ev,
			     struct lazy_call *lc, struct op_rec *o)
{
	struct ledger_entry *e = ledger_find(r, ev->a[0]);
	if (o->routine)
		finding(r, "WPU.QueueApc.OnlyWithRoutine", ev,
			"%s called %s for an operation that has a completion routine; those "
			"complete through an APC (WPUQueueApc), not WPUCompleteOverlappedRequest",
			ev->module, CALL);
	else if (o->notified)
		finding(r, "WPU.QueueApc.OnlyWithRoutine", ev,
			"%s called %s for an operation that was already completed; an "
			"operation completes exactly once",
			ev->module, CALL);
	else if (o->state == OP_FAILED)
		finding(r, "WPU.QueueApc.OnlyWithRoutine", ev,
			"%s called %s for an operation whose call failed with an error other "
			"than WSA_IO_PENDING; no completion indication may occur",
			ev->module, CALL);
	char th[96];
	if (e && !e->modified && !e->open)
		finding(r, "WPU.Handles.NoUseAfterClose", ev,
			"%s called %s on socket 0x%" PRIx64 ", which it had released with "
			"WPUCloseSocketHandle (event #%" PRIu64 "%s)",
			ev->module, CALL, ev->a[0], e->closed_seq,
			release_thread(r, e, ev, th, sizeof th));
	else if (!e || e->modified || ev->a[0] != o->s)
		finding(r, "WPU.CompleteOverlapped.CreatedHandleOnly", ev,
			"%s called %s with s = 0x%" PRIx64 "; it must be the client's handle "
			"from WPUCreateSocketHandle that the operation was issued on (0x%" PRIx64 ")",
			ev->module, CALL, ev->a[0], o->s);
	if (ev->a[3] > o->len)
		finding(r, "SPI.Transfer.WithinBuffers", ev,
			"%s called %s with cbTransferred %" PRIu64 ", more than the %" PRIu64
			" byte(s) of the operation's WSABUF",
			ev->module, CALL, ev->a[3], o->len);
}

static void notify_complete_overlapped(struct wsph_rules *r, const struct wsph_event *ev,
				       struct lazy_call *lc)
{
	if (kind_of(r, ev->module) == WSPH_KIND_IFS)
		finding(r, "WPU.CompleteOverlapped.IFSNotUsed", ev,
			"%s called %s although it is an IFS provider; it is for providers "
			"whose handles come from WPUCreateSocketHandle",
			ev->module, CALL);
	struct op_rec *o = op_find(r, ev->a[1]);
	if (after_cleanup_began(r, ev) && o) {
		finding(r, "SPI.Cleanup.Silent", ev,
			"%s called %s after the final WSPCleanup began; pending operations "
			"are cancelled without notification",
			ev->module, CALL);
		return;
	}
	if (!o) {
		finding(r, "WPU.CompleteOverlapped.ClientOverlapped", ev,
			"%s called %s with lpOverlapped 0x%" PRIx64 ", which is not a "
			"WSAOVERLAPPED the client passed to a WSP call",
			ev->module, CALL, ev->a[1]);
		return;
	}
	check_completion(r, ev, lc, o);
	o->notified = 1;
	o->have_done = 1;
	o->done_err = ev->a[2];
	o->done_cb = ev->a[3];
}

static void notify_close_event(struct wsph_rules *r, const struct wsph_event *ev,
			       struct lazy_call *lc)
{
	if (ev->a[1])
		finding(r, "WPU.Event.NoCloseOfClientEvents", ev,
			"%s called %s on an event the client owns (registered with "
			"WSPEventSelect or the hEvent of a WSAOVERLAPPED); WPUCloseEvent is for "
			"events from WPUCreateEvent",
			ev->module, CALL);
	else if (ev->ret) {
		struct owned *o = owned_find(r->events, r->n_events, ev->a[0]);
		if (o)
			o->open = 0;
	}
}

static void notify_create_event(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	(void)lc;
	if (ev->ret)
		owned_add(&r->events, &r->n_events, &r->cap_events, (uint64_t)ev->ret, ev->seq);
}

static void notify_open_thread(struct wsph_rules *r, const struct wsph_event *ev,
			       struct lazy_call *lc)
{
	if (r->startups <= 0)
		finding(r, "WPU.OpenCurrentThread.AfterStartup", ev,
			"%s called %s with no successful WSPStartup outstanding",
			ev->module, CALL);
	else if (ev->ret == 0)
		owned_add(&r->threads, &r->n_threads, &r->cap_threads, ev->a[1], ev->seq);
}

static void notify_close_thread(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	struct owned *o = owned_find(r->threads, r->n_threads, ev->a[1]);
	if (ev->a[2])
		finding(r, "WPU.OpenCurrentThread.Paired", ev,
			"%s called %s on the WSATHREADID the client passed with an overlapped "
			"call; only structures from WPUOpenCurrentThread are closed",
			ev->module, CALL);
	else if (!o)
		finding(r, "WPU.OpenCurrentThread.Paired", ev,
			"%s called %s on a thread id WPUOpenCurrentThread never returned",
			ev->module, CALL);
	else if (!o->open)
		finding(r, "WPU.OpenCurrentThread.Paired", ev,
			"%s called %s a second time for the thread opened at event #%" PRIu64,
			ev->module, CALL, o->seq);
	else if (ev->ret == 0)
		o->open = 0;
}

static void notify_blocking_callback(struct wsph_rules *r, const struct wsph_event *ev,
				     struct lazy_call *lc)
{
	if (!own_catalog_id(r, ev->module, ev->a[0]))
		not_own_id(r, ev, lc, "WPU.BlockingCallback.OwnCatalogId");
}

static upcall_check *const notification_checks[WSPH_FN_COUNT] = {
	[WSPH_FN_WPUPOSTMESSAGE] = notify_post_message,
	[WSPH_FN_WPUSETEVENT] = notify_set_event,
	[WSPH_FN_WPUQUEUEAPC] = notify_queue_apc,
	[WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST] = notify_complete_overlapped,
	[WSPH_FN_WPUCLOSEEVENT] = notify_close_event,
	[WSPH_FN_WPUCREATEEVENT] = notify_create_event,
	[WSPH_FN_WPUOPENCURRENTTHREAD] = notify_open_thread,
	[WSPH_FN_WPUCLOSETHREAD] = notify_close_thread,
	[WSPH_FN_WPUQUERYBLOCKINGCALLBACK] = notify_blocking_callback,
};

/* ---- the handle upcalls and the imports, checked for every provider ---- */

/* The catalog id a handle upcall names is the caller's own; one its layer told it (a provider
 * below acting on what it was passed) is the layer's doing. */
static void check_handle_id(struct wsph_rules *r, const struct wsph_event *ev,
			    struct lazy_call *lc, const char *rule_id)
{
	char ids[64];
	if (own_catalog_id(r, ev->module, ev->a[0]))
		return;
	if (told_by_layer(r, ev, ev->a[0]))
		finding(r, R_PROPAGATION, ev, PROPAGATION_ID_FMT, ev->module, CALL, ev->a[0],
			own_ids_text(r, ev->module, ids, sizeof ids), ev->behalf);
	else
		not_own_id(r, ev, lc, rule_id);
}

static void upcall_create_handle(struct wsph_rules *r, const struct wsph_event *ev,
				 struct lazy_call *lc)
{
	int ifs = kind_of(r, ev->module) == WSPH_KIND_IFS;
	check_handle_id(r, ev, lc, "WPU.CreateSocketHandle.OwnCatalogId");
	if (ifs && told_kind(r, ev) == WSPH_KIND_NONIFS)
		finding(r, R_PROPAGATION, ev,
			"%s called %s as a non-IFS provider would, since the "
			"WSAPROTOCOL_INFOW %s passed its WSPStartup lacks XP1_IFS_HANDLES, "
			"which its own catalog entry advertises; " PROPAGATION_RULE,
			ev->module, CALL, ev->behalf);
	else if (ifs)
		finding(r, "WPU.CreateSocketHandle.NoIFSFlag", ev,
			"%s called %s although its catalog entry advertises XP1_IFS_HANDLES",
			ev->module, CALL);
	if (ev->ret != -1)
		ledger_add(r, (uint64_t)ev->ret, 0, ev->seq);
}

static void upcall_modify_handle(struct wsph_rules *r, const struct wsph_event *ev,
				 struct lazy_call *lc)
{
	int ifs = kind_of(r, ev->module) == WSPH_KIND_IFS;
	check_handle_id(r, ev, lc, "WPU.ModifyIFSHandle.OwnCatalogId");
	if (!ifs && told_kind(r, ev) == WSPH_KIND_IFS)
		finding(r, R_PROPAGATION, ev,
			"%s called %s as an IFS provider would, since the "
			"WSAPROTOCOL_INFOW %s passed its WSPStartup carries "
			"XP1_IFS_HANDLES, which its own catalog entry does not; " PROPAGATION_RULE,
			ev->module, CALL, ev->behalf);
	else if (!ifs)
		finding(r, "WPU.ModifyIFSHandle.IFSOnly", ev,
			"%s called %s although its catalog entry does not advertise "
			"XP1_IFS_HANDLES (a non-IFS provider)",
			ev->module, CALL);
	/* what then goes wrong with this handle is that finding's */
	for (size_t i = 0; !ifs && i < r->n_ledger; i++)
		if (r->ledger[i].value == ev->a[1] || r->ledger[i].value == (uint64_t)ev->ret)
			r->ledger[i].charged = 1;
	if (ev->ret != -1) {
		ledger_add(r, (uint64_t)ev->ret, 1, ev->seq);
		struct ledger_entry *e = ledger_find(r, (uint64_t)ev->ret);
		if (e && !ifs)
			e->charged = 1;
	}
}

static void upcall_close_handle(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	struct ledger_entry *e = ledger_find(r, ev->a[0]);
	char th[96];
	if (e && e->charged) {
		/* a handle an earlier finding is about: its release is recorded, not judged */
		if (ev->ret == 0 && e->open) {
			e->open = 0;
			e->closed_seq = ev->seq;
			e->closed_thread = ev->thread;
		}
	} else if (e && e->modified)
		finding(r, "WPU.CloseSocketHandle.NotIFS", ev,
			"%s called %s on a handle that came from WPUModifyIFSHandle (event "
			"#%" PRIu64 "), not from WPUCreateSocketHandle",
			ev->module, CALL, e->created_seq);
	else if (!e)
		finding(r, "WPU.CloseSocketHandle.MatchesCreate", ev,
			"%s called %s on a handle WPUCreateSocketHandle never returned",
			ev->module, CALL);
	else if (!e->open)
		finding(r, "WPU.CloseSocketHandle.MatchesCreate", ev,
			"%s called %s on a handle it had already released with "
			"WPUCloseSocketHandle (event #%" PRIu64 "%s)",
			ev->module, CALL, e->closed_seq, release_thread(r, e, ev, th, sizeof th));
	else if (ev->ret == 0) {
		e->open = 0;
		e->closed_seq = ev->seq;
		e->closed_thread = ev->thread;
	}
}

/* A non-IFS layer's notification names the client's handle, never the provider below's. */
static void upcall_post_message(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	if (r->cfg.layered && !lower_of(r, ev->module) && is_lower_handle(r, ev->a[2]) &&
	    kind_of(r, ev->module) == WSPH_KIND_NONIFS)
		finding(r, "LSP.NonIFS.NoLowerHandleLeak", ev,
			"%s called %s with wParam 0x%" PRIx64 ", a handle of the provider "
			"below it; the client must see only the layer's own handle",
			ev->module, CALL, ev->a[2]);
}

static void upcall_query_context(struct wsph_rules *r, const struct wsph_event *ev,
				 struct lazy_call *lc)
{
	struct ledger_entry *e = ledger_find(r, ev->a[0]);
	char th[96];
	if (kind_of(r, ev->module) == WSPH_KIND_IFS)
		finding(r, "WPU.QueryContext.OnlyCreatedHandles", ev,
			"%s called %s although it is an IFS provider; only non-IFS providers "
			"use it, on handles from WPUCreateSocketHandle",
			ev->module, CALL);
	else if (e && !e->modified && !e->open && !lower_of(r, ev->module) &&
		 !client_named(r, ev))
		finding(r, "WPU.Handles.NoUseAfterClose", ev,
			"%s called %s on a handle it had released with WPUCloseSocketHandle "
			"(event #%" PRIu64 "%s)",
			ev->module, CALL, e->closed_seq, release_thread(r, e, ev, th, sizeof th));
}

static void import_post_message(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	if (ev->a[4])
		finding(r, "WPU.PostMessage.Mandatory", ev,
			"%s called %s directly for the window registered in WSPAsyncSelect; "
			"async-select notifications must go through WPUPostMessage",
			ev->module, CALL);
}

/* WSCGetProviderPath and WPUGetProviderPath: the length is in characters, and a WSAEFAULT
 * (buffer too small) is retried before the path is used. */
static void import_provider_path(struct wsph_rules *r, const struct wsph_event *ev,
				 struct lazy_call *lc)
{
	(void)lc;
	if (ev->fn == WSPH_FN_WSCGETPROVIDERPATH && ev->a[4])
		finding(r, "WPU.GetProviderPath.LengthInChars", ev,
			"%s called %s with *lpProviderDllPathLen = %" PRId64 " characters "
			"(%" PRId64 " bytes) for a buffer on its stack that has room for at most "
			"%" PRIu64 " characters before its frame's return address; the length is "
			"the buffer's size in characters (a sizeof gives bytes)",
			ev->module, wsph_fn_name(ev->fn), (int64_t)ev->a[1], (int64_t)ev->a[1] * 2,
			ev->a[3] / 2);
	if (ev->ret == SOCKET_ERROR && ev->err == WSAEFAULT)
		r->path_fault_pending = 1;
	else if (ev->ret == 0)
		r->path_fault_pending = 0;
}

static void import_expand(struct wsph_rules *r, const struct wsph_event *ev, struct lazy_call *lc)
{
	(void)lc;
	on_expand(r, ev);
}

static void import_load_library(struct wsph_rules *r, const struct wsph_event *ev,
				struct lazy_call *lc)
{
	(void)lc;
	if (load_from_bad_expansion(r, ev))
		return; /* what else is wrong with this path follows from that */
	if (ev->a[2])
		finding(r, "WPU.GetProviderPath.Expands", ev,
			"%s called %s(\"%s\") with environment strings unexpanded; the "
			"path from WSCGetProviderPath/WPUGetProviderPath must be expanded "
			"(ExpandEnvironmentStrings) before LoadLibrary",
			ev->module, wsph_fn_name(ev->fn), ev->text);
	if (r->path_fault_pending && r->cfg.layered)
		finding(r, "WPU.GetProviderPath.ShortBuffer", ev,
			"%s called %s(\"%s\") after the provider-path lookup failed with "
			"WSAEFAULT (buffer too small) and was never retried",
			ev->module, wsph_fn_name(ev->fn), ev->text);
}

static void import_get_proc_address(struct wsph_rules *r, const struct wsph_event *ev,
				    struct lazy_call *lc)
{
	(void)lc;
	if (!strcmp(ev->text, "WSPStartup") && ev->ret && !ev->a[2])
		not_from_catalog(r, ev);
}

static upcall_check *const upcall_checks[WSPH_FN_COUNT] = {
	[WSPH_FN_WPUCREATESOCKETHANDLE] = upcall_create_handle,
	[WSPH_FN_WPUMODIFYIFSHANDLE] = upcall_modify_handle,
	[WSPH_FN_WPUCLOSESOCKETHANDLE] = upcall_close_handle,
	[WSPH_FN_WPUPOSTMESSAGE] = upcall_post_message,
	[WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT] = upcall_query_context,
	[WSPH_FN_POSTMESSAGEA] = import_post_message,
	[WSPH_FN_POSTMESSAGEW] = import_post_message,
	[WSPH_FN_WSCGETPROVIDERPATH] = import_provider_path,
	[WSPH_FN_WPUGETPROVIDERPATH] = import_provider_path,
	[WSPH_FN_EXPANDENVIRONMENTSTRINGSA] = import_expand,
	[WSPH_FN_EXPANDENVIRONMENTSTRINGSW] = import_expand,
	[WSPH_FN_LOADLIBRARYA] = import_load_library,
	[WSPH_FN_LOADLIBRARYW] = import_load_library,
	[WSPH_FN_LOADLIBRARYEXA] = import_load_library,
	[WSPH_FN_LOADLIBRARYEXW] = import_load_library,
	[WSPH_FN_GETPROCADDRESS] = import_get_proc_address,
};

/* The upcall goes through the table of the WSPStartup in progress: that one is the most recent
 * from the moment the call begins (the table of record changes when it returns). */
static int startup_table(const struct wsph_rules *r, const struct wsph_event *ev)
{
	const struct frame *f = frame_of(r, ev->parent);
	return f && f->call.fn == WSPH_FN_WSPSTARTUP && f->call.table == ev->table;
}

/* The upcall table the upcall went through: the copy of the most recent WSPStartup's. A provider
 * below a layer is judged against the table its layer gave it (current_table is the table of the
 * most recent WSPStartup the module was given, -1 the layer's own). */
static void check_upcall_table(struct wsph_rules *r, const struct wsph_event *ev,
			       struct lazy_call *lc)
{
	if (ev->table == WSPH_TABLE_POISON && ev->behalf[0] &&
	    ev->current_table == WSPH_TABLE_POISON)
		finding(r, "LSP.UpcallTable.PassedDown", ev,
			"%s called %s through the poisoned WSPUPCALLTABLE buffer, which is what %s "
			"passed its WSPStartup: the layer kept &UpcallTable of its own WSPStartup "
			"instead of copying the table, and handed down what the buffer held later",
			ev->module, CALL, ev->behalf);
	else if (ev->table == WSPH_TABLE_POISON)
		finding(r, "SPI.Startup.UpcallTableCopied", ev,
			"%s called %s through the WSPUPCALLTABLE buffer the harness passed to "
			"WSPStartup, after WSPStartup had returned (the harness poisoned it): the "
			"provider kept &UpcallTable instead of copying the table",
			ev->module, CALL);
	else if ((ev->table == WSPH_TABLE_A || ev->table == WSPH_TABLE_B) &&
		 (ev->current_table == WSPH_TABLE_A || ev->current_table == WSPH_TABLE_B) &&
		 ev->table != ev->current_table && !startup_table(r, ev) &&
		 /* the harness's own probe of a table a layer hands down, mid-WSPStartup */
		 strncmp(ev->module, "wspharness", 10) != 0)
		finding(r, "SPI.Startup.MostRecentUpcallTable", ev,
			"%s called %s through upcall table %c, but the most recent WSPStartup %s "
			"supplied table %c",
			ev->module, CALL, ev->table == WSPH_TABLE_A ? 'A' : 'B',
			ev->behalf[0] ? "its layer made on it" : "it was given",
			ev->current_table == WSPH_TABLE_A ? 'A' : 'B');
}

static void check_upcall(struct wsph_rules *r, const struct wsph_event *ev)
{
	struct lazy_call lcs, *lc = &lcs;
	lcs.ev = ev;
	lcs.done = 0;
	check_upcall_table(r, ev, lc);
	if (r->after_final && wsph_fn_is_wpu(ev->fn)) {
		const struct frame *f = frame_of(r, ev->parent);
		if (!f || f->call.fn != WSPH_FN_WSPSTARTUP)
			finding(r, "WPU.Table.NotAfterFinalCleanup", ev,
				"%s called %s after the final WSPCleanup had returned and before a new "
				"WSPStartup; the provider must make no upcall then",
				ev->module, CALL);
	}
	if ((unsigned)ev->fn >= WSPH_FN_COUNT)
		return;
	if (notification_checks[ev->fn] && !lower_of(r, ev->module))
		notification_checks[ev->fn](r, ev, lc);
	if (upcall_checks[ev->fn])
		upcall_checks[ev->fn](r, ev, lc);
}

#undef CALL

/* ---- per-return checks ---- */

static void on_return(struct wsph_rules *r, const struct frame *f, const struct wsph_event *ev);

static int returns_handle(enum wsph_fn fn)
{
	return fn == WSPH_FN_WSPSOCKET || fn == WSPH_FN_WSPACCEPT || fn == WSPH_FN_WSPJOINLEAF;
}

static int is_failure(const struct wsph_event *ev)
{
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
		return ev->ret != 0;
	case WSPH_FN_WSPGETOVERLAPPEDRESULT:
	case WSPH_FN_WSPGETQOSBYNAME:
		return ev->ret == 0;
	default:
		return ev->ret == -1; /* SOCKET_ERROR, and INVALID_SOCKET as an int64 */
	}
}

static int version_le(unsigned a, unsigned b) /* Winsock WORDs: major = low byte */
{
	unsigned amaj = a & 0xff, amin = (a >> 8) & 0xff, bmaj = b & 0xff, bmin = (b >> 8) & 0xff;
	return amaj < bmaj || (amaj == bmaj && amin <= bmin);
}

static const char *const proc_names[30] = {
	"lpWSPAccept",	   "lpWSPAddressToString",   "lpWSPAsyncSelect",
	"lpWSPBind",	   "lpWSPCancelBlockingCall", "lpWSPCleanup",
	"lpWSPCloseSocket", "lpWSPConnect",	      "lpWSPDuplicateSocket",
	"lpWSPEnumNetworkEvents", "lpWSPEventSelect", "lpWSPGetOverlappedResult",
	"lpWSPGetPeerName", "lpWSPGetSockName",	      "lpWSPGetSockOpt",
	"lpWSPGetQOSByName", "lpWSPIoctl",	      "lpWSPJoinLeaf",
	"lpWSPListen",	   "lpWSPRecv",		      "lpWSPRecvDisconnect",
	"lpWSPRecvFrom",   "lpWSPSelect",	      "lpWSPSend",
	"lpWSPSendDisconnect", "lpWSPSendTo",	      "lpWSPSetSockOpt",
	"lpWSPShutdown",   "lpWSPSocket",	      "lpWSPStringToAddress",
};

/* A WSPStartup asked for `req` once succeeded. */
static int granted_before(const struct wsph_rules *r, unsigned req)
{
	for (size_t i = 0; i < r->n_granted; i++)
		if (r->granted[i] == req)
			return 1;
	return 0;
}

/* A failed WSPStartup: the code it returned. */
static void check_startup_failed(struct wsph_rules *r, const struct wsph_event *ev)
{
	char e[64];
	unsigned req = (unsigned)ev->a[0];
	int rc = (int)ev->ret;
	/* One wrong result, one finding: a refused restart (for a 2.x version, which every provider
	 * of the SPI grants, or one granted before the final cleanup) is that defect whatever its
	 * code; a low version's wrong code is VersionTooLow's. */
	if (r->had_final_cleanup && r->startups == 0 &&
	    ((req & 0xff) == 2 || ((req & 0xff) > 2 && granted_before(r, req))))
		finding(r, "SPI.Cleanup.Reinit", ev,
			"WSPStartup(wVersionRequested=%u.%u) failed with %s right after the "
			"final WSPCleanup; the provider must be ready to start again",
			req & 0xff, (req >> 8) & 0xff, wsph_error_format(rc, e, sizeof e));
	else if ((req & 0xff) < 2 && rc != WSAVERNOTSUPPORTED)
		finding(r, "SPI.Startup.VersionTooLow", ev,
			"WSPStartup(wVersionRequested=%u.%u) returned %s; a request below "
			"the SPI's 2.x versions must yield WSAVERNOTSUPPORTED",
			req & 0xff, (req >> 8) & 0xff, wsph_error_format(rc, e, sizeof e));
	/* A layer refusing a bogus lower table answers WSAEINVALIDPROCTABLE, as
	 * LSP.NextProc.Validated asks: not undocumented for a layer. */
	else if (rc != WSASYSNOTREADY && rc != WSAVERNOTSUPPORTED && rc != WSAEINPROGRESS &&
		 rc != WSAEPROCLIM && rc != WSAEFAULT &&
		 !(r->cfg.layered && rc == WSAEINVALIDPROCTABLE))
		finding(r, "SPI.Startup.ErrorIsReturnValue", ev,
			"WSPStartup returned %s, which is not one of its documented errors "
			"(WSASYSNOTREADY, WSAVERNOTSUPPORTED, WSAEINPROGRESS, WSAEPROCLIM, "
			"WSAEFAULT)",
			wsph_error_format(rc, e, sizeof e));
}

static void check_startup(struct wsph_rules *r, const struct wsph_event *ev)
{
	if ((int)ev->ret != 0) {
		check_startup_failed(r, ev);
		return;
	}
	r->startups++;
	r->ever_started = 1;
	unsigned req = (unsigned)ev->a[0], ver = (unsigned)ev->a[1], high = (unsigned)ev->a[2];
	int written = ev->a[5] != 0;
	if (!granted_before(r, req) && r->n_granted < sizeof r->granted / sizeof r->granted[0])
		r->granted[r->n_granted++] = req;
	if ((req & 0xff) < 2) {
		/* one defect: the version it then reports follows from accepting the request */
		finding(r, "SPI.Startup.VersionTooLow", ev,
			"WSPStartup(wVersionRequested=%u.%u) returned 0; a request below the SPI's "
			"2.x versions must fail with WSAVERNOTSUPPORTED",
			req & 0xff, (req >> 8) & 0xff);
		return;
	}
	if (!written || !ev->a[4])
		finding(r, "SPI.Startup.WSPDataFilled", ev,
			"WSPStartup returned 0 but %s",
			!written ? "left wVersion/wHighVersion of WSPDATA unwritten"
				 : "left szDescription without a NUL within its 256 WCHARs");
	/* The version is judged whenever it was written, whatever the description says. */
	if (written) {
		unsigned expect = version_le(req, high) ? req : high;
		if (ver != expect)
			finding(r, "SPI.Startup.VersionMin", ev,
				"WSPStartup(wVersionRequested=%u.%u) reported wVersion=%u.%u with "
				"wHighVersion=%u.%u; wVersion must be min(wHighVersion, "
				"wVersionRequested) = %u.%u",
				req & 0xff, (req >> 8) & 0xff, ver & 0xff, (ver >> 8) & 0xff,
				high & 0xff, (high >> 8) & 0xff, expect & 0xff, (expect >> 8) & 0xff);
	}
	if (ev->a[3]) {
		char names[1024] = "";
		size_t pos = 0;
		for (int i = 0; i < 30; i++)
			if (ev->a[3] & (1ull << i))
				pos += (size_t)snprintf(names + pos, sizeof names - pos, "%s%s",
							pos ? ", " : "", proc_names[i]);
		finding(r, "SPI.Startup.ProcTableComplete", ev,
			"WSPStartup returned 0 but left NULL in WSPPROC_TABLE: %s", names);
	}
}

/* The final WSPCleanup of a non-IFS provider released every handle from WPUCreateSocketHandle.
 * A handle whose close already was charged, or will be (a close deferred by pending operations),
 * is that finding's, not this one's. */
static void check_final_releases(struct wsph_rules *r, const struct wsph_event *ev)
{
	size_t open = 0;
	uint64_t first = 0;
	for (size_t i = 0; i < r->n_ledger; i++) {
		struct ledger_entry *e = &r->ledger[i];
		if (e->modified || !e->open || e->charged || e->close_deferred_seq)
			continue;
		if (!open)
			first = e->value;
		open++;
		e->charged = 1;
	}
	if (open)
		finding(r, "SPI.Cleanup.ReleasesHandles", ev,
			"the final WSPCleanup returned with %zu handle(s) from WPUCreateSocketHandle "
			"never passed to WPUCloseSocketHandle (first: 0x%" PRIx64 ")",
			open, first);
}

static void check_cleanup(struct wsph_rules *r, const struct frame *f, const struct wsph_event *ev)
{
	char e[64], call[256];
	int before = f->startups_before;
	if (before <= 0) {
		if (ev->ret != SOCKET_ERROR || ev->err != WSANOTINITIALISED)
			finding(r, "SPI.Cleanup.Unbalanced", ev,
				"WSPCleanup without an outstanding WSPStartup returned %s; it must "
				"return SOCKET_ERROR with WSANOTINITIALISED",
				wsph_event_call_text(ev, call, sizeof call));
		return;
	}
	if (ev->ret != 0) {
		finding(r, "SPI.Cleanup.SuccessReturnsZero", ev,
			"WSPCleanup balancing a successful WSPStartup returned %" PRId64
			" (*lpErrno %s); a successful cleanup returns 0",
			ev->ret,
			ev->err == WSPH_ERRNO_UNSET ? "not written" : wsph_error_format(ev->err, e, sizeof e));
	}
	/* The provider's count goes down even when it reports the cleanup badly. */
	r->startups = before - 1;
	if (before > 1) {
		for (size_t i = 0; i < f->n_up; i++)
			if (f->up[i].fn == WSPH_FN_WPUCLOSESOCKETHANDLE) {
				finding(r, "SPI.Startup.RefCount", &f->up[i],
					"a non-final WSPCleanup (%d startups outstanding before it) "
					"released socket handles (%s): only the last of N cleanups may "
					"reset sockets",
					before, wsph_event_call_text(&f->up[i], call, sizeof call));
				break;
			}
		return;
	}
	r->had_final_cleanup = 1;
	r->after_final = 1;
	if (r->cfg.kind == WSPH_KIND_NONIFS)
		check_final_releases(r, ev);
}

static const struct wsph_event *frame_find(const struct frame *f, enum wsph_fn fn, int ok)
{
	for (size_t i = 0; i < f->n_up; i++)
		if (f->up[i].fn == fn && (ok ? f->up[i].ret != -1 : f->up[i].ret == -1))
			return &f->up[i];
	return NULL;
}

/* An injected failure of the handle upcall must make the WSP call fail: 1 when it did not (and
 * that is charged). */
static int failure_ignored(struct wsph_rules *r, const struct frame *f, const struct wsph_event *ev)
{
	for (size_t i = 0; i < f->n_up; i++) {
		const struct wsph_event *u = &f->up[i];
		if (!u->fault || ev->ret == -1)
			continue;
		if (u->fn != WSPH_FN_WPUCREATESOCKETHANDLE && u->fn != WSPH_FN_WPUMODIFYIFSHANDLE)
			continue;
		char call[1024];
		wsph_event_call_text(ev, call, sizeof call);
		finding(r,
			u->fn == WSPH_FN_WPUCREATESOCKETHANDLE
				? "WPU.CreateSocketHandle.FailurePropagates"
				: "WPU.ModifyIFSHandle.FailurePropagates",
			ev, "%s failed (fault injected at event #%" PRIu64 ") but %s succeeded: %s",
			wsph_fn_name(u->fn), u->seq, wsph_fn_name(ev->fn), call);
		return 1;
	}
	return 0;
}

/* Why the handle h a non-IFS provider returned is not one it made during call `f`: a handle
 * made inside this call by a call of the layer's to the provider below was issued to that
 * provider, not to the provider called. */
static const char *not_made_here(struct wsph_rules *r, const struct frame *f,
				 const struct ledger_entry *e, char *below, size_t len)
{
	struct wsph_trace *t = r->cfg.trace;
	struct wsph_event made, in;
	if (!e)
		return "the harness never issued it";
	if (e->modified)
		return "it came from WPUModifyIFSHandle";
	if (!e->open)
		return "it was already released";
	if (wsph_trace_get(t, (size_t)(e->created_seq - 1), &made) == 0 && made.parent &&
	    wsph_trace_get(t, (size_t)(made.parent - 1), &in) == 0 && in.layer == 1 &&
	    in.parent == f->call.seq) {
		snprintf(below, len,
			 "it was issued during this call, but to %s, the provider below, inside the "
			 "layer's %s (event #%" PRIu64 "): a handle of the provider below",
			 made.module, wsph_fn_name(in.fn), in.seq);
		return below;
	}
	return "it was issued by an earlier call";
}

/* A non-IFS provider returns an open handle WPUCreateSocketHandle gave it during the call. */
static void check_nonifs_handle(struct wsph_rules *r, const struct frame *f,
				const struct wsph_event *ev, uint64_t h)
{
	struct ledger_entry *e = ledger_find(r, h);
	int made_here = 0;
	for (size_t i = 0; i < f->n_up; i++)
		if (f->up[i].fn == WSPH_FN_WPUCREATESOCKETHANDLE && (uint64_t)f->up[i].ret == h)
			made_here = 1;
	if (made_here && e && !e->modified && e->open)
		return;
	char below[256];
	finding(r, "WPU.CreateSocketHandle.BeforeReturn", ev,
		"%s returned 0x%" PRIx64 " to the client, which is not an open handle "
		"WPUCreateSocketHandle returned during this call (%s)",
		wsph_fn_name(ev->fn), h, not_made_here(r, f, e, below, sizeof below));
}

/* An IFS provider returns the handle WPUModifyIFSHandle returned during the call. */
static void check_ifs_handle(struct wsph_rules *r, const struct frame *f,
			     const struct wsph_event *ev, uint64_t h)
{
	const char *fname = wsph_fn_name(ev->fn);
	const struct wsph_event *mod = frame_find(f, WSPH_FN_WPUMODIFYIFSHANDLE, 1);
	for (size_t i = 0; i < f->n_up; i++)
		if (f->up[i].fn == WSPH_FN_WPUCREATESOCKETHANDLE && (uint64_t)f->up[i].ret == h)
			return; /* reported as WPU.CreateSocketHandle.NoIFSFlag */
	if (!mod) {
		finding(r, "WPU.ModifyIFSHandle.BeforeReturn", ev,
			"%s returned 0x%" PRIx64 " to the client without passing it to "
			"WPUModifyIFSHandle first",
			fname, h);
		return;
	}
	for (size_t i = 0; i < f->n_up; i++)
		if (f->up[i].fn == WSPH_FN_WPUMODIFYIFSHANDLE && f->up[i].ret != -1 &&
		    (uint64_t)f->up[i].ret == h)
			return;
	char mcall[512];
	finding(r, "WPU.ModifyIFSHandle.UseReturned", ev,
		"%s returned 0x%" PRIx64 " to the client, but %s returned a different handle; the "
		"provider must supply only the modified handle%s",
		fname, h, wsph_event_call_text(mod, mcall, sizeof mcall),
		h == mod->a[1] ? " (it returned the proposed one)" : "");
}

static void check_new_handle(struct wsph_rules *r, const struct frame *f,
			     const struct wsph_event *ev)
{
	if (failure_ignored(r, f, ev) || ev->ret == -1)
		return;
	uint64_t h = (uint64_t)ev->ret;
	if (r->cfg.layered && is_lower_handle(r, h))
		return; /* a layer handing out its lower provider's handle: LSP.NonIFS.NoLowerHandleLeak */
	if (r->cfg.kind == WSPH_KIND_NONIFS)
		check_nonifs_handle(r, f, ev, h);
	else
		check_ifs_handle(r, f, ev, h);
}

static void check_errno(struct wsph_rules *r, const struct wsph_event *ev)
{
	char call[1024];
	if (ev->fn != WSPH_FN_WSPSTARTUP && is_failure(ev) &&
	    (ev->err == WSPH_ERRNO_UNSET || ev->err == 0 || !wsph_error_name(ev->err))) {
		char how[96];
		if (ev->err == WSPH_ERRNO_UNSET)
			snprintf(how, sizeof how, "did not write *lpErrno");
		else
			snprintf(how, sizeof how, "set *lpErrno to %d, which is not a Winsock error code",
				 ev->err);
		finding(r, "SPI.Errno.OnFailure", ev, "%s failed but %s",
			wsph_event_call_text(ev, call, sizeof call), how);
	}
}

/* A handle ws2_32 does not know must fail the call with WSAENOTSOCK: judged before what the call
 * then did with an operation, which follows from it. WSPSelect's handles are in its sets. */
static void check_query_context(struct wsph_rules *r, const struct frame *f,
				const struct wsph_event *ev)
{
	char call[1024], ucall[512];
	int select = ev->fn == WSPH_FN_WSPSELECT;
	if (r->cfg.kind != WSPH_KIND_NONIFS || (!wsph_fn_takes_socket(ev->fn) && !select))
		return;
	for (size_t i = 0; i < f->n_up; i++) {
		const struct wsph_event *u = &f->up[i];
		if (u->fn != WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT || u->fault ||
		    u->ret != SOCKET_ERROR || u->err != WSAENOTSOCK || (!select && u->a[0] != ev->a[0]))
			continue;
		if (handle_charged(r, u->a[0]))
			return; /* a handle already found wrong when it was handed out */
		if (!is_failure(ev) || ev->err != WSAENOTSOCK)
			finding(r, "WPU.QueryContext.OnlyCreatedHandles", ev,
				"%s answered WSAENOTSOCK for the client's handle, but the call "
				"returned %s; it must fail with WSAENOTSOCK",
				wsph_event_call_text(u, ucall, sizeof ucall),
				wsph_event_call_text(ev, call, sizeof call));
		return;
	}
}

static void check_return(struct wsph_rules *r, const struct frame *f, const struct wsph_event *ev)
{
	/* A cleanup that should not have failed at all is that defect (SuccessReturnsZero), not the
	 * error code it then gave. */
	if (ev->fn != WSPH_FN_WSPCLEANUP)
		check_errno(r, ev);
	check_query_context(r, f, ev);
	on_return(r, f, ev);
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
		check_startup(r, ev);
		return;
	case WSPH_FN_WSPCLEANUP:
		check_cleanup(r, f, ev);
		check_errno(r, ev);
		return;
	default:
		break;
	}
	if (returns_handle(ev->fn))
		check_new_handle(r, f, ev);

	if (r->cfg.kind == WSPH_KIND_NONIFS && ev->fn == WSPH_FN_WSPCLOSESOCKET && ev->ret == 0) {
		struct ledger_entry *e = ledger_find(r, ev->a[0]);
		/* With overlapped operations still pending the release may wait until they have
		 * completed (spec §7.2, as the Microsoft sample LSP does): judged at the end. */
		if (e && !e->modified && e->open && pending_ops(r, ev->a[0]))
			e->close_deferred_seq = ev->seq;
		else if (e && !e->modified && e->open && !e->charged) {
			finding(r, "WPU.CloseSocketHandle.OnClose", ev,
				"WSPCloseSocket(s=0x%" PRIx64 ") returned 0 without releasing the "
				"handle with WPUCloseSocketHandle (no overlapped operation was pending)",
				ev->a[0]);
			e->charged = 1; /* its leak is this finding, not another */
		}
	}
}

static int is_transfer(enum wsph_fn fn)
{
	return fn == WSPH_FN_WSPSEND || fn == WSPH_FN_WSPRECV || fn == WSPH_FN_WSPSENDTO ||
	       fn == WSPH_FN_WSPRECVFROM;
}

/* A call of the harness into the provider under test, before the provider runs. */
static void on_call(struct wsph_rules *r, const struct wsph_event *ev)
{
	switch (ev->fn) {
	case WSPH_FN_WSPSEND:
	case WSPH_FN_WSPRECV:
	case WSPH_FN_WSPSENDTO:
	case WSPH_FN_WSPRECVFROM:
		/* the driver's CALL: a[2] flags (1 overlapped), a[3] lpOverlapped, a[4] routine,
		 * a[5] hEvent */
		if ((ev->a[2] & 1) &&
		    wsph_grow((void **)&r->ops, &r->cap_ops, r->n_ops, sizeof *r->ops) == 0)
			r->ops[r->n_ops++] = (struct op_rec){ev->a[3], ev->a[4], ev->a[0], ev->a[1],
							     ev->a[5], ev->seq, OP_IN_CALL, 0, 0, 0, 0};
		break;
	case WSPH_FN_WSPASYNCSELECT:
		/* a[0] s, a[1] hWnd, a[2] wMsg, a[3] lEvent */
		reg_end(r, ev->a[0], 0, "a later WSPAsyncSelect");
		if (ev->a[3])
			reg_set(r, ev->a[0], 1, ev->a[1], ev->a[2], ev->a[3]);
		else
			reg_end(r, ev->a[0], 1, "WSPAsyncSelect(s, hWnd, wMsg, 0)");
		break;
	case WSPH_FN_WSPEVENTSELECT:
		/* a[0] s, a[1] hEventObject, a[2] lNetworkEvents */
		reg_end(r, ev->a[0], 1, "a later WSPEventSelect on it");
		if (ev->a[2])
			reg_set(r, ev->a[0], 0, ev->a[1], 0, ev->a[2]);
		else
			reg_end(r, ev->a[0], 0, "WSPEventSelect(s, hEvent, 0)");
		break;
	case WSPH_FN_WSPCLOSESOCKET:
		reg_end(r, ev->a[0], 1, "WSPCloseSocket (FD_CLOSE is not posted after it)");
		reg_end(r, ev->a[0], 0, "WSPCloseSocket");
		break;
	case WSPH_FN_WSPCLEANUP:
		if (r->startups == 1) {
			r->cleanup_begun = 1;
			r->cleanup_seq = ev->seq;
			r->cleanup_thread = ev->thread;
			for (size_t i = 0; i < r->n_regs; i++)
				if (r->regs[i].active) {
					r->regs[i].active = 0;
					r->regs[i].ended_by = "the final WSPCleanup";
				}
		}
		break;
	default:
		break;
	}
}

/* The values each WSP function may return (SPI.Return.Domain). */
static void check_domain(struct wsph_rules *r, const struct wsph_event *ev)
{
	char call[512];
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
	case WSPH_FN_WSPSOCKET:
	case WSPH_FN_WSPACCEPT:
	case WSPH_FN_WSPJOINLEAF:
		return; /* an error code; a handle or INVALID_SOCKET */
	case WSPH_FN_WSPSELECT:
		if (ev->ret < -1)
			finding(r, "SPI.Return.Domain", ev,
				"%s: WSPSelect returns SOCKET_ERROR or the number of sockets ready",
				wsph_event_call_text(ev, call, sizeof call));
		return;
	case WSPH_FN_WSPGETOVERLAPPEDRESULT:
	case WSPH_FN_WSPGETQOSBYNAME:
		if (ev->ret != 0 && ev->ret != 1)
			finding(r, "SPI.Return.Domain", ev, "%s: the function returns TRUE or FALSE",
				wsph_event_call_text(ev, call, sizeof call));
		return;
	default:
		if (ev->ret != 0 && ev->ret != -1)
			finding(r, "SPI.Return.Domain", ev,
				"%s: the function returns 0 or SOCKET_ERROR%s",
				wsph_event_call_text(ev, call, sizeof call),
				is_transfer(ev->fn) ? " (the byte count goes to the out-parameter, not "
						      "the return value)"
						    : "");
		return;
	}
}

/* An overlapped transfer returned: immediate, pending or failed (a failed one is not completed). */
static void op_returned(struct wsph_rules *r, const struct frame *f, const struct wsph_event *ev)
{
	char call[512];
	struct op_rec *o = op_find(r, f->call.a[3]);
	if (!o || o->call_seq != f->call.seq)
		return;
	if (ev->ret == 0)
		o->state = OP_IMMEDIATE;
	else if (ev->err == WSA_IO_PENDING)
		o->state = OP_PENDING;
	else {
		o->state = OP_FAILED;
		if (o->notified)
			finding(r, "WPU.QueueApc.OnlyWithRoutine", ev,
				"%s failed with an error other than WSA_IO_PENDING, "
				"yet the provider delivered a completion for it; no "
				"completion indication may occur",
				wsph_event_call_text(ev, call, sizeof call));
	}
}

/* WSPGetOverlappedResult reports the completion the provider delivered. */
static void check_overlapped_result(struct wsph_rules *r, const struct wsph_event *ev)
{
	char call[512];
	/* the driver's CALL: a[1] lpOverlapped; the RETURN: a[2] cbTransfer */
	struct op_rec *o = op_find(r, ev->a[1]);
	if (!o || !o->have_done ||
	    (ev->ret == 0 && (ev->err == WSA_IO_INCOMPLETE || ev->err == WSAENOTSOCK ||
			      ev->err == WSANOTINITIALISED)))
		return; /* not complete yet, or the socket is gone with its status */
	int ok = ev->ret != 0;
	if ((ok && (o->done_err || ev->a[2] != o->done_cb)) ||
	    (!ok && (uint64_t)(int64_t)ev->err != o->done_err))
		finding(r, "WPU.CompleteOverlapped.ClientOverlapped", ev,
			"%s disagrees with the completion the provider delivered "
			"(WPUCompleteOverlappedRequest with dwError %" PRIu64
			", cbTransferred %" PRIu64 ")",
			wsph_event_call_text(ev, call, sizeof call), o->done_err, o->done_cb);
}

/* The provider under test returned to the harness: overlapped operations, registrations. */
static void on_return(struct wsph_rules *r, const struct frame *f, const struct wsph_event *ev)
{
	char call[512];
	check_domain(r, ev);
	if (is_transfer(ev->fn) && ev->ret == 0 && ev->a[2] > ev->a[1])
		finding(r, "SPI.Transfer.WithinBuffers", ev,
			"%s reported %" PRIu64 " byte(s) transferred, more than the %" PRIu64
			" byte(s) of its WSABUF",
			wsph_event_call_text(ev, call, sizeof call), ev->a[2], ev->a[1]);
	if (is_transfer(ev->fn) && (f->call.a[2] & 1))
		op_returned(r, f, ev);
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
		if (ev->ret == 0)
			r->cleanup_begun = r->after_final = 0;
		break;
	case WSPH_FN_WSPACCEPT:
		/* The accepted socket has the listener's registrations. */
		if (ev->ret != -1)
			for (int async = 0; async < 2; async++) {
				struct reg *g = reg_find(r, ev->a[0], async);
				if (g && g->active) {
					struct reg copy = *g;
					reg_set(r, (uint64_t)ev->ret, async, copy.target, copy.msg,
						copy.mask);
				}
			}
		break;
	case WSPH_FN_WSPGETOVERLAPPEDRESULT:
		check_overlapped_result(r, ev);
		break;
	default:
		break;
	}
}

static void check_lower_call(struct wsph_rules *r, const struct wsph_event *ev)
{
	char call[1024];
	wsph_event_call_text(ev, call, sizeof call);
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
		if (ev->a[3] == 2)
			finding(r, "LSP.ProtocolInfo.Propagation", ev,
				"%s called the next provider's WSPStartup with %s; the next element "
				"of its chain is the base, so it must pass the base provider's own "
				"WSAPROTOCOL_INFOW (a further layer: the same unmodified structure)",
				ev->module, ev->text);
		if (ev->a[4] == 2)
			finding(r, "LSP.UpcallTable.PassedDown", ev,
				"%s passed the next provider's WSPStartup an upcall table that is "
				"neither the one it received nor forwards to it (a WPUFDIsSet through "
				"it never reached ws2_32)",
				ev->module);
		break;
	case WSPH_FN_WSPSOCKET:
		if (ev->a[5] == 2)
			finding(r, "LSP.ProtocolInfo.Propagation", ev,
				"%s called the next provider's %s with the WSAPROTOCOL_INFOW of "
				"catalog entry %" PRIu64 "; it must pass the next element's own entry "
				"(the base's) or the same unmodified structure",
				ev->module, call, ev->a[3]);
		break;
	case WSPH_FN_WSPSEND:
	case WSPH_FN_WSPRECV:
	case WSPH_FN_WSPSENDTO:
	case WSPH_FN_WSPRECVFROM:
	case WSPH_FN_WSPIOCTL:
		if (ev->a[4] && !ev->a[5])
			finding(r, "LSP.ThreadId.Private", ev,
				"%s started overlapped %s on the next provider with lpThreadId %s; it "
				"must pass a copy of the client's WSATHREADID or one from "
				"WPUOpenCurrentThread",
				ev->module, wsph_fn_name(ev->fn),
				ev->a[3] ? "holding a thread handle nobody opened" : "NULL");
		break;
	default:
		break;
	}
}

static void check_lower_return(struct wsph_rules *r, struct frame *upper, const struct frame *f,
			       const struct wsph_event *ev)
{
	if (ev->fn == WSPH_FN_WSPSTARTUP && ev->ret == 0 && upper) {
		upper->lower_startup_ok = 1;
		if (f->call.a[5])
			upper->lower_hole_accepted = 1;
	}
	if (returns_handle(ev->fn) && ev->ret != -1) {
		if (r->n_lower_handles == r->cap_lower_handles) {
			size_t nc = r->cap_lower_handles ? r->cap_lower_handles * 2 : 16;
			uint64_t *p = realloc(r->lower_handles, nc * sizeof *p);
			if (!p)
				return;
			r->lower_handles = p;
			r->cap_lower_handles = nc;
		}
		r->lower_handles[r->n_lower_handles++] = (uint64_t)ev->ret;
		if (upper && upper->n_lower_handles < 8)
			upper->lower_handles[upper->n_lower_handles++] = (uint64_t)ev->ret;
	}
}

/* Rules for a layer under test, checked when its own call returns to the harness. */
static void check_layer_return(struct wsph_rules *r, const struct frame *f,
			       const struct wsph_event *ev)
{
	char call[1024];
	if (f->lower_hole_accepted && !is_failure(ev))
		finding(r, "LSP.NextProc.Validated", ev,
			"the next provider's WSPStartup returned a procedure table with a NULL "
			"entry (the harness cleared it), yet %s succeeded; a layer must fail with "
			"WSAEINVALIDPROCTABLE",
			wsph_event_call_text(ev, call, sizeof call));
	if (!r->cfg.layered || !r->cfg.n_lower)
		return;
	if (ev->fn == WSPH_FN_WSPSTARTUP && ev->ret == 0 && r->cfg.kind == WSPH_KIND_IFS &&
	    r->cfg.lower[0].kind != WSPH_KIND_IFS)
		finding(r, "LSP.IFS.OverIFSOnly", ev,
			"an IFS layer started over %s, a provider without XP1_IFS_HANDLES; an IFS "
			"LSP must be installed over IFS providers only and refuse to start here",
			r->cfg.lower[0].module);
	if (!returns_handle(ev->fn) || ev->ret == -1)
		return;
	uint64_t h = (uint64_t)ev->ret;
	if (r->cfg.kind == WSPH_KIND_NONIFS && is_lower_handle(r, h))
		finding(r, "LSP.NonIFS.NoLowerHandleLeak", ev,
			"%s returned 0x%" PRIx64 " to the client, a handle of the provider below "
			"(%s); a non-IFS layer must return only handles from WPUCreateSocketHandle",
			wsph_fn_name(ev->fn), h, r->cfg.lower[0].module);
	if (r->cfg.kind == WSPH_KIND_IFS && f->n_lower_handles) {
		int ok = 0;
		for (size_t i = 0; i < f->n_up; i++) {
			const struct wsph_event *u = &f->up[i];
			if (u->fn != WSPH_FN_WPUMODIFYIFSHANDLE || u->ret == -1 || (uint64_t)u->ret != h)
				continue;
			for (size_t k = 0; k < f->n_lower_handles; k++)
				ok |= u->a[1] == f->lower_handles[k];
		}
		if (!ok)
			finding(r, "LSP.IFS.OverIFSOnly", ev,
				"%s returned 0x%" PRIx64 ", which is not the lower provider's handle "
				"passed through WPUModifyIFSHandle; an IFS layer returns the lower "
				"handle after WPUModifyIFSHandle(its own id)",
				wsph_fn_name(ev->fn), h);
	}
}

/* A harness or lower CALL: its checks, and a frame for its upcalls on its thread's stack. */
static void advance_call(struct wsph_rules *r, struct tstack *ts, const struct wsph_event *ev)
{
	if (r->cfg.families_only)
		;
	else if (ev->layer == 1)
		check_lower_call(r, ev);
	else
		on_call(r, ev);
	if (!ts->frames)
		ts->frames = frames_get();
	if (ts->frames && ts->depth < MAX_DEPTH) {
		struct frame *f = &ts->frames[ts->depth];
		memset(f, 0, offsetof(struct frame, up));
		f->call = *ev;
		f->startups_before = r->startups;
		f->lower_hole_accepted = f->lower_startup_ok = 0;
		f->n_lower_handles = 0;
	}
	ts->depth++;
}

/* The call an upcall was made in: its parent when the recorder knew it (found on the upcall's
 * thread first), else the innermost call in progress on the upcall's thread; NULL for an upcall
 * of a thread with no call in progress (a provider's own thread). */
static struct frame *upcall_frame(struct wsph_rules *r, struct tstack *ts,
				  const struct wsph_event *ev)
{
	int at;
	if (!ev->parent) {
		int d = stored_depth(ts);
		return d > 0 && ts->depth <= MAX_DEPTH ? &ts->frames[d - 1] : NULL;
	}
	struct frame *f = stack_find(ts, ev->parent, &at);
	return f ? f : find_frame(r, ev->parent, NULL, &at);
}

static void advance_upcall(struct wsph_rules *r, struct tstack *ts, const struct wsph_event *ev)
{
	struct frame *f = upcall_frame(r, ts, ev);
	struct wsph_event own;
	if (f && !ev->parent) { /* the recorder did not know the thread's call: it is this one */
		own = *ev;
		own.parent = f->call.seq;
		ev = &own;
	}
	if (!r->cfg.families_only)
		check_upcall(r, ev);
	if (f)
		frame_add_upcall(f, ev);
}

/* A RETURN: the checks of its call, with the frame's upcalls, and the families' (after the
 * engine's own). Its frame is found by its call, on the returning thread's stack first: calls
 * from another thread (the harness's helper, a provider's own) may return out of order. */
static void advance_return(struct wsph_rules *r, struct tstack *ts, const struct wsph_event *ev)
{
	int at;
	struct frame *f = stack_find(ts, ev->parent, &at);
	if (!f)
		f = find_frame(r, ev->parent, &ts, &at);
	if (!f) {
		if (ts->depth > MAX_DEPTH)
			ts->depth--; /* a frame past the stored ones */
		return;
	}
	struct frame *upper = at > 0 ? &ts->frames[at - 1] : NULL;
	if (ev->layer == 0 && !ev->behalf[0] && !r->provider_module[0])
		snprintf(r->provider_module, sizeof r->provider_module, "%s", ev->module);
	if (ev->layer == 1 && !r->cfg.families_only) {
		check_lower_return(r, upper, f, ev);
	} else if (ev->layer != 1) {
		if (!r->cfg.families_only) {
			check_return(r, f, ev);
			check_layer_return(r, f, ev);
		}
		families_return(r, &f->call, ev);
	}
	frame_remove(ts->frames, at, stored_depth(ts) - 1);
	ts->depth--;
}

void wsph_rules_advance(struct wsph_rules *r)
{
	struct wsph_event ev;
	while (wsph_trace_get(r->cfg.trace, r->next, &ev) == 0) {
		struct tstack *ts = stack_of(r, ev.thread);
		if (!ts)
			return; /* out of memory: the rest is not judged */
		r->next++;
		families_event(r, &ev);
		switch (ev.kind) {
		case WSPH_EV_CALL:
			advance_call(r, ts, &ev);
			break;
		case WSPH_EV_UPCALL:
			advance_upcall(r, ts, &ev);
			break;
		case WSPH_EV_RETURN:
			advance_return(r, ts, &ev);
			break;
		}
	}
}

void wsph_rules_step_end(struct wsph_rules *r)
{
	wsph_rules_advance(r);
	families_step_end(r);
}

/* A release deferred by WSPCloseSocket is due once the operations have completed, and in any
 * case by the end of the final WSPCleanup. */
static void finish_deferred_closes(struct wsph_rules *r)
{
	for (size_t i = 0; r->cfg.kind == WSPH_KIND_NONIFS && i < r->n_ledger; i++) {
		struct ledger_entry *e = &r->ledger[i];
		if (!e->close_deferred_seq || !e->open || e->modified || e->charged ||
		    (!r->after_final && pending_ops(r, e->value)))
			continue;
		char msg[512];
		snprintf(msg, sizeof msg,
			 "WSPCloseSocket(s=0x%" PRIx64 ") returned 0 (event #%" PRIu64 ") with "
			 "overlapped operations pending, and the handle was never released with "
			 "WPUCloseSocketHandle, even after they completed",
			 e->value, e->close_deferred_seq);
		add_finding(r, "WPU.CloseSocketHandle.OnClose", 0, e->close_deferred_seq, msg);
		e->charged = 1;
	}
}

/* Threads and events the provider opened are balanced by the end too. */
static void finish_owned(struct wsph_rules *r)
{
	for (int kind = 0; kind < 2; kind++) {
		const struct owned *v = kind ? r->events : r->threads;
		size_t n = kind ? r->n_events : r->n_threads, open = 0;
		const struct owned *first = NULL;
		for (size_t i = 0; i < n; i++)
			if (v[i].open && !open++)
				first = &v[i];
		if (!open)
			continue;
		char msg[512];
		snprintf(msg, sizeof msg,
			 "after balanced WSPStartup/WSPCleanup, %zu %s never %s (first: 0x%" PRIx64
			 ", event #%" PRIu64 ")",
			 open,
			 kind ? "event(s) from WPUCreateEvent were" : "thread id(s) from "
								    "WPUOpenCurrentThread were",
			 kind ? "closed with WPUCloseEvent" : "released with WPUCloseThread",
			 first->h, first->seq);
		add_finding(r, "WPU.Handles.NoLeak", 0, first->seq, msg);
	}
}

/* A non-IFS provider's handles from WPUCreateSocketHandle that no finding names yet. */
static void finish_handles(struct wsph_rules *r)
{
	size_t open = 0;
	const struct ledger_entry *first = NULL;
	for (size_t i = 0; i < r->n_ledger; i++)
		if (!r->ledger[i].modified && r->ledger[i].open && !r->ledger[i].charged) {
			if (!first)
				first = &r->ledger[i];
			open++;
		}
	if (!open)
		return;
	char msg[512];
	snprintf(msg, sizeof msg,
		 "after balanced WSPStartup/WSPCleanup, %zu handle(s) from "
		 "WPUCreateSocketHandle were never released with WPUCloseSocketHandle (first: "
		 "0x%" PRIx64 ", created at event #%" PRIu64 ")",
		 open, first->value, first->created_seq);
	add_finding(r, "WPU.Handles.NoLeak", 0, first->created_seq, msg);
}

void wsph_rules_finish(struct wsph_rules *r)
{
	wsph_rules_advance(r);
	if (!r->cfg.families_only)
		finish_deferred_closes(r);
	families_finish(r);
	if (r->cfg.families_only || !r->ever_started || r->startups != 0)
		return;
	finish_owned(r);
	if (r->cfg.kind == WSPH_KIND_NONIFS)
		finish_handles(r);
}

size_t wsph_rules_judge_unfinished(const struct wsph_rules_config *cfg, struct wsph_case *c)
{
	struct wsph_rules_config k = *cfg;
	k.trace = c->events;
	k.families = wsph_rule_families_unfinished;
	k.families_only = 1;
	k.on_finding = NULL;
	struct wsph_rules *r = k.trace ? wsph_rules_new(&k) : NULL;
	if (!r)
		return 0;
	wsph_rules_finish(r);
	size_t n = 0, added = 0;
	struct wsph_finding *f = wsph_rules_take(r, &n);
	struct wsph_finding *all = n ? realloc(c->findings, (c->n_findings + n) * sizeof *all) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (all) {
			all[c->n_findings++] = f[i];
			added++;
			continue;
		}
		free(f[i].message);
		free(f[i].excerpt);
	}
	if (all)
		c->findings = all;
	free(f);
	wsph_rules_free(r);
	return added;
}
