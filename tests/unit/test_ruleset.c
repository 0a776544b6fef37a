/* Unit tests of the rule catalogue loader and the scenario-to-rule cross check (ruleset.c). */
#include "fn.h"
#include "ruleset.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D WSPH_TEST_DATA
#define R WSPH_TEST_DATA "/rules/"

static struct wsph_ruleset set;
static struct wsph_suite suite;

static void fini(void)
{
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
}

TestSuite(ruleset, .fini = fini);

static void load_good(void)
{
	struct wsph_diag diag;

	cr_assert_eq(wsph_ruleset_load(&set, R "good.yaml", &diag), 0, "%s", diag.text);
}

Test(ruleset, good_catalogue_rows)
{
	load_good();
	cr_expect_str_eq(set.path, R "good.yaml");
	cr_expect_str_eq(set.table_source,
			 "https://learn.microsoft.com/en-us/windows/win32/winsock/"
			 "upcalls-exposed-by-windows-sockets-2-dll-2");
	cr_assert_eq(set.n_rows, 3);
	cr_expect_str_eq(set.rows[0].function, "WPUCloseEvent");
	cr_expect_str_eq(set.rows[0].description, "Closes an open event object handle.");
	cr_expect_eq(set.rows[0].status, WSPH_ROW_OPTIONAL);
	cr_expect_str_eq(set.rows[0].published, "Optional.");
	cr_expect_eq(set.rows[0].loc.file, set.path);
	cr_expect_eq(set.rows[0].loc.line, 5);
	cr_expect_eq(set.rows[0].loc.col, 7);
	cr_expect_eq(set.rows[1].status, WSPH_ROW_REQUIRED_NONIFS);
	cr_expect_str_eq(set.rows[1].published, "Required for nonIFS providers.");
	cr_expect_eq(set.rows[2].status, WSPH_ROW_ABSENT);
	cr_expect_str_eq(set.rows[2].published, "");
}

Test(ruleset, good_catalogue_rules)
{
	const struct wsph_rule *r;

	load_good();
	cr_assert_eq(set.n_rules, 4);
	r = &set.rules[0];
	cr_expect_str_eq(r->id, "SPI.Startup.ProcTableComplete");
	cr_expect_str_eq(r->level, "MUST [derived]");
	cr_expect_eq(r->severity, WSPH_SEV_ERROR);
	cr_expect_str_eq(
		r->statement,
		"All 30 WSPPROC_TABLE pointers are non-NULL after a successful WSPStartup.");
	cr_expect_str_eq(r->source, "[ERR] WSAEINVALIDPROCTABLE; spec \xC2\xA7"
				    "7.1");
	cr_expect_eq(r->kinds, WSPH_KIND_ALL);
	cr_expect_null(r->not_checkable);
	cr_expect_eq(r->loc.line, 18);
	cr_expect_eq(r->loc.col, 5);
	r = &set.rules[1];
	cr_expect_eq(r->severity, WSPH_SEV_WARNING);
	cr_expect_eq(r->kinds, WSPH_KIND_NONIFS);
	cr_expect_str_eq(r->not_checkable, "a reason");
	r = &set.rules[2];
	cr_expect_eq(r->severity, WSPH_SEV_ERROR);
	cr_expect_eq(r->kinds, WSPH_KIND_ALL);
	cr_assert_eq(r->n_tripped_by, 2);
	cr_expect_str_eq(r->tripped_by[0], "fault-nonifs-no-close-handle");
	cr_expect_str_eq(r->tripped_by[1], "fault-lsp-leaks-lower-handle");
	cr_expect_eq(set.rules[0].n_tripped_by, 0);
	cr_expect_null(set.rules[0].tripped_by);
}

Test(ruleset, rule_status_names)
{
	load_good();
	cr_expect_str_eq(wsph_rule_status_name(&set.rules[0]), "checked");
	cr_expect_str_eq(wsph_rule_status_name(&set.rules[1]), "not-checkable");
	cr_expect_str_eq(wsph_rule_status_name(NULL), "checked");
	struct wsph_rule harness_rule = {.id = "HARNESS.Step.Expectation"};
	cr_expect_str_eq(wsph_rule_status_name(&harness_rule), "every-step");
}

Test(ruleset, find_by_id)
{
	load_good();
	cr_expect_eq(wsph_ruleset_find(&set, "SPI.Errno.OnFailure"), &set.rules[3]);
	cr_expect_null(wsph_ruleset_find(&set, "SPI.Errno"));
	cr_expect_null(wsph_ruleset_find(&set, "spi.errno.onfailure"));
	cr_expect_null(wsph_ruleset_find(&set, NULL));
}

