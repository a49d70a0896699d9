/* sdp_test.c — SDP parse, print, round trip, rejections and helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "sdp.h"

/* Bodies modelled on what common clients send, already in canonical
 * order with CRLF, so printing one must give it back byte for byte. */
static const char baresip[] =
    "v=0\r\n"
    "o=- 1712844216 2093155032 IN IP4 192.168.1.34\r\n"
    "s=-\r\n"
    "c=IN IP4 192.168.1.34\r\n"
    "t=0 0\r\n"
    "a=tool:baresip 3.10.1\r\n"
    "m=audio 12540 RTP/SAVP 111 9 0 8 101\r\n"
    "b=AS:64\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=rtcp-mux\r\n"
    "a=sendrecv\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:Tm90QVJlYWxLZXlKdXN0QVNlZWRGb3JUZXN0cw==\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
    "inline:QW5vdGhlckZha2VLZXlGb3JUaGVGdXp6ZXI0MDA=\r\n"
    "m=video 0 RTP/SAVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n";

/* SIPp's uac_pcap scenario body with its keywords filled in. */
static const char sipp[] = "v=0\r\n"
			   "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
			   "s=-\r\n"
			   "c=IN IP4 127.0.0.1\r\n"
			   "t=0 0\r\n"
			   "m=audio 6000 RTP/AVP 8 101\r\n"
			   "a=rtpmap:8 PCMA/8000\r\n"
			   "a=rtpmap:101 telephone-event/8000\r\n"
			   "a=fmtp:101 0-11,16\r\n";

static const char polycom[] =
    "v=0\r\n"
    "o=- 1712845001 1712845001 IN IP4 10.20.30.41\r\n"
    "s=Polycom IP Phone\r\n"
    "c=IN IP4 10.20.30.41\r\n"
    "t=0 0\r\n"
    "a=sendonly\r\n"
    "m=audio 2222 RTP/SAVP 9 0 8 18 127\r\n"
    "a=rtpmap:18 G729/8000\r\n"
    "a=fmtp:18 annexb=no\r\n"
    "a=rtpmap:127 telephone-event/8000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:UG9seWNvbUxpa2VLZXlNYXRlcmlhbDAxMjM0NTY3|2^48\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
    "inline:U2Vjb25kU3VpdGVLZXlNYXRlcmlhbDAxMjM0NTY3|2^48\r\n"
    "a=rtcp:2223\r\n"
    "m=video 0 RTP/SAVP 109 34\r\n"
    "a=rtpmap:109 H264/90000\r\n";

static const char yealink6[] = "v=0\r\n"
			       "o=- 20045 20045 IN IP6 2001:db8:10::25\r\n"
			       "s=SDP data\r\n"
			       "c=IN IP6 2001:db8:10::25\r\n"
			       "t=0 0\r\n"
			       "m=audio 11796 RTP/AVP 0 8 101\r\n"
			       "a=rtpmap:101 telephone-event/8000\r\n"
			       "a=fmtp:101 0-15\r\n"
			       "a=ptime:20\r\n"
			       "a=rtcp:11797 IN IP6 2001:db8:10::25\r\n"
			       "a=recvonly\r\n";

/* Every session line type, multicast c=, t= with r= and two periods. */
static const char full[] = "v=0\r\n"
			   "o=jdoe 3724394400 18446744073709551615 IN IP4 "
			   "198.51.100.1\r\n"
			   "s=Weekly call\r\n"
			   "i=Every field type\r\n"
			   "u=https://www.example.com/call/1\r\n"
			   "e=Jane Doe <jane@example.com>\r\n"
			   "p=+1 617 555-0100\r\n"
			   "c=IN IP4 233.252.0.1/127/2\r\n"
			   "b=CT:512\r\n"
			   "t=3724394400 3724398000\r\n"
			   "r=604800 3600 0 90000\r\n"
			   "t=0 0\r\n"
			   "z=2882844526 -1h 2898848070 0\r\n"
			   "k=prompt\r\n"
			   "x=unknown type, kept\r\n"
			   "a=recvonly\r\n"
			   "m=audio 49170/2 RTP/AVP 0\r\n"
			   "i=voice\r\n"
			   "c=IN IP4 198.51.100.7\r\n"
			   "b=AS:80\r\n"
			   "k=clear:notakey\r\n"
			   "a=ptime:20\r\n"
			   "m=application 32416 udp wb\r\n"
			   "a=orient:portrait\r\n";

