/* Which engine init can talk to: GET /version's ApiVersion and MinAPIVersion against the one
 * version every request path names (ENGINE_API_VERSION). Pure logic; dockerd.c asks and decides. */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "engine.h"

/* "1.45" -> 1045; -1 for anything that is not MAJOR.MINOR. */
static int api_num(const char *v)
{
	unsigned major, minor;
	char end;
	if (!v || sscanf(v, "%3u.%3u%c", &major, &minor, &end) != 2)
		return -1;
	return (int)(major * 1000 + minor);
}

int engine_api_check(const char *body, char *why, size_t why_len)
{
	cJSON *j = cJSON_Parse(body ? body : "");
	const cJSON *api = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(j, "MinAPIVersion");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "Version");
	int want = api_num(ENGINE_API_VERSION), have = api_num(cJSON_GetStringValue(api));
	int low = cJSON_IsString(min) ? api_num(min->valuestring) : have;   /* absent: only its own */
	int rc = 0;
	if (have < 0 || low < 0) {
		snprintf(why, why_len, "GET /version gave no API version (%.80s)", body ? body : "");
		rc = -EINVAL;
	} else if (have < want || low > want) {
		snprintf(why, why_len, "engine %s serves API %s to %s; init's requests are written for API %s",
			 cJSON_IsString(ver) ? ver->valuestring : "(unknown)",
			 cJSON_IsString(min) ? min->valuestring : api->valuestring, api->valuestring, ENGINE_API_VERSION);
		rc = -EPROTO;
	} else {
		snprintf(why, why_len, "engine %s, API %s (init speaks %s)",
			 cJSON_IsString(ver) ? ver->valuestring : "(unknown)", api->valuestring, ENGINE_API_VERSION);
	}
	cJSON_Delete(j);
	return rc;
}
