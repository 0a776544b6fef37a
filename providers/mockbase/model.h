/* mockbase's private header: the data model, the shared state and what its files call each other
 * through. */

/*
 * mockbase is the reference Winsock 2 base provider (in-memory IPv4 loopback), IFS or non-IFS: it
 * uses the upcall table exactly as scenarios/rules.yaml says, so that every rule the harness checks
 * passes on it, and so that each faulty variant (the same sources, its fault chosen by
 * mockbase_fault: see mockbase_faults.h) trips exactly the rule it was made for.
 *
 * Its files, each calling only into those listed before it:
 *  - batch.c: the notifications an entry point causes, collected under the lock, delivered after;
 *  - table.c: the socket table: entering a call, finding a socket by its handle, socket objects,
 *    their handles and ports;
 *  - addr.c: IPv4 socket addresses; WSPAddressToString and WSPStringToAddress;
 *  - blocking.c: the waits of blocking calls, the blocking hook, WSPCancelBlockingCall;
 *  - overlapped.c: pending overlapped operations, their completion, WSPGetOverlappedResult;
 *  - notify.c: network events: WSPEventSelect, WSPAsyncSelect, WSPEnumNetworkEvents, WSPSelect;
 *  - datapath.c: moving data: WSPSend, WSPSendTo, WSPRecv, WSPRecvFrom;
 *  - sockets.c: the other socket calls: WSPSocket, WSPCloseSocket, WSPBind, WSPListen,
 *    WSPConnect, WSPAccept, shutdown, options, ioctls, names;
 *  - mockbase.c: WSPStartup (the only export), WSPCleanup and the procedure table.
 * Beside them: khandle.h (the IFS sockets' kernel handles: khandle_win32.c, khandle_posix.c) and
 * mockbase_faults.h (the faulty variants' switches, F(NAME)).
 *
 * How it is built:
 *  - All state lives behind one mutex (pv_lock). No upcall is ever made with it held: entry points
 *    collect the notifications they cause into a batch while locked and deliver the batch after
 *    unlocking, in the calling thread (so a state change is notified synchronously, by the thread
 *    that caused it, and nothing needs a worker thread).
 *  - Handles. Non-IFS: every socket object gets its handle from WPUCreateSocketHandle with the
 *    object pointer as context, and is found again through WPUQuerySocketHandleContext (the context
 *    is then checked against the list of live objects). IFS: the provider proposes a value,
 *    passes it through WPUModifyIFSHandle and from then on knows the socket only by the value that
 *    came back. The value is a kernel handle where the OS has them (khandle.h: on Windows one end
 *    of a private pipe, and overlapped operations without a completion routine complete through
 *    the kernel on it, so a layer can use a completion port), else one from a counter that is
 *    never reset.
 *  - A connection made by WSPConnect creates the server-side object at once (data can flow before
 *    the accept), but its handle is only created inside the WSPAccept that hands it out, so that
 *    the "handle returned by WSPAccept was created in that call" rules hold.
 *  - Event selection follows Winsock's re-enabling model: a network event is recorded and signalled
 *    once, and signalled again only after the call that re-enables it (recv for FD_READ, accept for
 *    FD_ACCEPT, a send that failed with WSAEWOULDBLOCK for FD_WRITE) or a new registration.
 */
#ifndef MB_MOCKBASE_H
#define MB_MOCKBASE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wsph/spi.h>

#include "khandle.h"
#include "mockbase_faults.h"
#include "pv_sync.h"

/*
 * The operating system's own notification functions, for the MOCKBASE_OS_NOTIFY variant: the upcall
 * table marks WPUSetEvent, WPUResetEvent and WPUQueueApc optional ("QueueUserApc may also be
 * used"). On Windows they are kernel32's; a POSIX build binds to the harness program, which stands
 * in for the operating system as it does for LoadLibrary or PostMessage.
 */
#ifndef _WIN32
typedef void(CALLBACK *PAPCFUNC)(ULONG_PTR);
BOOL WINAPI SetEvent(HANDLE hEvent);
BOOL WINAPI ResetEvent(HANDLE hEvent);
DWORD WINAPI QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData);
#endif

