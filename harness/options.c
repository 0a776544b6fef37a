/* The command line and the numeric environment variables (options.h): tables of flags and of
 * numbers, parsed strictly, with no I/O. */
#include "options.h"

#include "filter.h"
#include "scenario.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OK = 0, BAD = 2 };

const char wsph_usage[] =
	"usage: wspharness run [PROVIDER] [--ifs|--non-ifs] [--scenarios PATH]... [--rules FILE]\n"
	"                      [--filter GLOB[:GLOB]...] [--allow-empty] [--report FORMAT:PATH]...\n"
	"                      [--junit FILE] [-q|-v] [--color=WHEN] [--deterministic]\n"
	"                      [--layered [--lower DLL] [--lower-non-ifs] [--guid GUID]]\n"
	"                      [--catalog MANIFEST.yaml] [--timeout SECONDS] [--no-isolation]\n"
	"                      [--fault-sweep] [--rule ID] [--shard K/N] [--jobs N|auto]\n"
	"       wspharness list [--scenarios PATH]... [--filter GLOB[:GLOB]...] [--allow-empty]\n"
	"       wspharness rules [--rules FILE] [--scenarios PATH]...\n"
	"       wspharness show TRACE\n"
	"       wspharness --help | --version\n"
	"\n"
	"PROVIDER is a provider DLL (.dll on Windows, .so elsewhere); without it the bundled\n"
	"reference provider (mockbase) is used. --ifs and --non-ifs say what kind of provider it is\n"
	"(XP1_IFS_HANDLES in the protocol information it is started with); give both to run every\n"
	"scenario in both kinds; the default is --non-ifs.\n"
	"--filter selects cases by glob (* and ?) over <suite>/<scenario>[<kind>]; a case is run\n"
	"when it matches one glob (or every glob starts with -) and no glob that starts with -:\n"
	"--filter 'sockets.*:-*[ifs]'. A selection of no case is bad input unless --allow-empty.\n"
	"--timeout is 0.001 to 86400 seconds per scenario (default 10; a scenario's own timeout:\n"
	"wins), times WSPHARNESS_TIMEOUT_MULTIPLIER (0.01 to 1000); the product too must be at most\n"
	"86400 s. --jobs is 0 to 64 (0 or auto: one per processor); --shard K/N has N <= 1000000.\n"
	"Exit status: 0 every scenario passed, 1 a rule was broken or the provider failed,\n"
	"2 bad input, 3 internal error.\n";

/* ---- numbers ---- */

struct num_spec {
	const char *name, *what;
	double min, max;
	int whole;	  /* digits only */
	const char *alt; /* another accepted word, said in the message ("" if none) */
};

static const struct num_spec nums[WSPH_NUM_COUNT] = {
	[WSPH_NUM_TIMEOUT] = {"--timeout", "a number of seconds", 0.001, 86400, 0, ""},
	[WSPH_NUM_MULTIPLIER] = {"WSPHARNESS_TIMEOUT_MULTIPLIER", "a number", 0.01, 1000, 0, ""},
	[WSPH_NUM_JOBS] = {"--jobs", "a number of processes", 0, 64, 1, " or auto"},
	[WSPH_NUM_SHARD_INDEX] = {"--shard K", "a whole number", 0, 999999, 1, ""},
	[WSPH_NUM_SHARD_TOTAL] = {"--shard N", "a whole number", 1, 1000000, 1, ""},
	[WSPH_NUM_GTEST_INDEX] = {"GTEST_SHARD_INDEX", "a whole number", 0, 999999, 1, ""},
	[WSPH_NUM_GTEST_TOTAL] = {"GTEST_TOTAL_SHARDS", "a whole number", 1, 1000000, 1, ""},
	[WSPH_NUM_CASES_PER_CHILD] = {"WSPHARNESS_CASES_PER_CHILD", "a whole number of cases", 0,
				      1000000, 1, ""},
	[WSPH_NUM_TRACE_MEM] = {"WSPH_TRACE_MEM_EVENTS", "a whole number of events", 0, 16777216, 1,
				" (0: the default)"},
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return BAD;
}

