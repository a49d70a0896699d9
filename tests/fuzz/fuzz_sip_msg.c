/* fuzz_sip_msg.c — libFuzzer: stream framing, message parse, every header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sip_msg.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with sip_parse.c,
 * sip_hdr.c, sip_uri.c and -lapr-1. Besides the sanitizers, the harness
 * aborts when a slice leaves the input, when the framer and the parser
 * disagree on where a message ends, when a URI the parser accepted does
 * not parse the same way on its own, when a header value parses
 * differently once cut out of the message, and when the lookup helpers
 * disagree with the parsed fields.
 *
 * ASan sees reads past the end of the input only, not past the end of
 * a slice inside it: so every URI and every header value is parsed a
 * second time from a heap copy of exactly its own length.
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

/* Slice @p b of a copy at @p cb matches @p a of the original at @p ca. */
static void same_slice(const sip_str_t *a, const char *ca, const sip_str_t *b,
		       const char *cb)
{
	CHECK(a->len == b->len);
	CHECK((a->ptr == NULL) == (b->ptr == NULL));
	if (a->ptr != NULL)
		CHECK(a->ptr - ca == b->ptr - cb);
}

/* Escapes were checked on parsing: decoding into len + 1 bytes works. */
static void unescape_ok(const sip_str_t *s)
{
	apr_size_t n;
	char *out;

	if (s->len == 0)
		return;
	out = malloc(s->len + 1);
	CHECK(out != NULL);
	CHECK(sip_uri_unescape(s, out, s->len + 1, &n) == APR_SUCCESS);
	CHECK(n <= s->len && out[n] == '\0');
	free(out);
}

/* The URI that parsed from @p text, parsed again alone. */
static void reparse_uri(const sip_str_t *text, const sip_uri_t *u)
{
	sip_uri_t v;
	char *copy;

	CHECK(text->len > 0);
	copy = malloc(text->len);
	CHECK(copy != NULL);
	memcpy(copy, text->ptr, text->len);
	CHECK(sip_uri_parse(copy, text->len, &v) == APR_SUCCESS);
	CHECK(v.scheme == u->scheme && v.host_type == u->host_type);
	CHECK(v.port == u->port && v.ttl == u->ttl && v.lr == u->lr);
	CHECK(v.has_password == u->has_password);
	same_slice(&u->scheme_name, text->ptr, &v.scheme_name, copy);
	same_slice(&u->user, text->ptr, &v.user, copy);
	same_slice(&u->password, text->ptr, &v.password, copy);
	same_slice(&u->host, text->ptr, &v.host, copy);
	same_slice(&u->params, text->ptr, &v.params, copy);
	same_slice(&u->headers, text->ptr, &v.headers, copy);
	same_slice(&u->opaque, text->ptr, &v.opaque, copy);
	same_slice(&u->transport, text->ptr, &v.transport, copy);
	same_slice(&u->maddr, text->ptr, &v.maddr, copy);
	same_slice(&u->user_param, text->ptr, &v.user_param, copy);
	same_slice(&u->method, text->ptr, &v.method, copy);
	free(copy);
}

/* What the URI's fields promise about its host and parameters. */
static void check_uri_fields(const sip_uri_t *u)
{
	sip_str_t v;

	if (u->scheme != SIP_URI_SIP && u->scheme != SIP_URI_SIPS) {
		CHECK(u->host.len == 0 && u->host_type == SIP_HOST_NONE);
		return;
	}
	CHECK(u->host_type != SIP_HOST_NONE);
	CHECK(sip_uri_host_type(u->host.ptr, u->host.len) == u->host_type);
	if (u->host_type == SIP_HOST_IPV4)
		CHECK(sip_uri_is_ipv4(u->host.ptr, u->host.len));
	if (u->host_type == SIP_HOST_IPV6)
		CHECK(u->host.ptr[0] == '[' &&
		      sip_uri_is_ipv6(u->host.ptr + 1, u->host.len - 2));
	/* A param the parser noted is one sip_uri_param() finds. */
	CHECK(u->lr == (sip_uri_param(u, "lr", &v) == APR_SUCCESS));
	if (u->transport.len > 0)
		CHECK(sip_uri_param(u, "transport", &v) == APR_SUCCESS);
	if (u->maddr.len > 0)
		CHECK(sip_uri_host_type(u->maddr.ptr, u->maddr.len) !=
		      SIP_HOST_NONE);
}

