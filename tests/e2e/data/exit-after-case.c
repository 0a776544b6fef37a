/* A provider that keeps itself loaded and leaves an exit handler behind: when the process that
 * loaded it ends, the handler makes the exit status 3. In a persistent child the scenario itself
 * completes cleanly; the harness must still report the case as an <error type="exit-after-case">
 * (the status of the child after a complete case counts). */
#include "wsph/spi.h"

#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
void exit_after_case_pin(void); /* exit-after-case-pin.c */
#endif

static int startups, registered;

static int WSPAPI fail1(LPINT e)
{
	(void)e;
	return SOCKET_ERROR;
}

static int WSPAPI x_cleanup(LPINT err)
{
	if (startups <= 0) {
		*err = WSANOTINITIALISED;
		return SOCKET_ERROR;
	}
	startups--;
	return 0;
}

static void at_exit(void)
{
#ifdef _WIN32
	TerminateProcess(GetCurrentProcess(), 3);
#else
	_exit(3);
#endif
}

/* Stays loaded after the harness unloads it, so the handler runs at process exit. */
static void pin_self(void)
{
#ifdef _WIN32
	HMODULE h;
	GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
			   (LPCWSTR)(void *)pin_self, &h);
#else
	exit_after_case_pin();
#endif
}

WSPH_PROVIDER_EXPORT int WSPAPI WSPStartup(WORD v, LPWSPDATA data, LPWSAPROTOCOL_INFOW pi,
					   WSPUPCALLTABLE table, LPWSPPROC_TABLE procs)
{
	(void)pi;
	(void)table;
	if (!data || !procs)
		return WSAEFAULT;
	if ((v & 0xff) < 2)
		return WSAVERNOTSUPPORTED;
	if (!registered) {
		registered = 1;
		pin_self();
		atexit(at_exit);
	}
	startups++;
	data->wVersion = 0x0202;
	data->wHighVersion = 0x0202;
	memset(data->szDescription, 0, sizeof data->szDescription);
	data->szDescription[0] = 'x';
	void *stub;
	int (WSPAPI *f)(LPINT) = fail1;
	memcpy(&stub, &f, sizeof stub);
	void *entries[30];
	for (int i = 0; i < 30; i++)
		entries[i] = stub;
	memcpy(procs, entries, sizeof entries);
	procs->lpWSPCleanup = x_cleanup;
	return 0;
}
