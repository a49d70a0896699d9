/* sdp.c — SDP (RFC 8866) parser and the helpers that read a session. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "sdp.h"

/* State of one sdp_parse() call. */
typedef struct {
	apr_pool_t *pool;
	sdp_session_t *s;
	sdp_media_t *m; /* section being read; NULL in the session part */
	unsigned lineno;
	unsigned nattrs;
	int have_o, have_s, have_t;
	const char *why;
} sdp_parser_t;

/* Types RFC 8866 9 allows only before the first m= line. */
static const char session_only[] = "vosueptrz";

static const char not_token[] = "network or address type is not a token";

__attribute__((format(printf, 3, 4))) static apr_status_t
fail(sdp_parser_t *p, apr_status_t rv, const char *fmt, ...)
{
	const char *msg;
	va_list ap;

	va_start(ap, fmt);
	msg = apr_pvsprintf(p->pool, fmt, ap);
	va_end(ap);
	p->why = apr_psprintf(p->pool, "line %u: %s", p->lineno, msg);
	return rv;
}

/* token-char of RFC 8866 9: visible ASCII but "(),/:;<=>?@[\]. */
static int is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]", c) == NULL;
}

static int is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_token_char((unsigned char)*s))
			return 0;
	return 1;
}

/* non-ws-string: 1*(VCHAR / %x80-FF). */
static int is_nonws(const char *s)
{
	unsigned char c;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* proto: token *("/" token), e.g. UDP/TLS/RTP/SAVPF. */
static int is_proto(const char *s)
{
	const char *start = s;

	for (;; s++) {
		if (*s == '/' || *s == '\0') {
			if (s == start)
				return 0;
			if (*s == '\0')
				return 1;
			start = s + 1;
		} else if (!is_token_char((unsigned char)*s)) {
			return 0;
		}
	}
}

/* A FQDN as c= allows it; all digits and dots is a bad address. */
static int is_hostname(const char *s)
{
	int alpha = 0;

	for (; *s != '\0'; s++) {
		if (apr_isalpha((unsigned char)*s))
			alpha = 1;
		else if (!apr_isdigit((unsigned char)*s) && *s != '-' &&
			 *s != '.')
			return 0;
	}
	return alpha;
}

/* Whether @addr is a literal of @addrtype ("IP4"/"IP6") or a name. */
static int addr_ok(const char *addrtype, const char *addr)
{
	unsigned char bin[16];
	int af = strcasecmp(addrtype, "IP6") == 0 ? AF_INET6 : AF_INET;

	return inet_pton(af, addr, bin) == 1 || is_hostname(addr);
}

/* "ttl[/count]" or "count" after a multicast address. */
static int is_mcast_suffix(const char *s)
{
	int digits = 0, slashes = 0;

	for (; *s != '\0'; s++) {
		if (apr_isdigit((unsigned char)*s)) {
			digits++;
		} else if (*s == '/' && digits > 0 && slashes == 0) {
			digits = 0;
			slashes++;
		} else {
			return 0;
		}
	}
	return digits > 0;
}

/* Decimal digits only, at most @max. */
static int parse_uint(const char *s, apr_uint64_t max, apr_uint64_t *out)
{
	apr_uint64_t v = 0, d;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		d = (apr_uint64_t)(*s - '0');
		if (v > (max - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

/*
 * Next field of a line cut in place: skips SP/HT, NUL-terminates the
 * field, returns NULL at the end. RFC 8866 wants one SP between fields;
 * runs are taken because sdp_print() writes them back as one.
 */
static char *next_field(char **pp)
{
	char *p = *pp, *start;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		*pp = p;
		return NULL;
	}
	start = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return start;
}

/* Exactly @n fields into @f; how many there were otherwise. */
static int split_exact(char *v, char **f, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if ((f[i] = next_field(&v)) == NULL)
			return i;
	return next_field(&v) == NULL ? n : n + 1;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <addr> */
static apr_status_t parse_origin(sdp_parser_t *p, char *v)
{
	sdp_origin_t *o = &p->s->origin;
	char *f[6];
	int n;

	if (p->have_o)
		return fail(p, SB_EMALFORMED, "second o= line");
	n = split_exact(v, f, 6);
	if (n != 6)
		return fail(p, SB_EMALFORMED, "bad o= line: %d fields, want 6",
			    n);
	if (!is_nonws(f[0]) || !is_nonws(f[5]))
		return fail(p, SB_EMALFORMED,
			    "bad o= line: control character in a field");
	if (!parse_uint(f[1], APR_UINT64_MAX, &o->sess_id) ||
	    !parse_uint(f[2], APR_UINT64_MAX, &o->sess_version))
		return fail(p, SB_EMALFORMED, "bad o= line: %s",
			    "session id or version is not a 64-bit number");
	if (!is_token(f[3]) || !is_token(f[4]))
		return fail(p, SB_EMALFORMED, "bad o= line: %s", not_token);
	o->username = f[0];
	o->nettype = f[3];
	o->addrtype = f[4];
	o->addr = f[5];
	p->have_o = 1;
	return APR_SUCCESS;
}

/* c=<nettype> <addrtype> <connection-address> */
static apr_status_t parse_conn(sdp_parser_t *p, char *v, sdp_conn_t **dst)
{
	char *f[3], *slash;
	sdp_conn_t *c;
	int n;

	/* Several c= in one media are layered multicast: not ours. */
	if (*dst != NULL)
		return fail(p, SB_EMALFORMED, "second c= line in one section");
	n = split_exact(v, f, 3);
	if (n != 3)
		return fail(p, SB_EMALFORMED, "bad c= line: %d fields, want 3",
			    n);
	if (!is_token(f[0]) || !is_token(f[1]))
		return fail(p, SB_EMALFORMED, "bad c= line: %s", not_token);
	if (!is_nonws(f[2]))
		return fail(p, SB_EMALFORMED,
			    "bad c= line: control character in the address");
	c = apr_pcalloc(p->pool, sizeof(*c));
	c->nettype = f[0];
	c->addrtype = f[1];
	c->addr = f[2];
	if (strcasecmp(f[0], "IN") == 0 &&
	    (strcasecmp(f[1], "IP4") == 0 || strcasecmp(f[1], "IP6") == 0)) {
		slash = strchr(f[2], '/');
		if (slash != NULL) {
			*slash = '\0';
			c->mcast = slash + 1;
			if (!is_mcast_suffix(c->mcast))
				return fail(p, SB_EMALFORMED,
					    "bad c= line: bad multicast "
					    "suffix \"/%s\"",
					    c->mcast);
		}
		if (!addr_ok(f[1], f[2]))
			return fail(p, SB_EMALFORMED,
				    "bad c= line: \"%s\" is not an %s address",
				    f[2], f[1]);
	}
	*dst = c;
	return APR_SUCCESS;
}

/* "<port>[/<number of ports>]" of an m= line. */
static apr_status_t parse_port(sdp_parser_t *p, char *f, sdp_media_t *m)
{
	apr_uint64_t port, count = 1;
	char *slash = strchr(f, '/');

	if (slash != NULL) {
		*slash = '\0';
		if (!parse_uint(slash + 1, 65535, &count) || count == 0)
			return fail(p, SB_EMALFORMED, "bad m= line: %s",
				    "port count is not 1 to 65535");
	}
	if (!parse_uint(f, APR_UINT64_MAX, &port))
		return fail(p, SB_EMALFORMED,
			    "bad m= line: port \"%s\" is not a number", f);
	if (port > 65535)
		return fail(p, SB_EMALFORMED,
			    "bad m= line: port %" APR_UINT64_T_FMT
			    " is over 65535",
			    port);
	m->port = (apr_port_t)port;
	m->nports = (unsigned)count;
	return APR_SUCCESS;
}

/* m=<media> <port>[/<n>] <proto> 1*(SP <fmt>) starts a media section. */
static apr_status_t parse_media(sdp_parser_t *p, char *v)
{
	sdp_media_t *m;
	char *type, *port, *f;
	apr_status_t rv;

	if (p->s->media->nelts >= SDP_MAX_MEDIA)
		return fail(p, SB_ETOOBIG, "more than %d m= lines",
			    SDP_MAX_MEDIA);
	m = apr_pcalloc(p->pool, sizeof(*m));
	type = next_field(&v);
	port = next_field(&v);
	m->proto = next_field(&v);
	if (m->proto == NULL)
		return fail(p, SB_EMALFORMED,
			    "bad m= line: want media, port, proto, formats");
	if (!is_token(type))
		return fail(p, SB_EMALFORMED,
			    "bad m= line: media \"%s\" is not a token", type);
	rv = parse_port(p, port, m);
	if (rv != APR_SUCCESS)
		return rv;
	if (!is_proto(m->proto))
		return fail(p, SB_EMALFORMED, "bad m= line: bad proto \"%s\"",
			    m->proto);
	m->type = type;
	m->fmts = apr_array_make(p->pool, 4, sizeof(const char *));
	while ((f = next_field(&v)) != NULL) {
		if (!is_token(f))
			return fail(p, SB_EMALFORMED,
				    "bad m= line: format \"%s\" is not a token",
				    f);
		APR_ARRAY_PUSH(m->fmts, const char *) = f;
	}
	if (m->fmts->nelts == 0)
		return fail(p, SB_EMALFORMED, "bad m= line: no format");
	m->lines = apr_array_make(p->pool, 2, sizeof(sdp_line_t));
	m->attrs = apr_array_make(p->pool, 8, sizeof(sdp_attr_t));
	APR_ARRAY_PUSH(p->s->media, sdp_media_t *) = m;
	p->m = m;
	return APR_SUCCESS;
}

/* a=<name>[:<value>] */
static apr_status_t parse_attr(sdp_parser_t *p, char *v,
			       apr_array_header_t *attrs)
{
	sdp_attr_t *a;
	char *colon;

	if (p->nattrs >= SDP_MAX_ATTRS)
		return fail(p, SB_ETOOBIG, "more than %d a= lines",
			    SDP_MAX_ATTRS);
	colon = strchr(v, ':');
	if (colon != NULL)
		*colon = '\0';
	if (!is_token(v))
		return fail(p, SB_EMALFORMED,
			    "bad a= line: no attribute name before %s",
			    colon != NULL ? "':'" : "the end");
	a = &APR_ARRAY_PUSH(attrs, sdp_attr_t);
	a->name = v;
	a->value = colon != NULL ? colon + 1 : NULL;
	p->nattrs++;
	return APR_SUCCESS;
}

/* The session part must be whole before the first m= (RFC 8866 5). */
static apr_status_t check_session(sdp_parser_t *p)
{
	const char *miss = !p->have_o	? "o="
			   : !p->have_s ? "s="
			   : !p->have_t ? "t="
					: NULL;

	if (miss != NULL)
		return fail(p, SB_EMALFORMED, "session part has no %s line",
			    miss);
	return APR_SUCCESS;
}

/* Lines kept verbatim: b= t= r= z= i= k= and types we do not know. */
static apr_status_t parse_other(sdp_parser_t *p, char type, const char *v)
{
	sdp_line_t *l;

	if (p->m == NULL && type == 'r' && !p->have_t)
		return fail(p, SB_EMALFORMED, "r= line before any t= line");
	if (type == 't')
		p->have_t = 1;
	l = &APR_ARRAY_PUSH(p->m != NULL ? p->m->lines : p->s->lines,
			    sdp_line_t);
	l->type = type;
	l->value = v;
	return APR_SUCCESS;
}

/* One line, its end already cut off. */
static apr_status_t parse_line(sdp_parser_t *p, char *line)
{
	char type = line[0], *v = line + 2;

	if (!apr_isalpha((unsigned char)type) || line[1] != '=')
		return fail(p, SB_EMALFORMED, "not a <type>=<value> line");
	if (p->lineno == 1) {
		if (type != 'v' || strcmp(v, "0") != 0)
			return fail(p, SB_EMALFORMED, "first line is not v=0");
		return APR_SUCCESS;
	}
	if (p->m != NULL && strchr(session_only, type) != NULL)
		return fail(p, SB_EMALFORMED, "%c= line inside a media section",
			    type);
	switch (type) {
	case 'v':
		return fail(p, SB_EMALFORMED, "second v= line");
	case 'o':
		return parse_origin(p, v);
	case 's':
		if (p->have_s)
			return fail(p, SB_EMALFORMED, "second s= line");
		p->have_s = 1;
		p->s->name = v;
		return APR_SUCCESS;
	case 'c':
		return parse_conn(p, v,
				  p->m != NULL ? &p->m->conn : &p->s->conn);
	case 'm':
		if (p->m == NULL && check_session(p) != APR_SUCCESS)
			return SB_EMALFORMED;
		return parse_media(p, v);
	case 'a':
		return parse_attr(p, v,
				  p->m != NULL ? p->m->attrs : p->s->attrs);
	default:
		return parse_other(p, type, v);
	}
}

/* Whether [p, end) holds only line ends: trailing empty lines. */
static int only_line_ends(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\r' && *p != '\n')
			return 0;
	return 1;
}

/* Cut the text into lines in place and parse each. */
static apr_status_t parse_text(sdp_parser_t *p, char *text, apr_size_t len)
{
	char *line = text, *end = text + len, *nl, *next;
	apr_status_t rv;
	apr_size_t n;

	while (line < end) {
		p->lineno++;
		nl = memchr(line, '\n', (apr_size_t)(end - line));
		n = (apr_size_t)((nl != NULL ? nl : end) - line);
		next = nl != NULL ? nl + 1 : end;
		if (memchr(line, '\0', n) != NULL)
			return fail(p, SB_EMALFORMED, "NUL byte");
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\r', n) != NULL)
			return fail(p, SB_EMALFORMED, "CR without LF");
		line[n] = '\0';
		if (n == 0) {
			if (p->lineno > 1 && only_line_ends(next, end))
				break;
			return fail(p, SB_EMALFORMED, "empty line");
		}
		rv = parse_line(p, line);
		if (rv != APR_SUCCESS)
			return rv;
		line = next;
	}
	if (p->lineno == 0) {
		p->lineno = 1;
		return fail(p, SB_EMALFORMED, "empty description");
	}
	return p->m == NULL ? check_session(p) : APR_SUCCESS;
}

apr_status_t sdp_parse(const char *buf, apr_size_t len, apr_pool_t *pool,
		       sdp_session_t **out, const char **why)
{
	sdp_parser_t p;
	apr_status_t rv;

	memset(&p, 0, sizeof(p));
	p.pool = pool;
	if (len > SDP_MAX_LEN) {
		p.why = apr_psprintf(
		    pool, "description of %" APR_SIZE_T_FMT " bytes is over %d",
		    len, SDP_MAX_LEN);
		rv = SB_ETOOBIG;
		goto done;
	}
	p.s = apr_pcalloc(pool, sizeof(*p.s));
	p.s->lines = apr_array_make(pool, 4, sizeof(sdp_line_t));
	p.s->attrs = apr_array_make(pool, 4, sizeof(sdp_attr_t));
	p.s->media = apr_array_make(pool, 2, sizeof(sdp_media_t *));
	/* The one copy: every string of the session points into it. */
	rv = parse_text(&p, apr_pstrmemdup(pool, buf, len), len);
done:
	if (rv != APR_SUCCESS) {
		if (why != NULL)
			*why = p.why;
		return rv;
	}
	*out = p.s;
	return APR_SUCCESS;
}

const sdp_attr_t *sdp_attr_find(const apr_array_header_t *attrs,
				const char *name)
{
	const sdp_attr_t *a;
	int i;

	if (attrs == NULL)
		return NULL;
	for (i = 0; i < attrs->nelts; i++) {
		a = &APR_ARRAY_IDX(attrs, i, sdp_attr_t);
		if (strcasecmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

const char *sdp_attr_get(const apr_array_header_t *attrs, const char *name)
{
	const sdp_attr_t *a = sdp_attr_find(attrs, name);

	if (a == NULL)
		return NULL;
	return a->value != NULL ? a->value : "";
}

/* Indexed by sdp_dir_e. */
static const char *const dir_names[] = {"sendrecv", "sendonly", "recvonly",
					"inactive"};

const char *sdp_dir_name(sdp_dir_e dir)
{
	return (unsigned)dir < 4 ? dir_names[dir] : "sendrecv";
}

/* First direction attribute in @attrs, if any. */
static int find_dir(const apr_array_header_t *attrs, sdp_dir_e *dir)
{
	const sdp_attr_t *a;
	int i, d;

	for (i = 0; attrs != NULL && i < attrs->nelts; i++) {
		a = &APR_ARRAY_IDX(attrs, i, sdp_attr_t);
		for (d = 0; d < 4; d++) {
			if (strcasecmp(a->name, dir_names[d]) == 0) {
				*dir = (sdp_dir_e)d;
				return 1;
			}
		}
	}
	return 0;
}

sdp_dir_e sdp_media_direction(const sdp_session_t *s, const sdp_media_t *m)
{
	sdp_dir_e dir = SDP_SENDRECV;

	if (!find_dir(m->attrs, &dir))
		(void)find_dir(s->attrs, &dir);
	return dir;
}

/* Field of a read-only value: start and length, past SP runs. */
static const char *ro_field(const char **pp, apr_size_t *n)
{
	const char *p = *pp, *start;

	while (*p == ' ')
		p++;
	start = p;
	while (*p != '\0' && *p != ' ')
		p++;
	*n = (apr_size_t)(p - start);
	*pp = p;
	return *n > 0 ? start : NULL;
}

/* "IN IP4 192.0.2.9" of a=rtcp; the address ends the value. */
static const char *rtcp_addr(const char *p)
{
	const char *net, *type, *addr;
	apr_size_t nn, nt, na;

	net = ro_field(&p, &nn);
	type = ro_field(&p, &nt);
	addr = ro_field(&p, &na);
	if (addr == NULL || *p != '\0' || nn != 2 ||
	    strncasecmp(net, "IN", 2) != 0 || nt != 3)
		return NULL;
	if (strncasecmp(type, "IP4", 3) == 0)
		return addr_ok("IP4", addr) ? addr : NULL;
	if (strncasecmp(type, "IP6", 3) == 0)
		return addr_ok("IP6", addr) ? addr : NULL;
	return NULL;
}

apr_status_t sdp_media_rtcp(const sdp_media_t *m, apr_port_t *port,
			    const char **addr)
{
	const char *v = sdp_attr_get(m->attrs, "rtcp"), *a = NULL;
	apr_uint64_t n = 0;
	apr_size_t i;

	if (v == NULL)
		return SB_ENOTFOUND;
	for (i = 0; v[i] >= '0' && v[i] <= '9'; i++) {
		n = n * 10 + (apr_uint64_t)(v[i] - '0');
		if (n > 65535)
			return SB_EMALFORMED;
	}
	if (i == 0 || n == 0 || (v[i] != '\0' && v[i] != ' '))
		return SB_EMALFORMED;
	if (v[i] != '\0' && (a = rtcp_addr(v + i)) == NULL)
		return SB_EMALFORMED;
	*port = (apr_port_t)n;
	if (addr != NULL)
		*addr = a;
	return APR_SUCCESS;
}

int sdp_media_rtcp_mux(const sdp_media_t *m)
{
	return sdp_attr_find(m->attrs, "rtcp-mux") != NULL;
}

const sdp_conn_t *sdp_media_addr(const sdp_session_t *s, const sdp_media_t *m)
{
	return m->conn != NULL ? m->conn : s->conn;
}

static int media_hold(const sdp_session_t *s, const sdp_media_t *m)
{
	const sdp_conn_t *c = sdp_media_addr(s, m);
	sdp_dir_e dir;

	/* Trickle ICE writes 0.0.0.0 as a placeholder (RFC 8840 4.2). */
	if (c != NULL && strcmp(c->addr, "0.0.0.0") == 0 &&
	    sdp_attr_find(m->attrs, "ice-ufrag") == NULL &&
	    sdp_attr_find(s->attrs, "ice-ufrag") == NULL)
		return 1;
	dir = sdp_media_direction(s, m);
	return dir == SDP_SENDONLY || dir == SDP_INACTIVE;
}

int sdp_is_hold(const sdp_session_t *s, const sdp_media_t *m)
{
	const sdp_media_t *mi;
	int i, active = 0;

	if (m != NULL)
		return media_hold(s, m);
	for (i = 0; i < s->media->nelts; i++) {
		mi = APR_ARRAY_IDX(s->media, i, const sdp_media_t *);
		if (mi->port == 0)
			continue;
		if (!media_hold(s, mi))
			return 0;
		active++;
	}
	return active > 0;
}
