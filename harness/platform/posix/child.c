/* POSIX isolation: a forked child that runs scenarios one after another, its commands and frames
 * on a private socket, the provider's output on a pipe of its own; the child leads its own process
 * group, dies with its parent and reaps what the provider leaves behind; killed at the deadline; a
 * stack overflow told from other SIGSEGVs. */
#define _GNU_SOURCE
#include "../platform.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

struct wsph_child {
	pid_t pid;
	int chan;   /* our end of the channel (commands out, frames in) */
	int out;    /* the child's stdout and stderr (we read) */
	int pidfd;  /* readable when the child ends (-1 where the kernel has none) */
	int chan_eof, out_eof;
};

/* The channel's descriptor in the child: high, so that a provider's dup2 onto the usual numbers
 * does not meet it; close-on-exec, so that nothing the provider runs inherits it. */
#define CHILD_CHANNEL_FD 987
static int channel_fd = -1;

/* The parent's ends of every live child's channel and output: a child forked later closes them,
 * so that each child's descriptors end with it. */
#define MAX_LIVE 256
static int live_fds[MAX_LIVE];
static size_t n_live;

static void live_add(int fd)
{
	if (n_live < MAX_LIVE)
		live_fds[n_live++] = fd;
}

static void live_remove(int fd)
{
	for (size_t i = 0; i < n_live; i++)
		if (live_fds[i] == fd) {
			live_fds[i] = live_fds[--n_live];
			return;
		}
}

/* In the child, before its job: its own process group (a provider's kill(0, ...) reaches only
 * it), death with the parent, the reaper of its orphans (a double fork still ends with the case),
 * an empty stdin, stdout and stderr on the output pipe, the channel on its own descriptor. */
static void child_setup(pid_t parent, int chan, int out_w)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(70); /* the parent died before the line above */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_DFL); /* the parent ignores it; the provider gets the default */
	for (size_t i = 0; i < n_live; i++)
		close(live_fds[i]);
	n_live = 0;
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	dup2(out_w, 1);
	dup2(out_w, 2);
	close(out_w);
	channel_fd = fcntl(chan, F_DUPFD_CLOEXEC, CHILD_CHANNEL_FD);
	close(chan);
	setvbuf(stdout, NULL, _IOLBF, 0);
	clearerr(stdin); /* the parent's stdin buffer is not ours */
}

static void close_pair(int *p)
{
	close(p[0]);
	close(p[1]);
}

/* fork, retried while the system is short of processes or memory (a loaded CI machine). */
static pid_t fork_retrying(char *err, size_t errlen)
{
	static const unsigned backoff_ms[] = {10, 50, 200, 500, 1000};
	for (size_t i = 0;; i++) {
		pid_t pid = fork();
		if (pid >= 0)
			return pid;
		int e = errno;
		snprintf(err, errlen, "fork: %s", strerror(e));
		if ((e != EAGAIN && e != ENOMEM) || i == sizeof backoff_ms / sizeof backoff_ms[0])
			return -1;
		fprintf(stderr, "wspharness: starting a child process failed (%s), retrying\n", err);
		wsph_plat_sleep_ms(backoff_ms[i]);
	}
}

struct wsph_child *wsph_plat_child_start(const struct wsph_child_spec *spec, char *err,
					 size_t errlen)
{
	int chan[2], out[2];
	struct wsph_child *ch = calloc(1, sizeof *ch);
	if (!ch) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fflush(stdout);
	fflush(stderr);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		free(ch);
		return NULL;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close_pair(chan);
		free(ch);
		return NULL;
	}
	pid_t parent = getpid();
	pid_t pid = fork_retrying(err, errlen);
	if (pid < 0) {
		close_pair(chan);
		close_pair(out);
		free(ch);
		return NULL;
	}
	if (pid == 0) {
		free(ch); /* the parent's, not this process's (valgrind counts it lost otherwise) */
		close(chan[0]);
		close(out[0]);
		child_setup(parent, chan[1], out[1]);
		/* exit(), not _exit(): what a provider left to run at exit (an atexit handler of a module
		 * still loaded) runs in this child, and its exit status reaches the parent */
		exit(spec->job(spec->ctx));
	}
	setpgid(pid, pid); /* both sides: whichever runs first */
	close(chan[1]);
	close(out[1]);
	fcntl(chan[0], F_SETFL, fcntl(chan[0], F_GETFL) | O_NONBLOCK);
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	/* a write to a child that is gone fails with EPIPE instead of killing the parent */
	signal(SIGPIPE, SIG_IGN);
	ch->pid = pid;
	ch->chan = chan[0];
	ch->out = out[0];
