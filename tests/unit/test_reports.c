/* TAP, JSON-lines trace, matrix (Markdown and HTML), `show`, deterministic placeholders and the
 * console progress line, over one model with events, findings at events and hostile strings. */
#define _POSIX_C_SOURCE 200809L
#include "../../reports/casemap.h"
#include "../../reports/json.h"
#include "../../reports/report.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../reports/fixture.h"

/* The report as a malloc'd string. */
static char *render(wsph_reporter fn, const struct wsph_results *r, int deterministic)
{
	struct wsph_report_opts o = {deterministic, 0, 0, 0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cr_assert_eq(fn(f, r, &o), 0);
	fclose(f);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* ---- JSON ---- */

static char *json_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(wsph_json_string(f, s), 0);
	fclose(f);
	return buf;
}

Test(json, escapes_controls_and_repairs_utf8)
{
	char *j = json_of("q\" b\\ n\n t\t e\x1b del\x7f c1\xc2\x85 ls\xe2\x80\xa8 ok\xc3\xa9");
	cr_assert_str_eq(
	    j, "\"q\\\" b\\\\ n\\n t\\t e\\u001b del\\u007f c1\\u0085 ls\\u2028 ok\xc3\xa9\"");
	free(j);
	/* A bad lead byte, an overlong '/', a surrogate, U+FFFF and a truncated sequence. */
	j = json_of("a\xff b\xc0\xaf c\xed\xa0\x80 d\xef\xbf\xbf e\xe2\x82");
	cr_assert_str_eq(j, "\"a\xEF\xBF\xBD b\xEF\xBF\xBD\xEF\xBF\xBD c\xEF\xBF\xBD d\xEF\xBF\xBD "
	                    "e\xEF\xBF\xBD\xEF\xBF\xBD\"");
	free(j);
	j = json_of(NULL);
	cr_assert_str_eq(j, "null");
	free(j);
}

Test(json, parses_what_it_writes)
{
	const char *in = "x\"\\\n\x01\xe2\x80\xa8\xf0\x9f\x98\x80 end";
	char *j = json_of(in), err[64];
	struct wsph_json v;
	cr_assert_eq(wsph_json_parse(j, strlen(j), &v, err, sizeof err), 0, "%s", err);
	cr_assert_eq(v.type, WSPH_JSON_STRING);
	cr_assert_str_eq(v.string, in);
	wsph_json_free(&v);
	free(j);
}

Test(json, reader_values_and_lookups)
{
	const char *t =
	    " {\"a\":[1,-2,3.5e1,true,false,null],\"b\":{\"c\":\"\\ud83d\\ude00\\u00e9\"},"
	    "\"big\":9223372036854775807,\"min\":-9223372036854775808,\"over\":"
	    "18446744073709551616} ";
	struct wsph_json v;
	char err[64];
	cr_assert_eq(wsph_json_parse(t, strlen(t), &v, err, sizeof err), 0, "%s", err);
	const struct wsph_json *a = wsph_json_get(&v, "a");
	cr_assert(a && a->type == WSPH_JSON_ARRAY && a->n == 6);
	cr_assert(a->items[1].is_int && a->items[1].integer == -2);
	cr_assert(!a->items[2].is_int && a->items[2].number == 35.0);
	cr_assert(a->items[3].type == WSPH_JSON_BOOL && a->items[3].boolean);
	cr_assert_eq(a->items[5].type, WSPH_JSON_NULL);
	cr_assert_str_eq(wsph_json_get_string(wsph_json_get(&v, "b"), "c"),
	                 "\xf0\x9f\x98\x80\xc3\xa9");
	cr_assert_eq(wsph_json_get_int(&v, "big", 0), INT64_MAX);
	cr_assert_eq(wsph_json_get_int(&v, "min", 0), INT64_MIN);
	cr_assert_eq(wsph_json_get_int(&v, "over", 7), 7, "too big for int64 is not an integer");
	cr_assert_null(wsph_json_get(&v, "nope"));
	wsph_json_free(&v);
}

Test(json, reader_refuses_malformed_input_with_a_column)
{
	static const char *const bad[] = {
	    "",          "{",           "{\"a\"}",  "{\"a\":1,}", "[1 2]",       "\"abc",
	    "\"a\x01\"", "\"\\x\"",     "01",       "1.",         "-",           "tru",
	    "{} x",      "\"\\ud800\"", "\"\xff\"", "{1:2}",      "[\"\\u12\"]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wsph_json v;
		char err[64] = "";
		cr_assert_eq(wsph_json_parse(bad[i], strlen(bad[i]), &v, err, sizeof err), -1,
		             "'%s' accepted", bad[i]);
		cr_assert(strncmp(err, "column ", 7) == 0, "'%s': %s", bad[i], err);
	}
	char deep[200];
	memset(deep, '[', sizeof deep);
	struct wsph_json v;
	char err[64];
	cr_assert_eq(wsph_json_parse(deep, sizeof deep, &v, err, sizeof err), -1);
	cr_assert(strstr(err, "nested too deeply"), "%s", err);
}

/* ---- deterministic placeholders ---- */

Test(casemap, pointers_become_numbered_placeholders)
{
	struct wsph_results r;
	build(&r);
	struct wsph_casemap *m = wsph_casemap_new(&r.cases[0]);
	cr_assert_not_null(m);
	char buf[32];
	cr_assert_str_eq(wsph_casemap_ptr(m, CTX, buf, sizeof buf), "0x<ptr1>");
	cr_assert_str_eq(wsph_casemap_ptr(m, CTX2, buf, sizeof buf), "0x<ptr2>");
	cr_assert_null(wsph_casemap_ptr(m, 0x3c000000, buf, sizeof buf), "harness handles stay");
	cr_assert_null(wsph_casemap_ptr(m, 0, buf, sizeof buf));
	cr_assert_eq(wsph_casemap_thread(m, 4242), 1);
	cr_assert_eq(wsph_casemap_thread(m, 777), 2);
	char *t = wsph_casemap_text(m, "ctx=0x7f00deadbeef, s=0x3c000000, x0x7f00deadbeef, "
	                               "0x7f00deadbeefff, 0x55aa00112230)");
	cr_assert_str_eq(
	    t, "ctx=0x<ptr1>, s=0x3c000000, x0x7f00deadbeef, 0x7f00deadbeefff, 0x<ptr2>)");
	free(t);
	wsph_casemap_free(m);
	cr_assert_eq(wsph_finding_seq(&r.cases[0].findings[0]), 5);
	cr_assert_eq(wsph_finding_seq(&r.cases[0].findings[2]), 0);
	wsph_results_free(&r);
}

/* ---- TAP ---- */

Test(tap, plan_points_yaml_and_skip)
{
	struct wsph_results r;
	build(&r);
	char *t = render(wsph_report_tap, &r, 1);
	cr_assert(strncmp(t, "TAP version 13\n1..4\n", 20) == 0, "%s", t);
	cr_assert(strstr(t,
	                 "\nnot ok 1 - sockets.nonifs/create-and-close[nonifs]\n  ---\n"
	                 "  severity: fail\n  message: \"WPU.CloseSocketHandle.MatchesCreate: "));
	cr_assert(strstr(t, "    - rule: \"SPI.Errno.OnFailure\"\n      severity: error\n"));
	cr_assert(strstr(t, "      event: 6\n"));
	cr_assert(strstr(t, "at: \"scenarios/x.yaml:12:7\""));
	cr_assert(strstr(t, "a warning about context 0x<ptr1>"), "placeholders in messages");
	cr_assert(!strstr(t, "deadbeef"), "no raw pointer in a deterministic report");
	/* The hostile name: '#' and '\' escaped, ESC and the line kept on one line. */
	cr_assert(strstr(t, "\nok 2 - evil/evil<&>\"'\\#\\\\[x]?[31m\xEF\xBF\xBD|*_\n  ---\n  "
	                    "severity: warning\n"),
	          "%s", t);
	cr_assert(strstr(t,
	                 "\nok 3 - sockets.ifs/modified-handle[nonifs] # SKIP the scenario applies "
	                 "to ifs providers only\n"));
	cr_assert(strstr(t,
	                 "\nnot ok 4 - sockets.nonifs/crashes[nonifs]\n  ---\n  severity: error\n"
	                 "  error_type: \"crash\"\n"));
	cr_assert_eq(count(t, "\n  ...\n"), 3);
	cr_assert(!strstr(t, "duration:"), "no times when deterministic");
	free(t);
	t = render(wsph_report_tap, &r, 0);
	cr_assert(strstr(t, "  duration: 0.250\n"));
	free(t);
	r.n_cases = 0;
	t = render(wsph_report_tap, &r, 1);
	cr_assert_str_eq(t, "TAP version 13\n1..0 # SKIP no scenario selected\n");
	free(t);
	r.n_cases = 4;
	wsph_results_free(&r);
}

/* ---- the JSON-lines trace ---- */

/* Parses every line; returns the number of lines and keeps them in lines[]. */
static size_t parse_lines(char *text, struct wsph_json *lines, size_t max)
{
	size_t n = 0;
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n'), err[64];
		cr_assert_not_null(nl, "every record ends with a newline");
		cr_assert(n < max);
		cr_assert_eq(wsph_json_parse(p, (size_t)(nl - p), &lines[n], err, sizeof err), 0,
		             "line %zu: %s: %.*s", n + 1, err, (int)(nl - p), p);
		cr_assert_eq(lines[n].type, WSPH_JSON_OBJECT);
		n++;
		p = nl + 1;
	}
	return n;
}

