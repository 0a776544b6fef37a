/* POSIX side of platform/async.h: pthreads; no windows and no APCs (upcalls.c keeps portable
 * queues for both). This file also stands in for the three kernel32 functions a provider may use
 * instead of the optional upcalls (SetEvent, ResetEvent, QueueUserAPC): on Windows they are the
 * operating system's; a POSIX provider binds to these exports of the program, which act on the
 * harness's own events and thread queues without recording an upcall, so "optional means optional"
 * gets the same verdicts on both builds. */
#include "../async.h"

#include "../../upcalls.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct wsph_thread {
	pthread_t t;
	int (*fn)(void *);
	void *ctx;
	int rc;
};

static void *thread_main(void *arg)
{
	struct wsph_thread *t = arg;
	t->rc = t->fn(t->ctx);
	return NULL;
}

struct wsph_thread *wsph_thread_start(int (*fn)(void *ctx), void *ctx)
{
	struct wsph_thread *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->fn = fn;
	t->ctx = ctx;
	if (pthread_create(&t->t, NULL, thread_main, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

int wsph_thread_join(struct wsph_thread *t)
{
	if (!t)
		return -1;
	pthread_join(t->t, NULL);
	int rc = t->rc;
	free(t);
	return rc;
}

void *wsph_msgwin_new(void)
{
	return NULL;
}

int wsph_msgwin_take(void *win, unsigned *msg, uintptr_t *wparam, intptr_t *lparam)
{
	(void)win;
	(void)msg;
	(void)wparam;
	(void)lparam;
	return 0;
}

void wsph_msgwin_free(void *win)
{
	(void)win;
}

void *wsph_thread_handle_open(void)
{
	return NULL;
}

void wsph_thread_handle_close(void *h)
{
	(void)h;
}

void wsph_alertable_sleep(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	if (ms)
		nanosleep(&ts, NULL);
}

/* ---- the kernel32 stand-ins (exported by the program) ---- */

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
