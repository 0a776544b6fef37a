/* A faulty variant of mockbase: the one fault it has (MOCKBASE_VARIANT, an enum mb_fault name,
 * given by providers/faulty/meson.build). The provider itself is mockbase's sources (mockbase_src),
 * compiled once for every variant with MOCKBASE_FAULTY. */
#include "mockbase_faults.h"

const int mockbase_fault = MOCKBASE_VARIANT;
