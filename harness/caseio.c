/* What an isolated child tells its parent, and how the parent turns a crash into a verdict. */
#include "caseio.h"

#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MARK "\x1eWSPH "

static void put_escaped(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default: fputc(*s, out); break;
		}
	}
}

/* Unescapes in place up to a tab or the end; returns the start of the next field (or NULL). */
static char *field(char *s, char **next)
{
	char *w = s, *r = s;
	for (; *r && *r != '\t'; r++) {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r == 't' ? '\t' : *r;
		} else {
			*w++ = *r;
		}
	}
	*next = *r == '\t' ? r + 1 : NULL;
	*w = '\0';
	return s;
}

void wsph_caseio_event(FILE *out, const struct wsph_event *ev)
{
	wsph_caseio_event_buffered(out, ev);
	fflush(out);
}

/* An event line: MARK "V " <the event up to its text, in hex> TAB <text> TAB <module> TAB <a
 * hash of the event's bytes, its text and its module, 8 hex digits>. Strings escape control
 * characters, DEL and the backslash as \xHH. A line cut short (a crash in the middle of the
 * write) or mixed with the provider's own bytes fails the check and is dropped. One fwrite. */
#define EV_FIXED offsetof(struct wsph_event, text)
#define EV_LINE_MAX_FIXED                                                                          \
	(sizeof MARK + 4 + 2 * EV_FIXED +                                                          \
	 4 * (sizeof((struct wsph_event *)0)->text + sizeof((struct wsph_event *)0)->module) + 16)
_Static_assert(offsetof(struct wsph_event, text) % 4 == 0, "the fixed part is whole ints");

#define HASH_MUL 0x100000001b3ull

/* The check: over the fixed part's words, then the strings' bytes. */
static uint64_t hash_fixed(const struct wsph_event *ev)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *p = (const unsigned char *)ev;
	size_t i = 0;
	for (; i + 8 <= EV_FIXED; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * HASH_MUL;
		h ^= h >> 29;
	}
	for (; i < EV_FIXED; i++)
		h = (h ^ p[i]) * HASH_MUL;
	return h;
}

static uint64_t hash_str(uint64_t h, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++)
		h = (h ^ (unsigned char)s[i]) * HASH_MUL;
	return (h ^ 0x100) * HASH_MUL; /* the end of the string */
}

static uint32_t event_hash(const struct wsph_event *ev)
{
	uint64_t h = hash_str(hash_fixed(ev), ev->text, sizeof ev->text);
	h = hash_str(h, ev->module, sizeof ev->module);
	return (uint32_t)(h ^ h >> 32);
}

/* Four bytes as eight lowercase hex digits, in memory order, without a loop per digit. Both
 * targets are little-endian (x86-64). */
static void hex4(char *out, const unsigned char *in)
{
	uint32_t v;
	memcpy(&v, in, 4);
	uint64_t x = v;
	x = (x | x << 16) & 0x0000ffff0000ffffull;
	x = (x | x << 8) & 0x00ff00ff00ff00ffull; /* byte i of v in byte 2i */
	uint64_t n = (x >> 4 & 0x000f000f000f000full) | (x & 0x000f000f000f000full) << 8;
	uint64_t letter = ((n + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
	uint64_t ascii = n + 0x3030303030303030ull + letter * ('a' - '0' - 10);
	memcpy(out, &ascii, 8);
}

static size_t put_str(char *w, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			w[n++] = '\\';
			w[n++] = 'x';
			w[n++] = hex[ch >> 4];
			w[n++] = hex[ch & 15];
		} else {
			w[n++] = (char)ch;
		}
	}
	return n;
}

/* The line is built off the stack: a provider that recurses until its stack overflows makes
 * upcalls on its way down, and the overflow must stay in its own frames as far as possible. */
static WSPH_THREAD_LOCAL char ev_line[EV_LINE_MAX_FIXED];