#ifndef FROM_PROTOCOL_INFO
#define FROM_PROTOCOL_INFO (-1)
#endif
#ifndef MSG_DONTROUTE
#define MSG_DONTROUTE 0x4
#endif
#define MB_STREAM_CAP      65536u /* bytes queued per stream direction */
#define MB_DGRAM_CAP       65536u /* bytes queued per datagram socket */
#define MB_DGRAM_MAX       65507u /* the largest IPv4 UDP payload */
#define MB_EPHEMERAL_FIRST 49152u
#define MB_EPHEMERAL_LAST  65535u
#define MB_SLICE_MS        10u
#define MB_DEFAULT_BUF     65536
#define MB_MAX_BACKLOG     200
#define MB_LOOPBACK        0x7f000001u
#define MB_SIN_LEN         ((int)sizeof(struct sockaddr_in))
/* Internal marker: a failure that (only in the errno-not-set variant) leaves *lpErrno alone. */
#define MB_ERR_UNSET (-1)

/* ------------------------------------------------------------------------------------------ */
/* Data model                                                                                   */

struct mb_addr {
	uint32_t ip; /* host byte order */
	uint16_t port;
};

struct mb_dgram {
	struct mb_dgram *next;
	struct mb_addr from;
	size_t len;
	unsigned char data[];
};

/* A WSPGetOverlappedResult(fWait TRUE) waiting for an operation: its event comes from
 * WPUCreateEvent, is signalled when the operation completes and closed by the waiter. */
struct mb_waiter {
	WSAEVENT ev;
	int signalled; /* the completion was delivered to ev (or will never be) */
};

/* A pending overlapped operation. */
struct mb_op {
	struct mb_op *next;
	WSABUF *bufs; /* copy of the client's WSABUF array (the buffers stay the client's) */
	DWORD nbufs;
	DWORD flags; /* recv: MSG_PEEK */
	struct sockaddr *from;
	LPINT fromlen;
	size_t done; /* send: bytes already moved to the peer */
	LPWSAOVERLAPPED ov;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	WSATHREADID tid;    /* a copy: the caller's structure is only valid during the call */
	int tid_opened;     /* tid came from WPUOpenCurrentThread (the caller gave none) */
	LPWSATHREADID tidp; /* the keeps-thread-id-pointer variant's bug */
	struct mb_waiter *waiter;
};

struct mb_socket {
	struct mb_socket *next; /* g.sockets */
	SOCKET handle;          /* the client-visible handle */
	int has_handle;         /* handed out to the client (queued connections have none yet) */
	int wpu_handle;         /* the handle came from WPUCreateSocketHandle: close it with WPU */
	int ifs;                /* created in IFS mode: completions signal hEvent, not WPU */
	struct mb_kh *kh;       /* IFS with a kernel handle: completions go through the kernel */
	int kernel;             /* had one: an OVERLAPPED's status is the kernel's to write */
	int type;
	int protocol;
	int nonblocking;
	int closed;
	unsigned refs; /* threads waiting on this object; freed when closed and 0 */

	int bound;
	int owns_port; /* counts for address-in-use (accepted sockets share the listener's) */
	struct mb_addr local;
	int connected;
	struct mb_addr remote;

	int listening;
	int backlog;
	unsigned queued;
	struct mb_socket *acc_head, *acc_tail; /* connections waiting for WSPAccept */
	struct mb_socket *acc_next;
	struct mb_socket *listener; /* the listener whose queue holds this connection */

	struct mb_socket *peer; /* stream: the other end, NULL once it is gone */
	int shut_send, shut_recv;
	int peer_gone; /* stream: the peer shut down sending or closed: reads end with 0 bytes */

	unsigned char *rbuf; /* stream receive queue */
	size_t rlen;
	struct mb_dgram *dq_head, *dq_tail; /* datagram receive queue */
	size_t dq_bytes;

	int opt_rcvbuf, opt_sndbuf, opt_reuseaddr, opt_keepalive, so_error;
	WSAPROTOCOL_INFOW pinfo;

	WSAEVENT ev; /* WSPEventSelect */
	LONG ev_mask;
	LONG ev_recorded;
	HWND hwnd; /* WSPAsyncSelect */
	unsigned wmsg;
	LONG as_mask;
	LONG fired; /* FD_ bits notified and not re-enabled since */

	struct mb_op *rops_head, *rops_tail; /* pending overlapped receives */
	struct mb_op *sops_head, *sops_tail; /* pending overlapped sends (stream, peer full) */
};

