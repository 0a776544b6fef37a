/* POSIX side of wsph_plat_idle (platform.h): what every thread of the process is doing, read from
 * /proc/self/task. A thread can still change something unless it is blocked in a system call that
 * has no time limit and waits on nothing already ready: its state is 'S', its system call
 * (/proc/self/task/TID/syscall) is one of the waits below with no timeout argument, and a poll of
 * the descriptors it waits on (from this thread, with a zero timeout) finds none ready. A wake-up by
 * the kernel (data on a socket, a futex wake, a signal) makes the thread runnable before the call
 * that caused it returns, so a sample never sees a thread that is being woken as waiting. Without
 * /proc (another Unix) the platform cannot tell and says so. */
#define _GNU_SOURCE
#include "../platform.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_EXEMPT 16
#define HELPER_NAME "wsph-helper" /* the name the harness's helpers give themselves */

/* the harness's own helper threads (the channel's flusher, the stall monitor, the watchdog's
 * waiting thread): their timed waits are the harness's, not the provider's */
static volatile unsigned long exempt[MAX_EXEMPT];

void wsph_plat_idle_exempt(int on)
{
	unsigned long me = wsph_plat_thread_id();
	/* named, so that a parent that looks at this process's threads knows them too (never the
	 * main thread: its name is the process's) */
	if (on && me != (unsigned long)getpid())
		prctl(PR_SET_NAME, HELPER_NAME, 0, 0, 0);
	for (int i = 0; i < MAX_EXEMPT; i++) {
		if (on && __sync_bool_compare_and_swap(&exempt[i], 0ul, me))
			return;
		if (!on && __sync_bool_compare_and_swap(&exempt[i], me, 0ul))
			return;
	}
}

static int is_exempt(unsigned long tid)
{
	for (int i = 0; i < MAX_EXEMPT; i++)
		if (exempt[i] == tid)
			return 1;
	return 0;
}

/* Reads /proc/PROC/task/TID/NAME into buf (PROC "self" or a process id); its length, or -1. */
static long read_task_of(const char *proc, const char *tid, const char *name, char *buf,
			 size_t len)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%s/task/%s/%s", proc, tid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

static long read_task(const char *tid, const char *name, char *buf, size_t len)
{
	return read_task_of("self", tid, name, buf, len);
}

/* Is descriptor fd ready for `events` now? */
static int fd_ready(long fd, short events)
{
	struct pollfd p = {(int)fd, events, 0};
	return poll(&p, 1, 0) > 0 && (p.revents & (events | POLLHUP | POLLERR));
}

/* A socket with a receive or send time limit makes its blocking call a timed one. */
static int socket_timed(long fd)
{
	struct timeval tv[2];
	socklen_t n = sizeof tv[0];
	int opt[2] = {SO_RCVTIMEO, SO_SNDTIMEO};
	for (int i = 0; i < 2; i++) {
		memset(&tv[i], 0, sizeof tv[i]);
		n = sizeof tv[i];
		if (getsockopt((int)fd, SOL_SOCKET, opt[i], &tv[i], &n) == 0 &&
		    (tv[i].tv_sec || tv[i].tv_usec))
			return 1;
	}
	return 0;
}

/* Copies len bytes at addr, memory of another thread of this process that may be gone by now
 * (its stack, once it returned and ended): read through the kernel, which fails instead of
 * faulting. */
