/* Children of PID 1 (supervise.c): the one spawn() helper, the one reaper, and the registry that
 * hands each exited pid to its owner's on_exit; and the restart backoff daemons share. */
#ifndef OD_SUPERVISE_H
#define OD_SUPERVISE_H
#include <stdint.h>
#include <sys/types.h>

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

#endif
