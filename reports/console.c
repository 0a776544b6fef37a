/* The human summary: failing cases with every finding, then one line of totals. */
#include "report.h"
#include "platform/platform.h"

#include <string.h>

#define RED "\x1b[31m"
#define GREEN "\x1b[32m"
#define YELLOW "\x1b[33m"
#define RESET "\x1b[0m"

struct con {
	FILE *out;
	int color;
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

static int is_warning(const struct wsph_finding *f)
{
	return f->rule && f->rule->severity == WSPH_SEV_WARNING;
}

static void put_finding(const struct con *k, const struct wsph_case *c,
			const struct wsph_finding *f)
{
	FILE *out = k->out;
	const char *file = f->loc.file ? f->loc.file : c->file;

	fputs("  ", out);
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
	fputs("]: ", out);
	put_clean(out, f->message);
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
		put_indented(out, f->excerpt, "    ");
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
			put_clean(out, c->error_message);
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
}

int wsph_report_console(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	struct wsph_counts n;
	struct con k;
	size_t i;

	if (!out || !r)
		return -1;
	if (!o)
		o = &defaults;
	k.out = out;
	k.color = o->color == WSPH_COLOR_AUTO ? wsph_plat_stream_is_tty(out) : o->color != 0;

	for (i = 0; i < r->n_cases; i++)
		put_case(&k, &r->cases[i], o->verbose);

	wsph_results_count(r, &n);
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
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}
