/* services/payment-scheduler/ledger_progress: the prefix P of ledger
 * indexes read, the ledger's promise G from the checkpoints that P covers,
 * the watermark capped by G, against a brute-force oracle over random
 * streams; and a statement held back by the ledger until the orders of its
 * day still to come are read, which then count on time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payment-scheduler/ledger_progress.h"
#include "payment-scheduler/payment_rules.h"
#include "payment-scheduler/payment_state.h"
#include "time_fixture.h"

#define HOUR_MS 3600000LL

static void see(pay_ledger_progress *lp, int64_t index)
{
    assert_int_equal(pay_ledger_see_entry(lp, index), PAY_LEDGER_TAKEN);
}

static void promise(pay_ledger_progress *lp, int64_t tree_size, int64_t through)
{
    assert_int_equal(pay_ledger_see_checkpoint(lp, tree_size, 1, through), PAY_LEDGER_TAKEN);
}

/* ---- the prefix ---------------------------------------------------------- */

static void prefix_stops_at_a_gap_until_it_is_filled(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    assert_int_equal(lp.prefix, 0);
    see(&lp, 1);
    see(&lp, 3);
    assert_int_equal(lp.prefix, 0);
    see(&lp, 0);
    assert_int_equal(lp.prefix, 2);
    see(&lp, 2);
    assert_int_equal(lp.prefix, 4);
    /* A gap across several words of the bitset. */
    for (int64_t i = 4; i < 300; i++)
        if (i != 70)
            see(&lp, i);
    assert_int_equal(lp.prefix, 70);
    see(&lp, 70);
    assert_int_equal(lp.prefix, 300);
    /* Read backwards: nothing until the first one comes. */
    for (int64_t i = 999; i > 300; i--)
        see(&lp, i);
    assert_int_equal(lp.prefix, 300);
    see(&lp, 300);
    assert_int_equal(lp.prefix, 1000);
    /* Everything is in the prefix: the bitset holds one word at most. */
    assert_true(lp.word_count <= 1);
    pay_ledger_progress_free(&lp);
}

static void duplicates_change_nothing(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    see(&lp, 0);
    see(&lp, 0);
    see(&lp, 1);
    see(&lp, 0);
    assert_int_equal(lp.prefix, 2);
    /* Republished entries ahead of a gap. */
    see(&lp, 3);
    see(&lp, 3);
    see(&lp, 4);
    see(&lp, 3);
    assert_int_equal(lp.prefix, 2);
    see(&lp, 2);
    assert_int_equal(lp.prefix, 5);
    see(&lp, 4);
    assert_int_equal(lp.prefix, 5);
    pay_ledger_progress_free(&lp);
}

static void implausible_indexes_and_sizes_are_refused(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    assert_int_equal(pay_ledger_see_entry(&lp, -1), PAY_LEDGER_REFUSED);
    assert_int_equal(pay_ledger_see_entry(&lp, PAY_LEDGER_INDEX_LIMIT), PAY_LEDGER_REFUSED);
    assert_int_equal(pay_ledger_see_entry(&lp, INT64_MAX), PAY_LEDGER_REFUSED);
    assert_int_equal(pay_ledger_see_entry(&lp, INT64_MIN), PAY_LEDGER_REFUSED);
    assert_int_equal(lp.word_count, 0);
    assert_int_equal(pay_ledger_see_checkpoint(&lp, -1, 1, 5), PAY_LEDGER_REFUSED);
    assert_int_equal(pay_ledger_see_checkpoint(&lp, PAY_LEDGER_INDEX_LIMIT + 1, 1, 5),
                     PAY_LEDGER_REFUSED);
    assert_true(lp.through == INT64_MIN);
    /* The largest tree size is taken (and waits for its entries). */
    promise(&lp, PAY_LEDGER_INDEX_LIMIT, 5);
    assert_true(lp.through == INT64_MIN);
    assert_int_equal(lp.pending_count, 1);
    pay_ledger_progress_free(&lp);
}

/* The bitset spans only the indexes read ahead of the prefix. */
static void memory_follows_the_gap_not_the_log(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    /* Two partitions: the even entries are read 640 ahead of the odd. */
    for (int64_t i = 0; i < 1000000; i += 2) {
        see(&lp, i);
        if (i >= 640)
            see(&lp, i - 639);
        assert_true(lp.word_count <= 16);
    }
    assert_int_equal(lp.prefix, 999361);
    pay_ledger_progress_free(&lp);
}

/* ---- checkpoints --------------------------------------------------------- */

