/* pidfile.h — one running switch per run directory. */
#ifndef SB_PIDFILE_H
#define SB_PIDFILE_H

#include "sipsbridge/sb_types.h"

/**
 * Write our pid to @p path; fail (and log why) when the file names a
 * live process. A stale file from a crash is replaced.
 */
apr_status_t sb_pidfile_claim(const char *path);
/** Remove the file if it still holds our pid. */
void sb_pidfile_release(const char *path);

#endif
