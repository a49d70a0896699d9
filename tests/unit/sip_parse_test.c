/* sip_parse_test.c — stream framing, start line and header split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sip_msg.h"

#define HDRS                                                                   \
	"Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKabc\r\n"                \
	"To: <sip:bob@example.com>\r\n"                                        \
	"f: \"Alice\" <sip:alice@example.com>;tag=1\r\n"                       \
	"i: call-1@example.com\r\n"                                            \
	"CSeq: 7 INVITE\r\n"                                                   \
	"Max-Forwards: 70\r\n"

static const char invite[] =
    "INVITE sip:bob@example.com SIP/2.0\r\n" HDRS "c: application/sdp\r\n"
    "l: 4\r\n"
    "\r\n"
    "v=0\n";

static sip_msg_t *msg;

static int setup(void **state)
{
	(void)state;
	msg = malloc(sizeof(*msg));
	return msg == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	free(msg);
	return 0;
}

/* Parse a C string; returns the status, fills err. */
static apr_status_t parse(const char *s, sip_parse_error_t *err)
{
	memset(err, 0, sizeof(*err));
	return sip_parse_msg(msg, s, strlen(s), NULL, err);
}

static apr_status_t frame(const char *s, apr_size_t *skip, apr_size_t *len)
{
	return sip_parse_frame(s, strlen(s), NULL, skip, len);
}

static void test_frame_keepalive(void **state)
{
	apr_size_t skip = 99, len = 99;

	(void)state;
	/* RFC 5626: a double CRLF ping is reported, nothing framed. */
	assert_int_equal(frame("\r\n\r\n", &skip, &len), APR_SUCCESS);
	assert_int_equal(skip, 4);
	assert_int_equal(len, 0);
	assert_int_equal(frame("\r\nINVITE", &skip, &len), APR_SUCCESS);
	assert_int_equal(skip, 2);
	assert_int_equal(frame("\r", &skip, &len), SB_EINCOMPLETE);
	assert_int_equal(frame("", &skip, &len), SB_EINCOMPLETE);
}

static void test_frame_message(void **state)
{
	char two[1024];
	apr_size_t skip = 99, len = 0, n = strlen(invite), k;

	(void)state;
	assert_int_equal(frame(invite, &skip, &len), APR_SUCCESS);
	assert_int_equal(skip, 0);
	assert_int_equal(len, n);
	/* Any shorter prefix needs more bytes. */
	for (k = 0; k < n; k++)
		assert_int_equal(sip_parse_frame(invite, k, NULL, &skip, &len),
				 SB_EINCOMPLETE);
	/* Two messages back to back: the first one only. */
	strcpy(two, invite);
	strcat(two, invite);
	assert_int_equal(frame(two, &skip, &len), APR_SUCCESS);
	assert_int_equal(len, n);
}

static void test_frame_content_length(void **state)
{
	apr_size_t skip, len = 0;

	(void)state;
	/* Missing on a stream: the framing is lost, close. */
	assert_int_equal(
	    frame("OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n", &skip, &len),
	    SB_EMALFORMED);
	assert_int_equal(
	    frame("OPTIONS sip:a@b SIP/2.0\r\nl: five\r\n\r\n", &skip, &len),
	    SB_EMALFORMED);
	assert_int_equal(
	    frame("OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n", &skip, &len),
	    SB_EMALFORMED);
	assert_int_equal(frame("OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n"
			       "Content-Length: 0\r\n\r\n",
			       &skip, &len),
			 SB_EMALFORMED);
	/* Folded and spaced before the colon. */
	assert_int_equal(frame("OPTIONS sip:a@b SIP/2.0\r\nContent-Length  :"
			       "\r\n 2\r\nTo: x\r\n\r\nab",
			       &skip, &len),
			 APR_SUCCESS);
	assert_int_equal(len,
			 strlen("OPTIONS sip:a@b SIP/2.0\r\n"
				"Content-Length  :\r\n 2\r\nTo: x\r\n\r\nab"));
	/* A body still arriving. */
	assert_int_equal(
	    frame("OPTIONS sip:a@b SIP/2.0\r\nl: 10\r\n\r\nab", &skip, &len),
	    SB_EINCOMPLETE);
	/* "X-l:" is not Content-Length. */
	assert_int_equal(frame("OPTIONS sip:a@b SIP/2.0\r\nX-l: 3\r\nl: 0"
			       "\r\n\r\n",
			       &skip, &len),
			 APR_SUCCESS);
	/* Bare LF is no line end on a stream. */
	assert_int_equal(
	    frame("OPTIONS sip:a@b SIP/2.0\nl: 0\n\n", &skip, &len),
	    SB_EMALFORMED);
}

