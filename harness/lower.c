/* The provider below a layer: its WSPStartup and procedure table, wrapped so every call is recorded. */
#include "imports.h"
#include "lower.h"

#include "upcalls.h"
#include "util.h"
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the ledger (pure) ---- */

void wsph_ledger_reset(struct wsph_lower_ledger *l)
{
	free(l->v);
	memset(l, 0, sizeof *l);
}

static struct wsph_lh *ledger_newest(const struct wsph_lower_ledger *l, uint64_t h)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->v[i].h == h)
			return &l->v[i];
	return NULL;
}

int wsph_ledger_issue(struct wsph_lower_ledger *l, uint64_t h, int stream, uint64_t seq)
{
	struct wsph_lh *e = ledger_newest(l, h);
	if (e && e->state == WSPH_LH_OPEN)
		return 0;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct wsph_lh *p = realloc(l->v, nc * sizeof *p);
		if (!p)
			return -1;
		l->v = p;
		l->cap = nc;
	}
	l->v[l->n++] = (struct wsph_lh){h, WSPH_LH_OPEN, stream != 0, seq, 0, 0};
	return 0;
}

const struct wsph_lh *wsph_ledger_find(const struct wsph_lower_ledger *l, uint64_t h)
{
	return ledger_newest(l, h);
}

int wsph_ledger_charge(struct wsph_lower_ledger *l, uint64_t h)
{
	struct wsph_lh *e = ledger_newest(l, h);
	if (!e || e->state != WSPH_LH_OPEN || e->charged)
		return 0;
	e->charged = 1;
	return 1;
}

enum wsph_lh_state wsph_ledger_state(const struct wsph_lower_ledger *l, uint64_t h)
{
	const struct wsph_lh *e = ledger_newest(l, h);
	return e ? e->state : WSPH_LH_UNKNOWN;
}

enum wsph_lh_state wsph_ledger_close(struct wsph_lower_ledger *l, uint64_t h, uint64_t seq)
{
	struct wsph_lh *e = ledger_newest(l, h);
	if (!e)
		return WSPH_LH_UNKNOWN;
	enum wsph_lh_state before = e->state;
	if (before == WSPH_LH_OPEN) {
		e->state = WSPH_LH_CLOSED;
		e->closed_seq = seq;
	}
	return before;
}

void wsph_ledger_startup(struct wsph_lower_ledger *l, int rc)
{
	l->last_failed = rc != 0;
	if (rc == 0) {
		l->startups++;
		l->ever_started = 1;
	}
}

int wsph_ledger_cleanup(struct wsph_lower_ledger *l, int rc, uint64_t seq, size_t *n_reset)
{
	int before = l->startups;
	if (n_reset)
		*n_reset = 0;
	if (rc != 0 || before <= 0)
		return before;
	if (--l->startups == 0)
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i].state == WSPH_LH_OPEN) {
				l->v[i].state = WSPH_LH_RESET;
				l->v[i].closed_seq = seq;
				if (n_reset)
					++*n_reset;
			}
	return before;
}

size_t wsph_ledger_open(const struct wsph_lower_ledger *l, const struct wsph_lh **first)
{
	size_t n = 0;
	if (first)
		*first = NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == WSPH_LH_OPEN && !n++ && first)
			*first = &l->v[i];
	return n;
}

unsigned wsph_lower_chunk(uint32_t *state, unsigned k)
{
	if (!k)
		return 0;
	uint32_t x = *state ? *state : 0x2545f491u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return 1u + x % k;
}

/* ---- the stand-in ---- */

static struct {
	const struct wsph_catalog *catalog;
	int hole;
	WSPH_WSPSTARTUP_BYREF real_startup;
	WSPPROC_TABLE real; /* the lower provider's own table, from its last WSPStartup */
	char module[64];
	char layer[64]; /* the layer under test, for which the lower provider acts */
	char self[64];	/* the harness's own module (the program) */
	int bound;
	/* The one lower instance the wrappers serve (they forward to one table): its startups and
	 * handles, guarded by the upcall lock. */
	struct wsph_lower_ledger led;
	unsigned fragment; /* lower.fragment_receives: stream receives deliver 1..fragment bytes */
	uint32_t rng;
} L;

