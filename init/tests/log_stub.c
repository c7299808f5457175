/* Test stand-in for init/log.c: keeps the last message above debug for assertions, prints only with TEST_LOG=1,
 * and the same monotonic clock as the real now_ms(). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "log_stub.h"

char log_last[1024];
int log_last_level;
char log_all[16384];

void log_msg(int level, const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	if (level < LOG_DEBUG) {
		memcpy(log_last, m, sizeof m);
		log_last_level = level;
		size_t have = strlen(log_all);
		snprintf(log_all + have, sizeof log_all - have, "%s\n", m);
	}
	if (getenv("TEST_LOG"))
		fprintf(stderr, "<%d> %s\n", level, m);
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_flush(void) {}
int log_console_fd(void) { return -1; }
