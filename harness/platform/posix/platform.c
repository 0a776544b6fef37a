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
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st; /* relative to the open folder: no joined path to build */
		int is_dir = fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
		fn(ctx, e->d_name, is_dir);
	}
	closedir(d);
	return 0;
}

static enum wsph_file_kind kind_of_mode(mode_t m)
{
	if (S_ISREG(m))
		return WSPH_FILE_REGULAR;
	if (S_ISDIR(m))
		return WSPH_FILE_DIR;
	if (S_ISFIFO(m))
		return WSPH_FILE_FIFO;
	if (S_ISSOCK(m))
		return WSPH_FILE_SOCKET;
	if (S_ISCHR(m))
		return WSPH_FILE_CHAR_DEVICE;
	if (S_ISBLK(m))
		return WSPH_FILE_BLOCK_DEVICE;
	return WSPH_FILE_OTHER;
}

enum wsph_file_kind wsph_plat_file_kind(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? kind_of_mode(st.st_mode) : WSPH_FILE_MISSING;
}

int wsph_plat_dir_identity(const char *path, uint64_t id[2])
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return -1;
	id[0] = (uint64_t)st.st_dev;
	id[1] = (uint64_t)st.st_ino;
	return 0;
}

/* Opens path for reading if it is a regular file: examined first (a device is never opened),
 * opened with O_NONBLOCK (a FIFO swapped in meanwhile does not wait for a writer), checked again
 * on the descriptor, then made blocking. */
static enum wsph_read_status open_regular(const char *path, int *fd, enum wsph_file_kind *kind,
					  char *err, size_t errlen)
{
	struct stat st;
	int flags;

	*kind = wsph_plat_file_kind(path);
	if (*kind != WSPH_FILE_REGULAR && *kind != WSPH_FILE_MISSING)
		return WSPH_READ_NOT_REGULAR;
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return WSPH_READ_CANNOT_OPEN;
	}
	if (fstat(*fd, &st) != 0 || (*kind = kind_of_mode(st.st_mode)) != WSPH_FILE_REGULAR ||
	    (flags = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		close(*fd);
		return *kind == WSPH_FILE_REGULAR ? WSPH_READ_FAILED : WSPH_READ_NOT_REGULAR;
	}
	return WSPH_READ_OK;
}

enum wsph_read_status wsph_plat_open_regular(const char *path, FILE **f,
					     enum wsph_file_kind *kind, char *err, size_t errlen)
{
	int fd;
	enum wsph_read_status rc = open_regular(path, &fd, kind, err, errlen);

	*f = NULL;
	if (rc != WSPH_READ_OK)
		return rc;
	if (!(*f = fdopen(fd, "rb"))) {
		close(fd);
		return WSPH_READ_NO_MEMORY;
	}
	return WSPH_READ_OK;
}

/* Copies s into out (len bytes); -1 with ENAMETOOLONG when it does not fit. */
static int copy_path(char *out, size_t len, const char *s)
{
	if (snprintf(out, len, "%s", s) >= (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The file a report at path replaces: path, or the file a symbolic link there leads to (a link
 * that leads nowhere is replaced itself). */
static int file_to_replace(const char *path, char *dst, size_t len)
{
	struct stat st;
	char real[PATH_MAX];

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, real))
		return copy_path(dst, len, real);
	return copy_path(dst, len, path);
}

/* Six letters no other run is likely to pick: the process, a counter and the clock, mixed. */
static void unique_suffix(char out[7])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned counter;
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = ((uint64_t)getpid() << 40) ^ ((uint64_t)++counter << 20) ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)ts.tv_sec << 30);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u; /* splitmix64's finalizer */
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	x ^= x >> 31;
	for (int i = 0; i < 6; i++, x /= 36)
		out[i] = alphabet[x % 36];
	out[6] = '\0';
}

/* Creates ".NAME.XXXXXX" next to dst, exclusively and never through a symbolic link. */
static int create_unique(const char *dst, char *tmp, size_t len)
{
	const char *slash = strrchr(dst, '/');
	int dir_len = slash ? (int)(slash - dst + 1) : 0;

	for (int tries = 0; tries < 100; tries++) {
		char suffix[7];
		unique_suffix(suffix);
		if (snprintf(tmp, len, "%.*s.%s.%s", dir_len, dst, dst + dir_len, suffix) >=
		    (int)len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* The descriptor /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N names, else -1. Written
 * through a copy of it, as the shell does: with stdout redirected to a file, opening the name
 * would start a second offset at 0 (or replace the file). */
static int own_descriptor(const char *path)
{
	static const struct {
		const char *name;
		int fd;
	} std_names[] = {{"/dev/stdout", 1}, {"/dev/stderr", 2}};
	static const char *const prefixes[] = {"/dev/fd/", "/proc/self/fd/"};

	for (size_t i = 0; i < sizeof std_names / sizeof std_names[0]; i++)
		if (!strcmp(path, std_names[i].name))
			return std_names[i].fd;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		char *end;
		if (strncmp(path, prefixes[i], n) || path[n] < '0' || path[n] > '9')
			continue;
		long fd = strtol(path + n, &end, 10);
		if (!*end && fd <= INT_MAX)
			return (int)fd;
	}
	return -1;
}

FILE *wsph_plat_out_open(const char *path, char *tmp, char *dst, size_t len)
{
	struct stat st;
	int fd = own_descriptor(path);

	tmp[0] = '\0';
	if (copy_path(dst, len, path) != 0)
		return NULL;
	if (fd >= 0)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	else if (file_to_replace(path, dst, len) != 0)
		return NULL;
	else
		fd = create_unique(dst, tmp, len);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		int e = errno;
		close(fd);
		if (tmp[0])
			unlink(tmp);
		errno = e;
	}
	return f;
}

int wsph_plat_replace_file(const char *src, const char *dst)
{
	return rename(src, dst) == 0 ? 0 : -1;
}

int wsph_plat_remove_file(const char *path)
{
	return unlink(path) == 0 ? 0 : -1;
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
	if (copy_path(tmp, sizeof tmp, path) != 0)
		return -1;
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

int wsph_plat_stdout_errno(void)
{
	int fl = fcntl(1, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return EBADF; /* closed (or the read-only stand-in wsph_plat_guard_stdio put there) */
	struct pollfd p = {1, POLLOUT, 0};
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
		return EPIPE; /* a pipe whose reader is gone */
	return 0;
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
