/* The document's containers as the engine takes them: an onboot entry's or a service's create
 * body (cfg->doc's checked fields: image, command, env, binds, privileges, network, ports,
 * restart policy), labelled with its kind, its name and a hash of the whole, so that a container
 * made earlier is kept only if it is what would be made now; and the compose runner's body. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cfgdoc.h"
#include "images.h"
#include "init.h"
#include "syscont_spec.h"
#include "workloads.h"

static void copy(cJSON *to, const char *to_key, const cJSON *from, const char *from_key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, from_key);
	if (v)
		cJSON_AddItemToObject(to, to_key, cJSON_Duplicate(v, 1));
}

/* ports: ["[IP:]HOST:CONTAINER[/proto]"...] as ExposedPorts and HostConfig.PortBindings. */
static void ports(cJSON *c, cJSON *hc, const cJSON *list)
{
	const cJSON *p;
	cJSON *exposed = cJSON_AddObjectToObject(c, "ExposedPorts"), *bindings = cJSON_AddObjectToObject(hc, "PortBindings");
	cJSON_ArrayForEach(p, list) {
		char ip[64], proto[8], key[24], hostport[8];
		unsigned h, ct;
		if (!cJSON_IsString(p) || cfgdoc_port(p->valuestring, ip, sizeof ip, &h, &ct, proto, sizeof proto) < 0)
			continue;       /* checked when the document was read */
		snprintf(key, sizeof key, "%u/%s", ct, proto);
		snprintf(hostport, sizeof hostport, "%u", h);
		if (!cJSON_HasObjectItem(exposed, key))
			cJSON_AddObjectToObject(exposed, key);
		cJSON *b = cJSON_GetObjectItemCaseSensitive(bindings, key);
		if (!b)
			b = cJSON_AddArrayToObject(bindings, key);
		cJSON *one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "HostIp", ip);
		cJSON_AddStringToObject(one, "HostPort", hostport);
		cJSON_AddItemToArray(b, one);
	}
}

char *workload_json(enum workload_kind kind, const char *name, const cJSON *e, char *hash_out)
{
	cJSON *c = cJSON_CreateObject(), *hc = cJSON_CreateObject();
	cJSON *labels = cJSON_AddObjectToObject(c, "Labels");
	cJSON_AddStringToObject(labels, kind == WL_SERVICE ? LABEL_SERVICE : LABEL_ONBOOT, name);
	copy(c, "Image", e, "image");
	copy(c, "Cmd", e, "command");
	copy(c, "Entrypoint", e, "entrypoint");
	copy(c, "Env", e, "env");
	copy(hc, "Binds", e, "binds");
	copy(hc, "CapAdd", e, "cap_add");
	copy(hc, "Privileged", e, "privileged");
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(e, "network");
	cJSON_AddStringToObject(hc, "NetworkMode", cJSON_IsString(net) ? net->valuestring : "bridge");
	const cJSON *restart = cJSON_GetObjectItemCaseSensitive(e, "restart");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(hc, "RestartPolicy"), "Name",
				kind == WL_ONBOOT ? "no" : cJSON_IsString(restart) ? restart->valuestring : "unless-stopped");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "ports");
	if (p)
		ports(c, hc, p);
	cJSON_AddItemToObject(c, "HostConfig", hc);
	char *out = spec_hash_label(c, labels, hash_out);
	cJSON_Delete(c);
	return out;
}

char *workload_compose_json(const char *file, char *hash_out)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s", file);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	cJSON *c = cJSON_CreateObject(), *hc = cJSON_AddObjectToObject(c, "HostConfig");
	cJSON *labels = cJSON_AddObjectToObject(c, "Labels");
	cJSON_AddStringToObject(labels, LABEL_ONBOOT, COMPOSE_NAME);
	/* dom0's bundled image: busybox and links into the engine image for the docker CLI and its
	 * compose plugin. The project's directory at its own path, so that the file's relative
	 * binds name the host's paths; the engine's socket through the directory that holds it
	 * (dom0's image links /var/run/docker.sock to /host/var/run/docker.sock). */
	cJSON_AddStringToObject(c, "Image", DOM0_BUNDLED);
	cJSON *ep = cJSON_AddArrayToObject(c, "Entrypoint");
	cJSON_AddItemToArray(ep, cJSON_CreateString("docker"));
	const char *cmd[] = { "compose", "--file", file, "up", "--detach", "--remove-orphans" };
	cJSON *cj = cJSON_AddArrayToObject(c, "Cmd");
	for (size_t i = 0; i < sizeof cmd / sizeof cmd[0]; i++)
		cJSON_AddItemToArray(cj, cJSON_CreateString(cmd[i]));
	cJSON_AddStringToObject(c, "WorkingDir", dir);
	cJSON *binds = cJSON_AddArrayToObject(hc, "Binds");
	char project[1100];
	snprintf(project, sizeof project, "%s:%s:ro", dir, dir);
	cJSON_AddItemToArray(binds, cJSON_CreateString(project));
	cJSON_AddItemToArray(binds, cJSON_CreateString(ENGINEFS_DIR ":" ENGINEFS_DIR ":ro"));
	cJSON_AddItemToArray(binds, cJSON_CreateString("/var/run:/host/var/run"));
	cJSON_AddStringToObject(hc, "NetworkMode", "host");
	char *out = spec_hash_label(c, labels, hash_out);
	cJSON_Delete(c);
	return out;
}
