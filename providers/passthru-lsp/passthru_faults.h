/* The faulty-LSP switches: PASSTHRU_FAULT_<NAME> (one per build, from meson.build) -> F_<NAME> 0/1,
 * and PASSTHRU_IFS -> LSP_IFS 0/1 (the IFS variant). */
#ifndef PASSTHRU_FAULTS_H
#define PASSTHRU_FAULTS_H

/* Plain 0/1 constants so the code reads `if (F_X)`; the compiler drops the dead branch. Each faulty
 * variant breaks exactly one rule (see the faulty_lsps list in meson.build). */

#ifdef PASSTHRU_IFS
#define LSP_IFS 1
#else
#define LSP_IFS 0
#endif

#ifdef PASSTHRU_FAULT_PROTOCOLINFO
#define F_PROTOCOLINFO 1
#else
#define F_PROTOCOLINFO 0
#endif

#ifdef PASSTHRU_FAULT_UNVALIDATED_TABLE
#define F_UNVALIDATED_TABLE 1
#else
#define F_UNVALIDATED_TABLE 0
#endif

#ifdef PASSTHRU_FAULT_OWN_UPCALL_TABLE
#define F_OWN_UPCALL_TABLE 1
#else
#define F_OWN_UPCALL_TABLE 0
#endif

#ifdef PASSTHRU_FAULT_LEAKS_LOWER_HANDLE
#define F_LEAKS_LOWER_HANDLE 1
#else
#define F_LEAKS_LOWER_HANDLE 0
#endif

#ifdef PASSTHRU_FAULT_IFS_OVER_NONIFS
#define F_IFS_OVER_NONIFS 1
#else
#define F_IFS_OVER_NONIFS 0
#endif

#ifdef PASSTHRU_FAULT_NO_EXPAND
#define F_NO_EXPAND 1
#else
#define F_NO_EXPAND 0
#endif

#ifdef PASSTHRU_FAULT_SHORT_BUFFER
#define F_SHORT_BUFFER 1
#else
#define F_SHORT_BUFFER 0
#endif

#ifdef PASSTHRU_FAULT_HARDCODED_PATH
#define F_HARDCODED_PATH 1
#else
#define F_HARDCODED_PATH 0
#endif

#ifdef PASSTHRU_FAULT_DIRECT_POSTMESSAGE
#define F_DIRECT_POSTMESSAGE 1
#else
#define F_DIRECT_POSTMESSAGE 0
#endif

#ifdef PASSTHRU_FAULT_NO_THREAD_ID
#define F_NO_THREAD_ID 1
#else
#define F_NO_THREAD_ID 0
#endif

#ifdef PASSTHRU_FAULT_USE_AFTER_CLOSE
#define F_USE_AFTER_CLOSE 1
#else
#define F_USE_AFTER_CLOSE 0
#endif

#ifdef PASSTHRU_FAULT_UPPER_HANDLE_DOWN
#define F_UPPER_HANDLE_DOWN 1
#else
#define F_UPPER_HANDLE_DOWN 0
#endif

#ifdef PASSTHRU_FAULT_LEAKS_LOWER_SOCKET
#define F_LEAKS_LOWER_SOCKET 1
#else
#define F_LEAKS_LOWER_SOCKET 0
#endif

#ifdef PASSTHRU_FAULT_USE_AFTER_CLEANUP
#define F_USE_AFTER_CLEANUP 1
#else
#define F_USE_AFTER_CLEANUP 0
#endif

#ifdef PASSTHRU_FAULT_FORWARDS_CLEANUP
#define F_FORWARDS_CLEANUP 1
#else
#define F_FORWARDS_CLEANUP 0
#endif

#ifdef PASSTHRU_FAULT_CLEANUP_WITH_SOCKETS
#define F_CLEANUP_WITH_SOCKETS 1
#else
#define F_CLEANUP_WITH_SOCKETS 0
#endif

#ifdef PASSTHRU_FAULT_WHOLE_RECEIVE
#define F_WHOLE_RECEIVE 1
#else
#define F_WHOLE_RECEIVE 0
#endif

#ifdef PASSTHRU_FAULT_EXPAND_IN_PLACE_SHORT
#define F_EXPAND_IN_PLACE_SHORT 1
#else
#define F_EXPAND_IN_PLACE_SHORT 0
#endif

#ifdef PASSTHRU_FAULT_EXPAND_SHORT
#define F_EXPAND_SHORT 1
#else
#define F_EXPAND_SHORT 0
#endif

#ifdef PASSTHRU_FAULT_PATH_LEN_BYTES
#define F_PATH_LEN_BYTES 1
#else
#define F_PATH_LEN_BYTES 0
#endif

#ifdef PASSTHRU_FAULT_LOADS_OTHER_DLL
#define F_LOADS_OTHER_DLL 1
#else
#define F_LOADS_OTHER_DLL 0
#endif

#endif
