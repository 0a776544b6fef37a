/* The process-wide state a case can change, taken and compared (see procstate.h). */
#include "procstate.h"

#include "platform/platform.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int wsph_procstate_take(struct wsph_procstate *s)
{
	memset(s, 0, sizeof *s);
	if (wsph_plat_cwd(s->cwd, sizeof s->cwd) != 0)
		s->cwd[0] = '\0';
	s->umask = wsph_plat_umask();
	char **env = wsph_plat_environ();
	size_t n = 0;
	while (env && env[n])
		n++;
	s->env = calloc(n + 1, sizeof *s->env);
	if (!s->env)
		return -1;
	for (size_t i = 0; i < n; i++) {
		s->env[i] = wsph_strdup(env[i]);
		if (!s->env[i]) {
			wsph_procstate_free(s);
			return -1;
		}
	}
	s->n_env = n;
	qsort(s->env, n, sizeof *s->env, by_text);
	return 0;
}

static int harness_own(const char *var)
{
	return !strncmp(var, "WSPH_LOWER_DIR=", 15) || !strncmp(var, "WSPH_CATALOG_DIR=", 17);
}

/* The variable's name, up to its '=' (at most len - 1 bytes). */
static const char *name_of(const char *var, char *buf, size_t len)
{
	size_t n = strcspn(var, "=");
	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), var);
	return buf;
}

/* The first variable in one sorted list and not the other, or NULL. */
static const char *first_missing(char **a, size_t na, char **b, size_t nb)
{
	size_t j = 0;
	for (size_t i = 0; i < na; i++) {
		if (harness_own(a[i]))
			continue;
		while (j < nb && strcmp(b[j], a[i]) < 0)
			j++;
		if (j == nb || strcmp(b[j], a[i]))
			return a[i];
	}
	return NULL;
}

static int env_diff(const struct wsph_procstate *a, const struct wsph_procstate *b, char *why,
		    size_t len)
{
	char name[128], other[128];
	const char *gone = first_missing(a->env, a->n_env, b->env, b->n_env);
	const char *added = first_missing(b->env, b->n_env, a->env, a->n_env);
	if (!gone && !added)
		return 0;
	if (gone && added &&
	    !strcmp(name_of(gone, name, sizeof name), name_of(added, other, sizeof other)))
		snprintf(why, len, "the scenario changed the environment variable %s (from '%s' to '%s')",
			 name, gone + strlen(name) + 1, added + strlen(name) + 1);
	else if (added)
		snprintf(why, len, "the scenario set the environment variable %s",
			 name_of(added, name, sizeof name));
	else
		snprintf(why, len, "the scenario removed the environment variable %s",
			 name_of(gone, name, sizeof name));
	return 1;
}

int wsph_procstate_diff(const struct wsph_procstate *a, const struct wsph_procstate *b, char *why,
			size_t len)
{
	if (strcmp(a->cwd, b->cwd)) {
		snprintf(why, len, "the scenario changed the working directory from '%s' to '%s'",
			 a->cwd, b->cwd);
		return 1;
	}
	if (a->umask != b->umask) {
		snprintf(why, len, "the scenario changed the file-creation mask (umask) from %03o to %03o",
			 a->umask, b->umask);
		return 1;
	}
	if (!a->env || !b->env)
		return 0;
	return env_diff(a, b, why, len);
}

void wsph_procstate_free(struct wsph_procstate *s)
{
	for (size_t i = 0; s->env && i < s->n_env; i++)
		free(s->env[i]);
	free(s->env);
	s->env = NULL;
	s->n_env = 0;
}
