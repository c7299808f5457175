/* Shutdown, as the rest of init asks for it and sees it: the request, whether it is under way, and
 * the engine phase's stages, which main.c lists in order from their owners (shutdown.c calls none
 * by name). The final phase that follows is final.c's. */
#ifndef OD_SHUTDOWN_H
#define OD_SHUTDOWN_H
#include "final.h"

struct shutdown_stage {
	const char *doing;                      /* "stopping dockerd": what the deadline interrupted */
	const char *done;                       /* "dockerd stopped": logged with its time */
	/* Does its part within budget_ms and calls done() once, maybe at once. */
	void (*run)(int budget_ms, void (*done)(void));
	void (*begin)(void);                    /* optional, at the request: start nothing new */
};
/* For a stage with requests in parallel: start() counts the stage's own share, each request
 * adds one, and one() for each that ended (and once for the share) calls done() after the last. */
struct stage_join {
	int pending;
	void (*done)(void);
};
static inline void stage_join_start(struct stage_join *j, void (*done)(void))
{
	j->pending = 1;
	j->done = done;
}
static inline void stage_join_one(struct stage_join *j)
{
	if (--j->pending == 0 && j->done) {
		void (*d)(void) = j->done;
		j->done = NULL;
		d();
	}
}

/* Before anything can ask for a shutdown: the stages (kept, not copied), the overall deadline of
 * the engine phase, and the final phase's last words (kvm --run's status to the host). */
void shutdown_setup(const struct shutdown_stage *stages, int n, int timeout_ms, void (*last_words)(void));
/* The overall deadline again, once the configuration documents are merged (before a request). */
void shutdown_set_timeout(int timeout_ms);
void shutdown_request(enum power_action a, const char *why);
int shutdown_in_progress(void);

/* Seams for the unit tests: the final phase's plan (reboot(2), the mount table) and a call once
 * the machine did not go down. */
extern struct final_plan shutdown_plan;
extern void (*shutdown_halted)(int code);

#endif
