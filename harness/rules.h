/* The rule engine: checks each recorded event as it arrives and the whole trace at the end. */
#ifndef WSPH_RULES_H
#define WSPH_RULES_H

#include "results.h"
#include "ruleset.h"
#include "scenario.h"
#include "trace.h"

#include <stdint.h>

struct wsph_rules;

/* A provider in the run: the one under test, or one below it (an LSP's lower provider). */
struct wsph_rules_layer {
	char module[64];  /* base name of its DLL, as events name their calling module */
	unsigned kind;	  /* WSPH_KIND_IFS or WSPH_KIND_NONIFS */
	uint32_t ids[16]; /* its catalog entries */
	size_t n_ids;
};

struct wsph_rules_config {
	const struct wsph_ruleset *set;
	struct wsph_trace *trace;
	const struct wsph_scenario *scenario;
	unsigned kind;		    /* WSPH_KIND_IFS or WSPH_KIND_NONIFS: what the provider was told */
	const uint32_t *catalog_ids; /* the provider's own catalog entries */
	size_t n_catalog_ids;
	/* Layered runs: the providers below the one under test (n_lower 0 otherwise). */
	struct wsph_rules_layer lower[4];
	size_t n_lower;
	int layered; /* the provider under test is a layer */
	void *window; /* the harness's WSPAsyncSelect window */
	void (*on_finding)(const struct wsph_finding *f); /* each finding as it is made (may be NULL) */
};

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

/* Every rule ID the engine and the driver can report (for the catalogue consistency test). */
extern const char *const wsph_rules_ids_used[];

#endif
