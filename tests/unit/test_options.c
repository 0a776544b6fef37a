/* The command line and the numeric environment (cli/options.c): strict numbers in range,
 * flags into struct options, the time limits' product. */
#include "options.h"
#include "scenario.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>

Test(num, accepts_numbers_in_range)
{
	char err[256];
	double v = -1;
	cr_assert_eq(wsph_num_parse(WSPH_NUM_TIMEOUT, "0.001", &v, err, sizeof err), 0);
	cr_assert_eq(wsph_num_parse(WSPH_NUM_TIMEOUT, "86400", &v, err, sizeof err), 0);
	cr_assert_eq(v, 86400);
	cr_assert_eq(wsph_num_parse(WSPH_NUM_TIMEOUT, "2.5e1", &v, err, sizeof err), 0);
	cr_assert_eq(v, 25);
	cr_assert_eq(wsph_num_parse(WSPH_NUM_TIMEOUT, ".5", &v, err, sizeof err), 0);
	cr_assert_eq(wsph_num_parse(WSPH_NUM_MULTIPLIER, "1000", &v, err, sizeof err), 0);
	cr_assert_eq(wsph_num_parse(WSPH_NUM_JOBS, "64", &v, err, sizeof err), 0);
	cr_assert_eq(wsph_num_parse(WSPH_NUM_CASES_PER_CHILD, "0", &v, err, sizeof err), 0);
}

