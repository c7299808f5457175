/* kvm --run's line to the host: the virtio-serial port org.onlydocker.run, framed both ways as
 * docker frames its attach stream (type, three zero bytes, a 32-bit big-endian length), so the
 * container's stdout and stderr frames pass through as the engine sent them. Output is queued and
 * written as the port takes it; what the host sends is handed to run.c frame by frame. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "frame.h"
#include "bytebuf.h"
#include "fileio.h"
#include "log.h"
#include "loop.h"
#include "run.h"
#include "uevent.h"

#define PORTS "/sys/class/virtio-ports"
/* The port's name is RUN_PORT; FRAME_MAX bounds what the host sends (both from runport.conf). */

#define ABSENT_RECHECK_MS 100            /* how often a port whose host end is shut is looked at again */

static int fd = -1;
static struct watch port_watch;
static struct timer absent_timer;
static int absent, absent_told;
static const struct runport_ops *ops;
static struct bytebuf out;      /* queued for the host; sent up to out_off */
static size_t out_off;
static unsigned char in[FRAME_HDR + FRAME_MAX];
static size_t in_len;

/* /dev/vportNpM of the port whose name the host gave, or NULL. */
static char *find_port(const char *name)
{
	DIR *d = opendir(PORTS);
	struct dirent *e;
	char *found = NULL;
	while (d && !found && (e = readdir(d))) {
		char path[300], got[64];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, PORTS "/%s/name", e->d_name);
		if (read_file(path, got, sizeof got) > 0 && !strcmp(got, name) && asprintf(&found, "/dev/%s", e->d_name) < 0)
			found = NULL;
	}
	if (d)
		closedir(d);
	if (found && access(found, F_OK) < 0) {     /* devtmpfs may lag the name by a moment */
		free(found);
		found = NULL;
	}
	return found;
}

static void hang_up(const char *why);
static void on_port(int f, short rev, void *arg);
static void flush_some(void);

/* A virtio port reports POLLHUP, and read() returns 0, while no host is connected to its
 * chardev: not only after kvm has gone, but also for a moment at boot, before QEMU's "port open"
 * message reaches the guest. So a hang-up is not the end: output waits in the queue, and the port
 * is looked at again on a timer (POLLHUP is level-triggered, so it cannot stay in the poll set). */
static void present(void)
{
	timer_cancel(&absent_timer);
	if (!absent)
		return;
	absent = 0;
	info("run: the host's end of the port is open");
	watch_add(&port_watch, fd, POLLIN, on_port, NULL);
	flush_some();
}

static void recheck(void *arg)
{
	(void)arg;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (fd < 0)
		return;
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLERR)))
		timer_arm(&absent_timer, ABSENT_RECHECK_MS, recheck, NULL);
	else
		present();
}

static void host_absent(void)
{
	if (!absent_told)       /* once: a host that comes and goes is not news each time */
		info("run: the host's end of the port is not open; what is for it waits until it is");
	absent = absent_told = 1;
	watch_del(&port_watch);
	timer_arm(&absent_timer, ABSENT_RECHECK_MS, recheck, NULL);
}

static void update_events(void)
{
	if (fd >= 0)
		port_watch.events = (short)(POLLIN | (out.len > out_off ? POLLOUT : 0));
}

static void flush_some(void)
{
	if (fd < 0 || absent)
		return;
	while (out_off < out.len) {
		ssize_t n = write(fd, out.data + out_off, out.len - out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			hang_up(strerror(errno));
			return;
		}
		if (n < 0)
			break;          /* the port is full: POLLOUT says when it has room */
		out_off += (size_t)n;
	}
	if (out_off == out.len)
		out_off = out.len = 0;
	else if (out_off > (1u << 20)) {        /* keep the queue from creeping forward for ever */
		buf_drop_front(&out, out_off);
		out_off = 0;
	}
	update_events();
	if (ops && runport_pending() < RUNPORT_LOW)
		ops->drained();
}

