/* The rule catalogue, loaded from scenarios/rules.yaml: the upcall table rows and every rule ID. */
#ifndef WSPH_RULESET_H
#define WSPH_RULESET_H

#include "scenario.h"
#include <stddef.h>

enum wsph_severity { WSPH_SEV_ERROR, WSPH_SEV_WARNING };

/* Status of an upcall table row, as Microsoft published it. */
enum wsph_row_status {
	WSPH_ROW_REQUIRED,	  /* "Required." */
	WSPH_ROW_REQUIRED_NONIFS, /* "Required for nonIFS providers." */
	WSPH_ROW_REQUIRED_IFS,	  /* "Required for IFS providers." */
	WSPH_ROW_OPTIONAL,	  /* "Optional." */
	WSPH_ROW_NOT_STATED,	  /* blank in the table */
	WSPH_ROW_ABSENT		  /* not a row of the table at all (WPUOpenCurrentThread) */
};

struct wsph_upcall_row {
	struct wsph_loc loc;
	char *function;	   /* "WPUCloseEvent" */
	char *description; /* one line */
	enum wsph_row_status status;
	char *published; /* the status text verbatim ("" when blank) */
};

struct wsph_rule {
	struct wsph_loc loc;
	char *id;	 /* "WPU.CloseSocketHandle.MatchesCreate" */
	char *level;	 /* the source's word: "MUST", "SHOULD", "MAY", "MUST [derived]", ... */
	enum wsph_severity severity;
	char *statement; /* one line */
	char *source;	 /* the source row, e.g. "[CLOSING] Closing Sockets; spec §7.2" */
	unsigned kinds;	 /* WSPH_KIND_* the rule applies to */
	char *not_checkable; /* NULL when checked; otherwise the reason it cannot be checked */
	char **tripped_by;   /* the faulty providers that break this rule (rules.yaml tripped_by) */
	size_t n_tripped_by;
};

struct wsph_errtable;

struct wsph_ruleset {
	char *path;
	struct wsph_upcall_row *rows;
	size_t n_rows;
	struct wsph_rule *rules;
	size_t n_rules;
	char *table_source; /* the upcall table's source (URL) */
	/* errors.yaml next to rules.yaml (harness/errtable.h), owned; NULL when there is none */
	struct wsph_errtable *errors;
};

/* Returns 0, or -1 with "file:line:column: message" in diag. Unknown keys, duplicate IDs,
 * missing fields and bad enum values are errors. */
int wsph_ruleset_load(struct wsph_ruleset *set, const char *path, struct wsph_diag *diag);
/* The same for `len` bytes of text that stand for the file `path`; nothing is read from disk. */
int wsph_ruleset_load_string(struct wsph_ruleset *set, const char *path, const char *text,
			     size_t len, struct wsph_diag *diag);
void wsph_ruleset_free(struct wsph_ruleset *set);
const struct wsph_rule *wsph_ruleset_find(const struct wsph_ruleset *set, const char *id);
/* Every rule ID named by a scenario's `checks` or a step's `rule` exists in the set.
 * Returns 0, or -1 with the first unknown ID located in diag. */
int wsph_ruleset_check_suite(const struct wsph_ruleset *set, const struct wsph_suite *suite,
			     struct wsph_diag *diag);
const char *wsph_row_status_name(enum wsph_row_status s); /* "required-nonifs", ... */
/* A rule's status for listings: "checked", "not-checkable" (rules.yaml not_checkable), or
 * "every-step" (a HARNESS.* rule, judged at every step that states an expectation). */
const char *wsph_rule_status_name(const struct wsph_rule *r);

#endif
