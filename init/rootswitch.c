/* Leaving the initramfs: runc's pivot_root fails on the kernel's rootfs, so the files move, one at
 * a time and each from its end in 1 MiB chunks, onto a real tmpfs (the rootfs copy shrinks as the
 * new one grows: memory is never doubled), the tmpfs is moved onto /, and init re-executes there. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>
#include "fileio.h"
#include "init.h"
#include "log.h"

#define NEWROOT "/.newroot"
#define MODULES_DIR "/usr/lib/modules"   /* /lib/modules: /lib is a link into /usr, as on Debian 13 */
#define KEPT_MODULES "/.modules"    /* MODULES_DIR, set aside in rootfs during the move */
#define RAMFS_MAGIC 0x858458f6
#define TMPFS_MAGIC 0x01021994
#define SWITCHED_ENV "ONLYDOCKER_ROOT=tmpfs"

struct move_stats {
	unsigned long files, bytes;
	unsigned long min_free;         /* lowest free RAM seen while moving: the step's peak */
};

static void sample(struct move_stats *s)
{
	struct sysinfo si;
	if (sysinfo(&si) == 0) {
		unsigned long f = si.freeram * si.mem_unit;
		if (!s->min_free || f < s->min_free)
			s->min_free = f;
	}
}

/* Copies a file from its end backwards, shrinking the rootfs copy after each chunk: the engine
 * image is tens of MiB, and copying it whole before unlinking would need that much again at the
 * moment memory is tightest (a 256 MiB machine fails right here otherwise). */
static int copy_data(int from, int to, off_t size, int shrink, struct move_stats *s)
{
	static char buf[1 << 20];
	off_t off = size;

	while (off > 0) {
		off_t at = off > (off_t)sizeof buf ? off - (off_t)sizeof buf : 0;
		size_t want = off - at, done = 0;
		while (done < want) {
			ssize_t n = pread(from, buf + done, want - done, at + done);
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			done += n;
		}
		for (done = 0; done < want;) {
			ssize_t n = pwrite(to, buf + done, want - done, at + done);
			if (n < 0)
				return -errno;
			done += n;
		}
		if (shrink && ftruncate(from, at) < 0)
			return -errno;
		off = at;
		sample(s);
	}
	return 0;
}

/* Moves the content of directory fd src into dst, depth first, unlinking as it goes. */
static int move_tree(int src, int dst, struct move_stats *s)
{
	DIR *d = fdopendir(src);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		struct stat st;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, NEWROOT + 1) || !strcmp(n, KEPT_MODULES + 1))
			continue;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, n, st.st_mode & 07777) < 0 && errno != EEXIST) {
				rc = -errno;
				break;
			}
			int a = openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int b = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (a < 0 || b < 0) {
				rc = -errno;
				if (a >= 0) close(a);
				if (b >= 0) close(b);
				break;
			}
			rc = move_tree(a, b, s);   /* takes a */
			fchown(b, st.st_uid, st.st_gid);
			close(b);
			if (rc < 0)
				break;
			unlinkat(src, n, AT_REMOVEDIR);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			/* /init is running (ETXTBSY): it is small, and copied without shrinking. */
			int shrink = 1, a = openat(src, n, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
			if (a < 0 && errno == ETXTBSY) {
				shrink = 0;
				a = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			}
			int b = openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
			if (a < 0 || b < 0 || (rc = copy_data(a, b, st.st_size, shrink, s)) < 0) {
				if (!rc) rc = -errno;
				if (a >= 0) close(a);
				if (b >= 0) close(b);
				break;
			}
			fchown(b, st.st_uid, st.st_gid);
			fchmod(b, st.st_mode & 07777);
			close(a);
			close(b);
			s->bytes += st.st_size;
			sample(s);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t l = readlinkat(src, n, target, sizeof target - 1);
			if (l < 0) { rc = -errno; break; }
			target[l] = 0;
			if (symlinkat(target, dst, n) < 0) { rc = -errno; break; }
			fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		} else if (mknodat(dst, n, st.st_mode, st.st_rdev) < 0) {
			rc = -errno;
			break;
		}
		s->files++;
		/* Free the rootfs copy now, so the peak stays at one file's size. */
		unlinkat(src, n, 0);
	}
	closedir(d);
	return rc;
}

