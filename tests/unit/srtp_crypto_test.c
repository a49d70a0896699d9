/* srtp_crypto_test.c — our OpenSSL primitives match libsrtp2's bit for bit. */
/*
 * The replacement is process-wide and chosen once, so libsrtp2's native
 * crypto runs in a child forked before anything is set up, with
 * SB_SRTP_NATIVE_CRYPTO=1.  The child serves batches over a socketpair:
 * one fresh session per batch, every packet protected or unprotected in
 * order.  The parent (our OpenSSL types) checks, for every suite, that
 * both produce the same bytes and that each reads the other's packets,
 * and that a forged packet fails on either side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <apr_general.h>
#include "sipsbridge/sb_srtp.h"

#define MAX_PKTS 40
#define PKT_CAP 256
#define SSRC 0x5eedf00du

typedef struct batch {
	int suite, dir, rtcp;
	unsigned flags, count;
	unsigned char key[SB_SRTP_MAX_KEY_SALT];
	struct {
		int status; /* apr_status_t of the call, in replies */
		unsigned short len;
		unsigned char data[PKT_CAP];
	} pkt[MAX_PKTS];
} batch_t;

static apr_pool_t *root;
static int native_fd = -1;
static pid_t native_pid = -1;

static const sb_srtp_suite_t all_suites[] = {
    SB_SRTP_AES_CM_128_HMAC_SHA1_80, SB_SRTP_AES_CM_128_HMAC_SHA1_32,
    SB_SRTP_AES_256_CM_HMAC_SHA1_80, SB_SRTP_AES_256_CM_HMAC_SHA1_32,
    SB_SRTP_AEAD_AES_128_GCM,	     SB_SRTP_AEAD_AES_256_GCM,
    SB_SRTP_AEAD_AES_128_GCM_8,	     SB_SRTP_AEAD_AES_256_GCM_8,
};
#define NSUITES (sizeof(all_suites) / sizeof(all_suites[0]))

/* One fresh session, every packet in order, in place. */
static void batch_run(batch_t *b, apr_pool_t *pool)
{
	sb_srtp_t *s = NULL;
	apr_size_t len;
	apr_status_t rv;
	unsigned i;

	rv = sb_srtp_create(
	    &s, (sb_srtp_suite_t)b->suite, b->key,
	    sb_srtp_suite_key_salt_len((sb_srtp_suite_t)b->suite),
	    (sb_srtp_dir_t)b->dir, b->flags, pool);
	for (i = 0; i < b->count && i < MAX_PKTS; i++) {
		len = b->pkt[i].len;
		b->pkt[i].status = rv != APR_SUCCESS
				       ? rv
				       : (b->rtcp ? sb_srtp_rtcp : sb_srtp_rtp)(
					     s, b->pkt[i].data, &len, PKT_CAP);
		if (b->pkt[i].status == APR_SUCCESS)
			b->pkt[i].len = (unsigned short)len;
	}
	if (rv == APR_SUCCESS)
		sb_srtp_destroy(s);
}

/* The child: libsrtp2's own crypto, until the parent hangs up. */
static void native_serve(int fd)
{
	batch_t *b = malloc(sizeof(*b));
	apr_pool_t *pool;
	int ok;

	setenv("SB_SRTP_NATIVE_CRYPTO", "1", 1);
	apr_initialize();
	apr_pool_create(&pool, NULL);
	ok = b && sb_srtp_global_init() == APR_SUCCESS &&
	     strcmp(sb_srtp_crypto_name(), "libsrtp2") == 0;
	/* The first reply says whether the child really runs native. */
	if (write(fd, &ok, sizeof(ok)) != sizeof(ok))
		ok = 0;
	while (ok && recv(fd, b, sizeof(*b), 0) == (ssize_t)sizeof(*b)) {
		batch_run(b, pool);
		apr_pool_clear(pool);
		if (send(fd, b, sizeof(*b), 0) != (ssize_t)sizeof(*b))
			break;
	}
	free(b);
	apr_pool_destroy(pool);
	apr_terminate();
	close(fd);
	exit(ok ? 0 : 3);
}

