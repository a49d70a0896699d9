/* registrar.h — REGISTER: digest auth, bindings on their flows. */
#ifndef SIPS_REGISTRAR_H
#define SIPS_REGISTRAR_H

#include "directory.h"
#include "endpoint.h"

/** Open the binding store under @p db_dir and restore its bindings. */
apr_status_t registrar_init(const char *db_dir, apr_pool_t *pool);
void registrar_shutdown(void);

/** Use @p dir for passwords from now on (start and reloadxml). */
void registrar_set_directory(directory_t *dir, apr_pool_t *dir_pool);

/** Handle a REGISTER (a new server transaction). */
void registrar_register(sips_profile_t *p, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from);

/**
 * Digest-authenticate a call (INVITE) from a directory user, the user
 * named in From (407 with Proxy-Authenticate, as for REGISTER otherwise:
 * failures counted, 403 after auth-max-failures).  0 with @p *user and
 * @p *realm (from @p pool) when good; else the response has been sent.
 */
int registrar_authorize_call(sips_profile_t *p, txn_server_t *txn,
			     const sip_msg_t *req, const sip_target_t *from,
			     apr_pool_t *pool, const char **user,
			     const char **realm);

/** Look a user up (for dial strings): a copy in @p pool without the
 * password; NULL when unknown. */
const dir_user_t *registrar_user(const char *id, const char *domain,
				 apr_pool_t *pool);

#endif
