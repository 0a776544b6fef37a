/* Windows implementation of the platform interface: time, threads, locks, events, files. */
#include "../platform.h"
#include "user32.h"

#include <windows.h>
#include <signal.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
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

/* s as a malloc'd wide string, or NULL. */
static wchar_t *widen_alloc(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
	if (w && MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n) <= 0) {
		free(w);
		w = NULL;
	}
	return w;
}

int wsph_plat_list_dir(const char *dir, void (*fn)(void *ctx, const char *name, int is_dir),
		       void *ctx)
{
	size_t dl = strlen(dir);
	char *pattern = malloc(dl + 3);
	if (!pattern)
		return -1;
	memcpy(pattern, dir, dl);
	memcpy(pattern + dl, "\\*", 3);
	wchar_t *w = widen_alloc(pattern);
	free(pattern);
	if (!w)
		return -1;
	WIN32_FIND_DATAW fd;
	HANDLE h = FindFirstFileW(w, &fd);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	do {
		char name[MAX_PATH * 4]; /* cFileName holds at most MAX_PATH UTF-16 units */
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

/* Opens path without access rights (nothing is read, nothing waits), links followed. */
static HANDLE open_no_access(const char *path)
{
	wchar_t *w = widen_alloc(path);
	HANDLE h = INVALID_HANDLE_VALUE;
	if (w)
		h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
				OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	return h;
}

static enum wsph_file_kind kind_of_type(DWORD type)
{
	switch (type) {
	case FILE_TYPE_DISK:
		return WSPH_FILE_REGULAR;
	case FILE_TYPE_CHAR:
		return WSPH_FILE_CHAR_DEVICE;
	case FILE_TYPE_PIPE:
		return WSPH_FILE_PIPE;
	default:
		return WSPH_FILE_OTHER;
	}
}

enum wsph_file_kind wsph_plat_file_kind(const char *path)
{
	DWORD a = attrs(path);
	if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY))
		return WSPH_FILE_DIR;
	HANDLE h = open_no_access(path);
	if (h == INVALID_HANDLE_VALUE)
		return a != INVALID_FILE_ATTRIBUTES ? WSPH_FILE_OTHER : WSPH_FILE_MISSING;
	enum wsph_file_kind k = kind_of_type(GetFileType(h));
	CloseHandle(h);
	return k;
}

int wsph_plat_dir_identity(const char *path, uint64_t id[2])
{
	BY_HANDLE_FILE_INFORMATION info;
	HANDLE h = open_no_access(path);
	if (h == INVALID_HANDLE_VALUE)
		return -1;
	int ok = GetFileInformationByHandle(h, &info) &&
		 (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY);
	CloseHandle(h);
	if (!ok)
		return -1;
	id[0] = info.dwVolumeSerialNumber;
	id[1] = ((uint64_t)info.nFileIndexHigh << 32) | info.nFileIndexLow;
	return 0;
}

/* Examined first (a device is never opened for reading), then opened and checked again on the
 * handle: only FILE_TYPE_DISK is read. */
enum wsph_read_status wsph_plat_open_regular(const char *path, FILE **f,
					     enum wsph_file_kind *kind, char *err, size_t errlen)
{
	wchar_t *w;
	int fd;

