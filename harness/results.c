/* Results model helpers: counting outcomes and warnings, grouping findings into defects, what was
 * not reached, and freeing what the cases own. */
#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wsph_results_count(const struct wsph_results *r, struct wsph_counts *out)
{
	size_t i, j;

	memset(out, 0, sizeof *out);
	if (!r)
		return;
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		out->tests++;
		out->failures += c->outcome == WSPH_FAIL;
		out->errors += c->outcome == WSPH_ERROR;
		out->deadlocks += c->outcome == WSPH_ERROR && c->error_type &&
				  !strcmp(c->error_type, WSPH_DEADLOCK);
		out->skipped += c->outcome == WSPH_SKIP;
		for (j = 0; j < c->n_findings; j++) {
			const struct wsph_rule *rule = c->findings[j].rule;
			out->warnings += rule && rule->severity == WSPH_SEV_WARNING;
		}
	}
}

/* classname and file are borrowed from the suite; everything else a case points at is its own. */
void wsph_results_free(struct wsph_results *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->n_cases; i++) {
		struct wsph_case *c = &r->cases[i];
		for (j = 0; j < c->n_findings; j++) {
			free(c->findings[j].message);
			free(c->findings[j].excerpt);
		}
		free(c->findings);
		for (j = 0; j < c->n_unreached; j++)
			free(c->unreached[j].reason);
		free(c->unreached);
		free(c->name);
		free(c->error_type);
		free(c->error_message);
		free(c->skip_reason);
		free(c->trace);
		wsph_trace_free(c->events);
	}
	free(r->cases);
	r->cases = NULL;
	r->n_cases = 0;
	if (r->provider == r->provider_shown)
		r->provider = NULL;
	free(r->provider_shown);
	r->provider_shown = NULL;
}

/* ---- grouping ---- */

static const char *finding_rule_id(const struct wsph_finding *f)
{
	return f->rule && f->rule->id ? f->rule->id : "?";
}

static int fn_or_none(int fn)
{
	return fn >= 0 && fn < WSPH_FN_COUNT ? fn : -1;
}

static int same_site(const struct wsph_group *g, const struct wsph_finding *f)
{
	return strcmp(g->rule_id, finding_rule_id(f)) == 0 && strcmp(g->module, f->module) == 0 &&
	       g->call_fn == fn_or_none(f->call_fn) && g->upcall_fn == fn_or_none(f->upcall_fn);
}

size_t wsph_groups_find(const struct wsph_groups *g, const struct wsph_finding *f)
{
	size_t i;

	for (i = 0; g && f && i < g->n; i++)
		if (same_site(&g->v[i], f))
			return i;
	return (size_t)-1;
}

void wsph_groups_free(struct wsph_groups *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++)
		free(g->v[i].cases);
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

