/* mockbase: the waits of blocking calls, with the blocking hook, and WSPCancelBlockingCall. */

/*
 * A blocking call that cannot complete yet asks ws2_32 for the blocking hook
 * (WPUQueryBlockingCallback) once, then waits in slices of MB_SLICE_MS with the lock released,
 * calling the hook between slices, until its condition holds, the deadline passes (WSPSelect), the
 * hook says stop or WSPCancelBlockingCall cancels every wait in progress.
 */

#include "model.h"

void mb_blk_init(struct blk *k)
{
	memset(k, 0, sizeof *k);
}

/*
 * With the lock held, when a blocking call cannot complete yet: the first time, asks for the
 * blocking hook (outside the lock) and returns so the caller re-checks; afterwards waits one slice
 * and calls the hook between slices. Returns 0 to re-check, WSAETIMEDOUT at the deadline, or the
 * error that ends the call (WSAEINTR when cancelled or the hook says stop).
 */
int mb_blk_wait(const struct call *c, struct blk *k)
{
	if (!k->started) {
		LPBLOCKINGCALLBACK cb = NULL;
		DWORD_PTR ctx = 0;
		int e = 0;
		k->started = 1;
		mb_g.blocking++;
		k->cancel_gen = mb_g.cancel_gen;
		pv_unlock();
		int r = c->up.lpWPUQueryBlockingCallback(F(BLOCKING_WRONG_ID) ? 0 : c->catalog, &cb,
		                                         &ctx, &e);
		pv_lock();
		if (r != 0)
			return e ? e : WSAEINVAL;
		if (F(NULL_CALLBACK_FAILS) && !cb)
			return WSAEOPNOTSUPP; /* the bug: no hook taken for "cannot block" */
		k->cb = cb;
		k->ctx = ctx;
		return 0;
	}
	if (mb_g.cancel_gen != k->cancel_gen)
		return WSAEINTR;
	unsigned slice = MB_SLICE_MS;
	if (k->has_deadline) {
		uint64_t now = pv_now_ms();
		if (now >= k->deadline)
			return WSAETIMEDOUT;
		if (k->deadline - now < slice)
			slice = (unsigned)(k->deadline - now);
	}
	pv_wait_ms(slice);
	if (mb_g.cancel_gen != k->cancel_gen || !mb_still_current(c))
		return WSAEINTR;
	if (k->cb) {
		pv_unlock();
		BOOL go_on = k->cb(k->ctx);
		pv_lock();
		if (!go_on && !F(CALLBACK_FALSE_IGNORED))
			return WSAEINTR;
	}
	return 0;
}

void mb_blk_end(struct blk *k)
{
	if (k->started)
		mb_g.blocking--;
}

int WSPAPI mb_CancelBlockingCall(LPINT lpErrno)
{
	pv_lock();
	if (mb_g.startups <= 0) {
		pv_unlock();
		return fail(lpErrno, WSANOTINITIALISED);
	}
	if (mb_g.blocking == 0) {
		pv_unlock();
		return fail(lpErrno, WSAEINVAL);
	}
	mb_g.cancel_gen++;
	pv_wake_all();
	pv_unlock();
	return 0;
}
