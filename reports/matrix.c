/* Conformance matrix, as Markdown and as a self-contained HTML page: Microsoft's upcall table as
 * published, per row whether the provider used it, in which scenarios, with what verdict and
 * findings; then the lifecycle (SPI.*) rules and the other rules with their verdicts. */
#include "casemap.h"
#include "report.h"
#include "util.h"
#include "xml.h"

#include <stdlib.h>
#include <string.h>

#define CASES_SHOWN 8 /* case names listed per finding group before "and N more" */

enum fmt { MD, HTML };

struct mx {
	FILE *out;
	enum fmt fmt;
	const struct wsph_results *r;
	const struct wsph_report_opts *o;
	char **labels; /* per case */
	size_t *upcalls; /* per case, WSPH_FN_COUNT counts of upcalls by function */
};

/* A finding of case `c` that a row or a rule table cell shows. */
struct hit {
	size_t c;
	const struct wsph_finding *f;
};

/* ---- escaping ---- */

/* Markdown table cell text: one line, valid UTF-8, no control characters, and every character
 * CommonMark or a GFM table would read as markup backslash-escaped. */
static void md_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		uint32_t c;
		size_t n = wsph_utf8_char(p, &c);
		if (c == WSPH_UTF8_REPLACEMENT) {
			fputs(WSPH_UTF8_REPLACEMENT_BYTES, out);
			p += n;
			continue;
		}
		if (c == '\n' || c == '\r' || c == '\t')
			fputc(' ', out);
		else if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
			fputs("\xEF\xBF\xBD", out);
		else if (c < 0x80 && strchr("\\`*_[]|<>~&#!", (int)c))
			fprintf(out, "\\%c", (int)c);
		else
			fwrite(p, 1, n, out);
		p += n;
	}
}

static void text(const struct mx *m, const char *s)
{
	if (m->fmt == MD)
		md_text(m->out, s);
	else
		wsph_xml_attr(m->out, s ? s : ""); /* escapes & < > " ' : right for HTML text too */
}

/* ---- what the run says about a row or a rule ---- */

static int is_warning(const struct wsph_finding *f)
{
	return f->rule && f->rule->severity == WSPH_SEV_WARNING;
}

static const char *rule_id(const struct wsph_finding *f)
{
	return f->rule && f->rule->id ? f->rule->id : "?";
}

/* The event a finding points at, in *ev: 0, or -1 when there is none. */
static int event_of(const struct wsph_case *c, const struct wsph_finding *f, struct wsph_event *ev)
{
	uint64_t seq = wsph_finding_seq(f);
	if (seq == 0 || wsph_case_event(c, (size_t)(seq - 1), ev) != 0 || ev->seq != seq)
		return -1;
	return 0;
}

/* "WPUCloseSocketHandle" is concerned by "WPU.CloseSocketHandle.*" and by findings whose
 * offending event is an upcall of that function. */
static int concerns_row(const struct wsph_case *c, const struct wsph_finding *f,
                        const char *fn_name, int fn)
{
	const char *id = rule_id(f);
	struct wsph_event ev;

	if (strncmp(fn_name, "WPU", 3) == 0 && strncmp(id, "WPU.", 4) == 0) {
		size_t n = strlen(fn_name + 3);
		if (n && strncmp(id + 4, fn_name + 3, n) == 0 && id[4 + n] == '.')
			return 1;
	}
	return fn >= 0 && event_of(c, f, &ev) == 0 && ev.kind == WSPH_EV_UPCALL && (int)ev.fn == fn;
}

static size_t row_hits(const struct mx *m, const struct wsph_upcall_row *row, struct hit *hits)
{
	int fn = wsph_fn_by_name(row->function);
	size_t i, j, n = 0;

	for (i = 0; i < m->r->n_cases; i++) {
		const struct wsph_case *c = &m->r->cases[i];
		for (j = 0; j < c->n_findings; j++)
			if (concerns_row(c, &c->findings[j], row->function, fn)) {
				hits[n].c = i;
				hits[n++].f = &c->findings[j];
			}
	}
	return n;
}

