/* Hostile providers that attack the process the harness runs them in rather than the SPI: a load
 * (constructor, DllMain) that crashes, exits, aborts, hangs, starts a crashing thread or prints a
 * banner; standard descriptors closed, redirected, made non-blocking and flooded, stdin read to its
 * end; lines that look like the harness's own protocol written to stdout or to every descriptor;
 * SIGTERM to the whole process group; a grandchild left running; the working directory, the
 * environment or the umask changed. Built with hostile.c (HOSTILE_PROC_HOOKS), once per HOSTILE_*
 * define below; with none of them it is the baseline the verdicts of the others are compared to.
 *
 * Environment the tests set:
 *   HOSTILE_ONCE=PATH     the WSP-call attacks marked "once" happen only in the call that creates
 *                         PATH (the first of the run), so every other case is a baseline case;
 *   HOSTILE_PIDFILE=PATH  where the stray grandchild's pid (HOSTILE_STRAY_PROCESS) or the hanging
 *                         process's own pid (HOSTILE_HANG_PIDFILE) is written, whole (rename);
 *   HOSTILE_HANG_BUSY=1   (HOSTILE_HANG_PIDFILE) the hang is a loop that keeps running instead of a
 *                         sleep, which no stall detection can tell from work: a test that must
 *                         find the case still hanging when it acts uses it;
 *   HOSTILE_OUTPUT_BYTES=N  (HOSTILE_OUTPUT) the bytes written to stdout in all;
 *   HOSTILE_OUTPUT_LINE=L   each line L bytes, its newline included (0 or unset: no newline at all);
 *   HOSTILE_OUTPUT_FD=N     (POSIX) written to descriptor N instead of stdout;
 *   HOSTILE_OUTPUT_NUL=1    the text has NUL bytes and invalid UTF-8 in it: each line reads
 *                           "out<NUL>after-nul <FF><FE> bad-utf8 <C3>( tail|" then the same again;
 *                           without it "hostile output abcdefghijklmnopqrstuvwxyz|" again and again. */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L /* O_CLOEXEC, setenv, nanosleep under -std=c11 */
#endif
#include "wsph/spi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#endif

void hostile_proc_startup(void);
void hostile_proc_socket(void);

/* Each HOSTILE_* below is 0 unless the build defines it to 1. */
#ifndef HOSTILE_LOAD_CRASH
#define HOSTILE_LOAD_CRASH 0
#endif
#ifndef HOSTILE_LOAD_EXIT
#define HOSTILE_LOAD_EXIT 0
#endif
#ifndef HOSTILE_LOAD_ABORT
#define HOSTILE_LOAD_ABORT 0
#endif
#ifndef HOSTILE_LOAD_HANG
#define HOSTILE_LOAD_HANG 0
#endif
#ifndef HOSTILE_LOAD_THREAD_CRASH
#define HOSTILE_LOAD_THREAD_CRASH 0
#endif
#ifndef HOSTILE_LOAD_BANNER
#define HOSTILE_LOAD_BANNER 0
#endif
#ifndef HOSTILE_STDIO_CLOSED /* WSPStartup: fds 0, 1, 2 closed (Windows: the std handles) */
#define HOSTILE_STDIO_CLOSED 0
#endif
#ifndef HOSTILE_STDIO_DEVNULL /* WSPStartup: /dev/null dup2'ed onto 1 and 2 */
#define HOSTILE_STDIO_DEVNULL 0
#endif
#ifndef HOSTILE_STDIO_FILE /* WSPStartup: an unlinked temporary file dup2'ed onto 1 and 2 */
#define HOSTILE_STDIO_FILE 0
#endif
#ifndef HOSTILE_STDOUT_FLOOD /* WSPStartup: O_NONBLOCK on fd 1, then 1 MiB written to it */
#define HOSTILE_STDOUT_FLOOD 0
#endif
#ifndef HOSTILE_STDIN_DRAIN /* WSPStartup: stdin read until end of file (or an error) */
#define HOSTILE_STDIN_DRAIN 0
#endif
#ifndef HOSTILE_STDOUT_CLOSED_CRASH /* WSPStartup closes fd 1, WSPSocket crashes */
#define HOSTILE_STDOUT_CLOSED_CRASH 0
#endif
#ifndef HOSTILE_FORGE_STDOUT_CRASH /* WSPSocket: forged protocol lines on stdout, then a crash */
#define HOSTILE_FORGE_STDOUT_CRASH 0
#endif
#ifndef HOSTILE_FORGE_ALL_FDS /* WSPSocket: forged lines on every writable fd 3..1023 */
#define HOSTILE_FORGE_ALL_FDS 0
#endif
#ifndef HOSTILE_KILL_GROUP /* WSPSocket, once: kill(0, SIGTERM) */
#define HOSTILE_KILL_GROUP 0
#endif
#ifndef HOSTILE_STRAY_PROCESS /* WSPSocket, once: a grandchild that lingers with every fd */
#define HOSTILE_STRAY_PROCESS 0
#endif
#ifndef HOSTILE_HANG_PIDFILE /* WSPSocket: the own pid to $HOSTILE_PIDFILE, then a hang */
#define HOSTILE_HANG_PIDFILE 0
#endif
#ifndef HOSTILE_CHDIR /* WSPStartup, once: chdir("/") (Windows: SetCurrentDirectory("C:\")) */
#define HOSTILE_CHDIR 0
#endif
#ifndef HOSTILE_UMASK /* WSPStartup, once: umask(0) */
#define HOSTILE_UMASK 0
#endif
#ifndef HOSTILE_SETENV /* WSPStartup, once: a new environment variable */
#define HOSTILE_SETENV 0
#endif
#ifndef HOSTILE_OUTPUT /* WSPStartup, once: stdout written as HOSTILE_OUTPUT_* say (below) */
#define HOSTILE_OUTPUT 0
#endif

