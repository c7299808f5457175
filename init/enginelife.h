/* The engine's life, as the rest of init sees it: up once /_ping answered with an API we speak,
 * down when dockerd exited. dockerd.c marks it; the parts that act on it (kvm --run, swarm, the
 * system containers) register a listener from their own setup and are called in that order. */
#ifndef OD_ENGINELIFE_H
#define OD_ENGINELIFE_H

struct engine_listener {
	void (*up)(void);
	void (*down)(void);
	struct engine_listener *next;           /* enginelife.c's */
};
void engine_listen(struct engine_listener *l);  /* l lives for good (static); called before the loop */
int engine_ready(void);                 /* up, and not down since */
void engine_mark_up(void);              /* dockerd.c only */
void engine_mark_down(void);

#endif
