#include "finalized_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "timeutil.h"

int finalized_encode(const finalized_order *o, uint8_t **out, size_t *len, char *err,
                     size_t errlen)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("OrderFinalized");
    avro_value_t v;
    char day[16];
    *out = NULL;
    if (s == NULL || cw_avro_new_value(s, &v) != 0) {
        snprintf(err, errlen, "no OrderFinalized schema");
        return -1;
    }
    cw_date_format(o->service_day, day, sizeof(day));
    int has_duration = o->has_in && o->has_out;
    int bad = cw_av_set_str(&v, "order_id", o->order_id) ||
              cw_av_set_str(&v, "provider_id", o->provider_id) ||
              cw_av_set_opt_str(&v, "contract_id", o->contract_id) ||
              cw_av_set_str(&v, "caregiver_id", o->caregiver_id) ||
              cw_av_set_str(&v, "elder_id", o->elder_id) ||
              cw_av_set_str(&v, "street_id", o->street_id) ||
              cw_av_set_str(&v, "service_day", day) ||
              cw_av_set_enum(&v, "status", o->status == FIN_VALID ? "VALID" : "INVALID") ||
              cw_av_set_str_array(&v, "reasons", o->reasons, o->reason_count) ||
              cw_av_set_opt_long(&v, "check_in_at", o->has_in, o->in_at) ||
              cw_av_set_opt_long(&v, "check_out_at", o->has_out, o->out_at) ||
              cw_av_set_opt_int(&v, "duration_minutes", has_duration,
                                has_duration ? fin_duration_minutes(o->in_at, o->out_at) : 0) ||
              cw_av_set_long(&v, "unit_price_cents", o->unit_price_cents) ||
              cw_av_set_long(&v, "finalized_at", o->finalized_at) ||
              cw_av_set_long(&v, "ledger_index", (int64_t)o->ledger_index);
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "cannot fill OrderFinalized");
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}

const contract_period *contract_for_day(const contract_period *contracts, size_t n, int64_t day)
{
    const contract_period *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const contract_period *c = &contracts[i];
        if (day < c->period_start || day > c->period_end)
            continue;
        if (best == NULL || strcmp(c->contract_id, best->contract_id) < 0)
            best = c;
    }
    return best;
}

int contract_period_parse(const char *contract_id, const char *value, contract_period *out)
{
    char start[16], end[16];
    long long price;
    char tail;
    if (sscanf(value, "%15[^|]|%15[^|]|%lld%c", start, end, &price, &tail) != 3 || price < 0)
        return -1;
    out->contract_id = contract_id;
    out->unit_price_cents = price;
    if (cw_date_parse(start, &out->period_start) != 0 || cw_date_parse(end, &out->period_end) != 0)
        return -1;
    return 0;
}
