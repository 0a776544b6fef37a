/* The step vocabulary as data (steps.h): one row per step. */
#include "steps.h"

#include "fn.h"

#include <string.h>

#define REQ WSPH_ARG_REQUIRED
#define BINDS WSPH_ARG_BINDS
#define EXP WSPH_ARG_EXPECTED
#define REAL WSPH_ARG_REAL
#define STARTED WSPH_NEEDS_STARTUP
#define SOCK (WSPH_NEEDS_STARTUP | WSPH_NEEDS_SOCKET)
#define MAIN WSPH_STEP_MAIN_ONLY

static const struct {
	const char *name;
	const char *doc;
} keys[WSPH_KEY_COUNT] = {
	[WSPH_KEY_NONE] = {"", ""},
	[WSPH_KEY_SOCKET] = {"socket", "a socket's name, or bogus"},
	[WSPH_KEY_AS] = {"as", "the new socket's name"},
	[WSPH_KEY_TYPE] = {"type", "stream | dgram"},
	[WSPH_KEY_VERSION] = {"version", "major.minor"},
	[WSPH_KEY_TABLE] = {"table", "A | B"},
	[WSPH_KEY_ADDR] = {"addr", "\"127.0.0.1:5000\""},
	[WSPH_KEY_BACKLOG] = {"backlog", "an integer"},
	[WSPH_KEY_HOW] = {"how", "receive | send | both"},
	[WSPH_KEY_LEVEL] = {"level", "SOL_SOCKET or an integer"},
	[WSPH_KEY_OPTION] = {"option", "SO_TYPE, SO_RCVBUF, ... or an integer"},
	[WSPH_KEY_COMMAND] = {"command", "FIONBIO | FIONREAD or an integer"},
	[WSPH_KEY_VALUE] = {"value", "an integer"},
	[WSPH_KEY_RESULT] = {"result", "an integer"},
	[WSPH_KEY_DATA] = {"data", "bytes"},
	[WSPH_KEY_LEN] = {"len", "1..65536"},
	[WSPH_KEY_EVENTS] = {"events", "[FD_READ, FD_CLOSE, ...]"},
	[WSPH_KEY_MSG] = {"msg", "0x400..0xbfff"},
	[WSPH_KEY_OVERLAPPED] = {"overlapped", "false | true"},
	[WSPH_KEY_COMPLETION] = {"completion", "event | routine | none"},
	[WSPH_KEY_THREAD_ID] = {"thread_id", "client | none"},
	[WSPH_KEY_OP] = {"op", "an operation's name"},
	[WSPH_KEY_EVENT] = {"event", "an event's name"},
	[WSPH_KEY_WAIT] = {"wait", "false | true"},
	[WSPH_KEY_ERROR] = {"error", "0 or a WSA error"},
	[WSPH_KEY_TIMEOUT] = {"timeout", "ms, 0..60000"},
	[WSPH_KEY_READ] = {"read", "socket names"},
	[WSPH_KEY_WRITE] = {"write", "socket names"},
	[WSPH_KEY_EXCEPT] = {"except", "socket names"},
	[WSPH_KEY_READABLE] = {"readable", "socket names"},
	[WSPH_KEY_WRITABLE] = {"writable", "socket names"},
	[WSPH_KEY_THREADS] = {"threads", "{NAME: [steps], ...}"},
	[WSPH_KEY_REPEAT] = {"repeat", "1..1000"},
	[WSPH_KEY_NAME] = {"name", "a name"},
	[WSPH_KEY_THREAD] = {"thread", "a thread's name"},
};

/* The arguments an overlapped-capable transfer takes after its own. */
#define OVERLAPPED_ARGS                                                                           \
	{WSPH_KEY_OVERLAPPED, 0, "false", NULL},                                                  \
		{WSPH_KEY_COMPLETION, 0, "event", NULL},                                          \
		{WSPH_KEY_OP, BINDS, NULL, "a name: the operation is left pending for a later step"},   \
		{WSPH_KEY_THREAD_ID, 0, "client", "client | none (lpThreadId NULL)"}

