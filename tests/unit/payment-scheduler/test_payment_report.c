/* services/payment-scheduler/report: the period, the CSV files and the
 * finance page of a small payment run whose totals are worked out by hand
 * in the comments, and of historical contracts (their clawback, 0 when
 * nothing is owed, with payer and payee). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "payment-scheduler/report.h"
#include "timeutil.h"

static int64_t at(const char *rfc3339)
{
    int64_t ms;
    assert_int_equal(cw_time_parse_rfc3339(rfc3339, &ms), 0);
    return ms;
}

static int64_t day(const char *text)
{
    int64_t d;
    assert_int_equal(cw_date_parse(text, &d), 0);
    return d;
}

static void put(pay_state *st, const char *id, const char *provider, const char *start,
                const char *end)
{
    pay_contract c;
    memset(&c, 0, sizeof(c));
    snprintf(c.contract_id, sizeof(c.contract_id), "%s", id);
    snprintf(c.provider_id, sizeof(c.provider_id), "%s", provider);
    c.period_start = day(start);
    c.period_end = day(end);
    c.budget_cents = 1000000;
    c.unit_price_cents = 4000;
    c.invalid_deduction_cents = 18000;
    c.prepay_ratio_ppm = 300000;
    c.publication_lag_days = 3;
    c.updated_at = at("2024-04-01T00:00:00+08:00");
    pay_output o = {0};
    assert_int_equal(pay_state_put_contract(st, &c, &o), PAY_RECORD_TAKEN);
    pay_output_free(&o);
}

/* A past period registered by an import (docs/design.md §6): accounts may be NULL. */
static void put_historical(pay_state *st, const char *id, const char *provider,
                           const char *start, const char *end, const char *provider_account,
                           const char *treasury_account)
{
    pay_contract c;
    memset(&c, 0, sizeof(c));
    snprintf(c.contract_id, sizeof(c.contract_id), "%s", id);
    snprintf(c.provider_id, sizeof(c.provider_id), "%s", provider);
    c.period_start = day(start);
    c.period_end = day(end);
    c.budget_cents = 1000000;
    c.unit_price_cents = 4000;
    c.invalid_deduction_cents = 18000;
    c.prepay_ratio_ppm = 300000;
    c.publication_lag_days = 3;
    c.updated_at = at("2024-06-01T00:00:00+08:00");
    c.historical = 1;
    snprintf(c.provider_account, sizeof(c.provider_account), "%s",
             provider_account ? provider_account : "");
    snprintf(c.treasury_account, sizeof(c.treasury_account), "%s",
             treasury_account ? treasury_account : "");
    pay_output o = {0};
    assert_int_equal(pay_state_put_contract(st, &c, &o), PAY_RECORD_TAKEN);
    assert_int_equal(o.instruction_count, 0); /* no PREPAY */
    pay_output_free(&o);
}

static void add(pay_state *st, const char *id, const char *contract, const char *provider,
                const char *service_day, int valid, const char *finalized_at)
{
    pay_order o = {.order_id = id, .contract_id = contract, .provider_id = provider,
                   .service_day = day(service_day), .valid = valid,
                   .finalized_at = at(finalized_at)};
    char reason[256];
    assert_int_equal(pay_state_add_order(st, &o, reason, sizeof(reason)), PAY_ORDER_PENDING);
}

/* C1 (P01, 1-3 May): day 1 two valid and one invalid, day 2 one valid and
 * one late valid of day 1; settled as a clawback of 302000 (16000 − 18000
 * − 300000). C2 (P02, May): one invalid on 1 May, not settled yet. C0
 * (P01, April): outside the period. */
static pay_state *sample(void)
{
    pay_state *st = pay_state_new(480);
    put(st, "C1", "P01", "2024-05-01", "2024-05-03");
    put(st, "C2", "P02", "2024-05-01", "2024-05-31");
    put(st, "C0", "P01", "2024-04-01", "2024-04-30");
    add(st, "a", "C1", "P01", "2024-05-01", 1, "2024-05-02T10:00:00+08:00");
    add(st, "b", "C1", "P01", "2024-05-01", 1, "2024-05-02T11:00:00+08:00");
    add(st, "c", "C1", "P01", "2024-05-01", 0, "2024-05-02T12:00:00+08:00");
    add(st, "d", "C1", "P01", "2024-05-02", 1, "2024-05-03T10:00:00+08:00");
    add(st, "e", "C1", "P01", "2024-05-01", 1, "2024-05-05T02:00:00+08:00");
    add(st, "f", "C2", "P02", "2024-05-01", 0, "2024-05-02T10:00:00+08:00");
    add(st, "g", "C0", "P01", "2024-04-10", 1, "2024-04-11T10:00:00+08:00");
    pay_output o = {0};
    assert_int_equal(pay_state_advance(st, at("2024-05-07T00:00:00+08:00"), &o), 0);
    pay_output_free(&o);
    return st;
}

