/* Windows module loading: LoadLibraryW a provider DLL, find symbols, patch its imports. */
#include "../platform.h"
#include "errtext.h"

#include <windows.h>

#ifdef _MSC_VER
#define WSPH_LOAD_TLS __declspec(thread)
#else
#define WSPH_LOAD_TLS _Thread_local
#endif
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int to_wide(const char *s, wchar_t *out, int n)
{
	return MultiByteToWideChar(CP_UTF8, 0, s, -1, out, n) > 0 ? 0 : -1;
}

/* The first exception raised on this thread while a module loads (its DllMain, its TLS
 * callbacks). The loader catches it and fails LoadLibrary; the code says what happened. */
static WSPH_LOAD_TLS int loading;
static WSPH_LOAD_TLS DWORD load_exc, last_exc;

static LONG WINAPI note_load_exception(EXCEPTION_POINTERS *ep)
{
	DWORD code = ep->ExceptionRecord->ExceptionCode;
	/* errors only (severity 3: access violations, C++ exceptions), not the informational ones a
	 * DllMain may raise and handle (OutputDebugString's) */
	if (loading && !load_exc && code >> 30 == 3)
		load_exc = code;
	return EXCEPTION_CONTINUE_SEARCH;
}

/* The module's import descriptors, or NULL. */
static IMAGE_IMPORT_DESCRIPTOR *imports_of(HMODULE h)
{
	BYTE *base = (BYTE *)h;
	IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
	if (dos->e_magic != IMAGE_DOS_SIGNATURE)
		return NULL;
	IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
	IMAGE_DATA_DIRECTORY dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
	return dir.VirtualAddress ? (IMAGE_IMPORT_DESCRIPTOR *)(base + dir.VirtualAddress) : NULL;
}

/* Is the module one of the system folder's? */
static int in_system_dir(HMODULE m)
{
	static wchar_t sys[MAX_PATH];
	static UINT ns;
	wchar_t path[MAX_PATH * 2];
	if (!ns) {
		UINT n = GetSystemDirectoryW(sys, MAX_PATH);
		if (!n || n >= MAX_PATH)
			return 0;
		ns = n;
	}
	DWORD n = GetModuleFileNameW(m, path, MAX_PATH * 2);
	return n > ns && n < MAX_PATH * 2 && !_wcsnicmp(path, sys, ns) &&
	       (path[ns] == L'\\' || path[ns] == L'/');
}

/* The system DLLs a module imports (ws2_32 for every provider) stay loaded once it was: a program
 * that uses providers has them loaded for good, and unloading ws2_32 with the provider after each
 * case made the next case load it again, its own imports and initialization with it (milliseconds
 * under Wine, most of a trivial case). A DLL that is not the system's (one of the provider's
 * folder) is never kept: each case loads it afresh. */
static void keep_system_imports(HMODULE h)
{
	static HMODULE kept[64];
	static volatile LONG n_kept;
	IMAGE_IMPORT_DESCRIPTOR *imp = imports_of(h);
	for (; imp && imp->Name; imp++) {
		HMODULE m = GetModuleHandleA((const char *)h + imp->Name);
		LONG n = n_kept, i = 0;
		while (i < n && kept[i] != m)
			i++;
		if (!m || i < n || n == (LONG)(sizeof kept / sizeof kept[0]) || !in_system_dir(m))
			continue;
		HMODULE pinned;
		if (GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
				       (LPCWSTR)m, &pinned))
			kept[InterlockedIncrement(&n_kept) - 1] = m;
	}
}

long wsph_plat_load_exception(void)
{
	return (long)last_exc;
}

