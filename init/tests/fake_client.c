/* A fake of the engine client for the state machines' tests (fake_client.h): requests queued,
 * answered by the test. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_client.h"

struct call calls[64];
int ncalls;
struct ereq *const dummy = (struct ereq *)&calls;

struct ereq *engine_call(const char *method, const char *path, const char *json_body, int body_fd, int timeout_ms,
			 ereq_done_fn done, ereq_chunk_fn chunk, void *arg)
{
	(void)body_fd; (void)timeout_ms; (void)chunk;
	assert_true(ncalls < 64);
	struct call *c = &calls[ncalls++];
	snprintf(c->method, sizeof c->method, "%s", method);
	snprintf(c->path, sizeof c->path, "%s", path + strlen(ENGINE_API) * !strncmp(path, ENGINE_API, strlen(ENGINE_API)));
	c->body = json_body ? strdup(json_body) : NULL;
	c->done = done;
	c->arg = arg;
	return dummy;
}

struct ereq *engine_callf(const char *method, const char *json_body, int timeout_ms, ereq_done_fn done, void *arg,
			  const char *fmt, ...)
{
	char path[300] = ENGINE_API;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(path + strlen(path), sizeof path - strlen(path), fmt, ap);
	va_end(ap);
	return engine_call(method, path, json_body, -1, timeout_ms, done, NULL, arg);
}

const char *engine_errmsg(const char *body) { return body ? body : ""; }
const char *engine_failure(int status, const char *body) { (void)status; return engine_errmsg(body); }

void calls_reset(void)
{
	for (int i = 0; i < ncalls; i++)
		free(calls[i].body);
	ncalls = 0;
}

int find(const char *method, const char *path)
{
	size_t n = strlen(path);
	int wild = n && path[n - 1] == '*';
	for (int i = 0; i < ncalls; i++)
		if (calls[i].done && !strcmp(calls[i].method, method) &&
		    (wild ? !strncmp(calls[i].path, path, n - 1) : !strcmp(calls[i].path, path)))
			return i;
	return -1;
}

int pending(const char *method, const char *path) { return find(method, path) >= 0; }

int npending(void)
{
	int n = 0;
	for (int i = 0; i < ncalls; i++)
		n += !!calls[i].done;
	return n;
}

void answer_len(const char *method, const char *path, int status, const char *body, size_t len)
{
	int i = find(method, path);
	if (i < 0) {
		for (int k = 0; k < ncalls; k++)
			if (calls[k].done)
				fprintf(stderr, "  pending: %s %s\n", calls[k].method, calls[k].path);
		fail_msg("no pending %s %s", method, path);
	}
	ereq_done_fn done = calls[i].done;
	calls[i].done = NULL;
	done(dummy, status, body, len, calls[i].arg);
	free(calls[i].body);
	calls[i].body = NULL;
}

void answer(const char *method, const char *path, int status, const char *body)
{
	answer_len(method, path, status, body, body ? strlen(body) : 0);
}
