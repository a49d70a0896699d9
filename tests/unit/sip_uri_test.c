/* sip_uri_test.c — SIP, SIPS, TEL and opaque URIs parsed in place. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "sip_msg.h"

static apr_status_t uri(const char *s, sip_uri_t *u)
{
	return sip_uri_parse(s, strlen(s), u);
}

static void bad(const char *s)
{
	sip_uri_t u;

	if (uri(s, &u) != SB_EMALFORMED)
		fail_msg("accepted: %s", s);
}

static void test_sip_full(void **state)
{
	sip_uri_t u;
	sip_str_t v;

	(void)state;
	assert_int_equal(uri("sip:alice:secret@atlanta.example.com:5061;"
			     "transport=tls;lr;maddr=239.255.255.1;ttl=15;"
			     "user=phone;method=REGISTER;x-y=%41b"
			     "?subject=project%20x&priority=urgent",
			     &u),
			 APR_SUCCESS);
	assert_int_equal(u.scheme, SIP_URI_SIP);
	assert_true(sip_str_eq(&u.user, "alice"));
	assert_true(u.has_password);
	assert_true(sip_str_eq(&u.password, "secret"));
	assert_true(sip_str_eq(&u.host, "atlanta.example.com"));
	assert_int_equal(u.host_type, SIP_HOST_NAME);
	assert_int_equal(u.port, 5061);
	assert_true(sip_str_eq(&u.transport, "tls"));
	assert_int_equal(u.lr, 1);
	assert_true(sip_str_eq(&u.maddr, "239.255.255.1"));
	assert_int_equal(u.ttl, 15);
	assert_true(sip_str_eq(&u.user_param, "phone"));
	assert_true(sip_str_eq(&u.method, "REGISTER"));
	assert_true(
	    sip_str_eq(&u.headers, "subject=project%20x&priority=urgent"));
	assert_int_equal(sip_uri_param(&u, "X-Y", &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "%41b"));
	assert_int_equal(sip_uri_param(&u, "lr", &v), APR_SUCCESS);
	assert_int_equal(v.len, 0);
	assert_int_equal(sip_uri_param(&u, "l", &v), SB_ENOTFOUND);
}

static void test_sip_minimal(void **state)
{
	sip_uri_t u;

	(void)state;
	assert_int_equal(uri("SIPS:example.com", &u), APR_SUCCESS);
	assert_int_equal(u.scheme, SIP_URI_SIPS);
	assert_null(u.user.ptr);
	assert_false(u.has_password);
	assert_int_equal(u.port, -1);
	assert_int_equal(u.ttl, -1);
	assert_int_equal(u.lr, 0);
	assert_null(u.params.ptr);
	assert_null(u.headers.ptr);
	/* An empty password is still a password. */
	assert_int_equal(uri("sip:bob:@h.example", &u), APR_SUCCESS);
	assert_true(u.has_password);
	assert_int_equal(u.password.len, 0);
	/* A trailing dot in a FQDN. */
	assert_int_equal(uri("sip:h.example.", &u), APR_SUCCESS);
}

static void test_hosts(void **state)
{
	sip_uri_t u;

	(void)state;
	assert_int_equal(uri("sip:u@192.0.2.1:5060", &u), APR_SUCCESS);
	assert_int_equal(u.host_type, SIP_HOST_IPV4);
	assert_int_equal(u.port, 5060);
	assert_int_equal(uri("sip:u@[2001:db8::1]:5061", &u), APR_SUCCESS);
	assert_int_equal(u.host_type, SIP_HOST_IPV6);
	assert_true(sip_str_eq(&u.host, "[2001:db8::1]"));
	assert_int_equal(u.port, 5061);
	assert_int_equal(uri("sip:[::ffff:192.0.2.1]", &u), APR_SUCCESS);
	assert_int_equal(uri("sip:a-b.c9.example", &u), APR_SUCCESS);
	bad("sip:u@256.0.0.1");
	bad("sip:u@1.2.3");
	bad("sip:u@1.2.3.4.5");
	bad("sip:u@[2001:db8::g]");
	bad("sip:u@[2001:db8::1");
	bad("sip:u@2001:db8::1");
	bad("sip:u@-a.example");
	bad("sip:u@a-.example");
	bad("sip:u@a..example");
	bad("sip:u@a.9example");
	bad("sip:u@");
	bad("sip:u@host_name");
	assert_true(sip_uri_is_ipv4("0.0.0.0", 7));
	assert_false(sip_uri_is_ipv4("1.2.3.", 6));
	assert_false(sip_uri_is_ipv4("1234.2.3.4", 10));
	assert_true(sip_uri_is_ipv6("::1", 3));
	assert_false(sip_uri_is_ipv6("1::2::3", 7));
	assert_false(sip_uri_is_ipv6(":", 1));
	assert_int_equal(sip_uri_host_type("[::1]", 5), SIP_HOST_IPV6);
	assert_int_equal(sip_uri_host_type("", 0), SIP_HOST_NONE);
}

static void test_ports(void **state)
{
	sip_uri_t u;

	(void)state;
	assert_int_equal(uri("sip:h.example:65535", &u), APR_SUCCESS);
	assert_int_equal(u.port, 65535);
	assert_int_equal(uri("sip:h.example:0", &u), APR_SUCCESS);
	assert_int_equal(u.port, 0);
	bad("sip:h.example:65536");
	bad("sip:h.example:");
	bad("sip:h.example:5060a");
	bad("sip:h.example:000005060");
	bad("sip:h.example:-1");
}