/* The kernel stops unpacking an initramfs that does not fit (tmpfs' default limit of half the RAM
 * when no root= is given, or no memory at all) and says so only in its log: files are then missing
 * and later steps fail for reasons that look unrelated. Say it here, once, with what to do. */
static void unpack_check(void)
{
	static char log[1 << 18];
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof log - 1);
	if (n <= 0)
		return;
	log[n] = 0;
	char *p = strstr(log, "Initramfs unpacking failed: ");
	if (!p)
		return;
	char *end = strchr(p, '\n');
	if (end)
		*end = 0;
	err("root: the kernel could not unpack the whole initramfs (\"%s\"): files are missing; give the machine "
	    "more memory, or rootfstype=ramfs on the kernel command line (tmpfs is limited to half the RAM)", p);
}

int root_switch(char **argv)
{
	struct statfs sf;
	const char *env = getenv("ONLYDOCKER_ROOT");

	if (statfs("/", &sf) < 0 || (sf.f_type != RAMFS_MAGIC && sf.f_type != TMPFS_MAGIC))
		return 0;       /* not an initramfs: someone booted us from a real root */
	if (env && !strcmp(env, "tmpfs")) {
		const char *efd = getenv("ONLYDOCKER_ENGINE_FD");
		engine_fd = efd ? atoi(efd) : -1;
		unsetenv("ONLYDOCKER_ROOT");
		unsetenv("ONLYDOCKER_ENGINE_FD");
		return 0;       /* the second run, on the new root */
	}
	unpack_check();
	int64_t t0 = now_ms();
	struct move_stats s = { 0 };
	sample(&s);
	unsigned long free0 = s.min_free;
	int rc, kept = 0;

	if (mkdir(NEWROOT, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		goto fail;
	}
	/* No size= : tmpfs defaults to half of RAM, and dockerd's files must fit whatever the RAM. */
	if (mount("rootfs", NEWROOT, "tmpfs", 0, "mode=0755") < 0) {
		rc = -errno;
		goto fail;
	}
	int src = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dst = open(NEWROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0 || dst < 0) {
		rc = -errno;
		goto fail;
	}
	/* The engine image stays in rootfs, unlinked and held open for enginefs_mount(): the new root
	 * cannot see it, and copying 60 MiB under TCG costs most of this step. The fd crosses exec. */
	engine_fd = open(ENGINEFS_IMAGE, O_RDONLY);
	if (engine_fd >= 0)
		unlink(ENGINEFS_IMAGE);
	/* The kernel modules (11 MiB that only libkmod reads) stay in rootfs as well and are
	 * bind-mounted where they were: copying them was most of what is left of this step. If the
	 * bind fails they go back in place and move_tree() copies them like the rest. */
	kept = rename(MODULES_DIR, KEPT_MODULES) == 0;
	if (kept && (mkdirs(NEWROOT MODULES_DIR, 0755) < 0 ||
		     mount(KEPT_MODULES, NEWROOT MODULES_DIR, NULL, MS_BIND, NULL) < 0)) {
		warn("root: keeping the kernel modules in place: %s; copying them", strerror(errno));
		kept = rename(KEPT_MODULES, MODULES_DIR) < 0;
	}
	rc = move_tree(src, dst, &s);
	close(dst);
	if (rc < 0)
		goto fail;
	if (chdir(NEWROOT) < 0 || mount(NEWROOT, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		rc = -errno;
		goto fail;
	}
	info("root: moved %lu files (%lu MiB) from the initramfs to a tmpfs root in %lld ms; peak extra memory %lu KiB",
	     s.files, s.bytes >> 20, (long long)(now_ms() - t0),
	     free0 > s.min_free ? (free0 - s.min_free) >> 10 : 0);
	char fdenv[48];
	snprintf(fdenv, sizeof fdenv, "ONLYDOCKER_ENGINE_FD=%d", engine_fd);
	char *envp[] = { SWITCHED_ENV, fdenv, NULL };
	execve("/init", argv, envp);
	rc = -errno;
	err("root: re-exec of /init on the new root failed: %s", strerror(-rc));
	return rc;
fail:
	/* Whatever moved is gone from rootfs: there is no way back; boot on with pivot_root off. */
	err("root: moving the root onto tmpfs failed: %s; containers will run with DOCKER_RAMDISK (no pivot_root)", strerror(-rc));
	if (kept)
		rename(KEPT_MODULES, MODULES_DIR);
	setenv("DOCKER_RAMDISK", "true", 1);
	return rc;
}
