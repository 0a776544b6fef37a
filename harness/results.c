/* Results model helpers: counting outcomes and warnings, and freeing what the cases own. */
#include "results.h"

#include <stdlib.h>
#include <string.h>

void wsph_results_count(const struct wsph_results *r, struct wsph_counts *out)
{
	size_t i, j;

	memset(out, 0, sizeof *out);
	if (!r)
		return;
	for (i = 0; i < r->n_cases; i++) {
		const struct wsph_case *c = &r->cases[i];
		out->tests++;
		out->failures += c->outcome == WSPH_FAIL;
		out->errors += c->outcome == WSPH_ERROR;
		out->skipped += c->outcome == WSPH_SKIP;
		for (j = 0; j < c->n_findings; j++) {
			const struct wsph_rule *rule = c->findings[j].rule;
			out->warnings += rule && rule->severity == WSPH_SEV_WARNING;
		}
	}
}

/* classname and file are borrowed from the suite; everything else a case points at is its own. */
void wsph_results_free(struct wsph_results *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->n_cases; i++) {
		struct wsph_case *c = &r->cases[i];
		for (j = 0; j < c->n_findings; j++) {
			free(c->findings[j].message);
			free(c->findings[j].excerpt);
		}
		free(c->findings);
		for (j = 0; j < c->n_unreached; j++)
			free(c->unreached[j].reason);
		free(c->unreached);
		free(c->name);
		free(c->error_type);
		free(c->error_message);
		free(c->skip_reason);
		free(c->trace);
		wsph_trace_free(c->events);
	}
	free(r->cases);
	r->cases = NULL;
	r->n_cases = 0;
}
