/* The instrumented upcall table: ws2_32's WPU functions, recorded, and stricter than ws2_32. */
#include "upcalls.h"

#include "catalog.h"
#include "platform/platform.h"

#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER)
#include <intrin.h>
#define RETURN_ADDRESS() _ReturnAddress()
#else
#define RETURN_ADDRESS() __builtin_return_address(0)
#endif

/* Handle values the harness issues: never reused within a scenario, never 0, and never equal
 * to a value the provider proposed or registered as a context. */
#define HANDLE_BASE ((SOCKET)0x3c000000u)
#define HANDLE_STEP 4
#define THREAD_TOKEN_BASE ((uintptr_t)0x7a000000u)
#define BOGUS_HANDLE ((SOCKET)0x0badbad0u)
#define MAX_STARTUPS 64

enum handle_how { H_CREATED, H_MODIFIED };

struct handle {
	SOCKET value;
	enum handle_how how;
	DWORD_PTR context;
	SOCKET proposed;
	int open;
};

struct apc {
	unsigned long thread;
	LPWSAUSERAPC fn;
	DWORD_PTR context;
};

struct thread_token {
	uintptr_t token;
	unsigned long thread;
	int open;
};

static struct state {
	struct wsph_mutex *lock;
	struct wsph_trace *trace;
	struct wsph_upcall_config cfg;
	struct handle *handles;
	size_t n_handles, cap_handles;
	SOCKET next_handle;
	uint64_t *avoid; /* values the provider proposed or used as contexts */
	size_t n_avoid, cap_avoid;
	unsigned calls[WSPH_FN_COUNT];
	void **events;
	size_t n_events, cap_events;
	struct apc *apcs;
	size_t n_apcs, cap_apcs;
	struct thread_token *tokens;
	size_t n_tokens, cap_tokens;
	WSPUPCALLTABLE *buffers[MAX_STARTUPS];
	size_t n_buffers;
	int startups;	   /* outstanding successful WSPStartups */
	int current_table; /* table of the most recent successful WSPStartup */
	/* the WSP calls in progress on the driver thread, innermost last */
	unsigned long driver_thread;
	uint64_t calls_in_progress[16];
	int depth;
	int step;
} S;

/* The window the harness registers in WSPAsyncSelect; messages for it are recorded. */
static char fake_window;

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

static void avoid_value(uint64_t v)
{
	if (grow((void **)&S.avoid, &S.cap_avoid, S.n_avoid, sizeof *S.avoid) == 0)
		S.avoid[S.n_avoid++] = v;
}

static int avoided(uint64_t v)
{
	for (size_t i = 0; i < S.n_avoid; i++)
		if (S.avoid[i] == v)
			return 1;
	return 0;
}

static SOCKET new_handle(void)
{
	SOCKET h;
	do {
		h = S.next_handle;
		S.next_handle += HANDLE_STEP;
	} while (avoided((uint64_t)h));
	return h;
}

static struct handle *find_handle(SOCKET s)
{
	/* Newest first: a value is never reissued, but a provider may propose one twice. */
	for (size_t i = S.n_handles; i-- > 0;)
		if (S.handles[i].value == s)
			return &S.handles[i];
	return NULL;
}

static struct handle *add_handle(SOCKET v, enum handle_how how, DWORD_PTR ctx, SOCKET proposed)
{
	if (grow((void **)&S.handles, &S.cap_handles, S.n_handles, sizeof *S.handles) != 0)
		return NULL;
	struct handle *h = &S.handles[S.n_handles++];
	h->value = v;
	h->how = how;
	h->context = ctx;
	h->proposed = proposed;
	h->open = 1;
	return h;
}

static int event_index(void *ev)
{
	for (size_t i = 0; i < S.n_events; i++)
		if (S.events[i] == ev)
			return (int)i;
	return -1;
}

static struct thread_token *find_token(uintptr_t token)
{
	for (size_t i = 0; i < S.n_tokens; i++)
		if (S.tokens[i].token == token)
			return &S.tokens[i];
	return NULL;
}

