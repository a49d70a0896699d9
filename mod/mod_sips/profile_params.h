/* profile_params.h — a profile's settings and the table that fills them. */
#ifndef SIPS_PROFILE_PARAMS_H
#define SIPS_PROFILE_PARAMS_H

#include "sipsbridge/sb_types.h"

/* TLS protocol versions a profile accepts (tls-version). */
#define SIPS_TLS_V1_0 0x01u
#define SIPS_TLS_V1_1 0x02u
#define SIPS_TLS_V1_2 0x04u
#define SIPS_TLS_V1_3 0x08u

/* tls-verify-policy as FreeSWITCH spells it. */
typedef enum {
	SIPS_VERIFY_NONE = 0,
	SIPS_VERIFY_IN,
	SIPS_VERIFY_OUT,
	SIPS_VERIFY_ALL,
	SIPS_VERIFY_SUBJECTS_IN,
	SIPS_VERIFY_SUBJECTS_OUT,
	SIPS_VERIFY_SUBJECTS_ALL
} sips_verify_policy_e;

/** Everything one <profile><settings> says, after defaults. */
typedef struct sips_settings {
	const char *context;
	const char *dialplan;
	const char *sip_ip;
	unsigned sip_port;
	const char *ext_sip_ip;
	const char *rtp_ip;
	const char *ext_rtp_ip;
	unsigned media_timeout;
	int disable_rtp_auto_adjust;
	int srtp_sdes_insecure;
	int auth_calls;
	int tls;
	int tls_only;
	const char *tls_bind_params;
	unsigned tls_sip_port;
	const char *tls_cert_dir;
	const char *tls_passphrase;
	int tls_verify_date;
	int tls_verify_wildcard;
	unsigned tls_verify_policy;
	unsigned tls_verify_depth;
	const char *tls_verify_in_subjects;
	int tls_require_client_cert;
	unsigned tls_versions;
	const char *tls_ciphers;
	const char *tls_ciphersuites;
	unsigned tls_timeout;
	unsigned cert_warn_days;
	unsigned timer_t1_ms;
	unsigned timer_t2_ms;
	unsigned timer_t4_ms;
	unsigned max_msg_size;
	unsigned max_headers;
	unsigned max_msg_chunks;
	unsigned msg_timeout;
	unsigned idle_timeout;
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned reg_min_expires;
	unsigned reg_max_expires;
	unsigned reg_default_expires;
	unsigned auth_max_failures;
	unsigned nonce_ttl;
	const char *auth_algorithms;
	int all_reg_options_ping;
	unsigned ping_mean_interval;
	unsigned flow_timer;
	unsigned tls_handshake_rate;
	unsigned tls_handshake_burst;
	unsigned auth_block_failures;
	unsigned auth_block_window;
	unsigned auth_block_time;
	unsigned max_msg_rate;
	unsigned max_msg_burst;
	unsigned msg_rate_close;
	unsigned max_udp_rate;
	unsigned max_udp_burst;
	unsigned max_tracked_sources;
	unsigned limit_log_interval;
} sips_settings_t;

/** Fill @p s with every default of the table. */
void profile_params_defaults(sips_settings_t *s, apr_pool_t *pool);

/**
 * Apply one <param name= value=>. Returns APR_SUCCESS, SB_ENOTFOUND for a
 * name the table lacks (the caller warns), or SB_ECONFIG with the reason
 * in @p why (e.g. `unknown token "tlsv1.4"`).
 */
apr_status_t profile_params_apply(sips_settings_t *s, const char *name,
				  const char *value, apr_pool_t *pool,
				  char *why, apr_size_t len);

/** Text of tls-version / tls-verify-policy for status output. */
const char *profile_params_versions_text(unsigned versions, apr_pool_t *pool);
const char *profile_params_policy_text(unsigned policy);

/** One row of the table, for status output and the reference doc. */
typedef struct profile_param_doc {
	const char *name;
	const char *def;
	const char *doc;
} profile_param_doc_t;

/** Row @p i of the table, NULL past the end. */
const profile_param_doc_t *profile_params_doc(apr_size_t i);

#endif
