/* Interposed imports: what a provider calls directly (catalog, module loading, PostMessage), recorded. */
#include "imports.h"

#include "upcalls.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODULES 16

struct loaded {
	struct wsph_module *m;
	int from_catalog;
	uint64_t seq;
	char name[64];
};

static struct {
	struct wsph_imports_config cfg;
	struct loaded mods[MAX_MODULES];
	size_t n;
	/* Between begin and end. Outside a scenario (the harness's probe of the export, a constructor
	 * of a .so run by that probe) the stand-ins still work but record nothing. */
	int active;
} I;

void wsph_imports_begin(const struct wsph_imports_config *cfg)
{
	I.cfg = *cfg;
	I.n = 0;
	wsph_lower_begin(cfg->catalog, cfg->lower_hole);
	I.active = 1;
}

void wsph_imports_end(void)
{
	while (I.n > 0)
		wsph_plat_unload(I.mods[--I.n].m);
	wsph_lower_end();
	I.active = 0;
	memset(&I.cfg, 0, sizeof I.cfg);
}

void wsph_imports_keep_modules(void)
{
	I.n = 0;
}

static struct loaded *find(HMODULE h)
{
	for (size_t i = 0; i < I.n; i++)
		if ((HMODULE)(void *)I.mods[i].m == h)
			return &I.mods[i];
	return NULL;
}

/* Is this (expanded) path one the catalog registers for some provider? */
static int catalog_path(const char *path)
{
	const struct wsph_catalog *c = I.cfg.catalog;
	for (size_t i = 0; c && i < c->n_providers; i++) {
		char *x = wsph_catalog_expand(c, c->providers[i].path);
		int same = x && wsph_plat_same_path(x, path);
		free(x);
		if (same)
			return 1;
	}
	return 0;
}

static void record(struct wsph_event *ev, int64_t ret)
{
	ev->ret = ret;
	if (!I.active)
		return;
	wsph_upcalls_lock();
	wsph_upcalls_append(ev);
	wsph_upcalls_unlock();
}

static int begin(struct wsph_event *ev, enum wsph_fn fn, const void *ra)
{
	if (!I.active) {
		memset(ev, 0, sizeof *ev);
		ev->fn = fn;
		ev->err = WSPH_ERRNO_UNSET;
		return 0;
	}
	wsph_upcalls_lock();
	int fault = wsph_upcalls_event(ev, fn, ra);
	wsph_upcalls_unlock();
	return fault;
}

int wsph_imp_enum_protocols(const void *ra, int is32, LPINT lpi, LPWSAPROTOCOL_INFOW buf,
			    LPDWORD len, LPINT lpErrno)
{
	struct wsph_event ev;
	int fault = begin(&ev, is32 ? WSPH_FN_WSCENUMPROTOCOLS32 : WSPH_FN_WSCENUMPROTOCOLS, ra);
	const struct wsph_catalog *c = I.cfg.catalog;
	ev.a[0] = (uint64_t)(uintptr_t)lpi;
	ev.a[1] = len ? *len : 0;
	size_t n = 0;
	for (size_t i = 0; c && i < c->n_entries; i++) {
		int match = !lpi;
		for (const INT *p = lpi; p && *p; p++)
			if (*p == c->entries[i].info.iProtocol)
				match = 1;
		n += (size_t)match;
	}
	DWORD need = (DWORD)(n * sizeof(WSAPROTOCOL_INFOW));
	int err = 0, rc = SOCKET_ERROR;
	if (fault) {
		err = fault;
		if (fault == WSAENOBUFS && len)
			*len = need;
	} else if (!len || !lpErrno) {
		err = WSAEFAULT;
	} else if (!buf || *len < need) {
		*len = need;
		err = WSAENOBUFS;
	} else {
		size_t k = 0;
		for (size_t i = 0; i < c->n_entries; i++) {
			int match = !lpi;
			for (const INT *p = lpi; p && *p; p++)
				if (*p == c->entries[i].info.iProtocol)
					match = 1;
			if (match)
				buf[k++] = c->entries[i].info;
		}
		rc = (int)n;
	}
	if (err) {
		ev.err = err;
		if (lpErrno)
			*lpErrno = err;
	}
	record(&ev, rc);
	return rc;
}

