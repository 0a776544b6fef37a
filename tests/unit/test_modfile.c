/* Unit tests of the module file reader (harness/modfile.c): small ELF and PE images built here, in
 * memory and in temporary files, then every truncation and random mutations of them, and the real
 * modules of the build when they are there. */
#define _POSIX_C_SOURCE 200809L
#include "modfile.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYM "WSPStartup"

static char err[512];

/* ---- writing images ---- */

static unsigned char img[8 << 20];

static void put(size_t off, uint64_t v, unsigned size)
{
	cr_assert_leq(off + size, sizeof img);
	for (unsigned i = 0; i < size; i++)
		img[off + i] = (unsigned char)(v >> (8 * i));
}

static size_t put_str(size_t off, const char *s)
{
	size_t n = strlen(s) + 1;
	cr_assert_leq(off + n, sizeof img);
	memcpy(img + off, s, n);
	return off + n;
}

/* ---- ELF ---- */

struct esym {
	const char *name;
	unsigned char info; /* bind << 4 | type */
	unsigned char other;
	uint16_t shndx;
};

#define GLOBAL_FUNC 0x12

enum {
	E_SECTIONS = 1, /* .dynsym and .dynstr section headers */
	E_DYNAMIC = 2,  /* PT_DYNAMIC with DT_HASH */
	E_GNU_HASH = 4, /* DT_GNU_HASH instead of DT_HASH */
	E_NO_HASH = 8,  /* neither */
	E_PIE = 16,     /* DT_FLAGS_1 DF_1_PIE */
};

struct espec {
	int is64;
	unsigned machine, type, flags;
	const struct esym *syms;
	size_t nsyms;
};

static const struct esym startup[] = {{"WSPStartup", GLOBAL_FUNC, 0, 7}};

static struct espec elf_spec(unsigned flags, const struct esym *syms, size_t n)
{
	struct espec s = {1, 62, 3, flags, syms, n};
	return s;
}

/* Field offsets that differ between ELFCLASS32 and ELFCLASS64. */
struct elayout {
	unsigned word, ehsize, phsize, shsize, symsize, dynsize;
};

static struct elayout elf_layout(int is64)
{
	struct elayout l64 = {8, 64, 56, 64, 24, 16}, l32 = {4, 52, 32, 40, 16, 8};
	return is64 ? l64 : l32;
}

static void elf_ehdr(const struct espec *s, const struct elayout *l, size_t phnum, size_t shoff,
                     size_t shnum)
{
	memcpy(img, "\177ELF", 4);
	img[4] = s->is64 ? 2 : 1;
	img[5] = 1;
	img[6] = 1;
	put(16, s->type, 2);
	put(18, s->machine, 2);
	put(20, 1, 4);
	size_t at = s->is64 ? 32 : 28; /* e_phoff, e_shoff, e_flags, e_ehsize, ... */
	put(at, phnum ? l->ehsize : 0, l->word);
	put(at + l->word, shoff, l->word);
	put(at + 2 * l->word + 4, l->ehsize, 2);
	put(at + 2 * l->word + 6, l->phsize, 2);
	put(at + 2 * l->word + 8, phnum, 2);
	put(at + 2 * l->word + 10, l->shsize, 2);
	put(at + 2 * l->word + 12, shnum, 2);
}

static void elf_phdr(const struct espec *s, const struct elayout *l, size_t i, uint32_t type,
                     size_t off, size_t size)
{
	size_t o = l->ehsize + i * l->phsize;
	put(o, type, 4);
	if (s->is64) {
		put(o + 4, 4, 4); /* p_flags */
		put(o + 8, off, 8);
		put(o + 16, off, 8); /* p_vaddr = offset: loaded at 0 */
		put(o + 32, size, 8);
		put(o + 40, size, 8);
	} else {
		put(o + 4, off, 4);
		put(o + 8, off, 4);
		put(o + 16, size, 4);
		put(o + 20, size, 4);
	}
}

static void elf_sym(const struct espec *s, size_t o, uint32_t name, const struct esym *e)
{
	put(o, name, 4);
	size_t at = s->is64 ? 4 : 12;
	img[o + at] = e->info;
	img[o + at + 1] = e->other;
	put(o + at + 2, e->shndx, 2);
}

