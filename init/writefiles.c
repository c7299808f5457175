/* The documents' write_files, at boot: each file checked against the directories it may be in,
 * reached one directory at a time without following a symbolic link, and replaced atomically (a
 * temporary file beside it, fsync, rename). Runs before dockerd, so /etc/docker/... is theirs. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base64.h"
#include "cmdline.h"
#include "log.h"
#include "writefiles.h"

#define EXISTING_MAX (64 << 20)         /* a file larger than this is not read back (appended to) */
#define TMP_SUFFIX ".onlydocker-new"

/* /etc is the tmpfs root's, made anew each boot; onlydocker/ is the data disk's (config.yaml's). */
static const char *const builtin_dirs[] = { "/etc", "/var/lib/docker/onlydocker" };

static int within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && path[n] == '/';
}

/* The directory that will hold the file, opened component by component from root with
 * O_NOFOLLOW; the missing ones made. Every existing component is checked before the first one
 * is made (a missing directory has nothing below it), so a refused path creates nothing. */
static int open_parent(int root, const char *path, const char **name, char *why, size_t n)
{
	char buf[1024];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return snprintf(why, n, "the path is too long"), -ENAMETOOLONG;
	int fd = dup(root);
	char *comp = buf + 1, *slash;
	while (fd >= 0 && (slash = strchr(comp, '/'))) {
		*slash = 0;
		if (!*comp || !strcmp(comp, ".") || !strcmp(comp, "..")) {
			close(fd);
			return snprintf(why, n, "'%s' is not a clean path", path), -EINVAL;
		}
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && (mkdirat(fd, comp, 0755) == 0 || errno == EEXIST))
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		struct stat st;
		int link = next < 0 && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
		*slash = '/';           /* buf is the path up to here again, for the message */
		if (link) {
			e = ELOOP;
			snprintf(why, n, "%.*s is a symbolic link, which write_files never follows", (int)(slash - buf), buf);
		} else if (next < 0)
			snprintf(why, n, "%.*s: %s", (int)(slash - buf), buf, strerror(e));
		close(fd);
		if (next < 0)
			return -e;
		fd = next;
		comp = slash + 1;
	}
	if (fd < 0) {
		int e = errno;
		return snprintf(why, n, "%s", strerror(e)), -e;
	}
	if (!*comp || !strcmp(comp, ".") || !strcmp(comp, "..")) {
		close(fd);
		return snprintf(why, n, "'%s' is not a clean path", path), -EINVAL;
	}
	*name = path + (comp - buf);
	return fd;
}

/* The existing file's bytes (a regular file, not followed if a link): 0 and *out (malloc'd),
 * -ENOENT when there is none, or -errno with why[]. */
static int read_existing(int dir, const char *name, const char *path, struct stat *st, unsigned char **out,
			 size_t *len, char *why, size_t n)
{
	if (fstatat(dir, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		int e = errno;
		if (e != ENOENT)
			snprintf(why, n, "%s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISLNK(st->st_mode))
		return snprintf(why, n, "%s is a symbolic link, which write_files never follows", path), -ELOOP;
	if (!S_ISREG(st->st_mode))
		return snprintf(why, n, "%s exists and is not a regular file", path), -EEXIST;
	if (st->st_size > EXISTING_MAX)
		return snprintf(why, n, "%s is larger than %d MiB", path, EXISTING_MAX >> 20), -EFBIG;
	int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	*out = malloc((size_t)st->st_size + 1);
	ssize_t r = fd >= 0 && *out ? read(fd, *out, (size_t)st->st_size + 1) : -1;
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (r < 0 || r > st->st_size) {
		free(*out);
		*out = NULL;
		snprintf(why, n, "reading %s: %s", path, r < 0 ? strerror(e) : "it grew");
		return r < 0 ? -e : -EAGAIN;
	}
	*len = (size_t)r;
	return 0;
}

/* data, whole, into a temporary file beside name, then renamed over it; the directory synced so
 * that the rename itself survives a power cut. */
static int replace(int dir, const char *name, const char *path, const unsigned char *data, size_t len, int mode,
		   long uid, long gid, char *why, size_t n)
{
	char tmp[256];
	snprintf(tmp, sizeof tmp, ".%s" TMP_SUFFIX, name);
	unlinkat(dir, tmp, 0);          /* left by a boot that stopped halfway */
	int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		return snprintf(why, n, "%s: creating %s: %s", path, tmp, strerror(e)), -e;
	}
	int rc = 0;
	for (size_t done = 0; done < len && !rc;) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		done += w > 0 ? (size_t)w : 0;
	}
	/* chown first: it clears the set-id bits that fchmod then sets. */
	if (!rc && (fchown(fd, (uid_t)uid, (gid_t)gid) < 0 || fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0))
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(dir, tmp, dir, name) < 0)
		rc = -errno;
	if (rc) {
		unlinkat(dir, tmp, 0);
		return snprintf(why, n, "%s: %s", path, strerror(-rc)), rc;
	}
	fsync(dir);
	return 0;
}

