#include "reference_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_fields.h"
#include "order_revision.h"
#include "redis_keys.h"
#include "timeutil.h"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

int cw_state_store_elder(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *street, *community, *crs;
    avro_value_t home;
    double lat, lon;
    int32_t visits, minutes, geofence;
    int has_geofence;
    if (cw_av_get_str(v, "elder_id", &id) || cw_av_get_str(v, "street_id", &street) ||
        cw_av_get_str(v, "community_id", &community) || cw_av_field(v, "home", &home) ||
        cw_av_get_double(&home, "lat", &lat) || cw_av_get_double(&home, "lon", &lon) ||
        cw_av_get_enum(&home, "crs", &crs) || cw_av_get_int(v, "visits_per_month", &visits) ||
        cw_av_get_int(v, "minutes_per_visit", &minutes) ||
        cw_av_get_opt_int(v, "geofence_radius_m", &has_geofence, &geofence))
        return -1;
    char key[CW_KEY_MAX], slat[32], slon[32], svisits[16], sminutes[16], sgeofence[16] = "";
    if (has_geofence)
        snprintf(sgeofence, sizeof(sgeofence), "%d", (int)geofence);
    snprintf(key, sizeof(key), CW_KEY_ELDER, id);
    snprintf(slat, sizeof(slat), "%.9f", lat);
    snprintf(slon, sizeof(slon), "%.9f", lon);
    snprintf(svisits, sizeof(svisits), "%d", (int)visits);
    snprintf(sminutes, sizeof(sminutes), "%d", (int)minutes);
    const char *argv[] = {"HSET", key, "street_id", street, "community_id", community,
                          "lat", slat, "lon", slon, "crs", crs, "visits_per_month", svisits,
                          "minutes_per_visit", sminutes, "geofence_m", sgeofence};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

/* The HSET of an order's fields unless a newer revision is stored. */
static const char STORE_ORDER_SCRIPT[] =
    "local held = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0') "
    "if tonumber(ARGV[1]) < held then return 0 end "
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) "
    "return 1";

int cw_state_store_order(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *elder, *caregiver, *provider, *service;
    int64_t start;
    int32_t minutes;
    const char *person;
    cw_order_revision rev;
    if (cw_av_get_str(v, "order_id", &id) || cw_av_get_str(v, "elder_id", &elder) ||
        cw_av_get_str(v, "caregiver_id", &caregiver) ||
        cw_av_get_str(v, "provider_id", &provider) ||
        cw_av_get_str(v, "service_type", &service) ||
        cw_av_get_long(v, "scheduled_start", &start) ||
        cw_av_get_int(v, "scheduled_minutes", &minutes) ||
        cw_av_get_opt_str(v, "person_id", &person) || cw_order_revision_of(v, &rev))
        return -1;
    char key[CW_KEY_MAX], sstart[24], sminutes[16], srev[16];
    snprintf(key, sizeof(key), CW_KEY_ORDER, id);
    fmt_i64(sstart, sizeof(sstart), start);
    snprintf(sminutes, sizeof(sminutes), "%d", (int)minutes);
    snprintf(srev, sizeof(srev), "%d", rev.revision);
    const char *argv[] = {"EVAL", STORE_ORDER_SCRIPT, "1", key, srev,
                          "elder_id", elder, "caregiver_id", caregiver,
                          "provider_id", provider, "service_type", service,
                          "scheduled_start", sstart, "scheduled_minutes", sminutes,
                          "person_id", person ? person : "", "revision", srev,
                          "status", cw_order_revision_is_cancel(&rev) ? "CANCELLED" : ""};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

int cw_state_store_caregiver(cw_redis_batch *b, avro_value_t *v)
{
    const char *id, *provider, *level, *person;
    int certified;
    if (cw_av_get_str(v, "caregiver_id", &id) || cw_av_get_str(v, "provider_id", &provider) ||
        cw_av_get_bool(v, "certified", &certified) || cw_av_get_opt_str(v, "level", &level) ||
        cw_av_get_opt_str(v, "person_id", &person))
        return -1;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, id);
    const char *argv[] = {"HSET",      key,
                          "provider_id", provider,
                          "certified", certified ? "1" : "0",
                          "level",     level ? level : "",
                          "person_id", person ? person : ""};
    cw_redis_batch_add(b, 10, argv);
    return 0;
}

int cw_contract_cover_entry(const cw_contract_row *c, char *buf, size_t len)
{
    int w = snprintf(buf, len, "%" PRId64 " %" PRId64 " ", c->period_start_day, c->period_end_day);
    if (w < 0 || (size_t)w >= len)
        return -1;
    size_t used = (size_t)w;
    for (size_t i = 0; i < c->street_count; i++) {
        w = snprintf(buf + used, len - used, "%s%s", i ? "," : "", c->street_ids[i]);
        if (w < 0 || (size_t)w >= len - used)
            return -1;
        used += (size_t)w;
    }
    return 0;
}

