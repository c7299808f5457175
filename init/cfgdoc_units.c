/* The document's containers (onlydocker.onboot, .services, .compose), checked into cfg->doc for
 * workloads.c: each entry's fields against a table, names that make valid container names, ports
 * in docker's syntax, a compose file on the data disk. A later document's onboot list and compose
 * path replace an earlier one's; its services replace those of the same name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cfgdoc.h"
#include "cfgdoc_walk.h"

/* Docker's container names, less the prefix we add: [a-zA-Z0-9][a-zA-Z0-9_.-]*, kept short. */
static int check_name(const char *v, char *why, size_t n)
{
	if (doc_word(v, 48, "_.-"))
		return 0;
	snprintf(why, n, "'%.64s' is not a name (letters, digits, _ . -; at most 48; a letter or digit first)", v);
	return -EINVAL;
}

static int check_image(const char *v, char *why, size_t n)
{
	if (*v && strlen(v) < 256 && !strpbrk(v, " \t\n?&#%"))
		return 0;
	snprintf(why, n, "'%.64s' is not an image reference", v);
	return -EINVAL;
}

static const char *const networks[] = { "bridge", "host", "none", NULL };
static const char *const restarts[] = { "unless-stopped", "always", "on-failure", NULL };

/* HOST:CONTAINER as docker -v takes it: an absolute host path, an absolute container path, and
 * options (ro, rw, z, rslave...) after a second colon. */
static int check_bind(const char *v, char *why, size_t n)
{
	const char *c = strchr(v, ':');
	if (v[0] == '/' && c && c[1] == '/' && !strstr(v, "/../") && strlen(v) < 1024)
		return 0;
	snprintf(why, n, "'%.64s' is not /HOST/PATH:/CONTAINER/PATH[:OPTIONS]", v);
	return -EINVAL;
}

/* [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp|sctp], as docker -p takes it (one port each side). */
int cfgdoc_port(const char *v, char *ip, size_t ipn, unsigned *host, unsigned *cont, char *proto, size_t pn)
{
	char buf[128], *slash, *last, *mid;
	if (strlen(v) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, v);
	snprintf(proto, pn, "tcp");
	if ((slash = strchr(buf, '/'))) {
		*slash++ = 0;
		if (strcmp(slash, "tcp") && strcmp(slash, "udp") && strcmp(slash, "sctp"))
			return -EINVAL;
		snprintf(proto, pn, "%s", slash);
	}
	if (!(last = strrchr(buf, ':')))
		return -EINVAL;
	*last++ = 0;
	mid = strrchr(buf, ':');
	if (mid)
		*mid++ = 0;
	snprintf(ip, ipn, "%s", mid ? buf : "");
	const char *ports[2] = { mid ? mid : buf, last };
	unsigned *out[2] = { host, cont };
	for (int i = 0; i < 2; i++) {
		char *end;
		unsigned long x = strtoul(ports[i], &end, 10);
		if (!*ports[i] || *end || x < 1 || x > 65535 || ports[i][0] == '-' || ports[i][0] == '+')
			return -EINVAL;
		*out[i] = (unsigned)x;
	}
	return strpbrk(ip, "/ ") ? -EINVAL : 0;
}

static int check_port(const char *v, char *why, size_t n)
{
	char ip[64], proto[8];
	unsigned h, c;
	if (cfgdoc_port(v, ip, sizeof ip, &h, &c, proto, sizeof proto) == 0)
		return 0;
	snprintf(why, n, "'%.64s' is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp|sctp]", v);
	return -EINVAL;
}

#define CONTAINER_FIELDS                                                                        \
	{ "image", FT_STR, 1, 0, 0, check_image, NULL },                                               \
	{ "command", FT_WORDS, 0, 0, 0, NULL, NULL },                                                  \
	{ "entrypoint", FT_WORDS, 0, 0, 0, NULL, NULL },                                               \
	{ "env", FT_ENV, 0, 0, 0, NULL, NULL },                                                        \
	{ "binds", FT_LIST, 0, 0, 0, check_bind, NULL },                                               \
	{ "privileged", FT_BOOL, 0, 0, 0, NULL, NULL },                                                \
	{ "cap_add", FT_LIST, 0, 0, 0, NULL, NULL },                                                   \
	{ "network", FT_STR, 0, 0, 0, NULL, networks }

static const struct field onboot_fields[] = {
	{ "name", FT_STR, 0, 0, 0, check_name, NULL },
	CONTAINER_FIELDS,
	{ "timeout", FT_INT, 0, 1, 86400, NULL, NULL },
	{ "required", FT_BOOL, 0, 0, 0, NULL, NULL },
};
static const struct field service_fields[] = {
	CONTAINER_FIELDS,
	{ "ports", FT_LIST, 0, 0, 0, check_port, NULL },
	{ "restart", FT_STR, 0, 0, 0, NULL, restarts },
};
#define NF(f) (sizeof f / sizeof f[0])

