/* The recorder: an append-only, thread-safe event array, and its formatting for people. */
#include "trace.h"
#include "decode.h"

#include "platform/platform.h"

#include "util.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void (*default_sink)(void *ctx, const struct wsph_event *ev);
static void *default_sink_ctx;

void wsph_trace_set_default_sink(void (*fn)(void *ctx, const struct wsph_event *ev), void *ctx)
{
	default_sink = fn;
	default_sink_ctx = ctx;
}

static wsph_trace_rec_sink default_rec_sink;
static void *default_rec_sink_ctx;
static struct wsph_mutex *default_rec_sink_lock;

void wsph_trace_set_default_rec_sink(wsph_trace_rec_sink fn, void *ctx, struct wsph_mutex *lock)
{
	default_rec_sink = fn;
	default_rec_sink_ctx = ctx;
	default_rec_sink_lock = fn ? lock : NULL;
}

/* ---- interned module names ---- */

#define MAX_MODULES 1024
static struct wsph_mutex *intern_lock;
static char *module_names[MAX_MODULES]; /* [0] unused: id 0 is "" */
static uint64_t n_modules = 1;		/* published with release after the name is stored */

static unsigned find_module(const char *name, uint64_t n)
{
	for (uint64_t i = 1; i < n; i++)
		if (module_names[i][0] == name[0] && !strcmp(module_names[i], name))
			return (unsigned)i;
	return 0;
}

unsigned wsph_trace_module_id(const char *name)
{
	if (!name || !name[0])
		return 0;
	unsigned id = find_module(name, wsph_atomic_load_u64(&n_modules));
	if (id || !intern_lock)
		return id;
	wsph_mutex_lock(intern_lock);
	uint64_t n = wsph_atomic_load_u64(&n_modules);
	id = find_module(name, n);
	if (!id && n < MAX_MODULES) {
		char buf[sizeof ((struct wsph_event *)0)->module];
		snprintf(buf, sizeof buf, "%s", name); /* as the event's field would cut it */
		module_names[n] = wsph_strdup(buf);
		if (module_names[n]) {
			id = (unsigned)n;
			wsph_atomic_store_u64(&n_modules, n + 1);
		}
	}
	wsph_mutex_unlock(intern_lock);
	return id;
}

const char *wsph_trace_module_name(unsigned id)
{
	return id && id < wsph_atomic_load_u64(&n_modules) ? module_names[id] : "";
}

WSPH_THREAD_LOCAL unsigned long wsph_trace_tid;

unsigned long wsph_trace_thread_id_slow(void)
{
	return wsph_trace_tid = wsph_plat_thread_id();
}

/* ---- the store: chunks of records behind a two-level directory ----
 *
 * A recorder claims a seq with one atomic add, writes record seq-1 in its chunk and publishes it
 * by storing its seq last (release). Only a new chunk takes the lock. Readers take the lock and see a record once its seq is set.
 * When more than mem_chunks chunks are in memory, the oldest finished ones are written to a
 * temporary file and their memory reused (the lock is held, so no reader is in them, and no
 * recorder is: all their records are finished). Each record is two cache lines of its own, so recorders on
 * different threads do not share lines except the seq counter's. */

#define CHUNK_EVENTS 1024
_Static_assert(sizeof(struct wsph_rec) == 128, "a record is two cache lines");
static char spilled_mark;
#define SPILLED ((struct chunk *)(void *)&spilled_mark)
#define DIR_SIZE 1024 /* chunk pointers per second-level block; DIR_SIZE blocks */

struct chunk {
	struct wsph_rec r[CHUNK_EVENTS];
	void *raw; /* what malloc returned: chunks are aligned to a cache line (see chunk_alloc) */
	uint64_t k; /* the chunk index it holds (or last held) records of */
};

/* Chunks that traces gave back, for the next traces: a new chunk's 32 pages each cost a page
 * fault when first written (on a virtual machine, more than the recording of its 1024 events), and
 * a run records a trace per case. At most two traces' windows (WSPH_TRACE_MEM_EVENTS) are kept. */
#define POOL_CHUNKS (2 * WSPH_TRACE_MEM_EVENTS / CHUNK_EVENTS + 8)
static struct wsph_mutex *pool_lock;
static struct chunk *pool[POOL_CHUNKS];
static size_t n_pool;

/* A chunk for chunk index k. A record counts as written only when its seq matches its place, so
 * the records a reused chunk still holds need clearing only when it held chunk k before (of this
 * trace before a reset, or of another trace); new memory is cleared. Records aligned to 64 bytes,
 * so two recorders never write the same cache line. */
static struct chunk *chunk_for_k(struct chunk *c, uint64_t k)
{
	if (c && c->k != k) {
		c->k = k;
		return c;
	}
	if (!c) {
		char *raw = malloc(sizeof(struct chunk) + 64);
		if (!raw)
			return NULL;
		c = (struct chunk *)(void *)(raw + (64 - (uintptr_t)raw % 64));
		c->raw = raw;
		c->k = k;
	}
	for (size_t j = 0; j < CHUNK_EVENTS; j++)
		c->r[j].seq = 0;
	return c;
}

static struct chunk *chunk_alloc(uint64_t k)
{
	struct chunk *c = NULL;
	wsph_mutex_lock(pool_lock);
	if (n_pool)
		c = pool[--n_pool];
	wsph_mutex_unlock(pool_lock);
	return chunk_for_k(c, k);
}

static void chunk_free(struct chunk *c)
{
	if (!c || c == SPILLED)
		return;
	wsph_mutex_lock(pool_lock);
	int kept = n_pool < POOL_CHUNKS;
	if (kept)
		pool[n_pool++] = c;
	wsph_mutex_unlock(pool_lock);
	if (!kept)
		free(c->raw);
}


struct wsph_trace {
	uint64_t pad0[8];
	uint64_t n; /* seqs claimed (atomic): alone in its cache line, which recorders contend for */
	uint64_t pad1[8];
	void (*sink)(void *ctx, const struct wsph_event *ev);
	void *sink_ctx;
	wsph_trace_rec_sink rec_sink; /* takes the place of sink when set */
	void *rec_sink_ctx;
	int lock_borrowed; /* lock is the record sink's: not freed here */
	struct wsph_mutex *lock;
	uint64_t t0;
	size_t mem_chunks;   /* the bound */
	size_t in_memory;    /* chunks allocated and not spilled */
	uint64_t spill_next; /* the oldest chunk not spilled yet */
	uint64_t encode_next; /* the oldest chunk not encoded yet (see settle) */
	uint64_t busy_k;      /* the chunk the spiller works on without the lock (see settle) */
	int spill_failed;    /* no spill file could be made or written: everything stays in memory */
	int in_file;	     /* some chunk is in the shared spill file */
	int sealed;	     /* see wsph_trace_seal: the directory below is gone */
	struct spilled {
		uint64_t off;	    /* in the shared spill file */
		uint32_t len;	    /* 0: lost */
		uint32_t held;	    /* its records' memory given back, the encoding held (see settle) */
		unsigned char *mem; /* a sealed chunk kept in memory, encoded (else NULL) */
	} *spill_at;		    /* per chunk, where it went */
	size_t held_bytes, held_max; /* the encodings held in memory beyond the bound, and their cap */
	size_t cap_spill_at;
	unsigned char *cbuf; /* an encoded chunk (with the lock held) */
	unsigned char *sbuf; /* the spiller's (see spill_old) */
	int spilling, spill_dirty; /* a settler's turn (see settle); busy_k was updated meanwhile */
	struct chunk *spare[4]; /* spilled chunks' memory, for the next new chunks */
	size_t n_spare;
	/* Calls in progress answered by another module's code (wsph_trace_answered_by), under the
	 * lock; n_answered is read without it. */
	struct answered {
		uint64_t call;
		uint16_t module, behalf;
	} answered[8];
	uint64_t n_answered;
	uint64_t id;		 /* unique in the process: the shared read cache's owner */
	struct wsph_rec *rcache; /* a spilled chunk read back (sealed traces share one, below) */
	size_t rcache_cap;	 /* records rcache holds room for */
	uint64_t rcache_k;
	int rcache_ok;
	struct stage *stages; /* the recorders' staging areas (see wsph_trace_reserve), a list */
	char *texts; /* the text store: NUL-terminated strings */
	size_t n_texts, cap_texts;
	struct chunk **dir[DIR_SIZE]; /* dir[k / DIR_SIZE][k % DIR_SIZE]: chunk k; last, as a sealed
					 trace gives it back (see wsph_trace_seal) */
};

/* ---- staging: a recorder's own area ----
 * A fast recorder fills a record in an area of its own thread (no shared cache line is written)
 * and marks it finished by setting its seq field to STAGED. The area enters the trace as a batch: one
 * atomic add claims the seqs of every finished record at its tail, the records are copied into
 * their chunks and the slots marked free (seq 0) again. The owner drains its area when it finds
 * its next slot still taken; any thread drains every area (drain_all) before it appends another
 * event, counts the trace, reads past its end or seals it, so a staged event always takes its
 * place before anything that happened after it. Areas are freed with the trace. */
#define STAGE_EVENTS 64
#define STAGED UINT64_MAX /* the seq field of a finished record in an area */

struct stage {
	struct wsph_rec r[STAGE_EVENTS];
	uint64_t pos;	   /* the owner's next slot: only the owner touches it */
	uint64_t pad0[7];
	uint64_t tail;	   /* the next slot to drain (atomic; written under lock) */
	struct wsph_mutex *lock;
	struct stage *next;
	unsigned long owner;
	void *raw;
};

static WSPH_THREAD_LOCAL struct stage *my_stage;
static WSPH_THREAD_LOCAL uint64_t my_stage_trace; /* the id of the trace my_stage belongs to */

/* ---- the shared spill file ----
 * Every trace of the process spills into one temporary file, so a run of hundreds of long cases
 * holds one file open, not hundreds. Its space is reused once no live trace has data in it. */
static struct wsph_mutex *file_lock;
/* Sealed traces read back through one cache for the whole process (a report reads case after
 * case: one decoded chunk each would stay behind), under its lock (taken after a trace's). */
static struct wsph_mutex *sealed_lock;
static struct wsph_rec *sealed_cache;
static size_t sealed_cache_cap;
static uint64_t sealed_cache_owner, sealed_cache_k; /* owner 0: empty */
static uint64_t next_trace_id;
static FILE *spill_file;
static uint64_t spill_file_end;
static size_t spill_file_users; /* traces with data in it */
static FILE *inherited_spill;	/* a forked child's copy of its parent's (see below) */
/* Writes to the spill file wait in memory (up to SPILL_BUF bytes) and go out together: on a
 * virtual machine a system call costs more than encoding the chunk, and a write per chunk made an
 * event of a trace that spills cost several times one of a trace that does not. The waiting bytes
 * are the file's last pend_len, from spill_file_end - pend_len on; reads find them there. */
