/* Unit tests of the error-table loader (errtable.c) and the bundled scenarios/errors.yaml. */
#include "errtable.h"
#include "fn.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E WSPH_TEST_DATA "/errtable/"

static struct wsph_errtable t;

static void fini(void)
{
	wsph_errtable_free(&t);
}

TestSuite(errtable, .fini = fini);

static int code_of(const char *name)
{
	int c = -1;
	cr_assert_eq(wsph_error_by_name(name, &c), 0, "%s", name);
	return c;
}

Test(errtable, good_file)
{
	struct wsph_diag diag;
	cr_assert_eq(wsph_errtable_load(&t, E "good.yaml", &diag), 0, "%s", diag.text);
	const struct wsph_errtable_entry *r = &t.fn[WSPH_FN_WSPRECV];
	cr_assert(r->present);
	cr_expect_str_eq(r->source,
			 "https://learn.microsoft.com/en-us/windows/win32/api/ws2spi/nc-ws2spi-lpwsprecv");
	cr_assert_eq(r->n_codes, 3);
	cr_expect_eq(r->codes[0], code_of("WSAENETDOWN"));
	cr_expect_eq(r->codes[2], 997);
	cr_expect_eq(r->loc.file, t.path);
	cr_expect_eq(r->loc.line, 3);
	cr_expect_eq(r->loc.col, 5);
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPRECV, code_of("WSAENOTCONN")), 1);
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPRECV, code_of("WSAEDESTADDRREQ")), 0);
	/* also_codes_of: the operation's codes count for WSPGetOverlappedResult, not the reverse */
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPGETOVERLAPPEDRESULT,
					     code_of("WSAENETDOWN")), 1);
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPGETOVERLAPPEDRESULT,
					     code_of("WSAEINVAL")), 0);
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPRECV, code_of("WSA_IO_INCOMPLETE")), 0);
	/* not found, or not in the file at all: nothing is known */
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPJOINLEAF, code_of("WSAEINVAL")), -1);
	cr_expect_eq(wsph_errtable_documents(&t, WSPH_FN_WSPBIND, code_of("WSAEINVAL")), -1);
	cr_expect_eq(wsph_errtable_documents(NULL, WSPH_FN_WSPRECV, code_of("WSAEINVAL")), -1);
	char buf[256];
	cr_expect_str_eq(wsph_errtable_list_text(&t, WSPH_FN_WSPGETOVERLAPPEDRESULT, buf, sizeof buf),
			 "WSA_IO_INCOMPLETE, WSAENOTSOCK; also the codes of WSPRecv");
	char small[16];
	cr_expect_str_eq(wsph_errtable_list_text(&t, WSPH_FN_WSPRECV, small, sizeof small),
			 "WSAENETDOWN,...");
}

static void expect_error(const char *text, const char *want)
{
	struct wsph_diag diag;
	cr_assert_eq(wsph_errtable_load_string(&t, "mem.yaml", text, strlen(text), &diag), -1,
		     "accepted: %s", text);
	cr_expect_str_eq(diag.text, want);
}

Test(errtable, malformed_files)
{
	struct wsph_diag diag;
	cr_assert_eq(wsph_errtable_load(&t, E "bad-code.yaml", &diag), -1);
	cr_expect_str_eq(diag.text, E "bad-code.yaml:4:26: each 'codes' item must be a Winsock error "
				     "name like WSAENOTSOCK (found 'WSAENOTACODE')");
	cr_assert_eq(wsph_errtable_load(&t, E "duplicate.yaml", &diag), -1);
	cr_expect_str_eq(diag.text, E "duplicate.yaml:5:15: duplicate entry for 'WSPBind' (first at "
				     "line 2, column 5)");
	cr_assert_eq(wsph_errtable_load(&t, E "missing.yaml", &diag), -1);
	expect_error("functions:\n  - function: WPUCloseEvent\n    source: x\n    codes: []\n",
		     "mem.yaml:2:15: 'function' must name a WSP function like WSPSend (found "
		     "'WPUCloseEvent')");
	expect_error("functions:\n  - function: WSPBind\n    source: x\n    codes: [10022]\n",
		     "mem.yaml:4:13: each 'codes' item must be a Winsock error name like "
		     "WSAENOTSOCK (found '10022')");
	expect_error("functions:\n  - function: WSPBind\n    source: x\n    codes: [WSAEINVAL, "
		     "WSAEINVAL]\n",
		     "mem.yaml:4:24: WSAEINVAL is listed twice for WSPBind (first as item 1)");
	expect_error("functions:\n  - function: WSPBind\n    source: not found\n    codes: "
		     "[WSAEINVAL]\n",
		     "mem.yaml:4:12: codes for WSPBind, whose page was not found");
	expect_error("functions:\n  - function: WSPBind\n    codes: []\n",
		     "mem.yaml:2:5: missing required key 'source' in error table entry");
	expect_error("functions:\n  - function: WSPBind\n    source: x\n    codes: []\n    meaning: x\n",
		     "mem.yaml:5:5: unknown key 'meaning' in error table entry (expected one of: "
		     "function, source, codes, also_codes_of, note)");
	expect_error("functions:\n  - function: WSPBind\n    source: x\n    codes: []\n"
		     "    also_codes_of: [WSPBind]\n",
		     "mem.yaml:5:21: 'also_codes_of' of WSPBind names WSPBind itself");
	expect_error("functions: []\n", "mem.yaml:1:12: 'functions' must not be empty");
}

/* The bundled table names every WSP function, each with its page and a nonempty list. */
Test(errtable, bundled_table_is_complete)
{
	struct wsph_diag diag;
	struct wsph_errtable *bt = NULL;
	cr_assert_eq(wsph_errtable_load_beside(WSPH_SOURCE_ROOT "/scenarios/rules.yaml", &bt, &diag),
		     0, "%s", diag.text);
	cr_assert_not_null(bt);
	for (int fn = 0; fn < WSPH_FN_FIRST_WPU; fn++) {
		const struct wsph_errtable_entry *e = &bt->fn[fn];
		cr_expect(e->present, "%s is missing", wsph_fn_name((enum wsph_fn)fn));
		if (!e->present)
			continue;
		cr_expect(e->n_codes > 0, "%s has no codes", wsph_fn_name((enum wsph_fn)fn));
		cr_expect_eq(strncmp(e->source,
				     "https://learn.microsoft.com/en-us/windows/win32/api/ws2spi/", 59),
			     0, "%s: %s", wsph_fn_name((enum wsph_fn)fn), e->source);
	}
	/* spot checks against the pages */
	cr_expect_eq(wsph_errtable_documents(bt, WSPH_FN_WSPCLEANUP, code_of("WSANOTINITIALISED")), 1);
	cr_expect_eq(wsph_errtable_documents(bt, WSPH_FN_WSPGETPEERNAME, code_of("WSAENOTCONN")), 1);
	cr_expect_eq(wsph_errtable_documents(bt, WSPH_FN_WSPBIND, code_of("WSA_IO_PENDING")), 0);
	cr_expect_eq(wsph_errtable_documents(bt, WSPH_FN_WSPGETOVERLAPPEDRESULT,
					     code_of("WSA_OPERATION_ABORTED")), 1);
	wsph_errtable_free(bt);
	free(bt);
	/* No errors.yaml next to the rules: no table, no error. */
	cr_assert_eq(wsph_errtable_load_beside(WSPH_TEST_DATA "/rules/good.yaml", &bt, &diag), 0,
		     "%s", diag.text);
	cr_expect_null(bt);
}
