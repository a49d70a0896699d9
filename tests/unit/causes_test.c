/* causes_test.c — cause names and FreeSWITCH's Q.850 <-> SIP tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "sipsbridge/sb_session.h"

static void test_names(void **state)
{
	static const int causes[] = {1,	 3,  16, 17, 18,  19,  21,  25,	 27,
				     28, 41, 63, 88, 102, 487, 502, 604, 606};
	size_t i;

	(void)state;
	assert_string_equal(sb_cause_name(16), "NORMAL_CLEARING");
	assert_string_equal(sb_cause_name(SB_CAUSE_USER_NOT_REGISTERED),
			    "USER_NOT_REGISTERED");
	assert_string_equal(sb_cause_name(SB_CAUSE_LOSE_RACE), "LOSE_RACE");
	assert_string_equal(sb_cause_name(25), "EXCHANGE_ROUTING_ERROR");
	assert_string_equal(sb_cause_name(4242), "UNKNOWN");
	assert_string_equal(sb_cause_name(-1), "UNKNOWN");
	for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		assert_string_not_equal(sb_cause_name(causes[i]), "UNKNOWN");
		assert_int_equal(sb_cause_parse(sb_cause_name(causes[i])),
				 causes[i]);
	}
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(sb_cause_parse("user_busy"), SB_CAUSE_USER_BUSY);
	assert_int_equal(sb_cause_parse("Call_Rejected"),
			 SB_CAUSE_CALL_REJECTED);
	assert_int_equal(sb_cause_parse("17"), 17);
	assert_int_equal(sb_cause_parse("486"), 486);
	assert_int_equal(sb_cause_parse("NONE"), 0);
	assert_int_equal(sb_cause_parse("UNKNOWN"), 0);
	assert_int_equal(sb_cause_parse("USER_BUSY_"), 0);
	assert_int_equal(sb_cause_parse(" 17"), 0);
	assert_int_equal(sb_cause_parse("17x"), 0);
	assert_int_equal(sb_cause_parse("99999999999"), 0);
	assert_int_equal(sb_cause_parse(""), 0);
	assert_int_equal(sb_cause_parse(NULL), 0);
}

/* FreeSWITCH's mod_sofia hangup_cause_to_sip. */
static void test_to_sip(void **state)
{
	static const int rows[][2] = {
	    {SB_CAUSE_USER_BUSY, 486},
	    {SB_CAUSE_UNALLOCATED_NUMBER, 404},
	    {SB_CAUSE_NO_ROUTE_DESTINATION, 404},
	    {SB_CAUSE_NO_USER_RESPONSE, 408},
	    {SB_CAUSE_NO_ANSWER, 480},
	    {SB_CAUSE_CALL_REJECTED, 603},
	    {SB_CAUSE_DESTINATION_OUT_OF_ORDER, 502},
	    {SB_CAUSE_INVALID_NUMBER_FORMAT, 484},
	    {SB_CAUSE_NORMAL_TEMPORARY_FAILURE, 503},
	    {SB_CAUSE_INCOMPATIBLE_DESTINATION, 488},
	    {SB_CAUSE_RECOVERY_ON_TIMER_EXPIRE, 504},
	    {SB_CAUSE_ORIGINATOR_CANCEL, 487},
	    {25, 483}, /* EXCHANGE_ROUTING_ERROR */
	    /* Not in the table: 480. */
	    {SB_CAUSE_NORMAL_CLEARING, 480},
	    {SB_CAUSE_SERVICE_UNAVAILABLE, 480},
	    {SB_CAUSE_USER_NOT_REGISTERED, 480},
	    {4242, 480},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(sb_cause_to_sip(rows[i][0]), rows[i][1]);
}

/* ... and sofia_glue_sip_cause_to_freeswitch. */
static void test_from_sip(void **state)
{
	static const int rows[][2] = {
	    {486, SB_CAUSE_USER_BUSY},
	    {600, SB_CAUSE_USER_BUSY},
	    {487, SB_CAUSE_ORIGINATOR_CANCEL},
	    {480, SB_CAUSE_NO_USER_RESPONSE},
	    {404, SB_CAUSE_UNALLOCATED_NUMBER},
	    {604, SB_CAUSE_NO_ROUTE_DESTINATION},
	    {603, SB_CAUSE_CALL_REJECTED},
	    {403, SB_CAUSE_CALL_REJECTED},
	    {408, SB_CAUSE_RECOVERY_ON_TIMER_EXPIRE},
	    {503, SB_CAUSE_NORMAL_TEMPORARY_FAILURE},
	    {488, SB_CAUSE_INCOMPATIBLE_DESTINATION},
	    {484, SB_CAUSE_INVALID_NUMBER_FORMAT},
	    {483, 25},
	    {200, SB_CAUSE_NORMAL_CLEARING},
	    {499, 31}, /* anything else: NORMAL_UNSPECIFIED */
	    {100, 31},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(sb_cause_from_sip(rows[i][0]), rows[i][1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_to_sip),
	    cmocka_unit_test(test_from_sip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
