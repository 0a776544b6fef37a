/* The scenario model: what scenario files say, with file:line:column on every node. */
#ifndef WSPH_SCENARIO_H
#define WSPH_SCENARIO_H

#include "diag.h"
#include "steps.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Limits of what a scenario folder may hold (README.md, "Scenario format"); names are bounded by
 * WSPH_YAML_MAX_NAME (yamlutil.h). */
#define WSPH_SCENARIO_MAX_PATH 1024u /* bytes in the path of a scenario file or folder */
#define WSPH_SCENARIO_MAX_DEPTH 16   /* folders below the one given */
/* bytes in a class name after "wspharness." (the file's path under the scenarios folder, dotted):
 * with a name of WSPH_YAML_MAX_NAME bytes, a case ID ("CLASS/NAME[nonifs]") fits in 512 */
#define WSPH_SCENARIO_MAX_CLASSNAME 256u

/* Provider kinds a scenario applies to (bit mask). */
#define WSPH_KIND_NONIFS 0x1u
#define WSPH_KIND_IFS 0x2u
#define WSPH_KIND_ALL (WSPH_KIND_NONIFS | WSPH_KIND_IFS)

/* Expectation of a step's result. */
#define WSPH_EXPECT_OK 0	 /* success (the default) */
#define WSPH_EXPECT_ANY (-1)	 /* success or failure, both accepted */
#define WSPH_EXPECT_FAILURE (-2) /* any failure with a nonzero error code */
#define WSPH_EXPECT_NONE (-3)	 /* waitmessage, waitevent, complete: nothing arrives */
/* any value > 0: failure with exactly that WSA error code */

struct wsph_step {
	struct wsph_loc loc;
	enum wsph_op op;
	char *socket;  /* operand socket name; "bogus" names a handle nobody issued */
	char *as;      /* name bound to the socket a socket/accept step returns */
	int sock_type; /* socket: 1 stream, 2 datagram (Winsock SOCK_* values) */
	int version;   /* startup: MAKEWORD(major, minor) as a Winsock WORD; default 0x0202 */
	int table;     /* startup: which fake upcall table to pass, 0 (A, default) or 1 (B) */
	char *addr;    /* bind/connect/sendto: "a.b.c.d:port" */
	int backlog;   /* listen: default 5 */
	int how;       /* shutdown: 0 receive, 1 send, 2 both */
	int level;     /* get/setsockopt: default SOL_SOCKET (0xffff) */
	int option;    /* get/setsockopt: option number (names resolved by the loader) */
	unsigned long command; /* ioctl: FIONBIO, FIONREAD (names resolved by the loader) */
	long value;	       /* setsockopt/ioctl input; getsockopt expected value */
	int has_value;
	long result; /* ioctl: expected output value (e.g. FIONREAD count) */
	int has_result;
	unsigned char *data; /* send payload, or expected received bytes */
	size_t data_len;
	int has_data;
	size_t len; /* recv/recvfrom buffer length; default 1024 */
	int overlapped; /* send/recv/sendto/recvfrom: issue the call overlapped */
	int completion; /* overlapped: WSPH_COMPLETION_EVENT (default), _ROUTINE or _NONE */
	int no_thread_id; /* overlapped: pass lpThreadId NULL (thread_id: none) */
	char *opname;	  /* 'op': overlapped send/recv: name bound to the operation, which is then left
			     pending; complete/getoverlappedresult: the operation */
	char *event;	  /* eventselect (binds a new client event), enumnetworkevents, waitevent */
	int wait;	  /* getoverlappedresult: fWait */
	int msg_error;	  /* waitmessage: the error expected in HIWORD(lParam) */
	char **sets[3];	  /* select: read, write, except (socket names) */
	size_t n_sets[3];
	int has_set[3];
	char **ready[2]; /* select: the sockets expected readable, writable */
	size_t n_ready[2];
	int has_ready[2];
	long timeout_ms; /* select: -1 (absent) waits without limit */
	int expect; /* WSPH_EXPECT_* or a WSA error code */
	char *rule; /* rule charged when the expectation is not met; NULL: HARNESS.Step.Expectation */
	int control; /* a control step: when its expectation is not met the case is inconclusive
			(the probe the scenario's rules rely on does not work with this provider),
			and nothing is charged */
	struct wsph_loc rule_loc; /* where `rule` is written (zero when rule is NULL) */
	/* Threads (README.md, "Threads"): a parallel step is followed in `steps` by the steps of its
	 * threads, thread after thread; each of those says its thread and its block. */
	struct wsph_parallel *par; /* parallel: its threads */
	char *barrier;		   /* barrier: its name */
	int barrier_index;	   /* barrier: its index in its block's barriers */
	char *blocked;		   /* blocked: the thread's name */
	int blocked_index;	   /* blocked: that thread's index in its block */
	int thread;		   /* 0: the main thread; else 1 + the thread's index in its block */
	int block;		   /* the step number (1-based) of the parallel step it belongs to */
};

#define WSPH_MAX_THREADS 16
#define WSPH_MAX_REPEAT 1000

struct wsph_thread_steps {
	char *name;
	struct wsph_loc loc;
	size_t first;	/* index in the scenario's steps of its first step */
	size_t n_steps;
};

struct wsph_parallel {
	unsigned repeat; /* the whole block runs this many times (1..WSPH_MAX_REPEAT) */
	struct wsph_thread_steps threads[WSPH_MAX_THREADS];
	size_t n_threads;
	size_t n_nested; /* the steps after the parallel step that are its threads' */
	char **barriers; /* the names its barrier steps use */
	unsigned *parties; /* how many of its threads name each */
	size_t n_barriers;
};

