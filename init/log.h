/* One logger for the whole init: console and /dev/kmsg, a common prefix and the time since boot.
 * Every message is printf-checked; log once, where the decision is made. */
#ifndef OD_LOG_H
#define OD_LOG_H
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERR = 3, LOG_WARN = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

void log_open(void);                 /* (re)open /dev/kmsg and /dev/console; safe to call again after mounts */
void log_set_debug(int on);
void log_console_raw(const char *buf, size_t n);   /* another's output (dockerd's with od.debug), never blocking */
void log_set_console(int fd);        /* for the unit tests: a non-blocking fd standing in for /dev/console */
unsigned long log_dropped(void);
void log_flush(void);                /* the loop: more of what waits for the console */
int log_console_fd(void);            /* the console's fd while output waits for it, else -1 */     /* console lines dropped since the console last took one */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

int64_t now_ms(void);                /* CLOCK_MONOTONIC, in ms: survives the root switch, counts from kernel boot */
#endif