/* The hash table: DT_HASH (nbucket 1, nchain n) or DT_GNU_HASH (one bucket, symbols 1..n-1). */
static size_t elf_hash(const struct espec *s, size_t o, size_t n)
{
	if (s->flags & E_GNU_HASH) {
		put(o, 1, 4);      /* nbuckets */
		put(o + 4, 1, 4);  /* symoffset */
		put(o + 8, 1, 4);  /* bloom words */
		put(o + 12, 6, 4); /* bloom shift */
		size_t b = o + 16 + elf_layout(s->is64).word;
		put(b, n > 1 ? 1 : 0, 4); /* bucket 0: first hashed symbol */
		for (size_t i = 1; i < n; i++)
			put(b + 4 * i, i == n - 1 ? 1 : 0, 4);
		return b + 4 * n;
	}
	put(o, 1, 4);
	put(o + 4, n, 4);
	return o + 8 + 4 + 4 * n;
}

static size_t elf_dyn(const struct elayout *l, size_t o, uint64_t tag, uint64_t val)
{
	put(o, tag, l->word);
	put(o + l->word, val, l->word);
	return o + l->dynsize;
}

static size_t elf_section(const struct elayout *l, int is64, size_t o, uint32_t type, size_t off,
                          size_t size, uint32_t link, size_t entsize)
{
	put(o + 4, type, 4);
	put(o + (is64 ? 24 : 16), off, l->word);
	put(o + (is64 ? 32 : 20), size, l->word);
	put(o + (is64 ? 40 : 24), link, 4);
	put(o + (is64 ? 56 : 36), entsize, l->word);
	return o + l->shsize;
}

/* Builds the image: header, program headers, .dynsym, .dynstr, hash, dynamic, section headers. */
static size_t build_elf(const struct espec *s)
{
	struct elayout l = elf_layout(s->is64);
	size_t n = s->nsyms + 1, phnum = s->flags & E_DYNAMIC ? 2 : 0;
	memset(img, 0, sizeof img);
	size_t sym = l.ehsize + phnum * l.phsize, str = sym + n * l.symsize, o = str + 1;
	for (size_t i = 0; i < s->nsyms; i++) {
		elf_sym(s, sym + (i + 1) * l.symsize, (uint32_t)(o - str), &s->syms[i]);
		o = put_str(o, s->syms[i].name);
	}
	size_t strsz = o - str, hash = (o + 7) & ~(size_t)7;
	size_t dyn = (s->flags & E_NO_HASH) ? hash : (elf_hash(s, hash, n) + 7) & ~(size_t)7,
	       d = dyn;
	if (s->flags & E_DYNAMIC) {
		d = elf_dyn(&l, d, 6, sym);
		d = elf_dyn(&l, d, 5, str);
		d = elf_dyn(&l, d, 10, strsz);
		d = elf_dyn(&l, d, 11, l.symsize);
		if (!(s->flags & E_NO_HASH))
			d = elf_dyn(&l, d, s->flags & E_GNU_HASH ? 0x6ffffef5 : 4, hash);
		if (s->flags & E_PIE)
			d = elf_dyn(&l, d, 0x6ffffffb, 0x08000000);
		d = elf_dyn(&l, d, 0, 0);
	}
	size_t shoff = 0, end = d;
	if (s->flags & E_SECTIONS) {
		shoff = end;
		end = elf_section(&l, s->is64, shoff, 0, 0, 0, 0, 0);
		end = elf_section(&l, s->is64, end, 11, sym, n * l.symsize, 2, l.symsize);
		end = elf_section(&l, s->is64, end, 3, str, strsz, 0, 0);
	}
	elf_ehdr(s, &l, phnum, shoff, shoff ? 3 : 0);
	if (phnum) {
		elf_phdr(s, &l, 0, 1, 0, end);
		elf_phdr(s, &l, 1, 2, dyn, d - dyn);
	}
	return end;
}

/* ---- PE ---- */

struct pspec {
	unsigned machine, magic, chars;
	const char *const *names;
	size_t n;
	int forward; /* the export at index 0 is a forwarder */
	int no_exports;
};

static const char *const startup_name[] = {"WSPStartup"};