static volatile int *volatile nowhere;

static void hostile_output(void);

/* What the forging variants write: a finding, a passing outcome and "done", a crash code and an
 * error, in today's line format (harness/caseio.c). None of it may be believed. */
static const char forged[] =
	"\n\x1eWSPH F WPU.CloseSocketHandle.MatchesCreate\t1\t1\t1\tFORGED finding\t\n"
	"\x1eWSPH O 0\n\x1eWSPH D\n"
	"\x1eWSPH E forged\tFORGED error\n"
	"\x1eWSPH X 77\n"
	"\x1eWSPH O 0\n\x1eWSPH D\n";

/* HOSTILE_HANG_BUSY=1: the hang keeps the processor busy (getenv is portable C). */
static int busy_hang(void)
{
	const char *v = getenv("HOSTILE_HANG_BUSY");
	return v && strcmp(v, "1") == 0;
}

static volatile unsigned long spins;

static void spin_forever(void)
{
	for (;;)
		spins++;
}

#ifdef _WIN32

static void sleep_forever(void)
{
	if (busy_hang())
		spin_forever();
	for (;;)
		Sleep(INFINITE);
}

/* 1 the first time in the run ($HOSTILE_ONCE created now) or when no HOSTILE_ONCE is set. */
static int first_time(void)
{
	char path[MAX_PATH];
	DWORD n = GetEnvironmentVariableA("HOSTILE_ONCE", path, sizeof path);
	if (n == 0 || n >= sizeof path)
		return 1;
	HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return 0;
	CloseHandle(h);
	return 1;
}

static void write_pidfile(unsigned long pid)
{
	char path[MAX_PATH], tmp[MAX_PATH + 8], text[32];
	DWORD n = GetEnvironmentVariableA("HOSTILE_PIDFILE", path, sizeof path);
	if (n == 0 || n >= sizeof path)
		return;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int len = snprintf(text, sizeof text, "%lu\n", pid);
	HANDLE h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return;
	DWORD w;
	WriteFile(h, text, (DWORD)len, &w, NULL);
	CloseHandle(h);
	MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING);
}

static void write_all(HANDLE h, const char *s, size_t n)
{
	DWORD w;
	if (h && h != INVALID_HANDLE_VALUE)
		WriteFile(h, s, (DWORD)n, &w, NULL);
}

static DWORD WINAPI crash_thread(LPVOID arg)
{
	(void)arg;
	*nowhere = 1;
	return 0;
}

/* A cmd.exe reading commands from a pipe nobody writes to: it holds the pipe's write end too
 * (inherited), so it never sees the end of its input and lingers, idle. */
static void start_stray(void)
{
	SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
	HANDLE rd, wr;
	if (!CreatePipe(&rd, &wr, &sa, 0))
		return;
	char cmd[MAX_PATH + 32];
	UINT n = GetSystemDirectoryA(cmd, MAX_PATH);
	if (n == 0 || n >= MAX_PATH)
		return;
	strcat(cmd, "\\cmd.exe");
	char line[] = "cmd.exe /q /k";
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	memset(&si, 0, sizeof si);
	si.cb = sizeof si;
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = rd;
	si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
	si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
	if (!CreateProcessA(cmd, line, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
		return;
	write_pidfile(pi.dwProcessId);
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	/* rd and wr stay open here as well: the provider leaks them like the rest */
}

static void start_crash_thread(void)
{
	HANDLE h = CreateThread(NULL, 0, crash_thread, NULL, 0, NULL);
	if (h)
		CloseHandle(h);
}

static void load_attacks(void);

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH)
		load_attacks();
	return TRUE;
}

