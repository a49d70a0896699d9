/* call.h — B2BUA call legs: dialogs, INVITE handling, bridging, media. */
#ifndef SIPS_CALL_H
#define SIPS_CALL_H

#include "sipsbridge/sb_media.h"
#include "sipsbridge/sb_session.h"
#include "profile.h"
#include "call_srtp.h"
#include "sdp.h"
#include "sip_build.h"
#include "txn.h"

typedef enum {
	LEG_INIT = 0, /* A: INVITE received; B: INVITE sent */
	LEG_EARLY,    /* a provisional with a tag / we sent one */
	LEG_UP,       /* 2xx sent or received */
	LEG_ENDING,   /* BYE or CANCEL under way */
	LEG_ENDED
} leg_state_e;

typedef struct bridge bridge_t;
typedef struct call_leg call_leg_t;

/* RFC 3261 12: what a leg needs to send requests in its dialog. */
typedef struct dialog {
	const char *call_id;
	const char *local_tag, *remote_tag;
	const char *local_uri, *remote_uri; /* name-addr without tag */
	const char *remote_target;	    /* the peer's Contact URI */
	apr_array_header_t *route_set;      /* const char *, in order */
	apr_uint32_t local_cseq, remote_cseq;
	sip_target_t to;		    /* the flow or UDP address */
} dialog_t;

/* Our 2xx to an INVITE, kept for its ACK (call_2xx.c). */
typedef struct call_2xx {
	call_leg_t *leg;
	sb_timer_t timer; /* resending over UDP */
	apr_interval_time_t interval, elapsed;
	char *buf; /* malloc'd copy of what we sent */
	apr_size_t len;
	apr_uint32_t cseq; /* of the INVITE it answers */
} call_2xx_t;

/* An ACK we sent to a peer's 2xx (malloc'd copy), sent again when that
 * 2xx is (RFC 3261 13.2.2.4: the same CSeq, the same bytes). */
typedef struct call_ack {
	char *buf;
	apr_size_t len;
	apr_uint32_t cseq; /* of the INVITE or re-INVITE it answers */
	apr_time_t sent;
} call_ack_t;

struct call_leg {
	apr_pool_t *pool;
	sips_profile_t *profile;
	sb_session_t *session;
	sb_worker_t *worker;
	unsigned worker_index;
	int inbound; /* A leg (we are UAS) */
	leg_state_e state;
	dialog_t dlg;
	int cause; /* once ended */
	int fail_status; /* A: the B side's final status to pass on */

	/* A leg: its INVITE (a private copy) and server transaction. */
	sip_msg_t *invite;
	txn_server_t *invite_txn;
	call_2xx_t answer_2xx; /* A: our 2xx to its INVITE */
	call_2xx_t reinvite_2xx; /* our last 2xx to a re-INVITE */
	call_ack_t invite_ack;	 /* B: to the 2xx of our INVITE */
	call_ack_t reinvite_ack; /* to the 2xx of our last re-INVITE */

	/* B leg: the INVITE we sent and its client transaction. */
	char *invite_buf;
	apr_size_t invite_len;
	txn_client_t *invite_ctx;
	sb_timer_t answer_timer; /* call_timeout / leg_timeout */
	int cancel_pending;	 /* CANCEL once a provisional arrives */
	int got_provisional;	 /* any 1xx: a CANCEL may go now */
	int max_forwards;	 /* A: what its INVITE said, for B's */
	const char *trunk_host;	 /* B to a URI: the name its TLS checked */
	bridge_t *bridge;	 /* the bridge attempt it belongs to */

	call_leg_t *peer; /* the other leg once bridged */

	/* Media: the first audio stream, relayed. */
	sb_media_stream_t *stream;
	sdp_session_t *remote_sdp; /* last offer/answer from the peer */
	sdp_session_t *local_sdp;  /* what we last sent it */
	apr_uint64_t sdp_version;
	int media_ready; /* the peer's address is known */
	int resolving;	 /* B: its URI's host is being looked up */
	int late_offer;	 /* A sent no SDP: our offer goes in the 2xx and
			  * its answer comes in the ACK (RFC 3261 13.2.1) */
	int rtcp_mux;	 /* our last SDP to it has a=rtcp-mux (call_mux.h) */
	struct reoffer *reoffer; /* a re-INVITE/UPDATE passing through */
	leg_srtp_t srtp;	 /* SDES keys of this leg (never logged) */
};