int wsph_imp_get_provider_path(const void *ra, LPGUID id, WCHAR *path, LPINT len, LPINT lpErrno)
{
	struct wsph_event ev;
	int fault = begin(&ev, WSPH_FN_WSCGETPROVIDERPATH, ra);
	ev.a[0] = (uint64_t)(uintptr_t)id;
	ev.a[1] = len ? (uint64_t)(int64_t)*len : 0;
	ev.a[2] = (uint64_t)(uintptr_t)path;
	/* A buffer on the caller's stack cannot reach past the return address of the frame that
	 * holds it: a length claiming more is not the buffer's size in characters. The harness then
	 * writes no further than the frame allows (a too-small buffer gets WSAEFAULT). */
	size_t room = path ? wsph_plat_stack_room(path) : 0;
	ev.a[3] = room;
	if (room && len && *len > 0 && (uint64_t)*len * sizeof(WCHAR) > room) {
		ev.a[4] = 1;
		*len = (int)(room / sizeof(WCHAR));
	}
	int rc = wsph_catalog_path_upcall(I.cfg.catalog, id, path, len, lpErrno, fault, &ev);
	if (rc && lpErrno)
		*lpErrno = ev.err;
	record(&ev, rc);
	return rc;
}

/* A path's identity in an event (FNV-1a over its UTF-8 text), whatever the text field holds. */
static uint64_t text_hash(const char *s)
{
	return s ? wsph_fnv1a(s, strlen(s)) : wsph_fnv1a("", 0);
}

HMODULE wsph_imp_load_library(const void *ra, enum wsph_fn fn, const char *path, const void *arg)
{
	struct wsph_event ev;
	int fault = begin(&ev, fn, ra);
	struct wsph_module *m = NULL;
	char err[256];
	snprintf(ev.text, sizeof ev.text, "%s", path ? path : "(null)");
	int from_catalog = path && catalog_path(path);
	ev.a[1] = (uint64_t)from_catalog;
	ev.a[2] = path && strchr(path, '%') ? 1 : 0; /* environment strings left unexpanded */
	ev.a[3] = (uint64_t)(uintptr_t)arg;		/* the caller's buffer */
	ev.a[4] = text_hash(path);
	if (fault)
		ev.err = fault;
	else if (path && I.n < MAX_MODULES && (m = wsph_plat_load(path, err, sizeof err)) != NULL) {
		/* Imports of a module the provider loads are interposed too (the next layer). */
		wsph_imports_patch(m);
	}
	ev.a[0] = (uint64_t)(uintptr_t)m;
	record(&ev, (int64_t)(uintptr_t)m);
	if (m) {
		struct loaded *l = &I.mods[I.n++];
		l->m = m;
		l->from_catalog = from_catalog;
		l->seq = ev.seq;
		snprintf(l->name, sizeof l->name, "%s", wsph_path_base(path));
	}
	return (HMODULE)(void *)m;
}

/* The interposed names that a GetProcAddress lookup must land on too. */
static void *interposer_for(const char *name);

FARPROC wsph_imp_get_proc_address(const void *ra, HMODULE h, const char *name)
{
	struct wsph_event ev;
	begin(&ev, WSPH_FN_GETPROCADDRESS, ra);
	int by_ordinal = (uintptr_t)name < 0x10000;
	if (by_ordinal)
		snprintf(ev.text, sizeof ev.text, "#%u", (unsigned)(uintptr_t)name);
	else
		snprintf(ev.text, sizeof ev.text, "%s", name);
	struct loaded *l = find(h);
	ev.a[0] = (uint64_t)(uintptr_t)h;
	ev.a[1] = l ? l->seq : 0;
	ev.a[2] = l ? (uint64_t)l->from_catalog : 0;
	void *p = NULL;
	if (!by_ordinal && !strcmp(name, "WSPStartup") && l) {
		void *real = wsph_plat_symbol(l->m, "WSPStartup");
		if (real) {
			LPWSPSTARTUP thunk = wsph_lower_startup(real, l->name, l->seq);
			memcpy(&p, &thunk, sizeof p);
		}
	} else if (!by_ordinal && (p = interposer_for(name)) != NULL) {
		/* a dynamic lookup of WPUCompleteOverlappedRequest lands on the recorder */
	} else if (l || h) {
		p = wsph_plat_symbol((struct wsph_module *)(void *)h, name);
	}
	record(&ev, p != NULL);
	FARPROC f;
	memcpy(&f, &p, sizeof f);
	return f;
}

