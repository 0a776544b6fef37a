/* The worker thread of the cleanup-joins-locked variant (model.h), on Windows threads. */
#include "model.h"

static HANDLE worker;

static DWORD WINAPI worker_main(LPVOID arg)
{
	(void)arg;
	mb_worker_loop();
	return 0;
}

int mb_worker_start(void)
{
	worker = CreateThread(NULL, 0, worker_main, NULL, 0, NULL);
	return worker ? 0 : -1;
}

void mb_worker_join(void)
{
	WaitForSingleObject(worker, INFINITE);
	CloseHandle(worker);
	worker = NULL;
}
