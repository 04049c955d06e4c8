/* carewatch-geo-validator: GEO_DISTANCE, GEO_DUAL_MISMATCH and
 * GPS_INACCURATE for every check-in and check-out as it arrives,
 * IMPOSSIBLE_TRAVEL for every
 * check-in once the watermark has passed it (so a check-out that arrives
 * late, within the allowed lateness, is still taken into account).
 *
 * Input: visit.events, and ref.elders to keep the homes in Redis current
 * (and rebuild them after a Redis loss). Redis state of its own:
 *   cw:geo:out:<caregiver>  zset of check-outs, score at, member
 *                           "<at>|<event_id>|<lat>|<lon>"
 *   cw:geo:in:<event_id>    hash of a check-in waiting for its travel check
 *                           (expires after 8 days)
 *   cw:timers:geo-validator:<partition>  the waiting check-ins by at */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_result.h"
#include "checker.h"
#include "geo.h"
#include "geo_rules.h"
#include "log.h"
#include "state.h"
#include "timeutil.h"
#include "topics.h"

#define SERVICE "geo-validator"
/* A waiting check-in's hash outlives any sensible lateness. */
#define WAITING_TTL_SECONDS "691200"

static const cw_cfg_spec geo_config_spec[] = {
    {.key = "rules.geo_distance_m", .type = CW_CFG_DOUBLE, .default_value = "30", .min = 0,
     .max = 100000, .help = "GEO_DISTANCE when a fix is farther than this from the home"},
    {.key = "rules.dual_mismatch_m", .type = CW_CFG_DOUBLE, .default_value = "30", .min = 0,
     .max = 100000, .help = "GEO_DUAL_MISMATCH when GPS and BeiDou are farther apart"},
    {.key = "rules.travel_min_m", .type = CW_CFG_DOUBLE, .default_value = "1000", .min = 0,
     .max = 1e7, .help = "IMPOSSIBLE_TRAVEL needs more than this distance..."},
    {.key = "rules.travel_max_kmh", .type = CW_CFG_DOUBLE, .default_value = "80", .min = 0,
     .max = 100000, .help = "...covered faster than this speed"},
    {.key = "rules.gps_accuracy_max_m", .type = CW_CFG_DOUBLE, .default_value = "50", .min = 0,
     .max = 100000,
     .help = "GPS_INACCURATE when a fix reports a horizontal accuracy worse than this"},
    {.key = NULL},
};

typedef struct {
    cw_checker *ck;
    geo_thresholds thresholds;
} geo_ctx;

typedef struct {
    const char *event_id, *kind, *order_id, *caregiver_id, *elder_id;
    int64_t at;
    geo_point gps;
    int has_accuracy;
    double accuracy_m;
    int has_beidou;
    geo_point beidou;
} visit_fields;

static int read_visit(avro_value_t *v, visit_fields *f)
{
    avro_value_t gps, beidou;
    memset(f, 0, sizeof(*f));
    if (cw_av_get_str(v, "event_id", &f->event_id) || cw_av_get_enum(v, "kind", &f->kind) ||
        cw_av_get_str(v, "order_id", &f->order_id) ||
        cw_av_get_str(v, "caregiver_id", &f->caregiver_id) ||
        cw_av_get_str(v, "elder_id", &f->elder_id) || cw_av_get_long(v, "at", &f->at) ||
        cw_av_field(v, "gps", &gps) || cw_av_get_double(&gps, "lat", &f->gps.lat) ||
        cw_av_get_double(&gps, "lon", &f->gps.lon) ||
        cw_av_get_opt_double(&gps, "accuracy_m", &f->has_accuracy, &f->accuracy_m) ||
        cw_av_get_present(v, "beidou", &f->has_beidou, &beidou))
        return -1;
    if (f->has_beidou &&
        (cw_av_get_double(&beidou, "lat", &f->beidou.lat) ||
         cw_av_get_double(&beidou, "lon", &f->beidou.lon)))
        return -1;
    return 0;
}

static int emit(cw_outbox *out, const char *subject, const char *rule, const geo_verdict *v,
                const char *order_id, const char *caregiver_id, const char *event_id, int64_t at)
{
    return cw_check_emit_verdict(out, SERVICE, subject, rule, v, order_id, caregiver_id, event_id,
                                 at);
}