#ifdef SYS_pidfd_open
	ch->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (ch->pidfd >= 0)
		fcntl(ch->pidfd, F_SETFD, FD_CLOEXEC);
#else
	ch->pidfd = -1;
#endif
	live_add(ch->chan);
	live_add(ch->out);
	if (ch->pidfd >= 0)
		live_add(ch->pidfd);
	return ch;
}

int wsph_plat_child_send(struct wsph_child *ch, const char *text)
{
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = send(ch->chan, text + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {ch->chan, POLLOUT, 0};
			if (poll(&p, 1, 1000) >= 0 && !wsph_plat_child_ended(ch))
				continue;
		}
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

unsigned long wsph_plat_child_pid(const struct wsph_child *ch)
{
	return (unsigned long)ch->pid;
}

int wsph_plat_child_ended(struct wsph_child *ch)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno == ECHILD;
	return si.si_pid == ch->pid;
}

/* Without a pidfd, the end of a child is noticed by looking: this often. */
#define NO_PIDFD_POLL_MS 20

int wsph_plat_child_wait(struct wsph_child *const *chs, size_t n, unsigned ms)
{
	struct pollfd p[3 * 64];
	nfds_t k = 0;
	int no_pidfd = 0;
	for (size_t i = 0; i < n && k + 3 <= 3 * 64; i++) {
		const struct wsph_child *ch = chs[i];
		if (!ch)
			continue;
		if (!ch->chan_eof)
			p[k++] = (struct pollfd){ch->chan, POLLIN, 0};
		if (!ch->out_eof)
			p[k++] = (struct pollfd){ch->out, POLLIN, 0};
		if (ch->pidfd >= 0)
			p[k++] = (struct pollfd){ch->pidfd, POLLIN, 0};
		else
			no_pidfd = 1;
	}
	if (no_pidfd && ms > NO_PIDFD_POLL_MS)
		ms = NO_PIDFD_POLL_MS;
	if (!k) {
		wsph_plat_sleep_ms(ms);
		return 0;
	}
	return poll(p, k, (int)ms) > 0;
}

static long read_fd(int fd, int *eof, char *buf, size_t len)
{
	if (*eof)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n > 0)
			return (long)n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		*eof = 1;
		return -1;
	}
}

long wsph_plat_child_read(struct wsph_child *ch, char *buf, size_t len)
{
	return read_fd(ch->chan, &ch->chan_eof, buf, len);
}

long wsph_plat_child_read_output(struct wsph_child *ch, char *buf, size_t len)
{
	return read_fd(ch->out, &ch->out_eof, buf, len);
}

void wsph_plat_child_end(struct wsph_child *ch, int kill_it, unsigned wait_ms,
			 enum wsph_child_end *end, long *code)
{
	int status = 0;
	live_remove(ch->chan);
	live_remove(ch->out);
	shutdown(ch->chan, SHUT_WR); /* the child reads the end of its commands */
	if (!kill_it) {
		uint64_t deadline = wsph_plat_now_ns() + (uint64_t)wait_ms * 1000000u;
		while (!wsph_plat_child_ended(ch)) {
			uint64_t now = wsph_plat_now_ns();
			if (now >= deadline) {
				kill_it = 1;
				break;
			}
			unsigned ms = (unsigned)((deadline - now) / 1000000u) + 1;
			if (ch->pidfd >= 0) {
				struct pollfd p = {ch->pidfd, POLLIN, 0};
				poll(&p, 1, (int)(ms < 1000 ? ms : 1000));
			} else {
				wsph_plat_sleep_ms(ms < 2 ? ms : 2);
			}
		}
	}
	/* The whole group: what the provider started ends with the child. The group lives on while
	 * its leader is unreaped, so this comes before the wait. */
	kill(-ch->pid, SIGKILL);
	if (kill_it)
		kill(ch->pid, SIGKILL);
	while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(ch->chan);
	close(ch->out);
	if (ch->pidfd >= 0) {
		live_remove(ch->pidfd);
		close(ch->pidfd);
	}
	free(ch);
	if (WIFSIGNALED(status)) {
		*end = WSPH_CHILD_SIGNALED;
		*code = WTERMSIG(status);
	} else {
		*end = WSPH_CHILD_EXITED;
		*code = WEXITSTATUS(status);
	}
}