#define SPILL_BUF ((size_t)1 << 20)
static unsigned char *pend;
static size_t pend_len, pend_cap;

void wsph_trace_after_fork(void)
{
	/* the parent's file (and its offset) is not the child's to write: start a file of its own
	 * (the parent's stays referenced, untouched: closing it could move the shared offset) */
	if (spill_file)
		inherited_spill = spill_file;
	spill_file = NULL;
	spill_file_end = 0;
	spill_file_users = 0;
	pend_len = 0; /* the parent's bytes, for the parent's file */
}

/* With file_lock held: writes the waiting bytes out. 0 on success; they wait on if not. */
static int file_flush(void)
{
	if (!pend_len)
		return 0;
	if (wsph_fseek64(spill_file, (int64_t)(spill_file_end - pend_len)) != 0 ||
	    fwrite(pend, 1, pend_len, spill_file) != pend_len || fflush(spill_file) != 0)
		return -1;
	pend_len = 0;
	return 0;
}

/* With file_lock held: room for len more waiting bytes, written out first if need be (or, when
 * the file refuses them, kept in memory: nothing written is lost). 0 on success. */
static int pend_room(size_t len)
{
	if (pend_len + len <= pend_cap || (pend_len && file_flush() == 0 && len <= pend_cap))
		return 0;
	size_t cap = pend_cap ? pend_cap : SPILL_BUF;
	while (cap < pend_len + len)
		cap *= 2;
	unsigned char *p = realloc(pend, cap);
	if (!p)
		return -1;
	pend = p;
	pend_cap = cap;
	return 0;
}

/* Appends buf to the shared file (it waits in memory to be written with the next ones); its
 * offset in *off. 0 on success. */
static int file_write(const unsigned char *buf, size_t len, uint64_t *off)
{
	int rc = -1;
	wsph_mutex_lock(file_lock);
	if ((spill_file || (spill_file = tmpfile()) != NULL) && pend_room(len) == 0) {
		memcpy(pend + pend_len, buf, len);
		pend_len += len;
		*off = spill_file_end;
		spill_file_end += len;
		rc = 0;
	}
	wsph_mutex_unlock(file_lock);
	return rc;
}

/* Reads what file_write stored at off (len bytes): from the bytes still waiting, or the file. */
static int file_read(unsigned char *buf, size_t len, uint64_t off)
{
	int rc = -1;
	wsph_mutex_lock(file_lock);
	uint64_t waiting = spill_file_end - pend_len; /* the offset of the first waiting byte */
	if (off >= waiting && off + len <= spill_file_end) {
		memcpy(buf, pend + (off - waiting), len);
		rc = 0;
	} else if (off + len <= waiting && spill_file && wsph_fseek64(spill_file, (int64_t)off) == 0 &&
		   fread(buf, 1, len, spill_file) == len) {
		rc = 0;
	}
	wsph_mutex_unlock(file_lock);
	return rc;
}

static void file_release(struct wsph_trace *t)
{
	if (!t->in_file)
		return;
	t->in_file = 0;
	wsph_mutex_lock(file_lock);
	if (spill_file_users && --spill_file_users == 0) {
		spill_file_end = 0; /* nobody reads it any more: write over it from the start */
		pend_len = 0;
	}
	wsph_mutex_unlock(file_lock);
}

static struct chunk **slot_of(struct wsph_trace *t, uint64_t k)
{
	struct chunk **block = wsph_atomic_load_ptr((void **)&t->dir[k / DIR_SIZE]);
	return block ? &block[k % DIR_SIZE] : NULL;
}

static struct chunk *chunk_get(struct wsph_trace *t, uint64_t k)
{
	struct chunk **slot = slot_of(t, k);
	return slot ? wsph_atomic_load_ptr((void **)slot) : NULL;
}

/* ---- a spilled chunk's encoding ----
 * Word w of each record (16 words; word 0, the seq, is implied by its place) is coded in 2 bits:
 * 0 zero, 1 the same as in the record before, 2 eight bytes, 3 four bytes (a value under 2^32).
 * Successive records of a busy data path differ in a few words, so a chunk shrinks to a tenth or
 * less, and writing it costs that much less. */
#define REC_WORDS (offsetof(struct wsph_rec, pad) / 8) /* the padding is not written */
#define CBUF_MAX (CHUNK_EVENTS * (4 + (REC_WORDS - 1) * 8))

/* Word i (1-based) of a record into out at *pos: zero, the same as in the record before, or its
 * value in 8 bytes or, under 2^32, in 4; its 2-bit code into *mask. */
static inline void encode_word(const unsigned char *rec, size_t i, uint64_t *prev,
			       unsigned char *out, size_t *pos, uint32_t *mask)
{
	uint64_t v;
	uint32_t code, lo;
	memcpy(&v, rec + 8 * i, 8);
	if (v == prev[i]) {
		code = v != 0;
	} else if (v > UINT32_MAX) {
		memcpy(out + *pos, &v, 8);
		*pos += 8;
		code = 2;
	} else if (v) {
		lo = (uint32_t)v;
		memcpy(out + *pos, &lo, 4);
		*pos += 4;
		code = 3;
	} else {
		code = 0;
	}
	prev[i] = v;
	*mask |= code << (2 * (i - 1));
}

_Static_assert(REC_WORDS == 15, "encode_recs codes words 1 to 14");

/* Encodes records r[0..nrec) of chunk k into out; 0 if a record is not finished yet (a recorder
 * is still in it). A record equal to the one before (a busy data path repeats its last upcall; the
 * clock is read once per 64 events) codes as its mask alone. The words are written out one by one
 * rather than in a loop: every event is encoded, so this is part of its recording's cost. */
static size_t encode_recs(const struct wsph_rec *r, size_t nrec, uint64_t k, unsigned char *out)
{
	uint64_t prev[REC_WORDS] = {0};
	size_t pos = 0;
	for (size_t j = 0; j < nrec; j++) {
		const unsigned char *rec = (const unsigned char *)&r[j];
		if (wsph_atomic_load_u64(&r[j].seq) != k * CHUNK_EVENTS + j + 1)
			return 0;
		uint32_t mask = 0;
		size_t mpos = pos;
		pos += 4;
		encode_word(rec, 1, prev, out, &pos, &mask);
		encode_word(rec, 2, prev, out, &pos, &mask);
		encode_word(rec, 3, prev, out, &pos, &mask);
		encode_word(rec, 4, prev, out, &pos, &mask);
		encode_word(rec, 5, prev, out, &pos, &mask);
		encode_word(rec, 6, prev, out, &pos, &mask);
		encode_word(rec, 7, prev, out, &pos, &mask);
		encode_word(rec, 8, prev, out, &pos, &mask);
		encode_word(rec, 9, prev, out, &pos, &mask);
		encode_word(rec, 10, prev, out, &pos, &mask);
		encode_word(rec, 11, prev, out, &pos, &mask);
		encode_word(rec, 12, prev, out, &pos, &mask);
		encode_word(rec, 13, prev, out, &pos, &mask);
		encode_word(rec, 14, prev, out, &pos, &mask);
		memcpy(out + mpos, &mask, 4);
	}
	return pos;
}

static size_t encode_chunk(const struct chunk *c, uint64_t k, unsigned char *out)
{
	return encode_recs(c->r, CHUNK_EVENTS, k, out);
}

static int decode_recs(const unsigned char *in, size_t len, uint64_t k, struct wsph_rec *r,
		       size_t nrec)
{
	uint64_t prev[REC_WORDS] = {0};
	size_t pos = 0;
	for (size_t j = 0; j < nrec; j++) {
		uint32_t mask;
		if (pos + 4 > len)
			return -1;
		memcpy(&mask, in + pos, 4);
		pos += 4;
		uint64_t w[REC_WORDS];
		w[0] = k * CHUNK_EVENTS + j + 1;
		for (size_t i = 1; i < REC_WORDS; i++) {
			unsigned code = (mask >> (2 * (i - 1))) & 3;
			size_t n = code == 2 ? 8 : code == 3 ? 4 : 0;
			if (pos + n > len)
				return -1;
			if (code == 0)
				w[i] = 0;
			else if (code == 1)
				w[i] = prev[i];
			else if (code == 3) {
				uint32_t v;
				memcpy(&v, in + pos, 4);
				w[i] = v;
			} else
				memcpy(&w[i], in + pos, 8);
			pos += n;
			prev[i] = w[i];
		}
		memcpy(&r[j], w, sizeof w);
		memset(r[j].pad, 0, sizeof r[j].pad);
	}
	return pos == len ? 0 : -1;
}

/* With the lock held: room for chunk k's place in spill_at. */
static int spill_room(struct wsph_trace *t, uint64_t k)
{
	if (k < t->cap_spill_at)
		return 0;
	size_t cap = (size_t)k * 2 + 64;
	struct spilled *p = realloc(t->spill_at, cap * sizeof *p);
	if (!p)
		return -1;
	memset(p + t->cap_spill_at, 0, (cap - t->cap_spill_at) * sizeof *p);
	t->spill_at = p;
	t->cap_spill_at = cap;
	return 0;
}

/* With the lock held: chunk k is in the spill file at off (len bytes). */
static int spill_note(struct wsph_trace *t, uint64_t k, uint64_t off, size_t len)
{
	if (spill_room(t, k) != 0)
		return -1;
	if (!t->in_file) {
		t->in_file = 1;
		wsph_mutex_lock(file_lock);
		spill_file_users++;
		wsph_mutex_unlock(file_lock);
	}
	if (t->spill_at[k].held)
		t->held_bytes -= t->spill_at[k].len;
	t->spill_at[k].held = 0;
	free(t->spill_at[k].mem);
	t->spill_at[k].mem = NULL;
	t->spill_at[k].off = off;
	t->spill_at[k].len = (uint32_t)len;
	return 0;
}

/* With the lock held: appends chunk k, encoded in buf (len bytes), to the spill file. */
static int spill_encoded(struct wsph_trace *t, uint64_t k, const unsigned char *buf, size_t len)
{
	uint64_t off;
	if (spill_room(t, k) != 0 || file_write(buf, len, &off) != 0)
		return -1;
	return spill_note(t, k, off, len);
}

