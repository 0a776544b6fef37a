/* The human summary: the failing cases, one line per finding's rule; then the defects (findings
 * grouped by rule and site), one line each with the full text once; then one line of totals. With
 * verbose, every case with all its findings and what it did not reach. */
#include "casemap.h"
#include "report.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

/* U+2014, the separator before a defect's site (spelled out: the sources stay ASCII). */
#define EM_DASH "\xE2\x80\x94"

#define RED "\x1b[31m"
#define GREEN "\x1b[32m"
#define YELLOW "\x1b[33m"
#define RESET "\x1b[0m"

struct con {
	FILE *out;
	int color;
	const struct wsph_casemap *map; /* deterministic: pointer placeholders of the current case */
};

static void color_on(const struct con *k, const char *code)
{
	if (k->color)
		fputs(code, k->out);
}

static void color_off(const struct con *k)
{
	if (k->color)
		fputs(RESET, k->out);
}

/* Writes n bytes of s with control characters (ESC included) shown as '?', so provider text
 * cannot drive the terminal; TAB stays, line breaks become spaces. */
static void put_clean_n(FILE *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b == '\n' || b == '\r')
			fputc(' ', out);
		else if ((b < 0x20 && b != '\t') || b == 0x7F)
			fputc('?', out);
		else
			fputc(b, out);
	}
}

static void put_clean(FILE *out, const char *s)
{
	if (s)
		put_clean_n(out, s, strlen(s));
}

/* Text that may carry pointer values: through the case's placeholders when deterministic. */
static void put_mapped(const struct con *k, const char *s, void (*put)(FILE *, const char *))
{
	char *t = k->map ? wsph_casemap_text(k->map, s) : NULL;
	put(k->out, t ? t : s);
	free(t);
}

static void put_indented_plain(FILE *out, const char *s);

static void put_indented(FILE *out, const char *s, const char *indent)
{
	while (*s) {
		size_t len = strcspn(s, "\n"), n = len;
		if (n && s[n - 1] == '\r')
			n--; /* CRLF excerpts */
		fputs(indent, out);
		put_clean_n(out, s, n);
		fputc('\n', out);
		s += len;
		if (*s == '\n')
			s++;
	}
}

static void put_indented_plain(FILE *out, const char *s)
{
	put_indented(out, s, "    ");
}

static int is_warning(const struct wsph_finding *f)
{
	return f->rule && f->rule->severity == WSPH_SEV_WARNING;
}

/* "  RULE [error]: message", its place, rule, source and excerpt; with_id 0 leaves the rule ID out
 * (under a defect's line, which names it). */
static void put_finding_as(const struct con *k, const struct wsph_case *c,
			   const struct wsph_finding *f, int with_id)
{
	FILE *out = k->out;
	const char *file = f->loc.file ? f->loc.file : c->file;

	fputs(with_id ? "  " : " ", out);
	if (with_id)
		put_clean(out, f->rule && f->rule->id ? f->rule->id : "?");
	fputs(" [", out);
	if (is_warning(f)) {
		color_on(k, YELLOW);
		fputs("warning", out);
	} else {
		color_on(k, RED);
		fputs("error", out);
	}
	color_off(k);
	fputs(with_id ? "]: " : "] ", out);
	if (f->message)
		put_mapped(k, f->message, put_clean);
	fputc('\n', out);
	if (f->step > 0 || file) {
		fputs("    at", out);
		if (f->step > 0)
			fprintf(out, " step %d%s", f->step, file ? "," : "");
		if (file) {
			fputc(' ', out);
			put_clean(out, file);
			if (f->loc.line > 0)
				fprintf(out, ":%d:%d", f->loc.line, f->loc.col);
		}
		fputc('\n', out);
	}
	if (f->rule && f->rule->statement) {
		fputs("    rule: ", out);
		put_clean(out, f->rule->statement);
		fputc('\n', out);
	}
	if (f->rule && f->rule->source) {
		fputs("    source: ", out);
		put_clean(out, f->rule->source);
		fputc('\n', out);
	}
	if (f->excerpt)
		put_mapped(k, f->excerpt, put_indented_plain);
}

static void put_finding(const struct con *k, const struct wsph_case *c,
			const struct wsph_finding *f)
{
	put_finding_as(k, c, f, 1);
}

