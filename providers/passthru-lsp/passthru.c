/* passthru-lsp: the reference layered service provider, non-IFS (default) or IFS (PASSTHRU_IFS). */

/*
 * What this file is for: an LSP that sits over the next provider of its protocol chain exactly
 * as the rules of scenarios/rules.yaml describe, so that every rule the harness checks passes on it,
 * and so that each faulty variant (this same file with one PASSTHRU_FAULT_<NAME> define, see
 * meson.build) trips exactly the rule it was made for.
 *
 * How it is built:
 *  - Finding the next provider. WSPStartup/WSPSocket receive one of the LSP's chained catalog
 *    entries. The layer's own (dummy, ChainLen 0) entry is the catalog entry with the same
 *    ProviderId; its position in the received chain gives the next element. That element's entry
 *    (WSCEnumProtocols: NULL buffer first for the size, then the real call) gives the next
 *    provider's GUID, WSCGetProviderPath (retried with the returned length after WSAEFAULT) its
 *    DLL path, ExpandEnvironmentStringsW expands it, LoadLibraryW + GetProcAddress("WSPStartup")
 *    load it. The next layer is started with the base's own WSAPROTOCOL_INFOW when it is the base
 *    (ChainLen 1) and otherwise with the structure this layer received, and its proc table must
 *    have all 30 entries. It is started again by every later WSPStartup of this layer (so it too
 *    uses the most recent upcall table), and all those startups are balanced by this layer's
 *    final WSPCleanup, after every lower socket has been closed; FreeLibrary follows.
 *  - The upcall table. The lower provider gets the most recent table this layer received, entry
 *    for entry, except WPUPostMessage: that entry is this layer's, so that a message for one of
 *    the private HWNDs this layer gave the lower WSPAsyncSelect is re-posted to the client's
 *    window, with the client's message and the client's socket handle (anything else is
 *    forwarded unchanged).
 *  - Handles. Non-IFS: each socket object gets its client handle from WPUCreateSocketHandle (own
 *    catalog id, context = the object) and is found through WPUQuerySocketHandleContext. IFS: the
 *    lower handle goes through WPUModifyIFSHandle (own catalog id) and the returned value is mapped
 *    back to the lower handle on every call (it may differ from the lower handle). The client never
 *    sees a lower handle, in return values, fd_sets or posted messages.
 *  - Overlapped I/O (both variants). The lower operation gets this layer's own WSAOVERLAPPED and
 *    completion routine (never the client's, so that nothing reaches the client after the final
 *    WSPCleanup, even from an operation the cleanup aborts) and a copy of the client's
 *    WSATHREADID (or one from WPUOpenCurrentThread, closed again once the completion has been
 *    delivered). When the lower operation completes, the client is told through WPUQueueApc (an
 *    APC of this layer that calls the client's routine) or, non-IFS, WPUCompleteOverlappedRequest
 *    (client handle, client WSAOVERLAPPED) or, IFS, WPUSetEvent on the client's event. An
 *    immediate lower success is told to the client before WSPRecv/WSPSend returns 0; the lower
 *    provider's later APC then only releases the operation. WSPCloseSocket completes what is
 *    still pending (the lower result, else WSA_OPERATION_ABORTED) before it releases the client's
 *    handle; the final WSPCleanup cancels it silently. A lower module that may still run an APC
 *    of this layer's after the final WSPCleanup stays loaded until the next first WSPStartup.
 *  - Locking: one lock (pv_lock) over all state, never held while calling the lower provider or an
 *    upcall; WSPStartup/WSPCleanup and the lazy loading of a next provider are serialised by a
 *    "gate" flag on top of it.
 *  - Calls from several threads. A call holds its socket from its check to its return; a
 *    WSPCloseSocket marks the socket closing first, so no call starts on it afterwards (a call
 *    that had already started may still reach the lower provider after the lower close: the
 *    client raced its own close). The final WSPCleanup closes the lower sockets, which ends the
 *    calls blocked below, and waits for the calls in progress to return before it cleans up the
 *    lower providers and unloads them.
 */

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wsph/spi.h>

#include "passthru_faults.h"
#include "pv_sync.h"

#ifndef _WIN32
#include "passthru_self.h"
#endif

#ifndef SO_PROTOCOL_INFOW
#define SO_PROTOCOL_INFOW 0x2005
#endif

#if LSP_IFS
#define LSP_DESCRIPTION "wspharness passthru-lsp (IFS layered provider)"
#else
#define LSP_DESCRIPTION "wspharness passthru-lsp (non-IFS layered provider)"
#endif

#define LSP_MAX_LOWERS   8  /* distinct next providers (by GUID) */
#define LSP_MAX_BINDINGS 16 /* own chained entries seen */
#define LSP_UP_SLOTS     16 /* received upcall tables kept (the newest is current) */
#define LSP_PATH_TRIES   4
#define LSP_PATH_MAX     32768
#define LSP_MAX_PARKED   8
/* How long (in 100 ms waits) the final WSPCleanup waits for client calls that hold a socket to
 * return once their lower sockets are closed; a module such a call is still in stays loaded. */
#define LSP_DRAIN_WAITS  100
/* Private HWND values handed to the lower WSPAsyncSelect: one per lower provider. */
#define LSP_PRIVATE_HWND 0x4c530000u

/* ------------------------------------------------------------------------------------------ */
/* Data model                                                                                   */

/* A next provider: loaded once, started once per upcall table this layer received. */
struct lower {
	int used;
	GUID id;
	HMODULE mod;
	LPWSPSTARTUP start;
	WSAPROTOCOL_INFOW *info; /* what its WSPStartup is given (in a binding: stable) */
	WSPPROC_TABLE procs;
	int startups; /* successful lower WSPStartups, all balanced by the final WSPCleanup */
};

/* One of this layer's chained entries and where it leads. */
struct binding {
	int used;
	WSAPROTOCOL_INFOW own;  /* as the client gave it (the chained entry) */
	WSAPROTOCOL_INFOW down; /* what the next layer is given: the base's entry, or `own` */
	struct lower *lp;
};

struct sock {
	struct sock *next; /* g.socks: live sockets only */
	SOCKET upper;      /* the client's handle */
	SOCKET lower;      /* the next layer's handle */
	SOCKET returned;   /* what WSPSocket returned (differs only in the leaking variant) */
	struct lower *lp;
	const struct binding *b;
	unsigned refs; /* list membership + calls in progress + operations */
	int closed;
	int closing; /* a WSPCloseSocket is under way: no new call may start on it */
	int handle_released; /* WPUCloseSocketHandle done (non-IFS) */
	unsigned pending;    /* operations not yet completed to the client */
	HWND as_hwnd;        /* the client's WSPAsyncSelect registration */
	unsigned as_msg;
	LONG as_events;
};

enum io_kind { IO_SEND, IO_SENDTO, IO_RECV, IO_RECVFROM, IO_IOCTL };

/* An overlapped operation this layer carries out on the lower provider for the client. */
struct op {
	struct op *next;   /* g.ops */
	WSAOVERLAPPED lov; /* the lower provider's view */
	struct sock *k;
	unsigned gen;
	unsigned refs; /* the lower completion + the client notification */
	int lower_done, client_done;
	int stale; /* still awaited from the lower provider after a final WSPCleanup */
	LPWSAOVERLAPPED cov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	WSATHREADID tid; /* the client's, copied, or this layer's own (own_thread) */
	int own_thread, thread_closed;
	DWORD err, bytes, flags; /* the result, for the client's routine */
};

/* A message the lower provider posted for a socket WSPAccept has not wrapped yet. */
struct early_post {
	struct early_post *next;
	unsigned li;
	SOCKET lower;
	LPARAM lparam;
};

static struct {
	int startups;
	unsigned gen; /* bumped by every final WSPCleanup */
	int gate_busy;
	struct lower lowers[LSP_MAX_LOWERS];
	struct binding binds[LSP_MAX_BINDINGS];
	struct binding *deflt; /* the entry of the first WSPStartup */
	struct sock *socks;
	struct op *ops;
	unsigned accepting;
	struct early_post *early;
	unsigned stale_ops;
	HMODULE parked[LSP_MAX_PARKED];
	size_t n_parked;
	unsigned calls_in; /* sockets held by client calls in progress (acquire to release) */
} g;

/* The received tables: the most recent one is the current one (read without the lock). */
static WSPUPCALLTABLE g_up_slot[LSP_UP_SLOTS];
static unsigned g_up_next;
static _Atomic(const WSPUPCALLTABLE *) g_up;

static const WSPUPCALLTABLE *up(void)
{
	return atomic_load_explicit(&g_up, memory_order_acquire);
}

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                */

static int fail(LPINT lpErrno, int err)
{
	if (lpErrno)
		*lpErrno = err ? err : WSAEINVAL;
	return SOCKET_ERROR;
}

static SOCKET fail_socket(LPINT lpErrno, int err)
{
	fail(lpErrno, err);
	return INVALID_SOCKET;
}

static BOOL fail_bool(LPINT lpErrno, int err)
{
	fail(lpErrno, err);
	return FALSE;
}

static int guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

static void gate_enter(void)
{
	pv_lock();
	while (g.gate_busy)
		pv_wait_ms(50);
	g.gate_busy = 1;
	pv_unlock();
}

static void gate_leave(void)
{
	pv_lock();
	g.gate_busy = 0;
	pv_wake_all();
	pv_unlock();
}

static unsigned lower_index(const struct lower *lp)
{
	return (unsigned)(lp - g.lowers);
}