static const char *const fixtures[] = {baresip, sipp, polycom, yealink6, full};

#include "pool_fixture.h"

static sdp_session_t *parse_ok(const char *text)
{
	sdp_session_t *s = NULL;
	const char *why = NULL;

	if (sdp_parse(text, strlen(text), pool, &s, &why) != APR_SUCCESS)
		fail_msg("parse failed: %s", why);
	return s;
}

static sdp_media_t *media(const sdp_session_t *s, int i)
{
	assert_true(i < s->media->nelts);
	return APR_ARRAY_IDX(s->media, i, sdp_media_t *);
}

static const sdp_attr_t *attr(const apr_array_header_t *a, int i)
{
	assert_true(i < a->nelts);
	return &APR_ARRAY_IDX(a, i, sdp_attr_t);
}

static const char *fmt(const sdp_media_t *m, int i)
{
	assert_true(i < m->fmts->nelts);
	return APR_ARRAY_IDX(m->fmts, i, const char *);
}

static void test_baresip(void **state)
{
	sdp_session_t *s = parse_ok(baresip);
	sdp_media_t *a, *v;

	(void)state;
	assert_int_equal(s->version, 0);
	assert_string_equal(s->origin.username, "-");
	assert_true(s->origin.sess_id == 1712844216u);
	assert_true(s->origin.sess_version == 2093155032u);
	assert_string_equal(s->origin.addr, "192.168.1.34");
	assert_string_equal(s->name, "-");
	assert_string_equal(s->conn->addrtype, "IP4");
	assert_string_equal(s->conn->addr, "192.168.1.34");
	assert_null(s->conn->mcast);
	assert_string_equal(sdp_attr_get(s->attrs, "tool"), "baresip 3.10.1");
	assert_int_equal(s->media->nelts, 2);
	a = media(s, 0);
	assert_string_equal(a->type, "audio");
	assert_int_equal(a->port, 12540);
	assert_int_equal(a->nports, 1);
	assert_string_equal(a->proto, "RTP/SAVP");
	assert_int_equal(a->fmts->nelts, 5);
	assert_string_equal(fmt(a, 0), "111");
	assert_string_equal(fmt(a, 4), "101");
	assert_null(a->conn);
	assert_ptr_equal(sdp_media_addr(s, a), s->conn);
	assert_int_equal(a->lines->nelts, 1);
	assert_int_equal(APR_ARRAY_IDX(a->lines, 0, sdp_line_t).type, 'b');
	assert_string_equal(APR_ARRAY_IDX(a->lines, 0, sdp_line_t).value,
			    "AS:64");
	/* Attributes in their original order, flags with a NULL value. */
	assert_int_equal(a->attrs->nelts, 8);
	assert_string_equal(attr(a->attrs, 0)->name, "rtpmap");
	assert_string_equal(attr(a->attrs, 0)->value, "111 opus/48000/2");
	assert_string_equal(attr(a->attrs, 4)->name, "rtcp-mux");
	assert_null(attr(a->attrs, 4)->value);
	assert_string_equal(attr(a->attrs, 7)->value,
			    "2 AES_CM_128_HMAC_SHA1_32 "
			    "inline:QW5vdGhlckZha2VLZXlGb3JUaGVGdXp6ZXI0MDA=");
	assert_true(sdp_media_rtcp_mux(a));
	assert_int_equal(sdp_media_direction(s, a), SDP_SENDRECV);
	v = media(s, 1);
	assert_string_equal(v->type, "video");
	assert_int_equal(v->port, 0);
	assert_false(sdp_media_rtcp_mux(v));
	assert_false(sdp_is_hold(s, a));
	assert_false(sdp_is_hold(s, NULL));
}

