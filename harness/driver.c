/* The driver: loads the provider, plays a scenario's steps through its WSPPROC_TABLE, records all. */
#include "driver.h"

#include "catalog.h"
#include "imports.h"

#include "platform/platform.h"
#include "rules.h"
#include "trace.h"
#include "upcalls.h"
#include "util.h"
#include "wsph/spi.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 64

struct drv {
	const struct wsph_drive_opts *o;
	const struct wsph_scenario *sc;
	struct wsph_trace *trace;
	struct wsph_rules *rules;
	struct wsph_module *mod;
	WSPH_WSPSTARTUP_BYREF startup;
	WSPPROC_TABLE procs;
	int have_procs;
	WSAPROTOCOL_INFOW pi_stream, pi_dgram;
	struct {
		const char *name;
		SOCKET s;
	} names[MAX_NAMES];
	size_t n_names;
	int step;
#define MAX_PENDING 64
	struct pending *pending[MAX_PENDING];
	size_t n_pending;
};

static void *fn_address(const void *fnptr_storage)
{
	void *p;
	memcpy(&p, fnptr_storage, sizeof p);
	return p;
}

/* ---- calls and their events ---- */

static uint64_t call_begin(struct drv *d, struct wsph_event *ev, enum wsph_fn fn, uint64_t a0,
			   uint64_t a1, uint64_t a2, uint64_t a3)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = WSPH_EV_CALL;
	ev->fn = fn;
	ev->step = d->step;
	ev->a[0] = a0;
	ev->a[1] = a1;
	ev->a[2] = a2;
	ev->a[3] = a3;
	ev->err = WSPH_ERRNO_UNSET;
	snprintf(ev->module, sizeof ev->module, "wspharness");
	ev->seq = wsph_trace_append(d->trace, ev);
	wsph_upcalls_enter(ev->seq, d->step);
	return ev->seq;
}

static void call_end(struct drv *d, const struct wsph_event *call, struct wsph_event *ret,
		     int64_t rv, int err, const void *fnptr_storage)
{
	wsph_upcalls_leave();
	*ret = *call;
	ret->kind = WSPH_EV_RETURN;
	ret->parent = call->seq;
	ret->ret = rv;
	ret->err = err;
	wsph_plat_module_name_at(fn_address(fnptr_storage), ret->module, sizeof ret->module);
	ret->seq = wsph_trace_append(d->trace, ret);
	wsph_rules_advance(d->rules);
}

static void report(struct drv *d, const struct wsph_step *st, uint64_t seq, const char *fmt, ...) WSPH_PRINTF(4, 5);

#include <stdarg.h>
static void report(struct drv *d, const struct wsph_step *st, uint64_t seq, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wsph_rules_report(d->rules, st->rule, d->step, seq, msg);
}

/* Compares the outcome of a step with what the scenario expects. */
static void expect(struct drv *d, const struct wsph_step *st, const struct wsph_event *ret,
		   int failed, int code)
{
	char call[1024], e[64], x[64];
	wsph_event_call_text(ret, call, sizeof call);
	if (st->expect == WSPH_EXPECT_ANY)
		return;
	if (st->expect == WSPH_EXPECT_OK && failed)
		report(d, st, ret->seq, "%s failed; the scenario expects success", call);
	else if (st->expect == WSPH_EXPECT_FAILURE && !failed)
		report(d, st, ret->seq, "%s succeeded; the scenario expects it to fail", call);
	else if (st->expect > 0 && !failed)
		report(d, st, ret->seq, "%s succeeded; the scenario expects it to fail with %s",
		       call, wsph_error_format(st->expect, x, sizeof x));
	else if (st->expect > 0 && code != st->expect)
		report(d, st, ret->seq, "%s failed with %s; the scenario expects %s", call,
		       code == WSPH_ERRNO_UNSET ? "*lpErrno unwritten" : wsph_error_format(code, e, sizeof e),
		       wsph_error_format(st->expect, x, sizeof x));
}

static SOCKET resolve(struct drv *d, const char *name)
{
	if (!name)
		return INVALID_SOCKET;
	if (!strcmp(name, "bogus"))
		return wsph_upcalls_bogus_handle();
	for (size_t i = d->n_names; i-- > 0;)
		if (!strcmp(d->names[i].name, name))
			return d->names[i].s;
	return INVALID_SOCKET;
}