static size_t rule_hits(const struct mx *m, const struct wsph_rule *rule, struct hit *hits)
{
	size_t i, j, n = 0;

	for (i = 0; i < m->r->n_cases; i++) {
		const struct wsph_case *c = &m->r->cases[i];
		for (j = 0; j < c->n_findings; j++)
			if (c->findings[j].rule == rule ||
			    (c->findings[j].rule && rule->id &&
			     strcmp(rule_id(&c->findings[j]), rule->id) == 0)) {
				hits[n].c = i;
				hits[n++].f = &c->findings[j];
			}
	}
	return n;
}

static size_t max_hits(const struct wsph_results *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n_cases; i++)
		n += r->cases[i].n_findings;
	return n ? n : 1;
}

static const char *verdict_of(const struct hit *hits, size_t n, int used, const char *otherwise)
{
	size_t i;
	int warn = 0;

	for (i = 0; i < n; i++) {
		if (!is_warning(hits[i].f))
			return "fail";
		warn = 1;
	}
	if (warn)
		return "warn";
	return used ? "pass" : otherwise;
}

/* ---- pieces of both formats ---- */

static void verdict_cell(const struct mx *m, const char *v)
{
	if (m->fmt == MD) {
		if (!strcmp(v, "fail") || !strcmp(v, "warn"))
			fprintf(m->out, " **%s** |", v);
		else
			fprintf(m->out, " %s |", v);
	} else {
		char cls[32];
		size_t i;
		snprintf(cls, sizeof cls, "%s", v);
		for (i = 0; cls[i]; i++)
			if (cls[i] == ' ')
				cls[i] = '-';
		fprintf(m->out, "<td class=\"verdict v-%s\">%s</td>", cls, v);
	}
}

/* The case labels in `cases` (indexes into m->labels), "a, b, c and 4 more". */
static void case_list(const struct mx *m, const size_t *cases, size_t n, size_t shown)
{
	size_t i;

	if (m->fmt == HTML && n) {
		fputs("<ul class=\"cases\">", m->out);
		for (i = 0; i < n && i < shown; i++) {
			fputs("<li>", m->out);
			text(m, m->labels[cases[i]]);
			fputs("</li>", m->out);
		}
		if (n > shown)
			fprintf(m->out, "<li class=\"more\">and %lu more</li>",
			        (unsigned long)(n - shown));
		fputs("</ul>", m->out);
		return;
	}
	for (i = 0; i < n && i < shown; i++) {
		if (i)
			fputs(", ", m->out);
		text(m, m->labels[cases[i]]);
	}
	if (n > shown)
		fprintf(m->out, " and %lu more", (unsigned long)(n - shown));
}

/* Findings grouped by rule ID (rows) or shown per rule (rules tables): "ID (error) x3: cases". */
static void findings_cell(const struct mx *m, const struct hit *hits, size_t n, int show_rule)
{
	size_t i, j, *cases = NULL;

	if (m->fmt == HTML)
		fputs("<td class=\"findings\">", m->out);
	else
		fputc(' ', m->out);
	if (n)
		cases = malloc(n * sizeof *cases);
	for (i = 0; cases && i < n; i++) {
		size_t nc = 0, k, count = 0;
		for (j = 0; j < i; j++) /* first hit of this rule ID only */
			if (!strcmp(rule_id(hits[j].f), rule_id(hits[i].f)))
				break;
		if (j < i)
			continue;
		for (j = i; j < n; j++) {
			if (strcmp(rule_id(hits[j].f), rule_id(hits[i].f)) != 0)
				continue;
			count++;
			for (k = 0; k < nc && cases[k] != hits[j].c; k++)
				;
			if (k == nc)
				cases[nc++] = hits[j].c;
		}
		if (m->fmt == HTML) {
			fprintf(m->out, "<div class=\"finding %s\">",
			        is_warning(hits[i].f) ? "warning" : "error");
			if (show_rule) {
				fputs("<code>", m->out);
				text(m, rule_id(hits[i].f));
				fputs("</code> ", m->out);
			}
			fprintf(m->out, "(%s) &#215;%lu in ",
			        is_warning(hits[i].f) ? "warning" : "error", (unsigned long)count);
			case_list(m, cases, nc, CASES_SHOWN);
			fputs("<p class=\"message\">", m->out);
			{
				char *msg = NULL;
				struct wsph_casemap *cm = NULL;
				if (m->o->deterministic)
					cm = wsph_casemap_new(&m->r->cases[hits[i].c]);
				msg = wsph_casemap_text(cm, hits[i].f->message);
				text(m, msg ? msg : hits[i].f->message);
				free(msg);
				wsph_casemap_free(cm);
			}
			fputs("</p></div>", m->out);
		} else {
			if (i)
				fputs("; ", m->out);
			if (show_rule) {
				text(m, rule_id(hits[i].f));
				fputc(' ', m->out);
			}
			fprintf(m->out, "(%s) x%lu in ",
			        is_warning(hits[i].f) ? "warning" : "error", (unsigned long)count);
			case_list(m, cases, nc, CASES_SHOWN);
		}
	}
	free(cases);
	fputs(m->fmt == HTML ? "</td>" : " |", m->out);
}

