/* khandle on Win32: each IFS socket's handle is the server end of a private named pipe. */

/*
 * The handed-out end is opened for overlapped I/O; mockbase keeps the other (client) end, opened
 * for synchronous I/O. The pipe is in message mode, so a completion of n bytes is one message of
 * n bytes, zero included: mb_kh_complete writes it on the handed-out end with the caller's
 * OVERLAPPED (the kernel completes that write with exactly n bytes) and reads it back on the
 * private end, so the pipe is empty again when it returns. A write larger than the pipe's buffer
 * stays pending until that read takes it; the kernel's status write into the OVERLAPPED follows
 * the read, so mb_kh_complete waits for it. One completion at a time per pipe (k->lock).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdlib.h>

#include "khandle.h"

#define KH_PIPE_BUFFER 65536u
#define KH_ZEROS       65536u
#define KH_NAME_TRIES  8
/* How long a write the read has taken may still show STATUS_PENDING: only a failure waits it out */
#define KH_SETTLE_MS 10000u

struct mb_kh {
	struct mb_kh *prev, *next; /* kh_live */
	volatile LONG refs;
	HANDLE out; /* handed out: the socket handle */
	HANDLE own; /* mockbase's end */
	SRWLOCK lock;
};

/* What the kernel reads for a completion's bytes (never written: it stays zero). */
static char kh_zeros[KH_ZEROS];

static SRWLOCK kh_glock = SRWLOCK_INIT;
static struct mb_kh *kh_live;
static HANDLE *kh_retired;
static size_t kh_n_retired, kh_cap_retired;
static volatile LONG kh_serial;

static WCHAR *put_hex(WCHAR *p, unsigned long long v)
{
	static const char digits[] = "0123456789abcdef";
	WCHAR tmp[16];
	int n = 0;
	do {
		tmp[n++] = (WCHAR)digits[v & 0xf];
		v >>= 4;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* \\.\pipe\mockbase-<pid>-<this module's instance>-<serial>: unique per process, per loaded copy
 * of the module (faulty variants are copies) and per socket. */
static void pipe_name(WCHAR *name, LONG serial)
{
	static const char prefix[] = "\\\\.\\pipe\\mockbase-";
	WCHAR *p = name;
	for (const char *s = prefix; *s; s++)
		*p++ = (WCHAR)*s;
	p = put_hex(p, GetCurrentProcessId());
	*p++ = '-';
	p = put_hex(p, (unsigned long long)(uintptr_t)&kh_serial);
	*p++ = '-';
	p = put_hex(p, (unsigned long long)(unsigned long)serial);
	*p = 0;
}

/* The server end is listening; the client end has just opened it. */
static int connect_server(HANDLE out)
{
	OVERLAPPED ov;
	memset(&ov, 0, sizeof ov);
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (!ov.hEvent)
		return -1;
	int rc = 0;
	if (!ConnectNamedPipe(out, &ov)) {
		DWORD e = GetLastError();
		if (e == ERROR_IO_PENDING) {
			/* someone else's open, not ours: give up this pipe */
			DWORD n;
			CancelIoEx(out, &ov);
			GetOverlappedResult(out, &ov, &n, TRUE);
			rc = -1;
		} else if (e != ERROR_PIPE_CONNECTED) {
			rc = -1;
		}
	}
	CloseHandle(ov.hEvent);
	return rc;
}

static int open_pipe(struct mb_kh *k)
{
	WCHAR name[80];
	for (int i = 0; i < KH_NAME_TRIES; i++) {
		pipe_name(name, InterlockedIncrement(&kh_serial));
		k->out = CreateNamedPipeW(
		    name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
		    PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT |
		        PIPE_REJECT_REMOTE_CLIENTS,
		    1, KH_PIPE_BUFFER, KH_PIPE_BUFFER, 0, NULL);
		if (k->out == INVALID_HANDLE_VALUE) {
			DWORD e = GetLastError();
			if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY)
				continue; /* the name is taken: the next serial */
			return -1;
		}
		k->own = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0,
		                     NULL);
		DWORD mode = PIPE_READMODE_MESSAGE;
		if (k->own != INVALID_HANDLE_VALUE &&
		    SetNamedPipeHandleState(k->own, &mode, NULL, NULL) &&
		    connect_server(k->out) == 0)
			return 0;
		if (k->own != INVALID_HANDLE_VALUE)
			CloseHandle(k->own);
		CloseHandle(k->out);
	}
	return -1;
}

