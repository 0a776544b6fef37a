/* iocplsp: WSPStartup, WSPCleanup, the socket objects and the entry points of the layer. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "iocplsp.h"

/*
 * A non-IFS layer over whatever the catalog puts below it (see iocplsp.h for the files):
 *  - handles: each socket object gets the client's handle from WPUCreateSocketHandle (its own
 *    catalog id, context = the object), is found again with WPUQuerySocketHandleContext and gives
 *    it back with WPUCloseSocketHandle; the client never sees a lower handle;
 *  - calls on a socket go to the next provider with its handle (fd_sets of WSPSelect translated
 *    both ways), overlapped ones as requests of io.c, WSPAsyncSelect through relay.c;
 *  - the next provider is started again by every WSPStartup of this layer (so it too uses the
 *    most recent upcall table, which it gets unchanged), and all those startups are balanced by
 *    this layer's final WSPCleanup, after every lower socket is closed; FreeLibrary follows, once
 *    the workers, the window and its thread are gone.
 */

#ifndef SO_PROTOCOL_INFOW
#define SO_PROTOCOL_INFOW 0x2005
#endif

#define DESCRIPTION "wspharness iocplsp (non-IFS layered provider, completion port)"

struct state g;

static SRWLOCK g_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE g_cv = CONDITION_VARIABLE_INIT;
static SRWLOCK g_gate = SRWLOCK_INIT; /* WSPStartup and WSPCleanup, one at a time */

/* The received tables; the most recent one is the current one (read without the lock). */
static WSPUPCALLTABLE g_up_slot[IOCPLSP_UP_SLOTS];
static unsigned g_up_next;
static _Atomic(const WSPUPCALLTABLE *) g_up;

void lock(void)
{
	AcquireSRWLockExclusive(&g_lock);
}

void unlock(void)
{
	ReleaseSRWLockExclusive(&g_lock);
}

void wait_ms(unsigned ms)
{
	SleepConditionVariableSRW(&g_cv, &g_lock, (DWORD)ms, 0);
}

void wake_all(void)
{
	WakeAllConditionVariable(&g_cv);
}

const WSPUPCALLTABLE *up(void)
{
	return atomic_load_explicit(&g_up, memory_order_acquire);
}

static int fail(LPINT lpErrno, int err)
{
	*lpErrno = err ? err : WSAEINVAL;
	return SOCKET_ERROR;
}

static SOCKET fail_socket(LPINT lpErrno, int err)
{
	fail(lpErrno, err);
	return INVALID_SOCKET;
}

static BOOL fail_bool(LPINT lpErrno, int err)
{
	fail(lpErrno, err);
	return FALSE;
}

/* Every entry point returns through one of these: what the provider below produced during the
 * call (completions, notifications) has reached the client before the call returns. */
static void settle(void)
{
	relay_settle();
	io_settle();
}

static int done(int rc)
{
	settle();
	return rc;
}

static SOCKET done_socket(SOCKET s)
{
	settle();
	return s;
}

