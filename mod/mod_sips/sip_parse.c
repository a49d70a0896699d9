/* sip_parse.c — framing, start line and header split of a SIP message. */
#include <stddef.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "sip_msg.h"

/* Classes every letter and digit belongs to. */
#define CC_AN                                                                  \
	(SIP_CC_TOKEN | SIP_CC_USER | SIP_CC_PASS | SIP_CC_PARAM |             \
	 SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC | SIP_CC_HOST)
/* RFC 3261 25.1 "mark" characters that are also token characters. */
#define CC_MARK                                                                \
	(SIP_CC_TOKEN | SIP_CC_USER | SIP_CC_PASS | SIP_CC_PARAM |             \
	 SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC)

/* One row per character, straight from the ABNF of RFC 3261 25.1. */
static const unsigned short cc_table[256] = {
    ['0' ... '9'] = CC_AN | SIP_CC_DIGIT | SIP_CC_HEX,
    ['A' ... 'F'] = CC_AN | SIP_CC_ALPHA | SIP_CC_HEX,
    ['G' ... 'Z'] = CC_AN | SIP_CC_ALPHA,
    ['a' ... 'f'] = CC_AN | SIP_CC_ALPHA | SIP_CC_HEX,
    ['g' ... 'z'] = CC_AN | SIP_CC_ALPHA,
    ['-'] = CC_MARK | SIP_CC_HOST,
    ['.'] = CC_MARK | SIP_CC_HOST,
    ['_'] = CC_MARK,
    ['!'] = CC_MARK,
    ['~'] = CC_MARK,
    ['*'] = CC_MARK,
    ['\''] = CC_MARK,
    ['('] = CC_MARK & ~SIP_CC_TOKEN,
    [')'] = CC_MARK & ~SIP_CC_TOKEN,
    ['%'] = SIP_CC_TOKEN | SIP_CC_WORD,
    ['+'] = CC_MARK,
    ['`'] = SIP_CC_TOKEN | SIP_CC_WORD,
    ['&'] = SIP_CC_USER | SIP_CC_PASS | SIP_CC_PARAM | SIP_CC_URIC,
    ['='] = SIP_CC_USER | SIP_CC_PASS | SIP_CC_URIC,
    ['$'] = SIP_CC_USER | SIP_CC_PASS | SIP_CC_PARAM | SIP_CC_HNV | SIP_CC_URIC,
    [','] = SIP_CC_USER | SIP_CC_PASS | SIP_CC_URIC,
    [';'] = SIP_CC_USER | SIP_CC_URIC,
    ['?'] = SIP_CC_USER | SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC,
    ['/'] = SIP_CC_USER | SIP_CC_PARAM | SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC,
    [':'] = SIP_CC_PARAM | SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC,
    ['@'] = SIP_CC_URIC,
    ['['] = SIP_CC_PARAM | SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC,
    [']'] = SIP_CC_PARAM | SIP_CC_HNV | SIP_CC_WORD | SIP_CC_URIC,
    ['<'] = SIP_CC_WORD,
    ['>'] = SIP_CC_WORD,
    ['\\'] = SIP_CC_WORD,
    ['"'] = SIP_CC_WORD,
    ['{'] = SIP_CC_WORD,
    ['}'] = SIP_CC_WORD,
};

int sip_parse_is(unsigned char c, unsigned cls)
{
	return (cc_table[c] & cls) == cls;
}

const char *sip_parse_lws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

const char *sip_parse_span(const char *p, const char *end, unsigned cls)
{
	while (p < end && sip_parse_is((unsigned char)*p, cls))
		p++;
	return p;
}

