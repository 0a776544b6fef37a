/* JUnit XML report: one testsuite per classname, in the shape Jenkins, GitLab, Azure and GitHub read. */
#include "casemap.h"
#include "report.h"
#include "scenario.h"
#include "xml.h"

#include <stdlib.h>
#include <string.h>

#define MESSAGE_CAP 500 /* bytes of a one-line message attribute */

static const char *classname_of(const struct wsph_case *c)
{
	return c->classname ? c->classname : "wspharness";
}

static const char *rule_id(const struct wsph_finding *f)
{
	return f->rule && f->rule->id ? f->rule->id : "?";
}

/* A finding without a rule is treated as an error: it must not pass unnoticed. */
static int is_warning(const struct wsph_finding *f)
{
	return f->rule && f->rule->severity == WSPH_SEV_WARNING;
}

static void counts_of(const struct wsph_results *r, const char *cls, struct wsph_counts *k,
		      int64_t *ms)
{
	size_t i;

	memset(k, 0, sizeof *k);
	*ms = 0;
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		if (cls && strcmp(classname_of(c), cls) != 0)
			continue;
		k->tests++;
		k->failures += c->outcome == WSPH_FAIL;
		k->errors += c->outcome == WSPH_ERROR;
		k->skipped += c->outcome == WSPH_SKIP;
		*ms += wsph_report_millis(c->time);
	}
}

static void put_counts(FILE *out, const struct wsph_counts *k)
{
	fprintf(out, " tests=\"%lu\" failures=\"%lu\" errors=\"%lu\" skipped=\"%lu\"",
		(unsigned long)k->tests, (unsigned long)k->failures, (unsigned long)k->errors,
		(unsigned long)k->skipped);
}

static void put_time(FILE *out, const struct wsph_report_opts *o, int64_t ms)
{
	char buf[32];

	wsph_report_format_millis(buf, sizeof buf, o->deterministic ? 0 : ms);
	fprintf(out, " time=\"%s\"", buf);
}

/* One-line message attribute: prefix (may be NULL) then s, capped, "..." when cut. */
static void put_message(FILE *out, const char *prefix, const char *s)
{
	size_t room = MESSAGE_CAP, used;

	fputs(" message=\"", out);
	if (prefix) {
		used = wsph_xml_attr_line(out, prefix, room);
		room -= used;
		fputs(": ", out);
		room = room > 2 ? room - 2 : 0;
	}
	if (s && wsph_xml_attr_line(out, s, room) < strlen(s))
		fputs("...", out);
	fputc('"', out);
}

/* Element text of s with every line prefixed by indent; always ends with a newline. The body is
 * reflowed anyway, so CRLF line ends become plain LF. */
static void put_indented(FILE *out, const char *s, const char *indent)
{
	while (*s) {
		size_t len = strcspn(s, "\n"), n = len;
		if (n && s[n - 1] == '\r')
			n--;
		fputs(indent, out);
		wsph_xml_text_n(out, s, n);
		fputc('\n', out);
		s += len;
		if (*s == '\n')
			s++;
	}
}

static void put_finding(FILE *out, const struct wsph_case *c, const struct wsph_finding *f)
{
	const char *file = f->loc.file ? f->loc.file : c->file;

	wsph_xml_text(out, rule_id(f));
	fputs(is_warning(f) ? " [warning]" : " [error]", out);
	if (f->step > 0)
		fprintf(out, " at step %d", f->step);
	if (file) {
		fputs(" (", out);
		wsph_xml_text(out, file);
		if (f->loc.line > 0)
			fprintf(out, ":%d:%d", f->loc.line, f->loc.col);
		fputc(')', out);
	}
	fputc('\n', out);
	if (f->message)
		put_indented(out, f->message, "  ");
	if (f->rule && f->rule->statement) {
		fputs("  Rule: ", out);
		wsph_xml_text(out, f->rule->statement);
		fputc('\n', out);
	}
	if (f->rule && f->rule->source) {
		fputs("  Source: ", out);
		wsph_xml_text(out, f->rule->source);
		fputc('\n', out);
	}
	if (f->excerpt && *f->excerpt) {
		fputs("  Trace:\n", out);
		put_indented(out, f->excerpt, "    ");
	}
}

static void put_findings(FILE *out, const struct wsph_case *c, int warnings_only)
{
	size_t i;

	for (i = 0; i < c->n_findings; i++)
		if (!warnings_only || is_warning(&c->findings[i]))
			put_finding(out, c, &c->findings[i]);
}