static void deliver(unsigned type, const unsigned char *data, size_t len)
{
	switch (type) {
	case RUN_F_STDIN:
		ops->stdin_data((const char *)data, len);       /* len 0: end of input */
		break;
	case RUN_F_STOP: {
		char sig[32];
		snprintf(sig, sizeof sig, "%.*s", (int)(len < sizeof sig ? len : sizeof sig - 1), (const char *)data);
		ops->stop(sig[0] ? sig : "SIGTERM");
		break;
	}
	case RUN_F_KILL:
		ops->kill();
		break;
	default:
		warn("run: unknown frame type %u from the host, ignored", type);
	}
}

/* The port is out of step, or failed: nothing more to say to the host. */
static void hang_up(const char *why)
{
	warn("run: %s; the line to the host is closed", why);
	watch_del(&port_watch);
	timer_cancel(&absent_timer);
	absent = 0;
	close(fd);
	fd = -1;
	out.len = out_off = in_len = 0;
}

static void on_port(int f, short rev, void *arg)
{
	(void)arg;
	if (rev & POLLOUT)
		flush_some();
	if (fd < 0)
		return;
	if ((rev & (POLLHUP | POLLERR)) && !(rev & POLLIN)) {
		host_absent();
		return;
	}
	if (!(rev & POLLIN))
		return;
	ssize_t n = read(f, in + in_len, sizeof in - in_len);
	if (n == 0) {
		host_absent();
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			hang_up(strerror(errno));
		return;
	}
	in_len += (size_t)n;
	size_t at = 0;
	while (in_len - at >= FRAME_HDR) {
		unsigned type = in[at];
		size_t len = frame_hdr_len(in + at);
		if (len > FRAME_MAX) {
			err("run: a frame of %zu bytes from the host (at most %d)", len, FRAME_MAX);
			hang_up("the port is out of step");
			return;
		}
		if (in_len - at < FRAME_HDR + len)
			break;
		deliver(type, in + at + FRAME_HDR, len);
		at += FRAME_HDR + len;
	}
	memmove(in, in + at, in_len - at);
	in_len -= at;
}

static int queue(const void *data, size_t len)
{
	int rc = buf_append(&out, data, len, 65536);
	if (rc < 0)
		err("run: queueing %zu bytes for the host: %s", len, strerror(-rc));
	return rc;
}

int runport_send(unsigned type, const void *data, size_t len)
{
	unsigned char h[FRAME_HDR];
	frame_hdr_put(h, type, len);
	if (fd < 0)
		return -ENOTCONN;
	int rc = queue(h, sizeof h);
	if (!rc && len)
		rc = queue(data, len);
	flush_some();
	return rc;
}

int runport_send_raw(const void *data, size_t len)
{
	if (fd < 0)
		return -ENOTCONN;
	int rc = queue(data, len);
	flush_some();
	return rc;
}

size_t runport_pending(void)
{
	return out.len - out_off;
}

int runport_flush(int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	while (fd >= 0 && runport_pending() && now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left = end - now_ms();
		if (poll(&p, 1, (int)left) < 0)
			break;
		if (p.revents & (POLLHUP | POLLERR)) {  /* no host yet: look again shortly */
			poll(NULL, 0, (int)(left < ABSENT_RECHECK_MS ? left : ABSENT_RECHECK_MS));
			continue;
		}
		present();
		flush_some();
	}
	return runport_pending() ? -ETIMEDOUT : 0;
}

int runport_attach(int f, const struct runport_ops *o)
{
	fd = f;
	ops = o;
	out.len = out_off = in_len = 0;
	absent = absent_told = 0;
	watch_add(&port_watch, fd, POLLIN, on_port, NULL);
	return 0;
}

int runport_open(const struct runport_ops *o)
{
	char *dev = wait_device("virtio-ports", find_port, RUN_PORT, 10000);
	if (!dev) {
		err("run: no virtio-serial port named " RUN_PORT " after 10 s: was this machine started by kvm --run?");
		return -ENODEV;
	}
	int f = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (f < 0) {
		int e = errno;
		err("run: opening %s: %s", dev, strerror(e));
		free(dev);
		return -e;
	}
	info("run: %s is the line to the host", dev);
	free(dev);
	return runport_attach(f, o);
}
