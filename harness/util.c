/* Small string helpers C11 lacks. */
#include "util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *wsph_strndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int wsph_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

char *wsph_strdup(const char *s)
{
	return s ? wsph_strndup(s, strlen(s)) : NULL;
}

char *wsph_format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = malloc((size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

char *wsph_utf16_to_utf8(const uint16_t *s)
{
	if (!s)
		return NULL;
	size_t n = 0;
	while (s[n])
		n++;
	char *out = malloc(n * 3 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = s[i];
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && s[i + 1] >= 0xdc00 && s[i + 1] < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (s[i + 1] - 0xdc00);
			i++;
		} else if (c >= 0xd800 && c < 0xe000) {
			c = 0xfffd;
		}
		if (c < 0x80) {
			*o++ = (char)c;
		} else if (c < 0x800) {
			*o++ = (char)(0xc0 | (c >> 6));
			*o++ = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			*o++ = (char)(0xe0 | (c >> 12));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		} else {
			/* needs 4 bytes: the 3-per-unit budget covers it (two units) */
			*o++ = (char)(0xf0 | (c >> 18));
			*o++ = (char)(0x80 | ((c >> 12) & 0x3f));
			*o++ = (char)(0x80 | ((c >> 6) & 0x3f));
			*o++ = (char)(0x80 | (c & 0x3f));
		}
	}
	*o = '\0';
	return out;
}

uint16_t *wsph_utf8_to_utf16(const char *s, size_t *n_units)
{
	if (!s)
		return NULL;
	size_t len = strlen(s), n = 0;
	uint16_t *out = malloc((len + 1) * sizeof *out);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t c = *p++;
		int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (extra)
			c &= 0x3fu >> extra;
		for (; extra && (*p & 0xc0) == 0x80; extra--)
			c = (c << 6) | (*p++ & 0x3f);
		if (extra || (c >= 0x80 && c < 0xa0 && 0))
			c = 0xfffd;
		if (c >= 0x10000) {
			c -= 0x10000;
			out[n++] = (uint16_t)(0xd800 + (c >> 10));
			out[n++] = (uint16_t)(0xdc00 + (c & 0x3ff));
		} else {
			out[n++] = (uint16_t)c;
		}
	}
	out[n] = 0;
	if (n_units)
		*n_units = n;
	return out;
}

int wsph_fseek64(FILE *f, int64_t off)
{
#if defined(_WIN32)
	return _fseeki64(f, off, SEEK_SET);
#else
	return off > (int64_t)LONG_MAX ? -1 : fseek(f, (long)off, SEEK_SET);
#endif
}

uint64_t wsph_fnv1a(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211u;
	}
	return h;
}