static struct pspec pe_spec(const char *const *names, size_t n)
{
	struct pspec s = {0x8664, 0x20b, 0x2022, names, n, 0, 0};
	return s;
}

#define PE_SECT_VA  0x1000u
#define PE_SECT_OFF 0x200u

static size_t pe_rva(size_t off)
{
	return off - PE_SECT_OFF + PE_SECT_VA;
}

/* The .edata section at PE_SECT_OFF: directory, address table, name pointers, ordinals, strings. */
static size_t pe_edata(const struct pspec *s)
{
	size_t dir = PE_SECT_OFF, eat = dir + 40, npt = eat + 4 * s->n, ords = npt + 4 * s->n;
	size_t o = put_str(ords + 2 * s->n, "provider.dll");
	put(dir + 12, pe_rva(ords + 2 * s->n), 4);
	put(dir + 16, 1, 4);
	put(dir + 20, s->n, 4);
	put(dir + 24, s->n, 4);
	put(dir + 28, pe_rva(eat), 4);
	put(dir + 32, pe_rva(npt), 4);
	put(dir + 36, pe_rva(ords), 4);
	size_t fwd = o;
	if (s->forward)
		o = put_str(o, "other.WSPStartup");
	for (size_t i = 0; i < s->n; i++) {
		put(eat + 4 * i, s->forward && !i ? pe_rva(fwd) : 0x2000 + 16 * i, 4);
		put(npt + 4 * i, pe_rva(o), 4);
		put(ords + 2 * i, i, 2);
		o = put_str(o, s->names[i]);
	}
	return o;
}

static size_t build_pe(const struct pspec *s)
{
	memset(img, 0, sizeof img);
	int plus = s->magic == 0x20b;
	size_t optsz = plus ? 240 : 224, opt = 64 + 24, dirs = opt + (plus ? 112 : 96);
	size_t sec = opt + optsz;
	memcpy(img, "MZ", 2);
	put(0x3c, 64, 4);
	memcpy(img + 64, "PE\0\0", 4);
	put(68, s->machine, 2);
	put(70, 1, 2);
	put(68 + 16, optsz, 2);
	put(68 + 18, s->chars, 2);
	put(opt, s->magic, 2);
	put(dirs - 4, 16, 4);
	size_t end = pe_edata(s);
	if (!s->no_exports) {
		put(dirs, PE_SECT_VA, 4);
		put(dirs + 4, end - PE_SECT_OFF, 4);
	}
	memcpy(img + sec, ".edata", 6);
	put(sec + 8, end - PE_SECT_OFF, 4);
	put(sec + 12, PE_SECT_VA, 4);
	put(sec + 16, end - PE_SECT_OFF, 4);
	put(sec + 20, PE_SECT_OFF, 4);
	return end;
}

/* ---- checking ---- */

/* The check on an exact-size copy, so that ASan sees any read past the end. */
static int check_mem(size_t n, int want_pe)
{
	unsigned char *copy = malloc(n ? n : 1);
	cr_assert_not_null(copy);
	memcpy(copy, img, n);
	memset(err, 0, sizeof err);
	int rc = wsph_modfile_check_mem(copy, n, SYM, want_pe, err, sizeof err);
	free(copy);
	cr_assert(strlen(err) > 0 || rc == 0, "no reason given for a failure");
	cr_assert_null(strchr(err, '\n'), "reason is not one line: %s", err);
	return rc;
}

#define expect_ok(n, pe) cr_assert_eq(check_mem((n), (pe)), 0, "expected success, got: %s", err)

#define expect_err(n, pe, want)                                                                    \
	do {                                                                                       \
		cr_assert_eq(check_mem((n), (pe)), -1);                                            \
		cr_assert(strstr(err, (want)), "\"%s\" is not in \"%s\"", (want), err);            \
	} while (0)

static int host_64(void)
{
	return sizeof(void *) == 8 && wsph_modfile_host_machine(0) == 62;
}

/* ---- ELF tests ---- */

Test(elf, exported_through_sections)
{
	struct espec s = elf_spec(E_SECTIONS, startup, 1);
	expect_ok(build_elf(&s), 0);
}

