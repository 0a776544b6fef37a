/* XML 1.0 escaping of untrusted bytes: UTF-8 repair, forbidden characters, entities. */
#include "xml.h"

#include <stdint.h>
#include <string.h>

enum mode { MODE_TEXT, MODE_ATTR, MODE_LINE };

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Surrogates (ED A0..BF xx) decode here and are refused later as characters XML forbids, so they
 * become one U+FFFD rather than three. */
size_t wsph_utf8_seq(const unsigned char *p, uint32_t *cp)
{
	unsigned char b = p[0];
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t c;
	size_t n, i;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xC2 && b <= 0xDF) {
		n = 2;
		c = b & 0x1Fu;
	} else if (b >= 0xE0 && b <= 0xEF) {
		n = 3;
		c = b & 0x0Fu;
		if (b == 0xE0)
			lo = 0xA0; /* below: overlong */
	} else if (b >= 0xF0 && b <= 0xF4) {
		n = 4;
		c = b & 0x07u;
		if (b == 0xF0)
			lo = 0x90; /* below: overlong */
		else if (b == 0xF4)
			hi = 0x8F; /* above: beyond U+10FFFF */
	} else {
		return 0; /* continuation byte, C0, C1 or F5..FF */
	}
	for (i = 1; i < n; i++) {
		unsigned char t = p[i];
		if (t < lo || t > hi)
			return 0;
		lo = 0x80;
		hi = 0xBF;
		c = (c << 6) | (t & 0x3Fu);
	}
	*cp = c;
	return n;
}

size_t wsph_utf8_char(const unsigned char *p, uint32_t *cp)
{
	size_t n = wsph_utf8_seq(p, cp);
	if (n == 0 || (*cp >= 0xD800 && *cp <= 0xDFFF) || *cp == 0xFFFE || *cp == 0xFFFF) {
		*cp = WSPH_UTF8_REPLACEMENT;
		return n ? n : 1;
	}
	return n;
}

/* XML 1.0 production Char. */
static int xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* What to write instead of the character c in this mode, or NULL to copy it as is. */
static const char *escape_for(uint32_t c, enum mode m)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return m == MODE_TEXT ? NULL : "&quot;";
	case '\'':
		return m == MODE_TEXT ? NULL : "&apos;";
	case '\t':
		return m == MODE_TEXT ? NULL : "&#9;";
	case '\n':
		return m == MODE_TEXT ? NULL : m == MODE_LINE ? " " : "&#10;";
	case '\r':
		return m == MODE_LINE ? " " : "&#13;";
	default:
		return NULL;
	}
}

static size_t put(FILE *out, const char *s, size_t cap, enum mode m)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0; /* run: start of the bytes copied verbatim, not yet written */

	if (!s)
		return 0;
	while (i < cap && p[i]) {
		uint32_t c = 0;
		size_t n = wsph_utf8_seq(p + i, &c);
		size_t width = n ? n : 1;
		const char *rep;

		if (width > cap - i)
			break; /* never cut a sequence in half */
		if (n == 0 || !xml_char(c))
			rep = replacement;
		else
			rep = escape_for(c, m);
		if (rep) {
			if (i > run)
				fwrite(p + run, 1, i - run, out);
			fputs(rep, out);
			/* CRLF is one line break: one space, not two. */
			if (m == MODE_LINE && c == '\r' && n == 1 && p[i + 1] == '\n' && cap - i >= 2)
				width = 2;
			run = i + width;
		}
		i += width;
	}
	if (i > run)
		fwrite(p + run, 1, i - run, out);
	return i;
}

int wsph_xml_text(FILE *out, const char *s)
{
	put(out, s, SIZE_MAX, MODE_TEXT);
	return ferror(out) ? -1 : 0;
}

int wsph_xml_attr(FILE *out, const char *s)
{
	put(out, s, SIZE_MAX, MODE_ATTR);
	return ferror(out) ? -1 : 0;
}

size_t wsph_xml_text_n(FILE *out, const char *s, size_t cap)
{
	return put(out, s, cap, MODE_TEXT);
}

size_t wsph_xml_attr_n(FILE *out, const char *s, size_t cap)
{
	return put(out, s, cap, MODE_ATTR);
}

size_t wsph_xml_attr_line(FILE *out, const char *s, size_t cap)
{
	return put(out, s, cap, MODE_LINE);
}