static void test_frame_limits(void **state)
{
	sip_limits_t lim;
	char big[600];
	apr_size_t skip, len, i;
	int n;

	(void)state;
	sip_parse_limits_default(&lim);
	assert_int_equal(lim.max_msg_size, 65536);
	assert_int_equal(lim.max_headers, 100);
	lim.max_msg_size = 256;
	/* Declared body over the cap. */
	assert_int_equal(sip_parse_frame("OPTIONS sip:a@b SIP/2.0\r\n"
					 "l: 300\r\n\r\n",
					 36, &lim, &skip, &len),
			 SB_ETOOBIG);
	/* Endless headers: too big once the cap is reached, not before. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "OPTIONS sip:a@b SIP/2.0\r\nX: ", 28);
	assert_int_equal(sip_parse_frame(big, 255, &lim, &skip, &len),
			 SB_EINCOMPLETE);
	assert_int_equal(sip_parse_frame(big, sizeof(big), &lim, &skip, &len),
			 SB_ETOOBIG);
	/* Header count. */
	lim.max_msg_size = 65536;
	lim.max_headers = 3;
	n = 0;
	for (i = 0; i < 4; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "%s",
			      i == 0 ? "OPTIONS sip:a@b SIP/2.0\r\n"
				     : "X: y\r\n");
	assert_int_equal(sip_parse_frame(big, (apr_size_t)n, &lim, &skip, &len),
			 SB_EINCOMPLETE);
	n += snprintf(big + n, sizeof(big) - (size_t)n, "X: y\r\n");
	assert_int_equal(sip_parse_frame(big, (apr_size_t)n, &lim, &skip, &len),
			 SB_ETOOBIG);
}

static void test_parse_request(void **state)
{
	sip_parse_error_t err;

	(void)state;
	assert_int_equal(parse(invite, &err), APR_SUCCESS);
	assert_true(msg->is_request);
	assert_int_equal(msg->method, SIP_METHOD_INVITE);
	assert_true(sip_str_eq(&msg->ruri_str, "sip:bob@example.com"));
	assert_true(sip_str_eq(&msg->ruri.user, "bob"));
	assert_int_equal(msg->cseq, 7);
	assert_int_equal(msg->cseq_method, SIP_METHOD_INVITE);
	assert_true(sip_str_eq(&msg->call_id, "call-1@example.com"));
	assert_int_equal(msg->nhdrs, 8);
	assert_int_equal(msg->hdrs[2].id, SIP_HDR_FROM);
	assert_true(sip_str_eq(&msg->hdrs[2].name, "f"));
	assert_int_equal(msg->hdrs[6].id, SIP_HDR_CONTENT_TYPE);
	assert_int_equal(msg->content_length, 4);
	assert_true(sip_str_eq(&msg->body, "v=0\n"));
	assert_int_equal(msg->len, strlen(invite));
}

static void test_parse_response(void **state)
{
	sip_parse_error_t err;

	(void)state;
	assert_int_equal(
	    parse("SIP/2.0 180 Ringing Now\r\n" HDRS "l: 0\r\n\r\n", &err),
	    APR_SUCCESS);
	assert_false(msg->is_request);
	assert_int_equal(msg->status, 180);
	assert_true(sip_str_eq(&msg->reason, "Ringing Now"));
	/* A response's CSeq method is whatever the request was. */
	assert_int_equal(msg->cseq_method, SIP_METHOD_INVITE);
	/* sip/2.0 is fine: SIP-Version is case-insensitive. */
	assert_int_equal(parse("sip/2.0 200 OK\r\n" HDRS "\r\n", &err),
			 APR_SUCCESS);
}

static void expect_fail(const char *s, sip_perr_e kind)
{
	sip_parse_error_t err;

	assert_int_equal(parse(s, &err), SB_EMALFORMED);
	assert_int_equal(err.kind, kind);
	assert_true(err.offset <= strlen(s));
}

