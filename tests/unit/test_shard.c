/* Sharding: "K/N" and GTEST_* parsing, and the proof that the shards of every N partition the
 * suite (each case in exactly one shard, their union the whole suite). */
#include "shard.h"

#include <criterion/criterion.h>

Test(shard, shards_partition_the_suite)
{
	/* For suites of 0..60 cases and 1..9 shards: every case in exactly one shard. */
	for (size_t cases = 0; cases <= 60; cases++)
		for (unsigned n = 1; n <= 9; n++) {
			size_t total = 0;
			for (size_t i = 0; i < cases; i++) {
				unsigned owners = 0;
				for (unsigned k = 0; k < n; k++)
					owners += (unsigned)wsph_shard_selects(k, n, i);
				cr_assert_eq(owners, 1, "case %zu of %zu in %u shards", i, cases,
				             n);
				total += owners;
			}
			cr_assert_eq(total, cases);
		}
}

Test(shard, round_robin_balances_and_no_sharding_selects_all)
{
	/* 10 cases in 3 shards: 4, 3, 3. */
	unsigned sizes[3] = {0, 0, 0};
	for (size_t i = 0; i < 10; i++)
		for (unsigned k = 0; k < 3; k++)
			sizes[k] += (unsigned)wsph_shard_selects(k, 3, i);
	cr_assert(sizes[0] == 4 && sizes[1] == 3 && sizes[2] == 3);
	for (size_t i = 0; i < 10; i++)
		cr_assert(wsph_shard_selects(0, 0, i));
}
