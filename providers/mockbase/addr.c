/* mockbase: IPv4 socket addresses, and WSPAddressToString/WSPStringToAddress. */

/*
 * mockbase knows IPv4 only: addresses are kept as (ip, port) in host byte order and written back
 * as sockaddr_in. The two string calls convert "a.b.c.d:port" in WCHARs by hand, with no sprintf
 * family, so that the provider stays locale-independent.
 */

#include "model.h"

int mb_addr_parse(const struct sockaddr *sa, int len, struct mb_addr *out)
{
	struct sockaddr_in sin;
	if (!sa || len < MB_SIN_LEN)
		return WSAEFAULT;
	memcpy(&sin, sa, sizeof sin);
	if (sin.sin_family != AF_INET)
		return WSAEAFNOSUPPORT;
	const unsigned char *p = (const unsigned char *)&sin.sin_port;
	const unsigned char *a = (const unsigned char *)&sin.sin_addr;
	out->port = (uint16_t)((p[0] << 8) | p[1]);
	out->ip = ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
	return 0;
}

void mb_addr_write(const struct mb_addr *in, struct sockaddr *sa)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	unsigned char *p = (unsigned char *)&sin.sin_port;
	unsigned char *a = (unsigned char *)&sin.sin_addr;
	p[0] = (unsigned char)(in->port >> 8);
	p[1] = (unsigned char)in->port;
	a[0] = (unsigned char)(in->ip >> 24);
	a[1] = (unsigned char)(in->ip >> 16);
	a[2] = (unsigned char)(in->ip >> 8);
	a[3] = (unsigned char)in->ip;
	memcpy(sa, &sin, sizeof sin);
}

/* Writes an address to a caller's (name, namelen) pair. */
int mb_addr_out(const struct mb_addr *in, struct sockaddr *name, LPINT namelen)
{
	if (!name || !namelen || *namelen < MB_SIN_LEN)
		return WSAEFAULT;
	mb_addr_write(in, name);
	*namelen = MB_SIN_LEN;
	return 0;
}

/* The address a socket shows to others: a wildcard local address reads as loopback. */
struct mb_addr mb_addr_visible(struct mb_addr a)
{
	if (a.ip == 0)
		a.ip = MB_LOOPBACK;
	return a;
}

/* ------------------------------------------------------------------------------------------ */
/* Address strings ("a.b.c.d:port", WCHARs)                                                     */

int WSPAPI mb_AddressToString(LPSOCKADDR lpsaAddress, DWORD dwAddressLength,
                              LPWSAPROTOCOL_INFOW lpProtocolInfo, LPWSTR lpszAddressString,
                              LPDWORD lpdwAddressStringLength, LPINT lpErrno)
{
	struct call c;
	struct mb_addr a;
	char text[32];
	(void)lpProtocolInfo;
	int err = mb_enter(&c);
	if (err)
		return fail(lpErrno, err);
	if (!lpdwAddressStringLength || dwAddressLength > 0x7fffffffu)
		return fail(lpErrno, WSAEFAULT);
	err = mb_addr_parse(lpsaAddress, (int)dwAddressLength, &a);
	if (err)
		return fail(lpErrno, err == WSAEAFNOSUPPORT ? WSAEINVAL : err);
	/* Built by hand: no sprintf family in a provider that must stay locale-independent. */
	size_t n = 0;
	for (int i = 3; i >= 0; i--) {
		unsigned v = (a.ip >> (i * 8)) & 0xffu;
		if (v >= 100)
			text[n++] = (char)('0' + v / 100);
		if (v >= 10)
			text[n++] = (char)('0' + (v / 10) % 10);
		text[n++] = (char)('0' + v % 10);
		if (i)
			text[n++] = '.';
	}
	if (a.port) { /* as Winsock does, a zero port is left out */
		char digits[6];
		int d = 0;
		unsigned p = a.port;
		do {
			digits[d++] = (char)('0' + p % 10);
			p /= 10;
		} while (p);
		text[n++] = ':';
		while (d)
			text[n++] = digits[--d];
	}
	DWORD need = (DWORD)n + 1; /* characters, NUL included */
	if (!lpszAddressString || *lpdwAddressStringLength < need) {
		*lpdwAddressStringLength = need;
		return fail(lpErrno, WSAEFAULT);
	}
	for (size_t i = 0; i < n; i++)
		lpszAddressString[i] = (WCHAR)(unsigned char)text[i];
	lpszAddressString[n] = 0;
	*lpdwAddressStringLength = need;
	return 0;
}

/* Parses an unsigned decimal of at most max; advances *p. */
static int parse_uint(const WCHAR **p, unsigned max, unsigned *out)
{
	unsigned v = 0;
	int digits = 0;
	while (**p >= '0' && **p <= '9') {
		v = v * 10 + (unsigned)(**p - '0');
		if (v > max || ++digits > 5)
			return -1;
		(*p)++;
	}
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

int WSPAPI mb_StringToAddress(LPWSTR AddressString, INT AddressFamily,
                              LPWSAPROTOCOL_INFOW lpProtocolInfo, LPSOCKADDR lpAddress,
                              LPINT lpAddressLength, LPINT lpErrno)
{
	struct call c;
	struct mb_addr a = {0, 0};
	(void)lpProtocolInfo;
	int err = mb_enter(&c);
	if (err)
		return fail(lpErrno, err);
	if (!AddressString || !lpAddressLength)
		return fail(lpErrno, WSAEFAULT);
	if (AddressFamily != AF_INET)
		return fail(lpErrno, WSAEINVAL);
	const WCHAR *p = AddressString;
	for (int i = 0; i < 4; i++) {
		unsigned v;
		if (parse_uint(&p, 255, &v) != 0)
			return fail(lpErrno, WSAEINVAL);
		a.ip = (a.ip << 8) | v;
		if (i < 3) {
			if (*p != '.')
				return fail(lpErrno, WSAEINVAL);
			p++;
		}
	}
	if (*p == ':') {
		unsigned v;
		p++;
		if (parse_uint(&p, 65535, &v) != 0)
			return fail(lpErrno, WSAEINVAL);
		a.port = (uint16_t)v;
	}
	if (*p != 0)
		return fail(lpErrno, WSAEINVAL);
	if (!lpAddress || *lpAddressLength < MB_SIN_LEN) {
		*lpAddressLength = MB_SIN_LEN;
		return fail(lpErrno, WSAEFAULT);
	}
	mb_addr_write(&a, lpAddress);
	*lpAddressLength = MB_SIN_LEN;
	return 0;
}
