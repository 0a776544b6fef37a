/* mockbase: moving data: WSPSend, WSPSendTo, WSPRecv and WSPRecvFrom. */

/*
 * A stream socket's data sits in its receiver's queue (at most MB_STREAM_CAP bytes); mb_pump moves
 * it along, completing pending receives and the sender's pending sends until nothing moves. A
 * datagram is delivered whole to the socket bound to its destination port, or lost. Each call
 * either completes at once, queues an overlapped operation (overlapped.c), or, blocking, waits in
 * slices that call the blocking hook (blocking.c).
 */

#include "model.h"

#include "faultlock.h"

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
void mb_pump(struct batch *b, struct mb_socket *p)
{
	struct mb_socket *s = p->peer;
	for (;;) {
		int progress = 0;
		while (p->rops_head && (p->rlen > 0 || p->peer_gone)) {
			struct mb_op *op = mb_op_pop(&p->rops_head, &p->rops_tail);
			size_t k = stream_take(p, op->bufs, op->nbufs, op->flags);
			mb_complete_op(b, p, op, 0, (DWORD)k, 0, 1);
			progress = 1;
		}
		while (s && s->sops_head && stream_room(p) > 0) {
			struct mb_op *op = s->sops_head;
			size_t total = bufs_total(op->bufs, op->nbufs);
			op->done += stream_push(p, op->bufs, op->nbufs, op->done, total - op->done);
			progress = 1;
			if (op->done < total)
				break; /* p is full (or out of memory) */
			mb_op_pop(&s->sops_head, &s->sops_tail);
			mb_complete_op(b, s, op, 0, (DWORD)op->done, 0, 1);
		}
		if (!progress)
			break;
	}
	mb_refresh(b, p);
	if (s)
		mb_refresh(b, s);
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
		mb_addr_write(&d->from, from);
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
	for (struct mb_socket *o = mb_g.sockets; o; o = o->next) {
		if (o->type == SOCK_DGRAM && !o->closed && o->bound && o->local.port == to.port) {
			t = o;
			break;
		}
	}
	if (!t || t->shut_recv ||
	    (t->connected &&
	     (t->remote.port != d->from.port || mb_addr_visible(t->remote).ip != d->from.ip))) {
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
		struct mb_op *op = mb_op_pop(&t->rops_head, &t->rops_tail);
		int err = 0;
		size_t k =
		    dgram_take(t, op->bufs, op->nbufs, op->flags, op->from, op->fromlen, &err);
		mb_complete_op(b, t, op, (DWORD)err, (DWORD)k, 0, 1);
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
	mb_refresh(b, t);
	pv_wake_all();
}

/* ------------------------------------------------------------------------------------------ */
/* What the four calls share                                                                   */

/* One WSPSend/WSPSendTo/WSPRecv/WSPRecvFrom call's buffers and overlapped arguments. */
struct xfer {
	LPWSABUF bufs;
	DWORD nbufs;
	LPDWORD count; /* lpNumberOfBytesRecvd or lpNumberOfBytesSent */
	LPWSAOVERLAPPED ov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	LPWSATHREADID tid;
	int tid_opened; /* tid came from WPUOpenCurrentThread (mb_open_thread) */
};

/* An overlapped call that completed at once, with the lock held: its result, then its notice
 * (which the late-apc variant holds back to the next entry). */
static void done_at_once(struct batch *b, const struct mb_socket *o, const struct xfer *x,
                         DWORD bytes)
{
	struct note *last = b->tail;
	mb_ov_result(x->ov, 0, bytes, 0, mb_via_kernel(o, x->routine));
	mb_deliver(b, o, x->ov, x->routine, x->tid, 0, bytes, 0, x->tid_opened);
	if (F(LATE_APC) && x->routine)
		mb_defer_notes(b, last ? last->next : b->head);
}

/* ------------------------------------------------------------------------------------------ */
/* Receiving                                                                                    */

static int recv_ready(const struct mb_socket *o)
{
	if (o->type == SOCK_STREAM)
		return o->rlen > 0 || o->peer_gone;
	return o->dq_head != NULL;
}

/* The checks of a receive's arguments and socket, with the lock held: 0 or the error. */
static int recv_check(const struct mb_socket *o, const struct xfer *x, const DWORD *lpFlags,
                      const struct sockaddr *from, const INT *fromlen)
{
	DWORD flags = lpFlags ? *lpFlags : 0;
	if (!lpFlags || (x->nbufs && !x->bufs) || (!x->ov && !x->count) ||
	    (x->ov && x->routine && !x->tid) || (from && (!fromlen || *fromlen < MB_SIN_LEN)))
		return WSAEFAULT;
	if (flags & ~(DWORD)(MSG_PEEK | MSG_PARTIAL))
		return WSAEOPNOTSUPP;
	if (o->type == SOCK_STREAM && (o->listening || !o->connected))
		/* The undocumented-errno variant answers with a send-side code WSPRecv's page does
		 * not list. */
		return F(UNDOCUMENTED_ERRNO) ? WSAEDESTADDRREQ : WSAENOTCONN;
	if (o->type == SOCK_DGRAM && !o->bound)
		return WSAEINVAL;
	if (o->shut_recv)
		return WSAESHUTDOWN;
	return 0;
}

/* An overlapped receive with nothing to take yet, or behind others, with the lock held: queued
 * for mb_pump or dgram_deliver to complete. WSA_IO_PENDING, or WSAENOBUFS. */
static int recv_queue(struct mb_socket *o, const struct xfer *x, DWORD flags, struct sockaddr *from,
                      LPINT fromlen)
{
	struct mb_op *op = mb_op_new(x->bufs, x->nbufs, x->ov, x->routine, x->tid, x->tid_opened);
	if (!op) {
		x->ov->Internal = 0;
		return WSAENOBUFS;
	}
	op->flags = flags;
	if (o->type == SOCK_DGRAM) {
		op->from = from;
		op->fromlen = fromlen;
	}
	mb_op_append(&o->rops_head, &o->rops_tail, op);
	o->fired &= ~FD_READ;
	return WSA_IO_PENDING;
}

/* A receive without a WSAOVERLAPPED, with the lock held: waits (unless the socket is
 * non-blocking) until there is something to take. 0, or the error that ends the call (o may then
 * be gone). */
/* The lock-order-deadlock variant, with the table lock (mockbase's one lock) held: a receive
 * takes "the socket lock" second, the order WSPCloseSocket reverses (sockets.c). */
static void recv_socket_lock(void)
{
	if (!F(LOCK_ORDER_DEADLOCK))
		return;
	pv_sleep_ms(MB_LOCK_WINDOW_MS);
	mb_fault_lock();
	mb_fault_unlock();
}

static int recv_wait(const struct call *c, struct mb_socket *o)
{
	struct blk k;
	int err = 0;
	mb_blk_init(&k);
	o->refs++;
	/* the close-leaves-blocked variant's bug: a close of o does not end the wait */
	while ((!o->closed || F(CLOSE_LEAVES_BLOCKED)) && !o->shut_recv && !recv_ready(o)) {
		if (o->nonblocking) {
			/* The pending-not-overlapped variant claims an overlapped operation
			 * started although the call passed no WSAOVERLAPPED. */
			err = F(PENDING_NOT_OVERLAPPED) ? WSA_IO_PENDING : WSAEWOULDBLOCK;
			break;
		}
		err = mb_blk_wait(c, &k);
		if (err)
			break;
		recv_socket_lock();
	}
	mb_blk_end(&k);
	if (!err && o->closed)
		err = WSAEINTR;
	else if (!err && o->shut_recv)
		err = WSAESHUTDOWN;
	if (err == WSAEWOULDBLOCK)
		o->fired &= ~FD_READ;
	mb_sock_unref(o); /* without an error not closed: still valid under the lock */
	return err;
}

/* Takes what o has for the receive, with the lock held; *rerr is WSAEMSGSIZE when a datagram
 * was truncated. Returns the count taken. */
static size_t recv_take(struct batch *b, struct mb_socket *o, const struct xfer *x, DWORD flags,
                        struct sockaddr *from, LPINT fromlen, int *rerr)
{
	size_t got;
	if (o->type == SOCK_STREAM) {
		got = stream_take(o, x->bufs, x->nbufs, flags);
		o->fired &= ~FD_READ; /* recv re-enables FD_READ */
		mb_pump(b, o);
	} else {
		got = dgram_take(o, x->bufs, x->nbufs, flags, from, fromlen, rerr);
		o->fired &= ~FD_READ;
		mb_refresh(b, o);
	}
	return got;
}

static int recv_core(SOCKET s, const struct xfer *x, LPDWORD lpFlags, struct sockaddr *lpFrom,
                     LPINT lpFromlen, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 1, &err);
	if (!o)
		return fail(lpErrno, err);
	recv_socket_lock();
	mb_batch_init(&b, &c);
	err = recv_check(o, x, lpFlags, lpFrom, lpFromlen);
	if (err) {
		pv_unlock();
		return fail(lpErrno, err);
	}
	DWORD flags = *lpFlags & (DWORD)MSG_PEEK;
	if (x->ov) {
		x->ov->Internal = WSS_OPERATION_IN_PROGRESS;
		if (o->rops_head || !recv_ready(o))
			err = recv_queue(o, x, flags, lpFrom, lpFromlen);
	} else {
		err = recv_wait(&c, o);
	}
	if (err) {
		pv_unlock();
		return fail(lpErrno, err);
	}

	int rerr = 0;
	size_t got = recv_take(&b, o, x, flags, lpFrom, lpFromlen, &rerr);
	*lpFlags = 0;
	if (x->count)
		*x->count = (DWORD)got + (F(RECV_OVERCOUNT) ? 1u : 0u);
	/* A failure other than WSA_IO_PENDING starts no overlapped operation: no notice. */
	if (x->ov && rerr)
		mb_ov_result(x->ov, (DWORD)rerr, (DWORD)got, 0, 0);
	else if (x->ov)
		done_at_once(&b, o, x, (DWORD)got);
	pv_unlock();
	mb_batch_flush(&b);
	return rerr ? fail(lpErrno, rerr) : 0;
}

