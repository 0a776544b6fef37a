/* ifsdirect: an IFS layer built as real IFS LSPs are, handing out the next provider's entries. */

/*
 * Most IFS LSPs intercept only what they need and hand the rest of the procedure table over to
 * the provider below: their WSPPROC_TABLE holds the next provider's own function pointers, so
 * ws2_32 (here the harness) calls the next provider directly for WSPSend, WSPRecv, WSPIoctl and
 * the others. That is correct for an IFS layer, whose client handles are the next provider's
 * handles after WPUModifyIFSHandle. This provider is such a layer:
 *  - WSPStartup finds the next element of its protocol chain through the catalog (the layer's own
 *    ChainLen 0 entry by the GUID its installer registered it under, which it also exports as
 *    GetLspGuid; its position in the chain it was given, WSCEnumProtocols for
 *    the next entry, WSCGetProviderPath retried after WSAEFAULT, ExpandEnvironmentStringsW,
 *    LoadLibraryW, GetProcAddress), starts it with the next entry's own WSAPROTOCOL_INFOW when
 *    that is the base (else with the structure it received) and with the upcall table it received
 *    itself, checks that the next provider's table is complete, and fills its own table with the
 *    next provider's entries except WSPSocket, WSPAccept, WSPCloseSocket and WSPCleanup. Every
 *    WSPStartup starts the next provider again (so it uses the most recent upcall table too) and
 *    every WSPCleanup balances one of those.
 *  - WSPSocket/WSPAccept pass the next element's protocol information down, put the new handle
 *    through WPUModifyIFSHandle with the layer's own catalog id and keep it; WSPCloseSocket closes
 *    the next provider's handle; the final WSPCleanup leaves what the client left open to the
 *    next provider's final cleanup (those are the client's own handles), and keeps the next
 *    provider loaded (the client calls it directly, so a call may still be inside it).
 * IFSDIRECT_START_ONCE builds the variant that starts the next provider once, at its first
 * WSPStartup, and balances that at its final WSPCleanup (the next provider keeps the upcall table
 * of that first startup, which is the one it was given).
 * Faulty variants (one define each, see meson.build): IFSDIRECT_FAULT_SOCKET_INFO hands the next
 * WSPSocket the layer's own chained entry instead of the base's; IFSDIRECT_FAULT_STARTUP_INFO does
 * so for the next WSPStartup (the base then uses the layer's catalog id in its own upcalls).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wsph/spi.h>

#include "pv_sync.h"

#ifdef IFSDIRECT_FAULT_SOCKET_INFO
#define F_SOCKET_INFO 1
#else
#define F_SOCKET_INFO 0
#endif
#ifdef IFSDIRECT_FAULT_STARTUP_INFO
#define F_STARTUP_INFO 1
#else
#define F_STARTUP_INFO 0
#endif
#ifdef IFSDIRECT_START_ONCE
#define START_ONCE 1
#else
#define START_ONCE 0
#endif

#define ID_DESCRIPTION "wspharness ifsdirect (IFS layered provider, next provider's entries direct)"

/* The GUID of the layer's hidden (ChainLen 0) catalog entry, as its installer registers it. */
static const GUID layer_guid = {
	0x6a1f0c2e, 0x3d4b, 0x4c5a, {0x8e, 0x9f, 0x69, 0x66, 0x73, 0x64, 0x69, 0x72}};
#define MAX_ROUTES 16	   /* own chained entries seen */
#define PATH_TRIES 4
#define PATH_MAX_CHARS 32768

/* Where one of the layer's chained entries leads: what the next provider is given for it. */
struct route {
	DWORD own_id;		/* the chained entry (the client's lpProtocolInfo) */
	WSAPROTOCOL_INFOW down; /* the next element's own entry (a base), else the chained one */
	GUID next_provider;	/* the provider of the next element */
	int next_ifs;		/* it has IFS handles: this layer may sit on it */
};

/* A socket the client holds: the handle it got and the next provider's handle behind it (the
 * same value unless WPUModifyIFSHandle changed it). */
struct sock {
	SOCKET client, lower;
	DWORD own_id;
};

