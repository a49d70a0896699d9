/* sdp.h — an SDP session description (RFC 8866): parse, edit, print. */
#ifndef SIPS_SDP_H
#define SIPS_SDP_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_network_io.h>
#include "sipsbridge/sb_types.h"

/*
 * The B2BUA reads each leg's offer or answer, rewrites what is its own
 * business (connection addresses, ports, a=crypto, a=rtcp) and passes
 * everything else, codecs above all, through unchanged. So the model
 * keeps every line: the fields the switch edits are broken out, the
 * rest (b=, t=, r=, z=, i=, k=, unknown types) stays verbatim in order.
 *
 * sdp_parse() copies the body once into the pool and cuts it in place:
 * every string below is NUL-terminated and points into that copy or
 * into strings a caller put there. Editing is plain assignment of
 * strings that live at least as long as the session; no string may
 * hold CR or LF, and a media section needs at least one format, or
 * sdp_print() writes what sdp_parse() refuses.
 *
 * sdp_print() writes the canonical order of RFC 8866 section 5,
 *   session: v o s (i u e p) c b (t r) z k (other types) a, then media
 *   media:   m i c b k (other types) a
 * with lines of one type in the order they were read, and CRLF ends.
 */

/** Biggest body sdp_parse() accepts (a SIP message's own cap). */
#define SDP_MAX_LEN 65536
/** Most m= lines in one description. */
#define SDP_MAX_MEDIA 256
/** Most a= lines in one description, session and media together. */
#define SDP_MAX_ATTRS 1024

/** One a= line: "a=rtpmap:0 PCMU/8000" is {"rtpmap", "0 PCMU/8000"}. */
typedef struct sdp_attr {
	const char *name;
	const char *value; /**< NULL for a flag like a=rtcp-mux */
} sdp_attr_t;

/** A line kept as written: "b=AS:64" is {'b', "AS:64"}. */
typedef struct sdp_line {
	char type;
	const char *value; /**< everything after "x=", may be empty */
} sdp_line_t;

/** c= (RFC 8866 5.7): "c=IN IP4 203.0.113.1". */
typedef struct sdp_conn {
	const char *nettype;  /**< "IN" */
	const char *addrtype; /**< "IP4", "IP6" */
	const char *addr;     /**< address or name, no multicast suffix */
	const char *mcast;    /**< "127/3" of "224.2.1.1/127/3", or NULL */
} sdp_conn_t;

/** o= (RFC 8866 5.2). */
typedef struct sdp_origin {
	const char *username; /**< "-" when the peer has none */
	apr_uint64_t sess_id;
	apr_uint64_t sess_version;
	const char *nettype;
	const char *addrtype;
	const char *addr; /**< as written, not checked: nothing routes on it */
} sdp_origin_t;

/** One media description, from its m= line to the next. */
typedef struct sdp_media {
	const char *type;  /**< "audio", "video", "application", ... */
	apr_port_t port;   /**< 0: the stream is rejected or disabled */
	unsigned nports;   /**< "/2" after the port; 1 when not written */
	const char *proto; /**< "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF" */
	apr_array_header_t *fmts;  /**< const char *, as written, at least 1 */
	sdp_conn_t *conn;	   /**< media-level c=, or NULL */
	apr_array_header_t *lines; /**< sdp_line_t: i=, b=, k=, unknown */
	apr_array_header_t *attrs; /**< sdp_attr_t, in original order */
} sdp_media_t;

/** A whole description. */
typedef struct sdp_session {
	unsigned version; /**< v=, always 0 */
	sdp_origin_t origin;
	const char *name; /**< s= (may be empty, though it should not) */
	sdp_conn_t *conn; /**< session-level c=, or NULL */
	apr_array_header_t *lines; /**< sdp_line_t: i u e p b t r z k, other */
	apr_array_header_t *attrs; /**< sdp_attr_t, session level */
	apr_array_header_t *media; /**< sdp_media_t *, in order */
} sdp_session_t;

/** Direction attributes of RFC 8866 6.7 (RFC 3264 for hold). */
typedef enum {
	SDP_SENDRECV = 0,
	SDP_SENDONLY,
	SDP_RECVONLY,
	SDP_INACTIVE
} sdp_dir_e;

/*
 * sdp.c — parsing and reading helpers.
 */

