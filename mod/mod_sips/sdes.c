/* sdes.c — SDES a=crypto values (RFC 4568 9.1): parse and print. */
#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "sdes.h"

#define TAG_DIGITS 9
#define MKI_MAX_LEN 128 /* bytes (RFC 4568 9.1 mki-length) */
/* RFC 3711 9.2: no SRTP key may protect more than 2^48 packets. */
#define LIFETIME_LOG2_MAX 48
#define B64_LEN(n) (((n) + 2) / 3 * 4)

/* A cursor over the value: [p, end). */
typedef struct {
	const char *p, *end;
} span_t;

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The token up to the next WSP (or the end); the cursor moves past it. */
static span_t token_next(span_t *s)
{
	span_t t = {s->p, s->p};

	while (t.end < s->end && !is_wsp(*t.end))
		t.end++;
	s->p = t.end;
	return t;
}

/* 1*WSP; 0 when there is none. */
static int wsp_skip(span_t *s)
{
	const char *start = s->p;

	while (s->p < s->end && is_wsp(*s->p))
		s->p++;
	return s->p > start;
}

/* 1*DIGIT at most @p max; 0 on overflow, non-digit or empty. */
static int dec_parse(const char *p, const char *end, apr_uint64_t max,
		     apr_uint64_t *out)
{
	apr_uint64_t v = 0;

	if (p == end)
		return 0;
	for (; p < end; p++) {
		if (!is_digit(*p))
			return 0;
		v = v * 10 + (apr_uint64_t)(*p - '0');
		if (v > max)
			return 0;
	}
	*out = v;
	return 1;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * RFC 4648 4 base64 into out (cap bytes); '=' padding optional since
 * peers differ, but only at the end and only to a multiple of 4.  Not
 * EVP_DecodeBlock: it skips whitespace and counts padding as data.
 */
static int b64_decode(const char *in, apr_size_t len, unsigned char *out,
		      apr_size_t cap, apr_size_t *n)
{
	apr_uint32_t acc = 0;
	apr_size_t i, pad = 0, got = 0;
	int bits = 0, v;

	while (pad < 2 && len > 0 && in[len - 1] == '=') {
		len--;
		pad++;
	}
	if (len % 4 == 1 || (pad && (len + pad) % 4 != 0))
		return 0;
	for (i = 0; i < len; i++) {
		v = b64_value(in[i]);
		if (v < 0)
			return 0;
		acc = (acc << 6) | (apr_uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (got == cap)
				return 0;
			out[got++] = (unsigned char)(acc >> bits);
		}
	}
	*n = got;
	return 1;
}

/* lifetime = ["2^"] 1*DIGIT (RFC 4568 6.1). */
static int lifetime_parse(const char *p, const char *end, apr_uint64_t *out,
			  const char **why)
{
	apr_uint64_t v;

	if (end - p >= 2 && p[0] == '2' && p[1] == '^') {
		if (!dec_parse(p + 2, end, LIFETIME_LOG2_MAX, &v)) {
			*why = "lifetime: 2^N with N over 48 or not a number";
			return 0;
		}
		*out = (apr_uint64_t)1 << v;
		return 1;
	}
	if (!dec_parse(p, end, (apr_uint64_t)1 << LIFETIME_LOG2_MAX, &v) ||
	    v == 0) {
		*why = "lifetime: not 2^N or a number from 1 to 2^48";
		return 0;
	}
	*out = v;
	return 1;
}

/* mki = mki-value ":" mki-length, the length 1..128 bytes. */
static int mki_parse(const char *p, const char *end, sdes_crypto_t *c,
		     const char **why)
{
	const char *colon = memchr(p, ':', (apr_size_t)(end - p));
	apr_uint64_t v, l;

	if (!colon || !dec_parse(colon + 1, end, MKI_MAX_LEN, &l) || l == 0) {
		*why = "MKI: value:length with length 1 to 128 expected";
		return 0;
	}
	/* A value past 32 bits, or past its own length, cannot be sent. */
	if (!dec_parse(p, colon, 0xffffffffu, &v) ||
	    (l < 4 && v >> (8 * l) != 0)) {
		*why = "MKI: value not a number that fits its length";
		return 0;
	}
	c->mki_value = (unsigned)v;
	c->mki_len = (unsigned)l;
	return 1;
}

/* key-params = "inline:" key-salt ["|" lifetime] ["|" mki]. */
static int key_parse(span_t t, sdes_crypto_t *c, const char **why)
{
	const char *bar[3], *p = t.p, *stop;
	apr_size_t nbar = 0, want = sb_srtp_suite_key_salt_len(c->suite);

	if (memchr(t.p, ';', (apr_size_t)(t.end - t.p))) {
		*why = "several keys not supported";
		return 0;
	}
	/* ABNF literals are case-insensitive (RFC 5234 2.3). */
	if (t.end - p < 7 || strncasecmp(p, "inline:", 7) != 0) {
		*why = "key method is not inline";
		return 0;
	}
	p += 7;
	for (stop = p; stop < t.end; stop++) {
		if (*stop != '|')
			continue;
		if (nbar == 2) {
			*why = "key: more than lifetime and MKI";
			return 0;
		}
		bar[nbar++] = stop;
	}
	bar[nbar] = t.end;
	if (!b64_decode(p, (apr_size_t)(bar[0] - p), c->key_salt,
			sizeof(c->key_salt), &c->key_salt_len) ||
	    c->key_salt_len != want) {
		*why = "key: not base64 of the suite's key and salt length";
		return 0;
	}
	/* With one field, a ':' tells an MKI from a lifetime. */
	if (nbar == 2)
		return lifetime_parse(bar[0] + 1, bar[1], &c->lifetime, why) &&
		       mki_parse(bar[1] + 1, bar[2], c, why);
	if (nbar == 1) {
		if (memchr(bar[0] + 1, ':', (apr_size_t)(bar[1] - bar[0] - 1)))
			return mki_parse(bar[0] + 1, bar[1], c, why);
		return lifetime_parse(bar[0] + 1, bar[1], &c->lifetime, why);
	}
	return 1;
}

static int token_is(span_t t, const char *s)
{
	apr_size_t n = strlen(s);

	return (apr_size_t)(t.end - t.p) == n && memcmp(t.p, s, n) == 0;
}

/*
 * Session parameters (RFC 4568 6.3): the three flags count; KDR,
 * FEC_ORDER, WSH and anything else (extensions) are skipped.
 */
static int params_parse(span_t *s, sdes_crypto_t *c, const char **why)
{
	const char *q;
	span_t t;

	while (wsp_skip(s) && s->p < s->end) {
		t = token_next(s);
		for (q = t.p; q < t.end; q++) {
			if ((unsigned char)*q < 0x21 ||
			    (unsigned char)*q > 0x7e) {
				*why = "session parameter: not visible ASCII";
				return 0;
			}
		}
		if (token_is(t, "UNENCRYPTED_SRTP"))
			c->flags |= SB_SRTP_UNENCRYPTED_SRTP;
		else if (token_is(t, "UNENCRYPTED_SRTCP"))
			c->flags |= SB_SRTP_UNENCRYPTED_SRTCP;
		else if (token_is(t, "UNAUTHENTICATED_SRTP"))
			c->flags |= SB_SRTP_UNAUTHENTICATED_SRTP;
	}
	return 1;
}

/* tag 1*WSP crypto-suite; suite_name points into the value. */
static int head_parse(span_t *s, sdes_crypto_t *c, const char **why)
{
	apr_uint64_t tag;
	const char *q;
	span_t t;

	t = token_next(s);
	if (t.end - t.p > TAG_DIGITS ||
	    !dec_parse(t.p, t.end, 999999999, &tag) || tag == 0) {
		*why = "tag: not a number from 1 to 999999999";
		return 0;
	}
	c->tag = (unsigned)tag;
	if (!wsp_skip(s) || s->p == s->end) {
		*why = "no crypto-suite";
		return 0;
	}
	t = token_next(s);
	for (q = t.p; q < t.end; q++) {
		if (!is_digit(*q) && *q != '_' &&
		    !((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))) {
			*why = "crypto-suite: not letters, digits and _";
			return 0;
		}
	}
	c->suite_name = t.p;
	c->suite_name_len = (apr_size_t)(t.end - t.p);
	if (!sb_srtp_suite_parse(t.p, c->suite_name_len, &c->suite))
		c->suite = SB_SRTP_NONE;
	return 1;
}

apr_status_t sdes_parse(const char *value, apr_size_t len, sdes_crypto_t *out,
			const char **why)
{
	sdes_crypto_t c;
	const char *dummy;
	span_t s, t;
	int ok = 0;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!value || !out) {
		*why = "no value";
		return SB_EMALFORMED;
	}
	memset(&c, 0, sizeof(c));
	s.p = value;
	s.end = value + len;
	if (!head_parse(&s, &c, why))
		goto done;
	/* Another suite's key-params may follow another grammar. */
	if (c.suite == SB_SRTP_NONE) {
		ok = 1;
		goto done;
	}
	if (!wsp_skip(&s) || s.p == s.end) {
		*why = "no key-params";
		goto done;
	}
	t = token_next(&s);
	ok = key_parse(t, &c, why) && params_parse(&s, &c, why);
done:
	if (ok)
		*out = c;
	OPENSSL_cleanse(&c, sizeof(c));
	return ok ? APR_SUCCESS : SB_EMALFORMED;
}

