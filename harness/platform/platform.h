/* The operating system behind one small interface: modules, time, threads, locks, files. */
#ifndef WSPH_PLATFORM_H
#define WSPH_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct wsph_module;

/* Loads a provider module (UTF-8 path). On failure returns NULL and writes a reason to err. */
struct wsph_module *wsph_plat_load(const char *path, char *err, size_t errlen);
void *wsph_plat_symbol(struct wsph_module *m, const char *name);
/* After wsph_plat_load failed: the exception the module's initialization raised and the system
 * loader caught (Windows: an access violation in DllMain fails LoadLibrary with error 998), or 0.
 * On POSIX such a fault ends the process instead, and this returns 0. */
long wsph_plat_load_exception(void);
void wsph_plat_unload(struct wsph_module *m);
/* Redirects the module's imports of `name` (from any DLL) to `replacement`. On POSIX the program
 * exports the symbol instead and this is a no-op returning 0. Returns the number patched. */
int wsph_plat_interpose(struct wsph_module *m, const char *name, void *replacement);
/* Base name of the module containing addr ("mockbase.so"), or "?" when unknown. */
const char *wsph_plat_module_name_at(const void *addr, char *buf, size_t len);
/* The number of threads this process has now, or -1 when the OS cannot tell (platform child.c).
 * Before unloading a module, more threads than before it was loaded means one of its threads may
 * still run its code; the runner also uses it to retire a child that a case left threads in. */
int wsph_plat_thread_count(void);
/* Makes a thread the module creates count in wsph_plat_thread_count from the moment its creation
 * returns, before the new thread has run any code. On Windows a new thread is counted only when it
 * first runs (its TLS callback), so the module's thread-creation imports are interposed; on POSIX
 * the thread is in /proc as soon as pthread_create returns and this does nothing. */
void wsph_plat_watch_threads(struct wsph_module *m);

uint64_t wsph_plat_now_ns(void); /* monotonic */
unsigned long wsph_plat_thread_id(void);
int64_t wsph_plat_utc_seconds(void);
void wsph_plat_hostname(char *buf, size_t len);

struct wsph_mutex;
struct wsph_mutex *wsph_mutex_new(void);
void wsph_mutex_lock(struct wsph_mutex *m);
void wsph_mutex_unlock(struct wsph_mutex *m);
void wsph_mutex_free(struct wsph_mutex *m);

/* Files and directories (UTF-8 paths, '/' accepted on both). */
int wsph_plat_is_dir(const char *path);
int wsph_plat_is_file(const char *path);
/* Calls fn for every entry name in dir (not "." or ".."), in no particular order; is_dir as the
 * entry itself says (a link to a folder may say 0: ask wsph_plat_file_kind on the joined path). */
int wsph_plat_list_dir(const char *dir, void (*fn)(void *ctx, const char *name, int is_dir),
		       void *ctx);
/* What a path names, links followed. Examining it never blocks and never opens it for reading
 * (Windows opens it without access rights to ask GetFileType: DOS device names such as
 * "nul.yaml" name devices there). */
enum wsph_file_kind {
	WSPH_FILE_MISSING, /* nothing there, or nothing that can be examined */
	WSPH_FILE_REGULAR,
	WSPH_FILE_DIR,
	WSPH_FILE_FIFO, /* POSIX */
	WSPH_FILE_PIPE, /* Windows: a named or anonymous pipe */
	WSPH_FILE_SOCKET,
	WSPH_FILE_CHAR_DEVICE,
	WSPH_FILE_BLOCK_DEVICE,
	WSPH_FILE_OTHER
};
enum wsph_file_kind wsph_plat_file_kind(const char *path);
/* The identity of the folder path names, links followed (device and inode; volume serial and
 * file index): two paths with the same identity are one folder. 0, or -1. */
