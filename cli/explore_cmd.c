/* wspharness explore (explore_cmd.h): the model, the batch file, the children's command line,
 * progress and the summary; harness/explore.c does the exploring. */
#include "explore_cmd.h"

#include "explore.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_BAD_INPUT = 2, EXIT_INTERNAL = 3 };

/* --model, or the scenarios' explore.yaml, or the built-in weights. */
static int load_model(const struct options *o, const char *scenarios_dir,
		      struct wsph_explore_model *m)
{
	struct wsph_diag diag;
	char path[4200];
	wsph_explore_model_default(m);
	if (o->model)
		snprintf(path, sizeof path, "%s", o->model);
	else if (scenarios_dir)
		snprintf(path, sizeof path, "%s/explore.yaml", scenarios_dir);
	else
		return 0;
	if (!o->model && !wsph_plat_is_file(path))
		return 0;
	if (wsph_explore_model_load(m, path, &diag) != 0) {
		fprintf(stderr, "%s\n", diag.text);
		return -1;
	}
	return 0;
}

/* The command line a Windows child starts with: a run of the batch file (on POSIX the children
 * are forks and never read it). */
static int child_argv(const struct options *o, const char *batch, const char *rules, char *timeout,
		      size_t tlen, char **argv)
{
	int n = 0;
	argv[n++] = o->argv[0];
	argv[n++] = "run";
	argv[n++] = (char *)o->provider;
	argv[n++] = "--scenarios";
	argv[n++] = (char *)batch;
	argv[n++] = "--rules";
	argv[n++] = (char *)rules;
	if (o->kinds & WSPH_KIND_NONIFS)
		argv[n++] = "--non-ifs";
	if (o->kinds & WSPH_KIND_IFS)
		argv[n++] = "--ifs";
	if (o->layered) {
		argv[n++] = "--lower";
		argv[n++] = (char *)o->lower;
	}
	if (o->lower_nonifs)
		argv[n++] = "--lower-non-ifs";
	snprintf(timeout, tlen, "%g", o->timeout > 0 ? o->timeout : 5.0);
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n] = NULL;
	return n;
}

/* Findings at several sites may shrink to the same sequence, and so to the same file: it is
 * listed once. */
static int named_before(const struct wsph_explore_summary *s, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (!strcmp(s->files[k], s->files[i]))
			return 1;
	return 0;
}

static void summary(const struct wsph_explore_summary *s, int quiet)
{
	fprintf(stderr, "explore: %lu sequences (%lu cases with shrinking) in %.1f s, %.1f sequences/s; "
			"%lu finding(s), %lu case(s) crashed or timed out\n",
		s->sequences, s->cases_run, s->seconds, s->seconds > 0 ? s->sequences / s->seconds : 0,
		s->findings, s->errors);
	for (size_t i = 0; !quiet && i < s->n_files; i++)
		if (!named_before(s, i))
			printf("%s  %s\n", s->rules[i], s->files[i]);
}

int wsph_explore_command(struct options *o, struct wsph_run_config *cfg,
			 const char *scenarios_dir, const char *rules)
{
	struct wsph_explore_model model;
	struct wsph_explore_config ec;
	struct wsph_explore_summary *sum = calloc(1, sizeof *sum);
	struct wsph_diag diag;
	char batch[4200], timeout[32], command[600], *argv[20];
	static volatile int interrupted;
	if (!sum)
		return EXIT_INTERNAL;
	if (load_model(o, scenarios_dir, &model) != 0) {
		free(sum);
		return EXIT_BAD_INPUT;
	}
	memset(&ec, 0, sizeof ec);
	ec.out_dir = o->out_dir ? o->out_dir : "explore-findings";
	snprintf(batch, sizeof batch, "%s/.explore-batch.yaml", ec.out_dir);
	if (wsph_plat_mkdirs(batch) != 0) {
		fprintf(stderr, "wspharness: %s: cannot make the folder\n", ec.out_dir);
		free(sum);
		return EXIT_BAD_INPUT;
	}
	if (!o->timeout)
		cfg->timeout_ms = 5000; /* a sequence that waits is not worth the default 10 s */
	cfg->argc = child_argv(o, batch, rules, timeout, sizeof timeout, argv);
	cfg->argv = argv;
	wsph_plat_catch_interrupts(&interrupted);
	snprintf(command, sizeof command, "wspharness explore --seed %lu --max-steps %u: %s",
		 o->seed, o->max_steps ? o->max_steps : WSPH_EXPLORE_DEFAULT_STEPS, o->provider);
	ec.run = *cfg;
	ec.model = &model;
	ec.seed = o->seed;
	ec.runs = o->runs;
	ec.seconds = o->explore_seconds ? o->explore_seconds : (o->runs ? 0 : 60);
	ec.max_steps = o->max_steps ? o->max_steps : WSPH_EXPLORE_DEFAULT_STEPS;
	ec.work_file = batch;
	ec.command = command;
	ec.progress = o->quiet ? NULL : stderr;
	ec.interrupted = &interrupted;
	int rc = wsph_explore_run(&ec, sum, &diag);
	if (rc == 0)
		wsph_plat_remove_file(batch);
	if (rc == 1)
		fprintf(stderr, "wspharness: %s\n", cfg->bad_input);
	else if (rc != 0)
		fprintf(stderr, "wspharness: %s\n", diag.text);
	else
		summary(sum, o->quiet);
	/* a case that crashed or timed out is no pass either (a provider that crashes at load
	 * finds nothing to judge): it fails the exploration, though no file is written for it */
	int status = rc == 1		       ? EXIT_BAD_INPUT
		     : rc			       ? EXIT_INTERNAL
		     : sum->findings || sum->errors ? EXIT_FAIL
						       : EXIT_PASS;
	free(sum);
	return status;
}
