/* call_srtp.c — SDES-SRTP per leg (RFC 4568): policy, offer, answer. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "sipsbridge/sb_log.h"
#include "call.h"
#include "call_srtp.h"

static struct {
	sb_srtp_suite_t suites[SB_SRTP_SUITE_COUNT];
	int n;
} defaults;

/* Suites from a ':' or '|' separated list, in order, known ones only. */
static int parse_suites(const char *list, sb_srtp_suite_t *out)
{
	const char *p = list;
	int n = 0;

	while (p && *p && n < SB_SRTP_SUITE_COUNT) {
		apr_size_t len = strcspn(p, ":|, ");
		sb_srtp_suite_t s;

		if (len && sb_srtp_suite_parse(p, len, &s) &&
		    sb_srtp_suite_supported(s))
			out[n++] = s;
		p += len;
		p += *p ? 1 : 0;
	}
	return n;
}

void call_srtp_set_default_suites(const char *list)
{
	defaults.n = parse_suites(list ? list
				       : "AES_CM_128_HMAC_SHA1_80|"
					 "AES_CM_128_HMAC_SHA1_32",
				  defaults.suites);
}

void call_srtp_policy_parse(const char *value, srtp_mode_e dflt,
			    srtp_policy_t *out)
{
	const char *colon = value ? strchr(value, ':') : NULL;
	const char *suites = colon ? colon + 1 : NULL;
	apr_size_t len = value ? (colon ? (apr_size_t)(colon - value)
					: strlen(value))
			       : 0;
	sb_srtp_suite_t first;

	out->mode = dflt;
	if (value && len) {
		if (!strncasecmp(value, "optional", len))
			out->mode = SRTP_OPTIONAL;
		else if (!strncasecmp(value, "forbidden", len) ||
			 !strncasecmp(value, "false", len) ||
			 !strncasecmp(value, "no", len) ||
			 !strncasecmp(value, "0", len))
			out->mode = SRTP_FORBIDDEN;
		else
			/* mandatory, true, yes, 1, or a bare suite list */
			out->mode = SRTP_MANDATORY;
		/* A bare list ("AES_CM_128_HMAC_SHA1_80:AEAD_AES_256_GCM")
		 * is the suites themselves, first one included. */
		if (sb_srtp_suite_parse(value, strcspn(value, ":|, "), &first))
			suites = value;
	}
	out->nsuites = suites ? parse_suites(suites, out->suites) : 0;
	if (!out->nsuites) {
		memcpy(out->suites, defaults.suites, sizeof(out->suites));
		out->nsuites = defaults.n;
	}
}

static const char *var(const call_leg_t *leg, const char *name)
{
	return leg && leg->session ? sb_session_get_var(leg->session, name)
				   : NULL;
}

/* A: _inbound, else rtp_secure_media, else optional.  B: its own
 * _outbound or rtp_secure_media ({} of the dial string), else the A
 * leg's _outbound, else forbidden (DESIGN 6). */
static void leg_policy(const call_leg_t *leg, srtp_policy_t *out)
{
	const call_leg_t *a;
	const char *v;

	if (leg->inbound) {
		v = var(leg, "rtp_secure_media_inbound");
		call_srtp_policy_parse(v ? v : var(leg, "rtp_secure_media"),
				       SRTP_OPTIONAL, out);
		return;
	}
	a = leg->bridge ? call_bridge_a(leg->bridge) : leg->peer;
	v = var(leg, "rtp_secure_media_outbound");
	if (!v)
		v = var(leg, "rtp_secure_media");
	if (!v)
		v = var(a, "rtp_secure_media_outbound");
	call_srtp_policy_parse(v, SRTP_FORBIDDEN, out);
}

static int allowed(const srtp_policy_t *p, sb_srtp_suite_t s)
{
	int i;

	for (i = 0; i < p->nsuites; i++)
		if (p->suites[i] == s)
			return 1;
	return 0;
}

