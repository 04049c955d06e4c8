/* The money of correcting entries (services/payment-scheduler,
 * payment_state.h "Corrections"): a correction counts by its finalized_at
 * on its contract's statements, by its change of the counts (late ones
 * negative where they take back); after the settlement instant it gets an
 * instruction of its own, "<contract>:CLAWBACK:<correction_id>" (or a
 * SETTLEMENT when it is owed to the provider), within the budget cap and in
 * a fixed order; refused when what it corrects was not paid; once per
 * correction id, through a restart at any point; and the records: the
 * correcting OrderFinalized read, a correction's instruction id written and
 * read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "payment-scheduler/payment_records.h"
#include "payment-scheduler/payment_state.h"
#include "payment-scheduler/report.h"
#include "timeutil.h"

#define UNIT 4000
#define DEDUCTION 18000
#define BUDGET 1000000
#define PREPAID 300000

static int setup(void **state)
{
    (void)state;
    char err[256];
    return cw_avro_init(err, sizeof(err)) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cw_avro_shutdown();
    return 0;
}

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

/* C1 of P1, 2024-05-01..03, T+3: statements at 05-05, 05-06, 05-07
 * 00:00 (UTC+8), the settlement with the last. */
static pay_contract contract(const char *id, int64_t budget, int historical)
{
    pay_contract c;
    memset(&c, 0, sizeof(c));
    snprintf(c.contract_id, sizeof(c.contract_id), "%s", id);
    snprintf(c.provider_id, sizeof(c.provider_id), "P1");
    c.period_start = day("2024-05-01");
    c.period_end = day("2024-05-03");
    c.budget_cents = budget;
    c.unit_price_cents = UNIT;
    c.invalid_deduction_cents = DEDUCTION;
    c.prepay_ratio_ppm = 300000;
    c.publication_lag_days = 3;
    c.updated_at = at("2024-04-20T09:00:00+08:00");
    c.historical = historical;
    return c;
}

static pay_order order(const char *id, const char *contract_id, const char *service_day,
                       const char *status, const char *finalized_at, int64_t index)
{
    return (pay_order){.order_id = id, .provider_id = "P1", .contract_id = contract_id,
                       .service_day = day(service_day), .valid = strcmp(status, "VALID") == 0,
                       .cancelled = strcmp(status, "CANCELLED") == 0,
                       .finalized_at = at(finalized_at), .ledger_index = index};
}

/* The correction correction_id of o's entry corrects, to status. */
static pay_order correction(pay_order o, const char *correction_id, const char *status,
                            const char *finalized_at, int64_t index, int64_t corrects)
{
    pay_order c = order(o.order_id, o.contract_id, "2024-05-01", status, finalized_at, index);
    c.service_day = o.service_day;
    c.has_corrects = 1;
    c.corrects_index = corrects;
    c.correction_id = correction_id;
    return c;
}

typedef struct {
    pay_statement st[64];
    size_t ns;
    pay_instruction in[64];
    size_t ni;
} book;

static void take(book *b, pay_output *o)
{
    for (size_t i = 0; i < o->statement_count; i++) {
        assert_true(b->ns < 64);
        b->st[b->ns++] = o->statements[i];
    }
    for (size_t i = 0; i < o->instruction_count; i++) {
        assert_true(b->ni < 64);
        b->in[b->ni++] = o->instructions[i];
    }
    pay_output_clear(o);
}

static void put(pay_state *st, const pay_contract *c, book *b)
{
    pay_output o = {0};
    assert_true(pay_state_put_contract(st, c, &o) != PAY_RECORD_NOMEM);
    take(b, &o);
    pay_output_free(&o);
}

static void advance(pay_state *st, int64_t wm, book *b)
{
    pay_output o = {0};
    assert_int_equal(pay_state_advance(st, wm, &o), 0);
    take(b, &o);
    pay_output_free(&o);
}

static void add(pay_state *st, const pay_order *o, pay_order_result want, const char *why)
{
    char reason[256] = "";
    pay_order_result got = pay_state_add_order(st, o, reason, sizeof(reason));
    if (got != want)
        fail_msg("%s: result %d, expected %d (%s)", o->correction_id ? o->correction_id
                                                                     : o->order_id,
                 got, want, reason);
    if (why != NULL && strstr(reason, why) == NULL)
        fail_msg("reason \"%s\" does not say \"%s\"", reason, why);
}

