/* The document's containers (workloads.c over workload_spec.c) against a fake engine client
 * (fake_client.c): each request is queued and the test answers it as dockerd would. The documents are real ones,
 * read by cfgdoc.c. workloads.c is included whole, so each test starts from a fresh boot. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfgdoc.h"
#include "fake_client.h"
#include "log_stub.h"
#include "../workloads.c"

/* ---- the fakes ---- */
/* image_fetch: recorded, answered by the test. */
static struct { char ref[256]; image_fn fn; void *arg; } fetches[16];
static int nfetches;
void image_fetch(const char *ref, int pull_ms, image_fn fn, void *arg)
{
	(void)pull_ms;
	assert_true(nfetches < 16);
	snprintf(fetches[nfetches].ref, sizeof fetches[0].ref, "%s", ref);
	fetches[nfetches].fn = fn;
	fetches[nfetches++].arg = arg;
}

static struct engine_listener *listener;
static int ready, shutting_down, overs = -1;
void engine_listen(struct engine_listener *l) { listener = l; }
int engine_ready(void) { return ready; }
int shutdown_in_progress(void) { return shutting_down; }
int net_wants_dhcp(void) { return 1; }
void net_lease_deadline(void) {}
const char *console_tty(void) { return "/dev/ttyS0"; }
int timesync_wanted(void) { return 0; }         /* syscont_spec.c's ntp container: not these tests' */
void timesync_env(cJSON *env) { (void)env; }
static void over_cb(int ok) { overs = ok; }

/* ---- driving it ---- */
static void fetched(const char *ref, int rc)
{
	for (int i = 0; i < nfetches; i++)
		if (fetches[i].fn && !strcmp(fetches[i].ref, ref)) {
			image_fn fn = fetches[i].fn;
			fetches[i].fn = NULL;
			fn(fetches[i].arg, rc, rc ? "no such image" : NULL);
			return;
		}
	fail_msg("no image fetch of %s pending", ref);
}

/* One onboot entry, from its image to its exit status. */
static void run_entry(const char *name, const char *image, const char *id, int code)
{
	char path[200], idj[100], st[40];
	fetched(image, 0);
	snprintf(path, sizeof path, "/containers/onboot-%s?force=1", name);
	answer("DELETE", path, 404, NULL);
	snprintf(path, sizeof path, "/containers/create?name=onboot-%s", name);
	snprintf(idj, sizeof idj, "{\"Id\":\"%s\"}", id);
	answer("POST", path, 201, idj);
	snprintf(path, sizeof path, "/containers/%s/start", id);
	answer("POST", path, 204, NULL);
	snprintf(path, sizeof path, "/containers/%s/wait", id);
	snprintf(st, sizeof st, "{\"StatusCode\":%d}", code);
	answer("POST", path, 200, st);
}

static struct config conf;
static void boot(const char *doc)
{
	static char compose[64];
	calls_reset();
	nfetches = 0;
	memset(&job, 0, sizeof job);
	phase = IDLE;
	onboot_i = 0;
	overs = -1;
	log_all[0] = 0;
	cfgdoc_free(&conf);
	config_defaults(&conf);
	assert_true(cfgdoc_apply("test", doc, strlen(doc), &conf, NULL) >= 0);
	/* A compose file that exists: the document's checker wants it under /var/lib/docker. */
	if (conf.doc && cJSON_GetObjectItem(conf.doc, "compose")) {
		snprintf(compose, sizeof compose, "/tmp/od-compose-XXXXXX");
		int fd = mkstemp(compose);
		assert_true(fd >= 0);
		close(fd);
		cJSON_ReplaceItemInObject(conf.doc, "compose", cJSON_CreateString(compose));
	}
	config_replace(&conf, NULL, 0);
	workloads_setup(over_cb);
	ready = 1;
	shutting_down = 0;
	listener->up();
}

#define IMG "busybox:1"
static const char *DOC = "onlydocker:\n"
	"  onboot:\n"
	"    - {name: a, image: " IMG "}\n"
	"    - {name: b, image: " IMG ", command: [false]}\n"
	"    - {name: c, image: " IMG "}\n"
	"  services:\n"
	"    web: {image: nginx:1, ports: ['80:80']}\n"
	"    steady: {image: " IMG "}\n"
	"  compose: /var/lib/docker/stack/compose.yaml\n";