static void test_sipp_polycom_ipv6(void **state)
{
	const char *addr = "unset";
	sdp_session_t *s;
	apr_port_t port = 0;
	sdp_media_t *m;

	(void)state;
	s = parse_ok(sipp);
	m = media(s, 0);
	assert_string_equal(s->origin.username, "user1");
	assert_string_equal(sdp_attr_get(m->attrs, "fmtp"), "101 0-11,16");
	assert_int_equal(sdp_media_rtcp(m, &port, &addr), SB_ENOTFOUND);
	assert_int_equal(port, 0);

	s = parse_ok(polycom);
	m = media(s, 0);
	assert_string_equal(s->name, "Polycom IP Phone");
	assert_int_equal(sdp_media_rtcp(m, &port, &addr), APR_SUCCESS);
	assert_int_equal(port, 2223);
	assert_null(addr);
	/* Session-level sendonly applies to both media: the phone holds. */
	assert_int_equal(sdp_media_direction(s, m), SDP_SENDONLY);
	assert_true(sdp_is_hold(s, m));
	assert_true(sdp_is_hold(s, NULL));
	assert_string_equal(fmt(media(s, 1), 1), "34");

	s = parse_ok(yealink6);
	m = media(s, 0);
	assert_string_equal(s->origin.addrtype, "IP6");
	assert_string_equal(s->conn->addrtype, "IP6");
	assert_string_equal(sdp_media_addr(s, m)->addr, "2001:db8:10::25");
	assert_int_equal(sdp_media_rtcp(m, &port, &addr), APR_SUCCESS);
	assert_int_equal(port, 11797);
	assert_string_equal(addr, "2001:db8:10::25");
	assert_int_equal(sdp_media_direction(s, m), SDP_RECVONLY);
	assert_false(sdp_is_hold(s, m));
}

static void test_full_session(void **state)
{
	static const char types[] = "iuepbtrtzkx";
	sdp_session_t *s = parse_ok(full);
	sdp_media_t *m;
	int i;

	(void)state;
	assert_true(s->origin.sess_version == APR_UINT64_MAX);
	assert_string_equal(s->conn->addr, "233.252.0.1");
	assert_string_equal(s->conn->mcast, "127/2");
	assert_int_equal(s->lines->nelts, (int)strlen(types));
	for (i = 0; i < s->lines->nelts; i++)
		assert_int_equal(APR_ARRAY_IDX(s->lines, i, sdp_line_t).type,
				 types[i]);
	assert_string_equal(APR_ARRAY_IDX(s->lines, 6, sdp_line_t).value,
			    "604800 3600 0 90000");
	assert_string_equal(APR_ARRAY_IDX(s->lines, 10, sdp_line_t).value,
			    "unknown type, kept");
	m = media(s, 0);
	assert_int_equal(m->nports, 2);
	assert_string_equal(m->conn->addr, "198.51.100.7");
	assert_ptr_equal(sdp_media_addr(s, m), m->conn);
	assert_int_equal(m->lines->nelts, 3);
	assert_int_equal(sdp_media_direction(s, m), SDP_RECVONLY);
	m = media(s, 1);
	assert_string_equal(m->proto, "udp");
	assert_string_equal(fmt(m, 0), "wb");
}

static void assert_lines_equal(const apr_array_header_t *a,
			       const apr_array_header_t *b)
{
	int i;

	assert_int_equal(a->nelts, b->nelts);
	for (i = 0; i < a->nelts; i++) {
		assert_int_equal(APR_ARRAY_IDX(a, i, sdp_line_t).type,
				 APR_ARRAY_IDX(b, i, sdp_line_t).type);
		assert_string_equal(APR_ARRAY_IDX(a, i, sdp_line_t).value,
				    APR_ARRAY_IDX(b, i, sdp_line_t).value);
	}
}

static void assert_attrs_equal(const apr_array_header_t *a,
			       const apr_array_header_t *b)
{
	int i;

	assert_int_equal(a->nelts, b->nelts);
	for (i = 0; i < a->nelts; i++) {
		assert_string_equal(attr(a, i)->name, attr(b, i)->name);
		if (attr(a, i)->value == NULL)
			assert_null(attr(b, i)->value);
		else
			assert_string_equal(attr(a, i)->value,
					    attr(b, i)->value);
	}
}

