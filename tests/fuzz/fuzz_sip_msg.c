/* fuzz_sip_msg.c — libFuzzer: stream framing, message parse, every header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sip_msg.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with sip_parse.c,
 * sip_hdr.c, sip_uri.c and -lapr-1. Besides the sanitizers, the harness
 * aborts when a slice leaves the input or when the framer and the
 * parser disagree on where a message ends.
 */

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static const char *in_lo, *in_hi;

static void check_slice(const sip_str_t *s)
{
	if (s->len == 0)
		return;
	CHECK(s->ptr >= in_lo && s->ptr + s->len <= in_hi);
}

static void walk_uri(const sip_uri_t *u)
{
	char out[256];
	apr_size_t n;
	sip_str_t v;

	check_slice(&u->user);
	check_slice(&u->host);
	check_slice(&u->params);
	check_slice(&u->headers);
	(void)sip_uri_param(u, "transport", &v);
	(void)sip_uri_param(u, "lr", &v);
	(void)sip_uri_unescape(&u->user, out, sizeof(out), &n);
	(void)sip_uri_unescape(&u->password, out, sizeof(out), &n);
	CHECK(u->port >= -1 && u->port <= 65535);
	CHECK(u->ttl >= -1 && u->ttl <= 255);
}

static void walk_params(sip_str_t params)
{
	sip_str_t n, v;

	while (sip_hdr_param_next(&params, &n, &v) == APR_SUCCESS) {
		check_slice(&n);
		check_slice(&v);
		CHECK(n.len > 0);
	}
}

/* One value through the parser its header calls for. */
static void walk_value(sip_hdr_id_e id, const sip_str_t *v)
{
	union {
		sip_addr_t addr;
		sip_contact_t contact;
		sip_via_t via;
		sip_ctype_t ct;
		sip_auth_t auth;
	} u;
	char out[128];
	apr_uint32_t u32;
	apr_size_t sz;
	apr_time_t t;
	sip_str_t s;
	int i;

	switch (id) {
	case SIP_HDR_VIA:
		if (sip_hdr_via(v, &u.via) == APR_SUCCESS) {
			check_slice(&u.via.host);
			check_slice(&u.via.branch);
			walk_params(u.via.params);
		}
		break;
	case SIP_HDR_TO:
	case SIP_HDR_FROM:
	case SIP_HDR_REPLY_TO:
	case SIP_HDR_REFER_TO:
	case SIP_HDR_REFERRED_BY:
		if (sip_hdr_addr(v, &u.addr) == APR_SUCCESS) {
			walk_uri(&u.addr.uri);
			walk_params(u.addr.params);
			check_slice(&u.addr.tag);
		}
		break;
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
	case SIP_HDR_PATH:
		if (sip_hdr_route(v, &u.addr) == APR_SUCCESS)
			walk_uri(&u.addr.uri);
		break;
	case SIP_HDR_CONTACT:
		if (sip_hdr_contact(v, &u.contact) == APR_SUCCESS &&
		    !u.contact.star) {
			walk_uri(&u.contact.addr.uri);
			check_slice(&u.contact.instance);
			CHECK(u.contact.q >= -1 && u.contact.q <= 1000);
		}
		break;
	case SIP_HDR_CSEQ:
		if (sip_hdr_cseq(v, &u32, &s) == APR_SUCCESS)
			CHECK(u32 < 0x80000000u);
		break;
	case SIP_HDR_CALL_ID:
		(void)sip_hdr_call_id(v);
		break;
	case SIP_HDR_MAX_FORWARDS:
		if (sip_hdr_max_forwards(v, &i) == APR_SUCCESS)
			CHECK(i >= 0 && i <= 255);
		break;
	case SIP_HDR_CONTENT_LENGTH:
		(void)sip_hdr_content_length(v, 65536, &sz);
		break;
	case SIP_HDR_EXPIRES:
	case SIP_HDR_MIN_EXPIRES:
		(void)sip_hdr_expires(v, &u32);
		break;
	case SIP_HDR_CONTENT_TYPE:
		if (sip_hdr_content_type(v, &u.ct) == APR_SUCCESS)
			walk_params(u.ct.params);
		break;
	case SIP_HDR_DATE:
		(void)sip_hdr_date(v, &t);
		break;
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE:
		if (sip_hdr_auth(v, &u.auth) == APR_SUCCESS) {
			check_slice(&u.auth.username);
			(void)sip_hdr_unquote(&u.auth.username, out,
					      sizeof(out), &sz);
			(void)sip_hdr_unquote(&u.auth.realm, out, 4, &sz);
		}
		break;
	default:
		(void)sip_hdr_token(v, &s);
		break;
	}
}

