/* What an isolated child tells its parent on the channel, and how the parent turns it (and how the
 * child ended) into a verdict. */
#include "caseio.h"

#include "util.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the check ---- */

#define HASH_MUL 0x100000001b3ull

/* Two words, each keyed by its place (ka, kb), times an odd constant, added to its lane. */
static void hash_pair(uint64_t *a, uint64_t *b, const char *p, uint64_t ka, uint64_t kb)
{
	uint64_t w0, w1;
	memcpy(&w0, p, 8);
	memcpy(&w1, p + 8, 8);
	*a += (w0 ^ ka) * HASH_MUL;
	*b += (w1 ^ kb) * 0xff51afd7ed558ccdull;
}

#define HASH_KA 0x9e3779b97f4a7c15ull /* the keys of place i are i * HASH_KA, i * HASH_KB */
#define HASH_KB 0xc2b2ae3d27d4eb4full

/* The bytes s[0..n) at places from..from + n of what is hashed, into the lanes (kept in locals
 * meanwhile: a store through a or b could change the bytes for all the compiler knows). */
static void hash_more(uint64_t *a, uint64_t *b, const char *s, size_t n, size_t from)
{
	uint64_t x = *a, y = *b, ka = from * HASH_KA, kb = from * HASH_KB;
	size_t i = 0;
	for (; i + 16 <= n; i += 16, ka += 16 * HASH_KA, kb += 16 * HASH_KB)
		hash_pair(&x, &y, s + i, ka, kb);
	if (i < n) {
		char tail[16] = {0};
		memcpy(tail, s + i, n - i);
		hash_pair(&x, &y, tail, ka, kb);
	}
	*a = x;
	*b = y;
}

static uint64_t hash_end(uint64_t a, uint64_t b, size_t n)
{
	b ^= b >> 31;
	return (a ^ b * 0x94d049bb133111ebull ^ n) * HASH_MUL;
}

#define HASH_A0 0xcbf29ce484222325ull
#define HASH_B0 0x84222325cbf29ce4ull

/* Over the bytes, sixteen at a time: independent multiplications summed in two lanes, not a chain
 * of them (a record's check costs a few nanoseconds on each side). A word changed anywhere
 * changes its lane's sum (the constants are odd); frame_check mixes the result. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t a = HASH_A0, b = HASH_B0;
	hash_more(&a, &b, s, n, 0);
	return hash_end(a, b, n);
}

/* The frame's check: its kind, number and payload, keyed with the child's secret. */
static uint32_t frame_check(uint64_t secret, char kind, uint32_t seq, uint64_t content)
{
	uint64_t x = content ^ secret ^ (uint64_t)seq * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)(unsigned char)kind << 56;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return (uint32_t)(x ^ x >> 32);
}

static const char hexd[] = "0123456789abcdef";

static void hex32(char *out, uint32_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 4)
		out[i] = hexd[v & 15];
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int unhex32(const char *s, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < 8; i++) {
		int d = hexval(s[i]);
		if (d < 0)
			return -1;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return 0;
}

/* ---- the child's writer ---- */

#define FRAME_HEAD 9  /* kind, number */
#define FRAME_TAIL 10 /* tab, check, newline */
#define WBUF (256 * 1024)

static struct {
	struct wsph_mutex *lock;
	uint64_t secret;
	volatile uint32_t seq;
	uint32_t case_frames; /* since the last "S" */
	uint64_t case_events;
	size_t case_findings; /* streamed by wsph_caseio_finding since the last "S" */
	int (*write)(const void *buf, size_t len);
	unsigned char named[WSPH_CASEIO_MODULES / 8]; /* module ids the parent was told */
	size_t len;
	char buf[WBUF];
} W;

void wsph_caseio_begin(uint64_t secret, int (*write)(const void *buf, size_t len))
{
	if (!W.lock)
		W.lock = wsph_mutex_new();
	W.secret = secret;
	W.seq = 0;
	W.case_frames = 0;
	W.case_events = 0;
	W.write = write;
	memset(W.named, 0, sizeof W.named);
	W.len = 0;
}

static void flush_locked(void)
{
	if (W.len && W.write)
		W.write(W.buf, W.len);
	W.len = 0;
}

struct wsph_mutex *wsph_caseio_lock(void)
{
	return W.lock;
}

void wsph_caseio_flush(void)
{
	if (!W.lock)
		return;
	wsph_mutex_lock(W.lock);
	flush_locked();
	wsph_mutex_unlock(W.lock);
}

/* Head and tail of a frame around its payload; returns the check's place. */
static void frame_ends(char *head, char *tail, char kind, uint32_t seq, const char *payload,
		       size_t n)
{
	head[0] = kind;
	hex32(head + 1, seq);
	tail[0] = '\t';
	hex32(tail + 1, frame_check(W.secret, kind, seq, hash_bytes(payload, n)));
	tail[9] = '\n';
}

