/* fileio.c: the small file helpers every step shares. */
#ifndef OD_FILEIO_H
#define OD_FILEIO_H
#include <stddef.h>
#include <sys/types.h>

int write_file(const char *path, const char *text);
int read_file(const char *path, char *buf, size_t size);        /* length read, or -errno */
int mkdirs(const char *path, mode_t mode);
#endif
