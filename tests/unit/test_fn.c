/* Unit tests of the function and WSA error name tables (fn.c). */
#include "fn.h"
#include "wsph/spi.h"

#include <criterion/criterion.h>
#include <string.h>

Test(fn, names_follow_the_tables)
{
	cr_expect_str_eq(wsph_fn_name(WSPH_FN_WSPSTARTUP), "WSPStartup");
	cr_expect_str_eq(wsph_fn_name(WSPH_FN_WSPACCEPT), "WSPAccept");
	cr_expect_str_eq(wsph_fn_name(WSPH_FN_WSPSTRINGTOADDRESS), "WSPStringToAddress");
	cr_expect_str_eq(wsph_fn_name(WSPH_FN_WPUCLOSEEVENT), "WPUCloseEvent");
	cr_expect_str_eq(wsph_fn_name(WSPH_FN_WPUCOMPLETEOVERLAPPEDREQUEST),
			 "WPUCompleteOverlappedRequest");
	cr_expect_str_eq(wsph_fn_name(WSPH_FN_COUNT), "?");
	cr_expect_str_eq(wsph_fn_name((enum wsph_fn) - 1), "?");
	/* 31 WSP entries (WSPStartup + the 30 of WSPPROC_TABLE), 15 upcalls + the export, then
	 * the 13 interposed imports. */
	cr_expect_eq(WSPH_FN_FIRST_WPU, 31);
	cr_expect_eq(WSPH_FN_FIRST_IMPORT, 47);
	cr_expect_eq(WSPH_FN_COUNT, 60);
}

Test(fn, every_name_round_trips)
{
	int i;

	for (i = 0; i < WSPH_FN_COUNT; i++)
		cr_expect_eq(wsph_fn_by_name(wsph_fn_name((enum wsph_fn)i)), i, "%s",
			     wsph_fn_name((enum wsph_fn)i));
}

Test(fn, lookup_is_exact_and_case_sensitive)
{
	cr_expect_eq(wsph_fn_by_name("WPUCreateSocketHandle"), WSPH_FN_WPUCREATESOCKETHANDLE);
	cr_expect_eq(wsph_fn_by_name("wpucreatesockethandle"), -1);
	cr_expect_eq(wsph_fn_by_name("WPUCreateSocketHandl"), -1);
	cr_expect_eq(wsph_fn_by_name(""), -1);
	cr_expect_eq(wsph_fn_by_name(NULL), -1);
}

Test(fn, upcalls_are_the_wpu_functions_and_the_imports)
{
	int i;

	for (i = 0; i < WSPH_FN_COUNT; i++) {
		const char *name = wsph_fn_name((enum wsph_fn)i);
		cr_expect_eq(wsph_fn_is_wpu((enum wsph_fn)i) != 0, strncmp(name, "WPU", 3) == 0, "%s",
			     name);
		cr_expect_eq(wsph_fn_is_upcall((enum wsph_fn)i) != 0, strncmp(name, "WSP", 3) != 0,
			     "%s", name);
	}
	cr_expect_not(wsph_fn_is_upcall(WSPH_FN_COUNT));
	cr_expect_not(wsph_fn_is_wpu(WSPH_FN_GETPROCADDRESS));
}

/* Every code of include/wsph/spi.h's error section, with the values the header gives them. */
#define E(name)                                                                                    \
	{                                                                                          \
		name, #name                                                                        \
	}
