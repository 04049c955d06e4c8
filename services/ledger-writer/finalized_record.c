#include "finalized_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "state.h"
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
              cw_av_set_enum(&v, "status", fin_state_name(o->status)) ||
              cw_av_set_str_array(&v, "reasons", o->reasons, o->reason_count) ||
              cw_av_set_opt_long(&v, "check_in_at", o->has_in, o->in_at) ||
              cw_av_set_opt_long(&v, "check_out_at", o->has_out, o->out_at) ||
              cw_av_set_opt_int(&v, "duration_minutes", has_duration,
                                has_duration ? fin_duration_minutes(o->in_at, o->out_at) : 0) ||
              cw_av_set_long(&v, "unit_price_cents", o->unit_price_cents) ||
              cw_av_set_long(&v, "finalized_at", o->finalized_at) ||
              cw_av_set_long(&v, "ledger_index", (int64_t)o->ledger_index) ||
              cw_av_set_opt_int(&v, "visits_per_month", o->visits_per_month > 0,
                                o->visits_per_month) ||
              cw_av_set_opt_int(&v, "minutes_per_visit", o->minutes_per_visit > 0,
                                o->minutes_per_visit) ||
              cw_av_set_opt_long(&v, "corrects_index", o->has_corrects,
                                 (int64_t)o->corrects_index) ||
              cw_av_set_opt_str(&v, "correction_id", o->has_corrects ? o->correction_id : NULL) ||
              cw_av_set_opt_long(&v, "decided_at", o->has_corrects, o->decided_at);
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "cannot fill OrderFinalized");
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}

long contract_for_order(const char *const *ids, const char *const *entries, size_t n,
                        int64_t day, const char *street_id)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == NULL || entries[i] == NULL ||
            cw_contract_cover_of(entries[i], day, street_id) != CW_COVER_SERVED)
            continue;
        if (best < 0 || strcmp(ids[i], ids[best]) < 0)
            best = (long)i;
    }
    return best;
}
