/* Exploration (explore.h): a generator driven by the step table and a small model of what exists,
 * the scenario text, the shrinker, and the loop that runs batches through the runner. */
#include "explore.h"

#include "fn.h"
#include "platform/platform.h"
#include "results.h"
#include "scenario.h"
#include "util.h"
#include "yamlutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model's data ---- */

/* Steps that wait (for a message, an event, a completion, an APC) are left out unless a model
 * gives them a weight: a random sequence cannot know what will arrive, so each would wait. */
static const unsigned default_weights[WSPH_OP_COUNT] = {
	[WSPH_OP_STARTUP] = 2,	   [WSPH_OP_CLEANUP] = 2,	[WSPH_OP_SOCKET] = 12,
	[WSPH_OP_BIND] = 10,	   [WSPH_OP_LISTEN] = 8,	[WSPH_OP_CONNECT] = 10,
	[WSPH_OP_ACCEPT] = 10,	   [WSPH_OP_SEND] = 10,		[WSPH_OP_RECV] = 10,
	[WSPH_OP_SENDTO] = 5,	   [WSPH_OP_RECVFROM] = 5,	[WSPH_OP_CLOSE] = 6,
	[WSPH_OP_SHUTDOWN] = 3,	   [WSPH_OP_GETSOCKOPT] = 4,	[WSPH_OP_SETSOCKOPT] = 3,
	[WSPH_OP_IOCTL] = 3,	   [WSPH_OP_GETSOCKNAME] = 3,	[WSPH_OP_GETPEERNAME] = 3,
	[WSPH_OP_ASYNCSELECT] = 3, [WSPH_OP_EVENTSELECT] = 3,	[WSPH_OP_ENUMNETWORKEVENTS] = 3,
	[WSPH_OP_SELECT] = 4,	   [WSPH_OP_GETOVERLAPPEDRESULT] = 4,
};

void wsph_explore_model_default(struct wsph_explore_model *m)
{
	memcpy(m->weights, default_weights, sizeof m->weights);
	m->fault_percent = 10;
}