static pay_report report_of(const pay_state *st, const pay_unpaid *unpaid, size_t n)
{
    pay_report r = {.state = st, .watermark = at("2024-05-07T00:00:00+08:00"),
                    .generated_at = at("2024-05-07T09:30:00+08:00"), .unpaid = unpaid,
                    .unpaid_count = n};
    assert_int_equal(pay_period_parse("2024-05", &r.period), 0);
    return r;
}

static void periods_are_months_or_day_ranges(void **state)
{
    (void)state;
    pay_period p;
    assert_int_equal(pay_period_parse("2024-02", &p), 0);
    assert_int_equal(p.first_day, day("2024-02-01"));
    assert_int_equal(p.last_day, day("2024-02-29"));
    assert_string_equal(p.label, "2024-02");
    assert_int_equal(pay_period_parse("2023-12", &p), 0);
    assert_int_equal(p.last_day, day("2023-12-31"));
    assert_int_equal(pay_period_parse("2024-05-01..2024-05-03", &p), 0);
    assert_int_equal(p.first_day, day("2024-05-01"));
    assert_int_equal(p.last_day, day("2024-05-03"));
    assert_int_equal(pay_period_parse("2024-13", &p), -1);
    assert_int_equal(pay_period_parse("2024-5", &p), -1);
    assert_int_equal(pay_period_parse("2024-05-03..2024-05-01", &p), -1);
    assert_int_equal(pay_period_parse("2024-05-01..", &p), -1);
    assert_int_equal(pay_period_parse("", &p), -1);

    pay_contract c = {.period_start = day("2024-04-20"), .period_end = day("2024-05-01")};
    assert_int_equal(pay_period_parse("2024-05", &p), 0);
    assert_true(pay_period_holds(&p, &c));
    c.period_end = day("2024-04-30");
    assert_false(pay_period_holds(&p, &c));
}

static void totals_by_provider(void **state)
{
    (void)state;
    pay_state *st = sample();
    pay_unpaid unpaid[] = {{.provider_id = "P03", .orders = 2}};
    pay_report r = report_of(st, unpaid, 1);
    pay_text t = {0};
    assert_int_equal(pay_report_totals_csv(&r, &t), 0);
    /* P01: 3 valid + 1 late valid, 1 invalid: 1/5 invalid; net 300000 − 302000.
     * P02: 1 invalid of 1. TOTAL: 2 invalid of 6. */
    assert_string_equal(
        t.data,
        "provider_id,contracts,valid_orders,invalid_orders,late_valid_orders,late_invalid_orders,"
        "invalid_rate_percent,gross_cents,deduction_cents,prepaid_cents,settlement_cents,"
        "clawback_cents,net_paid_cents,pending_orders,unpaid_orders,historical_contracts\r\n"
        "P01,1,3,1,1,0,20.00,16000,18000,300000,0,302000,-2000,0,0,0\r\n"
        "P02,1,0,1,0,0,100.00,0,18000,300000,0,0,300000,0,0,0\r\n"
        "P03,0,0,0,0,0,0.00,0,0,0,0,0,0,0,2,0\r\n"
        "TOTAL,2,3,2,1,0,33.33,16000,36000,600000,0,302000,298000,0,2,0\r\n");
    pay_text_free(&t);
    pay_state_free(st);
}

