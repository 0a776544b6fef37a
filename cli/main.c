/* wspharness: the command line. Parses flags, calls the runner, maps results to the exit status. */
#include "casemap.h"
#include "catalog.h"
#include "driver.h"
#include "platform/platform.h"
#include "report.h"
#include "results.h"
#include "errtable.h"
#include "explore_cmd.h"
#include "filter.h"
#include "modfile.h"
#include "options.h"
#include "outfile.h"
#include "progress.h"
#include "ruleset.h"
#include "runner.h"
#include "stress.h"
#include "sha256.h"
#include "scenario.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_status { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_BAD_INPUT = 2, EXIT_INTERNAL = 3 };

/* Bad input on the command line: the reason, then the command's synopsis and where its help is
 * (cmd 0: no command was understood). */
static int bad_usage(const char *why, unsigned cmd)
{
	fprintf(stderr, "wspharness: %s\n", why);
	wsph_options_usage_hint(cmd, stderr);
	return EXIT_BAD_INPUT;
}

static int format_known(const char *format)
{
	return wsph_reporter_find(format) != NULL;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* buf = a + b + c; -1 when it does not fit. */
static int join(char *buf, size_t len, const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, len, "%s%s%s", a, b, c);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int has_rules(const char *dir)
{
	char p[4200];
	return join(p, sizeof p, dir, "/rules.yaml", "") == 0 && wsph_plat_is_file(p);
}

/* The scenarios an installed or built program ships with. */
static int default_scenarios(char *buf, size_t len)
{
	const char *env = getenv("WSPHARNESS_SCENARIOS");
	if (env && *env && has_rules(env)) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	char exe[4096];
	if (wsph_plat_exe_dir(exe, sizeof exe) == 0) {
		const char *rel[] = {"/../" WSPH_INSTALL_SCENARIOS_REL, "/../../scenarios"};
		for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
			if (join(buf, len, exe, rel[i], "") == 0 && has_rules(buf))
				return 0;
		}
	}
	snprintf(buf, len, "%s", WSPH_SOURCE_SCENARIOS);
	return has_rules(buf) ? 0 : -1;
}

static int default_provider(char *buf, size_t len)
{
	char exe[4096];
	if (wsph_plat_exe_dir(exe, sizeof exe) != 0)
		return -1;
	const char *rel[] = {"/../providers/mockbase/mockbase",
			     "/../" WSPH_INSTALL_LIB_REL "/mockbase"};
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		if (join(buf, len, exe, rel[i], wsph_plat_module_suffix()) == 0 &&
		    wsph_plat_is_file(buf))
			return 0;
	}
	return -1;
}

static int load_inputs(struct options *o, struct wsph_suite *suite, struct wsph_ruleset *set,
		       int need_rules_only)
{
	struct wsph_diag diag;
	char defdir[4096] = "";
	int have_default = default_scenarios(defdir, sizeof defdir) == 0;
	suite->report_root = o->report_root;
	if (!need_rules_only) {
		if (o->n_scenarios == 0) {
			if (!have_default) {
				fprintf(stderr, "wspharness: cannot find the bundled scenarios; give "
						"--scenarios PATH\n");
				return EXIT_BAD_INPUT;
			}
			o->scenarios[o->n_scenarios++] = defdir;
		}
		for (size_t i = 0; i < o->n_scenarios; i++) {
			const char *p = o->scenarios[i];
			int rc;
			if (wsph_plat_is_dir(p))
				rc = wsph_scenario_load_dir(suite, p, &diag);
			else if (wsph_plat_file_kind(p) != WSPH_FILE_MISSING) /* refused unless regular */
				rc = wsph_scenario_load_file(suite, p, NULL, &diag);
			else {
				fprintf(stderr, "wspharness: %s: no such file or directory\n", p);
				return EXIT_BAD_INPUT;
			}
			wsph_suite_print_warnings(suite, stderr);
			if (rc != 0) {
				fprintf(stderr, "%s\n", diag.text);
				return EXIT_BAD_INPUT;
			}
		}
	}
	char rules[8192];
	if (o->rules)
		snprintf(rules, sizeof rules, "%s", o->rules);
	else {
		rules[0] = '\0';
		for (size_t i = 0; i < o->n_scenarios && !rules[0]; i++)
			if (wsph_plat_is_dir(o->scenarios[i]) && has_rules(o->scenarios[i]))
				join(rules, sizeof rules, o->scenarios[i], "/rules.yaml", "");
		if (!rules[0] && have_default)
			join(rules, sizeof rules, defdir, "/rules.yaml", "");
		if (!rules[0]) {
			fprintf(stderr, "wspharness: cannot find rules.yaml; give --rules FILE\n");
			return EXIT_BAD_INPUT;
		}
	}
	if (wsph_ruleset_load(set, rules, &diag) != 0 ||
	    wsph_errtable_load_beside(rules, &set->errors, &diag) != 0) {
		fprintf(stderr, "%s\n", diag.text);
		return EXIT_BAD_INPUT;
	}
	if (!need_rules_only && wsph_ruleset_check_suite(set, suite, &diag) != 0) {
		fprintf(stderr, "%s\n", diag.text);
		return EXIT_BAD_INPUT;
	}
	return 0;
}

