/* Docker Engine API client: owns the connections to the engine's unix socket, each request's
 * lifetime and deadline, sending (a file body a piece at a time) and receiving; the HTTP bytes are
 * engine_http.c's. Asynchronous only: init's poll loop drives it through engine_pollfds/dispatch/expire. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "engine_req.h"
#include "log.h"

static struct ereq *reqs;
static uint64_t serial_next = 1;
static char sock_path[256] = ENGINE_SOCKET_DEFAULT;
static char iobuf[64 << 10];    /* one loop, one request handled at a time: one buffer */

void engine_set_socket(const char *path)
{
	snprintf(sock_path, sizeof sock_path, "%s", path);
}

/* ---- request lifetime ---- */

static void release(struct ereq *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->body_fd >= 0)
		close(r->body_fd);
	r->fd = r->body_fd = -1;
	free(r->out);
	r->out = NULL;
}

/* Calls done() once; the request is freed by whoever holds it busy (or by the caller of finish). */
static void finish(struct ereq *r, int status)
{
	if (r->st == ST_DONE)
		return;
	r->st = ST_DONE;
	int fd = r->hijack && status == 101 ? r->fd : -1;     /* for done() to take */
	if (fd >= 0)
		r->fd = -1;
	release(r);
	r->fd = fd;
	if (status < 0)
		debug("engine: %s: %s after %lld ms", r->what, strerror(-status), (long long)(now_ms() - r->start));
	else
		debug("engine: %s: %d after %lld ms", r->what, status, (long long)(now_ms() - r->start));
	if (r->done)
		r->done(r, status, status > 0 && r->body.len ? r->body.data : NULL, status > 0 ? r->body.len : 0, r->arg);
	if (r->fd >= 0) {       /* a hijacked connection nobody took */
		close(r->fd);
		r->fd = -1;
	}
	r->dead = 1;
}

