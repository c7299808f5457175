/* Unit tests of the configuration document: cloud-init's keys and the onlydocker section onto the
 * command line's table, later sources winning key by key, and each bad input one line naming
 * source, line, column and key while the rest still applies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <cJSON.h>
#include "cfgdoc.h"

static char lines[8][600];
static int reports;
static void report(const char *m)
{
	if (reports < 8)
		snprintf(lines[reports], sizeof lines[0], "%s", m);
	reports++;
}

static int apply(const char *doc, struct config *c)
{
	reports = 0;
	memset(lines, 0, sizeof lines);
	return cfgdoc_apply("test.yaml", doc, strlen(doc), c, report);
}

static void keys_nested_and_dotted(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("#cloud-config\n"
			       "hostname: web1\n"
			       "onlydocker:\n"
			       "  disk:\n"
			       "    wait: 12\n"
			       "    label: DATA\n"
			       "  dhcp.timeout: 9\n"
			       "  iptables: false\n"
			       "  debug: yes\n"
			       "  dockerd:\n"
			       "    args: [--log-level=warn, --mtu=1400]\n"
			       "  shutdown: {timeout: 45}\n"
			       "  ip: 10.0.2.15/24::10.0.2.2::::off\n"
			       "  swarm: init\n", &c), 0);
	assert_int_equal(reports, 0);
	assert_string_equal(c.hostname, "web1");
	assert_int_equal(c.disk_wait_ms, 12000);
	assert_string_equal(c.disk_label, "DATA");
	assert_int_equal(c.dhcp_timeout_ms, 9000);
	assert_int_equal(c.iptables, 0);
	assert_int_equal(c.debug, 1);
	assert_string_equal(c.dockerd_args, "--log-level=warn --mtu=1400");
	assert_int_equal(c.shutdown_timeout_ms, 45000);
	assert_int_equal(c.ip.mode, IP_STATIC);
	assert_int_equal(c.ip.prefix, 24);
	assert_string_equal(c.swarm, "init");
	assert_true(config_given(&c, "od.disk.wait"));
	assert_false(config_given(&c, "od.cgroup"));
}

static void later_sources_win_key_by_key_and_the_command_line_last(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	apply("onlydocker: {disk.wait: 3, shutdown.timeout: 20}\nhostname: disk\n", &c);
	apply("onlydocker: {disk.wait: 4}\n", &c);
	cmdline_parse("od.shutdown.timeout=50", &c, report);
	config_finalise(&c);
	assert_int_equal(c.disk_wait_ms, 4000);         /* the second document's */
	assert_int_equal(c.shutdown_timeout_ms, 50000); /* the command line's */
	assert_string_equal(c.hostname, "disk");        /* only the first said it */
}

static void quoted_true_is_a_string_and_a_bad_value_keeps_the_default(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("onlydocker:\n  iptables: 'true'\n  disk:\n    wait: soon\n  dom0: no\n", &c), 1);
	assert_int_equal(c.iptables, 1);                /* the string "true" is accepted by the table too */
	assert_int_equal(c.disk_wait_ms, 5000);         /* bad: default kept */
	assert_int_equal(c.dom0, 0);                    /* and what follows still applies */
	assert_non_null(strstr(lines[0], "config: test.yaml: line 4, column 11: onlydocker.disk.wait: "));
	assert_non_null(strstr(lines[0], "not a number in 0..600"));
}