/* "FAIL  wspharness.x name  (file:line)"; the status words are padded to one width. */
static void put_head(const struct con *k, const struct wsph_case *c, const char *status,
		     const char *code)
{
	FILE *out = k->out;

	if (code)
		color_on(k, code);
	fputs(status, out);
	if (code)
		color_off(k);
	fprintf(out, "%*s", (int)(6 - strlen(status)), "");
	put_clean(out, c->classname ? c->classname : "wspharness");
	fputc(' ', out);
	put_clean(out, c->name);
	if (c->file) {
		fputs("  (", out);
		put_clean(out, c->file);
		if (c->line > 0)
			fprintf(out, ":%d", c->line);
		fputc(')', out);
	}
}

static void put_unreached(const struct con *k, const struct wsph_case *c)
{
	char line[1024];
	size_t i;

	for (i = 0; i < c->n_unreached; i++) {
		wsph_unreached_format(&c->unreached[i], line, sizeof line);
		fputs("  not reached: ", k->out);
		put_clean(k->out, line);
		fputc('\n', k->out);
	}
}

static void put_case(const struct con *k, const struct wsph_case *c, int verbose)
{
	FILE *out = k->out;
	size_t i;

	switch (c->outcome) {
	case WSPH_FAIL:
		put_head(k, c, "FAIL", RED);
		fputc('\n', out);
		for (i = 0; i < c->n_findings; i++)
			put_finding(k, c, &c->findings[i]);
		break;
	case WSPH_ERROR:
		put_head(k, c, "ERROR", RED);
		fputs("\n  ", out);
		put_clean(out, c->error_type && *c->error_type ? c->error_type : "error");
		if (c->error_message && *c->error_message) {
			fputs(": ", out);
			put_mapped(k, c->error_message, put_clean);
		}
		fputc('\n', out);
		for (i = 0; i < c->n_findings; i++)
			put_finding(k, c, &c->findings[i]);
		break;
	case WSPH_SKIP:
	case WSPH_PASS:
	default:
		if (!verbose)
			break;
		put_head(k, c, c->outcome == WSPH_SKIP ? "SKIP" : "PASS", NULL);
		if (c->outcome == WSPH_SKIP && c->skip_reason) {
			fputs(": ", out);
			put_clean(out, c->skip_reason);
		}
		fputc('\n', out);
		for (i = 0; i < c->n_findings; i++)
			if (is_warning(&c->findings[i]))
				put_finding(k, c, &c->findings[i]);
		break;
	}
	if (verbose)
		put_unreached(k, c);
}

int wsph_console_color(FILE *stream, int requested)
{
	const char *no = getenv("NO_COLOR");

	if (requested != WSPH_COLOR_AUTO)
		return requested != 0;
	if (no && *no) /* https://no-color.org: present and not empty */
		return 0;
	return wsph_plat_stream_is_tty(stream);
}

/* "[12/48] sockets.stream/connect-accept-transfer[nonifs] ... ok". On a terminal each line
 * replaces the previous one, and only failures, errors and the last case stay on screen;
 * with verbose every case gets its own line, terminal or not. */
void wsph_console_progress(void *ctx, size_t done, size_t total, const struct wsph_case *c)
{
	const struct wsph_report_opts *o = ctx;
	int verbose = o && o->verbose;
	int tty = wsph_plat_stream_is_tty(stderr);
	int color = wsph_console_color(stderr, o ? o->color : WSPH_COLOR_AUTO);
	const char *word = "ok", *code = GREEN;
	char *label;
	int keep;

	if (!c || (!tty && !verbose))
		return;
	switch (c->outcome) {
	case WSPH_FAIL:
		word = "FAIL";
		code = RED;
		break;
	case WSPH_ERROR:
		word = "ERROR";
		code = RED;
		break;
	case WSPH_SKIP:
		word = "skip";
		code = YELLOW;
		break;
	case WSPH_PASS:
	default:
		break;
	}
	keep = verbose || !tty || c->outcome == WSPH_FAIL || c->outcome == WSPH_ERROR ||
	       done >= total;
	label = wsph_case_label(c);
	if (tty && !verbose)
		fputs("\r\x1b[K", stderr);
	fprintf(stderr, "[%lu/%lu] ", (unsigned long)done, (unsigned long)total);
	put_clean(stderr, label ? label : c->name);
	fputs(" ... ", stderr);
	if (color)
		fputs(code, stderr);
	fputs(word, stderr);
	if (color)
		fputs(RESET, stderr);
	if (keep)
		fputc('\n', stderr);
	fflush(stderr);
	free(label);
}

