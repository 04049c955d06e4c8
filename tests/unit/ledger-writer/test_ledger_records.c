/* services/ledger-writer: the dossier's Redis hash parsed back, the
 * OrderFinalized record (decoded again through the codec and read back as
 * a log entry), and the choice of an order's contract at period
 * boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "ledger-writer/dossier.h"
#include "ledger-writer/evidence_request.h"
#include "ledger-writer/finalized_record.h"
#include "timeutil.h"

/* ---- dossier ------------------------------------------------------------------ */

static void test_dossier_round_trip(void **state)
{
    (void)state;
    char field[128], value[64];
    assert_int_equal(ledger_dossier_check_field("O1-in", "GEO_DISTANCE", field, sizeof(field)), 0);
    assert_string_equal(field, "k:O1-in|GEO_DISTANCE");
    assert_int_equal(ledger_dossier_check_value("YELLOW", 1714957320000LL, value, sizeof(value)),
                     0);
    assert_string_equal(value, "YELLOW|1714957320000");

    const char *fields[] = {"start", "minutes", "cg", "prov", "elder", "part", "in_at", "in_ev",
                            "out_at", "out_ev", "ev_at", field, "k:O1|NO_SHOW"};
    const char *values[] = {"1714957200000", "60", "CG01", "P01", "E001", "4", "1714957320000",
                            "O1-in", "1714961100000", "O1-out", "1714970000000", value,
                            "PASS|1714959000000"};
    ledger_dossier d;
    size_t skipped = 99;
    assert_int_equal(ledger_dossier_parse("O1", fields, values, 13, &d, &skipped), 0);
    assert_int_equal(skipped, 0);
    assert_true(d.d.has_order);
    assert_true(d.d.has_in);
    assert_true(d.d.has_out);
    assert_true(d.d.has_evidence);
    assert_string_equal(d.d.order_id, "O1");
    assert_int_equal(d.d.scheduled_start, 1714957200000LL);
    assert_int_equal(d.scheduled_minutes, 60);
    assert_int_equal(d.partition, 4);
    assert_string_equal(d.caregiver_id, "CG01");
    assert_string_equal(d.provider_id, "P01");
    assert_string_equal(d.elder_id, "E001");
    assert_string_equal(d.d.in_event, "O1-in");
    assert_string_equal(d.d.out_event, "O1-out");
    assert_int_equal(d.d.evidence_at, 1714970000000LL);
    assert_int_equal(d.d.check_count, 2);
    assert_string_equal(d.d.checks[0].subject, "O1-in");
    assert_string_equal(d.d.checks[0].rule, "GEO_DISTANCE");
    assert_int_equal(d.d.checks[0].outcome, CW_OUTCOME_YELLOW);
    assert_int_equal(d.d.checks[0].at, 1714957320000LL);
    assert_string_equal(d.d.checks[1].rule, "NO_SHOW");
    assert_int_equal(d.d.checks[1].outcome, CW_OUTCOME_PASS);
    ledger_dossier_free(&d);
}

static void test_dossier_without_order_or_with_bad_values(void **state)
{
    (void)state;
    const char *fields[] = {"in_at", "k:O1-in|FACE_MISMATCH", "k:broken", "minutes", "k:x|R",
                            "mystery", "part"};
    const char *values[] = {"17149573", "ORANGE|5", "PASS|1", "sixty", "PURPLE|1", "1", "-2"};
    ledger_dossier d;
    size_t skipped = 0;
    assert_int_equal(ledger_dossier_parse("O2", fields, values, 7, &d, &skipped), 0);
    /* k:broken (no rule), minutes, PURPLE, mystery, part -2 */
    assert_int_equal(skipped, 5);
    assert_false(d.d.has_order);
    assert_false(d.d.has_in); /* no in_ev */
    assert_int_equal(d.partition, -1);
    assert_int_equal(d.d.check_count, 1);
    assert_int_equal(d.d.checks[0].outcome, CW_OUTCOME_ORANGE);
    ledger_dossier_free(&d);
}

