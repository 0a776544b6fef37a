/* Conformance matrix, as Markdown and as a self-contained HTML page: a summary (the run's verdict,
 * its counts, the rules broken) and the failing cases with their findings first; then Microsoft's
 * upcall table as published, per row whether and by which module it was used, in which scenarios,
 * with the provider under test's verdict and the defects (findings grouped by rule and site) that
 * concern it; then the lifecycle (SPI.*) rules and the other rules with their verdicts. The HTML
 * page folds long lists into <details> (no script, nothing loaded). */
#include "casemap.h"
#include "report.h"
#include "util.h"
#include "xml.h"

#include <stdlib.h>
#include <string.h>

/* U+2014, the separator before a defect's site (spelled out: the sources stay ASCII). */
#define EM_DASH "\xE2\x80\x94"

#define CASES_SHOWN 8 /* case names listed per defect before "and N more" */
#define MODULES_MAX 8 /* modules told apart in a row's "used" cell; the rest are counted together */

#define NOTE_LEN 96    /* a rule's "not reached in N cases (all that check it)" */

enum fmt { MD, HTML };

/* Upcalls of one function made by one module, over the run. */
struct modcount {
	char module[64]; /* as the events name it ("" for the last slot, the other modules) */
	size_t n;
};

struct mx {
	FILE *out;
	enum fmt fmt;
	const struct wsph_results *r;
	const struct wsph_report_opts *o;
	char **labels;	 /* per case */
	size_t *upcalls; /* per case, WSPH_FN_COUNT counts of upcalls by function */
	struct modcount *mods; /* per function, MODULES_MAX + 1 (the last: every other module) */
	char ut[64];	 /* the provider under test's module name (its file's base name) */
	int ut_known;	 /* some event names that module: else every module counts as under test */
	struct wsph_groups gs;
	const char **rule_v; /* per rule of r->set: its verdict */
	char (*rule_note)[NOTE_LEN]; /* per rule: what was not reached ("" when nothing) */
	size_t ran;	     /* cases not skipped */
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

/* An anchor: prefix, then the ID with every character but A-Z a-z 0-9 . _ - as '_' (the same in
 * the id and in the links to it). */
static void anchor(FILE *out, const char *prefix, const char *id)
{
	const char *p;

	fputs(prefix, out);
	for (p = id ? id : ""; *p; p++) {
		char c = *p;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		         c == '.' || c == '_' || c == '-';
		fputc(ok ? c : '_', out);
	}
}

/* ---- who is charged ---- */

static int ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* Whether upcalls made by `module` are the provider under test's: every module's are when the
 * provider's own name appears in no event (the verdicts then read every module). */
static int is_ut_module(const struct mx *m, const char *module)
{
	return !m->ut_known || ascii_ieq(module, m->ut);
}

/* Whether a defect charged to `module` is the provider under test's: also when it is charged to
 * no module ("": no event named, "?": an address no module holds) or to the harness (a finding at
 * the call the harness made). */
static int under_test(const struct mx *m, const char *module)
{
	return !module || !*module || is_ut_module(m, module) || strcmp(module, "?") == 0 ||
	       strcmp(module, "wspharness") == 0;
}

/* ---- which defects concern a row or a rule ---- */

/* "WPUCloseSocketHandle" is concerned by "WPU.CloseSocketHandle.*" rules. */
static int rule_of_row(const char *id, const char *fn_name)
{
	size_t n;

	if (!id || strncmp(fn_name, "WPU", 3) != 0 || strncmp(id, "WPU.", 4) != 0)
		return 0;
	n = strlen(fn_name + 3);
	return n && strncmp(id + 4, fn_name + 3, n) == 0 && id[4 + n] == '.';
}

/* The event a finding points at, in *ev: 0, or -1 when there is none. */
static int event_of(const struct wsph_case *c, const struct wsph_finding *f, struct wsph_event *ev)
{
	uint64_t seq = wsph_finding_seq(f);
	if (seq == 0 || wsph_case_event(c, (size_t)(seq - 1), ev) != 0 || ev->seq != seq)
		return -1;
	return 0;
}

/* A row is concerned by the defects of its rules and by those whose offending upcall is one of
 * its function's (the site's upcall, or the event the excerpt marks). */
static int group_concerns_row(const struct mx *m, const struct wsph_group *g, const char *fn_name,
                              int fn)
{
	struct wsph_event ev;

	if (rule_of_row(g->rule_id, fn_name))
		return 1;
	if (fn < 0)
		return 0;
	if (g->upcall_fn >= 0)
		return g->upcall_fn == fn;
	return event_of(&m->r->cases[g->first_case], g->first, &ev) == 0 &&
	       ev.kind == WSPH_EV_UPCALL && (int)ev.fn == fn;
}

static int group_of_rule(const struct wsph_group *g, const struct wsph_rule *rule)
{
	return g->rule == rule || (rule->id && strcmp(g->rule_id, rule->id) == 0);
}

/* The defects a row or a rule shows, in sel[] (indexes into m->gs); returns how many. */
static size_t row_groups(const struct mx *m, const struct wsph_upcall_row *row, size_t *sel)
{
	int fn = wsph_fn_by_name(row->function);
	size_t i, n = 0;

	for (i = 0; i < m->gs.n; i++)
		if (group_concerns_row(m, &m->gs.v[i], row->function, fn))
			sel[n++] = i;
	return n;
}

static size_t rule_groups(const struct mx *m, const struct wsph_rule *rule, size_t *sel)
{
	size_t i, n = 0;

	for (i = 0; i < m->gs.n; i++)
		if (group_of_rule(&m->gs.v[i], rule))
			sel[n++] = i;
	return n;
}

/* Whether some case that ran lists a rule of the row as not reached. */
static int row_not_reached(const struct mx *m, const struct wsph_upcall_row *row)
{
	size_t i, j;

	for (i = 0; i < m->r->n_cases; i++) {
		const struct wsph_case *c = &m->r->cases[i];
		if (c->outcome == WSPH_SKIP)
			continue;
		for (j = 0; j < c->n_unreached; j++)
			if (c->unreached[j].rule &&
			    rule_of_row(c->unreached[j].rule->id, row->function))
				return 1;
	}
	return 0;
}

/* fail / warn from the defects charged to the provider under test; NULL when there are none. */
static const char *verdict_of(const struct mx *m, const size_t *sel, size_t n)
{
	size_t i;
	int warn = 0;

	for (i = 0; i < n; i++) {
		const struct wsph_group *g = &m->gs.v[sel[i]];
		if (!under_test(m, g->module))
			continue;
		if (!g->warning)
			return "fail";
		warn = 1;
	}
	return warn ? "warn" : NULL;
}

/* ---- pieces of both formats ---- */

static void verdict_cell(const struct mx *m, const char *v)
{
	if (m->fmt == MD) {
		if (!strcmp(v, "fail") || !strcmp(v, "warn") || !strcmp(v, "missing"))
			fprintf(m->out, " **%s** |", v);
		else
			fprintf(m->out, " %s |", v);
	} else {
		char cls[32];
		size_t i;
		snprintf(cls, sizeof cls, "%s", v);
		for (i = 0; cls[i]; i++)
			if (!(cls[i] >= 'a' && cls[i] <= 'z'))
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

/* One line per defect: "RULE (error) in 2 cases, 4 findings - mock.so, WSPCloseSocket: a, b";
 * a defect charged to another module than the provider under test says so. In the rules tables
 * (show_rule 0) the rule is the row's. `note`, when not NULL, ends the cell (what was not
 * reached). */
static void findings_cell(const struct mx *m, const size_t *sel, size_t n, int show_rule,
                          const char *note)
{
	size_t i;

	if (m->fmt == HTML)
		fputs("<td class=\"findings\">", m->out);
	else
		fputc(' ', m->out);
	for (i = 0; i < n; i++) {
		const struct wsph_group *g = &m->gs.v[sel[i]];
		const char *sev = g->warning ? "warning" : "error";
		int other = !under_test(m, g->module);
		char site[256], counts[96];
		wsph_site_format(g->module, g->call_fn, g->upcall_fn, site, sizeof site);
		snprintf(counts, sizeof counts, "in %lu case%s, %lu finding%s",
		         (unsigned long)g->n_cases, g->n_cases == 1 ? "" : "s",
		         (unsigned long)g->n_findings, g->n_findings == 1 ? "" : "s");
		if (m->fmt == HTML) {
			char *msg;
			struct wsph_casemap *cm = NULL;
			fprintf(m->out, "<div class=\"finding %s%s\"><details><summary>", sev,
			        other ? " other" : "");
			if (show_rule) {
				fputs("<a href=\"#", m->out);
				anchor(m->out, "rule-", g->rule_id);
				fputs("\"><code>", m->out);
				text(m, g->rule_id);
				fputs("</code></a> ", m->out);
			}
			fprintf(m->out, "(%s) %s", sev, counts);
			if (site[0]) {
				fputs(" &#8212; <span class=\"site\">", m->out);
				text(m, site);
				fputs("</span>", m->out);
			}
			if (other)
				fputs(" <span class=\"other\">(not the provider under test)</span>",
				      m->out);
			fputs("</summary>", m->out);
			case_list(m, g->cases, g->n_cases, CASES_SHOWN);
			fputs("<p class=\"message\">", m->out);
			if (m->o->deterministic)
				cm = wsph_casemap_new(&m->r->cases[g->first_case]);
			msg = wsph_casemap_text(cm, g->first->message);
			text(m, msg ? msg : g->first->message);
			free(msg);
			wsph_casemap_free(cm);
			fputs("</p></details></div>", m->out);
		} else {
			if (i)
				fputs("<br>", m->out); /* one line per defect in the cell */
			if (show_rule) {
				text(m, g->rule_id);
				fputc(' ', m->out);
			}
			fprintf(m->out, "(%s) %s", sev, counts);
			if (site[0]) {
				fputs(" " EM_DASH " ", m->out);
				text(m, site);
			}
			if (other)
				fputs(" (not the provider under test)", m->out);
			fputs(": ", m->out);
			case_list(m, g->cases, g->n_cases, CASES_SHOWN);
		}
	}
	if (note) {
		if (m->fmt == HTML) {
			fputs("<p class=\"note\">", m->out);
			text(m, note);
			fputs("</p>", m->out);
		} else {
			if (n)
				fputs("<br>", m->out);
			text(m, note);
		}
	}
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

/* A module's name for the "used" cell: its file name without .so / .dll. */
static void short_module(const char *module, char *buf, size_t len)
{
	size_t n = strlen(module);

	if (n > 4 && ascii_ieq(module + n - 4, ".dll"))
		n -= 4;
	else if (n > 3 && ascii_ieq(module + n - 3, ".so"))
		n -= 3;
	snprintf(buf, len, "%.*s", (int)n, module);
}

/* "no", "yes (5 calls)", or with several modules "yes (12 calls: passthru 8, mockbase 4)",
 * the provider under test first. Returns the calls the provider under test made. */
static size_t used_text(const struct mx *m, int fn, char *buf, size_t len)
{
	const struct modcount *mc = fn >= 0 && fn < WSPH_FN_COUNT
	                                ? &m->mods[(size_t)fn * (MODULES_MAX + 1)]
	                                : NULL;
	size_t i, total = 0, mine = 0, kinds = 0, used;

	for (i = 0; mc && i <= MODULES_MAX; i++) {
		total += mc[i].n;
		kinds += mc[i].n != 0;
		if (i < MODULES_MAX ? is_ut_module(m, mc[i].module) : !m->ut_known)
			mine += mc[i].n;
	}
	if (!total) {
		snprintf(buf, len, "no");
		return 0;
	}
	used = (size_t)snprintf(buf, len, "yes (%lu call%s", (unsigned long)total,
	                        total == 1 ? "" : "s");
	if (kinds > 1 || (m->ut_known && !mine)) {
		int pass, first = 1;
		/* the provider under test first, then the others in order of first appearance */
		for (pass = 0; pass < 2; pass++)
			for (i = 0; i <= MODULES_MAX && used < len; i++) {
				char name[64];
				int mine_here = i < MODULES_MAX ? is_ut_module(m, mc[i].module)
				                                : !m->ut_known;
				if (!mc[i].n || mine_here != (pass == 0))
					continue;
				if (i == MODULES_MAX)
					snprintf(name, sizeof name, "others");
				else
					short_module(mc[i].module, name, sizeof name);
				used += (size_t)snprintf(buf + used, len - used, "%s%s %lu",
				                         first ? ": " : ", ", name,
				                         (unsigned long)mc[i].n);
				first = 0;
			}
	}
	if (used < len)
		snprintf(buf + used, len - used, ")");
	return mine;
}

static void upcall_table(const struct mx *m, size_t *sel, size_t *cases)
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
		fputs("<table id=\"upcalls\" aria-labelledby=\"upcalls-title\">\n<colgroup>"
		      "<col class=\"c-fn\"><col class=\"c-desc\"><col class=\"c-status\">"
		      "<col class=\"c-used\"><col class=\"c-scen\"><col class=\"c-verdict\">"
		      "<col class=\"c-findings\"></colgroup>\n<thead><tr>"
		      "<th>Function</th><th>Description</th><th>Status (as published)</th>"
		      "<th>Used</th><th>Scenarios</th><th>Verdict</th><th>Findings</th>"
		      "</tr></thead>\n<tbody>\n",
		      m->out);
	}
	for (i = 0; i < set->n_rows; i++) {
		const struct wsph_upcall_row *row = &set->rows[i];
		int fn = wsph_fn_by_name(row->function);
		size_t nc = 0, ns = row_groups(m, row, sel), mine;
		const char *v;
		char used[256];

		for (j = 0; j < m->r->n_cases; j++)
			if (fn >= 0 && fn < WSPH_FN_COUNT && m->upcalls[j * WSPH_FN_COUNT + fn])
				cases[nc++] = j;
		mine = used_text(m, fn, used, sizeof used);
		/* A row the provider under test never used cannot fail: an error finding on it says
		 * the provider did not make an upcall it needed to (missing). */
		v = verdict_of(m, sel, ns);
		if (v && !strcmp(v, "fail") && !mine)
			v = "missing";
		else if (!v)
			v = mine ? "pass" : row_not_reached(m, row) ? "not reached" : "n/a";
		if (m->fmt == HTML) {
			fputs("<tr class=\"row\" data-function=\"", m->out);
			text(m, row->function);
			fputs("\" data-status=\"", m->out);
			text(m, wsph_row_status_name(row->status));
			fputs("\"><th scope=\"row\" id=\"", m->out);
			anchor(m->out, "row-", row->function);
			fputs("\"><code>", m->out);
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
			if (nc)
				fprintf(m->out, "<details><summary>%lu case%s</summary>",
				        (unsigned long)nc, nc == 1 ? "" : "s");
			case_list(m, cases, nc, nc);
			if (nc)
				fputs("</details>", m->out);
			fputs("</td>", m->out);
		} else {
			fputc(' ', m->out);
			case_list(m, cases, nc, nc);
			fputs(" |", m->out);
		}
		verdict_cell(m, v);
		findings_cell(m, sel, ns, 1, NULL);
		fputs(m->fmt == HTML ? "</tr>\n" : "\n", m->out);
	}
	if (m->fmt == HTML)
		fputs("</tbody>\n</table>\n", m->out);
}

/* ---- the rules tables ---- */

/* A rule's verdict, and in note what was not reached. A rule passes only when some case that
 * checks it ran to its end (wsph_results_rule_reached); when every such case was skipped or
 * errored it is n/a. */
static const char *rule_verdict(const struct mx *m, const struct wsph_rule *rule, size_t *sel,
                                char *note, size_t len)
{
	size_t ns = rule_groups(m, rule, sel), unreached;
	long checking;
	const char *v = verdict_of(m, sel, ns);

	wsph_results_rule_reach(m->r, rule, &unreached, &checking);
	if (!v && rule->not_checkable && !ns)
		v = "not checkable";
	else if (!v && wsph_results_rule_not_reached(m->r, rule))
		v = "not reached";
	else if (!v && !m->ran)
		v = "not run";
	else if (!v)
		v = wsph_results_rule_reached(m->r, rule) != 0 ? "pass" : "n/a";
	note[0] = '\0';
	if (unreached)
		snprintf(note, len, "not reached in %lu case%s%s", (unsigned long)unreached,
		         unreached == 1 ? "" : "s",
		         !strcmp(v, "not reached") && checking > 0 ? " (all that check it)" : "");
	return v;
}

static void rule_verdicts(struct mx *m, size_t *sel)
{
	size_t i;

	for (i = 0; m->r->set && i < m->r->set->n_rules; i++)
		m->rule_v[i] = rule_verdict(m, &m->r->set->rules[i], sel, m->rule_note[i], NOTE_LEN);
}

static void rules_table(const struct mx *m, size_t *sel, int lifecycle)
{
	const struct wsph_ruleset *set = m->r->set;
	const char *title = lifecycle ? "Lifecycle rules (SPI.*)" : "Other rules";
	const char *id = lifecycle ? "lifecycle-rules" : "other-rules";
	size_t i;

	if (m->fmt == MD)
		fprintf(m->out,
		        "\n## %s\n\n| Rule | Level | Statement | Verdict | Findings |\n"
		        "|---|---|---|---|---|\n",
		        title);
	else
		fprintf(
		    m->out,
		    "<h2 id=\"%s-title\">%s</h2>\n<table id=\"%s\" class=\"rules\" "
		    "aria-labelledby=\"%s-title\">\n<colgroup><col class=\"c-rule\">"
		    "<col class=\"c-level\"><col class=\"c-statement\"><col class=\"c-verdict\">"
		    "<col class=\"c-findings\"></colgroup>\n"
		    "<thead><tr><th>Rule</th><th>Level</th><th>Statement</th><th>Verdict</th>"
		    "<th>Findings</th></tr></thead>\n<tbody>\n",
		    id, title, id, id);
	for (i = 0; i < set->n_rules; i++) {
		const struct wsph_rule *rule = &set->rules[i];
		int spi = rule->id && strncmp(rule->id, "SPI.", 4) == 0;
		size_t ns;
		char level[128];

		if (spi != lifecycle)
			continue;
		ns = rule_groups(m, rule, sel);
		snprintf(level, sizeof level, "%s (%s)", rule->level ? rule->level : "?",
		         rule->severity == WSPH_SEV_WARNING ? "warning" : "error");
		if (m->fmt == HTML) {
			fputs("<tr class=\"rule\" data-rule=\"", m->out);
			text(m, rule->id);
			fputs("\"><th scope=\"row\" id=\"", m->out);
			anchor(m->out, "rule-", rule->id);
			fputs("\"><code>", m->out);
			text(m, rule->id);
			fputs("</code></th>", m->out);
		} else {
			fputs("|", m->out);
			cell(m, rule->id, NULL);
		}
		cell(m, level, "level");
		cell(m, rule->statement, NULL);
		verdict_cell(m, m->rule_v[i]);
		findings_cell(m, sel, ns, 0, m->rule_note[i][0] ? m->rule_note[i] : NULL);
		fputs(m->fmt == HTML ? "</tr>\n" : "\n", m->out);
	}
	if (m->fmt == HTML)
		fputs("</tbody>\n</table>\n", m->out);
}

/* ---- the page ---- */

static const char css[] =
    "body{font-family:system-ui,sans-serif;margin:1em 1.5em;color:#1b1b1b;background:#fff}"
    "h1{font-size:1.4em;margin:.2em 0 .5em}h2{font-size:1.2em;margin-top:1.4em}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.85em;"
    "table-layout:fixed}"
    "th,td{border:1px solid #c8c8c8;padding:.25em .45em;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}"
    "thead th{background:#eef1f5;position:sticky;top:0}"
    "col.c-fn{width:17em}col.c-desc{width:28%}col.c-status{width:9%}col.c-used{width:9%}"
    "#upcalls tbody th{overflow-wrap:normal}"
    "col.c-scen{width:6.5em}col.c-verdict{width:6em}col.c-rule{width:19em}"
    "col.c-level{width:9em}col.c-statement{width:38%}"
    "th:target,.case:target{background:#fff3b0}tbody th{scroll-margin-top:3em}"
    "ul.cases{margin:.2em 0 0;padding-left:1.1em}"
    "details>summary{cursor:pointer}"
    ".verdict{font-weight:600;white-space:nowrap}"
    ".v-pass{background:#e3f4e1;color:#185c16}.v-fail{background:#fbe0df;color:#8a1512}"
    ".v-warn{background:#fdf3d6;color:#6b4e00}.v-missing{background:#fbe0df;color:#8a1512}"
    ".v-n-a,.v-not-run,.v-not-checkable,.v-not-reached{color:#5a5a5a}"
    ".v-not-reached{font-style:italic}"
    ".finding{margin-bottom:.2em}.finding.error code{color:#8a1512}"
    ".finding.other{opacity:.75}.other{font-style:italic}"
    ".message,.note{margin:.2em 0 0;color:#333;font-size:.95em}"
    ".summary{border:2px solid #9aa4b0;border-radius:6px;padding:.5em 1em;margin:0 0 1em}"
    ".summary.s-fail{border-color:#c0392b;background:#fff7f6}"
    ".summary.s-pass{border-color:#3c8d40;background:#f5fbf4}"
    ".run-verdict{font-size:1.25em;margin:.1em 0 .4em}"
    ".s-fail .run-verdict{color:#8a1512}.s-pass .run-verdict{color:#185c16}"
    "dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:0}"
    "dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}"
    "ol.failures{margin:.3em 0;padding-left:2.2em}ol.failures>li{margin:.15em 0}"
    ".outcome{font-weight:600;color:#8a1512}"
    "ul.case-findings{margin:0;padding-left:1.2em;list-style:square}"
    "ul.case-findings li{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    ".legend{margin:1em 0;font-size:.9em}.nav{margin:.4em 0 0;font-size:.9em}";

/* The legend, the same words in both formats (none of them markup in either). */
static const char *const legend[][2] = {
    {"fail", "an error finding on something the provider under test did"},
    {"missing", "the provider under test never made an upcall of the row, and an error finding "
                "says a scenario needed it (a row it did not use never fails)"},
    {"warn", "warnings only"},
    {"pass", "for a row: used by the provider under test without a finding; for a rule: checked "
             "without a finding by at least one case that ran to its end"},
    {"not reached", "no finding, and the cases that check the rule (for a row: its rules) "
                    "stopped before its premise held, a step before having failed"},
    {"n/a", "for a row: the provider under test made no upcall of it, and nothing needed it; "
            "for a rule: no case that checks it ran to its end where the rule applies (every one "
            "was skipped or errored, or of the other kind, or, for an LSP.* rule, the run was not "
            "layered)"},
    {"not checkable", "the rule cannot be observed from outside the provider"},
    {"not run", "no case ran"},
};

static const char legend_tail[] =
    "Verdicts are the provider under test's. A rule that no scenario names in its checks counts "
    "as checked by every case. Findings are grouped into defects, one line each: a rule at one "
    "site (the module charged, the WSP call, the upcall) with the cases it was found in. A "
    "defect charged to another module (the provider below a layer) is listed, but the verdict is "
    "not its. Used counts the upcalls of every module, each apart.";

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

/* A link to a rule's row in the rules tables (its ID alone in Markdown). */
static void rule_link(const struct mx *m, const char *id)
{
	if (m->fmt == MD) {
		text(m, id);
		return;
	}
	fputs("<a href=\"#", m->out);
	anchor(m->out, "rule-", id);
	fputs("\"><code>", m->out);
	text(m, id);
	fputs("</code></a>", m->out);
}

/* "Rules broken: 2 (3 defects): A, B": the rules whose verdict is `verdict`, linked. */
static void rules_with(const struct mx *m, const char *label, const char *verdict, int warning)
{
	const struct wsph_ruleset *set = m->r->set;
	size_t i, n = 0, defects = 0, shown = 0;

	for (i = 0; set && i < set->n_rules; i++)
		n += !strcmp(m->rule_v[i], verdict);
	for (i = 0; i < m->gs.n; i++)
		defects += m->gs.v[i].warning == warning && under_test(m, m->gs.v[i].module);
	if (!n && warning)
		return;
	if (m->fmt == MD)
		fprintf(m->out, "- %s: ", label);
	else
		fprintf(m->out, "<dt>%s</dt><dd>", label);
	if (!n)
		fputs("none", m->out);
	else
		fprintf(m->out, "%lu (%lu defect%s): ", (unsigned long)n, (unsigned long)defects,
		        defects == 1 ? "" : "s");
	for (i = 0; set && i < set->n_rules; i++) {
		if (strcmp(m->rule_v[i], verdict) != 0)
			continue;
		if (shown++)
			fputs(", ", m->out);
		rule_link(m, set->rules[i].id);
	}
	fputs(m->fmt == MD ? "\n" : "</dd>\n", m->out);
}

static void page_head(const struct mx *m)
{
	if (m->fmt == MD) {
		fputs("# wspharness conformance matrix\n", m->out);
		return;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<link rel=\"icon\" href=\"data:,\">\n<title>wspharness conformance matrix: ",
	      m->out);
	text(m, m->r->provider ? m->r->provider : "?");
	fprintf(m->out,
	        "</title>\n<style>%s</style>\n</head>\n<body>\n"
	        "<h1>wspharness conformance matrix</h1>\n",
	        css);
}

/* The run's verdict: FAIL when a case failed or errored, else PASS (with warnings), or nothing
 * ran. Writes the line after the verdict word into buf. */
static const char *run_verdict(const struct mx *m, const struct wsph_counts *n, char *buf,
                               size_t len)
{
	const struct wsph_ruleset *set = m->r->set;
	size_t i, broken = 0, warned = 0;

	for (i = 0; set && i < set->n_rules; i++) {
		broken += !strcmp(m->rule_v[i], "fail");
		warned += !strcmp(m->rule_v[i], "warn");
	}
	if (n->failures || n->errors) {
		snprintf(buf, len, "%lu of %lu cases that ran failed or errored; %lu rule%s broken",
		         (unsigned long)(n->failures + n->errors), (unsigned long)m->ran,
		         (unsigned long)broken, broken == 1 ? "" : "s");
		return "FAIL";
	}
	if (!m->ran) {
		snprintf(buf, len, "%s", n->tests ? "every case was skipped" : "no case");
		return "NOTHING RAN";
	}
	snprintf(buf, len, "%lu case%s ran, no rule broken%s", (unsigned long)m->ran,
	         m->ran == 1 ? "" : "s", warned ? "; warnings" : "");
	return "PASS";
}

static void summary(const struct mx *m)
{
	const struct wsph_results *r = m->r;
	struct wsph_counts n;
	size_t u_steps, u_rules, u_cases, len;
	char stamp[48], sha[sizeof r->provider_sha256], cases[256], why[160];
	const char *v;

	wsph_report_format_timestamp(stamp, 32, m->o->deterministic ? 0 : r->timestamp);
	strcat(stamp, " UTC");
	memcpy(sha, r->provider_sha256, sizeof sha);
	sha[sizeof sha - 1] = '\0';
	wsph_results_count(r, &n);
	wsph_results_unreached(r, &u_steps, &u_rules, &u_cases);
	len = (size_t)snprintf(cases, sizeof cases, "%lu passed, %lu failed, %lu errored, %lu skipped",
	                       (unsigned long)(n.tests - n.failures - n.errors - n.skipped),
	                       (unsigned long)n.failures, (unsigned long)n.errors,
	                       (unsigned long)n.skipped);
	if (n.deadlocks && len < sizeof cases)
		len += (size_t)snprintf(cases + len, sizeof cases - len, " (%lu deadlock%s)",
		                        (unsigned long)n.deadlocks, n.deadlocks == 1 ? "" : "s");
	if ((u_steps || u_rules) && len < sizeof cases)
		snprintf(cases + len, sizeof cases - len,
		         "; not reached: %lu step%s, %lu rule%s in %lu case%s",
		         (unsigned long)u_steps, u_steps == 1 ? "" : "s", (unsigned long)u_rules,
		         u_rules == 1 ? "" : "s", (unsigned long)u_cases, u_cases == 1 ? "" : "s");
	v = run_verdict(m, &n, why, sizeof why);
	if (m->fmt == MD) {
		fprintf(m->out, "\n## Summary\n\n**%s**: %s\n\n", v, why);
	} else {
		fprintf(m->out,
		        "<section id=\"summary\" class=\"summary s-%s\" aria-labelledby=\"verdict\">\n"
		        "<h2 id=\"verdict\" class=\"run-verdict\">%s: %s</h2>\n<dl class=\"meta\">\n",
		        v[0] == 'F' ? "fail" : v[0] == 'P' ? "pass" : "none", v, why);
	}
	meta(m, "Provider", r->provider ? r->provider : "?");
	meta(m, "Kind", r->kind ? r->kind : "?");
	meta(m, "Cases", cases);
	if (r->set) {
		rules_with(m, "Rules broken", "fail", 0);
		rules_with(m, "Rules with warnings", "warn", 1);
	}
	meta(m, "Harness", r->harness_version ? r->harness_version : "?");
	meta(m, "Run", stamp);
	if (sha[0])
		meta(m, "SHA-256", sha);
	if (m->fmt == HTML)
		fputs("</dl>\n<p class=\"nav\">Below: <a href=\"#failures-title\">failing cases</a> "
		      "&#183; <a href=\"#upcalls-title\">upcall matrix</a> &#183; "
		      "<a href=\"#lifecycle-rules-title\">lifecycle rules</a> &#183; "
		      "<a href=\"#other-rules-title\">other rules</a></p>\n</section>\n",
		      m->out);
}

/* ---- the failing cases ---- */

/* One line per rule a case broke: "RULE (error, 2 findings, step 5): the first message". */
static void case_findings(const struct mx *m, const struct wsph_case *c)
{
	struct wsph_casemap *cm = m->o->deterministic ? wsph_casemap_new(c) : NULL;
	size_t i, j;

	if (m->fmt == HTML)
		fputs("<ul class=\"case-findings\">", m->out);
	if (c->outcome == WSPH_ERROR) {
		char *msg = wsph_casemap_text(cm, c->error_message);
		fputs(m->fmt == MD ? "\n  - " : "<li class=\"error\">", m->out);
		fputs("error (", m->out);
		text(m, c->error_type ? c->error_type : "?");
		fputs("): ", m->out);
		text(m, msg ? msg : c->error_message);
		free(msg);
		if (m->fmt == HTML)
			fputs("</li>", m->out);
	}
	for (i = 0; i < c->n_findings; i++) {
		const struct wsph_finding *f = &c->findings[i];
		const char *id = f->rule && f->rule->id ? f->rule->id : "?";
		size_t same = 0;
		char *msg;

		for (j = 0; j < i; j++)
			if (c->findings[j].rule == f->rule)
				break;
		if (j < i)
			continue; /* shown with the first finding of its rule */
		for (j = i; j < c->n_findings; j++)
			same += c->findings[j].rule == f->rule;
		msg = wsph_casemap_text(cm, f->message);
		if (m->fmt == MD) {
			fputs("\n  - ", m->out);
		} else { /* the line may be cut at the page's edge: the whole message on hover */
			fputs("<li title=\"", m->out);
			text(m, msg ? msg : f->message);
			fputs("\">", m->out);
		}
		rule_link(m, id);
		fprintf(m->out, " (%s", f->rule && f->rule->severity == WSPH_SEV_WARNING ? "warning"
		                                                                       : "error");
		if (same > 1)
			fprintf(m->out, ", %lu findings", (unsigned long)same);
		if (f->step > 0)
			fprintf(m->out, ", step %d", f->step);
		fputs("): ", m->out);
		if (m->fmt == HTML)
			fputs("<span class=\"message\">", m->out);
		text(m, msg ? msg : f->message);
		free(msg);
		fputs(m->fmt == HTML ? "</span></li>" : "", m->out);
	}
	if (m->fmt == HTML)
		fputs("</ul>", m->out);
	wsph_casemap_free(cm);
}

/* The cases that failed or errored, each with the rules it broke, before any table. */
static void failures(const struct mx *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->r->n_cases; i++)
		n += m->r->cases[i].outcome == WSPH_FAIL || m->r->cases[i].outcome == WSPH_ERROR;
	if (m->fmt == MD)
		fprintf(m->out, "\n## Failing cases (%lu)\n\n", (unsigned long)n);
	else
		fprintf(m->out,
		        "<section id=\"failures\" aria-labelledby=\"failures-title\">\n"
		        "<h2 id=\"failures-title\">Failing cases (%lu)</h2>\n",
		        (unsigned long)n);
	if (!n)
		fputs(m->fmt == MD ? "No case failed or errored.\n"
		                   : "<p>No case failed or errored.</p>\n",
		      m->out);
	else if (m->fmt == HTML)
		fputs("<ol class=\"failures\">\n", m->out);
	for (i = 0; i < m->r->n_cases; i++) {
		const struct wsph_case *c = &m->r->cases[i];
		const char *what = c->outcome == WSPH_FAIL ? "failed" : "errored";
		if (c->outcome != WSPH_FAIL && c->outcome != WSPH_ERROR)
			continue;
		if (m->fmt == MD) {
			fputs("- ", m->out);
			text(m, m->labels[i]);
			fprintf(m->out, ": %s", what);
		} else {
			fprintf(m->out, "<li class=\"case\" id=\"case-%lu\"><code class=\"case-id\">",
			        (unsigned long)(i + 1));
			text(m, m->labels[i]);
			fprintf(m->out, "</code> <span class=\"outcome\">%s</span>", what);
		}
		case_findings(m, c);
		fputs(m->fmt == MD ? "\n" : "</li>\n", m->out);
	}
	if (n && m->fmt == HTML)
		fputs("</ol>\n", m->out);
	if (m->fmt == HTML)
		fputs("</section>\n", m->out);
}

static void legend_block(const struct mx *m)
{
	size_t i;

	if (m->fmt == MD) {
		fputs("\n## Verdicts\n\n", m->out);
		for (i = 0; i < sizeof legend / sizeof legend[0]; i++)
			fprintf(m->out, "- %s: %s.\n", legend[i][0], legend[i][1]);
		fprintf(m->out, "\n%s\n", legend_tail);
		return;
	}
	fputs("<details class=\"legend\"><summary>How to read the verdicts</summary><ul>", m->out);
	for (i = 0; i < sizeof legend / sizeof legend[0]; i++)
		fprintf(m->out, "<li><b>%s</b>: %s.</li>", legend[i][0], legend[i][1]);
	fprintf(m->out, "</ul><p>%s</p></details>\n", legend_tail);
}

/* The provider under test's module name: the base name of the path it was given as. */
static void provider_module(const char *path, char *buf, size_t len)
{
	const char *base = path ? path : "";
	const char *p;

	for (p = base; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	snprintf(buf, len, "%s", base);
}

/* Counts event ev into the per-function module counters. */
static void count_module(struct mx *m, const struct wsph_event *ev)
{
	struct modcount *mc = &m->mods[(size_t)ev->fn * (MODULES_MAX + 1)];
	const char *name = ev->module;
	size_t i;

	for (i = 0; i < MODULES_MAX && mc[i].n; i++)
		if (strcmp(mc[i].module, name) == 0)
			break;
	if (i == MODULES_MAX) {
		mc[MODULES_MAX].n++;
		return;
	}
	if (!mc[i].n)
		snprintf(mc[i].module, sizeof mc[i].module, "%s", name);
	mc[i].n++;
}

static int matrix(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o,
                  enum fmt fmt)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	struct mx m;
	size_t *sel = NULL, *cases = NULL, i;
	int rc = -1;

	if (!out || !r)
		return -1;
	memset(&m, 0, sizeof m);
	m.out = out;
	m.fmt = fmt;
	m.r = r;
	m.o = o ? o : &defaults;
	provider_module(r->provider, m.ut, sizeof m.ut);
	if (wsph_results_groups(r, &m.gs) != 0)
		return -1;
	m.labels = calloc(r->n_cases ? r->n_cases : 1, sizeof *m.labels);
	sel = malloc((m.gs.n ? m.gs.n : 1) * sizeof *sel);
	cases = malloc((r->n_cases ? r->n_cases : 1) * sizeof *cases);
	m.upcalls = calloc((r->n_cases ? r->n_cases : 1) * WSPH_FN_COUNT, sizeof *m.upcalls);
	m.mods = calloc((size_t)WSPH_FN_COUNT * (MODULES_MAX + 1), sizeof *m.mods);
	m.rule_v = calloc(r->set && r->set->n_rules ? r->set->n_rules : 1, sizeof *m.rule_v);
	m.rule_note = calloc(r->set && r->set->n_rules ? r->set->n_rules : 1, sizeof *m.rule_note);
	if (!m.labels || !sel || !cases || !m.upcalls || !m.mods || !m.rule_v || !m.rule_note)
		goto out;
	for (i = 0; i < r->n_cases; i++) {
		size_t k, n = wsph_case_n_events(&r->cases[i]);
		struct wsph_event ev;
		if (!(m.labels[i] = wsph_case_label(&r->cases[i])))
			goto out;
		for (k = 0; k < n && wsph_case_event(&r->cases[i], k, &ev) == 0; k++) {
			if (m.ut[0] && ascii_ieq(ev.module, m.ut))
				m.ut_known = 1;
			if (ev.kind == WSPH_EV_UPCALL && (int)ev.fn >= 0 && ev.fn < WSPH_FN_COUNT) {
				m.upcalls[i * WSPH_FN_COUNT + ev.fn]++;
				count_module(&m, &ev);
			}
		}
	}
	for (i = 0; i < r->n_cases; i++)
		m.ran += r->cases[i].outcome != WSPH_SKIP;
	rule_verdicts(&m, sel);
	page_head(&m);
	summary(&m);
	failures(&m);
	legend_block(&m);
	if (!r->set) {
		fputs(fmt == MD ? "\nNo rule catalogue was given to the report.\n"
		                : "<p>No rule catalogue was given to the report.</p>\n",
		      out);
	} else {
		upcall_table(&m, sel, cases);
		rules_table(&m, sel, 1);
		rules_table(&m, sel, 0);
	}
	if (fmt == HTML)
		fputs("</body>\n</html>\n", out);
	rc = ferror(out) ? -1 : 0;
out:
	for (i = 0; m.labels && i < r->n_cases; i++)
		free(m.labels[i]);
	free(m.labels);
	free(m.upcalls);
	free(m.mods);
	free((void *)m.rule_v);
	free(m.rule_note);
	free(sel);
	free(cases);
	wsph_groups_free(&m.gs);
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
