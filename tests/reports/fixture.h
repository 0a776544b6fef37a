/* A results model for report tests: a failing case with events and findings at events (each with
 * its site), a passing case with a hostile name, a warning and a rule it did not reach, a skip, and
 * an error that kept a finding made before it and steps it did not reach; and a small rule
 * catalogue. Shared by the Criterion tests and the fixture writer (included once per program:
 * everything is static). */
#ifndef WSPH_TEST_FIXTURE_H
#define WSPH_TEST_FIXTURE_H

#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTX     0x7f00deadbeefULL /* a provider's heap pointer */
#define CTX2    0x55aa00112230ULL
#define HOSTILE "evil<&>\"'#\\[x]\x1b[31m\xff|*_"

/* ---- the model ---- */

static struct wsph_upcall_row rows[] = {
    {.function = "WPUCloseSocketHandle",
     .description = "Closes a <socket> handle & more.",
     .status = WSPH_ROW_REQUIRED,
     .published = "Required."},
    {.function = "WPUCreateSocketHandle",
     .description = "Creates a new socket handle.",
     .status = WSPH_ROW_REQUIRED_NONIFS,
     .published = "Required for nonIFS providers."},
    {.function = "WPUCloseEvent",
     .description = "Closes an event.",
     .status = WSPH_ROW_NOT_STATED,
     .published = ""},
    {.function = "WPUQuerySocketHandleContext",
     .description = "Queries the context.",
     .status = WSPH_ROW_REQUIRED_NONIFS,
     .published = "Required for nonIFS providers."},
};

static struct wsph_rule rules[] = {
    {.id = "SPI.Errno.OnFailure",
     .level = "MUST",
     .severity = WSPH_SEV_ERROR,
     .statement = "A failure writes *lpErrno.",
     .source = "spec 7"},
    {.id = "SPI.Startup.Blocking",
     .level = "MAY",
     .severity = WSPH_SEV_ERROR,
     .statement = "Not observable here.",
     .source = "spec 4",
     .not_checkable = "no hook"},
    {.id = "WPU.CloseSocketHandle.MatchesCreate",
     .level = "MUST",
     .severity = WSPH_SEV_ERROR,
     .statement = "Close only created handles.",
     .source = "spec 7.2"},
    {.id = "WPU.Handles.NoLeak",
     .level = "MUST",
     .severity = WSPH_SEV_ERROR,
     .statement = "Release every handle.",
     .source = "spec 7.2"},
    {.id = "X.Warn",
     .level = "SHOULD",
     .severity = WSPH_SEV_WARNING,
     .statement = "A warning <rule>.",
     .source = "spec 9"},
};

static struct wsph_ruleset set = {
    .path = "rules.yaml",
    .rows = rows,
    .n_rows = sizeof rows / sizeof rows[0],
    .rules = rules,
    .n_rules = sizeof rules / sizeof rules[0],
    .table_source = "https://example.invalid/upcalls",
};

