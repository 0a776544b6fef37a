/* mockbase: the reference Winsock 2 base provider (in-memory IPv4 loopback), IFS or non-IFS. */

/*
 * The entry: WSPStartup (the only export) copies the upcall table, takes the catalog entry and the
 * kind (IFS when the protocol info has XP1_IFS_HANDLES) and fills the procedure table with the
 * other files' entry points; WSPCleanup counts the startups down and the final one resets every
 * socket silently. model.h says how the provider is built and what each file does.
 */

#include "model.h"

/* The faulty variant without a WSPStartup export exports the same function under another name. */
#ifdef MOCKBASE_FAULT_NO_STARTUP_EXPORT
#define WSPStartup MockbaseStartup
#endif

#define MB_DESCRIPTION "wspharness mockbase (in-memory loopback)"


/* Process lifetime, never reset: the first-table-only variant; the no-reinit variant. */
static int g_table_taken;
static int g_cleaned_up; /* a final WSPCleanup has happened (the no-reinit variant) */

/* The cleanup-joins-locked variant: a worker thread from the first WSPStartup to the final
 * WSPCleanup, which takes the lock every few milliseconds (as a housekeeping thread does) until
 * told to stop. */
static int g_worker_stop; /* behind pv_lock */
static int g_worker_up;

void mb_worker_loop(void)
{
	for (;;) {
		pv_lock();
		int stop = g_worker_stop;
		pv_unlock();
		if (stop)
			return;
		pv_sleep_ms(5);
	}
}

/* With the lock held, at the final WSPCleanup: the worker is told to stop and waited for. The
 * bug: the wait is made with the lock held, and the worker needs the lock to see that it must
 * stop: neither ever goes on. (The right order: unlock, then wait.) */
static void stop_worker_locked(void)
{
	if (!g_worker_up)
		return;
	g_worker_stop = 1;
	g_worker_up = 0;
	mb_worker_join();
}

/* ------------------------------------------------------------------------------------------ */
/* WSPCleanup                                                                                   */

