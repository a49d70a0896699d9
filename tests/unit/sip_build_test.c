/* sip_build_test.c — responses, ACK, CANCEL and serialising, re-parsed. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include "sip_build.h"
#include "pool_fixture.h"

/* Two Via lines (one compact, holding two values), folds everywhere. */
static const char invite_text[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    " ;rport\r\n"
    "v: SIP/2.0/TLS 192.0.2.7:5061;branch=z9hG4bKp1,\r\n"
    "\tSIP/2.0/UDP [2001:db8::1];branch=z9hG4bKp2\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:p1.example.com;lr>\r\n"
    "Route: <sip:p2.example.com;lr>,\r\n <sip:p3.example.com;lr>\r\n"
    "t: Bob\r\n <sip:bob@biloxi.example.com>\r\n"
    "f: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159\r\n INVITE\r\n"
    "Timestamp: 54\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    "l: 0\r\n"
    "\r\n";

/* Parse text into a message held in the pool. */
static sip_msg_t *parse(const char *text, apr_size_t len)
{
	sip_msg_t *m = apr_palloc(pool, sizeof(*m));
	sip_parse_error_t err;

	assert_int_equal(sip_parse_msg(m, text, len, NULL, &err), APR_SUCCESS);
	return m;
}

static sip_msg_t *invite(void)
{
	return parse(invite_text, strlen(invite_text));
}

/* Serialise b, check the length, and parse the result. */
static sip_msg_t *reparse(const sip_build_t *b)
{
	char *out;
	apr_size_t len;

	assert_int_equal(sip_build_serialize(b, &out, &len), APR_SUCCESS);
	return parse(out, len);
}

/* Value of the n-th line of header id as a C string; NULL if absent. */
static const char *hdr_n(const sip_msg_t *m, sip_hdr_id_e id, int n)
{
	apr_size_t i;

	for (i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].id == id && n-- == 0)
			return apr_pstrmemdup(pool, m->hdrs[i].value.ptr,
					      m->hdrs[i].value.len);
	return NULL;
}

static const char *hdr(const sip_msg_t *m, sip_hdr_id_e id)
{
	return hdr_n(m, id, 0);
}

/* Every field: long name, no CR or LF left in the value. */
static void assert_canonical(const sip_msg_t *m)
{
	apr_size_t i;

	for (i = 0; i < m->nhdrs; i++) {
		assert_true(m->hdrs[i].name.len > 1);
		assert_null(
		    memchr(m->hdrs[i].value.ptr, '\r', m->hdrs[i].value.len));
		assert_null(
		    memchr(m->hdrs[i].value.ptr, '\n', m->hdrs[i].value.len));
	}
}

/* The parsed top Via of m. */
static sip_via_t top_via(const sip_msg_t *m)
{
	sip_hdr_iter_t it;
	sip_str_t v;
	sip_via_t via;

	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	return via;
}

static sip_str_t to_tag(const sip_msg_t *m)
{
	sip_str_t v = m->hdrs[0].value;
	sip_addr_t a;
	apr_size_t i;

	for (i = 0; i < m->nhdrs; i++)
		if (m->hdrs[i].id == SIP_HDR_TO)
			v = m->hdrs[i].value;
	assert_int_equal(sip_hdr_addr(&v, &a), APR_SUCCESS);
	return a.tag;
}

