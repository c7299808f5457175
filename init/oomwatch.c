/* The OOM killer, said on the console: the kernel's one-line summary of each kill ("oom-kill:...")
 * read from /dev/kmsg and told as what was killed, in which container, and why (the container's
 * own limit or the whole machine out of memory): the kernel's own report is forty lines that name
 * a pid and a cgroup path, not a container. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "loop.h"
#include "oomwatch.h"

/* The value of key= in a comma-separated summary, up to the next comma, or "" if absent. */
static void field(const char *text, const char *key, char *out, size_t size)
{
	size_t k = strlen(key);
	out[0] = 0;
	for (const char *p = text; (p = strstr(p, key)); p += k) {
		if (p != text && p[-1] != ',' && p[-1] != ':')
			continue;       /* "pid=" inside "task_memcg=...pid=" is not the key */
		const char *v = p + k, *end = strchr(v, ',');
		size_t n = end ? (size_t)(end - v) : strlen(v);
		while (n && (v[n - 1] == '\n' || v[n - 1] == ' '))
			n--;
		if (n >= size)
			n = size - 1;
		memcpy(out, v, n);
		out[n] = 0;
		return;
	}
}

/* The container's ID from a memory cgroup path: .../docker/<id> (cgroupfs driver) or
 * .../docker-<id>.scope (systemd driver); "" when the path is no container's. */
static void container_of(const char *memcg, char *id, size_t size)
{
	const char *last = strrchr(memcg, '/');
	id[0] = 0;
	if (!last)
		return;
	last++;
	const char *parent = last - 1;
	while (parent > memcg && parent[-1] != '/')
		parent--;
	if (!strncmp(last, "docker-", 7))
		last += 7;
	else if (strncmp(parent, "docker/", 7))
		return;
	size_t n = strspn(last, "0123456789abcdef");
	if (n < 12)
		return;
	if (n >= size)
		n = size - 1;
	memcpy(id, last, n);
	id[n] = 0;
}

int oom_parse(const char *record, struct oom_kill *k)
{
	const char *msg = strchr(record, ';');     /* /dev/kmsg: "prio,seq,usec,flags;message" */
	msg = msg ? msg + 1 : record;
	if (strncmp(msg, "oom-kill:", 9))
		return -ENOENT;
	char pid[16], memcg[256];
	memset(k, 0, sizeof *k);
	field(msg, "task=", k->task, sizeof k->task);
	field(msg, "pid=", pid, sizeof pid);
	field(msg, "constraint=", k->constraint, sizeof k->constraint);
	k->pid = atoi(pid);
	if (!k->task[0] || k->pid <= 0)
		return -EINVAL;
	k->limit = !strstr(msg, ",global_oom");
	field(msg, "task_memcg=", memcg, sizeof memcg);
	container_of(memcg, k->container, sizeof k->container);
	return 0;
}

void oom_describe(const struct oom_kill *k, char *out, size_t size)
{
	snprintf(out, size, "oom: the kernel's OOM killer killed %s (pid %d)%s%.12s, %s", k->task, k->pid,
		 k->container[0] ? " in container " : " outside any container", k->container,
		 k->limit ? "at its memory limit" : "the machine being out of memory");
}

static struct watch kmsg_watch;

static void on_kmsg(int fd, short rev, void *arg)
{
	(void)rev; (void)arg;
	char rec[2048];
	for (;;) {
		ssize_t n = read(fd, rec, sizeof rec - 1);
		if (n < 0 && errno == EPIPE)
			continue;       /* records overwritten before we read them: go on from the next */
		if (n <= 0)
			return;         /* EAGAIN: all read */
		rec[n] = 0;
		struct oom_kill k;
		if (oom_parse(rec, &k) == 0) {
			char line[400];
			oom_describe(&k, line, sizeof line);
			warn("%s", line);
		}
	}
}

void oomwatch_start(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		warn("oom: /dev/kmsg: %s; OOM kills will not be told on the console", strerror(errno));
		return;
	}
	lseek(fd, 0, SEEK_END);         /* only what happens from now on */
	watch_add(&kmsg_watch, fd, POLLIN, on_kmsg, NULL);
}
