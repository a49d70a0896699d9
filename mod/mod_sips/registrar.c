/* registrar.c — REGISTER (RFC 3261 10.3, RFC 5626, RFC 3327, RFC 7616). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_hash.h>
#include <apr_date.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <apr_thread_rwlock.h>
#include "sipsbridge/sb_log.h"
#include "digest.h"
#include "reg_index.h"
#include "registrar.h"
#include "sip_build.h"
#include "src_guard.h"

/*
 * Wrong answers per source and user are kept a while, in a bounded
 * table: guessing over many names or from many addresses must not grow
 * it without end. What is forgotten here the per-source block of
 * src_guard.c still counts.
 */
#define FAILURES_MAX 16384
#define FAILURES_TTL apr_time_from_sec(600)

typedef struct failure {
	unsigned n;
	apr_time_t last;
	char key[]; /* "ip user" */
} failure_t;

static struct {
	apr_thread_rwlock_t *dir_lock;
	directory_t *dir;
	apr_pool_t *dir_pool;
	apr_thread_mutex_t *fail_lock;
	apr_hash_t *failures; /* "ip user" -> failure_t (malloc) */
	apr_pool_t *pool;
} reg;

apr_status_t registrar_init(const char *db_dir, apr_pool_t *pool)
{
	char why[512];
	apr_status_t rv;

	reg.pool = pool;
	rv = apr_thread_rwlock_create(&reg.dir_lock, pool);
	if (rv == APR_SUCCESS)
		rv = apr_thread_mutex_create(&reg.fail_lock,
					     APR_THREAD_MUTEX_DEFAULT, pool);
	if (rv != APR_SUCCESS)
		return rv;
	reg.failures = apr_hash_make(pool);
	rv = reg_index_init(apr_pstrcat(pool, db_dir, "/registrations.db",
					NULL),
			    pool, why, sizeof(why));
	if (rv != APR_SUCCESS)
		sb_log(SB_LOG_ERR, "SB02402", "registrar: %s", why);
	return rv;
}

void registrar_shutdown(void)
{
	apr_hash_index_t *hi;

	reg_index_shutdown();
	if (!reg.failures)
		return;
	for (hi = apr_hash_first(reg.pool, reg.failures); hi;
	     hi = apr_hash_next(hi))
		free(apr_hash_this_val(hi));
	reg.failures = NULL;
	if (reg.dir_pool)
		apr_pool_destroy(reg.dir_pool);
	reg.dir_pool = NULL;
}

void registrar_set_directory(directory_t *dir, apr_pool_t *dir_pool)
{
	apr_pool_t *old;

	apr_thread_rwlock_wrlock(reg.dir_lock);
	old = reg.dir_pool;
	reg.dir = dir;
	reg.dir_pool = dir_pool;
	apr_thread_rwlock_unlock(reg.dir_lock);
	if (old)
		apr_pool_destroy(old);
}

/* The directory entry is copied so the lock is held briefly. */
static int user_password(const char *id, const char *domain, char *pw,
			 apr_size_t len, const char **realm, apr_pool_t *pool)
{
	const dir_user_t *u;
	int found = 0;

	apr_thread_rwlock_rdlock(reg.dir_lock);
	u = reg.dir ? directory_find(reg.dir, id, domain) : NULL;
	if (u && u->password) {
		apr_cpystrn(pw, u->password, len);
		*realm = apr_pstrdup(pool, u->domain);
		found = 1;
	}
	apr_thread_rwlock_unlock(reg.dir_lock);
	return found;
}

static int copy_var(void *rec, const char *key, const char *value)
{
	apr_table_set(rec, key, value);
	return 1;
}