static int WSPAPI mb_Cleanup(LPINT lpErrno)
{
	struct call c;
	struct batch b;
	mb_flush_late();
	pv_lock();
	if (mb_g.startups <= 0) {
		pv_unlock();
		if (F(UNBALANCED_CLEANUP_SUCCEEDS))
			return 0; /* the bug: nothing to balance, yet success */
		return fail(lpErrno, WSANOTINITIALISED);
	}
	/* the cleanup-waits-calls variant's bug: the final cleanup waits for the blocking calls in
	 * progress to leave, and they wait for the cleanup (the provider is still started) */
	while (F(CLEANUP_WAITS_CALLS) && mb_g.startups == 1 && mb_g.blocking > 0)
		pv_wait_ms(MB_SLICE_MS);
	mb_snapshot(&c);
	mb_batch_init(&b, &c);
	mb_g.startups--;
	int final = mb_g.startups == 0;
	if (final)
		g_cleaned_up = 1;
	/* The no-refcount variant treats every cleanup as the final one (the count itself still
	 * balances, so later cleanups succeed and an unbalanced one still fails). */
	if (mb_g.startups == 0 || F(NO_REFCOUNT)) {
		/* Reset every socket as if closed, silently: no messages, events, APCs or
		 * completions; only the handles go back to ws2_32. */
		while (mb_g.sockets)
			mb_close_socket(&b, mb_g.sockets, F(CLEANUP_NOTIFIES),
			                F(CLEANUP_KEEPS_HANDLES) ? 0 : 1);
		/* the late-release variant gives the handles back at its next entry */
		if (F(LATE_RELEASE) && b.head)
			mb_defer_notes(&b, b.head);
		mb_g.gen++;
		mb_g.next_port = MB_EPHEMERAL_FIRST;
		pv_wake_all();
		if (F(CLEANUP_JOINS_LOCKED))
			stop_worker_locked();
	}
	pv_unlock();
	mb_batch_flush(&b);
	if (final)
		mb_kh_cleanup(); /* the kernel handles of the sockets closed in this session */
	if (F(CLEANUP_RETURNS_ERROR)) {
		if (lpErrno)
			*lpErrno = 0;
		return SOCKET_ERROR;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPStartup: the only export                                                                  */

static WORD version_min(WORD a, WORD b)
{
	if (LOBYTE(a) != LOBYTE(b))
		return LOBYTE(a) < LOBYTE(b) ? a : b;
	return HIBYTE(a) <= HIBYTE(b) ? a : b;
}

static void fill_proc_table(LPWSPPROC_TABLE t)
{
	memset(t, 0, sizeof *t);
	t->lpWSPAccept = mb_Accept;
	t->lpWSPAddressToString = mb_AddressToString;
	t->lpWSPAsyncSelect = mb_AsyncSelect;
	t->lpWSPBind = mb_Bind;
	t->lpWSPCancelBlockingCall = mb_CancelBlockingCall;
	t->lpWSPCleanup = mb_Cleanup;
	t->lpWSPCloseSocket = mb_CloseSocket;
	t->lpWSPConnect = mb_Connect;
	t->lpWSPDuplicateSocket = mb_DuplicateSocket;
	t->lpWSPEnumNetworkEvents = mb_EnumNetworkEvents;
	t->lpWSPEventSelect = mb_EventSelect;
	t->lpWSPGetOverlappedResult = mb_GetOverlappedResult;
	t->lpWSPGetPeerName = mb_GetPeerName;
	t->lpWSPGetSockName = mb_GetSockName;
	t->lpWSPGetSockOpt = mb_GetSockOpt;
	t->lpWSPGetQOSByName = F(PROCTABLE_HOLE) ? NULL : mb_GetQOSByName;
	t->lpWSPIoctl = mb_Ioctl;
	t->lpWSPJoinLeaf = mb_JoinLeaf;
	t->lpWSPListen = mb_Listen;
	t->lpWSPRecv = mb_Recv;
	t->lpWSPRecvDisconnect = mb_RecvDisconnect;
	t->lpWSPRecvFrom = mb_RecvFrom;
	t->lpWSPSelect = mb_Select;
	t->lpWSPSend = mb_Send;
	t->lpWSPSendDisconnect = mb_SendDisconnect;
	t->lpWSPSendTo = mb_SendTo;
	t->lpWSPSetSockOpt = mb_SetSockOpt;
	t->lpWSPShutdown = mb_Shutdown;
	t->lpWSPSocket = mb_Socket;
	t->lpWSPStringToAddress = mb_StringToAddress;
}

WSPH_PROVIDER_EXPORT MB_STARTUP_ATTR int WSPAPI WSPStartup(WORD wVersionRequested,
                                                           LPWSPDATA lpWSPData,
                                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                                           WSPUPCALLTABLE UpcallTable,
                                                           LPWSPPROC_TABLE lpProcTable)
{
	const WORD high = MAKEWORD(2, 2);
	if (!lpWSPData || !lpProcTable)
		return WSAEFAULT;
	if (LOBYTE(wVersionRequested) < 2 && !F(ACCEPTS_OLD_VERSION))
		return WSAVERNOTSUPPORTED;
	/* the startup-einval bug: an undocumented code (and a refusal it need not make) */
	if (F(STARTUP_EINVAL) && LOBYTE(wVersionRequested) > 2)
		return WSAEINVAL;
	if (F(NO_REINIT) && g_cleaned_up)
		return WSASYSNOTREADY; /* the bug: cannot start again after the final cleanup */

	pv_lock();
	if (!F(FIRST_TABLE_ONLY) || !g_table_taken)
		mb_g.up = UpcallTable; /* a copy, and the most recent one wins */
	g_table_taken = 1;
	if (F(KEEPS_UPCALL_POINTER)) {
		/* The bug: remember where the by-value parameter lives instead of copying it. */
		uintptr_t where = (uintptr_t)&UpcallTable;
		mb_g.upp = (const WSPUPCALLTABLE *)where;
	} else {
		mb_g.upp = &mb_g.up;
	}
	if (mb_g.startups == 0) {
		mb_g.next_port = MB_EPHEMERAL_FIRST;
		mb_g.sockets = NULL;
	}
	if (lpProtocolInfo) {
		mb_g.catalog = lpProtocolInfo->dwCatalogEntryId;
		mb_g.ifs = (lpProtocolInfo->dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
		mb_g.pinfo = *lpProtocolInfo;
		mb_g.have_pinfo = 1;
	} else {
		mb_g.catalog = 0;
		mb_g.ifs = 0;
		mb_g.have_pinfo = 0;
	}
	int first = mb_g.startups == 0;
	WSPUPCALLTABLE up = mb_g.up;
	mb_g.startups++;
	if (F(CLEANUP_JOINS_LOCKED) && first && !g_worker_up) {
		g_worker_stop = 0;
		g_worker_up = mb_worker_start() == 0;
	}
	pv_unlock();

	if (F(OPENS_THREAD_IN_STARTUP) && first) {
		/* the bug: a thread id asked for before any WSPStartup has succeeded */
		WSATHREADID t;
		int e = 0;
		if (up.lpWPUOpenCurrentThread(&t, &e) == 0)
			up.lpWPUCloseThread(&t, &e);
	}
	if (first && lpProtocolInfo) {
		/* Where the provider is installed (a provider that loads helper files from its own
		 * folder asks this way); only ws2_32 knows, and the path may hold %variables%. */
		WCHAR path[260];
		int len = (int)(sizeof path / sizeof path[0]), e = 0;
		if (up.lpWPUGetProviderPath(&lpProtocolInfo->ProviderId, path, &len, &e) != 0)
			path[0] = 0; /* not needed to work */
	}

	lpWSPData->wHighVersion = high;
	lpWSPData->wVersion = F(VERSION_MAX) ? high : version_min(wVersionRequested, high);
	static const char desc[] = MB_DESCRIPTION;
	memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
	for (size_t i = 0; i < sizeof desc - 1 && i < WSPDESCRIPTION_LEN; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)desc[i];
	if (F(NO_DESCRIPTION)) /* the bug: no terminating NUL anywhere in the 256 WCHARs */
		for (size_t i = 0; i <= WSPDESCRIPTION_LEN; i++)
			lpWSPData->szDescription[i] = (WCHAR)'x';
	fill_proc_table(lpProcTable);
	return 0;
}

#ifdef MOCKBASE_FAULT_DLLMAIN_NETWORK
/* The bug: the provider asks ws2_32 for the catalog while its DllMain runs (on POSIX, from a
 * constructor and a destructor of the .so, which run inside dlopen and dlclose as DllMain runs
 * inside LoadLibrary and FreeLibrary). */
static void mb_dllmain_network(void)
{
	DWORD len = 0;
	INT err = 0;
	(void)WSCEnumProtocols(NULL, NULL, &len, &err);
}

#ifdef _WIN32
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH || reason == DLL_PROCESS_DETACH)
		mb_dllmain_network();
	return TRUE;
}
#else
__attribute__((constructor)) static void mb_dll_attach(void)
{
	mb_dllmain_network();
}

__attribute__((destructor)) static void mb_dll_detach(void)
{
	mb_dllmain_network();
}
#endif
#endif