Test(num, refuses_everything_else_naming_the_range)
{
	static const struct {
		enum wsph_num n;
		const char *text;
	} bad[] = {
		{WSPH_NUM_TIMEOUT, "inf"},	{WSPH_NUM_TIMEOUT, "nan"},   {WSPH_NUM_TIMEOUT, "1e308"},
		{WSPH_NUM_TIMEOUT, "1e400"},	{WSPH_NUM_TIMEOUT, "4294968"}, {WSPH_NUM_TIMEOUT, "0"},
		{WSPH_NUM_TIMEOUT, "-1"},	{WSPH_NUM_TIMEOUT, ""},	     {WSPH_NUM_TIMEOUT, " 5"},
		{WSPH_NUM_TIMEOUT, "5 "},	{WSPH_NUM_TIMEOUT, "5s"},    {WSPH_NUM_TIMEOUT, "0x10"},
		{WSPH_NUM_TIMEOUT, "."},	{WSPH_NUM_TIMEOUT, "1e"},    {WSPH_NUM_TIMEOUT, "+5"},
		{WSPH_NUM_MULTIPLIER, "1e300"}, {WSPH_NUM_MULTIPLIER, ""},   {WSPH_NUM_MULTIPLIER, "0"},
		{WSPH_NUM_MULTIPLIER, "0.001"}, {WSPH_NUM_JOBS, "65"},	     {WSPH_NUM_JOBS, "1.5"},
		{WSPH_NUM_JOBS, "-1"},		{WSPH_NUM_JOBS, "99999999999999999999"},
		{WSPH_NUM_CASES_PER_CHILD, "-1"}, {WSPH_NUM_GTEST_TOTAL, "0"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char err[256] = "";
		double v = 7;
		cr_assert_eq(wsph_num_parse(bad[k].n, bad[k].text, &v, err, sizeof err), -1, "'%s'",
			     bad[k].text);
		cr_assert_eq(v, 7);
		cr_assert(strstr(err, " must be ") && strstr(err, " from ") && strstr(err, bad[k].text),
			  "%s", err);
	}
	char err[256];
	double v;
	wsph_num_parse(WSPH_NUM_TIMEOUT, "inf", &v, err, sizeof err);
	cr_assert_str_eq(err, "--timeout must be a number of seconds from 0.001 to 86400, not 'inf'");
	wsph_num_parse(WSPH_NUM_MULTIPLIER, "x", &v, err, sizeof err);
	cr_assert_str_eq(err, "WSPHARNESS_TIMEOUT_MULTIPLIER must be a number from 0.01 to 1000, not 'x'");
}

static int parse(struct options *o, char *err, size_t len, ...)
{
	char *argv[32] = {"wspharness"};
	int argc = 1;
	va_list ap;
	va_start(ap, len);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[argc++] = a;
	va_end(ap);
	return wsph_options_parse(argc, argv, o, NULL, err, len);
}

Test(options, parses_flags)
{
	struct options o;
	char err[256];
	cr_assert_eq(parse(&o, err, sizeof err, "run", "prov.so", "--ifs", "--timeout=2.5", "-j4",
			   "--filter", "a*:-*[ifs]", "--allow-empty", "--shard", "1/3", "--junit",
			   "j.xml", "--report", "tap:-", "--color", "never", "-q", NULL),
		     0, "%s", err);
	cr_assert_str_eq(o.command, "run");
	cr_assert_str_eq(o.provider, "prov.so");
	cr_assert_eq(o.kinds, WSPH_KIND_IFS);
	cr_assert_eq(o.timeout, 2.5);
	cr_assert_eq(o.jobs, 4);
	cr_assert_str_eq(o.filter, "a*:-*[ifs]");
	cr_assert(o.allow_empty && o.quiet && o.have_shard && o.shard_k == 1 && o.shard_n == 3);
	cr_assert_eq(o.n_reports, 2);
	cr_assert_str_eq(o.reports[1].format, "tap");
	cr_assert_str_eq(o.reports[1].path, "-");
	cr_assert_eq(o.color, 0);
}

Test(options, refuses_bad_flags)
{
	struct options o;
	char err[256];
	cr_assert_eq(parse(&o, err, sizeof err, NULL), 2);
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--timeout", "inf", NULL), 2);
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--timeout", NULL), 2);
	cr_assert_str_eq(err, "--timeout needs a number of seconds");
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--filter", "", NULL), 2);
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--ifs=1", NULL), 2);
	cr_assert_str_eq(err, "unknown option '--ifs=1'");
	cr_assert_eq(parse(&o, err, sizeof err, "list", "extra", NULL), 2);
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--shard", "3/3", NULL), 2);
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--report", "junit.xml", NULL), 2);
}

static const char *env_k, *env_v, *env_k2, *env_v2;
static const char *fake_env(const char *name)
{
	if (env_k && !strcmp(name, env_k))
		return env_v;
	if (env_k2 && !strcmp(name, env_k2))
		return env_v2;
	return NULL;
}

Test(options, environment_and_time_limits)
{
	struct options o;
	char err[512];
	unsigned ms = 0;
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--timeout", "100", NULL), 0);
	env_k = "WSPHARNESS_TIMEOUT_MULTIPLIER";
	env_v = "2";
	cr_assert_eq(wsph_options_env(&o, fake_env, err, sizeof err), 0);
	cr_assert_eq(wsph_options_timeout_ms(&o, &ms, err, sizeof err), 0);
	cr_assert_eq(ms, 200000);
	env_v = "1000";
	cr_assert_eq(wsph_options_env(&o, fake_env, err, sizeof err), 0);
	cr_assert_eq(wsph_options_timeout_ms(&o, &ms, err, sizeof err), 2);
	cr_assert(strstr(err, "100000 s") != NULL, "%s", err);
	env_v = "1e300";
	cr_assert_eq(wsph_options_env(&o, fake_env, err, sizeof err), 2);

	/* a scenario's own timeout: times the multiplier, placed at the scenario */
	struct wsph_scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.loc.file = "s.yaml";
	sc.loc.line = 3;
	sc.loc.col = 5;
	sc.timeout = 3600;
	struct wsph_suite suite;
	memset(&suite, 0, sizeof suite);
	suite.scenarios = &sc;
	suite.n_scenarios = 1;
	o.multiplier = 24;
	cr_assert_eq(wsph_options_check_scenarios(&o, &suite, err, sizeof err), 0);
	o.multiplier = 25;
	cr_assert_eq(wsph_options_check_scenarios(&o, &suite, err, sizeof err), 2);
	cr_assert(!strncmp(err, "s.yaml:3:5: ", 12), "%s", err);

	env_k = "GTEST_SHARD_INDEX";
	env_v = "2";
	env_k2 = "GTEST_TOTAL_SHARDS";
	env_v2 = "3";
	cr_assert_eq(parse(&o, err, sizeof err, "run", NULL), 0);
	cr_assert_eq(wsph_options_env(&o, fake_env, err, sizeof err), 0);
	cr_assert(o.shard_k == 2 && o.shard_n == 3);
	env_v2 = "2";
	cr_assert_eq(wsph_options_env(&o, fake_env, err, sizeof err), 2);
	env_v2 = "x";
	cr_assert_eq(wsph_options_env(&o, fake_env, err, sizeof err), 2);
	cr_assert_str_eq(err, "GTEST_TOTAL_SHARDS must be a whole number from 1 to 1000000, not 'x'");
}

/* ---- the commands and which flags each takes (the flag table's rows) ---- */

Test(commands, each_flag_row_names_the_commands_that_take_it)
{
	static const struct {
		const char *flag;
		unsigned cmds;
	} rows[] = {
		{"--help", WSPH_CMD_RUN | WSPH_CMD_LIST | WSPH_CMD_RULES | WSPH_CMD_SHOW},
		{"-h", WSPH_CMD_RUN | WSPH_CMD_LIST | WSPH_CMD_RULES | WSPH_CMD_SHOW},
		{"--ifs", WSPH_CMD_RUN | WSPH_CMD_LIST},
		{"--non-ifs", WSPH_CMD_RUN | WSPH_CMD_LIST},
		{"--scenarios", WSPH_CMD_RUN | WSPH_CMD_LIST | WSPH_CMD_RULES},
		{"--rules=x", WSPH_CMD_RUN | WSPH_CMD_LIST | WSPH_CMD_RULES},
		{"--filter", WSPH_CMD_RUN | WSPH_CMD_LIST},
		{"--allow-empty", WSPH_CMD_RUN | WSPH_CMD_LIST},
		{"--rule", WSPH_CMD_RUN},
		{"--junit", WSPH_CMD_RUN},
		{"--trace", WSPH_CMD_RUN},
		{"--deterministic", WSPH_CMD_RUN},
		{"--timeout=3", WSPH_CMD_RUN},
		{"-j4", WSPH_CMD_RUN},
		{"-q", WSPH_CMD_RUN},
		{"--color", WSPH_CMD_RUN},
	};
	static const unsigned all[] = {WSPH_CMD_RUN, WSPH_CMD_LIST, WSPH_CMD_RULES, WSPH_CMD_SHOW};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
		for (size_t c = 0; c < 4; c++)
			cr_assert_eq(wsph_options_applies(rows[k].flag, all[c]),
				     (rows[k].cmds & all[c]) != 0, "%s, command %u", rows[k].flag,
				     all[c]);
	cr_assert_eq(wsph_options_applies("--bogus", WSPH_CMD_RUN), -1);
	cr_assert_eq(wsph_options_applies("--ifs=1", WSPH_CMD_RUN), -1);
	cr_assert_eq(wsph_command_find("rules"), WSPH_CMD_RULES);
	cr_assert_eq(wsph_command_find("runn"), 0);
}

Test(commands, a_flag_a_command_does_not_take_is_named_with_the_commands_that_do)
{
	struct options o;
	char err[256];
	cr_assert_eq(parse(&o, err, sizeof err, "list", "--non-ifs", "--junit", "j.xml", NULL), 2);
	cr_assert_str_eq(err, "--junit does not apply to 'list' (only to 'run')");
	cr_assert_eq(parse(&o, err, sizeof err, "rules", "--filter=x", NULL), 2);
	cr_assert_str_eq(err, "--filter does not apply to 'rules' (only to 'run' and 'list'; to "
			      "print a rule: wspharness rules ID...)");
	cr_assert_eq(parse(&o, err, sizeof err, "show", "t", "--scenarios", "s", NULL), 2);
	cr_assert_str_eq(err, "--scenarios does not apply to 'show' (only to 'run', 'list' and "
			      "'rules')");
	cr_assert_eq(parse(&o, err, sizeof err, "list", "-j", "2", NULL), 2);
	cr_assert_str_eq(err, "-j does not apply to 'list' (only to 'run')");
}

Test(commands, arguments_help_and_kinds)
{
	struct options o;
	char err[256];
	cr_assert_eq(parse(&o, err, sizeof err, "rules", "A.B", "C.D", "--rules", "r.yaml", NULL), 0,
		     "%s", err);
	cr_assert(o.cmd == WSPH_CMD_RULES && o.n_args == 2 && !strcmp(o.args[1], "C.D"));
	cr_assert_eq(parse(&o, err, sizeof err, "run", "p.so", "q.so", NULL), 2);
	cr_assert_str_eq(err, "unexpected argument 'q.so' ('run' takes one PROVIDER, given as 'p.so')");
	cr_assert_eq(parse(&o, err, sizeof err, "list", "p.so", NULL), 2);
	cr_assert_str_eq(err, "unexpected argument 'p.so' ('list' takes options only)");
	cr_assert_eq(parse(&o, err, sizeof err, "show", NULL), 2);
	cr_assert_str_eq(err, "'show' needs a TRACE (a file written by run --trace FILE)");
	cr_assert_eq(parse(&o, err, sizeof err, "show", "--help", NULL), 0);
	cr_assert(o.help && o.cmd == WSPH_CMD_SHOW);
	cr_assert_eq(parse(&o, err, sizeof err, "run", "-h", "--bogus", NULL), 0);
	cr_assert(o.help);
	cr_assert_eq(parse(&o, err, sizeof err, "list", NULL), 0);
	cr_assert_eq(o.kinds, WSPH_KIND_ALL);
	cr_assert_eq(parse(&o, err, sizeof err, "list", "--ifs", NULL), 0);
	cr_assert_eq(o.kinds, WSPH_KIND_IFS);
	cr_assert_eq(parse(&o, err, sizeof err, "run", NULL), 0);
	cr_assert_eq(o.kinds, WSPH_KIND_NONIFS);
	cr_assert_eq(parse(&o, err, sizeof err, "runn", "x.so", NULL), 2);
	cr_assert_str_eq(err, "unknown command 'runn' (did you mean 'run'?)");
	cr_assert_eq(parse(&o, err, sizeof err, "run", "--non-if", NULL), 2);
	cr_assert_str_eq(err, "unknown option '--non-if' (did you mean '--non-ifs'?)");
}

Test(commands, help_lists_the_rows_a_command_takes)
{
	static char text[8192];
	FILE *f = tmpfile();
	cr_assert(f != NULL);
	wsph_options_help(WSPH_CMD_LIST, f);
	rewind(f);
	text[fread(text, 1, sizeof text - 1, f)] = '\0';
	fclose(f);
	cr_assert(!strncmp(text, "usage: wspharness list", 22), "%s", text);
	cr_assert(strstr(text, "\n  --filter GLOB[:GLOB]...") && strstr(text, "\n  --allow-empty"),
		  "%s", text);
	cr_assert(!strstr(text, "--junit") && !strstr(text, "--timeout"), "%s", text);
}

Test(commands, closest_names)
{
	static const char *const ids[] = {"SPI.Startup.RefCount", "SPI.Startup.SingleExport",
					  "WPU.CloseSocketHandle.OnClose"};
	char buf[200];
	cr_assert_str_eq(wsph_did_you_mean("spi.startup.refcount", ids, 3, buf, sizeof buf),
			 " (did you mean 'SPI.Startup.RefCount'?)");
	cr_assert_str_eq(wsph_did_you_mean("SPI.Startup", ids, 3, buf, sizeof buf),
			 " (did you mean 'SPI.Startup.RefCount' or 'SPI.Startup.SingleExport'?)");
	cr_assert_str_eq(wsph_did_you_mean("Nothing.Like.It", ids, 3, buf, sizeof buf), "");
	cr_assert_str_eq(wsph_did_you_mean("SPI.Startup.RefCount", ids, 3, buf, sizeof buf), "");
}
