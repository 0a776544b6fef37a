/* Kernel handles for mockbase's IFS sockets: where the OS has them, completions go through them. */
#ifndef MB_KHANDLE_H
#define MB_KHANDLE_H

#include <stdint.h>

/*
 * An IFS provider's socket handles are file handles of the operating system, and a layer above may
 * treat them as such: associate one with an I/O completion port and take the completions of its
 * overlapped WSPSend/WSPRecv from GetQueuedCompletionStatus. Where the OS has kernel handles
 * (khandle_win32.c), each IFS socket of mockbase gets one (one end of a private pipe whose other
 * end only mockbase holds) and an overlapped operation without a completion routine is completed
 * by a real overlapped I/O of exactly its byte count on that handle: the kernel then writes the
 * OVERLAPPED's Internal/InternalHigh, signals its hEvent and queues the packet to the port.
 * mockbase keeps its data in memory either way. Elsewhere (khandle_posix.c) mb_kh_create returns
 * NULL and the in-memory model, with a proposed counter value as the handle, stays as it is (on
 * Windows too when MOCKBASE_COUNTER_HANDLES=1: output compared across builds, tests/golden).
 *
 * None of these is called with mockbase's lock held: they are kernel calls, and mb_kh_complete
 * waits for its I/O.
 */
struct mb_kh;

/* A new kernel object with one reference, or NULL (not available here, or out of resources). */
struct mb_kh *mb_kh_create(void);

/* The value handed out: the handle proposed to WPUModifyIFSHandle. */
uintptr_t mb_kh_value(const struct mb_kh *k);

void mb_kh_ref(struct mb_kh *k);

/* Drops a reference. The last one closes the private end; the handed-out value is kept (closed at
 * mb_kh_cleanup) so that a closed socket's value is not reissued to another socket, which would
 * make a stale handle name a live socket. */
void mb_kh_unref(struct mb_kh *k);

/*
 * Completes the overlapped operation ov (an OVERLAPPED) through the kernel, with `bytes` as its
 * byte count, and returns once the kernel has written ov's Internal and InternalHigh. ov's Offset
 * and OffsetHigh are left as they are. 0 on success; -1 when the kernel did not complete it (the
 * caller then completes it itself).
 */
int mb_kh_complete(struct mb_kh *k, void *ov, unsigned long bytes);

/* The final WSPCleanup: closes the handed-out values kept since their sockets closed. */
void mb_kh_cleanup(void);

#endif
