/* Correcting entries of the ledger: the pure rules of a supervision
 * desk's OrderCorrection (services/ledger-writer/correction_rules.h: what
 * is appended, held or changes nothing, the reasons, finalized_at, the held
 * form in a dossier), the OrderFinalized they are encoded as, and the
 * audit of a log that holds them (ledger_verify.h): a correction of the
 * order's latest entry verifies, one of another entry or under a reused id
 * does not, and an order's latest entry is the one proved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger-writer/correction_rules.h"
#include "ledger-writer/finalized_record.h"
#include "ledger-writer/ledger_verify.h"
#include "ledger_fixture.h"

static ledger_key *test_key;

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (cw_avro_init(err, sizeof(err)) != 0)
        return -1;
    test_key = fixture_key(LEDGER_SIG_ED25519);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ledger_key_free(test_key);
    cw_avro_shutdown();
    return 0;
}

static ledger_corr_request request(const char *id, const char *status, int64_t decided_at)
{
    ledger_corr_request x;
    char why[256];
    if (ledger_corr_request_make(&x, id, "P01:O-1", status, "CALLBACK_DENIED", decided_at, why,
                                 sizeof(why)) != 0)
        fail_msg("%s", why);
    return x;
}

/* ---- the rules ----------------------------------------------------------- */

static void requests_are_checked(void **state)
{
    (void)state;
    ledger_corr_request x;
    char why[256];
    char long_id[LEDGER_CORR_ID_MAX + 1];
    memset(long_id, 'a', LEDGER_CORR_ID_MAX);
    long_id[LEDGER_CORR_ID_MAX] = '\0';
    assert_int_equal(ledger_corr_request_make(&x, "P01:O-1:CORRECTION:P01:O-1:3", "P01:O-1",
                                              "INVALID", "CALLBACK_DENIED", 5, why, sizeof(why)),
                     0);
    assert_int_equal(x.status, LEDGER_FIN_INVALID);
    assert_string_equal(x.reason, "CALLBACK_DENIED");
    assert_int_equal(x.decided_at, 5);
    assert_int_equal(
        ledger_corr_request_make(&x, "", "P01:O-1", "INVALID", "R", 5, why, sizeof(why)), -1);
    assert_int_equal(
        ledger_corr_request_make(&x, long_id, "P01:O-1", "INVALID", "R", 5, why, sizeof(why)), -1);
    long_id[LEDGER_CORR_ID_MAX - 1] = '\0'; /* 190 characters: the longest */
    assert_int_equal(
        ledger_corr_request_make(&x, long_id, "P01:O-1", "INVALID", "R", 5, why, sizeof(why)), 0);
    assert_int_equal(
        ledger_corr_request_make(&x, "a b", "P01:O-1", "INVALID", "R", 5, why, sizeof(why)), -1);
    assert_int_equal(ledger_corr_request_make(&x, "c1", "", "INVALID", "R", 5, why, sizeof(why)),
                     -1);
    assert_int_equal(
        ledger_corr_request_make(&x, "c1", "P01:O-1", "LOST", "R", 5, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "LOST"));
    assert_int_equal(ledger_corr_request_make(&x, "c1", "P01:O-1", "INVALID", "callback denied", 5,
                                              why, sizeof(why)),
                     -1);
    assert_int_equal(
        ledger_corr_request_make(&x, "c1", "P01:O-1", "INVALID", "", 5, why, sizeof(why)), -1);
    assert_int_equal(
        ledger_corr_request_make(&x, "c1", "P01:O-1", "CANCELLED", "A_1", 5, why, sizeof(why)), 0);
    assert_int_equal(x.status, LEDGER_FIN_CANCELLED);
}

