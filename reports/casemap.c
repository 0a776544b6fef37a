/* Per-case maps for the writers: pointer placeholders, thread numbers, a finding's event. */
#include "casemap.h"
#include "scenario.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wsph_casemap {
	uint64_t *ptrs; /* placeholder N is ptrs[N - 1], first seen at canonical position from[N - 1] */
	size_t *from;
	size_t n_ptrs;
	uint64_t *scratch; /* values seen only in arguments whose identity means nothing */
	size_t n_scratch;
	unsigned long *threads;
	size_t n_threads;
	const struct wsph_case *c; /* the case it maps (its events) */
	size_t *order;	  /* canonical position -> event index */
	uint64_t *renum;  /* event index (seq - 1) -> canonical seq */
	size_t n_events;
};

/* Pointer arguments whose value is a scratch address (a structure on the caller's stack or heap
 * for one call: a thread ID, a provider ID, an fd_set, an out-parameter): the same value in two
 * calls is the allocator's reuse, not the same object, and it differs from run to run, so a
 * deterministic report shows every one as "0x<ptr>". NULL fn: any function. */
static const struct {
	const char *fn, *arg;
} scratch_args[] = {
    {NULL, "lpThreadId"},
    {NULL, "lpProviderId"},
    {NULL, "fdset"},
    {NULL, "lpiProtocols"},
    {NULL, "lpSrcAddress"},
    {NULL, "lpDst"},
    {"WPUQueryBlockingCallback", "callback"},
    {"WPUQueryBlockingCallback", "context"},
    {"WPUQueueApc", "dwContext"},
};

/* Arguments that make a new object: its value gets a new placeholder even when an object freed
 * earlier had the same address (what an allocator's reuse makes vary from run to run). A pointer
 * a function returns (an event, a module) is one too. */
static const struct {
	const char *fn, *arg;
} birth_args[] = {
    {"WPUCreateSocketHandle", "dwContext"},
    {"WPUOpenCurrentThread", "ThreadHandle"},
};

static int is_birth_arg(const char *fn, const char *arg)
{
	size_t i;

	for (i = 0; fn && arg && i < sizeof birth_args / sizeof birth_args[0]; i++)
		if (strcmp(birth_args[i].arg, arg) == 0 && strcmp(birth_args[i].fn, fn) == 0)
			return 1;
	return 0;
}

/* Adds v as a pointer seen at position pos: a new placeholder when it is new or born here. */
static int add_ptr(struct wsph_casemap *m, uint64_t v, size_t pos, int birth)
{
	size_t i;
	uint64_t *p;
	size_t *f;

	for (i = 0; !birth && i < m->n_ptrs; i++)
		if (m->ptrs[i] == v)
			return 0;
	p = realloc(m->ptrs, (m->n_ptrs + 1) * sizeof *p);
	if (!p)
		return -1;
	m->ptrs = p;
	f = realloc(m->from, (m->n_ptrs + 1) * sizeof *f);
	if (!f)
		return -1;
	m->from = f;
	m->ptrs[m->n_ptrs] = v;
	m->from[m->n_ptrs++] = pos;
	return 0;
}

/* The placeholder number of v at position pos (the latest one born at or before it; the first
 * one when none is), or 0. */
static size_t ptr_number(const struct wsph_casemap *m, uint64_t v, size_t pos)
{
	size_t i, found = 0;

	for (i = 0; m && v && i < m->n_ptrs; i++)
		if (m->ptrs[i] == v && (!found || m->from[i] <= pos))
			found = i + 1;
	return found;
}

static int is_scratch_arg(const char *fn, const char *arg)
{
	size_t i;

	for (i = 0; arg && i < sizeof scratch_args / sizeof scratch_args[0]; i++)
		if (strcmp(scratch_args[i].arg, arg) == 0 &&
		    (!scratch_args[i].fn || (fn && strcmp(scratch_args[i].fn, fn) == 0)))
			return 1;
	return 0;
}

/* Which values are pointers, and how returns read: harness/trace.c's table of the functions. */
int wsph_arg_is_pointer(enum wsph_fn fn, const char *name)
{
	return wsph_fn_arg_is_pointer(fn, name);
}

