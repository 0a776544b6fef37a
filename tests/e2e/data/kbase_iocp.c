/* mockbase's IFS handles are kernel handles on Windows: ports and events work on them. */

/*
 * Loads mockbase.dll (argv[1]) without the harness, starts it as an IFS provider with a minimal
 * upcall table (ws2_32's part: WPUModifyIFSHandle keeps the proposed value), and checks what a
 * layer that uses a completion port relies on: every socket handle is a kernel handle; associated
 * with a port, the overlapped WSPRecv/WSPSend/WSPIoctl completions arrive from
 * GetQueuedCompletionStatus with the key, the byte count and the caller's OVERLAPPED (zero bytes,
 * more than a pipe buffer, an error completion and an abort at close included); an OVERLAPPED's
 * hEvent is signalled by the kernel (mockbase makes no WPUSetEvent call for it); the handle value
 * of a closed socket is not given to a new one; and after the final WSPCleanup no handle of
 * mockbase's is left open. Waits have generous bounds that only matter when something is wrong.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>
#include <ws2spi.h>

#include <stdio.h>
#include <string.h>

#define KEY       0x6b62u
#define KEY2      0x6b63u
#define WAIT_MS   10000u
#define CATALOG   4242u
#define PORT      7950u
#define BIG       200000u /* more than a pipe buffer (khandle_win32.c) */
#define SHORTFALL 100000u /* more than the peer's receive queue takes */

static WSPPROC_TABLE P;
static int failures;
static LONG set_event_calls;
static SOCKET issued[16]; /* every handle mockbase gave out */
static unsigned n_issued;

#define CHECK(cond, what)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			printf("not ok: %s (line %d)\n", what, __LINE__);                          \
		}                                                                                  \
	} while (0)

/* ---- the upcall table: only what an IFS provider needs here ---- */

static SOCKET WSPAPI up_modify(DWORD id, SOCKET proposed, LPINT e)
{
	if (id != CATALOG) {
		*e = WSAEINVAL;
		return INVALID_SOCKET;
	}
	return proposed;
}

static int WSPAPI up_blocking(DWORD id, LPBLOCKINGCALLBACK *cb, PDWORD_PTR ctx, LPINT e)
{
	(void)id;
	(void)e;
	*cb = NULL;
	*ctx = 0;
	return 0;
}

static int WSPAPI up_path(LPGUID id, WCHAR *path, LPINT len, LPINT e)
{
	(void)id;
	(void)path;
	(void)len;
	*e = WSAEINVAL;
	return SOCKET_ERROR;
}

static WSAEVENT WSPAPI up_create_event(LPINT e)
{
	HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!h)
		*e = WSA_NOT_ENOUGH_MEMORY;
	return h ? h : WSA_INVALID_EVENT;
}

static BOOL WSPAPI up_close_event(WSAEVENT h, LPINT e)
{
	(void)e;
	return CloseHandle(h);
}

static BOOL WSPAPI up_set_event(WSAEVENT h, LPINT e)
{
	(void)e;
	InterlockedIncrement(&set_event_calls);
	return SetEvent(h);
}

static BOOL WSPAPI up_reset_event(WSAEVENT h, LPINT e)
{
	(void)e;
	return ResetEvent(h);
}

static SOCKET WSPAPI up_create_handle(DWORD id, DWORD_PTR ctx, LPINT e)
{
	(void)id;
	(void)ctx;
	*e = WSAENOBUFS;
	return INVALID_SOCKET;
}

static int WSPAPI up_close_handle(SOCKET s, LPINT e)
{
	(void)s;
	*e = WSAENOTSOCK;
	return SOCKET_ERROR;
}

static int WSPAPI up_query_context(SOCKET s, PDWORD_PTR ctx, LPINT e)
{
	(void)s;
	(void)ctx;
	*e = WSAENOTSOCK;
	return SOCKET_ERROR;
}

static int WSPAPI up_queue_apc(LPWSATHREADID tid, LPWSAUSERAPC fn, DWORD_PTR ctx, LPINT e)
{
	(void)tid;
	(void)fn;
	(void)ctx;
	*e = WSAEINVAL;
	return SOCKET_ERROR;
}

