/* The document's `ntp:` (cloud-init's key: enabled, servers, pools, ntp_client), checked into
 * cfg->doc for timesync.c: each server a host name or an address (they go into chronyd's
 * configuration, one a line), at most NTP_NAMES_MAX of each. A later document's replaces an
 * earlier one's whole; a bad one is said and the earlier one kept. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cfgdoc.h"
#include "cfgdoc_walk.h"

/* A host name, an IPv4 address or an IPv6 one: letters, digits, '.', '-', ':'; nothing a
 * configuration line could be bent with. */
static int check_host(const char *v, char *why, size_t n)
{
	if (doc_word(v, NTP_NAME_MAX, ".-:"))
		return 0;
	snprintf(why, n, "'%.64s' is not a host name or an address", v);
	return -EINVAL;
}

/* cloud-init picks a client; this appliance has chrony alone. */
static const char *const clients[] = { "auto", "chrony", NULL };

static const struct field ntp_fields[] = {
	{ "enabled", FT_BOOL, 0, 0, 0, NULL, NULL },
	{ "servers", FT_LIST, 0, 0, 0, check_host, NULL },
	{ "pools", FT_LIST, 0, 0, 0, check_host, NULL },
	{ "ntp_client", FT_STR, 0, 0, 0, NULL, clients },
};

void doc_ntp(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type == YAML_SCALAR_NODE && !v->data.scalar.length)
		return;         /* `ntp:` alone: nothing said, nothing changed */
	cJSON *e = doc_entry(w, v, "ntp", ntp_fields, sizeof ntp_fields / sizeof ntp_fields[0]);
	const char *kinds[] = { "servers", "pools" };
	for (size_t i = 0; e && i < 2; i++)
		if (cJSON_GetArraySize(cJSON_GetObjectItem(e, kinds[i])) > NTP_NAMES_MAX) {
			doc_problem(w, v, "ntp: more than %d %s", NTP_NAMES_MAX, kinds[i]);
			cJSON_Delete(e);
			e = NULL;
		}
	if (!e) {
		doc_problem(w, v, "ntp: not applied; the time servers are what they were without it");
		return;
	}
	cJSON_DeleteItemFromObject(doc_root(w), "ntp");
	cJSON_AddItemToObject(doc_root(w), "ntp", e);
}
