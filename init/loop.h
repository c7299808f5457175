/* The event loop (loop.c): one poll over watched fds and registered sources, with timers and a
 * safety tick. Everything in PID 1 after boot runs from its callbacks. */
#ifndef OD_LOOP_H
#define OD_LOOP_H
#include <poll.h>
#include <stdint.h>

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

#endif