/* "Not reached:" and one line per step not run and rule whose premise did not hold. */
static void put_unreached(FILE *out, const struct wsph_case *c)
{
	char line[1024];
	size_t i;

	if (!c->n_unreached)
		return;
	fputs("Not reached:\n", out);
	for (i = 0; i < c->n_unreached; i++) {
		wsph_unreached_format(&c->unreached[i], line, sizeof line);
		put_indented(out, line, "  ");
	}
}

static void put_failure(FILE *out, const struct wsph_case *c)
{
	const struct wsph_finding *first = NULL;
	size_t i;

	for (i = 0; i < c->n_findings && !first; i++)
		if (!is_warning(&c->findings[i]))
			first = &c->findings[i];
	if (!first && c->n_findings)
		first = &c->findings[0];
	fputs("      <failure type=\"", out);
	wsph_xml_attr(out, first ? rule_id(first) : "failure");
	fputc('"', out);
	if (first)
		put_message(out, rule_id(first), first->message);
	else
		put_message(out, NULL, "failed without a finding");
	fputc('>', out);
	put_findings(out, c, 0);
	put_unreached(out, c);
	fputs("</failure>\n", out);
}

static void put_error(FILE *out, const struct wsph_case *c)
{
	fputs("      <error type=\"", out);
	wsph_xml_attr(out, c->error_type && *c->error_type ? c->error_type : "error");
	fputc('"', out);
	put_message(out, NULL, c->error_message ? c->error_message : "");
	fputc('>', out);
	if (c->error_message && *c->error_message)
		put_indented(out, c->error_message, "");
	put_findings(out, c, 0);
	put_unreached(out, c);
	fputs("</error>\n", out);
}

/* Where the provider's output begins in a case's trace (harness/caseio.c writes it after the
 * events, under a heading of its own at the start of a line), or the end. */
static size_t output_start(const char *trace)
{
	static const char *const heads[] = {"--- provider output ---\n",
					    "--- output after the case ---\n"};
	size_t at = strlen(trace);
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		const char *p = trace;
		while ((p = strstr(p, heads[i])) && p != trace && p[-1] != '\n')
			p++;
		if (p && (size_t)(p - trace) < at)
			at = (size_t)(p - trace);
	}
	return at;
}

/* The trace: its events capped at cap bytes, then the provider's output whole (the harness keeps
 * a bounded part of it, already made text). */
static void put_trace(FILE *out, const char *trace, size_t cap)
{
	size_t events = output_start(trace);
	size_t done = wsph_xml_text_n(out, trace, cap < events ? cap : events);
	if (done < events)
		fprintf(out, "\n[trace truncated: %lu of %lu bytes shown]\n", (unsigned long)done,
			(unsigned long)events);
	wsph_xml_text(out, trace + events);
}

static void put_system_out(FILE *out, const struct wsph_case *c, const struct wsph_report_opts *o)
{
	/* Passing and skipped cases have no failure element to carry their warnings and what they
	 * did not reach. */
	int warnings = 0, unreached = 0;
	size_t i, cap = o->trace_cap ? o->trace_cap : WSPH_REPORT_TRACE_CAP_DEFAULT;
	int trace = c->trace && *c->trace;

	if (c->outcome == WSPH_PASS || c->outcome == WSPH_SKIP) {
		for (i = 0; i < c->n_findings; i++)
			warnings |= is_warning(&c->findings[i]);
		unreached = c->n_unreached != 0;
	}
	if (!warnings && !unreached && !trace)
		return;
	fputs("      <system-out>", out);
	if (warnings)
		put_findings(out, c, 1);
	if (unreached)
		put_unreached(out, c);
	if (trace)
		put_trace(out, c->trace, cap);
	fputs("</system-out>\n", out);
}

/* name is the case's ID, "sockets.stream/connect[nonifs]", what --filter, list and every other
 * report call it (README.md, "JUnit"); classname stays the suite, "wspharness.sockets.stream",
 * which CI tools group by. */
