/* sip_target.h — where a message goes: a flow, or a UDP address. */
#ifndef SIPS_SIP_TARGET_H
#define SIPS_SIP_TARGET_H

#include <apr_network_io.h>
#include "flow.h"

struct sips_profile;

/**
 * The hop a message is sent to. Over TCP/TLS it is the flow (by id: a
 * closed flow makes sending fail with SB_EFLOWGONE, never a new
 * connection). Over UDP it is the profile's socket and a peer address.
 */
typedef struct sip_target {
	struct sips_profile *profile;
	sips_transport_e transport;
	apr_uint64_t flow_id;    /* stream transports */
	apr_sockaddr_t peer;     /* UDP destination / stream peer (copy) */
	char peer_ip[64];        /* text of peer's address */
	int peer_port;
} sip_target_t;

/** Send one serialised message; the buffer is copied before return. */
typedef apr_status_t (*sip_send_fn)(const sip_target_t *to, const char *buf,
				    apr_size_t len);

#endif
