/* The fake Winsock catalog: built from flags (--layered/--lower/--guid) or a manifest (--catalog). */
#include "catalog.h"

#include "platform/platform.h"
#include "util.h"
#include "yamlutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_BASE_TCP 1001
#define ID_BASE_UDP 1002
#define ID_LAYER 1101
#define ID_LAYER_TCP 1111
#define ID_LAYER_UDP 1112

static const GUID default_base_guid = {
	0x5f8a6c3e, 0x1b2d, 0x4e7f, {0x9a, 0x10, 0x57, 0x70, 0x68, 0x61, 0x72, 0x6e}};
static const GUID default_layer_guid = {
	0x5f8a6c3f, 0x1b2d, 0x4e7f, {0x9a, 0x10, 0x4c, 0x53, 0x50, 0x6c, 0x61, 0x79}};

static void set_wide(WCHAR *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < n; i++)
		dst[i] = (WCHAR)(unsigned char)src[i];
	dst[i] = 0;
}

static DWORD flags_for(int dgram, unsigned kind)
{
	DWORD f = dgram ? (XP1_CONNECTIONLESS | XP1_MESSAGE_ORIENTED | XP1_SUPPORT_BROADCAST)
			: (XP1_GUARANTEED_DELIVERY | XP1_GUARANTEED_ORDER | XP1_GRACEFUL_CLOSE |
			   XP1_EXPEDITED_DATA);
	return kind == WSPH_KIND_IFS ? f | XP1_IFS_HANDLES : f;
}

static void fill_protocol(WSAPROTOCOL_INFOW *pi, int dgram)
{
	pi->iVersion = 2;
	pi->iAddressFamily = AF_INET;
	pi->iMaxSockAddr = (int)sizeof(struct sockaddr_in);
	pi->iMinSockAddr = (int)sizeof(struct sockaddr_in);
	pi->iSocketType = dgram ? SOCK_DGRAM : SOCK_STREAM;
	pi->iProtocol = dgram ? IPPROTO_UDP : IPPROTO_TCP;
	pi->dwMessageSize = dgram ? 65467 : 0;
}

static int add_provider(struct wsph_catalog *c, const GUID *g, const char *path, int under_test)
{
	if (c->n_providers == WSPH_CATALOG_MAX_PROVIDERS)
		return -1;
	struct wsph_catalog_provider *p = &c->providers[c->n_providers];
	memset(p, 0, sizeof *p);
	p->guid = *g;
	p->path = wsph_strdup(path);
	p->under_test = under_test;
	if (!p->path)
		return -1;
	return (int)c->n_providers++;
}

static struct wsph_catalog_entry *add_entry(struct wsph_catalog *c, int provider, DWORD id,
					    const char *name)
{
	if (c->n_entries == WSPH_CATALOG_MAX_ENTRIES)
		return NULL;
	struct wsph_catalog_entry *e = &c->entries[c->n_entries++];
	memset(e, 0, sizeof *e);
	e->provider = provider;
	e->info.ProviderId = c->providers[provider].guid;
	e->info.dwCatalogEntryId = id;
	set_wide(e->info.szProtocol, WSAPROTOCOL_LEN + 1, name);
	return e;
}

static void add_base_entries(struct wsph_catalog *c, int prov, unsigned kind, const char *what)
{
	char name[128];
	for (int dgram = 0; dgram < 2; dgram++) {
		snprintf(name, sizeof name, "%s [%s/IP]", what, dgram ? "UDP" : "TCP");
		struct wsph_catalog_entry *e =
			add_entry(c, prov, dgram ? ID_BASE_UDP : ID_BASE_TCP, name);
		if (!e)
			return;
		fill_protocol(&e->info, dgram);
		e->info.dwServiceFlags1 = flags_for(dgram, kind);
		e->info.ProtocolChain.ChainLen = BASE_PROTOCOL;
		e->info.ProtocolChain.ChainEntries[0] = e->info.dwCatalogEntryId;
	}
}

int wsph_catalog_base(struct wsph_catalog *c, const char *provider, unsigned kind)
{
	memset(c, 0, sizeof *c);
	int p = add_provider(c, &default_base_guid, provider, 1);
	if (p < 0)
		return -1;
	add_base_entries(c, p, kind, "wspharness catalog entry");
	c->stream_entry = 0;
	c->dgram_entry = 1;
	return 0;
}

