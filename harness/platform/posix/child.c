/* POSIX isolation: fork a child per scenario, collect its output, kill it at the deadline. */
#define _GNU_SOURCE
#include "../platform.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int append(struct wsph_child_result *res, size_t *cap, const char *buf, size_t n)
{
	if (res->len + n + 1 > *cap) {
		size_t nc = (res->len + n + 1) * 2;
		char *p = realloc(res->output, nc);
		if (!p)
			return -1;
		res->output = p;
		*cap = nc;
	}
	memcpy(res->output + res->len, buf, n);
	res->len += n;
	res->output[res->len] = '\0';
	return 0;
}

int wsph_plat_run_child(const struct wsph_child_spec *spec, struct wsph_child_result *res)
{
	int fds[2];
	size_t cap = 0;
	memset(res, 0, sizeof *res);
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) != 0) {
		res->end = WSPH_CHILD_FAILED;
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		res->end = WSPH_CHILD_FAILED;
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[1]);
		setvbuf(stdout, NULL, _IOLBF, 0);
		_exit(spec->job(spec->ctx));
	}
	close(fds[1]);
	uint64_t deadline = wsph_plat_now_ns() + (uint64_t)spec->timeout_ms * 1000000u;
	char buf[65536];
	int timed_out = 0, stopped = 0;
	for (;;) {
		uint64_t now = wsph_plat_now_ns();
		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		if (spec->stop && *spec->stop) {
			stopped = 1;
			break;
		}
		struct pollfd p = {fds[0], POLLIN, 0};
		int left = (int)((deadline - now) / 1000000u) + 1;
		if (left > 100)
			left = 100;
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		append(res, &cap, buf, (size_t)n);
	}
	if (timed_out || stopped)
		kill(pid, SIGKILL);
	/* whatever is still buffered in the pipe */
	for (;;) {
		struct pollfd p = {fds[0], POLLIN, 0};
		if (poll(&p, 1, 0) <= 0)
			break;
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n <= 0)
			break;
		append(res, &cap, buf, (size_t)n);
	}
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!res->output)
		append(res, &cap, "", 0);
	if (stopped) {
		res->end = WSPH_CHILD_STOPPED;
	} else if (timed_out) {
		res->end = WSPH_CHILD_TIMEOUT;
	} else if (WIFSIGNALED(status)) {
		res->end = WSPH_CHILD_SIGNALED;
		res->code = WTERMSIG(status);
	} else {
		res->end = WSPH_CHILD_EXITED;
		res->code = WEXITSTATUS(status);
	}
	return 0;
}

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
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].sig == code) {
			snprintf(buf, len, "%s (%ld)", names[i].name, code);
			*klass = names[i].klass;
			return buf;
		}
	snprintf(buf, len, "signal %ld", code);
	return buf;
}

void wsph_plat_child_init(void (*on_crash)(long code))
{
	(void)on_crash; /* the parent sees the signal itself */
}
