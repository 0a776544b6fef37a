/* Unit tests of the rule family interface (harness/rulefamily.h): a family registered through the
 * config gets every hook in the documented order, and what it reports through its sink arrives as
 * the engine's findings. A new family is one registration. */
#include "rules.h"

#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct wsph_ruleset set;
static struct wsph_trace *trace;
static struct wsph_rules *engine;
static char journal[4096]; /* what the probe families saw, in order */

static void note(const char *fmt, ...) WSPH_PRINTF(1, 2);

static void note(const char *fmt, ...)
{
	size_t len = strlen(journal);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(journal + len, sizeof journal - len, fmt, ap);
	va_end(ap);
}

/* ---- a probe family: it notes each hook, tagged A or B, and reports around WSPBind ---- */

struct probe {
	char tag;
	const struct wsph_rule_sink *sink;
};

static void *probe_create(char tag, const struct wsph_rule_sink *sink)
{
	struct probe *p = calloc(1, sizeof *p);
	cr_assert_not_null(p);
	p->tag = tag;
	p->sink = sink;
	note("%c:create ", tag);
	return p;
}

static void *probe_a_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	cr_assert_eq(cfg->kind, WSPH_KIND_NONIFS); /* the engine's config, as the driver set it */
	return probe_create('A', sink);
}

static void *probe_b_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	(void)cfg;
	return probe_create('B', sink);
}

static void probe_destroy(void *st)
{
	note("%c:destroy ", ((struct probe *)st)->tag);
	free(st);
}

static void probe_event(void *st, const struct wsph_event *ev)
{
	const struct probe *p = st;
	note("%c:event%" PRIu64 " ", p->tag, ev->seq);
	/* before the engine's own checks of the event */
	if (p->tag == 'A' && ev->kind == WSPH_EV_RETURN && ev->fn == WSPH_FN_WSPBIND)
		wsph_sink_report(p->sink, "WPU.FDIsSet.PureQuery", ev->step, 0, "A saw WSPBind return");
}

static void probe_return(void *st, const struct wsph_event *call, const struct wsph_event *ret)
{
	const struct probe *p = st;
	note("%c:return%" PRIu64 "/%" PRIu64 " ", p->tag, call->seq, ret->seq);
	/* after the engine's own return checks */
	if (p->tag == 'A' && ret->fn == WSPH_FN_WSPBIND)
		wsph_sink_report(p->sink, "WPU.SetEvent.Optional", ret->step, 0, "A judged WSPBind");
	if (p->tag == 'B' && ret->fn == WSPH_FN_WSPLISTEN)
		wsph_sink_report(p->sink, "WPU.SetEvent.Optional", ret->step, ret->seq,
				 "B judged WSPListen");
}

static void probe_step_end(void *st)
{
	note("%c:step_end ", ((struct probe *)st)->tag);
}

static void probe_finish(void *st)
{
	note("%c:finish ", ((struct probe *)st)->tag);
}

static const struct wsph_rule_family probe_a = {
	.name = "probe-a",
	.create = probe_a_create,
	.destroy = probe_destroy,
	.on_event = probe_event,
	.on_return = probe_return,
	.on_step_end = probe_step_end,
	.on_finish = probe_finish,
};

static const struct wsph_rule_family probe_b = {
	.name = "probe-b",
	.create = probe_b_create,
	.destroy = probe_destroy,
	.on_event = probe_event,
	.on_return = probe_return,
	.on_step_end = probe_step_end,
	.on_finish = probe_finish,
};

/* A family with nothing to judge in the case: create returns NULL, and no other hook runs. */
static void *absent_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	(void)cfg;
	(void)sink;
	note("absent:create ");
	return NULL;
}

static void absent_hook(void *st)
{
	(void)st;
	note("absent:hook ");
}

static const struct wsph_rule_family absent = {
	.name = "absent",
	.create = absent_create,
	.destroy = absent_hook,
	.on_step_end = absent_hook,
	.on_finish = absent_hook,
};

/* ---- the engine with a given family list ---- */

static const uint32_t own_ids[] = {1001};

