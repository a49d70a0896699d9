/* sip_naptr.c — DNS NAPTR for SIP: a domain's transports in its order of
 * preference, each naming the SRV records to ask next (RFC 3263 4.1). */
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include "sipsbridge/sb_types.h"
#include "sip_naptr.h"
#include "sip_srv.h"

/* RFC 3263 4.1 and the RFC 3263 registry: the services SIP defines. */
static const struct {
	const char *name;
	sips_transport_e transport;
} services[] = {
    {"SIPS+D2T", SIPS_TP_TLS},
    {"SIP+D2T", SIPS_TP_TCP},
    {"SIP+D2U", SIPS_TP_UDP},
};

/* A <character-string> (RFC 1035 3.3) at *p, bounded by @p end. */
static int char_string(const unsigned char **p, const unsigned char *end,
		       const unsigned char **s, unsigned *len)
{
	if (*p >= end || *p + 1 + **p > end)
		return -1;
	*len = **p;
	*s = *p + 1;
	*p += 1 + *len;
	return 0;
}

static int str_is(const unsigned char *s, unsigned len, const char *want)
{
	return strlen(want) == len && !strncasecmp((const char *)s, want, len);
}

static int service_of(const unsigned char *s, unsigned len, int sips_only,
		      sips_transport_e *tp)
{
	size_t i;

	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (!str_is(s, len, services[i].name))
			continue;
		if (sips_only && services[i].transport != SIPS_TP_TLS)
			return -1;
		*tp = services[i].transport;
		return 0;
	}
	return -1;
}

/* One record's rdata into @p out; -1 when SIP cannot use it. */
static int parse_rr(const ns_msg *msg, const ns_rr *rr, int sips_only,
		    sip_naptr_rr_t *out)
{
	const unsigned char *p = ns_rr_rdata(*rr);
	const unsigned char *end = p + ns_rr_rdlen(*rr);
	const unsigned char *flags, *svc, *re;
	unsigned flen, slen, rlen;

	if (ns_rr_rdlen(*rr) < 4)
		return -1;
	out->order = ns_get16(p);
	out->pref = ns_get16(p + 2);
	p += 4;
	if (char_string(&p, end, &flags, &flen) < 0 ||
	    char_string(&p, end, &svc, &slen) < 0 ||
	    char_string(&p, end, &re, &rlen) < 0 || p >= end)
		return -1;
	/* "s": the replacement is an SRV name; SIP defines no regexp. */
	if (!str_is(flags, flen, "s") || rlen != 0 ||
	    service_of(svc, slen, sips_only, &out->transport) < 0)
		return -1;
	if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), p, out->replacement,
		      sizeof(out->replacement)) < 0 ||
	    !out->replacement[0] || !strcmp(out->replacement, "."))
		return -1;
	return 0;
}

/* Order, then preference, both ascending (RFC 3403 4.1); stable. */
static void sort_rrs(sip_naptr_rr_t *rr, int n)
{
	sip_naptr_rr_t tmp;
	int i, j;

	for (i = 1; i < n; i++) {
		tmp = rr[i];
		for (j = i; j > 0 && (rr[j - 1].order > tmp.order ||
				      (rr[j - 1].order == tmp.order &&
				       rr[j - 1].pref > tmp.pref));
		     j--)
			rr[j] = rr[j - 1];
		rr[j] = tmp;
	}
}

int sip_naptr_parse(const unsigned char *ans, int len, int sips_only,
		    sip_naptr_rr_t *out, int max)
{
	ns_msg msg;
	ns_rr rr;
	int i, n = 0;

	if (ns_initparse(ans, len, &msg) < 0)
		return 0;
	for (i = 0; i < ns_msg_count(msg, ns_s_an) && n < max; i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) == ns_t_naptr &&
		    parse_rr(&msg, &rr, sips_only, &out[n]) == 0)
			n++;
	}
	sort_rrs(out, n);
	return n;
}

apr_status_t sip_naptr_lookup(const char *domain, int sips_only,
			      sip_naptr_rr_t *out, int max, int *n)
{
	unsigned char ans[SIP_DNS_ANSWER_MAX];
	int len, got;

	len = sip_srv_query(domain, ns_t_naptr, ans, sizeof(ans));
	if (len <= 0)
		return SB_ENOTFOUND;
	got = sip_naptr_parse(ans, len, sips_only, out, max);
	if (!got)
		return SB_ENOTFOUND;
	*n = got;
	return APR_SUCCESS;
}