static BOOL done_bool(BOOL b)
{
	settle();
	return b;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket objects                                                                               */

unsigned lower_index(const struct lower *lp)
{
	return (unsigned)(lp - g.lowers);
}

void sock_unref_locked(struct sock *k)
{
	if (--k->refs == 0)
		free(k);
}

static void release(struct sock *k)
{
	lock();
	sock_unref_locked(k);
	unlock();
}

static void sock_unlink_locked(struct sock *k)
{
	for (struct sock **pp = &g.socks; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			k->next = NULL;
			return;
		}
}

struct sock *find_by_lower_locked(unsigned li, SOCKET lower)
{
	for (struct sock *k = g.socks; k; k = k->next)
		if (lower_index(k->lp) == li && k->lower == lower)
			return k;
	return NULL;
}

static int started_locked(void)
{
	return g.startups > 0 && !g.final;
}

/* The object behind a client handle, held (release() it), or NULL with *err set. */
static struct sock *acquire(SOCKET s, int *err)
{
	lock();
	int ok = started_locked();
	unlock();
	if (!ok) {
		*err = WSANOTINITIALISED;
		return NULL;
	}
	DWORD_PTR ctx = 0;
	int e = 0;
	if (up()->lpWPUQuerySocketHandleContext(s, &ctx, &e) != 0) {
		*err = WSAENOTSOCK;
		return NULL;
	}
	lock();
	struct sock *k = g.socks;
	while (k && (DWORD_PTR)k != ctx)
		k = k->next;
	if (k && (k->upper != s || k->closed))
		k = NULL;
	if (k)
		k->refs++;
	else
		*err = started_locked() ? WSAENOTSOCK : WSANOTINITIALISED;
	unlock();
	return k;
}

/*
 * Wraps a lower handle the next provider just returned: the client's handle, the completion port.
 * The object is in the list when this returns 0; otherwise the lower handle is closed again.
 */
static int wrap(struct lower *lp, const struct binding *b, SOCKET lower, struct sock **out)
{
	struct sock *k = calloc(1, sizeof *k);
	int e = k ? 0 : WSAENOBUFS;
	if (k) {
		k->lower = lower;
		k->lp = lp;
		k->b = b;
		k->refs = 1; /* the list's */
		e = io_attach(k);
	}
	if (!e) {
		k->upper = up()->lpWPUCreateSocketHandle(b->own.dwCatalogEntryId, (DWORD_PTR)k, &e);
		if (k->upper == INVALID_SOCKET)
			e = e ? e : WSAENOBUFS;
	}
	if (e) {
		int e2 = 0;
		lp->procs.lpWSPCloseSocket(lower, &e2);
		free(k);
		return e;
	}
	*out = k;
	return 0;
}

static void link_locked(struct sock *k)
{
	k->next = g.socks;
	g.socks = k;
}

/* The binding for a client-supplied protocol info (NULL: the one that fits af/type/protocol, or
 * the startup entry). */
static const struct binding *binding_for(const WSAPROTOCOL_INFOW *pi, int type, int protocol)
{
	const struct binding *b = NULL;
	lock();
	for (size_t i = 0; i < g.n_binds && !b; i++) {
		const WSAPROTOCOL_INFOW *own = &g.binds[i].own;
		if (pi ? own->dwCatalogEntryId == pi->dwCatalogEntryId
		       : own->iSocketType == type && (!protocol || own->iProtocol == protocol))
			b = &g.binds[i];
	}
	if (!b && !pi)
		b = g.deflt;
	if (!started_locked())
		b = NULL;
	unlock();
	return b;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPCleanup                                                                                   */

/* The final cleanup's share of each socket: its lower handle closed, the client's handle given
 * back (pending requests were cancelled without a word before). */
static void close_for_cleanup(struct sock *k)
{
	int e = 0;
	lock();
	k->lower_closing = 1;
	while (k->lower_users || k->delivering)
		wait_ms(50);
	k->closed = 1;
	unlock();
	k->lp->procs.lpWSPCloseSocket(k->lower, &e);
	up()->lpWPUCloseSocketHandle(k->upper, &e);
	release(k);
}

static void final_cleanup(void)
{
	lock();
	g.final = 1; /* from now on nothing reaches the client */
	for (struct req *r = g.reqs; r; r = r->next)
		if (!r->client_done) /* cancelled: no word for the client */
			r->client_done = r->told = 1;
	struct sock *socks = g.socks;
	g.socks = NULL;
	unlock();
	while (socks) {
		struct sock *k = socks;
		socks = k->next;
		close_for_cleanup(k);
	}
	io_drain_all();
	io_stop();
	relay_stop();
	lowers_cleanup();
	lowers_unload();
	lock();
	g.final = 0;
	unlock();
}

static int WSPAPI lsp_Cleanup(LPINT lpErrno)
{
	AcquireSRWLockExclusive(&g_gate);
	lock();
	int left = g.startups > 0 ? --g.startups : -1;
	unlock();
	if (left == 0)
		final_cleanup();
	ReleaseSRWLockExclusive(&g_gate);
	return left < 0 ? fail(lpErrno, WSANOTINITIALISED) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Sockets                                                                                      */

static SOCKET WSPAPI lsp_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                GROUP grp, DWORD dwFlags, LPINT lpErrno)
{
	const struct binding *b = binding_for(lpProtocolInfo, type, protocol);
	if (!b) {
		lock();
		int ok = started_locked();
		unlock();
		return fail_socket(lpErrno, ok ? WSAEPROTOTYPE : WSANOTINITIALISED);
	}
	SOCKET lower = b->lp->procs.lpWSPSocket(af, type, protocol, (LPWSAPROTOCOL_INFOW)&b->down,
	                                        grp, dwFlags, lpErrno);
	if (lower == INVALID_SOCKET)
		return done_socket(INVALID_SOCKET);
	struct sock *k;
	int e = wrap(b->lp, b, lower, &k);
	if (e)
		return done_socket(fail_socket(lpErrno, e));
	lock();
	link_locked(k);
	SOCKET upper = k->upper;
	unlock();
	return done_socket(upper);
}

static SOCKET WSPAPI lsp_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                                LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                                LPINT lpErrno)
{
	int err;
	struct sock *l = acquire(s, &err);
	if (!l)
		return fail_socket(lpErrno, err);
	lock();
	g.accepting++;
	unlock();
	/* The condition function and its data go down as they are: they see the caller's view. */
	SOCKET lower = l->lp->procs.lpWSPAccept(l->lower, addr, addrlen, lpfnCondition,
	                                        dwCallbackData, lpErrno);
	struct sock *k = NULL;
	err = lower == INVALID_SOCKET ? 0 : wrap(l->lp, l->b, lower, &k);
	lock();
	if (k) {
		/* The accepted socket has the listener's WSPAsyncSelect registration, below too. */
		k->as_hwnd = l->as_hwnd;
		k->as_msg = l->as_msg;
		k->as_events = l->as_events;
		link_locked(k);
		relay_deliver_early_locked(k, lower_index(k->lp));
	}
	if (--g.accepting == 0)
		while (g.early) {
			struct early_post *p = g.early;
			g.early = p->next;
			free(p);
		}
	SOCKET upper = k ? k->upper : INVALID_SOCKET;
	unlock();
	release(l);
	if (err)
		fail(lpErrno, err);
	return done_socket(upper);
}

static SOCKET WSPAPI lsp_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen,
                                  LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                  LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
	int err;
	struct sock *l = acquire(s, &err);
	if (!l)
		return fail_socket(lpErrno, err);
	SOCKET lower = l->lp->procs.lpWSPJoinLeaf(l->lower, name, namelen, lpCallerData,
	                                          lpCalleeData, lpSQOS, lpGQOS, dwFlags, lpErrno);
	SOCKET r = lower == INVALID_SOCKET ? INVALID_SOCKET : s;
	if (lower != INVALID_SOCKET && lower != l->lower) {
		/* A new socket (a c_root joining a leaf): wrapped like an accepted one. */
		struct sock *k;
		err = wrap(l->lp, l->b, lower, &k);
		if (err) {
			r = fail_socket(lpErrno, err);
		} else {
			lock();
			link_locked(k);
			r = k->upper;
			unlock();
		}
	}
	release(l);
	return done_socket(r);
}

