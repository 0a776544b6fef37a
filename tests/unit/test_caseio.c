/* Unit tests of the child-to-parent stream: event lines, their check, and the parent's reader. */
#define _POSIX_C_SOURCE 200809L
#include "caseio.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	return ev;
}

/* What a child writes for a case of n events, then its verdict; *len set. malloc'd. */
static char *stream(size_t n, int verdict, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	cr_assert_not_null(f);
	fputs("provider says hello", f); /* the provider's own output, no newline */
	for (size_t i = 1; i <= n; i++) {
		struct wsph_event ev = event(i);
		wsph_caseio_event_buffered(f, &ev);
	}
	if (verdict) {
		struct wsph_case c;
		memset(&c, 0, sizeof c);
		c.outcome = WSPH_PASS;
		wsph_caseio_case(f, &c);
	}
	fclose(f);
	return buf;
}

static void parse(char *buf, size_t len, enum wsph_child_end end, long code, struct wsph_case *c)
{
	struct wsph_child_result res = {end, code, buf, len};
	struct wsph_scenario sc;
	memset(&sc, 0, sizeof sc);
	memset(c, 0, sizeof *c);
	wsph_caseio_parse(&res, NULL, &sc, 1000, 0, c);
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
	parse(buf, len, WSPH_CHILD_EXITED, 0, &c);
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
	}
	cr_assert_not_null(strstr(c.trace, "--- provider output ---\nprovider says hello\n"));
	case_free(&c);
	free(buf);
}

/* A crash in the middle of any event line: the cut line is dropped, never misread, and the
 * case is the crash it was. */
Test(caseio, a_record_cut_anywhere_is_dropped)
{
	size_t len;
	char *full = stream(2, 0, &len);
	size_t line = strlen(full) - 1; /* the second event's line ends here */
	size_t start = line;
	while (full[start - 1] != '\n')
		start--;
	for (size_t cut = start; cut < line; cut++) {
		char *buf = malloc(cut + 64);
		memcpy(buf, full, cut);
		size_t n = cut + (size_t)sprintf(buf + cut, "\n\x1eWSPH X 11\n");
		struct wsph_case c;
		parse(buf, n, WSPH_CHILD_EXITED, 0, &c);
		cr_assert_eq(c.outcome, WSPH_ERROR);
		cr_assert_eq(wsph_case_n_events(&c), 1, "cut at %zu of %zu", cut - start,
			     line - start);
		case_free(&c);
		free(buf);
	}
	free(full);
}

/* The provider's own bytes written in the middle of an event line spoil it: dropped. */
Test(caseio, bytes_mixed_into_a_record_spoil_it)
{
	size_t len;
	char *full = stream(1, 1, &len);
	char *v = strstr(full, "\x1eWSPH V ");
	cr_assert_not_null(v);
	for (size_t at = 8; at < 300; at += 37) {
		char *buf = malloc(len + 8);
		size_t off = (size_t)(v - full) + at;
		memcpy(buf, full, off);
		memcpy(buf + off, "0", 1);
		memcpy(buf + off + 1, full + off, len - off);
		struct wsph_case c;
		parse(buf, len + 1, WSPH_CHILD_EXITED, 0, &c);
		cr_assert_eq(wsph_case_n_events(&c), 0, "at %zu", at);
		case_free(&c);
		free(buf);
	}
	free(full);
}

/* The parent reads as the bytes come, in pieces of any size. */
Test(caseio, the_reader_takes_the_stream_in_pieces)
{
	size_t len;
	char *full = stream(50, 1, &len);
	for (size_t piece = 1; piece < 400; piece = piece * 3 + 1) {
		struct wsph_scenario sc;
		memset(&sc, 0, sizeof sc);
		struct wsph_caseio_reader *r = wsph_caseio_reader_new(NULL, &sc, 0);
		char *pending = malloc(len + 1);
		size_t have = 0, fed = 0;
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
	struct wsph_caseio_reader *r = wsph_caseio_reader_new(NULL, &sc, 1000);
	char line[64];
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(line, sizeof line, "line %d\n", i);
		cr_assert_eq(wsph_caseio_reader_feed(r, line, (size_t)n, 0), (size_t)n);
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