int wsph_ret_is_pointer(enum wsph_fn fn)
{
	return wsph_fn_ret_is_pointer(fn);
}

int wsph_ret_is_failure(enum wsph_fn fn, int64_t ret)
{
	return wsph_fn_ret_failed(fn, ret);
}

char *wsph_ret_format(const struct wsph_casemap *m, enum wsph_fn fn, int64_t ret, char *buf,
                      size_t len)
{
	if (ret && wsph_ret_is_pointer(fn) && wsph_casemap_ptr(m, (uint64_t)ret, buf, len))
		return buf;
	return wsph_fn_ret_text(fn, ret, buf, len);
}

int wsph_arg_is_output(const char *name)
{
	static const char *const outputs[] = {
	    "sent", "received", "out", "wVersion", "wHighVersion", "nullEntries", "descTerminated"};
	size_t i;

	for (i = 0; name && i < sizeof outputs / sizeof outputs[0]; i++)
		if (strcmp(outputs[i], name) == 0)
			return 1;
	return 0;
}

static int add_unique_u64(uint64_t **arr, size_t *n, uint64_t v)
{
	size_t i;
	uint64_t *p;

	for (i = 0; i < *n; i++)
		if ((*arr)[i] == v)
			return 0;
	p = realloc(*arr, (*n + 1) * sizeof *p);
	if (!p)
		return -1;
	p[(*n)++] = v;
	*arr = p;
	return 0;
}

static int add_thread(struct wsph_casemap *m, unsigned long t)
{
	size_t i;
	unsigned long *p;

	for (i = 0; i < m->n_threads; i++)
		if (m->threads[i] == t)
			return 0;
	p = realloc(m->threads, (m->n_threads + 1) * sizeof *p);
	if (!p)
		return -1;
	p[m->n_threads++] = t;
	m->threads = p;
	return 0;
}

/* The canonical order of a case's events, the same however its threads interleaved: step by step
 * (an event inside a WSP call counts in the step of the outermost call open on its thread, so the
 * helper thread's send and the provider's upcalls on that thread stay with the arrive step that
 * made them), within a step the driver thread's events first (the thread of the first event),
 * then each other thread's in order of its first event, each thread's in recorded order. */
struct sortkey {
	int step;
	size_t rank, index;
};

