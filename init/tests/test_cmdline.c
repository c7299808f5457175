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
	int n = cmdline_parse(s, c, report);
	config_finalise(c);
	return n;
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

/* od.ntp: names and addresses, comma separated, or off; anything that could bend chronyd's
 * configuration refused. */
static void ntp_servers(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("od.ntp=192.0.2.123,ntp.example.test,fd00::1", &c), 0);
	assert_string_equal(c.ntp, "192.0.2.123,ntp.example.test,fd00::1");
	assert_true(config_given(&c, "od.ntp"));
	assert_int_equal(parse("od.ntp=off", &c), 0);
	assert_string_equal(c.ntp, "off");
	const char *bad[] = { "od.ntp=", "od.ntp=a,,b", "od.ntp=a,", "od.ntp=,a", "od.ntp=-x", "od.ntp=\"a b\"",
			      "od.ntp=a/b", "od.ntp=1,2,3,4,5,6,7,8,9", "od.ntp" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse(bad[i], &c), 1);
		assert_string_equal(c.ntp, "");
		assert_non_null(strstr(last, "od.ntp"));
	}
	assert_int_equal(parse("od.ntp=1,2,3,4,5,6,7,8", &c), 0);
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

static const char *ip4(uint32_t a)
{
	static char s[4][16];
	static int i;
	const unsigned char *b = (const unsigned char *)&a;
	i = (i + 1) % 4;
	snprintf(s[i], sizeof s[i], "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return s[i];
}

/* ip=, the kernel's syntax, which init applies itself (Debian's kernel has no IP_PNP). */
static void ip_static(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3", &c), 0);
	assert_int_equal(c.ip.mode, IP_STATIC);
	assert_string_equal(ip4(c.ip.addr), "10.0.2.15");
	assert_string_equal(ip4(c.ip.gw), "10.0.2.2");
	assert_int_equal(c.ip.prefix, 24);
	assert_string_equal(c.ip.dev, "eth0");
	assert_int_equal(c.ip.ndns, 1);
	assert_string_equal(ip4(c.ip.dns[0]), "10.0.2.3");
	assert_string_equal(c.hostname, "onlydocker");

	/* ADDR/PREFIX, a hostname (od.hostname still wins when given), two DNS servers, no gateway */
	assert_int_equal(parse("ip=192.168.7.2/28:::::eth1::1.1.1.1:8.8.8.8 ip=192.168.7.3/28:::::eth1::1.1.1.1:8.8.8.8", &c), 0);
	assert_int_equal(c.ip.prefix, 28);
	assert_string_equal(ip4(c.ip.addr), "192.168.7.3");
	assert_int_equal(c.ip.gw, 0);
	assert_string_equal(c.ip.dev, "eth1");
	assert_int_equal(c.ip.ndns, 2);
	assert_int_equal(parse("ip=10.1.2.3::::node1:: od.hostname=other", &c), 0);
	assert_string_equal(c.hostname, "other");
	assert_int_equal(c.ip.prefix, 8);               /* the old class-A default, as the kernel does */
	assert_int_equal(parse("ip=172.16.0.9::::node1", &c), 0);
	assert_string_equal(c.hostname, "node1");
	assert_int_equal(c.ip.prefix, 16);
	assert_string_equal(c.ip.dev, "eth0");
}

static void ip_modes_and_mistakes(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("", &c), 0);
	assert_int_equal(c.ip.mode, IP_DHCP);
	assert_int_equal(parse("ip=off", &c), 0);
	assert_int_equal(c.ip.mode, IP_OFF);
	assert_int_equal(parse("ip=dhcp", &c), 0);
	assert_int_equal(c.ip.mode, IP_DHCP);
	assert_int_equal(parse("ip=:::::eth0:dhcp", &c), 0);
	assert_int_equal(c.ip.mode, IP_DHCP);
	static const char *const bad[] = {
		"ip=10.0.2.300", "ip=10.0.2.15/33", "ip=10.0.2.15::10.0.2", "ip=10.0.2.15:::255.0.255.0",
		"ip=10.0.2.15/24:::255.255.0.0", "ip=10.0.2.15:::::::nameserver", "ip=10.0.2.15::::-bad-",
		"ip=10.0.2.15:::::eth0:rarpish", "ip=:::::eth0:off", "ip=1.2.3.4:::::a/b",
		"ip=1.2.3.4:::::::::::", "ip=1.2.3.4x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (parse(bad[i], &c) != 1)
			fail_msg("%s was taken", bad[i]);
		assert_non_null(strstr(last, "using DHCP"));
		assert_int_equal(c.ip.mode, IP_DHCP);   /* a mistake never half-applies */
	}
	/* od.swarm: only init; joining is od.swarm.join */
	assert_int_equal(parse("od.swarm=join od.swarm.join=10.0.0.1:2377 od.swarm.token=SWMTKN-1-a-b od.swarm.addr=10.0.0.2", &c), 1);
	assert_non_null(strstr(last, "od.swarm='join' is not init"));
	assert_string_equal(c.swarm, "");
	assert_string_equal(c.swarm_join, "10.0.0.1:2377");
	assert_string_equal(c.swarm_token, "SWMTKN-1-a-b");
	assert_string_equal(c.swarm_addr, "10.0.0.2");
	assert_int_equal(parse("od.swarm=init", &c), 0);
	assert_string_equal(c.swarm, "init");
	/* od.run and od.dhcp */
	assert_int_equal(parse("od.run od.dhcp=1", &c), 0);
	assert_int_equal(c.run, 1);
	assert_int_equal(c.dhcp, 1);
	assert_int_equal(parse("", &c), 0);
	assert_int_equal(c.dhcp, -1);
}

/* The finalising step: what one key implies for others, once, after every word is parsed. */
static void finalised(void **st)
{
	(void)st;
	struct config c;
	assert_int_equal(parse("console od.run", &c), 0);
	assert_int_equal(c.console_shell, 0);           /* kvm --run: no one at the console */
	assert_int_equal(c.dom0, 0);
	assert_int_equal(c.dhcp, 0);
	assert_int_equal(parse("od.run od.dhcp", &c), 0);
	assert_int_equal(c.dhcp, 1);                    /* said: kept */
	assert_int_equal(parse("quiet", &c), 0);
	assert_int_equal(c.quiet_kernel, 1);
	assert_int_equal(parse("loglevel=7", &c), 0);
	assert_int_equal(c.quiet_kernel, 0);
	assert_int_equal(parse("od.debug", &c), 0);
	assert_int_equal(c.quiet_kernel, 0);
	assert_int_equal(parse("console=ttyS0 od.hostname=a", &c), 0);
	assert_int_equal(config_given(&c, "console"), 0);
	assert_int_equal(config_given(&c, "od.hostname"), 1);
	assert_int_equal(config_given(&c, "od.disk.label"), 0);
	/* od.hostname wins over ip='s, in either order */
	assert_int_equal(parse("od.hostname=first ip=10.1.2.3::::node1", &c), 0);
	assert_string_equal(c.hostname, "first");
	/* a bad od.hostname is not given: ip='s is used */
	assert_int_equal(parse("od.hostname=-x ip=10.1.2.3::::node1", &c), 1);
	assert_string_equal(c.hostname, "node1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults), cmocka_unit_test(keys), cmocka_unit_test(quotes_and_repeats),
		cmocka_unit_test(bad_values_keep_defaults), cmocka_unit_test(garbage), cmocka_unit_test(ntp_servers),
		cmocka_unit_test(ip_static), cmocka_unit_test(ip_modes_and_mistakes), cmocka_unit_test(finalised),
	};
	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
