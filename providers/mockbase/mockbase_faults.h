/* The faulty-variant switches: MOCKBASE_FAULT_<NAME> (one per build, from providers/faulty) ->
 * F_<NAME> 0/1. */
#ifndef MOCKBASE_FAULTS_H
#define MOCKBASE_FAULTS_H

/* Plain 0/1 constants so the code reads `if (F_X)` instead of #ifdef blocks; the compiler drops the
 * dead branch. Each variant breaks exactly one rule (see providers/faulty/meson.build). */

#ifdef MOCKBASE_FAULT_PROCTABLE_HOLE
#define F_PROCTABLE_HOLE 1
#else
#define F_PROCTABLE_HOLE 0
#endif
#ifdef MOCKBASE_FAULT_KEEPS_UPCALL_POINTER
#define F_KEEPS_UPCALL_POINTER 1
#else
#define F_KEEPS_UPCALL_POINTER 0
#endif
#ifdef MOCKBASE_FAULT_FIRST_TABLE_ONLY
#define F_FIRST_TABLE_ONLY 1
#else
#define F_FIRST_TABLE_ONLY 0
#endif
#ifdef MOCKBASE_FAULT_VERSION_MAX
#define F_VERSION_MAX 1
#else
#define F_VERSION_MAX 0
#endif
#ifdef MOCKBASE_FAULT_NO_REFCOUNT
#define F_NO_REFCOUNT 1
#else
#define F_NO_REFCOUNT 0
#endif
#ifdef MOCKBASE_FAULT_CLEANUP_RETURNS_ERROR
#define F_CLEANUP_RETURNS_ERROR 1
#else
#define F_CLEANUP_RETURNS_ERROR 0
#endif
#ifdef MOCKBASE_FAULT_CLEANUP_KEEPS_HANDLES
#define F_CLEANUP_KEEPS_HANDLES 1
#else
#define F_CLEANUP_KEEPS_HANDLES 0
#endif
#ifdef MOCKBASE_FAULT_ERRNO_NOT_SET
#define F_ERRNO_NOT_SET 1
#else
#define F_ERRNO_NOT_SET 0
#endif
#ifdef MOCKBASE_FAULT_NONIFS_NO_CLOSE_HANDLE
#define F_NONIFS_NO_CLOSE_HANDLE 1
#else
#define F_NONIFS_NO_CLOSE_HANDLE 0
#endif
#ifdef MOCKBASE_FAULT_DOUBLE_CLOSE_HANDLE
#define F_DOUBLE_CLOSE_HANDLE 1
#else
#define F_DOUBLE_CLOSE_HANDLE 0
#endif
#ifdef MOCKBASE_FAULT_IGNORES_CREATE_FAILURE
#define F_IGNORES_CREATE_FAILURE 1
#else
#define F_IGNORES_CREATE_FAILURE 0
#endif
#ifdef MOCKBASE_FAULT_WRONG_CATALOG_ID
#define F_WRONG_CATALOG_ID 1
#else
#define F_WRONG_CATALOG_ID 0
#endif
#ifdef MOCKBASE_FAULT_NONIFS_MODIFIES
#define F_NONIFS_MODIFIES 1
#else
#define F_NONIFS_MODIFIES 0
#endif
#ifdef MOCKBASE_FAULT_IFS_IGNORES_MODIFIED
#define F_IFS_IGNORES_MODIFIED 1
#else
#define F_IFS_IGNORES_MODIFIED 0
#endif
#ifdef MOCKBASE_FAULT_IFS_CREATES_HANDLE
#define F_IFS_CREATES_HANDLE 1
#else
#define F_IFS_CREATES_HANDLE 0
#endif
#ifdef MOCKBASE_FAULT_IFS_NO_MODIFY
#define F_IFS_NO_MODIFY 1
#else
#define F_IFS_NO_MODIFY 0
#endif
#ifdef MOCKBASE_FAULT_IGNORES_MODIFY_FAILURE
#define F_IGNORES_MODIFY_FAILURE 1
#else
#define F_IGNORES_MODIFY_FAILURE 0
#endif
#ifdef MOCKBASE_FAULT_NO_STARTUP_EXPORT
#define F_NO_STARTUP_EXPORT 1
#else
#define F_NO_STARTUP_EXPORT 0
#endif
#ifdef MOCKBASE_FAULT_IFS_QUERIES_CONTEXT
#define F_IFS_QUERIES_CONTEXT 1
#else
#define F_IFS_QUERIES_CONTEXT 0
#endif
#ifdef MOCKBASE_FAULT_NONIFS_WRONG_NOTSOCK
#define F_NONIFS_WRONG_NOTSOCK 1
#else
#define F_NONIFS_WRONG_NOTSOCK 0
#endif

