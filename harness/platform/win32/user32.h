/* The user32 functions the harness calls (win32/async.c, win32/platform.c), found when first
 * needed: importing user32 made every process of the harness load and initialize it at its start,
 * about a tenth of a second each under Wine (the parent, the probe's child, each case's child),
 * while only scenarios with a window (WSPAsyncSelect) and a provider's PostMessage use it. */
#ifndef WSPH_WIN32_USER32_H
#define WSPH_WIN32_USER32_H

#include <windows.h>

struct wsph_user32 {
	ATOM(WINAPI *register_class)(const WNDCLASSW *wc);
	HWND(WINAPI *create_window)(DWORD ex_style, LPCWSTR cls, LPCWSTR name, DWORD style, int x,
				    int y, int w, int h, HWND parent, HMENU menu, HINSTANCE inst,
				    LPVOID param);
	LRESULT(WINAPI *def_window_proc)(HWND h, UINT m, WPARAM w, LPARAM l);
	BOOL(WINAPI *destroy_window)(HWND h);
	BOOL(WINAPI *peek_message)(LPMSG m, HWND h, UINT first, UINT last, UINT remove);
	BOOL(WINAPI *post_message_a)(HWND h, UINT m, WPARAM w, LPARAM l);
	BOOL(WINAPI *post_message_w)(HWND h, UINT m, WPARAM w, LPARAM l);
};

/* Every one of them, user32 loaded (and kept) on the first call; NULL when one is missing. */
const struct wsph_user32 *wsph_win32_user32(void);

#endif
