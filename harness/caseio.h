/* What an isolated child tells its parent: the events as they happen, then the case's verdict. */
#ifndef WSPH_CASEIO_H
#define WSPH_CASEIO_H

#include "platform/platform.h"
#include "results.h"
#include "scenario.h"

#include <stdio.h>

/* Child side. Lines carry a marker so the provider's own output can be told apart. */
void wsph_caseio_event(FILE *out, const struct wsph_event *ev);
void wsph_caseio_case(FILE *out, const struct wsph_case *c);
void wsph_caseio_crash(FILE *out, long code);

/* Parent side: fills `c` from the child's output and how it ended. Crashes, timeouts, aborts and
 * exits inside the provider become WSPH_ERROR cases with the trace up to that point and the
 * provider's output. `timeout_ms` is for the message. */
void wsph_caseio_parse(const struct wsph_child_result *res, const struct wsph_ruleset *set,
		       const struct wsph_scenario *sc, unsigned timeout_ms, size_t trace_cap,
		       struct wsph_case *c);

#endif
