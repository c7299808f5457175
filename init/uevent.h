/* The kernel's uevents (uevent.c): its netlink socket, the modalias of an added device, and a
 * bounded wait for a device to appear. */
#ifndef OD_UEVENT_H
#define OD_UEVENT_H
#include <sys/types.h>

int uevent_socket(void);                /* non-blocking, or -errno */
ssize_t uevent_recv(int s, char *buf, size_t size);     /* the kernel's uevents only */
/* The MODALIAS of an "add" uevent (n bytes of NUL-separated fields), or NULL. */
const char *uevent_added_alias(const char *buf, size_t n);
/* Waits up to timeout_ms until look(arg) returns a (malloc'd) answer, woken by uevents of subsystem. */
char *wait_device(const char *subsystem, char *(*look)(const char *), const char *arg, int timeout_ms);

#endif
