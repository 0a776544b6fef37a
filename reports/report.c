/* Reporter registry, atomic report files, and the locale-free time formats every writer uses. */
#include "report.h"
#include "platform/platform.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	wsph_reporter fn;
} reporters[] = {
	{"junit", wsph_report_junit},
	{"console", wsph_report_console},
	{"tap", wsph_report_tap},
	{"trace", wsph_report_trace},
	{"matrix", wsph_report_matrix},
	{"matrix-html", wsph_report_matrix_html},
};

wsph_reporter wsph_reporter_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < sizeof reporters / sizeof reporters[0]; i++)
		if (strcmp(reporters[i].name, name) == 0)
			return reporters[i].fn;
	return NULL;
}

/* Writes the report on f and flushes it. 0, or -1 with errno set (EIO when nothing said why). */
static int emit(FILE *f, wsph_reporter fn, const struct wsph_results *r,
		const struct wsph_report_opts *o)
{
	errno = 0;
	if (fn(f, r, o) == 0 && fflush(f) == 0 && !ferror(f))
		return 0;
	if (!errno)
		errno = EIO;
	return -1;
}

int wsph_report_to_path(const char *path, wsph_reporter fn, const struct wsph_results *r,
			const struct wsph_report_opts *o)
{
	char tmp[WSPH_REPORT_PATH_CAP], dst[WSPH_REPORT_PATH_CAP];
	FILE *f;
	int rc, e;

	if (!path || !*path || !fn) {
		errno = EINVAL;
		return -1;
	}
	/* what went to stdout before (the summary) comes first, also through /dev/stdout */
	fflush(stdout);
	if (strcmp(path, "-") == 0)
		return emit(stdout, fn, r, o);
	/* folders are made only when missing: a device or a pipe (\\.\pipe\x) has none to make */
	f = wsph_plat_out_open(path, tmp, dst, sizeof tmp);
	if (!f && errno == ENOENT && wsph_plat_mkdirs(path) == 0)
		f = wsph_plat_out_open(path, tmp, dst, sizeof tmp);
	if (!f)
		return -1;
	rc = emit(f, fn, r, o);
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

int wsph_report_write(const char *format, const char *path, const struct wsph_results *r,
		      const struct wsph_report_opts *o)
{
	wsph_reporter fn = wsph_reporter_find(format);
	const char *name = path && strcmp(path, "-") ? path : "standard output";

	if (!fn) {
		fprintf(stderr, "wspharness: cannot write %s: unknown report format '%s'\n", name,
			format ? format : "");
		return -1;
	}
	if (wsph_report_to_path(path, fn, r, o) == 0)
		return 0;
	fprintf(stderr, "wspharness: cannot write %s: %s\n", name, strerror(errno));
	return -1;
}

int64_t wsph_report_millis(double seconds)
{
	/* A year is plenty for a test case and keeps the conversion far from overflow. */
	if (!(seconds > 0))
		return 0;
	if (seconds > 1e12)
		seconds = 1e12;
	return (int64_t)(seconds * 1000.0 + 0.5);
}

void wsph_report_format_millis(char *buf, size_t len, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	snprintf(buf, len, "%lld.%03d", (long long)(ms / 1000), (int)(ms % 1000));
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

void wsph_report_format_timestamp(char *buf, size_t len, int64_t t)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t days, secs, year = 1970;
	int month = 0;

	/* Keep to years 0001-9999, which the format can show, and the loops short. */
	if (t < -62135596800)
		t = -62135596800;
	if (t > 253402300799)
		t = 253402300799;
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) { /* floor division for instants before 1970 */
		secs += 86400;
		days--;
	}
	while (days < 0) {
		year--;
		days += is_leap(year) ? 366 : 365;
	}
	while (days >= (is_leap(year) ? 366 : 365)) {
		days -= is_leap(year) ? 366 : 365;
		year++;
	}
	for (;;) {
		int dm = mdays[month] + (month == 1 && is_leap(year));
		if (days < dm)
			break;
		days -= dm;
		month++;
	}
	snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)year, month + 1,
		 (int)days + 1, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}
