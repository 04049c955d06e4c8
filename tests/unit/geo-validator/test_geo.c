/* geo-validator/geo: great-circle distance and the WGS-84 / GCJ-02 / BD-09
 * transforms. Reference pairs are the published outputs of the coordtransform
 * library (wandergis/coordtransform), whose formulas GCJ-02 and BD-09 are
 * defined by in practice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "geo-validator/geo.h"

#define REF_TOL_DEG 1e-9
#define ROUND_TRIP_TOL_M 0.5
#define M_PER_DEG_LAT (GEO_EARTH_RADIUS_M * M_PI / 180.0)

static const geo_point beijing = {39.915, 116.404};
static const geo_point shanghai = {31.2304, 121.4737};
static const geo_point benxi = {41.294, 123.766};
static const geo_point london = {51.5074, -0.1278};
static const geo_point tokyo = {35.6895, 139.6917};
static const geo_point sydney = {-33.8688, 151.2093};

/* ---- helpers -------------------------------------------------------------- */

static void assert_near(double actual, double expected, double tol, const char *what)
{
    if (!(fabs(actual - expected) <= tol))
        fail_msg("%s: got %.17g, expected %.17g (tolerance %g, off by %g)", what, actual,
                 expected, tol, fabs(actual - expected));
}

static void assert_lonlat_near(geo_point p, double lon, double lat, double tol, const char *what)
{
    assert_near(p.lon, lon, tol, what);
    assert_near(p.lat, lat, tol, what);
}

static void assert_same_point(geo_point actual, geo_point expected, const char *what)
{
    if (actual.lat != expected.lat || actual.lon != expected.lon)
        fail_msg("%s: got (%.17g, %.17g), expected exactly (%.17g, %.17g)", what, actual.lat,
                 actual.lon, expected.lat, expected.lon);
}

static void assert_within_m(geo_point a, geo_point b, double max_m, const char *what)
{
    double d = geo_distance_m(a, b);
    if (!(d <= max_m))
        fail_msg("%s: (%.9f, %.9f) and (%.9f, %.9f) are %.6g m apart, more than %g m", what,
                 a.lat, a.lon, b.lat, b.lon, d, max_m);
}

static geo_point north_of(geo_point home, double d_m)
{
    return (geo_point){home.lat + d_m / M_PER_DEG_LAT, home.lon};
}

/* ---- published reference pairs -------------------------------------------- */

static void test_wgs84_to_gcj02_reference(void **state)
{
    (void)state;
    geo_point g = geo_wgs84_to_gcj02((geo_point){39.915, 116.404});
    assert_lonlat_near(g, 116.41024449916938, 39.91640428150164, REF_TOL_DEG, "wgs84->gcj02");
}

static void test_gcj02_to_bd09_reference(void **state)
{
    (void)state;
    geo_point b = geo_gcj02_to_bd09((geo_point){39.915, 116.404});
    assert_lonlat_near(b, 116.41036949371029, 39.92133699351021, REF_TOL_DEG, "gcj02->bd09");
}

static void test_wgs84_to_bd09_reference(void **state)
{
    (void)state;
    geo_point b = geo_wgs84_to_bd09((geo_point){39.915, 116.404});
    assert_lonlat_near(b, 116.41662724378733, 39.922699552216216, REF_TOL_DEG, "wgs84->bd09");
}

static void test_bd09_to_gcj02_reference(void **state)
{
    (void)state;
    geo_point bd = {39.915, 116.404};
    geo_point g = geo_bd09_to_gcj02(bd);
    /* The library's closed form is itself an approximation of the inverse,
     * so ours only agrees to ~1e-6 degrees; the round trip is the real test. */
    assert_lonlat_near(g, 116.39762729119315, 39.90865673957631, 1e-5, "bd09->gcj02");
    assert_within_m(geo_gcj02_to_bd09(g), bd, ROUND_TRIP_TOL_M, "bd09->gcj02->bd09");
}

/* ---- round trips and the shift inside China -------------------------------- */

#define GRID_LATS 8  /* 18, 23, .., 53 */
#define GRID_LONS 11 /* 75, 80.9, .., 134 */

static geo_point grid_point(int i, int j)
{
    return (geo_point){18.0 + 5.0 * i, 75.0 + 5.9 * j};
}