static struct {
	int busy;     /* a WSPStartup/WSPCleanup runs (they call the next provider unlocked) */
	int startups; /* this layer's successful WSPStartups not yet balanced */
	int lower_startups;
	HMODULE lower_mod;
	LPWSPSTARTUP lower_startup;
	GUID lower_id;	    /* its provider */
	WSPPROC_TABLE next; /* the next provider's table, from its most recent WSPStartup */
	WSPUPCALLTABLE up;  /* the most recent upcall table received */
	struct route routes[MAX_ROUTES];
	size_t n_routes;
	struct sock *socks;
	size_t n_socks, cap_socks;
} g;

/* ---- small helpers ---- */

static int fail(LPINT err, int code)
{
	if (err)
		*err = code;
	return SOCKET_ERROR;
}

static SOCKET fail_socket(LPINT err, int code)
{
	fail(err, code);
	return INVALID_SOCKET;
}

static void gate_enter(void)
{
	pv_lock();
	while (g.busy)
		pv_wait_ms(50);
	g.busy = 1;
	pv_unlock();
}

static void gate_leave(void)
{
	pv_lock();
	g.busy = 0;
	pv_wake_all();
	pv_unlock();
}

static int same_guid(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* ---- the catalog and the next provider ---- */

/* Every catalog entry (malloc'd; *n of them), or NULL. */
static WSAPROTOCOL_INFOW *catalog(int *n)
{
	DWORD len = 0;
	int e = 0;
	*n = 0;
	if (WSCEnumProtocols(NULL, NULL, &len, &e) != SOCKET_ERROR || e != WSAENOBUFS ||
	    len < sizeof(WSAPROTOCOL_INFOW))
		return NULL;
	WSAPROTOCOL_INFOW *all = malloc(len);
	if (!all)
		return NULL;
	int count = WSCEnumProtocols(NULL, all, &len, &e);
	if (count == SOCKET_ERROR || count <= 0) {
		free(all);
		return NULL;
	}
	*n = count;
	return all;
}

static const WSAPROTOCOL_INFOW *entry_by_id(const WSAPROTOCOL_INFOW *all, int n, DWORD id)
{
	for (int i = 0; i < n; i++)
		if (all[i].dwCatalogEntryId == id)
			return &all[i];
	return NULL;
}

/* The next element after this layer in the chain of `own`, or NULL. */
static const WSAPROTOCOL_INFOW *next_of(const WSAPROTOCOL_INFOW *all, int n,
					const WSAPROTOCOL_INFOW *own)
{
	DWORD layer_id = 0;
	for (int i = 0; i < n && !layer_id; i++)
		if (all[i].ProtocolChain.ChainLen == LAYERED_PROTOCOL &&
		    same_guid(&all[i].ProviderId, &layer_guid))
			layer_id = all[i].dwCatalogEntryId;
	int len = own->ProtocolChain.ChainLen;
	for (int i = 0; layer_id && i + 1 < len && i + 1 < MAX_PROTOCOL_CHAIN; i++)
		if (own->ProtocolChain.ChainEntries[i] == layer_id)
			return entry_by_id(all, n, own->ProtocolChain.ChainEntries[i + 1]);
	return NULL;
}

/* The route of a chained entry of this layer (a copy in *out), computed on first use. Called
 * unlocked. 0, or -1 when the catalog does not say where the entry leads. */
static int route_for(const WSAPROTOCOL_INFOW *own, struct route *out)
{
	pv_lock();
	for (size_t i = 0; i < g.n_routes; i++)
		if (g.routes[i].own_id == own->dwCatalogEntryId) {
			*out = g.routes[i];
			pv_unlock();
			return 0;
		}
	pv_unlock();
	int n = 0;
	WSAPROTOCOL_INFOW *all = catalog(&n);
	const WSAPROTOCOL_INFOW *next = all ? next_of(all, n, own) : NULL;
	if (!next) {
		free(all);
		return -1;
	}
	out->own_id = own->dwCatalogEntryId;
	out->down = next->ProtocolChain.ChainLen == BASE_PROTOCOL ? *next : *own;
	out->next_provider = next->ProviderId;
	out->next_ifs = (next->dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
	free(all);
	pv_lock();
	if (g.n_routes < MAX_ROUTES)
		g.routes[g.n_routes++] = *out;
	pv_unlock();
	return 0;
}

/* The registered path of a provider (environment strings unexpanded), malloc'd, or NULL. */
static WCHAR *registered_path(GUID *id)
{
	int cap = MAX_PATH;
	for (int tries = 0; tries < PATH_TRIES; tries++) {
		WCHAR *buf = calloc((size_t)cap + 1, sizeof *buf);
		if (!buf)
			return NULL;
		int len = cap, e = 0;
		if (WSCGetProviderPath(id, buf, &len, &e) == 0)
			return buf;
		free(buf);
		if (e != WSAEFAULT || len <= 0 || len > PATH_MAX_CHARS)
			return NULL;
		cap = len > cap ? len : cap * 2; /* too small: len says what it takes */
	}
	return NULL;
}

static HMODULE load_next(GUID *id)
{
	WCHAR *reg = registered_path(id);
	if (!reg)
		return NULL;
	HMODULE m = NULL;
	DWORD need = ExpandEnvironmentStringsW(reg, NULL, 0);
	WCHAR *path = need ? calloc((size_t)need + 1, sizeof *path) : NULL;
	if (path && ExpandEnvironmentStringsW(reg, path, need) != 0)
		m = LoadLibraryW(path);
	free(path);
	free(reg);
	return m;
}

static int table_complete(const WSPPROC_TABLE *t)
{
	void *entries[sizeof *t / sizeof(void *)];
	memcpy(entries, t, sizeof entries);
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if (!entries[i])
			return 0;
	return 1;
}

/* ---- the socket list ---- */

static int sock_add(SOCKET client, SOCKET lower, DWORD own_id)
{
	pv_lock();
	if (g.n_socks == g.cap_socks) {
		size_t nc = g.cap_socks ? g.cap_socks * 2 : 16;
		struct sock *p = realloc(g.socks, nc * sizeof *p);
		if (!p) {
			pv_unlock();
			return -1;
		}
		g.socks = p;
		g.cap_socks = nc;
	}
	g.socks[g.n_socks++] = (struct sock){client, lower, own_id};
	pv_unlock();
	return 0;
}

/* With the lock held. */
static struct sock *sock_find(SOCKET client)
{
	for (size_t i = 0; i < g.n_socks; i++)
		if (g.socks[i].client == client)
			return &g.socks[i];
	return NULL;
}

/* ---- the intercepted entries ---- */

/* The next provider's handle for lower (made in a WSPSocket/WSPAccept for own_id) as the client's
 * handle: through WPUModifyIFSHandle with this layer's own catalog id. */
static SOCKET adopt(SOCKET lower, DWORD own_id, LPINT lpErrno)
{
	pv_lock();
	LPWPUMODIFYIFSHANDLE modify = g.up.lpWPUModifyIFSHandle;
	LPWSPCLOSESOCKET close = g.next.lpWSPCloseSocket;
	pv_unlock();
	int e = 0;
	SOCKET h = modify(own_id, lower, &e);
	if (h == INVALID_SOCKET || sock_add(h, lower, own_id) != 0) {
		int e2 = 0;
		close(lower, &e2);
		return fail_socket(lpErrno, h == INVALID_SOCKET ? (e ? e : WSAEINVAL) : WSAENOBUFS);
	}
	return h;
}

static SOCKET WSPAPI id_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
			       GROUP grp, DWORD dwFlags, LPINT lpErrno)
{
	pv_lock();
	int started = g.startups > 0;
	LPWSPSOCKET next_socket = g.next.lpWSPSocket;
	pv_unlock();
	if (!started)
		return fail_socket(lpErrno, WSANOTINITIALISED);
	if (!lpProtocolInfo)
		return fail_socket(lpErrno, WSAEINVAL);
	struct route r;
	pv_lock();
	GUID loaded = g.lower_id;
	pv_unlock();
	/* One next provider per layer: an entry that leads elsewhere is not served. */
	if (route_for(lpProtocolInfo, &r) != 0 || !r.next_ifs ||
	    !same_guid(&r.next_provider, &loaded))
		return fail_socket(lpErrno, WSAEPROTONOSUPPORT);
	WSAPROTOCOL_INFOW down = F_SOCKET_INFO ? *lpProtocolInfo : r.down;
	SOCKET lower = next_socket(af, type, protocol, &down, grp, dwFlags, lpErrno);
	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	return adopt(lower, lpProtocolInfo->dwCatalogEntryId, lpErrno);
}

static SOCKET WSPAPI id_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
			       LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
			       LPINT lpErrno)
{
	pv_lock();
	int started = g.startups > 0;
	const struct sock *k = sock_find(s);
	SOCKET listener = k ? k->lower : INVALID_SOCKET;
	DWORD own_id = k ? k->own_id : 0;
	LPWSPACCEPT next_accept = g.next.lpWSPAccept;
	pv_unlock();
	if (!started)
		return fail_socket(lpErrno, WSANOTINITIALISED);
	if (!k)
		return fail_socket(lpErrno, WSAENOTSOCK); /* not a socket of this layer's */
	SOCKET lower = next_accept(listener, addr, addrlen, lpfnCondition, dwCallbackData, lpErrno);
	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	return adopt(lower, own_id, lpErrno);
}