static int WSPAPI up_thread(LPWSATHREADID tid, LPINT e)
{
	(void)tid;
	*e = WSAEINVAL;
	return SOCKET_ERROR;
}

static BOOL WSPAPI up_post(HWND w, UINT m, WPARAM wp, LPARAM lp)
{
	(void)w;
	(void)m;
	(void)wp;
	(void)lp;
	return FALSE;
}

static int WSPAPI up_fdisset(SOCKET s, fd_set *set)
{
	for (u_int i = 0; set && i < set->fd_count; i++)
		if (set->fd_array[i] == s)
			return 1;
	return 0;
}

static WSPUPCALLTABLE upcalls(void)
{
	WSPUPCALLTABLE t;
	memset(&t, 0, sizeof t);
	t.lpWPUCloseEvent = up_close_event;
	t.lpWPUCloseSocketHandle = up_close_handle;
	t.lpWPUCreateEvent = up_create_event;
	t.lpWPUCreateSocketHandle = up_create_handle;
	t.lpWPUFDIsSet = up_fdisset;
	t.lpWPUGetProviderPath = up_path;
	t.lpWPUModifyIFSHandle = up_modify;
	t.lpWPUPostMessage = up_post;
	t.lpWPUQueryBlockingCallback = up_blocking;
	t.lpWPUQuerySocketHandleContext = up_query_context;
	t.lpWPUQueueApc = up_queue_apc;
	t.lpWPUResetEvent = up_reset_event;
	t.lpWPUSetEvent = up_set_event;
	t.lpWPUOpenCurrentThread = up_thread;
	t.lpWPUCloseThread = up_thread;
	return t;
}

/* ---- helpers ---- */

static struct sockaddr_in loopback(unsigned port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = (u_short)(((port & 0xffu) << 8) | (port >> 8));
	sin.sin_addr.s_addr = 0x0100007fu; /* 127.0.0.1 in network order */
	return sin;
}

static SOCKET new_socket(void)
{
	int err = 0;
	SOCKET s = P.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, 0, &err);
	CHECK(s != INVALID_SOCKET, "WSPSocket");
	if (n_issued < sizeof issued / sizeof issued[0])
		issued[n_issued++] = s;
	return s;
}

/* A connected pair through a listener on `port`. */
static void connect_pair(SOCKET listener, unsigned port, SOCKET *client, SOCKET *server)
{
	struct sockaddr_in to = loopback(port);
	int err = 0;
	*client = new_socket();
	CHECK(P.lpWSPConnect(*client, (struct sockaddr *)&to, (int)sizeof to, NULL, NULL, NULL,
	                     NULL, &err) == 0,
	      "WSPConnect");
	*server = P.lpWSPAccept(listener, NULL, NULL, NULL, 0, &err);
	CHECK(*server != INVALID_SOCKET, "WSPAccept");
	if (n_issued < sizeof issued / sizeof issued[0])
		issued[n_issued++] = *server;
}

static int is_kernel_handle(SOCKET s)
{
	DWORD flags;
	return GetHandleInformation((HANDLE)s, &flags) && GetFileType((HANDLE)s) == FILE_TYPE_PIPE;
}

/* The next packet of the port: it must be ov's, with key and bytes. */
static void expect_packet(HANDLE port, ULONG_PTR key, const OVERLAPPED *ov, DWORD bytes,
                          const char *what)
{
	DWORD n = 0;
	ULONG_PTR k = 0;
	OVERLAPPED *got = NULL;
	BOOL ok = GetQueuedCompletionStatus(port, &n, &k, &got, WAIT_MS);
	printf("# %s: GetQueuedCompletionStatus %d, %lu byte(s), key 0x%lx, %s OVERLAPPED\n", what,
	       ok, (unsigned long)n, (unsigned long)k, got == ov ? "the same" : "another");
	CHECK(ok, what);
	CHECK(got == ov, what);
	CHECK(k == key, what);
	CHECK(n == bytes, what);
}

