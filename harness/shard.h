/* Sharding: which cases one of N parallel runs makes (--shard K/N, GTEST_SHARD_INDEX/TOTAL). */
#ifndef WSPH_SHARD_H
#define WSPH_SHARD_H

#include <stddef.h>

/* Parses "K/N" (K is 0-based, 0 <= K < N, N >= 1; decimal digits only, no spaces or signs).
 * Returns 0 and sets *k and *n, or -1 leaving them untouched. */
int wsph_shard_parse(const char *text, unsigned *k, unsigned *n);

/* The shard from GoogleTest's variables: GTEST_SHARD_INDEX (K) and GTEST_TOTAL_SHARDS (N), passed
 * in as their values (NULL when unset). Returns 1 and sets *k and *n when both are set and valid,
 * 0 when neither is set (no sharding), -1 when only one is set or a value is invalid. */
int wsph_shard_from_env(const char *index, const char *total, unsigned *k, unsigned *n);

/* Round-robin over the case list: case i (0-based, in run order) belongs to shard i mod N. So the
 * shards of one N are disjoint and together make the whole suite. n == 0 selects everything. */
int wsph_shard_selects(unsigned k, unsigned n, size_t case_index);

#endif
