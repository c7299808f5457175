/* containerd as init's own supervised child, started beside dockerd rather than by it: a managed
 * containerd starts only once dockerd has, and dockerd then waits out gRPC's reconnect backoff
 * for it (measured: the two in series cost ~6 s of every boot under TCG). Restarted with a bounded
 * backoff when it dies; containers and dockerd's live restore outlive dockerd either way. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"
#include "supervise.h"

#define CONFIG "/run/onlydocker/containerd.toml"

/* The layout dockerd gives its managed containerd (moby's daemon/config): disks made by either
 * keep their containers. The CRI plugin is Kubernetes', not Docker's. */
static const char config[] =
	"version = 2\n"
	"root = \"/var/lib/docker/containerd/daemon\"\n"
	"state = \"/var/run/docker/containerd/daemon\"\n"
	"disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
	"[grpc]\n"
	"  address = \"" CONTAINERD_SOCK "\"\n"
	"[debug]\n"
	"  address = \"/var/run/docker/containerd/containerd-debug.sock\"\n";

static struct child containerd = { .name = "containerd" };
static struct timer restart_timer;
static int failures;
static int64_t started;
static int out_fd = -1;

static void start(void *arg);

static void on_exit_containerd(struct child *c, int status)
{
	(void)c;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	int64_t ran = now_ms() - started;
	if (shutdown_in_progress()) {
		info("containerd: exited (status %d) after %lld ms", code, (long long)ran);
		return;
	}
	int delay = restart_delay(&failures, ran);
	err("containerd: died (status %d) after %lld ms, failure %d in a row; restarting in %d ms (its output is in "
	    "/run/dockerd.log)", code, (long long)ran, failures, delay);
	timer_arm(&restart_timer, delay, start, NULL);
}

static void start(void *arg)
{
	(void)arg;
	static char *argv[] = { "/usr/bin/containerd", "--config", CONFIG, NULL };
	static char *env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL };
	if (shutdown_in_progress())
		return;
	struct spawn_opts o = { .out_fd = out_fd, .envp = env, .oom_score_adj = OOM_ADJ_ENGINE };
	containerd.on_exit = on_exit_containerd;
	started = now_ms();
	if (spawn(&containerd, argv, &o) < 0)
		timer_arm(&restart_timer, 5000, start, NULL);
	else
		debug("containerd: started (pid %d)", containerd.pid);
}

/* out: where its output goes, for good (dockerd's log pipe: one file tells the engine's story). */
int containerd_start(int out)
{
	mkdirs("/run/onlydocker", 0755);
	mkdirs("/var/run/docker/containerd", 0700);
	int e = write_file(CONFIG, config);
	if (e < 0) {
		err("containerd: " CONFIG ": %s; dockerd starts its own", strerror(-e));
		return e;
	}
	out_fd = out;
	start(NULL);
	return 0;
}
