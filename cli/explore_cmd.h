/* wspharness explore: the command's work after main.c has loaded the rules and checked the
 * provider (explore_cmd.c). */
#ifndef WSPH_EXPLORE_CMD_H
#define WSPH_EXPLORE_CMD_H

#include "options.h"
#include "runner.h"

/* Explores with cfg (provider, kinds, rule set and time limits filled). scenarios_dir: the
 * bundled scenarios (their explore.yaml is the default model; may be NULL); rules: the rule
 * file's path (a Windows child loads it again). Returns the exit status. */
int wsph_explore_command(struct options *o, struct wsph_run_config *cfg,
			 const char *scenarios_dir, const char *rules);

#endif
