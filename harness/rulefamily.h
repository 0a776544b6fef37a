/* A family of rules beside the rule engine: the hooks the engine calls it through, what it is given
 * for a case, and the one way it reports. A family knows this header only, never the engine. */
#ifndef WSPH_RULEFAMILY_H
#define WSPH_RULEFAMILY_H

#include "ruleset.h"
#include "scenario.h"
#include "trace.h"

#include <stddef.h>
#include <stdint.h>

struct wsph_rule_family;
struct wsph_finding;

/* A provider in the run: the one under test, or one below it (an LSP's lower provider). */
struct wsph_rules_layer {
	char module[64];  /* base name of its DLL, as events name their calling module */
	unsigned kind;	  /* WSPH_KIND_IFS or WSPH_KIND_NONIFS */
	uint32_t ids[16]; /* its catalog entries */
	size_t n_ids;
};

/* What the engine, and each family through its create hook, is given for a case. */
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
	/* The families to run, NULL-terminated; NULL means every registered one (rulefamilies.c). */
	const struct wsph_rule_family *const *families;
	/* Only the families judge: the engine follows the calls but makes no check of its own (a
	 * trace judged again after its own engine's findings were already made: rules.h). */
	int families_only;
};

/* Where a family's findings go: the engine fills one in and hands it to the family's create hook.
 * rule_id NULL means HARNESS.Step.Expectation; `seq` is the offending event (0 none). The engine
 * keeps the sink at one address for the family's whole life. */
struct wsph_rule_sink {
	void *engine;
	void (*report)(void *engine, const char *rule_id, int step, uint64_t seq,
		       const char *message);
};

static inline void wsph_sink_report(const struct wsph_rule_sink *s, const char *rule_id, int step,
				    uint64_t seq, const char *message)
{
	s->report(s->engine, rule_id, step, seq, message);
}

/*
 * A family's hooks; any of them may be NULL. `st` is what create returned (NULL: out of memory, and
 * the family then sits the case out). The engine calls them in this order of its own work, and
 * the families in the order of the list, so their findings come in a fixed order:
 * - on_event: every event, in trace order, before the engine's own checks of it;
 * - on_return: a call of the harness into the provider under test returned (`call` is its CALL
 *   event, `ret` the RETURN), after the engine's own return checks;
 * - on_step_end: a scenario step ended, after the engine has checked its events;
 * - on_finish: the scenario ended, after the engine's release checks and before its leak checks;
 * - told: the engine asks whether the provider below the layer, `module`, acts on what its layer
 *   told it in the WSAPROTOCOL_INFOW passed down: 1 when catalog id `id` was passed to it (in the
 *   lower call in progress `parent`, or in a lower WSPStartup or WSPSocket that returned), else 0;
 *   *told_ifs gets 1 or 0 for XP1_IFS_HANDLES in what its lower WSPStartup passed, -1 when the
 *   family does not know. The engine combines the answers of every family that has the hook.
 */
struct wsph_rule_family {
	const char *name;
	void *(*create)(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink);
	void (*destroy)(void *st);
	void (*on_event)(void *st, const struct wsph_event *ev);
	void (*on_return)(void *st, const struct wsph_event *call, const struct wsph_event *ret);
	void (*on_step_end)(void *st);
	void (*on_finish)(void *st);
	int (*told)(const void *st, const char *module, uint64_t parent, uint64_t id,
		    int *told_ifs);
};

#endif
