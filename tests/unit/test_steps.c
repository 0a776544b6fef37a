#define _POSIX_C_SOURCE 200809L /* open_memstream */
/* Unit tests of the step vocabulary (harness/steps.c) and of what reads it: the loader parses
 * every key and applies every default of the table, the driver has an action for every step. */
#include "driver.h"
#include "fn.h"
#include "scenario.h"
#include "steps.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(steps, rows_are_in_operation_order_and_found_by_name)
{
	for (int op = 0; op < WSPH_OP_COUNT; op++) {
		const struct wsph_step_def *d = wsph_step_def((enum wsph_op)op);
		cr_assert_not_null(d);
		cr_expect_eq((int)d->op, op, "row %d says op %d", op, (int)d->op);
		cr_expect_eq(wsph_step_find(d->name, strlen(d->name)), d, "%s", d->name);
		cr_expect_str_eq(wsph_op_name((enum wsph_op)op), d->name);
		cr_expect(d->fn == -1 || (d->fn >= 0 && d->fn < WSPH_FN_COUNT), "%s", d->name);
	}
	cr_expect_null(wsph_step_def(WSPH_OP_COUNT));
	cr_expect_null(wsph_step_find("sockets", 7));
	cr_expect_null(wsph_step_find("sock", 4));
}

Test(steps, every_key_is_named_and_parsed_and_every_step_has_an_action)
{
	for (int k = 1; k < WSPH_KEY_COUNT; k++) {
		const char *name = wsph_key_name((enum wsph_key)k);
		cr_expect(strcmp(name, "?") != 0, "key %d has no name", k);
		cr_expect_eq(wsph_key_find(name, strlen(name)), k, "%s", name);
		cr_expect(wsph_scenario_parses_key(k), "the loader has no parser for '%s'", name);
	}
	for (int op = 0; op < WSPH_OP_COUNT; op++)
		cr_expect(wsph_drive_has_action(op), "the driver has no action for '%s'",
			  wsph_op_name((enum wsph_op)op));
}

Test(steps, a_row_takes_a_key_once_with_its_required_keys_first)
{
	for (int op = 0; op < WSPH_OP_COUNT; op++) {
		const struct wsph_step_def *d = wsph_step_def((enum wsph_op)op);
		size_t n = wsph_step_n_args(d);
		int optional_seen = 0;
		for (size_t i = 0; i < n; i++) {
			const struct wsph_step_arg *a = &d->args[i];
			cr_expect_eq(wsph_step_arg(d, a->key), a, "%s takes '%s' twice", d->name,
				     wsph_key_name(a->key));
			if (a->flags & WSPH_ARG_REQUIRED)
				cr_expect(!optional_seen, "%s: required '%s' after an optional key",
					  d->name, wsph_key_name(a->key));
			else
				optional_seen = 1;
			cr_expect(!(a->def && (a->flags & WSPH_ARG_REQUIRED)),
				  "%s: '%s' is required and has a default", d->name,
				  wsph_key_name(a->key));
		}
	}
}

/* A value for a required key of a step, using the names the scenario's first steps bind. */
static const char *sample(enum wsph_key key)
{
	switch (key) {
	case WSPH_KEY_SOCKET: return "s";
	case WSPH_KEY_AS: return "t";
	case WSPH_KEY_ADDR: return "'127.0.0.1:5000'";
	case WSPH_KEY_DATA: return "x";
	case WSPH_KEY_OPTION: return "SO_TYPE";
	case WSPH_KEY_VALUE: return "1";
	case WSPH_KEY_COMMAND: return "FIONBIO";
	case WSPH_KEY_EVENTS: return "[FD_READ]";
	case WSPH_KEY_EVENT: return "e";
	case WSPH_KEY_OP: return "o";
	case WSPH_KEY_THREADS: return "{a: [{barrier: g}], b: [{barrier: g}]}";
	case WSPH_KEY_NAME: return "g";
	case WSPH_KEY_THREAD: return "b";
	default: return NULL;
	}
}

/* Loads a scenario that binds s, e and o, then runs the step `op` with only its required keys;
 * returns that step (the suite is the caller's to free). */
