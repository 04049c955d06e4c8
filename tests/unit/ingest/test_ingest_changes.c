/* An order's maintenance in ingest (docs/maintenance.md): when a cancel,
 * reschedule or reassign takes effect or waits for the street
 * (change_rules.c), what refuses it, the request bodies (requests.c) and
 * the records published for a change (records.c), decoded back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "avro_codec.h"
#include "ingest/change_rules.h"
#include "ingest/records.h"
#include "ingest/requests.h"

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
/* 2024-05-06T09:00:00+08:00 */
#define START 1714957200000LL
#define FINAL_AFTER (24 * HOUR_MS)

static order_maintenance fresh(void)
{
    return (order_maintenance){.scheduled_start = START};
}

/* ---- when a change takes effect ------------------------------------------------ */

static void before_the_start_it_takes_effect_at_once(void **state)
{
    (void)state;
    order_maintenance o = fresh();
    assert_int_equal(ingest_change_decide(&o, START - 1, FINAL_AFTER), CHANGE_EFFECTIVE);
    assert_int_equal(ingest_change_decide(&o, START - 3 * 24 * HOUR_MS, FINAL_AFTER),
                     CHANGE_EFFECTIVE);
}

static void from_the_start_on_it_waits_for_the_street(void **state)
{
    (void)state;
    order_maintenance o = fresh();
    assert_int_equal(ingest_change_decide(&o, START, FINAL_AFTER), CHANGE_PENDING);
    assert_int_equal(ingest_change_decide(&o, START + 2 * HOUR_MS, FINAL_AFTER), CHANGE_PENDING);
    assert_int_equal(ingest_change_decide(&o, START + FINAL_AFTER, FINAL_AFTER), CHANGE_PENDING);
}

static void past_the_final_window_the_order_is_final(void **state)
{
    (void)state;
    order_maintenance o = fresh();
    assert_int_equal(ingest_change_decide(&o, START + FINAL_AFTER + 1, FINAL_AFTER),
                     CHANGE_REFUSED_FINAL);
    o.final = 1;
    assert_int_equal(ingest_change_decide(&o, START - HOUR_MS, FINAL_AFTER), CHANGE_REFUSED_FINAL);
}

