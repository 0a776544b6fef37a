/* mockbase: network events: WSPEventSelect, WSPAsyncSelect, WSPEnumNetworkEvents, WSPSelect. */

/*
 * Event selection follows Winsock's re-enabling model: a network event is recorded and signalled
 * (WPUSetEvent) or posted (WPUPostMessage) once, and again only after the call that re-enables it
 * or a new registration; mb_refresh notifies the level conditions that hold after a state change.
 * WSPSelect resolves every handle of its sets first, waits (blocking.c) until one is ready or the
 * timeout passes, and writes the sets in place with WPUFDIsSet.
 */

#include "model.h"

void mb_fire(struct batch *b, struct mb_socket *o, LONG bit)
{
	if (!o->has_handle || o->closed || (o->fired & bit))
		return;
	if (o->ev_mask & bit) {
		o->fired |= bit;
		o->ev_recorded |= bit;
		mb_note_setevent(b, o->ev);
	} else if (o->as_mask & bit) {
		o->fired |= bit;
		mb_note_post(b, o->hwnd, o->wmsg, o->handle, bit);
	}
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
void mb_refresh(struct batch *b, struct mb_socket *o)
{
	if (o->closed || !o->has_handle || !(o->ev_mask | o->as_mask))
		return;
	if (o->listening) {
		if (o->acc_head)
			mb_fire(b, o, FD_ACCEPT);
		return;
	}
	if (o->type == SOCK_STREAM ? o->rlen > 0 : o->dq_head != NULL)
		mb_fire(b, o, FD_READ);
	if (is_writable(o))
		mb_fire(b, o, FD_WRITE);
	if (o->type == SOCK_STREAM && o->peer_gone)
		mb_fire(b, o, FD_CLOSE);
}

/* ------------------------------------------------------------------------------------------ */
/* Select and network events                                                                    */

struct sel_entry {
	SOCKET s;
	DWORD_PTR ctx;
	struct mb_socket *o;
	int ready;
};

/* A WSPSelect call's sockets: the entries of its three sets, one set after the other. */
struct sel {
	fd_set *sets[3];
	u_int counts[3];
	size_t n;
	struct sel_entry *ent;
};

/* Outside the lock: counts the sets' entries and asks for the contexts of the non-IFS handles.
 * 0 or the error. */
static int sel_prepare(const struct call *c, struct sel *q)
{
	for (int i = 0; i < 3; i++) {
		if (q->sets[i]) {
			q->counts[i] =
			    q->sets[i]->fd_count > FD_SETSIZE ? FD_SETSIZE : q->sets[i]->fd_count;
			q->n += q->counts[i];
		}
	}
	if (q->n == 0)
		return WSAEINVAL;
	q->ent = calloc(q->n, sizeof *q->ent);
	if (!q->ent)
		return WSAENOBUFS;
	size_t j = 0;
	for (int i = 0; i < 3; i++) {
		for (u_int m = 0; m < q->counts[i]; m++, j++) {
			q->ent[j].s = q->sets[i]->fd_array[m];
			int err = mb_prepare_lookup(c, q->ent[j].s, 0, &q->ent[j].ctx);
			if (err)
				return err;
		}
	}
	return 0;
}

/* With the lock held: finds every entry's socket and holds it while the call waits. 0 or the
 * error. */
static int sel_resolve(const struct call *c, struct sel *q)
{
	if (!mb_still_current(c))
		return WSANOTINITIALISED;
	for (size_t j = 0; j < q->n; j++) {
		q->ent[j].o = mb_lookup_locked(c, q->ent[j].s, q->ent[j].ctx);
		if (!q->ent[j].o)
			return mb_unknown_handle_error();
	}
	for (size_t j = 0; j < q->n; j++)
		q->ent[j].o->refs++;
	return 0;
}

/* With the lock held: marks the entries that are ready (readable in the first set, writable in
 * the second; the third never) and returns how many are. */
static int sel_mark(struct sel *q)
{
	int total = 0;
	size_t j = 0;
	for (int i = 0; i < 3; i++) {
		for (u_int m = 0; m < q->counts[i]; m++, j++) {
			q->ent[j].ready = (i == 0 && is_readable(q->ent[j].o)) ||
			                  (i == 1 && is_writable(q->ent[j].o));
			total += q->ent[j].ready;
		}
	}
	return total;
}

static int sel_any_closed(const struct sel *q)
{
	for (size_t j = 0; j < q->n; j++)
		if (q->ent[j].o->closed)
			return 1;
	return 0;
}

/* With the lock held: waits until an entry is ready or the timeout passes (0), or until the wait
 * ends otherwise (its error). */
static int sel_wait(const struct call *c, struct sel *q, const PTIMEVAL timeout)
{
	struct blk k;
	int err = 0;
	mb_blk_init(&k);
	if (timeout && (timeout->tv_sec || timeout->tv_usec)) {
		k.has_deadline = 1;
		k.deadline = pv_now_ms() + (uint64_t)timeout->tv_sec * 1000u +
		             ((uint64_t)timeout->tv_usec + 999u) / 1000u;
	}
	for (;;) {
		if (sel_any_closed(q)) {
			err = WSAEINTR;
			break;
		}
		if (sel_mark(q) > 0 || (timeout && !timeout->tv_sec && !timeout->tv_usec))
			break;
		err = mb_blk_wait(c, &k);
		if (err == WSAETIMEDOUT) {
			err = 0;
			break;
		}
		if (err)
			break;
	}
	mb_blk_end(&k);
	return err;
}

/* Outside the lock: the result sets are written in place, each socket once (WPUFDIsSet tells
 * whether a socket the client named twice is already in the set being built). Returns the count
 * of sockets in them. */
static int sel_write(const struct call *c, struct sel *q)
{
	int total = 0;
	size_t j = 0;
	for (int i = 0; i < 3; i++) {
		fd_set *set = q->sets[i];
		if (!set)
			continue;
		set->fd_count = 0;
		for (u_int m = 0; m < q->counts[i]; m++, j++)
			if (q->ent[j].ready && !c->up.lpWPUFDIsSet(q->ent[j].s, set))
				set->fd_array[set->fd_count++] = q->ent[j].s;
		total += (int)set->fd_count;
	}
	if (F(SELECT_MISCOUNT))
		total++; /* the bug: the count disagrees with the sets */
	return total;
}

int WSPAPI mb_Select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                     const PTIMEVAL timeout, LPINT lpErrno)
{
	struct call c;
	struct sel q = {{readfds, writefds, exceptfds}, {0, 0, 0}, 0, NULL};
	int err = mb_enter(&c);
	(void)nfds;
	if (err)
		return fail(lpErrno, err);
	if (timeout && (timeout->tv_sec < 0 || timeout->tv_usec < 0))
		return fail(lpErrno, WSAEINVAL);
	err = sel_prepare(&c, &q);
	if (err) {
		free(q.ent);
		return fail(lpErrno, err);
	}
	pv_lock();
	err = sel_resolve(&c, &q);
	if (err) {
		pv_unlock();
		free(q.ent);
		return fail(lpErrno, err);
	}
	err = sel_wait(&c, &q, timeout);
	if (!err)
		sel_mark(&q);
	for (size_t j = 0; j < q.n; j++)
		mb_sock_unref(q.ent[j].o);
	pv_unlock();
	int total = err ? 0 : sel_write(&c, &q);
	free(q.ent);
	return err ? fail(lpErrno, err) : total;
}

int WSPAPI mb_EventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
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
	mb_refresh(&b, o);
	pv_unlock();
	mb_batch_flush(&b);
	return 0;
}

int WSPAPI mb_AsyncSelect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
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
	mb_refresh(&b, o);
	pv_unlock();
	mb_batch_flush(&b);
	return 0;
}

int WSPAPI mb_EnumNetworkEvents(SOCKET s, WSAEVENT hEventObject, LPWSANETWORKEVENTS lpNetworkEvents,
                                LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
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
		mb_sock_unref(o);
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
