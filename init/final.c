/* Shutdown's final phase, straight-line as systemd's shutdown and busybox's halt are: SIGTERM (and
 * SIGCONT, SIGHUP) to every process, a bounded wait, SIGKILL, a bounded wait, the last words to
 * the host, swap off, sync, the unmounts in a child given up on after a bound, and reboot(2) in a
 * child, since for power-off and halt the kernel ends its caller. The waits are for SIGCHLD. */
#define _GNU_SOURCE
#include <errno.h>
#include <libmount/libmount.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "final.h"
#include "init.h"
#include "log.h"
#include "supervise.h"

#define ACPI_DIR "/sys/firmware/acpi"
#define REBOOT_WAIT_MS 30000    /* reboot(2) that neither ends the machine nor returns */
#define MAX_PASSES 16

const char *power_action_name(enum power_action a)
{
	return a == PA_HALT ? "halt" : a == PA_REBOOT ? "reboot" : "poweroff";
}

static void swap_off(const char *swaps)
{
	FILE *f = fopen(swaps, "re");
	char line[512];
	if (!f)
		return;
	if (fgets(line, sizeof line, f))                /* the header */
		while (fgets(line, sizeof line, f)) {
			line[strcspn(line, " \t\n")] = 0;
			if (line[0] && swapoff(line) < 0)
				warn("shutdown: swapoff %s: %s", line, strerror(errno));
		}
	fclose(f);
}

/* One pass, last mount first. Returns how many it unmounted; *unclean counts the block-backed
 * mounts left as they were (in the final pass: neither unmounted nor made read-only). */
static int unmount_pass(const char *mountinfo, int final, int *unclean)
{
	struct libmnt_table *tb = mnt_new_table_from_file(mountinfo);
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_BACKWARD);
	struct libmnt_fs *fs;
	int done = 0;

	*unclean = 0;
	if (!tb || !it) {
		err("shutdown: cannot read %s", mountinfo);
		mnt_free_table(tb);
		mnt_free_iter(it);
		*unclean = -1;
		return 0;
	}
	while (mnt_table_next_fs(tb, it, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs), *src = mnt_fs_get_source(fs);
		int is_block = src && !strncmp(src, "/dev/", 5);
		if (!target || !strcmp(target, "/"))
			continue;
		/* /dev, /proc and /sys hold nothing to lose and our console: leave them. */
		if (!strcmp(target, "/dev") || !strcmp(target, "/proc") || !strcmp(target, "/sys"))
			continue;
		if (umount2(target, 0) == 0) {
			done++;
			if (is_block)
				info("shutdown: %s (%s) unmounted cleanly", target, src);
			continue;
		}
		if (errno == EINVAL || errno == ENOENT)
			continue;       /* gone with its parent already */
		if (!final) {
			*unclean += is_block;
			continue;
		}
		if (is_block) {
			if (mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
				warn("shutdown: %s (%s) busy, remounted read-only: its journal is clean", target, src);
			} else {
				err("shutdown: %s (%s) could neither be unmounted nor made read-only: %s", target, src, strerror(errno));
				++*unclean;
			}
		} else if (umount2(target, MNT_DETACH) < 0) {
			debug("shutdown: %s: %s", target, strerror(errno));
		}
	}
	mnt_free_iter(it);
	mnt_free_table(tb);
	return done;
}

int unmount_all(const char *mountinfo, const char *swaps)
{
	int64_t t0 = now_ms();
	int unclean = 0, passes = 0;
	swap_off(swaps);
	sync();
	/* A mount held by one over it (overlays inside /var/lib/docker) goes in a later pass: go on
	 * while a pass makes progress, then undo what is left by any means. */
	while (unmount_pass(mountinfo, 0, &unclean) > 0 && ++passes < MAX_PASSES)
		;
	unmount_pass(mountinfo, 1, &unclean);
	sync();
	if (unclean)
		err("shutdown: %d filesystem(s) not clean", unclean);
	info("shutdown: filesystems %s in %lld ms", unclean ? "NOT all clean" : "unmounted, disk clean",
	     (long long)(now_ms() - t0));
	return unclean;
}

static void signal_all(int sig)
{
	if (kill(-1, sig) < 0 && errno != ESRCH)
		warn("shutdown: kill(-1, %s): %s", strsignal(sig), strerror(errno));
}

