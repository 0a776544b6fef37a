/* Exploration (explore.h): the model's data, the scenario text, the shrinker, and the loop that
 * runs batches through the runner. The generator is explore_gen.c. */
#include "explore.h"

#include "fn.h"
#include "platform/platform.h"
#include "results.h"
#include "scenario.h"
#include "upcalls.h"
#include "util.h"
#include "yamlutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model's data ---- */

/* The steps that wait are drawn only when the generator's model knows what they wait for has
 * come (a completion, an APC) or will come (an arrive's data, for the receive that follows it);
 * waitmessage, waitevent and cancelblockingcall never. */
static const unsigned default_weights[WSPH_OP_COUNT] = {
	[WSPH_OP_STARTUP] = 2,	   [WSPH_OP_CLEANUP] = 2,	[WSPH_OP_SOCKET] = 8,
	[WSPH_OP_BIND] = 6,	   [WSPH_OP_LISTEN] = 5,	[WSPH_OP_CONNECT] = 6,
	[WSPH_OP_ACCEPT] = 6,	   [WSPH_OP_SEND] = 16,		[WSPH_OP_RECV] = 14,
	[WSPH_OP_SENDTO] = 8,	   [WSPH_OP_RECVFROM] = 8,	[WSPH_OP_CLOSE] = 6,
	[WSPH_OP_SHUTDOWN] = 3,	   [WSPH_OP_GETSOCKOPT] = 3,	[WSPH_OP_SETSOCKOPT] = 3,
	[WSPH_OP_IOCTL] = 3,	   [WSPH_OP_GETSOCKNAME] = 3,	[WSPH_OP_GETPEERNAME] = 3,
	[WSPH_OP_ASYNCSELECT] = 4, [WSPH_OP_EVENTSELECT] = 4,	[WSPH_OP_ENUMNETWORKEVENTS] = 3,
	[WSPH_OP_SELECT] = 3,	   [WSPH_OP_GETOVERLAPPEDRESULT] = 4, [WSPH_OP_COMPLETE] = 6,
	[WSPH_OP_ALERTABLE] = 4,   [WSPH_OP_ARRIVE] = 5,
};

void wsph_explore_model_default(struct wsph_explore_model *m)
{
	memcpy(m->weights, default_weights, sizeof m->weights);
	m->connection = 20;
	m->fault_percent = 10;
	m->upcalls_percent = 15;
	m->open_at_cleanup_percent = 15;
}

/* The model's percentages and the connection's weight: key, bound, field. */
static const struct {
	const char *key, *what;
	long long max;
	size_t offset;
} model_numbers[] = {
	{"connection", "'connection' (a weight)", 1000, offsetof(struct wsph_explore_model, connection)},
	{"faults", "'faults' (a percentage)", 100, offsetof(struct wsph_explore_model, fault_percent)},
	{"upcalls", "'upcalls' (a percentage)", 100,
	 offsetof(struct wsph_explore_model, upcalls_percent)},
	{"open_at_cleanup", "'open_at_cleanup' (a percentage)", 100,
	 offsetof(struct wsph_explore_model, open_at_cleanup_percent)},
};

static int model_from_doc(struct wsph_explore_model *m, const struct wsph_yaml_node *root,
			  struct wsph_diag *diag)
{
	static const char *const keys[] = {"weights", "connection", "faults", "upcalls",
					   "open_at_cleanup", NULL};
	const struct wsph_yaml_node *w, *f;
	long long v;
	if (wsph_yaml_check_keys(root, keys, "the explore model", diag))
		return -1;
	wsph_explore_model_default(m);
	for (size_t i = 0; i < sizeof model_numbers / sizeof model_numbers[0]; i++) {
		if ((f = wsph_yaml_get(root, model_numbers[i].key)) == NULL)
			continue;
		if (wsph_yaml_integer(f, model_numbers[i].what, 0, model_numbers[i].max, &v, diag))
			return -1;
		*(unsigned *)((char *)m + model_numbers[i].offset) = (unsigned)v;
	}
	if ((w = wsph_yaml_get(root, "weights")) == NULL)
		return 0;
	if (wsph_yaml_want_mapping(w, "'weights'", diag))
		return -1;
	for (size_t i = 0; i < w->n_pairs; i++) {
		const struct wsph_yaml_node *k = w->pairs[i].key;
		const struct wsph_step_def *d = wsph_step_find(k->text, k->len);
		if (!d)
			return wsph_yaml_error(diag, k, "'%s' is not a step (wspharness list --steps)",
					       k->text);
		if (wsph_yaml_integer(w->pairs[i].value, "a step's weight", 0, 1000, &v, diag))
			return -1;
		m->weights[d->op] = (unsigned)v;
	}
	if (!m->weights[WSPH_OP_SOCKET])
		return wsph_yaml_error(diag, w, "the weight of 'socket' must be above 0");
	return 0;
}

int wsph_explore_model_load_string(struct wsph_explore_model *m, const char *path,
				   const char *text, size_t len, struct wsph_diag *diag)
{
	struct wsph_yaml_doc doc;
	if (wsph_yaml_load_string(&doc, path, text, len, diag))
		return -1;
	int rc = model_from_doc(m, doc.root, diag);
	wsph_yaml_free(&doc);
	return rc;
}

int wsph_explore_model_load(struct wsph_explore_model *m, const char *path, struct wsph_diag *diag)
{
	struct wsph_yaml_doc doc;
	if (wsph_yaml_load_file(&doc, path, diag))
		return -1;
	int rc = model_from_doc(m, doc.root, diag);
	wsph_yaml_free(&doc);
	return rc;
}

/* ---- the generator ---- */

/* ---- the scenario text ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void put(struct sbuf *b, const char *fmt, ...) WSPH_PRINTF(2, 3);
static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && b->n + (size_t)w < b->cap) {
			b->n += (size_t)w;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->n + (size_t)w + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* The steps some expectation of the sequence holds only with (bit i: step i). */
static uint64_t premise_mask(const struct wsph_seq *s)
{
	uint64_t mask = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		for (size_t k = 0; s->steps[i].expect && k < s->steps[i].n_premises; k++)
			mask |= 1ull << s->steps[i].premises[k];
	return mask;
}

