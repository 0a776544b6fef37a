/* mockbase: the reference Winsock 2 base provider (in-memory IPv4 loopback), IFS or non-IFS. */

/*
 * What this file is for: a complete base provider that uses the upcall table exactly as
 * scenarios/rules.yaml says, so that every rule the harness checks passes on it, and so that each
 * faulty variant (this same file, its fault chosen by mockbase_fault: see mockbase_faults.h) trips
 * exactly the rule it was made for.
 *
 * How it is built:
 *  - All state lives behind one mutex (pv_lock). No upcall is ever made with it held: entry points
 *    collect the notifications they cause into a batch while locked and deliver the batch after
 *    unlocking, in the calling thread (so a state change is notified synchronously, by the thread
 *    that caused it, and nothing needs a worker thread).
 *  - Handles. Non-IFS: every socket object gets its handle from WPUCreateSocketHandle with the
 *    object pointer as context, and is found again through WPUQuerySocketHandleContext (the context
 *    is then checked against the list of live objects). IFS: the provider proposes a value,
 *    passes it through WPUModifyIFSHandle and from then on knows the socket only by the value that
 *    came back. The value is a kernel handle where the OS has them (khandle.h: on Windows one end
 *    of a private pipe, and overlapped operations without a completion routine complete through
 *    the kernel on it, so a layer can use a completion port), else one from a counter that is
 *    never reset.
 *  - A connection made by WSPConnect creates the server-side object at once (data can flow before
 *    the accept), but its handle is only created inside the WSPAccept that hands it out, so that
 *    the "handle returned by WSPAccept was created in that call" rules hold.
 *  - Event selection follows Winsock's re-enabling model: a network event is recorded and signalled
 *    once, and signalled again only after the call that re-enables it (recv for FD_READ, accept for
 *    FD_ACCEPT, a send that failed with WSAEWOULDBLOCK for FD_WRITE) or a new registration.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wsph/spi.h>

#include "khandle.h"
#include "mockbase_faults.h"
#include "pv_sync.h"

/*
 * The operating system's own notification functions, for the MOCKBASE_OS_NOTIFY variant: the upcall
 * table marks WPUSetEvent, WPUResetEvent and WPUQueueApc optional ("QueueUserApc may also be used").
 * On Windows they are kernel32's; a POSIX build binds to the harness program, which stands in for
 * the operating system as it does for LoadLibrary or PostMessage.
 */
#ifndef _WIN32
typedef void(CALLBACK *PAPCFUNC)(ULONG_PTR);
BOOL WINAPI SetEvent(HANDLE hEvent);
BOOL WINAPI ResetEvent(HANDLE hEvent);
DWORD WINAPI QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData);
#endif

#ifndef FROM_PROTOCOL_INFO
#define FROM_PROTOCOL_INFO (-1)
#endif
#ifndef MSG_DONTROUTE
#define MSG_DONTROUTE 0x4
#endif

/* The faulty variant without a WSPStartup export exports the same function under another name. */
#ifdef MOCKBASE_FAULT_NO_STARTUP_EXPORT
#define WSPStartup MockbaseStartup
#endif

#define MB_DESCRIPTION     "wspharness mockbase (in-memory loopback)"
#define MB_STREAM_CAP      65536u /* bytes queued per stream direction */
#define MB_DGRAM_CAP       65536u /* bytes queued per datagram socket */
#define MB_DGRAM_MAX       65507u /* the largest IPv4 UDP payload */
#define MB_EPHEMERAL_FIRST 49152u
#define MB_EPHEMERAL_LAST  65535u
#define MB_SLICE_MS        10u
#define MB_DEFAULT_BUF     65536
#define MB_MAX_BACKLOG     200
#define MB_LOOPBACK        0x7f000001u
#define MB_SIN_LEN         ((int)sizeof(struct sockaddr_in))
/* Internal marker: a failure that (only in the errno-not-set variant) leaves *lpErrno alone. */
#define MB_ERR_UNSET (-1)

/* ------------------------------------------------------------------------------------------ */
/* Data model                                                                                   */

struct mb_addr {
	uint32_t ip; /* host byte order */
	uint16_t port;
};

struct mb_dgram {
	struct mb_dgram *next;
	struct mb_addr from;
	size_t len;
	unsigned char data[];
};

/* A WSPGetOverlappedResult(fWait TRUE) waiting for an operation: its event comes from
 * WPUCreateEvent, is signalled when the operation completes and closed by the waiter. */
struct mb_waiter {
	WSAEVENT ev;
	int signalled; /* the completion was delivered to ev (or will never be) */
};

/* A pending overlapped operation. */
struct mb_op {
	struct mb_op *next;
	WSABUF *bufs; /* copy of the client's WSABUF array (the buffers stay the client's) */
	DWORD nbufs;
	DWORD flags; /* recv: MSG_PEEK */
	struct sockaddr *from;
	LPINT fromlen;
	size_t done; /* send: bytes already moved to the peer */
	LPWSAOVERLAPPED ov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	WSATHREADID tid; /* a copy: the caller's structure is only valid during the call */
	int tid_opened;	 /* tid came from WPUOpenCurrentThread (the caller gave none) */
	LPWSATHREADID tidp; /* the keeps-thread-id-pointer variant's bug */
	struct mb_waiter *waiter;
};

struct mb_socket {
	struct mb_socket *next; /* g.sockets */
	SOCKET handle;          /* the client-visible handle */
	int has_handle;         /* handed out to the client (queued connections have none yet) */
	int wpu_handle;         /* the handle came from WPUCreateSocketHandle: close it with WPU */
	int ifs;                /* created in IFS mode: completions signal hEvent, not WPU */
	struct mb_kh *kh;       /* IFS with a kernel handle: completions go through the kernel */
	int kernel;             /* had one: an OVERLAPPED's status is the kernel's to write */
	int type;
	int protocol;
	int nonblocking;
	int closed;
	unsigned refs; /* threads waiting on this object; freed when closed and 0 */

	int bound;
	int owns_port; /* counts for address-in-use (accepted sockets share the listener's) */
	struct mb_addr local;
	int connected;
	struct mb_addr remote;

	int listening;
	int backlog;
	unsigned queued;
	struct mb_socket *acc_head, *acc_tail; /* connections waiting for WSPAccept */
	struct mb_socket *acc_next;
	struct mb_socket *listener; /* the listener whose queue holds this connection */

	struct mb_socket *peer; /* stream: the other end, NULL once it is gone */
	int shut_send, shut_recv;
	int peer_gone; /* stream: the peer shut down sending or closed: reads end with 0 bytes */

	unsigned char *rbuf; /* stream receive queue */
	size_t rlen;
	struct mb_dgram *dq_head, *dq_tail; /* datagram receive queue */
	size_t dq_bytes;

	int opt_rcvbuf, opt_sndbuf, opt_reuseaddr, opt_keepalive, so_error;
	WSAPROTOCOL_INFOW pinfo;

	WSAEVENT ev; /* WSPEventSelect */
	LONG ev_mask;
	LONG ev_recorded;
	HWND hwnd; /* WSPAsyncSelect */
	unsigned wmsg;
	LONG as_mask;
	LONG fired; /* FD_ bits notified and not re-enabled since */

	struct mb_op *rops_head, *rops_tail; /* pending overlapped receives */
	struct mb_op *sops_head, *sops_tail; /* pending overlapped sends (stream, peer full) */
};

static struct {
	int startups;
	unsigned gen; /* bumped by every final WSPCleanup */
	WSPUPCALLTABLE up;
	const WSPUPCALLTABLE *upp; /* &up; the keep-pointer variant points at the caller's table */
	DWORD catalog;
	int ifs;
	WSAPROTOCOL_INFOW pinfo;
	int have_pinfo;
	struct mb_socket *sockets;
	unsigned next_port;
	unsigned blocking;   /* threads inside a blocking wait */
	unsigned cancel_gen; /* bumped by WSPCancelBlockingCall */
} g;

/* Process lifetime, never reset: IFS proposals are never reused; the first-table-only variant. */
static uintptr_t g_next_proposal = 0x4d420000u;
static int g_table_taken;
static int g_cleaned_up; /* a final WSPCleanup has happened (the no-reinit variant) */

/* What an entry point needs from the global state, read once under the lock. */
struct call {
	WSPUPCALLTABLE up;
	DWORD catalog;
	int ifs;
	unsigned gen;
};

/* ------------------------------------------------------------------------------------------ */
/* Notification batches: collected under the lock, delivered after it                           */

enum note_kind {
	N_POST,
	N_SETEVENT,
	N_APC,
	N_COMPLETE,
	N_CLOSEHANDLE,
	N_CLOSETHREAD,
	N_CLOSEEVENT,
	N_WAITER,
	N_KCOMPLETE, /* through the kernel object (khandle.h) */
	N_KRELEASE
};

struct apc_ctx {
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	DWORD err;
	DWORD bytes;
	LPWSAOVERLAPPED ov;
	DWORD flags;
};

struct note {
	struct note *next;
	enum note_kind kind;
	SOCKET s;
	HWND hwnd;
	unsigned msg;
	LPARAM lparam;
	WSAEVENT ev;
	WSATHREADID tid;
	struct apc_ctx *apc;
	LPWSAOVERLAPPED ov;
	DWORD err;
	DWORD bytes;
	WSAOVERLAPPED shadow; /* the complete-own-overlapped variant's substitute */
	struct mb_waiter *waiter;
	int tid_opened; /* N_APC: tid came from WPUOpenCurrentThread */
	struct mb_kh *kh; /* N_KCOMPLETE, N_KRELEASE: a reference the note holds */
};

struct batch {
	struct note *head, *tail;
	const struct call *c;
};

static void batch_init(struct batch *b, const struct call *c)
{
	b->head = b->tail = NULL;
	b->c = c;
}

static struct note *note_new(struct batch *b, enum note_kind kind)
{
	struct note *n = calloc(1, sizeof *n);
	if (!n)
		return NULL; /* out of memory: this one notification is lost */
	n->kind = kind;
	if (b->tail)
		b->tail->next = n;
	else
		b->head = n;
	b->tail = n;
	return n;
}

static void note_post(struct batch *b, HWND hwnd, unsigned msg, SOCKET s, LONG bit)
{
	struct note *n = note_new(b, N_POST);
	if (!n)
		return;
	n->hwnd = hwnd;
	n->msg = msg;
	n->s = s;
	n->lparam = (LPARAM)WSAMAKESELECTREPLY(bit, 0);
}

static void note_setevent(struct batch *b, WSAEVENT ev)
{
	struct note *n = note_new(b, N_SETEVENT);
	if (n)
		n->ev = ev;
}

static void note_closehandle(struct batch *b, SOCKET s)
{
	struct note *n = note_new(b, N_CLOSEHANDLE);
	if (n)
		n->s = s;
}

/* The provider's own APC: unpacks the context, calls the client's routine, frees the context. */
static void CALLBACK mb_apc(DWORD_PTR context)
{
	struct apc_ctx *a = (struct apc_ctx *)context;
	a->routine(a->err, a->bytes, a->ov, a->flags);
	free(a);
}

static int set_event(const WSPUPCALLTABLE *up, WSAEVENT ev)
{
	int e = 0;
	if (MB_OS_NOTIFY)
		return SetEvent(ev) ? 0 : -1;
	return up->lpWPUSetEvent(ev, &e) ? 0 : -1;
}

static int queue_apc(const WSPUPCALLTABLE *up, WSATHREADID *tid, struct apc_ctx *a)
{
	int e = 0;
	if (F(APC_CLIENT_ROUTINE)) {
		/* The bug: the client's routine itself as the APC. */
		LPWSAUSERAPC fn;
		memcpy(&fn, &a->routine, sizeof fn);
		int rc = up->lpWPUQueueApc(tid, fn, (DWORD_PTR)a->ov, &e);
		free(a);
		return rc;
	}
	if (MB_OS_NOTIFY) {
		PAPCFUNC fn;
		void(CALLBACK * mine)(DWORD_PTR) = mb_apc;
		memcpy(&fn, &mine, sizeof fn);
		if (QueueUserAPC(fn, tid->ThreadHandle, (ULONG_PTR)a))
			return 0;
		free(a);
		return -1;
	}
	if (up->lpWPUQueueApc(tid, mb_apc, (DWORD_PTR)a, &e) != 0) {
		free(a);
		return -1;
	}
	return 0;
}

