/* faultlock on POSIX threads: a statically initialised mutex. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "faultlock.h"

static pthread_mutex_t fault_mutex = PTHREAD_MUTEX_INITIALIZER;

void mb_fault_lock(void)
{
	pthread_mutex_lock(&fault_mutex);
}

void mb_fault_unlock(void)
{
	pthread_mutex_unlock(&fault_mutex);
}
