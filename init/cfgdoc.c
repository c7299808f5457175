/* The configuration document: libyaml loads it into a node tree, and this walks the tree. Top
 * level: cloud-init's `hostname`, `ssh_authorized_keys` and `ntp` (cfgdoc_time.c), and `onlydocker:`, whose keys (nested
 * mappings or dotted names: `disk: {wait: 10}` or `disk.wait: 10`) are the od. keys without the
 * prefix, each set through cmdline.c's table so that a value means what it means on the kernel
 * command line; the structured keys are read by cfgdoc_units.c and cfgdoc_host.c. Each problem is one line naming source, line, column and key; the rest applies. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include <yaml.h>
#include "cfgdoc.h"
#include "cfgdoc_walk.h"

#define KEY_MAX 128

void doc_problem(struct walk *w, const yaml_node_t *at, const char *fmt, ...)
{
	char msg[600];
	int n = at ? snprintf(msg, sizeof msg, "config: %s: line %zu, column %zu: ", w->source, at->start_mark.line + 1,
			      at->start_mark.column + 1)
		   : snprintf(msg, sizeof msg, "config: %s: ", w->source);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	va_end(ap);
	if (w->report)
		w->report(msg);
	w->problems++;
}

const char *doc_kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a value";
}

/* A scalar's text; libyaml's scalars are NUL-terminated, and may hold NULs of their own. */
const char *doc_scalar(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* A mapping pair: its key's name, with its key and value nodes; NULL (said, `where` naming the
 * mapping, "" for the document's top) when the key is not a plain name. */
const char *doc_pair(struct walk *w, const yaml_node_t *map, const yaml_node_pair_t *p, const char *where,
		     const yaml_node_t **k, const yaml_node_t **v)
{
	*k = yaml_document_get_node(w->doc, p->key);
	*v = yaml_document_get_node(w->doc, p->value);
	const char *name = *k ? doc_scalar(*k) : NULL;
	if (name && *v)
		return name;
	doc_problem(w, *k ? *k : map, "%s%sa key must be a plain name, not %s; ignored", where, *where ? ": " : "",
		*k ? doc_kind(*k) : "nothing");
	return NULL;
}

/* YAML's spellings of true and false (1.1's, which cloud-init's documents use) as the table's. */
const char *doc_boolean(const char *v)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (!strcmp(v, yes[i]))
			return "1";
		if (!strcmp(v, no[i]))
			return "0";
	}
	return v;
}

/* `dockerd.args` may be a list: its words, joined by spaces, as od.dockerd.args takes them. */
static int join_list(struct walk *w, const yaml_node_t *list, const char *name, char *out, size_t size)
{
	size_t len = 0;
	out[0] = 0;
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		const yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		const char *v = item ? doc_scalar(item) : NULL;
		if (!v) {
			doc_problem(w, item ? item : list, "%s: each item must be a value, not %s; the list is ignored", name,
				item ? doc_kind(item) : "nothing");
			return -EINVAL;
		}
		size_t n = strlen(v);
		if (len + n + 2 > size) {
			doc_problem(w, item, "%s: the list is too long (at most %zu bytes joined); ignored", name, size - 1);
			return -EINVAL;
		}
		if (len)
			out[len++] = ' ';
		memcpy(out + len, v, n + 1);
		len += n;
	}
	return 0;
}

/* onlydocker.NAME is od.NAME, but for ip, the kernel's own ip= (no prefix there). The position
 * in a message: the key's for an unknown key, the value's for a bad value. */
static void set(struct walk *w, const yaml_node_t *k, const yaml_node_t *v, const char *name, const char *value)
{
	char key[KEY_MAX + 4], why[400];
	snprintf(key, sizeof key, "%s%s", strcmp(name, "ip") ? "od." : "", name);
	int r = config_set(w->c, key, value, why, sizeof why);
	if (r == -ENOENT)
		doc_problem(w, k, "unknown key 'onlydocker.%s', ignored", name);
	else if (r < 0)
		doc_problem(w, v, "onlydocker.%s: %s", name, why);
}

/* A plain scalar as YAML 1.2's core schema reads it (null, booleans, numbers), else a string. */
static cJSON *json_scalar(const yaml_node_t *n, const char *v)
{
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cJSON_CreateString(v);
	if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"))
		return cJSON_CreateNull();
	const char *b = doc_boolean(v);
	if (b != v)
		return cJSON_CreateBool(*b == '1');
	char *end;
	double d = strtod(v, &end);
	if (end != v && !*end && strpbrk(v, "0123456789") && !strpbrk(v, "xXnN"))  /* no hex, inf, nan */
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(v);
}