static void test_start_line_errors(void **state)
{
	sip_parse_error_t err;

	(void)state;
	expect_fail("INVITE sip:bob@example.com SIP/2.1\r\n" HDRS "\r\n",
		    SIP_PERR_VERSION);
	assert_int_equal(parse("OPTIONS sip:a@b SIP/3.0\r\n\r\n", &err),
			 SB_EMALFORMED);
	assert_int_equal(sip_parse_error_status(&err), 505);
	expect_fail("INVITE sip:bob@example.com HTTP/1.1\r\n" HDRS "\r\n",
		    SIP_PERR_START_LINE);
	expect_fail("INVITE\r\n" HDRS "\r\n", SIP_PERR_START_LINE);
	expect_fail("INVITE sip:bob@example.com\r\n" HDRS "\r\n",
		    SIP_PERR_START_LINE);
	expect_fail("INV ITE sip:bob@example.com SIP/2.0\r\n" HDRS "\r\n",
		    SIP_PERR_START_LINE);
	expect_fail("INVITE sip:bob@ex ample.com SIP/2.0\r\n" HDRS "\r\n",
		    SIP_PERR_START_LINE);
	expect_fail("INVITE sip:bob@-bad- SIP/2.0\r\n" HDRS "\r\n",
		    SIP_PERR_REQUEST_URI);
	expect_fail("SIP/2.0 99 Low\r\n" HDRS "\r\n", SIP_PERR_STATUS_CODE);
	expect_fail("SIP/2.0 700 High\r\n" HDRS "\r\n", SIP_PERR_STATUS_CODE);
	expect_fail("SIP/2.0 200\r\n" HDRS "\r\n", SIP_PERR_STATUS_CODE);
	expect_fail("SIP/2.0 2000 OK\r\n" HDRS "\r\n", SIP_PERR_STATUS_CODE);
	expect_fail("SIP/2.0 200 O\x01K\r\n" HDRS "\r\n", SIP_PERR_START_LINE);
	/* LF-only lines are not SIP (RFC 3261 7: CRLF). */
	expect_fail("INVITE sip:bob@example.com SIP/2.0\nTo: x\n\n",
		    SIP_PERR_START_LINE);
	expect_fail("INVITE sip:bob@example.com SIP/2.00\n" HDRS "\r\n",
		    SIP_PERR_START_LINE);
	expect_fail("", SIP_PERR_START_LINE);
}

static void test_header_line_errors(void **state)
{
	(void)state;
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n To: x\r\n\r\n",
		    SIP_PERR_HEADER_LINE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\nTo x\r\n\r\n",
		    SIP_PERR_HEADER_LINE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n: x\r\n\r\n",
		    SIP_PERR_HEADER_LINE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\nT(o: x\r\n\r\n",
		    SIP_PERR_HEADER_LINE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\nTo: a\rb\r\n\r\n",
		    SIP_PERR_HEADER_LINE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\nTo: a\nb: c\r\n\r\n",
		    SIP_PERR_HEADER_LINE);
	/* A datagram cut inside a header line. */
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\nTo: a",
		    SIP_PERR_HEADER_LINE);
}

static void test_folding(void **state)
{
	sip_parse_error_t err;
	const sip_hdr_t *h;

	(void)state;
	assert_int_equal(parse("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
			       "Subject:\r\n  folded\r\n\tagain  \r\n"
			       "X-Empty:   \r\n"
			       "\r\n",
			       &err),
			 APR_SUCCESS);
	assert_int_equal(msg->cseq_method, SIP_METHOD_INVITE);
	h = sip_hdr_find(msg, SIP_HDR_SUBJECT);
	assert_non_null(h);
	assert_true(sip_str_eq(&h->value, "folded\r\n\tagain"));
	h = sip_hdr_find_name(msg, "x-empty");
	assert_non_null(h);
	assert_int_equal(h->value.len, 0);
}

