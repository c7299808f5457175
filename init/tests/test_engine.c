/* Unit tests of the engine client (engine.c, engine_events.c) against the fake engine, driven by the
 * same poll loop PID 1 runs: engine_pollfds -> poll(engine_timeout_ms) -> engine_dispatch -> engine_expire. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "cJSON.h"
#include "engine.h"
#include "fake_engine.h"
#include "log.h"
#include "log_stub.h"

static char dir[] = "/tmp/test_engine.XXXXXX";
static char sock[256];
static pid_t fake;
static int ndone;                       /* done() calls so far */
static int fds_before;

struct res {
	int called, status;
	char *body;
	size_t len;
	int64_t at;
	int pieces;                     /* chunk() calls */
	char streamed[256];
};

static void on_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	struct res *x = arg;
	(void)r;
	x->called++;
	x->status = status;
	x->len = len;
	x->body = NULL;
	if (body) {
		x->body = malloc(len + 1);
		memcpy(x->body, body, len + 1);
	}
	x->at = now_ms();
	ndone++;
}

static void on_chunk(struct ereq *r, const char *data, size_t len, void *arg)
{
	struct res *x = arg;
	(void)r;
	x->pieces++;
	strncat(x->streamed, data, len < sizeof x->streamed - strlen(x->streamed) - 1 ? len : 0);
}

/* An optional listening socket (and its one connection) served by the test itself inside the loop. */
static int x_listen = -1, x_conn = -1;

static void x_serve(void)
{
	static char req[4096];
	static size_t have;
	if (x_conn < 0) {
		x_conn = accept4(x_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		have = 0;
		return;
	}
	ssize_t k = read(x_conn, req + have, sizeof req - 1 - have);
	if (k > 0) {
		have += (size_t)k;
		req[have] = 0;
	}
	if (k == 0 || strstr(req, "\r\n\r\n")) {
		const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
		assert_int_equal(write(x_conn, a, strlen(a)), (ssize_t)strlen(a));
		close(x_conn);
		x_conn = -1;
	}
}

/* The PID 1 loop in miniature, until `target` done() calls; fails the test after max_ms. Returns turns. */
static int run(int target, int max_ms)
{
	int64_t end = now_ms() + max_ms;
	int turns = 0;
	while (ndone < target) {
		struct pollfd pfd[64];
		int nx = 0;
		if (x_listen >= 0) {
			pfd[nx].fd = x_conn >= 0 ? x_conn : x_listen;
			pfd[nx++].events = POLLIN;
		}
		int n = engine_pollfds(pfd + nx, 64 - nx);
		int t = engine_timeout_ms();
		int64_t left = end - now_ms();
		if (left <= 0)
			fail_msg("still %d of %d requests pending after %d ms", target - ndone, target, max_ms);
		if (t < 0 || t > left)
			t = (int)left;
		int k = poll(pfd, (nfds_t)(nx + n), t);
		assert_true(k >= 0 || errno == EINTR);
		if (nx && pfd[0].revents)
			x_serve();
		engine_dispatch(pfd + nx, n);
		engine_expire();
		turns++;
	}
	return turns;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	(void)state;
	engine_set_socket(sock);
	ndone = 0;
	log_last[0] = 0;
	fds_before = count_fds();
	return 0;
}

/* Every test must leave nothing behind: no request, no deadline, no fd. */
static int teardown(void **state)
{
	struct pollfd pfd[4];
	(void)state;
	assert_int_equal(engine_cancel_all(), 0);
	assert_int_equal(engine_pollfds(pfd, 4), 0);
	assert_int_equal(engine_timeout_ms(), -1);
	assert_int_equal(count_fds(), fds_before);
	return 0;
}

static void call(const char *method, const char *path, const char *json, int timeout_ms, struct res *x)
{
	memset(x, 0, sizeof *x);
	assert_non_null(engine_call(method, path, json, -1, timeout_ms, on_done, NULL, x));
}

static void test_ping(void **state)
{
	struct res a;
	(void)state;
	call("GET", "/_ping", NULL, 1000, &a);
	run(1, 2000);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "OK");
	assert_int_equal(a.len, 2);
	free(a.body);
}

