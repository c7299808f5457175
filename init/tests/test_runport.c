/* Unit tests of the run port's framing (runport.c) over a socketpair standing in for the virtio-serial
 * port: frames from the host cut at any byte, frames to it queued and written as the peer reads, a
 * frame too big, and the host going away. The event loop's watch is driven by hand. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "fileio.h"
#include "log.h"
#include "log_stub.h"
#include "loop.h"
#include "run.h"
#include "uevent.h"

/* ---- what runport.c uses of the rest of init ---- */
static struct watch *w;
void watch_add(struct watch *x, int fd, short events, void (*fn)(int, short, void *), void *arg)
{
	x->fd = fd;
	x->events = events;
	x->fn = fn;
	x->arg = arg;
	w = x;
}
void watch_del(struct watch *x) { x->fd = -1; w = NULL; }
static struct timer *armed;
void timer_arm(struct timer *t, int ms, void (*fn)(void *), void *arg) { (void)ms; t->fn = fn; t->arg = arg; armed = t; }
void timer_cancel(struct timer *t) { if (armed == t) armed = NULL; }
static void fire(void)
{
	struct timer *t = armed;
	armed = NULL;
	t->fn(t->arg);
}
char *wait_device(const char *s, char *(*look)(const char *), const char *arg, int ms)
{
	(void)s; (void)look; (void)arg; (void)ms;
	return NULL;
}
int read_file(const char *path, char *buf, size_t size) { (void)path; (void)buf; (void)size; return -ENOENT; }

/* ---- what the host sent, as run.c would see it ---- */
static char got[1 << 20];
static size_t got_len;
static int eofs, stops, kills, drains;
static char stop_sig[32];
static void on_stdin(const char *d, size_t n)
{
	if (!n)
		eofs++;
	memcpy(got + got_len, d, n);
	got_len += n;
}
static void on_stop(const char *sig) { stops++; snprintf(stop_sig, sizeof stop_sig, "%s", sig); }
static void on_kill(void) { kills++; }
static void on_drained(void) { drains++; }
static const struct runport_ops ops = { on_stdin, on_stop, on_kill, on_drained };

static int host = -1;

static int setup(void **st)
{
	(void)st;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	host = sv[1];
	got_len = 0;
	eofs = stops = kills = drains = 0;
	return runport_attach(sv[0], &ops);
}

static int teardown(void **st)
{
	(void)st;
	close(host);
	if (w) {
		close(w->fd);
		w = NULL;
	}
	return 0;
}

static void frame(unsigned type, const void *data, size_t n, char *out, size_t *len)
{
	unsigned char h[8] = { (unsigned char)type, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8), (unsigned char)n };
	memcpy(out + *len, h, 8);
	memcpy(out + *len + 8, data, n);
	*len += 8 + n;
}

/* Whatever the host wrote, fed to the port's watch as the loop would. */
static void pump(void)
{
	struct pollfd p = { .fd = w ? w->fd : -1, .events = POLLIN };
	while (w && poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP)))
		w->fn(w->fd, p.revents, w->arg);
}

static void host_frames_cut_anywhere(void **st)
{
	(void)st;
	char buf[512];
	size_t len = 0;
	frame(RUN_F_STDIN, "hello ", 6, buf, &len);
	frame(RUN_F_STDIN, "world\n", 6, buf, &len);
	frame(RUN_F_STOP, "SIGINT", 6, buf, &len);
	frame(RUN_F_STDIN, "", 0, buf, &len);
	frame(RUN_F_KILL, "", 0, buf, &len);
	for (size_t i = 0; i < len; i++) {      /* one byte at a time: every cut there is */
		assert_int_equal(write(host, buf + i, 1), 1);
		pump();
	}
	assert_int_equal(got_len, 12);
	assert_memory_equal(got, "hello world\n", 12);
	assert_int_equal(stops, 1);
	assert_string_equal(stop_sig, "SIGINT");
	assert_int_equal(eofs, 1);
	assert_int_equal(kills, 1);
}

