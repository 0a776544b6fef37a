/* iocplsp: the state and the internal interface shared by the layer's source files. */
#ifndef IOCPLSP_H
#define IOCPLSP_H

/*
 * iocplsp is a non-IFS layered service provider written the way most real ones are, for Windows
 * only (a completion port, worker threads, a hidden window, the thread pool's waits): its handles
 * come from WPUCreateSocketHandle, overlapped requests go down with the layer's own WSAOVERLAPPED
 * and come back through one I/O completion port, WSPAsyncSelect goes through a hidden window of
 * its own. The files:
 *   iocplsp.c   WSPStartup, WSPCleanup, the socket objects and the entry points
 *   catalog.c   the dummy entry (by GUID), the chain entries, loading and starting the next
 *               provider
 *   io.c        the completion port, the worker threads, the overlapped requests
 *   relay.c     the hidden window on its own thread (WSPAsyncSelect)
 *
 * Locking: one lock (lock()/unlock()) over all state, and one condition variable (wait_ms(),
 * wake_all()). No upcall and no call into the provider below is made with it held, except
 * WPUPostMessage from the window thread (which does not block and never calls back into this
 * layer). WSPStartup and WSPCleanup are serialised by a second lock (the gate) around it.
 */

#include <stdint.h>

#include <wsph/spi.h>

#include "iocplsp_faults.h"

#define IOCPLSP_MAX_LOWERS   8  /* distinct next providers (by GUID) */
#define IOCPLSP_MAX_BINDINGS 16 /* own chain entries */
#define IOCPLSP_UP_SLOTS     16 /* received upcall tables kept (the newest is current) */
#define IOCPLSP_WORKERS      2  /* threads on the completion port */
/* The longest a call waits for a completion or a message the provider below has already produced
 * to reach the client (a safety net: they arrive in microseconds). */
#define IOCPLSP_SETTLE_MS 3000u

/* A next provider: loaded once, started once per WSPStartup of this layer. */
struct lower {
	int used;
	GUID id;
	HMODULE mod;
	LPWSPSTARTUP start;
	WSAPROTOCOL_INFOW info; /* what its WSPStartup is given */
	WSPPROC_TABLE procs;
	int startups; /* successful, all balanced by this layer's final WSPCleanup */
};

/* One of this layer's chain entries and where it leads. */
struct binding {
	WSAPROTOCOL_INFOW own;  /* the chain entry (what the client knows the socket by) */
	WSAPROTOCOL_INFOW down; /* what the next provider is given: the base's entry, or `own` */
	struct lower *lp;
};

struct sock {
	struct sock *next; /* g.socks: live sockets only */
	SOCKET upper;      /* the client's handle (WPUCreateSocketHandle, context = this object) */
	SOCKET lower;      /* the next provider's handle */
	struct lower *lp;
	const struct binding *b;
	unsigned refs;     /* list membership + calls in progress + requests */
	int closed;        /* unlinked: WSPCloseSocket succeeded, or the final WSPCleanup took it */
	int lower_closing; /* the lower handle is about to be closed: no new use of it */
	unsigned lower_users; /* workers asking the lower provider about a request right now */
	unsigned delivering;  /* completions being told to the client right now */
	int via_port;         /* the lower handle is associated with the completion port */
	HWND as_hwnd;         /* the client's WSPAsyncSelect registration */
	UINT as_msg;
	LONG as_events;
};

/* An overlapped request carried out on the next provider for the client. */
struct req {
	WSAOVERLAPPED lov; /* the next provider's view of it */
	struct req *next;  /* g.reqs */
	struct sock *k;
	unsigned refs;   /* the list's + whoever holds it for a moment */
	int client_done; /* told to the client, or claimed by the one who will tell it */
	int told;        /* the telling is over (or there is none: failed, cancelled) */
	int posted;      /* the fallback wait posted it to the port */
	int lower_seen;  /* its lower completion was taken from the port (or none will come) */
	int retiring;    /* its resources are being given back (once) */
	int via_port;
	WSAEVENT ev;          /* fallback: from WPUCreateEvent, in lov.hEvent */
	HANDLE volatile wait; /* fallback: RegisterWaitForSingleObject on ev */
	LPWSAOVERLAPPED cov;  /* the client's */
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	WSATHREADID tid; /* from WPUOpenCurrentThread in the client's call */
};

/* A message the lower provider posted for a socket WSPAccept has not wrapped yet. */
struct early_post {
	struct early_post *next;
	unsigned li;
	SOCKET lower;
	LPARAM lparam;
};

struct state {
	int startups;
	int final; /* the final WSPCleanup is under way: nothing more reaches the client */
	int require_port;
	struct lower lowers[IOCPLSP_MAX_LOWERS];
	struct binding binds[IOCPLSP_MAX_BINDINGS];
	size_t n_binds;
	struct binding *deflt; /* the entry of the first WSPStartup */
	struct sock *socks;
	struct req *reqs;
	/* WSPAccept in progress, and what the window saw for sockets not yet wrapped */
	unsigned accepting;
	struct early_post *early;
	/* io.c */
	HANDLE port;
	HANDLE workers[IOCPLSP_WORKERS];
	int n_workers;
	/* relay.c */
	HANDLE win_thread;
	DWORD win_tid;
	HWND hwnd;
	unsigned barrier_sent, barrier_seen;
};

extern struct state g;

/* iocplsp.c */
void lock(void);
void unlock(void);
void wait_ms(unsigned ms);
void wake_all(void);
const WSPUPCALLTABLE *up(void);
void sock_unref_locked(struct sock *k);
struct sock *find_by_lower_locked(unsigned li, SOCKET lower);
unsigned lower_index(const struct lower *lp);

/* catalog.c (gate held) */
extern const GUID iocplsp_guid;
int catalog_bind(const WSAPROTOCOL_INFOW *started_with);
int lower_start(struct lower *lp);
void lowers_cleanup(void);
void lowers_unload(void);

/* io.c */
struct io {
	int kind; /* IO_* */
	LPWSABUF bufs;
	DWORD nbufs;
	LPDWORD count; /* bytes sent/received, or the ioctl's bytes returned */
	LPDWORD flags; /* receives: in/out */
	DWORD send_flags;
	const struct sockaddr *to;
	int tolen;
	struct sockaddr *from;
	LPINT fromlen;
	DWORD code;
	LPVOID in;
	DWORD cbin;
	LPVOID out;
	DWORD cbout;
	LPWSAOVERLAPPED ov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	LPWSATHREADID tid;
};
enum { IO_SEND, IO_SENDTO, IO_RECV, IO_RECVFROM, IO_IOCTL };

int io_lower_call(const struct sock *k, const struct io *a, LPDWORD count, LPDWORD flags,
                  LPWSAOVERLAPPED ov, LPWSATHREADID tid, LPINT lpErrno);
int io_attach(struct sock *k);
int io_start(struct sock *k, const struct io *a, LPINT lpErrno);
BOOL io_get_result(struct sock *k, LPWSAOVERLAPPED cov, LPDWORD cb, BOOL wait, LPDWORD flags,
                   LPINT lpErrno);
struct close_set;
struct close_set *io_close_begin(struct sock *k);
void io_close_finish(struct close_set *cs, int closed);
void io_settle(void);
void io_drain_all(void);
void io_stop(void);

/* relay.c */
HWND relay_window(UINT *msg, const struct lower *lp);
int relay_ensure(void);
void relay_settle(void);
void relay_stop(void);
void relay_deliver_early_locked(struct sock *k, unsigned li);

#endif
