/* Exploration's generator (explore_gen.h): random sequences drawn from the step table and a small
 * model of what exists (sockets and their states, overlapped operations, startups, the blocking
 * hook), so that every step it draws can run: nothing waits for what cannot come. Pure: a seeded
 * generator of its own, no I/O. */
#include "explore_gen.h"

#include "fn.h"
#include "upcalls.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
#define S_NBIO 0x40u   /* nonblocking (FIONBIO, or a WSPAsyncSelect/WSPEventSelect) */
#define S_ASYNC 0x80u  /* registered with WSPAsyncSelect */
#define S_EVSEL 0x100u /* registered with WSPEventSelect (event: which one) */
#define S_ANON 0x200u  /* bound by a sendto from it, to a port the model does not know */

struct gsock {
	unsigned st;
	int dgram;
	int port;
	int peer;     /* the other end of a connection, or -1 */
	int pending;  /* bytes (stream) or datagrams waiting to be received */
	int queue[4]; /* listener: the connected clients not yet accepted */
	int queue_step[4]; /* ... and their connect steps */
	uint64_t taken;	   /* listener: the connect steps of the connections accepted */
	uint64_t sources;  /* the steps whose data waits on it (pending) */
	int n_queue;
	int event; /* S_EVSEL: the event eN it was registered with */
	int closed_at; /* closed by a close step, when n_socks was this (0: not so) */
	/* the steps (bit i: step i) that made its state: what it is, its connection, the data
	 * that came and went; made: the step that made it, closed: the close step */
	uint64_t hist;
	int made, closed;
};

/* An overlapped operation bound to a name (op: oN) */
enum { OP_PENDING, OP_DONE, OP_GONE }; /* GONE: its result was taken, or it never completes */
struct gop {
	int sock;
	int state;
	int routine;
	int aborted; /* its socket was closed while it was pending */
	int done_by; /* the step that completed it */
	uint64_t premises; /* the steps that made it pending, and the close that aborted it */
};

#define MAX_OPS 8