BOOL wsph_imp_free_library(const void *ra, HMODULE h)
{
	struct wsph_event ev;
	begin(&ev, WSPH_FN_FREELIBRARY, ra);
	ev.a[0] = (uint64_t)(uintptr_t)h;
	struct loaded *l = find(h);
	BOOL ok = FALSE;
	if (l) {
		snprintf(ev.text, sizeof ev.text, "%s", l->name);
		wsph_plat_unload(l->m);
		*l = I.mods[--I.n];
		ok = TRUE;
	}
	record(&ev, ok);
	return ok;
}

BOOL wsph_imp_post_message(const void *ra, int wide, HWND hWnd, UINT Msg, WPARAM wParam,
			   LPARAM lParam)
{
	struct wsph_event ev;
	begin(&ev, wide ? WSPH_FN_POSTMESSAGEW : WSPH_FN_POSTMESSAGEA, ra);
	ev.a[0] = (uint64_t)(uintptr_t)hWnd;
	ev.a[1] = Msg;
	ev.a[2] = (uint64_t)wParam;
	ev.a[3] = (uint64_t)lParam;
	int ours = hWnd == wsph_upcalls_window();
	ev.a[4] = (uint64_t)ours; /* a notification that bypassed WPUPostMessage */
	BOOL ok = ours ? TRUE
		       : (BOOL)wsph_plat_post_message((void *)hWnd, Msg, (uintptr_t)wParam,
						      (intptr_t)lParam, wide);
	record(&ev, ok);
	return ok;
}

int wsph_imp_complete_overlapped(const void *ra, SOCKET s, LPWSAOVERLAPPED ov, DWORD dwError,
				 DWORD cb, LPINT lpErrno)
{
	return wsph_wpu_complete_overlapped_from(ra, s, ov, dwError, cb, lpErrno);
}

/* Characters in a string of `unit`-byte characters, its terminator included (0 for NULL). */
static size_t units(const void *s, size_t unit)
{
	size_t n = 0;
	if (!s)
		return 0;
	if (unit == 1)
		return strlen(s) + 1;
	for (const uint16_t *w = s; w[n]; n++)
		;
	return n + 1;
}

/* Writes the expansion `out` in the caller's encoding when it fits; returns the characters it
 * takes, its terminator included. */
static DWORD put_expansion(const char *out, int wide, void *dst, DWORD size)
{
	if (!wide) {
		DWORD need = (DWORD)strlen(out) + 1;
		if (dst && size >= need)
			memcpy(dst, out, need);
		return need;
	}
	size_t n = 0;
	uint16_t *w = wsph_utf8_to_utf16(out, &n);
	DWORD need = w ? (DWORD)n + 1 : 0;
	if (w && dst && size >= need)
		memcpy(dst, w, need * sizeof *w);
	free(w);
	return need;
}

DWORD wsph_imp_expand_environment(const void *ra, int wide, const void *src, void *dst, DWORD size)
{
	struct wsph_event ev;
	int fault = begin(&ev, wide ? WSPH_FN_EXPANDENVIRONMENTSTRINGSW
				   : WSPH_FN_EXPANDENVIRONMENTSTRINGSA, ra);
	/* The source is read whole before anything is written: an in-place call is recorded, not
	 * made worse. */
	char *in = wide ? wsph_utf16_to_utf8(src) : wsph_strdup(src);
	char *out = in ? wsph_catalog_expand(I.cfg.catalog, in) : NULL;
	snprintf(ev.text, sizeof ev.text, "%s", in ? in : "(null)");
	ev.a[0] = (uint64_t)(uintptr_t)src;
	ev.a[1] = (uint64_t)(uintptr_t)dst;
	ev.a[2] = size;
	ev.a[3] = units(src, wide ? 2 : 1);
	ev.a[5] = text_hash(out); /* what a complete expansion gives */
	DWORD need = 0;
	if (fault)
		ev.err = fault;
	else if (out)
		need = put_expansion(out, wide, dst, size);
	ev.a[4] = need;
	record(&ev, need);
	free(in);
	free(out);
	return need;
}

/* ---- Windows: the import-table patch; the stand-ins carry the Windows signatures ---- */

