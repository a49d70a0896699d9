/* call_mux.c — rtcp-mux (RFC 5761 5.1) negotiated on each leg alone: the
 * relay muxes toward a leg only when that leg's offer/answer agreed. */
#include <apr_strings.h>
#include "call_mux.h"

int call_mux_offered(const sdp_media_t *offer)
{
	return offer && sdp_media_rtcp_mux(offer);
}

int call_mux_agreed(int offered, const sdp_media_t *answer)
{
	return offered && answer && sdp_media_rtcp_mux(answer);
}

void call_mux_decorate(apr_pool_t *pool, sdp_media_t *m, int mux, int offer)
{
	sdp_attr_remove(m->attrs, "rtcp");
	sdp_attr_remove(m->attrs, "rtcp-mux");
	if (!mux || !m->port)
		return;
	/* RFC 5761 5.1.3: the fallback port, for an answer without mux.
	 * An answer that muxes needs none: RTCP is on the RTP port. */
	if (offer && m->port < 65535)
		sdp_attr_add(pool, m->attrs, "rtcp",
			     apr_psprintf(pool, "%u", (unsigned)m->port + 1));
	sdp_attr_add(pool, m->attrs, "rtcp-mux", NULL);
}
