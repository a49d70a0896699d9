/* sb_types.h — error codes and small types shared by the core and modules. */
#ifndef SB_TYPES_H
#define SB_TYPES_H

#include <apr.h>
#include <apr_errno.h>
#include <apr_pools.h>

/* Our status codes live above APR_OS_START_USERERR (STYLE.md rule 3). */
#define SB_EINCOMPLETE (APR_OS_START_USERERR + 1) /**< need more input */
#define SB_EMALFORMED (APR_OS_START_USERERR + 2)  /**< input is invalid */
#define SB_EFLOWGONE (APR_OS_START_USERERR + 3)   /**< flow closed */
#define SB_ETOOBIG (APR_OS_START_USERERR + 4)     /**< over a size limit */
#define SB_ECONFIG (APR_OS_START_USERERR + 5)     /**< bad configuration */
#define SB_ENOTFOUND (APR_OS_START_USERERR + 6)   /**< no such object */
#define SB_ELIMIT (APR_OS_START_USERERR + 7)      /**< a limit fired */
#define SB_ETLS (APR_OS_START_USERERR + 8)        /**< TLS failure */
#define SB_EAUTH (APR_OS_START_USERERR + 9)       /**< SRTP auth failed */
#define SB_EREPLAY (APR_OS_START_USERERR + 10)    /**< SRTP replay */

/** Text for one of our codes or any APR code, written into buf. */
const char *sb_strerror(apr_status_t rv, char *buf, apr_size_t len);

#endif
