/* The LSP.NextProc.* rules: a layer's use of the provider below it, checked from the trace
 * (the lower calls' CALL/RETURN events, layer 1) with a ledger per lower module. */
#ifndef WSPH_RULES_LSP_H
#define WSPH_RULES_LSP_H

#include "rules.h"

struct wsph_rules_lsp;

/* NULL when out of memory (the rules are then not checked). */
struct wsph_rules_lsp *wsph_rules_lsp_new(const struct wsph_rules_config *cfg);
void wsph_rules_lsp_free(struct wsph_rules_lsp *l);
/* Every event, in trace order; findings go to r through wsph_rules_report. */
void wsph_rules_lsp_event(struct wsph_rules_lsp *l, struct wsph_rules *r,
			  const struct wsph_event *ev);
/* End of the scenario (after the last event). */
void wsph_rules_lsp_finish(struct wsph_rules_lsp *l, struct wsph_rules *r);

#endif
