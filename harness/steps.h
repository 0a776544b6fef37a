/* The step vocabulary: every step a scenario can write, as one table. A row says the step's name,
 * its arguments (key, required or not, default, what it takes), the WSP call it makes, what it
 * needs and what it binds. The scenario loader takes the keys, the required keys and the defaults
 * from it (scenario.c), the driver the WSP function and what the step needs (driver.c),
 * `wspharness list --steps` prints it, and the README's step table is that print
 * (tests/e2e/readme_steps.py compares them). A new step is one row here, its parsing of any new
 * key in scenario.c, and its action in driver.c. */
#ifndef WSPH_STEPS_H
#define WSPH_STEPS_H

#include <stddef.h>
#include <stdio.h>

enum wsph_op {
	WSPH_OP_STARTUP,
	WSPH_OP_CLEANUP,
	WSPH_OP_SOCKET,
	WSPH_OP_BIND,
	WSPH_OP_LISTEN,
	WSPH_OP_CONNECT,
	WSPH_OP_ACCEPT,
	WSPH_OP_SEND,
	WSPH_OP_RECV,
	WSPH_OP_SENDTO,
	WSPH_OP_RECVFROM,
	WSPH_OP_CLOSE,
	WSPH_OP_SHUTDOWN,
	WSPH_OP_GETSOCKOPT,
	WSPH_OP_SETSOCKOPT,
	WSPH_OP_IOCTL,
	WSPH_OP_GETSOCKNAME,
	WSPH_OP_GETPEERNAME,
	WSPH_OP_ASYNCSELECT,
	WSPH_OP_EVENTSELECT,
	WSPH_OP_ENUMNETWORKEVENTS,
	WSPH_OP_SELECT,
	WSPH_OP_WAITMESSAGE,
	WSPH_OP_WAITEVENT,
	WSPH_OP_ALERTABLE,
	WSPH_OP_COMPLETE,
	WSPH_OP_GETOVERLAPPEDRESULT,
	WSPH_OP_ARRIVE,
	WSPH_OP_CANCELBLOCKINGCALL,
	WSPH_OP_PARALLEL,
	WSPH_OP_BARRIER,
	WSPH_OP_BLOCKED,
	WSPH_OP_COUNT
};

/* The argument keys any step may take; each is parsed the same way in every step (scenario.c). */
enum wsph_key {
	WSPH_KEY_NONE,	     /* ends a row's arguments */
	WSPH_KEY_SOCKET,     /* a socket an earlier step bound, or "bogus" */
	WSPH_KEY_AS,	     /* the name a new socket is bound to */
	WSPH_KEY_TYPE,	     /* stream | dgram */
	WSPH_KEY_VERSION,    /* major.minor */
	WSPH_KEY_TABLE,	     /* A | B */
	WSPH_KEY_ADDR,	     /* a.b.c.d:port */
	WSPH_KEY_BACKLOG,    /* an integer */
	WSPH_KEY_HOW,	     /* receive | send | both */
	WSPH_KEY_LEVEL,	     /* SOL_SOCKET or an integer */
	WSPH_KEY_OPTION,     /* SO_* or an integer */
	WSPH_KEY_COMMAND,    /* FIONBIO | FIONREAD or an integer */
	WSPH_KEY_VALUE,	     /* a 32-bit integer */
	WSPH_KEY_RESULT,     /* a 32-bit integer */
	WSPH_KEY_DATA,	     /* bytes */
	WSPH_KEY_LEN,	     /* 1..65536 */
	WSPH_KEY_EVENTS,     /* a list of FD_* names */
	WSPH_KEY_MSG,	     /* a window message number */
	WSPH_KEY_OVERLAPPED, /* false | true */
	WSPH_KEY_COMPLETION, /* event | routine | none */
	WSPH_KEY_THREAD_ID,  /* client | none */
	WSPH_KEY_OP,	     /* an overlapped operation's name */
	WSPH_KEY_EVENT,	     /* a client event's name */
	WSPH_KEY_WAIT,	     /* false | true */
	WSPH_KEY_ERROR,	     /* 0 or a WSA error */
	WSPH_KEY_TIMEOUT,    /* milliseconds */
	WSPH_KEY_READ,	     /* select's socket lists */
	WSPH_KEY_WRITE,
	WSPH_KEY_EXCEPT,
	WSPH_KEY_READABLE,
	WSPH_KEY_WRITABLE,
	WSPH_KEY_THREADS,    /* parallel: a mapping of thread names to lists of steps */
	WSPH_KEY_REPEAT,     /* parallel: how many times the whole block runs */
	WSPH_KEY_NAME,	     /* barrier: its name */
	WSPH_KEY_THREAD,     /* blocked: a thread of the block */
	WSPH_KEY_COUNT
};

