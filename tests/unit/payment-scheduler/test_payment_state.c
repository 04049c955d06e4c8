/* services/payment-scheduler/payment_state: statements, late adjustments,
 * settlements and clawbacks to the cent; rejections; historical contracts
 * (one CLAWBACK of their invalid orders, nothing when none, a flag changed
 * by a newer version) and the payer and payee of every instruction; the
 * batch run equal to the streaming run; and a restart from what was
 * published, after a crash at every point of a stream, ending with the
 * uninterrupted run's output and no id published twice. Instants are
 * written as RFC 3339 texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payment-scheduler/payment_state.h"
#include "timeutil.h"

#define UNIT 4000      /* 40 yuan per valid visit (seed 003) */
#define DEDUCTION 18000 /* 180 yuan per invalid visit (seed 000) */
#define BUDGET 1000000
#define PREPAID 300000 /* 30 % */
#define HOUR_MS 3600000LL

/* ---- helpers ------------------------------------------------------------- */

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

static pay_contract contract(const char *id, const char *provider, const char *start,
                             const char *end, int lag)
{
    pay_contract c;
    memset(&c, 0, sizeof(c));
    snprintf(c.contract_id, sizeof(c.contract_id), "%s", id);
    snprintf(c.provider_id, sizeof(c.provider_id), "%s", provider);
    c.period_start = day(start);
    c.period_end = day(end);
    c.budget_cents = BUDGET;
    c.unit_price_cents = UNIT;
    c.invalid_deduction_cents = DEDUCTION;
    c.prepay_ratio_ppm = 300000;
    c.publication_lag_days = lag;
    c.updated_at = at("2024-04-20T09:00:00+08:00");
    char reason[128];
    if (pay_contract_check(&c, reason, sizeof(reason)) != 0)
        fail_msg("%s", reason);
    return c;
}

static pay_order order(const char *id, const char *contract_id, const char *provider,
                       const char *service_day, int valid, int64_t finalized_at)
{
    return (pay_order){.order_id = id, .provider_id = provider, .contract_id = contract_id,
                       .service_day = day(service_day), .valid = valid,
                       .finalized_at = finalized_at};
}

/* Everything published by a run, across calls. */
typedef struct {
    pay_statement st[1024];
    size_t ns;
    pay_instruction in[64];
    size_t ni;
    pay_budget_alert ba[64];
    size_t nb;
} ledger;

static void take(ledger *l, pay_output *o)
{
    for (size_t i = 0; i < o->statement_count; i++) {
        assert_true(l->ns < 1024);
        l->st[l->ns++] = o->statements[i];
    }
    for (size_t i = 0; i < o->instruction_count; i++) {
        assert_true(l->ni < 64);
        l->in[l->ni++] = o->instructions[i];
    }
    for (size_t i = 0; i < o->budget_alert_count; i++) {
        assert_true(l->nb < 64);
        l->ba[l->nb++] = o->budget_alerts[i];
    }
    pay_output_clear(o);
}

static void put(pay_state *st, const pay_contract *c, ledger *l)
{
    pay_output o = {0};
    assert_int_equal(pay_state_put_contract(st, c, &o), PAY_RECORD_TAKEN);
    take(l, &o);
    pay_output_free(&o);
}

static void advance(pay_state *st, int64_t wm, ledger *l)
{
    pay_output o = {0};
    assert_int_equal(pay_state_advance(st, wm, &o), 0);
    take(l, &o);
    pay_output_free(&o);
}

static void add(pay_state *st, const pay_order *o, pay_order_result want)
{
    char reason[256] = "";
    pay_order_result got = pay_state_add_order(st, o, reason, sizeof(reason));
    if (got != want)
        fail_msg("order %s: result %d, expected %d (%s)", o->order_id, got, want, reason);
}

static const pay_statement *statement_of(const ledger *l, const char *contract_id,
                                         const char *service_day)
{
    for (size_t i = 0; i < l->ns; i++)
        if (strcmp(l->st[i].contract_id, contract_id) == 0 &&
            l->st[i].service_day == day(service_day))
            return &l->st[i];
    return NULL;
}

static const pay_instruction *instruction_of(const ledger *l, const char *contract_id,
                                             cw_payment_kind kind)
{
    for (size_t i = 0; i < l->ni; i++)
        if (strcmp(l->in[i].contract_id, contract_id) == 0 && l->in[i].kind == kind)
            return &l->in[i];
    return NULL;
}

static void assert_statement(const ledger *l, const char *contract_id, const char *service_day,
                             int valid, int invalid, int late_valid, int late_invalid,
                             int64_t gross, int64_t deduction, const char *published_at)
{
    const pay_statement *s = statement_of(l, contract_id, service_day);
    if (s == NULL)
        fail_msg("no statement %s:%s", contract_id, service_day);
    assert_int_equal(s->valid_orders, valid);
    assert_int_equal(s->invalid_orders, invalid);
    assert_int_equal(s->late_valid_orders, late_valid);
    assert_int_equal(s->late_invalid_orders, late_invalid);
    assert_int_equal(s->gross_cents, gross);
    assert_int_equal(s->deduction_cents, deduction);
    assert_int_equal(s->published_at, at(published_at));
}

static void assert_instruction(const ledger *l, const char *contract_id, cw_payment_kind kind,
                               int64_t amount, int64_t created_at)
{
    const pay_instruction *in = instruction_of(l, contract_id, kind);
    if (in == NULL)
        fail_msg("no %d instruction for %s", kind, contract_id);
    assert_int_equal(in->amount_cents, amount);
    assert_int_equal(in->created_at, created_at);
}

/* ---- prepay -------------------------------------------------------------- */

static void prepay_is_issued_once_when_the_contract_is_first_seen(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-31", 3);
    put(st, &c, &l);
    assert_int_equal(l.ni, 1);
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_PREPAY, PREPAID, c.updated_at);
    assert_int_equal(l.in[0].period_start, day("2024-05-01"));
    assert_int_equal(l.in[0].period_end, day("2024-05-31"));
    assert_string_equal(l.in[0].provider_id, "P1");

    /* The same record again, an older version, a newer one: no new PREPAY. */
    pay_output o = {0};
    assert_int_equal(pay_state_put_contract(st, &c, &o), PAY_RECORD_IGNORED);
    pay_contract older = c;
    older.updated_at -= 1;
    older.budget_cents = 1;
    assert_int_equal(pay_state_put_contract(st, &older, &o), PAY_RECORD_IGNORED);
    pay_contract newer = c;
    newer.updated_at += 1;
    newer.budget_cents = 5 * BUDGET;
    assert_int_equal(pay_state_put_contract(st, &newer, &o), PAY_RECORD_TAKEN);
    assert_int_equal(o.instruction_count, 0);
    assert_int_equal(pay_state_find_account(st, "C1")->contract->budget_cents, 5 * BUDGET);
    pay_output_free(&o);
    pay_state_free(st);
}

/* ---- statements and settlement ------------------------------------------- */

/* A CANCELLED order (its elder was in hospital) is on no statement and in
 * no settlement: neither paid nor deducted; its id is seen all the same. */
