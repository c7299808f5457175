/* Unit tests of the kernel command-line parser: defaults, our keys, quoting, repeats, garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "cmdline.h"

static char last[512];
static int reports;
static void report(const char *m) { snprintf(last, sizeof last, "%s", m); reports++; }

static int parse(const char *s, struct config *c)
{
	config_defaults(c);
	last[0] = 0;
	reports = 0;
	return cmdline_parse(s, c, report);
}

static void defaults(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("console=ttyS0 quiet root=/dev/sda1 BOOT_IMAGE=/vmlinuz", &c), 0);
	assert_string_equal(c.hostname, "onlydocker");
	assert_string_equal(c.disk_label, "DOCKER");
	assert_int_equal(c.console_shell, 0);   /* console=ttyS0 is not the bare word */
	assert_int_equal(c.iptables, 1);
	assert_int_equal(c.shutdown_timeout_ms, 30000);
	assert_int_equal(c.cgroup_v1, 0);
}

static void keys(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("console od.hostname=box1 od.disk.label=DATA od.disk.wait=2 od.iptables=0 "
			       "od.cgroup=v1 od.debug od.shutdown.timeout=7 od.dom0=off od.dhcp.timeout=9", &c), 0);
	assert_int_equal(c.console_shell, 1);
	assert_string_equal(c.hostname, "box1");
	assert_string_equal(c.disk_label, "DATA");
	assert_int_equal(c.disk_wait_ms, 2000);
	assert_int_equal(c.iptables, 0);
	assert_int_equal(c.cgroup_v1, 1);
	assert_int_equal(c.debug, 1);
	assert_int_equal(c.shutdown_timeout_ms, 7000);
	assert_int_equal(c.dom0, 0);
	assert_int_equal(c.dhcp_timeout_ms, 9000);
}

static void quotes_and_repeats(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("od.dockerd.args=\"--log-level=warn --mtu=1400\" od.hostname=a od.hostname=b "
			       "\"od.disk.opts=noatime,data=ordered\"", &c), 0);
	assert_string_equal(c.dockerd_args, "--log-level=warn --mtu=1400");
	assert_string_equal(c.hostname, "b");
	assert_string_equal(c.disk_opts, "noatime,data=ordered");
}

static void bad_values_keep_defaults(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("od.disk.wait=abc", &c), 1);
	assert_int_equal(c.disk_wait_ms, 5000);
	assert_non_null(strstr(last, "od.disk.wait"));
	assert_int_equal(parse("od.shutdown.timeout=-5 od.shutdown.timeout=99999999999999", &c), 2);
	assert_int_equal(c.shutdown_timeout_ms, 30000);
	assert_int_equal(parse("od.hostname=-bad od.cgroup=v3 od.iptables=maybe od.hostname", &c), 4);
	assert_string_equal(c.hostname, "onlydocker");
	assert_int_equal(parse("od.nosuchkey=1", &c), 1);
	assert_non_null(strstr(last, "unknown key 'od.nosuchkey'"));
}

static void garbage(void **st)
{
	(void)st;
	struct config c;
	char big[8192];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_int_equal(parse(big, &c), 1);             /* overlong: ignored whole, defaults kept */
	assert_string_equal(c.hostname, "onlydocker");

	char val[600] = "od.hostname=";
	memset(val + strlen(val), 'h', 500);
	assert_int_equal(parse(val, &c), 1);
	assert_string_equal(c.hostname, "onlydocker");

	char longkey[200] = "od.";
	memset(longkey + 3, 'k', 150);
	strcat(longkey, "=1");
	assert_int_equal(parse(longkey, &c), 1);

	assert_int_equal(parse("od.hostname=\"unterminated quote", &c), 1);
	assert_string_equal(c.hostname, "onlydocker");
	assert_int_equal(parse("od.hostname=a\x01\xff", &c), 1);
	assert_int_equal(parse("", &c), 0);
	assert_int_equal(parse("   \t\n  ", &c), 0);
	assert_int_equal(cmdline_parse(NULL, &c, report), 0);
	assert_int_equal(parse("= == \"\" od. od.= console= consolex", &c), 2);
	assert_int_equal(c.console_shell, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults), cmocka_unit_test(keys), cmocka_unit_test(quotes_and_repeats),
		cmocka_unit_test(bad_values_keep_defaults), cmocka_unit_test(garbage),
	};
	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