static int WSPAPI id_CloseSocket(SOCKET s, LPINT lpErrno)
{
	pv_lock();
	int started = g.startups > 0;
	const struct sock *k = sock_find(s);
	SOCKET lower = k ? k->lower : s;
	LPWSPCLOSESOCKET next_close = g.next.lpWSPCloseSocket;
	pv_unlock();
	if (!started)
		return fail(lpErrno, WSANOTINITIALISED);
	int rc = next_close(lower, lpErrno);
	if (rc == 0) {
		pv_lock();
		struct sock *now = sock_find(s);
		if (now)
			*now = g.socks[--g.n_socks];
		pv_unlock();
	}
	return rc;
}

static int WSPAPI id_Cleanup(LPINT lpErrno)
{
	gate_enter();
	pv_lock();
	if (g.startups <= 0) {
		pv_unlock();
		gate_leave();
		return fail(lpErrno, WSANOTINITIALISED);
	}
	int final = g.startups == 1;
	LPWSPCLEANUP next_cleanup = g.next.lpWSPCleanup;
	pv_unlock();
	/* Sockets the client left open are not closed here: they are the client's own handles (the
	 * next provider's, registered with WPUModifyIFSHandle), and the next provider's final
	 * WSPCleanup resets them, cancelling their pending operations silently as a final cleanup
	 * must. Closing them first would complete those operations to the client, whose requests go
	 * straight to the next provider, after its final WSPCleanup began. */
	int e = 0, balance = !START_ONCE || final;
	if (balance)
		(void)next_cleanup(&e); /* this layer's own cleanup succeeds whatever it says */
	pv_lock();
	g.lower_startups -= balance;
	g.startups--;
	if (final) {
		/* The next provider stays loaded: the client calls its entries directly, so a
		 * receive the client began before this cleanup may still be returning inside it,
		 * and this layer cannot know when none is. A later first WSPStartup reuses it. */
		memset(&g.next, 0, sizeof g.next);
		g.n_routes = 0;
		free(g.socks);
		g.socks = NULL;
		g.n_socks = g.cap_socks = 0;
	}
	pv_unlock();
	gate_leave();
	return 0;
}

