/* The recorder: every WSP down-call and WPU upcall as one ordered event stream. */
#ifndef WSPH_TRACE_H
#define WSPH_TRACE_H

#include "fn.h"
#include "util.h"
#include <stddef.h>
#include <stdint.h>

enum wsph_ev_kind {
	WSPH_EV_CALL,	/* the harness calls a WSP entry point */
	WSPH_EV_RETURN, /* ... and it returned */
	WSPH_EV_UPCALL	/* the provider called a WPU function */
};

/* Which upcall table an upcall came through. */
enum wsph_table {
	WSPH_TABLE_A = 0,
	WSPH_TABLE_B = 1,
	WSPH_TABLE_POISON = 2, /* the by-value buffer after WSPStartup returned */
	WSPH_TABLE_EXPORT = 3  /* WPUCompleteOverlappedRequest, reached as an export */
};

#define WSPH_EV_ARGS 6

struct wsph_event {
	uint64_t seq;	  /* 1-based */
	uint64_t time_ns; /* since the trace began */
	unsigned long thread;
	enum wsph_ev_kind kind;
	enum wsph_fn fn;
	int step;	  /* scenario step in progress (1-based), 0 outside steps */
	uint64_t parent;  /* RETURN: its CALL; UPCALL: the WSP CALL it happened inside (0 none) */
	int table;	  /* UPCALL: enum wsph_table; WSPStartup CALL: the table passed */
	int current_table; /* UPCALL: the table of the most recent successful WSPStartup */
	uint64_t a[WSPH_EV_ARGS]; /* arguments, meaning per function (see trace.c) */
	int64_t ret;		  /* return value */
	int err;		  /* *lpErrno after the call (WSPH_ERRNO_UNSET if untouched) */
	int fault;		  /* UPCALL: the error injected, 0 none */
	int layer;		  /* CALL/RETURN: 0 the harness called the provider under test;
				     1 the provider under test called the provider below it */
	char text[160];		  /* a string argument (a DLL path, a symbol name), "" if none */
	char module[64];	  /* the module whose code made the event: CALL and UPCALL the
				     caller, RETURN the code that answered the call */
	char behalf[64];	  /* the module it acted for, when that is another module: a
				     provider below the layer under test acts for the layer (its
				     calls' RETURNs, its upcalls and imports, and the RETURN of a
				     harness call into a function of its that the layer placed in
				     its own table); "" when the module acted for itself */
};

/* The value the harness writes into *lpErrno before each WSP call. */
#define WSPH_ERRNO_UNSET 0x5EED5EED

struct wsph_trace;

/* How the trace stores an event: 128 bytes (two cache lines), the module interned and the text
 * kept aside, so a recorder writes it without a lock or a string copy and a long trace costs 128
 * bytes an event, of which only a window stays in memory (older chunks are spilled to a temporary
 * file). wsph_trace_get expands it back into a struct wsph_event. */
struct wsph_rec {
	uint64_t seq; /* set last: 0 while a recorder is still writing it */
	uint64_t time_ns;
	uint64_t thread;
	uint64_t parent;
	uint64_t a[WSPH_EV_ARGS];
	int64_t ret;
	int32_t step, err, fault, table, current_table;
	int16_t layer;
	uint16_t behalf; /* wsph_trace_module_id */
	uint32_t text;	 /* 0 none, else 1 + its offset in the trace's text store */
	uint16_t module; /* wsph_trace_module_id */
	uint8_t kind, fn;
	uint8_t pad[8];
};

/* Module names interned for the life of the process: 0 is "", ids are small and stable. */
unsigned wsph_trace_module_id(const char *name);
const char *wsph_trace_module_name(unsigned id);
/* The calling thread's id, read from the system once per thread. */
extern WSPH_THREAD_LOCAL unsigned long wsph_trace_tid;
unsigned long wsph_trace_thread_id_slow(void);
static inline unsigned long wsph_trace_thread_id(void)
{
	unsigned long id = wsph_trace_tid;
	return id ? id : wsph_trace_thread_id_slow();
}
/* The fastest path, for a trace without a sink: returns a record of the calling thread's own
 * staging area (time and thread filled in, the rest stale) for the caller to fill, then
 * wsph_trace_commit (with the *seq this set). A thread's staged events enter the trace in order, a
 * batch at a time (one seq claim per batch, not per event): when its area is full, and before any
 * other event is appended or the trace is counted, read past its end or sealed, so every reader
 * sees them in their place among the other events. NULL when the trace has a sink (*seq untouched:
 * use wsph_trace_append_rec) or the event is lost (*seq 0). */
