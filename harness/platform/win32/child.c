/* Windows isolation: this program again, as `PROGRAM --child CHANNEL argv[1..]`, running scenarios
 * one after another. CHANNEL names two named pipes the parent made for this child alone: one
 * carries commands to it, the other its frames back; the child opens both itself, not inheritable,
 * so nothing the provider starts holds them. The child's stdin is NUL, its stdout and stderr (the
 * provider's own output) a third pipe. Each child is in a job object of its own that kills its
 * processes when the parent's handle closes: the child dies with the parent, and what a provider
 * started ends with its child. */
#include "../platform.h"
#include "errtext.h"

#include <windows.h>
#include <winternl.h>
#include <tlhelp32.h>
#include <process.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define KILLED_MARKER 0xC0000102u /* the exit code of a child the parent killed */

/* Quotes one argument the way CommandLineToArgvW splits it back. Returns -1 when it does not fit. */
static int quote(wchar_t *out, size_t cap, size_t *pos, const wchar_t *arg)
{
	if (*pos + 2 >= cap)
		return -1;
	out[(*pos)++] = L'"';
	for (const wchar_t *p = arg;; p++) {
		size_t bs = 0;
		while (*p == L'\\') {
			p++;
			bs++;
		}
		size_t times = !*p ? bs * 2 : *p == L'"' ? bs * 2 + 1 : bs;
		for (size_t i = 0; i < times; i++) {
			if (*pos + 1 >= cap)
				return -1;
			out[(*pos)++] = L'\\';
		}
		if (!*p)
			break;
		if (*pos + 1 >= cap)
			return -1;
		out[(*pos)++] = *p;
	}
	if (*pos + 3 >= cap)
		return -1;
	out[(*pos)++] = L'"';
	out[(*pos)++] = L' ';
	out[*pos] = 0;
	return 0;
}

static void ascii_widen(const char *s, wchar_t *out, size_t cap)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = (wchar_t)(unsigned char)s[i];
	out[i] = 0;
}

/* "The system cannot find the file specified (2)": the system's text for code, its %1 the
 * program (exe) or the thing that failed. */
static void sys_reason(DWORD code, const wchar_t *insert, char *out, size_t cap)
{
	char text[1024], ins[MAX_PATH * 4];
	if (!insert || !insert[0] ||
	    !WideCharToMultiByte(CP_UTF8, 0, insert, -1, ins, (int)sizeof ins, NULL, NULL))
		snprintf(ins, sizeof ins, "?");
	wsph_win32_error_text(code, ins, text, sizeof text);
	if (cap)
		snprintf(out, cap, "%s (%lu)", text[0] ? text : "system error", (unsigned long)code);
}

/* Names of one child's channel and job: "wspharness-<token>-cmd" and so on. The token is the
 * parent's pid, a serial and a clock value. */
static int token_valid(const char *t)
{
	size_t n = 0;
	for (; t[n]; n++)
		if (!((t[n] >= '0' && t[n] <= '9') || (t[n] >= 'a' && t[n] <= 'f') || t[n] == '-'))
			return 0;
	return n > 0 && n < 48;
}

static void channel_name(const char *token, const char *what, wchar_t *out, size_t cap)
{
	char a[128];
	snprintf(a, sizeof a, "\\\\.\\pipe\\wspharness-%s-%s", token, what);
	ascii_widen(a, out, cap);
}

static void job_name(const char *token, wchar_t *out, size_t cap)
{
	char a[128];
	snprintf(a, sizeof a, "Local\\wspharness-%s-job", token);
	ascii_widen(a, out, cap);
}

/* One pipe the parent reads, with an overlapped read always under way so that its event can be
 * waited for. The channel's first waits for the child to connect. */
struct reader {
	HANDLE h;
	OVERLAPPED ov;
	int connecting; /* ConnectNamedPipe under way on ov */
	int pending;	/* a read under way (or done and not yet collected) */
	int eof;
	int eof_told; /* the caller has read -1: a closed pipe wakes child_wait no more */
	char buf[65536];
};

struct wsph_child {
	HANDLE proc;
	HANDLE job;	 /* NULL when the child could not be put in one */
	HANDLE cmd;	 /* the server end of the command pipe (we write) */
	OVERLAPPED conn; /* its ConnectNamedPipe */
	HANDLE wev;	 /* the event of writes on cmd */
	int cmd_state;	 /* 0 connecting, 1 connected, -1 gone */
	int end_told;	 /* child_ended said 1: the end wakes child_wait no more */
	char *queue;	 /* commands sent before the child connected */
	size_t qlen, qcap;
	struct reader chan, out;
};

static void reader_start(struct reader *r)
{
	r->pending = 0;
	if (ReadFile(r->h, r->buf, sizeof r->buf, NULL, &r->ov) || GetLastError() == ERROR_IO_PENDING)
		r->pending = 1;
	else
		r->eof = 1;
}

static void reader_close(struct reader *r)
{
	if (r->h != INVALID_HANDLE_VALUE) {
		if ((r->pending && !r->eof) || r->connecting) {
			DWORD n;
			CancelIoEx(r->h, &r->ov);
			GetOverlappedResult(r->h, &r->ov, &n, TRUE);
		}
		CloseHandle(r->h);
	}
	if (r->ov.hEvent)
		CloseHandle(r->ov.hEvent);
}

static int proc_ended(const struct wsph_child *ch)
{
	return WaitForSingleObject(ch->proc, 0) == WAIT_OBJECT_0;
}

/* Starts an overlapped ConnectNamedPipe: 1 connected already, 0 under way, -1 failed. */
static int connect_start(HANDLE h, OVERLAPPED *ov)
{
	if (ConnectNamedPipe(h, ov))
		return 1;
	DWORD e = GetLastError();
	return e == ERROR_IO_PENDING ? 0 : e == ERROR_PIPE_CONNECTED ? 1 : -1;
}

/* Has the connection of ov completed? 1 yes (connected or not: the reads and writes that follow
 * say), 0 not yet, -1 never (the child ended without connecting). The child connects before it
 * can end, so a connection still missing after its end is never coming. */
