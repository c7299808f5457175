/* The engine image: dockerd, containerd, runc and the bundled image archives are one compressed
 * squashfs that is mounted, not unpacked. The tmpfs root holds only its compressed bytes, and what
 * the engine reads from it is page cache that the kernel may drop when memory runs short. */
#define _GNU_SOURCE
#include <errno.h>
#include <libmount/libmount.h>
#include <string.h>
#include <sys/stat.h>
#include "init.h"

int enginefs_mount(void)
{
	int64_t t0 = now_ms();
	struct stat st;

	if (stat(ENGINEFS_IMAGE, &st) < 0) {
		err("engine: %s: %s (the initramfs was built without the engine image)", ENGINEFS_IMAGE, strerror(errno));
		return -errno;
	}
	mkdirs(ENGINEFS_DIR, 0755);
	struct libmnt_context *mc = mnt_new_context();
	if (!mc) {
		err("engine: mounting %s: %s", ENGINEFS_IMAGE, strerror(ENOMEM));
		return -ENOMEM;
	}
	mnt_context_set_source(mc, ENGINEFS_IMAGE);
	mnt_context_set_target(mc, ENGINEFS_DIR);
	mnt_context_set_fstype(mc, "squashfs");
	/* libmount sets up the loop device (read-only, autoclear: it goes when the mount does). */
	mnt_context_set_options(mc, "loop,ro,nodev,nosuid");
	mnt_context_disable_helpers(mc, 1);
	mnt_context_disable_mtab(mc, 1);
	int rc = mnt_context_mount(mc);
	if (rc == 0 && mnt_context_get_status(mc) == 1) {
		info("engine: %s (%lld MiB squashfs) mounted on " ENGINEFS_DIR " in %lld ms", ENGINEFS_IMAGE,
		     (long long)(st.st_size >> 20), (long long)(now_ms() - t0));
		mnt_free_context(mc);
		return 0;
	}
	char msg[256] = "";
	int serr = mnt_context_syscall_called(mc) ? mnt_context_get_syscall_errno(mc) : 0;
	mnt_context_get_excode(mc, rc, msg, sizeof msg);
	err("engine: mounting %s on " ENGINEFS_DIR ": %s%s%s (are the loop and squashfs modules there?)",
	    ENGINEFS_IMAGE, msg[0] ? msg : strerror(-rc), serr ? ": " : "", serr ? strerror(serr) : "");
	mnt_free_context(mc);
	return serr ? -serr : -EIO;
}
