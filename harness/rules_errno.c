/* The code a failing WSP call leaves in *lpErrno is one its page lists (SPI.Errno.Documented,
 * a warning), and WSA_IO_PENDING only ends a call the page treats as overlapped
 * (SPI.Errno.IoPendingOnlyOverlapped). */
#include "rules_errno.h"

#include "errtable.h"
#include "util.h"

#include "wsph/spi.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_DOCUMENTED "SPI.Errno.Documented"
#define R_IO_PENDING "SPI.Errno.IoPendingOnlyOverlapped"

/* Sockets the provider under test returned, with the overlapped attribute they were made with. */
struct sock {
	uint64_t s;
	int overlapped;
};

/* Per-case state: the sockets known to be overlapped. */
struct rules_errno {
	const struct wsph_rule_sink *sink;
	const struct wsph_ruleset *set; /* its errors: the tables of the WSP* pages (may be NULL) */
	struct sock *socks;
	size_t n, cap;
};

static void *errno_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	struct rules_errno *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->sink = sink;
	e->set = cfg->set;
	return e;
}

static void errno_destroy(void *st)
{
	struct rules_errno *e = st;
	if (!e)
		return;
	free(e->socks);
	free(e);
}

static struct sock *sock_find(struct rules_errno *e, uint64_t s)
{
	for (size_t i = e->n; i-- > 0;)
		if (e->socks[i].s == s)
			return &e->socks[i];
	return NULL;
}

static void sock_set(struct rules_errno *e, uint64_t s, int overlapped)
{
	struct sock *k = sock_find(e, s);
	if (!k) {
		if (e->n == e->cap) {
			size_t nc = e->cap ? e->cap * 2 : 16;
			struct sock *p = realloc(e->socks, nc * sizeof *p);
			if (!p)
				return;
			e->socks = p;
			e->cap = nc;
		}
		k = &e->socks[e->n++];
	}
	k->s = s;
	k->overlapped = overlapped;
}

static int failed(const struct wsph_event *ev)
{
	switch (ev->fn) {
	case WSPH_FN_WSPSTARTUP:
		return ev->ret != 0;
	case WSPH_FN_WSPGETOVERLAPPEDRESULT:
	case WSPH_FN_WSPGETQOSBYNAME:
		return ev->ret == 0; /* FALSE */
	default:
		return ev->ret == -1; /* SOCKET_ERROR, INVALID_SOCKET */
	}
}

/* The functions whose pages take lpOverlapped and lpCompletionRoutine. */
static int takes_overlapped(enum wsph_fn fn)
{
	return fn == WSPH_FN_WSPSEND || fn == WSPH_FN_WSPSENDTO || fn == WSPH_FN_WSPRECV ||
	       fn == WSPH_FN_WSPRECVFROM || fn == WSPH_FN_WSPIOCTL;
}

/*
 * Whether the page treats the call as overlapped: an overlapped socket, with lpOverlapped or
 * lpCompletionRoutine given. The driver's CALL of a transfer carries them in a[3] and a[4]; its
 * WSPIoctl passes neither. `why` gets the reason when it is not.
 */
static int overlapped_call(struct rules_errno *e, const struct wsph_event *call, char *why,
			   size_t len)
{
	if (!takes_overlapped(call->fn)) {
		snprintf(why, len, "%s has no overlapped form", wsph_fn_name(call->fn));
		return 0;
	}
	int given = call->fn != WSPH_FN_WSPIOCTL && (call->a[3] || call->a[4]);
	if (!given) {
		snprintf(why, len, "the call passed neither lpOverlapped nor lpCompletionRoutine");
		return 0;
	}
	/* A socket whose creation the trace does not show is given the benefit of the doubt. */
	const struct sock *k = sock_find(e, call->a[0]);
	if (k && !k->overlapped) {
		snprintf(why, len, "socket 0x%" PRIx64 " was created without WSA_FLAG_OVERLAPPED",
			 call->a[0]);
		return 0;
	}
	return 1;
}

static void track_sockets(struct rules_errno *e, const struct wsph_event *call,
			  const struct wsph_event *ret)
{
	if (ret->ret == -1)
		return;
	switch (ret->fn) {
	case WSPH_FN_WSPSOCKET: /* the CALL's a[4]: dwFlags */
		sock_set(e, (uint64_t)ret->ret, (call->a[4] & WSA_FLAG_OVERLAPPED) != 0);
		break;
	case WSPH_FN_WSPACCEPT:
	case WSPH_FN_WSPJOINLEAF: {
		/* The new socket has the properties of s. */
		const struct sock *k = sock_find(e, call->a[0]);
		sock_set(e, (uint64_t)ret->ret, k && k->overlapped);
		break;
	}
	default:
		break;
	}
}

/* A call of the harness into the provider under test returned (`call` is its CALL event). */
static void errno_return(void *st, const struct wsph_event *call, const struct wsph_event *ret)
{
	struct rules_errno *e = st;
	char text[1024], why[160], msg[4096];

	track_sockets(e, call, ret);
	/* WSPStartup returns its code (SPI.Startup.ErrorIsReturnValue); a missing or non-Winsock
	 * code is SPI.Errno.OnFailure's. */
	if (ret->fn == WSPH_FN_WSPSTARTUP || !failed(ret) || ret->err == WSPH_ERRNO_UNSET ||
	    ret->err == 0 || !wsph_error_name(ret->err))
		return;
	/* WSANOTINITIALISED answers a call made when the provider was not started, which ws2_32
	 * never passes on (it checks WSAStartup first): a scenario's call that came late, after the
	 * final WSPCleanup, and not the provider's code to choose. */
	if (ret->err == WSANOTINITIALISED)
		return;
	wsph_event_call_text(ret, text, sizeof text);
	if (ret->err == WSA_IO_PENDING && !overlapped_call(e, call, why, sizeof why)) {
		snprintf(msg, sizeof msg,
			 "%s, but %s: WSA_IO_PENDING reports an overlapped operation that was "
			 "started, and only a call with lpOverlapped or lpCompletionRoutine on an "
			 "overlapped socket starts one (the client now waits for a completion that "
			 "never comes)",
			 text, why);
		wsph_sink_report(e->sink, R_IO_PENDING, ret->step, ret->seq, msg);
		return;
	}
	const struct wsph_errtable *t = e->set ? e->set->errors : NULL;
	if (wsph_errtable_documents(t, ret->fn, ret->err) != 0)
		return; /* documented, or nothing known about fn */
	char list[900];
	wsph_errtable_list_text(t, ret->fn, list, sizeof list);
	snprintf(msg, sizeof msg,
		 "%s: %s is not in the error table of the %s page (documented: %s; %s)", text,
		 wsph_error_name(ret->err), wsph_fn_name(ret->fn), list, t->fn[ret->fn].source);
	wsph_sink_report(e->sink, R_DOCUMENTED, ret->step, ret->seq, msg);
}

const struct wsph_rule_family wsph_rule_family_errno = {
	.name = "errno",
	.create = errno_create,
	.destroy = errno_destroy,
	.on_return = errno_return,
};
