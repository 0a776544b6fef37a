/* The registration list of the rule families: a new family is one line here. */
#include "rulefamilies.h"

#include "rules_conc.h"
#include "rules_errno.h"
#include "rules_lsp.h"

#include <stddef.h>

const struct wsph_rule_family *const wsph_rule_families[] = {
	&wsph_rule_family_lsp,
	&wsph_rule_family_errno,
	&wsph_rule_family_conc,
	NULL,
};

const struct wsph_rule_family *const wsph_rule_families_unfinished[] = {
	&wsph_rule_family_conc,
	NULL,
};
