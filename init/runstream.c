/* kvm --run, the container while it runs: its attach stream (docker's frames) passed to the host,
 * the host's stdin passed to it, the wait for its end (and an inspect, should the wait reach the
 * engine late), and its start. run.c does what comes before and after. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "frame.h"
#include "bytebuf.h"
#include "engine.h"
#include "log.h"
#include "loop.h"
#include "run.h"

#define DRAIN_MS 5000           /* after the exit, how long the rest of its output may take */

static int attach_fd = -1, attach_eof;
static struct watch attach_watch;
static struct timer drain_timer;
static struct ereq *waiter;
static struct bytebuf in_q;     /* the host's stdin on its way to the container */
static int in_eof, in_closed;
static size_t taken;            /* stdin handed on (or dropped) that the host has not been told of */
#define TAKEN_STEP (32u << 10)  /* told in steps this big, and whenever the queue empties */
#define IN_MAX (4 * RUN_STDIN_WINDOW)   /* a host that ignores the window is cut off here */
static unsigned char hdr[FRAME_HDR];    /* where the attach stream is in its frames (see forward) */
static size_t hdr_have, payload_left;

static void finish_cb(void *arg)
{
	(void)arg;
	run_finish();
}

static void close_attach(void)
{
	if (attach_fd < 0)
		return;
	/* A frame cut short would leave the host out of step: complete it with zeros. */
	static const char zeros[4096];
	if (hdr_have)
		runport_send_raw(zeros, FRAME_HDR - hdr_have);
	while (payload_left) {
		size_t k = payload_left < sizeof zeros ? payload_left : sizeof zeros;
		runport_send_raw(zeros, k);
		payload_left -= k;
	}
	hdr_have = 0;
	watch_del(&attach_watch);
	close(attach_fd);
	attach_fd = -1;
}

static void maybe_finish(void)
{
	if (run.code < 0 || run.state != R_RUN)
		return;
	if (attach_eof || attach_fd < 0)
		run_finish();
	else if (!drain_timer.when)
		timer_arm(&drain_timer, DRAIN_MS, finish_cb, NULL);
}

/* ---- the container running: its streams and its end ---- */

static void inspected(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = engine_json(status, 200, body);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "State");
	const cJSON *running = cJSON_GetObjectItemCaseSensitive(st, "Running");
	const cJSON *ec = cJSON_GetObjectItemCaseSensitive(st, "ExitCode");
	/* Its streams closed but it runs on: the wait will tell. */
	if (cJSON_IsFalse(running) && cJSON_IsNumber(ec) && run.code < 0) {
		run.code = ec->valueint;
		info("run: container %.12s exited with %d", run.id, run.code);
	}
	cJSON_Delete(j);
	maybe_finish();
}

/* What the attach connection is polled for: its output unless the host is behind (the engine
 * waits meanwhile), and room for the host's stdin while some is queued. */
static void attach_events(void)
{
	if (attach_fd >= 0)
		attach_watch.events = (short)((runport_pending() > RUNPORT_HIGH ? 0 : POLLIN) | (in_q.len ? POLLOUT : 0));
}

/* The attach stream: docker's frames, passed to the host whole. Tracking where each frame ends
 * lets a stream that is cut short be completed, so the host's reader never loses its step. */
static void forward(const char *buf, size_t n)
{
	runport_send_raw(buf, n);
	for (size_t at = 0; at < n;) {
		if (payload_left) {
			size_t k = n - at < payload_left ? n - at : payload_left;
			payload_left -= k;
			at += k;
			continue;
		}
		hdr[hdr_have++] = (unsigned char)buf[at++];
		if (hdr_have == FRAME_HDR) {
			payload_left = frame_hdr_len(hdr);
			hdr_have = 0;
		}
	}
}

static void on_attach(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		attach_eof = 1;
		close_attach();
		char path[160];
		snprintf(path, sizeof path, ENGINE_API "/containers/%s/json", run.id);
		engine_call("GET", path, NULL, -1, CALL_MS, inspected, NULL, NULL);
		return;
	}
	forward(buf, (size_t)n);
	attach_events();
}

/* The host's credit back: what has left the queue, so it may send that much more. */
static void tell_taken(void)
{
	if (!taken || (in_q.len && taken < TAKEN_STEP))
		return;
	unsigned char b[4] = { (unsigned char)(taken >> 24), (unsigned char)(taken >> 16), (unsigned char)(taken >> 8),
			       (unsigned char)taken };
	if (runport_send(RUN_F_TAKEN, b, sizeof b) == 0)
		taken = 0;
}

