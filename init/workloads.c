/* The document's containers, once the engine is up: the onboot list run to completion one entry
 * after the other (a failure logged with the container's output; a required one stops the boot
 * there), then the services made to match the document (created, recreated when their
 * definition changed, started, removed when gone from it), then the compose file brought up. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmdline.h"
#include "engine.h"
#include "enginelife.h"
#include "frame.h"
#include "imagefetch.h"
#include "images.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "syscont_spec.h"
#include "workloads.h"

#define CALL_MS 30000
#define ONBOOT_S_DEFAULT 300
#define COMPOSE_S 600
#define LOG_TAIL 20
#define PULL_MS 600000

enum phase { IDLE, ONBOOT, SERVICES, COMPOSE, DONE, STOPPED };
static enum phase phase;
static void (*over)(int ok);

static const cJSON *doc_item(const char *key)
{
	return cfg->doc ? cJSON_GetObjectItemCaseSensitive(cfg->doc, key) : NULL;
}
static const char *str(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Engine gone or shutdown: what is in flight stops here, and the phase resumes at the next up. */
static int interrupted(int status)
{
	return status == -ECANCELED || !engine_ready() || shutdown_in_progress();
}

/* ---- one container run to its end: onboot entries and the compose runner ---- */
struct job {
	char name[64];          /* in messages: "onboot: NAME", "compose" */
	char cname[80];         /* the container's name */
	char image[256];
	char *body;             /* its create body */
	int timeout_s, required;
	char id[80];
	int64_t t0;
	int code;               /* the exit status; -1: did not end in time (killed) */
	void (*end)(struct job *j, int ok);
};
static struct job job;

static void job_over(struct job *j, int ok)
{
	free(j->body);
	j->body = NULL;
	j->end(j, ok);
}

static void job_failed(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_failed(struct job *j, const char *fmt, ...)
{
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	err("%s: failed: %s%s", j->name, why, j->required ? "; it is required: the boot stops here" : "; going on");
	job_over(j, 0);
}

/* The container's last lines, one log line each, as docker's framed stream (stdout, stderr). */
static void logs_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r;
	struct job *j = arg;
	const unsigned char *p = (const unsigned char *)body;
	while (status == 200 && p && len >= FRAME_HDR) {
		size_t n = frame_hdr_len(p);
		if (n > len - FRAME_HDR)
			break;
		const char *line = (const char *)p + FRAME_HDR;
		for (size_t l = n; l > 0;) {
			const char *nl = memchr(line, '\n', l);
			size_t k = nl ? (size_t)(nl - line) : l;
			warn("%s: | %.*s", j->name, (int)(k > 300 ? 300 : k), line);
			l -= k + !!nl;
			line += k + !!nl;
		}
		len -= FRAME_HDR + n;
		p += FRAME_HDR + n;
	}
	if (interrupted(status))
		return;
	if (j->code < 0)
		job_failed(j, "did not end within %d s (killed; its last lines above)", j->timeout_s);
	else
		job_failed(j, "exited with status %d (its last lines above)", j->code);
}

static void show_logs(struct job *j)
{
	if (!engine_callf("GET", NULL, CALL_MS, logs_done, j, "/containers/%s/logs?stdout=1&stderr=1&tail=%d", j->id, LOG_TAIL))
		job_failed(j, "out of memory");
}

static void kill_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)body; (void)len;
	if (!interrupted(status))
		show_logs(arg);
}

static void wait_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct job *j = arg;
	if (status == -ETIMEDOUT) {
		j->code = -1;
		engine_callf("POST", NULL, CALL_MS, kill_done, j, "/containers/%s/kill", j->id);
		return;
	}
	if (interrupted(status))
		return;
	cJSON *w = engine_json(status, 200, body);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(w, "StatusCode");
	j->code = cJSON_IsNumber(code) ? code->valueint : -2;
	cJSON_Delete(w);
	if (j->code == -2)
		job_failed(j, "waiting for its end: %s", engine_failure(status, body));
	else if (j->code != 0)
		show_logs(j);
	else {
		info("%s: done (status 0) in %lld ms", j->name, (long long)(now_ms() - j->t0));
		job_over(j, 1);
	}
}

static void job_started(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct job *j = arg;
	if (interrupted(status))
		return;
	if (status != 204 && status != 304) {
		job_failed(j, "start: %s", engine_failure(status, body));
		return;
	}
	/* The wait outlives the container's own deadline by a little: a timeout means it did not end. */
	engine_callf("POST", NULL, j->timeout_s * 1000, wait_done, j, "/containers/%s/wait", j->id);
}

static void job_created(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct job *j = arg;
	if (interrupted(status))
		return;
	if (engine_created_id(status, body, j->id, sizeof j->id) < 0) {
		job_failed(j, "create: %s", engine_failure(status, body));
		return;
	}
	j->t0 = now_ms();
	engine_callf("POST", NULL, CALL_MS, job_started, j, "/containers/%s/start", j->id);
}

