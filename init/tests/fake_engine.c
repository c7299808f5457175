/* The fake engine: a blocking, forked server (test code, not PID 1 code) answering by path:
 * /_ping /echo /cl /eof /chunked /err404 /hang /garbage /close /big /slow?ms=N&id=K /upload /reject
 * /attach (a hijack: 101, a stdout frame, then what the client sent back as a stderr frame)
 * /v1.45/events?filters=... ("hold": stay open after the events, "fail": a 500, "junk": a line that is
 * not JSON, "long": an endless line). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fake_engine.h"

uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
	for (const unsigned char *c = p; n--; c++)
		h = (h ^ *c) * 16777619u;
	return h;
}

static void put(int c, const char *s, size_t n)
{
	while (n) {
		ssize_t k = write(c, s, n);
		if (k <= 0)
			_exit(0);       /* the client went away: nothing more to script */
		s += k;
		n -= (size_t)k;
	}
}

static void puts_(int c, const char *s) { put(c, s, strlen(s)); }

/* One byte per write with a pause, so the client sees the response split at every byte. */
static void put_bytewise(int c, const char *s)
{
	for (; *s; s++) {
		put(c, s, 1);
		usleep(100);
	}
}

static void reply(int c, const char *status, const char *body)
{
	char h[256];
	snprintf(h, sizeof h, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	         "Connection: close\r\n\r\n", status, strlen(body));
	puts_(c, h);
	puts_(c, body);
}

static void chunk(int c, const char *s)
{
	char h[32];
	snprintf(h, sizeof h, "%zx\r\n", strlen(s));
	puts_(c, h);
	puts_(c, s);
	puts_(c, "\r\n");
	usleep(2000);
}

static const char *header(const char *head, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	out[0] = 0;
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;
			while (*v == ' ')
				v++;
			size_t n = strcspn(v, "\r");
			snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), v);
			break;
		}
	return out;
}

