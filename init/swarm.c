/* Joining a Docker Swarm from the kernel command line: od.swarm=init makes this node a manager of
 * a new swarm, od.swarm.join=MANAGER[:PORT] makes it join one with a token from od.swarm.token or
 * the data disk. Tried on every boot, with a growing backoff, until the engine says the node is a
 * member; from then on the engine's own state on the data disk brings it back after a reboot. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmdline.h"
#include "engine.h"
#include "enginelife.h"
#include "fileio.h"
#include "init.h"
#include "log.h"
#include "loop.h"
#include "shutdown.h"

#define TOKEN_FILE "/var/lib/docker/onlydocker/swarm-token"
#define CALL_MS 60000           /* a swarm init or join under emulation takes seconds */
#define RETRY_MAX_MS 30000

static struct timer retry;
static int tries, said_member;

static void check(void *arg);

static void again(const char *what, int status, const char *body)
{
	int delay = 2000 << (tries < 4 ? tries : 4);
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	tries++;
	warn("swarm: %s: %s; trying again in %d s", what, engine_failure(status, body),
	     delay / 1000);
	timer_arm(&retry, delay, check, NULL);
}

/* The address the other nodes reach this one at: od.swarm.addr, else ip='s, else the engine's choice. */
static void advertise(cJSON *req)
{
	char a[INET_ADDRSTRLEN];
	const char *addr = cfg->swarm_addr[0] ? cfg->swarm_addr : NULL;
	if (!addr && cfg->ip.mode == IP_STATIC)
		addr = inet_ntop(AF_INET, &cfg->ip.addr, a, sizeof a);
	cJSON_AddStringToObject(req, "ListenAddr", "0.0.0.0:2377");
	if (addr)
		cJSON_AddStringToObject(req, "AdvertiseAddr", addr);
}

static void done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len;
	const char *what = arg;
	if (status != 200) {
		again(what, status, body);
		return;
	}
	info("swarm: %s done after %d %s", what, tries + 1, tries ? "tries" : "try");
	tries = 0;
	check(NULL);            /* and say what the engine now says */
}

static void join_or_init(void)
{
	cJSON *req = cJSON_CreateObject();
	advertise(req);
	if (!strcmp(cfg->swarm, "init")) {
		char *json = cJSON_PrintUnformatted(req);
		info("swarm: initialising a new swarm (this node its first manager)");
		engine_call("POST", ENGINE_API "/swarm/init", json, -1, CALL_MS, done, NULL, "init");
		free(json);
		cJSON_Delete(req);
		return;
	}
	char token[VALUE_MAX], manager[VALUE_MAX + 8];
	if (cfg->swarm_token[0]) {
		snprintf(token, sizeof token, "%s", cfg->swarm_token);
	} else if (read_file(TOKEN_FILE, token, sizeof token) <= 0) {
		err("swarm: od.swarm.join=%s needs a join token: od.swarm.token=, or the file " TOKEN_FILE
		    " on the data disk; not joining", cfg->swarm_join);
		cJSON_Delete(req);
		return;
	}
	snprintf(manager, sizeof manager, "%s%s", cfg->swarm_join, strchr(cfg->swarm_join, ':') ? "" : ":2377");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "RemoteAddrs"), cJSON_CreateString(manager));
	cJSON_AddStringToObject(req, "JoinToken", token);
	char *json = cJSON_PrintUnformatted(req);
	info("swarm: joining the swarm of %s", manager);
	engine_call("POST", ENGINE_API "/swarm/join", json, -1, CALL_MS, done, NULL, "join");
	free(json);
	cJSON_Delete(req);
}

static void info_done(struct ereq *r, int status, const char *body, size_t len, void *arg)
{
	(void)r; (void)len; (void)arg;
	cJSON *j = engine_json(status, 200, body);
	const cJSON *sw = cJSON_GetObjectItemCaseSensitive(j, "Swarm");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(sw, "LocalNodeState");
	const cJSON *ctl = cJSON_GetObjectItemCaseSensitive(sw, "ControlAvailable");
	const cJSON *nid = cJSON_GetObjectItemCaseSensitive(sw, "NodeID");
	const char *state = cJSON_IsString(st) ? st->valuestring : NULL;
	if (!state) {
		cJSON_Delete(j);
		again("asking the engine for its swarm state", status, body);
		return;
	}
	if (!strcmp(state, "inactive") && (cfg->swarm[0] || cfg->swarm_join[0]))
		join_or_init();
	else if (!strcmp(state, "active") || !strcmp(state, "pending")) {
		if (!said_member++)
			info("swarm: this node is %s in a swarm as a %s (node %.25s)", state,
			     cJSON_IsTrue(ctl) ? "manager" : "worker", cJSON_IsString(nid) ? nid->valuestring : "?");
	} else if (!strcmp(state, "locked"))
		warn("swarm: the swarm is locked: unlock it from dom0 (docker swarm unlock)");
	else if (!strcmp(state, "error"))
		warn("swarm: the engine reports a swarm error: see `docker info` in dom0");
	cJSON_Delete(j);
}

static void check(void *arg)
{
	(void)arg;
	if (engine_ready() && !shutdown_in_progress())
		engine_call("GET", ENGINE_API "/info", NULL, -1, CALL_MS, info_done, NULL, NULL);
}

static void engine_up(void)
{
	said_member = 0;
	tries = 0;
	check(NULL);            /* registered only when od.swarm or od.swarm.join asks for a swarm */
}

static void engine_down(void)
{
	timer_cancel(&retry);
}

void swarm_setup(void)
{
	static struct engine_listener l = { engine_up, engine_down, NULL };
	if (cfg->swarm[0] || cfg->swarm_join[0])
		engine_listen(&l);
}