static void walk_msg(const sip_msg_t *m)
{
	sip_hdr_iter_t it;
	sip_str_t v;
	apr_size_t i;
	int found, id;

	CHECK(m->len <= (apr_size_t)(in_hi - in_lo));
	check_slice(&m->body);
	if (m->is_request) {
		walk_uri(&m->ruri);
	} else {
		CHECK(m->status >= 100 && m->status <= 699);
	}
	CHECK(m->nhdrs <= SIP_MSG_MAX_HEADERS);
	for (i = 0; i < m->nhdrs; i++) {
		check_slice(&m->hdrs[i].name);
		check_slice(&m->hdrs[i].value);
	}
	for (id = SIP_HDR_OTHER + 1; id < SIP_HDR_COUNT; id++) {
		sip_hdr_iter_init(&it, m, (sip_hdr_id_e)id);
		while (sip_hdr_next(&it, &v) == APR_SUCCESS) {
			check_slice(&v);
			walk_value((sip_hdr_id_e)id, &v);
		}
	}
	sip_hdr_iter_init_name(&it, m, "X-Unknown");
	while (sip_hdr_next(&it, &v) == APR_SUCCESS)
		check_slice(&v);
	(void)sip_hdr_has_token(m, SIP_HDR_SUPPORTED, "outbound", &found);
	(void)sip_hdr_find_name(m, "l");
}

/* Parse [p, p+len) as one message; returns the status. */
static apr_status_t parse_one(sip_msg_t *m, const char *p, apr_size_t len,
			      const sip_limits_t *lim)
{
	sip_parse_error_t err;
	char reason[64];
	apr_status_t rv;

	rv = sip_parse_msg(m, p, len, lim, &err);
	if (rv == APR_SUCCESS) {
		walk_msg(m);
	} else {
		CHECK(rv == SB_EMALFORMED || rv == SB_ETOOBIG);
		CHECK(err.offset <= len);
		check_slice(&err.name);
		(void)sip_parse_error_reason(&err, reason, sizeof(reason));
		CHECK(strlen(reason) < sizeof(reason));
		CHECK(sip_parse_error_status(&err) >= 400);
	}
	return rv;
}

/* As a stream: frame, parse, move on, as the transport will. */
static void run_stream(const char *p, apr_size_t left, const sip_limits_t *lim)
{
	static sip_msg_t msg;
	apr_size_t skip, len;
	apr_status_t rv;

	while (left > 0) {
		rv = sip_parse_frame(p, left, lim, &skip, &len);
		if (rv != APR_SUCCESS) {
			CHECK(rv == SB_EINCOMPLETE || rv == SB_EMALFORMED ||
			      rv == SB_ETOOBIG);
			break;
		}
		if (skip > 0) {
			CHECK(skip <= left && len == 0);
			p += skip;
			left -= skip;
			continue;
		}
		CHECK(len > 0 && len <= left);
		if (parse_one(&msg, p, len, lim) == APR_SUCCESS)
			CHECK(msg.has_content_length && msg.len == len);
		p += len;
		left -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sip_msg_t msg;
	/* Tight limits reach the size and count checks with small inputs. */
	static const sip_limits_t tight = {512, 6};
	const char *p = (const char *)data;

	in_lo = p;
	in_hi = p + size;
	run_stream(p, size, NULL);
	run_stream(p, size, &tight);
	/* As one datagram. */
	(void)parse_one(&msg, p, size, NULL);
	(void)parse_one(&msg, p, size, &tight);
	return 0;
}
