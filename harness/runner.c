/* The runner: every selected scenario in every requested provider kind, into one results model. */
#include "runner.h"

#include "caseio.h"
#include "catalog.h"
#include "driver.h"
#include "hangexplain.h"
#include "shard.h"
#include "stall.h"
#include "sha256.h"
#include "platform/async.h"
#include "platform/platform.h"
#include "procstate.h"
#include "rules.h"
#include "upcalls.h"
#include "util.h"
#include "watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wsph_kind_name(unsigned kind)
{
	return kind == WSPH_KIND_IFS ? "ifs" : "nonifs";
}

char *wsph_case_id(const struct wsph_scenario *sc, const char *kind)
{
	const char *cls = wsph_suite_of(sc->classname);
	if (!kind)
		return wsph_format("%s/%s", cls, sc->name);
	return wsph_format("%s/%s[%s]", cls, sc->name, kind);
}

static void drive_case(const struct wsph_run_config *cfg, const struct wsph_scenario *sc,
		       unsigned kind, struct wsph_case *c, void (*on_finding)(const struct wsph_finding *))
{
	struct wsph_catalog built;
	const struct wsph_catalog *cat = cfg->manifest;
	int ok = 1;
	if (!cat) {
		ok = (cfg->layered ? wsph_catalog_layered(&built, cfg->provider, kind, cfg->lower,
							  cfg->lower_kind, cfg->guid)
				   : wsph_catalog_base(&built, cfg->provider, kind)) == 0;
		cat = &built;
	}
	if (ok) {
		struct wsph_drive_opts o;
		memset(&o, 0, sizeof o);
		o.provider = cfg->provider;
		o.kind = kind;
		o.catalog = cat;
		o.layered = cfg->layered;
		o.set = cfg->set;
		o.trace_cap = cfg->trace_cap;
		o.on_finding = on_finding;
		wsph_drive(&o, sc, c);
	} else {
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("internal");
		c->error_message = wsph_strdup("cannot build the catalog");
	}
	if (!cfg->manifest)
		wsph_catalog_free(&built);
}

/* ---- the fault sweep ---- */

/* The error a failing upcall reports, as its documentation lists it. */
static int sweep_error(enum wsph_fn fn)
{
	switch (fn) {
	case WSPH_FN_WPUCREATESOCKETHANDLE: return 10055;	  /* WSAENOBUFS */
	case WSPH_FN_WPUCREATEEVENT: return 8;			  /* WSA_NOT_ENOUGH_MEMORY */
	case WSPH_FN_WPUQUERYBLOCKINGCALLBACK: return 10022;	  /* WSAEINVAL */
	case WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT: return 10038; /* WSAENOTSOCK */
	case WSPH_FN_WPUQUEUEAPC: return 10014;		  /* WSAEFAULT */
	case WSPH_FN_WPUOPENCURRENTTHREAD: return 10093;	  /* WSANOTINITIALISED */
	case WSPH_FN_WPUGETPROVIDERPATH:
	case WSPH_FN_WSCGETPROVIDERPATH: return 10022;	  /* WSAEINVAL */
	case WSPH_FN_WPUMODIFYIFSHANDLE: return 10022;	  /* WSAEINVAL */
	default: return 0;
	}
}

/* The nth (0-based) failable upcall call of a passing case: its function and call number. */
static int sweep_target(const struct wsph_case *c, long n, struct wsph_fault *f)
{
	unsigned calls[WSPH_FN_COUNT] = {0};
	long k = 0;
	struct wsph_event evbuf;
	size_t n_events = wsph_case_n_events(c);
	for (size_t i = 0; i < n_events && wsph_case_event(c, i, &evbuf) == 0; i++) {
		const struct wsph_event *ev = &evbuf;
		if (ev->kind != WSPH_EV_UPCALL)
			continue;
		unsigned nth = ++calls[ev->fn];
		if (!sweep_error(ev->fn))
			continue;
		if (k++ == n) {
			memset(f, 0, sizeof *f);
			f->upcall = (int)ev->fn;
			f->call = nth;
			f->error = sweep_error(ev->fn);
			return 0;
		}
	}
	return -1;
}

/* The scenario with one more fault. The copy shares everything else with the original. */
static struct wsph_scenario *with_fault(const struct wsph_scenario *sc, const struct wsph_fault *f)
{
	struct wsph_scenario *copy = malloc(sizeof *copy);
	struct wsph_fault *faults = malloc((sc->n_faults + 1) * sizeof *faults);
	if (!copy || !faults) {
		free(copy);
		free(faults);
		return NULL;
	}
	*copy = *sc;
	if (sc->n_faults)
		memcpy(faults, sc->faults, sc->n_faults * sizeof *faults);
	faults[sc->n_faults] = *f;
	faults[sc->n_faults].loc = sc->loc;
	copy->faults = faults;
	copy->n_faults = sc->n_faults + 1;
	return copy;
}

/* In a swept case the steps are expected to fail; what counts is how: the rules below, crashes
 * and hangs. Other findings are dropped. */
static void sweep_verdict(struct wsph_case *c)
{
	size_t keep = 0;
	for (size_t i = 0; i < c->n_findings; i++) {
		const char *id = c->findings[i].rule->id;
		size_t n = strlen(id);
		int counts = (n > 18 && !strcmp(id + n - 18, ".FailurePropagates")) ||
			     !strcmp(id, "SPI.Errno.OnFailure") || !strcmp(id, "WPU.Handles.NoLeak") ||
			     !strcmp(id, "SPI.Cleanup.ReleasesHandles");
		if (counts)
			c->findings[keep++] = c->findings[i];
		else {
			free(c->findings[i].message);
			free(c->findings[i].excerpt);
		}
	}
	c->n_findings = keep;
	if (c->outcome == WSPH_FAIL) {
		c->outcome = WSPH_PASS;
		for (size_t i = 0; i < keep; i++)
			if (c->findings[i].rule->severity == WSPH_SEV_ERROR)
				c->outcome = WSPH_FAIL;
	}
}


static int checks_rule(const struct wsph_scenario *sc, const char *rule)
{
	if (!rule)
		return 1;
	for (size_t i = 0; i < sc->n_checks; i++)
		if (!strcmp(sc->checks[i], rule))
			return 1;
	return 0;
}

static void case_free(struct wsph_case *c)
{
	struct wsph_results r;
	memset(&r, 0, sizeof r);
	r.cases = malloc(sizeof *c);
	if (!r.cases)
		return;
	r.cases[0] = *c;
	r.n_cases = 1;
	wsph_results_free(&r);
	memset(c, 0, sizeof *c);
}

/* One selected case: a scenario in one kind. Its position in the selection is the index the parent
 * and a child agree on. */
struct sel {
	const struct wsph_scenario *sc;
	unsigned kind;
};

/* How far a selection got: cases of the run's kinds the filter matched, and of those the ones
 * that check --rule (numbered for the shard). */
struct sel_count {
	size_t matched, checking;
};

/* 1 when the case is selected, 0 when not, -1 when out of memory. */
static int selects(const struct wsph_run_config *cfg, const struct wsph_scenario *sc,
		   unsigned kind, struct sel_count *n)
{
	char *id = wsph_case_id(sc, wsph_kind_name(kind));
	if (!id)
		return -1;
	int match = wsph_filter_match(cfg->filter, id);
	free(id);
	if (!match)
		return 0;
	n->matched++;
	if (!checks_rule(sc, cfg->rule))
		return 0;
	return wsph_shard_selects(cfg->shard_k, cfg->shard_n, n->checking++);
}

/* Why a selection is empty, at the first step that left nothing. */
static void say_empty(const struct wsph_run_config *cfg, const struct sel_count *n)
{
	char *out = cfg->bad_input;
	size_t len = cfg->bad_input_len;
	const char *f = cfg->filter;
	if (!out || !len)
		return;
	if (!n->matched && f)
		snprintf(out, len, "no case matches --filter '%s'", f);
	else if (!n->matched)
		snprintf(out, len, "the scenarios have no case");
	else if (!n->checking)
		snprintf(out, len, "no case%s%s%s checks --rule '%s'", f ? " that matches --filter '" : "",
			 f ? f : "", f ? "'" : "", cfg->rule);
	else
		snprintf(out, len, "shard %u/%u has none of the %zu selected case(s)", cfg->shard_k,
			 cfg->shard_n, n->checking);
}

/* The cases of the run, in suite order. Returns 0; -1 when out of memory; 1 when none is selected
 * (cfg->bad_input says why), unless the run allows that or is a child (which runs what its
 * parent sends). */
static int select_cases(const struct wsph_run_config *cfg, struct sel **out, size_t *n_out)
{
	static const unsigned order[2] = {WSPH_KIND_NONIFS, WSPH_KIND_IFS};
	struct sel_count count = {0, 0};
	size_t n = 0;
	struct sel *v = malloc((cfg->suite->n_scenarios * 2 + 1) * sizeof *v);
	*out = v;
	*n_out = 0;
	if (!v)
		return -1;
	for (size_t i = 0; i < cfg->suite->n_scenarios; i++) {
		const struct wsph_scenario *sc = &cfg->suite->scenarios[i];
		for (int k = 0; k < 2; k++) {
			int r = cfg->kinds & order[k] ? selects(cfg, sc, order[k], &count) : 0;
			if (r < 0)
				return -1;
			if (r) {
				v[n].sc = sc;
				v[n].kind = order[k];
				n++;
			}
		}
	}
	*n_out = n;
	if (n || cfg->allow_empty || cfg->child_case >= 0)
		return 0;
	say_empty(cfg, &count);
	return 1;
}

