/* The recorder: an append-only, thread-safe event array, and its formatting for people. */
#include "trace.h"

#include "platform/platform.h"

#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void (*default_sink)(void *ctx, const struct wsph_event *ev);
static void *default_sink_ctx;

void wsph_trace_set_default_sink(void (*fn)(void *ctx, const struct wsph_event *ev), void *ctx)
{
	default_sink = fn;
	default_sink_ctx = ctx;
}

struct wsph_trace {
	void (*sink)(void *ctx, const struct wsph_event *ev);
	void *sink_ctx;
	struct wsph_mutex *lock;
	struct wsph_event *ev;
	size_t n, cap;
	uint64_t t0;
};

struct wsph_trace *wsph_trace_new(void)
{
	struct wsph_trace *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->lock = wsph_mutex_new();
	if (!t->lock) {
		free(t);
		return NULL;
	}
	t->t0 = wsph_plat_now_ns();
	t->sink = default_sink;
	t->sink_ctx = default_sink_ctx;
	return t;
}

void wsph_trace_free(struct wsph_trace *t)
{
	if (!t)
		return;
	wsph_mutex_free(t->lock);
	free(t->ev);
	free(t);
}

void wsph_trace_reset(struct wsph_trace *t)
{
	wsph_mutex_lock(t->lock);
	t->n = 0;
	t->t0 = wsph_plat_now_ns();
	wsph_mutex_unlock(t->lock);
}

uint64_t wsph_trace_append(struct wsph_trace *t, struct wsph_event *ev)
{
	uint64_t seq = 0;
	wsph_mutex_lock(t->lock);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct wsph_event *p = realloc(t->ev, cap * sizeof *p);
		if (!p)
			goto out; /* the event is lost, but the harness goes on */
		t->ev = p;
		t->cap = cap;
	}
	ev->seq = t->n + 1;
	ev->time_ns = wsph_plat_now_ns() - t->t0;
	ev->thread = wsph_plat_thread_id();
	t->ev[t->n++] = *ev;
	seq = ev->seq;
	if (t->sink)
		t->sink(t->sink_ctx, ev);
out:
	wsph_mutex_unlock(t->lock);
	return seq;
}

void wsph_trace_update(struct wsph_trace *t, const struct wsph_event *ev)
{
	wsph_mutex_lock(t->lock);
	if (ev->seq >= 1 && ev->seq <= t->n) {
		t->ev[ev->seq - 1] = *ev;
		if (t->sink)
			t->sink(t->sink_ctx, ev);
	}
	wsph_mutex_unlock(t->lock);
}

size_t wsph_trace_count(struct wsph_trace *t)
{
	wsph_mutex_lock(t->lock);
	size_t n = t->n;
	wsph_mutex_unlock(t->lock);
	return n;
}

int wsph_trace_get(struct wsph_trace *t, size_t i, struct wsph_event *out)
{
	int rc = -1;
	wsph_mutex_lock(t->lock);
	if (i < t->n) {
		*out = t->ev[i];
		rc = 0;
	}
	wsph_mutex_unlock(t->lock);
	return rc;
}

struct wsph_event *wsph_trace_copy(struct wsph_trace *t, size_t *n)
{
	struct wsph_event *out = NULL;
	wsph_mutex_lock(t->lock);
	*n = 0;
	if (t->n && (out = malloc(t->n * sizeof *out)) != NULL) {
		memcpy(out, t->ev, t->n * sizeof *out);
		*n = t->n;
	}
	wsph_mutex_unlock(t->lock);
	return out;
}

/* Argument names per function, in the order they are stored in a[]. A leading '#' prints the
 * value in hex (handles, pointers, contexts); '%' prints it as FD_* / error names where known. */
struct fn_shape {
	const char *args[WSPH_EV_ARGS];
	enum { RET_INT, RET_HANDLE, RET_BOOL, RET_CODE, RET_NONE } ret;
};

