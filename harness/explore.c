/* Exploration (explore.h): the model's data, the scenario text, the shrinker, and the loop that
 * runs batches through the runner. The generator is explore_gen.c. */
#include "explore.h"

#include "fn.h"
#include "platform/platform.h"
#include "results.h"
#include "scenario.h"
#include "upcalls.h"
#include "util.h"
#include "yamlutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model's data ---- */

/* The steps that wait are drawn only when the generator's model knows what they wait for has
 * come (a completion, an APC) or will come (an arrive's data, for the receive that follows it);
 * waitmessage, waitevent and cancelblockingcall never. */
static const unsigned default_weights[WSPH_OP_COUNT] = {
	[WSPH_OP_STARTUP] = 2,	   [WSPH_OP_CLEANUP] = 2,	[WSPH_OP_SOCKET] = 8,
	[WSPH_OP_BIND] = 6,	   [WSPH_OP_LISTEN] = 5,	[WSPH_OP_CONNECT] = 6,
	[WSPH_OP_ACCEPT] = 6,	   [WSPH_OP_SEND] = 16,		[WSPH_OP_RECV] = 14,
	[WSPH_OP_SENDTO] = 8,	   [WSPH_OP_RECVFROM] = 8,	[WSPH_OP_CLOSE] = 6,
	[WSPH_OP_SHUTDOWN] = 3,	   [WSPH_OP_GETSOCKOPT] = 3,	[WSPH_OP_SETSOCKOPT] = 3,
	[WSPH_OP_IOCTL] = 3,	   [WSPH_OP_GETSOCKNAME] = 3,	[WSPH_OP_GETPEERNAME] = 3,
	[WSPH_OP_ASYNCSELECT] = 4, [WSPH_OP_EVENTSELECT] = 4,	[WSPH_OP_ENUMNETWORKEVENTS] = 3,
	[WSPH_OP_SELECT] = 3,	   [WSPH_OP_GETOVERLAPPEDRESULT] = 4, [WSPH_OP_COMPLETE] = 6,
	[WSPH_OP_ALERTABLE] = 4,   [WSPH_OP_ARRIVE] = 5,
};

void wsph_explore_model_default(struct wsph_explore_model *m)
{
	memcpy(m->weights, default_weights, sizeof m->weights);
	m->connection = 20;
	m->fault_percent = 10;
	m->upcalls_percent = 15;
	m->open_at_cleanup_percent = 15;
}

/* The model's percentages and the connection's weight: key, bound, field. */
static const struct {
	const char *key, *what;
	long long max;
	size_t offset;
} model_numbers[] = {
	{"connection", "'connection' (a weight)", 1000, offsetof(struct wsph_explore_model, connection)},
	{"faults", "'faults' (a percentage)", 100, offsetof(struct wsph_explore_model, fault_percent)},
	{"upcalls", "'upcalls' (a percentage)", 100,
	 offsetof(struct wsph_explore_model, upcalls_percent)},
	{"open_at_cleanup", "'open_at_cleanup' (a percentage)", 100,
	 offsetof(struct wsph_explore_model, open_at_cleanup_percent)},
};

static int model_from_doc(struct wsph_explore_model *m, const struct wsph_yaml_node *root,
			  struct wsph_diag *diag)
{
	static const char *const keys[] = {"weights", "connection", "faults", "upcalls",
					   "open_at_cleanup", NULL};
	const struct wsph_yaml_node *w, *f;
	long long v;
	if (wsph_yaml_check_keys(root, keys, "the explore model", diag))
		return -1;
	wsph_explore_model_default(m);
	for (size_t i = 0; i < sizeof model_numbers / sizeof model_numbers[0]; i++) {
		if ((f = wsph_yaml_get(root, model_numbers[i].key)) == NULL)
			continue;
		if (wsph_yaml_integer(f, model_numbers[i].what, 0, model_numbers[i].max, &v, diag))
			return -1;
		*(unsigned *)((char *)m + model_numbers[i].offset) = (unsigned)v;
	}
	if ((w = wsph_yaml_get(root, "weights")) == NULL)
		return 0;
	if (wsph_yaml_want_mapping(w, "'weights'", diag))
		return -1;
	for (size_t i = 0; i < w->n_pairs; i++) {
		const struct wsph_yaml_node *k = w->pairs[i].key;
		const struct wsph_step_def *d = wsph_step_find(k->text, k->len);
		if (!d)
			return wsph_yaml_error(diag, k, "'%s' is not a step (wspharness list --steps)",
					       k->text);
		if (wsph_yaml_integer(w->pairs[i].value, "a step's weight", 0, 1000, &v, diag))
			return -1;
		m->weights[d->op] = (unsigned)v;
	}
	if (!m->weights[WSPH_OP_SOCKET])
		return wsph_yaml_error(diag, w, "the weight of 'socket' must be above 0");
	return 0;
}

