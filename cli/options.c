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
	"                      [--stress N [--seed N]]\n"
	"       wspharness list [--ifs|--non-ifs] [--scenarios PATH]... [--rules FILE]\n"
	"                       [--filter GLOB[:GLOB]...] [--allow-empty]\n"
	"       wspharness list --steps\n"
	"       wspharness rules [ID]... [--rules FILE] [--scenarios PATH]...\n"
	"       wspharness show TRACE\n"
	"       wspharness explore [PROVIDER] [--ifs|--non-ifs] [--layered [--lower DLL]]\n"
	"                          [--seed N] [--time S | --runs N] [--max-steps K] [--out DIR]\n"
	"                          [--model FILE] [--rules FILE] [--timeout SECONDS]\n"
	"       wspharness COMMAND --help | wspharness --help | --version\n"
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
	"An option a command does not take, an argument it does not take and an unknown command\n"
	"are bad input. 'wspharness COMMAND --help' lists the command's options.\n"
	"Exit status: 0 every scenario passed, 1 a rule was broken or the provider failed,\n"
	"2 bad input, 3 internal error.\n";

#define EXIT_DONE "Exit status: 0 done, 2 bad input, 3 internal error.\n"

/* ---- commands ---- */

struct command {
	const char *name;
	unsigned cmd;
	size_t min_args, max_args; /* its arguments (not options) */
	const char *arg;	   /* what one is called: PROVIDER, ID, TRACE (NULL: none) */
	const char *synopsis;
	const char *about; /* what it does, for COMMAND --help */
	const char *exits; /* its exit statuses */
};

static const struct command commands[] = {
	{"run", WSPH_CMD_RUN, 0, 1, "PROVIDER", "usage: wspharness run [PROVIDER] [OPTION]...\n",
	 "Runs the selected cases of the scenarios on PROVIDER (a .dll on Windows, a .so elsewhere;\n"
	 "default: the bundled mockbase) and prints a summary; --report writes the reports.\n",
	 "Exit status: 0 every scenario passed, 1 a rule was broken or the provider failed,\n"
	 "2 bad input, 3 internal error.\n"},
	{"list", WSPH_CMD_LIST, 0, 0, NULL, "usage: wspharness list [OPTION]...\n",
	 "Prints the cases a run would make, as <suite>/<scenario>[<kind>] with the scenario's file\n"
	 "and line: both kinds, or the kinds --ifs and --non-ifs give.\n",
	 "Exit status: 0 done, 2 bad input (a selection of no case too, unless --allow-empty),\n"
	 "3 internal error.\n"},
	{"rules", WSPH_CMD_RULES, 0, WSPH_MAX_PATHS, "ID", "usage: wspharness rules [ID]... [OPTION]...\n",
	 "Without ID: the upcall table with each row's status, then every rule. With IDs: those\n"
	 "rules (statement, source, status, the faulty providers that trip it, the scenarios that\n"
	 "check it); an unknown ID is bad input.\n",
	 EXIT_DONE},
	{"show", WSPH_CMD_SHOW, 1, 1, "TRACE", "usage: wspharness show TRACE\n",
	 "Prints a trace written by 'run --trace FILE' for people: each case's calls with their\n"
	 "upcalls, arguments by name, the findings and the defects.\n",
	 "Exit status: 0 done, 2 bad input (not a trace, or a malformed one), 3 internal error.\n"},
	{"explore", WSPH_CMD_EXPLORE, 0, 1, "PROVIDER", "usage: wspharness explore [PROVIDER] [OPTION]...\n",
	 "Runs random sequences of steps on PROVIDER (default: the bundled mockbase), each drawn\n"
	 "from the step table and a model of what each step needs (the weights: --model, default\n"
	 "the scenarios' explore.yaml), judged by every rule. A sequence that breaks a rule is\n"
	 "shrunk to a small one that still breaks it and written as DIR/<rule>-<hash>.yaml, a\n"
	 "scenario file 'run --scenarios FILE' reproduces. The same seed gives the same sequences.\n",
	 "Exit status: 0 nothing found, 1 a rule was broken, 2 bad input, 3 internal error.\n"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct command *command_of(unsigned cmd)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].cmd == cmd)
			return &commands[i];
	return NULL;
}

