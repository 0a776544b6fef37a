/* Loads the rule catalogue (rules.yaml) and checks that scenarios name only rules it defines. */
#include "ruleset.h"

#include "errtable.h"
#include "fn.h"
#include "yamlutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
	"required", "required-nonifs", "required-ifs", "optional", "not-stated", "absent", NULL};

const char *wsph_row_status_name(enum wsph_row_status s)
{
	if ((int)s < 0 || s > WSPH_ROW_ABSENT)
		return "?";
	return status_names[s];
}

static void row_free(struct wsph_upcall_row *r)
{
	free(r->function);
	free(r->description);
	free(r->published);
}

const char *wsph_rule_status_name(const struct wsph_rule *r)
{
	if (r && r->not_checkable)
		return "not-checkable";
	/* HARNESS.* rules judge the scenario's own expectations: every step checks them. */
	if (r && !strncmp(r->id, "HARNESS.", 8))
		return "every-step";
	return "checked";
}

static void rule_free(struct wsph_rule *r)
{
	for (size_t i = 0; i < r->n_tripped_by; i++)
		free(r->tripped_by[i]);
	free(r->tripped_by);
	free(r->id);
	free(r->level);
	free(r->statement);
	free(r->source);
	free(r->not_checkable);
}

void wsph_ruleset_free(struct wsph_ruleset *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n_rows; i++)
		row_free(&set->rows[i]);
	free(set->rows);
	for (i = 0; i < set->n_rules; i++)
		rule_free(&set->rules[i]);
	free(set->rules);
	free(set->table_source);
	wsph_errtable_free(set->errors);
	free(set->errors);
	free(set->path);
	memset(set, 0, sizeof *set);
}

/* Adds the name node n to `seen`: "duplicate <what> '<name>' (first at line L, column C)" when an
 * earlier item has it. */
static int first_of_name(struct wsph_strset *seen, const struct wsph_yaml_node *n, const char *what,
			 struct wsph_diag *diag)
{
	const void *earlier;
	char found[112];
	int rc = wsph_strset_add(seen, n->text, n->len, n, &earlier);

	if (rc < 0)
		return wsph_yaml_error(diag, n, "out of memory");
	if (rc > 0) {
		const struct wsph_yaml_node *first = earlier;
		return wsph_yaml_error(diag, n, "duplicate %s %s (first at line %d, column %d)",
				       what, wsph_yaml_describe(n, found, sizeof found), first->line,
				       first->col);
	}
	return 0;
}

/* Loads item `index` of 'rows'; the items before it are already loaded, their functions in
 * `seen`. */
static int load_row(struct wsph_upcall_row *row, const struct wsph_yaml_node *seq, size_t index,
		    struct wsph_strset *seen, struct wsph_diag *diag)
{
	static const char *const keys[] = {"function", "description", "status", "published", NULL};
	const struct wsph_yaml_node *n = seq->items[index], *v;
	char found[112];
	int fn, idx;

	if (wsph_yaml_want_mapping(n, "each item of 'rows'", diag) ||
	    wsph_yaml_check_keys(n, keys, "upcall table row", diag))
		return -1;
	row->loc = wsph_yaml_loc(n);
	if (wsph_yaml_require(n, "function", "upcall table row", &v, diag) ||
	    wsph_yaml_want_string(v, "'function'", diag))
		return -1;
	fn = wsph_fn_by_name(v->text);
	if (fn < 0 || !wsph_fn_is_wpu((enum wsph_fn)fn))
		return wsph_yaml_error(
			diag, v, "'function' must name an upcall like WPUCloseEvent (found %s)",
			wsph_yaml_describe(v, found, sizeof found));
	if (first_of_name(seen, v, "row for", diag) ||
	    wsph_yaml_dup_string(v, "'function'", &row->function, diag))
		return -1;
	if (wsph_yaml_require(n, "description", "upcall table row", &v, diag) ||
	    wsph_yaml_dup_string(v, "'description'", &row->description, diag))
		return -1;
	if (wsph_yaml_require(n, "status", "upcall table row", &v, diag) ||
	    wsph_yaml_enum(v, "'status'", status_names, &idx, diag))
		return -1;
	row->status = (enum wsph_row_status)idx;
	if (wsph_yaml_require(n, "published", "upcall table row", &v, diag) ||
	    wsph_yaml_dup_string(v, "'published'", &row->published, diag))
		return -1;
	return 0;
}

/* Loads item `index` of 'rules'; the items before it are already loaded, their IDs in `seen`. */
static int load_rule(struct wsph_rule *rule, const struct wsph_yaml_node *seq, size_t index,
		     struct wsph_strset *seen, struct wsph_diag *diag)
{
	static const char *const keys[] = {"id",    "level",	     "severity",   "statement", "source",
					   "kinds", "not_checkable", "tripped_by", NULL};
	static const char *const severities[] = {"error", "warning", NULL};
	static const char *const kinds[] = {"nonifs", "ifs", NULL};
	const struct wsph_yaml_node *n = seq->items[index], *v;
	size_t i;
	int idx;