static void put_case(FILE *out, const struct wsph_case *c, const struct wsph_report_opts *o)
{
	char *id = wsph_case_label(c);

	fputs("    <testcase classname=\"", out);
	wsph_xml_attr(out, classname_of(c));
	fputs("\" name=\"", out);
	wsph_xml_attr(out, id ? id : c->name ? c->name : "");
	fputc('"', out);
	free(id);
	put_time(out, o, wsph_report_millis(c->time));
	if (c->file) {
		fputs(" file=\"", out);
		wsph_xml_attr(out, c->file);
		fputc('"', out);
	}
	if (c->line > 0)
		fprintf(out, " line=\"%d\"", c->line);
	fputs(">\n", out);
	switch (c->outcome) {
	case WSPH_FAIL:
		put_failure(out, c);
		break;
	case WSPH_ERROR:
		put_error(out, c);
		break;
	case WSPH_SKIP:
		fputs("      <skipped", out);
		if (c->skip_reason)
			put_message(out, NULL, c->skip_reason);
		fputs("/>\n", out);
		break;
	case WSPH_PASS:
	default:
		break;
	}
	put_system_out(out, c, o);
	fputs("    </testcase>\n", out);
}

static void put_property(FILE *out, const char *name, const char *value)
{
	fputs("      <property name=\"", out);
	wsph_xml_attr(out, name);
	fputs("\" value=\"", out);
	wsph_xml_attr(out, value ? value : "");
	fputs("\"/>\n", out);
}

static void put_suite(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o,
		      const char *cls, size_t id, const char *stamp, const char *host)
{
	const struct wsph_case *first = NULL;
	struct wsph_counts k;
	char sha[sizeof r->provider_sha256];
	int64_t ms;
	size_t i;

	for (i = 0; i < r->n_cases && !first; i++)
		if (strcmp(classname_of(&r->cases[i]), cls) == 0)
			first = &r->cases[i];
	counts_of(r, cls, &k, &ms);

	fputs("  <testsuite name=\"", out);
	wsph_xml_attr(out, wsph_suite_of(cls));
	fprintf(out, "\" package=\"wspharness\" id=\"%lu\"", (unsigned long)id);
	put_counts(out, &k);
	put_time(out, o, ms);
	fprintf(out, " timestamp=\"%s\" hostname=\"", stamp);
	wsph_xml_attr(out, host);
	fputc('"', out);
	if (first && first->file) {
		fputs(" file=\"", out);
		wsph_xml_attr(out, first->file);
		fputc('"', out);
	}
	fputs(">\n    <properties>\n", out);
	put_property(out, "provider", r->provider);
	memcpy(sha, r->provider_sha256, sizeof sha);
	sha[sizeof sha - 1] = '\0';
	if (sha[0])
		put_property(out, "provider.sha256", sha);
	put_property(out, "harness.version", r->harness_version);
	put_property(out, "provider.kind", r->kind);
	fputs("    </properties>\n", out);
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		struct wsph_case mapped;
		if (strcmp(classname_of(c), cls) != 0)
			continue;
		/* Deterministic: pointer values as placeholders (a copy that cannot be made leaves
		 * the raw values, which only costs the golden comparison). */
		if (o->deterministic && wsph_casemap_case(c, &mapped) == 0) {
			put_case(out, &mapped, o);
			wsph_casemap_case_free(&mapped);
		} else {
			put_case(out, c, o);
		}
	}
	fputs("  </testsuite>\n", out);
}

int wsph_report_junit(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o)
{
	static const struct wsph_report_opts defaults = {0, 0, 0, 0};
	const char **suites = NULL; /* distinct classnames, in order of first appearance */
	size_t n_suites = 0, i, j;
	struct wsph_counts k;
	char stamp[32], host[sizeof r->hostname];
	int64_t ms;
	int rc = -1;

	if (!out || !r)
		return -1;
	if (!o)
		o = &defaults;
	if (r->n_cases) {
		suites = malloc(r->n_cases * sizeof *suites);
		if (!suites)
			goto out;
	}
	for (i = 0; i < r->n_cases; i++) {
		const char *cls = classname_of(&r->cases[i]);
		for (j = 0; j < n_suites && strcmp(suites[j], cls) != 0; j++)
			;
		if (j == n_suites)
			suites[n_suites++] = cls;
	}

	memcpy(host, r->hostname, sizeof host);
	host[sizeof host - 1] = '\0';
	if (o->deterministic || !host[0])
		strcpy(host, "localhost");
	wsph_report_format_timestamp(stamp, sizeof stamp, o->deterministic ? 0 : r->timestamp);

	counts_of(r, NULL, &k, &ms);
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"wspharness\"", out);
	put_counts(out, &k);
	put_time(out, o, wsph_report_millis(r->time));
	fprintf(out, " timestamp=\"%s\">\n", stamp);
	for (i = 0; i < n_suites; i++)
		put_suite(out, r, o, suites[i], i, stamp, host);
	fputs("</testsuites>\n", out);
	rc = ferror(out) ? -1 : 0;
out:
	free(suites);
	return rc;
}