static int model_from_doc(struct wsph_explore_model *m, const struct wsph_yaml_node *root,
			  struct wsph_diag *diag)
{
	static const char *const keys[] = {"weights", "faults", NULL};
	const struct wsph_yaml_node *w, *f;
	long long v;
	if (wsph_yaml_check_keys(root, keys, "the explore model", diag))
		return -1;
	wsph_explore_model_default(m);
	if ((f = wsph_yaml_get(root, "faults")) != NULL) {
		if (wsph_yaml_integer(f, "'faults' (a percentage)", 0, 100, &v, diag))
			return -1;
		m->fault_percent = (unsigned)v;
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

uint64_t wsph_explore_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A model socket's state. */
#define S_OPEN 0x1u
#define S_BOUND 0x2u
#define S_LISTEN 0x4u
#define S_CONN 0x8u
#define S_SHUT 0x10u
#define S_OVRECV 0x20u /* an overlapped receive waits on it */

struct gsock {
	unsigned st;
	int dgram;
	int port;
	int peer;     /* the other end of a connection, or -1 */
	int pending;  /* bytes (stream) or datagrams waiting to be received */
	int queue[4]; /* listener: the connected clients not yet accepted */
	int n_queue;
};

struct gen {
	uint64_t rng;
	const struct wsph_explore_model *m;
	struct wsph_seq *s;
	struct gsock socks[WSPH_EXPLORE_MAX_SOCKETS];
	int n_socks;
	int started;
	int ops_alive[8], n_ops;
	int n_events;
	int port_base;
};

static unsigned pick(struct gen *g, unsigned n)
{
	return n ? (unsigned)(wsph_explore_next(&g->rng) % n) : 0;
}

static int chance(struct gen *g, unsigned percent)
{
	return pick(g, 100) < percent;
}

static struct wsph_gen_step *cur(struct gen *g)
{
	return &g->s->steps[g->s->n_steps - 1];
}

static void arg(struct gen *g, enum wsph_key key, const char *fmt, ...) WSPH_PRINTF(3, 4);
static void arg(struct gen *g, enum wsph_key key, const char *fmt, ...)
{
	struct wsph_gen_step *st = cur(g);
	va_list ap;
	if (st->n_args == WSPH_STEP_MAX_ARGS)
		return;
	st->args[st->n_args].key = key;
	va_start(ap, fmt);
	vsnprintf(st->args[st->n_args].value, sizeof st->args[0].value, fmt, ap);
	va_end(ap);
	st->n_args++;
}

static void sock_arg(struct gen *g, int i)
{
	arg(g, WSPH_KEY_SOCKET, "s%d", i + 1);
}

/* Predicates over model sockets. */
typedef int (*sock_pred)(const struct gen *g, const struct gsock *k);

static int p_open(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) != 0;
}
static int p_bindable(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return k->st == S_OPEN;
}
static int p_listenable(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return k->st == (S_OPEN | S_BOUND) && !k->dgram;
}
static int p_connectable(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && !(k->st & (S_LISTEN | S_CONN)) && !k->dgram;
}
static int p_listener(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && (k->st & S_LISTEN);
}
static int p_acceptable(const struct gen *g, const struct gsock *k)
{
	return p_listener(g, k) && k->n_queue > 0 && g->n_socks < WSPH_EXPLORE_MAX_SOCKETS;
}
static int p_sender(const struct gen *g, const struct gsock *k)
{
	return (k->st & S_OPEN) && (k->st & S_CONN) && !(k->st & S_SHUT) && k->peer >= 0 &&
	       (g->socks[k->peer].st & S_OPEN) && !(g->socks[k->peer].st & S_SHUT);
}
static int p_receiver(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && (k->st & S_CONN) && k->peer >= 0 && k->pending > 0 &&
	       !(k->st & S_OVRECV);
}
static int p_ov_receiver(const struct gen *g, const struct gsock *k)
{
	return (k->st & S_OPEN) && (k->st & S_CONN) && k->peer >= 0 && k->pending == 0 &&
	       !(k->st & (S_OVRECV | S_SHUT)) && g->n_ops < 8;
}
static int p_dgram(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && k->dgram;
}
static int p_dgram_bound(const struct gen *g, const struct gsock *k)
{
	return p_dgram(g, k) && (k->st & S_BOUND);
}
static int p_dgram_ready(const struct gen *g, const struct gsock *k)
{
	return p_dgram_bound(g, k) && k->pending > 0;
}
static int p_connected(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && (k->st & S_CONN);
}

static int p_closed(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return k->st == 0;
}

/* A socket the predicate holds for, drawn at random; -1 when none. */
static int choose(struct gen *g, sock_pred p)
{
	int cand[WSPH_EXPLORE_MAX_SOCKETS], n = 0;
	for (int i = 0; i < g->n_socks; i++)
		if (p(g, &g->socks[i]))
			cand[n++] = i;
	return n ? cand[pick(g, (unsigned)n)] : -1;
}

static int exists(struct gen *g, sock_pred p)
{
	for (int i = 0; i < g->n_socks; i++)
		if (p(g, &g->socks[i]))
			return 1;
	return 0;
}

static int op_alive(const struct gen *g)
{
	for (int i = 0; i < g->n_ops; i++)
		if (g->ops_alive[i] >= 0)
			return 1;
	return 0;
}

/* Whether the step can be drawn now: the table's needs, then what the model knows. */
static int can(struct gen *g, enum wsph_op op)
{
	unsigned needs = wsph_step_def(op)->needs;
	if ((needs & WSPH_NEEDS_STARTUP) && !g->started)
		return 0;
	if ((needs & WSPH_NEEDS_SOCKET) && !exists(g, p_open) && op != WSPH_OP_SOCKET)
		return 0;
	if ((needs & WSPH_NEEDS_OP) && !op_alive(g))
		return 0;
	if ((needs & WSPH_NEEDS_EVENT) && !g->n_events)
		return 0;
	switch (op) {
	case WSPH_OP_STARTUP: return g->started < 2;
	case WSPH_OP_CLEANUP: return g->started > 1;
	case WSPH_OP_SOCKET: return g->n_socks < WSPH_EXPLORE_MAX_SOCKETS;
	case WSPH_OP_BIND: return exists(g, p_bindable);
	case WSPH_OP_LISTEN: return exists(g, p_listenable);
	case WSPH_OP_CONNECT: return exists(g, p_connectable) && exists(g, p_listener);
	case WSPH_OP_ACCEPT: return exists(g, p_acceptable);
	case WSPH_OP_SEND: return exists(g, p_sender);
	case WSPH_OP_RECV: return exists(g, p_receiver) || exists(g, p_ov_receiver);
	case WSPH_OP_SENDTO: return exists(g, p_dgram) && exists(g, p_dgram_bound);
	case WSPH_OP_RECVFROM: return exists(g, p_dgram_ready);
	case WSPH_OP_SHUTDOWN:
	case WSPH_OP_GETPEERNAME:
	case WSPH_OP_ARRIVE: return exists(g, p_connected);
	case WSPH_OP_PARALLEL: /* threads: a random sequence stays on one thread */
	case WSPH_OP_BARRIER: return 0;
	default: return 1;
	}
}

static const char *const words[] = {"ping", "hello", "x", "abcdefgh", "0123456789abcdef"};
static const char *const fd_names[] = {"FD_READ", "FD_WRITE", "FD_ACCEPT", "FD_CONNECT",
				       "FD_CLOSE"};

static void events_arg(struct gen *g, enum wsph_key key)
{
	char list[64] = "[";
	unsigned mask = pick(g, 32);
	for (unsigned i = 0; i < 5; i++)
		if (mask & (1u << i)) {
			strcat(list, list[1] ? ", " : "");
			strcat(list, fd_names[i]);
		}
	arg(g, key, "%s]", list);
}

static void list_arg(struct gen *g, enum wsph_key key)
{
	char list[64] = "[";
	for (int i = 0; i < g->n_socks; i++)
		if ((g->socks[i].st & S_OPEN) && chance(g, 50))
			snprintf(list + strlen(list), sizeof list - strlen(list), "%ss%d",
				 list[1] ? ", " : "", i + 1);
	arg(g, key, "%s]", list);
}

static void close_sock(struct gen *g, int i)
{
	struct gsock *k = &g->socks[i];
	k->st = 0;
	if (k->peer >= 0 && g->socks[k->peer].peer == i)
		g->socks[k->peer].peer = -1;
	for (int o = 0; o < g->n_ops; o++)
		if (g->ops_alive[o] == i)
			g->ops_alive[o] = -1;
}

static void emit_send(struct gen *g, int i)
{
	struct gsock *k = &g->socks[i], *p = &g->socks[k->peer];
	const char *w = words[pick(g, 5)];
	sock_arg(g, i);
	arg(g, WSPH_KEY_DATA, "%s", w);
	if (chance(g, 15))
		arg(g, WSPH_KEY_OVERLAPPED, "true");
	if (p->st & S_OVRECV)
		p->st &= ~S_OVRECV; /* the waiting receive takes it */
	else
		p->pending += (int)strlen(w);
}

static void emit_recv(struct gen *g)
{
	int i = choose(g, p_receiver);
	if (i < 0 || (exists(g, p_ov_receiver) && chance(g, 30))) {
		i = choose(g, p_ov_receiver);
		sock_arg(g, i);
		arg(g, WSPH_KEY_OVERLAPPED, "true");
		arg(g, WSPH_KEY_OP, "o%d", g->n_ops + 1);
		if (chance(g, 30))
			arg(g, WSPH_KEY_COMPLETION, "none");
		g->ops_alive[g->n_ops++] = i;
		g->socks[i].st |= S_OVRECV;
		return;
	}
	sock_arg(g, i);
	if (chance(g, 30)) { /* a buffer smaller than what waits, now and then: the rest stays */
		int len = chance(g, 50) ? 1 + (int)pick(g, 4) : 512 + (int)pick(g, 1024);
		arg(g, WSPH_KEY_LEN, "%d", len);
		g->socks[i].pending = len < g->socks[i].pending ? g->socks[i].pending - len : 0;
		return;
	}
	g->socks[i].pending = 0;
}

static void emit_connect(struct gen *g)
{
	int c = choose(g, p_connectable), l = choose(g, p_listener);
	struct gsock *lk = &g->socks[l];
	sock_arg(g, c);
	arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", lk->port);
	g->socks[c].st |= S_CONN | S_BOUND;
	if (lk->n_queue < 4)
		lk->queue[lk->n_queue++] = c;
}

static void emit_accept(struct gen *g)
{
	int l = choose(g, p_acceptable), n = g->n_socks++;
	struct gsock *lk = &g->socks[l], *nk = &g->socks[n];
	int c = lk->queue[0];
	memmove(lk->queue, lk->queue + 1, sizeof lk->queue - sizeof lk->queue[0]);
	lk->n_queue--;
	sock_arg(g, l);
	arg(g, WSPH_KEY_AS, "s%d", n + 1);
	memset(nk, 0, sizeof *nk);
	nk->st = S_OPEN | S_CONN | S_BOUND;
	nk->peer = -1;
	if (g->socks[c].st & S_OPEN) {
		nk->peer = c;
		g->socks[c].peer = n;
	}
}

static void emit_socket(struct gen *g)
{
	int n = g->n_socks++;
	struct gsock *k = &g->socks[n];
	memset(k, 0, sizeof *k);
	k->st = S_OPEN;
	k->peer = -1;
	k->dgram = chance(g, 25);
	k->port = g->port_base + n;
	arg(g, WSPH_KEY_AS, "s%d", n + 1);
	if (k->dgram || chance(g, 20))
		arg(g, WSPH_KEY_TYPE, "%s", k->dgram ? "dgram" : "stream");
}

static void emit_opt(struct gen *g, int set)
{
	static const char *const gets[] = {"SO_TYPE",	 "SO_RCVBUF",	 "SO_SNDBUF",
					   "SO_REUSEADDR", "SO_KEEPALIVE", "SO_ERROR"};
	sock_arg(g, choose(g, p_open));
	if (!set) {
		arg(g, WSPH_KEY_OPTION, "%s", gets[pick(g, 6)]);
		return;
	}
	unsigned o = pick(g, 4);
	arg(g, WSPH_KEY_OPTION, "%s", gets[o + 1]);
	arg(g, WSPH_KEY_VALUE, "%d", o < 2 ? 4096 << pick(g, 4) : (int)pick(g, 2));
}

/* versions a provider of the SPI accepts: 2.2 and the ones around it */
static const char *const versions[] = {"2.0", "2.1", "2.2", "3.0"};

static void emit_misc(struct gen *g, enum wsph_op op)
{
	switch (op) {
	case WSPH_OP_STARTUP:
		/* table B only on a later startup: the rule about the most recent table reads a
		 * first startup's table B as a table the provider was never given */
		if (chance(g, 15))
			arg(g, WSPH_KEY_VERSION, "%s", versions[pick(g, 4)]);
		if (g->started && chance(g, 30))
			arg(g, WSPH_KEY_TABLE, "B");
		g->started++;
		break;
	case WSPH_OP_CLEANUP: g->started--; break;
	case WSPH_OP_IOCTL:
		sock_arg(g, choose(g, p_open));
		if (chance(g, 50))
			arg(g, WSPH_KEY_COMMAND, "FIONREAD");
		else {
			arg(g, WSPH_KEY_COMMAND, "FIONBIO");
			arg(g, WSPH_KEY_VALUE, "1");
		}
		break;
	case WSPH_OP_ASYNCSELECT:
	case WSPH_OP_WAITMESSAGE:
		sock_arg(g, choose(g, p_open));
		events_arg(g, WSPH_KEY_EVENTS);
		break;
	case WSPH_OP_EVENTSELECT:
		sock_arg(g, choose(g, p_open));
		events_arg(g, WSPH_KEY_EVENTS);
		if (g->n_events < 3 && (!g->n_events || chance(g, 50)))
			arg(g, WSPH_KEY_EVENT, "e%d", ++g->n_events);
		else
			arg(g, WSPH_KEY_EVENT, "e%u", 1 + pick(g, (unsigned)g->n_events));
		break;
	case WSPH_OP_ENUMNETWORKEVENTS:
		sock_arg(g, choose(g, p_open));
		if (g->n_events && chance(g, 60))
			arg(g, WSPH_KEY_EVENT, "e%u", 1 + pick(g, (unsigned)g->n_events));
		break;
	case WSPH_OP_WAITEVENT: arg(g, WSPH_KEY_EVENT, "e%u", 1 + pick(g, (unsigned)g->n_events)); break;
	case WSPH_OP_SELECT:
		list_arg(g, WSPH_KEY_READ);
		if (chance(g, 60))
			list_arg(g, WSPH_KEY_WRITE);
		arg(g, WSPH_KEY_TIMEOUT, "0");
		break;
	case WSPH_OP_COMPLETE:
	case WSPH_OP_GETOVERLAPPEDRESULT: {
		int o;
		do
			o = (int)pick(g, (unsigned)g->n_ops);
		while (g->ops_alive[o] < 0);
		arg(g, WSPH_KEY_OP, "o%d", o + 1);
		break;
	}
	case WSPH_OP_ARRIVE: {
		int i = choose(g, p_connected);
		sock_arg(g, i);
		arg(g, WSPH_KEY_DATA, "%s", words[pick(g, 5)]);
		break;
	}
	default: break; /* alertable, cancelblockingcall: no argument */
	}
}

static void emit(struct gen *g, enum wsph_op op)
{
	struct wsph_gen_step *st = &g->s->steps[g->s->n_steps++];
	int i;
	memset(st, 0, sizeof *st);
	st->op = op;
	switch (op) {
	case WSPH_OP_SOCKET: emit_socket(g); break;
	case WSPH_OP_BIND:
		i = choose(g, p_bindable);
		sock_arg(g, i);
		arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", g->socks[i].port);
		g->socks[i].st |= S_BOUND;
		break;
	case WSPH_OP_LISTEN:
		i = choose(g, p_listenable);
		sock_arg(g, i);
		if (chance(g, 20))
			arg(g, WSPH_KEY_BACKLOG, "%u", 1 + pick(g, 8));
		g->socks[i].st |= S_LISTEN;
		break;
	case WSPH_OP_CONNECT: emit_connect(g); break;
	case WSPH_OP_ACCEPT: emit_accept(g); break;
	case WSPH_OP_SEND: emit_send(g, choose(g, p_sender)); break;
	case WSPH_OP_RECV: emit_recv(g); break;
	case WSPH_OP_SENDTO:
		i = choose(g, p_dgram_bound);
		sock_arg(g, choose(g, p_dgram));
		arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", g->socks[i].port);
		arg(g, WSPH_KEY_DATA, "%s", words[pick(g, 5)]);
		g->socks[i].pending++;
		break;
	case WSPH_OP_RECVFROM:
		i = choose(g, p_dgram_ready);
		sock_arg(g, i);
		g->socks[i].pending--;
		break;
	case WSPH_OP_CLOSE:
		i = choose(g, p_open);
		sock_arg(g, i);
		close_sock(g, i);
		break;
	case WSPH_OP_SHUTDOWN:
		i = choose(g, p_connected);
		sock_arg(g, i);
		if (chance(g, 50))
			arg(g, WSPH_KEY_HOW, "%s", pick(g, 2) ? "send" : "receive");
		g->socks[i].st |= S_SHUT;
		break;
	case WSPH_OP_GETSOCKOPT: emit_opt(g, 0); break;
	case WSPH_OP_SETSOCKOPT: emit_opt(g, 1); break;
	case WSPH_OP_GETSOCKNAME: /* now and then a socket already closed: a stale handle */
		i = exists(g, p_closed) && chance(g, 20) ? choose(g, p_closed) : choose(g, p_open);
		sock_arg(g, i);
		break;
	case WSPH_OP_GETPEERNAME: sock_arg(g, choose(g, p_connected)); break;
	default: emit_misc(g, op); break;
	}
}

static int open_count(const struct gen *g)
{
	int n = 0;
	for (int i = 0; i < g->n_socks; i++)
		n += (g->socks[i].st & S_OPEN) != 0;
	return n;
}

/* The upcalls a fault may fail, and with what. */
static const int fault_upcalls[] = {WSPH_FN_WPUCREATESOCKETHANDLE, WSPH_FN_WPUMODIFYIFSHANDLE,
				    WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT};
/* an error every WSP call that makes these upcalls documents */
static const char *const fault_errors[] = {"WSAENOBUFS"};

static void draw_faults(struct gen *g)
{
	if (!chance(g, g->m->fault_percent))
		return;
	size_t n = 1 + pick(g, WSPH_EXPLORE_MAX_FAULTS);
	for (size_t i = 0; i < n; i++) {
		struct wsph_gen_fault *f = &g->s->faults[g->s->n_faults];
		f->upcall = fault_upcalls[pick(g, 3)];
		f->call = 1 + pick(g, 3);
		f->error = fault_errors[pick(g, sizeof fault_errors / sizeof fault_errors[0])];
		int dup = 0;
		for (size_t j = 0; j < g->s->n_faults; j++)
			dup |= g->s->faults[j].upcall == f->upcall && g->s->faults[j].call == f->call;
		if (!dup)
			g->s->n_faults++;
	}
}

static enum wsph_op draw_op(struct gen *g)
{
	unsigned total = 0, w[WSPH_OP_COUNT];
	for (int op = 0; op < WSPH_OP_COUNT; op++)
		total += w[op] = can(g, (enum wsph_op)op) ? g->m->weights[op] : 0;
	unsigned r = pick(g, total);
	for (int op = 0; op < WSPH_OP_COUNT; op++) {
		if (r < w[op])
			return (enum wsph_op)op;
		r -= w[op];
	}
	return WSPH_OP_SOCKET;
}

void wsph_explore_generate(const struct wsph_explore_model *m, uint64_t seed, size_t max_steps,
			   struct wsph_seq *out)
{
	struct gen g;
	memset(&g, 0, sizeof g);
	memset(out, 0, sizeof *out);
	g.rng = seed;
	g.m = m;
	g.s = out;
	out->seed = seed;
	if (max_steps > WSPH_EXPLORE_MAX_STEPS)
		max_steps = WSPH_EXPLORE_MAX_STEPS;
	if (max_steps < 4)
		max_steps = 4;
	g.port_base = 20000 + 8 * (int)pick(&g, 5000);
	draw_faults(&g);
	size_t body = 2 + pick(&g, (unsigned)(max_steps - 1));
	emit(&g, WSPH_OP_STARTUP);
	/* room is kept for the teardown: a close per open socket, a cleanup per startup */
	while (out->n_steps < body &&
	       out->n_steps + (size_t)open_count(&g) + (size_t)g.started + 2 <= max_steps) {
		enum wsph_op op = draw_op(&g);
		if (!g.m->weights[op] || !can(&g, op))
			break;
		emit(&g, op);
	}
	for (int i = 0; i < g.n_socks; i++)
		if (g.socks[i].st & S_OPEN) {
			struct wsph_gen_step *st = &out->steps[out->n_steps++];
			memset(st, 0, sizeof *st);
			st->op = WSPH_OP_CLOSE;
			sock_arg(&g, i);
			close_sock(&g, i);
		}
	while (g.started > 0)
		emit(&g, WSPH_OP_CLEANUP);
}

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

static void put_item(struct sbuf *b, const struct wsph_seq *s, const char *name, const char *check)
{
	put(b, "  - name: %s\n    checks: [%s]\n", name, check);
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
		put(b, "%s\n        expect: any\n", st->n_args ? "}" : "");
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

/* Removes step i and every later step that uses a name a removed step binds. */
static void remove_step(struct wsph_seq *s, size_t i)
{
	char names[WSPH_EXPLORE_MAX_STEPS][64];
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
}

static int drop_arg(const struct wsph_seq *s, size_t c, struct wsph_seq *out);

/* Candidate c of s (0-based), in this order: without step i, without fault j, fault j one call
 * earlier (phase 0); step i without its optional argument k (phase 1). 0 when c is past the
 * phase's last. */
static int candidate(const struct wsph_seq *s, int phase, size_t c, struct wsph_seq *out)
{
	*out = *s;
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
	return 0;
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
			if (c-- == 0) {
				memmove(&st->args[k], &st->args[k + 1],
					(st->n_args - k - 1) * sizeof st->args[0]);
				st->n_args--;
				return 1;
			}
		}
	}
	return 0;
}

