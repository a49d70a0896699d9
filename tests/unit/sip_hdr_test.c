/* sip_hdr_test.c — header lookup, value lists and on-demand parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sip_msg.h"

static sip_msg_t *msg;

static const char reg[] =
    "REGISTER sips:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK1;rport,\r\n"
    " SIP/2.0/UDP 192.0.2.7 ; received=198.51.100.1 ; rport=5070\r\n"
    "v: SIP/2.0/TCP proxy.example.com:5060;maddr=192.0.2.9;ttl=16\r\n"
    "To: Bob <sips:bob@example.com>\r\n"
    "From: \"Bob, Jr.\" <sips:bob@example.com>;tag=a73kszlfl\r\n"
    "Call-ID: 1j9FpLxk3uxtm8tn@example.com\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: <sips:bob@192.0.2.4;transport=tls>;expires=3600;q=0.7,\r\n"
    " \"Mr, B\" <sip:bob@[2001:db8::4]>;+sip.instance=\"<urn:uuid:00000000"
    "-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1\r\n"
    "m: sip:bob@192.0.2.5;q=1.000\r\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "Path: <sip:edge.example.com;lr;ob>\r\n"
    "Supported: path, outbound\r\n"
    "k: gruu\r\n"
    "Require: \r\n"
    "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    "Expires: 7200\r\n"
    "Max-Forwards: 70\r\n"
    "X-Odd: a, b\r\n"
    "x-odd: c\r\n"
    "Content-Type: application/sdp ; charset=\"utf-8\"\r\n"
    "Authorization: Digest username=\"bob\", realm=\"example.com\",\r\n"
    "  nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", opaque=\"\",\r\n"
    "  uri=\"sips:example.com\", response=\"dfe56131d1958046689d83306477"
    "ecc\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static int setup(void **state)
{
	(void)state;
	msg = malloc(sizeof(*msg));
	if (msg == NULL ||
	    sip_parse_msg(msg, reg, strlen(reg), NULL, NULL) != APR_SUCCESS)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(msg);
	return 0;
}

static sip_str_t S(const char *s)
{
	return sip_str(s, strlen(s));
}

static void test_find(void **state)
{
	(void)state;
	assert_int_equal(sip_hdr_count(msg, SIP_HDR_VIA), 2);
	assert_int_equal(sip_hdr_count(msg, SIP_HDR_CONTACT), 2);
	assert_int_equal(sip_hdr_count(msg, SIP_HDR_WARNING), 0);
	assert_true(sip_str_eq(&sip_hdr_find(msg, SIP_HDR_SUPPORTED)->value,
			       "path, outbound"));
	assert_null(sip_hdr_find(msg, SIP_HDR_WARNING));
	assert_true(
	    sip_str_eq(&sip_hdr_find_name(msg, "X-ODD")->value, "a, b"));
	assert_null(sip_hdr_find_name(msg, "X-Even"));
}

static void test_iterate(void **state)
{
	sip_hdr_iter_t it;
	sip_str_t v;
	int n = 0;

	(void)state;
	/* Two lines, three values; the fold is white space. */
	sip_hdr_iter_init(&it, msg, SIP_HDR_VIA);
	while (sip_hdr_next(&it, &v) == APR_SUCCESS)
		n++;
	assert_int_equal(n, 3);
	/* A comma inside a quoted display name does not split. */
	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(v.ptr[0], '"');
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "sip:bob@192.0.2.5;q=1.000"));
	assert_int_equal(sip_hdr_next(&it, &v), SB_ENOTFOUND);
	assert_int_equal(sip_hdr_next(&it, &v), SB_ENOTFOUND);
	/* An empty list header has no values. */
	sip_hdr_iter_init(&it, msg, SIP_HDR_REQUIRE);
	assert_int_equal(sip_hdr_next(&it, &v), SB_ENOTFOUND);
	/* Unknown headers by name: one value per line, never split. */
	sip_hdr_iter_init_name(&it, msg, "x-odd");
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "a, b"));
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "c"));
	assert_int_equal(sip_hdr_next(&it, &v), SB_ENOTFOUND);
	/* Date holds a comma but is no list. */
	sip_hdr_iter_init(&it, msg, SIP_HDR_DATE);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(v.len, 29);
	sip_hdr_iter_init(&it, msg, SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_next(&it, &v), SB_ENOTFOUND);
}

