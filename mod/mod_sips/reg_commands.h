/* reg_commands.h — registrar commands and the binding sweep. */
#ifndef SIPS_REG_COMMANDS_H
#define SIPS_REG_COMMANDS_H

#include "sipsbridge/sb_control.h"
#include "mod_sips.h"

/** `show registrations`, `sips flush_inbound_reg`. */
apr_status_t reg_commands_register(mod_sips_t *m);
void reg_commands_unregister(void);

/** The bindings of one profile (NULL: all), one line each. */
void reg_commands_list(sb_stream_t *out, const char *profile,
		       apr_pool_t *pool);

/**
 * `sips profile NAME check_sync|notify|options user@domain`: a request
 * to every binding of the user over its own flow.
 */
apr_status_t reg_commands_profile_verb(sips_profile_t *p, const char *verb,
				       const char *aor, sb_stream_t *out);

/** Expire bindings every second; OPTIONS pings where the profile asks. */
void reg_sweep_start(mod_sips_t *m);
void reg_sweep_stop(mod_sips_t *m);

#endif