static const char *allowed(const char *path, const char *const *dirs)
{
	for (size_t i = 0; i < sizeof builtin_dirs / sizeof builtin_dirs[0]; i++)
		if (within(path, builtin_dirs[i]))
			return builtin_dirs[i];
	for (; dirs && *dirs; dirs++)
		if (within(path, *dirs))
			return *dirs;
	return NULL;
}

int wfile_write(int root, const char *const *dirs, const struct wfile *f, char *why, size_t n)
{
	if (!allowed(f->path, dirs)) {
		snprintf(why, n, "'%.200s' is outside /etc, /var/lib/docker/onlydocker and the declared directories "
			 "(onlydocker.write_files.dirs)", f->path);
		return -EPERM;
	}
	const char *name = NULL;
	int dir = open_parent(root, f->path, &name, why, n);
	if (dir < 0)
		return dir;
	struct stat st;
	unsigned char *old = NULL, *buf = NULL;
	size_t oldlen = 0;
	int rc = read_existing(dir, name, f->path, &st, &old, &oldlen, why, n);
	if (rc < 0 && rc != -ENOENT)
		goto out;
	int exists = rc == 0, keep = exists && f->append;
	/* Without its own, an appended file keeps its mode and owner; a new or replaced one gets
	 * cloud-init's default, 0644 root's. */
	int mode = f->mode >= 0 ? f->mode : keep ? (int)(st.st_mode & 07777) : 0644;
	long uid = f->uid >= 0 ? f->uid : keep ? (long)st.st_uid : 0, gid = f->gid >= 0 ? f->gid : keep ? (long)st.st_gid : 0;
	const unsigned char *data = f->data;
	size_t len = f->len;
	/* The document is read at every boot: append adds its content once, not once per boot. */
	int same = exists && (f->append ? oldlen >= f->len && !memcmp(old + oldlen - f->len, f->data, f->len)
				       : oldlen == f->len && !memcmp(old, f->data, f->len));
	if (same && (st.st_mode & 07777) == (mode_t)mode && st.st_uid == (uid_t)uid && st.st_gid == (gid_t)gid) {
		rc = 1;
		goto out;
	}
	if (keep && !same) {
		if (!(buf = malloc(oldlen + f->len + 1))) {
			rc = -ENOMEM;
			snprintf(why, n, "%s: out of memory", f->path);
			goto out;
		}
		memcpy(buf, old, oldlen);
		memcpy(buf + oldlen, f->data, f->len);
		data = buf;
		len = oldlen + f->len;
	} else if (same) {
		data = old;
		len = oldlen;
	}
	rc = replace(dir, name, f->path, data, len, mode, uid, gid, why, n);
out:
	free(old);
	free(buf);
	close(dir);
	return rc;
}

static long num(const cJSON *e, const char *key)
{
	const cJSON *j = cJSON_GetObjectItem(e, key);
	return cJSON_IsNumber(j) ? (long)j->valuedouble : -1;
}

void write_files(void)
{
	const cJSON *list = cJSON_GetObjectItem(cfg->doc, "write_files"), *decl = cJSON_GetObjectItem(cfg->doc, "write_files_dirs");
	if (!cJSON_GetArraySize(list))
		return;
	const char *dirs[64] = { 0 };
	size_t nd = 0;
	for (const cJSON *d = decl ? decl->child : NULL; d && nd < sizeof dirs / sizeof dirs[0] - 1; d = d->next)
		dirs[nd++] = d->valuestring;
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int written = 0, unchanged = 0, refused = 0;
	for (const cJSON *e = list->child; e; e = e->next) {
		const char *content = cJSON_GetObjectItem(e, "content") ? cJSON_GetObjectItem(e, "content")->valuestring : "";
		struct wfile f = { .path = cJSON_GetObjectItem(e, "path")->valuestring, .data = (const unsigned char *)content,
				   .len = strlen(content), .append = cJSON_IsTrue(cJSON_GetObjectItem(e, "append")),
				   .mode = (int)num(e, "mode"), .uid = num(e, "uid"), .gid = num(e, "gid") };
		unsigned char *decoded = NULL;
		char why[400];
		int r;
		if (cJSON_IsTrue(cJSON_GetObjectItem(e, "base64"))) {
			decoded = malloc(base64_max(f.len));
			long dn = decoded ? base64_decode(content, decoded) : -ENOMEM;
			f.data = decoded;
			f.len = dn > 0 ? (size_t)dn : 0;
		}
		r = root < 0 ? -errno : wfile_write(root, dirs, &f, why, sizeof why);
		free(decoded);
		if (r < 0) {
			refused++;
			warn("config: %s: %s, not written: %s", cJSON_GetObjectItem(e, "at")->valuestring,
			     cJSON_GetObjectItem(e, "entry")->valuestring, root < 0 ? strerror(-r) : why);
		} else {
			written += r == 0;
			unchanged += r == 1;
			debug("write_files: %s %s", f.path, r ? "already so" : "written");
		}
	}
	if (root >= 0)
		close(root);
	info("write_files: %d written, %d already so, %d refused", written, unchanged, refused);
}
