/* JUnit and console reports over one model with every outcome and hostile strings; model helpers. */
#define _POSIX_C_SOURCE 200809L
#include "../../reports/report.h"
#include "outfile.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FFFD "\xEF\xBF\xBD"
#define NONIFS_YAML "scenarios/sockets/nonifs.yaml"
#define STARTUP_YAML "scenarios/lifecycle/startup.yaml"

static struct wsph_rule rule_close = {
	.id = "WPU.CloseSocketHandle.MatchesCreate",
	.level = "MUST",
	.severity = WSPH_SEV_ERROR,
	.statement = "WPUCloseSocketHandle closes only handles WPUCreateSocketHandle returned.",
	.source = "[CLOSING] Closing Sockets; spec 7.2",
};
static struct wsph_rule rule_warn = {
	.id = "WPU.QueryBlockingCallback.Once",
	.level = "SHOULD",
	.severity = WSPH_SEV_WARNING,
	.statement = "A provider should query the blocking callback once per call.",
	.source = "spec 7.9",
};
static struct wsph_rule rule_hostile = {
	.id = "Evil.<Rule>&\"'",
	.level = "MUST",
	.severity = WSPH_SEV_ERROR,
	.statement = "Statement with <markup> & \"quotes\"",
	.source = "src ]]> end",
};

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	cr_assert_not_null(p);
	return memcpy(p, s, n);
}

static struct wsph_finding finding(const struct wsph_rule *rule, int step, int line, int col,
				   const char *message, const char *excerpt)
{
	struct wsph_finding f;

	memset(&f, 0, sizeof f);
	f.rule = rule;
	f.step = step;
	f.loc.file = NONIFS_YAML;
	f.loc.line = line;
	f.loc.col = col;
	f.message = xstrdup(message);
	f.excerpt = excerpt ? xstrdup(excerpt) : NULL;
	f.call_fn = f.upcall_fn = -1; /* no site */
	return f;
}

/* Five cases in two classnames: PASS, FAIL (a warning, then an error), ERROR, SKIP, and a PASS
 * with a warning and a hostile name. Everything a case owns is on the heap, as the runner makes
 * it, so wsph_results_free is exercised by every test. */
