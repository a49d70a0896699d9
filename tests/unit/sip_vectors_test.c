/* sip_vectors_test.c — every RFC 4475 message through the SIP parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sip_msg.h"

/* What the RFC wants of a message, decided per file (README.md). */
typedef enum {
	V_VALID,  /* parses; every key header parses on demand */
	V_PARSER, /* sip_parse_msg() says SB_EMALFORMED with .perr */
	V_HEADER  /* parses, but .hdr's own parser says SB_EMALFORMED */
} vexp_e;

typedef struct vector vector_t;
struct vector {
	const char *file;
	vexp_e expect;
	sip_perr_e perr;
	sip_hdr_id_e hdr;
	void (*extra)(const sip_msg_t *msg);
};

static void x_wsinv(const sip_msg_t *m);
static void x_intmeth(const sip_msg_t *m);
static void x_esc01(const sip_msg_t *m);
static void x_esc02(const sip_msg_t *m);
static void x_longreq(const sip_msg_t *m);
static void x_dblreq(const sip_msg_t *m);
static void x_semiuri(const sip_msg_t *m);
static void x_mpart01(const sip_msg_t *m);
static void x_noreason(const sip_msg_t *m);
static void x_unkscm(const sip_msg_t *m);
static void x_unksm2(const sip_msg_t *m);
static void x_regaut01(const sip_msg_t *m);
static void x_inv2543(const sip_msg_t *m);

static const vector_t vectors[] = {
    /* 3.1.1 valid messages */
    {"valid/wsinv", V_VALID, 0, 0, x_wsinv},
    {"valid/intmeth", V_VALID, 0, 0, x_intmeth},
    {"valid/esc01", V_VALID, 0, 0, x_esc01},
    {"valid/escnull", V_VALID, 0, 0, NULL},
    {"valid/esc02", V_VALID, 0, 0, x_esc02},
    {"valid/lwsdisp", V_VALID, 0, 0, NULL},
    {"valid/longreq", V_VALID, 0, 0, x_longreq},
    {"valid/dblreq", V_VALID, 0, 0, x_dblreq},
    {"valid/semiuri", V_VALID, 0, 0, x_semiuri},
    {"valid/transports", V_VALID, 0, 0, NULL},
    {"valid/mpart01", V_VALID, 0, 0, x_mpart01},
    {"valid/unreason", V_VALID, 0, 0, NULL},
    {"valid/noreason", V_VALID, 0, 0, x_noreason},
    /* 3.1.2 invalid messages */
    {"invalid/badinv01", V_HEADER, 0, SIP_HDR_VIA, NULL},
    {"invalid/clerr", V_PARSER, SIP_PERR_BODY_LENGTH, 0, NULL},
    {"invalid/ncl", V_PARSER, SIP_PERR_HEADER_VALUE, 0, NULL},
    {"invalid/scalar02", V_PARSER, SIP_PERR_HEADER_VALUE, 0, NULL},
    {"invalid/scalarlg", V_PARSER, SIP_PERR_HEADER_VALUE, 0, NULL},
    {"invalid/quotbal", V_HEADER, 0, SIP_HDR_TO, NULL},
    {"invalid/ltgtruri", V_PARSER, SIP_PERR_REQUEST_URI, 0, NULL},
    {"invalid/lwsruri", V_PARSER, SIP_PERR_START_LINE, 0, NULL},
    {"invalid/lwsstart", V_PARSER, SIP_PERR_START_LINE, 0, NULL},
    {"invalid/trws", V_PARSER, SIP_PERR_START_LINE, 0, NULL},
    {"invalid/escruri", V_PARSER, SIP_PERR_REQUEST_URI, 0, NULL},
    {"invalid/baddate", V_HEADER, 0, SIP_HDR_DATE, NULL},
    {"invalid/regbadct", V_HEADER, 0, SIP_HDR_CONTACT, NULL},
    {"invalid/badaspec", V_HEADER, 0, SIP_HDR_TO, NULL},
    {"invalid/baddn", V_HEADER, 0, SIP_HDR_FROM, NULL},
    {"invalid/badvers", V_PARSER, SIP_PERR_VERSION, 0, NULL},
    {"invalid/mismatch01", V_PARSER, SIP_PERR_CSEQ_METHOD, 0, NULL},
    {"invalid/mismatch02", V_PARSER, SIP_PERR_CSEQ_METHOD, 0, NULL},
    {"invalid/bigcode", V_PARSER, SIP_PERR_STATUS_CODE, 0, NULL},
    /* 3.2 transaction layer */
    {"valid/badbranch", V_VALID, 0, 0, NULL},
    /* 3.3 application layer */
    {"invalid/insuf", V_PARSER, SIP_PERR_MISSING, 0, NULL},
    {"valid/unkscm", V_VALID, 0, 0, x_unkscm},
    {"valid/novelsc", V_VALID, 0, 0, x_unkscm},
    {"valid/unksm2", V_VALID, 0, 0, x_unksm2},
    {"valid/bext01", V_VALID, 0, 0, NULL},
    {"valid/invut", V_VALID, 0, 0, NULL},
    {"valid/regaut01", V_VALID, 0, 0, x_regaut01},
    {"invalid/multi01", V_PARSER, SIP_PERR_DUPLICATE, 0, NULL},
    {"invalid/mcl01", V_PARSER, SIP_PERR_DUPLICATE, 0, NULL},
    {"valid/bcast", V_VALID, 0, 0, NULL},
    {"valid/zeromf", V_VALID, 0, 0, NULL},
    {"valid/cparam01", V_VALID, 0, 0, NULL},
    {"valid/cparam02", V_VALID, 0, 0, NULL},
    {"valid/regescrt", V_VALID, 0, 0, NULL},
    {"valid/sdp01", V_VALID, 0, 0, NULL},
    /* 3.4 backward compatibility */
    {"valid/inv2543", V_VALID, 0, 0, x_inv2543},
};

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* The file's bytes in a heap block of exactly its size (ASan sees
 * any read past the end). */
