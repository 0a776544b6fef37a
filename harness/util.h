/* Small string helpers C11 lacks. */
#ifndef WSPH_UTIL_H
#define WSPH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* printf-style checking; mingw builds use the C99 printf (__USE_MINGW_ANSI_STDIO). */
#if defined(__clang__)
#define WSPH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#elif defined(__GNUC__)
#define WSPH_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define WSPH_PRINTF(f, a)
#endif

/* The caller's return address: which module made a call. */
#if defined(_MSC_VER)
#include <intrin.h>
#define WSPH_RETURN_ADDRESS() _ReturnAddress()
#else
#define WSPH_RETURN_ADDRESS() __builtin_return_address(0)
#endif

/* UTF-16 (Windows WCHAR) <-> UTF-8, malloc'd; NULL for NULL or out of memory. */
char *wsph_utf16_to_utf8(const uint16_t *s);
uint16_t *wsph_utf8_to_utf16(const char *s, size_t *n_units);

char *wsph_strdup(const char *s);		  /* NULL for NULL or out of memory */
char *wsph_strndup(const char *s, size_t n);
/* printf into a malloc'd string (NULL when out of memory). */
char *wsph_format(const char *fmt, ...) WSPH_PRINTF(1, 2);

#endif
