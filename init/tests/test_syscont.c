/* The system containers' state machine (syscont.c over syscont_spec.c) against a fake of the engine
 * client: every request it makes is queued here, and the test answers each as dockerd would, in
 * the order it chooses (a death before a start's answer, a stream that ends). Timers are recorded
 * and fired by hand. syscont.c is included whole, so each test starts from a first boot. */
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
#include "cmdline.h"
#include "engine.h"
#include "enginelife.h"
#include "images.h"
#include "init.h"
#include "loop.h"
#include "shutdown.h"
#include "syscont.h"
#include "syscont_spec.h"
#include "fake_client.h"
#include "../syscont.c"     /* whole, so each test starts from a fresh state (its statics) */

/* ---- the fakes ---- */
static engine_event_fn event_fn;
static engine_ended_fn ended_fn;
static int subscriptions;
struct ereq *engine_events(const char *filters, engine_event_fn fn, engine_ended_fn ended, void *arg)
{
	(void)filters; (void)arg;
	event_fn = fn;
	ended_fn = ended;
	subscriptions++;
	return dummy;
}

static struct engine_listener *listener;
static int ready, shutting_down, leases_awaited;
void engine_listen(struct engine_listener *l) { listener = l; }
int engine_ready(void) { return ready; }
int shutdown_in_progress(void) { return shutting_down; }
int net_wants_dhcp(void) { return 1; }
int timesync_wanted(void) { return 0; }         /* the ntp container: the same machine, not tested again */
void timesync_env(cJSON *env) { (void)env; }
void net_lease_deadline(void) { leases_awaited++; }
const char *console_tty(void) { return "/dev/ttyS0"; }

static struct timer *armed[16];
void timer_arm(struct timer *t, int delay_ms, void (*fn)(void *), void *arg)
{
	(void)delay_ms;
	t->fn = fn;
	t->arg = arg;
	t->when = 1;
	for (int i = 0; i < 16; i++)
		if (!armed[i] || armed[i] == t) {
			armed[i] = t;
			return;
		}
	fail_msg("too many timers");
}
void timer_cancel(struct timer *t)
{
	for (int i = 0; i < 16; i++)
		if (armed[i] == t)
			armed[i] = NULL;
	t->when = 0;
}
static void fire_timers(void)
{
	for (int i = 0; i < 16; i++)
		if (armed[i]) {
			struct timer *t = armed[i];
			armed[i] = NULL;
			t->when = 0;
			t->fn(t->arg);
		}
}

/* ---- driving it ---- */
static void die(const char *name, const char *id)
{
	char ev[256];
	snprintf(ev, sizeof ev, "{\"Actor\":{\"ID\":\"%s\",\"Attributes\":{\"name\":\"%s\",\"exitCode\":\"1\"}}}", id, name);
	cJSON *j = cJSON_Parse(ev);
	event_fn(j, NULL);
	cJSON_Delete(j);
}

static char image_body[2][200];

static int setup(void **st)
{
	(void)st;
	static int once;
	if (!once++)
		config_boot("", NULL);
	memset(conts, 0, sizeof conts);
	ups = 0;
	events = NULL;
	syscont_setup();
	calls_reset();
	memset(armed, 0, sizeof armed);
	shutting_down = 0;
	ready = 1;
	snprintf(image_body[0], sizeof image_body[0], "{\"Id\":\"%s\"}", syscont_specs[0].bundle_id);
	snprintf(image_body[1], sizeof image_body[1], "{\"Id\":\"%s\"}", syscont_specs[1].bundle_id);
	return 0;
}

/* Both bundles already in the engine: the first boot's way to two running containers. */
static void boot_to_running(int hold_check)
{
	listener->up();
	answer("GET", "/images/" DOM0_BUNDLED "/json", 200, image_body[1]);
	answer("GET", "/containers/dom0/json", 404, "{\"message\":\"No such container\"}");
	answer("DELETE", "/containers/dom0?force=1", 404, NULL);
	answer("POST", "/containers/create?name=dom0", 201, "{\"Id\":\"d0\"}");
	assert_true(pending("POST", "/containers/d0/start"));
	answer("GET", "/images/" DHCP_IMAGE "/json", 200, image_body[0]);
	answer("DELETE", "/containers/dhcp?force=1", 204, NULL);
	answer("POST", "/containers/create?name=dhcp", 201, "{\"Id\":\"dh\"}");
	if (hold_check)
		assert_false(pending("POST", "/containers/dh/start"));  /* held: dom0's start first */
	answer("POST", "/containers/d0/start", 204, NULL);
	answer("POST", "/containers/dh/start", 204, NULL);
}