static void serve(int c)
{
	static char buf[1 << 16], body[1 << 12], out[1 << 13];
	char method[16], path[1024], ctype[128], host[64], conn[64], clen[32], upgrade[32];
	size_t have = 0, hlen;
	char *end;

	for (;;) {      /* the request head */
		ssize_t k = read(c, buf + have, sizeof buf - 1 - have);
		if (k <= 0)
			_exit(0);
		have += (size_t)k;
		buf[have] = 0;
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
	}
	hlen = (size_t)(end - buf) + 4;
	*end = 0;
	if (sscanf(buf, "%15s %1023s", method, path) != 2)
		_exit(1);
	header(buf, "Content-Type", ctype, sizeof ctype);
	header(buf, "Host", host, sizeof host);
	header(buf, "Connection", conn, sizeof conn);
	header(buf, "Upgrade", upgrade, sizeof upgrade);
	long long want = atoll(header(buf, "Content-Length", clen, sizeof clen));

	if (!strcmp(path, "/reject")) {
		reply(c, "400 Bad Request", "{\"message\":\"bad tar\"}\n");
		_exit(0);       /* closing with the body unread */
	}
	/* the body: counted, hashed, its start kept */
	long long got = (long long)(have - hlen);
	uint32_t h = fnv1a(FNV_INIT, buf + hlen, have - hlen);
	size_t kept = have - hlen < sizeof body - 1 ? have - hlen : sizeof body - 1;
	memcpy(body, buf + hlen, kept);
	while (got < want) {
		ssize_t k = read(c, buf, sizeof buf);
		if (k <= 0)
			_exit(1);
		h = fnv1a(h, buf, (size_t)k);
		if (kept + (size_t)k < sizeof body - 1) {
			memcpy(body + kept, buf, (size_t)k);
			kept += (size_t)k;
		}
		got += k;
	}
	body[kept] = 0;

	if (!strcmp(path, "/attach")) {
		if (strcmp(upgrade, "tcp") || strcmp(conn, "Upgrade")) {
			reply(c, "400 Bad Request", "{\"message\":\"not an upgrade\"}\n");
			_exit(0);
		}
		/* The answer and the stream's first frame in one write, as dockerd may send them. */
		static const char head[] = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
					   "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n\1\0\0\0\0\0\0\5hello";
		put(c, head, sizeof head - 1);
		size_t n = 0;
		ssize_t k;
		while ((k = read(c, out + 8 + n, sizeof out - 8 - n)) > 0)   /* until the client's half-close */
			n += (size_t)k;
		memcpy(out, "\2\0\0\0", 4);
		out[4] = (char)(n >> 24); out[5] = (char)(n >> 16); out[6] = (char)(n >> 8); out[7] = (char)n;
		put(c, out, n + 8);
	} else if (!strcmp(path, "/_ping")) {
		puts_(c, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain; charset=utf-8\r\n"
		      "Content-Length: 2\r\n\r\nOK");
	} else if (!strcmp(path, "/echo")) {
		snprintf(out, sizeof out, "{\"method\":\"%s\",\"ctype\":\"%s\",\"host\":\"%s\",\"connection\":\"%s\","
		         "\"len\":%lld,\"body\":%s}", method, ctype, host, conn, got, got ? body : "null");
		reply(c, "200 OK", out);
	} else if (!strcmp(path, "/cl")) {
		reply(c, "200 OK", "{\"Id\":\"sha256:abc\",\"RepoTags\":[\"x:latest\"]}");
	} else if (!strcmp(path, "/eof")) {
		puts_(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nno length: the body ends at EOF");
	} else if (!strcmp(path, "/chunked")) {
		put_bytewise(c, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
		             "9\r\n{\"a\":\"hel\r\n" "A;ext=1\r\nlo, chunke\r\n" "6\r\nd\"} \r\n\r\n" "0\r\n\r\n");
	} else if (!strcmp(path, "/err404")) {
		reply(c, "404 Not Found", "{\"message\":\"No such image: x\"}\n");
	} else if (!strcmp(path, "/hang")) {
		while (read(c, buf, sizeof buf) > 0)
			;
	} else if (!strcmp(path, "/garbage")) {
		puts_(c, "SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n\r\n");
	} else if (!strcmp(path, "/close")) {
		/* nothing: closed without an answer */
	} else if (!strcmp(path, "/big")) {
		puts_(c, "HTTP/1.1 200 OK\r\nContent-Length: 5242880\r\n\r\n");
		memset(buf, 'a', sizeof buf);
		for (int i = 0; i < 80; i++)
			put(c, buf, sizeof buf);
	} else if (!strncmp(path, "/slow?", 6)) {
		int ms = 0, id = 0;
		sscanf(path, "/slow?ms=%d&id=%d", &ms, &id);
		usleep((useconds_t)ms * 1000);
		snprintf(out, sizeof out, "%d", id);
		reply(c, "200 OK", out);
	} else if (!strcmp(path, "/upload")) {
		snprintf(out, sizeof out, "{\"len\":%lld,\"fnv\":%u,\"ctype\":\"%s\"}", got, h, ctype);
		reply(c, "200 OK", out);
	} else if (!strncmp(path, "/v1.45/events", 13)) {
		if (strstr(path, "fail")) {
			reply(c, "500 Internal Server Error", "{\"message\":\"boom\"}\n");
			_exit(0);
		}
		puts_(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
		if (strstr(path, "junk")) {
			chunk(c, "{\"Action\":\"ok\"}\nnot JSON\n{\"Action\":\"never\"}\n");
			while (read(c, buf, sizeof buf) > 0)
				;
			_exit(0);
		}
		if (strstr(path, "cut")) {      /* dockerd stopping: the stream ends between chunks */
			chunk(c, "{\"Action\":\"die\"}\n");
			_exit(0);
		}
		if (strstr(path, "long")) {
			memset(out, 'x', sizeof out - 1);
			out[sizeof out - 1] = 0;
			for (int i = 0; i < 10; i++)    /* 80 KiB without a newline */
				chunk(c, out);
			while (read(c, buf, sizeof buf) > 0)
				;
			_exit(0);
		}
		snprintf(out, sizeof out, "{\"Type\":\"container\",\"Action\":\"start\",\"query\":\"%s\",\"Actor\":{\"ID\":\"ab", path);
		chunk(c, out);
		chunk(c, "c\"}}\n{\"Type\":\"network\",\"Act");
		chunk(c, "ion\":\"connect\"}\r\n");
		if (strstr(path, "hold")) {
			chunk(c, "{\"Type\":\"never\"");
			while (read(c, buf, sizeof buf) > 0)
				;
		} else {
			puts_(c, "0\r\n\r\n");
		}
	} else {
		reply(c, "404 Not Found", "{\"message\":\"page not found\"}\n");
	}
	_exit(0);
}

pid_t fake_engine_start(const char *sock_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	unlink(sock_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 64) < 0) {
		perror("fake engine: listen");
		return -1;
	}
	pid_t pid = fork();
	if (pid != 0) {
		close(l);
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGCHLD, SIG_IGN);       /* connection children reap themselves */
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (fork() == 0) {
			close(l);
			alarm(30);      /* never outlive a broken test */
			serve(c);
		}
		close(c);
	}
}

void fake_engine_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}