static int connect_poll(const struct wsph_child *ch, HANDLE h, OVERLAPPED *ov)
{
	if (HasOverlappedIoCompleted(ov))
		return 1;
	if (!proc_ended(ch) || HasOverlappedIoCompleted(ov))
		return 0;
	DWORD n;
	CancelIoEx(h, ov);
	GetOverlappedResult(h, ov, &n, TRUE);
	return -1;
}

/* Moves the channel reader on from its connection: 1 when it is reading (or closed). */
static int chan_connected(struct wsph_child *ch)
{
	struct reader *r = &ch->chan;
	if (!r->connecting)
		return 1;
	int c = connect_poll(ch, r->h, &r->ov);
	if (!c)
		return 0;
	r->connecting = 0;
	if (c < 0)
		r->eof = 1;
	else
		reader_start(r);
	return 1;
}

static int reader_ready(const struct reader *r)
{
	if (r->connecting)
		return 0;
	return r->eof ? !r->eof_told : !r->pending || HasOverlappedIoCompleted(&r->ov);
}

static long reader_read(struct reader *r, char *buf, size_t len)
{
	for (;;) {
		if (r->eof) {
			r->eof_told = 1;
			return -1;
		}
		if (!r->pending) {
			reader_start(r);
			continue;
		}
		DWORD n = 0;
		if (!GetOverlappedResult(r->h, &r->ov, &n, FALSE)) {
			DWORD e = GetLastError();
			if (e == ERROR_IO_INCOMPLETE)
				return 0;
			if (e != ERROR_MORE_DATA) {
				r->pending = 0;
				r->eof = r->eof_told = 1;
				return -1;
			}
		}
		r->pending = 0;
		if (n > len)
			n = (DWORD)len; /* len >= 65536 = sizeof r->buf by contract */
		memcpy(buf, r->buf, n);
		reader_start(r);
		if (n)
			return (long)n;
	}
}

/* Writes all of buf on the command pipe, waiting while it is full. */
static int cmd_write(struct wsph_child *ch, const char *buf, size_t len)
{
	while (len) {
		OVERLAPPED ov;
		DWORD n = 0, chunk = len > 65536 ? 65536 : (DWORD)len;
		memset(&ov, 0, sizeof ov);
		ov.hEvent = ch->wev;
		if (!WriteFile(ch->cmd, buf, chunk, NULL, &ov) && GetLastError() != ERROR_IO_PENDING)
			return -1;
		if (!GetOverlappedResult(ch->cmd, &ov, &n, TRUE) || !n)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* The command pipe's state, writing what was held for it once the child has connected: a write
 * on a server pipe before then fails (ERROR_PIPE_LISTENING) and would lose the command. */
static int cmd_poll(struct wsph_child *ch)
{
	if (ch->cmd_state)
		return ch->cmd_state;
	int c = connect_poll(ch, ch->cmd, &ch->conn);
	if (!c)
		return 0;
	ch->cmd_state = c > 0 ? 1 : -1;
	if (c > 0 && ch->qlen && cmd_write(ch, ch->queue, ch->qlen) != 0)
		ch->cmd_state = -1;
	free(ch->queue);
	ch->queue = NULL;
	ch->qlen = ch->qcap = 0;
	return ch->cmd_state;
}

static void child_free(struct wsph_child *ch)
{
	if (ch->cmd != INVALID_HANDLE_VALUE) {
		if (ch->cmd_state == 0 && ch->conn.hEvent) {
			DWORD n;
			CancelIoEx(ch->cmd, &ch->conn);
			GetOverlappedResult(ch->cmd, &ch->conn, &n, TRUE);
		}
		CloseHandle(ch->cmd);
	}
	if (ch->conn.hEvent)
		CloseHandle(ch->conn.hEvent);
	if (ch->wev)
		CloseHandle(ch->wev);
	reader_close(&ch->chan);
	reader_close(&ch->out);
	if (ch->proc)
		CloseHandle(ch->proc);
	if (ch->job)
		CloseHandle(ch->job);
	free(ch->queue);
	free(ch);
}

static HANDLE server_pipe(const wchar_t *name, DWORD dir)
{
	return CreateNamedPipeW(name, dir | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
				PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
					PIPE_REJECT_REMOTE_CLIENTS,
				1, 65536, 65536, 0, NULL);
}

static int job_warned;

/* The child's console: a hidden one of its own (CREATE_NO_WINDOW), so that a console program
 * the provider starts shares it instead of opening a window. Under Wine a console's host is a
 * process started with it that the child waits for (a child started and ended in 0.13 s instead
 * of 0.05 s, for every child of a run) and it has no window to show: no console there
 * (DETACHED_PROCESS). Wine names itself through an ntdll export that Windows does not have. */
static DWORD console_flag(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	return ntdll && GetProcAddress(ntdll, "wine_get_version") ? DETACHED_PROCESS
								  : CREATE_NO_WINDOW;
}

/* The error of the call that failed (a generic one when it set none), named in *failed. */
static DWORD failure(const char *call, const char **failed)
{
	DWORD e = GetLastError();
	*failed = call;
	return e ? e : ERROR_GEN_FAILURE;
}

/* The child's channels: the command pipe and the event channel (their connections under way
 * before the child exists, so none can be missed) and the provider's output, a named pipe too,
 * so that it can be read overlapped (*out_w: its inheritable write end; *nul: the child's stdin).
 * 0, or the system error with the call in *failed. */
static DWORD open_channels(struct wsph_child *ch, const char *token, HANDLE *out_w, HANDLE *nul,
			   const char **failed)
{
	SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
	wchar_t name[128];
	int c;

	if (!(ch->conn.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)) ||
	    !(ch->wev = CreateEventW(NULL, TRUE, FALSE, NULL)) ||
	    !(ch->chan.ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)) ||
	    !(ch->out.ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)))
		return failure("CreateEvent", failed);
	channel_name(token, "cmd", name, 128);
	if ((ch->cmd = server_pipe(name, PIPE_ACCESS_OUTBOUND)) == INVALID_HANDLE_VALUE)
		return failure("CreateNamedPipe", failed);
	channel_name(token, "ev", name, 128);
	if ((ch->chan.h = server_pipe(name, PIPE_ACCESS_INBOUND)) == INVALID_HANDLE_VALUE)
		return failure("CreateNamedPipe", failed);
	if ((c = connect_start(ch->cmd, &ch->conn)) < 0)
		return failure("ConnectNamedPipe", failed);
	ch->cmd_state = c;
	if ((c = connect_start(ch->chan.h, &ch->chan.ov)) < 0)
		return failure("ConnectNamedPipe", failed);
	ch->chan.connecting = !c;
	channel_name(token, "out", name, 128);
	if ((ch->out.h = server_pipe(name, PIPE_ACCESS_INBOUND)) == INVALID_HANDLE_VALUE)
		return failure("CreateNamedPipe", failed);
	*out_w = CreateFileW(name, GENERIC_WRITE, 0, &inherit, OPEN_EXISTING, 0, NULL);
	if (*out_w == INVALID_HANDLE_VALUE)
		return failure("CreateFile", failed);
	*nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
			   OPEN_EXISTING, 0, NULL);
	if (*nul == INVALID_HANDLE_VALUE)
		return failure("CreateFile(NUL)", failed);
	return 0;
}

