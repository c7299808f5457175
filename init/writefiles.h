/* writefiles.c: the documents' write_files, written at boot before dockerd starts. */
#ifndef OD_WRITEFILES_H
#define OD_WRITEFILES_H
#include <stddef.h>

struct wfile {
	const char *path;               /* absolute and clean (cfgdoc_host.c checked it) */
	const unsigned char *data;
	size_t len;
	int append;                     /* add data unless the file ends with it already */
	int mode;                       /* -1: 0644, or an appended file's own */
	long uid, gid;                  /* -1: root's, or an appended file's own */
};

/* One file, path taken below root (an O_DIRECTORY fd: "/" at boot, a scratch directory in the
 * tests) and inside one of dirs[] (NULL-terminated). No component may be a symbolic link, the
 * file must be a regular one if it exists; missing directories are made (0755). Written whole
 * to a temporary file beside it, then renamed over it: a power cut leaves the old file or the
 * new, never half of one. 0 written, 1 already so (nothing written), or -errno with why[]. */
int wfile_write(int root, const char *const *dirs, const struct wfile *f, char *why, size_t n);

/* cfg->doc's write_files, in order, under /etc, /var/lib/docker/onlydocker and the declared
 * directories; each refusal one console line naming the entry's source, line and column. */
void write_files(void);
#endif