const dir_user_t *registrar_user(const char *id, const char *domain,
				 apr_pool_t *pool)
{
	const dir_user_t *u;
	dir_user_t *copy = NULL;

	/* A copy made under the lock: reloadxml frees the directory. */
	apr_thread_rwlock_rdlock(reg.dir_lock);
	u = reg.dir ? directory_find(reg.dir, id, domain) : NULL;
	if (u) {
		copy = apr_pmemdup(pool, u, sizeof(*u));
		copy->id = apr_pstrdup(pool, u->id);
		copy->domain = apr_pstrdup(pool, u->domain);
		copy->password = NULL; /* callers here never need it */
		copy->dial_string = apr_pstrdup(pool, u->dial_string);
		copy->vars = apr_table_make(pool, 4);
		if (u->vars)
			/* apr_table_set copies: nothing points into the
			 * directory's pool once the lock is dropped. */
			apr_table_do(copy_var, copy->vars, u->vars, NULL);
	}
	apr_thread_rwlock_unlock(reg.dir_lock);
	return copy;
}

static void failure_drop(failure_t *f)
{
	apr_hash_set(reg.failures, f->key, APR_HASH_KEY_STRING, NULL);
	free(f);
}

/*
 * The table is full (fail_lock held): forget the stale entries, and all
 * of them if that is not enough. Amortised: one scan per FAILURES_MAX
 * new entries at worst.
 */
static void failures_trim(apr_time_t now)
{
	apr_hash_index_t *hi;
	int pass;

	for (pass = 0; pass < 2 && apr_hash_count(reg.failures) >= FAILURES_MAX;
	     pass++)
		/* Deleting the current entry keeps the iteration valid. */
		for (hi = apr_hash_first(NULL, reg.failures); hi;
		     hi = apr_hash_next(hi)) {
			failure_t *f = apr_hash_this_val(hi);

			if (pass || now - f->last > FAILURES_TTL)
				failure_drop(f);
		}
}

/* Wrong answers per source and user; returns the count after this one. */
static unsigned failure_count(const char *ip, const char *user, int add)
{
	apr_time_t now = apr_time_now();
	char key[320];
	failure_t *f;
	unsigned n = 0;

	apr_snprintf(key, sizeof(key), "%s %s", ip, user);
	apr_thread_mutex_lock(reg.fail_lock);
	f = apr_hash_get(reg.failures, key, APR_HASH_KEY_STRING);
	if (f && (add < 0 || now - f->last > FAILURES_TTL)) {
		failure_drop(f);
		f = NULL;
	}
	if (add > 0 && !f) {
		apr_size_t klen = strlen(key) + 1;

		if (apr_hash_count(reg.failures) >= FAILURES_MAX)
			failures_trim(now);
		f = calloc(1, sizeof(*f) + klen);
		if (f) {
			memcpy(f->key, key, klen);
			apr_hash_set(reg.failures, f->key, APR_HASH_KEY_STRING,
				     f);
		}
	}
	if (f && add > 0) {
		f->n++;
		f->last = now;
	}
	if (f)
		n = f->n;
	apr_thread_mutex_unlock(reg.fail_lock);
	return n;
}

typedef struct reg_req {
	sips_profile_t *p;
	txn_server_t *txn;
	const sip_msg_t *req;
	const sip_target_t *from;
	apr_pool_t *pool;
	const char *user;   /* To user */
	const char *domain; /* To host */
	const char *aor;
	const char *realm;
	int proxy; /* a call: 407, Proxy-Authenticate/-Authorization */
} reg_req_t;

static const char *slice(apr_pool_t *pool, const sip_str_t *s)
{
	return apr_pstrmemdup(pool, s->ptr ? s->ptr : "", s->len);
}

/* One WWW-Authenticate per algorithm of auth-algorithms, in order. */
static void challenge(reg_req_t *r, int stale, int status)
{
	apr_array_header_t *h = apr_array_make(r->pool, 6,
					       sizeof(const char *));
	char *algs = apr_pstrdup(r->pool, r->p->settings.auth_algorithms);
	char *alg, *state;

	for (alg = apr_strtok(algs, ", ", &state); alg;
	     alg = apr_strtok(NULL, ", ", &state)) {
		int sha = !strcasecmp(alg, "SHA-256");
		const char *value;

		if (!sha && strcasecmp(alg, "MD5"))
			continue;
		value = digest_challenge(r->p->digest, r->pool, r->realm,
					 sha ? DIGEST_ALG_SHA256
					     : DIGEST_ALG_MD5,
					 stale);
		if (!value)
			continue;
		APR_ARRAY_PUSH(h, const char *) =
			r->proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
		APR_ARRAY_PUSH(h, const char *) = value;
	}
	APR_ARRAY_PUSH(h, const char *) = NULL;
	endpoint_respond(r->txn, r->req, r->from, status, NULL,
			 (const char *const *)h->elts);
}

