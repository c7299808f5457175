/* kvm --run inside the appliance: the container's spec from QEMU's fw_cfg and the host's shared
 * directories mounted at boot; then, through the engine, the image (already there, loaded from the
 * host's archive, or pulled), the container created, attached, waited for and run.started, its streams
 * relayed over the run port, the host's stop requests honoured, and its exit status reported
 * before the machine powers off. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cmdline.h"
#include "engine.h"
#include "enginelife.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "run.h"
#include "shutdown.h"

#define SPEC_PATH "/sys/firmware/qemu_fw_cfg/by_name/" RUN_FWCFG "/raw"        /* runport.conf's RUN_FWCFG */
#define SHARE_DIR "/run/onlydocker/share"                                            /* kvm's share() */
#define LOAD_MS 300000
#define PULL_MS 600000

struct run_ctx run = { .code = -1 };
static cJSON *spec;
static const char *image;
static char pull_error[512];
static int reported;

static const char *str(const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int flag(const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, key));
}

/* A reason the container did not run as asked: on the console, and to the host for its stderr. */
static void __attribute__((format(printf, 1, 2))) tell(const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err("run: %s", msg);
	runport_send(RUN_F_ERROR, msg, strlen(msg));
}

/* Something kept the container from running: say why and wrap up. */
void run_fail(int status, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tell("%s", msg);
	if (run.code < 0)
		run.code = status;
	run_finish();
}

/* ---- the way out: commit, remove, report, power off ---- */

/* The exit status to the host, once (EXIT_OWN if the container never gave one). */
static int send_status(void)
{
	char text[16];
	if (reported)
		return 0;
	reported = 1;
	int n = snprintf(text, sizeof text, "%d", run.code < 0 ? EXIT_OWN : run.code);
	runport_send(RUN_F_EXIT, text, (size_t)n);
	return 1;
}

static void report(void)
{
	if (!send_status())
		return;
	run.state = R_DONE;
	info("run: exit status %d reported to the host; powering off", run.code);
	shutdown_request(PA_POWEROFF, "kvm --run: the container's end");
}

static void removed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 204 && status != 404)
		warn("run: removing container %.12s: %s", run.id, engine_failure(status, body));
	else
		info("run: container %.12s removed (--rm)", run.id);
	report();
}

static void remove_or_report(void)
{
	char path[160];
	if (!run.id[0] || !flag("rm")) {
		report();
		return;
	}
	snprintf(path, sizeof path, ENGINE_API "/containers/%s?v=1&force=1", run.id);
	engine_call("DELETE", path, NULL, -1, CALL_MS, removed, NULL, NULL);
}

static void committed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = engine_json(status, 201, body);
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (cJSON_IsString(img)) {
		info("run: committed as %s (%.19s)", str("commit"), img->valuestring);
	} else {
		tell("--commit %s: %s", str("commit"), engine_failure(status, body));
		run.code = EXIT_OWN;
	}
	cJSON_Delete(j);
	remove_or_report();
}

/* The exit status is known and the output is out (or has had its time): the rest of the way. */
void run_finish(void)
{
	char path[400];
	if (run.state >= R_FINISH)
		return;
	run.state = R_FINISH;
	runstream_end();
	const char *commit = str("commit");
	if (commit && run.id[0] && run.code == 0) {
		char repo[256], *tag;
		snprintf(repo, sizeof repo, "%s", commit);
		tag = strrchr(repo, ':');
		if (tag && !strchr(tag, '/'))
			*tag++ = 0;
		else
			tag = "latest";
		snprintf(path, sizeof path, ENGINE_API "/commit?container=%s&repo=%s&tag=%s", run.id, repo, tag);
		engine_call("POST", path, "{}", -1, LOAD_MS, committed, NULL, NULL);
		return;
	}
	if (commit && run.code != 0)
		info("run: not committed: the container exited with %d", run.code);
	remove_or_report();
}