/* Starts an upcall event; returns the injected error (0 for none). Called with S.lock held. */
static int begin(struct wsph_event *ev, enum wsph_fn fn, int table, const void *ra)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WSPH_EV_UPCALL;
	ev->fn = fn;
	ev->table = table;
	ev->current_table = S.current_table;
	ev->err = WSPH_ERRNO_UNSET;
	ev->step = S.step;
	if (wsph_plat_thread_id() == S.driver_thread && S.depth > 0)
		ev->parent = S.calls_in_progress[S.depth - 1];
	wsph_plat_module_name_at(ra, ev->module, sizeof ev->module);
	unsigned n = ++S.calls[fn];
	for (size_t i = 0; i < S.cfg.n_faults; i++)
		if (S.cfg.faults[i].upcall == (int)fn && S.cfg.faults[i].call == n) {
			ev->fault = S.cfg.faults[i].error;
			return ev->fault;
		}
	return 0;
}

static void finish(struct wsph_event *ev, int64_t ret, LPINT lpErrno, int err)
{
	ev->ret = ret;
	if (err) {
		ev->err = err;
		if (lpErrno)
			*lpErrno = err;
	}
	if (S.trace)
		wsph_trace_append(S.trace, ev);
}

/* ---- the fifteen upcalls, parameterised by the table they came through ---- */

static BOOL close_event(int table, const void *ra, WSAEVENT hEvent, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCLOSEEVENT, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)hEvent;
	int idx = event_index(hEvent);
	BOOL ok = FALSE;
	int err = 0;
	if (fault)
		err = fault;
	else if (idx < 0)
		err = WSA_INVALID_HANDLE;
	else {
		wsph_plat_event_free(S.events[idx]);
		S.events[idx] = S.events[--S.n_events];
		ok = TRUE;
	}
	finish(&ev, ok, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return ok;
}

static int close_socket_handle(int table, const void *ra, SOCKET s, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCLOSESOCKETHANDLE, table, ra);
	ev.a[0] = (uint64_t)s;
	struct handle *h = find_handle(s);
	int rc = SOCKET_ERROR, err = 0;
	if (fault)
		err = fault;
	else if (!h || h->how != H_CREATED || !h->open)
		err = WSAENOTSOCK;
	else {
		h->open = 0;
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static WSAEVENT create_event(int table, const void *ra, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCREATEEVENT, table, ra);
	void *e = NULL;
	int err = fault;
	if (!err) {
		e = wsph_plat_event_new();
		if (!e || grow((void **)&S.events, &S.cap_events, S.n_events, sizeof *S.events)) {
			wsph_plat_event_free(e);
			e = NULL;
			err = WSA_NOT_ENOUGH_MEMORY;
		} else {
			S.events[S.n_events++] = e;
		}
	}
	finish(&ev, (int64_t)(uintptr_t)e, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return (WSAEVENT)e;
}

static SOCKET create_socket_handle(int table, const void *ra, DWORD id, DWORD_PTR ctx,
				   LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCREATESOCKETHANDLE, table, ra);
	ev.a[0] = id;
	ev.a[1] = (uint64_t)ctx;
	avoid_value((uint64_t)ctx);
	SOCKET h = INVALID_SOCKET;
	int err = fault;
	if (!err) {
		h = new_handle();
		if (!add_handle(h, H_CREATED, ctx, 0)) {
			h = INVALID_SOCKET;
			err = WSAENOBUFS;
		}
	}
	finish(&ev, h == INVALID_SOCKET ? -1 : (int64_t)h, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return h;
}

static int fd_is_set(int table, const void *ra, SOCKET s, fd_set *set)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	begin(&ev, WSPH_FN_WPUFDISSET, table, ra);
	ev.a[0] = (uint64_t)s;
	ev.a[1] = (uint64_t)(uintptr_t)set;
	int rc = 0;
	if (set)
		for (u_int i = 0; i < set->fd_count && i < FD_SETSIZE; i++)
			if (set->fd_array[i] == s)
				rc = 1;
	finish(&ev, rc, NULL, 0);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int get_provider_path(int table, const void *ra, LPGUID id, WCHAR *path, LPINT len,
			     LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUGETPROVIDERPATH, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)id;
	ev.a[1] = len ? (uint64_t)(int64_t)*len : 0;
	int rc = wsph_catalog_path_upcall(S.cfg.catalog, id, path, len, lpErrno, fault, &ev);
	finish(&ev, rc, lpErrno, rc ? ev.err : 0);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int known_catalog_id(DWORD id)
{
	return S.cfg.catalog && wsph_catalog_by_id(S.cfg.catalog, id) != NULL;
}

static SOCKET modify_ifs_handle(int table, const void *ra, DWORD id, SOCKET proposed,
				LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUMODIFYIFSHANDLE, table, ra);
	ev.a[0] = id;
	ev.a[1] = (uint64_t)proposed;
	avoid_value((uint64_t)proposed);
	SOCKET h = INVALID_SOCKET;
	int err = fault;
	if (err)
		;
	else if (proposed == 0 || proposed == INVALID_SOCKET || !known_catalog_id(id))
		err = WSAEINVAL; /* as the older ws2_32 did for an unknown catalog id */
	else {
		h = S.cfg.modify_ifs_same ? proposed : new_handle();
		if (!add_handle(h, H_MODIFIED, 0, proposed)) {
			h = INVALID_SOCKET;
			err = WSAENOBUFS;
		}
	}
	finish(&ev, h == INVALID_SOCKET ? -1 : (int64_t)h, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return h;
}

static BOOL post_message(int table, const void *ra, HWND hWnd, UINT msg, WPARAM wp, LPARAM lp)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	begin(&ev, WSPH_FN_WPUPOSTMESSAGE, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)hWnd;
	ev.a[1] = msg;
	ev.a[2] = (uint64_t)wp;
	ev.a[3] = (uint64_t)lp;
	finish(&ev, TRUE, NULL, 0);
	wsph_mutex_unlock(S.lock);
	return TRUE;
}