void wsph_lower_begin(const struct wsph_catalog *catalog, int hole)
{
	wsph_ledger_reset(&L.led);
	memset(&L, 0, sizeof L);
	L.catalog = catalog;
	L.hole = hole;
	const struct wsph_catalog_provider *p = catalog ? wsph_catalog_under_test(catalog) : NULL;
	char *x = p ? wsph_catalog_expand(catalog, p->path) : NULL;
	snprintf(L.layer, sizeof L.layer, "%s", x ? wsph_path_base(x) : "");
	free(x);
	void (*me)(const struct wsph_catalog *, int) = wsph_lower_begin;
	void *addr;
	memcpy(&addr, &me, sizeof addr);
	wsph_plat_module_name_at(addr, L.self, sizeof L.self);
}

void wsph_lower_end(void)
{
	wsph_ledger_reset(&L.led);
	memset(&L, 0, sizeof L);
}

void wsph_lower_set_fragment(unsigned k)
{
	L.fragment = k;
	L.rng = 0x9e3779b9u ^ k; /* the same chunks on every run of a scenario */
}

/* The WSAPROTOCOL_INFOW a layer must hand down: for each chained entry of the layer under test,
 * the next element's own entry when that is a base, else the chained entry unmodified. */
static int propagation_ok(const WSAPROTOCOL_INFOW *pi)
{
	const struct wsph_catalog *c = L.catalog;
	if (!pi || !c)
		return 0;
	for (size_t i = 0; i < c->n_entries; i++) {
		const struct wsph_catalog_entry *e = &c->entries[i];
		if (!c->providers[e->provider].under_test || e->info.ProtocolChain.ChainLen < 2)
			continue;
		const struct wsph_catalog_entry *next =
			wsph_catalog_by_id(c, e->info.ProtocolChain.ChainEntries[1]);
		const WSAPROTOCOL_INFOW *want =
			next && next->info.ProtocolChain.ChainLen == BASE_PROTOCOL ? &next->info
										    : &e->info;
		if (pi->dwCatalogEntryId == want->dwCatalogEntryId &&
		    !memcmp(&pi->ProviderId, &want->ProviderId, sizeof pi->ProviderId) &&
		    pi->ProtocolChain.ChainLen == want->ProtocolChain.ChainLen &&
		    !memcmp(pi->ProtocolChain.ChainEntries, want->ProtocolChain.ChainEntries,
			    sizeof pi->ProtocolChain.ChainEntries) &&
		    pi->dwServiceFlags1 == want->dwServiceFlags1 &&
		    pi->iSocketType == want->iSocketType && pi->iProtocol == want->iProtocol)
			return 1;
	}
	return 0;
}

/* The harness's own call in progress on this thread that this lower call is, or 0. A layer may put
 * the lower provider's functions straight into the table it returns (as IFS layers commonly do for
 * what they need not intercept): the harness then calls this stand-in itself, from its own code,
 * in the middle of its call of that same entry with the same first argument. That call is the
 * harness's, recorded already (layer 0): the provider under test answers it with the lower
 * provider's code, and nothing of it is the layer's use of the provider below. (A layer function
 * that ends in a tail call of the same lower function with the same handle passes exactly what the
 * harness passed, and is taken for the same.) */
static uint64_t harness_call(const char *caller, enum wsph_fn fn, uint64_t a0)
{
	struct wsph_trace *t = wsph_upcalls_trace();
	if (!t || !L.self[0] || strcmp(caller, L.self) != 0)
		return 0;
	uint64_t seq = wsph_trace_thread_call(t);
	struct wsph_event c;
	if (!seq || wsph_trace_get(t, (size_t)(seq - 1), &c) != 0 || c.kind != WSPH_EV_CALL ||
	    c.layer != 0 || c.fn != fn || c.a[0] != a0)
		return 0;
	return seq;
}