/* The last boot's container of that name (kept after a failure, for `docker logs`) goes first. */
static void job_removed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct job *j = arg;
	if (interrupted(status))
		return;
	if (status != 204 && status != 404) {
		job_failed(j, "removing the last boot's container %s: %s", j->cname, engine_failure(status, body));
		return;
	}
	engine_callf("POST", j->body, CALL_MS, job_created, j, "/containers/create?name=%s", j->cname);
}

static void job_image(void *arg, int rc, const char *why)
{
	struct job *j = arg;
	if (interrupted(rc))
		return;
	if (rc < 0) {
		job_failed(j, "image %s: %s", j->image, why ? why : strerror(-rc));
		return;
	}
	engine_callf("DELETE", NULL, CALL_MS, job_removed, j, "/containers/%s?force=1", j->cname);
}

static void job_run(struct job *j)
{
	j->id[0] = 0;
	j->code = 0;
	image_fetch(j->image, j->timeout_s * 1000, job_image, j);
}

/* ---- the onboot list, in order ---- */
static int onboot_i;            /* the entry in hand */
static void services_begin(void);

static void onboot_next(void);
static void onboot_end(struct job *j, int ok)
{
	if (!ok && j->required) {
		phase = STOPPED;
		err("onboot: the boot stopped at the required entry '%s': no services, no compose file%s",
		    j->name + strlen("onboot: "),
		    cfg->dom0 ? ", no dom0; the debug shell has the console" : "; the debug shell has the console");
		if (over)
			over(0);
		return;
	}
	onboot_i++;
	onboot_next();
}

static void onboot_next(void)
{
	const cJSON *e = cJSON_GetArrayItem(doc_item("onboot"), onboot_i);
	if (!e) {
		if (onboot_i)
			info("onboot: the list has ended (%d entr%s)", onboot_i, onboot_i == 1 ? "y" : "ies");
		if (over)
			over(1);
		services_begin();
		return;
	}
	struct job *j = &job;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "timeout");
	snprintf(j->name, sizeof j->name, "onboot: %s", str(e, "name"));
	snprintf(j->cname, sizeof j->cname, ONBOOT_PREFIX "%s", str(e, "name"));
	j->required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "required"));
	j->timeout_s = cJSON_IsNumber(t) ? t->valueint : ONBOOT_S_DEFAULT;
	j->end = onboot_end;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "invalid"))) {
		job_failed(j, "its entry in the document is not valid (said when the document was read)");
		return;
	}
	snprintf(j->image, sizeof j->image, "%s", str(e, "image"));
	j->body = workload_json(WL_ONBOOT, str(e, "name"), e, NULL);
	info("onboot: %s: running %s", str(e, "name"), j->image);
	job_run(j);
}

/* ---- the services, made to match the document ---- */
struct svc {
	char name[64], id[80], hash[9];
	const cJSON *e;         /* its entry; NULL: not in the document */
	int have, running, same;
	char *body;
};
static struct stage_join services_join;
static void compose_begin(void);

static void svc_end(struct svc *s)
{
	free(s->body);
	free(s);
	stage_join_one(&services_join);
}

static void svc_failed(struct svc *s, const char *what, int status, const char *why)
{
	if (!interrupted(status))
		err("service %s: %s: %s", s->name, what, why);
	svc_end(s);
}

static void svc_started(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct svc *s = arg;
	if (status != 204 && status != 304) {
		svc_failed(s, "start", status, engine_failure(status, body));
		return;
	}
	info("service %s: running (%.12s)", s->name, s->id);
	svc_end(s);
}

static void svc_start(struct svc *s)
{
	if (!engine_callf("POST", NULL, CALL_MS, svc_started, s, "/containers/%s/start", s->id))
		svc_end(s);
}

static void svc_created(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct svc *s = arg;
	if (engine_created_id(status, body, s->id, sizeof s->id) < 0) {
		svc_failed(s, status == 409 ? "a container of that name that is no service is in the way; left alone"
			   : "create", status, engine_failure(status, body));
		return;
	}
	svc_start(s);
}

static void svc_image(void *arg, int rc, const char *why)
{
	struct svc *s = arg;
	if (rc < 0) {
		char what[300];
		snprintf(what, sizeof what, "image %s", str(s->e, "image"));
		svc_failed(s, what, rc, why ? why : strerror(-rc));
		return;
	}
	if (!engine_callf("POST", s->body, CALL_MS, svc_created, s, "/containers/create?name=%s", s->name))
		svc_end(s);
}

static void svc_removed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct svc *s = arg;
	if (status != 204 && status != 404) {
		svc_failed(s, "remove", status, engine_failure(status, body));
		return;
	}
	if (!s->e) {
		info("service %s: removed (no longer in the configuration)", s->name);
		svc_end(s);
		return;
	}
	image_fetch(str(s->e, "image"), PULL_MS, svc_image, s);
}

