/* Which block device holds the data disk: every device under /sys/class/block probed by libblkid
 * for its filesystem label, and the all-zero test that guards od.disk.format. Pure enough to be
 * unit-tested against image files. */
#define _GNU_SOURCE
#include <blkid/blkid.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "disklabel.h"
#include "log.h"

/* One superblock value (LABEL, TYPE) of dev, as libblkid finds it. */
static int probe_value(const char *dev, const char *name, char *out, size_t size)
{
	const char *v = NULL;
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	if (!pr)
		return -errno ? -errno : -ENODEV;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE);
	int rc = blkid_do_safeprobe(pr);
	if (rc == 0 && blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
		snprintf(out, size, "%s", v);
	else
		rc = -ENOENT;
	blkid_free_probe(pr);
	return rc == 0 ? 0 : -ENOENT;
}

int disk_label_of(const char *dev, char *label, size_t size) { return probe_value(dev, "LABEL", label, size); }
int disk_type_of(const char *dev, char *type, size_t size) { return probe_value(dev, "TYPE", type, size); }

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

char *disk_find_label(const char *sysblock, const char *devdir, const char *label)
{
	struct dirent **names;
	char *found = NULL;
	int n = scandir(sysblock, &names, NULL, by_name);
	if (n < 0)
		return NULL;
	for (int i = 0; i < n; i++) {
		char dev[512], got[256];
		const char *name = names[i]->d_name;
		if (name[0] == '.' || !strncmp(name, "ram", 3))
			continue;
		snprintf(dev, sizeof dev, "%s/%s", devdir, name);
		if (disk_label_of(dev, got, sizeof got) < 0 || strcmp(got, label))
			continue;
		if (!found)
			found = strdup(dev);
		else
			warn("disk: %s is labelled %s too; using %s (first by name)", dev, label, found);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return found;
}

char *disk_find_serial(const char *sysblock, const char *devdir, const char *serial)
{
	struct dirent **names;
	char *found = NULL;
	int n = scandir(sysblock, &names, NULL, by_name);
	if (n < 0)
		return NULL;
	for (int i = 0; i < n && !found; i++) {
		char path[512], got[128];
		const char *name = names[i]->d_name;
		if (name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/serial", sysblock, name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, got, sizeof got - 1);
		close(fd);
		if (k <= 0)
			continue;
		got[k] = 0;
		got[strcspn(got, "\n")] = 0;
		/* The kernel makes the sysfs entry before devtmpfs has the node (the uevent comes after
		 * both): a disk seen in between is not found yet, and the caller's wait looks again. */
		snprintf(path, sizeof path, "%s/%s", devdir, name);
		if (!strcmp(got, serial) && access(path, F_OK) == 0)
			found = strdup(path);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return found;
}

static int all_zero(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i])
			return 0;
	return 1;
}

/* Whether libblkid finds a filesystem, RAID or LVM signature, or a partition table (a GPT also
 * from its backup at the end, even with the protective MBR gone) at offset off: 1 yes, 0 no. */
static int signature_at(int fd, off_t off, off_t size)
{
	blkid_probe pr = blkid_new_probe();
	if (!pr)
		return 1;               /* cannot tell: as good as yes */
	int found = 1;
	if (blkid_probe_set_device(pr, fd, off, size - off) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_enable_partitions(pr, 1);
		blkid_probe_set_partitions_flags(pr, BLKID_PARTS_FORCE_GPT);
		found = blkid_do_safeprobe(pr) != 1;    /* 1: nothing; 0 found; -2 ambiguous; -1 error */
	}
	blkid_free_probe(pr);
	return found;
}

int disk_is_blank(const char *dev)
{
	static char buf[1 << 20];
	const size_t mib = sizeof buf;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0, e = 0;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		e = errno;
	} else if (size >= (off_t)(4 * mib)) {  /* smaller: not a disk we would format */
		/* The start and the end (where a GPT keeps its backup) all zero, and no signature at the
		 * start or where a first partition would begin: a wiped partition table is not a blank disk. */
		ssize_t a = pread(fd, buf, mib, 0);
		int blank = a == (ssize_t)mib && all_zero(buf, mib);
		ssize_t b = blank ? pread(fd, buf, mib, size - (off_t)mib) : 0;
		blank = blank && b == (ssize_t)mib && all_zero(buf, mib);
		if (a < 0 || b < 0)
			e = errno;
		else
			rc = blank && !signature_at(fd, 0, size) && !signature_at(fd, (off_t)mib, size);
	}
	close(fd);
	return e ? -e : rc;
}
