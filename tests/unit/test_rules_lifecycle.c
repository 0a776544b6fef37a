/* Unit tests of the lifecycle checks beside the engine: the DllMain window and the watched
 * procedure table buffers. */
#include "rules_lifecycle.h"

#include "platform/platform.h"
#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;

static void setup(void)
{
	struct wsph_diag d;
	memset(&set, 0, sizeof set);
	cr_assert_eq(wsph_ruleset_load(&set, WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &d), 0, "%s",
		     d.text);
	trace = wsph_trace_new();
	static const uint32_t ids[] = {1001};
	struct wsph_rules_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.set = &set;
	cfg.trace = trace;
	cfg.kind = WSPH_KIND_NONIFS;
	cfg.catalog_ids = ids;
	cfg.n_catalog_ids = 1;
	engine = wsph_rules_new(&cfg);
}

static void teardown(void)
{
	wsph_rules_free(engine);
	wsph_trace_free(trace);
	wsph_ruleset_free(&set);
}

/* The rule IDs found so far, in order, joined by spaces. */
static const char *found(void)
{
	static char out[512];
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strncat(out, i ? " " : "", sizeof out - strlen(out) - 1);
		strncat(out, f[i].rule->id, sizeof out - strlen(out) - 1);
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
	return out;
}

static void upcall(enum wsph_fn fn, const char *module)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = fn;
	ev.err = WSPH_ERRNO_UNSET;
	snprintf(ev.module, sizeof ev.module, "%s", module);
	wsph_trace_append(trace, &ev);
}

TestSuite(dllmain, .init = setup, .fini = teardown);

Test(dllmain, a_catalog_call_inside_the_load_is_reported)
{
	unsigned long me = wsph_plat_thread_id();
	upcall(WSPH_FN_WSCENUMPROTOCOLS, "before.so"); /* before the window: not in DllMain */
	uint64_t mark = wsph_trace_count(trace);
	upcall(WSPH_FN_WSCENUMPROTOCOLS, "p.so");
	wsph_rules_dllmain_window(engine, trace, mark, me, "loading");
	cr_expect_str_eq(found(), "SPI.DllMain.NoNetworkCalls");
}

Test(dllmain, getprocaddress_and_other_threads_are_not)
{
	uint64_t mark = wsph_trace_count(trace);
	upcall(WSPH_FN_GETPROCADDRESS, "p.so");
	upcall(WSPH_FN_POSTMESSAGEW, "p.so");
	upcall(WSPH_FN_EXPANDENVIRONMENTSTRINGSW, "p.so"); /* kernel32's, not ws2_32's */
	wsph_rules_dllmain_window(engine, trace, mark, wsph_plat_thread_id(), "unloading");
	upcall(WSPH_FN_LOADLIBRARYW, "p.so");
	wsph_rules_dllmain_window(engine, trace, mark, wsph_plat_thread_id() + 1, "unloading");
	cr_expect_str_eq(found(), "");
}

Test(dllmain, module_loading_and_upcalls_are)
{
	uint64_t mark = wsph_trace_count(trace);
	upcall(WSPH_FN_FREELIBRARY, "p.so");
	wsph_rules_dllmain_window(engine, trace, mark, wsph_plat_thread_id(), "unloading");
	cr_expect_str_eq(found(), "SPI.DllMain.NoNetworkCalls");
	mark = wsph_trace_count(trace);
	upcall(WSPH_FN_WPUCLOSESOCKETHANDLE, "p.so");
	wsph_rules_dllmain_window(engine, trace, mark, wsph_plat_thread_id(), "unloading");
	cr_expect_str_eq(found(), "SPI.DllMain.NoNetworkCalls");
}

TestSuite(proctable, .init = setup, .fini = teardown);

static int WSPAPI some_cleanup(LPINT err)
{
	(void)err;
	return 0;
}

Test(proctable, a_table_left_alone_is_quiet)
{
	struct wsph_proctables *p = wsph_proctables_new();
	WSPPROC_TABLE *t = wsph_proctables_next(p, 1);
	cr_assert_not_null(t);
	t->lpWSPCleanup = some_cleanup; /* written during WSPStartup: the provider's job */
	wsph_proctables_returned(p, t);
	wsph_proctables_check(p, engine, 2, 0, "step 2 ended");
	cr_expect_str_eq(found(), "");
	wsph_proctables_free(p, 0);
}

Test(proctable, a_write_after_the_return_is_reported_once)
{
	struct wsph_proctables *p = wsph_proctables_new();
	WSPPROC_TABLE *a = wsph_proctables_next(p, 1);
	a->lpWSPCleanup = some_cleanup;
	wsph_proctables_returned(p, a);
	WSPPROC_TABLE *b = wsph_proctables_next(p, 2); /* a second startup's buffer, not returned yet */
	b->lpWSPCleanup = some_cleanup;
	wsph_proctables_check(p, engine, 2, 0, "step 2 ended");
	cr_expect_str_eq(found(), "");
	a->lpWSPCleanup = NULL;
	wsph_proctables_check(p, engine, 3, 0, "WSPSocket returned");
	wsph_proctables_check(p, engine, 4, 0, "step 4 ended");
	size_t n;
	struct wsph_finding *f = wsph_rules_take(engine, &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].rule->id, "SPI.Startup.ProcTableNotRetained");
	cr_expect_eq(f[0].step, 3);
	cr_expect(strstr(f[0].message, "lpWSPCleanup changed from a function in ") != NULL, "%s",
		  f[0].message);
	cr_expect(strstr(f[0].message, " to NULL") != NULL, "%s", f[0].message);
	free(f[0].message);
	free(f[0].excerpt);
	free(f);
	wsph_proctables_free(p, 0);
}