static int handle_elder(geo_ctx *g, const cw_stream_msg *msg, char *reason, size_t len)
{
    cw_redis_batch b = {0};
    if (cw_state_store_elder(&b, msg->value) != 0) {
        cw_redis_batch_clear(&b);
        snprintf(reason, len, "Elder record lacks a field");
        return CW_REJECT;
    }
    return cw_redis_batch_exec(g->ck->redis, &b) == 0 ? CW_OK : CW_RETRY;
}

/* Remembers a check-out for later travel checks, or a check-in waiting for
 * its travel check; advances the event clock. */
static int record_visit(geo_ctx *g, const cw_stream_msg *msg, const visit_fields *f)
{
    char key[160], member[200], at[24], lat[32], lon[32];
    cw_redis_batch b = {0};
    snprintf(at, sizeof(at), "%" PRId64, f->at);
    snprintf(lat, sizeof(lat), "%.9f", f->gps.lat);
    snprintf(lon, sizeof(lon), "%.9f", f->gps.lon);
    if (strcmp(f->kind, "CHECK_OUT") == 0) {
        snprintf(key, sizeof(key), "cw:geo:out:%s", f->caregiver_id);
        snprintf(member, sizeof(member), "%s|%s|%s|%s", at, f->event_id, lat, lon);
        const char *argv[] = {"ZADD", key, at, member};
        cw_redis_batch_add(&b, 4, argv);
    } else {
        snprintf(key, sizeof(key), "cw:geo:in:%s", f->event_id);
        const char *argv[] = {"HSET", key, "order_id", f->order_id, "caregiver_id",
                              f->caregiver_id, "at", at, "lat", lat, "lon", lon};
        const char *expire[] = {"EXPIRE", key, WAITING_TTL_SECONDS};
        cw_redis_batch_add(&b, 12, argv);
        cw_redis_batch_add(&b, 3, expire);
        cw_checker_add_timer(g->ck, &b, msg->partition, f->at, f->event_id);
    }
    return cw_checker_exec_with_clock(g->ck, &b, msg->partition, f->at);
}

static int handle_visit(geo_ctx *g, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    visit_fields f;
    if (read_visit(msg->value, &f) != 0) {
        snprintf(reason, len, "VisitEvent lacks a field");
        return CW_REJECT;
    }
    cw_elder_state elder;
    int found = cw_state_load_elder(g->ck->redis, f.elder_id, &elder);
    if (found < 0)
        return CW_RETRY;
    if (found == 0) {
        snprintf(reason, len, "unknown elder %s", f.elder_id);
        return CW_REJECT;
    }
    geo_crs crs = GEO_WGS84;
    if (geo_crs_parse(elder.crs, &crs) != 0) {
        snprintf(reason, len, "elder %s has an unknown crs '%s'", f.elder_id, elder.crs);
        return CW_REJECT;
    }
    geo_point home = geo_to_wgs84((geo_point){elder.lat, elder.lon}, crs);
    /* The registry's radius for this home, where it set one. */
    geo_thresholds home_thresholds = g->thresholds;
    if (elder.geofence_m > 0)
        home_thresholds.distance_max_m = elder.geofence_m;
    geo_verdict distance = rule_geo_distance(f.gps, home, &home_thresholds);
    geo_verdict dual = rule_dual_mismatch(f.gps, f.has_beidou, f.beidou, &g->thresholds);
    geo_verdict accuracy = rule_gps_inaccurate(f.has_accuracy, f.accuracy_m, &g->thresholds);
    if (record_visit(g, msg, &f) != 0)
        return CW_RETRY;
    if (emit(out, f.event_id, "GEO_DISTANCE", &distance, f.order_id, f.caregiver_id,
             f.event_id, f.at) ||
        emit(out, f.event_id, "GEO_DUAL_MISMATCH", &dual, f.order_id, f.caregiver_id,
             f.event_id, f.at) ||
        emit(out, f.event_id, "GPS_INACCURATE", &accuracy, f.order_id, f.caregiver_id,
             f.event_id, f.at))
        return CW_RETRY;
    return CW_OK;
}