static void start(const struct wsph_rule_family *const *families, int layered)
{
	struct wsph_diag d;
	memset(&set, 0, sizeof set);
	cr_assert_eq(wsph_ruleset_load(&set, WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &d), 0, "%s",
		     d.text);
	trace = wsph_trace_new();
	journal[0] = '\0';
	struct wsph_rules_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.set = &set;
	cfg.trace = trace;
	cfg.kind = WSPH_KIND_NONIFS;
	cfg.catalog_ids = own_ids;
	cfg.n_catalog_ids = 1;
	cfg.families = families;
	if (layered) {
		cfg.layered = 1;
		cfg.n_lower = 1;
		snprintf(cfg.lower[0].module, sizeof cfg.lower[0].module, "lower.so");
		cfg.lower[0].kind = WSPH_KIND_NONIFS;
		cfg.lower[0].ids[0] = 2001;
		cfg.lower[0].n_ids = 1;
	}
	engine = wsph_rules_new(&cfg);
	cr_assert_not_null(engine);
}

static void teardown(void)
{
	wsph_rules_free(engine);
	wsph_trace_free(trace);
	wsph_ruleset_free(&set);
}

static uint64_t event(enum wsph_ev_kind kind, enum wsph_fn fn, uint64_t parent, int64_t rv)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = kind;
	ev.fn = fn;
	ev.parent = parent;
	ev.ret = rv;
	ev.err = WSPH_ERRNO_UNSET;
	ev.step = 1;
	strcpy(ev.module, "provider.so");
	return wsph_trace_append(trace, &ev);
}

/* A call into the provider under test that returns rv. */
static void call_ret(enum wsph_fn fn, int64_t rv)
{
	uint64_t c = event(WSPH_EV_CALL, fn, 0, 0);
	event(WSPH_EV_RETURN, fn, c, rv);
	wsph_rules_advance(engine);
}

static struct wsph_finding *take(size_t *n)
{
	wsph_rules_finish(engine);
	return wsph_rules_take(engine, n);
}

static void release(struct wsph_finding *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].message);
		free(f[i].excerpt);
	}
	free(f);
}

/* ---- the tests ---- */

static const struct wsph_rule_family *const probes[] = {&probe_a, &probe_b, NULL};

Test(rulefamily, hooks_come_in_order_and_by_the_list, .fini = teardown)
{
	start(probes, 0);
	cr_assert_str_eq(journal, "A:create B:create ");
	call_ret(WSPH_FN_WSPSOCKET, -1);
	cr_assert_str_eq(journal, "A:create B:create A:event1 B:event1 A:event2 B:event2 "
				  "A:return1/2 B:return1/2 ");
	journal[0] = '\0';
	wsph_rules_step_end(engine);
	cr_assert_str_eq(journal, "A:step_end B:step_end ");
	journal[0] = '\0';
	size_t n;
	struct wsph_finding *f = take(&n);
	release(f, n);
	cr_assert_str_eq(journal, "A:finish B:finish ");
	journal[0] = '\0';
	wsph_rules_free(engine);
	engine = NULL;
	cr_assert_str_eq(journal, "A:destroy B:destroy ");
}

/* On the RETURN event the family speaks before the engine's checks; on the return hook after them
 * (the engine's SPI.Return.Domain for a WSPBind that returned 5 is made in between). */
Test(rulefamily, reports_arrive_as_findings_around_the_engines_own, .fini = teardown)
{
	start(probes, 0);
	call_ret(WSPH_FN_WSPBIND, 5);
	size_t n;
	struct wsph_finding *f = take(&n);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(f[0].rule->id, "WPU.FDIsSet.PureQuery");
	cr_expect_str_eq(f[0].message, "A saw WSPBind return");
	cr_expect_str_eq(f[1].rule->id, "SPI.Return.Domain");
	cr_expect_str_eq(f[2].rule->id, "WPU.SetEvent.Optional");
	cr_expect_str_eq(f[2].message, "A judged WSPBind");
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(f[i].step, 1);
	release(f, n);
}

/* A family's finding about an event is placed like the engine's: the event's excerpt and the
 * module that made it; and the engine's counters see it. */
