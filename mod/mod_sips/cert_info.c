/* cert_info.c — subject, SANs and expiry of a certificate, as text. */
#include <time.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <apr_strings.h>
#include "cert_info.h"

static const char *name_text(X509_NAME *name, apr_pool_t *pool)
{
	BIO *bio = BIO_new(BIO_s_mem());
	const char *text = "";
	char *data;
	long len;

	if (!bio)
		return text;
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(bio, &data);
	if (len > 0)
		text = apr_pstrmemdup(pool, data, (apr_size_t)len);
	BIO_free(bio);
	return text;
}

static const char *ip_text(const ASN1_OCTET_STRING *ip, apr_pool_t *pool)
{
	const unsigned char *b = ASN1_STRING_get0_data(ip);
	int len = ASN1_STRING_length(ip);
	char buf[64];
	int i, n = 0;

	if (len == 4)
		return apr_psprintf(pool, "%u.%u.%u.%u", b[0], b[1], b[2],
				    b[3]);
	if (len != 16)
		return "?";
	for (i = 0; i < 16; i += 2)
		n += apr_snprintf(buf + n, sizeof(buf) - (apr_size_t)n,
				  i ? ":%x" : "%x", (b[i] << 8) | b[i + 1]);
	return apr_pstrdup(pool, buf);
}

static const char *sans_text(X509 *cert, apr_pool_t *pool)
{
	GENERAL_NAMES *names;
	const char *text = "";
	int i;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (!names)
		return text;
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const char *one = NULL;

		if (gn->type == GEN_DNS)
			one = apr_pstrcat(
				pool, "DNS:",
				apr_pstrmemdup(
					pool,
					(const char *)ASN1_STRING_get0_data(
						gn->d.dNSName),
					(apr_size_t)ASN1_STRING_length(
						gn->d.dNSName)),
				NULL);
		else if (gn->type == GEN_IPADD)
			one = apr_pstrcat(pool, "IP:",
					  ip_text(gn->d.iPAddress, pool), NULL);
		else if (gn->type == GEN_URI)
			one = apr_pstrcat(
				pool, "URI:",
				apr_pstrmemdup(
					pool,
					(const char *)ASN1_STRING_get0_data(
						gn->d.uniformResourceIdentifier),
					(apr_size_t)ASN1_STRING_length(
						gn->d.uniformResourceIdentifier)),
				NULL);
		if (one)
			text = apr_pstrcat(pool, text, *text ? ", " : "", one,
					   NULL);
	}
	GENERAL_NAMES_free(names);
	return text;
}

static const char *time_text(const ASN1_TIME *t, apr_pool_t *pool,
			     apr_time_t *when)
{
	struct tm tm;

	*when = 0;
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return "?";
	*when = apr_time_from_sec(timegm(&tm));
	return apr_psprintf(pool, "%04d-%02d-%02d %02d:%02d:%02d UTC",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The form `openssl x509 -serial` prints, so operators can compare. */
static const char *serial_text(X509 *cert, apr_pool_t *pool)
{
	BIO *bio = BIO_new(BIO_s_mem());
	const char *text = "?";
	char *data;
	long len;

	if (!bio)
		return text;
	if (i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert)) > 0) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0)
			text = apr_pstrmemdup(pool, data, (apr_size_t)len);
	}
	BIO_free(bio);
	return text;
}

static const char *fingerprint_text(X509 *cert, apr_pool_t *pool)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	char *text, *at;

	if (!X509_digest(cert, EVP_sha256(), md, &n) || !n)
		return "?";
	text = at = apr_palloc(pool, n * 3);
	for (i = 0; i < n; i++)
		at += apr_snprintf(at, 4, i ? ":%02X" : "%02X", md[i]);
	return text;
}

void cert_info_read(X509 *cert, apr_pool_t *pool, cert_info_t *out)
{
	out->subject = name_text(X509_get_subject_name(cert), pool);
	out->issuer = name_text(X509_get_issuer_name(cert), pool);
	out->sans = sans_text(cert, pool);
	out->serial = serial_text(cert, pool);
	out->fingerprint = fingerprint_text(cert, pool);
	out->not_after = time_text(X509_get0_notAfter(cert), pool,
				   &out->expires);
	out->not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
}

int cert_info_days_left(const cert_info_t *ci, apr_time_t now)
{
	apr_time_t day = apr_time_from_sec(86400);
	apr_time_t left = ci->expires - now;

	/* Floor, so a certificate that expired an hour ago has -1 day. */
	return (int)(left >= 0 ? left / day : -((-left + day - 1) / day));
}

static int within(const cert_info_t *ci, apr_time_t now, unsigned days)
{
	return ci->expires < now + apr_time_from_sec((apr_time_t)days * 86400);
}

int cert_info_band(const cert_info_t *ci, apr_time_t now, unsigned warn_days)
{
	if (ci->expires <= now)
		return -1;
	if (within(ci, now, 7))
		return 7;
	/* cert-warn-days is the outer band: 14 only when it lies inside. */
	if (warn_days > 14 && within(ci, now, 14))
		return 14;
	if (within(ci, now, warn_days))
		return (int)warn_days;
	return 0;
}