/* A call into the lower provider begins. ev->layer is 1 for the layer's own call, 0 for the
 * harness's call through the layer's table (ev->parent is then that call). */
static void call_begin(struct wsph_event *ev, enum wsph_fn fn, const void *ra, uint64_t a0)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WSPH_EV_CALL;
	ev->fn = fn;
	ev->layer = 1;
	ev->a[0] = a0;
	ev->err = WSPH_ERRNO_UNSET;
	wsph_plat_module_name_at(ra, ev->module, sizeof ev->module);
	uint64_t h = harness_call(ev->module, fn, a0);
	if (h) {
		ev->layer = 0;
		ev->parent = h;
		/* its RETURN names the code that answered: the lower provider's, for the layer */
		wsph_trace_answered_by(wsph_upcalls_trace(), h, L.module, L.layer);
	}
}

static void call_push(struct wsph_event *ev)
{
	if (ev->layer == 1)
		wsph_upcalls_push_call(ev);
}

/* Upcall lock held: what a returned lower call changes in the ledger. */
static void ledger_note(const struct wsph_event *r)
{
	switch (r->fn) {
	case WSPH_FN_WSPSOCKET:
		if (r->ret != -1)
			wsph_ledger_issue(&L.led, (uint64_t)r->ret, r->a[1] == SOCK_STREAM, r->seq);
		break;
	case WSPH_FN_WSPACCEPT:
		if (r->ret != -1)
			wsph_ledger_issue(&L.led, (uint64_t)r->ret, 1, r->seq);
		break;
	case WSPH_FN_WSPJOINLEAF:
		if (r->ret != -1) {
			const struct wsph_lh *from = wsph_ledger_find(&L.led, r->a[0]);
			wsph_ledger_issue(&L.led, (uint64_t)r->ret, from && from->stream, r->seq);
		}
		break;
	case WSPH_FN_WSPCLOSESOCKET:
		if (r->ret == 0)
			wsph_ledger_close(&L.led, r->a[0], r->seq);
		break;
	case WSPH_FN_WSPCLEANUP:
		wsph_ledger_cleanup(&L.led, (int)r->ret, r->seq, NULL);
		break;
	default:
		break;
	}
}

static void call_end(const struct wsph_event *call, int64_t ret, const LPINT lpErrno)
{
	struct wsph_event r = *call;
	r.kind = WSPH_EV_RETURN;
	r.ret = ret;
	r.err = lpErrno ? *lpErrno : WSPH_ERRNO_UNSET;
	if (call->layer == 0) {
		/* the harness's call: its RETURN is the harness's to record; the ledger still
		 * follows what the lower provider issued and closed */
		r.seq = call->parent;
		wsph_upcalls_lock();
		ledger_note(&r);
		wsph_upcalls_unlock();
		return;
	}
	wsph_upcalls_leave();
	r.parent = call->seq;
	snprintf(r.module, sizeof r.module, "%s", L.module);
	snprintf(r.behalf, sizeof r.behalf, "%s", L.layer);
	wsph_upcalls_lock();
	wsph_upcalls_append(&r);
	ledger_note(&r);
	wsph_upcalls_unlock();
}

/* Overlapped calls: which thread id the layer passed down (the client's copy or its own). */
static void note_thread(struct wsph_event *ev, LPWSAOVERLAPPED ov, LPWSATHREADID tid)
{
	ev->a[3] = tid ? (uint64_t)(uintptr_t)tid->ThreadHandle : 0;
	ev->a[4] = ov != NULL;
	ev->a[5] = tid && wsph_upcalls_thread_token_valid(tid->ThreadHandle);
}

