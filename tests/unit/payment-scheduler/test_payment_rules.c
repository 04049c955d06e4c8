/* services/payment-scheduler/payment_rules: the money formulas (integer
 * cents, ratios half up), publication instants, ids and the watermark.
 * Rounding is checked against an independent 128-bit oracle; instants
 * against RFC 3339 texts parsed by common/timeutil. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "payment-scheduler/payment_rules.h"
#include "timeutil.h"

static int64_t at(const char *rfc3339)
{
    int64_t ms;
    if (cw_time_parse_rfc3339(rfc3339, &ms) != 0)
        fail_msg("bad time %s", rfc3339);
    return ms;
}

static int64_t day(const char *text)
{
    int64_t d;
    if (cw_date_parse(text, &d) != 0)
        fail_msg("bad date %s", text);
    return d;
}

static int64_t ratio(int64_t amount, int64_t ppm)
{
    int64_t out = -7;
    if (pay_ratio_cents(amount, ppm, &out) != 0)
        fail_msg("pay_ratio_cents(%lld, %lld) failed", (long long)amount, (long long)ppm);
    return out;
}

/* round_half_up(amount · ppm / 10⁶) in 128-bit integers. */
static int64_t oracle(int64_t amount, int64_t ppm)
{
    __int128 p = (__int128)amount * ppm;
    return (int64_t)((p + 500000) / 1000000);
}

/* ---- prepay ratio -------------------------------------------------------- */

static void prepay_of_seed_contract_is_thirty_percent(void **state)
{
    (void)state;
    /* 100 000 yuan at 30 %: 30 000 yuan. */
    assert_int_equal(ratio(10000000, 300000), 3000000);
    assert_int_equal(ratio(0, 300000), 0);
    assert_int_equal(ratio(12345, 0), 0);
    assert_int_equal(ratio(12345, 1000000), 12345);
}

static void prepay_rounds_half_up_to_whole_cents(void **state)
{
    (void)state;
    assert_int_equal(ratio(1, 500000), 1);        /* 0.5 → 1 */
    assert_int_equal(ratio(5, 500000), 3);        /* 2.5 → 3 (not to even) */
    assert_int_equal(ratio(3, 500000), 2);        /* 1.5 → 2 */
    assert_int_equal(ratio(1, 499999), 0);        /* 0.499999 → 0 */
    assert_int_equal(ratio(1000001, 300000), 300000); /* 300000.3 → 300000 */
    assert_int_equal(ratio(1000005, 300000), 300002); /* 300001.5 → 300002 */
    assert_int_equal(ratio(1000004, 300000), 300001); /* 300001.2 → 300001 */
    assert_int_equal(ratio(333, 333333), 111);    /* 110.999889 → 111 */
}

static void prepay_matches_the_oracle_up_to_the_largest_budget(void **state)
{
    (void)state;
    assert_int_equal(ratio(INT64_MAX, 1000000), INT64_MAX);
    assert_int_equal(ratio(INT64_MAX, 999999), oracle(INT64_MAX, 999999));
    assert_int_equal(ratio(INT64_MAX, 1), oracle(INT64_MAX, 1));
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        /* xorshift64: amounts over every magnitude. */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t amount = (int64_t)(x >> (1 + (i % 63)));
        int64_t ppm = (int64_t)((x >> 7) % 1000001);
        if (ratio(amount, ppm) != oracle(amount, ppm))
            fail_msg("amount %lld ppm %lld: %lld, oracle %lld", (long long)amount, (long long)ppm,
                     (long long)ratio(amount, ppm), (long long)oracle(amount, ppm));
    }
}

static void prepay_rejects_out_of_range(void **state)
{
    (void)state;
    int64_t out = 99;
    assert_int_equal(pay_ratio_cents(-1, 300000, &out), -1);
    assert_int_equal(pay_ratio_cents(100, -1, &out), -1);
    assert_int_equal(pay_ratio_cents(100, 1000001, &out), -1);
    assert_int_equal(out, 99);
}

/* ---- gross, deduction, settlement ---------------------------------------- */

