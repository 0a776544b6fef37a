/* Argument values by name for people: what the console, `show` and every finding's call text print
 * instead of raw numbers (socket levels and options, ioctl codes, FD_* event sets, window messages,
 * WSAMAKESELECTREPLY lParams, socket addresses, select sets). */
#ifndef WSPH_DECODE_H
#define WSPH_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Flags for wsph_decode_arg. */
#define WSPH_DECODE_NUMBER                                                                         \
	1                    /* a named constant keeps its number: "SOL_SOCKET (65535)", an ioctl  \
	                        code in hex: "FIONBIO (0x8004667e)" */
#define WSPH_DECODE_OUTPUT 2 /* the select sets: the ones the call returned, not the ones given */

/* The value of argument `name` of function `fn` ("WSPSetSockOpt", "WPUPostMessage", ...) by name,
 * into buf (always terminated): "SOL_SOCKET", "SO_RCVBUF" (level: the call's level argument, -1
 * when it has none), "FIONBIO", "FD_READ|FD_CLOSE", "WM_APP+2 (0x8002)", "FD_READ" or
 * "FD_CONNECT with WSAECONNREFUSED (10061)" (a select reply), "127.0.0.1:8080", "2.2 (0x202)";
 * text is the event's text where the argument lives there (WSPSelect's "sets"; may be NULL).
 * Returns 1; 2 when buf names its parts itself and reads without "name=" (the select sets:
 * "readfds={0x3c000000}, writefds={}, exceptfds=NULL"); 0 when the argument has no decoding (buf
 * then holds ""; print the value as usual). */
int wsph_decode_arg(const char *fn, const char *name, uint64_t v, long long level, const char *text,
                    int flags, char *buf, size_t len);

/* The named constants: NULL when v has no name. */
const char *wsph_decode_af(long long v);
const char *wsph_decode_socktype(long long v);
const char *wsph_decode_protocol(long long v);
const char *wsph_decode_how(long long v);
const char *wsph_decode_level(long long v);
const char *wsph_decode_option(long long level, long long optname);
const char *wsph_decode_ioctl(uint64_t code);

/* "FD_READ|FD_CLOSE" (unknown bits in hex after the names: "FD_READ|0x8000"), "0" for none. */
char *wsph_decode_fd_events(uint64_t v, char *buf, size_t len);
/* "WSA_FLAG_OVERLAPPED|WSA_FLAG_NO_HANDLE_INHERIT", "0" for none. */
char *wsph_decode_wsa_flags(uint64_t v, char *buf, size_t len);
/* A window message: "WM_USER+1 (0x401)", "WM_APP+2 (0x8002)", "WM_NULL (0x0)", else "0x...". */
char *wsph_decode_message(uint64_t msg, char *buf, size_t len);
/* WSAMAKESELECTREPLY(event, error), as WPUPostMessage's lParam carries it: "FD_READ", or
 * "FD_CONNECT with WSAECONNREFUSED (10061)" when HIWORD (the error) is not 0. */
char *wsph_decode_select_reply(uint64_t lparam, char *buf, size_t len);

/* Socket addresses. A raw sockaddr as a provider sees it (family: a 16-bit host-order value at
 * offset 0, AF_INET 2 or AF_INET6 23 (also the POSIX value 10); port at offset 2 in network
 * order; the IPv4 address at 4 or the IPv6 address at 8): "127.0.0.1:8080", "[::1]:80",
 * "family 7" for another family, "NULL" or "(short: 3 bytes)". */
char *wsph_decode_sockaddr(const void *sa, size_t salen, char *buf, size_t len);
/* What the trace keeps of an address passed to WSPBind and WSPConnect, in one argument slot:
 * bit 63 set, the family in bits 48-62, the port in 32-47 and an IPv4 address in 0-31 (host
 * order); an IPv6 address keeps only its family and port. 0 for NULL or a short address. */
uint64_t wsph_decode_pack_sockaddr(const void *sa, size_t salen);
/* The packed form as text: "127.0.0.1:8080", "[IPv6]:80"; "(not recorded)" for 0. */
char *wsph_decode_packed_sockaddr(uint64_t packed, char *buf, size_t len);

/* WSPSelect's sets as the trace keeps them in the event's text: "R;W;E" for the sets given,
 * followed on the return by ">R;W;E" for the sets returned, where each set is "-" for NULL or
 * the socket handles in hex separated by ','. wsph_decode_sets_record writes that text (n[i] is
 * the number of sockets of set i, sets[i] NULL for a NULL set); a list too long for buf ends
 * with "..." and reads as cut. */
void wsph_decode_sets_record(char *buf, size_t len, const uint64_t *const sets[3],
                             const size_t n[3], int append);
/* "readfds={0x3c000000, 0x3c000004}, writefds={}, exceptfds=NULL" from that text: the sets
 * given, or with `output` the sets returned ("readfds=?, writefds=?, exceptfds=?" when the text
 * has none: a layer's call to the provider below). */
char *wsph_decode_sets(const char *text, int output, char *buf, size_t len);

#endif