static void expect_no_packet(HANDLE port, const char *what)
{
	DWORD n = 0;
	ULONG_PTR k = 0;
	OVERLAPPED *got = NULL;
	BOOL ok = GetQueuedCompletionStatus(port, &n, &k, &got, 0);
	CHECK(!ok && got == NULL && GetLastError() == WAIT_TIMEOUT, what);
}

static int send_all(SOCKET s, const char *data, DWORD len)
{
	WSABUF b = {len, (char *)data};
	DWORD sent = 0;
	int err = 0;
	return P.lpWSPSend(s, &b, 1, &sent, 0, NULL, NULL, NULL, &err) == 0 && sent == len ? 0 : -1;
}

/* Blocking receives until `want` bytes arrived. */
static DWORD recv_count(SOCKET s, DWORD want)
{
	static char buf[65536];
	DWORD total = 0;
	while (total < want) {
		WSABUF b = {sizeof buf, buf};
		DWORD n = 0, flags = 0;
		int err = 0;
		if (P.lpWSPRecv(s, &b, 1, &n, &flags, NULL, NULL, NULL, &err) != 0 || n == 0)
			break;
		total += n;
	}
	return total;
}

static void get_result(SOCKET s, OVERLAPPED *ov, BOOL want_ok, DWORD want_bytes, int want_err,
                       const char *what)
{
	DWORD n = 0, flags = 0;
	int err = 0;
	BOOL ok = P.lpWSPGetOverlappedResult(s, ov, &n, FALSE, &flags, &err);
	CHECK(ok == want_ok, what);
	CHECK(n == want_bytes, what);
	CHECK(ok || err == want_err, what);
}

/* ---- the cases ---- */

/* A pending receive completes through the port when data arrives. */
static void pending_receive(HANDLE port, SOCKET client, SOCKET server)
{
	char buf[64];
	WSABUF b = {sizeof buf, buf};
	OVERLAPPED ov;
	DWORD flags = 0, n = 0;
	int err = 0;
	memset(&ov, 0, sizeof ov);
	int rc = P.lpWSPRecv(server, &b, 1, NULL, &flags, &ov, NULL, NULL, &err);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING, "overlapped WSPRecv pends");
	expect_no_packet(port, "no packet before the data");
	CHECK(!P.lpWSPGetOverlappedResult(server, &ov, &n, FALSE, &flags, &err) &&
	          err == WSA_IO_INCOMPLETE,
	      "WSPGetOverlappedResult: WSA_IO_INCOMPLETE while pending");
	CHECK(send_all(client, "hello", 5) == 0, "WSPSend");
	expect_packet(port, KEY, &ov, 5, "pending WSPRecv");
	CHECK(memcmp(buf, "hello", 5) == 0, "the received data");
	CHECK(ov.Internal == 0 && ov.InternalHigh == 5, "the kernel's status in the OVERLAPPED");
	get_result(server, &ov, TRUE, 5, 0, "WSPGetOverlappedResult after the packet");
}

/* A send that completes at once: the kernel signals its event and queues a packet too. */
static void immediate_send(HANDLE port, SOCKET client, SOCKET server)
{
	WSABUF b = {4, (char *)"back"};
	OVERLAPPED ov;
	DWORD sent = 0;
	int err = 0;
	memset(&ov, 0, sizeof ov);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	CHECK(P.lpWSPSend(server, &b, 1, &sent, 0, &ov, NULL, NULL, &err) == 0 && sent == 4,
	      "overlapped WSPSend completes at once");
	CHECK(WaitForSingleObject(ov.hEvent, WAIT_MS) == WAIT_OBJECT_0, "hEvent signalled");
	expect_packet(port, KEY, &ov, 4, "immediate WSPSend");
	get_result(server, &ov, TRUE, 4, 0, "WSPGetOverlappedResult of the send");
	CHECK(recv_count(client, 4) == 4, "the peer receives it");
	CloseHandle(ov.hEvent);
}