static void test_semantics(void **state)
{
	sip_parse_error_t err;

	(void)state;
	expect_fail("OPTIONS sip:b@example.com SIP/2.0\r\n" HDRS "\r\n",
		    SIP_PERR_CSEQ_METHOD);
	/* Methods are case-sensitive: "invite" is not INVITE. */
	expect_fail("invite sip:b@example.com SIP/2.0\r\n" HDRS "\r\n",
		    SIP_PERR_CSEQ_METHOD);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "CSeq: 8 INVITE\r\n\r\n",
		    SIP_PERR_DUPLICATE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "t: <sip:x@example.com>\r\n\r\n",
		    SIP_PERR_DUPLICATE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "Max-Forwards: 70\r\n\r\n",
		    SIP_PERR_DUPLICATE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "Call-ID: bad id\r\n\r\n",
		    SIP_PERR_HEADER_VALUE);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n"
		    "To: <sip:bob@example.com>\r\nFrom: <sip:a@b>;tag=1\r\n"
		    "Call-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",
		    SIP_PERR_MISSING);
	assert_int_equal(parse("INVITE sip:b@example.com SIP/2.0\r\n"
			       "Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
			       "Call-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",
			       &err),
			 SB_EMALFORMED);
	assert_int_equal(err.kind, SIP_PERR_MISSING);
	assert_int_equal(err.hdr, SIP_HDR_TO);
	/* Several Via lines are fine. */
	assert_int_equal(parse("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
			       "v: SIP/2.0/UDP h2\r\n\r\n",
			       &err),
			 APR_SUCCESS);
}

static void test_body(void **state)
{
	sip_parse_error_t err;

	(void)state;
	/* RFC 3261 18.3: a datagram shorter than Content-Length. */
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "l: 5\r\n\r\nabc",
		    SIP_PERR_BODY_LENGTH);
	/* Longer: the rest is dropped. */
	assert_int_equal(parse("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
			       "l: 2\r\n\r\nabcdef",
			       &err),
			 APR_SUCCESS);
	assert_true(sip_str_eq(&msg->body, "ab"));
	/* No Content-Length on a datagram: the rest is the body. */
	assert_int_equal(parse("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
			       "\r\nabcdef",
			       &err),
			 APR_SUCCESS);
	assert_true(sip_str_eq(&msg->body, "abcdef"));
	assert_false(msg->has_content_length);
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "l: +5\r\n\r\nabcde",
		    SIP_PERR_HEADER_VALUE);
	/* Headers running to the end, no empty line (baddn.dat). */
	assert_int_equal(
	    parse("INVITE sip:b@example.com SIP/2.0\r\n" HDRS, &err),
	    APR_SUCCESS);
	assert_int_equal(msg->body.len, 0);
}

static void test_limits(void **state)
{
	sip_parse_error_t err;
	sip_limits_t lim;
	char buf[4096];
	int n, i;

	(void)state;
	sip_parse_limits_default(&lim);
	lim.max_headers = 7;
	n = snprintf(buf, sizeof(buf),
		     "INVITE sip:b@example.com SIP/2.0\r\n" HDRS);
	for (i = 0; i < 2; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X: %d\r\n", i);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\r\n");
	assert_int_equal(sip_parse_msg(msg, buf, (apr_size_t)n, &lim, &err),
			 SB_ETOOBIG);
	assert_int_equal(err.kind, SIP_PERR_TOO_MANY_HEADERS);
	lim.max_headers = 8;
	assert_int_equal(sip_parse_msg(msg, buf, (apr_size_t)n, &lim, &err),
			 APR_SUCCESS);
	lim.max_msg_size = (apr_size_t)n - 1;
	assert_int_equal(sip_parse_msg(msg, buf, (apr_size_t)n, &lim, &err),
			 SB_ETOOBIG);
	assert_int_equal(err.kind, SIP_PERR_TOO_BIG);
	assert_int_equal(sip_parse_error_status(&err), 513);
	/* More than the array holds, whatever the limit says. */
	lim.max_msg_size = sizeof(buf);
	lim.max_headers = 100000;
	n = snprintf(buf, sizeof(buf), "INVITE sip:b@example.com SIP/2.0\r\n");
	for (i = 0; i < SIP_MSG_MAX_HEADERS + 1; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "X:\r\n");
	assert_int_equal(sip_parse_msg(msg, buf, (apr_size_t)n, &lim, &err),
			 SB_ETOOBIG);
}