/* The list answer: containers labelled as services, each with its hash label. */
static char *listing(const char *entries[][4], int n)
{
	static char buf[2048];
	size_t len = (size_t)snprintf(buf, sizeof buf, "[");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len,
					"%s{\"Id\":\"%s\",\"State\":\"%s\",\"Labels\":{\"" LABEL_SERVICE "\":\"%s\","
					"\"" LABEL_CONFIG "\":\"%s\"}}", i ? "," : "", entries[i][0], entries[i][1],
					entries[i][2], entries[i][3]);
	snprintf(buf + len, sizeof buf - len, "]");
	return buf;
}

static void onboot_in_order_then_services_then_compose(void **st)
{
	(void)st;
	boot(DOC);
	assert_int_equal(nfetches, 1);                  /* one entry at a time */
	run_entry("a", IMG, "ida", 0);
	assert_int_equal(overs, -1);
	assert_int_equal(nfetches, 2);
	run_entry("b", IMG, "idb", 1);
	/* A failure: its last lines, then the list goes on. */
	static const char frames[] = "\1\0\0\0\0\0\0\6oh no\n";
	answer_len("GET", "/containers/idb/logs?stdout=1&stderr=1&tail=20", 200, frames, sizeof frames - 1);
	assert_non_null(strstr(log_all, "onboot: b: | oh no\nonboot: b: failed: exited with status 1 (its last lines above); going on\n"));
	assert_int_equal(nfetches, 3);
	assert_false(pending("GET", "/containers/json*"));      /* no service before the list ends */
	run_entry("c", IMG, "idc", 0);
	assert_int_equal(overs, 1);

	/* steady exists and is what the document says, but stopped; gone is no longer wanted. */
	char steady_hash[9];
	free(workload_json(WL_SERVICE, "steady", cJSON_GetObjectItem(cJSON_GetObjectItem(cfg->doc, "services"), "steady"),
			   steady_hash));
	const char *have[][4] = { { "id-steady", "exited", "steady", steady_hash }, { "id-gone", "running", "gone", "x" } };
	answer("GET", "/containers/json*", 200, listing(have, 2));
	answer("POST", "/containers/id-steady/start", 204, NULL);
	answer("DELETE", "/containers/id-gone?force=1", 204, NULL);
	assert_false(pending("POST", "/containers/create?name=steady"));        /* kept, not recreated */
	assert_false(pending("POST", "/containers/create?name=onlydocker-compose"));
	fetched("nginx:1", 0);
	int i = find("POST", "/containers/create?name=web");
	assert_true(i >= 0);
	assert_non_null(strstr(calls[i].body, "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"80\"}]}"));
	assert_non_null(strstr(calls[i].body, "\"RestartPolicy\":{\"Name\":\"unless-stopped\"}"));
	answer("POST", "/containers/create?name=web", 201, "{\"Id\":\"id-web\"}");
	answer("POST", "/containers/id-web/start", 204, NULL);

	/* Then the compose file, by the CLI in dom0's bundled image. */
	assert_int_equal(phase, COMPOSE);
	fetched(DOM0_BUNDLED, 0);
	answer("DELETE", "/containers/onlydocker-compose?force=1", 204, NULL);
	i = find("POST", "/containers/create?name=onlydocker-compose");
	assert_non_null(strstr(calls[i].body, "\"Cmd\":[\"compose\",\"--file\",\"/tmp/od-compose-"));
	answer("POST", "/containers/create?name=onlydocker-compose", 201, "{\"Id\":\"idc\"}");
	answer("POST", "/containers/idc/start", 204, NULL);
	answer("POST", "/containers/idc/wait", 200, "{\"StatusCode\":0}");
	assert_int_equal(phase, DONE);
	assert_int_equal(npending(), 0);
	unlink(str(cfg->doc, "compose"));
}

