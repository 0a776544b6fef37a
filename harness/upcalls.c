/* The instrumented upcall table: ws2_32's WPU functions, recorded, and stricter than ws2_32. */
#include "upcalls.h"

#include "catalog.h"
#include "platform/async.h"
#include "platform/platform.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER)
#include <intrin.h>
#define RETURN_ADDRESS() _ReturnAddress()
#else
#define RETURN_ADDRESS() __builtin_return_address(0)
#endif

/* Handle values the harness issues: never reused within a scenario, never 0, and never equal
 * to a value the provider proposed or registered as a context. */
#define HANDLE_BASE ((SOCKET)0x3c000000u)
#define HANDLE_STEP 4
#define THREAD_TOKEN_BASE ((uintptr_t)0x7a000000u)
#define BOGUS_HANDLE ((SOCKET)0x0badbad0u)
#define MAX_STARTUPS 64

enum handle_how { H_CREATED, H_MODIFIED };

/* An open handle the harness issued, or one it registered: a slot of S.handles, keyed by its
 * value. */
struct handle {
	uint64_t value; /* the key: first */
	DWORD_PTR context;
	SOCKET proposed;
	enum handle_how how;
};

/* A table of handles keyed by their nonzero value: open addressing,
 * linear probing, at most half full, so a lookup, an insertion or a removal costs the same however
 * many handles a scenario has issued. */
struct keyed {
	struct handle *slots; /* cap slots; value 0: empty */
	size_t cap, n;
};

struct apc {
	unsigned long thread;
	LPWSAUSERAPC fn;
	DWORD_PTR context;
};

/* A ThreadHandle the harness handed out: to the provider by WPUOpenCurrentThread, or in the
 * WSATHREADID the driver passes with an overlapped call. On Windows it is a real thread handle
 * (QueueUserAPC works on it); on POSIX a token value. */
struct thread_token {
	uintptr_t token;
	unsigned long thread;
	int open;
	int harness; /* handed out by the driver, not by WPUOpenCurrentThread */
	void *os;    /* Windows: the handle to close */
};

/* An event the harness knows: one from WPUCreateEvent or one of the client's (the driver's). */
struct event_rec {
	void *ev;
	int client;
};

/* A message WPUPostMessage posted to the harness window. */
struct message {
	struct wsph_message m;
	int taken;	/* the driver consumed it */
	int real_posted; /* also posted to the real window, not yet seen there */
};

#define HOOK_CONTEXT ((DWORD_PTR)0x5eedb10cu)
#define HOOK_MAX_CALLS 300 /* a hook that keeps a call waiting ends it after this many calls */

static struct state {
	struct wsph_mutex *lock;
	struct wsph_trace *trace;
	struct wsph_upcall_config cfg;
	struct keyed handles; /* struct handle: the newest of each value (a value may be proposed twice) */
	SOCKET next_handle;
	struct keyed avoid; /* values the provider proposed or used as contexts that new_handle could
			       still issue (only their value is set) */
	unsigned calls[WSPH_FN_COUNT];
	struct event_rec *events;
	size_t n_events, cap_events;
	struct message *msgs;
	size_t n_msgs, cap_msgs;
	void *real_window; /* Windows: the message-only window, NULL elsewhere */
	struct wsph_blocking_stats hook;
	int hook_stopped; /* the hook returned FALSE or cancelled */
	unsigned calls_done; /* the driver thread's outermost WSP calls that returned */
	struct apc *apcs;
	size_t n_apcs, cap_apcs;
	struct thread_token *tokens;
	size_t n_tokens, cap_tokens;
	WSPUPCALLTABLE *buffers[MAX_STARTUPS];
	size_t n_buffers;
	int startups;	   /* outstanding successful WSPStartups */
	int current_table; /* table of the most recent successful WSPStartup */
	/* The provider below the layer under test (0: none): its module and the layer's (interned
	 * ids), and the table the layer gave it in its most recent WSPStartup (-1: none, or a table
	 * of the layer's own). Its events are made on the layer's behalf, and the table it must use
	 * is the one it was given. Atomic: the fast path reads them without the lock. */
	int lower_module, layer_module, lower_table;
	/* the main driver thread (the WSP calls in progress on each driver thread are its frames,
	 * below), how many driver threads are inside a WSP call, and the main thread's step */
	unsigned long driver_thread;
	int busy;
	int step;
	/* the recording fast path (pure upcalls, read without the lock) */
	struct wsph_trace *fast_trace; /* the trace, while a scenario runs */
	unsigned char faulted[WSPH_FN_COUNT]; /* a fault targets this function: count under the lock */
} S;

/* ---- the calling module, cached per thread by return address ----
 * Modules do not move while loaded: an address keeps naming the same module until the provider
 * set changes, and wsph_upcalls_begin/end (and wsph_upcalls_forget_modules) start a new
 * generation, which empties every thread's cache. */
#define MODCACHE 64
static uint64_t module_gen = 1;
static WSPH_THREAD_LOCAL struct modcache {
	uint64_t gen;
	const void *ra[MODCACHE];
	uint16_t id[MODCACHE];
} mc;

void wsph_upcalls_forget_modules(void)
{
	wsph_atomic_add_u64(&module_gen, 1);
}

static unsigned module_miss(const void *ra, size_t h, uint64_t gen);

static inline unsigned module_of(const void *ra)
{
	uint64_t gen = wsph_atomic_load_u64(&module_gen);
	/* every bit of the address counts: two call sites a few bytes apart (a provider's create and
	 * close of a handle, back to back) must not share a slot and evict each other each call */
	size_t h = (size_t)(((uint64_t)(uintptr_t)ra * 0x9e3779b97f4a7c15ull) >> 58) & (MODCACHE - 1);
	if (mc.gen == gen && ra && mc.ra[h] == ra)
		return mc.id[h];
	return module_miss(ra, h, gen);
}

static unsigned module_miss(const void *ra, size_t h, uint64_t gen)
{
	if (mc.gen != gen) {
		memset(mc.ra, 0, sizeof mc.ra);
		mc.gen = gen;
	}
	char buf[sizeof ((struct wsph_event *)0)->module];
	wsph_plat_module_name_at(ra, buf, sizeof buf);
	unsigned id = wsph_trace_module_id(buf);
	mc.ra[h] = ra;
	mc.id[h] = (uint16_t)id;
	return id;
}

/* ---- per-thread call counters for the fast path ----
 * A thread claims a slot (under the lock) once per scenario; only it writes the slot's counts, and
 * wsph_upcalls_count adds them up. A thread that finds no free slot counts under the lock. */
