/* wspharness: the command line. Parses flags, calls the runner, maps results to the exit status. */
#include "catalog.h"
#include "driver.h"
#include "platform/platform.h"
#include "report.h"
#include "results.h"
#include "errtable.h"
#include "modfile.h"
#include "ruleset.h"
#include "runner.h"
#include "sha256.h"
#include "scenario.h"
#include "shard.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum exit_status { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_BAD_INPUT = 2, EXIT_INTERNAL = 3 };

#define MAX_PATHS 64

struct options {
	const char *command;
	const char *provider;
	unsigned kinds;
	const char *scenarios[MAX_PATHS];
	size_t n_scenarios;
	const char *rules;
	const char *filter;
	struct {
		const char *format, *path;
		char name[32]; /* --report FORMAT:PATH: FORMAT, which format points to */
	} reports[MAX_PATHS];
	size_t n_reports;
	int quiet, verbose, color; /* color: -1 auto */
	int deterministic;	   /* reports without times, host names or pointer values */
	int layered, lower_nonifs;
	int no_isolation;
	double timeout; /* seconds per scenario, 0: the default */
	long child_case;
	const char *channel; /* child mode: the channel to the parent */
	unsigned jobs;
	int fault_sweep;
	unsigned shard_k, shard_n;
	int have_shard;
	const char *rule;
	int argc;
	char **argv;
	const char *lower, *guid, *catalog;
};

static const char usage[] =
	"usage: wspharness run [PROVIDER] [--ifs|--non-ifs] [--scenarios PATH]... [--rules FILE]\n"
	"                      [--filter GLOB[:GLOB]...] [--report FORMAT:PATH]... [--junit FILE]\n"
	"                      [-q|-v] [--color=WHEN] [--deterministic]\n"
	"                      [--layered [--lower DLL] [--lower-non-ifs] [--guid GUID]]\n"
	"                      [--catalog MANIFEST.yaml] [--timeout SECONDS] [--no-isolation]\n"
	"                      [--fault-sweep] [--rule ID] [--shard K/N] [--jobs N|auto]\n"
	"       wspharness list [--scenarios PATH]... [--filter GLOB]\n"
	"       wspharness rules [--rules FILE] [--scenarios PATH]...\n"
	"       wspharness show TRACE\n"
	"       wspharness --help | --version\n"
	"\n"
	"PROVIDER is a provider DLL (.dll on Windows, .so elsewhere); without it the bundled\n"
	"reference provider (mockbase) is used. --ifs and --non-ifs say what kind of provider it is\n"
	"(XP1_IFS_HANDLES in the protocol information it is started with); give both to run every\n"
	"scenario in both kinds; the default is --non-ifs. Exit status: 0 every scenario passed,\n"
	"1 a rule was broken or the provider failed, 2 bad input, 3 internal error.\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "wspharness: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	return EXIT_BAD_INPUT;
}

static const char *value_of(int argc, char **argv, int *i, const char *flag)
{
	size_t n = strlen(flag);
	if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], flag)) {
		if (*i + 1 >= argc)
			return NULL;
		return argv[++*i];
	}
	return NULL;
}

static int is_flag(const char *arg, const char *flag)
{
	size_t n = strlen(flag);
	return !strncmp(arg, flag, n) && (arg[n] == '\0' || arg[n] == '=');
}

