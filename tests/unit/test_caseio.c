/* Unit tests of the child-to-parent channel: frames, their check keyed with the child's secret,
 * their numbers, and the parent's reader. */
#define _POSIX_C_SOURCE 200809L
#include "caseio.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET 0x0123456789abcdefull

static struct wsph_event event(uint64_t seq)
{
	struct wsph_event ev;
	memset(&ev, 0, sizeof ev);
	ev.seq = seq;
	ev.time_ns = seq * 10;
	ev.thread = 4242;
	ev.kind = WSPH_EV_UPCALL;
	ev.fn = WSPH_FN_WPUCREATESOCKETHANDLE;
	ev.step = 1;
	ev.a[0] = 1001;
	ev.a[1] = 0x7f00deadbeefull;
	ev.ret = (int64_t)(0x3c000000 + 4 * seq);
	ev.err = WSPH_ERRNO_UNSET;
	snprintf(ev.text, sizeof ev.text, "a\\b\tc\n\x1eWSPH V d");
	snprintf(ev.module, sizeof ev.module, "mock base.so");
	snprintf(ev.behalf, sizeof ev.behalf, "%s", seq % 2 ? "layer\t.so" : "");
	return ev;
}

/* A parent's channel for a child with this secret, whose next frame is numbered next. */
static struct wsph_caseio_chan *chan_of(uint64_t secret, uint32_t next)
{
	static struct wsph_caseio_chan ch;
	memset(&ch, 0, sizeof ch);
	ch.secret = secret;
	ch.next_seq = next;
	return &ch;
}

/* Where the frames of buf[0..len) begin, as a parent finds them (at[i] for frame i, at[n] = the
 * end), each frame's kind in kinds (may be NULL); returns n. */
static size_t frames_with(uint64_t secret, const char *buf, size_t len, size_t *at, char *kinds,
			  size_t max)
{
	char *copy = malloc(len + 1);
	memcpy(copy, buf, len);
	struct wsph_caseio_chan *ch = chan_of(secret, 0);
	size_t n = 0, pos = 0, used;
	struct wsph_caseio_frame f;
	uint32_t lost;
	while (pos < len && n < max) {
		int got = wsph_caseio_next(ch, copy + pos, len - pos, 1, &f, &lost, &used);
		cr_assert_eq(got, 1, "frame %zu at %zu of %zu is not believed", n, pos, len);
		if (kinds)
			kinds[n] = f.kind;
		at[n++] = pos;
		pos += used;
	}
	at[n] = pos;
	free(copy);
	return n;
}

static size_t frames_of(const char *buf, size_t len, size_t *at, char *kinds, size_t max)
{
	return frames_with(SECRET, buf, len, at, kinds, max);
}

/* The index of the first record frame of a stream (at: the frames' offsets, 16 at most). */
static size_t first_record(const char *buf, size_t len, size_t *at)
{
	char kinds[16];
	size_t n = frames_of(buf, len, at, kinds, 15), ev = 0;
	while (ev < n && kinds[ev] != 'R')
		ev++;
	cr_assert_lt(ev, n);
	return ev;
}

/* What the child's writer wrote. */
static char *wbuf;
static size_t wlen;

static int capture(const void *buf, size_t len)
{
	wbuf = realloc(wbuf, wlen + len + 1);
	memcpy(wbuf + wlen, buf, len);
	wlen += len;
	wbuf[wlen] = '\0';
	return 0;
}

/* What a child writes for a case of n events (after its "S"), then its verdict; *len set.
 * malloc'd. */
static char *stream_with(uint64_t secret, size_t n, size_t *len)
{
	wbuf = NULL;
	wlen = 0;
	wsph_caseio_begin(secret, capture);
	wsph_caseio_started();
	for (size_t i = 1; i <= n; i++) {
		struct wsph_event ev = event(i);
		wsph_caseio_event(&ev);
	}
	wsph_caseio_flush();
	*len = wlen;
	return wbuf;
}

