/* profile_params.c — the profile parameter table and its one parser. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include "profile_params.h"

typedef enum {
	PARAM_STRING,
	PARAM_BOOL,
	PARAM_UINT,
	PARAM_PORT,
	PARAM_TLS_VERSIONS,
	PARAM_VERIFY_POLICY
} param_type_e;

typedef struct profile_param {
	profile_param_doc_t doc; /* name, default, one-line meaning */
	param_type_e type;
	apr_size_t offset;
	unsigned min, max; /* PARAM_UINT bounds */
} profile_param_t;

#define ROW(name, type, field, def, min, max, doc)                            \
	{ { name, def, doc }, type, offsetof(sips_settings_t, field), min, max }

static const profile_param_t params[] = {
	ROW("context", PARAM_STRING, context, "public", 0, 0,
	    "dialplan context for calls arriving on this profile"),
	ROW("dialplan", PARAM_STRING, dialplan, "XML", 0, 0,
	    "dialplan type"),
	ROW("sip-ip", PARAM_STRING, sip_ip, "127.0.0.1", 0, 0,
	    "address the SIP listeners bind"),
	ROW("sip-port", PARAM_PORT, sip_port, "5060", 0, 0,
	    "UDP and TCP port"),
	ROW("ext-sip-ip", PARAM_STRING, ext_sip_ip, "", 0, 0,
	    "address put in the Contact of call legs when behind NAT "
	    "(empty: sip-ip); Via keeps sip-ip, with rport"),
	ROW("rtp-ip", PARAM_STRING, rtp_ip, "", 0, 0,
	    "address the media relay binds for this profile (empty: sip-ip)"),
	ROW("ext-rtp-ip", PARAM_STRING, ext_rtp_ip, "", 0, 0,
	    "address put in SDP when behind NAT (empty: rtp-ip)"),
	ROW("media-timeout", PARAM_UINT, media_timeout, "60", 0, 86400,
	    "hang up a call whose media stopped for this many seconds "
	    "(0: never; calls on hold are spared)"),
	ROW("disable-rtp-auto-adjust", PARAM_BOOL, disable_rtp_auto_adjust,
	    "false", 0, 0, "never latch a leg's media to where its packets "
	    "come from: send to the SDP's address only, take packets from "
	    "any source (peers that send from another port than they "
	    "receive on)"),
	ROW("srtp-sdes-insecure", PARAM_BOOL, srtp_sdes_insecure, "false", 0,
	    0, "allow SDES keys in SDP over UDP/TCP (a warning per call)"),
	ROW("auth-calls", PARAM_BOOL, auth_calls, "true", 0, 0,
	    "challenge INVITEs with digest authentication"),
	ROW("tls", PARAM_BOOL, tls, "false", 0, 0,
	    "open a TLS listener on tls-sip-port"),
	ROW("tls-only", PARAM_BOOL, tls_only, "false", 0, 0,
	    "no UDP/TCP listeners: TLS only"),
	ROW("tls-bind-params", PARAM_STRING, tls_bind_params,
	    "transport=tls", 0, 0,
	    "accepted for FreeSWITCH configs; not used (TLS contacts always "
	    "carry transport=tls)"),
	ROW("tls-sip-port", PARAM_PORT, tls_sip_port, "5061", 0, 0,
	    "TLS port"),
	ROW("tls-cert-dir", PARAM_STRING, tls_cert_dir, "", 0, 0,
	    "directory with agent.pem (cert+key[+chain]) and cafile.pem"),
	ROW("tls-passphrase", PARAM_STRING, tls_passphrase, "", 0, 0,
	    "passphrase of an encrypted key in agent.pem"),
	ROW("tls-verify-date", PARAM_BOOL, tls_verify_date, "true", 0, 0,
	    "check the validity dates of peer certificates"),
	ROW("tls-verify-wildcard", PARAM_BOOL, tls_verify_wildcard, "false", 0,
	    0, "accept a wildcard certificate from servers (RFC 5922 7.2)"),
	ROW("tls-verify-policy", PARAM_VERIFY_POLICY, tls_verify_policy,
	    "out", 0, 0,
	    "verify peers: none|in|out|all|subjects_in|subjects_out|"
	    "subjects_all"),
	ROW("tls-verify-depth", PARAM_UINT, tls_verify_depth, "2", 1, 10,
	    "maximum certificate chain depth"),
	ROW("tls-verify-in-subjects", PARAM_STRING, tls_verify_in_subjects,
	    "", 0, 0, "|-separated subjects accepted from clients"),
	ROW("tls-require-client-cert", PARAM_BOOL, tls_require_client_cert,
	    "false", 0, 0, "refuse TLS clients without a certificate (mTLS)"),
	ROW("tls-version", PARAM_TLS_VERSIONS, tls_versions,
	    "tlsv1.2,tlsv1.3", 0, 0,
	    "accepted versions: tlsv1.2, tlsv1.3 (tlsv1, tlsv1.1 unsafe)"),
	ROW("tls-ciphers", PARAM_STRING, tls_ciphers,
	    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
	    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
	    0, 0, "OpenSSL cipher list for TLS 1.2"),
	ROW("tls-ciphersuites", PARAM_STRING, tls_ciphersuites, "", 0, 0,
	    "TLS 1.3 suites (empty: OpenSSL's default)"),
	ROW("tls-timeout", PARAM_UINT, tls_timeout, "10", 1, 3600,
	    "seconds a new connection has to complete its TLS handshake"),
	ROW("tls-handshake-rate", PARAM_UINT, tls_handshake_rate, "20", 0,
	    1000000, "TLS handshakes a second one source IP may start (0: no "
	    "limit); over it a new connection is closed before its handshake"),
	ROW("tls-handshake-burst", PARAM_UINT, tls_handshake_burst, "100", 1,
	    1000000, "TLS handshakes one source IP may start at once before "
	    "tls-handshake-rate applies (phones behind one NAT after a "
	    "restart)"),
	ROW("cert-warn-days", PARAM_UINT, cert_warn_days, "30", 0, 3650,
	    "warn when agent.pem expires within this many days"),
	ROW("timer-T1", PARAM_UINT, timer_t1_ms, "500", 10, 10000,
	    "RFC 3261 T1 in ms: RTT estimate, first retransmission"),
	ROW("timer-T2", PARAM_UINT, timer_t2_ms, "4000", 100, 60000,
	    "RFC 3261 T2 in ms: longest non-INVITE retransmission interval"),
	ROW("timer-T4", PARAM_UINT, timer_t4_ms, "5000", 100, 60000,
	    "RFC 3261 T4 in ms: how long a message may live in the network"),
	ROW("max-msg-size", PARAM_UINT, max_msg_size, "65536", 1024, 1048576,
	    "largest SIP message accepted, in bytes"),
	ROW("max-headers", PARAM_UINT, max_headers, "100", 10, 128,
	    "most header fields in one message"),
	ROW("max-msg-chunks", PARAM_UINT, max_msg_chunks, "32", 1, 100000,
	    "slow-sender guard: most reads one stream message may take"),
	ROW("msg-timeout", PARAM_UINT, msg_timeout, "10", 1, 3600,
	    "slow-sender guard: seconds a started stream message may take"),
	ROW("idle-timeout", PARAM_UINT, idle_timeout, "900", 5, 86400,
	    "seconds a TCP/TLS connection may stay silent (CRLF keepalives "
	    "count)"),
	ROW("max-connections", PARAM_UINT, max_connections, "10000", 1,
	    1000000, "most open TCP+TLS connections of the profile"),
	ROW("max-connections-per-ip", PARAM_UINT, max_connections_per_ip,
	    "128", 1, 1000000, "most open TCP+TLS connections from one IP"),
	ROW("max-msg-rate", PARAM_UINT, max_msg_rate, "200", 0, 1000000,
	    "SIP messages a second one accepted TCP/TLS connection may send "
	    "(0: no limit); over it requests get 503 with Retry-After"),
	ROW("max-msg-burst", PARAM_UINT, max_msg_burst, "400", 1, 10000000,
	    "messages one connection may send at once before max-msg-rate "
	    "applies"),
	ROW("msg-rate-close", PARAM_UINT, msg_rate_close, "10", 0, 3600,
	    "seconds a connection may stay over max-msg-rate before it is "
	    "closed (0: never closed)"),
	ROW("max-udp-rate", PARAM_UINT, max_udp_rate, "200", 0, 1000000,
	    "UDP datagrams a second from one source IP (0: no limit); over it "
	    "they are dropped unanswered (source addresses can be forged)"),
	ROW("max-udp-burst", PARAM_UINT, max_udp_burst, "400", 1, 10000000,
	    "UDP datagrams one source IP may send at once before max-udp-rate "
	    "applies"),
	ROW("max-tracked-sources", PARAM_UINT, max_tracked_sources, "8192",
	    64, 1000000, "source IPs (IPv6: /64s) the per-source limits "
	    "remember; the oldest unblocked one is forgotten first"),
	ROW("limit-log-interval", PARAM_UINT, limit_log_interval, "10", 1,
	    3600, "a limit that keeps firing is logged once, then as one "
	    "summary line per this many seconds"),
	ROW("reg-min-expires", PARAM_UINT, reg_min_expires, "60", 1, 86400,
	    "shortest registration accepted (423 with Min-Expires below)"),
	ROW("reg-max-expires", PARAM_UINT, reg_max_expires, "7200", 1,
	    604800, "longest registration granted (longer ones are cut)"),
	ROW("reg-default-expires", PARAM_UINT, reg_default_expires, "3600", 1,
	    604800, "registration time when the phone names none"),
	ROW("auth-max-failures", PARAM_UINT, auth_max_failures, "3", 1, 100,
	    "wrong digest answers from one source for one user before 403"),
	ROW("auth-block-failures", PARAM_UINT, auth_block_failures, "10", 0,
	    100000, "failed authentications from one source IP within "
	    "auth-block-window that block it (0: never blocked)"),
	ROW("auth-block-window", PARAM_UINT, auth_block_window, "60", 1, 86400,
	    "seconds over which auth-block-failures are counted"),
	ROW("auth-block-time", PARAM_UINT, auth_block_time, "300", 1, 604800,
	    "seconds a blocked source gets no digest work: its REGISTERs (and "
	    "INVITEs with auth-calls) get 403 over TCP/TLS, none over UDP"),
	ROW("auth-algorithms", PARAM_STRING, auth_algorithms, "MD5", 0, 0,
	    "digest challenges offered, in order: MD5, SHA-256 (some phones, "
	    "baresip among them, fail on any challenge they cannot do)"),
	ROW("nonce-ttl", PARAM_UINT, nonce_ttl, "60", 5, 3600,
	    "seconds a digest nonce stays fresh (then stale=true)"),
	ROW("all-reg-options-ping", PARAM_BOOL, all_reg_options_ping, "false",
	    0, 0, "send OPTIONS to every registered contact over its flow"),
	ROW("ping-mean-interval", PARAM_UINT, ping_mean_interval, "30", 1,
	    3600, "seconds between OPTIONS pings of one contact"),
	ROW("flow-timer", PARAM_UINT, flow_timer, "120", 10, 3600,
	    "RFC 5626 Flow-Timer: keepalive interval asked of phones"),
};