/* Keys go only where no one can read them, unless the profile says. */
static int transport_ok(const call_leg_t *leg)
{
	if (leg->dlg.to.transport == SIPS_TP_TLS)
		return 1;
	if (!leg->profile->settings.srtp_sdes_insecure)
		return 0;
	sb_log(SB_LOG_WARNING, "SB02640",
	       "call %s: SDES keys sent over %s (srtp-sdes-insecure)",
	       leg->dlg.call_id ? leg->dlg.call_id : "-",
	       flow_transport_name(leg->dlg.to.transport));
	return 1;
}

static int is_savp(const sdp_media_t *m)
{
	return strstr(m->proto, "SAVP") != NULL;
}

const char *call_srtp_offered_suite(const sdp_media_t *m)
{
	int i;

	for (i = 0; m && i < m->attrs->nelts; i++) {
		const sdp_attr_t *a = &APR_ARRAY_IDX(m->attrs, i, sdp_attr_t);
		sdes_crypto_t c;

		if (strcasecmp(a->name, "crypto") || !a->value ||
		    sdes_parse(a->value, strlen(a->value), &c, NULL) !=
			    APR_SUCCESS)
			continue;
		if (c.suite != SB_SRTP_NONE && sb_srtp_suite_supported(c.suite))
			return sb_srtp_suite_name(c.suite);
	}
	return NULL;
}

static apr_status_t keys_to_stream(call_leg_t *leg)
{
	leg_srtp_t *k = &leg->srtp;
	apr_status_t rv;

	if (!leg->stream)
		return APR_SUCCESS;
	if (!k->on) {
		sb_media_stream_set_srtp(leg->stream, SB_SRTP_PROTECT,
					 SB_SRTP_NONE, NULL, 0, 0);
		return sb_media_stream_set_srtp(leg->stream,
						SB_SRTP_UNPROTECT,
						SB_SRTP_NONE, NULL, 0, 0);
	}
	rv = sb_media_stream_set_srtp(leg->stream, SB_SRTP_PROTECT,
				      k->local.suite, k->local.key_salt,
				      k->local.key_salt_len, k->local.flags);
	if (rv == APR_SUCCESS)
		rv = sb_media_stream_set_srtp(
			leg->stream, SB_SRTP_UNPROTECT, k->remote.suite,
			k->remote.key_salt, k->remote.key_salt_len,
			k->remote.flags);
	return rv;
}

static apr_status_t fresh_key(sdes_crypto_t *c, unsigned tag,
			      sb_srtp_suite_t suite)
{
	memset(c, 0, sizeof(*c));
	c->tag = tag;
	c->suite = suite;
	c->key_salt_len = sb_srtp_suite_key_salt_len(suite);
	return sb_srtp_keygen(suite, c->key_salt, c->key_salt_len);
}

/* The first offered line we accept (the offerer's order). */
static int pick_line(const srtp_policy_t *p, const sdp_media_t *m,
		     sdes_crypto_t *out)
{
	int i;

	for (i = 0; i < m->attrs->nelts; i++) {
		const sdp_attr_t *a = &APR_ARRAY_IDX(m->attrs, i, sdp_attr_t);

		if (strcasecmp(a->name, "crypto") || !a->value ||
		    sdes_parse(a->value, strlen(a->value), out, NULL) !=
			    APR_SUCCESS)
			continue;
		/* No MKI support in our sessions: such a line is skipped. */
		if (out->suite != SB_SRTP_NONE && !out->mki_len &&
		    allowed(p, out->suite))
			return 1;
	}
	return 0;
}

