/* dockerd as a supervised child: started with our flags, its output kept in /run/dockerd.log
 * (and on the console with od.debug), readiness learned from GET /_ping, liveness from a ping on
 * a timer (a hung engine is dumped and killed), and restarted with a bounded exponential backoff
 * when it dies, its last lines logged. A user's daemon.json or od.dockerd.args that keeps it from
 * ever starting is dropped, so dom0 stays reachable. */
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
#include "cmdline.h"
#include "engine.h"
#include "enginelife.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "logfile.h"
#include "loop.h"
#include "pressure.h"
#include "supervise.h"

#define LOG_PATH "/run/dockerd.log"
#define LOG_MAX (8LL << 20)      /* then dockerd.log.1: at most twice this in RAM */
#define TAIL_SIZE 2048
#define PING_RETRY_MS 100
#define PING_TIMEOUT_MS 5000
#define DROP_AFTER 3            /* failed starts in a row before the user's settings are dropped */
#define KEEP "/var/lib/docker/onlydocker/daemon.json"
#define DUMP_GRACE_MS 10000     /* a hung dockerd asked for its goroutine dump, then killed */

static struct child dockerd = { .name = "dockerd" };
static void warm_up(void);
static struct timer restart_timer, ping_timer;
static struct watch out_watch;
static int out_fd = -1, out_w = -1, failures, api_up;   /* one pipe for the life of init */
static struct logfile dlog = { .fd = -1 };
static int never_up;            /* dockerd runs in a row that died before /_ping answered */
static int plain;               /* the user's daemon.json and extra flags were dropped */
static int64_t started;
static char tail[TAIL_SIZE + 1];
static size_t tail_len;
static struct timer live_timer, dump_timer;
static int misses, hung;
static int64_t live_sent;
static long long stall_at_send;         /* memory stall total (us) when the ping went out, or < 0 */
static int own_containerd;        /* containerd is init's child, not dockerd's */
static int stopping;              /* the machine is going down: no restart, no ping */
static void (*stopped)(void);     /* the shutdown stage waiting for its exit */

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
		logfile_write(&dlog, buf, (size_t)n);
		if (cfg->debug)
			log_console_raw(buf, (size_t)n);
		return;
	}
	if (n == 0 || (rev & (POLLHUP | POLLERR))) {
		watch_del(&out_watch);
		close(fd);
		out_fd = -1;
	}
}

/* The kept tail, from its first whole line. */
static const char *last_lines(void)
{
	char *nl;
	tail[tail_len] = 0;
	if (tail_len == TAIL_SIZE && (nl = strchr(tail, '\n')))
		return nl + 1;
	return tail;
}

/* ---- liveness: an engine that stops answering without dying (a deadlock, SIGSTOP) ---- */
static void live_ping(void *arg);

static void dump_timeout(void *arg)
{
	(void)arg;
	if (dockerd.pid > 0 && hung) {
		warn("dockerd: still there %d s after SIGQUIT; killing it", DUMP_GRACE_MS / 1000);
		kill(dockerd.pid, SIGKILL);
	}
}

static void engine_hangs(void)
{
	hung = 1;
	err("dockerd: the engine hangs: %d pings in a row unanswered within %d s each; asking it for a goroutine "
	    "dump (SIGQUIT, into " LOG_PATH ") and restarting it. Its last lines:\n%s",
	    misses, cfg->ping_interval_ms / 1000, last_lines());
	/* A stopped process takes no signal but SIGKILL until it is continued. */
	kill(dockerd.pid, SIGQUIT);
	kill(dockerd.pid, SIGCONT);
	timer_arm(&dump_timer, DUMP_GRACE_MS, dump_timeout, NULL);
}

