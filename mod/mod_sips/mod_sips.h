/* mod_sips.h — the module's state shared by its commands. */
#ifndef MOD_SIPS_H
#define MOD_SIPS_H

#include "profile.h"

typedef struct mod_sips {
	sb_runtime_t *rt;
	apr_pool_t *pool;
	apr_thread_mutex_t *lock; /* guards the profile list */
	sips_profile_t *profiles;
} mod_sips_t;

/** Build and start the profile called @p name from the current config. */
apr_status_t mod_sips_profile_from_config(mod_sips_t *m, const char *name,
					  sips_profile_t **out);

/** A running profile by name (for dial strings), or NULL. */
sips_profile_t *mod_sips_profile_find(const char *name);

apr_status_t sips_commands_register(mod_sips_t *m);
void sips_commands_unregister(void);

#endif
