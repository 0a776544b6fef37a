/* mockbase: the socket calls other than data transfer and network events. */

/*
 * WSPSocket, WSPCloseSocket, WSPBind, WSPListen, WSPConnect, WSPAccept, WSPShutdown and the
 * disconnect calls, socket options, ioctls, names, and the calls mockbase does not support. A
 * connection made by WSPConnect creates the server-side object at once (data can flow before the
 * accept), but its handle is only created inside the WSPAccept that hands it out, so that the
 * "handle returned by WSPAccept was created in that call" rules hold.
 */

#include "model.h"

#include "faultlock.h"

/*
 * Closes an object under the lock. notify: deliver aborts and peer notifications (WSPCloseSocket)
 * or not (final WSPCleanup). handle_closes: how many WPUCloseSocketHandle calls to queue.
 */
void mb_close_socket(struct batch *b, struct mb_socket *o, int notify, int handle_closes)
{
	o->closed = 1;
	o->ev_mask = o->as_mask = 0;
	if (F(UNLOCKED_HANDLE_TABLE) && notify && handle_closes)
		mb_sock_unlink_unlocked(o); /* WSPCloseSocket's: the bug */
	else
		mb_sock_unlink(o);
	if (F(CLOSES_CLIENT_EVENT) && notify && o->ev) {
		struct note *n =
		    mb_note_new(b, N_CLOSEEVENT); /* the bug: not the provider's event */
		if (n)
			n->ev = o->ev;
	}
	if (F(RELEASE_BEFORE_ABORT) && o->has_handle && o->wpu_handle) {
		/* the bug: the handle goes back before the aborted operations are completed */
		for (int i = 0; i < handle_closes; i++)
			mb_note_closehandle(b, o->handle);
		handle_closes = 0;
	}

	struct mb_op *op;
	int aborts = notify && !F(CLOSE_NO_ABORT);
	while ((op = mb_op_pop(&o->rops_head, &o->rops_tail)) != NULL)
		mb_complete_op(b, o, op, WSA_OPERATION_ABORTED, 0, 0, aborts);
	while ((op = mb_op_pop(&o->sops_head, &o->sops_tail)) != NULL)
		mb_complete_op(b, o, op, WSA_OPERATION_ABORTED, (DWORD)op->done, 0, aborts);

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
		mb_close_socket(b, q, notify, 0);
	}
	o->acc_tail = NULL;
	o->queued = 0;

	struct mb_socket *p = o->peer;
	if (p) {
		p->peer = NULL;
		p->peer_gone = 1;
		o->peer = NULL;
		while ((op = mb_op_pop(&p->sops_head, &p->sops_tail)) != NULL)
			mb_complete_op(b, p, op, WSAECONNRESET, (DWORD)op->done, 0, notify);
		if (notify)
			mb_pump(b, p);
	}

	if (o->has_handle && (o->wpu_handle || (F(IFS_CLOSES_HANDLE) && o->ifs)))
		for (int i = 0; i < handle_closes; i++)
			mb_note_closehandle(b, o->handle);
	if (o->kh) {
		/* after the completions above, which hold references of their own */
		struct note *n = mb_note_new(b, N_KRELEASE);
		if (n)
			n->kh = o->kh;
		else
			mb_kh_unref(o->kh);
		o->kh = NULL;
	}
	pv_wake_all();
	if (o->refs == 0 && !F(UNLOCKED_HANDLE_TABLE))
		mb_free_socket(o);
}

/* ------------------------------------------------------------------------------------------ */
/* Socket creation, binding, connections                                                        */

