/* sip_srv.c — DNS SRV for SIP: which host and port serve a domain. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "sipsbridge/sb_types.h"
#include "sip_srv.h"

#define SRV_MAX 16

typedef struct srv {
	unsigned priority, weight;
	apr_port_t port;
	char target[NS_MAXDNAME];
} srv_t;

const char *sip_srv_name(apr_pool_t *pool, int tls, int tcp,
			 const char *domain)
{
	return apr_pstrcat(pool, tls ? "_sips._tcp." : tcp ? "_sip._tcp."
							    : "_sip._udp.",
			   domain, NULL);
}

/* The SRV records of an answer; a target of "." says "not here". */
static int parse_answer(const unsigned char *ans, int len, srv_t *out)
{
	ns_msg msg;
	ns_rr rr;
	int i, n = 0;

	if (ns_initparse(ans, len, &msg) < 0)
		return 0;
	for (i = 0; i < ns_msg_count(msg, ns_s_an) && n < SRV_MAX; i++) {
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

/* RFC 2782: among the lowest priority, a running sum of weights picks. */
static const srv_t *choose(const srv_t *s, int n)
{
	unsigned best = ~0u, total = 0, r = 0, sum = 0;
	int i;

	for (i = 0; i < n; i++)
		if (s[i].priority < best)
			best = s[i].priority;
	for (i = 0; i < n; i++)
		if (s[i].priority == best)
			total += s[i].weight;
	if (total && RAND_bytes((unsigned char *)&r, sizeof(r)) == 1)
		r %= total + 1;
	for (i = 0; i < n; i++) {
		if (s[i].priority != best)
			continue;
		sum += s[i].weight;
		if (sum >= r)
			return &s[i];
	}
	return NULL;
}

apr_status_t sip_srv_pick(const char *name, char *target, apr_size_t len,
			  apr_port_t *port)
{
	unsigned char ans[NS_PACKETSZ * 4];
	struct __res_state rs;
	srv_t *found;
	const srv_t *pick;
	int n;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return SB_ENOTFOUND;
	n = res_nquery(&rs, name, ns_c_in, ns_t_srv, ans, sizeof(ans));
	res_nclose(&rs);
	if (n <= 0)
		return SB_ENOTFOUND;
	found = calloc(SRV_MAX, sizeof(*found));
	if (!found)
		return APR_ENOMEM;
	n = parse_answer(ans, n, found);
	pick = n ? choose(found, n) : NULL;
	if (pick) {
		apr_cpystrn(target, pick->target, len);
		*port = pick->port;
	}
	free(found);
	return pick ? APR_SUCCESS : SB_ENOTFOUND;
}
