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


static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *printed(const cJSON *o, const char *k)
{
	static char buf[1024];
	char *p = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, k));
	snprintf(buf, sizeof buf, "%s", p ? p : "(none)");
	cJSON_free(p);
	return buf;
}

static void onboot_services_and_compose_checked_into_the_doc(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("onlydocker:\n"
			       "  onboot:\n"
			       "    - name: fmt\n"
			       "      image: busybox:1\n"
			       "      command: sh -c 'echo \"a b\"; exit 0' x\\ y\n"
			       "      env: {A: '1', B: two}\n"
			       "      binds: [/dev:/dev, '/var/lib/docker/x:/x:ro']\n"
			       "      privileged: yes\n"
			       "      timeout: 30\n"
			       "      required: true\n"
			       "    - image: alpine\n"
			       "      entrypoint: [/bin/true]\n"
			       "      env: [C=3]\n"
			       "  services:\n"
			       "    web:\n"
			       "      image: nginx:1\n"
			       "      ports: ['8080:80', '127.0.0.1:53:53/udp']\n"
			       "      network: host\n"
			       "      restart: always\n"
			       "  compose: /var/lib/docker/onlydocker/stack/compose.yaml\n", &c), 0);
	const cJSON *onboot = cJSON_GetObjectItem(c.doc, "onboot");
	assert_int_equal(cJSON_GetArraySize(onboot), 2);
	const cJSON *a = cJSON_GetArrayItem(onboot, 0), *b = cJSON_GetArrayItem(onboot, 1);
	assert_string_equal(jstr(a, "name"), "fmt");
	assert_string_equal(printed(a, "command"), "[\"sh\",\"-c\",\"echo \\\"a b\\\"; exit 0\",\"x y\"]");
	assert_string_equal(printed(a, "env"), "[\"A=1\",\"B=two\"]");
	assert_string_equal(printed(a, "binds"), "[\"/dev:/dev\",\"/var/lib/docker/x:/x:ro\"]");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "privileged")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "required")));
	assert_int_equal(cJSON_GetObjectItem(a, "timeout")->valueint, 30);
	assert_string_equal(jstr(b, "name"), "2");      /* unnamed: its place in the list */
	assert_string_equal(printed(b, "entrypoint"), "[\"/bin/true\"]");
	assert_null(cJSON_GetObjectItem(b, "required"));
	const cJSON *web = cJSON_GetObjectItem(cJSON_GetObjectItem(c.doc, "services"), "web");
	assert_string_equal(printed(web, "ports"), "[\"8080:80\",\"127.0.0.1:53:53/udp\"]");
	assert_string_equal(jstr(web, "restart"), "always");
	assert_string_equal(jstr(c.doc, "compose"), "/var/lib/docker/onlydocker/stack/compose.yaml");

	/* A later document: its onboot list replaces the earlier one whole, its services replace
	 * those of the same name and leave the others. */
	assert_int_equal(apply("onlydocker:\n  onboot: [{image: x}]\n  services:\n    db: {image: pg}\n"
			       "    web: {image: nginx:2}\n", &c), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c.doc, "onboot")), 1);
	const cJSON *svcs = cJSON_GetObjectItem(c.doc, "services");
	assert_int_equal(cJSON_GetArraySize(svcs), 2);
	assert_string_equal(jstr(cJSON_GetObjectItem(svcs, "web"), "image"), "nginx:2");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(svcs, "web"), "ports"));
	cfgdoc_free(&c);
	assert_null(c.doc);
}

static void bad_entries_said_with_line_and_column_and_left_out_or_marked(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	int r = apply("onlydocker:\n"
		      "  onboot:\n"
		      "    - image: ok\n"
		      "      colour: red\n"                    /* 4: unknown field */
		      "    - image: ok\n"
		      "      required: yes\n"
		      "      timeout: forever\n"               /* 7: bad value, and required */
		      "    - command: \"'unclosed\"\n"         /* 8: a quote not closed, no image */
		      "  services:\n"
		      "    web: {image: a, ports: ['80']}\n"   /* 10: not HOST:CONTAINER */
		      "    bad name: {image: a}\n"             /* 11 */
		      "    db: {image: b, binds: [data:/d]}\n" /* 12: not an absolute host path */
		      "  compose: stack/compose.yaml\n",       /* 13 */
		      &c);
	assert_int_equal(r, 10);
	assert_string_equal(lines[0], "config: test.yaml: line 4, column 7: onlydocker.onboot entry 1: unknown field 'colour'");
	assert_non_null(strstr(lines[1], "line 7, column 16: onlydocker.onboot entry 2: timeout must be a whole number"));
	assert_non_null(strstr(lines[2], "line 5, column 7: onlydocker.onboot entry 2: it is required, so the boot will stop there"));
	assert_non_null(strstr(lines[3], "line 8, column 16: onlydocker.onboot entry 3: command: a ' quote is not closed"));
	assert_non_null(strstr(lines[4], "line 10, column 29: onlydocker.services.web: ports: '80' is not [IP:]HOSTPORT:CONTAINERPORT"));
	assert_non_null(strstr(lines[5], "onlydocker.services.web: not applied; a service of that name is left as it is"));
	const cJSON *onboot = cJSON_GetObjectItem(c.doc, "onboot");
	assert_int_equal(cJSON_GetArraySize(onboot), 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(onboot, 0), "invalid")));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(onboot, 0), "required")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(onboot, 1), "required")));
	const cJSON *svcs = cJSON_GetObjectItem(c.doc, "services");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(svcs, "web")));   /* marked: its container is left alone */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(svcs, "db")));
	assert_null(cJSON_GetObjectItem(svcs, "bad name"));
	assert_null(cJSON_GetObjectItem(c.doc, "compose"));
	cfgdoc_free(&c);
	/* Two entries of one name would be one container: the list is refused. */
	assert_int_equal(apply("onlydocker:\n  onboot: [{name: a, image: x}, {name: a, image: y}]\n", &c), 1);
	assert_non_null(strstr(lines[0], "two entries are named 'a'; the list is ignored"));
	assert_null(cJSON_GetObjectItem(c.doc, "onboot"));
	cfgdoc_free(&c);
}

static void seed_meta_data_gives_the_hostname_below_the_user_data(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	const char *meta = "instance-id: iid-1\nlocal-hostname: vm7.example.test\nnetwork-interfaces: x\n";
	reports = 0;
	assert_int_equal(cfgdoc_metadata("meta-data", meta, strlen(meta), &c, report), 0);
	assert_int_equal(reports, 0);                   /* the keys that are not ours pass unsaid */
	assert_string_equal(c.hostname, "vm7");         /* a dotted name's first label */
	assert_int_equal(apply("hostname: web\n", &c), 0);
	assert_string_equal(c.hostname, "web");         /* the user-data, read after it, wins */
	meta = "local-hostname: -bad-\n";
	reports = 0;
	assert_int_equal(cfgdoc_metadata("meta-data", meta, strlen(meta), &c, report), 1);
	assert_string_equal(c.hostname, "web");
	assert_non_null(strstr(lines[0], "not a valid hostname"));
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
		cmocka_unit_test(onboot_services_and_compose_checked_into_the_doc),
		cmocka_unit_test(bad_entries_said_with_line_and_column_and_left_out_or_marked),
		cmocka_unit_test(seed_meta_data_gives_the_hostname_below_the_user_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
