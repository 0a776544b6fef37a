/* libFuzzer target: the rule-catalogue loader on arbitrary bytes. */
#include "fuzz_common.h"
#include "ruleset.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsph_ruleset set;
	struct wsph_diag diag;
	size_t i;

	memset(&diag, 0, sizeof diag);
	if (wsph_ruleset_load_string(&set, FUZZ_FILE, (const char *)data, size, &diag)) {
		fuzz_check_diag(&diag);
		if (set.rules || set.rows || set.path) {
			fprintf(stderr, "fuzz: a failed load left data in the rule set\n");
			abort();
		}
		return 0;
	}
	if (!set.n_rows || !set.n_rules || !set.table_source) {
		fprintf(stderr, "fuzz: a load that succeeded has no rows, rules or table source\n");
		abort();
	}
	for (i = 0; i < set.n_rows; i++)
		fuzz_check_loc(&set.rows[i].loc, set.path);
	for (i = 0; i < set.n_rules; i++) {
		const struct wsph_rule *r = &set.rules[i];
		fuzz_check_loc(&r->loc, set.path);
		if (!r->id || !r->level || !r->statement || !r->source ||
		    wsph_ruleset_find(&set, r->id) != r) {
			fprintf(stderr, "fuzz: rule %zu is incomplete or not found by its ID\n", i);
			abort();
		}
	}
	wsph_ruleset_free(&set);
	return 0;
}