#define MAX_COUNTERS 64
struct counters {
	uint64_t pad0[8]; /* a cache line of its own on each side: no sharing with a neighbour */
	uint64_t gen;	  /* the scenario it belongs to (atomic) */
	uint64_t owner;	  /* thread id (atomic) */
	int calls[WSPH_FN_COUNT];
	uint64_t pad1[8];
};
static struct counters *counter_slots[MAX_COUNTERS];
static uint64_t counter_gen = 1;
static WSPH_THREAD_LOCAL struct counters *my_counters;

static struct counters *claim_counters(unsigned long me)
{
	struct counters *c = NULL;
	uint64_t gen = wsph_atomic_load_u64(&counter_gen);
	wsph_mutex_lock(S.lock);
	for (size_t i = 0; i < MAX_COUNTERS && !c; i++) {
		if (!counter_slots[i])
			counter_slots[i] = calloc(1, sizeof *counter_slots[i]);
		struct counters *k = counter_slots[i];
		if (k && wsph_atomic_load_u64(&k->gen) != gen) {
			memset(k->calls, 0, sizeof k->calls);
			wsph_atomic_store_u64(&k->owner, (uint64_t)me);
			wsph_atomic_store_u64(&k->gen, gen);
			c = k;
		}
	}
	wsph_mutex_unlock(S.lock);
	return my_counters = c;
}

/* Counts a call of fn on the fast path; -1 when it must be counted under the lock instead. */
static int count_fast(enum wsph_fn fn, unsigned long me)
{
	struct counters *c = my_counters;
	if (!c || wsph_atomic_load_u64(&c->gen) != wsph_atomic_load_u64(&counter_gen) ||
	    wsph_atomic_load_u64(&c->owner) != (uint64_t)me)
		c = claim_counters(me);
	if (!c)
		return -1;
	wsph_atomic_store_int(&c->calls[fn], wsph_atomic_load_int(&c->calls[fn]) + 1);
	return 0;
}

/* ---- the driver threads' frames ----
 * Each thread that runs a scenario's steps (the main driver thread, and the threads of a parallel
 * block) keeps the WSP calls it has in progress, innermost last, and its step: an upcall made on
 * that thread happens inside its innermost call. Only the thread itself writes them. A thread's
 * frames count for the scenario in progress only (frame_gen, advanced by wsph_upcalls_begin). */
#define MAX_FRAMES 16
static uint64_t frame_gen = 1;
static WSPH_THREAD_LOCAL struct frames {
	uint64_t gen;
	int depth;
	int step;
	uint64_t calls[MAX_FRAMES];
} fr;

/* The calling thread's frames, or NULL when it is no driver thread of this scenario. */
static struct frames *my_frames(void)
{
	return fr.gen == wsph_atomic_load_u64(&frame_gen) ? &fr : NULL;
}

static void frames_claim(void)
{
	fr.gen = wsph_atomic_load_u64(&frame_gen);
	fr.depth = 0;
	fr.step = 0;
}

/* The parent of an event of the calling thread: its innermost WSP call, if any. */
static uint64_t parent_of(void)
{
	const struct frames *f = my_frames();
	if (!f || f->depth <= 0)
		return 0;
	return f->calls[(f->depth < MAX_FRAMES ? f->depth : MAX_FRAMES) - 1];
}

/* The step an event of the calling thread happens in: its own on a driver thread, else the main
 * thread's. */
static int step_of(void)
{
	const struct frames *f = my_frames();
	return f ? f->step : wsph_atomic_load_int(&S.step);
}

/* The window the harness registers in WSPAsyncSelect; messages for it are recorded. */
static char fake_window;

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

static size_t key_slot(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* The slot of key, or NULL. */
static struct handle *keyed_find(const struct keyed *t, uint64_t key)
{
	if (!t->cap || !key)
		return NULL;
	for (size_t i = key_slot(key, t->cap);; i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i].value == key)
			return &t->slots[i];
		if (!t->slots[i].value)
			return NULL;
	}
}

static int keyed_grow(struct keyed *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct keyed bigger = {calloc(cap, sizeof *t->slots), cap, t->n};
	if (!bigger.slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t k = t->slots[i].value;
		if (!k)
			continue;
		size_t j = key_slot(k, cap);
		while (bigger.slots[j].value)
			j = (j + 1) & (cap - 1);
		bigger.slots[j] = t->slots[i];
	}
	free(t->slots);
	*t = bigger;
	return 0;
}

/* The slot of key: its own, or a new one (zeroed, key set). NULL when out of memory. */
static struct handle *keyed_put(struct keyed *t, uint64_t key)
{
	if (!key || ((t->n + 1) * 2 > t->cap && keyed_grow(t) != 0))
		return NULL;
	size_t i = key_slot(key, t->cap);
	for (uint64_t k; (k = t->slots[i].value) != 0; i = (i + 1) & (t->cap - 1))
		if (k == key)
			return &t->slots[i];
	t->slots[i] = (struct handle){key, 0, 0, H_CREATED};
	t->n++;
	return &t->slots[i];
}

