/* Sharding: "K/N" and GTEST_* parsing, and the proof that the shards of every N partition the
 * suite (each case in exactly one shard, their union the whole suite). */
#include "shard.h"

#include <criterion/criterion.h>

Test(shard, parse_accepts_k_of_n)
{
	unsigned k = 99, n = 99;
	cr_assert_eq(wsph_shard_parse("0/1", &k, &n), 0);
	cr_assert(k == 0 && n == 1);
	cr_assert_eq(wsph_shard_parse("3/4", &k, &n), 0);
	cr_assert(k == 3 && n == 4);
	cr_assert_eq(wsph_shard_parse("12/4096", &k, &n), 0);
	cr_assert(k == 12 && n == 4096);
}

Test(shard, parse_refuses_everything_else)
{
	static const char *const bad[] = {
	    "",
	    "/",
	    "1",
	    "1/",
	    "/2",
	    "4/4",
	    "5/4",
	    "0/0",
	    "-1/4",
	    "1/-4",
	    " 1/4",
	    "1/4 ",
	    "1 /4",
	    "1/4/5",
	    "a/4",
	    "1/b",
	    "0x1/4",
	    "+1/4",
	    "99999999999/99999999999",
	    "1.0/4",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned k = 7, n = 7;
		cr_assert_eq(wsph_shard_parse(bad[i], &k, &n), -1, "'%s' accepted", bad[i]);
		cr_assert(k == 7 && n == 7, "'%s' changed the outputs", bad[i]);
	}
	unsigned k, n;
	cr_assert_eq(wsph_shard_parse(NULL, &k, &n), -1);
}

Test(shard, gtest_environment)
{
	unsigned k = 0, n = 0;
	cr_assert_eq(wsph_shard_from_env(NULL, NULL, &k, &n), 0);
	cr_assert_eq(wsph_shard_from_env("2", "5", &k, &n), 1);
	cr_assert(k == 2 && n == 5);
	cr_assert_eq(wsph_shard_from_env("2", NULL, &k, &n), -1);
	cr_assert_eq(wsph_shard_from_env(NULL, "5", &k, &n), -1);
	cr_assert_eq(wsph_shard_from_env("5", "5", &k, &n), -1);
	cr_assert_eq(wsph_shard_from_env("x", "5", &k, &n), -1);
	cr_assert_eq(wsph_shard_from_env("0", "0", &k, &n), -1);
}

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