static void assert_conn_equal(const sdp_conn_t *a, const sdp_conn_t *b)
{
	if (a == NULL) {
		assert_null(b);
		return;
	}
	assert_non_null(b);
	assert_string_equal(a->nettype, b->nettype);
	assert_string_equal(a->addrtype, b->addrtype);
	assert_string_equal(a->addr, b->addr);
	assert_string_equal(a->mcast ? a->mcast : "(none)",
			    b->mcast ? b->mcast : "(none)");
}

static void assert_session_equal(const sdp_session_t *a, const sdp_session_t *b)
{
	const sdp_media_t *ma, *mb;
	int i, j;

	assert_string_equal(a->origin.username, b->origin.username);
	assert_true(a->origin.sess_id == b->origin.sess_id);
	assert_true(a->origin.sess_version == b->origin.sess_version);
	assert_string_equal(a->origin.addr, b->origin.addr);
	assert_string_equal(a->name, b->name);
	assert_conn_equal(a->conn, b->conn);
	assert_lines_equal(a->lines, b->lines);
	assert_attrs_equal(a->attrs, b->attrs);
	assert_int_equal(a->media->nelts, b->media->nelts);
	for (i = 0; i < a->media->nelts; i++) {
		ma = media(a, i);
		mb = media(b, i);
		assert_string_equal(ma->type, mb->type);
		assert_int_equal(ma->port, mb->port);
		assert_int_equal(ma->nports, mb->nports);
		assert_string_equal(ma->proto, mb->proto);
		assert_int_equal(ma->fmts->nelts, mb->fmts->nelts);
		for (j = 0; j < ma->fmts->nelts; j++)
			assert_string_equal(fmt(ma, j), fmt(mb, j));
		assert_conn_equal(ma->conn, mb->conn);
		assert_lines_equal(ma->lines, mb->lines);
		assert_attrs_equal(ma->attrs, mb->attrs);
	}
}

static void test_round_trip(void **state)
{
	sdp_session_t *s, *s2;
	apr_size_t len;
	size_t i;
	char *out;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		s = parse_ok(fixtures[i]);
		out = sdp_print(s, pool, &len);
		assert_int_equal(len, strlen(out));
		/* Canonical input comes back byte for byte. */
		assert_string_equal(out, fixtures[i]);
		s2 = parse_ok(out);
		assert_session_equal(s, s2);
	}
}

/* Out of order, LF ends, runs of spaces, trailing empty lines. */
static void test_canonical_order(void **state)
{
	static const char in[] = "v=0\n"
				 "o=-  7 8 IN IP4 192.0.2.1\n"
				 "s=x\n"
				 "t=0 0\n"
				 "a=group:BUNDLE 0\n"
				 "b=AS:100\n"
				 "c=IN IP4 192.0.2.1\n"
				 "i=late info\n"
				 "m=audio  4000  RTP/AVP  0   8\r\n"
				 "a=rtcp-mux\n"
				 "k=prompt\n"
				 "c=IN IP4 192.0.2.2\n"
				 "b=TIAS:64000\n"
				 "i=media info\n"
				 "\r\n\n";
	static const char want[] = "v=0\r\n"
				   "o=- 7 8 IN IP4 192.0.2.1\r\n"
				   "s=x\r\n"
				   "i=late info\r\n"
				   "c=IN IP4 192.0.2.1\r\n"
				   "b=AS:100\r\n"
				   "t=0 0\r\n"
				   "a=group:BUNDLE 0\r\n"
				   "m=audio 4000 RTP/AVP 0 8\r\n"
				   "i=media info\r\n"
				   "c=IN IP4 192.0.2.2\r\n"
				   "b=TIAS:64000\r\n"
				   "k=prompt\r\n"
				   "a=rtcp-mux\r\n";
	sdp_session_t *s = parse_ok(in);

	(void)state;
	assert_string_equal(sdp_print(s, pool, NULL), want);
	/* The last line may lack its end. */
	s = parse_ok("v=0\no=- 1 1 IN IP4 h.example\ns=-\nt=0 0");
	assert_int_equal(s->media->nelts, 0);
	assert_string_equal(s->origin.addr, "h.example");
}

