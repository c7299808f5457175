/* Unit tests of the OOM kill summary parser (oomwatch.c): the kernel's "oom-kill:" record from
 * /dev/kmsg, at a container's limit and with the machine out of memory, and records it must leave alone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "fileio.h"
#include "loop.h"
#include "oomwatch.h"
#include "pressure.h"

int read_file(const char *path, char *buf, size_t size) { (void)path; (void)buf; (void)size; return -ENOENT; }
void watch_add(struct watch *w, int fd, short ev, void (*fn)(int, short, void *), void *arg)
{
	(void)w; (void)fd; (void)ev; (void)fn; (void)arg;
}

#define ID "4f2c9a1be07d3f55aa11bb22cc33dd44ee55ff6600112233445566778899aabb"

static void a_container_at_its_limit(void **st)
{
	(void)st;
	struct oom_kill k;
	char line[400];
	assert_int_equal(oom_parse("6,1843,41234567,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=" ID
				   ",mems_allowed=0,oom_memcg=/docker/" ID ",task_memcg=/docker/" ID ",task=tail,pid=812,uid=0\n", &k), 0);
	assert_string_equal(k.task, "tail");
	assert_int_equal(k.pid, 812);
	assert_string_equal(k.container, ID);
	assert_string_equal(k.constraint, "CONSTRAINT_MEMCG");
	assert_true(k.limit);
	oom_describe(&k, line, sizeof line);
	assert_string_equal(line, "oom: the kernel's OOM killer killed tail (pid 812) in container 4f2c9a1be07d, at its memory limit");
}

static void the_machine_out_of_memory(void **st)
{
	(void)st;
	struct oom_kill k;
	char line[400];
	/* systemd's cgroup driver names the scope; a comm may hold spaces and commas are the separator. */
	assert_int_equal(oom_parse("6,90,7000,-;oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
				   "global_oom,task_memcg=/system.slice/docker-" ID ".scope,task=big eater,pid=77,uid=1000", &k), 0);
	assert_string_equal(k.task, "big eater");
	assert_int_equal(k.pid, 77);
	assert_string_equal(k.container, ID);
	assert_false(k.limit);
	assert_int_equal(oom_parse("6,91,7001,-;oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
				   "global_oom,task_memcg=/,task=dockerd,pid=150,uid=0", &k), 0);
	assert_string_equal(k.container, "");
	oom_describe(&k, line, sizeof line);
	assert_string_equal(line, "oom: the kernel's OOM killer killed dockerd (pid 150) outside any container, the machine being out of memory");
}

static void other_records_are_left_alone(void **st)
{
	(void)st;
	struct oom_kill k;
	assert_int_equal(oom_parse("6,92,7002,-;Out of memory: Killed process 812 (tail) total-vm:9000kB", &k), -ENOENT);
	assert_int_equal(oom_parse("4,93,7003,-;tail invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0", &k), -ENOENT);
	assert_int_equal(oom_parse("", &k), -ENOENT);
	assert_int_equal(oom_parse("6,94,7004,-;oom-kill:constraint=CONSTRAINT_NONE", &k), -EINVAL);
	/* a cgroup path that merely holds "pid=" is not the pid */
	assert_int_equal(oom_parse("6,95,7005,-;oom-kill:constraint=CONSTRAINT_NONE,global_oom,task_memcg=/x/pid=9,task=a,pid=3,uid=0",
				   &k), 0);
	assert_int_equal(k.pid, 3);
	assert_string_equal(k.container, "");
}

/* /proc/pressure/memory as 6.12 writes it; what the liveness check reads to excuse a slow engine. */
static void pressure_totals(void **st)
{
	(void)st;
	const char *text = "some avg10=31.57 avg60=8.02 avg300=1.77 total=19484726\n"
			   "full avg10=27.90 avg60=7.01 avg300=1.55 total=17042355";
	assert_int_equal(psi_parse_total(text, "some"), 19484726);
	assert_int_equal(psi_parse_total(text, "full"), 17042355);
	assert_int_equal(psi_parse_total(text, "half"), -ENOENT);
	assert_int_equal(psi_parse_total("some avg10=0.00 avg60=0.00 avg300=0.00\nfull total=5", "some"), -EINVAL);
	assert_int_equal(psi_parse_total("", "some"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_container_at_its_limit),
		cmocka_unit_test(the_machine_out_of_memory),
		cmocka_unit_test(other_records_are_left_alone),
		cmocka_unit_test(pressure_totals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
