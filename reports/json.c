/* JSON: a writer that escapes untrusted bytes, and the trace's reader on cJSON. */
#include "json.h"
#include "xml.h"

#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

int wsph_json_string(FILE *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", out);
		return ferror(out) ? -1 : 0;
	}
	fputc('"', out);
	while (*p) {
		uint32_t c;
		size_t n = wsph_utf8_char(p, &c);
		if (c == WSPH_UTF8_REPLACEMENT) {
			fputs(WSPH_UTF8_REPLACEMENT_BYTES, out);
			p += n;
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		default:
			if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029)
				fprintf(out, "\\u%c%c%c%c", hex[c >> 12 & 15], hex[c >> 8 & 15],
				        hex[c >> 4 & 15], hex[c & 15]);
			else
				fwrite(p, 1, n, out);
			break;
		}
		p += n;
	}
	fputc('"', out);
	return ferror(out) ? -1 : 0;
}

/* ---- reading: cJSON, with the checks and the positions a trace's reader wants ---- */

static void fail(char *err, size_t errlen, size_t pos, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "column %lu: %s", (unsigned long)pos + 1, what);
}

/* The first byte of s[0..len) (NUL at len) that is not UTF-8 or is a control character other
 * than JSON's white space (cJSON takes any of them for white space): its position, or len. */
static size_t bad_byte(const char *s, size_t len, const char **what)
{
	size_t i = 0, n;
	uint32_t c;

	for (; i < len; i += n) {
		n = wsph_utf8_seq((const unsigned char *)s + i, &c);
		if (n == 0 || (c >= 0xD800 && c <= 0xDFFF)) {
			*what = "invalid UTF-8";
			return i;
		}
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			*what = "control character";
			return i;
		}
	}
	return len;
}

/* Why cJSON stopped at pos of s[0..len), a text of valid UTF-8 (cJSON gives only the place): in
 * a string (after its opening quote), at the end, too deep, or at a character it did not expect.
 * Where an object's member name should start, cJSON stops one character late: moved back. */
static void why(const char *s, size_t len, size_t pos, char *err, size_t errlen)
{
	char open[CJSON_NESTING_LIMIT + 1], inner = 0, before = 0, last = 0, what[32];
	size_t i, depth = 0;
	int in = 0;

	for (i = 0; i < pos && i < len; i++) {
		char c = s[i];
		if (i + 1 == pos) { /* the state before the character at pos - 1 */
			inner = depth && depth <= sizeof open ? open[depth - 1] : 0;
			before = last;
		}
		if (in) {
			i += c == '\\';
			in = c != '"';
		} else if (c == '"') {
			in = 1;
		} else if (c == '[' || c == '{') {
			if (depth < sizeof open)
				open[depth] = c;
			depth++;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
		if (!strchr(" \t\r\n", c))
			last = c;
	}
	if (in) {
		for (i = pos; i < len && s[i] != '"'; i++)
			i += s[i] == '\\';
		fail(err, errlen, pos, i < len ? "bad escape in string" : "unterminated string");
		return;
	}
	if (inner == '{' && (before == '{' || before == ',') && pos <= len &&
	    !strchr(" \t\r\n\"", s[pos - 1]))
		pos--;
	if (pos >= len) {
		fail(err, errlen, len, "unexpected end of line");
		return;
	}
	if (depth >= CJSON_NESTING_LIMIT)
		snprintf(what, sizeof what, "nested deeper than %d", CJSON_NESTING_LIMIT);
	else if (s[pos] > 0x20 && s[pos] < 0x7F)
		snprintf(what, sizeof what, "unexpected '%c'", s[pos]);
	else
		snprintf(what, sizeof what, "unexpected character");
	fail(err, errlen, pos, what);
}

/* The next number of s[0..len) from *at, a text cJSON accepted (outside its strings only a
 * number has a '-' or a digit), with its length in *n; NULL when there is none. */
static const char *next_number(const char *s, size_t len, size_t *at, size_t *n)
{
	size_t i = *at, b;

	while (i < len) {
		if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++)
				i += s[i] == '\\';
			i++;
		} else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
			for (b = i; i < len && s[i] && strchr("0123456789+-.eE", s[i]); i++)
				;
			*n = i - b;
			*at = i;
			return s + b;
		} else {
			i++;
		}
	}
	return NULL;
}

/* Gives each number node of the list v and below, in the text's order, its text in valuestring
 * (which cJSON_Delete frees whatever the type): cJSON keeps a double, exact only to 2^53. */
static int keep_number_texts(cJSON *v, const char *s, size_t len, size_t *at)
{
	for (; v; v = v->next) {
		if (cJSON_IsNumber(v)) {
			size_t n;
			const char *t = next_number(s, len, at, &n);
			if (!t || !(v->valuestring = cJSON_malloc(n + 1)))
				return -1;
			memcpy(v->valuestring, t, n);
			v->valuestring[n] = '\0';
		}
		if (v->child && keep_number_texts(v->child, s, len, at) != 0)
			return -1;
	}
	return 0;
}