/* 0 when authenticated; otherwise the response has been sent. */
/*
 * The digest-uri must name the Request-URI (RFC 7616 3.4.6), so that a
 * response captured for a request elsewhere is not good here.  The same
 * text, case aside, as phones send; or the same scheme, host and port
 * without the user part, as SIPp and some gateways send.  Else 400.
 */
static int same_target(const sip_str_t *digest_uri, const sip_uri_t *ruri)
{
	sip_uri_t u;

	if (sip_uri_parse(digest_uri->ptr, digest_uri->len, &u) !=
		    APR_SUCCESS ||
	    u.scheme != ruri->scheme || u.port != ruri->port ||
	    u.host.len != ruri->host.len)
		return 0;
	return strncasecmp(u.host.ptr, ruri->host.ptr, u.host.len) == 0;
}

static int uri_matches(reg_req_t *r, const sip_auth_t *auth)
{
	const sip_str_t *ruri = &r->req->ruri_str;

	if ((auth->uri.len == ruri->len &&
	     strncasecmp(auth->uri.ptr, ruri->ptr, ruri->len) == 0) ||
	    same_target(&auth->uri, &r->req->ruri))
		return 1;
	sb_log(SB_LOG_WARNING, "SB02416",
	       "registrar: %s from %s:%d: digest uri \"%.*s\" is not the "
	       "Request-URI \"%.*s\"; 400",
	       r->aor, r->from->peer_ip, r->from->peer_port,
	       (int)(auth->uri.len > 200 ? 200 : auth->uri.len),
	       auth->uri.ptr, (int)(ruri->len > 200 ? 200 : ruri->len),
	       ruri->ptr);
	endpoint_respond(r->txn, r->req, r->from, 400, "Digest URI Mismatch",
			 NULL);
	return 0;
}

static int authenticate(reg_req_t *r)
{
	const sip_hdr_t *h = sip_hdr_find(
		r->req, r->proxy ? SIP_HDR_PROXY_AUTHORIZATION
				 : SIP_HDR_AUTHORIZATION);
	int need = r->proxy ? 407 : 401;
	char password[256];
	digest_result_e res;
	sip_auth_t auth;
	unsigned fails;

	if (!user_password(r->user, r->domain, password, sizeof(password),
			   &r->realm, r->pool)) {
		sb_log(SB_LOG_NOTICE, "SB02410",
		       "%s: %s from %s:%d: no such user; 403",
		       r->proxy ? "call" : "registrar", r->aor,
		       r->from->peer_ip, r->from->peer_port);
		/* Scanners guess names as well as passwords. */
		src_guard_auth_failed(r->p, r->from->peer_ip);
		endpoint_respond(r->txn, r->req, r->from, 403, NULL, NULL);
		return -1;
	}
	if (!h || sip_hdr_auth(&h->value, &auth) != APR_SUCCESS ||
	    !auth.is_digest) {
		challenge(r, 0, need);
		return -1;
	}
	res = digest_verify(r->p->digest, &auth,
			    r->proxy ? "INVITE" : "REGISTER", r->realm,
			    password, apr_time_now());
	OPENSSL_cleanse(password, sizeof(password));
	if (res == DIGEST_OK && sip_str_eq(&auth.username, r->user)) {
		failure_count(r->from->peer_ip, r->user, -1);
		return uri_matches(r, &auth) ? 0 : -1;
	}
	if (res == DIGEST_STALE) {
		challenge(r, 1, need);
		return -1;
	}
	fails = failure_count(r->from->peer_ip, r->user, 1);
	src_guard_auth_failed(r->p, r->from->peer_ip);
	sb_log(SB_LOG_WARNING, "SB02411",
	       "%s: authentication of %s from %s:%d failed (%s), "
	       "%u of %u",
	       r->proxy ? "call" : "registrar", r->aor, r->from->peer_ip,
	       r->from->peer_port,
	       res == DIGEST_OK ? "username differs from To"
				: digest_result_text(res),
	       fails, r->p->settings.auth_max_failures);
	if (fails >= r->p->settings.auth_max_failures) {
		failure_count(r->from->peer_ip, r->user, -1);
		endpoint_respond(r->txn, r->req, r->from, 403, NULL, NULL);
		return -1;
	}
	challenge(r, 0, need);
	return -1;
}

