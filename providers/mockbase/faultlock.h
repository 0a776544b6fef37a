/* A second lock for the lock-order-deadlock variant (mockbase_faults.h): "the socket lock", taken
 * with mockbase's one lock (pv_sync.h, "the table lock") in one order by WSPCloseSocket and in the
 * other by WSPRecv. A real mutex, so that two threads caught in the inversion block for good, as a
 * provider's threads do. The reference provider never takes it. */
#ifndef MB_FAULTLOCK_H
#define MB_FAULTLOCK_H

void mb_fault_lock(void);
void mb_fault_unlock(void);

#endif