static void live_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)body; (void)len; (void)arg;
	if (status == -ECANCELED || !dockerd.pid || !api_up || hung || stopping)
		return;
	long long stall = stall_at_send >= 0 ? psi_total("memory", "some") - stall_at_send : -1;
	if (status == 200) {
		if (misses)
			info("dockerd: the engine answers /_ping again, after %d unanswered", misses);
		misses = 0;
	} else if (stall > (long long)cfg->ping_interval_ms * 100) {
		/* Over a tenth of the interval stalled on memory: reclaim or thrashing held every process,
		 * the engine with them. Slow, not hung: not counted. */
		warn("dockerd: /_ping unanswered while the machine stalled on memory for %lld ms of %d; not counted",
		     stall / 1000, cfg->ping_interval_ms);
	} else if (++misses >= cfg->ping_misses) {
		engine_hangs();
		return;
	} else {
		warn("dockerd: /_ping unanswered (%d %s), %d of %d before a restart", status,
		     status < 0 ? strerror(-status) : "", misses, cfg->ping_misses);
	}
	int64_t next = live_sent + cfg->ping_interval_ms - now_ms();
	timer_arm(&live_timer, next > 0 ? (int)next : 0, live_ping, NULL);
}

static void live_ping(void *arg)
{
	(void)arg;
	if (!dockerd.pid || !api_up || stopping)
		return;
	live_sent = now_ms();
	stall_at_send = psi_total("memory", "some");
	/* Each ping has the whole interval to answer: an engine slow under load is not a hung one. */
	engine_call("GET", "/_ping", NULL, -1, cfg->ping_interval_ms, live_done, NULL, NULL);
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
		warn("dockerd: GET /version: %s; asking again", engine_failure(status, body));
		timer_arm(&ping_timer, PING_RETRY_MS * 10, ping, NULL);
		return;
	}
	if (engine_api_check(body, why, sizeof why) < 0) {
		err("dockerd: refusing the engine: %s", why);
		return;
	}
	api_up = 1;
	info("dockerd: API answering /_ping, %lld ms after exec; %s", (long long)(now_ms() - started), why);
	misses = 0;
	if (cfg->ping_interval_ms > 0)
		timer_arm(&live_timer, cfg->ping_interval_ms, live_ping, NULL);
	engine_mark_up();
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
	int was_hung = hung;
	timer_cancel(&ping_timer);
	timer_cancel(&live_timer);
	timer_cancel(&dump_timer);
	hung = 0;
	never_up = api_up ? 0 : never_up + 1;
	if (api_up) {
		engine_mark_down();
		/* What the listeners left in flight would wait for a socket that is gone. At shutdown
		 * the engine phase owns what is still pending. */
		if (!stopping)
			engine_cancel_all();
	}
	api_up = 0;
	if (stopping) {
		info("dockerd: exited (status %d) after %lld ms", code, (long long)ran);
		if (stopped) {
			void (*d)(void) = stopped;
			stopped = NULL;
			d();
		}
		return;
	}
	int delay = restart_delay(&failures, ran);
	if (was_hung)   /* its last lines are the goroutine dump now, and were logged before it */
		err("dockerd: the hung engine ended (status %d) after %lld ms; its goroutine dump is in " LOG_PATH
		    "; restarting in %d ms", code, (long long)ran, delay);
	else
		err("dockerd: died (status %d) after %lld ms, failure %d in a row; restarting in %d ms. Its last lines:\n%s",
		    code, (long long)ran, failures, delay, last_lines());
	tail_len = 0;
	int json = access("/etc/docker/daemon.json", F_OK) == 0, args = cfg->dockerd_args[0] != 0;
	if (never_up >= DROP_AFTER && !plain && (json || args)) {
		/* Without an engine there is no dom0 and no console: a bad setting must not lock the
		 * user out. Said on the console; the file on the disk is left for the user to fix. */
		plain = 1;
		unlink("/etc/docker/daemon.json");
		err("dockerd: never came up in %d tries; starting it without %s%s%s. Fix them from dom0 and reboot",
		    never_up, !json ? "" : cfg->daemon_json[0] ? "onlydocker.daemon" : KEEP, json && args ? " and " : "",
		    args ? "od.dockerd.args" : "");
	}
	timer_arm(&restart_timer, delay, start, NULL);
}

/* Live restore keeps containers running while dockerd is away (a crash, a hang, a restart), so the
 * console keeps dom0's shell. Swarm mode refuses it, and a daemon.json that names it decides. */
