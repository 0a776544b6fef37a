/* The floor of isolation: N bare fork + _exit + waitpid, timed in-process.
 * Usage: bench_forkloop N. Prints "RESULT forkloop_s SECONDS N". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
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
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 3;
		}
		if (pid == 0)
			_exit(0);
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "bench_forkloop: child %ld failed\n", i);
			return 3;
		}
	}
	printf("RESULT forkloop_s %.6f %ld\n", now_s() - t0, n);
	return 0;
}