static void put_frame_locked(char kind, const char *payload, size_t n)
{
	char head[FRAME_HEAD], tail[FRAME_TAIL];
	uint32_t seq = W.seq++;
	W.case_frames++;
	frame_ends(head, tail, kind, seq, payload, n);
	size_t total = FRAME_HEAD + n + FRAME_TAIL;
	if (W.len + total > WBUF)
		flush_locked();
	if (total > WBUF) {
		if (W.write) {
			W.write(head, FRAME_HEAD);
			W.write(payload, n);
			W.write(tail, FRAME_TAIL);
		}
	} else {
		memcpy(W.buf + W.len, head, FRAME_HEAD);
		memcpy(W.buf + W.len + FRAME_HEAD, payload, n);
		memcpy(W.buf + W.len + FRAME_HEAD + n, tail, FRAME_TAIL);
		W.len += total;
	}
}

static void put_frame(char kind, const char *payload, size_t n)
{
	if (!W.lock)
		return;
	wsph_mutex_lock(W.lock);
	put_frame_locked(kind, payload, n);
	wsph_mutex_unlock(W.lock);
}

/* ---- the crash frame: written by a crash handler, so no allocation, no lock, no stdio ---- */

/* A bounded writer over a fixed buffer. */
struct fixed {
	char *p;
	size_t len, cap;
	int full;
};

static void fx_byte(struct fixed *w, char ch)
{
	if (w->len < w->cap)
		w->p[w->len++] = ch;
	else
		w->full = 1;
}

static void fx_num(struct fixed *w, uint64_t v, unsigned base)
{
	char digits[24];
	size_t n = 0;
	do {
		digits[n++] = hexd[v % base];
		v /= base;
	} while (v && n < sizeof digits);
	while (n)
		fx_byte(w, digits[--n]);
}

/* Tabs, newlines and backslashes escaped as the text frames escape them. */
static void fx_escaped(struct fixed *w, const char *s, size_t max)
{
	for (size_t i = 0; i < max && s[i]; i++) {
		char ch = s[i];
		if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
			fx_byte(w, '\\');
			ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
		}
		fx_byte(w, ch);
	}
}

/* The payload: CODE, then with info the fields MODULE OFFSET PC ACCESS ADDR THREAD TID, each after
 * a tab (numbers in hex but the code and the tid; ACCESS and THREAD one character, '-' none). */
static void crash_payload(struct fixed *w, long code, const struct wsph_crash_info *ci)
{
	fx_num(w, (unsigned long)code, 10);
	if (!ci)
		return;
	fx_byte(w, '\t');
	fx_escaped(w, ci->module, sizeof ci->module);
	fx_byte(w, '\t');
	fx_num(w, ci->offset, 16);
	fx_byte(w, '\t');
	fx_num(w, ci->pc, 16);
	fx_byte(w, '\t');
	fx_byte(w, ci->access ? ci->access : '-');
	fx_byte(w, '\t');
	fx_num(w, ci->addr, 16);
	fx_byte(w, '\t');
	fx_byte(w, ci->thread < 0 ? '-' : ci->thread ? '1' : '0');
	fx_byte(w, '\t');
	fx_num(w, ci->tid, 10);
}

size_t wsph_caseio_crash_frame(char *buf, size_t cap, long code, const struct wsph_crash_info *info)
{
	char payload[512];
	struct fixed w = {payload, 0, sizeof payload, 0};
	crash_payload(&w, code, info);
	if (w.full) { /* a module name that does not fit: the code alone */
		w.len = 0;
		w.full = 0;
		crash_payload(&w, code, NULL);
	}
	size_t n = w.len;
	if (cap < FRAME_HEAD + n + FRAME_TAIL)
		return 0;
	uint32_t seq = W.seq++;
	frame_ends(buf, buf + FRAME_HEAD + n, 'X', seq, payload, n);
	memcpy(buf + FRAME_HEAD, payload, n);
	return FRAME_HEAD + n + FRAME_TAIL;
}

/* A growing text for the frames made of strings (findings, errors). */
struct text {
	char *p;
	size_t len, cap;
};

static void put_bytes(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *p = realloc(t->p, cap);
		if (!p)
			return;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void put_escaped(struct text *t, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\': put_bytes(t, "\\\\", 2); break;
		case '\n': put_bytes(t, "\\n", 2); break;
		case '\r': put_bytes(t, "\\r", 2); break;
		case '\t': put_bytes(t, "\\t", 2); break;
		default: put_bytes(t, s, 1); break;
		}
	}
}

