/* The engine's up/down state and its listeners: one owner for "the engine is up", so that
 * dockerd.c, which learns it, calls no one by name, and the parts that act on it are not called
 * from each other's files. Listeners run in registration order; down runs them in the same order. */
#include <stddef.h>
#include "enginelife.h"

static struct engine_listener *first, **last = &first;
static int up;

void engine_listen(struct engine_listener *l)
{
	l->next = NULL;
	*last = l;
	last = &l->next;
}

int engine_ready(void)
{
	return up;
}

void engine_mark_up(void)
{
	up = 1;
	for (struct engine_listener *l = first; l; l = l->next)
		if (l->up)
			l->up();
}

void engine_mark_down(void)
{
	if (!up)
		return;
	up = 0;
	for (struct engine_listener *l = first; l; l = l->next)
		if (l->down)
			l->down();
}
