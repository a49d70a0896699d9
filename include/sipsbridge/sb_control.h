/* sb_control.h — control commands (the control socket and the CLI). */
#ifndef SB_CONTROL_H
#define SB_CONTROL_H

#include "sb_types.h"

/** Growing text buffer a command writes its reply into. */
typedef struct sb_stream sb_stream_t;

sb_stream_t *sb_stream_create(apr_pool_t *pool);
void sb_stream_printf(sb_stream_t *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_stream_write(sb_stream_t *s, const char *data, apr_size_t len);
const char *sb_stream_data(const sb_stream_t *s, apr_size_t *len);

/**
 * A command handler: @p args is the rest of the line after the command
 * name (never NULL, leading blanks trimmed). Return APR_SUCCESS, or an
 * error after writing its reason into @p out (the client shows -ERR).
 */
typedef apr_status_t (*sb_command_fn)(const char *args, sb_stream_t *out,
				      apr_pool_t *pool, void *baton);

/**
 * Add a command. @p name may hold several words ("show registrations");
 * the longest registered prefix of a line wins. Fails with APR_EEXIST.
 */
apr_status_t sb_control_register(const char *name, const char *syntax,
				 const char *help, sb_command_fn fn,
				 void *baton);
void sb_control_unregister(const char *name);

/** Run one command line; the reply goes into @p out. */
apr_status_t sb_control_execute(const char *line, sb_stream_t *out,
				apr_pool_t *pool);

#endif
