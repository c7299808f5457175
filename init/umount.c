/* The last step before reboot(2): swap off, sync, and every mount undone in reverse order, read
 * from the kernel's own table with libmount; what will not go is remounted read-only, so the
 * data disk's ext4 journal is clean. Lazy unmount only as a last resort. */
#define _GNU_SOURCE
#include <errno.h>
#include <libmount/libmount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/swap.h>
#include <unistd.h>
#include "fileio.h"
#include "init.h"

static void swap_off(void)
{
	char buf[4096];
	if (read_file("/proc/swaps", buf, sizeof buf) <= 0)
		return;
	char *save, *line = strtok_r(buf, "\n", &save);       /* the header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		line[strcspn(line, " \t")] = 0;
		if (swapoff(line) < 0)
			warn("shutdown: swapoff %s: %s", line, strerror(errno));
	}
}

/* Returns how many mounts backed by a block device could not be made clean. */
static int unmount_pass(int final)
{
	struct libmnt_table *tb = mnt_new_table_from_file("/proc/self/mountinfo");
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_BACKWARD);
	struct libmnt_fs *fs;
	int unclean = 0;

	if (!tb || !it) {
		err("shutdown: cannot read /proc/self/mountinfo");
		mnt_free_table(tb);
		mnt_free_iter(it);
		return -1;
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
			if (is_block)
				info("shutdown: %s (%s) unmounted cleanly", target, src);
			continue;
		}
		if (errno == EINVAL || errno == ENOENT)
			continue;       /* gone with its parent already */
		if (!final)
			continue;
		if (is_block) {
			if (mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0) {
				warn("shutdown: %s (%s) busy, remounted read-only: its journal is clean", target, src);
			} else {
				err("shutdown: %s (%s) could neither be unmounted nor made read-only: %s", target, src, strerror(errno));
				unclean++;
			}
		} else if (umount2(target, MNT_DETACH) < 0) {
			debug("shutdown: %s: %s", target, strerror(errno));
		}
	}
	mnt_free_iter(it);
	mnt_free_table(tb);
	return unclean;
}

void unmount_all(void)
{
	int64_t t0 = now_ms();
	swap_off();
	sync();
	/* Nested mounts (overlays inside /var/lib/docker) come first in reverse order; a second pass
	 * catches what an earlier failure held. */
	unmount_pass(0);
	int unclean = unmount_pass(1);
	sync();
	if (unclean)
		err("shutdown: %d filesystem(s) not clean", unclean);
	info("shutdown: filesystems %s in %lld ms", unclean ? "NOT all clean" : "unmounted, disk clean",
	     (long long)(now_ms() - t0));
}
