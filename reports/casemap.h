/* What the writers share about one case: pointer placeholders and thread numbers for deterministic
 * reports, and the event a finding concerns. */
#ifndef WSPH_CASEMAP_H
#define WSPH_CASEMAP_H

#include "results.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Pointer-valued arguments (contexts, heap and stack addresses, event and thread handles) differ
 * from run to run. In a deterministic report each distinct non-zero pointer value of a case is
 * printed as 0x<ptrN>, N counted from 1 in order of first appearance in the case's events (an
 * object made at an address an earlier one had, a socket's context, a thread handle, an event,
 * a module, gets a new N: the allocator's reuse varies from run to run); thread
 * IDs become 1, 2, ... the same way. A scratch address (a thread ID's, a provider ID's, an
 * fd_set's, an out-parameter's: a structure made for one call, whose value repeats only when the
 * allocator happens to reuse it) is printed as 0x<ptr>, without a number. Socket handles issued by
 * the harness, catalog IDs, versions and error codes are stable and stay as they are.
 *
 * The events are listed in a canonical order, the same however the threads interleaved: step by
 * step (an event inside a WSP call in the step of the outermost call open on its thread), in a
 * step the driver thread's events first, then each other thread's; seq numbers are renumbered in
 * that order (events' "seq" and "parent", texts' "#N" at a line's start and "event #N").
 */
struct wsph_casemap;

/* A map for c; NULL when out of memory (callers then print raw values). */
struct wsph_casemap *wsph_casemap_new(const struct wsph_case *c);
void wsph_casemap_free(struct wsph_casemap *m);
/* The index of the event to list at position i (canonical order; i itself when m is NULL), and an
 * event's seq (or a parent) as listed. */
size_t wsph_casemap_event_at(const struct wsph_casemap *m, size_t i);
uint64_t wsph_casemap_seq(const struct wsph_casemap *m, uint64_t seq);

/* "0x<ptr3>" in buf when v is one of the case's pointer values, else NULL. m may be NULL. */
const char *wsph_casemap_ptr(const struct wsph_casemap *m, uint64_t v, char *buf, size_t len);
/* How argument `name` of fn (NULL: its return value) with value v reads in the event listed at
 * canonical position pos: its placeholder there (a new object at an address freed earlier has a
 * new one), or 0x<ptr> for a scratch address. NULL when v is not one of the case's pointer values
 * (or m is NULL). wsph_casemap_ptr is the placeholder after the last event. */
const char *wsph_casemap_arg(const struct wsph_casemap *m, size_t pos, enum wsph_fn fn,
                             const char *name, uint64_t v, char *buf, size_t len);
/* 1, 2, ... for the case's threads in order of first appearance; tid itself when unknown. */
unsigned long wsph_casemap_thread(const struct wsph_casemap *m, unsigned long tid);
/* A malloc'd copy of text with every "0x<hex>" token that is one of the case's pointer values
 * replaced by its placeholder (any other hex value wider than 32 bits, an address the events do
 * not hold, by 0x<addr>; "pid N" by "pid <pid>"), event numbers renumbered and each run of event lines ("#N ...",
 * "=> #N ...") in canonical order (a plain copy when m is NULL; NULL for NULL or out of
 * memory). */
char *wsph_casemap_text(const struct wsph_casemap *m, const char *text);

/* For writers that print a case's texts as they are: *out becomes a copy of c whose messages,
 * excerpts, error message and trace show the placeholders of a casemap of c (everything else is
 * borrowed from c). Returns 0, or -1 when out of memory. Release with wsph_casemap_case_free. */
int wsph_casemap_case(const struct wsph_case *c, struct wsph_case *out);
void wsph_casemap_case_free(struct wsph_case *copy);

/* Whether argument `name` of fn holds a pointer-like value, and whether fn returns one. */
int wsph_arg_is_pointer(enum wsph_fn fn, const char *name);
int wsph_ret_is_pointer(enum wsph_fn fn);

/* How fn's return value reads for people: "0x3c000000" or "INVALID_SOCKET" (handles), "TRUE" or
 * "FALSE", "0" or "WSAVERNOTSUPPORTED (10092)" (WSPStartup's error code), "SOCKET_ERROR" or the
 * number (int results). A pointer-valued return prints as its placeholder when m knows it. */
char *wsph_ret_format(const struct wsph_casemap *m, enum wsph_fn fn, int64_t ret, char *buf,
                      size_t len);
/* Whether ret is fn's failure value (INVALID_SOCKET, SOCKET_ERROR, FALSE, a non-zero code). */
int wsph_ret_is_failure(enum wsph_fn fn, int64_t ret);
/* Whether argument `name` only has a value once the call returned (sent, received, out, ...). */
int wsph_arg_is_output(const char *name);

/* The seq of the event a finding concerns: the line its excerpt marks with "=>" (the results
 * model keeps no other link); 0 when it has none. */
uint64_t wsph_finding_seq(const struct wsph_finding *f);

/* A finding's trace excerpt as a deterministic report shows it: the same window the rules take
 * (six events before the offending one, one after) over the canonical order, mapped as
 * wsph_casemap_text maps; the excerpt mapped as it is when its event is not known. NULL for none
 * or out of memory. */
char *wsph_casemap_excerpt(const struct wsph_casemap *m, const struct wsph_finding *f);

/* "lifecycle.cleanup/restart-after-cleanup[nonifs]": the case's ID as --filter matches it. */
char *wsph_case_label(const struct wsph_case *c);

#endif