/**
 * Parse a description of @p len bytes (not NUL-terminated) into a new
 * session allocated in @p pool. Lines end in LF or CRLF; the last one
 * may have no end, and empty lines are allowed only at the very end.
 * Lines of types the parser does not know are kept (RFC 8866 5 lets a
 * parser ignore or reject them; a B2BUA should pass them on).
 *
 * Rejected, with SB_EMALFORMED: a first line other than "v=0"; a line
 * not of the form "x=..."; a NUL byte or a lone CR; a missing or second
 * o= or s=; a second c= in one section; no t= line; an r= before any
 * t=; a session-only type (v o s u e p t r z) inside a media section; a
 * bad o=, c= or m= line (fields, tokens, an IP4/IP6 address that is not
 * one, a port over 65535, no format); an a= line without a name.
 * With SB_ETOOBIG: @p len over SDP_MAX_LEN, more than SDP_MAX_MEDIA m=
 * lines or more than SDP_MAX_ATTRS a= lines.
 *
 * @p why (may be NULL) gets, on failure, a text in @p pool naming the
 * line and the problem, e.g. "line 6: bad m= line: port 70000 is over
 * 65535". @p out is written only on success.
 */
apr_status_t sdp_parse(const char *buf, apr_size_t len, apr_pool_t *pool,
		       sdp_session_t **out, const char **why);

/** First a= line named @p name (case-insensitive), or NULL. */
const sdp_attr_t *sdp_attr_find(const apr_array_header_t *attrs,
				const char *name);

/**
 * Value of the first a= line named @p name: "" for a flag, NULL when
 * there is none (sdp_attr_find() tells "a=x" from "a=x:").
 */
const char *sdp_attr_get(const apr_array_header_t *attrs, const char *name);

/**
 * Direction of @p m: its own direction attribute, else the session's,
 * else sendrecv (RFC 8866 6.7). The first one written at a level wins.
 */
sdp_dir_e sdp_media_direction(const sdp_session_t *s, const sdp_media_t *m);

/** The attribute name of @p dir, "sendrecv" ... "inactive". */
const char *sdp_dir_name(sdp_dir_e dir);

/**
 * RTCP port and address of a=rtcp (RFC 3605): "a=rtcp:53021" gives the
 * port and @p *addr NULL, "a=rtcp:53021 IN IP4 192.0.2.9" the address
 * too (a pointer into the attribute). @p addr may be NULL.
 * @return SB_ENOTFOUND without a=rtcp, SB_EMALFORMED when it is bad.
 */
apr_status_t sdp_media_rtcp(const sdp_media_t *m, apr_port_t *port,
			    const char **addr);

/** Whether @p m has a=rtcp-mux (RFC 5761). */
int sdp_media_rtcp_mux(const sdp_media_t *m);

/** c= that applies to @p m: its own, else the session's; or NULL. */
const sdp_conn_t *sdp_media_addr(const sdp_session_t *s, const sdp_media_t *m);

/**
 * Whether @p m is put on hold: its address is 0.0.0.0 (RFC 2543 style,
 * RFC 3264 8.4) and no a=ice-ufrag makes that a trickle ICE placeholder,
 * or its direction is sendonly or inactive. With @p m NULL:
 * whether every media with a non-zero port is on hold (false when no
 * media is active).
 */
int sdp_is_hold(const sdp_session_t *s, const sdp_media_t *m);

/*
 * sdp_print.c — writing, copying and editing.
 */

/**
 * The description as text in @p pool, CRLF line ends, canonical order
 * (see above); NUL-terminated, its length in @p *len (may be NULL).
 */
char *sdp_print(const sdp_session_t *s, apr_pool_t *pool, apr_size_t *len);

/** Deep copy in @p pool, so one leg edits its own description. */
sdp_session_t *sdp_session_copy(apr_pool_t *pool, const sdp_session_t *src);

/** Drop every a= line named @p name; returns how many went. */
int sdp_attr_remove(apr_array_header_t *attrs, const char *name);

/**
 * Append a=@p name[:@p value] (copies of both, in @p pool); @p value
 * NULL makes a flag. Not counted against SDP_MAX_ATTRS.
 */
void sdp_attr_add(apr_pool_t *pool, apr_array_header_t *attrs, const char *name,
		  const char *value);

/**
 * Point @p *conn at a new c= in @p pool for @p addr: "IN", "IP6" when
 * @p addr holds a colon, else "IP4", no multicast suffix.
 */
void sdp_conn_set(apr_pool_t *pool, sdp_conn_t **conn, const char *addr);

#endif