/* Expires of one contact: its param, the Expires header, the default. */
static apr_int64_t contact_expires(const reg_req_t *r, const sip_contact_t *c)
{
	const sip_hdr_t *h = sip_hdr_find(r->req, SIP_HDR_EXPIRES);
	apr_uint32_t secs;

	if (c->expires >= 0)
		return c->expires;
	if (h && sip_hdr_expires(&h->value, &secs) == APR_SUCCESS)
		return secs;
	return r->p->settings.reg_default_expires;
}

static const char *joined_path(const reg_req_t *r)
{
	sip_hdr_iter_t it;
	sip_str_t v;
	const char *out = "";

	sip_hdr_iter_init(&it, r->req, SIP_HDR_PATH);
	while (sip_hdr_next(&it, &v) == APR_SUCCESS)
		out = apr_pstrcat(r->pool, out, *out ? "," : "",
				  slice(r->pool, &v), NULL);
	return out;
}

/* The binding of one contact; its transport is the one it came on. */
static void fill_binding(const reg_req_t *r, reg_binding_t *b,
			 const sip_contact_t *c, apr_int64_t expires)
{
	const sip_hdr_t *ua = sip_hdr_find(r->req, SIP_HDR_USER_AGENT);

	memset(b, 0, sizeof(*b));
	b->aor = r->aor;
	b->contact = slice(r->pool, &c->addr.uri_str);
	b->instance = slice(r->pool, &c->instance);
	b->reg_id = c->reg_id > 0 ? (int)c->reg_id : 0;
	b->path = joined_path(r);
	b->call_id = slice(r->pool, &r->req->call_id);
	b->cseq = r->req->cseq;
	b->expires = apr_time_now() + apr_time_from_sec(expires);
	b->transport = r->from->transport;
	b->flow_id = r->from->transport == SIPS_TP_UDP ? 0
							: r->from->flow_id;
	b->src_ip = r->from->peer_ip;
	b->src_port = r->from->peer_port;
	b->user_agent = ua ? slice(r->pool, &ua->value) : "";
	b->profile = r->p->name;
	b->node = "local";
	b->q = c->q;
}

static int has_option(const sip_msg_t *m, sip_hdr_id_e id, const char *tag)
{
	int found = 0;

	return sip_hdr_has_token(m, id, tag, &found) == APR_SUCCESS && found;
}

