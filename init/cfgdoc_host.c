/* The document's keys for the host's own files: cloud-init's `write_files` (each entry checked
 * whole: its path's shape, content and encoding, mode, owner), the directories beyond /etc and
 * /var/lib/docker/onlydocker it may write under (`onlydocker.write_files.dirs`), and `timezone`.
 * Checked into cfg->doc here; writefiles.c and host.c act on them at boot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base64.h"
#include "cfgdoc.h"
#include "cfgdoc_walk.h"

#define PATH_MAX_DOC 1024
#define NAME_MAX_DOC 200        /* a component: room left for the writer's ".NAME.onlydocker-new" */
#define ZONE_MAX 64

/* An absolute path in its one clean spelling: no empty, '.' or '..' component, no trailing '/',
 * no control characters (a file name is said on the console). */
static int path_check(const char *v, char *why, size_t n)
{
	static const char control[] = "holds a control character";
	size_t len = strlen(v), comp = 0;
	const char *bad = NULL;
	if (v[0] != '/' || len < 2)
		bad = "is not an absolute path";
	else if (len >= PATH_MAX_DOC)
		bad = "is too long";
	for (const char *p = v + 1; !bad; p++) {
		if (*p == '/' || !*p) {
			const char *start = p - comp;
			if (!comp || (comp == 1 && *start == '.') || (comp == 2 && !strncmp(start, "..", 2)))
				bad = "has an empty, '.' or '..' component";
			else if (comp > NAME_MAX_DOC)
				bad = "has a component longer than 200 bytes";
			if (!*p)
				break;
			comp = 0;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			bad = control;
		} else {
			comp++;
		}
	}
	if (!bad)
		return 0;
	if (bad == control)     /* not on the console as it is */
		snprintf(why, n, "the path %s", bad);
	else
		snprintf(why, n, "'%.64s' %s", v, bad);
	return -EINVAL;
}

/* One path inside another, component-wise (/etcetera is not inside /etc). */
static int within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/* Trees a declared directory may neither be in nor hold: kernel filesystems, and the engine's
 * state (its onlydocker/ directory is allowed already). */
static const char *const forbidden[] = { "/proc", "/sys", "/dev", "/var/lib/docker" };

static int check_dir(const char *v, char *why, size_t n)
{
	if (path_check(v, why, n) < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
		if (within(v, forbidden[i]) || within(forbidden[i], v)) {
			snprintf(why, n, "'%.64s' is or holds %s, which write_files never writes", v, forbidden[i]);
			return -EINVAL;
		}
	return 0;
}

/* cloud-init's permissions: an octal mode, '0644' (0o644 too), at most 07777. */
static int parse_mode(const char *v)
{
	const char *d = strncmp(v, "0o", 2) ? v : v + 2;
	char *end;
	long m = strtol(d, &end, 8);
	return *d >= '0' && *d <= '7' && !*end && strlen(d) <= 5 && m <= 07777 ? (int)m : -EINVAL;
}

static int check_mode(const char *v, char *why, size_t n)
{
	if (parse_mode(v) >= 0)
		return 0;
	snprintf(why, n, "'%.32s' is not an octal mode such as '0644'", v);
	return -EINVAL;
}

/* USER[:GROUP], each root or a number (the host has no user database); no group: root's. */
static int parse_owner(const char *v, long *uid, long *gid)
{
	char buf[64];
	long *out[2] = { uid, gid };
	if (strlen(v) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, v);
	char *colon = strchr(buf, ':');
	if (colon)
		*colon = 0;
	const char *part[2] = { buf, colon ? colon + 1 : "root" };
	for (int i = 0; i < 2; i++) {
		char *end;
		if (!strcmp(part[i], "root")) {
			*out[i] = 0;
			continue;
		}
		*out[i] = strtol(part[i], &end, 10);
		if (!*part[i] || *end || *part[i] < '0' || *part[i] > '9' || *out[i] > 2147483647L || end - part[i] > 10)
			return -EINVAL;
	}
	return 0;
}

static int check_owner(const char *v, char *why, size_t n)
{
	long u, g;
	if (parse_owner(v, &u, &g) == 0)
		return 0;
	snprintf(why, n, "'%.64s' is not USER[:GROUP] with root or numbers (root:root, 1000:1000)", v);
	return -EINVAL;
}

/* cloud-init's encodings: plain text and base64; its gzip ones are refused, not written wrong. */
static int check_encoding(const char *v, char *why, size_t n)
{
	static const char *const known[] = { "text/plain", "b64", "base64" };
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(v, known[i]))
			return 0;
	snprintf(why, n, "'%.32s' is not %s", v, strstr(v, "gz") ? "supported (no gzip here: use b64 or text/plain)"
							 : "b64, base64 or text/plain");
	return -EINVAL;
}

static const struct field file_fields[] = {
	{ "path", FT_STR, 1, 0, 0, path_check, NULL },
	{ "content", FT_STR, 0, 0, 0, NULL, NULL },
	{ "encoding", FT_STR, 0, 0, 0, check_encoding, NULL },
	{ "permissions", FT_STR, 0, 0, 0, check_mode, NULL },
	{ "owner", FT_STR, 0, 0, 0, check_owner, NULL },
	{ "append", FT_BOOL, 0, 0, 0, NULL, NULL },
};

