/* The one shutdown path: stop containers through the engine, then dockerd, then every process,
 * then unmount (the data disk's journal left clean), then reboot(2). One log line and elapsed time
 * per step, and one overall deadline after which the remaining steps are forced. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>
#include "engine.h"
#include "enginelife.h"
#include "init.h"
#include "syscont.h"
#include "shutdown.h"

#define KILL_GRACE_MS 2000

enum stage { S_NONE, S_CONTAINERS, S_PREPARE, S_DHCP, S_DOCKERD, S_TERM, S_KILL, S_UNMOUNT, S_DONE };
static enum stage stage;
static enum power_action action;
static int64_t t_start, t_step;
static struct timer deadline, step_timer;
static int pending;

static void step(enum stage s);

int shutdown_in_progress(void) { return stage != S_NONE; }

static const char *action_name(enum power_action a)
{
	return a == PA_HALT ? "halt" : a == PA_REBOOT ? "reboot" : "poweroff";
}

static void step_done(const char *what)
{
	info("shutdown: %s in %lld ms", what, (long long)(now_ms() - t_step));
	t_step = now_ms();
}

static void prepared(void)
{
	if (stage != S_PREPARE)
		return;
	step_done("dom0 for the next boot made");
	step(S_DHCP);
}

static int remaining_ms(void)
{
	int64_t r = t_start + cfg.shutdown_timeout_ms - now_ms();
	return r > 0 ? (int)r : 1;
}

static void stop_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	char *id = arg;
	if (status != 204 && status != 304 && status != 404)
		warn("shutdown: stopping container %.12s: %d %s", id, status, status < 0 ? strerror(-status) : engine_errmsg(body));
	free(id);
	if (--pending == 0 && stage == S_CONTAINERS)
		step(S_PREPARE);
	else if (pending == 0 && stage == S_DHCP)
		step(S_DOCKERD);
}

static void stop_container(const char *id, int t_seconds)
{
	char path[160];
	if (t_seconds >= 0)
		snprintf(path, sizeof path, ENGINE_API "/containers/%.64s/stop?t=%d", id, t_seconds);
	else
		snprintf(path, sizeof path, ENGINE_API "/containers/%.64s/stop", id);
	pending++;
	engine_call("POST", path, NULL, -1, remaining_ms(), stop_done, NULL, strdup(id));
}

/* Every running container but the DHCP one, in parallel, each with its own stop timeout. */
static void list_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	if (stage != S_CONTAINERS)
		return;
	cJSON *list = status == 200 ? cJSON_Parse(body) : NULL;
	const cJSON *c;
	cJSON_ArrayForEach(c, list) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "Names");
		const cJSON *n0 = cJSON_GetArrayItem(names, 0);
		if (!cJSON_IsString(id))
			continue;
		if (cJSON_IsString(n0) && !strcmp(n0->valuestring + (n0->valuestring[0] == '/'), DHCP_NAME))
			continue;
		stop_container(id->valuestring, -1);
	}
	cJSON_Delete(list);
	if (status != 200)
		warn("shutdown: listing containers: %d; going on", status);
	if (pending == 0)
		step(S_PREPARE);
}

static void kill_all(int sig)
{
	if (kill(-1, sig) < 0 && errno != ESRCH)
		warn("shutdown: kill(-1, %s): %s", strsignal(sig), strerror(errno));
}

static void on_step_timeout(void *arg)
{
	(void)arg;
	if (stage == S_DOCKERD) {
		warn("shutdown: dockerd did not exit in time; killing everything");
		step(S_KILL);
	} else if (stage == S_TERM) {
		step_done("grace after SIGTERM over, processes remain: SIGKILL");
		step(S_KILL);
	} else if (stage == S_KILL) {
		warn("shutdown: processes survive SIGKILL (stuck in the kernel?); unmounting anyway");
		step(S_UNMOUNT);
	}
}

static void on_deadline(void *arg)
{
	(void)arg;
	if (stage >= S_KILL)
		return;
	static const char *const names[] = { "", "stopping containers", "preparing dom0 for the next boot",
					     "stopping the DHCP container", "stopping dockerd", "SIGTERM to all" };
	warn("shutdown: the %d s deadline passed while %s; forcing the rest", cfg.shutdown_timeout_ms / 1000, names[stage]);
	engine_cancel_all();
	step(S_KILL);
}

/* Called by the reaper after each batch of exits. */
void shutdown_after_reap(void)
{
	if ((stage == S_TERM || stage == S_KILL) && no_children_left()) {
		step_done(stage == S_TERM ? "every process exited on SIGTERM" : "every process killed");
		step(S_UNMOUNT);
	}
}

void shutdown_dockerd_exited(void)
{
	if (stage == S_DOCKERD) {
		step_done("dockerd stopped");
		step(S_TERM);
	}
}

/* Seams for the unit tests, which run this path as PID 1 of a PID namespace. */
int (*shutdown_reboot)(int cmd) = reboot;
void (*shutdown_unmount)(void) = unmount_all;
void (*shutdown_halted)(void);

#define ACPI_DIR "/sys/firmware/acpi"
#define UNMOUNT_MIN_MS 10000    /* what sync and the unmounts get even when the deadline is spent */

static struct child unmounter = { .name = "sync and unmount" }, rebooter = { .name = "reboot(2)" };
static int reboot_cmd;

