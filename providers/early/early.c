/* early: a base provider at its start: lifecycle and socket handles right, the rest refused. */
/*
 * What it does right, from the SPI documentation (WSPStartup, WSPCleanup, WSPSocket,
 * WSPCloseSocket, Descriptor Allocation, Closing Sockets and the WPU* pages):
 *   - WSPStartup negotiates the version (2.0 to 2.2), fills WSPDATA and all 30 entries of the
 *     procedure table, copies the by-value upcall table (the most recent one is used) and counts
 *     startups; WSPCleanup balances them and only the final one releases the sockets still open.
 *   - Sockets: the kind comes from XP1_IFS_HANDLES in the protocol info. A non-IFS socket's handle
 *     comes from WPUCreateSocketHandle (with the catalog entry id and a context naming its slot),
 *     is found again through WPUQuerySocketHandleContext and released with WPUCloseSocketHandle.
 *     An IFS socket gets a handle value of the provider's own making, passed through
 *     WPUModifyIFSHandle; the client gets the value that upcall returned, and the provider finds
 *     it in its own table.
 * Everything else first checks its socket (WSAENOTSOCK for one the provider does not know) and
 * then fails with the return value its page gives for failure and a code its page lists, where
 * one fits; WSAEOPNOTSUPP where none does.
 *
 * One lock (providers/common) guards all state. It is never held across an upcall: a slot is
 * reserved or marked closing under the lock, the upcall runs without it.
 */
#include "pv_sync.h"
#include "wsph/spi.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SLOT_BITS    10
#define MAX_SOCKETS  (1u << SLOT_BITS)
#define VERSION_LOW  MAKEWORD(2, 0)
#define VERSION_HIGH MAKEWORD(2, 2)
/* The value FROM_PROTOCOL_INFO (winsock2.h): take af, type or protocol from the protocol info. */
#define EARLY_FROM_PROTOCOL_INFO (-1)

enum slot_state {
	SLOT_FREE,
	SLOT_OPENING, /* reserved by a WSPSocket that has not returned yet */
	SLOT_OPEN,
	SLOT_CLOSING /* taken by a WSPCloseSocket (or the final WSPCleanup) releasing it */
};

struct early_socket {
	enum slot_state state;
	int ifs;
	SOCKET handle;     /* what the client holds (set once open) */
	DWORD_PTR context; /* non-IFS: the context registered with WPUCreateSocketHandle */
	uint64_t serial;   /* never reused while the module is loaded */
	int type;          /* SOCK_STREAM or SOCK_DGRAM */
	DWORD catalog_id;
};

static struct {
	unsigned startups;      /* successful WSPStartups not yet balanced by a WSPCleanup */
	WSPUPCALLTABLE upcalls; /* a copy of the most recently supplied table */
	DWORD service_flags1;   /* of the protocol info of the most recent WSPStartup */
	DWORD catalog_id;       /* its dwCatalogEntryId */
	WSAPROTOCOL_INFOW info; /* the whole of it, for a WSPSocket given none */
	int have_info;
	uint64_t next_serial;
	struct early_socket sockets[MAX_SOCKETS];
} g;

static const char description[] = "wspharness early provider (lifecycle and socket handles only)";

static int set_error(LPINT lpErrno, int code)
{
	if (lpErrno)
		*lpErrno = code;
	return SOCKET_ERROR;
}

static int is_ifs(DWORD service_flags1)
{
	return (service_flags1 & XP1_IFS_HANDLES) != 0;
}

/* Version words: low byte major, high byte minor. */
static int version_less(WORD a, WORD b)
{
	if (LOBYTE(a) != LOBYTE(b))
		return LOBYTE(a) < LOBYTE(b);
	return HIBYTE(a) < HIBYTE(b);
}

/* ---- finding the socket a call names ---- */

struct sock_ref {
	unsigned idx;
	uint64_t serial;
};

/* With the lock held: the slot a non-IFS context names, or MAX_SOCKETS when it names none. */
static unsigned slot_of_context(DWORD_PTR context)
{
	unsigned idx = (unsigned)(context & (MAX_SOCKETS - 1));
	const struct early_socket *k = &g.sockets[idx];
	if (k->state != SLOT_OPEN || k->ifs || k->context != context)
		return MAX_SOCKETS;
	return idx;
}

