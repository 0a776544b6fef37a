/* Loads errors.yaml: the WSA error codes each WSP* page lists, for SPI.Errno.Documented. */
#include "errtable.h"

#include "platform/platform.h"
#include "util.h"
#include "yamlutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wsph_errtable_free(struct wsph_errtable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < WSPH_FN_FIRST_WPU; i++) {
		free(t->fn[i].source);
		free(t->fn[i].codes);
	}
	free(t->path);
	memset(t, 0, sizeof *t);
}

/* A WSP function name (WSPStartup and the 30 of WSPPROC_TABLE). */
static int want_wsp(const struct wsph_yaml_node *n, const char *what, enum wsph_fn *out,
		    struct wsph_diag *diag)
{
	char found[112];
	int fn;

	if (wsph_yaml_want_string(n, what, diag))
		return -1;
	fn = wsph_fn_by_name(n->text);
	if (fn < 0 || fn >= WSPH_FN_FIRST_WPU)
		return wsph_yaml_error(diag, n, "%s must name a WSP function like WSPSend (found %s)",
				       what, wsph_yaml_describe(n, found, sizeof found));
	*out = (enum wsph_fn)fn;
	return 0;
}

/* A WSA error written by name ("WSAENOTSOCK"); numbers are not accepted, the pages use names. */
static int want_code(const struct wsph_yaml_node *n, int *out, struct wsph_diag *diag)
{
	char found[112];
	int code = 0;

	if (wsph_yaml_want_string(n, "each 'codes' item", diag))
		return -1;
	if (wsph_error_by_name(n->text, &code) != 0 || !wsph_error_name(code) ||
	    strcmp(wsph_error_name(code), n->text) != 0)
		return wsph_yaml_error(diag, n,
				       "each 'codes' item must be a Winsock error name like "
				       "WSAENOTSOCK (found %s)",
				       wsph_yaml_describe(n, found, sizeof found));
	*out = code;
	return 0;
}

static int load_item(struct wsph_errtable *t, const struct wsph_yaml_node *n,
		     struct wsph_diag *diag)
{
	static const char *const keys[] = {"function", "source", "codes", "also_codes_of", "note",
					   NULL};
	const struct wsph_yaml_node *v, *name;
	struct wsph_errtable_entry *e;
	enum wsph_fn fn;
	char found[112];
	size_t i, k;

	if (wsph_yaml_want_mapping(n, "each item of 'functions'", diag) ||
	    wsph_yaml_check_keys(n, keys, "error table entry", diag) ||
	    wsph_yaml_require(n, "function", "error table entry", &name, diag) ||
	    want_wsp(name, "'function'", &fn, diag))
		return -1;
	e = &t->fn[fn];
	if (e->present)
		return wsph_yaml_error(diag, name,
				       "duplicate entry for %s (first at line %d, column %d)",
				       wsph_yaml_describe(name, found, sizeof found), e->loc.line,
				       e->loc.col);
	e->present = 1;
	e->loc = wsph_yaml_loc(n);
	if (wsph_yaml_require(n, "source", "error table entry", &v, diag) ||
	    wsph_yaml_dup_string(v, "'source'", &e->source, diag))
		return -1;
	if (wsph_yaml_require(n, "codes", "error table entry", &v, diag) ||
	    wsph_yaml_want_sequence(v, "'codes'", 0, diag))
		return -1;
	if (v->n_items && !strcmp(e->source, "not found"))
		return wsph_yaml_error(diag, v, "codes for %s, whose page was not found",
				       wsph_fn_name(fn));
	if (v->n_items) {
		e->codes = calloc(v->n_items, sizeof *e->codes);
		if (!e->codes)
			return wsph_yaml_error(diag, v, "out of memory");
	}
	for (i = 0; i < v->n_items; i++) {
		int code = 0;
		if (want_code(v->items[i], &code, diag))
			return -1;
		for (k = 0; k < e->n_codes; k++)
			if (e->codes[k] == code)
				return wsph_yaml_error(diag, v->items[i],
						       "%s is listed twice for %s (first as item %zu)",
						       v->items[i]->text, wsph_fn_name(fn), k + 1);
		e->codes[e->n_codes++] = code;
	}
	v = wsph_yaml_get(n, "also_codes_of");
	if (v) {
		if (wsph_yaml_want_sequence(v, "'also_codes_of'", 1, diag))
			return -1;
		if (v->n_items > WSPH_FN_FIRST_WPU)
			return wsph_yaml_error(diag, v, "'also_codes_of' names more functions than "
							"there are");
		for (i = 0; i < v->n_items; i++) {
			enum wsph_fn other;
			if (want_wsp(v->items[i], "each 'also_codes_of' item", &other, diag))
				return -1;
			if (other == fn)
				return wsph_yaml_error(diag, v->items[i],
						       "'also_codes_of' of %s names %s itself",
						       wsph_fn_name(fn), wsph_fn_name(fn));
			e->also[e->n_also++] = other;
		}
	}
	v = wsph_yaml_get(n, "note");
	if (v && wsph_yaml_want_string(v, "'note'", diag))
		return -1;
	return 0;
}