static void stdin_flush(void)
{
	while (attach_fd >= 0 && in_q.len) {
		ssize_t n = send(attach_fd, in_q.data, in_q.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				warn("run: the container's stdin: %s", strerror(errno));
				taken += in_q.len;
				in_q.len = 0;
			}
			break;
		}
		buf_drop_front(&in_q, (size_t)n);
		taken += (size_t)n;
	}
	tell_taken();
	if (attach_fd >= 0 && !in_q.len && in_eof && !in_closed) {
		shutdown(attach_fd, SHUT_WR);   /* the engine closes the container's stdin (StdinOnce) */
		in_closed = 1;
	}
	attach_events();
}

static void on_attach_io(int fd, short rev, void *arg)
{
	if (rev & POLLOUT)
		stdin_flush();
	if (rev & (POLLIN | POLLHUP | POLLERR))
		on_attach(fd, rev, arg);
}

void runstream_stdin(const char *data, size_t len)
{
	if (!run.interactive || attach_eof || in_q.len + len > IN_MAX) {
		/* Nobody to take it: the container's streams have ended, or the host overran its window. */
		if (run.interactive && !attach_eof && len)
			err("run: the host sent stdin beyond its window (%zu bytes queued); %zu bytes dropped", in_q.len, len);
		taken += len;
		tell_taken();
		return;
	}
	if (!len) {
		in_eof = 1;
	} else {
		if (buf_append(&in_q, data, len, 65536) < 0) {
			err("run: the container's stdin: %s; input dropped", strerror(ENOMEM));
			taken += len;
			tell_taken();
			return;
		}
	}
	stdin_flush();
}

void runstream_drained(void)
{
	attach_events();
}

static void waited(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	waiter = NULL;
	cJSON *j = engine_json(status, 200, body);
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "StatusCode");
	if (cJSON_IsNumber(sc)) {
		if (run.code < 0)
			info("run: container %.12s exited with %d", run.id, sc->valueint);
		run.code = sc->valueint;
	} else if (status != -ECANCELED && run.state == R_RUN && run.code < 0) {
		warn("run: waiting for container %.12s: %s", run.id, engine_failure(status, body));
	}
	cJSON_Delete(j);
	maybe_finish();
}

/* docker run's statuses for a command that cannot run: 127 not found, 126 not executable; in the
 * words of runc ("executable file not found") and of crun ("`x` not found in $PATH"). */
static int start_status(const char *msg)
{
	if (strcasestr(msg, "executable file not found") || strcasestr(msg, "not found in $PATH") ||
	    strcasestr(msg, "no such file or directory"))
		return 127;
	if (strcasestr(msg, "permission denied"))
		return 126;
	return EXIT_OWN;
}

static void started_cb(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 204 && status != 304) {
		const char *m = status < 0 ? strerror(-status) : engine_errmsg(body);
		run_fail(status < 0 ? EXIT_OWN : start_status(m), "starting the container: %s", m);
		return;
	}
	run.started = 1;
	info("run: container %.12s started", run.id);
	if (run.killed || run.stop_sig)         /* asked while it was starting */
		runstream_stop();
}

/* What the host asked for, to the running container: docker stop (its stop signal, then SIGKILL
 * after its stop timeout), or at once SIGKILL. */
void runstream_stop(void)
{
	char path[160];
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/%s", run.id, run.killed ? "kill" : "stop");
	engine_call("POST", path, NULL, -1, CALL_MS * 4, NULL, NULL, NULL);
}

static void attached(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)arg;
	char path[200];
	if (status != 101) {
		run_fail(EXIT_OWN, "attaching to the container: %s", engine_failure(status, body));
		return;
	}
	attach_fd = engine_take_fd(r);
	if (attach_fd < 0) {
		run_fail(EXIT_OWN, "attaching to the container: no connection to take over");
		return;
	}
	watch_add(&attach_watch, attach_fd, POLLIN, on_attach_io, NULL);
	if (body && len)                /* the stream's first bytes came with the answer */
		forward(body, len);
	run.state = R_RUN;
	/* Waiting before starting, so a container that ends at once cannot be missed; the inspect
	 * after its streams close covers a wait that reached the engine late. No deadline: the
	 * container may run for as long as it likes. */
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/wait?condition=next-exit", run.id);
	waiter = engine_call("POST", path, NULL, -1, 0, waited, NULL, NULL);
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/start", run.id);
	engine_call("POST", path, NULL, -1, CALL_MS, started_cb, NULL, NULL);
	stdin_flush();
}

/* The container exists: attach first, so not a byte of its output is missed. */
void runstream_attach(void)
{
	char path[200];
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/attach?stream=1&stdout=1&stderr=1%s", run.id,
		 run.interactive ? "&stdin=1" : "");
	engine_hijack("POST", path, CALL_MS, attached, NULL);
}

/* The way out has begun: no more waiting, and what is left of the stream is closed. */
void runstream_end(void)
{
	timer_cancel(&drain_timer);
	engine_cancel(waiter);
	waiter = NULL;
	close_attach();
}
