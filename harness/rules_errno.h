/* SPI.Errno.Documented and SPI.Errno.IoPendingOnlyOverlapped: the codes a failing WSP call reports.
 * A rule family (rulefamily.h): it judges each return of a call into the provider under test. */
#ifndef WSPH_RULES_ERRNO_H
#define WSPH_RULES_ERRNO_H

#include "rulefamily.h"

extern const struct wsph_rule_family wsph_rule_family_errno;

#endif
