/* Windows implementation of the platform interface: time, threads, locks, events, files. */
#include "../platform.h"

#include <windows.h>
#include <signal.h>
#include <ctype.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <time.h>

static int widen(const char *s, wchar_t *out, int n)
{
	return MultiByteToWideChar(CP_UTF8, 0, s, -1, out, n) > 0 ? 0 : -1;
}

uint64_t wsph_plat_now_ns(void)
{
	static LARGE_INTEGER freq;
	LARGE_INTEGER c;
	if (!freq.QuadPart)
		QueryPerformanceFrequency(&freq);
	QueryPerformanceCounter(&c);
	return (uint64_t)((double)c.QuadPart * 1e9 / (double)freq.QuadPart);
}

unsigned long wsph_plat_thread_id(void)
{
	return (unsigned long)GetCurrentThreadId();
}

int64_t wsph_plat_utc_seconds(void)
{
	return (int64_t)time(NULL);
}

void wsph_plat_hostname(char *buf, size_t len)
{
	DWORD n = (DWORD)len;
	if (!GetComputerNameA(buf, &n) || !buf[0])
		snprintf(buf, len, "localhost");
}

struct wsph_mutex {
	CRITICAL_SECTION cs;
};

struct wsph_mutex *wsph_mutex_new(void)
{
	struct wsph_mutex *m = calloc(1, sizeof *m);
	if (m)
		InitializeCriticalSection(&m->cs);
	return m;
}

void wsph_mutex_lock(struct wsph_mutex *m)
{
	EnterCriticalSection(&m->cs);
}

void wsph_mutex_unlock(struct wsph_mutex *m)
{
	LeaveCriticalSection(&m->cs);
}

void wsph_mutex_free(struct wsph_mutex *m)
{
	if (!m)
		return;
	DeleteCriticalSection(&m->cs);
	free(m);
}

static DWORD attrs(const char *path)
{
	wchar_t w[MAX_PATH * 4];
	if (widen(path, w, (int)(sizeof w / sizeof w[0])) != 0)
		return INVALID_FILE_ATTRIBUTES;
	return GetFileAttributesW(w);
}

int wsph_plat_is_dir(const char *path)
{
	DWORD a = attrs(path);
	return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

int wsph_plat_is_file(const char *path)
{
	DWORD a = attrs(path);
	return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

int wsph_plat_list_dir(const char *dir, void (*fn)(void *ctx, const char *name, int is_dir),
		       void *ctx)
{
	char pattern[MAX_PATH * 4];
	wchar_t w[MAX_PATH * 4];
	snprintf(pattern, sizeof pattern, "%s\\*", dir);
	if (widen(pattern, w, (int)(sizeof w / sizeof w[0])) != 0)
		return -1;
	WIN32_FIND_DATAW fd;
	HANDLE h = FindFirstFileW(w, &fd);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	do {
		char name[MAX_PATH * 4];
		if (!WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, sizeof name, NULL,
					 NULL))
			continue;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		fn(ctx, name, (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0);
	} while (FindNextFileW(h, &fd));
	FindClose(h);
	return 0;
}

int wsph_plat_replace_file(const char *src, const char *dst)
{
	wchar_t ws[MAX_PATH * 4], wd[MAX_PATH * 4];
	if (widen(src, ws, MAX_PATH * 4) || widen(dst, wd, MAX_PATH * 4))
		return -1;
	return MoveFileExW(ws, wd, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) ? 0 : -1;
}

int wsph_plat_exe_dir(char *buf, size_t len)
{
	wchar_t w[MAX_PATH * 4];
	DWORD n = GetModuleFileNameW(NULL, w, MAX_PATH * 4);
	if (!n)
		return -1;
	if (!WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)len, NULL, NULL))
		return -1;
	char *cut = NULL;
	for (char *p = buf; *p; p++)
		if (*p == '\\' || *p == '/')
			cut = p;
	if (cut)
		*cut = '\0';
	return 0;
}