unsigned wsph_command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return commands[i].cmd;
	return 0;
}

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
	[WSPH_NUM_SEED] = {"--seed", "a whole number", 0, 999999999, 1, ""},
	[WSPH_NUM_RUNS] = {"--runs", "a whole number of sequences", 1, 100000000, 1, ""},
	[WSPH_NUM_TIME] = {"--time", "a number of seconds", 0.001, 86400, 0, ""},
	[WSPH_NUM_MAX_STEPS] = {"--max-steps", "a whole number of steps", 4, 64, 1, ""},
	[WSPH_NUM_STRESS] = {"--stress", "a whole number of runs", 1, 10000, 1, ""},
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

/* One row per flag. Every flag applies to run unless `also` has NOT_RUN; also says which other
 * commands accept it (0: run only). help is its line in COMMAND --help, "NAME VALUE\twhat it does" (NULL: not listed, an
 * alias listed with another row). */
struct flag {
	const char *name;
	const char *needs; /* the value it takes, for "--x needs ..." (NULL: a switch) */
	flag_fn fn;
	const char *absent; /* the value when none follows (NULL: the value is required) */
	size_t field;	    /* set_switch, set_string: offsetof the int or const char * it sets */
	unsigned also;	    /* the commands besides run that accept it (WSPH_CMD_*) */
	const char *help;
};

enum { STOP = -1 }; /* --help: the parse ends, successfully */

#define NOT_RUN (1u << 8) /* in flag.also: run does not take the flag */

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

/* explore's numbers: --seed (run's too), --runs, --time, --max-steps; run's --stress. */
static int set_explore_num(struct parser *p, const struct flag *f, const char *v)
{
	static const struct {
		const char *name;
		enum wsph_num num;
	} map[] = {{"--seed", WSPH_NUM_SEED},
		   {"--runs", WSPH_NUM_RUNS},
		   {"--time", WSPH_NUM_TIME},
		   {"--max-steps", WSPH_NUM_MAX_STEPS},
		   {"--stress", WSPH_NUM_STRESS}};
	double d = 0;
	size_t k = 0;
	while (strcmp(map[k].name, f->name))
		k++;
	if (wsph_num_parse(map[k].num, v, &d, p->err, p->errlen))
		return BAD;
	if (map[k].num == WSPH_NUM_SEED) {
		p->o->seed = (unsigned long)d;
		p->o->have_seed = 1;
	} else if (map[k].num == WSPH_NUM_STRESS)
		p->o->stress = (unsigned)d;
	else if (map[k].num == WSPH_NUM_RUNS)
		p->o->runs = (unsigned long)d;
	else if (map[k].num == WSPH_NUM_TIME)
		p->o->explore_seconds = d;
	else
		p->o->max_steps = (unsigned)d;
	return OK;
}

/* --help, -h: the command's help instead of the command. */
static int set_help(struct parser *p, const struct flag *f, const char *v)
{
	(void)f;
	(void)v;
	p->o->help = 1;
	return STOP;
}

#define L WSPH_CMD_LIST
#define R WSPH_CMD_RULES
#define S WSPH_CMD_SHOW
#define E WSPH_CMD_EXPLORE

