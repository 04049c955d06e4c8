/* geo-validator/geo_rules: GEO_DISTANCE, GEO_DUAL_MISMATCH and
 * IMPOSSIBLE_TRAVEL at and around their thresholds. Points at a known
 * distance are built by moving north of a home along its meridian. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "geo-validator/geo_rules.h"

#define M_PER_DEG_LAT (GEO_EARTH_RADIUS_M * M_PI / 180.0)
#define T0_MS INT64_C(1700000000000)
#define MINUTE_MS INT64_C(60000)

static const geo_point home = {39.915, 116.404};

/* ---- helpers -------------------------------------------------------------- */

static void assert_near(double actual, double expected, double tol, const char *what)
{
    if (!(fabs(actual - expected) <= tol))
        fail_msg("%s: got %.17g, expected %.17g (tolerance %g)", what, actual, expected, tol);
}

/* The point d_m north of from, never farther: rounding the latitude can land
 * a fraction of a nanometre beyond d_m (1000 m from home computes as
 * 1000.000000000067), which would flip an at-the-threshold verdict. */
static geo_point north_of(geo_point from, double d_m)
{
    geo_point p = {from.lat + d_m / M_PER_DEG_LAT, from.lon};
    for (int i = 0; i < 64 && geo_distance_m(from, p) > d_m; i++)
        p.lat = nextafter(p.lat, from.lat);
    double d = geo_distance_m(from, p);
    assert_true(d <= d_m);
    assert_near(d, d_m, 1e-6, "built distance");
    return p;
}

static geo_thresholds defaults(void)
{
    geo_thresholds t;
    geo_thresholds_default(&t);
    return t;
}

static void assert_verdict(geo_verdict v, cw_outcome outcome, double threshold, const char *unit)
{
    if (v.outcome != outcome)
        fail_msg("outcome %s, expected %s (measured %.17g)", cw_outcome_name(v.outcome),
                 cw_outcome_name(outcome), v.measured);
    assert_int_equal(v.has_threshold, 1);
    assert_true(v.threshold == threshold);
    assert_non_null(v.unit);
    assert_string_equal(v.unit, unit);
}

/* ---- defaults ------------------------------------------------------------- */

static void test_default_thresholds(void **state)
{
    (void)state;
    geo_thresholds t = {-1, -1, -1, -1, -1};
    geo_thresholds_default(&t);
    assert_true(t.distance_max_m == 30.0);
    assert_true(t.dual_max_m == 30.0);
    assert_true(t.travel_min_m == 1000.0);
    assert_true(t.travel_max_kmh == 80.0);
    assert_true(t.accuracy_max_m == 50.0);
}

/* ---- GEO_DISTANCE --------------------------------------------------------- */

static void test_geo_distance_boundary(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    const struct {
        double d;
        cw_outcome outcome;
    } cases[] = {{0.0, CW_OUTCOME_PASS}, {29.99, CW_OUTCOME_PASS}, {30.00, CW_OUTCOME_PASS}, {30.01, CW_OUTCOME_YELLOW},
                 {5000.0, CW_OUTCOME_YELLOW}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        geo_point fix = north_of(home, cases[i].d);
        geo_verdict v = geo_rule_distance(fix, home, &t);
        assert_verdict(v, cases[i].outcome, 30.0, "m");
        assert_int_equal(v.has_measured, 1);
        assert_true(v.measured == geo_distance_m(fix, home));
        assert_near(v.measured, cases[i].d, 1e-6, "GEO_DISTANCE measured");
    }
}

static void test_geo_distance_uses_given_threshold(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_point fix = north_of(home, 29.99);
    double d = geo_distance_m(fix, home);

    t.distance_max_m = 10.0;
    assert_verdict(geo_rule_distance(fix, home, &t), CW_OUTCOME_YELLOW, 10.0, "m");
    /* Exactly at the threshold is not "more than" it. */
    t.distance_max_m = d;
    assert_verdict(geo_rule_distance(fix, home, &t), CW_OUTCOME_PASS, d, "m");
    t.distance_max_m = nextafter(d, 0.0);
    assert_int_equal(geo_rule_distance(fix, home, &t).outcome, CW_OUTCOME_YELLOW);
}

/* ---- GEO_DUAL_MISMATCH ---------------------------------------------------- */

static void test_dual_mismatch_without_beidou(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_point far = north_of(home, 5000.0);
    geo_verdict v = geo_rule_dual_mismatch(home, 0, far, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 30.0, "m");
    assert_int_equal(v.has_measured, 0);
}