/* Whether the comma-separated list names street_id. */
static int list_names(const char *list, const char *street_id)
{
    size_t want = strlen(street_id);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == want && strncmp(p, street_id, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

cw_contract_cover cw_contract_cover_of(const char *entry, int64_t day, const char *street_id)
{
    char *end;
    long long first = strtoll(entry, &end, 10);
    if (end == entry || *end != ' ')
        return CW_COVER_NONE;
    const char *p = end + 1;
    long long last = strtoll(p, &end, 10);
    if (end == p || *end != ' ')
        return CW_COVER_NONE;
    if (day < first || day > last)
        return CW_COVER_NONE;
    const char *streets = end + 1;
    return *streets == '\0' || list_names(streets, street_id) ? CW_COVER_SERVED
                                                              : CW_COVER_OTHER_STREET;
}

int cw_state_write_contract(cw_redis_batch *b, const cw_contract_row *c)
{
    char key[CW_KEY_MAX], index_key[CW_KEY_MAX], cover[CW_CONTRACT_COVER_MAX];
    char budget[24], price[24], ratio[24], deduction[24], lag[24];
    if (cw_contract_cover_entry(c, cover, sizeof(cover)))
        return -1;
    snprintf(key, sizeof(key), CW_KEY_CONTRACT, c->contract_id);
    snprintf(index_key, sizeof(index_key), CW_KEY_PROVIDER_CONTRACTS, c->provider_id);
    fmt_i64(budget, sizeof(budget), c->budget_cents);
    fmt_i64(price, sizeof(price), c->unit_price_cents);
    fmt_i64(ratio, sizeof(ratio), c->prepay_ratio_ppm);
    fmt_i64(deduction, sizeof(deduction), c->invalid_deduction_cents);
    fmt_i64(lag, sizeof(lag), c->publication_lag_days);
    const char *argv[] = {"HSET", key, "provider_id", c->provider_id, "period_start",
                          c->period_start, "period_end", c->period_end, "budget_cents", budget,
                          "unit_price_cents", price, "prepay_ratio_ppm", ratio,
                          "invalid_deduction_cents", deduction, "publication_lag_days", lag};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    const char *index_argv[] = {"HSET", index_key, c->contract_id, cover};
    cw_redis_batch_add(b, 4, index_argv);
    return 0;
}

int cw_state_store_contract(cw_redis_batch *b, avro_value_t *v)
{
    cw_contract_row c = {0};
    const char *streets[CW_CONTRACT_MAX_STREETS];
    int32_t ratio, lag;
    size_t n;
    if (cw_av_get_str(v, "contract_id", &c.contract_id) ||
        cw_av_get_str(v, "provider_id", &c.provider_id) ||
        cw_av_get_str(v, "period_start", &c.period_start) ||
        cw_av_get_str(v, "period_end", &c.period_end) ||
        cw_av_get_long(v, "budget_cents", &c.budget_cents) ||
        cw_av_get_long(v, "unit_price_cents", &c.unit_price_cents) ||
        cw_av_get_int(v, "prepay_ratio_ppm", &ratio) ||
        cw_av_get_long(v, "invalid_deduction_cents", &c.invalid_deduction_cents) ||
        cw_av_get_int(v, "publication_lag_days", &lag) ||
        cw_av_get_array_size(v, "street_ids", &n) || n > CW_CONTRACT_MAX_STREETS ||
        cw_date_parse(c.period_start, &c.period_start_day) ||
        cw_date_parse(c.period_end, &c.period_end_day))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (cw_av_get_str_at(v, "street_ids", i, &streets[i]))
            return -1;
    c.prepay_ratio_ppm = ratio;
    c.publication_lag_days = lag;
    c.street_ids = streets;
    c.street_count = n;
    return cw_state_write_contract(b, &c);
}

int cw_state_store_elder_status(cw_redis_batch *b, avro_value_t *v)
{
    const char *elder_id, *status;
    cw_elder_period p;
    memset(&p, 0, sizeof(p));
    if (cw_av_get_str(v, "elder_id", &elder_id) || cw_av_get_enum(v, "status", &status) ||
        cw_elder_status_parse(status, &p.status) != 0 || cw_av_get_long(v, "from", &p.from) ||
        cw_av_get_opt_long(v, "to", &p.has_to, &p.to) ||
        cw_av_get_long(v, "received_at", &p.received_at))
        return -1;
    char key[CW_KEY_MAX], field[96], value[24];
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, elder_id);
    if (cw_elder_period_field(&p, field, sizeof(field)) != 0 ||
        cw_elder_period_value(&p, value, sizeof(value)) != 0)
        return -1;
    const char *argv[] = {"HSETNX", key, field, value};
    cw_redis_batch_add(b, 4, argv);
    return 0;
}

long cw_state_load_elder_periods(cw_redis *r, const char *elder_id, cw_elder_period *out,
                                 size_t max)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, elder_id);
    const char *argv[] = {"HGETALL", key};
    redisReply *reply = cw_redis_cmd(r, 2, argv);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i + 1 < reply->elements && n < max; i += 2) {
        const redisReply *f = reply->element[i], *val = reply->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && val->type == REDIS_REPLY_STRING &&
            cw_elder_period_parse(f->str, val->str, &out[n]) == 0)
            n++;
    }
    freeReplyObject(reply);
    return (long)n;
}