static void destroy(struct ereq *r)
{
	for (struct ereq **pp = &reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	release(r);
	buf_free(&r->body);
	free(r);
}

/* ---- connecting and sending ---- */

static int try_connect(struct ereq *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock_path);
	if (r->fd < 0) {
		r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (r->fd < 0)
			return -errno;
	}
	if (connect(r->fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		r->st = ST_SENDING;
		return 0;
	}
	int e = errno;
	if (e == EAGAIN) {
		/* The engine's backlog is full. An unconnected unix socket polls as writable at once, so
		 * POLLOUT would spin: retry on a short, growing timer instead. */
		r->retry_ms = r->retry_ms ? (r->retry_ms < 100 ? r->retry_ms * 2 : 200) : 5;
		r->retry_at = now_ms() + r->retry_ms;
		r->st = ST_RETRY;
		return 0;
	}
	if (e == EINPROGRESS) {
		r->st = ST_CONNECTING;
		return 0;
	}
	return -e;
}

static int connected(struct ereq *r)
{
	int e = 0;
	socklen_t l = sizeof e;
	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		e = errno;
	if (e)
		return -e;
	r->st = ST_SENDING;
	return 0;
}

static int do_send(struct ereq *r)
{
	/* Bounded per turn so a fast reader cannot hold the loop for a whole image upload. */
	for (int i = 0; i < 16; i++) {
		const char *p = iobuf;
		size_t n;
		if (r->out_off < r->out_len) {
			p = r->out + r->out_off;
			n = r->out_len - r->out_off;
		} else if (r->file_off < r->file_end) {
			size_t want = sizeof iobuf;
			if ((off_t)want > r->file_end - r->file_off)
				want = (size_t)(r->file_end - r->file_off);
			/* pread at our own offset: a partial send simply re-reads its tail next time. */
			ssize_t k = pread(r->body_fd, iobuf, want, r->file_off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				int e = errno;
				err("engine: %s: reading the body at %lld: %s", r->what, (long long)r->file_off, strerror(e));
				return -e;
			}
			if (k == 0) {
				err("engine: %s: the body file shrank to %lld bytes while sent", r->what, (long long)r->file_off);
				return -EIO;
			}
			n = (size_t)k;
		} else {
			break;
		}
		ssize_t s = send(r->fd, p, n, MSG_NOSIGNAL);
		if (s < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (errno == EPIPE || errno == ECONNRESET) {
				/* The engine may have answered (e.g. 400) before closing: read that. */
				r->send_err = -errno;
				r->st = ST_RECEIVING;
				return 0;
			}
			return -errno;
		}
		if (r->out_off < r->out_len)
			r->out_off += (size_t)s;
		else
			r->file_off += s;
	}
	if (r->out_off == r->out_len && r->file_off >= r->file_end) {
		/* No shutdown(SHUT_WR): Go's HTTP server cancels a request whose client half-closes. */
		free(r->out);
		r->out = NULL;
		r->st = ST_RECEIVING;
	}
	return 0;
}

/* 1: the response is complete; 0: more to come; <0: failed. */
static int do_recv(struct ereq *r)
{
	ssize_t n = recv(r->fd, iobuf, sizeof iobuf, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return r->send_err ? r->send_err : -errno;
	}
	if (n > 0)
		r->got = 1;
	/* n == 0 tells the parser about EOF, which ends a body that has neither length nor chunks. */
	size_t used = http_parser_execute(&r->hp, &engine_http_settings, iobuf, (size_t)n);
	if (r->dead)
		return 0;
	if (r->complete && r->hijack && r->hp.upgrade && r->hp.status_code == 101) {
		/* What came after the headers is the start of the raw stream: its new owner's. */
		r->body.len = 0;
		if (engine_http_body(&r->hp, iobuf + used, (size_t)n - used))
			return r->err;
		return 1;
	}
	if (r->complete)
		return 1;
	if (HTTP_PARSER_ERRNO(&r->hp) != HPE_OK) {
		if (r->err)
			return r->err;
		/* A stream (events) ends this way whenever dockerd stops: its owner decides whether
		 * that is worth a line (it is not during a shutdown). */
		if (r->stream && n == 0 && HTTP_PARSER_ERRNO(&r->hp) == HPE_INVALID_EOF_STATE)
			return -ECONNRESET;
		warn("engine: %s: not an HTTP response: %s", r->what, http_errno_description(HTTP_PARSER_ERRNO(&r->hp)));
		return -EPROTO;
	}
	if (n == 0) {
		if (r->send_err)
			return r->send_err;
		if (!r->got)
			return -ECONNRESET;
		warn("engine: %s: connection closed in the middle of the response", r->what);
		return -EPROTO;
	}
	return 0;
}

static void step(struct ereq *r, short rev)
{
	int e = 0;
	r->busy = 1;
	if (r->st == ST_CONNECTING)
		e = connected(r);
	if (!e && r->st == ST_SENDING && (rev & (POLLOUT | POLLERR | POLLHUP)))
		e = do_send(r);
	if (!e && (r->st == ST_SENDING || r->st == ST_RECEIVING) && (rev & (POLLIN | POLLERR | POLLHUP)))
		e = do_recv(r);
	if (!r->dead && e)
		finish(r, e > 0 ? (int)r->hp.status_code : e);
	r->busy = 0;
	if (r->dead)
		destroy(r);
}

/* ---- the request ---- */

static struct ereq *start(const char *method, const char *path, const char *json_body, int body_fd,
                          int timeout_ms, ereq_done_fn done, ereq_chunk_fn chunk, void *arg, int hijack)
{
	struct ereq *r = calloc(1, sizeof *r);
	if (!r) {
		err("engine: %s %s: %s", method, path, strerror(ENOMEM));
		if (body_fd >= 0)
			close(body_fd);
		return NULL;
	}
	r->serial = serial_next++;
	r->fd = -1;
	r->body_fd = body_fd;
	r->done = done;
	r->chunk = chunk;
	r->arg = arg;
	r->hijack = hijack;
	r->start = now_ms();
	r->deadline = timeout_ms > 0 ? r->start + timeout_ms : 0;
	snprintf(r->what, sizeof r->what, "%s %s", method, path);
	http_parser_init(&r->hp, HTTP_RESPONSE);
	r->hp.data = r;
	struct ereq **pp = &reqs;       /* at the tail: engine_pollfds serves the oldest first */
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;

	int e = engine_http_request(r, method, path, json_body);
	if (!e) {
		e = try_connect(r);
		if (e)
			debug("engine: %s: connect %s: %s", r->what, sock_path, strerror(-e));
	}
	if (e) {
		release(r);
		r->st = ST_FAILED;
		r->err = e;
	}
	return r;
}

struct ereq *engine_call(const char *method, const char *path, const char *json_body, int body_fd,
                         int timeout_ms, ereq_done_fn done, ereq_chunk_fn chunk, void *arg)
{
	return start(method, path, json_body, body_fd, timeout_ms, done, chunk, arg, 0);
}

struct ereq *engine_hijack(const char *method, const char *path, int timeout_ms, ereq_done_fn done, void *arg)
{
	return start(method, path, NULL, -1, timeout_ms, done, NULL, arg, 1);
}

int engine_take_fd(struct ereq *r)
{
	int fd = r->fd;
	if (!r->hijack || r->hp.status_code != 101)
		return -1;
	r->fd = -1;
	return fd;
}

void engine_cancel(struct ereq *r)
{
	if (!r || r->st == ST_DONE)
		return;
	int busy = r->busy;
	r->busy = 1;
	finish(r, -ECANCELED);
	r->busy = busy;
	if (!busy)
		destroy(r);
}

int engine_cancel_all(void)
{
	uint64_t limit = serial_next;
	int n = 0;
again:
	for (struct ereq *r = reqs; r; r = r->next)
		if (r->st != ST_DONE && r->serial < limit) {
			engine_cancel(r);
			n++;
			goto again;     /* done() may have changed the list */
		}
	return n;
}

/* ---- event loop integration ---- */

static short wanted(const struct ereq *r)
{
	switch (r->st) {
	case ST_CONNECTING: return POLLOUT;
	case ST_SENDING: return POLLOUT | POLLIN;
	case ST_RECEIVING: return POLLIN;
	default: return 0;
	}
}

int engine_pollfds(struct pollfd *pfd, int max)
{
	int n = 0;
	for (struct ereq *r = reqs; r && n < max; r = r->next)
		if (wanted(r)) {
			pfd[n].fd = r->fd;
			pfd[n].events = wanted(r);
			pfd[n++].revents = 0;
		}
	return n;
}

void engine_dispatch(const struct pollfd *pfd, int n)
{
	/* A callback may end requests and start new ones that reuse a closed fd number: match only
	 * requests that existed when this dispatch began. */
	uint64_t limit = serial_next;
	for (int i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		for (struct ereq *r = reqs; r; r = r->next)
			if (r->fd == pfd[i].fd && r->serial < limit && wanted(r)) {
				step(r, pfd[i].revents);
				break;
			}
	}
}

static void earliest(int64_t *best, int64_t t)
{
	if (*best < 0 || t < *best)
		*best = t;
}

int engine_timeout_ms(void)
{
	int64_t now = now_ms(), best = -1;
	for (struct ereq *r = reqs; r; r = r->next) {
		if (r->st == ST_DONE)
			continue;
		if (r->st == ST_FAILED)
			earliest(&best, now);
		if (r->st == ST_RETRY)
			earliest(&best, r->retry_at);
		if (r->deadline)
			earliest(&best, r->deadline);
	}
	if (best < 0)
		return -1;
	return best <= now ? 0 : best - now > INT_MAX ? INT_MAX : (int)(best - now);
}

void engine_expire(void)
{
	uint64_t limit = serial_next;   /* a request started from done() waits for the next turn */
again:;
	int64_t now = now_ms();
	for (struct ereq *r = reqs; r; r = r->next) {
		if (r->st == ST_DONE || r->serial >= limit)
			continue;
		int e = 0;
		if (r->st == ST_FAILED)
			e = r->err;
		else if (r->deadline && now >= r->deadline)
			e = -ETIMEDOUT;
		else if (r->st == ST_RETRY && now >= r->retry_at && (e = try_connect(r)))
			debug("engine: %s: connect %s: %s", r->what, sock_path, strerror(-e));
		else
			continue;
		r->busy = 1;
		finish(r, e);
		r->busy = 0;
		destroy(r);
		goto again;     /* done() may have changed the list */
	}
}

struct ereq *engine_callf(const char *method, const char *json_body, int timeout_ms, ereq_done_fn done, void *arg,
			  const char *fmt, ...)
{
	char path[sizeof ENGINE_API + 512] = ENGINE_API;
	size_t pre = strlen(ENGINE_API);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(path + pre, sizeof path - pre, fmt, ap);
	va_end(ap);
	/* An empty path is refused as an invalid request line: done() gets -EINVAL like any bad call. */
	return engine_call(method, n < 0 || (size_t)n >= sizeof path - pre ? "" : path, json_body, -1, timeout_ms,
			   done, NULL, arg);
}