static HWND private_hwnd(const struct lower *lp)
{
	return (HWND)(uintptr_t)(LSP_PRIVATE_HWND + 4u * lower_index(lp));
}

static int private_index(HWND h, unsigned *li)
{
	uintptr_t v = (uintptr_t)h;
	if (v < LSP_PRIVATE_HWND || v >= LSP_PRIVATE_HWND + 4u * LSP_MAX_LOWERS ||
	    (v - LSP_PRIVATE_HWND) % 4u)
		return 0;
	*li = (unsigned)((v - LSP_PRIVATE_HWND) / 4u);
	return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Socket objects                                                                               */

static void sock_unref_locked(struct sock *k)
{
	if (--k->refs == 0)
		free(k);
}

static void sock_unlink_locked(struct sock *k)
{
	for (struct sock **pp = &g.socks; *pp; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			k->next = NULL;
			return;
		}
	}
}

static struct sock *find_by_lower_locked(unsigned li, SOCKET lower)
{
	for (struct sock *k = g.socks; k; k = k->next)
		if (lower_index(k->lp) == li && k->lower == lower)
			return k;
	return NULL;
}

static struct sock *find_by_upper_locked(SOCKET s)
{
	for (struct sock *k = g.socks; k; k = k->next)
		if (k->upper == s)
			return k;
	return NULL;
}

static struct sock *find_by_context_locked(DWORD_PTR ctx, SOCKET s)
{
	for (struct sock *k = g.socks; k; k = k->next)
		if ((DWORD_PTR)k == ctx)
			return k->upper == s ? k : NULL;
	return NULL;
}

/* With the lock held: whether the caller must now give the client's handle back (non-IFS). */
static int take_handle_release_locked(struct sock *k)
{
	if (LSP_IFS || !k->closed || k->pending || k->handle_released)
		return 0;
	k->handle_released = 1;
	return 1;
}

/*
 * The socket object behind a client handle, with a reference held (release it with release()), or
 * NULL with *err set. Non-IFS: through WPUQuerySocketHandleContext; IFS: through the handle map.
 */
static struct sock *acquire(SOCKET s, int *err)
{
	DWORD_PTR ctx = 0;
	int e = 0, known = 1;
	pv_lock();
	int up_ok = g.startups > 0;
	pv_unlock();
	if (!up_ok) {
		*err = WSANOTINITIALISED;
		return NULL;
	}
	if (!LSP_IFS && up()->lpWPUQuerySocketHandleContext(s, &ctx, &e) != 0) {
		if (!F_LEAKS_LOWER_HANDLE) {
			*err = WSAENOTSOCK;
			return NULL;
		}
		known = 0;
	}
	pv_lock();
	struct sock *k = NULL;
	if (g.startups > 0) {
		if (LSP_IFS)
			k = find_by_upper_locked(s);
		else if (known)
			k = find_by_context_locked(ctx, s);
		if (!k && F_LEAKS_LOWER_HANDLE) {
			/* The leaking variant's clients hold lower handles. */
			for (struct sock *o = g.socks; o; o = o->next)
				if (o->returned == s)
					k = o;
		}
	}
	if (!k || k->closed || k->closing) {
		int started = g.startups > 0;
		pv_unlock();
		*err = started ? WSAENOTSOCK : WSANOTINITIALISED;
		return NULL;
	}
	k->refs++;
	g.calls_in++;
	pv_unlock();
	return k;
}

/* Gives back what acquire() took. */
static void release(struct sock *k)
{
	pv_lock();
	sock_unref_locked(k);
	if (--g.calls_in == 0)
		pv_wake_all();
	pv_unlock();
}

static struct sock *sock_new(struct lower *lp, const struct binding *b, SOCKET lower)
{
	struct sock *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->upper = INVALID_SOCKET;
	k->lower = lower;
	k->returned = INVALID_SOCKET;
	k->lp = lp;
	k->b = b;
	k->refs = 1; /* the list's */
	return k;
}

/* Outside the lock: the client handle for a new socket object. 0, or the WSA error. */
static int make_upper(struct sock *k, DWORD own_id)
{
	int e = 0;
	SOCKET h;
	if (LSP_IFS) {
		h = up()->lpWPUModifyIFSHandle(own_id, k->lower, &e);
		if (h == INVALID_SOCKET)
			return e ? e : WSAEINVAL;
	} else {
		h = up()->lpWPUCreateSocketHandle(own_id, (DWORD_PTR)k, &e);
		if (h == INVALID_SOCKET)
			return e ? e : WSAENOBUFS;
	}
	k->upper = h;
	k->returned = h;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The table the lower provider gets                                                            */

static BOOL post_to_client(HWND hwnd, unsigned msg, SOCKET s, LPARAM lparam)
{
#if F_DIRECT_POSTMESSAGE
	/* The bug: a notification that bypasses WPUPostMessage. */
	return PostMessageW(hwnd, msg, (WPARAM)s, lparam);
#else
	return up()->lpWPUPostMessage(hwnd, msg, (WPARAM)s, lparam);
#endif
}

/* A message the lower provider posted to the private window of lower provider li. */
static BOOL relay_post(unsigned li, WPARAM wparam, LPARAM lparam)
{
	HWND hwnd = NULL;
	unsigned msg = 0;
	SOCKET s = INVALID_SOCKET;
	pv_lock();
	if (g.startups > 0) {
		struct sock *k = find_by_lower_locked(li, (SOCKET)wparam);
		if (k) {
			if (k->as_hwnd && k->as_events) {
				hwnd = k->as_hwnd;
				msg = k->as_msg;
				s = k->upper;
			}
		} else if (g.accepting) {
			/* Most likely the socket a WSPAccept in progress is about to wrap. */
			struct early_post *p = malloc(sizeof *p);
			if (p) {
				p->li = li;
				p->lower = (SOCKET)wparam;
				p->lparam = lparam;
				p->next = g.early;
				g.early = p;
			}
		}
	}
	pv_unlock();
	if (!hwnd)
		return TRUE; /* cancelled, closed or held back: nothing reaches the client */
	return post_to_client(hwnd, msg, s, lparam);
}

static BOOL WSPAPI fw_PostMessage(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
	unsigned li;
	if (private_index(hwnd, &li))
		return relay_post(li, wparam, lparam);
	return up()->lpWPUPostMessage(hwnd, msg, wparam, lparam);
}

/* The own-upcall-table variant's bug: an entry answered here instead of by ws2_32's table. */
static int WSPAPI own_FDIsSet(SOCKET s, fd_set *set)
{
	if (!set)
		return 0;
	for (u_int i = 0; i < set->fd_count && i < FD_SETSIZE; i++)
		if (set->fd_array[i] == s)
			return 1;
	return 0;
}

/*
 * The table a lower WSPStartup gets: the most recent received table itself (so the lower
 * provider's upcalls reach ws2_32 directly and are its own), except WPUPostMessage, which must
 * see the messages for this layer's private windows and forwards everything else.
 */
static WSPUPCALLTABLE down_table(void)
{
	WSPUPCALLTABLE t = *up();
	t.lpWPUPostMessage = fw_PostMessage;
	if (F_OWN_UPCALL_TABLE)
		t.lpWPUFDIsSet = own_FDIsSet;
	return t;
}

/* ------------------------------------------------------------------------------------------ */
/* The catalog and the next provider                                                            */

/* All catalog entries (malloc'd), or NULL with *count 0 (none) or *err set (failure). */
static WSAPROTOCOL_INFOW *enum_catalog(int *count, int *err)
{
	WSAPROTOCOL_INFOW *buf = NULL;
	DWORD len = 0;
	*count = 0;
	for (int tries = 0; tries < 4; tries++) {
		int e = 0;
		int n = WSCEnumProtocols(NULL, buf, &len, &e);
		if (n != SOCKET_ERROR) {
			*count = buf ? n : 0;
			return buf;
		}
		free(buf);
		buf = NULL;
		if (e != WSAENOBUFS || len < sizeof(WSAPROTOCOL_INFOW))
			break;
		buf = malloc(len);
		if (!buf) {
			*err = WSAENOBUFS;
			return NULL;
		}
	}
	*err = WSASYSNOTREADY;
	return NULL;
}

static const WSAPROTOCOL_INFOW *catalog_by_id(const WSAPROTOCOL_INFOW *cat, int n, DWORD id)
{
	for (int i = 0; i < n; i++)
		if (cat[i].dwCatalogEntryId == id)
			return &cat[i];
	return NULL;
}

static WCHAR *wcs_dup(const WCHAR *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	WCHAR *d = malloc((n + 1) * sizeof *d);
	if (d)
		memcpy(d, s, (n + 1) * sizeof *d);
	return d;
}

#ifdef __GNUC__
#define LSP_NOINLINE __attribute__((noinline))
#else
#define LSP_NOINLINE
#endif

/* The first lookup, into a stack array in a frame of its own (the usual way): the path (a heap
 * copy), or NULL with *len the length needed after WSAEFAULT, or NULL and *e another error. */
static LSP_NOINLINE WCHAR *provider_path_on_stack(GUID *id, int *len, int *e)
{
	WCHAR buf[MAX_PATH + 1];
	memset(buf, 0, sizeof buf);
	if (F_SHORT_BUFFER) {
		/* Some plausible content, so the bug below reads nothing uninitialised. */
		static const char guess[] = "mockbase";
		for (size_t i = 0; i < sizeof guess - 1; i++)
			buf[i] = (WCHAR)guess[i];
	}
	/* The bug (provider-path-len-bytes): the size in bytes, where it is in characters. */
	*len = F_PATH_LEN_BYTES ? (int)sizeof buf : MAX_PATH;
	*e = 0;
	if (WSCGetProviderPath(id, buf, len, e) == 0)
		return wcs_dup(buf); /* one longer than MAX_PATH, zeroed: always terminated */
	if (F_SHORT_BUFFER && *e == WSAEFAULT)
		/* The bug: no retry; whatever the buffer holds is taken for the path. */
		return wcs_dup(buf);
	return NULL;
}

/* The registered DLL path of a provider (unexpanded), malloc'd. */
static WCHAR *provider_path(GUID *id)
{
	int len = 0, e = 0;
	WCHAR *first = provider_path_on_stack(id, &len, &e);
	if (first || e != WSAEFAULT)
		return first;
	/* Too small: *len is the length needed, in characters (else grow anyway). */
	int cap = len > MAX_PATH ? len : MAX_PATH * 2;
	for (int tries = 0; tries < LSP_PATH_TRIES && cap <= LSP_PATH_MAX; tries++) {
		WCHAR *buf = calloc((size_t)cap + 1, sizeof *buf);
		if (!buf)
			return NULL;
		len = cap;
		e = 0;
		if (WSCGetProviderPath(id, buf, &len, &e) == 0)
			return buf; /* calloc'd one longer than cap: always terminated */
		free(buf);
		if (e != WSAEFAULT)
			return NULL;
		cap = len > cap ? len : cap * 2;
	}
	return NULL;
}

static size_t wcs_len(const WCHAR *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* The expansion, malloc'd: first into a buffer the size of the source (enough when nothing
 * expands to more), then, when the return value says it did not fit, into one of that size. */
static WCHAR *expand(const WCHAR *src)
{
	DWORD cap = (DWORD)wcs_len(src) + 1;
	for (int tries = 0; tries < LSP_PATH_TRIES; tries++) {
		WCHAR *dst = calloc((size_t)cap + 1, sizeof *dst);
		if (!dst)
			return NULL;
		DWORD n = ExpandEnvironmentStringsW(src, dst, cap);
		if (n == 0) {
			free(dst);
			return NULL;
		}
		if (n <= cap)
			return dst;
		free(dst);
		if (n > LSP_PATH_MAX)
			return NULL;
		cap = n;
	}
	return NULL;
}

/* The bugs of expand-in-place-short and expand-short: the path expanded into a buffer too small
 * for the expansion (in place: the source's own buffer, its length as the size), the return value
 * that says so ignored, and the buffer loaded. */
static HMODULE load_badly_expanded(WCHAR *path)
{
	if (F_EXPAND_IN_PLACE_SHORT) {
		ExpandEnvironmentStringsW(path, path, (DWORD)wcs_len(path) + 1);
		return LoadLibraryW(path);
	}
	WCHAR small[16];
	memset(small, 0, sizeof small);
	ExpandEnvironmentStringsW(path, small, (DWORD)(sizeof small / sizeof small[0]));
	return LoadLibraryW(small);
}

/* The bugs of hardcoded-path and loads-other-dll: a provider DLL found from this module's
 * directory, not through the catalog. The build tree keeps mockbase in ../mockbase/ (the
 * catalog's file, spelled another way) and mockbase-os-notify, another provider, in ../faulty/. */
static WCHAR *hardcoded_path(void)
{
#ifdef _WIN32
	HMODULE self = NULL;
	WCHAR buf[MAX_PATH];
#if F_LOADS_OTHER_DLL
	static const WCHAR tail[] = L"\\..\\faulty\\mockbase-os-notify.dll";
#else
	static const WCHAR tail[] = L"\\..\\mockbase\\mockbase.dll";
#endif
	if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
	                            GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
	                        (LPCWSTR)(const void *)&g, &self))
		return NULL;
	DWORD n = GetModuleFileNameW(self, buf, MAX_PATH);
	if (n == 0 || n >= MAX_PATH)
		return NULL;
	while (n > 0 && buf[n - 1] != L'\\' && buf[n - 1] != L'/')
		n--;
	if (n > 0)
		n--;
	size_t tl = sizeof tail / sizeof tail[0];
	WCHAR *out = malloc((n + tl) * sizeof *out);
	if (!out)
		return NULL;
	memcpy(out, buf, n * sizeof *out);
	memcpy(out + n, tail, tl * sizeof *out);
	return out;