/* What a step expects as the text says it: a premise the model knows succeeds is a control step
 * (when it fails, the expectations that rely on it are not reached: the case is inconclusive). */
static void put_expect(struct sbuf *b, const struct wsph_gen_step *st, int premise)
{
	int control = st->control || (premise && st->sure && !st->expect);
	put(b, "        expect: %s\n", st->expect ? st->expect : control ? "ok" : "any");
	if (st->rule)
		put(b, "        rule: %s\n", st->rule);
	if (control)
		put(b, "        control: true\n");
}

static void put_item(struct sbuf *b, const struct wsph_seq *s, const char *name, const char *check)
{
	static const char *const hooks[] = {"none", "true", "false", "cancel"};
	uint64_t premises = premise_mask(s);
	put(b, "  - name: %s\n    checks: [%s]\n", name, check);
	if (s->blocking > 0 || s->modify_different)
		put(b, "    upcalls: {%s%s}\n",
		    s->modify_different ? "modify_ifs_handle: different" : "blocking_callback: ",
		    s->modify_different ? "" : hooks[s->blocking & 3]);
	if (s->n_faults) {
		put(b, "    faults:\n");
		for (size_t i = 0; i < s->n_faults; i++)
			put(b, "      - {upcall: %s, call: %u, error: %s}\n",
			    wsph_fn_name((enum wsph_fn)s->faults[i].upcall), s->faults[i].call,
			    s->faults[i].error);
	}
	put(b, "    steps:\n");
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct wsph_gen_step *st = &s->steps[i];
		put(b, "      - %s:", wsph_step_def(st->op)->name);
		for (size_t k = 0; k < st->n_args; k++)
			put(b, "%s%s: %s", k ? ", " : " {", wsph_key_name(st->args[k].key),
			    st->args[k].value);
		put(b, "%s\n", st->n_args ? "}" : "");
		put_expect(b, st, (premises >> i) & 1);
	}
}

static char *finish(struct sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

char *wsph_explore_yaml(const struct wsph_seq *s, const char *name, const char *check,
			const char *header)
{
	struct sbuf b = {0};
	if (header)
		put(&b, "%s", header);
	put(&b, "scenarios:\n");
	put_item(&b, s, name, check);
	return finish(&b);
}

char *wsph_explore_yaml_batch(const struct wsph_seq *seqs, size_t n, const char *prefix,
			      const char *check)
{
	struct sbuf b = {0};
	char name[64];
	put(&b, "scenarios:\n");
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s%zu", prefix, i);
		put_item(&b, &seqs[i], name, check);
	}
	return finish(&b);
}

/* ---- the shrinker ---- */

/* Whether the value names `name` (itself, or an item of a [a, b] list). */
static int value_uses(const char *value, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = value; (p = strstr(p, name)) != NULL; p += n) {
		int before = p == value || p[-1] == '[' || p[-1] == ' ';
		int after = p[n] == '\0' || p[n] == ',' || p[n] == ']';
		if (before && after)
			return 1;
	}
	return 0;
}

/* The step no longer expects anything (expect: any): what it expected held only with a step or a
 * setting the sequence no longer has. */
static void void_expectation(struct wsph_gen_step *st)
{
	st->expect = NULL;
	st->rule = NULL;
	st->n_premises = 0;
	st->premise_setting = 0;
}

/* Each index of the list to its new one (at[j]: the new index of old step j, -1 when it went);
 * -1 when one went. */
static int renumber(unsigned char *list, size_t n, const int *at)
{
	for (size_t k = 0; k < n; k++) {
		if (at[list[k]] < 0)
			return -1;
		list[k] = (unsigned char)at[list[k]];
	}
	return 0;
}

/* After steps were removed: each premise and need follows its step, an expectation that lost a
 * premise is void, and a step that lost what it waits for makes the sequence one that may wait
 * for good. */
static void renumber_premises(struct wsph_seq *s, const int *at)
{
	for (size_t j = 0; j < s->n_steps; j++) {
		struct wsph_gen_step *st = &s->steps[j];
		if (renumber(st->premises, st->n_premises, at))
			void_expectation(st);
		if (renumber(st->needs, st->n_needs, at)) {
			s->may_wait = 1;
			st->n_needs = 0;
		}
	}
}

/* Step i changed (an argument went): the expectations that hold only with it are void. */
static void void_dependents(struct wsph_seq *s, size_t i)
{
	for (size_t j = i + 1; j < s->n_steps; j++)
		for (size_t k = 0; k < s->steps[j].n_premises; k++)
			if (s->steps[j].premises[k] == i) {
				void_expectation(&s->steps[j]);
				break;
			}
}

/* Removes step i and every later step that uses a name a removed step binds; the expectations
 * that held only with a removed step are void. */
static void remove_step(struct wsph_seq *s, size_t i)
{
	char names[WSPH_EXPLORE_MAX_STEPS][64];
	int at[WSPH_EXPLORE_MAX_STEPS];
	size_t n_names = 0, out = 0;
	for (size_t j = 0; j < s->n_steps; j++) {
		const struct wsph_gen_step *st = &s->steps[j];
		const struct wsph_step_def *d = wsph_step_def(st->op);
		int drop = j == i;
		for (size_t k = 0; !drop && j > i && k < st->n_args; k++) {
			const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
			if (a && (a->flags & WSPH_ARG_BINDS))
				continue;
			for (size_t m = 0; m < n_names && !drop; m++)
				drop = value_uses(st->args[k].value, names[m]);
		}
		at[j] = drop ? -1 : (int)out;
		if (!drop) {
			s->steps[out++] = *st;
			continue;
		}
		for (size_t k = 0; k < st->n_args; k++) {
			const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
			if (a && (a->flags & WSPH_ARG_BINDS) && n_names < WSPH_EXPLORE_MAX_STEPS)
				memcpy(names[n_names++], st->args[k].value, sizeof names[0]);
		}
	}
	s->n_steps = out;
	renumber_premises(s, at);
}

/* ---- a stream connection replaced by a datagram socket ---- */

