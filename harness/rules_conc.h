/* The rules about calls of several threads at once: what a WSPCloseSocket or the final WSPCleanup
 * makes of the calls other threads have in progress. */
#ifndef WSPH_RULES_CONC_H
#define WSPH_RULES_CONC_H

#include "rulefamily.h"

extern const struct wsph_rule_family wsph_rule_family_conc;

#endif