#define RA WSPH_RETURN_ADDRESS()

/* An option value as a number, when it has the size of one. */
static uint64_t opt_value(const char *v, int len)
{
	int32_t x = 0;
	if (!v || len < (int)sizeof x)
		return 0;
	memcpy(&x, v, sizeof x);
	return (uint64_t)(int64_t)x;
}

static uint64_t buffers_len(const WSABUF *b, DWORD n)
{
	uint64_t t = 0;
	for (DWORD i = 0; b && i < n; i++)
		t += b[i].len;
	return t;
}

#define MAX_FRAG_BUFS 16

/* lower.fragment_receives: for a stream socket, a copy of the WSABUF array that holds at most the
 * next chunk (1..k bytes), so the lower provider delivers the stream in pieces. Returns the array
 * to pass (frag, or b unchanged) and sets *n. */
static LPWSABUF fragment(SOCKET s, LPWSABUF b, DWORD *n, WSABUF frag[MAX_FRAG_BUFS])
{
	if (!L.fragment || !b || !*n || *n > MAX_FRAG_BUFS)
		return b;
	wsph_upcalls_lock();
	const struct wsph_lh *e = wsph_ledger_find(&L.led, (uint64_t)s);
	int stream = e && e->stream;
	unsigned chunk = stream ? wsph_lower_chunk(&L.rng, L.fragment) : 0;
	wsph_upcalls_unlock();
	if (!stream)
		return b;
	DWORD used = 0;
	ULONG left = chunk;
	for (DWORD i = 0; i < *n && left; i++) {
		frag[i] = b[i];
		if (frag[i].len > left)
			frag[i].len = left;
		left -= frag[i].len;
		used = i + 1;
	}
	if (!used)
		return b;
	*n = used;
	return frag;
}

static SOCKET WSPAPI l_accept(SOCKET s, struct sockaddr *addr, LPINT len, LPCONDITIONPROC cond,
			      DWORD_PTR cb, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPACCEPT, RA, s);
	call_push(&c);
	SOCKET r = L.real.lpWSPAccept(s, addr, len, cond, cb, err);
	call_end(&c, r == INVALID_SOCKET ? -1 : (int64_t)r, err);
	return r;
}

static INT WSPAPI l_addr_to_string(LPSOCKADDR a, DWORD al, LPWSAPROTOCOL_INFOW pi, LPWSTR s,
				   LPDWORD sl, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPADDRESSTOSTRING, RA, 0);
	call_push(&c);
	INT r = L.real.lpWSPAddressToString(a, al, pi, s, sl, err);
	call_end(&c, r, err);
	return r;
}

static int WSPAPI l_async_select(SOCKET s, HWND h, unsigned int m, LONG ev, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPASYNCSELECT, RA, s);
	c.a[1] = (uint64_t)(uintptr_t)h;
	c.a[2] = m;
	c.a[3] = (uint64_t)ev;
	call_push(&c);
	int r = L.real.lpWSPAsyncSelect(s, h, m, ev, err);
	call_end(&c, r, err);
	return r;
}

/* EXTRA: statements recording more arguments into c.a[] (in trace.c's order for FN). */
#define SIMPLE_SX(name, field, FN, params, args, EXTRA)                                           \
	static int WSPAPI name params                                                              \
	{                                                                                          \
		struct wsph_event c;                                                               \
		call_begin(&c, FN, RA, s);                                                         \
		EXTRA;                                                                             \
		call_push(&c);                                                                     \
		int r = L.real.field args;                                                         \
		call_end(&c, r, err);                                                              \
		return r;                                                                          \
	}
#define SIMPLE_S(name, field, FN, params, args) SIMPLE_SX(name, field, FN, params, args, (void)0)

