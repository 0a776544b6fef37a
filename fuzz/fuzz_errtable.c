/* libFuzzer target: the WSP* error-table loader (scenarios/errors.yaml) on arbitrary bytes. */
#include "errtable.h"
#include "fuzz_common.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wsph_errtable t;
	struct wsph_diag diag;

	memset(&diag, 0, sizeof diag);
	if (wsph_errtable_load_string(&t, FUZZ_FILE, (const char *)data, size, &diag)) {
		fuzz_check_diag(&diag);
		return 0;
	}
	/* What loaded is consistent: every code listed is documented for its own function. */
	for (int f = 0; f < WSPH_FN_FIRST_WPU; f++) {
		const struct wsph_errtable_entry *e = &t.fn[f];
		if (e->present)
			fuzz_check_loc(&e->loc, t.path);
		for (size_t i = 0; i < e->n_codes; i++)
			if (wsph_errtable_documents(&t, (enum wsph_fn)f, e->codes[i]) != 1) {
				fprintf(stderr, "fuzz: code %d of function %d is not documented for it\n",
					e->codes[i], f);
				abort();
			}
	}
	wsph_errtable_free(&t);
	return 0;
}
