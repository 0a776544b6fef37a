/* iocplsp: WSPAsyncSelect through a hidden window of the layer's own, on a thread of its own. */
#include <stdlib.h>

#include "iocplsp.h"

/*
 * The lower WSPAsyncSelect gets this layer's window and a message per lower provider
 * (MSG_RELAY + its index). The window procedure maps the lower socket (wParam) to the client's
 * socket and re-posts the notification with WPUPostMessage to the client's window, with the
 * client's message, if the client's registration still asks for that event. The window and its
 * thread come with the first registration and go at the final WSPCleanup.
 *
 * The window thread is told, after each call of the client's, to answer once it has handled every
 * message posted before (MSG_BARRIER, a thread message: posted messages are handled in order), so
 * that a notification the lower provider posted during a call reaches the client before that call
 * returns, never after a later WSPAsyncSelect, WSPCloseSocket or WSPCleanup began.
 */

#define MSG_BARRIER (WM_APP + 1)     /* thread message: wParam = the barrier's number */
#define MSG_STOP    (WM_APP + 2)     /* thread message: destroy the window, end the thread */
#define MSG_RELAY   (WM_APP + 0x100) /* + the lower provider's index: its notification */

static const WCHAR class_name[] = L"wspharness-iocplsp-relay";

static HINSTANCE self_module(void)
{
	HMODULE m = NULL;
	GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
	                       GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
	                   (LPCWSTR)(const void *)&g, &m);
	return m;
}

/* With the lock held: the client's socket gets the notification if it still asks for it. */
static void post_locked(struct sock *k, LPARAM lparam)
{
	if (!k->as_hwnd || !(WSAGETSELECTEVENT(lparam) & k->as_events))
		return;
	up()->lpWPUPostMessage(k->as_hwnd, k->as_msg, (WPARAM)k->upper, lparam);
}

static void relay(unsigned li, SOCKET lower, LPARAM lparam)
{
	lock();
	if (g.startups > 0 && !g.final) {
		struct sock *k = find_by_lower_locked(li, lower);
		if (k) {
			post_locked(k, lparam);
		} else if (g.accepting) {
			/* Most likely the socket a WSPAccept in progress is about to wrap. */
			struct early_post *p = malloc(sizeof *p);
			if (p) {
				p->li = li;
				p->lower = lower;
				p->lparam = lparam;
				p->next = g.early;
				g.early = p;
			}
		}
	}
	unlock();
}

/* With the lock held, WSPAccept: the notifications held back for the socket it just wrapped, in
 * the order they came. */
void relay_deliver_early_locked(struct sock *k, unsigned li)
{
	struct early_post *mine = NULL;
	for (struct early_post **pp = &g.early; *pp;) {
		struct early_post *p = *pp;
		if (p->li == li && p->lower == k->lower) {
			*pp = p->next;
			p->next = mine; /* reverses the newest-first list */
			mine = p;
		} else {
			pp = &p->next;
		}
	}
	while (mine) {
		struct early_post *p = mine;
		mine = p->next;
		post_locked(k, p->lparam);
		free(p);
	}
}

static LRESULT CALLBACK relay_proc(HWND hwnd, UINT msg, WPARAM wparam, LPARAM lparam)
{
	if (msg >= MSG_RELAY && msg < MSG_RELAY + IOCPLSP_MAX_LOWERS) {
		relay(msg - MSG_RELAY, (SOCKET)wparam, lparam);
		return 0;
	}
	return DefWindowProcW(hwnd, msg, wparam, lparam);
}

static void barrier_seen(unsigned n)
{
	lock();
	if ((int)(n - g.barrier_seen) > 0)
		g.barrier_seen = n;
	wake_all();
	unlock();
}

struct relay_start {
	HANDLE ready;
	HWND hwnd;
};

