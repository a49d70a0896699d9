/* sip_uri.c — SIP, SIPS and TEL URIs parsed in place, escapes checked. */
#include <arpa/inet.h>
#include <apr_lib.h>
#include "sip_msg.h"

static int hexval(char c)
{
	return sip_parse_is((unsigned char)c, SIP_CC_HEX);
}

/*
 * Run of @p cls characters and %HH escapes from @p p; NULL when a '%'
 * is not followed by two hex digits (RFC 3261 25.1 "escaped").
 */
static const char *span_esc(const char *p, const char *end, unsigned cls)
{
	while (p < end) {
		if (*p == '%') {
			if (end - p < 3 || !hexval(p[1]) || !hexval(p[2]))
				return NULL;
			p += 3;
		} else if (sip_parse_is((unsigned char)*p, cls)) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

int sip_uri_is_ipv4(const char *s, apr_size_t len)
{
	const char *p = s, *end = s + len, *d;
	int parts = 0, v;

	while (p < end) {
		d = p;
		v = 0;
		while (p < end && *p >= '0' && *p <= '9' && p - d < 3)
			v = v * 10 + (*p++ - '0');
		if (p == d || v > 255 || ++parts > 4)
			return 0;
		if (p < end && *p++ != '.')
			return 0;
		if (p == end && p[-1] == '.')
			return 0;
	}
	return parts == 4;
}

int sip_uri_is_ipv6(const char *s, apr_size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	apr_size_t i;

	if (len < 2 || len >= sizeof(tmp))
		return 0;
	for (i = 0; i < len; i++)
		if (!hexval(s[i]) && s[i] != ':' && s[i] != '.')
			return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, bin) == 1;
}

/* hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 25.1). */
static int is_hostname(const char *s, apr_size_t len)
{
	const char *p = s, *end = s + len, *label = s, *top = NULL;

	if (len == 0 || len > 255)
		return 0;
	if (end[-1] == '.')
		end--;
	for (; p <= end; p++) {
		if (p < end && *p != '.') {
			if (!sip_parse_is((unsigned char)*p, SIP_CC_HOST))
				return 0;
			continue;
		}
		if (p == label || *label == '-' || p[-1] == '-')
			return 0;
		top = label;
		label = p + 1;
	}
	return top != NULL && sip_parse_is((unsigned char)*top, SIP_CC_ALPHA);
}

sip_host_type_e sip_uri_host_type(const char *s, apr_size_t len)
{
	apr_size_t i;

	if (len >= 2 && s[0] == '[')
		return s[len - 1] == ']' && sip_uri_is_ipv6(s + 1, len - 2)
			   ? SIP_HOST_IPV6
			   : SIP_HOST_NONE;
	for (i = 0; i < len; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '.')
			break;
	if (len > 0 && i == len)
		return sip_uri_is_ipv4(s, len) ? SIP_HOST_IPV4 : SIP_HOST_NONE;
	return is_hostname(s, len) ? SIP_HOST_NAME : SIP_HOST_NONE;
}

/* Note the uri-parameters RFC 3261 19.1.1 gives a meaning. */
static apr_status_t known_param(sip_uri_t *uri, const sip_str_t *name,
				const sip_str_t *value, int has_value)
{
	apr_uint64_t v;

	if (sip_str_ieq(name, "lr")) {
		uri->lr = 1;
	} else if (sip_str_ieq(name, "transport") && has_value) {
		uri->transport = *value;
	} else if (sip_str_ieq(name, "user") && has_value) {
		uri->user_param = *value;
	} else if (sip_str_ieq(name, "method") && has_value) {
		uri->method = *value;
	} else if (sip_str_ieq(name, "maddr")) {
		if (!has_value ||
		    sip_uri_host_type(value->ptr, value->len) == SIP_HOST_NONE)
			return SB_EMALFORMED;
		uri->maddr = *value;
	} else if (sip_str_ieq(name, "ttl")) {
		if (!has_value || value->len > 3 ||
		    sip_parse_uint(value->ptr, value->len, 255, &v))
			return SB_EMALFORMED;
		uri->ttl = (int)v;
	}
	return APR_SUCCESS;
}

/* *( ";" pname [ "=" pvalue ] ) up to '?' or the end. */
static apr_status_t parse_params(sip_uri_t *uri, const char **pp,
				 const char *end, int tel)
{
	const char *p = *pp, *start = p + 1, *n;
	sip_str_t name, value;
	int has_value;

	while (p < end && *p == ';') {
		n = ++p;
		p = tel ? sip_parse_span(p, end, SIP_CC_HOST)
			: span_esc(p, end, SIP_CC_PARAM);
		if (p == NULL || p == n)
			return SB_EMALFORMED;
		name = sip_str(n, (apr_size_t)(p - n));
		value = sip_str(NULL, 0);
		has_value = p < end && *p == '=';
		if (has_value) {
			n = ++p;
			p = span_esc(p, end, SIP_CC_PARAM);
			if (p == NULL || p == n)
				return SB_EMALFORMED;
			value = sip_str(n, (apr_size_t)(p - n));
		}
		if (!tel && known_param(uri, &name, &value, has_value))
			return SB_EMALFORMED;
	}
	if (p > *pp)
		uri->params = sip_str(start, (apr_size_t)(p - start));
	*pp = p;
	return APR_SUCCESS;
}

/* "?" hname "=" hvalue *( "&" hname "=" hvalue ) to the end. */
static apr_status_t parse_headers(sip_uri_t *uri, const char *p,
				  const char *end)
{
	const char *start = p + 1, *n;

	do {
		n = ++p;
		p = span_esc(p, end, SIP_CC_HNV);
		if (p == NULL || p == n || p == end || *p != '=')
			return SB_EMALFORMED;
		p = span_esc(p + 1, end, SIP_CC_HNV);
		if (p == NULL)
			return SB_EMALFORMED;
	} while (p < end && *p == '&');
	if (p != end)
		return SB_EMALFORMED;
	uri->headers = sip_str(start, (apr_size_t)(end - start));
	return APR_SUCCESS;
}

/* userinfo "@": user [ ":" password ]; the '@' is never escaped-free. */
static apr_status_t parse_userinfo(sip_uri_t *uri, const char *p,
				   const char *at)
{
	const char *q = span_esc(p, at, SIP_CC_USER);

	if (q == NULL || q == p)
		return SB_EMALFORMED;
	uri->user = sip_str(p, (apr_size_t)(q - p));
	if (q == at)
		return APR_SUCCESS;
	if (*q != ':')
		return SB_EMALFORMED;
	uri->has_password = 1;
	p = q + 1;
	q = span_esc(p, at, SIP_CC_PASS);
	if (q != at)
		return SB_EMALFORMED;
	uri->password = sip_str(p, (apr_size_t)(at - p));
	return APR_SUCCESS;
}

/* SIP-URI / SIPS-URI after "sip:" (RFC 3261 19.1.1, 25.1). */
static apr_status_t parse_sip(sip_uri_t *uri, const char *p, const char *end)
{
	const char *at = memchr(p, '@', (apr_size_t)(end - p)), *d;
	apr_uint64_t port;

	if (at != NULL) {
		/* '@' is in no character class after userinfo. */
		if (memchr(at + 1, '@', (apr_size_t)(end - at - 1)) != NULL ||
		    parse_userinfo(uri, p, at) != APR_SUCCESS)
			return SB_EMALFORMED;
		p = at + 1;
	}
	if (sip_uri_scan_host(&p, end, &uri->host, &uri->host_type) !=
	    APR_SUCCESS)
		return SB_EMALFORMED;
	if (p < end && *p == ':') {
		d = ++p;
		p = sip_parse_span(p, end, SIP_CC_DIGIT);
		if (p - d > 5 ||
		    sip_parse_uint(d, (apr_size_t)(p - d), 65535, &port))
			return SB_EMALFORMED;
		uri->port = (int)port;
	}
	if (p < end && *p == ';' && parse_params(uri, &p, end, 0))
		return SB_EMALFORMED;
	if (p < end && *p == '?')
		return parse_headers(uri, p, end);
	return p == end ? APR_SUCCESS : SB_EMALFORMED;
}

/* telephone-subscriber of RFC 3966 3: global or local number, params. */
static apr_status_t parse_tel(sip_uri_t *uri, const char *p, const char *end)
{
	const char *n = p;
	int global = p < end && *p == '+', digits = 0;

	for (p += global; p < end && *p != ';'; p++) {
		if (*p == '-' || *p == '.' || *p == '(' || *p == ')')
			continue;
		if ((*p >= '0' && *p <= '9') ||
		    (!global && (hexval(*p) || *p == '*' || *p == '#')))
			digits++;
		else
			return SB_EMALFORMED;
	}
	if (digits == 0)
		return SB_EMALFORMED;
	uri->user = sip_str(n, (apr_size_t)(p - n));
	if (p < end && parse_params(uri, &p, end, 1))
		return SB_EMALFORMED;
	return p == end ? APR_SUCCESS : SB_EMALFORMED;
}

/* The grammar of sip_uri_parse(), filling *uri as it goes. */
static apr_status_t parse_uri(const char *s, apr_size_t len, sip_uri_t *uri)
{
	const char *end = s + len, *p;

	memset(uri, 0, sizeof(*uri));
	uri->port = -1;
	uri->ttl = -1;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (len == 0 || !sip_parse_is((unsigned char)*s, SIP_CC_ALPHA))
		return SB_EMALFORMED;
	for (p = s + 1;
	     p < end && (sip_parse_is((unsigned char)*p, SIP_CC_ALPHA) ||
			 sip_parse_is((unsigned char)*p, SIP_CC_DIGIT) ||
			 *p == '+' || *p == '-' || *p == '.');
	     p++)
		;
	if (p == end || *p != ':' || p + 1 == end)
		return SB_EMALFORMED;
	uri->scheme_name = sip_str(s, (apr_size_t)(p - s));
	p++;
	if (sip_str_ieq(&uri->scheme_name, "sip"))
		return parse_sip(uri, p, end);
	if (sip_str_ieq(&uri->scheme_name, "sips")) {
		uri->scheme = SIP_URI_SIPS;
		return parse_sip(uri, p, end);
	}
	if (sip_str_ieq(&uri->scheme_name, "tel")) {
		uri->scheme = SIP_URI_TEL;
		return parse_tel(uri, p, end);
	}
	/* absoluteURI (RFC 3261 25.1): uric characters, escapes checked. */
	uri->scheme = SIP_URI_OTHER;
	uri->opaque = sip_str(p, (apr_size_t)(end - p));
	p = span_esc(p, end, SIP_CC_URIC);
	return p == end ? APR_SUCCESS : SB_EMALFORMED;
}

apr_status_t sip_uri_scan_host(const char **pp, const char *end,
			       sip_str_t *host, sip_host_type_e *type)
{
	const char *h = *pp, *p = h;

	if (p < end && *p == '[') {
		p = memchr(p, ']', (apr_size_t)(end - p));
		if (p == NULL)
			return SB_EMALFORMED;
		p++;
	} else {
		p = sip_parse_span(p, end, SIP_CC_HOST);
	}
	*host = sip_str(h, (apr_size_t)(p - h));
	*type = sip_uri_host_type(h, host->len);
	if (*type == SIP_HOST_NONE)
		return SB_EMALFORMED;
	*pp = p;
	return APR_SUCCESS;
}

apr_status_t sip_uri_parse(const char *s, apr_size_t len, sip_uri_t *uri)
{
	sip_uri_t u;

	if (len == 0 || parse_uri(s, len, &u) != APR_SUCCESS)
		return SB_EMALFORMED;
	*uri = u;
	return APR_SUCCESS;
}

apr_status_t sip_uri_param(const sip_uri_t *uri, const char *name,
			   sip_str_t *value)
{
	const char *p = uri->params.ptr, *end, *e, *eq;
	sip_str_t pn;

	if (uri->params.len == 0)
		return SB_ENOTFOUND;
	for (end = p + uri->params.len; p < end;) {
		e = memchr(p, ';', (apr_size_t)(end - p));
		if (e == NULL)
			e = end;
		eq = memchr(p, '=', (apr_size_t)(e - p));
		pn = sip_str(p, (apr_size_t)((eq != NULL ? eq : e) - p));
		if (sip_str_ieq(&pn, name)) {
			*value = eq != NULL
				     ? sip_str(eq + 1, (apr_size_t)(e - eq - 1))
				     : sip_str(e, 0);
			return APR_SUCCESS;
		}
		if (e == end)
			break;
		p = e + 1;
	}
	return SB_ENOTFOUND;
}

apr_status_t sip_uri_unescape(const sip_str_t *in, char *out, apr_size_t outlen,
			      apr_size_t *outlenp)
{
	const char *p = in->ptr, *end = in->len ? p + in->len : p;
	apr_size_t n = 0;
	int hi, lo;

	for (; p < end; n++) {
		if (n + 1 >= outlen)
			return SB_ETOOBIG;
		if (*p != '%') {
			out[n] = *p++;
			continue;
		}
		if (end - p < 3 || !hexval(p[1]) || !hexval(p[2]))
			return SB_EMALFORMED;
		hi = apr_isdigit(p[1]) ? p[1] - '0'
				       : apr_tolower(p[1]) - 'a' + 10;
		lo = apr_isdigit(p[2]) ? p[2] - '0'
				       : apr_tolower(p[2]) - 'a' + 10;
		out[n] = (char)(hi * 16 + lo);
		p += 3;
	}
	if (outlen == 0)
		return SB_ETOOBIG;
	out[n] = '\0';
	*outlenp = n;
	return APR_SUCCESS;
}
