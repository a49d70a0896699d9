/* sip_hdr.c — header lookup, value lists and on-demand header parsers. */
#include <stddef.h>
#include "sip_msg.h"

/* Headers whose grammar is a comma-separated list (RFC 3261 7.3.1). */
#define LIST(id) ((apr_uint64_t)1 << (id))
static const apr_uint64_t list_hdr =
    LIST(SIP_HDR_ACCEPT) | LIST(SIP_HDR_ACCEPT_CONTACT) |
    LIST(SIP_HDR_ACCEPT_ENCODING) | LIST(SIP_HDR_ACCEPT_LANGUAGE) |
    LIST(SIP_HDR_ALERT_INFO) | LIST(SIP_HDR_ALLOW) |
    LIST(SIP_HDR_ALLOW_EVENTS) | LIST(SIP_HDR_CALL_INFO) |
    LIST(SIP_HDR_CONTACT) | LIST(SIP_HDR_CONTENT_ENCODING) |
    LIST(SIP_HDR_CONTENT_LANGUAGE) | LIST(SIP_HDR_ERROR_INFO) |
    LIST(SIP_HDR_IN_REPLY_TO) | LIST(SIP_HDR_PATH) |
    LIST(SIP_HDR_PROXY_REQUIRE) | LIST(SIP_HDR_RECORD_ROUTE) |
    LIST(SIP_HDR_REJECT_CONTACT) | LIST(SIP_HDR_REQUEST_DISPOSITION) |
    LIST(SIP_HDR_REQUIRE) | LIST(SIP_HDR_ROUTE) | LIST(SIP_HDR_SUPPORTED) |
    LIST(SIP_HDR_UNSUPPORTED) | LIST(SIP_HDR_VIA) | LIST(SIP_HDR_WARNING);

const sip_hdr_t *sip_hdr_find(const sip_msg_t *msg, sip_hdr_id_e id)
{
	apr_size_t i;

	for (i = 0; i < msg->nhdrs; i++)
		if (msg->hdrs[i].id == id)
			return &msg->hdrs[i];
	return NULL;
}

const sip_hdr_t *sip_hdr_find_name(const sip_msg_t *msg, const char *name)
{
	apr_size_t i;

	for (i = 0; i < msg->nhdrs; i++)
		if (sip_str_ieq(&msg->hdrs[i].name, name))
			return &msg->hdrs[i];
	return NULL;
}

apr_size_t sip_hdr_count(const sip_msg_t *msg, sip_hdr_id_e id)
{
	apr_size_t i, n = 0;

	for (i = 0; i < msg->nhdrs; i++)
		n += msg->hdrs[i].id == id;
	return n;
}

void sip_hdr_iter_init(sip_hdr_iter_t *it, const sip_msg_t *msg,
		       sip_hdr_id_e id)
{
	memset(it, 0, sizeof(*it));
	it->msg = msg;
	it->id = id;
	it->split = id < SIP_HDR_COUNT && (list_hdr & LIST(id)) != 0;
}

void sip_hdr_iter_init_name(sip_hdr_iter_t *it, const sip_msg_t *msg,
			    const char *name)
{
	memset(it, 0, sizeof(*it));
	it->msg = msg;
	it->id = SIP_HDR_OTHER;
	it->name = sip_str(name, strlen(name));
}

/* End of one list element: the first ',' outside quotes and <>. */
static const char *element_end(const char *p, const char *end)
{
	int angle = 0;

	for (; p < end; p++) {
		if (*p == '"' && !angle) {
			if (sip_parse_quoted(&p, end, &(sip_str_t){0}) !=
			    APR_SUCCESS)
				return NULL;
			p--;
		} else if (*p == '<') {
			if (angle++) /* URIs hold no '<': a '>' went missing */
				return NULL;
		} else if (*p == '>') {
			angle = 0;
		} else if (*p == ',' && !angle) {
			return p;
		}
	}
	return angle ? NULL : end;
}

/* End of a slice; a NULL empty slice stays NULL (no NULL + 0). */
static const char *end_of(const sip_str_t *s)
{
	return s->len ? s->ptr + s->len : s->ptr;
}