SIMPLE_SX(l_bind, lpWSPBind, WSPH_FN_WSPBIND,
	  (SOCKET s, const struct sockaddr *n, int nl, LPINT err), (s, n, nl, err),
	  c.a[1] = wsph_decode_pack_sockaddr(n, nl > 0 ? (size_t)nl : 0))
SIMPLE_S(l_close, lpWSPCloseSocket, WSPH_FN_WSPCLOSESOCKET, (SOCKET s, LPINT err), (s, err))
SIMPLE_SX(l_connect, lpWSPConnect, WSPH_FN_WSPCONNECT,
	  (SOCKET s, const struct sockaddr *n, int nl, LPWSABUF a, LPWSABUF b, LPQOS q1, LPQOS q2,
	   LPINT err),
	  (s, n, nl, a, b, q1, q2, err), c.a[1] = wsph_decode_pack_sockaddr(n, nl > 0 ? (size_t)nl : 0))
SIMPLE_S(l_dup, lpWSPDuplicateSocket, WSPH_FN_WSPDUPLICATESOCKET,
	 (SOCKET s, DWORD pid, LPWSAPROTOCOL_INFOW pi, LPINT err), (s, pid, pi, err))
SIMPLE_S(l_enum_events, lpWSPEnumNetworkEvents, WSPH_FN_WSPENUMNETWORKEVENTS,
	 (SOCKET s, WSAEVENT e, LPWSANETWORKEVENTS ne, LPINT err), (s, e, ne, err))
SIMPLE_SX(l_event_select, lpWSPEventSelect, WSPH_FN_WSPEVENTSELECT,
	  (SOCKET s, WSAEVENT e, LONG ne, LPINT err), (s, e, ne, err),
	  (c.a[1] = (uint64_t)(uintptr_t)e, c.a[2] = (uint64_t)(uint32_t)ne))
SIMPLE_S(l_peer, lpWSPGetPeerName, WSPH_FN_WSPGETPEERNAME,
	 (SOCKET s, struct sockaddr *n, LPINT nl, LPINT err), (s, n, nl, err))
SIMPLE_S(l_sockname, lpWSPGetSockName, WSPH_FN_WSPGETSOCKNAME,
	 (SOCKET s, struct sockaddr *n, LPINT nl, LPINT err), (s, n, nl, err))
SIMPLE_SX(l_getopt, lpWSPGetSockOpt, WSPH_FN_WSPGETSOCKOPT,
	  (SOCKET s, int lv, int o, char *v, LPINT l, LPINT err), (s, lv, o, v, l, err),
	  (c.a[1] = (uint64_t)(int64_t)lv, c.a[2] = (uint64_t)(int64_t)o))
SIMPLE_SX(l_listen, lpWSPListen, WSPH_FN_WSPLISTEN, (SOCKET s, int b, LPINT err), (s, b, err),
	  c.a[1] = (uint64_t)(int64_t)b)
SIMPLE_S(l_recv_disc, lpWSPRecvDisconnect, WSPH_FN_WSPRECVDISCONNECT,
	 (SOCKET s, LPWSABUF b, LPINT err), (s, b, err))
SIMPLE_S(l_send_disc, lpWSPSendDisconnect, WSPH_FN_WSPSENDDISCONNECT,
	 (SOCKET s, LPWSABUF b, LPINT err), (s, b, err))
SIMPLE_SX(l_setopt, lpWSPSetSockOpt, WSPH_FN_WSPSETSOCKOPT,
	  (SOCKET s, int lv, int o, const char *v, int l, LPINT err), (s, lv, o, v, l, err),
	  (c.a[1] = (uint64_t)(int64_t)lv, c.a[2] = (uint64_t)(int64_t)o, c.a[3] = opt_value(v, l)))
SIMPLE_SX(l_shutdown, lpWSPShutdown, WSPH_FN_WSPSHUTDOWN, (SOCKET s, int h, LPINT err),
	  (s, h, err), c.a[1] = (uint64_t)(int64_t)h)

