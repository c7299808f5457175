/* The engine image: dockerd, containerd, runc, the docker CLI and its plugins, the glibc programs
 * and the bundled image archives are one compressed squashfs that is mounted, never unpacked:
 * a read-only disk found by its serial (./kvm), or a file in the initramfs (initrd-full.img) that
 * the root switch leaves where the kernel put it and hands over as an open fd (ONLYDOCKER_ENGINE_FD). */
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
#include "disklabel.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "uevent.h"

#define ENGINE_DISK_WAIT_MS 15000   /* virtio_blk loads in the background coldplug */

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

/* ./kvm's way: the same squashfs as a read-only virtio disk, found by its serial. Its pages are
 * then page cache the kernel can drop, not 100 MiB of RAM held from the kernel's unpack on, and
 * the kernel unpacks only the small initramfs (the 256 MiB floor, and seconds under TCG). */
static char *find_engine_disk(const char *serial)
{
	return disk_find_serial("/sys/class/block", "/dev", serial);
}

static int mount_disk(int64_t t0)
{
	char *dev = wait_device("block", find_engine_disk, ENGINEFS_SERIAL, ENGINE_DISK_WAIT_MS);
	if (!dev) {
		err("engine: no engine image: neither %s in the initramfs nor a disk with serial %s within %d ms "
		    "(./kvm attaches build/engine.img; or boot build/initrd-full.img, which holds it)",
		    ENGINEFS_IMAGE, ENGINEFS_SERIAL, ENGINE_DISK_WAIT_MS);
		return -ENOENT;
	}
	mkdirs(ENGINEFS_DIR, 0755);
	int rc = 0;
	if (mount(dev, ENGINEFS_DIR, "squashfs", MS_RDONLY | MS_NODEV | MS_NOSUID, NULL) < 0) {
		rc = -errno;
		err("engine: %s (serial %s) on " ENGINEFS_DIR ": %s (the kernel log says more)", dev, ENGINEFS_SERIAL,
		    strerror(-rc));
	} else {
		info("engine: %s (serial %s, squashfs) mounted on " ENGINEFS_DIR " in %lld ms", dev, ENGINEFS_SERIAL,
		     (long long)(now_ms() - t0));
	}
	free(dev);
	return rc;
}

int enginefs_mount(void)
{
	int64_t t0 = now_ms();
	int fd = engine_fd >= 0 ? engine_fd : open(ENGINEFS_IMAGE, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char dev[64] = "a loop device";

	if (fd < 0 && errno == ENOENT)
		return mount_disk(t0);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err("engine: %s: %s", ENGINEFS_IMAGE, strerror(errno));
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
