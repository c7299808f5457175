/* Requests to stop the machine besides signals (signals.c): the ACPI power button (an input
 * device reporting KEY_POWER), and our `poweroff`/`reboot`/`halt` command. Both lead to
 * shutdown_request(). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <unistd.h>
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"

static struct watch buttons[4];
static char watched[4][16];     /* their /dev/input names: a later scan skips them */
static int nbuttons;

static void on_button(int fd, short rev, void *arg)
{
	struct input_event ev[16];
	ssize_t n = read(fd, ev, sizeof ev);
	if (n <= 0 && (rev & (POLLHUP | POLLERR))) {
		watch_del(arg);
		close(fd);
		return;
	}
	for (ssize_t i = 0; i < n / (ssize_t)sizeof ev[0]; i++)
		if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1)
			shutdown_request(PA_POWEROFF, "the power button (ACPI)");
}

/* Called at boot for what is there, and again once the background coldplug has loaded the input
 * drivers (button, evdev): the power button need not wait in the way to dockerd. */
void power_button_setup(int last)
{
	DIR *d = opendir("/dev/input");
	struct dirent *e;
	if (!d) {
		if (last)
			warn("power: no /dev/input: the ACPI power button will not be seen");
		return;
	}
	while ((e = readdir(d)) && nbuttons < (int)(sizeof buttons / sizeof buttons[0])) {
		char path[300], name[64] = "?";
		unsigned long keys[KEY_MAX / (8 * sizeof(long)) + 1] = { 0 };
		int seen = 0;
		if (strncmp(e->d_name, "event", 5) || strlen(e->d_name) >= sizeof watched[0])
			continue;
		for (int i = 0; i < nbuttons; i++)
			seen |= !strcmp(watched[i], e->d_name);
		if (seen)
			continue;
		snprintf(path, sizeof path, "/dev/input/%s", e->d_name);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0 ||
		    !(keys[KEY_POWER / (8 * sizeof(long))] & (1UL << (KEY_POWER % (8 * sizeof(long)))))) {
			close(fd);
			continue;
		}
		ioctl(fd, EVIOCGNAME(sizeof name), name);
		strcpy(watched[nbuttons], e->d_name);
		struct watch *w = &buttons[nbuttons++];
		watch_add(w, fd, POLLIN, on_button, w);
		info("power: watching %s (%s) for the power button", path, name);
	}
	closedir(d);
	if (!nbuttons && last)
		warn("power: no input device reports KEY_POWER: the ACPI power button will not be seen");
}

/* `poweroff`, `reboot`, `halt` in the root namespace: ask PID 1, or with -f do it at once. */
int control_main(const char *name, int argc, char **argv)
{
	int force = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-f"))
			force = 1;
		else if (strcmp(argv[i], "-n") && strcmp(argv[i], "-d")) {
			fprintf(stderr, "usage: %s [-f]\n  asks PID 1 for a clean %s; -f does it at once, without stopping anything\n", name, name);
			return 2;
		}
	}
	int sig = !strcmp(name, "halt") ? SIGUSR1 : !strcmp(name, "poweroff") ? SIGUSR2 : SIGTERM;
	if (force) {
		sync();
		reboot(sig == SIGUSR1 ? RB_HALT_SYSTEM : sig == SIGUSR2 ? RB_POWER_OFF : RB_AUTOBOOT);
		fprintf(stderr, "%s: %s\n", name, strerror(errno));
		return 1;
	}
	if (kill(1, sig) < 0) {
		fprintf(stderr, "%s: signalling PID 1: %s\n", name, strerror(errno));
		return 1;
	}
	return 0;
}
