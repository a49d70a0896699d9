/* sip_msg.h — a SIP message parsed in place: slices, headers, URIs. */
#ifndef SIPS_SIP_MSG_H
#define SIPS_SIP_MSG_H

#include <string.h>
#include <strings.h>
#include <apr_time.h>
#include "sipsbridge/sb_types.h"

/*
 * STYLE.md rule 6: a message lives in one contiguous buffer that the
 * caller keeps alive; everything below is a (ptr, len) slice into it.
 * Nothing here allocates. Header values keep their line folds: every
 * parser treats CR and LF inside a value as white space, which is only
 * sound because sip_parse_msg() admits a CRLF there only before SP/HT.
 */

/** A slice of the message buffer; never NUL-terminated. */
typedef struct {
	const char *ptr;
	apr_size_t len;
} sip_str_t;

/** Caps applied by the framer and the parser. */
typedef struct {
	apr_size_t max_msg_size; /**< whole message, headers + body */
	apr_size_t max_headers;	 /**< header fields (lines, not values) */
} sip_limits_t;

#define SIP_DEFAULT_MAX_MSG_SIZE 65536
#define SIP_DEFAULT_MAX_HEADERS 100
/** Room in sip_msg_t; max_headers above this is clamped to it. */
#define SIP_MSG_MAX_HEADERS 128

/** Request methods; SIP_METHOD_OTHER keeps its name in a slice. */
typedef enum {
	SIP_METHOD_OTHER = 0,
	SIP_METHOD_INVITE,
	SIP_METHOD_ACK,
	SIP_METHOD_BYE,
	SIP_METHOD_CANCEL,
	SIP_METHOD_OPTIONS,
	SIP_METHOD_REGISTER,
	SIP_METHOD_SUBSCRIBE,
	SIP_METHOD_NOTIFY,
	SIP_METHOD_INFO,
	SIP_METHOD_UPDATE,
	SIP_METHOD_PRACK,
	SIP_METHOD_REFER,
	SIP_METHOD_MESSAGE,
	SIP_METHOD_PUBLISH
} sip_method_e;

/** Headers known by name or compact form (RFC 3261 7.3.3 and later). */
typedef enum {
	SIP_HDR_OTHER = 0,
	SIP_HDR_ACCEPT,
	SIP_HDR_ACCEPT_CONTACT, /* a */
	SIP_HDR_ACCEPT_ENCODING,
	SIP_HDR_ACCEPT_LANGUAGE,
	SIP_HDR_ALERT_INFO,
	SIP_HDR_ALLOW,
	SIP_HDR_ALLOW_EVENTS, /* u */
	SIP_HDR_AUTHENTICATION_INFO,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_CALL_ID, /* i */
	SIP_HDR_CALL_INFO,
	SIP_HDR_CONTACT, /* m */
	SIP_HDR_CONTENT_DISPOSITION,
	SIP_HDR_CONTENT_ENCODING, /* e */
	SIP_HDR_CONTENT_LANGUAGE,
	SIP_HDR_CONTENT_LENGTH, /* l */
	SIP_HDR_CONTENT_TYPE,	/* c */
	SIP_HDR_CSEQ,
	SIP_HDR_DATE,
	SIP_HDR_ERROR_INFO,
	SIP_HDR_EVENT, /* o */
	SIP_HDR_EXPIRES,
	SIP_HDR_FROM,	       /* f */
	SIP_HDR_IDENTITY,      /* y */
	SIP_HDR_IDENTITY_INFO, /* n */
	SIP_HDR_IN_REPLY_TO,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_MIME_VERSION,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_ORGANIZATION,
	SIP_HDR_PATH,
	SIP_HDR_PRIORITY,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_RACK,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_REFER_TO,	/* r */
	SIP_HDR_REFERRED_BY,	/* b */
	SIP_HDR_REJECT_CONTACT, /* j */
	SIP_HDR_REPLY_TO,
	SIP_HDR_REQUEST_DISPOSITION, /* d */
	SIP_HDR_REQUIRE,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_ROUTE,
	SIP_HDR_RSEQ,
	SIP_HDR_SERVER,
	SIP_HDR_SESSION_EXPIRES, /* x */
	SIP_HDR_SUBJECT,	 /* s */
	SIP_HDR_SUBSCRIPTION_STATE,
	SIP_HDR_SUPPORTED, /* k */
	SIP_HDR_TIMESTAMP,
	SIP_HDR_TO, /* t */
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_USER_AGENT,
	SIP_HDR_VIA, /* v */
	SIP_HDR_WARNING,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_COUNT
} sip_hdr_id_e;

