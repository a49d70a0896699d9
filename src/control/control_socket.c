/* control_socket.c — the Unix control socket: one server thread, a client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "sipsbridge/sb_control.h"
#include "control_socket.h"

/* How long the server waits on one client for its line or to drain. */
#define SERVER_CLIENT_MS 5000
/* Accept poll period: a lost wake-up still stops the thread this fast. */
#define SERVER_POLL_MS 1000
#define SERVER_BACKLOG 16
/* "+OK" or "-ERR" and perhaps a word: longer is not our server. */
#define STATUS_LINE_MAX 64

/* One server per process, driven from the main thread. */
static struct {
	apr_pool_t *pool;   /* ours, a child of the caller's */
	apr_pool_t *parent; /* whose pre-cleanup stops us */
	apr_thread_t *thread;
	char *path;
	int listen_fd;
	int wake[2]; /* written by stop, read by the thread */
} srv = {NULL, NULL, NULL, NULL, -1, {-1, -1}};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll timeout until @p deadline (-1: none), never negative. */
static int ms_left(long long deadline)
{
	long long left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > 1000000 ? 1000000 : (int)left;
}

/*
 * Wait for @p events on @p fd until @p deadline, also watching @p stop_fd
 * (-1 for none). Returns 1 when ready, 0 on timeout, -1 when stopping or
 * on a poll error.
 */
static int fd_wait(int fd, short events, long long deadline, int stop_fd)
{
	struct pollfd pfd[2];
	int n;

	pfd[0].fd = fd;
	pfd[0].events = events;
	pfd[1].fd = stop_fd;
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		n = poll(pfd, stop_fd >= 0 ? 2 : 1, ms_left(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (stop_fd >= 0 && pfd[1].revents))
			return -1;
		return n > 0;
	}
}

/* Send all of @p data; 0, or an errno value (ETIMEDOUT, ECANCELED). */
static int fd_send_all(int fd, const char *data, apr_size_t len,
		       long long deadline, int stop_fd)
{
	ssize_t n;
	int w;

	while (len) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (apr_size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return errno;
		w = fd_wait(fd, POLLOUT, deadline, stop_fd);
		if (w <= 0)
			return w == 0 ? ETIMEDOUT : ECANCELED;
	}
	return 0;
}

/*
 * Read the request line into @p buf (NUL-terminated, newline and CR
 * dropped). A client that shuts down its side after the line without a
 * newline is served too.
 */
static apr_status_t server_read_line(int fd, char *buf, apr_size_t cap)
{
	long long deadline = now_ms() + SERVER_CLIENT_MS;
	apr_size_t len = 0;
	char *nl;
	ssize_t n;
	int w;

	for (;;) {
		if (len == cap - 1)
			return SB_ETOOBIG;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n > 0) {
			buf[len + (apr_size_t)n] = '\0';
			nl = memchr(buf + len, '\n', (apr_size_t)n);
			len += (apr_size_t)n;
			if (nl) {
				*nl = '\0';
				break;
			}
			continue;
		}
		if (n == 0) {
			if (!len)
				return APR_EOF;
			buf[len] = '\0';
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return APR_FROM_OS_ERROR(errno);
		w = fd_wait(fd, POLLIN, deadline, srv.wake[0]);
		if (w <= 0)
			return w == 0 ? APR_TIMEUP : APR_EINTR;
	}
	len = strlen(buf);
	if (len && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	return APR_SUCCESS;
}

static void server_client(int fd, apr_pool_t *pool)
{
	char line[SB_CONTROL_LINE_MAX + 1];
	const char *status, *text;
	sb_stream_t *out;
	apr_status_t rv;
	apr_size_t len;

	rv = server_read_line(fd, line, sizeof(line));
	if (rv == SB_ETOOBIG) {
		status = "-ERR\n";
		text = "-ERR request line longer than 4096 bytes\n";
		len = strlen(text);
	} else if (rv != APR_SUCCESS) {
		return; /* silent, slow or stopping: nothing to answer */
	} else {
		out = sb_stream_create(pool);
		rv = sb_control_execute(line, out, pool);
		status = rv == APR_SUCCESS ? "+OK\n" : "-ERR\n";
		text = sb_stream_data(out, &len);
	}
	if (fd_send_all(fd, status, strlen(status), now_ms() + SERVER_CLIENT_MS,
			srv.wake[0]) == 0)
		fd_send_all(fd, text, len, now_ms() + SERVER_CLIENT_MS,
			    srv.wake[0]);
}

/* The server thread: one client at a time until stop writes to wake. */
static void *APR_THREAD_FUNC server_main(apr_thread_t *thd, void *data)
{
	struct pollfd pfd[2];
	apr_pool_t *req = NULL;
	int fd;

	(void)data;
	apr_pool_create(&req, apr_thread_pool_get(thd));
	pfd[0].fd = srv.listen_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = srv.wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, SERVER_POLL_MS) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(srv.listen_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			/* Out of descriptors: pause rather than spin. */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				poll(&pfd[1], 1, 100);
			continue;
		}
		server_client(fd, req);
		close(fd);
		apr_pool_clear(req);
	}
	/*
	 * Return rather than apr_thread_exit(): its pthread_exit() unwind
	 * leaves stale ASan shadow on this deep stack. The thread's pool
	 * goes with ours in sb_control_socket_stop().
	 */
	apr_pool_destroy(req);
	return NULL;
}