static void test_iterate_malformed(void **state)
{
	static const char *const bad[] = {
	    "Route: <sip:a.example>,, <sip:b.example>\r\n",
	    "Route: <sip:a.example>,\r\n",
	    "Route: , <sip:a.example>\r\n",
	    "Route: <sip:a.example, <sip:b.example>\r\n",
	    "Contact: \"open <sip:a.example>\r\n",
	};
	char buf[512];
	sip_msg_t *m = malloc(sizeof(*m));
	sip_hdr_iter_t it;
	sip_str_t v;
	apr_status_t rv;
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(
		    buf, sizeof(buf),
		    "OPTIONS sip:a.example SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
		    "To: <sip:a.example>\r\nFrom: <sip:b.example>;tag=1\r\n"
		    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n%s\r\n",
		    bad[i]);
		assert_int_equal(sip_parse_msg(m, buf, strlen(buf), NULL, NULL),
				 APR_SUCCESS);
		sip_hdr_iter_init(
		    &it, m, sip_parse_hdr_id(bad[i], bad[i][0] == 'R' ? 5 : 7));
		while ((rv = sip_hdr_next(&it, &v)) == APR_SUCCESS)
			;
		if (rv != SB_EMALFORMED)
			fail_msg("not rejected: %s", bad[i]);
	}
	free(m);
}

static void test_params(void **state)
{
	sip_str_t p = S(" ; a = 1 ;b;c=\"x;y\" ;d=[::1]"), n, v;

	(void)state;
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&n, "a") && sip_str_eq(&v, "1"));
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&n, "b") && v.ptr == NULL);
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "\"x;y\""));
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "[::1]"));
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), SB_ENOTFOUND);
	p = S(";a=1;;b");
	assert_int_equal(sip_hdr_param_find(&p, "B", &v), SB_EMALFORMED);
	p = S(";a=");
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), SB_EMALFORMED);
	p = S(";a=\"open");
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), SB_EMALFORMED);
	p = S("a=1");
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), SB_EMALFORMED);
	p = S(";");
	assert_int_equal(sip_hdr_param_next(&p, &n, &v), SB_EMALFORMED);
}

static void test_addr(void **state)
{
	sip_addr_t a;
	sip_str_t v = S("\"A \\\"B\\\"\" <sip:a@h.example;lr>;tag=x1;y");

	(void)state;
	assert_int_equal(sip_hdr_addr(&v, &a), APR_SUCCESS);
	assert_true(sip_str_eq(&a.display, "\"A \\\"B\\\"\""));
	assert_true(a.bracketed);
	assert_true(sip_str_eq(&a.uri_str, "sip:a@h.example;lr"));
	assert_int_equal(a.uri.lr, 1);
	assert_true(sip_str_eq(&a.tag, "x1"));
	assert_true(sip_str_eq(&a.params, ";tag=x1;y"));
	v = S("Mr  B  Good<sip:b@h.example>");
	assert_int_equal(sip_hdr_addr(&v, &a), APR_SUCCESS);
	assert_true(sip_str_eq(&a.display, "Mr  B  Good"));
	/* addr-spec: the params are the header's, not the URI's. */
	v = S("sip:c@h.example;tag=9;maddr=x");
	assert_int_equal(sip_hdr_addr(&v, &a), APR_SUCCESS);
	assert_false(a.bracketed);
	assert_true(sip_str_eq(&a.uri_str, "sip:c@h.example"));
	assert_true(sip_str_eq(&a.tag, "9"));
	v = S("<tel:+15551234>");
	assert_int_equal(sip_hdr_addr(&v, &a), APR_SUCCESS);
	assert_int_equal(a.uri.scheme, SIP_URI_TEL);
	v = S("sip:c@h.example");
	assert_int_equal(sip_hdr_route(&v, &a), SB_EMALFORMED);
	v = S("<sip:c@h.example>;lr");
	assert_int_equal(sip_hdr_route(&v, &a), APR_SUCCESS);
}

