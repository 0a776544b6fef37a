/* Small string helpers C11 lacks. */
#ifndef WSPH_UTIL_H
#define WSPH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* printf-style checking; mingw builds use the C99 printf (__USE_MINGW_ANSI_STDIO). */
#if defined(__clang__)
#define WSPH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#elif defined(__GNUC__)
#define WSPH_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define WSPH_PRINTF(f, a)
#endif

/* The caller's return address: which module made a call. */
/* For a slow path kept out of a hot function, so the hot path saves fewer registers. */
#if defined(_MSC_VER)
#define WSPH_NOINLINE __declspec(noinline)
#else
#define WSPH_NOINLINE __attribute__((noinline))
#endif

#if defined(_MSC_VER)
#include <intrin.h>
#define WSPH_RETURN_ADDRESS() _ReturnAddress()
#else
#define WSPH_RETURN_ADDRESS() __builtin_return_address(0)
#endif

/* UTF-16 (Windows WCHAR) <-> UTF-8, malloc'd; NULL for NULL or out of memory. */
char *wsph_utf16_to_utf8(const uint16_t *s);
uint16_t *wsph_utf8_to_utf16(const char *s, size_t *n_units);

char *wsph_strdup(const char *s);		  /* NULL for NULL or out of memory */
/* Room for element n of a growing array (*arr of *cap elements of `elem` bytes): 0, or -1 out of
 * memory (the array is left as it was). */
int wsph_grow(void **arr, size_t *cap, size_t n, size_t elem);
char *wsph_strndup(const char *s, size_t n);
/* FNV-1a over len bytes: cheap, for names and paths (not for anything an attacker picks). */
uint64_t wsph_fnv1a(const char *s, size_t len);
/* printf into a malloc'd string (NULL when out of memory). */
char *wsph_format(const char *fmt, ...) WSPH_PRINTF(1, 2);
/* fseek to an absolute 64-bit offset (long is 32 bits on Windows). 0 on success. */
#include <stdio.h>
int wsph_fseek64(FILE *f, int64_t off);

/* Thread-local storage and the few atomic operations the recorder needs (C11's <stdatomic.h> and
 * _Thread_local are not in every MSVC; gcc, clang and mingw-w64 have the __atomic builtins). */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define WSPH_THREAD_LOCAL __declspec(thread)
static __inline uint64_t wsph_atomic_add_u64(volatile uint64_t *p, uint64_t v) /* returns new */
{
	return (uint64_t)_InterlockedExchangeAdd64((volatile __int64 *)p, (__int64)v) + v;
}
static __inline uint64_t wsph_atomic_load_u64(const volatile uint64_t *p) /* acquire */
{
	uint64_t v = *p;
	_ReadWriteBarrier();
	return v;
}
static __inline void wsph_atomic_store_u64(volatile uint64_t *p, uint64_t v) /* release */
{
	_ReadWriteBarrier();
	*p = v;
}
static __inline void *wsph_atomic_load_ptr(void *const volatile *p) /* acquire */
{
	void *v = *p;
	_ReadWriteBarrier();
	return v;
}
static __inline void wsph_atomic_store_ptr(void *volatile *p, void *v) /* release */
{
	_ReadWriteBarrier();
	*p = v;
}
static __inline int wsph_atomic_load_int(const volatile int *p) /* relaxed */
{
	return *p;
}
static __inline void wsph_atomic_store_int(volatile int *p, int v) /* relaxed */
{
	*p = v;
}
static __inline void *wsph_atomic_xchg_ptr(void *volatile *p, void *v) /* returns the old */
{
	return _InterlockedExchangePointer(p, v);
}
#else
#define WSPH_THREAD_LOCAL _Thread_local
#define wsph_atomic_add_u64(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define wsph_atomic_load_u64(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define wsph_atomic_store_u64(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define wsph_atomic_load_ptr(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define wsph_atomic_store_ptr(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define wsph_atomic_load_int(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define wsph_atomic_store_int(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define wsph_atomic_xchg_ptr(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#endif

#endif
