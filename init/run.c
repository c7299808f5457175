/* kvm --run inside the appliance: the container's spec from QEMU's fw_cfg and the host's shared
 * directories mounted at boot; then, through the engine, the image (already there, loaded from the
 * host's archive, or pulled), the container created, attached, waited for and started, its streams
 * relayed over the run port, the host's stop requests honoured, and its exit status reported
 * before the machine powers off. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>
#include "engine.h"
#include "init.h"
#include "run.h"
#include "syscont.h"

#define SPEC_PATH "/sys/firmware/qemu_fw_cfg/by_name/opt/org.onlydocker/run/raw"   /* kvm's RUN_FWCFG */
#define SHARE_DIR "/run/onlydocker/share"                                            /* kvm's share() */
#define CALL_MS 30000
#define LOAD_MS 300000
#define PULL_MS 600000
#define DRAIN_MS 5000           /* after the exit, how long the rest of its output may take */
#define EXIT_OWN 125            /* docker run's status when the failure is not the container's */

enum rst { R_OFF, R_BOOT, R_IMAGE, R_CREATE, R_RUN, R_FINISH, R_DONE };
static enum rst state = R_OFF;
static cJSON *spec;
static const char *image;
static char id[80], pull_error[512];
static int code = -1, reported, stop_sig, killed, started;
static int attach_fd = -1, attach_eof;
static struct watch attach_watch;
static struct timer drain_timer;
static struct ereq *waiter;
static char *in_q;              /* the host's stdin on its way to the container */
static size_t in_len, in_cap;
static int in_eof, in_closed;
static unsigned char hdr[8];    /* where the attach stream is in its frames (see on_attach) */
static size_t hdr_have, payload_left;

static const char *str(const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int flag(const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, key));
}

static void report(int status);
static void finish(void);

/* Something kept the container from running: say why, here and to the host, and wrap up. */
static void __attribute__((format(printf, 2, 3))) fail(int status, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err("run: %s", msg);
	runport_send(RUN_F_ERROR, msg, strlen(msg));
	if (code < 0)
		code = status;
	finish();
}

/* ---- the way out: commit, remove, report, power off ---- */

static void report(int status)
{
	char text[16];
	if (reported)
		return;
	reported = 1;
	state = R_DONE;
	int n = snprintf(text, sizeof text, "%d", status);
	runport_send(RUN_F_EXIT, text, (size_t)n);
	info("run: exit status %d reported to the host; powering off", status);
	shutdown_request(PA_POWEROFF, "kvm --run: the container's end");
}

static void removed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 204 && status != 404)
		warn("run: removing container %.12s: %d %s", id, status, status < 0 ? strerror(-status) : engine_errmsg(body));
	else
		info("run: container %.12s removed (--rm)", id);
	report(code);
}

static void remove_or_report(void)
{
	char path[160];
	if (!id[0] || !flag("rm")) {
		report(code);
		return;
	}
	snprintf(path, sizeof path, ENGINE_API "/containers/%s?v=1&force=1", id);
	engine_call("DELETE", path, NULL, -1, CALL_MS, removed, NULL, NULL);
}

static void committed(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = status == 201 ? cJSON_Parse(body) : NULL;
	const cJSON *img = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (cJSON_IsString(img)) {
		info("run: committed as %s (%.19s)", str("commit"), img->valuestring);
	} else {
		char msg[600];
		snprintf(msg, sizeof msg, "--commit %s: %d %s", str("commit"), status,
			 status < 0 ? strerror(-status) : engine_errmsg(body));
		err("run: %s", msg);
		runport_send(RUN_F_ERROR, msg, strlen(msg));
		code = EXIT_OWN;
	}
	cJSON_Delete(j);
	remove_or_report();
}

static void close_attach(void)
{
	if (attach_fd < 0)
		return;
	/* A frame cut short would leave the host out of step: complete it with zeros. */
	static const char zeros[4096];
	if (hdr_have)
		runport_send_raw(zeros, 8 - hdr_have);
	while (payload_left) {
		size_t k = payload_left < sizeof zeros ? payload_left : sizeof zeros;
		runport_send_raw(zeros, k);
		payload_left -= k;
	}
	hdr_have = 0;
	watch_del(&attach_watch);
	close(attach_fd);
	attach_fd = -1;
}

/* The exit status is known and the output is out (or has had its time): the rest of the way. */
static void finish(void)
{
	char path[400];
	if (state >= R_FINISH)
		return;
	state = R_FINISH;
	timer_cancel(&drain_timer);
	engine_cancel(waiter);
	close_attach();
	const char *commit = str("commit");
	if (commit && id[0] && code == 0) {
		char repo[256], *tag;
		snprintf(repo, sizeof repo, "%s", commit);
		tag = strrchr(repo, ':');
		if (tag && !strchr(tag, '/'))
			*tag++ = 0;
		else
			tag = "latest";
		snprintf(path, sizeof path, ENGINE_API "/commit?container=%s&repo=%s&tag=%s", id, repo, tag);
		engine_call("POST", path, "{}", -1, LOAD_MS, committed, NULL, NULL);
		return;
	}
	if (commit && code != 0)
		info("run: not committed: the container exited with %d", code);
	remove_or_report();
}

