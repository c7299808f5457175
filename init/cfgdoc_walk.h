/* The configuration document's walk, shared by the files that read its keys (cfgdoc.c: the top
 * level, the od. keys and daemon.json; cfgdoc_units.c: onboot, services, compose; cfgdoc_host.c:
 * write_files, timezone; cfgdoc_time.c: ntp): where a problem is said, and the entry checker they all use. */
#ifndef OD_CFGDOC_WALK_H
#define OD_CFGDOC_WALK_H
#include <cJSON.h>
#include <yaml.h>
#include "cmdline.h"

struct walk {
	const char *source;
	yaml_document_t *doc;
	struct config *c;
	void (*report)(const char *);
	int problems;
};

/* One line: "config: SOURCE: line L, column C: ..." (at's position; no position when NULL). */
void doc_problem(struct walk *w, const yaml_node_t *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *doc_kind(const yaml_node_t *n);            /* "a mapping", "a list", "a value" */
const char *doc_scalar(const yaml_node_t *n);          /* a scalar's text; NULL if not one or it holds a NUL */
const char *doc_boolean(const char *v);                /* YAML 1.1's true/false as "1"/"0", else v */
/* A mapping pair's key name and nodes; NULL (said, `where` naming the mapping) if not a plain name. */
const char *doc_pair(struct walk *w, const yaml_node_t *map, const yaml_node_pair_t *p, const char *where,
		     const yaml_node_t **k, const yaml_node_t **v);
/* The item nodes of a sequence, in order. */
#define DOC_ITEMS(w, list, item)                                                                              \
	for (yaml_node_item_t *item##_it = (list)->data.sequence.items.start;                                \
	     item##_it < (list)->data.sequence.items.top; item##_it++)                                       \
		for (const yaml_node_t *item = yaml_document_get_node((w)->doc, *item##_it); item; item = NULL)

/* The structured part of the configuration (cfg->doc), made on first use. */
cJSON *doc_root(struct walk *w);

/* An entry (one onboot container, one file...) checked field by field against a table. */
enum field_type {
	FT_STR,         /* a value */
	FT_BOOL,        /* true/false (YAML 1.1's spellings) */
	FT_INT,         /* a whole number in min..max */
	FT_LIST,        /* a list of values */
	FT_WORDS,       /* a list of values, or one value split into words as a shell would (quotes, \) */
	FT_ENV,         /* NAME=VALUE items: a list of them, or a mapping of NAME: VALUE */
};
struct field {
	const char *name;
	enum field_type type;
	int required;
	int min, max;                                   /* FT_INT */
	/* optional, for a value and each item of a list: 0, or -EINVAL with why[] filled */
	int (*check)(const char *v, char *why, size_t n);
	const char *const *choices;                     /* optional, NULL-terminated: the value is one of them */
};
/* Whether v is a word of at most max bytes: a letter or digit first, then letters, digits and the
 * characters of `also` (names, host names). */
int doc_word(const char *v, size_t max, const char *also);
/* map against fields[] into a new object (the fields it has, by name; FT_BOOL as JSON booleans,
 * FT_INT numbers, lists as arrays of strings). Each problem is one line naming `what` ("onboot
 * entry 2", "services.web") and the field; returns NULL after any problem (the caller says what
 * happens to the entry), else the object. */
cJSON *doc_entry(struct walk *w, const yaml_node_t *map, const char *what, const struct field *fields, size_t n);

/* The top-level keys other files read (cfgdoc.c's table names them). */
void doc_onboot(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
void doc_services(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
void doc_compose(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
void doc_write_files(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
void doc_write_files_dirs(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
void doc_timezone(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);
void doc_ntp(struct walk *w, const yaml_node_t *k, const yaml_node_t *v);      /* cfgdoc_time.c */
#endif
