/* TAP, JSON-lines trace, matrix (Markdown and HTML), `show`, deterministic placeholders and the
 * console progress line, over one model with events, findings at events and hostile strings. */
#define _POSIX_C_SOURCE 200809L
#include "../../reports/casemap.h"
#include "../../reports/json.h"
#include "../../reports/report.h"
#include "progress.h"

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

static char *render_opts(wsph_reporter fn, const struct wsph_results *r,
                         const struct wsph_report_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cr_assert_eq(fn(f, r, o), 0);
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
	const char *in = "x\"\\\n\x01\xe2\x80\xa8\xf0\x9f\x98\x80 end \xc2\x85\x7f/";
	char *j = json_of(in), err[64];
	cJSON *v = wsph_json_parse(j, strlen(j), err, sizeof err);
	cr_assert_not_null(v, "%s", err);
	cr_assert(cJSON_IsString(v));
	cr_assert_str_eq(v->valuestring, in);
	cJSON_Delete(v);
	free(j);
}

Test(json, reader_values_and_lookups)
{
	const char *t =
	    " {\"a\":[1,-2,3.5e1,true,false,null],\"b\":{\"c\":\"\\ud83d\\ude00\\u00e9\"},"
	    "\"big\":9223372036854775807,\"min\":-9223372036854775808,\"over\":"
	    "18446744073709551616,\"under\":-9223372036854775809,\"frac\":2.0,\"exp\":1e3,"
	    "\"dup\":1,\"dup\":2} ";
	char err[64];
	int64_t x = 0;
	cJSON *v = wsph_json_parse(t, strlen(t), err, sizeof err);
	cr_assert_not_null(v, "%s", err);
	const cJSON *a = wsph_json_get(v, "a");
	cr_assert(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 6);
	cr_assert(wsph_json_int(cJSON_GetArrayItem(a, 1), &x) && x == -2);
	cr_assert(!wsph_json_int(cJSON_GetArrayItem(a, 2), &x),
	          "3.5e1 is not written as an integer");
	cr_assert_eq(cJSON_GetArrayItem(a, 2)->valuedouble, 35.0);
	cr_assert(cJSON_IsTrue(cJSON_GetArrayItem(a, 3)));
	cr_assert(cJSON_IsFalse(cJSON_GetArrayItem(a, 4)));
	cr_assert(cJSON_IsNull(cJSON_GetArrayItem(a, 5)));
	cr_assert(!wsph_json_int(cJSON_GetArrayItem(a, 3), &x), "true is not a number");
	cr_assert_str_eq(wsph_json_get_string(wsph_json_get(v, "b"), "c"),
	                 "\xf0\x9f\x98\x80\xc3\xa9");
	cr_assert_eq(wsph_json_get_int(v, "big", 0), INT64_MAX);
	cr_assert_eq(wsph_json_get_int(v, "min", 0), INT64_MIN);
	cr_assert_eq(wsph_json_get_int(v, "over", 7), 7, "too big for int64 is not an integer");
	cr_assert_eq(wsph_json_get_int(v, "under", 7), 7, "too small for int64 is not an integer");
	cr_assert_eq(wsph_json_get_int(v, "frac", 7), 7);
	cr_assert_eq(wsph_json_get_int(v, "exp", 7), 7);
	cr_assert_eq(wsph_json_get_int(v, "dup", 0), 1, "the first of a repeated member");
	cr_assert_null(wsph_json_get(v, "nope"));
	cr_assert_null(wsph_json_get(a, "a"), "an array has no members");
	cr_assert_null(wsph_json_get_string(v, "big"));
	cJSON_Delete(v);
}

/* A double holds integers exactly only to 2^53: what the trace writes with %lld (a SOCKET as its
 * int64, INVALID_SOCKET as -1, a thread ID, a time in ns) comes back to the unit, wherever the
 * number sits and whatever strings with digits and escaped quotes come before it. */
Test(json, integers_beyond_2_to_the_53_round_trip)
{
	static const int64_t vals[] = {
	    9007199254740992,     9007199254740993,     -9007199254740993,
	    INT64_MAX - 1,        INT64_MIN + 1,        (int64_t)0x7fffffffdeadbeefLL,
	    -1,                   0,                    1234567890123456789,
	};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		char line[256], err[64];
		snprintf(line, sizeof line,
		         "{\"s\":\"-1 \\\" 2e5, [3]\",\"n\":[%lld,{\"k\":\"9\",\"ret\":%lld}],"
		         "\"seq\":%lld}",
		         (long long)vals[i], (long long)vals[i], (long long)vals[i]);
		cJSON *v = wsph_json_parse(line, strlen(line), err, sizeof err);
		cr_assert_not_null(v, "%s: %s", line, err);
		const cJSON *n = wsph_json_get(v, "n");
		int64_t x = 0;
		cr_assert(wsph_json_int(cJSON_GetArrayItem(n, 0), &x) && x == vals[i], "%s", line);
		cr_assert_eq(wsph_json_get_int(cJSON_GetArrayItem(n, 1), "ret", 7), vals[i], "%s",
		             line);
		cr_assert_eq(wsph_json_get_int(v, "seq", 7), vals[i], "%s", line);
		cr_assert_str_eq(wsph_json_get_string(v, "s"), "-1 \" 2e5, [3]");
		cJSON_Delete(v);
	}
}

/* The escapes the trace writer produces come back as the bytes it was given: \u0000 ends the
 * string (C strings), a surrogate pair is one 4-byte character, \u2028 and the C1 controls stay. */