/* The value of the step's argument key (NULL: none). */
static const char *arg_of(const struct wsph_gen_step *st, enum wsph_key key)
{
	for (size_t k = 0; k < st->n_args; k++)
		if (st->args[k].key == key)
			return st->args[k].value;
	return NULL;
}

static int arg_is(const struct wsph_gen_step *st, enum wsph_key key, const char *value)
{
	const char *v = arg_of(st, key);
	return v && value && !strcmp(v, value);
}

/* Whether the step uses (bound: 0) or binds (bound: 1) a name of the list. */
static int step_has_name(const struct wsph_gen_step *st, char (*names)[64], size_t n, int bound)
{
	const struct wsph_step_def *d = wsph_step_def(st->op);
	for (size_t k = 0; k < st->n_args; k++) {
		const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
		if (((a && (a->flags & WSPH_ARG_BINDS)) != 0) != bound)
			continue;
		for (size_t m = 0; m < n; m++)
			if (value_uses(st->args[k].value, names[m]))
				return 1;
	}
	return 0;
}

/* A stream socket X in a connection: the step that made it, the listener L (its address addr)
 * and the peer P (NULL: its connection was never accepted). */
struct conn {
	size_t made;
	const char *x, *l, *p, *addr;
};

/* The n-th step (0-based) of op whose key is value, from step `from`; SIZE_MAX when none. */
static size_t nth_step(const struct wsph_seq *s, size_t from, enum wsph_op op, enum wsph_key key,
		       const char *value, size_t n)
{
	for (size_t j = from; j < s->n_steps; j++)
		if (s->steps[j].op == op && arg_is(&s->steps[j], key, value) && n-- == 0)
			return j;
	return SIZE_MAX;
}

static size_t count_before(const struct wsph_seq *s, size_t before, enum wsph_op op,
			   enum wsph_key key, const char *value)
{
	size_t n = 0;
	for (size_t j = 0; j < before; j++)
		n += s->steps[j].op == op && arg_is(&s->steps[j], key, value);
	return n;
}

/* X made by an accept on L: the k-th accept on L takes the k-th connection to L's address. */
static int accepted_conn(const struct wsph_seq *s, struct conn *c)
{
	c->l = arg_of(&s->steps[c->made], WSPH_KEY_SOCKET);
	size_t b = nth_step(s, 0, WSPH_OP_BIND, WSPH_KEY_SOCKET, c->l, 0);
	if (b == SIZE_MAX)
		return 0;
	c->addr = arg_of(&s->steps[b], WSPH_KEY_ADDR);
	size_t k = count_before(s, c->made, WSPH_OP_ACCEPT, WSPH_KEY_SOCKET, c->l);
	size_t con = nth_step(s, 0, WSPH_OP_CONNECT, WSPH_KEY_ADDR, c->addr, k);
	if (con == SIZE_MAX || con > c->made)
		return 0;
	c->p = arg_of(&s->steps[con], WSPH_KEY_SOCKET);
	return 1;
}

/* X made by a socket step and connected to L's address. */
static int client_conn(const struct wsph_seq *s, struct conn *c)
{
	size_t con = nth_step(s, c->made, WSPH_OP_CONNECT, WSPH_KEY_SOCKET, c->x, 0);
	if (con == SIZE_MAX)
		return 0;
	c->addr = arg_of(&s->steps[con], WSPH_KEY_ADDR);
	size_t b = nth_step(s, 0, WSPH_OP_BIND, WSPH_KEY_ADDR, c->addr, 0);
	if (b == SIZE_MAX || b > con)
		return 0;
	c->l = arg_of(&s->steps[b], WSPH_KEY_SOCKET);
	size_t k = count_before(s, con, WSPH_OP_CONNECT, WSPH_KEY_ADDR, c->addr);
	size_t acc = nth_step(s, con, WSPH_OP_ACCEPT, WSPH_KEY_SOCKET, c->l, k);
	c->p = acc == SIZE_MAX ? NULL : arg_of(&s->steps[acc], WSPH_KEY_AS);
	return 1;
}

static int find_conn(const struct wsph_seq *s, size_t m, struct conn *c)
{
	const struct wsph_gen_step *st = &s->steps[m];
	memset(c, 0, sizeof *c);
	c->made = m;
	c->x = arg_of(st, WSPH_KEY_AS);
	if (st->op == WSPH_OP_ACCEPT)
		return accepted_conn(s, c);
	if (st->op != WSPH_OP_SOCKET || arg_is(st, WSPH_KEY_TYPE, "dgram"))
		return 0;
	return client_conn(s, c);
}

static void add_arg(struct wsph_gen_step *st, enum wsph_key key, const char *value)
{
	st->args[st->n_args].key = key;
	snprintf(st->args[st->n_args++].value, sizeof st->args[0].value, "%s", value);
}

/* Appends a step of op without arguments (the model knows it succeeds). */
static struct wsph_gen_step *new_step(struct wsph_seq *out, enum wsph_op op)
{
	struct wsph_gen_step *st = &out->steps[out->n_steps++];
	memset(st, 0, sizeof *st);
	st->op = op;
	st->sure = 1;
	return st;
}

/* Appends a step of op on socket sock and addr (the model knows it succeeds). */
static struct wsph_gen_step *append(struct wsph_seq *out, enum wsph_op op, const char *sock,
				    const char *addr)
{
	struct wsph_gen_step *st = new_step(out, op);
	add_arg(st, WSPH_KEY_SOCKET, sock);
	add_arg(st, WSPH_KEY_ADDR, addr);
	return st;
}

#define REPLACED (-2) /* a step of the connection: the datagram socket's bind stands for it */

/* The steps X no longer takes as a datagram socket: those of a connection (and its own bind:
 * the new one stands for it), and its sends. */
static int stream_only(const struct wsph_gen_step *st, const char *x)
{
	static const enum wsph_op ops[] = {WSPH_OP_BIND,     WSPH_OP_CONNECT,     WSPH_OP_LISTEN,
					   WSPH_OP_SHUTDOWN, WSPH_OP_GETPEERNAME, WSPH_OP_SEND,
					   WSPH_OP_ARRIVE};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (st->op == ops[i] && arg_is(st, WSPH_KEY_SOCKET, x))
			return 1;
	return 0;
}

