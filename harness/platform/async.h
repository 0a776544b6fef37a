/* What the asynchronous upcalls need from the OS: a helper thread, the harness's message window,
 * real thread handles and alertable sleeps. The upcall layer (upcalls.c) builds on these; POSIX has
 * no windows or APCs, so there the portable queues in upcalls.c stand alone. */
#ifndef WSPH_PLATFORM_ASYNC_H
#define WSPH_PLATFORM_ASYNC_H

#include <stdint.h>

/* A helper thread of the harness (the "peer" that lets data arrive while the driver blocks). */
struct wsph_thread;
struct wsph_thread *wsph_thread_start(int (*fn)(void *ctx), void *ctx);
/* Waits for the thread to end and frees it; returns what fn returned (-1 when t is NULL). */
int wsph_thread_join(struct wsph_thread *t);

/* A barrier for `n` threads of the harness, reusable: each wsph_barrier_wait returns once n
 * threads are waiting (1), or at once once the barrier is broken (0). Broken, it stays broken:
 * a thread that gives up wakes the others instead of leaving them waiting for good. */
struct wsph_barrier;
struct wsph_barrier *wsph_barrier_new(unsigned n);
int wsph_barrier_wait(struct wsph_barrier *b);
void wsph_barrier_break(struct wsph_barrier *b);
void wsph_barrier_free(struct wsph_barrier *b);
/* Gives the processor to another runnable thread, if any. */
void wsph_thread_yield(void);

/* Windows: a message-only window (HWND_MESSAGE) owned by the calling thread; POSIX: NULL. */
void *wsph_msgwin_new(void);
/* Removes the oldest message queued for the window; 1 when one was taken, 0 when none. Must run
 * on the thread that created the window. */
int wsph_msgwin_take(void *win, unsigned *msg, uintptr_t *wparam, intptr_t *lparam);
void wsph_msgwin_free(void *win);

/* Windows: a real handle for the calling thread (DuplicateHandle), usable with QueueUserAPC;
 * POSIX: NULL (the caller makes a token of its own). */
void *wsph_thread_handle_open(void);
void wsph_thread_handle_close(void *h);
/* Windows: SleepEx(ms, TRUE), so APCs queued with QueueUserAPC run; POSIX: a plain sleep. */
void wsph_alertable_sleep(unsigned ms);

#endif