/* A module the run can use: its path made absolute (a provider that changes the working directory
 * must not change which file the next case loads), the file checked without loading it (loading
 * runs the module's code, which happens only in a child). */
static int usable_module(const char **path, char *buf, size_t len, char *err, size_t errlen)
{
	char abs[4096];
	if (wsph_plat_absolute(*path, abs, sizeof abs) != 0 || strlen(abs) >= len) {
		snprintf(err, errlen, "the path is too long");
		return -1;
	}
	memmove(buf, abs, strlen(abs) + 1);
	*path = buf;
	return wsph_modfile_check(buf, "WSPStartup", err, errlen);
}

static int say(int status, const char *prefix, const char *text)
{
	fprintf(stderr, "%s%s\n", prefix, text);
	return status;
}

/* The numbers from the environment and the run's time limit per case, before anything loads. */
static int run_limits(struct options *o, struct wsph_run_config *cfg)
{
	char err[1024];
	if (wsph_options_env(o, env_get, err, sizeof err) ||
	    wsph_options_timeout_ms(o, &cfg->timeout_ms, err, sizeof err))
		return say(EXIT_BAD_INPUT, "wspharness: ", err);
	cfg->timeout_scale = o->multiplier;
	cfg->cases_per_child = o->cases_per_child;
	cfg->shard_k = o->shard_k;
	cfg->shard_n = o->shard_n;
	cfg->jobs = o->jobs;
	return 0;
}

/* The flags that map one to one onto the run's configuration. */
static void run_config(struct options *o, struct wsph_run_config *cfg,
		       const struct wsph_suite *suite, const struct wsph_ruleset *set)
{
	cfg->provider = o->provider;
	cfg->kinds = o->kinds;
	cfg->filter = o->filter;
	cfg->allow_empty = o->allow_empty;
	cfg->set = set;
	cfg->suite = suite;
	cfg->trace_cap = 65536;
	cfg->layered = o->layered;
	cfg->isolate = !o->no_isolation;
	cfg->child_case = o->child_case;
	cfg->fault_sweep = o->fault_sweep;
	cfg->rule = o->rule;
	cfg->argc = o->argc;
	cfg->argv = o->argv;
	cfg->lower_kind = o->lower_nonifs ? WSPH_KIND_NONIFS : WSPH_KIND_IFS;
	cfg->channel = o->channel;
}

/* --layered: the provider below (the bundled mockbase unless --lower), checked. */
static int run_lower(struct options *o, struct wsph_run_config *cfg, char *lower, size_t len)
{
	char err[1024];
	if (!o->layered)
		return 0;
	if (!o->lower) {
		if (default_provider(lower, len) != 0)
			return say(EXIT_BAD_INPUT, "wspharness: ", "--layered needs --lower DLL (the "
								   "bundled mockbase was not found)");
		o->lower = lower;
	}
	if (usable_module(&o->lower, lower, len, err, sizeof err) != 0) {
		fprintf(stderr, "wspharness: %s: %s\n", o->lower, err);
		return EXIT_BAD_INPUT;
	}
	cfg->lower = o->lower;
	return 0;
}

