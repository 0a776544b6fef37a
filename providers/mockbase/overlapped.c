/* mockbase: overlapped operations, their completion and WSPGetOverlappedResult. */

/*
 * An overlapped WSPSend/WSPRecv/WSPRecvFrom/WSPIoctl that cannot complete at once is kept as a
 * pending operation (a copy of its WSABUF array) on its socket until data moves or the socket
 * closes. A completion is recorded in the client's WSAOVERLAPPED (the error and flags in
 * Offset/OffsetHigh, for WSPGetOverlappedResult) and notified through the mechanism the client
 * chose: its completion routine as an APC (WPUQueueApc, on a thread opened with
 * WPUOpenCurrentThread when the caller gave none), WPUCompleteOverlappedRequest for non-IFS
 * sockets, or for IFS sockets hEvent or the kernel handle (khandle.h).
 */

#include "model.h"

static void free_op(struct mb_op *op)
{
	free(op->bufs);
	free(op);
}

/* Whether a completion goes through the socket's kernel object: one without a routine (those
 * keep their APC); the variant that completes IFS operations with WPUCompleteOverlappedRequest
 * keeps doing so. */
int mb_via_kernel(const struct mb_socket *o, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine)
{
	return o->kh && !routine && !F(IFS_COMPLETES_OVERLAPPED);
}

/* Records a result: the flags and the error in Offset/OffsetHigh (for mb_GetOverlappedResult),
 * the count and the done mark in InternalHigh/Internal, unless the kernel will write those. */
void mb_ov_result(LPWSAOVERLAPPED ov, DWORD err, DWORD bytes, DWORD flags, int kernel)
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
	struct note *n = mb_note_new(b, N_KCOMPLETE);
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
void mb_deliver(struct batch *b, const struct mb_socket *o, LPWSAOVERLAPPED ov,
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
		struct note *n = mb_note_new(b, N_APC);
		if (!n) {
			free(a);
			return;
		}
		n->tid = *tid;
		n->apc = a;
		n->tid_opened = tid_opened;
		if (tid_opened) {
			struct note *c = mb_note_new(b, N_CLOSETHREAD);
			if (c)
				c->tid = *tid;
		}
	} else if (!o->ifs || F(IFS_COMPLETES_OVERLAPPED)) {
		struct note *n = mb_note_new(b, N_COMPLETE);
		if (!n)
			return;
		/* the wrong-handle variant passes its own context instead of the client's handle */
		n->s = F(COMPLETE_WRONG_HANDLE) ? (SOCKET)(uintptr_t)o : o->handle;
		n->ov = ov;
		n->err = err;
		n->bytes = bytes;
		if (o->ifs && ov->hEvent)
			mb_note_setevent(b, ov->hEvent);
	} else if (o->kh) {
		note_kcomplete(b, o->kh, ov, bytes); /* the kernel signals hEvent */
	} else if (ov->hEvent) {
		mb_note_setevent(b, ov->hEvent);
	}
}

void mb_complete_op(struct batch *b, struct mb_socket *o, struct mb_op *op, DWORD err, DWORD bytes,
                    DWORD flags, int notify)
{
	mb_ov_result(op->ov, err, bytes, flags, notify && mb_via_kernel(o, op->routine));
	if (notify) {
		/* the keeps-thread-id-pointer variant reads the caller's structure now */
		WSATHREADID tid = F(KEEPS_THREAD_ID_POINTER) && op->tidp ? *op->tidp : op->tid;
		mb_deliver(b, o, op->ov, op->routine, &tid, err, bytes, flags, op->tid_opened);
	} else if (op->tid_opened) {
		/* cancelled silently: no APC, but the thread id still goes back */
		struct note *c = mb_note_new(b, N_CLOSETHREAD);
		if (c)
			c->tid = op->tid;
	}
	if (op->waiter) {
		if (notify) {
			struct note *w = mb_note_new(b, N_WAITER);
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

struct mb_op *mb_op_new(const WSABUF *bufs, DWORD n, LPWSAOVERLAPPED ov,
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

void mb_op_append(struct mb_op **head, struct mb_op **tail, struct mb_op *op)
{
	op->next = NULL;
	if (*tail)
		(*tail)->next = op;
	else
		*head = op;
	*tail = op;
}

struct mb_op *mb_op_pop(struct mb_op **head, struct mb_op **tail)
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

/*
 * An overlapped call with a completion routine but no lpThreadId (as from a layer above that has
 * none to pass): the provider opens the calling thread with WPUOpenCurrentThread, as the MS LSP
 * sample does, and releases it with WPUCloseThread once the APC is queued (at once when the call
 * completed or failed, else when the operation completes).
 */
int mb_open_thread(LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine,
                   LPWSATHREADID *tid, WSATHREADID *own, struct call *c, LPINT lpErrno)
{
	int e = 0;
	if (!ov || !routine || *tid)
		return 0;
	e = mb_enter(c);
	if (e)
		return fail(lpErrno, e);
	if (c->up.lpWPUOpenCurrentThread(own, &e) != 0)
		return fail(lpErrno, e ? e : WSAENOBUFS);
	*tid = own;
	return 1;
}

void mb_close_thread_after(const struct call *c, int opened, int rc, LPINT lpErrno,
                           WSATHREADID *own)
{
	int e = 0;
	/* Success: the completion went out with the APC, and the release with it (deliver);
	 * pending: the operation keeps the thread id. Only a failed call gives it back here. */
	if (opened && rc == SOCKET_ERROR && !(lpErrno && *lpErrno == WSA_IO_PENDING) &&
	    !F(THREAD_LEAK))
		c->up.lpWPUCloseThread(own, &e);
}

/* An operation of o's that left mockbase's queues and whose kernel completion (batch.c) has not
 * written its status yet. The kernel writes InternalHigh before Internal. */
static int kernel_pending(const struct mb_socket *o, LPWSAOVERLAPPED ov)
{
	return o->kernel &&
	       *(volatile ULONG_PTR *)&ov->Internal == (ULONG_PTR)WSS_OPERATION_IN_PROGRESS;
}

int WSPAPI mb_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer,
                                  BOOL fWait, LPDWORD lpdwFlags, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail_bool(lpErrno, err);
	if (!lpOverlapped || !lpcbTransfer || !lpdwFlags) {
		pv_unlock();
		return fail_bool(lpErrno, WSAEFAULT);
	}
	o->refs++;
	struct mb_waiter w = {NULL, 0};
	if (fWait && op_is_pending(o, lpOverlapped)) {
		/* Something to wait on: an event from WPUCreateEvent that the completion signals.
		 */
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
			mb_sock_unref(o);
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
			mb_sock_unref(o);
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
	mb_sock_unref(o);
	*lpcbTransfer = (DWORD)lpOverlapped->InternalHigh;
	*lpdwFlags = lpOverlapped->Offset;
	DWORD e = lpOverlapped->OffsetHigh;
	pv_unlock();
	if (e)
		return fail_bool(lpErrno, (int)e);
	return TRUE;
}
