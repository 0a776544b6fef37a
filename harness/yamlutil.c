/* Builds the YAML node tree from libyaml's event API and reports located errors. */
#include "yamlutil.h"

#include "platform/platform.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- diagnostics ---- */

static int vdiag_at(struct wsph_diag *diag, const char *file, int line, int col, const char *fmt,
		    va_list ap)
{
	int n;

	if (!diag)
		return -1;
	if (line > 0)
		n = snprintf(diag->text, sizeof diag->text, "%s:%d:%d: ", file, line, col);
	else
		n = snprintf(diag->text, sizeof diag->text, "%s: ", file);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof diag->text)
		vsnprintf(diag->text + n, sizeof diag->text - (size_t)n, fmt, ap);
	return -1;
}

static int diag_at(struct wsph_diag *diag, const char *file, int line, int col, const char *fmt,
		   ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 5, 6)))
#endif
	;

static int diag_at(struct wsph_diag *diag, const char *file, int line, int col, const char *fmt,
		   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(diag, file, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

int wsph_yaml_error(struct wsph_diag *diag, const struct wsph_yaml_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag_at(diag, at->file, at->line, at->col, fmt, ap);
	va_end(ap);
	return -1;
}

struct wsph_loc wsph_yaml_loc(const struct wsph_yaml_node *n)
{
	struct wsph_loc loc;

	loc.file = n->file;
	loc.line = n->line;
	loc.col = n->col;
	return loc;
}

/* Copies at most 60 bytes of s into buf for a message: control characters become '?', a cut
 * string ends in "..." and a cut never splits a UTF-8 sequence. buf holds at least 64 bytes. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t max = buflen - 4, n = len, i;

	if (max > 60)
		max = 60;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

const char *wsph_yaml_describe(const struct wsph_yaml_node *n, char *buf, size_t len)
{
	char tmp[72];

	if (n->type == WSPH_YAML_MAPPING)
		snprintf(buf, len, "a mapping");
	else if (n->type == WSPH_YAML_SEQUENCE)
		snprintf(buf, len, "a sequence");
	else if (wsph_yaml_is_null(n))
		snprintf(buf, len, "null");
	else
		snprintf(buf, len, "'%s'", excerpt(n->text, n->len, tmp, sizeof tmp));
	return buf;
}

/* ---- sets of names ---- */

struct wsph_strset_slot {
	const char *s; /* NULL: free slot */
	size_t len;
	const void *val;
};

/* FNV-1a: cheap, and good enough for names written by hand. */
static size_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = wsph_fnv1a(s, len);
	return (size_t)(h ^ (h >> 32));
}

static struct wsph_strset_slot *slot_of(const struct wsph_strset *set, const char *s, size_t len)
{
	size_t mask = set->cap - 1, i = hash_bytes(s, len) & mask;

	while (set->slots[i].s &&
	       !(set->slots[i].len == len && memcmp(set->slots[i].s, s, len) == 0))
		i = (i + 1) & mask;
	return &set->slots[i];
}

const void *wsph_strset_find(const struct wsph_strset *set, const char *s, size_t len)
{
	const struct wsph_strset_slot *slot;

	if (!set->cap)
		return NULL;
	slot = slot_of(set, s, len);
	return slot->s ? slot->val : NULL;
}

int wsph_strset_add(struct wsph_strset *set, const char *s, size_t len, const void *val,
		    const void **found)
{
	struct wsph_strset_slot *slot;

	if (found)
		*found = NULL;
	/* At most half full, so probes stay short. */
	if ((set->n + 1) * 2 > set->cap) {
		struct wsph_strset bigger;
		size_t i;
		bigger.cap = set->cap ? set->cap * 2 : 16;
		bigger.n = set->n;
		bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
		if (!bigger.slots)
			return -1;
		for (i = 0; i < set->cap; i++)
			if (set->slots[i].s)
				*slot_of(&bigger, set->slots[i].s, set->slots[i].len) = set->slots[i];
		free(set->slots);
		*set = bigger;
	}
	slot = slot_of(set, s, len);
	if (slot->s) {
		if (found)
			*found = slot->val;
		return 1;
	}
	slot->s = s;
	slot->len = len;
	slot->val = val;
	set->n++;
	return 0;
}

void wsph_strset_free(struct wsph_strset *set)
{
	if (!set)
		return;
	free(set->slots);
	set->slots = NULL;
	set->n = 0;
	set->cap = 0;
}

const char *wsph_file_kind_name(int kind)
{
	static const char *const names[] = {
		[WSPH_FILE_MISSING] = "nothing",
		[WSPH_FILE_REGULAR] = "a regular file",
		[WSPH_FILE_DIR] = "a folder",
		[WSPH_FILE_FIFO] = "a FIFO",
		[WSPH_FILE_PIPE] = "a pipe",
		[WSPH_FILE_SOCKET] = "a socket",
		[WSPH_FILE_CHAR_DEVICE] = "a character device",
		[WSPH_FILE_BLOCK_DEVICE] = "a block device",
		[WSPH_FILE_OTHER] = "a file of another kind",
	};
	return kind >= 0 && (size_t)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* ---- the tree ---- */

static void node_free(struct wsph_yaml_node *n)
{
	size_t i;

	if (!n)
		return;
	free(n->text);
	for (i = 0; i < n->n_items; i++)
		node_free(n->items[i]);
	free(n->items);
	for (i = 0; i < n->n_pairs; i++) {
		node_free(n->pairs[i].key);
		node_free(n->pairs[i].value);
	}
	free(n->pairs);
	free(n);
}

void wsph_yaml_free(struct wsph_yaml_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	doc->root = NULL;
}

struct builder {
	const char *file;
	struct wsph_yaml_node *root;
	struct wsph_yaml_node *stack[WSPH_YAML_MAX_DEPTH];
	/* The keys of each open mapping on the stack: a duplicate is found in constant time, so a
	 * mapping of a million keys loads in linear time. */
	struct wsph_strset keys[WSPH_YAML_MAX_DEPTH];
	int depth;
	int documents;
	size_t nodes;
};

/* Arrays of children grow by doubling without a capacity field: they are full whenever their
 * length is zero or a power of two. */
static int is_full(size_t n)
{
	return (n & (n - 1)) == 0;
}

static size_t grown(size_t n)
{
	return n ? n * 2 : 1;
}

/* Adds n under the innermost open collection (or as the root). Takes ownership of n. */
static int attach(struct builder *b, struct wsph_yaml_node *n, struct wsph_diag *diag)
{
	struct wsph_yaml_node *parent;
	const void *first;
	char tmp[96], what[96];
	int rc = -1;

	if (b->depth == 0) {
		if (n->type != WSPH_YAML_MAPPING) {
			diag_at(diag, b->file, 1, 1, "the document must be a mapping (found %s)",
				wsph_yaml_describe(n, what, sizeof what));
			goto out;
		}
		b->root = n;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (parent->type == WSPH_YAML_SEQUENCE) {
		if (is_full(parent->n_items)) {
			struct wsph_yaml_node **items =
				realloc(parent->items, grown(parent->n_items) * sizeof *items);
			if (!items) {
				wsph_yaml_error(diag, n, "out of memory");
				goto out;
			}
			parent->items = items;
		}
		parent->items[parent->n_items++] = n;
		return 0;
	}
	if (parent->n_pairs > 0 && parent->pairs[parent->n_pairs - 1].value == NULL) {
		parent->pairs[parent->n_pairs - 1].value = n;
		return 0;
	}
	if (n->type != WSPH_YAML_SCALAR) {
		wsph_yaml_error(diag, n, "mapping keys must be scalars (found %s)",
				wsph_yaml_describe(n, what, sizeof what));
		goto out;
	}
	if (is_full(parent->n_pairs)) {
		struct wsph_yaml_pair *pairs =
			realloc(parent->pairs, grown(parent->n_pairs) * sizeof *pairs);
		if (!pairs) {
			wsph_yaml_error(diag, n, "out of memory");
			goto out;
		}
		parent->pairs = pairs;
	}
	switch (wsph_strset_add(&b->keys[b->depth - 1], n->text, n->len, n, &first)) {
	case 0:
		break;
	case 1: {
		const struct wsph_yaml_node *k = first;
		wsph_yaml_error(diag, n, "duplicate key '%s' (first at line %d, column %d)",
				excerpt(n->text, n->len, tmp, sizeof tmp), k->line, k->col);
		goto out;
	}
	default:
		wsph_yaml_error(diag, n, "out of memory");
		goto out;
	}
	parent->pairs[parent->n_pairs].key = n;
	parent->pairs[parent->n_pairs].value = NULL;
	parent->n_pairs++;
	return 0;
out:
	node_free(n);
	return rc;
}

static struct wsph_yaml_node *new_node(struct builder *b, enum wsph_yaml_type type,
				       const yaml_mark_t *mark, struct wsph_diag *diag)
{
	struct wsph_yaml_node *n;

	if (b->nodes >= WSPH_YAML_MAX_NODES) {
		diag_at(diag, b->file, (int)mark->line + 1, (int)mark->column + 1,
			"more than %u nodes in one file are not supported", WSPH_YAML_MAX_NODES);
		return NULL;
	}
	b->nodes++;
	n = calloc(1, sizeof *n);
	if (!n) {
		diag_at(diag, b->file, (int)mark->line + 1, (int)mark->column + 1, "out of memory");
		return NULL;
	}
	n->type = type;
	n->file = b->file;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	return n;
}

/* Line and column (1-based, counting characters) of a byte offset, for reader errors, which
 * libyaml reports as an offset only. */
static void locate_offset(const char *text, size_t len, size_t offset, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	if (offset > len)
		offset = len;
	for (i = 0; i < offset; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
			continue;
		if (c == '\n' || c == '\r') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_error(const yaml_parser_t *p, const char *file, const char *text, size_t len,
			struct wsph_diag *diag)
{
	int line, col;

	switch (p->error) {
	case YAML_READER_ERROR:
		locate_offset(text, len, p->problem_offset, &line, &col);
		if (p->problem_value >= 0)
			return diag_at(diag, file, line, col, "invalid text: %s (0x%02X)",
				       p->problem ? p->problem : "unreadable input",
				       (unsigned)p->problem_value);
		return diag_at(diag, file, line, col, "invalid text: %s",
			       p->problem ? p->problem : "unreadable input");
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context)
			return diag_at(diag, file, line, col,
				       "YAML syntax error: %s (%s at line %d, column %d)",
				       p->problem ? p->problem : "unknown problem", p->context,
				       (int)p->context_mark.line + 1,
				       (int)p->context_mark.column + 1);
		return diag_at(diag, file, line, col, "YAML syntax error: %s",
			       p->problem ? p->problem : "unknown problem");
	case YAML_MEMORY_ERROR:
		return diag_at(diag, file, 0, 0, "out of memory while parsing");
	default:
		return diag_at(diag, file, 0, 0, "YAML error: %s",
			       p->problem ? p->problem : "unknown problem");
	}
}

/* Anchors, aliases and tags are YAML features scenario files have no use for; refusing them
 * keeps every value exactly what it looks like. */
static int check_props(const char *file, const yaml_event_t *ev, const char *anchor,
		       const char *tag, struct wsph_diag *diag)
{
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	char tmp[72];

	/* A tag may hold any bytes (%0A and the like are decoded), so it is shown as an excerpt
	 * that keeps the message on one line. */
	if (anchor)
		return diag_at(diag, file, line, col, "anchors are not supported (found '&%s')",
			       excerpt(anchor, strlen(anchor), tmp, sizeof tmp));
	if (tag)
		return diag_at(diag, file, line, col, "tags are not supported (found '%s')",
			       excerpt(tag, strlen(tag), tmp, sizeof tmp));
	return 0;
}

static int handle_event(struct builder *b, const yaml_event_t *ev, struct wsph_diag *diag)
{
	struct wsph_yaml_node *n;
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++ > 0)
			return diag_at(diag, b->file, line, col,
				       "multiple documents are not supported");
		return 0;
	case YAML_ALIAS_EVENT:
		return diag_at(diag, b->file, line, col, "aliases are not supported");
	case YAML_SCALAR_EVENT:
		if (check_props(b->file, ev, (const char *)ev->data.scalar.anchor,
				(const char *)ev->data.scalar.tag, diag))
			return -1;
		if (ev->data.scalar.length > WSPH_YAML_MAX_SCALAR)
			return diag_at(diag, b->file, line, col,
				       "scalar of %lu bytes is longer than the limit of %u bytes",
				       (unsigned long)ev->data.scalar.length, WSPH_YAML_MAX_SCALAR);
		n = new_node(b, WSPH_YAML_SCALAR, &ev->start_mark, diag);
		if (!n)
			return -1;
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->text = malloc(n->len + 1);
		if (!n->text) {
			node_free(n);
			return diag_at(diag, b->file, line, col, "out of memory");
		}
		memcpy(n->text, ev->data.scalar.value, n->len);
		n->text[n->len] = '\0';
		return attach(b, n, diag);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->type == YAML_SEQUENCE_START_EVENT
			    ? check_props(b->file, ev, (const char *)ev->data.sequence_start.anchor,
					  (const char *)ev->data.sequence_start.tag, diag)
			    : check_props(b->file, ev, (const char *)ev->data.mapping_start.anchor,
					  (const char *)ev->data.mapping_start.tag, diag))
			return -1;
		if (b->depth >= WSPH_YAML_MAX_DEPTH)
			return diag_at(diag, b->file, line, col,
				       "nesting deeper than %d levels is not supported",
				       WSPH_YAML_MAX_DEPTH);
		n = new_node(b,
			     ev->type == YAML_SEQUENCE_START_EVENT ? WSPH_YAML_SEQUENCE
								   : WSPH_YAML_MAPPING,
			     &ev->start_mark, diag);
		if (!n || attach(b, n, diag))
			return -1;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0)
			wsph_strset_free(&b->keys[--b->depth]);
		return 0;
	default:
		return 0;
	}
}