static void addr_fill(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

/*
 * Make @p path free for bind: remove a socket left by a crash, but not
 * one a live switch answers on, nor a file that is not a socket.
 */
static apr_status_t server_claim_path(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) != 0) {
		e = errno;
		return e == ENOENT ? APR_SUCCESS : APR_FROM_OS_ERROR(e);
	}
	if (!S_ISSOCK(st.st_mode))
		return APR_EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return APR_FROM_OS_ERROR(errno);
	addr_fill(&sa, path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	/* EAGAIN: a full backlog, so someone is listening. */
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return APR_FROM_OS_ERROR(EADDRINUSE);
	if (e != ECONNREFUSED)
		return APR_FROM_OS_ERROR(e);
	if (unlink(path) != 0 && errno != ENOENT)
		return APR_FROM_OS_ERROR(errno);
	return APR_SUCCESS;
}

static apr_status_t server_listen(const char *path, int *out_fd)
{
	struct sockaddr_un sa;
	apr_status_t rv;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return APR_FROM_OS_ERROR(errno);
	addr_fill(&sa, path);
	/* Linux takes the new inode's mode from the socket: no 0777 window. */
	if (fchmod(fd, 0600) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rv = APR_FROM_OS_ERROR(errno);
		close(fd);
		return rv;
	}
	if (chmod(path, 0600) != 0 || listen(fd, SERVER_BACKLOG) != 0) {
		rv = APR_FROM_OS_ERROR(errno);
		close(fd);
		unlink(path);
		return rv;
	}
	*out_fd = fd;
	return APR_SUCCESS;
}

static apr_status_t server_pool_gone(void *data)
{
	(void)data;
	srv.parent = NULL; /* already unhooked by the pool */
	sb_control_socket_stop();
	return APR_SUCCESS;
}

apr_status_t sb_control_socket_start(const char *path, apr_pool_t *pool)
{
	struct sockaddr_un sa;
	apr_status_t rv;

	if (srv.pool)
		return APR_EBUSY;
	if (!path || !*path)
		return APR_EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return APR_ENAMETOOLONG;
	rv = server_claim_path(path);
	if (rv != APR_SUCCESS)
		return rv;
	if (pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK) != 0)
		return APR_FROM_OS_ERROR(errno);
	rv = server_listen(path, &srv.listen_fd);
	if (rv != APR_SUCCESS)
		goto fail;
	rv = apr_pool_create(&srv.pool, pool);
	if (rv != APR_SUCCESS)
		goto fail;
	srv.path = apr_pstrdup(srv.pool, path);
	rv = apr_thread_create(&srv.thread, NULL, server_main, NULL, srv.pool);
	if (rv != APR_SUCCESS)
		goto fail;
	/* Pre-cleanup: stop the thread before its pool (ours) goes. */
	srv.parent = pool;
	apr_pool_pre_cleanup_register(pool, NULL, server_pool_gone);
	return APR_SUCCESS;
fail:
	srv.thread = NULL;
	if (srv.listen_fd >= 0) {
		close(srv.listen_fd);
		unlink(path);
	}
	srv.listen_fd = -1;
	close(srv.wake[0]);
	close(srv.wake[1]);
	srv.wake[0] = srv.wake[1] = -1;
	if (srv.pool)
		apr_pool_destroy(srv.pool);
	srv.pool = NULL;
	return rv;
}

void sb_control_socket_stop(void)
{
	apr_status_t trv;
	ssize_t woke;

	if (!srv.pool)
		return;
	if (srv.parent)
		apr_pool_cleanup_kill(srv.parent, NULL, server_pool_gone);
	srv.parent = NULL;
	/* A full pipe would mean a wake-up is already pending. */
	woke = write(srv.wake[1], "x", 1);
	(void)woke;
	apr_thread_join(&trv, srv.thread);
	close(srv.listen_fd);
	unlink(srv.path);
	close(srv.wake[0]);
	close(srv.wake[1]);
	apr_pool_destroy(srv.pool);
	srv.pool = NULL;
	srv.thread = NULL;
	srv.path = NULL;
	srv.listen_fd = srv.wake[0] = srv.wake[1] = -1;
}