static const struct flag flags[] = {
	{"--help", NULL, set_help, NULL, 0, L | R | S | E, "-h, --help\tthis help"},
	{"-h", NULL, set_help, NULL, 0, L | R | S | E, NULL},
	{"--ifs", NULL, set_kind, NULL, 0, L | E,
	 "--ifs, --non-ifs\tthe provider's kind, XP1_IFS_HANDLES set or clear (run: "
	 "default\n--non-ifs; list: default both; both: each scenario in both kinds)"},
	{"--non-ifs", NULL, set_kind, NULL, 0, L | E, NULL},
	{"--layered", NULL, set_switch, NULL, FIELD(layered), E,
	 "--layered\tPROVIDER is a layered provider, run over a fake catalog"},
	{"--lower-non-ifs", NULL, set_switch, NULL, FIELD(lower_nonifs), E,
	 "--lower-non-ifs\tthe fake catalog's base entries without XP1_IFS_HANDLES"},
	{"--no-isolation", NULL, set_switch, NULL, FIELD(no_isolation), 0,
	 "--no-isolation\tthe cases and the provider in this process (debugging)"},
	{"--fault-sweep", NULL, set_switch, NULL, FIELD(fault_sweep), 0,
	 "--fault-sweep\trerun each passing case failing each failable upcall it made"},
	{"--steps", NULL, set_switch, NULL, FIELD(steps), L | NOT_RUN,
	 "--steps\tthe steps a scenario can write, as the README's table, instead of cases"},
	{"--allow-empty", NULL, set_switch, NULL, FIELD(allow_empty), L,
	 "--allow-empty\ta selection of no case is not bad input"},
	{"--deterministic", NULL, set_switch, NULL, FIELD(deterministic), 0,
	 "--deterministic\treports without times, host names or pointer values"},
	{"-q", NULL, set_switch, NULL, FIELD(quiet), E, NULL},
	{"--quiet", NULL, set_switch, NULL, FIELD(quiet), E,
	 "-q, --quiet\tno summary on standard output"},
	{"-v", NULL, set_switch, NULL, FIELD(verbose), 0, NULL},
	{"--verbose", NULL, set_switch, NULL, FIELD(verbose), 0,
	 "-v, --verbose\tevery case in the summary, a progress line per case"},
	{"--rule", "a rule ID", set_string, NULL, FIELD(rule), 0,
	 "--rule ID\tonly the scenarios that check rule ID"},
	{"--guid", "a GUID", set_string, NULL, FIELD(guid), 0,
	 "--guid GUID\tthe GUID of the layered provider's hidden catalog entry"},
	{"--catalog", "a manifest file", set_string, NULL, FIELD(catalog), 0,
	 "--catalog MANIFEST.yaml\tthe fake catalog from a manifest"},
	{"--rules", "a file", set_string, NULL, FIELD(rules), L | R | E,
	 "--rules FILE\tthe rule catalogue (default: the scenarios' rules.yaml)"},
	{"--report-root", "a folder", set_string, NULL, FIELD(report_root), L,
	 "--report-root DIR\tpaths in reports relative to DIR (default: the working folder)"},
	{"--lower", "a provider DLL", set_string, NULL, FIELD(lower), E,
	 "--lower DLL\tthe provider below a layered one (default: mockbase)"},
	{"--scenarios", "a path", set_scenarios, NULL, 0, L | R,
	 "--scenarios PATH\ta scenario file or folder; repeatable (default: the bundled ones)"},
	{"--filter", "a pattern", set_filter, NULL, 0, L,
	 "--filter GLOB[:GLOB]...\tthe cases whose ID matches a glob (* and ?); a glob that "
	 "starts\nwith - excludes"},
	{"--timeout", "a number of seconds", set_timeout, NULL, 0, E,
	 "--timeout SECONDS\tthe limit per scenario, 0.001 to 86400 (default 10)"},
	{"--jobs", "a number of processes or auto", set_jobs, NULL, 0, 0,
	 "-j N, --jobs N|auto\tchild processes in parallel, 0 to 64 (0, auto: one per\nprocessor)"},
	{"--shard", "K/N", set_shard, NULL, 0, 0,
	 "--shard K/N\tonly the cases whose index is K modulo N"},
	{"--color", "auto, always or never", set_color, "auto", 0, 0,
	 "--color[=WHEN]\tcolours: auto, always or never"},
	{"--report", "FORMAT:PATH", set_report, NULL, 0, 0,
	 "--report FORMAT:PATH\ta report: junit, tap, trace, matrix, matrix-html or "
	 "console\n(PATH - is standard output); repeatable"},
	{"--junit", "a path", set_report, NULL, 0, 0,
	 "--junit PATH\t--report junit:PATH; --tap, --trace, --matrix likewise"},
	{"--tap", "a path", set_report, NULL, 0, 0, NULL},
	{"--trace", "a path", set_report, NULL, 0, 0, NULL},
	{"--matrix", "a path", set_report, NULL, 0, 0, NULL},
	{"--stress", "a whole number of runs", set_explore_num, NULL, 0, 0,
	 "--stress N\teach scenario marked concurrent: true N times (1 to 10000), its\nthreads "
	 "started with seeded offsets"},
	{"--seed", "a whole number", set_explore_num, NULL, 0, E,
	 "--seed N\texplore: the sequences' seed; run: the --stress offsets' seed (default 1)"},
	{"--runs", "a whole number of sequences", set_explore_num, NULL, 0, E | NOT_RUN,
	 "--runs N\texplore: stop after N sequences"},
	{"--time", "a number of seconds", set_explore_num, NULL, 0, E | NOT_RUN,
	 "--time SECONDS\texplore: stop after this wall time (default 60 without --runs)"},
	{"--max-steps", "a whole number of steps", set_explore_num, NULL, 0, E | NOT_RUN,
	 "--max-steps K\texplore: steps in a sequence, 4 to 64 (default 24)"},
	{"--out", "a folder", set_string, NULL, FIELD(out_dir), E | NOT_RUN,
	 "--out DIR\texplore: where the shrunk scenarios go (default explore-findings)"},
	{"--model", "a file", set_string, NULL, FIELD(model), E | NOT_RUN,
	 "--model FILE\texplore: the step weights (default: the scenarios' explore.yaml)"},
};