Test(trace, one_record_per_line_with_schema_events_and_findings)
{
	struct wsph_results r;
	struct wsph_json l[64];
	build(&r);
	char *t = render(wsph_report_trace, &r, 1);
	size_t n = parse_lines(t, l, 64);
	/* header, 4 cases, 7 events, 4 + 1 findings, summary */
	cr_assert_eq(n, 1 + 4 + 7 + 5 + 1, "%zu lines", n);
	cr_assert_str_eq(wsph_json_get_string(&l[0], "schema"), "wspharness.trace/1");
	cr_assert_str_eq(wsph_json_get_string(&l[0], "hostname"), "localhost");
	cr_assert_str_eq(wsph_json_get_string(&l[0], "timestamp"), "1970-01-01T00:00:00");
	cr_assert_str_eq(wsph_json_get_string(&l[0], "provider"), "/opt/p/mock<&>.so");
	cr_assert_str_eq(wsph_json_get_string(&l[1], "type"), "case");
	cr_assert_str_eq(wsph_json_get_string(&l[1], "outcome"), "fail");
	cr_assert_eq(wsph_json_get_int(&l[1], "events", 0), 7);

	/* The nested upcall: arguments by name, the context as a placeholder, parent and table. */
	const struct wsph_json *up = &l[3];
	cr_assert_str_eq(wsph_json_get_string(up, "kind"), "upcall");
	cr_assert_str_eq(wsph_json_get_string(up, "function"), "WPUCreateSocketHandle");
	const struct wsph_json *args = wsph_json_get(up, "args");
	cr_assert_eq(wsph_json_get_int(args, "dwCatalogEntryId", 0), 1001);
	cr_assert_str_eq(wsph_json_get_string(args, "dwContext"), "0x<ptr1>");
	cr_assert_eq(wsph_json_get_int(up, "parent", 0), 1);
	cr_assert_str_eq(wsph_json_get_string(up, "table"), "A");
	cr_assert_eq(wsph_json_get_int(up, "ret", 0), 0x3c000000);
	cr_assert_eq(wsph_json_get_int(up, "time_ns", 1), 0);
	cr_assert_eq(wsph_json_get_int(up, "thread", 0), 1);

	/* The call record leaves out what only the return knows; errno by name. */
	cr_assert_null(wsph_json_get_string(&l[2], "errno_name"));
	cr_assert_eq(wsph_json_get(&l[2], "ret")->type, WSPH_JSON_NULL);
	cr_assert_str_eq(wsph_json_get_string(&l[6], "errno_name"), "WSAENOTSOCK");
	cr_assert_eq(wsph_json_get_int(&l[6], "errno", 0), 10038);
	cr_assert_str_eq(wsph_json_get_string(&l[6], "table"), "B");
	cr_assert_eq(wsph_json_get(&l[7], "errno")->type, WSPH_JSON_NULL, "*lpErrno not written");
	cr_assert_eq(wsph_json_get_int(&l[8], "thread", 0), 2);
	cr_assert_str_eq(wsph_json_get_string(&l[8], "fault_name"), "WSAENOBUFS");
	cr_assert_eq(wsph_json_get(&l[8], "parent")->type, WSPH_JSON_NULL);

	/* Findings carry the seq of their event. */
	cr_assert_str_eq(wsph_json_get_string(&l[9], "type"), "finding");
	cr_assert_eq(wsph_json_get_int(&l[9], "seq", 0), 5);
	cr_assert_str_eq(wsph_json_get_string(&l[9], "rule"),
	                 "WPU.CloseSocketHandle.MatchesCreate");
	cr_assert_eq(wsph_json_get(&l[11], "seq")->type, WSPH_JSON_NULL);
	cr_assert_str_eq(wsph_json_get_string(&l[11], "severity"), "warning");
	cr_assert_str_eq(wsph_json_get_string(&l[11], "message"),
	                 "a warning about context 0x<ptr1>");
	cr_assert_eq(wsph_json_get_int(&l[12], "seq", 0), 2);

	/* The hostile case survives as one line, repaired. */
	cr_assert_str_eq(wsph_json_get_string(&l[13], "name"),
	                 "evil<&>\"'#\\[x]\x1b[31m\xEF\xBF\xBD|*_");
	cr_assert_str_eq(wsph_json_get_string(&l[n - 1], "type"), "summary");
	cr_assert_eq(wsph_json_get_int(&l[n - 1], "failures", 0), 1);
	for (size_t i = 0; i < n; i++)
		wsph_json_free(&l[i]);
	free(t);

	/* Not deterministic: raw pointers, real thread IDs and times. */
	t = render(wsph_report_trace, &r, 0);
	cr_assert(strstr(t, "\"dwContext\":\"0x7f00deadbeef\""));
	cr_assert(strstr(t, "\"thread\":4242"));
	cr_assert(strstr(t, "\"time_ns\":2000"));
	cr_assert(strstr(t, "\"hostname\":\"build-07\""));
	free(t);
	wsph_results_free(&r);
}