int wsph_plat_dir_identity(const char *path, uint64_t id[2]);
/* Opening a regular file (links followed) for reading, as a binary stream (*f). It never blocks on
 * what is not a regular file: the path is examined first (a device is never opened for reading),
 * opened without blocking (POSIX O_NONBLOCK, cleared once open), and what was opened is checked
 * again (fstat S_ISREG; GetFileType FILE_TYPE_DISK), so a file swapped in between is refused too.
 * The stream is read by the core (wsph_read_regular in yamlutil.c): TOO_LARGE, FAILED and
 * NO_MEMORY are the reader's outcomes. */
enum wsph_read_status {
	WSPH_READ_OK,
	WSPH_READ_CANNOT_OPEN, /* err: the system's reason ("No such file or directory") */
	WSPH_READ_NOT_REGULAR, /* *kind says what it is */
	WSPH_READ_TOO_LARGE,
	WSPH_READ_FAILED, /* a read error */
	WSPH_READ_NO_MEMORY
};
enum wsph_read_status wsph_plat_open_regular(const char *path, FILE **f,
					     enum wsph_file_kind *kind, char *err, size_t errlen);
/* Writing a file whole (a report) without writing through a name the harness did not create.
 * When path exists and is not a regular file (a FIFO, a character device such as /dev/null or
 * NUL, a pipe), it is opened itself, for writing without truncation (a FIFO waits for a reader,
 * as `cat > fifo` does), and tmp is set to ""; so is the descriptor /dev/stdout, /dev/stderr or
 * /dev/fd/N names on POSIX, written through a copy of it. Otherwise the file to replace goes to dst: path,
 * or the file a symbolic link at path leads to (the link stays a link); a new file is created
 * exclusively, under a unique name, in dst's directory (".NAME.XXXXXX" on POSIX), never through
 * a symbolic link, and its name goes to tmp. Once it is written and closed,
 * wsph_plat_replace_file(tmp, dst); on any failure, wsph_plat_remove_file(tmp). tmp and dst hold
 * len bytes. Returns the stream, or NULL with errno set (and nothing created). */
FILE *wsph_plat_out_open(const char *path, char *tmp, char *dst, size_t len);
/* Replaces dst with src atomically where the OS allows it. 0, or -1 with errno set. */
int wsph_plat_replace_file(const char *src, const char *dst);
int wsph_plat_remove_file(const char *path); /* 0, or -1 with errno set */
/* Directory of the running program, without a trailing separator. */
int wsph_plat_exe_dir(char *buf, size_t len);
/* mkdir -p of the parent directories of a file path. 0, or -1 with errno set (ENAMETOOLONG when
 * the path is too long for the platform's buffers). */
int wsph_plat_mkdirs(const char *path);
/* Terminal colour on this stream? (isatty and not NO_COLOR) */
int wsph_plat_stream_is_tty(void *file);
/* The provider module suffix: ".so" or ".dll". */
const char *wsph_plat_module_suffix(void);

/* Events for WPUCreateEvent and client events: manual-reset, initially nonsignaled. On Windows
 * these are real event HANDLEs; on POSIX a portable object. wait returns 1 signaled, 0 timeout. */
void *wsph_plat_event_new(void);
int wsph_plat_event_set(void *ev);
int wsph_plat_event_reset(void *ev);
int wsph_plat_event_wait(void *ev, unsigned ms);
void wsph_plat_event_free(void *ev);

void wsph_plat_sleep_ms(unsigned ms);

/* SIGINT/SIGTERM (Ctrl-C, Ctrl-Break, termination on Windows) set *flag instead of killing the
 * run, so the report of what ran can still be written, and wake wsph_plat_wake_wait. A second one,
 * with *flag already set, ends the process at once (exit status 128 + the signal: 130 for SIGINT;
 * 130 on Windows). In a forked child the handler only sets the child's flag. */
void wsph_plat_catch_interrupts(volatile int *flag);
/* A wake-up any thread may give (async-signal-safe on POSIX) and one thread waits for:
 * wsph_plat_wake_wait returns 1 when woken (by wsph_plat_wake or an interrupt) since the last
 * wait, 0 after ms. Wake-ups do not queue: a waiter rechecks what it waits for. */