struct wsph_rec *wsph_trace_reserve(struct wsph_trace *t, uint64_t *seq);
static inline void wsph_trace_commit(struct wsph_rec *r, uint64_t seq)
{
	wsph_atomic_store_u64(&r->seq, seq);
}
/* The recorders' fast path: appends r (seq, time and thread are filled in) without a lock, unless
 * the trace has a sink; coarse_time reuses the thread's last clock reading for up to 63 events (a
 * clock read costs more than the rest of the recording). Returns its seq, 0 if it was lost. */
uint64_t wsph_trace_append_rec(struct wsph_trace *t, struct wsph_rec *r, int coarse_time);
/* A trace that keeps at most about mem_events events in memory before spilling (0: the default,
 * the environment variable WSPH_TRACE_MEM_EVENTS or else the macro below). Only the spill bound
 * differs from wsph_trace_new. */
struct wsph_trace *wsph_trace_new_bounded(size_t mem_events);
#define WSPH_TRACE_MEM_EVENTS 16384
/* Events of this trace out of its memory window (0 when all are in it): held encoded until the
 * seal or in the spill file, and once it is sealed, those in the file. For tests. */
size_t wsph_trace_spilled(struct wsph_trace *t);

/* The innermost call in progress on the calling thread: the seq of the newest CALL it appended to
 * t whose RETURN it has not appended yet (0 none; calls nest at most 16 deep). */
uint64_t wsph_trace_thread_call(struct wsph_trace *t);
/* The call in progress `call_seq` is answered by the code of `module`, acting for `behalf` (a
 * provider below the layer under test, whose function the layer placed in its own procedure
 * table): the RETURN of that call (the next event appended with parent call_seq, the appender's
 * copy included) is recorded with that module and behalf, whatever its appender named (the
 * appender names the module of the function pointer it called, which for the harness's recording
 * stand-in of the provider below is the harness). */
void wsph_trace_answered_by(struct wsph_trace *t, uint64_t call_seq, const char *module,
			    const char *behalf);

/* Every trace created afterwards also hands each appended (or updated) event to fn: an isolated
 * child streams its events to the parent this way, so a crash loses none of them. */
void wsph_trace_set_default_sink(void (*fn)(void *ctx, const struct wsph_event *ev), void *ctx);
/* The same with the record as the trace stores it (seq, time and thread set; its module and
 * behalf wsph_trace_module_id's; its text field the trace's own, the text itself in `text`, NULL
 * or "" for none): no struct wsph_event is made. Set, it is called instead of the event sink.
 * `lock` (may be NULL), the sink's own recursive lock, is then the lock of the traces created
 * (not freed with them; it must outlive them): the sink, called with it held, takes it again at
 * the cost of a count, not of a second lock per event. */
struct wsph_mutex;
typedef void (*wsph_trace_rec_sink)(void *ctx, const struct wsph_rec *r, const char *text);
void wsph_trace_set_default_rec_sink(wsph_trace_rec_sink fn, void *ctx, struct wsph_mutex *lock);

struct wsph_trace *wsph_trace_new(void);
void wsph_trace_free(struct wsph_trace *t);
void wsph_trace_reset(struct wsph_trace *t);
/* Appends a copy (seq, time and thread are filled in) and returns its seq (0 if it was lost).
 * Thread-safe, and lock-free unless the event has a text, the trace has a sink, or a new chunk of
 * storage is needed. */
uint64_t wsph_trace_append(struct wsph_trace *t, struct wsph_event *ev);
/* Updates an appended event in place (RETURN data is filled after the call). Thread-safe. */
void wsph_trace_update(struct wsph_trace *t, const struct wsph_event *ev);
size_t wsph_trace_count(struct wsph_trace *t);
/* Copies event i (0-based) out. Returns 0, or -1 if out of range. Thread-safe. */
int wsph_trace_get(struct wsph_trace *t, size_t i, struct wsph_event *out);

/* Stores ev as it is (seq, time and thread included), as a parent rebuilds its child's trace: an
 * event with a seq already stored updates it, the next seq is appended, any other is dropped.
 * Returns its seq, or 0. One writer at a time. */
uint64_t wsph_trace_put(struct wsph_trace *t, const struct wsph_event *ev);
/* The same for a record given as the bytes of a struct wsph_rec at any alignment (as they came
 * off a channel: its seq, time and thread as they are, its text field ignored), with its module
 * and behalf replaced by these ids of this process, and its text (NULL or "" for none). */
uint64_t wsph_trace_put_rec(struct wsph_trace *t, const void *rec, unsigned module, unsigned behalf,
			    const char *text);