static int parse(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof *o);
	o->jobs = 1;
	o->color = -1;
	if (argc < 2)
		return bad_usage("%s", "no command given");
	o->command = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--ifs"))
			o->kinds |= WSPH_KIND_IFS;
		else if (!strcmp(a, "--non-ifs"))
			o->kinds |= WSPH_KIND_NONIFS;
		else if (!strcmp(a, "--layered"))
			o->layered = 1;
		else if (!strcmp(a, "--lower-non-ifs"))
			o->lower_nonifs = 1;
		else if (!strcmp(a, "--no-isolation"))
			o->no_isolation = 1;
		else if (!strcmp(a, "--fault-sweep"))
			o->fault_sweep = 1;
		else if (is_flag(a, "--rule")) {
			if (!(o->rule = value_of(argc, argv, &i, "--rule")))
				return bad_usage("%s needs a rule ID", "--rule");
		} else if (is_flag(a, "--shard")) {
			const char *v = value_of(argc, argv, &i, "--shard");
			if (!v || wsph_shard_parse(v, &o->shard_k, &o->shard_n) != 0)
				return bad_usage("--shard takes K/N with 0 <= K < N, not '%s'",
						 v ? v : "");
			o->have_shard = 1;
		}
		else if (is_flag(a, "--jobs") || !strncmp(a, "-j", 2)) {
			const char *v = a[1] == 'j' ? (a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL))
						    : value_of(argc, argv, &i, "--jobs");
			char *end = NULL;
			long n = v && strcmp(v, "auto") ? strtol(v, &end, 10) : 0;
			if (!v || (end && (*end || end == v)) || n < 0 || n > 64)
				return bad_usage("--jobs takes a number of processes (0..64) or auto, "
						 "not '%s'", v ? v : "");
			o->jobs = (unsigned)n;
		}
		else if (is_flag(a, "--timeout")) {
			const char *v = value_of(argc, argv, &i, "--timeout");
			char *end = NULL;
			if (!v || (o->timeout = strtod(v, &end)) <= 0 || *end)
				return bad_usage("--timeout takes a number of seconds, not '%s'",
						 v ? v : "");
		}
		else if (is_flag(a, "--lower")) {
			if (!(o->lower = value_of(argc, argv, &i, "--lower")))
				return bad_usage("%s needs a provider DLL", "--lower");
			o->layered = 1;
		} else if (is_flag(a, "--guid")) {
			if (!(o->guid = value_of(argc, argv, &i, "--guid")))
				return bad_usage("%s needs a GUID", "--guid");
		} else if (is_flag(a, "--catalog")) {
			if (!(o->catalog = value_of(argc, argv, &i, "--catalog")))
				return bad_usage("%s needs a manifest file", "--catalog");
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			o->quiet = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			o->verbose = 1;
		else if (!strcmp(a, "--deterministic"))
			o->deterministic = 1;
		else if (is_flag(a, "--scenarios")) {
			const char *v = value_of(argc, argv, &i, "--scenarios");
			if (!v)
				return bad_usage("%s needs a path", "--scenarios");
			if (o->n_scenarios == MAX_PATHS)
				return bad_usage("%s", "too many --scenarios");
			o->scenarios[o->n_scenarios++] = v;
		} else if (is_flag(a, "--rules")) {
			if (!(o->rules = value_of(argc, argv, &i, "--rules")))
				return bad_usage("%s needs a file", "--rules");
		} else if (is_flag(a, "--filter")) {
			if (!(o->filter = value_of(argc, argv, &i, "--filter")))
				return bad_usage("%s needs a pattern", "--filter");
		} else if (is_flag(a, "--report") || is_flag(a, "--junit") || is_flag(a, "--tap") ||
			   is_flag(a, "--trace") || is_flag(a, "--matrix")) {
			/* --report FORMAT:PATH, or the shortcut --FORMAT PATH */
			const char *flag = a, *eq = strchr(a, '=');
			char name[32];
			snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - a : (ptrdiff_t)strlen(a)), a);
			const char *v = value_of(argc, argv, &i, name);
			if (!v)
				return bad_usage("%s needs a value", name);
			if (o->n_reports == MAX_PATHS)
				return bad_usage("%s", "too many reports");
			/* name is a local buffer: the shortcut's format must outlive it */
			static const char *const shortcuts[] = {"junit", "tap", "trace", "matrix"};
			const char *format = NULL, *path = v;
			for (size_t k = 0; k < sizeof shortcuts / sizeof shortcuts[0]; k++)
				if (!strcmp(name + 2, shortcuts[k]))
					format = shortcuts[k];
			char *colon = NULL;
			if (!strcmp(name, "--report")) {
				colon = strchr(v, ':');
				/* "C:\x" is a path, not a format; FORMAT has no backslash or slash */
				if (!colon || colon == v || strcspn(v, "/\\") < (size_t)(colon - v))
					return bad_usage("--report takes FORMAT:PATH, not '%s'", v);
				snprintf(o->reports[o->n_reports].name,
					 sizeof o->reports[o->n_reports].name, "%.*s",
					 (int)(colon - v), v);
				format = o->reports[o->n_reports].name;
				path = colon + 1;
			}
			if (!wsph_reporter_find(format))
				return bad_usage("unknown report format '%s'", format);
			(void)flag;
			o->reports[o->n_reports].format = format;
			o->reports[o->n_reports].path = path;
			o->n_reports++;
		} else if (is_flag(a, "--color")) {
			const char *v = value_of(argc, argv, &i, "--color");
			if (!v || !strcmp(v, "auto"))
				o->color = -1;
			else if (!strcmp(v, "always"))
				o->color = 1;
			else if (!strcmp(v, "never"))
				o->color = 0;
			else
				return bad_usage("--color takes auto, always or never, not '%s'", v);
		} else if (a[0] == '-' && a[1])
			return bad_usage("unknown option '%s'", a);
		else if (!strcmp(o->command, "run") && !o->provider)
			o->provider = a;
		else
			return bad_usage("unexpected argument '%s'", a);
	}
	if (!o->kinds)
		o->kinds = WSPH_KIND_NONIFS;
	return 0;
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
			else if (wsph_plat_is_file(p))
				rc = wsph_scenario_load_file(suite, p, NULL, &diag);
			else {
				fprintf(stderr, "wspharness: %s: no such file or directory\n", p);
				return EXIT_BAD_INPUT;
			}
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