static int unmount_child(void *arg)
{
	(void)arg;
	shutdown_unmount();
	return 0;
}

static int reboot_child(void *arg)
{
	(void)arg;
	shutdown_reboot(reboot_cmd);
	return errno;
}

/* reboot(2) returned, or the kernel ended its caller: for power-off and halt it does so when the
 * machine cannot power off (no ACPI). PID 1 is still here, and stays: exiting would panic. */
static void reboot_returned(struct child *c, int status)
{
	(void)c;
	stage = S_DONE;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	if (action == PA_HALT && !code)
		info("shutdown: system halted; it is safe to switch the machine off");
	else
		err("shutdown: the machine did not %s (%s); halted instead: everything is stopped and the disks "
		    "are clean, so it is safe to switch it off", action_name(action),
		    code ? strerror(code) : "no ACPI power-off?");
	if (shutdown_halted)
		shutdown_halted();
}

static void do_reboot(void)
{
	static int once;
	if (once++)             /* the unmount child may end after its timeout did */
		return;
	timer_cancel(&step_timer);
	info("shutdown: %s after %lld ms in all", action_name(action), (long long)(now_ms() - t_start));
	reboot_cmd = action == PA_HALT ? RB_HALT_SYSTEM : action == PA_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF;
	/* Without ACPI an x86 kernel has no way to power off: it halts instead (Linux 6.12 does so
	 * itself, with its CPUs stopped, so nothing can be said after). Say it while we can. */
	if (action == PA_POWEROFF && access(ACPI_DIR, F_OK) != 0)
		warn("shutdown: this machine has no ACPI (no " ACPI_DIR "): the kernel cannot power it off and "
		     "halts instead; everything is stopped and the disks are clean, so switch it off once it has halted");
	rebooter.on_exit = reboot_returned;
	/* In a child: for power-off and halt the kernel ends the calling process when it returns. */
	if (spawn_fn(&rebooter, reboot_child, NULL) < 0) {
		err("shutdown: cannot fork for reboot(2); halting here");
		stage = S_DONE;
	}
}

static void unmounted(struct child *c, int status)
{
	(void)c; (void)status;
	if (stage == S_UNMOUNT)
		do_reboot();
}

static void unmount_timeout(void *arg)
{
	(void)arg;
	warn("shutdown: sync and unmounting still not done after %d s; going on without them",
	     (int)((now_ms() - t_step) / 1000));
	do_reboot();
}

static void finish(void)
{
	run_shutdown();         /* kvm --run: the exit status reaches the host before the end */
	t_step = now_ms();
	int left = remaining_ms();
	/* In a child PID 1 can give up on: a sync or umount stuck on a dead disk must not hold the end. */
	unmounter.on_exit = unmounted;
	if (spawn_fn(&unmounter, unmount_child, NULL) < 0) {
		shutdown_unmount();
		do_reboot();
		return;
	}
	timer_arm(&step_timer, left > UNMOUNT_MIN_MS ? left : UNMOUNT_MIN_MS, unmount_timeout, NULL);
}

static void step(enum stage s)
{
	stage = s;
	timer_cancel(&step_timer);
	switch (s) {
	case S_CONTAINERS:
		if (!engine_ready()) {
			step(S_DOCKERD);
			return;
		}
		engine_call("GET", ENGINE_API "/containers/json", NULL, -1, remaining_ms(), list_done, NULL, NULL);
		return;
	case S_PREPARE:
		step_done("containers stopped");
		syscont_prepare_next(remaining_ms(), prepared);
		return;
	case S_DHCP:
		if (engine_ready()) {
			stop_container(DHCP_NAME, 2);
			return;
		}
		/* fall through */
	case S_DOCKERD:
		stage = S_DOCKERD;
		if (!dockerd_running()) {
			step(S_TERM);
			return;
		}
		/* dockerd's HTTP server waits up to 5 s for open connections before it exits: our events
		 * stream is one, and nothing more is asked of the engine now. */
		engine_cancel_all();
		dockerd_stop();
		timer_arm(&step_timer, remaining_ms(), on_step_timeout, NULL);
		return;
	case S_TERM:
		kill_all(SIGTERM);
		/* Stopped processes cannot die of SIGTERM; interactive shells ignore it but not SIGHUP. */
		kill_all(SIGCONT);
		console_shell_hangup();
		timer_arm(&step_timer, KILL_GRACE_MS, on_step_timeout, NULL);
		reap_all();
		return;
	case S_KILL:
		kill_all(SIGKILL);
		timer_arm(&step_timer, KILL_GRACE_MS, on_step_timeout, NULL);
		reap_all();
		return;
	case S_UNMOUNT:
		timer_cancel(&deadline);       /* the unmount step has its own bound */
		finish();
		return;
	default:
		return;
	}
}

void shutdown_request(enum power_action a, const char *why)
{
	if (stage != S_NONE) {
		info("shutdown: %s requested by %s, already shutting down", action_name(a), why);
		return;
	}
	action = a;
	t_start = t_step = now_ms();
	info("shutdown: %s requested by %s; deadline %d s", action_name(a), why, cfg.shutdown_timeout_ms / 1000);
	timer_arm(&deadline, cfg.shutdown_timeout_ms, on_deadline, NULL);
	step(S_CONTAINERS);
}