/* Ends recording: the events still in memory are encoded (a tenth of their size or less) and
 * kept in memory, or, if the trace had spilled already, written to the spill file, and the
 * recording structures are freed, so a finished case's trace costs a few hundred bytes plus its
 * encoded events. Returns the trace (it may have moved; the old pointer is invalid). A sealed
 * trace is read-only: appends are lost, and it must not be reset. Events after the first one
 * lost or unfinished are dropped. */
struct wsph_trace *wsph_trace_seal(struct wsph_trace *t);
/* Bytes of memory the trace holds (for tests and the benchmark). */
size_t wsph_trace_memory(struct wsph_trace *t);
/* In a child made by fork: the spill file (one for every trace of a process) is the parent's,
 * so the child's traces spill to a file of their own. */
void wsph_trace_after_fork(void);

/* A malloc'd copy of every event (NULL when empty or out of memory). */
struct wsph_event *wsph_trace_copy(struct wsph_trace *t, size_t *n);

/* One line for people: "#12 step 3 UPCALL WPUCreateSocketHandle(dwCatalogEntryId=1001, ...)
 * -> 0x3c000004 [mockbase.so]" ("[mockbase.so for lsp.dll]" when it acted for another module). */
char *wsph_event_format(const struct wsph_event *ev, char *buf, size_t len);
/* The call part only: "WPUCloseSocketHandle(s=0x3c000004) -> SOCKET_ERROR, WSAENOTSOCK (10038)". */
char *wsph_event_call_text(const struct wsph_event *ev, char *buf, size_t len);
/* The names of fn's arguments in a[] order ("s", "dwContext", ...; the recorder's own slots too);
 * names[i] is NULL past the last. marks (may be NULL) gets, per argument, '#' for a value printed
 * in hex (handles, pointers, contexts), '%' for a WSA error code, 0 for a decimal number. Returns
 * the number of names. String arguments (wsph_fn_params) have no a[] slot and are not named. */
int wsph_fn_arg_names(enum wsph_fn fn, const char *names[WSPH_EV_ARGS], char marks[WSPH_EV_ARGS]);
/* One parameter of a function as the events show it, in call order. */
struct wsph_param {
	const char *name; /* "s", "dwContext", "lpLibFileName", ... */
	char kind;	  /* 'x' a value in hex (handles, flags, codes), 'p' a pointer of the run
			     (hex), 'm' a pointer followed by the event's text (the module it names),
			     'e' a WSA error code, 's' a string (the event's text), 'd' a decimal */
	int slot;	  /* its a[] index; -1 for a string */
	int output;	  /* a value only the return knows (sent, received, wVersion, ...) */
};
/* fn's parameters as shown (the recorder's own slots left out), into out (room for
 * WSPH_FN_PARAMS_MAX); returns how many. */
#define WSPH_FN_PARAMS_MAX (WSPH_EV_ARGS + 2)
int wsph_fn_params(enum wsph_fn fn, struct wsph_param *out);
/* Whether argument `name` of fn holds a pointer of the run, and whether fn returns one. */
int wsph_fn_arg_is_pointer(enum wsph_fn fn, const char *name);
int wsph_fn_ret_is_pointer(enum wsph_fn fn);
/* fn's return value for people: "0x3c000000" or "INVALID_SOCKET" (sockets), "TRUE" or "FALSE",
 * "0" or "WSAVERNOTSUPPORTED (10092)" (WSPStartup), "SOCKET_ERROR" or the number (int results),
 * "0x7f..." or "NULL" (events, modules), "non-NULL" or "NULL" (GetProcAddress). */
char *wsph_fn_ret_text(enum wsph_fn fn, int64_t ret, char *buf, size_t len);
/* Whether ret is fn's failure value, and whether a failure's error is in *lpErrno (the Win32
 * imports' is in GetLastError, which the trace does not keep). */
int wsph_fn_ret_failed(enum wsph_fn fn, int64_t ret);
int wsph_fn_ret_errno(enum wsph_fn fn);
/* A string argument as the text shows it: "C:\\x\\mock.dll" in double quotes with \\, \" and \xHH
 * escapes (cut with "..." when buf is short); NULL for a NULL string (the recorders keep
 * "(null)"). Returns buf. */
char *wsph_quote(const char *s, char *buf, size_t len);
/* Lines for events [from, to] (seqs), each prefixed, marking `mark` with "=>". malloc'd. */
char *wsph_trace_excerpt(struct wsph_trace *t, uint64_t from, uint64_t to, uint64_t mark);
/* The whole trace as text, capped at `cap` bytes. malloc'd. */
char *wsph_trace_text(struct wsph_trace *t, size_t cap);

#endif