#undef L
#undef R
#undef S
#undef E

#define N_FLAGS (sizeof flags / sizeof flags[0])

static unsigned accepted_by(const struct flag *f)
{
	if (f->also & NOT_RUN)
		return f->also & ~NOT_RUN;
	return WSPH_CMD_RUN | f->also;
}

/* The row of a flag as typed: "--x", "--x=value" (a flag with a value); NULL if none. */
static const struct flag *flag_of(const char *a)
{
	for (size_t k = 0; k < N_FLAGS; k++) {
		size_t n = strlen(flags[k].name);
		if (!strncmp(a, flags[k].name, n) && (a[n] == '\0' || (flags[k].needs && a[n] == '=')))
			return &flags[k];
	}
	return NULL;
}

int wsph_options_applies(const char *flag, unsigned cmd)
{
	const struct flag *f = flag_of(strncmp(flag, "-j", 2) ? flag : "--jobs");
	return f ? (accepted_by(f) & cmd) != 0 : -1;
}

/* "'run'", "'run' and 'list'", "'run', 'list' and 'rules'" into buf. */
static const char *command_names(unsigned mask, char *buf, size_t len)
{
	size_t n = 0, total = 0, used = 0;
	for (size_t i = 0; i < N_COMMANDS; i++)
		total += (mask & commands[i].cmd) != 0;
	buf[0] = '\0';
	for (size_t i = 0; i < N_COMMANDS && used < len; i++) {
		if (!(mask & commands[i].cmd))
			continue;
		n++;
		int w = snprintf(buf + used, len - used, "%s'%s'",
				 n == 1 ? "" : n == total ? " and " : ", ", commands[i].name);
		used += w > 0 ? (size_t)w : 0;
	}
	return buf;
}

/* What a command says instead of a flag it does not take, where there is a better way. */
static const struct {
	const char *flag;
	unsigned cmd;
	const char *hint;
} elsewhere[] = {
	{"--rule", WSPH_CMD_RULES, "; to print a rule: wspharness rules ID..."},
	{"--filter", WSPH_CMD_RULES, "; to print a rule: wspharness rules ID..."},
	{"--trace", WSPH_CMD_SHOW, "; show reads the TRACE file given as its argument"},
};

static int not_here(struct parser *p, const struct flag *f)
{
	char names[64];
	const char *hint = "";
	for (size_t k = 0; k < sizeof elsewhere / sizeof elsewhere[0]; k++)
		if (!strcmp(elsewhere[k].flag, f->name) && elsewhere[k].cmd == p->o->cmd)
			hint = elsewhere[k].hint;
	return fail(p->err, p->errlen, "%s does not apply to '%s' (only to %s%s)", f->name,
		    p->o->command, command_names(accepted_by(f), names, sizeof names), hint);
}

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
	if (!(accepted_by(f) & p->o->cmd))
		return not_here(p, f);
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
	if (!(accepted_by(flag_of("--jobs")) & p->o->cmd))
		return fail(p->err, p->errlen, "-j does not apply to '%s' (only to 'run')",
			    p->o->command);
	const char *v = a[2] ? a + 2 : (p->i + 1 < p->argc ? p->argv[++p->i] : NULL);
	if (!v)
		return fail(p->err, p->errlen, "-j needs a number of processes or auto");
	return set_jobs(p, NULL, v);
}