/* Whether a dropped step is one of the connection's own: the listener's socket, bind, listen
 * and accepts, the connects to it, the peer's socket, X's own bind. */
static int conn_step(const struct wsph_gen_step *st, const struct conn *c)
{
	switch (st->op) {
	case WSPH_OP_SOCKET:
		return arg_is(st, WSPH_KEY_AS, c->l) || arg_is(st, WSPH_KEY_AS, c->p);
	case WSPH_OP_BIND:
		return arg_is(st, WSPH_KEY_SOCKET, c->l) || arg_is(st, WSPH_KEY_SOCKET, c->x);
	case WSPH_OP_LISTEN:
	case WSPH_OP_ACCEPT: return arg_is(st, WSPH_KEY_SOCKET, c->l);
	case WSPH_OP_CONNECT: return arg_is(st, WSPH_KEY_ADDR, c->addr);
	default: return 0;
	}
}

/* The datagram candidate in the making: prem[j] says where step j's premises go (its new index,
 * REPLACED, or -1: an expectation that held with it is void), at[j] where it went (its new index,
 * or the sendto it became; REPLACED; -1). */
struct dgram {
	const struct wsph_seq *s;
	const struct conn *c;
	struct wsph_seq *out;
	int prem[WSPH_EXPLORE_MAX_STEPS];
	int at[WSPH_EXPLORE_MAX_STEPS];
	char dead[WSPH_EXPLORE_MAX_STEPS][64]; /* the names that went */
	size_t n_dead;
	int bind_at;
	int x_closed; /* a close of X was kept */
};

/* X's own step: a datagram socket bound to the listener's address (free once it went). */
static void dgram_made(struct dgram *g)
{
	struct wsph_gen_step *st = &g->out->steps[g->out->n_steps];
	memset(st, 0, sizeof *st);
	st->op = WSPH_OP_SOCKET;
	st->sure = 1;
	add_arg(st, WSPH_KEY_AS, g->c->x);
	add_arg(st, WSPH_KEY_TYPE, "dgram");
	g->prem[g->c->made] = g->at[g->c->made] = (int)g->out->n_steps++;
	g->bind_at = (int)g->out->n_steps;
	append(g->out, WSPH_OP_BIND, g->c->x, g->c->addr);
}

/* What the peer does that X sees: its sends, its close and shutdown. */
static int peer_traffic(const struct wsph_gen_step *st, const char *p)
{
	return (st->op == WSPH_OP_SEND || st->op == WSPH_OP_CLOSE || st->op == WSPH_OP_SHUTDOWN) &&
	       arg_is(st, WSPH_KEY_SOCKET, p);
}

/* The len of the first receive on x after step j that takes what waits (no op); 0: none. */
static size_t take_len(const struct wsph_seq *s, size_t j, const char *x)
{
	for (size_t k = j + 1; k < s->n_steps; k++) {
		const struct wsph_gen_step *st = &s->steps[k];
		if ((st->op == WSPH_OP_RECV || st->op == WSPH_OP_RECVFROM) &&
		    arg_is(st, WSPH_KEY_SOCKET, x) && !arg_of(st, WSPH_KEY_OP)) {
			const char *len = arg_of(st, WSPH_KEY_LEN);
			return len ? (size_t)strtoul(len, NULL, 10) : 0;
		}
	}
	return 0;
}

/* The peer's step j as a datagram X sends itself: its data (as much as the next receive on X
 * takes), or for its close or shutdown one byte; what counted on it as a stream is void. */
static void dgram_sendto(struct dgram *g, size_t j)
{
	const struct wsph_gen_step *st = &g->s->steps[j];
	struct wsph_gen_step *n = append(g->out, WSPH_OP_SENDTO, g->c->x, g->c->addr);
	n->sure = 0;
	if (st->op != WSPH_OP_SEND) {
		add_arg(n, WSPH_KEY_DATA, "x");
		return;
	}
	size_t len = take_len(g->s, j, g->c->x);
	for (size_t k = 0; k < st->n_args && n->n_args < WSPH_STEP_MAX_ARGS; k++) {
		if (st->args[k].key == WSPH_KEY_SOCKET)
			continue;
		n->args[n->n_args] = st->args[k];
		if (st->args[k].key == WSPH_KEY_DATA && len && len < sizeof n->args[0].value)
			n->args[n->n_args].value[len] = '\0';
		n->n_args++;
	}
}

/* Whether step st stays as it is in the datagram candidate. */
static int dgram_keeps(struct dgram *g, const struct wsph_gen_step *st)
{
	if (st->op == WSPH_OP_CONNECT && arg_is(st, WSPH_KEY_ADDR, g->c->addr))
		return 0; /* nothing listens there any more */
	return !stream_only(st, g->c->x) && !step_has_name(st, g->dead, g->n_dead, 0) &&
	       !step_has_name(st, g->dead, g->n_dead, 1);
}

static void dgram_step(struct dgram *g, size_t j)
{
	const struct wsph_gen_step *st = &g->s->steps[j];
	const struct conn *c = g->c;
	if (j == c->made) {
		dgram_made(g);
		return;
	}
	g->prem[j] = g->at[j] = -1;
	if (c->p && !g->x_closed && peer_traffic(st, c->p)) {
		g->at[j] = (int)g->out->n_steps;
		dgram_sendto(g, j);
		return;
	}
	g->x_closed |= st->op == WSPH_OP_CLOSE && arg_is(st, WSPH_KEY_SOCKET, c->x);
	if (dgram_keeps(g, st)) {
		g->out->steps[g->out->n_steps] = *st;
		g->prem[j] = g->at[j] = (int)g->out->n_steps++;
		return;
	}
	if (conn_step(st, c))
		g->prem[j] = g->at[j] = REPLACED;
	const struct wsph_step_def *d = wsph_step_def(st->op);
	for (size_t k = 0; k < st->n_args; k++) { /* what it binds goes too */
		const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
		if (a && (a->flags & WSPH_ARG_BINDS) && g->n_dead < WSPH_EXPLORE_MAX_STEPS)
			memcpy(g->dead[g->n_dead++], st->args[k].value, sizeof g->dead[0]);
	}
}