static DWORD WINAPI relay_thread(LPVOID arg)
{
	struct relay_start *st = arg;
	HINSTANCE inst = self_module();
	WNDCLASSEXW wc;
	ZeroMemory(&wc, sizeof wc);
	wc.cbSize = sizeof wc;
	wc.lpfnWndProc = relay_proc;
	wc.hInstance = inst;
	wc.lpszClassName = class_name;
	ATOM atom = RegisterClassExW(&wc);
	HWND hwnd = atom ? CreateWindowExW(0, class_name, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL,
	                                   inst, NULL)
	                 : NULL;
	st->hwnd = hwnd;
	SetEvent(st->ready); /* st is the starter's: not touched after this */
	if (!hwnd) {
		if (atom)
			UnregisterClassW(class_name, inst);
		return 1;
	}
	MSG m;
	while (GetMessageW(&m, NULL, 0, 0) > 0) {
		if (!m.hwnd && m.message == MSG_BARRIER) {
			barrier_seen((unsigned)m.wParam);
			continue;
		}
		if (!m.hwnd && m.message == MSG_STOP)
			break;
		DispatchMessageW(&m);
	}
	DestroyWindow(hwnd);
	UnregisterClassW(class_name, inst);
	return 0;
}

/* The window exists (made on first use): 0, or WSAENETDOWN. Called without the lock, from a call
 * of the client's (WSPAsyncSelect); two at once make one window. */
int relay_ensure(void)
{
	static SRWLOCK once = SRWLOCK_INIT;
	AcquireSRWLockExclusive(&once);
	lock();
	int have = g.hwnd != NULL;
	unlock();
	int rc = 0;
	if (!have) {
		struct relay_start st = {CreateEventW(NULL, TRUE, FALSE, NULL), NULL};
		DWORD tid = 0;
		HANDLE t = st.ready ? CreateThread(NULL, 0, relay_thread, &st, 0, &tid) : NULL;
		if (t)
			WaitForSingleObject(st.ready, INFINITE);
		if (t && st.hwnd) {
			lock();
			g.win_thread = t;
			g.win_tid = tid;
			g.hwnd = st.hwnd;
			unlock();
		} else {
			if (t) {
				WaitForSingleObject(t, INFINITE);
				CloseHandle(t);
			}
			rc = WSAENETDOWN;
		}
		if (st.ready)
			CloseHandle(st.ready);
	}
	ReleaseSRWLockExclusive(&once);
	return rc;
}

/* What the lower WSPAsyncSelect of a socket of lp gets (NULL before the first registration). */
HWND relay_window(UINT *msg, const struct lower *lp)
{
	*msg = MSG_RELAY + lower_index(lp);
	lock();
	HWND h = g.hwnd;
	unlock();
	return h;
}

/* At the end of each call: every message posted to the window before now has been handled. */
void relay_settle(void)
{
	lock();
	DWORD tid = g.final ? 0 : g.win_tid;
	unsigned want = ++g.barrier_sent;
	unlock();
	if (!tid || !PostThreadMessageW(tid, MSG_BARRIER, (WPARAM)want, 0))
		return;
	lock();
	uint64_t t0 = GetTickCount64();
	while ((int)(g.barrier_seen - want) < 0 && GetTickCount64() - t0 < IOCPLSP_SETTLE_MS)
		wait_ms(50);
	unlock();
}

/* Final WSPCleanup: the window and its thread go. */
void relay_stop(void)
{
	lock();
	HANDLE t = g.win_thread;
	DWORD tid = g.win_tid;
	g.win_thread = NULL;
	g.win_tid = 0;
	g.hwnd = NULL;
	while (g.early) {
		struct early_post *p = g.early;
		g.early = p->next;
		free(p);
	}
	unlock();
	if (!t)
		return;
	PostThreadMessageW(tid, MSG_STOP, 0, 0);
	WaitForSingleObject(t, 2 * IOCPLSP_SETTLE_MS);
	CloseHandle(t);
}