static int do_recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                   LPDWORD lpFlags, struct sockaddr *lpFrom, LPINT lpFromlen,
                   LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno)
{
	struct call c;
	WSATHREADID own;
	int opened =
	    mb_open_thread(lpOverlapped, lpCompletionRoutine, &lpThreadId, &own, &c, lpErrno);
	if (opened < 0)
		return SOCKET_ERROR;
	struct xfer x = {.bufs = lpBuffers,
	                 .nbufs = dwBufferCount,
	                 .count = lpNumberOfBytesRecvd,
	                 .ov = lpOverlapped,
	                 .routine = lpCompletionRoutine,
	                 .tid = lpThreadId,
	                 .tid_opened = opened};
	int rc = recv_core(s, &x, lpFlags, lpFrom, lpFromlen, lpErrno);
	mb_close_thread_after(&c, opened, rc, lpErrno, &own);
	return rc;
}

int WSPAPI mb_Recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                   LPDWORD lpFlags, LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno)
{
	return do_recv(s, lpBuffers, dwBufferCount, lpNumberOfBytesRecvd, lpFlags, NULL, NULL,
	               lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}

int WSPAPI mb_RecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                       LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
                       LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
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
	int err = mb_autobind(o);
	if (err)
		return err;
	struct mb_dgram *d = malloc(sizeof *d + (total ? total : 1));
	if (!d)
		return WSAENOBUFS;
	d->next = NULL;
	d->from = mb_addr_visible(o->local);
	d->len = bufs_gather(bufs, n, 0, d->data, total);
	dgram_deliver(b, d, *to);
	return 0;
}