/* 200 OK with every current binding (RFC 3261 10.3 step 8). */
static void reply_ok(const reg_req_t *r, int outbound)
{
	apr_array_header_t *now = reg_index_lookup(r->aor, r->pool);
	apr_array_header_t *h = apr_array_make(r->pool, 16,
					       sizeof(const char *));
	char date[APR_RFC822_DATE_LEN];
	apr_time_t t = apr_time_now();
	int i;

	for (i = 0; i < now->nelts; i++) {
		const reg_binding_t *b =
			&APR_ARRAY_IDX(now, i, reg_view_t).b;
		apr_int64_t left = apr_time_sec(b->expires - t);

		APR_ARRAY_PUSH(h, const char *) = "Contact";
		APR_ARRAY_PUSH(h, const char *) = apr_psprintf(
			r->pool, "<%s>;expires=%" APR_INT64_T_FMT "%s%s%s%s",
			b->contact, left > 0 ? left : 0,
			*b->instance ? ";+sip.instance=\"" : "", b->instance,
			*b->instance ? "\"" : "",
			b->reg_id ? apr_psprintf(r->pool, ";reg-id=%d",
						 b->reg_id)
				  : "");
	}
	apr_rfc822_date(date, t);
	APR_ARRAY_PUSH(h, const char *) = "Date";
	APR_ARRAY_PUSH(h, const char *) = apr_pstrdup(r->pool, date);
	if (outbound) {
		APR_ARRAY_PUSH(h, const char *) = "Require";
		APR_ARRAY_PUSH(h, const char *) = "outbound";
		APR_ARRAY_PUSH(h, const char *) = "Flow-Timer";
		APR_ARRAY_PUSH(h, const char *) = apr_itoa(
			r->pool, (int)r->p->settings.flow_timer);
	}
	if (has_option(r->req, SIP_HDR_SUPPORTED, "path") &&
	    *joined_path(r)) {
		APR_ARRAY_PUSH(h, const char *) = "Path";
		APR_ARRAY_PUSH(h, const char *) = joined_path(r);
	}
	APR_ARRAY_PUSH(h, const char *) = NULL;
	endpoint_respond(r->txn, r->req, r->from, 200, NULL,
			 (const char *const *)h->elts);
}

typedef struct contact_plan {
	sip_contact_t c;
	apr_int64_t expires;
} contact_plan_t;

/* Pass 1: read and check every contact before changing anything. */
static int plan_contacts(reg_req_t *r, apr_array_header_t *plan, int *star)
{
	const sips_settings_t *s = &r->p->settings;
	sip_hdr_iter_t it;
	sip_str_t v;

	*star = 0;
	sip_hdr_iter_init(&it, r->req, SIP_HDR_CONTACT);
	while (sip_hdr_next(&it, &v) == APR_SUCCESS) {
		contact_plan_t *cp = apr_array_push(plan);

		if (sip_hdr_contact(&v, &cp->c) != APR_SUCCESS) {
			endpoint_respond(r->txn, r->req, r->from, 400,
					 "Bad Contact", NULL);
			return -1;
		}
		if (cp->c.star) {
			*star = 1;
			continue;
		}
		cp->expires = contact_expires(r, &cp->c);
		if (cp->expires > 0 && cp->expires < s->reg_min_expires) {
			const char *hdrs[] = {
				"Min-Expires",
				apr_itoa(r->pool, (int)s->reg_min_expires),
				NULL
			};

			endpoint_respond(r->txn, r->req, r->from, 423, NULL,
					 hdrs);
			return -1;
		}
		if (cp->expires > s->reg_max_expires)
			cp->expires = s->reg_max_expires;
	}
	return 0;
}

/* Contact: * with Expires: 0 and nothing else (RFC 3261 10.3 step 6). */
static int remove_all(reg_req_t *r, apr_array_header_t *plan)
{
	const sip_hdr_t *h = sip_hdr_find(r->req, SIP_HDR_EXPIRES);
	apr_uint32_t secs = 1;

	if (plan->nelts != 1 || !h ||
	    sip_hdr_expires(&h->value, &secs) != APR_SUCCESS || secs != 0) {
		endpoint_respond(r->txn, r->req, r->from, 400,
				 "Contact * Needs Expires 0", NULL);
		return -1;
	}
	reg_index_flush(NULL, r->aor);
	sb_log(SB_LOG_INFO, "SB02413", "registrar: %s: all bindings removed",
	       r->aor);
	return 0;
}