static void what_a_correction_does(void **state)
{
    (void)state;
    ledger_corr_request x = request("c2", "INVALID", 2000);
    /* Not final: held. */
    assert_int_equal(ledger_corr_decide(NULL, &x), LEDGER_CORR_HOLD);
    /* A VALID first entry: corrected. */
    ledger_corr_latest first = {.status = LEDGER_FIN_VALID, .finalized_at = 1000};
    assert_int_equal(ledger_corr_decide(&first, &x), LEDGER_CORR_APPEND);
    /* Already INVALID: nothing. */
    first.status = LEDGER_FIN_INVALID;
    assert_int_equal(ledger_corr_decide(&first, &x), LEDGER_CORR_SAME_STATUS);
    /* The latest entry is a correction decided later, or at the same
     * instant with a larger id: this one is superseded, whatever its
     * status; one decided after it is judged by status. */
    ledger_corr_latest later = {.status = LEDGER_FIN_VALID,
                                .finalized_at = 3000,
                                .corrected = 1,
                                .decided_at = 3000,
                                .correction_id = "c1"};
    assert_int_equal(ledger_corr_decide(&later, &x), LEDGER_CORR_SUPERSEDED);
    later.decided_at = 2000;
    later.correction_id = "c3";
    assert_int_equal(ledger_corr_decide(&later, &x), LEDGER_CORR_SUPERSEDED);
    later.correction_id = "c1";
    assert_int_equal(ledger_corr_decide(&later, &x), LEDGER_CORR_APPEND);
    later.status = LEDGER_FIN_INVALID;
    assert_int_equal(ledger_corr_decide(&later, &x), LEDGER_CORR_SAME_STATUS);
    assert_string_equal(ledger_corr_action_name(LEDGER_CORR_SUPERSEDED), "SUPERSEDED");
    assert_true(ledger_corr_precedes(1, "b", 2, "a"));
    assert_true(ledger_corr_precedes(2, "a", 2, "b"));
    assert_false(ledger_corr_precedes(2, "b", 2, "b"));
    assert_false(ledger_corr_precedes(3, "a", 2, "b"));
}

static void reasons_are_merged_sorted_once(void **state)
{
    (void)state;
    const char *in[] = {"GEO_DISTANCE", "VOICE_UNCONFIRMED"};
    const char *out[4];
    assert_int_equal(ledger_corr_reasons(in, 2, "CALLBACK_DENIED", out, 4), 3);
    assert_string_equal(out[0], "CALLBACK_DENIED");
    assert_string_equal(out[1], "GEO_DISTANCE");
    assert_string_equal(out[2], "VOICE_UNCONFIRMED");
    /* Already there: once. */
    assert_int_equal(ledger_corr_reasons(in, 2, "GEO_DISTANCE", out, 4), 2);
    /* A first entry without reasons. */
    assert_int_equal(ledger_corr_reasons(NULL, 0, "CALLBACK_DENIED", out, 4), 1);
    assert_string_equal(out[0], "CALLBACK_DENIED");
    /* No room. */
    assert_int_equal(ledger_corr_reasons(in, 2, "ZZZ", out, 2), -1);
}

static void finalized_at_is_the_decision_or_later(void **state)
{
    (void)state;
    /* The decision's instant when nothing holds it back. */
    assert_int_equal(ledger_corr_finalized_at(5000, 1000, 4000), 5000);
    assert_int_equal(ledger_corr_finalized_at(5000, 1000, INT64_MIN), 5000);
    /* Never before the entry it corrects (a correction held for an order
     * decided later). */
    assert_int_equal(ledger_corr_finalized_at(500, 1000, INT64_MIN), 1000);
    /* After what the ledger promised. */
    assert_int_equal(ledger_corr_finalized_at(5000, 1000, 5000), 5001);
    assert_int_equal(ledger_corr_finalized_at(5000, 1000, 9000), 9001);
    assert_int_equal(ledger_corr_finalized_at(5000, 1000, INT64_MAX), 5000);
}

static void held_form_round_trips_in_decision_order(void **state)
{
    (void)state;
    ledger_corr_request held[3];
    const char *ids[] = {"c-late", "c-b", "c-a"};
    const int64_t times[] = {9000, 4000, 4000};
    for (size_t i = 0; i < 3; i++) {
        ledger_corr_request x = request(ids[i], i == 1 ? "CANCELLED" : "INVALID", times[i]);
        char field[LEDGER_CORR_ID_MAX + 8], value[96];
        assert_int_equal(ledger_corr_held_field(x.correction_id, field, sizeof(field)), 0);
        assert_int_equal(ledger_corr_held_value(&x, value, sizeof(value)), 0);
        assert_int_equal(ledger_corr_held_parse("P01:O-1", field, value, &held[i]), 0);
        assert_string_equal(held[i].correction_id, ids[i]);
        assert_string_equal(held[i].order_id, "P01:O-1");
        assert_int_equal(held[i].status, x.status);
        assert_string_equal(held[i].reason, "CALLBACK_DENIED");
        assert_int_equal(held[i].decided_at, times[i]);
    }
    ledger_corr_sort(held, 3);
    assert_string_equal(held[0].correction_id, "c-a");
    assert_string_equal(held[1].correction_id, "c-b");
    assert_string_equal(held[2].correction_id, "c-late");
    ledger_corr_request x;
    assert_int_equal(ledger_corr_held_parse("P01:O-1", "k:ev|GEO", "INVALID|1|R", &x), -1);
    assert_int_equal(ledger_corr_held_parse("P01:O-1", "corr:c1", "INVALID|x|R", &x), -1);
    assert_int_equal(ledger_corr_held_parse("P01:O-1", "corr:c1", "INVALID||R", &x), -1);
    assert_int_equal(ledger_corr_held_parse("P01:O-1", "corr:c1", "INVALID|7", &x), -1);
    assert_int_equal(ledger_corr_held_parse("P01:O-1", "corr:c1", "GONE|7|R", &x), -1);
    assert_int_equal(ledger_corr_held_parse("P01:O-1", "corr:c1", "VALID|-7|R", &x), 0);
    assert_int_equal(x.decided_at, -7);
}

