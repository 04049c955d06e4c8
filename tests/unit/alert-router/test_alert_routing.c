/* services/alert-router/routing: the default table of docs/design.md §4 / 4.2,
 * template expansion, rule targets, the contract check and topic names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alert-router/routing.h"

static const char *const yellow_default[] = {"alerts.street.{street_id}", "alerts.all"};
static const char *const red_default[] = {"alerts.street.{street_id}", "alerts.command",
                                          "alerts.all"};

static void default_table(alert_routing *r)
{
    char err[256];
    memset(r, 0, sizeof(*r));
    assert_int_equal(
        alert_routing_set_colour(r, CW_COLOUR_YELLOW, yellow_default, 2, err, sizeof(err)), 0);
    assert_int_equal(
        alert_routing_set_colour(r, CW_COLOUR_ORANGE, yellow_default, 2, err, sizeof(err)), 0);
    assert_int_equal(
        alert_routing_set_colour(r, CW_COLOUR_RED, red_default, 3, err, sizeof(err)), 0);
}

static const alert_place place_s01 = {"S01", "C03", "P01"};

static void assert_topics(const alert_targets *t, const char *const *want, size_t n)
{
    if (t->count != n) {
        for (size_t i = 0; i < t->count; i++)
            fprintf(stderr, "  got %s\n", t->topics[i]);
        fail_msg("expected %zu topics, got %zu", n, t->count);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(t->topics[i], want[i]);
}

/* ---- colours ------------------------------------------------------------- */

static void test_colour_of_outcome(void **state)
{
    (void)state;
    cw_colour c;
    assert_int_equal(alert_colour_of(CW_OUTCOME_YELLOW, &c), 0);
    assert_int_equal(c, CW_COLOUR_YELLOW);
    assert_int_equal(alert_colour_of(CW_OUTCOME_ORANGE, &c), 0);
    assert_int_equal(c, CW_COLOUR_ORANGE);
    assert_int_equal(alert_colour_of(CW_OUTCOME_RED, &c), 0);
    assert_int_equal(c, CW_COLOUR_RED);
    assert_int_equal(alert_colour_of(CW_OUTCOME_PASS, &c), -1);
    assert_int_equal(alert_colour_of((cw_outcome)7, &c), -1);
    assert_string_equal(cw_colour_name(CW_COLOUR_ORANGE), "ORANGE");
}

/* ---- the default table ------------------------------------------------------ */

static void test_yellow_goes_to_street_and_all(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    default_table(&r);
    alert_route(&r, "GEO_DISTANCE", CW_COLOUR_YELLOW, &place_s01, &t);
    const char *want[] = {"alerts.street.S01", "alerts.all"};
    assert_topics(&t, want, 2);
    assert_int_equal(t.unroutable_count, 0);
}

static void test_orange_goes_to_street_and_all(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    default_table(&r);
    alert_route(&r, "NO_SHOW", CW_COLOUR_ORANGE, &(alert_place){"S02", "C05", "P02"}, &t);
    const char *want[] = {"alerts.street.S02", "alerts.all"};
    assert_topics(&t, want, 2);
}

static void test_red_also_goes_to_command(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    default_table(&r);
    alert_route(&r, "VISIT_OVERLAP", CW_COLOUR_RED, &place_s01, &t);
    const char *want[] = {"alerts.street.S01", "alerts.command", "alerts.all"};
    assert_topics(&t, want, 3);
}

static void test_default_table_keeps_the_contract(void **state)
{
    (void)state;
    alert_routing r;
    char err[256] = "";
    default_table(&r);
    assert_int_equal(alert_routing_check_contract(&r, err, sizeof(err)), 0);
}

/* ---- the contract ------------------------------------------------------------ */