int wsph_yaml_load_string(struct wsph_yaml_doc *doc, const char *file, const char *text, size_t len,
			  struct wsph_diag *diag)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	int parser_ok = 0, done = 0, rc = -1;

	doc->root = NULL;
	memset(&b, 0, sizeof b);
	b.file = file;
	/* A UTF-8 byte order mark would count as a column of line 1 in libyaml's marks. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (!yaml_parser_initialize(&parser)) {
		diag_at(diag, file, 0, 0, "out of memory");
		goto out;
	}
	parser_ok = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* Scenario files are UTF-8; fixing it keeps reader error offsets in step with `text`. */
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parser_error(&parser, file, text, len, diag);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (handle_event(&b, &ev, diag)) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
	}
	if (!b.root) {
		diag_at(diag, file, 1, 1, "the file is empty (expected a mapping)");
		goto out;
	}
	doc->root = b.root;
	b.root = NULL;
	rc = 0;
out:
	while (b.depth > 0)
		wsph_strset_free(&b.keys[--b.depth]);
	node_free(b.root);
	if (parser_ok)
		yaml_parser_delete(&parser);
	return rc;
}

/* Reads the stream to its end, at most max bytes, into *data (malloc'd, NUL added after *len). */
static enum wsph_read_status read_stream(FILE *f, size_t max, char **data, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	do {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);
			if (!nb) {
				free(buf);
				return WSPH_READ_NO_MEMORY;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0 && n <= max);
	if (ferror(f) || n > max) {
		free(buf);
		return ferror(f) ? WSPH_READ_FAILED : WSPH_READ_TOO_LARGE;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return WSPH_READ_OK;
}

/* The whole of the regular file at path (wsph_plat_open_regular, then read once here). */
static enum wsph_read_status read_regular(const char *path, size_t max, char **data, size_t *len,
					  enum wsph_file_kind *kind, char *err, size_t errlen)
{
	FILE *f;
	enum wsph_read_status rc = wsph_plat_open_regular(path, &f, kind, err, errlen);

	*data = NULL;
	*len = 0;
	if (rc != WSPH_READ_OK)
		return rc;
	rc = read_stream(f, max, data, len);
	fclose(f);
	return rc;
}

int wsph_yaml_load_file(struct wsph_yaml_doc *doc, const char *file, struct wsph_diag *diag)
{
	enum wsph_file_kind kind = WSPH_FILE_MISSING;
	char *buf = NULL, why[128] = "unknown error";
	size_t len = 0;
	int rc = -1;

	doc->root = NULL;
	switch (read_regular(file, WSPH_YAML_MAX_FILE, &buf, &len, &kind, why,
				       sizeof why)) {
	case WSPH_READ_OK:
		rc = wsph_yaml_load_string(doc, file, buf, len, diag);
		break;
	case WSPH_READ_CANNOT_OPEN:
		diag_at(diag, file, 0, 0, "cannot open: %s", why);
		break;
	case WSPH_READ_NOT_REGULAR:
		diag_at(diag, file, 0, 0, "not a regular file (%s)", wsph_file_kind_name(kind));
		break;
	case WSPH_READ_TOO_LARGE:
		diag_at(diag, file, 0, 0, "file is larger than the limit of %u bytes",
			WSPH_YAML_MAX_FILE);
		break;
	case WSPH_READ_FAILED:
		diag_at(diag, file, 0, 0, "cannot read");
		break;
	case WSPH_READ_NO_MEMORY:
		diag_at(diag, file, 0, 0, "out of memory");
		break;
	}
	free(buf);
	return rc;
}

/* ---- accessors ---- */

int wsph_yaml_is_null(const struct wsph_yaml_node *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	size_t i;

	if (n->type != WSPH_YAML_SCALAR || !n->plain)
		return 0;
	for (i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (strcmp(n->text, nulls[i]) == 0)
			return 1;
	return 0;
}

int wsph_yaml_scalar_is(const struct wsph_yaml_node *n, const char *s)
{
	return n && n->type == WSPH_YAML_SCALAR && n->len == strlen(s) &&
	       memcmp(n->text, s, n->len) == 0;
}

static const struct wsph_yaml_pair *find_pair(const struct wsph_yaml_node *map, const char *key)
{
	size_t i;

	if (!map || map->type != WSPH_YAML_MAPPING)
		return NULL;
	for (i = 0; i < map->n_pairs; i++)
		if (wsph_yaml_scalar_is(map->pairs[i].key, key))
			return &map->pairs[i];
	return NULL;
}

const struct wsph_yaml_node *wsph_yaml_get(const struct wsph_yaml_node *map, const char *key)
{
	const struct wsph_yaml_pair *p = find_pair(map, key);

	return p ? p->value : NULL;
}

const struct wsph_yaml_node *wsph_yaml_get_key(const struct wsph_yaml_node *map, const char *key)
{
	const struct wsph_yaml_pair *p = find_pair(map, key);

	return p ? p->key : NULL;
}

int wsph_yaml_check_keys(const struct wsph_yaml_node *map, const char *const *allowed,
			 const char *where, struct wsph_diag *diag)
{
	char list[512], tmp[96];
	size_t i, j, o;

	for (i = 0; i < map->n_pairs; i++) {
		const struct wsph_yaml_node *k = map->pairs[i].key;
		for (j = 0; allowed[j]; j++)
			if (wsph_yaml_scalar_is(k, allowed[j]))
				break;
		if (allowed[j])
			continue;
		list[0] = '\0';
		o = 0;
		for (j = 0; allowed[j] && o < sizeof list; j++) {
			int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "",
					 allowed[j]);
			if (w < 0)
				break;
			o += (size_t)w;
		}
		return wsph_yaml_error(diag, k, "unknown key '%s' in %s (expected one of: %s)",
				       excerpt(k->text, k->len, tmp, sizeof tmp), where, list);
	}
	return 0;
}

int wsph_yaml_require(const struct wsph_yaml_node *map, const char *key, const char *where,
		      const struct wsph_yaml_node **out, struct wsph_diag *diag)
{
	*out = wsph_yaml_get(map, key);
	if (!*out)
		return wsph_yaml_error(diag, map, "missing required key '%s' in %s", key, where);
	return 0;
}

static int want(const struct wsph_yaml_node *n, enum wsph_yaml_type type, const char *what,
		const char *kind, struct wsph_diag *diag)
{
	char found[112];

	if (n->type == type && !(type == WSPH_YAML_SCALAR && wsph_yaml_is_null(n)))
		return 0;
	return wsph_yaml_error(diag, n, "%s must be %s (found %s)", what, kind,
			       wsph_yaml_describe(n, found, sizeof found));
}

int wsph_yaml_want_mapping(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag)
{
	return want(n, WSPH_YAML_MAPPING, what, "a mapping", diag);
}

int wsph_yaml_want_sequence(const struct wsph_yaml_node *n, const char *what, int nonempty,
			    struct wsph_diag *diag)
{
	if (want(n, WSPH_YAML_SEQUENCE, what, "a sequence", diag))
		return -1;
	if (nonempty && n->n_items == 0)
		return wsph_yaml_error(diag, n, "%s must not be empty", what);
	return 0;
}

int wsph_yaml_want_string(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag)
{
	if (want(n, WSPH_YAML_SCALAR, what, "a string", diag))
		return -1;
	if (memchr(n->text, '\0', n->len))
		return wsph_yaml_error(diag, n, "%s must not contain a NUL character", what);
	return 0;
}

int wsph_yaml_want_name(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag)
{
	if (wsph_yaml_want_string(n, what, diag))
		return -1;
	if (n->len > WSPH_YAML_MAX_NAME)
		return wsph_yaml_error(diag, n, "%s is longer than %u bytes (found %lu)", what,
				       WSPH_YAML_MAX_NAME, (unsigned long)n->len);
	return 0;
}

int wsph_yaml_dup_string(const struct wsph_yaml_node *n, const char *what, char **out,
			 struct wsph_diag *diag)
{
	*out = NULL;
	if (wsph_yaml_want_string(n, what, diag))
		return -1;
	*out = malloc(n->len + 1);
	if (!*out)
		return wsph_yaml_error(diag, n, "out of memory");
	memcpy(*out, n->text, n->len + 1);
	return 0;
}

int wsph_yaml_parse_integer(const char *s, size_t len, long long *out)
{
	unsigned long long v = 0, limit;
	unsigned base = 10;
	int neg = 0, digits = 0;
	size_t i = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	limit = neg ? (unsigned long long)LLONG_MAX + 1u : (unsigned long long)LLONG_MAX;
	for (; i < len; i++, digits++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (v > (limit - d) / base)
			return -1;
		v = v * base + d;
	}
	if (digits == 0)
		return -1;
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1u ? LLONG_MIN : -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

/* Written like an integer (sign, 0x, digits), whether or not it fits in a long long. */
static int integer_syntax(const char *s, size_t len)
{
	size_t i = 0, digits = 0;
	int hex = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		hex = 1;
		i += 2;
	}
	for (; i < len; i++, digits++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))))
			return 0;
	return digits > 0;
}