static void test_dual_mismatch_boundary(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    const struct {
        double d;
        cw_outcome outcome;
    } cases[] = {{0.0, CW_OUTCOME_PASS}, {29.99, CW_OUTCOME_PASS}, {30.00, CW_OUTCOME_PASS}, {30.01, CW_OUTCOME_YELLOW}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        geo_point beidou = north_of(home, cases[i].d);
        geo_verdict v = geo_rule_dual_mismatch(home, 1, beidou, &t);
        assert_verdict(v, cases[i].outcome, 30.0, "m");
        assert_int_equal(v.has_measured, 1);
        assert_near(v.measured, cases[i].d, 1e-6, "GEO_DUAL_MISMATCH measured");
    }

    geo_point beidou = north_of(home, 20.0);
    t.dual_max_m = geo_distance_m(home, beidou);
    assert_int_equal(geo_rule_dual_mismatch(home, 1, beidou, &t).outcome, CW_OUTCOME_PASS);
    t.dual_max_m = nextafter(t.dual_max_m, 0.0);
    assert_int_equal(geo_rule_dual_mismatch(home, 1, beidou, &t).outcome, CW_OUTCOME_YELLOW);
}

/* ---- IMPOSSIBLE_TRAVEL ---------------------------------------------------- */

static void test_gps_inaccurate_boundary(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    const struct {
        double accuracy;
        cw_outcome outcome;
    } cases[] = {{0.0, CW_OUTCOME_PASS}, {6.0, CW_OUTCOME_PASS}, {50.0, CW_OUTCOME_PASS}, {50.01, CW_OUTCOME_YELLOW},
                 {300.0, CW_OUTCOME_YELLOW}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        geo_verdict v = geo_rule_gps_inaccurate(1, cases[i].accuracy, &t);
        assert_verdict(v, cases[i].outcome, 50.0, "m");
        assert_int_equal(v.has_measured, 1);
        assert_near(v.measured, cases[i].accuracy, 0.0, "GPS_INACCURATE measured");
    }
    t.accuracy_max_m = 120.0;
    assert_int_equal(geo_rule_gps_inaccurate(1, 120.0, &t).outcome, CW_OUTCOME_PASS);
    assert_int_equal(geo_rule_gps_inaccurate(1, nextafter(120.0, 1e9), &t).outcome,
                     CW_OUTCOME_YELLOW);
}

static void test_gps_inaccurate_without_accuracy(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_verdict v = geo_rule_gps_inaccurate(0, 1e6, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 50.0, "m");
    assert_int_equal(v.has_measured, 0);
}

static void test_travel_without_previous(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_point far = north_of(home, 500000.0);
    geo_verdict v = geo_rule_impossible_travel(0, far, T0_MS, home, T0_MS + 1, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    assert_int_equal(v.has_measured, 0);
}

static void test_travel_distance_threshold_is_strict(void **state)
{
    (void)state;
    geo_thresholds t = defaults();

    /* 1000 m in one second is 3600 km/h, but not more than 1000 m. */
    geo_point cur = north_of(home, 1000.0);
    geo_verdict v = geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + 1000, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    assert_int_equal(v.has_measured, 1);
    assert_near(v.measured, 3600.0, 1e-3, "1000 m in 1 s");

    cur = north_of(home, 1000.5);
    v = geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + 1000, &t);
    assert_verdict(v, CW_OUTCOME_ORANGE, 80.0, "km/h");
    assert_int_equal(v.has_measured, 1);
    assert_near(v.measured, 3601.8, 1e-3, "1000.5 m in 1 s");

    /* Far enough but slow: an hour for 1000.5 m is 1.0005 km/h. */
    v = geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + 60 * MINUTE_MS, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    assert_near(v.measured, 1.0005, 1e-6, "1000.5 m in 1 h");

    t.travel_min_m = geo_distance_m(home, cur);
    assert_int_equal(geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + 1000, &t).outcome,
                     CW_OUTCOME_PASS);
    t.travel_min_m = nextafter(t.travel_min_m, 0.0);
    assert_int_equal(geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + 1000, &t).outcome,
                     CW_OUTCOME_ORANGE);
}

static void test_travel_speed_threshold_is_strict(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_point cur = north_of(home, 10000.0);
    const int64_t seven_and_a_half_min = 7 * MINUTE_MS + 30000;

    geo_verdict v =
        geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + seven_and_a_half_min, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    assert_int_equal(v.has_measured, 1);
    assert_near(v.measured, 80.0, 1e-6, "10 km in 7.5 min");

    v = geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + seven_and_a_half_min - 1000, &t);
    assert_verdict(v, CW_OUTCOME_ORANGE, 80.0, "km/h");
    assert_int_equal(v.has_measured, 1);
    assert_near(v.measured, 10.0 / (449.0 / 3600.0), 1e-6, "10 km in 7.5 min - 1 s");
    assert_near(v.measured, 80.18, 0.005, "10 km in 7.5 min - 1 s");

    /* A speed exactly at the threshold passes; one ulp below it, orange. */
    t.travel_max_kmh = v.measured;
    assert_int_equal(
        geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + seven_and_a_half_min - 1000, &t)
            .outcome,
        CW_OUTCOME_PASS);
    t.travel_max_kmh = nextafter(v.measured, 0.0);
    assert_int_equal(
        geo_rule_impossible_travel(1, home, T0_MS, cur, T0_MS + seven_and_a_half_min - 1000, &t)
            .outcome,
        CW_OUTCOME_ORANGE);
}