static const pay_statement *statement_of(const book *b, const char *service_day)
{
    for (size_t i = 0; i < b->ns; i++)
        if (b->st[i].service_day == day(service_day))
            return &b->st[i];
    return NULL;
}

static const pay_instruction *instruction_of(const book *b, const char *id)
{
    for (size_t i = 0; i < b->ni; i++) {
        char text[PAY_INSTRUCTION_ID_MAX];
        assert_int_equal(pay_instruction_record_id(&b->in[i], text, sizeof(text)), 0);
        if (strcmp(text, id) == 0)
            return &b->in[i];
    }
    return NULL;
}

static void assert_statement(const pay_statement *s, int32_t valid, int32_t invalid,
                             int32_t late_valid, int32_t late_invalid)
{
    assert_non_null(s);
    assert_int_equal(s->valid_orders, valid);
    assert_int_equal(s->invalid_orders, invalid);
    assert_int_equal(s->late_valid_orders, late_valid);
    assert_int_equal(s->late_invalid_orders, late_invalid);
    assert_int_equal(s->gross_cents, (int64_t)(valid + late_valid) * UNIT);
    assert_int_equal(s->deduction_cents, (int64_t)(invalid + late_invalid) * DEDUCTION);
}

/* ---- the rules ----------------------------------------------------------- */

