/* The instrumented WSPUPCALLTABLE (15 entries) and WPUCompleteOverlappedRequest. */
#ifndef WSPH_UPCALLS_H
#define WSPH_UPCALLS_H

#include "scenario.h"
#include "trace.h"
#include "wsph/spi.h"

struct wsph_catalog;

struct wsph_upcall_config {
	unsigned kind;		 /* WSPH_KIND_IFS or WSPH_KIND_NONIFS */
	const struct wsph_catalog *catalog; /* entries, GUIDs and paths */
	int modify_ifs_same;	 /* WPUModifyIFSHandle returns the proposed handle */
	const struct wsph_fault *faults;
	size_t n_faults;
	int blocking; /* WSPH_BLOCKING_*: what WPUQueryBlockingCallback hands out */
	/* Calls the provider's WSPCancelBlockingCall (recorded by the driver); for the hook. */
	void (*cancel_blocking)(void *ctx);
	void *cancel_ctx;
};

/* Values the harness writes into structures the provider may no longer hold (a WSATHREADID once the
 * call that was given it returned; a WSAOVERLAPPED once its completion was collected). An upcall
 * that names one of them proves the provider kept a pointer instead of a copy. */
#define WSPH_POISON_THREAD ((uintptr_t)0x0dead7d0u)
#define WSPH_POISON_EVENT ((uintptr_t)0x0dead3e0u)

/* Starts a scenario: clears the ledger, counters and queues; records into `trace`. */
void wsph_upcalls_begin(struct wsph_trace *trace, const struct wsph_upcall_config *cfg);
/* Ends it: frees events and thread tokens the provider left behind. */
void wsph_upcalls_end(void);

/* The provider set changed (a module was loaded or unloaded while a scenario runs): forget the
 * cached module of every return address. wsph_upcalls_begin and _end do it themselves. */
void wsph_upcalls_forget_modules(void);

/* A buffer holding table A (0) or B (1), valid until wsph_upcalls_end. */
WSPUPCALLTABLE *wsph_upcalls_table_buffer(int table);
/* After WSPStartup returned: overwrite the buffer with the poisoned table. */
void wsph_upcalls_poison(WSPUPCALLTABLE *buf);
/* The driver reports startup/cleanup outcomes (for WSANOTINITIALISED answers and table checks). */
void wsph_upcalls_startup_done(int table, int success);
void wsph_upcalls_cleanup_done(int success);
/* Layered runs: the layer under test (layer_module) loaded `lower_module` as the provider below
 * it. Every upcall and import that module makes is recorded as made on the layer's behalf, and
 * against the table the layer gave it most recently rather than the harness's latest. */
void wsph_upcalls_set_lower(const char *lower_module, const char *layer_module);
/* The table the layer passes to the lower WSPStartup being made (WSPH_TABLE_A/B/POISON, -1 a
 * table of the layer's own); returns the one before, to put back when that startup fails. */
int wsph_upcalls_lower_table(int table);
/* The trace of the scenario in progress (NULL outside one). */
struct wsph_trace *wsph_upcalls_trace(void);

/* The driver brackets each WSP call so upcalls know the call (and step) they happen inside: the
 * innermost call in progress on the same driver thread. The thread that called
 * wsph_upcalls_begin is the main driver thread; a thread of a parallel block makes itself one
 * with wsph_upcalls_driver_thread (at `step`) before its first call. set_step: the calling driver
 * thread's step (the main thread's is also the step of the provider's own threads' upcalls). */
void wsph_upcalls_driver_thread(int step);
void wsph_upcalls_enter(uint64_t call_seq, int step);
void wsph_upcalls_leave(void);
void wsph_upcalls_set_step(int step);

/* A SOCKET value nobody issued (for "bogus" operands). */
SOCKET wsph_upcalls_bogus_handle(void);
/* A WSATHREADID for the calling thread, as ws2_32 passes to overlapped calls. */
void wsph_upcalls_thread_id(WSATHREADID *out);
/* Runs the APCs queued for the calling thread (an alertable point): the portable queue that
 * WPUQueueApc (and the POSIX QueueUserAPC stand-in) fill, and on Windows the thread's own APC queue
 * (SleepEx). Returns how many portable APCs ran. */
int wsph_upcalls_alertable(void);
/* The same, waiting up to ms (in short alertable slices) for at least one APC. */
int wsph_upcalls_alertable_wait(unsigned ms);
/* Overwrites a WSATHREADID the provider may no longer hold with WSPH_POISON_THREAD. */
void wsph_upcalls_poison_thread_id(WSATHREADID *tid);

/* The driver threads' state, for the harness's helper thread: 1 while one is inside a WSP call
 * (*step: the step in progress; *calls_done: how many outermost WSP calls have returned). */
