/* The system's text for a Windows error code, whole (win32/loader.c): its inserts filled. */
#ifndef WSPH_WIN32_ERRTEXT_H
#define WSPH_WIN32_ERRTEXT_H

#include <stddef.h>

/* FormatMessage's text for code in UTF-8, without its final period and line break: %1 replaced
 * by insert (a path; NULL: "?"), any other insert by "?". "" when the system has no text. */
void wsph_win32_error_text(unsigned long code, const char *insert, char *out, size_t cap);

/* What a code from LoadLibrary means for a provider (the likely cause and what to do), or NULL. */
const char *wsph_win32_load_hint(unsigned long code);

#endif