struct wsph_module *wsph_plat_load(const char *path, char *err, size_t errlen)
{
	static volatile LONG watching;
	if (!InterlockedExchange(&watching, 1))
		AddVectoredExceptionHandler(0, note_load_exception);
	last_exc = 0;
	wchar_t wpath[MAX_PATH * 4];
	if (to_wide(path, wpath, (int)(sizeof wpath / sizeof wpath[0])) != 0) {
		snprintf(err, errlen, "path is not valid UTF-8");
		return NULL;
	}
	for (wchar_t *p = wpath; *p; p++)
		if (*p == L'/')
			*p = L'\\';
	/* Search the DLL's own folder for its dependencies, as ws2_32 does for providers. */
	HMODULE h = NULL;
	DWORD code = 0;
	/* Under Wine a MinGW DLL's C runtime start-up has been seen to fail now and then
	 * (ERROR_DLL_INIT_FAILED with no exception, once in some thousands of loads under load);
	 * a second attempt tells that apart from a DllMain that refuses every time. */
	for (int attempt = 0; !h && attempt < 2; attempt++) {
		load_exc = 0;
		loading = 1;
		h = LoadLibraryExW(wpath, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
		code = GetLastError();
		loading = 0;
		if (h || code != ERROR_DLL_INIT_FAILED || load_exc)
			break;
	}
	if (!h) {
		last_exc = load_exc;
		char msg[1024];
		const char *hint = wsph_win32_load_hint(code);
		wsph_win32_error_text(code, path, msg, sizeof msg);
		snprintf(err, errlen, "LoadLibrary failed: %s%s(error %lu%s%s)", msg, msg[0] ? " " : "",
			 (unsigned long)code, hint ? ": " : "", hint ? hint : "");
		return NULL;
	}
	keep_system_imports(h);
	return (struct wsph_module *)h;
}

/* Appends text to out (at *used, within cap). */
static void put(char *out, size_t cap, size_t *used, const char *text, size_t n)
{
	if (*used + n >= cap)
		n = cap - 1 - *used;
	memcpy(out + *used, text, n);
	*used += n;
	out[*used] = '\0';
}

/* The message's escapes with IGNORE_INSERTS left in it: %1..%99 (and a !format! after one),
 * %n, %%, %0 (the end). */
static void fill_inserts(const char *msg, const char *insert, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (const char *p = msg; *p && used + 1 < cap;) {
		size_t plain = strcspn(p, "%");
		put(out, cap, &used, p, plain);
		p += plain;
		if (!*p)
			break;
		if (p[1] >= '1' && p[1] <= '9') {
			int n = p[1] - '0';
			p += 2;
			if (*p >= '0' && *p <= '9')
				n = n * 10 + (*p++ - '0');
			if (*p == '!' && strchr(p + 1, '!'))
				p = strchr(p + 1, '!') + 1;
			const char *with = n == 1 && insert ? insert : "?";
			put(out, cap, &used, with, strlen(with));
		} else if (p[1] == '0' || !p[1]) {
			break;
		} else {
			put(out, cap, &used, p[1] == 'n' ? " " : p + 1, 1);
			p += 2;
		}
	}
}

void wsph_win32_error_text(unsigned long code, const char *insert, char *out, size_t cap)
{
	wchar_t w[512];
	char text[1024];
	if (!cap)
		return;
	DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
				 (DWORD)code, 0, w, (DWORD)(sizeof w / sizeof w[0]), NULL);
	w[n < sizeof w / sizeof w[0] ? n : 0] = 0;
	if (!n || !WideCharToMultiByte(CP_UTF8, 0, w, -1, text, (int)sizeof text, NULL, NULL))
		text[0] = '\0';
	fill_inserts(text, insert, out, cap);
	size_t len = strlen(out);
	while (len && strchr("\r\n .", out[len - 1]))
		out[--len] = '\0';
}

const char *wsph_win32_load_hint(unsigned long code)
{
	static const struct {
		unsigned long code;
		const char *hint;
	} hints[] = {
		{ERROR_BAD_EXE_FORMAT, "not a DLL this Windows build can load; build the provider "
				       "with the mingw-w64 cross build"},
		{ERROR_EXE_MACHINE_TYPE_MISMATCH, "built for another processor than this build"},
		{ERROR_MOD_NOT_FOUND, "the DLL, or a DLL it imports, was not found (its imports are "
				      "searched in its own folder first)"},
		{ERROR_PROC_NOT_FOUND, "a function it imports is missing from the DLL it imports it "
				       "from"},
		{ERROR_DLL_INIT_FAILED, "its DllMain returned FALSE"},
		{ERROR_SXS_CANT_GEN_ACTCTX, "a side-by-side dependency (such as a C runtime) is "
					    "missing"},
	};
	for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
		if (hints[i].code == code)
			return hints[i].hint;
	return NULL;
}

void *wsph_plat_symbol(struct wsph_module *m, const char *name)
{
	FARPROC p = GetProcAddress((HMODULE)m, name);
	void *out;
	memcpy(&out, &p, sizeof out);
	return out;
}

void wsph_plat_unload(struct wsph_module *m)
{
	if (m)
		FreeLibrary((HMODULE)m);
}