/** One header field line (folds included), name as written. */
typedef struct {
	sip_hdr_id_e id;
	sip_str_t name;
	sip_str_t value; /**< without surrounding white space; may be empty */
} sip_hdr_t;

typedef enum {
	SIP_URI_SIP = 0,
	SIP_URI_SIPS,
	SIP_URI_TEL,
	SIP_URI_OTHER /**< absoluteURI of another scheme, kept opaque */
} sip_uri_scheme_e;

typedef enum {
	SIP_HOST_NONE = 0,
	SIP_HOST_NAME,
	SIP_HOST_IPV4,
	SIP_HOST_IPV6 /**< slice keeps its brackets */
} sip_host_type_e;

/** A URI; escapes are validated but left as written. */
typedef struct {
	sip_uri_scheme_e scheme;
	sip_str_t scheme_name;
	sip_str_t user; /**< SIP user part, or the TEL number */
	sip_str_t password;
	int has_password; /**< "user:" with an empty password counts */
	sip_str_t host;
	sip_host_type_e host_type;
	int port;	   /**< -1 when absent */
	sip_str_t params;  /**< after the first ';', without it */
	sip_str_t headers; /**< after '?', without it */
	sip_str_t opaque;  /**< SIP_URI_OTHER: everything after ':' */
	/* Well-known uri-parameters (RFC 3261 19.1.1), found on parsing. */
	sip_str_t transport;
	sip_str_t maddr;
	sip_str_t user_param;
	sip_str_t method;
	int ttl; /**< -1 when absent */
	int lr;
} sip_uri_t;

/** What went wrong; one table maps each kind to a SIP status. */
typedef enum {
	SIP_PERR_NONE = 0,
	SIP_PERR_START_LINE,   /**< not Method SP URI SP Version / status */
	SIP_PERR_REQUEST_URI,  /**< Request-URI does not parse */
	SIP_PERR_VERSION,      /**< SIP-Version other than SIP/2.0: 505 */
	SIP_PERR_STATUS_CODE,  /**< status code outside 100-699 */
	SIP_PERR_HEADER_LINE,  /**< no colon, bad name, stray CR/LF */
	SIP_PERR_HEADER_VALUE, /**< a header checked while parsing is bad */
	SIP_PERR_DUPLICATE,    /**< a single-valued header appears twice */
	SIP_PERR_MISSING,      /**< a mandatory header is absent */
	SIP_PERR_CSEQ_METHOD,  /**< CSeq method differs from the request's */
	SIP_PERR_BODY_LENGTH,  /**< Content-Length beyond the datagram */
	SIP_PERR_TOO_BIG,      /**< over max_msg_size: 513 */
	SIP_PERR_TOO_MANY_HEADERS,
	SIP_PERR_COUNT
} sip_perr_e;

/** Where and why a parse failed (STYLE.md rule 3). */
typedef struct {
	sip_perr_e kind;
	sip_hdr_id_e hdr;  /**< header at fault, SIP_HDR_OTHER if unknown */
	sip_str_t name;	   /**< its name as written; empty for start line */
	apr_size_t offset; /**< byte offset in the buffer */
} sip_parse_error_t;

/** A parsed message: start line, header table, body — all slices. */
typedef struct {
	const char *buf;
	apr_size_t len; /**< bytes that belong to the message */
	int is_request;
	/* Request line. */
	sip_method_e method;
	sip_str_t method_name;
	sip_str_t ruri_str;
	sip_uri_t ruri;
	/* Status line. */
	int status;
	sip_str_t reason;
	/* Checked while parsing (the transaction layer needs them). */
	apr_uint32_t cseq;
	sip_method_e cseq_method;
	sip_str_t cseq_method_name;
	sip_str_t call_id;
	apr_size_t content_length;
	int has_content_length;
	sip_str_t body;
	apr_size_t nhdrs;
	sip_hdr_t hdrs[SIP_MSG_MAX_HEADERS];
} sip_msg_t;

/*
 * sip_parse.c — framing, start line, header split, lexical helpers.
 */

/** Fill @p lim with the defaults above. */
void sip_parse_limits_default(sip_limits_t *lim);

