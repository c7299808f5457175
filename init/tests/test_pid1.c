/* The reaper, the signal handling and shutdown's final phase, run as PID 1 of a fresh PID and mount
 * namespace (root needed), with reboot(2) replaced by a recorder and mount tables of the test's
 * own: orphans by the thousand, a supervised child restarted once per exit, each signal leading to
 * its action, and the final phase ending every process and unmounting before it reboots. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "final.h"
#include "init.h"
#include "loop.h"
#include "shutdown.h"
#include "supervise.h"

static int result_fd = -1;
static struct timer check;

static void report(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	(void)!write(result_fd, buf, n);
	_exit(0);
}

/* Runs scenario() as PID 1 of a new PID namespace; returns its one-line report (or ""). The pid of
 * that init, as the test sees it, goes to *init_pid for sending it signals. */
static void run_as_pid1(void (*scenario)(void), void (*from_outside)(pid_t), char *out, size_t n)
{
	int p[2], q[2], ready[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(pipe(ready), 0);
	pid_t mid = fork();
	assert_true(mid >= 0);
	if (mid == 0) {
		/* A mount namespace too, private: what the final phase unmounts is the test's alone. */
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(77);
		pid_t init = fork();
		if (init == 0) {
			result_fd = p[1];
			close(p[0]);
			shutdown_setup(NULL, 0, 10000, NULL);
			shutdown_plan.mountinfo = shutdown_plan.swaps = "/dev/null";
			sigset_t all;
			sigfillset(&all);
			sigprocmask(SIG_BLOCK, &all, NULL);
			(void)!write(ready[1], "r", 1);   /* signals are blocked: the test may send them */
			if (signals_setup() < 0)
				_exit(2);
			scenario();
			loop_run();
		}
		char r;
		if (read(ready[0], &r, 1) != 1)
			_exit(3);
		(void)!write(q[1], &init, sizeof init);
		int st;
		waitpid(init, &st, 0);
		_exit(0);
	}
	close(p[1]);
	close(q[1]);
	close(ready[0]);
	close(ready[1]);
	pid_t init = 0;
	assert_int_equal(read(q[0], &init, sizeof init), (ssize_t)sizeof init);
	close(q[0]);
	if (from_outside)
		from_outside(init);
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	out[0] = 0;
	/* Generous: 3000 forks of an ASan build on a loaded two-core machine took over 20 s. */
	if (poll(&pfd, 1, 120000) == 1) {
		ssize_t k = read(p[0], out, n - 1);
		out[k > 0 ? k : 0] = 0;
	}
	close(p[0]);
	kill(init, SIGKILL);
	int st;
	waitpid(mid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		skip();       /* no CAP_SYS_ADMIN here */
}

/* ---- thousands of orphans ---- */
#define ORPHANS 3000
static void orphans_check(void *arg)
{
	(void)arg;
	if (reaped_orphans() >= ORPHANS + 1 && kill(-1, 0) < 0 && errno == ESRCH)
		report("reaped %lu", reaped_orphans());
	timer_arm(&check, 20, orphans_check, NULL);
}

static void orphans_scenario(void)
{
	pid_t mid = fork();
	if (mid == 0) {
		for (int i = 0; i < ORPHANS; i++)
			if (fork() == 0)
				_exit(0);
		_exit(0);       /* its children are now PID 1's orphans */
	}
	timer_arm(&check, 20, orphans_check, NULL);
}

static void orphans(void **st)
{
	(void)st;
	char out[256];
	run_as_pid1(orphans_scenario, NULL, out, sizeof out);
	assert_string_equal(out, "reaped 3001");
}

/* ---- a supervised child, restarted exactly once per exit, among orphans ---- */
static struct child sup = { .name = "true" };
static int starts, exits;
static char *const true_argv[] = { "/bin/true", NULL };

static void sup_exit(struct child *c, int status)
{
	(void)status;
	exits++;
	if (exits < 5) {
		if (spawn(c, true_argv, NULL) == 0)
			starts++;
	} else {
		report("starts %d exits %d", starts, exits);
	}
}

static void supervised_scenario(void)
{
	sup.on_exit = sup_exit;
	for (int i = 0; i < 200; i++)
		if (fork() == 0)
			_exit(0);
	if (spawn(&sup, true_argv, NULL) == 0)
		starts++;
}

static void supervised_once_per_exit(void **st)
{
	(void)st;
	char out[256];
	run_as_pid1(supervised_scenario, NULL, out, sizeof out);
	assert_string_equal(out, "starts 5 exits 5");
}

/* ---- each signal leads to its action, through the whole shutdown path ---- */
static int record_reboot(int cmd)
{
	int left = !(kill(-1, 0) < 0 && errno == ESRCH);
	report("cmd %x left %d", (unsigned)cmd, left);
	return 0;
}
static int the_signal;

static void signal_scenario(void)
{
	shutdown_plan.reboot = record_reboot;
	/* A process that ignores SIGTERM must not survive the path. */
	if (fork() == 0) {
		sigset_t none;
		sigemptyset(&none);
		signal(SIGTERM, SIG_IGN);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (;;)
			pause();
	}
}

static void send_signal(pid_t init) { kill(init, the_signal); }

static void check_signal(int sig, int cmd)
{
	char out[256], want[64];
	the_signal = sig;
	run_as_pid1(signal_scenario, send_signal, out, sizeof out);
	snprintf(want, sizeof want, "cmd %x left 0", (unsigned)cmd);
	assert_string_equal(out, want);
}

static void sigusr1_halts(void **st) { (void)st; check_signal(SIGUSR1, RB_HALT_SYSTEM); }
static void sigusr2_powers_off(void **st) { (void)st; check_signal(SIGUSR2, RB_POWER_OFF); }
static void sigterm_reboots(void **st) { (void)st; check_signal(SIGTERM, RB_AUTOBOOT); }
static void sigpwr_powers_off(void **st) { (void)st; check_signal(SIGPWR, RB_POWER_OFF); }
static void sigint_reboots(void **st) { (void)st; check_signal(SIGINT, RB_AUTOBOOT); }

/* ---- a struct child on the stack is refused: the registry keeps it for good ---- */
static void stack_child_scenario(void)
{
	struct child on_stack = { .name = "on the stack" };
	static struct child kept = { .name = "static" };
	int a = spawn(&on_stack, true_argv, NULL), b = spawn(&kept, true_argv, NULL);
	report("stack %d static %d", a, b);
}

static void a_child_on_the_stack_is_refused(void **st)
{
	(void)st;
	char out[256];
	run_as_pid1(stack_child_scenario, NULL, out, sizeof out);
	assert_string_equal(out, "stack -22 static 0");
}

/* ---- the end when the machine cannot power off ---- */
static int failing_reboot(int cmd) { (void)cmd; errno = EINVAL; return -1; }
static void halted(int code) { report("halted (%d), PID 1 alive", code); }

static void no_acpi_scenario(void)
{
	shutdown_plan.reboot = failing_reboot;
	shutdown_halted = halted;
}

/* reboot(2) runs in a child: when it returns (no ACPI power-off), PID 1 must still be there. */
static void a_poweroff_that_fails_leaves_pid1_halted(void **st)
{
	(void)st;
	char out[256];
	the_signal = SIGUSR2;
	run_as_pid1(no_acpi_scenario, send_signal, out, sizeof out);
	assert_string_equal(out, "halted (22), PID 1 alive");
}

/* ---- the final phase alone, driven straight: its plan is all it reads ---- */
static char dir[64], table[96];

/* How many mounts of /proc/self/mountinfo lie under dir. */
static int mounted_here(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, dir) != NULL;
	if (f)
		fclose(f);
	return n;
}

static int recorded_reboot(int cmd)
{
	int left = !(kill(-1, 0) < 0 && errno == ESRCH);
	report("cmd %x left %d mounted %d", (unsigned)cmd, left, mounted_here());
	return 0;
}

/* dir/a, dir/a/b and dir/a/b/c, each a tmpfs, and a mount table listing them (the lines of
 * /proc/self/mountinfo under dir, so the real format), in table. */
static void nested_mounts(void)
{
	char p[128];
	snprintf(dir, sizeof dir, "/tmp/od-final-%d", (int)getppid());
	mkdir(dir, 0700);
	snprintf(p, sizeof p, "%s/a", dir);
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		report("mkdir %s: %s", p, strerror(errno));
	if (mount("t", p, "tmpfs", 0, NULL) < 0)
		report("mount %s: %s", p, strerror(errno));
	strcat(p, "/b");
	mkdir(p, 0700);
	mount("t", p, "tmpfs", 0, NULL);
	strcat(p, "/c");
	mkdir(p, 0700);
	mount("t", p, "tmpfs", 0, NULL);
	snprintf(table, sizeof table, "%s.mountinfo", dir);
	FILE *in = fopen("/proc/self/mountinfo", "re"), *out = fopen(table, "we");
	char line[1024];
	while (in && out && fgets(line, sizeof line, in))
		if (strstr(line, dir))
			fputs(line, out);
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (mounted_here() != 3)
		report("set up %d mounts, not 3", mounted_here());
}

/* A process that dies of SIGTERM only once continued, one that ignores SIGTERM but not SIGHUP
 * (a shell), and one that ignores both, with its working directory on the innermost mount. */
static void stubborn_processes(void)
{
	static const int ignored[][2] = { { 0, 0 }, { SIGTERM, 0 }, { SIGTERM, SIGHUP } };
	for (int i = 0; i < 3; i++)
		if (fork() == 0) {
			sigset_t none;
			sigemptyset(&none);
			for (int j = 0; j < 2; j++)
				if (ignored[i][j])
					signal(ignored[i][j], SIG_IGN);
			sigprocmask(SIG_SETMASK, &none, NULL);
			char p[128];
			snprintf(p, sizeof p, "%s/a/b/c", dir);
			if (i == 2 && chdir(p) < 0)
				_exit(1);
			if (i == 0)
				raise(SIGSTOP);
			for (;;)
				pause();
		}
}

static struct final_plan plan = { .action = PA_REBOOT, .grace_ms = 300, .unmount_ms = 5000, .swaps = "/dev/null" };

static void final_scenario(void)
{
	nested_mounts();
	stubborn_processes();
	plan.mountinfo = table;
	plan.reboot = recorded_reboot;
	int code = final_phase(&plan);
	report("final_phase returned %d", code);
}

/* Every process ended (the stubborn one killed), every mount of the table undone innermost first,
 * and only then reboot(2) with the plan's command. */
static void the_final_phase_ends_everything_then_unmounts_then_reboots(void **st)
{
	(void)st;
	char out[256];
	run_as_pid1(final_scenario, NULL, out, sizeof out);
	assert_string_equal(out, "cmd 1234567 left 0 mounted 0");
}

static void failing_final_scenario(void)
{
	plan.mountinfo = "/dev/null";
	plan.action = PA_POWEROFF;
	plan.reboot = failing_reboot;
	report("final_phase returned %d", final_phase(&plan));
}

static void a_failed_reboot_returns_its_errno(void **st)
{
	(void)st;
	char out[256];
	run_as_pid1(failing_final_scenario, NULL, out, sizeof out);
	assert_string_equal(out, "final_phase returned 22");
}

/* A mount table that never comes (a FIFO nobody writes: its open blocks, as a sync or an umount
 * on a dead disk would): the unmount child is given up on, and the reboot comes with it still
 * there (left 1). */
static void stuck_disk_scenario(void)
{
	snprintf(table, sizeof table, "/tmp/od-stuck-%d", (int)getppid());
	unlink(table);
	if (mkfifo(table, 0600) < 0)
		report("mkfifo: %s", strerror(errno));
	snprintf(dir, sizeof dir, "/nothing-mounted-here");
	plan.mountinfo = table;
	plan.unmount_ms = 500;
	plan.reboot = recorded_reboot;
	final_phase(&plan);
}

static void a_stuck_unmount_is_given_up_on(void **st)
{
	(void)st;
	char out[256];
	run_as_pid1(stuck_disk_scenario, NULL, out, sizeof out);
	assert_string_equal(out, "cmd 1234567 left 1 mounted 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(orphans), cmocka_unit_test(supervised_once_per_exit),
		cmocka_unit_test(sigusr1_halts), cmocka_unit_test(sigusr2_powers_off),
		cmocka_unit_test(sigterm_reboots), cmocka_unit_test(sigpwr_powers_off),
		cmocka_unit_test(sigint_reboots), cmocka_unit_test(a_poweroff_that_fails_leaves_pid1_halted),
		cmocka_unit_test(a_stuck_unmount_is_given_up_on), cmocka_unit_test(a_child_on_the_stack_is_refused),
		cmocka_unit_test(the_final_phase_ends_everything_then_unmounts_then_reboots),
		cmocka_unit_test(a_failed_reboot_returns_its_errno),
	};
	return cmocka_run_group_tests_name("pid1", tests, NULL, NULL);
}