/* With the lock held: the open IFS slot whose handle is s, or MAX_SOCKETS. */
static unsigned slot_of_ifs_handle(SOCKET s)
{
	for (unsigned i = 0; i < MAX_SOCKETS; i++)
		if (g.sockets[i].state == SLOT_OPEN && g.sockets[i].ifs && g.sockets[i].handle == s)
			return i;
	return MAX_SOCKETS;
}

/*
 * Finds the open socket s names: 0 and *out, or a WSA error code. IFS handles are the provider's
 * own and are looked up in its table; a non-IFS provider asks ws2_32 for the context of s (only
 * non-IFS providers may) and checks that the context is one it registered for s.
 */
static int find_socket(SOCKET s, struct sock_ref *out)
{
	pv_lock();
	if (g.startups == 0) {
		pv_unlock();
		return WSAENOTSOCK; /* no startup, no sockets: and no upcall table to ask */
	}
	unsigned idx = slot_of_ifs_handle(s);
	int nonifs = !is_ifs(g.service_flags1);
	LPWPUQUERYSOCKETHANDLECONTEXT query = g.upcalls.lpWPUQuerySocketHandleContext;
	pv_unlock();
	if (idx == MAX_SOCKETS) {
		if (!nonifs || !query)
			return WSAENOTSOCK;
		DWORD_PTR context = 0;
		int err = 0;
		if (query(s, &context, &err) != 0)
			return WSAENOTSOCK;
		pv_lock();
		idx = slot_of_context(context);
		if (idx != MAX_SOCKETS && g.sockets[idx].handle != s)
			idx = MAX_SOCKETS;
		if (idx == MAX_SOCKETS) {
			pv_unlock();
			return WSAENOTSOCK;
		}
	} else {
		pv_lock();
		if (g.sockets[idx].state != SLOT_OPEN || g.sockets[idx].handle != s) {
			pv_unlock();
			return WSAENOTSOCK;
		}
	}
	out->idx = idx;
	out->serial = g.sockets[idx].serial;
	pv_unlock();
	return 0;
}

/* The common end of every entry point this provider does not implement yet: the socket is
 * checked first, then the call fails with the code given. */
static int refuse(SOCKET s, int code, LPINT lpErrno)
{
	struct sock_ref r;
	int err = find_socket(s, &r);
	return set_error(lpErrno, err ? err : code);
}

/* ---- WSPSocket and WSPCloseSocket ---- */