static int peek(unsigned long addr, void *dst, size_t len)
{
	struct iovec local = {dst, len}, remote = {(void *)addr, len};
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

/* Any of the nfds pollfds at p (the waiting thread's own array) ready? */
static int pollfds_ready(unsigned long p, unsigned long nfds)
{
	struct pollfd copy[64];
	if (nfds > 64 || (nfds && peek(p, copy, nfds * sizeof copy[0]) != 0))
		return 1; /* not known: may be ready */
	return poll(copy, (nfds_t)nfds, 0) != 0;
}

/* Any descriptor of the select sets at r/w (the waiting thread's own) ready? */
static int select_ready(long nfds, unsigned long r, unsigned long w)
{
	if (nfds < 0 || nfds > FD_SETSIZE)
		return 1;
	fd_set rs, ws;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	size_t len = ((size_t)nfds + 63) / 64 * 8;
	if ((r && peek(r, &rs, len) != 0) || (w && peek(w, &ws, len) != 0))
		return 1;
	struct timeval zero = {0, 0};
	return select((int)nfds, r ? &rs : NULL, w ? &ws : NULL, NULL, &zero) != 0;
}

enum { IN = POLLIN, OUT = POLLOUT };

/* The waits for a signal or a child: 1 with no time limit, 0 otherwise (or not one of them). */
static int untimed_wait_of_signals(long nr, const unsigned long *a)
{
	(void)a;
	switch (nr) {
#ifdef SYS_pause
	case SYS_pause:
#endif
#ifdef SYS_rt_sigsuspend
	case SYS_rt_sigsuspend:
#endif
#ifdef SYS_wait4
	case SYS_wait4:
#endif
		return 1;
#ifdef SYS_rt_sigtimedwait
	case SYS_rt_sigtimedwait:
		return a[2] == 0;
#endif
	default:
		return 0;
	}
}

/* The system call a blocked thread is in (nr, its six arguments): 1 when it waits without a time
 * limit on nothing ready, 0 otherwise (timed, ready, or a call this table does not know). */
static int untimed_wait(long nr, const unsigned long *a)
{
	switch (nr) {
#ifdef SYS_futex
	case SYS_futex: /* FUTEX_WAIT / FUTEX_WAIT_BITSET / FUTEX_LOCK_PI ... with no timeout */
		return a[3] == 0;
#endif
#ifdef SYS_poll
	case SYS_poll:
		return (long)(int)a[2] < 0 && !pollfds_ready(a[0], a[1]);
#endif
#ifdef SYS_ppoll
	case SYS_ppoll:
		return a[2] == 0 && !pollfds_ready(a[0], a[1]);
#endif
#ifdef SYS_select
	case SYS_select:
		return a[4] == 0 && !select_ready((long)a[0], a[1], a[2]);
#endif
#ifdef SYS_pselect6
	case SYS_pselect6:
		return a[4] == 0 && !select_ready((long)a[0], a[1], a[2]);
#endif
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
		return (long)(int)a[3] < 0 && !fd_ready((long)a[0], IN);
#endif
#ifdef SYS_epoll_pwait
	case SYS_epoll_pwait:
		return (long)(int)a[3] < 0 && !fd_ready((long)a[0], IN);
#endif
#ifdef SYS_read
	case SYS_read:
#endif
#ifdef SYS_readv
	case SYS_readv:
#endif
#ifdef SYS_recvfrom
	case SYS_recvfrom:
#endif
#ifdef SYS_recvmsg
	case SYS_recvmsg:
#endif
#ifdef SYS_accept
	case SYS_accept:
#endif
#ifdef SYS_accept4
	case SYS_accept4:
#endif
		return !fd_ready((long)a[0], IN) && !socket_timed((long)a[0]);
#ifdef SYS_write
	case SYS_write:
#endif
#ifdef SYS_sendto
	case SYS_sendto:
#endif
#ifdef SYS_sendmsg
	case SYS_sendmsg:
#endif
#ifdef SYS_connect
	case SYS_connect:
#endif
		return !fd_ready((long)a[0], OUT) && !socket_timed((long)a[0]);
	default:
		return untimed_wait_of_signals(nr, a);
	}
}

/* The system call thread tid is in (its number; its six arguments into a): -1 when it is in none,
 * -2 when the thread ended meanwhile. */
static long task_syscall(const char *proc, const char *tid, unsigned long a[6])
{
	char buf[256];
	if (read_task_of(proc, tid, "syscall", buf, sizeof buf) < 0)
		return -2;
	char *p = buf;
	long nr = strtol(p, &p, 10);
	for (int i = 0; i < 6; i++)
		a[i] = strtoul(p, &p, 16);
	return nr;
}

/* The thread's state letter from its status ('?' when it ended meanwhile); its voluntary and
 * involuntary context switches added to *switches (when not NULL). */
static char task_state(const char *proc, const char *tid, uint64_t *switches)
{
	char buf[4096];
	if (read_task_of(proc, tid, "status", buf, sizeof buf) < 0)
		return '?';
	const char *st = strstr(buf, "\nState:\t");
	for (const char *k = buf; switches && (k = strstr(k, "ctxt_switches:\t")) != NULL; k++)
		*switches += strtoull(k + 15, NULL, 10);
	return st ? st[8] : '?';
}

/* One thread: 1 when it waits for good, 0 when it may still do something; its voluntary and
 * involuntary context switches added to *switches. The waiter (see platform.h) counts as waiting
 * in any wait, and its switches are not counted. */
static int thread_waits(const char *tid, int waiter, uint64_t *switches)
{
	char state = task_state("self", tid, waiter ? NULL : switches);
	if (state == '?')
		return 1; /* it ended meanwhile: it does nothing any more */
	if (state != 'S')
		return 0; /* running, in an uninterruptible wait (it ends by itself), stopped, ... */
	if (waiter)
		return 1;
	unsigned long a[6];
	long nr = task_syscall("self", tid, a);
	return nr == -2 || (nr >= 0 && untimed_wait(nr, a));
}

/* The names of the system calls a blocked thread is commonly in. */
static const struct {
	long nr;
	const char *name;
} call_names[] = {
#ifdef SYS_futex
	{SYS_futex, "futex"},
#endif
#ifdef SYS_poll
	{SYS_poll, "poll"},
#endif
#ifdef SYS_ppoll
	{SYS_ppoll, "ppoll"},
#endif
#ifdef SYS_select
	{SYS_select, "select"},
#endif
#ifdef SYS_pselect6
	{SYS_pselect6, "pselect6"},
#endif
#ifdef SYS_epoll_wait
	{SYS_epoll_wait, "epoll_wait"},
#endif
#ifdef SYS_epoll_pwait
	{SYS_epoll_pwait, "epoll_pwait"},
#endif
#ifdef SYS_read
	{SYS_read, "read"},
#endif
#ifdef SYS_recvfrom
	{SYS_recvfrom, "recvfrom"},
#endif
#ifdef SYS_recvmsg
	{SYS_recvmsg, "recvmsg"},
#endif
#ifdef SYS_accept
	{SYS_accept, "accept"},
#endif
#ifdef SYS_accept4
	{SYS_accept4, "accept4"},
#endif
#ifdef SYS_write
	{SYS_write, "write"},
#endif
#ifdef SYS_sendto
	{SYS_sendto, "sendto"},
#endif
#ifdef SYS_connect
	{SYS_connect, "connect"},
#endif
#ifdef SYS_pause
	{SYS_pause, "pause"},
#endif
#ifdef SYS_rt_sigsuspend
	{SYS_rt_sigsuspend, "rt_sigsuspend"},
#endif
#ifdef SYS_rt_sigtimedwait
	{SYS_rt_sigtimedwait, "rt_sigtimedwait"},
#endif
#ifdef SYS_wait4
	{SYS_wait4, "wait4"},
#endif
#ifdef SYS_nanosleep
	{SYS_nanosleep, "nanosleep"},
#endif
#ifdef SYS_clock_nanosleep
	{SYS_clock_nanosleep, "clock_nanosleep"},
#endif
};

/* A wait of another process's thread with no time limit, told from its system call's arguments
 * alone (its descriptors and socket options are that process's): the futex, poll, select and
 * signal waits; a read or write may have a socket time limit, so it is not known (0). */
static int remote_untimed(long nr, const unsigned long *a)
{
	switch (nr) {
#ifdef SYS_futex
	case SYS_futex: return a[3] == 0;
#endif
#ifdef SYS_poll
	case SYS_poll: return (long)(int)a[2] < 0;
#endif
#ifdef SYS_ppoll
	case SYS_ppoll: return a[2] == 0;
#endif
#ifdef SYS_select
	case SYS_select: return a[4] == 0;
#endif
#ifdef SYS_pselect6
	case SYS_pselect6: return a[4] == 0;
#endif
#ifdef SYS_epoll_wait
	case SYS_epoll_wait: return (long)(int)a[3] < 0;
#endif
#ifdef SYS_epoll_pwait
	case SYS_epoll_pwait: return (long)(int)a[3] < 0;
#endif
	default: return untimed_wait_of_signals(nr, a);
	}
}

/* One thread as an explanation shows it: proc "self" (its waits judged as wsph_plat_idle does)
 * or another process's id. */
static void thread_wait(const char *proc, const char *name, unsigned long tid,
			struct wsph_thread_wait *w)
{
	memset(w, 0, sizeof *w);
	w->tid = tid;
	w->state = task_state(proc, name, NULL);
	if (w->state != 'S')
		return;
	unsigned long a[6];
	long nr = task_syscall(proc, name, a);
	int self = !strcmp(proc, "self");
	w->untimed = nr >= 0 && (self ? untimed_wait(nr, a) : remote_untimed(nr, a));
	for (size_t i = 0; nr >= 0 && i < sizeof call_names / sizeof call_names[0]; i++)
		if (call_names[i].nr == nr)
			snprintf(w->call, sizeof w->call, "%s", call_names[i].name);
	if (nr >= 0 && !w->call[0])
		snprintf(w->call, sizeof w->call, "system call %ld", nr);
}

/* The harness's helpers of another process, known by the name they give themselves. */
static int remote_helper(const char *proc, const char *tid)
{
	char buf[32];
	return read_task_of(proc, tid, "comm", buf, sizeof buf) > 0 &&
	       !strncmp(buf, HELPER_NAME, strlen(HELPER_NAME));
}

static int threads_of(const char *proc, struct wsph_thread_wait *out, size_t max)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%s/task", proc);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int self = !strcmp(proc, "self");
	unsigned long me = wsph_plat_thread_id();
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned long tid = strtoul(e->d_name, NULL, 10);
		if (e->d_name[0] == '.' || (self && (tid == me || is_exempt(tid))) ||
		    (!self && remote_helper(proc, e->d_name)))
			continue;
		if ((size_t)n < max)
			thread_wait(proc, e->d_name, tid, &out[n]);
		n++;
	}
	closedir(d);
	return n;
}