static void put_text_frame(char kind, struct text *t)
{
	put_frame(kind, t->p ? t->p : "", t->len);
	free(t->p);
	memset(t, 0, sizeof *t);
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

void wsph_caseio_unescape(char *s)
{
	char *next;
	field(s, &next);
}

/* A module's id in this process. The trace interns names once a trace was made: a parent names a
 * child's modules before it made one. */
static unsigned intern(const char *name)
{
	unsigned id = wsph_trace_module_id(name);
	if (!id && name[0]) {
		wsph_trace_free(wsph_trace_new());
		id = wsph_trace_module_id(name);
	}
	return id;
}

/* ---- the event frame: binary ---- */

/* 'R', the number (4 bytes), the record as the trace stores it (struct wsph_rec, its text field
 * the text's length, its pad zero), the text (that many bytes, at most REC_TEXT_MAX), the check (4
 * bytes, over the record and the text), a newline. Numbers are in the machine's byte order: parent
 * and child are the same program. A module id is named once per channel, in an "M" frame ("ID TAB
 * name") before the first record that carries it, so a record stays 138 bytes and a module's name
 * crosses once. The parent finds frames as it finds lines (a frame may begin only after a
 * newline), and a record's length is known from its fixed part: bytes written by a provider or
 * cut short spoil the frames they touch, and the parent takes up again at a following newline. */
#define REC_HEAD 5
#define REC_TAIL 5
#define REC_SIZE sizeof(struct wsph_rec)
#define REC_TEXT_MAX (sizeof((struct wsph_event *)0)->text - 1)
#define REC_TEXT_AT offsetof(struct wsph_rec, text)
#define REC_PAD_AT offsetof(struct wsph_rec, pad)
_Static_assert(REC_HEAD + REC_SIZE + REC_TEXT_MAX + REC_TAIL <= WBUF, "a record fits the buffer");
_Static_assert(sizeof((struct wsph_rec *)0)->text == 4, "the text field holds the length");
#define REC_LAST (REC_SIZE - 16) /* the last sixteen bytes hold the text field and the pad */
_Static_assert(REC_SIZE % 16 == 0 && REC_TEXT_AT >= REC_LAST && REC_PAD_AT >= REC_LAST,
	       "hash_rec's layout");

/* Whether the parent knows id (0 is "" for both; an id past the map goes without a name). */
static int is_named(unsigned id)
{
	return !id || id >= WSPH_CASEIO_MODULES || (W.named[id >> 3] >> (id & 7) & 1);
}

/* With the lock held: the "M" frame for a module id the parent was not told yet. */
static void name_module_locked(unsigned id)
{
	char num[16];
	struct text t = {0};
	if (is_named(id))
		return;
	W.named[id >> 3] |= (unsigned char)(1u << (id & 7));
	snprintf(num, sizeof num, "%u\t", id);
	put_bytes(&t, num, strlen(num));
	put_escaped(&t, wsph_trace_module_name(id));
	put_frame_locked('M', t.p ? t.p : "", t.len);
	free(t.p);
}

/* hash_bytes of a record frame's payload, read from where it came from (r, in the cache and
 * written long ago) rather than from the copy just made. */
static uint64_t hash_rec(const struct wsph_rec *r, uint32_t tn, const char *text)
{
	uint64_t a = HASH_A0, b = HASH_B0;
	char last[16]; /* its text length and zero pad, as in the frame */
	hash_more(&a, &b, (const char *)r, REC_LAST, 0);
	memcpy(last, (const char *)r + REC_LAST, 16);
	memcpy(last + REC_TEXT_AT - REC_LAST, &tn, 4);
	memset(last + REC_PAD_AT - REC_LAST, 0, sizeof r->pad);
	hash_more(&a, &b, last, 16, REC_LAST);
	hash_more(&a, &b, text, tn, REC_SIZE);
	return hash_end(a, b, REC_SIZE + tn);
}

static void put_rec_locked(const struct wsph_rec *r, const char *text)
{
	uint32_t tn = 0;
	while (text && tn < REC_TEXT_MAX && text[tn])
		tn++;
	if (!is_named(r->module))
		name_module_locked(r->module);
	if (!is_named(r->behalf))
		name_module_locked(r->behalf);
	size_t total = REC_HEAD + REC_SIZE + tn + REC_TAIL;
	if (W.len + total > WBUF)
		flush_locked();
	char *p = W.buf + W.len, *rec = p + REC_HEAD;
	uint32_t seq = W.seq++;
	W.case_frames++;
	W.case_events++;
	p[0] = 'R';
	memcpy(p + 1, &seq, 4);
	memcpy(rec, r, REC_SIZE);
	memcpy(rec + REC_TEXT_AT, &tn, 4);
	memset(rec + REC_PAD_AT, 0, sizeof r->pad);
	if (tn)
		memcpy(rec + REC_SIZE, text, tn);
	uint32_t check = frame_check(W.secret, 'R', seq, hash_rec(r, tn, text));
	memcpy(rec + REC_SIZE + tn, &check, 4);
	p[total - 1] = '\n';
	W.len += total;
}

void wsph_caseio_rec(const struct wsph_rec *r, const char *text)
{
	if (!W.lock)
		return;
	wsph_mutex_lock(W.lock);
	put_rec_locked(r, text);
	wsph_mutex_unlock(W.lock);
}

uint64_t wsph_caseio_events(void)
{
	return wsph_atomic_load_u64(&W.case_events);
}

void wsph_caseio_rec_sink(void *ctx, const struct wsph_rec *r, const char *text)
{
	(void)ctx;
	put_rec_locked(r, text);
}

void wsph_caseio_event(const struct wsph_event *ev)
{
	struct wsph_rec r;
	memset(&r, 0, sizeof r);
	r.seq = ev->seq;
	r.time_ns = ev->time_ns;
	r.thread = ev->thread;
	r.parent = ev->parent;
	memcpy(r.a, ev->a, sizeof r.a);
	r.ret = ev->ret;
	r.step = ev->step;
	r.err = ev->err;
	r.fault = ev->fault;
	r.table = ev->table;
	r.current_table = ev->current_table;
	r.layer = (int16_t)ev->layer;
	r.module = (uint16_t)intern(ev->module);
	r.behalf = (uint16_t)intern(ev->behalf);
	r.kind = (uint8_t)ev->kind;
	r.fn = (uint8_t)ev->fn;
	wsph_caseio_rec(&r, ev->text);
}

static void put_finding(const struct wsph_finding *f)
{
	struct text t = {0};
	char num[64];
	put_escaped(&t, f->rule->id);
	snprintf(num, sizeof num, "\t%d\t%d\t%d\t", f->step, f->loc.line, f->loc.col);
	put_bytes(&t, num, strlen(num));
	put_escaped(&t, f->message);
	put_bytes(&t, "\t", 1);
	put_escaped(&t, f->excerpt);
	put_bytes(&t, "\t", 1);
	put_escaped(&t, f->module);
	snprintf(num, sizeof num, "\t%d\t%d", f->call_fn, f->upcall_fn);
	put_bytes(&t, num, strlen(num));
	put_text_frame('F', &t);
}

void wsph_caseio_finding(const struct wsph_finding *f)
{
	put_finding(f);
	if (W.lock) {
		wsph_mutex_lock(W.lock);
		W.case_findings++;
		wsph_mutex_unlock(W.lock);
	}
}

void wsph_caseio_case(const struct wsph_case *c)
{
	struct text t = {0};
	char num[64];
	size_t sent = 0;
	if (W.lock) {
		wsph_mutex_lock(W.lock);
		sent = W.case_findings;
		wsph_mutex_unlock(W.lock);
	}
	for (size_t i = sent; i < c->n_findings; i++)
		put_finding(&c->findings[i]);
	for (size_t i = 0; i < c->n_unreached; i++) {
		const struct wsph_unreached *u = &c->unreached[i];
		put_escaped(&t, u->rule ? u->rule->id : "");
		snprintf(num, sizeof num, "\t%d\t", u->step);
		put_bytes(&t, num, strlen(num));
		put_escaped(&t, u->reason);
		put_text_frame('N', &t);
	}
	if (c->outcome == WSPH_ERROR) {
		put_escaped(&t, c->error_type);
		put_bytes(&t, "\t", 1);
		put_escaped(&t, c->error_message);
		put_text_frame('E', &t);
	}
	snprintf(num, sizeof num, "%d", (int)c->outcome);
	put_frame('O', num, strlen(num));
	wsph_mutex_lock(W.lock);
	snprintf(num, sizeof num, "%lu %llu", (unsigned long)W.case_frames,
		 (unsigned long long)W.case_events);
	wsph_mutex_unlock(W.lock);
	put_frame('D', num, strlen(num));
	wsph_caseio_flush();
}

void wsph_caseio_started(void)
{
	put_frame('S', "", 0);
	if (W.lock) {
		wsph_mutex_lock(W.lock);
		W.case_frames = 0; /* the case's frames come after its "S" */
		W.case_events = 0;
		W.case_findings = 0;
		wsph_mutex_unlock(W.lock);
	}
	wsph_caseio_flush();
}

void wsph_caseio_tainted(const char *reason)
{
	struct text t = {0};
	put_escaped(&t, reason);
	put_text_frame('T', &t);
}

void wsph_caseio_exit_unjudged(void)
{
	put_frame('U', "", 0);
}

void wsph_caseio_loaded(int status, long code, const char *message)
{
	struct text t = {0};
	char num[48];
	if (status == 1)
		snprintf(num, sizeof num, "1 %lu", (unsigned long)code);
	else
		snprintf(num, sizeof num, "%d", status);
	put_bytes(&t, num, strlen(num));
	if (message) {
		put_bytes(&t, "\t", 1);
		put_escaped(&t, message);
	}
	put_text_frame('L', &t);
	wsph_caseio_flush();
}

void wsph_caseio_lsp_guid(const char *text)
{
	struct text t = {0};
	put_escaped(&t, text);
	put_text_frame('G', &t);
}

/* ---- the parent's reading of a crash frame ---- */

int wsph_caseio_crash_parse(char *payload, long *code, struct wsph_crash_info *info)
{
	char *next = payload;
	char *f[8];
	size_t n = 0;
	memset(info, 0, sizeof *info);
	info->thread = -1;
	while (next && n < 8)
		f[n++] = field(next, &next);
	*code = n ? (long)strtoul(f[0], NULL, 10) : 0;
	if (n < 8)
		return 0;
	snprintf(info->module, sizeof info->module, "%s", f[1]);
	info->offset = strtoull(f[2], NULL, 16);
	info->pc = strtoull(f[3], NULL, 16);
	info->access = strchr("rwxa", f[4][0]) && f[4][0] ? f[4][0] : 0;
	info->addr = strtoull(f[5], NULL, 16);
	info->thread = f[6][0] == '1' ? 1 : f[6][0] == '0' ? 0 : -1;
	info->tid = strtoul(f[7], NULL, 10);
	return 1;
}

/* What the faulting instruction accessed: "writing address 0x10" ("" when nothing). */
static void crash_access(const struct wsph_crash_info *info, char *buf, size_t len)
{
	static const struct {
		char access;
		const char *verb;
	} verbs[] = {{'r', "reading"}, {'w', "writing"}, {'x', "executing"}, {'a', "accessing"}};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (verbs[i].access == info->access)
			snprintf(buf, len, "%s address 0x%llx", verbs[i].verb,
				 (unsigned long long)info->addr);
}

char *wsph_caseio_crash_detail(const struct wsph_crash_info *info, const char *thread, char *buf,
			       size_t len)
{
	char at[160] = "", access[64];
	buf[0] = '\0';
	if (!info)
		return buf;
	if (info->module[0])
		snprintf(at, sizeof at, " at %s+0x%llx", info->module,
			 (unsigned long long)info->offset);
	else if (info->pc)
		snprintf(at, sizeof at, " at 0x%llx (in no module)", (unsigned long long)info->pc);
	crash_access(info, access, sizeof access);
	if (!thread)
		thread = info->thread == 1   ? "the harness's driver thread"
			 : info->thread == 0 ? "another thread than the harness's driver thread"
					     : NULL;
	snprintf(buf, len, "%s%s%s%s%s%s", at, at[0] && access[0] ? "," : "", access[0] ? " " : "",
		 access, thread && (at[0] || access[0]) ? ", on " : thread ? " on " : "",
		 thread ? thread : "");
	return buf;
}

/* ---- the parent's check ---- */

int wsph_caseio_check(struct wsph_caseio_chan *ch, char *line, size_t n, struct wsph_caseio_frame *f,
		      uint32_t *lost)
{
	uint32_t seq, check;
	*lost = 0;
	if (n && line[n - 1] == '\r')
		n--;
	if (n < FRAME_HEAD + FRAME_TAIL - 1 || line[n - 9] != '\t' || unhex32(line + 1, &seq) ||
	    unhex32(line + n - 8, &check))
		return -1;
	size_t plen = n - 9 - FRAME_HEAD;
	if (frame_check(ch->secret, line[0], seq, hash_bytes(line + FRAME_HEAD, plen)) != check)
		return -1;
	if (seq < ch->next_seq)
		return -1; /* a frame seen before: replayed */
	*lost = seq - ch->next_seq;
	ch->next_seq = seq + 1;
	f->kind = line[0];
	f->seq = seq;
	f->payload = line + FRAME_HEAD;
	f->len = plen;
	f->payload[plen] = '\0';
	return 0;
}

/* An "M" frame's payload, "ID TAB name": the child's id names that module. */
static void name_module(struct wsph_caseio_chan *ch, char *payload)
{
	char *next = payload, *end;
	unsigned long id = strtoul(field(next, &next), &end, 10);
	if (next && id && id < WSPH_CASEIO_MODULES)
		ch->modules[id] = (uint16_t)intern(field(next, &next));
}

/* A binary frame of `total` bytes at buf: 0 and *f if believed. */
static int check_rec(struct wsph_caseio_chan *ch, char *buf, size_t total,
		     struct wsph_caseio_frame *f, uint32_t *lost)
{
	uint32_t seq, check;
	size_t plen = total - REC_HEAD - REC_TAIL;
	memcpy(&seq, buf + 1, 4);
	memcpy(&check, buf + total - REC_TAIL, 4);
	if (buf[total - 1] != '\n' ||
	    frame_check(ch->secret, 'R', seq, hash_bytes(buf + REC_HEAD, plen)) != check ||
	    seq < ch->next_seq)
		return -1;
	*lost = seq - ch->next_seq;
	ch->next_seq = seq + 1;
	f->kind = 'R';
	f->seq = seq;
	f->payload = buf + REC_HEAD;
	f->len = plen;
	return 0;
}

/* Bytes not believed from buf: up to and including the first newline from `from` (the rest with
 * final); 0 when more must come first. */
static int spoilt(const char *buf, size_t from, size_t len, int final, size_t *used)
{
	const char *nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;
	if (!nl && !final)
		return 0;
	*used = nl ? (size_t)(nl + 1 - buf) : len;
	return -1;
}

/* A frame that begins like a record: its length is in its fixed part. */
static int next_rec(struct wsph_caseio_chan *ch, char *buf, size_t len, int final,
		    struct wsph_caseio_frame *f, uint32_t *lost, size_t *used)
{
	uint32_t tn;
	if (len < REC_HEAD + REC_SIZE)
		return final ? spoilt(buf, 0, len, 1, used) : 0;
	memcpy(&tn, buf + REC_HEAD + REC_TEXT_AT, 4);
	if (tn > REC_TEXT_MAX)
		return spoilt(buf, 0, len, final, used);
	size_t total = REC_HEAD + REC_SIZE + tn + REC_TAIL;
	if (len < total)
		return final ? spoilt(buf, 0, len, 1, used) : 0;
	if (check_rec(ch, buf, total, f, lost) == 0) {
		*used = total;
		return 1;
	}
	/* spoilt: its length may be too (bytes cut out of it or written into it), so the next frame
	 * is looked for after each newline from its start, never past one unlooked at */
	return spoilt(buf, 0, len, final, used);
}

int wsph_caseio_next(struct wsph_caseio_chan *ch, char *buf, size_t len, int final,
		     struct wsph_caseio_frame *f, uint32_t *lost, size_t *used)
{
	*lost = 0;
	*used = 0;
	if (!len)
		return 0;
	if (buf[0] == 'R')
		return next_rec(ch, buf, len, final, f, lost, used);
	char *nl = memchr(buf, '\n', len);
	if (!nl && !final)
		return 0;
	size_t n = nl ? (size_t)(nl - buf) : len;
	*used = n + (nl != NULL);
	if (wsph_caseio_check(ch, buf, n, f, lost) != 0)
		return -1;
	if (f->kind == 'M')
		name_module(ch, f->payload);
	return 1;
}

/* ---- the provider's output, kept ---- */

static size_t kept_cap(const struct wsph_caseio_kept *k)
{
	return k->cap ? k->cap : WSPH_CASEIO_OUTPUT_KEEP;
}

void wsph_caseio_keep(struct wsph_caseio_kept *k, const char *s, size_t n)
{
	size_t cap = kept_cap(k);
	if (n >= cap) {
		k->dropped += k->len + n - cap;
		s += n - cap;
		n = cap;
		k->len = 0;
	}
	if (!k->buf && !(k->buf = malloc(2 * cap)))
		return;
	if (k->len + n > 2 * cap) {
		/* the window slides once per cap bytes at most: linear in what arrives */
		size_t drop = k->len + n - cap;
		memmove(k->buf, k->buf + drop, k->len - drop);
		k->len -= drop;
		k->dropped += drop;
	}
	memcpy(k->buf + k->len, s, n);
	k->len += n;
}

void wsph_caseio_kept_reset(struct wsph_caseio_kept *k)
{
	k->len = k->dropped = 0;
}

void wsph_caseio_kept_free(struct wsph_caseio_kept *k)
{
	free(k->buf);
	k->buf = NULL;
	k->len = k->dropped = 0;
}

/* The length of the well-formed UTF-8 sequence at p (n bytes left), 0 when there is none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
	if (!len || len > n || p[0] > 0xf4)
		return 0;
	uint32_t cp = p[0] & (0x7fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* s[0..n) as text: what is not text written \xHH. dst holds 4 * n bytes; returns the end. */
static char *escape_text(char *dst, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n;) {
		unsigned char ch = s[i];
		size_t len = ch >= 0x80 ? utf8_len(s + i, n - i) : 1;
		if (len > 1 || (ch >= 0x20 && ch < 0x7f) || ch == '\t' || ch == '\n' || ch == '\r') {
			memcpy(dst, s + i, len);
			dst += len;
			i += len;
			continue;
		}
		*dst++ = '\\';
		*dst++ = 'x';
		*dst++ = hex[ch >> 4];
		*dst++ = hex[ch & 15];
		i++;
	}
	return dst;
}