static void maybe_finish(void)
{
	if (code < 0 || state != R_RUN)
		return;
	if (attach_eof || attach_fd < 0)
		finish();
	else if (!drain_timer.when)
		timer_arm(&drain_timer, DRAIN_MS, (void (*)(void *))finish, NULL);
}

/* ---- the container running: its streams and its end ---- */

static void inspected(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = status == 200 ? cJSON_Parse(body) : NULL;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "State");
	const cJSON *running = cJSON_GetObjectItemCaseSensitive(st, "Running");
	const cJSON *ec = cJSON_GetObjectItemCaseSensitive(st, "ExitCode");
	/* Its streams closed but it runs on: the wait will tell. */
	if (cJSON_IsFalse(running) && cJSON_IsNumber(ec) && code < 0) {
		code = ec->valueint;
		info("run: container %.12s exited with %d", id, code);
	}
	cJSON_Delete(j);
	maybe_finish();
}

/* The attach stream: docker's frames, passed to the host whole. Tracking where each frame ends
 * lets a stream that is cut short be completed, so the host's reader never loses its step. */
static void forward(const char *buf, size_t n)
{
	runport_send_raw(buf, n);
	for (size_t at = 0; at < n;) {
		if (payload_left) {
			size_t k = n - at < payload_left ? n - at : payload_left;
			payload_left -= k;
			at += k;
			continue;
		}
		hdr[hdr_have++] = (unsigned char)buf[at++];
		if (hdr_have == 8) {
			payload_left = (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 | (size_t)hdr[6] << 8 | hdr[7];
			hdr_have = 0;
		}
	}
}

static void on_attach(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		attach_eof = 1;
		close_attach();
		char path[160];
		snprintf(path, sizeof path, ENGINE_API "/containers/%s/json", id);
		engine_call("GET", path, NULL, -1, CALL_MS, inspected, NULL, NULL);
		return;
	}
	forward(buf, (size_t)n);
	if (runport_pending() > RUNPORT_HIGH)
		attach_watch.events = 0;        /* the host is behind: let the engine wait */
	else
		attach_watch.events = POLLIN | (in_len ? POLLOUT : 0);
}

static void stdin_flush(void)
{
	while (attach_fd >= 0 && in_len) {
		ssize_t n = send(attach_fd, in_q, in_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				warn("run: the container's stdin: %s", strerror(errno));
				in_len = 0;
			}
			break;
		}
		memmove(in_q, in_q + n, in_len - (size_t)n);
		in_len -= (size_t)n;
	}
	if (attach_fd >= 0 && !in_len && in_eof && !in_closed) {
		shutdown(attach_fd, SHUT_WR);   /* the engine closes the container's stdin (StdinOnce) */
		in_closed = 1;
	}
	runport_throttle(in_len > RUNPORT_HIGH);
	if (attach_fd >= 0 && attach_watch.events)
		attach_watch.events = POLLIN | (in_len ? POLLOUT : 0);
}

static void on_attach_io(int fd, short rev, void *arg)
{
	if (rev & POLLOUT)
		stdin_flush();
	if (rev & (POLLIN | POLLHUP | POLLERR))
		on_attach(fd, rev, arg);
}

static void host_stdin(const char *data, size_t len)
{
	if (!flag("interactive"))
		return;
	if (!len) {
		in_eof = 1;
	} else {
		if (in_len + len > in_cap) {
			size_t cap = in_cap ? in_cap * 2 : 65536;
			while (cap < in_len + len)
				cap *= 2;
			char *p = realloc(in_q, cap);
			if (!p) {
				err("run: the container's stdin: %s; input dropped", strerror(ENOMEM));
				return;
			}
			in_q = p;
			in_cap = cap;
		}
		memcpy(in_q + in_len, data, len);
		in_len += len;
	}
	stdin_flush();
}

static void port_drained(void)
{
	if (attach_fd >= 0 && !attach_watch.events)
		attach_watch.events = POLLIN | (in_len ? POLLOUT : 0);
}

static void waited(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	waiter = NULL;
	cJSON *j = status == 200 ? cJSON_Parse(body) : NULL;
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "StatusCode");
	if (cJSON_IsNumber(sc)) {
		if (code < 0)
			info("run: container %.12s exited with %d", id, sc->valueint);
		code = sc->valueint;
	} else if (status != -ECANCELED && state == R_RUN && code < 0) {
		warn("run: waiting for container %.12s: %d %s", id, status, status < 0 ? strerror(-status) : engine_errmsg(body));
	}
	cJSON_Delete(j);
	maybe_finish();
}