/* ---- the child's side of the channel ---- */

int wsph_plat_channel_open(const char *token)
{
	(void)token;
	return channel_fd >= 0 ? 0 : -1;
}

long wsph_plat_channel_read(char *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(channel_fd, buf, len);
		if (n > 0)
			return (long)n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {channel_fd, POLLIN, 0};
			poll(&p, 1, -1);
			continue;
		}
		return -1;
	}
}

int wsph_plat_channel_write(const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(channel_fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd q = {channel_fd, POLLOUT, 0};
			poll(&q, 1, -1);
			continue;
		}
		return -1;
	}
	return 0;
}

/* The child's children (its orphans too: it is their reaper), from /proc. */
static int list_children(pid_t *out, size_t cap)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t me = getpid();
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && (size_t)n < cap) {
		char path[300], buf[512];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[k] = '\0';
		const char *rp = strrchr(buf, ')');
		int ppid = 0;
		char state = 0;
		if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == me && state != 'Z')
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

static void describe(pid_t pid, char *what, size_t len)
{
	char path[64], comm[64] = "?";
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fgets(comm, sizeof comm, f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(what, len, "pid %d (%s)", (int)pid, comm);
}

static void reap_ended(void)
{
	int st;
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

int wsph_plat_child_end_strays(char *what, size_t len)
{
	pid_t pids[64];
	int total = 0;
	if (len)
		what[0] = '\0';
	reap_ended();
	/* rounds: a stray's own children become this process's orphans once it is gone */
	for (int round = 0; round < 8; round++) {
		int n = list_children(pids, sizeof pids / sizeof pids[0]);
		if (!n)
			break;
		for (int i = 0; i < n; i++) {
			if (!total++ && len)
				describe(pids[i], what, len);
			kill(pids[i], SIGKILL);
		}
		for (int i = 0; i < n; i++)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
		reap_ended();
	}
	return total;
}

int wsph_plat_module_loaded(const char *path)
{
	char buf[4096];
	const char *p = path;
	if (!strchr(path, '/')) {
		snprintf(buf, sizeof buf, "./%s", path);
		p = buf;
	}
	void *h = dlopen(p, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	dlclose(h);
	return 1;
}

void wsph_plat_watch_threads(struct wsph_module *m)
{
	(void)m;
}

int wsph_plat_thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

unsigned wsph_plat_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1u;
}

/* Not a signal number: what the child reports for a SIGSEGV near the stack limit. */
#define STACK_OVERFLOW_CODE 1000

const char *wsph_plat_signal_name(long code, char *buf, size_t len, const char **klass)
{
	static const struct {
		int sig;
		const char *name, *klass;
	} names[] = {
		{SIGSEGV, "SIGSEGV", "crash"}, {SIGBUS, "SIGBUS", "crash"},
		{SIGILL, "SIGILL", "crash"},   {SIGFPE, "SIGFPE", "crash"},
		{SIGABRT, "SIGABRT", "abort"}, {SIGKILL, "SIGKILL", "crash"},
		{SIGTERM, "SIGTERM", "crash"}, {SIGTRAP, "SIGTRAP", "crash"},
	};
	*klass = "crash";
	if (code == STACK_OVERFLOW_CODE) {
		snprintf(buf, len, "stack overflow (SIGSEGV (%d) at the stack limit)", SIGSEGV);
		*klass = "stack-overflow";
		return buf;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == code) {
			snprintf(buf, len, "%s (%ld)", names[i].name, code);
			*klass = names[i].klass;
			return buf;
		}
	snprintf(buf, len, "signal %ld", code);
	return buf;
}

/* ---- stack overflow: a SIGSEGV handler on its own stack ---- */

/* The main thread's stack: its lowest address (the limit it may grow to) and the top. */
static uintptr_t stack_lo, stack_hi;
static pid_t main_tid;
/* A fault this far below the limit is still an overflow (a large frame can jump over the guard
 * page); a fault this far above it too (the limit is rounded to pages). */
#define BELOW_MARGIN ((uintptr_t)1 << 20)
#define ABOVE_MARGIN ((uintptr_t)64 << 10)
static char alt_stack[64 * 1024];

static void main_stack_bounds(void)
{
	pthread_attr_t a;
	void *addr = NULL;
	size_t size = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		if (pthread_attr_getstack(&a, &addr, &size) != 0)
			addr = NULL;
		pthread_attr_destroy(&a);
	}
	if (addr) {
		stack_lo = (uintptr_t)addr;
		stack_hi = stack_lo + size;
		return;
	}
	/* fall back on the limit: the stack ends RLIMIT_STACK below where we are now */
	struct rlimit rl;
	uintptr_t here = (uintptr_t)&rl;
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < here) {
		stack_hi = here;
		stack_lo = here - (uintptr_t)rl.rlim_cur;
	}
}

