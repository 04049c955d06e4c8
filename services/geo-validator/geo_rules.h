/* The location rules of docs/design.md §4: GEO_DISTANCE,
 * GEO_DUAL_MISMATCH, IMPOSSIBLE_TRAVEL, and GPS_INACCURATE (a fix too
 * imprecise to judge the distance rule by, EVV practice). Pure: positions,
 * times and thresholds are parameters. A threshold is crossed only when
 * strictly exceeded. */
#ifndef GEO_RULES_H
#define GEO_RULES_H

#include <stdint.h>

#include "avro_records.h"
#include "check_result.h"
#include "geo-validator/geo.h"

typedef struct {
    double distance_max_m;  /* GEO_DISTANCE: 30 */
    double dual_max_m;      /* GEO_DUAL_MISMATCH: 30 */
    double travel_min_m;    /* IMPOSSIBLE_TRAVEL distance: 1000 */
    double travel_max_kmh;  /* IMPOSSIBLE_TRAVEL speed: 80 */
    double accuracy_max_m;  /* GPS_INACCURATE: 50 */
} geo_thresholds;

typedef cw_verdict geo_verdict;

void geo_thresholds_default(geo_thresholds *t);

/* The thresholds for one home: the registry's geofence radius
 * (geofence_m > 0) replaces distance_max_m; 0 keeps the rule's. */
geo_thresholds geo_home_thresholds(const geo_thresholds *t, int geofence_m);

/* Yellow when the fix is more than distance_max_m from the home (both
 * WGS-84); measured in metres. */
geo_verdict geo_rule_distance(geo_point fix, geo_point home, const geo_thresholds *t);

/* Yellow when both fixes are present and more than dual_max_m apart;
 * PASS without a measurement when there is no BeiDou fix. */
geo_verdict geo_rule_dual_mismatch(geo_point gps, int has_beidou, geo_point beidou,
                                   const geo_thresholds *t);

/* Yellow when the device reported the GPS fix's horizontal accuracy
 * (has_accuracy) and it is worse than accuracy_max_m: a fix that may lie
 * that far from where the caregiver stood cannot show either way whether
 * they were within the distance rule's 30 m. Measured in metres; PASS
 * without a measurement when no accuracy was reported. */
geo_verdict geo_rule_gps_inaccurate(int has_accuracy, double accuracy_m, const geo_thresholds *t);

/* Orange when from the previous check-out (has_prev) to this check-in the
 * caregiver covered more than travel_min_m at more than travel_max_kmh;
 * measured in km/h. Both fixes at the same instant and far apart is
 * impossible at any speed (measured left out). PASS without a measurement
 * when there is no previous check-out. */
geo_verdict geo_rule_impossible_travel(int has_prev, geo_point prev, int64_t prev_at_ms,
                                       geo_point cur, int64_t cur_at_ms, const geo_thresholds *t);

/* The verdicts of a check-in or check-out as it arrives. */
typedef struct {
    geo_verdict distance; /* GEO_DISTANCE */
    geo_verdict dual;     /* GEO_DUAL_MISMATCH */
    geo_verdict accuracy; /* GPS_INACCURATE */
} geo_arrival;

/* The three of a visit event, given its home in WGS-84 and the home's
 * geofence radius (geo_home_thresholds: for the distance rule only). */
geo_arrival geo_rule_arrival(const cw_visit_event *ev, geo_point home, int geofence_m,
                             const geo_thresholds *t);

#endif