/* The premises of what X's expectations held with: the steps of the connection are the bind
 * now; for any other expectation they went. */
static void dgram_premises(struct dgram *g)
{
	for (size_t i = 0; i < g->out->n_steps; i++) {
		struct wsph_gen_step *st = &g->out->steps[i];
		int about_x = 0;
		size_t n = 0;
		for (size_t k = 0; k < st->n_premises; k++)
			about_x |= st->premises[k] == g->c->made;
		for (size_t k = 0; k < st->n_premises; k++) {
			int p = g->prem[st->premises[k]];
			if (p == REPLACED)
				p = about_x ? g->bind_at : -1;
			if (p < 0) {
				void_expectation(st);
				break;
			}
			if (!memchr(st->premises, p, n)) /* the bind once */
				st->premises[n++] = (unsigned char)p;
		}
		if (st->n_premises)
			st->n_premises = n;
	}
}

/* What each step waits for, where it went (the connection: the bind); a step that lost it makes
 * the candidate one that may wait for good. */
static void dgram_needs(struct dgram *g)
{
	for (size_t i = 0; i < g->out->n_steps; i++) {
		struct wsph_gen_step *st = &g->out->steps[i];
		for (size_t k = 0; k < st->n_needs; k++) {
			int p = g->at[st->needs[k]];
			if (p == REPLACED)
				p = g->bind_at;
			if (p < 0) {
				g->out->may_wait = 1;
				st->n_needs = 0;
				break;
			}
			st->needs[k] = (unsigned char)p;
		}
	}
}

/* Candidate: the stream socket step m made, in a connection, becomes a bound datagram socket;
 * the listener and the peer go with every step that uses them, and the peer's sends become
 * datagrams the socket sends itself. 0 when m made no such socket. */
static int to_datagram(const struct wsph_seq *s, size_t m, struct wsph_seq *out)
{
	struct conn c;
	struct dgram g;
	if (!find_conn(s, m, &c))
		return 0;
	memset(&g, 0, sizeof g);
	g.s = s;
	g.c = &c;
	g.out = out;
	snprintf(g.dead[g.n_dead++], sizeof g.dead[0], "%s", c.l);
	if (c.p)
		snprintf(g.dead[g.n_dead++], sizeof g.dead[0], "%s", c.p);
	out->n_steps = 0;
	size_t j = 0;
	for (; j < s->n_steps && out->n_steps + 2 <= WSPH_EXPLORE_MAX_STEPS; j++)
		dgram_step(&g, j);
	if (j < s->n_steps) {
		out->n_steps = 0; /* no room for it: no candidate (still_valid says so) */
		return 1;
	}
	dgram_premises(&g);
	dgram_needs(&g);
	return 1;
}

/* ---- a blocking receive as a select that waits out its time-out ---- */

/* A port no step of s binds or connects to. */
static unsigned free_port(const struct wsph_seq *s)
{
	unsigned port = 20000;
	for (size_t j = 0; j < s->n_steps; j++) {
		const char *a = arg_of(&s->steps[j], WSPH_KEY_ADDR), *colon = a ? strrchr(a, ':') : NULL;
		unsigned p = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
		if (p >= port && p < 65000)
			port = p + 1;
	}
	return port;
}

/* A socket name no step of s binds: w1, w2, ... */
static void free_name(const struct wsph_seq *s, char name[16])
{
	for (unsigned n = 1;; n++) {
		int used = 0;
		snprintf(name, 16, "w%u", n);
		for (size_t j = 0; j < s->n_steps && !used; j++) {
			const char *as = arg_of(&s->steps[j], WSPH_KEY_AS);
			used = as && !strcmp(as, name);
		}
		if (!used)
			return;
	}
}

/* Step i, a blocking receive judged by the blocking hook's rules (after an arrive), as a select
 * that waits out its time-out on a datagram socket of its own, bound just before: the hook is
 * asked and answered as in the receive, and the connection may then go. The arrive it waited for
 * goes at once. */
static int to_waiting_select(const struct wsph_seq *s, size_t i, struct wsph_seq *out)
{
	const struct wsph_gen_step *r = &s->steps[i];
	if (r->op != WSPH_OP_RECV || !r->rule || strncmp(r->rule, "WPU.BlockingCallback.", 21) ||
	    s->n_steps + 2 > WSPH_EXPLORE_MAX_STEPS)
		return 0;
	int at[WSPH_EXPLORE_MAX_STEPS];
	char name[16], text[48];
	free_name(s, name);
	*out = *s;
	out->may_wait = 0;
	out->n_steps = 0;
	for (size_t j = 0; j < s->n_steps; j++) {
		int arrive = j + 1 == i && s->steps[j].op == WSPH_OP_ARRIVE;
		if (j == i) {
			struct wsph_gen_step *k = new_step(out, WSPH_OP_SOCKET);
			add_arg(k, WSPH_KEY_AS, name);
			add_arg(k, WSPH_KEY_TYPE, "dgram");
			snprintf(text, sizeof text, "\"127.0.0.1:%u\"", free_port(s));
			append(out, WSPH_OP_BIND, name, text);
			struct wsph_gen_step *w = new_step(out, WSPH_OP_SELECT);
			snprintf(text, sizeof text, "[%s]", name);
			add_arg(w, WSPH_KEY_READ, text);
			add_arg(w, WSPH_KEY_TIMEOUT, "10");
			w->sure = 0;
			at[j] = (int)out->n_steps - 1;
			continue;
		}
		at[j] = arrive ? -1 : (int)out->n_steps;
		if (!arrive)
			out->steps[out->n_steps++] = s->steps[j];
	}
	/* the steps copied keep what they hold with and wait for, at their new places; the select
	 * holds with its socket and bind */
	renumber_premises(out, at);
	struct wsph_gen_step *w = &out->steps[at[i]];
	w->expect = r->expect;
	w->rule = r->rule;
	w->premise_setting = r->premise_setting;
	w->premises[0] = (unsigned char)(at[i] - 2);
	w->premises[1] = (unsigned char)(at[i] - 1);
	w->n_premises = 2;
	return 1;
}

