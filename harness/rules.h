/* The rule engine: checks each recorded event as it arrives and the whole trace at the end, and
 * runs the rule families (rulefamily.h) beside its own checks. */
#ifndef WSPH_RULES_H
#define WSPH_RULES_H

#include "results.h"
#include "rulefamily.h"
#include "ruleset.h"
#include "scenario.h"
#include "trace.h"

#include <stdint.h>

struct wsph_rules;

struct wsph_rules *wsph_rules_new(const struct wsph_rules_config *cfg);
void wsph_rules_free(struct wsph_rules *r);
/* Checks every event recorded since the last call. */
void wsph_rules_advance(struct wsph_rules *r);
/* A scenario step ended (after an advance): the checks that wait for a step's calls to be over. */
void wsph_rules_step_end(struct wsph_rules *r);
/* End-of-scenario checks (after a last advance). */
void wsph_rules_finish(struct wsph_rules *r);
/* A finding from outside the engine (a step's expectation). rule_id NULL means
 * HARNESS.Step.Expectation. `seq` is the offending event (0 none). */
void wsph_rules_report(struct wsph_rules *r, const char *rule_id, int step, uint64_t seq,
		       const char *message);
/* Whether an error rule (other than HARNESS.Step.Expectation) was charged with event `seq` or another
 * event of its WSP call: a step whose call a rule already judged is not charged again for the
 * same result. */
int wsph_rules_charged(struct wsph_rules *r, uint64_t seq);
/* The error findings made so far, and the rule of the last one ("" none). */
size_t wsph_rules_errors(const struct wsph_rules *r);
const char *wsph_rules_last_error(const struct wsph_rules *r);
/* Moves the findings out (the caller owns them). */
struct wsph_finding *wsph_rules_take(struct wsph_rules *r, size_t *n);
/* Outstanding successful WSPStartups as the engine has counted them. */
int wsph_rules_startups(const struct wsph_rules *r);

/* A case whose process was killed before its end (a timeout, a stall, a deadlock) never ran the
 * end-of-case checks: judges its trace, c->events (rebuilt by the parent), with the families that
 * need the trace alone (the calls still in progress when it ended: rules_conc.c), and appends
 * their findings to c->findings. cfg gives the ruleset, the scenario and the kind (its trace,
 * families and on_finding are the function's own). Returns the findings added. */
size_t wsph_rules_judge_unfinished(const struct wsph_rules_config *cfg, struct wsph_case *c);

/* Every rule ID the engine and the driver can report (for the catalogue consistency test). */
extern const char *const wsph_rules_ids_used[];

#endif
