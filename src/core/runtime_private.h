/* runtime_private.h — the core's own view of the running switch. */
#ifndef SB_RUNTIME_PRIVATE_H
#define SB_RUNTIME_PRIVATE_H

#include "sipsbridge/sb_module.h"

/** Options from the command line that shape the runtime. */
typedef struct sb_options {
	sb_dirs_t dirs;
	int foreground;
	unsigned workers; /* 0 = one per core */
	int log_level;
} sb_options_t;

struct sb_runtime {
	apr_pool_t *pool;
	sb_dirs_t dirs;
	sb_loop_t *loop;
	apr_thread_rwlock_t *config_lock;
	apr_pool_t *config_pool; /* owns config; replaced on reload */
	sb_config_t *config;
	sb_vars_t *vars;
	apr_time_t started;
	struct sb_loaded_module *modules;
	unsigned modules_started;
};

/** Read the configuration for the first time; errors are logged. */
apr_status_t sb_runtime_load_config(sb_runtime_t *rt);
/** reloadxml: a bad new tree leaves the old one in service. */
apr_status_t sb_runtime_reload(sb_runtime_t *rt, char *why, apr_size_t len);

/** Load every module listed in modules.conf; count those that started. */
apr_status_t sb_modules_load(sb_runtime_t *rt);
void sb_modules_reload(sb_runtime_t *rt);
void sb_modules_shutdown(sb_runtime_t *rt);

/** status, reloadxml, shutdown, version, loglevel. */
apr_status_t sb_commands_core_register(sb_runtime_t *rt);
void sb_commands_core_unregister(void);

#endif
