/* A prototype of a recording path that meets issue 7's upcall targets, measured beside the real
 * one (bench_upcalls) in the same run. It is NOT the harness: it exists to show what the changes
 * proposed in bench/RESULTS.md buy, on this machine, before anyone changes harness/.
 *
 * What it does per WPUFDIsSet, like harness/upcalls.c fd_is_set + harness/trace.c append:
 *  - the calling thread's id from a thread-local cache (the harness makes a gettid syscall, twice);
 *  - the calling module from a per-thread cache keyed by return address (the harness calls dladdr
 *    and snprintf on every upcall); dladdr only on a miss;
 *  - the fault check as a bit test of a per-function mask, the per-function call count in a
 *    thread-local counter (a global count is only needed for functions a fault targets: those take
 *    the lock, as every upcall does today);
 *  - the step and parent WSP call read from the driver thread's published state (relaxed loads);
 *  - a compact 64-byte binary event appended to the thread's own chunk of a MAP_SHARED region
 *    (what a child would share with its parent: it survives the child's crash, costs no syscall,
 *    and the parent can read and check it while the child runs); no lock, no global counter;
 *    the total order is rebuilt by the reader from (timestamp, thread, per-thread seq).
 * The timestamp is the TSC (x86) or CLOCK_MONOTONIC elsewhere.
 *
 * Usage: bench_proto [N_PER_REP] [REPS]. Prints "RESULT key value" lines.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define STAMP() __rdtsc()
#else
static uint64_t stamp_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#define STAMP() stamp_mono()
#endif

#define MSABI __attribute__((ms_abi)) /* WSPAPI on x86-64 POSIX, as include/wsph/spi.h */

typedef uint64_t SOCKET;
typedef struct {
	unsigned fd_count;
	SOCKET fd_array[64];
} fd_set64;
typedef int(MSABI *fdisset_fn)(SOCKET, fd_set64 *);

/* 64 bytes: what the rules need of a pure upcall. Strings (module, text) are interned ids. */
struct cevent {
	uint64_t stamp;
	uint32_t thread, tseq; /* thread index, per-thread sequence */
	uint16_t fn, module;
	uint8_t kind, table, current_table, pad;
	int32_t step;
	uint32_t fault;
	uint64_t parent;
	uint64_t a0, a1;
	int64_t ret;
};
_Static_assert(sizeof(struct cevent) == 64, "compact event");

#define CHUNK_EVENTS 4096 /* one chunk: 256 KiB */
#define N_CHUNKS 64	  /* the shared region: 16 MiB, reused as a ring */

static struct cevent *region; /* MAP_SHARED | MAP_ANONYMOUS: inherited by a forked child */
static atomic_uint next_chunk;
static atomic_ullong chunks_filled;
static uint64_t fault_mask; /* bit fn: a fault targets fn */
static _Atomic int driver_step;
static _Atomic uint64_t driver_parent;
static atomic_uint n_threads;

struct tstate {
	uint32_t idx, seq;
	uint64_t stamp;
	struct cevent *chunk;
	uint32_t used;
	unsigned calls[64];
	const void *ra[16];
	uint16_t mod[16];
};
static _Thread_local struct tstate T;
static _Thread_local int T_init;

static uint16_t intern_module(const void *ra)
{
	Dl_info info;
	/* the harness would intern the base name; one module here */
	return dladdr(ra, &info) && info.dli_fname ? 1 : 0;
}

static struct cevent *slot(void)
{
	if (!T_init) {
		T.idx = atomic_fetch_add(&n_threads, 1) + 1;
		T_init = 1;
	}
	if (!T.chunk || T.used == CHUNK_EVENTS) {
		/* the reader (the parent) consumes filled chunks; the ring wraps */
		unsigned c = atomic_fetch_add(&next_chunk, 1) % N_CHUNKS;
		if (T.chunk)
			atomic_fetch_add(&chunks_filled, 1);
		T.chunk = region + (size_t)c * CHUNK_EVENTS;
		T.used = 0;
	}
	return &T.chunk[T.used++];
}

/* every: take the timestamp on every event (1), or on every 64th (0: the events between carry
 * the last one; their order is the per-thread sequence) */
static inline int record_fd_is_set(SOCKET s, fd_set64 *set, const void *ra, int every)
{
	unsigned h = ((uintptr_t)ra >> 4) & 15;
	if (T.ra[h] != ra) {
		T.ra[h] = ra;
		T.mod[h] = intern_module(ra);
	}
	enum { FN = 9 };
	uint32_t fault = 0;
	T.calls[FN]++;
	if (fault_mask & (1u << FN)) {
		/* a fault targets this function: the global count under the lock, as today */
	}
	int rc = 0;
	if (set)
		for (unsigned i = 0; i < set->fd_count && i < 64; i++)
			if (set->fd_array[i] == s)
				rc = 1;
	struct cevent *e = slot();
	if (every || (T.seq & 63) == 0)
		T.stamp = STAMP();
	e->stamp = T.stamp;
	e->thread = T.idx;
	e->tseq = ++T.seq;
	e->fn = FN;
	e->module = T.mod[h];
	e->kind = 2;
	e->table = 0;
	e->current_table = 0;
	e->pad = 0;
	e->step = atomic_load_explicit(&driver_step, memory_order_relaxed);
	e->fault = fault;
	e->parent = atomic_load_explicit(&driver_parent, memory_order_relaxed);
	e->a0 = s;
	e->a1 = (uint64_t)(uintptr_t)set;
	e->ret = rc;
	return rc;
}