void wsph_plat_wake(void);
int wsph_plat_wake_wait(unsigned ms);
/* The program's standard streams, first thing: on POSIX a write to a pipe nobody reads (stdout
 * into `head -c0`) fails with EPIPE instead of raising SIGPIPE (caught by a handler that does
 * nothing, so a program started from here gets the default disposition back at exec), and a
 * standard descriptor that is closed (`>&-`) is taken by /dev/null opened read-only, so writes to
 * it still fail and no file the program opens becomes its stdout. Nothing on Windows. */
void wsph_plat_guard_stdio(void);
/* Why stdout cannot be written now, as an errno value (0: it can, or it cannot be told): the
 * reason of a write that failed earlier, when errno no longer holds it. */
int wsph_plat_stdout_errno(void);
unsigned long wsph_plat_process_id(void);
/* Ends the process at once with this status: no exit handlers, no DLL detach code, no flushing
 * (POSIX _exit, Windows TerminateProcess). */
void wsph_plat_exit_now(int status);

/* Isolation. Scenarios run in a persistent child process. The child talks to the parent on a
 * private channel (commands in, frames out) that is neither its stdin, stdout nor stderr and is
 * not inherited by what the provider starts; its stdin is empty (/dev/null, NUL) and its stdout and
 * stderr (the provider's own output) go to a pipe of their own. The child leads its own process
 * group (POSIX) or job object (Windows), dies with its parent, and everything it started ends with
 * it. POSIX forks and runs job(ctx) in the child (its return value is the exit status); Windows
 * starts this program again as `PROGRAM --child CHANNEL argv[1..]` (CHANNEL: a token the child
 * gives wsph_plat_channel_open). */
struct wsph_child_spec {
	int (*job)(void *ctx);
	void *ctx;
	int argc;
	char **argv;
};

enum wsph_child_end {
	WSPH_CHILD_EXITED,   /* code: exit status */
	WSPH_CHILD_SIGNALED, /* code: signal number (POSIX) or exception code (Windows) */
	WSPH_CHILD_TIMEOUT,
	WSPH_CHILD_STOPPED, /* killed because the run was interrupted */
	WSPH_CHILD_FAILED   /* could not start */
};

struct wsph_child;
/* Starts a child; a transient failure (no process slot, no memory, under load) is retried a few
 * times, each retry said on stderr with its reason. NULL when it cannot be started, with the
 * system's reason in err. */
struct wsph_child *wsph_plat_child_start(const struct wsph_child_spec *spec, char *err,
					 size_t errlen);
/* Writes a command on the child's channel. 0, or -1 when the child no longer reads it. */
int wsph_plat_child_send(struct wsph_child *ch, const char *text);
/* Waits up to ms until one of the n children has something to say: channel bytes, output bytes, its
 * channel or output closed, or its process ended. Returns 1 when one has, 0 otherwise. NULL entries
 * are skipped. */
int wsph_plat_child_wait(struct wsph_child *const *chs, size_t n, unsigned ms);
/* Reads the child's channel without blocking: the number of bytes (len must be at least 65536), 0
 * when there is nothing now, -1 when the channel is closed. */
long wsph_plat_child_read(struct wsph_child *ch, char *buf, size_t len);
/* Reads the provider's output (the child's stdout and stderr) the same way; -1 once it is closed
 * (which says nothing about the process: a provider may close its stdout). */
long wsph_plat_child_read_output(struct wsph_child *ch, char *buf, size_t len);
/* The child's process id (for wsph_plat_idle_threads_of). */
unsigned long wsph_plat_child_pid(const struct wsph_child *ch);
/* 1 when the child process has ended (it stays unreaped until wsph_plat_child_end). */
int wsph_plat_child_ended(struct wsph_child *ch);
/* Ends the child: kills it first when `kill`, else waits up to wait_ms for it to exit (then kills
 * it); then ends every process of its group or job (what the provider started) and reaps it.
 * Frees ch and says how the child ended (EXITED with its status, or SIGNALED). */