int wsph_catalog_layered(struct wsph_catalog *c, const char *lsp, unsigned lsp_kind,
			 const char *lower, unsigned lower_kind, const GUID *guid)
{
	memset(c, 0, sizeof *c);
	/* The lower provider is registered under an environment string, as %SystemRoot% is for
	 * mswsock.dll, so a layer that forgets to expand it is caught. */
	const char *base = wsph_path_base(lower);
	size_t dirlen = (size_t)(base - lower);
	char sep = dirlen ? lower[dirlen - 1] : '/';
	snprintf(c->env_name, sizeof c->env_name, "WSPH_LOWER_DIR");
	c->env_value = wsph_strndup(lower, dirlen ? dirlen - 1 : 0);
	char *registered = dirlen ? wsph_format("%%WSPH_LOWER_DIR%%%c%s", sep, base)
				  : wsph_strdup(lower);
	if (!c->env_value || !registered) {
		free(registered);
		return -1;
	}
	int lp = add_provider(c, &default_base_guid, registered, 0);
	free(registered);
	int up = add_provider(c, guid ? guid : &default_layer_guid, lsp, 1);
	if (lp < 0 || up < 0)
		return -1;
	add_base_entries(c, lp, lower_kind, "wspharness base");
	struct wsph_catalog_entry *dummy = add_entry(c, up, ID_LAYER, "wspharness layer under test");
	if (!dummy)
		return -1;
	dummy->info.ProtocolChain.ChainLen = LAYERED_PROTOCOL;
	dummy->info.dwServiceFlags1 = flags_for(0, lsp_kind);
	fill_protocol(&dummy->info, 0);
	for (int dgram = 0; dgram < 2; dgram++) {
		struct wsph_catalog_entry *e =
			add_entry(c, up, dgram ? ID_LAYER_UDP : ID_LAYER_TCP,
				  dgram ? "wspharness layer over [UDP/IP]" : "wspharness layer over [TCP/IP]");
		if (!e)
			return -1;
		fill_protocol(&e->info, dgram);
		/* The installer keeps the base's flags and clears XP1_IFS_HANDLES for a non-IFS layer. */
		e->info.dwServiceFlags1 = flags_for(dgram, lower_kind);
		if (lsp_kind != WSPH_KIND_IFS)
			e->info.dwServiceFlags1 &= ~(DWORD)XP1_IFS_HANDLES;
		e->info.ProtocolChain.ChainLen = 2;
		e->info.ProtocolChain.ChainEntries[0] = ID_LAYER;
		e->info.ProtocolChain.ChainEntries[1] = dgram ? ID_BASE_UDP : ID_BASE_TCP;
	}
	c->stream_entry = (int)c->n_entries - 2;
	c->dgram_entry = (int)c->n_entries - 1;
	return 0;
}

void wsph_catalog_free(struct wsph_catalog *c)
{
	for (size_t i = 0; i < c->n_providers; i++)
		free(c->providers[i].path);
	free(c->env_value);
	memset(c, 0, sizeof *c);
}

const struct wsph_catalog_entry *wsph_catalog_by_id(const struct wsph_catalog *c, DWORD id)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (c->entries[i].info.dwCatalogEntryId == id)
			return &c->entries[i];
	return NULL;
}

const struct wsph_catalog_provider *wsph_catalog_provider_by_guid(const struct wsph_catalog *c,
								  const GUID *g)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (!memcmp(&c->providers[i].guid, g, sizeof *g))
			return &c->providers[i];
	return NULL;
}

const struct wsph_catalog_provider *wsph_catalog_under_test(const struct wsph_catalog *c)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (c->providers[i].under_test)
			return &c->providers[i];
	return NULL;
}

int wsph_catalog_is_own(const struct wsph_catalog *c, DWORD id)
{
	const struct wsph_catalog_entry *e = wsph_catalog_by_id(c, id);
	return e && c->providers[e->provider].under_test;
}