static int load_text_or_file(struct wsph_errtable *t, const char *path, const char *text,
			     size_t len, struct wsph_diag *diag)
{
	static const char *const top_keys[] = {"functions", NULL};
	struct wsph_yaml_doc doc = {NULL};
	const struct wsph_yaml_node *fns;
	int rc = -1;

	memset(t, 0, sizeof *t);
	t->path = wsph_strdup(path);
	if (!t->path) {
		snprintf(diag->text, sizeof diag->text, "%s: out of memory", path);
		return -1;
	}
	if ((text ? wsph_yaml_load_string(&doc, t->path, text, len, diag)
		  : wsph_yaml_load_file(&doc, t->path, diag)) ||
	    wsph_yaml_check_keys(doc.root, top_keys, "the top-level mapping", diag) ||
	    wsph_yaml_require(doc.root, "functions", "the top-level mapping", &fns, diag) ||
	    wsph_yaml_want_sequence(fns, "'functions'", 1, diag))
		goto out;
	for (size_t i = 0; i < fns->n_items; i++)
		if (load_item(t, fns->items[i], diag))
			goto out;
	/* Entries keep locations into the file name the table owns. */
	rc = 0;
out:
	wsph_yaml_free(&doc);
	if (rc)
		wsph_errtable_free(t);
	return rc;
}

int wsph_errtable_load(struct wsph_errtable *t, const char *path, struct wsph_diag *diag)
{
	return load_text_or_file(t, path, NULL, 0, diag);
}

int wsph_errtable_load_string(struct wsph_errtable *t, const char *path, const char *text,
			      size_t len, struct wsph_diag *diag)
{
	return load_text_or_file(t, path, text ? text : "", text ? len : 0, diag);
}

static int in_list(const struct wsph_errtable_entry *e, int code)
{
	for (size_t i = 0; i < e->n_codes; i++)
		if (e->codes[i] == code)
			return 1;
	return 0;
}

int wsph_errtable_documents(const struct wsph_errtable *t, enum wsph_fn fn, int code)
{
	const struct wsph_errtable_entry *e;

	if (!t || (int)fn < 0 || fn >= WSPH_FN_FIRST_WPU)
		return -1;
	e = &t->fn[fn];
	if (!e->present || !e->n_codes)
		return -1;
	if (in_list(e, code))
		return 1;
	for (size_t i = 0; i < e->n_also; i++)
		if (in_list(&t->fn[e->also[i]], code))
			return 1;
	return 0;
}

char *wsph_errtable_list_text(const struct wsph_errtable *t, enum wsph_fn fn, char *buf,
			      size_t len)
{
	const struct wsph_errtable_entry *e;
	size_t pos = 0;

	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	if (!t || (int)fn < 0 || fn >= WSPH_FN_FIRST_WPU)
		return buf;
	e = &t->fn[fn];
	for (size_t i = 0; i < e->n_codes && pos < len; i++) {
		const char *name = wsph_error_name(e->codes[i]);
		int n = snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", name ? name : "?");
		pos = n < 0 ? len : pos + (size_t)n;
	}
	for (size_t i = 0; i < e->n_also && pos < len; i++) {
		int n = snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "; also the codes of ",
				 wsph_fn_name(e->also[i]));
		pos = n < 0 ? len : pos + (size_t)n;
	}
	if (pos >= len && len > 4)
		memcpy(buf + len - 4, "...", 4); /* cut: say so */
	return buf;
}

int wsph_errtable_load_beside(const char *rules_path, struct wsph_errtable **out,
			      struct wsph_diag *diag)
{
	size_t n = strlen(rules_path), dir = n;
	char *path;

	*out = NULL;
	while (dir > 0 && rules_path[dir - 1] != '/' && rules_path[dir - 1] != '\\')
		dir--;
	path = malloc(dir + sizeof WSPH_ERRTABLE_FILE);
	if (!path) {
		snprintf(diag->text, sizeof diag->text, "%s: out of memory", rules_path);
		return -1;
	}
	memcpy(path, rules_path, dir);
	memcpy(path + dir, WSPH_ERRTABLE_FILE, sizeof WSPH_ERRTABLE_FILE);
	/* absent: no table; anything else there is read, so a FIFO or device is refused by name */
	if (wsph_plat_file_kind(path) == WSPH_FILE_MISSING) {
		free(path);
		return 0;
	}
	struct wsph_errtable *t = malloc(sizeof *t);
	if (!t || wsph_errtable_load(t, path, diag) != 0) {
		if (!t)
			snprintf(diag->text, sizeof diag->text, "%s: out of memory", path);
		free(t);
		free(path);
		return -1;
	}
	free(path);
	*out = t;
	return 0;
}
