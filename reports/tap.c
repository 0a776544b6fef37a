/* TAP version 13, as `meson test` (protocol: 'tap') and prove read it: one flat plan, one test
 * point per case, the findings in a YAML diagnostics block, skips as "# SKIP reason", the steps
 * and rules a case did not reach as "# not reached: ..." comments after it. */
#include "casemap.h"
#include "json.h"
#include "report.h"
#include "util.h"
#include "xml.h"

#include <stdlib.h>
#include <string.h>

/* A description or directive on the test point's line: one line of valid UTF-8 (bad bytes become
 * U+FFFD), no control characters, and '#' and '\' escaped (TAP 14 section "Escaping") so a name
 * can never start a directive. */
static void put_line_text(FILE *out, const char *s, int escape_hash)
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
			fputc('?', out);
		else if (escape_hash && (c == '#' || c == '\\')) {
			fputc('\\', out);
			fputc((int)c, out);
		} else
			fwrite(p, 1, n, out);
		p += n;
	}
}

/* key: "value" at the given indent; values go through the JSON escaper, whose output is a valid
 * YAML double-quoted scalar. NULL values are left out. */
static void put_yaml_str(FILE *out, const char *indent, const char *key, const char *value)
{
	if (!value)
		return;
	fprintf(out, "%s%s: ", indent, key);
	wsph_json_string(out, value);
	fputc('\n', out);
}

static void put_yaml_mapped(FILE *out, const char *indent, const char *key, const char *value,
                            const struct wsph_casemap *m)
{
	char *t;

	if (!value)
		return;
	t = wsph_casemap_text(m, value);
	put_yaml_str(out, indent, key, t ? t : value);
	free(t);
}

static int is_warning(const struct wsph_finding *f)
{
	return f->rule && f->rule->severity == WSPH_SEV_WARNING;
}

static void put_finding(FILE *out, const struct wsph_case *c, const struct wsph_finding *f,
                        const struct wsph_casemap *m)
{
	const char *file = f->loc.file ? f->loc.file : c->file;
	uint64_t seq = wsph_finding_seq(f);

	fputs("    - rule: ", out);
	wsph_json_string(out, f->rule && f->rule->id ? f->rule->id : "?");
	fputc('\n', out);
	fprintf(out, "      severity: %s\n", is_warning(f) ? "warning" : "error");
	put_yaml_str(out, "      ", "level", f->rule ? f->rule->level : NULL);
	if (f->step > 0)
		fprintf(out, "      step: %d\n", f->step);
	if (file) {
		char *at =
		    f->loc.line > 0 ? wsph_format("%s:%d:%d", file, f->loc.line, f->loc.col) : NULL;
		fputs("      at: ", out);
		wsph_json_string(out, at ? at : file);
		fputc('\n', out);
		free(at);
	}
	if (seq)
		fprintf(out, "      event: %llu\n", (unsigned long long)wsph_casemap_seq(m, seq));
	put_yaml_mapped(out, "      ", "message", f->message, m);
	put_yaml_str(out, "      ", "statement", f->rule ? f->rule->statement : NULL);
	put_yaml_str(out, "      ", "source", f->rule ? f->rule->source : NULL);
	if (m) {
		char *ex = wsph_casemap_excerpt(m, f);
		put_yaml_str(out, "      ", "trace", ex ? ex : f->excerpt);
		free(ex);
	} else {
		put_yaml_str(out, "      ", "trace", f->excerpt);
	}
}

/* The first error finding (else the first finding): what the one-line message names. */
static const struct wsph_finding *headline(const struct wsph_case *c)
{
	size_t i;

	for (i = 0; i < c->n_findings; i++)
		if (!is_warning(&c->findings[i]))
			return &c->findings[i];
	return c->n_findings ? &c->findings[0] : NULL;
}