/* The checks of a send's arguments and socket, with the lock held: 0 or the error; *to is a
 * datagram's destination. */
static int send_check(const struct mb_socket *o, const struct xfer *x, DWORD dwFlags,
                      const struct sockaddr *lpTo, int iTolen, int is_sendto, struct mb_addr *to)
{
	if ((x->nbufs && !x->bufs) || (!x->ov && !x->count) || (x->ov && x->routine && !x->tid))
		return WSAEFAULT;
	if (dwFlags & ~(DWORD)(MSG_DONTROUTE | MSG_PARTIAL))
		return WSAEOPNOTSUPP;
	if (o->shut_send)
		return WSAESHUTDOWN;
	if (o->type == SOCK_STREAM && (o->listening || !o->connected))
		return WSAENOTCONN;
	if (o->type == SOCK_STREAM && !o->peer)
		return WSAECONNRESET;
	if (o->type != SOCK_DGRAM)
		return 0;
	if (is_sendto && lpTo)
		return mb_addr_parse(lpTo, iTolen, to);
	if (!o->connected)
		return is_sendto ? WSAEDESTADDRREQ : WSAENOTCONN;
	*to = o->remote;
	return 0;
}

/* An overlapped stream send, with the lock held: what fits moves at once (behind no pending
 * send); the rest becomes a pending operation that mb_pump finishes as the peer reads
 * (WSA_IO_PENDING). Else 0, or WSAENOBUFS when nothing moved and nothing could be queued. */
