/* A /v1/batch's view of Redis (batch_session.h): what its earlier lines
 * wrote (SET, HSET, the reference store's order write) is seen by its later
 * lines before anything reaches Redis, keys it knows nothing of are left to
 * Redis, and the kept writes change owner.
 * Prefetching and finishing talk to Redis and Kafka: the ingest
 * integration tests run them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ingest/batch_session.h"
#include "reference_store.h"

static void unknown_keys_are_left_to_redis(void **state)
{
    (void)state;
    batch_session *s = ingest_batch_session_new();
    assert_non_null(s);
    static const char *const fields[] = {"provider_id"};
    char values[1][128];
    char buf[64];
    int unwritten = 1;
    assert_int_equal(ingest_batch_session_lookup_hash(s, "cw:caregiver:CG1", fields, 1, values,
                                                      &unwritten), BATCH_NOT_HERE);
    assert_int_equal(ingest_batch_session_lookup_string(s, "cw:idem:event:E1", buf, sizeof(buf),
                                                        &unwritten), BATCH_NOT_HERE);
    assert_false(unwritten);
    /* Wanted but not fetched yet is not known either. */
    assert_int_equal(ingest_batch_session_want_string(s, "cw:idem:event:E1"), 0);
    assert_int_equal(ingest_batch_session_lookup_string(s, "cw:idem:event:E1", buf, sizeof(buf),
                                                        &unwritten), BATCH_NOT_HERE);
    ingest_batch_session_free(s);
}

static void earlier_lines_writes_are_seen(void **state)
{
    (void)state;
    batch_session *s = ingest_batch_session_new();
    cw_redis_batch b = {0};
    const char *hset[] = {"HSET", "cw:elder:E1", "street_id", "S01", "community_id", "C01"};
    const char *set[] = {"SET", "cw:idem:elder:E1", "abc"};
    cw_redis_batch_add(&b, 6, hset);
    cw_redis_batch_add(&b, 3, set);
    assert_int_equal(ingest_batch_session_add_writes(s, 1, &b), 0);
    assert_int_equal(b.count, 0); /* cleared: the session owns the copies */

    static const char *const fields[] = {"street_id", "community_id"};
    char values[2][128];
    int unwritten = 0;
    assert_int_equal(ingest_batch_session_lookup_hash(s, "cw:elder:E1", fields, 2, values,
                                                      &unwritten), BATCH_FOUND);
    assert_string_equal(values[0], "S01");
    assert_string_equal(values[1], "C01");
    /* Not in Redis yet: a reader must flush before producing. */
    assert_true(unwritten);
    char buf[64];
    assert_int_equal(ingest_batch_session_lookup_string(s, "cw:idem:elder:E1", buf, sizeof(buf),
                                                        &unwritten), BATCH_FOUND);
    assert_string_equal(buf, "abc");

    /* A later line's update of the same row wins, field by field. */
    const char *update[] = {"HSET", "cw:elder:E1", "community_id", "C02"};
    cw_redis_batch_add(&b, 4, update);
    assert_int_equal(ingest_batch_session_add_writes(s, 2, &b), 0);
    assert_int_equal(ingest_batch_session_lookup_hash(s, "cw:elder:E1", fields, 2, values,
                                                      &unwritten), BATCH_FOUND);
    assert_string_equal(values[0], "S01");
    assert_string_equal(values[1], "C02");
    ingest_batch_session_free(s);
}

static void a_hash_without_its_first_field_is_missing(void **state)
{
    (void)state;
    /* As HMGET is read for a single request: the first asked field says
     * whether the row exists. */
    batch_session *s = ingest_batch_session_new();
    cw_redis_batch b = {0};
    const char *hset[] = {"HSET", "cw:order:O1", "elder_id", "E1"};
    cw_redis_batch_add(&b, 4, hset);
    assert_int_equal(ingest_batch_session_add_writes(s, 1, &b), 0);
    static const char *const fields[] = {"provider_id", "elder_id"};
    char values[2][128];
    int unwritten = 0;
    assert_int_equal(ingest_batch_session_lookup_hash(s, "cw:order:O1", fields, 2, values,
                                                      &unwritten), BATCH_MISSING);
    assert_string_equal(values[0], "");
    assert_string_equal(values[1], "E1");
    ingest_batch_session_free(s);
}