	*f = NULL;
	*kind = wsph_plat_file_kind(path);
	if (*kind != WSPH_FILE_REGULAR && *kind != WSPH_FILE_MISSING)
		return WSPH_READ_NOT_REGULAR;
	if (!(w = widen_alloc(path)))
		return WSPH_READ_NO_MEMORY;
	errno = 0;
	fd = _wopen(w, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
	free(w);
	if (fd < 0) {
		snprintf(err, errlen, "%s", errno ? strerror(errno) : "unknown error");
		return WSPH_READ_CANNOT_OPEN;
	}
	*kind = kind_of_type(GetFileType((HANDLE)_get_osfhandle(fd)));
	if (*kind != WSPH_FILE_REGULAR) {
		_close(fd);
		return WSPH_READ_NOT_REGULAR;
	}
	if (!(*f = _fdopen(fd, "rb"))) {
		_close(fd);
		return WSPH_READ_NO_MEMORY;
	}
	return WSPH_READ_OK;
}

/* errno for a Win32 error, so that every failure is said the same way (strerror). */
static int set_errno(DWORD err)
{
	static const struct {
		DWORD win;
		int posix;
	} map[] = {
		{ERROR_FILE_NOT_FOUND, ENOENT},
		{ERROR_PATH_NOT_FOUND, ENOENT},
		{ERROR_ACCESS_DENIED, EACCES},
		{ERROR_SHARING_VIOLATION, EACCES},
		{ERROR_LOCK_VIOLATION, EACCES},
		{ERROR_WRITE_PROTECT, EROFS},
		{ERROR_DISK_FULL, ENOSPC},
		{ERROR_HANDLE_DISK_FULL, ENOSPC},
		{ERROR_FILE_EXISTS, EEXIST},
		{ERROR_ALREADY_EXISTS, EEXIST},
		{ERROR_FILENAME_EXCED_RANGE, ENAMETOOLONG},
		{ERROR_INVALID_NAME, EINVAL},
		{ERROR_DIRECTORY, ENOTDIR},
		{ERROR_NOT_ENOUGH_MEMORY, ENOMEM},
	};
	errno = EIO;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].win == err)
			errno = map[i].posix;
	return -1;
}

static int widen_path(const char *s, wchar_t *out, int n)
{
	if (widen(s, out, n) == 0)
		return 0;
	errno = ENAMETOOLONG;
	return -1;
}

/* An existing path that is no disk file (NUL, CON, a pipe), opened for writing; else none. */
static HANDLE open_device(const wchar_t *w)
{
	HANDLE h = CreateFileW(w, GENERIC_WRITE,
			       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, 0, NULL);
	if (h != INVALID_HANDLE_VALUE && GetFileType(h) == FILE_TYPE_DISK) {
		CloseHandle(h);
		h = INVALID_HANDLE_VALUE;
	}
	return h;
}

/* The file a report at w replaces: the final path of an existing file (through a symbolic
 * link), else w itself. */
static void file_to_replace(const wchar_t *w, wchar_t *dst, DWORD n)
{
	HANDLE h = CreateFileW(w, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			       OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	DWORD got = 0;

	if (h != INVALID_HANDLE_VALUE) {
		got = GetFinalPathNameByHandleW(h, dst, n, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
		CloseHandle(h);
	}
	if (!got || got >= n)
		wcscpy(dst, w);
}

/* Creates ".NAME.PID-COUNTER-RANDOM" next to dst; CREATE_NEW never opens what exists. */
static HANDLE create_unique(const wchar_t *dst, wchar_t *tmp, size_t n)
{
	static LONG counter;
	const wchar_t *base = dst;
	LARGE_INTEGER qpc;

	for (const wchar_t *p = dst; *p; p++)
		if (*p == L'\\' || *p == L'/')
			base = p + 1;
	for (int tries = 0; tries < 100; tries++) {
		QueryPerformanceCounter(&qpc);
		int k = _snwprintf(tmp, n, L"%.*ls.%ls.%lx-%lx-%llx", (int)(base - dst), dst, base,
				   GetCurrentProcessId(), (unsigned long)InterlockedIncrement(&counter),
				   (unsigned long long)qpc.QuadPart * 0x9e3779b97f4a7c15ull >> 24);
		if (k < 0 || (size_t)k >= n) {
			errno = ENAMETOOLONG;
			return INVALID_HANDLE_VALUE;
		}
		HANDLE h = CreateFileW(tmp, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
				       CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
		DWORD err = GetLastError();
		if (h != INVALID_HANDLE_VALUE)
			return h;
		if (err != ERROR_FILE_EXISTS && err != ERROR_ALREADY_EXISTS) {
			set_errno(err);
			break;
		}
	}
	return INVALID_HANDLE_VALUE;
}

static int narrow(const wchar_t *w, char *out, size_t len)
{
	if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)len, NULL, NULL) > 0)
		return 0;
	errno = ENAMETOOLONG;
	return -1;
}

