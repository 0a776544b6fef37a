/* The frozen results model every reporter reads: test cases, outcomes and findings. */
#ifndef WSPH_RESULTS_H
#define WSPH_RESULTS_H

#include "ruleset.h"
#include "trace.h"
#include <stddef.h>
#include <stdint.h>

enum wsph_outcome {
	WSPH_PASS,
	WSPH_FAIL,  /* a rule was broken (JUnit <failure>) */
	WSPH_ERROR, /* the provider crashed, hung or exited (JUnit <error>) */
	WSPH_SKIP   /* not applicable to this provider kind (JUnit <skipped>) */
};

struct wsph_finding {
	const struct wsph_rule *rule; /* statement, source, severity */
	int step;		      /* 1-based step number; 0 when not inside a step */
	struct wsph_loc loc;	      /* the step's location (or the scenario's) */
	char *message;		      /* one line: what happened, with the offending upcall */
	char *excerpt;		      /* trace lines around the offending event (may be NULL) */
	/* The offending site, what a summary groups one defect by: the module charged with it
	 * ("" when no event is named), the WSP call it happened in and the upcall it is about
	 * (each an enum wsph_fn, or -1 when there is none). */
	char module[64];
	int call_fn;
	int upcall_fn;
};

/* What a case did not reach: a step that was not run because a step before it failed, or a rule
 * whose premise did not hold (the calls it is about never happened), so it says nothing here. */
struct wsph_unreached {
	const struct wsph_rule *rule; /* NULL: the step below was not run */
	int step;		      /* the step not run; for a rule, the step whose failure left
					 its premise unmet (0: none ran) */
	char *reason;		      /* one line */
};

struct wsph_case {
	const char *classname; /* "wspharness.sockets.nonifs-lifecycle" */
	char *name;	       /* "socket-close[nonifs]" */
	const char *file;      /* scenario file */
	int line;
	double time; /* seconds */
	enum wsph_outcome outcome;
	struct wsph_finding *findings; /* errors and warnings, in the order found */
	size_t n_findings;
	struct wsph_unreached *unreached; /* steps and rules not reached, in step order */
	size_t n_unreached;
	char *error_type;    /* WSPH_ERROR: "crash", "timeout", "deadlock" (WSPH_DEADLOCK),
				"provider-error" */
	char *error_message; /* WSPH_ERROR: one line */
	char *skip_reason;   /* WSPH_SKIP */
	char *trace;	     /* the scenario's trace as text, capped (may be NULL) */
	struct wsph_trace *events; /* the scenario's recorded events, sealed (may be NULL); read
				      them with wsph_case_n_events and wsph_case_event */
};

/* The number of recorded events of a case, and event i (0-based): 0, or -1 when out of range. */
static inline size_t wsph_case_n_events(const struct wsph_case *c)
{
	return c && c->events ? wsph_trace_count(c->events) : 0;
}
static inline int wsph_case_event(const struct wsph_case *c, size_t i, struct wsph_event *out)
{
	return c && c->events ? wsph_trace_get(c->events, i, out) : -1;
}

struct wsph_results {
	const char *provider;	     /* path as reports show it (wsph_path_for_report) */
	char *provider_shown;	     /* owned: what provider points at (NULL: the path as given) */
	char provider_sha256[65];    /* hex, "" when unknown */
	const char *harness_version; /* "0.1.0" */
	const char *kind;	     /* "nonifs", "ifs" or "nonifs,ifs" */
	char hostname[256];
	int64_t timestamp; /* UTC seconds since the epoch */
	double time;	   /* seconds */
	struct wsph_case *cases;
	size_t n_cases;
	const struct wsph_ruleset *set; /* the rule catalogue the run used (may be NULL) */
	/* The scenarios the run used (may be NULL): which rules each case checks (its scenario's
	 * `checks`), so a report can tell a rule every checking case left not reached from one
	 * that some case reached. A case maps to the scenario of its classname whose name is the
	 * case's name up to its "[kind]". */
	const struct wsph_suite *suite;
	int layered; /* the provider ran as a layer (--layered): only then are LSP.* rules reached */
};

/* The error type of a case that hung with every thread of its process blocked with no time limit,
 * one inside the provider (stall.h): counted among the errors, and on its own. */