static char *load(const char *name, apr_size_t *len)
{
	const char *dir = getenv("SIP_VECTORS_DIR"), *top;
	char path[1024];
	char *buf;
	long n;
	FILE *f;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s.sip", dir, name);
	else if ((top = getenv("SB_TOP_SRCDIR")) != NULL)
		snprintf(path, sizeof(path), "%s/tests/vectors/%s.sip", top,
			 name);
	else
		snprintf(path, sizeof(path), "tests/vectors/%s.sip", name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (apr_size_t)n;
	return buf;
}

/* Run the on-demand parser of @p id on every value; first failure. */
static apr_status_t parse_all(const sip_msg_t *m, sip_hdr_id_e id, int *count)
{
	sip_hdr_iter_t it;
	sip_str_t v, t;
	sip_addr_t a;
	sip_contact_t c;
	sip_via_t via;
	sip_ctype_t ct;
	sip_auth_t au;
	apr_time_t when;
	apr_uint32_t u32;
	sip_str_t meth;
	apr_size_t sz;
	int hops;
	apr_status_t rv, prv = APR_SUCCESS;

	*count = 0;
	sip_hdr_iter_init(&it, m, id);
	while ((rv = sip_hdr_next(&it, &v)) == APR_SUCCESS) {
		(*count)++;
		switch (id) {
		case SIP_HDR_VIA:
			prv = sip_hdr_via(&v, &via);
			break;
		case SIP_HDR_TO:
		case SIP_HDR_FROM:
			prv = sip_hdr_addr(&v, &a);
			break;
		case SIP_HDR_CONTACT:
			prv = sip_hdr_contact(&v, &c);
			break;
		case SIP_HDR_ROUTE:
		case SIP_HDR_RECORD_ROUTE:
		case SIP_HDR_PATH:
			prv = sip_hdr_route(&v, &a);
			break;
		case SIP_HDR_CSEQ:
			prv = sip_hdr_cseq(&v, &u32, &meth);
			break;
		case SIP_HDR_CALL_ID:
			prv = sip_hdr_call_id(&v);
			break;
		case SIP_HDR_MAX_FORWARDS:
			prv = sip_hdr_max_forwards(&v, &hops);
			break;
		case SIP_HDR_CONTENT_LENGTH:
			prv = sip_hdr_content_length(&v, 1 << 20, &sz);
			break;
		case SIP_HDR_CONTENT_TYPE:
			prv = sip_hdr_content_type(&v, &ct);
			break;
		case SIP_HDR_EXPIRES:
			prv = sip_hdr_expires(&v, &u32);
			break;
		case SIP_HDR_DATE:
			prv = sip_hdr_date(&v, &when);
			break;
		case SIP_HDR_AUTHORIZATION:
		case SIP_HDR_PROXY_AUTHORIZATION:
		case SIP_HDR_WWW_AUTHENTICATE:
		case SIP_HDR_PROXY_AUTHENTICATE:
			prv = sip_hdr_auth(&v, &au);
			break;
		default:
			prv = sip_hdr_token(&v, &t);
			break;
		}
		if (prv != APR_SUCCESS)
			return prv;
	}
	return rv == SB_ENOTFOUND ? APR_SUCCESS : rv;
}

static const sip_hdr_id_e key_headers[] = {
    SIP_HDR_VIA,
    SIP_HDR_TO,
    SIP_HDR_FROM,
    SIP_HDR_CONTACT,
    SIP_HDR_ROUTE,
    SIP_HDR_RECORD_ROUTE,
    SIP_HDR_PATH,
    SIP_HDR_CSEQ,
    SIP_HDR_CALL_ID,
    SIP_HDR_MAX_FORWARDS,
    SIP_HDR_CONTENT_LENGTH,
    SIP_HDR_CONTENT_TYPE,
    SIP_HDR_EXPIRES,
    SIP_HDR_DATE,
    SIP_HDR_AUTHORIZATION,
    SIP_HDR_SUPPORTED,
    SIP_HDR_REQUIRE,
    SIP_HDR_PROXY_REQUIRE,
};

static void check_valid(const vector_t *v, const sip_msg_t *m)
{
	apr_size_t i;
	int n;

	for (i = 0; i < sizeof(key_headers) / sizeof(key_headers[0]); i++)
		if (parse_all(m, key_headers[i], &n) != APR_SUCCESS)
			fail_msg("%s: header %s does not parse", v->file,
				 sip_parse_hdr_name(key_headers[i]));
	assert_true(parse_all(m, SIP_HDR_VIA, &n) == APR_SUCCESS && n >= 1);
	if (v->extra != NULL)
		v->extra(m);
}

static void run_vector(const vector_t *v)
{
	sip_parse_error_t err;
	sip_msg_t *m = malloc(sizeof(*m));
	apr_size_t len;
	char *buf = load(v->file, &len);
	apr_status_t rv;
	int n;

	assert_non_null(m);
	memset(&err, 0, sizeof(err));
	rv = sip_parse_msg(m, buf, len, NULL, &err);
	switch (v->expect) {
	case V_VALID:
		if (rv != APR_SUCCESS)
			fail_msg("%s: rejected (kind %d at %lu)", v->file,
				 (int)err.kind, (unsigned long)err.offset);
		check_valid(v, m);
		break;
	case V_PARSER:
		if (rv != SB_EMALFORMED || err.kind != v->perr)
			fail_msg("%s: rv %d kind %d, want kind %d", v->file, rv,
				 (int)err.kind, (int)v->perr);
		assert_true(err.offset <= len);
		break;
	case V_HEADER:
		if (rv != APR_SUCCESS)
			fail_msg("%s: parser rejected (kind %d)", v->file,
				 (int)err.kind);
		assert_int_equal(parse_all(m, v->hdr, &n), SB_EMALFORMED);
		break;
	}
	free(buf);
	free(m);
}

static void test_all_vectors(void **state)
{
	apr_size_t i;

	(void)state;
	for (i = 0; i < NVECTORS; i++)
		run_vector(&vectors[i]);
}

/* The RFC names both From and To of baddn; Contact too in badinv01. */
static void test_second_culprits(void **state)
{
	sip_msg_t *m = malloc(sizeof(*m));
	apr_size_t len;
	char *buf;
	int n;

	(void)state;
	buf = load("invalid/baddn", &len);
	assert_int_equal(sip_parse_msg(m, buf, len, NULL, NULL), APR_SUCCESS);
	assert_int_equal(parse_all(m, SIP_HDR_TO, &n), SB_EMALFORMED);
	free(buf);
	buf = load("invalid/badinv01", &len);
	assert_int_equal(sip_parse_msg(m, buf, len, NULL, NULL), APR_SUCCESS);
	assert_int_equal(parse_all(m, SIP_HDR_CONTACT, &n), SB_EMALFORMED);
	free(buf);
	/* scalar02: every scalar is out of range, not just CSeq. */
	buf = load("invalid/scalar02", &len);
	assert_int_equal(sip_parse_msg(m, buf, len, NULL, NULL), SB_EMALFORMED);
	free(buf);
	free(m);
}

/* Framing: a complete vector frames to the parser's length, and every
 * shorter prefix asks for more; no prefix ever crashes the parser. */
static void test_prefixes(void **state)
{
	sip_msg_t *m = malloc(sizeof(*m));
	apr_size_t i, k, len, skip, flen = 0, full;
	apr_status_t frv;
	char *buf, *part;

	(void)state;
	for (i = 0; i < NVECTORS; i++) {
		buf = load(vectors[i].file, &len);
		frv = sip_parse_frame(buf, len, NULL, &skip, &flen);
		if (vectors[i].expect == V_VALID && frv == APR_SUCCESS) {
			assert_int_equal(skip, 0);
			assert_int_equal(
			    sip_parse_msg(m, buf, flen, NULL, NULL),
			    APR_SUCCESS);
			assert_int_equal(m->len, flen);
		}
		full = flen;
		for (k = 0; k < len; k++) {
			part = malloc(k + 1);
			memcpy(part, buf, k);
			/* dblreq: its REGISTER frames before the whole file. */
			if (frv == APR_SUCCESS)
				assert_int_equal(sip_parse_frame(part, k, NULL,
								 &skip, &flen),
						 k < full ? SB_EINCOMPLETE
							  : APR_SUCCESS);
			(void)sip_parse_msg(m, part, k, NULL, NULL);
			free(part);
		}
		free(buf);
	}
	free(m);
}

static sip_via_t via_n(const sip_msg_t *m, int n)
{
	sip_hdr_iter_t it;
	sip_str_t v;
	sip_via_t via;

	sip_hdr_iter_init(&it, m, SIP_HDR_VIA);
	do
		assert_int_equal(sip_hdr_next(&it, &v), APR_SUCCESS);
	while (n-- > 0);
	assert_int_equal(sip_hdr_via(&v, &via), APR_SUCCESS);
	return via;
}

static sip_addr_t addr_of(const sip_msg_t *m, sip_hdr_id_e id)
{
	sip_addr_t a;

	assert_int_equal(sip_hdr_addr(&sip_hdr_find(m, id)->value, &a),
			 APR_SUCCESS);
	return a;
}

static void x_wsinv(const sip_msg_t *m)
{
	sip_via_t v;
	sip_addr_t a;
	sip_contact_t c;
	int n;

	assert_int_equal(m->method, SIP_METHOD_INVITE);
	assert_int_equal(m->cseq, 9);
	assert_int_equal(m->cseq_method, SIP_METHOD_INVITE);
	assert_int_equal(m->body.len, 150);
	assert_int_equal(parse_all(m, SIP_HDR_VIA, &n), APR_SUCCESS);
	assert_int_equal(n, 3);
	v = via_n(m, 0);
	assert_true(sip_str_eq(&v.transport, "UDP"));
	assert_true(sip_str_eq(&v.host, "192.0.2.2"));
	assert_true(sip_str_eq(&v.branch, "390skdjuw"));
	v = via_n(m, 2);
	assert_true(sip_str_eq(&v.host, "192.168.255.111"));
	assert_true(sip_str_eq(&v.branch, "z9hG4bK30239"));
	a = addr_of(m, SIP_HDR_TO);
	assert_true(sip_str_eq(&a.tag, "1918181833n"));
	a = addr_of(m, SIP_HDR_FROM);
	assert_true(sip_str_eq(&a.tag, "98asjd8"));
	assert_true(sip_str_eq(&a.uri.user, "jdrosen"));
	assert_int_equal(
	    sip_hdr_contact(&sip_hdr_find(m, SIP_HDR_CONTACT)->value, &c),
	    APR_SUCCESS);
	assert_int_equal(c.q, 330);
	assert_non_null(sip_hdr_find(m, SIP_HDR_SUBJECT));
	assert_int_equal(sip_hdr_find(m, SIP_HDR_SUBJECT)->value.len, 0);
	assert_true(m->ruri.lr == 0 &&
		    sip_str_eq(&m->ruri.params, "unknownparam"));
}

static void x_intmeth(const sip_msg_t *m)
{
	sip_addr_t a;
	sip_str_t v;

	assert_int_equal(m->method, SIP_METHOD_OTHER);
	assert_true(sip_str_eq(&m->method_name,
			       "!interesting-Method0123456789_*+`.%indeed'~"));
	assert_true(sip_str_eq(
	    &m->ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
	assert_true(sip_str_eq(&m->ruri.password,
			       "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
	a = addr_of(m, SIP_HDR_TO);
	assert_int_equal(a.display.len, 22); /* "BEL:\. NUL:\. DEL:\." */
	a = addr_of(m, SIP_HDR_FROM);
	assert_true(sip_str_eq(&a.tag, "_token~1'+`*%!-."));
	assert_int_equal(
	    sip_hdr_param_find(&a.params, "fromParam''~+*_!.-%", &v),
	    APR_SUCCESS);
	assert_int_equal(v.len, 22);
	assert_non_null(sip_hdr_find_name(m, "extensionHeader-!.%*+_`'~"));
}

static void x_esc01(const sip_msg_t *m)
{
	sip_contact_t c;
	sip_str_t v;
	char out[64];
	apr_size_t n;

	assert_true(sip_str_eq(&m->ruri.user, "sips%3Auser%40example.com"));
	assert_int_equal(sip_uri_unescape(&m->ruri.user, out, sizeof(out), &n),
			 APR_SUCCESS);
	assert_string_equal(out, "sips:user@example.com");
	assert_int_equal(
	    sip_hdr_contact(&sip_hdr_find(m, SIP_HDR_CONTACT)->value, &c),
	    APR_SUCCESS);
	assert_int_equal(sip_uri_param(&c.addr.uri, "n%61me", &v), APR_SUCCESS);
	assert_true(sip_str_eq(&v, "v%61lue%25%34%31"));
	assert_non_null(sip_hdr_find(m, SIP_HDR_CONTENT_TYPE));
}

static void x_esc02(const sip_msg_t *m)
{
	int n;

	assert_int_equal(m->method, SIP_METHOD_OTHER);
	assert_int_equal(parse_all(m, SIP_HDR_CONTACT, &n), APR_SUCCESS);
	assert_int_equal(n, 2); /* C%6Fntact is another header */
	assert_non_null(sip_hdr_find_name(m, "C%6Fntact"));
}

static void x_longreq(const sip_msg_t *m)
{
	sip_via_t v;
	int n;

	assert_int_equal(parse_all(m, SIP_HDR_VIA, &n), APR_SUCCESS);
	assert_int_equal(n, 34);
	v = via_n(m, 33);
	assert_true(sip_str_eq(&v.received, "192.0.2.5"));
	assert_int_equal(v.branch.len, 215);
	assert_int_equal(addr_of(m, SIP_HDR_TO).uri.port, 6000);
}

static void x_dblreq(const sip_msg_t *m)
{
	assert_int_equal(m->method, SIP_METHOD_REGISTER);
	assert_int_equal(m->body.len, 0);
	assert_int_equal(m->len, 300); /* the INVITE behind it is dropped */
}

static void x_semiuri(const sip_msg_t *m)
{
	assert_true(sip_str_eq(&m->ruri.user, "user;par=u%40example.net"));
	assert_true(sip_str_eq(&m->ruri.host, "example.com"));
}

static void x_mpart01(const sip_msg_t *m)
{
	sip_ctype_t ct;
	sip_str_t b;
	apr_time_t t;

	assert_int_equal(m->body.len, 553);
	assert_int_equal(
	    sip_hdr_content_type(&sip_hdr_find(m, SIP_HDR_CONTENT_TYPE)->value,
				 &ct),
	    APR_SUCCESS);
	assert_int_equal(sip_hdr_param_find(&ct.params, "boundary", &b),
			 APR_SUCCESS);
	assert_true(sip_str_eq(&b, "7a9cbec02ceef655"));
	assert_int_equal(
	    sip_hdr_date(&sip_hdr_find(m, SIP_HDR_DATE)->value, &t),
	    APR_SUCCESS);
	assert_true(t == APR_TIME_C(1129351496) * APR_USEC_PER_SEC);
	assert_int_equal(via_n(m, 0).rport, 0);
}

static void x_noreason(const sip_msg_t *m)
{
	assert_false(m->is_request);
	assert_int_equal(m->status, 100);
	assert_int_equal(m->reason.len, 0);
}

static void x_unkscm(const sip_msg_t *m)
{
	assert_int_equal(m->ruri.scheme, SIP_URI_OTHER);
}

static void x_unksm2(const sip_msg_t *m)
{
	assert_int_equal(addr_of(m, SIP_HDR_TO).uri.scheme, SIP_URI_OTHER);
	assert_int_equal(addr_of(m, SIP_HDR_FROM).uri.scheme, SIP_URI_OTHER);
}

static void x_regaut01(const sip_msg_t *m)
{
	sip_auth_t au;

	assert_int_equal(
	    sip_hdr_auth(&sip_hdr_find(m, SIP_HDR_AUTHORIZATION)->value, &au),
	    APR_SUCCESS);
	assert_false(au.is_digest);
	assert_true(sip_str_eq(&au.scheme, "NoOneKnowsThisScheme"));
}

static void x_inv2543(const sip_msg_t *m)
{
	assert_false(m->has_content_length);
	assert_null(sip_hdr_find(m, SIP_HDR_MAX_FORWARDS));
	assert_int_equal(via_n(m, 0).branch.len, 0);
	assert_int_equal(m->body.len, 105);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_vectors),
	    cmocka_unit_test(test_second_culprits),
	    cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
