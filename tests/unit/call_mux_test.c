/* call_mux_test.c — rtcp-mux negotiated per leg (RFC 5761 5.1): what an
 * offer asks, what an answer agrees to, and the lines we write. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "call_mux.h"
#include "pool_fixture.h"

/* A muxing phone that also names its own RTCP port (RFC 5761 5.1.3). */
static const char muxing[] = "v=0\r\n"
			     "o=- 1 1 IN IP4 192.0.2.7\r\n"
			     "s=-\r\n"
			     "c=IN IP4 192.0.2.7\r\n"
			     "t=0 0\r\n"
			     "m=audio 5004 RTP/AVP 8\r\n"
			     "a=rtpmap:8 PCMA/8000\r\n"
			     "a=rtcp:5005 IN IP4 192.0.2.7\r\n"
			     "a=rtcp-mux\r\n"
			     "a=sendrecv\r\n";

static const char plain[] = "v=0\r\n"
			    "o=- 1 1 IN IP4 192.0.2.8\r\n"
			    "s=-\r\n"
			    "c=IN IP4 192.0.2.8\r\n"
			    "t=0 0\r\n"
			    "m=audio 6000 RTP/AVP 8\r\n"
			    "a=rtpmap:8 PCMA/8000\r\n";

static sdp_session_t *parse(const char *text)
{
	sdp_session_t *s = NULL;

	assert_int_equal(sdp_parse(text, strlen(text), pool, &s, NULL),
			 APR_SUCCESS);
	return s;
}

static sdp_media_t *audio(sdp_session_t *s)
{
	return APR_ARRAY_IDX(s->media, 0, sdp_media_t *);
}

/* The media section as printed, from its m= line. */
static const char *media_text(sdp_session_t *s)
{
	const char *text = sdp_print(s, pool, NULL);

	assert_non_null(text);
	return strstr(text, "m=audio");
}

static void test_offer_and_answer(void **state)
{
	sdp_media_t *mux = audio(parse(muxing));
	sdp_media_t *none = audio(parse(plain));

	(void)state;
	assert_true(call_mux_offered(mux));
	assert_false(call_mux_offered(none));
	assert_false(call_mux_offered(NULL));
	/* Muxed only when both sides said so. */
	assert_true(call_mux_agreed(1, mux));
	assert_false(call_mux_agreed(1, none));
	/* An answer may not add mux the offer lacked: not heard. */
	assert_false(call_mux_agreed(0, mux));
	assert_false(call_mux_agreed(1, NULL));
}

static void test_offer_keeps_a_fallback_port(void **state)
{
	sdp_session_t *s = parse(muxing);
	sdp_media_t *m = audio(s);
	const char *text;

	(void)state;
	m->port = 40000; /* ours now */
	call_mux_decorate(pool, m, 1, 1);
	text = media_text(s);
	/* The peer's a=rtcp is gone; ours names our RTCP socket. */
	assert_null(strstr(text, "5005"));
	assert_non_null(strstr(text, "a=rtcp:40001\r\n"));
	assert_non_null(strstr(text, "a=rtcp-mux\r\n"));
	assert_ptr_equal(strstr(text, "a=rtcp-mux"),
			 strstr(text, "a=rtcp-mux\r\n"));
	/* Each once, even when decorated again (a re-offer). */
	call_mux_decorate(pool, m, 1, 1);
	text = media_text(s);
	assert_null(strstr(strstr(text, "a=rtcp-mux") + 1, "a=rtcp-mux"));
	assert_null(strstr(strstr(text, "a=rtcp:") + 1, "a=rtcp:"));
	assert_non_null(strstr(text, "a=sendrecv\r\n"));
}

static void test_answer_muxes_without_a_port(void **state)
{
	sdp_session_t *s = parse(muxing);
	sdp_media_t *m = audio(s);
	const char *text;

	(void)state;
	m->port = 40000;
	call_mux_decorate(pool, m, 1, 0);
	text = media_text(s);
	assert_non_null(strstr(text, "a=rtcp-mux\r\n"));
	assert_null(strstr(text, "a=rtcp:"));
}

static void test_no_mux_drops_the_peers_lines(void **state)
{
	sdp_session_t *s = parse(muxing);
	sdp_media_t *m = audio(s);
	const char *text;

	(void)state;
	m->port = 40000;
	call_mux_decorate(pool, m, 0, 1);
	text = media_text(s);
	assert_null(strstr(text, "a=rtcp"));
	assert_non_null(strstr(text, "a=rtpmap:8 PCMA/8000\r\n"));
}

static void test_edges(void **state)
{
	sdp_session_t *s = parse(muxing);
	sdp_media_t *m = audio(s);
	const char *text;

	(void)state;
	/* A declined stream (port 0) says nothing about RTCP. */
	m->port = 0;
	call_mux_decorate(pool, m, 1, 1);
	assert_null(strstr(media_text(s), "a=rtcp"));
	/* No RTCP port above 65535: mux alone. */
	m->port = 65535;
	call_mux_decorate(pool, m, 1, 1);
	text = media_text(s);
	assert_non_null(strstr(text, "a=rtcp-mux\r\n"));
	assert_null(strstr(text, "a=rtcp:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    pool_test(test_offer_and_answer),
	    pool_test(test_offer_keeps_a_fallback_port),
	    pool_test(test_answer_muxes_without_a_port),
	    pool_test(test_no_mux_drops_the_peers_lines),
	    pool_test(test_edges),
	};
	int rv;

	apr_initialize();
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rv;
}