/* Digits, and for a double one '.' and an exponent: what strtod may then read, all of it. */
static int looks_decimal(const char *s, int whole)
{
	size_t digits = strspn(s, "0123456789");
	if (whole)
		return digits > 0 && s[digits] == '\0';
	const char *p = s + digits;
	if (*p == '.') {
		size_t frac = strspn(p + 1, "0123456789");
		digits += frac;
		p += 1 + frac;
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '+' || p[1] == '-');
		size_t exp = strspn(p, "0123456789");
		if (!exp)
			return 0;
		p += exp;
	}
	return *p == '\0';
}

int wsph_num_parse(enum wsph_num which, const char *text, double *out, char *err, size_t errlen)
{
	const struct num_spec *n = &nums[which];
	double v = 0;
	if (text && looks_decimal(text, n->whole)) {
		/* digits only for a whole number: at most max, read without overflow */
		if (n->whole && strlen(text) > 9)
			v = n->max + 1;
		else
			v = strtod(text, NULL);
		if (isfinite(v) && v >= n->min && v <= n->max) {
			*out = v;
			return 0;
		}
	}
	fail(err, errlen, "%s must be %s from %.15g to %.15g%s, not '%s'", n->name, n->what, n->min,
	     n->max, n->alt, text ? text : "");
	return -1;
}

/* ---- flags ---- */

struct parser {
	int argc;
	char **argv;
	int i;
	struct options *o;
	int (*format_known)(const char *format);
	char *err;
	size_t errlen;
};

struct flag;
typedef int (*flag_fn)(struct parser *p, const struct flag *f, const char *v);

struct flag {
	const char *name;
	const char *needs; /* the value it takes, for "--x needs ..." (NULL: a switch) */
	flag_fn fn;
	const char *absent; /* the value when none follows (NULL: the value is required) */
	size_t field;	    /* set_switch, set_string: offsetof the int or const char * it sets */
};

#define FIELD(name) offsetof(struct options, name)

static int set_kind(struct parser *p, const struct flag *f, const char *v)
{
	(void)v;
	p->o->kinds |= !strcmp(f->name, "--ifs") ? WSPH_KIND_IFS : WSPH_KIND_NONIFS;
	return OK;
}

/* A switch: its int field to 1. */
static int set_switch(struct parser *p, const struct flag *f, const char *v)
{
	(void)v;
	*(int *)((char *)p->o + f->field) = 1;
	return OK;
}

/* A value kept as given, in its const char * field. */
static int set_string(struct parser *p, const struct flag *f, const char *v)
{
	*(const char **)((char *)p->o + f->field) = v;
	p->o->layered |= !strcmp(f->name, "--lower");
	return OK;
}

static int set_scenarios(struct parser *p, const struct flag *f, const char *v)
{
	(void)f;
	if (p->o->n_scenarios == WSPH_MAX_PATHS)
		return fail(p->err, p->errlen, "too many --scenarios (at most %d)", WSPH_MAX_PATHS);
	p->o->scenarios[p->o->n_scenarios++] = v;
	return OK;
}

static int set_filter(struct parser *p, const struct flag *f, const char *v)
{
	(void)f;
	if (wsph_filter_check(v, p->err, p->errlen) != 0)
		return BAD;
	p->o->filter = v;
	return OK;
}

static int set_timeout(struct parser *p, const struct flag *f, const char *v)
{
	(void)f;
	return wsph_num_parse(WSPH_NUM_TIMEOUT, v, &p->o->timeout, p->err, p->errlen) ? BAD : OK;
}

static int set_jobs(struct parser *p, const struct flag *f, const char *v)
{
	double n = 0;
	(void)f;
	if (strcmp(v, "auto") && wsph_num_parse(WSPH_NUM_JOBS, v, &n, p->err, p->errlen))
		return BAD;
	p->o->jobs = (unsigned)n;
	return OK;
}