Test(rulefamily, a_report_about_an_event_names_it, .fini = teardown)
{
	start(probes, 0);
	call_ret(WSPH_FN_WSPLISTEN, 0);
	cr_assert_eq(wsph_rules_errors(engine), 1);
	cr_assert_str_eq(wsph_rules_last_error(engine), "WPU.SetEvent.Optional");
	cr_assert(wsph_rules_charged(engine, 2));
	size_t n;
	struct wsph_finding *f = take(&n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(f[0].message, "B judged WSPListen");
	cr_expect_str_eq(f[0].module, "provider.so");
	cr_expect_eq(f[0].call_fn, WSPH_FN_WSPLISTEN);
	cr_expect_not_null(f[0].excerpt);
	release(f, n);
}

static const struct wsph_rule_family *const with_absent[] = {&absent, &probe_b, NULL};

Test(rulefamily, a_family_that_creates_nothing_sits_the_case_out, .fini = teardown)
{
	start(with_absent, 0);
	call_ret(WSPH_FN_WSPBIND, 0);
	wsph_rules_step_end(engine);
	size_t n;
	struct wsph_finding *f = take(&n);
	release(f, n);
	wsph_rules_free(engine);
	engine = NULL;
	cr_assert_str_eq(journal, "absent:create B:create B:event1 B:event2 B:return1/2 B:step_end "
				  "B:finish B:destroy ");
}

/* ---- the told hook: the engine asks the families what a layer told the provider below ---- */

static uint64_t asked_parent, asked_id;

static void *teller_create(const struct wsph_rules_config *cfg, const struct wsph_rule_sink *sink)
{
	(void)cfg;
	(void)sink;
	static int state;
	return &state;
}

static int teller_told(const void *st, const char *module, uint64_t parent, uint64_t id,
		       int *told_ifs)
{
	(void)st;
	*told_ifs = -1;
	if (!id)
		return 0;
	asked_parent = parent;
	asked_id = id;
	return !strcmp(module, "lower.so") && id == 4242;
}

static const struct wsph_rule_family teller = {
	.name = "teller",
	.create = teller_create,
	.told = teller_told,
};

/* A provider below the layer creates a socket handle with catalog id `id` (not its own 2001)
 * inside the harness's WSPSocket; the first finding's rule. */
static const char *lower_creates_with(uint64_t id, char *module, size_t len)
{
	uint64_t c = event(WSPH_EV_CALL, WSPH_FN_WSPSOCKET, 0, 0);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = WSPH_FN_WPUCREATESOCKETHANDLE;
	ev.parent = c;
	ev.a[0] = id;
	ev.ret = 0x100;
	ev.err = WSPH_ERRNO_UNSET;
	ev.table = WSPH_TABLE_A;
	strcpy(ev.module, "lower.so");
	strcpy(ev.behalf, "layer.so");
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
	static char rule[96];
	size_t n;
	struct wsph_finding *f = take(&n);
	cr_assert_geq(n, 1);
	snprintf(rule, sizeof rule, "%s", f[0].rule->id);
	snprintf(module, len, "%s", f[0].module);
	release(f, n);
	return rule;
}

static const struct wsph_rule_family *const with_teller[] = {&teller, NULL};
static const struct wsph_rule_family *const without_teller[] = {&probe_b, NULL};

Test(rulefamily, what_a_family_says_the_layer_told_is_the_layers_doing, .fini = teardown)
{
	char module[64];
	start(with_teller, 1);
	cr_expect_str_eq(lower_creates_with(4242, module, sizeof module),
			 "LSP.ProtocolInfo.Propagation");
	cr_expect_str_eq(module, "layer.so");
	cr_expect_eq(asked_parent, 1);
	cr_expect_eq(asked_id, 4242);
}

Test(rulefamily, with_no_family_that_knows_the_provider_below_is_charged, .fini = teardown)
{
	char module[64];
	start(without_teller, 1);
	cr_expect_str_eq(lower_creates_with(4242, module, sizeof module),
			 "WPU.CreateSocketHandle.OwnCatalogId");
	cr_expect_str_eq(module, "lower.so");
}

/* The config names no family: the registered ones run (rules_errno.c judges the code here). */
Test(rulefamily, no_list_in_the_config_means_the_registered_families, .fini = teardown)
{
	start(NULL, 0);
	/* the failing call's WSA_IO_PENDING is SPI.Errno.IoPendingOnlyOverlapped (rules_errno.c) */
	uint64_t c = event(WSPH_EV_CALL, WSPH_FN_WSPBIND, 0, 0);
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.kind = WSPH_EV_RETURN;
	ev.fn = WSPH_FN_WSPBIND;
	ev.parent = c;
	ev.ret = -1;
	ev.err = WSA_IO_PENDING;
	wsph_trace_append(trace, &ev);
	wsph_rules_advance(engine);
	cr_assert_str_eq(wsph_rules_last_error(engine), "SPI.Errno.IoPendingOnlyOverlapped");
	cr_assert_str_empty(journal);
}