/* The job that ends what the child starts when the parent closes it. 0, or the system error. */
static DWORD make_job(struct wsph_child *ch, const char *token, const char **failed)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
	wchar_t name[128];

	job_name(token, name, 128);
	if (!(ch->job = CreateJobObjectW(NULL, name)))
		return failure("CreateJobObject", failed);
	memset(&lim, 0, sizeof lim);
	lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
	if (!SetInformationJobObject(ch->job, JobObjectExtendedLimitInformation, &lim, sizeof lim))
		return failure("SetInformationJobObject", failed);
	return 0;
}

/* "EXE" --child TOKEN ARGS, malloc'd; NULL with *e set when it does not fit or memory is short. */
static wchar_t *child_cmdline(const wchar_t *exe, const char *token, const wchar_t *args, DWORD *e)
{
	size_t cap = 32768, pos = 0;
	wchar_t wtoken[64], *cmdline = calloc(cap, sizeof *cmdline);

	if (!cmdline) {
		*e = ERROR_NOT_ENOUGH_MEMORY;
		return NULL;
	}
	ascii_widen(token, wtoken, 64);
	if (quote(cmdline, cap, &pos, exe) || quote(cmdline, cap, &pos, L"--child") ||
	    quote(cmdline, cap, &pos, wtoken) || wcslen(args) + pos + 1 > cap) {
		free(cmdline);
		*e = ERROR_FILENAME_EXCED_RANGE;
		return NULL;
	}
	memcpy(cmdline + pos, args, (wcslen(args) + 1) * sizeof *args);
	return cmdline;
}

/* An attribute list that lets the child inherit the n handles of inh and no others; NULL when the
 * system cannot make one. */
static LPPROC_THREAD_ATTRIBUTE_LIST handle_list(HANDLE *inh, size_t n)
{
	LPPROC_THREAD_ATTRIBUTE_LIST attrs;
	SIZE_T asz = 0;

	InitializeProcThreadAttributeList(NULL, 1, 0, &asz);
	if (!asz || !(attrs = malloc(asz)))
		return NULL;
	if (!InitializeProcThreadAttributeList(attrs, 1, 0, &asz)) {
		free(attrs);
		return NULL;
	}
	if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inh,
				       n * sizeof *inh, NULL, NULL)) {
		DeleteProcThreadAttributeList(attrs);
		free(attrs);
		return NULL;
	}
	return attrs;
}

/* The child, suspended, with nul as stdin and out_w as stdout and stderr. Only these two are
 * inherited, whatever other inheritable handles this process has (another child's, being
 * started on another thread). */
static BOOL create_child(const wchar_t *exe, wchar_t *cmdline, HANDLE nul, HANDLE out_w,
			 PROCESS_INFORMATION *pi)
{
	STARTUPINFOEXW si;
	HANDLE inh[2] = {nul, out_w};
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = handle_list(inh, 2);
	DWORD flags = CREATE_SUSPENDED | console_flag();
	BOOL ok;

	memset(&si, 0, sizeof si);
	si.StartupInfo.cb = sizeof si.StartupInfo;
	si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	si.StartupInfo.hStdInput = nul;
	si.StartupInfo.hStdOutput = out_w;
	si.StartupInfo.hStdError = out_w;
	if (attrs) {
		si.StartupInfo.cb = sizeof si;
		si.lpAttributeList = attrs;
		flags |= EXTENDED_STARTUPINFO_PRESENT;
	}
	ok = CreateProcessW(exe, cmdline, NULL, NULL, TRUE, flags, NULL, NULL, &si.StartupInfo, pi);
	if (!ok && attrs && GetLastError() == ERROR_INVALID_PARAMETER) {
		/* a system without handle lists: plain inheritance of the inheritable handles */
		si.StartupInfo.cb = sizeof si.StartupInfo;
		ok = CreateProcessW(exe, cmdline, NULL, NULL, TRUE, flags & ~(DWORD)EXTENDED_STARTUPINFO_PRESENT,
				    NULL, NULL, &si.StartupInfo, pi);
	}
	if (attrs) {
		DWORD e = GetLastError(); /* CreateProcess's, for the caller */
		DeleteProcThreadAttributeList(attrs);
		free(attrs);
		SetLastError(e);
	}
	return ok;
}

/* The child into the job; an old system's job that cannot nest: the child runs, what it starts
 * may outlive it (said once). */
static void join_job(struct wsph_child *ch, HANDLE proc)
{
	if (AssignProcessToJobObject(ch->job, proc))
		return;
	if (!job_warned) {
		char why[600];
		sys_reason(GetLastError(), L"the child process", why, sizeof why);
		fprintf(stderr,
			"wspharness: the child processes run without a job object (%s): what a "
			"provider starts may outlive its child\n",
			why);
		job_warned = 1;
	}
	CloseHandle(ch->job);
	ch->job = NULL;
}

/* The started child, in its job and running. 0, or the error of ResumeThread (the child
 * killed). */