/* K/N, each a whole number, K < N. */
static int parse_shard(const char *v, enum wsph_num nk, enum wsph_num nn, unsigned *k, unsigned *n,
		       char *err, size_t errlen)
{
	const char *slash = strchr(v, '/');
	char kbuf[16];
	double dk, dn;
	if (!slash || (size_t)(slash - v) >= sizeof kbuf)
		return -1;
	memcpy(kbuf, v, (size_t)(slash - v));
	kbuf[slash - v] = '\0';
	if (wsph_num_parse(nk, kbuf, &dk, err, errlen) || wsph_num_parse(nn, slash + 1, &dn, err, errlen) ||
	    dk >= dn)
		return -1;
	*k = (unsigned)dk;
	*n = (unsigned)dn;
	return 0;
}

static int set_shard(struct parser *p, const struct flag *f, const char *v)
{
	(void)f;
	if (parse_shard(v, WSPH_NUM_SHARD_INDEX, WSPH_NUM_SHARD_TOTAL, &p->o->shard_k,
			&p->o->shard_n, p->err, p->errlen))
		return fail(p->err, p->errlen, "--shard takes K/N with 0 <= K < N <= %.15g, not '%s'",
			    nums[WSPH_NUM_SHARD_TOTAL].max, v);
	p->o->have_shard = 1;
	return OK;
}

static int set_color(struct parser *p, const struct flag *f, const char *v)
{
	static const char *const words[] = {"never", "always", "auto"};
	(void)f;
	for (int k = 0; k < 3; k++)
		if (!strcmp(v, words[k])) {
			p->o->color = k < 2 ? k : -1;
			return OK;
		}
	return fail(p->err, p->errlen, "--color takes auto, always or never, not '%s'", v);
}

/* --report FORMAT:PATH, or the shortcut --FORMAT PATH. */
static int set_report(struct parser *p, const struct flag *f, const char *v)
{
	static const char *const shortcuts[] = {"junit", "tap", "trace", "matrix"};
	struct options *o = p->o;
	const char *format = NULL, *path = v;
	if (o->n_reports == WSPH_MAX_PATHS)
		return fail(p->err, p->errlen, "too many reports (at most %d)", WSPH_MAX_PATHS);
	for (size_t k = 0; k < sizeof shortcuts / sizeof shortcuts[0]; k++)
		if (!strcmp(f->name + 2, shortcuts[k]))
			format = shortcuts[k];
	if (!format) {
		const char *colon = strchr(v, ':');
		char *name = o->reports[o->n_reports].name;
		/* "C:\x" is a path, not a format; FORMAT has no backslash or slash */
		if (!colon || colon == v || strcspn(v, "/\\") < (size_t)(colon - v) ||
		    (size_t)(colon - v) >= sizeof o->reports[0].name)
			return fail(p->err, p->errlen, "--report takes FORMAT:PATH, not '%s'", v);
		memcpy(name, v, (size_t)(colon - v));
		name[colon - v] = '\0';
		format = name;
		path = colon + 1;
	}
	if (p->format_known && !p->format_known(format))
		return fail(p->err, p->errlen, "unknown report format '%s'", format);
	o->reports[o->n_reports].format = format;
	o->reports[o->n_reports].path = path;
	o->n_reports++;
	return OK;
}