int wsph_explore_model_load_string(struct wsph_explore_model *m, const char *path,
				   const char *text, size_t len, struct wsph_diag *diag)
{
	struct wsph_yaml_doc doc;
	if (wsph_yaml_load_string(&doc, path, text, len, diag))
		return -1;
	int rc = model_from_doc(m, doc.root, diag);
	wsph_yaml_free(&doc);
	return rc;
}

int wsph_explore_model_load(struct wsph_explore_model *m, const char *path, struct wsph_diag *diag)
{
	struct wsph_yaml_doc doc;
	if (wsph_yaml_load_file(&doc, path, diag))
		return -1;
	int rc = model_from_doc(m, doc.root, diag);
	wsph_yaml_free(&doc);
	return rc;
}

/* ---- the generator ---- */

/* ---- the scenario text ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void put(struct sbuf *b, const char *fmt, ...) WSPH_PRINTF(2, 3);
static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && b->n + (size_t)w < b->cap) {
			b->n += (size_t)w;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->n + (size_t)w + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* The steps some expectation of the sequence holds only with (bit i: step i). */
static uint64_t premise_mask(const struct wsph_seq *s)
{
	uint64_t mask = 0;
	for (size_t i = 0; i < s->n_steps; i++)
		for (size_t k = 0; s->steps[i].expect && k < s->steps[i].n_premises; k++)
			mask |= 1ull << s->steps[i].premises[k];
	return mask;
}

/* What a step expects as the text says it: a premise the model knows succeeds is a control step
 * (when it fails, the expectations that rely on it are not reached: the case is inconclusive). */
static void put_expect(struct sbuf *b, const struct wsph_gen_step *st, int premise)
{
	int control = st->control || (premise && st->sure && !st->expect);
	put(b, "        expect: %s\n", st->expect ? st->expect : control ? "ok" : "any");
	if (st->rule)
		put(b, "        rule: %s\n", st->rule);
	if (control)
		put(b, "        control: true\n");
}

static void put_item(struct sbuf *b, const struct wsph_seq *s, const char *name, const char *check)
{
	static const char *const hooks[] = {"none", "true", "false", "cancel"};
	uint64_t premises = premise_mask(s);
	put(b, "  - name: %s\n    checks: [%s]\n", name, check);
	if (s->blocking > 0 || s->modify_different)
		put(b, "    upcalls: {%s%s}\n",
		    s->modify_different ? "modify_ifs_handle: different" : "blocking_callback: ",
		    s->modify_different ? "" : hooks[s->blocking & 3]);
	if (s->n_faults) {
		put(b, "    faults:\n");
		for (size_t i = 0; i < s->n_faults; i++)
			put(b, "      - {upcall: %s, call: %u, error: %s}\n",
			    wsph_fn_name((enum wsph_fn)s->faults[i].upcall), s->faults[i].call,
			    s->faults[i].error);
	}
	put(b, "    steps:\n");
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct wsph_gen_step *st = &s->steps[i];
		put(b, "      - %s:", wsph_step_def(st->op)->name);
		for (size_t k = 0; k < st->n_args; k++)
			put(b, "%s%s: %s", k ? ", " : " {", wsph_key_name(st->args[k].key),
			    st->args[k].value);
		put(b, "%s\n", st->n_args ? "}" : "");
		put_expect(b, st, (premises >> i) & 1);
	}
}