SOCKET WSPAPI mb_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                        GROUP g_, DWORD dwFlags, LPINT lpErrno)
{
	struct call c;
	(void)g_;
	(void)dwFlags;
	int e = mb_enter(&c);
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
	struct mb_socket *o = mb_sock_new(type, protocol, lpProtocolInfo);
	pv_unlock();
	if (!o)
		return fail_socket(lpErrno, WSAENOBUFS);
	SOCKET proposed = mb_propose(&c, &o->kh);

	SOCKET h;
	int wpu;
	e = mb_obtain_handle(&c, o, proposed, &h, &wpu);
	if (e) {
		mb_free_socket(o);
		return fail_socket(lpErrno, e);
	}
	pv_lock();
	if (!mb_still_current(&c)) {
		pv_unlock();
		mb_release_handle(&c, h, wpu);
		mb_free_socket(o);
		return fail_socket(lpErrno, WSANOTINITIALISED);
	}
	mb_give_handle(o, &c, h, wpu, o->kh);
	mb_sock_link(o);
	pv_unlock();
	if (F(NONIFS_RETURNS_CONTEXT) && !c.ifs)
		return (SOCKET)(uintptr_t)o; /* the bug: its own context instead of the handle */
	return h;
}

int WSPAPI mb_CloseSocket(SOCKET s, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	if (F(LOCK_ORDER_DEADLOCK)) {
		/* the bug: "the socket lock" first, then (in mb_acquire) the table lock, which a
		 * receive takes in the other order (datapath.c) */
		mb_fault_lock();
		pv_sleep_ms(MB_LOCK_WINDOW_MS);
	}
	struct mb_socket *o = mb_acquire(&c, s, 1, &err);
	if (F(LOCK_ORDER_DEADLOCK))
		mb_fault_unlock();
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
	int closes = F(NONIFS_NO_CLOSE_HANDLE) ? 0 : F(DOUBLE_CLOSE_HANDLE) ? 2 : 1;
	mb_close_socket(&b, o, 1, closes);
	pv_unlock();
	mb_batch_flush(&b);
	return 0;
}

int WSPAPI mb_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	struct call c;
	struct mb_addr a;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	err = mb_addr_parse(name, namelen, &a);
	if (!err && o->bound)
		err = WSAEINVAL;
	if (!err)
		err = mb_bind_to(o, a);
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

int WSPAPI mb_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
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

/* The listener a connection to `to` reaches, or NULL. */
static struct mb_socket *find_listener(struct mb_addr to)
{
	for (struct mb_socket *x = mb_g.sockets; x; x = x->next)
		if (x->type == SOCK_STREAM && x->listening && !x->closed && target_matches(x, to))
			return x;
	return NULL;
}

/* A datagram socket's default peer, set, or dissolved by the null address. */
static int connect_dgram(struct mb_socket *o, struct mb_addr to)
{
	if (to.ip == 0 && to.port == 0) { /* dissolves the default peer */
		o->connected = 0;
		return 0;
	}
	int err = mb_autobind(o);
	if (err)
		return err;
	o->remote = to;
	o->connected = 1;
	return 0;
}

/* The server side of a new connection from o to `to`, queued on listener l for WSPAccept (which
 * creates its handle). NULL when out of memory. */
static struct mb_socket *server_end(struct mb_socket *l, struct mb_socket *o, struct mb_addr to)
{
	struct mb_socket *srv = mb_sock_new(SOCK_STREAM, l->protocol, &l->pinfo);
	if (!srv)
		return NULL;
	srv->local.ip = l->local.ip ? l->local.ip : (to.ip ? to.ip : MB_LOOPBACK);
	srv->local.port = l->local.port;
	srv->bound = 1;
	srv->remote = mb_addr_visible(o->local);
	srv->connected = 1;
	srv->peer = o;
	srv->opt_reuseaddr = l->opt_reuseaddr;
	srv->opt_keepalive = l->opt_keepalive;
	srv->opt_rcvbuf = l->opt_rcvbuf;
	srv->opt_sndbuf = l->opt_sndbuf;
	srv->listener = l;
	mb_sock_link(srv);
	if (l->acc_tail)
		l->acc_tail->acc_next = srv;
	else
		l->acc_head = srv;
	l->acc_tail = srv;
	l->queued++;
	return srv;
}

/* A stream connection, with the lock held: made at once when a listener takes it. */
static int connect_stream(struct batch *b, struct mb_socket *o, struct mb_addr to)
{
	if (o->listening)
		return WSAEINVAL;
	if (o->connected)
		return WSAEISCONN;
	if (to.port == 0)
		return WSAEADDRNOTAVAIL;
	struct mb_socket *l = find_listener(to);
	if (!l || (int)l->queued >= l->backlog)
		return WSAECONNREFUSED;
	int err = mb_autobind(o);
	if (err)
		return err;
	struct mb_socket *srv = server_end(l, o, to);
	if (!srv)
		return WSAENOBUFS;
	o->peer = srv;
	o->connected = 1;
	o->remote = srv->local;
	mb_fire(b, o, FD_CONNECT);
	mb_refresh(b, o);
	mb_refresh(b, l);
	pv_wake_all();
	return 0;
}