/* ---- the child side ---- */

/* Events go into the channel's buffer as the trace stores them (binary records, under the
 * channel's lock, which the case's trace takes for its own: see serve_case); a helper thread
 * flushes it every few milliseconds (a write per event costs a round trip to the Wine server), the
 * case's end flushes it, and so do the crash handlers: a hang still shows the events up to it, a
 * crash too. */
static int flusher_stop; /* atomic */
static uint64_t flusher_up;
static int quick_exit_child; /* end the child unchecked (see serve) */

static int flusher(void *ctx)
{
	wsph_plat_idle_exempt(1);
	wsph_atomic_store_u64(&flusher_up, 1);
	while (!wsph_atomic_load_int(&flusher_stop)) {
		if (ctx)
			wsph_plat_event_wait(ctx, 10); /* set when the child ends */
		else
			wsph_plat_sleep_ms(10);
		wsph_caseio_flush();
	}
	return 0;
}

static int channel_write(const void *buf, size_t len)
{
	return wsph_plat_channel_write(buf, len);
}

/* The stall monitor (stall.h) found the driver inside a WSP call that nothing can end: the case
 * ends as a timeout (or a deadlock) now rather than at its limit, and so does this child (the call
 * never returns). */
static void stalled_case(const char *type, const char *message)
{
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	c.outcome = WSPH_ERROR;
	c.error_type = (char *)type;
	c.error_message = (char *)message;
	wsph_caseio_tainted("a WSP call of the case never returned");
	wsph_caseio_exit_unjudged();
	wsph_caseio_case(&c);
	wsph_plat_exit_now(0);
}

static const struct wsph_child_hooks crash_hooks = {wsph_caseio_flush, wsph_caseio_crash_frame};

struct child_ctx {
	const struct wsph_run_config *cfg;
	const struct sel *sels;
	size_t n_sels;
};

/* After a case: does the process still hold something of it that another case would see? The
 * provider (or a lower one) still loaded keeps its static state; a thread the provider started
 * still runs its code. Then the parent replaces the child. */
static const char *leftover(const struct wsph_run_config *cfg, int threads_before)
{
	if (wsph_plat_module_loaded(cfg->provider))
		return "the provider module is still loaded after the scenario";
	if (cfg->lower && wsph_plat_module_loaded(cfg->lower))
		return "the lower provider module is still loaded after the scenario";
	if (cfg->manifest)
		for (size_t i = 0; i < cfg->manifest->n_providers; i++) {
			char *x = wsph_catalog_expand(cfg->manifest, cfg->manifest->providers[i].path);
			int loaded = x && wsph_plat_module_loaded(x);
			free(x);
			if (loaded)
				return "a provider of the catalog is still loaded after the scenario";
		}
	int threads = threads_before > 0 ? wsph_plat_thread_count() : -1;
	if (threads_before > 0 && threads > threads_before)
		return "a thread started during the scenario is still running";
	return NULL;
}

/* Charges the case with what it did to the child process: an <error> of this type (a case already
 * in error keeps its own, and says this too). */
static void charge(struct wsph_case *c, const char *type, char *msg)
{
	if (!msg)
		return;
	if (c->outcome == WSPH_ERROR) {
		char *both = wsph_format("%s; also %s", c->error_message ? c->error_message : "", msg);
		if (both) {
			free(c->error_message);
			c->error_message = both;
		}
		free(msg);
		return;
	}
	c->outcome = WSPH_ERROR;
	free(c->error_type);
	free(c->error_message);
	c->error_type = wsph_strdup(type);
	c->error_message = msg;
}

/* Processes the case left running (ended now) and process-wide state it changed: charged to the
 * case, and the child is replaced. Returns the reason, or NULL. */
static const char *process_leftovers(struct wsph_case *c, const struct wsph_procstate *before)
{
	const char *why = NULL;
	char what[160], diff[1024];
	int strays = wsph_plat_child_end_strays(what, sizeof what);
	if (strays > 0) {
		charge(c, "stray-process",
		       wsph_format("the scenario left %d process(es) running after it, the first %s "
				   "(a process the provider started must end with its WSPCleanup); "
				   "the harness ended them",
				   strays, what));
		why = "a process started during the scenario was still running";
	}
	struct wsph_procstate after;
	if (wsph_procstate_take(&after) == 0) {
		if (wsph_procstate_diff(before, &after, diff, sizeof diff)) {
			charge(c, "process-state",
			       wsph_format("%s (a provider must leave the process's working directory, "
					   "file-creation mask and environment as it found them)",
					   diff));
			why = why ? why : "the scenario changed the process's working directory, "
					  "file-creation mask or environment";
		}
		wsph_procstate_free(&after);
	}
	return why;
}

/* Cases a child runs before it is replaced (WSPHARNESS_CASES_PER_CHILD, which main.c checked;
 * 0: no limit). */
static unsigned cases_per_child(const struct wsph_run_config *cfg)
{
	return cfg->cases_per_child;
}

/* After a case, is this child done? The parent decides the same from the case's stream: a case
 * that left something behind, ended in error, or was the child's last. A case that failed and
 * left nothing behind (the provider unloaded after its final WSPCleanup, no thread or process of
 * it left, the process's state as before) keeps the child. The parent sends the next command
 * before a case ends, so the child must not take it then. */
static int child_done(int tainted, enum wsph_outcome outcome, unsigned runs, unsigned per_child)
{
	return tainted || outcome == WSPH_ERROR || (per_child && runs >= per_child);
}

/* The commands from the parent, a line at a time. */
struct commands {
	char buf[4096];
	size_t len, used;
};

static int next_command(struct commands *in, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(in->buf + in->used, '\n', in->len - in->used);
		if (nl) {
			size_t n = (size_t)(nl - (in->buf + in->used));
			snprintf(line, cap, "%.*s", (int)(n < cap ? n : cap - 1), in->buf + in->used);
			in->used += n + 1;
			return 1;
		}
		memmove(in->buf, in->buf + in->used, in->len - in->used);
		in->len -= in->used;
		in->used = 0;
		if (in->len == sizeof in->buf)
			in->len = 0; /* a line longer than any command: not one */
		long n = wsph_plat_channel_read(in->buf + in->len, sizeof in->buf - in->len);
		if (n <= 0)
			return 0;
		in->len += (size_t)n;
	}
}

/* "P": can every module of the run be loaded, and does it export WSPStartup? The parent asks in
 * a child of its own, so that what a module does when it is loaded (constructors, DllMain) never
 * happens in the parent. The modules stay loaded and the child ends without unloading them: a
 * provider is unloaded only after its final WSPCleanup, and a probe that unloaded one without
 * it (a C++ provider's worker thread still running) would charge the provider with a sequence no
 * real program makes. */
static void probe_modules(const struct wsph_run_config *cfg)
{
	quick_exit_child = 1;
	char err[1024], msg[1200];
	const char *paths[2] = {cfg->provider, cfg->lower};
	wsph_caseio_started();
	for (size_t i = 0; i < 2; i++) {
		GUID g;
		int rc = paths[i] ? wsph_drive_probe(paths[i], err, sizeof err, i ? NULL : &g) : 0;
		if (rc < 0) {
			long exc = wsph_plat_load_exception();
			snprintf(msg, sizeof msg, "%s: %s", paths[i], err);
			wsph_caseio_loaded(exc ? 1 : 2, exc, msg);
			return;
		}
		if (rc == 1) {
			char text[48];
			wsph_guid_format(&g, text, sizeof text);
			wsph_caseio_lsp_guid(text);
		}
	}
	wsph_caseio_loaded(0, 0, NULL);
}

/* "C INDEX [UPCALL CALL ERROR]": one case (with one injected fault). Returns whether the child is
 * done after it. */
