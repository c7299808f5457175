/* The system containers (dhcp, ntp, dom0), each described whole by a struct sysc_spec and all driven by
 * one state machine through the Engine API: the bundled image loaded only when the engine lacks it,
 * the container (re)created and started, its death learned from the /events stream and answered
 * by recreating it from whatever its reference names now (the upgrade path), rolled back to the
 * bundled image when a new one keeps exiting at once. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmdline.h"
#include "engine.h"
#include "enginelife.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "syscont.h"
#include "syscont_spec.h"

#define CALL_MS 30000
#define LOAD_MS 120000
#define QUICK_EXIT_MS 5000
#define ROLLBACK_AFTER 3

/* Named after the request in flight. */
enum st {
	IDLE, INSPECTING_IMAGE, AWAITING_LOAD, LOADING, ADOPTING, INSPECTING_PREPARED, REMOVING, CREATING, HELD, STARTING, RUNNING, TAGGING,
};

struct sysc {
	const struct sysc_spec *spec;
	enum st st;
	char id[80];
	int64_t started;
	int quick_exits, failures;
	int loaded;                             /* its bundle was loaded this boot: tags may have moved */
	char died[16];                          /* the exit code of a death seen while its start was in flight */
	int gated;                              /* held once made, until syscont_release() */
	struct timer retry;
};

#define N SYSCONT_N
#define specs syscont_specs
static struct sysc conts[N];

static struct ereq *events;
static int ups;
static int64_t t_up;

static void create(struct sysc *s);
static void check_image(void *arg);
static void on_die(struct sysc *s, const char *code);
static void start(struct sysc *s);

static struct sysc *by_name(const char *name)
{
	for (size_t i = 0; i < N; i++)
		if (name && !strcmp(specs[i].name, name))
			return &conts[i];
	return NULL;
}

/* s's start is over, one way or the other: the ones held for it go now. */
static void release_held(struct sysc *s)
{
	for (size_t i = 0; i < N; i++)
		if (conts[i].st == HELD && !conts[i].gated && by_name(specs[i].after) == s && !shutdown_in_progress())
			start(&conts[i]);
}

static void failed(struct sysc *s, const char *what, int status, const char *body)
{
	s->st = IDLE;
	release_held(s);
	if (status == -ECANCELED || shutdown_in_progress())   /* the engine is going away on purpose */
		return;
	s->failures++;
	int delay = s->failures > 5 ? 30000 : 1000 << s->failures;
	err("%s: %s: %s; retrying in %d ms", s->spec->name, what, engine_failure(status, body), delay);
	if (engine_ready())
		timer_arm(&s->retry, delay, check_image, s);
}

static void start_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	if (status != 204 && status != 304) {
		failed(s, "start", status, body);
		return;
	}
	s->st = RUNNING;
	s->started = now_ms();
	s->failures = 0;
	info("%s: container started (%.12s), %lld ms after the engine came up", s->spec->name, s->id,
	     (long long)(now_ms() - t_up));
	if (s->spec->started)
		s->spec->started();
	release_held(s);
	if (s->died[0]) {       /* it exited before the engine answered the start: that death counts now */
		char code[16];
		memcpy(code, s->died, sizeof code);
		s->died[0] = 0;
		on_die(s, code);
	}
}

static void start(struct sysc *s)
{
	s->died[0] = 0;
	s->st = STARTING;
	engine_callf("POST", NULL, CALL_MS, start_done, s, "/containers/%s/start", s->id);
}

/* On its way to running, its image already there: what waits for it is held. */
static int on_its_way(const struct sysc *s)
{
	return s && s->st >= INSPECTING_PREPARED && s->st <= STARTING && s->st != HELD;
}

/* Made: started, unless its gate is shut or what it starts after is on its way. */
static void go(struct sysc *s)
{
	if (s->gated || on_its_way(by_name(s->spec->after)))
		s->st = HELD;
	else
		start(s);
}

static void create_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	if (engine_created_id(status, body, s->id, sizeof s->id) < 0) {
		failed(s, "create", status, body);
		return;
	}
	go(s);
}

