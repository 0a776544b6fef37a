/* Windows implementation of the platform interface: time, threads, locks, events, files. */
#include "../platform.h"

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
		return WSPH_FILE_FIFO;
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

const char *wsph_plat_file_kind_name(enum wsph_file_kind kind)
{
	static const char *const names[] = {
		[WSPH_FILE_MISSING] = "nothing",
		[WSPH_FILE_REGULAR] = "a regular file",
		[WSPH_FILE_DIR] = "a folder",
		[WSPH_FILE_FIFO] = "a pipe",
		[WSPH_FILE_SOCKET] = "a socket",
		[WSPH_FILE_CHAR_DEVICE] = "a character device",
		[WSPH_FILE_BLOCK_DEVICE] = "a block device",
		[WSPH_FILE_OTHER] = "a file of another kind",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
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

/* Reads the open descriptor to its end, at most max bytes. */
static enum wsph_read_status read_fd(int fd, size_t max, char **data, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int got;

	do {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);
			if (!nb) {
				free(buf);
				return WSPH_READ_NO_MEMORY;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		got = _read(fd, buf + n, (unsigned)(cap - n - 1));
		if (got > 0)
			n += (size_t)got;
	} while (got > 0 && n <= max);
	if (got != 0) {
		free(buf);
		return got < 0 ? WSPH_READ_FAILED : WSPH_READ_TOO_LARGE;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return WSPH_READ_OK;
}

/* Examined first (a device is never opened for reading), then opened and checked again on the
 * handle: only FILE_TYPE_DISK is read. */
enum wsph_read_status wsph_plat_read_regular(const char *path, size_t max, char **data,
					     size_t *len, enum wsph_file_kind *kind, char *err,
					     size_t errlen)
{
	enum wsph_read_status rc;
	wchar_t *w;
	int fd;

	*data = NULL;
	*len = 0;
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
	rc = *kind == WSPH_FILE_REGULAR ? read_fd(fd, max, data, len) : WSPH_READ_NOT_REGULAR;
	_close(fd);
	return rc;
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

static volatile int *interrupt_flag;

static BOOL WINAPI on_console(DWORD type)
{
	(void)type;
	if (interrupt_flag)
		*interrupt_flag = 1;
	return TRUE;
}

static void on_signal(int sig)
{
	(void)sig;
	if (interrupt_flag)
		*interrupt_flag = 1;
	signal(SIGTERM, on_signal);
}

void wsph_plat_catch_interrupts(volatile int *flag)
{
	interrupt_flag = flag;
	SetConsoleCtrlHandler(on_console, TRUE);
	signal(SIGTERM, on_signal);
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
