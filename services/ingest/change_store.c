#include "ingest/change_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_records.h"
#include "ingest/ingest_store.h"
#include "redis_keys.h"
#include "reference_replay.h"
#include "topics.h"

static void copy_reply(char *dst, size_t len, const redisReply *e)
{
    if (e != NULL && e->type == REDIS_REPLY_STRING)
        snprintf(dst, len, "%.*s", (int)e->len, e->str);
    else
        dst[0] = '\0';
}

static int64_t reply_i64(const redisReply *e)
{
    return e != NULL && e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
}

static int is_array(const redisReply *r, size_t n)
{
    return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == n;
}

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
}

static void view_from_replies(redisReply **rep, order_view *v)
{
    redisReply **o = rep[0]->element, **p = rep[2]->element;
    memset(v, 0, sizeof(*v));
    v->found = o[0]->type == REDIS_REPLY_STRING;
    copy_reply(v->order.elder_id, CHANGE_FIELD_MAX, o[0]);
    copy_reply(v->order.caregiver_id, CHANGE_FIELD_MAX, o[1]);
    copy_reply(v->order.provider_id, CHANGE_FIELD_MAX, o[2]);
    copy_reply(v->order.service_type, CHANGE_FIELD_MAX, o[3]);
    copy_reply(v->order.person_id, CHANGE_FIELD_MAX, o[4]);
    copy_reply(v->order.status, CHANGE_FIELD_MAX, o[5]);
    copy_reply(v->order.final, CHANGE_FIELD_MAX, o[6]);
    v->order.scheduled_start = reply_i64(o[7]);
    v->order.scheduled_minutes = (int)reply_i64(o[8]);
    v->order.revision = (int)reply_i64(o[9]);
    v->order.visited = rep[1]->type == REDIS_REPLY_INTEGER && rep[1]->integer > 0;
    v->pending.present = p[0]->type == REDIS_REPLY_STRING;
    copy_reply(v->pending.change_id, CHANGE_FIELD_MAX, p[0]);
    copy_reply(v->pending.kind, CHANGE_FIELD_MAX, p[1]);
    copy_reply(v->pending.reason_code, CHANGE_FIELD_MAX, p[2]);
    copy_reply(v->pending.note, sizeof(v->pending.note), p[3]);
    v->pending.requested_at = reply_i64(p[4]);
    copy_reply(v->pending.requested_by, CHANGE_FIELD_MAX, p[5]);
    v->pending.new_start = reply_i64(p[6]);
    copy_reply(v->pending.new_caregiver_id, CHANGE_FIELD_MAX, p[7]);
    copy_reply(v->idem, sizeof(v->idem), rep[3]);
}

int ingest_change_store_view(cw_redis *r, const char *order_id, const char *idem_kind,
                             order_view *v)
{
    char order_key[CW_KEY_MAX], visited_key[CW_KEY_MAX], pending_key[CW_KEY_MAX];
    char idem_key[CW_KEY_MAX];
    snprintf(order_key, sizeof(order_key), CW_KEY_ORDER, order_id);
    snprintf(visited_key, sizeof(visited_key), CW_KEY_VISITED, order_id);
    snprintf(pending_key, sizeof(pending_key), CW_KEY_PENDING_CHANGE, order_id);
    snprintf(idem_key, sizeof(idem_key), CW_KEY_IDEMPOTENCY, idem_kind, order_id);
    const char *order_argv[] = {"HMGET",     order_key,    "elder_id",        "caregiver_id",
                                "provider_id", "service_type", "person_id",     "status",
                                "final",     "scheduled_start", "scheduled_minutes", "revision"};
    const char *visited_argv[] = {"EXISTS", visited_key};
    const char *pending_argv[] = {"HMGET",        pending_key,  "change_id",   "kind",
                                  "reason_code",  "note",       "requested_at", "requested_by",
                                  "new_start",    "new_caregiver_id"};
    const char *idem_argv[] = {"GET", idem_key};
    const char *const *cmds[] = {order_argv, visited_argv, pending_argv, idem_argv};
    const int argcs[] = {12, 2, 10, 2};
    redisReply *rep[4];
    if (cw_redis_pipeline(r, 4, argcs, cmds, rep) != 0)
        return -1;
    int ok = is_array(rep[0], 10) && rep[1]->type == REDIS_REPLY_INTEGER &&
             is_array(rep[2], 8) && rep[3]->type != REDIS_REPLY_ERROR;
    if (ok)
        view_from_replies(rep, v);
    free_replies(rep, 4);
    return ok ? 0 : -1;
}

