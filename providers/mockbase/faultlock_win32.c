/* faultlock on Win32: a slim reader/writer lock used exclusively. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "faultlock.h"

static SRWLOCK fault_srw = SRWLOCK_INIT;

void mb_fault_lock(void)
{
	AcquireSRWLockExclusive(&fault_srw);
}

void mb_fault_unlock(void)
{
	ReleaseSRWLockExclusive(&fault_srw);
}
