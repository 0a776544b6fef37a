/* --filter: globs over case IDs ("<suite>/<scenario>[<kind>]"), matched in linear space and
 * O(pattern x id) time whatever the pattern. */
#ifndef WSPH_FILTER_H
#define WSPH_FILTER_H

#include <stddef.h>

/* Does the glob pat[0..plen) match all of s[0..slen)? '*' matches any run of bytes (none too), '?'
 * any one byte, every other byte itself. No recursion; at most (plen + 1) * (slen + 1) + plen + 1
 * steps, counted into *steps when steps is not NULL. */
int wsph_glob_match(const char *pat, size_t plen, const char *s, size_t slen, unsigned long *steps);

/* A --filter value is GLOB[:GLOB]...; a glob that starts with '-' excludes what the rest of it
 * matches. An ID is selected when it matches at least one including glob (or there is none) and
 * no excluding glob. Returns 0, or -1 with a one-line reason in err (the filter is empty, or has
 * an empty glob, or a '-' with nothing after it). */
int wsph_filter_check(const char *filter, char *err, size_t errlen);

/* Whether the filter selects the ID (NULL selects everything). The filter must have passed
 * wsph_filter_check; an empty glob in it matches nothing. */
int wsph_filter_match(const char *filter, const char *id);

#endif
