/* The DHCP and dom0 containers: bundled images loaded only when the engine lacks them, each
 * container (re)created and started through the API, their deaths learned from the /events
 * stream. dom0 is recreated from whatever its reference names now (the upgrade path), and rolled
 * back to the bundled image when a new one keeps exiting at once. */
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
#include "images.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "syscont.h"

#define CALL_MS 30000
#define LOAD_MS 120000
#define QUICK_EXIT_MS 5000
#define ROLLBACK_AFTER 3
#define OOM_ADJ_CONSOLE -500

enum st { IDLE, CHECKING, LOADING, REMOVING, CREATING, HELD, STARTING, RUNNING };

struct sysc {
	const char *name, *label, *archive;
	const char *check_ref, *check_id;   /* the image whose ID tells whether the bundle is loaded */
	enum st st;
	char id[80];
	int64_t started;
	int quick_exits, failures;
	int loaded;                         /* its bundle was loaded this boot: tags may have moved */
	char died[16];                      /* the exit code of a death seen while its start was in flight */
	struct timer retry;
};

static struct sysc dhcp = { .name = DHCP_NAME, .label = "dhcp", .archive = IMAGES_DIR "/dhcpcd.tar",
			    .check_ref = DHCP_IMAGE, .check_id = DHCP_IMAGE_ID };
static struct sysc dom0 = { .name = DOM0_NAME, .label = "dom0", .archive = IMAGES_DIR "/dom0.tar",
			    .check_ref = DOM0_BUNDLED, .check_id = DOM0_IMAGE_ID };
static struct ereq *events;
static int ups;
static int64_t t_up;

static void create(struct sysc *s);
static void check_image(void *arg);
static void on_die(struct sysc *s, const char *code);

static void release_dhcp(void);

static void failed(struct sysc *s, const char *what, int status, const char *body)
{
	s->st = IDLE;
	if (s == &dom0)
		release_dhcp();
	if (status == -ECANCELED || shutdown_in_progress())   /* the engine is going away on purpose */
		return;
	s->failures++;
	int delay = s->failures > 5 ? 30000 : 1000 << s->failures;
	err("%s: %s: %d %s; retrying in %d ms", s->name, what, status,
	    status < 0 ? strerror(-status) : engine_errmsg(body), delay);
	if (engine_ready() && !shutdown_in_progress())
		timer_arm(&s->retry, delay, check_image, s);
}

