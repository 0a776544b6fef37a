/* POSIX module loading: dlopen a provider .so, find symbols, name the module at an address. */
#define _GNU_SOURCE /* dladdr */
#include "../platform.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

long wsph_plat_load_exception(void)
{
	return 0; /* a fault in a constructor ends the process */
}

struct wsph_module *wsph_plat_load(const char *path, char *err, size_t errlen)
{
	/* dlopen searches the library path for names without a slash; a provider path never should. */
	char buf[4096];
	const char *p = path;
	if (!strchr(path, '/')) {
		snprintf(buf, sizeof buf, "./%s", path);
		p = buf;
	}
	void *h = dlopen(p, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : "dlopen failed");
		return NULL;
	}
	return (struct wsph_module *)h;
}

void *wsph_plat_symbol(struct wsph_module *m, const char *name)
{
	return dlsym((void *)m, name);
}

void wsph_plat_unload(struct wsph_module *m)
{
	if (m)
		dlclose((void *)m);
}

int wsph_plat_interpose(struct wsph_module *m, const char *name, void *replacement)
{
	/* The program exports the interposed names; the .so binds to them at load time. */
	(void)m;
	(void)name;
	(void)replacement;
	return 0;
}

const char *wsph_plat_module_name_at(const void *addr, char *buf, size_t len)
{
	Dl_info info;
	if (!addr || !dladdr(addr, &info) || !info.dli_fname) {
		snprintf(buf, len, "?");
		return buf;
	}
	const char *base = strrchr(info.dli_fname, '/');
	snprintf(buf, len, "%s", base ? base + 1 : info.dli_fname);
	return buf;
}

const char *wsph_plat_module_suffix(void)
{
	return ".so";
}
