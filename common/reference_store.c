#include "reference_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "order_revision.h"
#include "redis_keys.h"
#include "timeutil.h"

static void fmt_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

int cw_state_write_elder(cw_redis_batch *b, const cw_elder *e)
{
    char key[CW_KEY_MAX], lat[32], lon[32], visits[16], minutes[16], geofence[16] = "";
    /* "" clears an earlier version's radius. */
    if (e->has_geofence_radius_m)
        snprintf(geofence, sizeof(geofence), "%d", (int)e->geofence_radius_m);
    snprintf(key, sizeof(key), CW_KEY_ELDER, e->elder_id);
    snprintf(lat, sizeof(lat), "%.9f", e->home.lat);
    snprintf(lon, sizeof(lon), "%.9f", e->home.lon);
    snprintf(visits, sizeof(visits), "%d", (int)e->visits_per_month);
    snprintf(minutes, sizeof(minutes), "%d", (int)e->minutes_per_visit);
    const char *crs = cw_crs_name(e->home.crs);
    if (crs == NULL)
        return -1;
    const char *argv[] = {"HSET", key, "street_id", e->street_id, "community_id", e->community_id,
                          "lat", lat, "lon", lon, "crs", crs, "visits_per_month", visits,
                          "minutes_per_visit", minutes, "geofence_m", geofence};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

int cw_state_store_elder(cw_redis_batch *b, avro_value_t *v)
{
    cw_elder e;
    if (cw_elder_read(v, &e) != 0)
        return -1;
    int rc = cw_state_write_elder(b, &e);
    cw_elder_release(&e);
    return rc;
}

/* The HSET of an order's fields unless a newer revision is stored. */
static const char STORE_ORDER_SCRIPT[] =
    "local held = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0') "
    "if tonumber(ARGV[1]) < held then return 0 end "
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) "
    "return 1";

int cw_state_write_order(cw_redis_batch *b, const cw_order_assigned *o)
{
    int revision = o->has_revision ? (int)o->revision : 0;
    int cancelled = o->has_change && o->change.kind == CW_ORDER_CHANGE_KIND_CANCEL;
    if (revision < 0)
        return -1;
    char key[CW_KEY_MAX], start[24], minutes[16], srev[16];
    snprintf(key, sizeof(key), CW_KEY_ORDER, o->order_id);
    fmt_i64(start, sizeof(start), o->scheduled_start);
    snprintf(minutes, sizeof(minutes), "%d", (int)o->scheduled_minutes);
    snprintf(srev, sizeof(srev), "%d", revision);
    const char *argv[] = {"EVAL", STORE_ORDER_SCRIPT, "1", key, srev,
                          "elder_id", o->elder_id, "caregiver_id", o->caregiver_id,
                          "provider_id", o->provider_id, "service_type", o->service_type,
                          "scheduled_start", start, "scheduled_minutes", minutes,
                          "person_id", o->person_id ? o->person_id : "", "revision", srev,
                          "status", cancelled ? "CANCELLED" : ""};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    return 0;
}

int cw_state_store_order(cw_redis_batch *b, avro_value_t *v)
{
    cw_order_assigned o;
    cw_order_revision rev;
    /* cw_order_revision_of also checks a revision's change is complete. */
    if (cw_order_assigned_read(v, &o) != 0)
        return -1;
    int rc = cw_order_revision_of(v, &rev) == 0 ? cw_state_write_order(b, &o) : -1;
    cw_order_assigned_release(&o);
    return rc;
}

int cw_state_write_caregiver(cw_redis_batch *b, const cw_caregiver *c)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_CAREGIVER, c->caregiver_id);
    const char *argv[] = {"HSET",      key,
                          "provider_id", c->provider_id,
                          "certified", c->certified ? "1" : "0",
                          "level",     c->level ? c->level : "",
                          "person_id", c->person_id ? c->person_id : ""};
    cw_redis_batch_add(b, 10, argv);
    return 0;
}

int cw_state_store_caregiver(cw_redis_batch *b, avro_value_t *v)
{
    cw_caregiver c;
    if (cw_caregiver_read(v, &c) != 0)
        return -1;
    int rc = cw_state_write_caregiver(b, &c);
    cw_caregiver_release(&c);
    return rc;
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
                          "invalid_deduction_cents", deduction, "publication_lag_days", lag,
                          "historical", c->historical ? "1" : "0"};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
    const char *index_argv[] = {"HSET", index_key, c->contract_id, cover};
    cw_redis_batch_add(b, 4, index_argv);
    return 0;
}

int cw_contract_row_of(const cw_contract *rec, cw_contract_row *row)
{
    *row = (cw_contract_row){.contract_id = rec->contract_id,
                             .provider_id = rec->provider_id,
                             .period_start = rec->period_start,
                             .period_end = rec->period_end,
                             .budget_cents = rec->budget_cents,
                             .unit_price_cents = rec->unit_price_cents,
                             .prepay_ratio_ppm = rec->prepay_ratio_ppm,
                             .invalid_deduction_cents = rec->invalid_deduction_cents,
                             .publication_lag_days = rec->publication_lag_days,
                             .street_ids = rec->street_ids,
                             .street_count = rec->street_ids_count,
                             .historical = rec->historical};
    return rec->street_ids_count <= CW_CONTRACT_MAX_STREETS &&
                   cw_date_parse(row->period_start, &row->period_start_day) == 0 &&
                   cw_date_parse(row->period_end, &row->period_end_day) == 0
               ? 0
               : -1;
}

int cw_state_store_contract(cw_redis_batch *b, avro_value_t *v)
{
    cw_contract rec;
    cw_contract_row row;
    if (cw_contract_read(v, &rec) != 0)
        return -1;
    int rc = cw_contract_row_of(&rec, &row) == 0 ? cw_state_write_contract(b, &row) : -1;
    cw_contract_release(&rec);
    return rc;
}

int cw_state_write_elder_status(cw_redis_batch *b, const cw_elder_status_changed *s)
{
    cw_elder_period p = {.status = s->status,
                         .from = s->from,
                         .has_to = s->has_to,
                         .to = s->to,
                         .received_at = s->received_at};
    char key[CW_KEY_MAX], field[96], value[24];
    snprintf(key, sizeof(key), CW_KEY_ELDER_STATUS, s->elder_id);
    if (cw_elder_period_field(&p, field, sizeof(field)) != 0 ||
        cw_elder_period_value(&p, value, sizeof(value)) != 0)
        return -1;
    const char *argv[] = {"HSETNX", key, field, value};
    cw_redis_batch_add(b, 4, argv);
    return 0;
}

int cw_state_store_elder_status(cw_redis_batch *b, avro_value_t *v)
{
    cw_elder_status_changed s;
    if (cw_elder_status_changed_read(v, &s) != 0)
        return -1;
    int rc = cw_state_write_elder_status(b, &s);
    cw_elder_status_changed_release(&s);
    return rc;
}

size_t cw_state_elder_periods_from_reply(const redisReply *reply, cw_elder_period *out,
                                         size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i + 1 < reply->elements && n < max; i += 2) {
        const redisReply *f = reply->element[i], *val = reply->element[i + 1];
        if (f->type == REDIS_REPLY_STRING && val->type == REDIS_REPLY_STRING &&
            cw_elder_period_parse(f->str, val->str, &out[n]) == 0)
            n++;
    }
    return n;
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
    size_t n = cw_state_elder_periods_from_reply(reply, out, max);
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