/* Records in chunk k (the last one of a sealed trace may hold fewer). */
static size_t recs_in(struct wsph_trace *t, uint64_t k)
{
	uint64_t n = wsph_atomic_load_u64(&t->n), first = k * CHUNK_EVENTS;
	return n <= first ? 0 : n - first < CHUNK_EVENTS ? (size_t)(n - first) : CHUNK_EVENTS;
}

/* With the lock held: appends records r (those of chunk k) to the spill file. 0 on success. */
static int spill_chunk(struct wsph_trace *t, uint64_t k, const struct wsph_rec *r)
{
	if (!t->cbuf && !(t->cbuf = malloc(CBUF_MAX)))
		return -1;
	size_t len = encode_recs(r, t->sealed ? recs_in(t, k) : CHUNK_EVENTS, k, t->cbuf);
	if (!len)
		return -1;
	if (t->sealed && !t->in_file) { /* it stays in memory */
		unsigned char *m = malloc(len);
		if (!m)
			return -1;
		memcpy(m, t->cbuf, len);
		free(t->spill_at[k].mem);
		t->spill_at[k].mem = m;
		t->spill_at[k].len = (uint32_t)len;
		return 0;
	}
	return spill_encoded(t, k, t->cbuf, len);
}

/* With the lock held: reads spilled chunk k back into r (nrec records). 0 on success. */
static int unspill_chunk(struct wsph_trace *t, uint64_t k, struct wsph_rec *r, size_t nrec)
{
	const struct spilled *sp = &t->spill_at[k];
	if (!sp->len)
		return -1;
	if (sp->mem)
		return decode_recs(sp->mem, sp->len, k, r, nrec);
	if (!t->cbuf && !(t->cbuf = malloc(CBUF_MAX)))
		return -1;
	if (file_read(t->cbuf, sp->len, sp->off) != 0)
		return -1;
	return decode_recs(t->cbuf, sp->len, k, r, nrec);
}

#define NOT_BUSY UINT64_MAX

/* Chunk k is in memory without an encoding (a fresh one: an update drops it). With the lock. */
static int needs_code(struct wsph_trace *t, uint64_t k)
{
	struct chunk *c = chunk_get(t, k);
	return c && c != SPILLED && !(k < t->cap_spill_at && t->spill_at[k].mem);
}

/* With the lock held, on the spiller's turn: encodes chunk k, which stays in memory, and keeps the
 * encoding beside it (spill_at[k].mem) for the spill file or the seal. The encoding runs without
 * the lock; should a record of k be updated meanwhile, it runs again under the lock. 0 on success,
 * -1 when a recorder is still writing in k, or out of memory. */
static int encode_kept(struct wsph_trace *t, uint64_t k)
{
	struct chunk *c = chunk_get(t, k);
	if (spill_room(t, k) != 0)
		return -1;
	t->busy_k = k;
	t->spill_dirty = 0;
	wsph_mutex_unlock(t->lock);
	size_t len = encode_chunk(c, k, t->sbuf);
	wsph_mutex_lock(t->lock);
	if (t->spill_dirty && len)
		len = encode_chunk(c, k, t->sbuf);
	t->busy_k = NOT_BUSY;
	unsigned char *m = len ? malloc(len) : NULL;
	if (!m)
		return -1;
	memcpy(m, t->sbuf, len);
	free(t->spill_at[k].mem);
	t->spill_at[k].mem = m;
	t->spill_at[k].len = (uint32_t)len;
	return 0;
}

/* With the lock held, on the spiller's turn: writes chunk c (k)'s encoding to the spill file and
 * gives its memory to a next new chunk. The writing (a copy, and now and then a system call) runs
 * without the lock, so recorders that need a new chunk meanwhile do not wait for the disk. 0 on
 * success. */
static int write_out(struct wsph_trace *t, uint64_t k, struct chunk *c)
{
	size_t len = t->spill_at[k].len;
	uint64_t off = 0;
	t->busy_k = k;
	t->spill_dirty = 0;
	wsph_mutex_unlock(t->lock);
	int wrote = file_write(t->spill_at[k].mem, len, &off) == 0;
	wsph_mutex_lock(t->lock);
	t->busy_k = NOT_BUSY;
	if (t->spill_dirty) { /* updated meanwhile: what was written is stale */
		free(t->spill_at[k].mem);
		t->spill_at[k].mem = NULL;
		len = encode_chunk(c, k, t->sbuf);
		wrote = len && file_write(t->sbuf, len, &off) == 0;
	}
	if (!wrote || spill_note(t, k, off, len) != 0)
		return -1;
	wsph_atomic_store_ptr((void **)slot_of(t, k), SPILLED);
	if (t->n_spare < sizeof t->spare / sizeof t->spare[0])
		t->spare[t->n_spare++] = c; /* a next new chunk reuses it */
	else
		chunk_free(c);
	t->in_memory--;
	return 0;
}

/* With the lock held, on the spiller's turn: chunk c (k) beyond the memory bound gives its records'
 * memory to a next new chunk and is read from its encoding, held in memory until the seal (which
 * writes it to the spill file: wsph_trace_seal). So the file is written once a case's trace is
 * complete, not while its provider runs, and an event costs the same in a trace of any length up
 * to held_max bytes of encodings (the window's own size: ten times its events, or more). */
static void hold(struct wsph_trace *t, uint64_t k, struct chunk *c)
{
	t->spill_at[k].held = 1;
	t->held_bytes += t->spill_at[k].len;
	wsph_atomic_store_ptr((void **)slot_of(t, k), SPILLED);
	if (t->n_spare < sizeof t->spare / sizeof t->spare[0])
		t->spare[t->n_spare++] = c;
	else
		chunk_free(c);
	t->in_memory--;
}

/* Settles the chunks before `newest`, one settler at a time. Each is encoded once it is finished
 * (when the chunk after it is begun), whether or not the trace will spill, so an event costs the
 * same in a short trace and a long one, and the seal finds it encoded; beyond the memory bound the
 * oldest are written to the spill file and their memory reused. A chunk a recorder is still
 * writing in is retried when the next chunk is begun. Called without the lock. */
static void settle(struct wsph_trace *t, uint64_t newest)
{
	wsph_mutex_lock(t->lock);
	if (t->spilling || (!t->sbuf && !(t->sbuf = malloc(CBUF_MAX)))) {
		wsph_mutex_unlock(t->lock);
		return;
	}
	t->spilling = 1;
	for (; t->encode_next < newest; t->encode_next++)
		if (needs_code(t, t->encode_next) && encode_kept(t, t->encode_next) != 0)
			break;
	for (; t->in_memory > t->mem_chunks && t->spill_next < t->encode_next && !t->spill_failed;
	     t->spill_next++) {
		uint64_t k = t->spill_next;
		struct chunk *c = chunk_get(t, k);
		if (!c || c == SPILLED)
			continue;
		if (needs_code(t, k) && encode_kept(t, k) != 0)
			break;
		if (t->held_bytes + t->spill_at[k].len <= t->held_max) {
			hold(t, k, c);
			continue;
		}
		if (write_out(t, k, c) != 0) {
			t->spill_failed = 1; /* keep everything in memory from now on */
			break;
		}
	}
	t->spilling = 0;
	wsph_mutex_unlock(t->lock);
}

/* A chunk to fill for chunk index k: a spilled one's memory (which held an older index: its
 * records need no clearing), or a pooled or new one. */
static struct chunk *take_spare(struct wsph_trace *t, uint64_t k)
{
	return t->n_spare ? chunk_for_k(t->spare[--t->n_spare], k) : chunk_alloc(k);
}

static struct chunk *new_chunk(struct wsph_trace *t, uint64_t k);

/* The chunk for seq index i, made if needed (NULL when out of memory or past the directory). */
static inline struct chunk *chunk_for(struct wsph_trace *t, uint64_t i)
{
	uint64_t k = i / CHUNK_EVENTS;
	struct chunk **block = k < (uint64_t)DIR_SIZE * DIR_SIZE
				       ? wsph_atomic_load_ptr((void **)&t->dir[k / DIR_SIZE])
				       : NULL;
	struct chunk *c = block ? wsph_atomic_load_ptr((void **)&block[k % DIR_SIZE]) : NULL;
	return c ? c : new_chunk(t, k);
}

static struct chunk *new_chunk(struct wsph_trace *t, uint64_t k)
{
	struct chunk *c = NULL;
	if (k >= (uint64_t)DIR_SIZE * DIR_SIZE)
		return NULL;
	wsph_mutex_lock(t->lock);
	struct chunk **block = t->dir[k / DIR_SIZE];
	if (!block && (block = calloc(DIR_SIZE, sizeof *block)) != NULL)
		wsph_atomic_store_ptr((void **)&t->dir[k / DIR_SIZE], block);
	if (block && !(c = block[k % DIR_SIZE]) && (c = take_spare(t, k)) != NULL) {
		wsph_atomic_store_ptr((void **)&block[k % DIR_SIZE], c);
		t->in_memory++;
	}
	int due = c && k > t->encode_next && !t->spilling;
	wsph_mutex_unlock(t->lock);
	if (due)
		settle(t, k);
	return c;
}

/* With s->lock held: moves the finished records at the tail of s into the trace, in order (or,
 * with keep 0, drops them). */
static WSPH_NOINLINE void drain(struct wsph_trace *t, struct stage *s, int keep)
{
	uint64_t tail = wsph_atomic_load_u64(&s->tail);
	size_t n = 0;
	while (n < STAGE_EVENTS && wsph_atomic_load_u64(&s->r[(tail + n) % STAGE_EVENTS].seq))
		n++;
	if (!n)
		return;
	uint64_t first = keep ? wsph_atomic_add_u64(&t->n, n) - n + 1 : 0;
	/* In runs that are contiguous in the area and in one chunk: each record but its seq, then
	 * its seq (release), as readers may look at its place already. */
	for (size_t i = 0; i < n;) {
		size_t si = (size_t)((tail + i) % STAGE_EVENTS);
		size_t run = n - i;
		if (run > STAGE_EVENTS - si)
			run = STAGE_EVENTS - si;
		struct chunk *c = keep ? chunk_for(t, first + i - 1) : NULL;
		size_t di = (size_t)((first + i - 1) % CHUNK_EVENTS);
		if (run > CHUNK_EVENTS - di)
			run = CHUNK_EVENTS - di;
		if (c && c != SPILLED) {
			struct wsph_rec *dst = &c->r[di];
			const struct wsph_rec *src = &s->r[si];
			for (size_t j = 0; j < run; j++) {
				memcpy((char *)&dst[j] + sizeof dst->seq,
				       (const char *)&src[j] + sizeof src->seq,
				       sizeof *src - sizeof src->seq);
				wsph_atomic_store_u64(&dst[j].seq, first + i + j);
			}
		} /* else lost: reads stop before them */
		for (size_t j = 0; j < run; j++)
			wsph_atomic_store_u64(&s->r[si + j].seq, 0);
		i += run;
	}
	wsph_atomic_store_u64(&s->tail, tail + n);
}

