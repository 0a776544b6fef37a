/* POSIX isolation: a forked child that runs scenarios one after another (commands on its stdin,
 * events on its stdout), killed at the deadline; a stack overflow told from other SIGSEGVs. */
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct wsph_child {
	pid_t pid;
	int in;	 /* the child's stdin (we write) */
	int out; /* the child's stdout and stderr (we read) */
	int eof;
};

/* The parent's ends of every live child's pipes: a child forked later closes them, so that each
 * child's pipes end with it. */
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

struct wsph_child *wsph_plat_child_start(const struct wsph_child_spec *spec)
{
	int in[2], out[2];
	struct wsph_child *ch = calloc(1, sizeof *ch);
	if (!ch)
		return NULL;
	fflush(stdout);
	fflush(stderr);
	if (pipe(in) != 0) {
		free(ch);
		return NULL;
	}
	if (pipe(out) != 0) {
		close(in[0]);
		close(in[1]);
		free(ch);
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		free(ch);
		return NULL;
	}
	if (pid == 0) {
		free(ch); /* the parent's, not this process's (valgrind counts it lost otherwise) */
		signal(SIGPIPE, SIG_DFL); /* the parent ignores it; the provider gets the default */
		for (size_t i = 0; i < n_live; i++)
			close(live_fds[i]);
		n_live = 0;
		close(in[1]);
		close(out[0]);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[0]);
		close(out[1]);
		setvbuf(stdout, NULL, _IOLBF, 0);
		/* the parent's stdin buffer is not ours */
		clearerr(stdin);
		/* exit(), not _exit(): what a provider left to run at exit (an atexit handler of a module
		 * still loaded) runs in this child, and its exit status reaches the parent */
		exit(spec->job(spec->ctx));
	}
	close(in[0]);
	close(out[1]);
	fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	/* a write to a child that is gone fails with EPIPE instead of killing the parent */
	signal(SIGPIPE, SIG_IGN);
	ch->pid = pid;
	ch->in = in[1];
	ch->out = out[0];
	live_add(ch->in);
	live_add(ch->out);
	return ch;
}

int wsph_plat_child_send(struct wsph_child *ch, const char *text)
{
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(ch->in, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int wsph_plat_child_wait(struct wsph_child *const *chs, size_t n, unsigned ms)
{
	struct pollfd p[64];
	nfds_t k = 0;
	for (size_t i = 0; i < n && k < 64; i++) {
		if (!chs[i])
			continue;
		if (chs[i]->eof)
			return 1;
		p[k].fd = chs[i]->out;
		p[k].events = POLLIN;
		p[k].revents = 0;
		k++;
	}
	if (!k) {
		wsph_plat_sleep_ms(ms);
		return 0;
	}
	int r = poll(p, k, (int)ms);
	return r > 0;
}

long wsph_plat_child_read(struct wsph_child *ch, char *buf, size_t len)
{
	if (ch->eof)
		return -1;
	for (;;) {
		ssize_t n = read(ch->out, buf, len);
		if (n > 0)
			return (long)n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		ch->eof = 1;
		return -1;
	}
}

void wsph_plat_child_end(struct wsph_child *ch, int kill_it, unsigned wait_ms,
			 enum wsph_child_end *end, long *code)
{
	int status = 0;
	live_remove(ch->in);
	live_remove(ch->out);
	close(ch->in);
	if (kill_it)
		kill(ch->pid, SIGKILL);
	else {
		uint64_t deadline = wsph_plat_now_ns() + (uint64_t)wait_ms * 1000000u;
		for (;;) {
			pid_t r = waitpid(ch->pid, &status, WNOHANG);
			if (r == ch->pid)
				goto reaped;
			if (r < 0 && errno != EINTR)
				break;
			if (wsph_plat_now_ns() >= deadline) {
				kill(ch->pid, SIGKILL);
				break;
			}
			wsph_plat_sleep_ms(2);
		}
	}
	while (waitpid(ch->pid, &status, 0) < 0 && errno == EINTR)
		;
reaped:
	close(ch->out);
	free(ch);
	if (WIFSIGNALED(status)) {
		*end = WSPH_CHILD_SIGNALED;
		*code = WTERMSIG(status);
	} else {
		*end = WSPH_CHILD_EXITED;
		*code = WEXITSTATUS(status);
	}
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

static void write_code(long code)
{
	char line[48] = "\n\x1eWSPH X ";
	char digits[24];
	int n = 0;
	unsigned long v = (unsigned long)code;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < 20);
	size_t len = strlen(line);
	while (n)
		line[len++] = digits[--n];
	line[len++] = '\n';
	ssize_t r = write(1, line, len);
	(void)r;
}

/* The events still in stdout's buffer go out first (the child buffers them; see runner.c). Not
 * async-signal-safe, but the fault is in provider code, not in stdio; at worst the child hangs
 * and the parent's time limit ends it. */
static void on_fatal(int sig)
{
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fflush(stdout);
	uintptr_t a = (uintptr_t)si->si_addr;
	int main_thread = (pid_t)gettid() == main_tid;
	if (main_thread && stack_lo && a < stack_lo + ABOVE_MARGIN &&
	    a + BELOW_MARGIN >= stack_lo)
		write_code(STACK_OVERFLOW_CODE);
	/* die of the signal itself: the parent sees SIGSEGV (the crash line, when written, names
	 * the overflow) */
	signal(sig, SIG_DFL);
	raise(sig);
}

void wsph_plat_child_init(void (*on_crash)(long code))
{
	(void)on_crash; /* the parent sees the signal itself; the overflow line is written here */
	static const int fatal[] = {SIGBUS, SIGILL, SIGFPE, SIGABRT};
	for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
		signal(fatal[i], on_fatal);
	main_tid = (pid_t)gettid();
	main_stack_bounds();
	stack_t ss;
	memset(&ss, 0, sizeof ss);
	ss.ss_sp = alt_stack;
	ss.ss_size = sizeof alt_stack;
	if (sigaltstack(&ss, NULL) != 0)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
}

void wsph_plat_child_exit_unchecked(void)
{
	fflush(NULL);
	_Exit(0);
}
