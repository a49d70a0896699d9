/* call_route.h — which worker owns a dialog or a client transaction. */
#ifndef SIPS_CALL_ROUTE_H
#define SIPS_CALL_ROUTE_H

#include "sip_msg.h"

/*
 * A call lives on one worker (its A leg's).  Messages for it may arrive
 * on any worker (the B leg's flow belongs to another), so the owner's
 * index is written into what comes back to us: the branch of our Via
 * (responses) and our dialog tag (in-dialog requests carry it as the To
 * tag).  Marked values start with a fixed prefix and two hex digits.
 */

/** A branch "z9hG4bKsbNN..." for requests sent from worker @p index. */
const char *call_route_branch(apr_pool_t *pool, unsigned index);
/** A tag "sbNN..." for dialogs owned by worker @p index. */
const char *call_route_tag(apr_pool_t *pool, unsigned index);

/** The worker that owns @p msg (a response by its top Via branch, a
 * request by its To tag), or -1 when it is not marked. */
int call_route_owner(const sip_msg_t *msg);

#endif