static void build(struct wsph_results *r)
{
	struct wsph_case *c;

	memset(r, 0, sizeof *r);
	r->provider = "/opt/prov/libmock<&>.so";
	strcpy(r->provider_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	r->harness_version = "0.1.0";
	r->kind = "nonifs,ifs";
	strcpy(r->hostname, "build-07");
	r->timestamp = 1769853600; /* 2026-01-31T10:00:00 */
	r->time = 12.345;
	r->n_cases = 5;
	r->cases = calloc(r->n_cases, sizeof *r->cases);
	cr_assert_not_null(r->cases);

	c = &r->cases[0];
	c->classname = "wspharness.sockets.nonifs";
	c->name = xstrdup("create-and-close[nonifs]");
	c->file = NONIFS_YAML;
	c->line = 14;
	c->time = 0.0123;
	c->outcome = WSPH_PASS;
	c->trace = xstrdup("#1 WSPSocket(2, 1, 6) -> 0x1234\n#2 WPUCreateSocketHandle -> 0x1234\n");

	c = &r->cases[1];
	c->classname = "wspharness.sockets.nonifs";
	c->name = xstrdup("close-twice[nonifs]");
	c->file = NONIFS_YAML;
	c->line = 30;
	c->time = 1.2346;
	c->outcome = WSPH_FAIL;
	c->n_findings = 2;
	c->findings = calloc(2, sizeof *c->findings);
	cr_assert_not_null(c->findings);
	c->findings[0] = finding(&rule_warn, 2, 33, 7, "blocking callback queried 3 times", NULL);
	c->findings[1] = finding(&rule_close, 3, 35, 7,
				 "closed handle 0x99 twice\nsecond <line> & more",
				 "#12 WPUCloseSocketHandle(0x99) -> 0\n#13 WPUCloseSocketHandle(0x99) -> 0\n");
	c->trace = xstrdup("before ]]> after <![CDATA[ x ]]>\n\x1b[31mred\x1b[0m\n");

	c = &r->cases[2];
	c->classname = "wspharness.lifecycle.startup";
	c->name = xstrdup("startup-crash[ifs]");
	c->file = STARTUP_YAML;
	c->line = 5;
	c->time = 0.5;
	c->outcome = WSPH_ERROR;
	c->error_type = xstrdup("crash");
	c->error_message = xstrdup("provider crashed: exception 0xC0000005 <ACCESS_VIOLATION> & \"q\"");

	c = &r->cases[3];
	c->classname = "wspharness.lifecycle.startup";
	c->name = xstrdup("ifs-handles[nonifs]");
	c->file = STARTUP_YAML;
	c->line = 40;
	c->outcome = WSPH_SKIP;
	c->skip_reason = xstrdup("not applicable to nonIFS providers");

	c = &r->cases[4];
	c->classname = "wspharness.sockets.nonifs";
	c->name = xstrdup("odd<&>\"'\t\n\x01name[nonifs]");
	c->file = NONIFS_YAML;
	c->line = 50;
	c->time = 0.001;
	c->outcome = WSPH_PASS;
	c->n_findings = 1;
	c->findings = calloc(1, sizeof *c->findings);
	cr_assert_not_null(c->findings);
	c->findings[0] = finding(&rule_warn, 0, 50, 3, "queried twice", NULL);
}

static char *render(wsph_reporter fn, const struct wsph_results *r,
		    const struct wsph_report_opts *o)
{
	FILE *f = tmpfile();
	char *buf;
	long n;

	cr_assert_not_null(f);
	cr_assert_eq(fn(f, r, o), 0);
	n = ftell(f);
	cr_assert_geq(n, 0);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	rewind(f);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const struct wsph_report_opts det = {.deterministic = 1};

#define expect_has(doc, s) cr_expect_not_null(strstr(doc, s), "missing:\n%s\nin:\n%s", s, doc)

static size_t count(const char *doc, const char *s)
{
	size_t n = 0;

	while ((doc = strstr(doc, s)) != NULL) {
		n++;
		doc += strlen(s);
	}
	return n;
}

Test(results, count_and_free)
{
	struct wsph_results r;
	struct wsph_counts k;

	build(&r);
	wsph_results_count(&r, &k);
	cr_expect_eq(k.tests, 5);
	cr_expect_eq(k.failures, 1);
	cr_expect_eq(k.errors, 1);
	cr_expect_eq(k.skipped, 1);
	cr_expect_eq(k.warnings, 2);
	wsph_results_free(&r);
	cr_expect_null(r.cases);
	cr_expect_eq(r.n_cases, 0);
	wsph_results_count(&r, &k);
	cr_expect_eq(k.tests, 0);
	wsph_results_free(&r); /* twice is harmless */
}

Test(junit, counts_and_suites_deterministic)
{
	struct wsph_results r;
	char *doc;

	build(&r);
	doc = render(wsph_report_junit, &r, &det);
	cr_expect_eq(strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39), 0);
	expect_has(doc, "<testsuites name=\"wspharness\" tests=\"5\" failures=\"1\" errors=\"1\" "
			"skipped=\"1\" time=\"0.000\" timestamp=\"1970-01-01T00:00:00\">\n");
	expect_has(doc, "  <testsuite name=\"sockets.nonifs\" package=\"wspharness\" id=\"0\" "
			"tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0.000\" "
			"timestamp=\"1970-01-01T00:00:00\" hostname=\"localhost\" "
			"file=\"" NONIFS_YAML "\">\n");
	expect_has(doc, "  <testsuite name=\"lifecycle.startup\" package=\"wspharness\" id=\"1\" "
			"tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\" time=\"0.000\" "
			"timestamp=\"1970-01-01T00:00:00\" hostname=\"localhost\" "
			"file=\"" STARTUP_YAML "\">\n");
	cr_expect_eq(count(doc, "<testsuite "), 2);
	cr_expect_eq(count(doc, "<testcase "), 5);
	cr_expect_eq(count(doc, "</testcase>"), 5);
	cr_expect_eq(count(doc, "<failure "), 1);
	cr_expect_eq(count(doc, "<error "), 1);
	cr_expect_eq(count(doc, "<skipped "), 1);
	/* Suites in first-appearance order, all cases of a classname together. */
	cr_expect_lt(strstr(doc, "name=\"sockets.nonifs\""), strstr(doc, "name=\"lifecycle.startup\""));
	cr_expect_lt(strstr(doc, "odd&lt;"), strstr(doc, "name=\"lifecycle.startup\""));
	expect_has(doc, "    <properties>\n"
			"      <property name=\"provider\" value=\"/opt/prov/libmock&lt;&amp;&gt;.so\"/>\n"
			"      <property name=\"provider.sha256\" value=\"0123456789abcdef0123456789abcdef"
			"0123456789abcdef0123456789abcdef\"/>\n"
			"      <property name=\"harness.version\" value=\"0.1.0\"/>\n"
			"      <property name=\"provider.kind\" value=\"nonifs,ifs\"/>\n"
			"    </properties>\n");
	cr_expect_eq(count(doc, "<properties>"), 2);
	free(doc);
	wsph_results_free(&r);
}

Test(junit, testcases_deterministic)
{
	struct wsph_results r;
	char *doc;

	build(&r);
	doc = render(wsph_report_junit, &r, &det);
	expect_has(doc, "    <testcase classname=\"wspharness.sockets.nonifs\" "
			"name=\"sockets.nonifs/create-and-close[nonifs]\" time=\"0.000\" file=\"" NONIFS_YAML
			"\" line=\"14\">\n"
			"      <system-out>#1 WSPSocket(2, 1, 6) -&gt; 0x1234\n"
			"#2 WPUCreateSocketHandle -&gt; 0x1234\n</system-out>\n"
			"    </testcase>\n");
	expect_has(doc,
		   "    <testcase classname=\"wspharness.sockets.nonifs\" name=\"sockets.nonifs/close-twice[nonifs]\" "
		   "time=\"0.000\" file=\"" NONIFS_YAML "\" line=\"30\">\n"
		   "      <failure type=\"WPU.CloseSocketHandle.MatchesCreate\" "
		   "message=\"WPU.CloseSocketHandle.MatchesCreate: closed handle 0x99 twice second "
		   "&lt;line&gt; &amp; more\">"
		   "WPU.QueryBlockingCallback.Once [warning] at step 2 (" NONIFS_YAML ":33:7)\n"
		   "  blocking callback queried 3 times\n"
		   "  Rule: A provider should query the blocking callback once per call.\n"
		   "  Source: spec 7.9\n"
		   "WPU.CloseSocketHandle.MatchesCreate [error] at step 3 (" NONIFS_YAML ":35:7)\n"
		   "  closed handle 0x99 twice\n"
		   "  second &lt;line&gt; &amp; more\n"
		   "  Rule: WPUCloseSocketHandle closes only handles WPUCreateSocketHandle returned.\n"
		   "  Source: [CLOSING] Closing Sockets; spec 7.2\n"
		   "  Trace:\n"
		   "    #12 WPUCloseSocketHandle(0x99) -&gt; 0\n"
		   "    #13 WPUCloseSocketHandle(0x99) -&gt; 0\n"
		   "</failure>\n"
		   "      <system-out>before ]]&gt; after &lt;![CDATA[ x ]]&gt;\n" FFFD "[31mred" FFFD
		   "[0m\n</system-out>\n"
		   "    </testcase>\n");
	expect_has(doc, "    <testcase classname=\"wspharness.lifecycle.startup\" "
			"name=\"lifecycle.startup/startup-crash[ifs]\" time=\"0.000\" file=\"" STARTUP_YAML
			"\" line=\"5\">\n"
			"      <error type=\"crash\" message=\"provider crashed: exception 0xC0000005 "
			"&lt;ACCESS_VIOLATION&gt; &amp; &quot;q&quot;\">provider crashed: exception "
			"0xC0000005 &lt;ACCESS_VIOLATION&gt; &amp; \"q\"\n</error>\n"
			"    </testcase>\n");
	expect_has(doc, "    <testcase classname=\"wspharness.lifecycle.startup\" "
			"name=\"lifecycle.startup/ifs-handles[nonifs]\" time=\"0.000\" file=\"" STARTUP_YAML
			"\" line=\"40\">\n"
			"      <skipped message=\"not applicable to nonIFS providers\"/>\n"
			"    </testcase>\n");
	/* Hostile name: every special character escaped, the control character replaced; the
	 * passing case's warning goes to system-out. */
	expect_has(doc, "    <testcase classname=\"wspharness.sockets.nonifs\" "
			"name=\"sockets.nonifs/odd&lt;&amp;&gt;&quot;&apos;&#9;&#10;" FFFD "name[nonifs]\" "
			"time=\"0.000\" file=\"" NONIFS_YAML "\" line=\"50\">\n"
			"      <system-out>WPU.QueryBlockingCallback.Once [warning] (" NONIFS_YAML
			":50:3)\n"
			"  queried twice\n"
			"  Rule: A provider should query the blocking callback once per call.\n"
			"  Source: spec 7.9\n"
			"</system-out>\n");
	cr_expect_null(strstr(doc, "<![CDATA["));
	cr_expect_null(strstr(doc, "]]>"));
	cr_expect_null(strchr(doc, '\x1b'));
	cr_expect_null(strchr(doc, '\x01'));
	free(doc);
	wsph_results_free(&r);
}

Test(junit, hostile_rule_in_failure)
{
	struct wsph_results r;
	char *doc;

	build(&r);
	r.cases[1].findings[1].rule = &rule_hostile;
	doc = render(wsph_report_junit, &r, &det);
	expect_has(doc, "<failure type=\"Evil.&lt;Rule&gt;&amp;&quot;&apos;\" "
			"message=\"Evil.&lt;Rule&gt;&amp;&quot;&apos;: closed handle");
	expect_has(doc, "Evil.&lt;Rule&gt;&amp;\"' [error] at step 3");
	expect_has(doc, "  Rule: Statement with &lt;markup&gt; &amp; \"quotes\"\n"
			"  Source: src ]]&gt; end\n");
	free(doc);
	wsph_results_free(&r);
}

Test(junit, error_body_lists_findings_and_crlf_is_reflowed)
{
	struct wsph_results r;
	struct wsph_case *c;
	char *doc;

	build(&r);
	c = &r.cases[2];
	c->n_findings = 1;
	c->findings = calloc(1, sizeof *c->findings);
	cr_assert_not_null(c->findings);
	c->findings[0] = finding(&rule_close, 4, 9, 5, "closed 0x7 before the crash",
				 "#3 WPUCloseSocketHandle(0x7)\r\n#4 <crash>\r\n");
	doc = render(wsph_report_junit, &r, &det);
	expect_has(doc, "&amp; &quot;q&quot;\">provider crashed: exception 0xC0000005 "
			"&lt;ACCESS_VIOLATION&gt; &amp; \"q\"\n"
			"WPU.CloseSocketHandle.MatchesCreate [error] at step 4 (" NONIFS_YAML ":9:5)\n"
			"  closed 0x7 before the crash\n"
			"  Rule: WPUCloseSocketHandle closes only handles WPUCreateSocketHandle returned.\n"
			"  Source: [CLOSING] Closing Sockets; spec 7.2\n"
			"  Trace:\n"
			"    #3 WPUCloseSocketHandle(0x7)\n"
			"    #4 &lt;crash&gt;\n"
			"</error>\n");
	free(doc);
	wsph_results_free(&r);
}

Test(junit, message_is_one_capped_line)
{
	struct wsph_results r;
	char *doc, *msg, *end, big[2001];

	build(&r);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[100] = '\n';
	big[200] = '\r';
	free(r.cases[1].findings[1].message);
	r.cases[1].findings[1].message = xstrdup(big);
	doc = render(wsph_report_junit, &r, &det);
	msg = strstr(doc, "message=\"WPU.CloseSocketHandle.MatchesCreate: ");
	cr_assert_not_null(msg);
	msg += strlen("message=\"");
	end = strchr(msg, '"');
	cr_assert_not_null(end);
	cr_expect_leq(end - msg, 510, "message attribute is %ld bytes", (long)(end - msg));
	cr_expect_eq(strncmp(end - 3, "...", 3), 0);
	*end = '\0';
	cr_expect_null(strstr(msg, "&#10;"));
	cr_expect_null(strstr(msg, "&#13;"));
	cr_expect_null(strchr(msg, '\n'));
	/* The body keeps the whole message. */
	*end = '"';
	cr_expect_geq(count(doc, "x"), 1998);
	free(doc);
	wsph_results_free(&r);
}

Test(junit, trace_is_capped_on_a_sequence_boundary)
{
	struct wsph_results r;
	struct wsph_report_opts o = {.deterministic = 1, .trace_cap = 10};
	char *doc;

	build(&r);
	free(r.cases[0].trace);
	/* 8 ASCII bytes, then a 4-byte emoji straddling the 10-byte cap. */
	r.cases[0].trace = xstrdup("abcdefgh\xF0\x9F\x98\x80tail");
	doc = render(wsph_report_junit, &r, &o);
	expect_has(doc, "<system-out>abcdefgh\n[trace truncated: 8 of 16 bytes shown]\n</system-out>");
	free(doc);
	wsph_results_free(&r);
}

Test(junit, real_times_host_and_timestamp)
{
	struct wsph_results r;
	char *doc;

	build(&r);
	doc = render(wsph_report_junit, &r, NULL);
	expect_has(doc, "tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"12.345\" "
			"timestamp=\"2026-01-31T10:00:00\">");
	/* Suite time is the sum of its cases' milliseconds: 12 + 1235 + 1. */
	expect_has(doc, "id=\"0\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"0\" "
			"time=\"1.248\" timestamp=\"2026-01-31T10:00:00\" hostname=\"build-07\"");
	expect_has(doc, "id=\"1\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\" "
			"time=\"0.500\" timestamp=\"2026-01-31T10:00:00\" hostname=\"build-07\"");
	expect_has(doc, "name=\"sockets.nonifs/create-and-close[nonifs]\" time=\"0.012\"");
	expect_has(doc, "name=\"sockets.nonifs/close-twice[nonifs]\" time=\"1.235\"");
	expect_has(doc, "name=\"lifecycle.startup/ifs-handles[nonifs]\" time=\"0.000\"");
	r.hostname[0] = '\0';
	free(doc);
	doc = render(wsph_report_junit, &r, NULL);
	expect_has(doc, "hostname=\"localhost\"");
	free(doc);
	wsph_results_free(&r);
}

Test(junit, empty_sha_and_no_cases)
{
	struct wsph_results r;
	char *doc;

	memset(&r, 0, sizeof r);
	r.harness_version = "0.1.0";
	doc = render(wsph_report_junit, &r, &det);
	cr_expect_str_eq(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			      "<testsuites name=\"wspharness\" tests=\"0\" failures=\"0\" errors=\"0\" "
			      "skipped=\"0\" time=\"0.000\" timestamp=\"1970-01-01T00:00:00\">\n"
			      "</testsuites>\n");
	free(doc);
	build(&r);
	r.provider_sha256[0] = '\0';
	doc = render(wsph_report_junit, &r, &det);
	cr_expect_null(strstr(doc, "provider.sha256"));
	free(doc);
	wsph_results_free(&r);
}

Test(report, time_formats)
{
	static const struct {
		int64_t t;
		const char *want;
	} stamps[] = {
		{0, "1970-01-01T00:00:00"},	     {951782400, "2000-02-29T00:00:00"},
		{1709210096, "2024-02-29T12:34:56"}, {1769853600, "2026-01-31T10:00:00"},
		{-1, "1969-12-31T23:59:59"},	     {4102444799, "2099-12-31T23:59:59"},
		{253402300799, "9999-12-31T23:59:59"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
		wsph_report_format_timestamp(buf, sizeof buf, stamps[i].t);
		cr_expect_str_eq(buf, stamps[i].want, "%lld", (long long)stamps[i].t);
	}
	cr_expect_eq(wsph_report_millis(0.0123), 12);
	cr_expect_eq(wsph_report_millis(-3.0), 0);
	cr_expect_eq(wsph_report_millis(0.0 / 0.0), 0);
	wsph_report_format_millis(buf, sizeof buf, 0);
	cr_expect_str_eq(buf, "0.000");
	wsph_report_format_millis(buf, sizeof buf, 5);
	cr_expect_str_eq(buf, "0.005");
	wsph_report_format_millis(buf, sizeof buf, 123456);
	cr_expect_str_eq(buf, "123.456");
}

Test(report, lookup)
{
	cr_expect_eq(wsph_reporter_find("junit"), wsph_report_junit);
	cr_expect_eq(wsph_reporter_find("console"), wsph_report_console);
	cr_expect_null(wsph_reporter_find("sarif"));
	cr_expect_null(wsph_reporter_find(NULL));
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int half_then_fail(FILE *out, const struct wsph_results *r,
			  const struct wsph_report_opts *o)
{
	(void)r;
	(void)o;
	fputs("<?xml version=\"1.0\"?>\n<testsuites", out);
	return -1;
}

/* The number of entries of dir other than "." and "..": a temporary file left behind counts. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* The written file parses as XML (xmllint) and as JUnit (junitparser), with the expected counts. */
Test(junit, written_file_parses)
{
	struct wsph_results r;
	char dir[] = "/tmp/wsph-junit-XXXXXX", path[256], sub[256], cmd[1024];
	char *doc;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/sub/dir/junit.xml", dir);
	snprintf(sub, sizeof sub, "%s/sub/dir", dir);
	build(&r);
	cr_assert_eq(wsph_report_to_path(wsph_outfile_write, path, wsph_report_junit, &r, &det), 0);
	cr_expect(exists(path));
	cr_expect_eq(entries(sub), 1, "a temporary file left in %s", sub);

	if (access("/usr/bin/xmllint", X_OK) == 0) {
		snprintf(cmd, sizeof cmd, "/usr/bin/xmllint --noout '%s'", path);
		cr_expect_eq(system(cmd), 0, "xmllint rejects %s", path);
	} else {
		cr_log_warn("/usr/bin/xmllint missing: well-formedness not checked");
	}
	if (access("/usr/bin/python3", X_OK) == 0 &&
	    system("/usr/bin/python3 -c 'import junitparser' 2>/dev/null") == 0) {
		snprintf(cmd, sizeof cmd,
			 "/usr/bin/python3 -c \"import junitparser,sys; "
			 "x=junitparser.JUnitXml.fromfile(sys.argv[1]); "
			 "cs=[c for s in x for c in s]; "
			 "assert len(cs)==5, len(cs); "
			 "assert sum(1 for c in cs if c.is_skipped)==1; "
			 "assert sum(1 for c in cs if not c.is_passed and not c.is_skipped)==2; "
			 "assert [s.name for s in x]==['sockets.nonifs','lifecycle.startup']\" '%s'",
			 path);
		cr_expect_eq(system(cmd), 0, "junitparser rejects %s", path);
	} else {
		cr_log_warn("python3 junitparser missing: JUnit parse not checked");
	}

	/* A writer that fails half-way leaves the previous report and no temporary file. */
	cr_expect_eq(wsph_report_to_path(wsph_outfile_write, path, half_then_fail, &r, &det), -1);
	cr_expect_eq(entries(sub), 1, "a temporary file left in %s", sub);
	doc = slurp(path);
	cr_assert_not_null(doc);
	cr_expect_not_null(strstr(doc, "</testsuites>\n"), "previous report damaged");
	free(doc);

	wsph_results_free(&r);
	unlink(path);
	snprintf(path, sizeof path, "%s/sub/dir", dir);
	rmdir(path);
	snprintf(path, sizeof path, "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

/* A path longer than the writer's buffers is refused whole (ENAMETOOLONG), never cut short and
 * written somewhere else; an unknown format is a named failure too. */
Test(junit, overlong_path_refused)
{
	static char path[WSPH_OUTFILE_PATH_CAP + 64];
	struct wsph_results r;

	memset(path, 'a', sizeof path - 1);
	memcpy(path, "/tmp/", 5);
	build(&r);
	errno = 0;
	cr_expect_eq(wsph_report_to_path(wsph_outfile_write, path, wsph_report_junit, &r, &det), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
	cr_expect_eq(wsph_report_write(wsph_outfile_write, "nonesuch", "/tmp/x.xml", &r, &det), -1);
	wsph_results_free(&r);
}

Test(junit, locale_does_not_change_numbers)
{
	static const char *const comma_locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "C"};
	struct wsph_results r;
	char *doc;
	size_t i;

	for (i = 0; i < sizeof comma_locales / sizeof comma_locales[0]; i++)
		if (setlocale(LC_NUMERIC, comma_locales[i]))
			break;
	build(&r);
	doc = render(wsph_report_junit, &r, NULL);
	expect_has(doc, "time=\"12.345\"");
	expect_has(doc, "time=\"1.235\"");
	free(doc);
	setlocale(LC_NUMERIC, "C");
	wsph_results_free(&r);
}

/* The console summary, pinned whole in deterministic mode: the failing cases by their IDs, one
 * line per finding; each defect once; each broken rule's statement and source once (errors
 * first); the table of broken rules by count; the totals. */
Test(console, failures_deterministic)
{
	struct wsph_results r;
	char *out;

	build(&r);
	out = render(wsph_report_console, &r, &det);
	cr_expect_str_eq(
		out,
		"FAIL  sockets.nonifs/close-twice[nonifs]  (" NONIFS_YAML ":30)\n"
		"  WPU.QueryBlockingCallback.Once [warning] line 33: blocking callback queried 3 times\n"
		"  WPU.CloseSocketHandle.MatchesCreate [error] line 35: closed handle 0x99 twice second <line> & more\n"
		"ERROR lifecycle.startup/startup-crash[ifs]  (" STARTUP_YAML ":5)\n"
		"  crash: provider crashed: exception 0xC0000005 <ACCESS_VIOLATION> & \"q\"\n"
		"\n"
		"2 defects (findings of one rule at one site: module, WSP call, upcall):\n"
		"WPU.CloseSocketHandle.MatchesCreate in 1 case (first: sockets.nonifs/close-twice[nonifs])\n"
		"WPU.QueryBlockingCallback.Once [warning] in 2 cases (first: sockets.nonifs/close-twice[nonifs])\n"
		"  2 findings in: sockets.nonifs/close-twice[nonifs], sockets.nonifs/odd<&>\"'\t ?name[nonifs]\n"
		"\n"
		"Rules broken (2):\n"
		"WPU.CloseSocketHandle.MatchesCreate [error, MUST]\n"
		"  rule: WPUCloseSocketHandle closes only handles WPUCreateSocketHandle returned.\n"
		"  source: [CLOSING] Closing Sockets; spec 7.2\n"
		"WPU.QueryBlockingCallback.Once [warning, SHOULD]\n"
		"  rule: A provider should query the blocking callback once per call.\n"
		"  source: spec 7.9\n"
		"\n"
		"rule                                 cases  findings\n"
		"WPU.QueryBlockingCallback.Once           2         2  (warning)\n"
		"WPU.CloseSocketHandle.MatchesCreate      1         1\n"
		"\n"
		"2 passed, 1 failed, 1 errors, 1 skipped, 2 warnings; 2 defects\n");
	free(out);
	wsph_results_free(&r);
}

/* A case that timed out keeps the findings made before: they are counted and shown. */
Test(console, error_case_keeps_its_findings)
{
	struct wsph_results r;
	struct wsph_case *c;
	char *out;

	build(&r);
	c = &r.cases[2];
	c->n_findings = 1;
	c->findings = calloc(1, sizeof *c->findings);
	cr_assert_not_null(c->findings);
	c->findings[0] = finding(&rule_close, 4, 9, 5, "closed 0x7 before the crash", NULL);
	out = render(wsph_report_console, &r, &det);
	expect_has(out, "ERROR lifecycle.startup/startup-crash[ifs]  (" STARTUP_YAML ":5)\n"
			"  crash: provider crashed: exception 0xC0000005 <ACCESS_VIOLATION> & \"q\"\n"
			"  WPU.CloseSocketHandle.MatchesCreate [error] " NONIFS_YAML ":9: closed 0x7 "
			"before the crash\n");
	expect_has(out, "WPU.CloseSocketHandle.MatchesCreate in 2 cases (first: "
			"sockets.nonifs/close-twice[nonifs])\n"
			"  2 findings in: sockets.nonifs/close-twice[nonifs], "
			"lifecycle.startup/startup-crash[ifs]\n");
	free(out);
	wsph_results_free(&r);
}

/* Steps and rules not reached: why, in the verbose detail; how many, in the default output and
 * the totals. */
Test(console, unreached_in_detail_and_counted)
{
	static struct wsph_rule rule_cleanup = {
		.id = "SPI.Cleanup.SuccessReturnsZero",
		.level = "MUST",
		.severity = WSPH_SEV_ERROR,
		.statement = "A balanced WSPCleanup returns 0.",
	};
	struct wsph_report_opts verbose = {.deterministic = 1, .verbose = 1};
	struct wsph_results r;
	struct wsph_case *c;
	char *out;

	build(&r);
	c = &r.cases[1];
	c->n_unreached = 2;
	c->unreached = calloc(2, sizeof *c->unreached);
	cr_assert_not_null(c->unreached);
	c->unreached[0].step = 4;
	c->unreached[0].reason = xstrdup("step 3 failed");
	c->unreached[1].rule = &rule_cleanup;
	c->unreached[1].step = 3;
	c->unreached[1].reason = xstrdup("WSPCleanup was never called\x1b[2J");
	out = render(wsph_report_console, &r, &det);
	expect_has(out, "  WPU.CloseSocketHandle.MatchesCreate [error] line 35: closed handle 0x99 "
			"twice second <line> & more\n"
			"  not reached: 1 step, 1 rule (-v says which and why)\n");
	expect_has(out, "2 passed, 1 failed, 1 errors, 1 skipped, 2 warnings; 2 defects; not reached: "
			"1 step, 1 rule in 1 case\n");
	free(out);
	out = render(wsph_report_console, &r, &verbose);
	expect_has(out, "    #13 WPUCloseSocketHandle(0x99) -> 0\n"
			"  not reached: step 4 not run: step 3 failed\n"
			"  not reached: SPI.Cleanup.SuccessReturnsZero not reached (step 3): WSPCleanup "
			"was never called?[2J\n"
			"ERROR ");
	free(out);
	wsph_results_free(&r);
}

/* JUnit: what a case did not reach, in its failure or error text, or in system-out when it has
 * neither; an error's body keeps the findings made before it ended. */
Test(junit, unreached_in_failure_error_and_system_out)
{
	struct wsph_results r;
	struct wsph_case *c;
	char *doc;

	build(&r);
	c = &r.cases[1]; /* FAIL */
	c->n_unreached = 1;
	c->unreached = calloc(1, sizeof *c->unreached);
	cr_assert_not_null(c->unreached);
	c->unreached[0].step = 4;
	c->unreached[0].reason = xstrdup("step 3 failed <&>");
	c = &r.cases[2]; /* ERROR */
	c->n_findings = 1;
	c->findings = calloc(1, sizeof *c->findings);
	cr_assert_not_null(c->findings);
	c->findings[0] = finding(&rule_close, 1, 9, 5, "closed 0x7 before the hang", NULL);
	c->n_unreached = 1;
	c->unreached = calloc(1, sizeof *c->unreached);
	cr_assert_not_null(c->unreached);
	c->unreached[0].rule = &rule_warn;
	c->unreached[0].step = 2;
	c->unreached[0].reason = xstrdup("the provider hung in step 2");
	c = &r.cases[0]; /* PASS */
	c->n_unreached = 1;
	c->unreached = calloc(1, sizeof *c->unreached);
	cr_assert_not_null(c->unreached);
	c->unreached[0].rule = &rule_close;
	c->unreached[0].reason = xstrdup("no socket was closed");
	doc = render(wsph_report_junit, &r, &det);
	expect_has(doc, "    #13 WPUCloseSocketHandle(0x99) -&gt; 0\n"
			"Not reached:\n"
			"  step 4 not run: step 3 failed &lt;&amp;&gt;\n"
			"</failure>\n");
	expect_has(doc, "0xC0000005 &lt;ACCESS_VIOLATION&gt; &amp; \"q\"\n"
			"WPU.CloseSocketHandle.MatchesCreate [error] at step 1 (" NONIFS_YAML ":9:5)\n"
			"  closed 0x7 before the hang\n"
			"  Rule: WPUCloseSocketHandle closes only handles WPUCreateSocketHandle returned.\n"
			"  Source: [CLOSING] Closing Sockets; spec 7.2\n"
			"Not reached:\n"
			"  WPU.QueryBlockingCallback.Once not reached (step 2): the provider hung in step 2\n"
			"</error>\n");
	expect_has(doc, "line=\"14\">\n"
			"      <system-out>Not reached:\n"
			"  WPU.CloseSocketHandle.MatchesCreate not reached: no socket was closed\n"
			"#1 WSPSocket(2, 1, 6) -&gt; 0x1234\n");
	cr_expect_eq(count(doc, "<failure "), 1, "a case does not change outcome for it");
	free(doc);
	wsph_results_free(&r);
}

Test(console, verbose_lists_every_case)
{
	struct wsph_results r;
	char *out;
	struct wsph_report_opts o = {.deterministic = 1, .verbose = 1};

	build(&r);
	out = render(wsph_report_console, &r, &o);
	expect_has(out, "PASS  sockets.nonifs/create-and-close[nonifs]  (" NONIFS_YAML
			":14)\nFAIL  ");
	expect_has(out, "SKIP  lifecycle.startup/ifs-handles[nonifs]  (" STARTUP_YAML
			":40): not applicable to nonIFS providers\n");
	/* Control characters in provider text never reach the terminal. */
	expect_has(out, "PASS  sockets.nonifs/odd<&>\"'\t ?name[nonifs]  (" NONIFS_YAML
			":50)\n"
			"  WPU.QueryBlockingCallback.Once [warning]: queried twice\n"
			"    at " NONIFS_YAML ":50:3\n");
	/* Verbose printed every finding with its case: a defect is one line, and its cases. */
	expect_has(out, "\n2 defects (findings of one rule at one site: module, WSP call, upcall):\n"
			"WPU.CloseSocketHandle.MatchesCreate in 1 case (first: "
			"sockets.nonifs/close-twice[nonifs])\n"
			"WPU.QueryBlockingCallback.Once [warning] in 2 cases (first: "
			"sockets.nonifs/close-twice[nonifs])\n"
			"  2 findings in: sockets.nonifs/close-twice[nonifs], "
			"sockets.nonifs/odd<&>\"'\t ?name[nonifs]\n\nRules broken (2):\n");
	/* each rule's statement once, though verbose prints every finding */
	cr_expect_eq(count(out, "  rule: "), 2);
	cr_expect_eq(count(out, "\n"), 33);
	free(out);
	wsph_results_free(&r);
}

Test(console, colour_and_time)
{
	struct wsph_results r;
	char *out;
	struct wsph_report_opts o = {.color = 1};

	build(&r);
	out = render(wsph_report_console, &r, &o);
	expect_has(out, "\x1b[31mFAIL\x1b[0m  sockets.nonifs/close-twice[nonifs]");
	expect_has(out, "\x1b[31mERROR\x1b[0m lifecycle.startup/startup-crash[ifs]");
	expect_has(out, "\x1b[32m2 passed\x1b[0m, \x1b[31m1 failed\x1b[0m, \x1b[31m1 errors\x1b[0m, "
			"1 skipped, \x1b[33m2 warnings\x1b[0m in 12.345 s; 2 defects\n");
	free(out);
	o.color = 0;
	out = render(wsph_report_console, &r, &o);
	cr_expect_null(strchr(out, '\x1b'));
	free(out);
	/* anything but 1 is plain: the caller decides what a terminal gets (harness/progress.h) */
	o.color = -1;
	out = render(wsph_report_console, &r, &o);
	cr_expect_null(strchr(out, '\x1b'));
	free(out);
	wsph_results_free(&r);
}

Test(console, all_passing_ends_with_one_line)
{
	struct wsph_results r;
	char *out;

	build(&r);
	r.cases[1].outcome = WSPH_PASS;
	r.cases[2].outcome = WSPH_PASS;
	r.cases[3].outcome = WSPH_PASS;
	/* no findings anywhere */
	for (size_t i = 0; i < r.n_cases; i++) {
		for (size_t j = 0; j < r.cases[i].n_findings; j++) {
			free(r.cases[i].findings[j].message);
			free(r.cases[i].findings[j].excerpt);
		}
		r.cases[i].n_findings = 0;
	}
	out = render(wsph_report_console, &r, &det);
	cr_expect_str_eq(out, "5 passed, 0 failed, 0 errors, 0 skipped\n");
	free(out);
	wsph_results_free(&r);
}
