/* POSIX implementation of the platform interface: time, threads, locks, events, files. */
#define _GNU_SOURCE
#include "../platform.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t wsph_plat_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned long wsph_plat_thread_id(void)
{
	return (unsigned long)syscall(SYS_gettid);
}

int64_t wsph_plat_utc_seconds(void)
{
	return (int64_t)time(NULL);
}

void wsph_plat_hostname(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0 || !buf[0])
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

struct wsph_mutex {
	pthread_mutex_t m;
};

struct wsph_mutex *wsph_mutex_new(void)
{
	struct wsph_mutex *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&m->m, &a);
	pthread_mutexattr_destroy(&a);
	return m;
}

void wsph_mutex_lock(struct wsph_mutex *m)
{
	pthread_mutex_lock(&m->m);
}

void wsph_mutex_unlock(struct wsph_mutex *m)
{
	pthread_mutex_unlock(&m->m);
}

void wsph_mutex_free(struct wsph_mutex *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->m);
	free(m);
}

int wsph_plat_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int wsph_plat_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int wsph_plat_list_dir(const char *dir, void (*fn)(void *ctx, const char *name, int is_dir),
		       void *ctx)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	char path[PATH_MAX];
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		fn(ctx, e->d_name, wsph_plat_is_dir(path));
	}
	closedir(d);
	return 0;
}

int wsph_plat_replace_file(const char *src, const char *dst)
{
	return rename(src, dst) == 0 ? 0 : -1;
}

int wsph_plat_exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return 0;
}

int wsph_plat_mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	char *slash = strrchr(tmp, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	if (tmp[0] && mkdir(tmp, 0777) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int wsph_plat_stream_is_tty(void *file)
{
	const char *nc = getenv("NO_COLOR");
	if (nc && nc[0])
		return 0;
	return isatty(fileno((FILE *)file));
}

struct posix_event {
	pthread_mutex_t m;
	pthread_cond_t c;
	int signaled;
};

void *wsph_plat_event_new(void)
{
	struct posix_event *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	pthread_mutex_init(&e->m, NULL);
	pthread_cond_init(&e->c, NULL);
	return e;
}

int wsph_plat_event_set(void *ev)
{
	struct posix_event *e = ev;
	pthread_mutex_lock(&e->m);
	e->signaled = 1;
	pthread_cond_broadcast(&e->c);
	pthread_mutex_unlock(&e->m);
	return 0;
}

int wsph_plat_event_reset(void *ev)
{
	struct posix_event *e = ev;
	pthread_mutex_lock(&e->m);
	e->signaled = 0;
	pthread_mutex_unlock(&e->m);
	return 0;
}

int wsph_plat_event_wait(void *ev, unsigned ms)
{
	struct posix_event *e = ev;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&e->m);
	int rc = 0;
	while (!e->signaled && rc == 0)
		rc = pthread_cond_timedwait(&e->c, &e->m, &ts);
	int sig = e->signaled;
	pthread_mutex_unlock(&e->m);
	return sig;
}

void wsph_plat_event_free(void *ev)
{
	struct posix_event *e = ev;
	if (!e)
		return;
	pthread_cond_destroy(&e->c);
	pthread_mutex_destroy(&e->m);
	free(e);
}

int wsph_plat_setenv(const char *name, const char *value)
{
	return setenv(name, value, 1);
}

int wsph_plat_post_message(void *hwnd, unsigned msg, uintptr_t wparam, intptr_t lparam, int wide)
{
	(void)hwnd;
	(void)msg;
	(void)wparam;
	(void)lparam;
	(void)wide;
	return 0;
}

int wsph_plat_same_path(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int sa = *a == '/' || *a == '\\', sb = *b == '/' || *b == '\\';
		if (sa != sb || (!sa && *a != *b))
			return 0;
	}
	return *a == *b;
}

void wsph_plat_sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- interrupts and the wake-up: a pipe the signal handler writes (self-pipe) ---- */