static void nothing_is_promised_until_a_checkpoint_counts(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    see(&lp, 0);
    see(&lp, 1);
    assert_true(lp.through == INT64_MIN);
    /* Covers entries not read yet: waits for them. */
    promise(&lp, 3, 1000);
    assert_true(lp.through == INT64_MIN);
    see(&lp, 3);
    assert_true(lp.through == INT64_MIN);
    see(&lp, 2);
    assert_int_equal(lp.through, 1000);
    /* An empty log's checkpoint counts at once. */
    pay_ledger_progress empty;
    pay_ledger_progress_init(&empty);
    promise(&empty, 0, 77);
    assert_int_equal(empty.through, 77);
    pay_ledger_progress_free(&empty);
    pay_ledger_progress_free(&lp);
}

static void null_finalized_through_promises_nothing(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    see(&lp, 0);
    assert_int_equal(pay_ledger_see_checkpoint(&lp, 1, 0, 0), PAY_LEDGER_TAKEN);
    assert_true(lp.through == INT64_MIN);
    promise(&lp, 1, 500);
    assert_int_equal(pay_ledger_see_checkpoint(&lp, 1, 0, 0), PAY_LEDGER_TAKEN);
    assert_int_equal(lp.through, 500);
    assert_int_equal(lp.pending_count, 0);
    pay_ledger_progress_free(&lp);
}

static void the_promise_only_grows(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    for (int64_t i = 0; i < 10; i++)
        see(&lp, i);
    promise(&lp, 5, 1000);
    assert_int_equal(lp.through, 1000);
    promise(&lp, 8, 900); /* an older promise read late */
    assert_int_equal(lp.through, 1000);
    promise(&lp, 12, 800); /* pending, and below the promise already held */
    assert_int_equal(lp.pending_count, 0);
    promise(&lp, 10, 1500);
    assert_int_equal(lp.through, 1500);
    /* The same checkpoint published again with a larger value. */
    promise(&lp, 10, 1600);
    assert_int_equal(lp.through, 1600);
    pay_ledger_progress_free(&lp);
}

static void pending_checkpoints_count_as_the_prefix_reaches_them(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    promise(&lp, 10, 300);
    promise(&lp, 5, 200);
    promise(&lp, 5, 250); /* republished: replaces (5, 200) */
    promise(&lp, 7, 240); /* no sooner than (5, 250), promising less: useless */
    promise(&lp, 20, 280); /* later than (10, 300), promising less: useless */
    assert_int_equal(lp.pending_count, 2);
    for (int64_t i = 0; i < 5; i++)
        see(&lp, i);
    assert_int_equal(lp.through, 250);
    for (int64_t i = 5; i < 9; i++)
        see(&lp, i);
    assert_int_equal(lp.through, 250);
    see(&lp, 9);
    assert_int_equal(lp.through, 300);
    assert_int_equal(lp.pending_count, 0);
    pay_ledger_progress_free(&lp);
}

static void pending_checkpoints_are_bounded(void **state)
{
    (void)state;
    pay_ledger_progress lp;
    pay_ledger_progress_init(&lp);
    const int64_t n = 3 * PAY_LEDGER_PENDING_MAX + 7;
    for (int64_t k = 1; k <= n; k++)
        promise(&lp, 2 * k, 100 * k);
    assert_true(lp.pending_count <= PAY_LEDGER_PENDING_MAX);
    /* Thinned out: G may lag the exact value, never pass it. */
    for (int64_t i = 0; i < 2 * n; i++) {
        see(&lp, i);
        int64_t exact = (lp.prefix / 2) * 100;
        if (exact == 0)
            assert_true(lp.through == INT64_MIN);
        else
            assert_true(lp.through <= exact);
    }
    /* The furthest promise is never dropped. */
    assert_int_equal(lp.through, 100 * n);
    pay_ledger_progress_free(&lp);
}

/* Random streams of entries (with republished ones) and checkpoints (with
 * nulls and stale ones), in random order: P and G are those of a brute
 * force over everything read so far, whatever the order. */