static void test_response_copies(void **state)
{
	sip_build_t b;
	sip_msg_t *r;

	(void)state;
	assert_int_equal(
	    sip_build_response(&b, pool, invite(), 100, NULL, "abc", NULL),
	    APR_SUCCESS);
	r = reparse(&b);
	assert_false(r->is_request);
	assert_int_equal(r->status, 100);
	assert_true(sip_str_eq(&r->reason, "Trying"));
	assert_canonical(r);
	/* Via x3, From, To, Call-ID, CSeq, Timestamp (8.2.6.1), C-L. */
	assert_int_equal(r->nhdrs, 9);
	assert_true(sip_str_eq(&r->hdrs[0].name, "Via"));
	assert_true(sip_str_eq(&r->hdrs[2].name, "Via"));
	assert_true(sip_str_eq(&r->hdrs[3].name, "From"));
	assert_true(sip_str_eq(&r->hdrs[4].name, "To"));
	assert_true(sip_str_eq(&r->hdrs[5].name, "Call-ID"));
	assert_true(sip_str_eq(&r->hdrs[6].name, "CSeq"));
	assert_string_equal(hdr_n(r, SIP_HDR_VIA, 0),
			    "SIP/2.0/UDP pc33.atlanta.example.com;"
			    "branch=z9hG4bK776asdhds ;rport");
	assert_string_equal(hdr_n(r, SIP_HDR_VIA, 1),
			    "SIP/2.0/TLS 192.0.2.7:5061;branch=z9hG4bKp1");
	assert_string_equal(hdr_n(r, SIP_HDR_VIA, 2),
			    "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKp2");
	assert_string_equal(hdr(r, SIP_HDR_FROM),
			    "\"Alice\" <sip:alice@atlanta.example.com>;"
			    "tag=1928301774");
	/* A 100 gets no tag even when one is offered. */
	assert_string_equal(hdr(r, SIP_HDR_TO),
			    "Bob <sip:bob@biloxi.example.com>");
	assert_true(
	    sip_str_eq(&r->call_id, "a84b4c76e66710@pc33.atlanta.example.com"));
	assert_string_equal(hdr(r, SIP_HDR_CSEQ), "314159 INVITE");
	assert_int_equal(r->cseq, 314159);
	assert_int_equal(r->cseq_method, SIP_METHOD_INVITE);
	assert_string_equal(hdr(r, SIP_HDR_TIMESTAMP), "54");
	assert_int_equal(r->content_length, 0);
	assert_null(hdr(r, SIP_HDR_ROUTE));
	assert_null(hdr(r, SIP_HDR_CONTACT));
}

static void test_response_to_tag(void **state)
{
	static const char tagged[] =
	    "OPTIONS sip:b@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/TLS h.example.com;branch=z9hG4bKx\r\n"
	    "To: <sip:b@example.com>;tag=keep1\r\n"
	    "From: <sip:a@example.com>;tag=f\r\n"
	    "Call-ID: c1\r\nCSeq: 2 OPTIONS\r\n\r\n";
	sip_msg_t *req = invite(), *r;
	sip_build_t b;
	sip_str_t t;

	(void)state;
	assert_int_equal(
	    sip_build_response(&b, pool, req, 180, NULL, "as8f7Gd", NULL),
	    APR_SUCCESS);
	r = reparse(&b);
	assert_true(sip_str_eq(&r->reason, "Ringing"));
	assert_string_equal(hdr(r, SIP_HDR_TO),
			    "Bob <sip:bob@biloxi.example.com>;tag=as8f7Gd");
	/* 200 with no tag given: a random one of 10+ characters. */
	assert_int_equal(
	    sip_build_response(&b, pool, req, 200, "Fine", NULL, NULL),
	    APR_SUCCESS);
	r = reparse(&b);
	assert_true(sip_str_eq(&r->reason, "Fine"));
	t = to_tag(r);
	assert_non_null(t.ptr);
	assert_true(t.len >= 10);
	/* A To that has a tag keeps it, and only it. */
	assert_int_equal(sip_build_response(&b, pool,
					    parse(tagged, strlen(tagged)), 486,
					    NULL, "other", NULL),
			 APR_SUCCESS);
	r = reparse(&b);
	assert_true(sip_str_eq(&r->reason, "Busy Here"));
	assert_string_equal(hdr(r, SIP_HDR_TO),
			    "<sip:b@example.com>;tag=keep1");
	/* Bad arguments. */
	assert_int_equal(
	    sip_build_response(&b, pool, req, 99, NULL, NULL, NULL),
	    APR_EINVAL);
	assert_int_equal(
	    sip_build_response(&b, pool, req, 200, NULL, "a b", NULL),
	    APR_EINVAL);
	assert_int_equal(sip_build_response(&b, pool, r, 200, NULL, NULL, NULL),
			 APR_EINVAL);
}

