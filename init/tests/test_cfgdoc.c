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
			       "runcmd: []\n"
			       "onlydocker.debug: 1\n", &c), 7);
	assert_string_equal(lines[0], "config: test.yaml: line 3, column 5: unknown key 'onlydocker.disk.wiat', ignored");
	assert_string_equal(lines[1], "config: test.yaml: line 4, column 11: onlydocker.cgroup: a list is taken only by dockerd.args; ignored");
	assert_string_equal(lines[2], "config: test.yaml: line 5, column 1: unknown key 'colour', ignored");
	assert_non_null(strstr(lines[3], "line 6, column 11: hostname: must be a value, not a mapping"));
	assert_non_null(strstr(lines[4], "line 7, column 22: ssh_authorized_keys: must be a list"));
	assert_non_null(strstr(lines[5], "line 8, column 1: key 'runcmd' is not applied by this version"));
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

static const cJSON *item(const struct config *c, const char *key, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(c->doc, key), i);
}
static const char *str(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItem(o, key);
	return cJSON_IsString(j) ? j->valuestring : NULL;
}
static int num(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItem(o, key);
	return cJSON_IsNumber(j) ? (int)j->valuedouble : -1;
}

static void write_files_entries_checked_and_a_bad_one_left_out(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("#cloud-config\n"
			       "write_files:\n"
			       "  - path: /etc/docker/certs.d/reg:5000/ca.crt\n"
			       "    content: |\n"
			       "      line one\n"
			       "    permissions: '0600'\n"
			       "    owner: 1000:100\n"
			       "  - path: /etc/x.conf\n"
			       "    permissions: '0999'\n"
			       "  - path: /var/lib/docker/onlydocker/bin\n"
			       "    encoding: b64\n"
			       "    content: aGVsbG8=\n"
			       "    append: true\n"
			       "    owner: root\n"
			       "  - path: /etc/empty\n", &c), 1);
	assert_string_equal(lines[0], "config: test.yaml: line 9, column 18: write_files entry 2, not written: "
			    "permissions: '0999' is not an octal mode such as '0644'");
	const cJSON *a = item(&c, "write_files", 0), *b = item(&c, "write_files", 1), *e = item(&c, "write_files", 2);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c.doc, "write_files")), 3);
	assert_string_equal(str(a, "path"), "/etc/docker/certs.d/reg:5000/ca.crt");
	assert_string_equal(str(a, "content"), "line one\n");
	assert_int_equal(num(a, "mode"), 0600);
	assert_int_equal(num(a, "uid"), 1000);
	assert_int_equal(num(a, "gid"), 100);
	assert_null(cJSON_GetObjectItem(a, "permissions"));
	assert_string_equal(str(a, "entry"), "write_files entry 1");
	assert_string_equal(str(a, "at"), "test.yaml: line 3, column 11");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "base64")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "append")));
	assert_int_equal(num(b, "mode"), -1);           /* not given: the writer's default */
	assert_int_equal(num(b, "uid"), 0);
	assert_int_equal(num(b, "gid"), 0);
	assert_string_equal(str(b, "entry"), "write_files entry 3");
	assert_null(cJSON_GetObjectItem(e, "content"));
	cfgdoc_free(&c);
}

static void write_files_bad_entries_each_one_line(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("write_files:\n"
			       "  - path: etc/relative\n"
			       "  - path: /etc/../root/x\n"
			       "  - path: /etc//x\n"
			       "  - path: /etc/x/\n"
			       "  - {path: /etc/z, encoding: gzip}\n"
			       "  - {path: /etc/z, encoding: b64, content: 'no base64!'}\n"
			       "  - {path: /etc/z, source: {uri: 'http://x'}}\n"
			       "  - {content: x}\n"
			       "  - {path: /etc/z, owner: bob}\n"
			       "  - {path: /etc/z, append: maybe}\n"
			       "  - {path: \"/etc/a\\nb\"}\n", &c), 11);
	assert_string_equal(lines[0], "config: test.yaml: line 2, column 11: write_files entry 1, not written: "
			    "path: 'etc/relative' is not an absolute path");
	assert_non_null(strstr(lines[1], "line 3, column 11: write_files entry 2, not written: path: '/etc/../root/x' "
			       "has an empty, '.' or '..' component"));
	assert_non_null(strstr(lines[2], "entry 3, not written: path: '/etc//x' has an empty"));
	assert_non_null(strstr(lines[3], "entry 4, not written: path: '/etc/x/' has an empty"));
	assert_non_null(strstr(lines[4], "line 6, column 30: write_files entry 5, not written: encoding: 'gzip' is not supported"));
	assert_non_null(strstr(lines[5], "line 7, column 44: write_files entry 6, not written: content: not base64"));
	assert_non_null(strstr(lines[6], "write_files entry 7, not written: unknown field 'source'"));
	assert_non_null(strstr(lines[7], "write_files entry 8, not written: path is missing"));
	assert_string_equal(lines[7] + strlen(lines[7]) - 15, "path is missing");
	assert_int_equal(reports, 11);
	assert_null(item(&c, "write_files", 0));        /* every entry left out */
	assert_int_equal(apply("write_files: /etc/x\n", &c), 1);
	assert_non_null(strstr(lines[0], "line 1, column 14: write_files: must be a list of files, not a value"));
	cfgdoc_free(&c);
}