static void remove_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	if (status != 204 && status != 404) {
		failed(s, "removing the old container", status, body);
		return;
	}
	char *json = syscont_json(s->spec, NULL);
	s->st = CREATING;
	engine_callf("POST", json, CALL_MS, create_done, s, "/containers/create?name=%s", s->spec->name);
	free(json);
}

/* Any container of that name is from an earlier boot or an earlier life: replace it. */
static void replace(struct sysc *s)
{
	s->st = REMOVING;
	engine_callf("DELETE", NULL, CALL_MS, remove_done, s, "/containers/%s?force=1", s->spec->name);
}

/* The container prepared at the last clean shutdown (never started, made as it would be made now)
 * is started as it is: removing and creating it cost ~200 ms of the way to the prompt. */
static void prepared_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	const char *id;
	int running, created, same;
	cJSON *j = syscont_inspected(s->spec, status, body, &id, &running, &created, &same);
	int usable = id && created && same;
	if (usable) {
		snprintf(s->id, sizeof s->id, "%s", id);
		info("%s: starting the container prepared at the last shutdown (%.12s)", s->spec->name, s->id);
	} else if (status != 404) {     /* none is the usual case after an unclean end: nothing to say */
		info("%s: the container left by the last shutdown is not the one to start (%s); making a new one",
		     s->spec->name, status != 200 ? "the engine could not tell" : !created ? "it has run"
		     : "made for another console or init");
	}
	cJSON_Delete(j);
	if (usable)
		go(s);
	else
		replace(s);
}

static void create(struct sysc *s)
{
	/* A bundle loaded this boot (a new initramfs) may have moved the tag the container was made from. */
	if (!s->spec->prepare || s->loaded) {
		replace(s);
		return;
	}
	s->st = INSPECTING_PREPARED;
	engine_callf("GET", NULL, CALL_MS, prepared_done, s, "/containers/%s/json", s->spec->name);
}

/* Another container's load of the same archive (dhcp's and ntp's image is one): the one in flight. */
static struct sysc *loading(const struct sysc *s)
{
	for (size_t i = 0; i < N; i++)
		if (&conts[i] != s && conts[i].st == LOADING && !strcmp(specs[i].bundle, s->spec->bundle))
			return &conts[i];
	return NULL;
}

static void load_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	int ok = engine_loaded(status, body);
	if (!ok)
		failed(s, "loading the bundled image", status, body);
	else
		info("%s: bundled image loaded from %s in %lld ms", s->spec->name, s->spec->bundle, (long long)(now_ms() - t_up));
	/* Those that waited for this load go on: created now, or each trying on its own. */
	for (size_t i = 0; i < N; i++)
		if (conts[i].st == AWAITING_LOAD && !strcmp(specs[i].bundle, s->spec->bundle)) {
			conts[i].loaded = ok;
			ok ? create(&conts[i]) : check_image(&conts[i]);
		}
	if (ok) {
		s->loaded = 1;
		create(s);
	}
}

static void inspect_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	cJSON *j = engine_json(status, 200, body);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	int have = cJSON_IsString(id) && !strcmp(id->valuestring, s->spec->bundle_id);
	cJSON_Delete(j);
	if (status < 0) {
		failed(s, "inspecting its image", status, body);
		return;
	}
	if (have) {
		info("%s: image %s already in the engine, not reloaded", s->spec->name, s->spec->bundle_ref);
		create(s);
		return;
	}
	if (loading(s)) {       /* one archive loaded twice at once would cost the first boot seconds */
		s->st = AWAITING_LOAD;
		return;
	}
	int fd = open(s->spec->bundle, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("%s: bundled image %s: %s", s->spec->name, s->spec->bundle, strerror(errno));
		s->st = IDLE;
		if (status == 200)      /* an older bundle is there: better than nothing */
			create(s);
		return;
	}
	s->st = LOADING;
	engine_call("POST", ENGINE_API "/images/load?quiet=1", NULL, fd, LOAD_MS, load_done, NULL, s);
}