	if (wsph_yaml_want_mapping(n, "each item of 'rules'", diag) ||
	    wsph_yaml_check_keys(n, keys, "rule", diag))
		return -1;
	rule->loc = wsph_yaml_loc(n);
	rule->severity = WSPH_SEV_ERROR;
	rule->kinds = WSPH_KIND_ALL;
	if (wsph_yaml_require(n, "id", "rule", &v, diag) || wsph_yaml_rule_id(v, "'id'", diag))
		return -1;
	if (first_of_name(seen, v, "rule ID", diag) ||
	    wsph_yaml_dup_string(v, "'id'", &rule->id, diag))
		return -1;
	if (wsph_yaml_require(n, "level", "rule", &v, diag) ||
	    wsph_yaml_dup_string(v, "'level'", &rule->level, diag))
		return -1;
	v = wsph_yaml_get(n, "severity");
	if (v) {
		if (wsph_yaml_enum(v, "'severity'", severities, &idx, diag))
			return -1;
		rule->severity = idx == 0 ? WSPH_SEV_ERROR : WSPH_SEV_WARNING;
	}
	if (wsph_yaml_require(n, "statement", "rule", &v, diag) ||
	    wsph_yaml_dup_string(v, "'statement'", &rule->statement, diag))
		return -1;
	if (wsph_yaml_require(n, "source", "rule", &v, diag) ||
	    wsph_yaml_dup_string(v, "'source'", &rule->source, diag))
		return -1;
	v = wsph_yaml_get(n, "kinds");
	if (v) {
		if (wsph_yaml_want_sequence(v, "'kinds'", 1, diag))
			return -1;
		rule->kinds = 0;
		for (i = 0; i < v->n_items; i++) {
			if (wsph_yaml_enum(v->items[i], "each 'kinds' item", kinds, &idx, diag))
				return -1;
			rule->kinds |= idx == 0 ? WSPH_KIND_NONIFS : WSPH_KIND_IFS;
		}
	}
	v = wsph_yaml_get(n, "not_checkable");
	if (v && wsph_yaml_dup_string(v, "'not_checkable'", &rule->not_checkable, diag))
		return -1;
	v = wsph_yaml_get(n, "tripped_by");
	if (v) {
		/* names of faulty providers: fault-<name>, fault-lsp-<name> */
		if (wsph_yaml_want_sequence(v, "'tripped_by'", 1, diag))
			return -1;
		rule->tripped_by = calloc(v->n_items, sizeof *rule->tripped_by);
		if (!rule->tripped_by)
			return wsph_yaml_error(diag, v, "out of memory");
		for (i = 0; i < v->n_items; i++) {
			const struct wsph_yaml_node *it = v->items[i];
			char found[112];
			/* a faulty provider (fault-...) or a hostile one (hostile-...) */
			int ok = it->type == WSPH_YAML_SCALAR &&
				 ((it->len > 6 && !strncmp(it->text, "fault-", 6)) ||
				  (it->len > 8 && !strncmp(it->text, "hostile-", 8)));
			for (size_t k = 0; ok && k < it->len; k++) {
				char c = it->text[k];
				ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
			}
			if (!ok)
				return wsph_yaml_error(diag, it,
						       "each 'tripped_by' item must name a faulty "
						       "provider like fault-double-close-handle "
						       "(found %s)",
						       wsph_yaml_describe(it, found, sizeof found));
			if (wsph_yaml_dup_string(it, "each 'tripped_by' item",
						 &rule->tripped_by[i], diag))
				return -1;
			rule->n_tripped_by++;
		}
		if (rule->not_checkable)
			return wsph_yaml_error(diag, v, "a rule that is not checkable has no "
							"'tripped_by'");
	}
	return 0;
}

