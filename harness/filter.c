/* --filter: the glob matcher and the including/excluding list (filter.h). */
#include "filter.h"

#include <stdio.h>
#include <string.h>

/* The greedy matcher: on a mismatch, the last '*' seen takes one more byte and matching resumes
 * after it. An earlier '*' never needs to take more, so each (pattern, id) position pair is met at
 * most once per restart of the last star: O(plen * slen) steps, no recursion. */
int wsph_glob_match(const char *pat, size_t plen, const char *s, size_t slen, unsigned long *steps)
{
	size_t p = 0, i = 0, star = (size_t)-1, mark = 0;
	unsigned long n = 0;
	int ok = 1;
	while (i < slen) {
		n++;
		if (p < plen && pat[p] == '*') {
			star = p++;
			mark = i;
		} else if (p < plen && (pat[p] == '?' || pat[p] == s[i])) {
			p++;
			i++;
		} else if (star != (size_t)-1) {
			p = star + 1;
			i = ++mark;
		} else {
			ok = 0;
			break;
		}
	}
	while (ok && p < plen && pat[p] == '*') {
		n++;
		p++;
	}
	if (steps)
		*steps += n;
	return ok && p == plen;
}

int wsph_filter_check(const char *filter, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!filter || !*filter)
		why = "is empty";
	for (const char *p = filter; !why;) {
		size_t n = strcspn(p, ":");
		if (n == 0 || (n == 1 && p[0] == '-'))
			why = n ? "has a '-' with no glob after it" : "has an empty glob (two ':' in a row, "
								       "or one at an end)";
		if (!p[n])
			break;
		p += n + 1;
	}
	if (!why)
		return 0;
	snprintf(err, errlen, "--filter takes GLOB[:GLOB]... (* and ?; a glob starting with - "
			      "excludes), and '%s' %s", filter ? filter : "", why);
	return -1;
}

int wsph_filter_match(const char *filter, const char *id)
{
	if (!filter)
		return 1;
	size_t idlen = strlen(id);
	int any_include = 0, included = 0;
	for (const char *p = filter;;) {
		size_t n = strcspn(p, ":");
		int exclude = n > 0 && p[0] == '-';
		const char *g = p + exclude;
		size_t gn = n - (size_t)exclude;
		any_include |= !exclude;
		if (gn > 0 && (exclude || !included) && wsph_glob_match(g, gn, id, idlen, NULL)) {
			if (exclude)
				return 0;
			included = 1;
		}
		if (!p[n])
			break;
		p += n + 1;
	}
	return included || !any_include;
}