static const struct fn_shape *shape_of(enum wsph_fn fn)
{
	static const struct fn_shape generic_s = {{"#s"}, RET_INT};
	static struct fn_shape shapes[WSPH_FN_COUNT];
	static int init;
	if (!init) {
		for (int i = 0; i < WSPH_FN_COUNT; i++)
			shapes[i] = generic_s;
		shapes[WSPH_FN_WSPSTARTUP] = (struct fn_shape){
			{"#wVersionRequested", "#wVersion", "#wHighVersion", "#nullEntries",
			 "descTerminated"},
			RET_CODE};
		shapes[WSPH_FN_WSPCLEANUP] = (struct fn_shape){{NULL}, RET_INT};
		shapes[WSPH_FN_WSPCANCELBLOCKINGCALL] = (struct fn_shape){{NULL}, RET_INT};
		shapes[WSPH_FN_WSPSOCKET] = (struct fn_shape){
			{"af", "type", "protocol", "catalogEntryId", "dwFlags"}, RET_HANDLE};
		shapes[WSPH_FN_WSPACCEPT] = (struct fn_shape){{"#s"}, RET_HANDLE};
		shapes[WSPH_FN_WSPJOINLEAF] = (struct fn_shape){{"#s"}, RET_HANDLE};
		shapes[WSPH_FN_WSPSEND] = (struct fn_shape){{"#s", "len", "sent"}, RET_INT};
		shapes[WSPH_FN_WSPSENDTO] = (struct fn_shape){{"#s", "len", "sent"}, RET_INT};
		shapes[WSPH_FN_WSPRECV] = (struct fn_shape){{"#s", "len", "received"}, RET_INT};
		shapes[WSPH_FN_WSPRECVFROM] = (struct fn_shape){{"#s", "len", "received"}, RET_INT};
		shapes[WSPH_FN_WSPLISTEN] = (struct fn_shape){{"#s", "backlog"}, RET_INT};
		shapes[WSPH_FN_WSPSHUTDOWN] = (struct fn_shape){{"#s", "how"}, RET_INT};
		shapes[WSPH_FN_WSPGETSOCKOPT] =
			(struct fn_shape){{"#s", "#level", "#optname", "value"}, RET_INT};
		shapes[WSPH_FN_WSPSETSOCKOPT] =
			(struct fn_shape){{"#s", "#level", "#optname", "value"}, RET_INT};
		shapes[WSPH_FN_WSPIOCTL] =
			(struct fn_shape){{"#s", "#dwIoControlCode", "in", "out"}, RET_INT};
		shapes[WSPH_FN_WSPGETOVERLAPPEDRESULT] = (struct fn_shape){{"#s"}, RET_BOOL};
		shapes[WSPH_FN_WSPGETQOSBYNAME] = (struct fn_shape){{"#s"}, RET_BOOL};
		shapes[WSPH_FN_WSPSELECT] = (struct fn_shape){{"nfds"}, RET_INT};
		shapes[WSPH_FN_WSPSTRINGTOADDRESS] = (struct fn_shape){{NULL}, RET_INT};
		shapes[WSPH_FN_WSPADDRESSTOSTRING] = (struct fn_shape){{NULL}, RET_INT};
		shapes[WSPH_FN_WPUCLOSEEVENT] = (struct fn_shape){{"#hEvent"}, RET_BOOL};
		shapes[WSPH_FN_WPUCLOSESOCKETHANDLE] = (struct fn_shape){{"#s"}, RET_INT};
		shapes[WSPH_FN_WPUCREATEEVENT] = (struct fn_shape){{NULL}, RET_HANDLE};
		shapes[WSPH_FN_WPUCREATESOCKETHANDLE] =
			(struct fn_shape){{"dwCatalogEntryId", "#dwContext"}, RET_HANDLE};
		shapes[WSPH_FN_WPUFDISSET] = (struct fn_shape){{"#s", "#fdset"}, RET_INT};
		shapes[WSPH_FN_WPUGETPROVIDERPATH] =
			(struct fn_shape){{"#lpProviderId", "len"}, RET_INT};
		shapes[WSPH_FN_WPUMODIFYIFSHANDLE] =
			(struct fn_shape){{"dwCatalogEntryId", "#ProposedHandle"}, RET_HANDLE};
		shapes[WSPH_FN_WPUPOSTMESSAGE] =
			(struct fn_shape){{"#hWnd", "#Msg", "#wParam", "#lParam"}, RET_BOOL};
		shapes[WSPH_FN_WPUQUERYBLOCKINGCALLBACK] = (struct fn_shape){
			{"dwCatalogEntryId", "#callback", "#context"}, RET_INT};
		shapes[WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT] =
			(struct fn_shape){{"#s", "#context"}, RET_INT};
		shapes[WSPH_FN_WPUQUEUEAPC] = (struct fn_shape){
			{"#lpThreadId", "#lpfnUserApc", "#dwContext", "#ThreadHandle"}, RET_INT};
		shapes[WSPH_FN_WPURESETEVENT] = (struct fn_shape){{"#hEvent"}, RET_BOOL};
		shapes[WSPH_FN_WPUSETEVENT] = (struct fn_shape){{"#hEvent"}, RET_BOOL};
		shapes[WSPH_FN_WPUOPENCURRENTTHREAD] =
			(struct fn_shape){{"#lpThreadId", "#ThreadHandle"}, RET_INT};
		shapes[WSPH_FN_WPUCLOSETHREAD] =
			(struct fn_shape){{"#lpThreadId", "#ThreadHandle"}, RET_INT};
		shapes[WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST] = (struct fn_shape){
			{"#s", "#lpOverlapped", "%dwError", "cbTransferred"}, RET_INT};
		init = 1;
	}
	return &shapes[fn];
}

