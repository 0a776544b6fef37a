/* SPI.Errno.Documented and SPI.Errno.IoPendingOnlyOverlapped: the codes a failing WSP call reports. */
#ifndef WSPH_RULES_ERRNO_H
#define WSPH_RULES_ERRNO_H

#include "rules.h"

struct wsph_rules_errno;

/* Per-scenario state (the sockets known to be overlapped); NULL when out of memory. */
struct wsph_rules_errno *wsph_rules_errno_new(void);
void wsph_rules_errno_free(struct wsph_rules_errno *e);
/* A call of the harness into the provider under test returned (`call` is its CALL event).
 * Findings go to r through wsph_rules_report; the error tables come from set->errors. */
void wsph_rules_errno_return(struct wsph_rules_errno *e, struct wsph_rules *r,
			     const struct wsph_ruleset *set, const struct wsph_event *call,
			     const struct wsph_event *ret);

#endif