static void correction_money_within_the_budget_cap(void **state)
{
    (void)state;
    cw_payment_kind kind;
    int64_t amount;
    /* Within the budget: all of it. */
    assert_int_equal(pay_correction_due(100000, 78000, BUDGET, &kind, &amount), PAY_DUE_MOVES);
    assert_int_equal(kind, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, 22000);
    assert_int_equal(pay_correction_due(78000, 100000, BUDGET, &kind, &amount), PAY_DUE_MOVES);
    assert_int_equal(kind, CW_PAYMENT_KIND_SETTLEMENT);
    assert_int_equal(amount, 22000);
    /* Above it before and after: the provider was paid the budget, and
     * still is. */
    assert_int_equal(pay_correction_due(BUDGET + 50000, BUDGET + 28000, BUDGET, &kind, &amount),
                     PAY_DUE_NOTHING);
    /* Across it: the part below. */
    assert_int_equal(pay_correction_due(BUDGET + 10000, BUDGET - 12000, BUDGET, &kind, &amount),
                     PAY_DUE_MOVES);
    assert_int_equal(kind, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, 12000);
    /* Uncapped (a historical contract). */
    assert_int_equal(pay_correction_due(0, -DEDUCTION, INT64_MAX, &kind, &amount), PAY_DUE_MOVES);
    assert_int_equal(kind, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(amount, DEDUCTION);
    assert_int_equal(pay_correction_due(0, 0, BUDGET, &kind, &amount), PAY_DUE_NOTHING);

    int64_t cents;
    assert_int_equal(pay_signed_times_cents(-2, UNIT, &cents), 0);
    assert_int_equal(cents, -2 * UNIT);
    assert_int_equal(pay_signed_times_cents(INT64_MAX, 2, &cents), -1);
    assert_int_equal(pay_signed_times_cents(1, -1, &cents), -1);

    char id[PAY_INSTRUCTION_ID_MAX];
    assert_int_equal(pay_correction_instruction_id(id, sizeof(id), "C1", CW_PAYMENT_KIND_CLAWBACK,
                                                   "P1:O-1:CORRECTION:P1:O-1:4"),
                     0);
    assert_string_equal(id, "C1:CLAWBACK:P1:O-1:CORRECTION:P1:O-1:4");
    assert_int_equal(pay_correction_instruction_id(id, sizeof(id), "C1", CW_PAYMENT_KIND_PREPAY,
                                                   "x"), -1);
    assert_int_equal(pay_correction_instruction_id(id, 8, "C1", CW_PAYMENT_KIND_CLAWBACK,
                                                   "x-long"), -1);
}

/* ---- on the statements ------------------------------------------------------ */

static void corrections_count_on_the_next_statement(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    book b = {0};
    pay_contract c = contract("C1", BUDGET, 0);
    put(st, &c, &b);
    pay_order a = order("a", "C1", "2024-05-01", "VALID", "2024-05-02T10:00:00+08:00", 0);
    pay_order v = order("v", "C1", "2024-05-01", "VALID", "2024-05-02T11:00:00+08:00", 1);
    pay_order k = order("k", "C1", "2024-05-01", "CANCELLED", "2024-05-02T12:00:00+08:00", 2);
    add(st, &a, PAY_ORDER_PENDING, NULL);
    add(st, &v, PAY_ORDER_PENDING, NULL);
    add(st, &k, PAY_ORDER_CANCELLED, NULL);
    /* Before its day's statement: it shows there, as the order's status. */
    pay_order va = correction(v, "v:C:1", "INVALID", "2024-05-03T09:00:00+08:00", 3, 1);
    add(st, &va, PAY_ORDER_PENDING, NULL);
    /* A cancelled order found invalid: a deduction, nothing to undo. */
    pay_order ka = correction(k, "k:C:1", "INVALID", "2024-05-03T10:00:00+08:00", 4, 2);
    add(st, &ka, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-05T00:00:00+08:00"), &b);
    assert_statement(statement_of(&b, "2024-05-01"), 1, 2, 0, 0);

    /* After it: a late adjustment of the next statement, taking back. */
    pay_order aa = correction(a, "a:C:1", "INVALID", "2024-05-05T12:00:00+08:00", 5, 0);
    add(st, &aa, PAY_ORDER_PENDING, NULL);
    add(st, &aa, PAY_ORDER_DUPLICATE, NULL);
    /* A correction of the correction, decided later: back to VALID. */
    pay_order ab = correction(a, "a:C:2", "VALID", "2024-05-06T12:00:00+08:00", 6, 5);
    add(st, &ab, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-06T00:00:00+08:00"), &b);
    assert_statement(statement_of(&b, "2024-05-02"), 0, 0, -1, 1);
    assert_int_equal(statement_of(&b, "2024-05-02")->gross_cents, -UNIT);
    advance(st, at("2024-05-08T00:00:00+08:00"), &b);
    assert_statement(statement_of(&b, "2024-05-03"), 0, 0, 1, -1);
    /* a VALID again, v and k INVALID: 4000 − 2 × 18000 − prepaid. */
    const pay_instruction *end = instruction_of(&b, "C1:CLAWBACK:2024-05-03");
    assert_non_null(end);
    assert_int_equal(end->amount_cents, PREPAID + 2 * DEDUCTION - UNIT);
    assert_int_equal(b.ni, 2);
    pay_state_free(st);
}

static void corrections_of_what_was_not_paid_are_refused(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    book b = {0};
    pay_contract c = contract("C1", BUDGET, 0);
    put(st, &c, &b);
    pay_order x = order("x", NULL, "2024-05-01", "VALID", "2024-05-02T10:00:00+08:00", 0);
    add(st, &x, PAY_ORDER_REJECTED, "no contract");
    pay_order xc = correction(x, "x:C:1", "INVALID", "2024-05-03T10:00:00+08:00", 1, 0);
    xc.contract_id = "C1";
    add(st, &xc, PAY_ORDER_REJECTED, "not paid");
    pay_order a = order("a", "C1", "2024-05-01", "VALID", "2024-05-02T10:00:00+08:00", 2);
    add(st, &a, PAY_ORDER_PENDING, NULL);
    /* Not the entry the scheduler read. */
    pay_order wrong = correction(a, "a:C:1", "INVALID", "2024-05-03T10:00:00+08:00", 3, 9);
    add(st, &wrong, PAY_ORDER_REJECTED, "not read");
    /* Without a correction id. */
    pay_order bare = correction(a, NULL, "INVALID", "2024-05-03T10:00:00+08:00", 4, 2);
    add(st, &bare, PAY_ORDER_REJECTED, "correction_id");
    /* No change of the counts: seen, counted nowhere. */
    pay_order same = correction(a, "a:C:2", "VALID", "2024-05-03T10:00:00+08:00", 5, 2);
    add(st, &same, PAY_ORDER_CANCELLED, NULL);
    advance(st, at("2024-05-08T00:00:00+08:00"), &b);
    assert_statement(statement_of(&b, "2024-05-01"), 1, 0, 0, 0);
    assert_int_equal(b.ns, 1);
    /* Finalized before the settlement instant but read after the
     * settlement (no ledger to wait for): refused like a late order. */
    pay_order late = correction(a, "a:C:3", "INVALID", "2024-05-06T23:00:00+08:00", 6, 2);
    add(st, &late, PAY_ORDER_REJECTED, "settled");
    pay_state_free(st);
}

/* ---- after the settlement -------------------------------------------------- */

static void late_correction_gets_a_clawback_of_its_own(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    book b = {0};
    pay_contract c = contract("C1", BUDGET, 0);
    put(st, &c, &b);
    pay_order a = order("a", "C1", "2024-05-02", "VALID", "2024-05-03T10:00:00+08:00", 0);
    pay_order v = order("v", "C1", "2024-05-02", "INVALID", "2024-05-03T11:00:00+08:00", 1);
    add(st, &a, PAY_ORDER_PENDING, NULL);
    add(st, &v, PAY_ORDER_PENDING, NULL);
    /* Finalized after the settlement instant (2024-05-07): read before or
     * after the settlement, it waits for it, then for its own instant. */
    pay_order aa = correction(a, "a:C:1", "INVALID", "2024-05-08T09:30:00+08:00", 2, 0);
    add(st, &aa, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-07T00:00:00+08:00"), &b);
    assert_int_equal(b.ni, 2); /* PREPAY, CLAWBACK of the period */
    assert_int_equal(pay_state_next_due(st), at("2024-05-08T09:30:00+08:00"));
    advance(st, at("2024-05-08T09:29:59+08:00"), &b);
    assert_int_equal(b.ni, 2);
    advance(st, at("2024-05-08T09:30:00+08:00"), &b);
    assert_int_equal(b.ni, 3);
    const pay_instruction *in = instruction_of(&b, "C1:CLAWBACK:a:C:1");
    assert_non_null(in);
    assert_int_equal(in->kind, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(in->amount_cents, UNIT + DEDUCTION);
    assert_int_equal(in->created_at, at("2024-05-08T09:30:00+08:00"));
    assert_int_equal(in->period_end, day("2024-05-03"));
    /* Owed to the provider: a SETTLEMENT of its own. */
    pay_order vv = correction(v, "v:C:1", "VALID", "2024-05-09T10:00:00+08:00", 3, 1);
    add(st, &vv, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-10T00:00:00+08:00"), &b);
    in = instruction_of(&b, "C1:SETTLEMENT:v:C:1");
    assert_non_null(in);
    assert_int_equal(in->amount_cents, UNIT + DEDUCTION);
    const pay_account *acc = pay_state_find_account(st, "C1");
    assert_int_equal(acc->correction_count, 2);
    assert_int_equal(acc->corrected_valid, 0);
    assert_int_equal(acc->corrected_invalid, 0);
    assert_int_equal(acc->pending_corrections, 0);

    /* The report lists them and counts their money. */
    pay_report r = {.state = st};
    assert_int_equal(pay_period_parse("2024-05", &r.period), 0);
    pay_text csv = {0};
    assert_int_equal(pay_report_instructions_csv(&r, &csv), 0);
    assert_non_null(strstr(csv.data, "C1:CLAWBACK:a:C:1,C1,P1,CLAWBACK,22000,"));
    assert_non_null(strstr(csv.data, "C1:SETTLEMENT:v:C:1,C1,P1,SETTLEMENT,22000,"));
    pay_text_free(&csv);
    pay_state_free(st);
}

/* Two contracts over budget by 30 000 cents; two corrections of 22 000
 * each after the settlement: the first moves nothing (still above the
 * budget), the second 14 000, whichever is read first. */
static void over_budget(pay_state *st, book *b, int reverse)
{
    pay_contract c = contract("C1", 11 * UNIT - 30000, 0); /* 11 valid orders: budget + 30000 */
    put(st, &c, b);
    char ids[11][16];
    pay_order valid[11];
    for (int i = 0; i < 11; i++) {
        snprintf(ids[i], sizeof(ids[i]), "o%d", i);
        valid[i] = order(ids[i], "C1", "2024-05-01", "VALID", "2024-05-02T10:00:00+08:00", i);
        add(st, &valid[i], PAY_ORDER_PENDING, NULL);
    }
    advance(st, at("2024-05-07T00:00:00+08:00"), b);
    pay_order first = correction(valid[3], "z:first", "INVALID", "2024-05-08T10:00:00+08:00",
                                 20, 3);
    pay_order second = correction(valid[4], "a:second", "INVALID", "2024-05-08T11:00:00+08:00",
                                  21, 4);
    add(st, reverse ? &second : &first, PAY_ORDER_PENDING, NULL);
    add(st, reverse ? &first : &second, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-09T00:00:00+08:00"), b);
}

static void late_corrections_share_the_budget_in_a_fixed_order(void **state)
{
    (void)state;
    for (int reverse = 0; reverse < 2; reverse++) {
        pay_state *st = pay_state_new(480);
        book b = {0};
        over_budget(st, &b, reverse);
        const pay_instruction *end = instruction_of(&b, "C1:SETTLEMENT:2024-05-03");
        assert_non_null(end);
        assert_int_equal(end->amount_cents, 11 * UNIT - 30000 - (11 * UNIT - 30000) * 3 / 10);
        assert_null(instruction_of(&b, "C1:CLAWBACK:z:first"));
        const pay_instruction *in = instruction_of(&b, "C1:CLAWBACK:a:second");
        assert_non_null(in);
        assert_int_equal(in->amount_cents, 2 * (UNIT + DEDUCTION) - 30000);
        assert_int_equal(b.ni, 3);
        pay_state_free(st);
    }
}

static void historical_late_correction_claws_back_its_deduction(void **state)
{
    (void)state;
    pay_state *st = pay_state_new(480);
    book b = {0};
    pay_contract h = contract("H1", 1000, 1); /* a budget does not cap a clawback */
    put(st, &h, &b);
    pay_order a = order("a", "H1", "2024-05-01", "VALID", "2024-05-02T10:00:00+08:00", 0);
    pay_order i = order("i", "H1", "2024-05-01", "INVALID", "2024-05-02T11:00:00+08:00", 1);
    add(st, &a, PAY_ORDER_PENDING, NULL);
    add(st, &i, PAY_ORDER_PENDING, NULL);
    /* Before the close: counted by it. */
    pay_order ac = correction(a, "a:C:1", "INVALID", "2024-05-04T10:00:00+08:00", 2, 0);
    add(st, &ac, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-07T00:00:00+08:00"), &b);
    assert_int_equal(b.ni, 1);
    assert_int_equal(instruction_of(&b, "H1:CLAWBACK:2024-05-03")->amount_cents, 2 * DEDUCTION);
    /* After it: its own, the deduction only. */
    pay_order ic = correction(i, "i:C:1", "VALID", "2024-05-08T10:00:00+08:00", 3, 1);
    add(st, &ic, PAY_ORDER_PENDING, NULL);
    pay_order ac2 = correction(a, "a:C:2", "CANCELLED", "2024-05-08T11:00:00+08:00", 4, 2);
    add(st, &ac2, PAY_ORDER_PENDING, NULL);
    advance(st, at("2024-05-09T00:00:00+08:00"), &b);
    assert_int_equal(b.ni, 3);
    const pay_instruction *in = instruction_of(&b, "H1:SETTLEMENT:i:C:1");
    assert_non_null(in);
    assert_int_equal(in->amount_cents, DEDUCTION);
    assert_string_equal(in->payee_account, "");
    in = instruction_of(&b, "H1:SETTLEMENT:a:C:2");
    assert_non_null(in);
    assert_int_equal(in->amount_cents, DEDUCTION);
    pay_state_free(st);
}

/* ---- restart ------------------------------------------------------------------ */

typedef struct {
    pay_order o;
    const char *wm; /* the watermark after it is read */
} event;

/* Orders, corrections on and after the statements, after the settlement
 * (two, one moving nothing: over the budget), in the order they are read. */
static size_t scenario(event *ev)
{
    static pay_order base[12];
    static char ids[12][16];
    size_t n = 0;
    for (int i = 0; i < 12; i++) {
        snprintf(ids[i], sizeof(ids[i]), "o%02d", i);
        base[i] = order(ids[i], "C1", i < 6 ? "2024-05-01" : "2024-05-02",
                        i % 5 == 4 ? "INVALID" : "VALID",
                        i < 6 ? "2024-05-02T10:00:00+08:00" : "2024-05-03T10:00:00+08:00", i);
        ev[n++] = (event){base[i], i < 6 ? "2024-05-02T10:00:00+08:00" : "2024-05-03T10:00:00+08:00"};
    }
    ev[n++] = (event){correction(base[0], "o00:C:1", "INVALID", "2024-05-03T12:00:00+08:00", 12, 0),
                      "2024-05-03T12:00:00+08:00"};
    ev[n++] = (event){correction(base[7], "o07:C:1", "INVALID", "2024-05-05T12:00:00+08:00", 13, 7),
                      "2024-05-05T12:00:00+08:00"};
    ev[n++] = (event){correction(base[4], "o04:C:1", "VALID", "2024-05-06T12:00:00+08:00", 14, 4),
                      "2024-05-06T12:00:00+08:00"};
    ev[n++] = (event){correction(base[1], "o01:C:1", "INVALID", "2024-05-08T10:00:00+08:00", 15, 1),
                      "2024-05-08T10:00:00+08:00"};
    ev[n++] = (event){correction(base[2], "o02:C:1", "INVALID", "2024-05-08T11:00:00+08:00", 16, 2),
                      "2024-05-08T11:00:00+08:00"};
    ev[n++] = (event){correction(base[3], "o03:C:1", "INVALID", "2024-05-08T12:00:00+08:00", 17, 3),
                      "2024-05-09T00:00:00+08:00"};
    return n;
}

/* The statements count 9 valid and 3 invalid orders (the corrections on
 * them included): net 9 × 30 000 − 3 × 18 000 = 216 000, the budget + 50 000;
 * each correction after the settlement takes 48 000 off the net. */
static pay_contract restart_contract(void)
{
    pay_contract c = contract("C1", 166000, 0);
    c.unit_price_cents = 30000;
    return c;
}

static void stream(pay_state *st, const event *ev, size_t from, size_t to, book *b)
{
    for (size_t i = from; i < to; i++) {
        char reason[256];
        pay_order_result r = pay_state_add_order(st, &ev[i].o, reason, sizeof(reason));
        assert_true(r == PAY_ORDER_PENDING || r == PAY_ORDER_CANCELLED);
        advance(st, at(ev[i].wm), b);
    }
}

static void assert_same(const book *x, const book *y)
{
    assert_int_equal(x->ns, y->ns);
    assert_int_equal(x->ni, y->ni);
    for (size_t i = 0; i < x->ns; i++) {
        const pay_statement *a = &x->st[i], *b = &y->st[i];
        assert_string_equal(a->contract_id, b->contract_id);
        assert_int_equal(a->service_day, b->service_day);
        assert_int_equal(a->valid_orders, b->valid_orders);
        assert_int_equal(a->invalid_orders, b->invalid_orders);
        assert_int_equal(a->late_valid_orders, b->late_valid_orders);
        assert_int_equal(a->late_invalid_orders, b->late_invalid_orders);
        assert_int_equal(a->gross_cents, b->gross_cents);
        assert_int_equal(a->deduction_cents, b->deduction_cents);
        assert_int_equal(a->published_at, b->published_at);
    }
    for (size_t i = 0; i < x->ni; i++) {
        char id[PAY_INSTRUCTION_ID_MAX];
        assert_int_equal(pay_instruction_record_id(&x->in[i], id, sizeof(id)), 0);
        const pay_instruction *other = instruction_of(y, id);
        if (other == NULL)
            fail_msg("%s missing", id);
        assert_int_equal(x->in[i].kind, other->kind);
        assert_int_equal(x->in[i].amount_cents, other->amount_cents);
        assert_int_equal(x->in[i].created_at, other->created_at);
    }
}

static void restart_anywhere_publishes_each_correction_once(void **state)
{
    (void)state;
    event ev[32];
    size_t n = scenario(ev);
    pay_contract c = restart_contract();
    book whole = {0};
    pay_state *st = pay_state_new(480);
    put(st, &c, &whole);
    stream(st, ev, 0, n, &whole);
    pay_state_free(st);
    /* The run crosses the budget with the late corrections: o01 moves
     * nothing, o02 part, o03 all; o00, o07, o04 are on statements. */
    assert_int_equal(instruction_of(&whole, "C1:SETTLEMENT:2024-05-03")->amount_cents,
                     166000 - 49800);
    assert_null(instruction_of(&whole, "C1:CLAWBACK:o01:C:1"));
    assert_int_equal(instruction_of(&whole, "C1:CLAWBACK:o02:C:1")->amount_cents, 46000);
    assert_int_equal(instruction_of(&whole, "C1:CLAWBACK:o03:C:1")->amount_cents, 48000);
    assert_int_equal(whole.ni, 4);
    const pay_statement *s = statement_of(&whole, "2024-05-01");
    assert_int_equal(s->valid_orders, 4);
    assert_int_equal(s->invalid_orders, 2);
    s = statement_of(&whole, "2024-05-03");
    assert_int_equal(s->late_valid_orders, 1);
    assert_int_equal(s->late_invalid_orders, -1);

    for (size_t k = 0; k <= n; k++) {
        /* Published up to event k; then a restart reads everything. */
        book before = {0};
        st = pay_state_new(480);
        put(st, &c, &before);
        stream(st, ev, 0, k, &before);
        pay_state_free(st);

        book after = {0};
        st = pay_state_new(480);
        for (size_t i = 0; i < before.ni; i++)
            assert_int_equal(pay_state_restore_instruction(st, &before.in[i]), PAY_RECORD_TAKEN);
        for (size_t i = 0; i < before.ns; i++)
            assert_int_equal(pay_state_restore_statement(st, &before.st[i]), PAY_RECORD_TAKEN);
        put(st, &c, &after);
        for (size_t i = 0; i < n; i++) {
            char reason[256];
            pay_order_result r = pay_state_replay_order(st, &ev[i].o, reason, sizeof(reason));
            if (r == PAY_ORDER_REJECTED || r == PAY_ORDER_ERROR || r == PAY_ORDER_DUPLICATE)
                fail_msg("k=%zu event %zu: %d (%s)", k, i, r, reason);
        }
        assert_int_equal(pay_state_finish_replay(st), 0);
        advance(st, at("2024-05-09T00:00:00+08:00"), &after);
        pay_state_free(st);

        book all = before;
        for (size_t i = 0; i < after.ns; i++)
            all.st[all.ns++] = after.st[i];
        for (size_t i = 0; i < after.ni; i++) {
            char id[PAY_INSTRUCTION_ID_MAX];
            assert_int_equal(pay_instruction_record_id(&after.in[i], id, sizeof(id)), 0);
            if (instruction_of(&before, id) != NULL)
                fail_msg("k=%zu: %s published twice", k, id);
            all.in[all.ni++] = after.in[i];
        }
        assert_same(&whole, &all);
    }
}

/* ---- records ------------------------------------------------------------------ */

static uint8_t *finalized(int corrected, const char *correction_id, size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("OrderFinalized");
    avro_value_t v;
    uint8_t *buf = NULL;
    char err[256];
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(cw_av_set_str(&v, "order_id", "P01:O-1"), 0);
    assert_int_equal(cw_av_set_str(&v, "provider_id", "P01"), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "contract_id", "C1"), 0);
    assert_int_equal(cw_av_set_str(&v, "caregiver_id", "G1"), 0);
    assert_int_equal(cw_av_set_str(&v, "elder_id", "E1"), 0);
    assert_int_equal(cw_av_set_str(&v, "street_id", "S01"), 0);
    assert_int_equal(cw_av_set_str(&v, "service_day", "2024-05-01"), 0);
    assert_int_equal(cw_av_set_enum(&v, "status", "INVALID"), 0);
    assert_int_equal(cw_av_set_long(&v, "unit_price_cents", UNIT), 0);
    assert_int_equal(cw_av_set_long(&v, "finalized_at", 1714700000123LL), 0);
    assert_int_equal(cw_av_set_long(&v, "ledger_index", 9), 0);
    assert_int_equal(cw_av_set_opt_long(&v, "corrects_index", corrected, 4), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "correction_id", correction_id), 0);
    assert_int_equal(cw_av_set_opt_long(&v, "decided_at", corrected, 1714690000000LL), 0);
    assert_int_equal(cw_avro_encode(&v, s, &buf, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return buf;
}

static void correcting_entry_and_its_instruction_are_read(void **state)
{
    (void)state;
    size_t len;
    avro_value_t v;
    pay_order o;
    char reason[256] = "";
    uint8_t *buf = finalized(1, "P01:O-1:CORRECTION:7", &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), 0);
    assert_true(o.has_corrects);
    assert_int_equal(o.corrects_index, 4);
    assert_string_equal(o.correction_id, "P01:O-1:CORRECTION:7");
    assert_int_equal(o.ledger_index, 9);
    avro_value_decref(&v);
    free(buf);
    buf = finalized(0, NULL, &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), 0);
    assert_false(o.has_corrects);
    assert_null(o.correction_id);
    avro_value_decref(&v);
    free(buf);
    buf = finalized(1, NULL, &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "correction_id"));
    free(buf);

    /* A correction's instruction, written and read back, keeps its id; the
     * contract's own CLAWBACK is not taken for one. */
    pay_instruction in;
    memset(&in, 0, sizeof(in));
    snprintf(in.contract_id, sizeof(in.contract_id), "C1");
    snprintf(in.provider_id, sizeof(in.provider_id), "P01");
    snprintf(in.correction_id, sizeof(in.correction_id), "P01:O-1:CORRECTION:7");
    in.kind = CW_PAYMENT_KIND_CLAWBACK;
    in.amount_cents = 22000;
    in.period_start = day("2024-05-01");
    in.period_end = day("2024-05-31");
    in.created_at = 1714700000123LL;
    cw_outbox ob = {0};
    char err[256];
    assert_int_equal(pay_outbox_add_instruction(&ob, &in, err, sizeof(err)), 0);
    in.correction_id[0] = '\0';
    assert_int_equal(pay_outbox_add_instruction(&ob, &in, err, sizeof(err)), 0);
    pay_instruction back;
    assert_int_equal(pay_read_instruction(ob.records[0].value, ob.records[0].value_len, &back,
                                          reason, sizeof(reason)),
                     0);
    assert_string_equal(back.correction_id, "P01:O-1:CORRECTION:7");
    assert_int_equal(back.amount_cents, 22000);
    char id[PAY_INSTRUCTION_ID_MAX];
    assert_int_equal(pay_instruction_record_id(&back, id, sizeof(id)), 0);
    assert_string_equal(id, "C1:CLAWBACK:P01:O-1:CORRECTION:7");
    assert_int_equal(pay_read_instruction(ob.records[1].value, ob.records[1].value_len, &back,
                                          reason, sizeof(reason)),
                     0);
    assert_string_equal(back.correction_id, "");
    cw_outbox_free(&ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(correction_money_within_the_budget_cap),
        cmocka_unit_test(corrections_count_on_the_next_statement),
        cmocka_unit_test(corrections_of_what_was_not_paid_are_refused),
        cmocka_unit_test(late_correction_gets_a_clawback_of_its_own),
        cmocka_unit_test(late_corrections_share_the_budget_in_a_fixed_order),
        cmocka_unit_test(historical_late_correction_claws_back_its_deduction),
        cmocka_unit_test(restart_anywhere_publishes_each_correction_once),
        cmocka_unit_test(correcting_entry_and_its_instruction_are_read),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