/* Waits until no worker uses the lower handle, then marks it closing (0), or undoes that (1). */
static void lower_closing(struct sock *k, int undo)
{
	lock();
	if (undo) {
		k->lower_closing = 0;
	} else {
		k->lower_closing = 1;
		while (k->lower_users)
			wait_ms(50);
	}
	unlock();
}

/* Requests still pending complete to the client before WSPCloseSocket returns, and so before the
 * client's handle is given back: with the lower provider's result if it has one, otherwise with
 * WSA_OPERATION_ABORTED. */
static int WSPAPI lsp_CloseSocket(SOCKET s, LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	lock();
	HWND hwnd = k->as_hwnd;
	k->as_hwnd = NULL; /* nothing is posted for it from now on */
	unlock();
	struct close_set *cs = io_close_begin(k);
	lower_closing(k, 0);
	int rc = k->lp->procs.lpWSPCloseSocket(k->lower, lpErrno);
	if (rc != 0) {
		/* e.g. WSAEWOULDBLOCK with a linger: the socket stays as it was */
		lower_closing(k, 1);
		lock();
		k->as_hwnd = hwnd;
		unlock();
		io_close_finish(cs, 0);
		release(k);
		return done(rc);
	}
	lock();
	k->closed = 1;
	sock_unlink_locked(k);
	k->refs--; /* the list's (ours keeps it) */
	unlock();
	io_close_finish(cs, 1);
	lock();
	while (k->delivering) /* a worker still telling a completion */
		wait_ms(50);
	unlock();
	int e = 0;
	up()->lpWPUCloseSocketHandle(k->upper, &e);
	release(k);
	return done(0);
}

