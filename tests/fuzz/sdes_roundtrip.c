/* sdes_roundtrip.c — a=crypto: parse, print, parse again, compare. */
#include <stdlib.h>
#include <string.h>
#include "sdes.h"
#include "sdes_roundtrip.h"

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

/* RFC 3711 9.2 and RFC 4568 9.1, as sdes.h promises them. */
#define LIFETIME_MAX ((apr_uint64_t)1 << 48)
#define MKI_LEN_MAX 128
#define ALL_FLAGS                                                              \
	(SB_SRTP_UNENCRYPTED_SRTP | SB_SRTP_UNENCRYPTED_SRTCP |                \
	 SB_SRTP_UNAUTHENTICATED_SRTP)

/* @p b parsed from the print of @p a: every field the same. */
static void same_crypto(const sdes_crypto_t *a, const sdes_crypto_t *b)
{
	const char *name = a->suite_name;
	apr_size_t name_len = a->suite_name_len;

	/* Without a spelling of its own, a prints the registered name. */
	if (name == NULL) {
		name = sb_srtp_suite_name(a->suite);
		name_len = strlen(name);
	}
	CHECK(a->tag == b->tag && a->suite == b->suite);
	CHECK(b->suite_name_len == name_len);
	CHECK(memcmp(b->suite_name, name, name_len) == 0);
	CHECK(a->key_salt_len == b->key_salt_len);
	CHECK(memcmp(a->key_salt, b->key_salt, a->key_salt_len) == 0);
	CHECK(a->lifetime == b->lifetime);
	CHECK(a->mki_value == b->mki_value && a->mki_len == b->mki_len);
	CHECK(a->flags == b->flags);
}

/* What a successful parse promises about its fields. */
static void check_fields(const sdes_crypto_t *c, const char *value,
			 apr_size_t len)
{
	CHECK(c->tag >= 1 && c->tag <= 999999999);
	CHECK((unsigned)c->suite < SB_SRTP_SUITE_COUNT);
	CHECK(c->suite_name != NULL && c->suite_name_len > 0);
	CHECK(c->suite_name >= value &&
	      c->suite_name + c->suite_name_len <= value + len);
	if (c->suite == SB_SRTP_NONE) {
		/* Nothing past the name is read for an unknown suite. */
		CHECK(c->key_salt_len == 0 && c->lifetime == 0);
		CHECK(c->mki_len == 0 && c->flags == 0);
		return;
	}
	CHECK(c->key_salt_len == sb_srtp_suite_key_salt_len(c->suite));
	CHECK(c->lifetime <= LIFETIME_MAX);
	CHECK(c->mki_len <= MKI_LEN_MAX);
	CHECK(c->mki_len != 0 || c->mki_value == 0);
	CHECK((c->flags & ~(unsigned)ALL_FLAGS) == 0);
}

/* Print, parse the print, print again: one fixed point. */
static void print_back(const sdes_crypto_t *c, apr_pool_t *pool)
{
	const char *why = NULL;
	sdes_crypto_t d;
	char *line, *again;

	line = sdes_print(c, pool);
	CHECK(line != NULL);
	if (sdes_parse(line, strlen(line), &d, &why) != APR_SUCCESS)
		abort();
	same_crypto(c, &d);
	again = sdes_print(&d, pool);
	CHECK(again != NULL && strcmp(line, again) == 0);
}

int sdes_roundtrip(const char *value, apr_size_t len, apr_pool_t *pool)
{
	sdes_crypto_t c, keep, canon;
	const char *why = NULL;
	apr_status_t rv;

	memset(&c, 0xa5, sizeof(c));
	keep = c;
	rv = sdes_parse(value, len, &c, &why);
	if (rv != APR_SUCCESS) {
		CHECK(rv == SB_EMALFORMED);
		CHECK(memcmp(&c, &keep, sizeof(c)) == 0);
		/* A static reason, never a piece of the line (the key). */
		CHECK(why != NULL && *why != '\0');
		CHECK(why < value || why >= value + len);
		return 0;
	}
	CHECK(why == NULL);
	check_fields(&c, value, len);
	if (c.suite == SB_SRTP_NONE) {
		/* No key to print: the printer must refuse, not invent one. */
		CHECK(sdes_print(&c, pool) == NULL);
		return 1;
	}
	print_back(&c, pool);
	/* Without the peer's spelling the printer writes the suite's own. */
	canon = c;
	canon.suite_name = NULL;
	canon.suite_name_len = 0;
	print_back(&canon, pool);
	return 1;
}