static char *stream(size_t n, int verdict, size_t *len)
{
	wbuf = NULL;
	wlen = 0;
	wsph_caseio_begin(SECRET, capture);
	wsph_caseio_started();
	for (size_t i = 1; i <= n; i++) {
		struct wsph_event ev = event(i);
		wsph_caseio_event(&ev);
	}
	if (verdict) {
		struct wsph_case c;
		memset(&c, 0, sizeof c);
		c.outcome = WSPH_PASS;
		wsph_caseio_case(&c);
	}
	wsph_caseio_flush();
	*len = wlen;
	return wbuf;
}

/* The parent's side: the "S" frame read as the runner does, the rest by a reader. */
static void parse_with(uint64_t secret, char *buf, size_t len, enum wsph_child_end end, long code,
		       const char *output, struct wsph_case *c)
{
	static struct wsph_scenario sc;
	struct wsph_caseio_chan *chan = chan_of(secret, 0);
	struct wsph_caseio_frame f;
	uint32_t lost;
	size_t first;
	if (wsph_caseio_next(chan, buf, len, 1, &f, &lost, &first) > 0)
		cr_assert_eq(f.kind, 'S');
	cr_assert_gt(first, 0);
	struct wsph_caseio_reader *r = wsph_caseio_reader_new(NULL, &sc, 0, chan);
	if (output)
		wsph_caseio_reader_output(r, output, strlen(output));
	wsph_caseio_reader_feed(r, buf + first, len - first, 1);
	memset(c, 0, sizeof *c);
	wsph_caseio_reader_finish(r, end, code, 1000, 0, c);
}

static void parse(char *buf, size_t len, enum wsph_child_end end, long code, struct wsph_case *c)
{
	parse_with(SECRET, buf, len, end, code, NULL, c);
}

static void case_free(struct wsph_case *c)
{
	free(c->error_type);
	free(c->error_message);
	free(c->trace);
	wsph_trace_free(c->events);
}

Test(caseio, events_go_through_whole_with_their_strings)
{
	size_t len;
	char *buf = stream(3, 1, &len);
	struct wsph_case c;
	parse_with(SECRET, buf, len, WSPH_CHILD_EXITED, 0, "provider says hello", &c);
	cr_assert_eq(c.outcome, WSPH_PASS);
	cr_assert_eq(wsph_case_n_events(&c), 3);
	for (size_t i = 0; i < 3; i++) {
		struct wsph_event got, want = event(i + 1);
		cr_assert_eq(wsph_case_event(&c, i, &got), 0);
		cr_assert_eq(got.seq, want.seq);
		cr_assert_eq(got.time_ns, want.time_ns);
		cr_assert_eq(got.thread, want.thread);
		cr_assert_eq(got.ret, want.ret);
		cr_assert_eq(got.a[1], want.a[1]);
		cr_assert_str_eq(got.text, want.text);
		cr_assert_str_eq(got.module, want.module);
		cr_assert_str_eq(got.behalf, want.behalf);
	}
	cr_assert_not_null(strstr(c.trace, "--- provider output ---\nprovider says hello\n"));
	case_free(&c);
	free(buf);
}

/* A crash in the middle of any frame: the cut frame is not believed, never misread, and the case
 * is the crash it was (its crash frame comes after the cut). */
Test(caseio, a_frame_cut_anywhere_is_not_believed)
{
	size_t len, at[16];
	char *full = stream(2, 0, &len);
	size_t n = frames_of(full, len, at, NULL, 15);
	size_t start = at[n - 1]; /* the second event's frame */
	for (size_t cut = start; cut < len; cut++) {
		char *buf = malloc(cut + 64);
		memcpy(buf, full, cut);
		size_t m = cut + wsph_caseio_crash_frame(buf + cut, 63, 11, NULL);
		struct wsph_case c;
		parse(buf, m, WSPH_CHILD_SIGNALED, 11, &c);
		cr_assert_eq(c.outcome, WSPH_ERROR);
		cr_assert_str_eq(c.error_type, "crash");
		cr_assert_eq(wsph_case_n_events(&c), 1, "cut at %zu of %zu", cut - start,
			     len - start);
		case_free(&c);
		free(buf);
	}
	free(full);
}

/* A byte changed anywhere in an event's frame spoils it: a complete case with a spoilt frame is an
 * <error type="channel">, never a pass. */
