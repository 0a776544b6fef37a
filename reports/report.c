/* Reporter registry, a report to its file through the caller's writer, and the locale-free time
 * formats every writer uses. */
#include "report.h"

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

/* A report to write: the writer and what it reads. */
struct job {
	wsph_reporter fn;
	const struct wsph_results *r;
	const struct wsph_report_opts *o;
};

static int emit(FILE *f, void *ctx)
{
	const struct job *j = ctx;
	return j->fn(f, j->r, j->o);
}

int wsph_report_to_path(wsph_report_sink sink, const char *path, wsph_reporter fn,
			const struct wsph_results *r, const struct wsph_report_opts *o)
{
	struct job j = {fn, r, o};

	if (!sink || !fn) {
		errno = EINVAL;
		return -1;
	}
	return sink(path, emit, &j);
}

int wsph_report_write(wsph_report_sink sink, const char *format, const char *path,
		      const struct wsph_results *r, const struct wsph_report_opts *o)
{
	wsph_reporter fn = wsph_reporter_find(format);
	const char *name = path && strcmp(path, "-") ? path : "standard output";

	if (!fn) {
		fprintf(stderr, "wspharness: cannot write %s: unknown report format '%s'\n", name,
			format ? format : "");
		return -1;
	}
	if (wsph_report_to_path(sink, path, fn, r, o) == 0)
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