static void test_post_json(void **state)
{
	struct res a;
	(void)state;
	static const char req[] = "{\"Image\":\"busybox\",\"Cmd\":[\"sh\"]}";
	call("POST", "/echo", req, 1000, &a);
	run(1, 2000);
	assert_int_equal(a.status, 200);
	cJSON *j = cJSON_Parse(a.body);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "POST");
	assert_string_equal(cJSON_GetObjectItem(j, "ctype")->valuestring, "application/json");
	assert_string_equal(cJSON_GetObjectItem(j, "host")->valuestring, "docker");
	assert_string_equal(cJSON_GetObjectItem(j, "connection")->valuestring, "close");
	assert_int_equal(cJSON_GetObjectItem(j, "len")->valueint, strlen(req));
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "body"), "Image")->valuestring, "busybox");
	cJSON_Delete(j);
	free(a.body);

	call("POST", "/echo", NULL, 1000, &a);  /* a POST without a body still says Content-Length: 0 */
	run(2, 2000);
	assert_int_equal(a.status, 200);
	assert_non_null(strstr(a.body, "\"len\":0,"));
	free(a.body);
}

static void test_content_length(void **state)
{
	struct res a;
	(void)state;
	call("GET", "/cl", NULL, 1000, &a);
	run(1, 2000);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "{\"Id\":\"sha256:abc\",\"RepoTags\":[\"x:latest\"]}");
	free(a.body);
}

static void test_body_until_eof(void **state)
{
	struct res a;
	(void)state;
	call("GET", "/eof", NULL, 1000, &a);
	run(1, 2000);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "no length: the body ends at EOF");
	free(a.body);
}

static void test_chunked_bytewise(void **state)
{
	static const char want[] = "{\"a\":\"hello, chunked\"} \r\n";
	struct res a, b;
	(void)state;
	call("GET", "/chunked", NULL, 2000, &a);
	run(1, 3000);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, want);
	free(a.body);

	memset(&b, 0, sizeof b);        /* streamed: pieces as they come, nothing accumulated */
	assert_non_null(engine_call("GET", "/chunked", NULL, -1, 2000, on_done, on_chunk, &b));
	run(2, 3000);
	assert_int_equal(b.status, 200);
	assert_null(b.body);
	assert_string_equal(b.streamed, want);
	assert_true(b.pieces > 3);
}

static void test_error_404(void **state)
{
	struct res a, b;
	(void)state;
	call("DELETE", "/err404", NULL, 1000, &a);
	memset(&b, 0, sizeof b);        /* streaming asked, but an error body is accumulated */
	assert_non_null(engine_call("GET", "/err404", NULL, -1, 1000, on_done, on_chunk, &b));
	run(2, 2000);
	assert_int_equal(a.status, 404);
	assert_string_equal(engine_errmsg(a.body), "No such image: x");
	assert_int_equal(b.status, 404);
	assert_int_equal(b.pieces, 0);
	assert_string_equal(engine_errmsg(b.body), "No such image: x");
	assert_string_equal(engine_errmsg("plain text"), "plain text");
	assert_string_equal(engine_errmsg(NULL), "");
	free(a.body);
	free(b.body);
}

static void test_timeout(void **state)
{
	struct res a;
	(void)state;
	int64_t t0 = now_ms();
	call("GET", "/hang", NULL, 200, &a);
	int turns = run(1, 2000);
	assert_int_equal(a.status, -ETIMEDOUT);
	assert_in_range(a.at - t0, 200, 300);
	assert_true(turns < 10);        /* waited in poll, did not spin */
}

static void test_garbage(void **state)
{
	struct res a;
	(void)state;
	call("GET", "/garbage", NULL, 1000, &a);
	run(1, 2000);
	assert_int_equal(a.status, -EPROTO);
	assert_non_null(strstr(log_last, "GET /garbage: not an HTTP response"));
	assert_int_equal(log_last_level, LOG_WARN);
}

static void test_closed_without_answer(void **state)
{
	struct res a;
	(void)state;
	call("GET", "/close", NULL, 1000, &a);
	run(1, 2000);
	assert_int_equal(a.status, -ECONNRESET);
}

static void test_body_too_big(void **state)
{
	struct res a;
	(void)state;
	call("GET", "/big", NULL, 5000, &a);
	run(1, 6000);
	assert_int_equal(a.status, -EMSGSIZE);
	assert_null(a.body);
}

static void test_no_engine(void **state)
{
	struct res a, b;
	char path[100];
	(void)state;
	engine_set_socket("/nonexistent/docker.sock");
	call("GET", "/_ping", NULL, 1000, &a);
	assert_int_equal(a.called, 0);  /* reported from the loop, never from inside engine_call */
	assert_int_equal(engine_timeout_ms(), 0);
	run(1, 1000);
	assert_int_equal(a.status, -ENOENT);

	/* a socket file nobody listens on, as dockerd leaves behind when it dies */
	snprintf(path, sizeof path, "%s/dead.sock", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	close(s);
	engine_set_socket(path);
	call("GET", "/_ping", NULL, 1000, &b);
	run(2, 1000);
	assert_int_equal(b.status, -ECONNREFUSED);
	unlink(path);
}

static void test_bad_arguments(void **state)
{
	struct res a, b;
	int p[2];
	(void)state;
	call("GET", "/a path", NULL, 1000, &a);
	assert_int_equal(pipe(p), 0);
	memset(&b, 0, sizeof b);
	assert_non_null(engine_call("POST", "/upload", NULL, p[0], 1000, on_done, NULL, &b));
	run(2, 1000);
	assert_int_equal(a.status, -EINVAL);
	assert_int_equal(b.status, -EINVAL);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);     /* the engine owned the body fd and closed it */
	close(p[1]);
}