/* Response to a request whose only Via is via; returns the top Via. */
static const char *fixed_via(const char *via, const char *ip, int port,
			     apr_status_t want)
{
	const char *text = apr_pstrcat(
	    pool, "OPTIONS sip:b@example.com SIP/2.0\r\nVia: ", via,
	    "\r\nTo: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=1"
	    "\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	    NULL);
	sip_build_via_fix_t fix = {ip, port};
	sip_build_t b;
	sip_msg_t *r;

	assert_int_equal(sip_build_response(&b, pool, parse(text, strlen(text)),
					    200, NULL, NULL, &fix),
			 want);
	if (want != APR_SUCCESS)
		return NULL;
	r = reparse(&b);
	top_via(r); /* still a valid Via */
	return hdr(r, SIP_HDR_VIA);
}

static void test_via_fix(void **state)
{
	sip_build_t b;

	(void)state;
	/* Same IP, no rport: nothing to add. */
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa", "192.0.2.1",
		      0, APR_SUCCESS),
	    "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa");
	/* Another IP: received appended. */
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa", "198.51.100.9",
		      0, APR_SUCCESS),
	    "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa;received=198.51.100.9");
	/* A host name always gets received. */
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP pc.example.com;branch=z9hG4bKa", "192.0.2.1",
		      0, APR_SUCCESS),
	    "SIP/2.0/UDP pc.example.com;branch=z9hG4bKa;received=192.0.2.1");
	/* Bare rport filled in place; RFC 3581 4 wants received with it. */
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP 192.0.2.1;rport;branch=z9hG4bKa",
		      "192.0.2.1", 40000, APR_SUCCESS),
	    "SIP/2.0/UDP 192.0.2.1;rport=40000;branch=z9hG4bKa;"
	    "received=192.0.2.1");
	/* rport with no source port given stays bare. */
	assert_string_equal(
	    fixed_via("SIP/2.0/TCP h.example.com;rport;branch=z9hG4bKa", NULL,
		      0, APR_SUCCESS),
	    "SIP/2.0/TCP h.example.com;rport;branch=z9hG4bKa");
	/* An existing received is replaced, never doubled. */
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP h.example.com;received=10.1.1.1;"
		      "branch=z9hG4bKa;RECEIVED=10.2.2.2",
		      "203.0.113.5", 0, APR_SUCCESS),
	    "SIP/2.0/UDP h.example.com;received=203.0.113.5;"
	    "branch=z9hG4bKa");
	/* IPv6: brackets and spelling do not make a difference. */
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP [2001:db8:0::1];branch=z9hG4bKa",
		      "[2001:db8::1]", 0, APR_SUCCESS),
	    "SIP/2.0/UDP [2001:db8:0::1];branch=z9hG4bKa");
	assert_string_equal(
	    fixed_via("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKa",
		      "2001:db8::2", 0, APR_SUCCESS),
	    "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKa;"
	    "received=2001:db8::2");
	/* Only the top Via is touched. */
	assert_int_equal(
	    sip_build_response(&b, pool, invite(), 200, NULL, "t",
			       &(sip_build_via_fix_t){"192.0.2.99", 7}),
	    APR_SUCCESS);
	assert_string_equal(
	    b.first->value,
	    "SIP/2.0/UDP pc33.atlanta.example.com;"
	    "branch=z9hG4bK776asdhds;rport=7;received=192.0.2.99");
	assert_string_equal(b.first->next->value,
			    "SIP/2.0/TLS 192.0.2.7:5061;branch=z9hG4bKp1");
	/* Not an IP literal, or a port out of range. */
	fixed_via("SIP/2.0/UDP h.example.com;branch=z9hG4bKa", "h.example", 0,
		  APR_EINVAL);
	fixed_via("SIP/2.0/UDP h.example.com;branch=z9hG4bKa", "192.0.2.1",
		  70000, APR_EINVAL);
	/* A top Via that does not parse cannot be fixed. */
	fixed_via("SIP/2.0/UDP h.example.com;branch", "192.0.2.1", 0,
		  SB_EMALFORMED);
}