int wsph_upcalls_driver_busy(int *step, unsigned *calls_done);

/* ---- the harness window (WSPAsyncSelect) ---- */
/* Makes the window real: on Windows a message-only window owned by the calling (driver) thread,
 * so a PostMessage that bypassed WPUPostMessage is seen too; POSIX keeps the portable one. */
void wsph_upcalls_open_window(void);
struct wsph_message {
	unsigned msg;
	uint64_t wparam;
	int64_t lparam;
	uint64_t seq; /* the WPUPostMessage event */
};
/* Takes the oldest message WPUPostMessage posted to the harness window for wparam (any wparam
 * when all is set). 1 when one was taken. */
int wsph_upcalls_take_message(uint64_t wparam, int all, struct wsph_message *out);
/* Windows: empties the real window. Returns how many messages it held that WPUPostMessage never
 * posted (the first in *bypass); POSIX: 0. */
int wsph_upcalls_pump_window(struct wsph_message *bypass);

/* ---- the blocking hook (upcalls.blocking_callback) ---- */
#define WSPH_BLOCKING_NONE 0   /* WPUQueryBlockingCallback answers NULL, as for 2.x clients */
#define WSPH_BLOCKING_TRUE 1   /* a hook that keeps the call waiting */
#define WSPH_BLOCKING_FALSE 2  /* a hook that says stop: the call must fail with WSAEINTR */
#define WSPH_BLOCKING_CANCEL 3 /* a hook that calls WSPCancelBlockingCall, then says go on */
struct wsph_blocking_stats {
	unsigned queried;      /* WPUQueryBlockingCallback calls */
	unsigned calls;	       /* hook calls */
	unsigned bad_context;  /* hook calls with a context other than the one handed out */
	unsigned outside_call; /* hook calls while no WSP call was in progress on the calling driver
				  thread */
	unsigned after_stop;   /* hook calls after it returned FALSE or cancelled */
	unsigned cancels;      /* WSPCancelBlockingCall made by the hook */
};
void wsph_upcalls_blocking_stats(struct wsph_blocking_stats *out);

/* ---- the OS equivalents of the optional upcalls (POSIX stand-ins for SetEvent, ResetEvent and
 * QueueUserAPC): they act like the upcalls but record nothing. 1 on success. ---- */
int wsph_upcalls_os_event(HANDLE h, int set);
int wsph_upcalls_os_queue_apc(LPWSAUSERAPC fn, HANDLE thread, DWORD_PTR ctx);

/* For the other recorders (imports, the lower provider): the upcall lock, an event begun like an
 * upcall (step, parent call, calling module, injected fault returned), and its recording. */
void wsph_upcalls_lock(void);
void wsph_upcalls_unlock(void);
int wsph_upcalls_event(struct wsph_event *ev, enum wsph_fn fn, const void *return_address);
void wsph_upcalls_append(struct wsph_event *ev);
/* Records a CALL made on this thread and makes it the parent of what follows until the matching
 * wsph_upcalls_leave. Returns its seq. */
uint64_t wsph_upcalls_push_call(struct wsph_event *call);
/* Which table this is (WSPH_TABLE_A/B/POISON), or -1 when it is none of the harness's. */
int wsph_upcalls_table_of(const WSPUPCALLTABLE *t);
const WSPUPCALLTABLE *wsph_upcalls_current_table(void);
unsigned wsph_upcalls_count(enum wsph_fn fn);
/* A ThreadHandle from WPUOpenCurrentThread or from the harness, still open. */
int wsph_upcalls_thread_token_valid(HANDLE h);
/* An event the client (the harness) owns, for WSAOVERLAPPED.hEvent and WSPEventSelect: WPUSetEvent
 * accepts it, WPUCloseEvent refuses it (and records that it was a client event). */
WSAEVENT wsph_upcalls_client_event(void);
void wsph_upcalls_client_event_free(WSAEVENT e);
/* The window the harness registers in WSPAsyncSelect. */
HWND wsph_upcalls_window(void);
const struct wsph_catalog *wsph_upcalls_catalog(void);

int wsph_wpu_complete_overlapped_from(const void *ra, SOCKET s, LPWSAOVERLAPPED lpOverlapped,
				      DWORD dwError, DWORD cbTransferred, LPINT lpErrno);
/* The recorder behind the ws2_32 export (interposed on Windows, exported on POSIX). */
int WSPAPI wsph_wpu_complete_overlapped(SOCKET s, LPWSAOVERLAPPED lpOverlapped, DWORD dwError,
					DWORD cbTransferred, LPINT lpErrno);

#endif