static void cancelled_orders_count_nothing(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-31", 3);
    put(st, &c, &l);
    pay_order v = order("V1", "C1", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
    pay_order x = order("X1", "C1", "P1", "2024-05-01", 0, at("2024-05-02T10:00:00+08:00"));
    x.cancelled = 1;
    add(st, &v, PAY_ORDER_PENDING);
    add(st, &x, PAY_ORDER_CANCELLED);
    x.cancelled = 0; /* the same id again, whatever it says: a duplicate */
    add(st, &x, PAY_ORDER_DUPLICATE);
    advance(st, at("2024-06-04T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-01", 1, 0, 0, 0, UNIT, 0, "2024-05-05T00:00:00+08:00");
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, PREPAID - UNIT,
                       at("2024-06-04T00:00:00+08:00"));
    pay_state_free(st);
}

/* A contract of 200 yuan: five valid visits take it to its budget exactly
 * (BUDGET_80 with the statement that passes 160 yuan), a sixth beyond it
 * (BUDGET_EXCEEDED); the settlement pays up to the budget only. */
static void budget_levels_alert_once_and_cap_the_settlement(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-31", 3);
    c.budget_cents = 20000;
    put(st, &c, &l);
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_PREPAY, 6000, c.updated_at);
    char id[32];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "O%d", i);
        pay_order o = order(id, "C1", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
        add(st, &o, PAY_ORDER_PENDING);
    }
    pay_order o5 = order("O5", "C1", "P1", "2024-05-02", 1, at("2024-05-02T12:00:00+08:00"));
    add(st, &o5, PAY_ORDER_PENDING);
    pay_order bad = order("O6", "C1", "P1", "2024-05-03", 0, at("2024-05-03T12:00:00+08:00"));
    add(st, &bad, PAY_ORDER_PENDING);

    advance(st, at("2024-05-05T00:00:00+08:00"), &l);
    assert_int_equal(l.nb, 1);
    assert_int_equal(l.ba[0].level, PAY_BUDGET_80);
    assert_int_equal(l.ba[0].consumed_cents, 20000);
    assert_int_equal(l.ba[0].threshold_cents, 16000);
    assert_int_equal(l.ba[0].service_day, day("2024-05-01"));
    assert_int_equal(l.ba[0].at, at("2024-05-05T00:00:00+08:00"));
    assert_string_equal(l.ba[0].provider_id, "P1");

    advance(st, at("2024-05-06T00:00:00+08:00"), &l);
    assert_int_equal(l.nb, 2);
    assert_int_equal(l.ba[1].level, PAY_BUDGET_EXCEEDED);
    assert_int_equal(l.ba[1].consumed_cents, 24000);
    assert_int_equal(l.ba[1].threshold_cents, 20000);

    /* A deduction brings consumption back under the budget: nothing is
     * raised again, and nothing more when the period settles. */
    advance(st, at("2024-06-04T00:00:00+08:00"), &l);
    assert_int_equal(l.nb, 2);
    /* Net 240 − 180 = 60 yuan: under the budget, 60 − 60 prepaid = 0. */
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_SETTLEMENT, 0, at("2024-06-04T00:00:00+08:00"));
    pay_state_free(st);

    /* Without the deduction the net (240 yuan) is over the budget: the
     * settlement pays 200 − 60 = 140 yuan, not 180. */
    st = pay_state_new(480);
    ledger m = {0};
    put(st, &c, &m);
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "Q%d", i);
        pay_order o = order(id, "C1", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
        add(st, &o, PAY_ORDER_PENDING);
    }
    advance(st, at("2024-06-04T00:00:00+08:00"), &m);
    /* One statement crosses both levels. */
    assert_int_equal(m.nb, 2);
    assert_int_equal(m.ba[0].level, PAY_BUDGET_80);
    assert_int_equal(m.ba[1].level, PAY_BUDGET_EXCEEDED);
    assert_instruction(&m, "C1", CW_PAYMENT_KIND_SETTLEMENT, 14000,
                       at("2024-06-04T00:00:00+08:00"));
    pay_state_free(st);
}

static void zero_orders_claws_the_prepayment_back(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &c, &l);
    advance(st, at("2024-05-06T23:59:59.999+08:00"), &l);
    assert_int_equal(l.ni, 1);
    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_int_equal(l.ns, 0);
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, PREPAID,
                       at("2024-05-07T00:00:00+08:00"));
    assert_true(pay_state_find_account(st, "C1")->settled);

    /* Without a prepayment, nothing due is a settlement of 0. */
    pay_contract free_c = contract("C2", "P1", "2024-05-01", "2024-05-03", 3);
    free_c.prepay_ratio_ppm = 0;
    put(st, &free_c, &l);
    assert_instruction(&l, "C2", CW_PAYMENT_KIND_PREPAY, 0, free_c.updated_at);
    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_instruction(&l, "C2", CW_PAYMENT_KIND_SETTLEMENT, 0, at("2024-05-07T00:00:00+08:00"));
    assert_int_equal(l.ns, 0);
    pay_state_free(st);
}

static void all_invalid_is_a_clawback_of_deductions_and_prepayment(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-02", 3);
    put(st, &c, &l);
    pay_order o1 = order("o1", "C1", "P1", "2024-05-01", 0, at("2024-05-01T12:00:00+08:00"));
    pay_order o2 = order("o2", "C1", "P1", "2024-05-01", 0, at("2024-05-02T12:00:00+08:00"));
    pay_order o3 = order("o3", "C1", "P1", "2024-05-02", 0, at("2024-05-03T12:00:00+08:00"));
    add(st, &o1, PAY_ORDER_PENDING);
    add(st, &o2, PAY_ORDER_PENDING);
    add(st, &o3, PAY_ORDER_PENDING);
    advance(st, at("2024-05-06T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-01", 0, 2, 0, 0, 0, 36000, "2024-05-05T00:00:00+08:00");
    assert_statement(&l, "C1", "2024-05-02", 0, 1, 0, 0, 0, 18000, "2024-05-06T00:00:00+08:00");
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, 54000 + PREPAID,
                       at("2024-05-06T00:00:00+08:00"));
    assert_null(instruction_of(&l, "C1", CW_PAYMENT_KIND_SETTLEMENT));
    pay_state_free(st);
}

static void valid_orders_are_settled_to_the_cent(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-02", 3);
    c.budget_cents = 10001;
    c.prepay_ratio_ppm = 333333; /* 3333.663333 → 3334 */
    put(st, &c, &l);
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_PREPAY, 3334, c.updated_at);
    char id[16];
    for (int i = 0; i < 9; i++) {
        snprintf(id, sizeof(id), "v%d", i);
        pay_order o = order(id, "C1", "P1", i < 5 ? "2024-05-01" : "2024-05-02", i != 4,
                            at("2024-05-03T08:00:00+08:00") + i);
        add(st, &o, PAY_ORDER_PENDING);
    }
    /* Not yet at 00:00 of D + 4. */
    advance(st, at("2024-05-04T23:59:59.999+08:00"), &l);
    assert_int_equal(l.ns, 0);
    advance(st, at("2024-05-05T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-01", 4, 1, 0, 0, 16000, 18000, "2024-05-05T00:00:00+08:00");
    assert_int_equal(l.ni, 1);
    advance(st, at("2024-05-06T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-02", 4, 0, 0, 0, 16000, 0, "2024-05-06T00:00:00+08:00");
    /* The net, 32000 − 18000 = 14000, is above the budget of 10001: paid
     * up to the budget, 10001 − 3334 prepaid. */
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_SETTLEMENT, 6667, at("2024-05-06T00:00:00+08:00"));
    /* Later watermarks publish nothing more. */
    advance(st, at("2024-07-01T00:00:00+08:00"), &l);
    assert_int_equal(l.ns, 2);
    assert_int_equal(l.ni, 2);
    pay_state_free(st);
}