static const struct {
	int code;
	const char *name;
} spi_errors[] = {
	E(WSA_INVALID_HANDLE),
	E(WSA_NOT_ENOUGH_MEMORY),
	E(WSA_INVALID_PARAMETER),
	E(WSA_OPERATION_ABORTED),
	E(WSA_IO_INCOMPLETE),
	E(WSA_IO_PENDING),
	E(WSAEINTR),
	E(WSAEBADF),
	E(WSAEACCES),
	E(WSAEFAULT),
	E(WSAEINVAL),
	E(WSAEMFILE),
	E(WSAEWOULDBLOCK),
	E(WSAEINPROGRESS),
	E(WSAEALREADY),
	E(WSAENOTSOCK),
	E(WSAEDESTADDRREQ),
	E(WSAEMSGSIZE),
	E(WSAEPROTOTYPE),
	E(WSAENOPROTOOPT),
	E(WSAEPROTONOSUPPORT),
	E(WSAESOCKTNOSUPPORT),
	E(WSAEOPNOTSUPP),
	E(WSAEPFNOSUPPORT),
	E(WSAEAFNOSUPPORT),
	E(WSAEADDRINUSE),
	E(WSAEADDRNOTAVAIL),
	E(WSAENETDOWN),
	E(WSAENETUNREACH),
	E(WSAENETRESET),
	E(WSAECONNABORTED),
	E(WSAECONNRESET),
	E(WSAENOBUFS),
	E(WSAEISCONN),
	E(WSAENOTCONN),
	E(WSAESHUTDOWN),
	E(WSAETOOMANYREFS),
	E(WSAETIMEDOUT),
	E(WSAECONNREFUSED),
	E(WSAELOOP),
	E(WSAENAMETOOLONG),
	E(WSAEHOSTDOWN),
	E(WSAEHOSTUNREACH),
	E(WSAENOTEMPTY),
	E(WSAEPROCLIM),
	E(WSAEUSERS),
	E(WSAEDQUOT),
	E(WSAESTALE),
	E(WSAEREMOTE),
	E(WSASYSNOTREADY),
	E(WSAVERNOTSUPPORTED),
	E(WSANOTINITIALISED),
	E(WSAEDISCON),
	E(WSAENOMORE),
	E(WSAECANCELLED),
	E(WSAEINVALIDPROCTABLE),
	E(WSAEINVALIDPROVIDER),
	E(WSAEPROVIDERFAILEDINIT),
	E(WSASYSCALLFAILURE),
	E(WSASERVICE_NOT_FOUND),
	E(WSATYPE_NOT_FOUND),
	E(WSA_E_NO_MORE),
	E(WSA_E_CANCELLED),
	E(WSAEREFUSED),
};
#undef E

Test(error, every_spi_code_has_its_name)
{
	size_t i;
	int code;

	for (i = 0; i < sizeof spi_errors / sizeof spi_errors[0]; i++) {
		cr_expect_str_eq(wsph_error_name(spi_errors[i].code), spi_errors[i].name);
		code = -1;
		cr_expect_eq(wsph_error_by_name(spi_errors[i].name, &code), 0, "%s",
			     spi_errors[i].name);
		cr_expect_eq(code, spi_errors[i].code, "%s", spi_errors[i].name);
	}
}

Test(error, unknown_codes_have_no_name)
{
	cr_expect_null(wsph_error_name(0));
	cr_expect_null(wsph_error_name(10000)); /* WSABASEERR is a base, not an error */
	cr_expect_null(wsph_error_name(10005));
	cr_expect_null(wsph_error_name(12345));
	cr_expect_null(wsph_error_name(-1));
}

Test(error, format_prints_name_and_number)
{
	char buf[64];

	cr_expect_str_eq(wsph_error_format(10038, buf, sizeof buf), "WSAENOTSOCK (10038)");
	cr_expect_str_eq(wsph_error_format(997, buf, sizeof buf), "WSA_IO_PENDING (997)");
	cr_expect_str_eq(wsph_error_format(12345, buf, sizeof buf), "12345");
	cr_expect_str_eq(wsph_error_format(0, buf, sizeof buf), "0");
	cr_expect_eq(wsph_error_format(10038, buf, sizeof buf), buf);
}

Test(error, format_truncates_to_the_buffer)
{
	char buf[8];

	memset(buf, 'x', sizeof buf);
	cr_expect_str_eq(wsph_error_format(10038, buf, sizeof buf), "WSAENOT");
	cr_expect_str_eq(wsph_error_format(10038, buf, 1), "");
}

Test(error, by_name_accepts_a_decimal_number)
{
	int code = -1;

	cr_expect_eq(wsph_error_by_name("10055", &code), 0);
	cr_expect_eq(code, 10055);
	cr_expect_eq(wsph_error_by_name("12345", &code), 0);
	cr_expect_eq(code, 12345);
	cr_expect_eq(wsph_error_by_name("0", &code), 0);
	cr_expect_eq(code, 0);
}

Test(error, by_name_rejects_everything_else)
{
	int code = 77;

	cr_expect_eq(wsph_error_by_name("WSAENOBUF", &code), -1);
	cr_expect_eq(wsph_error_by_name("wsaenobufs", &code), -1);
	cr_expect_eq(wsph_error_by_name("", &code), -1);
	cr_expect_eq(wsph_error_by_name("-1", &code), -1);
	cr_expect_eq(wsph_error_by_name("0x2747", &code), -1);
	cr_expect_eq(wsph_error_by_name("10055 ", &code), -1);
	cr_expect_eq(wsph_error_by_name("99999999999", &code), -1);
	cr_expect_eq(wsph_error_by_name(NULL, &code), -1);
	cr_expect_eq(code, 77);
}
