/* Unit tests of the YAML tree (yamlutil.c) and the scenario loader (scenario.c). */
#include "fn.h"
#include "scenario.h"
#include "yamlutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D WSPH_TEST_DATA
#define S WSPH_TEST_DATA "/scenarios/"

/* ---- the YAML tree ---- */

static int load_text(struct wsph_yaml_doc *doc, const char *text, struct wsph_diag *diag)
{
	memset(diag, 0, sizeof *diag);
	return wsph_yaml_load_string(doc, "t.yaml", text, strlen(text), diag);
}

/* Expects `text` to fail with exactly `message`. */
static void expect_yaml_error(const char *text, size_t len, const char *message)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;

	memset(&diag, 0, sizeof diag);
	cr_expect_eq(wsph_yaml_load_string(&doc, "t.yaml", text, len, &diag), -1, "%s", message);
	cr_expect_str_eq(diag.text, message);
	cr_expect_null(doc.root);
}

#define EXPECT_YAML_ERROR(text, message) expect_yaml_error(text, sizeof(text) - 1, message)

Test(yaml, tree_keeps_structure_and_positions)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	const struct wsph_yaml_node *r, *v;

	cr_assert_eq(load_text(&doc, "# comment\na: 1\nlist:\n  - x\n  - {k: 'q'}\nnone:\n", &diag),
		     0, "%s", diag.text);
	r = doc.root;
	cr_expect_eq(r->type, WSPH_YAML_MAPPING);
	cr_expect_str_eq(r->file, "t.yaml");
	cr_expect_eq(r->line, 2);
	cr_expect_eq(r->col, 1);
	cr_assert_eq(r->n_pairs, 3);
	cr_expect_str_eq(r->pairs[0].key->text, "a");
	v = wsph_yaml_get(r, "a");
	cr_expect_str_eq(v->text, "1");
	cr_expect(v->plain);
	cr_expect_eq(v->line, 2);
	cr_expect_eq(v->col, 4);
	v = wsph_yaml_get(r, "list");
	cr_assert_eq(v->type, WSPH_YAML_SEQUENCE);
	cr_assert_eq(v->n_items, 2);
	cr_expect_eq(v->items[0]->line, 4);
	cr_expect_eq(v->items[0]->col, 5);
	cr_expect_eq(v->items[1]->type, WSPH_YAML_MAPPING);
	cr_expect_eq(v->items[1]->col, 5);
	v = wsph_yaml_get(v->items[1], "k");
	cr_expect_str_eq(v->text, "q");
	cr_expect_not(v->plain);
	cr_expect_not(wsph_yaml_is_null(v));
	cr_expect(wsph_yaml_is_null(wsph_yaml_get(r, "none")));
	cr_expect_eq(wsph_yaml_get_key(r, "none")->line, 6);
	cr_expect_null(wsph_yaml_get(r, "missing"));
	wsph_yaml_free(&doc);
	cr_expect_null(doc.root);
}

Test(yaml, nulls_are_plain_only)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	const struct wsph_yaml_node *r;

	cr_assert_eq(load_text(&doc, "a: ~\nb: null\nc: NULL\nd: ''\ne: \"null\"\nf: nil\n", &diag),
		     0);
	r = doc.root;
	cr_expect(wsph_yaml_is_null(wsph_yaml_get(r, "a")));
	cr_expect(wsph_yaml_is_null(wsph_yaml_get(r, "b")));
	cr_expect(wsph_yaml_is_null(wsph_yaml_get(r, "c")));
	cr_expect_not(wsph_yaml_is_null(wsph_yaml_get(r, "d")));
	cr_expect_not(wsph_yaml_is_null(wsph_yaml_get(r, "e")));
	cr_expect_not(wsph_yaml_is_null(wsph_yaml_get(r, "f")));
	wsph_yaml_free(&doc);
}

Test(yaml, scalars_keep_embedded_nul_bytes)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	const struct wsph_yaml_node *v;

	cr_assert_eq(load_text(&doc, "a: \"x\\0y\"\n", &diag), 0);
	v = wsph_yaml_get(doc.root, "a");
	cr_expect_eq(v->len, 3);
	cr_expect_eq(memcmp(v->text, "x\0y", 4), 0);
	wsph_yaml_free(&doc);
}

Test(yaml, syntax_errors_are_located_at_the_problem)
{
	EXPECT_YAML_ERROR("a: [1\nb: 2\n",
			  "t.yaml:2:2: YAML syntax error: did not find expected ',' or ']' (while "
			  "parsing a flow sequence at line 1, column 4)");
	EXPECT_YAML_ERROR("a: 1\n  b: 2\n",
			  "t.yaml:2:4: YAML syntax error: mapping values are not allowed in this "
			  "context");
	EXPECT_YAML_ERROR("a: \"x\n",
			  "t.yaml:2:1: YAML syntax error: found unexpected end of stream (while "
			  "scanning a quoted scalar at line 1, column 4)");
}

Test(yaml, anchors_aliases_and_tags_are_rejected)
{
	EXPECT_YAML_ERROR("a: 1\nb: *x\n", "t.yaml:2:4: aliases are not supported");
	EXPECT_YAML_ERROR("a: &x 1\n", "t.yaml:1:4: anchors are not supported (found '&x')");
	EXPECT_YAML_ERROR("a: &s [1]\n", "t.yaml:1:4: anchors are not supported (found '&s')");
	EXPECT_YAML_ERROR("a: !!str 1\n",
			  "t.yaml:1:4: tags are not supported (found 'tag:yaml.org,2002:str')");
	EXPECT_YAML_ERROR("a: !m {}\n", "t.yaml:1:4: tags are not supported (found '!m')");
}

Test(yaml, empty_and_non_mapping_documents_fail_at_1_1)
{
	EXPECT_YAML_ERROR("", "t.yaml:1:1: the file is empty (expected a mapping)");
	EXPECT_YAML_ERROR("# only\n# comments\n",
			  "t.yaml:1:1: the file is empty (expected a mapping)");
	EXPECT_YAML_ERROR("---\n", "t.yaml:1:1: the document must be a mapping (found null)");
	EXPECT_YAML_ERROR("\n\n- a\n",
			  "t.yaml:1:1: the document must be a mapping (found a sequence)");
	EXPECT_YAML_ERROR("hello\n", "t.yaml:1:1: the document must be a mapping (found 'hello')");
}

