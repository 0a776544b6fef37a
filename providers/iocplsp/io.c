/* iocplsp: overlapped requests on the next provider, completed through one I/O completion port. */
#include <stdlib.h>
#include <string.h>

#include "iocplsp.h"

/*
 * A client's overlapped WSPSend/WSPSendTo/WSPRecv/WSPRecvFrom/WSPIoctl becomes a request: the
 * lower call is made with the request's own WSAOVERLAPPED (no completion routine), and the
 * request's completion comes back through the completion port:
 *  - a lower handle that is a kernel handle (an IFS base's) is associated with the port when its
 *    socket is made, so its completions are queued there by the system (key KEY_PORT);
 *  - one that is not (a non-IFS base's handles come from WPUCreateSocketHandle) cannot be; its
 *    requests carry an event from WPUCreateEvent, watched by the thread pool
 *    (RegisterWaitForSingleObject), whose callback posts the request to the same port (KEY_WAIT).
 *    With IOCPLSP_REQUIRE_PORT=1 such a socket is refused instead (WSAENOBUFS).
 * The worker threads take a request from the port, ask the lower WSPGetOverlappedResult for its
 * result and tell the client: WPUQueueApc (to the thread id WPUOpenCurrentThread gave in the
 * client's call; WPUCloseThread follows) when the client gave a completion routine, otherwise
 * WPUCompleteOverlappedRequest on the client's handle and WSAOVERLAPPED.
 *
 * Exactly once: whoever tells the client (a worker; the client's own call when the lower call
 * completed at once; WSPGetOverlappedResult; WSPCloseSocket, which completes what is pending
 * before it gives the client's handle back) first sets client_done under the lock. The final
 * WSPCleanup sets it for everything pending: cancelled without a word. Every request also gets one
 * thread id from WPUOpenCurrentThread in the client's call (the lower call carries it), released
 * once the request is over on both sides (retire_if_over).
 *
 * In port mode the lower provider must produce exactly one completion packet for every lower call
 * that returned 0 or WSA_IO_PENDING, as the system does for a kernel handle (this layer does not
 * set FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).
 */

#define KEY_PORT 1 /* a completion the system queued for an associated lower handle */
#define KEY_WAIT 2 /* posted by the thread pool when a fallback request's event was signalled */
#define KEY_QUIT 3 /* a worker ends */

static int fail(LPINT lpErrno, int err)
{
	*lpErrno = err ? err : WSAEINVAL;
	return SOCKET_ERROR;
}

static uint64_t elapsed_since(uint64_t t0)
{
	return (uint64_t)GetTickCount64() - t0;
}

/* ------------------------------------------------------------------------------------------ */
/* The port and its workers                                                                     */

static int port_ensure_locked(void)
{
	if (!g.port)
		g.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, IOCPLSP_WORKERS);
	return g.port ? 0 : WSAENOBUFS;
}

/* A new socket's lower handle joins the port, or its requests will use the fallback. */
int io_attach(struct sock *k)
{
	lock();
	int rc = port_ensure_locked();
	HANDLE port = g.port;
	int require = g.require_port;
	unlock();
	if (rc)
		return rc;
	if (CreateIoCompletionPort((HANDLE)k->lower, port, KEY_PORT, 0)) {
		k->via_port = 1;
		return 0;
	}
	return require ? WSAENOBUFS : 0;
}

static void req_unref_locked(struct req *r)
{
	if (--r->refs == 0)
		free(r);
}

static void req_unref(struct req *r)
{
	lock();
	req_unref_locked(r);
	unlock();
}

/* The request a packet names, with a reference, or NULL (not one of this layer's requests: the
 * port takes every completion of an associated handle, whoever started the I/O). */
static struct req *take_packet(LPOVERLAPPED ov)
{
	struct req *r;
	lock();
	for (r = g.reqs; r && (LPOVERLAPPED)&r->lov != ov; r = r->next)
		;
	if (r)
		r->refs++;
	unlock();
	return r;
}