static void walk_uri(const sip_str_t *text, const sip_uri_t *u)
{
	char out[256];
	apr_size_t n;
	sip_str_t v;

	check_slice(text);
	check_slice(&u->scheme_name);
	check_slice(&u->user);
	check_slice(&u->password);
	check_slice(&u->host);
	check_slice(&u->params);
	check_slice(&u->headers);
	check_slice(&u->opaque);
	(void)sip_uri_param(u, "transport", &v);
	(void)sip_uri_param(u, "lr", &v);
	(void)sip_uri_unescape(&u->user, out, sizeof(out), &n);
	(void)sip_uri_unescape(&u->password, out, sizeof(out), &n);
	/* Too small on purpose: the bound must hold. */
	(void)sip_uri_unescape(&u->user, out, 3, &n);
	unescape_ok(&u->user);
	unescape_ok(&u->password);
	unescape_ok(&u->params);
	unescape_ok(&u->headers);
	unescape_ok(&u->opaque);
	CHECK(u->port >= -1 && u->port <= 65535);
	CHECK(u->ttl >= -1 && u->ttl <= 255);
	check_uri_fields(u);
	reparse_uri(text, u);
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

/* Via, the address headers and Contact; -1 for other headers. */
static apr_status_t walk_addr_value(sip_hdr_id_e id, const sip_str_t *v)
{
	union {
		sip_addr_t addr;
		sip_contact_t contact;
		sip_via_t via;
	} u;
	apr_status_t rv = -1;

	switch (id) {
	case SIP_HDR_VIA:
		if ((rv = sip_hdr_via(v, &u.via)) != APR_SUCCESS)
			break;
		check_slice(&u.via.host);
		check_slice(&u.via.branch);
		check_slice(&u.via.received);
		check_slice(&u.via.maddr);
		CHECK(u.via.host_type != SIP_HOST_NONE);
		CHECK(u.via.port >= -1 && u.via.port <= 65535);
		CHECK(u.via.rport >= -1 && u.via.rport <= 65535);
		CHECK(u.via.ttl >= -1 && u.via.ttl <= 255);
		walk_params(u.via.params);
		break;
	case SIP_HDR_TO:
	case SIP_HDR_FROM:
	case SIP_HDR_REPLY_TO:
	case SIP_HDR_REFER_TO:
	case SIP_HDR_REFERRED_BY:
		if ((rv = sip_hdr_addr(v, &u.addr)) != APR_SUCCESS)
			break;
		check_slice(&u.addr.display);
		walk_uri(&u.addr.uri_str, &u.addr.uri);
		walk_params(u.addr.params);
		check_slice(&u.addr.tag);
		break;
	case SIP_HDR_ROUTE:
	case SIP_HDR_RECORD_ROUTE:
	case SIP_HDR_PATH:
		if ((rv = sip_hdr_route(v, &u.addr)) != APR_SUCCESS)
			break;
		CHECK(u.addr.bracketed);
		walk_uri(&u.addr.uri_str, &u.addr.uri);
		break;
	case SIP_HDR_CONTACT:
		rv = sip_hdr_contact(v, &u.contact);
		if (rv != APR_SUCCESS || u.contact.star)
			break;
		walk_uri(&u.contact.addr.uri_str, &u.contact.addr.uri);
		walk_params(u.contact.addr.params);
		check_slice(&u.contact.instance);
		CHECK(u.contact.q >= -1 && u.contact.q <= 1000);
		CHECK(u.contact.expires >= -1 &&
		      u.contact.expires <= 0xffffffffLL);
		CHECK(
		    u.contact.reg_id == -1 ||
		    (u.contact.reg_id >= 1 && u.contact.reg_id <= 0x7fffffff));
		break;
	default:
		break;
	}
	return rv;
}

/* One value through the parser its header calls for; its status. */
static apr_status_t walk_value(sip_hdr_id_e id, const sip_str_t *v)
{
	char out[128];
	apr_uint32_t u32;
	apr_status_t rv;
	sip_ctype_t ct;
	sip_auth_t auth;
	apr_size_t sz;
	apr_time_t t;
	sip_str_t s;
	int i;

	if ((rv = walk_addr_value(id, v)) != (apr_status_t)-1)
		return rv;
	switch (id) {
	case SIP_HDR_CSEQ:
		if ((rv = sip_hdr_cseq(v, &u32, &s)) == APR_SUCCESS)
			CHECK(u32 < 0x80000000u && s.len > 0);
		return rv;
	case SIP_HDR_CALL_ID:
		return sip_hdr_call_id(v);
	case SIP_HDR_MAX_FORWARDS:
		if ((rv = sip_hdr_max_forwards(v, &i)) == APR_SUCCESS)
			CHECK(i >= 0 && i <= 255);
		return rv;
	case SIP_HDR_CONTENT_LENGTH:
		if ((rv = sip_hdr_content_length(v, 65536, &sz)) == APR_SUCCESS)
			CHECK(sz <= 65536);
		return rv;
	case SIP_HDR_EXPIRES:
	case SIP_HDR_MIN_EXPIRES:
		return sip_hdr_expires(v, &u32);
	case SIP_HDR_CONTENT_TYPE:
		if ((rv = sip_hdr_content_type(v, &ct)) == APR_SUCCESS)
			walk_params(ct.params);
		return rv;
	case SIP_HDR_DATE:
		return sip_hdr_date(v, &t);
	case SIP_HDR_AUTHORIZATION:
	case SIP_HDR_PROXY_AUTHORIZATION:
	case SIP_HDR_WWW_AUTHENTICATE:
	case SIP_HDR_PROXY_AUTHENTICATE:
		if ((rv = sip_hdr_auth(v, &auth)) == APR_SUCCESS) {
			check_slice(&auth.username);
			check_slice(&auth.nonce);
			(void)sip_hdr_unquote(&auth.username, out, sizeof(out),
					      &sz);
			(void)sip_hdr_unquote(&auth.realm, out, 4, &sz);
		}
		return rv;
	default:
		return sip_hdr_token(v, &s);
	}
}

/*
 * The value again from a heap copy of its own length: a parser that
 * looks past the value's end (at the CRLF that happens to follow inside
 * the message) is caught by ASan there, and the verdict must not change.
 */
static void walk_value_alone(sip_hdr_id_e id, const sip_str_t *v,
			     apr_status_t expect)
{
	const char *lo = in_lo, *hi = in_hi;
	sip_str_t c;
	char *copy;

	copy = malloc(v->len ? v->len : 1);
	CHECK(copy != NULL);
	if (v->len)
		memcpy(copy, v->ptr, v->len);
	c = sip_str(copy, v->len);
	in_lo = copy;
	in_hi = copy + v->len;
	CHECK(walk_value(id, &c) == expect);
	in_lo = lo;
	in_hi = hi;
	free(copy);
}

/* The lookup helpers agree with the header table. */
static void check_table(const sip_msg_t *m)
{
	apr_size_t i, count[SIP_HDR_COUNT] = {0};
	const sip_hdr_t *first[SIP_HDR_COUNT] = {0};
	const char *name;
	int id;

	for (i = 0; i < m->nhdrs; i++) {
		check_slice(&m->hdrs[i].name);
		check_slice(&m->hdrs[i].value);
		CHECK((unsigned)m->hdrs[i].id < SIP_HDR_COUNT);
		CHECK(sip_parse_hdr_id(m->hdrs[i].name.ptr,
				       m->hdrs[i].name.len) == m->hdrs[i].id);
		if (count[m->hdrs[i].id]++ == 0)
			first[m->hdrs[i].id] = &m->hdrs[i];
	}
	for (id = SIP_HDR_OTHER + 1; id < SIP_HDR_COUNT; id++) {
		CHECK(sip_hdr_count(m, (sip_hdr_id_e)id) == count[id]);
		CHECK(sip_hdr_find(m, (sip_hdr_id_e)id) == first[id]);
		name = sip_parse_hdr_name((sip_hdr_id_e)id);
		CHECK(name != NULL &&
		      (int)sip_parse_hdr_id(name, strlen(name)) == id);
	}
	if (m->is_request)
		CHECK(sip_parse_method(m->method_name.ptr,
				       m->method_name.len) == m->method);
}

static void walk_msg(const sip_msg_t *m)
{
	sip_hdr_iter_t it;
	apr_status_t rv;
	sip_str_t v;
	int found, id;

	CHECK(m->len <= (apr_size_t)(in_hi - in_lo));
	check_slice(&m->body);
	if (m->is_request) {
		walk_uri(&m->ruri_str, &m->ruri);
	} else {
		CHECK(m->status >= 100 && m->status <= 699);
	}
	CHECK(m->nhdrs <= SIP_MSG_MAX_HEADERS);
	check_table(m);
	for (id = SIP_HDR_OTHER + 1; id < SIP_HDR_COUNT; id++) {
		sip_hdr_iter_init(&it, m, (sip_hdr_id_e)id);
		while (sip_hdr_next(&it, &v) == APR_SUCCESS) {
			check_slice(&v);
			rv = walk_value((sip_hdr_id_e)id, &v);
			walk_value_alone((sip_hdr_id_e)id, &v, rv);
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