Test(caseio, a_changed_byte_makes_the_case_a_channel_error)
{
	size_t len, at[16];
	char *full = stream(1, 1, &len);
	size_t ev = first_record(full, len, at);
	for (size_t i = at[ev]; i < at[ev + 1]; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			char *buf = malloc(len + 1);
			memcpy(buf, full, len);
			buf[i] = (char)(buf[i] ^ 1 << bit);
			struct wsph_case c;
			parse(buf, len, WSPH_CHILD_EXITED, 0, &c);
			cr_assert_eq(c.outcome, WSPH_ERROR, "at %zu bit %d", i - at[ev], bit);
			cr_assert_str_eq(c.error_type, "channel");
			cr_assert_eq(wsph_case_n_events(&c), 0, "at %zu", i - at[ev]);
			case_free(&c);
			free(buf);
		}
	}
	free(full);
}

/* Lines that imitate the protocol (what a provider could print) are not frames. */
Test(caseio, forged_lines_are_not_believed)
{
	size_t len;
	char *full = stream(1, 0, &len);
	const char *forged = "O00000009 0\t00000000\nD0000000a 1 0\tdeadbeef\n\x1eWSPH O 0\n";
	char *buf = malloc(len + strlen(forged) + 1);
	memcpy(buf, full, len);
	memcpy(buf + len, forged, strlen(forged) + 1);
	struct wsph_case c;
	parse(buf, len + strlen(forged), WSPH_CHILD_SIGNALED, 11, &c);
	cr_assert_eq(c.outcome, WSPH_ERROR);
	cr_assert_str_eq(c.error_type, "crash");
	cr_assert_not_null(strstr(c.error_message, "3 frame(s) on the channel from the child failed"));
	case_free(&c);
	free(buf);
	free(full);
}

/* The same stream under another child's secret: nothing is believed. */
Test(caseio, another_childs_key_believes_nothing)
{
	size_t len;
	char *buf = stream(2, 1, &len);
	struct wsph_case c;
	parse_with(SECRET ^ 1, buf, len, WSPH_CHILD_EXITED, 0, NULL, &c);
	cr_assert_eq(c.outcome, WSPH_ERROR);
	cr_assert_eq(wsph_case_n_events(&c), 0);
	case_free(&c);
	free(buf);
}

/* A frame taken out (lost) or played twice: the case is a channel error naming the loss. */
Test(caseio, a_lost_or_replayed_frame_is_reported)
{
	size_t len, at[16];
	char kinds[16];
	char *full = stream(3, 1, &len);
	size_t n = frames_of(full, len, at, kinds, 15), first = 0;
	while (first < n && kinds[first] != 'R')
		first++;
	cr_assert_lt(first + 2, n);
	size_t a = at[first + 1], b = at[first + 2]; /* the second event's frame */
	/* lost: the second event's frame removed */
	char *buf = malloc(len + 1);
	memcpy(buf, full, a);
	memcpy(buf + a, full + b, len - b);
	struct wsph_case c;
	parse(buf, len - (b - a), WSPH_CHILD_EXITED, 0, &c);
	cr_assert_eq(c.outcome, WSPH_ERROR);
	cr_assert_str_eq(c.error_type, "channel");
	cr_assert_not_null(strstr(c.error_message, "and 1 were lost"), "%s", c.error_message);
	cr_assert_eq(wsph_case_n_events(&c), 1);
	case_free(&c);
	free(buf);
	/* replayed: the first event's frame twice */
	a = at[first];
	b = at[first + 1];
	buf = malloc(len + (b - a) + 1);
	memcpy(buf, full, b);
	memcpy(buf + b, full + a, b - a);
	memcpy(buf + b + (b - a), full + b, len - b);
	parse(buf, len + (b - a), WSPH_CHILD_EXITED, 0, &c);
	cr_assert_eq(c.outcome, WSPH_ERROR);
	cr_assert_str_eq(c.error_type, "channel");
	cr_assert_eq(wsph_case_n_events(&c), 3);
	case_free(&c);
	free(buf);
	free(full);
}

