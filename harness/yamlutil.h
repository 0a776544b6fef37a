/* A small YAML document tree built from libyaml events, with file:line:column on every node. */
#ifndef WSPH_YAMLUTIL_H
#define WSPH_YAMLUTIL_H

#include "diag.h"
#include "util.h"
#include <stddef.h>

#define WSPH_YAML_MAX_DEPTH 64			 /* nested collections, the root mapping included */
#define WSPH_YAML_MAX_SCALAR (64u * 1024u)	 /* bytes in one scalar */
#define WSPH_YAML_MAX_FILE (16u * 1024u * 1024u) /* bytes in one file */
#define WSPH_YAML_MAX_NODES (1u << 20)		 /* scalars, sequences and mappings in one file */
/* bytes in a name: a scenario's, a socket's, an operation's or an event's, a rule ID */
#define WSPH_YAML_MAX_NAME 200u

enum wsph_yaml_type { WSPH_YAML_SCALAR, WSPH_YAML_SEQUENCE, WSPH_YAML_MAPPING };

struct wsph_yaml_node;

struct wsph_yaml_pair {
	struct wsph_yaml_node *key; /* always a scalar */
	struct wsph_yaml_node *value;
};

struct wsph_yaml_node {
	enum wsph_yaml_type type;
	const char *file; /* borrowed from the caller of wsph_yaml_load_* */
	int line;	  /* 1-based */
	int col;	  /* 1-based */
	/* scalar: NUL-terminated text of `len` bytes (it may contain NUL from a "\0" escape) */
	char *text;
	size_t len;
	int plain; /* written without quotes: "", "~" and "null" then mean null */
	/* sequence */
	struct wsph_yaml_node **items;
	size_t n_items;
	/* mapping, in document order; keys are unique */
	struct wsph_yaml_pair *pairs;
	size_t n_pairs;
};

struct wsph_yaml_doc {
	struct wsph_yaml_node *root; /* always a mapping after a successful load */
};

/*
 * Parses one document whose root is a mapping. `file` names the input in messages and in every
 * node; it is not copied and must outlive the document. Returns 0, or -1 with
 * "file:line:column: message" in diag (a file that cannot be read gives "file: message").
 */
int wsph_yaml_load_file(struct wsph_yaml_doc *doc, const char *file, struct wsph_diag *diag);
int wsph_yaml_load_string(struct wsph_yaml_doc *doc, const char *file, const char *text, size_t len,
			  struct wsph_diag *diag);
void wsph_yaml_free(struct wsph_yaml_doc *doc);

/* Writes "file:line:column: message" into diag and returns -1. */
int wsph_yaml_error(struct wsph_diag *diag, const struct wsph_yaml_node *at, const char *fmt, ...)
	WSPH_PRINTF(3, 4);

struct wsph_loc wsph_yaml_loc(const struct wsph_yaml_node *n);
/* A plain "", "~", "null", "Null" or "NULL" scalar. */
int wsph_yaml_is_null(const struct wsph_yaml_node *n);
/* "a mapping", "a sequence", "null", or the scalar quoted ('abc'), for "(found ...)" messages. */
const char *wsph_yaml_describe(const struct wsph_yaml_node *n, char *buf, size_t len);
/* Scalar equal to the C string s. */
int wsph_yaml_scalar_is(const struct wsph_yaml_node *n, const char *s);

/* The value (or the key node) stored under `key` in a mapping; NULL when absent. */
const struct wsph_yaml_node *wsph_yaml_get(const struct wsph_yaml_node *map, const char *key);
const struct wsph_yaml_node *wsph_yaml_get_key(const struct wsph_yaml_node *map, const char *key);

/*
 * Every key of `map` is one of `allowed` (a NULL-terminated list). Otherwise, at the first bad
 * key: "unknown key 'k' in <where> (expected one of: a, b)".
 */
int wsph_yaml_check_keys(const struct wsph_yaml_node *map, const char *const *allowed,
			 const char *where, struct wsph_diag *diag);
/* The value under `key`, or at `map`: "missing required key 'key' in <where>". */
int wsph_yaml_require(const struct wsph_yaml_node *map, const char *key, const char *where,
		      const struct wsph_yaml_node **out, struct wsph_diag *diag);

/*
 * Typed accessors. `what` names the value in messages, e.g. "'backlog'" or "each 'checks' item";
 * errors are located at the node: "<what> must be a mapping (found a sequence)".
 */
int wsph_yaml_want_mapping(const struct wsph_yaml_node *n, const char *what,
			   struct wsph_diag *diag);
/* A sequence with at least one item when nonempty is set. */
int wsph_yaml_want_sequence(const struct wsph_yaml_node *n, const char *what, int nonempty,
			    struct wsph_diag *diag);
/* A scalar that is not null and holds no NUL byte. */
int wsph_yaml_want_string(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag);
/* wsph_yaml_want_string of at most WSPH_YAML_MAX_NAME bytes; else at the node:
 * "<what> is longer than 200 bytes (found 600)". */
int wsph_yaml_want_name(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag);
/* wsph_yaml_want_string, then a malloc'd copy in *out. */
int wsph_yaml_dup_string(const struct wsph_yaml_node *n, const char *what, char **out,
			 struct wsph_diag *diag);
/* A decimal integer (optionally signed) or 0x hexadecimal, within [min, max]. */
int wsph_yaml_integer(const struct wsph_yaml_node *n, const char *what, long long min,
		      long long max, long long *out, struct wsph_diag *diag);
/* One of the NULL-terminated `names`; *out is its index. */
int wsph_yaml_enum(const struct wsph_yaml_node *n, const char *what, const char *const *names,
		   int *out, struct wsph_diag *diag);

/* Parses a whole string as an integer like wsph_yaml_integer; 0 ok, -1 not an integer. */
int wsph_yaml_parse_integer(const char *s, size_t len, long long *out);

/*
 * A set of names (bytes and length, not copied: they must outlive the set) with a value each, so
 * that "is this name already taken" costs the same for the millionth name as for the first.
 */
struct wsph_strset_slot;
struct wsph_strset {
	struct wsph_strset_slot *slots;
	size_t n, cap; /* cap is 0 or a power of two */
};
/* Adds s unless it is there. Returns 0 added, 1 already there (its value in *found when found is
 * not NULL), -1 out of memory. */
int wsph_strset_add(struct wsph_strset *set, const char *s, size_t len, const void *val,
		    const void **found);
/* The value stored with s, or NULL when s is not in the set. */
const void *wsph_strset_find(const struct wsph_strset *set, const char *s, size_t len);
void wsph_strset_free(struct wsph_strset *set);

/* Shared by the scenario and rule loaders: a rule ID matches ^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$.
 * Otherwise: "<what> must be a rule ID like SPI.Startup.ProcTableComplete (found 'x')"; at most
 * WSPH_YAML_MAX_NAME bytes. */
int wsph_yaml_rule_id(const struct wsph_yaml_node *n, const char *what, struct wsph_diag *diag);

/* "a FIFO", "a pipe", "a character device", ...: for "not a regular file (a FIFO)". */
const char *wsph_file_kind_name(int kind); /* kind: an enum wsph_file_kind (platform.h) */

#endif