#else
#if F_LOADS_OTHER_DLL
	static const char tail[] = "/../faulty/mockbase-os-notify.so";
#else
	static const char tail[] = "/../mockbase/mockbase.so";
#endif
	const char *f = passthru_module_path();
	if (!f)
		return NULL;
	const char *slash = strrchr(f, '/');
	size_t dir = slash ? (size_t)(slash - f) : 0;
	size_t tl = sizeof tail - 1;
	WCHAR *out = malloc((dir + tl + 1) * sizeof *out);
	if (!out)
		return NULL;
	size_t j = 0;
	if (!slash) {
		out[j++] = '.';
	}
	for (size_t i = 0; i < dir; i++)
		out[j++] = (WCHAR)(unsigned char)f[i];
	for (size_t i = 0; i < tl; i++)
		out[j++] = (WCHAR)(unsigned char)tail[i];
	out[j] = 0;
	return out;
#endif
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

static HMODULE load_module(GUID *id)
{
	int own = F_HARDCODED_PATH || F_LOADS_OTHER_DLL;
	WCHAR *path = own ? hardcoded_path() : provider_path(id);
	if (!path)
		return NULL;
	HMODULE m = NULL;
	if (F_NO_EXPAND)
		m = LoadLibraryW(path); /* the bug: the registered path used as it is */
	if (F_EXPAND_IN_PLACE_SHORT || F_EXPAND_SHORT) {
		m = load_badly_expanded(path);
		free(path);
		return m;
	}
	if (!m) {
		WCHAR *x = own ? wcs_dup(path) : expand(path);
		if (x)
			m = LoadLibraryW(x);
		free(x);
	}
	free(path);
	return m;
}

/* Gate held: one more WSPStartup of a loaded next provider, with the current upcall table. */
static int lower_start(struct lower *lp)
{
	WSPDATA data;
	WSPPROC_TABLE procs;
	memset(&data, 0, sizeof data);
	memset(&procs, 0, sizeof procs);
	int rc = lp->start(MAKEWORD(2, 2), &data, lp->info, down_table(), &procs);
	if (rc != 0)
		return rc;
	int bad = 0;
	if (!F_UNVALIDATED_TABLE && !table_complete(&procs))
		bad = WSAEINVALIDPROCTABLE;
	else if (LOBYTE(data.wVersion) < 2)
		bad = WSAVERNOTSUPPORTED;
	if (bad) {
		int e = 0;
		if (procs.lpWSPCleanup)
			procs.lpWSPCleanup(&e); /* balances the startup that did succeed */
		return bad;
	}
	pv_lock();
	lp->procs = procs;
	lp->startups++;
	pv_unlock();
	return 0;
}

/* Gate held: loads and starts the next provider `next` (a catalog entry), handing it `info`. */
static int load_lower(const WSAPROTOCOL_INFOW *next, WSAPROTOCOL_INFOW *info, struct lower **out)
{
	struct lower *lp = NULL;
	for (size_t i = 0; i < LSP_MAX_LOWERS && !lp; i++)
		if (!g.lowers[i].used)
			lp = &g.lowers[i];
	if (!lp)
		return WSAENOBUFS;
	GUID id = next->ProviderId;
	HMODULE m = load_module(&id);
	if (!m)
		return WSASYSNOTREADY;
	FARPROC fp = GetProcAddress(m, "WSPStartup");
	if (!fp) {
		FreeLibrary(m);
		return WSASYSNOTREADY;
	}
	struct lower tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.id = id;
	tmp.mod = m;
	tmp.start = (LPWSPSTARTUP)(void (*)(void))fp;
	tmp.info = info;
	int rc = lower_start(&tmp);
	if (rc != 0) {
		FreeLibrary(m);
		return rc;
	}
	pv_lock();
	*lp = tmp;
	lp->used = 1;
	pv_unlock();
	*out = lp;
	return 0;
}

static struct binding *find_binding_locked(DWORD own_id)
{
	for (size_t i = 0; i < LSP_MAX_BINDINGS; i++)
		if (g.binds[i].used && g.binds[i].own.dwCatalogEntryId == own_id)
			return &g.binds[i];
	return NULL;
}