/* onlydocker.daemon: daemon.json's content written as YAML, node by node into JSON. */
static cJSON *to_json(struct walk *w, const yaml_node_t *n, int depth)
{
	if (depth > 32) {
		doc_problem(w, n, "onlydocker.daemon: nested deeper than 32 levels; ignored");
		return NULL;
	}
	if (n->type == YAML_SCALAR_NODE) {
		const char *v = doc_scalar(n);
		if (!v)
			doc_problem(w, n, "onlydocker.daemon: a value holds a NUL byte; ignored");
		return v ? json_scalar(n, v) : NULL;
	}
	cJSON *out = n->type == YAML_MAPPING_NODE ? cJSON_CreateObject() : cJSON_CreateArray();
	if (!out)
		return NULL;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
			const yaml_node_t *item = yaml_document_get_node(w->doc, *it);
			cJSON *j = item ? to_json(w, item, depth + 1) : NULL;
			if (!j || !cJSON_AddItemToArray(out, j)) {
				cJSON_Delete(j);
				cJSON_Delete(out);
				return NULL;
			}
		}
		return out;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k, *v;
		const char *kn = doc_pair(w, n, p, "onlydocker.daemon", &k, &v);
		if (!kn) {
			cJSON_Delete(out);
			return NULL;
		}
		cJSON *j = to_json(w, v, depth + 1);
		if (!j || !cJSON_AddItemToObject(out, kn, j)) {
			cJSON_Delete(j);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

/* A later document's replaces an earlier one's, whole. */
static void daemon_json(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type != YAML_MAPPING_NODE) {
		doc_problem(w, v, "onlydocker.daemon: must be a mapping (daemon.json's keys), not %s; ignored", doc_kind(v));
		return;
	}
	cJSON *j = to_json(w, v, 0);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!text)
		return;         /* said where it went wrong */
	if (strlen(text) >= sizeof w->c->daemon_json)
		doc_problem(w, v, "onlydocker.daemon: longer than %zu bytes as JSON; ignored", sizeof w->c->daemon_json - 1);
	else
		strcpy(w->c->daemon_json, text);
	cJSON_free(text);
}

/* The onlydocker section's keys that are no od. key: each read whole by its own function. */
static const struct doc_key {
	const char *name;
	void (*apply)(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
} structured[] = {
	{ "daemon", daemon_json },
	{ "onboot", doc_onboot },
	{ "services", doc_services },
	{ "compose", doc_compose },
	{ "write_files.dirs", doc_write_files_dirs },
};

/* One key of the onlydocker section, prefix the dotted path so far: a value sets its od. key, a
 * mapping goes one level down. */
static void section(struct walk *w, const yaml_node_t *map, const char *prefix)
{
	char where[KEY_MAX + 12];
	snprintf(where, sizeof where, "onlydocker%s%s", *prefix ? "." : "", prefix);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k, *v;
		const char *kn = doc_pair(w, map, p, where, &k, &v);
		char name[KEY_MAX + 1];
		if (!kn)
			continue;
		if ((size_t)snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", kn) >= sizeof name) {
			doc_problem(w, k, "key 'onlydocker.%.40s...' is too long, ignored", name);
			continue;
		}
		size_t i;
		for (i = 0; i < sizeof structured / sizeof structured[0] && strcmp(name, structured[i].name); i++)
			;
		if (i < sizeof structured / sizeof structured[0]) {
			structured[i].apply(w, k, v);
		} else if (v->type == YAML_MAPPING_NODE) {
			section(w, v, name);
		} else if (v->type == YAML_SEQUENCE_NODE) {
			char joined[VALUE_MAX];
			if (strcmp(name, "dockerd.args"))
				doc_problem(w, v, "onlydocker.%s: a list is taken only by dockerd.args; ignored", name);
			else if (join_list(w, v, name, joined, sizeof joined) == 0)
				set(w, k, v, name, joined);
		} else {
			const char *s = doc_scalar(v);
			if (!s)
				doc_problem(w, v, "onlydocker.%s: the value holds a NUL byte; ignored", name);
			else
				set(w, k, v, name, v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? doc_boolean(s) : s);
		}
	}
}

static int has_line(const char *lines, const char *v, size_t n)
{
	for (const char *l = lines; *l; l = strchr(l, '\n') + 1)
		if (!strncmp(l, v, n) && l[n] == '\n')
			return 1;
	return 0;
}

/* ssh_authorized_keys: a list of key lines (sshd checks each; a line that is no key is only
 * never matched), appended to what earlier sources gave, each once. */
static void ssh_keys(struct walk *w, const yaml_node_t *list)
{
	char *out = w->c->ssh_keys;
	size_t size = sizeof w->c->ssh_keys;
	for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		const yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		const char *v = item ? doc_scalar(item) : NULL;
		if (!v || !*v || strpbrk(v, "\r\n")) {
			doc_problem(w, item ? item : list, "ssh_authorized_keys: each item must be one key line; ignored");
			continue;
		}
		size_t have = strlen(out), n = strlen(v);
		if (has_line(out, v, n))
			continue;       /* given already */
		if (have + n + 2 > size) {
			doc_problem(w, item, "ssh_authorized_keys: more keys than fit (%zu bytes); the rest are ignored", size - 1);
			return;
		}
		memcpy(out + have, v, n);
		out[have + n] = '\n';
		out[have + n + 1] = 0;
	}
}