/* The lower provider's result for a request: 1 (complete, *err 0 or its error) or 0 (not yet). */
static int lower_result(struct sock *k, struct req *r, BOOL wait, DWORD *err, DWORD *cb, DWORD *fl)
{
	int e = WSA_IO_INCOMPLETE;
	*cb = 0;
	*fl = 0;
	lock();
	int usable = !k->lower_closing;
	if (usable)
		k->lower_users++;
	unlock();
	if (!usable)
		return 0;
	BOOL ok = k->lp->procs.lpWSPGetOverlappedResult(k->lower, &r->lov, cb, wait, fl, &e);
	lock();
	k->lower_users--;
	wake_all();
	unlock();
	if (!ok && e == WSA_IO_INCOMPLETE)
		return 0;
	*err = ok ? 0 : (DWORD)e;
	return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Telling the client                                                                           */

struct apc_ctx {
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	DWORD err, bytes, flags;
	LPWSAOVERLAPPED cov;
};

/* This layer's APC, in the client's thread: calls the client's routine. Self-contained (it may
 * run after the request, or even the final WSPCleanup, is over). */
static void CALLBACK client_apc(DWORD_PTR context)
{
	struct apc_ctx *a = (struct apc_ctx *)context;
	a->routine(a->err, a->bytes, a->cov, a->flags);
	free(a);
}

static void deliver(struct req *r, DWORD err, DWORD bytes, DWORD flags)
{
	LPWSAOVERLAPPED cov = r->cov;
	int e = 0;
	/* What WSPGetOverlappedResult reads once the request is over. */
	cov->InternalHigh = bytes;
	cov->Offset = flags;
	cov->OffsetHigh = err;
	if (!r->routine) {
		WPUCompleteOverlappedRequest(r->k->upper, cov, err, bytes, &e);
		return;
	}
	cov->Internal = 0;
	struct apc_ctx *a = malloc(sizeof *a);
	if (!a)
		return;
	a->routine = r->routine;
	a->err = err;
	a->bytes = bytes;
	a->flags = flags;
	a->cov = cov;
	if (up()->lpWPUQueueApc(&r->tid, client_apc, (DWORD_PTR)a, &e) != 0)
		free(a);
}

static void retire_if_over(struct req *r);

/* Tells the client, unless it was told (or the final WSPCleanup began) already. */
static void tell(struct req *r, DWORD err, DWORD bytes, DWORD flags)
{
	lock();
	int go = !r->client_done && !g.final;
	if (go) {
		r->client_done = 1;
		r->k->delivering++;
	}
	unlock();
	if (!go)
		return;
	deliver(r, err, bytes, flags);
	lock();
	r->told = 1;
	r->k->delivering--;
	wake_all();
	unlock();
	retire_if_over(r);
}

/* ------------------------------------------------------------------------------------------ */
/* A request's life                                                                             */

static void unwatch(struct req *r)
{
	HANDLE w = InterlockedExchangePointer((PVOID volatile *)&r->wait, NULL);
	if (w)
		UnregisterWaitEx(w, INVALID_HANDLE_VALUE); /* and its callback is over */
}

/* Gives back what the request holds (the wait, its event, its thread id) and forgets it. The
 * upcalls come before it leaves the list: the final WSPCleanup returns only once it is empty. */
static void retire(struct req *r)
{
	unwatch(r);
	int e = 0;
	if (r->ev)
		up()->lpWPUCloseEvent(r->ev, &e);
	/* The faulty variant forgets the thread id of a request whose routine it queued. */
	if (!(F_NO_CLOSE_THREAD && r->routine))
		up()->lpWPUCloseThread(&r->tid, &e);
	lock();
	for (struct req **pp = &g.reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	sock_unref_locked(r->k);
	req_unref_locked(r);
	wake_all();
	unlock();
}

/* With the lock held: whether the caller is the one to retire r now (once). */
static int take_retire_locked(struct req *r)
{
	if (r->retiring)
		return 0;
	r->retiring = 1;
	return 1;
}

/*
 * A request is over once both of its sides are: the lower provider's completion was taken (or
 * none will come), and the client was told (or never will be). Whoever finishes the second side
 * retires it: the thread id must outlive the APC that goes to it.
 */
static void retire_if_over(struct req *r)
{
	lock();
	int go = r->lower_seen && r->client_done && r->told && take_retire_locked(r);
	unlock();
	if (go)
		retire(r);
}

/* A worker's share of a completed request: the lower result, the client told. After the lower
 * handle's close began, WSPCloseSocket tells the client itself. */
static void finish(struct req *r)
{
	lock();
	r->lower_seen = 1;
	int want = !r->client_done && !g.final;
	unlock();
	DWORD err = 0, cb = 0, fl = 0;
	if (want && lower_result(r->k, r, FALSE, &err, &cb, &fl))
		tell(r, err, cb, fl);
	retire_if_over(r);
}

static DWORD WINAPI worker(LPVOID arg)
{
	HANDLE port = arg;
	for (;;) {
		DWORD bytes = 0;
		ULONG_PTR key = 0;
		LPOVERLAPPED ov = NULL;
		BOOL ok = GetQueuedCompletionStatus(port, &bytes, &key, &ov, INFINITE);
		if (!ov) {
			if (ok && key == KEY_QUIT)
				break;
			if (!ok && GetLastError() != WAIT_TIMEOUT)
				break; /* the port is gone */
			continue;
		}
		struct req *r = take_packet(ov);
		if (!r)
			continue;
		finish(r);
		req_unref(r);
	}
	return 0;
}

/* The workers start with the first request. */
static int workers_ensure(void)
{
	lock();
	int rc = port_ensure_locked();
	while (!rc && g.n_workers < IOCPLSP_WORKERS) {
		HANDLE t = CreateThread(NULL, 0, worker, g.port, 0, NULL);
		if (!t) {
			rc = g.n_workers ? 0 : WSAENOBUFS;
			break;
		}
		g.workers[g.n_workers++] = t;
	}
	unlock();
	return rc;
}

/* The thread pool's callback: the fallback event was signalled; the port takes it from here. */
static VOID CALLBACK wait_fired(PVOID context, BOOLEAN timed_out)
{
	struct req *r = context;
	(void)timed_out;
	lock();
	r->posted = 1;
	HANDLE port = g.port;
	unlock();
	PostQueuedCompletionStatus(port, 0, KEY_WAIT, (LPOVERLAPPED)&r->lov);
}

/* The request's own resources, before the lower call: 0 or the error (nothing held then). */
static int req_prepare(struct req *r)
{
	int e = 0;
	if (up()->lpWPUOpenCurrentThread(&r->tid, &e) != 0)
		return e ? e : WSAENOBUFS;
	if (r->via_port)
		return 0;
	r->ev = up()->lpWPUCreateEvent(&e);
	if (r->ev == WSA_INVALID_EVENT) {
		r->ev = NULL;
		e = e ? e : WSAENOBUFS;
	} else {
		r->lov.hEvent = r->ev;
		HANDLE w = NULL;
		if (RegisterWaitForSingleObject(&w, r->ev, wait_fired, r, INFINITE,
		                                WT_EXECUTEONLYONCE)) {
			r->wait = w;
			return 0;
		}
		up()->lpWPUCloseEvent(r->ev, &e);
		e = WSAENOBUFS;
	}
	int e2 = 0;
	up()->lpWPUCloseThread(&r->tid, &e2);
	return e;
}

/* The lower call failed: no operation started, nothing will complete (or, should the lower
 * provider have signalled the event anyway, the worker that takes the packet retires it). */
static void abandon(struct req *r)
{
	lock();
	r->client_done = 1;
	r->told = 1;
	unlock();
	unwatch(r);
	lock();
	r->lower_seen = !r->posted;
	unlock();
	retire_if_over(r);
}

int io_start(struct sock *k, const struct io *a, LPINT lpErrno)
{
	int rc = workers_ensure();
	if (rc)
		return fail(lpErrno, rc);
	struct req *r = calloc(1, sizeof *r);
	if (!r)
		return fail(lpErrno, WSAENOBUFS);
	r->k = k;
	r->cov = a->ov;
	r->routine = a->routine;
	r->via_port = k->via_port;
	rc = req_prepare(r);
	if (rc) {
		free(r);
		return fail(lpErrno, rc);
	}
	lock();
	k->refs++;
	r->refs = 2; /* the list's, and this call's until it returns: a worker may take the
		      * lower completion, tell the client and retire the request before the lower
		      * call has even returned here */
	r->next = g.reqs;
	g.reqs = r;
	unlock();

	a->ov->Internal = WSS_OPERATION_IN_PROGRESS;
	a->ov->InternalHigh = 0;
	r->lov.Internal = WSS_OPERATION_IN_PROGRESS;
	DWORD count = 0, flags = a->flags ? *a->flags : 0;
	int e = 0;
	rc = io_lower_call(k, a, &count, a->flags ? &flags : NULL, &r->lov, &r->tid, &e);
	if (rc == 0) {
		/* Completed at once: the client hears of it before this call returns (its routine
		 * is queued); the completion that still comes through the port only retires it. */
		if (a->count)
			*a->count = count;
		if (a->flags)
			*a->flags = flags;
		tell(r, 0, count, a->flags ? flags : 0);
		req_unref(r);
		return 0;
	}
	if (e == WSA_IO_PENDING) {
		req_unref(r);
		return fail(lpErrno, WSA_IO_PENDING);
	}
	a->ov->Internal = 0;
	a->ov->OffsetHigh = (DWORD)e;
	abandon(r);
	req_unref(r);
	return fail(lpErrno, e);
}

/* ------------------------------------------------------------------------------------------ */
/* WSPGetOverlappedResult                                                                      */

static struct req *find_untold_locked(struct sock *k, LPWSAOVERLAPPED cov)
{
	for (struct req *r = g.reqs; r; r = r->next)
		if (r->k == k && r->cov == cov && !r->client_done)
			return r;
	return NULL;
}

/* A request for cov whose telling is under way right now. */
static int being_told_locked(struct sock *k, LPWSAOVERLAPPED cov)
{
	for (struct req *r = g.reqs; r; r = r->next)
		if (r->k == k && r->cov == cov && r->client_done && !r->told)
			return 1;
	return 0;
}

BOOL io_get_result(struct sock *k, LPWSAOVERLAPPED cov, LPDWORD cb, BOOL wait, LPDWORD flags,
                   LPINT lpErrno)
{
	lock();
	struct req *r = find_untold_locked(k, cov);
	if (r)
		r->refs++;
	unlock();
	if (r) {
		/* Not told yet: the lower provider knows (and can wait). */
		DWORD err = 0, b = 0, f = 0;
		int done = lower_result(k, r, wait, &err, &b, &f);
		if (done)
			tell(r, err, b, f); /* before the client takes the result */
		req_unref(r);
		if (!done) {
			*lpErrno = WSA_IO_INCOMPLETE;
			return FALSE;
		}
		*cb = b;
		*flags = f;
		if (err)
			*lpErrno = (int)err;
		return err == 0;
	}
	/* Told, or being told by another thread right now (then its result is about to be in the
	 * client's structure). */
	lock();
	uint64_t t0 = GetTickCount64();
	while (being_told_locked(k, cov) && elapsed_since(t0) < IOCPLSP_SETTLE_MS)
		wait_ms(50);
	unlock();
	if (cov->Internal == WSS_OPERATION_IN_PROGRESS) {
		*lpErrno = WSA_IO_INCOMPLETE; /* not a request of this layer's */
		return FALSE;
	}
	*cb = (DWORD)cov->InternalHigh;
	*flags = cov->Offset;
	DWORD err = cov->OffsetHigh;
	if (err)
		*lpErrno = (int)err;
	return err == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPCloseSocket: what is pending completes before the client's handle goes                    */

struct close_item {
	struct req *r;
	DWORD err, cb, fl;
};

struct close_set {
	size_t n;
	struct close_item it[];
};

/* Before the lower close: the requests still to be told, each with the lower result if the lower
 * provider has one (else WSA_OPERATION_ABORTED). */
struct close_set *io_close_begin(struct sock *k)
{
	lock();
	size_t n = 0;
	for (struct req *r = g.reqs; r; r = r->next)
		n += r->k == k && !r->client_done;
	struct close_set *cs = malloc(sizeof *cs + n * sizeof cs->it[0]);
	if (cs) {
		cs->n = 0;
		for (struct req *r = g.reqs; r; r = r->next)
			if (r->k == k && !r->client_done) {
				r->refs++;
				cs->it[cs->n++].r = r;
			}
	}
	unlock();
	for (size_t i = 0; cs && i < cs->n; i++) {
		struct close_item *c = &cs->it[i];
		if (!lower_result(k, c->r, FALSE, &c->err, &c->cb, &c->fl)) {
			c->err = WSA_OPERATION_ABORTED;
			c->cb = 0;
			c->fl = 0;
		}
	}
	return cs;
}

/* After it: told to the client if the lower close succeeded (else they stay pending). */
void io_close_finish(struct close_set *cs, int closed)
{
	for (size_t i = 0; cs && i < cs->n; i++) {
		if (closed)
			tell(cs->it[i].r, cs->it[i].err, cs->it[i].cb, cs->it[i].fl);
		req_unref(cs->it[i].r);
	}
	free(cs);
}

/* ------------------------------------------------------------------------------------------ */
/* Settling, and the end                                                                        */

/* The lower provider has completed the request (its result is in, or its event signalled). */
static int ready_locked(const struct req *r)
{
	if (r->posted || r->retiring)
		return 1;
	if (((volatile WSAOVERLAPPED *)&r->lov)->Internal != WSS_OPERATION_IN_PROGRESS)
		return 1;
	return r->ev && WaitForSingleObject(r->ev, 0) == WAIT_OBJECT_0;
}

static int any_ready_locked(void)
{
	for (struct req *r = g.reqs; r; r = r->next)
		if (ready_locked(r))
			return 1;
	return 0;
}

/*
 * At the end of each call: the requests the lower provider completed meanwhile have been told to
 * the client and retired by the workers. So a completion never reaches the client after a later
 * call of its began: not after the WSPCloseSocket that gives its handle back, not after the final
 * WSPCleanup began (which cancels without a word).
 */
void io_settle(void)
{
	lock();
	uint64_t t0 = GetTickCount64();
	while (any_ready_locked() && elapsed_since(t0) < IOCPLSP_SETTLE_MS)
		wait_ms(50);
	unlock();
}

static void wait_empty_locked(void)
{
	uint64_t t0 = GetTickCount64();
	while (g.reqs && elapsed_since(t0) < IOCPLSP_SETTLE_MS)
		wait_ms(50);
}

/* Final WSPCleanup, every lower socket closed (so every request completed below): waits for the
 * workers to retire them all. One the lower provider never completed is given back here; when its
 * handle is associated with the port its memory stays (the system may still write there). */
void io_drain_all(void)
{
	lock();
	wait_empty_locked();
	unlock();
	for (;;) {
		lock();
		struct req *r = g.reqs;
		while (r && r->retiring)
			r = r->next;
		if (r) {
			r->refs++;
			take_retire_locked(r);
		}
		unlock();
		if (!r)
			break;
		retire(r);
		if (!r->via_port)
			req_unref(r);
	}
	lock();
	wait_empty_locked(); /* those a worker was retiring */
	unlock();
}

/* Final WSPCleanup: the workers end, the port goes. */
void io_stop(void)
{
	lock();
	HANDLE port = g.port;
	int n = g.n_workers;
	HANDLE threads[IOCPLSP_WORKERS];
	memcpy(threads, g.workers, sizeof threads);
	g.port = NULL;
	g.n_workers = 0;
	unlock();
	for (int i = 0; i < n; i++)
		PostQueuedCompletionStatus(port, 0, KEY_QUIT, NULL);
	if (n)
		WaitForMultipleObjects((DWORD)n, threads, TRUE, 2 * IOCPLSP_SETTLE_MS);
	for (int i = 0; i < n; i++)
		CloseHandle(threads[i]);
	if (port)
		CloseHandle(port);
}

/* ------------------------------------------------------------------------------------------ */
/* The lower call                                                                               */

int io_lower_call(const struct sock *k, const struct io *a, LPDWORD count, LPDWORD flags,
                  LPWSAOVERLAPPED ov, LPWSATHREADID tid, LPINT lpErrno)
{
	const WSPPROC_TABLE *t = &k->lp->procs;
	switch (a->kind) {
	case IO_SEND:
		return t->lpWSPSend(k->lower, a->bufs, a->nbufs, count, a->send_flags, ov, NULL,
		                    tid, lpErrno);
	case IO_SENDTO:
		return t->lpWSPSendTo(k->lower, a->bufs, a->nbufs, count, a->send_flags, a->to,
		                      a->tolen, ov, NULL, tid, lpErrno);
	case IO_RECV:
		return t->lpWSPRecv(k->lower, a->bufs, a->nbufs, count, flags, ov, NULL, tid,
		                    lpErrno);
	case IO_RECVFROM:
		return t->lpWSPRecvFrom(k->lower, a->bufs, a->nbufs, count, flags, a->from,
		                        a->fromlen, ov, NULL, tid, lpErrno);
	default:
		return t->lpWSPIoctl(k->lower, a->code, a->in, a->cbin, a->out, a->cbout, count, ov,
		                     NULL, tid, lpErrno);
	}
}