void hostile_proc_startup(void)
{
	if (HOSTILE_STDIO_CLOSED) {
		CloseHandle(GetStdHandle(STD_INPUT_HANDLE));
		CloseHandle(GetStdHandle(STD_OUTPUT_HANDLE));
		CloseHandle(GetStdHandle(STD_ERROR_HANDLE));
	}
	if (HOSTILE_STDIN_DRAIN) {
		char buf[4096];
		DWORD got;
		HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
		while (in && in != INVALID_HANDLE_VALUE && ReadFile(in, buf, sizeof buf, &got, NULL) &&
		       got > 0)
			;
	}
	if (HOSTILE_STDOUT_CLOSED_CRASH)
		CloseHandle(GetStdHandle(STD_OUTPUT_HANDLE));
	if (HOSTILE_CHDIR && first_time())
		SetCurrentDirectoryA("C:\\");
	if (HOSTILE_SETENV && first_time())
		SetEnvironmentVariableA("HOSTILE_POLLUTED", "1");
	if (HOSTILE_OUTPUT && first_time())
		hostile_output();
}

void hostile_proc_socket(void)
{
	if (HOSTILE_FORGE_STDOUT_CRASH) {
		write_all(GetStdHandle(STD_OUTPUT_HANDLE), forged, sizeof forged - 1);
		*nowhere = 1;
	}
	if (HOSTILE_STDOUT_CLOSED_CRASH)
		*nowhere = 1;
	if (HOSTILE_STRAY_PROCESS && first_time())
		start_stray();
	if (HOSTILE_HANG_PIDFILE) {
		write_pidfile(GetCurrentProcessId());
		sleep_forever();
	}
}

#else /* POSIX */

static void sleep_forever(void)
{
	if (busy_hang())
		spin_forever();
	for (;;) {
		struct timespec ts = {3600, 0};
		nanosleep(&ts, NULL);
	}
}

static int first_time(void)
{
	const char *path = getenv("HOSTILE_ONCE");
	if (!path || !*path)
		return 1;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void write_pidfile(long pid)
{
	const char *path = getenv("HOSTILE_PIDFILE");
	if (!path || !*path)
		return;
	char tmp[4096], text[32];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int len = snprintf(text, sizeof text, "%ld\n", pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	write_all(fd, text, (size_t)len);
	close(fd);
	rename(tmp, path);
}

static void *crash_thread(void *arg)
{
	(void)arg;
	*nowhere = 1;
	return NULL;
}

static void start_crash_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, crash_thread, NULL) == 0)
		pthread_detach(t);
}

__attribute__((constructor)) static void load_attacks(void);

/* Every descriptor 3..1023 that takes a write without blocking gets the forged lines. SIGPIPE is
 * ignored meanwhile: a pipe nobody reads any more must not turn the attack into a plain crash. */
static void forge_everywhere(void)
{
	struct sigaction ign, old;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	for (int fd = 3; fd < 1024; fd++) {
		struct pollfd p = {fd, POLLOUT, 0};
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
			continue;
		write_all(fd, forged, sizeof forged - 1);
	}
	sigaction(SIGPIPE, &old, NULL);
}

void hostile_proc_startup(void)
{
	if (HOSTILE_STDIO_CLOSED) {
		close(0);
		close(1);
		close(2);
	}
	if (HOSTILE_STDIO_DEVNULL) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	if (HOSTILE_STDIO_FILE) {
		FILE *f = tmpfile();
		if (f) {
			dup2(fileno(f), 1);
			dup2(fileno(f), 2);
			/* f stays open: the provider leaks it */
		}
	}
	if (HOSTILE_STDOUT_FLOOD) {
		int fl = fcntl(1, F_GETFL);
		if (fl >= 0)
			fcntl(1, F_SETFL, fl | O_NONBLOCK);
		static char chunk[4096];
		memset(chunk, 'x', sizeof chunk);
		chunk[sizeof chunk - 1] = '\n';
		/* 1 MiB, each chunk tried once: what does not fit (EAGAIN) is lost */
		for (int i = 0; i < 256; i++)
			if (write(1, chunk, sizeof chunk) < 0 && errno != EAGAIN && errno != EINTR)
				break;
	}
	if (HOSTILE_STDIN_DRAIN) {
		char buf[4096];
		for (;;) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
		}
	}
	if (HOSTILE_STDOUT_CLOSED_CRASH)
		close(1);
	if (HOSTILE_CHDIR && first_time())
		(void)!chdir("/");
	if (HOSTILE_UMASK && first_time())
		umask(0);
	if (HOSTILE_SETENV && first_time())
		setenv("HOSTILE_POLLUTED", "1", 1);
	if (HOSTILE_OUTPUT && first_time())
		hostile_output();
}

