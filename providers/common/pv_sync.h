/* The one lock, one condition variable and the clock a provider module needs, on any OS. */
#ifndef PV_SYNC_H
#define PV_SYNC_H

#include <stdint.h>

/*
 * Every provider module links its own copy, so these are per-module singletons: one non-recursive
 * mutex guarding all provider state and one condition variable that every waiter shares. Both are
 * statically initialised, so they are usable before (and after) WSPStartup/WSPCleanup.
 */
void pv_lock(void);
void pv_unlock(void);
/* With the lock held: releases it, waits for pv_wake_all() or at most ms milliseconds, relocks. */
void pv_wait_ms(unsigned ms);
/* Wakes every pv_wait_ms() waiter (call with or without the lock held). */
void pv_wake_all(void);
/* Monotonic milliseconds, for timeouts. */
uint64_t pv_now_ms(void);
/* Sleeps the calling thread. */
void pv_sleep_ms(unsigned ms);

#endif
