/* srtp_cost.c — the parts of a relayed SRTP packet's cost on this machine:
 * libsrtp2's srtp_protect/srtp_unprotect of a 172-byte RTP packet (with
 * whichever libsrtp2 it was linked against), the bench phones' own SRTP
 * (srtp_lite), and the UDP syscalls a relay makes per packet.  Not a unit
 * test: it prints figures, one "key value" per line, for bench/media.
 *
 *   srtp_cost [-t seconds per figure] [-n sessions,...] [-k sockets] [-o]
 *
 * -o: sipsbridge's OpenSSL primitives (src/media/srtp_openssl_crypto.c,
 * built in) replace libsrtp2's AES-CM, AES-GCM and HMAC-SHA1 first, as
 * sipsbridge does unless SB_SRTP_NATIVE_CRYPTO=1.
 *
 * Before timing anything it checks that libsrtp2 and srtp_lite agree
 * byte for byte, across a sequence-number wrap, and exits 1 if not.
 * CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID): on loopback a
 * send also pays for the delivery into the receiving socket.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>
#include "srtp_lite.h"
#include "srtp_crypto_private.h"

#define PKT 172 /* 12 bytes of RTP header + 20 ms of G.711 */
#define CAP 256
#define VLEN 64

static double opt_seconds = 0.5;

static void die(const char *what)
{
	fprintf(stderr, "srtp_cost: %s\n", what);
	exit(1);
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_rtp(unsigned char *p, unsigned seq, unsigned ssrc)
{
	unsigned i;

	p[0] = 0x80;
	p[1] = 0;
	p[2] = (unsigned char)(seq >> 8);
	p[3] = (unsigned char)seq;
	p[4] = (unsigned char)(seq * 160 >> 24);
	p[5] = (unsigned char)(seq * 160 >> 16);
	p[6] = (unsigned char)(seq * 160 >> 8);
	p[7] = (unsigned char)(seq * 160);
	p[8] = (unsigned char)(ssrc >> 24);
	p[9] = (unsigned char)(ssrc >> 16);
	p[10] = (unsigned char)(ssrc >> 8);
	p[11] = (unsigned char)ssrc;
	for (i = 12; i < PKT; i++)
		p[i] = (unsigned char)(i * 7 + seq);
}

static srtp_t lib_session(const unsigned char *key, int protect)
{
	srtp_policy_t pol;
	srtp_t s;

	memset(&pol, 0, sizeof(pol));
	srtp_crypto_policy_set_rtp_default(&pol.rtp);
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	pol.ssrc.type = protect ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = (unsigned char *)key;
	pol.window_size = 1024; /* what sipsbridge's sb_srtp asks for */
	pol.allow_repeat_tx = 1;
	if (srtp_create(&s, &pol) != srtp_err_status_ok)
		die("srtp_create failed");
	return s;
}

/* libsrtp2 and srtp_lite must produce the same bytes and read each
 * other's, through a wrap of the sequence number (ROC 0 -> 1). */
static void cross_check(void)
{
	unsigned char key[SRTP_LITE_KEY_SALT], a[CAP], b[CAP], orig[CAP];
	srtp_t lib_tx, lib_rx;
	srtp_lite_t lite_tx, lite_rx;
	unsigned seq, n = 0;
	size_t lb;
	int la;

	RAND_bytes(key, sizeof(key));
	lib_tx = lib_session(key, 1);
	lib_rx = lib_session(key, 0);
	if (srtp_lite_init(&lite_tx, key) || srtp_lite_init(&lite_rx, key))
		die("srtp_lite_init failed");
	for (seq = 65500; seq < 65600; seq++, n++) {
		make_rtp(orig, seq & 0xffff, 0x11223344);
		memcpy(a, orig, PKT);
		memcpy(b, orig, PKT);
		la = PKT;
		lb = PKT;
		if (srtp_protect(lib_tx, a, &la) != srtp_err_status_ok ||
		    srtp_lite_protect(&lite_tx, b, &lb, CAP) != SRTP_LITE_OK)
			die("cross-check: protect failed");
		if ((size_t)la != lb || la != PKT + SRTP_LITE_TAG ||
		    memcmp(a, b, lb) != 0)
			die("cross-check: libsrtp2 and srtp_lite differ");
		/* Each reads what the other protected. */
		if (srtp_lite_unprotect(&lite_rx, a, &lb) != SRTP_LITE_OK ||
		    srtp_unprotect(lib_rx, b, &la) != srtp_err_status_ok ||
		    lb != PKT || la != PKT || memcmp(a, orig, PKT) ||
		    memcmp(b, orig, PKT))
			die("cross-check: unprotect failed");
	}
	/* A replayed packet and a flipped bit must both be refused. */
	memcpy(a, orig, PKT);
	lb = PKT;
	srtp_lite_protect(&lite_tx, a, &lb, CAP); /* same seq again */
	if (srtp_lite_unprotect(&lite_rx, a, &lb) != SRTP_LITE_EREPLAY)
		die("cross-check: replay not detected");
	make_rtp(orig, 70, 0x11223344);
	lb = PKT;
	srtp_lite_protect(&lite_tx, orig, &lb, CAP);
	orig[40] ^= 1;
	if (srtp_lite_unprotect(&lite_rx, orig, &lb) != SRTP_LITE_EAUTH)
		die("cross-check: a forged packet passed");
	srtp_dealloc(lib_tx);
	srtp_dealloc(lib_rx);
	srtp_lite_free(&lite_tx);
	srtp_lite_free(&lite_rx);
	printf("cross_check_packets %u\n", n);
}

/* Which libsrtp2 and which crypto library this process loaded. */
static int backend_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	const char **found = data;

	(void)size;
	if (strstr(info->dlpi_name, "libnss3"))
		found[0] = "nss";
	if (strstr(info->dlpi_name, "libcrypto"))
		found[1] = "openssl";
	return 0;
}

