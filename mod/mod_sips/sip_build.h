/* sip_build.h — building SIP messages: responses, requests, serialising. */
#ifndef SIPS_SIP_BUILD_H
#define SIPS_SIP_BUILD_H

#include "sip_msg.h"

/**
 * A message under construction: a start line, an ordered list of header
 * fields (name, value) and a body, all in @p pool. Serialising writes
 * one contiguous buffer with a correct Content-Length.
 */
typedef struct sip_build_hdr {
	const char *name;
	const char *value;
	struct sip_build_hdr *next;
} sip_build_hdr_t;

typedef struct sip_build {
	apr_pool_t *pool;
	const char *start_line; /* without CRLF */
	sip_build_hdr_t *first, *last;
	const char *body;
	apr_size_t body_len;
} sip_build_t;

/** What RFC 3581 asks to add to the top Via of a response over UDP. */
typedef struct sip_build_via_fix {
	const char *received; /* source IP, or NULL to leave as is */
	int rport;            /* source port for ";rport=", 0 for none */
} sip_build_via_fix_t;

/**
 * A response to @p req (RFC 3261 8.2.6): every Via in order (the top
 * one fixed by @p fix when not NULL, which adds received= when the IP
 * differs from sent-by and rport=PORT when the request had bare rport),
 * From, To (with @p to_tag added when To has no tag and status > 100;
 * NULL means generate one), Call-ID, CSeq. Reason NULL: the standard
 * phrase of @p status.
 */
apr_status_t sip_build_response(sip_build_t *b, apr_pool_t *pool,
				const sip_msg_t *req, int status,
				const char *reason, const char *to_tag,
				const sip_build_via_fix_t *fix);

/** A request: "METHOD RURI SIP/2.0"; headers are added by the caller. */
void sip_build_request(sip_build_t *b, apr_pool_t *pool, const char *method,
		       const char *ruri);

/** Append a header field (values copied into the pool). */
void sip_build_add(sip_build_t *b, const char *name, const char *value);
void sip_build_addf(sip_build_t *b, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Prepend (e.g. a new top Via). */
void sip_build_prepend(sip_build_t *b, const char *name, const char *value);
/** Remove every field named @p name (case-insensitive, compact forms
 *  matched too); returns how many went. */
apr_size_t sip_build_remove(sip_build_t *b, const char *name);
/** First value of @p name, or NULL. */
const char *sip_build_get(const sip_build_t *b, const char *name);

/** Set the body and its Content-Type (NULL type: no Content-Type). */
void sip_build_body(sip_build_t *b, const char *content_type,
		    const char *body, apr_size_t len);

/**
 * One buffer: start line, headers, Content-Length (always written,
 * replacing any added by hand), CRLF, body. In the builder's pool.
 */
apr_status_t sip_build_serialize(const sip_build_t *b, char **out,
				 apr_size_t *len);

/**
 * The ACK for a non-2xx final response to an INVITE (RFC 3261
 * 17.1.1.3): Request-URI, top Via, Route, From, Call-ID and CSeq number
 * of @p invite, To of @p resp, CSeq method ACK.
 */
apr_status_t sip_build_ack_non2xx(sip_build_t *b, apr_pool_t *pool,
				  const sip_msg_t *invite,
				  const sip_msg_t *resp);

/** A CANCEL for @p invite (RFC 3261 9.1). */
apr_status_t sip_build_cancel(sip_build_t *b, apr_pool_t *pool,
			      const sip_msg_t *invite);

/** Standard reason phrase of a status code ("Not Found"). */
const char *sip_build_reason(int status);

/** "z9hG4bK" + 22 random characters (RFC 3261 8.1.1.7). */
const char *sip_build_branch(apr_pool_t *pool);
/** A random tag / Call-ID part of @p len characters. */
const char *sip_build_random(apr_pool_t *pool, apr_size_t len);

#endif