#define WSPH_COMPLETION_EVENT 0
#define WSPH_COMPLETION_ROUTINE 1
#define WSPH_COMPLETION_NONE 2 /* neither: the client polls WSPGetOverlappedResult */

/* Make the nth call (1-based) of an upcall fail with a chosen error. */
struct wsph_fault {
	struct wsph_loc loc;
	int upcall; /* enum wsph_fn, an upcall */
	unsigned call;
	int error;
};

struct wsph_scenario {
	struct wsph_loc loc;
	char *name;
	char *description;
	unsigned kinds; /* WSPH_KIND_* */
	char **checks;	/* rule IDs this scenario checks */
	struct wsph_loc *check_locs; /* where each checks item is written (n_checks entries) */
	size_t n_checks;
	struct wsph_fault *faults;
	size_t n_faults;
	int modify_ifs_same; /* upcalls.modify_ifs_handle: same (1, default, as ws2_32 does) or
				different (0: strict, in the scenarios that check UseReturned) */
	int blocking;	     /* upcalls.blocking_callback: 0 none (default), 1 true, 2 false,
				3 cancel (WSPH_BLOCKING_* in upcalls.h) */
	int layered;	     /* 1: runs only when the provider is a layer (--layered); 0: always */
	int lower_hole;	     /* lower.proctable_hole: index of the WSPPROC_TABLE entry the harness
				clears in the lower provider's table (-1: none) */
	unsigned lower_fragment; /* lower.fragment_receives: the provider below delivers stream
				    receives in chunks of 1..k bytes (0: whole) */
	struct wsph_step *steps;
	size_t n_steps;
	double timeout; /* timeout: seconds for the whole scenario (0: the run's default) */
	struct wsph_loc timeout_loc; /* where the timeout: value is (for a message about it) */
	int concurrent;	/* concurrent: true, what --stress runs many times (stress.h) */
	/* Set by the stress expansion (stress.h): this run's seed for the start offsets of its
	 * threads (0: none), and whether it borrows everything but its name from the scenario
	 * before it in the suite (a stress copy). */
	uint64_t stress_seed;
	int borrowed;
	const char *file;      /* the scenario file path as loaded (same string as loc.file) */
	const char *classname; /* "wspharness.<path under the scenarios root, dots, no .yaml>" */
};

struct wsph_suite {
	char **files; /* owned path strings, referenced by every wsph_loc.file */
	size_t n_files;
	struct wsph_scenario *scenarios;
	size_t n_scenarios;
	char **classnames; /* owned */
	size_t n_classnames;
	/* --report-root: the folder the scenario files' paths in reports are relative to (NULL: the
	 * working directory); read by the loaders (wsph_path_for_report). */
	const char *report_root;
	char **warnings; /* owned: what the loaders skipped ("DIR/x.yaml: not a regular file (a
			    FIFO); skipped"), until wsph_suite_print_warnings */
	size_t n_warnings;
};

/*
 * Loads one scenario file and appends its scenarios to the suite. `root` is the directory the
 * classname is relative to (may be NULL: the file's base name is used).
 * Returns 0, or -1 with `diag` filled.
 */
int wsph_scenario_load_file(struct wsph_suite *suite, const char *path, const char *root,
			    struct wsph_diag *diag);
/* The same for `len` bytes of text that stand for the file `path` (used in messages and as the
 * scenarios' file); nothing is read from disk. */
int wsph_scenario_load_string(struct wsph_suite *suite, const char *path, const char *text,
			      size_t len, const char *root, struct wsph_diag *diag);
/* Loads every *.yaml under `dir` (recursively, sorted; rules.yaml, errors.yaml and explore.yaml
 * at its top excluded). Only regular files are
 * read: another kind of file named *.yaml (a FIFO, a socket, a device, or a link to one) and a
 * folder reached a second time through a link are skipped, each with a warning in the suite. A
 * path longer than WSPH_SCENARIO_MAX_PATH or folders nested deeper than WSPH_SCENARIO_MAX_DEPTH
 * are errors. */
int wsph_scenario_load_dir(struct wsph_suite *suite, const char *dir, struct wsph_diag *diag);
void wsph_suite_free(struct wsph_suite *suite);
/* Writes each warning as "wspharness: WARNING" on its line to out, and forgets them. */
void wsph_suite_print_warnings(struct wsph_suite *suite, FILE *out);

const char *wsph_op_name(enum wsph_op op); /* the YAML key: "startup", "socket", ... */
/* Whether the loader has a parser for the step argument key (enum wsph_key): every key steps.c
 * names must have one (tests/unit/test_steps.c). */
int wsph_scenario_parses_key(int key);

/* A scenario's class name is WSPH_CLASS_PREFIX followed by its suite: the file's path under its
 * scenarios folder, dotted, without ".yaml" ("wspharness.sockets.stream"). */
#define WSPH_CLASS_PREFIX "wspharness."
/* The suite of a class name ("sockets.stream"), as case IDs and JUnit's testsuite names show it;
 * a class name without the prefix (or with nothing after it) as it is. */
const char *wsph_suite_of(const char *classname);

/* A path as reports show it, allocated (NULL when out of memory): '/' for every separator, "."
 * and ".." collapsed, relative to `root` (NULL: the working directory) when it is under it, else
 * absolute. Under Wine the working directory is a "Z:\..." path too, so a file under it loses the
 * drive mapping. A path that cannot be made absolute is only cleaned. */
char *wsph_path_for_report(const char *path, const char *root);

#endif