static WSPH_NOINLINE void drain_locked(struct wsph_trace *t, struct stage *s)
{
	wsph_mutex_lock(s->lock);
	drain(t, s, 1);
	wsph_mutex_unlock(s->lock);
}

static int stage_busy(struct stage *s)
{
	uint64_t tail = wsph_atomic_load_u64(&s->tail);
	return wsph_atomic_load_u64(&s->r[tail % STAGE_EVENTS].seq) != 0;
}

/* Every staged event into the trace. Called without t->lock (a new chunk takes it). */
static void drain_all(struct wsph_trace *t, int keep)
{
	for (struct stage *s = wsph_atomic_load_ptr((void **)&t->stages); s; s = s->next) {
		if (!stage_busy(s))
			continue;
		wsph_mutex_lock(s->lock);
		drain(t, s, keep);
		wsph_mutex_unlock(s->lock);
	}
}

static void free_stages(struct wsph_trace *t)
{
	struct stage *s = t->stages;
	t->stages = NULL;
	while (s) {
		struct stage *next = s->next;
		wsph_mutex_free(s->lock);
		free(s->raw);
		s = next;
	}
}

/* The calling thread's area for t, found or made (NULL when out of memory). */
static WSPH_NOINLINE struct stage *stage_for(struct wsph_trace *t)
{
	unsigned long me = wsph_trace_thread_id();
	struct stage *s = wsph_atomic_load_ptr((void **)&t->stages);
	while (s && s->owner != me)
		s = s->next;
	if (!s) {
		char *raw = calloc(1, sizeof *s + 64);
		if (!raw)
			return NULL;
		s = (struct stage *)(void *)(raw + (64 - (uintptr_t)raw % 64));
		s->raw = raw;
		s->owner = me;
		if (!(s->lock = wsph_mutex_new())) {
			free(raw);
			return NULL;
		}
		wsph_mutex_lock(t->lock);
		s->next = t->stages;
		wsph_atomic_store_ptr((void **)&t->stages, s);
		wsph_mutex_unlock(t->lock);
	}
	my_stage = s;
	my_stage_trace = t->id;
	return s;
}

struct wsph_trace *wsph_trace_new_bounded(size_t mem_events)
{
	struct wsph_trace *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->lock_borrowed = default_rec_sink_lock != NULL;
	t->lock = t->lock_borrowed ? default_rec_sink_lock : wsph_mutex_new();
	if (!intern_lock)
		intern_lock = wsph_mutex_new();
	if (!file_lock)
		file_lock = wsph_mutex_new();
	if (!sealed_lock)
		sealed_lock = wsph_mutex_new();
	if (!pool_lock)
		pool_lock = wsph_mutex_new();
	if (!t->lock || !intern_lock || !file_lock || !sealed_lock || !pool_lock) {
		if (!t->lock_borrowed)
			wsph_mutex_free(t->lock);
		free(t);
		return NULL;
	}
	if (!mem_events) {
		const char *env = getenv("WSPH_TRACE_MEM_EVENTS");
		mem_events = env && *env ? (size_t)strtoull(env, NULL, 10) : 0;
		if (!mem_events)
			mem_events = WSPH_TRACE_MEM_EVENTS;
	}
	t->mem_chunks = (mem_events + CHUNK_EVENTS - 1) / CHUNK_EVENTS;
	if (t->mem_chunks < 2)
		t->mem_chunks = 2;
	t->held_max = t->mem_chunks * sizeof(struct chunk);
	t->t0 = wsph_plat_now_ns();
	t->busy_k = NOT_BUSY;
	t->id = wsph_atomic_add_u64(&next_trace_id, 1);
	t->sink = default_sink;
	t->sink_ctx = default_sink_ctx;
	t->rec_sink = default_rec_sink;
	t->rec_sink_ctx = default_rec_sink_ctx;
	return t;
}

struct wsph_trace *wsph_trace_new(void)
{
	return wsph_trace_new_bounded(0);
}

/* Frees every chunk still in the directory, and the directory's blocks. */
static void free_dir(struct wsph_trace *t)
{
	for (size_t b = 0; b < DIR_SIZE; b++) {
		if (!t->dir[b])
			continue;
		for (size_t k = 0; k < DIR_SIZE; k++)
			chunk_free(t->dir[b][k]);
		free(t->dir[b]);
		t->dir[b] = NULL;
	}
}

static void drop_store(struct wsph_trace *t)
{
	if (!t->sealed)
		free_dir(t); /* a sealed trace has no directory any more */
	free(t->rcache);
	t->rcache = NULL;
	t->rcache_cap = 0;
	t->rcache_ok = 0;
	while (t->n_spare)
		chunk_free(t->spare[--t->n_spare]);
	for (size_t k = 0; k < t->cap_spill_at; k++) {
		free(t->spill_at[k].mem);
		t->spill_at[k].mem = NULL;
		t->spill_at[k].len = 0;
		t->spill_at[k].held = 0;
	}
	t->held_bytes = 0;
	file_release(t);
	t->in_memory = 0;
	t->spill_next = 0;
	t->encode_next = 0;
	t->n_texts = 0;
}

void wsph_trace_free(struct wsph_trace *t)
{
	if (!t)
		return;
	drop_store(t);
	free_stages(t);
	free(t->spill_at);
	free(t->cbuf);
	free(t->sbuf);
	free(t->texts);
	if (!t->lock_borrowed)
		wsph_mutex_free(t->lock);
	free(t);
}

void wsph_trace_reset(struct wsph_trace *t)
{
	drain_all(t, 0);
	wsph_mutex_lock(t->lock);
	drop_store(t);
	wsph_atomic_store_u64(&t->n, 0);
	t->t0 = wsph_plat_now_ns();
	wsph_mutex_unlock(t->lock);
}

size_t wsph_trace_spilled(struct wsph_trace *t)
{
	wsph_mutex_lock(t->lock);
	size_t n = 0;
	uint64_t chunks = (wsph_atomic_load_u64(&t->n) + CHUNK_EVENTS - 1) / CHUNK_EVENTS;
	for (uint64_t k = 0; k < chunks && k < t->cap_spill_at; k++) {
		/* out of the window: held encoded until the seal, or in the file; once sealed, in
		 * the file */
		int out = t->sealed ? !t->spill_at[k].mem : chunk_get(t, k) == SPILLED;
		if (out && t->spill_at[k].len)
			n += recs_in(t, k);
	}
	wsph_mutex_unlock(t->lock);
	return n;
}

size_t wsph_trace_memory(struct wsph_trace *t)
{
	wsph_mutex_lock(t->lock);
	size_t n = t->sealed ? offsetof(struct wsph_trace, dir) : sizeof *t;
	n += t->cap_spill_at * sizeof *t->spill_at + t->cap_texts +
	     t->rcache_cap * sizeof(struct wsph_rec) + (t->cbuf ? CBUF_MAX : 0) +
	     (t->sbuf ? CBUF_MAX : 0) + (t->in_memory + t->n_spare) * sizeof(struct chunk);
	for (size_t k = 0; k < t->cap_spill_at; k++)
		if (t->spill_at[k].mem)
			n += t->spill_at[k].len;
	for (size_t b = 0; !t->sealed && b < DIR_SIZE; b++)
		n += t->dir[b] ? DIR_SIZE * sizeof *t->dir[b] : 0;
	for (struct stage *s = t->stages; s; s = s->next)
		n += sizeof *s + 64;
	wsph_mutex_unlock(t->lock);
	return n;
}

/* The readable events of chunks: up to the first one lost or never finished. */
static uint64_t seal_end(struct wsph_trace *t, uint64_t chunks)
{
	uint64_t end = 0;
	for (uint64_t k = 0; k < chunks; k++) {
		struct chunk *c = chunk_get(t, k);
		size_t nrec = recs_in(t, k), j = 0;
		if (c == SPILLED) {
			end = k * CHUNK_EVENTS + nrec;
			continue;
		}
		for (; c && j < nrec; j++)
			if (wsph_atomic_load_u64(&c->r[j].seq) != k * CHUNK_EVENTS + j + 1)
				break;
		end = k * CHUNK_EVENTS + j;
		if (j < nrec)
			break;
	}
	return end;
}

/* Encodes what is still in memory (settle encoded every whole chunk but the newest already):
 * into the shared file if the trace has spilled already (the same bound as before), else kept in
 * memory, a tenth of its size or less. 0, or -1 with the rest still readable from memory. */
static int seal_encode(struct wsph_trace *t, uint64_t chunks)
{
	for (uint64_t k = chunks; k < t->cap_spill_at; k++) { /* lost events' chunks */
		free(t->spill_at[k].mem);
		t->spill_at[k].mem = NULL;
	}
	for (uint64_t k = 0; k < chunks; k++) { /* the encodings held beyond the bound: to the file */
		struct spilled *sp = &t->spill_at[k];
		if (sp->held && chunk_get(t, k) == SPILLED &&
		    spill_encoded(t, k, sp->mem, sp->len) != 0)
			return -1;
	}
	for (uint64_t k = 0; k < chunks; k++) {
		struct chunk *c = chunk_get(t, k);
		if (c == SPILLED)
			continue;
		int kept = t->spill_at[k].mem && recs_in(t, k) == CHUNK_EVENTS;
		t->sealed = 1; /* for spill_chunk: the last chunk is partial */
		int rc = !kept	       ? spill_chunk(t, k, c->r)
			 : t->in_file ? spill_encoded(t, k, t->spill_at[k].mem, t->spill_at[k].len)
				      : 0;
		t->sealed = 0;
		if (rc != 0)
			return -1;
		wsph_atomic_store_ptr((void **)slot_of(t, k), SPILLED);
		chunk_free(c);
		t->in_memory--;
	}
	return 0;
}

/* Everything a sealed trace no longer needs: the chunks, the stages, the buffers; the chunk table
 * and the texts cut to their size. */