static void bind_name(struct drv *d, const char *name, SOCKET s)
{
	if (!name)
		return;
	for (size_t i = 0; i < d->n_names; i++)
		if (!strcmp(d->names[i].name, name)) {
			d->names[i].s = s;
			return;
		}
	if (d->n_names < MAX_NAMES) {
		d->names[d->n_names].name = name;
		d->names[d->n_names].s = s;
		d->n_names++;
	}
}

static void make_addr(struct sockaddr_in *sin, const char *text)
{
	unsigned a = 0, b = 0, c = 0, e = 0, port = 0;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	if (text)
		sscanf(text, "%u.%u.%u.%u:%u", &a, &b, &c, &e, &port);
	unsigned char *p = (unsigned char *)&sin->sin_port;
	p[0] = (unsigned char)(port >> 8);
	p[1] = (unsigned char)port;
	unsigned char *ip = (unsigned char *)&sin->sin_addr;
	ip[0] = (unsigned char)a;
	ip[1] = (unsigned char)b;
	ip[2] = (unsigned char)c;
	ip[3] = (unsigned char)e;
}

/* Overlapped operations the driver started: the WSAOVERLAPPED stays valid to the end. */
struct pending {
	WSAOVERLAPPED ov;
	WSAEVENT event;
	int done;
	DWORD error, bytes, flags;
};

static struct drv *current; /* the completion routine finds its operation through it */

static void CALLBACK completion_routine(DWORD error, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
	for (size_t i = 0; current && i < current->n_pending; i++)
		if (&current->pending[i]->ov == ov) {
			current->pending[i]->done = 1;
			current->pending[i]->error = error;
			current->pending[i]->bytes = bytes;
			current->pending[i]->flags = flags;
		}
}

/* Alertable wait (APCs run here) for the completion routine or the event, up to 2 s. */
static int wait_completion(struct drv *d, SOCKET s, struct pending *op, DWORD *bytes)
{
	for (int i = 0; i < 200 && !op->done; i++) {
		wsph_upcalls_alertable();
		if (op->done)
			break;
		if (op->event && wsph_plat_event_wait(op->event, 10)) {
			DWORD n = 0, fl = 0;
			int err = WSPH_ERRNO_UNSET;
			struct wsph_event call, ret;
			if (!fn_address(&d->procs.lpWSPGetOverlappedResult))
				return 0;
			call_begin(d, &call, WSPH_FN_WSPGETOVERLAPPEDRESULT, (uint64_t)s, 0, 0, 0);
			BOOL ok = d->procs.lpWSPGetOverlappedResult(s, &op->ov, &n, FALSE, &fl, &err);
			call_end(d, &call, &ret, ok, err, &d->procs.lpWSPGetOverlappedResult);
			op->done = 1;
			op->bytes = n;
			op->error = ok ? 0 : (DWORD)err;
		} else if (!op->event) {
			wsph_plat_sleep_ms(10);
		}
	}
	*bytes = op->bytes;
	return op->done;
}

/* A NULL entry cannot be called; it was already reported when WSPStartup returned. */
static int usable(struct drv *d, const struct wsph_step *st, const void *entry, const char *name)
{
	if (!d->have_procs) {
		/* a step that accepts any outcome is skipped quietly (the startup was refused) */
		if (st->expect != WSPH_EXPECT_ANY)
			report(d, st, 0, "cannot call %s: no WSPStartup has succeeded in this scenario",
			       name);
		return 0;
	}
	if (!fn_address(entry)) {
		wsph_rules_report(d->rules, "SPI.Startup.ProcTableComplete", d->step, 0,
				  "the step needs lpWSP entry point that the provider left NULL");
		return 0;
	}
	return 1;
}