/* All SB_EMALFORMED; the limits that give SB_ETOOBIG are below. */
typedef struct {
	const char *body;
	const char *why;
} reject_t;

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"

static const reject_t rejects[] = {
    {"", "line 1: empty description"},
    {"\r\n", "line 1: empty line"},
    {"o=- 1 1 IN IP4 a.b\r\n", "line 1: first line is not v=0"},
    {"v=1\r\n", "line 1: first line is not v=0"},
    {"v=0\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n",
     "line 4: session part has no o= line"},
    {"v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n",
     "line 3: session part has no s= line"},
    {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n",
     "line 4: session part has no t= line"},
    {HEAD "hello\r\n", "line 5: not a <type>=<value> line"},
    {HEAD "a\r\n", "line 5: not a <type>=<value> line"},
    {HEAD "a=x\0y\r\n", "line 5: NUL byte"},
    {HEAD "a=x\ry\r\n", "line 5: CR without LF"},
    {HEAD "\r\na=x\r\n", "line 5: empty line"},
    {HEAD "v=0\r\n", "line 5: second v= line"},
    {HEAD "o=- 1 1 IN IP4 h\r\n", "line 5: second o= line"},
    {HEAD "s=-\r\n", "line 5: second s= line"},
    {"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nr=1 1 0\r\nt=0 0\r\n",
     "line 4: r= line before any t= line"},
    {"v=0\r\no=- 1 IN IP4 h\r\n", "line 2: bad o= line: 5 fields, want 6"},
    {"v=0\r\no=- 1 1 IN IP4 h x\r\n", "line 2: bad o= line: 7 fields, want 6"},
    {"v=0\r\no=- 18446744073709551616 1 IN IP4 h\r\n",
     "line 2: bad o= line: session id or version is not a 64-bit number"},
    {"v=0\r\no=- 1 -1 IN IP4 h\r\n",
     "line 2: bad o= line: session id or version is not a 64-bit number"},
    {HEAD "c=IN IP4\r\n", "line 5: bad c= line: 2 fields, want 3"},
    {HEAD "c=IN IP4 300.1.2.3\r\n",
     "line 5: bad c= line: \"300.1.2.3\" is not an IP4 address"},
    {HEAD "c=IN IP6 192.0.2.1\r\n",
     "line 5: bad c= line: \"192.0.2.1\" is not an IP6 address"},
    {HEAD "c=IN IP4 a_b\r\n",
     "line 5: bad c= line: \"a_b\" is not an IP4 address"},
    {HEAD "c=IN IP4 233.252.0.1/ttl\r\n",
     "line 5: bad c= line: bad multicast suffix \"/ttl\""},
    {HEAD "c=IN I(4 192.0.2.1\r\n",
     "line 5: bad c= line: network or address type is not a token"},
    {HEAD "m=audio 1 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\n"
	  "c=IN IP4 192.0.2.2\r\n",
     "line 7: second c= line in one section"},
    {HEAD "m=audio 70000 RTP/AVP 0\r\n",
     "line 5: bad m= line: port 70000 is over 65535"},
    {HEAD "m=audio x RTP/AVP 0\r\n",
     "line 5: bad m= line: port \"x\" is not a number"},
    {HEAD "m=audio 4000/0 RTP/AVP 0\r\n",
     "line 5: bad m= line: port count is not 1 to 65535"},
    {HEAD "m=audio 4000 RTP/AVP\r\n", "line 5: bad m= line: no format"},
    {HEAD "m=audio 4000\r\n",
     "line 5: bad m= line: want media, port, proto, formats"},
    {HEAD "m=audio 4000 RTP//AVP 0\r\n",
     "line 5: bad m= line: bad proto \"RTP//AVP\""},
    {HEAD "m=au:dio 4000 RTP/AVP 0\r\n",
     "line 5: bad m= line: media \"au:dio\" is not a token"},
    {HEAD "m=audio 4000 RTP/AVP 0 a/b\r\n",
     "line 5: bad m= line: format \"a/b\" is not a token"},
    {HEAD "m=audio 4000 RTP/AVP 0\r\nt=0 0\r\n",
     "line 6: t= line inside a media section"},
    {HEAD "a=:x\r\n", "line 5: bad a= line: no attribute name before ':'"},
    {HEAD "a=\r\n", "line 5: bad a= line: no attribute name before the end"},
};