static const struct wsph_step *load_minimal(struct wsph_suite *suite, enum wsph_op op)
{
	const struct wsph_step_def *d = wsph_step_def(op);
	char text[2048], args[512];
	size_t o = 0;
	for (size_t i = 0; i < wsph_step_n_args(d); i++) {
		const struct wsph_step_arg *a = &d->args[i];
		if (!(a->flags & (WSPH_ARG_REQUIRED | WSPH_ARG_UNLESS_NONE)))
			continue;
		cr_assert_not_null(sample(a->key), "no sample for '%s'", wsph_key_name(a->key));
		o += (size_t)snprintf(args + o, sizeof args - o, "%s%s: %s", o ? ", " : "",
				      wsph_key_name(a->key), sample(a->key));
	}
	args[o] = '\0';
	/* in a thread of a parallel block only: the first one's */
	int in_thread = op == WSPH_OP_BARRIER || op == WSPH_OP_BLOCKED;
	if (op == WSPH_OP_BARRIER)
		snprintf(args, sizeof args, "threads: {a: [{barrier: g}], b: [{barrier: g}]}");
	if (op == WSPH_OP_BLOCKED)
		snprintf(args, sizeof args, "threads: {a: [{blocked: b}], b: [{startup: }]}");
	snprintf(text, sizeof text,
		 "scenarios:\n  - name: a\n    checks: [SPI.Errno.OnFailure]\n    steps:\n"
		 "      - startup:\n      - socket: {as: s}\n"
		 "      - eventselect: {socket: s, events: [], event: e}\n"
		 "      - send: {socket: s, data: x, overlapped: true, op: o}\n"
		 "      - %s: {%s}\n",
		 in_thread ? "parallel" : d->name, args);
	struct wsph_diag diag;
	memset(suite, 0, sizeof *suite);
	cr_assert_eq(wsph_scenario_load_string(suite, "t.yaml", text, strlen(text), NULL, &diag), 0,
		     "%s: %s", d->name, diag.text);
	/* a parallel step's threads' steps follow it */
	cr_assert_eq(suite->scenarios[0].n_steps, op == WSPH_OP_PARALLEL || in_thread ? 7 : 5);
	return &suite->scenarios[0].steps[in_thread ? 5 : 4];
}

Test(steps, every_step_loads_with_its_required_keys_and_gets_the_table_defaults)
{
	struct wsph_suite suite;
	for (int op = 0; op < WSPH_OP_COUNT; op++) {
		const struct wsph_step *st = load_minimal(&suite, (enum wsph_op)op);
		cr_expect_eq((int)st->op, op);
		switch (op) {
		case WSPH_OP_STARTUP:
			cr_expect_eq(st->version, 0x0202);
			cr_expect_eq(st->table, 0);
			break;
		case WSPH_OP_SOCKET: cr_expect_eq(st->sock_type, 1); break;
		case WSPH_OP_LISTEN: cr_expect_eq(st->backlog, 5); break;
		case WSPH_OP_SHUTDOWN: cr_expect_eq(st->how, 2); break;
		case WSPH_OP_GETSOCKOPT:
		case WSPH_OP_SETSOCKOPT: cr_expect_eq(st->level, 0xffff); break;
		case WSPH_OP_RECV:
		case WSPH_OP_RECVFROM:
			cr_expect_eq(st->len, 1024);
			cr_expect_eq(st->overlapped, 0);
			cr_expect_eq(st->completion, WSPH_COMPLETION_EVENT);
			break;
		case WSPH_OP_ASYNCSELECT:
		case WSPH_OP_WAITMESSAGE: cr_expect_eq(st->command, 0x8001); break;
		case WSPH_OP_SELECT: cr_expect_eq(st->timeout_ms, -1); break;
		case WSPH_OP_PARALLEL: cr_expect_eq(st->par->repeat, 1); break;
		case WSPH_OP_BLOCKED: cr_expect_eq(st->blocked_index, 1); break;
		default: break;
		}
		wsph_suite_free(&suite);
	}
}

Test(steps, a_written_value_wins_over_the_default)
{
	static const char text[] = "scenarios:\n  - name: a\n    checks: [SPI.Errno.OnFailure]\n"
				   "    steps:\n      - startup: {version: '1.1', table: B}\n";
	struct wsph_suite suite;
	struct wsph_diag diag;
	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_string(&suite, "t.yaml", text, sizeof text - 1, NULL, &diag),
		     0, "%s", diag.text);
	cr_expect_eq(suite.scenarios[0].steps[0].version, 0x0101);
	cr_expect_eq(suite.scenarios[0].steps[0].table, 1);
	wsph_suite_free(&suite);
}

Test(steps, the_markdown_table_has_a_row_per_step)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	wsph_steps_markdown(f);
	fclose(f);
	int rows = 0;
	for (char *p = buf; (p = strstr(p, "\n| `")) != NULL; p++)
		rows++;
	cr_expect_eq(rows, WSPH_OP_COUNT, "%s", buf);
	cr_expect(strstr(buf, "| `bind` | `socket` (a socket's name, or bogus; required), `addr` "
			      "(\"127.0.0.1:5000\"; required) | WSPBind | a startup, a socket |  |") !=
		  NULL,
		  "%s", buf);
	cr_expect(strstr(buf, "`how` (receive \\| send \\| both; default both)") != NULL, "%s", buf);
	free(buf);
}