static void step_startup(struct drv *d, const struct wsph_step *st)
{
	struct wsph_event call, ret;
	WSPDATA data;
	WSPPROC_TABLE procs;
	memset(&data, 0xCD, sizeof data);
	memset(&procs, 0, sizeof procs);
	WSPUPCALLTABLE *buf = wsph_upcalls_table_buffer(st->table);
	if (!buf) {
		report(d, st, 0, "too many WSPStartup calls in one scenario");
		return;
	}
	WORD version = (WORD)st->version;
	call_begin(d, &call, WSPH_FN_WSPSTARTUP, version, 0, 0, 0);
	call.table = st->table;
	wsph_trace_update(d->trace, &call);
	int rc = d->startup(version, &data, &d->pi_stream, buf, &procs);
	wsph_upcalls_poison(buf);
	void *entries[30];
	memcpy(entries, &procs, sizeof entries);
	uint64_t nulls = 0;
	for (int i = 0; i < 30; i++)
		if (!entries[i])
			nulls |= 1ull << i;
	int terminated = 0;
	for (int i = 0; i <= WSPDESCRIPTION_LEN; i++)
		if (data.szDescription[i] == 0)
			terminated = 1;
	int written = data.wVersion != 0xCDCD && data.wHighVersion != 0xCDCD;
	wsph_upcalls_leave();
	ret = call;
	ret.kind = WSPH_EV_RETURN;
	ret.parent = call.seq;
	ret.ret = rc;
	ret.a[1] = data.wVersion;
	ret.a[2] = data.wHighVersion;
	ret.a[3] = rc == 0 ? nulls : 0;
	ret.a[4] = (uint64_t)terminated;
	ret.a[5] = (uint64_t)written;
	wsph_plat_module_name_at(fn_address(&d->startup), ret.module, sizeof ret.module);
	ret.seq = wsph_trace_append(d->trace, &ret);
	if (rc == 0) {
		d->procs = procs;
		d->have_procs = 1;
	}
	wsph_upcalls_startup_done(st->table, rc == 0);
	wsph_rules_advance(d->rules);
	expect(d, st, &ret, rc != 0, rc);
}

static void step_cleanup(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, st, &d->procs.lpWSPCleanup, "WSPCleanup"))
		return;
	struct wsph_event call, ret;
	int err = WSPH_ERRNO_UNSET;
	int before = wsph_rules_startups(d->rules);
	call_begin(d, &call, WSPH_FN_WSPCLEANUP, 0, 0, 0, 0);
	int rc = d->procs.lpWSPCleanup(&err);
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPCleanup);
	if (before > 0)
		wsph_upcalls_cleanup_done(1);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
}

static void step_socket(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, st, &d->procs.lpWSPSocket, "WSPSocket"))
		return;
	int dgram = st->sock_type == SOCK_DGRAM;
	int type = dgram ? SOCK_DGRAM : SOCK_STREAM, proto = dgram ? IPPROTO_UDP : IPPROTO_TCP;
	WSAPROTOCOL_INFOW *pi = dgram ? &d->pi_dgram : &d->pi_stream;
	struct wsph_event call, ret;
	int err = WSPH_ERRNO_UNSET;
	call_begin(d, &call, WSPH_FN_WSPSOCKET, AF_INET, (uint64_t)type, (uint64_t)proto,
		   pi->dwCatalogEntryId);
	call.a[4] = WSA_FLAG_OVERLAPPED;
	wsph_trace_update(d->trace, &call);
	SOCKET s = d->procs.lpWSPSocket(AF_INET, type, proto, pi, 0, WSA_FLAG_OVERLAPPED, &err);
	call_end(d, &call, &ret, s == INVALID_SOCKET ? -1 : (int64_t)s, err, &d->procs.lpWSPSocket);
	bind_name(d, st->as, s);
	expect(d, st, &ret, s == INVALID_SOCKET, err);
}

static void step_accept(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, st, &d->procs.lpWSPAccept, "WSPAccept"))
		return;
	SOCKET l = resolve(d, st->socket);
	struct sockaddr_in sin;
	int len = (int)sizeof sin;
	struct wsph_event call, ret;
	int err = WSPH_ERRNO_UNSET;
	memset(&sin, 0, sizeof sin);
	call_begin(d, &call, WSPH_FN_WSPACCEPT, (uint64_t)l, 0, 0, 0);
	SOCKET s = d->procs.lpWSPAccept(l, (struct sockaddr *)&sin, &len, NULL, 0, &err);
	call_end(d, &call, &ret, s == INVALID_SOCKET ? -1 : (int64_t)s, err, &d->procs.lpWSPAccept);
	bind_name(d, st->as, s);
	expect(d, st, &ret, s == INVALID_SOCKET, err);
}

