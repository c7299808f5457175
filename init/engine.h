/* Docker Engine API client for PID 1: one HTTP/1.1 request per connection to the engine's unix socket,
 * all asynchronous (driven by the one poll(2) loop, no threads), each with a deadline.
 * Paths are sent as given: callers prefix ENGINE_API. */
#ifndef OD_ENGINE_H
#define OD_ENGINE_H
#include <cJSON.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>

/* The API version init's requests are written for (Docker 26.1). Every path says it, so a newer
 * engine answers as this version did; engine_api_check() refuses an engine that cannot. */
#define ENGINE_API_VERSION "1.45"
#define ENGINE_API "/v" ENGINE_API_VERSION
#define ENGINE_SOCKET_DEFAULT "/var/run/docker.sock"
#define ENGINE_BODY_MAX (4u << 20)              /* bigger accumulated bodies fail with -EMSGSIZE */
#define ENGINE_EVENT_LINE_MAX (64u << 10)       /* longer /events lines end the stream with -EMSGSIZE */

struct ereq;
struct cJSON;

/* status: the HTTP status (100..599), or -errno: -ETIMEDOUT (deadline), -ENOENT/-ECONNREFUSED (no engine),
 * -ECONNRESET (closed without an answer), -EPROTO (not HTTP), -EMSGSIZE (body over ENGINE_BODY_MAX),
 * -ECANCELED (engine_cancel), -EINVAL (bad arguments), -EPIPE/-EIO... (sending failed).
 * body: NUL-terminated, NULL when empty or streamed. r and body are freed once done() returns. */
typedef void (*ereq_done_fn)(struct ereq *r, int status, const char *body, size_t len, void *arg);
/* Streaming: called with each piece of a 1xx/2xx body as it arrives (de-chunked); such a body is not
 * accumulated. Error bodies (status >= 300) are always accumulated, so done() gets the engine's message. */
typedef void (*ereq_chunk_fn)(struct ereq *r, const char *data, size_t len, void *arg);

void engine_set_socket(const char *path);       /* default ENGINE_SOCKET_DEFAULT; applies to later calls */

/* Starts a request; never blocks. done() is called exactly once for every request returned, never from
 * inside engine_call(): failures found at once (no socket, bad path) are reported by the next
 * engine_expire() (engine_timeout_ms() returns 0 meanwhile). Returns NULL only when out of memory
 * (logged; done() is not called).
 * json_body: sent with Content-Type application/json, or NULL.
 * body_fd: -1, or a regular file whose content from its current offset is streamed as the body
 *   (application/x-tar, Content-Length from fstat), a piece at a time. The engine takes ownership: it is
 *   closed when the request ends, whatever the outcome (also when json_body makes the call invalid).
 * timeout_ms: deadline for the whole exchange; 0 = none (only for the /events stream). */
struct ereq *engine_call(const char *method, const char *path, const char *json_body, int body_fd,
                         int timeout_ms, ereq_done_fn done, ereq_chunk_fn chunk, void *arg);

/* For the endpoints that take the connection over (attach): the request asks to upgrade, and when
 * the engine answers 101, done() gets status 101 and, as body, the first bytes of the raw stream
 * (NULL if none yet); inside that done(), engine_take_fd(r) hands over the connection itself
 * (non-blocking; the caller closes it). Any other answer is reported as engine_call() would. */
struct ereq *engine_hijack(const char *method, const char *path, int timeout_ms, ereq_done_fn done, void *arg);
int engine_take_fd(struct ereq *r);     /* -1 unless r is a hijack answered with 101 */

/* Ends r now: done() is called synchronously with -ECANCELED, then r is freed. Allowed from any callback,
 * including r's own chunk callback; a no-op from inside r's own done(). */
void engine_cancel(struct ereq *r);
int engine_cancel_all(void);                    /* returns how many were cancelled */

/* Event loop integration, each loop turn: n = engine_pollfds(); poll(..., min(timeout, engine_timeout_ms()));
 * engine_dispatch(the engine's slice, n); engine_expire(). */
int engine_pollfds(struct pollfd *pfd, int max);
void engine_dispatch(const struct pollfd *pfd, int n);
int engine_timeout_ms(void);                    /* ms until the nearest deadline or retry, -1 if none */
void engine_expire(void);                       /* deadlines (-ETIMEDOUT), connect retries, deferred failures */

/* engine_events.c: GET ENGINE_API/events?filters=<filters_json> (or no filters when NULL) as a stream of
 * newline-delimited JSON objects: fn() gets each object (freed after it returns). ended() is called once
 * when the stream ends: status 200 when the engine closed it, an HTTP error with the engine's message
 * (msg, else NULL), or -errno (-EPROTO: a line that is not JSON; -ECANCELED via engine_cancel()). */
typedef void (*engine_event_fn)(const struct cJSON *ev, void *arg);
typedef void (*engine_ended_fn)(int status, const char *msg, void *arg);
struct ereq *engine_events(const char *filters_json, engine_event_fn fn, engine_ended_fn ended, void *arg);

/* GET /version's body against ENGINE_API_VERSION: 0 when the engine serves that version (its
 * ApiVersion is at least it and its MinAPIVersion at most it), else -EPROTO with why[] saying
 * what the engine offers; -EINVAL for a body that is not such JSON. Pure: no I/O, no logging. */
int engine_api_check(const char *version_body, char *why, size_t why_len);

/* The "message" of an engine error body, else the body itself, "" for NULL. Valid until the next call. */
const char *engine_errmsg(const char *body);
/* A failed request in one string, "STATUS MESSAGE": the engine's message, or strerror for -errno.
 * Valid until the next call. */
const char *engine_failure(int status, const char *body);
/* A response's JSON body, parsed, when the request was answered `want` (200, 201...); else, or when
 * the body is not JSON, NULL, and engine_failure(status, body) says why. The caller deletes it. */
static inline cJSON *engine_json(int status, int want, const char *body)
{
	return status == want ? cJSON_Parse(body) : NULL;
}
/* Whether an image load (POST /images/load) went through: it answers 200 and reports a bad
 * archive inside its JSON stream. */
static inline int engine_loaded(int status, const char *body)
{
	return status == 200 && !(body && strstr(body, "\"errorDetail\""));
}
/* A create's answer: 0 with the new container's Id copied into id (n bytes), or -1 when it was not
 * answered 201 with one (engine_failure(status, body) says why). */
static inline int engine_created_id(int status, const char *body, char *id, size_t n)
{
	cJSON *j = engine_json(status, 201, body);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "Id");
	int ok = cJSON_IsString(v) && strlen(v->valuestring) < n;
	if (ok)
		strcpy(id, v->valuestring);
	cJSON_Delete(j);
	return ok ? 0 : -1;
}
/* engine_call() with a printf-style path, ENGINE_API prefixed (a path over 512 bytes: -EINVAL). */
struct ereq *engine_callf(const char *method, const char *json_body, int timeout_ms, ereq_done_fn done, void *arg,
			  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
