/* Checks that a provider module file exports WSPStartup without loading it (ELF and PE readers). */
#include "modfile.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Written from the ELF gABI (System V ABI, chapters 4 and 5, with the GNU hash section as the GNU
 * tools document it) and from Microsoft's PE/COFF specification. The whole file is read into
 * memory; every offset and count taken from it is checked against its length before use, and the
 * byte readers themselves return 0 outside the file, so no input reads out of bounds. */

#define MAX_FILE ((size_t)512 << 20) /* larger files are refused, not read */

/* ---- what this build loads (the one place that knows the host) ---- */

#ifdef _WIN32
static const int host_pe = 1;
#else
static const int host_pe = 0;
#endif

struct arch {
	const char *name;
	int bits;
	unsigned pe;  /* COFF header Machine */
	unsigned elf; /* e_machine */
};

static const struct arch arches[] = {
    {"x86", 32, 0x14c, 3},
    {"x86-64", 64, 0x8664, 62},
    {"ARM", 32, 0x1c4, 40},
    {"ARM64", 64, 0xaa64, 183},
};

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
static const struct arch *const host_arch = &arches[1];
#elif defined(__i386__) || defined(_M_IX86)
static const struct arch *const host_arch = &arches[0];
#elif defined(__aarch64__) || defined(_M_ARM64)
static const struct arch *const host_arch = &arches[3];
#elif defined(__arm__) || defined(_M_ARM)
static const struct arch *const host_arch = &arches[2];
#else
static const struct arch *const host_arch = NULL; /* only the word size is checked */
#endif

#define HOST_BITS ((int)(sizeof(void *) * 8))

static const struct arch *arch_of(int pe, unsigned machine)
{
	for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
		if ((pe ? arches[i].pe : arches[i].elf) == machine)
			return &arches[i];
	return NULL;
}

int wsph_modfile_host_pe(void)
{
	return host_pe;
}

unsigned wsph_modfile_host_machine(int pe)
{
	return host_arch ? (pe ? host_arch->pe : host_arch->elf) : 0;
}

/* ---- the file's bytes and the answer ---- */

struct mod {
	const unsigned char *p;
	size_t n;
	const char *symbol;
	size_t name_max; /* names are read up to this many bytes */
	char *err;
	size_t errlen;
};