static void statements_and_instructions(void **state)
{
    (void)state;
    pay_state *st = sample();
    pay_report r = report_of(st, NULL, 0);
    pay_text t = {0};
    assert_int_equal(pay_report_statements_csv(&r, &t), 0);
    assert_string_equal(
        t.data,
        "statement_id,contract_id,provider_id,service_day,published_at,valid_orders,"
        "invalid_orders,late_valid_orders,late_invalid_orders,gross_cents,deduction_cents\r\n"
        "C1:2024-05-01,C1,P01,2024-05-01,2024-05-05T00:00:00.000+08:00,2,1,0,0,8000,18000\r\n"
        "C1:2024-05-02,C1,P01,2024-05-02,2024-05-06T00:00:00.000+08:00,1,0,1,0,8000,0\r\n"
        "C2:2024-05-01,C2,P02,2024-05-01,2024-05-05T00:00:00.000+08:00,0,1,0,0,0,18000\r\n");
    pay_text_free(&t);

    assert_int_equal(pay_report_instructions_csv(&r, &t), 0);
    char expected[1024];
    snprintf(expected, sizeof(expected),
             "instruction_id,contract_id,provider_id,kind,amount_cents,period_start,period_end,"
             "created_at,payer_account,payee_account\r\n"
             "C1:PREPAY,C1,P01,PREPAY,300000,2024-05-01,2024-05-03,%lld,,\r\n"
             "C1:CLAWBACK:2024-05-03,C1,P01,CLAWBACK,302000,2024-05-01,2024-05-03,%lld,,\r\n"
             "C2:PREPAY,C2,P02,PREPAY,300000,2024-05-01,2024-05-31,%lld,,\r\n",
             (long long)at("2024-04-01T00:00:00+08:00"), (long long)at("2024-05-07T00:00:00+08:00"),
             (long long)at("2024-04-01T00:00:00+08:00"));
    assert_string_equal(t.data, expected);
    pay_text_free(&t);
    pay_state_free(st);
}

/* H1 (P01, 1-3 May, historical): 2 valid, 2 invalid, a CLAWBACK of 2 ×
 * 18000 from the provider's account to the treasury. H0 (P02, 10-12 May,
 * historical, no accounts): 1 valid, nothing to claw back, no
 * instruction. */
static pay_state *historical_sample(void)
{
    pay_state *st = pay_state_new(480);
    put_historical(st, "H1", "P01", "2024-05-01", "2024-05-03", "6222 0001 P01",
                   "TREASURY-0301");
    put_historical(st, "H0", "P02", "2024-05-10", "2024-05-12", NULL, NULL);
    add(st, "h1", "H1", "P01", "2024-05-01", 1, "2024-05-02T10:00:00+08:00");
    add(st, "h2", "H1", "P01", "2024-05-01", 0, "2024-05-02T11:00:00+08:00");
    add(st, "h3", "H1", "P01", "2024-05-03", 0, "2024-05-06T23:59:00+08:00");
    add(st, "h4", "H1", "P01", "2024-05-03", 1, "2024-05-04T10:00:00+08:00");
    add(st, "k1", "H0", "P02", "2024-05-11", 1, "2024-05-12T10:00:00+08:00");
    pay_output o = {0};
    assert_int_equal(pay_state_advance(st, at("2024-05-20T00:00:00+08:00"), &o), 0);
    assert_int_equal(o.statement_count, 0);
    assert_int_equal(o.instruction_count, 1);
    pay_output_free(&o);
    return st;
}

static void historical_contracts_report_their_clawback(void **state)
{
    (void)state;
    pay_state *st = historical_sample();
    pay_report r = report_of(st, NULL, 0);
    pay_text t = {0};
    assert_int_equal(pay_report_totals_csv(&r, &t), 0);
    /* Counted, not paid: no gross, no deduction, no prepayment; P02 shows
     * a clawback of 0. */
    assert_string_equal(
        t.data,
        "provider_id,contracts,valid_orders,invalid_orders,late_valid_orders,late_invalid_orders,"
        "invalid_rate_percent,gross_cents,deduction_cents,prepaid_cents,settlement_cents,"
        "clawback_cents,net_paid_cents,pending_orders,unpaid_orders,historical_contracts\r\n"
        "P01,1,2,2,0,0,50.00,0,0,0,0,36000,-36000,0,0,1\r\n"
        "P02,1,1,0,0,0,0.00,0,0,0,0,0,0,0,0,1\r\n"
        "TOTAL,2,3,2,0,0,40.00,0,0,0,0,36000,-36000,0,0,2\r\n");
    pay_text_free(&t);

    assert_int_equal(pay_report_statements_csv(&r, &t), 0);
    assert_null(strstr(t.data, "\r\nH")); /* the header alone */
    pay_text_free(&t);

    assert_int_equal(pay_report_instructions_csv(&r, &t), 0);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "instruction_id,contract_id,provider_id,kind,amount_cents,period_start,period_end,"
             "created_at,payer_account,payee_account\r\n"
             "H1:CLAWBACK:2024-05-03,H1,P01,CLAWBACK,36000,2024-05-01,2024-05-03,%lld,"
             "6222 0001 P01,TREASURY-0301\r\n",
             (long long)at("2024-05-07T00:00:00+08:00"));
    assert_string_equal(t.data, expected);
    pay_text_free(&t);

    assert_int_equal(pay_report_html(&r, &t), 0);
    assert_non_null(strstr(t.data, "6222 0001 P01 → TREASURY-0301"));
    assert_non_null(strstr(t.data, "<td class=\"n\">360.00</td>"));
    /* H0 is listed with nothing to claw back. */
    const char *h0 = strstr(t.data, "<tr><td>H0 (");
    assert_non_null(h0);
    assert_non_null(strstr(h0, "no instruction"));
    assert_non_null(strstr(h0, "<td>CLAWBACK</td><td class=\"n\">0.00</td>"));
    assert_null(strstr(t.data, "H0:CLAWBACK"));
    assert_null(strstr(t.data, ":PREPAY"));
    pay_text_free(&t);
    pay_state_free(st);
}

