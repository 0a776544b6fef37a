/* mockbase: notifications collected under the lock and delivered after it. */

/*
 * No upcall is made with mockbase's lock held: an entry point records the notifications it causes
 * (posted messages, events to set, APCs, overlapped completions, handles and threads to give
 * back, kernel completions) as notes in a batch while locked, and mb_batch_flush makes the upcalls
 * in order once the lock is released, in the calling thread. The MOCKBASE_OS_NOTIFY variant sets
 * events and queues APCs through the operating system instead of the optional upcalls; the
 * late-apc and late-release variants hold notes back to the next entry (mb_defer_notes).
 */

#include "model.h"

void mb_batch_init(struct batch *b, const struct call *c)
{
	b->head = b->tail = NULL;
	b->c = c;
}

struct note *mb_note_new(struct batch *b, enum note_kind kind)
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

void mb_note_post(struct batch *b, HWND hwnd, unsigned msg, SOCKET s, LONG bit)
{
	struct note *n = mb_note_new(b, N_POST);
	if (!n)
		return;
	n->hwnd = hwnd;
	n->msg = msg;
	n->s = s;
	n->lparam = (LPARAM)WSAMAKESELECTREPLY(bit, 0);
}

void mb_note_setevent(struct batch *b, WSAEVENT ev)
{
	struct note *n = mb_note_new(b, N_SETEVENT);
	if (n)
		n->ev = ev;
}

void mb_note_closehandle(struct batch *b, SOCKET s)
{
	struct note *n = mb_note_new(b, N_CLOSEHANDLE);
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

void mb_batch_flush(struct batch *b)
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
				WPUCompleteOverlappedRequest(n->s, &n->shadow, n->err, n->bytes,
				                             &e);
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

void mb_defer_notes(struct batch *b, struct note *from)
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

void mb_flush_late(void)
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
	mb_batch_flush(&b);
}
