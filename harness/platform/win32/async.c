/* Windows side of platform/async.h: threads, the message-only window, thread handles, SleepEx. */
#include "../async.h"
#include "user32.h"

#include <windows.h>
#include <process.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

struct wsph_barrier {
	CRITICAL_SECTION cs;
	CONDITION_VARIABLE c;
	unsigned n, waiting, broken;
	unsigned long gen;
};

struct wsph_barrier *wsph_barrier_new(unsigned n)
{
	struct wsph_barrier *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	InitializeCriticalSection(&b->cs);
	InitializeConditionVariable(&b->c);
	b->n = n;
	return b;
}

int wsph_barrier_wait(struct wsph_barrier *b)
{
	EnterCriticalSection(&b->cs);
	unsigned long gen = b->gen;
	if (!b->broken && ++b->waiting == b->n) {
		b->waiting = 0;
		b->gen++;
		WakeAllConditionVariable(&b->c);
	}
	while (!b->broken && gen == b->gen)
		SleepConditionVariableCS(&b->c, &b->cs, INFINITE);
	int passed = gen != b->gen;
	LeaveCriticalSection(&b->cs);
	return passed;
}

void wsph_barrier_break(struct wsph_barrier *b)
{
	EnterCriticalSection(&b->cs);
	b->broken = 1;
	WakeAllConditionVariable(&b->c);
	LeaveCriticalSection(&b->cs);
}

void wsph_barrier_free(struct wsph_barrier *b)
{
	if (!b)
		return;
	DeleteCriticalSection(&b->cs);
	free(b);
}

void wsph_thread_yield(void)
{
	SwitchToThread();
}

static struct wsph_user32 user32;

static BOOL CALLBACK find_user32(PINIT_ONCE once, PVOID arg, PVOID *ctx)
{
	static const struct {
		const char *name;
		size_t at;
	} fns[] = {
		{"RegisterClassW", offsetof(struct wsph_user32, register_class)},
		{"CreateWindowExW", offsetof(struct wsph_user32, create_window)},
		{"DefWindowProcW", offsetof(struct wsph_user32, def_window_proc)},
		{"DestroyWindow", offsetof(struct wsph_user32, destroy_window)},
		{"PeekMessageW", offsetof(struct wsph_user32, peek_message)},
		{"PostMessageA", offsetof(struct wsph_user32, post_message_a)},
		{"PostMessageW", offsetof(struct wsph_user32, post_message_w)},
	};
	(void)once;
	(void)arg;
	(void)ctx;
	HMODULE m = LoadLibraryW(L"user32.dll");
	for (size_t i = 0; m && i < sizeof fns / sizeof fns[0]; i++) {
		FARPROC f = GetProcAddress(m, fns[i].name);
		if (!f)
			return FALSE;
		memcpy((char *)&user32 + fns[i].at, &f, sizeof f);
	}
	return m != NULL;
}

const struct wsph_user32 *wsph_win32_user32(void)
{
	static INIT_ONCE once = INIT_ONCE_STATIC_INIT;
	return InitOnceExecuteOnce(&once, find_user32, NULL, NULL) ? &user32 : NULL;
}

static LRESULT CALLBACK msgwin_proc(HWND h, UINT m, WPARAM w, LPARAM l)
{
	return wsph_win32_user32()->def_window_proc(h, m, w, l);
}

static const wchar_t msgwin_class[] = L"wspharness-async-select";

void *wsph_msgwin_new(void)
{
	static int registered;
	HINSTANCE inst = GetModuleHandleW(NULL);
	const struct wsph_user32 *u = wsph_win32_user32();
	if (!u)
		return NULL;
	if (!registered) {
		WNDCLASSW wc;
		ZeroMemory(&wc, sizeof wc);
		wc.lpfnWndProc = msgwin_proc;
		wc.hInstance = inst;
		wc.lpszClassName = msgwin_class;
		if (!u->register_class(&wc) && GetLastError() != ERROR_CLASS_ALREADY_EXISTS)
			return NULL;
		registered = 1;
	}
	return u->create_window(0, msgwin_class, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL, inst, NULL);
}

int wsph_msgwin_take(void *win, unsigned *msg, uintptr_t *wparam, intptr_t *lparam)
{
	MSG m;
	if (!win || !wsph_win32_user32()->peek_message(&m, (HWND)win, 0, 0, PM_REMOVE))
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
	/* a window was made: user32 is there */
	const struct wsph_user32 *u = wsph_win32_user32();
	MSG m;
	while (u->peek_message(&m, (HWND)win, 0, 0, PM_REMOVE))
		;
	u->destroy_window((HWND)win);
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
