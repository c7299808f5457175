/* What the parts of init share: the configuration, the event loop's timers and fd watches,
 * the child registry, and each boot step's entry point. */
#ifndef OD_INIT_H
#define OD_INIT_H
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include "cmdline.h"
#include "log.h"


/* ---- loop.c: one poll loop over the signalfd, timers and watched fds ---- */
struct timer {
	int64_t when;           /* monotonic ms; 0 = not armed */
	void (*fn)(void *arg);
	void *arg;
	struct timer *next;
};
void timer_arm(struct timer *t, int delay_ms, void (*fn)(void *), void *arg);
void timer_cancel(struct timer *t);

struct watch {
	int fd;
	short events;
	void (*fn)(int fd, short revents, void *arg);
	void *arg;
	struct watch *next;
};
void watch_add(struct watch *w, int fd, short events, void (*fn)(int, short, void *), void *arg);
void watch_del(struct watch *w);
/* A part whose fds come and go each turn (the engine client's connections), polled beside the
 * watches: fds() fills its slice, dispatch() gets it back after poll, expire() runs its deadlines. */
struct poll_source {
	int (*fds)(struct pollfd *pfd, int max);
	void (*dispatch)(const struct pollfd *pfd, int n);
	int (*timeout_ms)(void);                /* until its nearest deadline, -1 if none */
	void (*expire)(void);
	struct poll_source *next;               /* loop.c's */
};
void loop_add_source(struct poll_source *src);  /* src lives for good */
void loop_run(void) __attribute__((noreturn));

/* ---- supervise.c: spawn, the reaper, and the child registry ---- */
struct child {
	pid_t pid;                              /* 0 when not running */
	const char *name;
	void (*on_exit)(struct child *c, int status);
	struct child *next;
};
struct spawn_opts {
	const char *tty;        /* open this as stdin/out/err and make it the controlling tty */
	int out_fd;             /* else stdout/stderr go here (-1: /dev/null) */
	char *const *envp;      /* NULL: a default environment */
	const char *oom_score_adj;      /* written to the child's /proc/self/oom_score_adj (NULL: inherit) */
};
int spawn(struct child *c, char *const argv[], const struct spawn_opts *o);
/* A forked child of PID 1 that runs fn(arg) and exits with its value: work PID 1 must be able to
 * give up on (sync, unmounts) or must not run itself (reboot(2), which can end its caller). */
int spawn_fn(struct child *c, int (*fn)(void *), void *arg);
void reap_all(void);                    /* the one waitpid(-1) loop */
unsigned long reaped_orphans(void);
int no_children_left(void);         /* the last reap found no child at all */
/* A restart's delay for a daemon that ran ran_ms: 0.5 s, doubled for each quick death in a row
 * (counted in *failures; one that ran over RESTART_STABLE_MS starts the count again), at most
 * RESTART_MAX_MS. */
#define RESTART_STABLE_MS 30000
#define RESTART_MAX_MS 60000
int restart_delay(int *failures, int64_t ran_ms);
extern char *const default_env[];

/* ---- signals / power (shutdown: shutdown.h, final.h) ---- */
int signals_setup(void);                /* the signalfd, watched by the loop */
void power_button_setup(int last);     /* last: the input drivers are all loaded */
int control_main(const char *name, int argc, char **argv);
/* applets.c: runs argv[0]'s applet (modprobe, poweroff, reboot, halt) with signals unblocked and
 * returns its exit status, or -1 when name is no applet's. */
int applet_run(const char *name, int argc, char **argv);

/* ---- boot steps ---- */
int root_switch(char **argv);           /* returns only when it did not switch */
int mounts_setup(void);
int modules_start(void (*done)(void));  /* coldplug and Docker's set, in a child; done() after */
int modules_load_early(int run);        /* what the next steps need (run: kvm --run's), here and now */
int modules_load(const char *name);     /* modules loaded, or -errno */
void hotplug_start(void);               /* after coldplug: drivers for devices added later */
/* uevent.c: the kernel's uevent socket (non-blocking, or -errno); and a wait up to timeout_ms until
 * look(arg) returns a (malloc'd) answer, woken by uevents of subsystem. */
int uevent_socket(void);
ssize_t uevent_recv(int s, char *buf, size_t size);     /* the kernel's uevents only */
/* The MODALIAS of an "add" uevent (n bytes of NUL-separated fields), or NULL. */
const char *uevent_added_alias(const char *buf, size_t n);
char *wait_device(const char *subsystem, char *(*look)(const char *), const char *arg, int timeout_ms);
int modprobe_main(int argc, char **argv);
int cgroups_setup(void);
void entropy_wait(void);
void host_setup(void);
void net_watch_start(void);             /* log IPv4 addresses as they come (the lease) */
int net_static_setup(void);             /* ip=: address, route and DNS, before the engine */
int net_wants_dhcp(void);               /* whether the DHCP container runs */
void net_lease_deadline(void);          /* warn if none within od.dhcp.timeout */
int datadisk_setup(void);
/* enginefs.c: the squashfs that holds the engine's binaries and the bundled image archives */
#define ENGINEFS_IMAGE "/usr/lib/onlydocker/engine.squashfs"   /* mkinitrd.sh ENGINE_DIR */
#define ENGINEFS_DIR "/usr/lib/onlydocker/engine"
#define ENGINEFS_SERIAL "onlydocker-engine"                      /* kvm ENGINE_SERIAL */
int enginefs_mount(void);
extern int engine_fd;                   /* the image, opened before the root switch, or -1 */
void console_shell_start(void);         /* the root debug shell (`console`, or a fatal step) */
const char *console_tty(void);         /* the real tty behind /dev/console, e.g. /dev/ttyS0 */
void dockerd_start(void);
void dockerd_hold(void);                /* shutdown began: no restart from now on */
void dockerd_stop(int budget_ms, void (*done)(void));  /* SIGTERM; done() once it exited */
/* containerd.c: containerd beside dockerd, started by dockerd_start() */
#define CONTAINERD_SOCK "/var/run/docker/containerd/containerd.sock"
#define OOM_ADJ_ENGINE "-999"           /* the engine is what every container needs: the OOM killer's last pick */
int containerd_start(int out_fd);       /* 0, or -errno when dockerd must manage its own */
void syscont_setup(void);               /* dhcp and dom0: listens to the engine's up and down */
/* run.c: kvm --run (od.run), one container for the host */
void run_setup(void);                   /* boot: the spec, the port, the shared directories */
void run_shutdown(void);                /* the machine is going down: the status must reach the host */
void swarm_setup(void);                 /* od.swarm, od.swarm.join: until the node is a member */

#endif
