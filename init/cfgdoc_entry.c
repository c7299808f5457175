/* One entry of a configuration document (an onboot container, a service, a file to write)
 * checked field by field against a table, into a JSON object the rest of init reads without
 * checking again: each field's type, its bounds, its own check, and the shell-like word split of
 * a command given as one string. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cfgdoc_walk.h"

#define WORDS_MAX 4096

/* A command line split into words as a shell would: blanks separate, '...' keeps everything,
 * "..." keeps all but \" and \\, a backslash outside quotes keeps the next character. No
 * expansion of any kind. 0, or -EINVAL with why[] (an unclosed quote, too long). */
static int split_words(const char *s, cJSON *out, char *why, size_t n)
{
	char word[WORDS_MAX];
	size_t len = 0;
	int in_word = 0;
	for (const char *p = s;; p++) {
		char ch = *p;
		if (!ch || ch == ' ' || ch == '\t' || ch == '\n') {
			if (in_word) {
				word[len] = 0;
				cJSON_AddItemToArray(out, cJSON_CreateString(word));
				len = 0;
				in_word = 0;
			}
			if (!ch)
				return 0;
			continue;
		}
		in_word = 1;
		if (ch == '\'' || ch == '"') {
			char q = ch;
			for (p++; *p && *p != q; p++) {
				if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				if (len + 1 >= sizeof word)
					return snprintf(why, n, "longer than %zu bytes", sizeof word - 1), -EINVAL;
				word[len++] = *p;
			}
			if (!*p)
				return snprintf(why, n, "a %c quote is not closed", q), -EINVAL;
			continue;
		}
		if (ch == '\\' && p[1])
			ch = *++p;
		if (len + 1 >= sizeof word)
			return snprintf(why, n, "longer than %zu bytes", sizeof word - 1), -EINVAL;
		word[len++] = ch;
	}
}

int doc_word(const char *v, size_t max, const char *also)
{
	size_t len = strlen(v);
	int ok = len > 0 && len <= max && isalnum((unsigned char)v[0]);
	for (const char *p = v; ok && *p; p++)
		ok = isalnum((unsigned char)*p) || strchr(also, *p);
	return ok;
}

/* One of the field's choices, or said: "'x' is not a, b or c". */
static int choice(const struct field *f, const char *s, char *why, size_t n)
{
	size_t len = (size_t)snprintf(why, n, "'%.64s' is not ", s);
	for (const char *const *c = f->choices; *c; c++) {
		if (!strcmp(s, *c))
			return 0;
		len += (size_t)snprintf(why + len, len < n ? n - len : 0, "%s%s", c == f->choices ? "" : c[1] ? ", " : " or ", *c);
	}
	return -EINVAL;
}

/* A value for a field, or NULL (said). */
static cJSON *value(struct walk *w, const yaml_node_t *v, const char *what, const struct field *f)
{
	const char *s = doc_scalar(v);
	char why[200];
	if (!s) {
		doc_problem(w, v, "%s: %s must be a value, not %s", what, f->name, doc_kind(v));
		return NULL;
	}
	if (f->choices && choice(f, s, why, sizeof why) < 0) {
		doc_problem(w, v, "%s: %s: %s", what, f->name, why);
		return NULL;
	}
	if (f->check && f->check(s, why, sizeof why) < 0) {
		doc_problem(w, v, "%s: %s: %s", what, f->name, why);
		return NULL;
	}
	return cJSON_CreateString(s);
}