/* The parent reads as the bytes come, in pieces of any size. */
Test(caseio, the_reader_takes_the_stream_in_pieces)
{
	size_t len;
	char *full = stream(50, 1, &len);
	size_t at[64];
	frames_of(full, len, at, NULL, 63);
	size_t skip = at[1]; /* after the "S" */
	for (size_t piece = 1; piece < 400; piece = piece * 3 + 1) {
		struct wsph_scenario sc;
		memset(&sc, 0, sizeof sc);
		struct wsph_caseio_chan *ch = chan_of(SECRET, 1);
		struct wsph_caseio_reader *r = wsph_caseio_reader_new(NULL, &sc, 0, ch);
		char *pending = malloc(len + 1);
		size_t have = 0, fed = skip;
		while (fed < len && !wsph_caseio_reader_done(r)) {
			size_t n = len - fed < piece ? len - fed : piece;
			memcpy(pending + have, full + fed, n);
			have += n;
			fed += n;
			size_t used = wsph_caseio_reader_feed(r, pending, have, 0);
			memmove(pending, pending + used, have - used);
			have -= used;
		}
		cr_assert(wsph_caseio_reader_done(r));
		struct wsph_case c;
		memset(&c, 0, sizeof c);
		wsph_caseio_reader_finish(r, WSPH_CHILD_EXITED, 0, 1000, 0, &c);
		cr_assert_eq(c.outcome, WSPH_PASS);
		cr_assert_eq(wsph_case_n_events(&c), 50, "piece %zu", piece);
		case_free(&c);
		free(pending);
	}
	free(full);
}

/* The provider's output is kept to its last bytes. */
Test(caseio, provider_output_keeps_its_last_part)
{
	struct wsph_scenario sc;
	memset(&sc, 0, sizeof sc);
	struct wsph_caseio_reader *r = wsph_caseio_reader_new(NULL, &sc, 1000, chan_of(SECRET, 0));
	char line[64];
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(line, sizeof line, "line %d\n", i);
		wsph_caseio_reader_output(r, line, (size_t)n);
	}
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	wsph_caseio_reader_finish(r, WSPH_CHILD_SIGNALED, 11, 1000, 0, &c);
	cr_assert_eq(c.outcome, WSPH_ERROR);
	cr_assert_not_null(strstr(c.trace, "line 9999\n"));
	cr_assert_null(strstr(c.trace, "line 9000\n"));
	cr_assert_not_null(strstr(c.trace, "earlier bytes not kept"));
	cr_assert_lt(strlen(c.trace), 1200);
	case_free(&c);
}

/* Kept output is byte for byte: a NUL, control characters and invalid UTF-8 are written \xHH, what
 * follows a NUL is there, valid UTF-8 stays as it is. */
Test(caseio, kept_output_escapes_what_is_not_text)
{
	static const char in[] = "a\0b\x01\x7f \xff\xc3( \xc3\xa9 \xed\xa0\x80 \xf4\x90\x80\x80\tend";
	struct wsph_caseio_kept k = {0};
	wsph_caseio_keep(&k, in, sizeof in - 1);
	char *t = wsph_caseio_kept_text(&k, "provider output");
	cr_assert_str_eq(t, "--- provider output ---\na\\x00b\\x01\\x7f \\xff\\xc3( \xc3\xa9 "
			    "\\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80\tend\n");
	free(t);
	wsph_caseio_kept_free(&k);
}

/* Whatever the pieces, the kept part is the last cap bytes (from a line's start where there is
 * one) and the count of the others is exact; at most 2 * cap bytes are held. */
Test(caseio, kept_output_counts_what_it_drops)
{
	struct wsph_caseio_kept k = {0};
	k.cap = 100;
	char piece[37];
	memset(piece, 'x', sizeof piece);
	size_t total = 0;
	for (int i = 0; i < 1000; i++) {
		wsph_caseio_keep(&k, piece, (size_t)(i % 37) + 1);
		total += (size_t)(i % 37) + 1;
		cr_assert_leq(k.len, 200);
	}
	wsph_caseio_keep(&k, "tail\n", 5);
	total += 5;
	char *t = wsph_caseio_kept_text(&k, "out");
	char want[96];
	snprintf(want, sizeof want, "--- out ---\n... (%zu earlier bytes not kept)\n", total - 100);
	cr_assert(!strncmp(t, want, strlen(want)), "%s", t);
	cr_assert_eq(strlen(t), strlen(want) + 100);
	free(t);
	wsph_caseio_kept_reset(&k);
	cr_assert_null(wsph_caseio_kept_text(&k, "out"));
	wsph_caseio_kept_free(&k);
}