/* bind, connect, listen, close, shutdown, getsockname, getpeername: one int result */
static void step_simple(struct drv *d, const struct wsph_step *st)
{
	SOCKET s = resolve(d, st->socket);
	struct sockaddr_in sin;
	int len = (int)sizeof sin;
	int err = WSPH_ERRNO_UNSET, rc = SOCKET_ERROR;
	struct wsph_event call, ret;
	const void *entry = NULL;
	enum wsph_fn fn;
	switch (st->op) {
	case WSPH_OP_BIND: fn = WSPH_FN_WSPBIND; entry = &d->procs.lpWSPBind; break;
	case WSPH_OP_CONNECT: fn = WSPH_FN_WSPCONNECT; entry = &d->procs.lpWSPConnect; break;
	case WSPH_OP_LISTEN: fn = WSPH_FN_WSPLISTEN; entry = &d->procs.lpWSPListen; break;
	case WSPH_OP_CLOSE: fn = WSPH_FN_WSPCLOSESOCKET; entry = &d->procs.lpWSPCloseSocket; break;
	case WSPH_OP_SHUTDOWN: fn = WSPH_FN_WSPSHUTDOWN; entry = &d->procs.lpWSPShutdown; break;
	case WSPH_OP_GETSOCKNAME: fn = WSPH_FN_WSPGETSOCKNAME; entry = &d->procs.lpWSPGetSockName; break;
	default: fn = WSPH_FN_WSPGETPEERNAME; entry = &d->procs.lpWSPGetPeerName; break;
	}
	if (!usable(d, st, entry, wsph_fn_name(fn)))
		return;
	make_addr(&sin, st->addr);
	call_begin(d, &call, fn, (uint64_t)s,
		   st->op == WSPH_OP_LISTEN ? (uint64_t)st->backlog
		   : st->op == WSPH_OP_SHUTDOWN ? (uint64_t)st->how : 0, 0, 0);
	switch (st->op) {
	case WSPH_OP_BIND:
		rc = d->procs.lpWSPBind(s, (struct sockaddr *)&sin, (int)sizeof sin, &err);
		break;
	case WSPH_OP_CONNECT:
		rc = d->procs.lpWSPConnect(s, (struct sockaddr *)&sin, (int)sizeof sin, NULL, NULL,
					   NULL, NULL, &err);
		break;
	case WSPH_OP_LISTEN:
		rc = d->procs.lpWSPListen(s, st->backlog, &err);
		break;
	case WSPH_OP_CLOSE:
		rc = d->procs.lpWSPCloseSocket(s, &err);
		break;
	case WSPH_OP_SHUTDOWN:
		rc = d->procs.lpWSPShutdown(s, st->how, &err);
		break;
	case WSPH_OP_GETSOCKNAME:
		rc = d->procs.lpWSPGetSockName(s, (struct sockaddr *)&sin, &len, &err);
		break;
	default:
		rc = d->procs.lpWSPGetPeerName(s, (struct sockaddr *)&sin, &len, &err);
		break;
	}
	call_end(d, &call, &ret, rc, err, entry);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
}