/* --rule and --guid name something that exists. */
static int run_names(struct options *o, struct wsph_run_config *cfg, const struct wsph_ruleset *set,
		     GUID *guid)
{
	if (o->rule && !wsph_ruleset_find(set, o->rule)) {
		fprintf(stderr, "wspharness: --rule: '%s' is not a rule of rules.yaml\n", o->rule);
		return EXIT_BAD_INPUT;
	}
	if (o->guid) {
		if (wsph_guid_parse(o->guid, guid) != 0) {
			fprintf(stderr, "wspharness: --guid: '%s' is not a GUID like "
					"{5f8a6c3e-1b2d-4e7f-9a10-577068617269}\n", o->guid);
			return EXIT_BAD_INPUT;
		}
		cfg->guid = guid;
	}
	return 0;
}

/* --catalog: the manifest names the provider under test; PROVIDER, when given, must be it. */
static int run_manifest(struct options *o, struct wsph_run_config *cfg, struct wsph_catalog *m)
{
	struct wsph_diag diag;
	if (wsph_catalog_load(m, o->catalog, &diag) != 0)
		return say(EXIT_BAD_INPUT, "", diag.text);
	cfg->manifest = m;
	cfg->layered = m->entries[m->stream_entry].info.ProtocolChain.ChainLen > 1;
	cfg->kinds = wsph_catalog_provider_kind(m, m->entries[m->stream_entry].provider);
	cfg->provider = wsph_catalog_under_test(m)->path;
	return 0;
}

/* The summary and every --report; 0, or EXIT_INTERNAL when a report cannot be written. */
static int run_reports(struct options *o, struct wsph_results *results)
{
	/* A report written to stdout is all that goes there: the summary goes to stderr then. */
	FILE *console = stdout;
	for (size_t i = 0; i < o->n_reports; i++)
		if (!strcmp(o->reports[i].path, "-"))
			console = stderr;
	struct wsph_report_opts ro;
	memset(&ro, 0, sizeof ro);
	ro.color = wsph_term_color(console, o->color >= 0 ? o->color : WSPH_COLOR_AUTO);
	ro.verbose = o->verbose;
	ro.deterministic = o->deterministic;
	ro.trace_cap = 65536;
	if (!o->quiet)
		wsph_report_console(console, results, &ro);
	/* Every report is attempted; each one not written is said (reports/report.c) and exits 3. */
	struct wsph_report_opts jo = ro;
	jo.color = 0;
	size_t unwritten = 0;
	for (size_t i = 0; i < o->n_reports; i++)
		unwritten += wsph_report_write(wsph_outfile_write, o->reports[i].format,
					       o->reports[i].path, results, &jo) != 0;
	return unwritten ? EXIT_INTERNAL : 0;
}

/* Whether --filter selects the scenario in a kind the run makes. */
static int stress_selected(const struct options *o, const struct wsph_scenario *sc)
{
	static const unsigned kinds[2] = {WSPH_KIND_NONIFS, WSPH_KIND_IFS};
	int selected = 0;
	for (int k = 0; k < 2 && !selected; k++) {
		char *id = (o->kinds & kinds[k]) ? wsph_case_id(sc, wsph_kind_name(kinds[k])) : NULL;
		selected = id && (!o->filter || wsph_filter_match(o->filter, id));
		free(id);
	}
	return selected;
}

/* --stress N: the runs of each concurrent scenario (the same in a child, from the same command
 * line), and with -v each run's start offsets. */
static int run_stress(const struct options *o, struct wsph_suite *suite)
{
	char buf[512];
	if (!o->stress)
		return 0;
	if (wsph_stress_expand(suite, o->stress, o->have_seed ? o->seed : WSPH_STRESS_DEFAULT_SEED))
		return say(EXIT_INTERNAL, "wspharness: ", "out of memory");
	for (size_t i = 0; o->verbose && o->child_case < 0 && i < suite->n_scenarios; i++) {
		const struct wsph_scenario *sc = &suite->scenarios[i];
		wsph_stress_describe(sc, buf, sizeof buf);
		if (buf[0] && stress_selected(o, sc))
			printf("stress %s/%s: start offsets %s\n", wsph_suite_of(sc->classname),
			       sc->name, buf);
	}
	return 0;
}