static int serve_case(const struct child_ctx *x, const char *line, unsigned *runs,
		      unsigned per_child)
{
	long idx = -1;
	int upcall = -1, error = 0;
	unsigned call = 0;
	int nf = sscanf(line + 1, "%ld %d %u %d", &idx, &upcall, &call, &error);
	wsph_caseio_started();
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	if (nf < 1 || idx < 0 || (size_t)idx >= x->n_sels) {
		c.outcome = WSPH_ERROR;
		c.error_type = wsph_strdup("internal");
		c.error_message = wsph_strdup("the child was asked for a case it does not have");
		wsph_caseio_case(&c);
		case_free(&c);
		return 0;
	}
	const struct sel *s = &x->sels[idx];
	struct wsph_scenario *swept = NULL;
	if (nf == 4) {
		struct wsph_fault f;
		memset(&f, 0, sizeof f);
		f.upcall = upcall;
		f.call = call;
		f.error = error;
		swept = with_fault(s->sc, &f);
	}
	struct wsph_procstate before;
	int have_state = wsph_procstate_take(&before) == 0;
	int threads = wsph_plat_thread_count();
	wsph_trace_set_default_rec_sink(wsph_caseio_rec_sink, NULL, wsph_caseio_lock());
	wsph_stall_arm(swept ? swept : s->sc);
	drive_case(x->cfg, swept ? swept : s->sc, s->kind, &c, wsph_caseio_finding);
	wsph_stall_arm(NULL);
	wsph_trace_set_default_rec_sink(NULL, NULL, NULL);
	const char *why = leftover(x->cfg, threads);
	const char *proc = have_state ? process_leftovers(&c, &before) : NULL;
	if (have_state)
		wsph_procstate_free(&before);
	why = why ? why : proc;
	if (!why && wsph_drive_unloaded_uncleaned()) {
		/* The provider's memory is lost, by the scenario's design (no final WSPCleanup): a
		 * leak checker at exit (ASan, valgrind) would charge it to the case. This child
		 * ends without exit handlers. */
		why = "the provider was unloaded without its final WSPCleanup";
		quick_exit_child = 1;
	}
	if (!why && c.outcome == WSPH_FAIL && wsph_plat_leak_checked())
		/* memory a failing provider lost would be reported at this child's exit, against
		 * whichever case it ran last */
		why = "the case failed and a leak checker watches this process's exit";
	if (why)
		wsph_caseio_tainted(why);
	if (quick_exit_child)
		wsph_caseio_exit_unjudged();
	wsph_caseio_case(&c);
	int done = child_done(why != NULL, c.outcome, ++*runs, per_child);
	case_free(&c);
	if (swept) {
		free(swept->faults);
		free(swept);
	}
	return done;
}

/* The persistent child: "K SECRET" first (the key of its frames), then "C ..." runs a case, "P"
 * probes the modules, "Q" or the end of the channel ends the child, and so does a case after
 * which the parent replaces it (child_done). */
static int serve(void *vctx)
{
	const struct child_ctx *x = vctx;
	struct commands *in = calloc(1, sizeof *in);
	char line[256];
	unsigned runs = 0, per_child = cases_per_child(x->cfg);
	wsph_trace_after_fork();
	if (!in || !next_command(in, line, sizeof line) || line[0] != 'K') {
		free(in);
		return 71;
	}
	wsph_caseio_begin(strtoull(line + 1, NULL, 16), channel_write);
	wsph_plat_child_init(&crash_hooks);
	wsph_atomic_store_int(&flusher_stop, 0);
	void *wake = wsph_plat_event_new();
	wsph_atomic_store_u64(&flusher_up, 0);
	struct wsph_thread *fl = wsph_thread_start(flusher, wake);
	/* running (and counted: Windows counts a thread once it has started) before a case counts
	 * the process's threads, or the first case would see one thread more after it than before */
	for (int i = 0; fl && !wsph_atomic_load_u64(&flusher_up) && i < 5000; i++)
		wsph_plat_sleep_ms(1);
	wsph_stall_start(stalled_case, wsph_caseio_events, wsph_caseio_lock());
	while (next_command(in, line, sizeof line)) {
		if (line[0] == 'Q')
			break;
		if (line[0] == 'P')
			probe_modules(x->cfg);
		if (line[0] == 'C' && serve_case(x, line, &runs, per_child))
			break;
	}
	free(in);
	wsph_stall_stop();
	wsph_atomic_store_int(&flusher_stop, 1);
	if (wake)
		wsph_plat_event_set(wake);
	wsph_thread_join(fl);
	if (wake)
		wsph_plat_event_free(wake);
	wsph_caseio_flush();
	fflush(stdout);
	fflush(stderr);
	if (quick_exit_child)
		wsph_plat_child_exit_unchecked();
	return 0;
}

/* ---- the parent side ---- */

enum { E_QUEUED, E_RUNNING, E_STREAMED, E_FINAL };

struct entry {
	struct wsph_case c;
	size_t sel;
	long base;	     /* a sweep: the entry it sweeps; -1 for a case of the selection */
	struct wsph_fault fault; /* a sweep: the failing call */
	size_t sweep_first, n_sweeps; /* a case: its sweeps, entries [first, first + n) */
	unsigned timeout_ms;
	int state;
	uint64_t t0;
	enum wsph_outcome raw; /* the outcome the child wrote (before a sweep's settle) */
};

enum { P_NONE, P_IDLE, P_RUNNING, P_QUIT };

#define SLOT_WAITS 64

struct slot {
	struct wsph_child *ch;
	int phase;
	long cur, pending; /* the case running; the case streamed and not yet confirmed */
	long next;	   /* the case whose command was sent while cur ran (-1 none) */
	int started;	   /* the child has taken the command (its "S" frame) */
	int asked;	   /* we asked it to exit */
	char *buf; /* what the child wrote on its channel and nobody read yet */
	size_t len, cap;
	size_t scanned; /* buf[0..scanned) has no newline */
	int skipping;	/* a line longer than any frame is being dropped, up to its newline */
	struct wsph_caseio_chan chan;
	struct wsph_caseio_kept after; /* the provider's output outside a case, for the report */
	struct wsph_caseio_reader *rd; /* the running case's stream, parsed as it comes */
	uint64_t deadline;
	/* the child's threads at the case's deadline, while the case is made its verdict then */
	const struct wsph_thread_wait *waits;
	int n_waits; /* how many (-1: not known) */
	unsigned runs;
	int exit_unjudged; /* the child said its exit status will not be about its cases */
};

struct sched {
	const struct wsph_run_config *cfg;
	struct sel *sels;
	size_t n_sels;
	struct entry *e;
	size_t n_e, cap_e;
	long *q; /* entries to run: sweeps first (a stack), then the selection in order */
	size_t nq, capq, next_sel;
	size_t print_base, printed, total;
	unsigned per_child; /* cases a child runs before it is replaced (0: no limit) */
	unsigned quit_ms;
	int oom;
	int log; /* WSPHARNESS_CHILD_LOG: say on stderr why each child is replaced */
};

static unsigned case_timeout(const struct wsph_run_config *cfg, const struct wsph_scenario *sc)
{
	if (sc->timeout > 0) {
		double ms = sc->timeout * 1000.0 * (cfg->timeout_scale > 0 ? cfg->timeout_scale : 1.0);
		return ms > 4e9 ? 4000000000u : (unsigned)ms;
	}
	return cfg->timeout_ms;
}

static long add_entry(struct sched *s)
{
	if (s->n_e == s->cap_e) {
		size_t nc = s->cap_e ? s->cap_e * 2 : 64;
		struct entry *p = realloc(s->e, nc * sizeof *p);
		if (!p) {
			s->oom = 1;
			return -1;
		}
		s->e = p;
		s->cap_e = nc;
	}
	memset(&s->e[s->n_e], 0, sizeof s->e[0]);
	s->e[s->n_e].base = -1;
	return (long)s->n_e++;
}

static void push(struct sched *s, long i)
{
	if (s->nq == s->capq) {
		size_t nc = s->capq ? s->capq * 2 : 64;
		long *p = realloc(s->q, nc * sizeof *p);
		if (!p) {
			s->oom = 1;
			return;
		}
		s->q = p;
		s->capq = nc;
	}
	s->q[s->nq++] = i;
}

static const struct wsph_scenario *entry_sc(const struct sched *s, const struct entry *e,
					    struct wsph_scenario **swept)
{
	const struct wsph_scenario *sc = s->sels[e->sel].sc;
	*swept = e->base >= 0 ? with_fault(sc, &e->fault) : NULL;
	return *swept ? *swept : sc;
}

/* Whether a case ended as a hang: a timeout or a deadlock. */
static int hung(const struct wsph_case *c)
{
	return c->outcome == WSPH_ERROR && c->error_type &&
	       (!strcmp(c->error_type, "timeout") || !strcmp(c->error_type, WSPH_DEADLOCK_TYPE));
}

/* A case that passed its time limit: its message explained (hangexplain.h) from its trace as far
 * as it came, at the limit (now_ns on the trace's clock), with the platform's view of the threads
 * when they are this process's (in-process; NULL waits: none), which may make it a deadlock. */
static void explain_hang(struct wsph_case *c, struct wsph_trace *t, uint64_t now_ns,
			 const struct wsph_scenario *sc, const struct wsph_thread_wait *waits,
			 size_t n_waits)
{
	int deadlock = 0;
	char *why = wsph_hang_explain(t, waits, n_waits, now_ns, sc, &deadlock);
	const char *was = c->error_message ? c->error_message : "";
	size_t n = strlen(was);
	char *msg = why ? wsph_format("%s%s%s%s", deadlock ? "every thread of the process is blocked "
							   "with no time limit; " : "",
				      was, n && was[n - 1] != '.' ? "." : "", why)
			: NULL;
	free(why);
	if (!msg)
		return;
	free(c->error_message);
	c->error_message = msg;
	if (deadlock) {
		free(c->error_type);
		c->error_type = wsph_strdup(WSPH_DEADLOCK_TYPE);
	}
}

/* What a finished run of a case becomes: a sweep's timeout is inconclusive, and in a sweep only
 * some rules count. */
