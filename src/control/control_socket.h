/* control_socket.h — the control socket: server thread and client. */
#ifndef SB_CONTROL_SOCKET_H
#define SB_CONTROL_SOCKET_H

#include <stdio.h>
#include "sipsbridge/sb_types.h"

/** Longest request line the server reads, the newline included. */
#define SB_CONTROL_LINE_MAX 4096

/**
 * Listen on the Unix socket @p path (mode 0600) and serve it from one
 * thread: a client sends one line, gets "+OK" or "-ERR" on the first
 * line, then the command's text, then EOF. A stale socket file is
 * replaced; a live switch answering on @p path gives APR_EADDRINUSE.
 * Stops by itself when @p pool is destroyed.
 */
apr_status_t sb_control_socket_start(const char *path, apr_pool_t *pool);

/** Stop the thread, close and remove the socket. Safe to call twice. */
void sb_control_socket_stop(void);

/**
 * Send @p line to the switch listening on @p path and copy the reply's
 * text to @p out. Needs no APR initialisation (sipsbridge -x uses it as
 * it starts). @p timeout_sec bounds the whole exchange; 0 waits forever.
 * @return 0 on +OK, 1 on -ERR or a reply that makes no sense, 2 when
 *         the socket cannot be reached (why goes to @p err), 3 on timeout.
 */
int sb_control_client(const char *path, const char *line, FILE *out, FILE *err,
		      int timeout_sec);

#endif
