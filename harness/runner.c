/* The runner: every selected scenario in every requested provider kind, into one results model. */
#include "runner.h"

#include "caseio.h"
#include "catalog.h"
#include "driver.h"
#include "shard.h"
#include "sha256.h"
#include "platform/platform.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wsph_kind_name(unsigned kind)
{
	return kind == WSPH_KIND_IFS ? "ifs" : "nonifs";
}

void wsph_case_id(const struct wsph_scenario *sc, const char *kind, char *buf, size_t len)
{
	const char *cls = sc->classname ? sc->classname : "";
	if (!strncmp(cls, "wspharness.", 11))
		cls += 11;
	snprintf(buf, len, "%s/%s[%s]", cls, sc->name, kind);
}

static int glob(const char *p, const char *pe, const char *s)
{
	while (p < pe) {
		if (*p == '*') {
			for (const char *t = s;; t++) {
				if (glob(p + 1, pe, t))
					return 1;
				if (!*t)
					return 0;
			}
		}
		if (!*s || (*p != '?' && *p != *s))
			return 0;
		p++;
		s++;
	}
	return *s == '\0';
}

int wsph_filter_match(const char *filter, const char *id)
{
	if (!filter || !*filter)
		return 1;
	const char *p = filter;
	for (;;) {
		const char *end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		if (end > p && glob(p, end, id))
			return 1;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static void drive_case(const struct wsph_run_config *cfg, const struct wsph_scenario *sc,
		       unsigned kind, struct wsph_case *c)
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
		wsph_drive(&o, sc, c);
	} else {
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("internal");
		c->error_message = wsph_strdup("cannot build the catalog");
	}
	if (!cfg->manifest)
		wsph_catalog_free(&built);
}

/* ---- the child side ---- */

static void stream_event(void *ctx, const struct wsph_event *ev)
{
	wsph_caseio_event((FILE *)ctx, ev);
}

static void crashed(long code)
{
	wsph_caseio_crash(stdout, code);
}