static char *finish(struct sbuf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

char *wsph_explore_yaml(const struct wsph_seq *s, const char *name, const char *check,
			const char *header)
{
	struct sbuf b = {0};
	if (header)
		put(&b, "%s", header);
	put(&b, "scenarios:\n");
	put_item(&b, s, name, check);
	return finish(&b);
}

char *wsph_explore_yaml_batch(const struct wsph_seq *seqs, size_t n, const char *prefix,
			      const char *check)
{
	struct sbuf b = {0};
	char name[64];
	put(&b, "scenarios:\n");
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s%zu", prefix, i);
		put_item(&b, &seqs[i], name, check);
	}
	return finish(&b);
}

/* ---- the shrinker ---- */

/* Whether the value names `name` (itself, or an item of a [a, b] list). */
static int value_uses(const char *value, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = value; (p = strstr(p, name)) != NULL; p += n) {
		int before = p == value || p[-1] == '[' || p[-1] == ' ';
		int after = p[n] == '\0' || p[n] == ',' || p[n] == ']';
		if (before && after)
			return 1;
	}
	return 0;
}

/* The step no longer expects anything (expect: any): what it expected held only with a step or a
 * setting the sequence no longer has. */
static void void_expectation(struct wsph_gen_step *st)
{
	st->expect = NULL;
	st->rule = NULL;
	st->n_premises = 0;
	st->premise_setting = 0;
}

/* After steps were removed (at[j]: the new index of old step j, -1 when it went): each premise
 * follows its step, and an expectation that lost one is void. */
static void renumber_premises(struct wsph_seq *s, const int *at)
{
	for (size_t j = 0; j < s->n_steps; j++) {
		struct wsph_gen_step *st = &s->steps[j];
		for (size_t k = 0; k < st->n_premises; k++) {
			if (at[st->premises[k]] < 0) {
				void_expectation(st);
				break;
			}
			st->premises[k] = (unsigned char)at[st->premises[k]];
		}
	}
}

/* Step i changed (an argument went): the expectations that hold only with it are void. */
static void void_dependents(struct wsph_seq *s, size_t i)
{
	for (size_t j = i + 1; j < s->n_steps; j++)
		for (size_t k = 0; k < s->steps[j].n_premises; k++)
			if (s->steps[j].premises[k] == i) {
				void_expectation(&s->steps[j]);
				break;
			}
}

/* Removes step i and every later step that uses a name a removed step binds; the expectations
 * that held only with a removed step are void. */
static void remove_step(struct wsph_seq *s, size_t i)
{
	char names[WSPH_EXPLORE_MAX_STEPS][64];
	int at[WSPH_EXPLORE_MAX_STEPS];
	size_t n_names = 0, out = 0;
	for (size_t j = 0; j < s->n_steps; j++) {
		const struct wsph_gen_step *st = &s->steps[j];
		const struct wsph_step_def *d = wsph_step_def(st->op);
		int drop = j == i;
		for (size_t k = 0; !drop && j > i && k < st->n_args; k++) {
			const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
			if (a && (a->flags & WSPH_ARG_BINDS))
				continue;
			for (size_t m = 0; m < n_names && !drop; m++)
				drop = value_uses(st->args[k].value, names[m]);
		}
		at[j] = drop ? -1 : (int)out;
		if (!drop) {
			s->steps[out++] = *st;
			continue;
		}
		for (size_t k = 0; k < st->n_args; k++) {
			const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
			if (a && (a->flags & WSPH_ARG_BINDS) && n_names < WSPH_EXPLORE_MAX_STEPS)
				memcpy(names[n_names++], st->args[k].value, sizeof names[0]);
		}
	}
	s->n_steps = out;
	renumber_premises(s, at);
}

static int drop_arg(const struct wsph_seq *s, size_t c, struct wsph_seq *out);

/* Candidate c of s (0-based), in this order: without step i, without fault j, fault j one call
 * earlier, without the upcalls: setting (phase 0); step i without its optional argument k (phase 1). 0 when c is past the
 * phase's last. */