static const struct wsph_step_def defs[WSPH_OP_COUNT] = {
	{"startup", WSPH_OP_STARTUP, WSPH_FN_WSPSTARTUP, "WSPStartup", 0, 0,
	 {{WSPH_KEY_VERSION, 0, "2.2", NULL}, {WSPH_KEY_TABLE, 0, "A", "A | B: the fake upcall table"}}},
	{"cleanup", WSPH_OP_CLEANUP, WSPH_FN_WSPCLEANUP, "WSPCleanup", STARTED, WSPH_STEP_TEARDOWN,
	 {{0}}},
	{"socket", WSPH_OP_SOCKET, WSPH_FN_WSPSOCKET, "WSPSocket", STARTED, 0,
	 {{WSPH_KEY_AS, REQ | BINDS, NULL, NULL}, {WSPH_KEY_TYPE, 0, "stream", NULL}}},
	{"bind", WSPH_OP_BIND, WSPH_FN_WSPBIND, "WSPBind", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}, {WSPH_KEY_ADDR, REQ, NULL, NULL}}},
	{"listen", WSPH_OP_LISTEN, WSPH_FN_WSPLISTEN, "WSPListen", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}, {WSPH_KEY_BACKLOG, 0, "5", NULL}}},
	{"connect", WSPH_OP_CONNECT, WSPH_FN_WSPCONNECT, "WSPConnect", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}, {WSPH_KEY_ADDR, REQ, NULL, NULL}}},
	{"accept", WSPH_OP_ACCEPT, WSPH_FN_WSPACCEPT, "WSPAccept", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, "the listening socket"}, {WSPH_KEY_AS, REQ | BINDS, NULL, NULL}}},
	{"send", WSPH_OP_SEND, WSPH_FN_WSPSEND, "WSPSend", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}, {WSPH_KEY_DATA, REQ, NULL, NULL}, OVERLAPPED_ARGS}},
	{"recv", WSPH_OP_RECV, WSPH_FN_WSPRECV, "WSPRecv", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_LEN, 0, "1024", NULL},
	  {WSPH_KEY_DATA, EXP, NULL, NULL},
	  OVERLAPPED_ARGS}},
	{"sendto", WSPH_OP_SENDTO, WSPH_FN_WSPSENDTO, "WSPSendTo", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_ADDR, REQ, NULL, NULL},
	  {WSPH_KEY_DATA, REQ, NULL, NULL},
	  OVERLAPPED_ARGS}},
	{"recvfrom", WSPH_OP_RECVFROM, WSPH_FN_WSPRECVFROM, "WSPRecvFrom", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_LEN, 0, "1024", NULL},
	  {WSPH_KEY_DATA, EXP, NULL, NULL},
	  OVERLAPPED_ARGS}},
	{"close", WSPH_OP_CLOSE, WSPH_FN_WSPCLOSESOCKET, "WSPCloseSocket", SOCK, WSPH_STEP_TEARDOWN,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}}},
	{"shutdown", WSPH_OP_SHUTDOWN, WSPH_FN_WSPSHUTDOWN, "WSPShutdown", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}, {WSPH_KEY_HOW, 0, "both", NULL}}},
	{"getsockopt", WSPH_OP_GETSOCKOPT, WSPH_FN_WSPGETSOCKOPT, "WSPGetSockOpt", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_OPTION, REQ, NULL, NULL},
	  {WSPH_KEY_LEVEL, 0, "SOL_SOCKET", NULL},
	  {WSPH_KEY_VALUE, EXP, NULL, NULL}}},
	{"setsockopt", WSPH_OP_SETSOCKOPT, WSPH_FN_WSPSETSOCKOPT, "WSPSetSockOpt", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_OPTION, REQ, NULL, NULL},
	  {WSPH_KEY_VALUE, REQ, NULL, NULL},
	  {WSPH_KEY_LEVEL, 0, "SOL_SOCKET", NULL}}},
	{"ioctl", WSPH_OP_IOCTL, WSPH_FN_WSPIOCTL, "WSPIoctl", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_COMMAND, REQ, NULL, NULL},
	  {WSPH_KEY_VALUE, 0, NULL, "an integer: the input"},
	  {WSPH_KEY_RESULT, EXP, NULL, "an integer: the output"}}},
	{"getsockname", WSPH_OP_GETSOCKNAME, WSPH_FN_WSPGETSOCKNAME, "WSPGetSockName", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}}},
	{"getpeername", WSPH_OP_GETPEERNAME, WSPH_FN_WSPGETPEERNAME, "WSPGetPeerName", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL}}},
	{"asyncselect", WSPH_OP_ASYNCSELECT, WSPH_FN_WSPASYNCSELECT,
	 "WSPAsyncSelect (the harness's window)", SOCK | WSPH_NEEDS_WINDOW, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_EVENTS, REQ, NULL, "[FD_READ, FD_CLOSE, ...]; [] cancels"},
	  {WSPH_KEY_MSG, 0, "0x8001", NULL}}},
	{"eventselect", WSPH_OP_EVENTSELECT, WSPH_FN_WSPEVENTSELECT, "WSPEventSelect", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_EVENTS, REQ, NULL, "[FD_READ, FD_CLOSE, ...]; [] cancels"},
	  {WSPH_KEY_EVENT, BINDS, NULL, "a harness event, made on first use"}}},
	{"enumnetworkevents", WSPH_OP_ENUMNETWORKEVENTS, WSPH_FN_WSPENUMNETWORKEVENTS,
	 "WSPEnumNetworkEvents", SOCK, 0,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_EVENT, 0, NULL, "an eventselect's event, reset by the call"},
	  {WSPH_KEY_EVENTS, EXP, NULL, NULL}}},
	{"select", WSPH_OP_SELECT, WSPH_FN_WSPSELECT, "WSPSelect", STARTED, 0,
	 {{WSPH_KEY_READ, 0, NULL, NULL},
	  {WSPH_KEY_WRITE, 0, NULL, NULL},
	  {WSPH_KEY_EXCEPT, 0, NULL, NULL},
	  {WSPH_KEY_TIMEOUT, 0, NULL, "ms, 0..60000; absent: NULL, blocks"},
	  {WSPH_KEY_READABLE, EXP, NULL, NULL},
	  {WSPH_KEY_WRITABLE, EXP, NULL, NULL}}},
	{"waitmessage", WSPH_OP_WAITMESSAGE, -1, "none: pumps the window",
	 SOCK | WSPH_NEEDS_WINDOW, WSPH_STEP_EXPECT_NONE | MAIN,
	 {{WSPH_KEY_SOCKET, REQ, NULL, NULL},
	  {WSPH_KEY_EVENTS, EXP | WSPH_ARG_UNLESS_NONE, NULL, "FD_* names"},
	  {WSPH_KEY_MSG, 0, "0x8001", NULL},
	  {WSPH_KEY_ERROR, EXP, "0", "0 or a WSA error: WSAGETSELECTERROR"}}},
	{"waitevent", WSPH_OP_WAITEVENT, -1, "none: waits for a harness event",
	 STARTED | WSPH_NEEDS_EVENT, WSPH_STEP_EXPECT_NONE,
	 {{WSPH_KEY_EVENT, REQ, NULL, NULL}}},
	{"alertable", WSPH_OP_ALERTABLE, -1, "none: an alertable wait, queued APCs run", STARTED, MAIN,
	 {{0}}},
	{"complete", WSPH_OP_COMPLETE, -1, "none: waits for the operation's completion",
	 SOCK | WSPH_NEEDS_OP, WSPH_STEP_EXPECT_NONE,
	 {{WSPH_KEY_OP, REQ, NULL, NULL}, {WSPH_KEY_DATA, EXP, NULL, NULL}}},
	{"getoverlappedresult", WSPH_OP_GETOVERLAPPEDRESULT, WSPH_FN_WSPGETOVERLAPPEDRESULT,
	 "WSPGetOverlappedResult", SOCK | WSPH_NEEDS_OP, 0,
	 {{WSPH_KEY_OP, REQ, NULL, NULL},
	  {WSPH_KEY_WAIT, 0, "false", NULL},
	  {WSPH_KEY_DATA, EXP, NULL, NULL}}},
	{"arrive", WSPH_OP_ARRIVE, -1,
	 "WSPSend of the peer socket, from a helper thread while the next step blocks", SOCK, MAIN,
	 {{WSPH_KEY_SOCKET, REQ | REAL, NULL, "a connected socket of the scenario"},
	  {WSPH_KEY_DATA, REQ, NULL, NULL}}},
	{"cancelblockingcall", WSPH_OP_CANCELBLOCKINGCALL, WSPH_FN_WSPCANCELBLOCKINGCALL,
	 "WSPCancelBlockingCall", STARTED, MAIN, {{0}}},
	{"parallel", WSPH_OP_PARALLEL, -1,
	 "none: runs each thread's steps on a thread of its own, all started together; the next "
	 "step runs once every thread finished", 0, MAIN,
	 {{WSPH_KEY_THREADS, REQ, NULL, "{NAME: [steps], ...}: 2..16 threads"},
	  {WSPH_KEY_REPEAT, 0, "1", "1..1000: the whole block"}}},
	{"barrier", WSPH_OP_BARRIER, -1,
	 "none: waits until every thread of the block that names the barrier reached it", 0,
	 WSPH_STEP_SCALAR | WSPH_STEP_IN_THREADS,
	 {{WSPH_KEY_NAME, REQ, NULL, "a name; `barrier: NAME` for short"}}},
	{"blocked", WSPH_OP_BLOCKED, -1,
	 "none: waits until the thread is blocked inside a WSP call (or its step ended)", 0,
	 WSPH_STEP_SCALAR | WSPH_STEP_IN_THREADS,
	 {{WSPH_KEY_THREAD, REQ, NULL,
	   "another thread of the block; `blocked: THREAD` for short"}}},
};