void wsph_caseio_event_buffered(FILE *out, const struct wsph_event *ev)
{
	char *line = ev_line;
	const unsigned char *p = (const unsigned char *)ev;
	size_t n = sizeof "\n" MARK "V " - 1;
	memcpy(line, "\n" MARK "V ", n);
	for (size_t i = 0; i < EV_FIXED; i += 4, n += 8)
		hex4(line + n, p + i);
	line[n++] = '\t';
	n += put_str(line + n, ev->text, sizeof ev->text);
	line[n++] = '\t';
	n += put_str(line + n, ev->module, sizeof ev->module);
	line[n++] = '\t';
	uint32_t h = event_hash(ev);
	unsigned char hb[4] = {(unsigned char)(h >> 24), (unsigned char)(h >> 16),
			       (unsigned char)(h >> 8), (unsigned char)h};
	hex4(line + n, hb);
	n += 8;
	line[n++] = '\n';
	fwrite(line, 1, n, out);
}

void wsph_caseio_case(FILE *out, const struct wsph_case *c)
{
	for (size_t i = 0; i < c->n_findings; i++) {
		const struct wsph_finding *f = &c->findings[i];
		fprintf(out, "\n" MARK "F %s\t%d\t%d\t%d\t", f->rule->id, f->step, f->loc.line,
			f->loc.col);
		put_escaped(out, f->message);
		fputc('\t', out);
		put_escaped(out, f->excerpt);
		fputc('\n', out);
	}
	if (c->outcome == WSPH_ERROR) {
		fputs("\n" MARK "E ", out);
		put_escaped(out, c->error_type);
		fputc('\t', out);
		put_escaped(out, c->error_message);
		fputc('\n', out);
	}
	fprintf(out, "\n" MARK "O %d\n" MARK "D\n", (int)c->outcome);
	fflush(out);
}

void wsph_caseio_crash(FILE *out, long code)
{
	fprintf(out, "\n" MARK "X %ld\n", code);
	fflush(out);
}

void wsph_caseio_started(FILE *out)
{
	fputs("\n" MARK "S\n", out);
	fflush(out);
}

void wsph_caseio_tainted(FILE *out, const char *reason)
{
	fputs("\n" MARK "T ", out);
	put_escaped(out, reason);
	fputc('\n', out);
	fflush(out);
}

void wsph_caseio_exit_unjudged(FILE *out)
{
	fputs("\n" MARK "U\n", out);
	fflush(out);
}

size_t wsph_caseio_find(const char *buf, size_t len, size_t from, char kind)
{
	size_t ml = strlen(MARK);
	for (size_t i = from; i + ml + 1 < len; i++) {
		if (buf[i] != MARK[0] || memcmp(buf + i, MARK, ml) || buf[i + ml] != kind)
			continue;
		for (size_t j = i + ml + 1; j < len; j++)
			if (buf[j] == '\n')
				return j + 1;
		return 0; /* the line is not complete yet */
	}
	return 0;
}

void wsph_caseio_after_case(struct wsph_case *c, enum wsph_child_end end, long code,
			    unsigned wait_ms, const char *output)
{
	char name[96];
	const char *klass = "exit";
	char *msg;
	if (end == WSPH_CHILD_TIMEOUT) {
		klass = "timeout";
		msg = wsph_format("the scenario completed, then the child process did not exit within "
				  "%u ms when asked to",
				  wait_ms);
	} else if (end == WSPH_CHILD_SIGNALED) {
		wsph_plat_signal_name(code, name, sizeof name, &klass);
		msg = wsph_format("the scenario completed, then the child process was ended by %s "
				  "(a provider thread, an exit handler or a checker such as valgrind)",
				  name);
	} else {
		msg = wsph_format("the scenario completed, then the child process exited with status %ld "
				  "(a provider thread, an exit handler or a checker such as valgrind)",
				  code);
	}
	free(c->error_type);
	free(c->error_message);
	c->outcome = WSPH_ERROR;
	c->error_type = wsph_format("%s-after-case", klass);
	c->error_message = msg;
	if (output && *output) {
		char *t = wsph_format("%s--- output after the case ---\n%s%s", c->trace ? c->trace : "",
				      output, output[strlen(output) - 1] == '\n' ? "" : "\n");
		if (t) {
			free(c->trace);
			c->trace = t;
		}
	}
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* ---- the parent's reader: the stream parsed as it arrives ---- */

struct wsph_caseio_reader {
	const struct wsph_ruleset *set;
	const struct wsph_scenario *sc;
	struct wsph_case c; /* events and findings so far */
	int done, outcome;
	char *tainted; /* the reason of a "T" line */
	int exit_unjudged; /* a "U" line: the child's exit status is not about its cases */
	long crash;
	char *err_type, *err_msg;
	char *output; /* the provider's own output: the last output_cap bytes */
	size_t out_len, out_cap, out_dropped, output_cap;
};

/* Decodes one escaped string field of an event line into dst (at most max - 1 bytes). */
static int get_str(const char *s, size_t n, char *dst, size_t max)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\\') {
			int hi, lo;
			if (i + 3 >= n)
				return -1;
			if (s[i + 1] != 'x' || (hi = hexval(s[i + 2])) < 0 || (lo = hexval(s[i + 3])) < 0)
				return -1;
			ch = (char)(hi << 4 | lo);
			i += 3;
		}
		if (w + 1 >= max)
			return -1;
		dst[w++] = ch;
	}
	dst[w] = '\0';
	return 0;
}

