/* The system containers as data: one struct sysc_spec each (image, capabilities, binds,
 * namespaces, environment, what it starts after, its rollback and shutdown policy), the create
 * body made from it, and what an inspected container says against it. syscont.c drives them. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmdline.h"
#include "engine.h"
#include "images.h"
#include "init.h"
#include "syscont.h"
#include "syscont_spec.h"

static int want_dhcp(void) { return net_wants_dhcp(); }
static int want_dom0(void) { return cfg->dom0; }
static int want_ntp(void) { return timesync_wanted(); }

static const char *const dhcp_caps[] = { "NET_ADMIN", "NET_RAW", NULL };
/* NTP_DIR: the hook 60-ntp leaves the lease's NTP servers there for chronyd (the ntp container),
 * and tells it with chronyc. chronyd and chronyc are the engine image's, with their libraries:
 * the dhcpcd image only has scripts that run them from the read-only bind (images/build.py). */
static const char *const dhcp_binds[] = {
	"/run/resolvconf:/run/resolvconf", NTP_DIR ":" NTP_DIR, ENGINEFS_DIR ":" ENGINEFS_DIR ":ro", NULL,
};
/* chronyd sets the clock: SYS_TIME, which also opens docker's seccomp profile to the calls. */
static const char *const ntp_caps[] = { "SYS_TIME", NULL };
static const char *const ntp_binds[] = { NTP_DIR ":" NTP_DIR, ENGINEFS_DIR ":" ENGINEFS_DIR ":ro", NULL };
static const char *const ntp_entrypoint[] = { "/usr/lib/onlydocker/ntp.sh", NULL };   /* images/build.py's */
/* No bind of the engine's socket file: dockerd makes a new one at each start, and a dom0 kept
 * across a restart would hold the old. dom0's image links /var/run/docker.sock to
 * /host/var/run/docker.sock, which follows. */
static const char *const dom0_binds[] = {
	"/:/host:rslave", "/dev:/dev", "/run/resolvconf/resolv.conf:/etc/resolv.conf", "/var/log:/var/log",
	/* the docker CLI, compose, buildx and their glibc: dom0's image only links here */
	ENGINEFS_DIR ":" ENGINEFS_DIR ":ro", NULL,
};

const struct sysc_spec syscont_specs[SYSCONT_N] = {
	{ .name = DHCP_NAME, .label = "dhcp", .image = DHCP_IMAGE, .bundle = IMAGES_DIR "/dhcpcd.tar",
	  .bundle_ref = DHCP_IMAGE, .bundle_id = DHCP_IMAGE_ID, .caps = dhcp_caps, .binds = dhcp_binds,
	  /* Two container starts at once take twice as long each under emulation: the console first. */
	  .after = DOM0_NAME, .stop_last = 1, .wanted = want_dhcp, .started = net_lease_deadline },
	{ .name = DOM0_NAME, .label = "dom0", .image = DOM0_IMAGE, .bundle = IMAGES_DIR "/dom0.tar",
	  .bundle_ref = DOM0_BUNDLED, .bundle_id = DOM0_IMAGE_ID, .binds = dom0_binds, .console_env = 1,
	  /* Its shell is the console: spared by the OOM killer before any workload, not before the engine. */
	  .privileged = 1, .oom_score_adj = -500, .pid_mode = "host", .ipc_mode = "host", .uts_mode = "host",
	  .rollback_repo = DOM0_REPO, .rollback_tag = DOM0_TAG, .prepare = 1, .wanted = want_dom0 },
	/* The dhcpcd image with ntp.sh (chronyd) as its entrypoint: no image of its own to load. It starts
	 * after dhcp, and nothing waits for it. */
	{ .name = NTP_NAME, .label = "ntp", .image = DHCP_IMAGE, .bundle = IMAGES_DIR "/dhcpcd.tar",
	  .bundle_ref = DHCP_IMAGE, .bundle_id = DHCP_IMAGE_ID, .caps = ntp_caps, .binds = ntp_binds,
	  .entrypoint = ntp_entrypoint, .more_env = timesync_env, .after = DHCP_NAME, .wanted = want_ntp },
};
static void add_strings(cJSON *obj, const char *key, const char *const *list)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);
	for (; list && *list; list++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*list));
}

