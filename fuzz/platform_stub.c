/* The platform calls the scenario and error-table loaders link against, for the fuzz targets only: they load
 * from memory and never walk folders, and this keeps the rest of the program out of their build. */
#include "platform/platform.h"

int wsph_plat_is_dir(const char *path)
{
	(void)path;
	return 0;
}

int wsph_plat_list_dir(const char *dir, void (*fn)(void *ctx, const char *name, int is_dir),
		       void *ctx)
{
	(void)dir;
	(void)fn;
	(void)ctx;
	return -1;
}

int wsph_plat_is_file(const char *path)
{
	(void)path;
	return 0;
}
