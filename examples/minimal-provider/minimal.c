/* A minimal non-IFS base provider to copy: the lifecycle and socket handles, the rest refused. */
/*
 * Written from Microsoft's SPI documentation (the WSPStartup, WSPCleanup, WSPSocket, WSPCloseSocket
 * and WPU* pages, "Descriptor Allocation" and "Closing Sockets"), against include/wsph/spi.h, so
 * the same file builds as a .so (POSIX) and as a .dll (mingw-w64). What it does:
 *   - WSPStartup negotiates the version (2.0 to 2.2), fills WSPDATA and all 30 entries of the
 *     procedure table, keeps a copy of the upcall table it is given (the most recent one) and
 *     counts startups. WSPCleanup balances them; only the final one closes the sockets still open.
 *   - A socket's handle comes from WPUCreateSocketHandle: a non-IFS provider's handles belong to
 *     ws2_32. The context registered with it names the provider's slot; every call that takes a
 *     socket finds the slot again with WPUQuerySocketHandleContext, and WSPCloseSocket gives the
 *     handle back with WPUCloseSocketHandle.
 *   - getsockopt(SO_TYPE) is answered. No socket is ever bound or connected: send, receive and
 *     getpeername fail with WSAENOTCONN, and the entry points not written yet fail with
 *     WSAEOPNOTSUPP. Each failure writes its code to *lpErrno.
 * For brevity it has no lock: the bundled scenarios it passes (README, "Test your provider")
 * call it from one thread. A provider whose calls can come from several threads guards `g` with
 * one.
 */
#include "wsph/spi.h"

#include <string.h>

#if defined(__GNUC__)
/* Every entry point takes the arguments of its prototype; the ones not written yet use few. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif

#define MAX_SOCKETS 64

struct slot {
	int in_use;
	SOCKET handle; /* from WPUCreateSocketHandle */
	int type;      /* SOCK_STREAM or SOCK_DGRAM */
};

static struct {
	unsigned startups;      /* successful WSPStartups not yet balanced by a WSPCleanup */
	WSPUPCALLTABLE upcalls; /* a copy: the table arrives by value, its buffer does not last */
	DWORD catalog_id;       /* of the protocol info given to the latest WSPStartup */
	struct slot slots[MAX_SOCKETS];
} g;

static int fail(LPINT lpErrno, int code)
{
	*lpErrno = code;
	return SOCKET_ERROR;
}

/* The slot of socket s, or NULL: only a handle this provider created has a context that names one
 * of its slots (ws2_32 answers WSAENOTSOCK for any other). */
static struct slot *find(SOCKET s)
{
	DWORD_PTR context = 0;
	int err = 0;
	if (g.startups == 0 || g.upcalls.lpWPUQuerySocketHandleContext(s, &context, &err) != 0)
		return NULL;
	if (context < 1 || context > MAX_SOCKETS)
		return NULL;
	struct slot *k = &g.slots[context - 1];
	return k->in_use && k->handle == s ? k : NULL;
}

/* The common end of the calls that take a socket and cannot succeed yet. */
static int refuse(SOCKET s, int code, LPINT lpErrno)
{
	return fail(lpErrno, find(s) ? code : WSAENOTSOCK);
}

/* Gives the handle back to ws2_32 and frees the slot. */
static int release(struct slot *k)
{
	int err = 0;
	int rc = g.upcalls.lpWPUCloseSocketHandle(k->handle, &err);
	memset(k, 0, sizeof *k);
	return rc;
}

/* ---- sockets ---- */

static SOCKET WSPAPI mp_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                               GROUP g_, DWORD dwFlags, LPINT lpErrno)
{
	if (g.startups == 0) {
		*lpErrno = WSANOTINITIALISED;
		return INVALID_SOCKET;
	}
	if (lpProtocolInfo && (type == 0 || type == FROM_PROTOCOL_INFO))
		type = lpProtocolInfo->iSocketType;
	int err = 0;
	if (af != AF_INET && af != FROM_PROTOCOL_INFO)
		err = WSAEAFNOSUPPORT;
	else if (type != SOCK_STREAM && type != SOCK_DGRAM)
		err = WSAESOCKTNOSUPPORT;
	else if (g_ != 0)
		err = WSAEINVAL; /* no socket groups */
	if (err) {
		*lpErrno = err;
		return INVALID_SOCKET;
	}
	unsigned i = 0;
	while (i < MAX_SOCKETS && g.slots[i].in_use)
		i++;
	if (i == MAX_SOCKETS) {
		*lpErrno = WSAEMFILE;
		return INVALID_SOCKET;
	}
	/* The handle is ws2_32's; the context (slot number + 1) leads back to the slot. */
	DWORD catalog_id = lpProtocolInfo ? lpProtocolInfo->dwCatalogEntryId : g.catalog_id;
	SOCKET h = g.upcalls.lpWPUCreateSocketHandle(catalog_id, (DWORD_PTR)i + 1, &err);
	if (h == INVALID_SOCKET) {
		*lpErrno = err ? err : WSAENOBUFS; /* no handle, no socket */
		return INVALID_SOCKET;
	}
	g.slots[i].in_use = 1;
	g.slots[i].handle = h;
	g.slots[i].type = type;
	return h;
}