/* Loads `text` (len bytes) as the file `path`, or the file itself when text is NULL. */
static int load_text_or_file(struct wsph_ruleset *set, const char *path, const char *text,
			     size_t len, struct wsph_diag *diag)
{
	static const char *const top_keys[] = {"upcall_table", "rules", NULL};
	static const char *const table_keys[] = {"source", "rows", NULL};
	struct wsph_strset seen = {NULL, 0, 0};
	struct wsph_yaml_doc doc = {NULL};
	const struct wsph_yaml_node *table, *rows, *rules, *v;
	size_t n, i;
	int rc = -1;

	memset(set, 0, sizeof *set);
	n = strlen(path) + 1;
	set->path = malloc(n);
	if (!set->path) {
		snprintf(diag->text, sizeof diag->text, "%s: out of memory", path);
		goto out;
	}
	memcpy(set->path, path, n);
	if ((text ? wsph_yaml_load_string(&doc, set->path, text, len, diag)
		  : wsph_yaml_load_file(&doc, set->path, diag)) ||
	    wsph_yaml_check_keys(doc.root, top_keys, "the top-level mapping", diag) ||
	    wsph_yaml_require(doc.root, "upcall_table", "the top-level mapping", &table, diag) ||
	    wsph_yaml_want_mapping(table, "'upcall_table'", diag) ||
	    wsph_yaml_check_keys(table, table_keys, "'upcall_table'", diag) ||
	    wsph_yaml_require(table, "source", "'upcall_table'", &v, diag) ||
	    wsph_yaml_dup_string(v, "'source'", &set->table_source, diag) ||
	    wsph_yaml_require(table, "rows", "'upcall_table'", &rows, diag) ||
	    wsph_yaml_want_sequence(rows, "'rows'", 1, diag) ||
	    wsph_yaml_require(doc.root, "rules", "the top-level mapping", &rules, diag) ||
	    wsph_yaml_want_sequence(rules, "'rules'", 1, diag))
		goto out;
	set->rows = calloc(rows->n_items, sizeof *set->rows);
	set->rules = calloc(rules->n_items, sizeof *set->rules);
	if (!set->rows || !set->rules) {
		wsph_yaml_error(diag, doc.root, "out of memory");
		goto out;
	}
	for (i = 0; i < rows->n_items; i++) {
		/* Counted first so that a half-filled row is freed too. */
		set->n_rows++;
		if (load_row(&set->rows[i], rows, i, &seen, diag))
			goto out;
	}
	wsph_strset_free(&seen);
	for (i = 0; i < rules->n_items; i++) {
		set->n_rules++;
		if (load_rule(&set->rules[i], rules, i, &seen, diag))
			goto out;
	}
	rc = 0;
out:
	wsph_strset_free(&seen);
	wsph_yaml_free(&doc);
	if (rc)
		wsph_ruleset_free(set);
	return rc;
}

int wsph_ruleset_load(struct wsph_ruleset *set, const char *path, struct wsph_diag *diag)
{
	return load_text_or_file(set, path, NULL, 0, diag);
}

int wsph_ruleset_load_string(struct wsph_ruleset *set, const char *path, const char *text,
			     size_t len, struct wsph_diag *diag)
{
	return load_text_or_file(set, path, text ? text : "", text ? len : 0, diag);
}

const struct wsph_rule *wsph_ruleset_find(const struct wsph_ruleset *set, const char *id)
{
	size_t i;

	if (!set || !id)
		return NULL;
	for (i = 0; i < set->n_rules; i++)
		if (strcmp(set->rules[i].id, id) == 0)
			return &set->rules[i];
	return NULL;
}

static int unknown_id(const struct wsph_loc *loc, const char *id, struct wsph_diag *diag)
{
	/* IDs are ASCII (checked by the loader); a long one is cut like any value in a message. */
	size_t len = strlen(id);

	snprintf(diag->text, sizeof diag->text,
		 "%s:%d:%d: unknown rule ID '%.*s%s' (not in rules.yaml)",
		 loc->file ? loc->file : "?", loc->line, loc->col, len > 60 ? 60 : (int)len, id,
		 len > 60 ? "..." : "");
	return -1;
}

int wsph_ruleset_check_suite(const struct wsph_ruleset *set, const struct wsph_suite *suite,
			     struct wsph_diag *diag)
{
	struct wsph_strset ids = {NULL, 0, 0};
	const struct wsph_loc *at = NULL;
	const char *unknown = NULL;
	size_t i, j;
	int rc = -1;

	/* The IDs in a set: a scenario file may name a million rules, the catalogue hold 100,000. */
	for (i = 0; i < set->n_rules; i++)
		if (wsph_strset_add(&ids, set->rules[i].id, strlen(set->rules[i].id), &set->rules[i],
				    NULL) < 0) {
			snprintf(diag->text, sizeof diag->text, "%s: out of memory",
				 set->path ? set->path : "?");
			goto out;
		}
	for (i = 0; i < suite->n_scenarios && !unknown; i++) {
		const struct wsph_scenario *sc = &suite->scenarios[i];
		for (j = 0; j < sc->n_checks && !unknown; j++)
			if (!wsph_strset_find(&ids, sc->checks[j], strlen(sc->checks[j]))) {
				unknown = sc->checks[j];
				at = sc->check_locs ? &sc->check_locs[j] : &sc->loc;
			}
		for (j = 0; j < sc->n_steps && !unknown; j++) {
			const struct wsph_step *st = &sc->steps[j];
			if (st->rule && !wsph_strset_find(&ids, st->rule, strlen(st->rule))) {
				unknown = st->rule;
				at = st->rule_loc.file ? &st->rule_loc : &st->loc;
			}
		}
	}
	rc = unknown ? unknown_id(at, unknown, diag) : 0;
out:
	wsph_strset_free(&ids);
	return rc;
}