static void print_library(void)
{
	const char *found[2] = {NULL, NULL};
	Dl_info di;

	dl_iterate_phdr(backend_cb, found);
	if (dladdr((void *)srtp_protect, &di) && di.dli_fname)
		printf("libsrtp2_path %s\n", di.dli_fname);
	printf("libsrtp2_version %s\n", srtp_get_version_string());
	/* srtp_lite loads libcrypto in any case: NSS decides. */
	printf("libsrtp2_crypto %s\n", found[0] ? "nss" : "openssl");
}

/* ns per protect (and per unprotect) of one 172-byte packet, spread
 * round-robin over @p n sessions, as a relay thread serves its streams. */
static void time_libsrtp(unsigned n)
{
	srtp_t *tx = calloc(n, sizeof(*tx)), *rx = calloc(n, sizeof(*rx));
	srtp_t *tx2 = calloc(n, sizeof(*tx2));
	unsigned char key[SRTP_LITE_KEY_SALT], p[CAP];
	unsigned long ops = 0, both = 0, i, seq = 1;
	double t0, t1, prot, pair;
	int len;

	/* tx2 starts where rx does: tx's rollover counter has moved on. */
	for (i = 0; i < n; i++) {
		RAND_bytes(key, sizeof(key));
		tx[i] = lib_session(key, 1);
		tx2[i] = lib_session(key, 1);
		rx[i] = lib_session(key, 0);
	}
	t0 = cpu_now();
	do {
		for (i = 0; i < n; i++, ops++) {
			make_rtp(p, (unsigned)seq, (unsigned)i);
			len = PKT;
			if (srtp_protect(tx[i], p, &len) != srtp_err_status_ok)
				die("srtp_protect failed");
		}
		seq++;
	} while ((t1 = cpu_now()) - t0 < opt_seconds);
	prot = (t1 - t0) / ops * 1e9;
	seq = 1;
	t0 = cpu_now();
	do {
		for (i = 0; i < n; i++, both++) {
			make_rtp(p, (unsigned)seq, (unsigned)i);
			len = PKT;
			if (srtp_protect(tx2[i], p, &len) !=
				srtp_err_status_ok ||
			    srtp_unprotect(rx[i], p, &len) !=
				srtp_err_status_ok)
				die("srtp_unprotect failed");
		}
		seq++;
	} while ((t1 = cpu_now()) - t0 < opt_seconds);
	pair = (t1 - t0) / both * 1e9;
	printf("libsrtp2_protect_ns sessions=%u %.0f\n", n, prot);
	printf("libsrtp2_unprotect_ns sessions=%u %.0f\n", n, pair - prot);
	for (i = 0; i < n; i++) {
		srtp_dealloc(tx[i]);
		srtp_dealloc(tx2[i]);
		srtp_dealloc(rx[i]);
	}
	free(tx);
	free(tx2);
	free(rx);
}