static int WSPAPI mp_closesocket(SOCKET s, LPINT lpErrno)
{
	struct slot *k = find(s);
	if (!k)
		return fail(lpErrno, WSAENOTSOCK);
	if (release(k) != 0)
		return fail(lpErrno, WSAENOTSOCK);
	return 0;
}

static int WSPAPI mp_getsockopt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                                LPINT lpErrno)
{
	struct slot *k = find(s);
	if (!k)
		return fail(lpErrno, WSAENOTSOCK);
	if (level != SOL_SOCKET || optname != SO_TYPE)
		return fail(lpErrno, WSAENOPROTOOPT);
	if (!optval || !optlen || *optlen < (int)sizeof(int))
		return fail(lpErrno, WSAEFAULT);
	memcpy(optval, &k->type, sizeof(int));
	*optlen = (int)sizeof(int);
	return 0;
}

/* ---- calls that need a connection: none is ever made ---- */

static int WSPAPI mp_send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                          LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                          LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI mp_recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                          LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                          LPWSAOVERLAPPED lpOverlapped,
                          LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                          LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI mp_getpeername(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI mp_shutdown(SOCKET s, int how, LPINT lpErrno)
{
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI mp_recvdisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
	return refuse(s, WSAENOTCONN, lpErrno);
}

static int WSPAPI mp_senddisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
	return refuse(s, WSAENOTCONN, lpErrno);
}

/* ---- not written yet: WSAEOPNOTSUPP (the harness reports the first step that needs one) ---- */

static SOCKET WSPAPI mp_accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                               LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                               LPINT lpErrno)
{
	refuse(s, WSAEOPNOTSUPP, lpErrno);
	return INVALID_SOCKET;
}

static SOCKET WSPAPI mp_joinleaf(SOCKET s, const struct sockaddr *name, int namelen,
                                 LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                 LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
	refuse(s, WSAEOPNOTSUPP, lpErrno);
	return INVALID_SOCKET;
}