static int cmd_run(struct options *o)
{
	struct wsph_suite suite;
	struct wsph_ruleset set;
	struct wsph_results results;
	char provider[4096], lower[4096], err[1024];
	struct wsph_catalog manifest;
	int have_manifest = 0;
	int status;
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	memset(&results, 0, sizeof results);

	if (!o->provider) {
		if (default_provider(provider, sizeof provider) != 0) {
			fprintf(stderr, "wspharness: no PROVIDER given and the bundled mockbase "
					"provider was not found\n");
			return EXIT_BAD_INPUT;
		}
		o->provider = provider;
	}
	status = load_inputs(o, &suite, &set, 0);
	if (status)
		goto out;
	if (usable_module(&o->provider, provider, sizeof provider, err, sizeof err) != 0) {
		fprintf(stderr, "wspharness: %s: %s\n", o->provider, err);
		status = EXIT_BAD_INPUT;
		goto out;
	}
	struct wsph_run_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.provider = o->provider;
	cfg.kinds = o->kinds;
	cfg.filter = o->filter;
	cfg.set = &set;
	cfg.suite = &suite;
	cfg.trace_cap = 65536;
	cfg.layered = o->layered;
	cfg.isolate = !o->no_isolation;
	cfg.child_case = o->child_case;
	cfg.fault_sweep = o->fault_sweep;
	if (!o->have_shard &&
	    wsph_shard_from_env(getenv("GTEST_SHARD_INDEX"), getenv("GTEST_TOTAL_SHARDS"),
				&o->shard_k, &o->shard_n) < 0) {
		fprintf(stderr, "wspharness: GTEST_SHARD_INDEX and GTEST_TOTAL_SHARDS must both be "
				"set, with 0 <= index < total\n");
		status = EXIT_BAD_INPUT;
		goto out;
	}
	cfg.rule = o->rule;
	if (o->rule && !wsph_ruleset_find(&set, o->rule)) {
		fprintf(stderr, "wspharness: --rule: '%s' is not a rule of rules.yaml\n", o->rule);
		status = EXIT_BAD_INPUT;
		goto out;
	}
	cfg.shard_k = o->shard_k;
	cfg.shard_n = o->shard_n;
	struct wsph_report_opts po;
	memset(&po, 0, sizeof po);
	po.color = o->color >= 0 ? o->color : WSPH_COLOR_AUTO;
	po.verbose = o->verbose;
	if (!o->quiet && o->child_case < 0) {
		cfg.progress = wsph_console_progress;
		cfg.progress_ctx = &po;
	}
	cfg.argc = o->argc;
	cfg.argv = o->argv;
	{
		/* per scenario: 10 s by default, --timeout, times WSPHARNESS_TIMEOUT_MULTIPLIER */
		double t = o->timeout > 0 ? o->timeout : 10.0;
		const char *mul = getenv("WSPHARNESS_TIMEOUT_MULTIPLIER");
		if (mul && atof(mul) > 0) {
			t *= atof(mul);
			cfg.timeout_scale = atof(mul);
		}
		cfg.timeout_ms = (unsigned)(t * 1000.0);
		cfg.jobs = o->jobs;
	}
	cfg.lower_kind = o->lower_nonifs ? WSPH_KIND_NONIFS : WSPH_KIND_IFS;
	GUID guid;
	if (o->guid) {
		if (wsph_guid_parse(o->guid, &guid) != 0) {
			fprintf(stderr, "wspharness: --guid: '%s' is not a GUID like "
					"{5f8a6c3e-1b2d-4e7f-9a10-577068617269}\n", o->guid);
			status = EXIT_BAD_INPUT;
			goto out;
		}
		cfg.guid = &guid;
	}
	if (o->layered) {
		if (!o->lower) {
			if (default_provider(lower, sizeof lower) != 0) {
				fprintf(stderr, "wspharness: --layered needs --lower DLL (the bundled "
						"mockbase was not found)\n");
				status = EXIT_BAD_INPUT;
				goto out;
			}
			o->lower = lower;
		}
		if (usable_module(&o->lower, lower, sizeof lower, err, sizeof err) != 0) {
			fprintf(stderr, "wspharness: %s: %s\n", o->lower, err);
			status = EXIT_BAD_INPUT;
			goto out;
		}
		cfg.lower = o->lower;
	}
	if (o->catalog) {
		struct wsph_diag diag;
		if (wsph_catalog_load(&manifest, o->catalog, &diag) != 0) {
			fprintf(stderr, "%s\n", diag.text);
			status = EXIT_BAD_INPUT;
			goto out;
		}
		have_manifest = 1;
		cfg.manifest = &manifest;
		cfg.layered = manifest.entries[manifest.stream_entry].info.ProtocolChain.ChainLen > 1;
		cfg.kinds = wsph_catalog_provider_kind(&manifest,
						       manifest.entries[manifest.stream_entry].provider);
		/* The manifest names the provider under test; PROVIDER, when given, must be it. */
		cfg.provider = wsph_catalog_under_test(&manifest)->path;
	}
	static volatile int interrupted;
	if (o->child_case < 0) {
		wsph_plat_catch_interrupts(&interrupted);
		wsph_plat_host_advice();
		cfg.interrupted = &interrupted;
	}
	cfg.channel = o->channel;
	cfg.bad_input = err;
	cfg.bad_input_len = sizeof err;
	int ran = wsph_run(&cfg, &results);
	if (ran == 1) {
		fprintf(stderr, "wspharness: %s\n", err);
		status = EXIT_BAD_INPUT;
		goto out;
	}
	if (ran != 0) {
		fprintf(stderr, "wspharness: out of memory\n");
		status = EXIT_INTERNAL;
		goto out;
	}
	if (o->child_case >= 0) {
		/* child mode: the case went to stdout; the parent reports */
		status = EXIT_PASS;
		goto out;
	}
	/* The matrix needs the catalogue and the reports the provider's fingerprint (until the
	 * runner fills both in). */
	if (!results.set)
		results.set = &set;
	if (!results.provider_sha256[0])
		wsph_sha256_file(o->provider, results.provider_sha256);
	/* A report written to stdout is all that goes there: the summary goes to stderr then. */
	FILE *console = stdout;
	for (size_t i = 0; i < o->n_reports; i++)
		if (!strcmp(o->reports[i].path, "-"))
			console = stderr;
	struct wsph_report_opts ro;
	memset(&ro, 0, sizeof ro);
	ro.color = wsph_console_color(console, o->color >= 0 ? o->color : WSPH_COLOR_AUTO);
	ro.verbose = o->verbose;
	ro.deterministic = o->deterministic;
	ro.trace_cap = 65536;
	if (!o->quiet)
		wsph_report_console(console, &results, &ro);
	for (size_t i = 0; i < o->n_reports; i++) {
		struct wsph_report_opts jo = ro;
		jo.color = 0;
		if (wsph_report_to_path(o->reports[i].path, wsph_reporter_find(o->reports[i].format),
					&results, &jo) != 0) {
			fprintf(stderr, "wspharness: cannot write %s\n", o->reports[i].path);
			status = EXIT_INTERNAL;
			goto out;
		}
	}
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

static int cmd_list(struct options *o)
{
	struct wsph_suite suite;
	struct wsph_ruleset set;
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	int status = load_inputs(o, &suite, &set, 0);
	if (!status) {
		char id[512];
		for (size_t i = 0; i < suite.n_scenarios; i++) {
			const struct wsph_scenario *sc = &suite.scenarios[i];
			for (unsigned k = WSPH_KIND_NONIFS; k <= WSPH_KIND_IFS; k <<= 1) {
				if (!(sc->kinds & k))
					continue;
				wsph_case_id(sc, wsph_kind_name(k), id, sizeof id);
				if (wsph_filter_match(o->filter, id))
					printf("%s  (%s:%d)\n", id, sc->file, sc->loc.line);
			}
		}
	}
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
	return status;
}

static int cmd_rules(struct options *o)
{
	struct wsph_suite suite;
	struct wsph_ruleset set;
	memset(&suite, 0, sizeof suite);
	memset(&set, 0, sizeof set);
	int status = load_inputs(o, &suite, &set, 0);
	if (status)
		goto out;
	printf("Upcalls Exposed by Windows Sockets 2 DLL (%s)\n", set.table_source ? set.table_source : "");
	for (size_t i = 0; i < set.n_rows; i++) {
		const struct wsph_upcall_row *row = &set.rows[i];
		printf("  %-30s %-16s %s\n", row->function, wsph_row_status_name(row->status),
		       row->published && row->published[0] ? row->published : "(blank)");
	}
	printf("\nRules\n");
	for (size_t i = 0; i < set.n_rules; i++) {
		const struct wsph_rule *r = &set.rules[i];
		printf("%s  [%s, %s]\n  %s\n  source: %s\n  status: %s\n", r->id, r->level,
		       r->severity == WSPH_SEV_ERROR ? "error" : "warning", r->statement, r->source,
		       wsph_rule_status_name(r));
		if (r->not_checkable) {
			printf("  not checkable: %s\n", r->not_checkable);
			continue;
		}
		if (!strcmp(wsph_rule_status_name(r), "every-step")) {
			printf("  checked by: every scenario step that states an expectation\n");
			continue;
		}
		printf("  tripped by:");
		for (size_t t = 0; t < r->n_tripped_by; t++)
			printf("%s %s", t ? "," : "", r->tripped_by[t]);
		printf("%s\n", r->n_tripped_by ? "" : " (no faulty provider)");
		printf("  checked by:");
		int any = 0;
		for (size_t s = 0; s < suite.n_scenarios; s++) {
			const struct wsph_scenario *sc = &suite.scenarios[s];
			for (size_t c = 0; c < sc->n_checks; c++)
				if (!strcmp(sc->checks[c], r->id)) {
					char id[512];
					wsph_case_id(sc, "", id, sizeof id);
					id[strlen(id) - 2] = '\0'; /* drop the empty "[]" */
					printf("%s %s", any ? "," : "", id);
					any = 1;
				}
		}
		printf("%s\n", any ? "" : " (no scenario)");
	}
out:
	wsph_ruleset_free(&set);
	wsph_suite_free(&suite);
	return status;
}

/* wspharness show TRACE: a JSON-lines trace printed for people (reports/show.c). */
static int cmd_show(int argc, char **argv)
{
	if (argc != 3 || argv[2][0] == '-')
		return bad_usage("%s", "show takes one argument: a trace file (--trace FILE)");
	return wsph_show_trace(argv[2], stdout);
}

int main(int argc, char **argv)
{
	struct options o;
	wsph_stdout_guard(argc, argv);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return EXIT_PASS;
	}
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("wspharness %s\n", WSPH_VERSION);
		return EXIT_PASS;
	}
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return cmd_show(argc, argv);
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
	int rc = parse(argc, argv, &o);
	if (rc)
		return rc;
	o.child_case = child_case;
	o.channel = channel;
	o.argc = child_case >= 0 ? argc : all_argc;
	o.argv = child_case >= 0 ? argv : all_argv;
	if (!strcmp(o.command, "run"))
		return cmd_run(&o);
	if (!strcmp(o.command, "list"))
		return cmd_list(&o);
	if (!strcmp(o.command, "rules"))
		return cmd_rules(&o);
	return bad_usage("unknown command '%s'", o.command);
}
