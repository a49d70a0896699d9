/* call_srtp.h — SDES-SRTP on each leg as rtp_secure_media says. */
#ifndef SIPS_CALL_SRTP_H
#define SIPS_CALL_SRTP_H

#include "sdes.h"
#include "sdp.h"

struct call_leg;

/* DESIGN 6: mandatory (or true), optional, forbidden (or false), each
 * with an optional ":SUITE:SUITE" preference list. */
typedef enum {
	SRTP_FORBIDDEN = 0,
	SRTP_OPTIONAL,
	SRTP_MANDATORY
} srtp_mode_e;

typedef struct srtp_policy {
	srtp_mode_e mode;
	sb_srtp_suite_t suites[SB_SRTP_SUITE_COUNT];
	int nsuites;
} srtp_policy_t;

#define SRTP_MAX_OFFER SB_SRTP_SUITE_COUNT

/* What one leg has agreed (or offered) with its phone. */
typedef struct leg_srtp {
	int on;		       /* the leg carries SRTP now */
	sdes_crypto_t local;   /* our key: what we protect with */
	sdes_crypto_t remote;  /* the peer's key: what we unprotect with */
	sdes_crypto_t offered[SRTP_MAX_OFFER]; /* B leg: our offer */
	int noffered;
	int savp; /* our m= line says RTP/SAVP */
} leg_srtp_t;

/** The suites of vars.xml's rtp_sdes_suites ("A|B|C"), the default
 * preference list when a policy names none. */
void call_srtp_set_default_suites(const char *list);

/** Parse a rtp_secure_media value; unset (NULL) gives @p dflt. */
void call_srtp_policy_parse(const char *value, srtp_mode_e dflt,
			    srtp_policy_t *out);

/** The first suite of the peer's offer that we can run, or NULL: what
 * rtp_has_crypto says. */
const char *call_srtp_offered_suite(const sdp_media_t *m);

/**
 * A leg answering its phone's offer @p m (the relayed m= line): picks a
 * line or none by policy and transport into leg->srtp (fresh key); the
 * stream keeps its keys until call_srtp_install().  SB_ECONFIG (with
 * *why) when the policy cannot be met: 488.
 */
apr_status_t call_srtp_answer(struct call_leg *leg, const sdp_media_t *m,
			      const char **why);

/** The keys of leg->srtp into the leg's relay stream. */
apr_status_t call_srtp_install(struct call_leg *leg);

/** A leg offering to its phone: fresh keys for every suite the policy
 * allows (none when forbidden).  SB_ECONFIG when SRTP is mandatory but
 * the leg's transport may not carry keys. */
apr_status_t call_srtp_offer(struct call_leg *leg, const char **why);

/** The phone answered our offer with @p m: take the line it chose and
 * set the stream's keys.  SB_ECONFIG when policy says it must. */
apr_status_t call_srtp_answered(struct call_leg *leg, const sdp_media_t *m,
				const char **why);

/** Write leg->srtp into our m= line: proto and a=crypto lines. */
void call_srtp_decorate(struct call_leg *leg, sdp_media_t *m);

#endif
