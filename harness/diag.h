/* Where a value of an input file is, and a load error about it: what the YAML reader (yamlutil.c)
 * and the loaders built on it (scenarios, rules, error tables, catalogs) share. */
#ifndef WSPH_DIAG_H
#define WSPH_DIAG_H

struct wsph_loc {
	const char *file; /* owned by whoever loaded the file (one string per file) */
	int line;	  /* 1-based */
	int col;	  /* 1-based */
};

/* A load error: "file:line:column: message". */
struct wsph_diag {
	char text[2048]; /* a path of 1024 bytes (WSPH_SCENARIO_MAX_PATH) and its message */
};

#endif