Test(elf, exported_through_dt_hash)
{
	struct espec s = elf_spec(E_DYNAMIC, startup, 1);
	expect_ok(build_elf(&s), 0);
}

Test(elf, exported_through_dt_gnu_hash)
{
	static const struct esym syms[] = {{"other", GLOBAL_FUNC, 0, 7},
	                                   {"WSPStartup", 0x22 /* weak */, 0, 7},
	                                   {"data", 0x11, 0, 8}};
	struct espec s = elf_spec(E_DYNAMIC | E_GNU_HASH | E_SECTIONS, syms, 3);
	expect_ok(build_elf(&s), 0);
	s.flags = E_DYNAMIC | E_GNU_HASH;
	expect_ok(build_elf(&s), 0);
}

Test(elf, missing)
{
	static const struct esym syms[] = {{"WSPCleanup", GLOBAL_FUNC, 0, 7}};
	struct espec s = elf_spec(E_DYNAMIC | E_SECTIONS, syms, 1);
	expect_err(build_elf(&s), 0,
	           "exports no WSPStartup (SPI.Startup.SingleExport: a transport provider is a DLL "
	           "with a single exported entry point, WSPStartup)");
	s.flags = E_SECTIONS;
	expect_err(build_elf(&s), 0, "exports no WSPStartup (SPI");
	s.flags = 0;
	expect_err(build_elf(&s), 0, "it has no dynamic symbol table");
	s.flags = E_DYNAMIC | E_NO_HASH;
	expect_err(build_elf(&s), 0, "no DT_HASH or DT_GNU_HASH");
}

Test(elf, decorated_and_mangled)
{
	struct esym sym = {"WSPStartup@20", GLOBAL_FUNC, 0, 7};
	struct espec s = elf_spec(E_DYNAMIC, &sym, 1);
	expect_err(build_elf(&s), 0,
	           "exports WSPStartup@20 (a stdcall-decorated name) but no WSPStartup: link with "
	           "-Wl,--kill-at or a .def file");
	sym.name = "_WSPStartup@20";
	expect_err(build_elf(&s), 0, "exports _WSPStartup@20 (a stdcall-decorated name)");
	sym.name = "_WSPStartup";
	expect_err(build_elf(&s), 0, "exports _WSPStartup (an underscore-prefixed name)");
	sym.name = "_Z10WSPStartuptP8WSPDataP17_WSAPROTOCOL_INFOW";
	expect_err(build_elf(&s), 0, "(a C++-mangled name) but no WSPStartup: declare it extern");
	sym.name = "WSPStartupX";
	expect_err(build_elf(&s), 0, "exports no WSPStartup (SPI");
	sym.name = "WSPStartup@";
	expect_err(build_elf(&s), 0, "exports no WSPStartup (SPI");
}

Test(elf, long_and_unterminated_names)
{
	char longname[400];
	snprintf(longname, sizeof longname, "_Z10WSPStartup%0300d", 0);
	struct esym sym = {longname, GLOBAL_FUNC, 0, 7};
	struct espec s = elf_spec(E_SECTIONS, &sym, 1);
	expect_err(build_elf(&s), 0, "0... (a C++-mangled name) but no WSPStartup");
	s.syms = startup;
	size_t n = build_elf(&s);
	size_t dynstr = (size_t)img[40] + 2 * 64; /* e_shoff (< 256 here), section 2 */
	cr_assert_eq(img[41], 0);
	img[dynstr + 32]--; /* sh_size one short: the name's NUL is outside */
	expect_err(n, 0, "malformed ELF: dynamic symbol 1's name is not in its string table");
}

/* Many symbols naming one long string: reading names must stay linear in the file size (a
 * symbol-by-symbol search for each name's end would take hours here). */
