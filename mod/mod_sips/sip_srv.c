/* sip_srv.c — DNS SRV for SIP: which hosts and ports serve a domain, in
 * the order RFC 2782 says to try them. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "sipsbridge/sb_types.h"
#include "sip_srv.h"

const char *sip_srv_name(apr_pool_t *pool, int tls, int tcp, const char *domain)
{
	return apr_pstrcat(pool,
			   tls	 ? "_sips._tcp."
			   : tcp ? "_sip._tcp."
				 : "_sip._udp.",
			   domain, NULL);
}

int sip_srv_parse(const unsigned char *ans, int len, sip_srv_rr_t *out, int max)
{
	ns_msg msg;
	ns_rr rr;
	int i, n = 0;

	if (ns_initparse(ans, len, &msg) < 0)
		return 0;
	for (i = 0; i < ns_msg_count(msg, ns_s_an) && n < max; i++) {
		const unsigned char *rd;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		rd = ns_rr_rdata(rr);
		out[n].priority = ns_get16(rd);
		out[n].weight = ns_get16(rd + 2);
		out[n].port = (apr_port_t)ns_get16(rd + 4);
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6,
			      out[n].target, sizeof(out[n].target)) < 0 ||
		    !out[n].target[0] || !strcmp(out[n].target, "."))
			continue;
		n++;
	}
	return n;
}

static unsigned rand_crypto(void *baton, unsigned bound)
{
	unsigned r = 0;

	(void)baton;
	if (!bound || RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		return 0;
	return bound == ~0u ? r : r % (bound + 1);
}

/* Move rr[from] to rr[to] (to <= from), shifting the ones between. */
static void move_to(sip_srv_rr_t *rr, int from, int to, sip_srv_rr_t *tmp)
{
	if (from == to)
		return;
	*tmp = rr[from];
	memmove(&rr[to + 1], &rr[to], (size_t)(from - to) * sizeof(*rr));
	rr[to] = *tmp;
}

/*
 * RFC 2782, one priority: those left with weight 0 go first, a number
 * in 0..sum of weights is drawn, and the first whose running sum reaches
 * it is next.  A weight-0 record thus wins only a draw of 0.
 */
static void order_group(sip_srv_rr_t *rr, int n, sip_srv_rand_fn rnd,
			void *baton, sip_srv_rr_t *tmp)
{
	int k, i, zeros;
	unsigned sum, run, r;

	for (k = 0; k < n - 1; k++) {
		zeros = k;
		for (i = k; i < n; i++)
			if (rr[i].weight == 0)
				move_to(rr, i, zeros++, tmp);
		sum = 0;
		for (i = k; i < n; i++)
			sum += rr[i].weight;
		r = rnd(baton, sum);
		if (r > sum)
			r = sum;
		run = 0;
		for (i = k; i < n - 1; i++) {
			run += rr[i].weight;
			if (run >= r)
				break;
		}
		move_to(rr, i, k, tmp);
	}
}

void sip_srv_order(sip_srv_rr_t *rr, int n, sip_srv_rand_fn rnd, void *baton)
{
	sip_srv_rr_t tmp;
	int i, j, start;

	if (!rnd)
		rnd = rand_crypto;
	/* A stable insertion sort by priority: n is at most a few dozen. */
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && rr[j - 1].priority > rr[i].priority; j--)
			;
		move_to(rr, i, j, &tmp);
	}
	for (start = 0; start < n; start = i) {
		for (i = start; i < n && rr[i].priority == rr[start].priority;
		     i++)
			;
		order_group(rr + start, i - start, rnd, baton, &tmp);
	}
}

int sip_srv_query(const char *name, int type, unsigned char *ans, int cap)
{
	struct __res_state rs;
	int len;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return -1;
	len = res_nquery(&rs, name, ns_c_in, type, ans, cap);
	res_nclose(&rs);
	/* A truncated answer reports its whole length, not what fits. */
	return len > cap ? cap : len;
}

apr_status_t sip_srv_lookup(const char *name, sip_srv_rr_t *out, int max,
			    int *n)
{
	unsigned char ans[SIP_DNS_ANSWER_MAX];
	int len, got;

	len = sip_srv_query(name, ns_t_srv, ans, sizeof(ans));
	if (len <= 0)
		return SB_ENOTFOUND;
	got = sip_srv_parse(ans, len, out, max);
	if (!got)
		return SB_ENOTFOUND;
	sip_srv_order(out, got, NULL, NULL);
	*n = got;
	return APR_SUCCESS;
}