static void step_transfer(struct drv *d, const struct wsph_step *st)
{
	SOCKET s = resolve(d, st->socket);
	int sending = st->op == WSPH_OP_SEND || st->op == WSPH_OP_SENDTO;
	int addressed = st->op == WSPH_OP_SENDTO || st->op == WSPH_OP_RECVFROM;
	enum wsph_fn fn = st->op == WSPH_OP_SEND     ? WSPH_FN_WSPSEND
			  : st->op == WSPH_OP_SENDTO ? WSPH_FN_WSPSENDTO
			  : st->op == WSPH_OP_RECV   ? WSPH_FN_WSPRECV
						     : WSPH_FN_WSPRECVFROM;
	const void *entry = fn == WSPH_FN_WSPSEND     ? (const void *)&d->procs.lpWSPSend
			    : fn == WSPH_FN_WSPSENDTO ? (const void *)&d->procs.lpWSPSendTo
			    : fn == WSPH_FN_WSPRECV   ? (const void *)&d->procs.lpWSPRecv
						      : (const void *)&d->procs.lpWSPRecvFrom;
	if (!usable(d, st, entry, wsph_fn_name(fn)))
		return;
	size_t cap = sending ? st->data_len : st->len;
	char *buf = malloc(cap ? cap : 1);
	if (!buf) {
		report(d, st, 0, "out of memory");
		return;
	}
	if (sending && st->data_len)
		memcpy(buf, st->data, st->data_len);
	WSABUF wb;
	wb.len = (ULONG)cap;
	wb.buf = buf;
	WSATHREADID tid;
	wsph_upcalls_thread_id(&tid);
	struct sockaddr_in sin;
	make_addr(&sin, st->addr);
	int fromlen = (int)sizeof sin;
	DWORD count = 0, flags = 0;
	int err = WSPH_ERRNO_UNSET, rc;
	struct wsph_event call, ret;
	struct pending *op = NULL;
	LPWSAOVERLAPPED ov = NULL;
	LPWSAOVERLAPPED_COMPLETION_ROUTINE routine = NULL;
	if (st->overlapped) {
		/* Kept until the scenario ends: a provider may still write to it. */
		op = calloc(1, sizeof *op);
		if (!op || d->n_pending == MAX_PENDING) {
			free(op);
			free(buf);
			report(d, st, 0, "too many overlapped operations in one scenario");
			return;
		}
		d->pending[d->n_pending++] = op;
		ov = &op->ov;
		if (st->completion == WSPH_COMPLETION_ROUTINE)
			routine = completion_routine;
		else
			ov->hEvent = op->event = wsph_upcalls_client_event();
	}
	call_begin(d, &call, fn, (uint64_t)s, cap, 0, 0);
	if (fn == WSPH_FN_WSPSEND)
		rc = d->procs.lpWSPSend(s, &wb, 1, &count, 0, ov, routine, &tid, &err);
	else if (fn == WSPH_FN_WSPSENDTO)
		rc = d->procs.lpWSPSendTo(s, &wb, 1, &count, 0, (struct sockaddr *)&sin,
					  (int)sizeof sin, ov, routine, &tid, &err);
	else if (fn == WSPH_FN_WSPRECV)
		rc = d->procs.lpWSPRecv(s, &wb, 1, &count, &flags, ov, routine, &tid, &err);
	else
		rc = d->procs.lpWSPRecvFrom(s, &wb, 1, &count, &flags, (struct sockaddr *)&sin,
					    &fromlen, ov, routine, &tid, &err);
	(void)addressed;
	call.a[2] = count;
	call_end(d, &call, &ret, rc, err, entry);
	int pending_ok = op && rc == SOCKET_ERROR && err == WSA_IO_PENDING;
	expect(d, st, &ret, rc == SOCKET_ERROR && !pending_ok, err);
	if (op && (rc == 0 || pending_ok)) {
		if (!wait_completion(d, s, op, &count)) {
			report(d, st, ret.seq,
			       "the overlapped %s was never completed (no completion routine ran, "
			       "no event was signalled within 2 s)",
			       wsph_fn_name(fn));
			free(buf);
			return;
		}
		rc = op->error ? SOCKET_ERROR : 0;
	}
	if (!sending && rc == 0 && st->has_data &&
	    (count != st->data_len || memcmp(buf, st->data, st->data_len) != 0))
		report(d, st, ret.seq,
		       "%s received %lu byte(s) \"%.*s\"; the scenario expects %zu byte(s) \"%.*s\"",
		       wsph_fn_name(fn), (unsigned long)count, (int)(count < 64 ? count : 64), buf,
		       st->data_len, (int)(st->data_len < 64 ? st->data_len : 64),
		       (const char *)st->data);
	free(buf);
}

static void step_sockopt(struct drv *d, const struct wsph_step *st)
{
	SOCKET s = resolve(d, st->socket);
	int get = st->op == WSPH_OP_GETSOCKOPT;
	enum wsph_fn fn = get ? WSPH_FN_WSPGETSOCKOPT : WSPH_FN_WSPSETSOCKOPT;
	const void *entry = get ? (const void *)&d->procs.lpWSPGetSockOpt
				: (const void *)&d->procs.lpWSPSetSockOpt;
	if (!usable(d, st, entry, wsph_fn_name(fn)))
		return;
	int val = get ? 0 : (int)st->value, len = (int)sizeof val;
	int err = WSPH_ERRNO_UNSET, rc;
	struct wsph_event call, ret;
	call_begin(d, &call, fn, (uint64_t)s, (uint64_t)(unsigned)st->level,
		   (uint64_t)(unsigned)st->option, (uint64_t)(int64_t)val);
	if (get)
		rc = d->procs.lpWSPGetSockOpt(s, st->level, st->option, (char *)&val, &len, &err);
	else
		rc = d->procs.lpWSPSetSockOpt(s, st->level, st->option, (const char *)&val,
					      (int)sizeof val, &err);
	call.a[3] = (uint64_t)(int64_t)val;
	call_end(d, &call, &ret, rc, err, entry);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (get && rc == 0 && st->has_value && val != (int)st->value)
		report(d, st, ret.seq,
		       "WSPGetSockOpt(optname=0x%x) returned the value %d; the scenario expects %ld",
		       (unsigned)st->option, val, st->value);
}