Test(elf, many_symbols_one_long_name, .timeout = 20)
{
	size_t nsyms = 50000, len = 2 << 20;
	struct esym *syms = calloc(nsyms, sizeof *syms);
	char *longname = malloc(len + 1);
	cr_assert(syms && longname);
	memcpy(longname, "WSPStartup@", 11);
	memset(longname + 11, '1', len - 11);
	longname[len] = '\0';
	for (size_t i = 0; i < nsyms; i++) {
		syms[i].name = i == nsyms - 1 ? longname : "a";
		syms[i].info = GLOBAL_FUNC;
		syms[i].shndx = 7;
	}
	struct espec s = elf_spec(E_SECTIONS, syms, nsyms);
	size_t n = build_elf(&s), sym = 64, size = 24;
	uint32_t last = (uint32_t)img[sym + nsyms * size] |
	                (uint32_t)img[sym + nsyms * size + 1] << 8 |
	                (uint32_t)img[sym + nsyms * size + 2] << 16;
	for (size_t i = 1; i <= nsyms; i++)
		put(sym + i * size, last, 4);
	expect_err(n, 0, "exports no WSPStartup (SPI");
	free(syms);
	free(longname);
}

Test(elf, present_but_not_exported)
{
	struct esym sym = {"WSPStartup", GLOBAL_FUNC, 0, 0};
	struct espec s = elf_spec(E_DYNAMIC, &sym, 1);
	expect_err(build_elf(&s), 0, "exports no WSPStartup: the symbol is undefined");
	sym.shndx = 7;
	sym.info = 0x02; /* local */
	expect_err(build_elf(&s), 0, "the symbol is local");
	sym.info = GLOBAL_FUNC;
	sym.other = 2; /* hidden */
	expect_err(build_elf(&s), 0, "hidden visibility");
	sym.other = 0;
	sym.info = 0x13; /* STT_SECTION */
	expect_err(build_elf(&s), 0, "not a function or data");
}

Test(elf, executables)
{
	struct espec s = elf_spec(E_DYNAMIC | E_PIE, startup, 1);
	expect_err(build_elf(&s), 0, "is an ELF position-independent executable, which dlopen");
	s.flags = E_DYNAMIC;
	s.type = 2;
	expect_err(build_elf(&s), 0, "is an ELF executable, which dlopen refuses");
	s.type = 1;
	expect_err(build_elf(&s), 0,
	           "is an ELF relocatable object (.o), not a shared object: link it with -shared");
}

Test(elf, wrong_class_machine_and_format)
{
	if (!host_64())
		cr_skip_test("expects an x86-64 build");
	struct espec s = elf_spec(E_DYNAMIC, startup, 1);
	s.is64 = 0;
	s.machine = 3;
	expect_err(build_elf(&s), 0,
	           "is a 32-bit (x86) ELF shared object; this build loads 64-bit (x86-64) modules");
	s.is64 = 1;
	s.machine = 183;
	expect_err(build_elf(&s), 0, "is an ELF shared object for ARM64; this build loads x86-64");
	s.machine = 0x1234;
	expect_err(build_elf(&s), 0, "for e_machine 0x1234");
	s.machine = 62;
	expect_err(build_elf(&s), 1,
	           "is an ELF shared object; this Windows build of wspharness loads PE DLLs");
	size_t n = build_elf(&s);
	img[5] = 2;
	expect_err(n, 0, "is a big-endian ELF file");
	img[5] = 1;
	img[4] = 3;
	expect_err(n, 0, "malformed ELF: EI_CLASS 3");
}

Test(elf, elf32_is_read)
{
	/* a 32-bit image is refused for its class only after a full parse on a 32-bit build; here
	 * the class check runs first, but every truncation must still fail cleanly (below) */
	struct espec s = elf_spec(E_DYNAMIC | E_SECTIONS, startup, 1);
	s.is64 = 0;
	s.machine = 3;
	cr_assert_eq(check_mem(build_elf(&s), 0), sizeof(void *) == 4 ? 0 : -1, "%s", err);
}

/* ---- PE tests ---- */

Test(pe, exported)
{
	static const char *const names[] = {"WSPCleanup", "WSPStartup", "ZZZ"};
	struct pspec s = pe_spec(names, 3);
	expect_ok(build_pe(&s), 1);
	s.names = startup_name;
	s.n = 1;
	expect_ok(build_pe(&s), 1);
}

Test(pe, forwarded_export_counts)
{
	struct pspec s = pe_spec(startup_name, 1);
	s.forward = 1;
	expect_ok(build_pe(&s), 1);
}

