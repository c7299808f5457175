/* Children of PID 1: the one spawn() helper, the one reaper, and the registry that hands each
 * exited pid to the part that owns it. Everything else that dies here is an orphan: reaped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "supervise.h"
#include "log.h"

static struct child *children;
static unsigned long orphans;
static int childless;

char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "TERM=linux", NULL,
};

static void child_setup(const struct spawn_opts *o)
{
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	/* Undo what PID 1 changed: the blocked mask and (on exec, handlers reset anyway) dispositions. */
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (o && o->oom_score_adj) {
		int f = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
		if (f >= 0) {
			(void)!write(f, o->oom_score_adj, strlen(o->oom_score_adj));
			close(f);
		}
	}
	int in = -1, out = -1;
	if (o && o->tty) {
		in = open(o->tty, O_RDWR | O_NOCTTY);
		if (in >= 0)
			ioctl(in, TIOCSCTTY, 1);
		out = in;
	} else {
		in = open("/dev/null", O_RDWR);
		out = o && o->out_fd >= 0 ? o->out_fd : in;
	}
	if (in >= 0) {
		dup2(in, 0);
		dup2(out, 1);
		dup2(out, 2);
	}
	/* close_range is 5.9+; the kernel is newer, but keep a fallback for older hosts in tests. */
	if (syscall(436 /* SYS_close_range */, 3U, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
}

/* The registry keeps each struct child for good, so one on the stack would leave the reaper
 * walking dead memory: refused. A stack is contiguous and near where we are now. */
static int on_stack(const void *p)
{
	char here;
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)&here;
	return (a > b ? a - b : b - a) < (1u << 20);
}

static int refuse(const struct child *c)
{
	if (!on_stack(c))
		return 0;
	err("spawn %s: its struct child is on the stack, but the registry keeps it for good; not started", c->name);
	return -EINVAL;
}

static void enlist(struct child *c, pid_t pid)
{
	c->pid = pid;
	/* Register once; a restarted child keeps its place. A registered child must outlive its
	 * registration: the reaper walks this list for good (so never one on the stack). */
	struct child *p;
	for (p = children; p && p != c; p = p->next)
		;
	if (!p) {
		c->next = children;
		children = c;
	}
}

/* The fork both spawns share: 0 in the child, the pid in PID 1, or -errno (logged). */
static pid_t fork_child(const struct child *c)
{
	if (refuse(c))
		return -EINVAL;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		err("spawn %s: fork: %s", c->name, strerror(e));
		return -e;
	}
	return pid;
}

int spawn(struct child *c, char *const argv[], const struct spawn_opts *o)
{
	pid_t pid = fork_child(c);
	if (pid < 0)
		return pid;
	if (pid == 0) {
		child_setup(o);
		execve(argv[0], argv, o && o->envp ? o->envp : default_env);
		_exit(127);
	}
	enlist(c, pid);
	return 0;
}

int spawn_fn(struct child *c, int (*fn)(void *), void *arg)
{
	pid_t pid = fork_child(c);
	if (pid < 0)
		return pid;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		_exit(fn(arg) & 0xff);
	}
	enlist(c, pid);
	return 0;
}

void reap_all(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c;
		for (c = children; c && c->pid != pid; c = c->next)
			;
		if (!c) {
			orphans++;
			continue;
		}
		c->pid = 0;
		if (c->on_exit)
			c->on_exit(c, status);
	}
	/* Every user process descends from PID 1, so no child means no process left at all
	 * (kill(-1, 0) cannot tell: it counts the kernel's threads too). */
	childless = pid < 0 && errno == ECHILD;
}

unsigned long reaped_orphans(void) { return orphans; }

int restart_delay(int *failures, int64_t ran_ms)
{
	*failures = ran_ms > RESTART_STABLE_MS ? 1 : *failures + 1;
	int delay = 500;
	for (int i = 1; i < *failures && delay < RESTART_MAX_MS; i++)
		delay *= 2;
	return delay > RESTART_MAX_MS ? RESTART_MAX_MS : delay;
}
int no_children_left(void) { return childless; }
