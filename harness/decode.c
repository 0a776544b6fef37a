/* Argument values by name for people (decode.h): tables of Winsock constants and the formatters
 * the console, `show` and the trace's call text share. */
#include "decode.h"
#include "fn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct sym {
	long long v;
	const char *name;
};

static const struct sym af_syms[] = {{0, "AF_UNSPEC"}, {2, "AF_INET"}, {23, "AF_INET6"}, {0, NULL}};
static const struct sym type_syms[] = {{1, "SOCK_STREAM"}, {2, "SOCK_DGRAM"},     {3, "SOCK_RAW"},
                                       {4, "SOCK_RDM"},    {5, "SOCK_SEQPACKET"}, {0, NULL}};
static const struct sym proto_syms[] = {{1, "IPPROTO_ICMP"},    {6, "IPPROTO_TCP"},
                                        {17, "IPPROTO_UDP"},    {41, "IPPROTO_IPV6"},
                                        {58, "IPPROTO_ICMPV6"}, {0, NULL}};
static const struct sym how_syms[] = {{0, "SD_RECEIVE"}, {1, "SD_SEND"}, {2, "SD_BOTH"}, {0, NULL}};
static const struct sym level_syms[] = {{0xffff, "SOL_SOCKET"}, {0, "IPPROTO_IP"},
                                        {6, "IPPROTO_TCP"},     {17, "IPPROTO_UDP"},
                                        {41, "IPPROTO_IPV6"},   {0, NULL}};
static const struct sym so_syms[] = {{0x1, "SO_DEBUG"},
                                     {0x2, "SO_ACCEPTCONN"},
                                     {0x4, "SO_REUSEADDR"},
                                     {0x8, "SO_KEEPALIVE"},
                                     {0x10, "SO_DONTROUTE"},
                                     {0x20, "SO_BROADCAST"},
                                     {0x40, "SO_USELOOPBACK"},
                                     {0x80, "SO_LINGER"},
                                     {0x100, "SO_OOBINLINE"},
                                     {0xff7f, "SO_DONTLINGER"},
                                     {0xfffffffb, "SO_EXCLUSIVEADDRUSE"},
                                     {0x1001, "SO_SNDBUF"},
                                     {0x1002, "SO_RCVBUF"},
                                     {0x1003, "SO_SNDLOWAT"},
                                     {0x1004, "SO_RCVLOWAT"},
                                     {0x1005, "SO_SNDTIMEO"},
                                     {0x1006, "SO_RCVTIMEO"},
                                     {0x1007, "SO_ERROR"},
                                     {0x1008, "SO_TYPE"},
                                     {0x2001, "SO_GROUP_ID"},
                                     {0x2002, "SO_GROUP_PRIORITY"},
                                     {0x2003, "SO_MAX_MSG_SIZE"},
                                     {0x2004, "SO_PROTOCOL_INFOA"},
                                     {0x2005, "SO_PROTOCOL_INFOW"},
                                     {0x3002, "SO_CONDITIONAL_ACCEPT"},
                                     {0x700b, "SO_UPDATE_ACCEPT_CONTEXT"},
                                     {0x700c, "SO_CONNECT_TIME"},
                                     {0x7010, "SO_UPDATE_CONNECT_CONTEXT"},
                                     {0, NULL}};
static const struct sym ip_syms[] = {{1, "IP_OPTIONS"},
                                     {2, "IP_HDRINCL"},
                                     {3, "IP_TOS"},
                                     {4, "IP_TTL"},
                                     {9, "IP_MULTICAST_IF"},
                                     {10, "IP_MULTICAST_TTL"},
                                     {11, "IP_MULTICAST_LOOP"},
                                     {12, "IP_ADD_MEMBERSHIP"},
                                     {13, "IP_DROP_MEMBERSHIP"},
                                     {0, NULL}};
