/* pidfile.c — the pid file that keeps two switches off one run dir. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "sipsbridge/sb_log.h"
#include "pidfile.h"

static long pidfile_read(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

apr_status_t sb_pidfile_claim(const char *path)
{
	long other = pidfile_read(path);
	FILE *f;

	if (other > 0 && other != (long)getpid() &&
	    (kill((pid_t)other, 0) == 0 || errno == EPERM)) {
		sb_log(SB_LOG_CRIT, "SB00010",
		       "another sipsbridge (pid %ld) runs with %s; stop it "
		       "or use another -run directory",
		       other, path);
		return APR_EEXIST;
	}
	f = fopen(path, "w");
	if (!f) {
		sb_log(SB_LOG_CRIT, "SB00011", "cannot write pid file %s: %s",
		       path, strerror(errno));
		return errno;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return APR_SUCCESS;
}

void sb_pidfile_release(const char *path)
{
	if (pidfile_read(path) == (long)getpid())
		unlink(path);
}
