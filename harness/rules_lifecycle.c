/* Lifecycle checks beside the rule engine: calls made inside a provider's DllMain, and writes into
 * the WSPPROC_TABLE buffer after WSPStartup returned. */
#include "rules_lifecycle.h"

#include "fn.h"
#include "platform/platform.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_DLLMAIN "SPI.DllMain.NoNetworkCalls"
#define R_PROCTABLE "SPI.Startup.ProcTableNotRetained"

/* What a DllMain may not call: ws2_32 (its exports and the upcall table it hands out), module
 * loading, and a lower provider (its WSPStartup and procedure table). GetProcAddress, PostMessage
 * and ExpandEnvironmentStrings are no ws2_32 functions. */
static int forbidden_in_dllmain(const struct wsph_event *ev)
{
	if (ev->kind == WSPH_EV_CALL)
		return ev->layer == 1;
	if (ev->kind != WSPH_EV_UPCALL)
		return 0;
	return ev->fn != WSPH_FN_GETPROCADDRESS && ev->fn != WSPH_FN_POSTMESSAGEA &&
	       ev->fn != WSPH_FN_POSTMESSAGEW && ev->fn != WSPH_FN_EXPANDENVIRONMENTSTRINGSA &&
	       ev->fn != WSPH_FN_EXPANDENVIRONMENTSTRINGSW;
}

void wsph_rules_dllmain_window(struct wsph_rules *r, struct wsph_trace *t, uint64_t after,
			       unsigned long thread, const char *when)
{
	size_t n = wsph_trace_count(t), count = 0;
	struct wsph_event ev, first;
	memset(&first, 0, sizeof first);
	for (size_t i = (size_t)after; i < n; i++) {
		if (wsph_trace_get(t, i, &ev) != 0 || ev.thread != thread || !forbidden_in_dllmain(&ev))
			continue;
		if (!count++)
			first = ev;
	}
	if (!count)
		return;
	char call[512], msg[1024];
	wsph_event_call_text(&first, call, sizeof call);
	snprintf(msg, sizeof msg,
		 "%s called %s while its DllMain ran (the harness was %s it: %s)%s; a DllMain may "
		 "call no ws2_32 function, no LoadLibrary or FreeLibrary, and nothing of a lower "
		 "provider",
		 first.module[0] ? first.module : "the provider", call, when,
		 strcmp(when, "loading") == 0 ? "DLL_PROCESS_ATTACH, or the constructors of a POSIX .so"
					      : "DLL_PROCESS_DETACH, or the destructors of a POSIX .so",
		 count > 1 ? ", and made more such calls" : "");
	wsph_rules_report(r, R_DLLMAIN, 0, first.seq, msg);
}

#define N_ENTRIES (sizeof(WSPPROC_TABLE) / sizeof(void *))

struct proctable {
	WSPPROC_TABLE live; /* what the provider got as lpProcTable */
	WSPPROC_TABLE kept; /* its content when WSPStartup returned */
	int step;
	int returned;
	int reported;
};

struct wsph_proctables {
	struct proctable **v;
	size_t n, cap;
};

struct wsph_proctables *wsph_proctables_new(void)
{
	return calloc(1, sizeof(struct wsph_proctables));
}

WSPPROC_TABLE *wsph_proctables_next(struct wsph_proctables *p, int step)
{
	if (!p)
		return NULL;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 4;
		struct proctable **v = realloc(p->v, nc * sizeof *v);
		if (!v)
			return NULL;
		p->v = v;
		p->cap = nc;
	}
	struct proctable *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->step = step;
	p->v[p->n++] = b;
	return &b->live;
}

void wsph_proctables_returned(struct wsph_proctables *p, const WSPPROC_TABLE *buf)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (&p->v[i]->live == buf) {
			memcpy(&p->v[i]->kept, buf, sizeof *buf);
			p->v[i]->returned = 1;
		}
}

/* An entry for people, without its address (reports stay the same from run to run). */
static const char *describe(const void *entry, char *buf, size_t len)
{
	char mod[64];
	if (!entry)
		snprintf(buf, len, "NULL");
	else if (strcmp(wsph_plat_module_name_at(entry, mod, sizeof mod), "?") == 0)
		snprintf(buf, len, "an address in no loaded module");
	else
		snprintf(buf, len, "a function in %s", mod);
	return buf;
}

void wsph_proctables_check(struct wsph_proctables *p, struct wsph_rules *r, int step,
			   uint64_t seq, const char *after)
{
	for (size_t i = 0; p && i < p->n; i++) {
		struct proctable *b = p->v[i];
		if (!b->returned || b->reported || !memcmp(&b->live, &b->kept, sizeof b->live))
			continue;
		void *was[N_ENTRIES], *now[N_ENTRIES];
		memcpy(was, &b->kept, sizeof was);
		memcpy(now, &b->live, sizeof now);
		size_t first = N_ENTRIES, changed = 0;
		for (size_t k = 0; k < N_ENTRIES; k++)
			if (memcmp(&was[k], &now[k], sizeof was[k]) != 0 && !changed++)
				first = k;
		if (first == N_ENTRIES)
			continue;
		b->reported = 1;
		char msg[1024], from[96], to[96];
		snprintf(msg, sizeof msg,
			 "the provider wrote into the WSPPROC_TABLE buffer the harness passed as "
			 "lpProcTable to the WSPStartup of step %d, after that call had returned (seen "
			 "when %s): lp%s changed from %s to %s%s; the table belongs to the caller once "
			 "WSPStartup returns (the harness calls through its own copy)",
			 b->step, after, wsph_fn_name((enum wsph_fn)(WSPH_FN_WSPACCEPT + (int)first)),
			 describe(was[first], from, sizeof from), describe(now[first], to, sizeof to),
			 changed > 1 ? " (and other entries changed too)" : "");
		wsph_rules_report(r, R_PROCTABLE, step, seq, msg);
	}
}

void wsph_proctables_free(struct wsph_proctables *p, int keep)
{
	if (!p)
		return;
	if (keep)
		return; /* a provider thread that kept lpProcTable may still write there */
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	free(p);
}
