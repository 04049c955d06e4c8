#include "geo-validator/geo.h"

#include <math.h>

/* Krasovsky 1940 ellipsoid, which the GCJ-02 offset formula is built on. */
#define KRASOVSKY_A 6378245.0
#define KRASOVSKY_EE 0.00669342162296594323
#define BD_X_PI (M_PI * 3000.0 / 180.0)
#define MAX_ITERATIONS 30

static double radians(double deg)
{
    return deg * M_PI / 180.0;
}

double geo_distance_m(geo_point a, geo_point b)
{
    double dlat = radians(b.lat - a.lat);
    double dlon = radians(b.lon - a.lon);
    double s = sin(dlat / 2) * sin(dlat / 2) +
               cos(radians(a.lat)) * cos(radians(b.lat)) * sin(dlon / 2) * sin(dlon / 2);
    if (s > 1.0)
        s = 1.0;
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(s));
}

int geo_in_mainland_china(geo_point p)
{
    return p.lon >= 72.004 && p.lon <= 137.8347 && p.lat >= 0.8293 && p.lat <= 55.8271;
}

static double offset_lat(double x, double y)
{
    double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
    return r;
}

static double offset_lon(double x, double y)
{
    double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
    r += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
    r += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
    r += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
    return r;
}

geo_point geo_wgs84_to_gcj02(geo_point p)
{
    if (!geo_in_mainland_china(p))
        return p;
    double dlat = offset_lat(p.lon - 105.0, p.lat - 35.0);
    double dlon = offset_lon(p.lon - 105.0, p.lat - 35.0);
    double rad_lat = radians(p.lat);
    double magic = sin(rad_lat);
    magic = 1 - KRASOVSKY_EE * magic * magic;
    double sqrt_magic = sqrt(magic);
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sqrt_magic) * M_PI);
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * cos(rad_lat) * M_PI);
    return (geo_point){p.lat + dlat, p.lon + dlon};
}

geo_point geo_gcj02_to_bd09(geo_point p)
{
    double x = p.lon, y = p.lat;
    double z = sqrt(x * x + y * y) + 0.00002 * sin(y * BD_X_PI);
    double theta = atan2(y, x) + 0.000003 * cos(x * BD_X_PI);
    return (geo_point){z * sin(theta) + 0.006, z * cos(theta) + 0.0065};
}

/* Solves forward(x) = target for x by fixed-point iteration starting from
 * the target: the offsets vary slowly, so x <- x - (forward(x) - target)
 * converges in a few steps. */
static geo_point invert(geo_point target, geo_point (*forward)(geo_point))
{
    geo_point x = target;
    for (int i = 0; i < MAX_ITERATIONS; i++) {
        geo_point f = forward(x);
        double dlat = f.lat - target.lat, dlon = f.lon - target.lon;
        x.lat -= dlat;
        x.lon -= dlon;
        /* 1e-9 degrees is about 0.1 mm: far inside the 0.5 m promise. */
        if (fabs(dlat) < 1e-9 && fabs(dlon) < 1e-9)
            break;
    }
    return x;
}

geo_point geo_gcj02_to_wgs84(geo_point p)
{
    if (!geo_in_mainland_china(p))
        return p;
    return invert(p, geo_wgs84_to_gcj02);
}

geo_point geo_bd09_to_gcj02(geo_point p)
{
    return invert(p, geo_gcj02_to_bd09);
}

geo_point geo_bd09_to_wgs84(geo_point p)
{
    return geo_gcj02_to_wgs84(geo_bd09_to_gcj02(p));
}

geo_point geo_wgs84_to_bd09(geo_point p)
{
    return geo_gcj02_to_bd09(geo_wgs84_to_gcj02(p));
}

geo_point geo_to_wgs84(geo_point p, cw_crs crs)
{
    if (!geo_in_mainland_china(p))
        return p;
    switch (crs) {
    case CW_CRS_GCJ02: return geo_gcj02_to_wgs84(p);
    case CW_CRS_BD09: return geo_bd09_to_wgs84(p);
    case CW_CRS_WGS84: break;
    }
    return p;
}
