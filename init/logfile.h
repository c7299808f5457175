/* logfile.c: a bounded, rotated log file. */
#ifndef OD_LOGFILE_H
#define OD_LOGFILE_H
#include <stddef.h>
struct logfile {
	char path[128];
	int fd;                 /* -1: not open */
	long long size, max;
	unsigned rotations;
};
int logfile_open(struct logfile *l, const char *path, long long max);      /* 0 or -errno */
void logfile_write(struct logfile *l, const char *buf, size_t n);
#endif
