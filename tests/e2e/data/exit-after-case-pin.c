/* POSIX half of exit-after-case: the module makes itself undeletable (dladdr needs _GNU_SOURCE,
 * which clashes with the SPI header's own socket types, hence a file of its own). */
#define _GNU_SOURCE
#include <dlfcn.h>

void exit_after_case_pin(void);

void exit_after_case_pin(void)
{
	Dl_info info;
	if (dladdr((void *)exit_after_case_pin, &info) && info.dli_fname)
		dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}
