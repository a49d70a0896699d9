/* sip_resolve_test.c — transport, port and address of a trunk's URI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "sip_resolve.h"
#include "pool_fixture.h"

static apr_status_t parse(const char *uri, sip_dest_t *d)
{
	char why[128];

	return sip_resolve_parse(uri, pool, d, why, sizeof(why));
}

static void test_transport_and_port(void **state)
{
	sip_dest_t d;

	(void)state;
	assert_int_equal(parse("sip:a@trunk.example", &d), APR_SUCCESS);
	assert_int_equal(d.transport, SIPS_TP_UDP);
	assert_int_equal(d.port, 5060);
	assert_string_equal(d.host, "trunk.example");
	assert_null(d.addr);
	assert_int_equal(parse("sips:a@trunk.example", &d), APR_SUCCESS);
	assert_int_equal(d.transport, SIPS_TP_TLS);
	assert_int_equal(d.port, 5061);
	assert_int_equal(parse("sip:a@h;transport=TLS", &d), APR_SUCCESS);
	assert_int_equal(d.transport, SIPS_TP_TLS);
	assert_int_equal(d.port, 5061);
	assert_int_equal(parse("sip:a@h:5080;transport=tcp", &d), APR_SUCCESS);
	assert_int_equal(d.transport, SIPS_TP_TCP);
	assert_int_equal(d.port, 5080);
	assert_int_equal(parse("sip:a@[2001:db8::1]:5070", &d), APR_SUCCESS);
	assert_string_equal(d.host, "2001:db8::1");
	assert_int_equal(d.port, 5070);
}

static void test_refused(void **state)
{
	char why[128];
	sip_dest_t d;

	(void)state;
	assert_int_equal(sip_resolve_parse("sips:a@h;transport=udp", pool, &d,
					   why, sizeof(why)),
			 SB_EMALFORMED);
	assert_non_null(strstr(why, "non-TLS"));
	assert_int_equal(sip_resolve_parse("sip:a@h;transport=sctp", pool, &d,
					   why, sizeof(why)),
			 SB_EMALFORMED);
	assert_non_null(strstr(why, "sctp"));
	assert_int_equal(parse("http://h/", &d), SB_EMALFORMED);
	assert_int_equal(parse("tel:+15551234", &d), SB_EMALFORMED);
}

static void test_literals(void **state)
{
	(void)state;
	assert_true(sip_resolve_is_literal("127.0.0.1"));
	assert_true(sip_resolve_is_literal("::1"));
	assert_true(sip_resolve_is_literal("2001:db8::1"));
	assert_false(sip_resolve_is_literal("localhost"));
	assert_false(sip_resolve_is_literal("1.2.3"));
	assert_false(sip_resolve_is_literal("trunk.example"));
}

static void test_lookup(void **state)
{
	char why[128], ip[64];
	sip_dest_t d;

	(void)state;
	assert_int_equal(sip_resolve("sip:a@127.0.0.1:5099", pool, &d, why,
				     sizeof(why)),
			 APR_SUCCESS);
	apr_sockaddr_ip_getbuf(ip, sizeof(ip), d.addr);
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(d.addr->port, 5099);
	/* /etc/hosts names localhost on every Debian system. */
	assert_int_equal(sip_resolve("sip:a@localhost", pool, &d, why,
				     sizeof(why)),
			 APR_SUCCESS);
	apr_sockaddr_ip_getbuf(ip, sizeof(ip), d.addr);
	assert_true(!strcmp(ip, "127.0.0.1") || !strcmp(ip, "::1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_transport_and_port),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_lookup),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, pool_setup, pool_teardown);
	apr_terminate();
	return rc;
}