static const struct wsph_child_hooks *hooks;

/* ---- what a crash handler sees: only async-signal-safe calls (no allocation, no lock) ---- */

/* The faulting instruction, from the signal's ucontext: x86-64 and AArch64 Linux (0 elsewhere). */
static uint64_t uc_pc(const void *ucp)
{
#if defined(__x86_64__) && defined(REG_RIP)
	return (uint64_t)((const ucontext_t *)ucp)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uint64_t)((const ucontext_t *)ucp)->uc_mcontext.pc;
#else
	(void)ucp;
	return 0;
#endif
}

/* What a SIGSEGV's instruction did: the x86-64 page-fault error code (bit 4 an instruction fetch,
 * bit 1 a write); an access of unknown kind elsewhere. */
static char uc_access(const void *ucp)
{
#if defined(__x86_64__) && defined(REG_ERR) && defined(REG_TRAPNO)
	const ucontext_t *uc = ucp;
	if (uc->uc_mcontext.gregs[REG_TRAPNO] == 14) {
		greg_t e = uc->uc_mcontext.gregs[REG_ERR];
		return e & 0x10 ? 'x' : e & 2 ? 'w' : 'r';
	}
#else
	(void)ucp;
#endif
	return 'a';
}

/* One line of /proc/self/maps: "START-END PERMS OFFSET DEV INODE   PATH". */
struct mapping {
	uint64_t start, end, offset;
	const char *path; /* "" for an anonymous mapping */
};

static const char *hex_field(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	for (;; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (d < 0)
			break;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return s;
}

static const char *skip_field(const char *s)
{
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

static int parse_mapping(const char *line, struct mapping *m)
{
	const char *s = hex_field(line, &m->start);
	if (*s != '-')
		return -1;
	s = hex_field(s + 1, &m->end);
	s = skip_field(skip_field(s)); /* the range, the permissions */
	s = hex_field(s, &m->offset);
	s = skip_field(skip_field(skip_field(s))); /* the offset, device, inode */
	m->path = s;
	return 0;
}

/* The module search: a module's base is the start of its file's mapping at offset 0. */
struct module_scan {
	uint64_t pc;
	uint64_t base;
	char base_path[256];
	struct wsph_crash_info *ci;
	int done;
};

static void set_module(struct wsph_crash_info *ci, const char *path)
{
	const char *base = path;
	for (const char *p = path; *p; p++)
		if (*p == '/')
			base = p + 1;
	size_t n = strlen(base);
	static const char deleted[] = " (deleted)";
	if (n > sizeof deleted - 1 && !strcmp(base + n - (sizeof deleted - 1), deleted))
		n -= sizeof deleted - 1;
	if (n >= sizeof ci->module)
		n = sizeof ci->module - 1;
	memcpy(ci->module, base, n);
	ci->module[n] = '\0';
}

static void scan_line(struct module_scan *sc, const char *line)
{
	struct mapping m;
	if (parse_mapping(line, &m) != 0)
		return;
	if (m.offset == 0 && m.path[0]) {
		sc->base = m.start;
		size_t n = strlen(m.path);
		n = n < sizeof sc->base_path - 1 ? n : sizeof sc->base_path - 1;
		memcpy(sc->base_path, m.path, n);
		sc->base_path[n] = '\0';
	}
	if (sc->pc < m.start || sc->pc >= m.end)
		return;
	sc->done = 1;
	if (!m.path[0])
		return; /* anonymous memory: in no module */
	int same = !strncmp(m.path, sc->base_path, sizeof sc->base_path - 1);
	sc->ci->offset = same ? sc->pc - sc->base : sc->pc - m.start + m.offset;
	set_module(sc->ci, m.path);
}

/* The module holding ci->pc and its offset there, from /proc/self/maps read with read(2): the
 * loader's own lookups (dladdr) take its lock, which the crashing code may hold. */
static void module_at(struct wsph_crash_info *ci)
{
	char chunk[2048], line[512];
	size_t len = 0;
	struct module_scan sc;
	memset(&sc, 0, sizeof sc);
	sc.pc = ci->pc;
	sc.ci = ci;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n;
	while (!sc.done && ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))) {
		for (ssize_t i = 0; i < n && !sc.done; i++) {
			if (chunk[i] != '\n') {
				if (len < sizeof line - 1)
					line[len++] = chunk[i];
				continue;
			}
			line[len] = '\0';
			scan_line(&sc, line);
			len = 0;
		}
	}
	close(fd);
}

