/* Windows isolation: this program again, in child mode, running scenarios one after another
 * (commands on its stdin, events on its stdout); killed at the deadline. */
#include "../platform.h"

#include <windows.h>
#include <process.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Quotes one argument the way CommandLineToArgvW splits it back. */
static void quote(wchar_t *out, size_t cap, size_t *pos, const wchar_t *arg)
{
	if (*pos + 2 >= cap)
		return;
	out[(*pos)++] = L'"';
	for (const wchar_t *p = arg;; p++) {
		size_t bs = 0;
		while (*p == L'\\') {
			p++;
			bs++;
		}
		size_t times = !*p ? bs * 2 : *p == L'"' ? bs * 2 + 1 : bs;
		for (size_t i = 0; i < times && *pos + 1 < cap; i++)
			out[(*pos)++] = L'\\';
		if (!*p)
			break;
		if (*pos + 1 < cap)
			out[(*pos)++] = *p;
	}
	if (*pos + 2 < cap) {
		out[(*pos)++] = L'"';
		out[(*pos)++] = L' ';
	}
	out[*pos] = 0;
}

struct wsph_child {
	HANDLE proc;
	HANDLE in;  /* the child's stdin (we write) */
	HANDLE out; /* the server end of the named pipe that is the child's stdout and stderr */
	OVERLAPPED ov;
	char buf[16384];
	int pending; /* a read is under way (or done and not yet collected) */
	int eof;
};

static void start_read(struct wsph_child *ch)
{
	ResetEvent(ch->ov.hEvent);
	if (ReadFile(ch->out, ch->buf, sizeof ch->buf, NULL, &ch->ov) ||
	    GetLastError() == ERROR_IO_PENDING)
		ch->pending = 1;
	else
		ch->eof = 1;
}

struct wsph_child *wsph_plat_child_start(const struct wsph_child_spec *spec)
{
	static LONG serial;
	struct wsph_child *ch = calloc(1, sizeof *ch);
	wchar_t exe[MAX_PATH * 4];
	size_t cmdcap = 32768, pos = 0;
	wchar_t *cmd = calloc(cmdcap, sizeof *cmd);
	if (!ch || !cmd) {
		free(ch);
		free(cmd);
		return NULL;
	}
	GetModuleFileNameW(NULL, exe, MAX_PATH * 4);
	quote(cmd, cmdcap, &pos, exe);
	for (int i = 1; i < spec->argc; i++) {
		wchar_t w[8192];
		if (!MultiByteToWideChar(CP_UTF8, 0, spec->argv[i], -1, w, 8192))
			continue;
		quote(cmd, cmdcap, &pos, w);
	}
	/* the output pipe is a named pipe so that the parent can wait on it (overlapped reads) */
	char aname[96];
	wchar_t name[96];
	snprintf(aname, sizeof aname, "\\\\.\\pipe\\wspharness-%lu-%ld",
		 (unsigned long)GetCurrentProcessId(), (long)InterlockedIncrement(&serial));
	MultiByteToWideChar(CP_ACP, 0, aname, -1, name, 96);
	SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
	HANDLE in_r = NULL, out_w = INVALID_HANDLE_VALUE;
	ch->out = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED |
						 FILE_FLAG_FIRST_PIPE_INSTANCE,
				   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 65536, 65536, 0,
				   NULL);
	ch->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (ch->out != INVALID_HANDLE_VALUE)
		out_w = CreateFileW(name, GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
	if (ch->out == INVALID_HANDLE_VALUE || !ch->ov.hEvent || out_w == INVALID_HANDLE_VALUE ||
	    !CreatePipe(&in_r, &ch->in, &sa, 0)) {
		if (out_w != INVALID_HANDLE_VALUE)
			CloseHandle(out_w);
		if (ch->out != INVALID_HANDLE_VALUE)
			CloseHandle(ch->out);
		if (ch->ov.hEvent)
			CloseHandle(ch->ov.hEvent);
		free(cmd);
		free(ch);
		return NULL;
	}
	SetHandleInformation(ch->in, HANDLE_FLAG_INHERIT, 0);
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	memset(&si, 0, sizeof si);
	si.cb = sizeof si;
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = in_r;
	si.hStdOutput = out_w;
	si.hStdError = out_w;
	BOOL ok = CreateProcessW(exe, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi);
	free(cmd);
	CloseHandle(in_r);
	CloseHandle(out_w);
	if (!ok) {
		CloseHandle(ch->in);
		CloseHandle(ch->out);
		CloseHandle(ch->ov.hEvent);
		free(ch);
		return NULL;
	}
	CloseHandle(pi.hThread);
	ch->proc = pi.hProcess;
	start_read(ch);
	return ch;
}