int wsph_yaml_integer(const struct wsph_yaml_node *n, const char *what, long long min,
		      long long max, long long *out, struct wsph_diag *diag)
{
	char found[112];
	long long v = 0;
	int bad = 1;

	if (n->type == WSPH_YAML_SCALAR && !wsph_yaml_is_null(n))
		bad = wsph_yaml_parse_integer(n->text, n->len, &v);
	if (bad && (n->type != WSPH_YAML_SCALAR || wsph_yaml_is_null(n) ||
		    !integer_syntax(n->text, n->len)))
		return wsph_yaml_error(diag, n, "%s must be an integer (found %s)", what,
				       wsph_yaml_describe(n, found, sizeof found));
	/* An integer too large for a long long is out of range, not "not an integer". */
	if (bad || v < min || v > max)
		return wsph_yaml_error(diag, n, "%s must be in %lld..%lld (found %s)", what, min,
				       max, wsph_yaml_describe(n, found, sizeof found));
	*out = v;
	return 0;
}

int wsph_yaml_enum(const struct wsph_yaml_node *n, const char *what, const char *const *names,
		   int *out, struct wsph_diag *diag)
{
	char list[512], found[112];
	size_t o = 0;
	int i;

	if (n->type == WSPH_YAML_SCALAR)
		for (i = 0; names[i]; i++)
			if (wsph_yaml_scalar_is(n, names[i])) {
				*out = i;
				return 0;
			}
	list[0] = '\0';
	for (i = 0; names[i] && o < sizeof list; i++) {
		int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", names[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return wsph_yaml_error(diag, n, "%s must be one of: %s (found %s)", what, list,
			       wsph_yaml_describe(n, found, sizeof found));
}

static int is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int wsph_yaml_rule_id(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag)
{
	char found[112];
	size_t i, parts = 0, run = 0;
	int ok;

	if (wsph_yaml_want_name(n, what, diag))
		return -1;
	ok = n->len > 0 && n->text[0] >= 'A' && n->text[0] <= 'Z';
	for (i = 0; ok && i < n->len; i++) {
		if (n->text[i] == '.') {
			ok = run > 0;
			parts++;
			run = 0;
		} else {
			ok = is_alnum(n->text[i]);
			run++;
		}
	}
	if (ok && parts > 0 && run > 0)
		return 0;
	return wsph_yaml_error(diag, n,
			       "%s must be a rule ID like SPI.Startup.ProcTableComplete "
			       "(found %s)",
			       what, wsph_yaml_describe(n, found, sizeof found));
}
