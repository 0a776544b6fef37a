/* iocplsp: its own catalog entries, and the next provider of each chain (loaded, started). */
#include <stdlib.h>
#include <string.h>

#include "iocplsp.h"

/*
 * The catalog as an installer writes it for a layer: one hidden "dummy" entry (ChainLen 0) under
 * the layer's own GUID, the one GetLspGuid returns, and one entry per protocol the layer sits on,
 * each a chain whose first element is the dummy's catalog id (ChainEntries[0]). Installers register
 * the chain entries under GUIDs of their own; the harness's catalog built from --layered registers
 * them under the dummy's. Both are found the same way: by ChainEntries[0].
 */

#define PATH_TRIES     4
#define PATH_MAX_CHARS 32768

/* {6c5e0a1d-93b4-4f27-8e0d-494f43504c53}: the dummy entry's GUID (GetLspGuid). */
const GUID iocplsp_guid = {
    0x6c5e0a1d, 0x93b4, 0x4f27, {0x8e, 0x0d, 0x49, 0x4f, 0x43, 0x50, 0x4c, 0x53}};

static int guid_eq(const GUID *a, const GUID *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* All catalog entries (malloc'd), or NULL with *err set. */
static WSAPROTOCOL_INFOW *enum_catalog(int *count, int *err)
{
	WSAPROTOCOL_INFOW *buf = NULL;
	DWORD len = 0;
	for (int tries = 0; tries < 4; tries++) {
		int e = 0;
		int n = WSCEnumProtocols(NULL, buf, &len, &e);
		if (n != SOCKET_ERROR && buf) {
			*count = n;
			return buf;
		}
		free(buf);
		buf = NULL;
		if (n != SOCKET_ERROR || e != WSAENOBUFS || len < sizeof(WSAPROTOCOL_INFOW))
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

static const WSAPROTOCOL_INFOW *by_id(const WSAPROTOCOL_INFOW *cat, int n, DWORD id)
{
	for (int i = 0; i < n; i++)
		if (cat[i].dwCatalogEntryId == id)
			return &cat[i];
	return NULL;
}

/* The dummy entry: the layered entry under this layer's GUID (the one GetLspGuid returns), as
 * real LSPs find it. A catalog that registers the layer under another GUID has none. */
static const WSAPROTOCOL_INFOW *find_dummy(const WSAPROTOCOL_INFOW *cat, int n,
                                           const WSAPROTOCOL_INFOW *started_with)
{
	(void)started_with;
	for (int i = 0; i < n; i++)
		if (guid_eq(&cat[i].ProviderId, &iocplsp_guid) &&
		    cat[i].ProtocolChain.ChainLen == LAYERED_PROTOCOL)
			return &cat[i];
	return NULL;
}

/* The registered DLL path of a provider (unexpanded, malloc'd): WSCGetProviderPath, retried with
 * the length it asks for after WSAEFAULT. */
static WCHAR *provider_path(GUID *id)
{
	int cap = MAX_PATH;
	for (int tries = 0; tries < PATH_TRIES; tries++) {
		WCHAR *buf = calloc((size_t)cap + 1, sizeof *buf);
		if (!buf)
			return NULL;
		int len = cap, e = 0;
		if (WSCGetProviderPath(id, buf, &len, &e) == 0)
			return buf; /* one longer than cap: always terminated */
		free(buf);
		if (e != WSAEFAULT)
			return NULL;
		int next = len > cap ? len : cap * 2;
		if (next > PATH_MAX_CHARS)
			return NULL;
		cap = next;
	}
	return NULL;
}

static WCHAR *expand(const WCHAR *src)
{
	DWORD cap = MAX_PATH;
	for (int tries = 0; tries < PATH_TRIES; tries++) {
		WCHAR *dst = calloc((size_t)cap + 1, sizeof *dst);
		if (!dst)
			return NULL;
		DWORD n = ExpandEnvironmentStringsW(src, dst, cap);
		if (n > 0 && n <= cap)
			return dst;
		free(dst);
		if (n == 0 || n > PATH_MAX_CHARS)
			return NULL;
		cap = n;
	}
	return NULL;
}

static HMODULE load_module(GUID *id)
{
	WCHAR *path = provider_path(id);
	WCHAR *x = path ? expand(path) : NULL;
	HMODULE m = x ? LoadLibraryW(x) : NULL;
	free(x);
	free(path);
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

/* One more WSPStartup of a loaded next provider, with the current upcall table (the one this
 * layer received last, passed down unchanged). 0 or the error. */
int lower_start(struct lower *lp)
{
	WSPDATA data;
	WSPPROC_TABLE procs;
	memset(&data, 0, sizeof data);
	memset(&procs, 0, sizeof procs);
	int rc = lp->start(MAKEWORD(2, 2), &data, &lp->info, *up(), &procs);
	if (rc != 0)
		return rc;
	if (!table_complete(&procs) || LOBYTE(data.wVersion) < 2) {
		int e = 0;
		if (procs.lpWSPCleanup)
			procs.lpWSPCleanup(&e); /* balances the startup that did succeed */
		return WSASYSNOTREADY;
	}
	lock();
	lp->procs = procs;
	lp->startups++;
	unlock();
	return 0;
}

/* The next provider registered under `id`, loaded and started with `info`. */
static int load_lower(const GUID *id, const WSAPROTOCOL_INFOW *info, struct lower **out)
{
	struct lower *lp = NULL;
	for (size_t i = 0; i < IOCPLSP_MAX_LOWERS && !lp; i++)
		if (!g.lowers[i].used)
			lp = &g.lowers[i];
	if (!lp)
		return WSAENOBUFS;
	GUID copy = *id;
	HMODULE m = load_module(&copy);
	if (!m)
		return WSASYSNOTREADY;
	FARPROC fp = GetProcAddress(m, "WSPStartup");
	if (!fp) {
		FreeLibrary(m);
		return WSASYSNOTREADY;
	}
	struct lower tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.id = copy;
	tmp.mod = m;
	tmp.start = (LPWSPSTARTUP)(void (*)(void))fp;
	tmp.info = *info;
	int rc = lower_start(&tmp);
	if (rc != 0) {
		FreeLibrary(m);
		return rc;
	}
	lock();
	*lp = tmp;
	lp->used = 1;
	unlock();
	*out = lp;
	return 0;
}

static struct lower *loaded_lower(const GUID *id)
{
	for (size_t i = 0; i < IOCPLSP_MAX_LOWERS; i++)
		if (g.lowers[i].used && guid_eq(&g.lowers[i].id, id))
			return &g.lowers[i];
	return NULL;
}

/* One chain entry of this layer: where it leads, with its next provider loaded. */
static int bind_chain(const WSAPROTOCOL_INFOW *cat, int n, const WSAPROTOCOL_INFOW *own)
{
	int len = own->ProtocolChain.ChainLen;
	if (len < 2 || len > MAX_PROTOCOL_CHAIN)
		return 0; /* not a chain: nothing to bind */
	const WSAPROTOCOL_INFOW *next = by_id(cat, n, own->ProtocolChain.ChainEntries[1]);
	if (!next)
		return WSASYSNOTREADY;
	if (g.n_binds == IOCPLSP_MAX_BINDINGS)
		return WSAENOBUFS;
	struct binding *b = &g.binds[g.n_binds];
	b->own = *own;
	/* The base gets its own entry; a further layer the chain entry as this layer got it. */
	b->down = next->ProtocolChain.ChainLen == BASE_PROTOCOL ? *next : *own;
	b->lp = loaded_lower(&next->ProviderId);
	if (!b->lp) {
		int rc = load_lower(&next->ProviderId, &b->down, &b->lp);
		if (rc)
			return rc;
	}
	g.n_binds++;
	return 0;
}

/* First WSPStartup: the dummy entry, every chain entry on it, their next providers. */
int catalog_bind(const WSAPROTOCOL_INFOW *started_with)
{
	int n = 0, err = WSASYSNOTREADY;
	WSAPROTOCOL_INFOW *cat = enum_catalog(&n, &err);
	if (!cat)
		return err;
	const WSAPROTOCOL_INFOW *dummy = find_dummy(cat, n, started_with);
	int rc = dummy ? 0 : WSASYSNOTREADY;
	for (int i = 0; i < n && !rc; i++)
		if (cat[i].ProtocolChain.ChainLen >= 2 &&
		    cat[i].ProtocolChain.ChainEntries[0] == dummy->dwCatalogEntryId)
			rc = bind_chain(cat, n, &cat[i]);
	free(cat);
	for (size_t i = 0; i < g.n_binds && !rc && !g.deflt; i++)
		if (g.binds[i].own.dwCatalogEntryId == started_with->dwCatalogEntryId)
			g.deflt = &g.binds[i];
	/* Started with an entry that is not one of this layer's chains: refused. */
	if (!rc && !g.deflt)
		rc = WSASYSNOTREADY;
	if (rc) {
		lowers_cleanup();
		lowers_unload();
	}
	return rc;
}

/* As many lower cleanups as lower startups succeeded. */
void lowers_cleanup(void)
{
	for (size_t i = 0; i < IOCPLSP_MAX_LOWERS; i++) {
		struct lower *lp = &g.lowers[i];
		for (; lp->used && lp->startups > 0; lp->startups--) {
			int e = 0;
			lp->procs.lpWSPCleanup(&e);
		}
	}
}

/* Nothing of this layer's can run in the lower modules any more (they never get a completion
 * routine of it): FreeLibrary, and the bindings are forgotten. */
void lowers_unload(void)
{
	HMODULE mods[IOCPLSP_MAX_LOWERS];
	size_t n = 0;
	lock();
	for (size_t i = 0; i < IOCPLSP_MAX_LOWERS; i++)
		if (g.lowers[i].used)
			mods[n++] = g.lowers[i].mod;
	memset(g.lowers, 0, sizeof g.lowers);
	memset(g.binds, 0, sizeof g.binds);
	g.n_binds = 0;
	g.deflt = NULL;
	unlock();
	for (size_t i = 0; i < n; i++)
		FreeLibrary(mods[i]);
}