struct evrec {
	int n, ended, status;
	char actions[128], query[512], msg[64];
	struct ereq *r;
	int cancel_after;
};

static void on_event(const cJSON *ev, void *arg)
{
	struct evrec *e = arg;
	const cJSON *q = cJSON_GetObjectItem(ev, "query");
	e->n++;
	strcat(e->actions, cJSON_GetObjectItem(ev, "Action")->valuestring);
	strcat(e->actions, ",");
	if (q) {
		snprintf(e->query, sizeof e->query, "%s", q->valuestring);
		assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "Actor"), "ID")->valuestring, "abc");
	}
	if (e->cancel_after && e->n == e->cancel_after)
		engine_cancel(e->r);
}

static void on_ended(int status, const char *msg, void *arg)
{
	struct evrec *e = arg;
	e->ended++;
	e->status = status;
	snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "(null)");
	ndone++;
}

static void test_events(void **state)
{
	struct evrec e = { 0 };
	(void)state;
	e.r = engine_events("{\"type\":[\"container\"]}", on_event, on_ended, &e);
	assert_non_null(e.r);
	assert_int_equal(engine_timeout_ms(), -1);      /* the stream has no deadline */
	run(1, 2000);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.actions, "start,connect,");
	assert_string_equal(e.query, "/v1.45/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D");
	assert_int_equal(e.ended, 1);
	assert_int_equal(e.status, 200);
}

static void test_events_cancel_from_callback(void **state)
{
	struct evrec e = { .cancel_after = 2 };
	(void)state;
	e.r = engine_events("{\"label\":[\"hold\"]}", on_event, on_ended, &e);
	run(1, 2000);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.status, -ECANCELED);
	assert_int_equal(e.ended, 1);
}

static void test_events_error(void **state)
{
	struct evrec e = { 0 };
	(void)state;
	e.r = engine_events("{\"label\":[\"fail\"]}", on_event, on_ended, &e);
	run(1, 2000);
	assert_int_equal(e.n, 0);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.msg, "boom");
}

/* dockerd stopping closes the stream mid-body: reported to the owner, not logged as garbage. */
static void test_events_cut_by_a_stopping_engine(void **state)
{
	struct evrec e = { 0 };
	(void)state;
	log_last[0] = 0;
	e.r = engine_events("{\"label\":[\"cut\"]}", on_event, on_ended, &e);
	run(1, 2000);
	assert_string_equal(e.actions, "die,");
	assert_int_equal(e.status, -ECONNRESET);
	assert_int_equal(e.ended, 1);
	assert_null(strstr(log_last, "not an HTTP response"));
}

static void test_events_bad_lines(void **state)
{
	struct evrec e = { 0 }, f = { 0 };
	(void)state;
	e.r = engine_events("{\"label\":[\"junk\"]}", on_event, on_ended, &e);
	f.r = engine_events("{\"label\":[\"long\"]}", on_event, on_ended, &f);
	run(2, 2000);
	assert_string_equal(e.actions, "ok,");
	assert_int_equal(e.status, -EPROTO);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.status, -EMSGSIZE);
	assert_int_equal(e.ended + f.ended, 2);
}

