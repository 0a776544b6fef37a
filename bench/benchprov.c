/* benchprov: a minimal base provider for the scale benchmark (bench/run.sh).
 *
 * WSPSocket gets its handle from WPUCreateSocketHandle, then makes WSPH_BENCH_UPCALLS (default
 * 1,000,000) WPUFDIsSet upcalls on it before returning: a provider with a busy data path.
 * WSPCloseSocket releases the handle with WPUCloseSocketHandle. Every other entry point is a stub
 * that fails with WSAEOPNOTSUPP; the benchmark scenarios only use startup, socket, close, cleanup.
 * Non-IFS only. Built like providers/mockbase (name_prefix '', b_lundef=false, hidden visibility,
 * WSPStartup the only export). */
#include "wsph/spi.h"

#include <stdlib.h>
#include <string.h>

static WSPUPCALLTABLE up;
static DWORD catalog_id;
static int startups;

static long upcall_count(void)
{
	const char *v = getenv("WSPH_BENCH_UPCALLS");
	return v && *v ? strtol(v, NULL, 10) : 1000000L;
}

static SOCKET WSPAPI bp_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW info, GROUP g,
			       DWORD flags, LPINT lpErrno)
{
	(void)af, (void)type, (void)protocol, (void)info, (void)g, (void)flags;
	int err = 0;
	SOCKET s = up.lpWPUCreateSocketHandle(catalog_id, (DWORD_PTR)0x1000, &err);
	if (s == INVALID_SOCKET) {
		*lpErrno = err ? err : WSAENOBUFS;
		return INVALID_SOCKET;
	}
	fd_set set;
	memset(&set, 0, sizeof set);
	set.fd_count = 1;
	set.fd_array[0] = s;
	long n = upcall_count();
	long hits = 0;
	for (long i = 0; i < n; i++)
		hits += up.lpWPUFDIsSet(s, &set);
	if (hits != n) {
		up.lpWPUCloseSocketHandle(s, &err);
		*lpErrno = WSAEINVAL;
		return INVALID_SOCKET;
	}
	return s;
}

static int WSPAPI bp_closesocket(SOCKET s, LPINT lpErrno)
{
	int err = 0;
	if (up.lpWPUCloseSocketHandle(s, &err) != 0) {
		*lpErrno = err ? err : WSAENOTSOCK;
		return SOCKET_ERROR;
	}
	return 0;
}

static int WSPAPI bp_cleanup(LPINT lpErrno)
{
	if (startups <= 0) {
		*lpErrno = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	startups--;
	return 0;
}

/* Everything else: not supported (never called by the benchmark scenarios). The table entries are
 * filled with this one stub through void (*)(void), the conversion C allows between function
 * pointer types; the stub is never called with another signature by these scenarios. */
static int WSPAPI bp_unsupported(void)
{
	return SOCKET_ERROR;
}

#define STUB(T) ((T)(void (*)(void))bp_unsupported)

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
					   LPWSAPROTOCOL_INFOW lpProtocolInfo,
					   WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE t)
{
	if (!lpWSPData || !t)
		return WSAEFAULT;
	if (LOBYTE(wVersionRequested) < 2)
		return WSAVERNOTSUPPORTED;
	up = UpcallTable;
	catalog_id = lpProtocolInfo ? lpProtocolInfo->dwCatalogEntryId : 0;
	startups++;
	lpWSPData->wVersion = MAKEWORD(2, 2);
	lpWSPData->wHighVersion = MAKEWORD(2, 2);
	static const char desc[] = "wspharness benchmark provider";
	memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
	for (size_t i = 0; i < sizeof desc - 1; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)desc[i];

	t->lpWSPAccept = STUB(LPWSPACCEPT);
	t->lpWSPAddressToString = STUB(LPWSPADDRESSTOSTRING);
	t->lpWSPAsyncSelect = STUB(LPWSPASYNCSELECT);
	t->lpWSPBind = STUB(LPWSPBIND);
	t->lpWSPCancelBlockingCall = STUB(LPWSPCANCELBLOCKINGCALL);
	t->lpWSPCleanup = bp_cleanup;
	t->lpWSPCloseSocket = bp_closesocket;
	t->lpWSPConnect = STUB(LPWSPCONNECT);
	t->lpWSPDuplicateSocket = STUB(LPWSPDUPLICATESOCKET);
	t->lpWSPEnumNetworkEvents = STUB(LPWSPENUMNETWORKEVENTS);
	t->lpWSPEventSelect = STUB(LPWSPEVENTSELECT);
	t->lpWSPGetOverlappedResult = STUB(LPWSPGETOVERLAPPEDRESULT);
	t->lpWSPGetPeerName = STUB(LPWSPGETPEERNAME);
	t->lpWSPGetSockName = STUB(LPWSPGETSOCKNAME);
	t->lpWSPGetSockOpt = STUB(LPWSPGETSOCKOPT);
	t->lpWSPGetQOSByName = STUB(LPWSPGETQOSBYNAME);
	t->lpWSPIoctl = STUB(LPWSPIOCTL);
	t->lpWSPJoinLeaf = STUB(LPWSPJOINLEAF);
	t->lpWSPListen = STUB(LPWSPLISTEN);
	t->lpWSPRecv = STUB(LPWSPRECV);
	t->lpWSPRecvDisconnect = STUB(LPWSPRECVDISCONNECT);
	t->lpWSPRecvFrom = STUB(LPWSPRECVFROM);
	t->lpWSPSelect = STUB(LPWSPSELECT);
	t->lpWSPSend = STUB(LPWSPSEND);
	t->lpWSPSendDisconnect = STUB(LPWSPSENDDISCONNECT);
	t->lpWSPSendTo = STUB(LPWSPSENDTO);
	t->lpWSPSetSockOpt = STUB(LPWSPSETSOCKOPT);
	t->lpWSPShutdown = STUB(LPWSPSHUTDOWN);
	t->lpWSPSocket = bp_socket;
	t->lpWSPStringToAddress = STUB(LPWSPSTRINGTOADDRESS);
	return 0;
}
