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
	char *error_type;    /* WSPH_ERROR: "crash", "timeout", "provider-error" */
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
	const char *provider;	     /* path as given */
	char provider_sha256[65];    /* hex, "" when unknown */
	const char *harness_version; /* "0.1.0" */
	const char *kind;	     /* "nonifs", "ifs" or "nonifs,ifs" */
	char hostname[256];
	int64_t timestamp; /* UTC seconds since the epoch */
	double time;	   /* seconds */
	struct wsph_case *cases;
	size_t n_cases;
	const struct wsph_ruleset *set; /* the rule catalogue the run used (may be NULL) */
};

/* Counts over the cases. */
struct wsph_counts {
	size_t tests, failures, errors, skipped, warnings;
};
void wsph_results_count(const struct wsph_results *r, struct wsph_counts *out);
void wsph_results_free(struct wsph_results *r);

#endif