Test(pe, missing)
{
	static const char *const names[] = {"WSPCleanup"};
	struct pspec s = pe_spec(names, 1);
	expect_err(build_pe(&s), 1,
	           "exports no WSPStartup (SPI.Startup.SingleExport: a transport provider is a DLL "
	           "with a single exported entry point, WSPStartup)");
	s.no_exports = 1;
	expect_err(build_pe(&s), 1, "; it has no export directory");
	s.no_exports = 0;
	s.n = 0;
	expect_err(build_pe(&s), 1, "its export directory is empty");
}

Test(pe, decorated)
{
	static const char *const names[] = {"WSPStartup@20"};
	static const char *const under[] = {"_WSPStartup@20"};
	struct pspec s = pe_spec(names, 1);
	expect_err(build_pe(&s), 1,
	           "exports WSPStartup@20 (a stdcall-decorated name) but no WSPStartup: link with "
	           "-Wl,--kill-at or a .def file");
	s.names = under;
	expect_err(build_pe(&s), 1,
	           "exports _WSPStartup@20 (a stdcall-decorated name) but no WSPStartup");
}

Test(pe, wrong_machine_and_format)
{
	if (!host_64())
		cr_skip_test("expects an x86-64 build");
	struct pspec s = pe_spec(startup_name, 1);
	s.machine = 0x14c;
	s.magic = 0x10b;
	expect_err(build_pe(&s), 1,
	           "is a 32-bit (x86) DLL; this build loads 64-bit (x86-64) modules");
	s.machine = 0xaa64;
	s.magic = 0x20b;
	expect_err(build_pe(&s), 1, "is a DLL for ARM64; this build loads x86-64 modules");
	s.machine = 0x8664;
	expect_err(
	    build_pe(&s), 0,
	    "is a PE DLL; this build of wspharness loads ELF shared objects (use the Windows "
	    "build)");
	s.magic = 0x10b;
	expect_err(build_pe(&s), 1, "malformed PE: a PE32 optional header in a 64-bit image");
	s.magic = 0x20b;
	s.chars = 0x0022;
	expect_err(build_pe(&s), 1, "is a PE executable (no IMAGE_FILE_DLL flag), not a DLL");
	expect_err(build_pe(&s), 0, "is a PE executable; this build of wspharness loads ELF");
}

Test(pe, sections_out_of_order)
{
	struct pspec s = pe_spec(startup_name, 1);
	size_t n = build_pe(&s), sec = 64 + 24 + 240;
	put(70, 2, 2);
	memcpy(img + sec + 40, ".text", 5);
	put(sec + 40 + 12, 0x800, 4);
	expect_err(n, 1, "malformed PE: the sections are not in ascending address order");
	put(sec + 40 + 12, 0x3000, 4); /* after .edata, empty: fine */
	expect_ok(n, 1);
}

Test(pe, dos_program)
{
	memset(img, 0, 128);
	memcpy(img, "MZ", 2);
	put(0x3c, 0x40, 4);
	expect_err(128, 1, "malformed PE: no PE signature at e_lfanew 0x40");
	expect_err(128, 0, "is an MS-DOS or Windows program file");
}

/* ---- neither ---- */

Test(format, neither)
{
	expect_err(0, 0, "not a provider module: the file is empty");
	memcpy(img, "hello\0world\n", 13);
	expect_err(13, 0,
	           "not a provider module: neither ELF nor PE (the file starts with bytes 68 65 6c "
	           "6c 6f 00 77 6f...); this build loads ELF shared objects");
	expect_err(3, 1, "(the file starts with bytes 68 65 6c); this build loads PE DLLs");
	memcpy(img, "!<arch>\n", 8);
	expect_err(8, 0, "is a static library (ar archive)");
	memcpy(img, "/* GNU ld script */", 19);
	expect_err(
	    19, 1,
	    "not a provider module: neither ELF nor PE (a text file, starting \"/* GNU l\"; a "
	    "linker script?); this build loads PE DLLs");
	memcpy(img, "#!/bin/sh\n", 10);
	expect_err(10, 0, "is a script");
	memcpy(img, "\177EL", 3);
	expect_err(3, 0, "neither ELF nor PE");
}

/* ---- every truncation and random mutations: -1 and no read out of bounds ---- */

