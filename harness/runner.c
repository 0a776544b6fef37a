/* The runner: every selected scenario in every requested provider kind, into one results model. */
#include "runner.h"

#include "caseio.h"
#include "catalog.h"
#include "driver.h"
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

static int run_in_child(void *vctx)
{
	struct child_job *j = vctx;
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	wsph_plat_child_init(crashed);
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
			  unsigned kind, long index, struct wsph_case *c)
{
	struct child_job job = {cfg, sc, kind};
	char idx[32];
	snprintf(idx, sizeof idx, "%ld", index);
	/* Windows: wspharness --child-case N <the original arguments> */
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
	struct wsph_child_spec spec = {run_in_child, &job, argc, argv, cfg->timeout_ms};
	struct wsph_child_result res;
	uint64_t t0 = wsph_plat_now_ns();
	wsph_plat_run_child(&spec, &res);
	wsph_caseio_parse(&res, cfg->set, sc, cfg->timeout_ms, cfg->trace_cap, c);
	c->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	free(res.output);
	free(argv);
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
	uint64_t t0 = wsph_plat_now_ns();

	size_t total = 0;
	for (size_t i = 0; i < cfg->suite->n_scenarios; i++)
		for (int k = 0; k < 2; k++)
			if (cfg->kinds & order[k]) {
				wsph_case_id(&cfg->suite->scenarios[i], wsph_kind_name(order[k]), id,
					     sizeof id);
				total += wsph_filter_match(cfg->filter, id);
			}
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
			if (!wsph_filter_match(cfg->filter, id))
				continue;
			index++;
			if (cfg->child_case >= 0) {
				/* child mode: only the one case, straight to stdout */
				if (index == cfg->child_case) {
					struct child_job job = {cfg, sc, kind};
					run_in_child(&job);
				}
				continue;
			}
			struct wsph_case *c = &out->cases[out->n_cases++];
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
				isolated_case(cfg, sc, kind, index, c);
			} else {
				drive_case(cfg, sc, kind, c);
			}
			if (cfg->progress)
				cfg->progress(cfg->progress_ctx, out->n_cases, total, c);
		}
	}
	out->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	return 0;
}
