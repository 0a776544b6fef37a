/* Checks that a provider module file exports WSPStartup without loading it (ELF and PE readers). */
#ifndef WSPH_MODFILE_H
#define WSPH_MODFILE_H

#include <stddef.h>

/* Loading a module runs its constructors (DllMain) in the loading process, which a hostile provider
 * can crash, exit or hang; these read the file as bytes instead. Every offset and size in the file
 * is checked against its length, so any file (truncated, corrupt, hostile) gives an answer.
 *
 * 0 when path is a module of the kind this build loads (an ELF shared object natively, a PE DLL
 * on Windows) for this machine, and exports symbol as a defined global function or data symbol;
 * else -1 with a one-line reason in err (to follow "<path>: "), e.g. "is a directory",
 * "is a 32-bit (x86) DLL; this build loads 64-bit (x86-64) modules", "exports no WSPStartup (...)",
 * "malformed ELF: ...". Files over 512 MiB are refused. */
int wsph_modfile_check(const char *path, const char *symbol, char *err, size_t errlen);

/* The same with the format given: PE DLLs when want_pe, else ELF shared objects (the machine
 * expected is still this build's), so that both readers can be tested on any build. */
int wsph_modfile_check_as(const char *path, const char *symbol, int want_pe, char *err,
                          size_t errlen);

/* The same on a file's bytes already in memory (tests and fuzzing). */
int wsph_modfile_check_mem(const void *data, size_t size, const char *symbol, int want_pe,
                           char *err, size_t errlen);

/* This build's module format (1 PE, 0 ELF) and the machine numbers it expects in a module: the PE
 * COFF machine (0x8664 on x86-64) and the ELF e_machine (62 on x86-64); 0 when this build's CPU is
 * not one the reader knows, in which case only the word size (32 or 64 bits) is checked. */
int wsph_modfile_host_pe(void);
unsigned wsph_modfile_host_machine(int pe);

#endif
