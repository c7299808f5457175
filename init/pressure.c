/* Pressure stall information (/proc/pressure/memory, cpu, io): how long tasks waited for memory, CPU or I/O.
 * The liveness check asks it whether a ping went unanswered because the machine, not the engine,
 * was stuck (reclaim and thrashing stall every process, dockerd included). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fileio.h"
#include "pressure.h"

long long psi_parse_total(const char *text, const char *kind)
{
	size_t k = strlen(kind);
	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, kind, k) || line[k] != ' ')
			continue;
		const char *t = strstr(line, " total=");
		const char *end = strchr(line, '\n');
		if (!t || (end && t > end))
			return -EINVAL;
		char *stop;
		long long v = strtoll(t + 7, &stop, 10);
		return stop == t + 7 || v < 0 ? -EINVAL : v;
	}
	return -ENOENT;
}

long long psi_total(const char *resource, const char *kind)
{
	char path[64], text[256];
	snprintf(path, sizeof path, "/proc/pressure/%s", resource);
	int n = read_file(path, text, sizeof text);
	return n < 0 ? n : psi_parse_total(text, kind);
}