static void cell(const struct mx *m, const char *s, const char *cls)
{
	if (m->fmt == HTML) {
		if (cls)
			fprintf(m->out, "<td class=\"%s\">", cls);
		else
			fputs("<td>", m->out);
		text(m, s);
		fputs("</td>", m->out);
	} else {
		fputc(' ', m->out);
		text(m, s);
		fputs(" |", m->out);
	}
}

/* ---- the upcall table ---- */

static void upcall_table(const struct mx *m, struct hit *hits, size_t *cases)
{
	const struct wsph_ruleset *set = m->r->set;
	size_t i, j;

	if (m->fmt == MD) {
		fputs("\n## Upcalls exposed by the Windows Sockets 2 DLL\n\n", m->out);
		if (set->table_source) {
			fputs("As published in ", m->out);
			text(m, set->table_source);
			fputs(".\n\n", m->out);
		}
		fputs(
		    "| Function | Description | Status (as published) | Used | Scenarios | Verdict "
		    "| Findings |\n|---|---|---|---|---|---|---|\n",
		    m->out);
	} else {
		fputs(
		    "<h2 id=\"upcalls-title\">Upcalls exposed by the Windows Sockets 2 DLL</h2>\n",
		    m->out);
		if (set->table_source) {
			fputs("<p class=\"source\">As published in <span class=\"url\">", m->out);
			text(m, set->table_source);
			fputs("</span>.</p>\n", m->out);
		}
		fputs("<table id=\"upcalls\" aria-labelledby=\"upcalls-title\">\n<thead><tr>"
		      "<th>Function</th><th>Description</th><th>Status (as published)</th>"
		      "<th>Used</th><th>Scenarios</th><th>Verdict</th><th>Findings</th>"
		      "</tr></thead>\n<tbody>\n",
		      m->out);
	}
	for (i = 0; i < set->n_rows; i++) {
		const struct wsph_upcall_row *row = &set->rows[i];
		int fn = wsph_fn_by_name(row->function);
		size_t calls = 0, nc = 0, nh = row_hits(m, row, hits);
		char used[64];

		for (j = 0; j < m->r->n_cases; j++) {
			size_t here =
			    fn >= 0 && fn < WSPH_FN_COUNT ? m->upcalls[j * WSPH_FN_COUNT + fn] : 0;
			if (here)
				cases[nc++] = j;
			calls += here;
		}
		if (calls)
			snprintf(used, sizeof used, "yes (%lu call%s)", (unsigned long)calls,
			         calls == 1 ? "" : "s");
		else
			snprintf(used, sizeof used, "no");
		if (m->fmt == HTML) {
			fputs("<tr class=\"row\" data-function=\"", m->out);
			text(m, row->function);
			fputs("\" data-status=\"", m->out);
			text(m, wsph_row_status_name(row->status));
			fputs("\"><th scope=\"row\"><code>", m->out);
			text(m, row->function);
			fputs("</code></th>", m->out);
		} else {
			fputs("|", m->out);
			cell(m, row->function, NULL);
		}
		cell(m, row->description, NULL);
		cell(m, row->published && row->published[0] ? row->published : "(not stated)",
		     "status");
		cell(m, used, "used");
		if (m->fmt == HTML) {
			fputs("<td class=\"scenarios\">", m->out);
			case_list(m, cases, nc, nc);
			fputs("</td>", m->out);
		} else {
			fputc(' ', m->out);
			case_list(m, cases, nc, nc);
			fputs(" |", m->out);
		}
		verdict_cell(m, verdict_of(hits, nh, calls > 0, "not used"));
		findings_cell(m, hits, nh, 1);
		fputs(m->fmt == HTML ? "</tr>\n" : "\n", m->out);
	}
	if (m->fmt == HTML)
		fputs("</tbody>\n</table>\n", m->out);
}