void wsph_plat_child_end(struct wsph_child *ch, int kill, unsigned wait_ms, enum wsph_child_end *end,
			 long *code);

/* Child side (Windows): opens the channel named by the CHANNEL argument. 0, or -1. On POSIX the
 * forked child has its channel already and this returns 0. */
int wsph_plat_channel_open(const char *token);
/* Child side: reads commands from the parent, blocking: the number of bytes, or -1 at the end of
 * the channel. */
long wsph_plat_channel_read(char *buf, size_t len);
/* Child side: writes all of buf on the channel (through EINTR and EAGAIN: a provider may have made
 * the descriptor non-blocking). Async-signal-safe. 0, or -1 when the parent is gone. */
int wsph_plat_channel_write(const void *buf, size_t len);
/* Child side, after a case: ends the processes the case started that still run (the child's own
 * children and their orphans on POSIX, the other processes of its job on Windows). Returns how
 * many there were, the first described in what ("pid 1234 (sleep)"). */
int wsph_plat_child_end_strays(char *what, size_t len);
/* Child side: the process-wide state a case can change. The working directory (0, or -1); the
 * file-creation mask (read without changing it); the environment (NULL-terminated). */
int wsph_plat_cwd(char *buf, size_t len);
unsigned wsph_plat_umask(void);
char **wsph_plat_environ(void);
/* Makes path absolute (against the working directory) in out. 0, or -1 when it does not fit. */
int wsph_plat_absolute(const char *path, char *out, size_t len);
/* Child side: is the module at this path (as given to wsph_plat_load) still loaded? 1 yes, 0 no. */
int wsph_plat_module_loaded(const char *path);
/* Child side, at its end after a case that unloaded a provider holding memory: the process ends
 * at once, without exit handlers (a leak checker's among them) or DLL detach code (POSIX _Exit,
 * Windows TerminateProcess). */
void wsph_plat_child_exit_unchecked(void);
/* The number of processors (at least 1). */
unsigned wsph_plat_cpu_count(void);

/* "SIGSEGV (11)" or "EXCEPTION_ACCESS_VIOLATION (0xC0000005)"; the class: "crash", "abort",
 * "stack-overflow". A crash code is what the child's crash hook reported, else how it ended. */
const char *wsph_plat_signal_name(long code, char *buf, size_t len, const char **klass);
/* What a child's crash handler saw, gathered with fixed buffers only. */
struct wsph_crash_info {
	uint64_t pc;	   /* the faulting instruction's address; 0 unknown */
	char module[96];   /* base name of the module holding it ("" unknown) */
	uint64_t offset;   /* pc minus that module's base (with module[0]) */
	char access;	   /* 'r' read, 'w' write, 'x' execute, 'a' an access of unknown kind, 0 none */
	uint64_t addr;	   /* the address accessed (with access) */
	int thread;	   /* 1 the thread that runs the case's WSP calls (the child's main thread),
			      0 another one, -1 unknown */
	unsigned long tid; /* the faulting thread's id, as the trace records it (0 unknown) */
};
/* What the child's crash handlers call, with only the calls a crashed process can still make:
 * flush() sends the frames still buffered; crash_frame() writes the crash frame for code (and
 * info, which may be NULL) into buf (no allocation, no locks taken) and returns its length. */
struct wsph_child_hooks {
	void (*flush)(void);
	size_t (*crash_frame)(char *buf, size_t cap, long code, const struct wsph_crash_info *info);
};
/* Child side, first thing: report crashes as results instead of dialogs or debuggers. The crash
 * frame goes on the channel, written by the platform itself, with what the handler saw: Windows
 * exceptions and abort(); on POSIX SIGSEGV (a stack overflow when near the main thread's stack
 * limit), SIGBUS, SIGILL, SIGFPE, SIGTRAP and SIGABRT (SIGTERM and SIGKILL are seen by the parent
 * only). The faulting module is found without the loader's lock: /proc/self/maps read with
 * read(2) on POSIX; GetModuleHandleExW on Windows, which may take it (the crash of a thread that
 * holds it while another waits for it could then hang, and the case become a timeout). */
