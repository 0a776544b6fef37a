/* JSON-lines trace (schema wspharness.trace/1): a header, then per case its record (with what it
 * did not reach), its events and its findings (with their site), then the defects (findings
 * grouped by rule and site) and a summary; one JSON object per line, documented in README.md. */
#include "casemap.h"
#include "json.h"
#include "report.h"
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

#define TRACE_SCHEMA "wspharness.trace/1"

static const char *const kind_names[] = {"call", "return", "upcall"};
static const char *const table_names[] = {"A", "B", "poison", "export"};

static void put_key(FILE *out, const char *key)
{
	fprintf(out, ",\"%s\":", key); /* keys are our own ASCII names */
}

static void put_str(FILE *out, const char *key, const char *value)
{
	put_key(out, key);
	wsph_json_string(out, value);
}

static void put_int(FILE *out, const char *key, long long v)
{
	put_key(out, key);
	fprintf(out, "%lld", v);
}

static void put_int_or_null(FILE *out, const char *key, long long v, int is_null)
{
	put_key(out, key);
	if (is_null)
		fputs("null", out);
	else
		fprintf(out, "%lld", v);
}

static void put_seconds(FILE *out, const char *key, double s, const struct wsph_report_opts *o)
{
	char buf[32];
	wsph_report_format_millis(buf, sizeof buf, o->deterministic ? 0 : wsph_report_millis(s));
	put_key(out, key);
	fputs(buf, out);
}

static const char *outcome_name(enum wsph_outcome o)
{
	switch (o) {
	case WSPH_PASS:
		return "pass";
	case WSPH_FAIL:
		return "fail";
	case WSPH_ERROR:
		return "error";
	case WSPH_SKIP:
		return "skip";
	}
	return "?";
}

static void put_header(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	char stamp[32], host[sizeof r->hostname], sha[sizeof r->provider_sha256];

	memcpy(host, r->hostname, sizeof host);
	host[sizeof host - 1] = '\0';
	if (o->deterministic || !host[0])
		strcpy(host, "localhost");
	memcpy(sha, r->provider_sha256, sizeof sha);
	sha[sizeof sha - 1] = '\0';
	wsph_report_format_timestamp(stamp, sizeof stamp, o->deterministic ? 0 : r->timestamp);
	fputs("{\"schema\":\"" TRACE_SCHEMA "\",\"type\":\"header\"", out);
	put_str(out, "harness_version", r->harness_version);
	put_str(out, "provider", r->provider);
	put_str(out, "provider_sha256", sha[0] ? sha : NULL);
	put_str(out, "kind", r->kind);
	put_str(out, "hostname", host);
	put_str(out, "timestamp", stamp);
	put_key(out, "deterministic");
	fputs(o->deterministic ? "true" : "false", out);
	fputs("}\n", out);
}

static void put_case(FILE *out, const struct wsph_case *c, const char *id,
                     const struct wsph_casemap *m, const struct wsph_scenario *sc,
                     const struct wsph_report_opts *o)
{
	char *err = wsph_casemap_text(m, c->error_message), *skip = wsph_casemap_text(m, c->skip_reason);

	fputs("{\"type\":\"case\"", out);
	put_str(out, "case", id);
	put_str(out, "classname", c->classname);
	put_str(out, "name", c->name);
	put_str(out, "file", c->file);
	put_int_or_null(out, "line", c->line, c->line <= 0);
	put_str(out, "outcome", outcome_name(c->outcome));
	put_seconds(out, "time", c->time, o);
	put_int(out, "events", (long long)wsph_case_n_events(c));
	put_int(out, "findings", (long long)c->n_findings);
	put_str(out, "error_type", c->outcome == WSPH_ERROR ? c->error_type : NULL);
	put_str(out, "error_message",
	        c->outcome == WSPH_ERROR ? (err ? err : c->error_message) : NULL);
	put_str(out, "skip_reason", c->outcome == WSPH_SKIP ? (skip ? skip : c->skip_reason) : NULL);
	free(err);
	free(skip);
	put_key(out, "steps"); /* each step's operation, so `show` names the steps without a call */
	fputc('[', out);
	for (size_t i = 0; sc && i < sc->n_steps; i++) {
		if (i)
			fputc(',', out);
		wsph_json_string(out, wsph_op_name(sc->steps[i].op));
	}
	fputc(']', out);
	put_key(out, "unreached");
	fputc('[', out);
	for (size_t i = 0; i < c->n_unreached; i++) {
		const struct wsph_unreached *u = &c->unreached[i];
		fputs(i ? ",{\"rule\":" : "{\"rule\":", out);
		wsph_json_string(out, u->rule ? (u->rule->id ? u->rule->id : "?") : NULL);
		put_int_or_null(out, "step", u->step, u->step <= 0);
		put_str(out, "reason", u->reason ? u->reason : "");
		fputc('}', out);
	}
	fputs("]}\n", out);
}