apr_status_t call_srtp_answer(call_leg_t *leg, const sdp_media_t *m,
			      const char **why)
{
	leg_srtp_t *k = &leg->srtp;
	srtp_policy_t p;
	sdes_crypto_t line;
	int got;

	leg_policy(leg, &p);
	memset(k, 0, sizeof(*k));
	got = p.mode != SRTP_FORBIDDEN && pick_line(&p, m, &line);
	if (got && !transport_ok(leg)) {
		got = 0;
		if (p.mode == SRTP_MANDATORY) {
			*why = "SRTP is mandatory but SDES keys may not go "
			       "over this transport";
			return SB_ECONFIG;
		}
	}
	if (!got) {
		if (p.mode == SRTP_MANDATORY) {
			*why = "SRTP is mandatory and no offered suite is "
			       "allowed";
			return SB_ECONFIG;
		}
		if (is_savp(m)) {
			*why = "the offer is RTP/SAVP only and SRTP is not "
			       "possible here";
			return SB_ECONFIG;
		}
		return APR_SUCCESS;
	}
	k->on = 1;
	k->savp = is_savp(m);
	k->remote = line;
	if (fresh_key(&k->local, line.tag, line.suite) != APR_SUCCESS) {
		*why = "no random key";
		return SB_ECONFIG;
	}
	k->local.flags = line.flags;
	return APR_SUCCESS;
}

apr_status_t call_srtp_install(call_leg_t *leg)
{
	return keys_to_stream(leg);
}

apr_status_t call_srtp_offer(call_leg_t *leg, const char **why)
{
	leg_srtp_t *k = &leg->srtp;
	srtp_policy_t p;
	int i;

	leg_policy(leg, &p);
	memset(k, 0, sizeof(*k));
	if (p.mode == SRTP_MANDATORY && !p.nsuites) {
		*why = "SRTP is mandatory and no suite is usable";
		return SB_ECONFIG;
	}
	if (p.mode == SRTP_FORBIDDEN)
		return keys_to_stream(leg);
	if (!transport_ok(leg)) {
		if (p.mode == SRTP_MANDATORY) {
			*why = "SRTP is mandatory but SDES keys may not go "
			       "over this transport";
			return SB_ECONFIG;
		}
		return keys_to_stream(leg);
	}
	for (i = 0; i < p.nsuites && i < SRTP_MAX_OFFER; i++)
		if (fresh_key(&k->offered[k->noffered], (unsigned)i + 1,
			      p.suites[i]) == APR_SUCCESS)
			k->noffered++;
	k->savp = p.mode == SRTP_MANDATORY;
	return APR_SUCCESS;
}

apr_status_t call_srtp_answered(call_leg_t *leg, const sdp_media_t *m,
				const char **why)
{
	leg_srtp_t *k = &leg->srtp;
	srtp_policy_t p;
	sdes_crypto_t line;
	int i;

	leg_policy(leg, &p);
	if (k->noffered) {
		srtp_policy_t any = p;

		/* The answer must name a tag of ours with its suite. */
		any.nsuites = 0;
		for (i = 0; i < k->noffered; i++)
			any.suites[any.nsuites++] = k->offered[i].suite;
		if (pick_line(&any, m, &line))
			for (i = 0; i < k->noffered; i++)
				if (k->offered[i].tag == line.tag &&
				    k->offered[i].suite == line.suite) {
					k->on = 1;
					k->local = k->offered[i];
					k->remote = line;
					return keys_to_stream(leg);
				}
	}
	k->on = 0;
	if (p.mode == SRTP_MANDATORY) {
		*why = "SRTP is mandatory and the answer has no usable "
		       "a=crypto";
		return SB_ECONFIG;
	}
	return keys_to_stream(leg);
}

void call_srtp_decorate(call_leg_t *leg, sdp_media_t *m)
{
	leg_srtp_t *k = &leg->srtp;
	int i;

	sdp_attr_remove(m->attrs, "crypto");
	m->proto = k->savp ? "RTP/SAVP" : "RTP/AVP";
	if (k->on) {
		sdp_attr_add(leg->pool, m->attrs, "crypto",
			     sdes_print(&k->local, leg->pool));
		return;
	}
	for (i = 0; i < k->noffered; i++)
		sdp_attr_add(leg->pool, m->attrs, "crypto",
			     sdes_print(&k->offered[i], leg->pool));
}