static void onlydocker(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type == YAML_MAPPING_NODE)
		section(w, v, "");
	else if (!(v->type == YAML_SCALAR_NODE && !v->data.scalar.length))     /* `onlydocker:` empty */
		doc_problem(w, v, "onlydocker: must be a mapping of keys, not %s; ignored", doc_kind(v));
}

static void hostname(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	if (v->type != YAML_SCALAR_NODE || !doc_scalar(v))
		doc_problem(w, v, "hostname: must be a value, not %s; ignored", doc_kind(v));
	else
		set(w, k, v, "hostname", doc_scalar(v));
}

static void ssh_authorized_keys(struct walk *w, const yaml_node_t *k, const yaml_node_t *v)
{
	(void)k;
	if (v->type != YAML_SEQUENCE_NODE)
		doc_problem(w, v, "ssh_authorized_keys: must be a list of keys, not %s; ignored", doc_kind(v));
	else
		ssh_keys(w, v);
}

/* The document's top level: cloud-init's words, and onlydocker's section. */
static const struct doc_key tops[] = {
	{ "onlydocker", onlydocker },
	{ "hostname", hostname },
	{ "ssh_authorized_keys", ssh_authorized_keys },
	{ "write_files", doc_write_files },
	{ "timezone", doc_timezone },
	{ "ntp", doc_ntp },
};
/* cloud-init keys this version knows but does not apply: said, never silently ignored. */
static const char *const later[] = { "runcmd", "bootcmd", "users", "packages" };

static void top(struct walk *w, const yaml_node_t *root)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const yaml_node_t *k, *v;
		const char *kn = doc_pair(w, root, p, "", &k, &v);
		size_t i, j;
		if (!kn)
			continue;
		for (i = 0; i < sizeof tops / sizeof tops[0] && strcmp(kn, tops[i].name); i++)
			;
		for (j = 0; j < sizeof later / sizeof later[0] && strcmp(kn, later[j]); j++)
			;
		if (i < sizeof tops / sizeof tops[0])
			tops[i].apply(w, k, v);
		else if (j < sizeof later / sizeof later[0])
			doc_problem(w, k, "key '%.64s' is not applied by this version of onlydocker, ignored", kn);
		else
			doc_problem(w, k, "unknown key '%.64s', ignored", kn);
	}
}

cJSON *doc_root(struct walk *w)
{
	if (!w->c->doc)
		w->c->doc = cJSON_CreateObject();
	return w->c->doc;
}

void cfgdoc_free(struct config *c)
{
	cJSON_Delete(c->doc);
	c->doc = NULL;
}

/* A NoCloud seed's meta-data: its local-hostname (the first label of a dotted name) is the
 * hostname unless the user-data says another; instance-id and the rest are not ours. */
static void meta_top(struct walk *w, const yaml_node_t *root)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = yaml_document_get_node(w->doc, p->key), *v = yaml_document_get_node(w->doc, p->value);
		const char *kn = k ? doc_scalar(k) : NULL, *vs = v ? doc_scalar(v) : NULL;
		char name[64];
		if (!kn || strcmp(kn, "local-hostname"))
			continue;
		if (!vs || (size_t)snprintf(name, sizeof name, "%.*s", (int)strcspn(vs, "."), vs) >= sizeof name)
			doc_problem(w, v ? v : k, "local-hostname: must be a host name; ignored");
		else
			set(w, k, v, "hostname", name);
	}
}

static int apply(const char *source, const char *text, size_t len, struct config *c, void (*report)(const char *),
		 void (*walk)(struct walk *w, const yaml_node_t *root));

int cfgdoc_apply(const char *source, const char *text, size_t len, struct config *c, void (*report)(const char *))
{
	return apply(source, text, len, c, report, top);
}

int cfgdoc_metadata(const char *source, const char *text, size_t len, struct config *c, void (*report)(const char *))
{
	return apply(source, text, len, c, report, meta_top);
}

static int apply(const char *source, const char *text, size_t len, struct config *c, void (*report)(const char *),
		 void (*walk)(struct walk *w, const yaml_node_t *root))
{
	struct walk w = { .source = source, .c = c, .report = report };
	yaml_parser_t parser;
	yaml_document_t doc;

	if (len > CFGDOC_MAX) {
		doc_problem(&w, NULL, "longer than %d KiB, ignored whole", CFGDOC_MAX >> 10);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser)) {
		doc_problem(&w, NULL, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		char msg[300];
		snprintf(msg, sizeof msg, "config: %s: line %zu, column %zu: not valid YAML: %s%s%s; ignored whole", source,
			 parser.problem_mark.line + 1, parser.problem_mark.column + 1, parser.problem ? parser.problem : "error",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		if (report)
			report(msg);
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	w.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int r = 0;
	if (root && root->type == YAML_MAPPING_NODE) {
		walk(&w, root);
		r = w.problems;
	} else if (root && !(root->type == YAML_SCALAR_NODE && !root->data.scalar.length)) {
		doc_problem(&w, root, "the document must be a mapping of keys, not %s; ignored whole", doc_kind(root));
		r = -EINVAL;
	}
	/* An empty document (or one of comments alone) sets nothing, and is no problem. */
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}