static void *must(void *p)
{
	if (!p) {
		fputs("out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(must(malloc(n)), s, n);
}

static struct wsph_event ev(uint64_t seq, enum wsph_ev_kind kind, enum wsph_fn fn, int step,
                            uint64_t parent, const char *module)
{
	struct wsph_event e;
	memset(&e, 0, sizeof e);
	e.seq = seq;
	e.time_ns = seq * 1000;
	e.thread = 4242;
	e.kind = kind;
	e.fn = fn;
	e.step = step;
	e.parent = parent;
	e.err = WSPH_ERRNO_UNSET;
	strcpy(e.module, module);
	return e;
}

static struct wsph_finding finding(int rule, int step, const char *msg, const char *excerpt)
{
	struct wsph_finding f;
	memset(&f, 0, sizeof f);
	f.rule = &rules[rule];
	f.step = step;
	f.loc.file = "scenarios/x.yaml";
	f.loc.line = 10 + step;
	f.loc.col = 7;
	f.message = xdup(msg);
	f.excerpt = excerpt ? xdup(excerpt) : NULL;
	f.call_fn = f.upcall_fn = -1; /* no site until one is given */
	return f;
}

/* The finding's site: the module charged, the WSP call and the upcall (-1: none). */
static struct wsph_finding at_site(struct wsph_finding f, const char *module, int call_fn,
                                   int upcall_fn)
{
	snprintf(f.module, sizeof f.module, "%s", module);
	f.call_fn = call_fn;
	f.upcall_fn = upcall_fn;
	return f;
}

/* Appends to c what it did not reach: a step not run (rule < 0) or a rule of rules[]. */
static void unreached(struct wsph_case *c, int rule, int step, const char *reason)
{
	c->unreached = must(realloc(c->unreached, (c->n_unreached + 1) * sizeof *c->unreached));
	c->unreached[c->n_unreached].rule = rule < 0 ? NULL : &rules[rule];
	c->unreached[c->n_unreached].step = step;
	c->unreached[c->n_unreached].reason = xdup(reason);
	c->n_unreached++;
}

/* Case 0 FAIL with seven events (a nested upcall, a failing close, an upcall from another thread)
 * and four findings; case 1 PASS with a hostile name and a warning; case 2 SKIP; case 3 ERROR. */
static void build(struct wsph_results *r)
{
	struct wsph_case *c;
	struct wsph_event *e;

	memset(r, 0, sizeof *r);
	r->provider = "/opt/p/mock<&>.so";
	strcpy(r->provider_sha256,
	       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	r->harness_version = "0.1.0";
	r->kind = "nonifs";
	strcpy(r->hostname, "build-07");
	r->timestamp = 1769853600;
	r->time = 1.5;
	r->set = &set;
	r->n_cases = 4;
	r->cases = must(calloc(4, sizeof *r->cases));

	c = &r->cases[0];
	c->classname = "wspharness.sockets.nonifs";
	c->name = xdup("create-and-close[nonifs]");
	c->file = "scenarios/sockets/nonifs.yaml";
	c->line = 3;
	c->time = 0.25;
	c->outcome = WSPH_FAIL;
	e = must(calloc(7, sizeof *e));
	e[0] = ev(1, WSPH_EV_CALL, WSPH_FN_WSPSOCKET, 1, 0, "wspharness");
	e[0].a[0] = 2, e[0].a[1] = 1, e[0].a[2] = 6, e[0].a[3] = 1001, e[0].a[4] = 1;
	e[1] = ev(2, WSPH_EV_UPCALL, WSPH_FN_WPUCREATESOCKETHANDLE, 1, 1, "mock.so");
	e[1].a[0] = 1001, e[1].a[1] = CTX, e[1].ret = 0x3c000000;
	e[2] = ev(3, WSPH_EV_RETURN, WSPH_FN_WSPSOCKET, 1, 1, "mock.so");
	e[2].a[0] = 2, e[2].a[1] = 1, e[2].a[2] = 6, e[2].a[3] = 1001, e[2].a[4] = 1;
	e[2].ret = 0x3c000000;
	e[3] = ev(4, WSPH_EV_CALL, WSPH_FN_WSPCLOSESOCKET, 2, 0, "wspharness");
	e[3].a[0] = 0x3c000000;
	e[4] = ev(5, WSPH_EV_UPCALL, WSPH_FN_WPUCLOSESOCKETHANDLE, 2, 4, "mock.so");
	e[4].a[0] = 0x3c000008, e[4].ret = -1, e[4].err = 10038, e[4].table = WSPH_TABLE_B;
	e[5] = ev(6, WSPH_EV_RETURN, WSPH_FN_WSPCLOSESOCKET, 2, 4, "mock.so");
	e[5].a[0] = 0x3c000000, e[5].ret = -1;
	e[6] = ev(7, WSPH_EV_UPCALL, WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT, 0, 0, "mock.so");
	e[6].a[0] = 0x3c000000, e[6].a[1] = CTX2, e[6].thread = 777, e[6].fault = 10055;
	e[6].ret = -1, e[6].err = 10055;
	c->events = must(wsph_trace_new());
	for (int k = 0; k < 7; k++)
		must((void *)(uintptr_t)wsph_trace_put(c->events, &e[k]));
	c->events = wsph_trace_seal(c->events);
	free(e);
	c->n_findings = 4;
	c->findings = must(calloc(4, sizeof *c->findings));
	c->findings[0] = at_site(
	    finding(2, 2, "WPUCloseSocketHandle(s=0x3c000008) closed a handle it never created",
	            "   #4 step 2 call WSPCloseSocket(s=0x3c000000) [wspharness]\n"
	            "=> #5 step 2 upcall WPUCloseSocketHandle(s=0x3c000008) -> SOCKET_ERROR "
	            "[mock.so]\n"),
	    "mock.so", WSPH_FN_WSPCLOSESOCKET, WSPH_FN_WPUCLOSESOCKETHANDLE);
	c->findings[1] = at_site(
	    finding(0, 2, "WSPCloseSocket failed but *lpErrno was not written",
	            "=> #6 step 2 return WSPCloseSocket(s=0x3c000000) -> SOCKET_ERROR [mock.so]\n"),
	    "mock.so", WSPH_FN_WSPCLOSESOCKET, -1);
	c->findings[2] = finding(4, 0, "a warning about context 0x7f00deadbeef", NULL);
	c->findings[3] = at_site(
	    finding(3, 0, "handle 0x3c000000 (context 0x7f00deadbeef) leaked",
	            "   #1 step 1 call WSPSocket() [wspharness]\n"
	            "=> #2 step 1 upcall WPUCreateSocketHandle(dwCatalogEntryId=1001, "
	            "dwContext=0x7f00deadbeef) -> 0x3c000000 [mock.so]\n"
	            "   #3 step 1 return WSPSocket() -> 0x3c000000 [mock.so]\n"),
	    "mock.so", WSPH_FN_WSPSOCKET, WSPH_FN_WPUCREATESOCKETHANDLE);
	c->trace = xdup("#2 step 1 upcall WPUCreateSocketHandle(dwCatalogEntryId=1001, "
	                "dwContext=0x7f00deadbeef) -> 0x3c000000 [mock.so]\n");

	c = &r->cases[1];
	c->classname = "wspharness.evil";
	c->name = xdup(HOSTILE);
	c->file = "scenarios/evil.yaml";
	c->line = 1;
	c->outcome = WSPH_PASS;
	c->n_findings = 1;
	c->findings = must(calloc(1, sizeof *c->findings));
	c->findings[0] =
	    finding(4, 1, "hostile \x01\x1b[2J ]]> \xc0\xaf \xed\xa0\x80 \xe2\x80\xa8 end", NULL);
	unreached(c, 3, 0, "premise <&> \x1b[31m# \\ unmet ]]> \xff");

	c = &r->cases[2];
	c->classname = "wspharness.sockets.ifs";
	c->name = xdup("modified-handle[nonifs]");
	c->file = "scenarios/sockets/ifs.yaml";
	c->line = 5;
	c->outcome = WSPH_SKIP;
	c->skip_reason = xdup("the scenario applies to ifs providers only");

	c = &r->cases[3];
	c->classname = "wspharness.sockets.nonifs";
	c->name = xdup("crashes[nonifs]");
	c->file = "scenarios/sockets/nonifs.yaml";
	c->line = 40;
	c->outcome = WSPH_ERROR;
	c->error_type = xdup("crash");
	c->error_message = xdup("the provider crashed (signal 11)");
	/* Findings stream from the child as they are made: the crash keeps this one. */
	c->n_findings = 1;
	c->findings = must(calloc(1, sizeof *c->findings));
	c->findings[0] = at_site(finding(0, 1, "WSPStartup failed but *lpErrno was not written", NULL),
	                         "mock.so", WSPH_FN_WSPSTARTUP, -1);
	unreached(c, -1, 3, "the provider crashed in step 2");
	unreached(c, 2, 2, "no handle was closed before the crash");
}

#endif
