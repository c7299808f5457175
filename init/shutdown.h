/* Shutdown, as the rest of init asks for it and sees it: the request, whether it is under way, and
 * the two events shutdown.c waits on (a reaped child, dockerd gone). The hooks are for the tests. */
#ifndef OD_SHUTDOWN_H
#define OD_SHUTDOWN_H

enum power_action { PA_NONE, PA_HALT, PA_POWEROFF, PA_REBOOT };
void shutdown_request(enum power_action a, const char *why);
int shutdown_in_progress(void);
void shutdown_after_reap(void);         /* supervise.c's reaper, after each round */
void shutdown_dockerd_exited(void);
extern int (*shutdown_reboot)(int cmd); /* reboot(2) in a child, or a test's fake */
extern void (*shutdown_unmount)(void);

#endif