/* The asynchronous paths (issue 4). */
#ifdef MOCKBASE_FAULT_COMPLETE_WITH_ROUTINE
#define F_COMPLETE_WITH_ROUTINE 1
#else
#define F_COMPLETE_WITH_ROUTINE 0
#endif
#ifdef MOCKBASE_FAULT_LATE_APC
#define F_LATE_APC 1
#else
#define F_LATE_APC 0
#endif
#ifdef MOCKBASE_FAULT_KEEPS_THREAD_ID_POINTER
#define F_KEEPS_THREAD_ID_POINTER 1
#else
#define F_KEEPS_THREAD_ID_POINTER 0
#endif
#ifdef MOCKBASE_FAULT_APC_CLIENT_ROUTINE
#define F_APC_CLIENT_ROUTINE 1
#else
#define F_APC_CLIENT_ROUTINE 0
#endif
#ifdef MOCKBASE_FAULT_COMPLETE_WRONG_HANDLE
#define F_COMPLETE_WRONG_HANDLE 1
#else
#define F_COMPLETE_WRONG_HANDLE 0
#endif
#ifdef MOCKBASE_FAULT_COMPLETE_OWN_OVERLAPPED
#define F_COMPLETE_OWN_OVERLAPPED 1
#else
#define F_COMPLETE_OWN_OVERLAPPED 0
#endif
#ifdef MOCKBASE_FAULT_IFS_COMPLETES_OVERLAPPED
#define F_IFS_COMPLETES_OVERLAPPED 1
#else
#define F_IFS_COMPLETES_OVERLAPPED 0
#endif
#ifdef MOCKBASE_FAULT_CLOSE_NO_ABORT
#define F_CLOSE_NO_ABORT 1
#else
#define F_CLOSE_NO_ABORT 0
#endif
#ifdef MOCKBASE_FAULT_CLOSES_CLIENT_THREAD
#define F_CLOSES_CLIENT_THREAD 1
#else
#define F_CLOSES_CLIENT_THREAD 0
#endif
#ifdef MOCKBASE_FAULT_OPENS_THREAD_IN_STARTUP
#define F_OPENS_THREAD_IN_STARTUP 1
#else
#define F_OPENS_THREAD_IN_STARTUP 0
#endif
#ifdef MOCKBASE_FAULT_THREAD_LEAK
#define F_THREAD_LEAK 1
#else
#define F_THREAD_LEAK 0
#endif
#ifdef MOCKBASE_FAULT_POST_WRONG_MESSAGE
#define F_POST_WRONG_MESSAGE 1
#else
#define F_POST_WRONG_MESSAGE 0
#endif
#ifdef MOCKBASE_FAULT_POST_AFTER_CANCEL
#define F_POST_AFTER_CANCEL 1
#else
#define F_POST_AFTER_CANCEL 0
#endif
#ifdef MOCKBASE_FAULT_SETEVENT_STALE_EVENT
#define F_SETEVENT_STALE_EVENT 1
#else
#define F_SETEVENT_STALE_EVENT 0
#endif
#ifdef MOCKBASE_FAULT_CLOSES_CLIENT_EVENT
#define F_CLOSES_CLIENT_EVENT 1
#else
#define F_CLOSES_CLIENT_EVENT 0
#endif
#ifdef MOCKBASE_FAULT_SELECT_MISCOUNT
#define F_SELECT_MISCOUNT 1
#else
#define F_SELECT_MISCOUNT 0
#endif
#ifdef MOCKBASE_FAULT_NULL_CALLBACK_FAILS
#define F_NULL_CALLBACK_FAILS 1
#else
#define F_NULL_CALLBACK_FAILS 0
#endif
#ifdef MOCKBASE_FAULT_BLOCKING_WRONG_ID
#define F_BLOCKING_WRONG_ID 1
#else
#define F_BLOCKING_WRONG_ID 0
#endif
#ifdef MOCKBASE_FAULT_CALLBACK_FALSE_IGNORED
#define F_CALLBACK_FALSE_IGNORED 1
#else
#define F_CALLBACK_FALSE_IGNORED 0
#endif
#ifdef MOCKBASE_FAULT_CLEANUP_NOTIFIES
#define F_CLEANUP_NOTIFIES 1
#else
#define F_CLEANUP_NOTIFIES 0
#endif
#ifdef MOCKBASE_FAULT_LATE_RELEASE
#define F_LATE_RELEASE 1
#else
#define F_LATE_RELEASE 0
#endif
#ifdef MOCKBASE_FAULT_RELEASE_BEFORE_ABORT
#define F_RELEASE_BEFORE_ABORT 1
#else
#define F_RELEASE_BEFORE_ABORT 0
#endif
#ifdef MOCKBASE_FAULT_STALE_WRONG_ERROR
#define F_STALE_WRONG_ERROR 1
#else
#define F_STALE_WRONG_ERROR 0
#endif
#ifdef MOCKBASE_FAULT_SEND_RETURNS_COUNT
#define F_SEND_RETURNS_COUNT 1
#else
#define F_SEND_RETURNS_COUNT 0
#endif
#ifdef MOCKBASE_FAULT_RECV_OVERCOUNT
#define F_RECV_OVERCOUNT 1
#else
#define F_RECV_OVERCOUNT 0
#endif