Test(yaml, duplicate_keys_fail_at_the_second)
{
	EXPECT_YAML_ERROR("a: 1\nb:\n  c: 1\n  'c': 2\n",
			  "t.yaml:4:3: duplicate key 'c' (first at line 3, column 3)");
	EXPECT_YAML_ERROR("{a: 1, a: 2}\n",
			  "t.yaml:1:8: duplicate key 'a' (first at line 1, column 2)");
}

Test(yaml, keys_must_be_scalars)
{
	EXPECT_YAML_ERROR("? [a]\n: 1\n",
			  "t.yaml:1:3: mapping keys must be scalars (found a sequence)");
}

Test(yaml, only_one_document)
{
	EXPECT_YAML_ERROR("a: 1\n---\nb: 2\n", "t.yaml:2:1: multiple documents are not supported");
	EXPECT_YAML_ERROR("a: 1\n...\n---\nb: 2\n",
			  "t.yaml:3:1: multiple documents are not supported");
}

Test(yaml, invalid_utf8_is_located)
{
	EXPECT_YAML_ERROR("a: 1\nb: \xff\n",
			  "t.yaml:2:4: invalid text: invalid leading UTF-8 octet (0xFF)");
	/* Columns count characters, CRLF is one line break, and a bad trailing octet is located
	 * at that octet. */
	EXPECT_YAML_ERROR("a: 1\r\nb: \xc3\xa9\xc3\xa9\xc3(\n",
			  "t.yaml:2:7: invalid text: invalid trailing UTF-8 octet (0x28)");
	EXPECT_YAML_ERROR("a: \xe9", "t.yaml:1:4: invalid text: incomplete UTF-8 octet sequence");
	EXPECT_YAML_ERROR("a: x\x01y\n",
			  "t.yaml:1:5: invalid text: control characters are not allowed (0x01)");
}

Test(yaml, a_utf8_byte_order_mark_is_skipped)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;

	cr_assert_eq(load_text(&doc,
			       "\xEF\xBB\xBF"
			       "a: 1\n",
			       &diag),
		     0, "%s", diag.text);
	cr_expect_eq(wsph_yaml_get(doc.root, "a")->col, 4);
	wsph_yaml_free(&doc);
}

static char *nested(int levels)
{
	char *s = malloc((size_t)levels * 2 + 16), *p = s;
	int i;

	p += sprintf(p, "a: ");
	for (i = 1; i < levels; i++)
		*p++ = '[';
	for (i = 1; i < levels; i++)
		*p++ = ']';
	strcpy(p, "\n");
	return s;
}

Test(yaml, nesting_is_capped_at_64)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	char *ok = nested(64), *deep = nested(65);

	cr_expect_eq(load_text(&doc, ok, &diag), 0, "%s", diag.text);
	wsph_yaml_free(&doc);
	cr_expect_eq(load_text(&doc, deep, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:1:67: nesting deeper than 64 levels is not supported");
	free(ok);
	free(deep);
}

static char *long_scalar(size_t n)
{
	char *s = malloc(n + 8);

	memcpy(s, "a: ", 3);
	memset(s + 3, 'x', n);
	strcpy(s + 3 + n, "\n");
	return s;
}

Test(yaml, scalars_are_capped_at_64_kib)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	char *ok = long_scalar(65536), *big = long_scalar(65537);

	cr_expect_eq(load_text(&doc, ok, &diag), 0, "%s", diag.text);
	cr_expect_eq(wsph_yaml_get(doc.root, "a")->len, 65536);
	wsph_yaml_free(&doc);
	cr_expect_eq(load_text(&doc, big, &diag), -1);
	cr_expect_str_eq(
		diag.text,
		"t.yaml:1:4: scalar of 65537 bytes is longer than the limit of 65536 bytes");
	free(ok);
	free(big);
}

Test(yaml, files_that_cannot_be_opened)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;

	cr_expect_eq(wsph_yaml_load_file(&doc, D "/no-such-file.yaml", &diag), -1);
	cr_expect_str_eq(diag.text, D "/no-such-file.yaml: cannot open: No such file or directory");
}

