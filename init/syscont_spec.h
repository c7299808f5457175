/* The system containers' descriptions (syscont_spec.c), shared by their state machine (syscont.c). */
#ifndef OD_SYSCONT_SPEC_H
#define OD_SYSCONT_SPEC_H
#define LABEL_SYSTEM "org.onlydocker.system"
#define LABEL_CONFIG "org.onlydocker.config"
#define SYSCONT_N 3
struct cJSON;

struct sysc_spec {
	const char *name, *label;               /* the container's name, its LABEL_SYSTEM value */
	const char *image;                      /* the reference it runs: an upgrade retags it */
	const char *bundle;                     /* the archive of the bundled image */
	const char *bundle_ref, *bundle_id;     /* the reference whose ID tells whether the bundle is loaded */
	const char *const *caps, *const *binds, *const *env;    /* NULL-terminated */
	const char *const *entrypoint;          /* NULL-terminated; NULL: the image's */
	void (*more_env)(struct cJSON *env);    /* optional: what the configuration adds to env */
	int console_env;                        /* CONSOLE=the console's tty, or none when the debug shell has it */
	int privileged, oom_score_adj;          /* oom_score_adj 0: the engine's default */
	const char *pid_mode, *ipc_mode, *uts_mode;
	const char *after;                      /* its start waits while this one's is on its way */
	const char *rollback_repo, *rollback_tag;       /* retagged to image after ROLLBACK_AFTER quick exits */
	int prepare;                            /* made at shutdown for the next boot, reused if unchanged */
	int stop_last;                          /* stopped after every other container (the network) */
	int (*wanted)(void);
	void (*started)(void);                  /* optional: once it runs */
};

extern const struct sysc_spec syscont_specs[SYSCONT_N];
/* The create body (malloc'd JSON) with a hash of it as a label, into hash_out (9 bytes) if given:
 * a container made earlier is kept or started only if it is what would be made now. */
char *syscont_json(const struct sysc_spec *sp, char *hash_out);
/* c printed, after a hash of it (printed without the label) was added to labels as LABEL_CONFIG,
 * and copied into hash_out (9 bytes) if given. */
char *spec_hash_label(struct cJSON *c, struct cJSON *labels, char *hash_out);
/* An inspect body: its Id (NULL if none), whether it runs or was only created, and whether its
 * config label is what would be made now. Returns the parsed body for the caller to delete. */
struct cJSON *syscont_inspected(const struct sysc_spec *sp, int status, const char *body, const char **id,
				int *running, int *created, int *same);
#endif