/* Everything the run needs, loaded and checked: 0, or the exit status. */
static int run_prepare(struct options *o, struct wsph_run_config *cfg, struct wsph_suite *suite,
		       struct wsph_ruleset *set, char (*paths)[4096], GUID *guid)
{
	char err[1024];
	if (!o->provider) {
		if (default_provider(paths[0], sizeof paths[0]) != 0)
			return say(EXIT_BAD_INPUT, "wspharness: ", "no PROVIDER given and the bundled "
								   "mockbase provider was not found");
		o->provider = paths[0];
	}
	int status = run_limits(o, cfg);
	if (!status)
		status = load_inputs(o, suite, set, 0);
	if (!status && wsph_options_check_scenarios(o, suite, err, sizeof err))
		status = say(EXIT_BAD_INPUT, "", err);
	if (!status)
		status = run_stress(o, suite);
	if (status)
		return status;
	if (usable_module(&o->provider, paths[0], sizeof paths[0], err, sizeof err) != 0) {
		fprintf(stderr, "wspharness: %s: %s\n", o->provider, err);
		return EXIT_BAD_INPUT;
	}
	run_config(o, cfg, suite, set);
	status = run_names(o, cfg, set, guid);
	if (!status)
		status = run_lower(o, cfg, paths[1], sizeof paths[1]);
	return status;
}

static int cmd_run(struct options *o)
{
	struct wsph_suite suite;
	struct wsph_ruleset set;
	struct wsph_results results;
	struct wsph_run_config cfg;
	struct wsph_catalog manifest;
	char paths[2][4096], err[1024];
	GUID guid;
	static volatile int interrupted;
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	memset(&results, 0, sizeof results);
	memset(&cfg, 0, sizeof cfg);
	int have_manifest = 0;
	int status = run_prepare(o, &cfg, &suite, &set, paths, &guid);
	if (!status && o->catalog)
		have_manifest = (status = run_manifest(o, &cfg, &manifest)) == 0;
	if (status)
		goto out;
	struct wsph_console_progress po;
	memset(&po, 0, sizeof po);
	po.color = wsph_term_color(stderr, o->color >= 0 ? o->color : WSPH_COLOR_AUTO);
	po.tty = wsph_plat_stream_is_tty(stderr);
	po.verbose = o->verbose;
	struct wsph_progress pg = {.on_case = wsph_console_progress, .ctx = &po,
				   .label = wsph_case_label, .tick_line = wsph_console_tick};
	if (!o->quiet && o->child_case < 0) {
		cfg.progress = wsph_progress_case;
		cfg.progress_next = wsph_progress_next;
		cfg.progress_ctx = &pg;
		pg.tick = !po.tty && !o->deterministic;
		if (wsph_progress_start(&pg, err, sizeof err) != 0) {
			status = say(EXIT_BAD_INPUT, "wspharness: ", err);
			goto out;
		}
	}
	if (o->child_case < 0) {
		wsph_plat_catch_interrupts(&interrupted);
		wsph_plat_host_advice();
		cfg.interrupted = &interrupted;
	}
	cfg.bad_input = err;
	cfg.bad_input_len = sizeof err;
	int ran = wsph_run(&cfg, &results);
	wsph_progress_stop();
	if (ran != 0) {
		status = ran == 1 ? say(EXIT_BAD_INPUT, "wspharness: ", err)
				  : say(EXIT_INTERNAL, "wspharness: ", "out of memory");
		goto out;
	}
	if (o->child_case >= 0)
		goto out; /* child mode: the case went to stdout; the parent reports */
	/* The matrix needs the catalogue and the reports the provider's fingerprint (until the
	 * runner fills both in). */
	if (!results.set)
		results.set = &set;
	if (!results.provider_sha256[0])
		wsph_sha256_file(o->provider, results.provider_sha256);
	status = run_reports(o, &results);
	if (status)
		goto out;
	struct wsph_counts counts;
	wsph_results_count(&results, &counts);
	status = counts.failures || counts.errors || interrupted ? EXIT_FAIL : EXIT_PASS;
	if (interrupted)
		fprintf(stderr, "wspharness: interrupted after %zu case(s); the report holds what ran\n",
			results.n_cases);
out:
	wsph_exit_if_abandoned(status); /* a case still runs on another thread: end here */
	wsph_results_free(&results);
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
	if (have_manifest)
		wsph_catalog_free(&manifest);
	return status;
}

/* wspharness explore: the provider, the rules and the limits as run takes them; the rest is
 * explore_cmd.c's. */
