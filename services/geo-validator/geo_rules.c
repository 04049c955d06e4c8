#include "geo-validator/geo_rules.h"

void geo_thresholds_default(geo_thresholds *t)
{
    t->distance_max_m = 30.0;
    t->dual_max_m = 30.0;
    t->travel_min_m = 1000.0;
    t->travel_max_kmh = 80.0;
    t->accuracy_max_m = 50.0;
}

geo_thresholds geo_home_thresholds(const geo_thresholds *t, int geofence_m)
{
    geo_thresholds home = *t;
    if (geofence_m > 0)
        home.distance_max_m = geofence_m;
    return home;
}

geo_verdict geo_rule_gps_inaccurate(int has_accuracy, double accuracy_m, const geo_thresholds *t)
{
    geo_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = t->accuracy_max_m,
                     .unit = "m"};
    if (!has_accuracy)
        return v;
    v.has_measured = 1;
    v.measured = accuracy_m;
    if (accuracy_m > t->accuracy_max_m)
        v.outcome = CW_OUTCOME_YELLOW;
    return v;
}

geo_verdict geo_rule_distance(geo_point fix, geo_point home, const geo_thresholds *t)
{
    double d = geo_distance_m(fix, home);
    return (geo_verdict){.outcome = d > t->distance_max_m ? CW_OUTCOME_YELLOW : CW_OUTCOME_PASS,
                         .has_measured = 1,
                         .measured = d,
                         .has_threshold = 1,
                         .threshold = t->distance_max_m,
                         .unit = "m"};
}

geo_verdict geo_rule_dual_mismatch(geo_point gps, int has_beidou, geo_point beidou,
                                   const geo_thresholds *t)
{
    geo_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = t->dual_max_m,
                     .unit = "m"};
    if (!has_beidou)
        return v;
    v.has_measured = 1;
    v.measured = geo_distance_m(gps, beidou);
    if (v.measured > t->dual_max_m)
        v.outcome = CW_OUTCOME_YELLOW;
    return v;
}

geo_verdict geo_rule_impossible_travel(int has_prev, geo_point prev, int64_t prev_at_ms,
                                       geo_point cur, int64_t cur_at_ms, const geo_thresholds *t)
{
    geo_verdict v = {.outcome = CW_OUTCOME_PASS, .has_threshold = 1, .threshold = t->travel_max_kmh,
                     .unit = "km/h"};
    if (!has_prev)
        return v;
    double d = geo_distance_m(prev, cur);
    int64_t dt_ms = cur_at_ms - prev_at_ms;
    if (dt_ms <= 0) {
        if (d > t->travel_min_m)
            v.outcome = CW_OUTCOME_ORANGE;
        return v;
    }
    v.has_measured = 1;
    v.measured = (d / 1000.0) / (dt_ms / 3600000.0);
    if (d > t->travel_min_m && v.measured > t->travel_max_kmh)
        v.outcome = CW_OUTCOME_ORANGE;
    return v;
}

geo_arrival geo_rule_arrival(const cw_visit_event *ev, geo_point home, int geofence_m,
                             const geo_thresholds *t)
{
    geo_point gps = {ev->gps.lat, ev->gps.lon};
    geo_point beidou = {ev->beidou.lat, ev->beidou.lon};
    geo_thresholds home_t = geo_home_thresholds(t, geofence_m);
    return (geo_arrival){
        .distance = geo_rule_distance(gps, home, &home_t),
        .dual = geo_rule_dual_mismatch(gps, ev->has_beidou, beidou, t),
        .accuracy = geo_rule_gps_inaccurate(ev->gps.has_accuracy_m, ev->gps.accuracy_m, t)};
}
