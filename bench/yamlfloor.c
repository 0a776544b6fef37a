/* The floor of loading scenario files: read every *.yaml in a folder and run libyaml's parser
 * over it to the end of the stream, keeping nothing.
 * Usage: bench_yamlfloor DIR. Prints "RESULT yamlfloor_s SECONDS FILES". */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	int rc = 0;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = -1;
			break;
		}
		int end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_yamlfloor DIR\n");
		return 2;
	}
	double t0 = now_s();
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 2;
	}
	long files = 0;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 5, ".yaml"))
			continue;
		snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
		if (parse_file(path) != 0) {
			fprintf(stderr, "bench_yamlfloor: %s: parse error\n", path);
			return 3;
		}
		files++;
	}
	closedir(d);
	printf("RESULT yamlfloor_s %.6f %ld\n", now_s() - t0, files);
	return 0;
}
