/* conn_limits.c — counting connections per profile and per source IP. */
#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include "conn_limits.h"
#include "src_guard.h"

typedef struct ip_count {
	unsigned n;
	char ip[64];
} ip_count_t;

apr_status_t conn_limits_claim(sips_profile_t *p, sips_transport_e tp,
			       const char *ip, const char *peer)
{
	const sips_settings_t *s = &p->settings;
	unsigned total;
	ip_count_t *ic;
	const char *which = NULL;

	apr_thread_mutex_lock(p->lock);
	total = p->open_conns[SIPS_TP_TCP] + p->open_conns[SIPS_TP_TLS];
	ic = apr_hash_get(p->conns_per_ip, ip, APR_HASH_KEY_STRING);
	if (total >= s->max_connections)
		which = "max-connections";
	else if (ic && ic->n >= s->max_connections_per_ip)
		which = "max-connections-per-ip";
	if (!which && !ic) {
		ic = calloc(1, sizeof(*ic));
		if (!ic) {
			which = "memory";
		} else {
			strncpy(ic->ip, ip, sizeof(ic->ip) - 1);
			apr_hash_set(p->conns_per_ip, ic->ip,
				     APR_HASH_KEY_STRING, ic);
		}
	}
	if (!which) {
		ic->n++;
		p->open_conns[tp]++;
	} else {
		p->refused_conns++;
	}
	apr_thread_mutex_unlock(p->lock);
	if (!which)
		return APR_SUCCESS;
	/* Throttled: a flood of refusals must not become a flood of lines. */
	src_guard_log(p, SRC_EV_CONN_LIMIT,
		      "profile %s: %s connection from %s refused: %s reached",
		      p->name, flow_transport_name(tp), peer, which);
	return SB_ELIMIT;
}

void conn_limits_release(sips_profile_t *p, sips_transport_e tp,
			 const char *ip)
{
	ip_count_t *ic;

	apr_thread_mutex_lock(p->lock);
	p->open_conns[tp]--;
	ic = apr_hash_get(p->conns_per_ip, ip, APR_HASH_KEY_STRING);
	if (ic && --ic->n == 0) {
		apr_hash_set(p->conns_per_ip, ic->ip, APR_HASH_KEY_STRING,
			     NULL);
		free(ic);
	}
	apr_thread_mutex_unlock(p->lock);
}