/* "SOURCE: line L, column C": where a problem found at boot (writefiles.c, host.c) is said to be. */
static void add_at(struct walk *w, cJSON *o, const yaml_node_t *n)
{
	char at[400];
	snprintf(at, sizeof at, "%s: line %zu, column %zu", w->source, n->start_mark.line + 1, n->start_mark.column + 1);
	cJSON_AddStringToObject(o, "at", at);
}

/* A field's node in an entry's mapping (for the position of a problem found after the table's check). */
static const yaml_node_t *field_node(struct walk *w, const yaml_node_t *map, const char *name)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		if (k && doc_scalar(k) && !strcmp(doc_scalar(k), name))
			return yaml_document_get_node(w->doc, p->value);
	}
	return map;
}

/* The checked fields in the form writefiles.c takes: base64 known good, mode and owner numbers. */
static cJSON *normalise(struct walk *w, const yaml_node_t *map, const char *what, cJSON *e)
{
	const cJSON *enc = cJSON_GetObjectItem(e, "encoding"), *content = cJSON_GetObjectItem(e, "content");
	if (enc && strcmp(enc->valuestring, "text/plain")) {
		const char *text = content ? content->valuestring : "";
		unsigned char *buf = malloc(base64_max(strlen(text)));
		long n = buf ? base64_decode(text, buf) : -ENOMEM;
		free(buf);
		if (n < 0) {
			doc_problem(w, field_node(w, map, "content"), "%s: content: not base64", what);
			cJSON_Delete(e);
			return NULL;
		}
		cJSON_AddBoolToObject(e, "base64", 1);
	}
	cJSON_DeleteItemFromObject(e, "encoding");
	const cJSON *perm = cJSON_GetObjectItem(e, "permissions"), *owner = cJSON_GetObjectItem(e, "owner");
	if (perm)
		cJSON_AddNumberToObject(e, "mode", parse_mode(perm->valuestring));
	if (owner) {
		long u, g;
		parse_owner(owner->valuestring, &u, &g);
		cJSON_AddNumberToObject(e, "uid", (double)u);
		cJSON_AddNumberToObject(e, "gid", (double)g);
	}
	cJSON_DeleteItemFromObject(e, "permissions");
	cJSON_DeleteItemFromObject(e, "owner");
	return e;
}

/* Every document's entries are kept, in the sources' order, each written in turn: for one path
 * the last one wins (or adds to it, with append). */
void doc_write_files(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type != YAML_SEQUENCE_NODE) {
		doc_problem(w, v, "write_files: must be a list of files, not %s; ignored", doc_kind(v));
		return;
	}
	cJSON *all = cJSON_GetObjectItem(doc_root(w), "write_files");
	if (!all)
		all = cJSON_AddArrayToObject(doc_root(w), "write_files");
	int i = 0;
	DOC_ITEMS(w, v, item) {
		char what[64];
		snprintf(what, sizeof what, "write_files entry %d, not written", ++i);
		cJSON *e = doc_entry(w, item, what, file_fields, sizeof file_fields / sizeof file_fields[0]);
		if (e)
			e = normalise(w, item, what, e);
		if (!e)
			continue;
		snprintf(what, sizeof what, "write_files entry %d", i);
		cJSON_AddStringToObject(e, "entry", what);
		add_at(w, e, field_node(w, item, "path"));
		cJSON_AddItemToArray(all, e);
	}
}

/* onlydocker.write_files.dirs: the directories a document may also write under, each document's
 * added to the earlier ones'. */
void doc_write_files_dirs(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type != YAML_SEQUENCE_NODE) {
		doc_problem(w, v, "onlydocker.write_files.dirs: must be a list of directories, not %s; ignored", doc_kind(v));
		return;
	}
	cJSON *all = cJSON_GetObjectItem(doc_root(w), "write_files_dirs");
	if (!all)
		all = cJSON_AddArrayToObject(doc_root(w), "write_files_dirs");
	DOC_ITEMS(w, v, item) {
		char why[200];
		const char *s = doc_scalar(item);
		if (!s || check_dir(s, why, sizeof why) < 0) {
			doc_problem(w, item, "onlydocker.write_files.dirs: %s; ignored", s ? why : "each item must be a path");
			continue;
		}
		int have = 0;
		for (const cJSON *d = all->child; d && !have; d = d->next)
			have = !strcmp(d->valuestring, s);
		if (!have)
			cJSON_AddItemToArray(all, cJSON_CreateString(s));
	}
}

/* tz database names: Area/Location words (letters, digits, _ + -), nothing that climbs out of
 * /usr/share/zoneinfo. Whether the zone exists is host.c's to find out, at boot. */
void doc_timezone(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	const char *s = doc_scalar(v);
	int ok = s && *s && strlen(s) <= ZONE_MAX && s[0] != '/' && !strstr(s, "//") && s[strlen(s) - 1] != '/';
	for (const char *p = s; ok && *p; p++)
		ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-/", *p);
	if (!ok) {
		doc_problem(w, v, "timezone: must be a zone name such as Europe/Berlin, not %s%.64s%s; ignored",
			    s ? "'" : "", s ? s : doc_kind(v), s ? "'" : "");
		return;
	}
	cJSON *tz = cJSON_CreateObject();
	cJSON_AddStringToObject(tz, "zone", s);
	add_at(w, tz, v);
	cJSON_DeleteItemFromObject(doc_root(w), "timezone");
	cJSON_AddItemToObject(doc_root(w), "timezone", tz);
}