Test(yaml, integers)
{
	long long v;

	cr_expect_eq(wsph_yaml_parse_integer("42", 2, &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(wsph_yaml_parse_integer("-7", 2, &v), 0);
	cr_expect_eq(v, -7);
	cr_expect_eq(wsph_yaml_parse_integer("+7", 2, &v), 0);
	cr_expect_eq(v, 7);
	cr_expect_eq(wsph_yaml_parse_integer("0x8004667E", 10, &v), 0);
	cr_expect_eq(v, 0x8004667eLL);
	cr_expect_eq(wsph_yaml_parse_integer("9223372036854775807", 19, &v), 0);
	cr_expect_eq(v, 9223372036854775807LL);
	cr_expect_eq(wsph_yaml_parse_integer("-9223372036854775808", 20, &v), 0);
	cr_expect_eq(v, -9223372036854775807LL - 1);
	cr_expect_eq(wsph_yaml_parse_integer("9223372036854775808", 19, &v), -1);
	cr_expect_eq(wsph_yaml_parse_integer("", 0, &v), -1);
	cr_expect_eq(wsph_yaml_parse_integer("-", 1, &v), -1);
	cr_expect_eq(wsph_yaml_parse_integer("0x", 2, &v), -1);
	cr_expect_eq(wsph_yaml_parse_integer("1.5", 3, &v), -1);
	cr_expect_eq(wsph_yaml_parse_integer("12a", 3, &v), -1);
	cr_expect_eq(wsph_yaml_parse_integer(" 1", 2, &v), -1);
}

Test(yaml, typed_accessors_explain_what_they_found)
{
	static const char *const allowed[] = {"as", "type", NULL};
	static const char *const types[] = {"stream", "dgram", NULL};
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	const struct wsph_yaml_node *r, *v;
	long long ll;
	char *s;
	int idx;

	cr_assert_eq(load_text(&doc,
			       "m: {as: a, tpye: x}\nq: [1]\nn:\ni: 0x10\nw: wide\nz: \"a\\0b\"\n"
			       "long: "
			       "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
			       "klmnop\n",
			       &diag),
		     0);
	r = doc.root;
	v = wsph_yaml_get(r, "m");
	cr_expect_eq(wsph_yaml_check_keys(v, allowed, "'socket' step", &diag), -1);
	cr_expect_str_eq(
		diag.text,
		"t.yaml:1:12: unknown key 'tpye' in 'socket' step (expected one of: as, type)");
	cr_expect_eq(wsph_yaml_require(v, "type", "'socket' step", &v, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:1:4: missing required key 'type' in 'socket' step");
	cr_expect_eq(wsph_yaml_want_mapping(wsph_yaml_get(r, "q"), "'q'", &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:2:4: 'q' must be a mapping (found a sequence)");
	cr_expect_eq(wsph_yaml_want_sequence(wsph_yaml_get(r, "n"), "'n'", 0, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:3:3: 'n' must be a sequence (found null)");
	cr_expect_eq(wsph_yaml_want_string(wsph_yaml_get(r, "q"), "'q'", &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:2:4: 'q' must be a string (found a sequence)");
	cr_expect_eq(wsph_yaml_dup_string(wsph_yaml_get(r, "z"), "'z'", &s, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:6:4: 'z' must not contain a NUL character");
	cr_expect_null(s);
	cr_expect_eq(wsph_yaml_dup_string(wsph_yaml_get(r, "w"), "'w'", &s, &diag), 0);
	cr_expect_str_eq(s, "wide");
	free(s);
	cr_expect_eq(wsph_yaml_integer(wsph_yaml_get(r, "i"), "'i'", 0, 100, &ll, &diag), 0);
	cr_expect_eq(ll, 16);
	cr_expect_eq(wsph_yaml_integer(wsph_yaml_get(r, "i"), "'i'", 0, 15, &ll, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:4:4: 'i' must be in 0..15 (found '0x10')");
	cr_expect_eq(wsph_yaml_integer(wsph_yaml_get(r, "w"), "'w'", 0, 15, &ll, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:5:4: 'w' must be an integer (found 'wide')");
	cr_expect_eq(wsph_yaml_enum(wsph_yaml_get(r, "w"), "'type'", types, &idx, &diag), -1);
	cr_expect_str_eq(diag.text,
			 "t.yaml:5:4: 'type' must be one of: stream, dgram (found 'wide')");
	/* Long values are cut at 60 bytes in messages. */
	cr_expect_eq(wsph_yaml_want_mapping(wsph_yaml_get(r, "long"), "'long'", &diag), -1);
	cr_expect_str_eq(diag.text,
			 "t.yaml:7:7: 'long' must be a mapping (found "
			 "'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij...')");
	wsph_yaml_free(&doc);
}

/* ---- scenario files ---- */

static struct wsph_suite suite;

static void suite_fini(void)
{
	wsph_suite_free(&suite);
}

TestSuite(scenario, .fini = suite_fini);

static const struct wsph_scenario *load_good(void)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_file(&suite, S "good.yaml", D, &diag), 0, "%s", diag.text);
	cr_assert_eq(suite.n_scenarios, 2);
	return suite.scenarios;
}

Test(scenario, good_file_first_scenario)
{
	const struct wsph_scenario *sc = load_good();
	const struct wsph_step *st = sc->steps;

	cr_expect_eq(suite.n_files, 1);
	cr_expect_str_eq(suite.files[0], S "good.yaml");
	cr_expect_eq(sc->file, suite.files[0]);
	cr_expect_eq(sc->loc.file, suite.files[0]);
	cr_expect_eq(sc->loc.line, 3);
	cr_expect_eq(sc->loc.col, 5);
	cr_expect_str_eq(sc->classname, "wspharness.scenarios.good");
	cr_expect_eq(sc->classname, suite.classnames[0]);
	cr_expect_str_eq(sc->name, "create-and-close");
	cr_expect_str_eq(sc->description, "One socket is created and closed.");
	cr_expect_eq(sc->kinds, WSPH_KIND_NONIFS);
	cr_assert_eq(sc->n_checks, 2);
	cr_expect_str_eq(sc->checks[0], "WPU.CreateSocketHandle.BeforeReturn");
	cr_expect_str_eq(sc->checks[1], "WPU.CloseSocketHandle.OnClose");
	cr_expect_eq(sc->check_locs[1].line, 6);
	cr_expect_eq(sc->check_locs[1].col, 51);
	cr_expect_eq(sc->modify_ifs_same, 1);

	cr_assert_eq(sc->n_faults, 2);
	cr_expect_eq(sc->faults[0].upcall, WSPH_FN_WPUCREATESOCKETHANDLE);
	cr_expect_eq(sc->faults[0].call, 2);
	cr_expect_eq(sc->faults[0].error, 10055);
	cr_expect_eq(sc->faults[0].loc.line, 10);
	cr_expect_eq(sc->faults[1].upcall, WSPH_FN_WPUCLOSESOCKETHANDLE);
	cr_expect_eq(sc->faults[1].call, 1);
	cr_expect_eq(sc->faults[1].error, 10038);

	cr_assert_eq(sc->n_steps, 5);
	cr_expect_eq(st[0].op, WSPH_OP_STARTUP);
	cr_expect_eq(st[0].version, 0x0202);
	cr_expect_eq(st[0].table, 0);
	cr_expect_eq(st[0].loc.line, 16);
	cr_expect_eq(st[0].loc.col, 9);
	cr_expect_eq(st[0].loc.file, suite.files[0]);
	cr_expect_eq(st[1].op, WSPH_OP_SOCKET);
	cr_expect_str_eq(st[1].as, "a");
	cr_expect_null(st[1].socket);
	cr_expect_eq(st[1].sock_type, 1);
	cr_expect_eq(st[1].expect, WSPH_EXPECT_OK);
	cr_expect_null(st[1].rule);
	cr_expect_eq(st[2].op, WSPH_OP_SEND);
	cr_expect_str_eq(st[2].socket, "a");
	cr_expect(st[2].has_data);
	cr_expect_eq(st[2].data_len, 1);
	cr_expect_eq(st[2].data[0], 'x');
	cr_expect_eq(st[2].expect, 10057);
	cr_expect_str_eq(st[2].rule, "SPI.Errno.OnFailure");
	cr_expect_eq(st[2].rule_loc.line, 20);
	cr_expect_eq(st[2].rule_loc.col, 15);
	cr_expect_eq(st[3].op, WSPH_OP_CLOSE);
	cr_expect_eq(st[4].op, WSPH_OP_CLEANUP);
	cr_expect_eq(st[4].loc.line, 22);
}

Test(scenario, good_file_every_operation)
{
	const struct wsph_scenario *sc = load_good() + 1;
	const struct wsph_step *st = sc->steps;

	cr_expect_str_eq(sc->name, "every.op_2");
	cr_expect_null(sc->description);
	cr_expect_eq(sc->kinds, WSPH_KIND_ALL);
	cr_expect_eq(sc->n_faults, 0);
	cr_expect_eq(sc->modify_ifs_same, 1); /* the default: the proposed handle, as ws2_32 */
	cr_assert_eq(sc->n_steps, 26);
	cr_expect_eq(st[0].version, 0x0101);
	cr_expect_eq(st[0].table, 1);
	cr_expect_eq(st[2].sock_type, 2);
	cr_expect_eq(st[3].op, WSPH_OP_BIND);
	cr_expect_str_eq(st[3].addr, "127.0.0.1:5000");
	cr_expect_eq(st[4].op, WSPH_OP_LISTEN);
	cr_expect_eq(st[4].backlog, 7);
	cr_expect_eq(st[6].op, WSPH_OP_CONNECT);
	cr_expect_str_eq(st[6].addr, "127.0.0.1:5000");
	cr_expect_eq(st[7].op, WSPH_OP_ACCEPT);
	cr_expect_str_eq(st[7].socket, "l");
	cr_expect_str_eq(st[7].as, "s");
	cr_expect_eq(st[8].data_len, 8);
	cr_expect_eq(memcmp(st[8].data, "hi\0there", 8), 0);
	cr_expect_eq(st[9].op, WSPH_OP_RECV);
	cr_expect_eq(st[9].len, 8);
	cr_expect(st[9].has_data);
	cr_expect_eq(st[10].len, 1024);
	cr_expect_not(st[10].has_data);
	cr_expect_eq(st[10].expect, 10035);
	cr_expect_eq(st[11].op, WSPH_OP_SENDTO);
	cr_expect_str_eq(st[11].addr, "10.0.0.255:0");
	cr_expect(st[11].has_data);
	cr_expect_eq(st[11].data_len, 0);
	cr_expect_eq(st[12].op, WSPH_OP_RECVFROM);
	cr_expect_eq(st[12].len, 65536);
	cr_expect_eq(st[12].expect, WSPH_EXPECT_ANY);
	cr_expect_eq(st[13].how, 1);
	cr_expect_eq(st[14].how, 2);
	cr_expect_eq(st[15].op, WSPH_OP_GETSOCKOPT);
	cr_expect_eq(st[15].level, 0xffff);
	cr_expect_eq(st[15].option, 0x1008);
	cr_expect(st[15].has_value);
	cr_expect_eq(st[15].value, 1);
	cr_expect_eq(st[16].level, 6);
	cr_expect_eq(st[16].option, 1);
	cr_expect_not(st[16].has_value);
	cr_expect_eq(st[17].op, WSPH_OP_SETSOCKOPT);
	cr_expect_eq(st[17].option, 0x1002);
	cr_expect_eq(st[17].value, 0x10000);
	cr_expect_eq(st[18].option, -129); /* 0xffffff7f: SO_DONTLINGER as a Winsock int */
	cr_expect_eq(st[18].value, -1);
	cr_expect_eq(st[19].op, WSPH_OP_IOCTL);
	cr_expect_eq(st[19].command, 0x8004667eUL);
	cr_expect(st[19].has_value);
	cr_expect_eq(st[19].value, 1);
	cr_expect_not(st[19].has_result);
	cr_expect_eq(st[20].command, 0x4004667fUL);
	cr_expect(st[20].has_result);
	cr_expect_eq(st[20].result, 0);
	cr_expect_eq(st[21].command, 0x12345678UL);
	cr_expect_eq(st[21].expect, WSPH_EXPECT_FAILURE);
	cr_expect_eq(st[22].op, WSPH_OP_GETSOCKNAME);
	cr_expect_eq(st[23].op, WSPH_OP_GETPEERNAME);
	cr_expect_str_eq(st[23].socket, "bogus");
	cr_expect_eq(st[23].expect, 10038);
	cr_expect_eq(st[24].expect, 10038);
	cr_expect_eq(st[25].op, WSPH_OP_CLEANUP);
}

Test(scenario, classname_is_the_path_under_root)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/tree/a/x.yaml", D "/tree", &diag), 0);
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/tree/a/y.yaml", D "/tree/", &diag), 0);
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/tree/b.yaml", NULL, &diag), 0);
	cr_assert_eq(wsph_scenario_load_file(&suite, D "/tree/a/x.yaml", D "/other", &diag), 0);
	cr_assert_eq(suite.n_scenarios, 4);
	cr_expect_eq(suite.n_files, 4);
	cr_expect_eq(suite.n_classnames, 4);
	cr_expect_str_eq(suite.scenarios[0].classname, "wspharness.a.x");
	cr_expect_str_eq(suite.scenarios[1].classname, "wspharness.a.y");
	cr_expect_str_eq(suite.scenarios[2].classname, "wspharness.b");
	cr_expect_str_eq(suite.scenarios[3].classname, "wspharness.x");
	cr_expect_eq(suite.scenarios[2].file, suite.files[2]);
}

Test(scenario, op_names_are_the_yaml_keys)
{
	static const char *const names[] = {
		"startup",  "cleanup",	  "socket",	"bind",	  "listen",	 "connect",
		"accept",   "send",	  "recv",	"sendto", "recvfrom",	 "close",
		"shutdown", "getsockopt", "setsockopt", "ioctl",  "getsockname", "getpeername",
		"asyncselect", "eventselect", "enumnetworkevents", "select", "waitmessage",
		"waitevent", "alertable", "complete", "getoverlappedresult", "arrive",
		"cancelblockingcall", "parallel", "barrier", "blocked"};
	int i;

	cr_assert_eq(sizeof names / sizeof names[0], WSPH_OP_COUNT);
	for (i = 0; i < WSPH_OP_COUNT; i++)
		cr_expect_str_eq(wsph_op_name((enum wsph_op)i), names[i]);
	cr_expect_str_eq(wsph_op_name(WSPH_OP_COUNT), "?");
}

/* Each bad file and the one message it must produce. */
static const struct {
	const char *file;
	const char *message;
} bad_files[] = {
	{"bad-key.yaml",
	 ":5:18: unknown key 'sokcet' in 'socket' step (expected one of: as, type)"},
	{"bad-syntax.yaml", ":4:10: YAML syntax error: did not find expected ',' or ']' (while "
			    "parsing a flow sequence at line 3, column 13)"},
	{"bad-utf8.yaml", ":2:14: invalid text: incomplete UTF-8 octet sequence"},
	{"alias.yaml", ":7:13: aliases are not supported"},
	{"empty.yaml", ":1:1: the file is empty (expected a mapping)"},
	{"not-mapping.yaml", ":1:1: the document must be a mapping (found a sequence)"},
	{"dup-key.yaml", ":6:5: duplicate key 'name' (first at line 2, column 5)"},
	{"two-docs.yaml", ":6:1: multiple documents are not supported"},
	{"top-unknown.yaml",
	 ":1:1: unknown key 'scenario' in the top-level mapping (expected one of: scenarios)"},
	{"no-scenarios.yaml", ":1:12: 'scenarios' must not be empty"},
	{"missing-name.yaml", ":2:5: missing required key 'name' in scenario"},
	{"bad-name.yaml", ":2:11: 'name' must match [A-Za-z0-9._-]+ (found 'has space')"},
	{"dup-name.yaml", ":6:11: duplicate scenario name 'same' (first at line 2, column 11)"},
	{"empty-checks.yaml", ":3:13: 'checks' must not be empty"},
	{"bad-check-id.yaml", ":3:45: each 'checks' item must be a rule ID like "
			      "SPI.Startup.ProcTableComplete (found 'spi.startup')"},
	{"bad-kind.yaml", ":3:21: each 'kinds' item must be one of: nonifs, ifs (found 'lsp')"},
	{"bad-upcalls.yaml",
	 ":5:26: 'modify_ifs_handle' must be one of: different, same (found 'identical')"},
	{"fault-not-upcall.yaml",
	 ":5:17: 'upcall' must name an upcall like WPUCreateSocketHandle (found 'WSPSocket')"},
	{"fault-call-zero.yaml", ":6:15: 'call' must be in 1..4294967295 (found '0')"},
	{"fault-no-error.yaml", ":5:9: missing required key 'error' in fault"},
	{"fault-bad-error.yaml",
	 ":6:16: 'error' must be a WSA error name or a number above 0 (found 'WSAENOBUF')"},
	{"step-two-ops.yaml",
	 ":7:9: step has two operations, 'socket' and 'close' (write one step for each)"},
	{"step-no-op.yaml",
	 ":6:9: step has no operation (expected one of: startup, cleanup, socket, bind, listen, "
	 "connect, accept, send, recv, sendto, recvfrom, close, shutdown, getsockopt, "
	 "setsockopt, ioctl, getsockname, getpeername, asyncselect, eventselect, "
	 "enumnetworkevents, select, waitmessage, waitevent, alertable, complete, "
	 "getoverlappedresult, arrive, cancelblockingcall, parallel, barrier, blocked)"},
	{"step-unknown.yaml",
	 ":7:9: unknown key 'expected' in step (expected one operation of: startup, cleanup, "
	 "socket, bind, listen, connect, accept, send, recv, sendto, recvfrom, close, shutdown, "
	 "getsockopt, setsockopt, ioctl, getsockname, getpeername, asyncselect, eventselect, "
	 "enumnetworkevents, select, waitmessage, waitevent, alertable, complete, "
	 "getoverlappedresult, arrive, cancelblockingcall, parallel, barrier, blocked; and optionally "
	 "expect, rule, "
	 "control)"},
	{"step-args-seq.yaml",
	 ":6:17: the arguments of 'socket' must be a mapping (found a sequence)"},
	{"step-cleanup-args.yaml",
	 ":6:19: unknown key 'now' in 'cleanup' step (it takes no arguments)"},
	{"step-missing.yaml", ":7:9: missing required key 'addr' in 'bind' step"},
	{"step-missing-null.yaml", ":6:9: missing required key 'socket' in 'close' step"},
	{"step-undefined.yaml", ":7:24: socket 'b' is not defined by an earlier step"},
	{"step-later.yaml", ":6:25: socket 'a' is not defined by an earlier step"},
	{"step-as-bogus.yaml", ":6:22: 'bogus' is reserved for a handle nobody issued and cannot "
			       "be bound with 'as'"},
	{"step-bad-ident.yaml",
	 ":6:22: 'as' must be a socket name matching [A-Za-z_][A-Za-z0-9_]* (found '1st')"},
	{"step-bad-type.yaml", ":6:31: 'type' must be one of: stream, dgram (found 'raw')"},
	{"step-bad-version.yaml",
	 ":6:28: 'version' must be major.minor with both in 0..255, like \"2.2\" (found '2.256')"},
	{"step-bad-addr.yaml", ":7:33: 'addr' must be an IPv4 address and port like "
			       "127.0.0.1:5000 (found '127.0.0.1:65536')"},
	{"step-bad-len.yaml", ":7:32: 'len' must be in 1..65536 (found '0')"},
	{"step-bad-how.yaml", ":7:36: 'how' must be one of: receive, send, both (found 'read')"},
	{"step-bad-option.yaml",
	 ":7:41: 'option' must be one of SO_DEBUG, SO_ACCEPTCONN, SO_REUSEADDR, SO_KEEPALIVE, "
	 "SO_BROADCAST, SO_LINGER, SO_OOBINLINE, SO_SNDBUF, SO_RCVBUF, SO_ERROR, SO_TYPE, or an "
	 "integer in -2147483648..4294967295 (found 'SO_LINGERING')"},
	{"step-bad-command.yaml", ":7:37: 'command' must be one of FIONBIO, FIONREAD, or an "
				  "integer in 0..4294967295 (found '-1')"},
	{"step-op-undefined.yaml", ":5:24: operation 'nope' is not defined by an earlier step"},
	{"step-expect-none.yaml",
	 ":7:17: 'expect: none' is for waitmessage, waitevent and complete steps only"},
	{"step-waitmessage-events.yaml",
	 ":6:9: missing required key 'events' in 'waitmessage' step (or 'expect: none')"},
	{"step-op-not-overlapped.yaml", ":6:9: 'op' needs 'overlapped: true' in 'recv' step"},
	{"bad-blocking.yaml", ":4:34: 'blocking_callback' must be one of: none, true, false, "
			      "cancel (found 'maybe')"},
	{"step-select-undefined.yaml", ":6:28: socket 't' is not defined by an earlier step"},
	{"step-event-undefined.yaml", ":5:28: event 'e' is not defined by an earlier step"},
	{"step-bad-expect.yaml",
	 ":7:17: 'expect' must be ok, any, failure, or a WSA error name or a number above 0 "
	 "(found 'WSAEWOULDBLOK')"},
	{"step-bad-rule.yaml", ":7:15: 'rule' must be a rule ID like "
			       "SPI.Startup.ProcTableComplete (found 'Errno')"},
	{"step-bad-data.yaml", ":7:33: 'data' must be a string (found a sequence)"},
	{"step-bad-backlog.yaml", ":7:38: 'backlog' must be an integer (found 'five')"},
};

Test(scenario, bad_files_fail_with_one_located_message)
{
	size_t i;

	for (i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
		struct wsph_suite s;
		struct wsph_diag diag;
		char want[1024];

		memset(&s, 0, sizeof s);
		memset(&diag, 0, sizeof diag);
		snprintf(want, sizeof want, "%s%s", S, bad_files[i].file);
		cr_expect_eq(wsph_scenario_load_file(&s, want, NULL, &diag), -1, "%s",
			     bad_files[i].file);
		snprintf(want, sizeof want, "%s%s%s", S, bad_files[i].file, bad_files[i].message);
		cr_expect_str_eq(diag.text, want, "%s", bad_files[i].file);
		/* A failed load leaves the suite as it was. */
		cr_expect_eq(s.n_files, 0, "%s", bad_files[i].file);
		cr_expect_eq(s.n_scenarios, 0, "%s", bad_files[i].file);
		wsph_suite_free(&s);
	}
}

Test(scenario, failed_load_keeps_what_was_loaded)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_file(&suite, S "good.yaml", NULL, &diag), 0);
	cr_expect_eq(wsph_scenario_load_file(&suite, S "step-later.yaml", NULL, &diag), -1);
	cr_expect_eq(suite.n_files, 1);
	cr_expect_eq(suite.n_classnames, 1);
	cr_expect_eq(suite.n_scenarios, 2);
	cr_expect_str_eq(suite.scenarios[1].name, "every.op_2");
}

Test(scenario, missing_file)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_expect_eq(wsph_scenario_load_file(&suite, S "nope.yaml", NULL, &diag), -1);
	cr_expect_str_eq(diag.text, S "nope.yaml: cannot open: No such file or directory");
}

/* ---- folders ---- */

Test(scenario, dir_loads_yaml_files_sorted_without_rules_yaml)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_dir(&suite, D "/tree", &diag), 0, "%s", diag.text);
	cr_assert_eq(suite.n_scenarios, 3);
	cr_expect_str_eq(suite.scenarios[0].file, D "/tree/a/x.yaml");
	cr_expect_str_eq(suite.scenarios[0].classname, "wspharness.a.x");
	cr_expect_str_eq(suite.scenarios[1].file, D "/tree/a/y.yaml");
	cr_expect_str_eq(suite.scenarios[1].classname, "wspharness.a.y");
	cr_expect_str_eq(suite.scenarios[2].file, D "/tree/b.yaml");
	cr_expect_str_eq(suite.scenarios[2].classname, "wspharness.b");
	cr_expect_str_eq(suite.scenarios[2].name, "b");
}

Test(scenario, dir_with_a_trailing_separator)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_dir(&suite, D "/tree/", &diag), 0, "%s", diag.text);
	cr_assert_eq(suite.n_scenarios, 3);
	cr_expect_str_eq(suite.scenarios[0].file, D "/tree/a/x.yaml");
	cr_expect_str_eq(suite.scenarios[0].classname, "wspharness.a.x");
}

Test(scenario, dir_stops_at_the_first_bad_file)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_expect_eq(wsph_scenario_load_dir(&suite, D "/tree-bad", &diag), -1);
	cr_expect_str_eq(diag.text,
			 D "/tree-bad/b.yaml:7:24: socket 'b' is not defined by an earlier step");
	cr_expect_eq(suite.n_scenarios, 1);
}

Test(scenario, dir_that_is_not_a_folder)
{
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_expect_eq(wsph_scenario_load_dir(&suite, D "/no-such-dir", &diag), -1);
	cr_expect_str_eq(diag.text, D "/no-such-dir: not a folder");
	cr_expect_eq(wsph_scenario_load_dir(&suite, S "good.yaml", &diag), -1);
	cr_expect_str_eq(diag.text, S "good.yaml: not a folder");
}

/* ---- hostile input: sizes that must load in linear time, limits, one-line messages ---- */

/* "bulk:" with n keys k0..k(n-1), then `last` as one more key. */
static char *many_keys(int n, const char *last)
{
	char *s = malloc((size_t)n * 24 + 64), *p = s;
	int i;

	p += sprintf(p, "bulk:\n");
	for (i = 0; i < n; i++)
		p += sprintf(p, "  k%d: %d\n", i, i);
	sprintf(p, "  %s: x\n", last);
	return s;
}

Test(yaml, duplicate_keys_in_a_huge_mapping_are_found)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	char *ok = many_keys(50000, "fresh"), *dup = many_keys(50000, "k12345");

	/* 50,000 keys: duplicate detection by comparing with every earlier key would take a
	 * second here (minutes for the million a file may hold). */
	cr_expect_eq(load_text(&doc, ok, &diag), 0, "%s", diag.text);
	cr_expect_eq(doc.root->pairs[0].value->n_pairs, 50001);
	wsph_yaml_free(&doc);
	cr_expect_eq(load_text(&doc, dup, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:50002:3: duplicate key 'k12345' (first at line 12347, "
				    "column 3)");
	free(ok);
	free(dup);
}

Test(yaml, nodes_are_capped)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	size_t items = WSPH_YAML_MAX_NODES, i;
	char *s = malloc(items * 2 + 16), *p = s;

	/* "a: [1,1,...]": the root, the key and the sequence are 3 nodes, so item 1048573 (from 0),
	 * at column 5 + 2 * 1048573, is node 1048577. */
	p += sprintf(p, "a: [");
	for (i = 0; i < items; i++)
		p += sprintf(p, "1,");
	strcpy(p - 1, "]\n");
	cr_expect_eq(load_text(&doc, s, &diag), -1);
	cr_expect_str_eq(diag.text,
			 "t.yaml:1:2097151: more than 1048576 nodes in one file are not supported");
	free(s);
}

Test(yaml, tags_and_anchors_are_shown_on_one_line)
{
	EXPECT_YAML_ERROR("a: !x%0Ay 1\n", "t.yaml:1:4: tags are not supported (found '!x?y')");
	EXPECT_YAML_ERROR("a: !<%F0%9F%98%80> 1\n",
			  "t.yaml:1:4: tags are not supported (found '\xF0\x9F\x98\x80')");
	EXPECT_YAML_ERROR("a: !taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1\n",
			  "t.yaml:1:4: tags are not supported (found "
			  "'!taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...')");
}

Test(yaml, integers_too_large_are_out_of_range)
{
	struct wsph_yaml_doc doc;
	struct wsph_diag diag;
	long long v;

	cr_assert_eq(load_text(&doc, "a: 99999999999999999999\nb: -0x8000000000000001\nc: 1e3\n",
			       &diag),
		     0);
	cr_expect_eq(wsph_yaml_integer(wsph_yaml_get(doc.root, "a"), "'a'", 0, 10, &v, &diag), -1);
	cr_expect_str_eq(diag.text,
			 "t.yaml:1:4: 'a' must be in 0..10 (found '99999999999999999999')");
	cr_expect_eq(wsph_yaml_integer(wsph_yaml_get(doc.root, "b"), "'b'", 0, 10, &v, &diag), -1);
	cr_expect_str_eq(diag.text,
			 "t.yaml:2:4: 'b' must be in 0..10 (found '-0x8000000000000001')");
	cr_expect_eq(wsph_yaml_integer(wsph_yaml_get(doc.root, "c"), "'c'", 0, 10, &v, &diag), -1);
	cr_expect_str_eq(diag.text, "t.yaml:3:4: 'c' must be an integer (found '1e3')");
	wsph_yaml_free(&doc);
}

Test(yaml, strset_adds_finds_and_grows)
{
	struct wsph_strset set = {NULL, 0, 0};
	static char names[1000][8];
	const void *found;
	int i;

	cr_expect_null(wsph_strset_find(&set, "x", 1));
	for (i = 0; i < 1000; i++) {
		snprintf(names[i], sizeof names[i], "n%d", i);
		cr_assert_eq(wsph_strset_add(&set, names[i], strlen(names[i]), names[i], &found),
			     0);
		cr_expect_null(found);
	}
	cr_expect_eq(set.n, 1000);
	cr_expect_eq(wsph_strset_add(&set, "n512", 4, "other", &found), 1);
	cr_expect_eq(found, names[512]);
	cr_expect_eq(wsph_strset_find(&set, "n999", 4), names[999]);
	cr_expect_null(wsph_strset_find(&set, "n1000", 5));
	cr_expect_null(wsph_strset_find(&set, "n5120", 5));
	cr_expect_eq(wsph_strset_add(&set, "", 0, "empty", NULL), 0);
	cr_expect_str_eq(wsph_strset_find(&set, "", 0), "empty");
	wsph_strset_free(&set);
	cr_expect_eq(set.cap, 0);
	cr_expect_null(wsph_strset_find(&set, "n1", 2));
}

Test(scenario, load_string_is_load_file_without_the_disk)
{
	static const char text[] = "scenarios:\n  - name: a\n    checks: [SPI.Errno.OnFailure]\n"
				   "    steps:\n      - startup:\n      - close: {socket: s}\n";
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_expect_eq(wsph_scenario_load_string(&suite, "mem.yaml", text, sizeof text - 1, NULL,
					       &diag),
		     -1);
	cr_expect_str_eq(diag.text, "mem.yaml:6:25: socket 's' is not defined by an earlier step");
	cr_expect_eq(suite.n_files, 0);
	/* The same text cut before the bad step loads. */
	cr_assert_eq(wsph_scenario_load_string(&suite, "mem.yaml", text,
					       (size_t)(strstr(text, "      - close") - text), NULL,
					       &diag),
		     0, "%s", diag.text);
	cr_expect_str_eq(suite.files[0], "mem.yaml");
	cr_expect_str_eq(suite.scenarios[0].classname, "wspharness.mem");
	cr_expect_eq(suite.scenarios[0].n_steps, 1);
	cr_expect_eq(wsph_scenario_load_string(&suite, "nul.yaml", NULL, 0, NULL, &diag), -1);
	cr_expect_str_eq(diag.text, "nul.yaml:1:1: the file is empty (expected a mapping)");
}

/* n scenarios s0..s(n-1), each with a socket bound once and used `uses` times, then `tail`. */
static char *many_scenarios(int n, int uses, const char *tail)
{
	size_t cap = (size_t)n * (96 + (size_t)uses * 28) + 256;
	char *s = malloc(cap), *p = s;
	int i, j;

	p += sprintf(p, "scenarios:\n");
	for (i = 0; i < n; i++) {
		p += sprintf(p, "  - name: s%d\n    checks: [SPI.Errno.OnFailure]\n    steps:\n"
				"      - socket: {as: a%d}\n",
			     i, i);
		for (j = 0; j < uses; j++)
			p += sprintf(p, "      - close: {socket: a%d}\n", i);
	}
	strcpy(p, tail);
	return s;
}

Test(scenario, duplicate_names_and_sockets_scale)
{
	struct wsph_diag diag;
	char *names =
		many_scenarios(10000, 0, "  - {name: s9999, checks: [A.B], steps: [cleanup: ]}\n");
	char *steps = many_scenarios(1, 20000, "      - close: {socket: b}\n");

	memset(&suite, 0, sizeof suite);
	cr_expect_eq(wsph_scenario_load_string(&suite, "n.yaml", names, strlen(names), NULL, &diag),
		     -1);
	cr_expect_str_eq(diag.text, "n.yaml:40002:12: duplicate scenario name 's9999' (first at "
				    "line 39998, column 11)");
	cr_expect_eq(wsph_scenario_load_string(&suite, "s.yaml", steps, strlen(steps), NULL, &diag),
		     -1);
	cr_expect_str_eq(diag.text,
			 "s.yaml:20006:25: socket 'b' is not defined by an earlier step");
	free(names);
	free(steps);
}

Test(scenario, asynchronous_steps_load_with_their_arguments)
{
	struct wsph_diag diag;
	const struct wsph_scenario *sc;
	const struct wsph_step *st;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_file(&suite, S "async.yaml", NULL, &diag), 0, "%s",
		     diag.text);
	sc = &suite.scenarios[0];
	cr_expect_eq(sc->blocking, 3);
	cr_assert_eq(sc->n_steps, 20);
	st = &sc->steps[3];
	cr_expect_eq(st->op, WSPH_OP_ASYNCSELECT);
	cr_expect_eq(st->value, 0); /* events: [] cancels */
	cr_expect(st->has_value);
	st = &sc->steps[4];
	cr_expect_eq(st->op, WSPH_OP_EVENTSELECT);
	cr_expect_str_eq(st->event, "ev1");
	cr_expect_eq(st->value, 0x21);
	st = &sc->steps[5];
	cr_expect_eq(st->op, WSPH_OP_ENUMNETWORKEVENTS);
	cr_expect_str_eq(st->event, "ev1");
	cr_expect_eq(st->value, 0x1);
	cr_expect_null(sc->steps[6].event);
	cr_expect_not(sc->steps[6].has_value);
	st = &sc->steps[7];
	cr_expect_eq(st->op, WSPH_OP_WAITEVENT);
	cr_expect_eq(st->expect, WSPH_EXPECT_NONE);
	st = &sc->steps[8];
	cr_expect_eq(st->op, WSPH_OP_WAITMESSAGE);
	cr_expect_eq(st->value, 0x8);
	cr_expect_eq(st->command, 0x8002);
	cr_expect_eq(st->msg_error, 10054);
	cr_expect_eq(sc->steps[9].expect, WSPH_EXPECT_NONE);
	st = &sc->steps[10];
	cr_expect_eq(st->op, WSPH_OP_RECV);
	cr_expect(st->overlapped);
	cr_expect_eq(st->completion, WSPH_COMPLETION_NONE);
	cr_expect_str_eq(st->opname, "r1");
	cr_expect(st->no_thread_id);
	st = &sc->steps[11];
	cr_expect_eq(st->completion, WSPH_COMPLETION_ROUTINE);
	cr_expect_not(st->no_thread_id);
	st = &sc->steps[12];
	cr_expect_eq(st->op, WSPH_OP_COMPLETE);
	cr_expect_str_eq(st->opname, "s1");
	cr_expect_eq(st->expect, 995);
	st = &sc->steps[13];
	cr_expect_eq(st->op, WSPH_OP_GETOVERLAPPEDRESULT);
	cr_expect(st->wait);
	cr_expect_eq(st->data_len, 4);
	st = &sc->steps[14];
	cr_expect_eq(st->op, WSPH_OP_SELECT);
	cr_expect_eq(st->n_sets[0], 2);
	cr_expect_str_eq(st->sets[0][1], "c");
	cr_expect(st->has_set[1]);
	cr_expect_eq(st->n_sets[1], 0);
	cr_expect_str_eq(st->sets[2][0], "bogus");
	cr_expect_eq(st->timeout_ms, 0);
	cr_expect(st->has_ready[0]);
	cr_expect_str_eq(st->ready[0][0], "c");
	cr_expect(st->has_ready[1]);
	cr_expect_eq(st->n_ready[1], 0);
	st = &sc->steps[15];
	cr_expect_eq(st->timeout_ms, -1);
	cr_expect_not(st->has_set[1]);
	cr_expect_not(st->has_ready[0]);
	cr_expect_eq(sc->steps[16].op, WSPH_OP_ALERTABLE);
	st = &sc->steps[17];
	cr_expect_eq(st->op, WSPH_OP_ARRIVE);
	cr_expect_str_eq(st->socket, "c");
	cr_expect_eq(st->data_len, 4);
	st = &sc->steps[18];
	cr_expect_eq(st->op, WSPH_OP_CANCELBLOCKINGCALL);
	cr_expect_eq(st->expect, 10022);
}

/* A control step: its failure makes the case inconclusive, so it charges no rule. */
Test(scenario, control_steps)
{
	static const char good[] = "scenarios:\n  - name: a\n    checks: [SPI.Startup.RefCount]\n"
				   "    steps:\n      - startup:\n      - socket: {as: s}\n"
				   "      - getsockopt: {socket: s, option: SO_TYPE, value: 1}\n"
				   "        control: true\n      - close: {socket: s}\n";
	static const char with_rule[] = "scenarios:\n  - name: a\n    checks: [SPI.Startup.RefCount]\n"
					"    steps:\n      - startup:\n"
					"        control: true\n        rule: SPI.Startup.RefCount\n";
	static const char not_bool[] = "scenarios:\n  - name: a\n    checks: [SPI.Startup.RefCount]\n"
				       "    steps:\n      - startup:\n        control: yes\n";
	struct wsph_diag diag;

	memset(&suite, 0, sizeof suite);
	cr_assert_eq(wsph_scenario_load_string(&suite, "c.yaml", good, sizeof good - 1, NULL, &diag),
		     0, "%s", diag.text);
	cr_assert_eq(suite.scenarios[0].n_steps, 4);
	cr_expect_eq(suite.scenarios[0].steps[2].control, 1);
	cr_expect_eq(suite.scenarios[0].steps[3].control, 0);
	cr_expect_eq(wsph_scenario_load_string(&suite, "r.yaml", with_rule, sizeof with_rule - 1,
					       NULL, &diag),
		     -1);
	cr_expect(strstr(diag.text, "r.yaml:7:15: a control step charges no rule") != NULL, "%s",
		  diag.text);
	cr_expect_eq(wsph_scenario_load_string(&suite, "b.yaml", not_bool, sizeof not_bool - 1,
					       NULL, &diag),
		     -1);
	cr_expect(strstr(diag.text, "b.yaml:6:18:") != NULL, "%s", diag.text);
}