/* A bad entry is left out; if it asked to be required, it stays as a failure for the boot to stop at. */
static int asks_required(struct walk *w, const yaml_node_t *map)
{
	if (map->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key), *v = yaml_document_get_node(w->doc, p->value);
		const char *ks = k ? doc_scalar(k) : NULL, *vs = v ? doc_scalar(v) : NULL;
		if (ks && vs && !strcmp(ks, "required") && !strcmp(doc_boolean(vs), "1"))
			return 1;
	}
	return 0;
}

void doc_onboot(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type != YAML_SEQUENCE_NODE) {
		doc_problem(w, v, "onlydocker.onboot: must be a list of containers, not %s; ignored", doc_kind(v));
		return;
	}
	cJSON *list = cJSON_CreateArray();
	int i = 0;
	DOC_ITEMS(w, v, item) {
		char what[64], name[16];
		snprintf(what, sizeof what, "onlydocker.onboot entry %d", ++i);
		cJSON *e = doc_entry(w, item, what, onboot_fields, NF(onboot_fields));
		if (!e) {
			int req = asks_required(w, item);
			if (req)        /* else the problem said is enough: the entry is left out */
				doc_problem(w, item, "%s: it is required, so the boot will stop there", what);
			e = cJSON_CreateObject();
			cJSON_AddBoolToObject(e, "invalid", 1);
			cJSON_AddBoolToObject(e, "required", req);
		}
		if (!cJSON_HasObjectItem(e, "name")) {
			snprintf(name, sizeof name, "%d", i);
			cJSON_AddStringToObject(e, "name", name);
		}
		cJSON_AddItemToArray(list, e);
	}
	/* Two entries of one name would be one container. */
	for (cJSON *a = list->child; a; a = a->next)
		for (cJSON *b = a->next; b; b = b->next)
			if (!strcmp(cJSON_GetObjectItem(a, "name")->valuestring, cJSON_GetObjectItem(b, "name")->valuestring)) {
				doc_problem(w, v, "onlydocker.onboot: two entries are named '%s'; the list is ignored",
					    cJSON_GetObjectItem(a, "name")->valuestring);
				cJSON_Delete(list);
				return;
			}
	cJSON_DeleteItemFromObject(doc_root(w), "onboot");
	cJSON_AddItemToObject(doc_root(w), "onboot", list);
}

void doc_services(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	int empty = v->type == YAML_SCALAR_NODE && !v->data.scalar.length;     /* `services:`: none */
	if (v->type != YAML_MAPPING_NODE && !empty) {
		doc_problem(w, v, "onlydocker.services: must be a mapping of NAME: container, not %s; ignored", doc_kind(v));
		return;
	}
	cJSON *all = cJSON_GetObjectItem(doc_root(w), "services");
	if (!all)
		all = cJSON_AddObjectToObject(doc_root(w), "services");
	if (empty)
		return;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn, *vn;
		const char *name = doc_pair(w, v, p, "onlydocker.services", &kn, &vn);
		char what[96], why[160];
		if (!name)
			continue;
		if (check_name(name, why, sizeof why) < 0) {
			doc_problem(w, kn, "onlydocker.services: %s; ignored", why);
			continue;
		}
		snprintf(what, sizeof what, "onlydocker.services.%s", name);
		cJSON *e = doc_entry(w, vn, what, service_fields, NF(service_fields));
		if (!e) {
			/* Not removed for a typo: a container of that name is left as it is. */
			doc_problem(w, vn, "%s: not applied; a service of that name is left as it is", what);
			e = cJSON_CreateNull();
		}
		cJSON_DeleteItemFromObject(all, name);
		cJSON_AddItemToObject(all, name, e);
	}
}

void doc_compose(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	const char *s = doc_scalar(v);
	if (!s || strncmp(s, "/var/lib/docker/", 16) || strstr(s, "/../") || strlen(s) >= 512 || strpbrk(s, "\n:,")) {
		doc_problem(w, v, "onlydocker.compose: must be the path of a compose file on the data disk "
			    "(/var/lib/docker/...), not %s%.64s%s; ignored", s ? "'" : "", s ? s : doc_kind(v), s ? "'" : "");
		return;
	}
	cJSON_DeleteItemFromObject(doc_root(w), "compose");
	cJSON_AddStringToObject(doc_root(w), "compose", s);
}