/* Removes key's slot, if any: the slots after it in its run move back (no tombstones). */
static void keyed_remove(struct keyed *t, uint64_t key)
{
	struct handle *slot = keyed_find(t, key);
	if (!slot)
		return;
	size_t mask = t->cap - 1, hole = (size_t)(slot - t->slots);
	for (size_t i = (hole + 1) & mask;; i = (i + 1) & mask) {
		uint64_t k = t->slots[i].value;
		if (!k)
			break;
		/* k may fill the hole when its home slot is not in (hole, i] */
		size_t home = key_slot(k, t->cap);
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	t->slots[hole].value = 0;
	t->n--;
}

static void keyed_clear(struct keyed *t)
{
	free(t->slots);
	*t = (struct keyed){NULL, 0, 0};
}

/* Only a value new_handle could still issue needs keeping: one at or above next_handle (handles
 * only go up) on the HANDLE_STEP grid. A context such as a pointer or a small number never is. */
static int issuable(uint64_t v)
{
	return v >= (uint64_t)S.next_handle && (v - (uint64_t)HANDLE_BASE) % HANDLE_STEP == 0;
}

static void avoid_value(uint64_t v)
{
	if (issuable(v))
		keyed_put(&S.avoid, v);
}

/* Values below next_handle stay in S.avoid: new_handle never looks at them again. */
static SOCKET new_handle(void)
{
	SOCKET h;
	do {
		h = S.next_handle;
		S.next_handle += HANDLE_STEP;
	} while (S.avoid.n && keyed_find(&S.avoid, (uint64_t)h));
	return h;
}

/* The newest entry of s: a value is never reissued, but a provider may propose one twice. A
 * closed handle the harness created is no longer in the table: every upcall answers it as it
 * answers a value never issued (WSAENOTSOCK, WSAEINVAL for WPUCompleteOverlappedRequest, and
 * WPUModifyIFSHandle keeps only a value registered by WPUModifyIFSHandle), so the table holds the
 * open handles, not every handle issued. */
static struct handle *find_handle(SOCKET s)
{
	return keyed_find(&S.handles, (uint64_t)s);
}

static struct handle *add_handle(SOCKET v, enum handle_how how, DWORD_PTR ctx, SOCKET proposed)
{
	struct handle *h = keyed_put(&S.handles, (uint64_t)v);
	if (!h)
		return NULL;
	h->how = how;
	h->context = ctx;
	h->proposed = proposed;
	return h;
}

static int event_index(void *ev)
{
	for (size_t i = 0; i < S.n_events; i++)
		if (S.events[i].ev == ev)
			return (int)i;
	return -1;
}

static int add_event(void *e, int client)
{
	if (!e || grow((void **)&S.events, &S.cap_events, S.n_events, sizeof *S.events) != 0)
		return -1;
	S.events[S.n_events].ev = e;
	S.events[S.n_events].client = client;
	S.n_events++;
	return 0;
}

static void drop_event(int idx)
{
	wsph_plat_event_free(S.events[idx].ev);
	S.events[idx] = S.events[--S.n_events];
}

/* Newest first: on Windows a closed handle value can come back from a later DuplicateHandle. */
static struct thread_token *find_token(uintptr_t token)
{
	for (size_t i = S.n_tokens; i-- > 0;)
		if (S.tokens[i].token == token)
			return &S.tokens[i];
	return NULL;
}

/* A new ThreadHandle for the calling thread. Called with S.lock held. */
static struct thread_token *new_token(int harness)
{
	if (grow((void **)&S.tokens, &S.cap_tokens, S.n_tokens, sizeof *S.tokens) != 0)
		return NULL;
	void *os = wsph_thread_handle_open();
	uintptr_t token = os ? (uintptr_t)os : THREAD_TOKEN_BASE + 8 * (S.n_tokens + 1);
	S.tokens[S.n_tokens] = (struct thread_token){token, wsph_trace_thread_id(), 1, harness, os};
	return &S.tokens[S.n_tokens++];
}

static void close_token(struct thread_token *t)
{
	t->open = 0;
	wsph_thread_handle_close(t->os);
	t->os = NULL;
}

/* Counts a call of fn under the lock; returns the error a fault injects into it (0 for none). */
static int count_locked(enum wsph_fn fn)
{
	unsigned n = ++S.calls[fn];
	for (size_t i = 0; S.faulted[fn] && i < S.cfg.n_faults; i++)
		if (S.cfg.faults[i].upcall == (int)fn && S.cfg.faults[i].call == n)
			return S.cfg.faults[i].error;
	return 0;
}

/* Starts an upcall event; returns the injected error (0 for none). Called with S.lock held. */
static int begin(struct wsph_event *ev, enum wsph_fn fn, int table, const void *ra)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WSPH_EV_UPCALL;
	ev->fn = fn;
	ev->table = table;
	ev->err = WSPH_ERRNO_UNSET;
	ev->step = step_of();
	ev->parent = parent_of();
	unsigned mod = module_of(ra);
	int lower = mod && (int)mod == wsph_atomic_load_int(&S.lower_module);
	ev->current_table = lower ? wsph_atomic_load_int(&S.lower_table) : S.current_table;
	const char *name = wsph_trace_module_name(mod);
	size_t len = strlen(name);
	memcpy(ev->module, name, len < sizeof ev->module ? len + 1 : sizeof ev->module);
	ev->module[sizeof ev->module - 1] = '\0';
	if (lower) {
		name = wsph_trace_module_name((unsigned)wsph_atomic_load_int(&S.layer_module));
		len = strlen(name);
		memcpy(ev->behalf, name, len < sizeof ev->behalf ? len + 1 : sizeof ev->behalf);
		ev->behalf[sizeof ev->behalf - 1] = '\0';
	}
	ev->fault = count_locked(fn);
	return ev->fault;
}

/* An upcall's record as begin starts its event, the module interned (no name is copied, or looked
 * up again when it is stored): arguments and result zero, no error, no fault. */
static void fill_rec(struct wsph_rec *r, enum wsph_fn fn, int table, const void *ra,
		     unsigned long me)
{
	(void)me;
	r->parent = parent_of();
	memset(r->a, 0, sizeof r->a);
	r->ret = 0;
	r->step = step_of();
	r->err = WSPH_ERRNO_UNSET;
	r->fault = 0;
	r->layer = 0;
	r->table = table;
	unsigned mod = module_of(ra);
	int lower = mod && (int)mod == wsph_atomic_load_int(&S.lower_module);
	r->current_table = wsph_atomic_load_int(lower ? &S.lower_table : &S.current_table);
	r->behalf = (uint16_t)(lower ? wsph_atomic_load_int(&S.layer_module) : 0);
	r->text = 0;
	r->module = (uint16_t)mod;
	r->kind = WSPH_EV_UPCALL;
	r->fn = (uint8_t)fn;
}

/* begin and finish for the upcalls that change the handle table, straight into a record: it is
 * stored under the lock (its seq orders it after every upcall the lock let in before), with the
 * thread's clock reading reused as on the fast path. */
static int begin_rec(struct wsph_rec *r, enum wsph_fn fn, int table, const void *ra)
{
	fill_rec(r, fn, table, ra, wsph_trace_thread_id());
	r->fault = count_locked(fn);
	return r->fault;
}

static void finish_rec(struct wsph_rec *r, int64_t ret, LPINT lpErrno, int err)
{
	r->ret = ret;
	if (err) {
		r->err = err;
		if (lpErrno)
			*lpErrno = err;
	}
	if (S.trace)
		wsph_trace_append_rec(S.trace, r, 1);
}

/* Records a pure upcall (one that changes no state of the harness) without the lock: no fault
 * targets fn, and the trace takes the event lock-free. 0 when it must take the locked path. */
static int record_fast(enum wsph_fn fn, int table, const void *ra, uint64_t a0, uint64_t a1,
		       int64_t ret)
{
	struct wsph_trace *t = wsph_atomic_load_ptr((void **)&S.fast_trace);
	unsigned long me = wsph_trace_thread_id();
	if (!t || S.faulted[fn] || count_fast(fn, me) != 0)
		return 0;
	uint64_t seq = 1;
	struct wsph_rec local, *r = wsph_trace_reserve(t, &seq);
	if (!r) {
		if (!seq)
			return 1; /* lost (out of memory): the trace says so by stopping there */
		r = &local;   /* the trace has a sink: append under its lock */
	}
	fill_rec(r, fn, table, ra, me);
	r->a[0] = a0;
	r->a[1] = a1;
	r->ret = ret;
	if (r == &local)
		wsph_trace_append_rec(t, r, 1);
	else
		wsph_trace_commit(r, seq);
	return 1;
}

static void finish(struct wsph_event *ev, int64_t ret, LPINT lpErrno, int err)
{
	ev->ret = ret;
	if (err) {
		ev->err = err;
		if (lpErrno)
			*lpErrno = err;
	}
	if (S.trace)
		wsph_trace_append(S.trace, ev);
}