/* struct wsph_step_arg.flags */
#define WSPH_ARG_REQUIRED 0x1u /* the step must have it */
#define WSPH_ARG_BINDS 0x2u    /* a name this step binds (else one an earlier step bound) */
#define WSPH_ARG_EXPECTED 0x4u /* what the step checks the call's outcome against */
#define WSPH_ARG_REAL 0x8u     /* a socket of the scenario: "bogus" is refused */
#define WSPH_ARG_UNLESS_NONE 0x10u /* required unless the step says 'expect: none' */

struct wsph_step_arg {
	enum wsph_key key;
	unsigned flags;	 /* WSPH_ARG_* */
	const char *def; /* the value taken when the key is absent, written as a scenario would write
			    it and parsed the same way; NULL: none */
	const char *doc; /* what the key takes in this step, for the table; NULL: the key's own */
};

/* struct wsph_step_def.needs: what must exist before the step can run (for generators of
 * scenarios) and what the harness prepares for it. */
#define WSPH_NEEDS_STARTUP 0x1u /* a WSPStartup that succeeded */
#define WSPH_NEEDS_SOCKET 0x2u	/* a socket */
#define WSPH_NEEDS_OP 0x4u	/* a pending overlapped operation */
#define WSPH_NEEDS_EVENT 0x8u	/* a client event an eventselect step bound */
#define WSPH_NEEDS_WINDOW 0x10u /* the harness's window, opened before the provider is loaded */

/* struct wsph_step_def.flags */
#define WSPH_STEP_EXPECT_NONE 0x1u /* 'expect: none' (nothing arrives) is allowed */
#define WSPH_STEP_TEARDOWN 0x2u	   /* still runs after the scenario stopped, to put back what it
				      opened (a close, a cleanup) */

#define WSPH_STEP_MAIN_ONLY 0x4u  /* runs on the main driver thread only: not in the threads of a
				      parallel block (it waits on what belongs to that thread: the
				      window, the helper thread, the blocking hook) */
#define WSPH_STEP_SCALAR 0x8u	   /* may be written `step: VALUE`, the value of its first key */
#define WSPH_STEP_IN_THREADS 0x10u /* only in the threads of a parallel block */

#define WSPH_STEP_MAX_ARGS 10

struct wsph_step_def {
	const char *name; /* the YAML key */
	enum wsph_op op;
	int fn;		  /* enum wsph_fn of the WSP call the step makes; -1: none */
	const char *call; /* the WSP call column: "WSPBind", "none: pumps the window" */
	unsigned needs;	  /* WSPH_NEEDS_* */
	unsigned flags;	  /* WSPH_STEP_* */
	struct wsph_step_arg args[WSPH_STEP_MAX_ARGS]; /* the required ones first, in the order a
							   missing one is reported; ends at
							   WSPH_KEY_NONE */
};

/* The row of an operation (never NULL for op < WSPH_OP_COUNT), and of a step name. */
const struct wsph_step_def *wsph_step_def(enum wsph_op op);
const struct wsph_step_def *wsph_step_find(const char *name, size_t len);
/* The argument `key` of a step, or NULL when the step does not take it. */
const struct wsph_step_arg *wsph_step_arg(const struct wsph_step_def *def, enum wsph_key key);
size_t wsph_step_n_args(const struct wsph_step_def *def);
/* The key's YAML name ("socket") and what it takes in general. */
const char *wsph_key_name(enum wsph_key key);
const char *wsph_key_doc(enum wsph_key key);
/* The key named so, or -1. */
int wsph_key_find(const char *name, size_t len);

/* The vocabulary as the Markdown table the README holds (`wspharness list --steps`). */
void wsph_steps_markdown(FILE *out);

#endif