const struct wsph_step_def *wsph_step_def(enum wsph_op op)
{
	return (int)op >= 0 && op < WSPH_OP_COUNT ? &defs[op] : NULL;
}

const struct wsph_step_def *wsph_step_find(const char *name, size_t len)
{
	for (int i = 0; i < WSPH_OP_COUNT; i++)
		if (strlen(defs[i].name) == len && memcmp(defs[i].name, name, len) == 0)
			return &defs[i];
	return NULL;
}

const struct wsph_step_arg *wsph_step_arg(const struct wsph_step_def *def, enum wsph_key key)
{
	for (size_t i = 0; i < WSPH_STEP_MAX_ARGS && def->args[i].key; i++)
		if (def->args[i].key == key)
			return &def->args[i];
	return NULL;
}

size_t wsph_step_n_args(const struct wsph_step_def *def)
{
	size_t n = 0;
	while (n < WSPH_STEP_MAX_ARGS && def->args[n].key)
		n++;
	return n;
}

const char *wsph_key_name(enum wsph_key key)
{
	return (int)key > 0 && key < WSPH_KEY_COUNT ? keys[key].name : "?";
}

const char *wsph_key_doc(enum wsph_key key)
{
	return (int)key > 0 && key < WSPH_KEY_COUNT ? keys[key].doc : "";
}

