#include "alert-router/alert_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert-router/messages.h"
#include "avro_codec.h"

int alert_finding_of_check(const cw_check_result *c, double received, alert_finding *f)
{
    memset(f, 0, sizeof(*f));
    if (alert_colour_of(c->outcome, &f->alert.colour) != 0)
        return -1;
    f->alert.order_id = c->order_id;
    f->alert.rule = c->rule;
    f->alert.caregiver_id = c->caregiver_id;
    f->alert.has_measured = c->has_measured;
    f->alert.measured = c->measured;
    f->alert.has_threshold = c->has_threshold;
    f->alert.threshold = c->threshold;
    f->alert.at = c->at;
    f->unit = c->unit;
    f->received = received;
    return 0;
}

void alert_finding_of_freeze(const cw_caregiver_status_changed *s, double received,
                             alert_finding *f)
{
    memset(f, 0, sizeof(*f));
    f->alert.order_id = s->order_id;
    f->alert.rule = ALERT_RULE_CAREGIVER_FROZEN;
    f->alert.caregiver_id = s->caregiver_id;
    f->alert.colour = CW_COLOUR_RED;
    f->alert.at = s->at;
    f->unit = "";
    f->reason = s->reason;
    f->received = received;
}

int alert_id_format(char *buf, size_t len, const char *order_id, const char *rule)
{
    int n = snprintf(buf, len, "%s:%s", order_id, rule);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

int alert_encode(const cw_alert *a, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("Alert");
    avro_value_t v;
    *out = NULL;
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "no Alert schema");
        return -1;
    }
    int rc = -1;
    if (cw_alert_write(&v, a) != 0)
        snprintf(err, errlen, "cannot fill the Alert record %s", a->alert_id);
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}

int alert_emit(cw_outbox *out, const alert_finding *f, const cw_order_state *order,
               const cw_elder_state *elder, int utc_offset_minutes, int64_t raised_at,
               const alert_targets *t, char *err, size_t errlen)
{
    cw_alert a = f->alert;
    char zh[ALERT_MESSAGE_MAX], en[ALERT_MESSAGE_MAX];
    alert_message_input mi = {.rule = a.rule,
                              .caregiver_id = a.caregiver_id,
                              .order_id = a.order_id,
                              .elder_id = order->elder_id,
                              .has_measured = a.has_measured,
                              .measured = a.measured,
                              .has_threshold = a.has_threshold,
                              .threshold = a.threshold,
                              .unit = f->unit,
                              .scheduled_start = order->scheduled_start,
                              .scheduled_minutes = order->scheduled_minutes,
                              .utc_offset_minutes = utc_offset_minutes,
                              .reason = f->reason};
    if (alert_messages(&mi, zh, sizeof(zh), en, sizeof(en)) != 0) {
        snprintf(err, errlen, "the messages of alert %s do not fit", a.alert_id);
        return -1;
    }
    a.street_id = elder->street_id;
    a.community_id = elder->community_id;
    a.provider_id = order->provider_id;
    a.elder_id = order->elder_id;
    a.has_scheduled_start = a.has_scheduled_minutes = order->scheduled_start != 0;
    a.scheduled_start = order->scheduled_start;
    a.scheduled_minutes = order->scheduled_minutes;
    a.raised_at = raised_at;
    a.message_zh = zh;
    a.message_en = en;
    uint8_t *value = NULL;
    size_t len = 0;
    if (alert_encode(&a, &value, &len, err, errlen) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < t->count && rc == 0; i++) {
        uint8_t *copy = malloc(len);
        if (copy == NULL) {
            rc = -1;
            break;
        }
        memcpy(copy, value, len);
        rc = cw_outbox_add_owned(out, t->topics[i], a.order_id, copy, len);
    }
    free(value);
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}