cJSON *wsph_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	char *s = malloc(len + 1);
	const char *what, *end = NULL;
	cJSON *v = NULL;
	size_t pos, at = 0;
	int ok = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!s) {
		fail(err, errlen, 0, "out of memory");
		return NULL;
	}
	if (len)
		memcpy(s, text, len);
	s[len] = '\0'; /* white space to cJSON: a line cut short ends at column len + 1 */
	if ((pos = bad_byte(s, len, &what)) < len) {
		fail(err, errlen, pos, what);
	} else if (!(v = cJSON_ParseWithLengthOpts(s, len + 1, &end, 0))) {
		why(s, len, (size_t)(end - s), err, errlen);
	} else {
		for (pos = (size_t)(end - s); pos < len && strchr(" \t\r\n", s[pos]); pos++)
			;
		if (pos < len)
			fail(err, errlen, pos, "text after the value");
		else if (keep_number_texts(v, s, len, &at) != 0)
			fail(err, errlen, 0, "out of memory");
		else
			ok = 1;
	}
	free(s);
	if (!ok) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

int wsph_json_int(const cJSON *v, int64_t *out)
{
	const char *q = cJSON_IsNumber(v) ? v->valuestring : NULL;
	uint64_t acc = 0, limit;
	int neg;

	if (!q)
		return 0;
	neg = *q == '-';
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	q += neg;
	if (!*q)
		return 0;
	for (; *q; q++) {
		unsigned d = (unsigned)(*q - '0');
		if (d > 9 || acc > (limit - d) / 10)
			return 0; /* a fraction, an exponent, or beyond int64 */
		acc = acc * 10 + d;
	}
	*out = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
	return 1;
}

const cJSON *wsph_json_get(const cJSON *v, const char *key)
{
	return cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, key) : NULL;
}

const char *wsph_json_get_string(const cJSON *v, const char *key)
{
	const cJSON *m = wsph_json_get(v, key);
	return cJSON_IsString(m) ? m->valuestring : NULL;
}

int64_t wsph_json_get_int(const cJSON *v, const char *key, int64_t def)
{
	int64_t x;
	return wsph_json_int(wsph_json_get(v, key), &x) ? x : def;
}

/* ---- is it a trace at all? ---- */

/* What a file starts with, and what that makes it (after "it looks like "). */
static const struct {
	const char *start;
	size_t n;
	const char *what;
} looks[] = {
	{"\x1f\x8b", 2, "gzip-compressed data"},
	{"\x7f" "ELF", 4, "an ELF program or shared object, a provider?"},
	{"MZ", 2, "a Windows program or DLL, a provider?"},
	{"PK\x03\x04", 4, "a zip archive"},
	{"<!DOCTYPE html", 14, "HTML, e.g. the matrix-html report"},
	{"<html", 5, "HTML, e.g. the matrix-html report"},
	{"TAP version", 11, "a TAP report"},
	{"# wspharness conformance matrix", 31, "Markdown: the matrix report"},
	{"[", 1, "a JSON array"},
};

static int starts(const char *text, size_t len, const char *with, size_t n)
{
	return len >= n && !memcmp(text, with, n);
}

/* Whether the first bytes have a NUL or are not UTF-8 (a cut at the end is allowed). */
static int binary(const unsigned char *p, size_t len)
{
	if (len > 4096)
		len = 4096;
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
				     : (c & 0xf8) == 0xf0 ? 3 : 9;
		if (c == 0 || n == 9 || (c >= 0xc0 && c < 0xc2))
			return 1;
		for (size_t k = 1; k <= n && i + k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 1;
		i += n + 1;
	}
	return 0;
}

/* "text that starts 'first line'": at most 40 bytes of it, printable ASCII or '?'. */
static void text_start(const char *t, size_t len, char *buf, size_t cap)
{
	char line[48];
	size_t n = 0;
	for (; n < len && n < 40 && t[n] != '\n' && t[n] != '\r'; n++)
		line[n] = t[n] >= 0x20 && t[n] < 0x7f ? t[n] : '?';
	line[n] = '\0';
	snprintf(buf, cap, "text that starts '%s%s'", line,
		 n == 40 && n < len && t[n] != '\n' && t[n] != '\r' ? "..." : "");
}

/* What text looks like ("it is empty", or a noun for "it looks like"), into buf; NULL when
 * it may be a trace. */
static const char *looks_like(const char *text, size_t len, char *buf, size_t cap)
{
	size_t skip = starts(text, len, "\xef\xbb\xbf", 3) ? 3 : 0;
	while (skip < len && strchr(" \t\r\n", text[skip]) && text[skip])
		skip++;
	const char *t = text + skip;
	size_t n = len - skip;
	if (len == 0)
		return "it is empty";
	if (n == 0)
		return "it has only white space";
	if (t[0] == '{')
		return NULL;
	for (size_t k = 0; k < sizeof looks / sizeof looks[0]; k++)
		if (starts(t, n, looks[k].start, looks[k].n))
			return looks[k].what;
	if (binary((const unsigned char *)t, n))
		return "binary data";
	if (t[0] == '<') {
		size_t head = n < 4096 ? n : 4096;
		for (size_t i = 0; i + 10 <= head; i++)
			if (!memcmp(t + i, "<testsuite", 10))
				return "XML, e.g. a JUnit report";
		return "XML";
	}
	text_start(t, n, buf, cap);
	return buf;
}

int wsph_json_trace_refuse(const char *path, const char *text, size_t len, FILE *err)
{
	char buf[96];
	const char *what = looks_like(text, len, buf, sizeof buf);
	if (!what)
		return 0;
	fprintf(err, "%s is not a wspharness trace (%s%s; 'wspharness run --trace FILE' writes one)\n",
		path, strncmp(what, "it ", 3) ? "it looks like " : "", what);
	return 2;
}
