/* The faulty-variant switch: IOCPLSP_FAULT_<NAME> (one per build, meson.build) -> F_<NAME> 0/1. */
#ifndef IOCPLSP_FAULTS_H
#define IOCPLSP_FAULTS_H

/* The APC that tells the client its request completed is queued, and the thread id opened for it
 * with WPUOpenCurrentThread is never closed (WPUCloseThread forgotten). */
#ifdef IOCPLSP_FAULT_NO_CLOSE_THREAD
#define F_NO_CLOSE_THREAD 1
#else
#define F_NO_CLOSE_THREAD 0
#endif

#endif
