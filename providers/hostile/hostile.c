/* Hostile providers: each misbehaves in a way that would take a harness down (crash, hang, exit,
 * abort, unbounded recursion, garbage handles, an upcall from a thread after the final cleanup, a
 * write into the procedure table the caller owns). Built once per HOSTILE_* define. */
#include "wsph/spi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <time.h>
#endif

/* HOSTILE_PROC_HOOKS: built together with hostile_proc.c, whose attacks on the process (its load,
 * its standard descriptors, its process group, its working directory) run from these hooks. */
#ifdef HOSTILE_PROC_HOOKS
void hostile_proc_startup(void);
void hostile_proc_socket(void);
#else
static void hostile_proc_startup(void)
{
}
static void hostile_proc_socket(void)
{
}
#endif

#ifndef HOSTILE_CRASH_STARTUP
#define HOSTILE_CRASH_STARTUP 0
#endif
#ifndef HOSTILE_HANG_CLOSE
#define HOSTILE_HANG_CLOSE 0
#endif
#ifndef HOSTILE_EXIT_SOCKET
#define HOSTILE_EXIT_SOCKET 0
#endif
#ifndef HOSTILE_ABORT_SOCKET
#define HOSTILE_ABORT_SOCKET 0
#endif
#ifndef HOSTILE_RECURSION
#define HOSTILE_RECURSION 0
#endif
#ifndef HOSTILE_GARBAGE_CLOSE
#define HOSTILE_GARBAGE_CLOSE 0
#endif
#ifndef HOSTILE_NULL_ERRNO
#define HOSTILE_NULL_ERRNO 0
#endif
#ifndef HOSTILE_LATE_UPCALL
#define HOSTILE_LATE_UPCALL 0
#endif
#ifndef HOSTILE_PROCTABLE_WRITE
#define HOSTILE_PROCTABLE_WRITE 0
#endif
/* How long the late thread waits before its upcall (longer than the harness waits for provider
 * threads to end, it outlives the wait and the harness must keep the module loaded). */
#ifndef HOSTILE_LATE_MS
#define HOSTILE_LATE_MS 20
#endif

static WSPUPCALLTABLE up;
static DWORD catalog_id;
static int startups;
static volatile int *volatile nowhere;
static LPWSPPROC_TABLE kept_procs; /* the caller's lpProcTable, kept past WSPStartup */

/* HOSTILE_LATE_UPCALL: the final WSPCleanup starts a thread and returns at once; a little later
 * the thread calls an upcall through the table the provider kept, then ends. */
static void late_upcall(void)
{
	LPBLOCKINGCALLBACK cb = NULL;
	DWORD_PTR ctx = 0;
	int err = 0;
#ifdef _WIN32
	Sleep(HOSTILE_LATE_MS);
#else
	struct timespec ts = {HOSTILE_LATE_MS / 1000, (HOSTILE_LATE_MS % 1000) * 1000L * 1000L};
	nanosleep(&ts, NULL);
#endif
	up.lpWPUQueryBlockingCallback(catalog_id, &cb, &ctx, &err);
}

#ifdef _WIN32
static DWORD WINAPI late_thread(LPVOID arg)
{
	(void)arg;
	late_upcall();
	return 0;
}

static void start_late_thread(void)
{
	HANDLE h = CreateThread(NULL, 0, late_thread, NULL, 0, NULL);
	if (h)
		CloseHandle(h);
}
#else
static void *late_thread(void *arg)
{
	(void)arg;
	late_upcall();
	return NULL;
}

static void start_late_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, late_thread, NULL) == 0)
		pthread_detach(t);
}
#endif

/* HOSTILE_PROCTABLE_WRITE: during a later call, the provider "patches" the procedure table it
 * filled: WSPCloseSocket becomes NULL and WSPCleanup a wild pointer. A caller that dispatched
 * through that buffer would crash at the next close or cleanup. */
static void scribble_proc_table(void)
{
	if (!kept_procs)
		return;
	void *wild = (void *)(uintptr_t)0x10;
	kept_procs->lpWSPCloseSocket = NULL;
	memcpy(&kept_procs->lpWSPCleanup, &wild, sizeof wild);
}

/* A stand-in for every entry this provider does not implement. The entries have different
 * signatures, so the stub touches none of its arguments: it fails without an error code (the
 * scenarios these providers run call only WSPSocket, WSPCloseSocket and WSPCleanup). */
static int WSPAPI fail1(LPINT e)
{
	(void)e;
	return SOCKET_ERROR;
}

/* Recursion with no end the compiler can see: the limit lives in memory it cannot reason about. */
static volatile unsigned limit = ~0u;

static unsigned depth(unsigned n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	if (n >= limit)
		return n;
	return n + depth(n + 1) + (unsigned)pad[0];
}

static SOCKET WSPAPI h_socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW pi, GROUP g,
			      DWORD flags, LPINT err)
{
	(void)af;
	(void)type;
	(void)protocol;
	(void)g;
	(void)flags;
	hostile_proc_socket();
	if (HOSTILE_EXIT_SOCKET)
		exit(3);
	if (HOSTILE_ABORT_SOCKET)
		abort();
	if (HOSTILE_RECURSION)
		return (SOCKET)depth(0);
	if (HOSTILE_PROCTABLE_WRITE)
		scribble_proc_table();
	DWORD id = pi ? pi->dwCatalogEntryId : catalog_id;
	SOCKET s = up.lpWPUCreateSocketHandle(id, (DWORD_PTR)0x1234, HOSTILE_NULL_ERRNO ? NULL : err);
	return s;
}

static int WSPAPI h_close(SOCKET s, LPINT err)
{
	if (HOSTILE_HANG_CLOSE)
		for (;;)
			(void)*(volatile int *)&startups;
	if (HOSTILE_GARBAGE_CLOSE)
		s = (SOCKET)0xdeadbeef;
	return up.lpWPUCloseSocketHandle(s, err);
}

static int WSPAPI h_cleanup(LPINT err)
{
	if (startups <= 0) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	startups--;
	if (HOSTILE_LATE_UPCALL && startups == 0)
		start_late_thread();
	return 0;
}

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD v, LPWSPDATA data, LPWSAPROTOCOL_INFOW pi,
					   WSPUPCALLTABLE table, LPWSPPROC_TABLE procs)
{
	hostile_proc_startup();
	if (HOSTILE_CRASH_STARTUP)
		*nowhere = 1;
	if (!data || !procs)
		return WSAEFAULT;
	if ((v & 0xff) < 2)
		return WSAVERNOTSUPPORTED;
	up = table;
	catalog_id = pi ? pi->dwCatalogEntryId : 0;
	startups++;
	data->wVersion = 0x0202;
	data->wHighVersion = 0x0202;
	memset(data->szDescription, 0, sizeof data->szDescription);
	data->szDescription[0] = 'h';
	/* Every entry first fails cleanly; then the three this provider implements. */
	void *stub;
	int (WSPAPI *f)(LPINT) = fail1;
	memcpy(&stub, &f, sizeof stub);
	void *entries[30];
	for (int i = 0; i < 30; i++)
		entries[i] = stub;
	memcpy(procs, entries, sizeof entries);
	procs->lpWSPSocket = h_socket;
	procs->lpWSPCloseSocket = h_close;
	procs->lpWSPCleanup = h_cleanup;
	procs->lpWSPCancelBlockingCall = fail1;
	kept_procs = procs;
	return 0;
}
