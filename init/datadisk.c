/* The persistent disk: the filesystem labelled DOCKER (od.disk.label), found with libblkid and
 * mounted with libmount on /var/lib/docker. Anything wrong: tmpfs, a warning, and the disk left
 * exactly as it was. Formatting only on request, and only a disk that holds nothing at all. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cmdline.h"
#include "disklabel.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "supervise.h"
#include "uevent.h"

#define TARGET "/var/lib/docker"
#define FULL_PCT 90             /* above this, the console says how full the disk is */

static char *find_label(const char *label)
{
	return disk_find_label("/sys/class/block", "/dev", label);
}

static char *find_node(const char *path)
{
	return access(path, F_OK) == 0 ? strdup(path) : NULL;
}

/* The disk's driver may still be loading in the background (modules_start): wait for it. */
static char *wait_block(char *(*look)(const char *), const char *arg)
{
	return wait_device("block", look, arg, cfg->disk_wait_ms);
}

static int mount_tmpfs(void)
{
	if (mount("docker", TARGET, "tmpfs", 0, "mode=0711") < 0) {
		err("disk: tmpfs on " TARGET ": %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* mkfs.ext4 only when asked, on a device that holds nothing at all (disk_is_blank). */
static int format_if_asked(void)
{
	const char *dev = cfg->disk_format;
	if (!dev[0])
		return 0;
	char *there = wait_block(find_node, dev);
	free(there);
	int zero = disk_is_blank(dev);
	if (zero < 0) {
		err("disk: od.disk.format=%s: %s; not formatting", dev, strerror(-zero));
		return zero;
	}
	if (!zero) {
		err("disk: od.disk.format=%s: it is not blank (data, a signature or a partition table at its start or end); not formatting", dev);
		return -EEXIST;
	}
	static struct child mkfs = { .name = "mke2fs" };        /* registered for good: never on the stack */
	char *argv[] = { "/usr/sbin/mke2fs", "-q", "-t", "ext4", "-L", (char *)cfg->disk_label, (char *)dev, NULL };
	if (spawn(&mkfs, argv, NULL) < 0)
		return -ECHILD;
	/* Before the loop: this is the one wait for a pid that is not the reaper's, on our own child. */
	int st;
	pid_t pid = mkfs.pid;
	mkfs.pid = 0;           /* reaped here: a later pid of the same number is not mke2fs */
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		err("disk: mkfs.ext4 -L %s %s failed (status %d)", cfg->disk_label, dev, st);
		return -EIO;
	}
	info("disk: formatted %s as ext4 with label %s", dev, cfg->disk_label);
	return 0;
}

/* A disk nearly full is why pulls, builds and commits will fail: said at boot, before they do. */
static void say_fullness(void)
{
	struct statvfs v;
	if (statvfs(TARGET, &v) < 0 || !v.f_blocks)
		return;
	/* As df counts: used against what non-root could use; root's reserve is the last of it. */
	unsigned long long used = v.f_blocks - v.f_bfree, avail = v.f_bavail, total = used + avail;
	int pct = total ? (int)((used * 100 + total - 1) / total) : 100;
	if (pct > FULL_PCT)
		warn("disk: " TARGET " is %d %% full (%llu MiB free of %llu MiB); remove images, containers or volumes "
		     "from dom0 (docker system df, docker system prune) before it runs out", pct,
		     (unsigned long long)v.f_bavail * v.f_frsize >> 20, (unsigned long long)v.f_blocks * v.f_frsize >> 20);
}

int datadisk_setup(void)
{
	int64_t t0 = now_ms();
	mkdirs(TARGET, 0711);
	format_if_asked();
	char *dev = wait_block(find_label, cfg->disk_label);
	/* Loading in the background (modules_start): wait for it here rather than let the mount
	 * ask the kernel, which would start another modprobe to wait for it. */
	if (dev)
		modules_load("ext4");
	if (!dev) {
		warn("disk: no filesystem labelled %s after %d ms; /var/lib/docker is a tmpfs: images and containers will be LOST at shutdown",
		     cfg->disk_label, cfg->disk_wait_ms);
		return mount_tmpfs();
	}
	/* The engine keeps overlay2 layers, xattrs and owners there: a filesystem that has them, or
	 * none (a FAT stick that happens to be labelled DOCKER is not written to). */
	static const char *const engine_fs[] = { "ext4", "ext3", "ext2", "xfs", "btrfs" };
	char type[32] = "";
	size_t i = 0;
	if (disk_type_of(dev, type, sizeof type) == 0)
		for (; i < sizeof engine_fs / sizeof engine_fs[0] && strcmp(type, engine_fs[i]); i++)
			;
	if (*type && i == sizeof engine_fs / sizeof engine_fs[0]) {
		err("disk: %s (LABEL=%s) is %s, which cannot hold the engine's data (ext4, xfs or btrfs); it is left "
		    "untouched, /var/lib/docker is a tmpfs: state will be LOST", dev, cfg->disk_label, type);
		free(dev);
		return mount_tmpfs();
	}
	struct libmnt_context *mc = mnt_new_context();
	int rc = -ENOMEM;
	if (mc) {
		mnt_context_set_source(mc, dev);
		mnt_context_set_target(mc, TARGET);
		mnt_context_set_options(mc, cfg->disk_opts);
		/* No /etc/fstab nor mtab here; libmount must not look for them. */
		mnt_context_disable_helpers(mc, 1);
		mnt_context_disable_mtab(mc, 1);
		rc = mnt_context_mount(mc);
	}
	if (rc == 0 && mnt_context_get_status(mc) == 1) {
		const char *type = mnt_context_get_fstype(mc);
		info("disk: %s (LABEL=%s, %s) mounted on " TARGET " with '%s' in %lld ms", dev, cfg->disk_label,
		     type ? type : "?", cfg->disk_opts, (long long)(now_ms() - t0));
		say_fullness();
		mnt_free_context(mc);
		free(dev);
		return 0;
	}
	char msg[256] = "";
	int serr = 0;
	if (mc) {
		mnt_context_get_excode(mc, rc, msg, sizeof msg);
		if (mnt_context_syscall_called(mc))
			serr = mnt_context_get_syscall_errno(mc);
	}
	/* libmount's text alone can be "No error information"; the kernel's errno says more. */
	err("disk: %s (LABEL=%s) failed to mount: %s%s%s (the kernel log says why); it is left untouched, "
	    "/var/lib/docker is a tmpfs: state will be LOST", dev, cfg->disk_label, msg[0] ? msg : strerror(-rc),
	    serr ? ": " : "", serr ? strerror(serr) : "");
	mnt_free_context(mc);
	free(dev);
	return mount_tmpfs();
}
