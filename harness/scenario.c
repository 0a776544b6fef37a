/* Loads scenario files into the scenario model, validating every value before anything runs. */
#include "scenario.h"

#include "fn.h"
#include "platform/platform.h"
#include "yamlutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *wsph_op_name(enum wsph_op op)
{
	const struct wsph_step_def *d = wsph_step_def(op);
	return d ? d->name : "?";
}

struct named {
	const char *name;
	long long value;
};

static const struct named option_names[] = {
	{"SO_DEBUG", 0x1},	 {"SO_ACCEPTCONN", 0x2}, {"SO_REUSEADDR", 0x4},
	{"SO_KEEPALIVE", 0x8},	 {"SO_BROADCAST", 0x20}, {"SO_LINGER", 0x80},
	{"SO_OOBINLINE", 0x100}, {"SO_SNDBUF", 0x1001},	 {"SO_RCVBUF", 0x1002},
	{"SO_ERROR", 0x1007},	 {"SO_TYPE", 0x1008},	 {NULL, 0},
};
static const struct named level_names[] = {{"SOL_SOCKET", 0xffff}, {NULL, 0}};
static const struct named event_names[] = {
	{"FD_READ", 0x1},  {"FD_WRITE", 0x2}, {"FD_OOB", 0x4}, {"FD_ACCEPT", 0x8},
	{"FD_CONNECT", 0x10}, {"FD_CLOSE", 0x20}, {NULL, 0}};
/* The WSPPROC_TABLE entries, in order (for lower.proctable_hole). */
static const char *const proc_entry_names[] = {
	"lpWSPAccept", "lpWSPAddressToString", "lpWSPAsyncSelect", "lpWSPBind",
	"lpWSPCancelBlockingCall", "lpWSPCleanup", "lpWSPCloseSocket", "lpWSPConnect",
	"lpWSPDuplicateSocket", "lpWSPEnumNetworkEvents", "lpWSPEventSelect",
	"lpWSPGetOverlappedResult", "lpWSPGetPeerName", "lpWSPGetSockName", "lpWSPGetSockOpt",
	"lpWSPGetQOSByName", "lpWSPIoctl", "lpWSPJoinLeaf", "lpWSPListen", "lpWSPRecv",
	"lpWSPRecvDisconnect", "lpWSPRecvFrom", "lpWSPSelect", "lpWSPSend", "lpWSPSendDisconnect",
	"lpWSPSendTo", "lpWSPSetSockOpt", "lpWSPShutdown", "lpWSPSocket", "lpWSPStringToAddress",
	NULL};
static const struct named command_names[] = {
	{"FIONBIO", 0x8004667e}, {"FIONREAD", 0x4004667f}, {NULL, 0}};

static char *dup_cstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* ---- freeing ---- */

static void names_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void parallel_free(struct wsph_parallel *par)
{
	if (!par)
		return;
	for (size_t i = 0; i < par->n_threads; i++)
		free(par->threads[i].name);
	names_list_free(par->barriers, par->n_barriers);
	free(par->parties);
	free(par);
}

static void step_free(struct wsph_step *st)
{
	parallel_free(st->par);
	free(st->barrier);
	free(st->blocked);
	free(st->socket);
	free(st->as);
	free(st->addr);
	free(st->data);
	free(st->rule);
	free(st->opname);
	free(st->event);
	for (int i = 0; i < 3; i++)
		names_list_free(st->sets[i], st->n_sets[i]);
	for (int i = 0; i < 2; i++)
		names_list_free(st->ready[i], st->n_ready[i]);
}

static void scenario_free(struct wsph_scenario *sc)
{
	size_t i;

	free(sc->name);
	if (sc->borrowed)
		return; /* a stress copy: the rest is the scenario's it copies */
	free(sc->description);
	for (i = 0; i < sc->n_checks; i++)
		free(sc->checks[i]);
	free(sc->checks);
	free(sc->check_locs);
	free(sc->faults);
	for (i = 0; i < sc->n_steps; i++)
		step_free(&sc->steps[i]);
	free(sc->steps);
}

void wsph_suite_free(struct wsph_suite *suite)
{
	size_t i;

	if (!suite)
		return;
	for (i = 0; i < suite->n_scenarios; i++)
		scenario_free(&suite->scenarios[i]);
	free(suite->scenarios);
	for (i = 0; i < suite->n_files; i++)
		free(suite->files[i]);
	free(suite->files);
	for (i = 0; i < suite->n_classnames; i++)
		free(suite->classnames[i]);
	free(suite->classnames);
	for (i = 0; i < suite->n_warnings; i++)
		free(suite->warnings[i]);
	free(suite->warnings);
	memset(suite, 0, sizeof *suite);
}

void wsph_suite_print_warnings(struct wsph_suite *suite, FILE *out)
{
	for (size_t i = 0; i < suite->n_warnings; i++) {
		fprintf(out, "wspharness: %s\n", suite->warnings[i]);
		free(suite->warnings[i]);
	}
	suite->n_warnings = 0;
}

/* ---- values ---- */