/* An event line after "V " (n bytes, without its newline): 0 and *ev, or -1 if it is not whole. */
static int parse_event(const char *s, size_t n, struct wsph_event *ev)
{
	size_t fixed = 2 * EV_FIXED;
	if (n < fixed + 3 + 8 || s[fixed] != '\t' || s[n - 9] != '\t')
		return -1;
	uint32_t h = 0;
	for (size_t i = n - 8; i < n; i++) {
		int v = hexval(s[i]);
		if (v < 0)
			return -1;
		h = h << 4 | (uint32_t)v;
	}
	const char *text = s + fixed + 1, *end = s + n - 9;
	const char *tab = memchr(text, '\t', (size_t)(end - text));
	if (!tab)
		return -1;
	memset(ev, 0, sizeof *ev);
	unsigned char *p = (unsigned char *)ev;
	for (size_t i = 0; i < EV_FIXED; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		p[i] = (unsigned char)(hi << 4 | lo);
	}
	if (get_str(text, (size_t)(tab - text), ev->text, sizeof ev->text) != 0 ||
	    get_str(tab + 1, (size_t)(end - tab - 1), ev->module, sizeof ev->module) != 0)
		return -1;
	return event_hash(ev) == h ? 0 : -1;
}

static void add_finding(struct wsph_case *c, const struct wsph_ruleset *set,
			const struct wsph_scenario *sc, char *rest)
{
	char *next = rest;
	char *id = field(next, &next);
	const struct wsph_rule *rule = wsph_ruleset_find(set, id);
	if (!rule || !next)
		return;
	int step = atoi(field(next, &next));
	int line = next ? atoi(field(next, &next)) : 0;
	int col = next ? atoi(field(next, &next)) : 0;
	char *msg = next ? field(next, &next) : "";
	char *excerpt = next ? field(next, &next) : NULL;
	struct wsph_finding *p = realloc(c->findings, (c->n_findings + 1) * sizeof *p);
	if (!p)
		return;
	c->findings = p;
	struct wsph_finding *f = &c->findings[c->n_findings++];
	memset(f, 0, sizeof *f);
	f->rule = rule;
	f->step = step;
	f->loc.file = sc->file;
	f->loc.line = line;
	f->loc.col = col;
	f->message = wsph_strdup(msg);
	f->excerpt = excerpt && *excerpt ? wsph_strdup(excerpt) : NULL;
}

struct wsph_caseio_reader *wsph_caseio_reader_new(const struct wsph_ruleset *set,
						  const struct wsph_scenario *sc, size_t output_cap)
{
	struct wsph_caseio_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->set = set;
	r->sc = sc;
	r->outcome = -1;
	r->output_cap = output_cap ? output_cap : WSPH_CASEIO_OUTPUT_KEEP;
	return r;
}

