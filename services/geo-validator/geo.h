/* Geodesy for the location rules: great-circle distance and the Chinese
 * map coordinate systems.
 *
 * GCJ-02 is WGS-84 with a deliberate non-linear offset (hundreds of metres)
 * applied inside mainland China; BD-09 is a further rotation and shift of
 * GCJ-02 used by Baidu maps. Forward transforms are closed formulas; the
 * inverses are found by fixed-point iteration to better than
 * GEO_INVERSE_TOLERANCE_M. Points outside mainland China are not shifted.
 * All functions are pure. Coordinates are decimal degrees. */
#ifndef GEO_H
#define GEO_H

#include "avro_records.h" /* cw_crs, the Home record's coordinate systems */

#define GEO_EARTH_RADIUS_M 6371008.8
#define GEO_INVERSE_TOLERANCE_M 0.5

typedef struct {
    double lat, lon;
} geo_point;

/* Haversine distance in metres on a sphere of GEO_EARTH_RADIUS_M. */
double geo_distance_m(geo_point a, geo_point b);

/* The rough bounding box the GCJ-02 offset applies in. */
int geo_in_mainland_china(geo_point p);

geo_point geo_wgs84_to_gcj02(geo_point p);
geo_point geo_gcj02_to_wgs84(geo_point p);
geo_point geo_gcj02_to_bd09(geo_point p);
geo_point geo_bd09_to_gcj02(geo_point p);
geo_point geo_bd09_to_wgs84(geo_point p);
geo_point geo_wgs84_to_bd09(geo_point p);

/* p, registered in crs, as WGS-84; a point outside mainland China is
 * returned as it is, whatever its crs. A crs name is read with the
 * generated cw_crs_parse. */
geo_point geo_to_wgs84(geo_point p, cw_crs crs);

#endif
