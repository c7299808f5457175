/* A growable byte buffer: the one append-and-grow that the engine client's response bodies, kvm
 * --run's stdin queue and the run port's output queue share. It doubles from a first size, keeps a
 * NUL after the data (a response body is read as a string), and never shrinks until freed. */
#pragma once
#include <stddef.h>

struct bytebuf {
	char *data;
	size_t len, cap;
};

/* Appends n bytes, growing to `first` bytes at least and doubling from there: 0 or -ENOMEM (the
 * buffer is left as it was). */
int buf_append(struct bytebuf *b, const void *p, size_t n, size_t first);
void buf_drop_front(struct bytebuf *b, size_t n);       /* the first n bytes are done with */
void buf_free(struct bytebuf *b);
