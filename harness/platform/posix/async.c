/* POSIX side of platform/async.h: pthreads; no windows and no APCs (upcalls.c keeps portable
 * queues for both; the kernel32 functions a provider may call instead are exports.c's). */
#include "../async.h"

#include <pthread.h>
#include <sched.h>
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

struct wsph_barrier {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned n, waiting, broken;
	unsigned long gen;
};

struct wsph_barrier *wsph_barrier_new(unsigned n)
{
	struct wsph_barrier *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	pthread_mutex_init(&b->m, NULL);
	pthread_cond_init(&b->c, NULL);
	b->n = n;
	return b;
}

int wsph_barrier_wait(struct wsph_barrier *b)
{
	pthread_mutex_lock(&b->m);
	unsigned long gen = b->gen;
	if (!b->broken && ++b->waiting == b->n) {
		b->waiting = 0;
		b->gen++;
		pthread_cond_broadcast(&b->c);
	}
	while (!b->broken && gen == b->gen)
		pthread_cond_wait(&b->c, &b->m);
	int passed = gen != b->gen;
	pthread_mutex_unlock(&b->m);
	return passed;
}

void wsph_barrier_break(struct wsph_barrier *b)
{
	pthread_mutex_lock(&b->m);
	b->broken = 1;
	pthread_cond_broadcast(&b->c);
	pthread_mutex_unlock(&b->m);
}

void wsph_barrier_free(struct wsph_barrier *b)
{
	if (!b)
		return;
	pthread_cond_destroy(&b->c);
	pthread_mutex_destroy(&b->m);
	free(b);
}

void wsph_thread_yield(void)
{
	sched_yield();
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
