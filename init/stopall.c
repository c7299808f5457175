/* Shutdown's first stage: every running container but the DHCP one (the network goes last, syscont.c),
 * stopped through the engine in parallel, each with its own stop timeout. */
#define _GNU_SOURCE
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "enginelife.h"
#include "init.h"
#include "log.h"
#include "shutdown.h"
#include "syscont.h"

static int budget;
static struct stage_join join;

static void one_done(void) { stage_join_one(&join); }

static void stop_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	char *id = arg;
	if (status != 204 && status != 304 && status != 404)
		warn("shutdown: stopping container %.12s: %s", id, engine_failure(status, body));
	free(id);
	one_done();
}

static void list_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *list = engine_json(status, 200, body);
	const cJSON *c;
	cJSON_ArrayForEach(c, list) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "Id");
		const cJSON *n0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "Names"), 0);
		char path[160];
		if (!cJSON_IsString(id))
			continue;
		if (cJSON_IsString(n0) && syscont_is_last(n0->valuestring + (n0->valuestring[0] == '/')))
			continue;
		snprintf(path, sizeof path, ENGINE_API "/containers/%.64s/stop", id->valuestring);
		char *arg = strdup(id->valuestring);
		if (arg && engine_call("POST", path, NULL, -1, budget, stop_done, NULL, arg))
			join.pending++;
		else
			free(arg);
	}
	cJSON_Delete(list);
	if (status != 200)
		warn("shutdown: listing containers: %d; going on", status);
	one_done();             /* the list's own share */
}

void containers_stop_all(int budget_ms, void (*done)(void))
{
	if (!engine_ready()) {
		done();
		return;
	}
	budget = budget_ms;
	stage_join_start(&join, done);
	if (!engine_call("GET", ENGINE_API "/containers/json", NULL, -1, budget_ms, list_done, NULL, NULL))
		one_done();
}
