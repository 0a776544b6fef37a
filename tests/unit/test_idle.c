/* wsph_plat_idle (harness/platform/posix/idle.c): what another thread of the process is blocked in,
 * and whether that wait has a time limit. Each test starts one thread, waits (without a timer)
 * until /proc shows it inside the expected system call, then samples. */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "platform/platform.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pid_t tid_of_thread;
static int pipe_fds[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int sock_fds[2];

static void announce(void)
{
	__atomic_store_n(&tid_of_thread, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
}

static void *reader(void *arg)
{
	(void)arg;
	char c;
	announce();
	ssize_t n = read(pipe_fds[0], &c, 1);
	(void)n;
	return NULL;
}

/* a wait with a time limit (ten minutes), ended early by a byte on the pipe */
static void *sleeper(void *arg)
{
	announce();
	if (arg)
		wsph_plat_idle_exempt(1);
	struct pollfd p = {pipe_fds[0], POLLIN, 0};
	poll(&p, 1, 600000);
	return NULL;
}

static void *cond_waiter(void *arg)
{
	pthread_mutex_lock(&mu);
	announce();
	if (arg) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 600;
		pthread_cond_timedwait(&cv, &mu, &ts);
	} else {
		pthread_cond_wait(&cv, &mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *receiver(void *arg)
{
	char c = 0;
	announce();
	if (arg) {
		struct timeval tv = {600, 0};
		setsockopt(sock_fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	}
	ssize_t n = recv(sock_fds[0], &c, 1, 0);
	(void)n;
	return NULL;
}

static volatile int spin_stop;

static void *spinner(void *arg)
{
	(void)arg;
	announce();
	while (!spin_stop)
		;
	return NULL;
}

/* Starts fn and returns once /proc shows the thread blocked in system call nr (or, nr < 0, as
 * soon as it has announced itself). */
static pthread_t start(void *(*fn)(void *), void *arg, long nr)
{
	pthread_t t;
	__atomic_store_n(&tid_of_thread, 0, __ATOMIC_RELEASE);
	cr_assert_eq(pthread_create(&t, NULL, fn, arg), 0);
	pid_t tid;
	while (!(tid = __atomic_load_n(&tid_of_thread, __ATOMIC_ACQUIRE)))
		sched_yield();
	if (nr < 0)
		return t;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		cr_assert(f);
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (atol(buf) == nr && strncmp(buf, "running", 7))
			return t;
		sched_yield();
	}
}

/* The thread under test as wsph_plat_idle judges it (other threads of the test process, the test
 * framework's, are not the test's business). */
static int sample(unsigned long waiter)
{
	unsigned long tid = (unsigned long)__atomic_load_n(&tid_of_thread, __ATOMIC_ACQUIRE);
	int r = wsph_plat_idle_thread(tid, waiter);
	cr_assert_neq(r, -1);
	return r;
}

/* Ends a thread blocked on the pipe or the socket pair: a byte wakes it (no pthread_cancel,
 * which sanitizers do not follow). */
static void stop(pthread_t t)
{
	ssize_t n = write(pipe_fds[1], "x", 1);
	(void)n;
	pthread_join(t, NULL);
}

static void stop_receiver(pthread_t t)
{
	ssize_t n = send(sock_fds[1], "x", 1, 0);
	(void)n;
	pthread_join(t, NULL);
}

static void new_pipe(void)
{
	cr_assert_eq(pipe(pipe_fds), 0);
}

Test(idle, read_on_an_empty_pipe_waits_for_good)
{
	new_pipe();
	pthread_t t = start(reader, NULL, SYS_read);
	cr_expect_eq(sample(0), 1);
	stop(t);
}

Test(idle, a_poll_with_a_timeout_has_a_time_limit)
{
	new_pipe();
	pthread_t t = start(sleeper, NULL, SYS_poll);
	cr_expect_eq(sample(0), 0);
	stop(t);
}

Test(idle, an_exempt_thread_is_not_looked_at)
{
	new_pipe();
	struct wsph_idle before, after;
	cr_assert_eq(wsph_plat_idle(0, &before), 0);
	pthread_t t = start(sleeper, (void *)1, SYS_poll);
	cr_assert_eq(wsph_plat_idle(0, &after), 0);
	cr_expect_eq(after.threads, before.threads, "the exempt sleeper was looked at");
	stop(t);
	new_pipe(); /* the byte that ended the first is still in the old one */
	t = start(sleeper, NULL, SYS_poll);
	cr_assert_eq(wsph_plat_idle(0, &after), 0);
	cr_expect_eq(after.threads, before.threads + 1, "a sleeper not exempt was not looked at");
	cr_expect_eq(after.all_waiting, 0);
	stop(t);
}

Test(idle, the_waiter_counts_as_waiting_in_a_timed_wait)
{
	new_pipe();
	pthread_t t = start(sleeper, NULL, SYS_poll);
	cr_expect_eq(sample((unsigned long)__atomic_load_n(&tid_of_thread, __ATOMIC_ACQUIRE)), 1);
	stop(t);
}

/* a condition waiter ends when woken (cancelling it would leave the mutex locked) */
static void wake(pthread_t t)
{
	pthread_mutex_lock(&mu);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
}

Test(idle, condition_wait_untimed_and_timed)
{
	pthread_t t = start(cond_waiter, NULL, SYS_futex);
	cr_expect_eq(sample(0), 1, "pthread_cond_wait");
	wake(t);
	t = start(cond_waiter, (void *)1, SYS_futex);
	cr_expect_eq(sample(0), 0, "pthread_cond_timedwait");
	wake(t);
}

Test(idle, a_receive_timeout_makes_the_receive_timed)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sock_fds), 0);
	pthread_t t = start(receiver, NULL, SYS_recvfrom);
	cr_expect_eq(sample(0), 1, "recv with no data and no SO_RCVTIMEO");
	stop_receiver(t);
	t = start(receiver, (void *)1, SYS_recvfrom);
	cr_expect_eq(sample(0), 0, "recv with SO_RCVTIMEO");
	stop_receiver(t);
}

Test(idle, a_running_thread_is_not_waiting)
{
	spin_stop = 0;
	pthread_t t = start(spinner, NULL, -1);
	cr_expect_eq(sample(0), 0);
	spin_stop = 1;
	pthread_join(t, NULL);
}