int wsph_results_groups(const struct wsph_results *r, struct wsph_groups *out)
{
	struct wsph_groups g = {NULL, 0};
	struct wsph_group *sorted;
	size_t cap = 0, i, j, k;

	out->v = NULL;
	out->n = 0;
	for (i = 0; r && i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		for (j = 0; j < c->n_findings; j++) {
			const struct wsph_finding *f = &c->findings[j];
			struct wsph_group *grp;
			k = wsph_groups_find(&g, f);
			if (k == (size_t)-1) {
				if (g.n == cap) {
					size_t nc = cap ? cap * 2 : 16;
					struct wsph_group *p = realloc(g.v, nc * sizeof *p);
					if (!p)
						goto oom;
					g.v = p;
					cap = nc;
				}
				grp = &g.v[g.n];
				memset(grp, 0, sizeof *grp);
				g.n++;
				grp->rule = f->rule;
				grp->rule_id = finding_rule_id(f);
				grp->module = f->module;
				grp->call_fn = fn_or_none(f->call_fn);
				grp->upcall_fn = fn_or_none(f->upcall_fn);
				grp->warning = f->rule && f->rule->severity == WSPH_SEV_WARNING;
				grp->first_case = i;
				grp->first = f;
			} else {
				grp = &g.v[k];
			}
			grp->n_findings++;
			if (grp->n_cases && grp->cases[grp->n_cases - 1] == i)
				continue;
			/* cases are visited in order, so the last one tells whether i is listed */
			if ((grp->n_cases & (grp->n_cases - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
				size_t *p = realloc(
				    grp->cases, (grp->n_cases ? grp->n_cases * 2 : 1) * sizeof *p);
				if (!p)
					goto oom;
				grp->cases = p;
			}
			grp->cases[grp->n_cases++] = i;
		}
	}
	if (!g.n)
		return 0;
	/* Errors first, then warnings; each keeps the order of first appearance. */
	sorted = malloc(g.n * sizeof *sorted);
	if (!sorted)
		goto oom;
	k = 0;
	for (i = 0; i < g.n; i++)
		if (!g.v[i].warning)
			sorted[k++] = g.v[i];
	for (i = 0; i < g.n; i++)
		if (g.v[i].warning)
			sorted[k++] = g.v[i];
	free(g.v);
	out->v = sorted;
	out->n = g.n;
	return 0;
oom:
	wsph_groups_free(&g);
	return -1;
}

void wsph_site_format(const char *module, int call_fn, int upcall_fn, char *buf, size_t len)
{
	const char *call =
	    call_fn >= 0 ? (call_fn < WSPH_FN_COUNT ? wsph_fn_name(call_fn) : "?") : NULL;
	const char *up =
	    upcall_fn >= 0 ? (upcall_fn < WSPH_FN_COUNT ? wsph_fn_name(upcall_fn) : "?") : NULL;
	const char *sep = module && *module && (call || up) ? ", " : "";

	if (!len)
		return;
	if (!module)
		module = "";
	if (up && call)
		snprintf(buf, len, "%s%s%s in %s", module, sep, up, call);
	else
		snprintf(buf, len, "%s%s%s", module, sep, up ? up : call ? call : "");
}

/* ---- not reached ---- */

void wsph_unreached_format(const struct wsph_unreached *u, char *buf, size_t len)
{
	const char *reason = u->reason && *u->reason ? u->reason : NULL;
	char step[32] = "";

	if (!len)
		return;
	if (!u->rule) {
		snprintf(buf, len, "step %d not run%s%s", u->step, reason ? ": " : "",
		         reason ? reason : "");
		return;
	}
	if (u->step > 0)
		snprintf(step, sizeof step, " (step %d)", u->step);
	snprintf(buf, len, "%s not reached%s%s%s", u->rule->id ? u->rule->id : "?", step,
	         reason ? ": " : "", reason ? reason : "");
}

void wsph_results_unreached(const struct wsph_results *r, size_t *steps, size_t *rules,
                            size_t *cases)
{
	size_t i, j;

	*steps = *rules = *cases = 0;
	for (i = 0; r && i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		for (j = 0; j < c->n_unreached; j++) {
			*steps += c->unreached[j].rule == NULL;
			*rules += c->unreached[j].rule != NULL;
		}
		*cases += c->n_unreached != 0;
	}
}

static int same_rule(const struct wsph_rule *a, const struct wsph_rule *b)
{
	return a && b && (a == b || (a->id && b->id && strcmp(a->id, b->id) == 0));
}

static int lists_unreached(const struct wsph_case *c, const struct wsph_rule *rule)
{
	size_t j;

	for (j = 0; j < c->n_unreached; j++)
		if (same_rule(c->unreached[j].rule, rule))
			return 1;
	return 0;
}

/* The scenario of case c in the suite (its classname, its name up to "[kind]"), or NULL. */
static const struct wsph_scenario *scenario_of(const struct wsph_suite *s,
                                               const struct wsph_case *c)
{
	size_t i, n;

	if (!s || !c->name)
		return NULL;
	n = strcspn(c->name, "[");
	for (i = 0; i < s->n_scenarios; i++) {
		const struct wsph_scenario *sc = &s->scenarios[i];
		if (sc->name && strlen(sc->name) == n && strncmp(sc->name, c->name, n) == 0 &&
		    (sc->classname && c->classname ? strcmp(sc->classname, c->classname) == 0
		                                   : sc->classname == c->classname))
			return sc;
	}
	return NULL;
}

const struct wsph_scenario *wsph_results_scenario(const struct wsph_results *r,
                                                  const struct wsph_case *c)
{
	return r && c ? scenario_of(r->suite, c) : NULL;
}

static int scenario_checks(const struct wsph_scenario *sc, const struct wsph_rule *rule)
{
	size_t i;

	for (i = 0; sc && rule && rule->id && i < sc->n_checks; i++)
		if (sc->checks[i] && strcmp(sc->checks[i], rule->id) == 0)
			return 1;
	return 0;
}

void wsph_results_rule_reach(const struct wsph_results *r, const struct wsph_rule *rule,
                             size_t *unreached, long *checking)
{
	size_t i;

	*unreached = 0;
	*checking = r && r->suite ? 0 : -1;
	for (i = 0; r && rule && i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		if (c->outcome == WSPH_SKIP)
			continue;
		*unreached += lists_unreached(c, rule);
		if (r->suite && scenario_checks(scenario_of(r->suite, c), rule))
			(*checking)++;
	}
}

int wsph_results_rule_not_reached(const struct wsph_results *r, const struct wsph_rule *rule)
{
	size_t i, j, unreached = 0;

	if (!r || !rule || !r->suite)
		return 0;
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		for (j = 0; j < c->n_findings; j++)
			if (same_rule(c->findings[j].rule, rule))
				return 0;
		if (c->outcome == WSPH_SKIP)
			continue;
		if (lists_unreached(c, rule))
			unreached++;
		else if (scenario_checks(scenario_of(r->suite, c), rule))
			return 0; /* a case checked it and reached it */
	}
	return unreached > 0;
}

/* WSPH_KIND_* of a case, from its name's "[ifs]" or "[nonifs]"; every kind when it has neither. */
static unsigned case_kind(const struct wsph_case *c)
{
	size_t n = c->name ? strlen(c->name) : 0;

	if (n >= 5 && !strcmp(c->name + n - 5, "[ifs]"))
		return WSPH_KIND_IFS;
	if (n >= 8 && !strcmp(c->name + n - 8, "[nonifs]"))
		return WSPH_KIND_NONIFS;
	return WSPH_KIND_ALL;
}

static int suite_names(const struct wsph_suite *s, const struct wsph_rule *rule)
{
	size_t i;

	for (i = 0; i < s->n_scenarios; i++)
		if (scenario_checks(&s->scenarios[i], rule))
			return 1;
	return 0;
}

long wsph_results_rule_reached(const struct wsph_results *r, const struct wsph_rule *rule)
{
	size_t i;
	long n = 0;
	int everywhere;

	if (!r || !r->suite || !rule)
		return -1;
	if (rule->id && !strncmp(rule->id, "LSP.", 4) && !r->layered)
		return 0; /* a layer's rules say nothing of a provider that is not one */
	everywhere = !suite_names(r->suite, rule);
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		if (c->outcome != WSPH_PASS && c->outcome != WSPH_FAIL)
			continue;
		if (rule->kinds && !(rule->kinds & case_kind(c)))
			continue;
		if (lists_unreached(c, rule))
			continue;
		if (everywhere || scenario_checks(scenario_of(r->suite, c), rule))
			n++;
	}
	return n;
}