static void settle(struct sched *s, struct entry *e)
{
	struct wsph_case *c = &e->c;
	if (e->base < 0)
		return;
	if (hung(c)) {
		const char *m = c->error_message ? c->error_message : "";
		size_t k = strlen(WSPH_STALL_TEXT);
		int early = !strncmp(m, WSPH_STALL_TEXT, k) || !strcmp(c->error_type, WSPH_DEADLOCK_TYPE);
		c->outcome = WSPH_SKIP;
		if (early) /* ended before the limit (stall.h) */
			c->skip_reason = wsph_format("inconclusive: with %s #%u failing, %s",
						     wsph_fn_name((enum wsph_fn)e->fault.upcall),
						     e->fault.call, m);
		else
			c->skip_reason = wsph_format("inconclusive: with %s #%u failing, a later "
						     "step blocked until the time limit (%s)",
						     wsph_fn_name((enum wsph_fn)e->fault.upcall),
						     e->fault.call, m);
	}
	sweep_verdict(c);
	(void)s;
}

/* Takes the next entry to run: -1 when there is none now. The selection's cases are made on the
 * way (skips are final at once). */
static long next_entry(struct sched *s)
{
	if (s->nq)
		return s->q[--s->nq];
	while (s->next_sel < s->n_sels) {
		size_t k = s->next_sel++;
		/* entries of the selection are entries 0..n_sels-1, made up front */
		struct entry *e = &s->e[k];
		const struct wsph_scenario *sc = s->sels[k].sc;
		unsigned kind = s->sels[k].kind;
		if (!(sc->kinds & kind)) {
			e->c.outcome = WSPH_SKIP;
			e->c.skip_reason = wsph_format("the scenario applies to %s providers only",
						       wsph_kind_name(sc->kinds & ~kind));
			e->state = E_FINAL;
			continue;
		}
		if (sc->layered && !s->cfg->layered) {
			e->c.outcome = WSPH_SKIP;
			e->c.skip_reason = wsph_format("the scenario applies to layered "
						       "providers only (--layered)");
			e->state = E_FINAL;
			continue;
		}
		return (long)k;
	}
	return -1;
}

/* A case is final: its sweeps (when it passed) join the queue. */
static void finalize(struct sched *s, long i)
{
	struct entry *e = &s->e[i];
	e->state = E_FINAL;
	if (!s->cfg->fault_sweep || e->base >= 0 || e->c.outcome != WSPH_PASS)
		return;
	struct wsph_fault f;
	long n = 0;
	while (sweep_target(&e->c, n, &f) == 0)
		n++;
	if (!n)
		return;
	size_t first = s->n_e;
	for (long k = 0; k < n; k++) {
		long j = add_entry(s);
		if (j < 0)
			return;
		e = &s->e[i]; /* add_entry may move the entries */
		struct entry *w = &s->e[j];
		sweep_target(&e->c, k, &w->fault);
		w->fault.loc = s->sels[e->sel].sc->loc;
		w->sel = e->sel;
		w->base = i;
		/* a failure injected early can leave a later blocking step waiting for a peer that
		 * never came: a short limit, and such a timeout is inconclusive */
		w->timeout_ms = e->timeout_ms < 2000 ? e->timeout_ms : 2000;
		const struct wsph_scenario *sc = s->sels[e->sel].sc;
		w->c.classname = sc->classname;
		w->c.file = sc->file;
		w->c.line = sc->loc.line;
		w->c.name = wsph_format("%s[%s][fail %s #%u]", sc->name,
					wsph_kind_name(s->sels[e->sel].kind),
					wsph_fn_name((enum wsph_fn)w->fault.upcall), w->fault.call);
	}
	e = &s->e[i];
	e->sweep_first = first;
	e->n_sweeps = (size_t)n;
	s->total += (size_t)n;
	/* run in order: the stack pops the last pushed first */
	for (long k = n - 1; k >= 0; k--)
		push(s, (long)first + k);
}

/* The case whose progress is due next (the console's periodic line names it). */
static void report_next(struct sched *s)
{
	if (s->cfg->progress_next)
		s->cfg->progress_next(s->cfg->progress_ctx, s->printed, s->total,
				      s->print_base < s->n_sels && !s->oom ? &s->e[s->print_base].c
									  : NULL);
}

/* Progress, in suite order: a case and its sweeps once all of them are final. */
static void report_progress(struct sched *s)
{
	size_t base = s->print_base;
	while (s->print_base < s->n_sels) {
		struct entry *e = &s->e[s->print_base];
		size_t f = 0;
		if (e->state != E_FINAL)
			break;
		while (f < e->n_sweeps && s->e[e->sweep_first + f].state == E_FINAL)
			f++;
		if (f < e->n_sweeps)
			break;
		if (s->cfg->progress) {
			s->cfg->progress(s->cfg->progress_ctx, ++s->printed, s->total, &e->c);
			for (size_t k = 0; k < e->n_sweeps; k++)
				s->cfg->progress(s->cfg->progress_ctx, ++s->printed, s->total,
						 &s->e[e->sweep_first + k].c);
		}
		s->print_base++;
	}
	if (s->print_base != base)
		report_next(s);
}

/* ---- in process (--no-isolation): the cases on a thread of their own, under a watchdog ---- */

struct inproc {
	struct sched *s;
	long running; /* the entry inside the driver (-1: none); written under the watchdog's lock */
};

/* Runs entry i. Once the watchdog abandoned the run, wsph_watchdog_end never returns: nothing
 * after it touches the scheduler, which the waiting thread then owns. */
static void run_in_process(struct sched *s, long i, struct wsph_watchdog *w, long *running)
{
	struct entry *e = &s->e[i];
	struct wsph_scenario *swept;
	const struct wsph_scenario *sc = entry_sc(s, e, &swept);
	*running = i;
	wsph_watchdog_begin(w, e->timeout_ms);
	drive_case(s->cfg, sc, s->sels[e->sel].kind, &e->c, NULL);
	wsph_watchdog_end(w);
	*running = -1;
	if (swept) {
		free(swept->faults);
		free(swept);
	}
	settle(s, e);
	finalize(s, i);
}

/* A line on the channel longer than any frame (a provider's bytes, not the child's frames) is
 * dropped as it arrives: the frames around it say by their numbers if one was lost with it. */
#define CHANNEL_LINE_MAX (4u << 20)

/* Whether the slot's buffer holds a whole line (every frame, text or binary, ends with a newline:
 * without one no frame is complete); the bytes looked at are not looked at again. */
static int has_line(struct slot *sl)
{
	if (sl->scanned < sl->len && memchr(sl->buf + sl->scanned, '\n', sl->len - sl->scanned))
		return 1;
	sl->scanned = sl->len;
	return 0;
}

static void in_process_work(void *ctx, struct wsph_watchdog *w)
{
	struct inproc *x = ctx;
	struct sched *s = x->s;
	long i;
	while (!s->oom && (i = next_entry(s)) >= 0) {
		run_in_process(s, i, w, &x->running);
		report_progress(s);
		if (s->cfg->interrupted && *s->cfg->interrupted)
			break;
	}
	report_progress(s);
}

/* At an abandoned run's end: progress for every final case not shown yet, in suite order. */
static void report_rest(struct sched *s)
{
	for (size_t b = s->print_base; b < s->n_sels && b < s->n_e && s->cfg->progress; b++) {
		for (size_t k = 0; k <= s->e[b].n_sweeps; k++) {
			struct entry *x = k ? &s->e[s->e[b].sweep_first + k - 1] : &s->e[b];
			if (x->state == E_FINAL)
				s->cfg->progress(s->cfg->progress_ctx, ++s->printed, s->total, &x->c);
		}
	}
	s->print_base = s->n_sels;
}

/* The case the abandoned worker is inside, as the report shows it: a new record (the worker
 * keeps writing its own). */
static void abandoned_case(const struct entry *e, const struct wsph_scenario *sc,
			   enum wsph_watch_end end, uint64_t ns, struct wsph_case *c)
{
	memset(c, 0, sizeof *c);
	c->classname = e->c.classname;
	c->file = e->c.file;
	c->line = e->c.line;
	c->name = wsph_strdup(e->c.name);
	c->time = (double)ns / 1e9;
	c->outcome = WSPH_ERROR;
	if (end == WSPH_WATCH_TIMEOUT) {
		struct wsph_thread_wait waits[SLOT_WAITS];
		int n = wsph_plat_idle_threads(waits, SLOT_WAITS);
		c->error_type = wsph_strdup("timeout");
		c->error_message = wsph_format("the scenario did not finish within %u ms; with "
					       "--no-isolation a case that hangs ends the run.",
					       e->timeout_ms);
		explain_hang(c, wsph_upcalls_trace(), ns, sc, n < 0 ? NULL : waits,
			     n < 0 ? 0 : n > SLOT_WAITS ? SLOT_WAITS : (size_t)n);
	} else {
		c->error_type = wsph_strdup("interrupted");
		c->error_message = wsph_strdup("the run was interrupted during this scenario");
	}
}

/* The watchdog ended the run while the worker was inside entry `running` (-1: none). The worker
 * keeps the entries it has; the scheduler goes on with a copy, that case made final in it. */
