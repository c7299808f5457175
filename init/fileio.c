/* The small file helpers every step shares: a directory path made whole, a short file written,
 * a whole file read (sysfs and procfs hand out a page per read()). Each returns 0 (or a length)
 * or -errno, and logs nothing: the caller knows what the file was for. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fileio.h"

int mkdirs(const char *path, mode_t mode)
{
	char p[512];
	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int rc = w < 0 ? -errno : (size_t)w != n ? -EIO : 0;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* The whole file, or as much as fits (size - 1 bytes, NUL-terminated, trailing newlines cut):
 * read until EOF, since sysfs and procfs hand out at most a page per read(). */
int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	while (n < size - 1) {
		ssize_t k = read(fd, buf + n, size - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return (int)n;
}