/* ---- the matrix ---- */

Test(matrix, markdown_rows_verdicts_and_findings)
{
	struct wsph_results r;
	build(&r);
	char *t = render(wsph_report_matrix, &r, 1);
	/* WPUCloseSocketHandle: concerned by its WPU.CloseSocketHandle.* rule; not used (its only
	 * upcall is in case 0's events, so it is used). */
	cr_assert(
	    strstr(t, "| WPUCloseSocketHandle | Closes a \\<socket\\> handle \\& more. | Required. "
	              "| yes (1 call) | sockets.nonifs/create-and-close\\[nonifs\\] | **fail** | "
	              "WPU.CloseSocketHandle.MatchesCreate (error) x1 in "
	              "sockets.nonifs/create-and-close\\[nonifs\\] |"),
	    "%s", t);
	/* WPUCreateSocketHandle: WPU.Handles.NoLeak points at its upcall. */
	cr_assert(strstr(t, "| WPUCreateSocketHandle |"));
	cr_assert(strstr(t, "| **fail** | WPU.Handles.NoLeak (error) x1 in "));
	cr_assert(
	    strstr(t, "| WPUCloseEvent | Closes an event. | (not stated) | no |  | not used |  |"));
	cr_assert(strstr(
	    t, "| WPUQuerySocketHandleContext | Queries the context. | Required for nonIFS "
	       "providers. | yes (1 call) | sockets.nonifs/create-and-close\\[nonifs\\] | pass |"));
	cr_assert(strstr(t, "## Lifecycle rules (SPI.*)"));
	cr_assert(strstr(t, "| SPI.Errno.OnFailure | MUST (error) |"));
	cr_assert(strstr(
	    t, "| SPI.Startup.Blocking | MAY (error) | Not observable here. | not checkable |"));
	cr_assert(strstr(
	    t,
	    "| X.Warn | SHOULD (warning) | A warning \\<rule\\>. | **warn** | (warning) x2 in "));
	cr_assert(strstr(t, "evil/evil\\<\\&\\>\"'\\#\\\\\\[x\\]"), "hostile names escaped: %s", t);
	cr_assert(strstr(t, "- Run: 1970-01-01T00:00:00 UTC\n"));
	cr_assert(strstr(t, "- Result: 1 passed, 1 failed, 1 errors, 1 skipped\n"));
	/* One table line per row and per rule. */
	cr_assert_eq(count(t, "\n| WPU"), 4 + 2);
	free(t);
	wsph_results_free(&r);
}

