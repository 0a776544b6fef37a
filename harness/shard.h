/* Sharding: which cases one of N parallel runs makes (--shard K/N, GTEST_SHARD_INDEX/TOTAL; the
 * numbers are read by options.c). */
#ifndef WSPH_SHARD_H
#define WSPH_SHARD_H

#include <stddef.h>

/* Round-robin over the case list: case i (0-based, in run order) belongs to shard i mod N. So the
 * shards of one N are disjoint and together make the whole suite. n == 0 selects everything. */
int wsph_shard_selects(unsigned k, unsigned n, size_t case_index);

#endif