static void page_is_self_contained_with_chart_and_rates(void **state)
{
    (void)state;
    pay_state *st = sample();
    pay_report r = report_of(st, NULL, 0);
    pay_text t = {0};
    assert_int_equal(pay_report_html(&r, &t), 0);
    const char *html = t.data;
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    /* Day 1: C1's 2 valid + 1 invalid and C2's invalid. */
    assert_non_null(strstr(html, "<title>2024-05-01: 2 valid, 2 invalid</title>"));
    assert_non_null(strstr(html, "<title>2024-05-31: 0 valid, 0 invalid</title>"));
    assert_non_null(strstr(html, "<td class=\"n\">20.00%</td>"));
    assert_non_null(strstr(html, "<td class=\"n\">100.00%</td>"));
    assert_non_null(strstr(html, "<td class=\"n\">-20.00</td>")); /* P01 net paid */
    assert_non_null(strstr(html, "<td class=\"n\">3020.00</td>")); /* the clawback */
    assert_non_null(strstr(html, "C1:CLAWBACK:2024-05-03"));
    assert_null(strstr(html, "C0:PREPAY"));
    assert_non_null(strstr(html, "2024-05-07T00:00:00.000+08:00"));
    /* Nothing fetched from elsewhere. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "https:"));
    assert_non_null(strstr(html, "</html>\n"));
    pay_text_free(&t);
    pay_state_free(st);
}

static void text_is_escaped(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    put(st, "C<1>", "P,\"&'x", "2024-05-01", "2024-05-31");
    pay_report r = report_of(st, NULL, 0);
    pay_text t = {0};
    assert_int_equal(pay_report_html(&r, &t), 0);
    assert_non_null(strstr(t.data, "P,&quot;&amp;&#39;x"));
    assert_non_null(strstr(t.data, "C&lt;1&gt;:PREPAY"));
    assert_null(strstr(t.data, "C<1>"));
    pay_text_free(&t);
    assert_int_equal(pay_report_instructions_csv(&r, &t), 0);
    assert_non_null(strstr(t.data, "\r\nC<1>:PREPAY,C<1>,\"P,\"\"&'x\",PREPAY,300000,"));
    pay_text_free(&t);
    pay_state_free(st);
}

static void text_buffer_grows(void **state)
{
    (void)state;
    pay_text t = {0};
    for (int i = 0; i < 5000; i++)
        pay_text_printf(&t, "%04d,", i);
    assert_false(t.failed);
    assert_int_equal(t.len, 25000);
    assert_int_equal(strlen(t.data), 25000);
    assert_memory_equal(t.data + 24995, "4999,", 5);
    pay_text_free(&t);
    assert_null(t.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(periods_are_months_or_day_ranges),
        cmocka_unit_test(totals_by_provider),
        cmocka_unit_test(statements_and_instructions),
        cmocka_unit_test(historical_contracts_report_their_clawback),
        cmocka_unit_test(page_is_self_contained_with_chart_and_rates),
        cmocka_unit_test(text_is_escaped),
        cmocka_unit_test(text_buffer_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
