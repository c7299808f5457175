/* Fuzz target: the kvm --run spec (run.c), JSON from QEMU's fw_cfg: parsed, checked, its shares
 * mounted (faked), and, with a fake engine that answers every request with 200 and "{}", taken
 * through the image check, the create body built from it, the attach and the end. run.c is
 * included whole so its statics can be reset between inputs. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include "../run.c"
#include "log.h"

static const uint8_t *in;
static size_t in_len;

int read_file(const char *path, char *buf, size_t size)
{
	(void)path;
	size_t n = in_len < size - 1 ? in_len : size - 1;
	memcpy(buf, in, n);
	buf[n] = 0;
	return (int)n;
}
int mount(const char *s, const char *t, const char *ty, unsigned long f, const void *d)
{
	(void)s; (void)t; (void)ty; (void)f; (void)d;
	return 0;
}
int mkdirs(const char *p, mode_t m) { (void)p; (void)m; return 0; }
void log_msg(int level, const char *fmt, ...) { (void)level; (void)fmt; }
const char *engine_errmsg(const char *body) { return body ? body : ""; }
const char *engine_failure(int status, const char *body) { (void)status; return engine_errmsg(body); }
int engine_ready(void) { return 1; }
void engine_listen(struct engine_listener *l) { (void)l; }
void shutdown_request(enum power_action a, const char *why) { (void)a; (void)why; }
int runport_open(const struct runport_ops *o) { (void)o; return 0; }
int runport_send(unsigned type, const void *data, size_t len) { (void)type; (void)data; (void)len; return 0; }
int runport_flush(int ms) { (void)ms; return 0; }
size_t runport_pending(void) { return 0; }
void runstream_attach(void) {}
void runstream_end(void) {}
void runstream_stop(void) {}
void runstream_stdin(const char *d, size_t n) { (void)d; (void)n; }
void runstream_drained(void) {}

/* Requests are answered later, one at a time, as the loop would: never from inside the call. */
static struct { ereq_done_fn done; void *arg; } pending[8];
static int npending;
struct ereq *engine_call(const char *method, const char *path, const char *json, int body_fd, int timeout_ms,
			 ereq_done_fn done, ereq_chunk_fn chunk, void *arg)
{
	(void)method; (void)path; (void)body_fd; (void)timeout_ms; (void)chunk;
	if (json) {                     /* what run.c builds must be JSON */
		cJSON *j = cJSON_Parse(json);
		if (!j)
			abort();
		cJSON_Delete(j);
	}
	if (npending < 8) {
		pending[npending].done = done;
		pending[npending].arg = arg;
		npending++;
	}
	return (struct ereq *)&pending;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in = data;
	in_len = size;
	config_boot("od.run", NULL);
	memset(&run, 0, sizeof run);
	run.code = -1;
	reported = 0;
	pull_error[0] = 0;
	npending = 0;
	run_setup();
	if (run.state == R_BOOT || run.state == R_IMAGE)
		engine_up();            /* run.c's listener, as enginelife.c would call it */
	for (int i = 0; i < 32 && npending; i++) {
		ereq_done_fn done = pending[0].done;
		void *arg = pending[0].arg;
		memmove(pending, pending + 1, --npending * sizeof pending[0]);
		if (done)
			done((struct ereq *)&pending, 200, "{\"Id\":\"0123456789ab\",\"StatusCode\":0}", 36, arg);
	}
	run_shutdown();
	cJSON_Delete(spec);
	spec = NULL;
	return 0;
}