static void abandon(struct sched *s, long running, enum wsph_watch_end end, uint64_t ns)
{
	struct entry *copy = malloc((s->n_e ? s->n_e : 1) * sizeof *copy);
	if (!copy) {
		fprintf(stderr, "wspharness: out of memory\n");
		wsph_plat_exit_now(3);
	}
	if (s->n_e)
		memcpy(copy, s->e, s->n_e * sizeof *copy);
	s->e = copy;
	s->cap_e = s->n_e ? s->n_e : 1;
	s->nq = 0;
	if (running >= 0) {
		struct entry *e = &s->e[running];
		struct entry was = *e;
		abandoned_case(&was, s->sels[was.sel].sc, end, ns, &e->c);
		e->state = E_FINAL;
		if (end == WSPH_WATCH_TIMEOUT)
			fprintf(stderr, "wspharness: %s did not finish within %u ms; with "
					"--no-isolation a case that hangs ends the run (the reports "
					"hold the cases that ran)\n",
				e->c.name ? e->c.name : "a case", e->timeout_ms);
	}
	report_rest(s);
}

/* In process: the cases on a worker thread; this thread is the watchdog. Without a thread, they
 * run here, unwatched. */
static void in_process(struct sched *s)
{
	struct inproc *x = calloc(1, sizeof *x); /* the worker's: kept when it is abandoned */
	if (!x) {
		s->oom = 1;
		return;
	}
	x->s = s;
	x->running = -1;
	struct wsph_watchdog *w = wsph_watchdog_start(in_process_work, x);
	if (!w) {
		in_process_work(x, NULL);
		free(x);
		return;
	}
	uint64_t ns = 0;
	enum wsph_watch_end end = wsph_watchdog_wait(w, s->cfg->interrupted, &ns);
	if (end == WSPH_WATCH_DONE)
		free(x);
	else
		abandon(s, x->running, end, ns);
}

/* Room for n more bytes (and a NUL) in the slot's buffer. */
static int reserve(struct slot *sl, size_t n)
{
	if (sl->len + n + 1 <= sl->cap)
		return 0;
	size_t nc = (sl->len + n + 1) * 2;
	char *p = realloc(sl->buf, nc);
	if (!p)
		return -1;
	sl->buf = p;
	sl->cap = nc;
	return 0;
}

/* n bytes arrived at the end of the slot's buffer (buf + len): kept, or dropped while a line
 * longer than any frame is skipped. */
static void took(struct slot *sl, size_t n)
{
	char *in = sl->buf + sl->len;
	if (sl->skipping) {
		const char *nl = memchr(in, '\n', n);
		if (!nl)
			return;
		sl->skipping = 0;
		n -= (size_t)(nl + 1 - in);
		memmove(in, nl + 1, n);
	}
	sl->len += n;
	sl->buf[sl->len] = '\0';
	if (sl->len > CHANNEL_LINE_MAX && !has_line(sl)) {
		sl->len = sl->scanned = 0;
		sl->skipping = 1;
	}
}

static int append(struct slot *sl, const char *buf, size_t n)
{
	if (reserve(sl, n) != 0)
		return -1;
	memcpy(sl->buf + sl->len, buf, n);
	took(sl, n);
	return 0;
}

/* Reads the child's channel straight into the slot's buffer (no copy of each piece): the bytes
 * read, <= 0 when none. */
#define CHANNEL_READ (256u << 10)
static long read_channel(struct slot *sl)
{
	if (reserve(sl, CHANNEL_READ) != 0)
		return -1;
	long n = wsph_plat_child_read(sl->ch, sl->buf + sl->len, CHANNEL_READ);
	if (n > 0)
		took(sl, (size_t)n);
	return n;
}

/* Drops the first n bytes of the slot's buffer. */
static void consume(struct slot *sl, size_t n)
{
	if (!sl->buf)
		return; /* nothing came yet */
	memmove(sl->buf, sl->buf + n, sl->len - n);
	sl->len -= n;
	sl->buf[sl->len] = '\0';
	sl->scanned = sl->scanned > n ? sl->scanned - n : 0;
}

/* The running case's reader (made when the case starts). */
static struct wsph_caseio_reader *reader(struct sched *s, struct slot *sl)
{
	if (!sl->rd)
		sl->rd = wsph_caseio_reader_new(s->cfg->set, s->sels[s->e[sl->cur].sel].sc, 0,
						&sl->chan);
	return sl->rd;
}

/* Feeds the complete frames of the slot's buffer (all of it with final) to the running case's
 * reader, up to the case's end; what was read leaves the buffer. */
static void feed(struct sched *s, struct slot *sl, int final)
{
	struct wsph_caseio_reader *rd = reader(s, sl);
	if (!rd) {
		s->oom = 1;
		return;
	}
	if (sl->len && (final || has_line(sl)))
		consume(sl, wsph_caseio_reader_feed(rd, sl->buf, sl->len, final));
}

/* A case that ended hung (timeout, deadlock): the rules about calls that never returned judge the
 * trace rebuilt from its stream (the child's own judgement ended with it). */
static void judge_unfinished(struct sched *s, struct entry *e)
{
	const char *type = e->c.error_type;
	if (e->c.outcome != WSPH_ERROR || !type ||
	    (strcmp(type, "timeout") != 0 && strcmp(type, "deadlock") != 0))
		return;
	struct wsph_rules_config rc;
	memset(&rc, 0, sizeof rc);
	rc.set = s->cfg->set;
	rc.scenario = s->sels[e->sel].sc;
	rc.kind = s->sels[e->sel].kind;
	size_t before = e->c.n_findings, added = wsph_rules_judge_unfinished(&rc, &e->c);
	/* A rule explains the hang: the case fails with that defect (one defect, one finding), and
	 * its finding says how the case ended. */
	struct wsph_finding *f = added ? &e->c.findings[before] : NULL;
	if (!f || f->rule->severity != WSPH_SEV_ERROR)
		return;
	char *msg = wsph_format("%s (the case then hung: %s)", f->message ? f->message : "",
				e->c.error_message ? e->c.error_message : type);
	if (msg) {
		free(f->message);
		f->message = msg;
	}
	e->c.outcome = WSPH_FAIL;
}

/* The running case's stream read so far, made its entry's verdict with how the child ended. */
static void parse_case(struct sched *s, struct slot *sl, enum wsph_child_end end, long code)
{
	struct entry *e = &s->e[sl->cur];
	struct wsph_caseio_reader *rd = reader(s, sl);
	sl->rd = NULL;
	if (rd) {
		wsph_caseio_reader_finish(rd, end, code, e->timeout_ms, s->cfg->trace_cap, &e->c);
		int n = sl->waits ? (sl->n_waits > SLOT_WAITS ? SLOT_WAITS : sl->n_waits) : -1;
		if (end == WSPH_CHILD_TIMEOUT && hung(&e->c))
			explain_hang(&e->c, e->c.events, (uint64_t)e->timeout_ms * 1000000u,
				     s->sels[e->sel].sc, n >= 0 ? sl->waits : NULL,
				     n >= 0 ? (size_t)n : 0);
		judge_unfinished(s, e);
	} else {
		s->oom = 1;
		e->c.outcome = WSPH_ERROR;
		e->c.error_type = wsph_strdup("internal");
		e->c.error_message = wsph_strdup("out of memory");
	}
	e->c.time = (double)(wsph_plat_now_ns() - e->t0) / 1e9;
	e->raw = e->c.outcome;
	settle(s, e);
}

static void send_quit(struct sched *s, struct slot *sl)
{
	sl->asked = 1;
	sl->phase = P_QUIT;
	sl->deadline = wsph_plat_now_ns() + (uint64_t)s->quit_ms * 1000000u;
	wsph_plat_child_send(sl->ch, "Q\n");
}

/* The command sent ahead will not be taken (the child ends): the case runs in another child. */
static void requeue_next(struct sched *s, struct slot *sl)
{
	if (sl->next < 0)
		return;
	s->e[sl->next].state = E_QUEUED;
	push(s, sl->next);
	sl->next = -1;
}

/* The provider's output that has arrived: the running case's once it has started, else kept for
 * an after-case report. */
static void drain_output(struct sched *s, struct slot *sl)
{
	char buf[65536];
	long n;
	while (sl->ch && (n = wsph_plat_child_read_output(sl->ch, buf, sizeof buf)) > 0) {
		struct wsph_caseio_reader *rd = NULL;
		if (sl->phase == P_RUNNING && sl->started && !(rd = reader(s, sl)))
			s->oom = 1;
		if (rd)
			wsph_caseio_reader_output(rd, buf, (size_t)n);
		else
			wsph_caseio_keep(&sl->after, buf, (size_t)n);
	}
}

static void advance(struct sched *s, struct slot *sl);

/* The case has started: what the provider printed since the last case ended, read before the
 * case's "S" (the output and the channel are two pipes), is the case's. */
static void carry_output(struct sched *s, struct slot *sl)
{
	struct wsph_caseio_reader *rd = reader(s, sl);
	if (rd)
		wsph_caseio_reader_take_output(rd, &sl->after);
	else
		s->oom = 1;
}

