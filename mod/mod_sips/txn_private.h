/* txn_private.h — what txn_table.c, txn_server.c and txn_client.c share. */
#ifndef SIPS_TXN_PRIVATE_H
#define SIPS_TXN_PRIVATE_H

#include <apr_hash.h>
#include "txn.h"

/* RFC 3261 8.1.1.7: a branch starting so was made by a 3261 element. */
#define TXN_MAGIC_COOKIE "z9hG4bK"
/* Longest matching key; a request needing more is refused (SB_ETOOBIG). */
#define TXN_KEY_MAX 1024

typedef struct txn_reap txn_reap_t;

/*
 * What every transaction has: its pool, its hop, its three timers and its
 * places in the table. Embedded first in txn_server and txn_client.
 */
typedef struct txn_base {
	txn_table_t *table;
	apr_pool_t *pool;
	struct txn_base *prev, *next; /* the table's list of every txn */
	struct txn_base *dead_next;   /* on the reap list once dead */
	int dead;
	sip_target_t to;
	int reliable; /* TCP or TLS: no retransmissions, no waits */
	txn_timers_t timers;
	sb_timer_t retx;    /* A, E, G */
	sb_timer_t timeout; /* B, F, H (and B again after a CANCEL) */
	sb_timer_t wait;    /* D, I, J, K */
	/* Index entries, removed when the transaction dies. */
	apr_hash_t *index;
	const char *key;
	apr_size_t key_len;
	const char *mkey; /* merged-request index (8.2.2.2) */
	apr_size_t mkey_len;
	int legacy; /* on the RFC 2543 list */
	struct txn_base *lprev, *lnext;
} txn_base_t;

struct txn_table {
	apr_pool_t *pool; /* own allocator: only this worker touches it */
	sb_worker_t *worker;
	sip_send_fn send;
	apr_hash_t *servers; /* server key -> txn_server_t */
	apr_hash_t *merge;   /* From tag, Call-ID, CSeq -> txn_server_t */
	apr_hash_t *clients; /* client key -> txn_client_t */
	txn_base_t *legacy;  /* RFC 2543 server transactions */
	txn_base_t *all;     /* every transaction not yet freed */
	txn_base_t *dead;    /* terminated, waiting for the reap task */
	txn_reap_t *reap;    /* the reap task on its way, or NULL */
	apr_size_t live;
};

/* The parts of a message matching needs, parsed once. */
typedef struct txn_msg_info {
	sip_via_t via;	    /* top Via */
	sip_str_t via_raw;  /* its text, for RFC 2543 matching */
	int rfc3261;	    /* branch with the magic cookie */
	sip_str_t from_tag; /* empty when absent */
	sip_str_t to_tag;
} txn_msg_info_t;

struct txn_server {
	txn_base_t base;
	txn_state_e state;
	sip_method_e method;
	int status;
	char *resp; /* the last response, resent on retransmissions */
	apr_size_t resp_len;
	apr_size_t resp_cap;
	apr_interval_time_t g_interval;
	/* RFC 17.2.3 fallback, kept only for requests without the cookie. */
	sip_str_t method_name; /* INVITE for INVITE, else the method */
	sip_str_t ruri, to_tag, from_tag, call_id, via;
	apr_uint32_t cseq;
	sip_str_t resp_to_tag; /* an ACK must carry it */
};

struct txn_client {
	txn_base_t base;
	txn_state_e state;
	sip_method_e method;
	char *req; /* our request, resent by Timer A / E */
	apr_size_t req_len;
	sip_msg_t *msg; /* parsed over req, for the ACK */
	char *ack;	/* the ACK to a non-2xx final, once built */
	apr_size_t ack_len;
	apr_interval_time_t interval;
	txn_client_fn fn;
	void *baton;
};

/* txn_table.c: lifetime. */
apr_status_t txn_base_create(txn_table_t *table, apr_size_t size,
			     const sip_target_t *to, const txn_timers_t *timers,
			     txn_base_t **out);
void txn_base_discard(txn_base_t *b);
void txn_base_terminate(txn_base_t *b);
void txn_base_arm(txn_base_t *b, sb_timer_t *timer, apr_interval_time_t after,
		  sb_timer_fn fn);
apr_status_t txn_base_send(txn_base_t *b, const char *buf, apr_size_t len);
apr_status_t txn_base_index(txn_base_t *b, apr_hash_t *index, const char *key,
			    apr_size_t len);
apr_status_t txn_base_index_merge(txn_base_t *b, const char *key,
				  apr_size_t len);
void txn_base_index_legacy(txn_base_t *b);
sip_str_t txn_str_dup(apr_pool_t *pool, const sip_str_t *s);

/* txn_server.c: the server half of txn_table_profile_gone. */
void txn_server_profile_gone(txn_table_t *table,
			     const struct sips_profile *profile);

/* txn_table.c: matching. */
/* Top Via only (what a response is matched by). */
apr_status_t txn_msg_via(const sip_msg_t *m, txn_msg_info_t *mi);
apr_status_t txn_msg_info(const sip_msg_t *m, txn_msg_info_t *mi);
apr_size_t txn_key_server(char *buf, const sip_str_t *method,
			  const sip_via_t *via);
apr_size_t txn_key_client(char *buf, const sip_str_t *method,
			  const sip_str_t *branch);
apr_size_t txn_key_merge(char *buf, const sip_msg_t *m,
			 const txn_msg_info_t *mi);
txn_server_t *txn_table_find_server(txn_table_t *table, const sip_msg_t *req,
				    const txn_msg_info_t *mi,
				    const sip_str_t *method, int is_ack);
txn_server_t *txn_table_find_merged(txn_table_t *table, const char *mkey,
				    apr_size_t len);
txn_client_t *txn_table_find_client(txn_table_t *table, const sip_str_t *method,
				    const sip_str_t *branch);

#endif