Test(ruleset, status_names)
{
	cr_expect_str_eq(wsph_row_status_name(WSPH_ROW_REQUIRED), "required");
	cr_expect_str_eq(wsph_row_status_name(WSPH_ROW_REQUIRED_NONIFS), "required-nonifs");
	cr_expect_str_eq(wsph_row_status_name(WSPH_ROW_REQUIRED_IFS), "required-ifs");
	cr_expect_str_eq(wsph_row_status_name(WSPH_ROW_OPTIONAL), "optional");
	cr_expect_str_eq(wsph_row_status_name(WSPH_ROW_NOT_STATED), "not-stated");
	cr_expect_str_eq(wsph_row_status_name(WSPH_ROW_ABSENT), "absent");
	cr_expect_str_eq(wsph_row_status_name((enum wsph_row_status)99), "?");
}

static const struct {
	const char *file;
	const char *message;
} bad_files[] = {
	{"unknown-key.yaml", ":20:5: unknown key 'statment' in rule (expected one of: id, level, "
			     "severity, statement, source, kinds, not_checkable, tripped_by)"},
	{"bad-tripped-by.yaml", ":22:28: each 'tripped_by' item must name a faulty provider like "
				"fault-double-close-handle (found 'Fault_Bad')"},
	{"tripped-not-checkable.yaml",
	 ":23:17: a rule that is not checkable has no 'tripped_by'"},
	{"dup-id.yaml", ":22:9: duplicate rule ID 'A.B' (first at line 18, column 9)"},
	{"dup-function.yaml",
	 ":13:17: duplicate row for 'WPUCloseEvent' (first at line 5, column 17)"},
	{"missing-statement.yaml", ":18:5: missing required key 'statement' in rule"},
	{"bad-severity.yaml", ":20:15: 'severity' must be one of: error, warning (found 'fatal')"},
	{"bad-id.yaml",
	 ":18:9: 'id' must be a rule ID like SPI.Startup.ProcTableComplete (found 'A.b.')"},
	{"empty-kinds.yaml", ":22:12: 'kinds' must not be empty"},
	{"bad-source.yaml", ":21:13: 'source' must be a string (found a mapping)"},
	{"bad-status.yaml", ":15:15: 'status' must be one of: required, required-nonifs, "
			    "required-ifs, optional, not-stated, absent (found 'missing')"},
	{"not-upcall.yaml",
	 ":13:17: 'function' must name an upcall like WPUCloseEvent (found 'WSPSocket')"},
	{"null-published.yaml", ":16:17: 'published' must be a string (found null)"},
	{"no-table.yaml", ":1:1: missing required key 'upcall_table' in the top-level mapping"},
};

Test(ruleset, bad_catalogues_fail_with_one_located_message)
{
	size_t i;

	for (i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		struct wsph_diag diag;
		char path[512], want[1024];

		memset(&diag, 0, sizeof diag);
		snprintf(path, sizeof path, "%s%s", R, bad_files[i].file);
		snprintf(want, sizeof want, "%s%s", path, bad_files[i].message);
		cr_expect_eq(wsph_ruleset_load(&set, path, &diag), -1, "%s", bad_files[i].file);
		cr_expect_str_eq(diag.text, want, "%s", bad_files[i].file);
		/* A failed load leaves an empty set behind. */
		cr_expect_null(set.path, "%s", bad_files[i].file);
		cr_expect_eq(set.n_rules, 0, "%s", bad_files[i].file);
		cr_expect_eq(set.n_rows, 0, "%s", bad_files[i].file);
		wsph_ruleset_free(&set);
	}
}

Test(ruleset, missing_file)
{
	struct wsph_diag diag;

	cr_expect_eq(wsph_ruleset_load(&set, R "nope.yaml", &diag), -1);
	cr_expect_str_eq(diag.text, R "nope.yaml: cannot open: No such file or directory");
}

Test(ruleset, suite_with_known_ids_passes)
{
	struct wsph_diag diag;

	load_good();
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/scenarios/good.yaml", NULL, &diag), 0,
		     "%s", diag.text);
	cr_expect_eq(wsph_ruleset_check_suite(&set, &suite, &diag), 0, "%s", diag.text);
}

Test(ruleset, unknown_checks_item_is_located)
{
	struct wsph_diag diag;

	load_good();
	cr_assert_eq(
		wsph_scenario_load_file(&suite, D "/scenarios/unknown-check.yaml", NULL, &diag), 0,
		"%s", diag.text);
	cr_expect_eq(wsph_ruleset_check_suite(&set, &suite, &diag), -1);
	cr_expect_str_eq(diag.text, D "/scenarios/unknown-check.yaml:3:45: unknown rule ID "
				      "'SPI.No.SuchRule' (not in rules.yaml)");
}

