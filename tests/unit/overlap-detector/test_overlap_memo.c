/* services/overlap-detector/verdict_memo: the text of a kept verdict and
 * the origins that settle one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "overlap-detector/verdict_memo.h"

static overlap_memo red_memo(void)
{
    overlap_memo m;
    memset(&m, 0, sizeof(m));
    m.v = (cw_verdict){.outcome = CW_OUTCOME_RED, .has_measured = 1, .measured = 12.5,
                       .has_threshold = 1, .unit = "min"};
    snprintf(m.other, sizeof(m.other), "O-OTHER");
    snprintf(m.origin, sizeof(m.origin), "visit.events:3:42");
    return m;
}

static void test_memo_round_trip(void **state)
{
    (void)state;
    overlap_memo m = red_memo(), back;
    char buf[OVERLAP_MEMO_MAX];
    assert_int_equal(overlap_memo_format(&m, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "RED|12.500000|O-OTHER|visit.events:3:42");
    memset(&back, 0, sizeof(back));
    back.v.unit = "min";
    assert_int_equal(overlap_memo_parse(buf, &back), 0);
    assert_int_equal(back.v.outcome, CW_OUTCOME_RED);
    assert_true(back.v.has_measured);
    assert_true(back.v.measured == 12.5);
    assert_string_equal(back.v.unit, "min"); /* not the memo's: left as it was */
    assert_string_equal(back.other, "O-OTHER");
    assert_string_equal(back.origin, "visit.events:3:42");
}

/* No measured value is kept as -1; no other order as "". */
static void test_memo_without_measured_or_other(void **state)
{
    (void)state;
    overlap_memo m, back;
    char buf[OVERLAP_MEMO_MAX];
    memset(&m, 0, sizeof(m));
    m.v.outcome = CW_OUTCOME_PASS;
    snprintf(m.origin, sizeof(m.origin), "timer:VISIT_OVERLAP|O1");
    assert_int_equal(overlap_memo_format(&m, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "PASS|-1.000000||timer:VISIT_OVERLAP|O1");
    assert_int_equal(overlap_memo_parse(buf, &back), 0);
    assert_int_equal(back.v.outcome, CW_OUTCOME_PASS);
    assert_false(back.v.has_measured);
    assert_string_equal(back.other, "");
    /* The origin is the rest of the memo, its own '|' included: a timer
     * fired again after a crash is recognised as the one that settled its
     * verdict, and emits its freeze again. */
    assert_string_equal(back.origin, "timer:VISIT_OVERLAP|O1");
}

/* A memo kept before origins were has none. */
static void test_memo_without_origin(void **state)
{
    (void)state;
    overlap_memo back;
    assert_int_equal(overlap_memo_parse("ORANGE|3.000000|O2", &back), 0);
    assert_int_equal(back.v.outcome, CW_OUTCOME_ORANGE);
    assert_string_equal(back.other, "O2");
    assert_string_equal(back.origin, "");
}

static void test_memo_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "RED", "RED|1.0", "PURPLE|1.0|O1|x"};
    overlap_memo back;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (overlap_memo_parse(bad[i], &back) == 0)
            fail_msg("parsed '%s'", bad[i]);
    overlap_memo m = red_memo();
    char small[16];
    assert_int_equal(overlap_memo_format(&m, small, sizeof(small)), -1);
}

static void test_origins(void **state)
{
    (void)state;
    char buf[OVERLAP_ORIGIN_MAX];
    overlap_origin_of_record("visit.events", 7, 123456789012LL, buf, sizeof(buf));
    assert_string_equal(buf, "visit.events:7:123456789012");
    overlap_origin_of_timer("VISIT_OVERLAP|O9", buf, sizeof(buf));
    assert_string_equal(buf, "timer:VISIT_OVERLAP|O9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_round_trip),
        cmocka_unit_test(test_memo_without_measured_or_other),
        cmocka_unit_test(test_memo_without_origin),
        cmocka_unit_test(test_memo_malformed),
        cmocka_unit_test(test_origins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
