/* directory.h — users of the <section name="directory"> (FreeSWITCH's). */
#ifndef SIPS_DIRECTORY_H
#define SIPS_DIRECTORY_H

#include <apr_tables.h>
#include "sipsbridge/sb_config.h"

typedef struct dir_user {
	const char *id;       /* "1000" */
	const char *domain;   /* the domain's name after pre-processing */
	const char *password; /* never logged */
	const char *dial_string;
	apr_table_t *vars; /* <variables>: the domain's, then the user's */
} dir_user_t;

typedef struct directory directory_t;

/**
 * Read every <domain><...><user id> of the directory section (users may
 * sit in <groups><group><users> or straight in <users>); params of the
 * domain are defaults for its users. Rebuilt whole on reloadxml.
 */
apr_status_t directory_load(directory_t **out, const sb_config_t *cfg,
			    apr_pool_t *pool);

/**
 * The user @p id of @p domain; when the directory has one domain only,
 * any @p domain finds it (phones often register to an IP address).
 */
const dir_user_t *directory_find(const directory_t *dir, const char *id,
				 const char *domain);

apr_size_t directory_count(const directory_t *dir);

#endif