Test(json, escaped_strings)
{
	static const struct {
		const char *json, *text;
	} cases[] = {
	    {"\"a\\u0000b\"", "a"},
	    {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80"},
	    {"\"\\uD83D\\uDE00x\"", "\xf0\x9f\x98\x80x"},
	    {"\"\\u2028\\u0085\\u001b\\u007f\"", "\xe2\x80\xa8\xc2\x85\x1b\x7f"},
	    {"\"\\b\\f\\n\\r\\t\\/\\\\\\\"\"", "\b\f\n\r\t/\\\""},
	    {"\"\xef\xbf\xbd\"", "\xef\xbf\xbd"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[64];
		cJSON *v = wsph_json_parse(cases[i].json, strlen(cases[i].json), err, sizeof err);
		cr_assert_not_null(v, "%s: %s", cases[i].json, err);
		cr_assert_str_eq(v->valuestring, cases[i].text, "%s", cases[i].json);
		cJSON_Delete(v);
	}
}

/* A malformed line: "column N: what" at the place cJSON stopped (a line cut short: one past its
 * end). The text is read from its length only: no NUL after it is needed. */
Test(json, reader_refuses_malformed_input_with_a_column)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
	    {"", "column 1: unexpected end of line"},
	    {"   ", "column 4: unexpected end of line"},
	    {"{", "column 2: unexpected end of line"},
	    {"{\"type\":\"case\",", "column 16: unexpected end of line"},
	    {"{\"a\":1", "column 7: unexpected end of line"},
	    {"{\"a\":", "column 6: unexpected end of line"},
	    {"{\"a\"}", "column 5: unexpected '}'"},
	    {"{\"a\":1,}", "column 8: unexpected '}'"},
	    {"[1 2]", "column 4: unexpected '2'"},
	    {"\"abc", "column 2: unterminated string"},
	    {"{\"schema\":\"wspharness.trace/1\",\"type\":\"hea", "column 40: unterminated string"},
	    {"\"ab\\", "column 2: unterminated string"},
	    {"\"a\x01\"", "column 3: control character"},
	    {"{\"a\":\x02 1}", "column 6: control character"},
	    {"\"\\x\"", "column 2: bad escape in string"},
	    {"[\"\\u12\"]", "column 3: bad escape in string"},
	    {"\"\\ud800\"", "column 2: bad escape in string"},
	    {"\"\\udc00\"", "column 2: bad escape in string"},
	    {"\"\\ud800\\u0041\"", "column 2: bad escape in string"},
	    {"-", "column 1: unexpected '-'"},
	    {"tru", "column 1: unexpected 't'"},
	    {"xyz", "column 1: unexpected 'x'"},
	    {"{} x", "column 4: text after the value"},
	    {"{}{}", "column 3: text after the value"},
	    {"1-", "column 2: text after the value"},
	    {"\"\xff\"", "column 2: invalid UTF-8"},
	    {"\"\xed\xa0\x80\"", "column 2: invalid UTF-8"},
	    {"\"\xc3\"", "column 2: invalid UTF-8"},
	    {"\"\xe2\x82", "column 2: invalid UTF-8"},
	    /* cJSON stops one character late where a member name should start */
	    {"{1:2}", "column 2: unexpected '1'"},
	    {"{ x}", "column 3: unexpected 'x'"},
	    {"{\"a\":1,x", "column 8: unexpected 'x'"},
	    {"[1,2x]", "column 5: unexpected 'x'"},
	    {"{\"a\":{\"b\":1},}", "column 14: unexpected '}'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[64] = "x";
		size_t len = strlen(bad[i].text);
		/* a copy of exactly len bytes, so ASan sees any read past the end */
		char *copy = malloc(len ? len : 1);
		memcpy(copy, bad[i].text, len);
		cr_assert_null(wsph_json_parse(copy, len, err, sizeof err), "'%s' accepted",
		               bad[i].text);
		cr_assert_str_eq(err, bad[i].err, "'%s'", bad[i].text);
		free(copy);
	}
	char err[64];
	cr_assert_null(wsph_json_parse("\"a\0b\"", 5, err, sizeof err));
	cr_assert_str_eq(err, "column 3: control character");
	char deep[1100];
	memset(deep, '[', sizeof deep);
	cr_assert_null(wsph_json_parse(deep, sizeof deep, err, sizeof err));
	cr_assert_str_eq(err, "column 1001: nested deeper than 1000");
}

/* What cJSON reads more loosely than the JSON grammar: harmless, and the trace writer never writes
 * it (a leading zero, a fraction without digits, a byte order mark, a tab inside a string). */
Test(json, reader_accepts_what_cjson_accepts)
{
	static const char *const ok[] = {"01", "1.", "\xef\xbb\xbf{}", "\"a\tb\"", " \t{}\r\n"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char err[64];
		cJSON *v = wsph_json_parse(ok[i], strlen(ok[i]), err, sizeof err);
		cr_assert_not_null(v, "'%s': %s", ok[i], err);
		cJSON_Delete(v);
	}
	int64_t x = 0;
	cJSON *v = wsph_json_parse("007", 3, NULL, 0);
	cr_assert(wsph_json_int(v, &x) && x == 7);
	cJSON_Delete(v);
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
	/* a wide value the events do not hold is an address too (a crash's): 0x<addr> */
	cr_assert_str_eq(
	    t, "ctx=0x<ptr1>, s=0x3c000000, x0x7f00deadbeef, 0x<addr>, 0x<ptr2>)");
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
static size_t parse_lines(char *text, cJSON **lines, size_t max)
{
	size_t n = 0;
	for (char *p = text; *p;) {
		char *nl = strchr(p, '\n'), err[64];
		cr_assert_not_null(nl, "every record ends with a newline");
		cr_assert(n < max);
		lines[n] = wsph_json_parse(p, (size_t)(nl - p), err, sizeof err);
		cr_assert_not_null(lines[n], "line %zu: %s: %.*s", n + 1, err, (int)(nl - p), p);
		cr_assert(cJSON_IsObject(lines[n]));
		n++;
		p = nl + 1;
	}
	return n;
}

Test(trace, one_record_per_line_with_schema_events_and_findings)
{
	struct wsph_results r;
	cJSON *l[64];
	build(&r);
	char *t = render(wsph_report_trace, &r, 1);
	size_t n = parse_lines(t, l, 64);
	/* header, 4 cases, 7 events, 4 + 1 + 1 findings, the groups, summary */
	cr_assert_eq(n, 1 + 4 + 7 + 6 + 1 + 1, "%zu lines", n);
	cr_assert_str_eq(wsph_json_get_string(l[0], "schema"), "wspharness.trace/1");
	cr_assert_str_eq(wsph_json_get_string(l[0], "hostname"), "localhost");
	cr_assert_str_eq(wsph_json_get_string(l[0], "timestamp"), "1970-01-01T00:00:00");
	cr_assert_str_eq(wsph_json_get_string(l[0], "provider"), "/opt/p/mock<&>.so");
	cr_assert_str_eq(wsph_json_get_string(l[1], "type"), "case");
	cr_assert_str_eq(wsph_json_get_string(l[1], "outcome"), "fail");
	cr_assert_eq(wsph_json_get_int(l[1], "events", 0), 7);

	/* The nested upcall: arguments by name, the context as a placeholder, parent and table. */
	const cJSON *up = l[3];
	cr_assert_str_eq(wsph_json_get_string(up, "kind"), "upcall");
	cr_assert_str_eq(wsph_json_get_string(up, "function"), "WPUCreateSocketHandle");
	const cJSON *args = wsph_json_get(up, "args");
	cr_assert_eq(wsph_json_get_int(args, "dwCatalogEntryId", 0), 1001);
	cr_assert_str_eq(wsph_json_get_string(args, "dwContext"), "0x<ptr1>");
	cr_assert_eq(wsph_json_get_int(up, "parent", 0), 1);
	cr_assert_str_eq(wsph_json_get_string(up, "table"), "A");
	cr_assert_eq(wsph_json_get_int(up, "ret", 0), 0x3c000000);
	cr_assert_eq(wsph_json_get_int(up, "time_ns", 1), 0);
	cr_assert_eq(wsph_json_get_int(up, "thread", 0), 1);

	/* The call record leaves out what only the return knows; errno by name. */
	cr_assert_null(wsph_json_get_string(l[2], "errno_name"));
	cr_assert(cJSON_IsNull(wsph_json_get(l[2], "ret")));
	cr_assert_str_eq(wsph_json_get_string(l[6], "errno_name"), "WSAENOTSOCK");
	cr_assert_eq(wsph_json_get_int(l[6], "errno", 0), 10038);
	cr_assert_str_eq(wsph_json_get_string(l[6], "table"), "B");
	cr_assert(cJSON_IsNull(wsph_json_get(l[7], "errno")), "*lpErrno not written");
	cr_assert_eq(wsph_json_get_int(l[8], "thread", 0), 2);
	cr_assert_str_eq(wsph_json_get_string(l[8], "fault_name"), "WSAENOBUFS");
	cr_assert(cJSON_IsNull(wsph_json_get(l[8], "parent")));

	/* Findings carry the seq of their event. */
	cr_assert_str_eq(wsph_json_get_string(l[9], "type"), "finding");
	cr_assert_eq(wsph_json_get_int(l[9], "seq", 0), 5);
	cr_assert_str_eq(wsph_json_get_string(l[9], "rule"), "WPU.CloseSocketHandle.MatchesCreate");
	cr_assert(cJSON_IsNull(wsph_json_get(l[11], "seq")));
	cr_assert_str_eq(wsph_json_get_string(l[11], "severity"), "warning");
	cr_assert_str_eq(wsph_json_get_string(l[11], "message"),
	                 "a warning about context 0x<ptr1>");
	cr_assert_eq(wsph_json_get_int(l[12], "seq", 0), 2);

	/* The hostile case survives as one line, repaired. */
	cr_assert_str_eq(wsph_json_get_string(l[13], "name"),
	                 "evil<&>\"'#\\[x]\x1b[31m\xEF\xBF\xBD|*_");
	cr_assert_str_eq(wsph_json_get_string(l[n - 1], "type"), "summary");
	cr_assert_eq(wsph_json_get_int(l[n - 1], "failures", 0), 1);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(l[i]);
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
	/* WPUCloseSocketHandle: concerned by its WPU.CloseSocketHandle.* rule, and used (its only
	 * upcall is in case 0's events); the defect line names its site. */
	cr_assert(
	    strstr(t, "| WPUCloseSocketHandle | Closes a \\<socket\\> handle \\& more. | Required. "
	              "| yes (1 call) | sockets.nonifs/create-and-close\\[nonifs\\] | **fail** | "
	              "WPU.CloseSocketHandle.MatchesCreate (error) in 1 case, 1 finding — mock.so, "
	              "WPUCloseSocketHandle in WSPCloseSocket: "
	              "sockets.nonifs/create-and-close\\[nonifs\\] |"),
	    "%s", t);
	/* WPUCreateSocketHandle: WPU.Handles.NoLeak's site is its upcall. */
	cr_assert(strstr(t, "| WPUCreateSocketHandle |"));
	cr_assert(strstr(t, "| **fail** | WPU.Handles.NoLeak (error) in 1 case, 1 finding — mock.so, "
	                    "WPUCreateSocketHandle in WSPSocket: "));
	/* Never used, nothing needed it: n/a, never fail. */
	cr_assert(strstr(t, "| WPUCloseEvent | Closes an event. | (not stated) | no |  | n/a |  |"));
	cr_assert(strstr(
	    t, "| WPUQuerySocketHandleContext | Queries the context. | Required for nonIFS "
	       "providers. | yes (1 call) | sockets.nonifs/create-and-close\\[nonifs\\] | pass |"));
	cr_assert(strstr(t, "## Lifecycle rules (SPI.*)"));
	cr_assert(strstr(t, "| SPI.Errno.OnFailure | MUST (error) |"));
	cr_assert(strstr(
	    t, "| SPI.Startup.Blocking | MAY (error) | Not observable here. | not checkable |"));
	cr_assert(strstr(
	    t, "| X.Warn | SHOULD (warning) | A warning \\<rule\\>. | **warn** | (warning) in 2 "
	       "cases, 2 findings: "));
	/* One rule at two sites is two defects, one line each in the cell. */
	cr_assert(strstr(t, "| SPI.Errno.OnFailure | MUST (error) | A failure writes \\*lpErrno. | "
	                    "**fail** | (error) in 1 case, 1 finding — mock.so, WSPCloseSocket: "
	                    "sockets.nonifs/create-and-close\\[nonifs\\]<br>(error) in 1 case, 1 "
	                    "finding — mock.so, WSPStartup: sockets.nonifs/crashes\\[nonifs\\] |"),
	          "%s", t);
	cr_assert(strstr(t, "evil/evil\\<\\&\\>\"'\\#\\\\\\[x\\]"), "hostile names escaped: %s", t);
	cr_assert(strstr(t, "- Run: 1970-01-01T00:00:00 UTC\n"));
	cr_assert(strstr(t, "- Cases: 1 passed, 1 failed, 1 errored, 1 skipped; not reached: 1 step, "
	                    "2 rules in 2 cases\n"),
	          "%s", t);
	/* The summary and the failing cases come before the tables: each case by its ID, each rule
	 * it broke once, an error case with its error. */
	cr_assert(strstr(t, "\n## Summary\n\n**FAIL**: 2 of 3 cases that ran failed or errored; 3 "
	                    "rules broken\n"));
	cr_assert(strstr(t, "- Rules broken: 3 (4 defects): SPI.Errno.OnFailure, "
	                    "WPU.CloseSocketHandle.MatchesCreate, WPU.Handles.NoLeak\n"));
	cr_assert(strstr(t, "- Rules with warnings: 1 (1 defect): X.Warn\n"));
	cr_assert(strstr(t, "\n## Failing cases (2)\n\n- sockets.nonifs/create-and-close\\[nonifs\\]: "
	                    "failed\n  - WPU.CloseSocketHandle.MatchesCreate (error, step 2): "));
	cr_assert(strstr(t, "- sockets.nonifs/crashes\\[nonifs\\]: errored\n  - error (crash): the "
	                    "provider crashed (signal 11)\n  - SPI.Errno.OnFailure (error, step 1): "));
	cr_assert(strstr(t, "## Failing cases") < strstr(t, "## Upcalls"));
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
	cr_assert(strstr(t, "<link rel=\"icon\" href=\"data:,\">"));
	for (const char *p = t; (p = strstr(p, "href=\"")) != NULL; p++)
		cr_assert(p[6] == '#' || strncmp(p + 6, "data:,\"", 7) == 0, "%.40s", p);
	/* The summary box, the failing cases linking to their rules' rows, lists in <details>. */
	cr_assert(strstr(t, "<section id=\"summary\" class=\"summary s-fail\""));
	cr_assert(strstr(t, "<li class=\"case\" id=\"case-1\"><code class=\"case-id\">"
	                    "sockets.nonifs/create-and-close[nonifs]</code> <span class=\"outcome\">"
	                    "failed</span><ul class=\"case-findings\"><li title=\"WPUCloseSocketHandle(s=0x3c000008) "
	                    "closed a handle it never created\"><a "
	                    "href=\"#rule-WPU.CloseSocketHandle.MatchesCreate\">"),
	          "%s", t);
	cr_assert(strstr(t, "<th scope=\"row\" id=\"rule-WPU.CloseSocketHandle.MatchesCreate\">"));
	cr_assert(strstr(t, "<td class=\"scenarios\"><details><summary>1 case</summary>"));
	cr_assert(strstr(t, "<div class=\"finding error\"><details><summary><a href=\"#rule-"));
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
	        "    #1-3 WSPSocket(af=AF_INET (2), type=SOCK_STREAM (1), protocol=IPPROTO_TCP (6), "
	        "catalogEntryId=1001, dwFlags=WSA_FLAG_OVERLAPPED) -> 0x3c000000  [by wspharness, "
	        "in mock.so]\n"
	        "      #2 upcall WPUCreateSocketHandle(dwCatalogEntryId=1001, dwContext=0x<ptr1>) "
	        "-> 0x3c000000  [by mock.so, table A]\n"),
	    "%s", out);
	cr_assert_null(strstr(out, " return WSPSocket"), "a call and its return are one line");
	cr_assert(strstr(out, "      #5 upcall WPUCloseSocketHandle(s=0x3c000008) -> SOCKET_ERROR, "
	                      "WSAENOTSOCK (10038)  [by mock.so, table B]\n"
	                      "        !! WPU.CloseSocketHandle.MatchesCreate [error] at "
	                      "scenarios/x.yaml:12:7: "),
	          "%s", out);
	/* a finding about the return comes after what happened inside the call */
	cr_assert(strstr(out, "    #4-6 WSPCloseSocket(s=0x3c000000) -> SOCKET_ERROR, *lpErrno not "
	                      "written  [by wspharness, in mock.so]\n"),
	          "%s", out);
	cr_assert(strstr(out, "scenarios/x.yaml:12:7: WPUCloseSocketHandle(s=0x3c000008) closed a "
	                      "handle it never created\n           rule: Close only created handles.\n"
	                      "      !! SPI.Errno.OnFailure [error]"),
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

/* A layer's call to the provider below sits under the harness's call, each call on one line with
 * its return; an interposed import shows its string arguments as strings; a call that never
 * returned says so. */
Test(show, each_call_once_nested_under_the_call_it_happened_in)
{
#define EV(rest) "{\"type\":\"event\",\"case\":\"a/b[nonifs]\"," rest "}\n"
	const char *text =
	    "{\"schema\":\"wspharness.trace/1\",\"type\":\"header\"}\n"
	    "{\"type\":\"case\",\"case\":\"a/b[nonifs]\",\"outcome\":\"error\",\"error_type\":"
	    "\"crash\",\"error_message\":\"boom\"}\n"
	    EV("\"seq\":1,\"thread\":7,\"kind\":\"call\",\"function\":\"WSPSend\",\"args\":{\"s\":"
	       "\"0x3c000000\",\"len\":3},\"module\":\"wspharness\",\"step\":1")
	    EV("\"seq\":2,\"thread\":7,\"kind\":\"upcall\",\"function\":\"LoadLibraryW\",\"args\":"
	       "{\"lpLibFileName\":\"C:\\\\x\\\\mockbase.dll\"},\"ret\":\"0x<ptr1>\",\"module\":"
	       "\"lsp.dll\",\"parent\":1,\"table\":\"export\",\"step\":1")
	    EV("\"seq\":3,\"thread\":7,\"kind\":\"call\",\"function\":\"WSPSend\",\"args\":{\"s\":"
	       "\"0x4d420004\",\"len\":3},\"module\":\"lsp.dll\",\"parent\":1,\"step\":1")
	    EV("\"seq\":4,\"thread\":7,\"kind\":\"upcall\",\"function\":\"WPUQueueApc\",\"args\":"
	       "{},\"ret\":0,\"module\":\"mockbase.dll\",\"behalf\":\"lsp.dll\",\"parent\":3,"
	       "\"table\":\"A\",\"step\":1")
	    EV("\"seq\":5,\"thread\":7,\"kind\":\"return\",\"function\":\"WSPSend\",\"args\":{\"s\":"
	       "\"0x4d420004\",\"len\":3,\"sent\":3},\"ret\":0,\"module\":\"mockbase.dll\","
	       "\"behalf\":\"lsp.dll\",\"parent\":3,\"step\":1")
	    EV("\"seq\":6,\"thread\":7,\"kind\":\"return\",\"function\":\"WSPSend\",\"args\":{\"s\":"
	       "\"0x3c000000\",\"len\":3,\"sent\":3},\"ret\":0,\"module\":\"lsp.dll\",\"parent\":1,"
	       "\"step\":1")
	    EV("\"seq\":7,\"thread\":7,\"kind\":\"call\",\"function\":\"WSPRecv\",\"args\":{\"s\":"
	       "\"0x3c000000\",\"len\":9},\"module\":\"wspharness\",\"step\":2")
	    "{\"type\":\"finding\",\"case\":\"a/b[nonifs]\",\"seq\":6,\"rule\":\"R.One\","
	    "\"message\":\"about the return\"}\n";
#undef EV
	char *path = write_tmp(text);
	int rc;
	char *out = show(path, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out,
	                 "  step 1\n"
	                 "    #1-6 WSPSend(s=0x3c000000, len=3) -> 0; sent=3  [by wspharness, in "
	                 "lsp.dll]\n"
	                 "      #2 upcall LoadLibraryW(lpLibFileName=\"C:\\\\x\\\\mockbase.dll\") -> "
	                 "0x<ptr1>  [by lsp.dll, interposed]\n"
	                 "      #3-5 WSPSend(s=0x4d420004, len=3) -> 0; sent=3  [by lsp.dll, in "
	                 "mockbase.dll for lsp.dll]\n"
	                 "        #4 upcall WPUQueueApc() -> 0  [by mockbase.dll for lsp.dll, table A]\n"
	                 "      !! R.One [error]: about the return\n"
	                 "  step 2\n"
	                 "    #7 WSPRecv(s=0x3c000000, len=9) (no return)  [by wspharness]\n"),
	          "%s", out);
	remove(path);
	free(path);
	free(out);
}

/* Integers beyond a double's 2^53 (a seq, a thread ID, a return value) are shown to the unit. */
Test(show, prints_integers_beyond_2_to_the_53_exactly)
{
	static const char trace[] =
	    "{\"schema\":\"wspharness.trace/1\",\"type\":\"header\"}\n"
	    "{\"type\":\"case\",\"case\":\"c/1\",\"outcome\":\"pass\"}\n"
	    "{\"type\":\"event\",\"case\":\"c/1\",\"seq\":9007199254740993,"
	    "\"thread\":9007199254740995,\"kind\":\"upcall\",\"function\":\"Mystery\","
	    "\"args\":{\"big\":-9223372036854775807},\"ret\":9223372036854775807}\n";
	char *path = write_tmp(trace);
	int rc;
	char *out = show(path, &rc);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "#9007199254740993 upcall Mystery(big=-9223372036854775807) -> "
	                      "9223372036854775807"),
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
	/* an empty file is no trace at all: said so, without a line (reports/json.c) */
	char *path = write_tmp("");
	int rc;
	cr_redirect_stderr();
	char *out = show(path, &rc);
	cr_assert_eq(rc, 2);
	fflush(stderr);
	char expected[512];
	snprintf(expected, sizeof expected,
	         "%s is not a wspharness trace (it is empty; 'wspharness run --trace FILE' writes "
	         "one)\n",
	         path);
	cr_assert_stderr_eq_str(expected);
	remove(path);
	free(path);
	free(out);
}
Test(show, malformed_traces_exit_2_with_file_and_line_2)
{
	expect_bad("{\"schema\":\"other/1\"}\n", "1: not a wspharness trace: the first line has no "
	                                         "\"schema\": \"wspharness.trace/1\"");
}
Test(show, malformed_traces_exit_2_with_file_and_line_3)
{
	expect_bad("{\"schema\":\"wspharness.trace/1\"}\n{\"type\":\"case\",\n",
	           "2: column 16: unexpected end of line");
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
	struct wsph_report_opts verbose = {1, 0, 1, 0}; /* the excerpts are printed with -v */
	char *t = render_opts(wsph_report_console, &r, &verbose);
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
	struct wsph_console_progress o = {.verbose = 1};
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
	cr_assert_eq(wsph_term_color(stdout, WSPH_COLOR_AUTO), 0);
	cr_assert_eq(wsph_term_color(stdout, 1), 1, "--color=always wins");
	unsetenv("NO_COLOR");
	cr_assert_eq(wsph_term_color(stdout, 0), 0);
}

