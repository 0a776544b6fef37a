/* Writes every report format of the hostile fixture model into a folder, for validate.py to check
 * with independent consumers (xmllint against our XSD, junitparser, a TAP and YAML reader, JSON).
 */
#include "fixture.h"
#include "outfile.h"
#include "report.h"
#include "util.h"

int main(int argc, char **argv)
{
	static const struct {
		const char *format, *file;
	} outs[] = {
	    {"junit", "fixture-junit.xml"},  {"tap", "fixture.tap"},
	    {"trace", "fixture.jsonl"},      {"matrix", "fixture.md"},
	    {"matrix-html", "fixture.html"},
	};
	struct wsph_results r;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: write_fixture DIR\n");
		return 2;
	}
	build(&r);
	for (int det = 0; det < 2; det++)
		for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
			struct wsph_report_opts o = {det, 0, 0, 0};
			char *path =
			    wsph_format("%s/%s%s", argv[1], det ? "det-" : "", outs[i].file);
			if (!path || wsph_report_to_path(wsph_outfile_write, path,
			                                 wsph_reporter_find(outs[i].format),
			                                 &r, &o) != 0) {
				fprintf(stderr, "write_fixture: cannot write %s\n",
				        path ? path : "?");
				rc = 1;
			}
			free(path);
		}
	wsph_results_free(&r);
	return rc;
}