int WSPAPI mb_Connect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF lpCallerData,
                      LPWSABUF lpCalleeData, LPQOS lpSQOS, LPQOS lpGQOS, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	struct mb_addr to = {0, 0};
	int err;
	(void)lpCallerData;
	(void)lpSQOS;
	(void)lpGQOS;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
	err = mb_addr_parse(name, namelen, &to);
	if (!err && lpCalleeData)
		lpCalleeData->len = 0; /* no connect data */
	if (!err)
		err = o->type == SOCK_DGRAM ? connect_dgram(o, to) : connect_stream(&b, o, to);
	pv_unlock();
	mb_batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

/* With the lock held: waits (unless listener l is non-blocking) until a connection is queued on
 * it. 0 (l still open), or the error that ends the call. */
static int accept_wait(const struct call *c, struct mb_socket *l)
{
	struct blk k;
	int err = 0;
	mb_blk_init(&k);
	l->refs++;
	while (!l->closed && !l->acc_head) {
		if (l->nonblocking) {
			err = WSAEWOULDBLOCK;
			break;
		}
		err = mb_blk_wait(c, &k);
		if (err)
			break;
	}
	mb_blk_end(&k);
	if (!err && l->closed)
		err = WSAEINTR;
	if (err == WSAEWOULDBLOCK)
		l->fired &= ~FD_ACCEPT;
	mb_sock_unref(l); /* without an error not closed: still valid under the lock */
	return err;
}

/* With the lock held: takes the first connection queued on l, held while its handle is obtained
 * outside the lock. */
static struct mb_socket *accept_take(struct batch *b, struct mb_socket *l)
{
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
	mb_refresh(b, l);
	return conn;
}

/*
 * With the lock held, when the connection taken cannot be handed out (no handle for it, err; or
 * it closed, or the provider cleaned up, meanwhile): ends it, releases the lock, gives back what
 * was obtained for it. Returns the error for the call.
 */
static int accept_abandon(const struct call *c, struct batch *b, struct mb_socket *conn, int err,
                          SOCKET h, int wpu, struct mb_kh *kh)
{
	if (!err)
		err = conn->closed && mb_still_current(c) ? WSAECONNABORTED : WSANOTINITIALISED;
	else
		h = INVALID_SOCKET;
	if (!conn->closed)
		mb_close_socket(b, conn, 1, 0); /* the client side sees the connection end */
	mb_sock_unref(conn);
	pv_unlock();
	mb_batch_flush(b);
	if (h != INVALID_SOCKET)
		mb_release_handle(c, h, wpu);
	if (kh)
		mb_kh_unref(kh);
	return err;
}

SOCKET WSPAPI mb_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                        LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	(void)lpfnCondition; /* every connection is accepted */
	(void)dwCallbackData;
	struct mb_socket *l = mb_acquire(&c, s, 0, &err);
	if (!l)
		return fail_socket(lpErrno, err);
	mb_batch_init(&b, &c);
	if (l->type != SOCK_STREAM)
		err = WSAEOPNOTSUPP;
	else if (!l->listening)
		err = WSAEINVAL;
	else if (addr && (!addrlen || *addrlen < MB_SIN_LEN))
		err = WSAEFAULT;
	else
		err = accept_wait(&c, l);
	if (err) {
		pv_unlock();
		return fail_socket(lpErrno, err);
	}

	/* Dequeue, then get the handle for it outside the lock (this call returns it). */
	struct mb_socket *conn = accept_take(&b, l);
	pv_unlock();
	mb_batch_flush(&b);

	struct mb_kh *kh;
	SOCKET proposed = mb_propose(&c, &kh);
	SOCKET h = INVALID_SOCKET;
	int wpu = 0;
	err = mb_obtain_handle(&c, conn, proposed, &h, &wpu);
	pv_lock();
	if (err || conn->closed || !mb_still_current(&c))
		return fail_socket(lpErrno, accept_abandon(&c, &b, conn, err, h, wpu, kh));
	mb_give_handle(conn, &c, h, wpu, kh);
	mb_refresh(&b, conn); /* FD_WRITE now, FD_READ/FD_CLOSE if already due */
	if (addr) {
		mb_addr_write(&conn->remote, addr);
		*addrlen = MB_SIN_LEN;
	}
	mb_sock_unref(conn); /* not closed: stays alive */
	pv_unlock();
	mb_batch_flush(&b);
	return h;
}

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
			mb_pump(b, o->peer);
		}
	}
	pv_wake_all();
	return 0;
}

