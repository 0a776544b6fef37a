/* libFuzzer target: the --filter glob and list (harness/filter.c). The input is PATTERN NUL ID.
 * The glob must stay within its step bound on any input and, on inputs small enough for the
 * reference table below, agree with it; so must the list of including and excluding globs. */
#include "filter.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX 128

/* m[i][j]: pat[i..] matches s[j..]. */
static int ref_glob(const char *pat, size_t pn, const char *s, size_t sn)
{
	static unsigned char m[REF_MAX + 1][REF_MAX + 1];
	for (size_t i = pn + 1; i-- > 0;)
		for (size_t j = sn + 1; j-- > 0;) {
			if (i == pn)
				m[i][j] = j == sn;
			else if (pat[i] == '*')
				m[i][j] = m[i + 1][j] || (j < sn && m[i][j + 1]);
			else
				m[i][j] = j < sn && (pat[i] == '?' || pat[i] == s[j]) && m[i + 1][j + 1];
		}
	return m[0][0];
}

/* Selected when one including glob matches (or there is none) and no excluding one does. */
static int ref_filter(const char *filter, const char *id)
{
	int any_include = 0, included = 0, excluded = 0;
	size_t sn = strlen(id);
	for (const char *p = filter;;) {
		size_t n = strcspn(p, ":");
		int ex = p[0] == '-';
		int m = ref_glob(p + ex, n - (size_t)ex, id, sn);
		any_include |= !ex;
		included |= !ex && m;
		excluded |= ex && m;
		if (!p[n])
			break;
		p += n + 1;
	}
	return !excluded && (included || !any_include);
}

static void fail(const char *what, const char *pat, const char *id)
{
	fprintf(stderr, "fuzz: %s (pattern '%s', id '%s')\n", what, pat, id);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	const char *pat = buf, *id = buf + strlen(buf) + 1; /* ID: up to the next NUL */
	size_t pn = strlen(pat), sn = strlen(id);

	unsigned long steps = 0;
	int m = wsph_glob_match(pat, pn, id, sn, &steps);
	if (steps > (unsigned long)((pn + 1) * (sn + 1) + pn + 1))
		fail("the glob took more steps than its bound", pat, id);
	if (pn <= REF_MAX && sn <= REF_MAX && m != ref_glob(pat, pn, id, sn))
		fail("the glob disagrees with the reference", pat, id);

	char err[256];
	if (wsph_filter_check(pat, err, sizeof err) == 0) {
		if (strlen(pat) <= REF_MAX && sn <= REF_MAX &&
		    wsph_filter_match(pat, id) != ref_filter(pat, id))
			fail("the filter disagrees with the reference", pat, id);
	} else if (!err[0] || strchr(err, '\n') != NULL) {
		/* the pattern itself may hold a line break; the reason must exist */
		if (!err[0] || !strchr(pat, '\n'))
			fail("a refused filter has no one-line reason", pat, id);
	}
	free(buf);
	return 0;
}