/* ---- before it runs: the image and the container ---- */

static char *create_json(void)
{
	cJSON *c = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(c, "HostConfig");
	int i = run.interactive;
	cJSON_AddStringToObject(c, "Image", image);
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(spec, "cmd");
	if (cJSON_GetArraySize(cmd) > 0)
		cJSON_AddItemToObject(c, "Cmd", cJSON_Duplicate(cmd, 1));
	const cJSON *ep = cJSON_GetObjectItemCaseSensitive(spec, "entrypoint");
	if (cJSON_IsArray(ep))          /* [] clears the image's entrypoint */
		cJSON_AddItemToObject(c, "Entrypoint", cJSON_Duplicate(ep, 1));
	cJSON_AddItemToObject(c, "Env", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(spec, "env"), 1));
	if (str("workdir"))
		cJSON_AddStringToObject(c, "WorkingDir", str("workdir"));
	if (str("user"))
		cJSON_AddStringToObject(c, "User", str("user"));
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "stop_timeout");
	if (cJSON_IsNumber(t))
		cJSON_AddNumberToObject(c, "StopTimeout", t->valueint);
	cJSON_AddBoolToObject(c, "AttachStdin", i);
	cJSON_AddBoolToObject(c, "OpenStdin", i);
	cJSON_AddBoolToObject(c, "StdinOnce", i);
	cJSON_AddBoolToObject(c, "AttachStdout", 1);
	cJSON_AddBoolToObject(c, "AttachStderr", 1);
	cJSON_AddBoolToObject(c, "Tty", 0);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "Labels"), "org.onlydocker.run", "1");
	cJSON_AddItemToObject(hc, "Binds", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(spec, "binds"), 1));
	cJSON *exposed = cJSON_AddObjectToObject(c, "ExposedPorts"), *bind = cJSON_AddObjectToObject(hc, "PortBindings");
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(spec, "ports")) {
		const cJSON *host = cJSON_GetObjectItemCaseSensitive(p, "host");
		const cJSON *ctr = cJSON_GetObjectItemCaseSensitive(p, "container");
		const cJSON *proto = cJSON_GetObjectItemCaseSensitive(p, "proto");
		char key[32], hp[16];
		if (!cJSON_IsNumber(host) || !cJSON_IsNumber(ctr) || !cJSON_IsString(proto))
			continue;
		snprintf(key, sizeof key, "%d/%.5s", ctr->valueint, proto->valuestring);
		snprintf(hp, sizeof hp, "%d", host->valueint);
		cJSON_AddObjectToObject(exposed, key);
		cJSON *list = cJSON_GetObjectItemCaseSensitive(bind, key);
		if (!list)
			list = cJSON_AddArrayToObject(bind, key);
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "HostIp", "");
		cJSON_AddStringToObject(b, "HostPort", hp);
		cJSON_AddItemToArray(list, b);
	}
	char *out = cJSON_PrintUnformatted(c);
	cJSON_Delete(c);
	return out;
}

/* A stop asked for before the container ran: nothing to stop, only to say so. */
static int stopped_early(void)
{
	if (!run.stop_sig && !run.killed)
		return 0;
	run_fail(run.killed ? 137 : 128 + run.stop_sig, "stopped before the container started");
	return 1;
}

static void created(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = engine_json(status, 201, body);
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (cJSON_IsString(cid))
		snprintf(run.id, sizeof run.id, "%s", cid->valuestring);
	cJSON_Delete(j);
	if (!run.id[0]) {
		if (status == 409)
			run_fail(EXIT_OWN, "--name %s: a container of that name is on the data disk already; remove it or choose "
			     "another name", str("name"));
		else
			run_fail(EXIT_OWN, "creating the container: %s", engine_failure(status, body));
		return;
	}
	info("run: container %.12s created from %s", run.id, image);
	if (stopped_early())
		return;
	runstream_attach();
}