static const struct sym tcp_syms[] = {{1, "TCP_NODELAY"}, {0, NULL}};
static const struct sym ipv6_syms[] = {{27, "IPV6_V6ONLY"}, {0, NULL}};
static const struct sym ioctl_syms[] = {{0x8004667e, "FIONBIO"},
                                        {0x4004667f, "FIONREAD"},
                                        {0x40047307, "SIOCATMARK"},
                                        {0xc8000006, "SIO_GET_EXTENSION_FUNCTION_POINTER"},
                                        {0xc8000014, "SIO_ROUTING_INTERFACE_QUERY"},
                                        {0x48000016, "SIO_ADDRESS_LIST_QUERY"},
                                        {0x48000018, "SIO_QUERY_TARGET_PNP_HANDLE"},
                                        {0x4800001b, "SIO_BSP_HANDLE"},
                                        {0x4800001c, "SIO_BSP_HANDLE_SELECT"},
                                        {0x4800001d, "SIO_BSP_HANDLE_POLL"},
                                        {0x48000022, "SIO_BASE_HANDLE"},
                                        {0x98000004, "SIO_KEEPALIVE_VALS"},
                                        {0, NULL}};
static const struct sym fd_bits[] = {{0x1, "FD_READ"},
                                     {0x2, "FD_WRITE"},
                                     {0x4, "FD_OOB"},
                                     {0x8, "FD_ACCEPT"},
                                     {0x10, "FD_CONNECT"},
                                     {0x20, "FD_CLOSE"},
                                     {0x40, "FD_QOS"},
                                     {0x80, "FD_GROUP_QOS"},
                                     {0x100, "FD_ROUTING_INTERFACE_CHANGE"},
                                     {0x200, "FD_ADDRESS_LIST_CHANGE"},
                                     {0, NULL}};
static const struct sym wsa_flag_bits[] = {
    {0x01, "WSA_FLAG_OVERLAPPED"},        {0x02, "WSA_FLAG_MULTIPOINT_C_ROOT"},
    {0x04, "WSA_FLAG_MULTIPOINT_C_LEAF"}, {0x08, "WSA_FLAG_MULTIPOINT_D_ROOT"},
    {0x10, "WSA_FLAG_MULTIPOINT_D_LEAF"}, {0x40, "WSA_FLAG_ACCESS_SYSTEM_SECURITY"},
    {0x80, "WSA_FLAG_NO_HANDLE_INHERIT"}, {0, NULL}};

static const char *sym_find(const struct sym *t, long long v)
{
	for (; t->name; t++)
		if (t->v == v)
			return t->name;
	return NULL;
}

/* snprintf at buf + *pos, never past len; *pos stays within the buffer. */
static void cat(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!len || *pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = *pos + (size_t)n < len ? *pos + (size_t)n : len - 1;
}

const char *wsph_decode_af(long long v)
{
	return sym_find(af_syms, v);
}

const char *wsph_decode_socktype(long long v)
{
	return sym_find(type_syms, v);
}

const char *wsph_decode_protocol(long long v)
{
	return sym_find(proto_syms, v);
}

const char *wsph_decode_how(long long v)
{
	return sym_find(how_syms, v);
}

const char *wsph_decode_level(long long v)
{
	return sym_find(level_syms, (long long)(uint32_t)v);
}

const char *wsph_decode_option(long long level, long long optname)
{
	static const struct {
		long long level;
		const struct sym *t;
	} by_level[] = {{0xffff, so_syms}, {0, ip_syms}, {6, tcp_syms}, {41, ipv6_syms}};
	size_t i;

	for (i = 0; i < sizeof by_level / sizeof by_level[0]; i++)
		if (by_level[i].level == (long long)(uint32_t)level)
			return sym_find(by_level[i].t, (long long)(uint32_t)optname);
	return NULL;
}

const char *wsph_decode_ioctl(uint64_t code)
{
	return sym_find(ioctl_syms, (long long)(uint32_t)code);
}

