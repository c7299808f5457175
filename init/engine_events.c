/* The engine's JSON side on top of engine.c: the /events stream (newline-delimited JSON objects
 * reassembled across chunks, one cJSON object per callback) and the "message" of error bodies. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cJSON.h"
#include "engine.h"
#include "log.h"

struct evs {
	engine_event_fn fn;
	engine_ended_fn ended;
	void *arg;
	int err;                /* why we ended the stream ourselves */
	int in_chunk, ended_yet;
	size_t len;
	char line[ENGINE_EVENT_LINE_MAX];
};

static int emit(struct evs *s)
{
	size_t n = s->len;
	s->len = 0;
	while (n && (s->line[n - 1] == '\r' || s->line[n - 1] == ' '))
		n--;
	if (!n)
		return 0;
	cJSON *ev = cJSON_ParseWithLength(s->line, n);
	if (!ev) {
		warn("engine: events: not JSON: %.*s", (int)(n > 200 ? 200 : n), s->line);
		return -EPROTO;
	}
	s->fn(ev, s->arg);
	cJSON_Delete(ev);
	return 0;
}

static void ev_chunk(struct ereq *r, const char *data, size_t len, void *arg)
{
	struct evs *s = arg;
	s->in_chunk = 1;
	while (len && !s->ended_yet) {
		const char *nl = memchr(data, '\n', len);
		size_t k = nl ? (size_t)(nl - data) : len;
		if (s->len + k > sizeof s->line) {
			warn("engine: events: a line over %u bytes", ENGINE_EVENT_LINE_MAX);
			s->err = -EMSGSIZE;
			engine_cancel(r);
			break;
		}
		memcpy(s->line + s->len, data, k);
		s->len += k;
		if (!nl)
			break;
		data += k + 1;
		len -= k + 1;
		int e = emit(s);        /* fn() may cancel the stream: ended_yet tells */
		if (e && !s->ended_yet) {
			s->err = e;
			engine_cancel(r);
		}
	}
	s->in_chunk = 0;
	if (s->ended_yet)
		free(s);
}

static void ev_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	struct evs *s = arg;
	(void)r;
	(void)len;
	if (status == -ECANCELED && s->err)
		status = s->err;
	if (status == 200 && s->len)
		debug("engine: events: the stream ended inside a line (%zu bytes dropped)", s->len);
	s->ended_yet = 1;
	if (s->ended)
		s->ended(status, status >= 300 ? engine_errmsg(body) : NULL, s->arg);
	if (!s->in_chunk)
		free(s);
}

static char *urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = malloc(strlen(s) * 3 + 1), *p = o;
	if (!o)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = 0;
	return o;
}

struct ereq *engine_events(const char *filters_json, engine_event_fn fn, engine_ended_fn ended, void *arg)
{
	struct evs *s = calloc(1, sizeof *s);
	char *enc = filters_json ? urlencode(filters_json) : NULL;
	char *path = malloc(sizeof ENGINE_API "/events?filters=" + (enc ? strlen(enc) : 0));
	if (!s || !path || (filters_json && !enc)) {
		err("engine: events: %s", strerror(ENOMEM));
		free(s);
		free(enc);
		free(path);
		return NULL;
	}
	sprintf(path, "%s/events%s%s", ENGINE_API, enc ? "?filters=" : "", enc ? enc : "");
	free(enc);
	s->fn = fn;
	s->ended = ended;
	s->arg = arg;
	struct ereq *r = engine_call("GET", path, NULL, -1, 0, ev_done, ev_chunk, s);
	free(path);
	if (!r)
		free(s);
	return r;
}

const char *engine_errmsg(const char *body)
{
	static char msg[512];
	if (!body)
		return "";
	cJSON *j = cJSON_Parse(body);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (!cJSON_IsString(m)) {
		cJSON_Delete(j);
		return body;
	}
	snprintf(msg, sizeof msg, "%s", m->valuestring);
	cJSON_Delete(j);
	return msg;
}

const char *engine_failure(int status, const char *body)
{
	static char out[600];
	snprintf(out, sizeof out, "%d %s", status, status < 0 ? strerror(-status) : engine_errmsg(body));
	return out;
}