static int WSPAPI p_enum(LPINT a, LPWSAPROTOCOL_INFOW b, LPDWORD c, LPINT d)
{
	return wsph_imp_enum_protocols(WSPH_RETURN_ADDRESS(), 0, a, b, c, d);
}
static int WSPAPI p_enum32(LPINT a, LPWSAPROTOCOL_INFOW b, LPDWORD c, LPINT d)
{
	return wsph_imp_enum_protocols(WSPH_RETURN_ADDRESS(), 1, a, b, c, d);
}
static int WSPAPI p_path(LPGUID a, WCHAR *b, LPINT c, LPINT d)
{
	return wsph_imp_get_provider_path(WSPH_RETURN_ADDRESS(), a, b, c, d);
}
static HMODULE WINAPI p_load_a(const char *path)
{
	return wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYA, path, path);
}
static HMODULE WINAPI p_load_w(const WCHAR *path)
{
	char *u = wsph_utf16_to_utf8((const uint16_t *)path);
	HMODULE h = wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYW, u, path);
	free(u);
	return h;
}
static HMODULE WINAPI p_load_ex_a(const char *path, HANDLE f, DWORD flags)
{
	(void)f;
	(void)flags;
	return wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYEXA, path, path);
}
static HMODULE WINAPI p_load_ex_w(const WCHAR *path, HANDLE f, DWORD flags)
{
	(void)f;
	(void)flags;
	char *u = wsph_utf16_to_utf8((const uint16_t *)path);
	HMODULE h = wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYEXW, u, path);
	free(u);
	return h;
}
static DWORD WINAPI p_expand_a(const char *src, char *dst, DWORD size)
{
	return wsph_imp_expand_environment(WSPH_RETURN_ADDRESS(), 0, src, dst, size);
}
static DWORD WINAPI p_expand_w(const WCHAR *src, WCHAR *dst, DWORD size)
{
	return wsph_imp_expand_environment(WSPH_RETURN_ADDRESS(), 1, src, dst, size);
}
static FARPROC WINAPI p_gpa(HMODULE h, const char *name)
{
	return wsph_imp_get_proc_address(WSPH_RETURN_ADDRESS(), h, name);
}
static BOOL WINAPI p_free(HMODULE h)
{
	return wsph_imp_free_library(WSPH_RETURN_ADDRESS(), h);
}
static BOOL WINAPI p_post_a(HWND h, UINT m, WPARAM w, LPARAM l)
{
	return wsph_imp_post_message(WSPH_RETURN_ADDRESS(), 0, h, m, w, l);
}
static BOOL WINAPI p_post_w(HWND h, UINT m, WPARAM w, LPARAM l)
{
	return wsph_imp_post_message(WSPH_RETURN_ADDRESS(), 1, h, m, w, l);
}
static int WSPAPI p_complete(SOCKET s, LPWSAOVERLAPPED o, DWORD e, DWORD c, LPINT err)
{
	return wsph_imp_complete_overlapped(WSPH_RETURN_ADDRESS(), s, o, e, c, err);
}

static void *as_ptr(void (*fn)(void))
{
	void *p;
	memcpy(&p, &fn, sizeof p);
	return p;
}

#define STANDIN(name, fn) {name, (void (*)(void))(fn)}
static const struct {
	const char *name;
	void (*fn)(void);
} standins[] = {
	STANDIN("WSCEnumProtocols", p_enum),
	STANDIN("WSCEnumProtocols32", p_enum32),
	STANDIN("WSCGetProviderPath", p_path),
	STANDIN("WPUCompleteOverlappedRequest", p_complete),
	STANDIN("LoadLibraryA", p_load_a),
	STANDIN("LoadLibraryW", p_load_w),
	STANDIN("LoadLibraryExA", p_load_ex_a),
	STANDIN("LoadLibraryExW", p_load_ex_w),
	STANDIN("GetProcAddress", p_gpa),
	STANDIN("FreeLibrary", p_free),
	STANDIN("PostMessageA", p_post_a),
	STANDIN("PostMessageW", p_post_w),
	STANDIN("ExpandEnvironmentStringsA", p_expand_a),
	STANDIN("ExpandEnvironmentStringsW", p_expand_w),
};

static void *interposer_for(const char *name)
{
	/* Module loading stays with the real functions when looked up dynamically; what a
	 * provider finds by name is the catalog and the completion export. */
	for (size_t i = 0; i < 4; i++)
		if (!strcmp(standins[i].name, name))
			return as_ptr(standins[i].fn);
	return NULL;
}

void wsph_imports_patch(struct wsph_module *m)
{
	for (size_t i = 0; i < sizeof standins / sizeof standins[0]; i++)
		wsph_plat_interpose(m, standins[i].name, as_ptr(standins[i].fn));
	wsph_plat_watch_threads(m);
}