/* docker run's statuses for a command that cannot run: 127 not found, 126 not executable. */
static int start_status(const char *msg)
{
	if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory"))
		return 127;
	if (strstr(msg, "permission denied"))
		return 126;
	return EXIT_OWN;
}

static void started_cb(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (status != 204 && status != 304) {
		const char *m = status < 0 ? strerror(-status) : engine_errmsg(body);
		fail(status < 0 ? EXIT_OWN : start_status(m), "starting the container: %s", m);
		return;
	}
	started = 1;
	info("run: container %.12s started", id);
	if (killed || stop_sig) {       /* asked while it was starting */
		char path[160];
		snprintf(path, sizeof path, ENGINE_API "/containers/%s/%s", id, killed ? "kill" : "stop");
		engine_call("POST", path, NULL, -1, CALL_MS * 4, NULL, NULL, NULL);
	}
}

static void attached(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)arg;
	char path[200];
	if (status != 101) {
		fail(EXIT_OWN, "attaching to the container: %d %s", status, status < 0 ? strerror(-status) : engine_errmsg(body));
		return;
	}
	attach_fd = engine_take_fd(r);
	if (attach_fd < 0) {
		fail(EXIT_OWN, "attaching to the container: no connection to take over");
		return;
	}
	watch_add(&attach_watch, attach_fd, POLLIN, on_attach_io, NULL);
	if (body && len)                /* the stream's first bytes came with the answer */
		forward(body, len);
	state = R_RUN;
	/* Waiting before starting, so a container that ends at once cannot be missed; the inspect
	 * after its streams close covers a wait that reached the engine late. No deadline: the
	 * container may run for as long as it likes. */
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/wait?condition=next-exit", id);
	waiter = engine_call("POST", path, NULL, -1, 0, waited, NULL, NULL);
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/start", id);
	engine_call("POST", path, NULL, -1, CALL_MS, started_cb, NULL, NULL);
	stdin_flush();
}

/* ---- before it runs: the image and the container ---- */

static char *create_json(void)
{
	cJSON *c = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(c, "HostConfig");
	int i = flag("interactive");
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
	if (!stop_sig && !killed)
		return 0;
	fail(killed ? 137 : 128 + stop_sig, "stopped before the container started");
	return 1;
}

static void created(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = status == 201 ? cJSON_Parse(body) : NULL;
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (cJSON_IsString(cid))
		snprintf(id, sizeof id, "%s", cid->valuestring);
	cJSON_Delete(j);
	if (!id[0]) {
		if (status == 409)
			fail(EXIT_OWN, "--name %s: a container of that name is on the data disk already; remove it or choose "
			     "another name", str("name"));
		else
			fail(EXIT_OWN, "creating the container: %d %s", status, status < 0 ? strerror(-status) : engine_errmsg(body));
		return;
	}
	info("run: container %.12s created from %s", id, image);
	if (stopped_early())
		return;
	char path[200];
	snprintf(path, sizeof path, ENGINE_API "/containers/%s/attach?stream=1&stdout=1&stderr=1%s", id,
		 flag("interactive") ? "&stdin=1" : "");
	engine_hijack("POST", path, CALL_MS, attached, NULL);
}

static void create(void)
{
	char path[160] = ENGINE_API "/containers/create";
	if (stopped_early())
		return;
	state = R_CREATE;
	if (str("name"))
		snprintf(path, sizeof path, ENGINE_API "/containers/create?name=%s", str("name"));
	char *json = create_json();
	engine_call("POST", path, json, -1, CALL_MS, created, NULL, NULL);
	free(json);
}

static void check_image(int after_pull);

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
		fail(EXIT_OWN, "image %s: not on the data disk, and pulling it failed: %s", image,
		     pull_error[0] ? pull_error : status < 0 ? strerror(-status) : engine_errmsg(body));
	else
		check_image(1);
}