/* HMGET key fields...: 1 when the first field exists, 0 when missing. */
static int hmget(cw_redis *r, const char *key, const char *const *fields, size_t n,
                 redisReply **reply)
{
    const char *argv[12] = {"HMGET", key};
    for (size_t i = 0; i < n && i < 10; i++)
        argv[2 + i] = fields[i];
    *reply = cw_redis_cmd(r, (int)(2 + n), argv);
    if (*reply == NULL || (*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements != n) {
        if (*reply)
            freeReplyObject(*reply);
        *reply = NULL;
        return -1;
    }
    return (*reply)->element[0]->type == REDIS_REPLY_STRING;
}

static void copy_str(char *dst, size_t len, const redisReply *e)
{
    snprintf(dst, len, "%s", e->type == REDIS_REPLY_STRING ? e->str : "");
}

int cw_state_load_elder(cw_redis *r, const char *elder_id, cw_elder_state *out)
{
    static const char *const fields[] = {"lat",          "lon",        "crs",
                                         "street_id",    "community_id", "geofence_m",
                                         "visits_per_month", "minutes_per_visit"};
    char key[CW_KEY_MAX];
    redisReply *reply;
    snprintf(key, sizeof(key), CW_KEY_ELDER, elder_id);
    int found = hmget(r, key, fields, 8, &reply);
    if (found <= 0) {
        if (reply)
            freeReplyObject(reply);
        return found;
    }
    out->lat = strtod(reply->element[0]->str, NULL);
    out->lon = reply->element[1]->type == REDIS_REPLY_STRING ? strtod(reply->element[1]->str, NULL)
                                                               : 0;
    copy_str(out->crs, sizeof(out->crs), reply->element[2]);
    copy_str(out->street_id, sizeof(out->street_id), reply->element[3]);
    copy_str(out->community_id, sizeof(out->community_id), reply->element[4]);
    out->geofence_m = reply->element[5]->type == REDIS_REPLY_STRING
                          ? (int)strtol(reply->element[5]->str, NULL, 10)
                          : 0;
    out->visits_per_month = reply->element[6]->type == REDIS_REPLY_STRING
                                ? (int)strtol(reply->element[6]->str, NULL, 10)
                                : 0;
    out->minutes_per_visit = reply->element[7]->type == REDIS_REPLY_STRING
                                 ? (int)strtol(reply->element[7]->str, NULL, 10)
                                 : 0;
    freeReplyObject(reply);
    return 1;
}

int cw_state_load_order(cw_redis *r, const char *order_id, cw_order_state *out)
{
    char key[CW_KEY_MAX];
    redisReply *reply;
    snprintf(key, sizeof(key), CW_KEY_ORDER, order_id);
    int found = hmget(r, key, cw_state_order_fields, CW_STATE_ORDER_FIELD_COUNT, &reply);
    if (found <= 0) {
        if (reply)
            freeReplyObject(reply);
        return found;
    }
    found = cw_state_order_from_reply(reply, out);
    freeReplyObject(reply);
    return found < 0 ? -1 : found;
}

const char *const cw_state_order_fields[CW_STATE_ORDER_FIELD_COUNT] = {
    "scheduled_start", "scheduled_minutes", "elder_id", "caregiver_id", "provider_id",
    "person_id"};

const char *cw_order_stream_key(const cw_order_state *o)
{
    return o->person_id[0] != '\0' ? o->person_id : o->caregiver_id;
}

int cw_state_order_from_reply(const redisReply *reply, cw_order_state *out)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != CW_STATE_ORDER_FIELD_COUNT)
        return -1;
    if (reply->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    out->scheduled_start = strtoll(reply->element[0]->str, NULL, 10);
    out->scheduled_minutes = reply->element[1]->type == REDIS_REPLY_STRING
                                 ? (int)strtol(reply->element[1]->str, NULL, 10)
                                 : 0;
    copy_str(out->elder_id, sizeof(out->elder_id), reply->element[2]);
    copy_str(out->caregiver_id, sizeof(out->caregiver_id), reply->element[3]);
    copy_str(out->provider_id, sizeof(out->provider_id), reply->element[4]);
    copy_str(out->person_id, sizeof(out->person_id), reply->element[5]);
    return 1;
}