static void check_image(void *arg)
{
	struct sysc *s = arg;
	if (!engine_ready() || shutdown_in_progress() || !s->spec->wanted())
		return;
	s->st = INSPECTING_IMAGE;
	engine_callf("GET", NULL, CALL_MS, inspect_done, s, "/images/%s/json", s->spec->bundle_ref);
}

static void tag_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	if (status != 201)
		err("%s: rolling back to %s: %s", s->spec->name, s->spec->bundle_ref, engine_failure(status, body));
	create(s);
}

static void create_later(void *arg) { create(arg); }

static void on_die(struct sysc *s, const char *code)
{
	const struct sysc_spec *sp = s->spec;
	if (s->st == STARTING) {        /* the die event can overtake the start's answer */
		snprintf(s->died, sizeof s->died, "%s", code);
		return;
	}
	if (s->st != RUNNING)
		return;
	s->st = IDLE;
	int64_t ran = now_ms() - s->started;
	if (shutdown_in_progress())
		return;
	s->quick_exits = ran < QUICK_EXIT_MS ? s->quick_exits + 1 : 0;
	info("%s: exited (code %s) after %lld ms; recreating it from %s", sp->name, code, (long long)ran, sp->image);
	if (s->quick_exits < ROLLBACK_AFTER) {
		create(s);
		return;
	}
	if (!sp->rollback_repo) {       /* nothing to roll back to: keep trying, at a slower pace */
		timer_arm(&s->retry, 5000, create_later, s);
		return;
	}
	err("%s: the image %s exited within %d s %d times in a row; rolling back to the bundled %s",
	    sp->name, sp->image, QUICK_EXIT_MS / 1000, s->quick_exits, sp->bundle_ref);
	s->quick_exits = 0;
	s->st = TAGGING;
	engine_callf("POST", NULL, CALL_MS, tag_done, s, "/images/%s/tag?repo=%s&tag=%s&force=1", sp->bundle_ref,
		 sp->rollback_repo, sp->rollback_tag);
}

static void on_event(const cJSON *ev, void *arg)
{
	(void)arg;
	const cJSON *actor = cJSON_GetObjectItemCaseSensitive(ev, "Actor");
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(attrs, "name");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(attrs, "exitCode");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(actor, "ID");
	if (!cJSON_IsString(name) || !cJSON_IsString(id))
		return;
	struct sysc *s = by_name(name->valuestring);
	if (s && !strcmp(id->valuestring, s->id))
		on_die(s, cJSON_IsString(code) ? code->valuestring : "?");
}

/* ---- the engine back after a crash or a hang: what still runs is kept ---- */
static void adopt_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	const char *id;
	int running, created, same;
	cJSON *j = syscont_inspected(s->spec, status, body, &id, &running, &created, &same);
	int keep = id && running && same;
	if (keep) {
		snprintf(s->id, sizeof s->id, "%s", id);
		s->st = RUNNING;
		s->started = now_ms();
		info("%s: still running (%.12s) across the engine's restart: kept", s->spec->name, s->id);
	}
	cJSON_Delete(j);
	if (!keep)
		check_image(s);
}

static void adopt_or_create(struct sysc *s)
{
	if (!engine_ready() || shutdown_in_progress())
		return;
	s->st = ADOPTING;
	engine_callf("GET", NULL, CALL_MS, adopt_done, s, "/containers/%s/json", s->spec->name);
}

static struct timer resubscribe;
static void subscribe(void *arg);

static void on_events_end(int status, const char *msg, void *arg)
{
	(void)arg;
	events = NULL;
	if (status == -ECANCELED || !engine_ready() || shutdown_in_progress())
		return;
	warn("engine: the events stream ended (%d %s); subscribing again", status,
	     msg ? msg : status < 0 ? strerror(-status) : "");
	timer_arm(&resubscribe, 1000, subscribe, NULL);
}

static void subscribe(void *arg)
{
	(void)arg;
	if (engine_ready() && !events)
		events = engine_events("{\"type\":[\"container\"],\"event\":[\"die\"],\"label\":[\"" LABEL_SYSTEM "\"]}",
				       on_event, on_events_end, NULL);
}