/* What the generator keeps to that removing steps could break: every step that needs a started
 * provider has one (no call after the last cleanup: the provider's answer to it is not what the
 * rules are about), and a startup with table B is never the first (the rule about the most recent
 * table reads a first startup's table B as a table the provider was never given). */
static int still_valid(const struct wsph_seq *s)
{
	int started = 0, ever = 0;
	if (!s->n_steps)
		return 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct wsph_gen_step *st = &s->steps[i];
		if ((wsph_step_def(st->op)->needs & WSPH_NEEDS_STARTUP) && !started)
			return 0;
		if (st->op == WSPH_OP_CLEANUP)
			started--;
		if (st->op != WSPH_OP_STARTUP)
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
	size_t cap = 1 + s->n_steps + 2 * s->n_faults;
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
	for (int phase = 0; phase < 2;) {
		size_t n = 0;
		for (size_t c = 0; n < cap && candidate(s, phase, c, &cands[n]); c++)
			n += still_valid(&cands[n]);
		if (!n) {
			phase++;
			continue;
		}
		memset(fails, 0, n * sizeof *fails);
		rounds++;
		if (judge(ctx, cands, n, fails) != 0) {
			rounds = -1;
			break;
		}
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (fails[i] && (best == n || cands[i].n_steps < cands[best].n_steps))
				best = i;
		if (best == n) {
			phase++; /* nothing more goes in this phase: the next */
			continue;
		}
		*s = cands[best];
		phase = 0;
	}
	free(cands);
	free(fails);
	return rounds;
}