/* How many groups share g's rule: then a case's line names the site too, to tell them apart. */
static size_t groups_of_rule(const struct wsph_groups *gs, const struct wsph_group *g)
{
	size_t i, n = 0;

	for (i = 0; i < gs->n; i++)
		n += strcmp(gs->v[i].rule_id, g->rule_id) == 0;
	return n;
}

static void put_site(const struct con *k, const struct wsph_group *g, const char *lead)
{
	char site[256];

	wsph_site_format(g->module, g->call_fn, g->upcall_fn, site, sizeof site);
	if (!site[0])
		return;
	fputs(lead, k->out);
	put_clean(k->out, site);
}

static void put_severity(const struct con *k, int warning)
{
	fputs(" [", k->out);
	color_on(k, warning ? YELLOW : RED);
	fputs(warning ? "warning" : "error", k->out);
	color_off(k);
	fputc(']', k->out);
}

/* A failing case without the finding texts (the defects below hold them): one line per group the
 * case has findings in, "  RULE [error] at steps 10, 11, 12", and how much it did not reach. */
static void put_case_brief(const struct con *k, const struct wsph_case *c,
			   const struct wsph_groups *gs)
{
	FILE *out = k->out;
	size_t i, j, steps = 0, rules = 0;

	put_head(k, c, c->outcome == WSPH_ERROR ? "ERROR" : "FAIL", RED);
	fputc('\n', out);
	if (c->outcome == WSPH_ERROR) {
		fputs("  ", out);
		put_clean(out, c->error_type && *c->error_type ? c->error_type : "error");
		if (c->error_message && *c->error_message) {
			fputs(": ", out);
			put_mapped(k, c->error_message, put_clean);
		}
		fputc('\n', out);
	}
	for (i = 0; i < c->n_findings; i++) {
		size_t g = wsph_groups_find(gs, &c->findings[i]), n_steps = 0, printed;
		for (j = 0; j < i; j++) /* the group's first finding in this case prints the line */
			if (wsph_groups_find(gs, &c->findings[j]) == g)
				break;
		if (j < i)
			continue;
		fputs("  ", out);
		put_clean(out, g < gs->n ? gs->v[g].rule_id : "?");
		put_severity(k, is_warning(&c->findings[i]));
		for (j = i; j < c->n_findings; j++)
			n_steps += c->findings[j].step > 0 &&
				   wsph_groups_find(gs, &c->findings[j]) == g;
		if (n_steps)
			fputs(n_steps > 1 ? " at steps " : " at step ", out);
		for (j = i, printed = 0; j < c->n_findings; j++) {
			if (c->findings[j].step <= 0 || wsph_groups_find(gs, &c->findings[j]) != g)
				continue;
			fprintf(out, "%s%d", printed++ ? ", " : "", c->findings[j].step);
		}
		if (g < gs->n && groups_of_rule(gs, &gs->v[g]) > 1)
			put_site(k, &gs->v[g], " " EM_DASH " ");
		fputc('\n', out);
	}
	for (i = 0; i < c->n_unreached; i++) {
		steps += c->unreached[i].rule == NULL;
		rules += c->unreached[i].rule != NULL;
	}
	if (steps || rules) {
		fputs("  not reached:", out);
		if (steps)
			fprintf(out, " %lu step%s", (unsigned long)steps, steps == 1 ? "" : "s");
		if (rules)
			fprintf(out, "%s %lu rule%s", steps ? "," : "", (unsigned long)rules,
				rules == 1 ? "" : "s");
		fputs(" (-v says which and why)\n", out);
	}
}

#define CASES_SHOWN 8 /* case IDs listed under a defect before "and N more" (all with -v) */

/* "SPI.Cleanup.SuccessReturnsZero in 57 cases (first: lifecycle.startup/startup[nonifs]) -
 * passthru.dll, WSPCleanup", the cases when there are several, and without verbose the first
 * finding in full (verbose printed every finding with its case already). */