static DWORD run_child(struct wsph_child *ch, PROCESS_INFORMATION *pi, const char **failed)
{
	DWORD e = 0;

	ch->proc = pi->hProcess;
	join_job(ch, pi->hProcess);
	if (ResumeThread(pi->hThread) == (DWORD)-1) {
		e = GetLastError();
		*failed = "ResumeThread";
		TerminateProcess(pi->hProcess, KILLED_MARKER);
	}
	CloseHandle(pi->hThread);
	return e;
}

/* One attempt. 0 and *res, or the system error. */
static DWORD start_once(const wchar_t *exe, const wchar_t *args, struct wsph_child **res,
			const char **failed)
{
	static volatile LONG serial;
	struct wsph_child *ch = calloc(1, sizeof *ch);
	if (!ch)
		return ERROR_NOT_ENOUGH_MEMORY;
	ch->cmd = ch->chan.h = ch->out.h = INVALID_HANDLE_VALUE;
	HANDLE out_w = INVALID_HANDLE_VALUE, nul = INVALID_HANDLE_VALUE;
	wchar_t *cmdline = NULL;
	PROCESS_INFORMATION pi;
	char token[64];
	snprintf(token, sizeof token, "%lx-%lx-%lx", (unsigned long)GetCurrentProcessId(),
		 (unsigned long)InterlockedIncrement(&serial), (unsigned long)(GetTickCount() & 0xFFFFFF));

	DWORD e = open_channels(ch, token, &out_w, &nul, failed);
	if (!e)
		e = make_job(ch, token, failed);
	if (!e)
		cmdline = child_cmdline(exe, token, args, &e);
	if (!e && !create_child(exe, cmdline, nul, out_w, &pi))
		e = failure("CreateProcess", failed);
	if (!e)
		e = run_child(ch, &pi, failed);
	if (out_w != INVALID_HANDLE_VALUE)
		CloseHandle(out_w);
	if (nul != INVALID_HANDLE_VALUE)
		CloseHandle(nul);
	free(cmdline);
	if (!e) {
		reader_start(&ch->out);
		if (!ch->chan.connecting)
			reader_start(&ch->chan);
		*res = ch;
		return 0;
	}
	if (ch->proc)
		WaitForSingleObject(ch->proc, INFINITE);
	child_free(ch); /* cancels the connections under way */
	return e;
}

/* Failures that say the system is short of something for now. */
static int transient(DWORD e)
{
	switch (e) {
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_NO_SYSTEM_RESOURCES:
	case ERROR_NONPAGED_SYSTEM_RESOURCES:
	case ERROR_PAGED_SYSTEM_RESOURCES:
	case ERROR_WORKING_SET_QUOTA:
	case ERROR_PAGEFILE_QUOTA:
	case ERROR_COMMITMENT_LIMIT:
	case ERROR_NOT_ENOUGH_QUOTA:
	case ERROR_TOO_MANY_OPEN_FILES:
	case ERROR_PIPE_BUSY:
	case ERROR_PIPE_NOT_CONNECTED:
	case ERROR_NO_DATA:
	case ERROR_INTERNAL_ERROR: /* seen under Wine on a loaded machine, once in a few hundred */
		return 1;
	default:
		return 0;
	}
}

struct wsph_child *wsph_plat_child_start(const struct wsph_child_spec *spec, char *err,
					 size_t errlen)
{
	static const DWORD backoff[] = {10, 50, 200, 500, 500};
	wchar_t exe[MAX_PATH * 4] = L"";
	char reason[700];
	wchar_t *args = NULL;
	size_t cap = 32768, pos = 0;
	DWORD e = 0;
	const char *failed = "";
	if (err && errlen)
		err[0] = 0;
	DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH * 4);
	if (!n || n >= MAX_PATH * 4) {
		e = n ? ERROR_FILENAME_EXCED_RANGE : GetLastError();
		goto fail;
	}
	if (!(args = calloc(cap, sizeof *args))) {
		e = ERROR_NOT_ENOUGH_MEMORY;
		goto fail;
	}
	for (int i = 1; i < spec->argc; i++) {
		int wn = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, spec->argv[i], -1, NULL, 0);
		wchar_t *w = wn > 0 ? malloc((size_t)wn * sizeof *w) : NULL;
		if (wn <= 0 || !w) {
			e = wn <= 0 ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
			free(w);
			goto fail;
		}
		MultiByteToWideChar(CP_UTF8, 0, spec->argv[i], -1, w, wn);
		int q = quote(args, cap, &pos, w);
		free(w);
		if (q) {
			e = ERROR_FILENAME_EXCED_RANGE; /* the command line is limited to 32767 */
			goto fail;
		}
	}
	for (size_t attempt = 0;; attempt++) {
		struct wsph_child *ch = NULL;
		e = start_once(exe, args, &ch, &failed);
		if (!e) {
			free(args);
			return ch;
		}
		if (!transient(e) || attempt >= sizeof backoff / sizeof backoff[0])
			break;
		sys_reason(e, exe, reason, sizeof reason);
		fprintf(stderr, "wspharness: starting a child process failed (%s: %s), retrying\n",
			failed, reason);
		Sleep(backoff[attempt]);
	}
fail:
	free(args);
	sys_reason(e ? e : ERROR_GEN_FAILURE, exe, reason, sizeof reason);
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", failed && *failed ? failed : "",
			 failed && *failed ? ": " : "", reason);
	return NULL;
}

int wsph_plat_child_send(struct wsph_child *ch, const char *text)
{
	size_t len = strlen(text);
	int st = cmd_poll(ch);
	if (st < 0)
		return -1;
	if (st > 0) {
		if (cmd_write(ch, text, len) == 0)
			return 0;
		ch->cmd_state = -1;
		return -1;
	}
	if (ch->qlen + len > ch->qcap) {
		size_t cap = ch->qcap ? ch->qcap : 256;
		while (cap < ch->qlen + len)
			cap *= 2;
		char *q = realloc(ch->queue, cap);
		if (!q)
			return -1;
		ch->queue = q;
		ch->qcap = cap;
	}
	memcpy(ch->queue + ch->qlen, text, len);
	ch->qlen += len;
	return 0;
}

