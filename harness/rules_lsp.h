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
/* What the layer told the lower provider `module` in the WSAPROTOCOL_INFOW it passed down: 1 when
 * it passed catalog id `id` (in the lower call in progress `parent`, or a lower WSPStartup or
 * WSPSocket that returned), else 0; *told_ifs gets 1 or 0 for XP1_IFS_HANDLES in what its lower
 * WSPStartup (in progress, else the most recent successful one) passed, -1 when unknown. What a
 * provider below does because of what its layer told it is the layer's doing. */
int wsph_rules_lsp_told(const struct wsph_rules_lsp *l, const char *module, uint64_t parent,
			uint64_t id, int *told_ifs);
/* End of the scenario (after the last event). */
void wsph_rules_lsp_finish(struct wsph_rules_lsp *l, struct wsph_rules *r);
/* A scenario step ended: the closes it made have returned, so what they left open is known now
 * (a step that then waits for the peer's notification is not charged for it). */
void wsph_rules_lsp_step_end(struct wsph_rules_lsp *l, struct wsph_rules *r);

#endif
