/* `wspharness show TRACE`: a JSON-lines trace (schema wspharness.trace/1) printed for people, WSP
 * calls with their upcalls nested under them, arguments by symbolic name, findings at their event,
 * what each case did not reach, and the defects (findings grouped by rule and site).
 */
#include "casemap.h"
#include "decode.h"
#include "json.h"
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* U+2014, the separator before a defect's site (spelled out: the sources stay ASCII). */
#define EM_DASH "\xE2\x80\x94"

#define SCHEMA "wspharness.trace/1"

struct rec {
	cJSON *v;
	const char *type;
	size_t line; /* 1-based line in the file */
};

struct show {
	FILE *out;
	const char *path;
	struct rec *recs;
	size_t n;
};

/* ---- output hygiene: the file is untrusted, the terminal is not a parser ---- */

static void put_clean(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char b = (unsigned char)*s;
		if (b == '\n' || b == '\r' || b == '\t')
			fputc(' ', out);
		else if (b < 0x20 || b == 0x7F)
			fputc('?', out);
		else
			fputc(b, out);
	}
}

/* ---- arguments by name (decode.h) ---- */

static int contains_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle), i;

	for (; *s; s++) {
		for (i = 0; i < n; i++) {
			char a = s[i], b = needle[i];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (!a || a != b)
				break;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

/* The numeric value of an argument: a JSON integer or a "0x..." string; 0 when it has none (a
 * placeholder such as "0x<ptr1>"). */
static int arg_value(const cJSON *v, long long *out)
{
	int64_t i;

	if (wsph_json_int(v, &i)) {
		*out = (long long)i;
		return 1;
	}
	if (cJSON_IsString(v) && v->valuestring[0] == '0' && v->valuestring[1] == 'x' &&
	    v->valuestring[2]) {
		char *end;
		errno = 0;
		unsigned long long u = strtoull(v->valuestring + 2, &end, 16);
		if (*end == '\0' && errno == 0) {
			*out = (long long)u;
			return 1;
		}
	}
	return 0;
}

/* The table's word on argument `name` of fn (harness/trace.c); 0 when fn or name is unknown. */
static int param_of(int fn, const char *name, struct wsph_param *out)
{
	struct wsph_param ps[WSPH_FN_PARAMS_MAX];
	int i, n = fn >= 0 ? wsph_fn_params((enum wsph_fn)fn, ps) : 0;

	for (i = 0; i < n; i++)
		if (!strcmp(ps[i].name, name)) {
			*out = ps[i];
			return 1;
		}
	return 0;
}

/* One argument, "name=value": by name where decode.h knows it ("level=SOL_SOCKET (65535)"), a
 * string in quotes, an error code by name, else as recorded. */
static void put_arg(FILE *out, int fn, const char *name, const cJSON *v, long long level,
                    const char *text, int output)
{
	long long x = 0;
	char e[1024];
	struct wsph_param p;
	int how;

	if (param_of(fn, name, &p) && p.kind == 's' && strcmp(name, "sets") != 0 &&
	    (cJSON_IsString(v) || cJSON_IsNull(v))) {
		put_clean(out, name);
		fputc('=', out);
		put_clean(out, wsph_quote(cJSON_IsString(v) ? v->valuestring : NULL, e, sizeof e));
		return;
	}
	if (!arg_value(v, &x))
		x = 0;
	how = fn >= 0 ? wsph_decode_arg(wsph_fn_name((enum wsph_fn)fn), name, (uint64_t)x, level,
	                                text, WSPH_DECODE_NUMBER | (output ? WSPH_DECODE_OUTPUT : 0),
	                                e, sizeof e)
	              : 0;
	if (how == 2) { /* names its parts itself */
		if (output)
			fputs("ready: ", out);
		put_clean(out, e);
		return;
	}
	put_clean(out, name);
	fputc('=', out);
	if (how && (arg_value(v, &x) || text)) {
		put_clean(out, e);
		return;
	}
	if (!arg_value(v, &x)) {
		if (cJSON_IsString(v))
			put_clean(out, v->valuestring);
		else if (cJSON_IsNumber(v))
			fprintf(out, "%g", v->valuedouble);
		else if (cJSON_IsBool(v))
			fputs(cJSON_IsTrue(v) ? "true" : "false", out);
		else
			fputs("null", out);
		return;
	}
	if (contains_ci(name, "error") || contains_ci(name, "errno")) {
		fputs(wsph_error_format((int)x, e, sizeof e), out);
		return;
	}
	if (cJSON_IsString(v))
		put_clean(out, v->valuestring);
	else
		fprintf(out, "%lld", x);
}

/* Which arguments a list shows: the ones a call is made with, the values it returned, or all
 * (an upcall's record holds both). */
enum which { INPUTS, OUTPUTS, ALL };

static int is_output(int fn, const char *name)
{
	struct wsph_param p;
	return param_of(fn, name, &p) ? p.output : wsph_arg_is_output(name);
}

/* "a=1, b=FD_READ" in call order (without parentheses); returns how many were shown. */
static size_t put_arg_list(FILE *out, int fn, const cJSON *args, enum which which)
{
	const cJSON *lv = wsph_json_get(args, "level"), *a;
	const char *sets = wsph_json_get_string(args, "sets");
	long long level = -1;
	size_t shown = 0;

	if (lv)
		arg_value(lv, &level);
	if (!cJSON_IsObject(args))
		return 0;
	cJSON_ArrayForEach(a, args) {
		int is_sets = !strcmp(a->string, "sets");
		if (which != ALL && !is_sets && is_output(fn, a->string) != (which == OUTPUTS))
			continue;
		if (is_sets && which == OUTPUTS && (!sets || !strchr(sets, '>')))
			continue; /* the sets returned: only when the call returned some */
		if (shown++)
			fputs(", ", out);
		put_arg(out, fn, a->string, a, level, is_sets ? sets : NULL, which == OUTPUTS);
	}
	return shown;
}

static int has_outputs(int fn, const cJSON *args)
{
	const char *sets = wsph_json_get_string(args, "sets");
	const cJSON *a;

	if (!cJSON_IsObject(args))
		return 0;
	cJSON_ArrayForEach(a, args)
		if (is_output(fn, a->string))
			return 1;
	return sets && strchr(sets, '>') != NULL;
}

/* ---- records ---- */

static const char *str(const struct rec *r, const char *key)
{
	return wsph_json_get_string(r->v, key);
}

static int is_null_or_absent(const struct rec *r, const char *key)
{
	const cJSON *m = wsph_json_get(r->v, key);
	return !m || cJSON_IsNull(m);
}

/* " -> 0x3c000000", " -> SOCKET_ERROR, WSAENOTSOCK (10038)": r's result and error. */
static void put_ret(FILE *out, const struct rec *r, int fn)
{
	const cJSON *ret = wsph_json_get(r->v, "ret");
	char buf[96];
	int64_t x = 0;
	int is_int = wsph_json_int(ret, &x);

	if (!ret || cJSON_IsNull(ret))
		return;
	fputs(" -> ", out);
	if (is_int && fn >= 0)
		fputs(wsph_ret_format(NULL, (enum wsph_fn)fn, x, buf, sizeof buf), out);
	else if (cJSON_IsString(ret))
		put_clean(out, ret->valuestring);
	else if (is_int)
		fprintf(out, "%lld", (long long)x);
	else
		fputs("?", out);
	if (fn < 0 || !is_int || !wsph_ret_is_failure((enum wsph_fn)fn, x) ||
	    fn == WSPH_FN_WSPSTARTUP)
		return;
	if (!is_null_or_absent(r, "errno"))
		fprintf(out, ", %s",
		        wsph_error_format((int)wsph_json_get_int(r->v, "errno", 0), buf, sizeof buf));
	else if (wsph_fn_ret_errno((enum wsph_fn)fn))
		fputs(", *lpErrno not written", out);
}

/* The events of one case linked: each call's return, shown on the call's line ("merged"), and
 * each event's depth under the calls it happened in (a layer's call to the provider below, and
 * that provider's upcalls, under the layer's call). */
struct tree {
	size_t n;
	const struct rec **ev; /* in trace order */
	long *ret;             /* a call's return (its index), -1 none */
	char *merged;          /* a return shown on its call's line */
	int *depth;
};

#define MAX_DEPTH 12

static long long seq_of(const struct rec *r)
{
	return (long long)wsph_json_get_int(r->v, "seq", 0);
}

/* The index of the event with this seq (seqs rise through a case), or -1. */
static long find_seq(const struct tree *t, long long seq)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long long m = seq_of(t->ev[mid]);
		if (m == seq)
			return (long)mid;
		if (m < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void tree_free(struct tree *t)
{
	free(t->ev);
	free(t->ret);
	free(t->merged);
	free(t->depth);
	memset(t, 0, sizeof *t);
}

static int tree_build(const struct show *s, size_t from, size_t to, struct tree *t)
{
	size_t i, k = 0;

	memset(t, 0, sizeof *t);
	for (i = from + 1; i < to; i++)
		t->n += !strcmp(s->recs[i].type, "event");
	t->ev = calloc(t->n + 1, sizeof *t->ev);
	t->ret = calloc(t->n + 1, sizeof *t->ret);
	t->merged = calloc(t->n + 1, 1);
	t->depth = calloc(t->n + 1, sizeof *t->depth);
	if (!t->ev || !t->ret || !t->merged || !t->depth) {
		tree_free(t);
		return -1;
	}
	for (i = from + 1; i < to; i++)
		if (!strcmp(s->recs[i].type, "event"))
			t->ev[k++] = &s->recs[i];
	for (i = 0; i < t->n; i++) {
		const struct rec *e = t->ev[i];
		const char *kind = str(e, "kind");
		long p = is_null_or_absent(e, "parent")
		             ? -1
		             : find_seq(t, (long long)wsph_json_get_int(e->v, "parent", 0));
		int is_ret = kind && !strcmp(kind, "return");
		t->ret[i] = -1;
		if (p < 0 || (size_t)p >= i)
			continue;
		if (is_ret && t->ret[p] < 0 && !strcmp(str(t->ev[p], "kind"), "call")) {
			t->ret[p] = (long)i;
			t->merged[i] = 1;
			t->depth[i] = t->depth[p];
		} else if (!is_ret) {
			t->depth[i] = t->depth[p] < MAX_DEPTH ? t->depth[p] + 1 : MAX_DEPTH;
		}
	}
	return 0;
}

static void put_indent(FILE *out, int depth)
{
	fprintf(out, "%*s", 4 + 2 * depth, "");
}

/* ", interposed" (an import), ", table A", ", through the ws2_32 export", ...: how an upcall
 * reached the harness. */
static void put_table(FILE *out, int fn, const char *table)
{
	if (fn >= WSPH_FN_FIRST_IMPORT)
		fputs(", interposed", out);
	else if (!strcmp(table, "poison"))
		fputs(", through the poisoned table buffer", out);
	else if (!strcmp(table, "export"))
		fputs(", through the ws2_32 export", out);
	else {
		fputs(", table ", out);
		put_clean(out, table);
	}
}

/* "[by mockbase.so for lsp.so, table A, thread 2]": who made it, where it was answered, how. */
static void put_site(FILE *out, const struct rec *e, const struct rec *ret, int fn,
                     unsigned long main_thread)
{
	const char *kind = str(e, "kind");
	int up = !strcmp(kind, "upcall"), is_ret = !strcmp(kind, "return");
	const char *module = str(e, "module"), *table = str(e, "table");
	long long thread = wsph_json_get_int(e->v, "thread", 0);

	fputs(is_ret ? "  [in " : "  [by ", out);
	put_clean(out, module ? module : "?");
	if (str(e, "behalf")) { /* the provider below, acting for its layer */
		fputs(" for ", out);
		put_clean(out, str(e, "behalf"));
	}
	if (ret) {
		fputs(", in ", out);
		put_clean(out, str(ret, "module") ? str(ret, "module") : "?");
		if (str(ret, "behalf")) {
			fputs(" for ", out);
			put_clean(out, str(ret, "behalf"));
		}
	}
	if (up && table)
		put_table(out, fn, table);
	if (main_thread && (unsigned long)thread != main_thread)
		fprintf(out, ", thread %lld", thread);
	fputs("]\n", out);
}

/* One line: an upcall; a call with its return ("#4-6 WSPSocket(...) -> 0x3c000000  [by wspharness,
 * in mockbase.so]", "(no return)" when it never came); a return whose call is not in the trace. */
static void put_event(const struct show *s, const struct rec *r, const struct rec *ret, int depth,
                      unsigned long main_thread)
{
	FILE *out = s->out;
	const char *kind = str(r, "kind"), *fname = str(r, "function"), *table = str(r, "table");
	int fn = wsph_fn_by_name(fname);
	int up = !strcmp(kind, "upcall"), is_ret = !strcmp(kind, "return");
	char buf[96];

	put_indent(out, depth);
	fprintf(out, "#%lld", seq_of(r));
	if (ret)
		fprintf(out, "-%lld", seq_of(ret));
	fputs(up ? " upcall " : is_ret ? " return " : " ", out);
	put_clean(out, fname);
	if (is_ret) {
		const cJSON *args = wsph_json_get(r->v, "args");
		if (has_outputs(fn, args)) {
			fputc('(', out);
			put_arg_list(out, fn, args, OUTPUTS);
			fputc(')', out);
		}
	} else {
		fputc('(', out);
		put_arg_list(out, fn, wsph_json_get(r->v, "args"), up ? ALL : INPUTS);
		fputc(')', out);
	}
	if (!is_ret && !up && !strcmp(fname, "WSPStartup") && table) {
		fputs(" with table ", out);
		put_clean(out, table);
	}
	if (!is_ret && !up) {
		if (ret)
			put_ret(out, ret, fn);
		else
			fputs(" (no return)", out);
		if (ret && has_outputs(fn, wsph_json_get(ret->v, "args"))) {
			fputs("; ", out);
			put_arg_list(out, fn, wsph_json_get(ret->v, "args"), OUTPUTS);
		}
	} else {
		put_ret(out, r, fn);
	}
	if (!is_null_or_absent(r, "fault"))
		fprintf(
		    out, " [fault injected: %s]",
		    wsph_error_format((int)wsph_json_get_int(r->v, "fault", 0), buf, sizeof buf));
	put_site(out, r, ret, fn, main_thread);
}

static void put_finding(const struct show *s, const struct rec *f, int indent)
{
	FILE *out = s->out;
	const char *file = str(f, "file");

	fprintf(out, "%*s!! ", indent, "");
	put_clean(out, str(f, "rule"));
	fputs(" [", out);
	put_clean(out, str(f, "severity") ? str(f, "severity") : "error");
	fputs("]", out);
	if (file) {
		fputs(" at ", out);
		put_clean(out, file);
		if (!is_null_or_absent(f, "line"))
			fprintf(out, ":%lld", (long long)wsph_json_get_int(f->v, "line", 0));
		if (!is_null_or_absent(f, "column"))
			fprintf(out, ":%lld", (long long)wsph_json_get_int(f->v, "column", 0));
	}
	fputs(": ", out);
	put_clean(out, str(f, "message"));
	fputc('\n', out);
	if (str(f, "statement")) {
		fprintf(out, "%*s   rule: ", indent, "");
		put_clean(out, str(f, "statement"));
		fputc('\n', out);
	}
}

/* The findings of the case's records [from, to) that concern event `seq`. */
static void put_findings_at(const struct show *s, size_t from, size_t to, long long seq,
                            int indent)
{
	size_t j;

	for (j = from + 1; j < to; j++)
		if (!strcmp(s->recs[j].type, "finding") &&
		    wsph_json_get_int(s->recs[j].v, "seq", 0) == seq)
			put_finding(s, &s->recs[j], indent);
}

static void put_unreached(const struct show *s, const struct rec *c);

static void put_case_head(const struct show *s, const struct rec *c)
{
	FILE *out = s->out;
	const char *outcome = str(c, "outcome"), *file = str(c, "file");

	fputc('\n', out);
	if (!strcmp(outcome, "fail"))
		fputs("FAIL  ", out);
	else if (!strcmp(outcome, "error"))
		fputs("ERROR ", out);
	else if (!strcmp(outcome, "skip"))
		fputs("SKIP  ", out);
	else if (!strcmp(outcome, "pass"))
		fputs("PASS  ", out);
	else {
		put_clean(out, outcome);
		fputc(' ', out);
	}
	put_clean(out, str(c, "case"));
	if (file) {
		fputs("  (", out);
		put_clean(out, file);
		if (!is_null_or_absent(c, "line"))
			fprintf(out, ":%lld", (long long)wsph_json_get_int(c->v, "line", 0));
		fputc(')', out);
	}
	fputc('\n', out);
	if (str(c, "skip_reason")) {
		fputs("  skipped: ", out);
		put_clean(out, str(c, "skip_reason"));
		fputc('\n', out);
	}
	if (str(c, "error_message") || str(c, "error_type")) {
		fputs("  ", out);
		put_clean(out, str(c, "error_type") ? str(c, "error_type") : "error");
		fputs(": ", out);
		put_clean(out, str(c, "error_message") ? str(c, "error_message") : "");
		fputc('\n', out);
	}
}

/* The operation of step n (1-based) from the case record's "steps" ("waitmessage"), or NULL. */
static const char *step_op(const struct rec *c, long long n)
{
	const cJSON *steps = wsph_json_get(c->v, "steps");
	const cJSON *op = cJSON_IsArray(steps) && n >= 1 && n <= INT_MAX
	                      ? cJSON_GetArrayItem(steps, (int)(n - 1))
	                      : NULL;

	return cJSON_IsString(op) ? op->valuestring : NULL;
}

static void put_step_name(FILE *out, const struct rec *c, long long n)
{
	const char *op = step_op(c, n);

	fprintf(out, "step %lld", n);
	if (op) {
		fputs(" (", out);
		put_clean(out, op);
		fputc(')', out);
	}
}

/* Whether the case did not run step n (its "unreached" says so). */
static int step_not_run(const struct rec *c, long long n)
{
	const cJSON *list = wsph_json_get(c->v, "unreached"), *u;

	if (!cJSON_IsArray(list))
		return 0;
	cJSON_ArrayForEach(u, list)
		if (!wsph_json_get_string(u, "rule") && wsph_json_get_int(u, "step", 0) == n)
			return 1;
	return 0;
}

/* The steps after `last` and before `next` that made no WSP call on the driver's thread
 * (waitmessage, waitevent, complete, arrive, ...): one line each, so step numbers do not jump. */
static void put_quiet_steps(const struct show *s, const struct rec *c, long long last,
                            long long next)
{
	long long n;

	for (n = last + 1; n < next; n++) {
		if (!step_op(c, n) || step_not_run(c, n))
			continue;
		fputs("  ", s->out);
		put_step_name(s->out, c, n);
		fputs(": no WSP call on the driver's thread\n", s->out);
	}
}

/* The header of a run of events: "  step 9 (recv)" on the driver's thread; another thread's
 * events (an arrive step's sender, a provider's thread) under "  thread 2, step 8 (arrive)", the
 * step they were recorded in. */
static void put_header_of(const struct show *s, const struct rec *c, long long st,
                          unsigned long th, unsigned long main_thread, long long prev_step)
{
	FILE *out = s->out;

	if (th != main_thread) {
		fprintf(out, "  thread %lu, ", th);
		if (st > 0)
			put_step_name(out, c, st);
		else
			fputs("outside the steps", out);
		fputc('\n', out);
	} else if (st > 0) {
		fputs("  ", out);
		put_step_name(out, c, st);
		fputc('\n', out);
	} else if (prev_step > 0) {
		fputs("  outside the steps\n", out);
	}
}

/* The records of one case: its record at recs[from], the rest up to (not including) to. Each
 * call is one line with its return; what happened inside it is indented under it; a finding
 * about the return comes after them. */
static void put_case(const struct show *s, size_t from, size_t to)
{
	FILE *out = s->out;
	const struct rec *c = &s->recs[from];
	unsigned long main_thread = 0, thread = 0;
	long long step = -1, main_step = 0;
	struct tree t;
	size_t i, j;

	put_case_head(s, c);
	if (tree_build(s, from, to, &t) != 0) {
		fputs("  (out of memory: the events are not shown)\n", out);
		t.n = 0;
	}
	for (i = 0; i < t.n; i++) {
		const struct rec *e = t.ev[i];
		unsigned long th = (unsigned long)wsph_json_get_int(e->v, "thread", 0);
		long long st;
		if (!main_thread)
			main_thread = th;
		if (t.merged[i]) { /* on its call's line: its findings after the call's events */
			put_findings_at(s, from, to, seq_of(e), 6 + 2 * t.depth[i]);
			continue;
		}
		st = is_null_or_absent(e, "step") ? 0 : wsph_json_get_int(e->v, "step", 0);
		/* an event inside a call stays under its call's header, another thread's next event
		 * under its thread's */
		if (t.depth[i] == 0 && (th != thread || (st != step && th == main_thread))) {
			if (th == main_thread && st > main_step) {
				put_quiet_steps(s, c, main_step, st);
				main_step = st;
			}
			put_header_of(s, c, st, th, main_thread, step);
			step = st;
			thread = th;
		}
		put_event(s, e, t.ret[i] >= 0 ? t.ev[t.ret[i]] : NULL, t.depth[i], main_thread);
		put_findings_at(s, from, to, seq_of(e), 6 + 2 * t.depth[i]);
	}
	{ /* the quiet steps after the last call; not after a crash or a hang, which ended the case
	   * where its last event is */
		const cJSON *steps = wsph_json_get(c->v, "steps");
		const char *outcome = str(c, "outcome");
		if (cJSON_IsArray(steps) && t.n && strcmp(outcome, "error") != 0)
			put_quiet_steps(s, c, main_step, (long long)cJSON_GetArraySize(steps) + 1);
	}
	/* Findings that concern no event of the trace (the whole scenario, or an event lost), then
	 * what the case did not reach. */
	for (j = from + 1; j < to; j++) {
		const struct rec *f = &s->recs[j];
		long long seq;
		if (strcmp(f->type, "finding") != 0)
			continue;
		seq = wsph_json_get_int(f->v, "seq", 0);
		if (!seq || find_seq(&t, seq) < 0)
			put_finding(s, f, 2);
	}
	tree_free(&t);
	put_unreached(s, &s->recs[from]);
}

/* "  not reached: step 5 not run: step 4 failed", as the console words it. */
static void put_unreached(const struct show *s, const struct rec *c)
{
	const cJSON *list = wsph_json_get(c->v, "unreached"), *u;

	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(u, list) {
		const char *id = wsph_json_get_string(u, "rule");
		struct wsph_rule rule;
		struct wsph_unreached one;
		char line[1024];
		memset(&rule, 0, sizeof rule);
		rule.id = (char *)(uintptr_t)id; /* only read */
		one.rule = id ? &rule : NULL;
		one.step = (int)wsph_json_get_int(u, "step", 0);
		one.reason = (char *)(uintptr_t)wsph_json_get_string(u, "reason");
		wsph_unreached_format(&one, line, sizeof line);
		fputs("  not reached: ", s->out);
		put_clean(s->out, line);
		fputc('\n', s->out);
	}
}

#define CASES_SHOWN 8

/* The defects, as the console summary prints them: one line each, and their cases. */
static void put_groups(const struct show *s, const struct rec *r)
{
	const cJSON *list = wsph_json_get(r->v, "groups"), *g;
	int n_groups = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : 0;
	FILE *out = s->out;

	if (!n_groups)
		return;
	fprintf(out, "\n%d defect%s (findings of one rule at one site: module, WSP call, upcall):\n",
	        n_groups, n_groups == 1 ? "" : "s");
	cJSON_ArrayForEach(g, list) {
		const cJSON *ids = wsph_json_get(g, "case_ids"), *id;
		int n_ids = cJSON_IsArray(ids) ? cJSON_GetArraySize(ids) : 0, j = 0;
		const char *site = wsph_json_get_string(g, "site");
		const char *sev = wsph_json_get_string(g, "severity");
		long long n = (long long)wsph_json_get_int(g, "cases", 0);
		long long nf = (long long)wsph_json_get_int(g, "findings", 0);
		put_clean(out, wsph_json_get_string(g, "rule"));
		if (sev && !strcmp(sev, "warning"))
			fputs(" [warning]", out);
		fprintf(out, " in %lld case%s (first: ", n, n == 1 ? "" : "s");
		put_clean(out, wsph_json_get_string(g, "first") ? wsph_json_get_string(g, "first")
		                                                : "?");
		fputc(')', out);
		if (site && *site) {
			fputs(" " EM_DASH " ", out);
			put_clean(out, site);
		}
		fputc('\n', out);
		if (wsph_json_get_string(g, "message")) {
			fputs("  ", out);
			put_clean(out, wsph_json_get_string(g, "message"));
			fputc('\n', out);
		}
		if (!cJSON_IsArray(ids) || (n_ids < 2 && nf < 2))
			continue;
		fprintf(out, "  %lld finding%s in: ", nf, nf == 1 ? "" : "s");
		cJSON_ArrayForEach(id, ids) {
			if (j == CASES_SHOWN)
				break;
			if (j++)
				fputs(", ", out);
			put_clean(out, cJSON_IsString(id) ? id->valuestring : "?");
		}
		if (n_ids > CASES_SHOWN)
			fprintf(out, " and %d more", n_ids - CASES_SHOWN);
		fputc('\n', out);
	}
}

/* ---- reading and checking the file ---- */

static int bad(const struct show *s, size_t line, const char *what)
{
	fprintf(stderr, "%s:%lu: %s\n", s->path, (unsigned long)line, what);
	return 2;
}

/* That r has member key of cJSON type `type` (cJSON_String, ...; a number must be an integer). */
static int need(const struct show *s, const struct rec *r, const char *key, int type)
{
	const cJSON *m = wsph_json_get(r->v, key);
	int64_t x;
	char msg[160];

	if (m && (m->type & 0xFF) == type && (type != cJSON_Number || wsph_json_int(m, &x)))
		return 0;
	snprintf(msg, sizeof msg, "%s record without a valid \"%s\"", r->type, key);
	return bad(s, r->line, msg);
}

static int check(const struct show *s, const struct rec *r)
{
	static const char *const kinds[] = {"call", "return", "upcall"};
	int rc = 0;
	size_t i;

	if (!strcmp(r->type, "case")) {
		if ((rc = need(s, r, "case", cJSON_String)) ||
		    (rc = need(s, r, "outcome", cJSON_String)))
			return rc;
	} else if (!strcmp(r->type, "event")) {
		if ((rc = need(s, r, "case", cJSON_String)) ||
		    (rc = need(s, r, "seq", cJSON_Number)) ||
		    (rc = need(s, r, "kind", cJSON_String)) ||
		    (rc = need(s, r, "function", cJSON_String)) ||
		    (rc = need(s, r, "args", cJSON_Object)))
			return rc;
		for (i = 0; i < 3 && strcmp(str(r, "kind"), kinds[i]) != 0; i++)
			;
		if (i == 3)
			return bad(s, r->line, "event record with an unknown \"kind\"");
	} else if (!strcmp(r->type, "finding")) {
		if ((rc = need(s, r, "case", cJSON_String)) ||
		    (rc = need(s, r, "rule", cJSON_String)) ||
		    (rc = need(s, r, "message", cJSON_String)))
			return rc;
	} else if (!strcmp(r->type, "groups")) {
		const cJSON *g = wsph_json_get(r->v, "groups"), *one;
		if ((rc = need(s, r, "groups", cJSON_Array)))
			return rc;
		cJSON_ArrayForEach(one, g)
			if (!wsph_json_get_string(one, "rule"))
				return bad(s, r->line, "groups record with a group without a \"rule\"");
	}
	if (!strcmp(r->type, "case") && wsph_json_get(r->v, "unreached")) {
		const cJSON *u = wsph_json_get(r->v, "unreached"), *one;
		if (!cJSON_IsArray(u))
			return bad(s, r->line, "case record whose \"unreached\" is not an array");
		cJSON_ArrayForEach(one, u)
			if (!cJSON_IsObject(one))
				return bad(s, r->line, "case record with an \"unreached\" item that is "
				                       "not an object");
	}
	return 0;
}

static int load(struct show *s, char *text, size_t len)
{
	size_t line = 0, cap = 0;
	char *p = text, *end = text + len;

	while (p < end) {
		char *start = p, *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end, err[128];
		struct rec *r;
		int rc;

		line++;
		p = nl ? nl + 1 : end;
		if (e > start && e[-1] == '\r')
			e--;
		if (e == start) /* blank lines are tolerated (an editor's trailing newline) */
			continue;
		if (s->n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct rec *nr = realloc(s->recs, nc * sizeof *nr);
			if (!nr)
				return bad(s, line, "out of memory");
			s->recs = nr;
			cap = nc;
		}
		r = &s->recs[s->n];
		r->line = line;
		r->type = NULL;
		if (!(r->v = wsph_json_parse(start, (size_t)(e - start), err, sizeof err)))
			return bad(s, line, err);
		s->n++;
		if (!cJSON_IsObject(r->v))
			return bad(s, line, "a trace line must be a JSON object");
		if (s->n == 1) {
			const char *schema = str(r, "schema");
			if (!schema || strcmp(schema, SCHEMA) != 0)
				return bad(s, line,
				           "not a wspharness trace: the first line has no "
				           "\"schema\": \"" SCHEMA "\"");
			r->type = "header";
			continue;
		}
		r->type = str(r, "type");
		if (!r->type)
			return bad(s, line, "record without a \"type\"");
		if ((rc = check(s, r)) != 0)
			return rc;
	}
	if (s->n == 0)
		return bad(s, line ? line : 1, "empty file, not a wspharness trace");
	return 0;
}

static char *read_all(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *p;
	size_t cap = 0, n = 0, got;

	*err = 0;
	if (!f) {
		*err = errno;
		return NULL;
	}
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 262144;
			p = realloc(buf, cap + 1);
			if (!p) {
				*err = ENOMEM;
				goto fail;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		*err = EIO;
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static void put_header(const struct show *s)
{
	const struct rec *h = &s->recs[0];
	FILE *out = s->out;

	fputs("wspharness trace (" SCHEMA "), harness ", out);
	put_clean(out, str(h, "harness_version") ? str(h, "harness_version") : "?");
	fputs("\nprovider: ", out);
	put_clean(out, str(h, "provider") ? str(h, "provider") : "?");
	fputs(" (", out);
	put_clean(out, str(h, "kind") ? str(h, "kind") : "?");
	fputs(")\n", out);
	if (str(h, "provider_sha256")) {
		fputs("sha256: ", out);
		put_clean(out, str(h, "provider_sha256"));
		fputc('\n', out);
	}
	fputs("run: ", out);
	put_clean(out, str(h, "timestamp") ? str(h, "timestamp") : "?");
	fputs(" UTC on ", out);
	put_clean(out, str(h, "hostname") ? str(h, "hostname") : "?");
	fputc('\n', out);
}

int wsph_show_trace(const char *path, FILE *out)
{
	struct show s;
	size_t len = 0, i;
	int err, rc;
	char *text;

	memset(&s, 0, sizeof s);
	s.out = out;
	s.path = path ? path : "-";
	text = path ? read_all(path, &len, &err) : NULL;
	if (!text) {
		fprintf(stderr, "%s: cannot read: %s\n", s.path, strerror(path ? err : EINVAL));
		return 2;
	}
	rc = wsph_json_trace_refuse(s.path, text, len, stderr);
	if (rc == 0)
		rc = load(&s, text, len);
	if (rc == 0) {
		put_header(&s);
		for (i = 1; i < s.n; i++) {
			size_t j;
			if (strcmp(s.recs[i].type, "case") != 0)
				continue;
			for (j = i + 1; j < s.n && strcmp(s.recs[j].type, "case") != 0 &&
			                strcmp(s.recs[j].type, "summary") != 0 &&
			                strcmp(s.recs[j].type, "groups") != 0;
			     j++)
				;
			put_case(&s, i, j);
		}
		for (i = 1; i < s.n; i++)
			if (!strcmp(s.recs[i].type, "groups"))
				put_groups(&s, &s.recs[i]);
		for (i = 1; i < s.n; i++)
			if (!strcmp(s.recs[i].type, "summary")) {
				const struct rec *r = &s.recs[i];
				long long dl = wsph_json_get_int(r->v, "deadlocks", 0);
				fprintf(out, "\n%lld passed, %lld failed, %lld errors",
				        (long long)wsph_json_get_int(r->v, "passed", 0),
				        (long long)wsph_json_get_int(r->v, "failures", 0),
				        (long long)wsph_json_get_int(r->v, "errors", 0));
				if (dl > 0)
					fprintf(out, " (%lld deadlock%s)", dl, dl == 1 ? "" : "s");
				fprintf(out, ", %lld skipped\n",
				        (long long)wsph_json_get_int(r->v, "skipped", 0));
			}
		if (fflush(out) != 0 || ferror(out))
			rc = 3;
	}
	for (i = 0; i < s.n; i++)
		cJSON_Delete(s.recs[i].v);
	free(s.recs);
	free(text);
	return rc;
}
