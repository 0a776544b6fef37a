/* libFuzzer target: the command line and environment parser (cli/options.c). The input is
 * NUL-separated arguments after argv[0]; one that starts with '=' is an environment variable
 * instead ("=NAME=value"). Whatever the input: exit status 0 or 2, a reason with 2, and on 0 every
 * value within its documented range. */
#include "filter.h"
#include "options.h"
#include "scenario.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 256

static char *env_names[MAX_ARGS], *env_values[MAX_ARGS];
static size_t n_env;

static const char *fake_getenv(const char *name)
{
	for (size_t i = n_env; i-- > 0;)
		if (!strcmp(env_names[i], name))
			return env_values[i];
	return NULL;
}

static int known(const char *format)
{
	static const char *const formats[] = {"junit", "tap", "trace", "matrix", "matrix-html",
					      "console"};
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(format, formats[i]))
			return 1;
	return 0;
}

static void fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz: %s (%s)\n", what, err);
	abort();
}

static void check_status(int rc, const char *err)
{
	if (rc != 0 && rc != 2)
		fail("a status other than 0 or 2", err);
	if (rc == 2 && !err[0])
		fail("bad input without a reason", err);
}

static void check_parsed(const struct options *o)
{
	if (!o->command || !o->kinds || (o->kinds & ~WSPH_KIND_ALL) || o->jobs > 64 ||
	    o->n_scenarios > WSPH_MAX_PATHS || o->n_reports > WSPH_MAX_PATHS)
		fail("a parsed value out of range", "");
	if (o->timeout != 0 && !(o->timeout >= 0.001 && o->timeout <= 86400))
		fail("--timeout out of range", "");
	if (o->have_shard && !(o->shard_k < o->shard_n && o->shard_n <= 1000000))
		fail("--shard out of range", "");
	char err[256];
	if (o->filter && wsph_filter_check(o->filter, err, sizeof err) != 0)
		fail("a filter that does not check", err);
	for (size_t i = 0; i < o->n_reports; i++)
		if (!o->reports[i].path || !known(o->reports[i].format))
			fail("a report without a path or with an unknown format", "");
}

static void check_limits(struct options *o)
{
	char err[1024] = "";
	int rc = wsph_options_env(o, fake_getenv, err, sizeof err);
	check_status(rc, err);
	if (rc)
		return;
	if (o->multiplier != 0 && !(o->multiplier >= 0.01 && o->multiplier <= 1000))
		fail("the multiplier out of range", "");
	if (o->shard_n && o->shard_k >= o->shard_n)
		fail("a shard out of range", "");
	unsigned ms = 0;
	rc = wsph_options_timeout_ms(o, &ms, err, sizeof err);
	check_status(rc, err);
	if (!rc && (ms < 1 || ms > 86400000u))
		fail("a time limit out of range", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "wspharness";
	n_env = 0;
	for (char *p = buf; p < buf + size && argc < MAX_ARGS; p += strlen(p) + 1) {
		char *eq = p[0] == '=' ? strchr(p + 1, '=') : NULL;
		if (eq && n_env < MAX_ARGS) {
			*eq = '\0';
			env_names[n_env] = p + 1;
			env_values[n_env++] = eq + 1;
		} else
			argv[argc++] = p;
	}
	argv[argc] = NULL;

	struct options o;
	char err[1024];
	int rc = wsph_options_parse(argc, argv, &o, known, err, sizeof err);
	check_status(rc, err);
	if (rc == 0) {
		check_parsed(&o);
		check_limits(&o);
	}
	free(buf);
	return 0;
}
