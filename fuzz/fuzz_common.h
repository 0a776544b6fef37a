/* What every fuzz target checks about a load error: one located line that names the input. */
#ifndef WSPH_FUZZ_COMMON_H
#define WSPH_FUZZ_COMMON_H

#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_FILE "fuzz.yaml"

/* Any input that fails must fail with "fuzz.yaml:LINE:COLUMN: message": a positive line and
 * column, a message that is not empty, and no line break (a message is one line of stderr). An
 * input given as a string never gives the unlocated "file: message" form, which is kept for files
 * that cannot be read. A message that breaks this is a finding: abort() makes libFuzzer save it. */
static inline void fuzz_check_diag(const struct wsph_diag *diag)
{
	const char *s = diag->text, *p;
	const size_t n = strlen(FUZZ_FILE);
	long line, col;
	char *end;

	if (!memchr(s, '\0', sizeof diag->text) || strncmp(s, FUZZ_FILE ":", n + 1) != 0)
		goto bad;
	line = strtol(s + n + 1, &end, 10);
	if (line < 1 || *end != ':')
		goto bad;
	col = strtol(end + 1, &end, 10);
	if (col < 1 || strncmp(end, ": ", 2) != 0 || end[2] == '\0')
		goto bad;
	for (p = end + 2; *p; p++)
		if (*p == '\n' || *p == '\r')
			goto bad;
	return;
bad:
	fprintf(stderr, "fuzz: the load failed with a message that is not one located line:\n%s\n",
		s);
	abort();
}

/* A location the loader put in the model. */
static inline void fuzz_check_loc(const struct wsph_loc *loc, const char *file)
{
	if (loc->file != file || loc->line < 1 || loc->col < 1) {
		fprintf(stderr, "fuzz: a loaded node has no location (%s:%d:%d)\n",
			loc->file ? loc->file : "(null)", loc->line, loc->col);
		abort();
	}
}

#endif