static void order_finalized_after_its_statement_is_a_late_adjustment(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &c, &l);
    pay_order a = order("a", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    pay_order b = order("b", "C1", "P1", "2024-05-01", 0, at("2024-05-03T10:00:00+08:00"));
    /* Finalized at the very instant day 1 is published: too late for it. */
    pay_order cc = order("c", "C1", "P1", "2024-05-01", 1, at("2024-05-05T00:00:00+08:00"));
    pay_order d = order("d", "C1", "P1", "2024-05-02", 1, at("2024-05-03T09:00:00+08:00"));
    add(st, &a, PAY_ORDER_PENDING);
    add(st, &b, PAY_ORDER_PENDING);
    add(st, &cc, PAY_ORDER_PENDING);
    add(st, &d, PAY_ORDER_PENDING);
    advance(st, at("2024-05-05T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-01", 1, 1, 0, 0, 4000, 18000, "2024-05-05T00:00:00+08:00");
    /* Finalized before day 1's statement but read after it. */
    pay_order e = order("e", "C1", "P1", "2024-05-01", 1, at("2024-05-04T23:00:00+08:00"));
    add(st, &e, PAY_ORDER_PENDING);
    assert_int_equal(pay_state_find_account(st, "C1")->pending_orders, 3);
    advance(st, at("2024-05-06T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-02", 1, 0, 2, 0, 12000, 0, "2024-05-06T00:00:00+08:00");
    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_null(statement_of(&l, "C1", "2024-05-03"));
    /* 16000 − 18000 − 300000 */
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, 302000, at("2024-05-07T00:00:00+08:00"));
    assert_int_equal(pay_state_find_account(st, "C1")->pending_orders, 0);
    pay_state_free(st);
}

static void late_adjustment_gets_a_statement_of_its_own_on_an_empty_day(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &c, &l);
    pay_order a = order("a", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    pay_order late = order("late", "C1", "P1", "2024-05-01", 0, at("2024-05-05T03:00:00+08:00"));
    add(st, &a, PAY_ORDER_PENDING);
    add(st, &late, PAY_ORDER_PENDING);
    advance(st, at("2024-05-08T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-01", 1, 0, 0, 0, 4000, 0, "2024-05-05T00:00:00+08:00");
    assert_statement(&l, "C1", "2024-05-02", 0, 0, 0, 1, 0, 18000, "2024-05-06T00:00:00+08:00");
    assert_null(statement_of(&l, "C1", "2024-05-03"));
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, 314000, at("2024-05-07T00:00:00+08:00"));
    pay_state_free(st);
}

/* ---- watermark over partitions ------------------------------------------ */

#define QUIET_MS 2000

/* Two partitions of the input: p0 has read past T(D) of day D = 05-01, p1
 * is behind T(D) with order x of day D (finalized before T(D)) still on the
 * broker. Returns the state with the statement of D not published yet. */
static pay_state *one_partition_behind(ledger *l, pay_partition_clock p[2])
{
    pay_state *st = pay_state_new(480);
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &c, l);
    int64_t t = at("2024-05-05T00:00:00+08:00");
    pay_order a = order("a", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    pay_order b = order("b", "C1", "P1", "2024-05-02", 1, t + 2 * HOUR_MS);
    add(st, &a, PAY_ORDER_PENDING);
    add(st, &b, PAY_ORDER_PENDING);
    p[0] = (pay_partition_clock){.max_event_ms = t + 2 * HOUR_MS};
    p[1] = (pay_partition_clock){.max_event_ms = at("2024-05-04T20:00:00+08:00")};
    /* p0 has just had a message; p1 is quiet but has 2 records to fetch. */
    p[0].caught_up = pay_partition_caught_up(0, QUIET_MS, 40, 40);
    p[1].caught_up = pay_partition_caught_up(QUIET_MS, QUIET_MS, 10, 12);
    assert_int_equal(p[0].caught_up + p[1].caught_up, 0);
    advance(st, pay_watermark(p, 2, 0, 0, HOUR_MS), l);
    assert_int_equal(l->ns, 0);
    /* A live wall clock far ahead does not pass p1 either. */
    advance(st, pay_watermark(p, 2, t + 48 * HOUR_MS, 1, HOUR_MS), l);
    assert_int_equal(l->ns, 0);
    return st;
}

static void statement_waits_for_the_partition_behind_its_instant(void **state)
{
    (void)state;
    pay_partition_clock p[2];
    pay_order x = order("x", "C1", "P1", "2024-05-01", 0, at("2024-05-04T23:30:00+08:00"));

    /* p1 reads x and then a record past T(D) + lateness: the watermark passes
     * T(D) on its own clock. */
    ledger l = {0};
    pay_state *st = one_partition_behind(&l, p);
    add(st, &x, PAY_ORDER_PENDING);
    p[1].max_event_ms = at("2024-05-05T01:30:00+08:00");
    p[1].caught_up = pay_partition_caught_up(0, QUIET_MS, 12, 12);
    advance(st, pay_watermark(p, 2, 0, 0, HOUR_MS), &l);
    assert_int_equal(l.ns, 1);
    assert_statement(&l, "C1", "2024-05-01", 1, 1, 0, 0, 4000, 18000, "2024-05-05T00:00:00+08:00");
    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-02", 1, 0, 0, 0, 4000, 0, "2024-05-06T00:00:00+08:00");
    pay_state_free(st);

    /* p1 reads x, the last record the broker holds, and stays quiet: caught
     * up, it follows p0 past T(D). */
    memset(&l, 0, sizeof(l));
    st = one_partition_behind(&l, p);
    add(st, &x, PAY_ORDER_PENDING);
    p[1].max_event_ms = x.finalized_at;
    p[1].caught_up = pay_partition_caught_up(QUIET_MS - 1, QUIET_MS, 12, 12);
    advance(st, pay_watermark(p, 2, 0, 0, HOUR_MS), &l);
    assert_int_equal(l.ns, 0);
    p[1].caught_up = pay_partition_caught_up(QUIET_MS, QUIET_MS, 12, 12);
    advance(st, pay_watermark(p, 2, 0, 0, HOUR_MS), &l);
    assert_int_equal(l.ns, 1);
    assert_statement(&l, "C1", "2024-05-01", 1, 1, 0, 0, 4000, 18000, "2024-05-05T00:00:00+08:00");
    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-02", 1, 0, 0, 0, 4000, 0, "2024-05-06T00:00:00+08:00");
    pay_state_free(st);
}

static void contract_period_boundaries(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract april = contract("CA", "P1", "2024-04-01", "2024-04-30", 3);
    pay_contract may = contract("CM", "P1", "2024-05-01", "2024-05-31", 3);
    put(st, &april, &l);
    put(st, &may, &l);
    /* 23:30 local on 04-30 is 15:30 UTC: still April's day. */
    pay_order a = order("a", "CA", "P1", "2024-04-30", 1, at("2024-05-01T10:00:00+08:00"));
    pay_order m = order("m", "CM", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
    pay_order wrong = order("w", "CM", "P1", "2024-04-30", 1, at("2024-05-01T10:00:00+08:00"));
    pay_order after = order("x", "CM", "P1", "2024-06-01", 1, at("2024-06-02T10:00:00+08:00"));
    /* The settlement instant of April is 2024-05-04T00:00+08:00. */
    pay_order last = order("l", "CA", "P1", "2024-04-30", 0, at("2024-05-03T23:59:59.999+08:00"));
    pay_order too_late = order("t", "CA", "P1", "2024-04-30", 1, at("2024-05-04T00:00:00+08:00"));
    pay_order end_may =
        order("e", "CM", "P1", "2024-05-31", 1, at("2024-06-03T23:59:59.999+08:00"));
    add(st, &a, PAY_ORDER_PENDING);
    add(st, &m, PAY_ORDER_PENDING);
    add(st, &wrong, PAY_ORDER_REJECTED);
    add(st, &after, PAY_ORDER_REJECTED);
    add(st, &last, PAY_ORDER_PENDING);
    add(st, &too_late, PAY_ORDER_REJECTED);
    add(st, &end_may, PAY_ORDER_PENDING);
    advance(st, at("2024-05-04T00:00:00+08:00"), &l);
    assert_statement(&l, "CA", "2024-04-30", 1, 1, 0, 0, 4000, 18000, "2024-05-04T00:00:00+08:00");
    assert_instruction(&l, "CA", CW_PAYMENT_KIND_CLAWBACK, 314000, at("2024-05-04T00:00:00+08:00"));
    assert_null(instruction_of(&l, "CM", CW_PAYMENT_KIND_SETTLEMENT));
    assert_null(instruction_of(&l, "CM", CW_PAYMENT_KIND_CLAWBACK));
    advance(st, at("2024-06-04T00:00:00+08:00"), &l);
    assert_statement(&l, "CM", "2024-05-01", 1, 0, 0, 0, 4000, 0, "2024-05-05T00:00:00+08:00");
    assert_statement(&l, "CM", "2024-05-31", 1, 0, 0, 0, 4000, 0, "2024-06-04T00:00:00+08:00");
    assert_instruction(&l, "CM", CW_PAYMENT_KIND_CLAWBACK, PREPAID - 8000,
                       at("2024-06-04T00:00:00+08:00"));
    /* After April's settlement its orders are refused. */
    pay_order after_settlement = order("s", "CA", "P1", "2024-04-29", 1,
                                       at("2024-05-02T10:00:00+08:00"));
    add(st, &after_settlement, PAY_ORDER_REJECTED);
    pay_state_free(st);
}

static void duplicates_and_unpayable_orders(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-01", 3);
    put(st, &c, &l);
    pay_order o = order("o1", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    add(st, &o, PAY_ORDER_PENDING);
    add(st, &o, PAY_ORDER_DUPLICATE);
    pay_order changed = o;
    changed.valid = 0;
    add(st, &changed, PAY_ORDER_DUPLICATE);
    pay_order none = order("o2", NULL, "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    char reason[256];
    assert_int_equal(pay_state_add_order(st, &none, reason, sizeof(reason)), PAY_ORDER_REJECTED);
    assert_non_null(strstr(reason, "no contract"));
    pay_order other = order("o3", "C1", "P2", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    assert_int_equal(pay_state_add_order(st, &other, reason, sizeof(reason)), PAY_ORDER_REJECTED);
    assert_non_null(strstr(reason, "provider P2"));
    pay_order no_id = order("", "C1", "P1", "2024-05-01", 1, 0);
    add(st, &no_id, PAY_ORDER_REJECTED);
    /* A refused id stays seen: its copy is a duplicate, not a second refusal. */
    add(st, &none, PAY_ORDER_DUPLICATE);
    advance(st, at("2024-05-05T00:00:00+08:00"), &l);
    assert_statement(&l, "C1", "2024-05-01", 1, 0, 0, 0, 4000, 0, "2024-05-05T00:00:00+08:00");
    pay_state_free(st);
}

static void orders_may_come_before_their_contract(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_order o = order("o1", "C9", "P9", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    add(st, &o, PAY_ORDER_PENDING);
    assert_true(pay_state_next_due(st) == INT64_MAX);
    advance(st, at("2024-06-01T00:00:00+08:00"), &l);
    assert_int_equal(l.ns + l.ni, 0);
    assert_null(pay_state_find_account(st, "C9")->contract);
    pay_contract c = contract("C9", "P9", "2024-05-01", "2024-05-02", 1);
    put(st, &c, &l);
    assert_int_equal(pay_state_next_due(st), at("2024-05-03T00:00:00+08:00"));
    advance(st, at("2024-06-01T00:00:00+08:00"), &l);
    assert_statement(&l, "C9", "2024-05-01", 1, 0, 0, 0, 4000, 0, "2024-05-03T00:00:00+08:00");
    assert_instruction(&l, "C9", CW_PAYMENT_KIND_CLAWBACK, PREPAID - 4000,
                       at("2024-05-04T00:00:00+08:00"));
    pay_state_free(st);
}

static void contract_checks(void **state)
{
    (void)state;
    char reason[128];
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-31", 3);
    pay_contract bad = c;
    bad.period_end = day("2024-04-30");
    assert_int_equal(pay_contract_check(&bad, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "period_end"));
    bad = c;
    bad.prepay_ratio_ppm = 1000001;
    assert_int_equal(pay_contract_check(&bad, reason, sizeof(reason)), -1);
    bad = c;
    bad.unit_price_cents = -1;
    assert_int_equal(pay_contract_check(&bad, reason, sizeof(reason)), -1);
    bad = c;
    bad.provider_id[0] = '\0';
    assert_int_equal(pay_contract_check(&bad, reason, sizeof(reason)), -1);
    bad = c;
    bad.publication_lag_days = -1;
    assert_int_equal(pay_contract_check(&bad, reason, sizeof(reason)), -1);
    assert_int_equal(pay_contract_check(&c, reason, sizeof(reason)), 0);
}

/* ---- streaming, batch and restart give one answer ------------------------ */

typedef struct {
    int is_contract;
    pay_contract c;
    char id[16], contract_id[16], provider[16];
    int64_t service_day;
    int valid;
    int64_t finalized_at;
} event;

static pay_order as_order(const event *e)
{
    return (pay_order){.order_id = e->id, .provider_id = e->provider,
                       .contract_id = e->contract_id[0] ? e->contract_id : NULL,
                       .service_day = e->service_day, .valid = e->valid,
                       .finalized_at = e->finalized_at};
}

#define LATENESS_MS (30 * 60000LL)
#define MAX_EVENTS 200

/* Two contracts, orders of every day finalized from the next morning to a
 * few hours past their statement (some late), a duplicate, an order without
 * contract; in finalized_at order, then shuffled within the lateness. */
static size_t scenario(event *ev)
{
    size_t n = 0;
    memset(ev, 0, sizeof(*ev) * MAX_EVENTS);
    ev[n].is_contract = 1;
    ev[n++].c = contract("C1", "P1", "2024-05-01", "2024-05-05", 3);
    ev[n].is_contract = 1;
    ev[n++].c = contract("C2", "P2", "2024-05-01", "2024-05-03", 1);
    uint32_t x = 2463534242u;
    int k = 0;
    for (int d = 0; d < 5; d++) {
        for (int i = 0; i < 12; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            event *e = &ev[n++];
            int second = (x % 3 == 0) && d < 3;
            snprintf(e->id, sizeof(e->id), "o%d", k++);
            snprintf(e->contract_id, sizeof(e->contract_id), "%s", second ? "C2" : "C1");
            snprintf(e->provider, sizeof(e->provider), "%s", second ? "P2" : "P1");
            e->service_day = day("2024-05-01") + d;
            e->valid = (x >> 8) % 5 != 0;
            /* From 08:00 of D+1 to 04:00 past the statement at D + lag + 1. */
            int lag = second ? 1 : 3;
            int64_t span = (int64_t)lag * 24 * HOUR_MS - 4 * HOUR_MS;
            e->finalized_at = at("2024-05-01T08:00:00+08:00") + (d + 1) * 24 * HOUR_MS +
                              (int64_t)((x >> 4) % (uint32_t)(span / 60000)) * 60000;
        }
    }
    event dup = ev[5];
    ev[n++] = dup;
    event none = ev[6];
    snprintf(none.id, sizeof(none.id), "nc");
    none.contract_id[0] = '\0';
    ev[n++] = none;
    /* Sort the orders by finalized_at (insertion sort, contracts stay first). */
    for (size_t i = 3; i < n; i++)
        for (size_t j = i; j > 2 && ev[j].finalized_at < ev[j - 1].finalized_at; j--) {
            event t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    /* Swap neighbours less than the lateness apart. */
    for (size_t i = 3; i + 1 < n; i += 3)
        if (ev[i + 1].finalized_at - ev[i].finalized_at < LATENESS_MS) {
            event t = ev[i];
            ev[i] = ev[i + 1];
            ev[i + 1] = t;
        }
    return n;
}

static int64_t final_watermark(void)
{
    return at("2024-06-01T00:00:00+08:00");
}

/* The streaming service: every event, then the watermark moves. */
static void stream_events(pay_state *st, const event *ev, size_t from, size_t to,
                          int64_t *max_event, ledger *l)
{
    for (size_t i = from; i < to; i++) {
        char reason[256];
        if (ev[i].is_contract) {
            put(st, &ev[i].c, l);
            continue;
        }
        pay_order o = as_order(&ev[i]);
        assert_int_not_equal(pay_state_add_order(st, &o, reason, sizeof(reason)),
                             PAY_ORDER_ERROR);
        if (o.finalized_at > *max_event)
            *max_event = o.finalized_at;
        advance(st, *max_event - LATENESS_MS, l);
    }
}

static int same_statement(const pay_statement *a, const pay_statement *b)
{
    return strcmp(a->contract_id, b->contract_id) == 0 &&
           strcmp(a->provider_id, b->provider_id) == 0 && a->service_day == b->service_day &&
           a->valid_orders == b->valid_orders && a->invalid_orders == b->invalid_orders &&
           a->late_valid_orders == b->late_valid_orders &&
           a->late_invalid_orders == b->late_invalid_orders && a->gross_cents == b->gross_cents &&
           a->deduction_cents == b->deduction_cents && a->published_at == b->published_at;
}

static int same_instruction(const pay_instruction *a, const pay_instruction *b)
{
    return strcmp(a->contract_id, b->contract_id) == 0 &&
           strcmp(a->provider_id, b->provider_id) == 0 && a->kind == b->kind &&
           a->amount_cents == b->amount_cents && a->period_start == b->period_start &&
           a->period_end == b->period_end && a->created_at == b->created_at &&
           strcmp(a->payer_account, b->payer_account) == 0 &&
           strcmp(a->payee_account, b->payee_account) == 0;
}

/* a and b hold the same records, and neither holds an id twice. */
static void assert_same_ledger(const ledger *a, const ledger *b)
{
    assert_int_equal(a->ns, b->ns);
    assert_int_equal(a->ni, b->ni);
    for (size_t i = 0; i < a->ns; i++) {
        size_t found = 0;
        for (size_t k = 0; k < b->ns; k++)
            found += same_statement(&a->st[i], &b->st[k]);
        for (size_t k = i + 1; k < a->ns; k++)
            if (strcmp(a->st[i].contract_id, a->st[k].contract_id) == 0 &&
                a->st[i].service_day == a->st[k].service_day)
                fail_msg("statement %s day %lld published twice", a->st[i].contract_id,
                         (long long)a->st[i].service_day);
        if (found != 1)
            fail_msg("statement %s day %lld: %zu matches", a->st[i].contract_id,
                     (long long)a->st[i].service_day, found);
    }
    for (size_t i = 0; i < a->ni; i++) {
        size_t found = 0;
        for (size_t k = 0; k < b->ni; k++)
            found += same_instruction(&a->in[i], &b->in[k]);
        for (size_t k = i + 1; k < a->ni; k++)
            if (strcmp(a->in[i].contract_id, a->in[k].contract_id) == 0 &&
                (a->in[i].kind == CW_PAYMENT_KIND_PREPAY) ==
                    (a->in[k].kind == CW_PAYMENT_KIND_PREPAY))
                fail_msg("instruction of %s published twice", a->in[i].contract_id);
        if (found != 1)
            fail_msg("instruction %s kind %d: %zu matches", a->in[i].contract_id, a->in[i].kind,
                     found);
    }
}

static void uninterrupted(const event *ev, size_t n, ledger *l)
{
    pay_state *st = pay_state_new(480);
    int64_t max_event = INT64_MIN;
    stream_events(st, ev, 0, n, &max_event, l);
    advance(st, final_watermark(), l);
    pay_state_free(st);
}

static void streaming_run_counts_every_order_once(void **state)
{
    (void)state;
    static event ev[MAX_EVENTS];
    static ledger l;
    size_t n = scenario(ev);
    memset(&l, 0, sizeof(l));
    uninterrupted(ev, n, &l);
    /* Every payable order is in exactly one statement: one with a contract,
     * once per id, finalized before its contract's settlement instant. */
    int64_t counted = 0, gross = 0, deduction = 0;
    for (size_t i = 0; i < l.ns; i++) {
        counted += l.st[i].valid_orders + l.st[i].invalid_orders + l.st[i].late_valid_orders +
                   l.st[i].late_invalid_orders;
        gross += l.st[i].gross_cents;
        deduction += l.st[i].deduction_cents;
    }
    int64_t payable = 0, valid = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        int repeated = 0;
        for (size_t k = 0; k < i; k++)
            repeated |= !ev[k].is_contract && strcmp(ev[k].id, ev[i].id) == 0;
        if (ev[i].is_contract || ev[i].contract_id[0] == '\0' || repeated)
            continue;
        int64_t settles = strcmp(ev[i].contract_id, "C1") == 0 ? at("2024-05-09T00:00:00+08:00")
                                                                : at("2024-05-05T00:00:00+08:00");
        if (ev[i].finalized_at >= settles) {
            refused++;
            continue;
        }
        payable++;
        valid += ev[i].valid;
    }
    assert_int_equal(payable + refused, 60);
    assert_int_equal(counted, payable);
    assert_int_equal(gross, valid * UNIT);
    assert_int_equal(deduction, (payable - valid) * DEDUCTION);
    int64_t late = 0;
    for (size_t i = 0; i < l.ns; i++)
        late += l.st[i].late_valid_orders + l.st[i].late_invalid_orders;
    assert_true(late > 0); /* the scenario does exercise late adjustments */
    assert_int_equal(l.ni, 4);
}

static void batch_run_equals_streaming_run(void **state)
{
    (void)state;
    static event ev[MAX_EVENTS];
    static ledger streamed, batched;
    size_t n = scenario(ev);
    memset(&streamed, 0, sizeof(streamed));
    memset(&batched, 0, sizeof(batched));
    uninterrupted(ev, n, &streamed);

    /* Batch: the records in another order (last to first), one advance. */
    pay_state *st = pay_state_new(480);
    for (size_t i = 0; i < 2; i++)
        put(st, &ev[i].c, &batched);
    for (size_t i = n; i-- > 2;) {
        char reason[256];
        pay_order o = as_order(&ev[i]);
        assert_int_not_equal(pay_state_add_order(st, &o, reason, sizeof(reason)),
                             PAY_ORDER_ERROR);
    }
    advance(st, final_watermark(), &batched);
    pay_state_free(st);
    assert_same_ledger(&streamed, &batched);
}

/* A crash after event k, with everything published up to there committed;
 * the restart reads back the published records and the whole input (up to
 * event `seen`), then streams the rest. */
static void restart_after(const event *ev, size_t n, size_t k, size_t seen, ledger *out)
{
    pay_state *st = pay_state_new(480);
    int64_t max_event = INT64_MIN;
    memset(out, 0, sizeof(*out));
    stream_events(st, ev, 0, k, &max_event, out);
    pay_state_free(st);

    st = pay_state_new(480);
    for (size_t i = 0; i < out->ni; i++)
        assert_int_equal(pay_state_restore_instruction(st, &out->in[i]), PAY_RECORD_TAKEN);
    for (size_t i = 0; i < out->ns; i++)
        assert_int_equal(pay_state_restore_statement(st, &out->st[i]), PAY_RECORD_TAKEN);
    for (size_t i = 0; i < seen; i++)
        if (ev[i].is_contract)
            put(st, &ev[i].c, out);
    max_event = INT64_MIN;
    for (size_t i = 0; i < seen; i++) {
        if (ev[i].is_contract)
            continue;
        char reason[256];
        pay_order o = as_order(&ev[i]);
        assert_int_not_equal(pay_state_replay_order(st, &o, reason, sizeof(reason)),
                             PAY_ORDER_ERROR);
        if (o.finalized_at > max_event)
            max_event = o.finalized_at;
    }
    assert_int_equal(pay_state_finish_replay(st), 0);
    if (max_event != INT64_MIN)
        advance(st, max_event - LATENESS_MS, out);
    stream_events(st, ev, seen, n, &max_event, out);
    advance(st, final_watermark(), out);
    pay_state_free(st);
}

static void restart_after_a_crash_anywhere_publishes_the_same_once(void **state)
{
    (void)state;
    static event ev[MAX_EVENTS];
    static ledger whole, resumed;
    size_t n = scenario(ev);
    memset(&whole, 0, sizeof(whole));
    uninterrupted(ev, n, &whole);
    for (size_t k = 0; k <= n; k++) {
        /* The restart finds exactly what was read, or more input waiting. */
        size_t seen[3] = {k, k + (n - k) / 2, n};
        for (int j = 0; j < 3; j++) {
            restart_after(ev, n, k, seen[j], &resumed);
            assert_same_ledger(&resumed, &whole);
        }
    }
}

static void restart_carries_an_order_read_after_its_statement(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &c, &l);
    pay_order a = order("a", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    pay_order b = order("b", "C1", "P1", "2024-05-01", 0, at("2024-05-03T10:00:00+08:00"));
    pay_order e = order("e", "C1", "P1", "2024-05-01", 1, at("2024-05-04T23:00:00+08:00"));
    add(st, &a, PAY_ORDER_PENDING);
    add(st, &b, PAY_ORDER_PENDING);
    advance(st, at("2024-05-05T00:30:00+08:00"), &l);
    add(st, &e, PAY_ORDER_PENDING); /* read after day 1's statement: late */
    pay_state_free(st);             /* crash before day 2's statement */

    /* Day 1's statement would have counted e, but does not: e is owed. */
    st = pay_state_new(480);
    for (size_t i = 0; i < l.ni; i++)
        assert_int_equal(pay_state_restore_instruction(st, &l.in[i]), PAY_RECORD_TAKEN);
    assert_int_equal(pay_state_restore_statement(st, &l.st[0]), PAY_RECORD_TAKEN);
    assert_int_equal(pay_state_restore_statement(st, &l.st[0]), PAY_RECORD_IGNORED);
    ledger after = {0};
    put(st, &c, &after);
    assert_int_equal(after.ni, 0); /* PREPAY published already */
    char reason[256];
    assert_int_equal(pay_state_replay_order(st, &a, reason, sizeof(reason)), PAY_ORDER_COUNTED);
    assert_int_equal(pay_state_replay_order(st, &b, reason, sizeof(reason)), PAY_ORDER_COUNTED);
    assert_int_equal(pay_state_replay_order(st, &e, reason, sizeof(reason)), PAY_ORDER_COUNTED);
    assert_int_equal(pay_state_replay_order(st, &e, reason, sizeof(reason)), PAY_ORDER_DUPLICATE);
    assert_int_equal(pay_state_finish_replay(st), 0);
    advance(st, at("2024-05-05T00:30:00+08:00"), &after);
    assert_int_equal(after.ns, 0); /* day 1 is not published again */
    advance(st, at("2024-05-07T00:00:00+08:00"), &after);
    assert_statement(&after, "C1", "2024-05-02", 0, 0, 1, 0, 4000, 0, "2024-05-06T00:00:00+08:00");
    assert_instruction(&after, "C1", CW_PAYMENT_KIND_CLAWBACK, 300000 - 8000 + 18000,
                       at("2024-05-07T00:00:00+08:00"));
    pay_state_free(st);
}

static void replay_after_the_settlement(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &c, &l);
    pay_order a = order("a", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    add(st, &a, PAY_ORDER_PENDING);
    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_int_equal(l.ni, 2);
    /* Read after the settlement: refused, now and on every replay. */
    pay_order f = order("f", "C1", "P1", "2024-05-03", 1, at("2024-05-06T10:00:00+08:00"));
    add(st, &f, PAY_ORDER_REJECTED);
    pay_state_free(st);

    st = pay_state_new(480);
    for (size_t i = 0; i < l.ni; i++)
        assert_int_equal(pay_state_restore_instruction(st, &l.in[i]), PAY_RECORD_TAKEN);
    assert_int_equal(pay_state_restore_instruction(st, &l.in[1]), PAY_RECORD_IGNORED);
    for (size_t i = 0; i < l.ns; i++)
        assert_int_equal(pay_state_restore_statement(st, &l.st[i]), PAY_RECORD_TAKEN);
    ledger after = {0};
    put(st, &c, &after);
    char reason[256];
    assert_int_equal(pay_state_replay_order(st, &a, reason, sizeof(reason)), PAY_ORDER_COUNTED);
    assert_int_equal(pay_state_replay_order(st, &f, reason, sizeof(reason)), PAY_ORDER_REJECTED);
    assert_non_null(strstr(reason, "settled"));
    assert_int_equal(pay_state_finish_replay(st), 0);
    advance(st, final_watermark(), &after);
    assert_int_equal(after.ns + after.ni, 0);
    assert_true(pay_state_find_account(st, "C1")->settled);
    pay_state_free(st);
}

static void dead_lettered_orders_are_only_marked_seen(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-01", 3);
    put(st, &c, &l);
    assert_int_equal(pay_state_mark_seen(st, "gone"), 0);
    pay_order o = order("gone", "C1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"));
    add(st, &o, PAY_ORDER_DUPLICATE);
    advance(st, final_watermark(), &l);
    assert_null(statement_of(&l, "C1", "2024-05-01"));
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, PREPAID,
                       at("2024-05-05T00:00:00+08:00"));
    pay_state_free(st);
}

/* ---- historical contracts ------------------------------------------------ */

/* A past period registered by an import, with both accounts. */
static pay_contract historical_contract(const char *id, const char *provider,
                                        const char *start, const char *end, int lag)
{
    pay_contract c = contract(id, provider, start, end, lag);
    c.historical = 1;
    snprintf(c.provider_account, sizeof(c.provider_account), "ACC-%s", provider);
    snprintf(c.treasury_account, sizeof(c.treasury_account), "TREASURY");
    return c;
}

static void assert_accounts(const pay_instruction *in, const char *payer, const char *payee)
{
    assert_non_null(in);
    assert_string_equal(in->payer_account, payer);
    assert_string_equal(in->payee_account, payee);
}

static void historical_contract_gets_one_clawback_of_its_invalid_orders(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract h = historical_contract("H1", "P1", "2024-05-01", "2024-05-03", 3);
    h.budget_cents = 20000; /* below the clawback: a clawback is not capped */
    put(st, &h, &l);
    assert_int_equal(l.ni, 0); /* no PREPAY */
    pay_order orders[] = {
        order("v1", "H1", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00")),
        order("i1", "H1", "P1", "2024-05-01", 0, at("2024-05-02T10:00:00+08:00")),
        order("i2", "H1", "P1", "2024-05-02", 0, at("2024-05-03T10:00:00+08:00")),
        order("v2", "H1", "P1", "2024-05-03", 1, at("2024-05-04T10:00:00+08:00")),
        /* Finalized in the last millisecond before the settlement instant. */
        order("i3", "H1", "P1", "2024-05-03", 0, at("2024-05-06T23:59:59.999+08:00")),
    };
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
        add(st, &orders[i], PAY_ORDER_PENDING);
    pay_order too_late = order("i4", "H1", "P1", "2024-05-03", 0, at("2024-05-07T00:00:00+08:00"));
    add(st, &too_late, PAY_ORDER_REJECTED);
    const pay_account *a = pay_state_find_account(st, "H1");
    assert_true(a->historical);
    assert_false(a->closed);
    assert_int_equal(a->pending_orders, 5);

    /* No statement on any day, T+3 passed or not. */
    advance(st, at("2024-05-06T23:59:59.999+08:00"), &l);
    assert_int_equal(l.ns + l.ni + l.nb, 0);
    assert_int_equal(pay_state_next_due(st), at("2024-05-07T00:00:00+08:00"));

    advance(st, at("2024-05-07T00:00:00+08:00"), &l);
    assert_int_equal(l.ns, 0);
    assert_int_equal(l.nb, 0);
    assert_int_equal(l.ni, 1);
    assert_instruction(&l, "H1", CW_PAYMENT_KIND_CLAWBACK, 3 * DEDUCTION,
                       at("2024-05-07T00:00:00+08:00"));
    assert_accounts(&l.in[0], "ACC-P1", "TREASURY"); /* 上缴区财政国库 */
    assert_int_equal(l.in[0].period_start, day("2024-05-01"));
    assert_int_equal(l.in[0].period_end, day("2024-05-03"));
    char id[PAY_RECORD_ID_MAX];
    assert_int_equal(pay_instruction_id(id, sizeof(id), l.in[0].contract_id, l.in[0].kind,
                                        l.in[0].period_end),
                     0);
    assert_string_equal(id, "H1:CLAWBACK:2024-05-03");

    a = pay_state_find_account(st, "H1");
    assert_true(a->settled && a->closed && a->historical);
    assert_false(a->has_prepay);
    assert_int_equal(a->historical_valid, 2);
    assert_int_equal(a->historical_invalid, 3);
    assert_int_equal(a->pending_orders, 0);
    assert_int_equal(a->unsettled_orders, 0);
    assert_int_equal(a->statement_count, 0);
    assert_int_equal(pay_state_next_due(st), INT64_MAX);

    /* Read after the close: refused, and nothing more is published. */
    pay_order after = order("v3", "H1", "P1", "2024-05-02", 1, at("2024-05-05T10:00:00+08:00"));
    add(st, &after, PAY_ORDER_REJECTED);
    advance(st, final_watermark(), &l);
    assert_int_equal(l.ni, 1);
    pay_state_free(st);
}

/* Orders of a historical contract read before it is known wait for it;
 * those outside its period are left unsettled at the close. */
static void historical_orders_may_come_before_their_contract(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_order in = order("i1", "H1", "P1", "2024-05-02", 0, at("2024-05-03T10:00:00+08:00"));
    pay_order out = order("o1", "H1", "P1", "2024-05-09", 0, at("2024-05-03T11:00:00+08:00"));
    add(st, &in, PAY_ORDER_PENDING);
    add(st, &out, PAY_ORDER_PENDING);
    pay_contract h = historical_contract("H1", "P1", "2024-05-01", "2024-05-03", 3);
    put(st, &h, &l);
    advance(st, final_watermark(), &l);
    assert_int_equal(l.ni, 1);
    assert_instruction(&l, "H1", CW_PAYMENT_KIND_CLAWBACK, DEDUCTION,
                       at("2024-05-07T00:00:00+08:00"));
    assert_int_equal(pay_state_find_account(st, "H1")->unsettled_orders, 1);
    pay_state_free(st);
}

/* Nothing to claw back: no instruction (not a CLAWBACK of 0), the account
 * closed all the same; a later version cannot turn it into a running
 * contract. */
static void historical_without_invalid_orders_publishes_nothing(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract h = historical_contract("H0", "P1", "2024-05-01", "2024-05-02", 1);
    pay_contract empty = historical_contract("HE", "P2", "2024-05-01", "2024-05-02", 1);
    put(st, &h, &l);
    put(st, &empty, &l);
    pay_order v1 = order("v1", "H0", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
    pay_order v2 = order("v2", "H0", "P1", "2024-05-02", 1, at("2024-05-02T12:00:00+08:00"));
    add(st, &v1, PAY_ORDER_PENDING);
    add(st, &v2, PAY_ORDER_PENDING);
    advance(st, at("2024-05-04T00:00:00+08:00"), &l);
    assert_int_equal(l.ns + l.ni + l.nb, 0);
    for (int k = 0; k < 2; k++) {
        const pay_account *a = pay_state_find_account(st, k == 0 ? "H0" : "HE");
        assert_true(a->closed && a->historical);
        assert_false(a->settled);
        assert_int_equal(a->historical_invalid, 0);
        assert_int_equal(a->historical_valid, k == 0 ? 2 : 0);
    }
    assert_int_equal(pay_state_next_due(st), INT64_MAX);
    pay_order late = order("i1", "H0", "P1", "2024-05-02", 0, at("2024-05-03T12:00:00+08:00"));
    add(st, &late, PAY_ORDER_REJECTED);

    pay_contract running = h;
    running.historical = 0;
    running.updated_at += 1;
    pay_output o = {0};
    assert_int_equal(pay_state_put_contract(st, &running, &o), PAY_RECORD_TAKEN);
    assert_int_equal(o.instruction_count, 0);
    pay_output_free(&o);
    advance(st, final_watermark(), &l);
    assert_int_equal(l.ns + l.ni, 0);
    assert_true(pay_state_find_account(st, "H0")->historical);
    pay_state_free(st);
}

/* PREPAY and SETTLEMENT from the treasury to the provider, CLAWBACK back;
 * accounts from the contract version held when the instruction is made;
 * none named, none on the instruction. */
static void instructions_carry_payer_and_payee(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract paid = historical_contract("C1", "P1", "2024-05-01", "2024-05-01", 3);
    paid.historical = 0;
    pay_contract back = historical_contract("C2", "P2", "2024-05-01", "2024-05-01", 3);
    back.historical = 0;
    pay_contract bare = contract("C3", "P3", "2024-05-01", "2024-05-01", 3);
    put(st, &paid, &l);
    put(st, &back, &l);
    put(st, &bare, &l);
    assert_accounts(instruction_of(&l, "C1", CW_PAYMENT_KIND_PREPAY), "TREASURY", "ACC-P1");
    assert_accounts(instruction_of(&l, "C2", CW_PAYMENT_KIND_PREPAY), "TREASURY", "ACC-P2");
    assert_accounts(instruction_of(&l, "C3", CW_PAYMENT_KIND_PREPAY), "", "");
    /* The provider's account changes before the settlement. */
    pay_contract moved = paid;
    moved.updated_at += 1;
    snprintf(moved.provider_account, sizeof(moved.provider_account), "ACC-P1-NEW");
    put(st, &moved, &l);
    char id[16];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof(id), "o%d", i);
        pay_order o = order(id, "C1", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
        add(st, &o, PAY_ORDER_PENDING);
    }
    advance(st, final_watermark(), &l);
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_SETTLEMENT, 100 * UNIT - PREPAID,
                       at("2024-05-05T00:00:00+08:00"));
    assert_accounts(instruction_of(&l, "C1", CW_PAYMENT_KIND_SETTLEMENT), "TREASURY", "ACC-P1-NEW");
    assert_accounts(instruction_of(&l, "C1", CW_PAYMENT_KIND_PREPAY), "TREASURY", "ACC-P1");
    assert_instruction(&l, "C2", CW_PAYMENT_KIND_CLAWBACK, PREPAID,
                       at("2024-05-05T00:00:00+08:00"));
    assert_accounts(instruction_of(&l, "C2", CW_PAYMENT_KIND_CLAWBACK), "ACC-P2", "TREASURY");
    assert_accounts(instruction_of(&l, "C3", CW_PAYMENT_KIND_CLAWBACK), "", "");
    pay_state_free(st);
}

/* What a version that changes the flag does (payment_state.h): a running
 * contract stays one; a historical one not closed yet becomes a running one
 * with its PREPAY then, and its waiting orders on its statements. */
static void historical_flag_changed_by_a_newer_version(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract c = contract("C1", "P1", "2024-05-01", "2024-05-01", 3);
    put(st, &c, &l);
    pay_contract now_historical = c;
    now_historical.historical = 1;
    now_historical.updated_at += 1;
    put(st, &now_historical, &l);
    assert_false(pay_state_find_account(st, "C1")->historical);
    pay_order v = order("v", "C1", "P1", "2024-05-01", 1, at("2024-05-01T12:00:00+08:00"));
    add(st, &v, PAY_ORDER_PENDING);

    pay_contract f = historical_contract("F1", "P2", "2024-05-01", "2024-05-02", 3);
    put(st, &f, &l);
    pay_order w = order("w", "F1", "P2", "2024-05-01", 0, at("2024-05-01T12:00:00+08:00"));
    add(st, &w, PAY_ORDER_PENDING);
    advance(st, at("2024-05-04T00:00:00+08:00"), &l);
    assert_int_equal(l.ni, 1); /* C1's PREPAY only */
    pay_contract running = f;
    running.historical = 0;
    running.updated_at = at("2024-05-04T09:00:00+08:00");
    put(st, &running, &l);
    assert_instruction(&l, "F1", CW_PAYMENT_KIND_PREPAY, PREPAID, running.updated_at);
    assert_false(pay_state_find_account(st, "F1")->historical);

    advance(st, final_watermark(), &l);
    assert_statement(&l, "C1", "2024-05-01", 1, 0, 0, 0, UNIT, 0, "2024-05-05T00:00:00+08:00");
    assert_instruction(&l, "C1", CW_PAYMENT_KIND_CLAWBACK, PREPAID - UNIT,
                       at("2024-05-05T00:00:00+08:00"));
    assert_statement(&l, "F1", "2024-05-01", 0, 1, 0, 0, 0, DEDUCTION,
                     "2024-05-05T00:00:00+08:00");
    assert_instruction(&l, "F1", CW_PAYMENT_KIND_CLAWBACK, PREPAID + DEDUCTION,
                       at("2024-05-06T00:00:00+08:00"));
    pay_state_free(st);

    /* Closed with its CLAWBACK: a running version changes nothing. */
    st = pay_state_new(480);
    ledger m = {0};
    pay_contract h = historical_contract("H1", "P1", "2024-05-01", "2024-05-01", 3);
    put(st, &h, &m);
    pay_order i = order("i", "H1", "P1", "2024-05-01", 0, at("2024-05-01T12:00:00+08:00"));
    add(st, &i, PAY_ORDER_PENDING);
    advance(st, final_watermark(), &m);
    pay_contract late = h;
    late.historical = 0;
    late.updated_at += 1;
    put(st, &late, &m);
    advance(st, final_watermark(), &m);
    assert_int_equal(m.ni, 1);
    assert_instruction(&m, "H1", CW_PAYMENT_KIND_CLAWBACK, DEDUCTION,
                       at("2024-05-05T00:00:00+08:00"));
    assert_true(pay_state_find_account(st, "H1")->historical);
    pay_state_free(st);
}

/* ---- historical contracts: batch and restart ----------------------------- */

/* Historical contracts among a running one: H (P3) with valid and invalid
 * orders, some finalized after its settlement instant; H0 (P4) with valid
 * orders only; F (P5) registered historical and turned into a running
 * contract by a newer version before its first statement instant; C1 (P1)
 * running. Orders in finalized_at order, with a duplicate. */
static size_t history_scenario(event *ev)
{
    static const struct {
        const char *contract, *provider;
        int lag, first, last, all_valid;
    } who[] = {{"H", "P3", 3, 0, 3, 0},
               {"H0", "P4", 1, 0, 1, 1},
               {"F", "P5", 2, 1, 2, 0},
               {"C1", "P1", 3, 0, 2, 0}};
    size_t n = 0;
    memset(ev, 0, sizeof(*ev) * MAX_EVENTS);
    pay_contract running = historical_contract("C1", "P1", "2024-05-01", "2024-05-03", 3);
    running.historical = 0;
    const pay_contract contracts[] = {
        historical_contract("H", "P3", "2024-05-01", "2024-05-04", 3),
        historical_contract("H0", "P4", "2024-05-01", "2024-05-02", 1),
        historical_contract("F", "P5", "2024-05-02", "2024-05-03", 2), running};
    for (size_t i = 0; i < 4; i++) {
        ev[n].is_contract = 1;
        ev[n++].c = contracts[i];
    }
    uint32_t x = 88172645u;
    int k = 0;
    for (int d = 0; d < 4; d++) {
        for (int i = 0; i < 12; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            size_t w = x % 4;
            if (d < who[w].first || d > who[w].last)
                w = 0;
            event *e = &ev[n++];
            snprintf(e->id, sizeof(e->id), "h%d", k++);
            snprintf(e->contract_id, sizeof(e->contract_id), "%s", who[w].contract);
            snprintf(e->provider, sizeof(e->provider), "%s", who[w].provider);
            e->service_day = day("2024-05-01") + d;
            e->valid = who[w].all_valid || (x >> 8) % 3 != 0;
            /* From 08:00 of D+1 to 04:00 past the statement instant of D. */
            int64_t span = (int64_t)who[w].lag * 24 * HOUR_MS - 4 * HOUR_MS;
            e->finalized_at = at("2024-05-01T08:00:00+08:00") + (d + 1) * 24 * HOUR_MS +
                              (int64_t)((x >> 4) % (uint32_t)(span / 60000)) * 60000;
        }
    }
    /* H's invalid orders either side of its settlement instant. */
    static const char *const edge[] = {"2024-05-07T23:59:59.999+08:00",
                                       "2024-05-08T01:00:00+08:00"};
    for (int i = 0; i < 2; i++) {
        event *e = &ev[n++];
        snprintf(e->id, sizeof(e->id), "edge%d", i);
        snprintf(e->contract_id, sizeof(e->contract_id), "H");
        snprintf(e->provider, sizeof(e->provider), "P3");
        e->service_day = day("2024-05-04");
        e->finalized_at = at(edge[i]);
    }
    event dup = ev[9];
    ev[n++] = dup;
    for (size_t i = 5; i < n; i++)
        for (size_t j = i; j > 4 && ev[j].finalized_at < ev[j - 1].finalized_at; j--) {
            event t = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = t;
        }
    /* F's newer version, after three orders: a running contract from then. */
    memmove(&ev[8], &ev[7], (n - 7) * sizeof(*ev));
    n++;
    memset(&ev[7], 0, sizeof(*ev));
    ev[7].is_contract = 1;
    ev[7].c = contracts[2];
    ev[7].c.historical = 0;
    ev[7].c.updated_at = at("2024-05-02T09:00:00+08:00");
    return n;
}

/* The batch run: every contract version in order, then the orders last to
 * first, one advance. */
static void batch_events(const event *ev, size_t n, ledger *l)
{
    pay_state *st = pay_state_new(480);
    for (size_t i = 0; i < n; i++)
        if (ev[i].is_contract)
            put(st, &ev[i].c, l);
    for (size_t i = n; i-- > 0;) {
        if (ev[i].is_contract)
            continue;
        char reason[256];
        pay_order o = as_order(&ev[i]);
        assert_int_not_equal(pay_state_add_order(st, &o, reason, sizeof(reason)),
                             PAY_ORDER_ERROR);
    }
    advance(st, final_watermark(), l);
    pay_state_free(st);
}

static void historical_runs_agree_and_survive_a_crash_anywhere(void **state)
{
    (void)state;
    static event ev[MAX_EVENTS];
    static ledger whole, batched, resumed;
    size_t n = history_scenario(ev);
    memset(&whole, 0, sizeof(whole));
    uninterrupted(ev, n, &whole);

    /* H: one CLAWBACK of its invalid orders finalized before T(period_end);
     * the scenario does have some finalized after it. */
    int64_t invalid = 0, refused = 0, h_orders = 0;
    for (size_t i = 0; i < n; i++) {
        int repeated = 0;
        for (size_t k = 0; k < i; k++)
            repeated |= !ev[k].is_contract && strcmp(ev[k].id, ev[i].id) == 0;
        if (ev[i].is_contract || strcmp(ev[i].contract_id, "H") != 0 || repeated)
            continue;
        h_orders++;
        if (ev[i].finalized_at >= at("2024-05-08T00:00:00+08:00"))
            refused++;
        else
            invalid += !ev[i].valid;
    }
    if (h_orders < 10 || refused == 0 || invalid == 0)
        fail_msg("H: %lld orders, %lld refused, %lld invalid", (long long)h_orders,
                 (long long)refused, (long long)invalid);
    assert_instruction(&whole, "H", CW_PAYMENT_KIND_CLAWBACK, invalid * DEDUCTION,
                       at("2024-05-08T00:00:00+08:00"));
    assert_accounts(instruction_of(&whole, "H", CW_PAYMENT_KIND_CLAWBACK), "ACC-P3", "TREASURY");
    assert_null(instruction_of(&whole, "H", CW_PAYMENT_KIND_PREPAY));
    assert_null(instruction_of(&whole, "H0", CW_PAYMENT_KIND_PREPAY));
    assert_null(instruction_of(&whole, "H0", CW_PAYMENT_KIND_CLAWBACK));
    for (size_t i = 0; i < whole.ns; i++)
        assert_true(whole.st[i].contract_id[0] == 'F' || whole.st[i].contract_id[0] == 'C');
    assert_instruction(&whole, "F", CW_PAYMENT_KIND_PREPAY, PREPAID,
                       at("2024-05-02T09:00:00+08:00"));
    assert_non_null(statement_of(&whole, "F", "2024-05-02"));
    assert_non_null(instruction_of(&whole, "C1", CW_PAYMENT_KIND_PREPAY));
    assert_int_equal(whole.ni, 5); /* H's CLAWBACK, F's and C1's PREPAY and settlement */

    memset(&batched, 0, sizeof(batched));
    batch_events(ev, n, &batched);
    assert_same_ledger(&batched, &whole);

    for (size_t k = 0; k <= n; k++) {
        size_t seen[3] = {k, k + (n - k) / 2, n};
        for (int j = 0; j < 3; j++) {
            restart_after(ev, n, k, seen[j], &resumed);
            assert_same_ledger(&resumed, &whole);
        }
    }
}

/* The restart finds H's CLAWBACK published: every replayed order is counted
 * by it, nothing is published again, a new order is refused. Without it
 * (the crash came first), the same CLAWBACK is published once. */
static void restart_after_a_historical_clawback(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    pay_contract h = historical_contract("H1", "P1", "2024-05-01", "2024-05-02", 3);
    pay_order orders[] = {
        order("a", "H1", "P1", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00")),
        order("b", "H1", "P1", "2024-05-01", 0, at("2024-05-02T11:00:00+08:00")),
        order("c", "H1", "P1", "2024-05-02", 0, at("2024-05-03T10:00:00+08:00")),
    };
    put(st, &h, &l);
    for (size_t i = 0; i < 3; i++)
        add(st, &orders[i], PAY_ORDER_PENDING);
    advance(st, final_watermark(), &l);
    assert_int_equal(l.ni, 1);
    pay_state_free(st);

    for (int published = 1; published >= 0; published--) {
        st = pay_state_new(480);
        ledger after = {0};
        if (published) {
            assert_int_equal(pay_state_restore_instruction(st, &l.in[0]), PAY_RECORD_TAKEN);
            assert_int_equal(pay_state_restore_instruction(st, &l.in[0]), PAY_RECORD_IGNORED);
        }
        put(st, &h, &after);
        assert_int_equal(after.ni, 0);
        char reason[256];
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(pay_state_replay_order(st, &orders[i], reason, sizeof(reason)),
                             published ? PAY_ORDER_COUNTED : PAY_ORDER_PENDING);
        assert_int_equal(pay_state_replay_order(st, &orders[1], reason, sizeof(reason)),
                         PAY_ORDER_DUPLICATE);
        assert_int_equal(pay_state_finish_replay(st), 0);
        advance(st, final_watermark(), &after);
        const pay_account *a = pay_state_find_account(st, "H1");
        assert_true(a->closed && a->settled && a->historical);
        assert_int_equal(a->historical_valid, 1);
        assert_int_equal(a->historical_invalid, 2);
        if (published) {
            assert_int_equal(after.ni + after.ns, 0);
        } else {
            assert_int_equal(after.ni, 1);
            assert_true(same_instruction(&after.in[0], &l.in[0]));
        }
        pay_order d = order("d", "H1", "P1", "2024-05-02", 0, at("2024-05-03T12:00:00+08:00"));
        add(st, &d, PAY_ORDER_REJECTED);
        pay_state_free(st);
    }
}

static void accounts_are_listed_by_contract_id(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    ledger l = {0};
    const char *ids[] = {"M", "B", "Z", "A"};
    for (int i = 0; i < 4; i++) {
        pay_contract c = contract(ids[i], "P1", "2024-05-01", "2024-05-31", 3);
        put(st, &c, &l);
    }
    assert_int_equal(pay_state_account_count(st), 4);
    assert_string_equal(pay_state_account(st, 0)->contract_id, "A");
    assert_string_equal(pay_state_account(st, 3)->contract_id, "Z");
    assert_null(pay_state_account(st, 4));
    assert_null(pay_state_find_account(st, "Q"));
    assert_int_equal(pay_state_utc_offset(st), 480);
    pay_state_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prepay_is_issued_once_when_the_contract_is_first_seen),
        cmocka_unit_test(zero_orders_claws_the_prepayment_back),
        cmocka_unit_test(cancelled_orders_count_nothing),
        cmocka_unit_test(budget_levels_alert_once_and_cap_the_settlement),
        cmocka_unit_test(all_invalid_is_a_clawback_of_deductions_and_prepayment),
        cmocka_unit_test(valid_orders_are_settled_to_the_cent),
        cmocka_unit_test(order_finalized_after_its_statement_is_a_late_adjustment),
        cmocka_unit_test(late_adjustment_gets_a_statement_of_its_own_on_an_empty_day),
        cmocka_unit_test(statement_waits_for_the_partition_behind_its_instant),
        cmocka_unit_test(contract_period_boundaries),
        cmocka_unit_test(duplicates_and_unpayable_orders),
        cmocka_unit_test(orders_may_come_before_their_contract),
        cmocka_unit_test(contract_checks),
        cmocka_unit_test(streaming_run_counts_every_order_once),
        cmocka_unit_test(batch_run_equals_streaming_run),
        cmocka_unit_test(restart_after_a_crash_anywhere_publishes_the_same_once),
        cmocka_unit_test(restart_carries_an_order_read_after_its_statement),
        cmocka_unit_test(replay_after_the_settlement),
        cmocka_unit_test(dead_lettered_orders_are_only_marked_seen),
        cmocka_unit_test(historical_contract_gets_one_clawback_of_its_invalid_orders),
        cmocka_unit_test(historical_orders_may_come_before_their_contract),
        cmocka_unit_test(historical_without_invalid_orders_publishes_nothing),
        cmocka_unit_test(instructions_carry_payer_and_payee),
        cmocka_unit_test(historical_flag_changed_by_a_newer_version),
        cmocka_unit_test(historical_runs_agree_and_survive_a_crash_anywhere),
        cmocka_unit_test(restart_after_a_historical_clawback),
        cmocka_unit_test(accounts_are_listed_by_contract_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