static int unknown_flag(struct parser *p, const char *a)
{
	const char *names[N_FLAGS];
	char close_ones[160], word[64];
	size_t n = 0;
	for (size_t k = 0; k < N_FLAGS; k++)
		if (accepted_by(&flags[k]) & p->o->cmd)
			names[n++] = flags[k].name;
	snprintf(word, sizeof word, "%.*s", (int)strcspn(a, "="), a);
	return fail(p->err, p->errlen, "unknown option '%s'%s", a,
		    wsph_did_you_mean(word, names, n, close_ones, sizeof close_ones));
}

/* An argument that is not an option: the command's PROVIDER, ID or TRACE. */
static int positional(struct parser *p, const char *a)
{
	struct options *o = p->o;
	const struct command *c = command_of(o->cmd);
	if (c->max_args == 0)
		return fail(p->err, p->errlen, "unexpected argument '%s' ('%s' takes options only)",
			    a, c->name);
	if (o->n_args == c->max_args && c->max_args == 1)
		return fail(p->err, p->errlen, "unexpected argument '%s' ('%s' takes one %s, given "
					       "as '%s')", a, c->name, c->arg, o->args[0]);
	if (o->n_args == c->max_args)
		return fail(p->err, p->errlen, "too many arguments for '%s' (at most %zu %ss)",
			    c->name, c->max_args, c->arg);
	o->args[o->n_args++] = a;
	return OK;
}

static int one_arg(struct parser *p)
{
	const char *a = p->argv[p->i];
	const struct flag *f = flag_of(a);
	if (f)
		return one_flag(p, f);
	if (!strncmp(a, "-j", 2))
		return short_jobs(p);
	if (a[0] == '-' && a[1])
		return unknown_flag(p, a);
	return positional(p, a);
}

/* argv[1], which names no command. */
static int unknown_command(const char *a, char *err, size_t errlen)
{
	const char *names[N_COMMANDS];
	char close_ones[160], all[64];
	size_t n = strlen(a);
	for (size_t i = 0; i < N_COMMANDS; i++)
		names[i] = commands[i].name;
	command_names(~0u, all, sizeof all);
	if (a[0] == '-')
		return fail(err, errlen, "'%s' before a command: the command comes first (%s)", a, all);
	wsph_did_you_mean(a, names, N_COMMANDS, close_ones, sizeof close_ones);
	int module = strpbrk(a, "/\\") || (n > 3 && !strcmp(a + n - 3, ".so")) ||
		     (n > 4 && !strcmp(a + n - 4, ".dll"));
	if (close_ones[0])
		return fail(err, errlen, "unknown command '%s'%s", a, close_ones);
	return fail(err, errlen, "unknown command '%s' (the commands are %s%s%s)", a, all,
		    module ? "; to run a provider: wspharness run " : "", module ? a : "");
}

/* The command's arguments, all given. */
static int enough_args(const struct options *o, char *err, size_t errlen)
{
	const struct command *c = command_of(o->cmd);
	if (o->n_args >= c->min_args)
		return OK;
	return fail(err, errlen, "'%s' needs a %s%s", c->name, c->arg,
		    o->cmd == WSPH_CMD_SHOW ? " (a file written by run --trace FILE)" : "");
}

int wsph_options_parse(int argc, char **argv, struct options *o,
		       int (*format_known)(const char *format), char *err, size_t errlen)
{
	struct parser p = {argc, argv, 2, o, format_known, err, errlen};
	memset(o, 0, sizeof *o);
	o->jobs = 1;
	o->color = -1;
	o->child_case = -1;
	o->seed = 1;
	if (errlen)
		err[0] = '\0';
	if (argc < 2)
		return fail(err, errlen, "no command given");
	o->command = argv[1];
	o->cmd = wsph_command_find(argv[1]);
	if (!o->cmd)
		return unknown_command(argv[1], err, errlen);
	for (; p.i < argc; p.i++) {
		int rc = one_arg(&p);
		if (rc == STOP)
			break;
		if (rc)
			return rc;
	}
	if (!o->kinds)
		o->kinds = o->cmd == WSPH_CMD_LIST ? WSPH_KIND_ALL : WSPH_KIND_NONIFS;
	if (o->cmd == WSPH_CMD_RUN || o->cmd == WSPH_CMD_EXPLORE)
		o->provider = o->n_args ? o->args[0] : NULL;
	return o->help ? OK : enough_args(o, err, errlen);
}