/* One service: what runs under its name against what the document says. */
static void svc_apply(struct svc *s)
{
	if (s->e && s->have && s->same) {
		if (s->running) {
			info("service %s: running, unchanged", s->name);
			svc_end(s);
		} else {
			svc_start(s);
		}
		return;
	}
	if (s->have) {
		if (s->e)
			info("service %s: its definition changed: recreating it", s->name);
		if (!engine_callf("DELETE", NULL, CALL_MS, svc_removed, s, "/containers/%s?force=1", s->id))
			svc_end(s);
		return;
	}
	image_fetch(str(s->e, "image"), PULL_MS, svc_image, s);
}

static struct svc *svc_new(const char *name, const cJSON *e)
{
	struct svc *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->e = e;
	if (e)
		s->body = workload_json(WL_SERVICE, name, e, s->hash);
	services_join.pending++;
	return s;
}

static void list_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	const cJSON *want = doc_item("services"), *c, *e;
	cJSON *list = engine_json(status, 200, body);
	if (!list) {
		if (!interrupted(status))
			err("services: listing the containers: %s; services left as they are", engine_failure(status, body));
		if (!interrupted(status))
			compose_begin();
		return;
	}
	struct svc *todo[128];
	size_t n = 0;
	cJSON_ArrayForEach(c, list) {
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
		const char *name = str(labels, LABEL_SERVICE), *hash = str(labels, LABEL_CONFIG), *id = str(c, "Id");
		if (!name || !id || n == sizeof todo / sizeof todo[0])
			continue;
		e = cJSON_GetObjectItemCaseSensitive(want, name);
		if (e && cJSON_IsNull(e)) {
			warn("service %s: its entry in the document is not valid; the container is left as it is", name);
			continue;
		}
		struct svc *s = svc_new(name, e);
		if (!s)
			continue;
		snprintf(s->id, sizeof s->id, "%s", id);
		s->have = 1;
		s->running = str(c, "State") && !strcmp(str(c, "State"), "running");
		s->same = hash && !strcmp(hash, s->hash);
		todo[n++] = s;
	}
	cJSON_ArrayForEach(e, want) {
		int have = 0;
		for (size_t i = 0; i < n && !have; i++)
			have = !strcmp(todo[i]->name, e->string);
		if (have || cJSON_IsNull(e) || n == sizeof todo / sizeof todo[0])
			continue;
		struct svc *s = svc_new(e->string, e);
		if (s)
			todo[n++] = s;
	}
	cJSON_Delete(list);
	for (size_t i = 0; i < n; i++)
		svc_apply(todo[i]);
	stage_join_one(&services_join);          /* the list's own share */
}

static void services_done(void)
{
	if (phase == SERVICES && engine_ready() && !shutdown_in_progress())
		compose_begin();
}

/* Only a document that has `services:` says which should exist: without one, none is touched. */
static void services_begin(void)
{
	phase = SERVICES;
	if (!doc_item("services")) {
		compose_begin();
		return;
	}
	stage_join_start(&services_join, services_done);
	/* Every container that is ours as a service, running or not: {"label":["org.onlydocker.service"]} */
	if (!engine_callf("GET", NULL, CALL_MS, list_done, NULL, "/containers/json?all=1&filters=%s",
			  "%7B%22label%22%3A%5B%22" LABEL_SERVICE "%22%5D%7D"))
		compose_begin();
}

/* ---- the compose file, brought up by the docker CLI ---- */
static void compose_end(struct job *j, int ok)
{
	(void)j; (void)ok;
	phase = DONE;
}

static void compose_begin(void)
{
	const char *file = str(cfg->doc, "compose");
	phase = COMPOSE;
	if (!file) {
		phase = DONE;
		return;
	}
	if (access(file, R_OK) < 0) {
		err("compose: %s: %s; nothing brought up", file, strerror(errno));
		phase = DONE;
		return;
	}
	struct job *j = &job;
	snprintf(j->name, sizeof j->name, "compose");
	snprintf(j->cname, sizeof j->cname, COMPOSE_NAME);
	snprintf(j->image, sizeof j->image, "%s", DOM0_BUNDLED);
	j->required = 0;
	j->timeout_s = COMPOSE_S;
	j->end = compose_end;
	j->body = workload_compose_json(file, NULL);
	info("compose: bringing %s up", file);
	job_run(j);
}

/* ---- the engine's life ---- */
static void engine_up(void)
{
	if (!cfg->doc || cfg->run)
		return;
	switch (phase) {
	case IDLE:
	case ONBOOT:            /* the engine went away during the list: the entry in hand again */
		phase = ONBOOT;
		onboot_next();
		break;
	case SERVICES:
		services_begin();
		break;
	case COMPOSE:
		compose_begin();
		break;
	case DONE:
	case STOPPED:
		break;
	}
}

static void engine_down(void)
{
	free(job.body);
	job.body = NULL;
}

int workloads_gate(void)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, doc_item("onboot"))
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "required")))
			return !cfg->run;
	return 0;
}

void workloads_setup(void (*onboot_over)(int ok))
{
	static struct engine_listener l = { engine_up, engine_down, NULL };
	over = onboot_over;
	engine_listen(&l);
}