static void time_lite(unsigned n)
{
	srtp_lite_t *tx = calloc(n, sizeof(*tx));
	unsigned char key[SRTP_LITE_KEY_SALT], p[CAP];
	unsigned long ops = 0, i, seq = 1;
	double t0, t1;
	size_t len;

	for (i = 0; i < n; i++) {
		RAND_bytes(key, sizeof(key));
		if (srtp_lite_init(&tx[i], key))
			die("srtp_lite_init failed");
	}
	t0 = cpu_now();
	do {
		for (i = 0; i < n; i++, ops++) {
			make_rtp(p, (unsigned)seq, (unsigned)i);
			len = PKT;
			srtp_lite_protect(&tx[i], p, &len, CAP);
		}
		seq++;
	} while ((t1 = cpu_now()) - t0 < opt_seconds);
	printf("srtp_lite_protect_ns sessions=%u %.0f\n", n,
	       (t1 - t0) / ops * 1e9);
	for (i = 0; i < n; i++)
		srtp_lite_free(&tx[i]);
	free(tx);
}

static int udp_socket(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 8 << 20;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, len) ||
	    getsockname(fd, (struct sockaddr *)a, &len))
		die("udp socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

/* One sendto and one recv of a 172-byte datagram on loopback, each. */
static void time_syscalls(void)
{
	struct sockaddr_in sa, ra;
	int s = udp_socket(&sa), r = udp_socket(&ra), j;
	unsigned char p[CAP];
	unsigned long n = 0;
	double ts = 0, tr = 0, t0, t1;

	memset(p, 0xd5, sizeof(p));
	while (ts + tr < 2 * opt_seconds) {
		t0 = cpu_now();
		for (j = 0; j < VLEN; j++)
			if (sendto(s, p, PKT, 0, (struct sockaddr *)&ra,
				   sizeof(ra)) != PKT)
				die("sendto");
		t1 = cpu_now();
		ts += t1 - t0;
		for (j = 0; j < VLEN; j++)
			if (recv(r, p, sizeof(p), 0) != PKT)
				die("recv");
		tr += cpu_now() - t1;
		n += VLEN;
	}
	printf("udp_sendto_ns %.0f\n", ts / n * 1e9);
	printf("udp_recv_ns %.0f\n", tr / n * 1e9);
	close(s);
	close(r);
}

/* The sink of time_relay when @p awake: a thread that sleeps in poll
 * until a packet comes, as a phone or the next hop does; the relay then
 * pays for waking it. */
static volatile int sink_stop;

static void *sink_main(void *arg)
{
	struct pollfd pfd = {*(int *)arg, POLLIN, 0};
	unsigned char buf[CAP];

	while (!sink_stop)
		if (poll(&pfd, 1, 100) > 0)
			while (recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
				;
	return NULL;
}

/*
 * A relay's loop without SRTP: @p k sockets in one epoll set, one packet
 * waiting on each; epoll_wait, then per ready socket one recvmmsg and
 * one sendmmsg of that packet to another socket, as sipsbridge's relay
 * does with one packet per stream per wakeup.  Only the relay part is
 * timed; the driver's sends and the sink's drain are not.  @p awake: the
 * sink is another thread asleep in poll (relay_loop_wake_ns), else it is
 * drained between rounds by this one (relay_loop_ns).
 */
static void time_relay(unsigned k, int awake)
{
	struct sockaddr_in *addr = calloc(k, sizeof(*addr)), da, sa;
	int *fd = calloc(k, sizeof(*fd)), ep = epoll_create1(0);
	int drv = udp_socket(&da), sink = udp_socket(&sa), got, i, left;
	struct epoll_event ev = {.events = EPOLLIN}, evs[VLEN];
	unsigned char buf[CAP], p[CAP];
	struct iovec iov = {buf, sizeof(buf)};
	struct mmsghdr mh;
	unsigned long n = 0;
	double t = 0, t0;
	pthread_t sink_thread;
	unsigned j;

	sink_stop = 0;
	if (awake && pthread_create(&sink_thread, NULL, sink_main, &sink))
		die("pthread_create");
	memset(p, 0xd5, sizeof(p));
	for (j = 0; j < k; j++) {
		fd[j] = udp_socket(&addr[j]);
		ev.data.u32 = j;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd[j], &ev))
			die("epoll_ctl");
	}
	while (t < 2 * opt_seconds) {
		for (j = 0; j < k; j++)
			sendto(drv, p, PKT, 0, (struct sockaddr *)&addr[j],
			       sizeof(addr[j]));
		t0 = cpu_now();
		for (left = (int)k; left > 0; left -= got) {
			got = epoll_wait(ep, evs, VLEN, 1000);
			if (got <= 0)
				die("epoll_wait");
			for (i = 0; i < got; i++) {
				memset(&mh, 0, sizeof(mh));
				mh.msg_hdr.msg_iov = &iov;
				mh.msg_hdr.msg_iovlen = 1;
				if (recvmmsg(fd[evs[i].data.u32], &mh, 1,
					     MSG_DONTWAIT, NULL) != 1)
					die("recvmmsg");
				iov.iov_len = mh.msg_len;
				mh.msg_hdr.msg_name = &sa;
				mh.msg_hdr.msg_namelen = sizeof(sa);
				if (sendmmsg(fd[evs[i].data.u32], &mh, 1,
					     MSG_DONTWAIT) != 1)
					die("sendmmsg");
				iov.iov_len = sizeof(buf);
			}
		}
		t += cpu_now() - t0;
		n += k;
		while (!awake && recv(sink, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	}
	if (awake) {
		sink_stop = 1;
		pthread_join(sink_thread, NULL);
	}
	printf("%s sockets=%u %.0f\n",
	       awake ? "relay_loop_wake_ns" : "relay_loop_ns", k, t / n * 1e9);
	for (j = 0; j < k; j++)
		close(fd[j]);
	close(ep);
	close(drv);
	close(sink);
	free(fd);
	free(addr);
}

int main(int argc, char **argv)
{
	char list[256] = "1,100,300,1000", *tok, *save = NULL;
	unsigned sockets = 600;
	int c, ours = 0;

	while ((c = getopt(argc, argv, "t:n:k:o")) != -1) {
		if (c == 't')
			opt_seconds = atof(optarg);
		else if (c == 'n')
			snprintf(list, sizeof(list), "%s", optarg);
		else if (c == 'k')
			sockets = (unsigned)atoi(optarg);
		else if (c == 'o')
			ours = 1;
		else {
			fprintf(stderr,
				"usage: srtp_cost [-t seconds] "
				"[-n sessions,...] [-k sockets] [-o]\n");
			return 2;
		}
	}
	if (opt_seconds <= 0 || !sockets || sockets > 20000)
		die("bad arguments");
	if (srtp_init() != srtp_err_status_ok)
		die("srtp_init failed");
	if (ours && srtp_openssl_crypto_install() != SRTP_OC_ALL)
		die("sipsbridge's OpenSSL primitives failed their self-tests");
	print_library();
	printf("primitives %s\n", ours ? "sipsbridge-openssl" : "libsrtp2");
	cross_check();
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned n = (unsigned)atoi(tok);

		if (!n)
			continue;
		time_libsrtp(n);
		time_lite(n);
	}
	time_syscalls();
	time_relay(sockets, 0);
	time_relay(sockets, 1);
	return 0;
}
