/* Atomic output files (outfile.h): a temporary file beside the target, renamed over it. */
#include "outfile.h"
#include "platform/platform.h"

#include <errno.h>
#include <string.h>

/* Writes the text on f and flushes it. 0, or -1 with errno set (EIO when nothing said why). */
static int emit(FILE *f, wsph_outfile_fn fn, void *ctx)
{
	errno = 0;
	if (fn(f, ctx) == 0 && fflush(f) == 0 && !ferror(f))
		return 0;
	if (!errno)
		errno = EIO;
	return -1;
}

int wsph_outfile_write(const char *path, wsph_outfile_fn fn, void *ctx)
{
	char tmp[WSPH_OUTFILE_PATH_CAP], dst[WSPH_OUTFILE_PATH_CAP];
	FILE *f;
	int rc, e;

	if (!path || !*path || !fn) {
		errno = EINVAL;
		return -1;
	}
	/* what went to stdout before (the summary) comes first, also through /dev/stdout */
	fflush(stdout);
	if (strcmp(path, "-") == 0)
		return emit(stdout, fn, ctx);
	/* folders are made only when missing: a device or a pipe (\\.\pipe\x) has none to make */
	f = wsph_plat_out_open(path, tmp, dst, sizeof tmp);
	if (!f && errno == ENOENT && wsph_plat_mkdirs(path) == 0)
		f = wsph_plat_out_open(path, tmp, dst, sizeof tmp);
	if (!f)
		return -1;
	rc = emit(f, fn, ctx);
	e = errno;
	errno = 0;
	if (fclose(f) != 0 && rc == 0) {
		rc = -1;
		e = errno ? errno : EIO;
	}
	if (rc == 0 && tmp[0] && wsph_plat_replace_file(tmp, dst) != 0) {
		rc = -1;
		e = errno;
	}
	if (rc != 0 && tmp[0])
		wsph_plat_remove_file(tmp);
	errno = e;
	return rc;
}