/* Walks the import descriptors of the module and rewrites every IAT slot bound to `name`. */
int wsph_plat_interpose(struct wsph_module *m, const char *name, void *replacement)
{
	BYTE *base = (BYTE *)m;
	int patched = 0;
	IMAGE_IMPORT_DESCRIPTOR *imp = imports_of((HMODULE)m);
	for (; imp && imp->Name; imp++) {
		if (!imp->OriginalFirstThunk)
			continue;
		IMAGE_THUNK_DATA *names = (IMAGE_THUNK_DATA *)(base + imp->OriginalFirstThunk);
		IMAGE_THUNK_DATA *slots = (IMAGE_THUNK_DATA *)(base + imp->FirstThunk);
		for (; names->u1.AddressOfData; names++, slots++) {
			if (IMAGE_SNAP_BY_ORDINAL(names->u1.Ordinal))
				continue;
			IMAGE_IMPORT_BY_NAME *ibn =
				(IMAGE_IMPORT_BY_NAME *)(base + names->u1.AddressOfData);
			if (strcmp((const char *)ibn->Name, name) != 0)
				continue;
			DWORD old;
			if (!VirtualProtect(&slots->u1.Function, sizeof slots->u1.Function,
					    PAGE_READWRITE, &old))
				continue;
			slots->u1.Function = (ULONGLONG)(ULONG_PTR)replacement;
			VirtualProtect(&slots->u1.Function, sizeof slots->u1.Function, old, &old);
			patched++;
		}
	}
	return patched;
}

const char *wsph_plat_module_name_at(const void *addr, char *buf, size_t len)
{
	HMODULE h = NULL;
	wchar_t wname[MAX_PATH];
	if (!addr ||
	    !GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
					GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
				(LPCWSTR)addr, &h) ||
	    !GetModuleFileNameW(h, wname, MAX_PATH)) {
		snprintf(buf, len, "?");
		return buf;
	}
	const wchar_t *base = wname;
	for (const wchar_t *p = wname; *p; p++)
		if (*p == L'\\' || *p == L'/')
			base = p + 1;
	if (!WideCharToMultiByte(CP_UTF8, 0, base, -1, buf, (int)len, NULL, NULL))
		snprintf(buf, len, "?");
	return buf;
}

const char *wsph_plat_module_suffix(void)
{
	return ".dll";
}

/* ---- the stack frame that holds a buffer (wsph_plat_stack_room, declared in imports.h) ---- */

size_t wsph_plat_stack_room(const void *p);

#if defined(__x86_64__) || defined(_M_X64)
/* Unwinds the calling thread's stack with the modules' unwind data: after a frame is unwound,
 * Rsp is its caller's stack pointer, its return address lies just below it, and everything the
 * frame holds lies between the previous Rsp and that. A frame without unwind data ends the walk
 * (nothing is judged past it). */
size_t wsph_plat_stack_room(const void *p)
{
	CONTEXT ctx;
	RtlCaptureContext(&ctx);
	/* The committed stack above the stack pointer is one region: its end is the stack's base. */
	MEMORY_BASIC_INFORMATION mbi;
	if (!VirtualQuery(&ctx, &mbi, sizeof mbi))
		return 0;
	ULONG64 hi = (ULONG64)(ULONG_PTR)mbi.BaseAddress + mbi.RegionSize;
	ULONG64 a = (ULONG64)(ULONG_PTR)p, prev = ctx.Rsp;
	if (a < prev || a >= hi)
		return 0;
	for (int depth = 0; depth < 64; depth++) {
		ULONG64 image = 0;
		PRUNTIME_FUNCTION fn = RtlLookupFunctionEntry(ctx.Rip, &image, NULL);
		if (!fn)
			return 0;
		void *handler_data = NULL;
		ULONG64 establisher = 0;
		RtlVirtualUnwind(UNW_FLAG_NHANDLER, image, ctx.Rip, fn, &ctx, &handler_data,
				 &establisher, NULL);
		ULONG64 sp = ctx.Rsp;
		if (sp <= prev || sp > hi || !ctx.Rip)
			return 0;
		if (a < sp) {
			ULONG64 ret_slot = sp - sizeof(void *);
			return a < ret_slot ? (size_t)(ret_slot - a) : 0;
		}
		prev = sp;
	}
	return 0;
}
#else
size_t wsph_plat_stack_room(const void *p)
{
	(void)p;
	return 0;
}
#endif