static void times_and_add_detect_overflow(void **state)
{
    (void)state;
    int64_t out = 0;
    assert_int_equal(pay_times_cents(0, 18000, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(pay_times_cents(12, 4000, &out), 0);
    assert_int_equal(out, 48000);
    assert_int_equal(pay_times_cents(INT64_MAX / 2 + 1, 2, &out), -1);
    assert_int_equal(pay_times_cents(-1, 2, &out), -1);
    assert_int_equal(pay_times_cents(1, -2, &out), -1);
    assert_int_equal(pay_add_cents(INT64_MAX, 1, &out), -1);
    assert_int_equal(pay_add_cents(INT64_MAX - 1, 1, &out), 0);
    assert_int_equal(out, INT64_MAX);
}

#define BIG_BUDGET INT64_MAX

static void settlement_pays_what_is_due(void **state)
{
    (void)state;
    cw_payment_kind k = CW_PAYMENT_KIND_CLAWBACK;
    int64_t amount = -1;
    /* 100 valid × 40 yuan, 2 invalid × 180 yuan, 30 yuan prepaid. */
    assert_int_equal(pay_settlement(400000, 36000, 3000, BIG_BUDGET, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_SETTLEMENT);
    assert_int_equal(amount, 361000);
    /* Exactly zero due is a settlement of 0. */
    assert_int_equal(pay_settlement(5000, 2000, 3000, BIG_BUDGET, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_SETTLEMENT);
    assert_int_equal(amount, 0);
}

static void settlement_below_zero_is_a_clawback(void **state)
{
    (void)state;
    cw_payment_kind k = CW_PAYMENT_KIND_SETTLEMENT;
    int64_t amount = -1;
    /* No orders at all: the prepayment comes back. */
    assert_int_equal(pay_settlement(0, 0, 3000000, BIG_BUDGET, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, 3000000);
    /* All invalid: deductions and the prepayment. */
    assert_int_equal(pay_settlement(0, 5 * 18000, 3000000, BIG_BUDGET, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, 3090000);
    assert_int_equal(pay_settlement(1, 2, 0, BIG_BUDGET, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, 1);
    assert_int_equal(pay_settlement(INT64_MIN, 1, 0, BIG_BUDGET, &k, &amount), -1);
    assert_int_equal(pay_settlement(0, INT64_MAX, 1, BIG_BUDGET, &k, &amount), -1);
}

/* The budget caps prepayment plus settlement: a period worth more is paid
 * up to the budget only, never beyond. */
static void settlement_never_pays_beyond_the_budget(void **state)
{
    (void)state;
    cw_payment_kind k = CW_PAYMENT_KIND_CLAWBACK;
    int64_t amount = -1;
    /* Net 4 000 yuan, budget 3 000 yuan, 900 yuan prepaid: 2 100 more. */
    assert_int_equal(pay_settlement(400000, 0, 90000, 300000, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_SETTLEMENT);
    assert_int_equal(amount, 210000);
    /* Net exactly the budget: paid in full. */
    assert_int_equal(pay_settlement(300000, 0, 90000, 300000, &k, &amount), 0);
    assert_int_equal(amount, 210000);
    /* One cent under the budget: unchanged by it. */
    assert_int_equal(pay_settlement(299999, 0, 90000, 300000, &k, &amount), 0);
    assert_int_equal(amount, 209999);
    /* Under the budget with deductions: the cap does not apply. */
    assert_int_equal(pay_settlement(400000, 150000, 90000, 300000, &k, &amount), 0);
    assert_int_equal(amount, 160000);
    /* A budget of zero: whatever was prepaid comes back. */
    assert_int_equal(pay_settlement(400000, 0, 5000, 0, &k, &amount), 0);
    assert_int_equal(k, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, 5000);
    assert_int_equal(pay_settlement(1, 0, 0, -1, &k, &amount), -1);
}

static void budget_levels_are_crossed_when_strictly_exceeded(void **state)
{
    (void)state;
    const int64_t budget = 1000000; /* 10 000 yuan */
    assert_int_equal(pay_budget_threshold(budget, PAY_BUDGET_80), 800000);
    assert_int_equal(pay_budget_threshold(budget, PAY_BUDGET_EXCEEDED), budget);
    /* 80 % rounds half up to a cent: 80 % of 0.05 yuan is 0.04. */
    assert_int_equal(pay_budget_threshold(5, PAY_BUDGET_80), 4);
    assert_string_equal(pay_budget_rule(PAY_BUDGET_80), "BUDGET_80");
    assert_string_equal(pay_budget_rule(PAY_BUDGET_EXCEEDED), "BUDGET_EXCEEDED");

    assert_false(pay_budget_crossed(0, 800000, budget, PAY_BUDGET_80));
    assert_true(pay_budget_crossed(0, 800001, budget, PAY_BUDGET_80));
    assert_true(pay_budget_crossed(800000, 800001, budget, PAY_BUDGET_80));
    /* Above it already: not crossed again. */
    assert_false(pay_budget_crossed(800001, 900000, budget, PAY_BUDGET_80));
    /* One statement may cross both. */
    assert_true(pay_budget_crossed(100, 1000001, budget, PAY_BUDGET_80));
    assert_true(pay_budget_crossed(100, 1000001, budget, PAY_BUDGET_EXCEEDED));
    assert_false(pay_budget_crossed(100, 1000000, budget, PAY_BUDGET_EXCEEDED));
    /* Going down (deductions) crosses nothing. */
    assert_false(pay_budget_crossed(1000001, 0, budget, PAY_BUDGET_EXCEEDED));
}

/* ---- instants and ids ---------------------------------------------------- */

static void statement_is_published_at_local_midnight_of_d_plus_lag_plus_one(void **state)
{
    (void)state;
    assert_int_equal(pay_publication_ms(day("2024-05-01"), 3, 480),
                     at("2024-05-05T00:00:00+08:00"));
    assert_int_equal(pay_publication_ms(day("2024-05-31"), 3, 480),
                     at("2024-06-04T00:00:00+08:00"));
    assert_int_equal(pay_publication_ms(day("2024-02-28"), 0, 480),
                     at("2024-02-29T00:00:00+08:00"));
    assert_int_equal(pay_publication_ms(day("2024-12-31"), 1, 0), at("2025-01-02T00:00:00Z"));
    assert_int_equal(pay_publication_ms(day("2024-05-01"), 3, -300),
                     at("2024-05-05T00:00:00-05:00"));
}

static void ids_are_deterministic(void **state)
{
    (void)state;
    char buf[PAY_RECORD_ID_MAX];
    int64_t end = day("2024-05-31");
    assert_int_equal(pay_statement_id(buf, sizeof(buf), "C-2024-05", day("2024-05-07")), 0);
    assert_string_equal(buf, "C-2024-05:2024-05-07");
    assert_int_equal(pay_instruction_id(buf, sizeof(buf), "C1", CW_PAYMENT_KIND_PREPAY, end), 0);
    assert_string_equal(buf, "C1:PREPAY");
    assert_int_equal(pay_instruction_id(buf, sizeof(buf), "C1", CW_PAYMENT_KIND_SETTLEMENT, end),
                     0);
    assert_string_equal(buf, "C1:SETTLEMENT:2024-05-31");
    assert_int_equal(pay_instruction_id(buf, sizeof(buf), "C1", CW_PAYMENT_KIND_CLAWBACK, end), 0);
    assert_string_equal(buf, "C1:CLAWBACK:2024-05-31");
    char small[8];
    assert_int_equal(pay_statement_id(small, sizeof(small), "C1", day("2024-05-07")), -1);
    assert_int_equal(pay_instruction_id(small, sizeof(small), "CONTRACT", CW_PAYMENT_KIND_PREPAY,
                                        0), -1);
}

static void accounts_are_printable_ascii_up_to_64(void **state)
{
    (void)state;
    char text[PAY_ACCOUNT_MAX + 2];
    memset(text, 'A', sizeof(text) - 1);
    text[PAY_ACCOUNT_MAX] = '\0';
    assert_true(pay_account_ok(text));
    text[PAY_ACCOUNT_MAX] = 'A';
    text[PAY_ACCOUNT_MAX + 1] = '\0';
    assert_false(pay_account_ok(text));
    assert_true(pay_account_ok("6222 0210-0101/2345 ~"));
    assert_false(pay_account_ok(""));
    assert_false(pay_account_ok("6222\t0210"));
    assert_false(pay_account_ok("GK\x7f"));
    assert_false(pay_account_ok("国库"));
}

static void treasury_pays_the_provider_and_a_clawback_goes_back(void **state)
{
    (void)state;
    const char *payer = NULL, *payee = NULL;
    pay_accounts(CW_PAYMENT_KIND_PREPAY, "PROV", "TREAS", &payer, &payee);
    assert_string_equal(payer, "TREAS");
    assert_string_equal(payee, "PROV");
    pay_accounts(CW_PAYMENT_KIND_SETTLEMENT, "PROV", "TREAS", &payer, &payee);
    assert_string_equal(payer, "TREAS");
    assert_string_equal(payee, "PROV");
    pay_accounts(CW_PAYMENT_KIND_CLAWBACK, "PROV", "TREAS", &payer, &payee);
    assert_string_equal(payer, "PROV");
    assert_string_equal(payee, "TREAS");
}

static void kinds_round_trip(void **state)
{
    (void)state;
    cw_payment_kind k;
    for (int i = CW_PAYMENT_KIND_PREPAY; i <= CW_PAYMENT_KIND_CLAWBACK; i++) {
        assert_int_equal(cw_payment_kind_parse(cw_payment_kind_name((cw_payment_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(cw_payment_kind_name(CW_PAYMENT_KIND_CLAWBACK), "CLAWBACK");
    assert_int_equal(cw_payment_kind_parse("REFUND", &k), -1);
}

/* ---- watermark ----------------------------------------------------------- */

#define MIN_MS 60000LL

static void watermark_unknown_until_something_is_read(void **state)
{
    (void)state;
    pay_partition_clock p[2] = {{INT64_MIN, 1}, {INT64_MIN, 1}};
    assert_true(pay_watermark(p, 2, 1000000, 0, 0) == INT64_MIN);
    assert_true(pay_watermark(NULL, 0, 1000000, 0, 5) == INT64_MIN);
    /* Live mode follows the wall clock once caught up. */
    assert_int_equal(pay_watermark(p, 2, 1000000, 1, 1000), 999000);
}

static void watermark_is_largest_event_minus_lateness_when_caught_up(void **state)
{
    (void)state;
    int64_t t = at("2024-05-05T00:00:00+08:00");
    pay_partition_clock p[3] = {{t - 5 * MIN_MS, 1}, {t, 1}, {INT64_MIN, 1}};
    assert_int_equal(pay_watermark(p, 3, 0, 0, 2 * MIN_MS), t - 2 * MIN_MS);
    assert_int_equal(pay_watermark(p, 3, 0, 0, 0), t);
}

static void partition_with_backlog_holds_the_watermark_back(void **state)
{
    (void)state;
    int64_t t = at("2024-05-05T00:00:00+08:00");
    pay_partition_clock p[3] = {{t, 1}, {t - 60 * MIN_MS, 0}, {t - 5 * MIN_MS, 1}};
    assert_int_equal(pay_watermark(p, 3, 0, 0, MIN_MS), t - 61 * MIN_MS);
    /* The wall clock does not pass a backlog either. */
    assert_int_equal(pay_watermark(p, 3, t + 3600000, 1, MIN_MS), t - 61 * MIN_MS);
    p[1].max_event_ms = INT64_MIN;
    assert_true(pay_watermark(p, 3, t, 1, MIN_MS) == INT64_MIN);
}

static void live_watermark_takes_the_later_of_clock_and_events(void **state)
{
    (void)state;
    int64_t t = at("2024-05-05T00:00:00+08:00");
    pay_partition_clock p[2] = {{t, 1}, {t - MIN_MS, 1}};
    assert_int_equal(pay_watermark(p, 2, t + 10 * MIN_MS, 1, MIN_MS), t + 9 * MIN_MS);
    assert_int_equal(pay_watermark(p, 2, t - 10 * MIN_MS, 1, MIN_MS), t - MIN_MS);
    /* Replay mode ignores the clock. */
    assert_int_equal(pay_watermark(p, 2, t + 10 * MIN_MS, 0, MIN_MS), t - MIN_MS);
}

static void watermark_lateness_does_not_wrap(void **state)
{
    (void)state;
    pay_partition_clock p[1] = {{INT64_MIN + 10, 1}};
    assert_true(pay_watermark(p, 1, 0, 0, 100) == INT64_MIN);
}

static void caught_up_needs_quiet_and_the_broker_end(void **state)
{
    (void)state;
    const int64_t quiet = 2000;
    /* Quiet: a message quiet_ms - 1 ago still counts as active. */
    assert_int_equal(pay_partition_caught_up(quiet - 1, quiet, 12, 12), 0);
    assert_int_equal(pay_partition_caught_up(quiet, quiet, 12, 12), 1);
    /* Position: one record short of the end is a backlog. */
    assert_int_equal(pay_partition_caught_up(quiet, quiet, 11, 12), 0);
    assert_int_equal(pay_partition_caught_up(quiet, quiet, 13, 12), 1);
    /* An unknown end is never caught up, however quiet. */
    assert_int_equal(pay_partition_caught_up(INT64_MAX, quiet, 12, -1), 0);
    assert_int_equal(pay_partition_caught_up(INT64_MAX, quiet, -1, -1), 0);
    /* Never a record, empty at the broker. */
    assert_int_equal(pay_partition_caught_up(INT64_MAX, quiet, -1, 0), 1);
    assert_int_equal(pay_partition_caught_up(INT64_MAX, quiet, 0, 0), 1);
    assert_int_equal(pay_partition_caught_up(INT64_MAX, quiet, -1, 1), 0);
    /* quiet_ms 0: only the position matters. */
    assert_int_equal(pay_partition_caught_up(0, 0, 12, 12), 1);
}

static void stale_end_does_not_let_a_partition_follow(void **state)
{
    (void)state;
    int64_t t = at("2024-05-05T00:00:00+08:00");
    /* Partition 1 has read 10 records; the client's cached end says 10, the
     * broker already holds 12. */
    pay_partition_clock p[2] = {{t + 120 * MIN_MS, 0}, {t - 240 * MIN_MS, 0}};
    p[1].caught_up = pay_partition_caught_up(5000, 2000, 10, 10);
    assert_true(pay_watermark(p, 2, 0, 0, 60 * MIN_MS) >= t);
    p[1].caught_up = pay_partition_caught_up(5000, 2000, 10, 12);
    assert_int_equal(pay_watermark(p, 2, 0, 0, 60 * MIN_MS), t - 300 * MIN_MS);
}

/* ---- rates and yuan ------------------------------------------------------ */

static void rates_round_half_up_in_basis_points(void **state)
{
    (void)state;
    assert_int_equal(pay_rate_bp(1, 3), 3333);
    assert_int_equal(pay_rate_bp(2, 3), 6667);
    assert_int_equal(pay_rate_bp(1, 8), 1250);
    assert_int_equal(pay_rate_bp(1, 20000), 1);  /* 0.5 bp → 1 */
    assert_int_equal(pay_rate_bp(1, 20001), 0);
    assert_int_equal(pay_rate_bp(0, 0), 0);
    assert_int_equal(pay_rate_bp(7, 7), 10000);
}

static void yuan_have_two_decimals(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(pay_format_yuan(buf, sizeof(buf), 0), 0);
    assert_string_equal(buf, "0.00");
    pay_format_yuan(buf, sizeof(buf), 5);
    assert_string_equal(buf, "0.05");
    pay_format_yuan(buf, sizeof(buf), 18000);
    assert_string_equal(buf, "180.00");
    pay_format_yuan(buf, sizeof(buf), -1205);
    assert_string_equal(buf, "-12.05");
    pay_format_yuan(buf, sizeof(buf), INT64_MIN);
    assert_string_equal(buf, "-92233720368547758.08");
    char small[4];
    assert_int_equal(pay_format_yuan(small, sizeof(small), 1000), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prepay_of_seed_contract_is_thirty_percent),
        cmocka_unit_test(prepay_rounds_half_up_to_whole_cents),
        cmocka_unit_test(prepay_matches_the_oracle_up_to_the_largest_budget),
        cmocka_unit_test(prepay_rejects_out_of_range),
        cmocka_unit_test(times_and_add_detect_overflow),
        cmocka_unit_test(settlement_pays_what_is_due),
        cmocka_unit_test(settlement_below_zero_is_a_clawback),
        cmocka_unit_test(settlement_never_pays_beyond_the_budget),
        cmocka_unit_test(budget_levels_are_crossed_when_strictly_exceeded),
        cmocka_unit_test(statement_is_published_at_local_midnight_of_d_plus_lag_plus_one),
        cmocka_unit_test(ids_are_deterministic),
        cmocka_unit_test(accounts_are_printable_ascii_up_to_64),
        cmocka_unit_test(treasury_pays_the_provider_and_a_clawback_goes_back),
        cmocka_unit_test(kinds_round_trip),
        cmocka_unit_test(watermark_unknown_until_something_is_read),
        cmocka_unit_test(watermark_is_largest_event_minus_lateness_when_caught_up),
        cmocka_unit_test(partition_with_backlog_holds_the_watermark_back),
        cmocka_unit_test(live_watermark_takes_the_later_of_clock_and_events),
        cmocka_unit_test(watermark_lateness_does_not_wrap),
        cmocka_unit_test(caught_up_needs_quiet_and_the_broker_end),
        cmocka_unit_test(stale_end_does_not_let_a_partition_follow),
        cmocka_unit_test(rates_round_half_up_in_basis_points),
        cmocka_unit_test(yuan_have_two_decimals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
