/* Each boot step's entry point, as main.c calls them in order, and the few calls between steps
 * (the console's tty, the engine's stop for shutdown). The loop, the children, the configuration
 * and the logger have headers of their own. */
#ifndef OD_INIT_H
#define OD_INIT_H

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
void syscont_setup(void);               /* dhcp, ntp and dom0: listens to the engine's up and down */
/* timesync.c: where the NTP servers come from, the ntp container's part, chronyd's log relayed */
#ifndef NTP_DIR                         /* (the unit test has its own) */
#define NTP_DIR "/run/ntp"                      /* bound into the dhcp and ntp containers */
#endif
struct cJSON;
void timesync_setup(void);              /* after the network's mode is known: said once, the log's FIFO */
int timesync_wanted(void);              /* the ntp container runs */
void timesync_env(struct cJSON *env);   /* its NTP_SERVERS= and NTP_POOLS= */
/* run.c: kvm --run (od.run), one container for the host */
void run_setup(void);                   /* boot: the spec, the port, the shared directories */
void run_shutdown(void);                /* the machine is going down: the status must reach the host */
void swarm_setup(void);                 /* od.swarm, od.swarm.join: until the node is a member */

#endif
