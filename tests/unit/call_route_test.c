/* call_route_test.c — worker marks in branches and tags. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "call_route.h"
#include "pool_fixture.h"

static int owner_of(const char *text)
{
	sip_msg_t msg;

	memset(&msg, 0, sizeof(msg));
	assert_int_equal(sip_parse_msg(&msg, text, strlen(text), NULL, NULL),
			 APR_SUCCESS);
	return call_route_owner(&msg);
}

static const char *response_with_branch(const char *branch)
{
	return apr_psprintf(pool,
			    "SIP/2.0 200 OK\r\n"
			    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=%s\r\n"
			    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n"
			    "Call-ID: c1\r\nCSeq: 1 INVITE\r\n"
			    "Content-Length: 0\r\n\r\n",
			    branch);
}

static const char *request_with_to_tag(const char *tag)
{
	return apr_psprintf(pool,
			    "BYE sip:b@x SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
			    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>%s%s\r\n"
			    "Call-ID: c1\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n"
			    "Content-Length: 0\r\n\r\n",
			    tag ? ";tag=" : "", tag ? tag : "");
}

static void test_branch_round_trip(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 256; i += 37) {
		const char *b = call_route_branch(pool, i);

		assert_true(strncmp(b, "z9hG4bK", 7) == 0);
		assert_int_equal(owner_of(response_with_branch(b)), (int)i);
	}
}

static void test_tag_round_trip(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 256; i += 51) {
		const char *t = call_route_tag(pool, i);

		assert_int_equal(owner_of(request_with_to_tag(t)), (int)i);
	}
}

static void test_unmarked_is_nobody(void **state)
{
	(void)state;
	/* Other UAs' branches and tags, and look-alikes. */
	assert_int_equal(owner_of(response_with_branch("z9hG4bK-1-2-3")), -1);
	assert_int_equal(owner_of(response_with_branch("z9hG4bKsbZZabc")), -1);
	assert_int_equal(owner_of(response_with_branch("z9hG4bKsb0")), -1);
	assert_int_equal(owner_of(request_with_to_tag("abc123")), -1);
	assert_int_equal(owner_of(request_with_to_tag("sbXY1234")), -1);
	assert_int_equal(owner_of(request_with_to_tag(NULL)), -1);
}

static void test_marks_are_unique(void **state)
{
	(void)state;
	assert_string_not_equal(call_route_branch(pool, 1),
				call_route_branch(pool, 1));
	assert_string_not_equal(call_route_tag(pool, 1),
				call_route_tag(pool, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_branch_round_trip),
		cmocka_unit_test(test_tag_round_trip),
		cmocka_unit_test(test_unmarked_is_nobody),
		cmocka_unit_test(test_marks_are_unique),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}