/* call_leg.c */
apr_status_t call_init(sb_loop_t *loop, sb_media_t *media, apr_pool_t *pool);
void call_shutdown(void);
/** Every call with a leg on @p p ends now (the profile is going away). */
void call_end_profile(sips_profile_t *p);
sb_media_t *call_media(void);
apr_status_t call_leg_create(call_leg_t **out, sips_profile_t *p,
			     int inbound);
void call_leg_free(call_leg_t *leg);
/** Index by (Call-ID, our tag) on this worker, for in-dialog requests;
 * an A leg also by its INVITE transaction until its final response. */
void call_leg_index(call_leg_t *leg);
call_leg_t *call_leg_find_invite(const txn_server_t *txn);
/** The A leg a (new-looking) INVITE belongs to: same Call-ID and From
 * tag, e.g. a retransmission that came after our 2xx. */
call_leg_t *call_leg_find_caller(const sip_msg_t *invite);
void call_leg_invite_done(call_leg_t *leg);
call_leg_t *call_leg_find(const sip_msg_t *msg, int local_is_to);
/** The leg of this worker with that dialog, or NULL (it ended). */
call_leg_t *call_leg_lookup(const char *call_id, const char *local_tag);
/** Build an in-dialog request (Via, Route, CSeq, Contact) into @p b. */
void call_leg_request(call_leg_t *leg, apr_pool_t *pool, const char *method,
		      apr_uint32_t cseq, sip_build_t *b);
/** A request in the leg's dialog; @p fn gets a NULL baton (the leg may
 * be gone by then). */
apr_status_t call_leg_send(call_leg_t *leg, const char *method,
			   const char *ctype, const char *body,
			   apr_size_t body_len, txn_client_fn fn);
/** A leg toward a trunk whose connection closed (idle timeout, peer
 * restart) gets a new one, verified again; a phone's flow never is. */
void call_leg_ensure_flow(call_leg_t *leg);
/** The same with a baton of the caller's, and the CSeq used. */
/** BYE on @p leg's dialog; a failure (or no answer) is logged, SB02607. */
apr_status_t call_leg_bye(call_leg_t *leg);
apr_status_t call_leg_send_ex(call_leg_t *leg, const char *method,
			      const char *ctype, const char *body,
			      apr_size_t body_len, txn_client_fn fn,
			      void *baton, apr_uint32_t *cseq);
/** The same, and its client transaction: a baton the transaction owns
 * (a cleanup on txn_client_pool) is freed whether or not it answers. */
apr_status_t call_leg_send_txn(call_leg_t *leg, const char *method,
			       const char *ctype, const char *body,
			       apr_size_t body_len, txn_client_fn fn,
			       void *baton, apr_uint32_t *cseq,
			       txn_client_t **txn);
const char *call_leg_contact(const call_leg_t *leg, apr_pool_t *pool);
const char *call_transport_upper(sips_transport_e tp);
/** A slice as a C string in @p pool ("" when absent). */
const char *call_str(apr_pool_t *pool, const sip_str_t *s);

/* call_ack.c */
apr_status_t call_ack_init(unsigned nworkers, apr_pool_t *pool);
/** Our ACK in the leg's dialog for CSeq @p cseq (a 2xx's), built into
 * @p pool. */
apr_status_t call_leg_build_ack(call_leg_t *leg, apr_pool_t *pool,
				apr_uint32_t cseq, char **buf,
				apr_size_t *len);
/** Our ACK to the 2xx of CSeq @p cseq, sent and kept in @p ack (the
 * leg's invite_ack or reinvite_ack) for that 2xx's retransmissions. */
void call_ack_send(call_leg_t *leg, call_ack_t *ack, apr_uint32_t cseq);
/** A 2xx (@p resp) came again: our ACK to it again; 0 when we sent none
 * for its CSeq in this leg's dialog (another To tag: another fork). */