static apr_status_t apply_contacts(reg_req_t *r, apr_array_header_t *plan,
				   int *outbound)
{
	int i;

	*outbound = 0;
	for (i = 0; i < plan->nelts; i++) {
		const contact_plan_t *cp =
			&APR_ARRAY_IDX(plan, i, contact_plan_t);
		reg_binding_t b;
		apr_status_t rv;
		int moved = 1;

		fill_binding(r, &b, &cp->c, cp->expires);
		if (*b.instance && b.reg_id &&
		    has_option(r->req, SIP_HDR_SUPPORTED, "outbound"))
			*outbound = 1;
		rv = cp->expires == 0 ? reg_index_remove(&b)
				      : reg_index_update(&b, &moved);
		if (rv != APR_SUCCESS && cp->expires)
			return rv;
		/* Refreshes are the bulk of the traffic: debug only. */
		sb_log(moved ? SB_LOG_INFO : SB_LOG_DEBUG, "SB02414",
		       "registrar: %s %s %s over %s flow %" APR_UINT64_T_FMT
		       " from %s:%d, expires %" APR_INT64_T_FMT "s",
		       r->aor, cp->expires ? "bound" : "unbound", b.contact,
		       flow_transport_name(r->from->transport), b.flow_id,
		       b.src_ip, b.src_port, cp->expires);
	}
	return APR_SUCCESS;
}

int registrar_authorize_call(sips_profile_t *p, txn_server_t *txn,
			     const sip_msg_t *req, const sip_target_t *from,
			     apr_pool_t *pool, const char **user,
			     const char **realm)
{
	const sip_hdr_t *fh = sip_hdr_find(req, SIP_HDR_FROM);
	sip_addr_t addr;
	reg_req_t r;

	memset(&r, 0, sizeof(r));
	r.pool = pool;
	r.p = p;
	r.txn = txn;
	r.req = req;
	r.from = from;
	r.proxy = 1;
	if (!fh || sip_hdr_addr(&fh->value, &addr) != APR_SUCCESS ||
	    !addr.uri.user.len || !addr.uri.host.len) {
		endpoint_respond(txn, req, from, 400, "Bad From", NULL);
		return -1;
	}
	r.user = slice(pool, &addr.uri.user);
	r.domain = slice(pool, &addr.uri.host);
	r.aor = apr_pstrcat(pool, r.user, "@", r.domain, NULL);
	if (authenticate(&r) != 0)
		return -1;
	*user = r.user;
	*realm = r.realm;
	return 0;
}

void registrar_register(sips_profile_t *p, txn_server_t *txn,
			const sip_msg_t *req, const sip_target_t *from)
{
	const sip_hdr_t *to = sip_hdr_find(req, SIP_HDR_TO);
	apr_array_header_t *plan;
	sip_addr_t addr;
	reg_req_t r;
	int star, outbound;

	memset(&r, 0, sizeof(r));
	if (apr_pool_create(&r.pool, NULL) != APR_SUCCESS)
		return;
	r.p = p;
	r.txn = txn;
	r.req = req;
	r.from = from;
	if (!to || sip_hdr_addr(&to->value, &addr) != APR_SUCCESS ||
	    !addr.uri.user.len || !addr.uri.host.len) {
		endpoint_respond(txn, req, from, 400, "Bad To", NULL);
		goto done;
	}
	r.user = slice(r.pool, &addr.uri.user);
	r.domain = slice(r.pool, &addr.uri.host);
	r.aor = apr_pstrcat(r.pool, r.user, "@", r.domain, NULL);
	if (authenticate(&r) != 0)
		goto done;
	/* One AOR per user whatever host the phone wrote (the realm). */
	r.aor = apr_pstrcat(r.pool, r.user, "@", r.realm, NULL);
	plan = apr_array_make(r.pool, 4, sizeof(contact_plan_t));
	if (plan_contacts(&r, plan, &star) != 0)
		goto done;
	if (star ? remove_all(&r, plan) != 0
		 : apply_contacts(&r, plan, &outbound) != APR_SUCCESS) {
		if (!star)
			endpoint_respond(txn, req, from, 500,
					 "Binding Store Failed", NULL);
		goto done;
	}
	reply_ok(&r, !star && outbound);
done:
	apr_pool_destroy(r.pool);
}
