/* common/state.c's revisions of an order (docs/maintenance.md): a
 * revision's verdict subject, what each copy of a revision means in the
 * partition it is read from, and the revision read from an OrderAssigned
 * record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "avro_codec.h"
#include "order_revision.h"

static void subjects_name_the_revision(void **state)
{
    (void)state;
    char buf[CW_SUBJECT_MAX];
    assert_int_equal(cw_order_revision_subject("P01:O1", 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "P01:O1");
    assert_int_equal(cw_order_revision_subject("P01:O1", 3, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "P01:O1@3");
    char id[65];
    memset(id, 'x', 64);
    id[64] = '\0';
    assert_int_equal(cw_order_revision_subject(id, 2147483647, buf, sizeof(buf)), 0);
    assert_int_equal(strlen(buf), 64 + 1 + 10);
    char small[8];
    assert_int_equal(cw_order_revision_subject("P01:O1", 12, small, sizeof(small)), -1);
}

static cw_order_revision revision(int n, const char *kind, const char *key, const char *previous)
{
    return (cw_order_revision){.revision = n,
                               .kind = kind,
                               .reason_code = kind ? "OTHER" : NULL,
                               .stream_key = key,
                               .previous_stream_key = previous};
}

static void assert_copy(cw_order_revision r, const char *key, int leave, int arrive)
{
    cw_revision_copy c = cw_order_revision_copy(&r, key);
    if (c.leave != leave || c.arrive != arrive)
        fail_msg("%s r%d read under %s: leave %d arrive %d, expected %d %d", r.kind, r.revision,
                 key, c.leave, c.arrive, leave, arrive);
}

static void each_copy_leaves_or_arrives(void **state)
{
    (void)state;
    /* The original assignment only arrives. */
    assert_copy(revision(0, NULL, "CG1", NULL), "CG1", 0, 1);
    /* A reschedule: one copy, the same stream before and after. */
    assert_copy(revision(1, "RESCHEDULE", "CG1", "CG1"), "CG1", 1, 1);
    /* A cancel leaves and schedules nothing. */
    assert_copy(revision(2, "CANCEL", "CG1", "CG1"), "CG1", 1, 0);
    /* A reassign to another person: a copy for each stream. */
    assert_copy(revision(1, "REASSIGN", "CG2", "CG1"), "CG1", 1, 0);
    assert_copy(revision(1, "REASSIGN", "CG2", "CG1"), "CG2", 0, 1);
    /* To another registration of the same person: one stream, one copy. */
    assert_copy(revision(1, "REASSIGN", "PERSON-7", "PERSON-7"), "PERSON-7", 1, 1);
    /* A key that is neither (never published so) means nothing. */
    assert_copy(revision(1, "REASSIGN", "CG2", "CG1"), "CG3", 0, 0);
    cw_order_revision cancel = revision(1, "CANCEL", "CG1", "CG1");
    cw_order_revision move = revision(1, "REASSIGN", "CG2", "CG1");
    assert_true(cw_order_revision_is_cancel(&cancel));
    assert_false(cw_order_revision_is_cancel(&move));
}

/* ---- from the record -------------------------------------------------------------- */

static int codec_up(void **state)
{
    (void)state;
    char err[256];
    return cw_avro_init(err, sizeof(err));
}

static int codec_down(void **state)
{
    (void)state;
    cw_avro_shutdown();
    return 0;
}

static void order_value(avro_value_t *v, const char *caregiver, const char *person)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("OrderAssigned");
    assert_non_null(s);
    assert_int_equal(cw_avro_new_value(s, v), 0);
    assert_int_equal(cw_av_set_str(v, "order_id", "P01:O1"), 0);
    assert_int_equal(cw_av_set_str(v, "caregiver_id", caregiver), 0);
    assert_int_equal(cw_av_set_opt_str(v, "person_id", person), 0);
    assert_int_equal(cw_av_set_long(v, "received_at", 1000), 0);
}

static void the_original_assignment_is_revision_zero(void **state)
{
    (void)state;
    avro_value_t v;
    cw_order_revision r;
    order_value(&v, "CG1", NULL);
    assert_int_equal(cw_order_revision_of(&v, &r), 0);
    assert_int_equal(r.revision, 0);
    assert_null(r.kind);
    assert_null(r.previous_stream_key);
    assert_string_equal(r.stream_key, "CG1");
    assert_int_equal(r.received_at, 1000);
    avro_value_decref(&v);
    order_value(&v, "CG1", "PERSON-1");
    assert_int_equal(cw_av_set_int(&v, "revision", 0), 0);
    assert_int_equal(cw_order_revision_of(&v, &r), 0);
    assert_int_equal(r.revision, 0);
    assert_string_equal(r.stream_key, "PERSON-1");
    avro_value_decref(&v);
}

static void a_revision_names_both_streams(void **state)
{
    (void)state;
    avro_value_t v, change;
    cw_order_revision r;
    order_value(&v, "CG2", NULL);
    assert_int_equal(cw_av_set_int(&v, "revision", 2), 0);
    /* A revision without its change is malformed. */
    assert_int_equal(cw_order_revision_of(&v, &r), -1);
    assert_int_equal(cw_av_set_present(&v, "change", &change), 0);
    assert_int_equal(cw_av_set_enum(&change, "kind", "REASSIGN"), 0);
    assert_int_equal(cw_av_set_str(&change, "reason_code", "CAREGIVER_ILL"), 0);
    assert_int_equal(cw_av_set_str(&change, "change_id", "P01:O1@2"), 0);
    /* Nor one without the caregiver it had. */
    assert_int_equal(cw_order_revision_of(&v, &r), -1);
    assert_int_equal(cw_av_set_str(&change, "previous_caregiver_id", "CG1"), 0);
    assert_int_equal(cw_order_revision_of(&v, &r), 0);
    assert_int_equal(r.revision, 2);
    assert_string_equal(r.kind, "REASSIGN");
    assert_string_equal(r.reason_code, "CAREGIVER_ILL");
    assert_string_equal(r.stream_key, "CG2");
    assert_string_equal(r.previous_stream_key, "CG1");
    /* The previous caregiver's person keys its stream. */
    assert_int_equal(cw_av_set_str(&change, "previous_person_id", "PERSON-1"), 0);
    assert_int_equal(cw_order_revision_of(&v, &r), 0);
    assert_string_equal(r.previous_stream_key, "PERSON-1");
    avro_value_decref(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subjects_name_the_revision),
        cmocka_unit_test(each_copy_leaves_or_arrives),
        cmocka_unit_test_setup_teardown(the_original_assignment_is_revision_zero, codec_up,
                                        codec_down),
        cmocka_unit_test_setup_teardown(a_revision_names_both_streams, codec_up, codec_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
