/* The reporter interface: writers that read the frozen results model, and a name -> writer lookup. */
#ifndef WSPH_REPORT_H
#define WSPH_REPORT_H

#include "results.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WSPH_REPORT_TRACE_CAP_DEFAULT 65536
#define WSPH_COLOR_AUTO (-1)

struct wsph_report_opts {
	int deterministic; /* no times, hostname "localhost", fixed timestamp 1970-01-01T00:00:00,
			      pointer values as 0x<ptrN> and thread IDs as 1, 2, ... (casemap.h) */
	int color;	   /* 1 always, 0 never, WSPH_COLOR_AUTO: when the stream is a terminal */
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

/* Whether to colour `stream`: requested is 1 (always), 0 (never) or WSPH_COLOR_AUTO, which means
 * a terminal, unless NO_COLOR is set and not empty. */
int wsph_console_color(FILE *stream, int requested);
/* Progress while running, for wsph_run_config.progress with ctx = the console's
 * struct wsph_report_opts (or NULL): "[12/48] sockets.stream/connect-accept-transfer[nonifs] ...
 * ok" (FAIL, ERROR, skip) on stderr when stderr is a terminal (one updating line) or verbose. */
void wsph_console_progress(void *ctx, size_t done, size_t total, const struct wsph_case *c);

/* On a stderr that is not a terminal (where the progress line above does not update in place),
 * and unless deterministic: a line every WSPHARNESS_PROGRESS_INTERVAL_MS (default 5000) while the
 * run lasts, "[12/48]  25% 00:31 elapsed, current: <case ID>", and one at the end of a run that
 * lasted longer than that if none came yet and a case finished. Start before wsph_run, stop after it. Returns 0, or -1
 * with err saying why when the variable is not a number of milliseconds from 1 to 3600000 (bad
 * input). The ticker follows wsph_console_progress and, for the current case,
 * wsph_console_progress_next (wsph_run_config.progress_next). */
int wsph_console_ticker_start(const struct wsph_report_opts *o, char *err, size_t errlen);
void wsph_console_ticker_stop(void);
void wsph_console_progress_next(void *ctx, size_t done, size_t total, const struct wsph_case *next);

/* `wspharness show TRACE`: prints a JSON-lines trace for people. Returns 0, or 2 after printing
 * "file:line: message" on stderr when the file cannot be read or is not a wspharness trace. */
int wsph_show_trace(const char *path, FILE *out);

/* "junit", "console", "tap", "trace", "matrix", "matrix-html"; NULL for an unknown name. */
wsph_reporter wsph_reporter_find(const char *name);

/* Writes the report to path ("-" means stdout; README.md, "Reports"): creates the parent
 * directories; a path that exists and is not a regular file (a FIFO, /dev/null, NUL) is written
 * directly; otherwise a new file with a unique name, created next to the file to replace (path, or
 * the file a symbolic link at path leads to), is written and renamed over it atomically. Returns
 * 0, or -1 with errno set, leaving the previous file whole and no temporary file behind. */
int wsph_report_to_path(const char *path, wsph_reporter fn, const struct wsph_results *r,
			const struct wsph_report_opts *o);
/* One requested report: wsph_report_to_path with the writer named format. On failure prints
 * "wspharness: cannot write PATH: REASON" on stderr and returns -1; the caller goes on with the
 * next report and ends with exit status 3. */
int wsph_report_write(const char *format, const char *path, const struct wsph_results *r,
		      const struct wsph_report_opts *o);
#define WSPH_REPORT_PATH_CAP 4096 /* bytes of a report's path, the file replaced and its temp */

/* Helpers shared by the writers, independent of the locale. */
int64_t wsph_report_millis(double seconds); /* rounded; 0 for negative or NaN */
/* "12.345": seconds with exactly three decimals and a '.'. len >= 32 always suffices. */
void wsph_report_format_millis(char *buf, size_t len, int64_t ms);
/* "2026-01-31T10:00:00": UTC, no zone suffix. len >= 32 always suffices. */
void wsph_report_format_timestamp(char *buf, size_t len, int64_t utc_seconds);

#endif