/* Every document's files are written, in the sources' order; each declares directories for all. */
static void write_files_and_dirs_add_up_across_documents(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	apply("write_files: [{path: /etc/a, content: disk}]\n"
	      "onlydocker:\n  write_files: {dirs: [/opt/data]}\n", &c);
	assert_int_equal(apply("write_files: [{path: /etc/a, content: fwcfg}]\n"
			       "onlydocker:\n  write_files.dirs: [/opt/data, /srv, /, /proc/sys, /var, /var/lib/docker/volumes,\n"
			       "    srv, /dev/../srv]\n", &c), 6);
	assert_string_equal(str(item(&c, "write_files", 0), "content"), "disk");
	assert_string_equal(str(item(&c, "write_files", 1), "content"), "fwcfg");
	const cJSON *dirs = cJSON_GetObjectItem(c.doc, "write_files_dirs");
	assert_int_equal(cJSON_GetArraySize(dirs), 2);
	assert_string_equal(cJSON_GetArrayItem(dirs, 0)->valuestring, "/opt/data");
	assert_string_equal(cJSON_GetArrayItem(dirs, 1)->valuestring, "/srv");
	assert_string_equal(lines[0], "config: test.yaml: line 3, column 39: onlydocker.write_files.dirs: '/' is not an "
			    "absolute path; ignored");
	assert_non_null(strstr(lines[1], "'/proc/sys' is or holds /proc, which write_files never writes"));
	assert_non_null(strstr(lines[2], "'/var' is or holds /var/lib/docker"));
	assert_non_null(strstr(lines[3], "'/var/lib/docker/volumes' is or holds /var/lib/docker"));
	assert_non_null(strstr(lines[4], "line 4, column 5: onlydocker.write_files.dirs: 'srv' is not an absolute path"));
	assert_non_null(strstr(lines[5], "'/dev/../srv' has an empty, '.' or '..' component"));
	cfgdoc_free(&c);
}

static void timezone_later_wins_and_a_bad_name_keeps_the_earlier(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("timezone: America/Argentina/Buenos_Aires\n", &c), 0);
	assert_int_equal(apply("timezone: Europe/Berlin\n", &c), 0);
	const cJSON *tz = cJSON_GetObjectItem(c.doc, "timezone");
	assert_string_equal(str(tz, "zone"), "Europe/Berlin");
	assert_string_equal(str(tz, "at"), "test.yaml: line 1, column 11");
	assert_int_equal(apply("timezone: ../../etc/shadow\n", &c), 1);
	assert_string_equal(lines[0], "config: test.yaml: line 1, column 11: timezone: must be a zone name such as "
			    "Europe/Berlin, not '../../etc/shadow'; ignored");
	assert_int_equal(apply("timezone: [UTC]\n", &c), 1);
	assert_int_equal(apply("timezone: /etc/passwd\n", &c), 1);
	assert_int_equal(apply("timezone: Etc/GMT+5\n", &c), 0);
	assert_string_equal(str(cJSON_GetObjectItem(c.doc, "timezone"), "zone"), "Etc/GMT+5");
	cfgdoc_free(&c);
}

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

static void a_value_outside_its_choices_names_them(void **st)
{
	(void)st;
	struct config c;
	config_defaults(&c);
	assert_int_equal(apply("onlydocker:\n  services:\n    web: {image: a, network: bridged, restart: sometimes}\n"
			       "ntp: {ntp_client: ntpd}\n", &c), 5);
	assert_string_equal(lines[0], "config: test.yaml: line 3, column 30: onlydocker.services.web: network: "
			    "'bridged' is not bridge, host or none");
	assert_string_equal(lines[1], "config: test.yaml: line 3, column 48: onlydocker.services.web: restart: "
			    "'sometimes' is not unless-stopped, always or on-failure");
	assert_non_null(strstr(lines[2], "onlydocker.services.web: not applied"));
	assert_non_null(strstr(lines[3], "ntp_client: 'ntpd' is not auto or chrony"));
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
		cmocka_unit_test(onboot_services_and_compose_checked_into_the_doc),
		cmocka_unit_test(bad_entries_said_with_line_and_column_and_left_out_or_marked),
		cmocka_unit_test(seed_meta_data_gives_the_hostname_below_the_user_data),
		cmocka_unit_test(write_files_entries_checked_and_a_bad_one_left_out),
		cmocka_unit_test(write_files_bad_entries_each_one_line),
		cmocka_unit_test(write_files_and_dirs_add_up_across_documents),
		cmocka_unit_test(timezone_later_wins_and_a_bad_name_keeps_the_earlier),
		cmocka_unit_test(ntp_servers_into_the_doc_and_bad_ones_keep_the_earlier),
		cmocka_unit_test(a_value_outside_its_choices_names_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