int wsph_plat_child_send(struct wsph_child *ch, const char *text)
{
	size_t len = strlen(text), done = 0;
	while (done < len) {
		DWORD n = 0;
		if (!WriteFile(ch->in, text + done, (DWORD)(len - done), &n, NULL) || !n)
			return -1;
		done += n;
	}
	return 0;
}

int wsph_plat_child_wait(struct wsph_child *const *chs, size_t n, unsigned ms)
{
	HANDLE h[MAXIMUM_WAIT_OBJECTS];
	DWORD k = 0;
	for (size_t i = 0; i < n && k < MAXIMUM_WAIT_OBJECTS; i++) {
		if (!chs[i])
			continue;
		/* a read that completed at once may not have signalled its event yet */
		if (chs[i]->eof || !chs[i]->pending || HasOverlappedIoCompleted(&chs[i]->ov))
			return 1;
		h[k++] = chs[i]->ov.hEvent;
	}
	if (!k) {
		Sleep(ms);
		return 0;
	}
	return WaitForMultipleObjects(k, h, FALSE, ms) < WAIT_OBJECT_0 + k;
}

long wsph_plat_child_read(struct wsph_child *ch, char *buf, size_t len)
{
	for (;;) {
		if (ch->eof)
			return -1;
		if (!ch->pending) {
			start_read(ch);
			continue;
		}
		DWORD n = 0;
		if (!GetOverlappedResult(ch->out, &ch->ov, &n, FALSE)) {
			DWORD e = GetLastError();
			if (e == ERROR_IO_INCOMPLETE)
				return 0;
			if (e != ERROR_MORE_DATA) {
				ch->pending = 0;
				ch->eof = 1;
				return -1;
			}
		}
		ch->pending = 0;
		if (n > len)
			n = (DWORD)len;
		memcpy(buf, ch->buf, n);
		start_read(ch);
		if (n)
			return (long)n;
	}
}

void wsph_plat_child_end(struct wsph_child *ch, int kill, unsigned wait_ms, enum wsph_child_end *end,
			 long *code)
{
	CloseHandle(ch->in);
	if (kill || WaitForSingleObject(ch->proc, wait_ms) != WAIT_OBJECT_0)
		TerminateProcess(ch->proc, 0xC0000102 /* a marker: the parent knows it killed it */);
	WaitForSingleObject(ch->proc, INFINITE);
	DWORD c = 0;
	GetExitCodeProcess(ch->proc, &c);
	CloseHandle(ch->proc);
	if (ch->pending && !ch->eof) {
		CancelIo(ch->out);
		DWORD n;
		GetOverlappedResult(ch->out, &ch->ov, &n, TRUE);
	}
	CloseHandle(ch->out);
	CloseHandle(ch->ov.hEvent);
	free(ch);
	*code = (long)c;
	*end = (c & 0xF0000000u) == 0xC0000000u || c == 0x40000015u ? WSPH_CHILD_SIGNALED
								     : WSPH_CHILD_EXITED;
}

int wsph_plat_module_loaded(const char *path)
{
	wchar_t w[MAX_PATH * 4];
	if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, w, MAX_PATH * 4))
		return 0;
	for (wchar_t *p = w; *p; p++)
		if (*p == L'/')
			*p = L'\\';
	HMODULE h = NULL;
	return GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT, w, &h) && h;
}

/* Threads come and go through the program's TLS callback (a thread attach and detach each,
 * delivered by the loader for every thread of the process): a counter, where a snapshot of every
 * thread of the system costs tens of milliseconds under Wine. The count starts at 1 for the
 * thread that started the process.
 *
 * Threads that start in ntdll are not counted: those are the system's own (the thread pool's
 * workers, which Wine starts on demand and keeps idle for a while), and counting them made a case
 * look as if it had left a thread of the provider running. A provider thread starts at the
 * provider's function, or at the C runtime's thread entry for _beginthreadex. A TLS slot marks the
 * threads that were counted, so a detach is matched with its attach. */
