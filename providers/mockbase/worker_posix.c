/* The worker thread of the cleanup-joins-locked variant (model.h), on POSIX threads. */
#include "model.h"

#include <pthread.h>

static pthread_t worker;

static void *worker_main(void *arg)
{
	(void)arg;
	mb_worker_loop();
	return NULL;
}

int mb_worker_start(void)
{
	return pthread_create(&worker, NULL, worker_main, NULL) == 0 ? 0 : -1;
}

void mb_worker_join(void)
{
	pthread_join(worker, NULL);
}