char *wsph_caseio_kept_text(const struct wsph_caseio_kept *k, const char *title)
{
	size_t cap = kept_cap(k), start = k->len > cap ? k->len - cap : 0;
	size_t dropped = k->dropped + start;
	if (k->len == start)
		return NULL;
	const char *nl = dropped ? memchr(k->buf + start, '\n', k->len - start) : NULL;
	if (nl && (size_t)(nl + 1 - k->buf) < k->len) {
		/* whole lines where it can */
		dropped += (size_t)(nl + 1 - (k->buf + start));
		start = (size_t)(nl + 1 - k->buf);
	}
	char head[160];
	int h = snprintf(head, sizeof head, "--- %s ---\n", title);
	if (dropped)
		h += snprintf(head + h, sizeof head - (size_t)h, "... (%llu earlier bytes not kept)\n",
			      (unsigned long long)dropped);
	char *t = malloc((size_t)h + 4 * (k->len - start) + 2);
	if (!t)
		return NULL;
	memcpy(t, head, (size_t)h);
	char *end = escape_text(t + h, (const unsigned char *)k->buf + start, k->len - start);
	if (end[-1] != '\n')
		*end++ = '\n';
	*end = '\0';
	return t;
}

/* The kept output appended to a case's trace. */
static void trace_add_output(struct wsph_case *c, const struct wsph_caseio_kept *k,
			     const char *title)
{
	char *out = k ? wsph_caseio_kept_text(k, title) : NULL;
	if (!out)
		return;
	char *t = wsph_format("%s%s", c->trace ? c->trace : "", out);
	free(out);
	if (t) {
		free(c->trace);
		c->trace = t;
	}
}

