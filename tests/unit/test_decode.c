/* Argument values by name (reports/decode.c): each kind of argument the console, show and the call
 * text decode, including values with no name, cut buffers and the packed address form. */
#include "decode.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

static char buf[512];

static const char *arg(const char *fn, const char *name, uint64_t v, long long level,
                       const char *text, int flags)
{
	int how = wsph_decode_arg(fn, name, v, level, text, flags, buf, sizeof buf);
	return how ? buf : NULL;
}

Test(decode, socket_levels_and_options)
{
	cr_assert_str_eq(arg("WSPSetSockOpt", "level", 0xffff, -1, NULL, 0), "SOL_SOCKET");
	cr_assert_str_eq(arg("WSPSetSockOpt", "optname", 0x1002, 0xffff, NULL, 0), "SO_RCVBUF");
	cr_assert_str_eq(arg("WSPGetSockOpt", "optname", 0x1008, 0xffff, NULL, WSPH_DECODE_NUMBER),
	                 "SO_TYPE (4104)");
	cr_assert_str_eq(arg("WSPSetSockOpt", "optname", 1, 6, NULL, 0), "TCP_NODELAY");
	cr_assert_str_eq(arg("WSPSetSockOpt", "level", 0, -1, NULL, 0), "IPPROTO_IP");
	cr_assert_str_eq(arg("WSPSetSockOpt", "optname", 4, 0, NULL, 0), "IP_TTL");
	/* SO_EXCLUSIVEADDRUSE is ~SO_REUSEADDR: an int, sign-extended in the trace */
	cr_assert_str_eq(arg("WSPSetSockOpt", "optname", (uint64_t)(int64_t)-5, 0xffff, NULL, 0),
	                 "SO_EXCLUSIVEADDRUSE");
	cr_assert_null(arg("WSPSetSockOpt", "optname", 0x1002, -1, NULL, 0)); /* level unknown */
	cr_assert_null(arg("WSPSetSockOpt", "optname", 0x4242, 0xffff, NULL, 0));
	cr_assert_null(arg("WSPSetSockOpt", "level", 99, -1, NULL, 0));
	cr_assert_str_eq(buf, "");
}

Test(decode, socket_creation)
{
	cr_assert_str_eq(arg("WSPSocket", "af", 23, -1, NULL, 0), "AF_INET6");
	cr_assert_str_eq(arg("WSPSocket", "type", 2, -1, NULL, 0), "SOCK_DGRAM");
	cr_assert_str_eq(arg("WSPSocket", "protocol", 17, -1, NULL, WSPH_DECODE_NUMBER),
	                 "IPPROTO_UDP (17)");
	cr_assert_null(arg("WSPSocket", "protocol", 0, -1, NULL, 0)); /* 0: the provider's choice */
	cr_assert_str_eq(arg("WSPSocket", "dwFlags", 0x81, -1, NULL, 0),
	                 "WSA_FLAG_OVERLAPPED|WSA_FLAG_NO_HANDLE_INHERIT");
	cr_assert_str_eq(arg("WSPShutdown", "how", 2, -1, NULL, 0), "SD_BOTH");
	cr_assert_null(arg("WSPSend", "type", 1, -1, NULL, 0)); /* only WSPSocket's */
}

Test(decode, ioctl_codes)
{
	cr_assert_str_eq(arg("WSPIoctl", "dwIoControlCode", 0x8004667e, -1, NULL, 0), "FIONBIO");
	/* a 32-bit long sign-extended (Windows) is the same code */
	cr_assert_str_eq(arg("WSPIoctl", "dwIoControlCode", 0xffffffff8004667eull, -1, NULL, 0),
	                 "FIONBIO");
	cr_assert_str_eq(arg("WSPIoctl", "dwIoControlCode", 0xc8000006, -1, NULL, 0),
	                 "SIO_GET_EXTENSION_FUNCTION_POINTER");
	cr_assert_null(arg("WSPIoctl", "dwIoControlCode", 0x12345, -1, NULL, 0));
}

Test(decode, fd_event_sets)
{
	cr_assert_str_eq(arg("WSPAsyncSelect", "lEvent", 0x29, -1, NULL, 0),
	                 "FD_READ|FD_ACCEPT|FD_CLOSE");
	cr_assert_str_eq(arg("WSPEventSelect", "lNetworkEvents", 0, -1, NULL, 0), "0");
	cr_assert_str_eq(wsph_decode_fd_events(0x8001, buf, sizeof buf), "FD_READ|0x8000");
	cr_assert_str_eq(wsph_decode_fd_events(0x3ff, buf, 20), "FD_READ|FD_WRITE|FD");
}

Test(decode, window_messages)
{
	cr_assert_str_eq(arg("WSPAsyncSelect", "wMsg", 0x8002, -1, NULL, 0), "WM_APP+2 (0x8002)");
	cr_assert_str_eq(arg("WPUPostMessage", "Msg", 0x401, -1, NULL, 0), "WM_USER+1 (0x401)");
	cr_assert_str_eq(arg("WPUPostMessage", "Msg", 0, -1, NULL, 0), "WM_NULL (0x0)");
	cr_assert_str_eq(arg("WPUPostMessage", "Msg", 0x12, -1, NULL, 0), "0x12");
}