int ingest_change_store_refs(cw_redis *r, const change_order *o, const char *new_caregiver,
                             change_refs *refs)
{
    char elder_key[CW_KEY_MAX], current_key[CW_KEY_MAX], new_key[CW_KEY_MAX];
    char state_key[CW_KEY_MAX];
    snprintf(elder_key, sizeof(elder_key), CW_KEY_ELDER, o->elder_id);
    snprintf(current_key, sizeof(current_key), CW_KEY_CAREGIVER, o->caregiver_id);
    snprintf(new_key, sizeof(new_key), CW_KEY_CAREGIVER, new_caregiver ? new_caregiver : "");
    snprintf(state_key, sizeof(state_key), CW_KEY_CGSTATE, new_caregiver ? new_caregiver : "");
    const char *elder_argv[] = {"HMGET", elder_key, "street_id"};
    const char *current_argv[] = {"HMGET", current_key, "certified"};
    const char *new_argv[] = {"HMGET", new_key, "provider_id", "certified", "person_id"};
    const char *state_argv[] = {"HMGET", state_key, "status"};
    const char *const *cmds[] = {elder_argv, current_argv, new_argv, state_argv};
    const int argcs[] = {3, 3, 5, 3};
    size_t n = new_caregiver ? 4 : 2;
    redisReply *rep[4];
    memset(refs, 0, sizeof(*refs));
    if (cw_redis_pipeline(r, n, argcs, cmds, rep) != 0)
        return -1;
    int ok = is_array(rep[0], 1) && is_array(rep[1], 1) &&
             (n == 2 || (is_array(rep[2], 3) && is_array(rep[3], 1)));
    if (ok) {
        char flag[CHANGE_FIELD_MAX];
        copy_reply(refs->street_id, CHANGE_FIELD_MAX, rep[0]->element[0]);
        copy_reply(flag, sizeof(flag), rep[1]->element[0]);
        refs->certified = strcmp(flag, "1") == 0;
        if (n == 4) {
            refs->new_found = rep[2]->element[0]->type == REDIS_REPLY_STRING;
            copy_reply(refs->new_provider, CHANGE_FIELD_MAX, rep[2]->element[0]);
            copy_reply(flag, sizeof(flag), rep[2]->element[1]);
            refs->new_certified = strcmp(flag, "1") == 0;
            copy_reply(refs->new_person, CHANGE_FIELD_MAX, rep[2]->element[2]);
            copy_reply(flag, sizeof(flag), rep[3]->element[0]);
            refs->new_frozen = strcmp(flag, "FROZEN") == 0;
        }
    }
    free_replies(rep, n);
    return ok ? 0 : -1;
}

void ingest_change_store_waiting(cw_redis_batch *b, const waiting_change *w)
{
    char key[CW_KEY_MAX], requested[24], start[24] = "";
    snprintf(key, sizeof(key), CW_KEY_PENDING_CHANGE, w->order_id);
    snprintf(requested, sizeof(requested), "%" PRId64, w->requested_at);
    if (w->has_new_start)
        snprintf(start, sizeof(start), "%" PRId64, w->new_start);
    const char *argv[] = {"HSET",
                          key,
                          "change_id",
                          w->change_id,
                          "kind",
                          w->kind,
                          "reason_code",
                          w->reason_code,
                          "note",
                          w->note ? w->note : "",
                          "requested_at",
                          requested,
                          "requested_by",
                          w->requested_by,
                          "new_start",
                          start,
                          "new_caregiver_id",
                          w->new_caregiver_id ? w->new_caregiver_id : ""};
    cw_redis_batch_add(b, (int)(sizeof(argv) / sizeof(argv[0])), argv);
}

void ingest_change_store_done(cw_redis_batch *b, const char *order_id)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_PENDING_CHANGE, order_id);
    const char *argv[] = {"DEL", key};
    cw_redis_batch_add(b, 2, argv);
}

/* An OrderChange: a PENDING one waits, any later one of its order (its
 * approval, or a change after it) ends the wait. 0, or -1 when the record
 * is not an OrderChange. */
static int store_change(cw_redis_batch *b, avro_value_t *v)
{
    cw_order_change c;
    if (cw_order_change_read(v, &c) != 0)
        return -1;
    if (c.state != CW_ORDER_CHANGE_STATE_PENDING) {
        ingest_change_store_done(b, c.order_id);
    } else {
        waiting_change w = {.order_id = c.order_id,
                            .change_id = c.change_id,
                            .kind = cw_order_change_kind_name(c.kind),
                            .reason_code = c.reason_code,
                            .note = c.note,
                            .requested_at = c.requested_at,
                            .requested_by = c.requested_by,
                            .has_new_start = c.has_new_scheduled_start,
                            .new_start = c.new_scheduled_start,
                            .new_caregiver_id = c.new_caregiver_id};
        ingest_change_store_waiting(b, &w);
    }
    cw_order_change_release(&c);
    return 0;
}

/* A check-in marks its order visited: 1 stored, 0 not a check-in, -1 not
 * a VisitEvent. */
static int store_visit(cw_redis_batch *b, avro_value_t *v)
{
    cw_visit_event ev;
    if (cw_visit_event_read(v, &ev) != 0)
        return -1;
    int check_in = ev.kind == CW_VISIT_KIND_CHECK_IN;
    if (check_in)
        ingest_store_mark_visited(b, ev.order_id, ev.event_id);
    cw_visit_event_release(&ev);
    return check_in;
}

/* Whether the record was stored (cw_state_replay_fn). */
static int rebuild_one(void *user_data, const rd_kafka_message_t *m, const cw_avro_schema *s,
                       avro_value_t *v, cw_redis_batch *b)
{
    (void)user_data;
    (void)m;
    if (strcmp(s->name, "OrderChange") == 0)
        return store_change(b, v) == 0;
    if (strcmp(s->name, "VisitEvent") == 0)
        return store_visit(b, v) == 1;
    return 0;
}

long ingest_change_store_rebuild(const cw_config *cfg, cw_redis *r, char *err, size_t errlen)
{
    static const char *const topics[] = {CW_TOPIC_ORDER_CHANGES, CW_TOPIC_VISIT_EVENTS};
    long stored = 0;
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        long n = cw_state_replay_topic(cfg, r, topics[i], rebuild_one, NULL, err, errlen);
        if (n < 0)
            return -1;
        stored += n;
    }
    return stored;
}