static int candidate(const struct wsph_seq *s, int phase, size_t c, struct wsph_seq *out)
{
	*out = *s;
	if (phase)
		return drop_arg(s, c, out);
	if (c < s->n_steps) {
		remove_step(out, c);
		return 1;
	}
	c -= s->n_steps;
	if (c < s->n_faults) {
		memmove(&out->faults[c], &out->faults[c + 1],
			(out->n_faults - c - 1) * sizeof out->faults[0]);
		out->n_faults--;
		return 1;
	}
	c -= s->n_faults;
	for (size_t j = 0; j < s->n_faults; j++)
		if (s->faults[j].call > 1 && c-- == 0) {
			out->faults[j].call--;
			return 1;
		}
	if (c == 0 && (s->blocking || s->modify_different)) {
		out->blocking = out->modify_different = 0;
		for (size_t i = 0; i < out->n_steps; i++)
			if (out->steps[i].premise_setting)
				void_expectation(&out->steps[i]);
		return 1;
	}
	return 0;
}

static int drop_arg(const struct wsph_seq *s, size_t c, struct wsph_seq *out)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		struct wsph_gen_step *st = &out->steps[i];
		const struct wsph_step_def *d = wsph_step_def(st->op);
		for (size_t k = 0; k < st->n_args; k++) {
			const struct wsph_step_arg *a = wsph_step_arg(d, st->args[k].key);
			if (a && (a->flags & WSPH_ARG_REQUIRED))
				continue;
			if (c-- == 0) {
				memmove(&st->args[k], &st->args[k + 1],
					(st->n_args - k - 1) * sizeof st->args[0]);
				st->n_args--;
				void_dependents(out, i);
				return 1;
			}
		}
	}
	return 0;
}

/* A startup asking for a version below 2.0, which a provider refuses. */
static int refused_startup(const struct wsph_gen_step *st)
{
	for (size_t k = 0; k < st->n_args; k++)
		if (st->args[k].key == WSPH_KEY_VERSION && st->args[k].value[0] < '2')
			return 1;
	return 0;
}

/* What the generator keeps to that removing steps could break: every step that needs a started
 * provider has one (no call after the last cleanup but a cleanup with nothing to balance: the
 * provider's answer to anything else is not what the rules are about), and a startup with table B
 * is never the first (the rule about the most recent table reads a first startup's table B as a
 * table the provider was never given). */
static int still_valid(const struct wsph_seq *s)
{
	int started = 0, ever = 0;
	if (!s->n_steps)
		return 0;
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct wsph_gen_step *st = &s->steps[i];
		if (st->op == WSPH_OP_CLEANUP) {
			if (!ever)
				return 0;
			started -= started > 0;
			continue;
		}
		if ((wsph_step_def(st->op)->needs & WSPH_NEEDS_STARTUP) && !started)
			return 0;
		if (st->op != WSPH_OP_STARTUP || refused_startup(st))
			continue;
		for (size_t k = 0; k < st->n_args && !ever; k++)
			if (st->args[k].key == WSPH_KEY_TABLE && !strcmp(st->args[k].value, "B"))
				return 0;
		started++;
		ever = 1;
	}
	/* and what the loader checks besides (an argument that needs another one, ...) */
	char *text = wsph_explore_yaml(s, "x", "SPI.Startup.VersionMin", NULL);
	struct wsph_suite suite;
	struct wsph_diag diag;
	memset(&suite, 0, sizeof suite);
	int ok = text && wsph_scenario_load_string(&suite, "candidate.yaml", text, strlen(text),
						   NULL, &diag) == 0;
	wsph_suite_free(&suite);
	free(text);
	return ok;
}

