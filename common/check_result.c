#include "check_result.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "log.h"
#include "timeutil.h"
#include "topics.h"

int cw_check_set_id(cw_check *c, const char *subject, const char *rule)
{
    int n = snprintf(c->check_id, sizeof(c->check_id), "%s:%s", subject, rule);
    return n < 0 || (size_t)n >= sizeof(c->check_id) ? -1 : 0;
}

static int fill(avro_value_t *v, const cw_check *c)
{
    return cw_av_set_str(v, "check_id", c->check_id) || cw_av_set_str(v, "order_id", c->order_id) ||
           cw_av_set_str(v, "caregiver_id", c->caregiver_id) ||
           cw_av_set_opt_str(v, "event_id", c->event_id) || cw_av_set_str(v, "rule", c->rule) ||
           cw_av_set_enum(v, "outcome", cw_outcome_name(c->outcome)) ||
           cw_av_set_opt_double(v, "measured", c->has_measured, c->measured) ||
           cw_av_set_opt_double(v, "threshold", c->has_threshold, c->threshold) ||
           cw_av_set_str(v, "unit", c->unit ? c->unit : "") ||
           cw_av_set_str(v, "checker", c->checker) || cw_av_set_long(v, "at", c->at) ||
           cw_av_set_long(v, "produced_at", c->produced_at);
}

int cw_check_encode(const cw_check *c, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("CheckResult");
    avro_value_t v;
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "CheckResult schema not loaded");
        return -1;
    }
    int rc = -1;
    if (fill(&v, c) != 0)
        snprintf(err, errlen, "CheckResult %s: a field does not fit the schema", c->check_id);
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}

int cw_check_emit(cw_outbox *ob, const cw_check *c, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    if (cw_check_encode(c, &buf, &len, err, errlen) != 0)
        return -1;
    if (cw_outbox_add_owned(ob, CW_TOPIC_VISIT_CHECKS, c->order_id, buf, len) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int cw_check_emit_verdict(cw_outbox *ob, const char *checker, const char *subject,
                          const char *rule, const cw_verdict *v, const char *order_id,
                          const char *caregiver_id, const char *event_id, int64_t at)
{
    cw_check c = {.order_id = order_id,
                  .caregiver_id = caregiver_id,
                  .event_id = event_id,
                  .rule = rule,
                  .outcome = v->outcome,
                  .has_measured = v->has_measured,
                  .measured = v->measured,
                  .has_threshold = v->has_threshold,
                  .threshold = v->threshold,
                  .unit = v->unit,
                  .checker = checker,
                  .at = at,
                  .produced_at = cw_now_ms()};
    char err[256];
    if (cw_check_set_id(&c, subject, rule) != 0 || cw_check_emit(ob, &c, err, sizeof(err)) != 0) {
        cw_log_error("cannot build a CheckResult", "rule", rule, "subject", subject, NULL);
        return -1;
    }
    return 0;
}