static void test_addr_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "<sip:a@h.example",
	    "< sip:a@h.example>",
	    "<sip:a@h.example >",
	    "\"open <sip:a@h.example>",
	    "\"name\" sip:a@h.example",
	    "Bell, Alexander <sip:a@h.example>",
	    "sip:a@h.example?Route=x",
	    "<sip:a@h.example> junk",
	    "<sip:a@h.example>;",
	    "<sip:a@h.example>;tag",
	    "<sip:a@h.example>;tag=\"q\"",
	    "<>",
	    "<sip:a@h.example>>",
	    "<sip:a@h ex>",
	};
	sip_addr_t a;
	sip_str_t v;
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = S(bad[i]);
		if (sip_hdr_addr(&v, &a) != SB_EMALFORMED)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_contact(void **state)
{
	sip_hdr_iter_t it;
	sip_contact_t c;
	sip_str_t v;

	(void)state;
	sip_hdr_iter_init(&it, msg, SIP_HDR_CONTACT);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_contact(&v, &c), APR_SUCCESS);
	assert_false(c.star);
	assert_int_equal(c.expires, 3600);
	assert_int_equal(c.q, 700);
	assert_int_equal(c.reg_id, -1);
	assert_true(sip_str_eq(&c.addr.uri.transport, "tls"));
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_contact(&v, &c), APR_SUCCESS);
	assert_true(sip_str_eq(
	    &c.instance, "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"));
	assert_int_equal(c.reg_id, 1);
	assert_int_equal(c.expires, -1);
	assert_int_equal(c.q, -1);
	assert_int_equal(c.addr.uri.host_type, SIP_HOST_IPV6);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_contact(&v, &c), APR_SUCCESS);
	assert_int_equal(c.q, 1000);
	v = S(" * ");
	assert_int_equal(sip_hdr_contact(&v, &c), APR_SUCCESS);
	assert_true(c.star);
	v = S("<sip:a@h.example>;q=0");
	assert_int_equal(sip_hdr_contact(&v, &c), APR_SUCCESS);
	assert_int_equal(c.q, 0);
	v = S("<sip:a@h.example>;expires=4294967295");
	assert_int_equal(sip_hdr_contact(&v, &c), APR_SUCCESS);
	assert_int_equal(c.expires, 4294967295LL);
}

