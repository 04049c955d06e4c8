/* The location rules of docs/design.md §4: GEO_DISTANCE,
 * GEO_DUAL_MISMATCH, IMPOSSIBLE_TRAVEL, and GPS_INACCURATE (a fix too
 * imprecise to judge the distance rule by, EVV practice). Pure: positions,
 * times and thresholds are parameters. A threshold is crossed only when
 * strictly exceeded. */
#ifndef GEO_RULES_H
#define GEO_RULES_H

#include <stdint.h>

#include "check_result.h"
#include "geo.h"

typedef struct {
    double distance_max_m;  /* GEO_DISTANCE: 30 */
    double dual_max_m;      /* GEO_DUAL_MISMATCH: 30 */
    double travel_min_m;    /* IMPOSSIBLE_TRAVEL distance: 1000 */
    double travel_max_kmh;  /* IMPOSSIBLE_TRAVEL speed: 80 */
    double accuracy_max_m;  /* GPS_INACCURATE: 50 */
} geo_thresholds;

typedef cw_verdict geo_verdict;

void geo_thresholds_default(geo_thresholds *t);

/* Yellow when the fix is more than distance_max_m from the home (both
 * WGS-84); measured in metres. */
geo_verdict rule_geo_distance(geo_point fix, geo_point home, const geo_thresholds *t);

/* Yellow when both fixes are present and more than dual_max_m apart;
 * PASS without a measurement when there is no BeiDou fix. */
geo_verdict rule_dual_mismatch(geo_point gps, int has_beidou, geo_point beidou,
                               const geo_thresholds *t);

/* Yellow when the device reported the GPS fix's horizontal accuracy
 * (has_accuracy) and it is worse than accuracy_max_m: a fix that may lie
 * that far from where the caregiver stood cannot show either way whether
 * they were within the distance rule's 30 m. Measured in metres; PASS
 * without a measurement when no accuracy was reported. */
geo_verdict rule_gps_inaccurate(int has_accuracy, double accuracy_m, const geo_thresholds *t);

/* Orange when from the previous check-out (has_prev) to this check-in the
 * caregiver covered more than travel_min_m at more than travel_max_kmh;
 * measured in km/h. Both fixes at the same instant and far apart is
 * impossible at any speed (measured left out). PASS without a measurement
 * when there is no previous check-out. */
geo_verdict rule_impossible_travel(int has_prev, geo_point prev, int64_t prev_at_ms,
                                   geo_point cur, int64_t cur_at_ms, const geo_thresholds *t);

#endif