void wsph_caseio_after_case(struct wsph_case *c, enum wsph_child_end end, long code,
			    unsigned wait_ms, const struct wsph_caseio_kept *output)
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
	trace_add_output(c, output, "output after the case");
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
	struct wsph_crash_info crash_info; /* what the crash handler saw */
	int crash_detail;		   /* crash_info was sent */
	char *err_type, *err_msg;
	struct wsph_caseio_kept out; /* the provider's own output */
	struct wsph_caseio_chan *chan;
	unsigned long frames, bad, lost; /* frames believed, not believed, missing */
	unsigned long sent;		 /* the frames the child says it sent (its "D") */
	char first_bad[64];		 /* the start of the first frame not believed */
};

/* A believed "R" frame into the case's events. */
static void add_rec(struct wsph_caseio_reader *r, const struct wsph_caseio_frame *f)
{
	uint16_t module, behalf;
	char text[REC_TEXT_MAX + 1];
	memcpy(&module, f->payload + offsetof(struct wsph_rec, module), 2);
	memcpy(&behalf, f->payload + offsetof(struct wsph_rec, behalf), 2);
	size_t tn = f->len - REC_SIZE;
	memcpy(text, f->payload + REC_SIZE, tn);
	text[tn] = '\0';
	if (!r->c.events && !(r->c.events = wsph_trace_new()))
		return;
	/* the record goes from the channel's bytes into the trace: no copy of it on the way */
	wsph_trace_put_rec(r->c.events, f->payload,
			   module < WSPH_CASEIO_MODULES ? r->chan->modules[module] : 0,
			   behalf < WSPH_CASEIO_MODULES ? r->chan->modules[behalf] : 0, text);
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
	char *module = next ? field(next, &next) : "";
	int call_fn = next ? atoi(field(next, &next)) : -1;
	int upcall_fn = next ? atoi(field(next, &next)) : -1;
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
	snprintf(f->module, sizeof f->module, "%s", module);
	f->call_fn = call_fn >= -1 && call_fn < WSPH_FN_COUNT ? call_fn : -1;
	f->upcall_fn = upcall_fn >= -1 && upcall_fn < WSPH_FN_COUNT ? upcall_fn : -1;
}