static int WSPAPI l_cancel(LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPCANCELBLOCKINGCALL, RA, 0);
	call_push(&c);
	int r = L.real.lpWSPCancelBlockingCall(err);
	call_end(&c, r, err);
	return r;
}

static int WSPAPI l_cleanup(LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPCLEANUP, RA, 0);
	call_push(&c);
	int r = L.real.lpWSPCleanup(err);
	call_end(&c, r, err);
	return r;
}

static BOOL WSPAPI l_overlapped_result(SOCKET s, LPWSAOVERLAPPED ov, LPDWORD n, BOOL w,
				       LPDWORD f, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPGETOVERLAPPEDRESULT, RA, s);
	call_push(&c);
	BOOL r = L.real.lpWSPGetOverlappedResult(s, ov, n, w, f, err);
	call_end(&c, r, err);
	return r;
}

static BOOL WSPAPI l_qos(SOCKET s, LPWSABUF n, LPQOS q, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPGETQOSBYNAME, RA, s);
	call_push(&c);
	BOOL r = L.real.lpWSPGetQOSByName(s, n, q, err);
	call_end(&c, r, err);
	return r;
}

static int WSPAPI l_ioctl(SOCKET s, DWORD code, LPVOID in, DWORD inl, LPVOID out, DWORD outl,
			  LPDWORD ret, LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
			  LPWSATHREADID tid, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPIOCTL, RA, s);
	c.a[1] = code;
	note_thread(&c, ov, tid);
	call_push(&c);
	int r = L.real.lpWSPIoctl(s, code, in, inl, out, outl, ret, ov, cr, tid, err);
	call_end(&c, r, err);
	return r;
}

static SOCKET WSPAPI l_join(SOCKET s, const struct sockaddr *n, int nl, LPWSABUF a, LPWSABUF b,
			    LPQOS q1, LPQOS q2, DWORD f, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPJOINLEAF, RA, s);
	call_push(&c);
	SOCKET r = L.real.lpWSPJoinLeaf(s, n, nl, a, b, q1, q2, f, err);
	call_end(&c, r == INVALID_SOCKET ? -1 : (int64_t)r, err);
	return r;
}

static int WSPAPI l_recv(SOCKET s, LPWSABUF b, DWORD n, LPDWORD got, LPDWORD fl,
			 LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
			 LPWSATHREADID tid, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPRECV, RA, s);
	c.a[1] = buffers_len(b, n);
	note_thread(&c, ov, tid);
	call_push(&c);
	WSABUF frag[MAX_FRAG_BUFS];
	DWORD fn = n;
	LPWSABUF fb = fragment(s, b, &fn, frag);
	int r = L.real.lpWSPRecv(s, fb, fn, got, fl, ov, cr, tid, err);
	c.a[2] = r == 0 && got ? *got : 0;
	call_end(&c, r, err);
	return r;
}

static int WSPAPI l_recvfrom(SOCKET s, LPWSABUF b, DWORD n, LPDWORD got, LPDWORD fl,
			     struct sockaddr *from, LPINT fromlen, LPWSAOVERLAPPED ov,
			     LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPRECVFROM, RA, s);
	c.a[1] = buffers_len(b, n);
	note_thread(&c, ov, tid);
	call_push(&c);
	WSABUF frag[MAX_FRAG_BUFS];
	DWORD fn = n;
	LPWSABUF fb = fragment(s, b, &fn, frag);
	int r = L.real.lpWSPRecvFrom(s, fb, fn, got, fl, from, fromlen, ov, cr, tid, err);
	c.a[2] = r == 0 && got ? *got : 0;
	call_end(&c, r, err);
	return r;
}