static const struct flag flags[] = {
	{"--ifs", NULL, set_kind, NULL, 0},
	{"--non-ifs", NULL, set_kind, NULL, 0},
	{"--layered", NULL, set_switch, NULL, FIELD(layered)},
	{"--lower-non-ifs", NULL, set_switch, NULL, FIELD(lower_nonifs)},
	{"--no-isolation", NULL, set_switch, NULL, FIELD(no_isolation)},
	{"--fault-sweep", NULL, set_switch, NULL, FIELD(fault_sweep)},
	{"--allow-empty", NULL, set_switch, NULL, FIELD(allow_empty)},
	{"--deterministic", NULL, set_switch, NULL, FIELD(deterministic)},
	{"-q", NULL, set_switch, NULL, FIELD(quiet)},
	{"--quiet", NULL, set_switch, NULL, FIELD(quiet)},
	{"-v", NULL, set_switch, NULL, FIELD(verbose)},
	{"--verbose", NULL, set_switch, NULL, FIELD(verbose)},
	{"--rule", "a rule ID", set_string, NULL, FIELD(rule)},
	{"--guid", "a GUID", set_string, NULL, FIELD(guid)},
	{"--catalog", "a manifest file", set_string, NULL, FIELD(catalog)},
	{"--rules", "a file", set_string, NULL, FIELD(rules)},
	{"--report-root", "a folder", set_string, NULL, FIELD(report_root)},
	{"--lower", "a provider DLL", set_string, NULL, FIELD(lower)},
	{"--scenarios", "a path", set_scenarios, NULL, 0},
	{"--filter", "a pattern", set_filter, NULL, 0},
	{"--timeout", "a number of seconds", set_timeout, NULL, 0},
	{"--jobs", "a number of processes or auto", set_jobs, NULL, 0},
	{"--shard", "K/N", set_shard, NULL, 0},
	{"--color", "auto, always or never", set_color, "auto", 0},
	{"--report", "FORMAT:PATH", set_report, NULL, 0},
	{"--junit", "a path", set_report, NULL, 0},
	{"--tap", "a path", set_report, NULL, 0},
	{"--trace", "a path", set_report, NULL, 0},
	{"--matrix", "a path", set_report, NULL, 0},
};

/* "--flag=value" or "--flag value"; NULL when the value is missing. */
static const char *value_of(struct parser *p, size_t n)
{
	const char *a = p->argv[p->i];
	if (a[n] == '=')
		return a + n + 1;
	return p->i + 1 < p->argc ? p->argv[++p->i] : NULL;
}

static int one_flag(struct parser *p, const struct flag *f)
{
	if (!f->needs)
		return f->fn(p, f, NULL);
	const char *v = value_of(p, strlen(f->name));
	if (!v)
		v = f->absent;
	if (!v)
		return fail(p->err, p->errlen, "%s needs %s", f->name, f->needs);
	return f->fn(p, f, v);
}

/* -jN or -j N */
static int short_jobs(struct parser *p)
{
	const char *a = p->argv[p->i];
	const char *v = a[2] ? a + 2 : (p->i + 1 < p->argc ? p->argv[++p->i] : NULL);
	if (!v)
		return fail(p->err, p->errlen, "-j needs a number of processes or auto");
	return set_jobs(p, NULL, v);
}

static int one_arg(struct parser *p)
{
	const char *a = p->argv[p->i];
	for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
		size_t n = strlen(flags[k].name);
		if (!strncmp(a, flags[k].name, n) && (a[n] == '\0' || (flags[k].needs && a[n] == '=')))
			return one_flag(p, &flags[k]);
	}
	if (!strncmp(a, "-j", 2))
		return short_jobs(p);
	if (a[0] == '-' && a[1])
		return fail(p->err, p->errlen, "unknown option '%s'", a);
	if (!strcmp(p->o->command, "run") && !p->o->provider) {
		p->o->provider = a;
		return OK;
	}
	return fail(p->err, p->errlen, "unexpected argument '%s'", a);
}

int wsph_options_parse(int argc, char **argv, struct options *o,
		       int (*format_known)(const char *format), char *err, size_t errlen)
{
	struct parser p = {argc, argv, 2, o, format_known, err, errlen};
	memset(o, 0, sizeof *o);
	o->jobs = 1;
	o->color = -1;
	o->child_case = -1;
	if (errlen)
		err[0] = '\0';
	if (argc < 2)
		return fail(err, errlen, "no command given");
	o->command = argv[1];
	for (; p.i < argc; p.i++) {
		int rc = one_arg(&p);
		if (rc)
			return rc;
	}
	if (!o->kinds)
		o->kinds = WSPH_KIND_NONIFS;
	return OK;
}

