/* What an isolated child tells its parent: the events as they happen, then the case's verdict. */
#ifndef WSPH_CASEIO_H
#define WSPH_CASEIO_H

#include "platform/platform.h"
#include "results.h"
#include "scenario.h"

#include <stdint.h>
#include <stdio.h>

/* The channel carries frames, each ending with a newline. A text frame is one line: KIND, a
 * sequence number (8 hex digits, counted per child from 0), the payload (no newline), a tab and a
 * check (8 hex digits) computed over all of it with the child's secret (sent by the parent as its
 * first command, "K <16 hex digits>"). An event is a binary frame ("R", see caseio.c): its number
 * and check in binary around the trace's record and the event's text, the record's modules by
 * number, each named once per channel by an "M" frame. The parent believes only a frame whose
 * check holds and whose number is the next one: a frame forged by a provider that writes on the
 * channel, garbled or cut short by a crash, or lost is detected and reported as such. (The secret
 * stops accidents and imitation, not a provider that reads the child's memory.) */
#define WSPH_CASEIO_MODULES 1024 /* module ids a channel names (the trace's interned ids) */
struct wsph_caseio_chan {
	uint64_t secret;
	uint32_t next_seq; /* the number the next frame must carry */
	uint16_t modules[WSPH_CASEIO_MODULES]; /* a child module id: this process's (0 none) */
};

/* Child side. Frames are buffered and written with `write` (the platform's channel writer in a
 * child; a test's buffer in the tests), by wsph_caseio_flush, a full buffer, a case's end and the
 * crash handlers. Every function may be called from any thread. */
void wsph_caseio_begin(uint64_t secret, int (*write)(const void *buf, size_t len));
void wsph_caseio_flush(void);
void wsph_caseio_event(const struct wsph_event *ev); /* buffered */
/* The same for a record as a trace's record sink hands it (wsph_trace_set_default_rec_sink). */
void wsph_caseio_rec(const struct wsph_rec *r, const char *text);
/* The record sink for a trace (wsph_trace_set_default_rec_sink) given the writer's lock (recursive;
 * made by wsph_caseio_begin, never freed), which the trace holds when it calls the sink: one lock
 * an event for the trace and the channel together. */
struct wsph_mutex *wsph_caseio_lock(void);
void wsph_caseio_rec_sink(void *ctx, const struct wsph_rec *r, const char *text);
/* The events framed since the case began (read without the lock: a count that moves). */
uint64_t wsph_caseio_events(void);
/* A finding as it is made (a case that then hangs or crashes keeps it). */
void wsph_caseio_finding(const struct wsph_finding *f);
/* The case's end: the findings not streamed yet, what was not reached, the error, the outcome,
 * then "D <frames of the case before it> <events>"; flushed. */
void wsph_caseio_case(const struct wsph_case *c);
/* A command was taken: "S" first (what comes before it is not the case's). */
void wsph_caseio_started(void);
/* "T reason" before the verdict when the case left the process unfit for another one. */
void wsph_caseio_tainted(const char *reason);
/* After wsph_caseio_tainted: how this child ends says nothing about its cases (the provider was
 * unloaded holding memory, which a leak checker at exit would report). */
void wsph_caseio_exit_unjudged(void);
/* The answer to a probe ("P"): "L 0" loaded; "L 1 CODE<TAB>message" loading raised the exception
 * CODE, which the system loader caught; "L 2<TAB>message" the module cannot be loaded or exports
 * no WSPStartup. Flushed. */
void wsph_caseio_loaded(int status, long code, const char *message);
/* The probe: the GUID the provider's GetLspGuid export returned (before its "L" frame). */
void wsph_caseio_lsp_guid(const char *text);
/* The crash frame ("X") for code and what the handler saw (info may be NULL), written into buf (no
 * allocation, no lock: a crash handler's call). Returns its length (0 when cap is too small). The
 * payload is the code in decimal, then, with info, its fields after tabs (see caseio.c): a reader
 * that takes the leading number alone still reads the code. */
size_t wsph_caseio_crash_frame(char *buf, size_t cap, long code, const struct wsph_crash_info *info);
/* Parent side: an "X" frame's payload (modified: its fields unescaped in place). Sets *code;
 * returns 1 when the handler's detail came with it (into *info), else 0. */