static volatile LONG live_threads = 1;
static DWORD counted_slot = TLS_OUT_OF_INDEXES;

typedef LONG(NTAPI *query_thread_fn)(HANDLE, int, PVOID, ULONG, PULONG);

static int started_in_ntdll(void)
{
	static query_thread_fn query;
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	if (!ntdll)
		return 0;
	if (!query) {
		FARPROC f = GetProcAddress(ntdll, "NtQueryInformationThread");
		memcpy(&query, &f, sizeof query);
	}
	void *start = NULL;
	/* 9: ThreadQuerySetWin32StartAddress */
	if (!query || query(GetCurrentThread(), 9, &start, sizeof start, NULL) != 0 || !start)
		return 0;
	HMODULE m = NULL;
	if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
				       GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
			       (LPCWSTR)start, &m))
		return 0;
	return m == ntdll;
}

static void NTAPI thread_note(PVOID module, DWORD reason, PVOID reserved)
{
	(void)module;
	(void)reserved;
	if (reason == DLL_PROCESS_ATTACH && counted_slot == TLS_OUT_OF_INDEXES)
		counted_slot = TlsAlloc();
	if (reason == DLL_THREAD_ATTACH && !started_in_ntdll()) {
		InterlockedIncrement(&live_threads);
		if (counted_slot != TLS_OUT_OF_INDEXES)
			TlsSetValue(counted_slot, (LPVOID)1);
	} else if (reason == DLL_THREAD_DETACH &&
		   (counted_slot == TLS_OUT_OF_INDEXES || TlsGetValue(counted_slot))) {
		InterlockedDecrement(&live_threads);
	}
}

#ifdef _MSC_VER
#pragma comment(linker, "/INCLUDE:_tls_used")
#pragma comment(linker, "/INCLUDE:wsph_tls_callback")
#pragma section(".CRT$XLB", read)
__declspec(allocate(".CRT$XLB")) extern const PIMAGE_TLS_CALLBACK wsph_tls_callback;
const PIMAGE_TLS_CALLBACK wsph_tls_callback = thread_note;
#else
extern const PIMAGE_TLS_CALLBACK wsph_tls_callback;
__attribute__((section(".CRT$XLB"), used)) const PIMAGE_TLS_CALLBACK wsph_tls_callback =
	thread_note;
#endif

/* A thread the module created that has not yet reached its start routine: CreateThread returns
 * before the new thread runs, and its TLS callback (live_threads) comes later still. Without this
 * a provider that starts a thread in its final WSPCleanup looked thread-free, and the harness
 * unloaded the code the thread was about to run. The interposed creators count the thread before
 * it exists and the thread uncounts itself once it runs (by then live_threads counts it). */
static volatile LONG starting_threads;

struct counted_start {
	LPTHREAD_START_ROUTINE fn;	     /* CreateThread */
	unsigned(__stdcall *crt_fn)(void *); /* _beginthreadex */
	void(__cdecl *crt_plain)(void *);    /* _beginthread */
	void *arg;
};

static struct counted_start *counted_new(void *arg)
{
	struct counted_start *s = calloc(1, sizeof *s);
	if (s) {
		s->arg = arg;
		InterlockedIncrement(&starting_threads);
	}
	return s;
}

static void counted_cancel(struct counted_start *s)
{
	InterlockedDecrement(&starting_threads);
	free(s);
}

static struct counted_start counted_begin(void *p)
{
	struct counted_start s = *(struct counted_start *)p;
	free(p);
	InterlockedDecrement(&starting_threads);
	return s;
}

static DWORD WINAPI counted_thread(LPVOID p)
{
	struct counted_start s = counted_begin(p);
	return s.fn(s.arg);
}

static HANDLE WINAPI p_create_thread(LPSECURITY_ATTRIBUTES sa, SIZE_T stack,
				     LPTHREAD_START_ROUTINE fn, LPVOID arg, DWORD flags, LPDWORD id)
{
	struct counted_start *s = fn ? counted_new(arg) : NULL;
	if (!s)
		return CreateThread(sa, stack, fn, arg, flags, id);
	s->fn = fn;
	HANDLE h = CreateThread(sa, stack, counted_thread, s, flags, id);
	if (!h)
		counted_cancel(s);
	return h;
}