static void image_checked(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	int after_pull = arg != NULL;
	if (status == 200) {
		create();
		return;
	}
	if (status != 404 || after_pull) {
		fail(EXIT_OWN, "image %s: %d %s", image, status, status < 0 ? strerror(-status) : engine_errmsg(body));
		return;
	}
	if (!flag("pull")) {
		fail(EXIT_OWN, "image %s is not on the data disk%s, and pulling is off (it needs kvm --net user)", image,
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

static void check_image(int after_pull)
{
	char path[400];
	snprintf(path, sizeof path, ENGINE_API "/images/%s/json", image);
	engine_call("GET", path, NULL, -1, CALL_MS, image_checked, NULL, after_pull ? (void *)1 : NULL);
}

static void loaded(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	/* The load answers 200 and reports a bad archive inside its JSON stream. */
	if (status != 200 || (body && strstr(body, "\"errorDetail\""))) {
		fail(EXIT_OWN, "--image-tar: loading %s: %d %s", str("image_tar"), status,
		     status < 0 ? strerror(-status) : engine_errmsg(body));
		return;
	}
	info("run: %s loaded", str("image_tar"));
	if (!stopped_early())
		check_image(0);
}

void run_engine_up(void)
{
	if (state != R_BOOT)
		return;
	state = R_IMAGE;
	if (stopped_early())
		return;
	const char *tar = str("image_tar");
	if (!tar) {
		check_image(0);
		return;
	}
	int fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(EXIT_OWN, "--image-tar: %s: %s", tar, strerror(errno));
		return;
	}
	engine_call("POST", ENGINE_API "/images/load?quiet=1", NULL, fd, LOAD_MS, loaded, NULL, NULL);
}

void run_engine_down(void)
{
	if (state > R_BOOT && state < R_FINISH)
		fail(EXIT_OWN, "the engine stopped while the container %s", started ? "ran" : "was being prepared");
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
	char path[160];
	if (stop_sig || state >= R_FINISH)
		return;
	stop_sig = signal_number(sig);
	info("run: the host asks to stop (%s)", sig);
	if (state == R_RUN && started) {
		/* docker stop: the image's stop signal, then SIGKILL after its stop timeout. */
		snprintf(path, sizeof path, ENGINE_API "/containers/%s/stop", id);
		engine_call("POST", path, NULL, -1, CALL_MS * 4, NULL, NULL, NULL);
	} else if (state == R_BOOT && !syscont_engine_ready()) {
		stopped_early();
	}
}

static void host_kill(void)
{
	char path[160];
	if (killed || state >= R_FINISH)
		return;
	killed = 1;
	info("run: the host asks to kill the container");
	if (state == R_RUN && started) {
		snprintf(path, sizeof path, ENGINE_API "/containers/%s/kill", id);
		engine_call("POST", path, NULL, -1, CALL_MS, NULL, NULL, NULL);
	} else if (state == R_BOOT || state == R_IMAGE) {
		stopped_early();
	}
}

static const struct runport_ops ops = {
	.stdin_data = host_stdin, .stop = host_stop, .kill = host_kill, .drained = port_drained,
};

/* ---- boot and shutdown ---- */

static int mount_shares(void)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(spec, "shares")) {
		const cJSON *tag = cJSON_GetObjectItemCaseSensitive(s, "tag");
		char path[128];
		if (!cJSON_IsString(tag) || strlen(tag->valuestring) > 31 || strchr(tag->valuestring, '/')) {
			fail(EXIT_OWN, "the spec's shares are malformed");
			return -EINVAL;
		}
		snprintf(path, sizeof path, SHARE_DIR "/%s", tag->valuestring);
		mkdirs(path, 0755);
		unsigned long fl = MS_NOSUID | MS_NODEV;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "readonly")))
			fl |= MS_RDONLY;
		if (mount(tag->valuestring, path, "9p", fl, "trans=virtio,version=9p2000.L,msize=262144") < 0) {
			fail(EXIT_OWN, "mounting the host's directory %s (9p): %s", tag->valuestring, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

void run_setup(void)
{
	static char text[65536];
	if (!cfg.run)
		return;
	state = R_BOOT;
	if (runport_open(&ops) < 0) {
		code = EXIT_OWN;
		shutdown_request(PA_POWEROFF, "kvm --run: no line to the host");
		return;
	}
	int n = read_file(SPEC_PATH, text, sizeof text);
	if (n <= 0) {
		fail(EXIT_OWN, "the container's spec (%s): %s", SPEC_PATH, n < 0 ? strerror(-n) : "empty");
		return;
	}
	spec = cJSON_Parse(text);
	image = str("image");
	if (!image || strpbrk(image, " ?&#%\"\\")) {
		fail(EXIT_OWN, "the container's spec has no usable image: %.80s", text);
		return;
	}
	if (mount_shares() < 0)
		return;
	info("run: the container is %s; waiting for the engine", image);
}

void run_shutdown(void)
{
	if (state == R_OFF)
		return;
	if (!reported) {
		if (code < 0) {
			static const char msg[] = "the appliance shut down before the container ended";
			err("run: %s", msg);
			runport_send(RUN_F_ERROR, msg, sizeof msg - 1);
		}
		reported = 1;
		char text[16];
		int k = snprintf(text, sizeof text, "%d", code < 0 ? EXIT_OWN : code);
		runport_send(RUN_F_EXIT, text, (size_t)k);
	}
	if (runport_flush(3000) < 0)
		warn("run: the host did not take the last %zu bytes in 3 s", runport_pending());
}