static int cmd_explore(struct options *o)
{
	struct wsph_suite suite;
	struct wsph_ruleset set;
	struct wsph_run_config cfg;
	char paths[2][4096], err[1024], defdir[4096], rules[4200];
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	memset(&cfg, 0, sizeof cfg);
	int have_default = default_scenarios(defdir, sizeof defdir) == 0;
	int status = 0;
	if (!o->provider && default_provider(paths[0], sizeof paths[0]) != 0)
		status = say(EXIT_BAD_INPUT, "wspharness: ", "no PROVIDER given and the bundled "
							   "mockbase provider was not found");
	else if (!o->provider)
		o->provider = paths[0];
	if (!status)
		status = run_limits(o, &cfg);
	if (!status)
		status = load_inputs(o, &suite, &set, 1);
	if (!status && usable_module(&o->provider, paths[0], sizeof paths[0], err, sizeof err)) {
		fprintf(stderr, "wspharness: %s: %s\n", o->provider, err);
		status = EXIT_BAD_INPUT;
	}
	if (!status) {
		run_config(o, &cfg, &suite, &set);
		status = run_lower(o, &cfg, paths[1], sizeof paths[1]);
	}
	if (!status && !set.n_rules)
		status = say(EXIT_BAD_INPUT, "wspharness: ", "the rule catalogue has no rule");
	if (!status) {
		snprintf(rules, sizeof rules, "%s%s", o->rules ? o->rules : defdir,
			 o->rules ? "" : "/rules.yaml");
		cfg.bad_input = err;
		cfg.bad_input_len = sizeof err;
		status = wsph_explore_command(o, &cfg, have_default ? defdir : NULL, rules);
	}
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
	return status;
}

/* The cases of one scenario the filter selects, printed; -1 when out of memory. */
static long list_scenario(const struct options *o, const struct wsph_scenario *sc)
{
	long n = 0;
	for (unsigned k = WSPH_KIND_NONIFS; k <= WSPH_KIND_IFS; k <<= 1) {
		if (!(sc->kinds & k) || !(o->kinds & k))
			continue;
		char *id = wsph_case_id(sc, wsph_kind_name(k));
		if (!id)
			return -1;
		if (wsph_filter_match(o->filter, id)) {
			printf("%s  (%s:%d)\n", id, sc->file, sc->loc.line);
			n++;
		}
		free(id);
	}
	return n;
}

static int cmd_list(struct options *o)
{
	if (o->steps) {
		wsph_steps_markdown(stdout);
		return fflush(stdout) ? say(EXIT_INTERNAL, "wspharness: ", "cannot write the steps") : 0;
	}
	struct wsph_suite suite;
	struct wsph_ruleset set;
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	int status = load_inputs(o, &suite, &set, 0);
	long listed = 0;
	for (size_t i = 0; !status && i < suite.n_scenarios; i++) {
		long n = list_scenario(o, &suite.scenarios[i]);
		if (n < 0)
			status = say(EXIT_INTERNAL, "wspharness: ", "out of memory");
		listed += n;
	}
	if (!status && !listed && !o->allow_empty) {
		if (o->filter)
			fprintf(stderr, "wspharness: no case matches --filter '%s'\n", o->filter);
		else
			fprintf(stderr, "wspharness: the scenarios have no case\n");
		status = EXIT_BAD_INPUT;
	}
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
	return status;
}

/* One rule: ID, level, statement, source, status, and what trips and checks it. */
static void print_rule(const struct wsph_rule *r, const struct wsph_suite *suite)
{
	printf("%s  [%s, %s]\n  %s\n  source: %s\n  status: %s\n", r->id, r->level,
	       r->severity == WSPH_SEV_ERROR ? "error" : "warning", r->statement, r->source,
	       wsph_rule_status_name(r));
	if (r->not_checkable) {
		printf("  not checkable: %s\n", r->not_checkable);
		return;
	}
	if (!strcmp(wsph_rule_status_name(r), "every-step")) {
		printf("  checked by: every scenario step that states an expectation\n");
		return;
	}
	printf("  tripped by:");
	for (size_t t = 0; t < r->n_tripped_by; t++)
		printf("%s %s", t ? "," : "", r->tripped_by[t]);
	printf("%s\n", r->n_tripped_by ? "" : " (no faulty provider)");
	printf("  checked by:");
	int any = 0;
	for (size_t s = 0; s < suite->n_scenarios; s++) {
		const struct wsph_scenario *sc = &suite->scenarios[s];
		for (size_t c = 0; c < sc->n_checks; c++)
			if (!strcmp(sc->checks[c], r->id)) {
				char *id = wsph_case_id(sc, NULL);
				printf("%s %s", any ? "," : "", id ? id : sc->name);
				free(id);
				any = 1;
			}
	}
	printf("%s\n", any ? "" : " (no scenario)");
}

