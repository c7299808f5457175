/* Unit tests of the logger (log.c): a console that stops taking output (a full pipe stands in for a
 * tty stopped by Ctrl-S) never blocks the caller; the lines it missed are counted and said once it
 * reads again. An alarm fails the test if anything blocks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "log.h"
#include "logfile.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static void a_stopped_console_never_blocks(void **st)
{
	(void)st;
	int p[2], e[2];
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	/* fd 2 a full blocking pipe too: a fallback to it would hang, and the alarm would end the test. */
	assert_int_equal(pipe(e), 0);
	fcntl(e[1], F_SETFL, O_NONBLOCK);
	while (write(e[1], "x", 1) == 1)
		;
	fcntl(e[1], F_SETFL, 0);
	int saved = dup(2);
	dup2(e[1], 2);
	log_set_console(p[1]);
	alarm(10);
	int64_t t = now_ms();
	for (int i = 0; i < 5000; i++)
		info("line %d of a console nobody reads", i);
	log_console_raw("dockerd says\n", 13);
	assert_true(now_ms() - t < 5000);
	assert_true(log_dropped() > 1000);     /* the pipe and the queue hold ~130 KiB; the rest counted */
	dup2(saved, 2);                 /* from here on cmocka may say what failed */
	/* The reader comes back: what was queued goes out in order (the loop flushes when the console
	 * polls writable), then the next line brings the count, then lines again. */
	static char got[1 << 20];
	size_t len = 0;
	for (int round = 0; round < 2000; round++) {
		ssize_t n;
		while ((n = read(p[0], got + len, sizeof got - 1 - len)) > 0)
			len += (size_t)n;
		if (round == 1000)
			info("after the pause");
		else if (log_console_fd() >= 0)
			log_flush();
		else if (round > 1000)
			break;
	}
	got[len] = 0;
	assert_int_equal(log_console_fd(), -1);
	assert_non_null(strstr(got, "line 0 of a console nobody reads\n"));    /* the queue kept the first */
	char *note = strstr(got, "lines dropped: the console was not taking output\n");
	assert_non_null(note);
	assert_non_null(strstr(note, "after the pause\n"));
	assert_int_equal(log_dropped(), 0);
	alarm(0);
}

static long long size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* dockerd's log in RAM: past its bound it rotates to .1, so the two never hold more than twice it. */
static void a_log_file_is_bounded_and_rotated(void **st)
{
	(void)st;
	char dir[] = "/tmp/od-logfile-XXXXXX", path[64], old[80], line[100];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/dockerd.log", dir);
	snprintf(old, sizeof old, "%s.1", path);
	struct logfile l;
	assert_int_equal(logfile_open(&l, path, 1000), 0);
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	for (int i = 0; i < 95; i++)            /* 9500 bytes through a 1000-byte bound */
		logfile_write(&l, line, sizeof line);
	assert_true(size_of(path) <= 1000 && size_of(path) > 0);
	assert_int_equal(size_of(old), 1000);
	assert_int_equal(l.rotations, 9);
	/* Reopened after a restart of init's view (the same file): appends, counting what is there. */
	assert_int_equal(logfile_open(&l, path, 1000), 0);
	assert_int_equal(l.size, size_of(path));
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_stopped_console_never_blocks),
		cmocka_unit_test(a_log_file_is_bounded_and_rotated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
