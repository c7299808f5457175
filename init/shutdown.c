/* Shutdown's engine phase, in the event loop: the request, one overall deadline, and the stages
 * main.c registered (containers, the next boot's dom0, dhcp, dockerd) run one after the other,
 * each calling back when done. Then, or when the deadline passes, the final phase (final.c). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/reboot.h>
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"

#define GRACE_MS 2000           /* for processes after SIGTERM, and again after SIGKILL */
#define UNMOUNT_MIN_MS 10000    /* what sync and the unmounts get even when the deadline is spent */

static const struct shutdown_stage *stages;
static int nstages, timeout_ms = 30000;
static int cur = -1;            /* the stage running; nstages once the engine phase is over */
static int requested;
static int64_t t_start, t_step;
static struct timer deadline, final_timer;

struct final_plan shutdown_plan = {
	.grace_ms = GRACE_MS, .mountinfo = "/proc/self/mountinfo", .swaps = "/proc/swaps", .reboot = reboot,
};
void (*shutdown_halted)(int code);

int shutdown_in_progress(void) { return requested; }

void shutdown_set_timeout(int timeout) { timeout_ms = timeout; }

void shutdown_setup(const struct shutdown_stage *s, int n, int timeout, void (*last_words)(void))
{
	stages = s;
	nstages = n;
	timeout_ms = timeout;
	shutdown_plan.last_words = last_words;
}

static int remaining_ms(void)
{
	int64_t r = t_start + timeout_ms - now_ms();
	return r > 0 ? (int)r : 1;
}

static void final(void *arg)
{
	(void)arg;
	timer_cancel(&deadline);
	int left = remaining_ms();
	shutdown_plan.requested_ms = t_start;
	shutdown_plan.unmount_ms = left > UNMOUNT_MIN_MS ? left : UNMOUNT_MIN_MS;
	int code = final_phase(&shutdown_plan);
	/* The machine is still here, halted: PID 1 stays (exiting would panic), and starts nothing. */
	if (shutdown_halted)
		shutdown_halted(code);
}

static void stage_done(void);

static void next_stage(void)
{
	if (++cur >= nstages) {
		/* From the loop, not from inside the last stage's callback. */
		timer_arm(&final_timer, 0, final, NULL);
		return;
	}
	t_step = now_ms();
	stages[cur].run(remaining_ms(), stage_done);
}

static void stage_done(void)
{
	if (cur < 0 || cur >= nstages)  /* late: the deadline went on without it */
		return;
	info("shutdown: %s in %lld ms", stages[cur].done, (long long)(now_ms() - t_step));
	next_stage();
}

static void on_deadline(void *arg)
{
	(void)arg;
	if (cur >= nstages)
		return;
	warn("shutdown: the %d s deadline passed while %s; forcing the rest", timeout_ms / 1000, stages[cur].doing);
	cur = nstages;
	timer_arm(&final_timer, 0, final, NULL);
}

void shutdown_request(enum power_action a, const char *why)
{
	const char *name = power_action_name(a);
	if (requested) {
		info("shutdown: %s requested by %s, already shutting down", name, why);
		return;
	}
	requested = 1;
	shutdown_plan.action = a;
	t_start = now_ms();
	info("shutdown: %s requested by %s; deadline %d s", name, why, timeout_ms / 1000);
	for (int i = 0; i < nstages; i++)
		if (stages[i].begin)
			stages[i].begin();
	timer_arm(&deadline, timeout_ms, on_deadline, NULL);
	next_stage();
}