static void create(void)
{
	char path[160] = ENGINE_API "/containers/create";
	if (stopped_early())
		return;
	run.state = R_CREATE;
	if (str("name"))
		snprintf(path, sizeof path, ENGINE_API "/containers/create?name=%s", str("name"));
	char *json = create_json();
	engine_call("POST", path, json, -1, CALL_MS, created, NULL, NULL);
	free(json);
}

/* Where the image comes from, in README's order: the data disk's, else the --image-tar archive's,
 * else pulled. check_image() asks the engine again after each of the last two. */
enum image_from { FROM_DISK, FROM_ARCHIVE, FROM_PULL };
static void check_image(enum image_from from);
static void load_archive(void);

/* The pull answers 200 at once and reports its fate in the JSON stream that follows. */
static void pull_chunk(struct ereq *r, const char *data, size_t len, void *arg)
{
	(void)r; (void)arg;
	const char *e = memmem(data, len, "\"error\":\"", 9);
	if (e) {
		e += 9;
		size_t k = 0;
		while (e + k < data + len && e[k] != '"' && k < sizeof pull_error - 1)
			k++;
		memcpy(pull_error, e, k);
		pull_error[k] = 0;
	}
}

static void pulled(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 200 || pull_error[0])
		run_fail(EXIT_OWN, "image %s: not on the data disk, and pulling it failed: %s", image,
		     pull_error[0] ? pull_error : status < 0 ? strerror(-status) : engine_errmsg(body));
	else
		check_image(FROM_PULL);
}

static void image_checked(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	enum image_from from = (enum image_from)(intptr_t)arg;
	if (status == 200) {
		if (from == FROM_DISK && str("image_tar"))
			info("run: %s is on the data disk: the --image-tar archive is not loaded", image);
		create();
		return;
	}
	if (status == 404 && from == FROM_DISK && str("image_tar")) {
		load_archive();
		return;
	}
	if (status != 404 || from == FROM_PULL) {
		run_fail(EXIT_OWN, "image %s: %s", image, engine_failure(status, body));
		return;
	}
	if (!flag("pull")) {
		run_fail(EXIT_OWN, "image %s is not on the data disk%s, and pulling is off (it needs kvm --net user)", image,
		     str("image_tar") ? " nor in the --image-tar archive" : "");
		return;
	}
	if (stopped_early())
		return;
	char path[400];
	info("run: pulling %s", image);
	pull_error[0] = 0;
	snprintf(path, sizeof path, ENGINE_API "/images/create?fromImage=%s", image);
	engine_call("POST", path, NULL, -1, PULL_MS, pulled, pull_chunk, NULL);
}

static void check_image(enum image_from from)
{
	char path[400];
	snprintf(path, sizeof path, ENGINE_API "/images/%s/json", image);
	engine_call("GET", path, NULL, -1, CALL_MS, image_checked, NULL, (void *)(intptr_t)from);
}

static void loaded(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	/* The load answers 200 and reports a bad archive inside its JSON stream. */
	if (status != 200 || (body && strstr(body, "\"errorDetail\""))) {
		run_fail(EXIT_OWN, "--image-tar: loading %s: %s", str("image_tar"), engine_failure(status, body));
		return;
	}
	info("run: %s loaded", str("image_tar"));
	if (!stopped_early())
		check_image(FROM_ARCHIVE);
}

static void load_archive(void)
{
	if (stopped_early())
		return;
	const char *tar = str("image_tar");
	int fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		run_fail(EXIT_OWN, "--image-tar: %s: %s", tar, strerror(errno));
		return;
	}
	engine_call("POST", ENGINE_API "/images/load?quiet=1", NULL, fd, LOAD_MS, loaded, NULL, NULL);
}

static void engine_up(void)
{
	if (run.state != R_BOOT)
		return;
	run.state = R_IMAGE;
	if (!stopped_early())
		check_image(FROM_DISK);
}

