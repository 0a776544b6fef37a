/* XML 1.0 escaping of untrusted bytes: whatever comes in, well-formed UTF-8 XML goes out. */
#ifndef WSPH_XML_H
#define WSPH_XML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Every writer below reads a NUL-terminated string (NULL writes nothing) and:
 * - uses only the five predefined entities and numeric references, never CDATA;
 * - replaces each character XML 1.0 forbids (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F,
 *   UTF-16 surrogates encoded in UTF-8, U+FFFE, U+FFFF) with one U+FFFD;
 * - repairs invalid UTF-8 (bad lead or continuation bytes, truncated sequences, overlong forms,
 *   code points above U+10FFFF) by replacing each offending byte with U+FFFD.
 *
 * Text content escapes & < > (so "]]>" is harmless) and writes CR as &#13; so parsers do not fold
 * it into LF. Attribute values also escape " ' and write TAB, LF and CR as numeric references.
 */

/* Element text. Returns 0, or -1 when the stream reports an error. */
int wsph_xml_text(FILE *out, const char *s);
/* Attribute value (without the quotes). Returns 0, or -1 when the stream reports an error. */
int wsph_xml_attr(FILE *out, const char *s);

/* Bounded variants: write at most cap bytes of s, stopping early rather than cutting a UTF-8
 * sequence in half (an invalid byte counts as a sequence of one). They return the number of bytes
 * of s consumed, which equals strlen(s) when everything fitted. */
size_t wsph_xml_text_n(FILE *out, const char *s, size_t cap);
size_t wsph_xml_attr_n(FILE *out, const char *s, size_t cap);
/* Attribute value forced onto one line: LF, CR and CRLF each become one space. Bounded as above. */
size_t wsph_xml_attr_line(FILE *out, const char *s, size_t cap);

/* Length (1-4) of the well-formed UTF-8 sequence starting at p, with its code point in *cp; 0 when
 * the byte at p starts none (the caller replaces that one byte). p is NUL-terminated and NUL is
 * never a continuation byte, so this never reads past the terminator. Encoded surrogates
 * (ED A0..BF xx) are decoded, not refused: the caller decides. Shared by the JSON writer. */
size_t wsph_utf8_seq(const unsigned char *p, uint32_t *cp);

/* The character at p for writers that repair text: like wsph_utf8_seq, but a byte that starts no
 * sequence, an encoded surrogate, U+FFFE and U+FFFF all decode as U+FFFD, with the width to skip
 * (1 for a bad byte). Never 0, so `p += n` always advances. */
#define WSPH_UTF8_REPLACEMENT 0xFFFDu
#define WSPH_UTF8_REPLACEMENT_BYTES "\xEF\xBF\xBD"
size_t wsph_utf8_char(const unsigned char *p, uint32_t *cp);

#endif
