/* Per-case maps for the writers: pointer placeholders, thread numbers, a finding's event. */
#include "casemap.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wsph_casemap {
	uint64_t *ptrs; /* distinct pointer values, in order of first appearance */
	size_t n_ptrs;
	unsigned long *threads;
	size_t n_threads;
};

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

struct wsph_casemap *wsph_casemap_new(const struct wsph_case *c)
{
	struct wsph_casemap *m = calloc(1, sizeof *m);
	size_t i, n = wsph_case_n_events(c);
	struct wsph_event evbuf;
	int j;

	if (!m)
		return NULL;
	for (i = 0; c && i < n && wsph_case_event(c, i, &evbuf) == 0; i++) {
		const struct wsph_event *ev = &evbuf;
		const char *names[WSPH_EV_ARGS];
		if (add_thread(m, ev->thread) != 0)
			goto oom;
		wsph_fn_arg_names(ev->fn, names, NULL);
		for (j = 0; j < WSPH_EV_ARGS && names[j]; j++)
			if (ev->a[j] && wsph_arg_is_pointer(ev->fn, names[j]) &&
			    add_unique_u64(&m->ptrs, &m->n_ptrs, ev->a[j]) != 0)
				goto oom;
		if (ev->kind != WSPH_EV_CALL && ev->ret && ev->ret != -1 &&
		    wsph_ret_is_pointer(ev->fn) &&
		    add_unique_u64(&m->ptrs, &m->n_ptrs, (uint64_t)ev->ret) != 0)
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
	free(m->threads);
	free(m);
}

const char *wsph_casemap_ptr(const struct wsph_casemap *m, uint64_t v, char *buf, size_t len)
{
	size_t i;

	if (!m || !v)
		return NULL;
	for (i = 0; i < m->n_ptrs; i++)
		if (m->ptrs[i] == v) {
			snprintf(buf, len, "0x<ptr%lu>", (unsigned long)i + 1);
			return buf;
		}
	return NULL;
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

char *wsph_casemap_text(const struct wsph_casemap *m, const char *text)
{
	size_t cap = 0, pos = 0;
	const char *s;
	char *out = NULL;

	if (!text)
		return NULL;
	if (!m || !m->n_ptrs)
		return wsph_strdup(text);
	if (append(&out, &pos, &cap, "", 0) != 0)
		return NULL;
	for (s = text; *s;) {
		const char *e = s + 1;
		char ph[32];
		if (s[0] == '0' && s[1] == 'x' && (s == text || !is_word(s[-1])) &&
		    hexval(s[2]) >= 0) {
			uint64_t v = 0;
			int digits = 0;
			for (e = s + 2; hexval(*e) >= 0; e++, digits++)
				v = v << 4 | (uint64_t)hexval(*e);
			if (digits <= 16 && !is_word(*e) && wsph_casemap_ptr(m, v, ph, sizeof ph)) {
				if (append(&out, &pos, &cap, ph, strlen(ph)) != 0)
					goto oom;
				s = e;
				continue;
			}
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
	const char *cls = c->classname ? c->classname : "";
	if (strncmp(cls, "wspharness.", 11) == 0)
		cls += 11;
	return wsph_format("%s/%s", cls, c->name ? c->name : "");
}

int wsph_casemap_case(const struct wsph_case *c, struct wsph_case *out)
{
	struct wsph_casemap *m = wsph_casemap_new(c);
	size_t i;

	*out = *c;
	out->findings = NULL;
	out->error_message = out->trace = NULL;
	if (!m)
		return -1;
	if (c->n_findings && !(out->findings = calloc(c->n_findings, sizeof *out->findings)))
		goto oom;
	for (i = 0; i < c->n_findings; i++) {
		out->findings[i] = c->findings[i];
		out->findings[i].message = wsph_casemap_text(m, c->findings[i].message);
		out->findings[i].excerpt = wsph_casemap_text(m, c->findings[i].excerpt);
		if ((c->findings[i].message && !out->findings[i].message) ||
		    (c->findings[i].excerpt && !out->findings[i].excerpt))
			goto oom;
	}
	out->error_message = wsph_casemap_text(m, c->error_message);
	out->trace = wsph_casemap_text(m, c->trace);
	if ((c->error_message && !out->error_message) || (c->trace && !out->trace))
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
	free(copy->trace);
	copy->findings = NULL;
	copy->error_message = copy->trace = NULL;
}
