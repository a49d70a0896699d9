/* txn.h — RFC 3261 section 17 transactions, one table per worker. */
#ifndef SIPS_TXN_H
#define SIPS_TXN_H

#include "sipsbridge/sb_loop.h"
#include "sip_msg.h"
#include "sip_target.h"

/** Named after RFC 3261 17 (figures 5-8). */
typedef enum {
	TXN_CALLING = 0,
	TXN_TRYING,
	TXN_PROCEEDING,
	TXN_COMPLETED,
	TXN_CONFIRMED,
	TXN_TERMINATED
} txn_state_e;

/** T1, T2, T4 (RFC 3261 17.1.1.1); a profile may set its own. */
typedef struct txn_timers {
	apr_interval_time_t t1; /* default 500 ms */
	apr_interval_time_t t2; /* default 4 s */
	apr_interval_time_t t4; /* default 5 s */
} txn_timers_t;

void txn_timers_default(txn_timers_t *t);

typedef struct txn_table txn_table_t;
typedef struct txn_server txn_server_t;
typedef struct txn_client txn_client_t;

/**
 * A table for the transactions of one worker: all calls below happen
 * on that worker's thread, and timers run on it. @p send is the
 * transport (a mock in unit tests).
 */
apr_status_t txn_table_create(txn_table_t **out, sb_worker_t *worker,
			      sip_send_fn send, apr_pool_t *pool);
/** Stop every timer, free every transaction. */
void txn_table_destroy(txn_table_t *table);
apr_size_t txn_table_count(const txn_table_t *table);

/** What a received request turned out to be. */
typedef enum {
	TXN_RX_NEW = 0,     /* new server transaction: the TU handles it */
	TXN_RX_RETRANSMIT,  /* absorbed; the last response was resent */
	TXN_RX_ACK_ABSORBED,/* ACK for our non-2xx final: absorbed */
	TXN_RX_ACK_2XX,     /* ACK matching no transaction: for dialogs */
	TXN_RX_CANCEL,      /* CANCEL: new transaction, *cancelled set when
			       it matches an INVITE server transaction */
	TXN_RX_MERGED       /* merged request (8.2.2.2): 482 was sent */
} txn_rx_e;

/**
 * Match a request to a server transaction (RFC 3261 17.2.3, with the
 * RFC 2543 fallback for branches without the magic cookie) or create
 * one. The request bytes are not kept: the transaction copies what it
 * needs. @p from is where responses go.
 */
apr_status_t txn_server_receive(txn_table_t *table, const sip_msg_t *req,
				const sip_target_t *from,
				const txn_timers_t *timers, txn_rx_e *what,
				txn_server_t **txn, txn_server_t **cancelled);

/**
 * Send a response through @p txn (copied; kept for retransmissions:
 * Timer G over UDP for non-2xx INVITE finals, until H or the ACK).
 * The transaction moves state as RFC 3261 figures 7 and 8 say. A 2xx to
 * an INVITE terminates the transaction (the dialog retransmits it).
 */
apr_status_t txn_server_respond(txn_server_t *txn, int status,
				const char *buf, apr_size_t len);

txn_state_e txn_server_state(const txn_server_t *txn);
/** The last status sent, 0 if none. */
int txn_server_status(const txn_server_t *txn);
/** The request's method as parsed. */
sip_method_e txn_server_method(const txn_server_t *txn);

/**
 * A client transaction ended or got a response. @p resp is NULL when it
 * timed out (status 408, Timer B/F) or the transport failed (503; e.g.
 * the flow is gone). Provisional responses come as they arrive; the
 * final one once. Not called after txn_table_destroy().
 */
typedef void (*txn_client_fn)(void *baton, const sip_msg_t *resp,
			      int status);

/**
 * Send a request (serialised in @p buf; its top Via carries our branch)
 * and run its client transaction: Timer A/E retransmissions over UDP,
 * B/F timeouts, D/K waits, and the ACK for a non-2xx final to an INVITE.
 */
apr_status_t txn_client_start(txn_table_t *table, const sip_target_t *to,
			      const char *buf, apr_size_t len,
			      const txn_timers_t *timers, txn_client_fn fn,
			      void *baton, txn_client_t **out);

/**
 * A pool that lives exactly as long as @p c: until it is reaped after its
 * last callback, or its table is destroyed (shutdown) with no callback at
 * all.  A baton the transaction owns is freed by a cleanup on it.
 */
apr_pool_t *txn_client_pool(txn_client_t *c);

/**
 * Deliver a response to its client transaction (RFC 3261 17.1.3).
 * SB_ENOTFOUND when none matches (a stray response, to be dropped).
 */
apr_status_t txn_client_receive(txn_table_t *table, const sip_msg_t *resp);

txn_state_e txn_client_state(const txn_client_t *txn);

/** The request it carries, parsed (a CANCEL is built from it). */
const sip_msg_t *txn_client_request(const txn_client_t *txn);

/** Its owner is gone: the transaction runs on but calls nobody. */
void txn_client_detach(txn_client_t *txn);

/**
 * Flow @p flow_id has closed: its pending client transactions end now
 * with (NULL, 503) rather than waiting for Timer B/F.
 */
void txn_table_flow_closed(txn_table_t *table, apr_uint64_t flow_id);

/**
 * Profile @p profile is going away (stop, restart, shutdown): every
 * transaction that sends through it ends now, so that none sends
 * through it later.  Pending client transactions end with (NULL, 503),
 * as for a closed flow; the rest, server ones included, end silently
 * (their hop is closed: nothing could leave).
 */
void txn_table_profile_gone(txn_table_t *table,
			    const struct sips_profile *profile);

#endif