/* Everything the child wrote (the process has ended, or is killed now). */
static void drain_all(struct sched *s, struct slot *sl)
{
	drain_output(s, sl);
	while (sl->ch && read_channel(sl) > 0) {
		advance(s, sl);
		drain_output(s, sl);
	}
}

/* The child has ended (or is killed now): what it means for its cases. */
static void child_gone(struct sched *s, struct slot *sl, int killed, enum wsph_child_end why)
{
	enum wsph_child_end end;
	long code;
	if (!killed)
		drain_all(s, sl);
	wsph_plat_child_end(sl->ch, killed, s->quit_ms, &end, &code);
	sl->ch = NULL;
	if (killed)
		end = why;
	requeue_next(s, sl);
	if (sl->phase == P_RUNNING && (sl->started || sl->pending < 0)) {
		/* the case itself crashed, hung, exited or was interrupted */
		if (sl->pending >= 0)
			finalize(s, sl->pending);
		sl->pending = -1;
		feed(s, sl, 1);
		parse_case(s, sl, end, code);
		finalize(s, sl->cur);
	} else {
		int clean = sl->asked && !killed &&
			    (sl->exit_unjudged || (end == WSPH_CHILD_EXITED && code == 0));
		if (sl->pending >= 0) {
			if (!clean && why != WSPH_CHILD_STOPPED)
				wsph_caseio_after_case(&s->e[sl->pending].c,
						       killed ? WSPH_CHILD_TIMEOUT : end, code,
						       s->quit_ms, &sl->after);
			finalize(s, sl->pending);
		}
		sl->pending = -1;
		if (sl->phase == P_RUNNING) {
			/* it ended before it took the command: the case runs again, in a new child */
			s->e[sl->cur].state = E_QUEUED;
			push(s, sl->cur);
		}
	}
	sl->cur = -1;
	sl->phase = P_NONE;
	sl->started = sl->asked = 0;
	sl->runs = 0;
	sl->exit_unjudged = 0;
	wsph_caseio_reader_free(sl->rd);
	sl->rd = NULL;
	consume(sl, sl->len);
	sl->skipping = 0;
	wsph_caseio_kept_reset(&sl->after);
}

/* Entry i (its command sent) is the slot's running case from now. */
static void running(struct sched *s, struct slot *sl, long i)
{
	struct entry *e = &s->e[i];
	e->t0 = wsph_plat_now_ns();
	sl->cur = i;
	sl->started = 0;
	sl->phase = P_RUNNING;
	sl->deadline = e->t0 + (uint64_t)e->timeout_ms * 1000000u;
}

/* Reads the slot's complete frames outside a case, up to and including an "S" when `until_start`
 * (returns 1 when it was read). Frames not believed there are said in the child log. */
static int skip_frames(struct sched *s, struct slot *sl, int until_start)
{
	size_t pos = 0, used;
	int started = 0, got;
	struct wsph_caseio_frame f;
	uint32_t lost;
	if (!sl->buf || !has_line(sl))
		return 0;
	while (!started && (got = wsph_caseio_next(&sl->chan, sl->buf + pos, sl->len - pos, 0, &f,
						     &lost, &used))) {
		if (got < 0 && s->log)
			fprintf(stderr, "wspharness: a frame from a child was not believed (%zu bytes)\n",
				used);
		if (got > 0 && f.kind == 'S' && until_start)
			started = 1;
		pos += used;
	}
	consume(sl, pos);
	return started;
}

/* New frames of a slot's child: the "S" of the case it took, the case's stream up to its "D". */
static void advance(struct sched *s, struct slot *sl)
{
	if (sl->phase != P_RUNNING) {
		skip_frames(s, sl, 0); /* a late thread's events after its case: not the case's */
		return;
	}
	if (!sl->started) {
		if (!skip_frames(s, sl, 1))
			return;
		sl->started = 1;
		/* the previous case is confirmed: the child took the next command after it */
		if (sl->pending >= 0)
			finalize(s, sl->pending);
		sl->pending = -1;
		carry_output(s, sl);
	}
	feed(s, sl, 0);
	if (!sl->rd || !wsph_caseio_reader_done(sl->rd))
		return;
	struct entry *e = &s->e[sl->cur];
	const char *t = wsph_caseio_reader_tainted(sl->rd);
	int tainted = t != NULL;
	if (tainted && wsph_caseio_reader_exit_unjudged(sl->rd))
		sl->exit_unjudged = 1;
	char why[160] = "";
	if (tainted)
		snprintf(why, sizeof why, "%s", t);
	drain_output(s, sl); /* what the provider printed before the case ended is in the pipe */
	parse_case(s, sl, WSPH_CHILD_EXITED, 0);
	e->state = E_STREAMED;
	sl->pending = sl->cur;
	sl->cur = -1;
	sl->started = 0;
	sl->phase = P_IDLE;
	sl->runs++;
	if (child_done(tainted, e->raw, sl->runs, s->per_child)) {
		/* the child ends itself now (serve); it never takes the command sent ahead */
		if (s->log)
			fprintf(stderr, "wspharness: child replaced after %s (%u case(s)): %s\n",
				e->c.name, sl->runs,
				tainted ? why : e->raw == WSPH_ERROR ?
				"the case ended in error" : "WSPHARNESS_CASES_PER_CHILD");
		requeue_next(s, sl);
		send_quit(s, sl);
		return;
	}
	if (sl->next >= 0) {
		/* the command sent ahead: the child has it, and may have started it already */
		long i = sl->next;
		sl->next = -1;
		running(s, sl, i);
		advance(s, sl);
	}
}

/* Sends entry i's command to the slot's child. */
static void send_case(struct sched *s, struct slot *sl, long i)
{
	struct entry *e = &s->e[i];
	char cmd[128];
	if (e->base >= 0)
		snprintf(cmd, sizeof cmd, "C %lu %d %u %d\n", (unsigned long)e->sel, e->fault.upcall,
			 e->fault.call, e->fault.error);
	else
		snprintf(cmd, sizeof cmd, "C %lu\n", (unsigned long)e->sel);
	e->state = E_RUNNING;
	/* a child that is gone shows as the end of its output */
	wsph_plat_child_send(sl->ch, cmd);
}

/* A key for a child's frames: not a secret from a provider that reads the child's memory, only
 * one no provider output can match by accident or imitation. */
static uint64_t new_secret(void)
{
	static uint64_t counter;
	uint64_t x = wsph_plat_now_ns() ^ (uint64_t)(uintptr_t)&counter ^
		     ++counter * 0x9e3779b97f4a7c15ull ^ (uint64_t)wsph_plat_thread_id() << 32;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return x;
}

/* Starts a child and gives it its key. NULL, with the reason in err, when it cannot start. */
static struct wsph_child *start_child(struct wsph_child_spec *spec, struct wsph_caseio_chan *chan,
				      char *err, size_t errlen)
{
	struct wsph_child *ch = wsph_plat_child_start(spec, err, errlen);
	if (!ch)
		return NULL;
	char cmd[40];
	memset(chan, 0, sizeof *chan); /* its module names too */
	chan->secret = new_secret();
	snprintf(cmd, sizeof cmd, "K %016llx\n", (unsigned long long)chan->secret);
	wsph_plat_child_send(ch, cmd);
	return ch;
}

static void start_case(struct sched *s, struct slot *sl, long i, struct wsph_child_spec *spec)
{
	struct entry *e = &s->e[i];
	if (!sl->ch) {
		char err[256];
		sl->ch = start_child(spec, &sl->chan, err, sizeof err);
		if (!sl->ch) {
			e->c.outcome = WSPH_ERROR;
			e->c.error_type = wsph_strdup("internal");
			e->c.error_message =
				wsph_format("the child process could not be started: %s", err);
			finalize(s, i);
			return;
		}
		sl->phase = P_IDLE;
		sl->pending = -1;
		sl->next = -1;
		sl->runs = 0;
	}
	send_case(s, sl, i);
	running(s, sl, i);
}

/* While the slot's case runs, the child gets its next command, so it goes on without waiting
 * for the parent between cases (two wake-ups a case fewer). Not when the case is the child's
 * last (WSPHARNESS_CASES_PER_CHILD). */
static void send_ahead(struct sched *s, struct slot *sl)
{
	if (!sl->ch || sl->phase != P_RUNNING || !sl->started || sl->next >= 0 ||
	    (s->per_child && sl->runs + 1 >= s->per_child))
		return;
	long i = next_entry(s);
	if (i < 0)
		return;
	send_case(s, sl, i);
	sl->next = i;
}

#define MAX_JOBS 64

/* One slot after the wait: the provider's output, the channel's frames, then whether the child
 * ended or its deadline passed. A child is over when its process ends, not when its channel
 * closes: a process the provider forked may hold the channel open, and a provider may close it. */
