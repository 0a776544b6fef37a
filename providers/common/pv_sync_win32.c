/* pv_sync on Win32: a slim reader/writer lock used exclusively and a condition variable (Vista+).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "pv_sync.h"

static SRWLOCK pv_srw = SRWLOCK_INIT;
static CONDITION_VARIABLE pv_cv = CONDITION_VARIABLE_INIT;

void pv_lock(void)
{
	AcquireSRWLockExclusive(&pv_srw);
}

void pv_unlock(void)
{
	ReleaseSRWLockExclusive(&pv_srw);
}

void pv_wait_ms(unsigned ms)
{
	SleepConditionVariableSRW(&pv_cv, &pv_srw, (DWORD)ms, 0);
}

void pv_wake_all(void)
{
	WakeAllConditionVariable(&pv_cv);
}

uint64_t pv_now_ms(void)
{
	return (uint64_t)GetTickCount64();
}

void pv_sleep_ms(unsigned ms)
{
	Sleep((DWORD)ms);
}
