/* PID 1's signals, all through one signalfd (main blocked every signal first): SIGCHLD to the
 * reaper, and requests to stop the machine in busybox's convention (USR1 halt, USR2 poweroff,
 * TERM reboot; PWR poweroff; INT is Ctrl-Alt-Del), each leading to shutdown_request(). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "supervise.h"

static struct watch sig_watch;

static const struct {
	int sig;
	enum power_action action;
	const char *why;
} sigmap[] = {
	{ SIGUSR1, PA_HALT, "SIGUSR1 (halt)" },
	{ SIGUSR2, PA_POWEROFF, "SIGUSR2 (poweroff)" },
	{ SIGTERM, PA_REBOOT, "SIGTERM (reboot)" },
	{ SIGPWR, PA_POWEROFF, "SIGPWR (power failure)" },
	{ SIGINT, PA_REBOOT, "Ctrl-Alt-Del" },
};

static void on_signal(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			reap_all();
			continue;
		}
		for (size_t i = 0; i < sizeof sigmap / sizeof sigmap[0]; i++)
			if ((int)si.ssi_signo == sigmap[i].sig) {
				char why[96];
				snprintf(why, sizeof why, "%s from pid %u", sigmap[i].why, si.ssi_pid);
				shutdown_request(sigmap[i].action, why);
			}
	}
}

int signals_setup(void)
{
	sigset_t all;
	sigfillset(&all);
	int fd = signalfd(-1, &all, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		err("signals: signalfd: %s", strerror(errno));
		return -errno;
	}
	watch_add(&sig_watch, fd, POLLIN, on_signal, NULL);
	return 0;
}