static int make_file(const char *name, size_t size, uint32_t *hash)
{
	char path[100];
	static unsigned char blk[1 << 16];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	*hash = FNV_INIT;
	for (size_t off = 0; off < size; off += sizeof blk) {
		for (size_t i = 0; i < sizeof blk; i++)
			blk[i] = (unsigned char)(((off + i) * 2654435761u) >> 13);
		assert_int_equal(write(fd, blk, sizeof blk), (ssize_t)sizeof blk);
		*hash = fnv1a(*hash, blk, sizeof blk);
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	unlink(path);
	return fd;
}

static void test_upload_8mib(void **state)
{
	struct res a;
	uint32_t h;
	(void)state;
	int fd = make_file("image.tar", 8u << 20, &h);
	memset(&a, 0, sizeof a);
	int64_t t0 = now_ms();
	assert_non_null(engine_call("POST", "/upload", NULL, fd, 10000, on_done, NULL, &a));
	run(1, 15000);
	print_message("[   INFO   ] 8 MiB upload answered in %lld ms\n", (long long)(a.at - t0));
	assert_int_equal(a.status, 200);
	cJSON *j = cJSON_Parse(a.body);
	assert_non_null(j);
	assert_int_equal((long long)cJSON_GetObjectItem(j, "len")->valuedouble, 8ll << 20);
	assert_int_equal((uint32_t)cJSON_GetObjectItem(j, "fnv")->valuedouble, h);
	assert_string_equal(cJSON_GetObjectItem(j, "ctype")->valuestring, "application/x-tar");
	cJSON_Delete(j);
	free(a.body);
	assert_int_equal(fcntl(fd, F_GETFD), -1);       /* closed by the engine */
}

static void test_upload_rejected_early(void **state)
{
	struct res a;
	uint32_t h;
	(void)state;
	int fd = make_file("bad.tar", 8u << 20, &h);
	memset(&a, 0, sizeof a);
	assert_non_null(engine_call("POST", "/reject", NULL, fd, 5000, on_done, NULL, &a));
	run(1, 6000);
	assert_int_equal(a.status, 400);        /* the answer, not the broken pipe */
	assert_string_equal(engine_errmsg(a.body), "bad tar");
	free(a.body);
}

static void test_concurrent(void **state)
{
	enum { N = 8 };
	struct res a[N];
	char path[64];
	(void)state;
	int64_t t0 = now_ms();
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "/slow?ms=300&id=%d", i);
		call("GET", path, NULL, 3000, &a[i]);
	}
	run(N, 4000);
	int64_t took = now_ms() - t0;
	print_message("[   INFO   ] %d requests of 300 ms each answered in %lld ms\n", N, (long long)took);
	assert_true(took < 3 * 300);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof path, "%d", i);
		assert_int_equal(a[i].status, 200);
		assert_string_equal(a[i].body, path);
		free(a[i].body);
	}
}

/* done() of one request starts another and cancels a third: the lists must survive it. */
static struct res chain_b, chain_c;
static struct ereq *chain_c_req;

static void on_done_chain(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	on_done(r, status, body, len, arg);
	memset(&chain_b, 0, sizeof chain_b);
	assert_non_null(engine_call("GET", "/cl", NULL, -1, 1000, on_done, NULL, &chain_b));
	engine_cancel(chain_c_req);
	engine_cancel(r);               /* a no-op from inside its own done() */
}

static void test_callbacks_reenter(void **state)
{
	struct res a = { 0 };
	(void)state;
	memset(&chain_c, 0, sizeof chain_c);
	chain_c_req = engine_call("GET", "/hang", NULL, -1, 5000, on_done, NULL, &chain_c);
	assert_non_null(engine_call("GET", "/_ping", NULL, -1, 1000, on_done_chain, NULL, &a));
	run(3, 2000);
	assert_int_equal(a.status, 200);
	assert_int_equal(chain_c.status, -ECANCELED);
	assert_int_equal(chain_b.status, 200);
	free(a.body);
	free(chain_b.body);

	/* engine_cancel_all reports every open request exactly once */
	struct res d, e;
	call("GET", "/hang", NULL, 5000, &d);
	call("GET", "/nothing here", NULL, 5000, &e);
	assert_int_equal(engine_cancel_all(), 2);
	assert_int_equal(d.status, -ECANCELED);
	assert_int_equal(e.status, -ECANCELED);
	assert_int_equal(d.called + e.called, 2);
}

/* A full backlog (EAGAIN from connect) is retried on a timer, not spun on. */
static void test_backlog_full(void **state)
{
	struct res a;
	int raw[8], nraw = 0;
	char path[100];
	(void)state;
	snprintf(path, sizeof path, "%s/backlog.sock", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	x_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(x_listen, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(x_listen, 0), 0);
	for (;;) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(c);
			break;
		}
		assert_true(nraw < 8);
		raw[nraw++] = c;
	}
	engine_set_socket(path);
	call("GET", "/_ping", NULL, 2000, &a);
	struct pollfd pfd[4];
	assert_int_equal(engine_pollfds(pfd, 4), 0);    /* nothing to poll: waiting on a timer */
	assert_in_range(engine_timeout_ms(), 1, 10);
	for (int i = 0; i < nraw; i++) {
		int c = accept(x_listen, NULL, NULL);
		assert_true(c >= 0);
		close(c);
		close(raw[i]);
	}
	int turns = run(1, 3000);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.body, "OK");
	assert_true(turns < 20);
	free(a.body);
	close(x_listen);
	x_listen = -1;
	unlink(path);
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_DFL);       /* like PID 1 may: a send without MSG_NOSIGNAL would kill the test */
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof sock, "%s/docker.sock", dir);
	fake = fake_engine_start(sock);
	return fake > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	fake_engine_stop(fake);
	unlink(sock);
	rmdir(dir);
	return 0;
}