Test(ruleset, unknown_step_rule_is_located)
{
	struct wsph_diag diag;

	load_good();
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/scenarios/good.yaml", NULL, &diag), 0);
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/scenarios/unknown-rule.yaml", NULL, &diag),
		     0, "%s", diag.text);
	cr_expect_eq(wsph_ruleset_check_suite(&set, &suite, &diag), -1);
	cr_expect_str_eq(diag.text, D "/scenarios/unknown-rule.yaml:8:15: unknown rule ID "
				      "'SPI.Errno.Missing' (not in rules.yaml)");
}

/* ---- hostile input ---- */

static const char small_table[] = "upcall_table:\n  source: s\n  rows:\n"
				  "    - {function: WPUCloseEvent, description: d, status: optional, "
				  "published: x}\n"
				  "rules:\n";

/* A catalogue with n rules A.Rn, then one more rule with the ID `last`. */
static char *many_rules(int n, const char *last)
{
	char *s = malloc((size_t)n * 64 + 256), *p = s;
	int i;

	p += sprintf(p, "%s", small_table);
	for (i = 0; i < n; i++)
		p += sprintf(p, "  - {id: A.R%d, level: MUST, statement: s, source: x}\n", i);
	sprintf(p, "  - {id: %s, level: MUST, statement: s, source: x}\n", last);
	return s;
}

Test(ruleset, load_string_and_many_rules)
{
	struct wsph_diag diag;
	char *ok = many_rules(10000, "B.C"), *dup = many_rules(10000, "A.R4321");

	cr_assert_eq(wsph_ruleset_load_string(&set, "mem.yaml", ok, strlen(ok), &diag), 0, "%s",
		     diag.text);
	cr_expect_str_eq(set.path, "mem.yaml");
	cr_expect_eq(set.n_rules, 10001);
	cr_expect_eq(set.rules[10000].loc.line, 10006);
	wsph_ruleset_free(&set);
	cr_expect_eq(wsph_ruleset_load_string(&set, "mem.yaml", dup, strlen(dup), &diag), -1);
	cr_expect_str_eq(diag.text, "mem.yaml:10006:10: duplicate rule ID 'A.R4321' (first at line "
				    "4327, column 10)");
	cr_expect_null(set.path);
	cr_expect_eq(wsph_ruleset_load_string(&set, "nul.yaml", NULL, 0, &diag), -1);
	cr_expect_str_eq(diag.text, "nul.yaml:1:1: the file is empty (expected a mapping)");
	free(ok);
	free(dup);
}

Test(ruleset, a_long_unknown_id_is_cut_in_the_message)
{
	static const char text[] = "scenarios:\n  - name: x\n    checks: [SPI.Errno.OnFailure, "
				   "A.Bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
				   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb]\n    steps: [cleanup: ]\n";
	struct wsph_diag diag;

	load_good();
	cr_assert_eq(wsph_scenario_load_string(&suite, "long.yaml", text, sizeof text - 1, NULL,
					       &diag),
		     0, "%s", diag.text);
	cr_expect_eq(wsph_ruleset_check_suite(&set, &suite, &diag), -1);
	/* 60 bytes of the ID, then "...". */
	cr_expect_str_eq(diag.text, "long.yaml:3:35: unknown rule ID "
				    "'A.Bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb...' "
				    "(not in rules.yaml)");
}

Test(ruleset, many_checks_against_many_rules)
{
	struct wsph_diag diag;
	char *rules = many_rules(20000, "B.C");
	char *text = malloc(20000 * 24 + 256), *p = text;
	int i;

	/* 20,000 checks against 20,001 rules: comparing each with every rule would be 4e8 calls. */
	p += sprintf(p, "scenarios:\n  - name: x\n    steps: [cleanup: ]\n    checks:\n");
	for (i = 0; i < 20000; i++)
		p += sprintf(p, "      - A.R%d\n", 19999 - i);
	sprintf(p, "      - B.C\n      - B.D\n");
	cr_assert_eq(wsph_ruleset_load_string(&set, "r.yaml", rules, strlen(rules), &diag), 0, "%s",
		     diag.text);
	cr_assert_eq(wsph_scenario_load_string(&suite, "s.yaml", text, strlen(text), NULL, &diag), 0,
		     "%s", diag.text);
	cr_expect_eq(wsph_ruleset_check_suite(&set, &suite, &diag), -1);
	cr_expect_str_eq(diag.text, "s.yaml:20006:9: unknown rule ID 'B.D' (not in rules.yaml)");
	free(rules);
	free(text);
}
