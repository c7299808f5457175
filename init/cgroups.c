/* cgroups for the engine: the unified cgroup2 hierarchy with every controller enabled for
 * children (the default), or the v1 hierarchies, one per controller, for old workloads. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cmdline.h"
#include "fileio.h"
#include "init.h"
#include "log.h"

#define CG "/sys/fs/cgroup"

static int setup_v2(void)
{
	char ctrl[512], want[600] = "";
	if (mount("cgroup2", CG, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate") < 0) {
		err("cgroups: mounting cgroup2 on " CG ": %s", strerror(errno));
		return -errno;
	}
	if (read_file(CG "/cgroup.controllers", ctrl, sizeof ctrl) < 0) {
		err("cgroups: reading cgroup.controllers: %s", strerror(errno));
		return -errno;
	}
	for (char *save, *t = strtok_r(ctrl, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		strcat(want, want[0] ? " +" : "+");
		strcat(want, t);
	}
	int rc = write_file(CG "/cgroup.subtree_control", want);
	if (rc < 0) {
		err("cgroups: enabling '%s': %s", want, strerror(-rc));
		return rc;
	}
	/* The first memory cgroup switches the kernel's memcg static keys on, which live-patches
	 * code that every allocation runs. Under QEMU's TCG with two vCPUs, that patching while the
	 * other vCPU allocates (runc making a container's cgroup as dockerd starts, or our background
	 * modprobe) can leave both spinning for good in __alloc_pages or kmem_cache_alloc: seen as
	 * soft lockups. main() runs this before any child exists, so nothing allocates meanwhile. */
	if (mkdir(CG "/onlydocker", 0755) < 0 && errno != EEXIST)
		warn("cgroups: " CG "/onlydocker: %s", strerror(errno));
	info("cgroups: cgroup2 on " CG ", controllers enabled: %s", want);
	return 0;
}

static int setup_v1(void)
{
	char buf[2048], done[512] = "", v2only[128] = "";
	if (mount("cgroup", CG, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0) {
		err("cgroups: tmpfs on " CG ": %s", strerror(errno));
		return -errno;
	}
	if (read_file("/proc/cgroups", buf, sizeof buf) < 0)
		return -errno;
	/* /proc/cgroups: "name hierarchy num_cgroups enabled", after a header line. */
	for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32], path[64];
		int hier, num, enabled;
		if (line[0] == '#' || sscanf(line, "%31s %d %d %d", name, &hier, &num, &enabled) != 4 || !enabled)
			continue;
		snprintf(path, sizeof path, CG "/%s", name);
		mkdirs(path, 0755);
		if (mount("cgroup", path, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, name) < 0) {
			/* A controller the kernel has for cgroup2 only (Debian 13 builds neither
			 * MEMCG_V1 nor CPUSETS_V1): said once below, with what it means. */
			if (errno == EINVAL && strlen(v2only) + strlen(name) + 2 < sizeof v2only) {
				strcat(v2only, " ");
				strcat(v2only, name);
			} else if (errno != EINVAL) {
				warn("cgroups: v1 %s: %s", name, strerror(errno));
			}
			rmdir(path);
			continue;
		}
		if (strlen(done) + strlen(name) + 2 < sizeof done) {
			strcat(done, " ");
			strcat(done, name);
		}
	}
	/* systemd's named hierarchy: some images check for it to detect v1. */
	mkdirs(CG "/systemd", 0755);
	if (mount("cgroup", CG "/systemd", "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "none,name=systemd") < 0)
		warn("cgroups: v1 name=systemd: %s", strerror(errno));
	info("cgroups: v1 hierarchies on " CG ":%s", done);
	if (v2only[0])
		warn("cgroups: this kernel has%s for cgroup v2 only: under od.cgroup=v1 containers get no such limits", v2only);
	return 0;
}

int cgroups_setup(void)
{
	return cfg->cgroup_v1 ? setup_v1() : setup_v2();
}
