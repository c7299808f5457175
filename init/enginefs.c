/* The engine image: dockerd, containerd, runc, the glibc programs and the bundled image archives
 * are one compressed squashfs that is mounted, never unpacked. The root switch leaves it where the
 * kernel put it and hands over an open fd (ONLYDOCKER_ENGINE_FD): no copy at all, no extra memory,
 * and what the engine reads from it is page cache the kernel may drop when memory runs short. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "init.h"

int engine_fd = -1;

/* libmount sets up loop devices from a path only; ours has no path left, so this is
 * LOOP_CONFIGURE by hand (read-only, autoclear: the device goes away with the mount). */
static int loop_attach(int fd, char *dev, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	int rc = -EBUSY;
	for (int tries = 0; tries < 4 && rc == -EBUSY; tries++) {   /* another user may take it first */
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			rc = -errno;
			break;
		}
		snprintf(dev, len, "/dev/loop%d", n);
		int lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			rc = -errno;
			break;
		}
		struct loop_config lc = { .fd = (unsigned)fd };
		lc.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
		snprintf((char *)lc.info.lo_file_name, sizeof lc.info.lo_file_name, "%s", ENGINEFS_IMAGE);
		rc = ioctl(lfd, LOOP_CONFIGURE, &lc) < 0 ? -errno : 0;
		if (rc == 0 && mount(dev, ENGINEFS_DIR, "squashfs", MS_RDONLY | MS_NODEV | MS_NOSUID, NULL) < 0) {
			rc = -errno;
			ioctl(lfd, LOOP_CLR_FD, 0);
		}
		close(lfd);
	}
	close(ctl);
	return rc;
}

int enginefs_mount(void)
{
	int64_t t0 = now_ms();
	int fd = engine_fd >= 0 ? engine_fd : open(ENGINEFS_IMAGE, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char dev[64] = "a loop device";

	if (fd < 0 || fstat(fd, &st) < 0) {
		err("engine: %s: %s (was the initramfs built without the engine image?)", ENGINEFS_IMAGE, strerror(errno));
		return -errno;
	}
	mkdirs(ENGINEFS_DIR, 0755);
	int rc = loop_attach(fd, dev, sizeof dev);
	close(fd);              /* the loop device holds its own reference */
	engine_fd = -1;
	if (rc < 0) {
		err("engine: %s on " ENGINEFS_DIR " (%s): %s (the kernel log says more)", ENGINEFS_IMAGE, dev, strerror(-rc));
		return rc;
	}
	info("engine: %s (%lld MiB squashfs, %s) mounted on " ENGINEFS_DIR " in %lld ms", ENGINEFS_IMAGE,
	     (long long)(st.st_size >> 20), dev, (long long)(now_ms() - t0));
	return 0;
}
