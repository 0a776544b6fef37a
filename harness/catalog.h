/* The fake Winsock catalog: protocol entries, chains and provider paths, as an installer registers them. */
#ifndef WSPH_CATALOG_H
#define WSPH_CATALOG_H

#include "scenario.h"
#include "trace.h"
#include "wsph/spi.h"

#define WSPH_CATALOG_MAX_ENTRIES 32
#define WSPH_CATALOG_MAX_PROVIDERS 8

struct wsph_catalog_provider {
	struct wsph_loc loc;
	GUID guid;
	char *path;    /* as registered: may hold environment strings such as %SystemRoot% */
	int under_test; /* the DLL the harness starts (every provider registered with its path) */
};

struct wsph_catalog_entry {
	struct wsph_loc loc;
	int provider; /* index into providers */
	WSAPROTOCOL_INFOW info;
};

struct wsph_catalog {
	struct wsph_catalog_provider providers[WSPH_CATALOG_MAX_PROVIDERS];
	size_t n_providers;
	struct wsph_catalog_entry entries[WSPH_CATALOG_MAX_ENTRIES];
	size_t n_entries;
	int stream_entry; /* the entry the provider under test is started with (index) */
	int dgram_entry;  /* the entry for datagram sockets (index, -1 none) */
	/* An environment variable the harness sets so registered paths can use it. */
	char env_name[64];
	char *env_value;
};

/* The provider under test as a base provider: entries 1001 (TCP) and 1002 (UDP). */
int wsph_catalog_base(struct wsph_catalog *c, const char *provider, unsigned kind);
/* The provider under test as a layer (a dummy entry 1101 and chained entries 1111/1112) over
 * `lower`, a base provider of `lower_kind` (entries 1001/1002). `guid` may be NULL. */
int wsph_catalog_layered(struct wsph_catalog *c, const char *lsp, unsigned lsp_kind,
			 const char *lower, unsigned lower_kind, const GUID *guid);
/* Loads a catalog manifest (--catalog FILE). 0, or -1 with file:line:column in diag. */
int wsph_catalog_load(struct wsph_catalog *c, const char *path, struct wsph_diag *diag);
void wsph_catalog_free(struct wsph_catalog *c);

const struct wsph_catalog_entry *wsph_catalog_by_id(const struct wsph_catalog *c, DWORD id);
const struct wsph_catalog_provider *wsph_catalog_provider_by_guid(const struct wsph_catalog *c,
								  const GUID *g);
/* The provider marked under test (the first, when installers registered the DLL under several
 * GUIDs: all of them are marked). */
const struct wsph_catalog_provider *wsph_catalog_under_test(const struct wsph_catalog *c);
/* Has p a layered (hidden, chain: []) entry? */
int wsph_catalog_has_layered_entry(const struct wsph_catalog *c,
				   const struct wsph_catalog_provider *p);
/* Is the provider of this entry the one under test? */
int wsph_catalog_is_own(const struct wsph_catalog *c, DWORD id);
/* The kind (WSPH_KIND_*) of a provider: IFS if its entries carry XP1_IFS_HANDLES. */
unsigned wsph_catalog_provider_kind(const struct wsph_catalog *c, int provider);
/* Catalog ids of one provider; returns how many (at most max). */
size_t wsph_catalog_ids(const struct wsph_catalog *c, int provider, uint32_t *ids, size_t max);
/* Expands %NAME% from the environment (and the catalog's own variable). malloc'd. */
char *wsph_catalog_expand(const struct wsph_catalog *c, const char *path);
/* Base name of a path ("mockbase.dll"), pointing into it. */
const char *wsph_path_base(const char *path);
int wsph_guid_parse(const char *text, GUID *out);
/* "{5f8a6c3e-1b2d-4e7f-9a10-577068617269}" (len >= 39). */
void wsph_guid_format(const GUID *g, char *buf, size_t len);
/* WPUGetProviderPath / WSCGetProviderPath over the catalog: the registered path (environment
 * strings unexpanded), WSAEINVAL for an unknown GUID, WSAEFAULT with the needed length (in
 * characters, NUL included) when the buffer is too small. `fault` (0 none) is an injected error.
 * Returns 0 or SOCKET_ERROR with ev->err set; ev->text gets the path. */
int wsph_catalog_path_upcall(const struct wsph_catalog *c, const GUID *id, WCHAR *path, LPINT len,
			     LPINT lpErrno, int fault, struct wsph_event *ev);

#endif