/* The provider's state, behind pv_lock (defined in table.c). */
struct mb_state {
	int startups;
	unsigned gen; /* bumped by every final WSPCleanup */
	WSPUPCALLTABLE up;
	const WSPUPCALLTABLE *upp; /* &up; the keep-pointer variant points at the caller's table */
	DWORD catalog;
	int ifs;
	WSAPROTOCOL_INFOW pinfo;
	int have_pinfo;
	struct mb_socket *sockets;
	unsigned next_port;
	unsigned blocking;   /* threads inside a blocking wait */
	unsigned cancel_gen; /* bumped by WSPCancelBlockingCall */
};

/* What an entry point needs from the global state, read once under the lock. */
struct call {
	WSPUPCALLTABLE up;
	DWORD catalog;
	int ifs;
	unsigned gen;
};

/* ------------------------------------------------------------------------------------------ */
/* Notification batches: collected under the lock, delivered after it                           */

enum note_kind {
	N_POST,
	N_SETEVENT,
	N_APC,
	N_COMPLETE,
	N_CLOSEHANDLE,
	N_CLOSETHREAD,
	N_CLOSEEVENT,
	N_WAITER,
	N_KCOMPLETE, /* through the kernel object (khandle.h) */
	N_KRELEASE
};

struct apc_ctx {
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine;
	DWORD err;
	DWORD bytes;
	LPWSAOVERLAPPED ov;
	DWORD flags;
};

struct note {
	struct note *next;
	enum note_kind kind;
	SOCKET s;
	HWND hwnd;
	unsigned msg;
	LPARAM lparam;
	WSAEVENT ev;
	WSATHREADID tid;
	struct apc_ctx *apc;
	LPWSAOVERLAPPED ov;
	DWORD err;
	DWORD bytes;
	WSAOVERLAPPED shadow; /* the complete-own-overlapped variant's substitute */
	struct mb_waiter *waiter;
	int tid_opened;   /* N_APC: tid came from WPUOpenCurrentThread */
	struct mb_kh *kh; /* N_KCOMPLETE, N_KRELEASE: a reference the note holds */
};

