/* A scripted stand-in for dockerd on a unix socket, for the engine client's tests: a forked server
 * (one forked child per connection) whose answer depends on the request path; see fake_engine.c. */
#ifndef OD_FAKE_ENGINE_H
#define OD_FAKE_ENGINE_H
#include <stdint.h>
#include <sys/types.h>

pid_t fake_engine_start(const char *sock_path);   /* listening when it returns; -1 on error */
void fake_engine_stop(pid_t pid);
uint32_t fnv1a(uint32_t h, const void *p, size_t n); /* start with FNV_INIT */
#define FNV_INIT 2166136261u
#endif