static int fail(struct mod *m, const char *fmt, ...) WSPH_PRINTF(2, 3);
static int fail(struct mod *m, const char *fmt, ...)
{
	if (m->err && m->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->err, m->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Whether the len bytes at off are all in the file. */
static int in_file(const struct mod *m, uint64_t off, uint64_t len)
{
	return off <= m->n && len <= m->n - off;
}

/* Little-endian reads; 0 for bytes outside the file (callers check first, this is the backstop). */
static uint64_t rd(const struct mod *m, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	if (!in_file(m, off, size))
		return 0;
	for (unsigned i = size; i-- > 0;)
		v = v << 8 | m->p[off + i];
	return v;
}

static unsigned rd16(const struct mod *m, uint64_t off)
{
	return (unsigned)rd(m, off, 2);
}

static uint32_t rd32(const struct mod *m, uint64_t off)
{
	return (uint32_t)rd(m, off, 4);
}

static uint64_t rd64(const struct mod *m, uint64_t off)
{
	return rd(m, off, 8);
}

static const char *article(const char *noun)
{
	return strchr("AEIOUaeiou", noun[0]) ? "an" : "a";
}

static const char *host_name(void)
{
	return host_arch ? host_arch->name : "native";
}

/* The reason a module of kind noun, for arch a (NULL: unknown, shown as "<field> <num>") with
 * bits-bit words, is not for this build; 0 when it is. */
static int check_machine(struct mod *m, const char *noun, int bits, const struct arch *a,
                         const char *field, unsigned num)
{
	char what[40];
	if (a)
		snprintf(what, sizeof what, "%s", a->name);
	else
		snprintf(what, sizeof what, "%s 0x%x", field, num);
	if (bits != HOST_BITS)
		return fail(m, "is a %d-bit (%s) %s; this build loads %d-bit (%s) modules", bits,
		            what, noun, HOST_BITS, host_name());
	if (host_arch && a != host_arch)
		return fail(m, "is %s %s for %s; this build loads %s modules", article(noun), noun,
		            what, host_name());
	return 0;
}

/* ---- the names a module exports ---- */

enum near { NEAR_NONE, NEAR_STDCALL, NEAR_UNDERSCORE, NEAR_CXX };

/* Names are read up to the symbol's length and NAME_SLACK bytes more: a longer one is known by its
 * start only (it cannot be the symbol, but it can be a C++-mangled form of it). Bounding every name
 * keeps the whole scan linear in the file size, whatever the tables point at. */
#define NAME_BUF   4096
#define NAME_SLACK 96

struct name {
	char s[NAME_BUF];
	int whole; /* s is the whole name, not its start */
};

/* What the scan of a module's exported names found. */
struct scan {
	int found;           /* the symbol, exported */
	const char *why_not; /* the symbol is there but not exported: why */
	enum near near;      /* else the closest near miss, if any: */
	char near_name[96];  /* its name, printable */
};

/* Reads the NUL-terminated name at p, of which avail bytes are in its table, up to max bytes; -1
 * when it runs past avail. */
static int read_name(struct name *nm, const unsigned char *p, uint64_t avail, size_t max)
{
	size_t lim = avail < max ? (size_t)avail : max, i = 0;
	for (; i < lim && p[i]; i++)
		nm->s[i] = (char)p[i];
	nm->s[i] = '\0';
	nm->whole = i < lim;
	return !nm->whole && avail <= max ? -1 : 0;
}

/* "@20": an '@' and one to ten digits. */
static int stdcall_suffix(const char *s)
{
	size_t i = 1;
	if (s[0] != '@')
		return 0;
	while (i <= 10 && s[i] >= '0' && s[i] <= '9')
		i++;
	return i > 1 && !s[i];
}

/* Whether name is symbol decorated: "sym@20" or "_sym@20" (stdcall), "_sym", or C++-mangled
 * ("?sym@..." by MSVC, "_Z<len>sym..." by the Itanium ABI). */
static enum near near_miss(const struct name *nm, const char *sym)
{
	const char *name = nm->s, *s = name[0] == '_' ? name + 1 : name;
	size_t n = strlen(sym);
	if (nm->whole && !strncmp(s, sym, n) && stdcall_suffix(s + n))
		return NEAR_STDCALL;
	if (nm->whole && name[0] == '_' && !strcmp(name + 1, sym))
		return NEAR_UNDERSCORE;
	if (name[0] == '?' && !strncmp(name + 1, sym, n) && name[n + 1] == '@')
		return NEAR_CXX;
	char z[24];
	snprintf(z, sizeof z, "_Z%u", (unsigned)n);
	size_t k = strlen(z);
	if (!strncmp(name, z, k) && !strncmp(name + k, sym, n))
		return NEAR_CXX;
	return NEAR_NONE;
}

/* name for a one-line message: printable ASCII only, at most size - 4 characters. */
static void printable(char *buf, size_t size, const struct name *nm)
{
	const char *name = nm->s;
	size_t i = 0;
	for (; name[i] && i + 4 < size; i++) {
		unsigned char c = (unsigned char)name[i];
		buf[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[i] = '\0';
	if (name[i] || !nm->whole)
		strcpy(buf + i, "...");
}

/* One name from the module's table; why_not is NULL when the entry is exported. */
static void scan_name(struct scan *s, const struct name *nm, const char *sym, const char *why_not)
{
	if (nm->whole && !strcmp(nm->s, sym)) {
		if (!why_not)
			s->found = 1;
		else if (!s->why_not)
			s->why_not = why_not;
		return;
	}
	if (why_not)
		return;
	enum near k = near_miss(nm, sym);
	if (k != NEAR_NONE && (s->near == NEAR_NONE || k < s->near)) {
		s->near = k;
		printable(s->near_name, sizeof s->near_name, nm);
	}
}

/* The answer when the scan did not find the symbol exported; detail says why there is no table. */
static int missing(struct mod *m, const struct scan *s, const char *detail)
{
	const char *sym = m->symbol, *name = s->near_name;
	if (s->why_not)
		return fail(m, "exports no %s: %s", sym, s->why_not);
	if (s->near == NEAR_STDCALL)
		return fail(m,
		            "exports %s (a stdcall-decorated name) but no %s: link with "
		            "-Wl,--kill-at or a .def file",
		            name, sym);
	if (s->near == NEAR_UNDERSCORE)
		return fail(m,
		            "exports %s (an underscore-prefixed name) but no %s: use a .def file",
		            name, sym);
	if (s->near == NEAR_CXX)
		return fail(m, "exports %s (a C++-mangled name) but no %s: declare it extern \"C\"",
		            name, sym);
	const char *rule = strcmp(sym, "WSPStartup")
	                       ? ""
	                       : " (SPI.Startup.SingleExport: a transport provider is a DLL with a "
	                         "single exported entry point, WSPStartup)";
	return fail(m, "exports no %s%s%s%s", sym, rule, detail ? "; " : "", detail ? detail : "");
}

/* ---- ELF ---- */

enum {
	ET_REL = 1,
	ET_EXEC = 2,
	ET_DYN = 3,
	ET_CORE = 4,
	PT_LOAD = 1,
	PT_DYNAMIC = 2,
	SHT_DYNSYM = 11,
	DT_NULL = 0,
	DT_HASH = 4,
	DT_STRTAB = 5,
	DT_SYMTAB = 6,
	DT_STRSZ = 10,
	DT_SYMENT = 11,
	DT_GNU_HASH = 0x6ffffef5,
	DT_FLAGS_1 = 0x6ffffffb,
	DF_1_PIE = 0x08000000,
};

struct elf {
	struct mod *m;
	int is64;
	unsigned type, machine;
	uint64_t phoff, shoff, shnum;
	unsigned phentsize, phnum, shentsize;
};

struct phdr {
	uint32_t type;
	uint64_t offset, vaddr, filesz;
};

/* The dynamic symbol table (file offsets); none says why there is none. */
struct symtab {
	uint64_t off, count, entsize, stroff, strsz;
	const char *none;
};

struct dyn {
	uint64_t symtab, strtab, strsz, syment, hash, gnu_hash, flags_1;
};

static const char *elf_noun(unsigned type)
{
	switch (type) {
	case ET_REL:
		return "ELF relocatable object (.o)";
	case ET_EXEC:
		return "ELF executable";
	case ET_DYN:
		return "ELF shared object";
	case ET_CORE:
		return "ELF core dump";
	default:
		return "ELF file";
	}
}

static unsigned sym_size(const struct elf *e)
{
	return e->is64 ? 24 : 16;
}

static int elf_header(struct elf *e)
{
	struct mod *m = e->m;
	unsigned ehsize = e->is64 ? 64 : 52;
	if (m->n < ehsize)
		return fail(
		    m, "malformed ELF: the file (%zu bytes) ends within the %u-byte ELF header",
		    m->n, ehsize);
	e->type = rd16(m, 16);
	e->machine = rd16(m, 18);
	e->phoff = e->is64 ? rd64(m, 32) : rd32(m, 28);
	e->shoff = e->is64 ? rd64(m, 40) : rd32(m, 32);
	unsigned at = e->is64 ? 54 : 42; /* e_phentsize, e_phnum, e_shentsize, e_shnum */
	e->phentsize = rd16(m, at);
	e->phnum = rd16(m, at + 2);
	e->shentsize = rd16(m, at + 4);
	e->shnum = rd16(m, at + 6);
	return 0;
}

/* The program header table must be in the file (PN_XNUM extended numbering is not read: such a
 * table is refused as running past the end of the file, unless it fits). */
static int elf_check_phdrs(struct elf *e)
{
	struct mod *m = e->m;
	if (!e->phnum)
		return 0;
	if (e->phentsize < (e->is64 ? 56u : 32u))
		return fail(m, "malformed ELF: e_phentsize %u is too small", e->phentsize);
	if (!in_file(m, e->phoff, (uint64_t)e->phnum * e->phentsize))
		return fail(
		    m,
		    "malformed ELF: the program header table (%u entries at 0x%llx) runs past "
		    "the end of the file (%zu bytes)",
		    e->phnum, (unsigned long long)e->phoff, m->n);
	return 0;
}

static struct phdr elf_phdr(const struct elf *e, unsigned i)
{
	const struct mod *m = e->m;
	uint64_t o = e->phoff + (uint64_t)i * e->phentsize;
	struct phdr h;
	h.type = rd32(m, o);
	h.offset = e->is64 ? rd64(m, o + 8) : rd32(m, o + 4);
	h.vaddr = e->is64 ? rd64(m, o + 16) : rd32(m, o + 8);
	h.filesz = e->is64 ? rd64(m, o + 32) : rd32(m, o + 16);
	return h;
}

/* The file offset of virtual address va and how many bytes of its PT_LOAD segment's file image
 * follow it there (clipped to the file); -1 when no segment holds it in the file. */
static int elf_va(const struct elf *e, uint64_t va, uint64_t *off, uint64_t *avail)
{
	const struct mod *m = e->m;
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr h = elf_phdr(e, i);
		if (h.type != PT_LOAD || va < h.vaddr || va - h.vaddr >= h.filesz)
			continue;
		uint64_t d = va - h.vaddr;
		if (h.offset > m->n || d >= m->n - h.offset)
			continue;
		*off = h.offset + d;
		*avail = h.filesz - d < m->n - *off ? h.filesz - d : m->n - *off;
		return 0;
	}
	return -1;
}

/* The same for len bytes that must all be there. */
static int elf_va_need(const struct elf *e, uint64_t va, uint64_t len, uint64_t *off)
{
	uint64_t avail;
	return elf_va(e, va, off, &avail) || len > avail ? -1 : 0;
}

static void dyn_entry(struct dyn *d, uint64_t tag, uint64_t val)
{
	switch (tag) {
	case DT_SYMTAB:
		d->symtab = val;
		break;
	case DT_STRTAB:
		d->strtab = val;
		break;
	case DT_STRSZ:
		d->strsz = val;
		break;
	case DT_SYMENT:
		d->syment = val;
		break;
	case DT_HASH:
		d->hash = val;
		break;
	case DT_GNU_HASH:
		d->gnu_hash = val;
		break;
	case DT_FLAGS_1:
		d->flags_1 = val;
		break;
	default:
		break;
	}
}

/* Reads the PT_DYNAMIC entries into d: 1 read, 0 no PT_DYNAMIC, -1 malformed. */
static int elf_dynamic(const struct elf *e, struct dyn *d)
{
	struct mod *m = e->m;
	memset(d, 0, sizeof *d);
	for (unsigned i = 0; i < e->phnum; i++) {
		struct phdr h = elf_phdr(e, i);
		if (h.type != PT_DYNAMIC)
			continue;
		if (!in_file(m, h.offset, h.filesz))
			return fail(
			    m, "malformed ELF: the dynamic segment runs past the end of the file");
		unsigned sz = e->is64 ? 16 : 8;
		for (uint64_t k = 0; k + sz <= h.filesz; k += sz) {
			uint64_t o = h.offset + k;
			uint64_t tag = e->is64 ? rd64(m, o) : rd32(m, o);
			if (tag == DT_NULL)
				break;
			dyn_entry(d, tag, e->is64 ? rd64(m, o + 8) : rd32(m, o + 4));
		}
		return 1;
	}
	return 0;
}

/* The number of dynamic symbols from a DT_GNU_HASH table: past the highest bucket's chain end. */
static int elf_gnu_count(const struct elf *e, uint64_t va, uint64_t *count)
{
	struct mod *m = e->m;
	uint64_t off, avail;
	if (elf_va(e, va, &off, &avail) || avail < 16)
		return fail(m, "malformed ELF: the DT_GNU_HASH table is not in the file");
	uint32_t nbuckets = rd32(m, off), symoffset = rd32(m, off + 4);
	uint64_t buckets = 16 + (uint64_t)rd32(m, off + 8) * (e->is64 ? 8 : 4);
	uint64_t chain = buckets + (uint64_t)nbuckets * 4;
	if (chain > avail)
		return fail(m, "malformed ELF: the DT_GNU_HASH table runs past its segment");
	uint32_t top = 0;
	for (uint32_t i = 0; i < nbuckets; i++) {
		uint32_t b = rd32(m, off + buckets + (uint64_t)i * 4);
		top = b > top ? b : top;
	}
	if (!top) {
		*count = symoffset;
		return 0;
	}
	if (top < symoffset)
		return fail(m, "malformed ELF: a DT_GNU_HASH bucket is below its symbol offset");
	for (uint64_t i = top - symoffset;; i++) {
		if ((i + 1) * 4 > avail - chain)
			return fail(m, "malformed ELF: a DT_GNU_HASH chain runs past its segment");
		if (rd32(m, off + chain + i * 4) & 1) {
			*count = symoffset + i + 1;
			return 0;
		}
	}
}

static int elf_dyn_count(const struct elf *e, const struct dyn *d, struct symtab *t)
{
	uint64_t off;
	if (d->hash) {
		if (elf_va_need(e, d->hash, 8, &off))
			return fail(e->m, "malformed ELF: the DT_HASH table is not in the file");
		t->count = rd32(e->m, off + 4); /* nchain: one per symbol */
		return 0;
	}
	if (d->gnu_hash)
		return elf_gnu_count(e, d->gnu_hash, &t->count);
	t->none =
	    "it has no DT_HASH or DT_GNU_HASH table, so the dynamic linker can look up no symbol";
	return 0;
}

/* The dynamic symbol table through PT_DYNAMIC (what the dynamic linker itself uses). */
static int elf_dyn_symtab(const struct elf *e, const struct dyn *d, struct symtab *t)
{
	struct mod *m = e->m;
	uint64_t avail;
	if (!d->strtab || !d->strsz)
		return fail(m, "malformed ELF: DT_SYMTAB without DT_STRTAB and DT_STRSZ");
	t->entsize = d->syment ? d->syment : sym_size(e);
	if (t->entsize < sym_size(e))
		return fail(m, "malformed ELF: DT_SYMENT %llu is too small",
		            (unsigned long long)t->entsize);
	t->strsz = d->strsz;
	if (elf_va_need(e, d->strtab, d->strsz, &t->stroff))
		return fail(m, "malformed ELF: the dynamic string table is not in the file");
	if (elf_dyn_count(e, d, t))
		return -1;
	if (t->none)
		return 0;
	if (elf_va(e, d->symtab, &t->off, &avail) || t->count > avail / t->entsize)
		return fail(m,
		            "malformed ELF: the dynamic symbol table (%llu symbols) is not in the "
		            "file",
		            (unsigned long long)t->count);
	return 0;
}

static void elf_shdr(const struct elf *e, uint64_t i, uint32_t *type, uint64_t *off, uint64_t *size,
                     uint32_t *link, uint64_t *entsize)
{
	const struct mod *m = e->m;
	uint64_t o = e->shoff + i * e->shentsize;
	*type = rd32(m, o + 4);
	*off = e->is64 ? rd64(m, o + 24) : rd32(m, o + 16);
	*size = e->is64 ? rd64(m, o + 32) : rd32(m, o + 20);
	*link = rd32(m, o + (e->is64 ? 40 : 24));
	*entsize = e->is64 ? rd64(m, o + 56) : rd32(m, o + 36);
}

/* The section header table must be in the file; e_shnum 0 means the count is in section 0. */
static int elf_check_shdrs(struct elf *e)
{
	struct mod *m = e->m;
	if (e->shentsize < (e->is64 ? 64u : 40u))
		return fail(m, "malformed ELF: e_shentsize %u is too small", e->shentsize);
	if (!in_file(m, e->shoff, e->shentsize))
		return fail(m,
		            "malformed ELF: the section header table is past the end of the file");
	if (!e->shnum)
		e->shnum = e->is64 ? rd64(m, e->shoff + 32) : rd32(m, e->shoff + 20);
	if (e->shnum > (m->n - e->shoff) / e->shentsize)
		return fail(m,
		            "malformed ELF: the section header table (%llu entries) runs past the "
		            "end of the file",
		            (unsigned long long)e->shnum);
	return 0;
}

/* The dynamic symbol table through the section headers (.dynsym and its linked string table):
 * for files without PT_DYNAMIC. */
static int elf_sec_symtab(struct elf *e, struct symtab *t)
{
	struct mod *m = e->m;
	uint32_t type, link, ltype;
	uint64_t size, lentsize;
	t->none = "it has no dynamic symbol table";
	if (!e->shoff)
		return 0;
	if (elf_check_shdrs(e))
		return -1;
	for (uint64_t i = 0; i < e->shnum; i++) {
		elf_shdr(e, i, &type, &t->off, &size, &link, &t->entsize);
		if (type != SHT_DYNSYM)
			continue;
		if (!t->entsize)
			t->entsize = sym_size(e);
		if (t->entsize < sym_size(e) || !in_file(m, t->off, size))
			return fail(m, "malformed ELF: the .dynsym section is not in the file");
		if (link >= e->shnum)
			return fail(
			    m, "malformed ELF: .dynsym links to section %u, which is not there",
			    link);
		elf_shdr(e, link, &ltype, &t->stroff, &t->strsz, &link, &lentsize);
		if (!in_file(m, t->stroff, t->strsz))
			return fail(m, "malformed ELF: the .dynstr section is not in the file");
		t->count = size / t->entsize;
		t->none = NULL;
		return 0;
	}
	return 0;
}

/* Why a dynamic symbol (st_info, st_other, st_shndx) is not an export; NULL if it is one. */
static const char *elf_not_exported(unsigned info, unsigned other, unsigned shndx)
{
	unsigned bind = info >> 4, type = info & 0xf, vis = other & 3;
	if (!shndx)
		return "the symbol is undefined (imported, not defined)";
	if (bind != 1 && bind != 2 && bind != 10) /* STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE */
		return "the symbol is local";
	if (vis == 1 || vis == 2) /* STV_INTERNAL, STV_HIDDEN */
		return "the symbol has hidden visibility";
	if (type == 3 || type == 4) /* STT_SECTION, STT_FILE */
		return "the symbol is not a function or data (a section or file symbol)";
	return NULL;
}

static int elf_scan(const struct elf *e, const struct symtab *t, struct scan *s)
{
	struct mod *m = e->m;
	for (uint64_t i = 0; i < t->count && !s->found; i++) {
		uint64_t o = t->off + i * t->entsize;
		uint32_t name = rd32(m, o);
		unsigned at = e->is64 ? 4 : 12; /* st_info, st_other, st_shndx */
		const unsigned char *str = m->p + t->stroff + name;
		struct name nm;
		if (name >= t->strsz || read_name(&nm, str, t->strsz - name, m->name_max))
			return fail(
			    m,
			    "malformed ELF: dynamic symbol %llu's name is not in its string "
			    "table",
			    (unsigned long long)i);
		const char *why =
		    elf_not_exported((unsigned)rd(m, o + at, 1), (unsigned)rd(m, o + at + 1, 1),
		                     rd16(m, o + at + 2));
		scan_name(s, &nm, m->symbol, why);
	}
	return 0;
}

/* After the symbol is found: dlopen loads shared objects only, not executables (PIE or not). */
static int elf_loadable(struct mod *m, const struct elf *e, const struct dyn *d)
{
	if (e->type == ET_EXEC || (d->flags_1 & DF_1_PIE))
		return fail(
		    m,
		    "exports %s but is an ELF %sexecutable, which dlopen refuses: link it with "
		    "-shared",
		    m->symbol, e->type == ET_EXEC ? "" : "position-independent ");
	return 0;
}

static int elf_exports(struct elf *e)
{
	struct mod *m = e->m;
	struct dyn d;
	struct symtab t = {0, 0, 0, 0, 0, NULL};
	struct scan s = {0, NULL, NEAR_NONE, ""};
	int rc = elf_dynamic(e, &d);
	if (rc < 0)
		return -1;
	if ((rc > 0 && d.symtab) ? elf_dyn_symtab(e, &d, &t) : elf_sec_symtab(e, &t))
		return -1;
	if (!t.none && elf_scan(e, &t, &s))
		return -1;
	if (!s.found)
		return missing(m, &s, t.none);
	return elf_loadable(m, e, &d);
}

static int check_elf(struct mod *m, int want_pe)
{
	struct elf e = {m, m->n > 4 && m->p[4] == 2, 0, 0, 0, 0, 0, 0, 0, 0};
	unsigned cls = m->n > 4 ? m->p[4] : 0, data = m->n > 5 ? m->p[5] : 0;
	if (want_pe)
		return fail(m,
		            "is an %s; this Windows build of wspharness loads PE DLLs (use the "
		            "native build)",
		            elf_noun(data == 1 ? rd16(m, 16) : 0));
	if (m->n < 16)
		return fail(m, "malformed ELF: the file (%zu bytes) ends within e_ident", m->n);
	if (cls != 1 && cls != 2)
		return fail(m, "malformed ELF: EI_CLASS %u is neither ELFCLASS32 nor ELFCLASS64",
		            cls);
	if (data == 2)
		return fail(m,
		            "is a big-endian ELF file; this build loads little-endian (%s) modules",
		            host_name());
	if (data != 1)
		return fail(m, "malformed ELF: EI_DATA %u is neither little- nor big-endian", data);
	if (elf_header(&e))
		return -1;
	const char *noun = elf_noun(e.type);
	if (check_machine(m, noun, e.is64 ? 64 : 32, arch_of(0, e.machine), "e_machine", e.machine))
		return -1;
	if (e.type != ET_DYN && e.type != ET_EXEC)
		return fail(m, "is %s %s, not a shared object: link it with -shared", article(noun),
		            noun);
	return elf_check_phdrs(&e) ? -1 : elf_exports(&e);
}

/* ---- PE ---- */

enum {
	IMAGE_FILE_DLL = 0x2000,
	PE32 = 0x10b,
	PE32_PLUS = 0x20b,
};

struct pe {
	struct mod *m;
	uint64_t opt, sec;
	unsigned machine, nsec, optsz, chars, magic;
};

static const char *pe_noun(const struct pe *h)
{
	return h->chars & IMAGE_FILE_DLL ? "DLL" : "PE executable";
}

/* The DOS header, the PE signature, the COFF header and the optional header's magic. */
static int pe_headers(struct pe *h)
{
	struct mod *m = h->m;
	if (m->n < 64)
		return fail(m, "malformed PE: the file (%zu bytes) ends within the DOS header",
		            m->n);
	uint32_t lfanew = rd32(m, 0x3c);
	if (!in_file(m, lfanew, 4) || memcmp(m->p + lfanew, "PE\0\0", 4))
		return fail(m,
		            "malformed PE: no PE signature at e_lfanew 0x%x (an MS-DOS program, or "
		            "cut short?)",
		            (unsigned)lfanew);
	uint64_t coff = (uint64_t)lfanew + 4;
	if (!in_file(m, coff, 20 + 2))
		return fail(m, "malformed PE: the file ends within the COFF header");
	h->machine = rd16(m, coff);
	h->nsec = rd16(m, coff + 2);
	h->optsz = rd16(m, coff + 16);
	h->chars = rd16(m, coff + 18);
	h->opt = coff + 20;
	h->sec = h->opt + h->optsz;
	h->magic = rd16(m, h->opt);
	if (h->optsz < 2 || (h->magic != PE32 && h->magic != PE32_PLUS))
		return fail(m,
		            "malformed PE: optional header magic 0x%x is neither PE32 (0x10b) nor "
		            "PE32+ (0x20b)",
		            h->magic);
	return 0;
}

static uint32_t pe_section_va(const struct pe *h, unsigned i)
{
	return rd32(h->m, h->sec + (uint64_t)i * 40 + 12);
}

static int pe_check_tables(struct pe *h)
{
	struct mod *m = h->m;
	unsigned dirs = h->magic == PE32_PLUS ? 112 : 96;
	if ((h->magic == PE32_PLUS ? 64 : 32) != HOST_BITS)
		return fail(m, "malformed PE: a %s optional header in a %d-bit image",
		            h->magic == PE32_PLUS ? "PE32+" : "PE32", HOST_BITS);
	if (h->optsz < dirs || !in_file(m, h->opt, h->optsz))
		return fail(m, "malformed PE: the optional header (%u bytes) is cut short",
		            h->optsz);
	if (!in_file(m, h->sec, (uint64_t)h->nsec * 40))
		return fail(m,
		            "malformed PE: the section table (%u sections) runs past the end of "
		            "the file",
		            h->nsec);
	for (unsigned i = 1; i < h->nsec; i++)
		if (pe_section_va(h, i) <= pe_section_va(h, i - 1))
			return fail(m, "malformed PE: the sections are not in ascending address "
			               "order");
	return 0;
}

/* The file offset of an RVA and how many bytes of its section's raw data follow it there (clipped
 * to the file); -1 when no section holds it in the file. The sections are in ascending address
 * order (pe_check_tables): a binary search finds the last one that starts at or below rva. */
static int pe_rva(const struct pe *h, uint64_t rva, uint64_t *off, uint64_t *avail)
{
	const struct mod *m = h->m;
	unsigned lo = 0, hi = h->nsec;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (pe_section_va(h, mid) <= rva)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	uint64_t s = h->sec + (uint64_t)(lo - 1) * 40;
	uint32_t vsize = rd32(m, s + 8), va = rd32(m, s + 12);
	uint32_t raw = rd32(m, s + 16), ptr = rd32(m, s + 20);
	uint32_t span = vsize && vsize < raw ? vsize : raw;
	uint64_t o = (uint64_t)ptr + (rva - va);
	if (rva - va >= span || o >= m->n)
		return -1;
	*off = o;
	*avail = span - (rva - va) < m->n - o ? span - (rva - va) : m->n - o;
	return 0;
}

static int pe_rva_need(const struct pe *h, uint64_t rva, uint64_t len, uint64_t *off)
{
	uint64_t avail;
	return pe_rva(h, rva, off, &avail) || len > avail ? -1 : 0;
}

/* Export directory fields. */
struct pe_exp {
	uint32_t naddr, nnames, eat, names, ords;
	uint64_t names_off, ords_off;
};

/* The export named at index i is symbol: its address must be in the address table and non-zero (a
 * forwarder, whose address is a string inside the export directory, counts as exported). */
static const char *pe_why_not(const struct pe *h, const struct pe_exp *x, uint32_t i, int *bad)
{
	uint64_t off;
	unsigned ord = rd16(h->m, x->ords_off + (uint64_t)i * 2);
	if (ord >= x->naddr || pe_rva_need(h, (uint64_t)x->eat + (uint64_t)ord * 4, 4, &off)) {
		*bad = 1;
		return NULL;
	}
	return rd32(h->m, off) ? NULL : "its export address is 0";
}

static int pe_scan(const struct pe *h, const struct pe_exp *x, struct scan *s)
{
	struct mod *m = h->m;
	for (uint32_t i = 0; i < x->nnames && !s->found; i++) {
		uint64_t off, avail;
		uint32_t rva = rd32(m, x->names_off + (uint64_t)i * 4);
		struct name nm;
		if (pe_rva(h, rva, &off, &avail) || read_name(&nm, m->p + off, avail, m->name_max))
			return fail(m, "malformed PE: export name %u (RVA 0x%x) is not in the file",
			            i, (unsigned)rva);
		const char *why = NULL;
		int bad = 0;
		if (nm.whole && !strcmp(nm.s, m->symbol))
			why = pe_why_not(h, x, i, &bad);
		if (bad)
			return fail(m, "malformed PE: export %s has no entry in the address table",
			            m->symbol);
		scan_name(s, &nm, m->symbol, why);
	}
	return 0;
}

static int pe_export_dir(const struct pe *h, struct pe_exp *x, const char **none)
{
	struct mod *m = h->m;
	unsigned dirs = h->magic == PE32_PLUS ? 112 : 96;
	uint64_t off;
	uint32_t nrva = rd32(m, h->opt + dirs - 4);
	uint32_t rva = nrva && h->optsz >= dirs + 8 ? rd32(m, h->opt + dirs) : 0;
	if (!rva) {
		*none = "it has no export directory";
		return 0;
	}
	if (pe_rva_need(h, rva, 40, &off))
		return fail(m, "malformed PE: the export directory (RVA 0x%x) is not in the file",
		            (unsigned)rva);
	x->naddr = rd32(m, off + 20);
	x->nnames = rd32(m, off + 24);
	x->eat = rd32(m, off + 28);
	x->names = rd32(m, off + 32);
	x->ords = rd32(m, off + 36);
	if (!x->nnames)
		*none = x->naddr ? "it exports by ordinal only" : "its export directory is empty";
	else if (pe_rva_need(h, x->names, (uint64_t)x->nnames * 4, &x->names_off) ||
	         pe_rva_need(h, x->ords, (uint64_t)x->nnames * 2, &x->ords_off))
		return fail(m,
		            "malformed PE: the export name tables (%u names) are not in the file",
		            (unsigned)x->nnames);
	return 0;
}

static int pe_exports(struct pe *h)
{
	struct mod *m = h->m;
	struct pe_exp x = {0, 0, 0, 0, 0, 0, 0};
	struct scan s = {0, NULL, NEAR_NONE, ""};
	const char *none = NULL;
	if (pe_export_dir(h, &x, &none) || (!none && pe_scan(h, &x, &s)))
		return -1;
	if (!s.found)
		return missing(m, &s, none);
	if (!(h->chars & IMAGE_FILE_DLL))
		return fail(m,
		            "exports %s but is a PE executable (no IMAGE_FILE_DLL flag), not a DLL",
		            m->symbol);
	return 0;
}

static int check_pe(struct mod *m, int want_pe)
{
	struct pe h = {m, 0, 0, 0, 0, 0, 0, 0};
	int bad = pe_headers(&h);
	if (!want_pe && bad)
		return fail(m,
		            "is an MS-DOS or Windows program file; this build of wspharness loads "
		            "ELF shared objects (use the Windows build)");
	if (!want_pe)
		return fail(
		    m,
		    "is a PE %s; this build of wspharness loads ELF shared objects (use the "
		    "Windows build)",
		    h.chars & IMAGE_FILE_DLL ? "DLL" : "executable");
	if (bad)
		return -1;
	const struct arch *a = arch_of(1, h.machine);
	int bits = a ? a->bits : h.magic == PE32_PLUS ? 64 : 32;
	if (check_machine(m, pe_noun(&h), bits, a, "machine", h.machine))
		return -1;
	return pe_check_tables(&h) ? -1 : pe_exports(&h);
}

/* ---- neither, and the file ---- */

static int not_module(struct mod *m, int want_pe)
{
	const char *loads = want_pe ? "PE DLLs" : "ELF shared objects";
	char hex[3 * 8 + 1] = "";
	size_t k = m->n < 8 ? m->n : 8;
	if (k >= 7 && !memcmp(m->p, "!<arch>", 7))
		return fail(m,
		            "is a static library (ar archive), not a shared module; this build "
		            "loads %s",
		            loads);
	if (k >= 2 && !memcmp(m->p, "#!", 2))
		return fail(m, "is a script (#!), not a module; this build loads %s", loads);
	size_t text = 0;
	while (text < k && m->p[text] >= 0x20 && m->p[text] < 0x7f)
		text++;
	if (text == k && k == 8)
		return fail(m,
		            "not a provider module: neither ELF nor PE (a text file, starting "
		            "\"%.8s\"; a linker script?); this build loads %s",
		            (const char *)m->p, loads);
	for (size_t i = 0; i < k; i++) {
		size_t len = strlen(hex);
		snprintf(hex + len, sizeof hex - len, "%s%02x", i ? " " : "", m->p[i]);
	}
	return fail(m,
	            "not a provider module: neither ELF nor PE (the file starts with bytes %s%s); "
	            "this build loads %s",
	            hex, m->n > k ? "..." : "", loads);
}

int wsph_modfile_check_mem(const void *data, size_t size, const char *symbol, int want_pe,
                           char *err, size_t errlen)
{
	struct mod m = {data, size, symbol, strlen(symbol) + NAME_SLACK, err, errlen};
	if (err && errlen)
		err[0] = '\0';
	if (m.name_max >= NAME_BUF)
		return fail(&m, "the symbol name is too long to look up");
	if (!size)
		return fail(&m, "not a provider module: the file is empty");
	if (size >= 4 && !memcmp(data, "\177ELF", 4))
		return check_elf(&m, want_pe);
	if (size >= 2 && !memcmp(data, "MZ", 2))
		return check_pe(&m, want_pe);
	return not_module(&m, want_pe);
}

/* Reads f to its end into *buf (malloc'd): 0, or -1 with errno set (ENOMEM also for a file over
 * MAX_FILE bytes, then *size is MAX_FILE + 1). */
static int read_all(FILE *f, unsigned char **buf, size_t *size)
{
	size_t n = 0, cap = 0, got = 1;
	*buf = NULL;
	while (got && n <= MAX_FILE) {
		if (n == cap) {
			cap = cap ? (cap * 2 < MAX_FILE + 1 ? cap * 2 : MAX_FILE + 1) : 65536;
			unsigned char *nb = realloc(*buf, cap);
			if (!nb) {
				errno = ENOMEM;
				break;
			}
			*buf = nb;
		}
		got = fread(*buf + n, 1, cap - n, f);
		n += got;
	}
	*size = n;
	if (!ferror(f) && !got && n <= MAX_FILE)
		return 0;
	free(*buf);
	*buf = NULL;
	return -1;
}

/* The whole of a regular file, up to MAX_FILE bytes, in a malloc'd buffer. */
static int read_file(struct mod *m, const char *path, unsigned char **buf, size_t *size)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return fail(m, "cannot open: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(m, "is a directory");
	if (!S_ISREG(st.st_mode))
		return fail(m, "is not a regular file");
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(m, "cannot open: %s", strerror(errno));
	int rc = read_all(f, buf, size);
	int saved = errno;
	fclose(f);
	if (rc && *size > MAX_FILE)
		return fail(m, "is larger than %zu MiB: not a provider module", MAX_FILE >> 20);
	if (rc)
		return fail(m, "cannot read: %s", strerror(saved));
	return 0;
}

int wsph_modfile_check_as(const char *path, const char *symbol, int want_pe, char *err,
                          size_t errlen)
{
	struct mod m = {NULL, 0, symbol, 0, err, errlen};
	unsigned char *buf = NULL;
	size_t n = 0;
	if (read_file(&m, path, &buf, &n))
		return -1;
	int rc = wsph_modfile_check_mem(buf ? buf : (const unsigned char *)"", n, symbol, want_pe,
	                                err, errlen);
	free(buf);
	return rc;
}

int wsph_modfile_check(const char *path, const char *symbol, char *err, size_t errlen)
{
	return wsph_modfile_check_as(path, symbol, host_pe, err, errlen);
}