/* Gate held: where the chained entry `own` leads (loading the next provider if needed). */
static int resolve_binding(const WSAPROTOCOL_INFOW *own, struct binding **out)
{
	pv_lock();
	struct binding *b = find_binding_locked(own->dwCatalogEntryId);
	for (size_t i = 0; i < LSP_MAX_BINDINGS && !b; i++)
		if (!g.binds[i].used)
			b = &g.binds[i];
	pv_unlock();
	if (!b)
		return WSAENOBUFS;
	if (b->used) {
		*out = b;
		return 0;
	}

	int n = 0, err = WSASYSNOTREADY;
	WSAPROTOCOL_INFOW *cat = enum_catalog(&n, &err);
	if (!cat)
		return err;
	const WSAPROTOCOL_INFOW *layer = NULL;
	for (int i = 0; i < n && !layer; i++)
		if (guid_eq(&cat[i].ProviderId, &own->ProviderId) &&
		    cat[i].ProtocolChain.ChainLen == LAYERED_PROTOCOL)
			layer = &cat[i];
	int len = own->ProtocolChain.ChainLen;
	const DWORD *chain = own->ProtocolChain.ChainEntries;
	int pos = 0;
	if (layer)
		for (int i = 0; i < len && i < MAX_PROTOCOL_CHAIN; i++)
			if (chain[i] == layer->dwCatalogEntryId) {
				pos = i;
				break;
			}
	const WSAPROTOCOL_INFOW *next = NULL, *base = NULL;
	if (len >= 2 && len <= MAX_PROTOCOL_CHAIN && pos + 1 < len) {
		next = catalog_by_id(cat, n, chain[pos + 1]);
		base = catalog_by_id(cat, n, chain[len - 1]);
	}
	if (!next || !base) {
		free(cat);
		return WSASYSNOTREADY;
	}
	int next_is_base = next->ProtocolChain.ChainLen == BASE_PROTOCOL;
	int lower_ifs =
	    (next->dwServiceFlags1 & XP1_IFS_HANDLES) && (base->dwServiceFlags1 & XP1_IFS_HANDLES);
	if (LSP_IFS && !F_IFS_OVER_NONIFS && !lower_ifs) {
		/* An IFS layer must be installed over IFS providers only. */
		free(cat);
		return WSASYSNOTREADY;
	}
	b->own = *own;
	b->down = next_is_base ? *next : *own;
	struct lower *lp = NULL;
	pv_lock();
	for (size_t i = 0; i < LSP_MAX_LOWERS && !lp; i++)
		if (g.lowers[i].used && guid_eq(&g.lowers[i].id, &next->ProviderId))
			lp = &g.lowers[i];
	pv_unlock();
	int rc = 0;
	if (!lp)
		rc = load_lower(next, F_PROTOCOLINFO ? &b->own : &b->down, &lp);
	free(cat);
	if (rc)
		return rc;
	pv_lock();
	b->lp = lp;
	b->used = 1;
	pv_unlock();
	*out = b;
	return 0;
}

/* The binding for a client-supplied protocol info (NULL: the startup entry), loading lazily. */
static int binding_for(const WSAPROTOCOL_INFOW *pi, struct binding **out)
{
	pv_lock();
	struct binding *b = pi ? find_binding_locked(pi->dwCatalogEntryId) : g.deflt;
	int up_ok = g.startups > 0;
	pv_unlock();
	if (!up_ok)
		return WSANOTINITIALISED;
	if (b) {
		*out = b;
		return 0;
	}
	gate_enter();
	int rc = resolve_binding(pi, out);
	gate_leave();
	return rc;
}

static const WSAPROTOCOL_INFOW *down_info(const struct binding *b)
{
	return F_PROTOCOLINFO ? &b->own : &b->down;
}

/* Final cleanup, sockets closed: waits (a while) until no client call holds a socket. 1 when
 * none does. */
static int calls_drained(void)
{
	pv_lock();
	for (unsigned i = 0; g.calls_in > 0 && i < LSP_DRAIN_WAITS; i++)
		pv_wait_ms(100);
	int drained = g.calls_in == 0;
	pv_unlock();
	return drained;
}

/* Gate held, no startups left: frees modules parked by an earlier cleanup once nothing can
 * still run in them. */