apr_status_t sip_parse_quoted(const char **pp, const char *end,
			      sip_str_t *inner)
{
	const char *p = *pp, *start;
	unsigned char c;

	if (p >= end || *p != '"')
		return SB_EMALFORMED;
	start = ++p;
	while (p < end) {
		c = (unsigned char)*p;
		if (c == '"') {
			inner->ptr = start;
			inner->len = (apr_size_t)(p - start);
			*pp = p + 1;
			return APR_SUCCESS;
		}
		if (c == '\\') {
			/* quoted-pair: any octet but CR and LF. */
			if (p + 1 >= end || p[1] == '\r' || p[1] == '\n' ||
			    (unsigned char)p[1] > 0x7f)
				return SB_EMALFORMED;
			p += 2;
			continue;
		}
		/* qdtext: no controls; CR LF only as parts of a fold. */
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f)
			return SB_EMALFORMED;
		p++;
	}
	return SB_EMALFORMED;
}

apr_status_t sip_parse_uint(const char *p, apr_size_t len, apr_uint64_t max,
			    apr_uint64_t *out)
{
	apr_uint64_t v = 0, d;
	apr_size_t i;

	if (len == 0)
		return SB_EMALFORMED;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return SB_EMALFORMED;
		d = (apr_uint64_t)(p[i] - '0');
		if (d > max || v > (max - d) / 10)
			return SB_EMALFORMED;
		v = v * 10 + d;
	}
	*out = v;
	return APR_SUCCESS;
}

static const struct {
	const char *name;
	sip_method_e method;
} method_table[] = {
    {"INVITE", SIP_METHOD_INVITE},
    {"ACK", SIP_METHOD_ACK},
    {"BYE", SIP_METHOD_BYE},
    {"CANCEL", SIP_METHOD_CANCEL},
    {"OPTIONS", SIP_METHOD_OPTIONS},
    {"REGISTER", SIP_METHOD_REGISTER},
    {"SUBSCRIBE", SIP_METHOD_SUBSCRIBE},
    {"NOTIFY", SIP_METHOD_NOTIFY},
    {"INFO", SIP_METHOD_INFO},
    {"UPDATE", SIP_METHOD_UPDATE},
    {"PRACK", SIP_METHOD_PRACK},
    {"REFER", SIP_METHOD_REFER},
    {"MESSAGE", SIP_METHOD_MESSAGE},
    {"PUBLISH", SIP_METHOD_PUBLISH},
};

sip_method_e sip_parse_method(const char *p, apr_size_t len)
{
	apr_size_t i;

	for (i = 0; i < sizeof(method_table) / sizeof(method_table[0]); i++)
		if (strlen(method_table[i].name) == len &&
		    memcmp(method_table[i].name, p, len) == 0)
			return method_table[i].method;
	return SIP_METHOD_OTHER;
}