static int is_ident(const struct wsph_yaml_node *n)
{
	size_t i;

	if (n->len == 0)
		return 0;
	for (i = 0; i < n->len; i++) {
		char c = n->text[i];
		int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static int is_scenario_name(const struct wsph_yaml_node *n)
{
	size_t i;

	if (n->len == 0)
		return 0;
	for (i = 0; i < n->len; i++) {
		char c = n->text[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* A decimal number of at most `digits` digits without leading zeros, no larger than max. */
static const char *parse_decimal(const char *s, const char *end, int digits, long max, long *out)
{
	long v = 0;
	int n = 0;

	while (s < end && *s >= '0' && *s <= '9' && n <= digits) {
		v = v * 10 + (*s - '0');
		s++;
		n++;
	}
	if (n == 0 || n > digits || v > max || (n > 1 && s[-n] == '0'))
		return NULL;
	*out = v;
	return s;
}

/* "a.b.c.d:port" with decimal octets 0..255 and a port 0..65535. */
static int is_ipv4_port(const struct wsph_yaml_node *n)
{
	const char *s = n->text, *end = n->text + n->len;
	long v;
	int i;

	for (i = 0; i < 4; i++) {
		s = parse_decimal(s, end, 3, 255, &v);
		if (!s || s == end || *s != (i < 3 ? '.' : ':'))
			return 0;
		s++;
	}
	s = parse_decimal(s, end, 5, 65535, &v);
	return s == end;
}

/* A scalar naming one of `names`, or an integer in [min, max]. Integers above INT32_MAX (up to
 * UINT32_MAX) wrap to the signed 32-bit value a Winsock int or LONG would hold. */
static int named_or_int(const struct wsph_yaml_node *n, const char *what, const struct named *names,
			long long min, long long max, int wrap, long long *out,
			struct wsph_diag *diag)
{
	char list[256], found[112];
	size_t o = 0;
	long long v;
	int i;

	if (n->type == WSPH_YAML_SCALAR) {
		for (i = 0; names && names[i].name; i++)
			if (wsph_yaml_scalar_is(n, names[i].name)) {
				*out = names[i].value;
				return 0;
			}
		if (!wsph_yaml_is_null(n) && wsph_yaml_parse_integer(n->text, n->len, &v) == 0 &&
		    v >= min && v <= max) {
			if (wrap && v > INT32_MAX)
				v -= 4294967296LL;
			*out = v;
			return 0;
		}
	}
	wsph_yaml_describe(n, found, sizeof found);
	if (!names)
		return wsph_yaml_error(diag, n, "%s must be an integer in %lld..%lld (found %s)",
				       what, min, max, found);
	list[0] = '\0';
	for (i = 0; names[i].name && o < sizeof list; i++) {
		int w = snprintf(list + o, sizeof list - o, "%s, ", names[i].name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return wsph_yaml_error(diag, n,
			       "%s must be one of %sor an integer in %lld..%lld (found %s)", what,
			       list, min, max, found);
}

static int int32_value(const struct wsph_yaml_node *n, const char *what, long long *out,
		       struct wsph_diag *diag)
{
	return named_or_int(n, what, NULL, INT32_MIN, UINT32_MAX, 1, out, diag);
}

/* A WSA error written as a name (WSAENOBUFS) or a decimal number, greater than zero. */
static int error_code(const struct wsph_yaml_node *n, const char *what, const char *extra, int *out,
		      struct wsph_diag *diag)
{
	char found[112];
	int code;

	if (n->type == WSPH_YAML_SCALAR && !wsph_yaml_is_null(n) &&
	    !memchr(n->text, '\0', n->len) && wsph_error_by_name(n->text, &code) == 0 && code > 0) {
		*out = code;
		return 0;
	}
	return wsph_yaml_error(diag, n,
			       "%s must be %sa WSA error name or a number above 0 (found %s)", what,
			       extra, wsph_yaml_describe(n, found, sizeof found));
}

/* ---- steps ---- */

/* The names earlier steps of the scenario bound: sockets (`as`), overlapped operations (`op`) and
 * client events (eventselect's `event`). */
struct bound_names {
	struct wsph_strset sockets, ops, events;
};

/* What a key's parser works with: the step being filled, its row's entry for the key, the names
 * bound so far and where a message goes. */
struct arg_ctx {
	struct wsph_step *st;
	const struct wsph_step_def *def;
	const struct wsph_step_arg *arg;
	const struct bound_names *names;
	struct wsph_diag *diag;
	char what[40]; /* "'key'" */
};

/* A name (socket, op or event) an earlier step bound, or one this step binds. */
static int name_arg(const struct wsph_yaml_node *v, const char *what, const char *kind, int binds,
		    const struct wsph_strset *known, char **out, struct wsph_diag *diag)
{
	char found[112];
	if (wsph_yaml_want_name(v, what, diag))
		return -1;
	if (!is_ident(v))
		return wsph_yaml_error(diag, v, "%s must be a name matching [A-Za-z_][A-Za-z0-9_]* "
						"(found %s)",
				       what, wsph_yaml_describe(v, found, sizeof found));
	if (!binds && !wsph_strset_find(known, v->text, v->len))
		return wsph_yaml_error(diag, v, "%s %s is not defined by an earlier step", kind,
				       wsph_yaml_describe(v, found, sizeof found));
	return wsph_yaml_dup_string(v, what, out, diag);
}

/* A list of socket names for select. */
static int socket_list(const struct wsph_yaml_node *v, const char *what,
		       const struct wsph_strset *sockets, char ***out, size_t *n,
		       struct wsph_diag *diag)
{
	char found[112];
	if (wsph_yaml_want_sequence(v, what, 0, diag))
		return -1;
	if (v->n_items > 64)
		return wsph_yaml_error(diag, v, "%s holds more than 64 sockets (FD_SETSIZE)", what);
	*out = calloc(v->n_items ? v->n_items : 1, sizeof **out);
	if (!*out)
		return wsph_yaml_error(diag, v, "out of memory");
	for (size_t i = 0; i < v->n_items; i++) {
		const struct wsph_yaml_node *it = v->items[i];
		if (wsph_yaml_want_name(it, what, diag))
			return -1;
		if (!wsph_yaml_scalar_is(it, "bogus") && !wsph_strset_find(sockets, it->text, it->len))
			return wsph_yaml_error(diag, it, "socket %s is not defined by an earlier step",
					       wsph_yaml_describe(it, found, sizeof found));
		if (wsph_yaml_dup_string(it, what, &(*out)[i], diag))
			return -1;
		(*n)++;
	}
	return 0;
}

/* One of `names` (NULL-terminated) into *out. */
static int enum_arg(struct arg_ctx *c, const struct wsph_yaml_node *v, const char *const *names,
		    int *out)
{
	int idx;
	if (wsph_yaml_enum(v, c->what, names, &idx, c->diag))
		return -1;
	*out = idx;
	return 0;
}

static const char *const bools[] = {"false", "true", NULL};

/* socket, as: a socket name; `as` binds it, `socket` names one an earlier step bound. */
static int arg_socket(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	int is_as = c->arg->flags & WSPH_ARG_BINDS;
	char found[112];
	if (wsph_yaml_want_name(v, c->what, c->diag))
		return -1;
	if (!is_ident(v))
		return wsph_yaml_error(c->diag, v,
				       "%s must be a socket name matching [A-Za-z_][A-Za-z0-9_]* "
				       "(found %s)",
				       c->what, wsph_yaml_describe(v, found, sizeof found));
	if (is_as && wsph_yaml_scalar_is(v, "bogus"))
		return wsph_yaml_error(c->diag, v,
				       "'bogus' is reserved for a handle nobody issued and cannot be "
				       "bound with 'as'");
	if (!is_as && !wsph_yaml_scalar_is(v, "bogus") &&
	    !wsph_strset_find(&c->names->sockets, v->text, v->len))
		return wsph_yaml_error(c->diag, v, "socket %s is not defined by an earlier step",
				       wsph_yaml_describe(v, found, sizeof found));
	return wsph_yaml_dup_string(v, c->what, is_as ? &c->st->as : &c->st->socket, c->diag);
}

static int arg_type(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	static const char *const types[] = {"stream", "dgram", NULL};
	if (enum_arg(c, v, types, &c->st->sock_type))
		return -1;
	c->st->sock_type++; /* SOCK_STREAM 1, SOCK_DGRAM 2 */
	return 0;
}

static int arg_table(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	static const char *const tables[] = {"A", "B", NULL};
	return enum_arg(c, v, tables, &c->st->table);
}

static int arg_how(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	static const char *const hows[] = {"receive", "send", "both", NULL};
	return enum_arg(c, v, hows, &c->st->how);
}

static int arg_version(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long major, minor;
	const char *s, *end;
	char found[112];
	if (wsph_yaml_want_string(v, c->what, c->diag))
		return -1;
	end = v->text + v->len;
	s = parse_decimal(v->text, end, 3, 255, &major);
	if (s && s < end && *s == '.')
		s = parse_decimal(s + 1, end, 3, 255, &minor);
	else
		s = NULL;
	if (!s || s != end)
		return wsph_yaml_error(c->diag, v,
				       "'version' must be major.minor with both in 0..255, like "
				       "\"2.2\" (found %s)",
				       wsph_yaml_describe(v, found, sizeof found));
	c->st->version = (int)(major | (minor << 8));
	return 0;
}

static int arg_addr(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	char found[112];
	if (wsph_yaml_want_string(v, c->what, c->diag))
		return -1;
	if (!is_ipv4_port(v))
		return wsph_yaml_error(c->diag, v,
				       "'addr' must be an IPv4 address and port like 127.0.0.1:5000 "
				       "(found %s)",
				       wsph_yaml_describe(v, found, sizeof found));
	return wsph_yaml_dup_string(v, c->what, &c->st->addr, c->diag);
}

static int arg_backlog(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (wsph_yaml_integer(v, c->what, INT32_MIN, INT32_MAX, &ll, c->diag))
		return -1;
	c->st->backlog = (int)ll;
	return 0;
}

static int arg_len(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (wsph_yaml_integer(v, c->what, 1, 65536, &ll, c->diag))
		return -1;
	c->st->len = (size_t)ll;
	return 0;
}

/* Bytes, not text: a "\0" escape is kept. */
static int arg_data(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	char found[112];
	if (v->type != WSPH_YAML_SCALAR || wsph_yaml_is_null(v))
		return wsph_yaml_error(c->diag, v, "'data' must be a string (found %s)",
				       wsph_yaml_describe(v, found, sizeof found));
	c->st->data = malloc(v->len + 1);
	if (!c->st->data)
		return wsph_yaml_error(c->diag, v, "out of memory");
	memcpy(c->st->data, v->text, v->len + 1);
	c->st->data_len = v->len;
	c->st->has_data = 1;
	return 0;
}

static int arg_level(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (named_or_int(v, c->what, level_names, INT32_MIN, UINT32_MAX, 1, &ll, c->diag))
		return -1;
	c->st->level = (int)ll;
	return 0;
}

static int arg_option(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (named_or_int(v, c->what, option_names, INT32_MIN, UINT32_MAX, 1, &ll, c->diag))
		return -1;
	c->st->option = (int)ll;
	return 0;
}

static int arg_command(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (named_or_int(v, c->what, command_names, 0, UINT32_MAX, 0, &ll, c->diag))
		return -1;
	c->st->command = (unsigned long)ll;
	return 0;
}

static int arg_value(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (int32_value(v, c->what, &ll, c->diag))
		return -1;
	c->st->value = (long)ll;
	c->st->has_value = 1;
	return 0;
}

static int arg_result(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (int32_value(v, c->what, &ll, c->diag))
		return -1;
	c->st->result = (long)ll;
	c->st->has_result = 1;
	return 0;
}

/* A list of FD_* names; [] cancels a registration. */
static int arg_events(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long mask = 0;
	long long ll;
	if (wsph_yaml_want_sequence(v, c->what, 0, c->diag))
		return -1;
	for (size_t i = 0; i < v->n_items; i++) {
		if (named_or_int(v->items[i], "each 'events' item", event_names, 1, 0x3ff, 1, &ll,
				 c->diag))
			return -1;
		mask |= (long)ll;
	}
	c->st->value = mask;
	c->st->has_value = 1;
	return 0;
}

static int arg_msg(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (wsph_yaml_integer(v, c->what, 0x400, 0xbfff, &ll, c->diag))
		return -1;
	c->st->command = (unsigned long)ll;
	return 0;
}

static int arg_overlapped(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	return enum_arg(c, v, bools, &c->st->overlapped);
}

static int arg_completion(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	static const char *const how[] = {"event", "routine", "none", NULL};
	return enum_arg(c, v, how, &c->st->completion);
}

static int arg_thread_id(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	static const char *const tids[] = {"client", "none", NULL};
	return enum_arg(c, v, tids, &c->st->no_thread_id);
}

static int arg_wait(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	return enum_arg(c, v, bools, &c->st->wait);
}

static int arg_op(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	return name_arg(v, c->what, "operation", (c->arg->flags & WSPH_ARG_BINDS) != 0,
			&c->names->ops, &c->st->opname, c->diag);
}

static int arg_event(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	return name_arg(v, c->what, "event", (c->arg->flags & WSPH_ARG_BINDS) != 0,
			&c->names->events, &c->st->event, c->diag);
}

static int arg_error(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	if (wsph_yaml_is_null(v) || (v->type == WSPH_YAML_SCALAR && v->len == 1 && v->text[0] == '0')) {
		c->st->msg_error = 0;
		return 0;
	}
	return error_code(v, c->what, "0 or ", &c->st->msg_error, c->diag);
}

static int arg_timeout(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	if (wsph_yaml_integer(v, c->what, 0, 60000, &ll, c->diag))
		return -1;
	c->st->timeout_ms = (long)ll;
	return 0;
}

/* select's read, write, except sets and its readable, writable expectations */
static int arg_sockets(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	struct wsph_step *st = c->st;
	int i = (int)c->arg->key - WSPH_KEY_READ;
	if (i < 3) {
		st->has_set[i] = 1;
		return socket_list(v, c->what, &c->names->sockets, &st->sets[i], &st->n_sets[i],
				   c->diag);
	}
	i -= 3;
	st->has_ready[i] = 1;
	return socket_list(v, c->what, &c->names->sockets, &st->ready[i], &st->n_ready[i], c->diag);
}

/* A parallel step's threads, made on the first of its keys. */
static struct wsph_parallel *par_of(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	if (!c->st->par && !(c->st->par = calloc(1, sizeof *c->st->par)))
		wsph_yaml_error(c->diag, v, "out of memory");
	return c->st->par;
}

/* threads: a mapping of 2..WSPH_MAX_THREADS thread names to their steps (loaded by
 * load_parallel once the step is). */
static int arg_threads(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	char found[112];
	if (!par_of(c, v) || wsph_yaml_want_mapping(v, c->what, c->diag))
		return -1;
	if (v->n_pairs < 2 || v->n_pairs > WSPH_MAX_THREADS)
		return wsph_yaml_error(c->diag, v, "'threads' must name 2..%d threads (found %lu)",
				       WSPH_MAX_THREADS, (unsigned long)v->n_pairs);
	for (size_t i = 0; i < v->n_pairs; i++)
		if (!is_ident(v->pairs[i].key))
			return wsph_yaml_error(c->diag, v->pairs[i].key,
					       "a thread's name must match [A-Za-z_][A-Za-z0-9_]* "
					       "(found %s)",
					       wsph_yaml_describe(v->pairs[i].key, found, sizeof found));
	return 0;
}

static int arg_repeat(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	long long ll;
	struct wsph_parallel *par = par_of(c, v);
	if (!par || wsph_yaml_integer(v, c->what, 1, WSPH_MAX_REPEAT, &ll, c->diag))
		return -1;
	par->repeat = (unsigned)ll;
	return 0;
}

static int arg_name(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	return name_arg(v, c->what, "barrier", 1, NULL, &c->st->barrier, c->diag);
}

static int arg_thread(struct arg_ctx *c, const struct wsph_yaml_node *v)
{
	return name_arg(v, c->what, "thread", 1, NULL, &c->st->blocked, c->diag);
}

/* The parser of each key (steps.h names the keys; the rows say which step takes which). */
static int (*const arg_parsers[WSPH_KEY_COUNT])(struct arg_ctx *, const struct wsph_yaml_node *) = {
	[WSPH_KEY_SOCKET] = arg_socket,	    [WSPH_KEY_AS] = arg_socket,
	[WSPH_KEY_TYPE] = arg_type,	    [WSPH_KEY_VERSION] = arg_version,
	[WSPH_KEY_TABLE] = arg_table,	    [WSPH_KEY_ADDR] = arg_addr,
	[WSPH_KEY_BACKLOG] = arg_backlog,   [WSPH_KEY_HOW] = arg_how,
	[WSPH_KEY_LEVEL] = arg_level,	    [WSPH_KEY_OPTION] = arg_option,
	[WSPH_KEY_COMMAND] = arg_command,   [WSPH_KEY_VALUE] = arg_value,
	[WSPH_KEY_RESULT] = arg_result,	    [WSPH_KEY_DATA] = arg_data,
	[WSPH_KEY_LEN] = arg_len,	    [WSPH_KEY_EVENTS] = arg_events,
	[WSPH_KEY_MSG] = arg_msg,	    [WSPH_KEY_OVERLAPPED] = arg_overlapped,
	[WSPH_KEY_COMPLETION] = arg_completion, [WSPH_KEY_THREAD_ID] = arg_thread_id,
	[WSPH_KEY_OP] = arg_op,		    [WSPH_KEY_EVENT] = arg_event,
	[WSPH_KEY_WAIT] = arg_wait,	    [WSPH_KEY_ERROR] = arg_error,
	[WSPH_KEY_TIMEOUT] = arg_timeout,   [WSPH_KEY_READ] = arg_sockets,
	[WSPH_KEY_WRITE] = arg_sockets,	    [WSPH_KEY_EXCEPT] = arg_sockets,
	[WSPH_KEY_READABLE] = arg_sockets,  [WSPH_KEY_WRITABLE] = arg_sockets,
	[WSPH_KEY_THREADS] = arg_threads,   [WSPH_KEY_REPEAT] = arg_repeat,
	[WSPH_KEY_NAME] = arg_name,
	[WSPH_KEY_THREAD] = arg_thread,
};

int wsph_scenario_parses_key(int key)
{
	return key > 0 && key < WSPH_KEY_COUNT && arg_parsers[key] != NULL;
}

static int parse_arg(struct arg_ctx *c, const struct wsph_step_arg *a,
		     const struct wsph_yaml_node *v)
{
	c->arg = a;
	snprintf(c->what, sizeof c->what, "'%s'", wsph_key_name(a->key));
	return arg_parsers[a->key](c, v);
}

/* The defaults of the keys the step does not write, parsed as if written where the step is. */
static int apply_defaults(struct arg_ctx *c, const struct wsph_yaml_node *args,
			  const struct wsph_yaml_node *at)
{
	for (size_t i = 0; i < wsph_step_n_args(c->def); i++) {
		const struct wsph_step_arg *a = &c->def->args[i];
		char text[32];
		if (!a->def || wsph_yaml_get(args, wsph_key_name(a->key)))
			continue;
		snprintf(text, sizeof text, "%s", a->def);
		struct wsph_yaml_node v = *at;
		v.type = WSPH_YAML_SCALAR;
		v.text = text;
		v.len = strlen(text);
		v.plain = 1;
		if (parse_arg(c, a, &v))
			return -1;
	}
	return 0;
}

/* "startup, cleanup, ...": every step's name, for messages (built only when one is needed). */
static const char *op_list(char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int j = 0; j < WSPH_OP_COUNT && o < len; j++) {
		int w = snprintf(buf + o, len - o, "%s%s", j ? ", " : "",
				 wsph_step_def((enum wsph_op)j)->name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return buf;
}

/* The one operation key of a step mapping (into *opkey, *args, *def). */
static int find_op(const struct wsph_yaml_node *n, const struct wsph_yaml_node **opkey,
		   const struct wsph_yaml_node **args, const struct wsph_step_def **def,
		   struct wsph_diag *diag)
{
	char ops[512], tmp[112];
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct wsph_yaml_node *k = n->pairs[i].key;
		const struct wsph_step_def *d = wsph_step_find(k->text, k->len);
		if (d) {
			if (*opkey)
				return wsph_yaml_error(diag, k,
						       "step has two operations, '%s' and '%s' "
						       "(write one step for each)",
						       (*opkey)->text, k->text);
			*opkey = k;
			*args = n->pairs[i].value;
			*def = d;
		} else if (!wsph_yaml_scalar_is(k, "expect") && !wsph_yaml_scalar_is(k, "rule") &&
			   !wsph_yaml_scalar_is(k, "control")) {
			return wsph_yaml_error(diag, k,
					       "unknown key %s in step (expected one operation of: "
					       "%s; and optionally expect, rule, control)",
					       wsph_yaml_describe(k, tmp, sizeof tmp),
					       op_list(ops, sizeof ops));
		}
	}
	if (!*opkey)
		return wsph_yaml_error(diag, n, "step has no operation (expected one of: %s)",
				       op_list(ops, sizeof ops));
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The argument mapping holds only keys the step takes, and every key it requires. */
static int check_args(const struct wsph_step_def *def, const struct wsph_yaml_node *opkey,
		      const struct wsph_yaml_node *args, const char *where, struct wsph_diag *diag)
{
	const char *allowed[WSPH_STEP_MAX_ARGS + 1];
	size_t n = wsph_step_n_args(def);
	char tmp[112];
	for (size_t i = 0; i < n; i++)
		allowed[i] = wsph_key_name(def->args[i].key);
	allowed[n] = NULL;
	qsort(allowed, n, sizeof allowed[0], by_name);
	if (args && n == 0 && args->n_pairs > 0)
		return wsph_yaml_error(diag, args->pairs[0].key,
				       "unknown key %s in %s (it takes no arguments)",
				       wsph_yaml_describe(args->pairs[0].key, tmp, sizeof tmp), where);
	if (args && wsph_yaml_check_keys(args, allowed, where, diag))
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((def->args[i].flags & WSPH_ARG_REQUIRED) &&
		    !wsph_yaml_get(args, wsph_key_name(def->args[i].key)))
			return wsph_yaml_error(diag, opkey, "missing required key '%s' in %s",
					       wsph_key_name(def->args[i].key), where);
	return 0;
}

/* The step's arguments: those written, then the defaults of the others. */
static int load_args(struct arg_ctx *c, const struct wsph_yaml_node *opkey,
		     const struct wsph_yaml_node *args, const char *where)
{
	if (args && args->type == WSPH_YAML_SCALAR && (c->def->flags & WSPH_STEP_SCALAR))
		return parse_arg(c, &c->def->args[0], args); /* `barrier: NAME` */
	if (args) {
		char what[64];
		snprintf(what, sizeof what, "the arguments of '%s'", c->def->name);
		if (wsph_yaml_want_mapping(args, what, c->diag))
			return -1;
	}
	if (check_args(c->def, opkey, args, where, c->diag))
		return -1;
	for (size_t i = 0; args && i < args->n_pairs; i++) {
		const struct wsph_yaml_node *k = args->pairs[i].key;
		if (parse_arg(c, wsph_step_arg(c->def, (enum wsph_key)wsph_key_find(k->text, k->len)),
			      args->pairs[i].value))
			return -1;
	}
	return apply_defaults(c, args, opkey);
}

/* The steps that may say 'expect: none', as a message lists them. */
static void expect_none_steps(char *buf, size_t len)
{
	size_t n = 0, o = 0, count = 0;
	for (int j = 0; j < WSPH_OP_COUNT; j++)
		count += (wsph_step_def((enum wsph_op)j)->flags & WSPH_STEP_EXPECT_NONE) != 0;
	buf[0] = '\0';
	for (int j = 0; j < WSPH_OP_COUNT && o < len; j++) {
		const struct wsph_step_def *d = wsph_step_def((enum wsph_op)j);
		if (!(d->flags & WSPH_STEP_EXPECT_NONE))
			continue;
		n++;
		int w = snprintf(buf + o, len - o, "%s%s", n == 1 ? "" : n == count ? " and " : ", ",
				 d->name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static int load_expect(struct wsph_step *st, const struct wsph_step_def *def,
		       const struct wsph_yaml_node *v, struct wsph_diag *diag)
{
	if (wsph_yaml_scalar_is(v, "ok"))
		st->expect = WSPH_EXPECT_OK;
	else if (wsph_yaml_scalar_is(v, "any"))
		st->expect = WSPH_EXPECT_ANY;
	else if (wsph_yaml_scalar_is(v, "failure"))
		st->expect = WSPH_EXPECT_FAILURE;
	else if (wsph_yaml_scalar_is(v, "none")) {
		char list[128];
		if (!(def->flags & WSPH_STEP_EXPECT_NONE)) {
			expect_none_steps(list, sizeof list);
			return wsph_yaml_error(diag, v, "'expect: none' is for %s steps only", list);
		}
		st->expect = WSPH_EXPECT_NONE;
	} else if (error_code(v, "'expect'", "ok, any, failure, or ", &st->expect, diag))
		return -1;
	return 0;
}

/* What no single key says: combinations of keys and the expectation. */
static int check_step(const struct wsph_step *st, const struct wsph_step_def *def,
		      const struct wsph_yaml_node *opkey, const struct wsph_yaml_node *args,
		      const char *where, struct wsph_diag *diag)
{
	const struct wsph_step_arg *sock = wsph_step_arg(def, WSPH_KEY_SOCKET);
	for (size_t i = 0; st->expect != WSPH_EXPECT_NONE && i < wsph_step_n_args(def); i++) {
		const char *key = wsph_key_name(def->args[i].key);
		if ((def->args[i].flags & WSPH_ARG_UNLESS_NONE) && !wsph_yaml_get(args, key))
			return wsph_yaml_error(diag, opkey,
					       "missing required key '%s' in %s (or 'expect: none')",
					       key, where);
	}
	if (st->opname && !st->overlapped && wsph_step_arg(def, WSPH_KEY_OVERLAPPED))
		return wsph_yaml_error(diag, opkey, "'op' needs 'overlapped: true' in %s", where);
	if (sock && (sock->flags & WSPH_ARG_REAL) && st->socket && !strcmp(st->socket, "bogus"))
		return wsph_yaml_error(diag, opkey, "'%s' needs a socket of the scenario, not "
						    "'bogus'", def->name);
	return 0;
}

/* control: and rule: (a control step charges no rule). */
static int load_charge(struct wsph_step *st, const struct wsph_yaml_node *n,
		       struct wsph_diag *diag)
{
	const struct wsph_yaml_node *v = wsph_yaml_get(n, "control");
	if (v && wsph_yaml_enum(v, "'control'", bools, &st->control, diag))
		return -1;
	v = wsph_yaml_get(n, "rule");
	if (!v)
		return 0;
	if (st->control)
		return wsph_yaml_error(diag, v, "a control step charges no rule: its failure makes "
						"the case inconclusive (drop 'rule' or 'control')");
	if (wsph_yaml_rule_id(v, "'rule'", diag) || wsph_yaml_dup_string(v, "'rule'", &st->rule, diag))
		return -1;
	st->rule_loc = wsph_yaml_loc(v);
	return 0;
}

static int load_step(struct wsph_step *st, const struct wsph_yaml_node *n,
		     const struct bound_names *bound, struct wsph_diag *diag)
{
	const struct wsph_yaml_node *opkey = NULL, *args = NULL, *v;
	struct arg_ctx c;
	char where[64];

	memset(st, 0, sizeof *st);
	st->expect = WSPH_EXPECT_OK;
	st->timeout_ms = -1; /* select: no timeout written, a NULL timeval */
	memset(&c, 0, sizeof c);
	if (wsph_yaml_want_mapping(n, "each item of 'steps'", diag) ||
	    find_op(n, &opkey, &args, &c.def, diag))
		return -1;
	st->op = c.def->op;
	st->loc = wsph_yaml_loc(opkey);
	snprintf(where, sizeof where, "'%s' step", c.def->name);
	c.st = st;
	c.names = bound;
	c.diag = diag;
	if (wsph_yaml_is_null(args))
		args = NULL;
	if (load_args(&c, opkey, args, where))
		return -1;
	v = wsph_yaml_get(n, "expect");
	if (v && load_expect(st, c.def, v, diag))
		return -1;
	return check_step(st, c.def, opkey, args, where, diag) || load_charge(st, n, diag) ? -1 : 0;
}

/* ---- scenarios ---- */

static int load_kinds(const struct wsph_yaml_node *v, const char *what, unsigned *out,
		      struct wsph_diag *diag)
{
	static const char *const kinds[] = {"nonifs", "ifs", NULL};
	char item_what[64];
	size_t i;
	int idx;

	if (wsph_yaml_want_sequence(v, what, 1, diag))
		return -1;
	snprintf(item_what, sizeof item_what, "each %s item", what);
	*out = 0;
	for (i = 0; i < v->n_items; i++) {
		if (wsph_yaml_enum(v->items[i], item_what, kinds, &idx, diag))
			return -1;
		*out |= idx == 0 ? WSPH_KIND_NONIFS : WSPH_KIND_IFS;
	}
	return 0;
}

static int load_fault(struct wsph_fault *f, const struct wsph_yaml_node *n, struct wsph_diag *diag)
{
	static const char *const keys[] = {"call", "error", "upcall", NULL};
	const struct wsph_yaml_node *v;
	char found[112];
	long long ll;
	int fn;

	memset(f, 0, sizeof *f);
	if (wsph_yaml_want_mapping(n, "each item of 'faults'", diag) ||
	    wsph_yaml_check_keys(n, keys, "fault", diag))
		return -1;
	f->loc = wsph_yaml_loc(n);
	f->call = 1;
	if (wsph_yaml_require(n, "upcall", "fault", &v, diag) ||
	    wsph_yaml_want_string(v, "'upcall'", diag))
		return -1;
	fn = wsph_fn_by_name(v->text);
	if (fn < 0 || !wsph_fn_is_upcall((enum wsph_fn)fn))
		return wsph_yaml_error(diag, v,
				       "'upcall' must name an upcall like WPUCreateSocketHandle "
				       "(found %s)",
				       wsph_yaml_describe(v, found, sizeof found));
	f->upcall = fn;
	v = wsph_yaml_get(n, "call");
	if (v) {
		if (wsph_yaml_integer(v, "'call'", 1, UINT32_MAX, &ll, diag))
			return -1;
		f->call = (unsigned)ll;
	}
	if (wsph_yaml_require(n, "error", "fault", &v, diag) ||
	    error_code(v, "'error'", "", &f->error, diag))
		return -1;
	return 0;
}

/* timeout: a number of seconds above 0 (digits, an optional fraction), at most an hour. */
static int scenario_timeout(const struct wsph_yaml_node *v, double *out, struct wsph_diag *diag)
{
	char found[112];
	double t = 0, scale = 1;
	size_t i = 0, digits = 0;
	int frac = 0;
	if (v->type == WSPH_YAML_SCALAR && !wsph_yaml_is_null(v)) {
		for (; i < v->len; i++) {
			char ch = v->text[i];
			if (ch == '.' && !frac) {
				frac = 1;
			} else if (ch >= '0' && ch <= '9') {
				digits++;
				if (frac)
					t += (scale /= 10) * (ch - '0');
				else if (t < 1e6)
					t = t * 10 + (ch - '0');
			} else {
				break;
			}
		}
	}
	if (v->type != WSPH_YAML_SCALAR || wsph_yaml_is_null(v) || !digits || i != v->len)
		return wsph_yaml_error(diag, v, "'timeout' must be a number of seconds (found %s)",
				       wsph_yaml_describe(v, found, sizeof found));
	if (t <= 0 || t > 3600)
		return wsph_yaml_error(diag, v, "'timeout' must be above 0 and at most 3600 seconds "
				       "(found %s)", wsph_yaml_describe(v, found, sizeof found));
	*out = t;
	return 0;
}

/* Loads item `index` of the 'scenarios' sequence; the items before it are already loaded and
 * their name nodes are in `names`. */
/* name: unique among the suite's scenarios. */
static int load_name(struct wsph_scenario *sc, const struct wsph_yaml_node *n,
		     struct wsph_strset *names, struct wsph_diag *diag)
{
	const struct wsph_yaml_node *v;
	const void *earlier;
	char found[112];
	int rc;

	if (wsph_yaml_require(n, "name", "scenario", &v, diag) ||
	    wsph_yaml_want_name(v, "'name'", diag))
		return -1;
	if (!is_scenario_name(v))
		return wsph_yaml_error(diag, v, "'name' must match [A-Za-z0-9._-]+ (found %s)",
				       wsph_yaml_describe(v, found, sizeof found));
	rc = wsph_strset_add(names, v->text, v->len, v, &earlier);
	if (rc < 0)
		return wsph_yaml_error(diag, v, "out of memory");
	if (rc > 0) {
		const struct wsph_yaml_node *first = earlier;
		return wsph_yaml_error(diag, v,
				       "duplicate scenario name %s (first at line %d, column %d)",
				       wsph_yaml_describe(v, found, sizeof found), first->line,
				       first->col);
	}
	return wsph_yaml_dup_string(v, "'name'", &sc->name, diag);
}

/* checks: the rule IDs the scenario checks, with where each is written. */
static int load_checks(struct wsph_scenario *sc, const struct wsph_yaml_node *n,
		       struct wsph_diag *diag)
{
	const struct wsph_yaml_node *v;
	if (wsph_yaml_require(n, "checks", "scenario", &v, diag) ||
	    wsph_yaml_want_sequence(v, "'checks'", 1, diag))
		return -1;
	sc->checks = calloc(v->n_items, sizeof *sc->checks);
	sc->check_locs = calloc(v->n_items, sizeof *sc->check_locs);
	if (!sc->checks || !sc->check_locs)
		return wsph_yaml_error(diag, v, "out of memory");
	for (size_t i = 0; i < v->n_items; i++) {
		const struct wsph_yaml_node *item = v->items[i];
		if (wsph_yaml_rule_id(item, "each 'checks' item", diag) ||
		    wsph_yaml_dup_string(item, "each 'checks' item", &sc->checks[i], diag))
			return -1;
		sc->check_locs[i] = wsph_yaml_loc(item);
		sc->n_checks++;
	}
	return 0;
}

/* upcalls: how the fake upcall table behaves in this scenario. */
static int load_upcalls(struct wsph_scenario *sc, const struct wsph_yaml_node *u,
			struct wsph_diag *diag)
{
	static const char *const upcall_keys[] = {"blocking_callback", "modify_ifs_handle", NULL};
	static const char *const hooks[] = {"none", "true", "false", "cancel", NULL};
	static const char *const same_different[] = {"different", "same", NULL};
	const struct wsph_yaml_node *v;
	if (wsph_yaml_want_mapping(u, "'upcalls'", diag) ||
	    wsph_yaml_check_keys(u, upcall_keys, "'upcalls'", diag))
		return -1;
	v = wsph_yaml_get(u, "modify_ifs_handle");
	if (v && wsph_yaml_enum(v, "'modify_ifs_handle'", same_different, &sc->modify_ifs_same, diag))
		return -1;
	v = wsph_yaml_get(u, "blocking_callback");
	if (v && wsph_yaml_enum(v, "'blocking_callback'", hooks, &sc->blocking, diag))
		return -1;
	return 0;
}

/* lower: how the provider below a layer behaves in this scenario. */
static int load_lower(struct wsph_scenario *sc, const struct wsph_yaml_node *u,
		      struct wsph_diag *diag)
{
	static const char *const lower_keys[] = {"proctable_hole", "fragment_receives", NULL};
	const struct wsph_yaml_node *v;
	if (wsph_yaml_want_mapping(u, "'lower'", diag) ||
	    wsph_yaml_check_keys(u, lower_keys, "'lower'", diag))
		return -1;
	v = wsph_yaml_get(u, "proctable_hole");
	if (v && wsph_yaml_enum(v, "'proctable_hole'", proc_entry_names, &sc->lower_hole, diag))
		return -1;
	v = wsph_yaml_get(u, "fragment_receives");
	if (v) {
		long long k;
		if (named_or_int(v, "'fragment_receives'", NULL, 1, 65536, 0, &k, diag))
			return -1;
		sc->lower_fragment = (unsigned)k;
	}
	return 0;
}

static int load_faults(struct wsph_scenario *sc, const struct wsph_yaml_node *v,
		       struct wsph_diag *diag)
{
	if (wsph_yaml_want_sequence(v, "'faults'", 0, diag))
		return -1;
	if (v->n_items) {
		sc->faults = calloc(v->n_items, sizeof *sc->faults);
		if (!sc->faults)
			return wsph_yaml_error(diag, v, "out of memory");
	}
	for (size_t i = 0; i < v->n_items; i++) {
		if (load_fault(&sc->faults[i], v->items[i], diag))
			return -1;
		sc->n_faults++;
	}
	return 0;
}

/* A step's bound names join those later steps may use. */
static int bind_names(struct bound_names *bound, const struct wsph_step *st)
{
	return (st->as && wsph_strset_add(&bound->sockets, st->as, strlen(st->as), st, NULL) < 0) ||
			       (st->opname && wsph_strset_add(&bound->ops, st->opname,
							      strlen(st->opname), st, NULL) < 0) ||
			       (st->event && wsph_strset_add(&bound->events, st->event,
							     strlen(st->event), st, NULL) < 0)
		       ? -1
		       : 0;
}

/* Loading a scenario's steps: the scenario whose steps grow, the names bound so far. */
struct step_list {
	struct wsph_scenario *sc;
	size_t cap;
	struct bound_names bound;
	struct wsph_diag *diag;
};

/* A message at a position the loader kept (a wsph_loc rather than a node). */
static int loc_error(struct wsph_diag *diag, struct wsph_loc loc, const char *fmt, ...)
	WSPH_PRINTF(3, 4);
static int loc_error(struct wsph_diag *diag, struct wsph_loc loc, const char *fmt, ...)
{
	struct wsph_yaml_node at;
	char msg[1024];
	va_list ap;
	memset(&at, 0, sizeof at);
	at.file = loc.file;
	at.line = loc.line;
	at.col = loc.col;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return wsph_yaml_error(diag, &at, "%s", msg);
}

/* A new zeroed step at the end of the scenario's, counted at once so that a half-filled one is
 * freed too; NULL when out of memory. Valid until the next one. */
static struct wsph_step *new_step(struct step_list *l)
{
	struct wsph_scenario *sc = l->sc;
	if (sc->n_steps == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct wsph_step *v = realloc(sc->steps, cap * sizeof *v);
		if (!v)
			return NULL;
		sc->steps = v;
		l->cap = cap;
	}
	struct wsph_step *st = &sc->steps[sc->n_steps++];
	memset(st, 0, sizeof *st);
	return st;
}

static int load_parallel(struct step_list *l, size_t k, const struct wsph_yaml_node *item);

/* Where a step may be: a parallel step and the main-thread steps on the main thread, a barrier
 * in a thread. */
static int check_placement(const struct wsph_step *st, struct wsph_diag *diag)
{
	const struct wsph_step_def *def = wsph_step_def(st->op);
	if (st->thread && st->op == WSPH_OP_PARALLEL)
		return loc_error(diag, st->loc, "a parallel block cannot hold another (nested "
						"'parallel' in a thread)");
	if (st->thread && (def->flags & WSPH_STEP_MAIN_ONLY))
		return loc_error(diag, st->loc, "'%s' runs on the main thread only, not in a thread "
						"of a parallel block", def->name);
	if (!st->thread && (def->flags & WSPH_STEP_IN_THREADS))
		return loc_error(diag, st->loc, "'%s' is for the threads of a parallel block only",
				 def->name);
	return 0;
}

/* One step of the list (thread 0: the main thread's), and a parallel step's threads. */
static int load_one(struct step_list *l, const struct wsph_yaml_node *item, int thread, int block)
{
	size_t k = l->sc->n_steps;
	struct wsph_step *st = new_step(l);
	if (!st)
		return wsph_yaml_error(l->diag, item, "out of memory");
	if (load_step(st, item, &l->bound, l->diag))
		return -1;
	st->thread = thread;
	st->block = block;
	if (check_placement(st, l->diag))
		return -1;
	if (bind_names(&l->bound, st))
		return wsph_yaml_error(l->diag, item, "out of memory");
	return st->op == WSPH_OP_PARALLEL ? load_parallel(l, k, item) : 0;
}

/* How often each thread of the block passes barrier b. */
static void barrier_counts(const struct wsph_scenario *sc, size_t k, int b,
			   unsigned counts[WSPH_MAX_THREADS], size_t first[WSPH_MAX_THREADS])
{
	const struct wsph_parallel *par = sc->steps[k].par;
	memset(counts, 0, WSPH_MAX_THREADS * sizeof *counts);
	for (size_t j = k + 1; j <= k + par->n_nested; j++) {
		const struct wsph_step *st = &sc->steps[j];
		if (st->op != WSPH_OP_BARRIER || st->barrier_index != b)
			continue;
		if (!counts[st->thread - 1]++)
			first[st->thread - 1] = j;
	}
}

/* Each barrier is named by two threads or more, and passed as often by each that names it. */
static int check_barrier(struct wsph_scenario *sc, size_t k, int b, struct wsph_diag *diag)
{
	struct wsph_parallel *par = sc->steps[k].par;
	unsigned counts[WSPH_MAX_THREADS];
	size_t first[WSPH_MAX_THREADS], one = 0;
	barrier_counts(sc, k, b, counts, first);
	for (size_t t = 0; t < par->n_threads; t++) {
		if (!counts[t])
			continue;
		if (!par->parties[b]++)
			one = t;
		else if (counts[t] != counts[one])
			return loc_error(diag, sc->steps[first[t]].loc,
					 "barrier '%s' is passed %u time(s) in thread '%s' and %u "
					 "in thread '%s': every thread that names it passes it as "
					 "often", par->barriers[b], counts[t], par->threads[t].name,
					 counts[one], par->threads[one].name);
	}
	if (par->parties[b] < 2)
		return loc_error(diag, sc->steps[first[one]].loc,
				 "barrier '%s' is named in thread '%s' only: a barrier lines up two "
				 "threads or more", par->barriers[b], par->threads[one].name);
	return 0;
}

/* The barriers of the block at k: their names, each barrier step's index among them. */
static int index_barriers(struct wsph_scenario *sc, size_t k, struct wsph_diag *diag)
{
	struct wsph_parallel *par = sc->steps[k].par;
	for (size_t j = k + 1; j <= k + par->n_nested; j++) {
		struct wsph_step *st = &sc->steps[j];
		size_t b = 0;
		if (st->op != WSPH_OP_BARRIER)
			continue;
		while (b < par->n_barriers && strcmp(par->barriers[b], st->barrier))
			b++;
		if (b == par->n_barriers) {
			char **v = realloc(par->barriers, (b + 1) * sizeof *v);
			unsigned *p = v ? realloc(par->parties, (b + 1) * sizeof *p) : NULL;
			if (v)
				par->barriers = v;
			if (p)
				par->parties = p;
			if (!v || !p || !(v[b] = dup_cstr(st->barrier)))
				return loc_error(diag, st->loc, "out of memory");
			p[b] = 0;
			par->n_barriers++;
		}
		st->barrier_index = (int)b;
	}
	for (size_t b = 0; b < par->n_barriers; b++)
		if (check_barrier(sc, k, (int)b, diag))
			return -1;
	return 0;
}

/* The blocked steps of the block at k: each names another thread of the block. */
static int index_threads(struct wsph_scenario *sc, size_t k, struct wsph_diag *diag)
{
	const struct wsph_parallel *par = sc->steps[k].par;
	for (size_t j = k + 1; j <= k + par->n_nested; j++) {
		struct wsph_step *st = &sc->steps[j];
		size_t t = 0;
		if (st->op != WSPH_OP_BLOCKED)
			continue;
		while (t < par->n_threads && strcmp(par->threads[t].name, st->blocked))
			t++;
		if (t == par->n_threads)
			return loc_error(diag, st->loc, "'blocked: %s': the block has no thread of "
					 "that name", st->blocked);
		if ((int)t + 1 == st->thread)
			return loc_error(diag, st->loc, "'blocked: %s' in thread '%s' itself: a "
					 "thread waits for another", st->blocked,
					 par->threads[t].name);
		st->blocked_index = (int)t;
	}
	return 0;
}

/* The threads of the parallel step at k, each a non-empty list of steps, appended after it. */
static int load_parallel(struct step_list *l, size_t k, const struct wsph_yaml_node *item)
{
	const struct wsph_yaml_node *threads = wsph_yaml_get(wsph_yaml_get(item, "parallel"),
							     "threads");
	struct wsph_parallel *par = l->sc->steps[k].par;
	char what[96];
	if (!par->repeat)
		par->repeat = 1;
	for (size_t i = 0; i < threads->n_pairs; i++) {
		const struct wsph_yaml_node *key = threads->pairs[i].key, *v = threads->pairs[i].value;
		snprintf(what, sizeof what, "the steps of thread '%.40s'", key->text);
		if (wsph_yaml_want_sequence(v, what, 1, l->diag))
			return -1;
		if (!(par->threads[i].name = dup_cstr(key->text)))
			return wsph_yaml_error(l->diag, key, "out of memory");
		par->n_threads++;
		par->threads[i].loc = wsph_yaml_loc(key);
		par->threads[i].first = l->sc->n_steps;
		for (size_t j = 0; j < v->n_items; j++)
			if (load_one(l, v->items[j], (int)i + 1, (int)k + 1))
				return -1;
		par->threads[i].n_steps = l->sc->n_steps - par->threads[i].first;
	}
	par->n_nested = l->sc->n_steps - k - 1;
	if (index_threads(l->sc, k, l->diag))
		return -1;
	return index_barriers(l->sc, k, l->diag);
}

static int load_steps(struct wsph_scenario *sc, const struct wsph_yaml_node *n,
		      struct wsph_diag *diag)
{
	struct step_list l;
	const struct wsph_yaml_node *v;
	int rc = 0;
	memset(&l, 0, sizeof l);
	l.sc = sc;
	l.diag = diag;
	if (wsph_yaml_require(n, "steps", "scenario", &v, diag) ||
	    wsph_yaml_want_sequence(v, "'steps'", 1, diag))
		return -1;
	for (size_t k = 0; k < v->n_items && rc == 0; k++)
		rc = load_one(&l, v->items[k], 0, 0);
	wsph_strset_free(&l.bound.sockets);
	wsph_strset_free(&l.bound.ops);
	wsph_strset_free(&l.bound.events);
	return rc;
}

static int load_scenario(struct wsph_scenario *sc, const struct wsph_yaml_node *seq, size_t index,
			 struct wsph_strset *names, struct wsph_diag *diag)
{
	static const char *const keys[] = {"name",   "description", "kinds",   "checks",
					   "upcalls", "faults",     "layered", "lower",
					   "steps",  "timeout",	    "concurrent", NULL};
	const struct wsph_yaml_node *n = seq->items[index], *v;

	if (wsph_yaml_want_mapping(n, "each item of 'scenarios'", diag) ||
	    wsph_yaml_check_keys(n, keys, "scenario", diag))
		return -1;
	sc->loc = wsph_yaml_loc(n);
	sc->modify_ifs_same = 1; /* as ws2_32 does; 'different' is the strict behaviour */
	sc->file = n->file;
	sc->kinds = WSPH_KIND_ALL;
	sc->lower_hole = -1;
	if (load_name(sc, n, names, diag))
		return -1;
	v = wsph_yaml_get(n, "description");
	if (v && wsph_yaml_dup_string(v, "'description'", &sc->description, diag))
		return -1;
	v = wsph_yaml_get(n, "kinds");
	if ((v && load_kinds(v, "'kinds'", &sc->kinds, diag)) || load_checks(sc, n, diag))
		return -1;
	v = wsph_yaml_get(n, "upcalls");
	if (v && load_upcalls(sc, v, diag))
		return -1;
	v = wsph_yaml_get(n, "layered");
	if (v && wsph_yaml_enum(v, "'layered'", bools, &sc->layered, diag))
		return -1;
	v = wsph_yaml_get(n, "concurrent");
	if (v && wsph_yaml_enum(v, "'concurrent'", bools, &sc->concurrent, diag))
		return -1;
	v = wsph_yaml_get(n, "lower");
	if (v && load_lower(sc, v, diag))
		return -1;
	v = wsph_yaml_get(n, "timeout");
	if (v && scenario_timeout(v, &sc->timeout, diag))
		return -1;
	if (v)
		sc->timeout_loc = wsph_yaml_loc(v);
	v = wsph_yaml_get(n, "faults");
	if (v && load_faults(sc, v, diag))
		return -1;
	return load_steps(sc, n, diag);
}

static int is_sep(char c)
{
	return c == '/' || c == '\\';
}

#define CLASS_PREFIX WSPH_CLASS_PREFIX
#define CLASS_PREFIX_LEN (sizeof CLASS_PREFIX - 1)

const char *wsph_suite_of(const char *classname)
{
	const char *cls = classname ? classname : "";
	return !strncmp(cls, CLASS_PREFIX, CLASS_PREFIX_LEN) && cls[CLASS_PREFIX_LEN]
		       ? cls + CLASS_PREFIX_LEN
		       : cls;
}

/* "wspharness." + path under root, without ".yaml", separators turned into dots. */
static char *make_classname(const char *path, const char *root)
{
	static const char prefix[] = CLASS_PREFIX;
	const char *rel = NULL, *p;
	size_t rl, n, i;
	char *out;

	if (root) {
		rl = strlen(root);
		while (rl > 0 && is_sep(root[rl - 1]))
			rl--;
		for (i = 0; i < rl && path[i]; i++)
			if (path[i] != root[i] && !(is_sep(path[i]) && is_sep(root[i])))
				break;
		if (i == rl && (rl == 0 || is_sep(path[rl]))) {
			rel = path + rl;
			while (is_sep(*rel))
				rel++;
		}
	}
	if (!rel || !*rel) {
		rel = path;
		for (p = path; *p; p++)
			if (is_sep(*p) || *p == ':')
				rel = p + 1;
	}
	n = strlen(rel);
	if (n > 5 && strcmp(rel + n - 5, ".yaml") == 0)
		n -= 5;
	out = malloc(sizeof prefix + n);
	if (!out)
		return NULL;
	memcpy(out, prefix, sizeof prefix - 1);
	for (i = 0; i < n; i++)
		out[sizeof prefix - 1 + i] = is_sep(rel[i]) ? '.' : rel[i];
	out[sizeof prefix - 1 + n] = '\0';
	return out;
}

/* ---- paths for reports ---- */

static int has_drive(const char *p)
{
	return ((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) && p[1] == ':';
}

static int is_absolute(const char *p)
{
	return p[0] == '/' || (has_drive(p) && p[2] == '/');
}

/* '/' separators, then ".", ".." and empty segments collapsed in place after the root part ("/",
 * "//" of a UNC path, "X:/"); ".." at the top of an absolute path stays at the top, a relative
 * path keeps its leading "..". */
static void clean_path(char *p)
{
	size_t len = strlen(p), keep = 0;
	char *src = malloc(len + 1), *w, *start;
	const char *r;

	if (!src)
		return; /* left as it is: only a report's path */
	for (w = p; *w; w++)
		if (*w == '\\')
			*w = '/';
	memcpy(src, p, len + 1);
	if (has_drive(p))
		keep = p[2] == '/' ? 3 : 2;
	else if (p[0] == '/' && p[1] == '/')
		keep = 2;
	else if (p[0] == '/')
		keep = 1;
	start = w = p + keep;
	for (r = src + keep; *r;) {
		size_t n = strcspn(r, "/");
		if (n == 0 || (n == 1 && r[0] == '.')) {
			/* nothing */
		} else if (n == 2 && r[0] == '.' && r[1] == '.') {
			char *back = w;
			if (back > start)
				back--; /* the '/' after the last segment */
			while (back > start && back[-1] != '/')
				back--;
			if (w > start && !(w - back == 3 && !strncmp(back, "../", 3)))
				w = back;
			else if (keep == 0) {
				memcpy(w, "../", 3);
				w += 3;
			}
		} else {
			memcpy(w, r, n);
			w += n;
			*w++ = '/';
		}
		r += n;
		while (*r == '/')
			r++;
	}
	free(src);
	if (w > start && w[-1] == '/')
		w--;
	*w = '\0';
	if (w == p && len > 0) { /* "./" and the like: the folder itself */
		p[0] = '.';
		p[1] = '\0';
	}
}

/* base and rel joined and cleaned (rel alone when it is absolute), allocated. */
static char *absolute_clean(const char *rel, const char *base)
{
	size_t nb = base ? strlen(base) : 0, nr = strlen(rel);
	char *out = malloc(nb + nr + 3);
	if (!out)
		return NULL;
	if (!base || is_absolute(rel) || rel[0] == '\\' || (has_drive(rel) && rel[2] == '\\'))
		memcpy(out, rel, nr + 1);
	else {
		memcpy(out, base, nb);
		out[nb] = '/';
		memcpy(out + nb + 1, rel, nr + 1);
	}
	clean_path(out);
	return out;
}

/* Whether path starts with the folder root (the drive letter in any case); its length then. */
static size_t under(const char *path, const char *root)
{
	size_t n = strlen(root), i;
	if (strcmp(root, "/") == 0)
		return path[0] == '/' ? 1 : 0;
	for (i = 0; i < n; i++) {
		char a = path[i], b = root[i];
		if (i == 0 && has_drive(root) && a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (i == 0 && has_drive(root) && b >= 'a' && b <= 'z')
			b = (char)(b - 'a' + 'A');
		if (a != b)
			return 0;
	}
	return path[n] == '/' || path[n] == '\0' ? n : 0;
}

char *wsph_path_for_report(const char *path, const char *root)
{
	char cwd[4096], *abs = NULL, *base = NULL, *out = NULL;
	size_t n;

	if (!path)
		return NULL;
	if (wsph_plat_cwd(cwd, sizeof cwd) != 0) {
		out = dup_cstr(path);
		if (out)
			clean_path(out);
		return out;
	}
	clean_path(cwd);
	abs = absolute_clean(path, cwd);
	base = absolute_clean(root && *root ? root : ".", cwd);
	if (!abs || !base)
		goto done;
	n = under(abs, base);
	if (!n) {
		out = abs;
		abs = NULL;
	} else {
		const char *rest = abs + n;
		while (*rest == '/')
			rest++;
		out = dup_cstr(*rest ? rest : ".");
	}
done:
	free(abs);
	free(base);
	return out;
}

/* Loads `text` (len bytes) as the file `path`, or the file itself when text is NULL. */
static int load_text_or_file(struct wsph_suite *suite, const char *path, const char *text,
			     size_t len, const char *root, struct wsph_diag *diag)
{
	static const char *const top_keys[] = {"scenarios", NULL};
	struct wsph_strset names = {NULL, 0, 0};
	struct wsph_yaml_doc doc = {NULL};
	struct wsph_scenario *list = NULL, *scenarios;
	char **files, **classnames;
	const struct wsph_yaml_node *seq;
	/* The file is read by the path as given and shown in reports by wsph_path_for_report's form,
	 * which replaces it in the same buffer once the file is loaded (its nodes point at it). */
	char *shown = text ? NULL : wsph_path_for_report(path, suite->report_root);
	size_t room = strlen(path) > (shown ? strlen(shown) : 0) ? strlen(path) : strlen(shown);
	char *file = malloc(room + 1), *classname = make_classname(path, root);
	size_t n = 0, i;
	int rc = -1;

	if (file)
		strcpy(file, path);
	if (!file || !classname || (!text && !shown)) {
		snprintf(diag->text, sizeof diag->text, "%s: out of memory", path);
		goto out;
	}
	if (strlen(classname) - CLASS_PREFIX_LEN > WSPH_SCENARIO_MAX_CLASSNAME) {
		snprintf(diag->text, sizeof diag->text,
			 "%s: the class name (the path under the scenarios folder, dotted) is longer "
			 "than %u bytes (found %lu)", path, WSPH_SCENARIO_MAX_CLASSNAME,
			 (unsigned long)(strlen(classname) - CLASS_PREFIX_LEN));
		goto out;
	}
	if ((text ? wsph_yaml_load_string(&doc, file, text, len, diag)
		  : wsph_yaml_load_file(&doc, file, diag)) ||
	    wsph_yaml_check_keys(doc.root, top_keys, "the top-level mapping", diag) ||
	    wsph_yaml_require(doc.root, "scenarios", "the top-level mapping", &seq, diag) ||
	    wsph_yaml_want_sequence(seq, "'scenarios'", 1, diag))
		goto out;
	list = calloc(seq->n_items, sizeof *list);
	if (!list) {
		wsph_yaml_error(diag, seq, "out of memory");
		goto out;
	}
	for (i = 0; i < seq->n_items; i++) {
		n++;
		list[i].classname = classname;
		if (load_scenario(&list[i], seq, i, &names, diag))
			goto out;
	}
	/* Grow every array first so that a failure leaves the suite as it was. */
	files = realloc(suite->files, (suite->n_files + 1) * sizeof *files);
	if (files)
		suite->files = files;
	classnames = realloc(suite->classnames, (suite->n_classnames + 1) * sizeof *classnames);
	if (classnames)
		suite->classnames = classnames;
	scenarios = realloc(suite->scenarios, (suite->n_scenarios + n) * sizeof *scenarios);
	if (scenarios)
		suite->scenarios = scenarios;
	if (!files || !classnames || !scenarios) {
		snprintf(diag->text, sizeof diag->text, "%s: out of memory", path);
		goto out;
	}
	if (shown)
		strcpy(file, shown); /* every loc.file points at this string: renamed in place */
	suite->files[suite->n_files++] = file;
	suite->classnames[suite->n_classnames++] = classname;
	memcpy(suite->scenarios + suite->n_scenarios, list, n * sizeof *list);
	suite->n_scenarios += n;
	file = NULL;
	classname = NULL;
	n = 0;
	rc = 0;
out:
	for (i = 0; i < n; i++)
		scenario_free(&list[i]);
	free(list);
	wsph_strset_free(&names);
	wsph_yaml_free(&doc);
	free(file);
	free(shown);
	free(classname);
	return rc;
}

/* A path longer than WSPH_SCENARIO_MAX_PATH: an error that shows its start. */
static int path_too_long(const char *path, struct wsph_diag *diag)
{
	size_t n = strlen(path);

	if (n <= WSPH_SCENARIO_MAX_PATH)
		return 0;
	snprintf(diag->text, sizeof diag->text, "%.200s...: the path is longer than %u bytes "
		 "(found %lu)", path, WSPH_SCENARIO_MAX_PATH, (unsigned long)n);
	return -1;
}

int wsph_scenario_load_file(struct wsph_suite *suite, const char *path, const char *root,
			    struct wsph_diag *diag)
{
	if (path_too_long(path, diag))
		return -1;
	return load_text_or_file(suite, path, NULL, 0, root, diag);
}

int wsph_scenario_load_string(struct wsph_suite *suite, const char *path, const char *text,
			      size_t len, const char *root, struct wsph_diag *diag)
{
	return load_text_or_file(suite, path, text ? text : "", text ? len : 0, root, diag);
}

/* ---- directories ---- */

struct names {
	char **v;
	size_t n, cap;
	int oom;
};

static int names_push(struct names *l, char *s)
{
	if (!s) {
		l->oom = 1;
		return -1;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			free(s);
			l->oom = 1;
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Each entry is kept as 'd' (the listing says a folder) or 'f', then its name. */
static void collect_entry(void *ctx, const char *name, int is_dir)
{
	size_t n = strlen(name) + 1;
	char *e = malloc(n + 1);

	if (e) {
		e[0] = is_dir ? 'd' : 'f';
		memcpy(e + 1, name, n);
	}
	names_push(ctx, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

/* dir + separator + name; the separator is the one dir already uses, so Windows paths given with
 * backslashes stay consistent in reports. */
static char *join_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int sep = dl > 0 && !is_sep(dir[dl - 1]);
	char *out = malloc(dl + (size_t)sep + nl + 1);

	if (!out)
		return NULL;
	memcpy(out, dir, dl);
	if (sep)
		out[dl] = strchr(dir, '\\') && !strchr(dir, '/') ? '\\' : '/';
	memcpy(out + dl + (size_t)sep, name, nl + 1);
	return out;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* One walk of a scenario folder: the files found, the folders read (by identity, so that a link
 * loop, or a second link to a folder, reads it once) and the suite that keeps the warnings. */
struct walk {
	struct names files;
	struct names dir_ids; /* each a malloc'd uint64_t[2], the keys of `seen` */
	struct wsph_strset seen;
	struct wsph_suite *suite;
	struct wsph_diag *diag;
};

static int walk_oom(struct walk *w, const char *where)
{
	snprintf(w->diag->text, sizeof w->diag->text, "%s: out of memory", where);
	return -1;
}

/* "PATH: why; skipped" in the suite's warnings. */
static int walk_warn(struct walk *w, const char *path, const char *why)
{
	size_t n = strlen(path) + strlen(why) + 16;
	char *text = malloc(n);
	char **v = realloc(w->suite->warnings, (w->suite->n_warnings + 1) * sizeof *v);

	if (v)
		w->suite->warnings = v;
	if (!text || !v) {
		free(text);
		return walk_oom(w, path);
	}
	snprintf(text, n, "%s: %s; skipped", path, why);
	w->suite->warnings[w->suite->n_warnings++] = text;
	return 0;
}

/* 1 when the folder was read already, 0 when it is new (and now marked), -1 out of memory. */
static int dir_seen(struct walk *w, const char *dir)
{
	uint64_t id[2], *key;
	int rc;

	if (wsph_plat_dir_identity(dir, id) != 0)
		return 0; /* not told: the depth limit still ends a loop */
	key = malloc(sizeof id);
	if (!key || names_push(&w->dir_ids, (char *)key))
		return -1;
	memcpy(key, id, sizeof id);
	rc = wsph_strset_add(&w->seen, (const char *)key, sizeof id, NULL, NULL);
	return rc < 0 ? -1 : rc;
}

static int walk_dir(struct walk *w, const char *dir, int depth);

/* One entry of a folder at `depth`: a folder is walked, a regular *.yaml file kept, another kind
 * of *.yaml file reported and skipped. Names starting with '.' (editor and VCS files) are skipped;
 * rules.yaml, errors.yaml and explore.yaml are skipped at the top only, where the rule catalogue,
 * the error tables and explore's model live. */
static int walk_entry(struct walk *w, const char *dir, const char *entry, int depth)
{
	const char *name = entry + 1;
	enum wsph_file_kind kind;
	char why[64];
	char *path;
	int rc = 0;

	if (name[0] == '.' ||
	    (depth == 0 && (strcmp(name, "rules.yaml") == 0 || strcmp(name, "errors.yaml") == 0 ||
			    strcmp(name, "explore.yaml") == 0)))
		return 0;
	path = join_path(dir, name);
	if (!path)
		return walk_oom(w, dir);
	if (!ends_with(name, ".yaml") && entry[0] != 'd' && !wsph_plat_is_dir(path)) {
		free(path);
		return 0;
	}
	kind = wsph_plat_file_kind(path);
	if (path_too_long(path, w->diag)) { /* before the kind counts: a long path may have none */
		rc = -1;
	} else if (kind == WSPH_FILE_DIR) {
		rc = walk_dir(w, path, depth + 1);
	} else if (kind == WSPH_FILE_REGULAR || kind == WSPH_FILE_MISSING) {
		/* a link to nothing is kept: loading it says "cannot open" */
		rc = names_push(&w->files, path) ? walk_oom(w, dir) : 0;
		path = NULL;
	} else {
		snprintf(why, sizeof why, "not a regular file (%s)", wsph_file_kind_name(kind));
		rc = walk_warn(w, path, why);
	}
	free(path);
	return rc;
}

/* Appends every scenario file under dir to w->files. */
static int walk_dir(struct walk *w, const char *dir, int depth)
{
	struct names entries = {NULL, 0, 0, 0};
	size_t i;
	int rc = -1, seen;

	if (depth > WSPH_SCENARIO_MAX_DEPTH) {
		snprintf(w->diag->text, sizeof w->diag->text,
			 "%s: folders nested deeper than %d levels", dir, WSPH_SCENARIO_MAX_DEPTH);
		return -1;
	}
	seen = dir_seen(w, dir);
	if (seen != 0)
		return seen < 0 ? walk_oom(w, dir)
				: walk_warn(w, dir, "a folder this walk has read already (a link loop?)");
	if (wsph_plat_list_dir(dir, collect_entry, &entries) != 0) {
		snprintf(w->diag->text, sizeof w->diag->text, "%s: cannot read the folder", dir);
		goto out;
	}
	if (entries.oom) {
		walk_oom(w, dir);
		goto out;
	}
	if (entries.n > 1) /* sorted: the warnings come in the same order on every run */
		qsort(entries.v, entries.n, sizeof *entries.v, cmp_entry);
	for (i = 0; i < entries.n; i++)
		if (walk_entry(w, dir, entries.v[i], depth))
			goto out;
	rc = 0;
out:
	names_free(&entries);
	return rc;
}

int wsph_scenario_load_dir(struct wsph_suite *suite, const char *dir, struct wsph_diag *diag)
{
	struct walk w;
	size_t i;
	int rc = -1;

	memset(&w, 0, sizeof w);
	w.suite = suite;
	w.diag = diag;
	if (path_too_long(dir, diag))
		return -1;
	if (!wsph_plat_is_dir(dir)) {
		snprintf(diag->text, sizeof diag->text, "%s: not a folder", dir);
		return -1;
	}
	if (walk_dir(&w, dir, 0))
		goto out;
	if (w.files.n > 1)
		qsort(w.files.v, w.files.n, sizeof *w.files.v, cmp_str);
	for (i = 0; i < w.files.n; i++)
		if (wsph_scenario_load_file(suite, w.files.v[i], dir, diag))
			goto out;
	rc = 0;
out:
	wsph_strset_free(&w.seen);
	names_free(&w.dir_ids);
	names_free(&w.files);
	return rc;
}
