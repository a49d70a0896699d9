/* causes.c — hangup causes: FreeSWITCH's names and its Q.850 <-> SIP maps. */
#include <strings.h>
#include <apr_lib.h>
#include "sipsbridge/sb_session.h"

/*
 * Dialplans and logs name causes the way FreeSWITCH does, so the numbers
 * and names are FreeSWITCH's switch_call_cause_t: Q.850 below 128, its own
 * values above.  @sip is what an unanswered INVITE is refused with (and
 * the only column that is ours to choose): FreeSWITCH's mod_sofia table,
 * RFC 4497 section 8.4.1 plus a few custom rows; 0 means the default 480.
 */
typedef struct {
	int cause;
	const char *name;
	int sip;
} cause_row_t;

static const cause_row_t cause_rows[] = {
    {0, "NONE", 0},
    {1, "UNALLOCATED_NUMBER", 404},
    {2, "NO_ROUTE_TRANSIT_NET", 404},
    {3, "NO_ROUTE_DESTINATION", 404},
    {6, "CHANNEL_UNACCEPTABLE", 0},
    {7, "CALL_AWARDED_DELIVERED", 0},
    {16, "NORMAL_CLEARING", 0},
    {17, "USER_BUSY", 486},
    {18, "NO_USER_RESPONSE", 408},
    {19, "NO_ANSWER", 480},
    {20, "SUBSCRIBER_ABSENT", 480},
    {21, "CALL_REJECTED", 603},
    {22, "NUMBER_CHANGED", 410},
    {23, "REDIRECTION_TO_NEW_DESTINATION", 410},
    {25, "EXCHANGE_ROUTING_ERROR", 483},
    {27, "DESTINATION_OUT_OF_ORDER", 502},
    {28, "INVALID_NUMBER_FORMAT", 484},
    {29, "FACILITY_REJECTED", 501},
    {30, "RESPONSE_TO_STATUS_ENQUIRY", 0},
    {31, "NORMAL_UNSPECIFIED", 480},
    {34, "NORMAL_CIRCUIT_CONGESTION", 503},
    {38, "NETWORK_OUT_OF_ORDER", 503},
    {41, "NORMAL_TEMPORARY_FAILURE", 503},
    {42, "SWITCH_CONGESTION", 503},
    {43, "ACCESS_INFO_DISCARDED", 0},
    {44, "REQUESTED_CHAN_UNAVAIL", 503},
    {45, "PRE_EMPTED", 0},
    {50, "FACILITY_NOT_SUBSCRIBED", 0},
    {52, "OUTGOING_CALL_BARRED", 403},
    {54, "INCOMING_CALL_BARRED", 403},
    {57, "BEARERCAPABILITY_NOTAUTH", 403},
    {58, "BEARERCAPABILITY_NOTAVAIL", 503},
    {63, "SERVICE_UNAVAILABLE", 0},
    {65, "BEARERCAPABILITY_NOTIMPL", 488},
    {66, "CHAN_NOT_IMPLEMENTED", 0},
    {69, "FACILITY_NOT_IMPLEMENTED", 501},
    {79, "SERVICE_NOT_IMPLEMENTED", 501},
    {81, "INVALID_CALL_REFERENCE", 0},
    {88, "INCOMPATIBLE_DESTINATION", 488},
    {95, "INVALID_MSG_UNSPECIFIED", 0},
    {96, "MANDATORY_IE_MISSING", 0},
    {97, "MESSAGE_TYPE_NONEXIST", 0},
    {98, "WRONG_MESSAGE", 0},
    {99, "IE_NONEXIST", 0},
    {100, "INVALID_IE_CONTENTS", 0},
    {101, "WRONG_CALL_STATE", 0},
    {102, "RECOVERY_ON_TIMER_EXPIRE", 504},
    {103, "MANDATORY_IE_LENGTH_ERROR", 0},
    {111, "PROTOCOL_ERROR", 0},
    {127, "INTERWORKING", 0},
    {142, "SUCCESS", 0},
    {487, "ORIGINATOR_CANCEL", 487},
    {500, "CRASH", 0},
    {501, "SYSTEM_SHUTDOWN", 0},
    {502, "LOSE_RACE", 0},
    {503, "MANAGER_REQUEST", 0},
    {600, "BLIND_TRANSFER", 0},
    {601, "ATTENDED_TRANSFER", 0},
    {602, "ALLOTTED_TIMEOUT", 0},
    {603, "USER_CHALLENGE", 0},
    {604, "MEDIA_TIMEOUT", 0},
    {605, "PICKED_OFF", 0},
    {606, "USER_NOT_REGISTERED", 0},
    {607, "PROGRESS_TIMEOUT", 0},
    {608, "INVALID_GATEWAY", 484},
    {609, "GATEWAY_DOWN", 503},
    {610, "INVALID_URL", 484},
    {611, "INVALID_PROFILE", 502},
    {612, "NO_PICKUP", 0},
    {613, "SRTP_READ_ERROR", 0},
    {614, "BOWOUT", 0},
    {615, "BUSY_EVERYWHERE", 600},
    {616, "DECLINE", 603},
    {617, "DOES_NOT_EXIST_ANYWHERE", 604},
    {618, "NOT_ACCEPTABLE", 606},
    {619, "UNWANTED", 607},
    {620, "NO_IDENTITY", 0},
    {621, "BAD_IDENTITY_INFO", 0},
    {622, "UNSUPPORTED_CERTIFICATE", 0},
    {623, "INVALID_IDENTITY", 0},
    {624, "STALE_DATE", 0},
    {625, "REJECT_ALL", 0},
};