/* Indexed by sip_hdr_id_e; the compact letter is 0 when there is none. */
static const struct {
	const char *name;
	char compact;
} hdr_table[SIP_HDR_COUNT] = {
    [SIP_HDR_OTHER] = {NULL, 0},
    [SIP_HDR_ACCEPT] = {"Accept", 0},
    [SIP_HDR_ACCEPT_CONTACT] = {"Accept-Contact", 'a'},
    [SIP_HDR_ACCEPT_ENCODING] = {"Accept-Encoding", 0},
    [SIP_HDR_ACCEPT_LANGUAGE] = {"Accept-Language", 0},
    [SIP_HDR_ALERT_INFO] = {"Alert-Info", 0},
    [SIP_HDR_ALLOW] = {"Allow", 0},
    [SIP_HDR_ALLOW_EVENTS] = {"Allow-Events", 'u'},
    [SIP_HDR_AUTHENTICATION_INFO] = {"Authentication-Info", 0},
    [SIP_HDR_AUTHORIZATION] = {"Authorization", 0},
    [SIP_HDR_CALL_ID] = {"Call-ID", 'i'},
    [SIP_HDR_CALL_INFO] = {"Call-Info", 0},
    [SIP_HDR_CONTACT] = {"Contact", 'm'},
    [SIP_HDR_CONTENT_DISPOSITION] = {"Content-Disposition", 0},
    [SIP_HDR_CONTENT_ENCODING] = {"Content-Encoding", 'e'},
    [SIP_HDR_CONTENT_LANGUAGE] = {"Content-Language", 0},
    [SIP_HDR_CONTENT_LENGTH] = {"Content-Length", 'l'},
    [SIP_HDR_CONTENT_TYPE] = {"Content-Type", 'c'},
    [SIP_HDR_CSEQ] = {"CSeq", 0},
    [SIP_HDR_DATE] = {"Date", 0},
    [SIP_HDR_ERROR_INFO] = {"Error-Info", 0},
    [SIP_HDR_EVENT] = {"Event", 'o'},
    [SIP_HDR_EXPIRES] = {"Expires", 0},
    [SIP_HDR_FROM] = {"From", 'f'},
    [SIP_HDR_IDENTITY] = {"Identity", 'y'},
    [SIP_HDR_IDENTITY_INFO] = {"Identity-Info", 'n'},
    [SIP_HDR_IN_REPLY_TO] = {"In-Reply-To", 0},
    [SIP_HDR_MAX_FORWARDS] = {"Max-Forwards", 0},
    [SIP_HDR_MIME_VERSION] = {"MIME-Version", 0},
    [SIP_HDR_MIN_EXPIRES] = {"Min-Expires", 0},
    [SIP_HDR_ORGANIZATION] = {"Organization", 0},
    [SIP_HDR_PATH] = {"Path", 0},
    [SIP_HDR_PRIORITY] = {"Priority", 0},
    [SIP_HDR_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", 0},
    [SIP_HDR_PROXY_AUTHORIZATION] = {"Proxy-Authorization", 0},
    [SIP_HDR_PROXY_REQUIRE] = {"Proxy-Require", 0},
    [SIP_HDR_RACK] = {"RAck", 0},
    [SIP_HDR_RECORD_ROUTE] = {"Record-Route", 0},
    [SIP_HDR_REFER_TO] = {"Refer-To", 'r'},
    [SIP_HDR_REFERRED_BY] = {"Referred-By", 'b'},
    [SIP_HDR_REJECT_CONTACT] = {"Reject-Contact", 'j'},
    [SIP_HDR_REPLY_TO] = {"Reply-To", 0},
    [SIP_HDR_REQUEST_DISPOSITION] = {"Request-Disposition", 'd'},
    [SIP_HDR_REQUIRE] = {"Require", 0},
    [SIP_HDR_RETRY_AFTER] = {"Retry-After", 0},
    [SIP_HDR_ROUTE] = {"Route", 0},
    [SIP_HDR_RSEQ] = {"RSeq", 0},
    [SIP_HDR_SERVER] = {"Server", 0},
    [SIP_HDR_SESSION_EXPIRES] = {"Session-Expires", 'x'},
    [SIP_HDR_SUBJECT] = {"Subject", 's'},
    [SIP_HDR_SUBSCRIPTION_STATE] = {"Subscription-State", 0},
    [SIP_HDR_SUPPORTED] = {"Supported", 'k'},
    [SIP_HDR_TIMESTAMP] = {"Timestamp", 0},
    [SIP_HDR_TO] = {"To", 't'},
    [SIP_HDR_UNSUPPORTED] = {"Unsupported", 0},
    [SIP_HDR_USER_AGENT] = {"User-Agent", 0},
    [SIP_HDR_VIA] = {"Via", 'v'},
    [SIP_HDR_WARNING] = {"Warning", 0},
    [SIP_HDR_WWW_AUTHENTICATE] = {"WWW-Authenticate", 0},
};

sip_hdr_id_e sip_parse_hdr_id(const char *p, apr_size_t len)
{
	int i;

	if (len == 1) {
		for (i = 1; i < SIP_HDR_COUNT; i++)
			if (hdr_table[i].compact == apr_tolower(*p))
				return (sip_hdr_id_e)i;
		return SIP_HDR_OTHER;
	}
	for (i = 1; i < SIP_HDR_COUNT; i++)
		if (strlen(hdr_table[i].name) == len &&
		    strncasecmp(hdr_table[i].name, p, len) == 0)
			return (sip_hdr_id_e)i;
	return SIP_HDR_OTHER;
}

const char *sip_parse_hdr_name(sip_hdr_id_e id)
{
	return id > SIP_HDR_OTHER && id < SIP_HDR_COUNT ? hdr_table[id].name
							: NULL;
}

void sip_parse_limits_default(sip_limits_t *lim)
{
	lim->max_msg_size = SIP_DEFAULT_MAX_MSG_SIZE;
	lim->max_headers = SIP_DEFAULT_MAX_HEADERS;
}

/* Digits of a framing Content-Length; saturates so "too big" stays so. */
static apr_status_t frame_cl(const char *p, const char *end, apr_size_t *out)
{
	apr_size_t v = 0;
	const char *q;

	p = sip_parse_lws(p, end);
	q = p;
	while (q < end && *q >= '0' && *q <= '9') {
		if (v < ((apr_size_t)1 << 40))
			v = v * 10 + (apr_size_t)(*q - '0');
		q++;
	}
	if (q == p || sip_parse_lws(q, end) != end)
		return SB_EMALFORMED;
	*out = v;
	return APR_SUCCESS;
}

/* Whether header line [p, end) is named Content-Length or "l". */
static const char *frame_cl_value(const char *p, const char *end)
{
	const char *n = sip_parse_span(p, end, SIP_CC_TOKEN);
	const char *q = n;

	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if (q == end || *q != ':')
		return NULL;
	if (sip_parse_hdr_id(p, (apr_size_t)(n - p)) != SIP_HDR_CONTENT_LENGTH)
		return NULL;
	return q + 1;
}

apr_status_t sip_parse_frame(const char *buf, apr_size_t len,
			     const sip_limits_t *lim, apr_size_t *skipped,
			     apr_size_t *msg_len)
{
	sip_limits_t def;
	const char *p = buf, *end, *nl, *cl_at = NULL, *cl_end = NULL;
	apr_size_t n = 0, nhdrs = 0, max_hdrs, cl = 0, scan;
	int cl_seen = 0, started = 0;

	if (lim == NULL) {
		sip_parse_limits_default(&def);
		lim = &def;
	}
	max_hdrs = lim->max_headers < SIP_MSG_MAX_HEADERS ? lim->max_headers
							  : SIP_MSG_MAX_HEADERS;
	/* RFC 3261 7.5 / RFC 5626 3.5.1: CRLFs before a start line. */
	while (n + 1 < len && buf[n] == '\r' && buf[n + 1] == '\n')
		n += 2;
	if (n > 0) {
		*skipped = n;
		*msg_len = 0;
		return APR_SUCCESS;
	}
	scan = len < lim->max_msg_size ? len : lim->max_msg_size;
	end = buf + scan;
	for (;;) {
		nl = memchr(p, '\n', (apr_size_t)(end - p));
		if (nl == NULL)
			return len >= lim->max_msg_size ? SB_ETOOBIG
							: SB_EINCOMPLETE;
		if (nl == buf || nl[-1] != '\r')
			return SB_EMALFORMED;
		if (nl - 1 == p || (*p != ' ' && *p != '\t')) {
			/* A new field, or the end: close a pending CL. */
			if (cl_at != NULL) {
				if (cl_seen++ || frame_cl(cl_at, cl_end, &cl))
					return SB_EMALFORMED;
				cl_at = NULL;
			}
			if (nl - 1 == p)
				break;
			if (started) {
				if (++nhdrs > max_hdrs)
					return SB_ETOOBIG;
				cl_at = frame_cl_value(p, nl - 1);
			}
			started = 1;
		}
		cl_end = nl - 1;
		p = nl + 1;
	}
	if (!cl_seen)
		return SB_EMALFORMED;
	p = nl + 1;
	if (cl > lim->max_msg_size ||
	    (apr_size_t)(p - buf) + cl > lim->max_msg_size)
		return SB_ETOOBIG;
	if ((apr_size_t)(p - buf) + cl > len)
		return SB_EINCOMPLETE;
	*skipped = 0;
	*msg_len = (apr_size_t)(p - buf) + cl;
	return APR_SUCCESS;
}

/* State of one sip_parse_msg() call. */
typedef struct {
	sip_msg_t *msg;
	const char *buf;
	const char *end;
	apr_size_t max_hdrs;
	sip_parse_error_t *err;
} parse_ctx_t;

/* Record why parsing stopped; returns the status to give back. */
static apr_status_t fail(parse_ctx_t *c, sip_perr_e kind, const sip_hdr_t *h,
			 const char *at)
{
	if (c->err != NULL) {
		c->err->kind = kind;
		c->err->hdr = h != NULL ? h->id : SIP_HDR_OTHER;
		c->err->name = h != NULL ? h->name : sip_str(NULL, 0);
		c->err->offset = (apr_size_t)(at - c->buf);
	}
	return kind == SIP_PERR_TOO_BIG || kind == SIP_PERR_TOO_MANY_HEADERS
		   ? SB_ETOOBIG
		   : SB_EMALFORMED;
}

/* SIP-Version: 0 for SIP/2.0, 1 for another SIP/x.y (505), -1 junk. */
static int version_kind(const char *p, apr_size_t len)
{
	const char *q, *end = p + len, *d;

	if (len == 7 && strncasecmp(p, "SIP/2.0", 7) == 0)
		return 0;
	if (len < 7 || strncasecmp(p, "SIP/", 4) != 0)
		return -1;
	q = d = sip_parse_span(p + 4, end, SIP_CC_DIGIT);
	if (q == p + 4 || q == end || *q != '.')
		return -1;
	q = sip_parse_span(q + 1, end, SIP_CC_DIGIT);
	return q == end && q > d + 1 ? 1 : -1;
}

static apr_status_t parse_request_line(parse_ctx_t *c, const char *p,
				       const char *eol)
{
	sip_msg_t *m = c->msg;
	const char *sp1, *sp2;
	int v;

	sp1 = sip_parse_span(p, eol, SIP_CC_TOKEN);
	if (sp1 == p || sp1 == eol || *sp1 != ' ')
		return fail(c, SIP_PERR_START_LINE, NULL, sp1);
	m->is_request = 1;
	m->method_name = sip_str(p, (apr_size_t)(sp1 - p));
	m->method = sip_parse_method(p, m->method_name.len);
	/* RFC 4475 lwsstart, trws, lwsruri: exactly one SP each. */
	sp2 = memchr(sp1 + 1, ' ', (apr_size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return fail(c, SIP_PERR_START_LINE, NULL, sp1 + 1);
	v = version_kind(sp2 + 1, (apr_size_t)(eol - sp2 - 1));
	if (v != 0)
		return fail(c, v > 0 ? SIP_PERR_VERSION : SIP_PERR_START_LINE,
			    NULL, sp2 + 1);
	m->ruri_str = sip_str(sp1 + 1, (apr_size_t)(sp2 - sp1 - 1));
	if (sip_uri_parse(m->ruri_str.ptr, m->ruri_str.len, &m->ruri) !=
	    APR_SUCCESS)
		return fail(c, SIP_PERR_REQUEST_URI, NULL, sp1 + 1);
	/* RFC 3261 19.1.1 table: no headers in a Request-URI (escruri). */
	if (m->ruri.scheme != SIP_URI_OTHER && m->ruri.headers.ptr != NULL)
		return fail(c, SIP_PERR_REQUEST_URI, NULL, sp1 + 1);
	return APR_SUCCESS;
}

static apr_status_t parse_status_line(parse_ctx_t *c, const char *p,
				      const char *eol)
{
	sip_msg_t *m = c->msg;
	const char *sp = memchr(p, ' ', (apr_size_t)(eol - p)), *d, *q;
	int v;

	if (sp == NULL)
		return fail(c, SIP_PERR_START_LINE, NULL, p);
	v = version_kind(p, (apr_size_t)(sp - p));
	if (v != 0)
		return fail(c, v > 0 ? SIP_PERR_VERSION : SIP_PERR_START_LINE,
			    NULL, p);
	d = sp + 1;
	q = sip_parse_span(d, eol, SIP_CC_DIGIT);
	/* Exactly three digits then SP, even with no phrase (noreason). */
	if (q - d != 3 || q == eol || *q != ' ' || *d < '1' || *d > '6')
		return fail(c, SIP_PERR_STATUS_CODE, NULL, d);
	m->status = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
	for (p = q + 1; p < eol; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(c, SIP_PERR_START_LINE, NULL, p);
	m->reason = sip_str(q + 1, (apr_size_t)(eol - q - 1));
	return APR_SUCCESS;
}

/* Start line; *next is set past its CRLF. */
static apr_status_t parse_start_line(parse_ctx_t *c, const char **next)
{
	const char *nl = memchr(c->buf, '\n', (apr_size_t)(c->end - c->buf));
	apr_status_t rv;

	if (nl == NULL || nl == c->buf || nl[-1] != '\r' ||
	    memchr(c->buf, '\r', (apr_size_t)(nl - 1 - c->buf)) != NULL)
		return fail(c, SIP_PERR_START_LINE, NULL, c->buf);
	if (nl - 1 - c->buf >= 4 && strncasecmp(c->buf, "SIP/", 4) == 0)
		rv = parse_status_line(c, c->buf, nl - 1);
	else
		rv = parse_request_line(c, c->buf, nl - 1);
	*next = nl + 1;
	return rv;
}

/* End of a header field at p: the CR of the CRLF not before SP/HT. */
static const char *field_end(const char *p, const char *end)
{
	const char *nl;

	for (;;) {
		nl = memchr(p, '\n', (apr_size_t)(end - p));
		if (nl == NULL || nl == p || nl[-1] != '\r' ||
		    memchr(p, '\r', (apr_size_t)(nl - 1 - p)) != NULL)
			return NULL;
		if (nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
			p = nl + 1;
			continue;
		}
		return nl - 1;
	}
}

/* One bit per header id in the "seen" mask below. */
_Static_assert(SIP_HDR_COUNT <= 64, "header ids must fit a 64-bit mask");

/* Checks the parser owes the transaction layer, on the fly. */
static apr_status_t check_header(parse_ctx_t *c, const sip_hdr_t *h,
				 apr_uint64_t *seen)
{
	sip_msg_t *m = c->msg;
	apr_uint64_t bit = (apr_uint64_t)1 << h->id;

	switch (h->id) {
	case SIP_HDR_TO:
	case SIP_HDR_FROM:
	case SIP_HDR_MAX_FORWARDS:
	case SIP_HDR_VIA:
		break;
	case SIP_HDR_CALL_ID:
		if (sip_hdr_call_id(&h->value) != APR_SUCCESS)
			return fail(c, SIP_PERR_HEADER_VALUE, h, h->value.ptr);
		m->call_id = h->value;
		break;
	case SIP_HDR_CSEQ:
		if (sip_hdr_cseq(&h->value, &m->cseq, &m->cseq_method_name) !=
		    APR_SUCCESS)
			return fail(c, SIP_PERR_HEADER_VALUE, h, h->value.ptr);
		m->cseq_method = sip_parse_method(m->cseq_method_name.ptr,
						  m->cseq_method_name.len);
		break;
	case SIP_HDR_CONTENT_LENGTH:
		if (sip_hdr_content_length(&h->value, (apr_size_t)-1,
					   &m->content_length) != APR_SUCCESS)
			return fail(c, SIP_PERR_HEADER_VALUE, h, h->value.ptr);
		m->has_content_length = 1;
		break;
	default:
		return APR_SUCCESS;
	}
	/* RFC 4475 multi01, mcl01: these may appear once only. */
	if (h->id != SIP_HDR_VIA && (*seen & bit))
		return fail(c, SIP_PERR_DUPLICATE, h, h->name.ptr);
	*seen |= bit;
	return APR_SUCCESS;
}

/* One header field at p; *next is set past its CRLF. */
static apr_status_t parse_header(parse_ctx_t *c, const char *p,
				 const char **next, apr_uint64_t *seen)
{
	sip_msg_t *m = c->msg;
	const char *n, *q, *fe, *v;
	sip_hdr_t *h;

	n = sip_parse_span(p, c->end, SIP_CC_TOKEN);
	for (q = n; q < c->end && (*q == ' ' || *q == '\t'); q++)
		;
	if (n == p || q == c->end || *q != ':')
		return fail(c, SIP_PERR_HEADER_LINE, NULL, p);
	fe = field_end(q + 1, c->end);
	if (fe == NULL)
		return fail(c, SIP_PERR_HEADER_LINE, NULL, p);
	*next = fe + 2;
	if (m->nhdrs >= c->max_hdrs)
		return fail(c, SIP_PERR_TOO_MANY_HEADERS, NULL, p);
	h = &m->hdrs[m->nhdrs++];
	h->name = sip_str(p, (apr_size_t)(n - p));
	h->id = sip_parse_hdr_id(p, h->name.len);
	v = sip_parse_lws(q + 1, fe);
	while (fe > v && (fe[-1] == ' ' || fe[-1] == '\t' || fe[-1] == '\r' ||
			  fe[-1] == '\n'))
		fe--;
	h->value = sip_str(v, (apr_size_t)(fe - v));
	return check_header(c, h, seen);
}

/* RFC 3261 8.1.1: what every request and response carries. */
static apr_status_t check_required(parse_ctx_t *c, apr_uint64_t seen,
				   const char *at)
{
	static const sip_hdr_id_e need[] = {SIP_HDR_TO, SIP_HDR_FROM,
					    SIP_HDR_CSEQ, SIP_HDR_CALL_ID,
					    SIP_HDR_VIA};
	sip_msg_t *m = c->msg;
	sip_hdr_t missing;
	apr_size_t i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (seen & ((apr_uint64_t)1 << need[i]))
			continue;
		missing.id = need[i];
		missing.name = sip_str(NULL, 0);
		return fail(c, SIP_PERR_MISSING, &missing, at);
	}
	if (m->is_request &&
	    (m->cseq_method_name.len != m->method_name.len ||
	     memcmp(m->cseq_method_name.ptr, m->method_name.ptr,
		    m->method_name.len) != 0))
		return fail(c, SIP_PERR_CSEQ_METHOD,
			    sip_hdr_find(m, SIP_HDR_CSEQ),
			    m->cseq_method_name.ptr);
	return APR_SUCCESS;
}

static void msg_reset(sip_msg_t *m, const char *buf, apr_size_t len)
{
	/* Not the header array: 5 KB of zeroes per packet buys nothing. */
	memset(m, 0, offsetof(sip_msg_t, hdrs));
	m->buf = buf;
	m->len = len;
	m->ruri.port = -1;
	m->ruri.ttl = -1;
}

apr_status_t sip_parse_msg(sip_msg_t *msg, const char *buf, apr_size_t len,
			   const sip_limits_t *lim, sip_parse_error_t *err)
{
	sip_limits_t def;
	parse_ctx_t c;
	const char *p, *hend;
	apr_uint64_t seen = 0;
	apr_status_t rv;

	if (lim == NULL) {
		sip_parse_limits_default(&def);
		lim = &def;
	}
	c.msg = msg;
	c.buf = buf;
	c.end = buf + len;
	c.err = err;
	c.max_hdrs = lim->max_headers < SIP_MSG_MAX_HEADERS
			 ? lim->max_headers
			 : SIP_MSG_MAX_HEADERS;
	msg_reset(msg, buf, len);
	if (len > lim->max_msg_size)
		return fail(&c, SIP_PERR_TOO_BIG, NULL,
			    buf + lim->max_msg_size);
	if ((rv = parse_start_line(&c, &p)) != APR_SUCCESS)
		return rv;
	for (;;) {
		/* RFC 4475 baddn.dat ends after its last header's CRLF. */
		if (p == c.end) {
			hend = p;
			break;
		}
		if (c.end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			hend = p + 2;
			break;
		}
		if ((rv = parse_header(&c, p, &p, &seen)) != APR_SUCCESS)
			return rv;
	}
	if ((rv = check_required(&c, seen, hend)) != APR_SUCCESS)
		return rv;
	if (msg->has_content_length) {
		if (msg->content_length > (apr_size_t)(c.end - hend))
			return fail(&c, SIP_PERR_BODY_LENGTH,
				    sip_hdr_find(msg, SIP_HDR_CONTENT_LENGTH),
				    hend);
		/* RFC 3261 18.3: octets past Content-Length are dropped. */
		msg->len = (apr_size_t)(hend - buf) + msg->content_length;
	}
	msg->body = sip_str(hend, (apr_size_t)(buf + msg->len - hend));
	return APR_SUCCESS;
}

/* One row per kind: the answer a UAS gives (STYLE.md rule 3). */
static const struct {
	int status;
	const char *text;
	int named; /* append the header name */
} perr_table[SIP_PERR_COUNT] = {
    [SIP_PERR_NONE] = {400, "Bad Request", 0},
    [SIP_PERR_START_LINE] = {400, "Bad Request Line", 0},
    [SIP_PERR_REQUEST_URI] = {400, "Bad Request-URI", 0},
    [SIP_PERR_VERSION] = {505, "Version Not Supported", 0},
    [SIP_PERR_STATUS_CODE] = {400, "Bad Status Code", 0},
    [SIP_PERR_HEADER_LINE] = {400, "Bad Header Line", 0},
    [SIP_PERR_HEADER_VALUE] = {400, "Bad Header", 1},
    [SIP_PERR_DUPLICATE] = {400, "Duplicate Header", 1},
    [SIP_PERR_MISSING] = {400, "Missing Header", 1},
    [SIP_PERR_CSEQ_METHOD] = {400, "CSeq Method Mismatch", 0},
    [SIP_PERR_BODY_LENGTH] = {400, "Bad Content-Length", 0},
    [SIP_PERR_TOO_BIG] = {513, "Message Too Large", 0},
    [SIP_PERR_TOO_MANY_HEADERS] = {513, "Too Many Headers", 0},
};

int sip_parse_error_status(const sip_parse_error_t *err)
{
	if (err == NULL || err->kind >= SIP_PERR_COUNT)
		return 400;
	return perr_table[err->kind].status;
}

const char *sip_parse_error_reason(const sip_parse_error_t *err, char *buf,
				   apr_size_t len)
{
	sip_perr_e k = err != NULL && err->kind < SIP_PERR_COUNT
			   ? err->kind
			   : SIP_PERR_NONE;
	const char *name =
	    sip_parse_hdr_name(err != NULL ? err->hdr : SIP_HDR_OTHER);
	apr_size_t n, i;

	if (len == 0)
		return buf;
	apr_cpystrn(buf, perr_table[k].text, len);
	if (!perr_table[k].named)
		return buf;
	n = strlen(buf);
	if (name != NULL) {
		apr_snprintf(buf + n, len - n, ": %s", name);
		return buf;
	}
	/* Unknown name from the wire: only token characters, bounded. */
	if (n + 3 >= len || err->name.len == 0)
		return buf;
	buf[n++] = ':';
	buf[n++] = ' ';
	for (i = 0; i < err->name.len && i < 48 && n + 1 < len; i++)
		if (sip_parse_is((unsigned char)err->name.ptr[i], SIP_CC_TOKEN))
			buf[n++] = err->name.ptr[i];
	buf[n] = '\0';
	return buf;
}