/* ---- running ---- */

#define BATCH 50
#define MAX_KEYS 256

struct pending_finding {
	size_t index;	 /* in the batch */
	char rule[128];
	char message[256];
};

struct explorer {
	const struct wsph_explore_config *cfg;
	struct wsph_explore_summary *sum;
	struct wsph_diag *diag;
	char keys[MAX_KEYS][200];
	size_t n_keys;
	struct pending_finding found[16];
	size_t n_found;
};

typedef void (*case_fn)(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c);

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
		x->sum->errors += c->outcome == WSPH_ERROR;
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

/* Exploring: each finding at a site not seen before is kept for shrinking. */
static void on_explored(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c)
{
	(void)ctx;
	for (size_t f = 0; f < c->n_findings; f++) {
		const struct wsph_finding *fd = &c->findings[f];
		const char *id = fd->rule ? fd->rule->id : "?";
		char key[200];
		size_t k;
		snprintf(key, sizeof key, "%s|%d|%s", id, fd->call_fn, fd->module);
		for (k = 0; k < x->n_keys && strcmp(x->keys[k], key); k++)
			;
		if (k < x->n_keys || x->n_keys == MAX_KEYS ||
		    x->n_found == sizeof x->found / sizeof x->found[0])
			continue;
		memcpy(x->keys[x->n_keys++], key, sizeof key);
		struct pending_finding *p = &x->found[x->n_found++];
		p->index = index;
		snprintf(p->rule, sizeof p->rule, "%s", id);
		snprintf(p->message, sizeof p->message, "%s", fd->message ? fd->message : "");
		for (char *q = p->message; *q; q++)
			if (*q == '\n' || *q == '\r')
				*q = ' ';
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

/* The shrunk sequence as DIR/<rule>-<hash>.yaml. */
static int write_finding(struct explorer *x, const struct wsph_seq *s,
			 const struct pending_finding *p)
{
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
	struct wsph_explore_summary *sum = x->sum;
	if (sum->n_files < sizeof sum->files / sizeof sum->files[0]) {
		snprintf(sum->files[sum->n_files], sizeof sum->files[0], "%s", path);
		snprintf(sum->rules[sum->n_files], sizeof sum->rules[0], "%s", p->rule);
		sum->n_files++;
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
		if (wsph_explore_shrink(&s, judge_by_run, &sc) < 0)
			return -1;
		if (write_finding(x, &s, &x->found[i]) != 0)
			return -1;
		x->sum->findings++;
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
