/* reg_uac.h — requests the switch starts toward a registered contact. */
#ifndef SIPS_REG_UAC_H
#define SIPS_REG_UAC_H

#include "sipsbridge/sb_control.h"
#include "reg_index.h"
#include "profile.h"

/** What came of a request to a binding (final status, or why not). */
typedef void (*reg_uac_fn)(void *baton, int status, const char *reason);

/**
 * Send @p method to the binding @p v over the flow it registered on
 * (UDP: to its source address and port). When that flow is gone,
 * nothing connects back to the phone (FS-3877): the
 * binding is marked unreachable, the request fails with 480 through
 * @p fn, and the function returns SB_EFLOWGONE. @p extra holds header
 * pairs (name, value, ..., NULL). Callable from any thread.
 */
apr_status_t reg_uac_send(sips_profile_t *p, const reg_view_t *v,
			  const char *method, const char *const *extra,
			  const char *content_type, const char *body,
			  reg_uac_fn fn, void *baton);

/**
 * Send @p method to every binding of @p aor and wait for the outcomes;
 * one line per binding goes to @p out. For control commands only.
 */
apr_status_t reg_uac_to_aor(sips_profile_t *p, const char *aor,
			    const char *method, const char *const *extra,
			    const char *content_type, const char *body,
			    sb_stream_t *out);

#endif
