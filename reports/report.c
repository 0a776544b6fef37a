/* Reporter registry, atomic report files, and the locale-free time formats every writer uses. */
#include "report.h"
#include "platform/platform.h"

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

int wsph_report_to_path(const char *path, wsph_reporter fn, const struct wsph_results *r,
			const struct wsph_report_opts *o)
{
	static const char suffix[] = ".tmp";
	char *tmp = NULL;
	FILE *f = NULL;
	size_t n;
	int rc = -1;

	if (!path || !*path || !fn)
		return -1;
	if (strcmp(path, "-") == 0) {
		rc = fn(stdout, r, o);
		if (fflush(stdout) != 0 || ferror(stdout))
			rc = -1;
		return rc;
	}
	if (wsph_plat_mkdirs(path) != 0)
		goto out;
	n = strlen(path);
	tmp = malloc(n + sizeof suffix);
	if (!tmp)
		goto out;
	memcpy(tmp, path, n);
	memcpy(tmp + n, suffix, sizeof suffix);
	f = fopen(tmp, "wb");
	if (!f)
		goto out;
	if (fn(f, r, o) != 0 || fflush(f) != 0 || ferror(f))
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (wsph_plat_replace_file(tmp, path) != 0)
		goto out;
	rc = 0;
out:
	if (f)
		fclose(f);
	if (rc != 0 && tmp)
		remove(tmp);
	free(tmp);
	return rc;
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