/* The c-th structural candidate (0-based): a connection as a datagram socket, a blocking receive
 * as a waiting select; 0 past the last. */
static int structural_candidate(const struct wsph_seq *s, size_t c, struct wsph_seq *out)
{
	for (size_t m = 0; m < s->n_steps; m++) {
		if (to_datagram(s, m, out) && c-- == 0)
			return 1;
		if (to_waiting_select(s, m, out) && c-- == 0)
			return 1;
	}
	return 0;
}

static int drop_arg(const struct wsph_seq *s, size_t c, struct wsph_seq *out);

/* Candidate c of s (0-based), in this order: without step i, without fault j, fault j one call
 * earlier, without the upcalls: setting, a stream socket of a connection as a datagram socket,
 * a blocking receive as a waiting select (phase 0); step i without its optional argument k (phase 1). 0 when c is past the phase's
 * last. */
static int candidate(const struct wsph_seq *s, int phase, size_t c, struct wsph_seq *out)
{
	*out = *s;
	out->may_wait = 0;
	if (phase)
		return drop_arg(s, c, out);
	if (c < s->n_steps) {
		remove_step(out, c);
		return 1;
	}
	c -= s->n_steps;
	if (c < s->n_faults) {
		memmove(&out->faults[c], &out->faults[c + 1],
			(out->n_faults - c - 1) * sizeof out->faults[0]);
		out->n_faults--;
		return 1;
	}
	c -= s->n_faults;
	for (size_t j = 0; j < s->n_faults; j++)
		if (s->faults[j].call > 1 && c-- == 0) {
			out->faults[j].call--;
			return 1;
		}
	if (s->blocking || s->modify_different) {
		if (c-- == 0) {
			out->blocking = out->modify_different = 0;
			for (size_t i = 0; i < out->n_steps; i++)
				if (out->steps[i].premise_setting)
					void_expectation(&out->steps[i]);
			return 1;
		}
	}
	return structural_candidate(s, c, out);
}

static int drop_arg(const struct wsph_seq *s, size_t c, struct wsph_seq *out)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		struct wsph_gen_step *st = &out->steps[i];
		const struct wsph_step_def *d = wsph_step_def(st->op);
		for (size_t k = 0; k < st->n_args; k++) {
			const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
			if (a && (a->flags & WSPH_ARG_REQUIRED))
				continue;
			/* without its time-out a select waits for good where nothing comes */
			if (st->op == WSPH_OP_SELECT && st->args[k].key == WSPH_KEY_TIMEOUT)
				continue;
			if (c-- == 0) {
				memmove(&st->args[k], &st->args[k + 1],
					(st->n_args - k - 1) * sizeof st->args[0]);
				st->n_args--;
				/* what the model expected held with the step as it was drawn */
				void_expectation(st);
				void_dependents(out, i);
				return 1;
			}
		}
	}
	return 0;
}

/* A startup asking for a version below 2.0, which a provider refuses. */
static int refused_startup(const struct wsph_gen_step *st)
{
	for (size_t k = 0; k < st->n_args; k++)
		if (st->args[k].key == WSPH_KEY_VERSION && st->args[k].value[0] < '2')
			return 1;
	return 0;
}

/* What the generator keeps to that removing steps could break: every step that needs a started
 * provider has one (no call after the last cleanup but a cleanup with nothing to balance: the
 * provider's answer to anything else is not what the rules are about), and a startup with table B
 * is never the first (the rule about the most recent table reads a first startup's table B as a
 * table the provider was never given). */
static int still_valid(const struct wsph_seq *s)
{
	int started = 0, ever = 0;
	if (!s->n_steps)
		return 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct wsph_gen_step *st = &s->steps[i];
		if (st->op == WSPH_OP_CLEANUP) {
			if (!ever)
				return 0;
			started -= started > 0;
			continue;
		}
		if ((wsph_step_def(st->op)->needs & WSPH_NEEDS_STARTUP) && !started)
			return 0;
		if (st->op != WSPH_OP_STARTUP || refused_startup(st))
			continue;
		for (size_t k = 0; k < st->n_args && !ever; k++)
			if (st->args[k].key == WSPH_KEY_TABLE && !strcmp(st->args[k].value, "B"))
				return 0;
		started++;
		ever = 1;
	}
	/* and what the loader checks besides (an argument that needs another one, ...) */
	char *text = wsph_explore_yaml(s, "x", "SPI.Startup.VersionMin", NULL);
	struct wsph_suite suite;
	struct wsph_diag diag;
	memset(&suite, 0, sizeof suite);
	int ok = text && wsph_scenario_load_string(&suite, "candidate.yaml", text, strlen(text),
						   NULL, &diag) == 0;
	wsph_suite_free(&suite);
	free(text);
	return ok;
}

int wsph_explore_shrink(struct wsph_seq *s, wsph_explore_judge judge, void *ctx)
{
	/* the most candidates a round can have; the sequence only gets smaller */
	size_t cap = 2 + 2 * s->n_steps + 2 * s->n_faults;
	for (size_t i = 0; i < s->n_steps; i++)
		cap += s->steps[i].n_args;
	struct wsph_seq *cands = malloc(cap * sizeof *cands);
	int *fails = malloc(cap * sizeof *fails);
	int rounds = 0;
	if (!cands || !fails) {
		free(cands);
		free(fails);
		return -1;
	}
	/* each phase's candidates that keep what every step waits for, then (pass 1) the others */
	for (int phase = 0, pass = 0; phase < 2;) {
		size_t n = 0, best;
		for (size_t c = 0; n < cap && candidate(s, phase, c, &cands[n]); c++)
			n += still_valid(&cands[n]) && cands[n].may_wait == pass;
		if ((best = n) != 0) {
			memset(fails, 0, n * sizeof *fails);
			rounds++;
			if (judge(ctx, cands, n, fails) != 0) {
				rounds = -1;
				break;
			}
			for (size_t i = 0; i < n; i++)
				if (fails[i] && (best == n || cands[i].n_steps < cands[best].n_steps))
					best = i;
		}
		if (best == n) { /* nothing more goes in this pass: the next */
			phase += pass;
			pass = !pass;
			continue;
		}
		*s = cands[best];
		s->may_wait = 0;
		phase = pass = 0;
	}
	free(cands);
	free(fails);
	return rounds;
}