static sip_str_t trim(const char *p, const char *end)
{
	p = sip_parse_lws(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	return sip_str(p, (apr_size_t)(end - p));
}

apr_status_t sip_hdr_next(sip_hdr_iter_t *it, sip_str_t *value)
{
	const sip_hdr_t *h;
	const char *p, *end, *e;
	sip_str_t t;

	if (it->id == SIP_HDR_OTHER && it->name.ptr == NULL)
		return SB_ENOTFOUND;
	for (; it->index < it->msg->nhdrs; it->index++, it->pos = 0) {
		h = &it->msg->hdrs[it->index];
		if (it->id != SIP_HDR_OTHER
			? h->id != it->id
			: !sip_str_ieq(&h->name, it->name.ptr))
			continue;
		if (it->pos > h->value.len ||
		    (it->pos == 0 && h->value.len == 0 && it->split))
			continue;
		if (!it->split) {
			it->pos = h->value.len + 1;
			*value = h->value;
			return APR_SUCCESS;
		}
		p = h->value.ptr + it->pos;
		end = h->value.ptr + h->value.len;
		e = element_end(p, end);
		if (e == NULL || (t = trim(p, e)).len == 0)
			return SB_EMALFORMED;
		it->pos = (apr_size_t)(e - h->value.ptr) + 1;
		*value = t;
		return APR_SUCCESS;
	}
	return SB_ENOTFOUND;
}

/* gen-value = token / host / quoted-string (RFC 3261 25.1). */
static const char *gen_value(const char *p, const char *end, sip_str_t *v)
{
	const char *s = p;

	if (p < end && *p == '"') {
		if (sip_parse_quoted(&p, end, &(sip_str_t){0}) != APR_SUCCESS)
			return NULL;
	} else {
		while (p < end &&
		       (sip_parse_is((unsigned char)*p, SIP_CC_TOKEN) ||
			*p == ':' || *p == '[' || *p == ']'))
			p++;
		if (p == s)
			return NULL;
	}
	*v = sip_str(s, (apr_size_t)(p - s));
	return p;
}

apr_status_t sip_hdr_param_next(sip_str_t *params, sip_str_t *name,
				sip_str_t *value)
{
	const char *p = params->ptr, *end, *n;
	sip_str_t nm, v = sip_str(NULL, 0);

	if (params->len == 0)
		return SB_ENOTFOUND;
	end = p + params->len;
	p = sip_parse_lws(p, end);
	if (p == end)
		return SB_ENOTFOUND;
	if (*p != ';')
		return SB_EMALFORMED;
	p = sip_parse_lws(p + 1, end);
	n = sip_parse_span(p, end, SIP_CC_TOKEN);
	if (n == p)
		return SB_EMALFORMED;
	nm = sip_str(p, (apr_size_t)(n - p));
	p = sip_parse_lws(n, end);
	if (p < end && *p == '=') {
		p = gen_value(sip_parse_lws(p + 1, end), end, &v);
		if (p == NULL)
			return SB_EMALFORMED;
	}
	*name = nm;
	*value = v;
	*params = sip_str(p, (apr_size_t)(end - p));
	return APR_SUCCESS;
}

apr_status_t sip_hdr_param_find(const sip_str_t *params, const char *name,
				sip_str_t *value)
{
	sip_str_t rest = *params, n, v;
	apr_status_t rv;

	while ((rv = sip_hdr_param_next(&rest, &n, &v)) == APR_SUCCESS) {
		if (sip_str_ieq(&n, name)) {
			*value = v;
			return APR_SUCCESS;
		}
	}
	return rv;
}

/* Check every param of [p, end); the slice goes to *params. */
static apr_status_t check_params(const char *p, const char *end,
				 sip_str_t *params)
{
	sip_str_t rest, n, v;
	apr_status_t rv;

	p = sip_parse_lws(p, end);
	rest = sip_str(p, (apr_size_t)(end - p));
	*params = rest;
	while ((rv = sip_hdr_param_next(&rest, &n, &v)) == APR_SUCCESS)
		;
	return rv == SB_ENOTFOUND ? APR_SUCCESS : rv;
}

/* Display name before '<': a quoted-string or *(token LWS); p moves. */
static apr_status_t display_name(const char **pp, const char *end,
				 sip_str_t *display, int *name_addr)
{
	const char *p = *pp, *q = p, *last = p, *t;

	*name_addr = 0;
	if (*p == '"') {
		if (sip_parse_quoted(&q, end, &(sip_str_t){0}) != APR_SUCCESS)
			return SB_EMALFORMED;
		last = q;
		q = sip_parse_lws(q, end);
		if (q == end || *q != '<')
			return SB_EMALFORMED;
	} else {
		/* RFC 4475 lwsdisp: no LWS needed between token and '<'. */
		while ((t = sip_parse_span(q, end, SIP_CC_TOKEN)) != q) {
			last = t;
			q = sip_parse_lws(t, end);
		}
		if (q == end || *q != '<')
			return APR_SUCCESS; /* an addr-spec */
	}
	*display = sip_str(p, (apr_size_t)(last - p));
	*name_addr = 1;
	*pp = q;
	return APR_SUCCESS;
}

static apr_status_t parse_addr(const sip_str_t *value, sip_addr_t *a,
			       int need_brackets)
{
	const char *p = value->ptr, *end = end_of(value), *u, *ue;
	int name_addr;

	memset(a, 0, sizeof(*a));
	p = sip_parse_lws(p, end);
	if (p == end || display_name(&p, end, &a->display, &name_addr))
		return SB_EMALFORMED;
	if (name_addr) {
		u = p + 1;
		ue = memchr(u, '>', (apr_size_t)(end - u));
		if (ue == NULL)
			return SB_EMALFORMED;
		p = ue + 1;
		a->bracketed = 1;
	} else {
		if (need_brackets)
			return SB_EMALFORMED;
		/* RFC 3261 20.10: with , ; ? the URI needs <> (regbadct). */
		u = p;
		for (ue = u;
		     ue < end && *ue != ';' && *ue != ',' && *ue != '?' &&
		     *ue != ' ' && *ue != '\t' && *ue != '\r' && *ue != '\n';
		     ue++)
			;
		p = ue;
	}
	a->uri_str = sip_str(u, (apr_size_t)(ue - u));
	/* No LWS inside <> (badaspec): sip_uri_parse() rejects it. */
	if (sip_uri_parse(u, a->uri_str.len, &a->uri) != APR_SUCCESS ||
	    check_params(p, end, &a->params) != APR_SUCCESS)
		return SB_EMALFORMED;
	if (sip_hdr_param_find(&a->params, "tag", &a->tag) == APR_SUCCESS &&
	    (a->tag.ptr == NULL || *a->tag.ptr == '"'))
		return SB_EMALFORMED;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_addr(const sip_str_t *value, sip_addr_t *addr)
{
	sip_addr_t a;

	if (parse_addr(value, &a, 0) != APR_SUCCESS)
		return SB_EMALFORMED;
	*addr = a;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_route(const sip_str_t *value, sip_addr_t *addr)
{
	sip_addr_t a;

	if (parse_addr(value, &a, 1) != APR_SUCCESS)
		return SB_EMALFORMED;
	*addr = a;
	return APR_SUCCESS;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static apr_status_t qvalue(const sip_str_t *v, int *q)
{
	apr_size_t i;
	int r;

	if (v->ptr == NULL || v->len == 0 || v->len > 5 ||
	    (v->ptr[0] != '0' && v->ptr[0] != '1') ||
	    (v->len > 1 && v->ptr[1] != '.'))
		return SB_EMALFORMED;
	r = (v->ptr[0] - '0') * 1000;
	for (i = 2; i < v->len; i++) {
		if (v->ptr[i] < '0' || v->ptr[i] > '9')
			return SB_EMALFORMED;
		r += (v->ptr[i] - '0') * (i == 2 ? 100 : i == 3 ? 10 : 1);
	}
	if (r > 1000)
		return SB_EMALFORMED;
	*q = r;
	return APR_SUCCESS;
}

static apr_status_t contact_param(sip_contact_t *c, const sip_str_t *n,
				  const sip_str_t *v)
{
	apr_uint64_t x;

	if (sip_str_ieq(n, "expires")) {
		if (v->ptr == NULL ||
		    sip_parse_uint(v->ptr, v->len, 0xffffffffu, &x))
			return SB_EMALFORMED;
		c->expires = (apr_int64_t)x;
	} else if (sip_str_ieq(n, "q")) {
		return qvalue(v, &c->q);
	} else if (sip_str_ieq(n, "+sip.instance")) {
		/* RFC 5626 4.1: a quoted "<urn:...>". */
		if (v->len < 2 || v->ptr[0] != '"')
			return SB_EMALFORMED;
		c->instance = sip_str(v->ptr + 1, v->len - 2);
	} else if (sip_str_ieq(n, "reg-id")) {
		if (v->ptr == NULL ||
		    sip_parse_uint(v->ptr, v->len, 0x7fffffff, &x) || x == 0)
			return SB_EMALFORMED;
		c->reg_id = (apr_int64_t)x;
	}
	return APR_SUCCESS;
}

apr_status_t sip_hdr_contact(const sip_str_t *value, sip_contact_t *out)
{
	sip_str_t t = trim(value->ptr, end_of(value)), rest, n, v;
	sip_contact_t cc, *c = &cc;
	apr_status_t rv;

	memset(c, 0, sizeof(*c));
	c->expires = -1;
	c->q = -1;
	c->reg_id = -1;
	if (t.len == 1 && t.ptr[0] == '*') {
		c->star = 1;
	} else {
		if (parse_addr(value, &c->addr, 0) != APR_SUCCESS)
			return SB_EMALFORMED;
		rest = c->addr.params;
		while ((rv = sip_hdr_param_next(&rest, &n, &v)) == APR_SUCCESS)
			if (contact_param(c, &n, &v) != APR_SUCCESS)
				return SB_EMALFORMED;
	}
	*out = cc;
	return APR_SUCCESS;
}

/* SWS c SWS (RFC 3261 25.1 SLASH, COLON, ...); NULL when c is absent. */
static const char *sws_char(const char *p, const char *end, char c)
{
	p = sip_parse_lws(p, end);
	if (p == end || *p != c)
		return NULL;
	return sip_parse_lws(p + 1, end);
}

/* A token at p, non-empty; NULL otherwise. */
static const char *token(const char *p, const char *end, sip_str_t *t)
{
	const char *e = sip_parse_span(p, end, SIP_CC_TOKEN);

	if (e == p)
		return NULL;
	*t = sip_str(p, (apr_size_t)(e - p));
	return e;
}

/* host [ COLON port ] of a Via sent-by; p moves past it. */
static apr_status_t sent_by(const char **pp, const char *end, sip_via_t *v)
{
	const char *p = *pp, *d;
	apr_uint64_t port;

	if (sip_uri_scan_host(&p, end, &v->host, &v->host_type) !=
	    APR_SUCCESS)
		return SB_EMALFORMED;
	d = sws_char(p, end, ':');
	if (d != NULL) {
		p = sip_parse_span(d, end, SIP_CC_DIGIT);
		if (p - d > 5 ||
		    sip_parse_uint(d, (apr_size_t)(p - d), 65535, &port))
			return SB_EMALFORMED;
		v->port = (int)port;
	}
	*pp = p;
	return APR_SUCCESS;
}

static apr_status_t via_param(sip_via_t *v, const sip_str_t *n,
			      const sip_str_t *val)
{
	apr_uint64_t x;

	if (sip_str_ieq(n, "rport")) {
		/* RFC 3581: empty in requests, the port in responses. */
		if (val->ptr == NULL) {
			v->rport = 0;
			return APR_SUCCESS;
		}
		if (sip_parse_uint(val->ptr, val->len, 65535, &x) || x == 0)
			return SB_EMALFORMED;
		v->rport = (int)x;
		return APR_SUCCESS;
	}
	if (val->ptr == NULL || *val->ptr == '"')
		return sip_str_ieq(n, "branch") || sip_str_ieq(n, "received") ||
			       sip_str_ieq(n, "maddr") || sip_str_ieq(n, "ttl")
			   ? SB_EMALFORMED
			   : APR_SUCCESS;
	if (sip_str_ieq(n, "branch")) {
		v->branch = *val;
	} else if (sip_str_ieq(n, "received")) {
		/* IPv4 or IPv6, brackets optional (RFC 5118 4.5). */
		if (!sip_uri_is_ipv4(val->ptr, val->len) &&
		    !sip_uri_is_ipv6(val->ptr, val->len) &&
		    sip_uri_host_type(val->ptr, val->len) != SIP_HOST_IPV6)
			return SB_EMALFORMED;
		v->received = *val;
	} else if (sip_str_ieq(n, "maddr")) {
		if (sip_uri_host_type(val->ptr, val->len) == SIP_HOST_NONE)
			return SB_EMALFORMED;
		v->maddr = *val;
	} else if (sip_str_ieq(n, "ttl")) {
		if (val->len > 3 || sip_parse_uint(val->ptr, val->len, 255, &x))
			return SB_EMALFORMED;
		v->ttl = (int)x;
	}
	return APR_SUCCESS;
}

apr_status_t sip_hdr_via(const sip_str_t *value, sip_via_t *out)
{
	const char *p = value->ptr, *end = end_of(value), *q;
	sip_str_t rest, n, v;
	sip_via_t vv, *via = &vv;
	apr_status_t rv;

	memset(via, 0, sizeof(*via));
	via->port = -1;
	via->rport = -1;
	via->ttl = -1;
	/* sent-protocol = name SLASH version SLASH transport, then LWS */
	p = sip_parse_lws(p, end);
	if ((p = token(p, end, &via->protocol)) == NULL ||
	    (p = sws_char(p, end, '/')) == NULL ||
	    (p = token(p, end, &via->version)) == NULL ||
	    (p = sws_char(p, end, '/')) == NULL ||
	    (p = token(p, end, &via->transport)) == NULL)
		return SB_EMALFORMED;
	q = sip_parse_lws(p, end);
	if (q == p || sent_by(&q, end, via) != APR_SUCCESS)
		return SB_EMALFORMED;
	if (check_params(q, end, &via->params) != APR_SUCCESS)
		return SB_EMALFORMED;
	rest = via->params;
	while ((rv = sip_hdr_param_next(&rest, &n, &v)) == APR_SUCCESS)
		if (via_param(via, &n, &v) != APR_SUCCESS)
			return SB_EMALFORMED;
	if (rv != SB_ENOTFOUND)
		return SB_EMALFORMED;
	*out = vv;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_cseq(const sip_str_t *value, apr_uint32_t *seq,
			  sip_str_t *method)
{
	const char *p = value->ptr, *end = end_of(value), *d, *q;
	apr_uint64_t n;
	sip_str_t m;

	d = sip_parse_lws(p, end);
	p = sip_parse_span(d, end, SIP_CC_DIGIT);
	/* RFC 3261 8.1.1.5: below 2**31 (RFC 4475 scalar02, scalarlg). */
	if (sip_parse_uint(d, (apr_size_t)(p - d), 0x7fffffff, &n))
		return SB_EMALFORMED;
	q = sip_parse_lws(p, end);
	if (q == p || (q = token(q, end, &m)) == NULL ||
	    sip_parse_lws(q, end) != end)
		return SB_EMALFORMED;
	*seq = (apr_uint32_t)n;
	*method = m;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_call_id(const sip_str_t *value)
{
	const char *p = value->ptr, *end = end_of(value), *w;

	w = sip_parse_span(p, end, SIP_CC_WORD);
	if (w == p)
		return SB_EMALFORMED;
	if (w < end && *w == '@') {
		p = w + 1;
		w = sip_parse_span(p, end, SIP_CC_WORD);
		if (w == p)
			return SB_EMALFORMED;
	}
	return w == end ? APR_SUCCESS : SB_EMALFORMED;
}

/* 1*DIGIT with nothing else but surrounding LWS, at most max. */
static apr_status_t number(const sip_str_t *value, apr_uint64_t max,
			   apr_uint64_t *out)
{
	sip_str_t t = trim(value->ptr, end_of(value));

	return sip_parse_uint(t.ptr, t.len, max, out);
}

apr_status_t sip_hdr_max_forwards(const sip_str_t *value, int *hops)
{
	apr_uint64_t n;

	if (number(value, 255, &n) != APR_SUCCESS)
		return SB_EMALFORMED;
	*hops = (int)n;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_content_length(const sip_str_t *value, apr_size_t max,
				    apr_size_t *out)
{
	apr_uint64_t n;

	/* RFC 4475 ncl: a sign or junk is malformed, never negative. */
	if (number(value, max, &n) != APR_SUCCESS)
		return SB_EMALFORMED;
	*out = (apr_size_t)n;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_expires(const sip_str_t *value, apr_uint32_t *secs)
{
	apr_uint64_t n;

	if (number(value, 0xffffffffu, &n) != APR_SUCCESS)
		return SB_EMALFORMED;
	*secs = (apr_uint32_t)n;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_content_type(const sip_str_t *value, sip_ctype_t *ct)
{
	const char *p = value->ptr, *end = end_of(value);
	sip_ctype_t c;

	p = sip_parse_lws(p, end);
	if ((p = token(p, end, &c.type)) == NULL ||
	    (p = sws_char(p, end, '/')) == NULL ||
	    (p = token(p, end, &c.subtype)) == NULL ||
	    check_params(p, end, &c.params) != APR_SUCCESS)
		return SB_EMALFORMED;
	*ct = c;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_token(const sip_str_t *value, sip_str_t *tok)
{
	sip_str_t t = trim(value->ptr, end_of(value));

	if (t.len == 0 ||
	    sip_parse_span(t.ptr, t.ptr + t.len, SIP_CC_TOKEN) != t.ptr + t.len)
		return SB_EMALFORMED;
	*tok = t;
	return APR_SUCCESS;
}

apr_status_t sip_hdr_has_token(const sip_msg_t *msg, sip_hdr_id_e id,
			       const char *tag, int *found)
{
	sip_hdr_iter_t it;
	sip_str_t v, t;
	apr_status_t rv;
	int hit = 0;

	sip_hdr_iter_init(&it, msg, id);
	while ((rv = sip_hdr_next(&it, &v)) == APR_SUCCESS) {
		if (sip_hdr_token(&v, &t) != APR_SUCCESS)
			return SB_EMALFORMED;
		hit |= sip_str_ieq(&t, tag);
	}
	if (rv != SB_ENOTFOUND)
		return rv;
	*found = hit;
	return APR_SUCCESS;
}

/* Index of the 3-letter name at p in a table, or -1. */
static int name3(const char *p, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (memcmp(p, names[i], 3) == 0)
			return i;
	return -1;
}

/* Two digits at p, or -1. */
static int two(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

apr_status_t sip_hdr_date(const sip_str_t *value, apr_time_t *t)
{
	static const char *const wk[] = {"Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec"};
	static const char mdays[] = {31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31};
	sip_str_t v = trim(value->ptr, end_of(value));
	const char *p = v.ptr;
	apr_time_exp_t x;

	/* "Sat, 15 Oct 2005 04:44:56 GMT": 29 octets, GMT only (baddate). */
	if (v.len != 29 || name3(p, wk, 7) < 0 || memcmp(p + 3, ", ", 2) ||
	    p[7] != ' ' || p[11] != ' ' || p[16] != ' ' || p[19] != ':' ||
	    p[22] != ':' || memcmp(p + 25, " GMT", 4))
		return SB_EMALFORMED;
	memset(&x, 0, sizeof(x));
	x.tm_mday = two(p + 5);
	x.tm_mon = name3(p + 8, mon, 12);
	x.tm_year = two(p + 12) * 100 + two(p + 14) - 1900;
	x.tm_hour = two(p + 17);
	x.tm_min = two(p + 20);
	x.tm_sec = two(p + 23);
	if (x.tm_mon < 0 || x.tm_mday < 1 || x.tm_mday > mdays[x.tm_mon] ||
	    two(p + 12) < 0 || two(p + 14) < 0 || x.tm_hour < 0 ||
	    x.tm_hour > 23 || x.tm_min < 0 || x.tm_min > 59 || x.tm_sec < 0 ||
	    x.tm_sec > 60 || x.tm_year < 70)
		return SB_EMALFORMED;
	return apr_time_exp_gmt_get(t, &x) == APR_SUCCESS ? APR_SUCCESS
							  : SB_EMALFORMED;
}

/* Digest fields by name (RFC 2617 3.2, RFC 3261 25.1). */
static const struct {
	const char *name;
	apr_size_t off;
} auth_fields[] = {
    {"username", offsetof(sip_auth_t, username)},
    {"realm", offsetof(sip_auth_t, realm)},
    {"nonce", offsetof(sip_auth_t, nonce)},
    {"uri", offsetof(sip_auth_t, uri)},
    {"response", offsetof(sip_auth_t, response)},
    {"algorithm", offsetof(sip_auth_t, algorithm)},
    {"qop", offsetof(sip_auth_t, qop)},
    {"nc", offsetof(sip_auth_t, nc)},
    {"cnonce", offsetof(sip_auth_t, cnonce)},
    {"opaque", offsetof(sip_auth_t, opaque)},
    {"stale", offsetof(sip_auth_t, stale)},
    {"domain", offsetof(sip_auth_t, domain)},
};

static apr_status_t auth_field(sip_auth_t *a, const sip_str_t *n,
			       const sip_str_t *v)
{
	sip_str_t *f;
	apr_size_t i;

	for (i = 0; i < sizeof(auth_fields) / sizeof(auth_fields[0]); i++) {
		if (!sip_str_ieq(n, auth_fields[i].name))
			continue;
		f = (sip_str_t *)((char *)a + auth_fields[i].off);
		if (f->ptr != NULL)
			return SB_EMALFORMED; /* twice: which one to trust? */
		*f = *v;
		return APR_SUCCESS;
	}
	return APR_SUCCESS;
}

apr_status_t sip_hdr_auth(const sip_str_t *value, sip_auth_t *out)
{
	const char *p = value->ptr, *end = end_of(value), *q;
	sip_auth_t aa, *a = &aa;
	sip_str_t n, v;

	memset(a, 0, sizeof(*a));
	p = sip_parse_lws(p, end);
	if ((q = token(p, end, &a->scheme)) == NULL)
		return SB_EMALFORMED;
	a->is_digest = sip_str_ieq(&a->scheme, "Digest");
	p = sip_parse_lws(q, end);
	a->params = sip_str(p, (apr_size_t)(end - p));
	/* auth-param *(COMMA auth-param), at least one, after LWS. */
	if (p == q || p == end)
		return SB_EMALFORMED;
	for (;;) {
		if ((p = token(p, end, &n)) == NULL ||
		    (p = sws_char(p, end, '=')) == NULL)
			return SB_EMALFORMED;
		if (p < end && *p == '"') {
			if (sip_parse_quoted(&p, end, &v) != APR_SUCCESS)
				return SB_EMALFORMED;
		} else if ((p = token(p, end, &v)) == NULL) {
			return SB_EMALFORMED;
		}
		if (auth_field(a, &n, &v) != APR_SUCCESS)
			return SB_EMALFORMED;
		p = sip_parse_lws(p, end);
		if (p == end) {
			*out = aa;
			return APR_SUCCESS;
		}
		if ((p = sws_char(p, end, ',')) == NULL)
			return SB_EMALFORMED;
	}
}

apr_status_t sip_hdr_unquote(const sip_str_t *inner, char *out,
			     apr_size_t outlen, apr_size_t *outlenp)
{
	const char *p = inner->ptr, *end = end_of(inner);
	apr_size_t n = 0;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		if (n + 1 >= outlen)
			return SB_ETOOBIG;
		out[n++] = *p;
	}
	if (outlen == 0)
		return SB_ETOOBIG;
	out[n] = '\0';
	*outlenp = n;
	return APR_SUCCESS;
}
