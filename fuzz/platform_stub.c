/* The platform calls the scenario and error-table loaders link against, for the fuzz targets only: they load
 * from memory and never walk folders, and this keeps the rest of the program out of their build. */
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>

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

enum wsph_file_kind wsph_plat_file_kind(const char *path)
{
	(void)path;
	return WSPH_FILE_MISSING;
}

int wsph_plat_dir_identity(const char *path, uint64_t id[2])
{
	(void)path;
	(void)id;
	return -1;
}

/* The fuzz_scenario target reads the bundled catalogue once; plain stdio is enough here. */
enum wsph_read_status wsph_plat_open_regular(const char *path, FILE **f,
					     enum wsph_file_kind *kind, char *err, size_t errlen)
{
	*kind = WSPH_FILE_REGULAR;
	if (!(*f = fopen(path, "rb"))) {
		snprintf(err, errlen, "cannot open");
		return WSPH_READ_CANNOT_OPEN;
	}
	return WSPH_READ_OK;
}

/* Paths in reports are relative to the working directory; the fuzz targets use no report. */
int wsph_plat_cwd(char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	return -1;
}