/* ---- running ---- */

#define BATCH 50
#define MAX_KEYS 256
/* A site whose shrunk scenario still has more than TARGET_STEPS steps is shrunk again from the
 * next sequences that show it, up to MAX_TRIES in all, and the shortest is kept: the first one
 * found may need a stream connection (six steps) where a later one shows the same defect on a
 * datagram socket of its own. */
#define TARGET_STEPS 8
#define MAX_TRIES 3

struct pending_finding {
	size_t index; /* in the batch */
	size_t site;
	char rule[128];
	char message[256];
};

/* A site (rule, WSP call, module) and the best scenario written for it. */
struct site {
	char key[200];
	unsigned tries;
	size_t best;	/* steps of the file written (0: none yet) */
	size_t summary; /* its entry in the summary's files (SIZE_MAX: not listed) */
	char path[600];
};

struct explorer {
	const struct wsph_explore_config *cfg;
	struct wsph_explore_summary *sum;
	struct wsph_diag *diag;
	struct site sites[MAX_KEYS];
	size_t n_sites;
	struct pending_finding found[16];
	size_t n_found;
};

typedef void (*case_fn)(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c);
static void on_explored(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c);

static int write_text(const char *path, const char *text, struct wsph_diag *diag)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		snprintf(diag->text, sizeof diag->text, "%s: cannot be written", path);
	return ok ? 0 : -1;
}

/* The case's index in the batch (its name is x<index>[kind]); (size_t)-1 when it is not one. */
static size_t case_index(const struct wsph_case *c)
{
	const char *p = c->name;
	size_t i = 0;
	if (!p || *p++ != 'x' || *p < '0' || *p > '9')
		return (size_t)-1;
	while (*p >= '0' && *p <= '9')
		i = i * 10 + (size_t)(*p++ - '0');
	return i;
}

/* Runs n sequences as one suite (one file the children can load too), calling fn per case.
 * 0, 1 the runner refused the provider, -1 (diag) otherwise. */
static int run_batch(struct explorer *x, const struct wsph_seq *seqs, size_t n, case_fn fn,
		     void *ctx)
{
	const struct wsph_explore_config *cfg = x->cfg;
	struct wsph_suite suite;
	struct wsph_results res;
	struct wsph_run_config rc = cfg->run;
	char *text = wsph_explore_yaml_batch(seqs, n, "x", cfg->run.set->rules[0].id);
	int rv = -1;
	memset(&suite, 0, sizeof suite);
	memset(&res, 0, sizeof res);
	if (!text) {
		snprintf(x->diag->text, sizeof x->diag->text, "out of memory");
		return -1;
	}
	if (write_text(cfg->work_file, text, x->diag) ||
	    wsph_scenario_load_file(&suite, cfg->work_file, NULL, x->diag))
		goto out;
	rc.suite = &suite;
	rc.allow_empty = 1;
	rc.filter = NULL;
	rc.rule = NULL;
	rc.progress = NULL;
	rc.progress_next = NULL;
	rv = wsph_run(&rc, &res);
	if (rv < 0)
		snprintf(x->diag->text, sizeof x->diag->text, "out of memory");
	if (rv)
		goto out;
	for (size_t i = 0; i < res.n_cases; i++) {
		const struct wsph_case *c = &res.cases[i];
		size_t k = case_index(c);
		/* a candidate of the shrinker that hangs is only a candidate that does not fail */
		x->sum->errors += c->outcome == WSPH_ERROR && fn == on_explored;
		if (k < n)
			fn(x, ctx, k, c);
	}
	x->sum->cases_run += res.n_cases;
out:
	wsph_results_free(&res);
	wsph_suite_free(&suite);
	free(text);
	return rv;
}