static void test_round_trip_gcj02_grid(void **state)
{
    (void)state;
    int checked = 0;
    for (int i = 0; i < GRID_LATS; i++) {
        for (int j = 0; j < GRID_LONS; j++) {
            geo_point p = grid_point(i, j);
            assert_true(geo_in_mainland_china(p));
            geo_point back = geo_gcj02_to_wgs84(geo_wgs84_to_gcj02(p));
            assert_within_m(back, p, ROUND_TRIP_TOL_M, "wgs84->gcj02->wgs84");
            checked++;
        }
    }
    assert_int_equal(checked, GRID_LATS * GRID_LONS);
}

static void test_round_trip_bd09_grid(void **state)
{
    (void)state;
    int checked = 0;
    for (int i = 0; i < GRID_LATS; i++) {
        for (int j = 0; j < GRID_LONS; j++) {
            geo_point p = grid_point(i, j);
            geo_point back = geo_bd09_to_wgs84(geo_wgs84_to_bd09(p));
            assert_within_m(back, p, ROUND_TRIP_TOL_M, "wgs84->bd09->wgs84");
            checked++;
        }
    }
    assert_int_equal(checked, GRID_LATS * GRID_LONS);
}

static void test_transforms_shift_chinese_cities(void **state)
{
    (void)state;
    const geo_point cities[] = {beijing, shanghai, benxi};
    for (size_t i = 0; i < sizeof cities / sizeof cities[0]; i++) {
        geo_point p = cities[i];
        assert_true(geo_in_mainland_china(p));
        assert_true(geo_distance_m(p, geo_gcj02_to_wgs84(p)) > 1.0);
        assert_true(geo_distance_m(p, geo_wgs84_to_gcj02(p)) > 1.0);
        assert_true(geo_distance_m(p, geo_bd09_to_wgs84(p)) > 1.0);
    }
}

/* ---- outside mainland China ----------------------------------------------- */

static void test_outside_china_unchanged(void **state)
{
    (void)state;
    const geo_point abroad[] = {london, tokyo, sydney};
    const cw_crs crss[] = {CW_CRS_WGS84, CW_CRS_GCJ02, CW_CRS_BD09};
    for (size_t i = 0; i < sizeof abroad / sizeof abroad[0]; i++) {
        geo_point p = abroad[i];
        assert_false(geo_in_mainland_china(p));
        assert_same_point(geo_wgs84_to_gcj02(p), p, "wgs84->gcj02 abroad");
        assert_same_point(geo_gcj02_to_wgs84(p), p, "gcj02->wgs84 abroad");
        for (size_t c = 0; c < sizeof crss / sizeof crss[0]; c++)
            assert_same_point(geo_to_wgs84(p, crss[c]), p, "geo_to_wgs84 abroad");
    }
}

/* ---- geo_to_wgs84, and the registry's crs names ------------------------- */

static void test_to_wgs84_dispatches_by_crs(void **state)
{
    (void)state;
    const geo_point cities[] = {beijing, shanghai, benxi};
    for (size_t i = 0; i < sizeof cities / sizeof cities[0]; i++) {
        geo_point p = cities[i];
        assert_same_point(geo_to_wgs84(p, CW_CRS_WGS84), p, "WGS84 is the identity");
        assert_same_point(geo_to_wgs84(p, CW_CRS_GCJ02), geo_gcj02_to_wgs84(p), "GCJ02");
        assert_same_point(geo_to_wgs84(p, CW_CRS_BD09), geo_bd09_to_wgs84(p), "BD09");
    }
    /* The three answers must differ, or the dispatch could not be told apart. */
    assert_true(geo_distance_m(geo_to_wgs84(beijing, CW_CRS_GCJ02),
                               geo_to_wgs84(beijing, CW_CRS_BD09)) > 1.0);
}

static void test_crs_parse(void **state)
{
    (void)state;
    cw_crs crs = CW_CRS_BD09;
    assert_int_equal(cw_crs_parse("WGS84", &crs), 0);
    assert_int_equal(crs, CW_CRS_WGS84);
    assert_int_equal(cw_crs_parse("GCJ02", &crs), 0);
    assert_int_equal(crs, CW_CRS_GCJ02);
    assert_int_equal(cw_crs_parse("BD09", &crs), 0);
    assert_int_equal(crs, CW_CRS_BD09);

    assert_int_equal(cw_crs_parse("wgs84", &crs), -1);
    assert_int_equal(cw_crs_parse("", &crs), -1);
    assert_int_equal(cw_crs_parse("EPSG:4326", &crs), -1);
    assert_int_equal(cw_crs_parse("WGS84 ", &crs), -1);
    assert_int_equal(cw_crs_parse("BD0", &crs), -1);
}