static volatile int *interrupt_flag;
static pid_t interrupt_owner; /* a forked child inherits the handler: it only sets its flag */
static int wake_fd[2] = {-1, -1};
static pthread_once_t wake_once = PTHREAD_ONCE_INIT;

static void wake_init(void)
{
	if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) != 0)
		wake_fd[0] = wake_fd[1] = -1;
}

static void wake_write(void)
{
	int saved = errno;
	if (wake_fd[1] >= 0 && write(wake_fd[1], "w", 1) < 0) {
		/* full: a wake-up is already pending */
	}
	errno = saved;
}

static void on_interrupt(int sig)
{
	static const char again[] = "wspharness: interrupted again; exiting at once\n";
	if (getpid() != interrupt_owner) {
		if (interrupt_flag)
			*interrupt_flag = 1;
		return;
	}
	if (interrupt_flag && *interrupt_flag) {
		if (write(2, again, sizeof again - 1) < 0) {
			/* nothing more to do: the process ends */
		}
		_exit(128 + sig);
	}
	if (interrupt_flag)
		*interrupt_flag = 1;
	wake_write();
}

void wsph_plat_catch_interrupts(volatile int *flag)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	pthread_once(&wake_once, wake_init);
	interrupt_owner = getpid();
	interrupt_flag = flag;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void wsph_plat_wake(void)
{
	pthread_once(&wake_once, wake_init);
	wake_write();
}

int wsph_plat_wake_wait(unsigned ms)
{
	pthread_once(&wake_once, wake_init);
	if (wake_fd[0] < 0) {
		wsph_plat_sleep_ms(ms < 50 ? ms : 50); /* no pipe: the caller polls */
		return 0;
	}
	struct pollfd p = {wake_fd[0], POLLIN, 0};
	if (poll(&p, 1, ms > INT_MAX ? INT_MAX : (int)ms) <= 0)
		return 0;
	char buf[64];
	while (read(wake_fd[0], buf, sizeof buf) > 0)
		;
	return 1;
}

/* ---- standard streams ---- */

static void on_sigpipe(int sig)
{
	(void)sig; /* the write that raised it fails with EPIPE */
}

void wsph_plat_guard_stdio(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigpipe;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* read-only: a write to it fails (EBADF) as it did on the closed descriptor */
		int n = open("/dev/null", O_RDONLY);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

unsigned long wsph_plat_process_id(void)
{
	return (unsigned long)getpid();
}

void wsph_plat_exit_now(int status)
{
	_exit(status);
}

int wsph_plat_cwd(char *buf, size_t len)
{
	return getcwd(buf, len) ? 0 : -1;
}

unsigned wsph_plat_umask(void)
{
	mode_t m = umask(022);
	umask(m);
	return (unsigned)m;
}

extern char **environ;

char **wsph_plat_environ(void)
{
	return environ;
}

int wsph_plat_absolute(const char *path, char *out, size_t len)
{
	char *real = realpath(path, NULL); /* "." and ".." resolved, when the file exists */
	if (real) {
		int n = snprintf(out, len, "%s", real);
		free(real);
		return n >= 0 && (size_t)n < len ? 0 : -1;
	}
	if (path[0] == '/') {
		int n = snprintf(out, len, "%s", path);
		return n >= 0 && (size_t)n < len ? 0 : -1;
	}
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return -1;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	int n = snprintf(out, len, "%s/%s", cwd, path);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

void wsph_plat_host_advice(void)
{
}

#if defined(__SANITIZE_ADDRESS__)
#define WSPH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSPH_ASAN 1
#endif
#endif

int wsph_plat_leak_checked(void)
{
#ifdef WSPH_ASAN
	const char *opts = getenv("ASAN_OPTIONS");
	if (!opts || !strstr(opts, "detect_leaks=0"))
		return 1;
#endif
	/* valgrind runs its client with its own preload objects */
	const char *pre = getenv("LD_PRELOAD");
	return pre && strstr(pre, "vgpreload") != NULL;
}
