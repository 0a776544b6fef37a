/* The error tables of the WSP* pages (scenarios/errors.yaml): which WSA codes each function lists. */
#ifndef WSPH_ERRTABLE_H
#define WSPH_ERRTABLE_H

#include "fn.h"
#include "scenario.h"

#include <stddef.h>

/* The file the harness reads next to rules.yaml. */
#define WSPH_ERRTABLE_FILE "errors.yaml"

struct wsph_errtable_entry {
	int present;	   /* the file has an item for this function */
	struct wsph_loc loc; /* that item */
	char *source;	   /* the page, or "not found" */
	int *codes;	   /* the WSA codes its table lists (n_codes 0: the list is unknown) */
	size_t n_codes;
	enum wsph_fn also[WSPH_FN_FIRST_WPU]; /* also_codes_of: functions whose codes count too */
	size_t n_also;
};

struct wsph_errtable {
	char *path;
	struct wsph_errtable_entry fn[WSPH_FN_FIRST_WPU]; /* by enum wsph_fn (the WSP functions) */
};

/*
 * Loads errors.yaml. Returns 0, or -1 with "file:line:column: message" in diag. Unknown keys,
 * names that are no WSP function or no WSA error, duplicate functions or codes, and a function
 * with codes but no source page are errors.
 */
int wsph_errtable_load(struct wsph_errtable *t, const char *path, struct wsph_diag *diag);
/* The same for `len` bytes of text that stand for the file `path`; nothing is read from disk. */
int wsph_errtable_load_string(struct wsph_errtable *t, const char *path, const char *text,
			      size_t len, struct wsph_diag *diag);
void wsph_errtable_free(struct wsph_errtable *t);

/*
 * Whether `code` is documented for `fn`: 1 it is (in fn's list or in a list also_codes_of names),
 * 0 it is not, -1 nothing is known (no table, fn not recorded, or its list is empty).
 */
int wsph_errtable_documents(const struct wsph_errtable *t, enum wsph_fn fn, int code);
/* fn's list as "WSAENETDOWN, WSAEFAULT, ..." (with "; also the codes of WSPRecv, ..."), cut to
 * fit buf. Returns buf. */
char *wsph_errtable_list_text(const struct wsph_errtable *t, enum wsph_fn fn, char *buf,
			      size_t len);

/*
 * Loads errors.yaml from the folder of `rules_path` into a malloc'd table in *out. A missing file
 * is not an error: *out is then NULL (the per-function lists are not checked). Returns 0, or -1
 * with the located message in diag.
 */
int wsph_errtable_load_beside(const char *rules_path, struct wsph_errtable **out,
			      struct wsph_diag *diag);

#endif