static void add_unreached(struct wsph_case *c, const struct wsph_ruleset *set, char *rest)
{
	char *next = rest;
	char *id = field(next, &next);
	const struct wsph_rule *rule = *id ? wsph_ruleset_find(set, id) : NULL;
	if ((*id && !rule) || !next)
		return;
	int step = atoi(field(next, &next));
	char *reason = next ? field(next, &next) : "";
	struct wsph_unreached *p = realloc(c->unreached, (c->n_unreached + 1) * sizeof *p);
	if (!p)
		return;
	c->unreached = p;
	struct wsph_unreached *u = &c->unreached[c->n_unreached++];
	u->rule = rule;
	u->step = step;
	u->reason = wsph_strdup(reason);
}

struct wsph_caseio_reader *wsph_caseio_reader_new(const struct wsph_ruleset *set,
						  const struct wsph_scenario *sc, size_t output_cap,
						  struct wsph_caseio_chan *chan)
{
	struct wsph_caseio_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->chan = chan;
	r->set = set;
	r->sc = sc;
	r->outcome = -1;
	r->out.cap = output_cap;
	return r;
}

void wsph_caseio_reader_output(struct wsph_caseio_reader *r, const char *buf, size_t len)
{
	wsph_caseio_keep(&r->out, buf, len);
}