/* Keeps the provider's own bytes, the last output_cap of them. */
static void keep_output(struct wsph_caseio_reader *r, const char *s, size_t n)
{
	if (n > r->output_cap) {
		r->out_dropped += n - r->output_cap + r->out_len;
		s += n - r->output_cap;
		n = r->output_cap;
		r->out_len = 0;
	}
	if (r->out_len + n > r->output_cap) {
		size_t drop = r->out_len + n - r->output_cap;
		/* drop whole lines where it can */
		const char *nl = memchr(r->output + drop, '\n', r->out_len - drop);
		if (nl)
			drop = (size_t)(nl - r->output) + 1;
		memmove(r->output, r->output + drop, r->out_len - drop);
		r->out_len -= drop;
		r->out_dropped += drop;
	}
	if (r->out_len + n + 1 > r->out_cap) {
		size_t cap = (r->out_len + n + 1) * 2;
		if (cap > r->output_cap + 1)
			cap = r->output_cap + 1;
		char *p = realloc(r->output, cap);
		if (!p)
			return;
		r->output = p;
		r->out_cap = cap;
	}
	memcpy(r->output + r->out_len, s, n);
	r->out_len += n;
	r->output[r->out_len] = '\0';
}

static const char *find_mark(const char *s, size_t n)
{
	size_t ml = sizeof MARK - 1;
	for (const char *p = s; (size_t)(s + n - p) >= ml; p++) {
		p = memchr(p, MARK[0], (size_t)(s + n - p));
		if (!p || (size_t)(s + n - p) < ml)
			return NULL;
		if (!memcmp(p, MARK, ml))
			return p;
	}
	return NULL;
}

/* One line (without its newline). */
static void read_line(struct wsph_caseio_reader *r, char *line, size_t n)
{
	if (n && line[n - 1] == '\r')
		n--; /* a Windows child writes text mode */
	const char *m = find_mark(line, n);
	size_t own = m ? (size_t)(m - line) : n;
	if (own) {
		keep_output(r, line, own);
		keep_output(r, "\n", 1);
	}
	if (!m)
		return;
	char *rest = line + own + sizeof MARK - 1;
	size_t rn = n - own - (sizeof MARK - 1);
	if (!rn)
		return;
	char kind = rest[0];
	rest += rn > 1 ? 2 : 1;
	rn -= rn > 1 ? 2 : 1;
	if (kind == 'V') {
		struct wsph_event ev;
		if (parse_event(rest, rn, &ev) != 0)
			return; /* cut short by a crash, or mixed with other bytes */
		if (!r->c.events && !(r->c.events = wsph_trace_new()))
			return;
		wsph_trace_put(r->c.events, &ev);
		return;
	}
	char save = rest[rn];
	rest[rn] = '\0'; /* the other kinds are text: within the line */
	switch (kind) {
	case 'F': add_finding(&r->c, r->set, r->sc, rest); break;
	case 'O': r->outcome = atoi(rest); break;
	case 'D': r->done = 1; break;
	case 'U': r->exit_unjudged = 1; break;
	case 'T': {
		char *next = rest;
		free(r->tainted);
		r->tainted = wsph_strdup(field(next, &next));
		break;
	}
	case 'X': r->crash = (long)strtoul(rest, NULL, 10); break;
	case 'E': {
		char *next = rest;
		free(r->err_type);
		free(r->err_msg);
		r->err_type = wsph_strdup(field(next, &next));
		r->err_msg = wsph_strdup(next ? field(next, &next) : "");
		break;
	}
	default: break;
	}
	rest[rn] = save;
}

size_t wsph_caseio_reader_feed(struct wsph_caseio_reader *r, char *buf, size_t len, int final)
{
	size_t pos = 0;
	while (pos < len && !r->done) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		if (!nl && !final)
			break;
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		read_line(r, buf + pos, n);
		pos += n + (nl != NULL);
	}
	return pos;
}

int wsph_caseio_reader_done(const struct wsph_caseio_reader *r)
{
	return r->done;
}

const char *wsph_caseio_reader_tainted(const struct wsph_caseio_reader *r)
{
	return r->tainted;
}

int wsph_caseio_reader_exit_unjudged(const struct wsph_caseio_reader *r)
{
	return r->exit_unjudged;
}