int call_ack_resend(call_leg_t *leg, const sip_msg_t *resp);
/** Our ACK @p ack in dialog @p dlg (Call-ID, tags, target), kept on
 * worker @p w (this one) for 64 * @p t1 after it was sent. */
void call_ack_keep(unsigned w, const dialog_t *dlg, const call_ack_t *ack,
		   apr_interval_time_t t1);
/** The leg ends: its ACKs are kept (on its worker) while the peer may
 * still resend the 2xx they answer, and freed from the leg. */
void call_ack_leg_gone(call_leg_t *leg);
/** A 2xx to an INVITE whose leg has ended: the ACK kept for it again;
 * 0 when none is kept (on this worker). */
int call_ack_stray_2xx(const sip_msg_t *resp);
/** On this worker: the kept ACKs toward profile @p p are dropped,
 * before the profile goes; NULL (shutdown): every one, and no more are
 * kept. */
void call_ack_forget(const sips_profile_t *p);

/** A leg's dialog as a key that outlives the leg (malloc'd): work posted
 * for later finds the leg again, or learns that it ended. */
typedef struct call_leg_key call_leg_key_t;
call_leg_key_t *call_leg_key_make(const call_leg_t *leg);
/** On the leg's worker: the leg, or NULL when it ended. */
call_leg_t *call_leg_key_find(const call_leg_key_t *key);
void call_leg_key_free(call_leg_key_t *key);

/** A private copy of a received message (the receive buffer does not
 * outlive the callback), parsed again; NULL on failure. */
sip_msg_t *call_msg_copy(apr_pool_t *pool, const sip_msg_t *m);
/** The leg ended (both directions done): detach, free when safe. */
void call_leg_ended(call_leg_t *leg, int cause);
unsigned call_count(void);
/** Every leg this worker owns (the callback must not end legs). */
void call_leg_each_here(void (*fn)(call_leg_t *leg, void *baton),
			void *baton);
sb_loop_t *call_loop(void);

/* call_commands.c */
apr_status_t call_commands_register(void);
void call_commands_unregister(void);

/* call_in.c */
/** The dialplan new calls run (kept until shutdown). */
void call_set_dialplan(const sb_dialplan_t *dp);
void call_in_invite(sips_profile_t *p, txn_server_t *txn,
		    const sip_msg_t *req, const sip_target_t *from);
/** ACK, BYE, CANCEL, re-INVITE... inside a dialog; 1 when handled. */
int call_in_dialog(sips_profile_t *p, txn_server_t *txn,
		   const sip_msg_t *req, const sip_target_t *from);
void call_in_cancel(txn_server_t *invite_txn);
void call_in_ack_2xx(const sip_msg_t *ack);
/** A leg: send a response to its INVITE with our SDP when @p sdp. */
void call_in_respond(call_leg_t *a, int status, const char *reason,
		     int with_sdp);
extern const sb_endpoint_ops_t call_sip_ops;

/* call_out.c */
/** Originate a B leg to @p uri (already past the "sip/profile/"). */
apr_status_t call_out_originate(call_leg_t *a, bridge_t *br,
				sips_profile_t *p, const char *uri,
				const char *reg_aor, apr_table_t *vars,
				call_leg_t **out);
void call_out_cancel(call_leg_t *b, int cause);
/** A 2xx retransmission on a leg that already ACKed it (B's answer, or
 * a re-INVITE of ours on either leg): the ACK for its CSeq again. */
int call_out_stray_2xx(const sip_msg_t *resp);

/* call_bridge.c */
apr_status_t call_bridge_register(void);
/** B leg progress, from call_out.c. */
void call_bridge_b_early(call_leg_t *b, int status);
void call_bridge_b_answered(call_leg_t *b);
void call_bridge_b_failed(call_leg_t *b, int status);
/** Either leg hung up after the bridge: end the other. */
void call_bridge_leg_gone(call_leg_t *leg, int cause);
/** The A leg died during a bridge attempt (CANCEL): stop its B legs. */
void call_bridge_abort(call_leg_t *a, int cause);
/** The A leg a bridge attempt belongs to. */
call_leg_t *call_bridge_a(const bridge_t *br);

