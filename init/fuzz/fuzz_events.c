/* Fuzz target: the engine's /events stream (engine_events.c): newline-delimited JSON, reassembled
 * across chunks cut anywhere, one object per callback. The engine's connection is faked: the
 * chunk callback engine_events() registers is called with the input, then the end. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cJSON.h"
#include "engine.h"

static ereq_done_fn done_cb;
static ereq_chunk_fn chunk_cb;
static void *cb_arg;
static int cancelled;
static struct ereq *fake = (struct ereq *)&fake;

struct ereq *engine_call(const char *method, const char *path, const char *json, int body_fd, int timeout_ms,
			 ereq_done_fn done, ereq_chunk_fn chunk, void *arg)
{
	(void)method; (void)path; (void)json; (void)body_fd; (void)timeout_ms;
	done_cb = done;
	chunk_cb = chunk;
	cb_arg = arg;
	cancelled = 0;
	return fake;
}

void engine_cancel(struct ereq *r)
{
	if (r != fake || cancelled)
		return;
	cancelled = 1;
	done_cb(r, -ECANCELED, NULL, 0, cb_arg);
}

static int events;
static void on_event(const cJSON *ev, void *arg) { (void)arg; events += cJSON_IsObject(ev); }
static void on_end(int status, const char *msg, void *arg) { (void)status; (void)msg; (void)arg; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!engine_events("{}", on_event, on_end, NULL))
		return 0;
	/* Chunks cut where the input's bytes say: each byte < 8 ends a chunk. */
	size_t start = 0;
	for (size_t i = 0; i <= size && !cancelled; i++)
		if (i == size || data[i] < 8) {
			chunk_cb(fake, (const char *)data + start, i - start, cb_arg);
			start = i + 1;
		}
	if (!cancelled)
		done_cb(fake, 200, NULL, 0, cb_arg);
	return 0;
}