static void unpark(void)
{
	pv_lock();
	size_t n = g.stale_ops == 0 && g.calls_in == 0 ? g.n_parked : 0;
	HMODULE mods[LSP_MAX_PARKED];
	memcpy(mods, g.parked, n * sizeof mods[0]);
	if (n)
		g.n_parked = 0;
	pv_unlock();
	for (size_t i = 0; i < n; i++)
		FreeLibrary(mods[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* Overlapped operations                                                                        */

static void op_release(struct op *op)
{
	pv_lock();
	if (--op->refs) {
		pv_unlock();
		return;
	}
	for (struct op **pp = &g.ops; *pp; pp = &(*pp)->next) {
		if (*pp == op) {
			*pp = op->next;
			break;
		}
	}
	sock_unref_locked(op->k);
	pv_unlock();
	free(op);
}

/* This layer's APC in the client's thread: runs the client's completion routine. */
static void CALLBACK client_apc(DWORD_PTR context)
{
	struct op *op = (struct op *)context;
	op->routine(op->err, op->bytes, op->cov, op->flags);
	op_release(op);
}

/* Tells the client an operation completed. Called once per operation (client_done was set under
 * the lock by the caller), with the lower provider's reference still held. */
static void deliver(struct op *op, DWORD err, DWORD bytes, DWORD flags)
{
	LPWSAOVERLAPPED cov = op->cov;
	int e = 0, queued = 0;
	op->err = err;
	op->bytes = bytes;
	op->flags = flags;
	cov->InternalHigh = bytes;
	cov->Offset = flags;
	cov->OffsetHigh = err;
	if (op->routine) {
		cov->Internal = 0;
		queued = up()->lpWPUQueueApc(&op->tid, client_apc, (DWORD_PTR)op, &e) == 0;
	} else if (!LSP_IFS) {
		/* Sets Internal (and the event, or the completion port). */
		WPUCompleteOverlappedRequest(op->k->upper, cov, err, bytes, &e);
	} else {
		cov->Internal = 0;
		if (cov->hEvent)
			up()->lpWPUSetEvent(cov->hEvent, &e);
	}
	pv_lock();
	op->k->pending--;
	int rel = take_handle_release_locked(op->k);
	int close_thread = op->own_thread && op->lower_done && !op->thread_closed;
	if (close_thread)
		op->thread_closed = 1;
	pv_unlock();
	if (rel)
		up()->lpWPUCloseSocketHandle(op->k->upper, &e);
	if (close_thread)
		up()->lpWPUCloseThread(&op->tid, &e);
	if (!queued)
		op_release(op); /* otherwise client_apc releases it */
}

/* This layer's completion routine for the lower operation (an APC in the client's thread). */
static void CALLBACK lower_done(DWORD err, DWORD bytes, LPWSAOVERLAPPED lov, DWORD flags)
{
	struct op *op = (struct op *)(void *)((char *)lov - offsetof(struct op, lov));
	int e = 0;
	pv_lock();
	op->lower_done = 1;
	int notify = !op->client_done;
	op->client_done = 1;
	if (op->stale) {
		op->stale = 0;
		g.stale_ops--;
	}
	/* Told to the client before (immediate success): only the thread is left to close. */
	int close_thread = !notify && op->own_thread && !op->thread_closed;
	if (close_thread)
		op->thread_closed = 1;
	pv_unlock();
	if (notify)
		deliver(op, err, bytes, flags);
	if (close_thread)
		up()->lpWPUCloseThread(&op->tid, &e);
	op_release(op);
}

/* The arguments of one I/O call. */
struct io {
	enum io_kind kind;
	LPWSABUF bufs;
	DWORD nbufs;
	LPDWORD count; /* bytes sent/received, or the ioctl's bytes returned */
	LPDWORD flags; /* recv: in/out */
	DWORD send_flags;
	const struct sockaddr *to;
	int tolen;
	struct sockaddr *from;
	LPINT fromlen;
	DWORD code;
	LPVOID in;
	DWORD cbin;
	LPVOID out;
	DWORD cbout;
	LPWSAOVERLAPPED ov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	LPWSATHREADID tid;
};

static int lower_io(const struct sock *k, const struct io *a, LPDWORD count, LPDWORD flags,
                    LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine,
                    LPWSATHREADID tid, LPINT lpErrno)
{
	const WSPPROC_TABLE *t = &k->lp->procs;
	switch (a->kind) {
	case IO_SEND:
		if (!t->lpWSPSend)
			break;
		return t->lpWSPSend(k->lower, a->bufs, a->nbufs, count, a->send_flags, ov, routine,
		                    tid, lpErrno);
	case IO_SENDTO:
		if (!t->lpWSPSendTo)
			break;
		return t->lpWSPSendTo(k->lower, a->bufs, a->nbufs, count, a->send_flags, a->to,
		                      a->tolen, ov, routine, tid, lpErrno);
	case IO_RECV:
		if (!t->lpWSPRecv)
			break;
		return t->lpWSPRecv(k->lower, a->bufs, a->nbufs, count, flags, ov, routine, tid,
		                    lpErrno);
	case IO_RECVFROM:
		if (!t->lpWSPRecvFrom)
			break;
		return t->lpWSPRecvFrom(k->lower, a->bufs, a->nbufs, count, flags, a->from,
		                        a->fromlen, ov, routine, tid, lpErrno);
	case IO_IOCTL:
		if (!t->lpWSPIoctl)
			break;
		return t->lpWSPIoctl(k->lower, a->code, a->in, a->cbin, a->out, a->cbout, count, ov,
		                     routine, tid, lpErrno);
	}
	return fail(lpErrno, WSAEOPNOTSUPP);
}

/* An overlapped call carried out with this layer's own WSAOVERLAPPED and completion routine. */
static int start_op(struct sock *k, const struct io *a, LPINT lpErrno)
{
	int e = 0;
	struct op *op = calloc(1, sizeof *op);
	if (!op)
		return fail(lpErrno, WSAENOBUFS);
	op->k = k;
	op->cov = a->ov;
	op->routine = a->routine;
	if (a->tid) {
		/* A copy: the client's structure is only valid during the call. */
		op->tid = *a->tid;
	} else {
		/* No thread of the client's to complete in: this one, opened for the purpose. */
		if (up()->lpWPUOpenCurrentThread(&op->tid, &e) != 0) {
			free(op);
			return fail(lpErrno, e ? e : WSAENOBUFS);
		}
		op->own_thread = 1;
	}
	pv_lock();
	op->gen = g.gen;
	op->refs = 2;
	k->refs++;
	k->pending++;
	op->next = g.ops;
	g.ops = op;
	pv_unlock();

	a->ov->Internal = WSS_OPERATION_IN_PROGRESS;
	a->ov->InternalHigh = 0;
	DWORD count = 0, flags = a->flags ? *a->flags : 0;
	/* The bug variant hands the lower provider no thread at all. */
	LPWSATHREADID down_tid = F_NO_THREAD_ID ? NULL : &op->tid;
	int rc =
	    lower_io(k, a, &count, a->flags ? &flags : NULL, &op->lov, lower_done, down_tid, &e);
	if (rc == 0) {
		/* Completed at once: the client hears of it before this call returns; the lower
		 * provider's (already queued) completion then only releases the operation. */
		if (a->count)
			*a->count = count;
		if (a->flags)
			*a->flags = flags;
		pv_lock();
		op->client_done = 1;
		pv_unlock();
		deliver(op, 0, count, a->flags ? flags : 0);
		return 0;
	}
	if (e == WSA_IO_PENDING)
		return fail(lpErrno, WSA_IO_PENDING);

	/* Any other error: no operation was started and nothing will complete. */
	a->ov->Internal = 0;
	a->ov->OffsetHigh = (DWORD)e;
	pv_lock();
	op->client_done = 1;
	op->lower_done = 1;
	k->pending--;
	int rel = take_handle_release_locked(k);
	op->refs = 1;
	pv_unlock();
	int e2 = 0;
	if (rel)
		up()->lpWPUCloseSocketHandle(k->upper, &e2);
	if (op->own_thread)
		up()->lpWPUCloseThread(&op->tid, &e2);
	op_release(op);
	return fail(lpErrno, e);
}

static int do_io(SOCKET s, const struct io *a, LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	int rc;
	if (!a->ov) {
		/* Not overlapped. (Overlapped requests are this layer's own below, in both
		 * variants: passed through, an IFS request's completion would reach the client
		 * from the lower provider unchecked, even when this layer's final WSPCleanup
		 * closes the lower socket, and the lower module could be unloaded while an APC of
		 * its own is still queued.) */
		rc = lower_io(k, a, a->count, a->flags, a->ov, a->routine, a->tid, lpErrno);
		if (F_WHOLE_RECEIVE && rc == 0 && a->count &&
		    (a->kind == IO_RECV || a->kind == IO_RECVFROM)) {
			/* The bug: one lower receive is taken to have filled the client's buffers. */
			DWORD total = 0;
			for (DWORD i = 0; i < a->nbufs; i++)
				total += a->bufs[i].len;
			*a->count = total;
		}
	} else {
		rc = start_op(k, a, lpErrno);
	}
	release(k);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPCleanup                                                                                   */

/* Gate held, final cleanup: as many lower cleanups as lower startups succeeded. */
static void lowers_cleanup(void)
{
	for (size_t i = 0; i < LSP_MAX_LOWERS; i++) {
		struct lower *lp = &g.lowers[i];
		for (; lp->used && lp->startups > 0; lp->startups--) {
			int e = 0;
			if (lp->procs.lpWSPCleanup)
				lp->procs.lpWSPCleanup(&e);
		}
	}
}

static int WSPAPI lsp_Cleanup(LPINT lpErrno)
{
	gate_enter();
	pv_lock();
	if (g.startups <= 0) {
		pv_unlock();
		gate_leave();
		return fail(lpErrno, WSANOTINITIALISED);
	}
	if (--g.startups > 0) {
		pv_unlock();
		if (F_FORWARDS_CLEANUP) {
			/* The bug: every WSPCleanup goes down, though the final one balances all the
			 * lower startups as well. */
			for (size_t i = 0; i < LSP_MAX_LOWERS; i++) {
				int e = 0;
				if (g.lowers[i].used && g.lowers[i].procs.lpWSPCleanup)
					g.lowers[i].procs.lpWSPCleanup(&e);
			}
		}
		gate_leave();
		return 0;
	}

	/* The final cleanup: from now on nothing more reaches the client. */
	g.gen++;
	struct sock *socks = g.socks;
	g.socks = NULL;
	while (g.early) {
		struct early_post *p = g.early;
		g.early = p->next;
		free(p);
	}
	size_t n_ops = 0;
	for (struct op *op = g.ops; op; op = op->next)
		n_ops++;
	struct op **ops = n_ops ? calloc(n_ops, sizeof *ops) : NULL;
	size_t j = 0;
	for (struct op *op = g.ops; op; op = op->next) {
		if (ops) {
			op->refs++; /* held across this function */
			ops[j++] = op;
		}
		if (!op->client_done) {
			/* Cancelled without notification: drop the client's share. */
			op->client_done = 1;
			op->k->pending--;
			op->refs--;
		}
		if (!op->lower_done && !op->stale) {
			op->stale = 1;
			g.stale_ops++;
		}
	}
	pv_unlock();

	/* The use-after-cleanup variant's bug: the lower providers are cleaned up first, and their
	 * sockets closed afterwards. */
	if (F_USE_AFTER_CLEANUP)
		lowers_cleanup();
	/* Every lower socket is closed, and every client handle given back, before the lower
	 * providers are cleaned up. */
	while (socks) {
		struct sock *k = socks;
		socks = k->next;
		int e = 0;
		/* The cleanup-with-sockets variant leaves them to the lower provider's cleanup. */
		if (!F_CLEANUP_WITH_SOCKETS && k->lp->procs.lpWSPCloseSocket)
			k->lp->procs.lpWSPCloseSocket(k->lower, &e);
		pv_lock();
		k->closed = 1;
		int rel = !LSP_IFS && !k->handle_released;
		k->handle_released = 1;
		pv_unlock();
		if (rel)
			up()->lpWPUCloseSocketHandle(k->upper, &e);
		pv_lock();
		sock_unref_locked(k); /* the list's reference */
		pv_unlock();
	}
	/* Threads this layer opened: closed after the lower closes have queued their APCs. */
	for (size_t i = 0; i < j; i++) {
		struct op *op = ops[i];
		int e = 0;
		pv_lock();
		int close_thread = op->own_thread && !op->thread_closed;
		op->thread_closed = 1;
		pv_unlock();
		if (close_thread)
			up()->lpWPUCloseThread(&op->tid, &e);
		op_release(op);
	}
	free(ops);

	/* Client calls still in progress were started before this cleanup: the lower closes
	 * above end any that block below, and none of them may find the lower providers
	 * cleaned up, or their modules gone, when it calls down or returns. */
	int drained = calls_drained();
	if (!F_USE_AFTER_CLEANUP)
		lowers_cleanup();
	/* The cleanup-with-sockets variant left its lower sockets open, so the lower providers'
	 * final cleanups cancelled the operations on them without notification
	 * (SPI.Cleanup.Silent): no completion will come for those, and their share is released
	 * here (its one fault is the order, not a leak). Operations on sockets this layer closed may
	 * still complete late, below, and keep their share. */
	while (F_CLEANUP_WITH_SOCKETS) {
		struct op *st = NULL;
		pv_lock();
		for (struct op *op = g.ops; op && !st; op = op->next)
			if (op->stale && !op->lower_done)
				st = op;
		if (st) {
			st->stale = 0;
			st->lower_done = 1;
			g.stale_ops--;
		}
		pv_unlock();
		if (!st)
			break;
		op_release(st);
	}
	pv_lock();
	/* A lower provider may still run this layer's completion routine for an operation it
	 * completed during the cleanup: such a module stays loaded until that has happened. */
	int park = g.stale_ops > 0 || !drained;
	HMODULE mods[LSP_MAX_LOWERS];
	size_t n_mods = 0;
	for (size_t i = 0; i < LSP_MAX_LOWERS; i++) {
		if (!g.lowers[i].used)
			continue;
		if (park && g.n_parked < LSP_MAX_PARKED)
			g.parked[g.n_parked++] = g.lowers[i].mod;
		else if (!park)
			mods[n_mods++] = g.lowers[i].mod;
	}
	memset(g.lowers, 0, sizeof g.lowers);
	memset(g.binds, 0, sizeof g.binds);
	g.deflt = NULL;
	pv_unlock();
	for (size_t i = 0; i < n_mods; i++)
		FreeLibrary(mods[i]);
	unpark();
	gate_leave();
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Sockets                                                                                      */

static SOCKET WSPAPI lsp_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                GROUP grp, DWORD dwFlags, LPINT lpErrno)
{
	struct binding *b;
	int e = binding_for(lpProtocolInfo, &b);
	if (e)
		return fail_socket(lpErrno, e == WSANOTINITIALISED ? e : WSAENETDOWN);
	const WSPPROC_TABLE *t = &b->lp->procs;
	if (!t->lpWSPSocket)
		return fail_socket(lpErrno, WSAENETDOWN);
	SOCKET lower = t->lpWSPSocket(af, type, protocol, (LPWSAPROTOCOL_INFOW)down_info(b), grp,
	                              dwFlags, lpErrno);
	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET;
	struct sock *k = sock_new(b->lp, b, lower);
	e = k ? make_upper(k, b->own.dwCatalogEntryId) : WSAENOBUFS;
	if (e) {
		int e2 = 0;
		if (t->lpWSPCloseSocket)
			t->lpWSPCloseSocket(lower, &e2);
		free(k);
		return fail_socket(lpErrno, e);
	}
	if (F_LEAKS_LOWER_HANDLE)
		k->returned = lower; /* the bug: the client gets the lower provider's handle */
	pv_lock();
	k->next = g.socks;
	g.socks = k;
	SOCKET r = k->returned;
	pv_unlock();
	return r;
}

static SOCKET WSPAPI lsp_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                                LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                                LPINT lpErrno)
{
	int err;
	struct sock *l = acquire(s, &err);
	if (!l)
		return fail_socket(lpErrno, err);
	const WSPPROC_TABLE *t = &l->lp->procs;
	unsigned li = lower_index(l->lp);
	pv_lock();
	g.accepting++;
	pv_unlock();
	SOCKET lower = t->lpWSPAccept ? t->lpWSPAccept(l->lower, addr, addrlen, lpfnCondition,
	                                               dwCallbackData, lpErrno)
	                              : fail_socket(lpErrno, WSAEOPNOTSUPP);
	struct sock *k = NULL;
	err = 0;
	if (lower != INVALID_SOCKET) {
		k = sock_new(l->lp, l->b, lower);
		err = k ? make_upper(k, l->b->own.dwCatalogEntryId) : WSAENOBUFS;
		if (err) {
			int e2 = 0;
			if (t->lpWSPCloseSocket)
				t->lpWSPCloseSocket(lower, &e2);
			free(k);
			k = NULL;
		}
	}
	/* Messages the lower provider posted for the new socket before it had a client handle. */
	struct early_post *mine = NULL;
	pv_lock();
	if (k) {
		/* The accepted socket has the listener's properties, its WSPAsyncSelect too. */
		k->as_hwnd = l->as_hwnd;
		k->as_msg = l->as_msg;
		k->as_events = l->as_events;
		k->next = g.socks;
		g.socks = k;
		for (struct early_post **pp = &g.early; *pp;) {
			struct early_post *p = *pp;
			if (p->li == li && p->lower == lower) {
				*pp = p->next;
				p->next = mine;
				mine = p;
			} else {
				pp = &p->next;
			}
		}
	}
	if (--g.accepting == 0) {
		while (g.early) {
			struct early_post *p = g.early;
			g.early = p->next;
			free(p);
		}
	}
	HWND hwnd = k ? k->as_hwnd : NULL;
	unsigned msg = k ? k->as_msg : 0;
	SOCKET upper = k ? k->upper : INVALID_SOCKET;
	pv_unlock();
	/* They were pushed in reverse: deliver oldest first. */
	struct early_post *rev = NULL;
	while (mine) {
		struct early_post *p = mine;
		mine = p->next;
		p->next = rev;
		rev = p;
	}
	while (rev) {
		struct early_post *p = rev;
		rev = p->next;
		if (hwnd)
			post_to_client(hwnd, msg, upper, p->lparam);
		free(p);
	}
	release(l);
	if (lower == INVALID_SOCKET)
		return INVALID_SOCKET; /* the lower provider set *lpErrno */
	if (!k)
		return fail_socket(lpErrno, err);
	return upper;
}

static SOCKET WSPAPI lsp_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen,
                                  LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                  LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno)
{
	int err;
	struct sock *l = acquire(s, &err);
	if (!l)
		return fail_socket(lpErrno, err);
	const WSPPROC_TABLE *t = &l->lp->procs;
	if (!t->lpWSPJoinLeaf) {
		release(l);
		return fail_socket(lpErrno, WSAEOPNOTSUPP);
	}
	SOCKET lower = t->lpWSPJoinLeaf(l->lower, name, namelen, lpCallerData, lpCalleeData, lpSQOS,
	                                lpGQOS, dwFlags, lpErrno);
	if (lower == INVALID_SOCKET || lower == l->lower) {
		release(l);
		return lower == INVALID_SOCKET ? INVALID_SOCKET : s;
	}
	/* A new socket (a c_root joining a leaf): wrapped like an accepted one. */
	struct sock *k = sock_new(l->lp, l->b, lower);
	err = k ? make_upper(k, l->b->own.dwCatalogEntryId) : WSAENOBUFS;
	if (err) {
		int e2 = 0;
		if (t->lpWSPCloseSocket)
			t->lpWSPCloseSocket(lower, &e2);
		free(k);
		release(l);
		return fail_socket(lpErrno, err);
	}
	pv_lock();
	k->next = g.socks;
	g.socks = k;
	SOCKET upper = k->upper;
	pv_unlock();
	release(l);
	return upper;
}

/* The outcome of an operation still pending when its socket is closed. */
struct close_result {
	struct op *op;
	int tell;
	DWORD err, bytes, flags;
};

/*
 * Operations still pending at WSPCloseSocket complete to the client before the close returns, and
 * so before the client's handle is released: with the lower provider's result if it already has
 * one (asked before the lower close), otherwise with WSA_OPERATION_ABORTED. The lower provider's
 * own completions for them, which come later, then only release them.
 */
static int WSPAPI lsp_CloseSocket(SOCKET s, LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	const WSPPROC_TABLE *t = &k->lp->procs;
	if (!t->lpWSPCloseSocket) {
		release(k);
		return fail(lpErrno, WSAEOPNOTSUPP);
	}
	size_t n = 0;
	pv_lock();
	if (k->closing) { /* another thread's close of it is under way */
		pv_unlock();
		release(k);
		return fail(lpErrno, WSAENOTSOCK);
	}
	k->closing = 1;
	for (struct op *o = g.ops; o; o = o->next)
		n += o->k == k && !o->client_done;
	struct close_result *res = n ? calloc(n, sizeof *res) : NULL;
	size_t j = 0;
	for (struct op *o = g.ops; o && res; o = o->next) {
		if (o->k == k && !o->client_done) {
			o->refs++; /* held across this function */
			res[j++].op = o;
		}
	}
	pv_unlock();
	for (size_t i = 0; i < j; i++) {
		DWORD cb = 0, fl = 0;
		int e = WSA_IO_INCOMPLETE;
		BOOL done = t->lpWSPGetOverlappedResult &&
		            t->lpWSPGetOverlappedResult(k->lower, &res[i].op->lov, &cb, FALSE, &fl,
		                                        &e);
		if (!done && e == WSA_IO_INCOMPLETE) {
			res[i].err = WSA_OPERATION_ABORTED;
		} else {
			res[i].err = done ? 0 : (DWORD)e;
			res[i].bytes = cb;
			res[i].flags = fl;
		}
	}

	/* The leaking variant's bug: the lower socket is never closed. */
	int rc = F_LEAKS_LOWER_SOCKET ? 0 : t->lpWSPCloseSocket(k->lower, lpErrno);
	if (F_USE_AFTER_CLOSE && rc == 0) {
		int e3 = 0; /* the bug: the lower handle is used (closed) again after its close */
		t->lpWSPCloseSocket(k->lower, &e3);
	}
	pv_lock();
	if (rc == 0 && !k->closed) {
		k->closed = 1;
		sock_unlink_locked(k);
		k->refs--; /* the list's reference (ours keeps it alive) */
		for (size_t i = 0; i < j; i++) {
			struct op *o = res[i].op;
			res[i].tell = !o->client_done;
			o->client_done = 1;
		}
	}
	pv_unlock();
	for (size_t i = 0; i < j; i++) {
		if (res[i].tell)
			deliver(res[i].op, res[i].err, res[i].bytes, res[i].flags);
		op_release(res[i].op);
	}
	free(res);
	if (rc != 0) {
		pv_lock();
		k->closing = 0;
		pv_unlock();
		release(k); /* e.g. WSAEWOULDBLOCK with a linger: the socket stays valid */
		return rc;
	}
	pv_lock();
	int rel = take_handle_release_locked(k);
	pv_unlock();
	int e = 0;
	if (rel)
		up()->lpWPUCloseSocketHandle(k->upper, &e);
	release(k);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Calls that only need the lower handle                                                        */

/* Declares `k` (a held socket) and `t` (its lower table) or returns the failure. */
#define ENTER(s, fail_fn)                                                                          \
	int err_;                                                                                  \
	struct sock *k = acquire((s), &err_);                                                      \
	if (!k)                                                                                    \
		return fail_fn(lpErrno, err_);                                                     \
	const WSPPROC_TABLE *t = &k->lp->procs

#define LOWER(entry, fail_fn, ...)                                                                 \
	do {                                                                                       \
		if (!t->entry) {                                                                   \
			release(k);                                                                \
			return fail_fn(lpErrno, WSAEOPNOTSUPP);                                    \
		}                                                                                  \
		rv_ = t->entry(__VA_ARGS__);                                                       \
		release(k);                                                                        \
	} while (0)

static int WSPAPI lsp_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPBind, fail, k->lower, name, namelen, lpErrno);
	return rv_;
}

static int WSPAPI lsp_Listen(SOCKET s, int backlog, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPListen, fail, k->lower, backlog, lpErrno);
	return rv_;
}

