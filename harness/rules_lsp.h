/* The LSP.NextProc.* rules: a layer's use of the provider below it, checked from the trace
 * (the lower calls' CALL/RETURN events, layer 1) with a ledger per lower module. A rule family
 * (rulefamily.h) that runs only when the provider under test is a layer, and answers the engine's
 * question what the layer told a provider below (its told hook). */
#ifndef WSPH_RULES_LSP_H
#define WSPH_RULES_LSP_H

#include "rulefamily.h"

extern const struct wsph_rule_family wsph_rule_family_lsp;

#endif