/* The finding's message on one line. */
static void keep_message(struct pending_finding *p, const struct wsph_finding *fd)
{
	snprintf(p->message, sizeof p->message, "%s", fd->message ? fd->message : "");
	for (char *q = p->message; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
}

/* Exploring: each finding at a site not seen before is kept for shrinking. */
/* A new site, or one whose scenario may still get shorter, and not already in this batch. */
static int worth_shrinking(const struct explorer *x, size_t k)
{
	if (k == x->n_sites)
		return 1;
	const struct site *st = &x->sites[k];
	for (size_t i = 0; i < x->n_found; i++)
		if (x->found[i].site == k)
			return 0;
	return st->best > TARGET_STEPS && st->tries < MAX_TRIES;
}

static void on_explored(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c)
{
	(void)ctx;
	for (size_t f = 0; f < c->n_findings; f++) {
		const struct wsph_finding *fd = &c->findings[f];
		const char *id = fd->rule ? fd->rule->id : "?";
		char key[200];
		size_t k;
		snprintf(key, sizeof key, "%s|%d|%s", id, fd->call_fn, fd->module);
		for (k = 0; k < x->n_sites && strcmp(x->sites[k].key, key); k++)
			;
		if (x->n_found == sizeof x->found / sizeof x->found[0] ||
		    (k == x->n_sites && x->n_sites == MAX_KEYS) || !worth_shrinking(x, k))
			continue;
		if (k == x->n_sites) {
			memset(&x->sites[k], 0, sizeof x->sites[k]);
			memcpy(x->sites[k].key, key, sizeof key);
			x->sites[k].summary = SIZE_MAX;
			x->n_sites++;
		}
		struct pending_finding *p = &x->found[x->n_found++];
		p->index = index;
		p->site = k;
		snprintf(p->rule, sizeof p->rule, "%s", id);
		keep_message(p, fd);
	}
}

/* The shrunk sequence run once more: its file says what that run found, not the long one. */
static void on_final(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c)
{
	struct pending_finding *p = ctx;
	(void)x;
	(void)index;
	for (size_t f = 0; f < c->n_findings; f++)
		if (c->findings[f].rule && !strcmp(c->findings[f].rule->id, p->rule)) {
			keep_message(p, &c->findings[f]);
			return;
		}
}

struct shrink_ctx {
	struct explorer *x;
	const char *rule;
	int *fails;
};

static void on_shrunk(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c)
{
	struct shrink_ctx *s = ctx;
	(void)x;
	for (size_t f = 0; f < c->n_findings; f++)
		if (c->findings[f].rule && !strcmp(c->findings[f].rule->id, s->rule))
			s->fails[index] = 1;
}

static int judge_by_run(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	struct shrink_ctx *s = ctx;
	s->fails = fails;
	for (size_t i = 0; i < n; i += BATCH) {
		size_t m = n - i < BATCH ? n - i : BATCH;
		struct shrink_ctx part = *s;
		part.fails = fails + i;
		if (run_batch(s->x, cands + i, m, on_shrunk, &part) != 0)
			return -1;
	}
	return 0;
}

/* The shrunk sequence as DIR/<rule>-<hash>.yaml, in place of a longer one of its site. */
static int write_finding(struct explorer *x, const struct wsph_seq *s,
			 const struct pending_finding *p)
{
	struct site *site = &x->sites[p->site];
	const struct wsph_explore_config *cfg = x->cfg;
	char *body = wsph_explore_yaml(s, "explored", p->rule, NULL);
	if (!body)
		return -1;
	unsigned hash = (unsigned)(wsph_fnv1a(body, strlen(body)) & 0xffffffffu);
	free(body);
	char name[40], header[1200], path[600];
	snprintf(name, sizeof name, "explore-%08x", hash);
	snprintf(header, sizeof header,
		 "# Found by: %s (sequence seed 0x%016llx)\n# Rule: %s\n# Finding: %s\n"
		 "# Reproduce: wspharness run PROVIDER --scenarios THIS_FILE\n",
		 cfg->command ? cfg->command : "wspharness explore",
		 (unsigned long long)s->seed, p->rule, p->message);
	snprintf(path, sizeof path, "%s/%s-%08x.yaml", cfg->out_dir, p->rule, hash);
	char *text = wsph_explore_yaml(s, name, p->rule, header);
	int rc = !text || wsph_plat_mkdirs(path) != 0 || write_text(path, text, x->diag) != 0;
	free(text);
	if (rc) {
		snprintf(x->diag->text, sizeof x->diag->text, "%s: cannot be written", path);
		return -1;
	}
	if (site->best && strcmp(site->path, path) != 0)
		remove(site->path);
	snprintf(site->path, sizeof site->path, "%s", path);
	site->best = s->n_steps;
	struct wsph_explore_summary *sum = x->sum;
	if (site->summary == SIZE_MAX && sum->n_files < sizeof sum->files / sizeof sum->files[0])
		site->summary = sum->n_files++;
	if (site->summary != SIZE_MAX) {
		snprintf(sum->files[site->summary], sizeof sum->files[0], "%s", path);
		snprintf(sum->rules[site->summary], sizeof sum->rules[0], "%s", p->rule);
	}
	return 0;
}

static double elapsed(uint64_t t0)
{
	return (double)(wsph_plat_now_ns() - t0) / 1e9;
}

/* Shrinks and writes the batch's new findings. */
static int settle(struct explorer *x, const struct wsph_seq *seqs)
{
	for (size_t i = 0; i < x->n_found; i++) {
		struct wsph_seq s = seqs[x->found[i].index];
		struct shrink_ctx sc = {x, x->found[i].rule, NULL};
		struct site *site = &x->sites[x->found[i].site];
		if (wsph_explore_shrink(&s, judge_by_run, &sc) < 0)
			return -1;
		site->tries++;
		x->sum->findings += site->best == 0;
		if (site->best && s.n_steps >= site->best)
			continue; /* not shorter than the file written */
		if (run_batch(x, &s, 1, on_final, &x->found[i]) < 0)
			return -1;
		if (write_finding(x, &s, &x->found[i]) != 0)
			return -1;
		if (x->cfg->progress)
			fprintf(x->cfg->progress, "explore: %s: shrunk to %zu steps\n",
				x->found[i].rule, s.n_steps);
	}
	x->n_found = 0;
	return 0;
}

int wsph_explore_run(const struct wsph_explore_config *cfg, struct wsph_explore_summary *sum,
		     struct wsph_diag *diag)
{
	struct explorer *x = calloc(1, sizeof *x);
	struct wsph_seq *seqs = malloc(BATCH * sizeof *seqs);
	uint64_t t0 = wsph_plat_now_ns();
	int rv = 0;
	memset(sum, 0, sizeof *sum);
	if (!x || !seqs) {
		free(x);
		free(seqs);
		snprintf(diag->text, sizeof diag->text, "out of memory");
		return -1;
	}
	x->cfg = cfg;
	x->sum = sum;
	x->diag = diag;
	while ((!cfg->runs || sum->sequences < cfg->runs) &&
	       (cfg->seconds <= 0 || elapsed(t0) < cfg->seconds) &&
	       !(cfg->interrupted && *cfg->interrupted)) {
		size_t n = BATCH;
		if (cfg->runs && cfg->runs - sum->sequences < n)
			n = (size_t)(cfg->runs - sum->sequences);
		for (size_t i = 0; i < n; i++) {
			uint64_t st = cfg->seed + (sum->sequences + i) * 0x9e3779b97f4a7c15ull;
			wsph_explore_generate(cfg->model, wsph_explore_next(&st), cfg->max_steps,
					      &seqs[i]);
		}
		rv = run_batch(x, seqs, n, on_explored, NULL);
		if (!rv)
			rv = settle(x, seqs);
		if (rv)
			break;
		sum->sequences += n;
		if (cfg->progress)
			fprintf(cfg->progress,
				"explore: %lu sequences, %lu findings, %.1f sequences/s\n",
				sum->sequences, sum->findings, sum->sequences / elapsed(t0));
	}
	sum->seconds = elapsed(t0);
	free(seqs);
	free(x);
	return rv;
}