/* ---- one defect, one line; not reached; the matrix's verdicts (hand-made models) ---- */

static struct wsph_upcall_row lrows[] = {
    {.function = "WPUCloseSocketHandle", .description = "Closes.", .published = "Required."},
    {.function = "WPUPostMessage", .description = "Posts.", .published = "Required."},
    {.function = "WPUQueueApc", .description = "Queues an APC.", .published = "Optional."},
    {.function = "WPUCreateSocketHandle", .description = "Creates.", .published = "Required."},
    {.function = "WPUCloseEvent", .description = "Closes an event.", .published = "Optional."},
    {.function = "WPUFDIsSet", .description = "Checks a set.", .published = "Optional."},
};

static struct wsph_rule lrules[] = {
    {.id = "SPI.Cleanup.SuccessReturnsZero", .level = "MUST", .statement = "Cleanup returns 0."},
    {.id = "WPU.PostMessage.Mandatory", .level = "MUST", .statement = "Use WPUPostMessage."},
    {.id = "WPU.QueueApc.OnlyWithRoutine", .level = "MUST", .statement = "APC with a routine."},
    {.id = "WPU.Handles.NoLeak", .level = "MUST", .statement = "Release every handle."},
    {.id = "SPI.Startup.RefCount", .level = "MUST", .statement = "Balanced."},
};

