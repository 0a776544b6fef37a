/* A run's progress on stderr: the runner's callbacks for each finished case and for the case due
 * next, and, on a stderr that is not a terminal, a thread that prints a line every few seconds
 * (README.md, "Reports"). The lines' text comes from the caller (the program passes the console
 * writer's, reports/console.c); this file owns the thread and the clock. Also whether a stream
 * gets colour. */
#ifndef WSPH_PROGRESS_H
#define WSPH_PROGRESS_H

#include "results.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WSPH_COLOR_AUTO (-1)

/* Whether to colour `stream`: requested is 1 (always), 0 (never) or WSPH_COLOR_AUTO, which means
 * a terminal, unless NO_COLOR is set and not empty. */
int wsph_term_color(FILE *stream, int requested);

struct wsph_progress {
	/* Each case as it finishes, in suite order (NULL: nothing): done of total, with ctx. */
	void (*on_case)(void *ctx, size_t done, size_t total, const struct wsph_case *c);
	void *ctx;
	/* The case's ID as the periodic line names it (malloc'd; NULL for none). */
	char *(*label)(const struct wsph_case *c);
	/* The periodic line on out: done of total, whole seconds since the start, and the case the
	 * run waits for (NULL: none). */
	void (*tick_line)(FILE *out, size_t done, size_t total, uint64_t elapsed_s,
			  const char *current);
	/* Print the periodic line: the caller's choice (stderr is no terminal, the run is not
	 * deterministic). */
	int tick;
};

/* Before wsph_run (p lives until wsph_progress_stop): with p->tick, a line every
 * WSPHARNESS_PROGRESS_INTERVAL_MS (default 5000) while the run lasts, and one at the end of a run
 * that lasted longer than that if none came yet and a case finished. Returns 0, or -1 with err
 * saying why when the variable is not a number of milliseconds from 1 to 3600000 (bad input). */
int wsph_progress_start(struct wsph_progress *p, char *err, size_t errlen);
void wsph_progress_stop(void);

/* wsph_run_config.progress and .progress_next, with progress_ctx = the struct wsph_progress:
 * the count and the current case for the periodic line, and each finished case to p->on_case. */
void wsph_progress_case(void *ctx, size_t done, size_t total, const struct wsph_case *c);
void wsph_progress_next(void *ctx, size_t done, size_t total, const struct wsph_case *next);

#endif