static int live_restore_ok(void)
{
	char json[8192];
	if (cfg->swarm[0] || cfg->swarm_join[0] || access("/var/lib/docker/swarm/state.json", F_OK) == 0)
		return 0;
	return !(read_file("/etc/docker/daemon.json", json, sizeof json) > 0 && strstr(json, "\"live-restore\""));
}

static void start(void *arg)
{
	(void)arg;
	static char *argv[64];
	if (stopping)     /* asked to stop before it ever started (kvm --run with no host) */
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
	if (!cfg->iptables)
		argv[n++] = "--iptables=false";
	if (cfg->debug)
		argv[n++] = "--debug";
	int live = live_restore_ok();  /* read once: the flag and the log line must agree */
	if (live)
		argv[n++] = "--live-restore";
	if (own_containerd)
		argv[n++] = "--containerd=" CONTAINERD_SOCK;
	snprintf(extra, sizeof extra, "%s", plain ? "" : cfg->dockerd_args);
	for (char *save, *t = strtok_r(extra, " ", &save); t && n < 62; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;

	static char *env[8];
	int e = 0;
	env[e++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	env[e++] = "HOME=/root";
	if (getenv("DOCKER_RAMDISK"))
		env[e++] = "DOCKER_RAMDISK=true";
	env[e] = NULL;
	struct spawn_opts o = { .out_fd = out_w, .envp = env, .oom_score_adj = OOM_ADJ_ENGINE };
	dockerd.on_exit = on_exit_dockerd;
	started = now_ms();
	if (spawn(&dockerd, argv, &o) < 0) {
		timer_arm(&restart_timer, 5000, start, NULL);
	} else {
		info("dockerd: started (pid %d)%s%s%s", dockerd.pid, cfg->iptables ? "" : ", iptables off",
		     cfg->debug ? ", debug on" : "", live ? ", live restore" : "");
		timer_arm(&ping_timer, PING_RETRY_MS, ping, NULL);
		warm_up();
	}
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
	/* The configuration document's onlydocker.daemon, else a daemon.json kept on the data disk
	 * (it survives reboots; /etc is a tmpfs). The document is the later source: it wins whole. */
	if (cfg->daemon_json[0]) {
		int r = write_file("/etc/docker/daemon.json", cfg->daemon_json);
		if (r < 0)
			warn("dockerd: /etc/docker/daemon.json: %s; the configuration's onlydocker.daemon is not used",
			     strerror(-r));
		else
			info("dockerd: /etc/docker/daemon.json from the configuration's onlydocker.daemon%s",
			     access(KEEP, F_OK) == 0 ? " (not " KEEP ")" : "");
	} else if (access(KEEP, R_OK) == 0 && symlink(KEEP, "/etc/docker/daemon.json") == 0) {
		info("dockerd: using " KEEP " as /etc/docker/daemon.json");
	}
	int e = logfile_open(&dlog, LOG_PATH, LOG_MAX);
	if (e < 0)
		warn("dockerd: " LOG_PATH ": %s; its output is not kept", strerror(-e));
	/* Both ends kept open for good: the engine's output, from every start of dockerd and
	 * containerd (and of the shims they leave), goes to one pipe that never reaches EOF. */
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
		out_fd = p[0];
		out_w = p[1];
		watch_add(&out_watch, out_fd, POLLIN, on_output, NULL);
	} else {
		warn("dockerd: a pipe for its output: %s; its output is not kept", strerror(errno));
	}
	own_containerd = containerd_start(out_w) == 0;
	start(NULL);
}

void dockerd_hold(void)
{
	stopping = 1;
	timer_cancel(&restart_timer);
	timer_cancel(&ping_timer);
	timer_cancel(&live_timer);
}

void dockerd_stop(int budget_ms, void (*done)(void))
{
	(void)budget_ms;        /* the caller's deadline bounds the wait */
	dockerd_hold();
	if (dockerd.pid <= 0) {
		done();
		return;
	}
	stopped = done;
	/* dockerd's HTTP server waits up to 5 s for open connections before it exits: our events
	 * stream is one, and nothing more is asked of the engine now. */
	engine_cancel_all();
	kill(dockerd.pid, SIGTERM);
}
