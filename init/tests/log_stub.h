/* What the tests can see of the log stub: the last message logged above debug and its level. */
#ifndef OD_LOG_STUB_H
#define OD_LOG_STUB_H
extern char log_last[1024];
extern int log_last_level;
#endif