static void native_start(void)
{
	int sv[2], ok = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		exit(1);
	native_pid = fork();
	if (native_pid < 0)
		exit(1);
	if (native_pid == 0) {
		close(sv[0]);
		native_serve(sv[1]);
	}
	close(sv[1]);
	native_fd = sv[0];
	if (read(native_fd, &ok, sizeof(ok)) != sizeof(ok) || !ok) {
		fprintf(stderr, "srtp_crypto_test: the native child failed\n");
		exit(1);
	}
}

/* The same batch through libsrtp2's own crypto, in the child. */
static void native_run(batch_t *b)
{
	assert_int_equal(send(native_fd, b, sizeof(*b), 0), sizeof(*b));
	assert_int_equal(recv(native_fd, b, sizeof(*b), 0), sizeof(*b));
}

static void put32(unsigned char *p, apr_uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * Sequence numbers across a wrap (the ROC moves to 1), payloads of 160,
 * 1, 0 and 88 bytes; RTCP sender reports of 28 bytes.
 */
static void batch_fill(batch_t *b, sb_srtp_suite_t suite, int rtcp,
		       unsigned flags)
{
	static const unsigned sizes[] = {160, 1, 0, 88};
	unsigned i, j, seq;

	memset(b, 0, sizeof(*b));
	b->suite = suite;
	b->dir = SB_SRTP_PROTECT;
	b->rtcp = rtcp;
	b->flags = flags;
	b->count = MAX_PKTS;
	for (i = 0; i < SB_SRTP_MAX_KEY_SALT; i++)
		b->key[i] = (unsigned char)(0x11 * suite + 7 * i);
	for (i = 0; i < MAX_PKTS; i++) {
		unsigned char *p = b->pkt[i].data;

		seq = (65520 + i) & 0xffff;
		p[0] = 0x80;
		if (rtcp) {
			p[1] = 200;
			p[3] = 6;
			put32(p + 4, SSRC);
			put32(p + 8, 0xe8a1b2c3u + i);
			put32(p + 20, i);
			b->pkt[i].len = 28;
			continue;
		}
		p[2] = (unsigned char)(seq >> 8);
		p[3] = (unsigned char)seq;
		put32(p + 4, seq * 160);
		put32(p + 8, SSRC);
		for (j = 0; j < sizes[i % 4]; j++)
			p[12 + j] = (unsigned char)(j * 13 + i);
		b->pkt[i].len = (unsigned short)(12 + sizes[i % 4]);
	}
}

static batch_t *batch_new(void)
{
	batch_t *b = malloc(sizeof(*b));

	assert_non_null(b);
	return b;
}

/*
 * Ours and libsrtp2's protect to the same bytes; each unprotects the
 * other's output back to the plaintext.
 */
static void cross(sb_srtp_suite_t suite, int rtcp, unsigned flags)
{
	batch_t *plain = batch_new(), *ours = batch_new(),
		*theirs = batch_new();
	unsigned i;

	batch_fill(plain, suite, rtcp, flags);
	*ours = *plain;
	*theirs = *plain;
	batch_run(ours, root);
	native_run(theirs);
	for (i = 0; i < MAX_PKTS; i++) {
		assert_int_equal(ours->pkt[i].status, APR_SUCCESS);
		assert_int_equal(theirs->pkt[i].status, APR_SUCCESS);
		assert_true(ours->pkt[i].len > plain->pkt[i].len);
		assert_int_equal(ours->pkt[i].len, theirs->pkt[i].len);
		assert_memory_equal(ours->pkt[i].data, theirs->pkt[i].data,
				    ours->pkt[i].len);
	}
	/* Swap: libsrtp2 reads ours, we read libsrtp2's. */
	ours->dir = theirs->dir = SB_SRTP_UNPROTECT;
	native_run(ours);
	batch_run(theirs, root);
	for (i = 0; i < MAX_PKTS; i++) {
		assert_int_equal(ours->pkt[i].status, APR_SUCCESS);
		assert_int_equal(theirs->pkt[i].status, APR_SUCCESS);
		assert_int_equal(ours->pkt[i].len, plain->pkt[i].len);
		assert_int_equal(theirs->pkt[i].len, plain->pkt[i].len);
		assert_memory_equal(ours->pkt[i].data, plain->pkt[i].data,
				    plain->pkt[i].len);
		assert_memory_equal(theirs->pkt[i].data, plain->pkt[i].data,
				    plain->pkt[i].len);
	}
	free(plain);
	free(ours);
	free(theirs);
}

static void t_backend(void **state)
{
	(void)state;
	assert_string_equal(sb_srtp_crypto_name(), "openssl");
}

static void t_rtp_every_suite(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < NSUITES; i++) {
		print_message("SRTP  %s\n", sb_srtp_suite_name(all_suites[i]));
		cross(all_suites[i], 0, 0);
	}
}

