/* sb_expand.h — run-time ${name} expansion over channel variables. */
#ifndef SB_EXPAND_H
#define SB_EXPAND_H

#include <apr_tables.h>
#include "sb_types.h"

/*
 * Channel variables are an apr_table_t (ordered, case-insensitive names,
 * as FreeSWITCH's are) in the session's pool.  "${name}" expands to the
 * variable's value or to "" when unset; "${fn(arg)}" calls a registered
 * function with its argument already expanded; "$${name}" is left alone
 * (it belonged to the pre-processor).  Braces nest:
 * "${regex(${sip_contact}|transfer=tls)}".  "\$" is a literal "$".
 */

/** A function usable in expansions: ${name(arg)}.  @p result is
 * allocated from @p pool; return an error for a bad argument. */
typedef apr_status_t (*sb_expand_fn)(void *baton, const char *arg,
				     const apr_table_t *vars,
				     apr_pool_t *pool, const char **result);

/** Process-wide registry; a later registration of a name replaces an
 * earlier one.  Safe from any thread. */
apr_status_t sb_expand_function_register(const char *name, sb_expand_fn fn,
					 void *baton);
void sb_expand_function_unregister(const char *name);

/** Expands @p in into @p *out (from @p pool).  SB_EMALFORMED on an unclosed
 * "${", an unknown function, a function error, nesting deeper than 8 or
 * a result over 64 KiB; then @p *out holds @p in unchanged. */
apr_status_t sb_expand(const apr_table_t *vars, const char *in,
		       apr_pool_t *pool, const char **out);

/** Whether @p s contains anything sb_expand would change. */
int sb_expand_needed(const char *s);

#endif
