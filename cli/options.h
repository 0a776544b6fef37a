/* The command line and the numeric environment variables, parsed without I/O: every function here
 * reports a problem as one line of text (what, and the allowed values) for main.c to print. */
#ifndef WSPH_OPTIONS_H
#define WSPH_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

struct wsph_suite;

#define WSPH_MAX_PATHS 64

/* The commands, as bits: a flag's row says which of them accept it (options.c). */
enum wsph_cmd {
	WSPH_CMD_RUN = 1u << 0,
	WSPH_CMD_LIST = 1u << 1,
	WSPH_CMD_RULES = 1u << 2,
	WSPH_CMD_SHOW = 1u << 3,
	WSPH_CMD_EXPLORE = 1u << 4,
};

struct options {
	const char *command;
	unsigned cmd; /* its enum wsph_cmd bit */
	int help;     /* COMMAND --help (or -h): print wsph_options_help and exit 0 */
	const char *provider;		    /* run: the first argument */
	const char *args[WSPH_MAX_PATHS]; /* the command's arguments: PROVIDER, rule IDs, TRACE */
	size_t n_args;
	unsigned kinds;
	const char *scenarios[WSPH_MAX_PATHS];
	size_t n_scenarios;
	const char *rules;
	const char *filter;
	struct {
		const char *format, *path;
		char name[32]; /* --report FORMAT:PATH: FORMAT, which format points to */
	} reports[WSPH_MAX_PATHS];
	size_t n_reports;
	int quiet, verbose, color; /* color: -1 auto */
	int deterministic;	   /* reports without times, host names or pointer values */
	const char *report_root;   /* --report-root: paths in reports relative to it (NULL: cwd) */
	int layered, lower_nonifs;
	int no_isolation;
	int steps;	 /* list --steps: the step vocabulary instead of the cases */
	int allow_empty; /* --allow-empty: a selection of no case is a run of no case, not an error */
	double timeout;	 /* seconds per scenario, 0: the default */
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
	unsigned stress; /* run --stress N: the runs of each concurrent scenario (0: once, no offsets) */
	int have_seed;	 /* --seed given (run: the stress offsets' seed) */
	/* explore */
	unsigned long seed, runs;
	double explore_seconds; /* --time (0: none) */
	unsigned max_steps;	/* --max-steps (0: the default) */
	const char *out_dir, *model;
	/* From the environment (wsph_options_env). */
	double multiplier;	  /* WSPHARNESS_TIMEOUT_MULTIPLIER (0: not set) */
	unsigned cases_per_child; /* WSPHARNESS_CASES_PER_CHILD (0: no limit) */
};

/* wspharness --help: every command's synopsis and what they share. */
extern const char wsph_usage[];

/* The command named name (WSPH_CMD_*), or 0 when there is none. */
unsigned wsph_command_find(const char *name);
/* Whether the flag (as typed, "--x" or "--x=v"; "-jN") is accepted by the command cmd: 1 yes,
 * 0 no, -1 no such flag. */
int wsph_options_applies(const char *flag, unsigned cmd);
/* COMMAND --help: its synopsis, what it does, the options its rows accept (from the table) and
 * the exit status. */
void wsph_options_help(unsigned cmd, FILE *out);
/* The two lines said after bad input for a command: its synopsis and where its help is. */
void wsph_options_usage_hint(unsigned cmd, FILE *out);

/* Up to max candidates close to word (case-insensitive edit distance within a third of its
 * length or 2, or containing it), best first, into out; returns how many. */
size_t wsph_closest(const char *word, const char *const *cands, size_t n, const char **out,
		    size_t max);
/* " (did you mean 'a', 'b' or 'c'?)", or "" when none is close; into buf. */
const char *wsph_did_you_mean(const char *word, const char *const *cands, size_t n, char *buf,
			      size_t len);

/* Every number the program reads from its arguments or environment, with its allowed range. */
enum wsph_num {
	WSPH_NUM_TIMEOUT,	  /* --timeout: seconds */
	WSPH_NUM_MULTIPLIER,	  /* WSPHARNESS_TIMEOUT_MULTIPLIER */
	WSPH_NUM_JOBS,		  /* --jobs */
	WSPH_NUM_SHARD_INDEX,	  /* --shard K */
	WSPH_NUM_SHARD_TOTAL,	  /* --shard N */
	WSPH_NUM_GTEST_INDEX,	  /* GTEST_SHARD_INDEX */
	WSPH_NUM_GTEST_TOTAL,	  /* GTEST_TOTAL_SHARDS */
	WSPH_NUM_CASES_PER_CHILD, /* WSPHARNESS_CASES_PER_CHILD */
	WSPH_NUM_TRACE_MEM,	  /* WSPH_TRACE_MEM_EVENTS */
	WSPH_NUM_SEED,		  /* explore --seed */
	WSPH_NUM_RUNS,		  /* explore --runs */
	WSPH_NUM_TIME,		  /* explore --time: seconds */
	WSPH_NUM_MAX_STEPS,	  /* explore --max-steps */
	WSPH_NUM_STRESS,	  /* run --stress */
	WSPH_NUM_COUNT
};

/* The limits of every case's time: --timeout (or 10 s, or a scenario's timeout:) times the
 * multiplier must lie in [WSPH_CASE_SECONDS_MIN, WSPH_CASE_SECONDS_MAX], so its milliseconds fit. */
#define WSPH_CASE_SECONDS_MIN 0.001
#define WSPH_CASE_SECONDS_MAX 86400.0
#define WSPH_DEFAULT_TIMEOUT 10.0

/* Strict: the whole text, decimal digits (a double also '.', and an exponent), no sign, no space,
 * finite, within the number's range. Returns 0 and sets *out, or -1 with "NAME must be ... from
 * MIN to MAX, not 'TEXT'" in err. */
int wsph_num_parse(enum wsph_num which, const char *text, double *out, char *err, size_t errlen);

/* argv[1] is the command, then its flags and arguments (argv is not changed; o points into it).
 * Refused, with a message naming it: an unknown command (with the closest ones), an unknown flag,
 * a flag the command does not accept, an argument the command does not take. --help (or -h)
 * sets o->help and ends the parse. format_known says whether a report format exists (NULL: every
 * one does). Returns 0, or 2 with the reason in err (the caller adds the usage). */
int wsph_options_parse(int argc, char **argv, struct options *o,
		       int (*format_known)(const char *format), char *err, size_t errlen);

/* The environment, read through get (getenv, or a stand-in): the multiplier, the cases per child,
 * the trace's memory bound, and the shard from GTEST_SHARD_INDEX/GTEST_TOTAL_SHARDS unless --shard
 * was given. Returns 0, or 2 with the reason in err. */
int wsph_options_env(struct options *o, const char *(*get)(const char *name), char *err,
		     size_t errlen);

/* The run's limit per case in milliseconds: (--timeout or 10 s) times the multiplier. Returns 0,
 * or 2 with the reason in err when the product leaves the limits above. */
int wsph_options_timeout_ms(const struct options *o, unsigned *ms, char *err, size_t errlen);

/* Every scenario's own timeout: times the multiplier within the same limits; 2 with
 * "file:line:column: ..." (the scenario's place) for the first that is not. */
int wsph_options_check_scenarios(const struct options *o, const struct wsph_suite *suite, char *err,
				 size_t errlen);

#endif