static void other_commands_are_not_kept(void **state)
{
    (void)state;
    batch_session *s = ingest_batch_session_new();
    cw_redis_batch b = {0};
    const char *eval[] = {"EVAL", "return 1", "0"};
    cw_redis_batch_add(&b, 3, eval);
    assert_int_equal(ingest_batch_session_add_writes(s, 1, &b), -1);
    assert_int_equal(b.count, 0);
    ingest_batch_session_free(s);
}

/* An order goes into Redis as reference_store.h writes it (a conditional
 * HSET script): a later line of the batch reads it from the copy. */
static void an_order_written_by_the_reference_store_is_seen(void **state)
{
    (void)state;
    static const char *const fields[] = {"elder_id", "caregiver_id", "status", "revision"};
    batch_session *s = ingest_batch_session_new();
    cw_redis_batch b = {0};
    cw_order_assigned order = {.order_id = "P01:O1",
                               .elder_id = "E1",
                               .caregiver_id = "CG1",
                               .provider_id = "P01",
                               .service_type = "bathing",
                               .scheduled_start = 1714521600000LL,
                               .scheduled_minutes = 60};
    assert_int_equal(cw_state_write_order(&b, &order), 0);
    assert_int_equal(ingest_batch_session_add_writes(s, 1, &b), 0);
    char values[4][128];
    int unwritten = 0;
    assert_int_equal(ingest_batch_session_lookup_hash(s, "cw:order:P01:O1", fields, 4, values,
                                                      &unwritten),
                     BATCH_FOUND);
    assert_true(unwritten);
    assert_string_equal(values[0], "E1");
    assert_string_equal(values[1], "CG1");
    assert_string_equal(values[2], "");
    assert_string_equal(values[3], "0");

    /* A later revision (a cancel) replaces it; an older one does not. */
    order.has_revision = 1;
    order.revision = 2;
    order.has_change = 1;
    order.change.kind = CW_ORDER_CHANGE_KIND_CANCEL;
    assert_int_equal(cw_state_write_order(&b, &order), 0);
    order.revision = 1;
    order.caregiver_id = "CG9";
    order.change.kind = CW_ORDER_CHANGE_KIND_REASSIGN;
    assert_int_equal(cw_state_write_order(&b, &order), 0);
    assert_int_equal(ingest_batch_session_add_writes(s, 2, &b), 0);
    assert_int_equal(ingest_batch_session_lookup_hash(s, "cw:order:P01:O1", fields, 4, values,
                                                      &unwritten),
                     BATCH_FOUND);
    assert_string_equal(values[1], "CG1");
    assert_string_equal(values[2], "CANCELLED");
    assert_string_equal(values[3], "2");
    ingest_batch_session_free(s);
}

static void the_stream_clock_only_rises(void **state)
{
    (void)state;
    batch_session *s = ingest_batch_session_new();
    assert_int_equal(ingest_batch_session_clock(s), 0);
    ingest_batch_session_advance_clock(s, 0, 1000); /* Redis's value */
    ingest_batch_session_advance_clock(s, 3, 900);
    assert_int_equal(ingest_batch_session_clock(s), 1000);
    ingest_batch_session_advance_clock(s, 4, 2000);
    assert_int_equal(ingest_batch_session_clock(s), 2000);
    ingest_batch_session_free(s);
}

static void records_are_copied(void **state)
{
    (void)state;
    batch_session *s = ingest_batch_session_new();
    char topic[] = "visit.events", key[] = "CG1", value[] = "\xc3\x01payload";
    cw_kafka_record r = {.topic = topic, .key = key, .key_len = 3, .value = value,
                         .value_len = sizeof(value) - 1};
    assert_int_equal(ingest_batch_session_add_records(s, 1, &r, 1), 0);
    /* The caller's buffers may go at once (ASan and valgrind would see a
     * use after free in ingest_batch_session_free otherwise). */
    memset(topic, 'x', sizeof(topic) - 1);
    memset(value, 0, sizeof(value));
    ingest_batch_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_keys_are_left_to_redis),
        cmocka_unit_test(earlier_lines_writes_are_seen),
        cmocka_unit_test(a_hash_without_its_first_field_is_missing),
        cmocka_unit_test(other_commands_are_not_kept),
        cmocka_unit_test(an_order_written_by_the_reference_store_is_seen),
        cmocka_unit_test(the_stream_clock_only_rises),
        cmocka_unit_test(records_are_copied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
