/* Inside the engine client: one request's state, shared by engine.c (its connection and lifetime)
 * and engine_http.c (the HTTP/1.1 bytes: the request written, the response parsed). */
#ifndef OD_ENGINE_REQ_H
#define OD_ENGINE_REQ_H
#include "bytebuf.h"
#include <stdint.h>
#include <sys/types.h>
#include "engine.h"
#include "http_parser.h"

enum st { ST_FAILED, ST_RETRY, ST_CONNECTING, ST_SENDING, ST_RECEIVING, ST_DONE };

struct ereq {
	struct ereq *next;
	uint64_t serial;        /* tells requests started inside a callback from those being dispatched */
	enum st st;
	int fd, body_fd;
	int err;                /* ST_FAILED: the failure to report; else a failure found inside a parser callback */
	int send_err;           /* the engine closed while we sent: report this if no answer comes */
	int busy, dead, complete, stream, got;
	int hijack;             /* engine_hijack(): the connection is handed over on 101 */
	char what[96];          /* "METHOD /path" for the logs */
	char *out;              /* request line, headers and JSON body */
	size_t out_len, out_off;
	off_t file_off, file_end;
	int64_t start, deadline, retry_at;
	int retry_ms;
	http_parser hp;
	struct bytebuf body;   /* the response body, unless streamed to chunk */
	ereq_done_fn done;
	ereq_chunk_fn chunk;
	void *arg;
};

extern const http_parser_settings engine_http_settings;
int engine_http_body(http_parser *p, const char *at, size_t len);     /* append to r->body, or stream it */
int engine_http_request(struct ereq *r, const char *method, const char *path, const char *json);
#endif
