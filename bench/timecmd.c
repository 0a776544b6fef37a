/* Runs a command and reports its wall time, its exit status and the peak resident set size of
 * the process tree it made (wait4's ru_maxrss: the largest of the command and the children it
 * waited for). stdout and stderr of the command go to /dev/null unless -o FILE is given.
 * Usage: bench_timecmd [-o FILE] -- COMMAND [ARGS...]
 * Prints "RESULT SECONDS MAXRSS_KIB STATUS". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *out = "/dev/null";
	int i = 1;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: bench_timecmd [-o FILE] -- COMMAND [ARGS...]\n");
		return 2;
	}
	fflush(stdout);
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 3;
	}
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execvp(argv[i], argv + i);
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	if (wait4(pid, &status, 0, &ru) != pid) {
		perror("wait4");
		return 3;
	}
	double s = now_s() - t0;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("RESULT %.6f %ld %d\n", s, ru.ru_maxrss, code);
	return 0;
}