/* Outside the lock: the kernel completes the operation (its OVERLAPPED already holds mockbase's
 * error and flags). Should it not, the provider does as without a kernel object. Either way the
 * operation is then done (mb_GetOverlappedResult waits for this). */
static void kernel_complete(const WSPUPCALLTABLE *up, struct note *n)
{
	if (mb_kh_complete(n->kh, n->ov, n->bytes) != 0) {
		n->ov->InternalHigh = n->bytes;
		n->ov->Internal = 0;
		if (n->ov->hEvent)
			set_event(up, n->ov->hEvent);
	}
	mb_kh_unref(n->kh);
	pv_wake_all();
}

static void batch_flush(struct batch *b)
{
	const WSPUPCALLTABLE *up = &b->c->up;
	struct note *n = b->head;
	while (n) {
		struct note *next = n->next;
		int e = 0;
		switch (n->kind) {
		case N_POST:
			up->lpWPUPostMessage(n->hwnd, F(POST_WRONG_MESSAGE) ? n->msg + 1 : n->msg,
			                     (WPARAM)n->s, n->lparam);
			break;
		case N_SETEVENT:
			set_event(up, n->ev);
			break;
		case N_APC:
			queue_apc(up, &n->tid, n->apc);
			if (F(CLOSES_CLIENT_THREAD) && !n->tid_opened)
				up->lpWPUCloseThread(&n->tid, &e); /* the bug: not ours to close */
			break;
		case N_COMPLETE:
			if (F(COMPLETE_OWN_OVERLAPPED)) {
				n->shadow = *n->ov; /* the bug: a substitute, not the client's */
				WPUCompleteOverlappedRequest(n->s, &n->shadow, n->err, n->bytes, &e);
			} else {
				WPUCompleteOverlappedRequest(n->s, n->ov, n->err, n->bytes, &e);
			}
			break;
		case N_CLOSEHANDLE:
			up->lpWPUCloseSocketHandle(n->s, &e);
			break;
		case N_CLOSETHREAD:
			if (!F(THREAD_LEAK))
				up->lpWPUCloseThread(&n->tid, &e);
			break;
		case N_CLOSEEVENT:
			up->lpWPUCloseEvent(n->ev, &e);
			break;
		case N_WAITER:
			set_event(up, n->waiter->ev);
			pv_lock();
			n->waiter->signalled = 1;
			pv_wake_all();
			pv_unlock();
			break;
		case N_KCOMPLETE:
			kernel_complete(up, n);
			break;
		case N_KRELEASE:
			mb_kh_unref(n->kh);
			break;
		}
		free(n);
		n = next;
	}
	b->head = b->tail = NULL;
}

/*
 * Notifications held back to the next entry into the provider: used only by the variants whose
 * bug is a notification that comes too late (late-apc, late-release).
 */
static struct {
	struct note *head, *tail;
	struct call c;
	int have;
} g_late;

static void defer_notes(struct batch *b, struct note *from)
{
	/* moves the notes from `from` (a note of b) to the end of b into g_late */
	struct note **pp = &b->head, *prev = NULL;
	while (*pp && *pp != from) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	if (g_late.tail)
		g_late.tail->next = from;
	else
		g_late.head = from;
	g_late.tail = b->tail;
	g_late.c = *b->c;
	g_late.have = 1;
	*pp = NULL;
	b->tail = prev;
}

#if !defined(_WIN32) && defined(MOCKBASE_FAULTY)
/* Unloaded with notifications still held back (no entry came after the final WSPCleanup): the
 * variant's bug is their lateness, not a leak, so they are dropped with the module. */
__attribute__((destructor)) static void drop_late(void)
{
	for (struct note *n = g_late.head, *next; n; n = next) {
		next = n->next;
		free(n);
	}
	g_late.head = g_late.tail = NULL;
}
#endif