/* The signals the child reports itself, and what their handler looks at. */
enum { SEE_THREAD = 1, SEE_PC = 2, SEE_ACCESS = 4 };

static const struct {
	int sig, see;
} reported[] = {
	{SIGSEGV, SEE_THREAD | SEE_PC | SEE_ACCESS},
	{SIGBUS, SEE_THREAD | SEE_PC | SEE_ACCESS},
	{SIGILL, SEE_THREAD | SEE_PC},
	{SIGFPE, SEE_THREAD | SEE_PC},
	{SIGTRAP, SEE_THREAD | SEE_PC},
	{SIGABRT, SEE_THREAD}, /* where abort() raised it says nothing */
};

static void crash_info(int sig, const siginfo_t *si, const void *uc, struct wsph_crash_info *ci)
{
	int see = 0;
	for (size_t i = 0; i < sizeof reported / sizeof reported[0]; i++)
		if (reported[i].sig == sig)
			see = reported[i].see;
	memset(ci, 0, sizeof *ci);
	ci->tid = (unsigned long)gettid();
	ci->thread = (pid_t)ci->tid == main_tid;
	/* an address only for a fault the kernel raised on a known address (not kill(), not a
	 * general-protection fault, SI_KERNEL) */
	if ((see & SEE_ACCESS) && si && si->si_code > 0 && si->si_code != SI_KERNEL) {
		ci->access = sig == SIGSEGV ? uc_access(uc) : 'a';
		ci->addr = (uint64_t)(uintptr_t)si->si_addr;
	}
	if ((see & SEE_PC) && uc && (ci->pc = uc_pc(uc)) != 0)
		module_at(ci);
}

static void write_code(long code, const struct wsph_crash_info *ci)
{
	char frame[1024];
	size_t n = hooks ? hooks->crash_frame(frame, sizeof frame, code, ci) : 0;
	if (n)
		wsph_plat_channel_write(frame, n);
}

/* The frames still buffered go out first. Not async-signal-safe (the buffer's lock), but the
 * fault is in provider code, not in the writer; at worst the child hangs and the parent's time
 * limit ends it. */
static void flush_frames(void)
{
	if (hooks)
		hooks->flush();
}

static void on_fatal(int sig)
{
	flush_frames();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A reported signal: the buffered frames, then the crash frame with what the handler saw, then
 * death by the signal itself (the parent sees it too). A SIGSEGV near the main thread's stack
 * limit is a stack overflow: its frame carries that code instead. */
static void on_crash(int sig, siginfo_t *si, void *uc)
{
	struct wsph_crash_info ci;
	flush_frames();
	crash_info(sig, si, uc, &ci);
	long code = sig;
	uintptr_t a = (uintptr_t)si->si_addr;
	if (sig == SIGSEGV && ci.thread == 1 && stack_lo && a < stack_lo + ABOVE_MARGIN &&
	    a + BELOW_MARGIN >= stack_lo) {
		code = STACK_OVERFLOW_CODE;
		ci.access = 0; /* a stack address: the overflow says it all */
	}
	write_code(code, &ci);
	signal(sig, SIG_DFL);
	raise(sig);
}

void wsph_plat_child_init(const struct wsph_child_hooks *h)
{
	hooks = h;
	signal(SIGTERM, on_fatal); /* the parent sees the signal; its frames go out first */
	main_tid = (pid_t)gettid();
	main_stack_bounds();
	stack_t ss;
	memset(&ss, 0, sizeof ss);
	ss.ss_sp = alt_stack;
	ss.ss_size = sizeof alt_stack;
	sigaltstack(&ss, NULL); /* without it an overflow dies of SIGSEGV unreported */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof reported / sizeof reported[0]; i++)
		sigaction(reported[i].sig, &sa, NULL);
}

void wsph_plat_child_exit_unchecked(void)
{
	flush_frames();
	fflush(NULL);
	_Exit(0);
}
