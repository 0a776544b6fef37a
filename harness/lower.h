/* The provider below a layer: its ledger of startups and handles, and the recording stand-in's
 * options. The ledger functions are pure (no I/O, no globals): the stand-in (lower.c) keeps one per
 * lower instance, and the rule engine (rules_lsp.c) rebuilds one per lower module from the trace. */
#ifndef WSPH_LOWER_H
#define WSPH_LOWER_H

#include <stddef.h>
#include <stdint.h>

/* What became of a handle the lower provider issued. */
enum wsph_lh_state {
	WSPH_LH_UNKNOWN = 0, /* never issued by this lower instance */
	WSPH_LH_OPEN,	     /* issued (WSPSocket, WSPAccept, WSPJoinLeaf) and not closed */
	WSPH_LH_CLOSED,	     /* closed by a lower WSPCloseSocket that returned 0 */
	WSPH_LH_RESET	     /* still open when the lower count reached 0 (reset by that cleanup) */
};

struct wsph_lh {
	uint64_t h;
	enum wsph_lh_state state;
	int stream;	    /* issued for a stream socket (WSPSocket type 1, or WSPAccept) */
	uint64_t issued_seq; /* the RETURN event that issued it */
	uint64_t closed_seq; /* the RETURN event of its close, or of the cleanup that reset it */
	int charged;	     /* a finding already names it as leaked: not charged again */
};

struct wsph_lower_ledger {
	int startups;	    /* successful lower WSPStartups minus successful lower WSPCleanups */
	int ever_started;   /* some lower WSPStartup succeeded */
	int last_failed;    /* the most recent lower WSPStartup failed */
	struct wsph_lh *v;  /* every handle issued (values are never reused within a scenario) */
	size_t n, cap;
};

/* Frees the handle list and zeroes the ledger. */
void wsph_ledger_reset(struct wsph_lower_ledger *l);
/* A handle the lower provider issued. 0, or -1 out of memory. A value already open stays as it is
 * (a WSPJoinLeaf that returns the socket it was given issues nothing new). */
int wsph_ledger_issue(struct wsph_lower_ledger *l, uint64_t h, int stream, uint64_t seq);
/* The newest entry for h, or NULL when this instance never issued it. */
const struct wsph_lh *wsph_ledger_find(const struct wsph_lower_ledger *l, uint64_t h);
/* Marks an open handle as named by a finding (it is not charged again): 1, or 0 when it is not
 * open or was charged already. */
int wsph_ledger_charge(struct wsph_lower_ledger *l, uint64_t h);
enum wsph_lh_state wsph_ledger_state(const struct wsph_lower_ledger *l, uint64_t h);
/* A lower WSPCloseSocket(h) returned 0. Returns the state h had before (OPEN when all is well). */
enum wsph_lh_state wsph_ledger_close(struct wsph_lower_ledger *l, uint64_t h, uint64_t seq);
/* A lower WSPStartup returned rc. */
void wsph_ledger_startup(struct wsph_lower_ledger *l, int rc);
/* A lower WSPCleanup returned rc. Returns the count before the call. When a successful cleanup
 * brings the count to 0, every handle still open becomes RESET (closed_seq = seq) and *n_reset
 * (may be NULL) gets how many. */
int wsph_ledger_cleanup(struct wsph_lower_ledger *l, int rc, uint64_t seq, size_t *n_reset);
/* How many handles are open; *first (may be NULL) gets the oldest. */
size_t wsph_ledger_open(const struct wsph_lower_ledger *l, const struct wsph_lh **first);

/* The fragmenting schedule of lower stream receives: chunk sizes 1..k from a seeded generator
 * (k 0: no fragmenting). *state carries the generator between calls. */
unsigned wsph_lower_chunk(uint32_t *state, unsigned k);

/* Scenario options of the stand-in, set after wsph_imports_begin (which resets them):
 * lower.fragment_receives (0 off). */
void wsph_lower_set_fragment(unsigned k);

#endif
