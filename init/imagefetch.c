/* An image the document's containers need, made present: asked of the engine by reference; if
 * it has none, a bundled image's archive is loaded (dom0's and dhcpcd's references need no
 * registry), else the image is pulled, its progress stream read line by line for the error. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine.h"
#include "imagefetch.h"
#include "syscont.h"
#include "syscont_spec.h"

#define CALL_MS 30000
#define LOAD_MS 120000

struct fetch {
	char ref[256];
	image_fn fn;
	void *arg;
	char line[1024];        /* the progress stream's line so far */
	size_t len;
	int overlong;           /* the line in hand is longer than line[]: skipped */
	char err[256];          /* the last error the stream reported */
	int pull_ms;
};

static void finish(struct fetch *f, int rc, const char *why)
{
	f->fn(f->arg, rc, why);
	free(f);
}

/* The archive a bundled reference comes from (the system containers' table says which), or NULL. */
static const char *bundle_of(const char *ref)
{
	for (size_t i = 0; i < SYSCONT_N; i++)
		if (!strcmp(ref, syscont_specs[i].image) || !strcmp(ref, syscont_specs[i].bundle_ref))
			return syscont_specs[i].bundle;
	return NULL;
}

static void line_done(struct fetch *f)
{
	f->line[f->len] = 0;
	cJSON *j = f->overlong ? NULL : cJSON_Parse(f->line);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsString(e))
		snprintf(f->err, sizeof f->err, "%s", e->valuestring);
	cJSON_Delete(j);
	f->len = 0;
	f->overlong = 0;
}

/* The pull's answer is a stream of JSON lines; an error comes as one of them, under status 200. */
static void pull_chunk(struct ereq *r, const char *data, size_t len, void *arg)
{
	(void)r;
	struct fetch *f = arg;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			line_done(f);
		else if (f->len + 1 < sizeof f->line)
			f->line[f->len++] = data[i];
		else
			f->overlong = 1;
	}
}

static void pull_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct fetch *f = arg;
	if (f->len)
		line_done(f);
	if (status == 200 && !f->err[0])
		finish(f, 0, NULL);
	else
		finish(f, status < 0 ? status : -EIO, status == 200 ? f->err : engine_failure(status, body));
}

static void load_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct fetch *f = arg;
	if (engine_loaded(status, body))
		finish(f, 0, NULL);
	else
		finish(f, status < 0 ? status : -EIO, engine_failure(status, body));
}

static void inspect_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	struct fetch *f = arg;
	char why[300];
	if (status == 200) {
		finish(f, 0, NULL);
		return;
	}
	if (status != 404) {
		finish(f, status < 0 ? status : -EIO, engine_failure(status, body));
		return;
	}
	const char *bundle = bundle_of(f->ref);
	if (bundle) {
		int fd = open(bundle, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, sizeof why, "its archive %s: %s", bundle, strerror(errno));
			finish(f, -errno, why);
			return;
		}
		if (!engine_call("POST", ENGINE_API "/images/load?quiet=1", NULL, fd, LOAD_MS, load_done, NULL, f))
			finish(f, -ENOMEM, "out of memory");
		return;
	}
	/* Without a tag (or digest), the engine would pull every tag of the repository. */
	const char *last = strrchr(f->ref, '/');
	int tagged = strchr(last ? last : f->ref, ':') || strchr(f->ref, '@');
	char path[400];
	snprintf(path, sizeof path, ENGINE_API "/images/create?fromImage=%s%s", f->ref, tagged ? "" : "&tag=latest");
	if (!engine_call("POST", path, NULL, -1, f->pull_ms, pull_done, pull_chunk, f))
		finish(f, -ENOMEM, "out of memory");
}

void image_fetch(const char *ref, int pull_ms, image_fn fn, void *arg)
{
	struct fetch *f = calloc(1, sizeof *f);
	if (!f) {
		fn(arg, -ENOMEM, "out of memory");
		return;
	}
	snprintf(f->ref, sizeof f->ref, "%s", ref);
	f->fn = fn;
	f->arg = arg;
	f->pull_ms = pull_ms;
	if (!engine_callf("GET", NULL, CALL_MS, inspect_done, f, "/images/%s/json", ref))
		finish(f, -ENOMEM, "out of memory");
}