int wsph_explore_shrink(struct wsph_seq *s, wsph_explore_judge judge, void *ctx)
{
	/* the most candidates a round can have; the sequence only gets smaller */
	size_t cap = 2 + s->n_steps + 2 * s->n_faults;
	for (size_t i = 0; i < s->n_steps; i++)
		cap += s->steps[i].n_args;
	struct wsph_seq *cands = malloc(cap * sizeof *cands);
	int *fails = malloc(cap * sizeof *fails);
	int rounds = 0;
	if (!cands || !fails) {
		free(cands);
		free(fails);
		return -1;
	}
	for (int phase = 0; phase < 2;) {
		size_t n = 0;
		for (size_t c = 0; n < cap && candidate(s, phase, c, &cands[n]); c++)
			n += still_valid(&cands[n]);
		if (!n) {
			phase++;
			continue;
		}
		memset(fails, 0, n * sizeof *fails);
		rounds++;
		if (judge(ctx, cands, n, fails) != 0) {
			rounds = -1;
			break;
		}
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (fails[i] && (best == n || cands[i].n_steps < cands[best].n_steps))
				best = i;
		if (best == n) {
			phase++; /* nothing more goes in this phase: the next */
			continue;
		}
		*s = cands[best];
		phase = 0;
	}
	free(cands);
	free(fails);
	return rounds;
}

/* ---- running ---- */

#define BATCH 50
#define MAX_KEYS 256
/* A site whose shrunk scenario still has more than TARGET_STEPS steps is shrunk again from the
 * next sequences that show it, up to MAX_TRIES in all, and the shortest is kept: the first one
 * found may need a stream connection (six steps) where a later one shows the same defect on a
 * datagram socket of its own. */
#define TARGET_STEPS 8
#define MAX_TRIES 3

struct pending_finding {
	size_t index; /* in the batch */
	size_t site;
	char rule[128];
	char message[256];
};

/* A site (rule, WSP call, module) and the best scenario written for it. */
struct site {
	char key[200];
	unsigned tries;
	size_t best;	/* steps of the file written (0: none yet) */
	size_t summary; /* its entry in the summary's files (SIZE_MAX: not listed) */
	char path[600];
};

struct explorer {
	const struct wsph_explore_config *cfg;
	struct wsph_explore_summary *sum;
	struct wsph_diag *diag;
	struct site sites[MAX_KEYS];
	size_t n_sites;
	struct pending_finding found[16];
	size_t n_found;
};

typedef void (*case_fn)(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c);
static void on_explored(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c);

static int write_text(const char *path, const char *text, struct wsph_diag *diag)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok)
		snprintf(diag->text, sizeof diag->text, "%s: cannot be written", path);
	return ok ? 0 : -1;
}

/* The case's index in the batch (its name is x<index>[kind]); (size_t)-1 when it is not one. */
static size_t case_index(const struct wsph_case *c)
{
	const char *p = c->name;
	size_t i = 0;
	if (!p || *p++ != 'x' || *p < '0' || *p > '9')
		return (size_t)-1;
	while (*p >= '0' && *p <= '9')
		i = i * 10 + (size_t)(*p++ - '0');
	return i;
}

/* Runs n sequences as one suite (one file the children can load too), calling fn per case.
 * 0, 1 the runner refused the provider, -1 (diag) otherwise. */
static int run_batch(struct explorer *x, const struct wsph_seq *seqs, size_t n, case_fn fn,
		     void *ctx)
{
	const struct wsph_explore_config *cfg = x->cfg;
	struct wsph_suite suite;
	struct wsph_results res;
	struct wsph_run_config rc = cfg->run;
	char *text = wsph_explore_yaml_batch(seqs, n, "x", cfg->run.set->rules[0].id);
	int rv = -1;
	memset(&suite, 0, sizeof suite);
	memset(&res, 0, sizeof res);
	if (!text) {
		snprintf(x->diag->text, sizeof x->diag->text, "out of memory");
		return -1;
	}
	if (write_text(cfg->work_file, text, x->diag) ||
	    wsph_scenario_load_file(&suite, cfg->work_file, NULL, x->diag))
		goto out;
	rc.suite = &suite;
	rc.allow_empty = 1;
	rc.filter = NULL;
	rc.rule = NULL;
	rc.progress = NULL;
	rc.progress_next = NULL;
	rv = wsph_run(&rc, &res);
	if (rv < 0)
		snprintf(x->diag->text, sizeof x->diag->text, "out of memory");
	if (rv)
		goto out;
	for (size_t i = 0; i < res.n_cases; i++) {
		const struct wsph_case *c = &res.cases[i];
		size_t k = case_index(c);
		/* a candidate of the shrinker that hangs is only a candidate that does not fail */
		x->sum->errors += c->outcome == WSPH_ERROR && fn == on_explored;
		if (k < n)
			fn(x, ctx, k, c);
	}
	x->sum->cases_run += res.n_cases;
out:
	wsph_results_free(&res);
	wsph_suite_free(&suite);
	free(text);
	return rv;
}