static void engine_down(void)
{
	if (run.state > R_BOOT && run.state < R_FINISH)
		run_fail(EXIT_OWN, "the engine stopped while the container %s", run.started ? "ran" : "was being prepared");
}

/* ---- requests from the host ---- */

static int signal_number(const char *name)
{
	static const struct { const char *n; int s; } sigs[] = { { "SIGINT", 2 }, { "SIGHUP", 1 }, { "SIGTERM", 15 } };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (!strcmp(name, sigs[i].n))
			return sigs[i].s;
	return 15;
}

static void host_stop(const char *sig)
{
	if (run.stop_sig || run.state >= R_FINISH)
		return;
	run.stop_sig = signal_number(sig);
	info("run: the host asks to stop (%s)", sig);
	if (run.state == R_RUN && run.started) {
		runstream_stop();
	} else if (run.state == R_BOOT && !engine_ready()) {
		stopped_early();
	}
}

static void host_kill(void)
{
	if (run.killed || run.state >= R_FINISH)
		return;
	run.killed = 1;
	info("run: the host asks to kill the container");
	if (run.state == R_RUN && run.started) {
		runstream_stop();
	} else if (run.state == R_BOOT || run.state == R_IMAGE) {
		stopped_early();
	}
}

static const struct runport_ops ops = {
	.stdin_data = runstream_stdin, .stop = host_stop, .kill = host_kill, .drained = runstream_drained,
};

/* ---- boot and shutdown ---- */

static int mount_shares(void)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(spec, "shares")) {
		const cJSON *tag = cJSON_GetObjectItemCaseSensitive(s, "tag");
		char path[128];
		if (!cJSON_IsString(tag) || strlen(tag->valuestring) > 31 || strchr(tag->valuestring, '/')) {
			run_fail(EXIT_OWN, "the spec's shares are malformed");
			return -EINVAL;
		}
		snprintf(path, sizeof path, SHARE_DIR "/%s", tag->valuestring);
		mkdirs(path, 0755);
		unsigned long fl = MS_NOSUID | MS_NODEV;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "readonly")))
			fl |= MS_RDONLY;
		if (mount(tag->valuestring, path, "9p", fl, "trans=virtio,version=9p2000.L,msize=262144") < 0) {
			run_fail(EXIT_OWN, "mounting the host's directory %s (9p): %s", tag->valuestring, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

void run_setup(void)
{
	static char text[65536];
	static struct engine_listener l = { engine_up, engine_down, NULL };
	if (!cfg->run)
		return;
	engine_listen(&l);
	run.state = R_BOOT;
	if (runport_open(&ops) < 0) {
		run.code = EXIT_OWN;
		run.state = R_DONE;     /* no one to run it for */
		shutdown_request(PA_POWEROFF, "kvm --run: no line to the host");
		return;
	}
	int n = read_file(SPEC_PATH, text, sizeof text);
	if (n <= 0 || n >= (int)sizeof text - 1) {
		run_fail(EXIT_OWN, "the container's spec (%s): %s", SPEC_PATH,
			 n < 0 ? strerror(-n) : n ? "longer than 64 KiB" : "empty");
		return;
	}
	spec = cJSON_Parse(text);
	image = str("image");
	run.interactive = flag("interactive");
	if (!image || strpbrk(image, " ?&#%\"\\")) {
		run_fail(EXIT_OWN, "the container's spec has no usable image: %.80s", text);
		return;
	}
	if (mount_shares() < 0)
		return;
	info("run: the container is %s; waiting for the engine", image);
}

void run_shutdown(void)
{
	if (run.state == R_OFF)
		return;
	if (!reported && run.code < 0)
		tell("the appliance shut down before the container ended");
	send_status();
	if (runport_flush(3000) < 0)
		warn("run: the host did not take the last %zu bytes in 3 s", runport_pending());
}
