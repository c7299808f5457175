/* Unit test of applet dispatch (applets.c): main() blocks every signal before it knows what it is
 * run as; an applet must run with none blocked, or SIGTERM at shutdown could not stop it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "init.h"

static int blocked_in_applet;
static const char *ran;

static int count_blocked(void)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	int n = 0;
	for (int s = 1; s < NSIG; s++)
		n += sigismember(&cur, s) == 1;
	return n;
}
int modprobe_main(int argc, char **argv) { (void)argc; (void)argv; ran = "modprobe"; blocked_in_applet = count_blocked(); return 3; }
int control_main(const char *name, int argc, char **argv) { (void)argc; (void)argv; ran = name; blocked_in_applet = count_blocked(); return 4; }

static void applets_run_with_no_signal_blocked(void **st)
{
	(void)st;
	sigset_t all;
	char *argv[] = { "x", NULL };
	const char *names[] = { "modprobe", "poweroff", "reboot", "halt" };
	for (size_t i = 0; i < 4; i++) {
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);     /* as main() does first */
		blocked_in_applet = -1;
		assert_int_equal(applet_run(names[i], 1, argv), i ? 4 : 3);
		assert_string_equal(ran, names[i]);
		assert_int_equal(blocked_in_applet, 0);
	}
	ran = NULL;
	assert_int_equal(applet_run("init", 1, argv), -1);
	assert_null(ran);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(applets_run_with_no_signal_blocked) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
