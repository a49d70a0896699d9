/* call_mux.h — rtcp-mux (RFC 5761 5.1) negotiated on each leg alone. */
#ifndef SIPS_CALL_MUX_H
#define SIPS_CALL_MUX_H

#include "sdp.h"

/** Whether an offer's media asks for RTCP on the RTP port. */
int call_mux_offered(const sdp_media_t *offer);

/**
 * Whether RTCP goes to the RTP port of a peer that answered @p answer:
 * only when our offer had a=rtcp-mux (@p offered) and the answer kept it
 * (RFC 5761 5.1.1); an answer that adds it on its own is not heard.
 */
int call_mux_agreed(int offered, const sdp_media_t *answer);

/**
 * Our media line to a leg: the peer's a=rtcp and a=rtcp-mux go, and
 * a=rtcp-mux comes back when @p mux.  An offer that asks for mux keeps
 * a=rtcp with our own RTCP port (m->port + 1, which the relay listens
 * on), so an answerer that does not mux still knows where RTCP goes.
 */
void call_mux_decorate(apr_pool_t *pool, sdp_media_t *m, int mux, int offer);

#endif
