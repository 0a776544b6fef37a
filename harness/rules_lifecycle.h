/* Lifecycle checks the driver runs beside the rule engine: what a provider does while its DllMain
 * runs, and whether it leaves the procedure table it filled in WSPStartup alone afterwards. */
#ifndef WSPH_RULES_LIFECYCLE_H
#define WSPH_RULES_LIFECYCLE_H

#include "rules.h"
#include "trace.h"
#include "wsph/spi.h"

#include <stdint.h>

/* SPI.DllMain.NoNetworkCalls. The harness loaded or unloaded the provider on `thread`; everything
 * recorded on that thread after event `after` (the trace count before the load or unload) was
 * called by a DllMain (on POSIX: a constructor or destructor of the .so), since the harness itself
 * calls nothing meanwhile. `when` says which: "loading" or "unloading". */
void wsph_rules_dllmain_window(struct wsph_rules *r, struct wsph_trace *t, uint64_t after,
			       unsigned long thread, const char *when);

/* SPI.Startup.ProcTableNotRetained. Each WSPStartup gets a fresh lpProcTable buffer that stays
 * valid to the end of the scenario; once WSPStartup returns the driver copies it out, calls only
 * through the copy, and compares the buffer with the copy after every later call and step. */
struct wsph_proctables;
struct wsph_proctables *wsph_proctables_new(void);
/* A zeroed buffer for the WSPStartup about to be made in `step` (NULL when out of memory). */
WSPPROC_TABLE *wsph_proctables_next(struct wsph_proctables *p, int step);
/* WSPStartup returned: the buffer's content now is what the provider may not change. */
void wsph_proctables_returned(struct wsph_proctables *p, const WSPPROC_TABLE *buf);
/* Reports (once per buffer) a buffer whose content changed since its WSPStartup returned. `after`
 * names the moment ("WSPSocket returned"); `seq` the event it follows (0 none). */
void wsph_proctables_check(struct wsph_proctables *p, struct wsph_rules *r, int step,
			   uint64_t seq, const char *after);
/* Frees the buffers. With keep set (a provider thread may still run and write) they are left
 * allocated for good. */
void wsph_proctables_free(struct wsph_proctables *p, int keep);

#endif