int wsph_caseio_crash_parse(char *payload, long *code, struct wsph_crash_info *info);
/* The detail as an error message words it after the signal's name: " at hostile.so+0x1139,
 * writing address 0x0, on a provider thread" ("" for info NULL). `thread` names the thread; NULL
 * names it from info->thread alone (the harness's driver thread, or another thread). One line
 * without pointers of the run but the address accessed: offsets within a module are the same
 * from run to run, and the thread is named, not numbered (--deterministic). */
char *wsph_caseio_crash_detail(const struct wsph_crash_info *info, const char *thread, char *buf,
			       size_t len);

/* Parent side: one frame. */
struct wsph_caseio_frame {
	char kind;
	uint32_t seq;
	char *payload; /* within the buffer given; a text frame's NUL-terminated there */
	size_t len;
};
/* Undoes the escapes of a text field (\\, \n, \r, \t) in place, up to a tab or the end. */
void wsph_caseio_unescape(char *s);
/* Checks one line as a text frame (without its newline; modified). 0: a frame, its number the
 * next one (lost frames before it are counted in *lost); -1: not a frame of this child (forged or
 * garbled). wsph_caseio_next reads any frame. */
int wsph_caseio_check(struct wsph_caseio_chan *ch, char *line, size_t n, struct wsph_caseio_frame *f,
		      uint32_t *lost);
/* The frame at the start of buf[0..len) (modified), text or binary: 1 a frame believed, in *f
 * (the lost ones before it in *lost), `*used` bytes with its newline; -1 `*used` bytes not believed
 * (a line, or a spoilt frame: the next frame may begin after them); 0 the frame is not complete
 * yet (never with final: the rest is then not believed). An "M" frame also names a module for the
 * channel's later records. */
int wsph_caseio_next(struct wsph_caseio_chan *ch, char *buf, size_t len, int final,
		     struct wsph_caseio_frame *f, uint32_t *lost, size_t *used);

/* Parent side: the provider's own output (the child's stdout and stderr) as it arrives, in pieces
 * of any size. Its last `cap` bytes (0: WSPH_CASEIO_OUTPUT_KEEP) are kept byte for byte, NUL
 * bytes and all, the bytes before them counted: the cost is linear in what arrives whatever its
 * lines (none at all included), and at most 2 * cap bytes are held. Zeroed is empty. */
#define WSPH_CASEIO_OUTPUT_KEEP (64 * 1024)
struct wsph_caseio_kept {
	char *buf; /* its last min(len, cap) bytes are the kept ones */
	size_t len, cap, dropped;
};
void wsph_caseio_keep(struct wsph_caseio_kept *k, const char *s, size_t n);
/* The kept output for a report, NULL when there is none: "--- TITLE ---", then "... (N earlier
 * bytes not kept)" when some were dropped (the first partial line of the kept part with them),
 * then the text, ending with a newline. Bytes that are not text (NUL, the control characters but
 * tab, LF and CR, DEL, each byte of invalid UTF-8) are written \xHH: the text is valid UTF-8
 * without NUL, and every report writes it whole. */
char *wsph_caseio_kept_text(const struct wsph_caseio_kept *k, const char *title);
void wsph_caseio_kept_reset(struct wsph_caseio_kept *k); /* empty again (its memory kept) */
void wsph_caseio_kept_free(struct wsph_caseio_kept *k);

/* Parent side, as the stream arrives: a reader per running case. Events go into a bounded trace
 * (spilled like the child's), the provider's own output keeps its last output_cap bytes (0: the
 * default), so a case of any length costs the parent bounded memory. */
struct wsph_caseio_reader;
struct wsph_caseio_reader *wsph_caseio_reader_new(const struct wsph_ruleset *set,
						  const struct wsph_scenario *sc, size_t output_cap,
						  struct wsph_caseio_chan *chan);
/* Reads the complete frames of buf[0..len) (with final, the last incomplete one too) up to and
 * including the case's "D" frame; returns the bytes read, which the caller drops. buf is
 * modified. */
size_t wsph_caseio_reader_feed(struct wsph_caseio_reader *r, char *buf, size_t len, int final);
/* The provider's own output (the child's stdout and stderr) that arrived during the case. */
void wsph_caseio_reader_output(struct wsph_caseio_reader *r, const char *buf, size_t len);
/* Output kept before the case was seen to start (read before its "S" frame: the two pipes are
 * not ordered) becomes the case's; `from` is left empty. */
void wsph_caseio_reader_take_output(struct wsph_caseio_reader *r, struct wsph_caseio_kept *from);
/* The "D" frame was read (the case's verdict is complete); the reason of a "T" frame (or NULL). */
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
			    unsigned wait_ms, const struct wsph_caseio_kept *output);

#endif
