/* The one event loop of PID 1: poll over watched fds (the signalfd, the power button, uevents)
 * and the fds of registered sources (the engine client's connections), with timers and a safety
 * tick. No threads, no blocking calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include "loop.h"
#include "log.h"
#include "supervise.h"

#define SAFETY_TICK_MS 1000
#define MAX_FDS 128
#define MAX_SOURCES 4

static struct timer *timers;
static struct watch *watches;
static struct poll_source *sources;

void loop_add_source(struct poll_source *src)
{
	src->next = sources;
	sources = src;
}

void timer_arm(struct timer *t, int delay_ms, void (*fn)(void *), void *arg)
{
	timer_cancel(t);
	t->when = now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	t->arg = arg;
	t->next = timers;
	timers = t;
}

void timer_cancel(struct timer *t)
{
	for (struct timer **p = &timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->when = 0;
}

void watch_add(struct watch *w, int fd, short events, void (*fn)(int, short, void *), void *arg)
{
	w->fd = fd;
	w->events = events;
	w->fn = fn;
	w->arg = arg;
	w->next = watches;
	watches = w;
}

void watch_del(struct watch *w)
{
	for (struct watch **p = &watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->fd = -1;
}

static void run_timers(void)
{
	int64_t now = now_ms();
	/* A timer callback may arm or cancel timers: restart the scan after each one. */
	for (;;) {
		struct timer *due = NULL;
		for (struct timer *t = timers; t; t = t->next)
			if (t->when && t->when <= now) {
				due = t;
				break;
			}
		if (!due)
			return;
		timer_cancel(due);
		due->fn(due->arg);
	}
}

static int next_timeout(void)
{
	int64_t now = now_ms(), best = now + SAFETY_TICK_MS;
	for (struct timer *t = timers; t; t = t->next)
		if (t->when && t->when < best)
			best = t->when;
	int ms = (int)(best - now);
	for (struct poll_source *src = sources; src; src = src->next) {
		int e = src->timeout_ms();
		if (e >= 0 && e < ms)
			ms = e;
	}
	return ms < 0 ? 0 : ms;
}

void loop_run(void)
{
	struct pollfd pfd[MAX_FDS];
	struct watch *owner[MAX_FDS];

	for (;;) {
		int n = 0;
		for (struct watch *w = watches; w && n < MAX_FDS - 1; w = w->next) {
			pfd[n].fd = w->fd;
			pfd[n].events = w->events;
			pfd[n].revents = 0;
			owner[n++] = w;
		}
		int nw = n;
		/* Each source's slice of pfd, in list order: its offset and length. */
		int off[MAX_SOURCES], len[MAX_SOURCES], ns = 0;
		for (struct poll_source *src = sources; src && ns < MAX_SOURCES; src = src->next, ns++) {
			off[ns] = n;
			len[ns] = src->fds(pfd + n, MAX_FDS - 1 - n);
			n += len[ns];
		}
		/* Console output that waited: the poll wakes when the line takes more (log.c owns it). */
		int cfd = log_console_fd();
		if (cfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = cfd, .events = POLLOUT };
		int r = poll(pfd, n, next_timeout());
		if (r < 0 && errno != EINTR) {
			err("loop: poll: %s", strerror(errno));
			/* Never exit: a failing poll (ENOMEM) gets the safety tick's pace, not a spin. */
			poll(NULL, 0, SAFETY_TICK_MS);
		}
		if (r > 0) {
			for (int i = 0; i < nw; i++)
				if (pfd[i].revents && owner[i]->fd == pfd[i].fd)
					owner[i]->fn(pfd[i].fd, pfd[i].revents, owner[i]->arg);
			int i = 0;
			for (struct poll_source *src = sources; src && i < ns; src = src->next, i++)
				src->dispatch(pfd + off[i], len[i]);
		}
		log_flush();
		for (struct poll_source *src = sources; src; src = src->next)
			src->expire();
		run_timers();
		/* SIGCHLD coalesces and may be lost in a burst: the tick reaps whatever was missed. */
		reap_all();
	}
}