static int MSABI proto_fd_is_set(SOCKET s, fd_set64 *set)
{
	return record_fd_is_set(s, set, __builtin_return_address(0), 1);
}

static int MSABI proto_coarse_fd_is_set(SOCKET s, fd_set64 *set)
{
	return record_fd_is_set(s, set, __builtin_return_address(0), 0);
}

static int MSABI empty_fd_is_set(SOCKET s, fd_set64 *set)
{
	(void)s, (void)set;
	return 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct work {
	fdisset_fn volatile fn;
	long n;
	double t_start, t_end;
	pthread_barrier_t *start;
};

static void *loop(void *p)
{
	struct work *w = p;
	fd_set64 set;
	memset(&set, 0, sizeof set);
	set.fd_count = 1;
	set.fd_array[0] = 0x3c000000u;
	if (w->start)
		pthread_barrier_wait(w->start);
	w->t_start = now_s();
	long hits = 0;
	for (long i = 0; i < w->n; i++)
		hits += w->fn(0x3c000000u, &set);
	w->t_end = now_s();
	if (hits != w->n)
		fprintf(stderr, "bench_proto: %ld of %ld\n", hits, w->n);
	return NULL;
}

static double run1(fdisset_fn fn, long n)
{
	struct work w = {fn, n, 0, 0, NULL};
	loop(&w);
	return w.t_end - w.t_start;
}

static double run2(fdisset_fn fn, long n)
{
	pthread_barrier_t b;
	pthread_barrier_init(&b, NULL, 2);
	struct work w[2] = {{fn, n, 0, 0, &b}, {fn, n, 0, 0, &b}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, loop, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&b);
	double first = w[0].t_start < w[1].t_start ? w[0].t_start : w[1].t_start;
	double last = w[0].t_end > w[1].t_end ? w[0].t_end : w[1].t_end;
	return last - first;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	long n = argc == 4 ? 1 : argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
	int reps = argc == 4 ? 1 : argc > 2 ? atoi(argv[2]) : 5;
	if (n <= 0 || reps <= 0 || reps > 64)
		return 2;
	region = mmap(NULL, sizeof(struct cevent) * CHUNK_EVENTS * N_CHUNKS, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return 3;
	if (argc == 4 && !strcmp(argv[1], "--only")) {
		/* one workload alone, for callgrind: --only exact|coarse|empty N */
		long m = strtol(argv[3], NULL, 10);
		fdisset_fn fn = !strcmp(argv[2], "coarse") ? proto_coarse_fd_is_set
				: !strcmp(argv[2], "empty") ? empty_fd_is_set
							    : proto_fd_is_set;
		printf("%s: %ld in %.3f s\n", argv[2], m, run1(fn, m));
		return 0;
	}
	double e1[64], p1[64], c1[64], e2[64], p2[64], c2[64];
	run1(proto_fd_is_set, n); /* touch the region once */
	for (int r = 0; r < reps; r++) {
		e1[r] = run1(empty_fd_is_set, n) / (double)n * 1e9;
		p1[r] = run1(proto_fd_is_set, n) / (double)n * 1e9;
		c1[r] = run1(proto_coarse_fd_is_set, n) / (double)n * 1e9;
		double t1 = run1(empty_fd_is_set, n), t2 = run2(empty_fd_is_set, n);
		e2[r] = 2.0 * t1 / t2;
		t1 = run1(proto_fd_is_set, n);
		t2 = run2(proto_fd_is_set, n);
		p2[r] = 2.0 * t1 / t2;
		t1 = run1(proto_coarse_fd_is_set, n);
		t2 = run2(proto_coarse_fd_is_set, n);
		c2[r] = 2.0 * t1 / t2;
	}
	double me1 = median(e1, reps), mp1 = median(p1, reps), mc1 = median(c1, reps);
	printf("  prototype recorder (bench/proto_recorder.c, not the harness), %ld calls x %d:\n",
	       n, reps);
	printf("    empty table            %8.1f ns/upcall (baseline)\n", me1);
	printf("    prototype, timestamp per event   %8.1f ns/upcall  added %.1f ns (target <= 25 "
	       "ns)\n",
	       mp1, mp1 - me1);
	printf("    prototype, timestamp per 64      %8.1f ns/upcall  added %.1f ns\n", mc1,
	       mc1 - me1);
	printf("    two threads vs one: prototype %.2fx, per-64 %.2fx, empty table %.2fx "
	       "(target >= 1.6x)\n",
	       median(p2, reps), median(c2, reps), median(e2, reps));
	printf("RESULT proto_empty_ns %.2f\n", me1);
	printf("RESULT proto_ns %.2f\n", mp1);
	printf("RESULT proto_added_ns %.2f\n", mp1 - me1);
	printf("RESULT proto_coarse_ns %.2f\n", mc1);
	printf("RESULT proto_coarse_added_ns %.2f\n", mc1 - me1);
	printf("RESULT proto_threads_ratio %.3f\n", median(p2, reps));
	printf("RESULT proto_coarse_threads_ratio %.3f\n", median(c2, reps));
	printf("RESULT proto_threads_empty_ratio %.3f\n", median(e2, reps));
	munmap(region, sizeof(struct cevent) * CHUNK_EVENTS * N_CHUNKS);
	return 0;
}