/* ---- WSPStartup ---- */

static WORD version_min(WORD a, WORD b)
{
	if (LOBYTE(a) != LOBYTE(b))
		return LOBYTE(a) < LOBYTE(b) ? a : b;
	return HIBYTE(a) < HIBYTE(b) ? a : b;
}

/* Gate held: loads the next provider of `own`'s chain if it is not loaded. 0 or a WSA error. */
static int ensure_next(const WSAPROTOCOL_INFOW *own, struct route *route)
{
	/* An IFS layer hands its client the next provider's handles: over a provider without IFS
	 * handles it must not start. */
	if (route_for(own, route) != 0 || !route->next_ifs)
		return WSASYSNOTREADY;
	GUID id = route->next_provider;
	pv_lock();
	HMODULE old = g.lower_mod;
	int reuse = old && same_guid(&g.lower_id, &id);
	int drop = old && !reuse && g.lower_startups == 0;
	if (drop) {
		g.lower_mod = NULL; /* kept from an earlier final cleanup, for another provider */
		g.lower_startup = NULL;
	}
	pv_unlock();
	if (reuse)
		return 0;
	if (old && !drop)
		return WSASYSNOTREADY; /* started, and bound to another next provider */
	if (drop)
		FreeLibrary(old);
	HMODULE m = load_next(&id);
	if (!m)
		return WSASYSNOTREADY;
	FARPROC fp = GetProcAddress(m, "WSPStartup");
	if (!fp) {
		FreeLibrary(m);
		return WSASYSNOTREADY;
	}
	pv_lock();
	g.lower_mod = m;
	g.lower_startup = (LPWSPSTARTUP)(void (*)(void))fp;
	g.lower_id = id;
	pv_unlock();
	return 0;
}