static int WSPAPI lsp_Connect(SOCKET s, const struct sockaddr *name, int namelen,
                              LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                              LPQOS lpGQOS, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPConnect, fail, k->lower, name, namelen, lpCallerData, lpCalleeData, lpSQOS,
	      lpGQOS, lpErrno);
	return rv_;
}

static int WSPAPI lsp_Shutdown(SOCKET s, int how, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPShutdown, fail, k->lower, how, lpErrno);
	return rv_;
}

static int WSPAPI lsp_GetSockName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	/* The upper-handle-down variant's bug: the client's handle is passed to the lower provider. */
	LOWER(lpWSPGetSockName, fail, F_UPPER_HANDLE_DOWN ? s : k->lower, name, namelen, lpErrno);
	return rv_;
}

static int WSPAPI lsp_GetPeerName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPGetPeerName, fail, k->lower, name, namelen, lpErrno);
	return rv_;
}

static int WSPAPI lsp_GetSockOpt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                                 LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	const WSPPROC_TABLE *t = &k->lp->procs;
	int rc = t->lpWSPGetSockOpt
	             ? t->lpWSPGetSockOpt(k->lower, level, optname, optval, optlen, lpErrno)
	             : fail(lpErrno, WSAEOPNOTSUPP);
	if (rc == 0 && level == SOL_SOCKET && optname == SO_PROTOCOL_INFOW && optval && optlen &&
	    *optlen >= (int)sizeof(WSAPROTOCOL_INFOW)) {
		/* The client's socket belongs to this layer's entry, not to the one below. */
		memcpy(optval, &k->b->own, sizeof(WSAPROTOCOL_INFOW));
	}
	release(k);
	return rc;
}