static char *config_json(struct sysc *s, char *hash_out)
{
	cJSON *c = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(c, "HostConfig");
	cJSON *labels = cJSON_AddObjectToObject(c, "Labels");
	cJSON_AddStringToObject(labels, "org.onlydocker.system", s->label);
	cJSON_AddStringToObject(hc, "NetworkMode", "host");
	cJSON *binds = cJSON_AddArrayToObject(hc, "Binds");
	cJSON *rp = cJSON_AddObjectToObject(hc, "RestartPolicy");
	cJSON_AddStringToObject(rp, "Name", "no");
	if (s == &dhcp) {
		cJSON_AddStringToObject(c, "Image", DHCP_IMAGE);
		cJSON *caps = cJSON_AddArrayToObject(hc, "CapAdd");
		cJSON_AddItemToArray(caps, cJSON_CreateString("NET_ADMIN"));
		cJSON_AddItemToArray(caps, cJSON_CreateString("NET_RAW"));
		cJSON_AddItemToArray(binds, cJSON_CreateString("/run/resolvconf:/run/resolvconf"));
	} else {
		char console[80];
		/* With the debug shell on the console, dom0 runs detached and leaves the tty alone. */
		snprintf(console, sizeof console, "CONSOLE=%s", cfg->console_shell ? "none" : console_tty());
		cJSON_AddStringToObject(c, "Image", DOM0_IMAGE);
		cJSON *env = cJSON_AddArrayToObject(c, "Env");
		cJSON_AddItemToArray(env, cJSON_CreateString(console));
		cJSON_AddBoolToObject(hc, "Privileged", 1);
		/* Its shell is the console: spared by the OOM killer before any workload, not before the engine. */
		cJSON_AddNumberToObject(hc, "OomScoreAdj", OOM_ADJ_CONSOLE);
		cJSON_AddStringToObject(hc, "PidMode", "host");
		cJSON_AddStringToObject(hc, "IpcMode", "host");
		cJSON_AddStringToObject(hc, "UTSMode", "host");
		/* No bind of the engine's socket file: dockerd makes a new one at each start, and a dom0
		 * kept across a restart would hold the old. dom0's image links /var/run/docker.sock to
		 * /host/var/run/docker.sock, which follows. */
		const char *b[] = { "/:/host:rslave", "/dev:/dev", "/run/resolvconf/resolv.conf:/etc/resolv.conf", "/var/log:/var/log",
				    /* the docker CLI, compose, buildx and their glibc: dom0's image only links here */
				    ENGINEFS_DIR ":" ENGINEFS_DIR ":ro" };
		for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
			cJSON_AddItemToArray(binds, cJSON_CreateString(b[i]));
	}
	/* What the container is made of, as a label: a container prepared at the last shutdown is
	 * started only if it is what would be made now (same console, same init). */
	char *plain = cJSON_PrintUnformatted(c), hash[16];
	unsigned h = 2166136261u;
	for (const char *p = plain; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	free(plain);
	snprintf(hash, sizeof hash, "%08x", h);
	cJSON_AddStringToObject(labels, "org.onlydocker.config", hash);
	if (hash_out)
		memcpy(hash_out, hash, 9);
	char *out = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return out;
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
	info("%s: container started (%.12s), %lld ms after the engine came up", s->name, s->id, (long long)(now_ms() - t_up));
	if (s == &dhcp)
		net_lease_deadline();
	else
		release_dhcp();
	if (s->died[0]) {       /* it exited before the engine answered the start: that death counts now */
		char code[16];
		memcpy(code, s->died, sizeof code);
		s->died[0] = 0;
		on_die(s, code);
	}
}

static void start(struct sysc *s)
{
	char path[160];
	s->died[0] = 0;
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/start", s->id);
	s->st = STARTING;
	engine_call("POST", path, NULL, -1, CALL_MS, start_done, NULL, s);
}

/* dom0's start is over, one way or the other: a held dhcp goes now. */
static void release_dhcp(void)
{
	if (dhcp.st == HELD && !shutdown_in_progress())
		start(&dhcp);
}

static void create_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	cJSON *j = status == 201 ? cJSON_Parse(body) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (!cJSON_IsString(id)) {
		cJSON_Delete(j);
		failed(s, "create", status, body);
		return;
	}
	snprintf(s->id, sizeof s->id, "%s", id->valuestring);
	cJSON_Delete(j);
	/* Two container starts at once take twice as long each under emulation: the console comes
	 * first, and dhcp's start waits while dom0 is on its way (its image already there). */
	if (s == &dhcp && dom0.st >= REMOVING && dom0.st <= STARTING) {
		s->st = HELD;
		return;
	}
	start(s);
}

static void remove_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	if (status != 204 && status != 404) {
		failed(s, "removing the old container", status, body);
		return;
	}
	char *json = config_json(s, NULL), path[96];
	snprintf(path, sizeof path, ENGINE_API "/containers/create?name=%s", s->name);
	s->st = CREATING;
	engine_call("POST", path, json, -1, CALL_MS, create_done, NULL, s);
	free(json);
}

/* Any container of that name is from an earlier boot or an earlier life: replace it. */
static void replace(struct sysc *s)
{
	char path[96];
	snprintf(path, sizeof path, ENGINE_API "/containers/%s?force=1", s->name);
	s->st = REMOVING;
	engine_call("DELETE", path, NULL, -1, CALL_MS, remove_done, NULL, s);
}

/* dom0 prepared at the last clean shutdown (never started, made as it would be made now) is
 * started as it is: removing and creating it cost ~200 ms of the way to the prompt. */
