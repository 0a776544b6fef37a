/* Sharding: parsing "K/N" and the round-robin selection, pure functions the runner calls. */
#include "shard.h"

#include <limits.h>

/* Decimal digits only; -1 on anything else or on overflow. */
static int parse_uint(const char *s, const char *end, unsigned *out)
{
	unsigned long v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > UINT_MAX)
			return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int wsph_shard_parse(const char *text, unsigned *k, unsigned *n)
{
	const char *slash, *end;
	unsigned kk, nn;

	if (!text)
		return -1;
	for (slash = text; *slash && *slash != '/'; slash++)
		;
	if (!*slash)
		return -1;
	for (end = slash + 1; *end; end++)
		;
	if (parse_uint(text, slash, &kk) != 0 || parse_uint(slash + 1, end, &nn) != 0)
		return -1;
	if (nn == 0 || kk >= nn)
		return -1;
	*k = kk;
	*n = nn;
	return 0;
}

int wsph_shard_from_env(const char *index, const char *total, unsigned *k, unsigned *n)
{
	const char *i_end, *t_end;
	unsigned kk, nn;

	if (!index && !total)
		return 0;
	if (!index || !total)
		return -1;
	for (i_end = index; *i_end; i_end++)
		;
	for (t_end = total; *t_end; t_end++)
		;
	if (parse_uint(index, i_end, &kk) != 0 || parse_uint(total, t_end, &nn) != 0)
		return -1;
	if (nn == 0 || kk >= nn)
		return -1;
	*k = kk;
	*n = nn;
	return 1;
}

int wsph_shard_selects(unsigned k, unsigned n, size_t case_index)
{
	if (n == 0)
		return 1;
	return case_index % n == k;
}