static void prefix_and_promise_match_a_brute_force_oracle(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
    enum { ENTRIES = 700, CHECKPOINTS = 120 };
    for (int round = 0; round < 40; round++) {
        typedef struct {
            int is_checkpoint;
            int64_t a, b;
            int has;
        } ev;
        ev evs[2 * ENTRIES + CHECKPOINTS];
        size_t n = 0;
        for (int64_t i = 0; i < ENTRIES; i++) {
            evs[n++] = (ev){0, i, 0, 0};
            if (NEXT() % 4 == 0)
                evs[n++] = (ev){0, i, 0, 0};
        }
        for (int k = 0; k < CHECKPOINTS; k++) {
            /* One draw per statement: the order of an initializer's
             * expressions is unspecified. */
            int64_t size = (int64_t)(NEXT() % (ENTRIES + 1));
            int64_t at = (int64_t)(NEXT() % 100000);
            int has = NEXT() % 5 != 0;
            evs[n++] = (ev){1, size, at, has};
        }
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(NEXT() % (i + 1));
            ev t = evs[i];
            evs[i] = evs[j];
            evs[j] = t;
        }
        pay_ledger_progress lp;
        pay_ledger_progress_init(&lp);
        static unsigned char seen[ENTRIES];
        memset(seen, 0, sizeof(seen));
        for (size_t e = 0; e < n; e++) {
            if (evs[e].is_checkpoint) {
                assert_int_equal(
                    pay_ledger_see_checkpoint(&lp, evs[e].a, evs[e].has, evs[e].b),
                    PAY_LEDGER_TAKEN);
            } else {
                see(&lp, evs[e].a);
                seen[evs[e].a] = 1;
            }
            int64_t p = 0;
            while (p < ENTRIES && seen[p])
                p++;
            int64_t g = INT64_MIN;
            for (size_t k = 0; k <= e; k++)
                if (evs[k].is_checkpoint && evs[k].has && evs[k].a <= p && evs[k].b > g)
                    g = evs[k].b;
            assert_int_equal(lp.prefix, p);
            assert_true(lp.through == g);
        }
        pay_ledger_progress_free(&lp);
    }
#undef NEXT
}

static void watermark_is_the_smaller_of_stream_and_ledger(void **state)
{
    (void)state;
    assert_true(pay_ledger_cap(1000, INT64_MIN) == INT64_MIN);
    assert_int_equal(pay_ledger_cap(1000, 400), 400);
    assert_int_equal(pay_ledger_cap(400, 1000), 400);
    assert_true(pay_ledger_cap(INT64_MIN, 1000) == INT64_MIN);
    assert_int_equal(pay_ledger_cap(1000, 1000), 1000);
}

/* ---- a statement held back by the ledger --------------------------------- */

typedef struct {
    pay_state *st;
    pay_output out;
    pay_ledger_progress lp;
    pay_partition_clock p[2];
    int wait_for_ledger;
} run;

static void run_start(run *r, int wait_for_ledger)
{
    memset(r, 0, sizeof(*r));
    r->st = pay_state_new(480);
    assert_non_null(r->st);
    pay_ledger_progress_init(&r->lp);
    r->wait_for_ledger = wait_for_ledger;
    r->p[0] = r->p[1] = (pay_partition_clock){.max_event_ms = INT64_MIN};
    pay_contract c;
    memset(&c, 0, sizeof(c));
    snprintf(c.contract_id, sizeof(c.contract_id), "C1");
    snprintf(c.provider_id, sizeof(c.provider_id), "P1");
    c.period_start = day("2024-05-01");
    c.period_end = day("2024-05-03");
    c.budget_cents = 1000000;
    c.unit_price_cents = 4000;
    c.invalid_deduction_cents = 18000;
    c.prepay_ratio_ppm = 300000;
    c.publication_lag_days = 3;
    c.updated_at = at("2024-04-20T09:00:00+08:00");
    assert_int_equal(pay_state_put_contract(r->st, &c, &r->out), PAY_RECORD_TAKEN);
    pay_output_clear(&r->out);
}

static void run_end(run *r)
{
    pay_output_free(&r->out);
    pay_ledger_progress_free(&r->lp);
    pay_state_free(r->st);
}

/* An order read on partition part, as scheduler.c's on_order takes it. */
static void run_order(run *r, int part, const char *id, const char *service_day, int valid,
                      int64_t finalized_at, int64_t ledger_index)
{
    pay_order o = {.order_id = id, .provider_id = "P1", .contract_id = "C1",
                   .service_day = day(service_day), .valid = valid,
                   .finalized_at = finalized_at, .ledger_index = ledger_index};
    if (finalized_at > r->p[part].max_event_ms)
        r->p[part].max_event_ms = finalized_at;
    see(&r->lp, ledger_index);
    char reason[256] = "";
    assert_int_equal(pay_state_add_order(r->st, &o, reason, sizeof(reason)), PAY_ORDER_PENDING);
}

/* Advances to the watermark of two partitions neither of which is caught
 * up (lateness 1 h), capped by the ledger when waiting for it; returns the
 * number of statements published. */
static size_t run_advance(run *r)
{
    int64_t wm = pay_watermark(r->p, 2, 0, 0, HOUR_MS);
    if (r->wait_for_ledger)
        wm = pay_ledger_cap(wm, r->lp.through);
    assert_int_equal(pay_state_advance(r->st, wm, &r->out), 0);
    return r->out.statement_count;
}

