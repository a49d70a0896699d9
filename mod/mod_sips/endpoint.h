/* endpoint.h — what the switch does with a SIP message it received. */
#ifndef SIPS_ENDPOINT_H
#define SIPS_ENDPOINT_H

#include "profile.h"
#include "sip_target.h"
#include "txn.h"

/** One transaction table per worker; call once the loop runs. */
apr_status_t endpoint_init(sb_loop_t *loop, apr_pool_t *pool);
void endpoint_shutdown(void);

/** The calling worker's transaction table. */
txn_table_t *endpoint_txn_table(void);
/** Flow @p flow_id closed: pending client transactions on it fail (503)
 * on every worker. */
void endpoint_flow_closed(apr_uint64_t flow_id);
/** Profile @p p is stopped and about to go: on every worker, what was
 * handed over for it runs first, then its transactions end (see
 * txn_table_profile_gone).  Not from a worker thread. */
void endpoint_profile_gone(sips_profile_t *p);

/**
 * Handle one whole message (a datagram, or one framed off a stream)
 * that came from @p from on profile @p p. Runs on the worker that owns
 * the socket; @p buf is only valid during the call.
 */
void endpoint_receive(sips_profile_t *p, const char *buf, apr_size_t len,
		      const sip_target_t *from);

/**
 * Answer @p req with @p status (reason NULL: the standard phrase) and
 * the header pairs of @p extra (name, value, ..., NULL), through @p txn
 * (or straight to @p from when NULL).
 */
void endpoint_respond(txn_server_t *txn, const sip_msg_t *req,
		      const sip_target_t *from, int status, const char *reason,
		      const char *const *extra);

/** The transport send function: UDP datagram or the flow's queue. */
apr_status_t endpoint_send(const sip_target_t *to, const char *buf,
			   apr_size_t len);

#endif
