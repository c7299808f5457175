/* Finding the data disk by label, the engine image's disk by serial, and the all-zero guard for
 * formatting. */
#ifndef OD_DISKLABEL_H
#define OD_DISKLABEL_H
#include <stddef.h>
int disk_label_of(const char *dev, char *label, size_t size);  /* 0, or -ENOENT: no label */
int disk_type_of(const char *dev, char *type, size_t size);    /* "ext4", "vfat"...; -ENOENT: none found */
/* The first device (by name) under sysblock whose devdir/NAME has that label; malloc'd, or NULL. */
char *disk_find_label(const char *sysblock, const char *devdir, const char *label);
/* The first device (by name) under sysblock whose NAME/serial (a virtio disk's serial) is serial;
 * devdir/NAME, malloc'd, or NULL. */
char *disk_find_serial(const char *sysblock, const char *devdir, const char *serial);
/* The od.disk.format guard: 1 when dev holds nothing at all (its first and last MiB all zero, and
 * no signature or partition table libblkid can find), 0 when it may hold data, or -errno. */
int disk_is_blank(const char *dev);
#endif
