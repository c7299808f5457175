/* The engine client's HTTP/1.1: the request line, headers and JSON or file body written for a
 * request, and the response parsed with http_parser (body kept, or streamed to its owner). The
 * connection and the request's lifetime are engine.c's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "engine_req.h"
#include "log.h"

static int on_headers(http_parser *p)
{
	struct ereq *r = p->data;
	r->stream = r->chunk && p->status_code < 300;
	return 0;
}

int engine_http_body(http_parser *p, const char *at, size_t len)
{
	struct ereq *r = p->data;
	if (r->stream) {
		r->chunk(r, at, len, r->arg);
		return r->dead;         /* cancelled from its own chunk callback: stop parsing */
	}
	if (r->body.len + len > ENGINE_BODY_MAX) {
		warn("engine: %s: response body over %u bytes", r->what, ENGINE_BODY_MAX);
		r->err = -EMSGSIZE;
		return 1;
	}
	if (buf_append(&r->body, at, len, 4096) < 0) {
		err("engine: %s: response body of %zu bytes: %s", r->what, r->body.len + len, strerror(ENOMEM));
		r->err = -ENOMEM;
		return 1;
	}
	return 0;
}

static int on_complete(http_parser *p)
{
	((struct ereq *)p->data)->complete = 1;
	return 0;
}

const http_parser_settings engine_http_settings = {
	.on_headers_complete = on_headers,
	.on_body = engine_http_body,
	.on_message_complete = on_complete,
};

int engine_http_request(struct ereq *r, const char *method, const char *path, const char *json)
{
	long long clen = -1;
	const char *ctype = NULL;
	size_t jl = json ? strlen(json) : 0;

	if (path[0] != '/' || strpbrk(path, " \r\n") || strpbrk(method, " \r\n/")) {
		err("engine: %s: invalid request line", r->what);
		return -EINVAL;
	}
	if (r->body_fd >= 0) {
		struct stat st;
		if (json) {
			err("engine: %s: both a JSON body and a body file", r->what);
			return -EINVAL;
		}
		if (fstat(r->body_fd, &st) < 0) {
			int e = errno;
			err("engine: %s: body file: %s", r->what, strerror(e));
			return -e;
		}
		if (!S_ISREG(st.st_mode)) {
			err("engine: %s: the body file is not a regular file", r->what);
			return -EINVAL;
		}
		r->file_off = lseek(r->body_fd, 0, SEEK_CUR);
		if (r->file_off < 0 || r->file_off > st.st_size)
			r->file_off = 0;
		r->file_end = st.st_size;
		clen = (long long)(st.st_size - r->file_off);
		ctype = "application/x-tar";
	} else if (json) {
		clen = (long long)jl;
		ctype = "application/json";
	} else if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
		clen = 0;
	}
	size_t cap = strlen(method) + strlen(path) + jl + 256;
	r->out = malloc(cap);
	if (!r->out) {
		err("engine: %s: %s", r->what, strerror(ENOMEM));
		return -ENOMEM;
	}
	/* A hijack asks to upgrade: the engine answers 101 and the connection carries a raw stream. */
	int n = snprintf(r->out, cap, "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: onlydocker-init\r\n%s",
	                 method, path, r->hijack ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n");
	if (ctype)
		n += snprintf(r->out + n, cap - (size_t)n, "Content-Type: %s\r\n", ctype);
	if (clen >= 0)
		n += snprintf(r->out + n, cap - (size_t)n, "Content-Length: %lld\r\n", clen);
	n += snprintf(r->out + n, cap - (size_t)n, "\r\n");
	if (json)
		memcpy(r->out + n, json, jl);
	r->out_len = (size_t)n + jl;
	return 0;
}
