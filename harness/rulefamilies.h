/* The rule families the engine runs beside its own checks when the config names none. */
#ifndef WSPH_RULEFAMILIES_H
#define WSPH_RULEFAMILIES_H

#include "rulefamily.h"

/* NULL-terminated, in the order the engine calls them. */
extern const struct wsph_rule_family *const wsph_rule_families[];
/* Those that still judge a case that never reached its end (its process killed at a timeout or a
 * stall) from its trace alone: wsph_rules_judge_unfinished. */
extern const struct wsph_rule_family *const wsph_rule_families_unfinished[];

#endif
