/* A file written whole or not at all: the reports (README.md, "Reports") go through it. */
#ifndef WSPH_OUTFILE_H
#define WSPH_OUTFILE_H

#include <stdio.h>

#define WSPH_OUTFILE_PATH_CAP 4096 /* bytes of a path, the file replaced and its temp */

/* Writes the text on f; 0, or -1 (with errno set when something said why). */
typedef int (*wsph_outfile_fn)(FILE *f, void *ctx);

/* Writes fn's text to path ("-" means stdout, flushed after): creates the parent directories; a
 * path that exists and is not a regular file (a FIFO, /dev/null, NUL) is written directly;
 * otherwise a new file with a unique name, created next to the file to replace (path, or the file
 * a symbolic link at path leads to), is written and renamed over it atomically. Whatever went to
 * stdout before is flushed first. Returns 0, or -1 with errno set (EIO when nothing said why),
 * leaving the previous file whole and no temporary file behind. */
int wsph_outfile_write(const char *path, wsph_outfile_fn fn, void *ctx);

#endif
