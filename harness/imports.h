/* Interposed imports: the catalog functions, module loading, GetProcAddress and PostMessage. */
#ifndef WSPH_IMPORTS_H
#define WSPH_IMPORTS_H

#include "catalog.h"
#include "platform/platform.h"
#include "wsph/spi.h"

struct wsph_imports_config {
	const struct wsph_catalog *catalog;
	int lower_hole; /* WSPPROC_TABLE entry to clear in a lower provider's table, -1 none */
};

void wsph_imports_begin(const struct wsph_imports_config *cfg);
/* Unloads the modules the provider loaded and did not free. */
void wsph_imports_end(void);
/* Forgets the modules the provider loaded without unloading them (a thread of the provider may
 * still run their code); call before wsph_imports_end. */
void wsph_imports_keep_modules(void);
/* Windows: redirects the module's imports of every interposed name to the recorders. */
void wsph_imports_patch(struct wsph_module *m);

/* The recorders; `ra` is the caller's return address (who called). POSIX exports them under the
 * Windows names; on Windows the patched import table reaches them. */
int wsph_imp_enum_protocols(const void *ra, int is32, LPINT lpiProtocols,
			    LPWSAPROTOCOL_INFOW lpProtocolBuffer, LPDWORD lpdwBufferLength,
			    LPINT lpErrno);
int wsph_imp_get_provider_path(const void *ra, LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
			       LPINT lpProviderDllPathLen, LPINT lpErrno);
/* `arg` is the path argument as the caller passed it (its buffer, recorded). */
HMODULE wsph_imp_load_library(const void *ra, enum wsph_fn fn, const char *utf8_path,
			      const void *arg);
FARPROC wsph_imp_get_proc_address(const void *ra, HMODULE h, const char *name);
BOOL wsph_imp_free_library(const void *ra, HMODULE h);
BOOL wsph_imp_post_message(const void *ra, int wide, HWND hWnd, UINT Msg, WPARAM wParam,
			   LPARAM lParam);
int wsph_imp_complete_overlapped(const void *ra, SOCKET s, LPWSAOVERLAPPED lpOverlapped,
				 DWORD dwError, DWORD cbTransferred, LPINT lpErrno);
/* ExpandEnvironmentStringsA (wide 0) / W (wide 1): %NAME% expanded with the catalog's variable and
 * the process environment, recorded with the buffers and sizes the caller passed. Nothing is
 * written when the destination is too small; the return value is the characters needed. */
DWORD wsph_imp_expand_environment(const void *ra, int wide, const void *src, void *dst,
				  DWORD size);
/* Platform part (platform/posix/exports.c, platform/win32/loader.c): the bytes from `p` to the
 * return address of the stack frame of the calling thread that holds `p`, found by unwinding the
 * stack; 0 when `p` is in no frame the unwinder reaches (the heap, static data, another thread). */
size_t wsph_plat_stack_room(const void *p);

/* The lower provider: the recording stand-in for its WSPStartup (see lower.c). */
LPWSPSTARTUP wsph_lower_startup(void *real_startup, const char *module_name,
				uint64_t load_seq);
void wsph_lower_begin(const struct wsph_catalog *catalog, int hole);
void wsph_lower_end(void);

#endif