struct hj {
	int status, fd;
	char first[64];
	size_t first_len;
};

static void on_hijack(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	struct hj *h = arg;
	h->status = status;
	h->fd = engine_take_fd(r);
	h->first_len = len < sizeof h->first ? len : sizeof h->first;
	if (body)
		memcpy(h->first, body, h->first_len);
	ndone++;
}

/* attach: the request asks to upgrade; on 101 the connection is handed over with the stream's first
 * bytes, and carries both ways from then on (the half-close is how stdin ends). */
static void test_hijack(void **state)
{
	struct hj h = { .fd = -1 };
	(void)state;
	assert_non_null(engine_hijack("POST", "/attach", 2000, on_hijack, &h));
	run(1, 3000);
	assert_int_equal(h.status, 101);
	assert_true(h.fd >= 0);
	assert_int_equal(h.first_len, 13);
	assert_memory_equal(h.first, "\1\0\0\0\0\0\0\5hello", 13);
	assert_int_equal(send(h.fd, "ping", 4, MSG_NOSIGNAL), 4);
	shutdown(h.fd, SHUT_WR);
	char back[64];
	size_t n = 0;
	ssize_t k;
	struct pollfd p = { .fd = h.fd, .events = POLLIN };
	while (n < sizeof back && poll(&p, 1, 2000) == 1 && (k = read(h.fd, back + n, sizeof back - n)) > 0)
		n += (size_t)k;
	assert_int_equal(n, 12);
	assert_memory_equal(back, "\2\0\0\0\0\0\0\4ping", 12);
	close(h.fd);
}

/* Not upgraded: an ordinary error, and no connection to take (the teardown counts the fds). */
static void test_hijack_refused(void **state)
{
	struct hj h = { .fd = -1 };
	(void)state;
	assert_non_null(engine_hijack("POST", "/err404", 2000, on_hijack, &h));
	run(1, 3000);
	assert_int_equal(h.status, 404);
	assert_int_equal(h.fd, -1);
}

/* GET /version against ENGINE_API_VERSION (1.45): newer engines that still serve it pass; an older
 * one, or a newer one that dropped it, is refused and named; junk is not mistaken for a version. */
static void test_api_version(void **state)
{
	(void)state;
	char why[240];
	assert_int_equal(engine_api_check("{\"Version\":\"26.1.5\",\"ApiVersion\":\"1.45\",\"MinAPIVersion\":\"1.24\"}",
					  why, sizeof why), 0);
	assert_non_null(strstr(why, "26.1.5"));
	assert_int_equal(engine_api_check("{\"Version\":\"29.0.0\",\"ApiVersion\":\"1.52\",\"MinAPIVersion\":\"1.44\"}",
					  why, sizeof why), 0);
	assert_int_equal(engine_api_check("{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}",
					  why, sizeof why), -EPROTO);
	assert_non_null(strstr(why, "engine 20.10.24 serves API 1.12 to 1.41"));
	assert_non_null(strstr(why, "written for API 1.45"));
	assert_int_equal(engine_api_check("{\"Version\":\"40.0\",\"ApiVersion\":\"1.60\",\"MinAPIVersion\":\"1.50\"}",
					  why, sizeof why), -EPROTO);
	assert_int_equal(engine_api_check("{\"ApiVersion\":\"1.45\"}", why, sizeof why), 0);
	assert_int_equal(engine_api_check("{\"ApiVersion\":\"1.44\"}", why, sizeof why), -EPROTO);
	assert_int_equal(engine_api_check("{\"ApiVersion\":\"v1.45x\"}", why, sizeof why), -EINVAL);
	assert_int_equal(engine_api_check("{\"ApiVersion\":\"1.45x\"}", why, sizeof why), -EINVAL);
	assert_int_equal(engine_api_check("not json", why, sizeof why), -EINVAL);
	assert_int_equal(engine_api_check(NULL, why, sizeof why), -EINVAL);
	assert_int_equal(engine_api_check("[]", why, sizeof why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_until_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_bytewise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_without_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_cancel_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_cut_by_a_stopping_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_8mib, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_rejected_early, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callbacks_reenter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backlog_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hijack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hijack_refused, setup, teardown),
		cmocka_unit_test(test_api_version),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