static const pay_statement *run_statement(const run *r, const char *service_day)
{
    for (size_t i = 0; i < r->out.statement_count; i++)
        if (r->out.statements[i].service_day == day(service_day))
            return &r->out.statements[i];
    return NULL;
}

/* Day D = 05-01, T(D) = 05-05 00:00 +08. The ledger appended a (index 0)
 * and x (index 1, an order of D finalized before T(D)) and b (index 2);
 * a checker lagged, so x reached orders.finalized after both partitions had
 * read past T(D) + the allowed lateness. */
static void statement_waits_for_the_ledger_and_counts_the_straggler_on_time(void **state)
{
    (void)state;
    const int64_t t = at("2024-05-05T00:00:00+08:00");
    const int64_t x_at = at("2024-05-04T23:30:00+08:00");
    run r;
    run_start(&r, 1);
    run_order(&r, 0, "a", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"), 0);
    promise(&r.lp, 1, at("2024-05-03T00:00:00+08:00"));
    run_order(&r, 0, "b", "2024-05-02", 1, t + 3 * HOUR_MS, 2);
    run_order(&r, 1, "c", "2024-05-02", 1, t + 2 * HOUR_MS, 3);
    /* Every partition is past T(D) + 1 h, but the ledger promised only up
     * to 05-03 for the entries read so far (x at index 1 is missing). */
    assert_true(pay_watermark(r.p, 2, 0, 0, HOUR_MS) >= t);
    assert_int_equal(r.lp.prefix, 1);
    assert_int_equal(r.lp.through, at("2024-05-03T00:00:00+08:00"));
    assert_int_equal(run_advance(&r), 0);
    /* A checkpoint covering x and b: not counting while x is unread. */
    promise(&r.lp, 3, t + HOUR_MS);
    assert_int_equal(r.lp.prefix, 1);
    assert_true(r.lp.through < t);
    assert_int_equal(run_advance(&r), 0);
    /* x arrives (after every partition passed T(D)): the prefix reaches the
     * checkpoint, G passes T(D), and the statement counts x on time. */
    run_order(&r, 1, "x", "2024-05-01", 0, x_at, 1);
    assert_int_equal(r.lp.prefix, 4);
    assert_int_equal(r.lp.through, t + HOUR_MS);
    assert_int_equal(run_advance(&r), 1);
    const pay_statement *s = run_statement(&r, "2024-05-01");
    assert_non_null(s);
    assert_int_equal(s->valid_orders, 1);
    assert_int_equal(s->invalid_orders, 1);
    assert_int_equal(s->late_valid_orders + s->late_invalid_orders, 0);
    assert_int_equal(s->published_at, t);
    run_end(&r);

    /* The same records without waiting for the ledger: D is published
     * before x is read, and x becomes a late adjustment of 05-02. */
    run_start(&r, 0);
    run_order(&r, 0, "a", "2024-05-01", 1, at("2024-05-02T10:00:00+08:00"), 0);
    run_order(&r, 0, "b", "2024-05-02", 1, t + 3 * HOUR_MS, 2);
    run_order(&r, 1, "c", "2024-05-02", 1, t + 2 * HOUR_MS, 3);
    assert_int_equal(run_advance(&r), 1);
    s = run_statement(&r, "2024-05-01");
    assert_non_null(s);
    assert_int_equal(s->valid_orders + s->invalid_orders, 1);
    run_order(&r, 1, "x", "2024-05-01", 0, x_at, 1);
    r.p[0].max_event_ms = r.p[1].max_event_ms = at("2024-05-06T02:00:00+08:00");
    assert_int_equal(run_advance(&r), 2);
    s = run_statement(&r, "2024-05-02");
    assert_non_null(s);
    assert_int_equal(s->late_invalid_orders, 1);
    run_end(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_stops_at_a_gap_until_it_is_filled),
        cmocka_unit_test(duplicates_change_nothing),
        cmocka_unit_test(implausible_indexes_and_sizes_are_refused),
        cmocka_unit_test(memory_follows_the_gap_not_the_log),
        cmocka_unit_test(nothing_is_promised_until_a_checkpoint_counts),
        cmocka_unit_test(null_finalized_through_promises_nothing),
        cmocka_unit_test(the_promise_only_grows),
        cmocka_unit_test(pending_checkpoints_count_as_the_prefix_reaches_them),
        cmocka_unit_test(pending_checkpoints_are_bounded),
        cmocka_unit_test(prefix_and_promise_match_a_brute_force_oracle),
        cmocka_unit_test(watermark_is_the_smaller_of_stream_and_ledger),
        cmocka_unit_test(statement_waits_for_the_ledger_and_counts_the_straggler_on_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
