/* digest.c — digest challenges, stateless nonces, response checks. */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include "digest.h"

#define SECRET_LEN 32
#define NONCE_KEY 16 /* ts(8) || random(8): names a nonce in the table */
#define NONCE_MAC 16
#define NONCE_RAW (NONCE_KEY + NONCE_MAC)
#define NONCE_B64 43 /* ceil(32 * 4 / 3), no padding */
#define OPAQUE_RAW 12
#define OPAQUE_B64 16
#define HEX_MAX (2 * EVP_MAX_MD_SIZE + 1)
/* Above any nc-value: the nonce was used without qop, so it is spent. */
#define NC_SPENT ((apr_uint64_t)1 << 32)

/* One nonce that has authenticated a request, in the ts-ordered list. */
typedef struct nonce_ent {
	unsigned char key[NONCE_KEY];
	apr_time_t ts;
	apr_uint64_t nc; /* highest nonce-count accepted */
	struct nonce_ent *prev, *next;
} nonce_ent_t;

struct digest {
	apr_pool_t *pool;
	apr_interval_time_t ttl;
	unsigned char secret[SECRET_LEN];
	char opaque[OPAQUE_B64 + 1];
	EVP_MAC *mac;
	EVP_MAC_CTX *keyed; /* initialised with secret; copied per MAC */
	/* MD5, SHA-256 fetched once: EVP_md5() would make OpenSSL 3 look
	 * the implementation up again at every EVP_DigestInit_ex. */
	EVP_MD *md[2];
	apr_thread_mutex_t *lock;
	/* Under lock. */
	apr_time_t last_ts; /* timestamps issued strictly increase */
	apr_hash_t *seen;   /* key -> nonce_ent_t */
	nonce_ent_t *oldest, *newest;
	nonce_ent_t *spare; /* removed entries, reused: memory stays bounded */
	apr_size_t count, max;
	/*
	 * The newest ts of any entry removed (expired or evicted). A nonce
	 * at or below it that is not in the table may have been accepted
	 * before, so it is answered STALE rather than trusted afresh.
	 */
	apr_time_t floor;
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding (RFC 4648 5); out gets 4n/3 chars + NUL. */
static void b64_encode(const unsigned char *in, apr_size_t len, char *out)
{
	apr_uint32_t acc = 0;
	int bits = 0;
	apr_size_t i;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = b64url[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		*out++ = b64url[(acc << (6 - bits)) & 63];
	*out = '\0';
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	return c == '_' ? 63 : -1;
}

/* Exactly NONCE_B64 canonical characters into NONCE_RAW bytes. */
static int nonce_decode(const sip_str_t *s, unsigned char *out)
{
	apr_uint32_t acc = 0;
	int bits = 0, v;
	apr_size_t i, n = 0;

	if (s->len != NONCE_B64)
		return -1;
	for (i = 0; i < s->len; i++) {
		if ((v = b64_value((unsigned char)s->ptr[i])) < 0)
			return -1;
		acc = (acc << 6) | (apr_uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero: one spelling per nonce. */
	return (acc & ((1u << bits) - 1)) == 0 ? 0 : -1;
}

/* The HMAC-SHA256 context every MAC starts from (EVP_MAC_CTX_dup). */
static int keyed_init(digest_t *d)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	d->keyed = EVP_MAC_CTX_new(d->mac);
	if (!d->keyed ||
	    !EVP_MAC_init(d->keyed, d->secret, sizeof(d->secret), params))
		return -1;
	return 0;
}

/* HMAC-SHA256(secret, a || b) truncated to @p outlen bytes. */
static int mac_trunc(digest_t *d, const void *a, apr_size_t alen, const char *b,
		     unsigned char *out, apr_size_t outlen)
{
	unsigned char full[EVP_MAX_MD_SIZE];
	/* A copy of the keyed template: no digest fetch, no key schedule. */
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(d->keyed);
	size_t n = 0;
	int ok;

	ok = ctx != NULL && EVP_MAC_update(ctx, a, alen) &&
	     EVP_MAC_update(ctx, (const unsigned char *)b, strlen(b)) &&
	     EVP_MAC_final(ctx, full, &n, sizeof(full)) && n >= outlen;
	EVP_MAC_CTX_free(ctx);
	if (ok)
		memcpy(out, full, outlen);
	return ok ? 0 : -1;
}

static apr_status_t digest_cleanup(void *data)
{
	digest_t *d = data;

	OPENSSL_cleanse(d->secret, sizeof(d->secret));
	EVP_MAC_CTX_free(d->keyed);
	d->keyed = NULL;
	EVP_MD_free(d->md[0]);
	EVP_MD_free(d->md[1]);
	d->md[0] = d->md[1] = NULL;
	EVP_MAC_free(d->mac);
	d->mac = NULL;
	return APR_SUCCESS;
}

apr_status_t digest_create(digest_t **out, apr_interval_time_t nonce_ttl,
			   apr_pool_t *pool)
{
	unsigned char op[OPAQUE_RAW];
	apr_pool_t *sub;
	apr_status_t rv;
	digest_t *d;

	if ((rv = apr_pool_create(&sub, pool)) != APR_SUCCESS)
		return rv;
	d = apr_pcalloc(sub, sizeof(*d));
	d->pool = sub;
	d->ttl = nonce_ttl;
	d->max = DIGEST_MAX_NONCES;
	d->seen = apr_hash_make(sub);
	apr_pool_cleanup_register(sub, d, digest_cleanup,
				  apr_pool_cleanup_null);
	rv = apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, sub);
	if (rv != APR_SUCCESS)
		goto done;
	/* The opaque is fixed per instance: a client must echo it back. */
	if ((d->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    RAND_bytes(d->secret, sizeof(d->secret)) != 1 ||
	    keyed_init(d) != 0 ||
	    (d->md[0] = EVP_MD_fetch(NULL, "MD5", NULL)) == NULL ||
	    (d->md[1] = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    mac_trunc(d, "opaque", 6, "", op, sizeof(op)) != 0) {
		rv = SB_ETLS;
		goto done;
	}
	b64_encode(op, sizeof(op), d->opaque);
	*out = d;
done:
	if (rv != APR_SUCCESS)
		apr_pool_destroy(sub);
	return rv;
}

/* Unlink @p e from list and hash, keep it for reuse; under lock. */
static void ent_remove(digest_t *d, nonce_ent_t *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		d->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		d->newest = e->prev;
	apr_hash_set(d->seen, e->key, NONCE_KEY, NULL);
	if (e->ts > d->floor)
		d->floor = e->ts;
	d->count--;
	e->next = d->spare;
	d->spare = e;
}

/* Whether a nonce issued at @p ts is past its ttl at @p now. */
static int expired(const digest_t *d, apr_time_t ts, apr_time_t now)
{
	return now > ts &&
	       (apr_uint64_t)now - (apr_uint64_t)ts > (apr_uint64_t)d->ttl;
}

/* Lazy purge of expired entries, then the bound; under lock. */
static void table_trim(digest_t *d, apr_time_t now, apr_size_t room)
{
	while (d->oldest && expired(d, d->oldest->ts, now))
		ent_remove(d, d->oldest);
	while (d->oldest && d->count + room > d->max)
		ent_remove(d, d->oldest);
}

/* Insert keeping ts order (usually at the newest end); under lock. */
static void ent_insert(digest_t *d, const unsigned char *key, apr_time_t ts,
		       apr_uint64_t nc)
{
	nonce_ent_t *e = d->spare, *at = d->newest;

	if (e)
		d->spare = e->next;
	else
		e = apr_palloc(d->pool, sizeof(*e));
	memcpy(e->key, key, NONCE_KEY);
	e->ts = ts;
	e->nc = nc;
	while (at && at->ts > ts)
		at = at->prev;
	e->prev = at;
	e->next = at ? at->next : d->oldest;
	if (e->next)
		e->next->prev = e;
	else
		d->newest = e;
	if (at)
		at->next = e;
	else
		d->oldest = e;
	apr_hash_set(d->seen, e->key, NONCE_KEY, e);
	d->count++;
}

void digest_set_max_nonces(digest_t *d, apr_size_t max)
{
	apr_thread_mutex_lock(d->lock);
	d->max = max > 0 ? max : 1;
	while (d->oldest && d->count > d->max)
		ent_remove(d, d->oldest);
	apr_thread_mutex_unlock(d->lock);
}

apr_size_t digest_nonce_count(digest_t *d)
{
	apr_size_t n;

	apr_thread_mutex_lock(d->lock);
	n = d->count;
	apr_thread_mutex_unlock(d->lock);
	return n;
}

/* The realm as a quoted-string; control characters are dropped. */
static const char *quote(apr_pool_t *pool, const char *s)
{
	char *out = apr_palloc(pool, 2 * strlen(s) + 3), *o = out;

	*o++ = '"';
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			continue;
		if (*s == '"' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

const char *digest_challenge(digest_t *d, apr_pool_t *pool, const char *realm,
			     digest_alg_e alg, int stale)
{
	unsigned char raw[NONCE_RAW];
	char nonce[NONCE_B64 + 1];
	apr_time_t ts = apr_time_now();
	int i;

	/* Unique timestamps keep "ts <= floor" exact (see struct digest). */
	apr_thread_mutex_lock(d->lock);
	if (ts <= d->last_ts)
		ts = d->last_ts + 1;
	d->last_ts = ts;
	apr_thread_mutex_unlock(d->lock);
	for (i = 0; i < 8; i++)
		raw[i] = (unsigned char)((apr_uint64_t)ts >> (56 - 8 * i));
	if (RAND_bytes(raw + 8, 8) != 1 ||
	    mac_trunc(d, raw, NONCE_KEY, realm, raw + NONCE_KEY, NONCE_MAC))
		return NULL;
	b64_encode(raw, sizeof(raw), nonce);
	return apr_psprintf(pool,
			    "Digest realm=%s, nonce=\"%s\", opaque=\"%s\", "
			    "algorithm=%s, qop=\"auth\"%s",
			    quote(pool, realm), nonce, d->opaque,
			    alg == DIGEST_ALG_SHA256 ? "SHA-256" : "MD5",
			    stale ? ", stale=true" : "");
}

/* Credentials checked and unquoted, ready to hash. */
typedef struct {
	const EVP_MD *md;
	int sess;
	int has_qop;
	apr_uint64_t nc;
	unsigned char raw[NONCE_RAW];
	apr_time_t ts;
	sip_str_t user, realm, uri, cnonce; /* point into the buffers */
	char ubuf[DIGEST_MAX_FIELD], rbuf[DIGEST_MAX_FIELD];
	char cbuf[DIGEST_MAX_FIELD], uribuf[DIGEST_MAX_URI];
	char resp[HEX_MAX]; /* the client's response, lower case */
} creds_t;

static const struct {
	const char *name;
	int sha256;
	int sess;
} algs[] = {
    {"MD5", 0, 0},
    {"MD5-sess", 0, 1},
    {"SHA-256", 1, 0},
    {"SHA-256-sess", 1, 1},
};

/* Unquote @p in into @p buf; 0 or -1 when absent or too long. */
static int field(const sip_str_t *in, char *buf, apr_size_t len, sip_str_t *out)
{
	apr_size_t n;

	if (in->ptr == NULL || sip_hdr_unquote(in, buf, len, &n) != APR_SUCCESS)
		return -1;
	*out = sip_str(buf, n);
	return 0;
}

/* nc-value = 8LHEX (RFC 7616 3.4), upper case tolerated; never zero. */
static int parse_nc(const sip_str_t *s, apr_uint64_t *nc)
{
	apr_uint64_t v = 0;
	apr_size_t i;
	int x;

	if (s->ptr == NULL || s->len != 8)
		return -1;
	for (i = 0; i < 8; i++) {
		if (!sip_parse_is((unsigned char)s->ptr[i], SIP_CC_HEX))
			return -1;
		x = s->ptr[i] <= '9' ? s->ptr[i] - '0'
				     : (s->ptr[i] | 0x20) - 'a' + 10;
		v = (v << 4) | (apr_uint64_t)x;
	}
	*nc = v;
	return v == 0 ? -1 : 0;
}

/* Algorithm, qop, nc, cnonce and the response's shape. */
static digest_result_e parse_params(const digest_t *d, const sip_auth_t *a,
				    creds_t *c)
{
	apr_size_t i, hexlen;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (a->algorithm.ptr == NULL
			? i == 0
			: sip_str_ieq(&a->algorithm, algs[i].name))
			break;
	if (i == sizeof(algs) / sizeof(algs[0]))
		return DIGEST_MALFORMED;
	c->md = d->md[algs[i].sha256 != 0];
	c->sess = algs[i].sess;
	c->has_qop = a->qop.ptr != NULL;
	if (c->has_qop) {
		if (!sip_str_ieq(&a->qop, "auth") || parse_nc(&a->nc, &c->nc) ||
		    field(&a->cnonce, c->cbuf, sizeof(c->cbuf), &c->cnonce) ||
		    c->cnonce.len == 0)
			return DIGEST_MALFORMED;
	} else if (a->nc.ptr || a->cnonce.ptr || c->sess) {
		/* RFC 2617 3.2.2: no nc or cnonce without qop. */
		return DIGEST_MALFORMED;
	}
	hexlen = 2 * (apr_size_t)EVP_MD_get_size(c->md);
	if (a->response.ptr == NULL || a->response.len != hexlen)
		return DIGEST_MALFORMED;
	for (i = 0; i < hexlen; i++) {
		if (!sip_parse_is((unsigned char)a->response.ptr[i],
				  SIP_CC_HEX))
			return DIGEST_MALFORMED;
		c->resp[i] = (char)(a->response.ptr[i] | 0x20);
	}
	c->resp[hexlen] = '\0';
	return DIGEST_OK;
}

/* Everything before hashing: shape, realm, nonce authenticity. */
static digest_result_e check_creds(digest_t *d, const sip_auth_t *a,
				   const char *realm, creds_t *c)
{
	unsigned char mac[NONCE_MAC];
	digest_result_e res;
	int i;

	if (!a->is_digest ||
	    field(&a->username, c->ubuf, sizeof(c->ubuf), &c->user) ||
	    field(&a->realm, c->rbuf, sizeof(c->rbuf), &c->realm) ||
	    field(&a->uri, c->uribuf, sizeof(c->uribuf), &c->uri) ||
	    c->uri.len == 0 || a->nonce.ptr == NULL ||
	    !sip_str_eq(&c->realm, realm))
		return DIGEST_MALFORMED;
	if ((res = parse_params(d, a, c)) != DIGEST_OK)
		return res;
	if (nonce_decode(&a->nonce, c->raw) != 0 ||
	    (a->opaque.ptr && !sip_str_eq(&a->opaque, d->opaque)))
		return DIGEST_BAD_NONCE;
	if (mac_trunc(d, c->raw, NONCE_KEY, realm, mac, sizeof(mac)) != 0 ||
	    CRYPTO_memcmp(mac, c->raw + NONCE_KEY, NONCE_MAC) != 0)
		return DIGEST_BAD_NONCE;
	c->ts = 0;
	for (i = 0; i < 8; i++)
		c->ts = (apr_time_t)(((apr_uint64_t)c->ts << 8) | c->raw[i]);
	return DIGEST_OK;
}

/* Lower-case hex of H(p[0] ":" p[1] ":" ... p[n-1]); 0 or -1. */
static int hash_hex(const EVP_MD *md, const sip_str_t *p, int n, char *hex)
{
	static const char xd[] = "0123456789abcdef";
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL);

	for (i = 0; ok && i < (unsigned)n; i++)
		ok = (i == 0 || EVP_DigestUpdate(ctx, ":", 1)) &&
		     EVP_DigestUpdate(ctx, p[i].ptr, p[i].len);
	ok = ok && EVP_DigestFinal_ex(ctx, h, &len);
	EVP_MD_CTX_free(ctx);
	for (i = 0; ok && i < len; i++) {
		hex[2 * i] = xd[h[i] >> 4];
		hex[2 * i + 1] = xd[h[i] & 15];
	}
	hex[ok ? 2 * len : 0] = '\0';
	OPENSSL_cleanse(h, sizeof(h));
	return ok ? 0 : -1;
}

/* RFC 7616 3.4.1-3.4.3: the response the client should have sent. */
static int expected(const sip_auth_t *a, const creds_t *c, const char *method,
		    const char *password, char *out)
{
	char ha1[HEX_MAX], ha2[HEX_MAX];
	sip_str_t p[6];
	int rv;

	p[0] = c->user;
	p[1] = c->realm;
	p[2] = sip_str(password, strlen(password));
	rv = hash_hex(c->md, p, 3, ha1);
	if (rv == 0 && c->sess) {
		p[0] = sip_str(ha1, strlen(ha1));
		p[1] = a->nonce;
		p[2] = c->cnonce;
		rv = hash_hex(c->md, p, 3, ha1);
	}
	p[0] = sip_str(method, strlen(method));
	p[1] = c->uri;
	rv = rv ? rv : hash_hex(c->md, p, 2, ha2);
	p[0] = sip_str(ha1, strlen(ha1));
	p[1] = a->nonce;
	if (c->has_qop) {
		p[2] = a->nc;
		p[3] = c->cnonce;
		p[4] = a->qop;
		p[5] = sip_str(ha2, strlen(ha2));
		rv = rv ? rv : hash_hex(c->md, p, 6, out);
	} else {
		p[2] = sip_str(ha2, strlen(ha2));
		rv = rv ? rv : hash_hex(c->md, p, 3, out);
	}
	OPENSSL_cleanse(ha1, sizeof(ha1));
	return rv;
}

/* Nonce-count bookkeeping for a correct, fresh response; under lock. */
static digest_result_e count_use(digest_t *d, const creds_t *c, apr_time_t now)
{
	apr_uint64_t nc = c->has_qop ? c->nc : NC_SPENT;
	nonce_ent_t *e;

	table_trim(d, now, 0);
	e = apr_hash_get(d->seen, c->raw, NONCE_KEY);
	if (e) {
		if (!c->has_qop || nc <= e->nc)
			return DIGEST_REPLAY;
		e->nc = nc;
		return DIGEST_OK;
	}
	/* Its record may have been dropped: make the client start over. */
	if (c->ts <= d->floor)
		return DIGEST_STALE;
	/* Full, and older than all: it would be the one evicted. */
	if (d->count >= d->max && c->ts < d->oldest->ts)
		return DIGEST_STALE;
	table_trim(d, now, 1);
	ent_insert(d, c->raw, c->ts, nc);
	return DIGEST_OK;
}

digest_result_e digest_verify(digest_t *d, const sip_auth_t *auth,
			      const char *method, const char *realm,
			      const char *password, apr_time_t now)
{
	char want[HEX_MAX];
	digest_result_e res;
	creds_t cr, *c = &cr;
	apr_size_t len;

	if (!d || !auth || !method || !realm || !password)
		return DIGEST_MALFORMED;
	if ((res = check_creds(d, auth, realm, c)) != DIGEST_OK)
		goto done;
	if (expected(auth, c, method, password, want) != 0) {
		res = DIGEST_MALFORMED;
		goto done;
	}
	len = strlen(want);
	if (strlen(c->resp) != len || CRYPTO_memcmp(want, c->resp, len)) {
		res = DIGEST_WRONG;
		goto done;
	}
	if (expired(d, c->ts, now)) {
		res = DIGEST_STALE;
		goto done;
	}
	apr_thread_mutex_lock(d->lock);
	res = count_use(d, c, now);
	apr_thread_mutex_unlock(d->lock);
done:
	OPENSSL_cleanse(want, sizeof(want));
	return res;
}

const char *digest_result_text(digest_result_e res)
{
	switch (res) {
	case DIGEST_OK:
		return "ok";
	case DIGEST_STALE:
		return "stale nonce";
	case DIGEST_BAD_NONCE:
		return "nonce not issued here";
	case DIGEST_REPLAY:
		return "nonce-count replayed";
	case DIGEST_WRONG:
		return "wrong response";
	case DIGEST_MALFORMED:
		return "malformed credentials";
	}
	return "unknown";
}
