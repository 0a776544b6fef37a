/* khandle where the OS has no kernel handles for it (POSIX): never available, stays in memory. */
#include <stddef.h>

#include "khandle.h"

struct mb_kh *mb_kh_create(void)
{
	return NULL;
}

uintptr_t mb_kh_value(const struct mb_kh *k)
{
	(void)k;
	return 0;
}

void mb_kh_ref(struct mb_kh *k)
{
	(void)k;
}

void mb_kh_unref(struct mb_kh *k)
{
	(void)k;
}

int mb_kh_complete(struct mb_kh *k, void *ov, unsigned long bytes)
{
	(void)k;
	(void)ov;
	(void)bytes;
	return -1;
}

void mb_kh_cleanup(void)
{
}