/* A socket that is not associated: its event alone, and nothing on the port. */
static void event_only(HANDLE port, SOCKET client, SOCKET server)
{
	char buf[8];
	WSABUF b = {sizeof buf, buf};
	OVERLAPPED ov;
	DWORD flags = 0;
	int err = 0;
	memset(&ov, 0, sizeof ov);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	int rc = P.lpWSPRecv(client, &b, 1, NULL, &flags, &ov, NULL, NULL, &err);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING, "overlapped WSPRecv pends (event)");
	CHECK(WaitForSingleObject(ov.hEvent, 0) == WAIT_TIMEOUT, "hEvent not signalled yet");
	CHECK(send_all(server, "ev", 2) == 0, "WSPSend");
	CHECK(WaitForSingleObject(ov.hEvent, WAIT_MS) == WAIT_OBJECT_0, "hEvent signalled");
	get_result(client, &ov, TRUE, 2, 0, "WSPGetOverlappedResult (event)");
	expect_no_packet(port, "no packet for a socket not associated");
	CloseHandle(ov.hEvent);
}

/* WSPIoctl completes through the kernel too; FIONBIO returns zero bytes. */
static void zero_bytes(HANDLE port, SOCKET server)
{
	OVERLAPPED ov;
	u_long off = 0;
	DWORD ret = 1;
	int err = 0;
	memset(&ov, 0, sizeof ov);
	CHECK(P.lpWSPIoctl(server, (DWORD)FIONBIO, &off, sizeof off, NULL, 0, &ret, &ov, NULL, NULL,
	                   &err) == 0,
	      "overlapped WSPIoctl(FIONBIO)");
	expect_packet(port, KEY, &ov, 0, "zero-byte WSPIoctl");
	get_result(server, &ov, TRUE, 0, 0, "WSPGetOverlappedResult of the ioctl");
}

/* A send larger than the peer's queue pends; as the peer reads, it completes with every byte. */
static void big_send(HANDLE port, SOCKET client, SOCKET server)
{
	static char data[BIG];
	WSABUF b = {BIG, data};
	OVERLAPPED ov;
	int err = 0;
	memset(&ov, 0, sizeof ov);
	int rc = P.lpWSPSend(server, &b, 1, NULL, 0, &ov, NULL, NULL, &err);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING, "a big overlapped WSPSend pends");
	expect_no_packet(port, "no packet before the peer reads");
	CHECK(recv_count(client, BIG) == BIG, "the peer receives every byte");
	expect_packet(port, KEY, &ov, BIG, "big WSPSend");
	get_result(server, &ov, TRUE, BIG, 0, "WSPGetOverlappedResult of the big send");
}

/* The peer closes while a send is pending: a packet with what moved, and the error for
 * WSPGetOverlappedResult. */
static void error_completion(HANDLE port, SOCKET client, SOCKET server)
{
	static char data[SHORTFALL];
	WSABUF b = {SHORTFALL, data};
	OVERLAPPED ov;
	int err = 0;
	memset(&ov, 0, sizeof ov);
	int rc = P.lpWSPSend(server, &b, 1, NULL, 0, &ov, NULL, NULL, &err);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING, "a long overlapped WSPSend pends");
	CHECK(P.lpWSPCloseSocket(client, &err) == 0, "WSPCloseSocket of the peer");
	expect_packet(port, KEY, &ov, 65536, "WSPSend cut short by the peer's close");
	get_result(server, &ov, FALSE, 65536, WSAECONNRESET,
	           "WSPGetOverlappedResult: WSAECONNRESET");
}