/* ---- haversine ------------------------------------------------------------ */

static void test_distance_one_degree_of_latitude(void **state)
{
    (void)state;
    const double expected = 6371008.8 * M_PI / 180.0;
    const double lons[] = {-120.0, 0.0, 116.404};
    for (size_t i = 0; i < sizeof lons / sizeof lons[0]; i++) {
        for (double lat = -80.0; lat <= 79.0; lat += 53.0) {
            double d = geo_distance_m((geo_point){lat, lons[i]}, (geo_point){lat + 1.0, lons[i]});
            assert_near(d, expected, expected * 1e-6, "one degree along a meridian");
        }
    }
}

static void test_distance_zero_and_symmetric(void **state)
{
    (void)state;
    const geo_point pts[] = {beijing, shanghai, benxi, london, tokyo, sydney};
    const size_t n = sizeof pts / sizeof pts[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(geo_distance_m(pts[i], pts[i]) == 0.0);
        for (size_t j = 0; j < n; j++) {
            double ab = geo_distance_m(pts[i], pts[j]);
            double ba = geo_distance_m(pts[j], pts[i]);
            assert_near(ab, ba, 1e-6, "symmetry");
            if (i != j)
                assert_true(ab > 1000.0);
        }
    }
}

static void test_distance_antipodal(void **state)
{
    (void)state;
    const double half = M_PI * GEO_EARTH_RADIUS_M;
    assert_near(geo_distance_m((geo_point){90, 0}, (geo_point){-90, 0}), half, 1e-3, "poles");
    assert_near(geo_distance_m((geo_point){0, 0}, (geo_point){0, 180}), half, 1e-3, "equator");
    assert_near(geo_distance_m((geo_point){0, -90}, (geo_point){0, 90}), half, 1e-3, "equator 2");
    assert_near(geo_distance_m(beijing, (geo_point){-39.915, 116.404 - 180.0}), half, 1e-3,
                "Beijing antipode");
    assert_near(geo_distance_m(london, (geo_point){-51.5074, -0.1278 + 180.0}), half, 1e-3,
                "London antipode");
    /* Rounding puts the haversine term of this pair just above 1. */
    assert_near(geo_distance_m((geo_point){-87.5, -179.5}, (geo_point){87.5, 0.5}), half, 1e-3,
                "(-87.5,-179.5) antipode");
    /* asin is ill-conditioned at 1: one rounding in the haversine term costs
     * up to ~0.2 m for some antipodal pairs, this one included. */
    assert_near(geo_distance_m((geo_point){10, 20}, (geo_point){-10, -160}), half, 0.5,
                "(10,20) antipode");
}

static void test_distance_of_built_offsets(void **state)
{
    (void)state;
    const double ds[] = {29.99, 30.00, 30.01, 1000.0, 10000.0};
    const geo_point homes[] = {beijing, shanghai, london, sydney};
    for (size_t h = 0; h < sizeof homes / sizeof homes[0]; h++) {
        for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
            geo_point p = north_of(homes[h], ds[i]);
            assert_near(geo_distance_m(homes[h], p), ds[i], 1e-6, "metres north of home");
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wgs84_to_gcj02_reference),
        cmocka_unit_test(test_gcj02_to_bd09_reference),
        cmocka_unit_test(test_wgs84_to_bd09_reference),
        cmocka_unit_test(test_bd09_to_gcj02_reference),
        cmocka_unit_test(test_round_trip_gcj02_grid),
        cmocka_unit_test(test_round_trip_bd09_grid),
        cmocka_unit_test(test_transforms_shift_chinese_cities),
        cmocka_unit_test(test_outside_china_unchanged),
        cmocka_unit_test(test_to_wgs84_dispatches_by_crs),
        cmocka_unit_test(test_crs_parse),
        cmocka_unit_test(test_distance_one_degree_of_latitude),
        cmocka_unit_test(test_distance_zero_and_symmetric),
        cmocka_unit_test(test_distance_antipodal),
        cmocka_unit_test(test_distance_of_built_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
