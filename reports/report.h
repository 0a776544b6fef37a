/* The reporter interface: writers that read the frozen results model, and a name -> writer lookup. */
#ifndef WSPH_REPORT_H
#define WSPH_REPORT_H

#include "results.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WSPH_REPORT_TRACE_CAP_DEFAULT 65536

struct wsph_report_opts {
	int deterministic; /* no times, hostname "localhost", fixed timestamp 1970-01-01T00:00:00,
			      pointer values as 0x<ptrN> and thread IDs as 1, 2, ... (casemap.h) */
	int color;	   /* 1: colour escapes, anything else: plain text (whether a terminal gets
			      colour is the caller's choice: harness/progress.h, wsph_term_color) */
	int verbose;	   /* console: also passing and skipped cases */
	size_t trace_cap;  /* bytes of trace in system-out; 0 means WSPH_REPORT_TRACE_CAP_DEFAULT */
};

/* A reporter writes one report on out. opts may be NULL (all defaults). Returns 0 or -1. */
typedef int (*wsph_reporter)(FILE *out, const struct wsph_results *r,
			     const struct wsph_report_opts *o);

int wsph_report_junit(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o);
int wsph_report_console(FILE *out, const struct wsph_results *r,
			const struct wsph_report_opts *o);
int wsph_report_tap(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o);
/* JSON lines, schema "wspharness.trace/1" (README.md, "The trace format"). */
int wsph_report_trace(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o);
/* The conformance matrix; it needs r->set (without it only the header is written). */
int wsph_report_matrix(FILE *out, const struct wsph_results *r, const struct wsph_report_opts *o);
int wsph_report_matrix_html(FILE *out, const struct wsph_results *r,
			    const struct wsph_report_opts *o);

/* What the progress line is told by its caller, who asks the platform. */
struct wsph_console_progress {
	int verbose; /* every case gets a line of its own */
	int tty;     /* stderr is a terminal: one line that updates in place */
	int color;   /* 1: colour escapes, anything else: plain text */
};
/* Progress while running, for wsph_run_config.progress (through harness/progress.h) with ctx =
 * a struct wsph_console_progress (or NULL): "[12/48] sockets.stream/connect-accept-transfer[nonifs]
 * ... ok" (FAIL, ERROR, skip) on stderr when it is a terminal (one updating line) or verbose. */
void wsph_console_progress(void *ctx, size_t done, size_t total, const struct wsph_case *c);
/* The periodic line on a stderr that is not a terminal (harness/progress.h, tick_line): "[12/48]
 *  25% 00:31 elapsed, current: <case ID>"; current NULL leaves the case out. */
void wsph_console_tick(FILE *out, size_t done, size_t total, uint64_t elapsed_s,
		       const char *current);

/* `wspharness show TRACE`: prints a JSON-lines trace for people. Returns 0, or 2 after printing
 * "file:line: message" on stderr when the file cannot be read or is not a wspharness trace. */
int wsph_show_trace(const char *path, FILE *out);

/* "junit", "console", "tap", "trace", "matrix", "matrix-html"; NULL for an unknown name. */
wsph_reporter wsph_reporter_find(const char *name);

/* How a report reaches its file: the caller's writer of whole files (the program passes
 * harness/outfile.h's wsph_outfile_write, which keeps the previous file whole on failure). It
 * opens path ("-" means stdout), has emit write the text on f, and returns 0, or -1 with errno
 * set. */
typedef int (*wsph_report_sink)(const char *path, int (*emit)(FILE *f, void *ctx), void *ctx);

/* Writes the report to path through sink. Returns 0, or -1 with errno set. */
int wsph_report_to_path(wsph_report_sink sink, const char *path, wsph_reporter fn,
			const struct wsph_results *r, const struct wsph_report_opts *o);
/* One requested report: wsph_report_to_path with the writer named format. On failure prints
 * "wspharness: cannot write PATH: REASON" on stderr and returns -1; the caller goes on with the
 * next report and ends with exit status 3. */
int wsph_report_write(wsph_report_sink sink, const char *format, const char *path,
		      const struct wsph_results *r, const struct wsph_report_opts *o);

/* Helpers shared by the writers, independent of the locale. */
int64_t wsph_report_millis(double seconds); /* rounded; 0 for negative or NaN */
/* "12.345": seconds with exactly three decimals and a '.'. len >= 32 always suffices. */
void wsph_report_format_millis(char *buf, size_t len, int64_t ms);
/* "2026-01-31T10:00:00": UTC, no zone suffix. len >= 32 always suffices. */
void wsph_report_format_timestamp(char *buf, size_t len, int64_t utc_seconds);

#endif