int WSPAPI mb_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
	err = shutdown_locked(&b, o, how);
	pv_unlock();
	mb_batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

int WSPAPI mb_RecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
	err = shutdown_locked(&b, o, SD_RECEIVE);
	if (!err && lpInboundDisconnectData)
		lpInboundDisconnectData->len = 0; /* no disconnect data */
	pv_unlock();
	mb_batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

int WSPAPI mb_SendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	(void)lpOutboundDisconnectData; /* no disconnect data is sent */
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
	err = shutdown_locked(&b, o, SD_SEND);
	pv_unlock();
	mb_batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
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

int WSPAPI mb_GetSockOpt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                         LPINT lpErrno)
{
	struct call c;
	int err;
	int v = 0;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
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

int WSPAPI mb_SetSockOpt(SOCKET s, int level, int optname, const char *optval, int optlen,
                         LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
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

int WSPAPI mb_Ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                    LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                    LPWSAOVERLAPPED lpOverlapped,
                    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                    LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct call c;
	struct batch b;
	int err;
	DWORD returned = 0;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	mb_batch_init(&b, &c);
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
			mb_ov_result(lpOverlapped, 0, returned, 0,
			             mb_via_kernel(o, lpCompletionRoutine));
			mb_deliver(&b, o, lpOverlapped, lpCompletionRoutine, lpThreadId, 0,
			           returned, 0, 0);
		}
	}
	pv_unlock();
	mb_batch_flush(&b);
	return err ? fail(lpErrno, err) : 0;
}

int WSPAPI mb_GetSockName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (!o->bound) {
		err = WSAEINVAL;
	} else {
		struct mb_addr a = o->connected ? mb_addr_visible(o->local) : o->local;
		err = mb_addr_out(&a, name, namelen);
	}
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

int WSPAPI mb_GetPeerName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	struct call c;
	int err;
	struct mb_socket *o = mb_acquire(&c, s, 0, &err);
	if (!o)
		return fail(lpErrno, err);
	if (!o->connected || o->listening)
		err = WSAENOTCONN;
	else
		err = mb_addr_out(&o->remote, name, namelen);
	pv_unlock();
	return err ? fail(lpErrno, err) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* What this provider does not support                                                          */

int WSPAPI mb_DuplicateSocket(SOCKET s, DWORD dwProcessId, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                              LPINT lpErrno)
{
	struct call c;
	int err;
	(void)dwProcessId;
	(void)lpProtocolInfo;
	if (!mb_acquire(&c, s, 0, &err))
		return fail(lpErrno, err);
	pv_unlock();
	return fail(lpErrno, WSAEOPNOTSUPP);
}

SOCKET WSPAPI mb_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF lpCallerData,
                          LPWSABUF lpCalleeData, LPQOS lpSQOS, LPQOS lpGQOS, DWORD dwFlags,
                          LPINT lpErrno)
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
	if (!mb_acquire(&c, s, 0, &err))
		return fail_socket(lpErrno, err);
	pv_unlock();
	return fail_socket(lpErrno, WSAEOPNOTSUPP);
}

BOOL WSPAPI mb_GetQOSByName(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno)
{
	struct call c;
	int err;
	(void)lpQOSName;
	(void)lpQOS;
	if (!mb_acquire(&c, s, 0, &err))
		return fail_bool(lpErrno, err);
	pv_unlock();
	return fail_bool(lpErrno, WSAEOPNOTSUPP);
}
