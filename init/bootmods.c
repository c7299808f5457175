/* The boot's modules: what the next steps need (the engine image, kvm --run's devices) here and
 * now; the data disk's filesystem, and coldplug with the fixed set Docker needs, in background
 * children of our own modprobe, whose end is told to the caller's listener. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "modules.h"
#include "supervise.h"

/* What the boot itself needs next: the engine image (loop, squashfs), here and now. The data
 * disk's filesystem (ext4, the biggest: ~220 ms under TCG) loads in a child of its own meanwhile,
 * as coldplug does the disk's driver in another; datadisk.c waits for both. */
static const char *const early[] = { "loop", "squashfs" };
static const char *const early_fs[] = { "ext4", "crc32c" };
/* kvm --run: the port to the host, the container's spec (fw_cfg) and the host's shared directories.
 * virtio_pci first: these drivers bind to its devices, and it comes only from coldplug. */
static const char *const early_run[] = { "virtio_pci", "virtio_console", "qemu_fw_cfg", "9pnet_virtio", "9p" };

/* What Docker, its networks and the appliance's own devices need; all optional by nature:
 * a module built into the kernel or absent from it is not an error. Loaded by a child in the
 * background while dockerd starts: dockerd's own modprobe calls and the kernel's autoloading
 * wait for a module that is half loaded (see modules_probe), so nothing can race it. */
static const char *const fixed[] = {
	"overlay", "bridge", "br_netfilter", "veth", "nf_tables", "nft_compat", "nft_chain_nat",
	"nf_nat", "nf_conntrack", "xt_conntrack", "xt_MASQUERADE", "xt_addrtype", "xt_nat",
	"xt_tcpudp", "xt_mark", "xt_comment", "ipt_REJECT", "nf_conntrack_netlink",
	"af_packet", "vxlan", "ip_vs", "ip_vs_rr", "xfrm_user", "xt_bpf", "esp4",
};

static struct child bg = { .name = "modprobe (coldplug and Docker's set)" };
static struct child bg_fs = { .name = "modprobe (the data disk's filesystem)" };
static int64_t bg_t0;

static void (*coldplugged)(void);

static void bg_done(struct child *c, int status)
{
	(void)c;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		info("modules: coldplug and Docker's set done in the background in %lld ms", (long long)(now_ms() - bg_t0));
	else
		warn("modules: background modprobe ended with status %d after %lld ms (its messages are above)",
		     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), (long long)(now_ms() - bg_t0));
	coldplugged();
}

/* Device drivers (coldplug) and Docker's set load in a child, our own modprobe applet, while
 * PID 1 goes on: nothing on the way to dockerd needs them but the data disk's driver, which
 * datadisk.c waits for by its uevent. The child has the console for its lines. */
int modules_start(void (*done)(void))
{
	coldplugged = done;
	if (write_file("/proc/sys/kernel/modprobe", "/sbin/modprobe") < 0)
		warn("modules: cannot set /proc/sys/kernel/modprobe: %s", strerror(errno));
	const char *argv[3 + sizeof fixed / sizeof fixed[0] + 1] = { "/sbin/modprobe", "--coldplug", "-a" };
	memcpy(argv + 3, fixed, sizeof fixed);
	const char *fs_argv[2 + sizeof early_fs / sizeof early_fs[0] + 1] = { "/sbin/modprobe", "-a" };
	memcpy(fs_argv + 2, early_fs, sizeof early_fs);
	struct spawn_opts o = { .out_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC) };
	bg_t0 = now_ms();
	bg.on_exit = bg_done;
	if (spawn(&bg_fs, (char *const *)fs_argv, &o) < 0)     /* if not, datadisk.c loads it */
		warn("modules: cannot start a modprobe for the data disk's filesystem; it loads later");
	int rc = spawn(&bg, (char *const *)argv, &o);
	if (o.out_fd >= 0)
		close(o.out_fd);
	if (rc == 0)
		return 0;
	warn("modules: cannot start the background modprobe: %s; loading everything now", strerror(-rc));
	modules_coldplug();
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		modules_load_quietly(fixed[i]);
	done();
	return 0;
}

/* Loads each of a list now; returns how many modules that took. */
static int load_list(const char *const *names, size_t n)
{
	int total = 0;
	for (size_t i = 0; i < n; i++) {
		int r = modules_load(names[i]);
		if (r > 0)
			total += r;
		else if (r < 0 && r != -ENOENT)
			warn("modules: %s: %s", names[i], strerror(-r));
	}
	return total;
}

int modules_load_early(int run)
{
	int64_t t0 = now_ms();
	int total = load_list(early, sizeof early / sizeof early[0]);
	if (run)
		total += load_list(early_run, sizeof early_run / sizeof early_run[0]);
	info("modules: loop, squashfs%s: %d modules loaded in %lld ms",
	     run ? " and those of --run" : "", total, (long long)(now_ms() - t0));
	return 0;
}

