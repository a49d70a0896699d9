/* fuzz_dns.c — libFuzzer: DNS answers as the trunk resolver reads them
 * (SRV and NAPTR records, RFC 3263), then the RFC 2782 ordering. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sip_naptr.h"
#include "sip_srv.h"

/*
 * Build: clang -fsanitize=fuzzer,address,undefined with sip_srv.c,
 * sip_naptr.c, -lapr-1 -lresolv.
 *
 * A DNS answer comes off the network: whoever answers the query (or
 * spoofs the answer) chooses every byte. Besides the sanitizers the
 * harness aborts when a parser keeps more records than asked, keeps a
 * record its contract drops ("." or empty names, unknown services, a
 * non-TLS service for sips:), leaves a name without its NUL, returns
 * NAPTR records out of order, or when the SRV ordering loses, invents
 * or misorders records.
 */

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

/* The weighted draws come from the input too, so the fuzzer steers them;
 * always within 0..bound as the contract says. */
typedef struct draws {
	const uint8_t *p;
	size_t n, at;
} draws_t;

static unsigned draw(void *baton, unsigned bound)
{
	draws_t *d = baton;
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | (d->n ? d->p[d->at++ % d->n] : 0);
	return bound == UINT32_MAX ? v : v % (bound + 1);
}

static int name_ok(const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	return len > 0 && len < cap && strcmp(s, ".") != 0;
}

static int rr_cmp(const void *a, const void *b)
{
	const sip_srv_rr_t *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight < y->weight ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->target, y->target);
}

static void check_srv(const uint8_t *data, size_t size)
{
	static sip_srv_rr_t rr[SIP_SRV_MAX + 1], before[SIP_SRV_MAX];
	draws_t d = {data, size, 0};
	int n, i;

	memset(rr, 0xa5, sizeof(rr));
	n = sip_srv_parse(data, (int)size, rr, SIP_SRV_MAX);
	CHECK(n >= 0 && n <= SIP_SRV_MAX);
	/* Nothing written past what was asked for. */
	CHECK(((unsigned char *)&rr[SIP_SRV_MAX])[0] == 0xa5);
	for (i = 0; i < n; i++)
		CHECK(name_ok(rr[i].target, sizeof(rr[i].target)));
	memcpy(before, rr, sizeof(*rr) * (size_t)n);
	sip_srv_order(rr, n, draw, &d);
	for (i = 1; i < n; i++)
		CHECK(rr[i - 1].priority <= rr[i].priority);
	/* The same records, only in another order. */
	qsort(before, (size_t)n, sizeof(*before), rr_cmp);
	qsort(rr, (size_t)n, sizeof(*rr), rr_cmp);
	CHECK(n == 0 || memcmp(before, rr, sizeof(*rr) * (size_t)n) == 0);
}

static void check_naptr(const uint8_t *data, size_t size, int sips_only)
{
	static sip_naptr_rr_t rr[SIP_NAPTR_MAX + 1];
	int n, i;

	memset(rr, 0xa5, sizeof(rr));
	n = sip_naptr_parse(data, (int)size, sips_only, rr, SIP_NAPTR_MAX);
	CHECK(n >= 0 && n <= SIP_NAPTR_MAX);
	CHECK(((unsigned char *)&rr[SIP_NAPTR_MAX])[0] == 0xa5);
	for (i = 0; i < n; i++) {
		CHECK(name_ok(rr[i].replacement, sizeof(rr[i].replacement)));
		CHECK(rr[i].transport == SIPS_TP_TLS ||
		      rr[i].transport == SIPS_TP_TCP ||
		      rr[i].transport == SIPS_TP_UDP);
		CHECK(!sips_only || rr[i].transport == SIPS_TP_TLS);
		if (i > 0)
			CHECK(rr[i - 1].order < rr[i].order ||
			      (rr[i - 1].order == rr[i].order &&
			       rr[i - 1].pref <= rr[i].pref));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535) /* a DNS message's largest size */
		return 0;
	check_srv(data, size);
	check_naptr(data, size, 0);
	check_naptr(data, size, 1);
	return 0;
}
