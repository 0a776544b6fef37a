/* mockbase: network events: WSPEventSelect, WSPAsyncSelect, WSPEnumNetworkEvents, WSPSelect. */

/*
 * Event selection follows Winsock's re-enabling model: a network event is recorded and signalled
 * (WPUSetEvent) or posted (WPUPostMessage) once, and again only after the call that re-enables it
 * or a new registration; mb_refresh notifies the level conditions that hold after a state change.
 * WSPSelect resolves every handle of its sets first, waits (blocking.c) until one is ready or the
 * timeout passes, and writes the sets in place with WPUFDIsSet.
 */

#include "mockbase.h"

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

int WSPAPI mb_Select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                            const PTIMEVAL timeout, LPINT lpErrno)
{
	struct call c;
	struct blk k;
	struct sel_entry *ent = NULL;
	fd_set *sets[3] = {readfds, writefds, exceptfds};
	u_int counts[3] = {0, 0, 0};
	size_t n = 0;
	int err = mb_enter(&c);
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
			err = mb_prepare_lookup(&c, ent[j].s, 0, &ent[j].ctx);
			if (err) {
				free(ent);
				return fail(lpErrno, err);
			}
		}
	}

	pv_lock();
	if (!mb_still_current(&c)) {
		pv_unlock();
		free(ent);
		return fail(lpErrno, WSANOTINITIALISED);
	}
	for (j = 0; j < n; j++) {
		ent[j].o = mb_lookup_locked(&c, ent[j].s, ent[j].ctx);
		if (!ent[j].o) {
			pv_unlock();
			free(ent);
			return fail(lpErrno, mb_unknown_handle_error());
		}
	}
	for (j = 0; j < n; j++)
		ent[j].o->refs++;

	mb_blk_init(&k);
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
		err = mb_blk_wait(&c, &k);
		if (err == WSAETIMEDOUT) {
			err = 0;
			break;
		}
		if (err)
			break;
	}
	mb_blk_end(&k);
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
		mb_sock_unref(ent[j].o);
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

int WSPAPI mb_EventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                 LPINT lpErrno)
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

int WSPAPI mb_EnumNetworkEvents(SOCKET s, WSAEVENT hEventObject,
                                       LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
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