/* The crash frame a handler writes is a frame like the others. */
Test(caseio, the_crash_frame_is_believed)
{
	char buf[64];
	wsph_caseio_begin(SECRET, capture);
	size_t n = wsph_caseio_crash_frame(buf, sizeof buf, 3221225477, NULL);
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[n - 1], '\n');
	struct wsph_caseio_frame f;
	uint32_t lost;
	cr_assert_eq(wsph_caseio_check(chan_of(SECRET, 0), buf, n - 1, &f, &lost), 0);
	cr_assert_eq(f.kind, 'X');
	cr_assert_str_eq(f.payload, "3221225477");
	cr_assert_eq(wsph_caseio_crash_frame(buf, 8, 11, NULL), 0);
}

static struct wsph_crash_info seen(int thread, unsigned long tid)
{
	struct wsph_crash_info ci;
	memset(&ci, 0, sizeof ci);
	snprintf(ci.module, sizeof ci.module, "hostile\\x\tmod.so");
	ci.pc = 0x7f0000001139ull;
	ci.offset = 0x1139;
	ci.access = 'w';
	ci.addr = 0x10;
	ci.thread = thread;
	ci.tid = tid;
	return ci;
}

/* A case of two upcalls (thread 4242), then a crash frame with what the handler saw: the error
 * message. */
static char *crashed_case(const struct wsph_crash_info *ci, const struct wsph_event *extra,
			  struct wsph_case *c)
{
	size_t len;
	char *buf = stream(2, 0, &len);
	wbuf = buf;
	wlen = len;
	if (extra)
		wsph_caseio_event(extra);
	wsph_caseio_flush();
	char frame[1024];
	size_t n = wsph_caseio_crash_frame(frame, sizeof frame, 11, ci);
	cr_assert_gt(n, 0);
	capture(frame, n);
	parse(wbuf, wlen, WSPH_CHILD_SIGNALED, 11, c);
	free(wbuf);
	wbuf = NULL;
	cr_assert_eq(c->outcome, WSPH_ERROR);
	return c->error_message;
}

/* The crash frame carries the faulting module and offset, the access and the thread; the parent
 * words them in the error message, the thread named (a provider's, the harness's). */
Test(caseio, the_crash_frame_carries_where_what_and_which_thread)
{
	struct wsph_case c;
	struct wsph_crash_info ci = seen(0, 4242);
	const char *m = crashed_case(&ci, NULL, &c);
	cr_assert_not_null(strstr(m, " at hostile\\x\tmod.so+0x1139, writing address 0x10, on a "
				     "provider thread (at step 1; last event: "),
			   "%s", m);
	case_free(&c);

	ci = seen(1, 1);
	m = crashed_case(&ci, NULL, &c);
	cr_assert_not_null(strstr(m, "+0x1139, writing address 0x10, on the harness's driver thread "
				     "(at step 1"),
			   "%s", m);
	case_free(&c);

	/* a thread that made a WSP call of the harness's is its helper thread */
	struct wsph_event call = event(3);
	call.kind = WSPH_EV_CALL;
	call.fn = WSPH_FN_WSPSEND;
	call.thread = 77;
	ci = seen(0, 77);
	m = crashed_case(&ci, &call, &c);
	cr_assert_not_null(strstr(m, ", on the harness's helper thread (at step 1"), "%s", m);
	case_free(&c);
}