/* ---- help ---- */

/* One help line: "  NAME VALUE   what it does", the what aligned (on the next line after a
 * long NAME VALUE), each of its \n-separated lines too. */
static void help_line(const char *help, FILE *out)
{
	enum { COL = 28 };
	size_t n = strcspn(help, "\t");
	const char *what = help + n + (help[n] != '\0');
	if (n + 3 <= COL)
		fprintf(out, "  %-*.*s", COL - 2, (int)n, help);
	else
		fprintf(out, "  %.*s\n%*s", (int)n, help, COL, "");
	for (;;) {
		size_t k = strcspn(what, "\n");
		fprintf(out, "%.*s\n", (int)k, what);
		if (!what[k])
			break;
		what += k + 1;
		fprintf(out, "%*s", COL, "");
	}
}

void wsph_options_help(unsigned cmd, FILE *out)
{
	const struct command *c = command_of(cmd);
	if (!c) {
		fputs(wsph_usage, out);
		return;
	}
	fprintf(out, "%s\n%s\nOptions:\n", c->synopsis, c->about);
	for (size_t k = 0; k < N_FLAGS; k++)
		if ((accepted_by(&flags[k]) & cmd) && flags[k].help)
			help_line(flags[k].help, out);
	fprintf(out, "\n%s", c->exits);
}

void wsph_options_usage_hint(unsigned cmd, FILE *out)
{
	const struct command *c = command_of(cmd);
	if (c)
		fprintf(out, "%s'wspharness %s --help' lists its options.\n", c->synopsis, c->name);
	else
		fputs("usage: wspharness run|list|rules|show|explore ...; 'wspharness --help' for more.\n", out);
}

/* ---- near misses ---- */

static int lower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive edit distance (insert, delete, substitute); words of at most 127 bytes. */
static size_t distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), row[128];
	if (na > 127 || nb > 127)
		return (size_t)-1;
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			size_t best = diag + (lower_ascii(a[i - 1]) != lower_ascii(b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

/* Whether word is within text, ignoring case. */
static int contains(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (; *text; text++) {
		size_t k = 0;
		while (k < n && text[k] && lower_ascii(text[k]) == lower_ascii(word[k]))
			k++;
		if (k == n)
			return 1;
	}
	return 0;
}

size_t wsph_closest(const char *word, const char *const *cands, size_t n, const char **out,
		    size_t max)
{
	size_t limit = strlen(word) / 3 > 2 ? strlen(word) / 3 : 2, found = 0;
	size_t score[8];
	if (max > 8)
		max = 8;
	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, cands[i]);
		if (d > limit)
			d = strlen(word) >= 3 && contains(cands[i], word) ? limit + 1 : (size_t)-1;
		if (d == (size_t)-1 || !strcmp(word, cands[i]))
			continue;
		/* insert in order of score, the first candidate first among equals */
		size_t at = found;
		while (at > 0 && score[at - 1] > d)
			at--;
		if (at >= max)
			continue;
		size_t last = found < max ? found : max - 1;
		for (size_t k = last; k > at; k--) {
			score[k] = score[k - 1];
			out[k] = out[k - 1];
		}
		score[at] = d;
		out[at] = cands[i];
		found += found < max;
	}
	return found;
}

const char *wsph_did_you_mean(const char *word, const char *const *cands, size_t n, char *buf,
			      size_t len)
{
	const char *close_ones[3];
	size_t k = wsph_closest(word, cands, n, close_ones, 3), used = 0;
	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < k && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s'%s'%s",
				 i == 0 ? " (did you mean " : i + 1 == k ? " or " : ", ", close_ones[i],
				 i + 1 == k ? "?)" : "");
		used += w > 0 ? (size_t)w : 0;
	}
	return buf;
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
