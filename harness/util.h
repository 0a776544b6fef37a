/* Small string helpers C11 lacks. */
#ifndef WSPH_UTIL_H
#define WSPH_UTIL_H

#include <stddef.h>

/* printf-style checking; mingw builds use the C99 printf (__USE_MINGW_ANSI_STDIO). */
#if defined(__clang__)
#define WSPH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#elif defined(__GNUC__)
#define WSPH_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define WSPH_PRINTF(f, a)
#endif

char *wsph_strdup(const char *s);		  /* NULL for NULL or out of memory */
char *wsph_strndup(const char *s, size_t n);
/* printf into a malloc'd string (NULL when out of memory). */
char *wsph_format(const char *fmt, ...) WSPH_PRINTF(1, 2);

#endif