#define CAUSE_ROWS ((int)(sizeof(cause_rows) / sizeof(cause_rows[0])))

/* What FreeSWITCH answers for a cause its table leaves out. */
#define CAUSE_DEFAULT_SIP 480

/*
 * A final response seen on a B leg, as FreeSWITCH turns it into the A
 * leg's cause (RFC 4497 section 8.4.4); anything else is
 * NORMAL_UNSPECIFIED.
 */
typedef struct {
	int status;
	int cause;
} sip_row_t;

/* Causes the public header has no name for. */
#define CAUSE_NUMBER_CHANGED 22
#define CAUSE_EXCHANGE_ROUTING_ERROR 25
#define CAUSE_NORMAL_UNSPECIFIED 31
#define CAUSE_NETWORK_OUT_OF_ORDER 38
#define CAUSE_SERVICE_NOT_IMPLEMENTED 79
#define CAUSE_INTERWORKING 127

static const sip_row_t sip_rows[] = {
    {200, SB_CAUSE_NORMAL_CLEARING},
    {400, SB_CAUSE_NORMAL_TEMPORARY_FAILURE},
    {401, SB_CAUSE_CALL_REJECTED},
    {402, SB_CAUSE_CALL_REJECTED},
    {403, SB_CAUSE_CALL_REJECTED},
    {404, SB_CAUSE_UNALLOCATED_NUMBER},
    {405, SB_CAUSE_SERVICE_UNAVAILABLE},
    {406, CAUSE_SERVICE_NOT_IMPLEMENTED},
    {407, SB_CAUSE_CALL_REJECTED},
    {408, SB_CAUSE_RECOVERY_ON_TIMER_EXPIRE},
    {410, CAUSE_NUMBER_CHANGED},
    {413, CAUSE_INTERWORKING},
    {414, CAUSE_INTERWORKING},
    {415, CAUSE_SERVICE_NOT_IMPLEMENTED},
    {416, CAUSE_INTERWORKING},
    {420, CAUSE_INTERWORKING},
    {421, CAUSE_INTERWORKING},
    {423, CAUSE_INTERWORKING},
    {480, SB_CAUSE_NO_USER_RESPONSE},
    {481, SB_CAUSE_NORMAL_TEMPORARY_FAILURE},
    {482, CAUSE_EXCHANGE_ROUTING_ERROR},
    {483, CAUSE_EXCHANGE_ROUTING_ERROR},
    {484, SB_CAUSE_INVALID_NUMBER_FORMAT},
    {485, SB_CAUSE_NO_ROUTE_DESTINATION},
    {486, SB_CAUSE_USER_BUSY},
    {487, SB_CAUSE_ORIGINATOR_CANCEL},
    {488, SB_CAUSE_INCOMPATIBLE_DESTINATION},
    {500, SB_CAUSE_NORMAL_TEMPORARY_FAILURE},
    {501, CAUSE_SERVICE_NOT_IMPLEMENTED},
    {502, CAUSE_NETWORK_OUT_OF_ORDER},
    {503, SB_CAUSE_NORMAL_TEMPORARY_FAILURE},
    {504, SB_CAUSE_RECOVERY_ON_TIMER_EXPIRE},
    {505, CAUSE_INTERWORKING},
    {513, CAUSE_INTERWORKING},
    {600, SB_CAUSE_USER_BUSY},
    {603, SB_CAUSE_CALL_REJECTED},
    {604, SB_CAUSE_NO_ROUTE_DESTINATION},
    {606, SB_CAUSE_INCOMPATIBLE_DESTINATION},
};

#define SIP_ROWS ((int)(sizeof(sip_rows) / sizeof(sip_rows[0])))

/* Both tables are sorted: a binary search each. */
static const cause_row_t *cause_row(int cause)
{
	int lo = 0, hi = CAUSE_ROWS - 1, mid;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		if (cause_rows[mid].cause == cause)
			return &cause_rows[mid];
		if (cause_rows[mid].cause < cause)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

const char *sb_cause_name(int cause)
{
	const cause_row_t *row = cause_row(cause);

	return row ? row->name : "UNKNOWN";
}

/* Digits only, like FreeSWITCH's str2cause; bounded so it cannot wrap. */
static int cause_parse_number(const char *text)
{
	int n = 0;

	for (; *text; text++) {
		if (!apr_isdigit(*text) || n > 9999)
			return 0;
		n = n * 10 + (*text - '0');
	}
	return n <= 9999 ? n : 0;
}

int sb_cause_parse(const char *text)
{
	int i;

	if (!text || !*text)
		return 0;
	if (apr_isdigit(*text))
		return cause_parse_number(text);
	/* Names compare case-insensitively in FreeSWITCH; NONE is not one. */
	for (i = 1; i < CAUSE_ROWS; i++)
		if (strcasecmp(cause_rows[i].name, text) == 0)
			return cause_rows[i].cause;
	return 0;
}

int sb_cause_to_sip(int cause)
{
	const cause_row_t *row = cause_row(cause);

	return row && row->sip ? row->sip : CAUSE_DEFAULT_SIP;
}

int sb_cause_from_sip(int status)
{
	int lo = 0, hi = SIP_ROWS - 1, mid;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		if (sip_rows[mid].status == status)
			return sip_rows[mid].cause;
		if (sip_rows[mid].status < status)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return CAUSE_NORMAL_UNSPECIFIED;
}