/* The stream over h; h is closed (and tmp removed) when there is none. */
static FILE *stream_of(HANDLE h, const wchar_t *tmp)
{
	int fd = _open_osfhandle((intptr_t)h, _O_WRONLY | _O_BINARY);
	FILE *f = fd >= 0 ? _fdopen(fd, "wb") : NULL;

	if (!f) {
		int e = errno;
		if (fd >= 0)
			_close(fd);
		else
			CloseHandle(h);
		if (tmp[0])
			DeleteFileW(tmp);
		errno = e;
	}
	return f;
}

FILE *wsph_plat_out_open(const char *path, char *tmp, char *dst, size_t len)
{
	wchar_t w[MAX_PATH * 4], wdst[MAX_PATH * 4], wtmp[MAX_PATH * 4];
	HANDLE h;

	tmp[0] = '\0';
	wtmp[0] = L'\0';
	if (widen_path(path, w, MAX_PATH * 4) != 0 || narrow(w, dst, len) != 0)
		return NULL;
	if (wsph_plat_is_dir(path)) {
		errno = EISDIR;
		return NULL;
	}
	h = open_device(w);
	if (h == INVALID_HANDLE_VALUE) {
		file_to_replace(w, wdst, MAX_PATH * 4);
		h = create_unique(wdst, wtmp, MAX_PATH * 4);
		if (h == INVALID_HANDLE_VALUE)
			return NULL;
		if (narrow(wdst, dst, len) != 0 || narrow(wtmp, tmp, len) != 0) {
			CloseHandle(h);
			DeleteFileW(wtmp);
			return NULL;
		}
	}
	return stream_of(h, wtmp);
}

int wsph_plat_replace_file(const char *src, const char *dst)
{
	wchar_t ws[MAX_PATH * 4], wd[MAX_PATH * 4];
	if (widen_path(src, ws, MAX_PATH * 4) || widen_path(dst, wd, MAX_PATH * 4))
		return -1;
	/* Another run replacing the same file, or a reader without FILE_SHARE_DELETE, holds it
	 * for a moment: try again a few times before giving up. */
	for (int tries = 0;; tries++) {
		if (MoveFileExW(ws, wd, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
			return 0;
		DWORD err = GetLastError();
		if (tries == 20 || (err != ERROR_ACCESS_DENIED && err != ERROR_SHARING_VIOLATION))
			return set_errno(err);
		Sleep(50);
	}
}

int wsph_plat_remove_file(const char *path)
{
	wchar_t w[MAX_PATH * 4];
	if (widen_path(path, w, MAX_PATH * 4))
		return -1;
	return DeleteFileW(w) ? 0 : set_errno(GetLastError());
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

/* Creates one directory of a path being made; an existing one is fine. */
static int make_dir(const char *dir)
{
	wchar_t w[MAX_PATH * 4];
	if (widen_path(dir, w, MAX_PATH * 4) != 0)
		return -1;
	if (CreateDirectoryW(w, NULL) || GetLastError() == ERROR_ALREADY_EXISTS)
		return 0;
	return set_errno(GetLastError());
}

int wsph_plat_mkdirs(const char *path)
{
	char tmp[MAX_PATH * 4];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *last = NULL;
	for (char *p = tmp; *p; p++)
		if (*p == '/' || *p == '\\')
			last = p;
	if (!last)
		return 0;
	*last = '\0';
	int rc = 0;
	for (char *p = tmp;; p++) {
		if (*p == '/' || *p == '\\' || *p == '\0') {
			char c = *p;
			*p = '\0';
			/* the last directory's failure is the one that counts (is_dir below) */
			if (tmp[0] && !(p == tmp + 2 && tmp[1] == ':'))
				rc = make_dir(tmp);
			*p = c;
			if (!c)
				break;
		}
	}
	if (wsph_plat_is_dir(tmp))
		return 0;
	if (rc == 0)
		errno = ENOTDIR;
	return -1;
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
	const struct wsph_user32 *u = wsph_win32_user32();
	if (!u) {
		SetLastError(ERROR_INVALID_WINDOW_HANDLE); /* no user32: no window either */
		return 0;
	}
	return wide ? u->post_message_w((HWND)hwnd, msg, wparam, lparam)
		    : u->post_message_a((HWND)hwnd, msg, wparam, lparam);
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

int wsph_plat_stdout_errno(void)
{
	return 0; /* the write's own error is what there is */
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
