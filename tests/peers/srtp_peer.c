/*
 * srtp_peer.c — a small SRTP phone for the interop tests: sends G.711
 * packets protected with one key, receives and unprotects with another,
 * and prints what it saw.  Built on libsrtp2 (through sb_srtp), so it can
 * run the suites no packaged phone here offers (AES-256 CM, GCM _8).
 *
 *   srtp_peer SUITE TX_KEY_B64 RX_KEY_B64 LOCAL_PORT REMOTE_IP REMOTE_PORT
 *             SECONDS
 *
 * Output: "sent N received M auth_failed A replayed R payload_ok P".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <apr_general.h>
#include <openssl/evp.h>
#include "sipsbridge/sb_srtp.h"

#define PAYLOAD 160
#define HEADER 12

static int b64_key(const char *in, unsigned char *out, apr_size_t want)
{
	unsigned char buf[128];
	int n = EVP_DecodeBlock(buf, (const unsigned char *)in,
				(int)strlen(in));
	int pad = 0;

	if (n < 0)
		return -1;
	if (strlen(in) > 1 && in[strlen(in) - 1] == '=')
		pad++;
	if (strlen(in) > 2 && in[strlen(in) - 2] == '=')
		pad++;
	if ((apr_size_t)(n - pad) != want)
		return -1;
	memcpy(out, buf, want);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An RTP packet whose payload is a pattern the receiver can check. */
static apr_size_t make_packet(unsigned char *p, unsigned seq)
{
	int i;

	p[0] = 0x80;
	p[1] = 0; /* PCMU */
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	p[4] = (unsigned char)(seq * 160 >> 24);
	p[5] = (unsigned char)(seq * 160 >> 16);
	p[6] = (unsigned char)(seq * 160 >> 8);
	p[7] = (unsigned char)(seq * 160);
	memcpy(p + 8, "\x5e\xc5\xb1\xd9", 4); /* SSRC */
	for (i = 0; i < PAYLOAD; i++)
		p[HEADER + i] = (unsigned char)(i * 7 + 3);
	return HEADER + PAYLOAD;
}

int main(int argc, char **argv)
{
	unsigned char tx_key[SB_SRTP_MAX_KEY_SALT], rx_key[SB_SRTP_MAX_KEY_SALT];
	unsigned long sent = 0, received = 0, auth = 0, replay = 0, ok = 0;
	sb_srtp_suite_t suite;
	sb_srtp_t *tx, *rx;
	struct sockaddr_in local, remote;
	apr_pool_t *pool;
	apr_size_t klen;
	double end, next;
	unsigned seq = 1;
	int fd;

	if (argc != 8) {
		fprintf(stderr, "usage: srtp_peer SUITE TX_KEY RX_KEY "
				"LOCAL_PORT REMOTE_IP REMOTE_PORT SECONDS\n");
		return 2;
	}
	apr_initialize();
	apr_pool_create(&pool, NULL);
	if (!sb_srtp_suite_parse(argv[1], strlen(argv[1]), &suite) ||
	    sb_srtp_global_init() != APR_SUCCESS) {
		fprintf(stderr, "srtp_peer: unknown suite %s\n", argv[1]);
		return 2;
	}
	klen = sb_srtp_suite_key_salt_len(suite);
	if (b64_key(argv[2], tx_key, klen) || b64_key(argv[3], rx_key, klen)) {
		fprintf(stderr, "srtp_peer: keys must be %lu bytes\n",
			(unsigned long)klen);
		return 2;
	}
	if (sb_srtp_create(&tx, suite, tx_key, klen, SB_SRTP_PROTECT, 0,
			   pool) != APR_SUCCESS ||
	    sb_srtp_create(&rx, suite, rx_key, klen, SB_SRTP_UNPROTECT, 0,
			   pool) != APR_SUCCESS) {
		fprintf(stderr, "srtp_peer: no SRTP session\n");
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&local, 0, sizeof(local));
	local.sin_family = AF_INET;
	local.sin_port = htons((unsigned short)atoi(argv[4]));
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&remote, 0, sizeof(remote));
	remote.sin_family = AF_INET;
	remote.sin_port = htons((unsigned short)atoi(argv[6]));
	inet_pton(AF_INET, argv[5], &remote.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local))) {
		fprintf(stderr, "srtp_peer: bind: %s\n", strerror(errno));
		return 1;
	}
	end = now() + atof(argv[7]);
	next = now();
	while (now() < end) {
		unsigned char buf[2048];
		struct pollfd pfd = { fd, POLLIN, 0 };
		int wait = (int)((next - now()) * 1000);

		if (wait <= 0) {
			apr_size_t len = make_packet(buf, seq++);

			if (sb_srtp_rtp(tx, buf, &len, sizeof(buf)) ==
			    APR_SUCCESS &&
			    sendto(fd, buf, len, 0, (struct sockaddr *)&remote,
				   sizeof(remote)) > 0)
				sent++;
			next += 0.02;
			continue;
		}
		if (poll(&pfd, 1, wait) == 1) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			apr_size_t len = n > 0 ? (apr_size_t)n : 0;
			apr_status_t rv;

			if (!len)
				continue;
			received++;
			rv = sb_srtp_rtp(rx, buf, &len, sizeof(buf));
			if (rv == SB_EAUTH)
				auth++;
			else if (rv == SB_EREPLAY)
				replay++;
			else if (rv == APR_SUCCESS && len > HEADER)
				ok++;
		}
	}
	printf("sent %lu received %lu auth_failed %lu replayed %lu "
	       "payload_ok %lu\n",
	       sent, received, auth, replay, ok);
	close(fd);
	apr_pool_destroy(pool);
	apr_terminate();
	return 0;
}
