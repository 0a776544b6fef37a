/* JSON for the trace report and `wspharness show`: an escaping writer, and a reader over cJSON. */
#ifndef WSPH_JSON_H
#define WSPH_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

/*
 * Writes s as a JSON string, quotes included (NULL writes null). Whatever the bytes, the result is
 * valid JSON and a valid YAML 1.2 double-quoted scalar (the TAP diagnostics reuse it):
 * - invalid UTF-8 (bad or truncated sequences, overlong forms, encoded surrogates, code points
 *   above U+10FFFF) is repaired: each offending byte becomes U+FFFD;
 * - the noncharacters U+FFFE and U+FFFF become U+FFFD;
 * - " and \ are escaped, and so are every C0 control (\n, \t, \r, \b, \f or \u00XX), DEL, the C1
 *   controls U+0080-U+009F and U+2028/U+2029, so a line of JSON stays one line everywhere.
 * Returns 0, or -1 when the stream reports an error.
 */
int wsph_json_string(FILE *out, const char *s);

/*
 * Reads one line of a trace, text[0..len): one JSON value, white space around it allowed, parsed
 * by cJSON. Returns the tree (cJSON_Delete frees it), or NULL with "column N: what" in err. The
 * text must be UTF-8 without control characters other than white space. cJSON keeps a number as
 * a double, exact only to 2^53: each number node also keeps its text in valuestring, so
 * wsph_json_int reads any int64 exactly. A \u0000 in a string ends its valuestring early.
 */
cJSON *wsph_json_parse(const char *text, size_t len, char *err, size_t errlen);

/* The value of a number node of wsph_json_parse written as an integer that fits in int64: 1 and
 * *out, or 0 (another type, a fraction or exponent, out of range). */
int wsph_json_int(const cJSON *v, int64_t *out);

/* The member named key of an object (the first, if repeated); NULL when v is not an object or
 * has no such member. */
const cJSON *wsph_json_get(const cJSON *v, const char *key);
/* Typed lookups: the member's value, or NULL / def when it is missing or of another type. */
const char *wsph_json_get_string(const cJSON *v, const char *key);
int64_t wsph_json_get_int(const cJSON *v, const char *key, int64_t def);

/* `wspharness show`'s first look at a file: a trace's first byte other than white space is '{'
 * (the parse then places any fault at file:line: column). Anything else is not a trace: said on
 * err as "PATH is not a wspharness trace (it looks like XML, e.g. a JUnit report; ...)", with
 * what the text looks like, and 2 returned; 0 for a text that may be a trace. */
int wsph_json_trace_refuse(const char *path, const char *text, size_t len, FILE *err);

#endif
