/* What an isolated child tells its parent: the events as they happen, then the case's verdict. */
#ifndef WSPH_CASEIO_H
#define WSPH_CASEIO_H

#include "platform/platform.h"
#include "results.h"
#include "scenario.h"

#include <stdio.h>

/* Child side. Lines carry a marker so the provider's own output can be told apart. */
void wsph_caseio_event(FILE *out, const struct wsph_event *ev);
void wsph_caseio_event_buffered(FILE *out, const struct wsph_event *ev); /* no flush */
void wsph_caseio_case(FILE *out, const struct wsph_case *c);
void wsph_caseio_crash(FILE *out, long code);
/* A persistent child: "S" first thing after it reads a command (what it writes before is not the
 * case's); "T reason" before the verdict when the case left the process unfit for another one. */
void wsph_caseio_started(FILE *out);
void wsph_caseio_tainted(FILE *out, const char *reason);
/* Child side, after wsph_caseio_tainted: how this child ends says nothing about its cases (the
 * provider was unloaded holding memory, which a leak checker at exit would report). */
void wsph_caseio_exit_unjudged(FILE *out);

/* Parent side: the end (one past the newline) of the first marker line of this kind ('S', 'D',
 * 'T') in buf[from..len), or 0 when there is none yet. */
size_t wsph_caseio_find(const char *buf, size_t len, size_t from, char kind);

/* Parent side: fills `c` from the child's output and how it ended. Crashes, timeouts, aborts and
 * exits inside the provider become WSPH_ERROR cases with the trace up to that point and the
 * provider's output. `timeout_ms` is for the message. */
void wsph_caseio_parse(const struct wsph_child_result *res, const struct wsph_ruleset *set,
		       const struct wsph_scenario *sc, unsigned timeout_ms, size_t trace_cap,
		       struct wsph_case *c);

/* Parent side, as the stream arrives: a reader per running case. Events go into a bounded trace
 * (spilled like the child's), the provider's own output keeps its last output_cap bytes (0: the
 * default below), so a case of any length costs the parent bounded memory. */
#define WSPH_CASEIO_OUTPUT_KEEP (64 * 1024)
struct wsph_caseio_reader;
struct wsph_caseio_reader *wsph_caseio_reader_new(const struct wsph_ruleset *set,
						  const struct wsph_scenario *sc, size_t output_cap);
/* Reads the complete lines of buf[0..len) (with final, the last incomplete one too) up to and
 * including the case's "D" line; returns the bytes read, which the caller drops. buf is modified. */
size_t wsph_caseio_reader_feed(struct wsph_caseio_reader *r, char *buf, size_t len, int final);
/* The "D" line was read (the case's verdict is complete); the reason of a "T" line (or NULL). */
int wsph_caseio_reader_done(const struct wsph_caseio_reader *r);
const char *wsph_caseio_reader_tainted(const struct wsph_caseio_reader *r);
/* Whether the child said (wsph_caseio_exit_unjudged) that its exit status is not about its cases. */
int wsph_caseio_reader_exit_unjudged(const struct wsph_caseio_reader *r);
/* Fills c as wsph_caseio_parse does and frees the reader. */
void wsph_caseio_reader_finish(struct wsph_caseio_reader *r, enum wsph_child_end end, long code,
			       unsigned timeout_ms, size_t trace_cap, struct wsph_case *c);
void wsph_caseio_reader_free(struct wsph_caseio_reader *r);

/* A case whose stream was complete, after which the child ended badly before it started another
 * one (a non-zero exit status, a signal, a hang when asked to exit): an <error> of type
 * "<class>-after-case" ("exit-after-case", "crash-after-case", "abort-after-case",
 * "timeout-after-case"). `output` is what the child wrote after the case (may be NULL). */
void wsph_caseio_after_case(struct wsph_case *c, enum wsph_child_end end, long code,
			    unsigned wait_ms, const char *output);

#endif
