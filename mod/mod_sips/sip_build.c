/* sip_build.c — building SIP messages: responses, requests, ACK, CANCEL. */
#include <stdarg.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "sip_build.h"

/* RFC 3261 21 and the later RFCs in the IANA response code registry. */
static const struct {
	int code;
	const char *phrase;
} reason_table[] = {
    {100, "Trying"},
    {180, "Ringing"},
    {181, "Call Is Being Forwarded"},
    {182, "Queued"},
    {183, "Session Progress"},
    {199, "Early Dialog Terminated"},
    {200, "OK"},
    {202, "Accepted"},
    {204, "No Notification"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Moved Temporarily"},
    {305, "Use Proxy"},
    {380, "Alternative Service"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {410, "Gone"},
    {412, "Conditional Request Failed"},
    {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Unsupported URI Scheme"},
    {417, "Unknown Resource-Priority"},
    {420, "Bad Extension"},
    {421, "Extension Required"},
    {422, "Session Interval Too Small"},
    {423, "Interval Too Brief"},
    {424, "Bad Location Information"},
    {425, "Bad Alert Message"},
    {428, "Use Identity Header"},
    {429, "Provide Referrer Identity"},
    {430, "Flow Failed"},
    {433, "Anonymity Disallowed"},
    {436, "Bad Identity Info"},
    {437, "Unsupported Credential"},
    {438, "Invalid Identity Header"},
    {439, "First Hop Lacks Outbound Support"},
    {440, "Max-Breadth Exceeded"},
    {469, "Bad Info Package"},
    {470, "Consent Needed"},
    {480, "Temporarily Unavailable"},
    {481, "Call/Transaction Does Not Exist"},
    {482, "Loop Detected"},
    {483, "Too Many Hops"},
    {484, "Address Incomplete"},
    {485, "Ambiguous"},
    {486, "Busy Here"},
    {487, "Request Terminated"},
    {488, "Not Acceptable Here"},
    {489, "Bad Event"},
    {491, "Request Pending"},
    {493, "Undecipherable"},
    {494, "Security Agreement Required"},
    {500, "Server Internal Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Server Time-out"},
    {505, "Version Not Supported"},
    {513, "Message Too Large"},
    {555, "Push Notification Service Not Supported"},
    {580, "Precondition Failure"},
    {600, "Busy Everywhere"},
    {603, "Decline"},
    {604, "Does Not Exist Anywhere"},
    {606, "Not Acceptable"},
    {607, "Unwanted"},
    {608, "Rejected"},
};

/* RFC 3261 7.2: the class names, for codes no RFC has named yet. */
static const char *const class_phrase[] = {
    NULL,	    "Provisional",  "Success",	      "Redirection",
    "Client Error", "Server Error", "Global Failure",
};

const char *sip_build_reason(int status)
{
	apr_size_t i;

	for (i = 0; i < sizeof(reason_table) / sizeof(reason_table[0]); i++)
		if (reason_table[i].code == status)
			return reason_table[i].phrase;
	if (status >= 100 && status <= 699)
		return class_phrase[status / 100];
	return "Unknown";
}

/*
 * Lower case and digits only: naive peers (SIPp among them) look for
 * the text "CSeq" anywhere in a message, and a tag must never hold it.
 */
static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";

/* Fill out with len characters of alnum from the system CSPRNG. */
static void random_chars(char *out, apr_size_t len)
{
	unsigned char raw[64];
	apr_size_t n = 0, i;

	while (n < len) {
		/*
		 * A predictable branch or tag lets an off-path attacker
		 * forge a CANCEL or a BYE: better to stop than fall back.
		 */
		if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
			abort();
		/* 252 = 7 * 36: bytes above it would favour some letters. */
		for (i = 0; i < sizeof(raw) && n < len; i++)
			if (raw[i] < 252)
				out[n++] = alnum[raw[i] % 36];
	}
}

const char *sip_build_random(apr_pool_t *pool, apr_size_t len)
{
	char *s = apr_palloc(pool, len + 1);

	random_chars(s, len);
	s[len] = '\0';
	return s;
}

const char *sip_build_branch(apr_pool_t *pool)
{
	/* RFC 3261 8.1.1.7 magic cookie; 24 x log2(36) = 124 bits. */
	static const char cookie[] = "z9hG4bK";
	const apr_size_t n = sizeof(cookie) - 1, rnd = 24;
	char *s = apr_palloc(pool, n + rnd + 1);

	memcpy(s, cookie, n);
	random_chars(s + n, rnd);
	s[n + rnd] = '\0';
	return s;
}

/*
 * A copy of [p, p+len) where each CR/LF run, with the white space after
 * it, becomes one SP: RFC 3261 7.3.1 gives a fold the meaning of SP,
 * and a bare CR or LF in a caller's value would end the field on the
 * wire and let the rest pose as another header.
 */
static char *clean_copy(apr_pool_t *pool, const char *p, apr_size_t len)
{
	char *out = apr_palloc(pool, len + 1), *o = out;
	const char *end = p + len;

	while (p < end) {
		if (*p != '\r' && *p != '\n') {
			*o++ = *p++;
			continue;
		}
		while (p < end &&
		       (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t'))
			p++;
		*o++ = ' ';
	}
	*o = '\0';
	return out;
}

static char *clean_str(apr_pool_t *pool, const char *s)
{
	return clean_copy(pool, s, strlen(s));
}

static void build_init(sip_build_t *b, apr_pool_t *pool)
{
	memset(b, 0, sizeof(*b));
	b->pool = pool;
}

/* Append a field whose name and value already live long enough. */
static void add_raw(sip_build_t *b, const char *name, const char *value)
{
	sip_build_hdr_t *h = apr_palloc(b->pool, sizeof(*h));

	h->name = name;
	h->value = value;
	h->next = NULL;
	if (b->last != NULL)
		b->last->next = h;
	else
		b->first = h;
	b->last = h;
}

void sip_build_request(sip_build_t *b, apr_pool_t *pool, const char *method,
		       const char *ruri)
{
	build_init(b, pool);
	b->start_line = clean_str(
	    pool, apr_pstrcat(pool, method, " ", ruri, " SIP/2.0", NULL));
}

void sip_build_add(sip_build_t *b, const char *name, const char *value)
{
	add_raw(b, clean_str(b->pool, name),
		clean_str(b->pool, value != NULL ? value : ""));
}

void sip_build_addf(sip_build_t *b, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = apr_pvsprintf(b->pool, fmt, ap);
	va_end(ap);
	sip_build_add(b, name, v);
}

void sip_build_prepend(sip_build_t *b, const char *name, const char *value)
{
	sip_build_hdr_t *h = apr_palloc(b->pool, sizeof(*h));

	h->name = clean_str(b->pool, name);
	h->value = clean_str(b->pool, value != NULL ? value : "");
	h->next = b->first;
	b->first = h;
	if (b->last == NULL)
		b->last = h;
}

/*
 * Whether a field called hname is the header name/id stands for: by id
 * when the header is known, so "Via" and "v" are one (RFC 3261 7.3.3).
 */
static int name_matches(const char *hname, const char *name, sip_hdr_id_e id)
{
	if (id != SIP_HDR_OTHER)
		return sip_parse_hdr_id(hname, strlen(hname)) == id;
	return strcasecmp(hname, name) == 0;
}

apr_size_t sip_build_remove(sip_build_t *b, const char *name)
{
	sip_hdr_id_e id = sip_parse_hdr_id(name, strlen(name));
	sip_build_hdr_t **pp = &b->first, *prev = NULL;
	apr_size_t n = 0;

	while (*pp != NULL) {
		if (name_matches((*pp)->name, name, id)) {
			*pp = (*pp)->next;
			n++;
			continue;
		}
		prev = *pp;
		pp = &(*pp)->next;
	}
	b->last = prev;
	return n;
}

const char *sip_build_get(const sip_build_t *b, const char *name)
{
	sip_hdr_id_e id = sip_parse_hdr_id(name, strlen(name));
	const sip_build_hdr_t *h;

	for (h = b->first; h != NULL; h = h->next)
		if (name_matches(h->name, name, id))
			return h->value;
	return NULL;
}

void sip_build_body(sip_build_t *b, const char *content_type, const char *body,
		    apr_size_t len)
{
	sip_build_remove(b, "Content-Type");
	if (content_type != NULL)
		sip_build_add(b, "Content-Type", content_type);
	if (body == NULL)
		len = 0;
	b->body = len > 0 ? apr_pmemdup(b->pool, body, len) : NULL;
	b->body_len = len;
}

static char *put(char *p, const char *s, apr_size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

apr_status_t sip_build_serialize(const sip_build_t *b, char **out,
				 apr_size_t *len)
{
	char cl[48];
	apr_size_t n, cl_len;
	const sip_build_hdr_t *h;
	char *buf, *p;

	if (b == NULL || b->pool == NULL || b->start_line == NULL ||
	    (b->body == NULL && b->body_len > 0))
		return APR_EINVAL;
	/* Ours is always right: a hand-added one may lie about the body. */
	cl_len = (apr_size_t)apr_snprintf(
	    cl, sizeof(cl), "Content-Length: %" APR_SIZE_T_FMT "\r\n\r\n",
	    b->body_len);
	n = strlen(b->start_line) + 2 + cl_len + b->body_len;
	for (h = b->first; h != NULL; h = h->next)
		if (!name_matches(h->name, "", SIP_HDR_CONTENT_LENGTH))
			n += strlen(h->name) + 2 + strlen(h->value) + 2;
	buf = apr_palloc(b->pool, n);
	p = put(buf, b->start_line, strlen(b->start_line));
	p = put(p, "\r\n", 2);
	for (h = b->first; h != NULL; h = h->next) {
		if (name_matches(h->name, "", SIP_HDR_CONTENT_LENGTH))
			continue;
		p = put(p, h->name, strlen(h->name));
		p = put(p, ": ", 2);
		p = put(p, h->value, strlen(h->value));
		p = put(p, "\r\n", 2);
	}
	p = put(p, cl, cl_len);
	if (b->body_len > 0)
		put(p, b->body, b->body_len);
	*out = buf;
	*len = n;
	return APR_SUCCESS;
}

/* Whether the sent-by host is the address ip (RFC 3261 18.2.1). */
static int same_addr(const sip_via_t *via, const char *ip, apr_size_t iplen)
{
	char a[64], c[64];
	unsigned char x[16], y[16];
	const char *h = via->host.ptr;
	apr_size_t hl = via->host.len;
	int af = AF_INET;

	if (via->host_type == SIP_HOST_NAME)
		return 0;
	if (via->host_type == SIP_HOST_IPV6) {
		h++;
		hl -= 2;
		af = AF_INET6;
	}
	if (hl >= sizeof(a) || iplen >= sizeof(c))
		return 0;
	memcpy(a, h, hl);
	a[hl] = '\0';
	memcpy(c, ip, iplen);
	c[iplen] = '\0';
	/* Textual forms differ ("::1" and "0::1"): compare the octets. */
	return inet_pton(af, a, x) == 1 && inet_pton(af, c, y) == 1 &&
	       memcmp(x, y, af == AF_INET ? 4 : 16) == 0;
}

/* The source IP without brackets; APR_EINVAL unless it is a literal. */
static apr_status_t fix_ip(const char *received, const char **ip,
			   apr_size_t *iplen)
{
	apr_size_t n = strlen(received);

	if (n >= 2 && received[0] == '[' && received[n - 1] == ']') {
		received++;
		n -= 2;
	}
	if (!sip_uri_is_ipv4(received, n) && !sip_uri_is_ipv6(received, n))
		return APR_EINVAL;
	*ip = received;
	*iplen = n;
	return APR_SUCCESS;
}

/*
 * RFC 3261 18.2.1 and RFC 3581 4 on the top Via value *value: the
 * params are kept as written but for received (one, with our value)
 * and a bare rport (given the source port).
 */
static apr_status_t via_fix(apr_pool_t *pool, char **value,
			    const sip_build_via_fix_t *fix)
{
	sip_str_t s = sip_str(*value, strlen(*value)), rest, n, v;
	const char *ip = NULL, *seg;
	apr_size_t iplen = 0, cap;
	sip_via_t via;
	int fill_rport, set_received, done = 0;
	char *out, *o;

	if (fix->received != NULL &&
	    fix_ip(fix->received, &ip, &iplen) != APR_SUCCESS)
		return APR_EINVAL;
	if (sip_hdr_via(&s, &via) != APR_SUCCESS)
		return SB_EMALFORMED;
	fill_rport = fix->rport > 0 && via.rport == 0;
	/* RFC 3581 4: with rport, received even when it equals sent-by. */
	set_received = ip != NULL && (fill_rport || via.received.ptr != NULL ||
				      !same_addr(&via, ip, iplen));
	if (!fill_rport && !set_received)
		return APR_SUCCESS;
	/* Each bare ";rport" (6 octets) grows by at most 6: ×2 is room. */
	cap = 2 * s.len + iplen + 32;
	o = out = apr_palloc(pool, cap);
	o = put(o, s.ptr, (apr_size_t)(via.params.ptr - s.ptr));
	rest = via.params;
	for (seg = rest.ptr; sip_hdr_param_next(&rest, &n, &v) == APR_SUCCESS;
	     seg = rest.ptr) {
		if (set_received && sip_str_ieq(&n, "received")) {
			if (!done++)
				o += apr_snprintf(
				    o, cap - (apr_size_t)(o - out),
				    ";received=%.*s", (int)iplen, ip);
		} else if (fill_rport && v.ptr == NULL &&
			   sip_str_ieq(&n, "rport")) {
			o += apr_snprintf(o, cap - (apr_size_t)(o - out),
					  ";rport=%d", fix->rport);
		} else {
			o = put(o, seg, (apr_size_t)(rest.ptr - seg));
		}
	}
	if (set_received && !done)
		o += apr_snprintf(o, cap - (apr_size_t)(o - out),
				  ";received=%.*s", (int)iplen, ip);
	*o = '\0';
	*value = out;
	return APR_SUCCESS;
}

/* Every Via value of req, one per line, in order; the top one fixed. */
static apr_status_t copy_vias(sip_build_t *b, const sip_msg_t *req,
			      const sip_build_via_fix_t *fix)
{
	sip_hdr_iter_t it;
	sip_str_t v;
	apr_status_t rv;
	char *value;
	int top = 1;

	sip_hdr_iter_init(&it, req, SIP_HDR_VIA);
	while ((rv = sip_hdr_next(&it, &v)) == APR_SUCCESS) {
		value = clean_copy(b->pool, v.ptr, v.len);
		if (top && fix != NULL &&
		    (rv = via_fix(b->pool, &value, fix)) != APR_SUCCESS)
			return rv;
		top = 0;
		add_raw(b, "Via", value);
	}
	if (rv != SB_ENOTFOUND)
		return rv;
	return top ? SB_EMALFORMED : APR_SUCCESS;
}

/* The first field id of msg under its canonical name, folds removed. */
static apr_status_t copy_first(sip_build_t *b, const sip_msg_t *msg,
			       sip_hdr_id_e id)
{
	const sip_hdr_t *h = sip_hdr_find(msg, id);

	if (h == NULL)
		return SB_EMALFORMED;
	add_raw(b, sip_parse_hdr_name(id),
		clean_copy(b->pool, h->value.ptr, h->value.len));
	return APR_SUCCESS;
}

/* RFC 3261 8.2.6.2: a To tag on every response but 100. */
static apr_status_t copy_to(sip_build_t *b, const sip_msg_t *req, int status,
			    const char *to_tag)
{
	const sip_hdr_t *h = sip_hdr_find(req, SIP_HDR_TO);
	sip_addr_t addr;
	sip_str_t s;
	char *value;

	if (h == NULL)
		return SB_EMALFORMED;
	value = clean_copy(b->pool, h->value.ptr, h->value.len);
	if (status > 100) {
		s = sip_str(value, strlen(value));
		if (sip_hdr_addr(&s, &addr) != APR_SUCCESS)
			return SB_EMALFORMED;
		if (addr.tag.ptr == NULL)
			value = apr_pstrcat(b->pool, value, ";tag=",
					    to_tag != NULL
						? to_tag
						: sip_build_random(b->pool, 12),
					    NULL);
	}
	add_raw(b, "To", value);
	return APR_SUCCESS;
}

static int is_token(const char *s)
{
	apr_size_t n = strlen(s);

	return n > 0 && sip_parse_span(s, s + n, SIP_CC_TOKEN) == s + n;
}

apr_status_t sip_build_response(sip_build_t *b, apr_pool_t *pool,
				const sip_msg_t *req, int status,
				const char *reason, const char *to_tag,
				const sip_build_via_fix_t *fix)
{
	sip_build_t r;
	apr_status_t rv;

	if (req == NULL || !req->is_request || status < 100 || status > 699 ||
	    (to_tag != NULL && !is_token(to_tag)) ||
	    (fix != NULL && (fix->rport < 0 || fix->rport > 65535)))
		return APR_EINVAL;
	build_init(&r, pool);
	r.start_line = apr_psprintf(pool, "SIP/2.0 %d %s", status,
				    reason != NULL ? clean_str(pool, reason)
						   : sip_build_reason(status));
	if ((rv = copy_vias(&r, req, fix)) != APR_SUCCESS ||
	    (rv = copy_first(&r, req, SIP_HDR_FROM)) != APR_SUCCESS ||
	    (rv = copy_to(&r, req, status, to_tag)) != APR_SUCCESS ||
	    (rv = copy_first(&r, req, SIP_HDR_CALL_ID)) != APR_SUCCESS ||
	    (rv = copy_first(&r, req, SIP_HDR_CSEQ)) != APR_SUCCESS)
		return rv;
	/* RFC 3261 8.2.6.1: a 100 echoes the Timestamp for RTT estimates. */
	if (status == 100 && sip_hdr_find(req, SIP_HDR_TIMESTAMP) != NULL)
		copy_first(&r, req, SIP_HDR_TIMESTAMP);
	*b = r;
	return APR_SUCCESS;
}

/*
 * What ACK (RFC 3261 17.1.1.3) and CANCEL (9.1) share: the INVITE's
 * Request-URI, top Via only (same branch: it matches the transaction),
 * Route set, From, Call-ID and CSeq number; To from @p to_src.
 */
static apr_status_t build_sibling(sip_build_t *b, apr_pool_t *pool,
				  const sip_msg_t *invite,
				  const sip_msg_t *to_src, const char *method)
{
	sip_build_t r;
	sip_hdr_iter_t it;
	sip_str_t top;
	apr_size_t i;
	apr_status_t rv;

	sip_build_request(
	    &r, pool, method,
	    clean_copy(pool, invite->ruri_str.ptr, invite->ruri_str.len));
	sip_hdr_iter_init(&it, invite, SIP_HDR_VIA);
	if (sip_hdr_next(&it, &top) != APR_SUCCESS)
		return SB_EMALFORMED;
	add_raw(&r, "Via", clean_copy(pool, top.ptr, top.len));
	for (i = 0; i < invite->nhdrs; i++)
		if (invite->hdrs[i].id == SIP_HDR_ROUTE)
			add_raw(&r, "Route",
				clean_copy(pool, invite->hdrs[i].value.ptr,
					   invite->hdrs[i].value.len));
	add_raw(&r, "Max-Forwards", "70");
	if ((rv = copy_first(&r, invite, SIP_HDR_FROM)) != APR_SUCCESS ||
	    (rv = copy_first(&r, to_src, SIP_HDR_TO)) != APR_SUCCESS ||
	    (rv = copy_first(&r, invite, SIP_HDR_CALL_ID)) != APR_SUCCESS)
		return rv;
	add_raw(&r, "CSeq",
		apr_psprintf(pool, "%u %s", (unsigned)invite->cseq, method));
	*b = r;
	return APR_SUCCESS;
}

static int is_invite(const sip_msg_t *m)
{
	return m != NULL && m->is_request && m->method == SIP_METHOD_INVITE;
}

apr_status_t sip_build_ack_non2xx(sip_build_t *b, apr_pool_t *pool,
				  const sip_msg_t *invite,
				  const sip_msg_t *resp)
{
	/* A 2xx is ACKed end to end by the dialog, not here. */
	if (!is_invite(invite) || resp == NULL || resp->is_request ||
	    resp->status < 300 || resp->cseq != invite->cseq ||
	    resp->cseq_method != SIP_METHOD_INVITE)
		return APR_EINVAL;
	return build_sibling(b, pool, invite, resp, "ACK");
}

apr_status_t sip_build_cancel(sip_build_t *b, apr_pool_t *pool,
			      const sip_msg_t *invite)
{
	if (!is_invite(invite))
		return APR_EINVAL;
	return build_sibling(b, pool, invite, invite, "CANCEL");
}