/* ---- the rules tables ---- */

static void rules_table(const struct mx *m, struct hit *hits, int lifecycle)
{
	const struct wsph_ruleset *set = m->r->set;
	const char *title = lifecycle ? "Lifecycle rules (SPI.*)" : "Other rules";
	const char *id = lifecycle ? "lifecycle-rules" : "other-rules";
	size_t i, ran = 0;

	for (i = 0; i < m->r->n_cases; i++)
		ran += m->r->cases[i].outcome != WSPH_SKIP;
	if (m->fmt == MD)
		fprintf(m->out,
		        "\n## %s\n\n| Rule | Level | Statement | Verdict | Findings |\n"
		        "|---|---|---|---|---|\n",
		        title);
	else
		fprintf(
		    m->out,
		    "<h2 id=\"%s-title\">%s</h2>\n<table id=\"%s\" aria-labelledby=\"%s-title\">\n"
		    "<thead><tr><th>Rule</th><th>Level</th><th>Statement</th><th>Verdict</th>"
		    "<th>Findings</th></tr></thead>\n<tbody>\n",
		    id, title, id, id);
	for (i = 0; i < set->n_rules; i++) {
		const struct wsph_rule *rule = &set->rules[i];
		int spi = rule->id && strncmp(rule->id, "SPI.", 4) == 0;
		size_t nh;
		char level[128];

		if (spi != lifecycle)
			continue;
		nh = rule_hits(m, rule, hits);
		snprintf(level, sizeof level, "%s (%s)", rule->level ? rule->level : "?",
		         rule->severity == WSPH_SEV_WARNING ? "warning" : "error");
		if (m->fmt == HTML) {
			fputs("<tr class=\"rule\" data-rule=\"", m->out);
			text(m, rule->id);
			fputs("\"><th scope=\"row\"><code>", m->out);
			text(m, rule->id);
			fputs("</code></th>", m->out);
		} else {
			fputs("|", m->out);
			cell(m, rule->id, NULL);
		}
		cell(m, level, "level");
		cell(m, rule->statement, NULL);
		verdict_cell(m, rule->not_checkable && !nh
		                    ? "not checkable"
		                    : verdict_of(hits, nh, ran > 0, "not run"));
		findings_cell(m, hits, nh, 0);
		fputs(m->fmt == HTML ? "</tr>\n" : "\n", m->out);
	}
	if (m->fmt == HTML)
		fputs("</tbody>\n</table>\n", m->out);
}

/* ---- the page ---- */

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}"
    "th,td{border:1px solid #c8c8c8;padding:.3em .5em;text-align:left;vertical-align:top}"
    "thead th{background:#eef1f5;position:sticky;top:0}"
    "ul.cases{margin:0;padding-left:1.1em}"
    ".verdict{font-weight:600;white-space:nowrap}"
    ".v-pass{background:#e3f4e1;color:#185c16}.v-fail{background:#fbe0df;color:#8a1512}"
    ".v-warn{background:#fdf3d6;color:#6b4e00}.v-not-used,.v-not-run,.v-not-checkable"
    "{color:#5a5a5a}"
    ".finding{margin-bottom:.4em}.finding.error code{color:#8a1512}"
    ".message{margin:.2em 0 0;color:#333;font-size:.95em}"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
    "dt{font-weight:600}dd{margin:0;word-break:break-all}";

static void meta(const struct mx *m, const char *label, const char *value)
{
	if (m->fmt == MD) {
		fprintf(m->out, "- %s: ", label);
		text(m, value);
		fputc('\n', m->out);
	} else {
		fprintf(m->out, "<dt>%s</dt><dd>", label);
		text(m, value);
		fputs("</dd>\n", m->out);
	}
}