int wsph_fn_arg_names(enum wsph_fn fn, const char *names[WSPH_EV_ARGS], char marks[WSPH_EV_ARGS])
{
	int n = 0;
	for (int i = 0; i < WSPH_EV_ARGS; i++) {
		names[i] = NULL;
		if (marks)
			marks[i] = 0;
	}
	if ((int)fn < 0 || fn >= WSPH_FN_COUNT)
		return 0;
	const struct fn_shape *sh = shape_of(fn);
	for (; n < WSPH_EV_ARGS && sh->args[n]; n++) {
		const char *name = sh->args[n];
		int mark = name[0] == '#' || name[0] == '%';
		if (marks)
			marks[n] = mark ? name[0] : 0;
		names[n] = name + mark;
	}
	return n;
}

static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...) WSPH_PRINTF(4, 5);

#include <stdarg.h>
static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	if (*pos >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = (*pos + (size_t)n < len) ? *pos + (size_t)n : len - 1;
}

static int is_failure(const struct wsph_event *ev, int ret_kind)
{
	switch (ret_kind) {
	case RET_HANDLE:
		return ev->ret == -1;
	case RET_BOOL:
		return ev->ret == 0;
	case RET_CODE:
		return ev->ret != 0;
	case RET_INT:
		return ev->ret == -1;
	default:
		return 0;
	}
}

