/* sip_srv_order_test.c — the order RFC 3263 servers are tried in: SRV
 * priority and weight (RFC 2782), NAPTR selection (RFC 3263 4.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <apr_general.h>
#include "sip_naptr.h"
#include "sip_srv.h"

#define RUNS 20000

static void set(sip_srv_rr_t *r, unsigned prio, unsigned weight,
		apr_port_t port, const char *target)
{
	memset(r, 0, sizeof(*r));
	r->priority = prio;
	r->weight = weight;
	r->port = port;
	strcpy(r->target, target);
}

/* A fixed "random" number: the draw's lowest or highest outcome. */
static unsigned rand_fixed(void *baton, unsigned bound)
{
	unsigned v = *(unsigned *)baton;

	return v > bound ? bound : v;
}

static void test_priority_ascending(void **state)
{
	sip_srv_rr_t rr[5];
	int i, run;

	(void)state;
	for (run = 0; run < 200; run++) {
		set(&rr[0], 30, 5, 1, "c1");
		set(&rr[1], 10, 1, 2, "a1");
		set(&rr[2], 20, 0, 3, "b1");
		set(&rr[3], 10, 9, 4, "a2");
		set(&rr[4], 30, 0, 5, "c2");
		sip_srv_order(rr, 5, NULL, NULL);
		for (i = 1; i < 5; i++)
			assert_true(rr[i - 1].priority <= rr[i].priority);
		assert_int_equal(rr[2].priority, 20);
		assert_string_equal(rr[2].target, "b1");
		assert_int_equal(rr[2].port, 3);
		/* A permutation: each record once. */
		assert_int_equal(rr[0].port + rr[1].port, 6);
		assert_int_equal(rr[3].port + rr[4].port, 6);
	}
}

static void test_weight_zero(void **state)
{
	sip_srv_rr_t rr[3];
	unsigned zero = 0, top = ~0u;

	(void)state;
	/* A draw of 0 lands on the weight-0 record: it goes first. */
	set(&rr[0], 1, 10, 1, "heavy");
	set(&rr[1], 1, 0, 2, "zero");
	sip_srv_order(rr, 2, rand_fixed, &zero);
	assert_string_equal(rr[0].target, "zero");
	assert_string_equal(rr[1].target, "heavy");
	/* Any other draw passes it by. */
	set(&rr[0], 1, 10, 1, "heavy");
	set(&rr[1], 1, 0, 2, "zero");
	sip_srv_order(rr, 2, rand_fixed, &top);
	assert_string_equal(rr[0].target, "heavy");
	assert_string_equal(rr[1].target, "zero");
	/* All weights 0: every draw is 0, the answer's order stays. */
	set(&rr[0], 1, 0, 1, "x");
	set(&rr[1], 1, 0, 2, "y");
	set(&rr[2], 1, 0, 3, "z");
	sip_srv_order(rr, 3, NULL, NULL);
	assert_string_equal(rr[0].target, "x");
	assert_string_equal(rr[1].target, "y");
	assert_string_equal(rr[2].target, "z");
}

static void test_weight_distribution(void **state)
{
	unsigned first[3] = {0, 0, 0}, second_of_a[3] = {0, 0, 0};
	sip_srv_rr_t rr[3];
	int run;

	(void)state;
	for (run = 0; run < RUNS; run++) {
		set(&rr[0], 5, 10, 0, "a");
		set(&rr[1], 5, 20, 1, "b");
		set(&rr[2], 5, 70, 2, "c");
		sip_srv_order(rr, 3, NULL, NULL);
		first[rr[0].port]++;
		if (rr[0].port == 0)
			second_of_a[rr[1].port]++;
	}
	/* Shares 10/100, 20/100, 70/100 of the first place, within 2%
	 * (about 6 standard deviations at this many runs). */
	assert_in_range(first[0], RUNS * 8 / 100, RUNS * 12 / 100);
	assert_in_range(first[1], RUNS * 18 / 100, RUNS * 22 / 100);
	assert_in_range(first[2], RUNS * 68 / 100, RUNS * 72 / 100);
	/* After "a", the draw is among b and c again: 20 against 70. */
	assert_int_equal(second_of_a[0], 0);
	assert_in_range(second_of_a[1] * 1000 / first[0], 222 - 60, 222 + 60);
}