static unsigned __stdcall counted_crt_thread(void *p)
{
	struct counted_start s = counted_begin(p);
	return s.crt_fn(s.arg);
}

static uintptr_t __cdecl p_beginthreadex(void *sa, unsigned stack, unsigned(__stdcall *fn)(void *),
					 void *arg, unsigned flags, unsigned *id)
{
	struct counted_start *s = fn ? counted_new(arg) : NULL;
	if (!s)
		return _beginthreadex(sa, stack, fn, arg, flags, id);
	s->crt_fn = fn;
	uintptr_t h = _beginthreadex(sa, stack, counted_crt_thread, s, flags, id);
	if (!h)
		counted_cancel(s);
	return h;
}

static void __cdecl counted_crt_plain(void *p)
{
	struct counted_start s = counted_begin(p);
	s.crt_plain(s.arg);
}

static uintptr_t __cdecl p_beginthread(void(__cdecl *fn)(void *), unsigned stack, void *arg)
{
	struct counted_start *s = fn ? counted_new(arg) : NULL;
	if (!s)
		return _beginthread(fn, stack, arg);
	s->crt_plain = fn;
	uintptr_t h = _beginthread(counted_crt_plain, stack, s);
	if (h == (uintptr_t)-1)
		counted_cancel(s);
	return h;
}

void wsph_plat_watch_threads(struct wsph_module *m)
{
	HANDLE(WINAPI * create)(LPSECURITY_ATTRIBUTES, SIZE_T, LPTHREAD_START_ROUTINE, LPVOID, DWORD,
				LPDWORD) = p_create_thread;
	uintptr_t(__cdecl * crt)(void *, unsigned, unsigned(__stdcall *)(void *), void *, unsigned,
				 unsigned *) = p_beginthreadex;
	uintptr_t(__cdecl * plain)(void(__cdecl *)(void *), unsigned, void *) = p_beginthread;
	void *p;
	memcpy(&p, &create, sizeof p);
	wsph_plat_interpose(m, "CreateThread", p);
	memcpy(&p, &crt, sizeof p);
	wsph_plat_interpose(m, "_beginthreadex", p);
	memcpy(&p, &plain, sizeof p);
	wsph_plat_interpose(m, "_beginthread", p);
}

int wsph_plat_thread_count(void)
{
	/* A starting thread may be in both counts for a moment (attached, not yet at its routine):
	 * an overcount that the caller's wait absorbs, never an undercount. */
	return (int)(live_threads + starting_threads);
}

unsigned wsph_plat_cpu_count(void)
{
	SYSTEM_INFO si;
	GetSystemInfo(&si);
	return si.dwNumberOfProcessors ? si.dwNumberOfProcessors : 1u;
}

const char *wsph_plat_signal_name(long code, char *buf, size_t len, const char **klass)
{
	static const struct {
		DWORD code;
		const char *name, *klass;
	} names[] = {
		{0xC0000005u, "EXCEPTION_ACCESS_VIOLATION", "crash"},
		{0xC00000FDu, "EXCEPTION_STACK_OVERFLOW", "stack-overflow"},
		{0xC0000094u, "EXCEPTION_INT_DIVIDE_BY_ZERO", "crash"},
		{0xC000001Du, "EXCEPTION_ILLEGAL_INSTRUCTION", "crash"},
		{0xC0000096u, "EXCEPTION_PRIV_INSTRUCTION", "crash"},
		{0xC0000374u, "STATUS_HEAP_CORRUPTION", "crash"},
		{0xC0000409u, "STATUS_STACK_BUFFER_OVERRUN", "abort"},
		{0xC0000006u, "EXCEPTION_IN_PAGE_ERROR", "crash"},
		{0x80000003u, "EXCEPTION_BREAKPOINT", "crash"},
		{0x40000015u, "STATUS_FATAL_APP_EXIT (abort)", "abort"},
	};
	*klass = "crash";
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].code == (DWORD)code) {
			snprintf(buf, len, "%s (0x%08lX)", names[i].name, (unsigned long)(DWORD)code);
			*klass = names[i].klass;
			return buf;
		}
	snprintf(buf, len, "exception 0x%08lX", (unsigned long)(DWORD)code);
	return buf;
}