Test(caseio, crash_detail_words_what_is_known)
{
	char buf[256];
	struct wsph_crash_info ci;
	memset(&ci, 0, sizeof ci);
	ci.thread = -1;
	cr_assert_str_eq(wsph_caseio_crash_detail(&ci, NULL, buf, sizeof buf), "");
	cr_assert_str_eq(wsph_caseio_crash_detail(NULL, "x", buf, sizeof buf), "");
	ci.access = 'x';
	ci.thread = 1;
	cr_assert_str_eq(wsph_caseio_crash_detail(&ci, NULL, buf, sizeof buf),
			 " executing address 0x0, on the harness's driver thread");
	ci.access = 0;
	ci.pc = 0x1234;
	ci.thread = 0;
	cr_assert_str_eq(wsph_caseio_crash_detail(&ci, NULL, buf, sizeof buf),
			 " at 0x1234 (in no module), on another thread than the harness's driver "
			 "thread");
	ci.access = 'r';
	snprintf(ci.module, sizeof ci.module, "m.dll");
	ci.offset = 0xab;
	cr_assert_str_eq(wsph_caseio_crash_detail(&ci, "a provider thread", buf, sizeof buf),
			 " at m.dll+0xab, reading address 0x0, on a provider thread");
}

/* An "X" payload of the code alone (an older child, or a handler that saw nothing) still reads. */
Test(caseio, a_crash_payload_without_detail_is_the_code)
{
	char p[] = "3221225477";
	long code = 0;
	struct wsph_crash_info ci;
	cr_assert_eq(wsph_caseio_crash_parse(p, &code, &ci), 0);
	cr_assert_eq(code, 3221225477l);
	char q[] = "11\tm\\\\x.so\t1f\t7f001f\tw\t10\t0\t99";
	cr_assert_eq(wsph_caseio_crash_parse(q, &code, &ci), 1);
	cr_assert_eq(code, 11);
	cr_assert_str_eq(ci.module, "m\\x.so");
	cr_assert_eq(ci.offset, 0x1f);
	cr_assert_eq(ci.pc, 0x7f001f);
	cr_assert_eq(ci.access, 'w');
	cr_assert_eq(ci.addr, 0x10);
	cr_assert_eq(ci.thread, 0);
	cr_assert_eq(ci.tid, 99);
}

/* ---- the binary event frame ---- */

/* Every field of a record crosses as it is, its module and behalf by name, its text (control
 * characters and all) up to the event's 159 bytes; a record sent again updates its event. */