static void test_dossier_many_checks_grow(void **state)
{
    (void)state;
    enum { N = 200 };
    char names[N][32];
    const char *fields[N], *values[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(ledger_dossier_check_field("E", "R", names[i], sizeof(names[i])), 0);
        names[i][2] = (char)('A' + i % 26); /* distinct subjects */
        fields[i] = names[i];
        values[i] = "RED|7";
    }
    ledger_dossier d;
    assert_int_equal(ledger_dossier_parse("O3", fields, values, N, &d, NULL), 0);
    assert_int_equal(d.d.check_count, N);
    assert_int_equal(d.d.checks[N - 1].outcome, CW_OUTCOME_RED);
    ledger_dossier_free(&d);
}

static void test_check_field_too_long_fails(void **state)
{
    (void)state;
    char small[8];
    assert_int_equal(ledger_dossier_check_field("O1-in", "GEO_DISTANCE", small, sizeof(small)), -1);
    assert_int_equal(ledger_dossier_check_value("ORANGE", 1714957320000LL, small, sizeof(small)),
                     -1);
}

/* ---- OrderFinalized ---------------------------------------------------------------- */

static void test_finalized_record_encodes_every_field(void **state)
{
    (void)state;
    int64_t day;
    assert_int_equal(cw_date_parse("2024-05-06", &day), 0);
    const char *reasons[] = {"EVIDENCE_EXPIRED", "FACE_MISMATCH"};
    ledger_finalized_order o = {.order_id = "O1",
                                .provider_id = "P01",
                                .caregiver_id = "CG01",
                                .elder_id = "E001",
                                .street_id = "S01",
                                .contract_id = "K1",
                                .service_day = day,
                                .status = LEDGER_FIN_INVALID,
                                .reasons = reasons,
                                .reason_count = 2,
                                .has_in = 1,
                                .has_out = 1,
                                .in_at = 1714957320000LL,
                                .out_at = 1714961100000LL,
                                .unit_price_cents = 4000,
                                .finalized_at = 1715220000000LL,
                                .ledger_index = 41};
    uint8_t *bytes = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    char err[256];
    assert_int_equal(ledger_finalized_encode(&o, &bytes, &len, err, sizeof(err)), 0);
    assert_int_equal(ledger_finalized_encode(&o, &again, &len2, err, sizeof(err)), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(bytes, again, len); /* deterministic */
    assert_int_equal(bytes[0], 0xC3);
    assert_int_equal(bytes[1], 0x01);

    const cw_avro_schema *s;
    avro_value_t v;
    assert_int_equal(cw_avro_decode(bytes, len, &s, &v, err, sizeof(err)), 0);
    assert_string_equal(s->name, "OrderFinalized");
    const char *str;
    int has;
    int64_t n;
    int32_t minutes;
    size_t count;
    assert_int_equal(cw_av_get_str(&v, "service_day", &str), 0);
    assert_string_equal(str, "2024-05-06");
    assert_int_equal(cw_av_get_enum(&v, "status", &str), 0);
    assert_string_equal(str, "INVALID");
    assert_int_equal(cw_av_get_opt_str(&v, "contract_id", &str), 0);
    assert_string_equal(str, "K1");
    assert_int_equal(cw_av_get_array_size(&v, "reasons", &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(cw_av_get_str_at(&v, "reasons", 1, &str), 0);
    assert_string_equal(str, "FACE_MISMATCH");
    assert_int_equal(cw_av_get_opt_int(&v, "duration_minutes", &has, &minutes), 0);
    assert_true(has);
    assert_int_equal(minutes, 63);
    assert_int_equal(cw_av_get_long(&v, "ledger_index", &n), 0);
    assert_int_equal(n, 41);
    assert_int_equal(cw_av_get_long(&v, "finalized_at", &n), 0);
    assert_int_equal(n, 1715220000000LL);
    avro_value_decref(&v);

    /* A different index is a different entry. */
    o.ledger_index = 42;
    free(again);
    assert_int_equal(ledger_finalized_encode(&o, &again, &len2, err, sizeof(err)), 0);
    assert_true(len != len2 || memcmp(bytes, again, len) != 0);
    free(bytes);
    free(again);
}

static void test_finalized_record_without_visit_or_contract(void **state)
{
    (void)state;
    ledger_finalized_order o = {.order_id = "O2",
                                .provider_id = "P02",
                                .caregiver_id = "CG08",
                                .elder_id = "E010",
                                .street_id = "",
                                .contract_id = NULL,
                                .service_day = 19849,
                                .status = LEDGER_FIN_INVALID,
                                .reasons = NULL,
                                .reason_count = 0,
                                .finalized_at = 1,
                                .ledger_index = 0};
    uint8_t *bytes = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(ledger_finalized_encode(&o, &bytes, &len, err, sizeof(err)), 0);
    const cw_avro_schema *s;
    avro_value_t v;
    assert_int_equal(cw_avro_decode(bytes, len, &s, &v, err, sizeof(err)), 0);
    const char *str = "x";
    int has = 1;
    int64_t at;
    int32_t minutes;
    assert_int_equal(cw_av_get_opt_str(&v, "contract_id", &str), 0);
    assert_null(str);
    assert_int_equal(cw_av_get_opt_long(&v, "check_in_at", &has, &at), 0);
    assert_false(has);
    has = 1;
    assert_int_equal(cw_av_get_opt_int(&v, "duration_minutes", &has, &minutes), 0);
    assert_false(has);
    avro_value_decref(&v);
    free(bytes);
}

/* An entry read back as the writer reads its log: the typed record, and
 * anything else refused. */
static void test_entry_decodes_to_the_typed_record(void **state)
{
    (void)state;
    const char *reasons[] = {"SHORT_DURATION"};
    ledger_finalized_order o = {.order_id = "O3",
                                .provider_id = "P01",
                                .caregiver_id = "CG01",
                                .elder_id = "E001",
                                .street_id = "S01",
                                .service_day = 19849,
                                .status = LEDGER_FIN_VALID,
                                .reasons = reasons,
                                .reason_count = 1,
                                .has_in = 1,
                                .in_at = 1714957320000LL,
                                .finalized_at = 1715220000000LL,
                                .ledger_index = 7,
                                .visits_per_month = 8,
                                .has_corrects = 1,
                                .corrects_index = 2,
                                .correction_id = "O3:CORRECTION:1",
                                .decided_at = 1715220000001LL};
    uint8_t *bytes = NULL;
    size_t len = 0;
    char err[256];
    assert_int_equal(ledger_finalized_encode(&o, &bytes, &len, err, sizeof(err)), 0);
    ledger_entry e;
    assert_int_equal(ledger_entry_decode(bytes, len, &e, err, sizeof(err)), 0);
    assert_string_equal(e.rec.order_id, "O3");
    assert_null(e.rec.contract_id);
    assert_string_equal(e.rec.service_day, "2024-05-06");
    assert_int_equal(e.rec.status, CW_ORDER_STATUS_VALID);
    assert_int_equal(e.rec.reasons_count, 1);
    assert_string_equal(e.rec.reasons[0], "SHORT_DURATION");
    assert_true(e.rec.has_check_in_at);
    assert_false(e.rec.has_check_out_at);
    assert_false(e.rec.has_duration_minutes);
    assert_int_equal(e.rec.ledger_index, 7);
    assert_true(e.rec.has_visits_per_month);
    assert_int_equal(e.rec.visits_per_month, 8);
    assert_false(e.rec.has_minutes_per_visit);
    assert_true(e.rec.has_corrects_index);
    assert_int_equal(e.rec.corrects_index, 2);
    assert_string_equal(e.rec.correction_id, "O3:CORRECTION:1");
    assert_int_equal(e.rec.decided_at, 1715220000001LL);
    ledger_entry_release(&e);
    /* Cut short: undecodable. */
    assert_int_equal(ledger_entry_decode(bytes, len - 1, &e, err, sizeof(err)), -1);
    free(bytes);

    /* Another record than OrderFinalized. */
    ledger_evidence_request r = {.order_id = "O3",
                                 .provider_id = "P01",
                                 .caregiver_id = "CG01",
                                 .elder_id = "E001",
                                 .street_id = "S01"};
    assert_int_equal(ledger_evidence_request_encode(&r, &bytes, &len, err, sizeof(err)), 0);
    assert_int_equal(ledger_entry_decode(bytes, len, &e, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "EvidenceRequested"));
    free(bytes);
}

/* ---- contracts --------------------------------------------------------------------- */

/* Index entries as cw_contract_cover_entry writes them: "<first day>
 * <last day> <streets>", days since 1970-01-01. */
static void cover(char *buf, size_t len, const char *first, const char *last, const char *streets)
{
    int64_t a, b;
    assert_int_equal(cw_date_parse(first, &a), 0);
    assert_int_equal(cw_date_parse(last, &b), 0);
    snprintf(buf, len, "%lld %lld %s", (long long)a, (long long)b, streets);
}

static void test_contract_for_order_at_period_boundaries(void **state)
{
    (void)state;
    char may[64], june[64], short_may[64];
    cover(may, sizeof(may), "2024-05-01", "2024-05-31", "");
    cover(june, sizeof(june), "2024-06-01", "2024-06-30", "");
    cover(short_may, sizeof(short_may), "2024-05-15", "2024-05-20", "");
    const char *ids[] = {"K-MAY", "K-JUN", "A-MAY"};
    const char *entries[] = {may, june, short_may};
    int64_t d;
    cw_date_parse("2024-05-31", &d);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S01"), 0);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d + 1, "S01"), 1);
    cw_date_parse("2024-05-01", &d);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S01"), 0);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d - 1, "S01"), -1);
    cw_date_parse("2024-05-15", &d);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S01"), 2); /* smallest id */
    assert_int_equal(ledger_contract_for_order(ids, entries, 0, d, "S01"), -1);
}

static void test_contract_for_order_by_street(void **state)
{
    (void)state;
    char north[64], south[64], bad[] = "19844 x S01";
    cover(north, sizeof(north), "2024-05-01", "2024-05-31", "S01,S02");
    cover(south, sizeof(south), "2024-05-01", "2024-05-31", "S03");
    const char *ids[] = {"A-NORTH", "B-SOUTH", "0-BAD"};
    const char *entries[] = {north, south, bad};
    int64_t d;
    cw_date_parse("2024-05-10", &d);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S02"), 0);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S03"), 1);
    /* A street no contract serves, a malformed entry: no contract. */
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S04"), -1);
    assert_int_equal(ledger_contract_for_order(ids, entries, 3, d, "S0"), -1);
    const char *with_null[] = {NULL, south};
    assert_int_equal(ledger_contract_for_order(ids, with_null, 2, d, "S03"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dossier_round_trip),
        cmocka_unit_test(test_dossier_without_order_or_with_bad_values),
        cmocka_unit_test(test_dossier_many_checks_grow),
        cmocka_unit_test(test_check_field_too_long_fails),
        cmocka_unit_test(test_finalized_record_encodes_every_field),
        cmocka_unit_test(test_finalized_record_without_visit_or_contract),
        cmocka_unit_test(test_entry_decodes_to_the_typed_record),
        cmocka_unit_test(test_contract_for_order_at_period_boundaries),
        cmocka_unit_test(test_contract_for_order_by_street),
    };
    return cmocka_run_group_tests(tests, cw_test_setup_codec, cw_test_teardown_codec);
}
