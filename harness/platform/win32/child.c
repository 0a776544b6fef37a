/* Windows isolation: start this program again in child mode, collect its output, kill it at the deadline. */
#include "../platform.h"

#include <windows.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int wsph_plat_run_child(const struct wsph_child_spec *spec, struct wsph_child_result *res)
{
	size_t cap = 0;
	memset(res, 0, sizeof *res);
	wchar_t exe[MAX_PATH * 4];
	GetModuleFileNameW(NULL, exe, MAX_PATH * 4);
	size_t cmdcap = 32768, pos = 0;
	wchar_t *cmd = calloc(cmdcap, sizeof *cmd);
	if (!cmd) {
		res->end = WSPH_CHILD_FAILED;
		return -1;
	}
	quote(cmd, cmdcap, &pos, exe);
	for (int i = 1; i < spec->argc; i++) {
		wchar_t w[8192];
		if (!MultiByteToWideChar(CP_UTF8, 0, spec->argv[i], -1, w, 8192))
			continue;
		quote(cmd, cmdcap, &pos, w);
	}
	SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
	HANDLE rd, wr;
	if (!CreatePipe(&rd, &wr, &sa, 0)) {
		free(cmd);
		res->end = WSPH_CHILD_FAILED;
		return -1;
	}
	SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	memset(&si, 0, sizeof si);
	si.cb = sizeof si;
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
	si.hStdOutput = wr;
	si.hStdError = wr;
	BOOL ok = CreateProcessW(exe, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi);
	free(cmd);
	CloseHandle(wr);
	if (!ok) {
		CloseHandle(rd);
		res->end = WSPH_CHILD_FAILED;
		return -1;
	}
	ULONGLONG deadline = GetTickCount64() + spec->timeout_ms;
	int timed_out = 0, stopped = 0;
	char buf[65536];
	for (;;) {
		DWORD avail = 0;
		if (!PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL))
			break; /* the child closed its end */
		if (avail) {
			DWORD n = 0;
			if (!ReadFile(rd, buf, avail < sizeof buf ? avail : sizeof buf, &n, NULL) || !n)
				break;
			append(res, &cap, buf, n);
			continue;
		}
		if (GetTickCount64() >= deadline) {
			timed_out = 1;
			break;
		}
		if (spec->stop && *spec->stop) {
			stopped = 1;
			break;
		}
		if (WaitForSingleObject(pi.hProcess, 5) == WAIT_OBJECT_0) {
			/* drain what is left, then stop */
			DWORD n = 0;
			while (PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) && avail &&
			       ReadFile(rd, buf, avail < sizeof buf ? avail : sizeof buf, &n, NULL) && n)
				append(res, &cap, buf, n);
			break;
		}
	}
	if (timed_out || stopped)
		TerminateProcess(pi.hProcess, 0xC0000102 /* STATUS_TIMEOUT-ish marker */);
	WaitForSingleObject(pi.hProcess, INFINITE);
	DWORD code = 0;
	GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	CloseHandle(rd);
	if (!res->output)
		append(res, &cap, "", 0);
	if (stopped) {
		res->end = WSPH_CHILD_STOPPED;
	} else if (timed_out) {
		res->end = WSPH_CHILD_TIMEOUT;
	} else if ((code & 0xF0000000u) == 0xC0000000u || code == 0x40000015u) {
		res->end = WSPH_CHILD_SIGNALED;
		res->code = (long)code;
	} else {
		res->end = WSPH_CHILD_EXITED;
		res->code = (long)code;
	}
	return 0;
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
	report_code(code);
	TerminateProcess(GetCurrentProcess(), code);
	return EXCEPTION_EXECUTE_HANDLER;
}

/* A stack overflow is fatal wherever it happens; a vectored handler sees it first, while the
 * guaranteed stack is still there. */
static LONG WINAPI on_first_chance(EXCEPTION_POINTERS *ep)
{
	if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_STACK_OVERFLOW)
		return EXCEPTION_CONTINUE_SEARCH;
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
	SetUnhandledExceptionFilter(on_exception);
	AddVectoredExceptionHandler(1, on_first_chance);
	signal(SIGABRT, on_abort);
}