#define N_PARAMS (sizeof(params) / sizeof(params[0]))

static const char *const policy_names[] = {
	"none", "in", "out", "all", "subjects_in", "subjects_out",
	"subjects_all",
};

static const struct {
	const char *token;
	unsigned bit;
} version_tokens[] = {
	{ "tlsv1", SIPS_TLS_V1_0 },   { "tlsv1.1", SIPS_TLS_V1_1 },
	{ "tlsv1.2", SIPS_TLS_V1_2 }, { "tlsv1.3", SIPS_TLS_V1_3 },
};

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1",
					   "enabled" };
	static const char *const no[] = { "false", "no", "off", "0",
					  "disabled", "" };
	apr_size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!strcasecmp(v, yes[i]))
			return *out = 1, 0;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (!strcasecmp(v, no[i]))
			return *out = 0, 0;
	return -1;
}

static int parse_uint(const char *v, unsigned min, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long n;

	if (!*v || *v == '-' || *v == '+')
		return -1;
	n = strtoul(v, &end, 10);
	if (*end || n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* "tlsv1.2,tlsv1.3" (FreeSWITCH also accepts "tlsv1.2|tlsv1.3"). */
static apr_status_t parse_versions(const char *v, unsigned *out,
				   apr_pool_t *pool, char *why,
				   apr_size_t len)
{
	char *copy = apr_pstrdup(pool, v), *tok, *state;
	unsigned mask = 0;
	apr_size_t i;

	for (tok = apr_strtok(copy, ",| ", &state); tok;
	     tok = apr_strtok(NULL, ",| ", &state)) {
		for (i = 0; i < sizeof(version_tokens) /
					sizeof(version_tokens[0]);
		     i++)
			if (!strcasecmp(tok, version_tokens[i].token))
				break;
		if (i == sizeof(version_tokens) / sizeof(version_tokens[0])) {
			apr_snprintf(why, len, "unknown token \"%s\"", tok);
			return SB_ECONFIG;
		}
		mask |= version_tokens[i].bit;
	}
	if (!mask) {
		apr_cpystrn(why, "no TLS version given", len);
		return SB_ECONFIG;
	}
	*out = mask;
	return APR_SUCCESS;
}

static apr_status_t apply_row(sips_settings_t *s, const profile_param_t *p,
			      const char *v, apr_pool_t *pool, char *why,
			      apr_size_t len)
{
	void *field = (char *)s + p->offset;
	unsigned u, i;
	int b;

	switch (p->type) {
	case PARAM_STRING:
		*(const char **)field = apr_pstrdup(pool, v);
		return APR_SUCCESS;
	case PARAM_BOOL:
		if (parse_bool(v, &b) == 0)
			return *(int *)field = b, APR_SUCCESS;
		apr_snprintf(why, len, "\"%s\" is not a boolean (true/false)",
			     v);
		return SB_ECONFIG;
	case PARAM_UINT:
		if (parse_uint(v, p->min, p->max, &u) == 0)
			return *(unsigned *)field = u, APR_SUCCESS;
		apr_snprintf(why, len, "\"%s\" is not a number in %u..%u", v,
			     p->min, p->max);
		return SB_ECONFIG;
	case PARAM_PORT:
		if (parse_uint(v, 1, 65535, &u) == 0)
			return *(unsigned *)field = u, APR_SUCCESS;
		apr_snprintf(why, len, "\"%s\" is not a port (1..65535)", v);
		return SB_ECONFIG;
	case PARAM_TLS_VERSIONS:
		return parse_versions(v, (unsigned *)field, pool, why, len);
	case PARAM_VERIFY_POLICY:
		for (i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]);
		     i++)
			if (!strcasecmp(v, policy_names[i]))
				return *(unsigned *)field = i, APR_SUCCESS;
		apr_snprintf(why, len, "unknown policy \"%s\"", v);
		return SB_ECONFIG;
	}
	return SB_ECONFIG;
}

