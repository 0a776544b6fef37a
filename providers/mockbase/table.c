/* mockbase: the socket table: entering a call, finding a socket, its handle and its port. */

/*
 * Every entry point starts here: mb_enter checks the startup count and snapshots what the call
 * needs from the global state; mb_acquire also finds the socket behind the client's handle
 * (non-IFS: through WPUQuerySocketHandleContext, whose context is checked against the live
 * objects; IFS: by the handle value itself) and returns with the lock held. The socket objects
 * are created, linked and freed here, get their client-visible handle here (WPUCreateSocketHandle
 * for non-IFS, a proposal passed through WPUModifyIFSHandle for IFS: a kernel handle where
 * khandle.h has one, else a counter value that is never reused) and their local port.
 */

#include "model.h"

struct mb_state mb_g; /* the state every file shares (model.h) */

void mb_snapshot(struct call *c)
{
	c->up = *mb_g.upp;
	c->catalog = mb_g.catalog;
	c->ifs = mb_g.ifs;
	c->gen = mb_g.gen;
}

/* Checks the startup count and takes a snapshot; the lock is not held afterwards. */
int mb_enter(struct call *c)
{
	mb_flush_late();
	pv_lock();
	if (mb_g.startups <= 0) {
		pv_unlock();
		return WSANOTINITIALISED;
	}
	mb_snapshot(c);
	pv_unlock();
	return 0;
}

int mb_still_current(const struct call *c)
{
	return mb_g.startups > 0 && mb_g.gen == c->gen;
}

static struct mb_socket *find_by_handle(SOCKET s)
{
	for (struct mb_socket *o = mb_g.sockets; o; o = o->next)
		if (o->has_handle && !o->closed && o->handle == s)
			return o;
	return NULL;
}

static struct mb_socket *find_by_context(DWORD_PTR ctx, SOCKET s)
{
	for (struct mb_socket *o = mb_g.sockets; o; o = o->next)
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

int mb_unknown_handle_error(void)
{
	return F(ERRNO_NOT_SET) ? MB_ERR_UNSET : F(STALE_WRONG_ERROR) ? WSAEINVAL : WSAENOTSOCK;
}

/* Non-IFS: asks WPUQuerySocketHandleContext (outside the lock). */
int mb_prepare_lookup(const struct call *c, SOCKET s, int io_call, DWORD_PTR *ctx)
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
struct mb_socket *mb_lookup_locked(const struct call *c, SOCKET s, DWORD_PTR ctx)
{
	return c->ifs ? find_by_handle(s) : find_by_context(ctx, s);
}

/*
 * Resolves s for an entry point. On success the lock is held, *err is 0 and the object is
 * returned; on failure the lock is not held and *err says why. io_call marks
 * WSPSend/WSPRecv/WSPCloseSocket (only the IFS-queries-context variant cares).
 */
struct mb_socket *mb_acquire(struct call *c, SOCKET s, int io_call, int *err)
{
	DWORD_PTR ctx;
	int e = mb_enter(c);
	if (e) {
		*err = e;
		return NULL;
	}
	e = mb_prepare_lookup(c, s, io_call, &ctx);
	if (e) {
		*err = e;
		return NULL;
	}
	pv_lock();
	if (!mb_still_current(c)) {
		pv_unlock();
		*err = WSANOTINITIALISED;
		return NULL;
	}
	struct mb_socket *o = mb_lookup_locked(c, s, ctx);
	if (!o) {
		pv_unlock();
		*err = mb_unknown_handle_error();
		return NULL;
	}
	*err = 0;
	return o;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket objects                                                                               */

void mb_free_socket(struct mb_socket *o)
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

void mb_sock_unref(struct mb_socket *o)
{
	o->refs--;
	if (o->closed && o->refs == 0 && !F(UNLOCKED_HANDLE_TABLE))
		mb_free_socket(o);
}

struct mb_socket *mb_sock_new(int type, int protocol, const WSAPROTOCOL_INFOW *pinfo)
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
	} else if (mb_g.have_pinfo) {
		o->pinfo = mb_g.pinfo;
	} else {
		o->pinfo.dwCatalogEntryId = mb_g.catalog;
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

void mb_sock_link(struct mb_socket *o)
{
	if (F(UNLOCKED_HANDLE_TABLE)) {
		/* at the end, where its unlocked unlink below loses no new entry, only its own */
		struct mb_socket **pp = &mb_g.sockets;
		while (*pp)
			pp = &(*pp)->next;
		o->next = NULL;
		*pp = o;
		return;
	}
	o->next = mb_g.sockets;
	mb_g.sockets = o;
}

/*
 * The unlocked-handle-table variant's unlink, called with the lock held: it finds the link to o,
 * then lets go of the lock while it takes o out, as code that believes the table cannot change
 * under it. A close of the entry before o on another thread in that window rewrites the same link
 * and one of the two updates is lost: the lost one puts back a closed entry, whose handle the
 * final WSPCleanup then releases a second time. Closed objects are never freed in this variant
 * (a lost update leaves them reachable).
 */
void mb_sock_unlink_unlocked(struct mb_socket *o)
{
	struct mb_socket **pp = &mb_g.sockets;
	while (*pp && *pp != o)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	pv_unlock();
	pv_sleep_ms(MB_RACE_MS);
	*pp = o->next; /* the bug: written without the lock; pp may no longer lead to o */
	pv_lock();
}

void mb_sock_unlink(struct mb_socket *o)
{
	for (struct mb_socket **pp = &mb_g.sockets; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			o->next = NULL;
			return;
		}
	}
}

/* Process lifetime, never reset: IFS proposals are never reused. */
static uintptr_t g_next_proposal = 0x4d420000u;

static SOCKET next_proposal(void)
{
	g_next_proposal += 4;
	return (SOCKET)g_next_proposal;
}

/* Outside the lock: the value an IFS socket proposes to WPUModifyIFSHandle, its kernel handle where
 * there is one (*kh, a reference for the socket), else the next counter value. */
SOCKET mb_propose(const struct call *c, struct mb_kh **kh)
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
void mb_give_handle(struct mb_socket *o, const struct call *c, SOCKET h, int wpu, struct mb_kh *kh)
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
 * proposal comes from mb_propose()). 0 on success, else the WSA error.
 */
int mb_obtain_handle(const struct call *c, struct mb_socket *obj, SOCKET proposed, SOCKET *out,
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
void mb_release_handle(const struct call *c, SOCKET h, int wpu_handle)
{
	int e = 0;
	if (wpu_handle)
		c->up.lpWPUCloseSocketHandle(h, &e);
}

static int port_in_use(int type, struct mb_addr a, const struct mb_socket *self, int reuse)
{
	if (reuse)
		return 0;
	for (struct mb_socket *o = mb_g.sockets; o; o = o->next) {
		if (o == self || o->closed || !o->owns_port || o->type != type)
			continue;
		if (o->local.port == a.port &&
		    (o->local.ip == a.ip || o->local.ip == 0 || a.ip == 0))
			return 1;
	}
	return 0;
}

int mb_bind_to(struct mb_socket *o, struct mb_addr a)
{
	if (a.port == 0) {
		unsigned span = MB_EPHEMERAL_LAST - MB_EPHEMERAL_FIRST + 1;
		for (unsigned i = 0; i < span; i++) {
			unsigned p = mb_g.next_port;
			mb_g.next_port = (p >= MB_EPHEMERAL_LAST) ? MB_EPHEMERAL_FIRST : p + 1;
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

int mb_autobind(struct mb_socket *o)
{
	struct mb_addr any = {0, 0};
	return o->bound ? 0 : mb_bind_to(o, any);
}
