/* The command line and the numeric environment (harness/options.c): strict numbers in range,
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
