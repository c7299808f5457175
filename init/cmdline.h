/* The appliance's configuration: the kernel command line, parsed and finalised at the start of the
 * boot; once the data disk is mounted, the documents under it (cfgsrc.c), merged once; then
 * read-only. Our keys carry the prefix "od."; the bare word `console` asks for the root debug
 * shell. */
#ifndef OD_CMDLINE_H
#define OD_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define CMDLINE_MAX 4096
#define VALUE_MAX 256

/* A static IPv4 configuration in the kernel's ip= syntax (Documentation/admin-guide/nfs/
 * nfsroot.rst), which Debian's kernel (no CONFIG_IP_PNP) leaves to us:
 * ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>
 * client-ip may also be written ADDR/PREFIX. Addresses are in network byte order. */
enum ip_mode { IP_DHCP, IP_STATIC, IP_OFF };
struct ipconf {
	enum ip_mode mode;
	char dev[16];                   /* default eth0 */
	uint32_t addr, gw;              /* gw 0: none */
	int prefix;
	char hostname[65];
	uint32_t dns[2];
	int ndns;
};

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
	int run;                        /* od.run: one container from the host (kvm --run), no dom0 */
	int dhcp;                       /* od.dhcp=0|1; -1: on unless ip= configures the network */
	struct ipconf ip;               /* ip= */
	char swarm[8];                  /* od.swarm=init: start a swarm, this node its manager */
	char swarm_join[VALUE_MAX];     /* od.swarm.join=MANAGER[:PORT] */
	char swarm_token[VALUE_MAX];    /* od.swarm.token=: the join token (else a file on the data disk) */
	char swarm_addr[64];            /* od.swarm.addr=: the address to advertise (else ip='s) */
	char ntp[VALUE_MAX];            /* od.ntp=SERVER[,SERVER...]|off: over the documents' `ntp:` */
	int ping_interval_ms;           /* od.engine.ping: seconds between liveness pings (0: none) */
	int ping_misses;                /* od.engine.misses: unanswered pings before a restart */
	int loglevel_given;             /* the kernel's loglevel= was on the command line */
	int quiet_kernel;               /* finalised: the kernel's chatter kept off the console */
	char ssh_keys[8192];            /* ssh_authorized_keys of the documents: one a line */
	char daemon_json[8192];         /* onlydocker.daemon of the documents, as JSON ("": none) */
	/* The documents' structured keys (onboot, services, compose, write_files, ntp, timezone),
	 * checked and normalised by cfgdoc.c into a JSON object (cfgdoc.h says its shape); NULL: none.
	 * Owned by the configuration it is in; cmdline.c only carries it. */
	struct cJSON *doc;
	uint64_t given;                 /* a bit per key (the table's order) that a source set */
};

/* The boot's configuration, once config_boot() made it; read-only for everyone else. */
extern const struct config *const cfg;
void config_boot(const char *cmdline, void (*report)(const char *msg));  /* cmdline may be NULL */

/* The boot's configuration becomes next (the documents merged: cfgsrc.c), once, before the engine
 * starts; the keys named in kept[] keep the value the boot already acted on. */
void config_replace(struct config *next, const char *const *kept, size_t nkept);

void config_defaults(struct config *c);
void config_finalise(struct config *c);         /* what keys imply for others, after parsing */
int config_given(const struct config *c, const char *key);     /* a source set it */
/* Parses a command line into c (which holds the defaults). Never fails: a bad value is reported
 * through report() and its key keeps the default. Returns the number of problems reported. */
int cmdline_parse(const char *text, struct config *c, void (*report)(const char *msg));
/* Sets one key ("od.disk.wait", "od.hostname"...) from a document's value, with its row's parser.
 * 0; -ENOENT for a key the table does not have; -EPERM for one only the command line may set;
 * -EINVAL for a bad value (the key keeps what it had); why[] says what for the last two. */
int config_set(struct config *c, const char *key, const char *value, char *why, size_t n);
/* Parses an ip= value into ip. Returns 0, or -EINVAL with why[] saying what was wrong. */
int ipconf_parse(const char *value, struct ipconf *ip, char *why, size_t whylen);
#endif