static void seal_shrink(struct wsph_trace *t, uint64_t chunks)
{
	free_dir(t); /* chunks past the end (lost events' chunks) */
	while (t->n_spare)
		chunk_free(t->spare[--t->n_spare]);
	free_stages(t);
	t->in_memory = 0;
	free(t->cbuf);
	free(t->sbuf);
	free(t->rcache);
	t->cbuf = t->sbuf = NULL;
	t->rcache = NULL;
	t->rcache_cap = 0;
	t->rcache_ok = 0;
	if (chunks < t->cap_spill_at) {
		struct spilled *p = chunks ? realloc(t->spill_at, chunks * sizeof *p) : NULL;
		if (p || !chunks) {
			if (!chunks)
				free(t->spill_at);
			t->spill_at = p;
			t->cap_spill_at = chunks;
		}
	}
	if (t->n_texts < t->cap_texts) {
		char *p = t->n_texts ? realloc(t->texts, t->n_texts) : NULL;
		if (p || !t->n_texts) {
			if (!t->n_texts)
				free(t->texts);
			t->texts = p;
			t->cap_texts = t->n_texts;
		}
	}
}

struct wsph_trace *wsph_trace_seal(struct wsph_trace *t)
{
	if (!t)
		return NULL;
	if (!t->sealed)
		drain_all(t, 1);
	wsph_mutex_lock(t->lock);
	if (t->sealed) {
		wsph_mutex_unlock(t->lock);
		return t;
	}
	uint64_t chunks = (wsph_atomic_load_u64(&t->n) + CHUNK_EVENTS - 1) / CHUNK_EVENTS;
	if (chunks && spill_room(t, chunks - 1) != 0) {
		wsph_mutex_unlock(t->lock);
		return t; /* out of memory: it stays as it is, readable all the same */
	}
	uint64_t end = seal_end(t, chunks);
	wsph_atomic_store_u64(&t->n, end);
	chunks = (end + CHUNK_EVENTS - 1) / CHUNK_EVENTS;
	if (seal_encode(t, chunks) != 0) {
		/* keep the rest readable from memory: not sealed */
		wsph_mutex_unlock(t->lock);
		return t;
	}
	seal_shrink(t, chunks);
	t->sealed = 1;
	t->sink = NULL;
	t->rec_sink = NULL;
	wsph_mutex_unlock(t->lock);
	/* the directory goes: it is the last member, and most of a small trace's size */
	struct wsph_trace *s = realloc(t, offsetof(struct wsph_trace, dir));
	return s ? s : t;
}

static WSPH_THREAD_LOCAL uint64_t coarse_ns;
static WSPH_THREAD_LOCAL unsigned coarse_left;

static uint64_t stamp(struct wsph_trace *t, int coarse)
{
	if (!coarse || !coarse_left || coarse_ns < t->t0) {
		coarse_ns = wsph_plat_now_ns();
		coarse_left = 64;
	}
	coarse_left--;
	return coarse_ns - t->t0;
}

/* Claims a seq and stores r under it. */
static uint64_t store(struct wsph_trace *t, struct wsph_rec *r, int coarse)
{
	if (t->sealed)
		return 0; /* read-only, and without its directory */
	uint64_t seq;
	if (t->sink || t->rec_sink) { /* every append holds the lock: no atomic claim */
		seq = wsph_atomic_load_u64(&t->n) + 1;
		wsph_atomic_store_u64(&t->n, seq);
	} else {
		seq = wsph_atomic_add_u64(&t->n, 1);
	}
	r->time_ns = stamp(t, coarse);
	r->thread = wsph_trace_thread_id();
	struct chunk *c = chunk_for(t, seq - 1);
	if (!c || c == SPILLED)
		return 0; /* the event is lost (and reads stop before it), but the harness goes on */
	struct wsph_rec *dst = &c->r[(seq - 1) % CHUNK_EVENTS];
	/* everything but seq, which readers load (acquire) and which is stored last (release) */
	memcpy((char *)dst + sizeof dst->seq, (const char *)r + sizeof r->seq,
	       sizeof *r - sizeof r->seq);
	wsph_atomic_store_u64(&dst->seq, seq);
	r->seq = seq;
	return seq;
}

/* With the lock held: 1 + the offset of a copy of s in the text store (0 if none or no memory). */
static uint32_t keep_text(struct wsph_trace *t, const char *s)
{
	size_t n = 0;
	while (n < sizeof ((struct wsph_event *)0)->text - 1 && s[n])
		n++;
	n++;
	if (n == 1 || t->n_texts + n > UINT32_MAX - 1)
		return 0;
	if (t->n_texts + n > t->cap_texts) {
		size_t cap = (t->n_texts + n) * 2;
		char *p = realloc(t->texts, cap);
		if (!p)
			return 0;
		t->texts = p;
		t->cap_texts = cap;
	}
	memcpy(t->texts + t->n_texts, s, n - 1);
	t->texts[t->n_texts + n - 1] = '\0';
	uint32_t id = (uint32_t)t->n_texts + 1;
	t->n_texts += n;
	return id;
}

/* The record of an event, without its text. */
static void to_rec(const struct wsph_event *ev, struct wsph_rec *r)
{
	memset(r, 0, sizeof *r);
	r->parent = ev->parent;
	memcpy(r->a, ev->a, sizeof r->a);
	r->ret = ev->ret;
	r->step = ev->step;
	r->err = ev->err;
	r->fault = ev->fault;
	r->layer = (int16_t)ev->layer;
	r->table = ev->table;
	r->current_table = ev->current_table;
	r->module = (uint16_t)wsph_trace_module_id(ev->module);
	r->behalf = (uint16_t)(ev->behalf[0] ? wsph_trace_module_id(ev->behalf) : 0);
	r->kind = (uint8_t)ev->kind;
	r->fn = (uint8_t)ev->fn;
}

/* With the lock held (for the text store). */
static void from_rec(struct wsph_trace *t, const struct wsph_rec *r, struct wsph_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->seq = r->seq;
	ev->time_ns = r->time_ns;
	ev->thread = (unsigned long)r->thread;
	ev->kind = (enum wsph_ev_kind)r->kind;
	ev->fn = (enum wsph_fn)r->fn;
	ev->step = r->step;
	ev->parent = r->parent;
	ev->table = r->table;
	ev->current_table = r->current_table;
	memcpy(ev->a, r->a, sizeof ev->a);
	ev->ret = r->ret;
	ev->err = r->err;
	ev->fault = r->fault;
	ev->layer = r->layer;
	if (r->text && r->text <= t->n_texts)
		snprintf(ev->text, sizeof ev->text, "%s", t->texts + r->text - 1);
	const char *m = wsph_trace_module_name(r->module);
	size_t n = strlen(m);
	memcpy(ev->module, m, n < sizeof ev->module ? n + 1 : sizeof ev->module);
	ev->module[sizeof ev->module - 1] = '\0';
	m = wsph_trace_module_name(r->behalf);
	n = strlen(m);
	memcpy(ev->behalf, m, n < sizeof ev->behalf ? n + 1 : sizeof ev->behalf);
	ev->behalf[sizeof ev->behalf - 1] = '\0';
}

/* Whether every event goes to a sink (under the lock, in seq order). */
static int has_sink(const struct wsph_trace *t)
{
	return t->sink || t->rec_sink;
}

/* With the lock held: the event stored as r (its text, NULL or "" none) to the sink; the record
 * as it is to a record sink, else the event (ev, or NULL for r expanded). */
static void to_sink(struct wsph_trace *t, const struct wsph_rec *r, const char *text,
		    const struct wsph_event *ev)
{
	struct wsph_event x;
	if (t->rec_sink) {
		t->rec_sink(t->rec_sink_ctx, r, text);
		return;
	}
	if (!ev) {
		from_rec(t, r, &x);
		ev = &x;
	}
	t->sink(t->sink_ctx, ev);
}

struct wsph_rec *wsph_trace_reserve(struct wsph_trace *t, uint64_t *seq)
{
	if (has_sink(t) || t->sealed)
		return NULL;
	struct stage *s = my_stage;
	if ((!s || my_stage_trace != t->id) && !(s = stage_for(t))) {
		*seq = 0;
		return NULL;
	}
	struct wsph_rec *r = &s->r[s->pos % STAGE_EVENTS];
	if (wsph_atomic_load_u64(&r->seq)) /* full: the oldest is still there */
		drain_locked(t, s);
	s->pos++;
	r->time_ns = stamp(t, 1);
	r->thread = wsph_trace_thread_id();
	*seq = STAGED; /* finished, in the area; its seq in the trace comes when it is drained */
	return r;
}

uint64_t wsph_trace_append_rec(struct wsph_trace *t, struct wsph_rec *r, int coarse_time)
{
	if (!has_sink(t)) {
		drain_all(t, 1);
		return store(t, r, coarse_time);
	}
	/* A sink sees every event in seq order, as soon as it is recorded. */
	wsph_mutex_lock(t->lock);
	uint64_t seq = store(t, r, coarse_time);
	if (seq)
		to_sink(t, r, r->text ? t->texts + r->text - 1 : NULL, NULL);
	wsph_mutex_unlock(t->lock);
	return seq;
}

/* ---- calls in progress, per thread, and who answers them ---- */
#define THREAD_CALLS 16
static WSPH_THREAD_LOCAL struct {
	uint64_t trace; /* the id of the trace they belong to */
	int n;
	uint64_t seq[THREAD_CALLS];
} my_calls;

/* The event ev (seq just set) was appended by this thread. */
static void note_call(struct wsph_trace *t, const struct wsph_event *ev)
{
	if (my_calls.trace != t->id) {
		my_calls.trace = t->id;
		my_calls.n = 0;
	}
	if (ev->kind == WSPH_EV_CALL) {
		if (my_calls.n == THREAD_CALLS) { /* too deep: forget the outermost */
			memmove(&my_calls.seq[0], &my_calls.seq[1],
				(THREAD_CALLS - 1) * sizeof my_calls.seq[0]);
			my_calls.n--;
		}
		my_calls.seq[my_calls.n++] = ev->seq;
	} else if (ev->kind == WSPH_EV_RETURN) {
		/* its call, and any call inside it that never returned */
		for (int i = my_calls.n; i-- > 0;)
			if (my_calls.seq[i] == ev->parent) {
				my_calls.n = i;
				break;
			}
	}
}

uint64_t wsph_trace_thread_call(struct wsph_trace *t)
{
	return my_calls.trace == t->id && my_calls.n > 0 ? my_calls.seq[my_calls.n - 1] : 0;
}