static void header(const struct mx *m)
{
	const struct wsph_results *r = m->r;
	struct wsph_counts n;
	char stamp[48], sha[sizeof r->provider_sha256], result[160];

	wsph_report_format_timestamp(stamp, 32, m->o->deterministic ? 0 : r->timestamp);
	strcat(stamp, " UTC");
	memcpy(sha, r->provider_sha256, sizeof sha);
	sha[sizeof sha - 1] = '\0';
	wsph_results_count(r, &n);
	snprintf(result, sizeof result, "%lu passed, %lu failed, %lu errors, %lu skipped",
	         (unsigned long)(n.tests - n.failures - n.errors - n.skipped),
	         (unsigned long)n.failures, (unsigned long)n.errors, (unsigned long)n.skipped);
	if (m->fmt == MD)
		fputs("# wspharness conformance matrix\n\n", m->out);
	else {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		      "<link rel=\"icon\" href=\"data:,\">\n<title>wspharness conformance matrix: ",
		      m->out);
		text(m, r->provider ? r->provider : "?");
		fprintf(m->out,
		        "</title>\n<style>%s</style>\n</head>\n<body>\n"
		        "<h1>wspharness conformance matrix</h1>\n<dl class=\"meta\">\n",
		        css);
	}
	meta(m, "Provider", r->provider ? r->provider : "?");
	if (sha[0])
		meta(m, "SHA-256", sha);
	meta(m, "Kind", r->kind ? r->kind : "?");
	meta(m, "Harness", r->harness_version ? r->harness_version : "?");
	meta(m, "Run", stamp);
	meta(m, "Result", result);
	if (m->fmt == HTML)
		fputs("</dl>\n", m->out);
	if (m->fmt == MD)
		fputs("\nVerdicts: fail (an error finding), warn (warnings only), pass (used, or "
		      "checked, without a finding), not used (no upcall of the row in this run).\n",
		      m->out);
	else
		fputs(
		    "<p class=\"legend\">Verdicts: fail (an error finding), warn (warnings only), "
		    "pass (used, or checked, without a finding), not used (no upcall of the row "
		    "in this run).</p>\n",
		    m->out);
}

static int matrix(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o,
                  enum fmt fmt)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	struct mx m;
	struct hit *hits = NULL;
	size_t *cases = NULL, i;
	int rc = -1;

	if (!out || !r)
		return -1;
	memset(&m, 0, sizeof m);
	m.out = out;
	m.fmt = fmt;
	m.r = r;
	m.o = o ? o : &defaults;
	m.labels = calloc(r->n_cases ? r->n_cases : 1, sizeof *m.labels);
	hits = malloc(max_hits(r) * sizeof *hits);
	cases = malloc((r->n_cases ? r->n_cases : 1) * sizeof *cases);
	m.upcalls = calloc((r->n_cases ? r->n_cases : 1) * WSPH_FN_COUNT, sizeof *m.upcalls);
	if (!m.labels || !hits || !cases || !m.upcalls)
		goto out;
	for (i = 0; i < r->n_cases; i++) {
		size_t k, n = wsph_case_n_events(&r->cases[i]);
		struct wsph_event ev;
		if (!(m.labels[i] = wsph_case_label(&r->cases[i])))
			goto out;
		for (k = 0; k < n && wsph_case_event(&r->cases[i], k, &ev) == 0; k++)
			if (ev.kind == WSPH_EV_UPCALL && (int)ev.fn >= 0 && ev.fn < WSPH_FN_COUNT)
				m.upcalls[i * WSPH_FN_COUNT + ev.fn]++;
	}
	header(&m);
	if (!r->set) {
		fputs(fmt == MD ? "\nNo rule catalogue was given to the report.\n"
		                : "<p>No rule catalogue was given to the report.</p>\n",
		      out);
	} else {
		upcall_table(&m, hits, cases);
		rules_table(&m, hits, 1);
		rules_table(&m, hits, 0);
	}
	if (fmt == HTML)
		fputs("</body>\n</html>\n", out);
	rc = ferror(out) ? -1 : 0;
out:
	for (i = 0; m.labels && i < r->n_cases; i++)
		free(m.labels[i]);
	free(m.labels);
	free(m.upcalls);
	free(hits);
	free(cases);
	return rc;
}

int wsph_report_matrix(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	return matrix(out, r, o, MD);
}

int wsph_report_matrix_html(FILE *out, const struct wsph_results *r,
                            const struct wsph_report_opts *o)
{
	return matrix(out, r, o, HTML);
}
