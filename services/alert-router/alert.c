#include "alert.h"

#include <stdio.h>

#include "avro_codec.h"

int alert_id_format(char *buf, size_t len, const char *order_id, const char *rule)
{
    int n = snprintf(buf, len, "%s:%s", order_id, rule);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

int alert_encode(const alert_record *a, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("Alert");
    avro_value_t v;
    *out = NULL;
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "no Alert schema");
        return -1;
    }
    int rc = -1;
    if (cw_av_set_str(&v, "alert_id", a->alert_id) || cw_av_set_str(&v, "order_id", a->order_id) ||
        cw_av_set_str(&v, "rule", a->rule) ||
        cw_av_set_enum(&v, "colour", alert_colour_name(a->colour)) ||
        cw_av_set_str(&v, "street_id", a->street_id) ||
        cw_av_set_str(&v, "community_id", a->community_id) ||
        cw_av_set_str(&v, "provider_id", a->provider_id) ||
        cw_av_set_str(&v, "caregiver_id", a->caregiver_id) ||
        cw_av_set_str(&v, "elder_id", a->elder_id) ||
        cw_av_set_opt_long(&v, "scheduled_start", a->has_schedule, a->scheduled_start) ||
        cw_av_set_opt_int(&v, "scheduled_minutes", a->has_schedule, a->scheduled_minutes) ||
        cw_av_set_opt_double(&v, "measured", a->has_measured, a->measured) ||
        cw_av_set_opt_double(&v, "threshold", a->has_threshold, a->threshold) ||
        cw_av_set_long(&v, "at", a->at) || cw_av_set_long(&v, "raised_at", a->raised_at) ||
        cw_av_set_str(&v, "message_zh", a->message_zh) ||
        cw_av_set_str(&v, "message_en", a->message_en)) {
        snprintf(err, errlen, "cannot fill the Alert record");
    } else {
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    }
    avro_value_decref(&v);
    return rc;
}