void wsph_trace_answered_by(struct wsph_trace *t, uint64_t call_seq, const char *module,
			    const char *behalf)
{
	if (!call_seq)
		return;
	uint16_t m = (uint16_t)wsph_trace_module_id(module);
	uint16_t b = (uint16_t)wsph_trace_module_id(behalf);
	wsph_mutex_lock(t->lock);
	size_t n = (size_t)wsph_atomic_load_u64(&t->n_answered), i = 0;
	while (i < n && t->answered[i].call != call_seq)
		i++;
	if (i == n && n == sizeof t->answered / sizeof t->answered[0]) {
		/* full of calls whose RETURN never came: the oldest goes */
		memmove(&t->answered[0], &t->answered[1], (n - 1) * sizeof t->answered[0]);
		i = --n;
	}
	t->answered[i] = (struct answered){call_seq, m, b};
	wsph_atomic_store_u64(&t->n_answered, i == n ? n + 1 : n);
	wsph_mutex_unlock(t->lock);
}

/* A RETURN about to be appended: the module and behalf registered for its call, if any. */
static void apply_answered(struct wsph_trace *t, struct wsph_event *ev)
{
	wsph_mutex_lock(t->lock);
	size_t n = (size_t)wsph_atomic_load_u64(&t->n_answered);
	for (size_t i = 0; i < n; i++) {
		if (t->answered[i].call != ev->parent)
			continue;
		snprintf(ev->module, sizeof ev->module, "%s",
			 wsph_trace_module_name(t->answered[i].module));
		snprintf(ev->behalf, sizeof ev->behalf, "%s",
			 wsph_trace_module_name(t->answered[i].behalf));
		t->answered[i] = t->answered[n - 1];
		wsph_atomic_store_u64(&t->n_answered, n - 1);
		break;
	}
	wsph_mutex_unlock(t->lock);
}

uint64_t wsph_trace_append(struct wsph_trace *t, struct wsph_event *ev)
{
	struct wsph_rec r;
	if (ev->kind == WSPH_EV_RETURN && ev->parent && wsph_atomic_load_u64(&t->n_answered))
		apply_answered(t, ev);
	to_rec(ev, &r);
	drain_all(t, 1); /* staged events happened before this one */
	int locked = has_sink(t) || ev->text[0];
	if (locked) {
		wsph_mutex_lock(t->lock);
		r.text = keep_text(t, ev->text);
	}
	uint64_t seq = store(t, &r, 0);
	if (seq) {
		ev->seq = seq;
		ev->time_ns = r.time_ns;
		ev->thread = (unsigned long)r.thread;
		if (has_sink(t))
			to_sink(t, &r, ev->text, ev);
	}
	if (locked)
		wsph_mutex_unlock(t->lock);
	if (seq && ev->kind != WSPH_EV_UPCALL)
		note_call(t, ev);
	return seq;
}

/* With the lock held: record i (0-based), in memory or read back from the spill file; NULL if it
 * is not there or not finished. */
static struct wsph_rec *rec_at(struct wsph_trace *t, uint64_t i)
{
	if (i >= wsph_atomic_load_u64(&t->n))
		return NULL;
	uint64_t k = i / CHUNK_EVENTS;
	struct chunk *c = t->sealed ? SPILLED : chunk_get(t, k);
	struct wsph_rec *base;
	if (!c)
		return NULL;
	if (c == SPILLED && t->sealed) { /* with sealed_lock held */
		if (sealed_cache_owner != t->id || sealed_cache_k != k) {
			size_t nrec = recs_in(t, k);
			if (k >= t->cap_spill_at)
				return NULL;
			if (sealed_cache_cap < nrec) {
				struct wsph_rec *p = realloc(sealed_cache, CHUNK_EVENTS * sizeof *p);
				if (!p)
					return NULL;
				sealed_cache = p;
				sealed_cache_cap = CHUNK_EVENTS;
			}
			sealed_cache_owner = 0;
			if (unspill_chunk(t, k, sealed_cache, nrec) != 0)
				return NULL;
			sealed_cache_owner = t->id;
			sealed_cache_k = k;
		}
		base = sealed_cache;
	} else if (c == SPILLED) {
		if (!t->rcache_ok || t->rcache_k != k) {
			if (k >= t->cap_spill_at)
				return NULL;
			if (t->rcache_cap < CHUNK_EVENTS) {
				struct wsph_rec *p = realloc(t->rcache, CHUNK_EVENTS * sizeof *p);
				if (!p)
					return NULL;
				t->rcache = p;
				t->rcache_cap = CHUNK_EVENTS;
			}
			t->rcache_ok = 0;
			if (unspill_chunk(t, k, t->rcache, CHUNK_EVENTS) != 0)
				return NULL;
			t->rcache_k = k;
			t->rcache_ok = 1;
		}
		base = t->rcache;
	} else {
		base = c->r;
	}
	struct wsph_rec *r = &base[i % CHUNK_EVENTS];
	return wsph_atomic_load_u64(&r->seq) == i + 1 ? r : NULL;
}

void wsph_trace_update(struct wsph_trace *t, const struct wsph_event *ev)
{
	wsph_mutex_lock(t->lock);
	int sealed = t->sealed;
	if (sealed)
		wsph_mutex_lock(sealed_lock);
	struct wsph_rec *r = ev->seq >= 1 ? rec_at(t, ev->seq - 1) : NULL;
	if (r) {
		uint64_t k = (ev->seq - 1) / CHUNK_EVENTS;
		if (t->spilling && k == t->busy_k)
			t->spill_dirty = 1; /* the spiller encodes its chunk again */
		else if (!sealed && chunk_get(t, k) != SPILLED && k < t->cap_spill_at) {
			free(t->spill_at[k].mem); /* in memory: its encoding is stale */
			t->spill_at[k].mem = NULL;
			t->spill_at[k].len = 0;
		}
		uint32_t text = r->text;
		struct wsph_rec n;
		to_rec(ev, &n);
		n.seq = r->seq;
		n.time_ns = r->time_ns;
		n.thread = r->thread;
		if (!ev->text[0])
			n.text = 0;
		else if (text && !strcmp(t->texts + text - 1, ev->text))
			n.text = text;
		else
			n.text = keep_text(t, ev->text);
		memcpy((char *)r + sizeof r->seq, (const char *)&n + sizeof n.seq,
		       sizeof n - sizeof n.seq);
		if ((sealed || chunk_get(t, k) == SPILLED) &&
		    spill_chunk(t, k, sealed ? sealed_cache : t->rcache) != 0) {
			/* the read cache has it, but it would be lost: read nothing stale later */
			t->rcache_ok = 0;
			if (sealed)
				sealed_cache_owner = 0;
			t->spill_at[k].len = 0;
		}
		if (has_sink(t)) {
			n.seq = ev->seq;
			to_sink(t, &n, ev->text, ev);
		}
	}
	if (sealed)
		wsph_mutex_unlock(sealed_lock);
	wsph_mutex_unlock(t->lock);
}

uint64_t wsph_trace_put(struct wsph_trace *t, const struct wsph_event *ev)
{
	if (t->sealed || ev->seq < 1)
		return 0;
	if (ev->seq <= wsph_atomic_load_u64(&t->n)) {
		wsph_trace_update(t, ev);
		return ev->seq;
	}
	struct wsph_rec r;
	to_rec(ev, &r);
	r.seq = ev->seq;
	r.time_ns = ev->time_ns;
	r.thread = ev->thread;
	return wsph_trace_put_rec(t, &r, r.module, r.behalf, ev->text);
}

uint64_t wsph_trace_put_rec(struct wsph_trace *t, const void *rec, unsigned module, unsigned behalf,
			    const char *text)
{
	uint64_t seq;
	memcpy(&seq, (const char *)rec + offsetof(struct wsph_rec, seq), sizeof seq);
	if (t->sealed || seq < 1)
		return 0;
	uint64_t n = wsph_atomic_load_u64(&t->n);
	if (seq <= n) { /* rare: an update, as an event */
		struct wsph_rec r;
		struct wsph_event ev;
		memcpy(&r, rec, sizeof r);
		r.text = 0;
		r.module = (uint16_t)module;
		r.behalf = (uint16_t)behalf;
		from_rec(t, &r, &ev);
		snprintf(ev.text, sizeof ev.text, "%s", text ? text : "");
		wsph_trace_update(t, &ev);
		return seq;
	}
	if (seq != n + 1)
		return 0; /* a gap: the event before it was lost */
	int locked = text && text[0]; /* for the text store; a record alone goes in as store's do */
	uint32_t text_id = 0;
	if (locked) {
		wsph_mutex_lock(t->lock);
		text_id = keep_text(t, text);
	}
	wsph_atomic_store_u64(&t->n, seq); /* one writer: no atomic claim */
	struct chunk *c = chunk_for(t, seq - 1);
	if (c && c != SPILLED) {
		/* from the caller's bytes, then patched in place (no copy of a patched copy) */
		struct wsph_rec *dst = &c->r[(seq - 1) % CHUNK_EVENTS];
		memcpy((char *)dst + sizeof dst->seq, (const char *)rec + sizeof dst->seq,
		       sizeof *dst - sizeof dst->seq);
		dst->text = text_id;
		dst->module = (uint16_t)module;
		dst->behalf = (uint16_t)behalf;
		wsph_atomic_store_u64(&dst->seq, seq);
	} else {
		seq = 0;
	}
	if (locked)
		wsph_mutex_unlock(t->lock);
	return seq;
}

size_t wsph_trace_count(struct wsph_trace *t)
{
	drain_all(t, 1);
	return (size_t)wsph_atomic_load_u64(&t->n);
}

int wsph_trace_get(struct wsph_trace *t, size_t i, struct wsph_event *out)
{
	int rc = -1;
	if (i >= wsph_atomic_load_u64(&t->n))
		drain_all(t, 1); /* a reader that reads on until it fails sees the staged ones */
	wsph_mutex_lock(t->lock);
	int sealed = t->sealed;
	if (sealed)
		wsph_mutex_lock(sealed_lock);
	const struct wsph_rec *r = rec_at(t, i);
	if (r) {
		from_rec(t, r, out);
		rc = 0;
	}
	if (sealed)
		wsph_mutex_unlock(sealed_lock);
	wsph_mutex_unlock(t->lock);
	return rc;
}

struct wsph_event *wsph_trace_copy(struct wsph_trace *t, size_t *n)
{
	struct wsph_event *out = NULL;
	size_t count = wsph_trace_count(t), got = 0;
	*n = 0;
	if (count && (out = malloc(count * sizeof *out)) != NULL) {
		wsph_mutex_lock(t->lock);
		int sealed = t->sealed;
		if (sealed)
			wsph_mutex_lock(sealed_lock);
		for (; got < count; got++) {
			const struct wsph_rec *r = rec_at(t, got);
			if (!r)
				break;
			from_rec(t, r, &out[got]);
		}
		if (sealed)
			wsph_mutex_unlock(sealed_lock);
		wsph_mutex_unlock(t->lock);
		*n = got;
		if (!got) {
			free(out);
			out = NULL;
		}
	}
	return out;
}

