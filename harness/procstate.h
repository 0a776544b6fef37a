/* The process-wide state a case can change (working directory, file-creation mask, environment),
 * taken before a case and compared after it: a case that changed it would change the next one's. */
#ifndef WSPH_PROCSTATE_H
#define WSPH_PROCSTATE_H

#include <stddef.h>

struct wsph_procstate {
	char cwd[4096];
	unsigned umask;
	char **env; /* sorted copies of "NAME=value" */
	size_t n_env;
};

/* 0, or -1 when out of memory (the state is then empty and compares as unchanged). */
int wsph_procstate_take(struct wsph_procstate *s);
/* Says in why (one line) what changed from a to b and returns 1; 0 when nothing did. The
 * harness's own variables (WSPH_LOWER_DIR, WSPH_CATALOG_DIR) do not count. */
int wsph_procstate_diff(const struct wsph_procstate *a, const struct wsph_procstate *b, char *why,
			size_t len);
void wsph_procstate_free(struct wsph_procstate *s);

#endif
