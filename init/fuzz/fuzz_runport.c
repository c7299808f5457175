/* Fuzz target: the frames kvm sends on the run port (runport.c), from a host end that could be
 * anything on the other side of QEMU's socket: written to a socketpair standing in for the port
 * and read by the port's watch as the loop would. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fileio.h"
#include "loop.h"
#include "run.h"
#include "uevent.h"

static struct watch *w;
void watch_add(struct watch *x, int fd, short events, void (*fn)(int, short, void *), void *arg)
{
	x->fd = fd; x->events = events; x->fn = fn; x->arg = arg;
	w = x;
}
void watch_del(struct watch *x) { x->fd = -1; w = NULL; }
void timer_arm(struct timer *t, int ms, void (*fn)(void *), void *arg) { (void)t; (void)ms; (void)fn; (void)arg; }
void timer_cancel(struct timer *t) { (void)t; }
char *wait_device(const char *s, char *(*look)(const char *), const char *arg, int ms)
{
	(void)s; (void)look; (void)arg; (void)ms;
	return NULL;
}
int read_file(const char *path, char *buf, size_t size) { (void)path; (void)buf; (void)size; return -ENOENT; }

static size_t got;
static void on_stdin(const char *d, size_t n) { for (size_t i = 0; i < n; i++) got += (unsigned char)d[i]; }
static void on_stop(const char *sig) { got += strlen(sig); }
static void on_kill(void) { got++; }
static void on_drained(void) {}
static const struct runport_ops ops = { on_stdin, on_stop, on_kill, on_drained };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	runport_attach(sv[0], &ops);
	if (write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	close(sv[1]);                   /* then the host goes away */
	struct pollfd p = { .fd = sv[0], .events = POLLIN };
	for (int i = 0; w && i < 10000 && poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP)); i++)
		w->fn(w->fd, p.revents, w->arg);
	runport_send(RUN_F_EXIT, "0", 1);
	close(sv[0]);
	w = NULL;
	return 0;
}
