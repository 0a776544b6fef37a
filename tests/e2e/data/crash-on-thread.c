/* A provider whose WSPStartup starts a thread that writes to address 0x10, and waits for it: the
 * case crashes on a provider thread, never on the harness's. The error must name the module and
 * offset of the faulting instruction, the write and its address, and the thread. */
#include "wsph/spi.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#endif

/* read at run time: the compiler cannot see the address */
static int *volatile bad = (int *)(unsigned long long)0x10;

#ifdef _WIN32
static DWORD WINAPI crash(LPVOID arg)
{
	(void)arg;
	*bad = 1;
	return 0;
}

static void crash_on_a_thread(void)
{
	HANDLE h = CreateThread(NULL, 0, crash, NULL, 0, NULL);
	if (h)
		WaitForSingleObject(h, INFINITE);
}
#else
static void *crash(void *arg)
{
	(void)arg;
	*bad = 1;
	return NULL;
}

static void crash_on_a_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, crash, NULL) == 0)
		pthread_join(t, NULL);
}
#endif

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD v, LPWSPDATA data, LPWSAPROTOCOL_INFOW pi,
					   WSPUPCALLTABLE table, LPWSPPROC_TABLE procs)
{
	(void)v;
	(void)data;
	(void)pi;
	(void)table;
	(void)procs;
	crash_on_a_thread();
	return WSAEFAULT;
}