static void fill_table(LPWSPPROC_TABLE t, const WSPPROC_TABLE *next)
{
	*t = *next; /* everything not intercepted is the next provider's own entry */
	t->lpWSPSocket = id_Socket;
	t->lpWSPAccept = id_Accept;
	t->lpWSPCloseSocket = id_CloseSocket;
	t->lpWSPCleanup = id_Cleanup;
}

/* What installers and tools ask the layer for: the GUID of its hidden catalog entry. */
WSPH_PROVIDER_EXPORT void WSPAPI GetLspGuid(LPGUID lpGuid)
{
	*lpGuid = layer_guid;
}

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD wVersionRequested, LPWSPDATA lpWSPData,
					   LPWSAPROTOCOL_INFOW lpProtocolInfo,
					   WSPUPCALLTABLE UpcallTable, LPWSPPROC_TABLE lpProcTable)
{
	const WORD high = MAKEWORD(2, 2);
	if (!lpWSPData || !lpProcTable || !lpProtocolInfo)
		return WSAEFAULT;
	if (LOBYTE(wVersionRequested) < 2)
		return WSAVERNOTSUPPORTED;
	gate_enter();
	pv_lock();
	int first = g.startups == 0;
	if (first)
		g.n_routes = 0;
	pv_unlock();
	struct route route;
	int rc = ensure_next(lpProtocolInfo, &route);
	if (rc) {
		gate_leave();
		return rc;
	}
	pv_lock();
	LPWSPSTARTUP start = g.lower_startup;
	pv_unlock();
	WSPDATA data;
	WSPPROC_TABLE next;
	memset(&data, 0, sizeof data);
	memset(&next, 0, sizeof next);
	WSAPROTOCOL_INFOW down = F_STARTUP_INFO ? *lpProtocolInfo : route.down;
	int start_next = !START_ONCE || first;
	if (start_next) {
		rc = start(wVersionRequested, &data, &down, UpcallTable, &next);
	} else {
		pv_lock();
		next = g.next; /* started once, with the first table: it keeps that one */
		pv_unlock();
	}
	if (rc == 0 && start_next && !table_complete(&next)) {
		int e = 0;
		if (next.lpWSPCleanup)
			next.lpWSPCleanup(&e); /* balances the startup that did succeed */
		rc = WSAEINVALIDPROCTABLE;
	}
	if (rc) {
		HMODULE unload = NULL;
		pv_lock();
		if (g.lower_startups == 0) {
			unload = g.lower_mod;
			g.lower_mod = NULL;
			g.lower_startup = NULL;
		}
		pv_unlock();
		if (unload)
			FreeLibrary(unload);
		gate_leave();
		return rc;
	}
	pv_lock();
	g.next = next;
	g.up = UpcallTable; /* a copy; the most recent one is the one to use */
	g.lower_startups += start_next;
	g.startups++;
	pv_unlock();
	gate_leave();

	lpWSPData->wHighVersion = high;
	lpWSPData->wVersion = version_min(wVersionRequested, high);
	static const char desc[] = ID_DESCRIPTION;
	memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
	for (size_t i = 0; i < sizeof desc - 1 && i < WSPDESCRIPTION_LEN; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)desc[i];
	fill_table(lpProcTable, &next);
	return 0;
}