void profile_params_defaults(sips_settings_t *s, apr_pool_t *pool)
{
	char why[256];
	apr_size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < N_PARAMS; i++)
		apply_row(s, &params[i], params[i].doc.def, pool, why,
			  sizeof(why));
}

apr_status_t profile_params_apply(sips_settings_t *s, const char *name,
				  const char *value, apr_pool_t *pool,
				  char *why, apr_size_t len)
{
	apr_size_t i;

	for (i = 0; i < N_PARAMS; i++)
		if (!strcmp(name, params[i].doc.name))
			return apply_row(s, &params[i], value, pool, why, len);
	apr_snprintf(why, len, "unknown parameter \"%s\"", name);
	return SB_ENOTFOUND;
}

const char *profile_params_versions_text(unsigned versions, apr_pool_t *pool)
{
	const char *text = "";
	apr_size_t i;

	for (i = 0; i < sizeof(version_tokens) / sizeof(version_tokens[0]);
	     i++)
		if (versions & version_tokens[i].bit)
			text = apr_pstrcat(pool, text, *text ? "," : "",
					   version_tokens[i].token, NULL);
	return text;
}

const char *profile_params_policy_text(unsigned policy)
{
	return policy < sizeof(policy_names) / sizeof(policy_names[0])
		       ? policy_names[policy]
		       : "?";
}

const profile_param_doc_t *profile_params_doc(apr_size_t i)
{
	return i < N_PARAMS ? &params[i].doc : NULL;
}