struct batch {
	struct note *head, *tail;
	const struct call *c;
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                */

static inline int fail(LPINT lpErrno, int err)
{
	if (err == MB_ERR_UNSET)
		return SOCKET_ERROR;
	if (lpErrno)
		*lpErrno = err ? err : WSAEINVAL;
	return SOCKET_ERROR;
}

static inline SOCKET fail_socket(LPINT lpErrno, int err)
{
	fail(lpErrno, err);
	return INVALID_SOCKET;
}

static inline BOOL fail_bool(LPINT lpErrno, int err)
{
	fail(lpErrno, err);
	return FALSE;
}

/* The room left in a stream receiver's queue. */
static inline size_t stream_room(const struct mb_socket *receiver)
{
	return MB_STREAM_CAP - receiver->rlen;
}

/* A blocking call's wait (blocking.c). */
struct blk {
	int started;
	LPBLOCKINGCALLBACK cb;
	DWORD_PTR ctx;
	unsigned cancel_gen;
	int has_deadline;
	uint64_t deadline;
};

/* The provider's state (table.c). */
extern struct mb_state mb_g;

/* ------------------------------------------------------------------------------------------ */
/* batch.c: notification batches, collected under the lock and delivered after it               */

void mb_batch_init(struct batch *b, const struct call *c);
/* A new note at the end of b, or NULL when out of memory (that one notification is lost). */
struct note *mb_note_new(struct batch *b, enum note_kind kind);
void mb_note_post(struct batch *b, HWND hwnd, unsigned msg, SOCKET s, LONG bit);
void mb_note_setevent(struct batch *b, WSAEVENT ev);
void mb_note_closehandle(struct batch *b, SOCKET s);
/* Outside the lock: makes the upcalls of b's notes, in order, and empties b. */
void mb_batch_flush(struct batch *b);
/* Holds back the notes of b from `from` on to the next entry into the provider. */
void mb_defer_notes(struct batch *b, struct note *from);
/* Delivers the notes held back by mb_defer_notes (the lock not held). */
void mb_flush_late(void);

/* ------------------------------------------------------------------------------------------ */
/* table.c: the socket table                                                                    */

/* With the lock held: what an entry point needs from the global state. */
void mb_snapshot(struct call *c);
/* Checks the startup count and takes a snapshot; the lock is not held afterwards. */
int mb_enter(struct call *c);
/* With the lock held: the provider is still started in the session c was taken in. */
int mb_still_current(const struct call *c);
int mb_unknown_handle_error(void);
int mb_prepare_lookup(const struct call *c, SOCKET s, int io_call, DWORD_PTR *ctx);
struct mb_socket *mb_lookup_locked(const struct call *c, SOCKET s, DWORD_PTR ctx);
struct mb_socket *mb_acquire(struct call *c, SOCKET s, int io_call, int *err);
void mb_free_socket(struct mb_socket *o);
void mb_sock_unref(struct mb_socket *o);
struct mb_socket *mb_sock_new(int type, int protocol, const WSAPROTOCOL_INFOW *pinfo);
void mb_sock_link(struct mb_socket *o);
void mb_sock_unlink(struct mb_socket *o);
void mb_sock_unlink_unlocked(struct mb_socket *o);
SOCKET mb_propose(const struct call *c, struct mb_kh **kh);
void mb_give_handle(struct mb_socket *o, const struct call *c, SOCKET h, int wpu, struct mb_kh *kh);
int mb_obtain_handle(const struct call *c, struct mb_socket *obj, SOCKET proposed, SOCKET *out,
                     int *wpu_handle);
void mb_release_handle(const struct call *c, SOCKET h, int wpu_handle);
int mb_bind_to(struct mb_socket *o, struct mb_addr a);
int mb_autobind(struct mb_socket *o);

/* ------------------------------------------------------------------------------------------ */
/* addr.c: IPv4 socket addresses                                                                */

int mb_addr_parse(const struct sockaddr *sa, int len, struct mb_addr *out);
void mb_addr_write(const struct mb_addr *in, struct sockaddr *sa);
/* Writes an address to a caller's (name, namelen) pair. */
int mb_addr_out(const struct mb_addr *in, struct sockaddr *name, LPINT namelen);
/* The address a socket shows to others: a wildcard local address reads as loopback. */
struct mb_addr mb_addr_visible(struct mb_addr a);
int WSPAPI mb_AddressToString(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                              LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                              LPDWORD lpdwAddressStringLength, LPINT lpErrno);
int WSPAPI mb_StringToAddress(LPWSTR AddressString, INT AddressFamily,
                              LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                              LPINT lpAddressLength, LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* blocking.c: blocking waits                                                                   */

void mb_blk_init(struct blk *k);
int mb_blk_wait(const struct call *c, struct blk *k);
void mb_blk_end(struct blk *k);
int WSPAPI mb_CancelBlockingCall(LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* overlapped.c: overlapped operations and their completion                                     */

int mb_via_kernel(const struct mb_socket *o, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine);
void mb_ov_result(LPWSAOVERLAPPED ov, DWORD err, DWORD bytes, DWORD flags, int kernel);
void mb_deliver(struct batch *b, const struct mb_socket *o, LPWSAOVERLAPPED ov,
                LPWSAOVERLAPPED_COMPLETION_ROUTINE routine, const WSATHREADID *tid, DWORD err,
                DWORD bytes, DWORD flags, int tid_opened);
void mb_complete_op(struct batch *b, struct mb_socket *o, struct mb_op *op, DWORD err, DWORD bytes,
                    DWORD flags, int notify);
struct mb_op *mb_op_new(const WSABUF *bufs, DWORD n, LPWSAOVERLAPPED ov,
                        LPWSAOVERLAPPED_COMPLETION_ROUTINE routine, LPWSATHREADID tid,
                        int tid_opened);
void mb_op_append(struct mb_op **head, struct mb_op **tail, struct mb_op *op);
struct mb_op *mb_op_pop(struct mb_op **head, struct mb_op **tail);
int mb_open_thread(LPWSAOVERLAPPED ov, LPWSAOVERLAPPED_COMPLETION_ROUTINE routine,
                   LPWSATHREADID *tid, WSATHREADID *own, struct call *c, LPINT lpErrno);
void mb_close_thread_after(const struct call *c, int opened, int rc, LPINT lpErrno,
                           WSATHREADID *own);
int WSPAPI mb_GetOverlappedResult(SOCKET s, LPWSAOVERLAPPED lpOverlapped, LPDWORD lpcbTransfer,
                                  BOOL fWait, LPDWORD lpdwFlags, LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* notify.c: network events                                                                     */

void mb_fire(struct batch *b, struct mb_socket *o, LONG bit);
void mb_refresh(struct batch *b, struct mb_socket *o);
int WSPAPI mb_Select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                     const PTIMEVAL timeout, LPINT lpErrno);
int WSPAPI mb_EventSelect(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents, LPINT lpErrno);
int WSPAPI mb_AsyncSelect(SOCKET s, HWND hWnd, unsigned int wMsg, LONG lEvent, LPINT lpErrno);
int WSPAPI mb_EnumNetworkEvents(SOCKET s, WSAEVENT hEventObject, LPWSANETWORKEVENTS lpNetworkEvents,
                                LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* datapath.c: moving data                                                                      */

void mb_pump(struct batch *b, struct mb_socket *p);
int WSPAPI mb_Recv(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesRecvd,
                   LPDWORD lpFlags, LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno);
int WSPAPI mb_RecvFrom(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                       LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags, struct sockaddr *lpFrom,
                       LPINT lpFromlen, LPWSAOVERLAPPED lpOverlapped,
                       LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                       LPWSATHREADID lpThreadId, LPINT lpErrno);
int WSPAPI mb_Send(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                   DWORD dwFlags, LPWSAOVERLAPPED lpOverlapped,
                   LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine, LPWSATHREADID lpThreadId,
                   LPINT lpErrno);
int WSPAPI mb_SendTo(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount, LPDWORD lpNumberOfBytesSent,
                     DWORD dwFlags, const struct sockaddr *lpTo, int iTolen,
                     LPWSAOVERLAPPED lpOverlapped,
                     LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                     LPWSATHREADID lpThreadId, LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* sockets.c: the socket calls                                                                  */

void mb_close_socket(struct batch *b, struct mb_socket *o, int notify, int handle_closes);
SOCKET WSPAPI mb_Socket(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                        GROUP g_, DWORD dwFlags, LPINT lpErrno);
int WSPAPI mb_CloseSocket(SOCKET s, LPINT lpErrno);
int WSPAPI mb_Bind(SOCKET s, const struct sockaddr *name, int namelen, LPINT lpErrno);
int WSPAPI mb_Listen(SOCKET s, int backlog, LPINT lpErrno);
int WSPAPI mb_Connect(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF lpCallerData,
                      LPWSABUF lpCalleeData, LPQOS lpSQOS, LPQOS lpGQOS, LPINT lpErrno);
SOCKET WSPAPI mb_Accept(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                        LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData, LPINT lpErrno);
int WSPAPI mb_Shutdown(SOCKET s, int how, LPINT lpErrno);
int WSPAPI mb_RecvDisconnect(SOCKET s, LPWSABUF lpInboundDisconnectData, LPINT lpErrno);
int WSPAPI mb_SendDisconnect(SOCKET s, LPWSABUF lpOutboundDisconnectData, LPINT lpErrno);
int WSPAPI mb_GetSockOpt(SOCKET s, int level, int optname, char *optval, LPINT optlen,
                         LPINT lpErrno);
int WSPAPI mb_SetSockOpt(SOCKET s, int level, int optname, const char *optval, int optlen,
                         LPINT lpErrno);
int WSPAPI mb_Ioctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
                    LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
                    LPWSAOVERLAPPED lpOverlapped,
                    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                    LPWSATHREADID lpThreadId, LPINT lpErrno);
int WSPAPI mb_GetSockName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno);
int WSPAPI mb_GetPeerName(SOCKET s, struct sockaddr *name, LPINT namelen, LPINT lpErrno);
int WSPAPI mb_DuplicateSocket(SOCKET s, DWORD dwProcessId, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                              LPINT lpErrno);
SOCKET WSPAPI mb_JoinLeaf(SOCKET s, const struct sockaddr *name, int namelen, LPWSABUF lpCallerData,
                          LPWSABUF lpCalleeData, LPQOS lpSQOS, LPQOS lpGQOS, DWORD dwFlags,
                          LPINT lpErrno);
BOOL WSPAPI mb_GetQOSByName(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno);

/* ------------------------------------------------------------------------------------------ */
/* worker_posix.c, worker_win32.c: the cleanup-joins-locked variant's worker thread, started by
 * the first WSPStartup; it takes the lock every few milliseconds until the final WSPCleanup says
 * stop (mockbase.c, mb_worker_loop). The reference provider never starts it. */

int mb_worker_start(void);
void mb_worker_join(void);
void mb_worker_loop(void);

#endif