int wsph_plat_idle_threads(struct wsph_thread_wait *out, size_t max)
{
	return threads_of("self", out, max);
}

int wsph_plat_idle_threads_of(unsigned long pid, struct wsph_thread_wait *out, size_t max)
{
	char proc[32];
	snprintf(proc, sizeof proc, "%lu", pid);
	return threads_of(proc, out, max);
}

/* The time thread tid has run on a CPU, in nanoseconds (schedstat; else its user and system
 * clock ticks from stat). */
static uint64_t cpu_ns(const char *tid)
{
	char buf[1024];
	if (read_task(tid, "schedstat", buf, sizeof buf) > 0)
		return strtoull(buf, NULL, 10);
	if (read_task(tid, "stat", buf, sizeof buf) < 0)
		return 0;
	const char *p = strrchr(buf, ')'); /* fields 14 and 15 count from the end of the name */
	for (int field = 2; p && *p && field < 14; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	char *end;
	uint64_t ticks = strtoull(p + 1, &end, 10);
	ticks += strtoull(end, NULL, 10);
	long hz = sysconf(_SC_CLK_TCK);
	return ticks * (1000000000u / (uint64_t)(hz > 0 ? hz : 100));
}

int wsph_plat_idle_thread(unsigned long tid, unsigned long waiter)
{
	char name[32];
	uint64_t switches = 0;
	snprintf(name, sizeof name, "%lu", tid);
	return thread_waits(name, tid == waiter, &switches);
}

int wsph_plat_idle(unsigned long waiter, struct wsph_idle *out)
{
	memset(out, 0, sizeof *out);
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	unsigned long me = wsph_plat_thread_id();
	out->all_waiting = 1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		unsigned long tid = strtoul(e->d_name, NULL, 10);
		if (tid == me || is_exempt(tid))
			continue;
		out->threads++;
		if (!thread_waits(e->d_name, tid == waiter, &out->switches))
			out->all_waiting = 0;
		if (tid == waiter)
			out->waiter_cpu_ns = cpu_ns(e->d_name);
	}
	closedir(d);
	return 0;
}
