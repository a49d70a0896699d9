/* sb_runtime.h — the running switch as a module sees it. */
#ifndef SB_RUNTIME_H
#define SB_RUNTIME_H

#include <apr_thread_rwlock.h>
#include "sb_config.h"
#include "sb_loop.h"

typedef struct sb_runtime sb_runtime_t;

const sb_dirs_t *sb_runtime_dirs(const sb_runtime_t *rt);
sb_loop_t *sb_runtime_loop(const sb_runtime_t *rt);
/**
 * The current configuration. Readers hold the config lock for reading
 * (reloadxml swaps the tree under the write lock).
 */
const sb_config_t *sb_runtime_config(const sb_runtime_t *rt);
void sb_runtime_config_rdlock(sb_runtime_t *rt);
void sb_runtime_config_unlock(sb_runtime_t *rt);
/** Long-lived pool of the runtime. */
apr_pool_t *sb_runtime_pool(const sb_runtime_t *rt);
/** Seconds since start. */
apr_time_t sb_runtime_started(const sb_runtime_t *rt);

#endif