int wsph_key_find(const char *name, size_t len)
{
	for (int k = 1; k < WSPH_KEY_COUNT; k++)
		if (strlen(keys[k].name) == len && memcmp(keys[k].name, name, len) == 0)
			return k;
	return -1;
}

/* ---- the Markdown table ---- */

/* Text in a table cell: '|' escaped. */
static void put_cell_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

/* `key` (what it takes; default X; required | expected) */
static void put_arg(FILE *out, const struct wsph_step_arg *a)
{
	fprintf(out, "`%s` (", wsph_key_name(a->key));
	put_cell_text(out, a->doc ? a->doc : wsph_key_doc(a->key));
	if (a->def)
		fprintf(out, "; default %s", a->def);
	if (a->flags & WSPH_ARG_REQUIRED)
		fputs("; required", out);
	if (a->flags & WSPH_ARG_UNLESS_NONE)
		fputs("; required unless expect: none", out);
	if (a->flags & WSPH_ARG_EXPECTED)
		fputs("; expected", out);
	fputc(')', out);
}

static void put_needs(FILE *out, unsigned needs, unsigned flags)
{
	static const struct {
		unsigned bit;
		const char *text;
	} words[] = {
		{WSPH_NEEDS_STARTUP, "a startup"},   {WSPH_NEEDS_SOCKET, "a socket"},
		{WSPH_NEEDS_OP, "a pending operation"}, {WSPH_NEEDS_EVENT, "an event"},
		{WSPH_NEEDS_WINDOW, "the window"},
	};
	const char *sep = "";
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (needs & words[i].bit) {
			fprintf(out, "%s%s", sep, words[i].text);
			sep = ", ";
		}
	if (flags & WSPH_STEP_MAIN_ONLY)
		fprintf(out, "%sthe main thread", sep);
	if (flags & WSPH_STEP_IN_THREADS)
		fprintf(out, "%sa thread of a parallel block", sep);
}

static void put_binds(FILE *out, const struct wsph_step_def *d)
{
	const char *sep = "";
	for (size_t i = 0; i < wsph_step_n_args(d); i++)
		if (d->args[i].flags & WSPH_ARG_BINDS) {
			fprintf(out, "%s`%s`", sep, wsph_key_name(d->args[i].key));
			sep = ", ";
		}
}

void wsph_steps_markdown(FILE *out)
{
	fputs("| Step | Arguments | WSP call | Needs | Binds |\n|---|---|---|---|---|\n", out);
	for (int i = 0; i < WSPH_OP_COUNT; i++) {
		const struct wsph_step_def *d = &defs[i];
		fprintf(out, "| `%s` | ", d->name);
		for (size_t k = 0; k < wsph_step_n_args(d); k++) {
			fputs(k ? ", " : "", out);
			put_arg(out, &d->args[k]);
		}
		fputs(" | ", out);
		put_cell_text(out, d->call);
		fputs(" | ", out);
		put_needs(out, d->needs, d->flags);
		fputs(" | ", out);
		put_binds(out, d);
		fputs(" |\n", out);
	}
}