struct child_job {
	const struct wsph_run_config *cfg;
	const struct wsph_scenario *sc;
	unsigned kind;
};

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
	for (size_t i = 0; i < c->n_events; i++) {
		const struct wsph_event *ev = &c->events[i];
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

static int run_in_child(void *vctx)
{
	struct child_job *j = vctx;
	wsph_plat_child_init(crashed);
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	wsph_trace_set_default_sink(stream_event, stdout);
	drive_case(j->cfg, j->sc, j->kind, &c);
	wsph_trace_set_default_sink(NULL, NULL);
	wsph_caseio_case(stdout, &c);
	fflush(stdout);
	/* what the case owns is freed by the process ending */
	return 0;
}

/* ---- the parent side ---- */

static void isolated_case(const struct wsph_run_config *cfg, const struct wsph_scenario *sc,
			  unsigned kind, long index, long sweep, struct wsph_case *c)
{
	struct child_job job = {cfg, sc, kind};
	char idx[48];
	if (sweep >= 0)
		snprintf(idx, sizeof idx, "%ld/%ld", index, sweep);
	else
		snprintf(idx, sizeof idx, "%ld", index);
	/* Windows: wspharness --child-case N[/SWEEP] <the original arguments> */
	int argc = cfg->argc + 2;
	char **argv = calloc((size_t)argc + 1, sizeof *argv);
	if (!argv) {
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("internal");
		c->error_message = wsph_strdup("out of memory");
		return;
	}
	argv[0] = cfg->argc ? cfg->argv[0] : "wspharness";
	argv[1] = "--child-case";
	argv[2] = idx;
	for (int i = 1; i < cfg->argc; i++)
		argv[i + 2] = cfg->argv[i];
	struct wsph_child_spec spec = {run_in_child, &job, argc, argv, cfg->timeout_ms,
				       cfg->interrupted};
	struct wsph_child_result res;
	uint64_t t0 = wsph_plat_now_ns();
	wsph_plat_run_child(&spec, &res);
	wsph_caseio_parse(&res, cfg->set, sc, cfg->timeout_ms, cfg->trace_cap, c);
	c->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	free(res.output);
	free(argv);
}

/* Appends one case per failable upcall call the passing case made. */
static void sweep_case(const struct wsph_run_config *cfg, const struct wsph_scenario *sc,
		       unsigned kind, long index, struct wsph_results *out, size_t *total)
{
	size_t bi = out->n_cases - 1;
	struct wsph_fault f;
	long n = 0;
	while (sweep_target(&out->cases[bi], n, &f) == 0)
		n++;
	if (!n)
		return;
	struct wsph_case *more = realloc(out->cases, (*total + (size_t)n) * sizeof *more);
	if (!more)
		return;
	out->cases = more;
	memset(more + *total, 0, (size_t)n * sizeof *more);
	*total += (size_t)n;
	for (long k = 0; k < n; k++) {
		sweep_target(&out->cases[bi], k, &f);
		struct wsph_scenario *swept = with_fault(sc, &f);
		if (!swept)
			break;
		struct wsph_case *c = &out->cases[out->n_cases++];
		memset(c, 0, sizeof *c);
		c->classname = sc->classname;
		c->file = sc->file;
		c->line = sc->loc.line;
		c->name = wsph_format("%s[%s][fail %s #%u]", sc->name, wsph_kind_name(kind),
				      wsph_fn_name((enum wsph_fn)f.upcall), f.call);
		if (cfg->isolate) {
			/* a failure injected early can leave a later blocking step waiting for a
			 * peer that never came: a short limit, and such a timeout is inconclusive */
			struct wsph_run_config quick = *cfg;
			quick.timeout_ms = cfg->timeout_ms < 2000 ? cfg->timeout_ms : 2000;
			isolated_case(&quick, swept, kind, index, k, c);
		} else {
			drive_case(cfg, swept, kind, c);
		}
		if (c->outcome == WSPH_ERROR && c->error_type && !strcmp(c->error_type, "timeout")) {
			c->outcome = WSPH_SKIP;
			c->skip_reason = wsph_format("inconclusive: with %s #%u failing, a later step "
						     "blocked until the time limit (%s)",
						     wsph_fn_name((enum wsph_fn)f.upcall), f.call,
						     c->error_message ? c->error_message : "");
		}
		sweep_verdict(c);
		free(swept->faults);
		free(swept);
		if (cfg->progress)
			cfg->progress(cfg->progress_ctx, out->n_cases, *total, c);
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

int wsph_run(const struct wsph_run_config *cfg, struct wsph_results *out)
{
	static const unsigned order[2] = {WSPH_KIND_NONIFS, WSPH_KIND_IFS};
	char id[512];
	memset(out, 0, sizeof *out);
	out->provider = cfg->provider;
	out->harness_version = WSPH_VERSION;
	out->kind = cfg->kinds == WSPH_KIND_ALL ? "nonifs,ifs" : wsph_kind_name(cfg->kinds);
	wsph_plat_hostname(out->hostname, sizeof out->hostname);
	out->timestamp = wsph_plat_utc_seconds();
	out->set = cfg->set;
	if (cfg->child_case < 0 && wsph_sha256_file(cfg->provider, out->provider_sha256) != 0)
		out->provider_sha256[0] = '\0';
	uint64_t t0 = wsph_plat_now_ns();

	size_t total = 0, selected = 0;
	for (size_t i = 0; i < cfg->suite->n_scenarios; i++)
		for (int k = 0; k < 2; k++)
			if (cfg->kinds & order[k]) {
				wsph_case_id(&cfg->suite->scenarios[i], wsph_kind_name(order[k]), id,
					     sizeof id);
				if (wsph_filter_match(cfg->filter, id) &&
				    checks_rule(&cfg->suite->scenarios[i], cfg->rule) &&
				    wsph_shard_selects(cfg->shard_k, cfg->shard_n, selected++))
					total++;
			}
	selected = 0;
	out->cases = calloc(total ? total : 1, sizeof *out->cases);
	if (!out->cases)
		return -1;

	long index = -1;
	for (size_t i = 0; i < cfg->suite->n_scenarios; i++) {
		const struct wsph_scenario *sc = &cfg->suite->scenarios[i];
		for (int k = 0; k < 2; k++) {
			unsigned kind = order[k];
			if (!(cfg->kinds & kind))
				continue;
			wsph_case_id(sc, wsph_kind_name(kind), id, sizeof id);
			if (!wsph_filter_match(cfg->filter, id) || !checks_rule(sc, cfg->rule) ||
			    !wsph_shard_selects(cfg->shard_k, cfg->shard_n, selected++))
				continue;
			index++;
			if (cfg->child_case >= 0) {
				/* child mode: only the one case (or one sweep of it), to stdout */
				if (index != cfg->child_case)
					continue;
				if (cfg->sweep_call < 0) {
					struct child_job job = {cfg, sc, kind};
					run_in_child(&job);
					continue;
				}
				/* the sweep target comes from a quiet in-process run of the case */
				struct wsph_case base;
				memset(&base, 0, sizeof base);
				drive_case(cfg, sc, kind, &base);
				struct wsph_fault f;
				struct wsph_scenario *swept =
					sweep_target(&base, cfg->sweep_call, &f) == 0 ? with_fault(sc, &f)
										   : NULL;
				if (swept) {
					struct child_job job = {cfg, swept, kind};
					run_in_child(&job);
				}
				continue;
			}
			struct wsph_case *c = &out->cases[out->n_cases++];
			memset(c, 0, sizeof *c);
			c->classname = sc->classname;
			c->file = sc->file;
			c->line = sc->loc.line;
			c->name = wsph_format("%s[%s]", sc->name, wsph_kind_name(kind));
			if (!(sc->kinds & kind)) {
				c->outcome = WSPH_SKIP;
				c->skip_reason = wsph_format(
					"the scenario applies to %s providers only",
					wsph_kind_name(sc->kinds & ~kind));
			} else if (sc->layered && !cfg->layered) {
				c->outcome = WSPH_SKIP;
				c->skip_reason = wsph_format("the scenario applies to layered "
							     "providers only (--layered)");
			} else if (cfg->isolate) {
				isolated_case(cfg, sc, kind, index, -1, c);
			} else {
				drive_case(cfg, sc, kind, c);
			}
			if (cfg->progress)
				cfg->progress(cfg->progress_ctx, out->n_cases, total, c);
			if (cfg->fault_sweep && c->outcome == WSPH_PASS)
				sweep_case(cfg, sc, kind, index, out, &total);
			if (cfg->interrupted && *cfg->interrupted)
				goto done;
		}
	}
done:
	out->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	return 0;
}
