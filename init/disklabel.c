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

int disk_label_of(const char *dev, char *label, size_t size)
{
	const char *v = NULL;
	blkid_probe pr = blkid_new_probe_from_filename(dev);
	if (!pr)
		return -errno ? -errno : -ENODEV;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE);
	int rc = blkid_do_safeprobe(pr);
	if (rc == 0 && blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0 && v)
		snprintf(label, size, "%s", v);
	else
		rc = -ENOENT;
	blkid_free_probe(pr);
	return rc == 0 ? 0 : -ENOENT;
}

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
		if (!strcmp(got, serial)) {
			snprintf(path, sizeof path, "%s/%s", devdir, name);
			found = strdup(path);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return found;
}

int disk_first_mib_is_zero(const char *dev)
{
	static char buf[1 << 20];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	if (n < (ssize_t)sizeof buf)
		return 0;       /* smaller than a MiB: not a disk we would format */
	for (size_t i = 0; i < sizeof buf; i++)
		if (buf[i])
			return 0;
	return 1;
}