static void a_changed_service_is_recreated_and_a_bad_entry_left_alone(void **st)
{
	(void)st;
	boot("onlydocker:\n  services:\n    web: {image: nginx:2}\n    db: {image: pg, ports: [nonsense]}\n");
	assert_int_equal(overs, 1);             /* no onboot list: over at once */
	const char *have[][4] = { { "id-web", "running", "web", "0badhash" }, { "id-db", "running", "db", "x" } };
	answer("GET", "/containers/json*", 200, listing(have, 2));
	answer("DELETE", "/containers/id-web?force=1", 204, NULL);
	assert_false(pending("DELETE", "/containers/id-db?force=1"));   /* its entry is bad: left alone */
	fetched("nginx:2", 0);
	answer("POST", "/containers/create?name=web", 201, "{\"Id\":\"id-web2\"}");
	answer("POST", "/containers/id-web2/start", 204, NULL);
	assert_int_equal(phase, DONE);
	assert_int_equal(npending(), 0);
}

static void a_required_failure_stops_everything_after_it(void **st)
{
	(void)st;
	boot("onlydocker:\n  onboot:\n    - {name: must, image: x:1, required: true}\n    - {name: after, image: x:1}\n"
	     "  services:\n    web: {image: nginx:1}\n");
	assert_int_equal(workloads_gate(), 1);
	fetched("x:1", -ENOENT);                /* no image: the entry fails */
	assert_non_null(strstr(log_last, "the boot stopped at the required entry 'must'"));
	assert_int_equal(overs, 0);
	assert_int_equal(phase, STOPPED);
	assert_int_equal(nfetches, 1);          /* nothing after it */
	assert_int_equal(npending(), 0);
	listener->up();                         /* an engine restart does not go on either */
	assert_int_equal(npending(), 0);
	assert_int_equal(nfetches, 1);
}

static void an_engine_restart_resumes_the_entry_in_hand(void **st)
{
	(void)st;
	boot("onlydocker:\n  onboot:\n    - {name: a, image: x:1}\n    - {name: b, image: y:1, timeout: 5}\n");
	assert_int_equal(workloads_gate(), 0);
	run_entry("a", "x:1", "ida", 0);
	fetched("y:1", 0);
	answer("DELETE", "/containers/onboot-b?force=1", 204, NULL);
	answer("POST", "/containers/create?name=onboot-b", 201, "{\"Id\":\"idb\"}");
	answer("POST", "/containers/idb/start", 204, NULL);
	ready = 0;                              /* dockerd died: the wait is cancelled */
	listener->down();
	answer("POST", "/containers/idb/wait", -ECANCELED, NULL);
	assert_int_equal(overs, -1);
	ready = 1;
	listener->up();
	assert_int_equal(nfetches, 3);          /* b again, not a */
	assert_string_equal(fetches[2].ref, "y:1");
	run_entry("b", "y:1", "idb2", 0);
	assert_int_equal(overs, 1);
	assert_int_equal(phase, DONE);          /* no services key: none touched, no list asked */
	assert_int_equal(npending(), 0);
}

static void an_entry_that_does_not_end_in_time_is_killed(void **st)
{
	(void)st;
	boot("onlydocker:\n  onboot:\n    - {name: slow, image: x:1, timeout: 2}\n");
	fetched("x:1", 0);
	answer("DELETE", "/containers/onboot-slow?force=1", 204, NULL);
	answer("POST", "/containers/create?name=onboot-slow", 201, "{\"Id\":\"ids\"}");
	answer("POST", "/containers/ids/start", 204, NULL);
	answer("POST", "/containers/ids/wait", -ETIMEDOUT, NULL);
	answer("POST", "/containers/ids/kill", 204, NULL);
	answer("GET", "/containers/ids/logs*", 200, "");
	assert_non_null(strstr(log_all, "onboot: slow: failed: did not end within 2 s (killed"));
	assert_int_equal(overs, 1);             /* not required: the boot goes on */
}

static int teardown(void **st)
{
	(void)st;
	calls_reset();
	cfgdoc_free(&conf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(onboot_in_order_then_services_then_compose),
		cmocka_unit_test(a_changed_service_is_recreated_and_a_bad_entry_left_alone),
		cmocka_unit_test(a_required_failure_stops_everything_after_it),
		cmocka_unit_test(an_engine_restart_resumes_the_entry_in_hand),
		cmocka_unit_test(an_entry_that_does_not_end_in_time_is_killed),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
