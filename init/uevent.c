/* Waiting for a device: the kernel's uevents wake a lookup until it finds what it looks for, within
 * a bound. Drivers load in the background (modules_start), so the disk, the NIC or the --run port
 * may appear a moment after init first looks for them. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "uevent.h"
#include "init.h"
#include "log.h"

/* A non-blocking socket on the kernel's uevent broadcast, or -errno. */
int uevent_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(s);
		return -e;
	}
	return s;
}

/* The next uevent into buf (NUL-terminated), or -errno (-EAGAIN: none waiting). Only the kernel's
 * own (sender port 0) count: any process with NET_ADMIN in the host's network namespace, a
 * container's too, can broadcast on the same group, and what it sends would make PID 1 load modules. */
ssize_t uevent_recv(int s, char *buf, size_t size)
{
	for (;;) {
		struct sockaddr_nl from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(s, buf, size - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
		if (n < 0)
			return errno == EINTR ? -EAGAIN : -errno;
		if (len < sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;       /* not from the kernel: dropped */
		buf[n] = 0;
		return n;
	}
}

const char *uevent_added_alias(const char *buf, size_t n)
{
	const char *alias = NULL, *end = buf + n;
	int added = 0;
	/* NUL-separated fields; a MODALIAS counts only with its NUL inside the n bytes. */
	for (const char *q = buf; q < end; ) {
		size_t len = strnlen(q, (size_t)(end - q));
		if (len == 10 && !memcmp(q, "ACTION=add", 10))
			added = 1;
		else if (len > 9 && !memcmp(q, "MODALIAS=", 9) && q + len < end)
			alias = q + 9;
		q += len + 1;
	}
	return added ? alias : NULL;
}

/* Waits until look(arg) finds something, woken by the kernel's uevents of that subsystem, within
 * timeout_ms: a device's driver may still be loading in the background (modules_start). */
char *wait_device(const char *subsystem, char *(*look)(const char *), const char *arg, int timeout_ms)
{
	char *dev = look(arg);
	if (dev || timeout_ms <= 0)
		return dev;
	int s = uevent_socket();        /* < 0: no wake-ups, one more look below and that is all */
	int64_t end = now_ms() + timeout_ms;
	char want[64];
	snprintf(want, sizeof want, "SUBSYSTEM=%s", subsystem);
	/* Close the race with a device that appeared between the first look and the bind. */
	dev = look(arg);
	while (!dev && now_ms() < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		int left = (int)(end - now_ms());
		if (s < 0 || poll(&p, 1, left > 0 ? left : 0) <= 0)
			break;
		char buf[4096];
		int hit = 0;
		ssize_t n;
		while ((n = uevent_recv(s, buf, sizeof buf)) > 0) {
			for (char *q = buf; q < buf + n; q += strlen(q) + 1)
				if (!strcmp(q, want))
					hit = 1;
		}
		if (hit)
			dev = look(arg);
	}
	if (s >= 0)
		close(s);
	return dev;
}