struct gen {
	uint64_t rng;
	const struct wsph_explore_model *m;
	struct wsph_seq *s;
	struct gsock socks[WSPH_EXPLORE_MAX_SOCKETS];
	int n_socks;
	int started, ever_started;
	struct gop ops[MAX_OPS];
	int n_ops;
	int n_events;
	int port_base;
	/* the sequence injects faults: any call may fail, so what a step would wait for may never
	 * come: no step that waits (accept, a blocking receive, arrive, complete, alertable) */
	int faulty;
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

static void begin_step(struct gen *g, enum wsph_op op)
{
	struct wsph_gen_step *st = &g->s->steps[g->s->n_steps++];
	memset(st, 0, sizeof *st);
	st->op = op;
}

/* ---- premises: the steps an expectation holds only with ---- */

static uint64_t cur_bit(const struct gen *g)
{
	return 1ull << (g->s->n_steps - 1);
}

/* The current step shapes socket i's state (i < 0: none). */
static void touch(struct gen *g, int i)
{
	if (i >= 0)
		g->socks[i].hist |= cur_bit(g);
}

/* The current step waits for what the earlier steps of `mask` bring. */
static void need_with(struct gen *g, uint64_t mask)
{
	struct wsph_gen_step *st = cur(g);
	st->n_needs = 0;
	for (size_t i = 0; i + 1 < g->s->n_steps; i++)
		if (mask & (1ull << i))
			st->needs[st->n_needs++] = (unsigned char)i;
}

/* The current step brings n bytes or datagrams to socket i. */
static void brings(struct gen *g, int i, int n)
{
	g->socks[i].pending += n;
	g->socks[i].sources |= cur_bit(g);
}

/* Socket i's receive took n (-1: all) of what waits. */
static void takes(struct gen *g, int i, int n)
{
	struct gsock *k = &g->socks[i];
	k->pending = n < 0 || n >= k->pending ? 0 : k->pending - n;
	if (!k->pending)
		k->sources = 0;
}

/* The current step expects `expect` (breaking `rule` otherwise) only with the earlier steps of
 * `mask`. */
static void expect_with(struct gen *g, const char *expect, const char *rule, uint64_t mask)
{
	struct wsph_gen_step *st = cur(g);
	st->expect = expect;
	st->rule = rule;
	st->n_premises = 0;
	for (size_t i = 0; i + 1 < g->s->n_steps; i++)
		if (mask & (1ull << i))
			st->premises[st->n_premises++] = (unsigned char)i;
}

/* ---- predicates over model sockets ---- */

typedef int (*sock_pred)(const struct gen *g, const struct gsock *k);

static int p_open(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) != 0;
}
static int p_bindable(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & ~(S_NBIO | S_ASYNC | S_EVSEL)) == S_OPEN;
}
static int p_listenable(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & ~(S_NBIO | S_ASYNC | S_EVSEL)) == (S_OPEN | S_BOUND) && !k->dgram;
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
/* an overlapped receive that stays pending: nothing waits, and the peer has not ended the stream */
static int p_ov_receiver(const struct gen *g, const struct gsock *k)
{
	return (k->st & S_OPEN) && (k->st & S_CONN) && k->peer >= 0 && k->pending == 0 &&
	       !(k->st & (S_OVRECV | S_SHUT)) && !(g->socks[k->peer].st & S_SHUT) &&
	       g->n_ops < MAX_OPS;
}
/* a nonblocking receive with nothing to take: WSAEWOULDBLOCK */
static int p_nb_empty(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && (k->st & S_CONN) && (k->st & S_NBIO) && k->pending == 0 &&
	       !(k->st & (S_OVRECV | S_SHUT)) && !k->dgram;
}
/* a receive on a stream socket that is neither connected nor listening: WSAENOTCONN */
static int p_unconnected(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && !(k->st & (S_CONN | S_LISTEN)) && !k->dgram;
}
/* the sender of an `arrive` whose peer then waits for it in a blocking receive */
static int p_arriver(const struct gen *g, const struct gsock *k)
{
	if (!p_sender(g, k))
		return 0;
	const struct gsock *p = &g->socks[k->peer];
	return p->pending == 0 && !(p->st & (S_OVRECV | S_NBIO));
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
/* a blocking datagram socket with nothing to read: a select with a timeout on it waits */
static int p_dgram_idle(const struct gen *g, const struct gsock *k)
{
	return p_dgram_bound(g, k) && k->pending == 0 && !(k->st & (S_NBIO | S_OVRECV));
}
/* an overlapped receive of a datagram that stays pending until one is sent to it */
static int p_dgram_ov(const struct gen *g, const struct gsock *k)
{
	return p_dgram_bound(g, k) && k->pending == 0 && !(k->st & S_OVRECV) && g->n_ops < MAX_OPS;
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

/* ---- operations ---- */

/* An operation in one of the states of `mask` (1 << OP_*), routine ones only if `routine`;
 * drawn at random, -1 when none. */
static int choose_op(struct gen *g, unsigned mask, int routine)
{
	int cand[MAX_OPS], n = 0;
	for (int i = 0; i < g->n_ops; i++)
		if ((mask & (1u << g->ops[i].state)) && (!routine || g->ops[i].routine))
			cand[n++] = i;
	return n ? cand[pick(g, (unsigned)n)] : -1;
}

static int op_exists(struct gen *g, unsigned mask, int routine)
{
	for (int i = 0; i < g->n_ops; i++)
		if ((mask & (1u << g->ops[i].state)) && (!routine || g->ops[i].routine))
			return 1;
	return 0;
}

/* The overlapped receive waiting on socket i completes (data came, or the socket closed). */
static void op_completes(struct gen *g, int i)
{
	for (int o = 0; o < g->n_ops; o++)
		if (g->ops[o].sock == i && g->ops[o].state == OP_PENDING) {
			g->ops[o].state = OP_DONE;
			g->ops[o].done_by = (int)g->s->n_steps - 1;
		}
	g->socks[i].st &= ~S_OVRECV;
}

/* Whether the step can be drawn now: the table's needs, then what the model knows. */
static int can(struct gen *g, enum wsph_op op)
{
	unsigned needs = wsph_step_def(op)->needs;
	if ((needs & WSPH_NEEDS_STARTUP) && !g->started && op != WSPH_OP_CLEANUP)
		return 0;
	if ((needs & WSPH_NEEDS_SOCKET) && !exists(g, p_open) && op != WSPH_OP_SOCKET)
		return 0;
	if ((needs & WSPH_NEEDS_EVENT) && !g->n_events)
		return 0;
	if (g->faulty && (op == WSPH_OP_ACCEPT || op == WSPH_OP_COMPLETE || op == WSPH_OP_ARRIVE ||
			  op == WSPH_OP_ALERTABLE))
		return 0;
	switch (op) {
	case WSPH_OP_STARTUP: return g->started < 2;
	/* with nothing started, the cleanup that has nothing to balance (after a first startup) */
	case WSPH_OP_CLEANUP: return g->started > 0 || g->ever_started;
	case WSPH_OP_SOCKET: return g->n_socks < WSPH_EXPLORE_MAX_SOCKETS;
	case WSPH_OP_BIND: return exists(g, p_bindable);
	case WSPH_OP_LISTEN: return exists(g, p_listenable);
	case WSPH_OP_CONNECT: return exists(g, p_connectable) && exists(g, p_listener);
	case WSPH_OP_ACCEPT: return exists(g, p_acceptable);
	case WSPH_OP_SEND: return exists(g, p_sender);
	case WSPH_OP_RECV:
		if (g->faulty)
			return exists(g, p_unconnected);
		return exists(g, p_receiver) || exists(g, p_ov_receiver) || exists(g, p_nb_empty) ||
		       exists(g, p_unconnected);
	case WSPH_OP_SENDTO: return exists(g, p_dgram) && exists(g, p_dgram_bound);
	/* with faults, a datagram the model counts may never have been sent: only a receive that
	 * stays pending, which nothing waits for */
	case WSPH_OP_RECVFROM:
		return (!g->faulty && exists(g, p_dgram_ready)) || exists(g, p_dgram_ov);
	case WSPH_OP_SHUTDOWN:
	case WSPH_OP_GETPEERNAME: return exists(g, p_connected);
	case WSPH_OP_ARRIVE: return exists(g, p_arriver);
	case WSPH_OP_COMPLETE: return op_exists(g, 1u << OP_DONE, 0);
	case WSPH_OP_GETOVERLAPPEDRESULT: return op_exists(g, (1u << OP_PENDING) | (1u << OP_DONE), 0);
	case WSPH_OP_ALERTABLE: return op_exists(g, 1u << OP_DONE, 1);
	case WSPH_OP_WAITMESSAGE:
	case WSPH_OP_WAITEVENT:
	case WSPH_OP_CANCELBLOCKINGCALL: return 0; /* nothing the model knows will come */
	case WSPH_OP_PARALLEL: /* threads: a random sequence stays on one thread */
	case WSPH_OP_BARRIER:
	case WSPH_OP_BLOCKED: return 0;
	default: return 1;
	}
}

/* ---- arguments ---- */

static const char *const words[] = {"ping", "hello", "x", "abcdefgh", "0123456789abcdef"};
static const char *const fd_names[] = {"FD_READ", "FD_WRITE", "FD_ACCEPT", "FD_CONNECT",
				       "FD_CLOSE"};

static void events_arg(struct gen *g, enum wsph_key key, int cancel)
{
	char list[64] = "[";
	unsigned mask = cancel ? 0 : pick(g, 32);
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

/* completion: event (the default), routine or none, for an overlapped call */
static int completion_arg(struct gen *g)
{
	unsigned c = pick(g, 10);
	if (c < 3)
		arg(g, WSPH_KEY_COMPLETION, "%s", c < 2 ? "routine" : "none");
	/* a routine without the client's thread id: the provider opens the thread itself */
	if (c < 2 && chance(g, 30))
		arg(g, WSPH_KEY_THREAD_ID, "none");
	return c < 2;
}

/* ---- the steps ---- */

static void close_sock(struct gen *g, int i)
{
	struct gsock *k = &g->socks[i];
	k->closed_at = g->n_socks;
	k->closed = (int)g->s->n_steps - 1;
	cur(g)->sure = 1;
	touch(g, i);
	touch(g, k->peer);
	for (int o = 0; o < g->n_ops; o++)
		if (g->ops[o].sock == i && g->ops[o].state == OP_PENDING) {
			g->ops[o].aborted = 1;
			g->ops[o].premises |= cur_bit(g);
		}
	if (k->st & S_OVRECV)
		op_completes(g, i); /* aborted: WSA_OPERATION_ABORTED */
	k->st = 0;
	if (k->peer >= 0 && g->socks[k->peer].peer == i) {
		if (g->socks[k->peer].st & S_OVRECV)
			op_completes(g, k->peer); /* the end of the stream */
		g->socks[k->peer].peer = -1;
	}
}

static void emit_send(struct gen *g, int i)
{
	struct gsock *k = &g->socks[i], *p = &g->socks[k->peer];
	const char *w = words[pick(g, 5)];
	sock_arg(g, i);
	arg(g, WSPH_KEY_DATA, "%s", w);
	touch(g, i);
	touch(g, k->peer);
	if (chance(g, 15)) {
		arg(g, WSPH_KEY_OVERLAPPED, "true");
		completion_arg(g);
	}
	if (p->st & S_OVRECV)
		op_completes(g, k->peer); /* the waiting receive takes it */
	else
		brings(g, k->peer, (int)strlen(w));
}

static void emit_ov_recv(struct gen *g, int i)
{
	struct gop *o = &g->ops[g->n_ops];
	sock_arg(g, i);
	arg(g, WSPH_KEY_OVERLAPPED, "true");
	arg(g, WSPH_KEY_OP, "o%d", g->n_ops + 1);
	o->sock = i;
	o->state = OP_PENDING;
	o->aborted = 0;
	o->routine = completion_arg(g);
	g->n_ops++;
	g->socks[i].st |= S_OVRECV;
	touch(g, i);
	o->premises = g->socks[i].hist; /* it stays pending: nothing waits there */
}

/* A receive of what waits: all of it, or (a buffer smaller than what waits) part of it. */
static void emit_recv_data(struct gen *g, int i)
{
	sock_arg(g, i);
	touch(g, i);
	need_with(g, g->socks[i].sources);
	if (chance(g, 15)) { /* overlapped, completing at once */
		arg(g, WSPH_KEY_OVERLAPPED, "true");
		completion_arg(g);
	}
	if (chance(g, 30)) {
		int len = chance(g, 50) ? 1 + (int)pick(g, 4) : 512 + (int)pick(g, 1024);
		arg(g, WSPH_KEY_LEN, "%d", len);
		takes(g, i, len);
		return;
	}
	takes(g, i, -1);
}

static void emit_recv(struct gen *g)
{
	int i;
	if (exists(g, p_unconnected) && (g->faulty || chance(g, 8))) {
		sock_arg(g, choose(g, p_unconnected));
		return;
	}
	if (exists(g, p_nb_empty) && chance(g, 15)) {
		sock_arg(g, choose(g, p_nb_empty));
		return;
	}
	i = choose(g, p_receiver);
	if (i >= 0 && !(exists(g, p_ov_receiver) && chance(g, 30))) {
		emit_recv_data(g, i);
		return;
	}
	if ((i = choose(g, p_ov_receiver)) >= 0)
		emit_ov_recv(g, i);
	else if ((i = choose(g, p_nb_empty)) >= 0)
		sock_arg(g, i);
	else
		sock_arg(g, choose(g, p_unconnected));
}

/* A datagram to a bound datagram socket (itself, now and then): an overlapped receive waiting
 * there takes it. */
static void emit_sendto(struct gen *g)
{
	int i = choose(g, p_dgram_bound), from = choose(g, p_dgram);
	sock_arg(g, from);
	touch(g, from);
	touch(g, i);
	if (!(g->socks[from].st & S_BOUND))
		g->socks[from].st |= S_ANON; /* bound by it: no bind any more, and no known port */
	arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", g->socks[i].port);
	arg(g, WSPH_KEY_DATA, "%s", words[pick(g, 5)]);
	if (chance(g, 20)) {
		arg(g, WSPH_KEY_OVERLAPPED, "true");
		completion_arg(g);
	}
	if (g->socks[i].st & S_OVRECV)
		op_completes(g, i);
	else
		brings(g, i, 1);
}

/* A datagram that waits, plainly or overlapped (completing at once); or an overlapped receive
 * that stays pending until a datagram comes. */
static void emit_recvfrom(struct gen *g)
{
	int i = g->faulty ? -1 : choose(g, p_dgram_ready);
	if (i < 0 || (exists(g, p_dgram_ov) && chance(g, 30))) {
		emit_ov_recv(g, choose(g, p_dgram_ov));
		return;
	}
	sock_arg(g, i);
	touch(g, i);
	need_with(g, g->socks[i].sources);
	if (chance(g, 20)) {
		arg(g, WSPH_KEY_OVERLAPPED, "true");
		completion_arg(g);
	}
	if (chance(g, 20)) /* a buffer smaller than the datagram: the rest is lost */
		arg(g, WSPH_KEY_LEN, "%d", 1 + (int)pick(g, 4));
	takes(g, i, 1);
}

/* arrive: data from socket i reaches its peer while the peer waits in a blocking receive (the
 * next step); a hook that ends the wait leaves the data for later. */
static void emit_arrive(struct gen *g)
{
	int i = choose(g, p_arriver), p = g->socks[i].peer;
	const char *w = words[pick(g, 5)];
	sock_arg(g, i);
	arg(g, WSPH_KEY_DATA, "%s", w);
	touch(g, i);
	touch(g, p);
	begin_step(g, WSPH_OP_RECV);
	sock_arg(g, p);
	/* no hook: the provider waits natively and the data comes; a hook that says go on: the
	 * same; one that says stop, or cancels: WSAEINTR, and the data stays for later. It holds
	 * with the connection, the arrive, what the receiver took before (nothing waits) and the
	 * hook. */
	int stops = g->s->blocking == WSPH_BLOCKING_FALSE || g->s->blocking == WSPH_BLOCKING_CANCEL;
	expect_with(g, stops ? "WSAEINTR" : "ok",
		    g->s->blocking == WSPH_BLOCKING_NONE ? "WPU.BlockingCallback.NullIsNormal"
							  : "WPU.BlockingCallback.Contract",
		    g->socks[i].hist | g->socks[p].hist);
	cur(g)->premise_setting = g->s->blocking != WSPH_BLOCKING_NONE;
	need_with(g, cur_bit(g) >> 1); /* without the arrive it would wait for good */
	touch(g, p);
	if (stops) { /* the data comes from the arrive, after the receive */
		g->socks[p].pending += (int)strlen(w);
		g->socks[p].sources |= cur_bit(g) >> 1;
	}
}

/* A select that waits its time-out out on a blocking datagram socket nothing is sent to: a
 * blocking call as much as a receive, with the hook's contract (no hook: it times out with 0;
 * a hook that says stop or cancels: WSAEINTR). It holds with the socket's steps and the hook. */
static void emit_waiting_select(struct gen *g, int i)
{
	arg(g, WSPH_KEY_READ, "[s%d]", i + 1);
	arg(g, WSPH_KEY_TIMEOUT, "10");
	int stops = g->s->blocking == WSPH_BLOCKING_FALSE || g->s->blocking == WSPH_BLOCKING_CANCEL;
	expect_with(g, stops ? "WSAEINTR" : "ok",
		    g->s->blocking == WSPH_BLOCKING_NONE ? "WPU.BlockingCallback.NullIsNormal"
							  : "WPU.BlockingCallback.Contract",
		    g->socks[i].hist);
	cur(g)->premise_setting = g->s->blocking != WSPH_BLOCKING_NONE;
	touch(g, i);
}

static void emit_connect(struct gen *g)
{
	int c = choose(g, p_connectable), l = choose(g, p_listener);
	struct gsock *lk = &g->socks[l];
	sock_arg(g, c);
	arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", lk->port);
	cur(g)->sure = !(g->socks[c].st & S_NBIO);
	touch(g, l); /* its queue: which connection an accept takes */
	g->socks[c].hist |= lk->hist; /* and the listener it connects to */
	g->socks[c].st |= S_CONN | S_BOUND;
	if (lk->n_queue < 4) {
		lk->queue_step[lk->n_queue] = (int)g->s->n_steps - 1;
		lk->queue[lk->n_queue++] = c;
	}
}

static void emit_accept(struct gen *g)
{
	int l = choose(g, p_acceptable), n = g->n_socks++;
	struct gsock *lk = &g->socks[l], *nk = &g->socks[n];
	int c = lk->queue[0];
	/* it waits for that connection, and for those taken before (else it takes one of them) */
	lk->taken |= 1ull << lk->queue_step[0];
	need_with(g, lk->taken);
	memmove(lk->queue, lk->queue + 1, sizeof lk->queue - sizeof lk->queue[0]);
	memmove(lk->queue_step, lk->queue_step + 1, sizeof lk->queue_step - sizeof lk->queue_step[0]);
	lk->n_queue--;
	sock_arg(g, l);
	arg(g, WSPH_KEY_AS, "s%d", n + 1);
	memset(nk, 0, sizeof *nk);
	/* it has the listener's properties: nonblocking, and registered as it is */
	nk->st = S_OPEN | S_CONN | S_BOUND | (lk->st & (S_NBIO | S_ASYNC | S_EVSEL));
	nk->event = lk->event;
	nk->peer = -1;
	cur(g)->sure = 1;
	touch(g, l);
	nk->hist = lk->hist; /* the listener, and the connections queued there before */
	nk->made = (int)g->s->n_steps - 1;
	if (g->socks[c].st & S_OPEN) {
		nk->peer = c;
		g->socks[c].peer = n;
	}
}

static void emit_socket(struct gen *g, int stream)
{
	int n = g->n_socks++;
	struct gsock *k = &g->socks[n];
	memset(k, 0, sizeof *k);
	k->st = S_OPEN;
	k->peer = -1;
	k->dgram = !stream && chance(g, 35);
	k->port = g->port_base + n;
	k->made = (int)g->s->n_steps - 1;
	cur(g)->sure = 1;
	touch(g, n);
	arg(g, WSPH_KEY_AS, "s%d", n + 1);
	if (k->dgram || (!stream && chance(g, 20)))
		arg(g, WSPH_KEY_TYPE, "%s", k->dgram ? "dgram" : "stream");
}

static void emit_bind(struct gen *g, int i)
{
	sock_arg(g, i);
	arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", g->socks[i].port);
	g->socks[i].st |= S_BOUND;
	cur(g)->sure = 1;
	touch(g, i);
}

static void emit_listen(struct gen *g, int i)
{
	sock_arg(g, i);
	if (chance(g, 20))
		arg(g, WSPH_KEY_BACKLOG, "%u", 1 + pick(g, 8));
	g->socks[i].st |= S_LISTEN;
	cur(g)->sure = 1;
	touch(g, i);
}

/* A whole connection at once: a listener, a client connected to it, the accepted server. */
static void emit_connection(struct gen *g)
{
	int l = g->n_socks, c = l + 1;
	begin_step(g, WSPH_OP_SOCKET);
	emit_socket(g, 1);
	begin_step(g, WSPH_OP_BIND);
	emit_bind(g, l);
	begin_step(g, WSPH_OP_LISTEN);
	emit_listen(g, l);
	begin_step(g, WSPH_OP_SOCKET);
	emit_socket(g, 1);
	begin_step(g, WSPH_OP_CONNECT);
	sock_arg(g, c);
	arg(g, WSPH_KEY_ADDR, "\"127.0.0.1:%d\"", g->socks[l].port);
	cur(g)->sure = 1;
	touch(g, l);
	g->socks[c].hist |= g->socks[l].hist;
	g->socks[c].st |= S_CONN | S_BOUND;
	g->socks[l].queue_step[g->socks[l].n_queue] = (int)g->s->n_steps - 1;
	g->socks[l].queue[g->socks[l].n_queue++] = c;
	begin_step(g, WSPH_OP_ACCEPT);
	emit_accept(g);
}

/* A shutdown that stops sending ends the stream: an overlapped receive of the peer completes. */
static void emit_shutdown(struct gen *g, int i)
{
	const char *how = chance(g, 50) ? (pick(g, 2) ? "send" : "receive") : NULL;
	struct gsock *k = &g->socks[i];
	sock_arg(g, i);
	if (how)
		arg(g, WSPH_KEY_HOW, "%s", how);
	k->st |= S_SHUT;
	touch(g, i);
	touch(g, k->peer);
	if ((!how || how[0] == 's') && k->peer >= 0 && (g->socks[k->peer].st & S_OVRECV))
		op_completes(g, k->peer);
}

/* Now and then a socket already closed: a stale handle. When the model knows it is stale (a close
 * step closed it, no call of the sequence may have failed, and no socket was made since, which
 * could have its value), the call must fail with WSAENOTSOCK. */
static void emit_getsockname(struct gen *g)
{
	int stale = exists(g, p_closed) && chance(g, 20);
	int i = stale ? choose(g, p_closed) : choose(g, p_open);
	sock_arg(g, i);
	if (stale && !g->faulty && g->socks[i].closed_at == g->n_socks)
		expect_with(g, "WSAENOTSOCK", "SPI.Handle.StaleFailsNotSock",
			    (1ull << g->socks[i].made) | (1ull << g->socks[i].closed));
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

/* The final cleanup cancels what is pending without a notification, and every socket is gone
 * (the handles are stale from then on). */
static void all_gone(struct gen *g)
{
	for (int i = 0; i < g->n_socks; i++)
		g->socks[i].st = 0;
	for (int o = 0; o < g->n_ops; o++)
		g->ops[o].state = OP_GONE;
}

/* versions a provider of the SPI accepts: 2.2 and the ones around it */
static const char *const versions[] = {"2.0", "2.1", "2.2", "3.0"};

static void emit_startup(struct gen *g)
{
	/* now and then, after a first startup, one below 2.0 that the provider must refuse: the
	 * model counts no startup for it */
	if (g->started && chance(g, 10)) {
		arg(g, WSPH_KEY_VERSION, "%s", chance(g, 50) ? "1.1" : "1.0");
		return;
	}
	cur(g)->expect = "ok";
	cur(g)->control = 1;
	if (chance(g, 15))
		arg(g, WSPH_KEY_VERSION, "%s", versions[pick(g, 4)]);
	/* table B only on a later startup: the rule about the most recent table reads a first
	 * startup's table B as a table the provider was never given */
	if (g->ever_started && chance(g, 30))
		arg(g, WSPH_KEY_TABLE, "B");
	g->started++;
	g->ever_started = 1;
}

static void emit_cleanup(struct gen *g)
{
	if (g->started && --g->started == 0)
		all_gone(g);
}

static int p_registered(const struct gen *g, const struct gsock *k)
{
	(void)g;
	return (k->st & S_OPEN) && (k->st & (S_ASYNC | S_EVSEL));
}

/* WSPAsyncSelect or WSPEventSelect: mostly on a connected socket, where network events happen,
 * and now and then again on a registered one: a cancel (no events) or another event object. */
static void emit_select_kind(struct gen *g, enum wsph_op op)
{
	int i = exists(g, p_registered) && chance(g, 50) ? choose(g, p_registered)
		: exists(g, p_connected) && chance(g, 70) ? choose(g, p_connected)
							   : choose(g, p_open);
	struct gsock *k = &g->socks[i];
	int cancel = (k->st & (op == WSPH_OP_ASYNCSELECT ? S_ASYNC : S_EVSEL)) && chance(g, 50);
	sock_arg(g, i);
	events_arg(g, WSPH_KEY_EVENTS, cancel);
	touch(g, i);
	k->st |= S_NBIO;
	k->st &= ~(S_ASYNC | S_EVSEL); /* either one ends the other's registration */
	k->st |= op == WSPH_OP_ASYNCSELECT ? S_ASYNC : S_EVSEL;
	if (op == WSPH_OP_ASYNCSELECT)
		return;
	/* a new event, or one of those made, most likely another than this socket's */
	if (g->n_events < 3 && (!g->n_events || chance(g, 50)))
		k->event = ++g->n_events;
	else
		k->event = 1 + (int)pick(g, (unsigned)g->n_events);
	arg(g, WSPH_KEY_EVENT, "e%d", k->event);
}

static void emit_ioctl(struct gen *g)
{
	int i = choose(g, p_open);
	sock_arg(g, i);
	if (chance(g, 50)) {
		arg(g, WSPH_KEY_COMMAND, "FIONREAD");
		return;
	}
	arg(g, WSPH_KEY_COMMAND, "FIONBIO");
	arg(g, WSPH_KEY_VALUE, "1");
	g->socks[i].st |= S_NBIO;
	touch(g, i);
}

static void emit_op_step(struct gen *g, enum wsph_op op)
{
	unsigned mask = op == WSPH_OP_COMPLETE ? 1u << OP_DONE : (1u << OP_PENDING) | (1u << OP_DONE);
	int o = choose_op(g, mask, 0);
	arg(g, WSPH_KEY_OP, "o%d", o + 1);
	/* a close while it was pending completes it with WSA_OPERATION_ABORTED */
	if (op == WSPH_OP_COMPLETE && g->ops[o].aborted)
		expect_with(g, "WSA_OPERATION_ABORTED", "WPU.CompleteOverlapped.AbortOnClose",
			    g->ops[o].premises);
	if (op == WSPH_OP_COMPLETE) /* it waits for the step that completed it */
		need_with(g, 1ull << g->ops[o].done_by);
	/* its result is taken: never asked for again (a pending one stays pending: fWait FALSE) */
	if (g->ops[o].state == OP_DONE)
		g->ops[o].state = OP_GONE;
}

static void emit_misc(struct gen *g, enum wsph_op op)
{
	switch (op) {
	case WSPH_OP_STARTUP: emit_startup(g); break;
	case WSPH_OP_CLEANUP: emit_cleanup(g); break;
	case WSPH_OP_IOCTL: emit_ioctl(g); break;
	case WSPH_OP_ASYNCSELECT:
	case WSPH_OP_EVENTSELECT: emit_select_kind(g, op); break;
	case WSPH_OP_ENUMNETWORKEVENTS:
		sock_arg(g, choose(g, p_open));
		if (g->n_events && chance(g, 60))
			arg(g, WSPH_KEY_EVENT, "e%u", 1 + pick(g, (unsigned)g->n_events));
		break;
	case WSPH_OP_SELECT:
		/* most often where a hook is set: the hook's contract is what it shows */
		if (!g->faulty && exists(g, p_dgram_idle) && chance(g, g->s->blocking ? 80 : 30)) {
			emit_waiting_select(g, choose(g, p_dgram_idle));
			break;
		}
		list_arg(g, WSPH_KEY_READ);
		if (chance(g, 60))
			list_arg(g, WSPH_KEY_WRITE);
		arg(g, WSPH_KEY_TIMEOUT, "0");
		break;
	case WSPH_OP_COMPLETE:
	case WSPH_OP_GETOVERLAPPEDRESULT: emit_op_step(g, op); break;
	case WSPH_OP_ARRIVE: emit_arrive(g); break;
	default: break; /* alertable: no argument */
	}
}

static void emit(struct gen *g, enum wsph_op op)
{
	int i;
	begin_step(g, op);
	switch (op) {
	case WSPH_OP_SOCKET: emit_socket(g, 0); break;
	case WSPH_OP_BIND: emit_bind(g, choose(g, p_bindable)); break;
	case WSPH_OP_LISTEN: emit_listen(g, choose(g, p_listenable)); break;
	case WSPH_OP_CONNECT: emit_connect(g); break;
	case WSPH_OP_ACCEPT: emit_accept(g); break;
	case WSPH_OP_SEND: emit_send(g, choose(g, p_sender)); break;
	case WSPH_OP_RECV: emit_recv(g); break;
	case WSPH_OP_SENDTO: emit_sendto(g); break;
	case WSPH_OP_RECVFROM: emit_recvfrom(g); break;
	case WSPH_OP_CLOSE:
		i = choose(g, p_open);
		sock_arg(g, i);
		close_sock(g, i);
		break;
	case WSPH_OP_SHUTDOWN: emit_shutdown(g, choose(g, p_connected)); break;
	case WSPH_OP_GETSOCKOPT: emit_opt(g, 0); break;
	case WSPH_OP_SETSOCKOPT: emit_opt(g, 1); break;
	case WSPH_OP_GETSOCKNAME: emit_getsockname(g); break;
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

/* ---- faults and settings ---- */

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

/* upcalls: a blocking hook (true, false, cancel), or WPUModifyIFSHandle proposing another
 * handle. */
static void draw_settings(struct gen *g)
{
	if (!chance(g, g->m->upcalls_percent))
		return;
	unsigned c = pick(g, 4);
	if (c == 3)
		g->s->modify_different = 1;
	else
		g->s->blocking = (int)c + 1; /* WSPH_BLOCKING_TRUE, _FALSE, _CANCEL */
}

/* A step drawn by its weight among those that can run now, or WSPH_OP_COUNT for a whole
 * connection (the model's `connection` weight) when there is room for it. */
static enum wsph_op draw_op(struct gen *g, size_t room)
{
	unsigned total = 0, w[WSPH_OP_COUNT + 1];
	for (int op = 0; op < WSPH_OP_COUNT; op++)
		total += w[op] = can(g, (enum wsph_op)op) ? g->m->weights[op] : 0;
	w[WSPH_OP_COUNT] = g->started && !g->faulty && room >= 9 && g->n_socks + 3 <= WSPH_EXPLORE_MAX_SOCKETS
				   ? g->m->connection
				   : 0;
	total += w[WSPH_OP_COUNT];
	unsigned r = pick(g, total);
	for (int op = 0; op <= WSPH_OP_COUNT; op++) {
		if (r < w[op])
			return (enum wsph_op)op;
		r -= w[op];
	}
	return WSPH_OP_SOCKET;
}

/* The steps room is kept for: a close per open socket, a cleanup per startup. */
static size_t teardown_room(const struct gen *g)
{
	return (size_t)open_count(g) + (size_t)g->started + 2;
}

static void teardown(struct gen *g)
{
	/* now and then the final cleanup finds sockets open, and what is pending on them */
	int keep = chance(g, g->m->open_at_cleanup_percent);
	for (int i = 0; i < g->n_socks && !keep; i++)
		if (g->socks[i].st & S_OPEN) {
			begin_step(g, WSPH_OP_CLOSE);
			sock_arg(g, i);
			close_sock(g, i);
		}
	while (g->started > 0)
		emit(g, WSPH_OP_CLEANUP);
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
	g.faulty = out->n_faults > 0;
	draw_settings(&g);
	size_t body = 2 + pick(&g, (unsigned)(max_steps - 1));
	emit(&g, WSPH_OP_STARTUP);
	while (out->n_steps < body && out->n_steps + teardown_room(&g) <= max_steps) {
		enum wsph_op op = draw_op(&g, max_steps - out->n_steps - teardown_room(&g));
		if (op == WSPH_OP_COUNT) {
			emit_connection(&g);
			continue;
		}
		if (!g.m->weights[op] || !can(&g, op))
			break;
		/* an arrive brings its receive along */
		if (op == WSPH_OP_ARRIVE && out->n_steps + teardown_room(&g) + 2 > max_steps)
			break;
		emit(&g, op);
	}
	teardown(&g);
}
