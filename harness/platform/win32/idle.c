/* Windows side of wsph_plat_idle (platform.h). Whether a thread waits without a time limit is not
 * something Windows tells a process about its own threads at a price worth paying per sample (and
 * Wine does not report wait states), so the platform cannot tell: the harness keeps its time
 * limits on this build. */
#include "../platform.h"

#include <string.h>

int wsph_plat_idle(unsigned long waiter, struct wsph_idle *out)
{
	(void)waiter;
	memset(out, 0, sizeof *out);
	return -1;
}

int wsph_plat_idle_thread(unsigned long tid, unsigned long waiter)
{
	(void)tid;
	(void)waiter;
	return -1;
}

void wsph_plat_idle_exempt(int on)
{
	(void)on;
}

int wsph_plat_idle_threads(struct wsph_thread_wait *out, size_t max)
{
	(void)out;
	(void)max;
	return -1;
}

int wsph_plat_idle_threads_of(unsigned long pid, struct wsph_thread_wait *out, size_t max)
{
	(void)pid;
	(void)out;
	(void)max;
	return -1;
}