/* Rules of the startup and handle families that had no variant of their own. */
#ifdef MOCKBASE_FAULT_STARTUP_EINVAL
#define F_STARTUP_EINVAL 1
#else
#define F_STARTUP_EINVAL 0
#endif
#ifdef MOCKBASE_FAULT_ACCEPTS_OLD_VERSION
#define F_ACCEPTS_OLD_VERSION 1
#else
#define F_ACCEPTS_OLD_VERSION 0
#endif
#ifdef MOCKBASE_FAULT_NO_DESCRIPTION
#define F_NO_DESCRIPTION 1
#else
#define F_NO_DESCRIPTION 0
#endif
#ifdef MOCKBASE_FAULT_UNBALANCED_CLEANUP_SUCCEEDS
#define F_UNBALANCED_CLEANUP_SUCCEEDS 1
#else
#define F_UNBALANCED_CLEANUP_SUCCEEDS 0
#endif
#ifdef MOCKBASE_FAULT_NO_REINIT
#define F_NO_REINIT 1
#else
#define F_NO_REINIT 0
#endif
#ifdef MOCKBASE_FAULT_IFS_CLOSES_HANDLE
#define F_IFS_CLOSES_HANDLE 1
#else
#define F_IFS_CLOSES_HANDLE 0
#endif
#ifdef MOCKBASE_FAULT_NONIFS_RETURNS_CONTEXT
#define F_NONIFS_RETURNS_CONTEXT 1
#else
#define F_NONIFS_RETURNS_CONTEXT 0
#endif

/* SPI.Errno.Documented and SPI.Errno.IoPendingOnlyOverlapped: the codes of a failing call. */
#ifdef MOCKBASE_FAULT_UNDOCUMENTED_ERRNO
#define F_UNDOCUMENTED_ERRNO 1
#else
#define F_UNDOCUMENTED_ERRNO 0
#endif
#ifdef MOCKBASE_FAULT_PENDING_NOT_OVERLAPPED
#define F_PENDING_NOT_OVERLAPPED 1
#else
#define F_PENDING_NOT_OVERLAPPED 0
#endif

/* Not a fault: the reference variant that delivers the optional notifications through the
 * operating system (SetEvent, ResetEvent, QueueUserAPC) instead of the upcalls. */
#ifdef MOCKBASE_OS_NOTIFY
#define MB_OS_NOTIFY 1
#else
#define MB_OS_NOTIFY 0
#endif

/*
 * Under AddressSanitizer the compiler moves a by-value parameter into its instrumented frame, so
 * &UpcallTable would stop being the caller's buffer and the keep-pointer variant would read a dead
 * stack slot instead of the poisoned table. Leave its WSPStartup uninstrumented so the bug looks
 * the same in sanitizer builds as in normal ones.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MB_ASAN 1
#endif
#if F_KEEPS_UPCALL_POINTER && defined(MB_ASAN)
#define MB_STARTUP_ATTR __attribute__((no_sanitize_address))
#else
#define MB_STARTUP_ATTR
#endif

#endif
