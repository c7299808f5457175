/* Unit tests of uevent_recv() (uevent.c) in a network namespace of its own: a uevent broadcast by a
 * process (as a container with NET_ADMIN could) is dropped, one from the kernel (a tap device made
 * here) is taken. Needs root; skipped without it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "uevent.h"

static int ns_ok;

static int setup(void **st)
{
	(void)st;
	ns_ok = unshare(CLONE_NEWNET) == 0;     /* broadcasts stay in here, away from the host's udev */
	return 0;
}

static void wait_readable(int s)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	poll(&p, 1, 2000);
}

static void a_process_cannot_pose_as_the_kernel(void **st)
{
	(void)st;
	if (!ns_ok)
		skip();
	int s = uevent_socket();
	assert_true(s >= 0);
	int fake = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	assert_true(fake >= 0);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	static const char msg[] = "add@/devices/pci0000:00/evil\0ACTION=add\0SUBSYSTEM=pci\0MODALIAS=pci:v0000DEADd0000BEEF";
	ssize_t sent = sendto(fake, msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to);
	if (sent < 0 && errno == EPERM)
		skip();
	assert_int_equal(sent, (ssize_t)sizeof msg);
	wait_readable(s);
	char buf[4096];
	assert_int_equal(uevent_recv(s, buf, sizeof buf), -EAGAIN);     /* it was there, and dropped */
	close(fake);
	close(s);
}

static void the_kernels_own_are_taken(void **st)
{
	(void)st;
	if (!ns_ok)
		skip();
	int s = uevent_socket();
	assert_true(s >= 0);
	int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (tun < 0)
		skip();
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	strcpy(ifr.ifr_name, "odtest0");
	if (ioctl(tun, TUNSETIFF, &ifr) < 0)
		skip();
	wait_readable(s);
	char buf[4096];
	ssize_t n = uevent_recv(s, buf, sizeof buf);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "odtest0"));
	close(tun);
	close(s);
}

static void an_added_devices_alias_is_found(void **st)
{
	(void)st;
	static const char add[] = "add@/devices/pci0000:00/0000:00:05.0\0ACTION=add\0SUBSYSTEM=pci\0MODALIAS=pci:v00001AF4d00001005sv\0SEQNUM=9";
	static const char rm[] = "remove@/devices/x\0ACTION=remove\0MODALIAS=pci:v1\0";
	static const char cut[] = "add@/x\0ACTION=add\0MODALIAS=pci:v1";      /* no NUL after it within n */
	assert_string_equal(uevent_added_alias(add, sizeof add), "pci:v00001AF4d00001005sv");
	assert_null(uevent_added_alias(rm, sizeof rm));
	assert_null(uevent_added_alias(cut, sizeof cut - 1));
	assert_null(uevent_added_alias("ACTION=add", 10));
	assert_null(uevent_added_alias("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_process_cannot_pose_as_the_kernel),
		cmocka_unit_test(the_kernels_own_are_taken),
		cmocka_unit_test(an_added_devices_alias_is_found),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