Test(caseio, a_record_crosses_whole)
{
	wbuf = NULL;
	wlen = 0;
	wsph_caseio_begin(SECRET, capture);
	wsph_caseio_started();
	wsph_trace_free(wsph_trace_new()); /* module ids are interned once a trace was made */
	struct wsph_rec r;
	memset(&r, 0xa5, sizeof r); /* the pad and the text field are not sent as they are */
	r.seq = 1;
	r.time_ns = 123456789;
	r.thread = 0x1122334455ull;
	r.parent = 0;
	for (int i = 0; i < WSPH_EV_ARGS; i++)
		r.a[i] = 0x0a0a0a0a0a0a0a0aull * (uint64_t)(i + 1); /* newlines in the bytes */
	r.ret = -1;
	r.step = 7;
	r.err = 10038;
	r.fault = 10055;
	r.table = WSPH_TABLE_B;
	r.current_table = WSPH_TABLE_A;
	r.layer = 1;
	r.module = (uint16_t)wsph_trace_module_id("lsp\n.dll");
	r.behalf = (uint16_t)wsph_trace_module_id("base.dll");
	r.kind = WSPH_EV_UPCALL;
	r.fn = WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT;
	char text[400];
	memset(text, 'x', sizeof text);
	memcpy(text, "a\n\tb\\\x01", 6);
	text[sizeof text - 1] = '\0';
	wsph_caseio_rec(&r, text);
	r.seq = 2;
	r.module = r.behalf;
	r.behalf = 0;
	wsph_caseio_rec(&r, NULL);
	r.ret = 42; /* an update of event 2 (a call's RETURN data filled in after it) */
	wsph_caseio_rec(&r, "updated");
	struct wsph_case c;
	memset(&c, 0, sizeof c);
	c.outcome = WSPH_PASS;
	wsph_caseio_case(&c);
	struct wsph_case got;
	parse(wbuf, wlen, WSPH_CHILD_EXITED, 0, &got);
	cr_assert_eq(got.outcome, WSPH_PASS);
	cr_assert_eq(wsph_case_n_events(&got), 2);
	struct wsph_event ev;
	cr_assert_eq(wsph_case_event(&got, 0, &ev), 0);
	cr_assert_eq(ev.seq, 1);
	cr_assert_eq(ev.time_ns, 123456789);
	cr_assert_eq(ev.thread, (unsigned long)0x1122334455ull);
	for (int i = 0; i < WSPH_EV_ARGS; i++)
		cr_assert_eq(ev.a[i], 0x0a0a0a0a0a0a0a0aull * (uint64_t)(i + 1));
	cr_assert_eq(ev.ret, -1);
	cr_assert_eq(ev.step, 7);
	cr_assert_eq(ev.err, 10038);
	cr_assert_eq(ev.fault, 10055);
	cr_assert_eq(ev.table, WSPH_TABLE_B);
	cr_assert_eq(ev.current_table, WSPH_TABLE_A);
	cr_assert_eq(ev.layer, 1);
	cr_assert_eq(ev.kind, WSPH_EV_UPCALL);
	cr_assert_eq(ev.fn, WSPH_FN_WPUQUERYSOCKETHANDLECONTEXT);
	cr_assert_str_eq(ev.module, "lsp\n.dll");
	cr_assert_str_eq(ev.behalf, "base.dll");
	cr_assert_eq(strlen(ev.text), sizeof ev.text - 1);
	cr_assert(!strncmp(ev.text, text, sizeof ev.text - 1));
	cr_assert_eq(wsph_case_event(&got, 1, &ev), 0);
	cr_assert_str_eq(ev.module, "base.dll");
	cr_assert_str_eq(ev.behalf, "");
	cr_assert_eq(ev.ret, 42);
	cr_assert_str_eq(ev.text, "updated");
	case_free(&got);
	free(wbuf);
}

/* How many frames of a kind buf holds. */
static size_t count_kind(const char *buf, size_t len, char kind)
{
	size_t at[256], n_kind = 0;
	char kinds[256];
	size_t n = frames_of(buf, len, at, kinds, 255);
	for (size_t i = 0; i < n; i++)
		n_kind += kinds[i] == kind;
	return n_kind;
}

/* A module is named once per channel ("M"), not per event: 50 events of two modules, then another
 * case, name them twice in all; a new channel (another child's key) names them again. */
Test(caseio, a_module_is_named_once_per_channel)
{
	size_t len;
	char *buf = stream(50, 1, &len);
	cr_assert_eq(count_kind(buf, len, 'R'), 50);
	cr_assert_eq(count_kind(buf, len, 'M'), 2);
	wsph_caseio_started();
	struct wsph_event ev = event(51);
	wsph_caseio_event(&ev);
	wsph_caseio_flush();
	cr_assert_eq(count_kind(wbuf, wlen, 'R'), 51);
	cr_assert_eq(count_kind(wbuf, wlen, 'M'), 2);
	free(wbuf);
	buf = stream(1, 1, &len);
	cr_assert_eq(count_kind(buf, len, 'M'), 2);
	free(buf);
}

/* The stream cut at any byte (a crash): the case keeps the events whose frames came whole before
 * the cut, and nothing after it is misread. (A text frame's newline is not under its check: the
 * case's last frame without it is whole.) */
Test(caseio, the_stream_cut_at_every_byte_keeps_what_came_before)
{
	size_t len, at[16];
	char kinds[16];
	char *full = stream(4, 1, &len);
	size_t n = frames_of(full, len, at, kinds, 15);
	for (size_t cut = at[1]; cut < len; cut++) {
		size_t whole = 0; /* events whose frame ends at or before the cut */
		for (size_t i = 0; i < n; i++)
			whole += kinds[i] == 'R' && at[i + 1] <= cut;
		char *buf = malloc(len + 1);
		memcpy(buf, full, cut);
		struct wsph_case c;
		parse(buf, cut, WSPH_CHILD_SIGNALED, 11, &c);
		cr_assert_eq(c.outcome, cut < len - 1 ? WSPH_ERROR : WSPH_PASS, "cut at %zu", cut);
		cr_assert_eq(wsph_case_n_events(&c), whole, "cut at %zu", cut);
		case_free(&c);
		free(buf);
	}
	free(full);
}