static void poll_slot(struct sched *s, struct slot *sl)
{
	drain_output(s, sl);
	while (sl->ch) {
		if (read_channel(sl) <= 0)
			break;
		advance(s, sl);
		drain_output(s, sl);
	}
	if (!sl->ch)
		return;
	if (wsph_plat_child_ended(sl->ch)) {
		child_gone(s, sl, 0, WSPH_CHILD_EXITED);
		return;
	}
	if ((sl->phase == P_RUNNING || sl->phase == P_QUIT) && wsph_plat_now_ns() >= sl->deadline) {
		/* what the child's threads are doing, for the case's message (hangexplain.h) */
		struct wsph_thread_wait waits[SLOT_WAITS];
		sl->n_waits = -1;
		if (sl->phase == P_RUNNING && sl->started)
			sl->n_waits = wsph_plat_idle_threads_of(wsph_plat_child_pid(sl->ch), waits,
								 SLOT_WAITS);
		sl->waits = waits;
		child_gone(s, sl, 1, WSPH_CHILD_TIMEOUT);
		sl->waits = NULL;
	}
}

/* The children the cases run in at once. */
static unsigned job_count(const struct wsph_run_config *cfg)
{
	unsigned jobs = cfg->jobs ? cfg->jobs : wsph_plat_cpu_count();
	return jobs > MAX_JOBS ? MAX_JOBS : jobs;
}

/* Children started for the first cases while the probe runs (see isolated). */
struct spares {
	struct wsph_child *ch[MAX_JOBS];
	struct wsph_caseio_chan chan[MAX_JOBS];
	unsigned n;
};

static void spares_end(struct spares *sp)
{
	for (unsigned j = 0; j < sp->n; j++) {
		enum wsph_child_end end;
		long code;
		if (sp->ch[j])
			wsph_plat_child_end(sp->ch[j], 1, 0, &end, &code);
		sp->ch[j] = NULL;
	}
	sp->n = 0;
}

static void run_isolated(struct sched *s, struct wsph_child_spec *spec, struct spares *sp)
{
	const struct wsph_run_config *cfg = s->cfg;
	unsigned jobs = job_count(cfg);
	struct slot slots[MAX_JOBS];
	struct wsph_child *chs[MAX_JOBS];
	memset(slots, 0, sizeof slots);
	for (unsigned j = 0; j < jobs; j++)
		slots[j].cur = slots[j].pending = slots[j].next = -1;
	for (unsigned j = 0; j < sp->n && j < jobs; j++) {
		/* a child started already: as start_case leaves a new one */
		slots[j].ch = sp->ch[j];
		slots[j].chan = sp->chan[j];
		slots[j].phase = P_IDLE;
		sp->ch[j] = NULL;
	}
	spares_end(sp);
	for (;;) {
		if (cfg->interrupted && *cfg->interrupted) {
			for (unsigned j = 0; j < jobs; j++)
				if (slots[j].ch)
					child_gone(s, &slots[j], 1, WSPH_CHILD_STOPPED);
			break;
		}
		int busy = 0;
		for (unsigned j = 0; j < jobs && !s->oom; j++) {
			struct slot *sl = &slots[j];
			if (sl->phase == P_NONE || sl->phase == P_IDLE) {
				long i = next_entry(s);
				if (i >= 0)
					start_case(s, sl, i, spec);
				else if (sl->phase == P_IDLE)
					send_quit(s, sl);
			}
			send_ahead(s, sl);
			busy |= sl->ch != NULL;
		}
		report_progress(s);
		if (!busy || s->oom)
			break;
		uint64_t now = wsph_plat_now_ns(), soonest = now + 100000000u;
		for (unsigned j = 0; j < jobs; j++) {
			chs[j] = slots[j].ch;
			if (slots[j].ch && (slots[j].phase == P_RUNNING || slots[j].phase == P_QUIT) &&
			    slots[j].deadline < soonest)
				soonest = slots[j].deadline;
		}
		unsigned ms = soonest > now ? (unsigned)((soonest - now) / 1000000u) + 1 : 0;
		wsph_plat_child_wait(chs, jobs, ms);
		for (unsigned j = 0; j < jobs; j++)
			poll_slot(s, &slots[j]);
	}
	for (unsigned j = 0; j < jobs; j++) {
		free(slots[j].buf);
		wsph_caseio_kept_free(&slots[j].after);
		wsph_caseio_reader_free(slots[j].rd);
	}
}

/* ---- the probe: every module loaded once, in a child, before any case ---- */

enum { PROBE_OK, PROBE_DOWN, PROBE_BAD_MODULE };

struct probe {
	int status;
	char *type, *message; /* PROBE_DOWN: every case's error; PROBE_BAD_MODULE: the message */
	struct slot sl;	      /* the channel and the provider's output (sl.after) */
	int loaded;	      /* the "L" frame's status (-1: none came) */
	long crash;	      /* an "X" frame's code */
	struct wsph_crash_info crash_info; /* what the crash handler saw (with crash_detail) */
	int crash_detail;
	GUID lsp_guid;	      /* a "G" frame: what the provider's GetLspGuid returned */
	int has_lsp_guid;
};

/* The probe child's frames: its "L" answer, a crash code. */
static void probe_frames(struct probe *pr)
{
	size_t pos = 0, used;
	struct wsph_caseio_frame f;
	uint32_t lost;
	if (!pr->sl.buf || !has_line(&pr->sl))
		return; /* no whole frame came yet */
	struct slot *sl = &pr->sl;
	for (int got; (got = wsph_caseio_next(&sl->chan, sl->buf + pos, sl->len - pos, 0, &f, &lost,
					       &used));
	     pos += used) {
		if (got > 0) {
			if (f.kind == 'L') {
				char *end;
				pr->loaded = (int)strtol(f.payload, &end, 10);
				if (pr->loaded == 1)
					pr->crash = (long)strtoul(end, NULL, 10);
				char *tab = strchr(f.payload, '\t');
				free(pr->message);
				if (tab)
					wsph_caseio_unescape(tab + 1);
				pr->message = tab ? wsph_strdup(tab + 1) : NULL;
			} else if (f.kind == 'X') {
				pr->crash_detail =
					wsph_caseio_crash_parse(f.payload, &pr->crash, &pr->crash_info);
			} else if (f.kind == 'G') {
				wsph_caseio_unescape(f.payload);
				pr->has_lsp_guid = wsph_guid_parse(f.payload, &pr->lsp_guid) == 0;
			}
		}
	}
	consume(&pr->sl, pos);
}

static void probe_read(struct probe *pr)
{
	char buf[65536];
	long n;
	while ((n = wsph_plat_child_read_output(pr->sl.ch, buf, sizeof buf)) > 0)
		wsph_caseio_keep(&pr->sl.after, buf, (size_t)n);
	while ((n = wsph_plat_child_read(pr->sl.ch, buf, sizeof buf)) > 0)
		append(&pr->sl, buf, (size_t)n);
	probe_frames(pr);
}

/* How the probe child went, made the verdict of every case when it took the child down. */
static void probe_verdict(struct probe *pr, int timed_out, enum wsph_child_end end, long code,
			  unsigned timeout_ms)
{
	char name[96];
	const char *klass = "crash";
	const char *when = pr->loaded == 0 ? "after the provider was loaded (a thread it started "
					     "when loaded, or its unloading)"
					   : "while the provider was being loaded (its constructors "
					     "or DllMain)";
	if (pr->loaded == PROBE_BAD_MODULE) {
		pr->status = PROBE_BAD_MODULE;
		return;
	}
	if (pr->loaded == 0 && !timed_out && end == WSPH_CHILD_EXITED && code == 0) {
		pr->status = PROBE_OK;
		return;
	}
	pr->status = PROBE_DOWN;
	char *loader = pr->message; /* the loader's own words, with "L 1" */
	pr->message = NULL;
	if (timed_out) {
		pr->type = wsph_strdup("load-timeout");
		pr->message = wsph_format("the child process did not finish within %u ms %s",
					  timeout_ms, when);
	} else if (pr->loaded == 1) {
		wsph_plat_signal_name(pr->crash, name, sizeof name, &klass);
		pr->type = wsph_format("load-%s", klass);
		pr->message = wsph_format("loading the provider raised %s in its DllMain (the system "
					  "loader caught it and failed the load: %s)",
					  name, loader ? loader : "");
	} else if (pr->crash || end == WSPH_CHILD_SIGNALED) {
		char detail[320];
		wsph_plat_signal_name(pr->crash ? pr->crash : code, name, sizeof name, &klass);
		wsph_caseio_crash_detail(pr->crash_detail ? &pr->crash_info : NULL, NULL, detail,
					 sizeof detail);
		pr->type = wsph_format("load-%s", klass);
		pr->message = wsph_format("the child process was ended by %s%s %s", name, detail, when);
	} else {
		pr->type = wsph_strdup("load-exit");
		pr->message = wsph_format("the child process exited with status %ld %s", code, when);
	}
	free(loader);
}

/* Loads every module of the run in a child of its own, under the case deadline: what a module does
 * when it is loaded (a constructor or DllMain that crashes, exits, hangs or prints) never happens
 * in the parent, and when it takes the child down every case says so. */
static void probe_start(struct wsph_child_spec *spec, struct probe *pr)
{
	char err[256];
	memset(pr, 0, sizeof *pr);
	pr->loaded = -1;
	pr->sl.ch = start_child(spec, &pr->sl.chan, err, sizeof err);
	if (!pr->sl.ch) {
		pr->status = PROBE_DOWN;
		pr->type = wsph_strdup("internal");
		pr->message = wsph_format("the child process could not be started: %s", err);
		return;
	}
	wsph_plat_child_send(pr->sl.ch, "P\nQ\n");
}