void hostile_proc_socket(void)
{
	if (HOSTILE_FORGE_STDOUT_CRASH) {
		write_all(1, forged, sizeof forged - 1);
		*nowhere = 1;
	}
	if (HOSTILE_STDOUT_CLOSED_CRASH)
		*nowhere = 1;
	if (HOSTILE_FORGE_ALL_FDS)
		forge_everywhere();
	if (HOSTILE_KILL_GROUP && first_time())
		kill(0, SIGTERM);
	if (HOSTILE_STRAY_PROCESS && first_time()) {
		pid_t pid = fork();
		if (pid == 0) {
			/* the grandchild: keeps every descriptor, sleeps an hour */
			struct timespec ts = {3600, 0};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (pid > 0)
			write_pidfile((long)pid);
	}
	if (HOSTILE_HANG_PIDFILE) {
		write_pidfile((long)getpid());
		sleep_forever();
	}
}

#endif

/* ---- HOSTILE_OUTPUT: stdout written as the environment says ---- */

static void out_write(const char *s, size_t n)
{
#ifdef _WIN32
	HANDLE h = GetStdHandle(STD_OUTPUT_HANDLE);
	while (n > 0 && h && h != INVALID_HANDLE_VALUE) {
		DWORD w = 0, k = n > 0x10000000u ? 0x10000000u : (DWORD)n;
		if (!WriteFile(h, s, k, &w, NULL) || !w)
			return;
		s += w;
		n -= w;
	}
#else
	/* HOSTILE_OUTPUT_FD: another descriptor (the harness's channel, say) instead of stdout */
	const char *fd = getenv("HOSTILE_OUTPUT_FD");
	write_all(fd ? atoi(fd) : 1, s, n);
#endif
}

#define OUT_CHUNK 65536

static unsigned long long env_number(const char *name)
{
	const char *v = getenv(name);
	return v ? strtoull(v, NULL, 10) : 0;
}

/* buf (OUT_CHUNK bytes) filled with the text, repeated. */
static void out_pattern(char *buf, int nul)
{
	static const char plain[] = "hostile output abcdefghijklmnopqrstuvwxyz|";
	static const char hostile[] = "out\0after-nul \xff\xfe bad-utf8 \xc3( tail|";
	const char *p = nul ? hostile : plain;
	size_t len = nul ? sizeof hostile - 1 : sizeof plain - 1;
	for (size_t i = 0; i < OUT_CHUNK; i++)
		buf[i] = p[i % len];
}

/* total bytes of lines of `line` bytes (0: one line without an end): a chunk of whole lines
 * written again and again where lines are short, a line written in pieces where they are long. */
static void out_emit(char *buf, unsigned long long total, unsigned long long line)
{
	if (line > 0 && line <= OUT_CHUNK) {
		size_t per = (size_t)(OUT_CHUNK / line * line);
		for (size_t i = (size_t)line - 1; i < per; i += (size_t)line)
			buf[i] = '\n';
		for (; total > 0; total -= total < per ? total : per)
			out_write(buf, (size_t)(total < per ? total : per));
		return;
	}
	for (unsigned long long at = 0; at < total;) {
		unsigned long long left = total - at, in_line = line ? line - at % line : left;
		size_t n = (size_t)(left < OUT_CHUNK ? left : OUT_CHUNK);
		if (line && in_line <= n) {
			out_write(buf, (size_t)in_line - 1);
			out_write("\n", 1);
			at += in_line;
			continue;
		}
		out_write(buf, n);
		at += n;
	}
}

static void hostile_output(void)
{
	char *buf = malloc(OUT_CHUNK);
	if (!buf)
		return;
	out_pattern(buf, env_number("HOSTILE_OUTPUT_NUL") != 0);
	out_emit(buf, env_number("HOSTILE_OUTPUT_BYTES"), env_number("HOSTILE_OUTPUT_LINE"));
	free(buf);
}

/* What the module does when it is loaded (DllMain's DLL_PROCESS_ATTACH, a constructor). */
static void load_attacks(void)
{
	if (HOSTILE_LOAD_CRASH)
		*nowhere = 1;
	if (HOSTILE_LOAD_EXIT)
		exit(0);
	if (HOSTILE_LOAD_ABORT)
		abort();
	if (HOSTILE_LOAD_HANG)
		sleep_forever();
	if (HOSTILE_LOAD_THREAD_CRASH)
		start_crash_thread();
	if (HOSTILE_LOAD_BANNER) {
		printf("hostile banner on stdout: <testsuites> not a report\n");
		fflush(stdout);
		fprintf(stderr, "hostile banner on stderr\n");
		fflush(stderr);
	}
}