/* Moves the child's pipes on (a connection made, commands held for it written) and says whether
 * it has something to say: bytes, or a closed pipe or its end that the caller has not yet been
 * told of (by a read of -1, by child_ended), so a caller that keeps a child whose output a
 * provider closed is not woken at once ever after. Its handles to wait for go to h (at most 4). */
static int child_ready(struct wsph_child *ch, HANDLE *h, DWORD *k)
{
	cmd_poll(ch);
	chan_connected(ch);
	if (reader_ready(&ch->chan) || reader_ready(&ch->out) || (!ch->end_told && proc_ended(ch)))
		return 1;
	if (!ch->chan.eof)
		h[(*k)++] = ch->chan.ov.hEvent; /* the connection, then the reads */
	if (!ch->out.eof)
		h[(*k)++] = ch->out.ov.hEvent;
	if (!ch->end_told)
		h[(*k)++] = ch->proc;
	if (ch->cmd_state == 0)
		h[(*k)++] = ch->conn.hEvent;
	return 0;
}

/* A wait takes at most 64 handles, 3 or 4 a child: up to 16 children are waited for at once.
 * Beyond that (the runner runs at most 64), the handles are waited for in turns of 5 ms, and
 * every child is looked at between turns. */
#define WAIT_HANDLES (4 * 64)
#define TURN_MS 5

int wsph_plat_child_wait(struct wsph_child *const *chs, size_t n, unsigned ms)
{
	ULONGLONG deadline = GetTickCount64() + ms;
	size_t turn = 0;
	for (;;) {
		HANDLE h[WAIT_HANDLES];
		DWORD k = 0;
		for (size_t i = 0; i < n; i++) {
			if (!chs[i])
				continue;
			HANDLE mine[4];
			DWORD m = 0;
			if (child_ready(chs[i], mine, &m))
				return 1;
			for (DWORD j = 0; j < m && k < WAIT_HANDLES; j++)
				h[k++] = mine[j];
		}
		ULONGLONG now = GetTickCount64();
		DWORD left = now >= deadline ? 0 : (DWORD)(deadline - now);
		if (!k) {
			Sleep(left);
			return 0;
		}
		if (k <= MAXIMUM_WAIT_OBJECTS) {
			DWORD r = WaitForMultipleObjects(k, h, FALSE, left);
			if (r >= WAIT_OBJECT_0 + k) /* the time is up (or the wait failed) */
				return 0;
			continue; /* something happened: child_ready says what */
		}
		DWORD chunks = (k + MAXIMUM_WAIT_OBJECTS - 1) / MAXIMUM_WAIT_OBJECTS;
		DWORD c = (DWORD)(turn++ % chunks), first = c * MAXIMUM_WAIT_OBJECTS;
		DWORD cnt = k - first < MAXIMUM_WAIT_OBJECTS ? k - first : MAXIMUM_WAIT_OBJECTS;
		DWORD r = WaitForMultipleObjects(cnt, h + first, FALSE, left < TURN_MS ? left : TURN_MS);
		if (r >= WAIT_OBJECT_0 + cnt && !left)
			return 0;
	}
}

long wsph_plat_child_read(struct wsph_child *ch, char *buf, size_t len)
{
	cmd_poll(ch);
	if (!chan_connected(ch))
		return 0;
	return reader_read(&ch->chan, buf, len);
}

long wsph_plat_child_read_output(struct wsph_child *ch, char *buf, size_t len)
{
	return reader_read(&ch->out, buf, len);
}

unsigned long wsph_plat_child_pid(const struct wsph_child *ch)
{
	return (unsigned long)GetProcessId(ch->proc);
}

int wsph_plat_child_ended(struct wsph_child *ch)
{
	if (!proc_ended(ch))
		return 0;
	ch->end_told = 1;
	return 1;
}

void wsph_plat_child_end(struct wsph_child *ch, int kill, unsigned wait_ms, enum wsph_child_end *end,
			 long *code)
{
	/* the end of its commands: a child waiting for one ends */
	if (ch->cmd_state == 0) {
		DWORD n;
		CancelIoEx(ch->cmd, &ch->conn);
		GetOverlappedResult(ch->cmd, &ch->conn, &n, TRUE);
		ch->cmd_state = -1;
	}
	CloseHandle(ch->cmd);
	ch->cmd = INVALID_HANDLE_VALUE;
	if (kill || WaitForSingleObject(ch->proc, wait_ms) != WAIT_OBJECT_0)
		TerminateProcess(ch->proc, KILLED_MARKER);
	WaitForSingleObject(ch->proc, INFINITE);
	DWORD c = 0;
	GetExitCodeProcess(ch->proc, &c);
	/* what the provider started and left running */
	if (ch->job)
		TerminateJobObject(ch->job, KILLED_MARKER);
	child_free(ch);
	*code = (long)c;
	*end = (c & 0xF0000000u) == 0xC0000000u || c == 0x40000015u ? WSPH_CHILD_SIGNALED
								     : WSPH_CHILD_EXITED;
}

/* Child side. The channel: the command pipe read by the main thread (blocking) and the frame pipe
 * written from any thread and from the crash handlers: two handles, so a write never waits for
 * the blocked read. Neither is inheritable. */
static HANDLE chan_in = INVALID_HANDLE_VALUE, chan_out = INVALID_HANDLE_VALUE;
static wchar_t own_job[96]; /* the job the parent made for this child (by name) */

static HANDLE open_pipe(const wchar_t *name, DWORD access)
{
	for (int tries = 0; tries < 50; tries++) {
		HANDLE h = CreateFileW(name, access, 0, NULL, OPEN_EXISTING, 0, NULL);
		if (h != INVALID_HANDLE_VALUE || GetLastError() != ERROR_PIPE_BUSY)
			return h;
		WaitNamedPipeW(name, 100);
	}
	return INVALID_HANDLE_VALUE;
}