static int query_blocking_callback(int table, const void *ra, DWORD id, LPBLOCKINGCALLBACK *cb,
				   PDWORD_PTR ctx, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUQUERYBLOCKINGCALLBACK, table, ra);
	ev.a[0] = id;
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (!cb || !ctx)
		err = WSAEFAULT;
	else if (!known_catalog_id(id))
		err = WSAEINVAL;
	else {
		/* ws2_32's answer for Winsock 2 clients: no blocking hook. */
		*cb = NULL;
		*ctx = 0;
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int query_socket_handle_context(int table, const void *ra, SOCKET s, PDWORD_PTR ctx,
				       LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, table, ra);
	ev.a[0] = (uint64_t)s;
	struct handle *h = find_handle(s);
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (!h || h->how != H_CREATED || !h->open)
		err = WSAENOTSOCK;
	else if (!ctx)
		err = WSAEFAULT;
	else {
		*ctx = h->context;
		ev.a[1] = (uint64_t)h->context;
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int queue_apc(int table, const void *ra, LPWSATHREADID tid, LPWSAUSERAPC fn, DWORD_PTR ctx,
		     LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUQUEUEAPC, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)tid;
	ev.a[1] = (uint64_t)(uintptr_t)fn;
	ev.a[2] = (uint64_t)ctx;
	int rc = SOCKET_ERROR, err = fault;
	struct thread_token *tok = NULL;
	if (tid) {
		ev.a[3] = (uint64_t)(uintptr_t)tid->ThreadHandle;
		tok = find_token((uintptr_t)tid->ThreadHandle);
	}
	if (err)
		;
	else if (!tid || !fn || !tok || !tok->open)
		err = WSAEFAULT; /* "does not specify a valid thread" */
	else if (grow((void **)&S.apcs, &S.cap_apcs, S.n_apcs, sizeof *S.apcs) != 0)
		err = WSA_NOT_ENOUGH_MEMORY;
	else {
		S.apcs[S.n_apcs++] = (struct apc){tok->thread, fn, ctx};
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static BOOL set_or_reset_event(int table, const void *ra, WSAEVENT h, LPINT lpErrno, int set)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, set ? WSPH_FN_WPUSETEVENT : WSPH_FN_WPURESETEVENT, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)h;
	BOOL ok = FALSE;
	int err = fault;
	if (err)
		;
	else if (event_index(h) < 0)
		err = WSA_INVALID_HANDLE;
	else {
		if (set)
			wsph_plat_event_set(h);
		else
			wsph_plat_event_reset(h);
		ok = TRUE;
	}
	finish(&ev, ok, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return ok;
}

static int open_current_thread(int table, const void *ra, LPWSATHREADID tid, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUOPENCURRENTTHREAD, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)tid;
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (S.startups <= 0)
		err = WSANOTINITIALISED;
	else if (!tid)
		err = WSAEFAULT;
	else if (grow((void **)&S.tokens, &S.cap_tokens, S.n_tokens, sizeof *S.tokens) != 0)
		err = WSA_NOT_ENOUGH_MEMORY;
	else {
		uintptr_t token = THREAD_TOKEN_BASE + 8 * (S.n_tokens + 1);
		S.tokens[S.n_tokens++] = (struct thread_token){token, wsph_plat_thread_id(), 1};
		tid->ThreadHandle = (HANDLE)token;
		tid->Reserved = 0;
		ev.a[1] = token;
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int close_thread(int table, const void *ra, LPWSATHREADID tid, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCLOSETHREAD, table, ra);
	ev.a[0] = (uint64_t)(uintptr_t)tid;
	int rc = SOCKET_ERROR, err = fault;
	struct thread_token *tok = tid ? find_token((uintptr_t)tid->ThreadHandle) : NULL;
	if (tid)
		ev.a[1] = (uint64_t)(uintptr_t)tid->ThreadHandle;
	if (err)
		;
	else if (S.startups <= 0)
		err = WSANOTINITIALISED;
	else if (!tok || !tok->open)
		err = WSAEINVAL;
	else {
		tok->open = 0;
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

static int complete_overlapped(int table, const void *ra, SOCKET s, LPWSAOVERLAPPED ov,
			       DWORD dwError, DWORD cb, LPINT lpErrno)
{
	struct wsph_event ev;
	wsph_mutex_lock(S.lock);
	int fault = begin(&ev, WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST, table, ra);
	ev.a[0] = (uint64_t)s;
	ev.a[1] = (uint64_t)(uintptr_t)ov;
	ev.a[2] = dwError;
	ev.a[3] = cb;
	struct handle *h = find_handle(s);
	int rc = SOCKET_ERROR, err = fault;
	if (err)
		;
	else if (!h || h->how != H_CREATED || !h->open)
		err = WSAEINVAL; /* "not a socket created by WPUCreateSocketHandle" */
	else if (!ov)
		err = WSAEFAULT;
	else {
		ov->InternalHigh = cb;
		ov->Internal = dwError; /* anything but WSS_OPERATION_IN_PROGRESS means done */
		if (ov->hEvent && event_index(ov->hEvent) >= 0)
			wsph_plat_event_set(ov->hEvent);
		rc = 0;
	}
	finish(&ev, rc, lpErrno, err);
	wsph_mutex_unlock(S.lock);
	return rc;
}

int wsph_wpu_complete_overlapped_from(const void *ra, SOCKET s, LPWSAOVERLAPPED lpOverlapped,
				      DWORD dwError, DWORD cbTransferred, LPINT lpErrno)
{
	return complete_overlapped(WSPH_TABLE_EXPORT, ra, s, lpOverlapped, dwError, cbTransferred,
				   lpErrno);
}

int WSPAPI wsph_wpu_complete_overlapped(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwError,
					DWORD cbTransferred, LPINT lpErrno)
{
	return complete_overlapped(WSPH_TABLE_EXPORT, RETURN_ADDRESS(), s, lpOverlapped, dwError,
				   cbTransferred, lpErrno);
}

/* One set of fifteen entry points per table, so the trace knows which table a call came through. */
#define DEFINE_TABLE(T, ID)                                                                        \
	static BOOL WSPAPI T##_close_event(WSAEVENT h, LPINT e)                                    \
	{                                                                                          \
		return close_event(ID, RETURN_ADDRESS(), h, e);                                    \
	}                                                                                          \
	static int WSPAPI T##_close_socket_handle(SOCKET s, LPINT e)                               \
	{                                                                                          \
		return close_socket_handle(ID, RETURN_ADDRESS(), s, e);                            \
	}                                                                                          \
	static WSAEVENT WSPAPI T##_create_event(LPINT e)                                           \
	{                                                                                          \
		return create_event(ID, RETURN_ADDRESS(), e);                                      \
	}                                                                                          \
	static SOCKET WSPAPI T##_create_socket_handle(DWORD id, DWORD_PTR c, LPINT e)              \
	{                                                                                          \
		return create_socket_handle(ID, RETURN_ADDRESS(), id, c, e);                       \
	}                                                                                          \
	static int WSPAPI T##_fd_is_set(SOCKET s, fd_set *f)                                       \
	{                                                                                          \
		return fd_is_set(ID, RETURN_ADDRESS(), s, f);                                      \
	}                                                                                          \
	static int WSPAPI T##_get_provider_path(LPGUID g, WCHAR *p, LPINT l, LPINT e)              \
	{                                                                                          \
		return get_provider_path(ID, RETURN_ADDRESS(), g, p, l, e);                        \
	}                                                                                          \
	static SOCKET WSPAPI T##_modify_ifs_handle(DWORD id, SOCKET s, LPINT e)                    \
	{                                                                                          \
		return modify_ifs_handle(ID, RETURN_ADDRESS(), id, s, e);                          \
	}                                                                                          \
	static BOOL WSPAPI T##_post_message(HWND h, UINT m, WPARAM w, LPARAM l)                    \
	{                                                                                          \
		return post_message(ID, RETURN_ADDRESS(), h, m, w, l);                             \
	}                                                                                          \
	static int WSPAPI T##_query_blocking_callback(DWORD id, LPBLOCKINGCALLBACK *cb,            \
						      PDWORD_PTR c, LPINT e)                       \
	{                                                                                          \
		return query_blocking_callback(ID, RETURN_ADDRESS(), id, cb, c, e);                \
	}                                                                                          \
	static int WSPAPI T##_query_socket_handle_context(SOCKET s, PDWORD_PTR c, LPINT e)         \
	{                                                                                          \
		return query_socket_handle_context(ID, RETURN_ADDRESS(), s, c, e);                 \
	}                                                                                          \
	static int WSPAPI T##_queue_apc(LPWSATHREADID t, LPWSAUSERAPC f, DWORD_PTR c, LPINT e)     \
	{                                                                                          \
		return queue_apc(ID, RETURN_ADDRESS(), t, f, c, e);                                \
	}                                                                                          \
	static BOOL WSPAPI T##_reset_event(WSAEVENT h, LPINT e)                                    \
	{                                                                                          \
		return set_or_reset_event(ID, RETURN_ADDRESS(), h, e, 0);                          \
	}                                                                                          \
	static BOOL WSPAPI T##_set_event(WSAEVENT h, LPINT e)                                      \
	{                                                                                          \
		return set_or_reset_event(ID, RETURN_ADDRESS(), h, e, 1);                          \
	}                                                                                          \
	static int WSPAPI T##_open_current_thread(LPWSATHREADID t, LPINT e)                        \
	{                                                                                          \
		return open_current_thread(ID, RETURN_ADDRESS(), t, e);                            \
	}                                                                                          \
	static int WSPAPI T##_close_thread(LPWSATHREADID t, LPINT e)                               \
	{                                                                                          \
		return close_thread(ID, RETURN_ADDRESS(), t, e);                                   \
	}                                                                                          \
	static const WSPUPCALLTABLE T##_table = {                                                  \
		T##_close_event,	     T##_close_socket_handle,                              \
		T##_create_event,	     T##_create_socket_handle,                             \
		T##_fd_is_set,		     T##_get_provider_path,                                \
		T##_modify_ifs_handle,	     T##_post_message,                                     \
		T##_query_blocking_callback, T##_query_socket_handle_context,                      \
		T##_queue_apc,		     T##_reset_event,                                      \
		T##_set_event,		     T##_open_current_thread,                              \
		T##_close_thread,                                                                  \
	};

DEFINE_TABLE(a, WSPH_TABLE_A)
DEFINE_TABLE(b, WSPH_TABLE_B)
DEFINE_TABLE(poison, WSPH_TABLE_POISON)

void wsph_upcalls_begin(struct wsph_trace *trace, const struct wsph_upcall_config *cfg)
{
	if (!S.lock)
		S.lock = wsph_mutex_new();
	wsph_mutex_lock(S.lock);
	S.trace = trace;
	S.cfg = *cfg;
	S.n_handles = 0;
	S.n_avoid = 0;
	S.next_handle = HANDLE_BASE;
	memset(S.calls, 0, sizeof S.calls);
	S.n_apcs = 0;
	S.n_tokens = 0;
	S.startups = 0;
	S.current_table = WSPH_TABLE_A;
	S.driver_thread = wsph_plat_thread_id();
	S.depth = 0;
	S.step = 0;
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_end(void)
{
	if (!S.lock)
		return;
	wsph_mutex_lock(S.lock);
	for (size_t i = 0; i < S.n_events; i++)
		wsph_plat_event_free(S.events[i]);
	S.n_events = 0;
	for (size_t i = 0; i < S.n_buffers; i++)
		free(S.buffers[i]);
	S.n_buffers = 0;
	S.trace = NULL;
	free(S.handles);
	free(S.avoid);
	free(S.apcs);
	free(S.tokens);
	free(S.events);
	S.handles = NULL;
	S.avoid = NULL;
	S.apcs = NULL;
	S.tokens = NULL;
	S.events = NULL;
	S.cap_handles = S.cap_avoid = S.cap_apcs = S.cap_tokens = S.cap_events = 0;
	S.n_handles = S.n_avoid = S.n_apcs = S.n_tokens = 0;
	wsph_mutex_unlock(S.lock);
}

WSPUPCALLTABLE *wsph_upcalls_table_buffer(int table)
{
	WSPUPCALLTABLE *buf = NULL;
	wsph_mutex_lock(S.lock);
	if (S.n_buffers < MAX_STARTUPS) {
		buf = malloc(sizeof *buf);
		if (buf) {
			*buf = table == WSPH_TABLE_B ? b_table : a_table;
			S.buffers[S.n_buffers++] = buf;
		}
	}
	wsph_mutex_unlock(S.lock);
	return buf;
}

void wsph_upcalls_poison(WSPUPCALLTABLE *buf)
{
	if (buf)
		*buf = poison_table;
}

void wsph_upcalls_startup_done(int table, int success)
{
	wsph_mutex_lock(S.lock);
	if (success) {
		S.startups++;
		S.current_table = table;
	}
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_cleanup_done(int success)
{
	wsph_mutex_lock(S.lock);
	if (success && S.startups > 0)
		S.startups--;
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_enter(uint64_t call_seq, int step)
{
	wsph_mutex_lock(S.lock);
	if (S.depth < (int)(sizeof S.calls_in_progress / sizeof S.calls_in_progress[0]))
		S.calls_in_progress[S.depth] = call_seq;
	S.depth++;
	S.step = step;
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_leave(void)
{
	wsph_mutex_lock(S.lock);
	if (S.depth > 0)
		S.depth--;
	wsph_mutex_unlock(S.lock);
}

void wsph_upcalls_lock(void)
{
	wsph_mutex_lock(S.lock);
}

void wsph_upcalls_unlock(void)
{
	wsph_mutex_unlock(S.lock);
}

int wsph_upcalls_event(struct wsph_event *ev, enum wsph_fn fn, const void *return_address)
{
	return begin(ev, fn, WSPH_TABLE_EXPORT, return_address);
}

void wsph_upcalls_append(struct wsph_event *ev)
{
	if (S.trace)
		ev->seq = wsph_trace_append(S.trace, ev);
}

uint64_t wsph_upcalls_push_call(struct wsph_event *call)
{
	uint64_t seq = 0;
	wsph_mutex_lock(S.lock);
	int mine = wsph_plat_thread_id() == S.driver_thread;
	call->step = S.step;
	if (mine && S.depth > 0)
		call->parent = S.calls_in_progress[S.depth - 1];
	if (S.trace)
		seq = call->seq = wsph_trace_append(S.trace, call);
	if (mine) {
		if (S.depth < (int)(sizeof S.calls_in_progress / sizeof S.calls_in_progress[0]))
			S.calls_in_progress[S.depth] = seq;
		S.depth++;
	}
	wsph_mutex_unlock(S.lock);
	return seq;
}

int wsph_upcalls_table_of(const WSPUPCALLTABLE *t)
{
	if (!memcmp(t, &a_table, sizeof *t))
		return WSPH_TABLE_A;
	if (!memcmp(t, &b_table, sizeof *t))
		return WSPH_TABLE_B;
	if (!memcmp(t, &poison_table, sizeof *t))
		return WSPH_TABLE_POISON;
	return -1;
}

const WSPUPCALLTABLE *wsph_upcalls_current_table(void)
{
	return S.current_table == WSPH_TABLE_B ? &b_table : &a_table;
}

unsigned wsph_upcalls_count(enum wsph_fn fn)
{
	wsph_mutex_lock(S.lock);
	unsigned n = S.calls[fn];
	wsph_mutex_unlock(S.lock);
	return n;
}

int wsph_upcalls_thread_token_valid(HANDLE h)
{
	wsph_mutex_lock(S.lock);
	struct thread_token *t = find_token((uintptr_t)h);
	int ok = t && t->open;
	wsph_mutex_unlock(S.lock);
	return ok;
}

WSAEVENT wsph_upcalls_client_event(void)
{
	void *e = wsph_plat_event_new();
	wsph_mutex_lock(S.lock);
	if (e && grow((void **)&S.events, &S.cap_events, S.n_events, sizeof *S.events) == 0)
		S.events[S.n_events++] = e;
	wsph_mutex_unlock(S.lock);
	return (WSAEVENT)e;
}

void wsph_upcalls_client_event_free(WSAEVENT e)
{
	wsph_mutex_lock(S.lock);
	int i = event_index(e);
	if (i >= 0) {
		wsph_plat_event_free(S.events[i]);
		S.events[i] = S.events[--S.n_events];
	}
	wsph_mutex_unlock(S.lock);
}

HWND wsph_upcalls_window(void)
{
	return (HWND)(void *)&fake_window;
}

const struct wsph_catalog *wsph_upcalls_catalog(void)
{
	return S.cfg.catalog;
}

void wsph_upcalls_set_step(int step)
{
	wsph_mutex_lock(S.lock);
	S.step = step;
	wsph_mutex_unlock(S.lock);
}

SOCKET wsph_upcalls_bogus_handle(void)
{
	return BOGUS_HANDLE;
}

void wsph_upcalls_thread_id(WSATHREADID *out)
{
	wsph_mutex_lock(S.lock);
	uintptr_t token = 0;
	unsigned long me = wsph_plat_thread_id();
	for (size_t i = 0; i < S.n_tokens; i++)
		if (S.tokens[i].thread == me && S.tokens[i].open && (S.tokens[i].token & 4))
			token = S.tokens[i].token;
	if (!token && grow((void **)&S.tokens, &S.cap_tokens, S.n_tokens, sizeof *S.tokens) == 0) {
		/* Tokens the harness itself hands out are marked with bit 2. */
		token = THREAD_TOKEN_BASE + 8 * (S.n_tokens + 1) + 4;
		S.tokens[S.n_tokens++] = (struct thread_token){token, me, 1};
	}
	out->ThreadHandle = (HANDLE)token;
	out->Reserved = 0;
	wsph_mutex_unlock(S.lock);
}

int wsph_upcalls_alertable(void)
{
	int ran = 0;
	unsigned long me = wsph_plat_thread_id();
	for (;;) {
		struct apc a = {0, NULL, 0};
		wsph_mutex_lock(S.lock);
		for (size_t i = 0; i < S.n_apcs; i++)
			if (S.apcs[i].thread == me) {
				a = S.apcs[i];
				memmove(&S.apcs[i], &S.apcs[i + 1], (S.n_apcs - i - 1) * sizeof *S.apcs);
				S.n_apcs--;
				break;
			}
		wsph_mutex_unlock(S.lock);
		if (!a.fn)
			break;
		a.fn(a.context);
		ran++;
	}
	return ran;
}