static struct wsph_ruleset lset = {
    .rows = lrows,
    .n_rows = sizeof lrows / sizeof lrows[0],
    .rules = lrules,
    .n_rules = sizeof lrules / sizeof lrules[0],
};

static struct wsph_finding lfinding(int rule, int step, const char *msg, const char *module,
                                    int call_fn, int upcall_fn)
{
	struct wsph_finding f;
	memset(&f, 0, sizeof f);
	f.rule = &lrules[rule];
	f.step = step;
	f.loc.file = "scenarios/lifecycle/startup.yaml";
	f.loc.line = 20 + step;
	f.loc.col = 9;
	f.message = xdup(msg);
	snprintf(f.module, sizeof f.module, "%s", module);
	f.call_fn = call_fn;
	f.upcall_fn = upcall_fn;
	return f;
}

static void add_finding(struct wsph_case *c, struct wsph_finding f)
{
	c->findings = must(realloc(c->findings, (c->n_findings + 1) * sizeof *c->findings));
	c->findings[c->n_findings++] = f;
}

static void add_unreached(struct wsph_case *c, int rule, int step, const char *reason)
{
	c->unreached = must(realloc(c->unreached, (c->n_unreached + 1) * sizeof *c->unreached));
	c->unreached[c->n_unreached].rule = rule < 0 ? NULL : &lrules[rule];
	c->unreached[c->n_unreached].step = step;
	c->unreached[c->n_unreached].reason = xdup(reason);
	c->n_unreached++;
}

