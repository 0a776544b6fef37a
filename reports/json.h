/* JSON for the trace report and `wspharness show`: an escaping writer and a small reader. */
#ifndef WSPH_JSON_H
#define WSPH_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* A parsed JSON value. Numbers keep their integer value exactly when they are integers that fit
 * in int64 (is_int); every number also has its double. */
enum wsph_json_type {
	WSPH_JSON_NULL,
	WSPH_JSON_BOOL,
	WSPH_JSON_NUMBER,
	WSPH_JSON_STRING,
	WSPH_JSON_ARRAY,
	WSPH_JSON_OBJECT
};

struct wsph_json {
	enum wsph_json_type type;
	int boolean;
	int is_int;
	int64_t integer;
	double number;
	char *string;            /* NUL-terminated (a \u0000 in the input ends it early) */
	struct wsph_json *items; /* array elements or object values */
	char **keys;             /* object keys, parallel to items */
	size_t n;
};

#define WSPH_JSON_MAX_DEPTH 64

/* Parses exactly one value (surrounding white space allowed) from text[0..len). Returns 0, or -1
 * with "column N: what" in err (and *out left empty). Strings must be valid UTF-8 without raw
 * control characters; nesting deeper than WSPH_JSON_MAX_DEPTH is refused. */
int wsph_json_parse(const char *text, size_t len, struct wsph_json *out, char *err, size_t errlen);
void wsph_json_free(struct wsph_json *v);

/* The member named key of an object; NULL when v is not an object or has no such member. */
const struct wsph_json *wsph_json_get(const struct wsph_json *v, const char *key);
/* Typed lookups: the member's value, or NULL / def when it is missing or of another type. */
const char *wsph_json_get_string(const struct wsph_json *v, const char *key);
int64_t wsph_json_get_int(const struct wsph_json *v, const char *key, int64_t def);

/* `wspharness show`'s first look at a file: a trace's first byte other than white space is '{'
 * (the parse then places any fault at file:line: column). Anything else is not a trace: said on
 * err as "PATH is not a wspharness trace (it looks like XML, e.g. a JUnit report; ...)", with
 * what the text looks like, and 2 returned; 0 for a text that may be a trace. */
int wsph_json_trace_refuse(const char *path, const char *text, size_t len, FILE *err);

#endif