static void engine_up(void)
{
	int any = 0;
	t_up = now_ms();
	for (size_t i = 0; i < N; i++)
		any |= specs[i].wanted();
	if (!any)
		return;
	/* Subscribe before creating anything, so no death goes unseen. */
	subscribe(NULL);
	/* On the first boot's engine nothing can be running yet; after a restart (live restore) it can. */
	int again = ups++ > 0;
	for (size_t i = 0; i < N; i++) {
		conts[i].failures = 0;
		if (specs[i].wanted())
			again ? adopt_or_create(&conts[i]) : check_image(&conts[i]);
	}
}

static void engine_down(void)
{
	timer_cancel(&resubscribe);
	events = NULL;
	for (size_t i = 0; i < N; i++) {
		timer_cancel(&conts[i].retry);
		conts[i].st = IDLE;
	}
}

/* ---- at shutdown ---- */
static int prepare_ms;                  /* the shutdown's time left when it asked */
static struct stage_join prepared, last_stopped;

static void prepare_one_done(const struct sysc_spec *sp, const char *what, int status, const char *body)
{
	if (what)
		warn("%s: preparing the next boot's container: %s: %s", sp->name, what, engine_failure(status, body));
	stage_join_one(&prepared);
}

static void prepare_created(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	prepare_one_done(arg, status == 201 ? NULL : "create", status, body);
}

static void prepare_removed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	const struct sysc_spec *sp = arg;
	char path[96];
	if (status != 204 && status != 404) {
		prepare_one_done(sp, "remove", status, body);
		return;
	}
	char *json = syscont_json(sp, NULL);
	snprintf(path, sizeof path, ENGINE_API "/containers/create?name=%s", sp->name);
	if (!engine_call("POST", path, json, -1, prepare_ms, prepare_created, NULL, (void *)sp))
		prepare_one_done(sp, "create", -ENOMEM, NULL);
	free(json);
}

/* With every other container stopped: a fresh one for the next boot to start at once. */
void syscont_prepare_next(int timeout_ms, void (*done)(void))
{
	prepare_ms = timeout_ms;
	stage_join_start(&prepared, done);
	for (size_t i = 0; engine_ready() && i < N; i++)
		if (specs[i].prepare && specs[i].wanted()) {
			prepared.pending += !!engine_callf("DELETE", NULL, timeout_ms, prepare_removed, (void *)&specs[i],
							  "/containers/%s?force=1", specs[i].name);
		}
	prepare_one_done(NULL, NULL, 0, NULL);
}

static void last_stop_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	const struct sysc_spec *sp = arg;
	if (sp && status != 204 && status != 304 && status != 404)
		warn("shutdown: stopping the %s container: %s", sp->name, engine_failure(status, body));
	stage_join_one(&last_stopped);
}

/* At shutdown, after every other container: the lease's addresses stay, the network goes last. */
void syscont_stop_last(int timeout_ms, void (*done)(void))
{
	stage_join_start(&last_stopped, done);
	for (size_t i = 0; engine_ready() && i < N; i++)
		if (specs[i].stop_last) {
			last_stopped.pending += !!engine_callf("POST", NULL, timeout_ms, last_stop_done, (void *)&specs[i],
						       "/containers/%s/stop?t=2", specs[i].name);
		}
	last_stop_done(NULL, 204, NULL, 0, NULL);
}

void syscont_hold(const char *name)
{
	struct sysc *s = by_name(name);
	if (s)
		s->gated = 1;
}

void syscont_release(const char *name)
{
	struct sysc *s = by_name(name);
	if (!s || !s->gated)
		return;
	s->gated = 0;
	if (s->st == HELD && engine_ready() && !shutdown_in_progress() && !on_its_way(by_name(s->spec->after)))
		start(s);
}

int syscont_is_last(const char *name)
{
	struct sysc *s = by_name(name);
	return s && s->spec->stop_last;
}

/* Registered after kvm --run's and swarm's (main's order): on the way up they act first, as before. */
void syscont_setup(void)
{
	static struct engine_listener l = { engine_up, engine_down, NULL };
	for (size_t i = 0; i < N; i++)
		conts[i].spec = &specs[i];
	engine_listen(&l);
}