static void prepared_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	char want[16];
	free(config_json(&dom0, want));
	cJSON *j = status == 200 ? cJSON_Parse(body) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "State"), "Status");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(labels, "org.onlydocker.config");
	int usable = cJSON_IsString(id) && cJSON_IsString(st) && !strcmp(st->valuestring, "created") &&
		     cJSON_IsString(hash) && !strcmp(hash->valuestring, want);
	if (usable) {
		snprintf(dom0.id, sizeof dom0.id, "%s", id->valuestring);
		info("dom0: starting the container prepared at the last shutdown (%.12s)", dom0.id);
	} else if (status != 404) {     /* none is the usual case after an unclean end: nothing to say */
		info("dom0: the container left by the last shutdown is not the one to start (%s); making a new one",
		     status != 200 ? "the engine could not tell" : !cJSON_IsString(st) || strcmp(st->valuestring, "created")
		     ? "it has run" : "made for another console or init");
	}
	cJSON_Delete(j);
	if (usable)
		start(&dom0);
	else
		replace(&dom0);
}

static void create(struct sysc *s)
{
	/* A bundle loaded this boot (a new initramfs) may have moved the tag the container was made from. */
	if (s != &dom0 || s->loaded) {
		replace(s);
		return;
	}
	s->st = REMOVING;
	engine_call("GET", ENGINE_API "/containers/" DOM0_NAME "/json", NULL, -1, CALL_MS, prepared_done, NULL, NULL);
}

/* ---- at shutdown: the next boot's dom0, made now ---- */
static void (*prepare_cb)(void);
static int prepare_ms;                  /* the shutdown's time left when it asked */

static void prepare_end(const char *what, int status, const char *body)
{
	if (what)
		warn("dom0: preparing the next boot's container: %s: %d %s", what, status,
		     status < 0 ? strerror(-status) : engine_errmsg(body));
	void (*cb)(void) = prepare_cb;
	prepare_cb = NULL;
	if (cb)
		cb();
}

static void prepare_created(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	prepare_end(status == 201 ? NULL : "create", status, body);
}

static void prepare_removed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 204 && status != 404) {
		prepare_end("remove", status, body);
		return;
	}
	char *json = config_json(&dom0, NULL);
	engine_call("POST", ENGINE_API "/containers/create?name=" DOM0_NAME, json, -1, prepare_ms, prepare_created,
		    NULL, NULL);
	free(json);
}

static void (*dhcp_stopped)(void);

static void dhcp_stop_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 204 && status != 304 && status != 404)
		warn("shutdown: stopping the DHCP container: %d %s", status, status < 0 ? strerror(-status) : engine_errmsg(body));
	dhcp_stopped();
}

/* At shutdown, after the other containers: the lease's addresses stay, the network goes last. */
void syscont_stop_dhcp(int timeout_ms, void (*done)(void))
{
	dhcp_stopped = done;
	if (!engine_ready() || !engine_call("POST", ENGINE_API "/containers/" DHCP_NAME "/stop?t=2", NULL, -1,
					    timeout_ms, dhcp_stop_done, NULL, NULL))
		done();
}

void syscont_prepare_next(int timeout_ms, void (*done)(void))
{
	if (!engine_ready() || !cfg->dom0 || !done) {
		if (done)
			done();
		return;
	}
	prepare_ms = timeout_ms;
	prepare_cb = done;
	engine_call("DELETE", ENGINE_API "/containers/" DOM0_NAME "?force=1", NULL, -1, timeout_ms, prepare_removed, NULL,
		    NULL);
}

static void load_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	/* The load answers 200 and reports a bad archive inside its JSON stream. */
	if (status != 200 || (body && strstr(body, "\"errorDetail\""))) {
		failed(s, "loading the bundled image", status, body);
		return;
	}
	info("%s: bundled image loaded from %s in %lld ms", s->name, s->archive, (long long)(now_ms() - t_up));
	s->loaded = 1;
	create(s);
}

static void inspect_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	cJSON *j = status == 200 ? cJSON_Parse(body) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	int have = cJSON_IsString(id) && !strcmp(id->valuestring, s->check_id);
	cJSON_Delete(j);
	if (status < 0) {
		failed(s, "inspecting its image", status, body);
		return;
	}
	if (have) {
		info("%s: image %s already in the engine, not reloaded", s->name, s->check_ref);
		create(s);
		return;
	}
	int fd = open(s->archive, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err("%s: bundled image %s: %s", s->name, s->archive, strerror(errno));
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
	char path[160];
	if (!engine_ready() || shutdown_in_progress() || (s == &dom0 && !cfg->dom0))
		return;
	snprintf(path, sizeof path, ENGINE_API "/images/%s/json", s->check_ref);
	s->st = CHECKING;
	engine_call("GET", path, NULL, -1, CALL_MS, inspect_done, NULL, s);
}

