/* The human summary: failing cases with every finding, then one line of totals. */
#include "casemap.h"
#include "report.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

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
	k.color = wsph_console_color(out, o->color);
	k.map = NULL;

	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		struct wsph_casemap *map = NULL;
		int shown = c->outcome == WSPH_FAIL || c->outcome == WSPH_ERROR ||
			    (o->verbose && c->n_findings);
		if (o->deterministic && shown && !(map = wsph_casemap_new(c)))
			return -1;
		k.map = map;
		put_case(&k, c, o->verbose);
		k.map = NULL;
		wsph_casemap_free(map);
	}

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
