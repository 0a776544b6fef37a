/* Sharding: the round-robin selection, a pure function the runner calls. */
#include "shard.h"

int wsph_shard_selects(unsigned k, unsigned n, size_t case_index)
{
	if (n == 0)
		return 1;
	return case_index % n == k;
}