static const char *fn_or_null(int fn)
{
	return fn >= 0 && fn < WSPH_FN_COUNT ? wsph_fn_name((enum wsph_fn)fn) : NULL;
}

/* The arguments by name in call order: strings as strings, values shown in hex as "0x..." strings
 * (a pointer of the run as its placeholder when deterministic), the others as numbers. */
static void put_args(FILE *out, const struct wsph_event *ev, const struct wsph_casemap *m,
                     size_t pos)
{
	struct wsph_param ps[WSPH_FN_PARAMS_MAX];
	char buf[64];
	int i, n = wsph_fn_params(ev->fn, ps), first = 1;

	put_key(out, "args");
	fputc('{', out);
	for (i = 0; i < n; i++) {
		const struct wsph_param *p = &ps[i];
		uint64_t v = p->slot >= 0 ? ev->a[p->slot] : 0;
		if (ev->kind == WSPH_EV_CALL && p->output)
			continue;
		fputs(first ? "" : ",", out);
		wsph_json_string(out, p->name);
		fputc(':', out);
		first = 0;
		if (p->kind == 's') {
			wsph_json_string(out, strcmp(ev->text, "(null)") ? ev->text : NULL);
		} else if (p->kind == 'e') {
			fprintf(out, "%d", (int)v);
		} else if (p->kind == 'd') {
			fprintf(out, "%lld", (long long)(int64_t)v);
		} else {
			const char *ph = p->kind == 'p' || p->kind == 'm'
			                     ? wsph_casemap_arg(m, pos, ev->fn, p->name, v, buf, sizeof buf)
			                     : NULL;
			if (!ph) {
				snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
				ph = buf;
			}
			wsph_json_string(out, ph);
		}
	}
	fputc('}', out);
}

static void put_event(FILE *out, const struct wsph_event *ev, const char *id,
                      const struct wsph_casemap *m, size_t pos, const struct wsph_report_opts *o)
{
	char buf[64];
	int has_result = ev->kind != WSPH_EV_CALL;
	int has_table = ev->kind == WSPH_EV_UPCALL ||
	                (ev->kind == WSPH_EV_CALL && ev->fn == WSPH_FN_WSPSTARTUP);

	fputs("{\"type\":\"event\"", out);
	put_str(out, "case", id);
	put_int(out, "seq", (long long)wsph_casemap_seq(m, ev->seq));
	put_int(out, "time_ns", o->deterministic ? 0 : (long long)ev->time_ns);
	put_int(out, "thread",
	        (long long)(o->deterministic ? wsph_casemap_thread(m, ev->thread) : ev->thread));
	put_str(out, "kind", (unsigned)ev->kind < 3 ? kind_names[ev->kind] : "?");
	put_str(out, "function", wsph_fn_name(ev->fn));
	put_args(out, ev, m, pos);
	put_key(out, "ret");
	if (!has_result)
		fputs("null", out);
	else if (wsph_ret_is_pointer(ev->fn) &&
	         wsph_casemap_arg(m, pos, ev->fn, NULL, (uint64_t)ev->ret, buf, sizeof buf))
		wsph_json_string(out, buf);
	else
		fprintf(out, "%lld", (long long)ev->ret);
	int err_known = has_result && ev->err != WSPH_ERRNO_UNSET;
	put_int_or_null(out, "errno", ev->err, !err_known);
	put_str(out, "errno_name", err_known ? wsph_error_name(ev->err) : NULL);
	put_str(out, "module", ev->module[0] ? ev->module : NULL);
	put_str(out, "behalf", ev->behalf[0] ? ev->behalf : NULL);
	put_int_or_null(out, "step", ev->step, ev->step <= 0);
	put_int_or_null(out, "parent", (long long)wsph_casemap_seq(m, ev->parent), ev->parent == 0);
	put_str(out, "table",
	        has_table && ev->table >= 0 && ev->table < 4 ? table_names[ev->table] : NULL);
	put_str(out, "current_table",
	        ev->kind == WSPH_EV_UPCALL && ev->current_table >= 0 && ev->current_table < 4
	            ? table_names[ev->current_table]
	            : NULL);
	put_int_or_null(out, "fault", ev->fault, ev->fault == 0);
	put_str(out, "fault_name", ev->fault ? wsph_error_name(ev->fault) : NULL);
	fputs("}\n", out);
}