static void cancelled_visited_and_waiting_orders_refuse_a_change(void **state)
{
    (void)state;
    order_maintenance o = fresh();
    o.cancelled = 1;
    assert_int_equal(ingest_change_decide(&o, START - HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_CANCELLED);
    o = fresh();
    o.visited = 1;
    assert_int_equal(ingest_change_decide(&o, START - HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_VISITED);
    o = fresh();
    o.has_pending = 1;
    assert_int_equal(ingest_change_decide(&o, START + HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_WAITING);
    /* What the order is comes before the waiting change. */
    o.visited = 1;
    assert_int_equal(ingest_change_decide(&o, START + HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_VISITED);
}

static void an_approval_needs_a_waiting_change_of_an_open_order(void **state)
{
    (void)state;
    order_maintenance o = fresh();
    assert_int_equal(ingest_change_approve_decide(&o, START + HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_NOTHING);
    o.has_pending = 1;
    assert_int_equal(ingest_change_approve_decide(&o, START + HOUR_MS, FINAL_AFTER),
                     CHANGE_EFFECTIVE);
    assert_int_equal(ingest_change_approve_decide(&o, START + FINAL_AFTER, FINAL_AFTER),
                     CHANGE_EFFECTIVE);
    assert_int_equal(ingest_change_approve_decide(&o, START + FINAL_AFTER + 1, FINAL_AFTER),
                     CHANGE_REFUSED_FINAL);
    o.visited = 1;
    assert_int_equal(ingest_change_approve_decide(&o, START + HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_VISITED);
    o.visited = 0;
    o.final = 1;
    assert_int_equal(ingest_change_approve_decide(&o, START + HOUR_MS, FINAL_AFTER),
                     CHANGE_REFUSED_FINAL);
}

static void reason_codes_are_the_designs(void **state)
{
    (void)state;
    static const char *const good[] = {"ELDER_HOSPITALIZED", "ELDER_DECEASED", "ELDER_REFUSED",
                                       "ELDER_ABSENT",       "CAREGIVER_ILL",  "WEATHER",
                                       "OTHER"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(ingest_change_reason_is_valid(good[i]));
    assert_false(ingest_change_reason_is_valid("other"));
    assert_false(ingest_change_reason_is_valid("ELDER_AWAY"));
    assert_false(ingest_change_reason_is_valid(""));
    assert_false(ingest_change_reason_is_valid("WEATHER "));
    assert_string_equal(ingest_change_action_name(CHANGE_CANCEL), "CANCEL");
    assert_string_equal(ingest_change_action_name(CHANGE_RESCHEDULE), "RESCHEDULE");
    assert_string_equal(ingest_change_action_name(CHANGE_REASSIGN), "REASSIGN");
    assert_string_equal(ingest_change_action_name(CHANGE_APPROVE), "APPROVE");
}

/* ---- request bodies ------------------------------------------------------------------ */

static json_t *docs[64];
static size_t ndocs;

static int free_docs(void **state)
{
    (void)state;
    for (size_t i = 0; i < ndocs; i++)
        json_decref(docs[i]);
    ndocs = 0;
    return 0;
}

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (doc == NULL)
        fail_msg("bad test JSON: %s", jerr.text);
    assert_true(ndocs < sizeof(docs) / sizeof(docs[0]));
    docs[ndocs++] = doc;
    return doc;
}

static void assert_refused(change_action action, const char *text, const char *field)
{
    change_req r;
    api_error err = {0};
    if (ingest_parse_change(load(text), action, &r, &err) == 0)
        fail_msg("accepted %s", text);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.field, field);
}

static void a_cancel_names_its_reason(void **state)
{
    (void)state;
    change_req r;
    api_error err = {0};
    json_t *body = load("{\"reason_code\":\"ELDER_REFUSED\",\"note\":\"no\"}");
    assert_int_equal(ingest_parse_change(body, CHANGE_CANCEL, &r, &err), 0);
    assert_string_equal(r.reason_code, "ELDER_REFUSED");
    assert_string_equal(r.note, "no");
    assert_int_equal(ingest_parse_change(load("{\"reason_code\":\"OTHER\"}"), CHANGE_CANCEL, &r,
                                         &err),
                     0);
    assert_null(r.note);
    assert_refused(CHANGE_CANCEL, "{\"reason_code\":\"TIRED\"}", "reason_code");
    assert_refused(CHANGE_CANCEL, "{\"reason_code\":\"elder_refused\"}", "reason_code");
    assert_refused(CHANGE_CANCEL, "{}", "reason_code");
    assert_refused(CHANGE_CANCEL, "{\"reason_code\":7}", "reason_code");
    assert_refused(CHANGE_CANCEL, "{\"reason_code\":\"OTHER\",\"note\":\"\"}", "note");
    assert_refused(CHANGE_CANCEL, "{\"reason_code\":\"OTHER\",\"scheduled_start\":1}",
                   "scheduled_start");
    assert_refused(CHANGE_CANCEL, "{\"reason_code\":\"OTHER\",\"caregiver_id\":\"CG2\"}",
                   "caregiver_id");
}

static void a_note_holds_at_most_500_bytes(void **state)
{
    (void)state;
    char text[700], note[520];
    change_req r;
    api_error err = {0};
    memset(note, 'n', 500);
    note[500] = '\0';
    snprintf(text, sizeof(text), "{\"reason_code\":\"OTHER\",\"note\":\"%s\"}", note);
    assert_int_equal(ingest_parse_change(load(text), CHANGE_CANCEL, &r, &err), 0);
    assert_int_equal(strlen(r.note), 500);
    note[500] = 'n';
    note[501] = '\0';
    snprintf(text, sizeof(text), "{\"reason_code\":\"OTHER\",\"note\":\"%s\"}", note);
    assert_refused(CHANGE_CANCEL, text, "note");
}

static void a_reschedule_needs_its_new_start(void **state)
{
    (void)state;
    change_req r;
    api_error err = {0};
    assert_int_equal(
        ingest_parse_change(load("{\"scheduled_start\":\"2024-05-06T14:00:00+08:00\","
                          "\"reason_code\":\"WEATHER\"}"),
                            CHANGE_RESCHEDULE, &r, &err),
        0);
    assert_int_equal(r.scheduled_start_ms, START + 5 * HOUR_MS);
    assert_refused(CHANGE_RESCHEDULE, "{\"reason_code\":\"WEATHER\"}", "scheduled_start");
    assert_refused(CHANGE_RESCHEDULE,
                   "{\"scheduled_start\":\"2024-05-06 14:00\",\"reason_code\":\"WEATHER\"}",
                   "scheduled_start");
    assert_refused(CHANGE_RESCHEDULE,
                   "{\"scheduled_start\":\"2024-05-06T14:00:00+08:00\",\"reason_code\":\"SUN\"}",
                   "reason_code");
}

static void a_reassign_needs_its_new_caregiver(void **state)
{
    (void)state;
    change_req r;
    api_error err = {0};
    assert_int_equal(ingest_parse_change(load("{\"caregiver_id\":\"CG2\",\"reason_code\":"
                                       "\"CAREGIVER_ILL\"}"),
                                         CHANGE_REASSIGN, &r, &err),
                     0);
    assert_string_equal(r.caregiver_id, "CG2");
    assert_refused(CHANGE_REASSIGN, "{\"reason_code\":\"CAREGIVER_ILL\"}", "caregiver_id");
    assert_refused(CHANGE_REASSIGN, "{\"caregiver_id\":\"C G\",\"reason_code\":\"OTHER\"}",
                   "caregiver_id");
}

static void an_approval_may_carry_a_note(void **state)
{
    (void)state;
    approve_req r;
    api_error err = {0};
    assert_int_equal(ingest_parse_approve(load("{}"), &r, &err), 0);
    assert_null(r.note);
    assert_int_equal(ingest_parse_approve(load("{\"note\":\"called the family\"}"), &r, &err), 0);
    assert_string_equal(r.note, "called the family");
    assert_int_equal(ingest_parse_approve(load("{\"reason_code\":\"OTHER\"}"), &r, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.field, "reason_code");
}

/* ---- the records ---------------------------------------------------------------------- */

static int codec_up(void **state)
{
    (void)state;
    char err[256];
    return cw_avro_init(err, sizeof(err));
}

static int codec_down(void **state)
{
    cw_avro_shutdown();
    return free_docs(state);
}

static void decode(const encoded_record *rec, const char *schema, avro_value_t *v)
{
    const cw_avro_schema *s;
    char err[256];
    if (cw_avro_decode(rec->data, rec->len, &s, v, err, sizeof(err)) != 0)
        fail_msg("decode: %s", err);
    assert_string_equal(s->name, schema);
}

static void a_reassign_revision_carries_the_whole_order_and_its_change(void **state)
{
    (void)state;
    order_revision r = {.order_id = "P01:O1",
                        .elder_id = "E1",
                        .caregiver_id = "CG2",
                        .provider_id = "P01",
                        .service_type = "bathing",
                        .person_id = "PERSON-2",
                        .certified = 1,
                        .scheduled_start = START,
                        .scheduled_minutes = 60,
                        .received_at = START - HOUR_MS,
                        .revision = 2,
                        .change_id = "P01:O1@2",
                        .kind = CHANGE_REASSIGN,
                        .reason_code = "CAREGIVER_ILL",
                        .requested_at = START - 2 * HOUR_MS,
                        .approved_by = "Wang Li",
                        .previous_caregiver_id = "CG1",
                        .previous_scheduled_start = START - 30 * MIN_MS};
    encoded_record rec;
    char err[256];
    cw_order_assigned record = ingest_revision_record(&r);
    assert_int_equal(ingest_encode_order(&record, &rec, err, sizeof(err)), 0);
    avro_value_t v, change;
    decode(&rec, "OrderAssigned", &v);
    const char *s;
    int32_t rev;
    int64_t t;
    int has, present;
    assert_int_equal(cw_av_get_str(&v, "caregiver_id", &s), 0);
    assert_string_equal(s, "CG2");
    assert_int_equal(cw_av_get_opt_str(&v, "person_id", &s), 0);
    assert_string_equal(s, "PERSON-2");
    assert_int_equal(cw_av_get_opt_int(&v, "revision", &has, &rev), 0);
    assert_true(has);
    assert_int_equal(rev, 2);
    assert_int_equal(cw_av_get_long(&v, "received_at", &t), 0);
    assert_int_equal(t, START - HOUR_MS);
    assert_int_equal(cw_av_get_present(&v, "change", &present, &change), 0);
    assert_true(present);
    assert_int_equal(cw_av_get_enum(&change, "kind", &s), 0);
    assert_string_equal(s, "REASSIGN");
    assert_int_equal(cw_av_get_str(&change, "change_id", &s), 0);
    assert_string_equal(s, "P01:O1@2");
    assert_int_equal(cw_av_get_opt_str(&change, "approved_by", &s), 0);
    assert_string_equal(s, "Wang Li");
    assert_int_equal(cw_av_get_opt_str(&change, "previous_caregiver_id", &s), 0);
    assert_string_equal(s, "CG1");
    assert_int_equal(cw_av_get_opt_str(&change, "previous_person_id", &s), 0);
    assert_null(s);
    assert_int_equal(cw_av_get_opt_long(&change, "previous_scheduled_start", &has, &t), 0);
    assert_int_equal(t, START - 30 * MIN_MS);
    assert_int_equal(cw_av_get_opt_str(&change, "note", &s), 0);
    assert_null(s);
    avro_value_decref(&v);
    free(rec.data);
}

static void a_waiting_change_has_no_revision_yet(void **state)
{
    (void)state;
    order_change_record c = {.change_id = "P01:O1@1",
                             .order_id = "P01:O1",
                             .provider_id = "P01",
                             .street_id = "S01",
                             .kind = CHANGE_RESCHEDULE,
                             .reason_code = "WEATHER",
                             .note = "typhoon",
                             .requested_at = START + HOUR_MS,
                             .requested_by = "provider:P01",
                             .scheduled_start = START,
                             .caregiver_id = "CG1",
                             .state = CW_ORDER_CHANGE_STATE_PENDING,
                             .has_new_start = 1,
                             .new_scheduled_start = START + 24 * HOUR_MS};
    encoded_record rec;
    char err[256];
    cw_order_change record = ingest_change_record(&c);
    assert_int_equal(ingest_encode_change(&record, &rec, err, sizeof(err)), 0);
    avro_value_t v;
    decode(&rec, "OrderChange", &v);
    const char *s;
    int32_t rev;
    int64_t t;
    int has;
    assert_int_equal(cw_av_get_enum(&v, "state", &s), 0);
    assert_string_equal(s, "PENDING");
    assert_int_equal(cw_av_get_opt_int(&v, "revision", &has, &rev), 0);
    assert_false(has);
    assert_int_equal(cw_av_get_opt_long(&v, "approved_at", &has, &t), 0);
    assert_false(has);
    assert_int_equal(cw_av_get_opt_long(&v, "new_scheduled_start", &has, &t), 0);
    assert_true(has);
    assert_int_equal(t, START + 24 * HOUR_MS);
    assert_int_equal(cw_av_get_opt_str(&v, "new_caregiver_id", &s), 0);
    assert_null(s);
    assert_int_equal(cw_av_get_str(&v, "street_id", &s), 0);
    assert_string_equal(s, "S01");
    avro_value_decref(&v);
    free(rec.data);

    /* Approved: who, when, and the revision it made. */
    c.state = CW_ORDER_CHANGE_STATE_APPROVED;
    c.approved_by = "Wang Li";
    c.approved_at = START + 2 * HOUR_MS;
    c.revision = 1;
    record = ingest_change_record(&c);
    assert_int_equal(ingest_encode_change(&record, &rec, err, sizeof(err)), 0);
    decode(&rec, "OrderChange", &v);
    assert_int_equal(cw_av_get_opt_int(&v, "revision", &has, &rev), 0);
    assert_true(has);
    assert_int_equal(rev, 1);
    assert_int_equal(cw_av_get_opt_long(&v, "approved_at", &has, &t), 0);
    assert_true(has);
    assert_int_equal(t, START + 2 * HOUR_MS);
    avro_value_decref(&v);
    free(rec.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(before_the_start_it_takes_effect_at_once),
        cmocka_unit_test(from_the_start_on_it_waits_for_the_street),
        cmocka_unit_test(past_the_final_window_the_order_is_final),
        cmocka_unit_test(cancelled_visited_and_waiting_orders_refuse_a_change),
        cmocka_unit_test(an_approval_needs_a_waiting_change_of_an_open_order),
        cmocka_unit_test(reason_codes_are_the_designs),
        cmocka_unit_test_teardown(a_cancel_names_its_reason, free_docs),
        cmocka_unit_test_teardown(a_note_holds_at_most_500_bytes, free_docs),
        cmocka_unit_test_teardown(a_reschedule_needs_its_new_start, free_docs),
        cmocka_unit_test_teardown(a_reassign_needs_its_new_caregiver, free_docs),
        cmocka_unit_test_teardown(an_approval_may_carry_a_note, free_docs),
        cmocka_unit_test_setup_teardown(a_reassign_revision_carries_the_whole_order_and_its_change,
                                        codec_up, codec_down),
        cmocka_unit_test_setup_teardown(a_waiting_change_has_no_revision_yet, codec_up,
                                        codec_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
