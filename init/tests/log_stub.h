/* What the tests can see of the log stub: the last message logged above debug and its level. */
#ifndef OD_LOG_STUB_H
#define OD_LOG_STUB_H
extern char log_last[1024];
extern int log_last_level;
extern char log_all[16384];           /* every message above debug, a line each, until full; tests clear it */
#endif