static int WSPAPI lsp_SetSockOpt(SOCKET s, int level, int optname, const char *optval, int optlen,
                                 LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPSetSockOpt, fail, k->lower, level, optname, optval, optlen, lpErrno);
	return rv_;
}

static int WSPAPI lsp_RecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPRecvDisconnect, fail, k->lower, lpInboundDisconnectData, lpErrno);
	return rv_;
}

static int WSPAPI lsp_SendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPSendDisconnect, fail, k->lower, lpOutboundDisconnectData, lpErrno);
	return rv_;
}

static int WSPAPI lsp_EnumNetworkEvents(SOCKET s, WSAEVENT hEventObject,
                                        LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno)
{
	int rv_;
	ENTER(s, fail);
	LOWER(lpWSPEnumNetworkEvents, fail, k->lower, hEventObject, lpNetworkEvents, lpErrno);
	return rv_;
}

static BOOL WSPAPI lsp_GetQOSByName(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno)
{
	BOOL rv_;
	ENTER(s, fail_bool);
	LOWER(lpWSPGetQOSByName, fail_bool, k->lower, lpQOSName, lpQOS, lpErrno);
	return rv_;
}

static int WSPAPI lsp_DuplicateSocket(SOCKET s, DWORD dwProcessId,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	const WSPPROC_TABLE *t = &k->lp->procs;
	int rc = t->lpWSPDuplicateSocket
	             ? t->lpWSPDuplicateSocket(k->lower, dwProcessId, lpProtocolInfo, lpErrno)
	             : fail(lpErrno, WSAEOPNOTSUPP);
	if (rc == 0 && lpProtocolInfo) {
		/* The duplicate is to be recreated through this layer's entry. */
		lpProtocolInfo->ProviderId = k->b->own.ProviderId;
		lpProtocolInfo->dwCatalogEntryId = k->b->own.dwCatalogEntryId;
		lpProtocolInfo->ProtocolChain = k->b->own.ProtocolChain;
		lpProtocolInfo->dwServiceFlags1 = k->b->own.dwServiceFlags1;
	}
	release(k);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Event selection                                                                              */

static int WSPAPI lsp_EventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                  LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	const WSPPROC_TABLE *t = &k->lp->procs;
	pv_lock();
	HWND old_hwnd = k->as_hwnd;
	unsigned old_msg = k->as_msg;
	LONG old_events = k->as_events;
	k->as_hwnd = NULL; /* WSPEventSelect cancels any WSPAsyncSelect */
	k->as_events = 0;
	pv_unlock();
	int rc = t->lpWSPEventSelect
	             ? t->lpWSPEventSelect(k->lower, hEventObject, lNetworkEvents, lpErrno)
	             : fail(lpErrno, WSAEOPNOTSUPP);
	if (rc != 0) {
		pv_lock();
		k->as_hwnd = old_hwnd;
		k->as_msg = old_msg;
		k->as_events = old_events;
		pv_unlock();
	}
	release(k);
	return rc;
}

static int WSPAPI lsp_AsyncSelect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent,
                                  LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail(lpErrno, err);
	if (lEvent && !hWnd) {
		release(k);
		return fail(lpErrno, WSAEINVAL);
	}
	const WSPPROC_TABLE *t = &k->lp->procs;
	/* Registered before the lower call: it may post (FD_WRITE) before it returns. */
	pv_lock();
	HWND old_hwnd = k->as_hwnd;
	unsigned old_msg = k->as_msg;
	LONG old_events = k->as_events;
	k->as_hwnd = lEvent ? hWnd : NULL;
	k->as_msg = wMsg;
	k->as_events = lEvent;
	pv_unlock();
	int rc = t->lpWSPAsyncSelect
	             ? t->lpWSPAsyncSelect(k->lower, private_hwnd(k->lp), wMsg, lEvent, lpErrno)
	             : fail(lpErrno, WSAEOPNOTSUPP);
	if (rc != 0) {
		pv_lock();
		k->as_hwnd = old_hwnd;
		k->as_msg = old_msg;
		k->as_events = old_events;
		pv_unlock();
	}
	release(k);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* WSPSelect: client handles -> lower handles -> lower WSPSelect -> WPUFDIsSet -> client handles */

static int WSPAPI lsp_Select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                             const PTIMEVAL timeout, LPINT lpErrno)
{
	fd_set *sets[3] = {readfds, writefds, exceptfds};
	fd_set *low[3] = {NULL, NULL, NULL};
	struct sock **ks[3] = {NULL, NULL, NULL};
	u_int counts[3] = {0, 0, 0};
	struct lower *lp = NULL;
	int rc = SOCKET_ERROR, err = 0;
	pv_lock();
	int up_ok = g.startups > 0;
	if (g.deflt)
		lp = g.deflt->lp;
	pv_unlock();
	if (!up_ok)
		return fail(lpErrno, WSANOTINITIALISED);
	for (int i = 0; i < 3 && !err; i++) {
		if (!sets[i])
			continue;
		counts[i] = sets[i]->fd_count > FD_SETSIZE ? FD_SETSIZE : sets[i]->fd_count;
		low[i] = calloc(1, sizeof(fd_set));
		ks[i] = calloc(counts[i] ? counts[i] : 1, sizeof *ks[i]);
		if (!low[i] || !ks[i]) {
			err = WSAENOBUFS;
			break;
		}
	}
	int first = 1;
	for (int i = 0; i < 3 && !err; i++) {
		for (u_int j = 0; j < counts[i] && !err; j++) {
			struct sock *k = acquire(sets[i]->fd_array[j], &err);
			if (!k)
				break;
			ks[i][j] = k;
			if (first)
				lp = k->lp;
			else if (k->lp != lp)
				err = WSAEINVAL; /* one select cannot span two lower providers */
			first = 0;
			/* Each lower socket once, even if the client named it twice. */
			u_int m = 0;
			while (m < low[i]->fd_count && low[i]->fd_array[m] != k->lower)
				m++;
			if (m == low[i]->fd_count)
				low[i]->fd_array[low[i]->fd_count++] = k->lower;
		}
	}
	if (!err && (!lp || !lp->procs.lpWSPSelect))
		err = WSAEINVAL;
	if (!err) {
		rc = lp->procs.lpWSPSelect(nfds, low[0], low[1], low[2], timeout, lpErrno);
		if (rc != SOCKET_ERROR) {
			rc = 0;
			for (int i = 0; i < 3; i++) {
				if (!sets[i])
					continue;
				/* In place, each client socket once: the output never runs ahead of
				 * the input it is read from. */
				u_int out = 0;
				for (u_int j = 0; j < counts[i]; j++) {
					SOCKET c = sets[i]->fd_array[j];
					u_int m = 0;
					while (m < out && sets[i]->fd_array[m] != c)
						m++;
					if (m == out && up()->lpWPUFDIsSet(ks[i][j]->lower, low[i]))
						sets[i]->fd_array[out++] = c;
				}
				sets[i]->fd_count = out;
				rc += (int)out;
			}
		}
	}
	for (int i = 0; i < 3; i++) {
		for (u_int j = 0; ks[i] && j < counts[i]; j++)
			if (ks[i][j])
				release(ks[i][j]);
		free(ks[i]);
		free(low[i]);
	}
	if (err)
		return fail(lpErrno, err);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Data transfer                                                                                */

static int WSPAPI lsp_Send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                           LPDWORD lpNumberOfBytesSent, DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a;
	memset(&a, 0, sizeof a);
	a.kind = IO_SEND;
	a.bufs = lpBuffers;
	a.nbufs = dwBufferCount;
	a.count = lpNumberOfBytesSent;
	a.send_flags = dwFlags;
	a.ov = lpOverlapped;
	a.routine = lpCompletionRoutine;
	a.tid = lpThreadId;
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_SendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                             LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                             const struct sockaddr *lpTo, int iTolen, LPWSAOVERLAPPED lpOverlapped,
                             LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                             LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a;
	memset(&a, 0, sizeof a);
	a.kind = IO_SENDTO;
	a.bufs = lpBuffers;
	a.nbufs = dwBufferCount;
	a.count = lpNumberOfBytesSent;
	a.send_flags = dwFlags;
	a.to = lpTo;
	a.tolen = iTolen;
	a.ov = lpOverlapped;
	a.routine = lpCompletionRoutine;
	a.tid = lpThreadId;
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_Recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                           LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                           LPWSAOVERLAPPED lpOverlapped,
                           LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                           LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a;
	memset(&a, 0, sizeof a);
	a.kind = IO_RECV;
	a.bufs = lpBuffers;
	a.nbufs = dwBufferCount;
	a.count = lpNumberOfBytesRecvd;
	a.flags = lpFlags;
	a.ov = lpOverlapped;
	a.routine = lpCompletionRoutine;
	a.tid = lpThreadId;
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_RecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                               LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                               struct sockaddr *lpFrom, LPINT lpFromlen,
                               LPWSAOVERLAPPED lpOverlapped,
                               LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                               LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a;
	memset(&a, 0, sizeof a);
	a.kind = IO_RECVFROM;
	a.bufs = lpBuffers;
	a.nbufs = dwBufferCount;
	a.count = lpNumberOfBytesRecvd;
	a.flags = lpFlags;
	a.from = lpFrom;
	a.fromlen = lpFromlen;
	a.ov = lpOverlapped;
	a.routine = lpCompletionRoutine;
	a.tid = lpThreadId;
	return do_io(s, &a, lpErrno);
}