/**
 * Frame one message at the head of a stream buffer (RFC 3261 18.3).
 * When @p buf starts with CRLFs (RFC 5626 keepalives) it succeeds with
 * @p *skipped set to their byte count and @p *msg_len 0: the caller
 * drops them, answers a double CRLF with CRLF, and calls again.
 * Otherwise @p *skipped is 0 and @p *msg_len the message's length.
 * @return SB_EINCOMPLETE (read more), SB_ETOOBIG (over a limit),
 *         SB_EMALFORMED (no or bad Content-Length: close the stream).
 * @p lim may be NULL for the defaults.
 */
apr_status_t sip_parse_frame(const char *buf, apr_size_t len,
			     const sip_limits_t *lim, apr_size_t *skipped,
			     apr_size_t *msg_len);

/**
 * Parse one whole message (a datagram, or what sip_parse_frame framed)
 * into @p msg without copying. Bytes past Content-Length are ignored
 * (RFC 3261 18.3). @p err (may be NULL) names the failure; @p msg is
 * then unspecified. Beyond the grammar it checks what the transaction
 * layer relies on: Via, From, To, Call-ID and CSeq present, CSeq and
 * Call-ID well formed, the CSeq method that of the request, no second
 * From, To, Call-ID, CSeq, Max-Forwards or Content-Length, and the
 * body within the buffer. A header block that runs to the end of the
 * buffer without its empty line is taken as bodiless (RFC 4475 baddn).
 * @return SB_EMALFORMED or SB_ETOOBIG on failure.
 */
apr_status_t sip_parse_msg(sip_msg_t *msg, const char *buf, apr_size_t len,
			   const sip_limits_t *lim, sip_parse_error_t *err);

/**
 * The status code to answer a request that failed with @p err: 400,
 * 505 for the version, 513 for size. A bad response is dropped.
 */
int sip_parse_error_status(const sip_parse_error_t *err);

/**
 * A Reason-Phrase for that answer, e.g. "Bad Header: CSeq", written
 * into @p buf (only token characters from the message are copied).
 */
const char *sip_parse_error_reason(const sip_parse_error_t *err, char *buf,
				   apr_size_t len);

/** Method from its name (case-sensitive, RFC 3261 7.1). */
sip_method_e sip_parse_method(const char *p, apr_size_t len);

/** Header id from a name or compact form (case-insensitive). */
sip_hdr_id_e sip_parse_hdr_id(const char *p, apr_size_t len);

/** Canonical name of a known header ("Call-ID"), NULL for OTHER. */
const char *sip_parse_hdr_name(sip_hdr_id_e id);

/* Character classes of RFC 3261 25.1, for sip_parse_is(). */
#define SIP_CC_ALPHA 0x0001
#define SIP_CC_DIGIT 0x0002
#define SIP_CC_HEX 0x0004
#define SIP_CC_TOKEN 0x0008 /**< token */
#define SIP_CC_USER 0x0010  /**< user, escapes aside */
#define SIP_CC_PASS 0x0020  /**< password, escapes aside */
#define SIP_CC_PARAM 0x0040 /**< paramchar, escapes aside */
#define SIP_CC_HNV 0x0080   /**< hname / hvalue, escapes aside */
#define SIP_CC_WORD 0x0100  /**< word (Call-ID) */
#define SIP_CC_URIC 0x0200  /**< uric of an absoluteURI */
#define SIP_CC_HOST 0x0400  /**< hostname and IPv4 characters */

/** Whether @p c is in every class of the mask @p cls. */
int sip_parse_is(unsigned char c, unsigned cls);

/** Skip SP, HT and the CR LF of folds; returns the new position. */
const char *sip_parse_lws(const char *p, const char *end);

/** End of the run of @p cls characters starting at @p p. */
const char *sip_parse_span(const char *p, const char *end, unsigned cls);

/**
 * A quoted-string at @p *pp (on its opening quote): @p inner gets the
 * text between the quotes (quoted-pairs left as written), @p *pp moves
 * past the closing quote. SB_EMALFORMED when unterminated.
 */
apr_status_t sip_parse_quoted(const char **pp, const char *end,
			      sip_str_t *inner);

/** Decimal digits only, at most @p max; SB_EMALFORMED otherwise. */
apr_status_t sip_parse_uint(const char *p, apr_size_t len, apr_uint64_t max,
			    apr_uint64_t *out);

/*
 * sip_uri.c — SIP, SIPS and TEL URIs; other schemes checked as opaque.
 */

/** Parse [s, s+len) (no surrounding white space) into @p uri. */
apr_status_t sip_uri_parse(const char *s, apr_size_t len, sip_uri_t *uri);