static int put_group(struct con *k, const struct wsph_results *r, const struct wsph_group *g,
		     const struct wsph_report_opts *o)
{
	FILE *out = k->out;
	const struct wsph_case *first = &r->cases[g->first_case];
	char *label = wsph_case_label(first);
	size_t i, shown;

	if (!label)
		return -1;
	color_on(k, g->warning ? YELLOW : RED);
	put_clean(out, g->rule_id);
	color_off(k);
	if (g->warning) /* errors come first and need no word; a warning says it is one */
		fputs(" [warning]", out);
	fprintf(out, " in %lu case%s (first: ", (unsigned long)g->n_cases, g->n_cases == 1 ? "" : "s");
	put_clean(out, label);
	fputc(')', out);
	free(label);
	put_site(k, g, " " EM_DASH " ");
	fputc('\n', out);
	if (g->n_cases > 1 || g->n_findings > 1) {
		fprintf(out, "  %lu finding%s in: ", (unsigned long)g->n_findings,
			g->n_findings == 1 ? "" : "s");
		shown = o->verbose ? g->n_cases : CASES_SHOWN;
		for (i = 0; i < g->n_cases && i < shown; i++) {
			char *id = wsph_case_label(&r->cases[g->cases[i]]);
			if (!id)
				return -1;
			if (i)
				fputs(", ", out);
			put_clean(out, id);
			free(id);
		}
		if (g->n_cases > shown)
			fprintf(out, " and %lu more (-v lists them)",
				(unsigned long)(g->n_cases - shown));
		fputc('\n', out);
	}
	if (!o->verbose) {
		struct wsph_casemap *map = NULL;
		if (o->deterministic && !(map = wsph_casemap_new(first)))
			return -1;
		k->map = map;
		put_finding_as(k, first, g->first, 0);
		k->map = NULL;
		wsph_casemap_free(map);
	}
	return 0;
}

int wsph_report_console(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	struct wsph_counts n;
	struct wsph_groups gs;
	struct con k;
	size_t i, u_steps, u_rules, u_cases;
	int rc = -1;

	if (!out || !r)
		return -1;
	if (!o)
		o = &defaults;
	k.out = out;
	k.color = wsph_console_color(out, o->color);
	k.map = NULL;
	if (wsph_results_groups(r, &gs) != 0)
		return -1;

	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		struct wsph_casemap *map = NULL;
		int bad = c->outcome == WSPH_FAIL || c->outcome == WSPH_ERROR;
		int shown = bad || (o->verbose && c->n_findings);
		if (o->deterministic && shown && !(map = wsph_casemap_new(c)))
			goto out;
		k.map = map;
		if (bad && !o->verbose)
			put_case_brief(&k, c, &gs);
		else
			put_case(&k, c, o->verbose);
		k.map = NULL;
		wsph_casemap_free(map);
	}

	if (gs.n) {
		fprintf(out, "\n%lu defect%s (findings of one rule at one site: module, WSP call, "
			     "upcall):\n",
			(unsigned long)gs.n, gs.n == 1 ? "" : "s");
		for (i = 0; i < gs.n; i++) {
			if (i && !o->verbose)
				fputc('\n', out);
			if (put_group(&k, r, &gs.v[i], o) != 0)
				goto out;
		}
		fputc('\n', out);
	}

	wsph_results_count(r, &n);
	wsph_results_unreached(r, &u_steps, &u_rules, &u_cases);
	color_on(&k, GREEN);
	fprintf(out, "%lu passed", (unsigned long)(n.tests - n.failures - n.errors - n.skipped));
	color_off(&k);
	fputs(", ", out);
	if (n.failures)
		color_on(&k, RED);
	fprintf(out, "%lu failed", (unsigned long)n.failures);
	if (n.failures)
		color_off(&k);
	fputs(", ", out);
	if (n.errors)
		color_on(&k, RED);
	fprintf(out, "%lu errors", (unsigned long)n.errors);
	if (n.errors)
		color_off(&k);
	fprintf(out, ", %lu skipped", (unsigned long)n.skipped);
	if (n.warnings) {
		fputs(", ", out);
		color_on(&k, YELLOW);
		fprintf(out, "%lu warnings", (unsigned long)n.warnings);
		color_off(&k);
	}
	if (!o->deterministic) {
		char t[32];
		wsph_report_format_millis(t, sizeof t, wsph_report_millis(r->time));
		fprintf(out, " in %s s", t);
	}
	if (gs.n)
		fprintf(out, "; %lu defect%s", (unsigned long)gs.n, gs.n == 1 ? "" : "s");
	if (u_steps || u_rules) {
		fputs("; not reached:", out);
		if (u_steps)
			fprintf(out, " %lu step%s", (unsigned long)u_steps, u_steps == 1 ? "" : "s");
		if (u_rules)
			fprintf(out, "%s %lu rule%s", u_steps ? "," : "", (unsigned long)u_rules,
				u_rules == 1 ? "" : "s");
		fprintf(out, " in %lu case%s", (unsigned long)u_cases, u_cases == 1 ? "" : "s");
	}
	fputc('\n', out);
	rc = ferror(out) ? -1 : 0;
out:
	wsph_groups_free(&gs);
	return rc;
}
