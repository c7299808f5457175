/* onlydocker's PID 1: the boot sequence, top to bottom. Each step lives in a file named after
 * it; main() decides what is fatal (before the loop only) and what is logged and gone past. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/reboot.h>
#include <unistd.h>
#include "cmdline.h"
#include "cfgsrc.h"
#include "engine.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "oomwatch.h"
#include "shutdown.h"
#include "syscont.h"
#include "workloads.h"
#include "writefiles.h"

static void report(const char *msg) { warn("%s", msg); }

/* Shutdown's engine phase, in order; each stage calls back when done (shutdown.c runs them, then
 * the final phase: every process ended, the disks clean, reboot(2), final.c). */
static const struct shutdown_stage engine_phase[] = {
	{ "stopping containers", "containers stopped", containers_stop_all, NULL },
	{ "preparing dom0 for the next boot", "dom0 for the next boot made", syscont_prepare_next, NULL },
	{ "stopping the DHCP container", "DHCP container stopped", syscont_stop_last, NULL },
	{ "stopping dockerd", "dockerd stopped", dockerd_stop, dockerd_hold },
};

/* Once the background coldplug loaded every driver: the power button's input device is there,
 * and devices added from now on get theirs as they come. */
static void coldplugged(void)
{
	power_button_setup(1);
	hotplug_start();
}

/* The engine client's connections, polled by the loop beside its own watches. */
static struct poll_source engine_source = {
	.fds = engine_pollfds, .dispatch = engine_dispatch, .timeout_ms = engine_timeout_ms, .expire = engine_expire,
};

/* Before the loop a step may be fatal; fatal means a message and the debug shell, never exit. */
static void fatal(const char *step)
{
	err("%s failed: boot cannot go on; starting the debug shell", step);
	console_shell_start();
	loop_run();
}

/* The onboot list's end: the console's turn, or, when a required entry failed, the debug shell. */
static void onboot_over(int ok)
{
	if (ok)
		syscont_release(DOM0_NAME);
	else if (!cfg->console_shell)
		console_shell_start();
}

int main(int argc, char **argv)
{
	sigset_t all;
	/* First statement: a poweroff signal may arrive at any time; it waits in the mask for the loop. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);

	const char *name = basename(argv[0]);
	int rc = applet_run(name, argc, argv);
	if (rc >= 0)
		return rc;
	if (getpid() != 1) {
		fprintf(stderr, "onlydocker-init: I am PID 1 only; as %s I do nothing (try modprobe, poweroff, reboot, halt)\n", name);
		return 2;
	}

	log_open();
	root_switch(argv);                      /* re-executes us on the tmpfs root, or returns */
	if (mounts_setup() < 0)
		fatal("mounts");
	log_open();                             /* now with /dev/kmsg of the new /dev */
	/* Ctrl-Alt-Del becomes SIGINT to us, to run the clean path instead of an instant reset. */
	reboot(RB_DISABLE_CAD);

	char cmdline[CMDLINE_MAX + 1];
	rc = read_file("/proc/cmdline", cmdline, sizeof cmdline);
	if (rc < 0)
		warn("cmdline: cannot read /proc/cmdline: %s; using defaults", strerror(-rc));
	config_boot(rc < 0 ? NULL : cmdline, report);   /* read-only, but for config_sources() below */
	log_set_debug(cfg->debug);
	if (cfg->quiet_kernel && klogctl(8 /* CONSOLE_LEVEL */, NULL, 5) < 0)
		warn("init: setting the console log level: %s", strerror(errno));
	info("init: onlydocker init starting (PID 1), cmdline parsed");

	if (signals_setup() < 0)
		fatal("signals");
	shutdown_setup(engine_phase, sizeof engine_phase / sizeof engine_phase[0], cfg->shutdown_timeout_ms, run_shutdown);
	loop_add_source(&engine_source);
	/* Before any child runs: making the first cgroup live-patches kernel code (see cgroups.c). */
	if (cgroups_setup() < 0)
		fatal("cgroups");
	oomwatch_start();
	modules_start(coldplugged);
	modules_load_early(cfg->run);
	if (enginefs_mount() < 0)
		fatal("engine image");
	power_button_setup(0);
	entropy_wait();
	net_watch_start();
	datadisk_setup();
	/* The documents (the data disk's, a NoCloud seed's, kvm --config's) under the command line,
	 * merged once; the steps from here on read the result. */
	if (config_sources(rc < 0 ? NULL : cmdline) > 0) {
		log_set_debug(cfg->debug);
		shutdown_set_timeout(cfg->shutdown_timeout_ms);
	}
	host_setup();
	/* The documents' files: after host.c's /etc (a document's /etc/hosts wins), before dockerd
	 * and the system containers, which read /etc/docker/... and the data disk's files. */
	write_files();
	net_static_setup();
	timesync_setup();
	run_setup();            /* the engine's listeners, in the order they act: --run, swarm, dhcp/dom0 */
	swarm_setup();
	syscont_setup();
	workloads_setup(onboot_over);   /* after the system containers: dom0 starts first */
	if (workloads_gate())
		syscont_hold(DOM0_NAME);
	if (cfg->console_shell)
		console_shell_start();
	dockerd_start();
	info("init: boot sequence done, entering the event loop");
	loop_run();
}