/* rules ID...: every ID a rule of the set; each one that is not said with the closest IDs. */
static int known_rules(const struct options *o, const struct wsph_ruleset *set)
{
	const char **ids = malloc((set->n_rules ? set->n_rules : 1) * sizeof *ids);
	int status = 0;
	if (!ids)
		return say(EXIT_INTERNAL, "wspharness: ", "out of memory");
	for (size_t i = 0; i < set->n_rules; i++)
		ids[i] = set->rules[i].id;
	for (size_t i = 0; i < o->n_args; i++) {
		char hint[400];
		if (wsph_ruleset_find(set, o->args[i]))
			continue;
		fprintf(stderr, "wspharness: unknown rule '%s'%s\n", o->args[i],
			wsph_did_you_mean(o->args[i], ids, set->n_rules, hint, sizeof hint));
		status = EXIT_BAD_INPUT;
	}
	free(ids);
	if (status)
		fprintf(stderr, "'wspharness rules' lists every rule.\n");
	return status;
}

static int cmd_rules(struct options *o)
{
	struct wsph_suite suite;
	struct wsph_ruleset set;
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	int status = load_inputs(o, &suite, &set, 0);
	if (!status && o->n_args)
		status = known_rules(o, &set);
	if (status)
		goto out;
	for (size_t i = 0; i < o->n_args; i++)
		print_rule(wsph_ruleset_find(&set, o->args[i]), &suite);
	if (o->n_args)
		goto out;
	printf("Upcalls Exposed by Windows Sockets 2 DLL (%s)\n", set.table_source ? set.table_source : "");
	for (size_t i = 0; i < set.n_rows; i++) {
		const struct wsph_upcall_row *row = &set.rows[i];
		printf("  %-30s %-16s %s\n", row->function, wsph_row_status_name(row->status),
		       row->published && row->published[0] ? row->published : "(blank)");
	}
	printf("\nRules\n");
	for (size_t i = 0; i < set.n_rules; i++)
		print_rule(&set.rules[i], &suite);
out:
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
	return status;
}

/* wspharness show TRACE: a JSON-lines trace printed for people (reports/show.c). */
static int cmd_show(struct options *o)
{
	return wsph_show_trace(o->args[0], stdout);
}

int main(int argc, char **argv)
{
	struct options o;
	wsph_stdout_guard(argc, argv);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(wsph_usage, stdout);
		return EXIT_PASS;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("wspharness %s\n", WSPH_VERSION);
		return EXIT_PASS;
	}
	/* Child mode (isolation on Windows): wspharness --child CHANNEL <the parent's arguments> */
	long child_case = -1;
	const char *channel = NULL;
	char **all_argv = argv;
	int all_argc = argc;
	if (argc >= 3 && !strcmp(argv[1], "--child")) {
		child_case = 0;
		channel = argv[2];
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	char err[1024];
	if (wsph_options_parse(argc, argv, &o, format_known, err, sizeof err))
		return bad_usage(err, argc >= 2 ? wsph_command_find(argv[1]) : 0);
	if (o.help) {
		wsph_options_help(o.cmd, stdout);
		return EXIT_PASS;
	}
	o.child_case = child_case;
	o.channel = channel;
	o.argc = child_case >= 0 ? argc : all_argc;
	o.argv = child_case >= 0 ? argv : all_argv;
	static const struct {
		unsigned cmd;
		int (*fn)(struct options *o);
	} commands[] = {{WSPH_CMD_RUN, cmd_run},
			{WSPH_CMD_LIST, cmd_list},
			{WSPH_CMD_RULES, cmd_rules},
			{WSPH_CMD_SHOW, cmd_show},
			{WSPH_CMD_EXPLORE, cmd_explore}};
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].cmd == o.cmd)
			return commands[i].fn(&o);
	return say(EXIT_INTERNAL, "wspharness: ", "a command without its function");
}