static char *bits(const struct sym *t, uint64_t v, char *buf, size_t len)
{
	size_t pos = 0;

	if (len)
		buf[0] = '\0';
	if (!v) {
		cat(buf, len, &pos, "0");
		return buf;
	}
	for (; t->name; t++)
		if (v & (uint64_t)t->v) {
			cat(buf, len, &pos, "%s%s", pos ? "|" : "", t->name);
			v &= ~(uint64_t)t->v;
		}
	if (v)
		cat(buf, len, &pos, "%s0x%llx", pos ? "|" : "", (unsigned long long)v);
	return buf;
}

char *wsph_decode_fd_events(uint64_t v, char *buf, size_t len)
{
	return bits(fd_bits, (uint32_t)v, buf, len);
}

char *wsph_decode_wsa_flags(uint64_t v, char *buf, size_t len)
{
	return bits(wsa_flag_bits, (uint32_t)v, buf, len);
}

char *wsph_decode_message(uint64_t msg, char *buf, size_t len)
{
	uint32_t m = (uint32_t)msg;

	if (m == 0)
		snprintf(buf, len, "WM_NULL (0x0)");
	else if (m >= 0x400 && m < 0x8000)
		snprintf(buf, len, "WM_USER+%u (0x%x)", (unsigned)(m - 0x400), (unsigned)m);
	else if (m >= 0x8000 && m < 0xc000)
		snprintf(buf, len, "WM_APP+%u (0x%x)", (unsigned)(m - 0x8000), (unsigned)m);
	else
		snprintf(buf, len, "0x%x", (unsigned)m);
	return buf;
}

char *wsph_decode_select_reply(uint64_t lparam, char *buf, size_t len)
{
	unsigned event = (unsigned)(lparam & 0xffff), error = (unsigned)((lparam >> 16) & 0xffff);
	char e[64], ev[160];
	size_t pos = 0;

	wsph_decode_fd_events(event, ev, sizeof ev);
	if (len)
		buf[0] = '\0';
	cat(buf, len, &pos, "%s", ev);
	if (error)
		cat(buf, len, &pos, " with %s", wsph_error_format((int)error, e, sizeof e));
	if (lparam >> 32)
		cat(buf, len, &pos, " (0x%llx)", (unsigned long long)lparam);
	return buf;
}

/* ---- addresses ---- */

static unsigned get16_host(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

static int is_inet6(unsigned family)
{
	return family == 23 || family == 10;
}

/* "::1", "2001:db8::5": the longest run of two or more zero groups becomes "::". */
static void put_ipv6(const unsigned char *a, char *buf, size_t len, size_t *pos)
{
	unsigned g[8];
	int i, best = -1, best_n = 0;

	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_n && j - i >= 2) {
			best = i;
			best_n = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			cat(buf, len, pos, "::");
			i += best_n - 1;
			continue;
		}
		cat(buf, len, pos, "%s%x", i && i != best + best_n ? ":" : "", g[i]);
	}
}

char *wsph_decode_sockaddr(const void *sa, size_t salen, char *buf, size_t len)
{
	const unsigned char *p = sa;
	unsigned family, port;
	size_t pos = 0;

	if (len)
		buf[0] = '\0';
	if (!p) {
		cat(buf, len, &pos, "NULL");
		return buf;
	}
	if (salen < 4) {
		cat(buf, len, &pos, "(short: %lu bytes)", (unsigned long)salen);
		return buf;
	}
	family = get16_host(p);
	port = (unsigned)p[2] << 8 | p[3];
	if (family == 2 && salen >= 8)
		cat(buf, len, &pos, "%u.%u.%u.%u:%u", p[4], p[5], p[6], p[7], port);
	else if (is_inet6(family) && salen >= 24) {
		cat(buf, len, &pos, "[");
		put_ipv6(p + 8, buf, len, &pos);
		cat(buf, len, &pos, "]:%u", port);
	} else if (family == 2 || is_inet6(family))
		cat(buf, len, &pos, "(short: %lu bytes)", (unsigned long)salen);
	else
		cat(buf, len, &pos, "family %u", family);
	return buf;
}

