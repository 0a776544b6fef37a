/* The driver: executes one scenario's steps against the provider's WSPPROC_TABLE. */
#ifndef WSPH_DRIVER_H
#define WSPH_DRIVER_H

#include "results.h"
#include "ruleset.h"
#include "scenario.h"
#include "wsph/spi.h"

struct wsph_catalog;

struct wsph_drive_opts {
	const char *provider; /* module path */
	unsigned kind;	      /* WSPH_KIND_IFS or WSPH_KIND_NONIFS */
	const struct wsph_catalog *catalog; /* what the harness registers (see catalog.h) */
	int layered;			    /* the provider under test is a layer */
	const struct wsph_ruleset *set;
	size_t trace_cap; /* bytes of trace text kept in the case */
	void (*on_finding)(const struct wsph_finding *f); /* each finding as it is made (may be NULL) */
};

/* Loads the provider, runs the scenario, unloads it, and fills `c` (outcome, findings, trace).
 * Returns 0; -1 when the provider could not be loaded or has no WSPStartup (c is an ERROR). */
int wsph_drive(const struct wsph_drive_opts *o, const struct wsph_scenario *sc,
	       struct wsph_case *c);

/* Whether the last wsph_drive unloaded the provider while it still held an unbalanced
 * WSPStartup (a scenario that ends without the final WSPCleanup): whatever the provider had
 * allocated is then lost to the process, through no fault of the provider. */
int wsph_drive_unloaded_uncleaned(void);
/* Whether the driver has an action for the step operation (every row of steps.c must). */
int wsph_drive_has_action(int op);

/* Checks that a provider loads and exports WSPStartup. 0 ok, else -1 with a message. The module
 * stays loaded: a process that loads a provider unloads it only after its final WSPCleanup (as
 * ws2_32 does), so the caller ends without unloading it. When lsp_guid is not NULL and the
 * module exports GetLspGuid (as LSPs do, naming the GUID of the hidden catalog entry they look
 * for), it is called and 1 is returned with the GUID. */
int wsph_drive_probe(const char *provider, char *err, size_t errlen, GUID *lsp_guid);

#endif
