/* A log file kept in RAM (/run is a tmpfs) with a bound: past max bytes it becomes NAME.1 (the one
 * before is dropped) and a new NAME starts, so a chatty dockerd can never fill the memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "logfile.h"

int logfile_open(struct logfile *l, const char *path, long long max)
{
	snprintf(l->path, sizeof l->path, "%s", path);
	l->max = max;
	l->rotations = 0;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -errno;
	struct stat st;
	l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
	return 0;
}

void logfile_write(struct logfile *l, const char *buf, size_t n)
{
	if (l->fd < 0)
		return;
	if (l->size + (long long)n > l->max && l->size > 0) {
		char old[sizeof l->path + 2];
		snprintf(old, sizeof old, "%s.1", l->path);
		close(l->fd);
		if (rename(l->path, old) < 0)
			unlink(l->path);        /* cannot keep it: at least stay within the bound */
		l->fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
		l->size = 0;
		l->rotations++;
		if (l->fd < 0) {
			warn("log: reopening %s: %s; its lines are dropped", l->path, strerror(errno));
			return;
		}
	}
	ssize_t w = write(l->fd, buf, n);
	if (w > 0)
		l->size += w;
}