static void put_finding(FILE *out, const struct wsph_case *c, const struct wsph_finding *f,
                        const char *id, const struct wsph_casemap *m)
{
	uint64_t seq = wsph_finding_seq(f);
	const char *file = f->loc.file ? f->loc.file : c->file;
	char *msg = wsph_casemap_text(m, f->message);

	fputs("{\"type\":\"finding\"", out);
	put_str(out, "case", id);
	put_int_or_null(out, "seq", (long long)wsph_casemap_seq(m, seq), seq == 0);
	put_str(out, "rule", f->rule ? f->rule->id : NULL);
	put_str(out, "severity",
	        f->rule && f->rule->severity == WSPH_SEV_WARNING ? "warning" : "error");
	put_str(out, "level", f->rule ? f->rule->level : NULL);
	put_int_or_null(out, "step", f->step, f->step <= 0);
	put_str(out, "file", file);
	put_int_or_null(out, "line", f->loc.line, f->loc.line <= 0);
	put_int_or_null(out, "column", f->loc.col, f->loc.col <= 0);
	put_str(out, "message", msg ? msg : f->message);
	put_str(out, "statement", f->rule ? f->rule->statement : NULL);
	put_str(out, "source", f->rule ? f->rule->source : NULL);
	put_str(out, "module", f->module[0] ? f->module : NULL);
	put_str(out, "call", fn_or_null(f->call_fn));
	put_str(out, "upcall", fn_or_null(f->upcall_fn));
	fputs("}\n", out);
	free(msg);
}

/* One record for every defect: {"type":"groups","groups":[{rule, severity, module, call, upcall,
 * site, cases, findings, first, case_ids, message}, ...]}, errors first. */
static int put_groups(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	struct wsph_groups gs;
	size_t i, j;
	int rc = 0;

	if (wsph_results_groups(r, &gs) != 0)
		return -1;
	fputs("{\"type\":\"groups\",\"groups\":[", out);
	for (i = 0; i < gs.n && rc == 0; i++) {
		const struct wsph_group *g = &gs.v[i];
		const struct wsph_case *first = &r->cases[g->first_case];
		struct wsph_casemap *m = o->deterministic ? wsph_casemap_new(first) : NULL;
		char *msg, *id = wsph_case_label(first), site[256];
		if (!id || (o->deterministic && !m)) {
			free(id);
			wsph_casemap_free(m);
			rc = -1;
			break;
		}
		wsph_site_format(g->module, g->call_fn, g->upcall_fn, site, sizeof site);
		fputs(i ? ",{\"rule\":" : "{\"rule\":", out);
		wsph_json_string(out, g->rule_id);
		put_str(out, "severity", g->warning ? "warning" : "error");
		put_str(out, "module", g->module[0] ? g->module : NULL);
		put_str(out, "call", fn_or_null(g->call_fn));
		put_str(out, "upcall", fn_or_null(g->upcall_fn));
		put_str(out, "site", site);
		put_int(out, "cases", (long long)g->n_cases);
		put_int(out, "findings", (long long)g->n_findings);
		put_str(out, "first", id);
		free(id);
		put_key(out, "case_ids");
		fputc('[', out);
		for (j = 0; j < g->n_cases; j++) {
			char *cid = wsph_case_label(&r->cases[g->cases[j]]);
			if (!cid) {
				rc = -1;
				break;
			}
			if (j)
				fputc(',', out);
			wsph_json_string(out, cid);
			free(cid);
		}
		fputc(']', out);
		msg = wsph_casemap_text(m, g->first->message);
		put_str(out, "message", msg ? msg : (g->first->message ? g->first->message : ""));
		free(msg);
		wsph_casemap_free(m);
		fputc('}', out);
	}
	fputs("]}\n", out);
	wsph_groups_free(&gs);
	return rc;
}

static void put_summary(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	struct wsph_counts n;

	wsph_results_count(r, &n);
	fputs("{\"type\":\"summary\"", out);
	put_int(out, "tests", (long long)n.tests);
	put_int(out, "passed", (long long)(n.tests - n.failures - n.errors - n.skipped));
	put_int(out, "failures", (long long)n.failures);
	put_int(out, "errors", (long long)n.errors);
	if (n.deadlocks) /* of the errors; the key only when there are some */
		put_int(out, "deadlocks", (long long)n.deadlocks);
	put_int(out, "skipped", (long long)n.skipped);
	put_int(out, "warnings", (long long)n.warnings);
	put_seconds(out, "time", r->time, o);
	fputs("}\n", out);
}

int wsph_report_trace(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	size_t i, j;
	struct wsph_event ev;

	if (!out || !r)
		return -1;
	if (!o)
		o = &defaults;
	put_header(out, r, o);
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		struct wsph_casemap *m = o->deterministic ? wsph_casemap_new(c) : NULL;
		char *id = wsph_case_label(c);
		if (!id || (o->deterministic && !m)) {
			free(id);
			wsph_casemap_free(m);
			return -1;
		}
		put_case(out, c, id, m, wsph_results_scenario(r, c), o);
		for (j = 0; j < wsph_case_n_events(c) &&
		            wsph_case_event(c, wsph_casemap_event_at(m, j), &ev) == 0;
		     j++)
			put_event(out, &ev, id, m, j, o);
		for (j = 0; j < c->n_findings; j++)
			put_finding(out, c, &c->findings[j], id, m);
		free(id);
		wsph_casemap_free(m);
	}
	if (put_groups(out, r, o) != 0)
		return -1;
	put_summary(out, r, o);
	return ferror(out) ? -1 : 0;
}
