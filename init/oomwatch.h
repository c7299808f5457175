/* oomwatch.c: the kernel's OOM kills, from /dev/kmsg to the console. */
#ifndef OD_OOMWATCH_H
#define OD_OOMWATCH_H
struct oom_kill {
	char task[32];          /* the victim's comm */
	int pid;
	char container[80];     /* its container's ID, or "" */
	char constraint[32];    /* CONSTRAINT_MEMCG, CONSTRAINT_NONE... */
	int limit;              /* a memory cgroup's limit, not the machine, ran out */
};
/* Parses one /dev/kmsg record; 0 for an OOM kill summary, -ENOENT for any other record,
 * -EINVAL for a summary without a task or pid. */
int oom_parse(const char *record, struct oom_kill *k);
void oom_describe(const struct oom_kill *k, char *out, size_t size);
void oomwatch_start(void);
#endif