/* ---- the fifteen upcalls, parameterised by the table they came through ---- */

static BOOL close_event(int table, const void *ra, WSAEVENT hEvent, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCLOSEEVENT, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)hEvent;
	int idx = event_index(hEvent);
	ev.a[1] = idx >= 0 && S.events[idx].client; /* the client's event: never the provider's */
	BOOL ok = FALSE;
	int err = 0;
	if (fault)
		err = fault;
	else if (idx < 0 || S.events[idx].client)
		err = WSA_INVALID_HANDLE; /* the client's event stays the client's */
	else {
		drop_event(idx);
		ok = TRUE;
	}
	finish(&ev, ok, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return ok;
}

static int close_socket_handle(int table, const void *ra, SOCKET s, LPINT lpErrno)
{
	struct wsph_rec r;
	wsph_mutex_lock(S.lock);
	int fault = begin_rec(&r, WSPH_FN_WPUCLOSESOCKETHANDLE, table, ra);
	r.a[0] = (uint64_t)s;
	struct handle *h = find_handle(s);
	int rc = SOCKET_ERROR, err = 0;
	if (fault)
		err = fault;
	else if (!h || h->how != H_CREATED)
		err = WSAENOTSOCK;
	else {
		keyed_remove(&S.handles, (uint64_t)s); /* answers from now on as never issued */
		rc = 0;
	}
	finish_rec(&r, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static WSAEVENT create_event(int table, const void *ra, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCREATEEVENT, table, ra);
	void *e = NULL;
	int err = fault;
	if (!err) {
		e = wsph_plat_event_new();
		if (add_event(e, 0) != 0) {
			wsph_plat_event_free(e);
			e = NULL;
			err = WSA_NOT_ENOUGH_MEMORY;
		}
	}
	finish(&ev, (int64_t)(uintptr_t)e, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return (WSAEVENT)e;
}

static SOCKET create_socket_handle(int table, const void *ra, DWORD id, DWORD_PTR ctx,
				   LPINT lpErrno)
{
	struct wsph_rec r;
	wsph_mutex_lock(S.lock);
	int fault = begin_rec(&r, WSPH_FN_WPUCREATESOCKETHANDLE, table, ra);
	r.a[0] = id;
	r.a[1] = (uint64_t)ctx;
	avoid_value((uint64_t)ctx);
	SOCKET h = INVALID_SOCKET;
	int err = fault;
	if (!err) {
		h = new_handle();
		if (!add_handle(h, H_CREATED, ctx, 0)) {
			h = INVALID_SOCKET;
			err = WSAENOBUFS;
		}
	}
	finish_rec(&r, h == INVALID_SOCKET ? -1 : (int64_t)h, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return h;
}

static int fd_is_set(int table, const void *ra, SOCKET s, fd_set *set)
{
	int rc = 0;
	if (set)
		for (u_int i = 0; i < set->fd_count && i < FD_SETSIZE; i++)
			if (set->fd_array[i] == s)
				rc = 1;
	if (record_fast(WSPH_FN_WPUFDISSET, table, ra, (uint64_t)s, (uint64_t)(uintptr_t)set, rc))
		return rc;
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	begin(&ev, WSPH_FN_WPUFDISSET, table, ra);
	ev.a[0] = (uint64_t)s;
	ev.a[1] = (uint64_t)(uintptr_t)set;
	finish(&ev, rc, NULL, 0);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int get_provider_path(int table, const void *ra, LPGUID id, WCHAR *path, LPINT len,
			     LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUGETPROVIDERPATH, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)id;
	ev.a[1] = len ? (uint64_t)(int64_t)*len : 0;
	int rc = wsph_catalog_path_upcall(S.cfg.catalog, id, path, len, lpErrno, fault, &ev);
	finish(&ev, rc, lpErrno, rc ? ev.err : 0);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int known_catalog_id(DWORD id)
{
	return S.cfg.catalog && wsph_catalog_by_id(S.cfg.catalog, id) != NULL;
}

static SOCKET modify_ifs_handle(int table, const void *ra, DWORD id, SOCKET proposed,
				LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUMODIFYIFSHANDLE, table, ra);
	ev.a[0] = id;
	ev.a[1] = (uint64_t)proposed;
	avoid_value((uint64_t)proposed);
	SOCKET h = INVALID_SOCKET;
	int err = fault;
	if (err)
		;
	else if (proposed == 0 || proposed == INVALID_SOCKET || !known_catalog_id(id))
		err = WSAEINVAL; /* as the older ws2_32 did for an unknown catalog id */
	else {
		/* A value that is an IFS handle already (a layer registering the handle the IFS
		 * provider below it got) keeps its value, as it must: an IFS handle is a file
		 * handle, and ws2_32 cannot give the file another one. Only a provider's own
		 * proposal gets the stricter different value (unless the scenario asks for the
		 * same one). */
		const struct handle *had = find_handle(proposed);
		int keep = S.cfg.modify_ifs_same || (had && had->how == H_MODIFIED);
		h = keep ? proposed : new_handle();
		if (!add_handle(h, H_MODIFIED, 0, proposed)) {
			h = INVALID_SOCKET;
			err = WSAENOBUFS;
		}
	}
	finish(&ev, h == INVALID_SOCKET ? -1 : (int64_t)h, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return h;
}

static BOOL post_message(int table, const void *ra, HWND hWnd, UINT msg, WPARAM wp, LPARAM lp)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	begin(&ev, WSPH_FN_WPUPOSTMESSAGE, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)hWnd;
	ev.a[1] = msg;
	ev.a[2] = (uint64_t)wp;
	ev.a[3] = (uint64_t)lp;
	finish(&ev, TRUE, NULL, 0);
	int ours = hWnd == wsph_upcalls_window();
	int real = ours && S.real_window != NULL;
	if (ours && grow((void **)&S.msgs, &S.cap_msgs, S.n_msgs, sizeof *S.msgs) == 0) {
		struct message *m = &S.msgs[S.n_msgs++];
		m->m = (struct wsph_message){msg, (uint64_t)wp, (int64_t)lp, ev.seq};
		m->taken = 0;
		m->real_posted = real;
	}
	wsph_mutex_unlock(S.lock);
	/* The real window (Windows) gets it as ws2_32 would post it; another window (a layer's own)
	 * too. POSIX has no windows: the portable queue is the window. */
	if (real || (!ours && hWnd))
		wsph_plat_post_message((void *)hWnd, msg, (uintptr_t)wp, (intptr_t)lp, 1);
	return TRUE;
}

/* The hook WPUQueryBlockingCallback hands out (upcalls.blocking_callback other than none). */
static BOOL CALLBACK blocking_hook(DWORD_PTR context)
{
	int cancel = 0;
	BOOL go_on;
	wsph_mutex_lock(S.lock);
	S.hook.calls++;
	if (context != HOOK_CONTEXT)
		S.hook.bad_context++;
	const struct frames *f = my_frames();
	if (!f || f->depth <= 0)
		S.hook.outside_call++;
	if (S.hook_stopped)
		S.hook.after_stop++;
	switch (S.cfg.blocking) {
	case WSPH_BLOCKING_FALSE:
		/* A provider that goes on waiting after FALSE is unblocked by a cancel at last. */
		cancel = S.hook.after_stop == 20;
		S.hook_stopped = 1;
		go_on = FALSE;
		break;
	case WSPH_BLOCKING_CANCEL:
		cancel = !S.hook_stopped;
		S.hook_stopped = 1;
		/* "go on": the provider must notice the cancel itself; one that never does is stopped */
		go_on = S.hook.after_stop < 50;
		break;
	default:
		go_on = S.hook.calls < HOOK_MAX_CALLS;
		break;
	}
	if (cancel)
		S.hook.cancels++;
	void (*fn)(void *) = S.cfg.cancel_blocking;
	void *ctx = S.cfg.cancel_ctx;
	wsph_mutex_unlock(S.lock);
	if (cancel && fn)
		fn(ctx);
	return go_on;
}

static int query_blocking_callback(int table, const void *ra, DWORD id, LPBLOCKINGCALLBACK *cb,
				   PDWORD_PTR ctx, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUQUERYBLOCKINGCALLBACK, table, ra);
	ev.a[0] = id;
	S.hook.queried++;
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (!cb || !ctx)
		err = WSAEFAULT;
	else if (!known_catalog_id(id))
		err = WSAEINVAL;
	else if (S.cfg.blocking == WSPH_BLOCKING_NONE) {
		/* ws2_32's answer for Winsock 2 clients: no blocking hook. */
		*cb = NULL;
		*ctx = 0;
		rc = 0;
	} else {
		*cb = blocking_hook;
		*ctx = HOOK_CONTEXT;
		ev.a[1] = (uint64_t)(uintptr_t)blocking_hook;
		ev.a[2] = HOOK_CONTEXT;
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int query_socket_handle_context(int table, const void *ra, SOCKET s, PDWORD_PTR ctx,
				       LPINT lpErrno)
{
	struct wsph_rec r;
	wsph_mutex_lock(S.lock);
	int fault = begin_rec(&r, WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, table, ra);
	r.a[0] = (uint64_t)s;
	struct handle *h = find_handle(s);
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (!h || h->how != H_CREATED)
		err = WSAENOTSOCK;
	else if (!ctx)
		err = WSAEFAULT;
	else {
		*ctx = h->context;
		r.a[1] = (uint64_t)h->context;
		rc = 0;
	}
	finish_rec(&r, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int queue_apc(int table, const void *ra, LPWSATHREADID tid, LPWSAUSERAPC fn, DWORD_PTR ctx,
		     LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUQUEUEAPC, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)tid;
	ev.a[1] = (uint64_t)(uintptr_t)fn;
	ev.a[2] = (uint64_t)ctx;
	int rc = SOCKET_ERROR, err = fault;
	struct thread_token *tok = NULL;
	if (tid) {
		ev.a[3] = (uint64_t)(uintptr_t)tid->ThreadHandle;
		tok = find_token((uintptr_t)tid->ThreadHandle);
	}
	if (err)
		;
	else if (!tid || !fn || !tok || !tok->open)
		err = WSAEFAULT; /* "does not specify a valid thread" (a poisoned one included) */
	else if (grow((void **)&S.apcs, &S.cap_apcs, S.n_apcs, sizeof *S.apcs) != 0)
		err = WSA_NOT_ENOUGH_MEMORY;
	else {
		S.apcs[S.n_apcs++] = (struct apc){tok->thread, fn, ctx};
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static BOOL set_or_reset_event(int table, const void *ra, WSAEVENT h, LPINT lpErrno, int set)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, set ? WSPH_FN_WPUSETEVENT : WSPH_FN_WPURESETEVENT, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)h;
	int idx = event_index(h);
	ev.a[1] = idx >= 0 && S.events[idx].client;
	BOOL ok = FALSE;
	int err = fault;
	if (err)
		;
	else if (idx < 0)
		err = WSA_INVALID_HANDLE;
	else {
		if (set)
			wsph_plat_event_set(h);
		else
			wsph_plat_event_reset(h);
		ok = TRUE;
	}
	finish(&ev, ok, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return ok;
}

static int open_current_thread(int table, const void *ra, LPWSATHREADID tid, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUOPENCURRENTTHREAD, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)tid;
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (S.startups <= 0)
		err = WSANOTINITIALISED;
	else if (!tid)
		err = WSAEFAULT;
	else {
		struct thread_token *t = new_token(0);
		if (!t)
			err = WSA_NOT_ENOUGH_MEMORY;
		else {
			tid->ThreadHandle = (HANDLE)t->token;
			tid->Reserved = 0;
			ev.a[1] = t->token;
			rc = 0;
		}
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int close_thread(int table, const void *ra, LPWSATHREADID tid, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCLOSETHREAD, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)tid;
	int rc = SOCKET_ERROR, err = fault;
	struct thread_token *tok = tid ? find_token((uintptr_t)tid->ThreadHandle) : NULL;
	if (tid)
		ev.a[1] = (uint64_t)(uintptr_t)tid->ThreadHandle;
	ev.a[2] = tok && tok->harness; /* a WSATHREADID that came from the client */
	if (err)
		;
	else if (S.startups <= 0)
		err = WSANOTINITIALISED;
	else if (!tok || !tok->open || tok->harness)
		err = WSAEINVAL; /* the client's thread id is the client's to keep */
	else {
		close_token(tok);
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int complete_overlapped(int table, const void *ra, SOCKET s, LPWSAOVERLAPPED ov,
			       DWORD dwError, DWORD cb, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, table, ra);
	ev.a[0] = (uint64_t)s;
	ev.a[1] = (uint64_t)(uintptr_t)ov;
	ev.a[2] = dwError;
	ev.a[3] = cb;
	struct handle *h = find_handle(s);
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (!h || h->how != H_CREATED)
		err = WSAEINVAL; /* "not a socket created by WPUCreateSocketHandle" */
	else if (!ov)
		err = WSAEFAULT;
	else {
		ov->InternalHigh = cb;
		ov->Internal = dwError; /* anything but WSS_OPERATION_IN_PROGRESS means done */
		int idx = ov->hEvent ? event_index(ov->hEvent) : -1;
		if (idx >= 0)
			wsph_plat_event_set(S.events[idx].ev);
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

int wsph_wpu_complete_overlapped_from(const void *ra, SOCKET s, LPWSAOVERLAPPED lpOverlapped,
				      DWORD dwError, DWORD cbTransferred, LPINT lpErrno)
{
	return complete_overlapped(WSPH_TABLE_EXPORT, ra, s, lpOverlapped, dwError, cbTransferred,
				   lpErrno);
}

int WSPAPI wsph_wpu_complete_overlapped(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwError,
					DWORD cbTransferred, LPINT lpErrno)
{
	return complete_overlapped(WSPH_TABLE_EXPORT, RETURN_ADDRESS(), s, lpOverlapped, dwError,
				   cbTransferred, lpErrno);
}

/* One set of fifteen entry points per table, so the trace knows which table a call came through. */
#define DEFINE_TABLE(T, ID)                                                                        \
	static BOOL WSPAPI T##_close_event(WSAEVENT h, LPINT e)                                    \
	{                                                                                          \
		return close_event(ID, RETURN_ADDRESS(), h, e);                                    \
	}                                                                                          \
	static int WSPAPI T##_close_socket_handle(SOCKET s, LPINT e)                               \
	{                                                                                          \
		return close_socket_handle(ID, RETURN_ADDRESS(), s, e);                            \
	}                                                                                          \
	static WSAEVENT WSPAPI T##_create_event(LPINT e)                                           \
	{                                                                                          \
		return create_event(ID, RETURN_ADDRESS(), e);                                      \
	}                                                                                          \
	static SOCKET WSPAPI T##_create_socket_handle(DWORD id, DWORD_PTR c, LPINT e)              \
	{                                                                                          \
		return create_socket_handle(ID, RETURN_ADDRESS(), id, c, e);                       \
	}                                                                                          \
	static int WSPAPI T##_fd_is_set(SOCKET s, fd_set *f)                                       \
	{                                                                                          \
		return fd_is_set(ID, RETURN_ADDRESS(), s, f);                                      \
	}                                                                                          \
	static int WSPAPI T##_get_provider_path(LPGUID g, WCHAR *p, LPINT l, LPINT e)              \
	{                                                                                          \
		return get_provider_path(ID, RETURN_ADDRESS(), g, p, l, e);                        \
	}                                                                                          \
	static SOCKET WSPAPI T##_modify_ifs_handle(DWORD id, SOCKET s, LPINT e)                    \
	{                                                                                          \
		return modify_ifs_handle(ID, RETURN_ADDRESS(), id, s, e);                          \
	}                                                                                          \
	static BOOL WSPAPI T##_post_message(HWND h, UINT m, WPARAM w, LPARAM l)                    \
	{                                                                                          \
		return post_message(ID, RETURN_ADDRESS(), h, m, w, l);                             \
	}                                                                                          \
	static int WSPAPI T##_query_blocking_callback(DWORD id, LPBLOCKINGCALLBACK *cb,            \
						      PDWORD_PTR c, LPINT e)                       \
	{                                                                                          \
		return query_blocking_callback(ID, RETURN_ADDRESS(), id, cb, c, e);                \
	}                                                                                          \
	static int WSPAPI T##_query_socket_handle_context(SOCKET s, PDWORD_PTR c, LPINT e)         \
	{                                                                                          \
		return query_socket_handle_context(ID, RETURN_ADDRESS(), s, c, e);                 \
	}                                                                                          \
	static int WSPAPI T##_queue_apc(LPWSATHREADID t, LPWSAUSERAPC f, DWORD_PTR c, LPINT e)     \
	{                                                                                          \
		return queue_apc(ID, RETURN_ADDRESS(), t, f, c, e);                                \
	}                                                                                          \
	static BOOL WSPAPI T##_reset_event(WSAEVENT h, LPINT e)                                    \
	{                                                                                          \
		return set_or_reset_event(ID, RETURN_ADDRESS(), h, e, 0);                          \
	}                                                                                          \
	static BOOL WSPAPI T##_set_event(WSAEVENT h, LPINT e)                                      \
	{                                                                                          \
		return set_or_reset_event(ID, RETURN_ADDRESS(), h, e, 1);                          \
	}                                                                                          \
	static int WSPAPI T##_open_current_thread(LPWSATHREADID t, LPINT e)                        \
	{                                                                                          \
		return open_current_thread(ID, RETURN_ADDRESS(), t, e);                            \
	}                                                                                          \
	static int WSPAPI T##_close_thread(LPWSATHREADID t, LPINT e)                               \
	{                                                                                          \
		return close_thread(ID, RETURN_ADDRESS(), t, e);                                   \
	}                                                                                          \
	static const WSPUPCALLTABLE T##_table = {                                                  \
		T##_close_event,	     T##_close_socket_handle,                              \
		T##_create_event,	     T##_create_socket_handle,                             \
		T##_fd_is_set,		     T##_get_provider_path,                                \
		T##_modify_ifs_handle,	     T##_post_message,                                     \
		T##_query_blocking_callback, T##_query_socket_handle_context,                      \
		T##_queue_apc,		     T##_reset_event,                                      \
		T##_set_event,		     T##_open_current_thread,                              \
		T##_close_thread,                                                                  \
	};

DEFINE_TABLE(a, WSPH_TABLE_A)
DEFINE_TABLE(b, WSPH_TABLE_B)
DEFINE_TABLE(poison, WSPH_TABLE_POISON)

void wsph_upcalls_begin(struct wsph_trace *trace, const struct wsph_upcall_config *cfg)
{
	if (!S.lock)
		S.lock = wsph_mutex_new();
	wsph_mutex_lock(S.lock);
	S.trace = trace;
	S.cfg = *cfg;
	keyed_clear(&S.handles);
	keyed_clear(&S.avoid);
	S.next_handle = HANDLE_BASE;
	memset(S.calls, 0, sizeof S.calls);
	S.n_apcs = 0;
	S.n_tokens = 0;
	S.n_msgs = 0;
	memset(&S.hook, 0, sizeof S.hook);
	S.hook_stopped = 0;
	S.calls_done = 0;
	S.startups = 0;
	wsph_atomic_store_int(&S.current_table, WSPH_TABLE_A);
	wsph_atomic_store_int(&S.lower_module, 0);
	wsph_atomic_store_int(&S.layer_module, 0);
	wsph_atomic_store_int(&S.lower_table, -1);
	S.driver_thread = wsph_trace_thread_id();
	S.busy = 0;
	wsph_atomic_add_u64(&frame_gen, 1); /* every thread's frames are the last scenario's */
	frames_claim();
	wsph_atomic_store_int(&S.step, 0);
	memset(S.faulted, 0, sizeof S.faulted);
	for (size_t i = 0; i < cfg->n_faults; i++)
		if (cfg->faults[i].upcall >= 0 && cfg->faults[i].upcall < WSPH_FN_COUNT)
			S.faulted[cfg->faults[i].upcall] = 1;
	wsph_atomic_add_u64(&counter_gen, 1); /* every thread counts afresh */
	wsph_upcalls_forget_modules();	      /* the provider set may have changed */
	wsph_atomic_store_ptr((void **)&S.fast_trace, trace);
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_end(void)
{
	if (!S.lock)
		return;
	wsph_mutex_lock(S.lock);
	for (size_t i = 0; i < S.n_events; i++)
		wsph_plat_event_free(S.events[i].ev);
	S.n_events = 0;
	for (size_t i = 0; i < S.n_tokens; i++)
		if (S.tokens[i].os)
			close_token(&S.tokens[i]);
	void *win = S.real_window;
	S.real_window = NULL;
	free(S.msgs);
	S.msgs = NULL;
	S.n_msgs = S.cap_msgs = 0;
	for (size_t i = 0; i < S.n_buffers; i++)
		free(S.buffers[i]);
	S.n_buffers = 0;
	S.trace = NULL;
	wsph_atomic_store_ptr((void **)&S.fast_trace, NULL);
	wsph_atomic_store_int(&S.lower_module, 0);
	wsph_atomic_store_int(&S.layer_module, 0);
	wsph_upcalls_forget_modules();
	keyed_clear(&S.handles);
	keyed_clear(&S.avoid);
	free(S.apcs);
	free(S.tokens);
	free(S.events);
	S.apcs = NULL;
	S.tokens = NULL;
	S.events = NULL;
	S.cap_apcs = S.cap_tokens = S.cap_events = 0;
	S.n_apcs = S.n_tokens = 0;
	wsph_mutex_unlock(S.lock);
	wsph_msgwin_free(win);
}

WSPUPCALLTABLE *wsph_upcalls_table_buffer(int table)
{
	WSPUPCALLTABLE *buf = NULL;
	wsph_mutex_lock(S.lock);
	if (S.n_buffers < MAX_STARTUPS) {
		buf = malloc(sizeof *buf);
		if (buf) {
			*buf = table == WSPH_TABLE_B ? b_table : a_table;
			S.buffers[S.n_buffers++] = buf;
		}
	}
	wsph_mutex_unlock(S.lock);
	return buf;
}

void wsph_upcalls_poison(WSPUPCALLTABLE *buf)
{
	if (buf)
		*buf = poison_table;
}

void wsph_upcalls_startup_done(int table, int success)
{
	wsph_mutex_lock(S.lock);
	if (success) {
		S.startups++;
		wsph_atomic_store_int(&S.current_table, table);
	}
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_set_lower(const char *lower_module, const char *layer_module)
{
	wsph_mutex_lock(S.lock);
	wsph_atomic_store_int(&S.layer_module, (int)wsph_trace_module_id(layer_module));
	wsph_atomic_store_int(&S.lower_table, -1);
	wsph_atomic_store_int(&S.lower_module, (int)wsph_trace_module_id(lower_module));
	wsph_mutex_unlock(S.lock);
}

int wsph_upcalls_lower_table(int table)
{
	int was = wsph_atomic_load_int(&S.lower_table);
	wsph_atomic_store_int(&S.lower_table, table == WSPH_TABLE_A || table == WSPH_TABLE_B ||
						      table == WSPH_TABLE_POISON
					      ? table
					      : -1);
	return was;
}

struct wsph_trace *wsph_upcalls_trace(void)
{
	return wsph_atomic_load_ptr((void **)&S.fast_trace);
}

void wsph_upcalls_cleanup_done(int success)
{
	wsph_mutex_lock(S.lock);
	if (success && S.startups > 0)
		S.startups--;
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_driver_thread(int step)
{
	frames_claim();
	fr.step = step;
}

/* A driver thread's call joins its frames; a helper thread's is recorded without a frame. */
static void push_frame(struct frames *f, uint64_t call_seq)
{
	if (f->depth == 0) {
		S.hook_stopped = 0; /* a new blocking call: the hook has not said stop yet */
		S.busy++;
	}
	if (f->depth < MAX_FRAMES)
		f->calls[f->depth] = call_seq;
	f->depth++;
}

void wsph_upcalls_enter(uint64_t call_seq, int step)
{
	struct frames *f = my_frames();
	if (!f)
		return;
	wsph_mutex_lock(S.lock);
	push_frame(f, call_seq);
	f->step = step;
	if (wsph_trace_thread_id() == S.driver_thread)
		wsph_atomic_store_int(&S.step, step);
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_leave(void)
{
	struct frames *f = my_frames();
	if (!f || f->depth <= 0)
		return;
	wsph_mutex_lock(S.lock);
	if (--f->depth == 0) {
		S.busy--;
		S.calls_done++;
	}
	wsph_mutex_unlock(S.lock);
}

int wsph_upcalls_driver_busy(int *step, unsigned *calls_done)
{
	/* the lock is made by the first case's wsph_upcalls_begin, on the driver thread */
	if (!wsph_atomic_load_ptr((void **)&S.lock))
		return 0;
	wsph_mutex_lock(S.lock);
	int busy = S.busy > 0;
	if (step)
		*step = S.step;
	if (calls_done)
		*calls_done = S.calls_done;
	wsph_mutex_unlock(S.lock);
	return busy;
}

void wsph_upcalls_lock(void)
{
	wsph_mutex_lock(S.lock);
}

void wsph_upcalls_unlock(void)
{
	wsph_mutex_unlock(S.lock);
}

int wsph_upcalls_event(struct wsph_event *ev, enum wsph_fn fn, const void *return_address)
{
	return begin(ev, fn, WSPH_TABLE_EXPORT, return_address);
}

void wsph_upcalls_append(struct wsph_event *ev)
{
	if (S.trace)
		ev->seq = wsph_trace_append(S.trace, ev);
}

uint64_t wsph_upcalls_push_call(struct wsph_event *call)
{
	uint64_t seq = 0;
	struct frames *f = my_frames();
	wsph_mutex_lock(S.lock);
	call->step = step_of();
	call->parent = parent_of();
	if (S.trace)
		seq = call->seq = wsph_trace_append(S.trace, call);
	if (f)
		push_frame(f, seq);
	wsph_mutex_unlock(S.lock);
	return seq;
}

int wsph_upcalls_table_of(const WSPUPCALLTABLE *t)
{
	if (!memcmp(t, &a_table, sizeof *t))
		return WSPH_TABLE_A;
	if (!memcmp(t, &b_table, sizeof *t))
		return WSPH_TABLE_B;
	if (!memcmp(t, &poison_table, sizeof *t))
		return WSPH_TABLE_POISON;
	return -1;
}

const WSPUPCALLTABLE *wsph_upcalls_current_table(void)
{
	return wsph_atomic_load_int(&S.current_table) == WSPH_TABLE_B ? &b_table : &a_table;
}

unsigned wsph_upcalls_count(enum wsph_fn fn)
{
	wsph_mutex_lock(S.lock);
	unsigned n = S.calls[fn];
	uint64_t gen = wsph_atomic_load_u64(&counter_gen);
	for (size_t i = 0; i < MAX_COUNTERS && counter_slots[i]; i++)
		if (wsph_atomic_load_u64(&counter_slots[i]->gen) == gen)
			n += (unsigned)wsph_atomic_load_int(&counter_slots[i]->calls[fn]);
	wsph_mutex_unlock(S.lock);
	return n;
}

int wsph_upcalls_thread_token_valid(HANDLE h)
{
	wsph_mutex_lock(S.lock);
	struct thread_token *t = find_token((uintptr_t)h);
	int ok = t && t->open;
	wsph_mutex_unlock(S.lock);
	return ok;
}

WSAEVENT wsph_upcalls_client_event(void)
{
	void *e = wsph_plat_event_new();
	wsph_mutex_lock(S.lock);
	if (e && add_event(e, 1) != 0) {
		wsph_plat_event_free(e);
		e = NULL;
	}
	wsph_mutex_unlock(S.lock);
	return (WSAEVENT)e;
}

void wsph_upcalls_client_event_free(WSAEVENT e)
{
	wsph_mutex_lock(S.lock);
	int i = event_index(e);
	if (i >= 0)
		drop_event(i);
	wsph_mutex_unlock(S.lock);
}

HWND wsph_upcalls_window(void)
{
	void *w = S.real_window;
	return w ? (HWND)w : (HWND)(void *)&fake_window;
}

void wsph_upcalls_open_window(void)
{
	void *w = S.real_window ? NULL : wsph_msgwin_new();
	if (w) {
		wsph_mutex_lock(S.lock);
		S.real_window = w;
		wsph_mutex_unlock(S.lock);
	}
}

int wsph_upcalls_take_message(uint64_t wparam, int all, struct wsph_message *out)
{
	int found = 0;
	wsph_mutex_lock(S.lock);
	for (size_t i = 0; i < S.n_msgs && !found; i++)
		if (!S.msgs[i].taken && (all || S.msgs[i].m.wparam == wparam)) {
			S.msgs[i].taken = 1;
			*out = S.msgs[i].m;
			found = 1;
		}
	wsph_mutex_unlock(S.lock);
	return found;
}

int wsph_upcalls_pump_window(struct wsph_message *bypass)
{
	unsigned msg;
	uintptr_t wp;
	intptr_t lp;
	int strays = 0;
	if (!S.real_window)
		return 0;
	while (wsph_msgwin_take(S.real_window, &msg, &wp, &lp)) {
		int matched = 0;
		wsph_mutex_lock(S.lock);
		for (size_t i = 0; i < S.n_msgs && !matched; i++) {
			struct message *m = &S.msgs[i];
			if (m->real_posted && m->m.msg == msg && m->m.wparam == (uint64_t)wp &&
			    m->m.lparam == (int64_t)lp) {
				m->real_posted = 0;
				matched = 1;
			}
		}
		wsph_mutex_unlock(S.lock);
		if (!matched && strays++ == 0 && bypass)
			*bypass = (struct wsph_message){msg, (uint64_t)wp, (int64_t)lp, 0};
	}
	return strays;
}

void wsph_upcalls_blocking_stats(struct wsph_blocking_stats *out)
{
	wsph_mutex_lock(S.lock);
	*out = S.hook;
	wsph_mutex_unlock(S.lock);
}

const struct wsph_catalog *wsph_upcalls_catalog(void)
{
	return S.cfg.catalog;
}

void wsph_upcalls_set_step(int step)
{
	struct frames *f = my_frames();
	if (f)
		f->step = step;
	if (!f || wsph_trace_thread_id() == S.driver_thread)
		wsph_atomic_store_int(&S.step, step);
}

SOCKET wsph_upcalls_bogus_handle(void)
{
	return BOGUS_HANDLE;
}

void wsph_upcalls_thread_id(WSATHREADID *out)
{
	wsph_mutex_lock(S.lock);
	uintptr_t token = 0;
	unsigned long me = wsph_trace_thread_id();
	for (size_t i = 0; i < S.n_tokens && !token; i++)
		if (S.tokens[i].thread == me && S.tokens[i].open && S.tokens[i].harness)
			token = S.tokens[i].token;
	if (!token) {
		struct thread_token *t = new_token(1);
		token = t ? t->token : 0;
	}
	out->ThreadHandle = (HANDLE)token;
	out->Reserved = 0;
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_poison_thread_id(WSATHREADID *tid)
{
	tid->ThreadHandle = (HANDLE)WSPH_POISON_THREAD;
	tid->Reserved = (DWORD_PTR)WSPH_POISON_THREAD;
}

static int drain_portable(void)
{
	int ran = 0;
	unsigned long me = wsph_trace_thread_id();
	for (;;) {
		struct apc a = {0, NULL, 0};
		wsph_mutex_lock(S.lock);
		for (size_t i = 0; i < S.n_apcs; i++)
			if (S.apcs[i].thread == me) {
				a = S.apcs[i];
				memmove(&S.apcs[i], &S.apcs[i + 1], (S.n_apcs - i - 1) * sizeof *S.apcs);
				S.n_apcs--;
				break;
			}
		wsph_mutex_unlock(S.lock);
		if (!a.fn)
			break;
		a.fn(a.context);
		ran++;
	}
	return ran;
}

int wsph_upcalls_alertable(void)
{
	int ran = drain_portable();
	wsph_alertable_sleep(0); /* Windows: the APCs QueueUserAPC queued to this thread */
	return ran + drain_portable();
}

int wsph_upcalls_alertable_wait(unsigned ms)
{
	int ran = wsph_upcalls_alertable();
	for (unsigned waited = 0; !ran && waited < ms; waited += 5) {
		wsph_alertable_sleep(5);
		ran = wsph_upcalls_alertable();
	}
	return ran;
}

int wsph_upcalls_os_event(HANDLE h, int set)
{
	wsph_mutex_lock(S.lock);
	int idx = event_index(h);
	if (idx >= 0) {
		if (set)
			wsph_plat_event_set(S.events[idx].ev);
		else
			wsph_plat_event_reset(S.events[idx].ev);
	}
	wsph_mutex_unlock(S.lock);
	return idx >= 0;
}

int wsph_upcalls_os_queue_apc(LPWSAUSERAPC fn, HANDLE thread, DWORD_PTR ctx)
{
	int ok = 0;
	wsph_mutex_lock(S.lock);
	struct thread_token *tok = find_token((uintptr_t)thread);
	if (fn && tok && tok->open &&
	    grow((void **)&S.apcs, &S.cap_apcs, S.n_apcs, sizeof *S.apcs) == 0) {
		S.apcs[S.n_apcs++] = (struct apc){tok->thread, fn, ctx};
		ok = 1;
	}
	wsph_mutex_unlock(S.lock);
	return ok;
}
