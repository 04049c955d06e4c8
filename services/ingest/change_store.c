#include "change_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "avro_fields.h"
#include "redis_keys.h"
#include "state.h"
#include "topics.h"

void change_store_waiting(cw_redis_batch *b, const waiting_change *w)
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

/* An OrderChange: a PENDING one waits, any later one of its order (its
 * approval, or a change after it) ends the wait. */
static int store_change(cw_redis_batch *b, avro_value_t *v)
{
    waiting_change w;
    const char *state;
    int has_start;
    memset(&w, 0, sizeof(w));
    if (cw_av_get_str(v, "order_id", &w.order_id) || cw_av_get_enum(v, "state", &state))
        return -1;
    if (strcmp(state, "PENDING") != 0) {
        char key[CW_KEY_MAX];
        snprintf(key, sizeof(key), CW_KEY_PENDING_CHANGE, w.order_id);
        const char *argv[] = {"DEL", key};
        cw_redis_batch_add(b, 2, argv);
        return 0;
    }
    if (cw_av_get_str(v, "change_id", &w.change_id) || cw_av_get_enum(v, "kind", &w.kind) ||
        cw_av_get_str(v, "reason_code", &w.reason_code) ||
        cw_av_get_opt_str(v, "note", &w.note) ||
        cw_av_get_long(v, "requested_at", &w.requested_at) ||
        cw_av_get_str(v, "requested_by", &w.requested_by) ||
        cw_av_get_opt_long(v, "new_scheduled_start", &has_start, &w.new_start) ||
        cw_av_get_opt_str(v, "new_caregiver_id", &w.new_caregiver_id))
        return -1;
    w.has_new_start = has_start;
    change_store_waiting(b, &w);
    return 0;
}

static int store_visit(cw_redis_batch *b, avro_value_t *v)
{
    const char *kind, *order_id, *event_id;
    if (cw_av_get_enum(v, "kind", &kind) || cw_av_get_str(v, "order_id", &order_id) ||
        cw_av_get_str(v, "event_id", &event_id))
        return -1;
    if (strcmp(kind, "CHECK_IN") != 0)
        return 1;
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), CW_KEY_VISITED, order_id);
    const char *argv[] = {"SET", key, event_id};
    cw_redis_batch_add(b, 3, argv);
    return 0;
}

static int rebuild_one(void *user_data, const rd_kafka_message_t *m, const cw_avro_schema *s,
                       avro_value_t *v, cw_redis_batch *b)
{
    (void)user_data;
    (void)m;
    if (strcmp(s->name, "OrderChange") == 0)
        return store_change(b, v) == 0;
    if (strcmp(s->name, "VisitEvent") == 0)
        return store_visit(b, v) == 0;
    return 0;
}

long change_store_rebuild(const cw_config *cfg, cw_redis *r, char *err, size_t errlen)
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