char *wsph_event_call_text(const struct wsph_event *ev, char *buf, size_t len)
{
	const struct fn_shape *sh = shape_of(ev->fn);
	size_t pos = 0;
	char e[64];
	buf[0] = '\0';
	cat(buf, len, &pos, "%s(", wsph_fn_name(ev->fn));
	for (int i = 0; i < WSPH_EV_ARGS && sh->args[i]; i++) {
		const char *name = sh->args[i];
		int hex = name[0] == '#', err = name[0] == '%';
		if (hex || err)
			name++;
		/* RETURN-only arguments are shown only once known. */
		if (ev->kind == WSPH_EV_CALL &&
		    (!strcmp(name, "sent") || !strcmp(name, "received") || !strcmp(name, "out") ||
		     !strcmp(name, "wVersion") || !strcmp(name, "wHighVersion") ||
		     !strcmp(name, "nullEntries") || !strcmp(name, "descTerminated")))
			continue;
		if (i)
			cat(buf, len, &pos, ", ");
		if (hex)
			cat(buf, len, &pos, "%s=0x%" PRIx64, name, ev->a[i]);
		else if (err)
			cat(buf, len, &pos, "%s=%s", name, wsph_error_format((int)ev->a[i], e, sizeof e));
		else
			cat(buf, len, &pos, "%s=%" PRId64, name, (int64_t)ev->a[i]);
	}
	cat(buf, len, &pos, ")");
	if (ev->kind == WSPH_EV_CALL)
		return buf;
	switch (sh->ret) {
	case RET_HANDLE:
		if (ev->ret == -1)
			cat(buf, len, &pos, " -> INVALID_SOCKET");
		else
			cat(buf, len, &pos, " -> 0x%" PRIx64, (uint64_t)ev->ret);
		break;
	case RET_BOOL:
		cat(buf, len, &pos, " -> %s", ev->ret ? "TRUE" : "FALSE");
		break;
	case RET_CODE:
		if (ev->ret)
			cat(buf, len, &pos, " -> %s", wsph_error_format((int)ev->ret, e, sizeof e));
		else
			cat(buf, len, &pos, " -> 0");
		break;
	case RET_INT:
		cat(buf, len, &pos, ev->ret == -1 ? " -> SOCKET_ERROR" : " -> %" PRId64, ev->ret);
		break;
	default:
		break;
	}
	if (is_failure(ev, sh->ret) && sh->ret != RET_CODE) {
		if (ev->err == WSPH_ERRNO_UNSET)
			cat(buf, len, &pos, ", *lpErrno not written");
		else
			cat(buf, len, &pos, ", %s", wsph_error_format(ev->err, e, sizeof e));
	}
	if (ev->fault) {
		cat(buf, len, &pos, " [fault injected: %s]", wsph_error_format(ev->fault, e, sizeof e));
	}
	return buf;
}

char *wsph_event_format(const struct wsph_event *ev, char *buf, size_t len)
{
	static const char *kinds[] = {"call  ", "return", "upcall"};
	static const char *tables[] = {"", " via table B", " via the poisoned table buffer",
				       " via the ws2_32 export"};
	char call[768];
	wsph_event_call_text(ev, call, sizeof call);
	snprintf(buf, len, "#%" PRIu64 " step %d %s %s%s [%s]", ev->seq, ev->step, kinds[ev->kind],
		 call, ev->kind == WSPH_EV_UPCALL && ev->table > 0 && ev->table < 4 ? tables[ev->table] : "",
		 ev->module[0] ? ev->module : "?");
	return buf;
}

char *wsph_trace_excerpt(struct wsph_trace *t, uint64_t from, uint64_t to, uint64_t mark)
{
	size_t cap = 4096, pos = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	if (from < 1)
		from = 1;
	for (uint64_t s = from; s <= to; s++) {
		struct wsph_event ev;
		if (wsph_trace_get(t, (size_t)(s - 1), &ev) != 0)
			break;
		char line[1024];
		wsph_event_format(&ev, line, sizeof line);
		size_t need = strlen(line) + 8;
		if (pos + need >= cap) {
			char *p = realloc(out, cap * 2 + need);
			if (!p)
				break;
			out = p;
			cap = cap * 2 + need;
		}
		pos += (size_t)sprintf(out + pos, "%s %s\n", s == mark ? "=>" : "  ", line);
	}
	return out;
}

char *wsph_trace_text(struct wsph_trace *t, size_t cap)
{
	size_t n = wsph_trace_count(t);
	size_t size = 256, pos = 0;
	char *out = malloc(size);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev;
		if (wsph_trace_get(t, i, &ev) != 0)
			break;
		char line[1024];
		wsph_event_format(&ev, line, sizeof line);
		size_t need = strlen(line) + 2;
		if (pos + need > cap) {
			const char *more = "... (trace truncated)\n";
			char *p = realloc(out, pos + strlen(more) + 1);
			if (p) {
				out = p;
				strcpy(out + pos, more);
			}
			break;
		}
		if (pos + need >= size) {
			size_t ns = (pos + need) * 2;
			char *p = realloc(out, ns);
			if (!p)
				break;
			out = p;
			size = ns;
		}
		pos += (size_t)sprintf(out + pos, "%s\n", line);
	}
	return out;
}