static void test_error_reason(void **state)
{
	sip_parse_error_t err;
	char buf[64];

	(void)state;
	expect_fail("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
		    "CSeq: x INVITE\r\n\r\n",
		    SIP_PERR_HEADER_VALUE);
	assert_int_equal(parse("INVITE sip:b@example.com SIP/2.0\r\n" HDRS
			       "CSeq: 1 INVITE\r\n\r\n",
			       &err),
			 SB_EMALFORMED);
	assert_int_equal(err.hdr, SIP_HDR_CSEQ);
	assert_int_equal(sip_parse_error_status(&err), 400);
	assert_string_equal(sip_parse_error_reason(&err, buf, sizeof(buf)),
			    "Duplicate Header: CSeq");
	/* An unknown name comes from the wire: token characters only. */
	err.kind = SIP_PERR_HEADER_VALUE;
	err.hdr = SIP_HDR_OTHER;
	err.name = sip_str("X-\x01"
			   "Bad",
			   6);
	assert_string_equal(sip_parse_error_reason(&err, buf, sizeof(buf)),
			    "Bad Header: X-Bad");
	assert_string_equal(sip_parse_error_reason(&err, buf, 8), "Bad Hea");
	err.kind = SIP_PERR_VERSION;
	assert_string_equal(sip_parse_error_reason(&err, buf, sizeof(buf)),
			    "Version Not Supported");
	assert_int_equal(sip_parse_error_status(NULL), 400);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(sip_parse_hdr_id("v", 1), SIP_HDR_VIA);
	assert_int_equal(sip_parse_hdr_id("V", 1), SIP_HDR_VIA);
	assert_int_equal(sip_parse_hdr_id("k", 1), SIP_HDR_SUPPORTED);
	assert_int_equal(sip_parse_hdr_id("q", 1), SIP_HDR_OTHER);
	assert_int_equal(sip_parse_hdr_id("cAlL-iD", 7), SIP_HDR_CALL_ID);
	assert_int_equal(sip_parse_hdr_id("WWW-Authenticate", 16),
			 SIP_HDR_WWW_AUTHENTICATE);
	assert_int_equal(sip_parse_hdr_id("Call-IDs", 8), SIP_HDR_OTHER);
	assert_string_equal(sip_parse_hdr_name(SIP_HDR_RECORD_ROUTE),
			    "Record-Route");
	assert_null(sip_parse_hdr_name(SIP_HDR_OTHER));
	assert_null(sip_parse_hdr_name(SIP_HDR_COUNT));
	assert_int_equal(sip_parse_method("PRACK", 5), SIP_METHOD_PRACK);
	assert_int_equal(sip_parse_method("prack", 5), SIP_METHOD_OTHER);
	assert_int_equal(sip_parse_method("PRACKS", 6), SIP_METHOD_OTHER);
}

static void test_lexer(void **state)
{
	const char *s = "\"a\\\"b\\\\\" x", *p = s;
	sip_str_t in;
	apr_uint64_t v;

	(void)state;
	assert_int_equal(sip_parse_quoted(&p, s + strlen(s), &in), APR_SUCCESS);
	assert_int_equal(in.len, 6);
	assert_string_equal(p, " x");
	p = "\"open";
	assert_int_equal(sip_parse_quoted(&p, p + 5, &in), SB_EMALFORMED);
	p = "\"a\\";
	assert_int_equal(sip_parse_quoted(&p, p + 3, &in), SB_EMALFORMED);
	p = "\"a\x01\"";
	assert_int_equal(sip_parse_quoted(&p, p + 4, &in), SB_EMALFORMED);
	assert_int_equal(sip_parse_uint("255", 3, 255, &v), APR_SUCCESS);
	assert_int_equal(v, 255);
	assert_int_equal(sip_parse_uint("256", 3, 255, &v), SB_EMALFORMED);
	assert_int_equal(sip_parse_uint("", 0, 255, &v), SB_EMALFORMED);
	assert_int_equal(
	    sip_parse_uint("99999999999999999999999", 23, (apr_uint64_t)-1, &v),
	    SB_EMALFORMED);
	assert_true(sip_parse_is('~', SIP_CC_TOKEN));
	assert_false(sip_parse_is(':', SIP_CC_TOKEN));
	assert_true(sip_parse_is(';', SIP_CC_USER));
	assert_false(sip_parse_is(';', SIP_CC_PASS));
	assert_false(sip_parse_is(0x80, SIP_CC_WORD));
	p = " \r\n\t x";
	assert_string_equal(sip_parse_lws(p, p + strlen(p)), "x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_keepalive),
	    cmocka_unit_test(test_frame_message),
	    cmocka_unit_test(test_frame_content_length),
	    cmocka_unit_test(test_frame_limits),
	    cmocka_unit_test(test_parse_request),
	    cmocka_unit_test(test_parse_response),
	    cmocka_unit_test(test_start_line_errors),
	    cmocka_unit_test(test_header_line_errors),
	    cmocka_unit_test(test_folding),
	    cmocka_unit_test(test_semantics),
	    cmocka_unit_test(test_body),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_error_reason),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_lexer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