static void truncations(size_t full, int want_pe)
{
	unsigned char *whole = malloc(full);
	cr_assert_not_null(whole);
	memcpy(whole, img, full);
	expect_ok(full, want_pe);
	for (size_t n = 0; n < full; n++) {
		memcpy(img, whole, full);
		int rc = check_mem(n, want_pe);
		cr_assert_eq(rc, -1, "truncated at %zu of %zu: accepted", n, full);
	}
	free(whole);
}

Test(robust, truncated_elf)
{
	struct espec s = elf_spec(E_SECTIONS, startup, 1);
	truncations(build_elf(&s), 0);
	s.flags = E_DYNAMIC;
	truncations(build_elf(&s), 0);
	s.flags = E_DYNAMIC | E_GNU_HASH;
	truncations(build_elf(&s), 0);
}

Test(robust, truncated_pe)
{
	struct pspec s = pe_spec(startup_name, 1);
	truncations(build_pe(&s), 1);
	s.forward = 1;
	truncations(build_pe(&s), 1);
}

/* Deterministic pseudo-random bytes (xorshift). */
static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void mutations(size_t full, int want_pe, uint32_t seed)
{
	unsigned char *whole = malloc(full);
	cr_assert_not_null(whole);
	memcpy(whole, img, full);
	for (int round = 0; round < 4000; round++) {
		memcpy(img, whole, full);
		for (uint32_t k = 1 + rnd(&seed) % 4; k > 0; k--) {
			size_t at = rnd(&seed) % full;
			uint32_t r = rnd(&seed);
			img[at] =
			    r & 0x100 ? (unsigned char)r : (unsigned char)(r & 0x80 ? 0xff : 0);
		}
		check_mem(full, want_pe); /* any answer, but one line and in bounds */
	}
	free(whole);
}

Test(robust, mutated)
{
	struct espec e = elf_spec(E_SECTIONS, startup, 1);
	mutations(build_elf(&e), 0, 1);
	e.flags = E_DYNAMIC;
	mutations(build_elf(&e), 0, 2);
	e.flags = E_DYNAMIC | E_GNU_HASH;
	mutations(build_elf(&e), 0, 3);
	struct pspec p = pe_spec(startup_name, 1);
	mutations(build_pe(&p), 1, 4);
}

/* ---- files ---- */

static void write_temp(char *path, size_t pathlen, size_t n)
{
	snprintf(path, pathlen, "/tmp/test_modfile.XXXXXX");
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, img, n), (ssize_t)n);
	close(fd);
}

Test(file, read_from_disk)
{
	char path[64];
	struct espec s = elf_spec(E_DYNAMIC, startup, 1);
	write_temp(path, sizeof path, build_elf(&s));
	cr_assert_eq(wsph_modfile_check_as(path, SYM, 0, err, sizeof err), 0, "%s", err);
	cr_assert_eq(wsph_modfile_check_as(path, "WSPCleanup", 0, err, sizeof err), -1);
	cr_assert_str_eq(err, "exports no WSPCleanup");
	unlink(path);
	struct pspec p = pe_spec(startup_name, 1);
	write_temp(path, sizeof path, build_pe(&p));
	cr_assert_eq(wsph_modfile_check_as(path, SYM, 1, err, sizeof err), 0, "%s", err);
	cr_assert_eq(wsph_modfile_check(path, SYM, err, sizeof err),
	             wsph_modfile_host_pe() ? 0 : -1);
	unlink(path);
}

Test(file, not_a_file)
{
	cr_assert_eq(wsph_modfile_check("/tmp", SYM, err, sizeof err), -1);
	cr_assert_str_eq(err, "is a directory");
	cr_assert_eq(wsph_modfile_check("/nonexistent/x.so", SYM, err, sizeof err), -1);
	cr_assert_str_eq(err, "cannot open: No such file or directory");
	char path[64];
	snprintf(path, sizeof path, "/tmp/test_modfile.fifo.%ld", (long)getpid());
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_eq(wsph_modfile_check(path, SYM, err, sizeof err), -1);
	cr_assert_str_eq(err, "is not a regular file");
	unlink(path);
	/* a small err buffer is cut, not overrun; no err buffer at all is allowed */
	char small[8];
	cr_assert_eq(wsph_modfile_check("/tmp", SYM, small, sizeof small), -1);
	cr_assert_str_eq(small, "is a di");
	cr_assert_eq(wsph_modfile_check("/tmp", SYM, NULL, 0), -1);
}