static int WSPAPI l_select(int nfds, fd_set *r, fd_set *w, fd_set *e, const PTIMEVAL t, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPSELECT, RA, (uint64_t)nfds);
	/* The fd_set members, against the ledger: a[1] the first one that is not an open handle of
	 * this provider, a[2] how many members, a[3] 1 when a[1] names such a member. */
	const fd_set *sets[3] = {r, w, e};
	wsph_upcalls_lock();
	for (int i = 0; i < 3; i++)
		for (u_int j = 0; sets[i] && j < sets[i]->fd_count && j < FD_SETSIZE; j++) {
			c.a[2]++;
			if (!c.a[3] &&
			    wsph_ledger_state(&L.led, (uint64_t)sets[i]->fd_array[j]) != WSPH_LH_OPEN) {
				c.a[1] = (uint64_t)sets[i]->fd_array[j];
				c.a[3] = 1;
			}
		}
	wsph_upcalls_unlock();
	call_push(&c);
	int rc = L.real.lpWSPSelect(nfds, r, w, e, t, err);
	call_end(&c, rc, err);
	return rc;
}

static int WSPAPI l_send(SOCKET s, LPWSABUF b, DWORD n, LPDWORD sent, DWORD fl,
			 LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE cr,
			 LPWSATHREADID tid, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPSEND, RA, s);
	c.a[1] = buffers_len(b, n);
	note_thread(&c, ov, tid);
	call_push(&c);
	int r = L.real.lpWSPSend(s, b, n, sent, fl, ov, cr, tid, err);
	c.a[2] = r == 0 && sent ? *sent : 0;
	call_end(&c, r, err);
	return r;
}

static int WSPAPI l_sendto(SOCKET s, LPWSABUF b, DWORD n, LPDWORD sent, DWORD fl,
			   const struct sockaddr *to, int tl, LPWSAOVERLAPPED ov,
			   LPWSAOVERLAPPED_COMPLETION_ROUTINE cr, LPWSATHREADID tid, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPSENDTO, RA, s);
	c.a[1] = buffers_len(b, n);
	note_thread(&c, ov, tid);
	call_push(&c);
	int r = L.real.lpWSPSendTo(s, b, n, sent, fl, to, tl, ov, cr, tid, err);
	c.a[2] = r == 0 && sent ? *sent : 0;
	call_end(&c, r, err);
	return r;
}

static SOCKET WSPAPI l_socket(int af, int type, int proto, LPWSAPROTOCOL_INFOW pi, GROUP g,
			      DWORD fl, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPSOCKET, RA, (uint64_t)af);
	c.a[1] = (uint64_t)type;
	c.a[2] = (uint64_t)proto;
	c.a[3] = pi ? pi->dwCatalogEntryId : 0;
	c.a[4] = fl;
	c.a[5] = propagation_ok(pi) ? 1 : 2;
	call_push(&c);
	SOCKET r = L.real.lpWSPSocket(af, type, proto, pi, g, fl, err);
	call_end(&c, r == INVALID_SOCKET ? -1 : (int64_t)r, err);
	return r;
}

static INT WSPAPI l_string_to_addr(LPWSTR s, INT af, LPWSAPROTOCOL_INFOW pi, LPSOCKADDR a,
				   LPINT al, LPINT err)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPSTRINGTOADDRESS, RA, 0);
	call_push(&c);
	INT r = L.real.lpWSPStringToAddress(s, af, pi, a, al, err);
	call_end(&c, r, err);
	return r;
}

static const WSPPROC_TABLE wrappers = {
	l_accept,     l_addr_to_string, l_async_select, l_bind,	      l_cancel,
	l_cleanup,    l_close,		l_connect,	l_dup,	      l_enum_events,
	l_event_select, l_overlapped_result, l_peer,	l_sockname,   l_getopt,
	l_qos,	      l_ioctl,		l_join,		l_listen,     l_recv,
	l_recv_disc,  l_recvfrom,	l_select,	l_send,	      l_send_disc,
	l_sendto,     l_setopt,		l_shutdown,	l_socket,     l_string_to_addr,
};