/* call_2xx.c */
/** We sent @p buf, a 2xx to the INVITE with @p cseq: keep it in @p r,
 * resent over UDP until call_2xx_acked (64*T1 without: the call ends). */
apr_status_t call_2xx_sent(call_leg_t *leg, call_2xx_t *r,
			   apr_uint32_t cseq, const char *buf, apr_size_t len);
/** An ACK with @p cseq came on @p leg's dialog. */
void call_2xx_acked(call_leg_t *leg, apr_uint32_t cseq);
/** Stop resending and drop the copy (the leg is freed or answered anew). */
void call_2xx_clear(call_leg_t *leg, call_2xx_t *r);

/* call_media.c */
/** A leg: take its offer (the INVITE body); 488 sent on failure. */
apr_status_t call_media_inbound_offer(call_leg_t *a);
/** The SDP we offer to B (derived from A's offer); SB_ECONFIG (logged)
 * when B's SRTP policy cannot be met (488), SB_ELIMIT: no RTP port. */
apr_status_t call_media_offer_for(call_leg_t *b, call_leg_t *a,
				  const char **sdp, apr_size_t *len);
/** B answered (or early media): learn its SDP, link streams. */
apr_status_t call_media_answer_from(call_leg_t *b, const sip_msg_t *resp);
/** A leg: settle its SRTP against its offer and policy (before any
 * answer); SB_ECONFIG (logged) when it cannot be met: 488. */
apr_status_t call_media_prepare_answer(call_leg_t *a);
/** The first suite of A's offer we can run, or NULL (rtp_has_crypto). */
const char *call_media_offered_suite(const call_leg_t *a);
/** The SDP we answer A with (derived from B's answer, or ours). */
const char *call_media_answer_for(call_leg_t *a, apr_size_t *len);
void call_media_close(call_leg_t *leg);
/** A late-offer caller's ACK: its answer to the offer in our 2xx;
 * SB_EMALFORMED (logged) when it has none we can use. */
apr_status_t call_media_late_answer(call_leg_t *a, const sip_msg_t *ack);
/** (Re)arm media-timeout on both legs of a bridged or answered call;
 * off while either side holds. */
void call_media_watch(call_leg_t *leg);
/* For call_media_reoffer.c: */
/** The m= line we relay (the first audio one with a port), or NULL. */
sdp_media_t *call_media_relayed(const sdp_session_t *sdp, int *index);
/** The body of @p m as SDP in leg's pool; logged when bad. */
apr_status_t call_media_parse_body(call_leg_t *leg, const sip_msg_t *m,
				   sdp_session_t **out);
/** The leg's stream toward the peer @p sdp names; RTCP muxed if @p mux. */
apr_status_t call_media_learn_peer(call_leg_t *leg, const sdp_session_t *sdp,
				   int mux);
/** Our SDP to @p leg from @p base (an offer when @p offer), in its pool;
 * kept as leg->local_sdp. */
const char *call_media_describe(call_leg_t *leg, const sdp_session_t *base,
				int offer, apr_size_t *len);
/** B's answer's SDES; logged (SB02641) when refused. */
apr_status_t call_media_answered_srtp(call_leg_t *b,
				      const sdp_session_t *sdp);
void call_media_srtp_refused(const call_leg_t *leg, const char *why);

/* call_media_reoffer.c */
/** A answered before its bridge: re-INVITE it with B's media. */
void call_media_refresh_answered(call_leg_t *a);
/** The leg ended: a re-offer passing through it is abandoned. */
void call_media_leg_ended(call_leg_t *leg);
/** A CANCEL (@p cancel, answered 200) for @p invite_txn: when that is
 * a re-INVITE passed on to the other leg (RFC 3261 9.2), it gets 487 and
 * ours toward the peer is cancelled; the call stays up with the media it
 * had (14.1).  1 when it was one. */
int call_media_reoffer_cancel(const sip_msg_t *cancel,
			      txn_server_t *invite_txn);
/** A re-INVITE or UPDATE inside the dialog of @p leg. */
void call_media_reoffer(call_leg_t *leg, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from);

#endif