/* ---- the real modules of this build ---- */

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

#ifndef WSPH_MOCKBASE
#define WSPH_MOCKBASE ""
#endif
#ifndef WSPH_NO_STARTUP
#define WSPH_NO_STARTUP ""
#endif
#ifndef WSPH_PROGRAM
#define WSPH_PROGRAM ""
#endif
#ifndef WSPH_MINGW_CC
#define WSPH_MINGW_CC ""
#endif

Test(real, mockbase_exports_wspstartup)
{
	if (!exists(WSPH_MOCKBASE))
		cr_skip_test("no %s", WSPH_MOCKBASE);
	cr_assert_eq(wsph_modfile_check(WSPH_MOCKBASE, SYM, err, sizeof err), 0, "%s", err);
	cr_assert_eq(wsph_modfile_check(WSPH_MOCKBASE, "WSPCleanup", err, sizeof err), -1);
	cr_assert_str_eq(err, "exports no WSPCleanup", "not exported (hidden): %s", err);
}

Test(real, fault_no_startup_export)
{
	if (!exists(WSPH_NO_STARTUP))
		cr_skip_test("no %s", WSPH_NO_STARTUP);
	cr_assert_eq(wsph_modfile_check(WSPH_NO_STARTUP, SYM, err, sizeof err), -1);
	cr_assert(strstr(err, "exports no WSPStartup (SPI.Startup.SingleExport"), "%s", err);
}

Test(real, program_has_no_wspstartup)
{
	if (!exists(WSPH_PROGRAM))
		cr_skip_test("no %s", WSPH_PROGRAM);
	cr_assert_eq(wsph_modfile_check(WSPH_PROGRAM, SYM, err, sizeof err), -1);
	cr_assert(strstr(err, "exports no WSPStartup (SPI.Startup.SingleExport"), "%s", err);
	/* it exports WPUCompleteOverlappedRequest (as ws2_32 does), but it is an executable */
	cr_assert_eq(
	    wsph_modfile_check(WSPH_PROGRAM, "WPUCompleteOverlappedRequest", err, sizeof err), -1);
	cr_assert(strstr(err, "executable"), "%s", err);
}

/* A DLL built with mingw-w64 from a source written here, when the cross compiler is there. */
static int mingw_dll(const char *dir, const char *name, const char *src, const char *flags)
{
	char cpath[256], cmd[1024];
	snprintf(cpath, sizeof cpath, "%s/%s.c", dir, name);
	FILE *f = fopen(cpath, "w");
	cr_assert_not_null(f);
	fputs(src, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "'%s' -shared -o '%s/%s.dll' '%s' %s 2>/dev/null", WSPH_MINGW_CC,
	         dir, name, cpath, flags);
	return system(cmd);
}

Test(real, mingw_dll)
{
	if (!WSPH_MINGW_CC[0] || !exists(WSPH_MINGW_CC))
		cr_skip_test("no mingw-w64 compiler");
	char dir[] = "/tmp/test_modfile.XXXXXX", path[256];
	cr_assert_not_null(mkdtemp(dir));
	static const char good[] = "__declspec(dllexport) int WSPStartup(void) { return 0; }\n";
	static const char none[] = "__declspec(dllexport) int WSPOther(void) { return 0; }\n";
	cr_assert_eq(mingw_dll(dir, "good", good, ""), 0);
	cr_assert_eq(mingw_dll(dir, "none", none, ""), 0);
	snprintf(path, sizeof path, "%s/good.dll", dir);
	cr_assert_eq(wsph_modfile_check_as(path, SYM, 1, err, sizeof err), 0, "%s", err);
	cr_assert_eq(wsph_modfile_check_as(path, SYM, 0, err, sizeof err), -1);
	cr_assert(strstr(err, "is a PE DLL; this build of wspharness loads ELF"), "%s", err);
	snprintf(path, sizeof path, "%s/none.dll", dir);
	cr_assert_eq(wsph_modfile_check_as(path, SYM, 1, err, sizeof err), -1);
	cr_assert(strstr(err, "exports no WSPStartup (SPI"), "%s", err);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