static void flush_late(void)
{
	struct batch b;
	pv_lock();
	if (!g_late.have) {
		pv_unlock();
		return;
	}
	struct call c = g_late.c;
	b.head = g_late.head;
	b.tail = g_late.tail;
	b.c = &c;
	g_late.head = g_late.tail = NULL;
	g_late.have = 0;
	pv_unlock();
	batch_flush(&b);
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                */

static int fail(LPINT lpErrno, int err)
{
	if (err == MB_ERR_UNSET)
		return SOCKET_ERROR;
	if (lpErrno)
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

static int addr_parse(const struct sockaddr *sa, int len, struct mb_addr *out)
{
	struct sockaddr_in sin;
	if (!sa || len < MB_SIN_LEN)
		return WSAEFAULT;
	memcpy(&sin, sa, sizeof sin);
	if (sin.sin_family != AF_INET)
		return WSAEAFNOSUPPORT;
	const unsigned char *p = (const unsigned char *)&sin.sin_port;
	const unsigned char *a = (const unsigned char *)&sin.sin_addr;
	out->port = (uint16_t)((p[0] << 8) | p[1]);
	out->ip = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
	return 0;
}

static void addr_write(const struct mb_addr *in, struct sockaddr *sa)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	unsigned char *p = (unsigned char *)&sin.sin_port;
	unsigned char *a = (unsigned char *)&sin.sin_addr;
	p[0] = (unsigned char)(in->port >> 8);
	p[1] = (unsigned char)in->port;
	a[0] = (unsigned char)(in->ip >> 24);
	a[1] = (unsigned char)(in->ip >> 16);
	a[2] = (unsigned char)(in->ip >> 8);
	a[3] = (unsigned char)in->ip;
	memcpy(sa, &sin, sizeof sin);
}

/* Writes an address to a caller's (name, namelen) pair. */
static int addr_out(const struct mb_addr *in, struct sockaddr *name, LPINT namelen)
{
	if (!name || !namelen || *namelen < MB_SIN_LEN)
		return WSAEFAULT;
	addr_write(in, name);
	*namelen = MB_SIN_LEN;
	return 0;
}

/* The address a socket shows to others: a wildcard local address reads as loopback. */
static struct mb_addr addr_visible(struct mb_addr a)
{
	if (a.ip == 0)
		a.ip = MB_LOOPBACK;
	return a;
}

static size_t bufs_total(const WSABUF *bufs, DWORD n)
{
	size_t t = 0;
	for (DWORD i = 0; i < n; i++)
		t += bufs[i].len;
	return t;
}

/* Copies len bytes from src into the WSABUF array; returns the count copied. */
static size_t bufs_scatter(const WSABUF *bufs, DWORD n, const unsigned char *src, size_t len)
{
	size_t done = 0;
	for (DWORD i = 0; i < n && done < len; i++) {
		size_t k = bufs[i].len;
		if (k > len - done)
			k = len - done;
		if (k)
			memcpy(bufs[i].buf, src + done, k);
		done += k;
	}
	return done;
}

/* Copies up to len bytes, starting skip bytes into the WSABUF array, to dst; returns the count. */
static size_t bufs_gather(const WSABUF *bufs, DWORD n, size_t skip, unsigned char *dst, size_t len)
{
	size_t done = 0;
	for (DWORD i = 0; i < n && done < len; i++) {
		size_t blen = bufs[i].len;
		if (skip >= blen) {
			skip -= blen;
			continue;
		}
		size_t k = blen - skip;
		if (k > len - done)
			k = len - done;
		memcpy(dst + done, bufs[i].buf + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

static void snapshot(struct call *c)
{
	c->up = *g.upp;
	c->catalog = g.catalog;
	c->ifs = g.ifs;
	c->gen = g.gen;
}

/* Checks the startup count and takes a snapshot; the lock is not held afterwards. */
static int enter(struct call *c)
{
	flush_late();
	pv_lock();
	if (g.startups <= 0) {
		pv_unlock();
		return WSANOTINITIALISED;
	}
	snapshot(c);
	pv_unlock();
	return 0;
}

static int still_current(const struct call *c)
{
	return g.startups > 0 && g.gen == c->gen;
}

static struct mb_socket *find_by_handle(SOCKET s)
{
	for (struct mb_socket *o = g.sockets; o; o = o->next)
		if (o->has_handle && !o->closed && o->handle == s)
			return o;
	return NULL;
}

static struct mb_socket *find_by_context(DWORD_PTR ctx, SOCKET s)
{
	for (struct mb_socket *o = g.sockets; o; o = o->next)
		if ((DWORD_PTR)o == ctx)
			return (o->has_handle && !o->closed && o->handle == s) ? o : NULL;
	return NULL;
}

/* The error for a handle WPUQuerySocketHandleContext did not know. */
static int query_failed_error(void)
{
	if (F(ERRNO_NOT_SET))
		return MB_ERR_UNSET;
	return F(NONIFS_WRONG_NOTSOCK) ? WSAEINVAL : WSAENOTSOCK;
}

static int unknown_handle_error(void)
{
	return F(ERRNO_NOT_SET) ? MB_ERR_UNSET : F(STALE_WRONG_ERROR) ? WSAEINVAL : WSAENOTSOCK;
}

/* Non-IFS: asks WPUQuerySocketHandleContext (outside the lock). */
static int prepare_lookup(const struct call *c, SOCKET s, int io_call, DWORD_PTR *ctx)
{
	int e = 0;
	*ctx = 0;
	if (!c->ifs) {
		if (c->up.lpWPUQuerySocketHandleContext(s, ctx, &e) != 0)
			return query_failed_error();
	} else if (F(IFS_QUERIES_CONTEXT) && io_call) {
		DWORD_PTR ignored = 0;
		(void)c->up.lpWPUQuerySocketHandleContext(s, &ignored, &e);
	}
	return 0;
}

/* With the lock held: the live object behind s, or NULL. */
static struct mb_socket *lookup_locked(const struct call *c, SOCKET s, DWORD_PTR ctx)
{
	return c->ifs ? find_by_handle(s) : find_by_context(ctx, s);
}

/*
 * Resolves s for an entry point. On success the lock is held, *err is 0 and the object is
 * returned; on failure the lock is not held and *err says why. io_call marks
 * WSPSend/WSPRecv/WSPCloseSocket (only the IFS-queries-context variant cares).
 */
static struct mb_socket *acquire(struct call *c, SOCKET s, int io_call, int *err)
{
	DWORD_PTR ctx;
	int e = enter(c);
	if (e) {
		*err = e;
		return NULL;
	}
	e = prepare_lookup(c, s, io_call, &ctx);
	if (e) {
		*err = e;
		return NULL;
	}
	pv_lock();
	if (!still_current(c)) {
		pv_unlock();
		*err = WSANOTINITIALISED;
		return NULL;
	}
	struct mb_socket *o = lookup_locked(c, s, ctx);
	if (!o) {
		pv_unlock();
		*err = unknown_handle_error();
		return NULL;
	}
	*err = 0;
	return o;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket objects                                                                               */

static void free_op(struct mb_op *op)
{
	free(op->bufs);
	free(op);
}

static void free_socket(struct mb_socket *o)
{
	if (o->kh)
		mb_kh_unref(o->kh); /* never handed out (close_socket releases the others') */
	free(o->rbuf);
	while (o->dq_head) {
		struct mb_dgram *d = o->dq_head;
		o->dq_head = d->next;
		free(d);
	}
	free(o);
}

static void sock_unref(struct mb_socket *o)
{
	o->refs--;
	if (o->closed && o->refs == 0)
		free_socket(o);
}

static struct mb_socket *sock_new(int type, int protocol, const WSAPROTOCOL_INFOW *pinfo)
{
	struct mb_socket *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->handle = INVALID_SOCKET;
	o->type = type;
	o->protocol = protocol;
	o->opt_rcvbuf = MB_DEFAULT_BUF;
	o->opt_sndbuf = MB_DEFAULT_BUF;
	if (pinfo) {
		o->pinfo = *pinfo;
	} else if (g.have_pinfo) {
		o->pinfo = g.pinfo;
	} else {
		o->pinfo.dwCatalogEntryId = g.catalog;
		o->pinfo.ProtocolChain.ChainLen = BASE_PROTOCOL;
		o->pinfo.iVersion = 2;
		o->pinfo.iAddressFamily = AF_INET;
		o->pinfo.iMaxSockAddr = MB_SIN_LEN;
		o->pinfo.iMinSockAddr = MB_SIN_LEN;
		o->pinfo.iSocketType = type;
		o->pinfo.iProtocol = protocol;
	}
	return o;
}

static void sock_link(struct mb_socket *o)
{
	o->next = g.sockets;
	g.sockets = o;
}

static void sock_unlink(struct mb_socket *o)
{
	for (struct mb_socket **pp = &g.sockets; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			o->next = NULL;
			return;
		}
	}
}

static SOCKET next_proposal(void)
{
	g_next_proposal += 4;
	return (SOCKET)g_next_proposal;
}

/* Outside the lock: the value an IFS socket proposes to WPUModifyIFSHandle, its kernel handle where
 * there is one (*kh, a reference for the socket), else the next counter value. */
static SOCKET propose(const struct call *c, struct mb_kh **kh)
{
	*kh = c->ifs ? mb_kh_create() : NULL;
	if (*kh)
		return (SOCKET)mb_kh_value(*kh);
	pv_lock();
	SOCKET p = next_proposal();
	pv_unlock();
	return p;
}

/* With the lock held: the socket now has its handle (and kernel object, if any). */
static void give_handle(struct mb_socket *o, const struct call *c, SOCKET h, int wpu,
                        struct mb_kh *kh)
{
	o->handle = h;
	o->has_handle = 1;
	o->wpu_handle = wpu;
	o->ifs = c->ifs;
	o->kh = kh;
	o->kernel = kh != NULL;
}

/*
 * Outside the lock: obtains the client-visible handle for obj through the upcalls (the IFS
 * proposal comes from propose()). 0 on success, else the WSA error.
 */
static int obtain_handle(const struct call *c, struct mb_socket *obj, SOCKET proposed, SOCKET *out,
                         int *wpu_handle)
{
	DWORD catalog = F(WRONG_CATALOG_ID) ? 1 : c->catalog;
	int e = 0;
	*wpu_handle = 0;
	if (!c->ifs || F(IFS_CREATES_HANDLE)) {
		SOCKET h = c->up.lpWPUCreateSocketHandle(catalog, (DWORD_PTR)obj, &e);
		if (h == INVALID_SOCKET) {
			if (F(IGNORES_CREATE_FAILURE) && !c->ifs) {
				/* The bug: the context passes for a handle. */
				*out = (SOCKET)(DWORD_PTR)obj;
				return 0;
			}
			return e ? e : WSAENOBUFS;
		}
		if (F(NONIFS_MODIFIES) && !c->ifs) {
			int e2 = 0;
			(void)c->up.lpWPUModifyIFSHandle(catalog, h, &e2);
		}
		*out = h;
		*wpu_handle = 1;
		return 0;
	}
	if (F(IFS_NO_MODIFY)) {
		*out = proposed;
		return 0;
	}
	SOCKET h = c->up.lpWPUModifyIFSHandle(catalog, proposed, &e);
	if (h == INVALID_SOCKET) {
		if (F(IGNORES_MODIFY_FAILURE)) {
			*out = proposed;
			return 0;
		}
		return e ? e : WSAEINVAL;
	}
	*out = F(IFS_IGNORES_MODIFIED) ? proposed : h;
	return 0;
}

/* Outside the lock: gives back a handle obtained by obtain_handle that will not be used. */
static void release_handle(const struct call *c, SOCKET h, int wpu_handle)
{
	int e = 0;
	if (wpu_handle)
		c->up.lpWPUCloseSocketHandle(h, &e);
}

static int port_in_use(int type, struct mb_addr a, const struct mb_socket *self, int reuse)
{
	if (reuse)
		return 0;
	for (struct mb_socket *o = g.sockets; o; o = o->next) {
		if (o == self || o->closed || !o->owns_port || o->type != type)
			continue;
		if (o->local.port == a.port &&
		    (o->local.ip == a.ip || o->local.ip == 0 || a.ip == 0))
			return 1;
	}
	return 0;
}

static int bind_to(struct mb_socket *o, struct mb_addr a)
{
	if (a.port == 0) {
		unsigned span = MB_EPHEMERAL_LAST - MB_EPHEMERAL_FIRST + 1;
		for (unsigned i = 0; i < span; i++) {
			unsigned p = g.next_port;
			g.next_port = (p >= MB_EPHEMERAL_LAST) ? MB_EPHEMERAL_FIRST : p + 1;
			a.port = (uint16_t)p;
			if (!port_in_use(o->type, a, o, 0))
				break;
			a.port = 0;
		}
		if (a.port == 0)
			return WSAEADDRINUSE;
	} else if (port_in_use(o->type, a, o, o->opt_reuseaddr)) {
		return WSAEADDRINUSE;
	}
	o->local = a;
	o->bound = 1;
	o->owns_port = 1;
	return 0;
}

static int autobind(struct mb_socket *o)
{
	struct mb_addr any = {0, 0};
	return o->bound ? 0 : bind_to(o, any);
}

/* ------------------------------------------------------------------------------------------ */
/* Network events (WSPEventSelect / WSPAsyncSelect)                                             */

static void fire(struct batch *b, struct mb_socket *o, LONG bit)
{
	if (!o->has_handle || o->closed || (o->fired & bit))
		return;
	if (o->ev_mask & bit) {
		o->fired |= bit;
		o->ev_recorded |= bit;
		note_setevent(b, o->ev);
	} else if (o->as_mask & bit) {
		o->fired |= bit;
		note_post(b, o->hwnd, o->wmsg, o->handle, bit);
	}
}

static size_t stream_room(const struct mb_socket *receiver)
{
	return MB_STREAM_CAP - receiver->rlen;
}

static int is_readable(const struct mb_socket *o)
{
	if (o->listening)
		return o->acc_head != NULL;
	if (o->type == SOCK_STREAM)
		return o->rlen > 0 || o->peer_gone;
	return o->dq_head != NULL;
}

static int is_writable(const struct mb_socket *o)
{
	if (o->type != SOCK_STREAM)
		return 1;
	if (!o->connected || o->shut_send)
		return 0;
	return !o->peer || stream_room(o->peer) > 0;
}

/* Notifies the level conditions that hold now (each at most once until re-enabled). */
static void refresh(struct batch *b, struct mb_socket *o)
{
	if (o->closed || !o->has_handle || !(o->ev_mask | o->as_mask))
		return;
	if (o->listening) {
		if (o->acc_head)
			fire(b, o, FD_ACCEPT);
		return;
	}
	if (o->type == SOCK_STREAM ? o->rlen > 0 : o->dq_head != NULL)
		fire(b, o, FD_READ);
	if (is_writable(o))
		fire(b, o, FD_WRITE);
	if (o->type == SOCK_STREAM && o->peer_gone)
		fire(b, o, FD_CLOSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Overlapped completion                                                                        */

/* Whether a completion goes through the socket's kernel object: one without a routine (those
 * keep their APC); the variant that completes IFS operations with WPUCompleteOverlappedRequest
 * keeps doing so. */
static int via_kernel(const struct mb_socket *o, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
	return o->kh && !routine && !F(IFS_COMPLETES_OVERLAPPED);
}

/* Records a result: the flags and the error in Offset/OffsetHigh (for mb_GetOverlappedResult),
 * the count and the done mark in InternalHigh/Internal, unless the kernel will write those. */
static void ov_result(LPWSAOVERLAPPED ov, DWORD err, DWORD bytes, DWORD flags, int kernel)
{
	ov->Offset = flags;
	ov->OffsetHigh = err;
	if (kernel) {
		ov->Internal = WSS_OPERATION_IN_PROGRESS; /* until the kernel completes it */
		return;
	}
	ov->InternalHigh = bytes;
	ov->Internal = 0;
}

static void note_kcomplete(struct batch *b, struct mb_kh *kh, LPWSAOVERLAPPED ov, DWORD bytes)
{
	struct note *n = note_new(b, N_KCOMPLETE);
	if (!n) {
		/* out of memory: done without a notice, rather than never */
		ov->InternalHigh = bytes;
		ov->Internal = 0;
		return;
	}
	mb_kh_ref(kh);
	n->kh = kh;
	n->ov = ov;
	n->bytes = bytes;
}

/* Queues the completion notice through the mechanism the client chose. tid_opened: the thread id
 * came from WPUOpenCurrentThread and is released (WPUCloseThread) once the APC is queued. */
static void deliver(struct batch *b, const struct mb_socket *o, LPWSAOVERLAPPED ov,
                    LPWSAOVERLAPPED_COMPLETION_ROUTINE routine, const WSATHREADID *tid, DWORD err,
                    DWORD bytes, DWORD flags, int tid_opened)
{
	if (routine && F(COMPLETE_WITH_ROUTINE) && !o->ifs)
		routine = NULL; /* the bug: the event mechanism for a routine operation */
	if (routine) {
		struct apc_ctx *a = malloc(sizeof *a);
		if (!a)
			return;
		a->routine = routine;
		a->err = err;
		a->bytes = bytes;
		a->ov = ov;
		a->flags = flags;
		struct note *n = note_new(b, N_APC);
		if (!n) {
			free(a);
			return;
		}
		n->tid = *tid;
		n->apc = a;
		n->tid_opened = tid_opened;
		if (tid_opened) {
			struct note *c = note_new(b, N_CLOSETHREAD);
			if (c)
				c->tid = *tid;
		}
	} else if (!o->ifs || F(IFS_COMPLETES_OVERLAPPED)) {
		struct note *n = note_new(b, N_COMPLETE);
		if (!n)
			return;
		/* the wrong-handle variant passes its own context instead of the client's handle */
		n->s = F(COMPLETE_WRONG_HANDLE) ? (SOCKET)(uintptr_t)o : o->handle;
		n->ov = ov;
		n->err = err;
		n->bytes = bytes;
		if (o->ifs && ov->hEvent)
			note_setevent(b, ov->hEvent);
	} else if (o->kh) {
		note_kcomplete(b, o->kh, ov, bytes); /* the kernel signals hEvent */
	} else if (ov->hEvent) {
		note_setevent(b, ov->hEvent);
	}
}

static void complete_op(struct batch *b, struct mb_socket *o, struct mb_op *op, DWORD err,
                        DWORD bytes, DWORD flags, int notify)
{
	ov_result(op->ov, err, bytes, flags, notify && via_kernel(o, op->routine));
	if (notify) {
		/* the keeps-thread-id-pointer variant reads the caller's structure now */
		WSATHREADID tid = F(KEEPS_THREAD_ID_POINTER) && op->tidp ? *op->tidp : op->tid;
		deliver(b, o, op->ov, op->routine, &tid, err, bytes, flags, op->tid_opened);
	} else if (op->tid_opened) {
		/* cancelled silently: no APC, but the thread id still goes back */
		struct note *c = note_new(b, N_CLOSETHREAD);
		if (c)
			c->tid = op->tid;
	}
	if (op->waiter) {
		if (notify) {
			struct note *w = note_new(b, N_WAITER);
			if (w)
				w->waiter = op->waiter;
			else
				op->waiter->signalled = 1;
		} else {
			op->waiter->signalled = 1;
		}
	}
	free_op(op);
}

static struct mb_op *op_new(const WSABUF *bufs, DWORD n, LPWSAOVERLAPPED ov,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE routine, LPWSATHREADID tid,
                            int tid_opened)
{
	struct mb_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	if (n) {
		op->bufs = malloc(n * sizeof *bufs);
		if (!op->bufs) {
			free(op);
			return NULL;
		}
		memcpy(op->bufs, bufs, n * sizeof *bufs);
	}
	op->nbufs = n;
	op->ov = ov;
	op->routine = routine;
	if (tid)
		op->tid = *tid;
	op->tid_opened = tid_opened;
	if (!tid_opened)
		op->tidp = tid;
	return op;
}

static void op_append(struct mb_op **head, struct mb_op **tail, struct mb_op *op)
{
	op->next = NULL;
	if (*tail)
		(*tail)->next = op;
	else
		*head = op;
	*tail = op;
}

static struct mb_op *op_pop(struct mb_op **head, struct mb_op **tail)
{
	struct mb_op *op = *head;
	if (op) {
		*head = op->next;
		if (!*head)
			*tail = NULL;
		op->next = NULL;
	}
	return op;
}

static int op_is_pending(const struct mb_socket *o, LPWSAOVERLAPPED ov)
{
	for (const struct mb_op *op = o->rops_head; op; op = op->next)
		if (op->ov == ov)
			return 1;
	for (const struct mb_op *op = o->sops_head; op; op = op->next)
		if (op->ov == ov)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The stream and datagram data paths                                                           */

/* Appends up to max bytes of the WSABUF array (from offset skip) to the receiver's queue. */
static size_t stream_push(struct mb_socket *p, const WSABUF *bufs, DWORD n, size_t skip, size_t max)
{
	size_t room = stream_room(p);
	if (max > room)
		max = room;
	if (max == 0)
		return 0;
	if (!p->rbuf) {
		p->rbuf = malloc(MB_STREAM_CAP);
		if (!p->rbuf)
			return 0;
	}
	size_t k = bufs_gather(bufs, n, skip, p->rbuf + p->rlen, max);
	p->rlen += k;
	return k;
}

/* Takes stream data for a receive. Returns bytes; 0 with peer_gone is end of stream. */
static size_t stream_take(struct mb_socket *o, const WSABUF *bufs, DWORD n, DWORD flags)
{
	size_t k = bufs_scatter(bufs, n, o->rbuf ? o->rbuf : (const unsigned char *)"", o->rlen);
	if (!(flags & MSG_PEEK) && k) {
		memmove(o->rbuf, o->rbuf + k, o->rlen - k);
		o->rlen -= k;
	}
	return k;
}

/*
 * Moves data along the stream that ends at receiver p: completes p's pending receives, moves the
 * peer's pending sends into p's queue, and repeats until nothing moves; then notifies both ends.
 */
static void pump(struct batch *b, struct mb_socket *p)
{
	struct mb_socket *s = p->peer;
	for (;;) {
		int progress = 0;
		while (p->rops_head && (p->rlen > 0 || p->peer_gone)) {
			struct mb_op *op = op_pop(&p->rops_head, &p->rops_tail);
			size_t k = stream_take(p, op->bufs, op->nbufs, op->flags);
			complete_op(b, p, op, 0, (DWORD)k, 0, 1);
			progress = 1;
		}
		while (s && s->sops_head && stream_room(p) > 0) {
			struct mb_op *op = s->sops_head;
			size_t total = bufs_total(op->bufs, op->nbufs);
			op->done += stream_push(p, op->bufs, op->nbufs, op->done, total - op->done);
			progress = 1;
			if (op->done < total)
				break; /* p is full (or out of memory) */
			op_pop(&s->sops_head, &s->sops_tail);
			complete_op(b, s, op, 0, (DWORD)op->done, 0, 1);
		}
		if (!progress)
			break;
	}
	refresh(b, p);
	if (s)
		refresh(b, s);
	pv_wake_all();
}

/* Takes one datagram for a receive; *err is WSAEMSGSIZE when it was truncated. */
static size_t dgram_take(struct mb_socket *o, const WSABUF *bufs, DWORD n, DWORD flags,
                         struct sockaddr *from, LPINT fromlen, int *err)
{
	struct mb_dgram *d = o->dq_head;
	size_t k = bufs_scatter(bufs, n, d->data, d->len);
	*err = k < d->len ? WSAEMSGSIZE : 0;
	if (from && fromlen && *fromlen >= MB_SIN_LEN) {
		addr_write(&d->from, from);
		*fromlen = MB_SIN_LEN;
	}
	if (!(flags & MSG_PEEK)) {
		o->dq_head = d->next;
		if (!o->dq_head)
			o->dq_tail = NULL;
		o->dq_bytes -= d->len;
		free(d);
	}
	return k;
}

/* Delivers a datagram (already copied into d) to whoever is bound to its destination port. */
static void dgram_deliver(struct batch *b, struct mb_dgram *d, struct mb_addr to)
{
	struct mb_socket *t = NULL;
	for (struct mb_socket *o = g.sockets; o; o = o->next) {
		if (o->type == SOCK_DGRAM && !o->closed && o->bound && o->local.port == to.port) {
			t = o;
			break;
		}
	}
	if (!t || t->shut_recv ||
	    (t->connected &&
	     (t->remote.port != d->from.port || addr_visible(t->remote).ip != d->from.ip))) {
		free(d); /* nobody listening: a datagram is silently lost */
		return;
	}
	d->next = NULL;
	if (t->dq_tail)
		t->dq_tail->next = d;
	else
		t->dq_head = d;
	t->dq_tail = d;
	t->dq_bytes += d->len;
	/* Pending receives take datagrams in order. */
	while (t->rops_head && t->dq_head) {
		struct mb_op *op = op_pop(&t->rops_head, &t->rops_tail);
		int err = 0;
		size_t k =
		    dgram_take(t, op->bufs, op->nbufs, op->flags, op->from, op->fromlen, &err);
		complete_op(b, t, op, (DWORD)err, (DWORD)k, 0, 1);
	}
	/* Over capacity: drop from the front, like a full socket buffer would. */
	while (t->dq_bytes > MB_DGRAM_CAP && t->dq_head) {
		struct mb_dgram *x = t->dq_head;
		t->dq_head = x->next;
		if (!t->dq_head)
			t->dq_tail = NULL;
		t->dq_bytes -= x->len;
		free(x);
	}
	refresh(b, t);
	pv_wake_all();
}

/* ------------------------------------------------------------------------------------------ */
/* Closing                                                                                      */

/*
 * Closes an object under the lock. notify: deliver aborts and peer notifications (WSPCloseSocket)
 * or not (final WSPCleanup). handle_closes: how many WPUCloseSocketHandle calls to queue.
 */
static void close_socket(struct batch *b, struct mb_socket *o, int notify, int handle_closes)
{
	o->closed = 1;
	o->ev_mask = o->as_mask = 0;
	sock_unlink(o);
	if (F(CLOSES_CLIENT_EVENT) && notify && o->ev) {
		struct note *n = note_new(b, N_CLOSEEVENT); /* the bug: not the provider's event */
		if (n)
			n->ev = o->ev;
	}
	if (F(RELEASE_BEFORE_ABORT) && o->has_handle && o->wpu_handle) {
		/* the bug: the handle goes back before the aborted operations are completed */
		for (int i = 0; i < handle_closes; i++)
			note_closehandle(b, o->handle);
		handle_closes = 0;
	}

	struct mb_op *op;
	int aborts = notify && !F(CLOSE_NO_ABORT);
	while ((op = op_pop(&o->rops_head, &o->rops_tail)) != NULL)
		complete_op(b, o, op, WSA_OPERATION_ABORTED, 0, 0, aborts);
	while ((op = op_pop(&o->sops_head, &o->sops_tail)) != NULL)
		complete_op(b, o, op, WSA_OPERATION_ABORTED, (DWORD)op->done, 0, aborts);

	if (o->listener) { /* still queued for accept */
		struct mb_socket *l = o->listener;
		for (struct mb_socket **pp = &l->acc_head; *pp; pp = &(*pp)->acc_next) {
			if (*pp == o) {
				*pp = o->acc_next;
				break;
			}
		}
		l->acc_tail = NULL;
		for (struct mb_socket *q = l->acc_head; q; q = q->acc_next)
			l->acc_tail = q;
		l->queued--;
		o->listener = NULL;
	}
	while (o->acc_head) { /* a listener takes its unaccepted connections with it */
		struct mb_socket *q = o->acc_head;
		o->acc_head = q->acc_next;
		q->listener = NULL;
		close_socket(b, q, notify, 0);
	}
	o->acc_tail = NULL;
	o->queued = 0;

	struct mb_socket *p = o->peer;
	if (p) {
		p->peer = NULL;
		p->peer_gone = 1;
		o->peer = NULL;
		while ((op = op_pop(&p->sops_head, &p->sops_tail)) != NULL)
			complete_op(b, p, op, WSAECONNRESET, (DWORD)op->done, 0, notify);
		if (notify)
			pump(b, p);
	}

	if (o->has_handle && (o->wpu_handle || (F(IFS_CLOSES_HANDLE) && o->ifs)))
		for (int i = 0; i < handle_closes; i++)
			note_closehandle(b, o->handle);
	if (o->kh) {
		/* after the completions above, which hold references of their own */
		struct note *n = note_new(b, N_KRELEASE);
		if (n)
			n->kh = o->kh;
		else
			mb_kh_unref(o->kh);
		o->kh = NULL;
	}
	pv_wake_all();
	if (o->refs == 0)
		free_socket(o);
}

/* ------------------------------------------------------------------------------------------ */
/* Blocking waits                                                                               */

struct blk {
	int started;
	LPBLOCKINGCALLBACK cb;
	DWORD_PTR ctx;
	unsigned cancel_gen;
	int has_deadline;
	uint64_t deadline;
};

static void blk_init(struct blk *k)
{
	memset(k, 0, sizeof *k);
}

/*
 * With the lock held, when a blocking call cannot complete yet: the first time, asks for the
 * blocking hook (outside the lock) and returns so the caller re-checks; afterwards waits one slice
 * and calls the hook between slices. Returns 0 to re-check, WSAETIMEDOUT at the deadline, or the
 * error that ends the call (WSAEINTR when cancelled or the hook says stop).
 */
static int blk_wait(const struct call *c, struct blk *k)
{
	if (!k->started) {
		LPBLOCKINGCALLBACK cb = NULL;
		DWORD_PTR ctx = 0;
		int e = 0;
		k->started = 1;
		g.blocking++;
		k->cancel_gen = g.cancel_gen;
		pv_unlock();
		int r = c->up.lpWPUQueryBlockingCallback(F(BLOCKING_WRONG_ID) ? 0 : c->catalog, &cb,
		                                         &ctx, &e);
		pv_lock();
		if (r != 0)
			return e ? e : WSAEINVAL;
		if (F(NULL_CALLBACK_FAILS) && !cb)
			return WSAEOPNOTSUPP; /* the bug: no hook taken for "cannot block" */
		k->cb = cb;
		k->ctx = ctx;
		return 0;
	}
	if (g.cancel_gen != k->cancel_gen)
		return WSAEINTR;
	unsigned slice = MB_SLICE_MS;
	if (k->has_deadline) {
		uint64_t now = pv_now_ms();
		if (now >= k->deadline)
			return WSAETIMEDOUT;
		if (k->deadline - now < slice)
			slice = (unsigned)(k->deadline - now);
	}
	pv_wait_ms(slice);
	if (g.cancel_gen != k->cancel_gen || !still_current(c))
		return WSAEINTR;
	if (k->cb) {
		pv_unlock();
		BOOL go_on = k->cb(k->ctx);
		pv_lock();
		if (!go_on && !F(CALLBACK_FALSE_IGNORED))
			return WSAEINTR;
	}
	return 0;
}

static void blk_end(struct blk *k)
{
	if (k->started)
		g.blocking--;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPStartup / WSPCleanup                                                                      */

static int WSPAPI mb_Cleanup(LPINT lpErrno)
{
	struct call c;
	struct batch b;
	flush_late();
	pv_lock();
	if (g.startups <= 0) {
		pv_unlock();
		if (F(UNBALANCED_CLEANUP_SUCCEEDS))
			return 0; /* the bug: nothing to balance, yet success */
		return fail(lpErrno, WSANOTINITIALISED);
	}
	snapshot(&c);
	batch_init(&b, &c);
	g.startups--;
	int final = g.startups == 0;
	if (final)
		g_cleaned_up = 1;
	/* The no-refcount variant treats every cleanup as the final one (the count itself still
	 * balances, so later cleanups succeed and an unbalanced one still fails). */
	if (g.startups == 0 || F(NO_REFCOUNT)) {
		/* Reset every socket as if closed, silently: no messages, events, APCs or
		 * completions; only the handles go back to ws2_32. */
		while (g.sockets)
			close_socket(&b, g.sockets, F(CLEANUP_NOTIFIES),
			             F(CLEANUP_KEEPS_HANDLES) ? 0 : 1);
		/* the late-release variant gives the handles back at its next entry */
		if (F(LATE_RELEASE) && b.head)
			defer_notes(&b, b.head);
		g.gen++;
		g.next_port = MB_EPHEMERAL_FIRST;
		pv_wake_all();
	}
	pv_unlock();
	batch_flush(&b);
	if (final)
		mb_kh_cleanup(); /* the kernel handles of the sockets closed in this session */
	if (F(CLEANUP_RETURNS_ERROR)) {
		if (lpErrno)
			*lpErrno = 0;
		return SOCKET_ERROR;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket creation, binding, connections                                                        */

static SOCKET WSPAPI mb_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                               GROUP g_, DWORD dwFlags, LPINT lpErrno)
{
	struct call c;
	(void)g_;
	(void)dwFlags;
	int e = enter(&c);
	if (e)
		return fail_socket(lpErrno, e);
	if (lpProtocolInfo) {
		if (af == FROM_PROTOCOL_INFO)
			af = lpProtocolInfo->iAddressFamily;
		if (type == FROM_PROTOCOL_INFO)
			type = lpProtocolInfo->iSocketType;
		if (protocol == FROM_PROTOCOL_INFO)
			protocol = lpProtocolInfo->iProtocol;
	}
	if (af != AF_INET)
		return fail_socket(lpErrno, WSAEAFNOSUPPORT);
	if (type == SOCK_STREAM) {
		if (protocol != 0 && protocol != IPPROTO_TCP)
			return fail_socket(lpErrno, WSAEPROTONOSUPPORT);
		protocol = IPPROTO_TCP;
	} else if (type == SOCK_DGRAM) {
		if (protocol != 0 && protocol != IPPROTO_UDP)
			return fail_socket(lpErrno, WSAEPROTONOSUPPORT);
		protocol = IPPROTO_UDP;
	} else {
		return fail_socket(lpErrno, WSAESOCKTNOSUPPORT);
	}

	pv_lock();
	struct mb_socket *o = sock_new(type, protocol, lpProtocolInfo);
	pv_unlock();
	if (!o)
		return fail_socket(lpErrno, WSAENOBUFS);
	SOCKET proposed = propose(&c, &o->kh);

	SOCKET h;
	int wpu;
	e = obtain_handle(&c, o, proposed, &h, &wpu);
	if (e) {
		free_socket(o);
		return fail_socket(lpErrno, e);
	}
	pv_lock();
	if (!still_current(&c)) {
		pv_unlock();
		release_handle(&c, h, wpu);
		free_socket(o);
		return fail_socket(lpErrno, WSANOTINITIALISED);
	}
	give_handle(o, &c, h, wpu, o->kh);
	sock_link(o);
	pv_unlock();
	if (F(NONIFS_RETURNS_CONTEXT) && !c.ifs)
		return (SOCKET)(uintptr_t)o; /* the bug: its own context instead of the handle */
	return h;
}

static int WSPAPI mb_CloseSocket(SOCKET s, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = acquire(&c, s, 1, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	int closes = F(NONIFS_NO_CLOSE_HANDLE) ? 0 : F(DOUBLE_CLOSE_HANDLE) ? 2 : 1;
	close_socket(&b, o, 1, closes);
	pv_unlock();
	batch_flush(&b);
	return 0;
}

static int WSPAPI mb_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	struct call c;
	struct mb_addr a;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	err = addr_parse(name, namelen, &a);
	if (!err && o->bound)
		err = WSAEINVAL;
	if (!err)
		err = bind_to(o, a);
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (o->type != SOCK_STREAM)
		err = WSAEOPNOTSUPP;
	else if (o->connected)
		err = WSAEISCONN;
	else if (!o->bound)
		err = WSAEINVAL;
	if (!err) {
		o->listening = 1;
		o->backlog = backlog < 1 ? 1 : backlog > MB_MAX_BACKLOG ? MB_MAX_BACKLOG : backlog;
	}
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

static int target_matches(const struct mb_socket *l, struct mb_addr to)
{
	if (l->local.port != to.port)
		return 0;
	return (to.ip >> 24) == 127 || to.ip == 0 || to.ip == l->local.ip;
}

static int WSPAPI mb_Connect(SOCKET s, const struct sockaddr *name, int namelen,
                             LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                             LPQOS lpGQOS, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	struct mb_addr to = {0, 0};
	int err;
	(void)lpCallerData;
	(void)lpSQOS;
	(void)lpGQOS;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	err = addr_parse(name, namelen, &to);
	if (err)
		goto out;
	if (lpCalleeData)
		lpCalleeData->len = 0; /* no connect data */

	if (o->type == SOCK_DGRAM) {
		if (to.ip == 0 && to.port == 0) { /* dissolves the default peer */
			o->connected = 0;
			goto out;
		}
		err = autobind(o);
		if (err)
			goto out;
		o->remote = to;
		o->connected = 1;
		goto out;
	}

	if (o->listening) {
		err = WSAEINVAL;
		goto out;
	}
	if (o->connected) {
		err = WSAEISCONN;
		goto out;
	}
	if (to.port == 0) {
		err = WSAEADDRNOTAVAIL;
		goto out;
	}
	struct mb_socket *l = NULL;
	for (struct mb_socket *x = g.sockets; x; x = x->next) {
		if (x->type == SOCK_STREAM && x->listening && !x->closed && target_matches(x, to)) {
			l = x;
			break;
		}
	}
	if (!l || (int)l->queued >= l->backlog) {
		err = WSAECONNREFUSED;
		goto out;
	}
	err = autobind(o);
	if (err)
		goto out;
	struct mb_socket *srv = sock_new(SOCK_STREAM, l->protocol, &l->pinfo);
	if (!srv) {
		err = WSAENOBUFS;
		goto out;
	}
	srv->local.ip = l->local.ip ? l->local.ip : (to.ip ? to.ip : MB_LOOPBACK);
	srv->local.port = l->local.port;
	srv->bound = 1;
	srv->remote = addr_visible(o->local);
	srv->connected = 1;
	srv->peer = o;
	srv->opt_reuseaddr = l->opt_reuseaddr;
	srv->opt_keepalive = l->opt_keepalive;
	srv->opt_rcvbuf = l->opt_rcvbuf;
	srv->opt_sndbuf = l->opt_sndbuf;
	srv->listener = l;
	sock_link(srv);
	if (l->acc_tail)
		l->acc_tail->acc_next = srv;
	else
		l->acc_head = srv;
	l->acc_tail = srv;
	l->queued++;

	o->peer = srv;
	o->connected = 1;
	o->remote = srv->local;
	fire(&b, o, FD_CONNECT);
	refresh(&b, o);
	refresh(&b, l);
	pv_wake_all();
out:
	pv_unlock();
	batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

static SOCKET WSPAPI mb_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                               LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                               LPINT lpErrno)
{
	struct call c;
	struct batch b;
	struct blk k;
	int err;
	(void)lpfnCondition; /* every connection is accepted */
	(void)dwCallbackData;
	struct mb_socket *l = acquire(&c, s, 0, &err);
	if (!l)
		return fail_socket(lpErrno, err);
	batch_init(&b, &c);
	blk_init(&k);
	if (l->type != SOCK_STREAM) {
		err = WSAEOPNOTSUPP;
	} else if (!l->listening) {
		err = WSAEINVAL;
	} else if (addr && (!addrlen || *addrlen < MB_SIN_LEN)) {
		err = WSAEFAULT;
	}
	if (err) {
		pv_unlock();
		return fail_socket(lpErrno, err);
	}

	l->refs++;
	while (!l->closed && !l->acc_head) {
		if (l->nonblocking) {
			err = WSAEWOULDBLOCK;
			break;
		}
		err = blk_wait(&c, &k);
		if (err)
			break;
	}
	blk_end(&k);
	if (!err && l->closed)
		err = WSAEINTR;
	if (err) {
		if (err == WSAEWOULDBLOCK)
			l->fired &= ~FD_ACCEPT;
		sock_unref(l);
		pv_unlock();
		return fail_socket(lpErrno, err);
	}

	/* Dequeue, then get the handle for it outside the lock (this call returns it). */
	struct mb_socket *conn = l->acc_head;
	l->acc_head = conn->acc_next;
	if (!l->acc_head)
		l->acc_tail = NULL;
	l->queued--;
	conn->acc_next = NULL;
	conn->listener = NULL;
	conn->refs++;
	/* The accepted socket inherits the listener's properties, select registrations too. */
	conn->nonblocking = l->nonblocking;
	conn->ev = l->ev;
	conn->ev_mask = l->ev_mask;
	conn->hwnd = l->hwnd;
	conn->wmsg = l->wmsg;
	conn->as_mask = l->as_mask;
	conn->fired = 0;
	l->fired &= ~FD_ACCEPT; /* accept re-enables FD_ACCEPT */
	refresh(&b, l);
	sock_unref(l);
	pv_unlock();
	batch_flush(&b);

	struct mb_kh *kh;
	SOCKET proposed = propose(&c, &kh);
	SOCKET h;
	int wpu;
	err = obtain_handle(&c, conn, proposed, &h, &wpu);
	pv_lock();
	if (err || conn->closed || !still_current(&c)) {
		if (!err)
			err =
			    conn->closed && still_current(&c) ? WSAECONNABORTED : WSANOTINITIALISED;
		else
			h = INVALID_SOCKET;
		if (!conn->closed)
			close_socket(&b, conn, 1, 0); /* the client side sees the connection end */
		sock_unref(conn);
		pv_unlock();
		batch_flush(&b);
		if (h != INVALID_SOCKET)
			release_handle(&c, h, wpu);
		if (kh)
			mb_kh_unref(kh);
		return fail_socket(lpErrno, err);
	}
	give_handle(conn, &c, h, wpu, kh);
	refresh(&b, conn); /* FD_WRITE now, FD_READ/FD_CLOSE if already due */
	if (addr) {
		addr_write(&conn->remote, addr);
		*addrlen = MB_SIN_LEN;
	}
	sock_unref(conn); /* not closed: stays alive */
	pv_unlock();
	batch_flush(&b);
	return h;
}

/* ------------------------------------------------------------------------------------------ */
/* Receiving                                                                                    */

static int recv_ready(const struct mb_socket *o)
{
	if (o->type == SOCK_STREAM)
		return o->rlen > 0 || o->peer_gone;
	return o->dq_head != NULL;
}

static int recv_core(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                     LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
                     LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
                     LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                     LPWSATHREADID lpThreadId, int tid_opened, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	struct blk k;
	int err;
	struct mb_socket *o = acquire(&c, s, 1, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	blk_init(&k);
	DWORD flags = lpFlags ? *lpFlags : 0;
	if (!lpFlags || (dwBufferCount && !lpBuffers) || (!lpOverlapped && !lpNumberOfBytesRecvd) ||
	    (lpOverlapped && lpCompletionRoutine && !lpThreadId) ||
	    (lpFrom && (!lpFromlen || *lpFromlen < MB_SIN_LEN)))
		err = WSAEFAULT;
	else if (flags & ~(DWORD)(MSG_PEEK | MSG_PARTIAL))
		err = WSAEOPNOTSUPP;
	else if (o->type == SOCK_STREAM && (o->listening || !o->connected))
		/* The undocumented-errno variant answers with a send-side code WSPRecv's page does not
		 * list. */
		err = F(UNDOCUMENTED_ERRNO) ? WSAEDESTADDRREQ : WSAENOTCONN;
	else if (o->type == SOCK_DGRAM && !o->bound)
		err = WSAEINVAL;
	else if (o->shut_recv)
		err = WSAESHUTDOWN;
	if (err) {
		pv_unlock();
		return fail(lpErrno, err);
	}
	flags &= (DWORD)MSG_PEEK;

	size_t got = 0;
	int rerr = 0;
	if (lpOverlapped) {
		lpOverlapped->Internal = WSS_OPERATION_IN_PROGRESS;
		if (o->rops_head || !recv_ready(o)) {
			struct mb_op *op = op_new(lpBuffers, dwBufferCount, lpOverlapped,
			                          lpCompletionRoutine, lpThreadId, tid_opened);
			if (!op) {
				lpOverlapped->Internal = 0;
				pv_unlock();
				return fail(lpErrno, WSAENOBUFS);
			}
			op->flags = flags;
			if (o->type == SOCK_DGRAM) {
				op->from = lpFrom;
				op->fromlen = lpFromlen;
			}
			op_append(&o->rops_head, &o->rops_tail, op);
			o->fired &= ~FD_READ;
			pv_unlock();
			return fail(lpErrno, WSA_IO_PENDING);
		}
	} else {
		o->refs++;
		while (!o->closed && !o->shut_recv && !recv_ready(o)) {
			if (o->nonblocking) {
				/* The pending-not-overlapped variant claims an overlapped operation
				 * started although the call passed no WSAOVERLAPPED. */
				err = F(PENDING_NOT_OVERLAPPED) ? WSA_IO_PENDING : WSAEWOULDBLOCK;
				break;
			}
			err = blk_wait(&c, &k);
			if (err)
				break;
		}
		blk_end(&k);
		if (!err && o->closed)
			err = WSAEINTR;
		else if (!err && o->shut_recv)
			err = WSAESHUTDOWN;
		if (err) {
			if (err == WSAEWOULDBLOCK)
				o->fired &= ~FD_READ;
			sock_unref(o);
			pv_unlock();
			return fail(lpErrno, err);
		}
		sock_unref(o); /* not closed: still valid under the lock */
	}

	if (o->type == SOCK_STREAM) {
		got = stream_take(o, lpBuffers, dwBufferCount, flags);
		o->fired &= ~FD_READ; /* recv re-enables FD_READ */
		pump(&b, o);
	} else {
		got = dgram_take(o, lpBuffers, dwBufferCount, flags, lpFrom, lpFromlen, &rerr);
		o->fired &= ~FD_READ;
		refresh(&b, o);
	}
	*lpFlags = 0;
	if (lpNumberOfBytesRecvd)
		*lpNumberOfBytesRecvd = (DWORD)got + (F(RECV_OVERCOUNT) ? 1u : 0u);
	if (lpOverlapped) {
		ov_result(lpOverlapped, (DWORD)rerr, (DWORD)got, 0,
		          !rerr && via_kernel(o, lpCompletionRoutine));
		/* A failure other than WSA_IO_PENDING starts no overlapped operation: no notice. */
		if (!rerr) {
			struct note *last = b.tail;
			deliver(&b, o, lpOverlapped, lpCompletionRoutine, lpThreadId, 0, (DWORD)got,
			        0, tid_opened);
			if (F(LATE_APC) && lpCompletionRoutine)
				defer_notes(&b, last ? last->next : b.head);
		}
	}
	pv_unlock();
	batch_flush(&b);
	return rerr ? fail(lpErrno, rerr) : 0;
}

/*
 * An overlapped call with a completion routine but no lpThreadId (as from a layer above that has
 * none to pass): the provider opens the calling thread with WPUOpenCurrentThread, as the MS LSP
 * sample does, and releases it with WPUCloseThread once the APC is queued (at once when the call
 * completed or failed, else when the operation completes).
 */
static int open_thread(LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine,
                       LPWSATHREADID *tid, WSATHREADID *own, struct call *c, LPINT lpErrno)
{
	int e = 0;
	if (!ov || !routine || *tid)
		return 0;
	e = enter(c);
	if (e)
		return fail(lpErrno, e);
	if (c->up.lpWPUOpenCurrentThread(own, &e) != 0)
		return fail(lpErrno, e ? e : WSAENOBUFS);
	*tid = own;
	return 1;
}

static void close_thread_after(const struct call *c, int opened, int rc, LPINT lpErrno,
                               WSATHREADID *own)
{
	int e = 0;
	/* Success: the completion went out with the APC, and the release with it (deliver);
	 * pending: the operation keeps the thread id. Only a failed call gives it back here. */
	if (opened && rc == SOCKET_ERROR && !(lpErrno && *lpErrno == WSA_IO_PENDING) &&
	    !F(THREAD_LEAK))
		c->up.lpWPUCloseThread(own, &e);
}

static int do_recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                   LPDWORD lpFlags, struct sockaddr *lpFrom, LPINT lpFromlen,
                   LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno)
{
	struct call c;
	WSATHREADID own;
	int opened = open_thread(lpOverlapped, lpCompletionRoutine, &lpThreadId, &own, &c, lpErrno);
	if (opened < 0)
		return SOCKET_ERROR;
	int rc = recv_core(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom,
	                   lpFromlen, lpOverlapped, lpCompletionRoutine, lpThreadId, opened, lpErrno);
	close_thread_after(&c, opened, rc, lpErrno, &own);
	return rc;
}

static int WSPAPI mb_Recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                          LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                          LPWSAOVERLAPPED lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                          LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return do_recv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, NULL, NULL,
	               lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}

static int WSPAPI mb_RecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                              LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                              struct sockaddr *lpFrom, LPINT lpFromlen,
                              LPWSAOVERLAPPED lpOverlapped,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                              LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return do_recv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, lpFrom,
	               lpFromlen, lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}

/* ------------------------------------------------------------------------------------------ */
/* Sending                                                                                      */

static int send_dgram(struct batch *b, struct mb_socket *o, const WSABUF *bufs, DWORD n,
                      const struct mb_addr *to)
{
	size_t total = bufs_total(bufs, n);
	if (total > MB_DGRAM_MAX)
		return WSAEMSGSIZE;
	if (to->port == 0)
		return WSAEADDRNOTAVAIL;
	int err = autobind(o);
	if (err)
		return err;
	struct mb_dgram *d = malloc(sizeof *d + (total ? total : 1));
	if (!d)
		return WSAENOBUFS;
	d->next = NULL;
	d->from = addr_visible(o->local);
	d->len = bufs_gather(bufs, n, 0, d->data, total);
	dgram_deliver(b, d, *to);
	return 0;
}

static int send_core(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                     LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
                     int iTolen, int is_sendto, LPWSAOVERLAPPED lpOverlapped,
                     LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                     LPWSATHREADID lpThreadId, int tid_opened, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	struct blk k;
	struct mb_addr to = {0, 0};
	int err;
	struct mb_socket *o = acquire(&c, s, 1, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	blk_init(&k);
	if ((dwBufferCount && !lpBuffers) || (!lpOverlapped && !lpNumberOfBytesSent) ||
	    (lpOverlapped && lpCompletionRoutine && !lpThreadId))
		err = WSAEFAULT;
	else if (dwFlags & ~(DWORD)(MSG_DONTROUTE | MSG_PARTIAL))
		err = WSAEOPNOTSUPP;
	else if (o->shut_send)
		err = WSAESHUTDOWN;
	else if (o->type == SOCK_STREAM && (o->listening || !o->connected))
		err = WSAENOTCONN;
	else if (o->type == SOCK_STREAM && !o->peer)
		err = WSAECONNRESET;
	else if (o->type == SOCK_DGRAM) {
		if (is_sendto && lpTo)
			err = addr_parse(lpTo, iTolen, &to);
		else if (o->connected)
			to = o->remote;
		else
			err = is_sendto ? WSAEDESTADDRREQ : WSAENOTCONN;
	}
	if (err) {
		pv_unlock();
		return fail(lpErrno, err);
	}

	size_t total = bufs_total(lpBuffers, dwBufferCount);
	size_t sent = 0;
	if (lpOverlapped)
		lpOverlapped->Internal = WSS_OPERATION_IN_PROGRESS;

	if (o->type == SOCK_DGRAM) {
		err = send_dgram(&b, o, lpBuffers, dwBufferCount, &to);
		sent = err ? 0 : total;
	} else if (lpOverlapped) {
		struct mb_socket *p = o->peer;
		if (!o->sops_head)
			sent = stream_push(p, lpBuffers, dwBufferCount, 0, total);
		if (sent < total) {
			struct mb_op *op = op_new(lpBuffers, dwBufferCount, lpOverlapped,
			                          lpCompletionRoutine, lpThreadId, tid_opened);
			if (!op) {
				/* What moved stays sent: report an immediate short send. */
				err = sent ? 0 : WSAENOBUFS;
			} else {
				op->done = sent;
				op_append(&o->sops_head, &o->sops_tail, op);
				pump(&b, p);
				pv_unlock();
				batch_flush(&b);
				return fail(lpErrno, WSA_IO_PENDING);
			}
		}
		if (sent)
			pump(&b, p);
	} else {
		o->refs++;
		for (;;) {
			if (o->closed) {
				err = WSAEINTR;
				break;
			}
			if (o->shut_send) {
				err = WSAESHUTDOWN;
				break;
			}
			if (!o->peer) {
				err = WSAECONNRESET;
				break;
			}
			size_t k1 =
			    stream_push(o->peer, lpBuffers, dwBufferCount, sent, total - sent);
			if (k1) {
				sent += k1;
				pump(&b, o->peer);
			}
			if (sent == total)
				break;
			if (o->nonblocking) {
				if (sent == 0) {
					err = WSAEWOULDBLOCK;
					o->fired &=
					    ~FD_WRITE; /* FD_WRITE comes back when there is room */
				}
				break;
			}
			/* Blocking: deliver what this call caused so far, then wait for room. */
			pv_unlock();
			batch_flush(&b);
			pv_lock();
			err = blk_wait(&c, &k);
			if (err)
				break;
		}
		blk_end(&k);
		sock_unref(o);
		if (err && sent) /* a blocking send cut short still reports what it moved */
			err = 0;
	}

	if (!err) {
		if (lpNumberOfBytesSent)
			*lpNumberOfBytesSent = (DWORD)sent;
		if (lpOverlapped) {
			struct note *last = b.tail;
			ov_result(lpOverlapped, 0, (DWORD)sent, 0,
			          via_kernel(o, lpCompletionRoutine));
			deliver(&b, o, lpOverlapped, lpCompletionRoutine, lpThreadId, 0,
			        (DWORD)sent, 0, tid_opened);
			if (F(LATE_APC) && lpCompletionRoutine)
				defer_notes(&b, last ? last->next : b.head);
		}
	} else if (lpOverlapped) {
		ov_result(lpOverlapped, (DWORD)err, 0, 0, 0);
	}
	pv_unlock();
	batch_flush(&b);
	if (F(SEND_RETURNS_COUNT) && !err && !lpOverlapped)
		return (int)sent; /* the bug: the byte count as the return value */
	return err ? fail(lpErrno, err) : 0;
}

static int do_send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                   DWORD dwFlags, const struct sockaddr *lpTo, int iTolen, int is_sendto,
                   LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno)
{
	struct call c;
	WSATHREADID own;
	int opened = open_thread(lpOverlapped, lpCompletionRoutine, &lpThreadId, &own, &c, lpErrno);
	if (opened < 0)
		return SOCKET_ERROR;
	int rc = send_core(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen,
	                   is_sendto, lpOverlapped, lpCompletionRoutine, lpThreadId, opened, lpErrno);
	close_thread_after(&c, opened, rc, lpErrno, &own);
	return rc;
}

static int WSPAPI mb_Send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                          LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                          LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return do_send(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, NULL, 0, 0,
	               lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}

static int WSPAPI mb_SendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                            LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
                            int iTolen, LPWSAOVERLAPPED lpOverlapped,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                            LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return do_send(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen, 1,
	               lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}

static int WSPAPI mb_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                         LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags,
                                         LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* Shutdown and disconnects                                                                     */

static int shutdown_locked(struct batch *b, struct mb_socket *o, int how)
{
	if (how != SD_RECEIVE && how != SD_SEND && how != SD_BOTH)
		return WSAEINVAL;
	if (o->type == SOCK_STREAM && (o->listening || !o->connected))
		return WSAENOTCONN;
	if (how == SD_RECEIVE || how == SD_BOTH)
		o->shut_recv = 1;
	if ((how == SD_SEND || how == SD_BOTH) && !o->shut_send) {
		o->shut_send = 1;
		if (o->type == SOCK_STREAM && o->peer) {
			o->peer->peer_gone = 1;
			pump(b, o->peer);
		}
	}
	pv_wake_all();
	return 0;
}

static int WSPAPI mb_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	err = shutdown_locked(&b, o, how);
	pv_unlock();
	batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_RecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	err = shutdown_locked(&b, o, SD_RECEIVE);
	if (!err && lpInboundDisconnectData)
		lpInboundDisconnectData->len = 0; /* no disconnect data */
	pv_unlock();
	batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_SendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	(void)lpOutboundDisconnectData; /* no disconnect data is sent */
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	err = shutdown_locked(&b, o, SD_SEND);
	pv_unlock();
	batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Select and network events                                                                    */

struct sel_entry {
	SOCKET s;
	DWORD_PTR ctx;
	struct mb_socket *o;
	int ready;
};

static int WSPAPI mb_Select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                            const PTIMEVAL timeout, LPINT lpErrno)
{
	struct call c;
	struct blk k;
	struct sel_entry *ent = NULL;
	fd_set *sets[3] = {readfds, writefds, exceptfds};
	u_int counts[3] = {0, 0, 0};
	size_t n = 0;
	int err = enter(&c);
	(void)nfds;
	if (err)
		return fail(lpErrno, err);
	if (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0))
		return fail(lpErrno, WSAEINVAL);
	for (int i = 0; i < 3; i++) {
		if (sets[i]) {
			counts[i] = sets[i]->fd_count > FD_SETSIZE ? FD_SETSIZE : sets[i]->fd_count;
			n += counts[i];
		}
	}
	if (n == 0)
		return fail(lpErrno, WSAEINVAL);
	ent = calloc(n, sizeof *ent);
	if (!ent)
		return fail(lpErrno, WSAENOBUFS);
	size_t j = 0;
	for (int i = 0; i < 3; i++) {
		for (u_int m = 0; m < counts[i]; m++, j++) {
			ent[j].s = sets[i]->fd_array[m];
			err = prepare_lookup(&c, ent[j].s, 0, &ent[j].ctx);
			if (err) {
				free(ent);
				return fail(lpErrno, err);
			}
		}
	}

	pv_lock();
	if (!still_current(&c)) {
		pv_unlock();
		free(ent);
		return fail(lpErrno, WSANOTINITIALISED);
	}
	for (j = 0; j < n; j++) {
		ent[j].o = lookup_locked(&c, ent[j].s, ent[j].ctx);
		if (!ent[j].o) {
			pv_unlock();
			free(ent);
			return fail(lpErrno, unknown_handle_error());
		}
	}
	for (j = 0; j < n; j++)
		ent[j].o->refs++;

	blk_init(&k);
	if (timeout && (timeout->tv_sec || timeout->tv_usec)) {
		k.has_deadline = 1;
		k.deadline = pv_now_ms() + (uint64_t)timeout->tv_sec * 1000u +
		             ((uint64_t)timeout->tv_usec + 999u) / 1000u;
	}
	int total;
	for (;;) {
		total = 0;
		for (j = 0; j < n; j++) {
			if (ent[j].o->closed) {
				err = WSAEINTR;
				break;
			}
		}
		if (err)
			break;
		j = 0;
		for (int i = 0; i < 3; i++)
			for (u_int m = 0; m < counts[i]; m++, j++)
				if ((i == 0 && is_readable(ent[j].o)) ||
				    (i == 1 && is_writable(ent[j].o)))
					total++;
		if (total > 0 || (timeout && !timeout->tv_sec && !timeout->tv_usec))
			break;
		err = blk_wait(&c, &k);
		if (err == WSAETIMEDOUT) {
			err = 0;
			break;
		}
		if (err)
			break;
	}
	blk_end(&k);
	if (!err) {
		for (j = 0; j < n; j++)
			ent[j].ready = 0;
		j = 0;
		for (int i = 0; i < 3; i++)
			for (u_int m = 0; m < counts[i]; m++, j++)
				ent[j].ready = (i == 0 && is_readable(ent[j].o)) ||
				               (i == 1 && is_writable(ent[j].o));
	}
	for (j = 0; j < n; j++)
		sock_unref(ent[j].o);
	pv_unlock();
	if (!err) {
		/* The result sets are written in place, each socket once: WPUFDIsSet tells whether
		 * a socket the client named twice is already in the set being built. */
		total = 0;
		j = 0;
		for (int i = 0; i < 3; i++) {
			if (!sets[i])
				continue;
			sets[i]->fd_count = 0;
			for (u_int m = 0; m < counts[i]; m++, j++)
				if (ent[j].ready && !c.up.lpWPUFDIsSet(ent[j].s, sets[i]))
					sets[i]->fd_array[sets[i]->fd_count++] = ent[j].s;
			total += (int)sets[i]->fd_count;
		}
		if (F(SELECT_MISCOUNT))
			total++; /* the bug: the count disagrees with the sets */
	}
	free(ent);
	return err ? fail(lpErrno, err) : total;
}

static int WSPAPI mb_EventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                 LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	if (lNetworkEvents && !hEventObject) {
		pv_unlock();
		return fail(lpErrno, WSAEINVAL);
	}
	o->as_mask = 0; /* cancels any WSPAsyncSelect */
	o->hwnd = NULL;
	if (!(F(SETEVENT_STALE_EVENT) && o->ev)) /* the bug: the first event stays */
		o->ev = lNetworkEvents ? hEventObject : NULL;
	o->ev_mask = lNetworkEvents & FD_ALL_EVENTS;
	o->fired = 0;
	o->nonblocking = 1;
	refresh(&b, o);
	pv_unlock();
	batch_flush(&b);
	return 0;
}

static int WSPAPI mb_AsyncSelect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	if (lEvent && !hWnd) {
		pv_unlock();
		return fail(lpErrno, WSAEINVAL);
	}
	o->ev_mask = 0; /* cancels any WSPEventSelect */
	o->ev = NULL;
	if (F(POST_AFTER_CANCEL) && !lEvent) {
		/* the bug: a zero lEvent leaves the registration in place */
		pv_unlock();
		return 0;
	}
	o->hwnd = lEvent ? hWnd : NULL;
	o->wmsg = wMsg;
	o->as_mask = lEvent & FD_ALL_EVENTS;
	o->fired = 0;
	o->nonblocking = 1;
	refresh(&b, o);
	pv_unlock();
	batch_flush(&b);
	return 0;
}

static int WSPAPI mb_EnumNetworkEvents(SOCKET s, WSAEVENT hEventObject,
                                       LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (!lpNetworkEvents) {
		pv_unlock();
		return fail(lpErrno, WSAEFAULT);
	}
	if (hEventObject) {
		/* Reset first, then read: an event recorded in between leaves the object signalled,
		 * which costs a spurious wake-up at most, never a lost event. */
		int e = 0;
		o->refs++;
		pv_unlock();
		BOOL ok = MB_OS_NOTIFY ? ResetEvent(hEventObject)
		                       : c.up.lpWPUResetEvent(hEventObject, &e);
		pv_lock();
		int closed = o->closed;
		sock_unref(o);
		if (closed) {
			pv_unlock();
			return fail(lpErrno, WSAENOTSOCK);
		}
		if (!ok) {
			pv_unlock();
			return fail(lpErrno, e ? e : WSA_INVALID_HANDLE);
		}
	}
	memset(lpNetworkEvents, 0, sizeof *lpNetworkEvents);
	lpNetworkEvents->lNetworkEvents = o->ev_recorded;
	o->ev_recorded = 0;
	pv_unlock();
	return 0;
}

/* An operation of o's that left mockbase's queues and whose kernel completion (kernel_complete) has
 * not written its status yet. The kernel writes InternalHigh before Internal. */
static int kernel_pending(const struct mb_socket *o, LPWSAOVERLAPPED ov)
{
	return o->kernel &&
	       *(volatile ULONG_PTR *)&ov->Internal == (ULONG_PTR)WSS_OPERATION_IN_PROGRESS;
}

static int WSPAPI mb_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                         LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags,
                                         LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail_bool(lpErrno, err);
	if (!lpOverlapped || !lpcbTransfer || !lpdwFlags) {
		pv_unlock();
		return fail_bool(lpErrno, WSAEFAULT);
	}
	o->refs++;
	struct mb_waiter w = {NULL, 0};
	if (fWait && op_is_pending(o, lpOverlapped)) {
		/* Something to wait on: an event from WPUCreateEvent that the completion signals. */
		int e = 0;
		pv_unlock();
		w.ev = c.up.lpWPUCreateEvent(&e);
		pv_lock();
		struct mb_op *op = NULL;
		for (struct mb_op *x = o->rops_head; x && !op; x = x->next)
			if (x->ov == lpOverlapped)
				op = x;
		for (struct mb_op *x = o->sops_head; x && !op; x = x->next)
			if (x->ov == lpOverlapped)
				op = x;
		if (w.ev && op && !op->waiter)
			op->waiter = &w;
		else
			w.signalled = 1;
	}
	while (!o->closed && op_is_pending(o, lpOverlapped)) {
		if (!fWait) {
			sock_unref(o);
			pv_unlock();
			return fail_bool(lpErrno, WSA_IO_INCOMPLETE);
		}
		pv_wait_ms(MB_SLICE_MS);
	}
	/* The completion is delivered to the event outside the lock: wait for that too. */
	while (w.ev && !w.signalled)
		pv_wait_ms(MB_SLICE_MS);
	/* Through the kernel: done once the kernel has written the status (kernel_complete). */
	while (kernel_pending(o, lpOverlapped)) {
		if (!fWait) { /* (no waiter event: that is for fWait) */
			sock_unref(o);
			pv_unlock();
			return fail_bool(lpErrno, WSA_IO_INCOMPLETE);
		}
		pv_wait_ms(MB_SLICE_MS);
	}
	if (w.ev) {
		int e = 0;
		pv_unlock();
		c.up.lpWPUCloseEvent(w.ev, &e);
		pv_lock();
	}
	sock_unref(o);
	*lpcbTransfer = (DWORD)lpOverlapped->InternalHigh;
	*lpdwFlags = lpOverlapped->Offset;
	DWORD e = lpOverlapped->OffsetHigh;
	pv_unlock();
	if (e)
		return fail_bool(lpErrno, (int)e);
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* Options, ioctls and names                                                                    */

static int *int_option(struct mb_socket *o, int optname)
{
	switch (optname) {
	case SO_RCVBUF:
		return &o->opt_rcvbuf;
	case SO_SNDBUF:
		return &o->opt_sndbuf;
	case SO_REUSEADDR:
		return &o->opt_reuseaddr;
	case SO_KEEPALIVE:
		return &o->opt_keepalive;
	default:
		return NULL;
	}
}

static int WSPAPI mb_GetSockOpt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                                LPINT lpErrno)
{
	struct call c;
	int err;
	int v = 0;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (!optval || !optlen) {
		err = WSAEFAULT;
	} else if (level != SOL_SOCKET) {
		err = (level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_UDP)
		          ? WSAENOPROTOOPT
		          : WSAEINVAL;
	} else if (optname == SO_PROTOCOL_INFOW) {
		if (*optlen < (int)sizeof(WSAPROTOCOL_INFOW)) {
			err = WSAEFAULT;
		} else {
			memcpy(optval, &o->pinfo, sizeof(WSAPROTOCOL_INFOW));
			*optlen = (int)sizeof(WSAPROTOCOL_INFOW);
		}
		pv_unlock();
		return err ? fail(lpErrno, err) : 0;
	} else {
		int *p = int_option(o, optname);
		if (p)
			v = *p;
		else if (optname == SO_TYPE)
			v = o->type;
		else if (optname == SO_ERROR)
			v = o->so_error;
		else if (optname == SO_ACCEPTCONN)
			v = o->listening;
		else
			err = WSAENOPROTOOPT;
		if (!err && *optlen < (int)sizeof(int))
			err = WSAEFAULT;
		if (!err) {
			memcpy(optval, &v, sizeof v);
			*optlen = (int)sizeof(int);
			if (optname == SO_ERROR)
				o->so_error = 0;
		}
	}
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_SetSockOpt(SOCKET s, int level, int optname, const char *optval, int optlen,
                                LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	int *p = int_option(o, optname);
	if (level != SOL_SOCKET) {
		err = (level == IPPROTO_TCP || level == IPPROTO_IP || level == IPPROTO_UDP)
		          ? WSAENOPROTOOPT
		          : WSAEINVAL;
	} else if (!p) {
		err = WSAENOPROTOOPT;
	} else if (!optval || optlen < (int)sizeof(int)) {
		err = WSAEFAULT;
	} else {
		int v;
		memcpy(&v, optval, sizeof v);
		if (optname == SO_REUSEADDR || optname == SO_KEEPALIVE)
			v = v != 0;
		*p = v;
	}
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_Ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                           LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                           LPWSAOVERLAPPED lpOverlapped,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	DWORD returned = 0;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	batch_init(&b, &c);
	if ((!lpOverlapped && !lpcbBytesReturned) ||
	    (lpOverlapped && lpCompletionRoutine && !lpThreadId)) {
		err = WSAEFAULT;
	} else if (dwIoControlCode == (DWORD)FIONBIO) {
		u_long v;
		if (!lpvInBuffer || cbInBuffer < sizeof v) {
			err = WSAEFAULT;
		} else {
			memcpy(&v, lpvInBuffer, sizeof v);
			if (!v && (o->ev_mask || o->as_mask))
				err = WSAEINVAL; /* cannot go blocking while selected */
			else
				o->nonblocking = v != 0;
		}
	} else if (dwIoControlCode == (DWORD)FIONREAD) {
		u_long v;
		if (!lpvOutBuffer || cbOutBuffer < sizeof v) {
			err = WSAEFAULT;
		} else {
			v = (u_long)(o->type == SOCK_STREAM ? o->rlen : o->dq_bytes);
			memcpy(lpvOutBuffer, &v, sizeof v);
			returned = (DWORD)sizeof v;
		}
	} else {
		err = WSAEINVAL;
	}
	if (!err) {
		if (lpcbBytesReturned)
			*lpcbBytesReturned = returned;
		if (lpOverlapped) {
			ov_result(lpOverlapped, 0, returned, 0, via_kernel(o, lpCompletionRoutine));
			deliver(&b, o, lpOverlapped, lpCompletionRoutine, lpThreadId, 0, returned,
			        0, 0);
		}
	}
	pv_unlock();
	batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_GetSockName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (!o->bound) {
		err = WSAEINVAL;
	} else {
		struct mb_addr a = o->connected ? addr_visible(o->local) : o->local;
		err = addr_out(&a, name, namelen);
	}
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

static int WSPAPI mb_GetPeerName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (!o->connected || o->listening)
		err = WSAENOTCONN;
	else
		err = addr_out(&o->remote, name, namelen);
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* What this provider does not support                                                          */

static int WSPAPI mb_DuplicateSocket(SOCKET s, DWORD dwProcessId,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	struct call c;
	int err;
	(void)dwProcessId;
	(void)lpProtocolInfo;
	if (!acquire(&c, s, 0, &err))
		return fail(lpErrno, err);
	pv_unlock();
	return fail(lpErrno, WSAEOPNOTSUPP);
}

static SOCKET WSPAPI mb_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen,
                                 LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                 LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
	struct call c;
	int err;
	(void)name;
	(void)namelen;
	(void)lpCallerData;
	(void)lpCalleeData;
	(void)lpSQOS;
	(void)lpGQOS;
	(void)dwFlags;
	if (!acquire(&c, s, 0, &err))
		return fail_socket(lpErrno, err);
	pv_unlock();
	return fail_socket(lpErrno, WSAEOPNOTSUPP);
}

static BOOL WSPAPI mb_GetQOSByName(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno)
{
	struct call c;
	int err;
	(void)lpQOSName;
	(void)lpQOS;
	if (!acquire(&c, s, 0, &err))
		return fail_bool(lpErrno, err);
	pv_unlock();
	return fail_bool(lpErrno, WSAEOPNOTSUPP);
}

static int WSPAPI mb_CancelBlockingCall(LPINT lpErrno)
{
	pv_lock();
	if (g.startups <= 0) {
		pv_unlock();
		return fail(lpErrno, WSANOTINITIALISED);
	}
	if (g.blocking == 0) {
		pv_unlock();
		return fail(lpErrno, WSAEINVAL);
	}
	g.cancel_gen++;
	pv_wake_all();
	pv_unlock();
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Address strings ("a.b.c.d:port", WCHARs)                                                     */

static int WSPAPI mb_AddressToString(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                                     LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
	struct call c;
	struct mb_addr a;
	char text[32];
	(void)lpProtocolInfo;
	int err = enter(&c);
	if (err)
		return fail(lpErrno, err);
	if (!lpdwAddressStringLength || dwAddressLength > 0x7fffffffu)
		return fail(lpErrno, WSAEFAULT);
	err = addr_parse(lpsaAddress, (int)dwAddressLength, &a);
	if (err)
		return fail(lpErrno, err == WSAEAFNOSUPPORT ? WSAEINVAL : err);
	/* Built by hand: no sprintf family in a provider that must stay locale-independent. */
	size_t n = 0;
	for (int i = 3; i >= 0; i--) {
		unsigned v = (a.ip >> (i * 8)) & 0xffu;
		if (v >= 100)
			text[n++] = (char)('0' + v / 100);
		if (v >= 10)
			text[n++] = (char)('0' + (v / 10) % 10);
		text[n++] = (char)('0' + v % 10);
		if (i)
			text[n++] = '.';
	}
	if (a.port) { /* as Winsock does, a zero port is left out */
		char digits[6];
		int d = 0;
		unsigned p = a.port;
		do {
			digits[d++] = (char)('0' + p % 10);
			p /= 10;
		} while (p);
		text[n++] = ':';
		while (d)
			text[n++] = digits[--d];
	}
	DWORD need = (DWORD)n + 1; /* characters, NUL included */
	if (!lpszAddressString || *lpdwAddressStringLength < need) {
		*lpdwAddressStringLength = need;
		return fail(lpErrno, WSAEFAULT);
	}
	for (size_t i = 0; i < n; i++)
		lpszAddressString[i] = (WCHAR)(unsigned char)text[i];
	lpszAddressString[n] = 0;
	*lpdwAddressStringLength = need;
	return 0;
}

/* Parses an unsigned decimal of at most max; advances *p. */
static int parse_uint(const WCHAR **p, unsigned max, unsigned *out)
{
	unsigned v = 0;
	int digits = 0;
	while (**p >= '0' && **p <= '9') {
		v = v * 10 + (unsigned)(**p - '0');
		if (v > max || ++digits > 5)
			return -1;
		(*p)++;
	}
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

static int WSPAPI mb_StringToAddress(LPWSTR AddressString, INT AddressFamily,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                                     LPINT lpAddressLength, LPINT lpErrno)
{
	struct call c;
	struct mb_addr a = {0, 0};
	(void)lpProtocolInfo;
	int err = enter(&c);
	if (err)
		return fail(lpErrno, err);
	if (!AddressString || !lpAddressLength)
		return fail(lpErrno, WSAEFAULT);
	if (AddressFamily != AF_INET)
		return fail(lpErrno, WSAEINVAL);
	const WCHAR *p = AddressString;
	for (int i = 0; i < 4; i++) {
		unsigned v;
		if (parse_uint(&p, 255, &v) != 0)
			return fail(lpErrno, WSAEINVAL);
		a.ip = (a.ip << 8) | v;
		if (i < 3) {
			if (*p != '.')
				return fail(lpErrno, WSAEINVAL);
			p++;
		}
	}
	if (*p == ':') {
		unsigned v;
		p++;
		if (parse_uint(&p, 65535, &v) != 0)
			return fail(lpErrno, WSAEINVAL);
		a.port = (uint16_t)v;
	}
	if (*p != 0)
		return fail(lpErrno, WSAEINVAL);
	if (!lpAddress || *lpAddressLength < MB_SIN_LEN) {
		*lpAddressLength = MB_SIN_LEN;
		return fail(lpErrno, WSAEFAULT);
	}
	addr_write(&a, lpAddress);
	*lpAddressLength = MB_SIN_LEN;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPStartup: the only export                                                                  */

static WORD version_min(WORD a, WORD b)
{
	if (LOBYTE(a) != LOBYTE(b))
		return LOBYTE(a) < LOBYTE(b) ? a : b;
	return HIBYTE(a) <= HIBYTE(b) ? a : b;
}

static void fill_proc_table(LPWSPPROC_TABLE t)
{
	memset(t, 0, sizeof *t);
	t->lpWSPAccept = mb_Accept;
	t->lpWSPAddressToString = mb_AddressToString;
	t->lpWSPAsyncSelect = mb_AsyncSelect;
	t->lpWSPBind = mb_Bind;
	t->lpWSPCancelBlockingCall = mb_CancelBlockingCall;
	t->lpWSPCleanup = mb_Cleanup;
	t->lpWSPCloseSocket = mb_CloseSocket;
	t->lpWSPConnect = mb_Connect;
	t->lpWSPDuplicateSocket = mb_DuplicateSocket;
	t->lpWSPEnumNetworkEvents = mb_EnumNetworkEvents;
	t->lpWSPEventSelect = mb_EventSelect;
	t->lpWSPGetOverlappedResult = mb_GetOverlappedResult;
	t->lpWSPGetPeerName = mb_GetPeerName;
	t->lpWSPGetSockName = mb_GetSockName;
	t->lpWSPGetSockOpt = mb_GetSockOpt;
	t->lpWSPGetQOSByName = F(PROCTABLE_HOLE) ? NULL : mb_GetQOSByName;
	t->lpWSPIoctl = mb_Ioctl;
	t->lpWSPJoinLeaf = mb_JoinLeaf;
	t->lpWSPListen = mb_Listen;
	t->lpWSPRecv = mb_Recv;
	t->lpWSPRecvDisconnect = mb_RecvDisconnect;
	t->lpWSPRecvFrom = mb_RecvFrom;
	t->lpWSPSelect = mb_Select;
	t->lpWSPSend = mb_Send;
	t->lpWSPSendDisconnect = mb_SendDisconnect;
	t->lpWSPSendTo = mb_SendTo;
	t->lpWSPSetSockOpt = mb_SetSockOpt;
	t->lpWSPShutdown = mb_Shutdown;
	t->lpWSPSocket = mb_Socket;
	t->lpWSPStringToAddress = mb_StringToAddress;
}

WSPH_PROVIDER_EXPORT MB_STARTUP_ATTR int WSPAPI WSPStartup(WORD wVersionRequested,
                                                           LPWSPDATA lpWSPData,
                                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                                           WSPUPCALLTABLE UpcallTable,
                                                           LPWSPPROC_TABLE lpProcTable)
{
	const WORD high = MAKEWORD(2, 2);
	if (!lpWSPData || !lpProcTable)
		return WSAEFAULT;
	if (LOBYTE(wVersionRequested) < 2 && !F(ACCEPTS_OLD_VERSION))
		return WSAVERNOTSUPPORTED;
	if (F(STARTUP_EINVAL) && LOBYTE(wVersionRequested) > 2)
		return WSAEINVAL; /* the bug: an undocumented code (and a refusal it need not make) */
	if (F(NO_REINIT) && g_cleaned_up)
		return WSASYSNOTREADY; /* the bug: cannot start again after the final cleanup */

	pv_lock();
	if (!F(FIRST_TABLE_ONLY) || !g_table_taken)
		g.up = UpcallTable; /* a copy, and the most recent one wins */
	g_table_taken = 1;
	if (F(KEEPS_UPCALL_POINTER)) {
		/* The bug: remember where the by-value parameter lives instead of copying it. */
		uintptr_t where = (uintptr_t)&UpcallTable;
		g.upp = (const WSPUPCALLTABLE *)where;
	} else {
		g.upp = &g.up;
	}
	if (g.startups == 0) {
		g.next_port = MB_EPHEMERAL_FIRST;
		g.sockets = NULL;
	}
	if (lpProtocolInfo) {
		g.catalog = lpProtocolInfo->dwCatalogEntryId;
		g.ifs = (lpProtocolInfo->dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
		g.pinfo = *lpProtocolInfo;
		g.have_pinfo = 1;
	} else {
		g.catalog = 0;
		g.ifs = 0;
		g.have_pinfo = 0;
	}
	int first = g.startups == 0;
	WSPUPCALLTABLE up = g.up;
	g.startups++;
	pv_unlock();

	if (F(OPENS_THREAD_IN_STARTUP) && first) {
		/* the bug: a thread id asked for before any WSPStartup has succeeded */
		WSATHREADID t;
		int e = 0;
		if (up.lpWPUOpenCurrentThread(&t, &e) == 0)
			up.lpWPUCloseThread(&t, &e);
	}
	if (first && lpProtocolInfo) {
		/* Where the provider is installed (a provider that loads helper files from its own
		 * folder asks this way); only ws2_32 knows, and the path may hold %variables%. */
		WCHAR path[260];
		int len = (int)(sizeof path / sizeof path[0]), e = 0;
		if (up.lpWPUGetProviderPath(&lpProtocolInfo->ProviderId, path, &len, &e) != 0)
			path[0] = 0; /* not needed to work */
	}

	lpWSPData->wHighVersion = high;
	lpWSPData->wVersion = F(VERSION_MAX) ? high : version_min(wVersionRequested, high);
	static const char desc[] = MB_DESCRIPTION;
	memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
	for (size_t i = 0; i < sizeof desc - 1 && i < WSPDESCRIPTION_LEN; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)desc[i];
	if (F(NO_DESCRIPTION)) /* the bug: no terminating NUL anywhere in the 256 WCHARs */
		for (size_t i = 0; i <= WSPDESCRIPTION_LEN; i++)
			lpWSPData->szDescription[i] = (WCHAR)'x';
	fill_proc_table(lpProcTable);
	return 0;
}

#ifdef MOCKBASE_FAULT_DLLMAIN_NETWORK
/* The bug: the provider asks ws2_32 for the catalog while its DllMain runs (on POSIX, from a
 * constructor and a destructor of the .so, which run inside dlopen and dlclose as DllMain runs
 * inside LoadLibrary and FreeLibrary). */
static void mb_dllmain_network(void)
{
	DWORD len = 0;
	INT err = 0;
	(void)WSCEnumProtocols(NULL, NULL, &len, &err);
}

#ifdef _WIN32
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH || reason == DLL_PROCESS_DETACH)
		mb_dllmain_network();
	return TRUE;
}
#else
__attribute__((constructor)) static void mb_dll_attach(void)
{
	mb_dllmain_network();
}

__attribute__((destructor)) static void mb_dll_detach(void)
{
	mb_dllmain_network();
}
#endif
#endif
