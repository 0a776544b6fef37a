/* --filter (harness/filter.c): the glob against a reference matcher on every short pattern and ID
 * over a small alphabet, its step bound on the patterns that make a backtracking matcher
 * exponential, and the including/excluding list. */
#include "filter.h"

#include <criterion/criterion.h>
#include <string.h>

/* The reference: the obvious table, m[i][j] = pat[i..] matches s[j..]. */
static int ref_match(const char *pat, const char *s)
{
	size_t pn = strlen(pat), sn = strlen(s);
	static unsigned char m[16][16];
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

static int glob(const char *pat, const char *s)
{
	return wsph_glob_match(pat, strlen(pat), s, strlen(s), NULL);
}

/* Every string of length <= max over alphabet, in turn, into buf. */
static int next_string(char *buf, const char *alphabet, size_t max)
{
	size_t n = strlen(buf), a = strlen(alphabet);
	for (size_t i = n; i-- > 0;) {
		const char *c = strchr(alphabet, buf[i]);
		if ((size_t)(c - alphabet) + 1 < a) {
			buf[i] = c[1];
			return 1;
		}
		buf[i] = alphabet[0];
	}
	if (n == max)
		return 0;
	memset(buf, alphabet[0], n + 1);
	buf[n + 1] = '\0';
	return 1;
}

Test(glob, agrees_with_the_reference_on_every_short_input_within_its_bound)
{
	char pat[8] = "", s[8] = "";
	unsigned long pairs = 0;
	do {
		s[0] = '\0';
		do {
			unsigned long steps = 0;
			size_t pn = strlen(pat), sn = strlen(s);
			cr_assert_eq(wsph_glob_match(pat, pn, s, sn, &steps), ref_match(pat, s),
				     "pattern '%s', id '%s'", pat, s);
			cr_assert_leq(steps, (pn + 1) * (sn + 1) + pn + 1, "pattern '%s', id '%s'", pat, s);
			pairs++;
		} while (next_string(s, "ab*", 5));
	} while (next_string(pat, "ab*?", 5));
	cr_assert(pairs > 100000);
}

Test(glob, examples)
{
	cr_assert(glob("sockets.*", "sockets.nonifs/create[nonifs]"));
	cr_assert(glob("*[nonifs]", "x/y[nonifs]"));
	cr_assert(glob("*[ifs]", "x/y[ifs]"));
	cr_assert(glob("*ifs]", "x/y[nonifs]"));
	cr_assert(!glob("*/y[ifs]", "x/y[nonifs]"));
	cr_assert(glob("", ""));
	cr_assert(!glob("", "a"));
	cr_assert(glob("*", ""));
	cr_assert(!glob("?", ""));
	cr_assert(glob("a*b*c", "aXbYc"));
	cr_assert(!glob("a*b*c", "aXbYcd"));
	cr_assert(glob("**", "abc"));
	cr_assert(glob("a\\*", "a\\bc")); /* no escapes: a backslash is itself */
}

/* The patterns that take a backtracking matcher exponential time stay within the bound. */
Test(glob, steps_are_bounded)
{
	static char id[4097];
	memset(id, 'a', sizeof id - 1);
	const char *pats[] = {"*?*?*?*?*?*?*!", "*a*a*a*a*a*a*a*a*a*a*b", "a*a*a*a*a*a*a*a*a*", "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?!"};
	for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++) {
		unsigned long steps = 0;
		size_t pn = strlen(pats[k]), sn = strlen(id);
		int m = wsph_glob_match(pats[k], pn, id, sn, &steps);
		cr_assert_eq(m, k == 2, "pattern %s", pats[k]);
		cr_assert_leq(steps, (pn + 1) * (sn + 1) + pn + 1, "pattern %s: %lu steps", pats[k],
			      steps);
	}
}

Test(filter, check_refuses_empty_globs)
{
	char err[256];
	const char *bad[] = {"", ":", "a:", ":a", "a::b", "-", "a:-", "-:a"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		err[0] = '\0';
		cr_assert_eq(wsph_filter_check(bad[k], err, sizeof err), -1, "'%s'", bad[k]);
		cr_assert(strstr(err, "--filter takes GLOB") != NULL, "%s", err);
	}
	cr_assert_eq(wsph_filter_check(NULL, err, sizeof err), -1);
	const char *good[] = {"*", "a:b", "-a", "*:-*[ifs]", "--x", "a*:?:-b"};
	for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
		cr_assert_eq(wsph_filter_check(good[k], err, sizeof err), 0, "'%s'", good[k]);
}

Test(filter, includes_and_excludes)
{
	const char *ids[] = {"s.a/x[nonifs]", "s.a/x[ifs]", "s.b/y[nonifs]", "t/z[ifs]"};
	struct {
		const char *filter;
		const char *selected; /* one char per id */
	} t[] = {
		{NULL, "1111"},
		{"*", "1111"},
		{"s.*", "1110"},
		{"-*[ifs]", "1010"},
		{"*:-*[ifs]", "1010"},
		{"s.*:-*[ifs]", "1010"},
		{"-*[ifs]:s.a/*", "1000"},
		{"t/*:s.b/*", "0011"},
		{"-s.*:-t/*", "0000"},
		{"--x", "1111"},
		{"nothing", "0000"},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
		for (size_t i = 0; i < 4; i++)
			cr_assert_eq(wsph_filter_match(t[k].filter, ids[i]), t[k].selected[i] == '1',
				     "filter '%s', id %s", t[k].filter ? t[k].filter : "(none)", ids[i]);
}
