/* The logger: one line per event on the console and in /dev/kmsg, prefixed "onlydocker:" and the
 * time since boot, so a person on the serial console and a test reading it see the same thing.
 * The console is never waited for: what it does not take now waits in a bounded queue, written as
 * it takes it (the loop polls for that); a line that does not fit there either (Ctrl-S, a serial
 * client that stopped reading) is dropped and counted, and the count said once it takes lines again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static int kmsg_fd = -1, console_fd = -1, debug_on;
static unsigned long dropped;
#define QUEUE_MAX (64 << 10)            /* a slow serial line's burst; beyond it, a stopped one */
static char queue[QUEUE_MAX];
static size_t queued;

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_open(void)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		if (kmsg_fd >= 0)
			close(kmsg_fd);
		kmsg_fd = fd;
	}
	/* Our own console fd, not fd 2: children and the root switch must not be able to take it away. */
	fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		if (console_fd >= 0)
			close(console_fd);
		console_fd = fd;
	}
}

void log_set_debug(int on) { debug_on = on; }
void log_set_console(int fd) { console_fd = fd; }
unsigned long log_dropped(void) { return dropped; }

/* Writes the queue's head to the console as far as it takes it now. */
void log_flush(void)
{
	size_t off = 0;
	while (console_fd >= 0 && off < queued) {
		ssize_t w = write(console_fd, queue + off, queued - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	memmove(queue, queue + off, queued - off);
	queued -= off;
}

int log_console_fd(void) { return queued ? console_fd : -1; }

static int enqueue(const char *buf, size_t n)
{
	if (queued + n > sizeof queue)
		return -1;
	memcpy(queue + queued, buf, n);
	queued += n;
	return 0;
}

/* To the console without blocking, in order: behind what is queued, else written now and any rest
 * queued. Before log_open() found one, fd 2 (the kernel's, blocking: nothing else runs then). */
static int console_put(const char *buf, size_t n)
{
	if (console_fd < 0)
		return write(2, buf, n) == (ssize_t)n ? 0 : -1;
	log_flush();
	if (dropped) {
		char note[96];
		int m = snprintf(note, sizeof note, "onlydocker: [console] %lu lines dropped: the console was not taking output\n",
				 dropped);
		if (enqueue(note, (size_t)m) < 0)
			return -1;      /* still full: this line goes the same way */
		dropped = 0;
	}
	if (!queued) {
		ssize_t w = write(console_fd, buf, n);
		if (w == (ssize_t)n)
			return 0;
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
		}
		enqueue(buf, n);        /* the rest of a line begun: never more than the queue holds */
		return 0;
	}
	return enqueue(buf, n);
}

void log_console_raw(const char *buf, size_t n)
{
	if (console_put(buf, n) < 0)
		dropped++;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024], msg[900];
	va_list ap;
	int saved = errno;

	if (level == LOG_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int64_t t = now_ms();
	const char *tag = level == LOG_ERR ? "error: " : level == LOG_WARN ? "warning: " : "";
	int n = snprintf(line, sizeof line, "onlydocker: [%3lld.%03lld] %s%s\n",
			 (long long)(t / 1000), (long long)(t % 1000), tag, msg);
	if (n >= (int)sizeof line)
		n = sizeof line - 1;
	if (console_put(line, (size_t)n) < 0)
		dropped++;
	if (kmsg_fd >= 0) {
		/* Facility user, level debug: the kernel would otherwise echo the line on the console a
		 * second time; the severity stays readable in the text. */
		char k[1024];
		int m = snprintf(k, sizeof k, "<15>onlydocker: %s%s\n", tag, msg);
		(void)!write(kmsg_fd, k, m >= (int)sizeof k ? (int)sizeof k - 1 : m);
	}
	errno = saved;
}