static char *events_text(struct wsph_case *c, size_t cap, const char *output, size_t dropped)
{
	char *t = c->events ? wsph_trace_text(c->events, cap) : wsph_strdup("");
	if (t && output && *output) {
		char more[96] = "";
		if (dropped)
			snprintf(more, sizeof more, "... (%lu earlier bytes not kept)\n",
				 (unsigned long)dropped);
		char *all = wsph_format("%s--- provider output ---\n%s%s%s", t, more, output,
					output[strlen(output) - 1] == '\n' ? "" : "\n");
		if (all) {
			free(t);
			t = all;
		}
	}
	return t;
}

void wsph_caseio_reader_finish(struct wsph_caseio_reader *r, enum wsph_child_end end, long code,
			       unsigned timeout_ms, size_t trace_cap, struct wsph_case *c)
{
	c->events = r->c.events;
	c->findings = r->c.findings;
	c->n_findings = r->c.n_findings;
	size_t n = wsph_case_n_events(c);
	struct wsph_event lastev;
	int have_last = n && wsph_case_event(c, n - 1, &lastev) == 0;
	int last_step = have_last ? lastev.step : 0;
	char last[768] = "";
	if (have_last) {
		char call[700];
		wsph_event_call_text(&lastev, call, sizeof call);
		snprintf(last, sizeof last, "; last event: %s", call);
	}
	if (r->done && r->outcome >= 0) {
		c->outcome = (enum wsph_outcome)r->outcome;
		c->error_type = r->err_type;
		c->error_message = r->err_msg;
		r->err_type = r->err_msg = NULL;
	} else {
		char name[96];
		const char *klass = "crash";
		c->outcome = WSPH_ERROR;
		if (end == WSPH_CHILD_STOPPED) {
			c->error_type = wsph_strdup("interrupted");
			c->error_message = wsph_format("the run was interrupted during this scenario (at "
						       "step %d%s)",
						       last_step, last);
		} else if (end == WSPH_CHILD_TIMEOUT) {
			c->error_type = wsph_strdup("timeout");
			c->error_message = wsph_format("the scenario did not finish within %u ms (at "
						       "step %d%s)",
						       timeout_ms, last_step, last);
		} else if (r->crash || end == WSPH_CHILD_SIGNALED) {
			wsph_plat_signal_name(r->crash ? r->crash : code, name, sizeof name, &klass);
			c->error_type = wsph_strdup(klass);
			c->error_message = wsph_format("the provider crashed: %s (at step %d%s)", name,
						       last_step, last);
		} else if (end == WSPH_CHILD_FAILED) {
			c->error_type = wsph_strdup("internal");
			c->error_message = wsph_strdup("the child process could not be started");
		} else {
			c->error_type = wsph_strdup("exit");
			c->error_message = wsph_format("the process exited with status %ld inside "
						       "the provider (at step %d%s)",
						       code, last_step, last);
		}
	}
	c->trace = events_text(c, trace_cap ? trace_cap : 65536, r->output, r->out_dropped);
	c->events = wsph_trace_seal(c->events);
	free(r->err_type);
	free(r->err_msg);
	free(r->tainted);
	free(r->output);
	free(r);
}

void wsph_caseio_reader_free(struct wsph_caseio_reader *r)
{
	if (!r)
		return;
	wsph_trace_free(r->c.events);
	for (size_t i = 0; i < r->c.n_findings; i++) {
		free(r->c.findings[i].message);
		free(r->c.findings[i].excerpt);
	}
	free(r->c.findings);
	free(r->err_type);
	free(r->err_msg);
	free(r->tainted);
	free(r->output);
	free(r);
}

void wsph_caseio_parse(const struct wsph_child_result *res, const struct wsph_ruleset *set,
		       const struct wsph_scenario *sc, unsigned timeout_ms, size_t trace_cap,
		       struct wsph_case *c)
{
	struct wsph_caseio_reader *r = wsph_caseio_reader_new(set, sc, 0);
	char *text = wsph_strndup(res->output ? res->output : "", res->len);
	if (!r || !text) {
		free(text);
		wsph_caseio_reader_free(r);
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("internal");
		c->error_message = wsph_strdup("out of memory");
		return;
	}
	wsph_caseio_reader_feed(r, text, res->len, 1);
	free(text);
	wsph_caseio_reader_finish(r, res->end, res->code, timeout_ms, trace_cap, c);
}