static void output_framed_and_queued_until_read(void **st)
{
	(void)st;
	static char big[3 << 20], back[(3 << 20) + 64];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7);
	/* More than the socket holds: the rest waits in the queue, and POLLOUT is asked for. */
	assert_int_equal(runport_send(RUN_F_STDOUT, big, sizeof big), 0);
	assert_true(runport_pending() > 0);
	assert_true(w->events & POLLOUT);
	assert_int_equal(runport_send(RUN_F_EXIT, "3", 1), 0);
	size_t n = 0;
	while (n < sizeof big + 8 + 9) {
		ssize_t k = read(host, back + n, sizeof back - n);
		assert_true(k > 0);
		n += (size_t)k;
		w->fn(w->fd, POLLOUT, w->arg);  /* the loop saw the port writable again */
	}
	assert_int_equal(n, sizeof big + 8 + 9);
	assert_int_equal(back[0], RUN_F_STDOUT);
	assert_int_equal((unsigned char)back[4] << 24 | (unsigned char)back[5] << 16 | (unsigned char)back[6] << 8 |
			 (unsigned char)back[7], sizeof big);
	assert_memory_equal(back + 8, big, sizeof big);
	assert_memory_equal(back + 8 + sizeof big, "\x10\0\0\0\0\0\0\x01" "3", 9);
	assert_int_equal(runport_pending(), 0);
	assert_false(w->events & POLLOUT);
	assert_true(drains > 0);
}

static void a_frame_too_big_closes_the_port(void **st)
{
	(void)st;
	unsigned char h[8] = { RUN_F_STDIN, 0, 0, 0, 0x01, 0, 0, 0 };   /* 16 MiB */
	assert_int_equal(write(host, h, 8), 8);
	pump();
	assert_null(w);
	assert_non_null(strstr(log_last, "out of step"));
	assert_int_equal(runport_send(RUN_F_EXIT, "0", 1), -ENOTCONN);
}

/* kvm gone: the port reads EOF and stays hung up. Output is kept, not thrown away, and the final
 * flush gives up at its deadline instead of spinning or blocking. */
static void the_host_going_away_is_noticed(void **st)
{
	(void)st;
	int port = w->fd;
	close(host);
	host = -1;
	pump();
	assert_null(w);
	assert_non_null(strstr(log_last, "not open"));
	assert_non_null(armed);
	fire();                         /* still hung up: looked at again later */
	assert_null(w);
	assert_non_null(armed);
	assert_int_equal(runport_send(RUN_F_EXIT, "0", 1), 0);
	assert_int_equal(runport_pending(), 9);
	int64_t t = now_ms();
	assert_int_equal(runport_flush(300), -ETIMEDOUT);
	assert_true(now_ms() - t >= 290);
	close(port);
	armed = NULL;
}

/* At boot the guest can open the port before QEMU's "host connected" message has arrived: it
 * polls POLLHUP then. What is sent meanwhile must reach the host once it is there (CI once lost a
 * whole run's error and exit status to this). */
static void a_host_not_there_yet_gets_everything_later(void **st)
{
	(void)st;
	w->fn(w->fd, POLLHUP, w->arg);  /* as virtio_console polls while !host_connected */
	assert_null(w);
	assert_non_null(armed);
	assert_int_equal(runport_send(RUN_F_ERROR, "why", 3), 0);
	assert_int_equal(runport_send(RUN_F_EXIT, "125", 3), 0);
	char back[64];
	assert_int_equal(recv(host, back, sizeof back, MSG_DONTWAIT), -1);    /* nothing yet */
	fire();                         /* the socketpair polls writable: the host is there */
	assert_non_null(w);
	assert_null(armed);
	assert_int_equal(runport_pending(), 0);
	assert_int_equal(read(host, back, sizeof back), 22);
	assert_memory_equal(back, "\x11\0\0\0\0\0\0\x03" "why" "\x10\0\0\0\0\0\0\x03" "125", 22);
	assert_non_null(strstr(log_last, "open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(host_frames_cut_anywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(output_framed_and_queued_until_read, setup, teardown),
		cmocka_unit_test_setup_teardown(a_frame_too_big_closes_the_port, setup, teardown),
		cmocka_unit_test_setup_teardown(the_host_going_away_is_noticed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_host_not_there_yet_gets_everything_later, setup, teardown),
	};
	return cmocka_run_group_tests_name("runport", tests, NULL, NULL);
}