static void test_weight_zero_rarely_first(void **state)
{
	sip_srv_rr_t rr[2];
	unsigned zero_first = 0;
	int run;

	(void)state;
	for (run = 0; run < RUNS; run++) {
		set(&rr[0], 1, 99, 0, "w");
		set(&rr[1], 1, 0, 1, "z");
		sip_srv_order(rr, 2, NULL, NULL);
		zero_first += rr[0].port == 1;
	}
	/* RFC 2782: a draw in 0..99, and only 0 picks it: 1 in 100. */
	assert_in_range(zero_first, RUNS / 100 / 2, RUNS / 100 * 2);
}

/* A DNS answer in wire format: header, one question, @p n answers of
 * @p type whose rdata the caller wrote with rr_begin / rr_end. */
typedef struct wire {
	unsigned char buf[2048];
	int len, count, rdstart;
} wire_t;

static void put16(wire_t *w, unsigned v)
{
	w->buf[w->len++] = (unsigned char)(v >> 8);
	w->buf[w->len++] = (unsigned char)v;
}

static void put_name(wire_t *w, const char *name)
{
	const char *dot;
	size_t n;

	while (*name) {
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);

		w->buf[w->len++] = (unsigned char)n;
		memcpy(w->buf + w->len, name, n);
		w->len += (int)n;
		name += n + (dot ? 1 : 0);
	}
	w->buf[w->len++] = 0;
}

static void put_cstr(wire_t *w, const char *s)
{
	w->buf[w->len++] = (unsigned char)strlen(s);
	memcpy(w->buf + w->len, s, strlen(s));
	w->len += (int)strlen(s);
}

static void wire_start(wire_t *w, const char *qname, unsigned type)
{
	memset(w, 0, sizeof(*w));
	put16(w, 0x1234);
	put16(w, 0x8180);
	put16(w, 1);
	put16(w, 0); /* answers: patched by rr_end */
	put16(w, 0);
	put16(w, 0);
	put_name(w, qname);
	put16(w, type);
	put16(w, 1);
}

static void rr_begin(wire_t *w, unsigned type)
{
	put16(w, 0xc00c); /* the question's name */
	put16(w, type);
	put16(w, 1);
	put16(w, 0);
	put16(w, 60);
	put16(w, 0); /* rdlength, patched */
	w->rdstart = w->len;
}

static void rr_end(wire_t *w)
{
	int rdlen = w->len - w->rdstart;

	w->buf[w->rdstart - 2] = (unsigned char)(rdlen >> 8);
	w->buf[w->rdstart - 1] = (unsigned char)rdlen;
	w->count++;
	w->buf[6] = (unsigned char)(w->count >> 8);
	w->buf[7] = (unsigned char)w->count;
}

static void add_srv(wire_t *w, unsigned prio, unsigned weight, unsigned port,
		    const char *target)
{
	rr_begin(w, ns_t_srv);
	put16(w, prio);
	put16(w, weight);
	put16(w, port);
	put_name(w, target);
	rr_end(w);
}

static void add_naptr(wire_t *w, unsigned order, unsigned pref,
		      const char *flags, const char *service,
		      const char *regexp, const char *replacement)
{
	rr_begin(w, ns_t_naptr);
	put16(w, order);
	put16(w, pref);
	put_cstr(w, flags);
	put_cstr(w, service);
	put_cstr(w, regexp);
	put_name(w, replacement);
	rr_end(w);
}

