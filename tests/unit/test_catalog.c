/* The catalog manifest loader (harness/catalog.c): what installers write loads, what none could
 * register is refused with file:line:column. */
#include "catalog.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[256];

static int load(struct wsph_catalog *c, const char *text, struct wsph_diag *diag)
{
	snprintf(path, sizeof path, "/tmp/wsph-test-catalog-%d.yaml", (int)getpid());
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	int rc = wsph_catalog_load(c, path, diag);
	remove(path);
	return rc;
}

/* The hidden entry under the GUID the LSP looks for, the chains under the installer's GUID (one
 * path, written with either separator). */
static const char installer[] =
	"providers:\n"
	"  - guid: \"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}\"\n"
	"    path: \"C:\\\\lsp\\\\mylsp.dll\"\n"
	"    under_test: true\n"
	"    entries:\n"
	"      - {id: 3101, chain: []}\n"
	"  - guid: \"{1a2b3c4d-5e6f-7a8b-9cad-becfd0e1f2a3}\"\n"
	"    path: \"C:/lsp/mylsp.dll\"\n"
	"    entries:\n"
	"      - {id: 3111, protocol: tcp, chain: [3101, 3001]}\n"
	"      - {id: 3112, protocol: udp, chain: [3101, 3002]}\n"
	"  - guid: \"{11111111-2222-3333-4444-555555555555}\"\n"
	"    path: \"base.dll\"\n"
	"    entries:\n"
	"      - {id: 3001, protocol: tcp, ifs: true, chain: [3001]}\n"
	"      - {id: 3002, protocol: udp, ifs: true, chain: [3002]}\n";

Test(catalog, the_chains_of_an_installer_under_another_guid_are_the_dlls_own)
{
	struct wsph_catalog c;
	struct wsph_diag diag;
	cr_assert_eq(load(&c, installer, &diag), 0, "%s", diag.text);
	cr_assert(c.providers[1].under_test, "the same DLL under the installer's GUID");
	cr_assert_eq(c.entries[c.stream_entry].info.dwCatalogEntryId, 3111);
	cr_assert_eq(c.entries[c.dgram_entry].info.dwCatalogEntryId, 3112);
	cr_assert(wsph_catalog_is_own(&c, 3101) && wsph_catalog_is_own(&c, 3111));
	cr_assert(!wsph_catalog_is_own(&c, 3001));
	cr_assert(wsph_catalog_has_layered_entry(&c, &c.providers[0]));
	cr_assert(!wsph_catalog_has_layered_entry(&c, &c.providers[1]));
	wsph_catalog_free(&c);
}

/* A layer registered as installers do, its hidden entry's DLL at `hidden`, its chain's at `chained`
 * (the one marked under test). */
static int load_two_guids(struct wsph_catalog *c, const char *hidden, const char *chained,
			  struct wsph_diag *diag)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "providers:\n"
		 "  - guid: \"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}\"\n"
		 "    path: \"%s\"\n"
		 "    entries:\n"
		 "      - {id: 3101, chain: []}\n"
		 "  - guid: \"{1a2b3c4d-5e6f-7a8b-9cad-becfd0e1f2a3}\"\n"
		 "    path: \"%s\"\n"
		 "    under_test: true\n"
		 "    entries:\n"
		 "      - {id: 3111, protocol: tcp, chain: [3101, 3001]}\n"
		 "  - guid: \"{11111111-2222-3333-4444-555555555555}\"\n"
		 "    path: \"base.so\"\n"
		 "    entries:\n"
		 "      - {id: 3001, protocol: tcp, chain: [3001]}\n",
		 hidden, chained);
	return load(c, text, diag);
}

Test(catalog, one_path_under_two_guids_is_one_dll)
{
	struct wsph_catalog c;
	struct wsph_diag diag;
	cr_assert_eq(load_two_guids(&c, "%WSPH_CATALOG_DIR%/mylsp.so", "%WSPH_CATALOG_DIR%/mylsp.so",
				    &diag),
		     0, "%s", diag.text);
	cr_assert(c.providers[0].under_test && c.providers[1].under_test);
	cr_assert(!c.providers[2].under_test);
	cr_assert_eq(c.entries[c.stream_entry].info.dwCatalogEntryId, 3111);
	cr_assert_eq(c.dgram_entry, -1);
	wsph_catalog_free(&c);
}

Test(catalog, a_chain_headed_by_another_dlls_hidden_entry_is_refused)
{
	struct wsph_catalog c;
	struct wsph_diag diag;
	cr_assert_eq(load_two_guids(&c, "other.so", "mylsp.so", &diag), -1);
	cr_assert(strstr(diag.text, ":10:9: the first chain element must be a layered entry "
				    "(chain: []) of the same DLL"),
		  "%s", diag.text);
}

Test(catalog, guids_format_as_they_parse)
{
	static const char text[] = "{5f8a6c3f-1b2d-4e7f-9a10-4c53506c6179}";
	GUID g;
	char out[48];
	cr_assert_eq(wsph_guid_parse(text, &g), 0);
	wsph_guid_format(&g, out, sizeof out);
	cr_assert_str_eq(out, text);
	cr_assert_eq(g.Data1, 0x5f8a6c3fu);
	cr_assert_eq(g.Data4[7], 0x79);
}