static void test_rejects(void **state)
{
	sdp_session_t *s = (sdp_session_t *)&s;
	const char *why;
	apr_size_t len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		/* Bodies with a NUL: measure up to the CRLF after it. */
		len = strlen(rejects[i].body);
		if (strstr(rejects[i].why, "NUL") != NULL)
			len += 1 + strlen(rejects[i].body + len + 1);
		why = NULL;
		assert_int_equal(
		    sdp_parse(rejects[i].body, len, pool, &s, &why),
		    SB_EMALFORMED);
		assert_non_null(why);
		assert_string_equal(why, rejects[i].why);
		/* The out-pointer is left alone on failure. */
		assert_ptr_equal(s, &s);
	}
}

/* @n lines made of @line after HEAD (and an m= for a=). */
static char *repeat(const char *first, const char *line, int n)
{
	char *buf, *p;
	size_t ll = strlen(line), fl = strlen(first);
	int i;

	buf = apr_palloc(pool, fl + ll * (size_t)n + 1);
	memcpy(buf, first, fl);
	for (i = 0, p = buf + fl; i < n; i++, p += ll)
		memcpy(p, line, ll);
	*p = '\0';
	return buf;
}

static void test_limits(void **state)
{
	const char *why = NULL, *text;
	sdp_session_t *s;
	char *big;

	(void)state;
	text = repeat(HEAD, "m=audio 0 RTP/AVP 0\r\n", SDP_MAX_MEDIA);
	s = parse_ok(text);
	assert_int_equal(s->media->nelts, SDP_MAX_MEDIA);
	text = repeat(HEAD, "m=audio 0 RTP/AVP 0\r\n", SDP_MAX_MEDIA + 1);
	assert_int_equal(sdp_parse(text, strlen(text), pool, &s, &why),
			 SB_ETOOBIG);
	assert_string_equal(why, "line 261: more than 256 m= lines");

	text = repeat(HEAD "m=audio 1 RTP/AVP 0\r\n", "a=x\r\n", SDP_MAX_ATTRS);
	s = parse_ok(text);
	assert_int_equal(media(s, 0)->attrs->nelts, SDP_MAX_ATTRS);
	text = repeat(HEAD "a=s\r\nm=audio 1 RTP/AVP 0\r\n", "a=x\r\n",
		      SDP_MAX_ATTRS);
	assert_int_equal(sdp_parse(text, strlen(text), pool, &s, &why),
			 SB_ETOOBIG);
	assert_string_equal(why, "line 1030: more than 1024 a= lines");

	big = repeat(HEAD, "a", SDP_MAX_LEN);
	assert_int_equal(sdp_parse(big, strlen(big), pool, &s, &why),
			 SB_ETOOBIG);
	assert_string_equal(why, apr_psprintf(pool,
					      "description of %" APR_SIZE_T_FMT
					      " bytes is over 65536",
					      strlen(big)));
}