/* ---- the environment ---- */

/* A variable that is set must be a number in range; unset leaves *out as it is. */
static int env_num(const char *(*get)(const char *), enum wsph_num which, double *out, char *err,
		   size_t errlen)
{
	const char *v = get(nums[which].name);
	return v && wsph_num_parse(which, v, out, err, errlen) ? -1 : 0;
}

static int env_shard(struct options *o, const char *(*get)(const char *), char *err, size_t errlen)
{
	const char *index = get("GTEST_SHARD_INDEX"), *total = get("GTEST_TOTAL_SHARDS");
	double k = 0, n = 0;
	if (o->have_shard || (!index && !total))
		return OK;
	if (!index || !total)
		return fail(err, errlen, "GTEST_SHARD_INDEX and GTEST_TOTAL_SHARDS must both be set, "
					 "with 0 <= index < total");
	if (env_num(get, WSPH_NUM_GTEST_INDEX, &k, err, errlen) ||
	    env_num(get, WSPH_NUM_GTEST_TOTAL, &n, err, errlen))
		return BAD;
	if (k >= n)
		return fail(err, errlen, "GTEST_SHARD_INDEX (%s) must be below GTEST_TOTAL_SHARDS (%s)",
			    index, total);
	o->shard_k = (unsigned)k;
	o->shard_n = (unsigned)n;
	return OK;
}

int wsph_options_env(struct options *o, const char *(*get)(const char *name), char *err,
		     size_t errlen)
{
	double per = 0, mem = 0;
	o->multiplier = 0;
	if (env_num(get, WSPH_NUM_MULTIPLIER, &o->multiplier, err, errlen) ||
	    env_num(get, WSPH_NUM_CASES_PER_CHILD, &per, err, errlen) ||
	    env_num(get, WSPH_NUM_TRACE_MEM, &mem, err, errlen))
		return BAD;
	o->cases_per_child = (unsigned)per;
	return env_shard(o, get, err, errlen);
}

/* ---- time limits ---- */

static double scale(const struct options *o)
{
	return o->multiplier > 0 ? o->multiplier : 1.0;
}

static int in_limits(double seconds)
{
	return seconds >= WSPH_CASE_SECONDS_MIN && seconds <= WSPH_CASE_SECONDS_MAX;
}

int wsph_options_timeout_ms(const struct options *o, unsigned *ms, char *err, size_t errlen)
{
	double base = o->timeout > 0 ? o->timeout : WSPH_DEFAULT_TIMEOUT;
	double t = base * scale(o);
	if (!in_limits(t))
		return fail(err, errlen, "%s %.15g s times WSPHARNESS_TIMEOUT_MULTIPLIER %.15g is "
					 "%.15g s; a case's time limit must be from %.15g to %.15g s",
			    o->timeout > 0 ? "--timeout" : "the default timeout", base, scale(o), t,
			    WSPH_CASE_SECONDS_MIN, WSPH_CASE_SECONDS_MAX);
	*ms = (unsigned)(t * 1000.0 + 0.5);
	return OK;
}

int wsph_options_check_scenarios(const struct options *o, const struct wsph_suite *suite, char *err,
				 size_t errlen)
{
	for (size_t i = 0; i < suite->n_scenarios; i++) {
		const struct wsph_scenario *sc = &suite->scenarios[i];
		const struct wsph_loc *at = sc->timeout_loc.line ? &sc->timeout_loc : &sc->loc;
		double t = sc->timeout * scale(o);
		if (sc->timeout > 0 && !in_limits(t))
			return fail(err, errlen, "%s:%d:%d: the scenario's timeout %.15g s times "
						 "WSPHARNESS_TIMEOUT_MULTIPLIER %.15g is %.15g s; a "
						 "case's time limit must be from %.15g to %.15g s",
				    at->file ? at->file : "", at->line, at->col, sc->timeout, scale(o), t,
				    WSPH_CASE_SECONDS_MIN, WSPH_CASE_SECONDS_MAX);
	}
	return OK;
}