static void t_rtcp_every_suite(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < NSUITES; i++) {
		print_message("SRTCP %s\n", sb_srtp_suite_name(all_suites[i]));
		cross(all_suites[i], 1, 0);
	}
}

/* RFC 4568 session parameters change what the ciphers are asked to do. */
static void t_session_params(void **state)
{
	(void)state;
	cross(SB_SRTP_AES_CM_128_HMAC_SHA1_80, 0, SB_SRTP_UNENCRYPTED_SRTP);
	cross(SB_SRTP_AES_256_CM_HMAC_SHA1_32, 1, SB_SRTP_UNENCRYPTED_SRTCP);
	cross(SB_SRTP_AEAD_AES_128_GCM, 1, SB_SRTP_UNENCRYPTED_SRTCP);
	cross(SB_SRTP_AEAD_AES_256_GCM_8, 1, SB_SRTP_UNENCRYPTED_SRTCP);
}

/* One flipped bit, in the payload or in the tag: refused by both. */
static void t_forgery_refused(void **state)
{
	batch_t *b = batch_new(), *theirs = batch_new();
	unsigned i, k, rtcp, at;

	(void)state;
	for (k = 0; k < NSUITES; k++) {
		for (rtcp = 0; rtcp < 2; rtcp++) {
			batch_fill(b, all_suites[k], (int)rtcp, 0);
			b->count = 4;
			batch_run(b, root);
			for (i = 0; i < 4; i++) {
				at = i % 2 ? b->pkt[i].len - 1u : 12u;
				b->pkt[i].data[at] ^= 0x08;
			}
			b->dir = SB_SRTP_UNPROTECT;
			*theirs = *b;
			batch_run(b, root);
			native_run(theirs);
			for (i = 0; i < 4; i++) {
				assert_int_equal(b->pkt[i].status, SB_EAUTH);
				assert_int_equal(theirs->pkt[i].status,
						 SB_EAUTH);
			}
		}
	}
	free(b);
	free(theirs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_backend),
	    cmocka_unit_test(t_rtp_every_suite),
	    cmocka_unit_test(t_rtcp_every_suite),
	    cmocka_unit_test(t_session_params),
	    cmocka_unit_test(t_forgery_refused),
	};
	int rc, status = 0;

	/* Before anything is initialised: the child must start clean.  The
	 * parent runs ours whatever the environment asked for. */
	native_start();
	unsetenv("SB_SRTP_NATIVE_CRYPTO");
	apr_initialize();
	apr_pool_create(&root, NULL);
	if (sb_srtp_global_init() != APR_SUCCESS)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	close(native_fd);
	if (waitpid(native_pid, &status, 0) != native_pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "srtp_crypto_test: the native child failed\n");
		rc = 1;
	}
	apr_pool_destroy(root);
	apr_terminate();
	return rc;
}
