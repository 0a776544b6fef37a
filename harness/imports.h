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
HMODULE wsph_imp_load_library(const void *ra, enum wsph_fn fn, const char *utf8_path);
FARPROC wsph_imp_get_proc_address(const void *ra, HMODULE h, const char *name);
BOOL wsph_imp_free_library(const void *ra, HMODULE h);
BOOL wsph_imp_post_message(const void *ra, int wide, HWND hWnd, UINT Msg, WPARAM wParam,
			   LPARAM lParam);
int wsph_imp_complete_overlapped(const void *ra, SOCKET s, LPWSAOVERLAPPED lpOverlapped,
				 DWORD dwError, DWORD cbTransferred, LPINT lpErrno);
/* %NAME% expansion as ExpandEnvironmentStringsW does it (POSIX export). */
DWORD wsph_imp_expand_environment(const WCHAR *src, WCHAR *dst, DWORD size);

/* The lower provider: the recording stand-in for its WSPStartup (see lower.c). */
LPWSPSTARTUP wsph_lower_startup(void *real_startup, const char *module_name,
				uint64_t load_seq);
void wsph_lower_begin(const struct wsph_catalog *catalog, int hole);
void wsph_lower_end(void);

#endif
