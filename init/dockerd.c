/* dockerd as a supervised child: started with our flags, its output kept in /run/dockerd.log
 * (and on the console with od.debug), readiness learned from GET /_ping, and restarted with a
 * bounded exponential backoff when it dies, its last lines logged. A user's daemon.json or
 * od.dockerd.args that keeps it from ever starting is dropped, so dom0 stays reachable. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "engine.h"
#include "init.h"
#include "syscont.h"

#define LOG_PATH "/run/dockerd.log"
#define TAIL_SIZE 2048
#define BACKOFF_MAX_MS 60000
#define STABLE_MS 30000
#define PING_RETRY_MS 100
#define PING_TIMEOUT_MS 5000
#define DROP_AFTER 3            /* failed starts in a row before the user's settings are dropped */
#define KEEP "/var/lib/docker/onlydocker/daemon.json"

static struct child dockerd = { .name = "dockerd" };
static void warm_up(void);
static struct timer restart_timer, ping_timer;
static struct watch out_watch;
static int out_fd = -1, log_fd = -1, failures, api_up;
static int never_up;            /* dockerd runs in a row that died before /_ping answered */
static int plain;               /* the user's daemon.json and extra flags were dropped */
static int64_t started;
static char tail[TAIL_SIZE + 1];
static size_t tail_len;

int dockerd_running(void) { return dockerd.pid > 0; }

static void keep_tail(const char *p, size_t n)
{
	if (n >= TAIL_SIZE) {
		p += n - TAIL_SIZE;
		n = TAIL_SIZE;
	}
	if (tail_len + n > TAIL_SIZE) {
		size_t drop = tail_len + n - TAIL_SIZE;
		memmove(tail, tail + drop, tail_len - drop);
		tail_len -= drop;
	}
	memcpy(tail + tail_len, p, n);
	tail_len += n;
}

static void on_output(int fd, short rev, void *arg)
{
	(void)arg;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0) {
		keep_tail(buf, n);
		if (log_fd >= 0)
			(void)!write(log_fd, buf, n);
		if (cfg.debug)
			(void)!write(2, buf, n);
		return;
	}
	if (n == 0 || (rev & (POLLHUP | POLLERR))) {
		watch_del(&out_watch);
		close(fd);
		out_fd = -1;
	}
}

static void ping(void *arg);

/* The engine answers: it is up only if it speaks the API version every request names. An engine
 * that does not is left running (the debug shell can reach it) but nothing is asked of it. */
static void version_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	char why[240];
	if (!dockerd.pid)
		return;
	if (status != 200) {
		warn("dockerd: GET /version: %d %s; asking again", status, status < 0 ? strerror(-status) : engine_errmsg(body));
		timer_arm(&ping_timer, PING_RETRY_MS * 10, ping, NULL);
		return;
	}
	if (engine_api_check(body, why, sizeof why) < 0) {
		err("dockerd: refusing the engine: %s", why);
		return;
	}
	api_up = 1;
	info("dockerd: API answering /_ping, %lld ms after exec; %s", (long long)(now_ms() - started), why);
	syscont_engine_up();
}

static void ping_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)body; (void)len; (void)arg;
	if (!dockerd.pid)
		return;
	if (status == 200) {    /* unversioned, as /_ping is: the version is what it tells */
		engine_call("GET", "/version", NULL, -1, PING_TIMEOUT_MS, version_done, NULL, NULL);
		return;
	}
	/* Before dockerd makes its socket, connect fails at once: ask again shortly. */
	timer_arm(&ping_timer, PING_RETRY_MS, ping, NULL);
}

static void ping(void *arg)
{
	(void)arg;
	engine_call("GET", "/_ping", NULL, -1, PING_TIMEOUT_MS, ping_done, NULL, NULL);
}

static void start(void *arg);