int wsph_plat_mkdirs(const char *path)
{
	char tmp[MAX_PATH * 4];
	snprintf(tmp, sizeof tmp, "%s", path);
	char *last = NULL;
	for (char *p = tmp; *p; p++)
		if (*p == '/' || *p == '\\')
			last = p;
	if (!last)
		return 0;
	*last = '\0';
	for (char *p = tmp; ; p++) {
		if (*p == '/' || *p == '\\' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (tmp[0] && !(p == tmp + 2 && tmp[1] == ':')) {
				wchar_t w[MAX_PATH * 4];
				if (!widen(tmp, w, MAX_PATH * 4))
					CreateDirectoryW(w, NULL);
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return wsph_plat_is_dir(tmp) ? 0 : -1;
}

int wsph_plat_stream_is_tty(void *file)
{
	const char *nc = getenv("NO_COLOR");
	if (nc && nc[0])
		return 0;
	return _isatty(_fileno((FILE *)file));
}

void *wsph_plat_event_new(void)
{
	return CreateEventW(NULL, TRUE, FALSE, NULL);
}

int wsph_plat_event_set(void *ev)
{
	return SetEvent((HANDLE)ev) ? 0 : -1;
}

int wsph_plat_event_reset(void *ev)
{
	return ResetEvent((HANDLE)ev) ? 0 : -1;
}

int wsph_plat_event_wait(void *ev, unsigned ms)
{
	return WaitForSingleObject((HANDLE)ev, ms) == WAIT_OBJECT_0;
}

void wsph_plat_event_free(void *ev)
{
	if (ev)
		CloseHandle((HANDLE)ev);
}

int wsph_plat_setenv(const char *name, const char *value)
{
	wchar_t wn[256], wv[MAX_PATH * 4];
	if (widen(name, wn, 256) || widen(value, wv, MAX_PATH * 4))
		return -1;
	return SetEnvironmentVariableW(wn, wv) ? 0 : -1;
}

int wsph_plat_post_message(void *hwnd, unsigned msg, uintptr_t wparam, intptr_t lparam, int wide)
{
	return wide ? PostMessageW((HWND)hwnd, msg, wparam, lparam)
		    : PostMessageA((HWND)hwnd, msg, wparam, lparam);
}

int wsph_plat_same_path(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int sa = *a == '/' || *a == '\\', sb = *b == '/' || *b == '\\';
		if (sa != sb || (!sa && tolower((unsigned char)*a) != tolower((unsigned char)*b)))
			return 0;
	}
	return *a == *b;
}

void wsph_plat_sleep_ms(unsigned ms)
{
	Sleep(ms);
}

/* ---- interrupts and the wake-up: an auto-reset event ---- */

static volatile int *interrupt_flag;
static HANDLE volatile wake_event;

static HANDLE wake_handle(void)
{
	if (!wake_event) {
		HANDLE h = CreateEventW(NULL, FALSE, FALSE, NULL);
		if (h && InterlockedCompareExchangePointer((PVOID volatile *)&wake_event, h, NULL))
			CloseHandle(h); /* another thread made it first */
	}
	return wake_event;
}

/* The first interrupt sets the flag and wakes the waiter; a second ends the process at once. */
static void interrupt(void)
{
	if (interrupt_flag && *interrupt_flag) {
		static const char again[] = "wspharness: interrupted again; exiting at once\r\n";
		DWORD n;
		WriteFile(GetStdHandle(STD_ERROR_HANDLE), again, sizeof again - 1, &n, NULL);
		TerminateProcess(GetCurrentProcess(), 130);
	}
	if (interrupt_flag)
		*interrupt_flag = 1;
	if (wake_event)
		SetEvent(wake_event);
}

static BOOL WINAPI on_console(DWORD type)
{
	(void)type;
	interrupt();
	return TRUE;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupt();
	signal(SIGTERM, on_signal);
}

void wsph_plat_catch_interrupts(volatile int *flag)
{
	wake_handle();
	interrupt_flag = flag;
	SetConsoleCtrlHandler(on_console, TRUE);
	signal(SIGTERM, on_signal);
}

void wsph_plat_wake(void)
{
	HANDLE h = wake_handle();
	if (h)
		SetEvent(h);
}

int wsph_plat_wake_wait(unsigned ms)
{
	HANDLE h = wake_handle();
	if (!h) {
		Sleep(ms < 50 ? ms : 50); /* no event: the caller polls */
		return 0;
	}
	return WaitForSingleObject(h, ms) == WAIT_OBJECT_0;
}

/* No SIGPIPE on Windows: a write to a closed pipe fails by itself. */
void wsph_plat_guard_stdio(void)
{
}

unsigned long wsph_plat_process_id(void)
{
	return (unsigned long)GetCurrentProcessId();
}

void wsph_plat_exit_now(int status)
{
	/* ExitProcess would run every DLL's detach code, a provider's among them, while one of its
	 * threads may be stopped anywhere: TerminateProcess runs none */
	TerminateProcess(GetCurrentProcess(), (UINT)status);
}

int wsph_plat_cwd(char *buf, size_t len)
{
	wchar_t w[MAX_PATH * 4];
	DWORD n = GetCurrentDirectoryW(MAX_PATH * 4, w);
	if (!n || n >= MAX_PATH * 4 || !len)
		return -1;
	return WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)len, NULL, NULL) ? 0 : -1;
}

