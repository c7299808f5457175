/* The document's containers (onlydocker.onboot, .services, .compose): workloads.c runs them once
 * the engine is up; workload_spec.c makes their create bodies. */
#ifndef OD_WORKLOADS_H
#define OD_WORKLOADS_H
struct cJSON;

#define LABEL_ONBOOT "org.onlydocker.onboot"    /* value: the entry's name */
#define LABEL_SERVICE "org.onlydocker.service"  /* value: the service's name */
#define ONBOOT_PREFIX "onboot-"                 /* an onboot entry's container: onboot-NAME */
#define COMPOSE_NAME "onlydocker-compose"       /* the container that runs `docker compose up` */

enum workload_kind { WL_ONBOOT, WL_SERVICE };
/* The create body of an onboot entry or a service (cfg->doc's checked object e), with its hash
 * label; the hash into hash_out (9 bytes) if given. malloc'd. */
char *workload_json(enum workload_kind kind, const char *name, const struct cJSON *e, char *hash_out);
/* The create body of the container that brings the compose file up. malloc'd. */
char *workload_compose_json(const char *file, char *hash_out);

/* Registers for the engine's up and down (after the system containers: dom0 starts first).
 * onboot_over(ok) is called once per boot when the onboot list has ended: ok 0 when a required
 * entry failed, and then neither the services nor the compose file are brought up. */
void workloads_setup(void (*onboot_over)(int ok));
/* Whether an onboot entry is required: then the console (dom0) waits for the list. */
int workloads_gate(void);
#endif
