/* libFuzzer target: the scenario loader (YAML tree, validation, rule-ID check) on any bytes. */
#include "fuzz_common.h"
#include "ruleset.h"
#include "scenario.h"

#include <stddef.h>
#include <stdint.h>

/* The bundled catalogue, loaded once: a scenario that loads is checked against it like in a run. */
static struct wsph_ruleset rules;
static int have_rules;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct wsph_diag diag;

	(void)argc;
	(void)argv;
	if (wsph_ruleset_load(&rules, WSPH_FUZZ_RULES, &diag) != 0) {
		fprintf(stderr, "fuzz: cannot load the bundled catalogue: %s\n", diag.text);
		abort();
	}
	have_rules = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsph_suite suite;
	struct wsph_diag diag;
	size_t i, j;

	memset(&suite, 0, sizeof suite);
	memset(&diag, 0, sizeof diag);
	if (wsph_scenario_load_string(&suite, FUZZ_FILE, (const char *)data, size, NULL, &diag)) {
		fuzz_check_diag(&diag);
		if (suite.n_scenarios || suite.n_files) {
			fprintf(stderr, "fuzz: a failed load left scenarios in the suite\n");
			abort();
		}
		return 0;
	}
	if (suite.n_files != 1 || suite.n_scenarios == 0) {
		fprintf(stderr, "fuzz: a load that succeeded gave %zu files, %zu scenarios\n",
			suite.n_files, suite.n_scenarios);
		abort();
	}
	for (i = 0; i < suite.n_scenarios; i++) {
		const struct wsph_scenario *sc = &suite.scenarios[i];
		fuzz_check_loc(&sc->loc, suite.files[0]);
		if (!sc->name || !sc->n_checks || !sc->n_steps || !sc->kinds) {
			fprintf(stderr, "fuzz: scenario %zu is missing a required part\n", i);
			abort();
		}
		for (j = 0; j < sc->n_checks; j++)
			fuzz_check_loc(&sc->check_locs[j], suite.files[0]);
		for (j = 0; j < sc->n_steps; j++) {
			fuzz_check_loc(&sc->steps[j].loc, suite.files[0]);
			if (sc->steps[j].op >= WSPH_OP_COUNT)
				abort();
		}
	}
	if (have_rules && wsph_ruleset_check_suite(&rules, &suite, &diag))
		fuzz_check_diag(&diag);
	wsph_suite_free(&suite);
	return 0;
}