/* Exploring: each finding at a site not seen before is kept for shrinking. */
/* A new site, or one whose scenario may still get shorter, and not already in this batch. */
static int worth_shrinking(const struct explorer *x, size_t k)
{
	if (k == x->n_sites)
		return 1;
	const struct site *st = &x->sites[k];
	for (size_t i = 0; i < x->n_found; i++)
		if (x->found[i].site == k)
			return 0;
	return st->best > TARGET_STEPS && st->tries < MAX_TRIES;
}

static void on_explored(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c)
{
	(void)ctx;
	for (size_t f = 0; f < c->n_findings; f++) {
		const struct wsph_finding *fd = &c->findings[f];
		const char *id = fd->rule ? fd->rule->id : "?";
		char key[200];
		size_t k;
		snprintf(key, sizeof key, "%s|%d|%s", id, fd->call_fn, fd->module);
		for (k = 0; k < x->n_sites && strcmp(x->sites[k].key, key); k++)
			;
		if (x->n_found == sizeof x->found / sizeof x->found[0] ||
		    (k == x->n_sites && x->n_sites == MAX_KEYS) || !worth_shrinking(x, k))
			continue;
		if (k == x->n_sites) {
			memset(&x->sites[k], 0, sizeof x->sites[k]);
			memcpy(x->sites[k].key, key, sizeof key);
			x->sites[k].summary = SIZE_MAX;
			x->n_sites++;
		}
		struct pending_finding *p = &x->found[x->n_found++];
		p->index = index;
		p->site = k;
		snprintf(p->rule, sizeof p->rule, "%s", id);
		snprintf(p->message, sizeof p->message, "%s", fd->message ? fd->message : "");
		for (char *q = p->message; *q; q++)
			if (*q == '\n' || *q == '\r')
				*q = ' ';
	}
}

struct shrink_ctx {
	struct explorer *x;
	const char *rule;
	int *fails;
};

static void on_shrunk(struct explorer *x, void *ctx, size_t index, const struct wsph_case *c)
{
	struct shrink_ctx *s = ctx;
	(void)x;
	for (size_t f = 0; f < c->n_findings; f++)
		if (c->findings[f].rule && !strcmp(c->findings[f].rule->id, s->rule))
			s->fails[index] = 1;
}

static int judge_by_run(void *ctx, const struct wsph_seq *cands, size_t n, int *fails)
{
	struct shrink_ctx *s = ctx;
	s->fails = fails;
	for (size_t i = 0; i < n; i += BATCH) {
		size_t m = n - i < BATCH ? n - i : BATCH;
		struct shrink_ctx part = *s;
		part.fails = fails + i;
		if (run_batch(s->x, cands + i, m, on_shrunk, &part) != 0)
			return -1;
	}
	return 0;
}

