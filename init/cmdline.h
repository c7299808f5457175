/* The appliance's configuration: the kernel command line only, parsed once at boot.
 * Our keys carry the prefix "od."; the bare word `console` asks for the root debug shell. */
#ifndef OD_CMDLINE_H
#define OD_CMDLINE_H

#define CMDLINE_MAX 4096
#define VALUE_MAX 256

struct config {
	int console_shell;              /* bare `console`: root shell on the console */
	char hostname[65];              /* od.hostname */
	char disk_label[VALUE_MAX];     /* od.disk.label */
	char disk_opts[VALUE_MAX];      /* od.disk.opts: mount options for the data disk */
	int disk_wait_ms;               /* od.disk.wait: seconds to wait for the disk to appear */
	char disk_format[VALUE_MAX];    /* od.disk.format=/dev/X: mkfs only a disk that is all zero */
	int cgroup_v1;                  /* od.cgroup=v1|v2 */
	int debug;                      /* od.debug: dockerd --debug and its log on the console */
	int iptables;                   /* od.iptables=0|1 */
	char dockerd_args[VALUE_MAX];   /* od.dockerd.args: extra daemon flags, space separated */
	int shutdown_timeout_ms;        /* od.shutdown.timeout: seconds, the overall deadline */
	int dom0;                       /* od.dom0=0|1 */
	int dhcp_timeout_ms;            /* od.dhcp.timeout: seconds before 'no lease' is logged */
};

void config_defaults(struct config *c);
/* Parses a command line into c (which holds the defaults). Never fails: a bad value is reported
 * through report() and its key keeps the default. Returns the number of problems reported. */
int cmdline_parse(const char *text, struct config *c, void (*report)(const char *msg));
#endif