static int WSPAPI mp_bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_listen(SOCKET s, int backlog, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_connect(SOCKET s, const struct sockaddr *name, int namelen,
                             LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                             LPQOS lpGQOS, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_sendto(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                            LPDWORD lpNumberOfBytesSent, DWORD dwFlags, const struct sockaddr *lpTo,
                            int iTolen, LPWSAOVERLAPPED lpOverlapped,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                            LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_recvfrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                              LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                              struct sockaddr *lpFrom, LPINT lpFromlen,
                              LPWSAOVERLAPPED lpOverlapped,
                              LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                              LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_getsockname(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_setsockopt(SOCKET s, int level, int optname, const char *optval, int optlen,
                                LPINT lpErrno)
{
	return refuse(s, WSAENOPROTOOPT, lpErrno);
}

static int WSPAPI mp_ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                           LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                           LPWSAOVERLAPPED lpOverlapped,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_asyncselect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_eventselect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                 LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_enumnetworkevents(SOCKET s, WSAEVENT hEventObject,
                                       LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static BOOL WSPAPI mp_getoverlappedresult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                          LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags,
                                          LPINT lpErrno)
{
	refuse(s, WSAEINVAL, lpErrno); /* no overlapped operation is ever started */
	return FALSE;
}

static BOOL WSPAPI mp_getqosbyname(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno)
{
	refuse(s, WSAEINVAL, lpErrno); /* no QOS template is known */
	return FALSE;
}

static int WSPAPI mp_duplicatesocket(SOCKET s, DWORD dwProcessId,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	return refuse(s, WSAEOPNOTSUPP, lpErrno);
}

static int WSPAPI mp_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                            const PTIMEVAL timeout, LPINT lpErrno)
{
	return fail(lpErrno, WSAEOPNOTSUPP);
}

static int WSPAPI mp_cancelblockingcall(LPINT lpErrno)
{
	return fail(lpErrno, WSAEINVAL); /* no call of this provider ever blocks */
}

static INT WSPAPI mp_addresstostring(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                                     LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
	return fail(lpErrno, WSAEINVAL);
}

static INT WSPAPI mp_stringtoaddress(LPWSTR AddressString, INT AddressFamily,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                                     LPINT lpAddressLength, LPINT lpErrno)
{
	return fail(lpErrno, WSAEINVAL);
}

/* ---- WSPCleanup and WSPStartup ---- */

static int WSPAPI mp_cleanup(LPINT lpErrno)
{
	if (g.startups == 0)
		return fail(lpErrno, WSANOTINITIALISED);
	if (--g.startups > 0)
		return 0; /* not the final cleanup: the sockets stay usable */
	/* The final cleanup resets the sockets still open, as if WSPCloseSocket were called. */
	for (unsigned i = 0; i < MAX_SOCKETS; i++)
		if (g.slots[i].in_use)
			release(&g.slots[i]);
	memset(&g.upcalls, 0, sizeof g.upcalls); /* no upcall after the final cleanup */
	return 0;
}

/* All 30 entries: one left NULL makes a bogus table (WSAEINVALIDPROCTABLE). */
static const WSPPROC_TABLE procs = {
    .lpWSPAccept = mp_accept,
    .lpWSPAddressToString = mp_addresstostring,
    .lpWSPAsyncSelect = mp_asyncselect,
    .lpWSPBind = mp_bind,
    .lpWSPCancelBlockingCall = mp_cancelblockingcall,
    .lpWSPCleanup = mp_cleanup,
    .lpWSPCloseSocket = mp_closesocket,
    .lpWSPConnect = mp_connect,
    .lpWSPDuplicateSocket = mp_duplicatesocket,
    .lpWSPEnumNetworkEvents = mp_enumnetworkevents,
    .lpWSPEventSelect = mp_eventselect,
    .lpWSPGetOverlappedResult = mp_getoverlappedresult,
    .lpWSPGetPeerName = mp_getpeername,
    .lpWSPGetSockName = mp_getsockname,
    .lpWSPGetSockOpt = mp_getsockopt,
    .lpWSPGetQOSByName = mp_getqosbyname,
    .lpWSPIoctl = mp_ioctl,
    .lpWSPJoinLeaf = mp_joinleaf,
    .lpWSPListen = mp_listen,
    .lpWSPRecv = mp_recv,
    .lpWSPRecvDisconnect = mp_recvdisconnect,
    .lpWSPRecvFrom = mp_recvfrom,
    .lpWSPSelect = mp_select,
    .lpWSPSend = mp_send,
    .lpWSPSendDisconnect = mp_senddisconnect,
    .lpWSPSendTo = mp_sendto,
    .lpWSPSetSockOpt = mp_setsockopt,
    .lpWSPShutdown = mp_shutdown,
    .lpWSPSocket = mp_socket,
    .lpWSPStringToAddress = mp_stringtoaddress,
};

/* Versions are WORDs: the major number in the low byte, the minor in the high byte. */
static unsigned version_number(WORD v)
{
	return LOBYTE(v) * 256u + HIBYTE(v);
}

/* WSPAPI is required: spi.h declares WSPStartup with it (on Windows, <ws2spi.h> does). */
WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                           WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable)
{
	static const char description[] = "wspharness minimal example provider";
	const WORD highest = MAKEWORD(2, 2);

	if (!lpWSPData || !lpProcTable)
		return WSAEFAULT; /* WSPStartup returns its error: it has no lpErrno */
	if (version_number(wVersionRequested) < version_number(MAKEWORD(2, 0)))
		return WSAVERNOTSUPPORTED;
	if (version_number(wVersionRequested) < version_number(highest))
		lpWSPData->wVersion = wVersionRequested;
	else
		lpWSPData->wVersion = highest;
	lpWSPData->wHighVersion = highest;
	for (size_t i = 0; i < sizeof description; i++)
		lpWSPData->szDescription[i] = (WCHAR)description[i];
	*lpProcTable = procs;

	g.upcalls = UpcallTable; /* the most recent table is the one to use */
	if (lpProtocolInfo)
		g.catalog_id = lpProtocolInfo->dwCatalogEntryId;
	g.startups++;
	return 0;
}