static void test_attr_helpers(void **state)
{
	sdp_session_t *s = parse_ok(HEAD "m=audio 1 RTP/AVP 0\r\n"
					 "a=crypto:1 A inline:k1\r\n"
					 "a=rtcp-mux\r\n"
					 "a=empty:\r\n"
					 "a=CRYPTO:2 B inline:k2\r\n"
					 "a=ptime:20\r\n");
	apr_array_header_t *a = media(s, 0)->attrs;
	char name[] = "label", value[] = "7";

	(void)state;
	assert_string_equal(sdp_attr_get(a, "crypto"), "1 A inline:k1");
	assert_string_equal(sdp_attr_get(a, "rtcp-mux"), "");
	assert_null(sdp_attr_find(a, "rtcp-mux")->value);
	assert_string_equal(sdp_attr_get(a, "empty"), "");
	assert_non_null(sdp_attr_find(a, "empty")->value);
	assert_null(sdp_attr_get(a, "rtcp"));
	assert_null(sdp_attr_find(a, "crypt"));
	/* Names compare without case: both crypto lines go. */
	assert_int_equal(sdp_attr_remove(a, "crypto"), 2);
	assert_int_equal(sdp_attr_remove(a, "crypto"), 0);
	assert_int_equal(a->nelts, 3);
	assert_string_equal(attr(a, 0)->name, "rtcp-mux");
	assert_string_equal(attr(a, 2)->name, "ptime");
	sdp_attr_add(pool, a, name, value);
	sdp_attr_add(pool, a, "rtcp-rsize", NULL);
	name[0] = 'X';
	value[0] = '9';
	assert_string_equal(sdp_attr_get(a, "label"), "7");
	assert_null(sdp_attr_find(a, "rtcp-rsize")->value);
	assert_string_equal(attr(a, 3)->name, "label");
	assert_string_equal(sdp_dir_name(SDP_INACTIVE), "inactive");
	assert_string_equal(sdp_dir_name(SDP_SENDRECV), "sendrecv");
}

static void test_direction_and_hold(void **state)
{
	sdp_session_t *s = parse_ok(HEAD "a=inactive\r\n"
					 "m=audio 1 RTP/AVP 0\r\n"
					 "a=recvonly\r\na=sendonly\r\n"
					 "m=audio 2 RTP/AVP 0\r\n"
					 "m=audio 0 RTP/AVP 0\r\n"
					 "a=sendrecv\r\n");

	(void)state;
	/* Media overrides the session; the first one at a level wins. */
	assert_int_equal(sdp_media_direction(s, media(s, 0)), SDP_RECVONLY);
	assert_int_equal(sdp_media_direction(s, media(s, 1)), SDP_INACTIVE);
	assert_int_equal(sdp_media_direction(s, media(s, 2)), SDP_SENDRECV);
	assert_false(sdp_is_hold(s, media(s, 0)));
	assert_true(sdp_is_hold(s, media(s, 1)));
	assert_false(sdp_is_hold(s, NULL));
	/* Port 0 media do not count for the session; none is default. */
	s = parse_ok(HEAD "m=audio 1 RTP/AVP 0\r\na=sendonly\r\n"
			  "m=video 0 RTP/AVP 31\r\n");
	assert_true(sdp_is_hold(s, NULL));
	s = parse_ok(HEAD "m=audio 0 RTP/AVP 0\r\n");
	assert_false(sdp_is_hold(s, NULL));
	assert_int_equal(sdp_media_direction(s, media(s, 0)), SDP_SENDRECV);
	/* RFC 2543 hold, and the trickle ICE placeholder that is not. */
	s = parse_ok(HEAD "c=IN IP4 0.0.0.0\r\nm=audio 1 RTP/AVP 0\r\n");
	assert_true(sdp_is_hold(s, media(s, 0)));
	s = parse_ok(HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
			  "c=IN IP4 0.0.0.0\r\na=ice-ufrag:Xk4f\r\n");
	assert_false(sdp_is_hold(s, media(s, 0)));
}