static apr_status_t wipe_cleanup(void *data)
{
	OPENSSL_cleanse(data, strlen(data));
	return APR_SUCCESS;
}

/* "2^N" when a power of two (how everyone writes it), else decimal. */
static char *lifetime_print(apr_uint64_t v, apr_pool_t *pool)
{
	int n = 0;

	if (v == 0)
		return "";
	if ((v & (v - 1)) == 0) {
		while (((apr_uint64_t)1 << n) != v)
			n++;
		return apr_psprintf(pool, "|2^%d", n);
	}
	return apr_psprintf(pool, "|%" APR_UINT64_T_FMT, v);
}

/* The suite's name as it will be printed; 0 when there is none. */
static apr_size_t print_name(const sdes_crypto_t *c, const char **name)
{
	*name = c->suite_name;
	if (*name)
		return c->suite_name_len;
	*name = sb_srtp_suite_name(c->suite);
	return *name ? strlen(*name) : 0;
}

char *sdes_print(const sdes_crypto_t *c, apr_pool_t *pool)
{
	unsigned char b64[B64_LEN(SB_SRTP_MAX_KEY_SALT) + 1];
	const char *name, *head, *tail;
	apr_size_t name_len, hlen, blen, tlen;
	char *line;

	if (!c || !pool || c->tag == 0 || c->tag > 999999999)
		return NULL;
	name_len = print_name(c, &name);
	if (name_len == 0 || c->key_salt_len == 0 ||
	    c->key_salt_len > SB_SRTP_MAX_KEY_SALT ||
	    (c->suite != SB_SRTP_NONE &&
	     c->key_salt_len != sb_srtp_suite_key_salt_len(c->suite)))
		return NULL;
	head =
	    apr_psprintf(pool, "%u %.*s inline:", c->tag, (int)name_len, name);
	tail = apr_pstrcat(
	    pool, lifetime_print(c->lifetime, pool),
	    c->mki_len ? apr_psprintf(pool, "|%u:%u", c->mki_value, c->mki_len)
		       : "",
	    (c->flags & SB_SRTP_UNENCRYPTED_SRTP) ? " UNENCRYPTED_SRTP" : "",
	    (c->flags & SB_SRTP_UNENCRYPTED_SRTCP) ? " UNENCRYPTED_SRTCP" : "",
	    (c->flags & SB_SRTP_UNAUTHENTICATED_SRTP) ? " UNAUTHENTICATED_SRTP"
						      : "",
	    NULL);
	/*
	 * The key goes straight into one buffer of the final size: a
	 * growing apr_psprintf would leave partial copies in the pool.
	 */
	blen =
	    (apr_size_t)EVP_EncodeBlock(b64, c->key_salt, (int)c->key_salt_len);
	hlen = strlen(head);
	tlen = strlen(tail);
	line = apr_palloc(pool, hlen + blen + tlen + 1);
	memcpy(line, head, hlen);
	memcpy(line + hlen, b64, blen);
	memcpy(line + hlen + blen, tail, tlen + 1);
	OPENSSL_cleanse(b64, sizeof(b64));
	apr_pool_cleanup_register(pool, line, wipe_cleanup,
				  apr_pool_cleanup_null);
	return line;
}
