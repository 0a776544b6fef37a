/* The faulty-variant switches. Each variant breaks exactly one rule (see providers/faulty/meson.build),
 * but CLEANUP_JOINS_LOCKED, which breaks none and deadlocks (faulty_status_specs there).
 *
 * The variants share one compilation of mockbase's sources (MOCKBASE_FAULTY): the fault is chosen
 * at run time by mockbase_fault, a constant defined by the variant's own small file
 * (providers/faulty/variant.c, built with MOCKBASE_VARIANT=MB_FAULT_<NAME>). The reference
 * provider is compiled without MOCKBASE_FAULTY: there every F(NAME) is the constant 0 and the
 * compiler drops the faulty branches. Two variants change what the module exports or runs at load
 * and are compiled on their own with a define: MOCKBASE_FAULT_NO_STARTUP_EXPORT and
 * MOCKBASE_FAULT_DLLMAIN_NETWORK. */
#ifndef MOCKBASE_FAULTS_H
#define MOCKBASE_FAULTS_H

#define MB_FAULT_LIST(X) \
	X(PROCTABLE_HOLE) \
	X(KEEPS_UPCALL_POINTER) \
	X(FIRST_TABLE_ONLY) \
	X(VERSION_MAX) \
	X(NO_REFCOUNT) \
	X(CLEANUP_RETURNS_ERROR) \
	X(CLEANUP_KEEPS_HANDLES) \
	X(ERRNO_NOT_SET) \
	X(NONIFS_NO_CLOSE_HANDLE) \
	X(DOUBLE_CLOSE_HANDLE) \
	X(IGNORES_CREATE_FAILURE) \
	X(WRONG_CATALOG_ID) \
	X(NONIFS_MODIFIES) \
	X(IFS_IGNORES_MODIFIED) \
	X(IFS_CREATES_HANDLE) \
	X(IFS_NO_MODIFY) \
	X(IGNORES_MODIFY_FAILURE) \
	X(IFS_QUERIES_CONTEXT) \
	X(NONIFS_WRONG_NOTSOCK) \
	X(COMPLETE_WITH_ROUTINE) \
	X(LATE_APC) \
	X(KEEPS_THREAD_ID_POINTER) \
	X(APC_CLIENT_ROUTINE) \
	X(COMPLETE_WRONG_HANDLE) \
	X(COMPLETE_OWN_OVERLAPPED) \
	X(IFS_COMPLETES_OVERLAPPED) \
	X(CLOSE_NO_ABORT) \
	X(CLOSES_CLIENT_THREAD) \
	X(OPENS_THREAD_IN_STARTUP) \
	X(THREAD_LEAK) \
	X(POST_WRONG_MESSAGE) \
	X(POST_AFTER_CANCEL) \
	X(SETEVENT_STALE_EVENT) \
	X(CLOSES_CLIENT_EVENT) \
	X(SELECT_MISCOUNT) \
	X(NULL_CALLBACK_FAILS) \
	X(BLOCKING_WRONG_ID) \
	X(CALLBACK_FALSE_IGNORED) \
	X(CLEANUP_NOTIFIES) \
	X(LATE_RELEASE) \
	X(RELEASE_BEFORE_ABORT) \
	X(STALE_WRONG_ERROR) \
	X(SEND_RETURNS_COUNT) \
	X(RECV_OVERCOUNT) \
	X(STARTUP_EINVAL) \
	X(ACCEPTS_OLD_VERSION) \
	X(NO_DESCRIPTION) \
	X(UNBALANCED_CLEANUP_SUCCEEDS) \
	X(NO_REINIT) \
	X(IFS_CLOSES_HANDLE) \
	X(NONIFS_RETURNS_CONTEXT) \
	X(UNDOCUMENTED_ERRNO) \
	X(PENDING_NOT_OVERLAPPED) \
	X(UNLOCKED_HANDLE_TABLE) \
	X(LOCK_ORDER_DEADLOCK) \
	X(CLOSE_LEAVES_BLOCKED) \
	X(CLEANUP_WAITS_CALLS) \
	X(CLEANUP_JOINS_LOCKED)

enum mb_fault {
	MB_FAULT_NONE,
#define MB_FAULT_ENUM(name) MB_FAULT_##name,
	MB_FAULT_LIST(MB_FAULT_ENUM)
#undef MB_FAULT_ENUM
	MB_FAULT_COUNT
};

#ifdef MOCKBASE_FAULTY
/* The variant's fault (an enum mb_fault). */
extern const int mockbase_fault;
#define F(name) (mockbase_fault == MB_FAULT_##name)
#else
#define F(name) (MB_FAULT_##name == MB_FAULT_NONE)
#endif

/* The concurrency variants' windows: how long the unlocked-handle-table variant leaves the table
 * half updated without its lock, and how long the lock-order-deadlock variant holds its first lock
 * before it takes the second (longer than a blocking wait's slice, MB_SLICE_MS, so that a receive
 * blocked while a close begins always meets it: model.h). */
#define MB_RACE_MS 10u
#define MB_LOCK_WINDOW_MS 30u

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
 * stack slot instead of the poisoned table. Leave the faulty variants' WSPStartup uninstrumented so
 * the bug looks the same in sanitizer builds as in normal ones.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MB_ASAN 1
#endif
#if defined(MOCKBASE_FAULTY) && defined(MB_ASAN)
#define MB_STARTUP_ATTR __attribute__((no_sanitize_address))
#else
#define MB_STARTUP_ATTR
#endif

#endif
