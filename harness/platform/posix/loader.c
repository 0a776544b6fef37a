/* POSIX module loading: dlopen a provider .so, find symbols, name the module at an address. */
#define _GNU_SOURCE /* dladdr */
#include "../platform.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

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

/* ---- the stack frame that holds a buffer (wsph_plat_stack_room, declared in imports.h) ---- */

size_t wsph_plat_stack_room(const void *p);

struct frame_walk {
	uintptr_t p, prev_cfa, room;
	int done;
};

/* Each frame's CFA is the caller's stack pointer before the call: the frame's own return address
 * lies just below it, and everything the frame holds lies between the previous CFA and that. */
static _Unwind_Reason_Code on_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct frame_walk *w = arg;
	uintptr_t cfa = (uintptr_t)_Unwind_GetCFA(ctx);
	if (cfa <= w->prev_cfa) /* not a stack that grows down frame by frame: judge nothing */
		return _URC_END_OF_STACK;
	if (w->prev_cfa && w->p >= w->prev_cfa && w->p < cfa) {
		uintptr_t ret_slot = cfa - sizeof(void *);
		w->room = w->p < ret_slot ? ret_slot - w->p : 0;
		w->done = 1;
		return _URC_END_OF_STACK;
	}
	w->prev_cfa = cfa;
	return _URC_NO_REASON;
}

size_t wsph_plat_stack_room(const void *p)
{
	struct frame_walk w = {(uintptr_t)p, 0, 0, 0};
	_Unwind_Backtrace(on_frame, &w);
	return w.done ? (size_t)w.room : 0;
}