static void dhcp_is_held_until_dom0s_start_is_done(void **st)
{
	(void)st;
	int subs = subscriptions, leases = leases_awaited;
	boot_to_running(1);
	assert_int_equal(subscriptions, subs + 1);
	assert_int_equal(leases_awaited, leases + 1);  /* dhcp's start arms the lease deadline */
	assert_int_equal(find("POST", "*"), -1);        /* nothing more in flight */
}

/* A failed dom0 start releases the held dhcp too. */
static void a_failed_dom0_start_releases_dhcp(void **st)
{
	(void)st;
	listener->up();
	answer("GET", "/images/" DOM0_BUNDLED "/json", 200, image_body[1]);
	answer("GET", "/containers/dom0/json", 404, NULL);
	answer("DELETE", "/containers/dom0?force=1", 204, NULL);
	answer("POST", "/containers/create?name=dom0", 201, "{\"Id\":\"d0\"}");
	answer("GET", "/images/" DHCP_IMAGE "/json", 200, image_body[0]);
	answer("DELETE", "/containers/dhcp?force=1", 204, NULL);
	answer("POST", "/containers/create?name=dhcp", 201, "{\"Id\":\"dh\"}");
	assert_false(pending("POST", "/containers/dh/start"));
	answer("POST", "/containers/d0/start", 500, "{\"message\":\"no\"}");
	assert_true(pending("POST", "/containers/dh/start"));
}

/* Three quick exits of dom0's image: the bundled one is tagged back as dom0's reference. */
static void dom0_rolled_back_after_three_quick_exits(void **st)
{
	(void)st;
	boot_to_running(0);
	for (int n = 1; n <= 3; n++) {
		char id[8];
		snprintf(id, sizeof id, "d%d", n - 1);
		die("dom0", id);
		if (n == 3)
			break;
		assert_false(pending("POST", "/images/*"));
		answer("GET", "/containers/dom0/json", 404, NULL);
		answer("DELETE", "/containers/dom0?force=1", 204, NULL);
		char body[32], start[48];
		snprintf(body, sizeof body, "{\"Id\":\"d%d\"}", n);
		answer("POST", "/containers/create?name=dom0", 201, body);
		snprintf(start, sizeof start, "/containers/d%d/start", n);
		answer("POST", start, 204, NULL);
	}
	answer("POST", "/images/" DOM0_BUNDLED "/tag?repo=" DOM0_REPO "&tag=" DOM0_TAG "&force=1", 201, NULL);
	assert_true(pending("GET", "/containers/dom0/json"));   /* and recreated from it */
	/* A death of a container that is not the current one (an old id) changes nothing. */
	int before = ncalls;
	die("dhcp", "not-dh");
	assert_int_equal(ncalls, before);
}

/* A death that overtakes the start's answer counts once the answer comes. */
static void a_death_before_the_start_answer_counts_after_it(void **st)
{
	(void)st;
	boot_to_running(0);
	die("dhcp", "dh");
	answer("DELETE", "/containers/dhcp?force=1", 204, NULL);
	answer("POST", "/containers/create?name=dhcp", 201, "{\"Id\":\"dh2\"}");
	die("dhcp", "dh2");                             /* before the start is answered */
	assert_false(pending("DELETE", "/containers/dhcp?force=1"));
	answer("POST", "/containers/dh2/start", 204, NULL);
	assert_true(pending("DELETE", "/containers/dhcp?force=1"));
}

static void prepared_answer(const char *status, const char *hash)
{
	char body[256];
	snprintf(body, sizeof body, "{\"Id\":\"p1\",\"State\":{\"Status\":\"%s\",\"Running\":false},"
		 "\"Config\":{\"Labels\":{\"" LABEL_CONFIG "\":\"%s\"}}}", status, hash);
	answer("GET", "/containers/dom0/json", 200, body);
}

/* The dom0 made at the last shutdown is started as it is when its config hash is today's, and
 * replaced when it is not or when it has run. */