/* "R", 136 zero bytes and a newline. */
#define ZERO16 "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
#define ZERO64 ZERO16 ZERO16 ZERO16 ZERO16
#define RECORD_SHAPE "R" ZERO64 ZERO64 "\0\0\0\0\0\0\0\0\n"

/* Bytes a provider writes on the channel, at any place in the stream (between frames or within
 * one): the events before them stay, and a stream with such bytes in a frame is never a pass. */
Test(caseio, stray_bytes_anywhere_keep_the_events_before_them)
{
	char shape[138] = {'R'}; /* the shape of a record frame, without its check */
	shape[sizeof shape - 1] = '\n';
	const struct {
		const char *bytes;
		size_t len;
	} strays[] = {
		{"x", 1},
		{"\n", 1},
		{"hello from the provider\n", 24},
		{"R", 1},
		{shape, sizeof shape},
	};
	size_t len, at[16];
	char kinds[16];
	char *full = stream(3, 1, &len);
	size_t n = frames_of(full, len, at, kinds, 15);
	for (size_t k = 0; k < sizeof strays / sizeof strays[0]; k++) {
		for (size_t p = at[1]; p <= len; p++) {
			size_t before = 0, m = len + strays[k].len;
			for (size_t i = 0; i < n; i++)
				before += kinds[i] == 'R' && at[i + 1] <= p;
			char *buf = malloc(m + 1);
			memcpy(buf, full, p);
			memcpy(buf + p, strays[k].bytes, strays[k].len);
			memcpy(buf + p + strays[k].len, full + p, len - p);
			struct wsph_case c;
			parse(buf, m, WSPH_CHILD_EXITED, 0, &c);
			size_t got = wsph_case_n_events(&c);
			cr_assert_geq(got, before, "stray %zu at %zu", k, p);
			if (c.outcome == WSPH_PASS) {
				/* only what spoils nothing: an empty line, bytes after the case */
				cr_assert(k == 1 || p == len, "stray %zu at %zu", k, p);
				cr_assert_eq(got, 3, "stray %zu at %zu", k, p);
			} else if (p < len) { /* the verdict is not believed, or never came */
				const char *type = c.error_type;
				cr_assert(!strcmp(type, "channel") || !strcmp(type, "exit"),
					  "stray %zu at %zu: %s", k, p, type);
			}
			case_free(&c);
			free(buf);
		}
	}
	free(full);
}

/* A record frame with a wrong check, or one made with another key, is not believed. */
Test(caseio, a_forged_record_is_not_believed)
{
	size_t len, at[16];
	char *full = stream(1, 1, &len);
	size_t ev = first_record(full, len, at);
	size_t end = at[ev + 1]; /* the check is the 4 bytes before the newline */
	for (int variant = 0; variant < 2; variant++) {
		char *buf = malloc(len + 1);
		memcpy(buf, full, len);
		if (variant == 0) {
			buf[end - 3] ^= 0x40;
		} else { /* the same record under another key (the frame numbers are the same) */
			size_t len2, at2[16];
			char *other = stream_with(SECRET ^ 1, 1, &len2);
			frames_with(SECRET ^ 1, other, len2, at2, NULL, 15);
			cr_assert_eq(at2[ev + 1] - at2[ev], end - at[ev]);
			memcpy(buf + at[ev], other + at2[ev], end - at[ev]);
			free(other);
		}
		struct wsph_case c;
		parse(buf, len, WSPH_CHILD_EXITED, 0, &c);
		cr_assert_eq(c.outcome, WSPH_ERROR, "variant %d", variant);
		cr_assert_str_eq(c.error_type, "channel");
		cr_assert_eq(wsph_case_n_events(&c), 0);
		cr_assert_not_null(strstr(c.error_message, "failed their check"), "%s",
				   c.error_message);
		case_free(&c);
		free(buf);
	}
	free(full);
}
