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
};

/* Starts a scenario: clears the ledger, counters and queues; records into `trace`. */
void wsph_upcalls_begin(struct wsph_trace *trace, const struct wsph_upcall_config *cfg);
/* Ends it: frees events and thread tokens the provider left behind. */
void wsph_upcalls_end(void);

/* A buffer holding table A (0) or B (1), valid until wsph_upcalls_end. */
WSPUPCALLTABLE *wsph_upcalls_table_buffer(int table);
/* After WSPStartup returned: overwrite the buffer with the poisoned table. */
void wsph_upcalls_poison(WSPUPCALLTABLE *buf);
/* The driver reports startup/cleanup outcomes (for WSANOTINITIALISED answers and table checks). */
void wsph_upcalls_startup_done(int table, int success);
void wsph_upcalls_cleanup_done(int success);

/* The driver brackets each WSP call so upcalls know the call (and step) they happen inside. */
void wsph_upcalls_enter(uint64_t call_seq, int step);
void wsph_upcalls_leave(void);
void wsph_upcalls_set_step(int step);

/* A SOCKET value nobody issued (for "bogus" operands). */
SOCKET wsph_upcalls_bogus_handle(void);
/* A WSATHREADID for the calling thread, as ws2_32 passes to overlapped calls. */
void wsph_upcalls_thread_id(WSATHREADID *out);
/* Runs the APCs queued for the calling thread (an alertable point). Returns how many ran. */
int wsph_upcalls_alertable(void);

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
/* An event the client (the harness) owns, for WSAOVERLAPPED.hEvent: WPUSetEvent accepts it. */
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