/* The type of socket the arguments ask for, checked against the protocol info: 0, or an error. */
static int socket_type(int af, int type, int protocol, const WSAPROTOCOL_INFOW *pi, int *out)
{
	int want_af = pi ? pi->iAddressFamily : AF_INET;
	int want_type = pi ? pi->iSocketType : type;
	int want_proto = pi ? pi->iProtocol : protocol;
	if (af != 0 && af != EARLY_FROM_PROTOCOL_INFO && af != want_af)
		return WSAEAFNOSUPPORT;
	if (want_af != AF_INET)
		return WSAEAFNOSUPPORT;
	if (type != 0 && type != EARLY_FROM_PROTOCOL_INFO && type != want_type)
		return WSAESOCKTNOSUPPORT;
	if (want_type != SOCK_STREAM && want_type != SOCK_DGRAM)
		return WSAESOCKTNOSUPPORT;
	if (protocol != 0 && protocol != EARLY_FROM_PROTOCOL_INFO && want_proto != 0 &&
	    protocol != want_proto)
		return WSAEPROTONOSUPPORT;
	int proto = protocol != 0 && protocol != EARLY_FROM_PROTOCOL_INFO ? protocol : want_proto;
	if (proto != 0 && proto != (want_type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return WSAEPROTOTYPE;
	*out = want_type;
	return 0;
}

/* With the lock held: a free slot, reserved (SLOT_OPENING), or MAX_SOCKETS when all are in use. */
static unsigned reserve_slot(int ifs, int type, DWORD catalog_id)
{
	for (unsigned i = 0; i < MAX_SOCKETS; i++) {
		struct early_socket *k = &g.sockets[i];
		if (k->state != SLOT_FREE)
			continue;
		memset(k, 0, sizeof *k);
		k->state = SLOT_OPENING;
		k->ifs = ifs;
		k->type = type;
		k->catalog_id = catalog_id;
		k->serial = ++g.next_serial;
		/* The context names the slot and its serial, so a stale or foreign one is refused.
		 */
		k->context = ((DWORD_PTR)k->serial << SLOT_BITS) | i;
		return i;
	}
	return MAX_SOCKETS;
}

/* WSPSocket's own list of codes; a failing upcall's code is passed on when it is one of them. */
static int socket_code(int upcall_err)
{
	switch (upcall_err) {
	case WSAENETDOWN:
	case WSAEMFILE:
	case WSAENOBUFS:
	case WSAEINVAL:
		return upcall_err;
	default:
		return WSAENOBUFS;
	}
}

static SOCKET WSPAPI early_socket(int af, int type, int protocol,
                                  LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g_, DWORD dwFlags,
                                  LPINT lpErrno)
{
	(void)dwFlags; /* WSA_FLAG_OVERLAPPED is accepted; nothing here is ever overlapped */
	if (g_ != 0) {
		set_error(lpErrno, WSAEINVAL); /* no socket groups */
		return INVALID_SOCKET;
	}
	pv_lock();
	if (g.startups == 0) {
		pv_unlock();
		set_error(lpErrno, WSANOTINITIALISED);
		return INVALID_SOCKET;
	}
	const WSAPROTOCOL_INFOW *pi = lpProtocolInfo ? lpProtocolInfo
	                              : g.have_info  ? &g.info
	                                             : NULL;
	int kind = 0;
	int err = socket_type(af, type, protocol, pi, &kind);
	if (err) {
		pv_unlock();
		set_error(lpErrno, err);
		return INVALID_SOCKET;
	}
	DWORD flags1 = pi ? pi->dwServiceFlags1 : g.service_flags1;
	DWORD catalog_id = pi ? pi->dwCatalogEntryId : g.catalog_id;
	int ifs = is_ifs(flags1);
	unsigned idx = reserve_slot(ifs, kind, catalog_id);
	if (idx == MAX_SOCKETS) {
		pv_unlock();
		set_error(lpErrno, WSAEMFILE);
		return INVALID_SOCKET;
	}
	struct early_socket *k = &g.sockets[idx];
	DWORD_PTR context = k->context;
	/* A value of the provider's own: unique among its open sockets, never 0 or INVALID_SOCKET.
	 */
	SOCKET proposed = (SOCKET)(0x45000000u + ((uintptr_t)(k->serial % 0x100000u) << 2));
	LPWPUCREATESOCKETHANDLE create = g.upcalls.lpWPUCreateSocketHandle;
	LPWPUMODIFYIFSHANDLE modify = g.upcalls.lpWPUModifyIFSHandle;
	pv_unlock();

	int upcall_err = 0;
	SOCKET h;
	if (ifs)
		h = modify ? modify(catalog_id, proposed, &upcall_err) : INVALID_SOCKET;
	else
		h = create ? create(catalog_id, context, &upcall_err) : INVALID_SOCKET;

	pv_lock();
	if (h == INVALID_SOCKET) {
		/* Nothing was made: the slot goes back, the call fails with the upcall's reason. */
		k->state = SLOT_FREE;
		pv_unlock();
		set_error(lpErrno, socket_code(upcall_err));
		return INVALID_SOCKET;
	}
	k->handle = h;
	k->state = SLOT_OPEN;
	pv_unlock();
	return h;
}

/* Releases a slot taken with SLOT_CLOSING: a non-IFS handle goes back to ws2_32 first. Returns the
 * code of a failed release, else 0. */
static int release_slot(unsigned idx, LPWPUCLOSESOCKETHANDLE close_handle)
{
	struct early_socket *k = &g.sockets[idx];
	int err = 0;
	if (!k->ifs && close_handle && close_handle(k->handle, &err) != 0 && !err)
		err = WSAENOTSOCK;
	pv_lock();
	memset(k, 0, sizeof *k);
	k->state = SLOT_FREE;
	pv_unlock();
	return err;
}

static int WSPAPI early_closesocket(SOCKET s, LPINT lpErrno)
{
	struct sock_ref r;
	int err = find_socket(s, &r);
	if (err)
		return set_error(lpErrno, err);
	pv_lock();
	struct early_socket *k = &g.sockets[r.idx];
	if (k->state != SLOT_OPEN || k->serial != r.serial) {
		/* closed by another thread in the meantime */
		pv_unlock();
		return set_error(lpErrno, WSAENOTSOCK);
	}
	k->state = SLOT_CLOSING;
	LPWPUCLOSESOCKETHANDLE close_handle = g.upcalls.lpWPUCloseSocketHandle;
	pv_unlock();
	/* The provider's resources go whatever ws2_32 answers; its refusal is passed on. */
	err = release_slot(r.idx, close_handle);
	if (err)
		return set_error(lpErrno, WSAENOTSOCK);
	return 0;
}

/* ---- WSPCleanup ---- */

static int WSPAPI early_cleanup(LPINT lpErrno)
{
	pv_lock();
	if (g.startups == 0) {
		pv_unlock();
		return set_error(lpErrno, WSANOTINITIALISED);
	}
	if (--g.startups > 0) {
		pv_unlock();
		return 0; /* not the final cleanup: the sockets stay */
	}
	/* The final cleanup: every socket still open is reset as if WSPCloseSocket were called. */
	LPWPUCLOSESOCKETHANDLE close_handle = g.upcalls.lpWPUCloseSocketHandle;
	unsigned taken[MAX_SOCKETS];
	unsigned n = 0;
	for (unsigned i = 0; i < MAX_SOCKETS; i++)
		if (g.sockets[i].state == SLOT_OPEN) {
			g.sockets[i].state = SLOT_CLOSING;
			taken[n++] = i;
		}
	pv_unlock();
	for (unsigned i = 0; i < n; i++)
		release_slot(taken[i], close_handle);
	pv_lock();
	/* No upcall table is used after the final cleanup: forget it. */
	if (g.startups == 0) {
		memset(&g.upcalls, 0, sizeof g.upcalls);
		g.have_info = 0;
	}
	pv_unlock();
	return 0;
}

/* ---- the entry points not implemented yet ---- */

static SOCKET WSPAPI early_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                                  LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                                  LPINT lpErrno)
{
	(void)addr;
	(void)addrlen;
	(void)lpfnCondition;
	(void)dwCallbackData;
	refuse(s, WSAEOPNOTSUPP, lpErrno);
	return INVALID_SOCKET;
}

static INT WSPAPI early_address_to_string(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                                          LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                          LPWSTR lpszAddressString, LPDWORD lpdwAddressStringLength,
                                          LPINT lpErrno)
{
	(void)lpsaAddress;
	(void)dwAddressLength;
	(void)lpProtocolInfo;
	(void)lpszAddressString;
	(void)lpdwAddressStringLength;
	/* Its page lists WSAEFAULT and WSAEINVAL only; no address is converted yet. */
	return set_error(lpErrno, WSAEINVAL);
}

static int WSPAPI early_async_select(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent,
                                     LPINT lpErrno)
{
	(void)hWnd;
	(void)wMsg;
	(void)lEvent;
	/* No code of its page means "not supported". */
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	(void)name;
	(void)namelen;
	/* No code of its page means "not supported". */
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_cancel_blocking_call(LPINT lpErrno)
{
	/* WSAEINVAL: there is no outstanding blocking call (this provider never blocks). */
	return set_error(lpErrno, WSAEINVAL);
}

static int WSPAPI early_connect(SOCKET s, const struct sockaddr *name, int namelen,
                                LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                LPQOS lpGQOS, LPINT lpErrno)
{
	(void)name;
	(void)namelen;
	(void)lpCallerData;
	(void)lpCalleeData;
	(void)lpSQOS;
	(void)lpGQOS;
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_duplicate_socket(SOCKET s, DWORD dwProcessId,
                                         LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	(void)dwProcessId;
	(void)lpProtocolInfo;
	/* No code of its page means "not supported". */
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_enum_network_events(SOCKET s, WSAEVENT hEventObject,
                                            LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
{
	(void)hEventObject;
	(void)lpNetworkEvents;
	/* No code of its page means "not supported". */
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_event_select(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                     LPINT lpErrno)
{
	(void)hEventObject;
	(void)lNetworkEvents;
	/* No code of its page means "not supported". */
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static BOOL WSPAPI early_get_overlapped_result(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                               LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags,
                                               LPINT lpErrno)
{
	(void)lpOverlapped;
	(void)lpcbTransfer;
	(void)fWait;
	(void)lpdwFlags;
	/* No overlapped operation was ever started here: the WSAOVERLAPPED is not acceptable. */
	refuse(s, WSAEINVAL, lpErrno);
	return FALSE;
}

static int WSPAPI early_get_peer_name(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	(void)name;
	(void)namelen;
	/* No socket of this provider is ever connected. */
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI early_get_sock_name(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	(void)name;
	(void)namelen;
	/* No socket of this provider is ever bound. */
	return refuse(s, WSAEINVAL, lpErrno);
}

static int WSPAPI early_get_sock_opt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                                     LPINT lpErrno)
{
	(void)level;
	(void)optname;
	(void)optval;
	(void)optlen;
	/* No option is supported yet. */
	return refuse(s, WSAENOPROTOOPT, lpErrno);
}

static BOOL WSPAPI early_get_qos_by_name(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno)
{
	(void)lpQOSName;
	(void)lpQOS;
	/* No QOS template is known, so every name is invalid. */
	refuse(s, WSAEINVAL, lpErrno);
	return FALSE;
}

static int WSPAPI early_ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                              LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                              LPWSAOVERLAPPED lpOverlapped,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                              LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	(void)dwIoControlCode;
	(void)lpvInBuffer;
	(void)cbInBuffer;
	(void)lpvOutBuffer;
	(void)cbOutBuffer;
	(void)lpcbBytesReturned;
	(void)lpOverlapped;
	(void)lpCompletionRoutine;
	(void)lpThreadId;
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static SOCKET WSPAPI early_join_leaf(SOCKET s, const struct sockaddr *name, int namelen,
                                     LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                     LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
	(void)name;
	(void)namelen;
	(void)lpCallerData;
	(void)lpCalleeData;
	(void)lpSQOS;
	(void)lpGQOS;
	(void)dwFlags;
	refuse(s, WSAEOPNOTSUPP, lpErrno);
	return INVALID_SOCKET;
}

static int WSPAPI early_listen(SOCKET s, int backlog, LPINT lpErrno)
{
	(void)backlog;
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                             LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                             LPWSAOVERLAPPED lpOverlapped,
                             LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                             LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	(void)lpBuffers;
	(void)dwBufferCount;
	(void)lpNumberOfBytesRecvd;
	(void)lpFlags;
	(void)lpOverlapped;
	(void)lpCompletionRoutine;
	(void)lpThreadId;
	/* Not WSA_IO_PENDING: no overlapped operation is started, so none will complete. */
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_recv_disconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
	(void)lpInboundDisconnectData;
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI early_recv_from(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                  LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                                  struct sockaddr *lpFrom, LPINT lpFromlen,
                                  LPWSAOVERLAPPED lpOverlapped,
                                  LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                  LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	(void)lpBuffers;
	(void)dwBufferCount;
	(void)lpNumberOfBytesRecvd;
	(void)lpFlags;
	(void)lpFrom;
	(void)lpFromlen;
	(void)lpOverlapped;
	(void)lpCompletionRoutine;
	(void)lpThreadId;
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

/* Every socket in the set is checked: 0, or WSAENOTSOCK for the first one not known. */
static int check_set(const fd_set *set)
{
	if (!set)
		return 0;
	if (set->fd_count > FD_SETSIZE)
		return WSAEINVAL;
	for (u_int i = 0; i < set->fd_count; i++) {
		struct sock_ref r;
		if (find_socket(set->fd_array[i], &r))
			return WSAENOTSOCK;
	}
	return 0;
}

static int WSPAPI early_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                               const PTIMEVAL timeout, LPINT lpErrno)
{
	(void)nfds;
	(void)timeout;
	int err = check_set(readfds);
	if (!err)
		err = check_set(writefds);
	if (!err)
		err = check_set(exceptfds);
	/* No code of its page means "not supported". */
	return set_error(lpErrno, err ? err : WSAEOPNOTSUPP);
}

static int WSPAPI early_send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                             LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                             LPWSAOVERLAPPED lpOverlapped,
                             LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                             LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	(void)lpBuffers;
	(void)dwBufferCount;
	(void)lpNumberOfBytesSent;
	(void)dwFlags;
	(void)lpOverlapped;
	(void)lpCompletionRoutine;
	(void)lpThreadId;
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_send_disconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
	(void)lpOutboundDisconnectData;
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI early_send_to(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                                const struct sockaddr *lpTo, int iTolen,
                                LPWSAOVERLAPPED lpOverlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	(void)lpBuffers;
	(void)dwBufferCount;
	(void)lpNumberOfBytesSent;
	(void)dwFlags;
	(void)lpTo;
	(void)iTolen;
	(void)lpOverlapped;
	(void)lpCompletionRoutine;
	(void)lpThreadId;
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI early_set_sock_opt(SOCKET s, int level, int optname, const char *optval,
                                     int optlen, LPINT lpErrno)
{
	(void)level;
	(void)optname;
	(void)optval;
	(void)optlen;
	return refuse(s, WSAENOPROTOOPT, lpErrno);
}

static int WSPAPI early_shutdown(SOCKET s, int how, LPINT lpErrno)
{
	(void)how;
	/* No socket of this provider is ever connected. */
	return refuse(s, WSAENOTCONN, lpErrno);
}

static INT WSPAPI early_string_to_address(LPWSTR AddressString, INT AddressFamily,
                                          LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                                          LPINT lpAddressLength, LPINT lpErrno)
{
	(void)AddressString;
	(void)AddressFamily;
	(void)lpProtocolInfo;
	(void)lpAddress;
	(void)lpAddressLength;
	/* Its page lists WSAEFAULT and WSAEINVAL only; no string is translated yet. */
	return set_error(lpErrno, WSAEINVAL);
}

/* ---- WSPStartup, the one export ---- */

static void fill_proc_table(LPWSPPROC_TABLE t)
{
	t->lpWSPAccept = early_accept;
	t->lpWSPAddressToString = early_address_to_string;
	t->lpWSPAsyncSelect = early_async_select;
	t->lpWSPBind = early_bind;
	t->lpWSPCancelBlockingCall = early_cancel_blocking_call;
	t->lpWSPCleanup = early_cleanup;
	t->lpWSPCloseSocket = early_closesocket;
	t->lpWSPConnect = early_connect;
	t->lpWSPDuplicateSocket = early_duplicate_socket;
	t->lpWSPEnumNetworkEvents = early_enum_network_events;
	t->lpWSPEventSelect = early_event_select;
	t->lpWSPGetOverlappedResult = early_get_overlapped_result;
	t->lpWSPGetPeerName = early_get_peer_name;
	t->lpWSPGetSockName = early_get_sock_name;
	t->lpWSPGetSockOpt = early_get_sock_opt;
	t->lpWSPGetQOSByName = early_get_qos_by_name;
	t->lpWSPIoctl = early_ioctl;
	t->lpWSPJoinLeaf = early_join_leaf;
	t->lpWSPListen = early_listen;
	t->lpWSPRecv = early_recv;
	t->lpWSPRecvDisconnect = early_recv_disconnect;
	t->lpWSPRecvFrom = early_recv_from;
	t->lpWSPSelect = early_select;
	t->lpWSPSend = early_send;
	t->lpWSPSendDisconnect = early_send_disconnect;
	t->lpWSPSendTo = early_send_to;
	t->lpWSPSetSockOpt = early_set_sock_opt;
	t->lpWSPShutdown = early_shutdown;
	t->lpWSPSocket = early_socket;
	t->lpWSPStringToAddress = early_string_to_address;
}

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                           WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable)
{
	if (!lpWSPData || !lpProcTable)
		return WSAEFAULT;
	if (version_less(wVersionRequested, VERSION_LOW))
		return WSAVERNOTSUPPORTED;
	lpWSPData->wVersion =
	    version_less(wVersionRequested, VERSION_HIGH) ? wVersionRequested : VERSION_HIGH;
	lpWSPData->wHighVersion = VERSION_HIGH;
	size_t i = 0;
	for (; description[i] && i < WSPDESCRIPTION_LEN; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)description[i];
	lpWSPData->szDescription[i] = 0;
	fill_proc_table(lpProcTable);

	pv_lock();
	/* The table arrives by value: keep a copy, the most recent one, never its address. */
	g.upcalls = UpcallTable;
	if (lpProtocolInfo) {
		g.info = *lpProtocolInfo;
		g.have_info = 1;
		g.service_flags1 = lpProtocolInfo->dwServiceFlags1;
		g.catalog_id = lpProtocolInfo->dwCatalogEntryId;
	}
	g.startups++;
	pv_unlock();
	return 0;
}
