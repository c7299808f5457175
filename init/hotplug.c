/* Devices that come after boot (a disk controller or NIC added by the hypervisor, a USB stick):
 * the kernel's uevents, read in the event loop once coldplug is done, and each new device's
 * driver loaded by its modalias through our modprobe applet, one child at a time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "supervise.h"
#include "uevent.h"

#define QUEUE 64
#define ALIAS_MAX 200

static struct watch uev;
static struct child mp = { .name = "modprobe (hotplug)" };
static char queue[QUEUE][ALIAS_MAX];
static int head, count;

static void next(void);

static void done(struct child *c, int status)
{
	(void)c;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		debug("hotplug: modprobe %s: status %d", queue[head], status);
	head = (head + 1) % QUEUE;
	count--;
	next();
}

static void next(void)
{
	if (!count || mp.pid || shutdown_in_progress())
		return;
	char *argv[] = { "/sbin/modprobe", "-q", "--", queue[head], NULL };
	mp.on_exit = done;
	if (spawn(&mp, argv, NULL) < 0) {       /* logged by spawn(); drop it rather than spin */
		head = (head + 1) % QUEUE;
		count--;
	}
}

static void add(const char *alias)
{
	for (int i = 0; i < count; i++)
		if (!strcmp(queue[(head + i) % QUEUE], alias))
			return;
	if (count == QUEUE || strlen(alias) >= ALIAS_MAX) {
		warn("hotplug: no driver loaded for %.60s (%s)", alias, count == QUEUE ? "too many at once" : "alias too long");
		return;
	}
	snprintf(queue[(head + count) % QUEUE], ALIAS_MAX, "%s", alias);
	count++;
	next();
}

static void on_uevent(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	char buf[8192];
	ssize_t n;
	while ((n = uevent_recv(fd, buf, sizeof buf)) > 0) {
		const char *alias = uevent_added_alias(buf, (size_t)n);
		if (alias) {
			debug("hotplug: a new device (%.60s): loading its driver", alias);
			add(alias);
		}
	}
}

void hotplug_start(void)
{
	if (uev.fn)
		return;
	int fd = uevent_socket();
	if (fd < 0) {
		warn("hotplug: uevents: %s; devices added later get no driver", strerror(-fd));
		return;
	}
	watch_add(&uev, fd, POLLIN, on_uevent, NULL);
}
