/* The kernel filesystems and the standard /dev layout, as tables: each entry says whether boot
 * can go on without it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "fileio.h"
#include "init.h"
#include "log.h"

enum need { OPTIONAL, REQUIRED };

static const struct mnt {
	const char *src, *target, *type;
	unsigned long flags;
	const char *data;
	enum need need;
} mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, REQUIRED },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, REQUIRED },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", OPTIONAL },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", REQUIRED },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", OPTIONAL },
	{ "mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, OPTIONAL },
	{ "run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", REQUIRED },
	{ "tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", OPTIONAL },
	{ "securityfs", "/sys/kernel/security", "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, OPTIONAL },
	{ "debugfs", "/sys/kernel/debug", "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, OPTIONAL },
	{ "tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, OPTIONAL },
	{ "bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700", OPTIONAL },
};

/* Made only when devtmpfs did not provide them. */
static const struct node {
	const char *path;
	mode_t mode;
	unsigned maj, min;
} nodes[] = {
	{ "/dev/console", S_IFCHR | 0600, 5, 1 }, { "/dev/null", S_IFCHR | 0666, 1, 3 },
	{ "/dev/zero", S_IFCHR | 0666, 1, 5 },    { "/dev/tty", S_IFCHR | 0666, 5, 0 },
	{ "/dev/ptmx", S_IFCHR | 0666, 5, 2 },    { "/dev/random", S_IFCHR | 0666, 1, 8 },
	{ "/dev/urandom", S_IFCHR | 0666, 1, 9 }, { "/dev/kmsg", S_IFCHR | 0644, 1, 11 },
	{ "/dev/full", S_IFCHR | 0666, 1, 7 },
};

static const struct link { const char *path, *target; } links[] = {
	{ "/dev/fd", "/proc/self/fd" },           { "/dev/stdin", "/proc/self/fd/0" },
	{ "/dev/stdout", "/proc/self/fd/1" },     { "/dev/stderr", "/proc/self/fd/2" },
	{ "/dev/core", "/proc/kcore" },
};

int mounts_setup(void)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
		const struct mnt *m = &mounts[i];
		if (access(m->target, F_OK) < 0 && mkdirs(m->target, 0755) < 0 && m->need == OPTIONAL)
			continue;       /* e.g. /sys/kernel/debug absent from this kernel */
		if (mount(m->src, m->target, m->type, m->flags, m->data) == 0 || errno == EBUSY)
			continue;
		if (m->need == REQUIRED) {
			err("mounts: %s on %s: %s", m->type, m->target, strerror(errno));
			rc = -errno;
		} else if (errno != ENODEV && errno != ENOENT) {
			warn("mounts: %s on %s: %s (optional, going on)", m->type, m->target, strerror(errno));
		}
	}
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
		if (access(nodes[i].path, F_OK) < 0 &&
		    mknod(nodes[i].path, nodes[i].mode, makedev(nodes[i].maj, nodes[i].min)) < 0)
			warn("mounts: mknod %s: %s", nodes[i].path, strerror(errno));
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i].target, links[i].path) < 0 && errno != EEXIST)
			warn("mounts: symlink %s: %s", links[i].path, strerror(errno));
	/* Containers' bind mounts with shared/slave propagation need a shared root, as under systemd. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
		warn("mounts: making / shared: %s", strerror(errno));
	if (!rc)
		info("mounts: /proc /sys /dev /dev/pts /dev/shm /dev/mqueue /run /tmp mounted");
	return rc;
}