static void test_srv_parse(void **state)
{
	sip_srv_rr_t rr[SIP_SRV_MAX];
	wire_t w;
	int i, n;

	(void)state;
	wire_start(&w, "_sip._udp.example.test", ns_t_srv);
	add_srv(&w, 10, 5, 5070, "a.example.test");
	add_srv(&w, 0, 0, 0, ""); /* "." : no service here */
	add_srv(&w, 20, 0, 5080, "b.example.test");
	n = sip_srv_parse(w.buf, w.len, rr, SIP_SRV_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(rr[0].target, "a.example.test");
	assert_int_equal(rr[0].port, 5070);
	assert_int_equal(rr[0].weight, 5);
	assert_int_equal(rr[1].priority, 20);
	/* Bounded: more records than room keeps the first ones. */
	wire_start(&w, "_sip._udp.example.test", ns_t_srv);
	for (i = 0; i < SIP_SRV_MAX + 4; i++)
		add_srv(&w, (unsigned)i, 1, 5060, "h.example.test");
	assert_int_equal(sip_srv_parse(w.buf, w.len, rr, SIP_SRV_MAX),
			 SIP_SRV_MAX);
	/* A truncated answer parses to nothing. */
	assert_int_equal(sip_srv_parse(w.buf, 20, rr, SIP_SRV_MAX), 0);
}

static void test_naptr_select(void **state)
{
	sip_naptr_rr_t rr[SIP_NAPTR_MAX];
	wire_t w;
	int n;

	(void)state;
	wire_start(&w, "example.test", ns_t_naptr);
	add_naptr(&w, 20, 10, "s", "SIP+D2U", "", "_sip._udp.example.test");
	add_naptr(&w, 10, 50, "S", "SIPS+D2T", "", "_sips._tcp.example.test");
	add_naptr(&w, 10, 10, "s", "sip+d2t", "", "_sip._tcp.example.test");
	/* Not for SIP here: a regexp, another flag, another service, an
	 * empty replacement. */
	add_naptr(&w, 1, 1, "s", "SIP+D2U", "!^.*$!sip:x@y!", "");
	add_naptr(&w, 1, 1, "a", "SIP+D2U", "", "a.example.test");
	add_naptr(&w, 1, 1, "u", "E2U+sip", "!^.*$!sip:x@y!", "");
	add_naptr(&w, 1, 1, "s", "SIP+D2S", "", "_sip._sctp.example.test");
	add_naptr(&w, 1, 1, "s", "SIP+D2U", "", "");
	n = sip_naptr_parse(w.buf, w.len, 0, rr, SIP_NAPTR_MAX);
	assert_int_equal(n, 3);
	assert_int_equal(rr[0].transport, SIPS_TP_TCP);
	assert_string_equal(rr[0].replacement, "_sip._tcp.example.test");
	assert_int_equal(rr[1].transport, SIPS_TP_TLS);
	assert_string_equal(rr[1].replacement, "_sips._tcp.example.test");
	assert_int_equal(rr[2].transport, SIPS_TP_UDP);
	assert_int_equal(rr[2].order, 20);
	/* RFC 3263 4.1: a sips: URI keeps SIPS+D2T only. */
	n = sip_naptr_parse(w.buf, w.len, 1, rr, SIP_NAPTR_MAX);
	assert_int_equal(n, 1);
	assert_int_equal(rr[0].transport, SIPS_TP_TLS);
	/* Nothing usable at all. */
	wire_start(&w, "example.test", ns_t_naptr);
	add_naptr(&w, 1, 1, "u", "E2U+sip", "!^.*$!sip:x@y!", "");
	assert_int_equal(sip_naptr_parse(w.buf, w.len, 0, rr, SIP_NAPTR_MAX),
			 0);
	/* A record whose strings run past its rdata is dropped. */
	wire_start(&w, "example.test", ns_t_naptr);
	rr_begin(&w, ns_t_naptr);
	put16(&w, 1);
	put16(&w, 1);
	w.buf[w.len++] = 200;
	w.buf[w.len++] = 's';
	rr_end(&w);
	assert_int_equal(sip_naptr_parse(w.buf, w.len, 0, rr, SIP_NAPTR_MAX),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_priority_ascending),
	    cmocka_unit_test(test_weight_zero),
	    cmocka_unit_test(test_weight_distribution),
	    cmocka_unit_test(test_weight_zero_rarely_first),
	    cmocka_unit_test(test_srv_parse),
	    cmocka_unit_test(test_naptr_select),
	};
	int rc;

	apr_initialize();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	apr_terminate();
	return rc;
}