#define PACKED_BIT (1ull << 63)

uint64_t wsph_decode_pack_sockaddr(const void *sa, size_t salen)
{
	const unsigned char *p = sa;
	uint64_t family, port, addr = 0;

	if (!p || salen < 4)
		return 0;
	family = get16_host(p) & 0x7fff;
	port = (uint64_t)p[2] << 8 | p[3];
	if (family == 2 && salen >= 8)
		addr = (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | p[7];
	return PACKED_BIT | family << 48 | port << 32 | addr;
}

char *wsph_decode_packed_sockaddr(uint64_t packed, char *buf, size_t len)
{
	unsigned family = (unsigned)((packed >> 48) & 0x7fff),
	         port = (unsigned)((packed >> 32) & 0xffff);
	uint32_t a = (uint32_t)packed;

	if (!(packed & PACKED_BIT))
		snprintf(buf, len, "(not recorded)");
	else if (family == 2)
		snprintf(buf, len, "%u.%u.%u.%u:%u", (unsigned)(a >> 24), (unsigned)(a >> 16) & 255,
		         (unsigned)(a >> 8) & 255, (unsigned)a & 255, port);
	else if (is_inet6(family))
		snprintf(buf, len, "[IPv6]:%u", port);
	else
		snprintf(buf, len, "family %u", family);
	return buf;
}

/* ---- select sets ---- */

void wsph_decode_sets_record(char *buf, size_t len, const uint64_t *const sets[3],
                             const size_t n[3], int append)
{
	size_t pos = 0, i, k;

	if (!len)
		return;
	while (append && pos < len - 1 && buf[pos])
		pos++;
	if (!append)
		buf[0] = '\0';
	else
		cat(buf, len, &pos, ">");
	for (i = 0; i < 3; i++) {
		if (i)
			cat(buf, len, &pos, ";");
		if (!sets[i]) {
			cat(buf, len, &pos, "-");
			continue;
		}
		for (k = 0; k < n[i]; k++)
			cat(buf, len, &pos, "%s0x%llx", k ? "," : "",
			    (unsigned long long)sets[i][k]);
	}
	if (pos >= len - 1 && len > 4) /* cut: say so */
		memcpy(buf + len - 4, "...", 4);
}

char *wsph_decode_sets(const char *text, int output, char *buf, size_t len)
{
	static const char *const names[3] = {"readfds", "writefds", "exceptfds"};
	const char *s = text ? text : "", *gt = strchr(s, '>');
	size_t pos = 0;
	int i;

	if (len)
		buf[0] = '\0';
	if (output)
		s = gt ? gt + 1 : NULL;
	if (!s || !*s) {
		cat(buf, len, &pos, "readfds=?, writefds=?, exceptfds=?");
		return buf;
	}
	for (i = 0; i < 3; i++) {
		size_t n = strcspn(s, ";>"), k;
		cat(buf, len, &pos, "%s%s=", i ? ", " : "", names[i]);
		if (n == 1 && *s == '-') {
			cat(buf, len, &pos, "NULL");
		} else {
			cat(buf, len, &pos, "{");
			for (k = 0; k < n; k++)
				cat(buf, len, &pos, s[k] == ',' ? ", " : "%c", s[k]);
			cat(buf, len, &pos, "}");
		}
		s += n;
		if (*s != ';')
			break;
		s++;
	}
	return buf;
}

/* ---- by argument name ---- */

enum how {
	D_AF,
	D_TYPE,
	D_PROTOCOL,
	D_HOW,
	D_LEVEL,
	D_OPTION,
	D_IOCTL,
	D_FD,
	D_WSAFLAGS,
	D_MESSAGE,
	D_REPLY,
	D_ADDRESS,
	D_SETS,
	D_VERSION
};

/* Which decoding an argument gets: fn NULL means any function with an argument of that name. */
static const struct {
	const char *fn, *name;
	enum how how;
} by_name[] = {
    {"WSPSocket", "af", D_AF},
    {"WSPSocket", "type", D_TYPE},
    {"WSPSocket", "protocol", D_PROTOCOL},
    {"WSPSocket", "dwFlags", D_WSAFLAGS},
    {"WSPShutdown", "how", D_HOW},
    {NULL, "level", D_LEVEL},
    {NULL, "optname", D_OPTION},
    {NULL, "dwIoControlCode", D_IOCTL},
    {NULL, "lEvent", D_FD},
    {NULL, "lNetworkEvents", D_FD},
    {NULL, "NetworkEvents", D_FD},
    {NULL, "wMsg", D_MESSAGE},
    {NULL, "Msg", D_MESSAGE},
    {"WPUPostMessage", "lParam", D_REPLY},
    {"PostMessageA", "lParam", D_REPLY},
    {"PostMessageW", "lParam", D_REPLY},
    {NULL, "name", D_ADDRESS},
    {"WSPSelect", "sets", D_SETS},
    {NULL, "wVersionRequested", D_VERSION},
    {NULL, "wVersion", D_VERSION},
    {NULL, "wHighVersion", D_VERSION},
};

static const char *named(enum how how, uint64_t v, long long level)
{
	long long x = (long long)v;

	switch (how) {
	case D_AF:
		return wsph_decode_af(x);
	case D_TYPE:
		return wsph_decode_socktype(x);
	case D_PROTOCOL:
		return x ? wsph_decode_protocol(x) : NULL;
	case D_HOW:
		return wsph_decode_how(x);
	case D_LEVEL:
		return wsph_decode_level(x);
	case D_OPTION:
		return level == -1 ? NULL : wsph_decode_option(level, x);
	case D_IOCTL:
		return wsph_decode_ioctl(v);
	default:
		return NULL;
	}
}

/* The kinds whose text one decoder writes whole. */
static char *(*const writers[])(uint64_t v, char *buf, size_t len) = {
    [D_FD] = wsph_decode_fd_events,
    [D_WSAFLAGS] = wsph_decode_wsa_flags,
    [D_MESSAGE] = wsph_decode_message,
    [D_REPLY] = wsph_decode_select_reply,
    [D_ADDRESS] = wsph_decode_packed_sockaddr,
    [D_VERSION] = NULL,
};

int wsph_decode_arg(const char *fn, const char *name, uint64_t v, long long level, const char *text,
                    int flags, char *buf, size_t len)
{
	size_t i;
	const char *s;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < sizeof by_name / sizeof by_name[0]; i++)
		if (name && !strcmp(by_name[i].name, name) &&
		    (!by_name[i].fn || (fn && !strcmp(by_name[i].fn, fn))))
			break;
	if (i == sizeof by_name / sizeof by_name[0])
		return 0;
	if (writers[by_name[i].how]) {
		writers[by_name[i].how](v, buf, len);
		return 1;
	}
	switch (by_name[i].how) {
	case D_SETS:
		wsph_decode_sets(text, flags & WSPH_DECODE_OUTPUT, buf, len);
		return 2;
	case D_VERSION:
		snprintf(buf, len, "%u.%u (0x%llx)", (unsigned)(v & 0xff),
		         (unsigned)((v >> 8) & 0xff), (unsigned long long)v);
		return 1;
	default:
		break;
	}
	s = named(by_name[i].how, v, level);
	if (!s)
		return 0;
	if ((flags & WSPH_DECODE_NUMBER) && by_name[i].how == D_IOCTL)
		snprintf(buf, len, "%s (0x%lx)", s, (unsigned long)(uint32_t)v);
	else if (flags & WSPH_DECODE_NUMBER)
		snprintf(buf, len, "%s (%lld)", s, (long long)(uint32_t)v);
	else
		snprintf(buf, len, "%s", s);
	return 1;
}
