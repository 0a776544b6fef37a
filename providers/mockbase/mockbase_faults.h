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