Test(decode, select_replies)
{
	cr_assert_str_eq(arg("WPUPostMessage", "lParam", 0x8, -1, NULL, 0), "FD_ACCEPT");
	/* WSAMAKESELECTREPLY(FD_CONNECT, WSAECONNREFUSED) */
	cr_assert_str_eq(arg("WPUPostMessage", "lParam", (10061u << 16) | 0x10, -1, NULL, 0),
	                 "FD_CONNECT with WSAECONNREFUSED (10061)");
	cr_assert_str_eq(arg("PostMessageW", "lParam", 0x1, -1, NULL, 0), "FD_READ");
	cr_assert_null(arg("SendSomething", "lParam", 0x1, -1, NULL, 0));
}

Test(decode, addresses)
{
	unsigned char v4[16] = {0}, v6[28] = {0};
	uint16_t fam = 2;

	memcpy(v4, &fam, 2);
	v4[2] = 0x1f; /* port 8080 */
	v4[3] = 0x90;
	v4[4] = 127;
	v4[7] = 1;
	cr_assert_str_eq(wsph_decode_sockaddr(v4, sizeof v4, buf, sizeof buf), "127.0.0.1:8080");
	cr_assert_str_eq(
	    arg("WSPBind", "name", wsph_decode_pack_sockaddr(v4, sizeof v4), -1, NULL, 0),
	    "127.0.0.1:8080");
	fam = 23;
	memcpy(v6, &fam, 2);
	v6[3] = 80;
	v6[8 + 15] = 1;
	cr_assert_str_eq(wsph_decode_sockaddr(v6, sizeof v6, buf, sizeof buf), "[::1]:80");
	v6[8] = 0x20;
	v6[9] = 0x01;
	v6[10] = 0x0d;
	v6[11] = 0xb8;
	cr_assert_str_eq(wsph_decode_sockaddr(v6, sizeof v6, buf, sizeof buf), "[2001:db8::1]:80");
	cr_assert_str_eq(
	    arg("WSPConnect", "name", wsph_decode_pack_sockaddr(v6, sizeof v6), -1, NULL, 0),
	    "[IPv6]:80");
	cr_assert_str_eq(wsph_decode_sockaddr(NULL, 0, buf, sizeof buf), "NULL");
	cr_assert_str_eq(wsph_decode_sockaddr(v4, 3, buf, sizeof buf), "(short: 3 bytes)");
	cr_assert_eq(wsph_decode_pack_sockaddr(v4, 3), 0);
	cr_assert_str_eq(arg("WSPConnect", "name", 0, -1, NULL, 0), "(not recorded)");
}

Test(decode, select_sets)
{
	const uint64_t r[2] = {0x3c000000, 0x3c000004}, w[1] = {0};
	const uint64_t *const given[3] = {r, w, NULL};
	const uint64_t *const back[3] = {r + 1, w, NULL};
	const size_t n_given[3] = {2, 0, 0}, n_back[3] = {1, 0, 0};
	char text[160];

	wsph_decode_sets_record(text, sizeof text, given, n_given, 0);
	cr_assert_str_eq(text, "0x3c000000,0x3c000004;;-");
	wsph_decode_sets_record(text, sizeof text, back, n_back, 1);
	cr_assert_str_eq(text, "0x3c000000,0x3c000004;;->0x3c000004;;-");
	cr_assert_eq(wsph_decode_arg("WSPSelect", "sets", 0, -1, text, 0, buf, sizeof buf), 2);
	cr_assert_str_eq(buf, "readfds={0x3c000000, 0x3c000004}, writefds={}, exceptfds=NULL");
	cr_assert_str_eq(arg("WSPSelect", "sets", 0, -1, text, WSPH_DECODE_OUTPUT),
	                 "readfds={0x3c000004}, writefds={}, exceptfds=NULL");
	cr_assert_str_eq(arg("WSPSelect", "sets", 0, -1, "", 0),
	                 "readfds=?, writefds=?, exceptfds=?");
	/* too many sockets for the text: cut, and said so */
	wsph_decode_sets_record(text, 24, given, n_given, 0);
	cr_assert_str_eq(text, "0x3c000000,0x3c00000...");
}

Test(decode, versions_and_no_decoding)
{
	cr_assert_str_eq(arg("WSPStartup", "wVersionRequested", 0x202, -1, NULL, 0), "2.2 (0x202)");
	cr_assert_null(arg("WSPSend", "len", 5, -1, NULL, 0));
	cr_assert_null(arg(NULL, NULL, 0, -1, NULL, 0));
	cr_assert_eq(wsph_decode_arg("WSPSocket", "af", 2, -1, NULL, 0, buf, 0), 0);
}

Test(decode, numbers_kept_for_show)
{
	cr_assert_str_eq(arg("WSPIoctl", "dwIoControlCode", 0x8004667e, -1, NULL, WSPH_DECODE_NUMBER),
	                 "FIONBIO (0x8004667e)");
	cr_assert_str_eq(arg("WSPSocket", "af", 2, -1, NULL, WSPH_DECODE_NUMBER), "AF_INET (2)");
}