static void test_serialize_body(void **state)
{
	static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
	sip_build_t b;
	sip_msg_t *r;
	char *out;
	apr_size_t len;
	const char *expect;

	(void)state;
	sip_build_request(&b, pool, "MESSAGE", "sip:b@example.com");
	sip_build_add(&b, "Via", "SIP/2.0/TLS h.example.com;branch=z9hG4bKm");
	sip_build_add(&b, "Content-Length", "999");
	sip_build_add(&b, "To", "<sip:b@example.com>");
	sip_build_add(&b, "From", "<sip:a@example.com>;tag=9");
	sip_build_addf(&b, "Call-ID", "%s@%s", "abc", "h");
	sip_build_addf(&b, "CSeq", "%d %s", 7, "MESSAGE");
	sip_build_add(&b, "l", "3");
	sip_build_body(&b, "text/plain", "x", 1);
	sip_build_body(&b, "application/sdp", sdp, strlen(sdp));
	assert_int_equal(sip_build_serialize(&b, &out, &len), APR_SUCCESS);
	expect =
	    apr_psprintf(pool,
			 "MESSAGE sip:b@example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/TLS h.example.com;branch=z9hG4bKm\r\n"
			 "To: <sip:b@example.com>\r\n"
			 "From: <sip:a@example.com>;tag=9\r\n"
			 "Call-ID: abc@h\r\n"
			 "CSeq: 7 MESSAGE\r\n"
			 "Content-Type: application/sdp\r\n"
			 "Content-Length: %d\r\n\r\n%s",
			 (int)strlen(sdp), sdp);
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(out, expect, len);
	r = parse(out, len);
	assert_int_equal(r->content_length, strlen(sdp));
	assert_int_equal(r->body.len, strlen(sdp));
	assert_memory_equal(r->body.ptr, sdp, strlen(sdp));
	assert_int_equal(sip_hdr_count(r, SIP_HDR_CONTENT_LENGTH), 1);
	assert_int_equal(sip_hdr_count(r, SIP_HDR_CONTENT_TYPE), 1);
	/* No Content-Type and no body. */
	sip_build_body(&b, NULL, NULL, 0);
	r = reparse(&b);
	assert_int_equal(r->content_length, 0);
	assert_int_equal(sip_hdr_count(r, SIP_HDR_CONTENT_TYPE), 0);
	/* No start line: nothing to write. */
	b.start_line = NULL;
	assert_int_equal(sip_build_serialize(&b, &out, &len), APR_EINVAL);
}

static void test_remove_get(void **state)
{
	sip_build_t b;
	char *out;
	apr_size_t len;

	(void)state;
	sip_build_request(&b, pool, "OPTIONS", "sip:b@example.com");
	assert_null(sip_build_get(&b, "Via"));
	assert_int_equal(sip_build_remove(&b, "Via"), 0);
	sip_build_add(&b, "v", "SIP/2.0/TLS a;branch=z9hG4bK1");
	sip_build_add(&b, "i", "id1");
	sip_build_add(&b, "X-Foo", "1");
	sip_build_add(&b, "VIA", "SIP/2.0/TLS b;branch=z9hG4bK2");
	sip_build_add(&b, "x-foo", "2");
	sip_build_prepend(&b, "Via", "SIP/2.0/TLS c;branch=z9hG4bK3");
	assert_string_equal(sip_build_get(&b, "via"),
			    "SIP/2.0/TLS c;branch=z9hG4bK3");
	assert_string_equal(sip_build_get(&b, "Call-ID"), "id1");
	assert_string_equal(sip_build_get(&b, "X-FOO"), "1");
	assert_null(sip_build_get(&b, "X-Fo"));
	assert_int_equal(sip_build_remove(&b, "Via"), 3);
	assert_null(sip_build_get(&b, "v"));
	assert_int_equal(sip_build_remove(&b, "x-FOO"), 2);
	/* The tail moved back: appending still works. */
	sip_build_add(&b, "Max-Forwards", "70");
	assert_int_equal(sip_build_remove(&b, "CALL-ID"), 1);
	assert_string_equal(b.first->name, "Max-Forwards");
	assert_ptr_equal(b.first, b.last);
	assert_int_equal(sip_build_remove(&b, "Max-Forwards"), 1);
	assert_null(b.first);
	assert_null(b.last);
	sip_build_prepend(&b, "Subject", "hi");
	sip_build_add(&b, "Priority", "urgent");
	assert_string_equal(b.last->name, "Priority");
	/* A CR LF in a value cannot start a header of its own. */
	sip_build_add(&b, "X-Evil", "a\r\nInjected: yes");
	assert_string_equal(sip_build_get(&b, "X-Evil"), "a Injected: yes");
	assert_int_equal(sip_build_serialize(&b, &out, &len), APR_SUCCESS);
	assert_string_equal(apr_pstrmemdup(pool, out, len),
			    "OPTIONS sip:b@example.com SIP/2.0\r\n"
			    "Subject: hi\r\n"
			    "Priority: urgent\r\n"
			    "X-Evil: a Injected: yes\r\n"
			    "Content-Length: 0\r\n\r\n");
}

