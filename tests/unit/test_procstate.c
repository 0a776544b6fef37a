/* Unit tests of the process-wide state a case can change: taken, compared, described. */
#define _POSIX_C_SOURCE 200809L
#include "procstate.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void take(struct wsph_procstate *s)
{
	cr_assert_eq(wsph_procstate_take(s), 0);
}

Test(procstate, nothing_changed_says_nothing)
{
	struct wsph_procstate a, b;
	char why[256] = "";
	take(&a);
	take(&b);
	cr_assert_eq(wsph_procstate_diff(&a, &b, why, sizeof why), 0);
	cr_assert_str_eq(why, "");
	wsph_procstate_free(&a);
	wsph_procstate_free(&b);
}

Test(procstate, a_changed_working_directory_is_named)
{
	struct wsph_procstate a, b;
	char why[8192], here[4096];
	cr_assert_not_null(getcwd(here, sizeof here));
	take(&a);
	cr_assert_eq(chdir("/"), 0);
	take(&b);
	cr_assert_eq(chdir(here), 0);
	cr_assert_eq(wsph_procstate_diff(&a, &b, why, sizeof why), 1);
	cr_assert_not_null(strstr(why, "working directory"), "%s", why);
	cr_assert_not_null(strstr(why, "to '/'"), "%s", why);
	wsph_procstate_free(&a);
	wsph_procstate_free(&b);
}

Test(procstate, a_changed_umask_is_named)
{
	struct wsph_procstate a, b;
	char why[256];
	mode_t old = umask(022);
	take(&a);
	umask(077);
	take(&b);
	umask(old);
	cr_assert_eq(wsph_procstate_diff(&a, &b, why, sizeof why), 1);
	cr_assert_str_eq(why, "the scenario changed the file-creation mask (umask) from 022 to 077");
	wsph_procstate_free(&a);
	wsph_procstate_free(&b);
}

Test(procstate, environment_variables_set_changed_and_removed)
{
	struct wsph_procstate a, b, c, d;
	char why[256];
	unsetenv("WSPH_TEST_VAR");
	take(&a);
	setenv("WSPH_TEST_VAR", "one", 1);
	take(&b);
	setenv("WSPH_TEST_VAR", "two", 1);
	take(&c);
	unsetenv("WSPH_TEST_VAR");
	take(&d);
	cr_assert_eq(wsph_procstate_diff(&a, &b, why, sizeof why), 1);
	cr_assert_str_eq(why, "the scenario set the environment variable WSPH_TEST_VAR");
	cr_assert_eq(wsph_procstate_diff(&b, &c, why, sizeof why), 1);
	cr_assert_str_eq(why, "the scenario changed the environment variable WSPH_TEST_VAR (from "
			      "'one' to 'two')");
	cr_assert_eq(wsph_procstate_diff(&c, &d, why, sizeof why), 1);
	cr_assert_str_eq(why, "the scenario removed the environment variable WSPH_TEST_VAR");
	wsph_procstate_free(&a);
	wsph_procstate_free(&b);
	wsph_procstate_free(&c);
	wsph_procstate_free(&d);
}

/* The harness sets these itself (the catalog's folders) during a case. */
Test(procstate, the_harness_own_variables_do_not_count)
{
	struct wsph_procstate a, b;
	char why[256];
	unsetenv("WSPH_LOWER_DIR");
	take(&a);
	setenv("WSPH_LOWER_DIR", "/somewhere", 1);
	setenv("WSPH_CATALOG_DIR", "/elsewhere", 1);
	take(&b);
	unsetenv("WSPH_LOWER_DIR");
	unsetenv("WSPH_CATALOG_DIR");
	cr_assert_eq(wsph_procstate_diff(&a, &b, why, sizeof why), 0);
	wsph_procstate_free(&a);
	wsph_procstate_free(&b);
}