static void test_rtcp(void **state)
{
	static const struct {
		const char *value;
		apr_status_t rv;
		apr_port_t port;
		const char *addr;
	} cases[] = {
	    {"53020", APR_SUCCESS, 53020, NULL},
	    {"53020 IN IP4 126.16.64.4", APR_SUCCESS, 53020, "126.16.64.4"},
	    {"9 IN IP6 2001:db8::7", APR_SUCCESS, 9, "2001:db8::7"},
	    {"9 in ip4 rtcp.example.com", APR_SUCCESS, 9, "rtcp.example.com"},
	    {"0", SB_EMALFORMED, 0, NULL},
	    {"65536", SB_EMALFORMED, 0, NULL},
	    {"", SB_EMALFORMED, 0, NULL},
	    {"x", SB_EMALFORMED, 0, NULL},
	    {"5x", SB_EMALFORMED, 0, NULL},
	    {"5 IN IP4", SB_EMALFORMED, 0, NULL},
	    {"5 IN IP4 1.2.3.4 x", SB_EMALFORMED, 0, NULL},
	    {"5 IN IP4 1.2.3.4 ", SB_EMALFORMED, 0, NULL},
	    {"5 IN IP5 1.2.3.4", SB_EMALFORMED, 0, NULL},
	    {"5 IN IP6 1.2.3.4", SB_EMALFORMED, 0, NULL},
	    {"5 ATM NSAP 1.2.3.4", SB_EMALFORMED, 0, NULL},
	};
	sdp_media_t *m = media(parse_ok(HEAD "m=audio 1 RTP/AVP 0\r\n"), 0);
	const char *addr;
	apr_port_t port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)sdp_attr_remove(m->attrs, "rtcp");
		sdp_attr_add(pool, m->attrs, "rtcp", cases[i].value);
		port = 1;
		addr = "unset";
		assert_int_equal(sdp_media_rtcp(m, &port, &addr), cases[i].rv);
		if (cases[i].rv != APR_SUCCESS) {
			assert_int_equal(port, 1);
			assert_string_equal(addr, "unset");
			continue;
		}
		assert_int_equal(port, cases[i].port);
		if (cases[i].addr == NULL)
			assert_null(addr);
		else
			assert_string_equal(addr, cases[i].addr);
	}
}

/* A leg's edits on its copy; the copy outlives the original's pool. */
static void test_copy_and_rewrite(void **state)
{
	static const char want[] =
	    "v=0\r\n"
	    "o=- 1712845001 1712845002 IN IP4 10.20.30.41\r\n"
	    "s=Polycom IP Phone\r\n"
	    "c=IN IP6 2001:db8::5\r\n"
	    "t=0 0\r\n"
	    "a=sendonly\r\n"
	    "m=audio 40000 RTP/SAVP 9 0 8 18 127\r\n"
	    "c=IN IP4 192.0.2.1\r\n"
	    "a=rtpmap:18 G729/8000\r\n"
	    "a=fmtp:18 annexb=no\r\n"
	    "a=rtpmap:127 telephone-event/8000\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:OURKEY\r\n"
	    "m=video 0 RTP/SAVP 109 34\r\n"
	    "a=rtpmap:109 H264/90000\r\n";
	apr_pool_t *src_pool, *orig = pool;
	sdp_session_t *s, *c;
	sdp_media_t *m;
	char *before;

	(void)state;
	assert_int_equal(apr_pool_create(&src_pool, orig), APR_SUCCESS);
	pool = src_pool;
	s = parse_ok(polycom);
	pool = orig;
	c = sdp_session_copy(pool, s);
	m = media(c, 0);
	c->origin.sess_version++;
	sdp_conn_set(pool, &c->conn, "2001:db8::5");
	sdp_conn_set(pool, &m->conn, "192.0.2.1");
	m->port = 40000;
	assert_int_equal(sdp_attr_remove(m->attrs, "crypto"), 2);
	assert_int_equal(sdp_attr_remove(m->attrs, "rtcp"), 1);
	sdp_attr_add(pool, m->attrs, "crypto",
		     "1 AES_CM_128_HMAC_SHA1_80 inline:OURKEY");
	/* The original is untouched by the leg's edits. */
	before = sdp_print(s, pool, NULL);
	assert_string_equal(before, polycom);
	apr_pool_destroy(src_pool);
	assert_string_equal(sdp_print(c, pool, NULL), want);
	assert_session_equal(c, parse_ok(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    pool_test(test_baresip),
	    pool_test(test_sipp_polycom_ipv6),
	    pool_test(test_full_session),
	    pool_test(test_round_trip),
	    pool_test(test_canonical_order),
	    pool_test(test_rejects),
	    pool_test(test_limits),
	    pool_test(test_attr_helpers),
	    pool_test(test_direction_and_hold),
	    pool_test(test_rtcp),
	    pool_test(test_copy_and_rewrite),
	};
	int rv;

	apr_initialize();
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rv;
}
