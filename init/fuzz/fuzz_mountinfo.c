/* Fuzz target: /proc/self/mountinfo as the shutdown's unmount loop reads it, through libmount
 * (mnt_table_parse_file) and the accessors final.c uses, from a memfd holding the input. */
#define _GNU_SOURCE
#include <libmount/libmount.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("mountinfo", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct libmnt_table *tb = mnt_new_table();
	struct libmnt_iter *it = mnt_new_iter(MNT_ITER_BACKWARD);
	if (tb && it && mnt_table_parse_file(tb, path) == 0) {
		struct libmnt_fs *fs;
		size_t n = 0;
		while (mnt_table_next_fs(tb, it, &fs) == 0) {
			const char *t = mnt_fs_get_target(fs), *s = mnt_fs_get_source(fs), *ty = mnt_fs_get_fstype(fs);
			n += (t ? strlen(t) : 0) + (s ? strlen(s) : 0) + (ty ? strlen(ty) : 0);
		}
	}
	mnt_free_iter(it);
	mnt_free_table(tb);
	close(fd);
	return 0;
}
