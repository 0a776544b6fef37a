/* POSIX: the program exports what providers import on Windows (ws2_32, kernel32, user32 names), so
 * one provider source binds to the harness's recorders when built as a .so. */
#include "../../imports.h"
#include "../../upcalls.h"
#include "../../util.h"

#include <stdlib.h>

int WSPAPI WPUCompleteOverlappedRequest(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwError,
					DWORD cbTransferred, LPINT lpErrno)
{
	return wsph_imp_complete_overlapped(WSPH_RETURN_ADDRESS(), s, lpOverlapped, dwError,
					    cbTransferred, lpErrno);
}

int WSPAPI WSCEnumProtocols(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
			    LPDWORD lpdwBufferLength, LPINT lpErrno)
{
	return wsph_imp_enum_protocols(WSPH_RETURN_ADDRESS(), 0, lpiProtocols, lpProtocolBuffer,
				       lpdwBufferLength, lpErrno);
}

int WSPAPI WSCEnumProtocols32(LPINT lpiProtocols, LPWSAPROTOCOL_INFOW lpProtocolBuffer,
			      LPDWORD lpdwBufferLength, LPINT lpErrno)
{
	return wsph_imp_enum_protocols(WSPH_RETURN_ADDRESS(), 1, lpiProtocols, lpProtocolBuffer,
				       lpdwBufferLength, lpErrno);
}

int WSPAPI WSCGetProviderPath(LPGUID lpProviderId, WCHAR *lpszProviderDllPath,
			      LPINT lpProviderDllPathLen, LPINT lpErrno)
{
	return wsph_imp_get_provider_path(WSPH_RETURN_ADDRESS(), lpProviderId, lpszProviderDllPath,
					  lpProviderDllPathLen, lpErrno);
}

HMODULE WINAPI LoadLibraryA(const char *lpLibFileName)
{
	return wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYA, lpLibFileName,
				     lpLibFileName);
}

HMODULE WINAPI LoadLibraryW(LPCWSTR lpLibFileName)
{
	char *u = wsph_utf16_to_utf8((const uint16_t *)lpLibFileName);
	HMODULE h =
		wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYW, u, lpLibFileName);
	free(u);
	return h;
}

HMODULE WINAPI LoadLibraryExA(const char *lpLibFileName, HANDLE hFile, DWORD dwFlags)
{
	(void)hFile;
	(void)dwFlags;
	return wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYEXA, lpLibFileName,
				     lpLibFileName);
}

HMODULE WINAPI LoadLibraryExW(LPCWSTR lpLibFileName, HANDLE hFile, DWORD dwFlags)
{
	(void)hFile;
	(void)dwFlags;
	char *u = wsph_utf16_to_utf8((const uint16_t *)lpLibFileName);
	HMODULE h =
		wsph_imp_load_library(WSPH_RETURN_ADDRESS(), WSPH_FN_LOADLIBRARYEXW, u, lpLibFileName);
	free(u);
	return h;
}

FARPROC WINAPI GetProcAddress(HMODULE hModule, const char *lpProcName)
{
	return wsph_imp_get_proc_address(WSPH_RETURN_ADDRESS(), hModule, lpProcName);
}

BOOL WINAPI FreeLibrary(HMODULE hLibModule)
{
	return wsph_imp_free_library(WSPH_RETURN_ADDRESS(), hLibModule);
}

DWORD WINAPI ExpandEnvironmentStringsA(const char *lpSrc, char *lpDst, DWORD nSize)
{
	return wsph_imp_expand_environment(WSPH_RETURN_ADDRESS(), 0, lpSrc, lpDst, nSize);
}

DWORD WINAPI ExpandEnvironmentStringsW(LPCWSTR lpSrc, LPWSTR lpDst, DWORD nSize)
{
	return wsph_imp_expand_environment(WSPH_RETURN_ADDRESS(), 1, lpSrc, lpDst, nSize);
}

BOOL WINAPI PostMessageA(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam)
{
	return wsph_imp_post_message(WSPH_RETURN_ADDRESS(), 0, hWnd, Msg, wParam, lParam);
}

BOOL WINAPI PostMessageW(HWND hWnd, UINT Msg, WPARAM wParam, LPARAM lParam)
{
	return wsph_imp_post_message(WSPH_RETURN_ADDRESS(), 1, hWnd, Msg, wParam, lParam);
}

/* ---- the kernel32 stand-ins ----
 * The three kernel32 functions a provider may use instead of the optional upcalls (SetEvent,
 * ResetEvent, QueueUserAPC): on Windows they are the operating system's; a POSIX provider binds
 * to these, which act on the harness's own events and thread queues without recording an upcall,
 * so "optional means optional" gets the same verdicts on both builds. */

typedef void(CALLBACK *wsph_papcfunc)(ULONG_PTR);

BOOL WINAPI SetEvent(HANDLE hEvent);
BOOL WINAPI ResetEvent(HANDLE hEvent);
DWORD WINAPI QueueUserAPC(wsph_papcfunc pfnAPC, HANDLE hThread, ULONG_PTR dwData);

BOOL WINAPI SetEvent(HANDLE hEvent)
{
	return wsph_upcalls_os_event(hEvent, 1) ? TRUE : FALSE;
}

BOOL WINAPI ResetEvent(HANDLE hEvent)
{
	return wsph_upcalls_os_event(hEvent, 0) ? TRUE : FALSE;
}

DWORD WINAPI QueueUserAPC(wsph_papcfunc pfnAPC, HANDLE hThread, ULONG_PTR dwData)
{
	return wsph_upcalls_os_queue_apc((LPWSAUSERAPC)pfnAPC, hThread, (DWORD_PTR)dwData) ? 1u
											: 0u;
}