/* ---- how events read: one table of every function's parameters and result ---- */

/* What a function returns, and how it fails. */
enum ret_kind {
	RET_INT,     /* int: SOCKET_ERROR (-1) fails, *lpErrno says why */
	RET_HANDLE,  /* SOCKET: INVALID_SOCKET (-1) fails */
	RET_BOOL,    /* BOOL: FALSE fails, *lpErrno says why */
	RET_CODE,    /* an error code itself (WSPStartup): non-zero fails */
	RET_NONE,    /* nothing */
	RET_EVENT,   /* WSAEVENT: WSA_INVALID_EVENT (NULL) fails, *lpErrno says why */
	RET_MODULE,  /* HMODULE: NULL fails (GetLastError) */
	RET_FOUND,   /* FARPROC, recorded as found (1) or NULL (0) */
	RET_WINBOOL, /* a Win32 BOOL: FALSE fails (GetLastError) */
	RET_COUNT    /* a Win32 count: 0 fails (GetLastError) */
};

static const struct {
	char fail;    /* '-' fails at -1, '0' at 0, '!' when not 0, 0 never */
	char lp_errno; /* a failure's error is in *lpErrno */
	char pointer; /* the value is a pointer of the run */
} rets[] = {
	[RET_INT] = {'-', 1, 0},     [RET_HANDLE] = {'-', 1, 0}, [RET_BOOL] = {'0', 1, 0},
	[RET_CODE] = {'!', 0, 0},    [RET_NONE] = {0, 0, 0},	 [RET_EVENT] = {'0', 1, 1},
	[RET_MODULE] = {'0', 0, 1},  [RET_FOUND] = {'0', 0, 0},	 [RET_WINBOOL] = {'0', 0, 0},
	[RET_COUNT] = {'0', 0, 0},
};

/* A function's parameters in call order, each a name after its marks: '#' a value in hex
 * (handles, flags, codes), '*' a pointer of the run (hex; a placeholder in deterministic
 * reports), '&' a pointer followed by the event's text (the module it names), '%' a WSA error
 * code, '$' a string: the event's text, which takes no a[] slot, '>' a value the call returns
 * (shown once known), '!' a slot the recorder fills for the rules only (not shown); no mark: a
 * decimal number. Every parameter but a '$' one takes the next a[] slot. Rows are keyed by name: a
 * row whose function this build does not have is skipped. */
#define MAX_PARAMS WSPH_FN_PARAMS_MAX

struct fn_row {
	const char *fn;
	const char *args[MAX_PARAMS];
	enum ret_kind ret;
};

static const struct fn_row rows[] = {
	{"WSPStartup",
	 {"#wVersionRequested", ">#wVersion", ">#wHighVersion", ">#nullEntries", ">descTerminated"},
	 RET_CODE},
	{"WSPCleanup", {NULL}, RET_INT},
	{"WSPCancelBlockingCall", {NULL}, RET_INT},
	{"WSPSocket", {"af", "type", "protocol", "catalogEntryId", "dwFlags"}, RET_HANDLE},
	{"WSPAccept", {"#s"}, RET_HANDLE},
	{"WSPJoinLeaf", {"#s"}, RET_HANDLE},
	{"WSPSend", {"#s", "len", ">sent"}, RET_INT},
	{"WSPSendTo", {"#s", "len", ">sent"}, RET_INT},
	{"WSPRecv", {"#s", "len", ">received"}, RET_INT},
	{"WSPRecvFrom", {"#s", "len", ">received"}, RET_INT},
	{"WSPListen", {"#s", "backlog"}, RET_INT},
	{"WSPShutdown", {"#s", "how"}, RET_INT},
	{"WSPGetSockOpt", {"#s", "#level", "#optname", "value"}, RET_INT},
	{"WSPSetSockOpt", {"#s", "#level", "#optname", "value"}, RET_INT},
	{"WSPIoctl", {"#s", "#dwIoControlCode", "in", ">out"}, RET_INT},
	{"WSPGetOverlappedResult", {"#s"}, RET_BOOL},
	{"WSPGetQOSByName", {"#s"}, RET_BOOL},
	{"WSPSelect", {"nfds", "!*readfds", "!*writefds", "!*exceptfds", "$sets"}, RET_INT},
	{"WSPBind", {"#s", "#name"}, RET_INT},
	{"WSPConnect", {"#s", "#name"}, RET_INT},
	{"WSPAsyncSelect", {"#s", "*hWnd", "#wMsg", "#lEvent"}, RET_INT},
	{"WSPEventSelect", {"#s", "*hEventObject", "#lNetworkEvents"}, RET_INT},
	{"WSPStringToAddress", {NULL}, RET_INT},
	{"WSPAddressToString", {NULL}, RET_INT},
	{"WPUCloseEvent", {"*hEvent"}, RET_BOOL},
	{"WPUCloseSocketHandle", {"#s"}, RET_INT},
	{"WPUCreateEvent", {NULL}, RET_EVENT},
	{"WPUCreateSocketHandle", {"dwCatalogEntryId", "*dwContext"}, RET_HANDLE},
	{"WPUFDIsSet", {"#s", "*fdset"}, RET_INT},
	{"WPUGetProviderPath", {"*lpProviderId", "len"}, RET_INT},
	{"WPUModifyIFSHandle", {"dwCatalogEntryId", "#ProposedHandle"}, RET_HANDLE},
	{"WPUPostMessage", {"*hWnd", "#Msg", "#wParam", "#lParam"}, RET_BOOL},
	{"WPUQueryBlockingCallback", {"dwCatalogEntryId", "*callback", "*context"}, RET_INT},
	{"WPUQuerySocketHandleContext", {"#s", "*context"}, RET_INT},
	{"WPUQueueApc", {"*lpThreadId", "*lpfnUserApc", "*dwContext", "*ThreadHandle"}, RET_INT},
	{"WPUResetEvent", {"*hEvent"}, RET_BOOL},
	{"WPUSetEvent", {"*hEvent"}, RET_BOOL},
	{"WPUOpenCurrentThread", {"*lpThreadId", "*ThreadHandle"}, RET_INT},
	{"WPUCloseThread", {"*lpThreadId", "*ThreadHandle"}, RET_INT},
	{"WPUCompleteOverlappedRequest", {"#s", "*lpOverlapped", "%dwError", "cbTransferred"},
	 RET_INT},
	/* the interposed imports (harness/imports.c): what the recorder keeps of their arguments */
	{"WSCEnumProtocols", {"*lpiProtocols", "lpdwBufferLength"}, RET_INT},
	{"WSCEnumProtocols32", {"*lpiProtocols", "lpdwBufferLength"}, RET_INT},
	{"WSCGetProviderPath",
	 {"*lpProviderId", ">$lpszProviderDllPath", "lpProviderDllPathLen", "!*lpszBuffer",
	  "!stackRoom", "!beyondFrame"},
	 RET_INT},
	{"LoadLibraryA", {"$lpLibFileName"}, RET_MODULE},
	{"LoadLibraryW", {"$lpLibFileName"}, RET_MODULE},
	{"LoadLibraryExA", {"$lpLibFileName"}, RET_MODULE},
	{"LoadLibraryExW", {"$lpLibFileName"}, RET_MODULE},
	{"GetProcAddress", {"*hModule", "$lpProcName"}, RET_FOUND},
	{"FreeLibrary", {"&hLibModule"}, RET_WINBOOL},
	{"PostMessageA", {"*hWnd", "#Msg", "#wParam", "#lParam"}, RET_WINBOOL},
	{"PostMessageW", {"*hWnd", "#Msg", "#wParam", "#lParam"}, RET_WINBOOL},
	{"ExpandEnvironmentStringsA",
	 {"$lpSrc", "*lpSrcAddress", "*lpDst", "nSize", "!srcChars", "!needed", "!#hash"},
	 RET_COUNT},
	{"ExpandEnvironmentStringsW",
	 {"$lpSrc", "*lpSrcAddress", "*lpDst", "nSize", "!srcChars", "!needed", "!#hash"},
	 RET_COUNT},
};

/* What a function without a row shows: its first argument, in hex. */
static const struct fn_row generic_row = {"", {"#s"}, RET_INT};

/* One parameter read from its marks. */
struct param {
	const char *name;
	char kind; /* 'x', 'p', 'm', 'e', 's', 'd' (wsph_param) */
	int slot;  /* a[] index, -1 for 's' */
	int output, hidden;
};

static const struct fn_row *row_of(enum wsph_fn fn)
{
	static const struct fn_row *by_fn[WSPH_FN_COUNT];
	static volatile int init;
	if ((int)fn < 0 || fn >= WSPH_FN_COUNT)
		return &generic_row;
	if (!init) { /* idempotent: a race writes the same pointers */
		for (int i = 0; i < WSPH_FN_COUNT; i++)
			by_fn[i] = &generic_row;
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			int id = wsph_fn_by_name(rows[i].fn);
			if (id >= 0)
				by_fn[id] = &rows[i];
		}
		init = 1;
	}
	return by_fn[fn];
}

/* The parameters of fn, hidden ones included; returns how many. */
static int params_of(enum wsph_fn fn, struct param out[MAX_PARAMS])
{
	static const struct {
		char mark, kind;
	} kinds[] = {{'#', 'x'}, {'*', 'p'}, {'&', 'm'}, {'%', 'e'}, {'$', 's'}};
	const struct fn_row *row = row_of(fn);
	int n = 0, slot = 0;
	for (; n < MAX_PARAMS && row->args[n]; n++) {
		const char *a = row->args[n];
		struct param *p = &out[n];
		memset(p, 0, sizeof *p);
		p->kind = 'd';
		for (;; a++) {
			size_t k = 0;
			while (k < sizeof kinds / sizeof kinds[0] && kinds[k].mark != *a)
				k++;
			if (k < sizeof kinds / sizeof kinds[0])
				p->kind = kinds[k].kind;
			else if (*a == '>')
				p->output = 1;
			else if (*a == '!')
				p->hidden = 1;
			else
				break;
		}
		p->name = a;
		p->slot = p->kind == 's' ? -1 : slot++;
	}
	return n;
}

int wsph_fn_params(enum wsph_fn fn, struct wsph_param *out)
{
	struct param ps[MAX_PARAMS];
	int n = params_of(fn, ps), k = 0;
	for (int i = 0; i < n; i++) {
		if (ps[i].hidden || ps[i].slot >= WSPH_EV_ARGS)
			continue;
		out[k].name = ps[i].name;
		out[k].kind = ps[i].kind;
		out[k].slot = ps[i].slot;
		out[k].output = ps[i].output;
		k++;
	}
	return k;
}

