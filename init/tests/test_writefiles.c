/* Unit tests of write_files' writer against a scratch directory standing in for the root: the
 * allowed directories, no symbolic link followed anywhere, modes and owners, append once, the
 * atomic replacement (a new inode renamed in), and nothing made for a refused path. Needs root
 * (chown). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base64.h"
#include "writefiles.h"

static char top[64];
static int root;
static char why[400];

static int setup(void **st)
{
	(void)st;
	snprintf(top, sizeof top, "/tmp/test_writefiles.XXXXXX");
	assert_non_null(mkdtemp(top));
	root = open(top, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	assert_int_equal(mkdirat(root, "etc", 0755), 0);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[128];
	close(root);
	snprintf(cmd, sizeof cmd, "rm -rf %s", top);
	return system(cmd);
}

static int put(const char *path, const char *text, int append, int mode, long uid, long gid, const char *const *dirs)
{
	struct wfile f = { path, (const unsigned char *)text, strlen(text), append, mode, uid, gid };
	why[0] = 0;
	return wfile_write(root, dirs, &f, why, sizeof why);
}

static const char *slurp(const char *rel)
{
	static char buf[256];
	int fd = openat(root, rel, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n < 0 ? NULL : buf;
}

static int exists(const char *rel)
{
	struct stat st;
	return fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void a_new_file_gets_its_mode_owner_and_directories(void **st)
{
	(void)st;
	struct stat s;
	assert_int_equal(put("/etc/docker/certs.d/ca.crt", "PEM\n", 0, 0640, 1000, 100, NULL), 0);
	assert_string_equal(slurp("etc/docker/certs.d/ca.crt"), "PEM\n");
	assert_int_equal(fstatat(root, "etc/docker/certs.d/ca.crt", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0640);
	assert_int_equal(s.st_uid, 1000);
	assert_int_equal(s.st_gid, 100);
	assert_int_equal(fstatat(root, "etc/docker/certs.d", &s, 0), 0);
	assert_true(S_ISDIR(s.st_mode));
	/* The same again: nothing to do, and said so. */
	assert_int_equal(put("/etc/docker/certs.d/ca.crt", "PEM\n", 0, 0640, 1000, 100, NULL), 1);
	/* No mode or owner: cloud-init's default, 0644 root's. */
	assert_int_equal(put("/etc/docker/certs.d/ca.crt", "PEM\n", 0, -1, -1, -1, NULL), 0);
	assert_int_equal(fstatat(root, "etc/docker/certs.d/ca.crt", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0644);
	assert_int_equal(s.st_uid, 0);
	/* Set-id bits survive the chown (made before the chmod). */
	assert_int_equal(put("/var/lib/docker/onlydocker/bin/tool", "#!/bin/sh\n", 0, 04755, 1, 1, NULL), 0);
	assert_int_equal(fstatat(root, "var/lib/docker/onlydocker/bin/tool", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 04755);
	assert_false(exists("etc/docker/certs.d/.ca.crt.onlydocker-new"));
}

static void only_inside_the_allowed_directories(void **st)
{
	(void)st;
	const char *const dirs[] = { "/opt/data", NULL };
	assert_int_equal(put("/opt/x", "x", 0, -1, -1, -1, dirs), -EPERM);
	assert_non_null(strstr(why, "'/opt/x' is outside /etc, /var/lib/docker/onlydocker and the declared directories"));
	assert_int_equal(put("/etcetera/x", "x", 0, -1, -1, -1, dirs), -EPERM);
	assert_int_equal(put("/etc", "x", 0, -1, -1, -1, dirs), -EPERM);
	assert_int_equal(put("/var/lib/docker/volumes/v/_data/x", "x", 0, -1, -1, -1, dirs), -EPERM);
	assert_int_equal(put("/opt/data/x", "x", 0, -1, -1, -1, NULL), -EPERM);
	assert_false(exists("opt"));
	assert_int_equal(put("/opt/data/sub/x", "x", 0, -1, -1, -1, dirs), 0);
	assert_string_equal(slurp("opt/data/sub/x"), "x");
	/* '..' gets no further than the lexical check, even inside an allowed directory. */
	assert_int_equal(put("/etc/../opt/y", "x", 0, -1, -1, -1, NULL), -EINVAL);
	assert_int_equal(put("/opt/data/../../etc/y", "x", 0, -1, -1, -1, dirs), -EINVAL);
	assert_int_equal(put("/etc/..", "x", 0, -1, -1, -1, NULL), -EINVAL);
	assert_false(exists("opt/y") || exists("etc/y"));
}

static void no_symbolic_link_is_followed(void **st)
{
	(void)st;
	assert_int_equal(mkdirat(root, "outside", 0755), 0);
	assert_int_equal(symlinkat("../outside", root, "etc/up"), 0);
	assert_int_equal(symlinkat("/outside/file", root, "etc/f"), 0);
	assert_int_equal(put("/etc/up/new/x", "x", 0, -1, -1, -1, NULL), -ELOOP);
	assert_non_null(strstr(why, "/etc/up is a symbolic link, which write_files never follows"));
	assert_false(exists("outside/new"));
	/* The last component a link: neither written through nor replaced. */
	assert_int_equal(put("/etc/f", "x", 0, -1, -1, -1, NULL), -ELOOP);
	assert_int_equal(put("/etc/f", "x", 1, -1, -1, -1, NULL), -ELOOP);
	assert_false(exists("outside/file"));
	char target[64] = "";
	assert_true(readlinkat(root, "etc/f", target, sizeof target) > 0);
	assert_string_equal(target, "/outside/file");
	/* An allowed directory that is itself a link (a data disk's onlydocker/ pointing elsewhere). */
	assert_int_equal(mkdirat(root, "var", 0755), 0);
	assert_int_equal(mkdirat(root, "var/lib", 0755), 0);
	assert_int_equal(mkdirat(root, "var/lib/docker", 0755), 0);
	assert_int_equal(symlinkat("/outside", root, "var/lib/docker/onlydocker"), 0);
	assert_int_equal(put("/var/lib/docker/onlydocker/a/b", "x", 0, -1, -1, -1, NULL), -ELOOP);
	assert_false(exists("outside/a"));
	/* Not a regular file: a directory, or a file where a directory should be. */
	assert_int_equal(mkdirat(root, "etc/d", 0755), 0);
	assert_int_equal(put("/etc/d", "x", 0, -1, -1, -1, NULL), -EEXIST);
	assert_int_equal(put("/etc/plain", "x", 0, -1, -1, -1, NULL), 0);
	assert_int_equal(put("/etc/plain/x", "x", 0, -1, -1, -1, NULL), -ENOTDIR);
}

static void append_adds_once_and_keeps_mode_and_owner(void **st)
{
	(void)st;
	struct stat s;
	assert_int_equal(put("/etc/profile.local", "a\n", 0, 0600, 5, 6, NULL), 0);
	assert_int_equal(put("/etc/profile.local", "b\n", 1, -1, -1, -1, NULL), 0);
	assert_string_equal(slurp("etc/profile.local"), "a\nb\n");
	assert_int_equal(fstatat(root, "etc/profile.local", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0600);
	assert_int_equal(s.st_uid, 5);
	assert_int_equal(s.st_gid, 6);
	/* The next boot reads the same document: the file already ends with it. */
	assert_int_equal(put("/etc/profile.local", "b\n", 1, -1, -1, -1, NULL), 1);
	assert_string_equal(slurp("etc/profile.local"), "a\nb\n");
	/* A mode of its own: set, content kept. */
	assert_int_equal(put("/etc/profile.local", "b\n", 1, 0644, -1, -1, NULL), 0);
	assert_string_equal(slurp("etc/profile.local"), "a\nb\n");
	assert_int_equal(fstatat(root, "etc/profile.local", &s, 0), 0);
	assert_int_equal(s.st_mode & 07777, 0644);
	/* Appending to nothing makes the file. */
	assert_int_equal(put("/etc/new.local", "c\n", 1, -1, -1, -1, NULL), 0);
	assert_string_equal(slurp("etc/new.local"), "c\n");
}

/* Replaced, never rewritten in place: the old inode (another link to it stands for a reader, or
 * what a power cut would leave) keeps the old bytes whole, and a temporary file left by a boot
 * that stopped halfway does not get in the way. */
static void a_file_is_replaced_by_rename(void **st)
{
	(void)st;
	struct stat before, after;
	assert_int_equal(put("/etc/app.conf", "old contents\n", 0, -1, -1, -1, NULL), 0);
	assert_int_equal(fstatat(root, "etc/app.conf", &before, 0), 0);
	assert_int_equal(linkat(root, "etc/app.conf", root, "etc/app.conf.reader", 0), 0);
	int fd = openat(root, "etc/.app.conf.onlydocker-new", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "half", 4), 4);
	close(fd);
	assert_int_equal(put("/etc/app.conf", "new\n", 0, -1, -1, -1, NULL), 0);
	assert_int_equal(fstatat(root, "etc/app.conf", &after, 0), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_string_equal(slurp("etc/app.conf"), "new\n");
	assert_string_equal(slurp("etc/app.conf.reader"), "old contents\n");
	assert_false(exists("etc/.app.conf.onlydocker-new"));
}

/* cloud-init's b64: what `base64 -d` takes, padding optional, line breaks anywhere. */
static void base64_as_base64_d_reads_it(void **st)
{
	(void)st;
	unsigned char out[32];
	static const char *const good[] = { "aGVsbG8=", "aGVsbG8", "aGVs\nbG8=\n", " aGVsbG8= " };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(base64_decode(good[i], out), 5);
		assert_memory_equal(out, "hello", 5);
	}
	assert_int_equal(base64_decode("", out), 0);
	assert_int_equal(base64_decode("/+8=", out), 2);
	assert_memory_equal(out, "\xff\xef", 2);
	static const char *const bad[] = { "a", "aGVsbG8=x", "aGVsbG8==", "aGV*bG8=", "aGVsbA===", "aGU=aGU=" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(base64_decode(bad[i], out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_new_file_gets_its_mode_owner_and_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(only_inside_the_allowed_directories, setup, teardown),
		cmocka_unit_test_setup_teardown(no_symbolic_link_is_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(append_adds_once_and_keeps_mode_and_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_is_replaced_by_rename, setup, teardown),
		cmocka_unit_test(base64_as_base64_d_reads_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
