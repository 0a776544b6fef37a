/* What an isolated child tells its parent, and how the parent turns a crash into a verdict. */
#include "caseio.h"

#include "util.h"

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

void wsph_caseio_event_buffered(FILE *out, const struct wsph_event *ev)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)ev;
	fputs("\n" MARK "V ", out);
	for (size_t i = 0; i < sizeof *ev; i++) {
		fputc(hex[p[i] >> 4], out);
		fputc(hex[p[i] & 15], out);
	}
	fputc('\n', out);
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

static void add_event(struct wsph_case *c, size_t *cap, const char *hex)
{
	struct wsph_event ev;
	unsigned char *p = (unsigned char *)&ev;
	for (size_t i = 0; i < sizeof ev; i++) {
		int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (lo < 0)
			return; /* a line cut short by a crash */
		p[i] = (unsigned char)(hi << 4 | lo);
	}
	/* an update of an event already sent replaces it */
	if (ev.seq >= 1 && ev.seq <= c->n_events) {
		c->events[ev.seq - 1] = ev;
		return;
	}
	if (c->n_events == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct wsph_event *q = realloc(c->events, nc * sizeof *q);
		if (!q)
			return;
		c->events = q;
		*cap = nc;
	}
	c->events[c->n_events++] = ev;
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

static char *events_text(const struct wsph_case *c, size_t cap, const char *output)
{
	size_t size = 1024, pos = 0;
	char *t = malloc(size);
	if (!t)
		return NULL;
	t[0] = '\0';
	for (size_t i = 0; i < c->n_events; i++) {
		char line[1024];
		wsph_event_format(&c->events[i], line, sizeof line);
		size_t n = strlen(line);
		if (pos + n + 2 > cap) {
			const char *more = "... (trace truncated)\n";
			char *q = realloc(t, pos + strlen(more) + 1);
			if (q) {
				t = q;
				strcpy(t + pos, more);
				pos += strlen(more);
			}
			break;
		}
		if (pos + n + 2 > size) {
			size = (pos + n + 2) * 2;
			char *q = realloc(t, size);
			if (!q)
				break;
			t = q;
		}
		memcpy(t + pos, line, n);
		pos += n;
		t[pos++] = '\n';
		t[pos] = '\0';
	}
	if (output && *output) {
		char *all = wsph_format("%s--- provider output ---\n%s%s", t, output,
					output[strlen(output) - 1] == '\n' ? "" : "\n");
		if (all) {
			free(t);
			t = all;
		}
	}
	return t;
}

void wsph_caseio_parse(const struct wsph_child_result *res, const struct wsph_ruleset *set,
		       const struct wsph_scenario *sc, unsigned timeout_ms, size_t trace_cap,
		       struct wsph_case *c)
{
	size_t cap = 0, outlen = 0;
	int done = 0, outcome = -1;
	long crash = 0;
	char *err_type = NULL, *err_msg = NULL;
	char *text = wsph_strndup(res->output ? res->output : "", res->len);
	char *output = calloc(1, res->len + 1);
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t ll = strlen(line);
		if (ll && line[ll - 1] == '\r')
			line[ll - 1] = '\0'; /* a Windows child writes text mode */
		char *m = strstr(line, MARK);
		size_t own = m ? (size_t)(m - line) : strlen(line);
		if (output && own) {
			memcpy(output + outlen, line, own);
			outlen += own;
			output[outlen++] = '\n';
		}
		if (m) {
			char *rest = m + strlen(MARK);
			char kind = rest[0];
			rest = rest[1] ? rest + 2 : rest + 1;
			switch (kind) {
			case 'V': add_event(c, &cap, rest); break;
			case 'F': add_finding(c, set, sc, rest); break;
			case 'O': outcome = atoi(rest); break;
			case 'D': done = 1; break;
			case 'X': crash = (long)strtoul(rest, NULL, 10); break;
			case 'E': {
				char *next = rest;
				free(err_type);
				free(err_msg);
				err_type = wsph_strdup(field(next, &next));
				err_msg = wsph_strdup(next ? field(next, &next) : "");
				break;
			}
			default: break;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (output)
		output[outlen] = '\0';
	int last_step = c->n_events ? c->events[c->n_events - 1].step : 0;
	char last[768] = "";
	if (c->n_events) {
		char call[700];
		wsph_event_call_text(&c->events[c->n_events - 1], call, sizeof call);
		snprintf(last, sizeof last, "; last event: %s", call);
	}
	if (done && outcome >= 0) {
		c->outcome = (enum wsph_outcome)outcome;
		c->error_type = err_type;
		c->error_message = err_msg;
		err_type = err_msg = NULL;
	} else {
		char name[96];
		const char *klass = "crash";
		c->outcome = WSPH_ERROR;
		if (res->end == WSPH_CHILD_STOPPED) {
			c->error_type = wsph_strdup("interrupted");
			c->error_message = wsph_format("the run was interrupted during this scenario (at "
						       "step %d%s)",
						       last_step, last);
		} else if (res->end == WSPH_CHILD_TIMEOUT) {
			c->error_type = wsph_strdup("timeout");
			c->error_message = wsph_format("the scenario did not finish within %u ms (at "
						       "step %d%s)",
						       timeout_ms, last_step, last);
		} else if (crash || res->end == WSPH_CHILD_SIGNALED) {
			wsph_plat_signal_name(crash ? crash : res->code, name, sizeof name, &klass);
			c->error_type = wsph_strdup(klass);
			c->error_message = wsph_format("the provider crashed: %s (at step %d%s)", name,
						       last_step, last);
		} else if (res->end == WSPH_CHILD_FAILED) {
			c->error_type = wsph_strdup("internal");
			c->error_message = wsph_strdup("the child process could not be started");
		} else {
			c->error_type = wsph_strdup("exit");
			c->error_message = wsph_format("the process exited with status %ld inside "
						       "the provider (at step %d%s)",
						       res->code, last_step, last);
		}
	}
	c->trace = events_text(c, trace_cap ? trace_cap : 65536, output);
	free(err_type);
	free(err_msg);
	free(output);
	free(text);
}