void wsph_plat_child_init(const struct wsph_child_hooks *hooks);
/* Sets an environment variable of this process (visible to ExpandEnvironmentStrings). */
int wsph_plat_setenv(const char *name, const char *value);
/* PostMessage to a real window (Windows); POSIX has none and returns 0. */
int wsph_plat_post_message(void *hwnd, unsigned msg, uintptr_t wparam, intptr_t lparam, int wide);
/* Does a leak checker report this process's lost memory when it exits (a build with
 * AddressSanitizer's leak checker, or a run under valgrind)? */
int wsph_plat_leak_checked(void);
/* Says once on stderr what this host lacks for providers to run as they would on Windows: under
 * Wine without a display, a provider's window (the hidden one many LSPs make for WSPAsyncSelect)
 * needs Wine's null graphics driver. Nothing on POSIX. */
void wsph_plat_host_advice(void);
/* Paths name the same file? (separators '/' and '\\' alike; case-insensitive on Windows) */
int wsph_plat_same_path(const char *a, const char *b);

/* What the process's threads are doing (platform idle.c), to decide that nothing can change any
 * more: the calling thread and the exempt ones are not looked at. */
struct wsph_idle {
	unsigned threads;  /* threads looked at */
	int all_waiting;   /* every one is blocked, with no time limit, on nothing already ready */
	uint64_t switches; /* their context switches so far (a thread that ran between two samples
			    * shows here even if it waits again) */
	uint64_t waiter_cpu_ns; /* the time the waiter has run on a CPU so far (0: no waiter) */
};
/* 0 with *out filled; -1 when the platform cannot tell (the caller keeps its time limits). Thread
 * `waiter` (0: none) is inside a WSP call that blocks: it counts as waiting in any wait, timed or
 * not, since a provider's blocking call waits in slices (calling the blocking hook between them);
 * what it does shows in the events it records and in the time it runs (waiter_cpu_ns). */
int wsph_plat_idle(unsigned long waiter, struct wsph_idle *out);
/* One thread of this process, as wsph_plat_idle judges each: 1 blocked for good, 0 not, -1 when
 * the platform cannot tell. */
int wsph_plat_idle_thread(unsigned long tid, unsigned long waiter);
/* The calling thread is one of the harness's helpers, which wait with time limits of their own
 * (on 1) or is no longer one (0). */
void wsph_plat_idle_exempt(int on);
/* One thread as a hang's explanation shows it (platform idle.c). */
struct wsph_thread_wait {
	unsigned long tid;
	char state;    /* 'R' running, 'S' blocked, 'D' in an uninterruptible wait, ... */
	int untimed;   /* blocked in a wait with no time limit on nothing ready */
	char call[40]; /* the system call it is blocked in ("futex", "poll"; "" not known) */
};
/* Every thread of this process but the caller and the harness's helpers, as they are now: up to
 * max of them into out. Returns how many there are (may be more than max), or -1 when the
 * platform cannot tell (Windows). Unlike wsph_plat_idle, a thread inside a WSP call is judged by
 * its system call like any other. */
int wsph_plat_idle_threads(struct wsph_thread_wait *out, size_t max);
/* The same for the threads of another process of the program's (a child the parent is about to
 * end at its time limit): the harness's helpers there are known by the name they give themselves
 * (wsph_plat_idle_exempt), and whether a wait has a time limit is read from its system call's
 * arguments alone. -1 when the platform cannot tell (Windows) or the process cannot be read. */
int wsph_plat_idle_threads_of(unsigned long pid, struct wsph_thread_wait *out, size_t max);

#endif