/* ---- the entries ----------------------------------------------------------- */

/* An order's entry: a first one, or (correction_id given) a correction of
 * entry corrects. malloc'd. */
static uint8_t *entry(uint64_t index, const char *order_id, const char *status,
                      const char *correction_id, uint64_t corrects, size_t *len)
{
    static const char *const reasons[] = {"CALLBACK_DENIED", "GEO_DISTANCE"};
    ledger_finalized_order o = {
        .order_id = order_id,
        .provider_id = "P01",
        .caregiver_id = "P01:CG-1",
        .elder_id = "E-1",
        .street_id = "S01",
        .contract_id = "K-P01",
        .service_day = 19844,
        .reasons = correction_id ? reasons : reasons + 1,
        .reason_count = 1 + (correction_id != NULL),
        .has_in = 1,
        .has_out = 1,
        .in_at = 1714521600000,
        .out_at = 1714525200000,
        .unit_price_cents = 4000,
        .finalized_at = 1714600000000 + (int64_t)index,
        .ledger_index = index,
        .has_corrects = correction_id != NULL,
        .corrects_index = corrects,
        .correction_id = correction_id,
        .decided_at = 1714590000000,
    };
    char err[256];
    assert_int_equal(ledger_corr_status_parse(status, &o.status), 0);
    uint8_t *bytes = NULL;
    if (ledger_finalized_encode(&o, &bytes, len, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return bytes;
}

static void correcting_entry_carries_what_it_corrects(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bytes = entry(7, "P01:O-1", "INVALID", "P01:O-1:CORRECTION:x", 3, &len);
    const cw_avro_schema *s;
    avro_value_t v;
    char err[256];
    assert_int_equal(cw_avro_decode(bytes, len, &s, &v, err, sizeof(err)), 0);
    int has;
    int64_t n;
    const char *text;
    assert_int_equal(cw_av_get_opt_long(&v, "corrects_index", &has, &n), 0);
    assert_true(has);
    assert_int_equal(n, 3);
    assert_int_equal(cw_av_get_opt_str(&v, "correction_id", &text), 0);
    assert_string_equal(text, "P01:O-1:CORRECTION:x");
    assert_int_equal(cw_av_get_opt_long(&v, "decided_at", &has, &n), 0);
    assert_true(has);
    assert_int_equal(n, 1714590000000);
    assert_int_equal(cw_av_get_enum(&v, "status", &text), 0);
    assert_string_equal(text, "INVALID");
    avro_value_decref(&v);
    free(bytes);

    /* A first entry has none of the three. */
    bytes = entry(3, "P01:O-1", "VALID", NULL, 0, &len);
    assert_int_equal(cw_avro_decode(bytes, len, &s, &v, err, sizeof(err)), 0);
    assert_int_equal(cw_av_get_opt_long(&v, "corrects_index", &has, &n), 0);
    assert_false(has);
    assert_int_equal(cw_av_get_opt_str(&v, "correction_id", &text), 0);
    assert_null(text);
    assert_int_equal(cw_av_get_opt_long(&v, "decided_at", &has, &n), 0);
    assert_false(has);
    avro_value_decref(&v);
    free(bytes);
}

static void append(ledger_log *log, uint8_t *bytes, size_t len)
{
    char err[256];
    assert_int_equal(ledger_log_append(log, bytes, len, NULL, err, sizeof(err)), 0);
    free(bytes);
}

/* Entries 0..4 of other orders, then order X first at 5, corrected at 6
 * and again at 7 (correcting 6, its latest); then the caller's entry at
 * 8, if any, and a checkpoint. */
static void build(const char *dir, const char *last_order, const char *last_id,
                  uint64_t last_corrects)
{
    ledger_log *log = fixture_writer(dir, LEDGER_HASH_SM3, test_key);
    fixture_append_orders(log, 0, 5);
    size_t len;
    uint8_t *b = entry(5, "P01:O-X", "VALID", NULL, 0, &len);
    append(log, b, len);
    b = entry(6, "P01:O-X", "INVALID", "P01:O-X:CORRECTION:1", 5, &len);
    append(log, b, len);
    b = entry(7, "P01:O-X", "CANCELLED", "P01:O-X:CORRECTION:2", 6, &len);
    append(log, b, len);
    if (last_order != NULL) {
        b = entry(8, last_order, "VALID", last_id, last_corrects, &len);
        append(log, b, len);
    }
    fixture_checkpoint(log);
    ledger_log_close(log);
}

static void corrected_log_verifies_and_proves_the_latest(void **state)
{
    (void)state;
    char dir[64], err[256];
    fixture_tmpdir(dir);
    build(dir, NULL, NULL, 0);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_OK);
    assert_int_equal(rep.entries, 8);
    assert_int_equal(rep.corrections, 2);
    assert_non_null(strstr(rep.message, "2 of them correcting entries"));

    ledger_log *log;
    ledger_log_options opt = {.verify_key = test_key}; /* read-only */
    assert_int_equal(ledger_log_open(dir, &opt, &log, err, sizeof(err)), 0);
    uint64_t index = 0;
    assert_int_equal(ledger_find_order(log, "P01:O-X", &index, err, sizeof(err)),
                     LEDGER_AUDIT_OK);
    assert_int_equal(index, 7);
    assert_int_equal(ledger_find_order(log, "ord-00002", &index, err, sizeof(err)),
                     LEDGER_AUDIT_OK);
    assert_int_equal(index, 2);
    assert_int_equal(ledger_find_order(log, "P01:O-none", &index, err, sizeof(err)),
                     LEDGER_AUDIT_FAILED);
    ledger_log_close(log);
    fixture_rmdir(dir);
}

static void expect_correction_problem(const char *order, const char *id, uint64_t corrects,
                                      const char *why)
{
    char dir[64];
    fixture_tmpdir(dir);
    build(dir, order, id, corrects);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_CORRECTION);
    assert_int_equal(rep.bad_entry, 8);
    assert_int_equal(rep.checkpoint_problem, LEDGER_PROBLEM_NONE);
    if (strstr(rep.message, why) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", rep.message, why);
    fixture_rmdir(dir);
}

static void bad_corrections_fail_the_audit(void **state)
{
    (void)state;
    /* A correction of an entry that was corrected already. */
    expect_correction_problem("P01:O-X", "P01:O-X:CORRECTION:3", 6,
                              "the latest entry of order P01:O-X is entry 7");
    /* Of another order's entry. */
    expect_correction_problem("P01:O-X", "P01:O-X:CORRECTION:3", 2,
                              "the latest entry of order P01:O-X is entry 7");
    /* Of an order with no entry before. */
    expect_correction_problem("P01:O-Y", "P01:O-Y:CORRECTION:1", 7, "no earlier entry");
    /* Under a correction id used before. */
    expect_correction_problem("P01:O-X", "P01:O-X:CORRECTION:1", 7,
                              "P01:O-X:CORRECTION:1 is entry 6 already");

    /* An order's second entry that corrects nothing is still a duplicate. */
    char dir[64];
    fixture_tmpdir(dir);
    build(dir, "P01:O-X", NULL, 0);
    ledger_verify_report rep;
    assert_int_equal(ledger_verify_dir(dir, test_key, &rep), LEDGER_AUDIT_FAILED);
    assert_int_equal(rep.entry_problem, LEDGER_PROBLEM_ENTRY_DUPLICATE);
    assert_int_equal(rep.bad_entry, 8);
    assert_int_equal(rep.duplicate_of, 5);
    fixture_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_are_checked),
        cmocka_unit_test(what_a_correction_does),
        cmocka_unit_test(reasons_are_merged_sorted_once),
        cmocka_unit_test(finalized_at_is_the_decision_or_later),
        cmocka_unit_test(held_form_round_trips_in_decision_order),
        cmocka_unit_test(correcting_entry_carries_what_it_corrects),
        cmocka_unit_test(corrected_log_verifies_and_proves_the_latest),
        cmocka_unit_test(bad_corrections_fail_the_audit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