Test(matrix, html_is_self_contained_and_escaped)
{
	struct wsph_results r;
	build(&r);
	char *t = render(wsph_report_matrix_html, &r, 1);
	cr_assert(strncmp(t, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0);
	cr_assert_eq(count(t, "<tr class=\"row\""), 4);
	cr_assert_eq(count(t, "<tr class=\"rule\""), 5);
	cr_assert(strstr(t, "<tr class=\"row\" data-function=\"WPUCloseSocketHandle\" "
	                    "data-status=\"required\">"));
	cr_assert(strstr(t, "Closes a &lt;socket&gt; handle &amp; more."));
	cr_assert(strstr(t, "<td class=\"verdict v-fail\">fail</td>"));
	cr_assert(strstr(t, "<td class=\"verdict v-not-checkable\">not checkable</td>"));
	cr_assert(strstr(t, "evil&lt;&amp;&gt;&quot;&apos;#\\[x]\xEF\xBF\xBD[31m"), "%s", t);
	cr_assert(strstr(t, "a warning about context 0x&lt;ptr1&gt;"));
	/* Nothing to fetch: no scripts, no external URLs in attributes. */
	cr_assert_null(strstr(t, "<script"));
	cr_assert_null(strstr(t, "src="));
	cr_assert_eq(count(t, "href="), 1);
	cr_assert(strstr(t, "<link rel=\"icon\" href=\"data:,\">"));
	cr_assert(strstr(t, "</html>\n"));
	free(t);
	r.set = NULL;
	t = render(wsph_report_matrix_html, &r, 1);
	cr_assert(strstr(t, "No rule catalogue"));
	free(t);
	wsph_results_free(&r);
}

Test(report, new_formats_are_registered)
{
	cr_assert_eq(wsph_reporter_find("tap"), wsph_report_tap);
	cr_assert_eq(wsph_reporter_find("trace"), wsph_report_trace);
	cr_assert_eq(wsph_reporter_find("matrix"), wsph_report_matrix);
	cr_assert_eq(wsph_reporter_find("matrix-html"), wsph_report_matrix_html);
}

/* ---- show ---- */

static char *write_tmp(const char *text)
{
	char *path = xdup("/tmp/wsph-show-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	fputs(text, f);
	fclose(f);
	return path;
}

static char *show(const char *path, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	*rc = wsph_show_trace(path, f);
	fclose(f);
	return buf;
}

Test(show, nests_upcalls_names_arguments_and_attaches_findings)
{
	struct wsph_results r;
	int rc;
	build(&r);
	char *t = render(wsph_report_trace, &r, 1);
	char *path = write_tmp(t);
	char *out = show(path, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(
	    strstr(
	        out,
	        "FAIL  sockets.nonifs/create-and-close[nonifs]  "
	        "(scenarios/sockets/nonifs.yaml:3)\n  step 1\n"
	        "    #1 WSPSocket(af=AF_INET (2), type=SOCK_STREAM (1), protocol=IPPROTO_TCP (6), "
	        "catalogEntryId=1001, dwFlags=WSA_FLAG_OVERLAPPED)  [by wspharness]\n"
	        "      #2 upcall WPUCreateSocketHandle(dwCatalogEntryId=1001, dwContext=0x<ptr1>) "
	        "-> 0x3c000000  [by mock.so, table A]\n"),
	    "%s", out);
	cr_assert(strstr(out, "      #5 upcall WPUCloseSocketHandle(s=0x3c000008) -> SOCKET_ERROR, "
	                      "WSAENOTSOCK (10038)  [by mock.so, table B]\n"
	                      "        !! WPU.CloseSocketHandle.MatchesCreate [error] at "
	                      "scenarios/x.yaml:12:7: "),
	          "%s", out);
	cr_assert(strstr(out, "    #6 return WSPCloseSocket -> SOCKET_ERROR, *lpErrno not written  "
	                      "[in mock.so]\n      !! SPI.Errno.OnFailure [error]"),
	          "%s", out);
	cr_assert(
	    strstr(out, "[fault injected: WSAENOBUFS (10055)]  [by mock.so, table A, thread 2]\n"),
	    "%s", out);
	cr_assert(
	    strstr(out, "\n  !! X.Warn [warning] at scenarios/x.yaml:10:7: a warning about context "
	                "0x<ptr1>\n"));
	cr_assert(strstr(out, "evil/evil<&>\"'#\\[x]?[31m\xEF\xBF\xBD|*_"),
	          "no raw ESC reaches the terminal");
	cr_assert(strstr(out, "SKIP  sockets.ifs/modified-handle[nonifs]"));
	cr_assert(strstr(out, "ERROR sockets.nonifs/crashes[nonifs]"));
	cr_assert(strstr(out, "\n1 passed, 1 failed, 1 errors, 1 skipped\n"));
	remove(path);
	free(path);
	free(out);
	free(t);
	wsph_results_free(&r);
}

Test(show, symbolic_flags_and_error_arguments)
{
	const char *text =
	    "{\"schema\":\"wspharness.trace/1\",\"type\":\"header\"}\n"
	    "{\"type\":\"case\",\"case\":\"a/b[nonifs]\",\"outcome\":\"pass\"}\r\n"
	    "{\"type\":\"event\",\"case\":\"a/b[nonifs]\",\"seq\":1,\"kind\":\"call\",\"function\":"
	    "\"WSPEventSelect\",\"args\":{\"s\":\"0x3c000000\",\"lNetworkEvents\":33},\"step\":1}\n"
	    "{\"type\":\"event\",\"case\":\"a/"
	    "b[nonifs]\",\"seq\":2,\"kind\":\"upcall\",\"function\":"
	    "\"WPUCompleteOverlappedRequest\",\"args\":{\"s\":\"0x3c000000\",\"dwError\":10038,"
	    "\"cbTransferred\":0},\"ret\":0,\"parent\":1,\"table\":\"export\",\"step\":1}\n"
	    "{\"type\":\"event\",\"case\":\"a/b[nonifs]\",\"seq\":3,\"kind\":\"call\",\"function\":"
	    "\"WSPGetSockOpt\",\"args\":{\"s\":\"0x3c000000\",\"level\":\"0xffff\",\"optname\":"
	    "\"0x1008\"},"
	    "\"step\":2,\"future_field\":[1,{\"x\":null}]}\n"
	    "{\"type\":\"future-record\"}\n"
	    "\n";
	char *path = write_tmp(text);
	int rc;
	char *out = show(path, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out, "#1 WSPEventSelect(s=0x3c000000, lNetworkEvents=FD_READ|FD_CLOSE)"),
	          "%s", out);
	cr_assert(
	    strstr(out,
	           "      #2 upcall WPUCompleteOverlappedRequest(s=0x3c000000, dwError=WSAENOTSOCK "
	           "(10038), cbTransferred=0) -> 0  [by ?, through the ws2_32 export]"),
	    "%s", out);
	cr_assert(
	    strstr(out,
	           "WSPGetSockOpt(s=0x3c000000, level=SOL_SOCKET (65535), optname=SO_TYPE (4104))"),
	    "%s", out);
	remove(path);
	free(path);
	free(out);
}

static void expect_bad(const char *text, const char *want)
{
	char *path = write_tmp(text);
	int rc;
	char *out;
	cr_redirect_stderr();
	out = show(path, &rc);
	cr_assert_eq(rc, 2, "'%s' accepted", text);
	fflush(stderr);
	char expected[512];
	snprintf(expected, sizeof expected, "%s:%s\n", path, want);
	cr_assert_stderr_eq_str(expected);
	remove(path);
	free(path);
	free(out);
}

Test(show, malformed_traces_exit_2_with_file_and_line_1)
{
	expect_bad("", "1: empty file, not a wspharness trace");
}
Test(show, malformed_traces_exit_2_with_file_and_line_2)
{
	expect_bad("{\"schema\":\"other/1\"}\n", "1: not a wspharness trace: the first line has no "
	                                         "\"schema\": \"wspharness.trace/1\"");
}
Test(show, malformed_traces_exit_2_with_file_and_line_3)
{
	expect_bad("{\"schema\":\"wspharness.trace/1\"}\n{\"type\":\"case\",\n",
	           "2: column 16: expected a member name");
}
Test(show, malformed_traces_exit_2_with_file_and_line_4)
{
	expect_bad("{\"schema\":\"wspharness.trace/"
	           "1\"}\n\n{\"type\":\"event\",\"case\":\"x\",\"seq\":\"1\"}\n",
	           "3: event record without a valid \"seq\"");
}
Test(show, malformed_traces_exit_2_with_file_and_line_5)
{
	expect_bad("{\"schema\":\"wspharness.trace/1\"}\n[1]\n",
	           "2: a trace line must be a JSON object");
}
Test(show, malformed_traces_exit_2_with_file_and_line_6)
{
	expect_bad(
	    "{\"schema\":\"wspharness.trace/1\"}\n{\"type\":\"event\",\"case\":\"x\",\"seq\":1,"
	    "\"kind\":\"jump\",\"function\":\"f\",\"args\":{}}\n",
	    "2: event record with an unknown \"kind\"");
}

Test(show, unreadable_file_exits_2)
{
	int rc;
	cr_redirect_stderr();
	char *out = show("/nonexistent/trace.jsonl", &rc);
	cr_assert_eq(rc, 2);
	fflush(stderr);
	cr_assert_stderr_eq_str(
	    "/nonexistent/trace.jsonl: cannot read: No such file or directory\n");
	free(out);
}

/* ---- console: deterministic text and progress ---- */

Test(console, deterministic_findings_show_placeholders)
{
	struct wsph_results r;
	build(&r);
	char *t = render(wsph_report_console, &r, 1);
	cr_assert(strstr(t, "dwContext=0x<ptr1>) -> 0x3c000000 [mock.so]"), "%s", t);
	cr_assert_null(strstr(t, "deadbeef"));
	free(t);
	t = render(wsph_report_junit, &r, 1);
	cr_assert(strstr(t, "dwContext=0x&lt;ptr1&gt;) -&gt; 0x3c000000"), "%s", t);
	cr_assert_null(strstr(t, "deadbeef"));
	free(t);
	wsph_results_free(&r);
}

Test(console, progress_lines_when_verbose, .init = cr_redirect_stderr)
{
	struct wsph_results r;
	struct wsph_report_opts o = {0, 0, 1, 0};
	build(&r);
	for (size_t i = 0; i < r.n_cases; i++)
		wsph_console_progress(&o, i + 1, r.n_cases, &r.cases[i]);
	o.verbose = 0;
	wsph_console_progress(&o, 1, 1, &r.cases[0]); /* not a terminal, not verbose: silent */
	fflush(stderr);
	cr_assert_stderr_eq_str("[1/4] sockets.nonifs/create-and-close[nonifs] ... FAIL\n"
	                        "[2/4] evil/evil<&>\"'#\\[x]?[31m\xff|*_ ... ok\n"
	                        "[3/4] sockets.ifs/modified-handle[nonifs] ... skip\n"
	                        "[4/4] sockets.nonifs/crashes[nonifs] ... ERROR\n");
	wsph_results_free(&r);
}

Test(console, no_color_is_honoured)
{
	setenv("NO_COLOR", "1", 1);
	cr_assert_eq(wsph_console_color(stdout, WSPH_COLOR_AUTO), 0);
	cr_assert_eq(wsph_console_color(stdout, 1), 1, "--color=always wins");
	unsetenv("NO_COLOR");
	cr_assert_eq(wsph_console_color(stdout, 0), 0);
}