int wsph_fn_arg_names(enum wsph_fn fn, const char *names[WSPH_EV_ARGS], char marks[WSPH_EV_ARGS])
{
	struct param ps[MAX_PARAMS];
	int n = params_of(fn, ps), k = 0;
	for (int i = 0; i < WSPH_EV_ARGS; i++) {
		names[i] = NULL;
		if (marks)
			marks[i] = 0;
	}
	for (int i = 0; i < n; i++) {
		if (ps[i].slot < 0 || ps[i].slot >= WSPH_EV_ARGS)
			continue;
		names[ps[i].slot] = ps[i].name;
		if (marks)
			marks[ps[i].slot] = ps[i].kind == 'e' ? '%' : ps[i].kind == 'd' ? 0 : '#';
		k = ps[i].slot + 1;
	}
	return k;
}

int wsph_fn_arg_is_pointer(enum wsph_fn fn, const char *name)
{
	struct param ps[MAX_PARAMS];
	int n = params_of(fn, ps);
	for (int i = 0; name && i < n; i++)
		if (!strcmp(ps[i].name, name))
			return ps[i].kind == 'p' || ps[i].kind == 'm';
	return 0;
}

int wsph_fn_ret_is_pointer(enum wsph_fn fn)
{
	return rets[row_of(fn)->ret].pointer;
}

int wsph_fn_ret_failed(enum wsph_fn fn, int64_t ret)
{
	switch (rets[row_of(fn)->ret].fail) {
	case '-': return ret == -1;
	case '0': return ret == 0;
	case '!': return ret != 0;
	default: return 0;
	}
}

int wsph_fn_ret_errno(enum wsph_fn fn)
{
	return rets[row_of(fn)->ret].lp_errno;
}

char *wsph_fn_ret_text(enum wsph_fn fn, int64_t ret, char *buf, size_t len)
{
	char e[64];
	switch (row_of(fn)->ret) {
	case RET_HANDLE:
		if (ret == -1)
			snprintf(buf, len, "INVALID_SOCKET");
		else
			snprintf(buf, len, "0x%" PRIx64, (uint64_t)ret);
		break;
	case RET_BOOL:
	case RET_WINBOOL: /* a BOOL is TRUE or FALSE: anything else shows what came back */
		if (ret == 0 || ret == 1)
			snprintf(buf, len, "%s", ret ? "TRUE" : "FALSE");
		else
			snprintf(buf, len, "%" PRId64, ret);
		break;
	case RET_CODE:
		snprintf(buf, len, "%s", ret ? wsph_error_format((int)ret, e, sizeof e) : "0");
		break;
	case RET_EVENT:
	case RET_MODULE:
		if (ret == 0)
			snprintf(buf, len, "NULL");
		else
			snprintf(buf, len, "0x%" PRIx64, (uint64_t)ret);
		break;
	case RET_FOUND:
		snprintf(buf, len, "%s", ret ? "non-NULL" : "NULL");
		break;
	case RET_NONE:
		buf[0] = '\0';
		break;
	case RET_INT:
		if (ret == -1) {
			snprintf(buf, len, "SOCKET_ERROR");
			break;
		}
		/* fall through */
	default:
		snprintf(buf, len, "%" PRId64, ret);
		break;
	}
	return buf;
}

char *wsph_quote(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t pos = 0;
	if (!len)
		return buf;
	if (!s || !strcmp(s, "(null)")) { /* what the recorders keep of a NULL string */
		snprintf(buf, len, "NULL");
		return buf;
	}
	buf[pos++] = '"';
	for (; *s && pos + 6 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\\' || ch == '"') {
			buf[pos++] = '\\';
			buf[pos++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			buf[pos++] = '\\';
			buf[pos++] = 'x';
			buf[pos++] = hex[ch >> 4];
			buf[pos++] = hex[ch & 15];
		} else {
			buf[pos++] = (char)ch;
		}
	}
	if (*s && pos + 4 <= len) { /* cut: say so */
		memcpy(buf + pos, "...", 3);
		pos += 3;
	}
	if (pos + 1 < len)
		buf[pos++] = '"';
	buf[pos] = '\0';
	return buf;
}

static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...) WSPH_PRINTF(4, 5);

#include <stdarg.h>
static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	if (*pos >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = (*pos + (size_t)n < len) ? *pos + (size_t)n : len - 1;
}

/* The call's level argument (what its optname means), or -1 when it has none. */
static long long level_of(const struct wsph_event *ev, const struct wsph_param *ps, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(ps[i].name, "level") && ps[i].slot >= 0)
			return (long long)(int64_t)ev->a[ps[i].slot];
	return -1;
}

/* One argument as the text shows it, "name=value": by name where it has one (decode.h). */
static void put_value(const struct wsph_event *ev, const struct wsph_param *p, long long level,
		      char *buf, size_t len, size_t *pos)
{
	char v[sizeof ev->text * 4 + 8];
	uint64_t x = p->slot >= 0 ? ev->a[p->slot] : 0;
	/* the select sets as given, on a return too (show prints the sets returned) */
	int how = wsph_decode_arg(wsph_fn_name(ev->fn), p->name, x, level, ev->text, 0, v, sizeof v);
	if (how) {
		cat(buf, len, pos, how == 2 ? "%s" : "%s=", how == 2 ? v : p->name);
		if (how != 2)
			cat(buf, len, pos, "%s", v);
		return;
	}
	cat(buf, len, pos, "%s=", p->name);
	switch (p->kind) {
	case 's': cat(buf, len, pos, "%s", wsph_quote(ev->text, v, sizeof v)); break;
	case 'e': cat(buf, len, pos, "%s", wsph_error_format((int)x, v, sizeof v)); break;
	case 'd': cat(buf, len, pos, "%" PRId64, (int64_t)x); break;
	case 'm':
		cat(buf, len, pos, "0x%" PRIx64, x);
		if (ev->text[0])
			cat(buf, len, pos, " (%s)", ev->text);
		break;
	default: cat(buf, len, pos, "0x%" PRIx64, x); break;
	}
}

char *wsph_event_call_text(const struct wsph_event *ev, char *buf, size_t len)
{
	struct wsph_param ps[MAX_PARAMS];
	int n = wsph_fn_params(ev->fn, ps), shown = 0;
	long long level = level_of(ev, ps, n);
	size_t pos = 0;
	char e[64];
	buf[0] = '\0';
	cat(buf, len, &pos, "%s(", wsph_fn_name(ev->fn));
	for (int i = 0; i < n; i++) {
		if (ev->kind == WSPH_EV_CALL && ps[i].output)
			continue; /* RETURN-only arguments are shown only once known */
		cat(buf, len, &pos, "%s", shown++ ? ", " : "");
		put_value(ev, &ps[i], level, buf, len, &pos);
	}
	cat(buf, len, &pos, ")");
	if (ev->kind == WSPH_EV_CALL || row_of(ev->fn)->ret == RET_NONE)
		return buf;
	cat(buf, len, &pos, " -> %s", wsph_fn_ret_text(ev->fn, ev->ret, e, sizeof e));
	int failed = wsph_fn_ret_failed(ev->fn, ev->ret) && row_of(ev->fn)->ret != RET_CODE;
	if (failed && ev->err != WSPH_ERRNO_UNSET)
		cat(buf, len, &pos, ", %s", wsph_error_format(ev->err, e, sizeof e));
	else if (failed && wsph_fn_ret_errno(ev->fn))
		cat(buf, len, &pos, ", *lpErrno not written");
	if (ev->fault)
		cat(buf, len, &pos, " [fault injected: %s]", wsph_error_format(ev->fault, e, sizeof e));
	return buf;
}

/* How an upcall reached the harness, after its call text ("" through the table it was given). */
static const char *via(const struct wsph_event *ev)
{
	static const char *tables[] = {"", " via table B", " via the poisoned table buffer",
				       " via the ws2_32 export"};
	if (ev->kind != WSPH_EV_UPCALL)
		return "";
	if (ev->fn >= WSPH_FN_FIRST_IMPORT)
		return " (interposed)";
	return ev->table > 0 && ev->table < 4 ? tables[ev->table] : "";
}

char *wsph_event_format(const struct wsph_event *ev, char *buf, size_t len)
{
	static const char *kinds[] = {"call  ", "return", "upcall"};
	char call[768];
	wsph_event_call_text(ev, call, sizeof call);
	snprintf(buf, len, "#%" PRIu64 " step %d %s %s%s [%s%s%s]", ev->seq, ev->step,
		 kinds[ev->kind], call, via(ev), ev->module[0] ? ev->module : "?",
		 ev->behalf[0] ? " for " : "", ev->behalf);
	return buf;
}

char *wsph_trace_excerpt(struct wsph_trace *t, uint64_t from, uint64_t to, uint64_t mark)
{
	size_t cap = 4096, pos = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	if (from < 1)
		from = 1;
	for (uint64_t s = from; s <= to; s++) {
		struct wsph_event ev;
		if (wsph_trace_get(t, (size_t)(s - 1), &ev) != 0)
			break;
		char line[1024];
		wsph_event_format(&ev, line, sizeof line);
		size_t need = strlen(line) + 8;
		if (pos + need >= cap) {
			char *p = realloc(out, cap * 2 + need);
			if (!p)
				break;
			out = p;
			cap = cap * 2 + need;
		}
		pos += (size_t)sprintf(out + pos, "%s %s\n", s == mark ? "=>" : "  ", line);
	}
	return out;
}

char *wsph_trace_text(struct wsph_trace *t, size_t cap)
{
	size_t n = wsph_trace_count(t);
	size_t size = 256, pos = 0;
	char *out = malloc(size);
	if (!out)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct wsph_event ev;
		if (wsph_trace_get(t, i, &ev) != 0)
			break;
		char line[1024];
		wsph_event_format(&ev, line, sizeof line);
		size_t need = strlen(line) + 2;
		if (pos + need > cap) {
			const char *more = "... (trace truncated)\n";
			char *p = realloc(out, pos + strlen(more) + 1);
			if (p) {
				out = p;
				strcpy(out + pos, more);
			}
			break;
		}
		if (pos + need >= size) {
			size_t ns = (pos + need) * 2;
			char *p = realloc(out, ns);
			if (!p)
				break;
			out = p;
			size = ns;
		}
		pos += (size_t)sprintf(out + pos, "%s\n", line);
	}
	return out;
}