static void test_userinfo(void **state)
{
	sip_uri_t u;

	(void)state;
	/* RFC 4475 semiuri and intmeth: ; ? / inside the user part. */
	assert_int_equal(uri("sip:user;par=u%40example.net@example.com", &u),
			 APR_SUCCESS);
	assert_true(sip_str_eq(&u.user, "user;par=u%40example.net"));
	assert_null(u.params.ptr);
	assert_int_equal(uri("sip:a?b/c$d,e@h.example", &u), APR_SUCCESS);
	assert_true(sip_str_eq(&u.user, "a?b/c$d,e"));
	assert_int_equal(uri("tel:+1-201-555-0123", &u), APR_SUCCESS);
	bad("sip:@h.example");
	bad("sip::pw@h.example");
	bad("sip:a@b@h.example");
	bad("sip:a b@h.example");
	bad("sip:a[b@h.example");
	bad("sip:u:p;w@h.example");
	bad("sip:u:p?@h.example");
}

static void test_escapes(void **state)
{
	sip_uri_t u;
	char out[16];
	apr_size_t n = 0;

	(void)state;
	assert_int_equal(uri("sip:%00%ff@h.example;%6C%72=%41", &u),
			 APR_SUCCESS);
	assert_int_equal(u.lr, 0); /* an escaped name is not "lr" */
	assert_int_equal(sip_uri_unescape(&u.user, out, sizeof(out), &n),
			 APR_SUCCESS);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0);
	assert_int_equal((unsigned char)out[1], 0xff);
	bad("sip:%4@h.example");
	bad("sip:%zz@h.example");
	bad("sip:u@h.example;p=%4");
	bad("sip:u@h.example?h=%G0");
	bad("sip:u:%@h.example");
	bad("weird:%x");
	assert_int_equal(sip_uri_unescape(&u.user, out, 2, &n), SB_ETOOBIG);
	assert_int_equal(sip_uri_unescape(&u.user, out, 0, &n), SB_ETOOBIG);
	u.user = sip_str("a%4", 3);
	assert_int_equal(sip_uri_unescape(&u.user, out, sizeof(out), &n),
			 SB_EMALFORMED);
	u.user = sip_str("", 0);
	assert_int_equal(sip_uri_unescape(&u.user, out, 1, &n), APR_SUCCESS);
	assert_string_equal(out, "");
}

static void test_params_headers(void **state)
{
	sip_uri_t u;

	(void)state;
	assert_int_equal(uri("sip:h.example;ttl=0;maddr=[::1];x", &u),
			 APR_SUCCESS);
	assert_int_equal(u.ttl, 0);
	assert_true(sip_str_eq(&u.params, "ttl=0;maddr=[::1];x"));
	bad("sip:h.example;ttl=256");
	bad("sip:h.example;ttl=");
	bad("sip:h.example;ttl");
	bad("sip:h.example;maddr=bad_host");
	bad("sip:h.example;maddr");
	bad("sip:h.example;;lr");
	bad("sip:h.example;");
	bad("sip:h.example;=x");
	bad("sip:h.example;a=b=c");
	bad("sip:h.example;a b");
	bad("sip:h.example?");
	bad("sip:h.example?a");
	bad("sip:h.example?=b");
	bad("sip:h.example?a=b&");
	bad("sip:h.example?a=<b>");
	assert_int_equal(uri("sip:h.example?a=&b=c", &u), APR_SUCCESS);
	assert_true(sip_str_eq(&u.headers, "a=&b=c"));
}

static void test_tel(void **state)
{
	sip_uri_t u;
	sip_str_t v;

	(void)state;
	assert_int_equal(uri("tel:+1-201-555-0123;ext=1234", &u), APR_SUCCESS);
	assert_int_equal(u.scheme, SIP_URI_TEL);
	assert_true(sip_str_eq(&u.user, "+1-201-555-0123"));
	assert_int_equal(sip_uri_param(&u, "ext", &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "1234"));
	assert_int_equal(uri("tel:7042;phone-context=example.com", &u),
			 APR_SUCCESS);
	assert_int_equal(uri("tel:*21#", &u), APR_SUCCESS);
	bad("tel:");
	bad("tel:+");
	bad("tel:+12a");
	bad("tel:12 3");
	bad("tel:123;");
	bad("tel:123;x=");
	bad("tel:123;x_y=1");
}

static void test_other_schemes(void **state)
{
	sip_uri_t u;

	(void)state;
	/* RFC 4475 unkscm, novelsc, unksm2. */
	assert_int_equal(uri("nobodyKnowsThisScheme:totallyopaquecontent", &u),
			 APR_SUCCESS);
	assert_int_equal(u.scheme, SIP_URI_OTHER);
	assert_true(sip_str_eq(&u.opaque, "totallyopaquecontent"));
	assert_int_equal(uri("soap.beep://192.0.2.103:3002", &u), APR_SUCCESS);
	assert_true(sip_str_eq(&u.scheme_name, "soap.beep"));
	assert_int_equal(
	    uri("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", &u),
	    APR_SUCCESS);
	bad("");
	bad("sip");
	bad("sip:");
	bad("1sip:h.example");
	bad("<sip:h.example>");
	bad("http://a b");
	bad("http://a\"b");
	bad("x:");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sip_full),
	    cmocka_unit_test(test_sip_minimal),
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_userinfo),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_params_headers),
	    cmocka_unit_test(test_tel),
	    cmocka_unit_test(test_other_schemes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