static void test_contract_needs_alerts_all(void **state)
{
    (void)state;
    alert_routing r;
    char err[256] = "";
    default_table(&r);
    const char *street_only[] = {"alerts.street.{street_id}"};
    assert_int_equal(
        alert_routing_set_colour(&r, CW_COLOUR_ORANGE, street_only, 1, err, sizeof(err)), 0);
    assert_int_equal(alert_routing_check_contract(&r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ORANGE"));
    assert_non_null(strstr(err, "alerts.all"));
}

static void test_contract_needs_the_street(void **state)
{
    (void)state;
    alert_routing r;
    char err[256] = "";
    default_table(&r);
    const char *community[] = {"alerts.community.{community_id}", "alerts.all"};
    assert_int_equal(alert_routing_set_colour(&r, CW_COLOUR_YELLOW, community, 2, err, sizeof(err)),
                     0);
    assert_int_equal(alert_routing_check_contract(&r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "alerts.street.{street_id}"));
}

static void test_contract_needs_command_for_red_only(void **state)
{
    (void)state;
    alert_routing r;
    char err[256] = "";
    default_table(&r);
    assert_int_equal(
        alert_routing_set_colour(&r, CW_COLOUR_RED, yellow_default, 2, err, sizeof(err)), 0);
    assert_int_equal(alert_routing_check_contract(&r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "RED"));
    assert_non_null(strstr(err, "alerts.command"));
}

static void test_contract_allows_more_targets(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    char err[256] = "";
    default_table(&r);
    const char *more[] = {"alerts.street.{street_id}", "alerts.community.{community_id}",
                          "alerts.all", "alerts.provider.{provider_id}"};
    assert_int_equal(alert_routing_set_colour(&r, CW_COLOUR_YELLOW, more, 4, err, sizeof(err)), 0);
    assert_int_equal(alert_routing_check_contract(&r, err, sizeof(err)), 0);
    alert_route(&r, "GEO_DISTANCE", CW_COLOUR_YELLOW, &place_s01, &t);
    const char *want[] = {"alerts.street.S01", "alerts.community.C03", "alerts.all",
                          "alerts.provider.P01"};
    assert_topics(&t, want, 4);
}

/* ---- templates ------------------------------------------------------------------ */

static void test_bad_templates_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "alerts.street.{street}",   /* unknown placeholder */
        "alerts.street.{street_id", /* unclosed */
        "alerts.street.street_id}", /* stray brace */
        "alerts/street",            /* not a topic character */
        "alerts street",
        "",
        "..",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        alert_routing r;
        char err[256] = "";
        default_table(&r);
        const char *one[] = {bad[i]};
        if (alert_routing_set_colour(&r, CW_COLOUR_YELLOW, one, 1, err, sizeof(err)) != -1)
            fail_msg("template '%s' was accepted", bad[i]);
        assert_true(strlen(err) > 0);
        /* A refused list leaves the colour as it was. */
        alert_targets t;
        alert_route(&r, "GEO_DISTANCE", CW_COLOUR_YELLOW, &place_s01, &t);
        const char *want[] = {"alerts.street.S01", "alerts.all"};
        assert_topics(&t, want, 2);
    }
}

static void test_too_many_colour_targets(void **state)
{
    (void)state;
    alert_routing r;
    char err[256] = "";
    default_table(&r);
    const char *nine[ALERT_MAX_COLOUR_TARGETS + 1];
    for (size_t i = 0; i <= ALERT_MAX_COLOUR_TARGETS; i++)
        nine[i] = "alerts.all";
    assert_int_equal(alert_routing_set_colour(&r, CW_COLOUR_RED, nine, ALERT_MAX_COLOUR_TARGETS + 1,
                                              err, sizeof(err)),
                     -1);
}

static void test_a_target_listed_twice_is_produced_once(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    char err[256] = "";
    default_table(&r);
    /* A template and a literal name that expand to the same topic. */
    const char *twice[] = {"alerts.street.{street_id}", "alerts.all", "alerts.street.S01",
                           "alerts.all"};
    assert_int_equal(alert_routing_set_colour(&r, CW_COLOUR_YELLOW, twice, 4, err, sizeof(err)), 0);
    alert_route(&r, "GEO_DISTANCE", CW_COLOUR_YELLOW, &place_s01, &t);
    const char *want[] = {"alerts.street.S01", "alerts.all"};
    assert_topics(&t, want, 2);
}

/* ---- rule targets ----------------------------------------------------------------- */

static void test_rule_target_adds_to_that_rule_only(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    char err[256] = "";
    default_table(&r);
    assert_int_equal(alert_routing_add_rule_target(&r, "FACE_MISMATCH=alerts.command", err,
                                                   sizeof(err)),
                     0);
    alert_route(&r, "FACE_MISMATCH", CW_COLOUR_ORANGE, &place_s01, &t);
    const char *face[] = {"alerts.street.S01", "alerts.all", "alerts.command"};
    assert_topics(&t, face, 3);
    alert_route(&r, "PHOTO_REUSE", CW_COLOUR_ORANGE, &place_s01, &t);
    const char *photo[] = {"alerts.street.S01", "alerts.all"};
    assert_topics(&t, photo, 2);
    /* A rule code that merely starts the same is another rule. */
    alert_route(&r, "FACE_MISMATCH_2", CW_COLOUR_ORANGE, &place_s01, &t);
    assert_topics(&t, photo, 2);
}

static void test_rule_targets_add_up_and_do_not_repeat(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    char err[256] = "";
    default_table(&r);
    assert_int_equal(alert_routing_add_rule_target(&r, "VISIT_OVERLAP=alerts.command", err,
                                                   sizeof(err)),
                     0);
    assert_int_equal(alert_routing_add_rule_target(
                         &r, "VISIT_OVERLAP=alerts.provider.{provider_id}", err, sizeof(err)),
                     0);
    alert_route(&r, "VISIT_OVERLAP", CW_COLOUR_RED, &place_s01, &t);
    const char *want[] = {"alerts.street.S01", "alerts.command", "alerts.all",
                          "alerts.provider.P01"};
    assert_topics(&t, want, 4);
}

