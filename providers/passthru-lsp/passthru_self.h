/* The file name of the module this code is linked into (POSIX only). */
#ifndef PASSTHRU_SELF_H
#define PASSTHRU_SELF_H

/* NULL when unknown; the string belongs to the dynamic loader. */
const char *passthru_module_path(void);

#endif
