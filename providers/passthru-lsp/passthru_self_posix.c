/* POSIX: the file name of this module (for the hard-coded-path variant), kept apart from the
 * Winsock mirror because dladdr needs _GNU_SOURCE, which brings in the C library's socket types. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#include "passthru_self.h"

static const char passthru_anchor = 0;

const char *passthru_module_path(void)
{
	Dl_info info;
	if (!dladdr(&passthru_anchor, &info) || !info.dli_fname)
		return NULL;
	return info.dli_fname;
}
