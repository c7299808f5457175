/* A fake of the engine client (engine_call, engine_callf, engine_failure) for the state machines'
 * tests: every request is queued, and the test answers each as dockerd would, in the order it
 * chooses. Paths are kept without the ENGINE_API prefix. */
#ifndef OD_FAKE_CLIENT_H
#define OD_FAKE_CLIENT_H
#include <stddef.h>
#include "engine.h"

struct call {
	char method[8], path[300];
	char *body;             /* the request's JSON body, or NULL */
	ereq_done_fn done;      /* NULL once answered */
	void *arg;
};
extern struct call calls[64];
extern int ncalls;
extern struct ereq *const dummy;

void calls_reset(void);                 /* forgets every request (bodies freed) */
/* The one pending request with this method and path (which may end in '*'), or -1. */
int find(const char *method, const char *path);
int pending(const char *method, const char *path);
int npending(void);
/* Answers the pending request (a test failure when there is none); len for bodies with NULs. */
void answer(const char *method, const char *path, int status, const char *body);
void answer_len(const char *method, const char *path, int status, const char *body, size_t len);
#endif