#define WSPH_DEADLOCK "deadlock"

/* Counts over the cases. */
struct wsph_counts {
	size_t tests, failures, errors, skipped, warnings;
	size_t deadlocks; /* errors of type WSPH_DEADLOCK (counted in errors too) */
};
void wsph_results_count(const struct wsph_results *r, struct wsph_counts *out);
void wsph_results_free(struct wsph_results *r);

/* ---- One defect, one line: findings grouped by rule and site, the same for every writer ---- */

/* The findings of one rule at one site (the module charged, the WSP call, the upcall) across the
 * cases: what a summary shows as one defect, however many cases it broke. */
struct wsph_group {
	const struct wsph_rule *rule;	  /* the first finding's (NULL when it has none) */
	const char *rule_id;		  /* rule->id, or "?" */
	const char *module;		  /* "" when unknown (the first finding's string) */
	int call_fn;			  /* enum wsph_fn, or -1 */
	int upcall_fn;			  /* enum wsph_fn, or -1 */
	int warning;			  /* the rule is a warning */
	size_t n_findings;		  /* in every case together */
	size_t n_cases;			  /* distinct cases */
	size_t first_case;		  /* index into r->cases (cases[0]) */
	const struct wsph_finding *first; /* the first finding: the one printed in full */
	size_t *cases;			  /* n_cases indexes into r->cases, ascending, each once */
};

struct wsph_groups {
	struct wsph_group *v;
	size_t n;
};

/* Groups every finding of every case (an error case's findings too) by rule ID, module, WSP call
 * and upcall: errors first, then warnings, each in order of first appearance. Returns 0, or -1
 * when out of memory (with *out empty). Release with wsph_groups_free. */
int wsph_results_groups(const struct wsph_results *r, struct wsph_groups *out);
void wsph_groups_free(struct wsph_groups *g);
/* The index in g of the group finding f belongs to, or (size_t)-1. */
size_t wsph_groups_find(const struct wsph_groups *g, const struct wsph_finding *f);
/* A site for people: "passthru.dll, WSPCleanup", "mock.so, WPUCloseSocketHandle in
 * WSPCloseSocket", "mock.so, WPUQueueApc" (an upcall outside any WSP call); "" when nothing is
 * known. A function number out of range prints as "?". */
void wsph_site_format(const char *module, int call_fn, int upcall_fn, char *buf, size_t len);

/* ---- Not reached ---- */

/* One line for people: "step 5 not run: step 4 failed", "SPI.Cleanup.SuccessReturnsZero not
 * reached (step 4): WSPCleanup was never called" ("(step N)" is the step whose failure left the
 * premise unmet, left out when 0); the reason is left out when empty. */
void wsph_unreached_format(const struct wsph_unreached *u, char *buf, size_t len);
/* Steps and rules not reached over every case, and the number of cases with any. */
void wsph_results_unreached(const struct wsph_results *r, size_t *steps, size_t *rules,
			    size_t *cases);
/* The scenario case c ran (r->suite's, by classname and name up to "[kind]"), or NULL. */
const struct wsph_scenario *wsph_results_scenario(const struct wsph_results *r,
						  const struct wsph_case *c);
/* How far the run reached `rule`. *unreached: the cases that ran (not skipped) and list the rule
 * as not reached; *checking: the cases that ran and whose scenario names the rule in `checks`
 * (from r->suite; -1 when r->suite is NULL, so it is not known). */
void wsph_results_rule_reach(const struct wsph_results *r, const struct wsph_rule *rule,
			     size_t *unreached, long *checking);
/* Whether the run left `rule` not reached: no case has a finding of it, some case lists it as not
 * reached and every case whose scenario checks it does (known only with r->suite). */
int wsph_results_rule_not_reached(const struct wsph_results *r, const struct wsph_rule *rule);
/* The cases that ran to their end (passed or failed; not skipped, not an error) and reached `rule`:
 * their scenario checks it (or no scenario of r->suite names it: every case checks it), the rule
 * applies to their kind ("[ifs]", "[nonifs]") and, for an LSP.* rule, the run was layered, and
 * they do not list it as not reached. -1 when r->suite is NULL (not known). */
long wsph_results_rule_reached(const struct wsph_results *r, const struct wsph_rule *rule);

#endif