void wsph_caseio_reader_take_output(struct wsph_caseio_reader *r, struct wsph_caseio_kept *from)
{
	size_t cap = kept_cap(from), start = from->len > cap ? from->len - cap : 0;
	r->out.dropped += from->dropped + start;
	if (from->len > start)
		wsph_caseio_keep(&r->out, from->buf + start, from->len - start);
	wsph_caseio_kept_reset(from);
}

/* A frame that is not believed: counted, and the first kept for the message. */
static void not_believed(struct wsph_caseio_reader *r, const char *line, size_t n)
{
	if (!r->bad++) {
		size_t k = 0;
		for (size_t i = 0; i < n && k + 5 < sizeof r->first_bad; i++) {
			unsigned char ch = (unsigned char)line[i];
			if (ch < 0x20 || ch >= 0x7f)
				k += (size_t)snprintf(r->first_bad + k, sizeof r->first_bad - k,
						      "\\x%02x", ch);
			else
				r->first_bad[k++] = (char)ch;
		}
		r->first_bad[k] = '\0';
	}
}

/* One believed frame. */
static void read_frame(struct wsph_caseio_reader *r, struct wsph_caseio_frame *fr, uint32_t lost)
{
	struct wsph_caseio_frame f = *fr;
	r->lost += lost;
	char *rest = f.payload;
	if (f.kind != 'D')
		r->frames++;
	switch (f.kind) {
	case 'R': add_rec(r, &f); return;
	case 'F': add_finding(&r->c, r->set, r->sc, rest); break;
	case 'N': add_unreached(&r->c, r->set, rest); break;
	case 'O': r->outcome = atoi(rest); break;
	case 'D':
		r->done = 1;
		r->sent = strtoul(rest, NULL, 10);
		break;
	case 'U': r->exit_unjudged = 1; break;
	case 'T': {
		char *next = rest;
		free(r->tainted);
		r->tainted = wsph_strdup(field(next, &next));
		break;
	}
	case 'X': r->crash_detail = wsph_caseio_crash_parse(rest, &r->crash, &r->crash_info); break;
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
}

size_t wsph_caseio_reader_feed(struct wsph_caseio_reader *r, char *buf, size_t len, int final)
{
	size_t pos = 0, used;
	while (pos < len && !r->done) {
		struct wsph_caseio_frame f;
		uint32_t lost;
		int got = wsph_caseio_next(r->chan, buf + pos, len - pos, final, &f, &lost, &used);
		if (!got)
			break;
		if (got > 0)
			read_frame(r, &f, lost);
		else if (used > 1 || buf[pos] != '\n') /* an empty line is nothing */
			not_believed(r, buf + pos, used - (buf[pos + used - 1] == '\n'));
		pos += used;
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

/* Frames not believed or missing: a case that completed is not believed (an <error> "channel");
 * a case that ended otherwise says so in its message. */
static void channel_verdict(struct wsph_caseio_reader *r, struct wsph_case *c)
{
	/* a frame not believed also leaves a gap in the numbers: one loss, not two */
	r->lost = r->lost > r->bad ? r->lost - r->bad : 0;
	if (r->done && r->sent > r->frames && r->sent - r->frames > r->lost + r->bad)
		r->lost = r->sent - r->frames - r->bad;
	if (!r->bad && !r->lost)
		return;
	char *what = wsph_format("%lu frame(s) on the channel from the child failed their check "
				 "(forged or garbled%s%s%s) and %lu were lost",
				 r->bad, r->bad ? "; the first began \"" : "",
				 r->bad ? r->first_bad : "", r->bad ? "\"" : "", r->lost);
	if (!what)
		return;
	if (r->done) {
		free(c->error_type);
		free(c->error_message);
		c->outcome = WSPH_ERROR;
		c->error_type = wsph_strdup("channel");
		c->error_message = wsph_format("%s: the case's verdict is not believed (the provider "
					       "may have written on the harness's channel)",
					       what);
		free(what);
		return;
	}
	char *msg = wsph_format("%s; %s", c->error_message ? c->error_message : "", what);
	free(what);
	if (msg) {
		free(c->error_message);
		c->error_message = msg;
	}
}

/* A thread other than the driver that made a WSP call is the harness's helper thread (the one
 * that delivers an arrive step's data). */
static int harness_helper(struct wsph_case *c, unsigned long tid)
{
	size_t n = wsph_case_n_events(c);
	struct wsph_event ev;
	for (size_t i = 0; tid && i < n && wsph_case_event(c, i, &ev) == 0; i++)
		if (ev.thread == tid && ev.kind == WSPH_EV_CALL && ev.layer == 0)
			return 1;
	return 0;
}

/* The crash handler's detail for the error message ("" without one). */
static void crash_text(struct wsph_caseio_reader *r, struct wsph_case *c, char *buf, size_t len)
{
	const struct wsph_crash_info *ci = &r->crash_info;
	const char *thread = ci->thread == 1	       ? "the harness's driver thread"
			     : ci->thread != 0	       ? NULL
			     : harness_helper(c, ci->tid) ? "the harness's helper thread"
							 : "a provider thread";
	wsph_caseio_crash_detail(r->crash_detail ? ci : NULL, thread, buf, len);
}

void wsph_caseio_reader_finish(struct wsph_caseio_reader *r, enum wsph_child_end end, long code,
			       unsigned timeout_ms, size_t trace_cap, struct wsph_case *c)
{
	c->events = r->c.events;
	c->findings = r->c.findings;
	c->n_findings = r->c.n_findings;
	c->unreached = r->c.unreached;
	c->n_unreached = r->c.n_unreached;
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
			char detail[512];
			wsph_plat_signal_name(r->crash ? r->crash : code, name, sizeof name, &klass);
			crash_text(r, c, detail, sizeof detail);
			c->error_type = wsph_strdup(klass);
			c->error_message = wsph_format("the provider crashed: %s%s (at step %d%s)", name,
						       detail, last_step, last);
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
	channel_verdict(r, c);
	c->trace = c->events ? wsph_trace_text(c->events, trace_cap ? trace_cap : 65536)
			     : wsph_strdup("");
	trace_add_output(c, &r->out, "provider output");
	c->events = wsph_trace_seal(c->events);
	free(r->err_type);
	free(r->err_msg);
	free(r->tainted);
	wsph_caseio_kept_free(&r->out);
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
	for (size_t i = 0; i < r->c.n_unreached; i++)
		free(r->c.unreached[i].reason);
	free(r->c.unreached);
	free(r->err_type);
	free(r->err_msg);
	free(r->tainted);
	wsph_caseio_kept_free(&r->out);
	free(r);
}