static int WSPAPI lsp_Ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                            LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                            LPWSAOVERLAPPED lpOverlapped,
                            LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                            LPWSATHREADID lpThreadId, LPINT lpErrno)
{
	struct io a;
	memset(&a, 0, sizeof a);
	a.kind = IO_IOCTL;
	a.code = dwIoControlCode;
	a.in = lpvInBuffer;
	a.cbin = cbInBuffer;
	a.out = lpvOutBuffer;
	a.cbout = cbOutBuffer;
	a.count = lpcbBytesReturned;
	a.ov = lpOverlapped;
	a.routine = lpCompletionRoutine;
	a.tid = lpThreadId;
	return do_io(s, &a, lpErrno);
}

static BOOL WSPAPI lsp_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                           LPDWORD lpcbTransfer, BOOL fWait, LPDWORD lpdwFlags,
                                           LPINT lpErrno)
{
	int err;
	struct sock *k = acquire(s, &err);
	if (!k)
		return fail_bool(lpErrno, err);
	if (!lpOverlapped || !lpcbTransfer || !lpdwFlags) {
		release(k);
		return fail_bool(lpErrno, WSAEFAULT);
	}
	const WSPPROC_TABLE *t = &k->lp->procs;
	struct op *op = NULL;
	pv_lock();
	for (struct op *o = g.ops; o && !op; o = o->next)
		if (o->k == k && o->cov == lpOverlapped && !o->client_done) {
			op = o;
			op->refs++;
		}
	pv_unlock();
	BOOL r;
	if (op) {
		/* Not yet told to the client: the lower provider knows (and can wait). */
		int e = WSAEOPNOTSUPP;
		DWORD cb = 0, fl = 0;
		r = t->lpWSPGetOverlappedResult &&
		    t->lpWSPGetOverlappedResult(k->lower, &op->lov, &cb, fWait, &fl, &e);
		if (r || e != WSA_IO_INCOMPLETE) {
			/* Completed: the client is told now, before it takes the result (and may
			 * reuse its WSAOVERLAPPED); the lower completion then only releases it. */
			pv_lock();
			int tell = !op->client_done;
			op->client_done = 1;
			pv_unlock();
			if (tell)
				deliver(op, r ? 0 : (DWORD)e, cb, fl);
		}
		op_release(op);
		*lpcbTransfer = cb;
		*lpdwFlags = fl;
		if (!r)
			fail(lpErrno, e);
	} else if (lpOverlapped->Internal == WSS_OPERATION_IN_PROGRESS) {
		r = fail_bool(lpErrno, WSA_IO_INCOMPLETE); /* not an operation of this layer's */
	} else {
		/* Completed: the result is in the client's structure. */
		*lpcbTransfer = (DWORD)lpOverlapped->InternalHigh;
		*lpdwFlags = lpOverlapped->Offset;
		DWORD e = lpOverlapped->OffsetHigh;
		r = e ? fail_bool(lpErrno, (int)e) : TRUE;
	}
	release(k);
	return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Calls without a socket                                                                       */

static int WSPAPI lsp_CancelBlockingCall(LPINT lpErrno)
{
	struct binding *b;
	int e = binding_for(NULL, &b);
	if (e)
		return fail(lpErrno, e);
	if (!b->lp->procs.lpWSPCancelBlockingCall)
		return fail(lpErrno, WSAEOPNOTSUPP);
	return b->lp->procs.lpWSPCancelBlockingCall(lpErrno);
}

static INT WSPAPI lsp_AddressToString(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                                      LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
	struct binding *b;
	int e = binding_for(lpProtocolInfo, &b);
	if (e)
		return fail(lpErrno, e == WSANOTINITIALISED ? e : WSAEINVAL);
	if (!b->lp->procs.lpWSPAddressToString)
		return fail(lpErrno, WSAEOPNOTSUPP);
	return b->lp->procs.lpWSPAddressToString(
	    lpsaAddress, dwAddressLength, (LPWSAPROTOCOL_INFOW)down_info(b), lpszAddressString,
	    lpdwAddressStringLength, lpErrno);
}

static INT WSPAPI lsp_StringToAddress(LPWSTR AddressString, INT AddressFamily,
                                      LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                                      LPINT lpAddressLength, LPINT lpErrno)
{
	struct binding *b;
	int e = binding_for(lpProtocolInfo, &b);
	if (e)
		return fail(lpErrno, e == WSANOTINITIALISED ? e : WSAEINVAL);
	if (!b->lp->procs.lpWSPStringToAddress)
		return fail(lpErrno, WSAEOPNOTSUPP);
	return b->lp->procs.lpWSPStringToAddress(AddressString, AddressFamily,
	                                         (LPWSAPROTOCOL_INFOW)down_info(b), lpAddress,
	                                         lpAddressLength, lpErrno);
}

/* ------------------------------------------------------------------------------------------ */
/* WSPStartup: the only export                                                                  */

static WORD version_min(WORD a, WORD b)
{
	if (LOBYTE(a) != LOBYTE(b))
		return LOBYTE(a) < LOBYTE(b) ? a : b;
	return HIBYTE(a) <= HIBYTE(b) ? a : b;
}

static void fill_proc_table(LPWSPPROC_TABLE t, const struct lower *lp)
{
	/* IFS: a copy of the lower table with the entries overridden that must translate the
	 * handle (the client's handle is the one WPUModifyIFSHandle returned), substitute the
	 * protocol information, or check this layer's own startup count; that is all of them. */
	if (LSP_IFS)
		*t = lp->procs;
	else
		memset(t, 0, sizeof *t);
	t->lpWSPAccept = lsp_Accept;
	t->lpWSPAddressToString = lsp_AddressToString;
	t->lpWSPAsyncSelect = lsp_AsyncSelect;
	t->lpWSPBind = lsp_Bind;
	t->lpWSPCancelBlockingCall = lsp_CancelBlockingCall;
	t->lpWSPCleanup = lsp_Cleanup;
	t->lpWSPCloseSocket = lsp_CloseSocket;
	t->lpWSPConnect = lsp_Connect;
	t->lpWSPDuplicateSocket = lsp_DuplicateSocket;
	t->lpWSPEnumNetworkEvents = lsp_EnumNetworkEvents;
	t->lpWSPEventSelect = lsp_EventSelect;
	t->lpWSPGetOverlappedResult = lsp_GetOverlappedResult;
	t->lpWSPGetPeerName = lsp_GetPeerName;
	t->lpWSPGetSockName = lsp_GetSockName;
	t->lpWSPGetSockOpt = lsp_GetSockOpt;
	t->lpWSPGetQOSByName = lsp_GetQOSByName;
	t->lpWSPIoctl = lsp_Ioctl;
	t->lpWSPJoinLeaf = lsp_JoinLeaf;
	t->lpWSPListen = lsp_Listen;
	t->lpWSPRecv = lsp_Recv;
	t->lpWSPRecvDisconnect = lsp_RecvDisconnect;
	t->lpWSPRecvFrom = lsp_RecvFrom;
	t->lpWSPSelect = lsp_Select;
	t->lpWSPSend = lsp_Send;
	t->lpWSPSendDisconnect = lsp_SendDisconnect;
	t->lpWSPSendTo = lsp_SendTo;
	t->lpWSPSetSockOpt = lsp_SetSockOpt;
	t->lpWSPShutdown = lsp_Shutdown;
	t->lpWSPSocket = lsp_Socket;
	t->lpWSPStringToAddress = lsp_StringToAddress;
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
	/* A copy, and the most recent one wins (for the lower provider's upcalls as well). */
	const WSPUPCALLTABLE *prev = up();
	WSPUPCALLTABLE *slot = &g_up_slot[g_up_next++ % LSP_UP_SLOTS];
	*slot = UpcallTable;
	atomic_store_explicit(&g_up, slot, memory_order_release);

	pv_lock();
	int first = g.startups == 0;
	pv_unlock();
	int rc = 0;
	if (first) {
		unpark();
	} else {
		/* The lower providers get the new table too: one more startup each (all of them
		 * are balanced by the final WSPCleanup, none earlier). */
		for (size_t i = 0; i < LSP_MAX_LOWERS && !rc; i++)
			if (g.lowers[i].used && g.lowers[i].startups > 0)
				rc = lower_start(&g.lowers[i]);
	}
	struct binding *b = NULL;
	if (!rc)
		rc = resolve_binding(lpProtocolInfo, &b);
	if (rc) {
		if (prev)
			atomic_store_explicit(&g_up, prev, memory_order_release);
		gate_leave();
		return rc;
	}
	pv_lock();
	if (!g.deflt)
		g.deflt = b;
	g.startups++;
	pv_unlock();
	gate_leave();

	lpWSPData->wHighVersion = high;
	lpWSPData->wVersion = version_min(wVersionRequested, high);
	static const char desc[] = LSP_DESCRIPTION;
	memset(lpWSPData->szDescription, 0, sizeof lpWSPData->szDescription);
	for (size_t i = 0; i < sizeof desc - 1 && i < WSPDESCRIPTION_LEN; i++)
		lpWSPData->szDescription[i] = (WCHAR)(unsigned char)desc[i];
	fill_proc_table(lpProcTable, b->lp);
	return 0;
}
