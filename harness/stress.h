/* The stress mode (`wspharness run --stress N`): every scenario marked `concurrent: true` runs N
 * times, each run a case of its own ("NAME#stress-K") with seeded start offsets for the threads of
 * its parallel blocks: before its first step each thread gives the processor away a number of
 * times drawn from the run's seed, so the runs start the threads in different orders. The same
 * seed gives the same offsets. */
#ifndef WSPH_STRESS_H
#define WSPH_STRESS_H

#include "scenario.h"

#include <stddef.h>
#include <stdint.h>

#define WSPH_STRESS_MAX_RUNS 10000u
#define WSPH_STRESS_DEFAULT_SEED 1u /* without --seed */
#define WSPH_STRESS_MAX_OFFSET 255u /* yields before a thread's first step */

/* Replaces each concurrent scenario of the suite by `runs` runs of it, in its place: the first
 * keeps the scenario (renamed), the others borrow it (wsph_scenario.borrowed); each gets its own
 * stress_seed from `seed`, its position and its name. Returns 0, or -1 when out of memory (the
 * suite is then as it was). */
int wsph_stress_expand(struct wsph_suite *suite, unsigned runs, uint64_t seed);

/* The yields before the first step of thread `thread` (0-based) in repetition `repetition`
 * (0-based) of a parallel block, for a run's stress_seed (0: none). */
unsigned wsph_stress_offset(uint64_t stress_seed, unsigned repetition, unsigned thread);

/* "a=12 b=0" for each parallel block of the scenario (its first repetition), blocks separated by
 * "; ", into buf (empty when it has no offsets). */
void wsph_stress_describe(const struct wsph_scenario *sc, char *buf, size_t len);

#endif
