/* Windows side of platform/async.h: threads, the message-only window, thread handles, SleepEx. */
#include "../async.h"

#include <windows.h>
#include <process.h>
#include <stdlib.h>

struct wsph_thread {
	HANDLE h;
	int (*fn)(void *);
	void *ctx;
	int rc;
};

static unsigned __stdcall thread_main(void *arg)
{
	struct wsph_thread *t = arg;
	t->rc = t->fn(t->ctx);
	return 0;
}

struct wsph_thread *wsph_thread_start(int (*fn)(void *ctx), void *ctx)
{
	struct wsph_thread *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->fn = fn;
	t->ctx = ctx;
	t->h = (HANDLE)_beginthreadex(NULL, 0, thread_main, t, 0, NULL);
	if (!t->h) {
		free(t);
		return NULL;
	}
	return t;
}

int wsph_thread_join(struct wsph_thread *t)
{
	if (!t)
		return -1;
	WaitForSingleObject(t->h, INFINITE);
	CloseHandle(t->h);
	int rc = t->rc;
	free(t);
	return rc;
}

static LRESULT CALLBACK msgwin_proc(HWND h, UINT m, WPARAM w, LPARAM l)
{
	return DefWindowProcW(h, m, w, l);
}

static const wchar_t msgwin_class[] = L"wspharness-async-select";

void *wsph_msgwin_new(void)
{
	static int registered;
	HINSTANCE inst = GetModuleHandleW(NULL);
	if (!registered) {
		WNDCLASSW wc;
		ZeroMemory(&wc, sizeof wc);
		wc.lpfnWndProc = msgwin_proc;
		wc.hInstance = inst;
		wc.lpszClassName = msgwin_class;
		if (!RegisterClassW(&wc) && GetLastError() != ERROR_CLASS_ALREADY_EXISTS)
			return NULL;
		registered = 1;
	}
	return CreateWindowExW(0, msgwin_class, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, inst, NULL);
}

int wsph_msgwin_take(void *win, unsigned *msg, uintptr_t *wparam, intptr_t *lparam)
{
	MSG m;
	if (!win || !PeekMessageW(&m, (HWND)win, 0, 0, PM_REMOVE))
		return 0;
	*msg = m.message;
	*wparam = (uintptr_t)m.wParam;
	*lparam = (intptr_t)m.lParam;
	return 1;
}

void wsph_msgwin_free(void *win)
{
	if (!win)
		return;
	MSG m;
	while (PeekMessageW(&m, (HWND)win, 0, 0, PM_REMOVE))
		;
	DestroyWindow((HWND)win);
}

void *wsph_thread_handle_open(void)
{
	HANDLE h = NULL;
	if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &h, 0,
			     FALSE, DUPLICATE_SAME_ACCESS))
		return NULL;
	return h;
}

void wsph_thread_handle_close(void *h)
{
	if (h)
		CloseHandle((HANDLE)h);
}

void wsph_alertable_sleep(unsigned ms)
{
	SleepEx(ms, TRUE);
}