static void test_contact_malformed(void **state)
{
	static const char *const bad[] = {
	    "*;expires=0",
	    "**",
	    "<sip:a@h.example>;expires=4294967296",
	    "<sip:a@h.example>;expires=280297596632815",
	    "<sip:a@h.example>;expires",
	    "<sip:a@h.example>;expires=-1",
	    "<sip:a@h.example>;q=1.5",
	    "<sip:a@h.example>;q=2",
	    "<sip:a@h.example>;q=0.1234",
	    "<sip:a@h.example>;q=.5",
	    "<sip:a@h.example>;q=1.001",
	    "<sip:a@h.example>;reg-id=0",
	    "<sip:a@h.example>;reg-id",
	    "<sip:a@h.example>;+sip.instance=urn",
	    "\"Joe\" <sip:joe@example.org>;;;;",
	    "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
	};
	sip_contact_t c;
	sip_str_t v;
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = S(bad[i]);
		if (sip_hdr_contact(&v, &c) != SB_EMALFORMED)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_via(void **state)
{
	sip_hdr_iter_t it;
	sip_via_t via;
	sip_str_t v;

	(void)state;
	sip_hdr_iter_init(&it, msg, SIP_HDR_VIA);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	assert_true(sip_str_eq(&via.protocol, "SIP"));
	assert_true(sip_str_eq(&via.version, "2.0"));
	assert_true(sip_str_eq(&via.transport, "TLS"));
	assert_true(sip_str_eq(&via.host, "[2001:db8::9]"));
	assert_int_equal(via.host_type, SIP_HOST_IPV6);
	assert_int_equal(via.port, 5061);
	assert_true(sip_str_eq(&via.branch, "z9hG4bK1"));
	assert_int_equal(via.rport, 0);
	assert_int_equal(via.ttl, -1);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	assert_true(sip_str_eq(&via.host, "192.0.2.7"));
	assert_int_equal(via.port, -1);
	assert_true(sip_str_eq(&via.received, "198.51.100.1"));
	assert_int_equal(via.rport, 5070);
	assert_null(via.branch.ptr);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	assert_true(sip_str_eq(&via.maddr, "192.0.2.9"));
	assert_int_equal(via.ttl, 16);
	assert_int_equal(via.rport, -1);
	v = S("SIP / 2.0 / UDP\r\n h.example : 5060 ; received=2001:db8::1");
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	assert_int_equal(via.port, 5060);
	assert_true(sip_str_eq(&via.received, "2001:db8::1"));
}

static void test_via_malformed(void **state)
{
	static const char *const bad[] = {
	    "SIP/2.0/UDP",
	    "SIP/2.0 h.example",
	    "SIP/2.0/UDPh.example",
	    "SIP/2.0/UDP[::1]",
	    "SIP//UDP h.example",
	    "SIP/2.0/UDP h.example:",
	    "SIP/2.0/UDP h.example:70000",
	    "SIP/2.0/UDP [::1",
	    "SIP/2.0/UDP 192.0.2.15;;",
	    "SIP/2.0/UDP h.example;branch",
	    "SIP/2.0/UDP h.example;branch=\"q\"",
	    "SIP/2.0/UDP h.example;received=h.example",
	    "SIP/2.0/UDP h.example;rport=0",
	    "SIP/2.0/UDP h.example;rport=65536",
	    "SIP/2.0/UDP h.example;ttl=256",
	    "SIP/2.0/UDP h.example;maddr=bad_host",
	    "SIP/2.0/UDP h.example junk",
	};
	sip_via_t via;
	sip_str_t v;
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = S(bad[i]);
		if (sip_hdr_via(&v, &via) != SB_EMALFORMED)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_scalars(void **state)
{
	apr_uint32_t seq, secs;
	sip_str_t m, v;
	apr_size_t len;
	int hops;

	(void)state;
	v = S("0009\r\n  INVITE");
	assert_int_equal(sip_hdr_cseq(&v, &seq, &m), APR_SUCCESS);
	assert_int_equal(seq, 9);
	assert_true(sip_str_eq(&m, "INVITE"));
	v = S("2147483647 X");
	assert_int_equal(sip_hdr_cseq(&v, &seq, &m), APR_SUCCESS);
	v = S("2147483648 X");
	assert_int_equal(sip_hdr_cseq(&v, &seq, &m), SB_EMALFORMED);
	v = S("1INVITE");
	assert_int_equal(sip_hdr_cseq(&v, &seq, &m), SB_EMALFORMED);
	v = S("1 INVITE x");
	assert_int_equal(sip_hdr_cseq(&v, &seq, &m), SB_EMALFORMED);
	v = S("INVITE");
	assert_int_equal(sip_hdr_cseq(&v, &seq, &m), SB_EMALFORMED);
	v = S("0");
	assert_int_equal(sip_hdr_max_forwards(&v, &hops), APR_SUCCESS);
	assert_int_equal(hops, 0);
	v = S("255");
	assert_int_equal(sip_hdr_max_forwards(&v, &hops), APR_SUCCESS);
	v = S("300");
	assert_int_equal(sip_hdr_max_forwards(&v, &hops), SB_EMALFORMED);
	v = S("-1");
	assert_int_equal(sip_hdr_max_forwards(&v, &hops), SB_EMALFORMED);
	v = S(" 150 ");
	assert_int_equal(sip_hdr_content_length(&v, 150, &len), APR_SUCCESS);
	assert_int_equal(len, 150);
	assert_int_equal(sip_hdr_content_length(&v, 149, &len), SB_EMALFORMED);
	v = S("-999");
	assert_int_equal(sip_hdr_content_length(&v, 1000, &len), SB_EMALFORMED);
	v = S("4294967295");
	assert_int_equal(sip_hdr_expires(&v, &secs), APR_SUCCESS);
	assert_true(secs == 4294967295u);
	v = S("4294967296");
	assert_int_equal(sip_hdr_expires(&v, &secs), SB_EMALFORMED);
	/* RFC 4475 scalar02's Expires. */
	v = S("1000000000000000000000000000000000000000000000000000000");
	assert_int_equal(sip_hdr_expires(&v, &secs), SB_EMALFORMED);
}

static void test_call_id(void **state)
{
	static const char *const good[] = {
	    "a", "a@b", "x.y-z@[::1]:5060",
	    "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"};
	static const char *const bad[] = {"",	 "@b",	"a@",	"a@b@c",
					  "a b", "a;b", "a\x80"};
	sip_str_t v;
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = S(good[i]);
		assert_int_equal(sip_hdr_call_id(&v), APR_SUCCESS);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = S(bad[i]);
		if (sip_hdr_call_id(&v) != SB_EMALFORMED)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_content_type(void **state)
{
	sip_ctype_t ct;
	sip_str_t v;

	(void)state;
	assert_int_equal(
	    sip_hdr_content_type(
		&sip_hdr_find(msg, SIP_HDR_CONTENT_TYPE)->value, &ct),
	    APR_SUCCESS);
	assert_true(sip_str_eq(&ct.type, "application"));
	assert_true(sip_str_eq(&ct.subtype, "sdp"));
	assert_int_equal(sip_hdr_param_find(&ct.params, "charset", &v),
			 APR_SUCCESS);
	assert_true(sip_str_eq(&v, "\"utf-8\""));
	v = S("multipart / mixed;boundary=x");
	assert_int_equal(sip_hdr_content_type(&v, &ct), APR_SUCCESS);
	assert_true(sip_str_eq(&ct.subtype, "mixed"));
	v = S("application");
	assert_int_equal(sip_hdr_content_type(&v, &ct), SB_EMALFORMED);
	v = S("application/");
	assert_int_equal(sip_hdr_content_type(&v, &ct), SB_EMALFORMED);
	v = S("application/sdp x");
	assert_int_equal(sip_hdr_content_type(&v, &ct), SB_EMALFORMED);
}

static void test_date(void **state)
{
	static const char *const bad[] = {
	    "Fri, 01 Jan 2010 16:00:00 EST", "Fri, 01 Jan 2010 16:00:00 UTC",
	    "Fri 01 Jan 2010 16:00:00 GMT",  "Fri, 1 Jan 2010 16:00:00 GMT",
	    "Fry, 01 Jan 2010 16:00:00 GMT", "Fri, 31 Feb 2010 16:00:00 GMT",
	    "Fri, 01 Jan 2010 24:00:00 GMT", "Fri, 01 Jan 2010 16:60:00 GMT",
	    "Fri, 01 Jen 2010 16:00:00 GMT", "Fri, 01 Jan 20x0 16:00:00 GMT",
	    "Fri, 01 Jan 1969 16:00:00 GMT", "",
	};
	apr_time_t t;
	sip_str_t v;
	apr_size_t i;

	(void)state;
	assert_int_equal(
	    sip_hdr_date(&sip_hdr_find(msg, SIP_HDR_DATE)->value, &t),
	    APR_SUCCESS);
	assert_true(t == APR_TIME_C(1289690940) * APR_USEC_PER_SEC);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = S(bad[i]);
		if (sip_hdr_date(&v, &t) != SB_EMALFORMED)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void test_tokens(void **state)
{
	sip_str_t v, t;
	int found = -1;

	(void)state;
	assert_int_equal(
	    sip_hdr_has_token(msg, SIP_HDR_SUPPORTED, "OUTBOUND", &found),
	    APR_SUCCESS);
	assert_true(found);
	assert_int_equal(
	    sip_hdr_has_token(msg, SIP_HDR_SUPPORTED, "gruu", &found),
	    APR_SUCCESS);
	assert_true(found);
	assert_int_equal(
	    sip_hdr_has_token(msg, SIP_HDR_SUPPORTED, "100rel", &found),
	    APR_SUCCESS);
	assert_false(found);
	assert_int_equal(sip_hdr_has_token(msg, SIP_HDR_REQUIRE, "x", &found),
			 APR_SUCCESS);
	assert_false(found);
	v = S(" timer ");
	assert_int_equal(sip_hdr_token(&v, &t), APR_SUCCESS);
	assert_true(sip_str_eq(&t, "timer"));
	v = S("a b");
	assert_int_equal(sip_hdr_token(&v, &t), SB_EMALFORMED);
	v = S("");
	assert_int_equal(sip_hdr_token(&v, &t), SB_EMALFORMED);
}

static void test_auth(void **state)
{
	sip_auth_t a;
	sip_str_t v;
	char out[64];
	apr_size_t n;

	(void)state;
	assert_int_equal(
	    sip_hdr_auth(&sip_hdr_find(msg, SIP_HDR_AUTHORIZATION)->value, &a),
	    APR_SUCCESS);
	assert_true(a.is_digest);
	assert_true(sip_str_eq(&a.username, "bob"));
	assert_true(sip_str_eq(&a.realm, "example.com"));
	assert_true(sip_str_eq(&a.nonce, "ea9c8e88df84f1cec4341ae6cbe5a359"));
	assert_true(sip_str_eq(&a.uri, "sips:example.com"));
	assert_true(sip_str_eq(&a.response, "dfe56131d1958046689d83306477ecc"));
	assert_true(sip_str_eq(&a.algorithm, "MD5"));
	assert_true(sip_str_eq(&a.qop, "auth"));
	assert_true(sip_str_eq(&a.nc, "00000001"));
	assert_true(sip_str_eq(&a.cnonce, "0a4f113b"));
	assert_non_null(a.opaque.ptr);
	assert_int_equal(a.opaque.len, 0);
	assert_null(a.stale.ptr);
	v = S("digest realm=\"atlanta.example.com\", qop=\"auth,auth-int\","
	      " nonce=\"n\", stale=TRUE, algorithm=MD5,"
	      " domain=\"sip:a.example sip:b.example\"");
	assert_int_equal(sip_hdr_auth(&v, &a), APR_SUCCESS);
	assert_true(a.is_digest);
	assert_true(sip_str_eq(&a.qop, "auth,auth-int"));
	assert_true(sip_str_eq(&a.stale, "TRUE"));
	assert_true(sip_str_eq(&a.domain, "sip:a.example sip:b.example"));
	v = S("Digest username=\"a\\\"b\", realm=r");
	assert_int_equal(sip_hdr_auth(&v, &a), APR_SUCCESS);
	assert_int_equal(sip_hdr_unquote(&a.username, out, sizeof(out), &n),
			 APR_SUCCESS);
	assert_string_equal(out, "a\"b");
	assert_int_equal(sip_hdr_unquote(&a.username, out, 3, &n), SB_ETOOBIG);
}

static void test_auth_malformed(void **state)
{
	static const char *const bad[] = {
	    "",
	    "Digest",
	    "Digest ",
	    "Digestrealm=\"r\"",
	    "Digest realm",
	    "Digest realm=",
	    "Digest realm=\"r\",",
	    "Digest realm=\"r\",,nonce=\"n\"",
	    "Digest realm=\"r\" nonce=\"n\"",
	    "Digest realm=\"r\", realm=\"s\"",
	    "Digest realm=\"open",
	    "Digest realm=a b",
	};
	sip_auth_t a;
	sip_str_t v;
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = S(bad[i]);
		if (sip_hdr_auth(&v, &a) != SB_EMALFORMED)
			fail_msg("accepted: %s", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_iterate),
	    cmocka_unit_test(test_iterate_malformed),
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_addr_malformed),
	    cmocka_unit_test(test_contact),
	    cmocka_unit_test(test_contact_malformed),
	    cmocka_unit_test(test_via),
	    cmocka_unit_test(test_via_malformed),
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_call_id),
	    cmocka_unit_test(test_content_type),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_auth_malformed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