static void step_ioctl(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, st, &d->procs.lpWSPIoctl, "WSPIoctl"))
		return;
	SOCKET s = resolve(d, st->socket);
	u_long in = (u_long)st->value, out = 0;
	DWORD bytes = 0;
	WSATHREADID tid;
	wsph_upcalls_thread_id(&tid);
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPIOCTL, (uint64_t)s, (uint64_t)(DWORD)st->command,
		   (uint64_t)in, 0);
	int rc = d->procs.lpWSPIoctl(s, (DWORD)st->command, &in, (DWORD)sizeof in, &out,
				     (DWORD)sizeof out, &bytes, NULL, NULL, &tid, &err);
	call.a[3] = out;
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPIoctl);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
	if (rc == 0 && st->has_result && (long)out != st->result)
		report(d, st, ret.seq, "WSPIoctl(0x%lx) returned %lu; the scenario expects %ld",
		       st->command, (unsigned long)out, st->result);
}

static void step_asyncselect(struct drv *d, const struct wsph_step *st)
{
	if (!usable(d, st, &d->procs.lpWSPAsyncSelect, "WSPAsyncSelect"))
		return;
	SOCKET s = resolve(d, st->socket);
	HWND w = wsph_upcalls_window();
	int err = WSPH_ERRNO_UNSET;
	struct wsph_event call, ret;
	call_begin(d, &call, WSPH_FN_WSPASYNCSELECT, (uint64_t)s, (uint64_t)(uintptr_t)w,
		   st->command, (uint64_t)st->value);
	int rc = d->procs.lpWSPAsyncSelect(s, w, (unsigned)st->command, (LONG)st->value, &err);
	call_end(d, &call, &ret, rc, err, &d->procs.lpWSPAsyncSelect);
	expect(d, st, &ret, rc == SOCKET_ERROR, err);
}

static void run_step(struct drv *d, const struct wsph_step *st)
{
	switch (st->op) {
	case WSPH_OP_STARTUP: step_startup(d, st); break;
	case WSPH_OP_CLEANUP: step_cleanup(d, st); break;
	case WSPH_OP_SOCKET: step_socket(d, st); break;
	case WSPH_OP_ACCEPT: step_accept(d, st); break;
	case WSPH_OP_SEND:
	case WSPH_OP_SENDTO:
	case WSPH_OP_RECV:
	case WSPH_OP_RECVFROM: step_transfer(d, st); break;
	case WSPH_OP_GETSOCKOPT:
	case WSPH_OP_SETSOCKOPT: step_sockopt(d, st); break;
	case WSPH_OP_IOCTL: step_ioctl(d, st); break;
	case WSPH_OP_ASYNCSELECT: step_asyncselect(d, st); break;
	default: step_simple(d, st); break;
	}
}

int wsph_drive_probe(const char *provider, char *err, size_t errlen)
{
	struct wsph_module *m = wsph_plat_load(provider, err, errlen);
	if (!m)
		return -1;
	int rc = 0;
	if (!wsph_plat_symbol(m, "WSPStartup")) {
		snprintf(err, errlen,
			 "the provider exports no WSPStartup (SPI.Startup.SingleExport: a transport "
			 "provider is a DLL with a single exported entry point, WSPStartup)");
		rc = -1;
	}
	wsph_plat_unload(m);
	return rc;
}

int wsph_drive(const struct wsph_drive_opts *o, const struct wsph_scenario *sc,
	       struct wsph_case *c)
{
	struct drv d;
	char err[512];
	int rc = 0;
	memset(&d, 0, sizeof d);
	d.o = o;
	d.sc = sc;
	uint64_t t0 = wsph_plat_now_ns();
	d.trace = wsph_trace_new();
	if (!d.trace)
		goto oom;
	const struct wsph_catalog *cat = o->catalog;
	d.pi_stream = cat->entries[cat->stream_entry].info;
	d.pi_dgram = cat->entries[cat->dgram_entry >= 0 ? cat->dgram_entry : cat->stream_entry].info;
	if (cat->env_value)
		wsph_plat_setenv(cat->env_name, cat->env_value);