static void the_prepared_dom0_is_reused_or_replaced_by_its_hash(void **st)
{
	(void)st;
	char hash[16];
	free(syscont_json(&syscont_specs[1], hash));
	listener->up();
	answer("GET", "/images/" DOM0_BUNDLED "/json", 200, image_body[1]);
	prepared_answer("created", hash);
	assert_true(pending("POST", "/containers/p1/start"));
	assert_false(pending("DELETE", "/containers/dom0?force=1"));

	setup(NULL);
	listener->up();
	answer("GET", "/images/" DOM0_BUNDLED "/json", 200, image_body[1]);
	prepared_answer("created", "0badc0de");
	assert_true(pending("DELETE", "/containers/dom0?force=1"));

	setup(NULL);
	listener->up();
	answer("GET", "/images/" DOM0_BUNDLED "/json", 200, image_body[1]);
	prepared_answer("exited", hash);
	assert_true(pending("DELETE", "/containers/dom0?force=1"));
}

/* After the engine's restart, a dom0 still running with today's config is kept. */
static void a_running_dom0_is_kept_across_an_engine_restart(void **st)
{
	(void)st;
	char hash[16], body[256];
	boot_to_running(0);
	listener->down();
	listener->up();
	free(syscont_json(&syscont_specs[1], hash));
	snprintf(body, sizeof body, "{\"Id\":\"d0\",\"State\":{\"Running\":true},\"Config\":{\"Labels\":{\"" LABEL_CONFIG
		 "\":\"%s\"}}}", hash);
	answer("GET", "/containers/dom0/json", 200, body);
	assert_false(pending("GET", "/images/*"));      /* nothing to make: kept */
	answer("GET", "/containers/dhcp/json", 404, NULL);
	assert_true(pending("GET", "/images/" DHCP_IMAGE "/json"));
}

static void events_resubscribed_after_the_stream_ends(void **st)
{
	(void)st;
	boot_to_running(0);
	int subs = subscriptions;
	ended_fn(-ECONNRESET, NULL, NULL);
	assert_int_equal(subscriptions, subs);          /* not at once: after a pause */
	fire_timers();
	assert_int_equal(subscriptions, subs + 1);
	/* Cancelled on purpose (the engine going away): not again. */
	ended_fn(-ECANCELED, NULL, NULL);
	fire_timers();
	assert_int_equal(subscriptions, subs + 1);
}

static int done_calls;
static void stage_done(void) { done_calls++; }

/* At shutdown: dom0 made afresh for the next boot, then dhcp stopped last; each calls back once. */
static void shutdown_prepares_dom0_and_stops_dhcp_last(void **st)
{
	(void)st;
	boot_to_running(0);
	shutting_down = 1;
	done_calls = 0;
	syscont_prepare_next(5000, stage_done);
	answer("DELETE", "/containers/dom0?force=1", 204, NULL);
	assert_int_equal(done_calls, 0);
	char hash[16];
	free(syscont_json(&syscont_specs[1], hash));
	int i = find("POST", "/containers/create?name=dom0");
	assert_true(i >= 0);
	assert_non_null(strstr(calls[i].body, hash));   /* the label the next boot checks */
	answer("POST", "/containers/create?name=dom0", 201, "{\"Id\":\"n1\"}");
	assert_int_equal(done_calls, 1);
	syscont_stop_last(5000, stage_done);
	answer("POST", "/containers/dhcp/stop?t=2", 204, NULL);
	assert_int_equal(done_calls, 2);
	assert_true(syscont_is_last("dhcp"));
	assert_false(syscont_is_last("dom0"));
	/* No engine: both stages end at once. */
	ready = 0;
	syscont_prepare_next(5000, stage_done);
	syscont_stop_last(5000, stage_done);
	assert_int_equal(done_calls, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(dhcp_is_held_until_dom0s_start_is_done, setup),
		cmocka_unit_test_setup(a_failed_dom0_start_releases_dhcp, setup),
		cmocka_unit_test_setup(dom0_rolled_back_after_three_quick_exits, setup),
		cmocka_unit_test_setup(a_death_before_the_start_answer_counts_after_it, setup),
		cmocka_unit_test_setup(the_prepared_dom0_is_reused_or_replaced_by_its_hash, setup),
		cmocka_unit_test_setup(a_running_dom0_is_kept_across_an_engine_restart, setup),
		cmocka_unit_test_setup(events_resubscribed_after_the_stream_ends, setup),
		cmocka_unit_test_setup(shutdown_prepares_dom0_and_stops_dhcp_last, setup),
	};
	return cmocka_run_group_tests_name("syscont", tests, NULL, NULL);
}