int wsph_plat_channel_open(const char *token)
{
	wchar_t name[128];
	if (!token || !token_valid(token))
		return -1;
	/* the command pipe first: once the frame pipe is connected, the parent can write commands */
	channel_name(token, "cmd", name, 128);
	HANDLE in = open_pipe(name, GENERIC_READ);
	if (in == INVALID_HANDLE_VALUE)
		return -1;
	channel_name(token, "ev", name, 128);
	HANDLE out = open_pipe(name, GENERIC_WRITE);
	if (out == INVALID_HANDLE_VALUE) {
		CloseHandle(in);
		return -1;
	}
	chan_in = in;
	chan_out = out;
	job_name(token, own_job, sizeof own_job / sizeof own_job[0]);
	return 0;
}

long wsph_plat_channel_read(char *buf, size_t len)
{
	if (chan_in == INVALID_HANDLE_VALUE || !len)
		return -1;
	DWORD want = len > 0x40000000u ? 0x40000000u : (DWORD)len;
	for (;;) {
		DWORD n = 0;
		if (!ReadFile(chan_in, buf, want, &n, NULL))
			return -1; /* ERROR_BROKEN_PIPE: the parent closed it */
		if (n)
			return (long)n;
	}
}

/* Called from crash handlers and any thread: WriteFile only. */
int wsph_plat_channel_write(const void *buf, size_t len)
{
	const char *p = buf;
	if (chan_out == INVALID_HANDLE_VALUE)
		return -1;
	while (len) {
		DWORD n = 0, chunk = len > 0x10000u ? 0x10000u : (DWORD)len;
		if (!WriteFile(chan_out, p, chunk, &n, NULL) || !n)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* The processes this one should end: the others of its own job, or when it has none (an old
 * system's nesting limit) its descendants. */
struct proc_list {
	DWORD pid[1024];
	size_t n;
};

/* The job the parent made for this child, opened once (each query is a round trip to the Wine
 * server; the job stays the same); NULL when there is none. */
static HANDLE job_handle(void)
{
	static HANDLE job;
	static int opened;
	BOOL in = FALSE;
	if (opened || !own_job[0])
		return job;
	opened = 1;
	job = OpenJobObjectW(JOB_OBJECT_QUERY, FALSE, own_job);
	/* the job by that name must be this process's: never another job it may be nested in */
	if (job && (!IsProcessInJob(GetCurrentProcess(), job, &in) || !in)) {
		CloseHandle(job);
		job = NULL;
	}
	return job;
}

static int job_processes(struct proc_list *out)
{
	HANDLE job = job_handle();
	if (!job)
		return -1;
	size_t size = sizeof(JOBOBJECT_BASIC_PROCESS_ID_LIST) + 1024 * sizeof(ULONG_PTR);
	JOBOBJECT_BASIC_PROCESS_ID_LIST *list = malloc(size);
	int r = -1;
	if (list && QueryInformationJobObject(job, JobObjectBasicProcessIdList, list, (DWORD)size,
					      NULL)) {
		out->n = 0;
		for (DWORD i = 0; i < list->NumberOfProcessIdsInList && out->n < 1024; i++)
			if ((DWORD)list->ProcessIdList[i] != GetCurrentProcessId())
				out->pid[out->n++] = (DWORD)list->ProcessIdList[i];
		r = 0;
	}
	free(list);
	return r;
}

static ULONGLONG created_at(DWORD pid)
{
	FILETIME c, x, k, u;
	ULONGLONG t = 0;
	HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
	if (h && GetProcessTimes(h, &c, &x, &k, &u))
		t = ((ULONGLONG)c.dwHighDateTime << 32) | c.dwLowDateTime;
	if (h)
		CloseHandle(h);
	return t;
}

/* Descendants by parent process id, each created after its parent (ids are reused). */
static void descendants(struct proc_list *out)
{
	static DWORD pid[4096], parent[4096];
	size_t n = 0;
	PROCESSENTRY32W pe;
	out->n = 0;
	HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
	if (snap == INVALID_HANDLE_VALUE)
		return;
	pe.dwSize = sizeof pe;
	for (BOOL ok = Process32FirstW(snap, &pe); ok && n < 4096; ok = Process32NextW(snap, &pe)) {
		pid[n] = pe.th32ProcessID;
		parent[n++] = pe.th32ParentProcessID;
	}
	CloseHandle(snap);
	DWORD tree[1024];
	ULONGLONG born[1024];
	size_t t = 1;
	tree[0] = GetCurrentProcessId();
	born[0] = created_at(tree[0]);
	for (size_t i = 0; i < t && t < 1024; i++)
		for (size_t j = 0; j < n && t < 1024; j++) {
			if (parent[j] != tree[i] || pid[j] == tree[i])
				continue;
			size_t seen = 0;
			while (seen < t && tree[seen] != pid[j])
				seen++;
			ULONGLONG b = created_at(pid[j]);
			if (seen < t || !b || b < born[i])
				continue;
			born[t] = b;
			tree[t++] = pid[j];
		}
	for (size_t i = 1; i < t; i++)
		out->pid[out->n++] = tree[i];
}

/* The image's base name ("notepad.exe"), or "?". */
static void image_name(HANDLE h, char *base, size_t len)
{
	wchar_t path[MAX_PATH * 2];
	DWORD n = MAX_PATH * 2;
	snprintf(base, len, "?");
	if (QueryFullProcessImageNameW(h, 0, path, &n)) {
		const wchar_t *b = path;
		for (const wchar_t *p = path; *p; p++)
			if (*p == L'\\' || *p == L'/')
				b = p + 1;
		if (!WideCharToMultiByte(CP_UTF8, 0, b, -1, base, (int)len, NULL, NULL))
			snprintf(base, len, "?");
	}
}

/* Whether the process is the desktop the window station starts with the first window a process
 * makes (Wine runs "explorer.exe /desktop" from the system folder for it): the system's, never a
 * provider's child. */
static int is_system_desktop(HANDLE h, const char *base)
{
	wchar_t path[MAX_PATH * 2], sys[MAX_PATH];
	DWORD n = MAX_PATH * 2;
	UINT ns = GetSystemDirectoryW(sys, MAX_PATH);
	if (_stricmp(base, "explorer.exe") || !ns || ns >= MAX_PATH ||
	    !QueryFullProcessImageNameW(h, 0, path, &n))
		return 0;
	return n > ns && _wcsnicmp(path, sys, ns) == 0 && (path[ns] == L'\\' || path[ns] == L'/');
}

/* The system's processes among this one's (its console host, the desktop), found once and kept
 * open: an id stays that process's while a handle to it is open, so it is not looked at again
 * after every case (four round trips to the Wine server each). */
static struct {
	DWORD pid;
	HANDLE h;
} system_procs[16];
static size_t n_system_procs;

static int known_system(DWORD pid)
{
	for (size_t i = 0; i < n_system_procs; i++)
		if (system_procs[i].pid == pid)
			return 1;
	return 0;
}

/* Keeps h when there is room (1: the caller no longer owns it). */
static int keep_system(DWORD pid, HANDLE h)
{
	if (n_system_procs == sizeof system_procs / sizeof system_procs[0])
		return 0;
	system_procs[n_system_procs].pid = pid;
	system_procs[n_system_procs++].h = h;
	return 1;
}

int wsph_plat_child_end_strays(char *what, size_t len)
{
	static struct proc_list list;
	int count = 0;
	if (what && len)
		what[0] = 0;
	/* a stray may start another while it is ended: look again until none is left */
	for (int pass = 0; pass < 8; pass++) {
		if (job_processes(&list) != 0)
			descendants(&list);
		int ended = 0;
		for (size_t i = 0; i < list.n; i++) {
			if (known_system(list.pid[i]))
				continue;
			HANDLE h = OpenProcess(PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION |
						       SYNCHRONIZE,
					       FALSE, list.pid[i]);
			if (!h)
				continue;
			char base[MAX_PATH * 3];
			image_name(h, base, sizeof base);
			if (WaitForSingleObject(h, 0) == WAIT_OBJECT_0) {
				CloseHandle(h);
				continue;
			}
			/* a console host is the system's (this process's own among them: the job
			 * holds it too), never the provider's; it ends with its console's processes */
			if (!_stricmp(base, "conhost.exe") || is_system_desktop(h, base)) {
				if (!keep_system(list.pid[i], h))
					CloseHandle(h);
				continue;
			}
			if (!count && what && len)
				snprintf(what, len, "pid %lu (%s)", (unsigned long)list.pid[i], base);
			TerminateProcess(h, KILLED_MARKER);
			WaitForSingleObject(h, 2000);
			count++;
			ended++;
			CloseHandle(h);
		}
		if (!ended)
			break;
	}
	return count;
}

typedef LONG(NTAPI *loader_lock_fn)(ULONG flags, ULONG *disposition, ULONG_PTR *cookie);
typedef LONG(NTAPI *loader_unlock_fn)(ULONG flags, ULONG_PTR cookie);
typedef PPEB(NTAPI *current_peb_fn)(void);

static int same_name(const wchar_t *a, size_t na, const wchar_t *b, size_t nb)
{
	return na == nb && na < 0x7FFFFFFF &&
	       CompareStringOrdinal(a, (int)na, b, (int)nb, TRUE) == CSTR_EQUAL;
}

/* The loader's list of the process's modules, under the loader's lock: 1 one has the full path,
 * else -1 one has its base name (loaded by another path, or the same file by another name: the
 * caller asks the system, which compares the files), else 0. GetModuleHandleEx with a path opens
 * the file and maps it to compare (six round trips to the Wine server, after every case). */
static int loaded_by_list(const wchar_t *full)
{
	static loader_lock_fn lock;
	static loader_unlock_fn unlock;
	static current_peb_fn peb;
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	if ((!lock || !unlock || !peb) && ntdll) {
		FARPROC l = GetProcAddress(ntdll, "LdrLockLoaderLock");
		FARPROC u = GetProcAddress(ntdll, "LdrUnlockLoaderLock");
		FARPROC p = GetProcAddress(ntdll, "RtlGetCurrentPeb");
		memcpy(&lock, &l, sizeof lock);
		memcpy(&unlock, &u, sizeof unlock);
		memcpy(&peb, &p, sizeof peb);
	}
	ULONG_PTR cookie = 0;
	if (!lock || !unlock || !peb || !peb() || !peb()->Ldr || lock(0, NULL, &cookie) != 0)
		return -1;
	const wchar_t *base = full;
	for (const wchar_t *p = full; *p; p++)
		if (*p == L'\\')
			base = p + 1;
	size_t nfull = wcslen(full), nbase = wcslen(base);
	int r = 0;
	PEB_LDR_DATA *ldr = peb()->Ldr;
	LIST_ENTRY *head = &ldr->InMemoryOrderModuleList;
	for (LIST_ENTRY *e = head->Flink; e != head && r != 1; e = e->Flink) {
		LDR_DATA_TABLE_ENTRY *m = CONTAINING_RECORD(e, LDR_DATA_TABLE_ENTRY, InMemoryOrderLinks);
		const wchar_t *name = m->FullDllName.Buffer;
		size_t n = m->FullDllName.Length / sizeof(wchar_t);
		if (!name)
			continue;
		if (same_name(name, n, full, nfull))
			r = 1;
		else if (n > nbase && (name[n - nbase - 1] == L'\\' || name[n - nbase - 1] == L'/') &&
			 same_name(name + n - nbase, nbase, base, nbase))
			r = -1;
	}
	unlock(0, cookie);
	return r;
}

int wsph_plat_module_loaded(const char *path)
{
	wchar_t w[MAX_PATH * 4], full[MAX_PATH * 4];
	if (!MultiByteToWideChar(CP_UTF8, 0, path, -1, w, MAX_PATH * 4))
		return 0;
	for (wchar_t *p = w; *p; p++)
		if (*p == L'/')
			*p = L'\\';
	DWORD n = GetFullPathNameW(w, MAX_PATH * 4, full, NULL);
	int listed = n && n < MAX_PATH * 4 ? loaded_by_list(full) : -1;
	if (listed >= 0)
		return listed;
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

static struct wsph_child_hooks hooks;
static DWORD driver_tid; /* the thread that runs the case's WSP calls (wsph_plat_child_init's) */

/* The module holding ci->pc: its base name and pc's offset from its base. The lookup may take the
 * loader's lock (see platform.h). */
static void module_at(struct wsph_crash_info *ci)
{
	HMODULE h = NULL;
	wchar_t wname[MAX_PATH];
	if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
				    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
				(LPCWSTR)(uintptr_t)ci->pc, &h) ||
	    !h)
		return;
	DWORD n = GetModuleFileNameW(h, wname, MAX_PATH);
	if (!n || n >= MAX_PATH)
		return;
	const wchar_t *base = wname;
	for (const wchar_t *p = wname; *p; p++)
		if (*p == L'\\' || *p == L'/')
			base = p + 1;
	if (!WideCharToMultiByte(CP_UTF8, 0, base, -1, ci->module, (int)sizeof ci->module, NULL,
				 NULL))
		ci->module[0] = '\0';
	ci->offset = ci->pc - (uint64_t)(uintptr_t)h;
}

/* What an access violation's record says it did: ExceptionInformation[0] 0 read, 1 write, 8 an
 * execution (DEP), [1] the address. */
static void access_of(const EXCEPTION_RECORD *er, struct wsph_crash_info *ci)
{
	if (!er || er->NumberParameters < 2 ||
	    (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION &&
	     er->ExceptionCode != EXCEPTION_IN_PAGE_ERROR))
		return;
	ULONG_PTR kind = er->ExceptionInformation[0];
	ci->access = kind == 0 ? 'r' : kind == 1 ? 'w' : kind == 8 ? 'x' : 'a';
	ci->addr = (uint64_t)er->ExceptionInformation[1];
}

/* What the handler saw: the faulting thread, instruction (pc 0: unknown) and access. */
static void crash_info(struct wsph_crash_info *ci, DWORD tid, uintptr_t pc,
		       const EXCEPTION_RECORD *er)
{
	memset(ci, 0, sizeof *ci);
	ci->tid = tid;
	ci->thread = driver_tid ? tid == driver_tid : -1;
	ci->pc = pc;
	access_of(er, ci);
	if (pc)
		module_at(ci);
}

/* The crash frame goes on the channel with a fixed buffer: after a stack overflow only the
 * guaranteed stack is left, and a crashed process can take no lock. */
static void report_code(DWORD code, const struct wsph_crash_info *ci)
{
	char frame[1024];
	if (hooks.flush)
		hooks.flush(); /* the frames the child buffered */
	if (!hooks.crash_frame)
		return;
	size_t n = hooks.crash_frame(frame, sizeof frame, (long)code, ci);
	if (n > sizeof frame)
		n = sizeof frame;
	if (n)
		wsph_plat_channel_write(frame, n);
}

static LONG WINAPI on_exception(EXCEPTION_POINTERS *ep)
{
	const EXCEPTION_RECORD *er = ep->ExceptionRecord;
	struct wsph_crash_info ci;
	crash_info(&ci, GetCurrentThreadId(), (uintptr_t)er->ExceptionAddress, er);
	report_code(er->ExceptionCode, &ci);
	TerminateProcess(GetCurrentProcess(), er->ExceptionCode);
	return EXCEPTION_EXECUTE_HANDLER;
}

/* A stack overflow is fatal wherever it happens; a vectored handler sees it first. What stack is
 * left for it depends on where the overflowing frame landed in the guard page (Wine gives as
 * little as 2 KiB, whatever SetThreadStackGuarantee asked for), too little for the flush and a
 * system call. So the handler only notes where and on which thread, raises a flag and spins; a
 * watcher thread made at start flushes the buffered frames, writes the crash frame and ends the
 * process. */
static volatile LONG overflowed, watcher_up;
static volatile uintptr_t overflow_pc;
static volatile DWORD overflow_tid;

static void report_overflow(void)
{
	struct wsph_crash_info ci;
	crash_info(&ci, overflow_tid, overflow_pc, NULL);
	report_code(EXCEPTION_STACK_OVERFLOW, &ci);
	TerminateProcess(GetCurrentProcess(), EXCEPTION_STACK_OVERFLOW);
}

static DWORD WINAPI overflow_watcher(LPVOID arg)
{
	(void)arg;
	InterlockedExchange(&watcher_up, 1); /* counted: its DLL_THREAD_ATTACH has run */
	while (!overflowed)
		Sleep(2);
	report_overflow();
	return 0;
}

static HANDLE watcher;

static LONG WINAPI on_first_chance(EXCEPTION_POINTERS *ep)
{
	if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_STACK_OVERFLOW)
		return EXCEPTION_CONTINUE_SEARCH;
	overflow_pc = (uintptr_t)ep->ExceptionRecord->ExceptionAddress;
	overflow_tid = GetCurrentThreadId(); /* a leaf reading the TEB: a few bytes of stack */
	if (watcher) {
		overflowed = 1;
		for (;;)
			YieldProcessor(); /* no call: no stack */
	}
	report_overflow();
	return EXCEPTION_CONTINUE_SEARCH;
}

#define ABORT_CODE 0x40000015u /* STATUS_FATAL_APP_EXIT: what abort() means here */

static void on_abort(int sig)
{
	struct wsph_crash_info ci;
	(void)sig;
	crash_info(&ci, GetCurrentThreadId(), 0, NULL); /* where abort() raised it says nothing */
	report_code(ABORT_CODE, &ci);
	TerminateProcess(GetCurrentProcess(), ABORT_CODE);
}

void wsph_plat_child_init(const struct wsph_child_hooks *h)
{
	ULONG guarantee = 64 * 1024;
	if (h)
		hooks = *h;
	driver_tid = GetCurrentThreadId();
	/* stdout is the provider's output now, not the channel: unbuffered, so that what a provider
	 * sharing this C runtime printed before it crashed is not lost in a buffer */
	setvbuf(stdout, NULL, _IONBF, 0);
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
	 * none of it; the caller has flushed its frames. */
	fflush(stdout);
	fflush(stderr);
	TerminateProcess(GetCurrentProcess(), 0);
}