static void on_exit_dockerd(struct child *c, int status)
{
	(void)c;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	int64_t ran = now_ms() - started;
	timer_cancel(&ping_timer);
	never_up = api_up ? 0 : never_up + 1;
	if (api_up)
		syscont_engine_down();
	api_up = 0;
	if (shutdown_in_progress()) {
		info("dockerd: exited (status %d) after %lld ms", code, (long long)ran);
		shutdown_dockerd_exited();
		return;
	}
	failures = ran > STABLE_MS ? 1 : failures + 1;
	int delay = 500;
	for (int i = 1; i < failures && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	tail[tail_len] = 0;
	char *last = tail, *nl;
	/* Print whole lines only: skip a partial first one. */
	if (tail_len == TAIL_SIZE && (nl = strchr(tail, '\n')))
		last = nl + 1;
	err("dockerd: died (status %d) after %lld ms, failure %d in a row; restarting in %d ms. Its last lines:\n%s",
	    code, (long long)ran, failures, delay, last);
	tail_len = 0;
	int json = access("/etc/docker/daemon.json", F_OK) == 0, args = cfg.dockerd_args[0] != 0;
	if (never_up >= DROP_AFTER && !plain && (json || args)) {
		/* Without an engine there is no dom0 and no console: a bad setting must not lock the
		 * user out. Said on the console; the file on the disk is left for the user to fix. */
		plain = 1;
		unlink("/etc/docker/daemon.json");
		err("dockerd: never came up in %d tries; starting it without %s%s%s. Fix them from dom0 and reboot",
		    never_up, json ? KEEP : "", json && args ? " and " : "", args ? "od.dockerd.args" : "");
	}
	timer_arm(&restart_timer, delay, start, NULL);
}

static void start(void *arg)
{
	(void)arg;
	static char *argv[64];
	if (shutdown_in_progress())     /* asked to stop before it ever started (kvm --run with no host) */
		return;
	static char extra[VALUE_MAX];
	int n = 0;
	argv[n++] = "/usr/bin/dockerd";
	argv[n++] = "--host=unix:///var/run/docker.sock";
	argv[n++] = "--data-root=/var/lib/docker";
	argv[n++] = "--exec-root=/var/run/docker";
	/* crun, not runc, starts containers: a C program where runc is Go, it saves ~270 ms of every
	 * container start under TCG (dom0's on a second boot: 2.1 s -> 1.8 s). runc stays, by name. */
	argv[n++] = "--add-runtime=crun=/usr/bin/crun";
	argv[n++] = "--default-runtime=crun";
	if (!cfg.iptables)
		argv[n++] = "--iptables=false";
	if (cfg.debug)
		argv[n++] = "--debug";
	snprintf(extra, sizeof extra, "%s", plain ? "" : cfg.dockerd_args);
	for (char *save, *t = strtok_r(extra, " ", &save); t && n < 62; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;

	int p[2];
	if (out_fd < 0 && pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
		out_fd = p[0];
		watch_add(&out_watch, out_fd, POLLIN, on_output, NULL);
	} else {
		p[1] = -1;
	}
	static char *env[8];
	int e = 0;
	env[e++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	env[e++] = "HOME=/root";
	if (getenv("DOCKER_RAMDISK"))
		env[e++] = "DOCKER_RAMDISK=true";
	env[e] = NULL;
	struct spawn_opts o = { .out_fd = p[1], .envp = env };
	dockerd.on_exit = on_exit_dockerd;
	started = now_ms();
	if (spawn(&dockerd, argv, &o) < 0) {
		timer_arm(&restart_timer, 5000, start, NULL);
	} else {
		info("dockerd: started (pid %d)%s%s", dockerd.pid, cfg.iptables ? "" : ", iptables off",
		     cfg.debug ? ", debug on" : "");
		timer_arm(&ping_timer, PING_RETRY_MS, ping, NULL);
		warm_up();
	}
	if (p[1] >= 0)
		close(p[1]);
}

static struct child warm = { .name = "page cache warm-up" };
static int64_t warm_t0;

static void warm_done(struct child *c, int status)
{
	(void)c;
	debug("dockerd: crun and the shim read into the page cache in %lld ms (status %d)",
	      (long long)(now_ms() - warm_t0), status);
}

/* The first container start reads crun, the shim and tini from the engine image, decompressing
 * as it goes: measured 2.8 s for dom0's start on a second boot against 1.5 s once they are
 * cached. Reading them while dockerd starts (13 s here) takes that off the way to the prompt. */
static void warm_up(void)
{
	static char *const argv[] = { "/bin/cat", "/usr/bin/crun", "/usr/bin/containerd-shim-runc-v2",
				      "/usr/bin/docker-init", NULL };
	if (warm.pid)
		return;
	warm_t0 = now_ms();
	warm.on_exit = warm_done;
	spawn(&warm, argv, NULL);       /* stdout is /dev/null; failing costs nothing but time */
}

void dockerd_start(void)
{
	mkdirs("/etc/docker", 0755);
	/* A daemon.json kept on the data disk survives reboots; /etc is a tmpfs. */
	if (access(KEEP, R_OK) == 0 && symlink(KEEP, "/etc/docker/daemon.json") == 0)
		info("dockerd: using " KEEP " as /etc/docker/daemon.json");
	log_fd = open(LOG_PATH, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	start(NULL);
}

void dockerd_stop(void)
{
	timer_cancel(&restart_timer);
	timer_cancel(&ping_timer);
	if (dockerd.pid > 0)
		kill(dockerd.pid, SIGTERM);
}