/** Value of uri-parameter @p name ("" when it has none). */
apr_status_t sip_uri_param(const sip_uri_t *uri, const char *name,
			   sip_str_t *value);

/** Whether [s, s+len) is an IPv4 / IPv6 (no brackets) literal. */
int sip_uri_is_ipv4(const char *s, apr_size_t len);
int sip_uri_is_ipv6(const char *s, apr_size_t len);

/**
 * Scan a host ([IPv6], IPv4 or hostname) at @p *pp, moving past it;
 * shared by URIs and Via sent-by. SB_EMALFORMED when invalid.
 */
apr_status_t sip_uri_scan_host(const char **pp, const char *end,
			       sip_str_t *host, sip_host_type_e *type);

/** Host, hostname or [IPv6] / IPv4 form; SIP_HOST_NONE when invalid. */
sip_host_type_e sip_uri_host_type(const char *s, apr_size_t len);

/**
 * Copy @p in to @p out decoding %HH escapes; NUL-terminates. Fails with
 * SB_ETOOBIG when @p outlen is too small, SB_EMALFORMED on a bad escape.
 * @p outlenp gets the decoded length (which may hold NULs: escnull).
 */
apr_status_t sip_uri_unescape(const sip_str_t *in, char *out, apr_size_t outlen,
			      apr_size_t *outlenp);

/*
 * sip_hdr.c — header lookup, value lists, and on-demand body parsers.
 * Each parser takes one header value (one element of a list, as
 * sip_hdr_next() gives it), returns SB_EMALFORMED when its grammar does
 * not hold, and writes its output only on success.
 */

/** Walks the values of one header kind across lines and commas. */
typedef struct {
	const sip_msg_t *msg;
	sip_hdr_id_e id;
	sip_str_t name;	  /**< for SIP_HDR_OTHER */
	apr_size_t index; /**< current line in msg->hdrs */
	apr_size_t pos;	  /**< offset in that line's value */
	int split;	  /**< comma-separated list header */
} sip_hdr_iter_t;

/** First header line of @p id, or NULL. */
const sip_hdr_t *sip_hdr_find(const sip_msg_t *msg, sip_hdr_id_e id);

/** First header line named @p name (any id), or NULL. */
const sip_hdr_t *sip_hdr_find_name(const sip_msg_t *msg, const char *name);

/** Number of header lines of @p id. */
apr_size_t sip_hdr_count(const sip_msg_t *msg, sip_hdr_id_e id);

/** Iterate values of @p id (split on commas for list headers). */
void sip_hdr_iter_init(sip_hdr_iter_t *it, const sip_msg_t *msg,
		       sip_hdr_id_e id);

/** Iterate values of headers named @p name, never split. */
void sip_hdr_iter_init_name(sip_hdr_iter_t *it, const sip_msg_t *msg,
			    const char *name);

/**
 * Next value: SB_ENOTFOUND at the end, SB_EMALFORMED on an empty list
 * element or an unbalanced quote or angle bracket.
 */
apr_status_t sip_hdr_next(sip_hdr_iter_t *it, sip_str_t *value);

/**
 * Next ";name[=value]" of header params (a slice starting at ';', as in
 * sip_addr_t), advancing @p params; value as written, quotes kept, ptr
 * NULL when the param has none. SB_ENOTFOUND at the end.
 */
apr_status_t sip_hdr_param_next(sip_str_t *params, sip_str_t *name,
				sip_str_t *value);

/** Find header param @p name; value as written (quotes kept). */
apr_status_t sip_hdr_param_find(const sip_str_t *params, const char *name,
				sip_str_t *value);

/** name-addr or addr-spec with its header params (RFC 3261 20.10). */
typedef struct {
	sip_str_t display; /**< as written, quotes kept; may be empty */
	sip_str_t uri_str;
	sip_uri_t uri;
	int bracketed;	  /**< name-addr form */
	sip_str_t params; /**< from the first ';' on, may be empty */
	sip_str_t tag;
} sip_addr_t;

/** From, To, Reply-To, Refer-To, ... */
apr_status_t sip_hdr_addr(const sip_str_t *value, sip_addr_t *addr);

/** Route, Record-Route, Path: name-addr only. */
apr_status_t sip_hdr_route(const sip_str_t *value, sip_addr_t *addr);