static void (*crash_hook)(long code);

/* The crash line is written with WriteFile and a fixed buffer: after a stack overflow only the
 * guaranteed stack is left. */
static void report_code(DWORD code)
{
	char line[40] = "\n\x1eWSPH X ";
	char digits[16];
	int n = 0;
	unsigned long v = code;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < 15);
	size_t len = strlen(line);
	while (n)
		line[len++] = digits[--n];
	line[len++] = '\n';
	DWORD written;
	WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), line, (DWORD)len, &written, NULL);
}

static LONG WINAPI on_exception(EXCEPTION_POINTERS *ep)
{
	DWORD code = ep->ExceptionRecord->ExceptionCode;
	fflush(stdout); /* the events the child buffered (runner.c) */
	report_code(code);
	TerminateProcess(GetCurrentProcess(), code);
	return EXCEPTION_EXECUTE_HANDLER;
}

/* A stack overflow is fatal wherever it happens; a vectored handler sees it first. What stack is
 * left for it depends on where the overflowing frame landed in the guard page (Wine gives as
 * little as 2 KiB, whatever SetThreadStackGuarantee asked for), too little for fflush and a
 * system call. So the handler only raises a flag and spins, calling nothing; a watcher thread
 * made at start flushes the buffered events, writes the crash line and ends the process. */
static volatile LONG overflowed, watcher_up;

static DWORD WINAPI overflow_watcher(LPVOID arg)
{
	(void)arg;
	InterlockedExchange(&watcher_up, 1); /* counted: its DLL_THREAD_ATTACH has run */
	while (!overflowed)
		Sleep(2);
	fflush(stdout);
	report_code(EXCEPTION_STACK_OVERFLOW);
	TerminateProcess(GetCurrentProcess(), EXCEPTION_STACK_OVERFLOW);
	return 0;
}

static HANDLE watcher;

static LONG WINAPI on_first_chance(EXCEPTION_POINTERS *ep)
{
	if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_STACK_OVERFLOW)
		return EXCEPTION_CONTINUE_SEARCH;
	if (watcher) {
		overflowed = 1;
		for (;;)
			YieldProcessor(); /* no call: no stack */
	}
	fflush(stdout);
	report_code(EXCEPTION_STACK_OVERFLOW);
	TerminateProcess(GetCurrentProcess(), EXCEPTION_STACK_OVERFLOW);
	return EXCEPTION_CONTINUE_SEARCH;
}

#define ABORT_CODE 0x40000015u /* STATUS_FATAL_APP_EXIT: what abort() means here */

static void on_abort(int sig)
{
	(void)sig;
	fflush(stdout);
	report_code(ABORT_CODE);
	TerminateProcess(GetCurrentProcess(), ABORT_CODE);
}

void wsph_plat_child_init(void (*on_crash)(long code))
{
	ULONG guarantee = 64 * 1024;
	crash_hook = on_crash;
	SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
	SetThreadStackGuarantee(&guarantee);
	if (!watcher) {
		watcher = CreateThread(NULL, 64 * 1024, overflow_watcher, NULL, 0, NULL);
		/* running before any case counts the process's threads (wsph_plat_thread_count) */
		for (int i = 0; watcher && !watcher_up && i < 5000; i++)
			Sleep(1);
	}
	SetUnhandledExceptionFilter(on_exception);
	AddVectoredExceptionHandler(1, on_first_chance);
	signal(SIGABRT, on_abort);
}

void wsph_plat_child_exit_unchecked(void)
{
	/* ExitProcess (exit, _exit) ends the other threads wherever they are and then runs every
	 * DLL's detach code and the C runtime's: after a provider was unloaded without its cleanup,
	 * a lower provider's thread can be ended holding a lock that code needs, and under Wine the
	 * child then hung until the parent's 30 s limit (seen under load). TerminateProcess runs
	 * none of it; the caller has flushed stdout. */
	fflush(stdout);
	fflush(stderr);
	TerminateProcess(GetCurrentProcess(), 0);
}