unsigned wsph_catalog_provider_kind(const struct wsph_catalog *c, int provider)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (c->entries[i].provider == provider &&
		    c->entries[i].info.ProtocolChain.ChainLen != LAYERED_PROTOCOL)
			return (c->entries[i].info.dwServiceFlags1 & XP1_IFS_HANDLES) ? WSPH_KIND_IFS
										       : WSPH_KIND_NONIFS;
	return WSPH_KIND_NONIFS;
}

size_t wsph_catalog_ids(const struct wsph_catalog *c, int provider, uint32_t *ids, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_entries && n < max; i++)
		if (c->entries[i].provider == provider)
			ids[n++] = c->entries[i].info.dwCatalogEntryId;
	return n;
}

const char *wsph_path_base(const char *path)
{
	const char *b = path;
	for (const char *p = path; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return b;
}

char *wsph_catalog_expand(const struct wsph_catalog *c, const char *path)
{
	size_t cap = strlen(path) + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = path; *p;) {
		const char *end = *p == '%' ? strchr(p + 1, '%') : NULL;
		const char *val = NULL;
		size_t take = 1;
		if (end && end > p + 1) {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)(end - p - 1), p + 1);
			if (c && c->env_value && !strcmp(name, c->env_name))
				val = c->env_value;
			else
				val = getenv(name);
			if (val)
				take = (size_t)(end - p) + 1;
		}
		const char *src = val ? val : p;
		size_t len = val ? strlen(val) : 1;
		if (n + len + 1 > cap) {
			cap = (n + len + 1) * 2;
			char *q = realloc(out, cap);
			if (!q) {
				free(out);
				return NULL;
			}
			out = q;
		}
		memcpy(out + n, src, len);
		n += len;
		p += take;
	}
	out[n] = '\0';
	return out;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int wsph_guid_parse(const char *text, GUID *out)
{
	/* {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}, braces optional */
	char hex[32];
	size_t n = 0, len = strlen(text);
	const char *p = text, *end = text + len;
	if (len && *p == '{') {
		if (end[-1] != '}')
			return -1;
		p++;
		end--;
	}
	if (end - p != 36)
		return -1;
	for (int i = 0; p < end; p++, i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (*p != '-')
				return -1;
			continue;
		}
		if (hexval(*p) < 0)
			return -1;
		hex[n++] = *p;
	}
	unsigned char b[16];
	for (int i = 0; i < 16; i++)
		b[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	out->Data1 = (DWORD)b[0] << 24 | (DWORD)b[1] << 16 | (DWORD)b[2] << 8 | b[3];
	out->Data2 = (WORD)(b[4] << 8 | b[5]);
	out->Data3 = (WORD)(b[6] << 8 | b[7]);
	memcpy(out->Data4, b + 8, 8);
	return 0;
}