typedef struct {
	int star; /**< "Contact: *" */
	sip_addr_t addr;
	apr_int64_t expires; /**< -1 when absent */
	int q;		     /**< 0..1000, -1 when absent */
	sip_str_t instance;  /**< +sip.instance, quotes removed */
	apr_int64_t reg_id;  /**< -1 when absent */
} sip_contact_t;

/** One Contact value (RFC 3261 20.10, RFC 5626 instance and reg-id). */
apr_status_t sip_hdr_contact(const sip_str_t *value, sip_contact_t *c);

typedef struct {
	sip_str_t protocol;  /**< "SIP" */
	sip_str_t version;   /**< "2.0" */
	sip_str_t transport; /**< "UDP", "TLS", ... as written */
	sip_str_t host;
	sip_host_type_e host_type;
	int port;	  /**< -1 when absent */
	sip_str_t params; /**< from the first ';' on, may be empty */
	sip_str_t branch;
	sip_str_t received;
	sip_str_t maddr;
	int rport; /**< -1 absent, 0 without value, else port */
	int ttl;   /**< -1 when absent */
} sip_via_t;

/** One Via value (RFC 3261 20.42, RFC 3581 rport). */
apr_status_t sip_hdr_via(const sip_str_t *value, sip_via_t *via);

/** CSeq: number below 2**31 and a method token. */
apr_status_t sip_hdr_cseq(const sip_str_t *value, apr_uint32_t *seq,
			  sip_str_t *method);

/** Call-ID: word [ "@" word ]. */
apr_status_t sip_hdr_call_id(const sip_str_t *value);

/** Max-Forwards: 0..255. */
apr_status_t sip_hdr_max_forwards(const sip_str_t *value, int *hops);

/** Content-Length: digits, at most @p max. */
apr_status_t sip_hdr_content_length(const sip_str_t *value, apr_size_t max,
				    apr_size_t *out);

/** Expires (and other delta-seconds): 0..2**32-1. */
apr_status_t sip_hdr_expires(const sip_str_t *value, apr_uint32_t *secs);

typedef struct {
	sip_str_t type;
	sip_str_t subtype;
	sip_str_t params; /**< from the first ';' on, may be empty */
} sip_ctype_t;

/** Content-Type: type "/" subtype *( ";" param ). */
apr_status_t sip_hdr_content_type(const sip_str_t *value, sip_ctype_t *ct);

/** Date: rfc1123-date in GMT only (RFC 3261 20.17). */
apr_status_t sip_hdr_date(const sip_str_t *value, apr_time_t *t);

/** One option-tag of Supported, Require, Proxy-Require, ... */
apr_status_t sip_hdr_token(const sip_str_t *value, sip_str_t *token);

/** Whether list header @p id names option @p tag; SB_EMALFORMED too. */
apr_status_t sip_hdr_has_token(const sip_msg_t *msg, sip_hdr_id_e id,
			       const char *tag, int *found);

/** Credentials or a challenge; digest fields without their quotes. */
typedef struct {
	sip_str_t scheme;
	int is_digest;
	sip_str_t params; /**< everything after the scheme */
	sip_str_t username, realm, nonce, uri, response, algorithm, qop;
	sip_str_t nc, cnonce, opaque, stale, domain;
} sip_auth_t;

/**
 * Authorization, Proxy-Authorization, WWW-Authenticate,
 * Proxy-Authenticate (RFC 3261 25.1, RFC 2617). Unknown schemes parse
 * as generic auth-params; quoted-pairs stay escaped (see unquote).
 */
apr_status_t sip_hdr_auth(const sip_str_t *value, sip_auth_t *auth);

/** Copy a quoted-string's inner text resolving quoted-pairs. */
apr_status_t sip_hdr_unquote(const sip_str_t *inner, char *out,
			     apr_size_t outlen, apr_size_t *outlenp);

/*
 * Small inline helpers on slices.
 */

static inline sip_str_t sip_str(const char *p, apr_size_t len)
{
	sip_str_t s;

	s.ptr = p;
	s.len = len;
	return s;
}

/** Case-insensitive comparison with a C string. */
static inline int sip_str_ieq(const sip_str_t *s, const char *lit)
{
	apr_size_t n = strlen(lit);

	return s->len == n && (n == 0 || strncasecmp(s->ptr, lit, n) == 0);
}

/** Exact comparison with a C string. */
static inline int sip_str_eq(const sip_str_t *s, const char *lit)
{
	apr_size_t n = strlen(lit);

	return s->len == n && (n == 0 || memcmp(s->ptr, lit, n) == 0);
}

#endif