static void test_bad_rule_targets_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"FACE_MISMATCH", "=alerts.command",
                                      "face_mismatch=alerts.command", "FACE MISMATCH=alerts.x",
                                      "FACE_MISMATCH=", "FACE_MISMATCH=alerts.{nope}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        alert_routing r;
        char err[256] = "";
        default_table(&r);
        if (alert_routing_add_rule_target(&r, bad[i], err, sizeof(err)) != -1)
            fail_msg("rule target '%s' was accepted", bad[i]);
        assert_int_equal(r.extra_count, 0);
    }
}

static void test_rule_targets_are_bounded(void **state)
{
    (void)state;
    alert_routing r;
    char err[256] = "";
    default_table(&r);
    for (int i = 0; i < ALERT_MAX_RULE_TARGETS; i++)
        assert_int_equal(alert_routing_add_rule_target(&r, "NO_SHOW=alerts.command", err,
                                                       sizeof(err)),
                         0);
    assert_int_equal(alert_routing_add_rule_target(&r, "NO_SHOW=alerts.command", err, sizeof(err)),
                     -1);
}

/* ---- ids that cannot form a topic ----------------------------------------------------- */

static void test_street_id_with_colon_is_unroutable_but_all_still_gets_it(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    default_table(&r);
    /* Ids may hold ':', topic names may not. */
    alert_route(&r, "VISIT_OVERLAP", CW_COLOUR_RED, &(alert_place){"S:01", "C1", "P1"}, &t);
    const char *want[] = {"alerts.command", "alerts.all"};
    assert_topics(&t, want, 2);
    assert_int_equal(t.unroutable_count, 1);
    assert_string_equal(t.unroutable[0], "alerts.street.S:01");
}

static void test_street_id_too_long_for_a_topic(void **state)
{
    (void)state;
    alert_routing r;
    alert_targets t;
    default_table(&r);
    char street[240];
    memset(street, 'S', sizeof(street) - 1);
    street[sizeof(street) - 1] = '\0';
    alert_route(&r, "GEO_DISTANCE", CW_COLOUR_YELLOW, &(alert_place){street, "C1", "P1"}, &t);
    const char *want[] = {"alerts.all"};
    assert_topics(&t, want, 1);
    assert_int_equal(t.unroutable_count, 1);
}

static void test_topic_names(void **state)
{
    (void)state;
    char name[ALERT_TOPIC_MAX + 1];
    assert_true(alert_topic_name_valid("alerts.street.S01"));
    assert_true(alert_topic_name_valid("a-b_c.D9"));
    assert_false(alert_topic_name_valid(""));
    assert_false(alert_topic_name_valid("."));
    assert_false(alert_topic_name_valid(".."));
    assert_true(alert_topic_name_valid("..."));
    assert_false(alert_topic_name_valid("a:b"));
    assert_false(alert_topic_name_valid("a b"));
    assert_false(alert_topic_name_valid("街道"));
    memset(name, 'a', 249);
    name[249] = '\0';
    assert_true(alert_topic_name_valid(name));
    name[249] = 'a';
    name[250] = '\0';
    assert_false(alert_topic_name_valid(name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colour_of_outcome),
        cmocka_unit_test(test_yellow_goes_to_street_and_all),
        cmocka_unit_test(test_orange_goes_to_street_and_all),
        cmocka_unit_test(test_red_also_goes_to_command),
        cmocka_unit_test(test_default_table_keeps_the_contract),
        cmocka_unit_test(test_contract_needs_alerts_all),
        cmocka_unit_test(test_contract_needs_the_street),
        cmocka_unit_test(test_contract_needs_command_for_red_only),
        cmocka_unit_test(test_contract_allows_more_targets),
        cmocka_unit_test(test_bad_templates_are_refused),
        cmocka_unit_test(test_too_many_colour_targets),
        cmocka_unit_test(test_a_target_listed_twice_is_produced_once),
        cmocka_unit_test(test_rule_target_adds_to_that_rule_only),
        cmocka_unit_test(test_rule_targets_add_up_and_do_not_repeat),
        cmocka_unit_test(test_bad_rule_targets_are_refused),
        cmocka_unit_test(test_rule_targets_are_bounded),
        cmocka_unit_test(test_street_id_with_colon_is_unroutable_but_all_still_gets_it),
        cmocka_unit_test(test_street_id_too_long_for_a_topic),
        cmocka_unit_test(test_topic_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
