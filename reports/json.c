/* JSON: a writer that escapes untrusted bytes, and a strict recursive-descent reader. */
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

/* ---- reading ---- */

struct parser {
	const char *s, *end, *start;
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct parser *p, const char *what)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "column %lu: %s", (unsigned long)(p->s - p->start) + 1,
		         what);
}

static void skip_ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) {
		fail(p, "unexpected character");
		return -1;
	}
	p->s += n;
	return 0;
}

static int hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	if (p->end - p->s < 4) {
		fail(p, "truncated \\u escape");
		return -1;
	}
	for (i = 0; i < 4; i++) {
		char c = p->s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else {
			fail(p, "bad \\u escape");
			return -1;
		}
	}
	p->s += 4;
	*out = v;
	return 0;
}

static size_t put_utf8(char *d, uint32_t c)
{
	if (c < 0x80) {
		d[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		d[0] = (char)(0xC0 | c >> 6);
		d[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		d[0] = (char)(0xE0 | c >> 12);
		d[1] = (char)(0x80 | (c >> 6 & 0x3F));
		d[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	d[0] = (char)(0xF0 | c >> 18);
	d[1] = (char)(0x80 | (c >> 12 & 0x3F));
	d[2] = (char)(0x80 | (c >> 6 & 0x3F));
	d[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/* At the opening quote. The decoded text is never longer than the encoded one. */
static char *parse_string(struct parser *p)
{
	const char *q;
	char *buf, *d;

	p->s++;
	for (q = p->s; q < p->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < p->end)
			q++;
	if (q >= p->end) {
		fail(p, "unterminated string");
		return NULL;
	}
	buf = malloc((size_t)(q - p->s) + 1);
	if (!buf) {
		fail(p, "out of memory");
		return NULL;
	}
	d = buf;
	while (*p->s != '"') {
		unsigned char b = (unsigned char)*p->s;
		if (b < 0x20) {
			fail(p, "control character in string");
			goto bad;
		}
		if (b == '\\') {
			uint32_t c;
			p->s++;
			switch (*p->s++) {
			case '"':
				*d++ = '"';
				break;
			case '\\':
				*d++ = '\\';
				break;
			case '/':
				*d++ = '/';
				break;
			case 'b':
				*d++ = '\b';
				break;
			case 'f':
				*d++ = '\f';
				break;
			case 'n':
				*d++ = '\n';
				break;
			case 'r':
				*d++ = '\r';
				break;
			case 't':
				*d++ = '\t';
				break;
			case 'u':
				if (hex4(p, &c) != 0)
					goto bad;
				if (c >= 0xD800 && c <= 0xDBFF) {
					uint32_t lo;
					if (p->end - p->s < 6 || p->s[0] != '\\' ||
					    p->s[1] != 'u') {
						fail(p, "lone surrogate in \\u escape");
						goto bad;
					}
					p->s += 2;
					if (hex4(p, &lo) != 0)
						goto bad;
					if (lo < 0xDC00 || lo > 0xDFFF) {
						fail(p, "lone surrogate in \\u escape");
						goto bad;
					}
					c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				} else if (c >= 0xDC00 && c <= 0xDFFF) {
					fail(p, "lone surrogate in \\u escape");
					goto bad;
				}
				d += put_utf8(d, c);
				break;
			default:
				p->s--;
				fail(p, "bad escape in string");
				goto bad;
			}
			continue;
		}
		if (b < 0x80) {
			*d++ = (char)b;
			p->s++;
			continue;
		}
		{
			/* Valid UTF-8 only; the closing quote is ASCII, so a sequence cannot run
			 * past it unnoticed, but it may run past the end of the buffer: copy it out
			 * first. */
			unsigned char tmp[5] = {0};
			uint32_t c;
			size_t avail = (size_t)(p->end - p->s), n, i;
			for (i = 0; i < 4 && i < avail; i++)
				tmp[i] = (unsigned char)p->s[i];
			n = wsph_utf8_seq(tmp, &c);
			if (n == 0 || (c >= 0xD800 && c <= 0xDFFF)) {
				fail(p, "invalid UTF-8 in string");
				goto bad;
			}
			memcpy(d, p->s, n);
			d += n;
			p->s += n;
		}
	}
	p->s++;
	*d = '\0';
	return buf;
bad:
	free(buf);
	return NULL;
}

static int parse_number(struct parser *p, struct wsph_json *v)
{
	const char *b = p->s;
	char tmp[64];
	int is_int = 1;
	size_t n;

	if (p->s < p->end && *p->s == '-')
		p->s++;
	if (p->s >= p->end || *p->s < '0' || *p->s > '9') {
		fail(p, "bad number");
		return -1;
	}
	if (*p->s == '0')
		p->s++;
	else
		while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
			p->s++;
	if (p->s < p->end && *p->s == '.') {
		is_int = 0;
		p->s++;
		if (p->s >= p->end || *p->s < '0' || *p->s > '9') {
			fail(p, "bad number");
			return -1;
		}
		while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
			p->s++;
	}
	if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
		is_int = 0;
		p->s++;
		if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
			p->s++;
		if (p->s >= p->end || *p->s < '0' || *p->s > '9') {
			fail(p, "bad number");
			return -1;
		}
		while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
			p->s++;
	}
	n = (size_t)(p->s - b);
	if (n >= sizeof tmp) {
		fail(p, "number too long");
		return -1;
	}
	memcpy(tmp, b, n);
	tmp[n] = '\0';
	v->type = WSPH_JSON_NUMBER;
	v->number = strtod(tmp, NULL); /* the trace writer uses no locale-dependent number */
	if (is_int) {
		/* Exact int64 when it fits: accumulate with overflow checks. */
		const char *q = tmp;
		int neg = *q == '-';
		uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		q += neg;
		for (; *q; q++) {
			unsigned d = (unsigned)(*q - '0');
			if (acc > (limit - d) / 10) {
				is_int = 0;
				break;
			}
			acc = acc * 10 + d;
		}
		if (is_int) {
			v->is_int = 1;
			v->integer =
			    neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc)
			        : (int64_t)acc;
		}
	}
	return 0;
}

static int parse_value(struct parser *p, struct wsph_json *v, int depth);

static int grow(struct parser *p, struct wsph_json *v, size_t *cap, int object)
{
	size_t nc;
	struct wsph_json *items;

	if (v->n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 8;
	items = realloc(v->items, nc * sizeof *items);
	if (!items) {
		fail(p, "out of memory");
		return -1;
	}
	v->items = items;
	if (object) {
		char **keys = realloc(v->keys, nc * sizeof *keys);
		if (!keys) {
			fail(p, "out of memory");
			return -1;
		}
		v->keys = keys;
	}
	*cap = nc;
	return 0;
}

static int parse_container(struct parser *p, struct wsph_json *v, int depth, int object)
{
	size_t cap = 0;
	char close = object ? '}' : ']';

	v->type = object ? WSPH_JSON_OBJECT : WSPH_JSON_ARRAY;
	if (depth >= WSPH_JSON_MAX_DEPTH) {
		fail(p, "nested too deeply");
		return -1;
	}
	p->s++;
	skip_ws(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(p);
		if (object) {
			if (p->s >= p->end || *p->s != '"') {
				fail(p, "expected a member name");
				return -1;
			}
			if (!(key = parse_string(p)))
				return -1;
			skip_ws(p);
			if (p->s >= p->end || *p->s != ':') {
				free(key);
				fail(p, "expected ':'");
				return -1;
			}
			p->s++;
		}
		if (grow(p, v, &cap, object) != 0) {
			free(key);
			return -1;
		}
		memset(&v->items[v->n], 0, sizeof v->items[v->n]);
		if (object)
			v->keys[v->n] = key;
		v->n++;
		if (parse_value(p, &v->items[v->n - 1], depth + 1) != 0)
			return -1;
		skip_ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == close) {
			p->s++;
			return 0;
		}
		fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
		return -1;
	}
}

static int parse_value(struct parser *p, struct wsph_json *v, int depth)
{
	skip_ws(p);
	if (p->s >= p->end) {
		fail(p, "unexpected end of input");
		return -1;
	}
	switch (*p->s) {
	case '{':
		return parse_container(p, v, depth, 1);
	case '[':
		return parse_container(p, v, depth, 0);
	case '"':
		v->type = WSPH_JSON_STRING;
		v->string = parse_string(p);
		return v->string ? 0 : -1;
	case 't':
		v->type = WSPH_JSON_BOOL;
		v->boolean = 1;
		return literal(p, "true");
	case 'f':
		v->type = WSPH_JSON_BOOL;
		return literal(p, "false");
	case 'n':
		v->type = WSPH_JSON_NULL;
		return literal(p, "null");
	default:
		return parse_number(p, v);
	}
}

int wsph_json_parse(const char *text, size_t len, struct wsph_json *out, char *err, size_t errlen)
{
	struct parser p = {text, text + len, text, err, errlen, 0};

	memset(out, 0, sizeof *out);
	if (err && errlen)
		err[0] = '\0';
	if (parse_value(&p, out, 0) == 0) {
		skip_ws(&p);
		if (p.s == p.end)
			return 0;
		fail(&p, "text after the value");
	}
	wsph_json_free(out);
	return -1;
}

void wsph_json_free(struct wsph_json *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		wsph_json_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->string);
	memset(v, 0, sizeof *v);
}

const struct wsph_json *wsph_json_get(const struct wsph_json *v, const char *key)
{
	size_t i;

	if (!v || v->type != WSPH_JSON_OBJECT)
		return NULL;
	for (i = 0; i < v->n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

const char *wsph_json_get_string(const struct wsph_json *v, const char *key)
{
	const struct wsph_json *m = wsph_json_get(v, key);
	return m && m->type == WSPH_JSON_STRING ? m->string : NULL;
}

int64_t wsph_json_get_int(const struct wsph_json *v, const char *key, int64_t def)
{
	const struct wsph_json *m = wsph_json_get(v, key);
	return m && m->type == WSPH_JSON_NUMBER && m->is_int ? m->integer : def;
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
