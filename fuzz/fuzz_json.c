/* libFuzzer target: the trace's line reader (reports/json.c over cJSON) on arbitrary bytes, one
 * line at a time as `wspharness show` reads a trace. */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz: %s: %s\n", what, detail);
	abort();
}

/* Every number node has its own text: it reads back as the double cJSON made of it (a text out of
 * step with the tree would not), and an integer it holds is that double too. */
static void check_numbers(const cJSON *v)
{
	for (; v; v = v->next) {
		if (cJSON_IsNumber(v)) {
			char *end;
			int64_t x;
			if (!v->valuestring)
				finding("a number without its text", "");
			if (strtod(v->valuestring, &end) != v->valuedouble || *end)
				finding("a number's text is not its value", v->valuestring);
			if (wsph_json_int(v, &x) && (double)x != v->valuedouble)
				finding("a number's integer is not its value", v->valuestring);
		}
		check_numbers(v->child);
	}
}

/* A refused line says "column N: what" with N from 1 to its length + 1, on one line. */
static void check_error(const char *err, size_t len)
{
	char *end;
	unsigned long col;

	if (strncmp(err, "column ", 7) != 0)
		finding("an error without its column", err);
	col = strtoul(err + 7, &end, 10);
	if (col < 1 || col > len + 1 || strncmp(end, ": ", 2) != 0 || !end[2] || strchr(err, '\n'))
		finding("a malformed error", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		size_t len = (size_t)(e - p);
		char *line = malloc(len ? len : 1), err[128];
		cJSON *v;
		if (!line)
			return 0;
		memcpy(line, p, len); /* exactly the line: ASan sees a read past it */
		v = wsph_json_parse(line, len, err, sizeof err);
		if (v)
			check_numbers(v);
		else
			check_error(err, len);
		cJSON_Delete(v);
		free(line);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