void wsph_guid_format(const GUID *g, char *buf, size_t len)
{
	snprintf(buf, len, "{%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
		 (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2],
		 g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

int wsph_catalog_path_upcall(const struct wsph_catalog *c, const GUID *id, WCHAR *path, LPINT len,
			     LPINT lpErrno, int fault, struct wsph_event *ev)
{
	const struct wsph_catalog_provider *p = c && id ? wsph_catalog_provider_by_guid(c, id) : NULL;
	int need = p ? (int)strlen(p->path) + 1 : 0;
	if (p)
		snprintf(ev->text, sizeof ev->text, "%s", p->path);
	if (fault) {
		if (fault == WSAEFAULT && len && p)
			*len = need;
		ev->err = fault;
	} else if (!id || !len || !lpErrno) {
		ev->err = WSAEFAULT;
	} else if (!p) {
		ev->err = WSAEINVAL;
	} else if (!path || *len < need) {
		*len = need;
		ev->err = WSAEFAULT;
	} else {
		for (int i = 0; i < need; i++)
			path[i] = (WCHAR)(unsigned char)p->path[i];
		*len = need;
		return 0;
	}
	return SOCKET_ERROR;
}

/* ---- the manifest ---- */

static int load_entry(struct wsph_catalog *c, int prov, const struct wsph_yaml_node *n,
		      struct wsph_diag *diag)
{
	static const char *const keys[] = {"id", "name", "protocol", "ifs", "flags", "chain", NULL};
	static const char *const protocols[] = {"tcp", "udp", NULL};
	static const char *const bools[] = {"false", "true", NULL};
	static const struct {
		const char *name;
		DWORD bit;
	} flag_names[] = {
		{"XP1_CONNECTIONLESS", XP1_CONNECTIONLESS},
		{"XP1_GUARANTEED_DELIVERY", XP1_GUARANTEED_DELIVERY},
		{"XP1_GUARANTEED_ORDER", XP1_GUARANTEED_ORDER},
		{"XP1_MESSAGE_ORIENTED", XP1_MESSAGE_ORIENTED},
		{"XP1_PSEUDO_STREAM", XP1_PSEUDO_STREAM},
		{"XP1_GRACEFUL_CLOSE", XP1_GRACEFUL_CLOSE},
		{"XP1_EXPEDITED_DATA", XP1_EXPEDITED_DATA},
		{"XP1_SUPPORT_BROADCAST", XP1_SUPPORT_BROADCAST},
		{"XP1_IFS_HANDLES", XP1_IFS_HANDLES},
		{"XP1_PARTIAL_MESSAGE", XP1_PARTIAL_MESSAGE},
	};
	const struct wsph_yaml_node *v;
	long long ll;
	int idx;
	char found[112];

	if (wsph_yaml_want_mapping(n, "each item of 'entries'", diag) ||
	    wsph_yaml_check_keys(n, keys, "catalog entry", diag) ||
	    wsph_yaml_require(n, "id", "catalog entry", &v, diag) ||
	    wsph_yaml_integer(v, "'id'", 1, 0x7fffffff, &ll, diag))
		return -1;
	if (wsph_catalog_by_id(c, (DWORD)ll))
		return wsph_yaml_error(diag, v, "duplicate catalog entry id %lld", ll);
	const struct wsph_yaml_node *name = wsph_yaml_get(n, "name");
	if (name && wsph_yaml_want_string(name, "'name'", diag))
		return -1;
	struct wsph_catalog_entry *e = add_entry(c, prov, (DWORD)ll, name ? name->text : "entry");
	if (!e)
		return wsph_yaml_error(diag, n, "too many catalog entries (at most %d)",
				       WSPH_CATALOG_MAX_ENTRIES);
	e->loc = wsph_yaml_loc(n);
	int dgram = 0;
	v = wsph_yaml_get(n, "protocol");
	if (v) {
		if (wsph_yaml_enum(v, "'protocol'", protocols, &idx, diag))
			return -1;
		dgram = idx;
	}
	fill_protocol(&e->info, dgram);
	unsigned kind = WSPH_KIND_NONIFS;
	v = wsph_yaml_get(n, "ifs");
	if (v) {
		if (wsph_yaml_enum(v, "'ifs'", bools, &idx, diag))
			return -1;
		kind = idx ? WSPH_KIND_IFS : WSPH_KIND_NONIFS;
	}
	e->info.dwServiceFlags1 = flags_for(dgram, kind);
	v = wsph_yaml_get(n, "flags");
	if (v) {
		if (wsph_yaml_want_sequence(v, "'flags'", 0, diag))
			return -1;
		e->info.dwServiceFlags1 = kind == WSPH_KIND_IFS ? XP1_IFS_HANDLES : 0;
		for (size_t i = 0; i < v->n_items; i++) {
			size_t k;
			for (k = 0; k < sizeof flag_names / sizeof flag_names[0]; k++)
				if (wsph_yaml_scalar_is(v->items[i], flag_names[k].name))
					break;
			if (k == sizeof flag_names / sizeof flag_names[0])
				return wsph_yaml_error(diag, v->items[i],
						       "unknown service flag %s",
						       wsph_yaml_describe(v->items[i], found,
									  sizeof found));
			e->info.dwServiceFlags1 |= flag_names[k].bit;
		}
	}
	if (wsph_yaml_require(n, "chain", "catalog entry", &v, diag) ||
	    wsph_yaml_want_sequence(v, "'chain'", 0, diag))
		return -1;
	if (v->n_items > MAX_PROTOCOL_CHAIN)
		return wsph_yaml_error(diag, v, "a protocol chain has at most %d entries (found %zu)",
				       MAX_PROTOCOL_CHAIN, v->n_items);
	e->info.ProtocolChain.ChainLen = (int)v->n_items;
	for (size_t i = 0; i < v->n_items; i++) {
		if (wsph_yaml_integer(v->items[i], "each 'chain' item", 1, 0x7fffffff, &ll, diag))
			return -1;
		e->info.ProtocolChain.ChainEntries[i] = (DWORD)ll;
	}
	return 0;
}

/* Do two providers of the catalog name one DLL? Installers register an LSP's hidden entry and its
 * chained entries under different GUIDs, each with the LSP's path (compared expanded, as the
 * platform compares paths). */
static int same_module(const struct wsph_catalog *c, int a, int b)
{
	if (a == b)
		return 1;
	char *x = wsph_catalog_expand(c, c->providers[a].path);
	char *y = wsph_catalog_expand(c, c->providers[b].path);
	int same = x && y && wsph_plat_same_path(x, y);
	free(x);
	free(y);
	return same;
}

int wsph_catalog_has_layered_entry(const struct wsph_catalog *c,
				   const struct wsph_catalog_provider *p)
{
	for (size_t i = 0; i < c->n_entries; i++)
		if (&c->providers[c->entries[i].provider] == p &&
		    c->entries[i].info.ProtocolChain.ChainLen == LAYERED_PROTOCOL)
			return 1;
	return 0;
}

/* Chains that no installer could register are errors. The one provider marked 'under_test'
 * names the DLL under test: every provider registered with its path is that DLL too. */
static int validate(struct wsph_catalog *c, const struct wsph_yaml_node *root, struct wsph_diag *diag)
{
	int under_test = -1;
	for (size_t i = 0; i < c->n_providers; i++)
		if (c->providers[i].under_test) {
			if (under_test >= 0)
				return wsph_yaml_error(diag, root, "more than one provider has "
								  "'under_test: true'");
			under_test = (int)i;
		}
	if (under_test < 0)
		return wsph_yaml_error(diag, root, "no provider has 'under_test: true'");
	for (size_t i = 0; i < c->n_providers; i++)
		c->providers[i].under_test = same_module(c, (int)i, under_test);
	c->stream_entry = c->dgram_entry = -1;
	for (size_t i = 0; i < c->n_entries; i++) {
		struct wsph_catalog_entry *e = &c->entries[i];
		struct wsph_yaml_node at = {0};
		at.file = e->loc.file;
		at.line = e->loc.line;
		at.col = e->loc.col;
		const WSAPROTOCOLCHAIN *ch = &e->info.ProtocolChain;
		DWORD id = e->info.dwCatalogEntryId;
		if (ch->ChainLen == BASE_PROTOCOL && ch->ChainEntries[0] != id)
			return wsph_yaml_error(diag, &at, "a base entry's chain must be [%lu], its own id",
					       (unsigned long)id);
		if (ch->ChainLen > 1) {
			for (int k = 0; k < ch->ChainLen; k++)
				if (!wsph_catalog_by_id(c, ch->ChainEntries[k]))
					return wsph_yaml_error(diag, &at,
							       "chain element %lu is not a catalog entry",
							       (unsigned long)ch->ChainEntries[k]);
			const struct wsph_catalog_entry *first = wsph_catalog_by_id(c, ch->ChainEntries[0]);
			const struct wsph_catalog_entry *last =
				wsph_catalog_by_id(c, ch->ChainEntries[ch->ChainLen - 1]);
			if (first->info.ProtocolChain.ChainLen != LAYERED_PROTOCOL ||
			    !same_module(c, first->provider, e->provider))
				return wsph_yaml_error(diag, &at,
						       "the first chain element must be a layered entry "
						       "(chain: []) of the same DLL (a provider with this "
						       "entry's path)");
			if (last->info.ProtocolChain.ChainLen != BASE_PROTOCOL)
				return wsph_yaml_error(diag, &at,
						       "the last chain element must be a base entry "
						       "(a chain of its own id)");
			for (int k = 1; k < ch->ChainLen - 1; k++)
				if (wsph_catalog_by_id(c, ch->ChainEntries[k])->info.ProtocolChain.ChainLen !=
				    LAYERED_PROTOCOL)
					return wsph_yaml_error(diag, &at,
							       "middle chain elements must be layered "
							       "entries");
		}
		if (c->providers[e->provider].under_test && ch->ChainLen != LAYERED_PROTOCOL) {
			if (e->info.iSocketType == SOCK_STREAM && c->stream_entry < 0)
				c->stream_entry = (int)i;
			if (e->info.iSocketType == SOCK_DGRAM && c->dgram_entry < 0)
				c->dgram_entry = (int)i;
		}
	}
	if (c->stream_entry < 0)
		return wsph_yaml_error(diag, root,
				       "the provider under test has no TCP entry that is a base or a "
				       "chain (the harness starts it with one)");
	return 0;
}

int wsph_catalog_load(struct wsph_catalog *c, const char *path, struct wsph_diag *diag)
{
	static const char *const top_keys[] = {"providers", NULL};
	static const char *const prov_keys[] = {"guid", "path", "under_test", "entries", NULL};
	static const char *const bools[] = {"false", "true", NULL};
	struct wsph_yaml_doc doc = {0};
	const struct wsph_yaml_node *v, *list;
	int rc = -1, idx;
	char found[112];

	memset(c, 0, sizeof *c);
	if (wsph_yaml_load_file(&doc, path, diag))
		return -1;
	/* Paths in a manifest may use %WSPH_CATALOG_DIR%, the manifest's folder. */
	const char *base = wsph_path_base(path);
	snprintf(c->env_name, sizeof c->env_name, "WSPH_CATALOG_DIR");
	c->env_value = wsph_strndup(path, base > path ? (size_t)(base - path - 1) : 0);
	if (wsph_yaml_check_keys(doc.root, top_keys, "catalog manifest", diag) ||
	    wsph_yaml_require(doc.root, "providers", "catalog manifest", &list, diag) ||
	    wsph_yaml_want_sequence(list, "'providers'", 1, diag))
		goto out;
	for (size_t i = 0; i < list->n_items; i++) {
		const struct wsph_yaml_node *n = list->items[i];
		GUID g;
		if (wsph_yaml_want_mapping(n, "each item of 'providers'", diag) ||
		    wsph_yaml_check_keys(n, prov_keys, "provider", diag) ||
		    wsph_yaml_require(n, "guid", "provider", &v, diag) ||
		    wsph_yaml_want_string(v, "'guid'", diag))
			goto out;
		if (wsph_guid_parse(v->text, &g)) {
			wsph_yaml_error(diag, v, "'guid' must look like "
						 "{5f8a6c3e-1b2d-4e7f-9a10-577068617269} (found %s)",
					wsph_yaml_describe(v, found, sizeof found));
			goto out;
		}
		if (wsph_catalog_provider_by_guid(c, &g)) {
			wsph_yaml_error(diag, v, "duplicate provider GUID");
			goto out;
		}
		int under = 0;
		const struct wsph_yaml_node *u = wsph_yaml_get(n, "under_test");
		if (u) {
			if (wsph_yaml_enum(u, "'under_test'", bools, &idx, diag))
				goto out;
			under = idx;
		}
		if (wsph_yaml_require(n, "path", "provider", &v, diag) ||
		    wsph_yaml_want_string(v, "'path'", diag))
			goto out;
		int p = add_provider(c, &g, v->text, under);
		if (p < 0) {
			wsph_yaml_error(diag, n, "too many providers (at most %d)",
					WSPH_CATALOG_MAX_PROVIDERS);
			goto out;
		}
		c->providers[p].loc = wsph_yaml_loc(n);
		if (wsph_yaml_require(n, "entries", "provider", &v, diag) ||
		    wsph_yaml_want_sequence(v, "'entries'", 1, diag))
			goto out;
		for (size_t k = 0; k < v->n_items; k++)
			if (load_entry(c, p, v->items[k], diag))
				goto out;
	}
	rc = validate(c, doc.root, diag);
out:
	wsph_yaml_free(&doc);
	if (rc)
		wsph_catalog_free(c);
	return rc;
}