unsigned wsph_plat_umask(void)
{
	/* the C runtime only reads the mask by setting it: set it back at once */
	int old = _umask(0);
	_umask(old);
	return (unsigned)old;
}

/* The environment as the system has it now: SetEnvironmentVariableW (a provider's, or
 * wsph_plat_setenv) does not update the C runtime's copy. The per-drive working directories
 * ("=C:=C:\dir", names starting with '=') are left out: the working directory is its own state. */
char **wsph_plat_environ(void)
{
	static char **env;
	static char *none[1];
	wchar_t *block = GetEnvironmentStringsW();
	if (!block)
		return env ? env : none;
	size_t count = 0, bytes = 0;
	for (const wchar_t *p = block; *p; p += wcslen(p) + 1) {
		if (*p == L'=')
			continue;
		int n = WideCharToMultiByte(CP_UTF8, 0, p, -1, NULL, 0, NULL, NULL);
		if (n <= 0)
			continue;
		count++;
		bytes += (size_t)n;
	}
	char **fresh = malloc((count + 1) * sizeof *fresh + bytes);
	if (!fresh) {
		FreeEnvironmentStringsW(block);
		return env ? env : none;
	}
	char *s = (char *)(fresh + count + 1);
	size_t i = 0;
	for (const wchar_t *p = block; *p && i < count; p += wcslen(p) + 1) {
		if (*p == L'=')
			continue;
		int n = WideCharToMultiByte(CP_UTF8, 0, p, -1, s, (int)bytes, NULL, NULL);
		if (n <= 0)
			continue;
		fresh[i++] = s;
		s += n;
		bytes -= (size_t)n;
	}
	fresh[i] = NULL;
	FreeEnvironmentStringsW(block);
	free(env);
	env = fresh;
	return env;
}

int wsph_plat_absolute(const char *path, char *out, size_t len)
{
	wchar_t w[MAX_PATH * 4], full[MAX_PATH * 4];
	if (!len || widen(path, w, MAX_PATH * 4) != 0)
		return -1;
	for (wchar_t *p = w; *p; p++)
		if (*p == L'/')
			*p = L'\\';
	DWORD n = GetFullPathNameW(w, MAX_PATH * 4, full, NULL);
	if (!n || n >= MAX_PATH * 4)
		return -1;
	return WideCharToMultiByte(CP_UTF8, 0, full, -1, out, (int)len, NULL, NULL) ? 0 : -1;
}

/* Wine names itself through an ntdll export that Windows does not have. */
static int under_wine(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

void wsph_plat_host_advice(void)
{
	WCHAR driver[32];
	DWORD size = sizeof driver;
	if (!under_wine() || getenv("DISPLAY") || getenv("WAYLAND_DISPLAY"))
		return;
	if (RegGetValueW(HKEY_CURRENT_USER, L"Software\\Wine\\Drivers", L"Graphics", RRF_RT_REG_SZ,
			 NULL, driver, &size) == ERROR_SUCCESS &&
	    !_wcsicmp(driver, L"null"))
		return;
	fprintf(stderr, "wspharness: warning: Wine has no display here and its graphics driver is not "
			"'null', so a provider cannot create a window (many LSPs make a hidden one for "
			"WSPAsyncSelect); run tools/wine-prefix.sh once for this prefix, or: wine reg add "
			"'HKCU\\Software\\Wine\\Drivers' /v Graphics /d null /f\n");
}

int wsph_plat_leak_checked(void)
{
	return 0;
}