struct mb_kh *mb_kh_create(void)
{
	/* MOCKBASE_COUNTER_HANDLES=1: counter values as on POSIX, for output compared across
	 * builds (tests/golden), where a kernel handle's value would differ */
	char flag[8];
	if (GetEnvironmentVariableA("MOCKBASE_COUNTER_HANDLES", flag, sizeof flag) && flag[0] == '1')
		return NULL;
	struct mb_kh *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	if (open_pipe(k) != 0) {
		free(k);
		return NULL;
	}
	k->refs = 1;
	InitializeSRWLock(&k->lock);
	AcquireSRWLockExclusive(&kh_glock);
	k->next = kh_live;
	if (kh_live)
		kh_live->prev = k;
	kh_live = k;
	ReleaseSRWLockExclusive(&kh_glock);
	return k;
}

uintptr_t mb_kh_value(const struct mb_kh *k)
{
	return (uintptr_t)k->out;
}

void mb_kh_ref(struct mb_kh *k)
{
	InterlockedIncrement(&k->refs);
}

/* With kh_glock held. Without room to keep the value, it is closed (and may come back). */
static void retire(HANDLE h)
{
	if (kh_n_retired == kh_cap_retired) {
		size_t cap = kh_cap_retired ? kh_cap_retired * 2 : 64;
		HANDLE *p = realloc(kh_retired, cap * sizeof *p);
		if (!p) {
			CloseHandle(h);
			return;
		}
		kh_retired = p;
		kh_cap_retired = cap;
	}
	kh_retired[kh_n_retired++] = h;
}

void mb_kh_unref(struct mb_kh *k)
{
	if (InterlockedDecrement(&k->refs) != 0)
		return;
	CloseHandle(k->own);
	AcquireSRWLockExclusive(&kh_glock);
	if (k->prev)
		k->prev->next = k->next;
	else
		kh_live = k->next;
	if (k->next)
		k->next->prev = k->prev;
	retire(k->out);
	ReleaseSRWLockExclusive(&kh_glock);
	free(k);
}

/* Reads the one message waiting on the private end, whatever its size. */
static int drain(HANDLE own)
{
	char buf[4096];
	DWORD n;
	for (;;) {
		if (ReadFile(own, buf, sizeof buf, &n, NULL))
			return 0;
		if (GetLastError() != ERROR_MORE_DATA)
			return -1;
	}
}

/* Waits until the kernel has written the OVERLAPPED's status (it writes InternalHigh first). */
static int settle(OVERLAPPED *ov)
{
	uint64_t start = GetTickCount64();
	for (unsigned spins = 0; *(volatile ULONG_PTR *)&ov->Internal == (ULONG_PTR)STATUS_PENDING;
	     spins++) {
		if (GetTickCount64() - start > KH_SETTLE_MS)
			return -1;
		Sleep(spins < 16 ? 0 : 1);
	}
	MemoryBarrier();
	return 0;
}

int mb_kh_complete(struct mb_kh *k, void *ovp, unsigned long bytes)
{
	OVERLAPPED *ov = ovp;
	char *data = kh_zeros;
	if (bytes > sizeof kh_zeros) {
		data = calloc(bytes, 1);
		if (!data)
			return -1;
	}
	int rc = 0;
	AcquireSRWLockExclusive(&k->lock);
	if (!WriteFile(k->out, data, (DWORD)bytes, NULL, ov)) {
		if (GetLastError() != ERROR_IO_PENDING) {
			rc = -1; /* nothing started */
		} else if (drain(k->own) != 0) {
			DWORD n;
			CancelIoEx(k->out, ov);
			if (!GetOverlappedResult(k->out, ov, &n, TRUE) &&
			    GetLastError() == ERROR_IO_INCOMPLETE)
				data = NULL; /* still the kernel's: left to it */
			rc = -1;
		} else if (settle(ov) != 0) {
			data = NULL; /* still the kernel's: left to it */
			rc = -1;
		}
	} else {
		/* Completed. A failed read-back means a broken pipe, on which the next write
		 * fails at once: nothing is left behind to confuse it. */
		(void)drain(k->own);
	}
	ReleaseSRWLockExclusive(&k->lock);
	if (data != kh_zeros)
		free(data);
	return rc;
}

static void close_retired(void)
{
	AcquireSRWLockExclusive(&kh_glock);
	for (size_t i = 0; i < kh_n_retired; i++)
		CloseHandle(kh_retired[i]);
	free(kh_retired);
	kh_retired = NULL;
	kh_n_retired = kh_cap_retired = 0;
	ReleaseSRWLockExclusive(&kh_glock);
}

void mb_kh_cleanup(void)
{
	close_retired();
}

/* Unloaded without the final WSPCleanup (or at process exit): nothing stays open. */
__attribute__((destructor)) static void kh_unload(void)
{
	AcquireSRWLockExclusive(&kh_glock);
	while (kh_live) {
		struct mb_kh *k = kh_live;
		kh_live = k->next;
		CloseHandle(k->own);
		CloseHandle(k->out);
		free(k);
	}
	ReleaseSRWLockExclusive(&kh_glock);
	close_retired();
}