static int cmp_key(const void *pa, const void *pb)
{
	const struct sortkey *a = pa, *b = pb;
	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Per thread (by rank): the outermost open call's step and how deep the calls are. */
struct open_calls {
	int step;
	size_t depth;
};

static int canonical_order(struct wsph_casemap *m, const struct wsph_case *c, size_t n)
{
	struct sortkey *keys = calloc(n ? n : 1, sizeof *keys);
	unsigned long *ranked = calloc(n ? n : 1, sizeof *ranked); /* threads by first event */
	struct open_calls *open = calloc(n ? n : 1, sizeof *open);
	size_t n_ranked = 0, i, r;
	int last_step = 0, rc = -1;
	struct wsph_event ev;

	m->order = malloc((n ? n : 1) * sizeof *m->order);
	m->renum = malloc((n ? n : 1) * sizeof *m->renum);
	if (!keys || !ranked || !open || !m->order || !m->renum)
		goto out;
	for (i = 0; i < n; i++) {
		if (wsph_case_event(c, i, &ev) != 0)
			break;
		for (r = 0; r < n_ranked && ranked[r] != ev.thread; r++)
			;
		if (r == n_ranked)
			ranked[n_ranked++] = ev.thread;
		keys[i].step = ev.step > 0 ? ev.step : last_step;
		if (open[r].depth)
			keys[i].step = open[r].step;
		if (ev.kind == WSPH_EV_CALL && open[r].depth++ == 0)
			open[r].step = keys[i].step;
		else if (ev.kind == WSPH_EV_RETURN && open[r].depth)
			open[r].depth--;
		if (ev.step > 0 && r == 0)
			last_step = ev.step;
		keys[i].rank = r;
		keys[i].index = i;
	}
	m->n_events = i;
	qsort(keys, m->n_events, sizeof *keys, cmp_key);
	for (i = 0; i < m->n_events; i++) {
		m->order[i] = keys[i].index;
		m->renum[keys[i].index] = (uint64_t)i + 1;
	}
	rc = 0;
out:
	free(keys);
	free(ranked);
	free(open);
	return rc;
}

size_t wsph_casemap_event_at(const struct wsph_casemap *m, size_t i)
{
	return m && m->order && i < m->n_events ? m->order[i] : i;
}

uint64_t wsph_casemap_seq(const struct wsph_casemap *m, uint64_t seq)
{
	return m && m->renum && seq >= 1 && seq <= m->n_events ? m->renum[seq - 1] : seq;
}

struct wsph_casemap *wsph_casemap_new(const struct wsph_case *c)
{
	struct wsph_casemap *m = calloc(1, sizeof *m);
	size_t i, n = wsph_case_n_events(c);
	struct wsph_event evbuf;
	int j;

	if (!m)
		return NULL;
	m->c = c;
	if (canonical_order(m, c, n) != 0)
		goto oom;
	for (i = 0; c && i < m->n_events && wsph_case_event(c, m->order[i], &evbuf) == 0; i++) {
		const struct wsph_event *ev = &evbuf;
		const char *names[WSPH_EV_ARGS];
		if (add_thread(m, ev->thread) != 0)
			goto oom;
		wsph_fn_arg_names(ev->fn, names, NULL);
		for (j = 0; j < WSPH_EV_ARGS && names[j]; j++) {
			if (!ev->a[j] || !wsph_arg_is_pointer(ev->fn, names[j]))
				continue;
			const char *fn = wsph_fn_name(ev->fn);
			if (is_scratch_arg(fn, names[j])
			        ? add_unique_u64(&m->scratch, &m->n_scratch, ev->a[j]) != 0
			        : add_ptr(m, ev->a[j], i, is_birth_arg(fn, names[j])) != 0)
				goto oom;
		}
		if (ev->kind != WSPH_EV_CALL && ev->ret && ev->ret != -1 &&
		    wsph_ret_is_pointer(ev->fn) &&
		    add_ptr(m, (uint64_t)ev->ret, i, 1) != 0)
			goto oom;
	}
	return m;
oom:
	wsph_casemap_free(m);
	return NULL;
}

void wsph_casemap_free(struct wsph_casemap *m)
{
	if (!m)
		return;
	free(m->ptrs);
	free(m->from);
	free(m->scratch);
	free(m->threads);
	free(m->order);
	free(m->renum);
	free(m);
}

static const char *ptr_at(const struct wsph_casemap *m, uint64_t v, size_t pos, char *buf,
                          size_t len)
{
	size_t i, n = ptr_number(m, v, pos);

	if (!m || !v)
		return NULL;
	if (n) {
		snprintf(buf, len, "0x<ptr%lu>", (unsigned long)n);
		return buf;
	}
	for (i = 0; i < m->n_scratch; i++)
		if (m->scratch[i] == v) {
			snprintf(buf, len, "0x<ptr>");
			return buf;
		}
	return NULL;
}

const char *wsph_casemap_ptr(const struct wsph_casemap *m, uint64_t v, char *buf, size_t len)
{
	return ptr_at(m, v, (size_t)-1, buf, len);
}

const char *wsph_casemap_arg(const struct wsph_casemap *m, size_t pos, enum wsph_fn fn,
                             const char *name, uint64_t v, char *buf, size_t len)
{
	if (m && v && name && is_scratch_arg(wsph_fn_name(fn), name)) {
		snprintf(buf, len, "0x<ptr>");
		return buf;
	}
	return ptr_at(m, v, pos, buf, len);
}

unsigned long wsph_casemap_thread(const struct wsph_casemap *m, unsigned long tid)
{
	size_t i;

	if (!m)
		return tid;
	for (i = 0; i < m->n_threads; i++)
		if (m->threads[i] == tid)
			return (unsigned long)i + 1;
	return tid;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_word(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* Appends n bytes to the growing buffer; -1 when out of memory. */
static int append(char **out, size_t *pos, size_t *cap, const char *s, size_t n)
{
	if (*pos + n + 1 > *cap) {
		size_t nc = (*pos + n + 1) * 2;
		char *p = realloc(*out, nc);
		if (!p)
			return -1;
		*out = p;
		*cap = nc;
	}
	memcpy(*out + *pos, s, n);
	*pos += n;
	(*out)[*pos] = '\0';
	return 0;
}

/* The argument name right before a "0x" token ("lpThreadId" in "lpThreadId=0x...") and the
 * function whose argument list holds it (the word before the nearest '(' on the line). */
static int token_is_scratch(const char *text, const char *tok)
{
	const char *e = tok, *b, *paren;
	char arg[64], fn[64];

	if (e == text || e[-1] != '=')
		return 0;
	e--;
	for (b = e; b > text && is_word(b[-1]); b--)
		;
	if (b == e || (size_t)(e - b) >= sizeof arg)
		return 0;
	memcpy(arg, b, (size_t)(e - b));
	arg[e - b] = '\0';
	for (paren = b; paren > text && paren[-1] != '(' && paren[-1] != '\n'; paren--)
		;
	fn[0] = '\0';
	if (paren > text && paren[-1] == '(') {
		const char *fe = paren - 1, *fb;
		for (fb = fe; fb > text && is_word(fb[-1]); fb--)
			;
		if ((size_t)(fe - fb) < sizeof fn) {
			memcpy(fn, fb, (size_t)(fe - fb));
			fn[fe - fb] = '\0';
		}
	}
	return is_scratch_arg(fn, arg);
}

/* Where a line's event number is ("#12" at its start, after spaces and an "=>" mark), or NULL. */
static const char *line_seq_at(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	if (line[0] == '=' && line[1] == '>')
		line += 2;
	while (*line == ' ')
		line++;
	return line[0] == '#' && line[1] >= '0' && line[1] <= '9' ? line : NULL;
}

static uint64_t read_seq(const char *hash, const char **end)
{
	uint64_t v = 0;
	const char *p = hash + 1;
	while (*p >= '0' && *p <= '9' && v < UINT64_MAX / 10)
		v = v * 10 + (uint64_t)(*p++ - '0');
	*end = p;
	return v;
}

/* Numbers of a run in words: "pid N" (a stray process a case left) as "pid <pid>", "thread N" (a
 * hang's explanation) as the thread's number in the case ("thread <tid>" for one its events do not
 * show), a hang's "for N ms" as "for <ms> ms".
 * 1 with the replacement in ph and *end past the number; 0 when s starts none of them. */
static int map_number(const struct wsph_casemap *m, const char *s, const char **end, char *ph,
                      size_t len)
{
	static const char *const words[] = {"pid ", "thread ", "for "};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		size_t n = strlen(words[i]);
		const char *e = s + n;
		if (strncmp(s, words[i], n) || *e < '0' || *e > '9')
			continue;
		unsigned long v = strtoul(e, NULL, 10);
		while (*e >= '0' && *e <= '9')
			e++;
		if (i == 2 && strncmp(e, " ms", 3))
			continue;
		if (i == 0)
			snprintf(ph, len, "pid <pid>");
		else if (i == 1 && wsph_casemap_thread(m, v) != v)
			snprintf(ph, len, "thread %lu", wsph_casemap_thread(m, v));
		else if (i == 1) /* a thread the events do not show */
			snprintf(ph, len, "thread <tid>");
		else
			snprintf(ph, len, "for <ms>");
		*end = e;
		return 1;
	}
	return 0;
}

/* Pass 1: pointer values as placeholders and event numbers in canonical numbering (a line's own
 * "#N" and every "event #N"). */
static char *map_tokens(const struct wsph_casemap *m, const char *text)
{
	size_t cap = 0, pos = 0, at;
	const char *s, *line = text, *seq_tok = line_seq_at(text), *e;
	char *out = NULL;

	/* at: the canonical position of the line's event (a pointer reads as it did there) */
	at = seq_tok ? (size_t)wsph_casemap_seq(m, read_seq(seq_tok, &e)) - 1 : (size_t)-1;
	if (append(&out, &pos, &cap, "", 0) != 0)
		return NULL;
	for (s = text; *s;) {
		char ph[48];
		e = s + 1;
		if (s[0] == '0' && s[1] == 'x' && (s == text || !is_word(s[-1])) &&
		    hexval(s[2]) >= 0) {
			uint64_t v = 0;
			int digits = 0;
			for (e = s + 2; hexval(*e) >= 0; e++, digits++)
				v = v << 4 | (uint64_t)hexval(*e);
			const char *p = NULL;
			if (digits <= 16 && !is_word(*e))
				p = token_is_scratch(line, s) && v ? "0x<ptr>"
				                                   : ptr_at(m, v, at, ph, sizeof ph);
			/* wider than any handle or code the harness prints: an address the events do
			 * not hold (a crash's faulting address), which varies from run to run */
			if (!p && digits > 8 && !is_word(*e))
				p = "0x<addr>";
			if (p) {
				if (append(&out, &pos, &cap, p, strlen(p)) != 0)
					goto oom;
				s = e;
				continue;
			}
		} else if ((s == text || !is_word(s[-1])) && map_number(m, s, &e, ph, sizeof ph)) {
			if (append(&out, &pos, &cap, ph, strlen(ph)) != 0)
				goto oom;
			s = e;
			continue;
		} else if (s[0] == '#' && (s == seq_tok || (s - text >= 6 && !strncmp(s - 6, "event ", 6)))) {
			uint64_t v = read_seq(s, &e);
			snprintf(ph, sizeof ph, "#%llu", (unsigned long long)wsph_casemap_seq(m, v));
			if (append(&out, &pos, &cap, ph, strlen(ph)) != 0)
				goto oom;
			s = e;
			continue;
		}
		if (*s == '\n') {
			line = s + 1;
			seq_tok = line_seq_at(line);
			at = seq_tok ? (size_t)wsph_casemap_seq(m, read_seq(seq_tok, &e)) - 1
			             : (size_t)-1;
			e = s + 1;
		}
		if (append(&out, &pos, &cap, s, (size_t)(e - s)) != 0)
			goto oom;
		s = e;
	}
	return out;
oom:
	free(out);
	return NULL;
}

struct line_ref {
	const char *at;
	size_t len; /* with its newline */
	uint64_t seq;
	size_t index;
};

static int cmp_line(const void *pa, const void *pb)
{
	const struct line_ref *a = pa, *b = pb;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Pass 2: each run of consecutive event lines ("#N ...") in the order of their numbers, as the
 * events are listed. Sorted in place (the lines keep their bytes). */
static int sort_event_lines(char *text)
{
	size_t n = 0, cap = 0, i, start;
	struct line_ref *v = NULL;
	const char *s;
	char *buf = NULL;
	size_t total = strlen(text);

	for (s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);
		const char *tok = line_seq_at(s);
		const char *e;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct line_ref *p = realloc(v, nc * sizeof *p);
			if (!p)
				goto oom;
			v = p;
			cap = nc;
		}
		v[n].at = s;
		v[n].len = len;
		v[n].seq = tok && (!nl || tok < nl) ? read_seq(tok, &e) : 0;
		v[n].index = n;
		n++;
		s += len;
	}
	if (!(buf = malloc(total + 1)))
		goto oom;
	for (i = 0; i < n;) {
		for (start = i; i < n && v[i].seq && v[i].at[v[i].len - 1] == '\n'; i++)
			;
		if (i > start + 1)
			qsort(v + start, i - start, sizeof *v, cmp_line);
		if (i == start)
			i++;
	}
	{
		size_t pos = 0;
		for (i = 0; i < n; i++) {
			memcpy(buf + pos, v[i].at, v[i].len);
			pos += v[i].len;
		}
		buf[pos] = '\0';
		memcpy(text, buf, pos + 1);
	}
	free(buf);
	free(v);
	return 0;
oom:
	free(buf);
	free(v);
	return -1;
}

char *wsph_casemap_text(const struct wsph_casemap *m, const char *text)
{
	char *out;

	if (!text)
		return NULL;
	if (!m)
		return wsph_strdup(text);
	out = map_tokens(m, text);
	if (out && m->renum && sort_event_lines(out) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

char *wsph_casemap_excerpt(const struct wsph_casemap *m, const struct wsph_finding *f)
{
	uint64_t seq = wsph_finding_seq(f);
	size_t pos, from, to, i, cap = 0, len = 0;
	char *raw = NULL, *out;

	if (!f || !f->excerpt)
		return NULL;
	if (!m || !m->renum || !seq || seq > m->n_events)
		return wsph_casemap_text(m, f->excerpt);
	/* the window the rules take (harness/rules.c: six events before, one after), over the
	 * canonical order */
	pos = (size_t)m->renum[seq - 1] - 1;
	from = pos > 6 ? pos - 6 : 0;
	to = pos + 1 < m->n_events ? pos + 1 : m->n_events - 1;
	if (append(&raw, &len, &cap, "", 0) != 0)
		return NULL;
	for (i = from; i <= to; i++) {
		struct wsph_event ev;
		char line[1024];
		if (wsph_case_event(m->c, m->order[i], &ev) != 0)
			break;
		wsph_event_format(&ev, line, sizeof line);
		if (append(&raw, &len, &cap, i == pos ? "=> " : "   ", 3) != 0 ||
		    append(&raw, &len, &cap, line, strlen(line)) != 0 ||
		    append(&raw, &len, &cap, "\n", 1) != 0) {
			free(raw);
			return NULL;
		}
	}
	out = wsph_casemap_text(m, raw);
	free(raw);
	return out;
}

uint64_t wsph_finding_seq(const struct wsph_finding *f)
{
	const char *s;

	if (!f || !f->excerpt)
		return 0;
	for (s = f->excerpt; *s;) {
		const char *t = s;
		while (*t == ' ' || *t == '\t')
			t++;
		if (t[0] == '=' && t[1] == '>') {
			uint64_t v = 0;
			t += 2;
			while (*t == ' ')
				t++;
			if (*t == '#')
				t++;
			while (*t >= '0' && *t <= '9')
				v = v * 10 + (uint64_t)(*t++ - '0');
			return v;
		}
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	return 0;
}

char *wsph_case_label(const struct wsph_case *c)
{
	return wsph_format("%s/%s", wsph_suite_of(c->classname), c->name ? c->name : "");
}

int wsph_casemap_case(const struct wsph_case *c, struct wsph_case *out)
{
	struct wsph_casemap *m = wsph_casemap_new(c);
	size_t i;

	*out = *c;
	out->findings = NULL;
	out->error_message = out->trace = out->skip_reason = NULL;
	if (!m)
		return -1;
	if (c->n_findings && !(out->findings = calloc(c->n_findings, sizeof *out->findings)))
		goto oom;
	for (i = 0; i < c->n_findings; i++) {
		out->findings[i] = c->findings[i];
		out->findings[i].message = wsph_casemap_text(m, c->findings[i].message);
		out->findings[i].excerpt = wsph_casemap_excerpt(m, &c->findings[i]);
		if ((c->findings[i].message && !out->findings[i].message) ||
		    (c->findings[i].excerpt && !out->findings[i].excerpt))
			goto oom;
	}
	out->error_message = wsph_casemap_text(m, c->error_message);
	out->skip_reason = wsph_casemap_text(m, c->skip_reason);
	out->trace = wsph_casemap_text(m, c->trace);
	if ((c->error_message && !out->error_message) || (c->trace && !out->trace) ||
	    (c->skip_reason && !out->skip_reason))
		goto oom;
	wsph_casemap_free(m);
	return 0;
oom:
	wsph_casemap_free(m);
	wsph_casemap_case_free(out);
	return -1;
}

void wsph_casemap_case_free(struct wsph_case *copy)
{
	size_t i;

	for (i = 0; copy->findings && i < copy->n_findings; i++) {
		free(copy->findings[i].message);
		free(copy->findings[i].excerpt);
	}
	free(copy->findings);
	free(copy->error_message);
	free(copy->skip_reason);
	free(copy->trace);
	copy->findings = NULL;
	copy->error_message = copy->trace = copy->skip_reason = NULL;
}