static void test_travel_without_elapsed_time(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_point far = north_of(home, 10000.0);
    geo_point near = north_of(home, 500.0);
    geo_point edge = north_of(home, 1000.0);

    geo_verdict v = geo_rule_impossible_travel(1, home, T0_MS, far, T0_MS, &t);
    assert_verdict(v, CW_OUTCOME_ORANGE, 80.0, "km/h");
    assert_int_equal(v.has_measured, 0);

    v = geo_rule_impossible_travel(1, home, T0_MS, far, T0_MS - 5 * MINUTE_MS, &t);
    assert_verdict(v, CW_OUTCOME_ORANGE, 80.0, "km/h");
    assert_int_equal(v.has_measured, 0);

    v = geo_rule_impossible_travel(1, home, T0_MS, near, T0_MS, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    assert_int_equal(v.has_measured, 0);

    v = geo_rule_impossible_travel(1, home, T0_MS, near, T0_MS - MINUTE_MS, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    assert_int_equal(v.has_measured, 0);

    /* Exactly travel_min_m apart at the same instant is not "more than". */
    t.travel_min_m = geo_distance_m(home, edge);
    v = geo_rule_impossible_travel(1, home, T0_MS, edge, T0_MS, &t);
    assert_verdict(v, CW_OUTCOME_PASS, 80.0, "km/h");
    t.travel_min_m = nextafter(t.travel_min_m, 0.0);
    v = geo_rule_impossible_travel(1, home, T0_MS, edge, T0_MS, &t);
    assert_verdict(v, CW_OUTCOME_ORANGE, 80.0, "km/h");
}

/* ---- a home's thresholds and the verdicts at arrival ---------------------- */

static void test_home_geofence_replaces_the_distance_only(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_thresholds same = geo_home_thresholds(&t, 0);
    assert_true(same.distance_max_m == 30.0);
    geo_thresholds wide = geo_home_thresholds(&t, 120);
    assert_true(wide.distance_max_m == 120.0);
    assert_true(wide.dual_max_m == t.dual_max_m && wide.accuracy_max_m == t.accuracy_max_m &&
                wide.travel_min_m == t.travel_min_m && wide.travel_max_kmh == t.travel_max_kmh);
    assert_true(geo_home_thresholds(&t, -5).distance_max_m == 30.0);
}

static void test_arrival_judges_the_three_rules(void **state)
{
    (void)state;
    geo_thresholds t = defaults();
    geo_point fix = north_of(home, 60.0);
    geo_point beidou = north_of(home, 100.0);
    cw_visit_event ev = {.event_id = "E1", .gps = {.lat = fix.lat, .lon = fix.lon}};
    geo_arrival a = geo_rule_arrival(&ev, home, 0, &t);
    assert_verdict(a.distance, CW_OUTCOME_YELLOW, 30.0, "m");
    assert_near(a.distance.measured, 60.0, 1e-6, "distance");
    assert_verdict(a.dual, CW_OUTCOME_PASS, 30.0, "m");
    assert_int_equal(a.dual.has_measured, 0);
    assert_verdict(a.accuracy, CW_OUTCOME_PASS, 50.0, "m");
    assert_int_equal(a.accuracy.has_measured, 0);

    /* The home's radius widens the distance rule only. */
    ev.has_beidou = 1;
    ev.beidou = (cw_beidou_fix){.lat = beidou.lat, .lon = beidou.lon};
    ev.gps.has_accuracy_m = 1;
    ev.gps.accuracy_m = 80.0;
    a = geo_rule_arrival(&ev, home, 100, &t);
    assert_verdict(a.distance, CW_OUTCOME_PASS, 100.0, "m");
    assert_verdict(a.dual, CW_OUTCOME_YELLOW, 30.0, "m");
    assert_near(a.dual.measured, 40.0, 1e-6, "dual");
    assert_verdict(a.accuracy, CW_OUTCOME_YELLOW, 50.0, "m");
    assert_true(a.accuracy.measured == 80.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_thresholds),
        cmocka_unit_test(test_geo_distance_boundary),
        cmocka_unit_test(test_geo_distance_uses_given_threshold),
        cmocka_unit_test(test_dual_mismatch_without_beidou),
        cmocka_unit_test(test_dual_mismatch_boundary),
        cmocka_unit_test(test_gps_inaccurate_boundary),
        cmocka_unit_test(test_gps_inaccurate_without_accuracy),
        cmocka_unit_test(test_travel_without_previous),
        cmocka_unit_test(test_travel_distance_threshold_is_strict),
        cmocka_unit_test(test_travel_speed_threshold_is_strict),
        cmocka_unit_test(test_travel_without_elapsed_time),
        cmocka_unit_test(test_home_geofence_replaces_the_distance_only),
        cmocka_unit_test(test_arrival_judges_the_three_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
