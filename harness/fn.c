/* Names of the WSP and WPU functions and of the WSA error codes (portable: no Winsock headers). */
#include "fn.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char *const fn_names[WSPH_FN_COUNT] = {
#define WSPH_FN_NAME(id, name) name,
	WSPH_WSP_FUNCTIONS(WSPH_FN_NAME) WSPH_WPU_FUNCTIONS(WSPH_FN_NAME)
		WSPH_IMPORT_FUNCTIONS(WSPH_FN_NAME)
#undef WSPH_FN_NAME
};

const char *wsph_fn_name(enum wsph_fn fn)
{
	if ((int)fn < 0 || fn >= WSPH_FN_COUNT)
		return "?";
	return fn_names[fn];
}

int wsph_fn_by_name(const char *name)
{
	int i;

	if (!name)
		return -1;
	for (i = 0; i < WSPH_FN_COUNT; i++)
		if (strcmp(fn_names[i], name) == 0)
			return i;
	return -1;
}

int wsph_fn_takes_socket(enum wsph_fn fn)
{
	switch (fn) {
	case WSPH_FN_WSPSTARTUP:
	case WSPH_FN_WSPCLEANUP:
	case WSPH_FN_WSPSOCKET:
	case WSPH_FN_WSPSELECT:
	case WSPH_FN_WSPCANCELBLOCKINGCALL:
	case WSPH_FN_WSPADDRESSTOSTRING:
	case WSPH_FN_WSPSTRINGTOADDRESS:
		return 0;
	default:
		return fn < WSPH_FN_FIRST_WPU;
	}
}

int wsph_fn_is_wpu(enum wsph_fn fn)
{
	return fn >= WSPH_FN_FIRST_WPU && fn < WSPH_FN_FIRST_IMPORT;
}

int wsph_fn_is_upcall(enum wsph_fn fn)
{
	return fn >= WSPH_FN_FIRST_WPU && fn < WSPH_FN_COUNT;
}

/* The values of include/wsph/spi.h (winerror.h and winsock2.h), kept here so this file builds
 * without any Winsock header. */
static const struct {
	int code;
	const char *name;
} errors[] = {
	{6, "WSA_INVALID_HANDLE"},
	{8, "WSA_NOT_ENOUGH_MEMORY"},
	{87, "WSA_INVALID_PARAMETER"},
	{995, "WSA_OPERATION_ABORTED"},
	{996, "WSA_IO_INCOMPLETE"},
	{997, "WSA_IO_PENDING"},
	{10004, "WSAEINTR"},
	{10009, "WSAEBADF"},
	{10013, "WSAEACCES"},
	{10014, "WSAEFAULT"},
	{10022, "WSAEINVAL"},
	{10024, "WSAEMFILE"},
	{10035, "WSAEWOULDBLOCK"},
	{10036, "WSAEINPROGRESS"},
	{10037, "WSAEALREADY"},
	{10038, "WSAENOTSOCK"},
	{10039, "WSAEDESTADDRREQ"},
	{10040, "WSAEMSGSIZE"},
	{10041, "WSAEPROTOTYPE"},
	{10042, "WSAENOPROTOOPT"},
	{10043, "WSAEPROTONOSUPPORT"},
	{10044, "WSAESOCKTNOSUPPORT"},
	{10045, "WSAEOPNOTSUPP"},
	{10046, "WSAEPFNOSUPPORT"},
	{10047, "WSAEAFNOSUPPORT"},
	{10048, "WSAEADDRINUSE"},
	{10049, "WSAEADDRNOTAVAIL"},
	{10050, "WSAENETDOWN"},
	{10051, "WSAENETUNREACH"},
	{10052, "WSAENETRESET"},
	{10053, "WSAECONNABORTED"},
	{10054, "WSAECONNRESET"},
	{10055, "WSAENOBUFS"},
	{10056, "WSAEISCONN"},
	{10057, "WSAENOTCONN"},
	{10058, "WSAESHUTDOWN"},
	{10059, "WSAETOOMANYREFS"},
	{10060, "WSAETIMEDOUT"},
	{10061, "WSAECONNREFUSED"},
	{10062, "WSAELOOP"},
	{10063, "WSAENAMETOOLONG"},
	{10064, "WSAEHOSTDOWN"},
	{10065, "WSAEHOSTUNREACH"},
	{10066, "WSAENOTEMPTY"},
	{10067, "WSAEPROCLIM"},
	{10068, "WSAEUSERS"},
	{10069, "WSAEDQUOT"},
	{10070, "WSAESTALE"},
	{10071, "WSAEREMOTE"},
	{10091, "WSASYSNOTREADY"},
	{10092, "WSAVERNOTSUPPORTED"},
	{10093, "WSANOTINITIALISED"},
	{10101, "WSAEDISCON"},
	{10102, "WSAENOMORE"},
	{10103, "WSAECANCELLED"},
	{10104, "WSAEINVALIDPROCTABLE"},
	{10105, "WSAEINVALIDPROVIDER"},
	{10106, "WSAEPROVIDERFAILEDINIT"},
	{10107, "WSASYSCALLFAILURE"},
	{10108, "WSASERVICE_NOT_FOUND"},
	{10109, "WSATYPE_NOT_FOUND"},
	{10110, "WSA_E_NO_MORE"},
	{10111, "WSA_E_CANCELLED"},
	{10112, "WSAEREFUSED"},
	{11002, "WSATRY_AGAIN"}, /* WSPAccept: the condition function deferred (CF_DEFER) */
};

#define N_ERRORS (sizeof errors / sizeof errors[0])

const char *wsph_error_name(int code)
{
	size_t i;

	for (i = 0; i < N_ERRORS; i++)
		if (errors[i].code == code)
			return errors[i].name;
	return NULL;
}

int wsph_error_by_name(const char *name, int *code_out)
{
	long long v = 0;
	size_t i;

	if (!name || !*name)
		return -1;
	for (i = 0; i < N_ERRORS; i++)
		if (strcmp(errors[i].name, name) == 0) {
			*code_out = errors[i].code;
			return 0;
		}
	/* Any code may be written as a plain decimal number, named or not. */
	for (i = 0; name[i]; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
		if (v > INT_MAX)
			return -1;
	}
	*code_out = (int)v;
	return 0;
}

char *wsph_error_format(int code, char *buf, unsigned long len)
{
	const char *name = wsph_error_name(code);

	if (!buf || len == 0)
		return buf;
	if (name)
		snprintf(buf, len, "%s (%d)", name, code);
	else
		snprintf(buf, len, "%d", code);
	return buf;
}
