/* call_failover.h — a B leg's INVITE through the places its URI leads
 * to, the next one when one fails (RFC 3263 4.3). */
#ifndef SIPS_CALL_FAILOVER_H
#define SIPS_CALL_FAILOVER_H

#include "call.h"
#include "sip_resolve.h"

/*
 * A B leg's way through the places its URI leads to, and its INVITE
 * transaction's baton; in the leg's pool.  A leg to a registered phone
 * has no dest: one place, no fail-over.
 */
typedef struct attempt {
	call_leg_t *b;
	sip_dest_t *dest;
	int cur;	   /* the candidate the INVITE went to */
	const char *tried; /* "target ip:port (why); ..." for the logs */
} attempt_t;

/* call_failover.c */
attempt_t *call_failover_attempt(call_leg_t *b, sip_dest_t *dest);
/** Send the INVITE to the current candidate, or to the next ones while
 * the connection or the send fails at once; SB_ECONFIG (488: SRTP
 * policy) stops the search; so does success. */
apr_status_t call_failover_try(attempt_t *at, call_leg_t *a);
/** 1 when the INVITE's failure (@p resp, @p status) sends it to the
 * next candidate: a transport failure, a timeout without a response,
 * or a 503, while nothing else has happened to the leg. */
int call_failover_may(const attempt_t *at, const sip_msg_t *resp,
		      int status);
/** The INVITE to the current candidate failed with @p status: the next
 * ones are tried; APR_SUCCESS when one took the INVITE (*final becomes
 * 488 when the SRTP policy stopped the search). */
apr_status_t call_failover_next(attempt_t *at, const sip_msg_t *resp,
				int status, int *final);

/* call_out.c, for call_failover.c */
/** The B leg's hop becomes candidate @p c of @p dest. */
apr_status_t call_out_target_dest(call_leg_t *b, const sip_dest_t *dest,
				  const sip_cand_t *c);
/** Its INVITE to that hop, with @p at as the transaction's baton. */
apr_status_t call_out_start_invite(call_leg_t *b, call_leg_t *a,
				   attempt_t *at);

#endif