/* The create body, from the spec alone (and the console's state), with a hash of it as a label:
 * a container made earlier is kept or started only if it is what would be made now. */
char *syscont_json(const struct sysc_spec *sp, char *hash_out)
{
	cJSON *c = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(c, "HostConfig");
	cJSON *labels = cJSON_AddObjectToObject(c, "Labels");
	cJSON_AddStringToObject(labels, LABEL_SYSTEM, sp->label);
	cJSON_AddStringToObject(c, "Image", sp->image);
	cJSON *env = cJSON_AddArrayToObject(c, "Env");
	for (const char *const *e = sp->env; e && *e; e++)
		cJSON_AddItemToArray(env, cJSON_CreateString(*e));
	if (sp->more_env)
		sp->more_env(env);
	if (sp->entrypoint)
		add_strings(c, "Entrypoint", sp->entrypoint);
	if (sp->console_env) {
		char console[80];
		/* With the debug shell on the console, the container leaves the tty alone. */
		snprintf(console, sizeof console, "CONSOLE=%s", cfg->console_shell ? "none" : console_tty());
		cJSON_AddItemToArray(env, cJSON_CreateString(console));
	}
	cJSON_AddStringToObject(hc, "NetworkMode", "host");
	add_strings(hc, "Binds", sp->binds);
	add_strings(hc, "CapAdd", sp->caps);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(hc, "RestartPolicy"), "Name", "no");
	if (sp->privileged)
		cJSON_AddBoolToObject(hc, "Privileged", 1);
	if (sp->oom_score_adj)
		cJSON_AddNumberToObject(hc, "OomScoreAdj", sp->oom_score_adj);
	const char *modes[][2] = { { "PidMode", sp->pid_mode }, { "IpcMode", sp->ipc_mode }, { "UTSMode", sp->uts_mode } };
	for (size_t i = 0; i < 3; i++)
		if (modes[i][1])
			cJSON_AddStringToObject(hc, modes[i][0], modes[i][1]);
	char *out = spec_hash_label(c, labels, hash_out);
	cJSON_Delete(c);
	return out;
}

char *spec_hash_label(cJSON *c, cJSON *labels, char *hash_out)
{
	char *plain = cJSON_PrintUnformatted(c), hash[16];
	unsigned h = 2166136261u;       /* FNV-1a: a change detector, not a defence */
	for (const char *p = plain; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	free(plain);
	snprintf(hash, sizeof hash, "%08x", h);
	cJSON_AddStringToObject(labels, LABEL_CONFIG, hash);
	if (hash_out)
		memcpy(hash_out, hash, 9);
	return cJSON_PrintUnformatted(c);
}

/* An inspected container's Id, whether it runs or was only created, and whether its config
 * label is what would be made now. Returns the parsed body (the caller deletes it). */
cJSON *syscont_inspected(const struct sysc_spec *sp, int status, const char *body, const char **id, int *running,
			int *created, int *same)
{
	char want[16];
	free(syscont_json(sp, want));
	cJSON *j = engine_json(status, 200, body);
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(j, "Id");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "State");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(state, "Status");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "Config"), "Labels");
	const cJSON *hash = cJSON_GetObjectItemCaseSensitive(labels, LABEL_CONFIG);
	*id = cJSON_IsString(i) ? i->valuestring : NULL;
	*running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running"));
	*created = cJSON_IsString(st) && !strcmp(st->valuestring, "created");
	*same = cJSON_IsString(hash) && !strcmp(hash->valuestring, want);
	return j;
}

