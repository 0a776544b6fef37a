/* pv_sync on POSIX threads (CLOCK_MONOTONIC for the clock; the condition waits in short slices). */
#define _POSIX_C_SOURCE 200809L

#include "pv_sync.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t pv_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pv_cond = PTHREAD_COND_INITIALIZER;

void pv_lock(void)
{
	pthread_mutex_lock(&pv_mutex);
}

void pv_unlock(void)
{
	pthread_mutex_unlock(&pv_mutex);
}

void pv_wait_ms(unsigned ms)
{
	/* The statically initialised condition uses CLOCK_REALTIME; a clock step only changes the
	 * length of one slice, and every caller re-checks its own monotonic deadline. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000u);
	ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec += 1;
		ts.tv_nsec -= 1000000000L;
	}
	int rc;
	do {
		rc = pthread_cond_timedwait(&pv_cond, &pv_mutex, &ts);
	} while (rc == EINTR);
}

void pv_wake_all(void)
{
	pthread_cond_broadcast(&pv_cond);
}

uint64_t pv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void pv_sleep_ms(unsigned ms)
{
	struct timespec ts;
	ts.tv_sec = (time_t)(ms / 1000u);
	ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}
