/* The human summary: the failing cases, one line per finding (its message names the step and the
 * decoded call); the defects (findings grouped by rule and site), one line each; each broken rule's
 * statement and source once; a table of the broken rules by count; one line of totals. With
 * verbose, every case with all its findings, their places and trace excerpts, and what it did not
 * reach. Also the progress on stderr while running. */
#include "casemap.h"
#include "report.h"

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

/* "  RULE [error]: message", its place and excerpt (the rule's statement and source are printed
 * once, under "Rules broken"); with_id 0 leaves the rule ID out. */
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
	if (f->excerpt)
		put_mapped(k, f->excerpt, put_indented_plain);
}

static void put_finding(const struct con *k, const struct wsph_case *c,
			const struct wsph_finding *f)
{
	put_finding_as(k, c, f, 1);
}

/* "FAIL  suite/scenario[kind]  (file:line)": the case ID that --filter, list and the progress
 * line use; the status words are padded to one width. */
static void put_head(const struct con *k, const struct wsph_case *c, const char *status,
		     const char *code)
{
	FILE *out = k->out;
	char *label = wsph_case_label(c);

	if (code)
		color_on(k, code);
	fputs(status, out);
	if (code)
		color_off(k);
	fprintf(out, "%*s", (int)(6 - strlen(status)), "");
	put_clean(out, label ? label : c->name);
	free(label);
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

/* "[12/48] sockets.stream/connect-accept-transfer[nonifs] ... ok". On a terminal each line
 * replaces the previous one, and only failures, errors and the last case stay on screen;
 * with verbose every case gets its own line, terminal or not. */
void wsph_console_progress(void *ctx, size_t done, size_t total, const struct wsph_case *c)
{
	const struct wsph_console_progress *o = ctx;
	int verbose = o && o->verbose;
	int tty = o && o->tty;
	int color = o && o->color > 0;
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

/* A failing case without -v: its error, one line per finding, "  RULE [error] line 12: step 3
 * (bind): WSPBind(s=0x3c000000, name=127.0.0.1:5000) -> SOCKET_ERROR, ..." (the message names the
 * step and the call with its arguments by name; the line is the step's in the case's file), and
 * how much it did not reach. */
static void put_case_brief(const struct con *k, const struct wsph_case *c)
{
	FILE *out = k->out;
	size_t i, steps = 0, rules = 0;

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
		const struct wsph_finding *f = &c->findings[i];
		int other_file = f->loc.file && (!c->file || strcmp(f->loc.file, c->file) != 0);
		fputs("  ", out);
		put_clean(out, f->rule && f->rule->id ? f->rule->id : "?");
		put_severity(k, is_warning(f));
		if (other_file) {
			fputc(' ', out);
			put_clean(out, f->loc.file);
			if (f->loc.line > 0)
				fprintf(out, ":%d", f->loc.line);
		} else if (f->loc.line > 0) {
			fprintf(out, " line %d", f->loc.line);
		}
		fputs(": ", out);
		if (f->message)
			put_mapped(k, f->message, put_clean);
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
 * passthru.dll, WSPCleanup" and, when there are several, its findings' cases. */
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
	return 0;
}

/* One broken rule over the run: its findings and the cases they are in. */
struct broken {
	const struct wsph_rule *rule; /* the first finding's (NULL when it has none) */
	const char *id;
	int warning;
	size_t findings, cases;
	size_t last_case; /* the last case counted, + 1 (0: none yet) */
};

struct brokens {
	struct broken *v;
	size_t n;
};

/* Every rule with a finding, in order of first appearance; 0, or -1 when out of memory. */
static int brokens_collect(const struct wsph_results *r, struct brokens *b)
{
	size_t i, j, m, cap = 0;

	b->v = NULL;
	b->n = 0;
	for (i = 0; i < r->n_cases; i++)
		for (j = 0; j < r->cases[i].n_findings; j++) {
			const struct wsph_finding *f = &r->cases[i].findings[j];
			const char *id = f->rule && f->rule->id ? f->rule->id : "?";
			for (m = 0; m < b->n && strcmp(b->v[m].id, id) != 0; m++)
				;
			if (m == b->n) {
				if (b->n == cap) {
					struct broken *nv;
					cap = cap ? cap * 2 : 16;
					nv = realloc(b->v, cap * sizeof *nv);
					if (!nv) {
						free(b->v);
						b->v = NULL;
						b->n = 0;
						return -1;
					}
					b->v = nv;
				}
				memset(&b->v[m], 0, sizeof b->v[m]);
				b->v[m].rule = f->rule;
				b->v[m].id = id;
				b->v[m].warning = is_warning(f);
				b->n++;
			}
			b->v[m].findings++;
			if (b->v[m].last_case != i + 1) {
				b->v[m].cases++;
				b->v[m].last_case = i + 1;
			}
		}
	return 0;
}

/* Most cases first, then most findings, errors before warnings, then by ID: a stable order. */
static int by_count(const void *pa, const void *pb)
{
	const struct broken *a = pa, *b = pb;

	if (a->cases != b->cases)
		return a->cases < b->cases ? 1 : -1;
	if (a->findings != b->findings)
		return a->findings < b->findings ? 1 : -1;
	if (a->warning != b->warning)
		return a->warning - b->warning;
	return strcmp(a->id, b->id);
}

/* "Rules broken": each rule's statement and source, once per run: errors, then warnings, each in
 * order of first appearance. */
static void put_rule_broken(const struct con *k, const struct broken *br)
{
	FILE *out = k->out;
	const struct wsph_rule *rule = br->rule;

	color_on(k, br->warning ? YELLOW : RED);
	put_clean(out, br->id);
	color_off(k);
	fputs(br->warning ? " [warning" : " [error", out);
	if (rule && rule->level && *rule->level) {
		fputs(", ", out);
		put_clean(out, rule->level);
	}
	fputs("]\n", out);
	if (rule && rule->statement) {
		fputs("  rule: ", out);
		put_clean(out, rule->statement);
		fputc('\n', out);
	}
	if (rule && rule->source) {
		fputs("  source: ", out);
		put_clean(out, rule->source);
		fputc('\n', out);
	}
}

static void put_rules_broken(const struct con *k, const struct brokens *b)
{
	size_t i;
	int warnings;

	fprintf(k->out, "\nRules broken (%lu):\n", (unsigned long)b->n);
	for (warnings = 0; warnings < 2; warnings++)
		for (i = 0; i < b->n; i++)
			if (b->v[i].warning == warnings)
				put_rule_broken(k, &b->v[i]);
}

/* The closing table: the broken rules by count, most first. */
static void put_rule_table(const struct con *k, struct brokens *b)
{
	FILE *out = k->out;
	size_t i, w = strlen("rule");

	qsort(b->v, b->n, sizeof *b->v, by_count);
	for (i = 0; i < b->n; i++)
		if (strlen(b->v[i].id) > w)
			w = strlen(b->v[i].id);
	fprintf(out, "\n%-*s  %5s  %8s\n", (int)w, "rule", "cases", "findings");
	for (i = 0; i < b->n; i++) {
		put_clean(out, b->v[i].id);
		fprintf(out, "%*s  %5lu  %8lu%s\n", (int)(w - strlen(b->v[i].id)), "",
			(unsigned long)b->v[i].cases, (unsigned long)b->v[i].findings,
			b->v[i].warning ? "  (warning)" : "");
	}
}

/* Every case as the summary shows it: failures and errors in brief (in full with verbose, with
 * the passing and skipped ones); 0, or -1 when out of memory. */
static int put_cases(struct con *k, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	size_t i;

	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		struct wsph_casemap *map = NULL;
		int bad = c->outcome == WSPH_FAIL || c->outcome == WSPH_ERROR;
		int shown = bad || (o->verbose && c->n_findings);
		if (o->deterministic && shown && !(map = wsph_casemap_new(c)))
			return -1;
		k->map = map;
		if (bad && !o->verbose)
			put_case_brief(k, c);
		else
			put_case(k, c, o->verbose);
		k->map = NULL;
		wsph_casemap_free(map);
	}
	return 0;
}

/* "N of what", in colour when there are any (code NULL: never). */
static void put_count(const struct con *k, unsigned long n, const char *what, const char *code)
{
	if (n && code)
		color_on(k, code);
	fprintf(k->out, "%lu %s", n, what);
	if (n && code)
		color_off(k);
}

/* The last line: "2 passed, 1 failed, 1 errors, 1 skipped, 2 warnings in 12.345 s; 2 defects;
 * not reached: 3 steps, 1 rule in 2 cases" ("1 errors (1 deadlock)" when some error is one). */
static void put_totals(const struct con *k, const struct wsph_results *r,
		       const struct wsph_report_opts *o, size_t defects)
{
	FILE *out = k->out;
	struct wsph_counts n;
	size_t u_steps, u_rules, u_cases;

	wsph_results_count(r, &n);
	wsph_results_unreached(r, &u_steps, &u_rules, &u_cases);
	color_on(k, GREEN); /* even 0 passed */
	fprintf(out, "%lu passed", (unsigned long)(n.tests - n.failures - n.errors - n.skipped));
	color_off(k);
	fputs(", ", out);
	put_count(k, (unsigned long)n.failures, "failed", RED);
	fputs(", ", out);
	put_count(k, (unsigned long)n.errors, "errors", RED);
	if (n.deadlocks)
		fprintf(out, " (%lu deadlock%s)", (unsigned long)n.deadlocks,
			n.deadlocks == 1 ? "" : "s");
	fputs(", ", out);
	put_count(k, (unsigned long)n.skipped, "skipped", NULL);
	if (n.warnings) {
		fputs(", ", out);
		put_count(k, (unsigned long)n.warnings, "warnings", YELLOW);
	}
	if (!o->deterministic) {
		char t[32];
		wsph_report_format_millis(t, sizeof t, wsph_report_millis(r->time));
		fprintf(out, " in %s s", t);
	}
	if (defects)
		fprintf(out, "; %lu defect%s", (unsigned long)defects, defects == 1 ? "" : "s");
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
}

int wsph_report_console(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	struct wsph_groups gs;
	struct brokens b = {NULL, 0};
	struct con k;
	size_t i;
	int rc = -1;

	if (!out || !r)
		return -1;
	if (!o)
		o = &defaults;
	k.out = out;
	k.color = o->color > 0;
	k.map = NULL;
	if (wsph_results_groups(r, &gs) != 0)
		return -1;
	if (brokens_collect(r, &b) != 0 || put_cases(&k, r, o) != 0)
		goto out;
	if (gs.n) {
		fprintf(out, "\n%lu defect%s (findings of one rule at one site: module, WSP call, "
			     "upcall):\n",
			(unsigned long)gs.n, gs.n == 1 ? "" : "s");
		for (i = 0; i < gs.n; i++)
			if (put_group(&k, r, &gs.v[i], o) != 0)
				goto out;
	}
	if (b.n) {
		put_rules_broken(&k, &b);
		put_rule_table(&k, &b);
	}
	if (gs.n || b.n)
		fputc('\n', out);
	put_totals(&k, r, o, gs.n);
	rc = ferror(out) ? -1 : 0;
out:
	free(b.v);
	wsph_groups_free(&gs);
	return rc;
}

/* The periodic progress line (harness/progress.c prints it on a stderr that is not a terminal):
 * "[ 12/48]  25% 00:31 elapsed, current: sockets.stream/connect-refused[nonifs]". */
void wsph_console_tick(FILE *out, size_t done, size_t total, uint64_t elapsed_s,
		       const char *current)
{
	int width = (int)snprintf(NULL, 0, "%lu", (unsigned long)total);

	fprintf(out, "[%*lu/%lu] %3lu%% %02lu:%02lu elapsed", width, (unsigned long)done,
		(unsigned long)total, total ? (unsigned long)(done * 100 / total) : 0UL,
		(unsigned long)(elapsed_s / 60), (unsigned long)(elapsed_s % 60));
	if (current) {
		fputs(", current: ", out);
		put_clean(out, current);
	}
	fputc('\n', out);
}