/* ------------------------------------------------------------------------------------------ */
/* Calls that only need the lower handle                                                        */

/* Declares `k` (held) and `t` (its lower table), or returns the failure. */
#define ENTER(s, fail_fn)                                                                          \
	int err_;                                                                                  \
	struct sock *k = acquire((s), &err_);                                                      \
	if (!k)                                                                                    \
		return fail_fn(lpErrno, err_);                                                     \
	const WSPPROC_TABLE *t = &k->lp->procs

static int WSPAPI lsp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPBind(k->lower, name, namelen, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPListen(k->lower, backlog, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_Connect(SOCKET s, const struct sockaddr *name, int namelen,
                              LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                              LPQOS lpGQOS, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPConnect(k->lower, name, namelen, lpCallerData, lpCalleeData, lpSQOS,
	                         lpGQOS, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPShutdown(k->lower, how, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_GetSockName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPGetSockName(k->lower, name, namelen, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_GetPeerName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPGetPeerName(k->lower, name, namelen, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_GetSockOpt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                                 LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPGetSockOpt(k->lower, level, optname, optval, optlen, lpErrno);
	if (rc == 0 && level == SOL_SOCKET && optname == SO_PROTOCOL_INFOW && optval && optlen &&
	    *optlen >= (int)sizeof(WSAPROTOCOL_INFOW))
		/* The client's socket belongs to this layer's entry, not to the one below. */
		memcpy(optval, &k->b->own, sizeof(WSAPROTOCOL_INFOW));
	release(k);
	return done(rc);
}

static int WSPAPI lsp_SetSockOpt(SOCKET s, int level, int optname, const char *optval, int optlen,
                                 LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPSetSockOpt(k->lower, level, optname, optval, optlen, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_RecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPRecvDisconnect(k->lower, lpInboundDisconnectData, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_SendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPSendDisconnect(k->lower, lpOutboundDisconnectData, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_EnumNetworkEvents(SOCKET s, WSAEVENT hEventObject,
                                        LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPEnumNetworkEvents(k->lower, hEventObject, lpNetworkEvents, lpErrno);
	release(k);
	return done(rc);
}

static BOOL WSPAPI lsp_GetQOSByName(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno)
{
	ENTER(s, fail_bool);
	BOOL rc = t->lpWSPGetQOSByName(k->lower, lpQOSName, lpQOS, lpErrno);
	release(k);
	return done_bool(rc);
}

static int WSPAPI lsp_DuplicateSocket(SOCKET s, DWORD dwProcessId,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	ENTER(s, fail);
	int rc = t->lpWSPDuplicateSocket(k->lower, dwProcessId, lpProtocolInfo, lpErrno);
	if (rc == 0 && lpProtocolInfo) {
		/* The duplicate is to be made again through this layer's entry. */
		lpProtocolInfo->ProviderId = k->b->own.ProviderId;
		lpProtocolInfo->dwCatalogEntryId = k->b->own.dwCatalogEntryId;
		lpProtocolInfo->ProtocolChain = k->b->own.ProtocolChain;
		lpProtocolInfo->dwServiceFlags1 = k->b->own.dwServiceFlags1;
	}
	release(k);
	return done(rc);
}

/* ------------------------------------------------------------------------------------------ */
/* Event and window selection                                                                   */

struct as_reg {
	HWND hwnd;
	UINT msg;
	LONG events;
};

static struct as_reg as_swap(struct sock *k, struct as_reg r)
{
	lock();
	struct as_reg old = {k->as_hwnd, k->as_msg, k->as_events};
	k->as_hwnd = r.hwnd;
	k->as_msg = r.msg;
	k->as_events = r.events;
	unlock();
	return old;
}

static int WSPAPI lsp_EventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                  LPINT lpErrno)
{
	ENTER(s, fail);
	/* WSPEventSelect cancels any WSPAsyncSelect. */
	struct as_reg none = {NULL, 0, 0};
	struct as_reg old = as_swap(k, none);
	int rc = t->lpWSPEventSelect(k->lower, hEventObject, lNetworkEvents, lpErrno);
	if (rc != 0)
		as_swap(k, old);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_AsyncSelect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent,
                                  LPINT lpErrno)
{
	ENTER(s, fail);
	int e = lEvent && !hWnd ? WSAEINVAL : lEvent ? relay_ensure() : 0;
	if (e) {
		release(k);
		return done(fail(lpErrno, e));
	}
	UINT mine;
	HWND own = relay_window(&mine, k->lp);
	/* Registered before the lower call, which may post (FD_WRITE) before it returns. */
	struct as_reg reg = {lEvent ? hWnd : NULL, wMsg, lEvent};
	struct as_reg old = as_swap(k, reg);
	int rc = t->lpWSPAsyncSelect(k->lower, own, mine, lEvent, lpErrno);
	if (rc != 0)
		as_swap(k, old);
	release(k);
	return done(rc);
}

/* ------------------------------------------------------------------------------------------ */
/* WSPSelect: client handles -> lower handles -> lower WSPSelect -> WPUFDIsSet -> client handles */

struct sel {
	fd_set *low[3];
	struct sock **ks[3];
	u_int counts[3];
	struct lower *lp;
};

static void sel_free(struct sel *x)
{
	for (int i = 0; i < 3; i++) {
		for (u_int j = 0; x->ks[i] && j < x->counts[i]; j++)
			if (x->ks[i][j])
				release(x->ks[i][j]);
		free(x->ks[i]);
		free(x->low[i]);
	}
}

/* The lower sets for the client's (each lower socket once): 0 or the error. */
static int sel_translate(struct sel *x, fd_set *sets[3])
{
	int err = 0;
	for (int i = 0; i < 3 && !err; i++) {
		if (!sets[i])
			continue;
		x->counts[i] = sets[i]->fd_count > FD_SETSIZE ? FD_SETSIZE : sets[i]->fd_count;
		x->low[i] = calloc(1, sizeof(fd_set));
		x->ks[i] = calloc(x->counts[i] ? x->counts[i] : 1, sizeof *x->ks[i]);
		if (!x->low[i] || !x->ks[i])
			return WSAENOBUFS;
		for (u_int j = 0; j < x->counts[i] && !err; j++) {
			struct sock *k = acquire(sets[i]->fd_array[j], &err);
			if (!k)
				break;
			x->ks[i][j] = k;
			if (x->lp && k->lp != x->lp)
				err = WSAEINVAL; /* one select cannot span two lower providers */
			x->lp = k->lp;
			u_int m = 0;
			while (m < x->low[i]->fd_count && x->low[i]->fd_array[m] != k->lower)
				m++;
			if (m == x->low[i]->fd_count)
				x->low[i]->fd_array[x->low[i]->fd_count++] = k->lower;
		}
	}
	return err;
}

/* The client's sets rewritten in place (each client socket once): the ready count. */
static int sel_back(struct sel *x, fd_set *sets[3])
{
	int n = 0;
	for (int i = 0; i < 3; i++) {
		if (!sets[i])
			continue;
		u_int out = 0;
		for (u_int j = 0; j < x->counts[i]; j++) {
			SOCKET c = sets[i]->fd_array[j];
			u_int m = 0;
			while (m < out && sets[i]->fd_array[m] != c)
				m++;
			if (m == out && up()->lpWPUFDIsSet(x->ks[i][j]->lower, x->low[i]))
				sets[i]->fd_array[out++] = c;
		}
		sets[i]->fd_count = out;
		n += (int)out;
	}
	return n;
}

static int WSPAPI lsp_Select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                             const PTIMEVAL timeout, LPINT lpErrno)
{
	fd_set *sets[3] = {readfds, writefds, exceptfds};
	struct sel x;
	memset(&x, 0, sizeof x);
	lock();
	int ok = started_locked();
	struct lower *deflt = g.deflt ? g.deflt->lp : NULL;
	unlock();
	if (!ok)
		return fail(lpErrno, WSANOTINITIALISED);
	int err = sel_translate(&x, sets);
	if (!err && !x.lp)
		x.lp = deflt;
	if (!err && !x.lp)
		err = WSAEINVAL;
	int rc = SOCKET_ERROR;
	if (!err) {
		rc = x.lp->procs.lpWSPSelect(nfds, x.low[0], x.low[1], x.low[2], timeout, lpErrno);
		if (rc != SOCKET_ERROR)
			rc = sel_back(&x, sets);
	}
	sel_free(&x);
	if (err)
		rc = fail(lpErrno, err);
	return done(rc);
}

/* ------------------------------------------------------------------------------------------ */
/* Data transfer                                                                                */

static int do_io(SOCKET s, const struct io *a, LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	int rc;
	if (a->ov)
		rc = io_start(k, a, lpErrno);
	else
		rc = io_lower_call(k, a, a->count, a->flags, NULL, a->tid, lpErrno);
	release(k);
	return done(rc);
}

static int WSPAPI lsp_Send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                           LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a = {.kind = IO_SEND,
	               .bufs = lpBuffers,
	               .nbufs = dwBufferCount,
	               .count = lpNumberOfBytesSent,
	               .send_flags = dwFlags,
	               .ov = lpOverlapped,
	               .routine = lpCompletionRoutine,
	               .tid = lpThreadId};
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_SendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                             LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                             const struct sockaddr *lpTo, int iTolen, LPWSAOVERLAPPED lpOverlapped,
                             LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                             LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a = {.kind = IO_SENDTO,
	               .bufs = lpBuffers,
	               .nbufs = dwBufferCount,
	               .count = lpNumberOfBytesSent,
	               .send_flags = dwFlags,
	               .to = lpTo,
	               .tolen = iTolen,
	               .ov = lpOverlapped,
	               .routine = lpCompletionRoutine,
	               .tid = lpThreadId};
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_Recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                           LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                           LPWSAOVERLAPPED lpOverlapped,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a = {.kind = IO_RECV,
	               .bufs = lpBuffers,
	               .nbufs = dwBufferCount,
	               .count = lpNumberOfBytesRecvd,
	               .flags = lpFlags,
	               .ov = lpOverlapped,
	               .routine = lpCompletionRoutine,
	               .tid = lpThreadId};
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_RecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                               LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                               struct sockaddr *lpFrom, LPINT lpFromlen,
                               LPWSAOVERLAPPED lpOverlapped,
                               LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                               LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a = {.kind = IO_RECVFROM,
	               .bufs = lpBuffers,
	               .nbufs = dwBufferCount,
	               .count = lpNumberOfBytesRecvd,
	               .flags = lpFlags,
	               .from = lpFrom,
	               .fromlen = lpFromlen,
	               .ov = lpOverlapped,
	               .routine = lpCompletionRoutine,
	               .tid = lpThreadId};
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_Ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                            LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                            LPWSAOVERLAPPED lpOverlapped,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                            LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a = {.kind = IO_IOCTL,
	               .code = dwIoControlCode,
	               .in = lpvInBuffer,
	               .cbin = cbInBuffer,
	               .out = lpvOutBuffer,
	               .cbout = cbOutBuffer,
	               .count = lpcbBytesReturned,
	               .ov = lpOverlapped,
	               .routine = lpCompletionRoutine,
	               .tid = lpThreadId};
	return do_io(s, &a, lpErrno);
}

static BOOL WSPAPI lsp_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                           LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags,
                                           LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail_bool(lpErrno, err);
	BOOL r = !lpOverlapped || !lpcbTransfer || !lpdwFlags
	             ? fail_bool(lpErrno, WSAEFAULT)
	             : io_get_result(k, lpOverlapped, lpcbTransfer, fWait, lpdwFlags, lpErrno);
	release(k);
	return done_bool(r);
}

/* ------------------------------------------------------------------------------------------ */
/* Calls without a socket                                                                       */

/* The binding, or NULL with the error: not started, or no entry of this layer's. */
static const struct binding *binding_or(const WSAPROTOCOL_INFOW *pi, int *err, int unknown)
{
	const struct binding *b = binding_for(pi, -1, 0);
	if (!b) {
		lock();
		*err = started_locked() ? unknown : WSANOTINITIALISED;
		unlock();
	}
	return b;
}

static int WSPAPI lsp_CancelBlockingCall(LPINT lpErrno)
{
	int err;
	const struct binding *b = binding_or(NULL, &err, WSAEINVAL);
	if (!b)
		return fail(lpErrno, err);
	return done(b->lp->procs.lpWSPCancelBlockingCall(lpErrno));
}

static INT WSPAPI lsp_AddressToString(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                                      LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
	int err;
	const struct binding *b = binding_or(lpProtocolInfo, &err, WSAEINVAL);
	if (!b)
		return fail(lpErrno, err);
	return done(b->lp->procs.lpWSPAddressToString(
	    lpsaAddress, dwAddressLength, (LPWSAPROTOCOL_INFOW)&b->down, lpszAddressString,
	    lpdwAddressStringLength, lpErrno));
}

static INT WSPAPI lsp_StringToAddress(LPWSTR AddressString, INT AddressFamily,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                                      LPINT lpAddressLength, LPINT lpErrno)
{
	int err;
	const struct binding *b = binding_or(lpProtocolInfo, &err, WSAEINVAL);
	if (!b)
		return fail(lpErrno, err);
	return done(b->lp->procs.lpWSPStringToAddress(AddressString, AddressFamily,
	                                              (LPWSAPROTOCOL_INFOW)&b->down, lpAddress,
	                                              lpAddressLength, lpErrno));
}

/* ------------------------------------------------------------------------------------------ */
/* WSPStartup and GetLspGuid: the exports                                                       */

static void fill_proc_table(LPWSPPROC_TABLE t)
{
	t->lpWSPAccept = lsp_Accept;
	t->lpWSPAddressToString = lsp_AddressToString;
	t->lpWSPAsyncSelect = lsp_AsyncSelect;
	t->lpWSPBind = lsp_Bind;
	t->lpWSPCancelBlockingCall = lsp_CancelBlockingCall;
	t->lpWSPCleanup = lsp_Cleanup;
	t->lpWSPCloseSocket = lsp_CloseSocket;
	t->lpWSPConnect = lsp_Connect;
	t->lpWSPDuplicateSocket = lsp_DuplicateSocket;
	t->lpWSPEnumNetworkEvents = lsp_EnumNetworkEvents;
	t->lpWSPEventSelect = lsp_EventSelect;
	t->lpWSPGetOverlappedResult = lsp_GetOverlappedResult;
	t->lpWSPGetPeerName = lsp_GetPeerName;
	t->lpWSPGetSockName = lsp_GetSockName;
	t->lpWSPGetSockOpt = lsp_GetSockOpt;
	t->lpWSPGetQOSByName = lsp_GetQOSByName;
	t->lpWSPIoctl = lsp_Ioctl;
	t->lpWSPJoinLeaf = lsp_JoinLeaf;
	t->lpWSPListen = lsp_Listen;
	t->lpWSPRecv = lsp_Recv;
	t->lpWSPRecvDisconnect = lsp_RecvDisconnect;
	t->lpWSPRecvFrom = lsp_RecvFrom;
	t->lpWSPSelect = lsp_Select;
	t->lpWSPSend = lsp_Send;
	t->lpWSPSendDisconnect = lsp_SendDisconnect;
	t->lpWSPSendTo = lsp_SendTo;
	t->lpWSPSetSockOpt = lsp_SetSockOpt;
	t->lpWSPShutdown = lsp_Shutdown;
	t->lpWSPSocket = lsp_Socket;
	t->lpWSPStringToAddress = lsp_StringToAddress;
}

static WORD version_min(WORD a, WORD b)
{
	if (LOBYTE(a) != LOBYTE(b))
		return LOBYTE(a) < LOBYTE(b) ? a : b;
	return HIBYTE(a) <= HIBYTE(b) ? a : b;
}

static int env_is_one(const WCHAR *name)
{
	WCHAR v[4];
	DWORD n = GetEnvironmentVariableW(name, v, 4);
	return n == 1 && v[0] == L'1';
}

/* First startup: the catalog; later ones: the next providers started again (with the new table). */
static int startup_lowers(const WSAPROTOCOL_INFOW *info, int first)
{
	if (first) {
		g.require_port = env_is_one(L"IOCPLSP_REQUIRE_PORT");
		return catalog_bind(info);
	}
	int rc = 0;
	for (size_t i = 0; i < IOCPLSP_MAX_LOWERS && !rc; i++)
		if (g.lowers[i].used && g.lowers[i].startups > 0)
			rc = lower_start(&g.lowers[i]);
	return rc;
}

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                           WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable)
{
	const WORD high = MAKEWORD(2, 2);
	if (!lpWSPData || !lpProcTable || !lpProtocolInfo)
		return WSAEFAULT;
	if (LOBYTE(wVersionRequested) < 2)
		return WSAVERNOTSUPPORTED;

	AcquireSRWLockExclusive(&g_gate);
	/* A copy, and the most recent one wins (for the next provider as well). */
	const WSPUPCALLTABLE *prev = up();
	WSPUPCALLTABLE *slot = &g_up_slot[g_up_next++ % IOCPLSP_UP_SLOTS];
	*slot = UpcallTable;
	atomic_store_explicit(&g_up, slot, memory_order_release);
	lock();
	int first = g.startups == 0;
	unlock();
	int rc = startup_lowers(lpProtocolInfo, first);
	if (rc) {
		if (prev)
			atomic_store_explicit(&g_up, prev, memory_order_release);
		ReleaseSRWLockExclusive(&g_gate);
		return rc;
	}
	lock();
	g.startups++;
	unlock();
	ReleaseSRWLockExclusive(&g_gate);

	lpWSPData->wHighVersion = high;
	lpWSPData->wVersion = version_min(wVersionRequested, high);
	static const char desc[] = DESCRIPTION;
	memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
	for (size_t i = 0; i < sizeof desc - 1 && i < WSPDESCRIPTION_LEN; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)desc[i];
	fill_proc_table(lpProcTable);
	return 0;
}

/* The GUID of this layer's hidden dummy catalog entry (what an installer registers it under). */
WSPH_PROVIDER_EXPORT void WSPAPI GetLspGuid(LPGUID lpGuid)
{
	if (lpGuid)
		*lpGuid = iocplsp_guid;
}