static cJSON *typed(struct walk *w, const yaml_node_t *v, const char *what, const struct field *f)
{
	const char *s = doc_scalar(v);
	char why[200];
	switch (f->type) {
	case FT_STR:
		return value(w, v, what, f);
	case FT_BOOL:
		if (s && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && doc_boolean(s) != s)
			return cJSON_CreateBool(*doc_boolean(s) == '1');
		doc_problem(w, v, "%s: %s must be true or false", what, f->name);
		return NULL;
	case FT_INT: {
		char *end;
		long x = s ? strtol(s, &end, 10) : 0;
		if (s && *s && !*end && x >= f->min && x <= f->max)
			return cJSON_CreateNumber((double)x);
		doc_problem(w, v, "%s: %s must be a whole number in %d..%d", what, f->name, f->min, f->max);
		return NULL;
	}
	case FT_WORDS:
		if (s) {
			cJSON *a = cJSON_CreateArray();
			int r = split_words(s, a, why, sizeof why);
			if (r == 0 && cJSON_GetArraySize(a) > 0)
				return a;
			doc_problem(w, v, "%s: %s: %s", what, f->name, r < 0 ? why : "no words");
			cJSON_Delete(a);
			return NULL;
		}
		/* fall through: a list */
	case FT_LIST:
	case FT_ENV:
		break;
	}
	cJSON *a = cJSON_CreateArray();
	if (f->type == FT_ENV && v->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			const yaml_node_t *k, *val;
			const char *name = doc_pair(w, v, p, what, &k, &val), *sv = val ? doc_scalar(val) : NULL;
			char item[WORDS_MAX];
			if (!name || !sv || !*name || strchr(name, '=')
			    || (size_t)snprintf(item, sizeof item, "%s=%s", name, sv) >= sizeof item) {
				if (name)
					doc_problem(w, val, "%s: %s: '%.64s' needs a name and a value of at most %d bytes",
						    what, f->name, name, WORDS_MAX);
				cJSON_Delete(a);
				return NULL;
			}
			cJSON_AddItemToArray(a, cJSON_CreateString(item));
		}
		return a;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		doc_problem(w, v, "%s: %s must be a list%s, not %s", what, f->name,
			    f->type == FT_ENV ? " of NAME=VALUE or a mapping" : f->type == FT_WORDS ? " or one command line" : "",
			    doc_kind(v));
		cJSON_Delete(a);
		return NULL;
	}
	DOC_ITEMS(w, v, item) {
		cJSON *one = value(w, item, what, f);
		const char *sv = one ? one->valuestring : NULL;
		if (one && f->type == FT_ENV && (!strchr(sv, '=') || *sv == '=')) {
			doc_problem(w, item, "%s: %s: '%.64s' is not NAME=VALUE", what, f->name, sv);
			cJSON_Delete(one);
			one = NULL;
		}
		if (!one) {
			cJSON_Delete(a);
			return NULL;
		}
		cJSON_AddItemToArray(a, one);
	}
	return a;
}

cJSON *doc_entry(struct walk *w, const yaml_node_t *map, const char *what, const struct field *fields, size_t n)
{
	if (map->type != YAML_MAPPING_NODE) {
		doc_problem(w, map, "%s: must be a mapping of fields, not %s", what, doc_kind(map));
		return NULL;
	}
	cJSON *out = cJSON_CreateObject();
	int bad = 0;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k, *v;
		const char *name = doc_pair(w, map, p, what, &k, &v);
		size_t i;
		if (!name) {
			bad = 1;
			continue;
		}
		for (i = 0; i < n && strcmp(fields[i].name, name); i++)
			;
		if (i == n) {
			doc_problem(w, k, "%s: unknown field '%.64s'", what, name);
			bad = 1;
			continue;
		}
		if (cJSON_HasObjectItem(out, name)) {
			doc_problem(w, k, "%s: %s is given twice", what, name);
			bad = 1;
			continue;
		}
		cJSON *j = typed(w, v, what, &fields[i]);
		if (!j)
			bad = 1;
		else
			cJSON_AddItemToObject(out, name, j);
	}
	for (size_t i = 0; i < n && !bad; i++)
		if (fields[i].required && !cJSON_HasObjectItem(out, fields[i].name)) {
			doc_problem(w, map, "%s: %s is missing", what, fields[i].name);
			bad = 1;
		}
	if (bad) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}