static int all_gone(void *arg) { (void)arg; return no_children_left(); }
static int child_gone(void *arg) { return ((struct child *)arg)->pid == 0; }

/* Reaps (through the one reaper, so owners hear of their children) until done(arg) or ms pass.
 * Returns 0, or -ETIMEDOUT. */
static int wait_for(int (*done)(void *), void *arg, int ms)
{
	int64_t end = now_ms() + ms;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		reap_all();
		log_flush();
		if (done(arg))
			return 0;
		int64_t left = end - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		/* At most a second at a time: SIGCHLD coalesces, the reap above catches what it missed. */
		if (left > 1000)
			left = 1000;
		struct timespec ts = { left / 1000, (left % 1000) * 1000000 };
		sigtimedwait(&chld, NULL, &ts);
	}
}

static const struct final_plan *plan;
static struct child unmounter = { .name = "sync and unmount" }, rebooter = { .name = "reboot(2)" };
static int reboot_status;

static int unmount_child(void *arg) { (void)arg; return unmount_all(plan->mountinfo, plan->swaps) ? 1 : 0; }

static int reboot_child(void *arg)
{
	(void)arg;
	int cmd = plan->action == PA_HALT ? RB_HALT_SYSTEM : plan->action == PA_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF;
	plan->reboot(cmd);
	return errno;
}

static void rebooter_exit(struct child *c, int status) { (void)c; reboot_status = status; }

static void end_processes(void)
{
	int64_t t = now_ms();
	signal_all(SIGTERM);
	/* Stopped processes cannot die of SIGTERM; interactive shells ignore it, but not SIGHUP. */
	signal_all(SIGCONT);
	signal_all(SIGHUP);
	if (wait_for(all_gone, NULL, plan->grace_ms) == 0) {
		info("shutdown: every process exited on SIGTERM in %lld ms", (long long)(now_ms() - t));
		return;
	}
	info("shutdown: grace after SIGTERM over (%d ms), processes remain: SIGKILL", plan->grace_ms);
	signal_all(SIGKILL);
	if (wait_for(all_gone, NULL, plan->grace_ms) == 0)
		info("shutdown: every process killed");
	else
		warn("shutdown: processes survive SIGKILL (stuck in the kernel?); unmounting anyway");
}

int final_phase(const struct final_plan *p)
{
	plan = p;
	end_processes();
	if (p->last_words)
		p->last_words();
	/* In a child PID 1 can give up on: a sync or umount stuck on a dead disk must not hold the end. */
	if (spawn_fn(&unmounter, unmount_child, NULL) < 0)
		unmount_all(p->mountinfo, p->swaps);
	else if (wait_for(child_gone, &unmounter, p->unmount_ms) < 0)
		warn("shutdown: sync and unmounting still not done after %d s; going on without them", p->unmount_ms / 1000);

	const char *name = power_action_name(p->action);
	/* Without ACPI an x86 kernel has no way to power off: it halts instead (Linux 6.12 does so
	 * itself, with its CPUs stopped, so nothing can be said after). Say it while we can. */
	if (p->action == PA_POWEROFF && access(ACPI_DIR, F_OK) != 0)
		warn("shutdown: this machine has no ACPI (no " ACPI_DIR "): the kernel cannot power it off and "
		     "halts instead; everything is stopped and the disks are clean, so switch it off once it has halted");
	info("shutdown: %s after %lld ms in all", name, (long long)(now_ms() - p->requested_ms));
	rebooter.on_exit = rebooter_exit;
	reboot_status = -1;
	int e = spawn_fn(&rebooter, reboot_child, NULL);
	if (e == 0 && wait_for(child_gone, &rebooter, REBOOT_WAIT_MS) < 0)
		e = -ETIMEDOUT;
	int code = e < 0 ? -e : WIFEXITED(reboot_status) ? WEXITSTATUS(reboot_status) : 0;
	if (p->action == PA_HALT && !code)
		info("shutdown: system halted; it is safe to switch the machine off");
	else
		err("shutdown: the machine did not %s (%s); halted instead: everything is stopped and the disks "
		    "are clean, so it is safe to switch it off", name, code ? strerror(code) : "no ACPI power-off?");
	log_flush();
	return code;
}