/* n failing cases of lifecycle.startup, each with the same defect: the final WSPCleanup of the
 * layer passthru.dll returns 1. */
static void build_defect(struct wsph_results *r, size_t n)
{
	memset(r, 0, sizeof *r);
	r->provider = "C:\\providers\\passthru.dll";
	r->harness_version = "0.1.0";
	r->kind = "nonifs";
	r->set = &lset;
	r->n_cases = n;
	r->cases = must(calloc(n, sizeof *r->cases));
	for (size_t i = 0; i < n; i++) {
		struct wsph_case *c = &r->cases[i];
		char name[64];
		if (i == 0)
			snprintf(name, sizeof name, "startup-and-cleanup[nonifs]");
		else
			snprintf(name, sizeof name, "scenario-%02zu[nonifs]", i);
		c->classname = "wspharness.lifecycle.startup";
		c->name = xdup(name);
		c->file = "scenarios/lifecycle/startup.yaml";
		c->line = 3;
		c->outcome = WSPH_FAIL;
		add_finding(c, lfinding(0, 2, "WSPCleanup() returned 1, not 0 (THE-FULL-TEXT)",
		                        "passthru.dll", WSPH_FN_WSPCLEANUP, -1));
	}
}

Test(groups, one_defect_in_57_cases_is_one_console_line)
{
	struct wsph_results r;
	struct wsph_groups g;
	build_defect(&r, 57);
	cr_assert_eq(wsph_results_groups(&r, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.v[0].n_cases, 57);
	cr_assert_eq(g.v[0].n_findings, 57);
	cr_assert_eq(g.v[0].first_case, 0);
	cr_assert_str_eq(g.v[0].module, "passthru.dll");
	cr_assert_eq(g.v[0].call_fn, WSPH_FN_WSPCLEANUP);
	cr_assert_eq(g.v[0].upcall_fn, -1);
	cr_assert_eq(g.v[0].cases[56], 56);
	wsph_groups_free(&g);

	char *t = render(wsph_report_console, &r, 1);
	cr_assert_eq(count(t, "SPI.Cleanup.SuccessReturnsZero in 57 cases (first: "
	                      "lifecycle.startup/startup-and-cleanup[nonifs]) — passthru.dll, "
	                      "WSPCleanup\n"),
	             1, "%s", t);
	cr_assert_eq(count(t, "in 57 cases"), 1);
	/* Each finding one line under its case; the rule's statement once, not 57 times. */
	cr_assert_eq(count(t, "\n  SPI.Cleanup.SuccessReturnsZero [error] line 22: WSPCleanup() "
	                      "returned 1, not 0 (THE-FULL-TEXT)\n"),
	             57, "%s", t);
	cr_assert_eq(count(t, "THE-FULL-TEXT"), 57, "%s", t);
	cr_assert_eq(count(t, "  rule: Cleanup returns 0.\n"), 1);
	cr_assert(strstr(t, "\nrule                            cases  findings\n"
	                    "SPI.Cleanup.SuccessReturnsZero     57        57\n"),
	          "%s", t);
	cr_assert(strstr(t, "  57 findings in: lifecycle.startup/startup-and-cleanup[nonifs], "
	                    "lifecycle.startup/scenario-01[nonifs], "),
	          "%s", t);
	cr_assert(strstr(t, "lifecycle.startup/scenario-07[nonifs] and 49 more (-v lists them)\n"));
	cr_assert(strstr(t, "\n0 passed, 57 failed, 0 errors, 0 skipped; 1 defect\n"), "%s", t);
	free(t);

	/* The trace has one groups record with that group, and `show` prints the same line. */
	t = render(wsph_report_trace, &r, 1);
	cr_assert_eq(count(t, "{\"type\":\"groups\""), 1);
	cr_assert(strstr(t, "{\"type\":\"groups\",\"groups\":[{\"rule\":"
	                    "\"SPI.Cleanup.SuccessReturnsZero\","
	                    "\"severity\":\"error\",\"module\":\"passthru.dll\",\"call\":\"WSPCleanup\","
	                    "\"upcall\":null,\"site\":\"passthru.dll, WSPCleanup\",\"cases\":57,"
	                    "\"findings\":57,\"first\":\"lifecycle.startup/startup-and-cleanup[nonifs]\","
	                    "\"case_ids\":[\"lifecycle.startup/startup-and-cleanup[nonifs]\","),
	          "%s", t);
	free(t);
	wsph_results_free(&r);
}

Test(groups, one_rule_at_two_sites_is_two_groups)
{
	struct wsph_results r;
	struct wsph_groups g;
	build_defect(&r, 4);
	/* Cases 2 and 3: the lower provider's WSPCleanup, not the layer's. */
	for (size_t i = 2; i < 4; i++)
		snprintf(r.cases[i].findings[0].module, sizeof r.cases[i].findings[0].module,
		         "mockbase.dll");
	/* Case 1 also breaks it in another call: a third site. */
	add_finding(&r.cases[1], lfinding(0, 3, "WSPStartup balance broken", "passthru.dll",
	                                  WSPH_FN_WSPSTARTUP, -1));
	cr_assert_eq(wsph_results_groups(&r, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_assert_str_eq(g.v[0].module, "passthru.dll");
	cr_assert_eq(g.v[0].n_cases, 2);
	cr_assert_eq(g.v[1].call_fn, WSPH_FN_WSPSTARTUP);
	cr_assert_eq(g.v[1].n_cases, 1);
	cr_assert_eq(g.v[1].first_case, 1);
	cr_assert_str_eq(g.v[2].module, "mockbase.dll");
	cr_assert_eq(g.v[2].n_cases, 2);
	cr_assert_eq(g.v[2].first_case, 2);
	cr_assert_eq(wsph_groups_find(&g, &r.cases[3].findings[0]), 2);
	cr_assert_eq(wsph_groups_find(&g, &r.cases[1].findings[1]), 1);
	wsph_groups_free(&g);

	char *t = render(wsph_report_console, &r, 1);
	cr_assert(strstr(t, "\nSPI.Cleanup.SuccessReturnsZero in 2 cases (first: "
	                    "lifecycle.startup/startup-and-cleanup[nonifs]) — passthru.dll, "
	                    "WSPCleanup\n"),
	          "%s", t);
	cr_assert(strstr(t, "\nSPI.Cleanup.SuccessReturnsZero in 2 cases (first: "
	                    "lifecycle.startup/scenario-02[nonifs]) — mockbase.dll, WSPCleanup\n"));
	cr_assert(strstr(t, "\nSPI.Cleanup.SuccessReturnsZero in 1 case (first: "
	                    "lifecycle.startup/scenario-01[nonifs]) — passthru.dll, WSPStartup\n"));
	/* One rule at three sites is one row of the table: its cases and findings together. */
	cr_assert(strstr(t, "\nSPI.Cleanup.SuccessReturnsZero      4         5\n"), "%s", t);
	cr_assert(strstr(t, "; 3 defects\n"));
	free(t);
	wsph_results_free(&r);
}

/* The trace keeps each finding's site, what each case did not reach and the groups, and `show`
 * prints them back: not reached under its case, the grouped summary at the end. */
Test(show, trace_round_trips_site_unreached_and_groups)
{
	struct wsph_results r;
	cJSON *l[16];
	int rc;
	build_defect(&r, 3);
	snprintf(r.cases[2].findings[0].module, sizeof r.cases[2].findings[0].module, "mockbase.dll");
	r.cases[2].findings[0].upcall_fn = WSPH_FN_WPUCLOSESOCKETHANDLE;
	add_unreached(&r.cases[1], -1, 3, "step 2 failed");
	add_unreached(&r.cases[1], 3, 2, "no handle was created");
	r.cases[1].outcome = WSPH_ERROR;
	r.cases[1].error_type = xdup("timeout");
	r.cases[1].error_message = xdup("the case ran past 10 s");
	char *t = render(wsph_report_trace, &r, 1);
	size_t n = parse_lines(t, l, 16);
	/* header, 3 cases with a finding each, groups, summary */
	cr_assert_eq(n, 1 + 3 * 2 + 1 + 1, "%zu", n);
	const cJSON *u = wsph_json_get(l[3], "unreached");
	cr_assert(cJSON_IsArray(u) && cJSON_GetArraySize(u) == 2);
	cr_assert(cJSON_IsNull(wsph_json_get(cJSON_GetArrayItem(u, 0), "rule")));
	cr_assert_eq(wsph_json_get_int(cJSON_GetArrayItem(u, 0), "step", 0), 3);
	cr_assert_str_eq(wsph_json_get_string(cJSON_GetArrayItem(u, 1), "rule"), "WPU.Handles.NoLeak");
	cr_assert_str_eq(wsph_json_get_string(cJSON_GetArrayItem(u, 1), "reason"),
	                 "no handle was created");
	cr_assert_eq(cJSON_GetArraySize(wsph_json_get(l[1], "unreached")), 0);
	cr_assert_str_eq(wsph_json_get_string(l[6], "module"), "mockbase.dll");
	cr_assert_str_eq(wsph_json_get_string(l[6], "call"), "WSPCleanup");
	cr_assert_str_eq(wsph_json_get_string(l[6], "upcall"), "WPUCloseSocketHandle");
	cr_assert(cJSON_IsNull(wsph_json_get(l[2], "upcall")));
	const cJSON *g = wsph_json_get(l[7], "groups");
	cr_assert(cJSON_IsArray(g) && cJSON_GetArraySize(g) == 2);
	cr_assert_eq(wsph_json_get_int(cJSON_GetArrayItem(g, 0), "cases", 0), 2);
	cr_assert_str_eq(wsph_json_get_string(cJSON_GetArrayItem(g, 1), "site"),
	                 "mockbase.dll, WPUCloseSocketHandle in WSPCleanup");
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(l[i]);

	char *path = write_tmp(t);
	char *out = show(path, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out, "ERROR lifecycle.startup/scenario-01[nonifs]  "
	                      "(scenarios/lifecycle/startup.yaml:3)\n"
	                      "  timeout: the case ran past 10 s\n"
	                      "  !! SPI.Cleanup.SuccessReturnsZero [error] at "
	                      "scenarios/lifecycle/startup.yaml:22:9: WSPCleanup() returned 1, not 0 "
	                      "(THE-FULL-TEXT)\n"
	                      "     rule: Cleanup returns 0.\n"
	                      "  not reached: step 3 not run: step 2 failed\n"
	                      "  not reached: WPU.Handles.NoLeak not reached (step 2): no handle was "
	                      "created\n"),
	          "%s", out);
	cr_assert(strstr(out, "\n2 defects (findings of one rule at one site: module, WSP call, "
	                      "upcall):\n"
	                      "SPI.Cleanup.SuccessReturnsZero in 2 cases (first: "
	                      "lifecycle.startup/startup-and-cleanup[nonifs]) — passthru.dll, "
	                      "WSPCleanup\n"
	                      "  WSPCleanup() returned 1, not 0 (THE-FULL-TEXT)\n"
	                      "  2 findings in: lifecycle.startup/startup-and-cleanup[nonifs], "
	                      "lifecycle.startup/scenario-01[nonifs]\n"
	                      "SPI.Cleanup.SuccessReturnsZero in 1 case (first: "
	                      "lifecycle.startup/scenario-02[nonifs]) — mockbase.dll, "
	                      "WPUCloseSocketHandle in WSPCleanup\n"
	                      "  WSPCleanup() returned 1, not 0 (THE-FULL-TEXT)\n"
	                      "\n0 passed, 2 failed, 1 errors, 0 skipped\n"),
	          "%s", out);
	remove(path);
	free(path);
	free(out);
	free(t);
	wsph_results_free(&r);
}

/* A layer passthru.so over mockbase.so: case 0 (scenario "stream") and case 1 (scenario "apc",
 * which fails before its APC step). */
static void put_upcalls(struct wsph_case *c, const char *module, enum wsph_fn fn, int n)
{
	struct wsph_event e;
	if (!c->events)
		c->events = must(wsph_trace_new());
	for (int i = 0; i < n; i++) {
		e = ev(wsph_trace_count(c->events) + 1, WSPH_EV_UPCALL, fn, 1, 0, module);
		must((void *)(uintptr_t)wsph_trace_put(c->events, &e));
	}
}

static char *check_names[2][2] = {{"WPU.Handles.NoLeak", "SPI.Startup.RefCount"},
                                  {"WPU.QueueApc.OnlyWithRoutine", "SPI.Startup.RefCount"}};
static struct wsph_scenario lscenarios[2] = {
    {.name = "stream", .classname = "wspharness.layered", .checks = check_names[0], .n_checks = 2},
    {.name = "apc", .classname = "wspharness.layered", .checks = check_names[1], .n_checks = 2},
};
static struct wsph_suite lsuite = {.scenarios = lscenarios, .n_scenarios = 2};

static void build_layered(struct wsph_results *r)
{
	struct wsph_case *c;

	memset(r, 0, sizeof *r);
	r->provider = "/opt/lsp/passthru.so";
	r->harness_version = "0.1.0";
	r->kind = "nonifs";
	r->set = &lset;
	r->suite = &lsuite;
	r->n_cases = 2;
	r->cases = must(calloc(2, sizeof *r->cases));

	c = &r->cases[0];
	c->classname = "wspharness.layered";
	c->name = xdup("stream[nonifs]");
	c->outcome = WSPH_FAIL;
	put_upcalls(c, "passthru.so", WSPH_FN_WPUCREATESOCKETHANDLE, 5);
	put_upcalls(c, "mockbase.so", WSPH_FN_WPUCREATESOCKETHANDLE, 3);
	put_upcalls(c, "mockbase.so", WSPH_FN_WPUCLOSESOCKETHANDLE, 2);
	put_upcalls(c, "wspharness", WSPH_FN_WPUFDISSET, 3); /* the harness's own select */
	c->events = wsph_trace_seal(c->events);
	/* The lower provider leaks: listed on its row, not the layer's verdict. */
	add_finding(c, lfinding(3, 0, "mockbase leaked a handle", "mockbase.so", WSPH_FN_WSPSOCKET,
	                        WSPH_FN_WPUCREATESOCKETHANDLE));
	/* The layer never called WPUPostMessage where the scenario needed it (no event: no site). */
	add_finding(c, lfinding(1, 4, "no WPUPostMessage for FD_READ", "", -1, -1));

	c = &r->cases[1];
	c->classname = "wspharness.layered";
	c->name = xdup("apc[nonifs]");
	c->outcome = WSPH_FAIL;
	put_upcalls(c, "passthru.so", WSPH_FN_WPUCREATESOCKETHANDLE, 3);
	put_upcalls(c, "mockbase.so", WSPH_FN_WPUCREATESOCKETHANDLE, 1);
	c->events = wsph_trace_seal(c->events);
	add_finding(c, lfinding(0, 2, "WSPCleanup() returned 1", "passthru.so", WSPH_FN_WSPCLEANUP,
	                        -1));
	add_unreached(c, -1, 3, "step 2 failed");
	add_unreached(c, 2, 2, "no overlapped operation was started");
	add_unreached(c, 4, 2, "the second WSPStartup never ran");
}

/* The markdown line of a row or rule, "| ID | ...\n" (static buffer). */
static const char *md_line(const char *t, const char *id)
{
	static char line[2048];
	char key[128];
	snprintf(key, sizeof key, "\n| %s |", id);
	const char *p = strstr(t, key);
	cr_assert_not_null(p, "no line for %s in\n%s", id, t);
	p++;
	size_t n = strcspn(p, "\n");
	cr_assert_lt(n, sizeof line);
	memcpy(line, p, n);
	line[n] = '\0';
	return line;
}

Test(matrix, unused_rows_are_never_fail_and_modules_count_apart)
{
	struct wsph_results r;
	build_layered(&r);
	char *t = render(wsph_report_matrix, &r, 1);
	/* Used by both: each module counted, the layer first; the lower's defect is listed but the
	 * layer's verdict is pass. */
	cr_assert_str_eq(md_line(t, "WPUCreateSocketHandle"),
	                 "| WPUCreateSocketHandle | Creates. | Required. | yes (12 calls: passthru 8, "
	                 "mockbase 4) | layered/stream\\[nonifs\\], layered/apc\\[nonifs\\] | pass | "
	                 "WPU.Handles.NoLeak (error) in 1 case, 1 finding — mockbase.so, "
	                 "WPUCreateSocketHandle in WSPSocket (not the provider under test): "
	                 "layered/stream\\[nonifs\\] |");
	/* Never made, and an error finding says a scenario needed it: missing, not fail. */
	cr_assert_str_eq(md_line(t, "WPUPostMessage"),
	                 "| WPUPostMessage | Posts. | Required. | no |  | **missing** | "
	                 "WPU.PostMessage.Mandatory (error) in 1 case, 1 finding: "
	                 "layered/stream\\[nonifs\\] |");
	/* Never made, and its rule was not reached where it is checked. */
	cr_assert_str_eq(md_line(t, "WPUQueueApc"),
	                 "| WPUQueueApc | Queues an APC. | Optional. | no |  | not reached |  |");
	/* Never made, nothing needed it. */
	cr_assert_str_eq(md_line(t, "WPUCloseEvent"),
	                 "| WPUCloseEvent | Closes an event. | Optional. | no |  | n/a |  |");
	/* Made only by the provider below: the layer did not use it. */
	cr_assert_str_eq(md_line(t, "WPUCloseSocketHandle"),
	                 "| WPUCloseSocketHandle | Closes. | Required. | yes (2 calls: mockbase 2) | "
	                 "layered/stream\\[nonifs\\] | n/a |  |");
	/* The harness's own upcalls are not the provider's. */
	cr_assert_str_eq(md_line(t, "WPUFDIsSet"),
	                 "| WPUFDIsSet | Checks a set. | Optional. | yes (3 calls: wspharness 3) | "
	                 "layered/stream\\[nonifs\\] | n/a |  |");
	/* Rules: every case that checks it left it not reached; another one reached in the case
	 * that checks it too is a pass, with the note. */
	cr_assert_str_eq(md_line(t, "WPU.QueueApc.OnlyWithRoutine"),
	                 "| WPU.QueueApc.OnlyWithRoutine | MUST (error) | APC with a routine. | not "
	                 "reached | not reached in 1 case (all that check it) |");
	cr_assert_str_eq(md_line(t, "SPI.Startup.RefCount"),
	                 "| SPI.Startup.RefCount | MUST (error) | Balanced. | pass | not reached in 1 "
	                 "case |");
	cr_assert(strstr(md_line(t, "WPU.Handles.NoLeak"), "| pass | (error) in 1 case, 1 finding — "
	                                                   "mockbase.so, WPUCreateSocketHandle in "
	                                                   "WSPSocket (not the provider under test)"));
	cr_assert(strstr(md_line(t, "SPI.Cleanup.SuccessReturnsZero"), "| **fail** | (error) in 1 "
	                                                               "case, 1 finding — "
	                                                               "passthru.so, WSPCleanup: "));
	/* The upcall table: no row says fail (none of the layer's upcalls was at fault). */
	const char *table = strstr(t, "## Upcalls"), *end = strstr(t, "## Lifecycle");
	cr_assert(table && end);
	for (const char *p = table; (p = strstr(p, "fail")) != NULL && p < end; p++)
		cr_assert_fail("\"fail\" in the upcall table: %.80s", p);
	cr_assert(strstr(t, "- missing: "), "the legend explains the verdicts");
	cr_assert(strstr(t, "- n/a: "));
	cr_assert(strstr(t, "- not reached: "));
	free(t);

	/* Without the scenarios the report cannot tell: pass, with what was not reached. */
	r.suite = NULL;
	t = render(wsph_report_matrix, &r, 1);
	cr_assert_str_eq(md_line(t, "WPU.QueueApc.OnlyWithRoutine"),
	                 "| WPU.QueueApc.OnlyWithRoutine | MUST (error) | APC with a routine. | pass | "
	                 "not reached in 1 case |");
	free(t);
	r.suite = &lsuite;

	/* HTML: the same verdicts, classes without spaces or slashes. */
	t = render(wsph_report_matrix_html, &r, 1);
	cr_assert(strstr(t, "<td class=\"used\">no</td><td class=\"scenarios\"></td>"
	                    "<td class=\"verdict v-missing\">missing</td>"),
	          "%s", t);
	cr_assert(strstr(t, "<td class=\"verdict v-not-reached\">not reached</td>"));
	cr_assert(strstr(t, "<td class=\"verdict v-n-a\">n/a</td>"));
	cr_assert(strstr(t, "<div class=\"finding error other\">"));
	cr_assert(strstr(t, "yes (12 calls: passthru 8, mockbase 4)"));
	for (const char *p = t; (p = strstr(p, "<tr class=\"row\"")) != NULL; p++) {
		const char *e = strstr(p, "</tr>");
		const char *used_no = strstr(p, "<td class=\"used\">no</td>");
		const char *fail = strstr(p, "v-fail");
		cr_assert(!(used_no && used_no < e && fail && fail < e), "an unused row fails: %.200s",
		          p);
	}
	free(t);
	wsph_results_free(&r);
}

/* A rule passes only when a case that checks it ran to its end and is of its kind (and, for an
 * LSP.* rule, the run was layered); otherwise, with no finding charged to the provider, n/a. */
Test(matrix, a_rule_passes_only_where_a_checking_case_ran_to_its_end)
{
	struct wsph_results r;
	build_layered(&r);
	char *t = render(wsph_report_matrix, &r, 1);
	cr_assert(strstr(md_line(t, "WPU.Handles.NoLeak"), "| Release every handle. | pass |"));
	free(t);
	/* Its only checking case errored, or was skipped. */
	r.cases[0].outcome = WSPH_ERROR;
	t = render(wsph_report_matrix, &r, 1);
	cr_assert(strstr(md_line(t, "WPU.Handles.NoLeak"), "| Release every handle. | n/a |"), "%s",
	          md_line(t, "WPU.Handles.NoLeak"));
	free(t);
	r.cases[0].outcome = WSPH_SKIP;
	t = render(wsph_report_matrix, &r, 1);
	cr_assert(strstr(md_line(t, "WPU.Handles.NoLeak"), "| Release every handle. | n/a |"));
	free(t);
	/* A rule of the other kind than the case's. */
	r.cases[0].outcome = WSPH_FAIL;
	lrules[3].kinds = WSPH_KIND_IFS;
	t = render(wsph_report_matrix, &r, 1);
	lrules[3].kinds = 0;
	cr_assert(strstr(md_line(t, "WPU.Handles.NoLeak"), "| Release every handle. | n/a |"));
	free(t);
	/* A layer's rule (named by no scenario: every case checks it) in a run that is not layered,
	 * then in a layered one. */
	static char lsp_id[] = "LSP.Test.Rule";
	char *id = lrules[3].id;
	lrules[3].id = lsp_id;
	t = render(wsph_report_matrix, &r, 1);
	cr_assert(strstr(md_line(t, "LSP.Test.Rule"), "| Release every handle. | n/a |"));
	free(t);
	r.layered = 1;
	t = render(wsph_report_matrix_html, &r, 1);
	lrules[3].id = id;
	cr_assert(strstr(t, "id=\"rule-LSP.Test.Rule\"><code>LSP.Test.Rule</code></th><td "
	                    "class=\"level\">MUST (error)</td><td>Release every handle.</td><td "
	                    "class=\"verdict v-pass\">pass</td>"),
	          "%s", t);
	free(t);
	wsph_results_free(&r);
}

Test(tap, unreached_as_comments)
{
	struct wsph_results r;
	build(&r);
	char *t = render(wsph_report_tap, &r, 1);
	/* After the test point and its YAML block: one comment line each, escaped to one line. */
	cr_assert(strstr(t, "\nnot ok 4 - sockets.nonifs/crashes[nonifs]\n"), "%s", t);
	cr_assert(strstr(t, "  ...\n# not reached: step 3 not run: the provider crashed in step 2\n"
	                    "# not reached: WPU.CloseSocketHandle.MatchesCreate not reached (step 2): "
	                    "no handle was closed before the crash\n"),
	          "%s", t);
	cr_assert(strstr(t, "# not reached: WPU.Handles.NoLeak not reached: premise <&> ?[31m# \\ "
	                    "unmet ]]> \xEF\xBF\xBD\n"),
	          "%s", t);
	/* The crash kept the finding made before it. */
	cr_assert(strstr(t, "  error_type: \"crash\"\n"));
	cr_assert(strstr(t, "    - rule: \"SPI.Errno.OnFailure\"\n      severity: error\n      level: "
	                    "\"MUST\"\n      step: 1\n"));
	free(t);
	wsph_results_free(&r);
}