static const char busy_text[] =
    "SIP/2.0 486 Busy Here\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds"
    ";rport=5060;received=192.0.2.3\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    "From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

/* What ACK and CANCEL share (RFC 3261 17.1.1.3, 9.1). */
static void check_sibling(const sip_msg_t *m, const char *method,
			  sip_method_e id)
{
	assert_true(m->is_request);
	assert_int_equal(m->method, id);
	assert_true(sip_str_eq(&m->method_name, method));
	assert_true(sip_str_eq(&m->ruri_str, "sip:bob@biloxi.example.com"));
	assert_canonical(m);
	assert_int_equal(sip_hdr_count(m, SIP_HDR_VIA), 1);
	assert_string_equal(hdr(m, SIP_HDR_VIA),
			    "SIP/2.0/UDP pc33.atlanta.example.com;"
			    "branch=z9hG4bK776asdhds ;rport");
	assert_int_equal(sip_hdr_count(m, SIP_HDR_ROUTE), 2);
	assert_string_equal(hdr_n(m, SIP_HDR_ROUTE, 0),
			    "<sip:p1.example.com;lr>");
	assert_string_equal(hdr_n(m, SIP_HDR_ROUTE, 1),
			    "<sip:p2.example.com;lr>, <sip:p3.example.com;lr>");
	assert_string_equal(hdr(m, SIP_HDR_MAX_FORWARDS), "70");
	assert_string_equal(hdr(m, SIP_HDR_FROM),
			    "\"Alice\" <sip:alice@atlanta.example.com>;"
			    "tag=1928301774");
	assert_true(
	    sip_str_eq(&m->call_id, "a84b4c76e66710@pc33.atlanta.example.com"));
	assert_int_equal(m->cseq, 314159);
	assert_int_equal(m->cseq_method, id);
	assert_string_equal(hdr(m, SIP_HDR_CSEQ),
			    apr_pstrcat(pool, "314159 ", method, NULL));
	assert_null(hdr(m, SIP_HDR_CONTACT));
	assert_null(hdr(m, SIP_HDR_TIMESTAMP));
	assert_int_equal(m->content_length, 0);
}