/* Does a table the layer hands down reach the harness? Identical pointers, or entries that
 * forward: probed with a harmless WPUFDIsSet on an empty set. The poisoned buffer (a layer that
 * kept &UpcallTable hands down what it holds once its WSPStartup has returned) does not. */
static int table_forwards(const WSPUPCALLTABLE *t)
{
	int id = wsph_upcalls_table_of(t);
	if (id == WSPH_TABLE_A || id == WSPH_TABLE_B)
		return 0;
	if (id == WSPH_TABLE_POISON)
		return 2;
	if (!t->lpWPUFDIsSet)
		return 2;
	fd_set empty;
	memset(&empty, 0, sizeof empty);
	unsigned before = wsph_upcalls_count(WSPH_FN_WPUFDISSET);
	t->lpWPUFDIsSet((SOCKET)0, &empty);
	return wsph_upcalls_count(WSPH_FN_WPUFDISSET) > before ? 1 : 2;
}

static int WSPAPI l_startup(WORD v, LPWSPDATA data, LPWSAPROTOCOL_INFOW pi, WSPUPCALLTABLE t,
			    LPWSPPROC_TABLE procs)
{
	struct wsph_event c;
	call_begin(&c, WSPH_FN_WSPSTARTUP, RA, v);
	/* What the layer tells the provider below (the CALL's a[1] and a[2] are no output yet): the
	 * catalog id and service flags of the WSAPROTOCOL_INFOW it passes, and which table. */
	c.a[1] = pi ? pi->dwCatalogEntryId : 0;
	c.a[2] = pi ? pi->dwServiceFlags1 : 0;
	c.a[3] = propagation_ok(pi) ? 1 : 2;
	c.a[4] = (uint64_t)table_forwards(&t);
	c.a[5] = L.hole >= 0 ? (uint64_t)L.hole + 1 : 0;
	c.table = wsph_upcalls_table_of(&t);
	snprintf(c.text, sizeof c.text, "lpProtocolInfo: catalog id %lu, ChainLen %d",
		 pi ? (unsigned long)pi->dwCatalogEntryId : 0ul, pi ? pi->ProtocolChain.ChainLen : -1);
	call_push(&c);
	int table_before = wsph_upcalls_lower_table(c.table);
	int r = L.real_startup(v, data, pi, &t, procs);
	if (r != 0)
		wsph_upcalls_lower_table(table_before);
	if (r == 0 && procs) {
		L.real = *procs;
		*procs = wrappers;
		if (L.hole >= 0) {
			/* the scenario's lower.proctable_hole: a bogus table, as ws2_32 would see it */
			void *entries[30];
			memcpy(entries, procs, sizeof entries);
			entries[L.hole] = NULL;
			memcpy(procs, entries, sizeof entries);
		}
	}
	struct wsph_event r_ev = c;
	wsph_upcalls_leave();
	wsph_upcalls_lock();
	wsph_ledger_startup(&L.led, r);
	wsph_upcalls_unlock();
	r_ev.kind = WSPH_EV_RETURN;
	r_ev.parent = c.seq;
	r_ev.ret = r;
	r_ev.a[1] = data ? data->wVersion : 0;
	r_ev.a[2] = data ? data->wHighVersion : 0;
	snprintf(r_ev.module, sizeof r_ev.module, "%s", L.module);
	snprintf(r_ev.behalf, sizeof r_ev.behalf, "%s", L.layer);
	wsph_upcalls_lock();
	wsph_upcalls_append(&r_ev);
	wsph_upcalls_unlock();
	return r;
}

LPWSPSTARTUP wsph_lower_startup(void *real_startup, const char *module_name, uint64_t load_seq)
{
	(void)load_seq;
	memcpy(&L.real_startup, &real_startup, sizeof real_startup);
	snprintf(L.module, sizeof L.module, "%s", module_name);
	L.bound = 1;
	wsph_upcalls_set_lower(L.module, L.layer);
	return l_startup;
}