static void unknown_keys_and_wrong_types_each_one_line_with_line_and_column(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("onlydocker:\n  disk:\n    wiat: 3\n  cgroup: [v1]\n"
			       "colour: blue\n"
			       "hostname: {a: b}\n"
			       "ssh_authorized_keys: ssh-ed25519 AAAA\n"
			       "write_files: []\n"
			       "onlydocker.debug: 1\n", &c), 7);
	assert_string_equal(lines[0], "config: test.yaml: line 3, column 5: unknown key 'onlydocker.disk.wiat', ignored");
	assert_string_equal(lines[1], "config: test.yaml: line 4, column 11: onlydocker.cgroup: a list is taken only by dockerd.args; ignored");
	assert_string_equal(lines[2], "config: test.yaml: line 5, column 1: unknown key 'colour', ignored");
	assert_non_null(strstr(lines[3], "line 6, column 11: hostname: must be a value, not a mapping"));
	assert_non_null(strstr(lines[4], "line 7, column 22: ssh_authorized_keys: must be a list"));
	assert_non_null(strstr(lines[5], "line 8, column 1: key 'write_files' is not applied by this version"));
	assert_string_equal(lines[6], "config: test.yaml: line 9, column 1: unknown key 'onlydocker.debug', ignored");
	assert_int_equal(c.cgroup_v1, 0);
	assert_int_equal(c.disk_wait_ms, 5000);
}

static void kernel_words_are_not_the_documents(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("onlydocker: {run: true, console: true}\n", &c), 2);
	assert_int_equal(c.run, 0);
	assert_non_null(strstr(lines[0], "onlydocker.run: od.run is the kernel command line's"));
	assert_non_null(strstr(lines[1], "unknown key 'onlydocker.console'"));
}

static void syntax_errors_and_other_shapes_are_ignored_whole(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("hostname: a\nonlydocker:\n  disk: [unclosed\n", &c), -EINVAL);
	assert_int_equal(reports, 1);
	assert_non_null(strstr(lines[0], "config: test.yaml: line "));
	assert_non_null(strstr(lines[0], "not valid YAML"));
	assert_string_equal(c.hostname, "onlydocker");  /* nothing of a broken document applies */
	assert_int_equal(apply("- a\n- b\n", &c), -EINVAL);
	assert_non_null(strstr(lines[0], "the document must be a mapping of keys, not a list"));
	assert_int_equal(apply("", &c), 0);
	assert_int_equal(apply("#cloud-config\n# nothing yet\n", &c), 0);
	assert_int_equal(reports, 0);
	char big[CFGDOC_MAX + 2];
	memset(big, '#', sizeof big);
	assert_int_equal(cfgdoc_apply("big", big, sizeof big, &c, report), -EINVAL);
	/* A NUL inside a value is refused, not cut short. */
	static const char nul[] = "hostname: \"ab\\0cd\"\n";
	assert_int_equal(apply(nul, &c), 1);
	assert_string_equal(c.hostname, "onlydocker");
}

static void ssh_keys_collected_once_across_documents(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	apply("ssh_authorized_keys:\n  - ssh-ed25519 AAAA one\n  - ssh-ed25519 BBBB two\n", &c);
	apply("ssh_authorized_keys:\n  - ssh-ed25519 BBBB two\n  - ssh-ed25519 AAAA\n  - \"a\\nb\"\n", &c);
	assert_string_equal(c.ssh_keys, "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\nssh-ed25519 AAAA\n");
	assert_int_equal(reports, 1);                   /* the key with a newline in it */
}

static void daemon_is_daemon_json_as_json(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("onlydocker:\n  daemon:\n    log-driver: local\n    debug: false\n"
			       "    max-concurrent-downloads: 2\n    labels: [a=b, 'c=true']\n    dns: ~\n"
			       "    log-opts: {max-size: '10m', max-file: \"3\"}\n    version: '1.0'\n", &c), 0);
	assert_string_equal(c.daemon_json, "{\"log-driver\":\"local\",\"debug\":false,\"max-concurrent-downloads\":2,"
			    "\"labels\":[\"a=b\",\"c=true\"],\"dns\":null,\"log-opts\":{\"max-size\":\"10m\",\"max-file\":\"3\"},"
			    "\"version\":\"1.0\"}");
	/* A later document's replaces it whole; a non-mapping is refused and keeps what was there. */
	apply("onlydocker: {daemon: {iptables: true}}\n", &c);
	assert_string_equal(c.daemon_json, "{\"iptables\":true}");
	assert_int_equal(apply("onlydocker:\n  daemon: [x]\n", &c), 1);
	assert_non_null(strstr(lines[0], "line 2, column 11: onlydocker.daemon: must be a mapping"));
	assert_string_equal(c.daemon_json, "{\"iptables\":true}");
}