/* After probe_start: waits for the probe child's answer and end. */
static void probe_run(const struct wsph_run_config *cfg, struct probe *pr)
{
	if (!pr->sl.ch)
		return;
	uint64_t deadline = wsph_plat_now_ns() + (uint64_t)cfg->timeout_ms * 1000000u;
	int timed_out = 0;
	while (!wsph_plat_child_ended(pr->sl.ch)) {
		uint64_t now = wsph_plat_now_ns();
		if (now >= deadline || (cfg->interrupted && *cfg->interrupted)) {
			timed_out = 1;
			break;
		}
		unsigned ms = (unsigned)((deadline - now) / 1000000u) + 1;
		wsph_plat_child_wait(&pr->sl.ch, 1, ms < 100 ? ms : 100);
		probe_read(pr);
	}
	probe_read(pr);
	enum wsph_child_end end;
	long code;
	wsph_plat_child_end(pr->sl.ch, timed_out, 0, &end, &code);
	pr->sl.ch = NULL;
	probe_verdict(pr, timed_out, end, code, cfg->timeout_ms);
}

static void probe_free(struct probe *pr)
{
	free(pr->type);
	free(pr->message);
	free(pr->sl.buf);
	wsph_caseio_kept_free(&pr->sl.after);
}

/* Every case that would run is the probe's error, with what the provider printed. */
static void all_cases_down(struct sched *s, const struct probe *pr)
{
	long i;
	while ((i = next_entry(s)) >= 0) {
		struct wsph_case *c = &s->e[i].c;
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup(pr->type);
		c->error_message = wsph_strdup(pr->message);
		c->trace = wsph_caseio_kept_text(&pr->sl.after, "provider output");
		finalize(s, i);
	}
	report_progress(s);
}

/* A layer's catalog (built from --layered) registers it under the GUID its GetLspGuid export
 * names, unless --guid said otherwise: the run's configuration and the children's arguments get
 * it (a Windows child reads its configuration from its arguments). With a manifest, the GUID is
 * only checked: an LSP that looks for a hidden entry the manifest does not have finds nothing. */
struct guided {
	struct wsph_run_config cfg;
	GUID guid;
	char text[48];
	char **argv;
};

static const struct wsph_run_config *with_lsp_guid(const struct wsph_run_config *cfg,
						   const struct probe *pr, struct guided *g)
{
	if (!pr->has_lsp_guid || !cfg->layered || cfg->guid)
		return cfg;
	wsph_guid_format(&pr->lsp_guid, g->text, sizeof g->text);
	if (cfg->manifest) {
		const struct wsph_catalog_provider *p =
			wsph_catalog_provider_by_guid(cfg->manifest, &pr->lsp_guid);
		if (!p || !wsph_catalog_has_layered_entry(cfg->manifest, p))
			fprintf(stderr, "wspharness: warning: the provider's GetLspGuid returns %s, "
					"but no layered entry (chain: []) of the catalog has that GUID: "
					"the LSP will not find its own entries\n",
				g->text);
		return cfg;
	}
	if (!(g->argv = calloc((size_t)cfg->argc + 3, sizeof *g->argv)))
		return cfg;
	g->cfg = *cfg;
	g->guid = pr->lsp_guid;
	g->cfg.guid = &g->guid;
	for (int i = 0; i < cfg->argc; i++)
		g->argv[i] = cfg->argv[i];
	g->argv[cfg->argc] = "--guid";
	g->argv[cfg->argc + 1] = g->text;
	g->cfg.argv = g->argv;
	g->cfg.argc = cfg->argc + 2;
	return &g->cfg;
}

/* Isolated: the probe, then the cases. Returns 1 when a module cannot be used at all. */
static int isolated(struct sched *s)
{
	const struct wsph_run_config *orig = s->cfg;
	struct probe pr;
	struct guided gd;
	memset(&gd, 0, sizeof gd);
	struct child_ctx cx = {s->cfg, s->sels, s->n_sels};
	struct wsph_child_spec spec = {serve, &cx, s->cfg->argc, s->cfg->argv};
	/* The first cases' children start while the probe runs (a process start under Wine is a
	 * few hundred milliseconds); they take no command before the probe has passed, and end
	 * unused when it fails. Not when the probe's answer goes into their arguments (a layer's
	 * GUID, with_lsp_guid). */
	struct spares sp;
	char err[256];
	sp.n = 0;
	probe_start(&spec, &pr);
	if (pr.sl.ch && (!s->cfg->layered || s->cfg->guid || s->cfg->manifest))
		while (sp.n < job_count(s->cfg) && sp.n < s->n_sels &&
		       (sp.ch[sp.n] = start_child(&spec, &sp.chan[sp.n], err, sizeof err)) != NULL)
			sp.n++;
	probe_run(s->cfg, &pr);
	const struct wsph_run_config *cfg = s->cfg = cx.cfg = with_lsp_guid(s->cfg, &pr, &gd);
	spec.argc = cfg->argc;
	spec.argv = cfg->argv;
	int rc = 0;
	if (pr.status == PROBE_BAD_MODULE) {
		if (cfg->bad_input)
			snprintf(cfg->bad_input, cfg->bad_input_len, "%s",
				 pr.message ? pr.message : "the module cannot be loaded");
		rc = 1;
	} else if (pr.status == PROBE_DOWN) {
		all_cases_down(s, &pr);
	} else {
		run_isolated(s, &spec, &sp);
	}
	spares_end(&sp);
	probe_free(&pr);
	s->cfg = orig;
	free(gd.argv);
	return rc;
}

int wsph_run(const struct wsph_run_config *cfg, struct wsph_results *out)
{
	memset(out, 0, sizeof *out);
	out->provider_shown = cfg->provider ? wsph_path_for_report(
	                          cfg->provider, cfg->suite ? cfg->suite->report_root : NULL)
	                                    : NULL;
	out->provider = out->provider_shown ? out->provider_shown : cfg->provider;
	out->harness_version = WSPH_VERSION;
	out->kind = cfg->kinds == WSPH_KIND_ALL ? "nonifs,ifs" : wsph_kind_name(cfg->kinds);
	wsph_plat_hostname(out->hostname, sizeof out->hostname);
	out->timestamp = wsph_plat_utc_seconds();
	out->set = cfg->set;
	out->suite = cfg->suite; /* which scenarios check which rule (the matrix's "not reached") */
	out->layered = cfg->layered;
	if (cfg->child_case < 0 && wsph_sha256_file(cfg->provider, out->provider_sha256) != 0)
		out->provider_sha256[0] = '\0';
	uint64_t t0 = wsph_plat_now_ns();

	struct sched s;
	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	int selected = select_cases(cfg, &s.sels, &s.n_sels);
	if (selected != 0) {
		free(s.sels);
		return selected;
	}
	if (cfg->child_case >= 0) {
		/* child mode (Windows): serve the parent's commands on the channel */
		struct child_ctx cx = {cfg, s.sels, s.n_sels};
		if (wsph_plat_channel_open(cfg->channel) != 0) {
			free(s.sels);
			return -1;
		}
		serve(&cx);
		free(s.sels);
		return 0;
	}
	s.per_child = cases_per_child(cfg);
	/* a child asked to exit gets longer than a case: under load (or valgrind) ending a process
	 * takes a while */
	s.quit_ms = cfg->timeout_ms > 10000 ? cfg->timeout_ms * 3 : 30000;
	s.log = getenv("WSPHARNESS_CHILD_LOG") != NULL;
	s.total = s.n_sels;
	for (size_t k = 0; k < s.n_sels; k++) {
		long i = add_entry(&s);
		if (i < 0)
			break;
		struct entry *e = &s.e[i];
		const struct wsph_scenario *sc = s.sels[k].sc;
		e->sel = k;
		e->timeout_ms = case_timeout(cfg, sc);
		e->c.classname = sc->classname;
		e->c.file = sc->file;
		e->c.line = sc->loc.line;
		e->c.name = wsph_format("%s[%s]", sc->name, wsph_kind_name(s.sels[k].kind));
	}
	int bad = 0;
	report_next(&s);
	if (!s.oom) {
		if (cfg->isolate) {
			bad = isolated(&s);
		} else {
			in_process(&s);
		}
	}
	/* the cases that ran, in suite order, each followed by its sweeps */
	out->cases = calloc(s.n_e ? s.n_e : 1, sizeof *out->cases);
	for (size_t b = 0; b < s.n_sels && b < s.n_e; b++) {
		for (size_t k = 0; k <= s.e[b].n_sweeps; k++) {
			struct entry *x = k ? &s.e[s.e[b].sweep_first + k - 1] : &s.e[b];
			if (x->state == E_FINAL && out->cases)
				out->cases[out->n_cases++] = x->c;
			else
				case_free(&x->c);
		}
	}
	free(s.e);
	free(s.q);
	free(s.sels);
	out->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	return s.oom || !out->cases ? -1 : bad;
}
