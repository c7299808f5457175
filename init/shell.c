/* The root debug shell that the bare `console` word asks for: busybox sh on the real console tty,
 * in the root namespaces, respawned when it exits (with a backoff if it cannot start at all). */
#define _GNU_SOURCE
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "supervise.h"

static struct child shell = { .name = "console shell" };
static struct timer respawn;
static int64_t started;
static int quick_exits;

const char *console_tty(void)
{
	static char dev[64];
	char active[256];
	if (read_file("/sys/class/tty/console/active", active, sizeof active) <= 0)
		return "/dev/console";
	/* The last entry is the one /dev/console writes to; tty0 means the foreground VT. */
	char *last = strrchr(active, ' ');
	last = last ? last + 1 : active;
	snprintf(dev, sizeof dev, "/dev/%.50s", strcmp(last, "tty0") ? last : "tty1");
	return dev;
}

static void start(void *unused);

static void on_exit_shell(struct child *c, int status)
{
	(void)c;
	if (shutdown_in_progress())
		return;
	int quick = now_ms() - started < 2000;
	quick_exits = quick ? quick_exits + 1 : 0;
	int delay = quick_exits > 3 ? 5000 : 0;
	info("console: shell exited (status %d); %s", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	     delay ? "it keeps failing: retrying in 5 s" : "starting a new one");
	timer_arm(&respawn, delay, start, NULL);
}

static void start(void *unused)
{
	(void)unused;
	static char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=linux",
		"PS1=[onlydocker root \\w]# ", "ENV=", NULL,
	};
	char *const argv[] = { "/bin/sh", NULL };
	struct spawn_opts o = { .tty = console_tty(), .out_fd = -1, .envp = env, .oom_score_adj = "-500" };
	shell.on_exit = on_exit_shell;
	started = now_ms();
	if (spawn(&shell, argv, &o) == 0)
		info("console: root debug shell on %s (pid %d)", o.tty, shell.pid);
	else
		timer_arm(&respawn, 5000, start, NULL);
}

void console_shell_start(void)
{
	if (!shell.pid)
		start(NULL);
}