static int send_stream_overlapped(struct batch *b, struct mb_socket *o, const struct xfer *x,
                                  size_t total, size_t *sent)
{
	struct mb_socket *p = o->peer;
	int err = 0;
	if (!o->sops_head)
		*sent = stream_push(p, x->bufs, x->nbufs, 0, total);
	if (*sent < total) {
		struct mb_op *op =
		    mb_op_new(x->bufs, x->nbufs, x->ov, x->routine, x->tid, x->tid_opened);
		if (!op) {
			/* What moved stays sent: report an immediate short send. */
			err = *sent ? 0 : WSAENOBUFS;
		} else {
			op->done = *sent;
			mb_op_append(&o->sops_head, &o->sops_tail, op);
			mb_pump(b, p);
			return WSA_IO_PENDING;
		}
	}
	if (*sent)
		mb_pump(b, p);
	return err;
}

/* A stream send without a WSAOVERLAPPED, with the lock held: moves the data as room frees up,
 * waiting for it unless the socket is non-blocking. 0, or the error that ended the call before
 * anything moved (o may then be gone). */
static int send_stream_blocking(const struct call *c, struct batch *b, struct mb_socket *o,
                                const struct xfer *x, size_t total, size_t *sent)
{
	struct blk k;
	int err = 0;
	mb_blk_init(&k);
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
		size_t k1 = stream_push(o->peer, x->bufs, x->nbufs, *sent, total - *sent);
		if (k1) {
			*sent += k1;
			mb_pump(b, o->peer);
		}
		if (*sent == total)
			break;
		if (o->nonblocking) {
			if (*sent == 0) {
				err = WSAEWOULDBLOCK;
				o->fired &= ~FD_WRITE; /* FD_WRITE comes back when there is room */
			}
			break;
		}
		/* Blocking: deliver what this call caused so far, then wait for room. */
		pv_unlock();
		mb_batch_flush(b);
		pv_lock();
		err = mb_blk_wait(c, &k);
		if (err)
			break;
		recv_socket_lock();
	}
	mb_blk_end(&k);
	mb_sock_unref(o);
	if (err && *sent) /* a blocking send cut short still reports what it moved */
		err = 0;
	return err;
}

static int send_core(SOCKET s, const struct xfer *x, DWORD dwFlags, const struct sockaddr *lpTo,
                     int iTolen, int is_sendto, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	struct mb_addr to = {0, 0};
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 1, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
	err = send_check(o, x, dwFlags, lpTo, iTolen, is_sendto, &to);
	if (err) {
		pv_unlock();
		return fail(lpErrno, err);
	}

	size_t total = bufs_total(x->bufs, x->nbufs);
	size_t sent = 0;
	if (x->ov)
		x->ov->Internal = WSS_OPERATION_IN_PROGRESS;
	if (o->type == SOCK_DGRAM) {
		err = send_dgram(&b, o, x->bufs, x->nbufs, &to);
		sent = err ? 0 : total;
	} else if (x->ov) {
		err = send_stream_overlapped(&b, o, x, total, &sent);
		if (err == WSA_IO_PENDING) {
			pv_unlock();
			mb_batch_flush(&b);
			return fail(lpErrno, WSA_IO_PENDING);
		}
	} else {
		err = send_stream_blocking(&c, &b, o, x, total, &sent);
	}

	if (!err && x->count)
		*x->count = (DWORD)sent;
	if (!err && x->ov)
		done_at_once(&b, o, x, (DWORD)sent);
	else if (x->ov)
		mb_ov_result(x->ov, (DWORD)err, 0, 0, 0);
	pv_unlock();
	mb_batch_flush(&b);
	if (F(SEND_RETURNS_COUNT) && !err && !x->ov)
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
	int opened =
	    mb_open_thread(lpOverlapped, lpCompletionRoutine, &lpThreadId, &own, &c, lpErrno);
	if (opened < 0)
		return SOCKET_ERROR;
	struct xfer x = {.bufs = lpBuffers,
	                 .nbufs = dwBufferCount,
	                 .count = lpNumberOfBytesSent,
	                 .ov = lpOverlapped,
	                 .routine = lpCompletionRoutine,
	                 .tid = lpThreadId,
	                 .tid_opened = opened};
	int rc = send_core(s, &x, dwFlags, lpTo, iTolen, is_sendto, lpErrno);
	mb_close_thread_after(&c, opened, rc, lpErrno, &own);
	return rc;
}

int WSPAPI mb_Send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                   DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno)
{
	return do_send(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, NULL, 0, 0,
	               lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}

int WSPAPI mb_SendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                     DWORD dwFlags, const struct sockaddr *lpTo, int iTolen,
                     LPWSAOVERLAPPED lpOverlapped,
                     LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                     LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return do_send(s, lpBuffers, dwBufferCount, lpNumberOfBytesSent, dwFlags, lpTo, iTolen, 1,
	               lpOverlapped, lpCompletionRoutine, lpThreadId, lpErrno);
}
