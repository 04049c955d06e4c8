/* services/ledger-writer/dossier.c: an order's latest revision in its
 * dossier (docs/maintenance.md): its number, a cancel's reason code, when it
 * took effect, and verdicts about the revision's subject. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ledger-writer/dossier.h"

static void test_a_cancel_revision_is_read(void **state)
{
    (void)state;
    const char *fields[] = {"start", "minutes", "cg", "prov", "elder", "part", "rev", "cancel",
                            "chg_at", "k:O1@2|NO_SHOW"};
    const char *values[] = {"1714957200000", "60", "CG02", "P01", "E001", "1", "2",
                            "ELDER_REFUSED", "1714950000000", "PASS|1714959000000"};
    ledger_dossier d;
    size_t skipped = 99;
    assert_int_equal(ledger_dossier_parse("O1", fields, values, 10, &d, &skipped), 0);
    assert_int_equal(skipped, 0);
    assert_true(d.d.has_order);
    assert_int_equal(d.d.revision, 2);
    assert_true(d.d.cancelled);
    assert_string_equal(d.d.cancel_reason, "ELDER_REFUSED");
    assert_int_equal(d.d.changed_at, 1714950000000LL);
    assert_int_equal(d.d.check_count, 1);
    assert_string_equal(d.d.checks[0].subject, "O1@2");
    ledger_dossier_free(&d);
}

static void test_a_revision_without_cancel_is_not_cancelled(void **state)
{
    (void)state;
    const char *fields[] = {"start", "cg", "prov", "elder", "part", "rev", "cancel", "chg_at"};
    const char *values[] = {"1714957200000", "CG02", "P01", "E001", "1", "1", "", "17"};
    ledger_dossier d;
    size_t skipped = 99;
    assert_int_equal(ledger_dossier_parse("O1", fields, values, 8, &d, &skipped), 0);
    assert_int_equal(skipped, 0);
    assert_int_equal(d.d.revision, 1);
    assert_false(d.d.cancelled);
    assert_string_equal(d.d.cancel_reason, "");
    ledger_dossier_free(&d);
}

static void test_an_old_dossier_is_revision_zero(void **state)
{
    (void)state;
    const char *fields[] = {"start", "cg", "prov", "elder", "part"};
    const char *values[] = {"1714957200000", "CG01", "P01", "E001", "0"};
    ledger_dossier d;
    assert_int_equal(ledger_dossier_parse("O1", fields, values, 5, &d, NULL), 0);
    assert_true(d.d.has_order);
    assert_int_equal(d.d.revision, 0);
    assert_false(d.d.cancelled);
    ledger_dossier_free(&d);
}

static void test_malformed_revision_fields_are_skipped(void **state)
{
    (void)state;
    const char *fields[] = {"rev", "rev", "chg_at", "cancel"};
    const char *values[] = {"-1", "x", "soon", "A_REASON_CODE_FAR_TOO_LONG_TO_BE_ONE_AT_ALL"};
    ledger_dossier d;
    size_t skipped = 0;
    assert_int_equal(ledger_dossier_parse("O1", fields, values, 4, &d, &skipped), 0);
    assert_int_equal(skipped, 4);
    assert_int_equal(d.d.revision, 0);
    assert_false(d.d.cancelled);
    ledger_dossier_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_cancel_revision_is_read),
        cmocka_unit_test(test_a_revision_without_cancel_is_not_cancelled),
        cmocka_unit_test(test_an_old_dossier_is_revision_zero),
        cmocka_unit_test(test_malformed_revision_fields_are_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
