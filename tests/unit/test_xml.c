/* XML escaping as a unit: entities, forbidden characters, UTF-8 repair and bounded writes. */
#include "../../reports/xml.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define FFFD "\xEF\xBF\xBD"

enum how { TEXT, ATTR, LINE };

/* Runs one writer into a temporary file and returns what it wrote (caller frees). */
static char *run(enum how how, const char *s, size_t cap, size_t *consumed)
{
	FILE *f = tmpfile();
	char *buf;
	long n;
	size_t used = 0;

	cr_assert_not_null(f);
	switch (how) {
	case TEXT:
		used = cap ? wsph_xml_text_n(f, s, cap) : (size_t)wsph_xml_text(f, s);
		break;
	case ATTR:
		used = cap ? wsph_xml_attr_n(f, s, cap) : (size_t)wsph_xml_attr(f, s);
		break;
	case LINE:
		used = wsph_xml_attr_line(f, s, cap ? cap : (size_t)-1);
		break;
	}
	if (consumed)
		*consumed = used;
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

static void expect(enum how how, const char *in, const char *want)
{
	char *got = run(how, in, 0, NULL);
	cr_expect_str_eq(got, want, "escaping [%s]: got [%s], want [%s]", in ? in : "(null)", got, want);
	free(got);
}

Test(xml, text_escapes_markup)
{
	expect(TEXT, "a & b < c > d", "a &amp; b &lt; c &gt; d");
	expect(TEXT, "&amp;", "&amp;amp;");
	expect(TEXT, "", "");
}

Test(xml, text_keeps_quotes_tab_and_newline)
{
	expect(TEXT, "say \"hi\" 'there'\tnow\nnext", "say \"hi\" 'there'\tnow\nnext");
}

Test(xml, text_writes_cr_as_reference)
{
	/* A parser would fold a literal CR into LF; the reference keeps it. */
	expect(TEXT, "a\r\nb", "a&#13;\nb");
}

Test(xml, cdata_end_in_text_is_harmless)
{
	expect(TEXT, "x]]>y", "x]]&gt;y");
	expect(TEXT, "<![CDATA[ evil ]]>", "&lt;![CDATA[ evil ]]&gt;");
}

Test(xml, attr_escapes_quotes_and_whitespace)
{
	expect(ATTR, "a\"b'c&d<e>f", "a&quot;b&apos;c&amp;d&lt;e&gt;f");
	expect(ATTR, "t\tl\nr\r", "t&#9;l&#10;r&#13;");
}

Test(xml, null_writes_nothing)
{
	expect(TEXT, NULL, "");
	expect(ATTR, NULL, "");
}

Test(xml, forbidden_controls_become_replacement_char)
{
	char in[2] = {0, 0};
	int b;

	for (b = 1; b < 0x20; b++) {
		char *t, *a;
		if (b == '\t' || b == '\n' || b == '\r')
			continue;
		in[0] = (char)b;
		t = run(TEXT, in, 0, NULL);
		a = run(ATTR, in, 0, NULL);
		cr_expect_str_eq(t, FFFD, "byte 0x%02X in text", b);
		cr_expect_str_eq(a, FFFD, "byte 0x%02X in an attribute", b);
		free(t);
		free(a);
	}
}

Test(xml, ansi_escape_is_replaced)
{
	expect(TEXT, "\x1b[31mred\x1b[0m", FFFD "[31mred" FFFD "[0m");
	expect(ATTR, "\x1b[1m", FFFD "[1m");
}

Test(xml, noncharacters_fffe_ffff_are_replaced)
{
	expect(TEXT, "a\xEF\xBF\xBE" "b\xEF\xBF\xBF" "c", "a" FFFD "b" FFFD "c");
}

Test(xml, encoded_surrogates_are_replaced_once_each)
{
	/* U+D800 and U+DFFF in (CESU-style) UTF-8: one replacement per surrogate. */
	expect(TEXT, "\xED\xA0\x80|\xED\xBF\xBF", FFFD "|" FFFD);
}

Test(xml, bad_lead_bytes_are_replaced_per_byte)
{
	expect(TEXT, "\x80", FFFD);
	expect(TEXT, "\xBF\xBF", FFFD FFFD);
	expect(TEXT, "\xC0\xC1", FFFD FFFD);
	expect(TEXT, "\xF5\xF8\xFE\xFF", FFFD FFFD FFFD FFFD);
}

Test(xml, truncated_sequences_are_replaced_per_byte)
{
	expect(TEXT, "a\xE2\x82", "a" FFFD FFFD);
	expect(TEXT, "\xE2\x82z", FFFD FFFD "z");
	expect(TEXT, "\xF0\x9F\x98", FFFD FFFD FFFD);
	expect(TEXT, "\xC3", FFFD);
	expect(ATTR, "\xC3<", FFFD "&lt;");
}

Test(xml, overlong_forms_are_replaced_per_byte)
{
	expect(TEXT, "\xC0\xAF", FFFD FFFD);		      /* '/' in two bytes */
	expect(TEXT, "\xE0\x80\xAF", FFFD FFFD FFFD);	      /* '/' in three bytes */
	expect(TEXT, "\xF0\x80\x80\xAF", FFFD FFFD FFFD FFFD); /* '/' in four bytes */
	expect(TEXT, "\xC1\xBC", FFFD FFFD);		      /* '<' in two bytes: no markup */
}

Test(xml, beyond_10ffff_is_replaced_per_byte)
{
	expect(TEXT, "\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD);
}

Test(xml, valid_utf8_is_kept)
{
	expect(TEXT, "caf\xC3\xA9 \xE2\x82\xAC \xEF\xBF\xBD", "caf\xC3\xA9 \xE2\x82\xAC \xEF\xBF\xBD");
	expect(ATTR, "\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF"); /* U+10FFFF */
	expect(TEXT, "\xEE\x80\x80", "\xEE\x80\x80");	      /* U+E000 */
	expect(TEXT, "\x7F", "\x7F");			      /* DEL is an XML 1.0 Char */
}

Test(xml, four_byte_emoji_is_kept_intact)
{
	expect(TEXT, "ok \xF0\x9F\x98\x80!", "ok \xF0\x9F\x98\x80!");
	expect(ATTR, "\xF0\x9F\x8E\x89\"", "\xF0\x9F\x8E\x89&quot;");
}

Test(xml, bounded_never_cuts_a_sequence)
{
	size_t used;
	char *got;
	size_t cap;

	/* "ab" + 4-byte emoji + "c": caps 3, 4 and 5 all stop before the emoji. */
	for (cap = 2; cap <= 5; cap++) {
		got = run(TEXT, "ab\xF0\x9F\x98\x80" "c", cap, &used);
		cr_expect_str_eq(got, "ab", "cap %zu", cap);
		cr_expect_eq(used, 2, "cap %zu consumed %zu", cap, used);
		free(got);
	}
	got = run(TEXT, "ab\xF0\x9F\x98\x80" "c", 6, &used);
	cr_expect_str_eq(got, "ab\xF0\x9F\x98\x80");
	cr_expect_eq(used, 6);
	free(got);
	got = run(TEXT, "ab\xF0\x9F\x98\x80" "c", 100, &used);
	cr_expect_str_eq(got, "ab\xF0\x9F\x98\x80" "c");
	cr_expect_eq(used, 7);
	free(got);
}

Test(xml, bounded_counts_input_bytes)
{
	size_t used;
	char *got = run(ATTR, "&&&&", 2, &used);

	cr_expect_str_eq(got, "&amp;&amp;");
	cr_expect_eq(used, 2);
	free(got);
	/* An invalid byte is a sequence of one: it is replaced, not held back. */
	got = run(TEXT, "a\xFFz", 2, &used);
	cr_expect_str_eq(got, "a" FFFD);
	cr_expect_eq(used, 2);
	free(got);
}

Test(xml, line_variant_folds_line_breaks)
{
	size_t used;
	char *got;

	expect(LINE, "one\ntwo\r\nthree\rfour", "one two three four");
	expect(LINE, "a\t\"b\"", "a&#9;&quot;b&quot;");
	got = run(LINE, "x\r\ny", 2, &used);
	cr_expect_str_eq(got, "x ");
	cr_expect_eq(used, 2);
	free(got);
}

/* Checks that out is well-formed UTF-8 of XML 1.0 characters, with '&' only in the five
 * predefined entities or numeric references, no '<' and (in attributes) no raw quote or
 * whitespace other than space. */
static void check_clean(const char *out, int attr)
{
	static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
	const unsigned char *p = (const unsigned char *)out;

	while (*p) {
		if (*p == '&') {
			size_t k, n = 0;
			for (k = 0; k < 5 && !n; k++)
				if (strncmp((const char *)p, ents[k], strlen(ents[k])) == 0)
					n = strlen(ents[k]);
			if (!n && p[1] == '#') {
				n = 2;
				while (p[n] >= '0' && p[n] <= '9')
					n++;
				cr_assert_eq(p[n], ';', "bad reference in [%s]", out);
				n++;
			}
			cr_assert_neq(n, 0, "bare & in [%s]", out);
			p += n;
			continue;
		}
		cr_assert_neq(*p, '<', "raw < in [%s]", out);
		if (attr)
			cr_assert(*p != '"' && *p != '\'' && *p != '\t' && *p != '\n' && *p != '\r',
				  "raw quote or whitespace in attribute [%s]", out);
		if (*p < 0x80) {
			cr_assert(*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r',
				  "control 0x%02X left in output", *p);
			p++;
		} else {
			unsigned c;
			int n, k;
			if (*p >= 0xF0)
				n = 4, c = *p & 0x07u;
			else if (*p >= 0xE0)
				n = 3, c = *p & 0x0Fu;
			else
				n = 2, c = *p & 0x1Fu;
			cr_assert(*p >= 0xC2 && *p <= 0xF4, "bad lead 0x%02X in output", *p);
			for (k = 1; k < n; k++) {
				cr_assert((p[k] & 0xC0) == 0x80, "bad continuation in output");
				c = (c << 6) | (p[k] & 0x3Fu);
			}
			cr_assert((n == 2 && c >= 0x80) || (n == 3 && c >= 0x800) ||
				      (n == 4 && c >= 0x10000 && c <= 0x10FFFF),
				  "overlong or out of range U+%X in output", c);
			cr_assert(!(c >= 0xD800 && c <= 0xDFFF) && c != 0xFFFE && c != 0xFFFF,
				  "forbidden U+%X in output", c);
			p += n;
		}
	}
}

Test(xml, random_bytes_always_give_clean_xml)
{
	unsigned long seed = 12345;
	char in[64];
	int round;

	for (round = 0; round < 3000; round++) {
		size_t len = (size_t)(round % 63), i;
		char *t, *a;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245ul + 12345ul;
			in[i] = (char)((seed >> 16) % 255 + 1); /* no NUL inside */
		}
		in[len] = '\0';
		t = run(TEXT, in, 0, NULL);
		a = run(ATTR, in, 0, NULL);
		check_clean(t, 0);
		check_clean(a, 1);
		free(t);
		free(a);
	}
}

Test(xml, utf8_char_repairs_and_always_advances)
{
	uint32_t c;
	/* ASCII, a 2-byte and a 4-byte character: decoded with their widths. */
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"A", &c), 1);
	cr_expect_eq(c, 'A');
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"\xC3\xA9", &c), 2);
	cr_expect_eq(c, 0xE9);
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"\xF0\x9F\x98\x80", &c), 4);
	cr_expect_eq(c, 0x1F600);
	/* A stray continuation byte and a truncated sequence: one byte, U+FFFD. */
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"\x80x", &c), 1);
	cr_expect_eq(c, WSPH_UTF8_REPLACEMENT);
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"\xE2\x82", &c), 1);
	cr_expect_eq(c, WSPH_UTF8_REPLACEMENT);
	/* An encoded surrogate and U+FFFF: their whole width, U+FFFD. */
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"\xED\xA0\x80", &c), 3);
	cr_expect_eq(c, WSPH_UTF8_REPLACEMENT);
	cr_expect_eq(wsph_utf8_char((const unsigned char *)"\xEF\xBF\xBF", &c), 3);
	cr_expect_eq(c, WSPH_UTF8_REPLACEMENT);
}