/* The shrunk sequence as DIR/<rule>-<hash>.yaml, in place of a longer one of its site. */
static int write_finding(struct explorer *x, const struct wsph_seq *s,
			 const struct pending_finding *p)
{
	struct site *site = &x->sites[p->site];
	const struct wsph_explore_config *cfg = x->cfg;
	char *body = wsph_explore_yaml(s, "explored", p->rule, NULL);
	if (!body)
		return -1;
	unsigned hash = (unsigned)(wsph_fnv1a(body, strlen(body)) & 0xffffffffu);
	free(body);
	char name[40], header[1200], path[600];
	snprintf(name, sizeof name, "explore-%08x", hash);
	snprintf(header, sizeof header,
		 "# Found by: %s (sequence seed 0x%016llx)\n# Rule: %s\n# Finding: %s\n"
		 "# Reproduce: wspharness run PROVIDER --scenarios THIS_FILE\n",
		 cfg->command ? cfg->command : "wspharness explore",
		 (unsigned long long)s->seed, p->rule, p->message);
	snprintf(path, sizeof path, "%s/%s-%08x.yaml", cfg->out_dir, p->rule, hash);
	char *text = wsph_explore_yaml(s, name, p->rule, header);
	int rc = !text || wsph_plat_mkdirs(path) != 0 || write_text(path, text, x->diag) != 0;
	free(text);
	if (rc) {
		snprintf(x->diag->text, sizeof x->diag->text, "%s: cannot be written", path);
		return -1;
	}
	if (site->best && strcmp(site->path, path) != 0)
		remove(site->path);
	snprintf(site->path, sizeof site->path, "%s", path);
	site->best = s->n_steps;
	struct wsph_explore_summary *sum = x->sum;
	if (site->summary == SIZE_MAX && sum->n_files < sizeof sum->files / sizeof sum->files[0])
		site->summary = sum->n_files++;
	if (site->summary != SIZE_MAX) {
		snprintf(sum->files[site->summary], sizeof sum->files[0], "%s", path);
		snprintf(sum->rules[site->summary], sizeof sum->rules[0], "%s", p->rule);
	}
	return 0;
}

static double elapsed(uint64_t t0)
{
	return (double)(wsph_plat_now_ns() - t0) / 1e9;
}

/* Shrinks and writes the batch's new findings. */
static int settle(struct explorer *x, const struct wsph_seq *seqs)
{
	for (size_t i = 0; i < x->n_found; i++) {
		struct wsph_seq s = seqs[x->found[i].index];
		struct shrink_ctx sc = {x, x->found[i].rule, NULL};
		struct site *site = &x->sites[x->found[i].site];
		if (wsph_explore_shrink(&s, judge_by_run, &sc) < 0)
			return -1;
		site->tries++;
		x->sum->findings += site->best == 0;
		if (site->best && s.n_steps >= site->best)
			continue; /* not shorter than the file written */
		if (write_finding(x, &s, &x->found[i]) != 0)
			return -1;
		if (x->cfg->progress)
			fprintf(x->cfg->progress, "explore: %s: shrunk to %zu steps\n",
				x->found[i].rule, s.n_steps);
	}
	x->n_found = 0;
	return 0;
}

int wsph_explore_run(const struct wsph_explore_config *cfg, struct wsph_explore_summary *sum,
		     struct wsph_diag *diag)
{
	struct explorer *x = calloc(1, sizeof *x);
	struct wsph_seq *seqs = malloc(BATCH * sizeof *seqs);
	uint64_t t0 = wsph_plat_now_ns();
	int rv = 0;
	memset(sum, 0, sizeof *sum);
	if (!x || !seqs) {
		free(x);
		free(seqs);
		snprintf(diag->text, sizeof diag->text, "out of memory");
		return -1;
	}
	x->cfg = cfg;
	x->sum = sum;
	x->diag = diag;
	while ((!cfg->runs || sum->sequences < cfg->runs) &&
	       (cfg->seconds <= 0 || elapsed(t0) < cfg->seconds) &&
	       !(cfg->interrupted && *cfg->interrupted)) {
		size_t n = BATCH;
		if (cfg->runs && cfg->runs - sum->sequences < n)
			n = (size_t)(cfg->runs - sum->sequences);
		for (size_t i = 0; i < n; i++) {
			uint64_t st = cfg->seed + (sum->sequences + i) * 0x9e3779b97f4a7c15ull;
			wsph_explore_generate(cfg->model, wsph_explore_next(&st), cfg->max_steps,
					      &seqs[i]);
		}
		rv = run_batch(x, seqs, n, on_explored, NULL);
		if (!rv)
			rv = settle(x, seqs);
		if (rv)
			break;
		sum->sequences += n;
		if (cfg->progress)
			fprintf(cfg->progress,
				"explore: %lu sequences, %lu findings, %.1f sequences/s\n",
				sum->sequences, sum->findings, sum->sequences / elapsed(t0));
	}
	sum->seconds = elapsed(t0);
	free(seqs);
	free(x);
	return rv;
}