/* Connect to @p path by @p deadline: 0, or an errno value. */
static int client_connect(const char *path, long long deadline, int *out_fd)
{
	struct sockaddr_un sa;
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	addr_fill(&sa, path);
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		e = errno;
		if (e == EINTR)
			continue;
		/* EAGAIN: the one-client-at-a-time backlog is full. */
		if (e != EAGAIN) {
			close(fd);
			return e;
		}
		if (deadline >= 0 && now_ms() >= deadline) {
			close(fd);
			return ETIMEDOUT;
		}
		poll(NULL, 0, 20);
	}
	*out_fd = fd;
	return 0;
}

/* Where the reply is: before, in, or past the status line. */
typedef struct reply {
	char status[STATUS_LINE_MAX + 1];
	apr_size_t status_len;
	int body; /* status line complete */
	char last;
} reply_t;

/* Split what arrives into the status line and the body, copied to out. */
static int reply_feed(reply_t *r, const char *p, apr_size_t n, FILE *out)
{
	while (n && !r->body) {
		if (*p == '\n') {
			r->body = 1;
		} else if (r->status_len == STATUS_LINE_MAX) {
			return -1;
		} else {
			r->status[r->status_len++] = *p;
		}
		p++;
		n--;
	}
	if (n) {
		fwrite(p, 1, n, out);
		r->last = p[n - 1];
	}
	return 0;
}

/* 0 for "+OK", 1 for "-ERR", -1 for anything else. */
static int reply_code(reply_t *r)
{
	apr_size_t n = r->status_len;

	if (n && r->status[n - 1] == '\r')
		n--;
	r->status[n] = '\0';
	if (!strncmp(r->status, "+OK", 3) && (n == 3 || r->status[3] == ' '))
		return 0;
	if (!strncmp(r->status, "-ERR", 4) && (n == 4 || r->status[4] == ' '))
		return 1;
	return -1;
}

/* Read the reply until EOF: 0 done, -1 not ours, ETIMEDOUT, or errno. */
static int client_read(int fd, reply_t *r, FILE *out, long long deadline)
{
	char buf[4096];
	ssize_t n;
	int w;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (reply_feed(r, buf, (apr_size_t)n, out) < 0)
				return -1;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		/* The server closes on a line it refused to read whole. */
		if (errno == ECONNRESET && r->body)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno;
		w = fd_wait(fd, POLLIN, deadline, -1);
		if (w <= 0)
			return w == 0 ? ETIMEDOUT : errno;
	}
}

int sb_control_client(const char *path, const char *line, FILE *out, FILE *err,
		      int timeout_sec)
{
	long long deadline = -1;
	apr_size_t len = strlen(line);
	reply_t r;
	int fd = -1, e;

	if (timeout_sec > 0)
		deadline = now_ms() + (long long)timeout_sec * 1000;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (memchr(line, '\n', len)) {
		fprintf(err, "a command is one line\n");
		return 1;
	}
	e = client_connect(path, deadline, &fd);
	if (e == ETIMEDOUT)
		goto timeout;
	if (e) {
		fprintf(err, "cannot connect to %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED
			    ? " (is sipsbridge running?)"
			    : "");
		return 2;
	}
	e = fd_send_all(fd, line, len, deadline, -1);
	if (!e)
		e = fd_send_all(fd, "\n", 1, deadline, -1);
	memset(&r, 0, sizeof(r));
	/* A server that answered and closed early still has its say. */
	if (!e || e == EPIPE || e == ECONNRESET)
		e = client_read(fd, &r, out, deadline);
	close(fd);
	if (e == ETIMEDOUT)
		goto timeout;
	if (!e && !r.body && r.status_len)
		r.body = 1; /* a status line cut short of its newline */
	if (r.last && r.last != '\n')
		fputc('\n', out);
	fflush(out);
	if (e == -1 || (r.body && reply_code(&r) < 0)) {
		fprintf(err, "%s: not a sipsbridge reply\n", path);
		return 1;
	}
	if (e || !r.body) {
		fprintf(err, "%s: connection closed without a reply%s%s\n",
			path, e > 0 ? ": " : "", e > 0 ? strerror(e) : "");
		return 2;
	}
	return reply_code(&r);
timeout:
	fflush(out);
	fprintf(err, "%s: no reply within %d s\n", path, timeout_sec);
	return 3;
}