/* Closing a socket aborts its pending receive: the packet still comes. */
static void abort_on_close(HANDLE port, SOCKET listener, SOCKET *closed)
{
	SOCKET client, server;
	char buf[8];
	WSABUF b = {sizeof buf, buf};
	OVERLAPPED ov;
	DWORD flags = 0;
	int err = 0;
	connect_pair(listener, PORT, &client, &server);
	CHECK(CreateIoCompletionPort((HANDLE)server, port, KEY2, 0) == port, "associate a second");
	memset(&ov, 0, sizeof ov);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	int rc = P.lpWSPRecv(server, &b, 1, NULL, &flags, &ov, NULL, NULL, &err);
	CHECK(rc == SOCKET_ERROR && err == WSA_IO_PENDING, "overlapped WSPRecv pends (abort)");
	CHECK(P.lpWSPCloseSocket(server, &err) == 0, "WSPCloseSocket with a receive pending");
	expect_packet(port, KEY2, &ov, 0, "WSPRecv aborted by WSPCloseSocket");
	CHECK(WaitForSingleObject(ov.hEvent, WAIT_MS) == WAIT_OBJECT_0, "hEvent signalled (abort)");
	CHECK(ov.OffsetHigh == WSA_OPERATION_ABORTED, "mockbase's error: WSA_OPERATION_ABORTED");
	CHECK(P.lpWSPCloseSocket(client, &err) == 0, "WSPCloseSocket");
	CloseHandle(ov.hEvent);
	closed[0] = server;
	closed[1] = client;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		printf("usage: kbase_iocp <mockbase.dll>\n");
		return 2;
	}
	HMODULE dll = LoadLibraryA(argv[1]);
	LPWSPSTARTUP startup =
	    dll ? (LPWSPSTARTUP)(void (*)(void))GetProcAddress(dll, "WSPStartup") : NULL;
	if (!startup) {
		printf("not ok: cannot load %s\n", argv[1]);
		return 1;
	}

	WSAPROTOCOL_INFOW pi;
	WSPDATA data;
	memset(&pi, 0, sizeof pi);
	pi.dwServiceFlags1 = XP1_IFS_HANDLES | XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER;
	pi.dwCatalogEntryId = CATALOG;
	pi.ProtocolChain.ChainLen = BASE_PROTOCOL;
	pi.iVersion = 2;
	pi.iAddressFamily = AF_INET;
	pi.iMaxSockAddr = pi.iMinSockAddr = (int)sizeof(struct sockaddr_in);
	pi.iSocketType = SOCK_STREAM;
	pi.iProtocol = IPPROTO_TCP;
	if (startup(MAKEWORD(2, 2), &data, &pi, upcalls(), &P) != 0) {
		printf("not ok: WSPStartup\n");
		return 1;
	}

	int err = 0;
	struct sockaddr_in at = loopback(PORT);
	SOCKET listener = new_socket(), client, server;
	CHECK(P.lpWSPBind(listener, (struct sockaddr *)&at, (int)sizeof at, &err) == 0, "WSPBind");
	CHECK(P.lpWSPListen(listener, 5, &err) == 0, "WSPListen");
	connect_pair(listener, PORT, &client, &server);
	CHECK(is_kernel_handle(listener) && is_kernel_handle(client) && is_kernel_handle(server),
	      "every socket handle is a kernel handle");

	HANDLE port = CreateIoCompletionPort((HANDLE)server, NULL, KEY, 0);
	CHECK(port != NULL, "CreateIoCompletionPort on a socket handle");
	if (port) {
		pending_receive(port, client, server);
		immediate_send(port, client, server);
		event_only(port, client, server);
		zero_bytes(port, server);
		big_send(port, client, server);
		error_completion(port, client, server);
		CHECK(P.lpWSPCloseSocket(server, &err) == 0, "WSPCloseSocket");
		SOCKET closed[2];
		abort_on_close(port, listener, closed);
		SOCKET fresh = new_socket();
		CHECK(fresh != client && fresh != server && fresh != closed[0] &&
		          fresh != closed[1],
		      "a closed socket's value is not given to a new socket");
		CHECK(P.lpWSPCloseSocket(fresh, &err) == 0, "WSPCloseSocket");
		CloseHandle(port);
	}
	CHECK(set_event_calls == 0, "no WPUSetEvent: the kernel signals the events");
	CHECK(P.lpWSPCloseSocket(listener, &err) == 0, "WSPCloseSocket");
	CHECK(P.lpWSPCleanup(&err) == 0, "WSPCleanup");
	/* Nothing was created since: a value still valid would be one mockbase left open. */
	unsigned open_after = 0;
	for (unsigned i = 0; i < n_issued; i++) {
		DWORD flags;
		if (GetHandleInformation((HANDLE)issued[i], &flags))
			open_after++;
	}
	printf("# %u socket handle(s) issued, %u still open after WSPCleanup\n", n_issued,
	       open_after);
	CHECK(n_issued > 0 && open_after == 0, "WSPCleanup leaves no handle of mockbase's open");
	FreeLibrary(dll);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
