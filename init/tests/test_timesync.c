/* Unit tests of timesync.c (included whole, for its relay): where the NTP servers come from
 * (od.ntp over the documents' ntp key, else the lease's, else none), whether the ntp container
 * runs and the environment ntp.sh gets, and which of chronyd's lines reach the console. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#define NTP_DIR "/tmp/od-test_timesync"   /* timesync_setup() makes its FIFO there */
#include "../timesync.c"
#include "cfgdoc.h"
#include "log_stub.h"

static int dhcp;
int net_wants_dhcp(void) { return dhcp; }
void watch_add(struct watch *w, int fd, short events, void (*fn)(int, short, void *), void *arg)
{
	(void)w; (void)fd; (void)events; (void)fn; (void)arg;
}

/* The boot's configuration from a command line and one document. */
static void boot_with(const char *cmdline, const char *doc)
{
	struct config c;
	cfgdoc_free((struct config *)cfg);
	config_defaults(&c);
	cmdline_parse(cmdline, &c, NULL);
	if (doc)
		assert_true(cfgdoc_apply("test", doc, strlen(doc), &c, NULL) == 0);
	config_finalise(&c);
	config_replace(&c, NULL, 0);
}

static char *env_text(void)
{
	cJSON *env = cJSON_CreateArray();
	timesync_env(env);
	char *s = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	return s;
}

static void the_documents_servers_without_dhcp(void **st)
{
	(void)st;
	dhcp = 0;
	boot_with("", "ntp: {servers: [192.0.2.124, ntp.example.test], pools: [pool.example.test]}\n");
	assert_true(timesync_wanted());         /* a static ip= and servers: time still syncs */
	char *e = env_text();
	assert_string_equal(e, "[\"NTP_SERVERS=192.0.2.124 ntp.example.test\",\"NTP_POOLS=pool.example.test\"]");
	free(e);
	timesync_setup();
	assert_string_equal(log_last, "time: NTP servers from the configuration's ntp: 192.0.2.124 ntp.example.test, "
			    "pools pool.example.test");
	assert_int_equal(log_last_level, LOG_INFO);
	boot_with("", "ntp: {servers: [192.0.2.124]}\n");
	assert_true(timesync_wanted());
	boot_with("", "ntp: {pools: [pool.example.test]}\n");
	assert_true(timesync_wanted());
}

static void the_lease_s_else_none(void **st)
{
	(void)st;
	boot_with("", NULL);
	dhcp = 1;
	assert_true(timesync_wanted());
	char *e = env_text();
	assert_string_equal(e, "[\"NTP_SERVERS=\",\"NTP_POOLS=\"]");
	free(e);
	dhcp = 0;
	assert_false(timesync_wanted());
	timesync_setup();
	assert_non_null(strstr(log_last, "time: no NTP servers (none configured, no DHCP)"));
}

static void od_ntp_wins_and_off_is_off(void **st)
{
	(void)st;
	dhcp = 1;
	boot_with("od.ntp=10.0.0.1,10.0.0.2", "ntp: {servers: [192.0.2.124], pools: [pool.example.test]}\n");
	char *e = env_text();
	assert_string_equal(e, "[\"NTP_SERVERS=10.0.0.1 10.0.0.2\",\"NTP_POOLS=\"]");
	free(e);
	boot_with("od.ntp=off", "ntp: {servers: [192.0.2.124]}\n");
	assert_false(timesync_wanted());
	boot_with("", "ntp: {enabled: false}\n");
	assert_false(timesync_wanted());        /* not even for the lease's */
	timesync_setup();
	assert_string_equal(log_last, "time: NTP is off (the configuration's ntp); the clock is the hardware's");
}

static void chronyd_s_first_sync_and_steps_on_the_console(void **st)
{
	(void)st;
	log_last[0] = 0;
	relay("2026-12-08T00:22:00Z chronyd version 4.6.1 starting (+CMDMON +NTP)");
	assert_string_equal(log_last, "");      /* a debug line */
	relay("2001-01-01T00:00:09Z Selected source 192.0.2.123");
	assert_string_equal(log_last, "time: first sync: chronyd: Selected source 192.0.2.123");
	relay("2001-01-01T00:00:09Z System clock wrong by 818382055.539587 seconds");
	assert_string_equal(log_last, "time: chronyd: System clock wrong by 818382055.539587 seconds");
	relay("Selected source 192.0.2.124");   /* not the first: debug */
	assert_string_equal(log_last, "time: chronyd: System clock wrong by 818382055.539587 seconds");
	relay("2026-12-08T00:22:00Z System clock was stepped by 818382055.539587 seconds");
	assert_non_null(strstr(log_last, "time: chronyd: System clock was stepped by 818382055.539587 seconds; "
			       "the clock now says 2"));
	relay("Could not open /run/ntp/chrony/chronyd.sock : Permission denied");
	assert_int_equal(log_last_level, LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_documents_servers_without_dhcp),
		cmocka_unit_test(the_lease_s_else_none),
		cmocka_unit_test(od_ntp_wins_and_off_is_off),
		cmocka_unit_test(chronyd_s_first_sync_and_steps_on_the_console),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(NTP_DIR "/log");
	rmdir(NTP_DIR);
	return r;
}
