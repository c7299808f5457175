/* The growable byte buffer (bytebuf.h): growth by doubling, the trailing NUL, dropping from the
 * front. Callers say what a failure means for them; this file only reports -ENOMEM. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "bytebuf.h"

int buf_append(struct bytebuf *b, const void *p, size_t n, size_t first)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : first;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

void buf_drop_front(struct bytebuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = 0;
}

void buf_free(struct bytebuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