static void tag_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 201)
		err("dom0: rolling back to %s: %d %s", DOM0_BUNDLED, status, status < 0 ? strerror(-status) : engine_errmsg(body));
	create(&dom0);
}

static void on_die(struct sysc *s, const char *code)
{
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
	info("%s: exited (code %s) after %lld ms; recreating it from %s", s->name, code, (long long)ran,
	     s == &dom0 ? DOM0_IMAGE : DHCP_IMAGE);
	if (s == &dom0 && s->quick_exits >= ROLLBACK_AFTER) {
		err("dom0: the image %s exited within %d s %d times in a row; rolling back to the bundled %s",
		    DOM0_IMAGE, QUICK_EXIT_MS / 1000, s->quick_exits, DOM0_BUNDLED);
		s->quick_exits = 0;
		engine_call("POST", ENGINE_API "/images/" DOM0_BUNDLED "/tag?repo=" DOM0_REPO "&tag=" DOM0_TAG "&force=1",
			    NULL, -1, CALL_MS, tag_done, NULL, NULL);
		return;
	}
	if (s->quick_exits >= ROLLBACK_AFTER)
		timer_arm(&s->retry, 5000, (void (*)(void *))create, s);
	else
		create(s);
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
	struct sysc *s = !strcmp(name->valuestring, DHCP_NAME) ? &dhcp : !strcmp(name->valuestring, DOM0_NAME) ? &dom0 : NULL;
	if (s && !strcmp(id->valuestring, s->id))
		on_die(s, cJSON_IsString(code) ? code->valuestring : "?");
}

/* ---- the engine back after a crash or a hang: what still runs is kept ---- */
static void adopt_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct sysc *s = arg;
	char want[16];
	free(config_json(s, want));
	cJSON *j = status == 200 ? cJSON_Parse(body) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	const cJSON *running = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "State"), "Running");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(labels, "org.onlydocker.config");
	int keep = cJSON_IsString(id) && cJSON_IsTrue(running) && cJSON_IsString(hash) && !strcmp(hash->valuestring, want);
	if (keep) {
		snprintf(s->id, sizeof s->id, "%s", id->valuestring);
		s->st = RUNNING;
		s->started = now_ms();
		info("%s: still running (%.12s) across the engine's restart: kept", s->name, s->id);
	}
	cJSON_Delete(j);
	if (!keep)
		check_image(s);
}

static void adopt_or_create(struct sysc *s)
{
	char path[96];
	if (!engine_ready() || shutdown_in_progress())
		return;
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/json", s->name);
	s->st = CHECKING;
	engine_call("GET", path, NULL, -1, CALL_MS, adopt_done, NULL, s);
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
		events = engine_events("{\"type\":[\"container\"],\"event\":[\"die\"],\"label\":[\"org.onlydocker.system\"]}",
				       on_event, on_events_end, NULL);
}

static void engine_up(void)
{
	t_up = now_ms();
	if (!net_wants_dhcp() && !cfg->dom0)
		return;
	/* Subscribe before creating anything, so no death goes unseen. */
	subscribe(NULL);
	dhcp.failures = dom0.failures = 0;
	/* On the first boot's engine nothing can be running yet; after a restart (live restore) it can. */
	int again = ups++ > 0;
	if (net_wants_dhcp())
		again ? adopt_or_create(&dhcp) : check_image(&dhcp);
	if (cfg->dom0)
		again ? adopt_or_create(&dom0) : check_image(&dom0);
}

static void engine_down(void)
{
	timer_cancel(&dhcp.retry);
	timer_cancel(&dom0.retry);
	timer_cancel(&resubscribe);
	events = NULL;
	dhcp.st = dom0.st = IDLE;
}

/* Registered after kvm --run's and swarm's (main's order): on the way up they act first, as before. */
void syscont_setup(void)
{
	static struct engine_listener l = { engine_up, engine_down, NULL };
	engine_listen(&l);
}