static int geo_handle(void *user_data, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                      size_t len)
{
    geo_ctx *g = user_data;
    const char *name = msg->schema->name;
    if (strcmp(name, "Elder") == 0)
        return handle_elder(g, msg, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return handle_visit(g, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0)
        return CW_OK; /* an admin's unfreeze: the overlap-detector applies it */
    if (strcmp(name, "Evidence") == 0)
        return CW_OK; /* no location to judge */
    if (strcmp(name, "OrderAssigned") == 0)
        return CW_OK; /* the overlap-detector's copy in the caregiver's stream */
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

/* The caregiver's check-out with the largest at not after `at`: 1 found,
 * 0 none, -1 Redis error. */
static int previous_check_out(geo_ctx *g, const char *caregiver_id, int64_t at, geo_point *p,
                              int64_t *out_at)
{
    char key[160], max[24];
    snprintf(key, sizeof(key), "cw:geo:out:%s", caregiver_id);
    snprintf(max, sizeof(max), "%" PRId64, at);
    const char *argv[] = {"ZREVRANGEBYSCORE", key, max, "-inf", "LIMIT", "0", "1"};
    redisReply *reply = cw_redis_cmd(g->ck->redis, 7, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    int found = 0;
    if (reply->elements == 1) {
        char event[128];
        double lat, lon;
        long long a;
        if (sscanf(reply->element[0]->str, "%lld|%127[^|]|%lf|%lf", &a, event, &lat, &lon) == 4) {
            *p = (geo_point){lat, lon};
            *out_at = a;
            found = 1;
        }
    }
    freeReplyObject(reply);
    return found;
}

/* The travel check of one waiting check-in. */
static int judge_travel(geo_ctx *g, const char *event_id, cw_outbox *out)
{
    char key[160];
    snprintf(key, sizeof(key), "cw:geo:in:%s", event_id);
    const char *argv[] = {"HMGET", key, "order_id", "caregiver_id", "at", "lat", "lon"};
    redisReply *r = cw_redis_cmd(g->ck->redis, 7, argv);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; i < 5; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            /* Judged and cleaned up already (a duplicate timer). */
            freeReplyObject(r);
            return 0;
        }
    }
    int64_t at = strtoll(r->element[2]->str, NULL, 10);
    geo_point cur = {strtod(r->element[3]->str, NULL), strtod(r->element[4]->str, NULL)};
    geo_point prev = {0, 0};
    int64_t prev_at = 0;
    int rc = -1;
    int has_prev = previous_check_out(g, r->element[1]->str, at, &prev, &prev_at);
    if (has_prev >= 0) {
        geo_verdict v = rule_impossible_travel(has_prev, prev, prev_at, cur, at, &g->thresholds);
        rc = emit(out, event_id, "IMPOSSIBLE_TRAVEL", &v, r->element[0]->str, r->element[1]->str,
                  event_id, at);
    }
    freeReplyObject(r);
    return rc;
}

static int fire_travel(void *user_data, const char *event_id, int64_t due, cw_outbox *out)
{
    (void)due;
    return judge_travel(user_data, event_id, out) == 0 ? CW_OK : CW_RETRY;
}

static int geo_tick(void *user_data, cw_outbox *out)
{
    geo_ctx *g = user_data;
    return cw_checker_fire_timers(g->ck, fire_travel, g, out);
}

static void geo_tick_done(void *user_data)
{
    geo_ctx *g = user_data;
    cw_checker_timers_done(g->ck);
}

static int geo_setup(cw_checker *ck)
{
    geo_ctx *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return -1;
    g->ck = ck;
    geo_thresholds_default(&g->thresholds);
    g->thresholds.distance_max_m = cw_config_double(ck->cfg, "rules.geo_distance_m");
    g->thresholds.dual_max_m = cw_config_double(ck->cfg, "rules.dual_mismatch_m");
    g->thresholds.travel_min_m = cw_config_double(ck->cfg, "rules.travel_min_m");
    g->thresholds.travel_max_kmh = cw_config_double(ck->cfg, "rules.travel_max_kmh");
    g->thresholds.accuracy_max_m = cw_config_double(ck->cfg, "rules.gps_accuracy_max_m");
    ck->user_data = g;
    ck->handlers.user_data = g;
    ck->handlers.handle = geo_handle;
    ck->handlers.tick = geo_tick;
    ck->handlers.tick_done = geo_tick_done;
    return 0;
}

static void geo_teardown(cw_checker *ck)
{
    free(ck->user_data);
    ck->user_data = NULL;
}

int main(int argc, char **argv)
{
    static const char *const topics[] = {CW_TOPIC_ELDERS, CW_TOPIC_VISIT_EVENTS, NULL};
    static const char *const bootstrap[] = {CW_TOPIC_ELDERS, NULL};
    static const cw_cfg_spec *const specs[] = {geo_config_spec, NULL};
    const cw_checker_def def = {.name = SERVICE,
                                .topics = topics,
                                .bootstrap_topics = bootstrap,
                                .specs = specs,
                                .setup = geo_setup,
                                .teardown = geo_teardown};
    return cw_checker_main(&def, argc, argv);
}