static void test_ack_cancel(void **state)
{
	sip_msg_t *inv = invite(), *resp, *m;
	sip_build_t b;
	char *ok;

	(void)state;
	resp = parse(busy_text, strlen(busy_text));
	assert_int_equal(sip_build_ack_non2xx(&b, pool, inv, resp),
			 APR_SUCCESS);
	m = reparse(&b);
	check_sibling(m, "ACK", SIP_METHOD_ACK);
	assert_string_equal(hdr(m, SIP_HDR_TO),
			    "Bob <sip:bob@biloxi.example.com>;tag=8321234356");
	assert_int_equal(sip_build_cancel(&b, pool, inv), APR_SUCCESS);
	m = reparse(&b);
	check_sibling(m, "CANCEL", SIP_METHOD_CANCEL);
	assert_string_equal(hdr(m, SIP_HDR_TO),
			    "Bob <sip:bob@biloxi.example.com>");
	/* A 2xx is not ACKed here; nor is anything but an INVITE. */
	ok = apr_pstrdup(pool, busy_text);
	memcpy(ok + 8, "200 OK     ", 11);
	assert_int_equal(
	    sip_build_ack_non2xx(&b, pool, inv, parse(ok, strlen(ok))),
	    APR_EINVAL);
	assert_int_equal(sip_build_ack_non2xx(&b, pool, inv, inv), APR_EINVAL);
	assert_int_equal(sip_build_cancel(&b, pool, resp), APR_EINVAL);
	assert_int_equal(sip_build_cancel(&b, pool, m), APR_EINVAL);
}

static void test_branch_random(void **state)
{
	apr_hash_t *seen = apr_hash_make(pool);
	unsigned char used[256] = {0};
	const char *s;
	apr_size_t i, j, kinds = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		s = sip_build_branch(pool);
		assert_int_equal(strlen(s), 31);
		assert_memory_equal(s, "z9hG4bK", 7);
		for (j = 7; j < 31; j++)
			assert_true(islower((unsigned char)s[j]) ||
				    isdigit((unsigned char)s[j]));
		for (j = 7; j < 31; j++)
			used[(unsigned char)s[j]] = 1;
		assert_null(apr_hash_get(seen, s, APR_HASH_KEY_STRING));
		apr_hash_set(seen, s, APR_HASH_KEY_STRING, s);
	}
	assert_int_equal(apr_hash_count(seen), 1000);
	/* 24000 draws: each of the 36 characters ~660 times, none absent. */
	for (i = 0; i < 256; i++)
		kinds += used[i];
	assert_int_equal(kinds, 36);
	s = sip_build_random(pool, 40);
	assert_int_equal(strlen(s), 40);
	assert_int_equal(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789"), 40);
	assert_string_not_equal(s, sip_build_random(pool, 40));
	assert_string_equal(sip_build_random(pool, 0), "");
}

static void test_reason(void **state)
{
	static const struct {
		int code;
		const char *phrase;
	} want[] = {
	    {100, "Trying"},
	    {183, "Session Progress"},
	    {200, "OK"},
	    {302, "Moved Temporarily"},
	    {401, "Unauthorized"},
	    {407, "Proxy Authentication Required"},
	    {422, "Session Interval Too Small"},
	    {423, "Interval Too Brief"},
	    {429, "Provide Referrer Identity"},
	    {430, "Flow Failed"},
	    {433, "Anonymity Disallowed"},
	    {439, "First Hop Lacks Outbound Support"},
	    {440, "Max-Breadth Exceeded"},
	    {469, "Bad Info Package"},
	    {470, "Consent Needed"},
	    {481, "Call/Transaction Does Not Exist"},
	    {489, "Bad Event"},
	    {491, "Request Pending"},
	    {493, "Undecipherable"},
	    {494, "Security Agreement Required"},
	    {504, "Server Time-out"},
	    {513, "Message Too Large"},
	    {580, "Precondition Failure"},
	    {603, "Decline"},
	    {199, "Early Dialog Terminated"},
	    {150, "Provisional"},
	    {299, "Success"},
	    {399, "Redirection"},
	    {499, "Client Error"},
	    {599, "Server Error"},
	    {699, "Global Failure"},
	    {700, "Unknown"},
	    {0, "Unknown"},
	};
	apr_size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(sip_build_reason(want[i].code),
				    want[i].phrase);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    pool_test(test_response_copies), pool_test(test_response_to_tag),
	    pool_test(test_via_fix),	     pool_test(test_serialize_body),
	    pool_test(test_remove_get),	     pool_test(test_ack_cancel),
	    pool_test(test_branch_random),   pool_test(test_reason),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