static void put_diagnostics(FILE *out, const struct wsph_case *c, const struct wsph_casemap *m,
                            const struct wsph_report_opts *o)
{
	const struct wsph_finding *h = headline(c);
	size_t i;

	fputs("  ---\n", out);
	if (c->outcome == WSPH_ERROR) {
		char *msg = wsph_casemap_text(m, c->error_message ? c->error_message : "");
		fputs("  severity: error\n", out);
		put_yaml_str(out, "  ", "error_type", c->error_type ? c->error_type : "error");
		put_yaml_str(out, "  ", "message", msg ? msg : "");
		free(msg);
	} else {
		char *text = NULL, *msg = NULL;
		fprintf(out, "  severity: %s\n", c->outcome == WSPH_FAIL ? "fail" : "warning");
		if (h) {
			msg = wsph_casemap_text(m, h->message ? h->message : "");
			if (msg)
				text = wsph_format("%s: %s",
				                   h->rule && h->rule->id ? h->rule->id : "?", msg);
		}
		put_yaml_str(out, "  ", "message", text ? text : "failed without a finding");
		free(text);
		free(msg);
	}
	put_yaml_str(out, "  ", "file", c->file);
	if (c->line > 0)
		fprintf(out, "  line: %d\n", c->line);
	if (!o->deterministic) {
		char t[32];
		wsph_report_format_millis(t, sizeof t, wsph_report_millis(c->time));
		fprintf(out, "  duration: %s\n", t);
	}
	if (c->n_findings) {
		fputs("  findings:\n", out);
		for (i = 0; i < c->n_findings; i++)
			put_finding(out, c, &c->findings[i], m);
	}
	fputs("  ...\n", out);
}

static int has_warning(const struct wsph_case *c)
{
	size_t i;

	for (i = 0; i < c->n_findings; i++)
		if (is_warning(&c->findings[i]))
			return 1;
	return 0;
}

int wsph_report_tap(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	struct wsph_counts n;
	size_t i;

	if (!out || !r)
		return -1;
	if (!o)
		o = &defaults;
	fputs("TAP version 13\n", out);
	if (r->n_cases == 0) {
		fputs("1..0 # SKIP no scenario selected\n", out);
		return ferror(out) ? -1 : 0;
	}
	fprintf(out, "1..%lu\n", (unsigned long)r->n_cases);
	fputs("# wspharness ", out);
	put_line_text(out, r->harness_version ? r->harness_version : "?", 0);
	fputs(", provider ", out);
	put_line_text(out, r->provider ? r->provider : "?", 0);
	fputs(" (", out);
	put_line_text(out, r->kind ? r->kind : "?", 0);
	fputs(")\n", out);
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		int bad = c->outcome == WSPH_FAIL || c->outcome == WSPH_ERROR;
		char *label = wsph_case_label(c);
		struct wsph_casemap *m = NULL;

		if (!label)
			return -1;
		if (o->deterministic && !(m = wsph_casemap_new(c))) {
			free(label);
			return -1;
		}
		fprintf(out, "%s %lu - ", bad ? "not ok" : "ok", (unsigned long)i + 1);
		put_line_text(out, label, 1);
		if (c->outcome == WSPH_SKIP) {
			char *why = wsph_casemap_text(m, c->skip_reason);
			fputs(" # SKIP ", out);
			put_line_text(out, why ? why : c->skip_reason ? c->skip_reason : "not applicable",
			              0);
			free(why);
		}
		fputc('\n', out);
		if (bad || has_warning(c))
			put_diagnostics(out, c, m, o);
		for (size_t j = 0; j < c->n_unreached; j++) {
			char line[1024];
			wsph_unreached_format(&c->unreached[j], line, sizeof line);
			fputs("# not reached: ", out);
			put_line_text(out, line, 0);
			fputc('\n', out);
		}
		wsph_casemap_free(m);
		free(label);
	}
	wsph_results_count(r, &n);
	fprintf(out, "# %lu passed, %lu failed, %lu errors",
	        (unsigned long)(n.tests - n.failures - n.errors - n.skipped),
	        (unsigned long)n.failures, (unsigned long)n.errors);
	if (n.deadlocks)
		fprintf(out, " (%lu deadlock%s)", (unsigned long)n.deadlocks,
		        n.deadlocks == 1 ? "" : "s");
	fprintf(out, ", %lu skipped\n", (unsigned long)n.skipped);
	return ferror(out) ? -1 : 0;
}