/* ntp: cloud-init's shape into cfg->doc; a later document's replaces it whole; a bad one (a
 * server that could bend chronyd's configuration, an unknown field, a wrong type) is said, with
 * line and column, and the earlier one kept. */
static void ntp_servers_into_the_doc_and_bad_ones_keep_the_earlier(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("#cloud-config\nntp:\n  enabled: true\n  servers: [10.0.3.1, ntp.example.test]\n"
			       "  pools: [pool.example.test]\n", &c), 0);
	char *j = cJSON_PrintUnformatted(cJSON_GetObjectItem(c.doc, "ntp"));
	assert_string_equal(j, "{\"enabled\":true,\"servers\":[\"10.0.3.1\",\"ntp.example.test\"],"
			    "\"pools\":[\"pool.example.test\"]}");
	cJSON_free(j);

	assert_int_equal(apply("ntp:\n  servers: ['10.0.3.1 iburst\\nallow all']\n", &c), 2);
	assert_non_null(strstr(lines[0], "line 2, column 13: ntp: servers: '10.0.3.1 iburst"));
	assert_non_null(strstr(lines[0], "is not a host name or an address"));
	assert_non_null(strstr(lines[1], "ntp: not applied"));
	assert_int_equal(apply("ntp: {servers: 10.0.3.9}\n", &c), 2);
	assert_non_null(strstr(lines[0], "ntp: servers must be a list"));
	assert_int_equal(apply("ntp: {server: [10.0.3.9]}\n", &c), 2);
	assert_non_null(strstr(lines[0], "line 1, column 7: ntp: unknown field 'server'"));
	assert_int_equal(apply("ntp: {ntp_client: ntpd}\n", &c), 2);
	assert_int_equal(apply("ntp: {servers: [a, b, c, d, e, f, g, h, i]}\n", &c), 2);
	assert_non_null(strstr(lines[0], "ntp: more than 8 servers"));
	assert_int_equal(apply("ntp: [10.0.3.9]\n", &c), 2);
	assert_non_null(strstr(lines[0], "ntp: must be a mapping"));
	j = cJSON_PrintUnformatted(cJSON_GetObjectItem(c.doc, "ntp"));
	assert_non_null(strstr(j, "\"servers\":[\"10.0.3.1\",\"ntp.example.test\"]"));
	cJSON_free(j);

	/* A later document's, whole: its pools are gone, and enabled: false is kept to say NTP is off. */
	assert_int_equal(apply("ntp: {enabled: false, servers: ['fd00::123'], ntp_client: chrony}\n", &c), 0);
	j = cJSON_PrintUnformatted(cJSON_GetObjectItem(c.doc, "ntp"));
	assert_string_equal(j, "{\"enabled\":false,\"servers\":[\"fd00::123\"],\"ntp_client\":\"chrony\"}");
	cJSON_free(j);
	/* `ntp:` alone changes nothing and is no problem. */
	assert_int_equal(apply("ntp:\n", &c), 0);
	assert_non_null(cJSON_GetObjectItem(c.doc, "ntp"));
	cfgdoc_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_nested_and_dotted),
		cmocka_unit_test(later_sources_win_key_by_key_and_the_command_line_last),
		cmocka_unit_test(quoted_true_is_a_string_and_a_bad_value_keeps_the_default),
		cmocka_unit_test(unknown_keys_and_wrong_types_each_one_line_with_line_and_column),
		cmocka_unit_test(kernel_words_are_not_the_documents),
		cmocka_unit_test(syntax_errors_and_other_shapes_are_ignored_whole),
		cmocka_unit_test(ssh_keys_collected_once_across_documents),
		cmocka_unit_test(daemon_is_daemon_json_as_json),
		cmocka_unit_test(ntp_servers_into_the_doc_and_bad_ones_keep_the_earlier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