	uint32_t ids[16];
	struct wsph_rules_config rc_cfg;
	memset(&rc_cfg, 0, sizeof rc_cfg);
	rc_cfg.set = o->set;
	rc_cfg.trace = d.trace;
	rc_cfg.scenario = sc;
	rc_cfg.kind = o->kind;
	rc_cfg.catalog_ids = ids;
	rc_cfg.layered = o->layered;
	rc_cfg.window = (void *)wsph_upcalls_window();
	for (size_t i = 0; i < cat->n_providers; i++) {
		if (cat->providers[i].under_test) {
			rc_cfg.n_catalog_ids = wsph_catalog_ids(cat, (int)i, ids, 16);
			continue;
		}
		if (rc_cfg.n_lower == sizeof rc_cfg.lower / sizeof rc_cfg.lower[0])
			continue;
		struct wsph_rules_layer *l = &rc_cfg.lower[rc_cfg.n_lower++];
		char *x = wsph_catalog_expand(cat, cat->providers[i].path);
		snprintf(l->module, sizeof l->module, "%s", x ? wsph_path_base(x) : "?");
		free(x);
		l->kind = wsph_catalog_provider_kind(cat, (int)i);
		l->n_ids = wsph_catalog_ids(cat, (int)i, l->ids, 16);
	}
	d.rules = wsph_rules_new(&rc_cfg);
	if (!d.rules)
		goto oom;
	d.mod = wsph_plat_load(o->provider, err, sizeof err);
	if (!d.mod) {
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("provider-error");
		c->error_message = wsph_strdup(err);
		rc = -1;
		goto out;
	}
	void *sym = wsph_plat_symbol(d.mod, "WSPStartup");
	if (!sym) {
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("provider-error");
		c->error_message = wsph_strdup("the provider exports no WSPStartup");
		rc = -1;
		goto out;
	}
	memcpy(&d.startup, &sym, sizeof sym);

	struct wsph_upcall_config ucfg;
	memset(&ucfg, 0, sizeof ucfg);
	ucfg.kind = o->kind;
	ucfg.catalog = cat;
	ucfg.modify_ifs_same = sc->modify_ifs_same;
	ucfg.faults = sc->faults;
	ucfg.n_faults = sc->n_faults;
	wsph_upcalls_begin(d.trace, &ucfg);
	struct wsph_imports_config icfg = {cat, sc->lower_hole};
	wsph_imports_begin(&icfg);
	wsph_imports_patch(d.mod);

	current = &d;
	for (size_t i = 0; i < sc->n_steps; i++) {
		d.step = (int)i + 1;
		wsph_upcalls_set_step(d.step);
		run_step(&d, &sc->steps[i]);
		wsph_upcalls_alertable();
		wsph_rules_advance(d.rules);
	}
	d.step = 0;
	wsph_upcalls_set_step(0);
	wsph_rules_finish(d.rules);

	wsph_plat_unload(d.mod);
	d.mod = NULL;
	current = NULL;
	for (size_t i = 0; i < d.n_pending; i++) {
		if (d.pending[i]->event)
			wsph_upcalls_client_event_free(d.pending[i]->event);
		free(d.pending[i]);
	}
	d.n_pending = 0;
	wsph_imports_end();
	wsph_upcalls_end();

	c->findings = wsph_rules_take(d.rules, &c->n_findings);
	c->outcome = WSPH_PASS;
	for (size_t i = 0; i < c->n_findings; i++)
		if (c->findings[i].rule->severity == WSPH_SEV_ERROR)
			c->outcome = WSPH_FAIL;
	c->trace = wsph_trace_text(d.trace, o->trace_cap ? o->trace_cap : 65536);
	c->events = wsph_trace_copy(d.trace, &c->n_events);
	goto out;
oom:
	c->outcome = WSPH_ERROR;
	c->error_type = wsph_strdup("internal");
	c->error_message = wsph_strdup("out of memory");
	rc = -1;
out:
	if (d.mod)
		wsph_plat_unload(d.mod);
	c->time = (double)(wsph_plat_now_ns() - t0) / 1e9;
	wsph_rules_free(d.rules);
	wsph_trace_free(d.trace);
	return rc;
}
