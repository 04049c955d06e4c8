#include "ledger-writer/finalized_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "reference_store.h"
#include "timeutil.h"

int ledger_finalized_encode(const ledger_finalized_order *o, uint8_t **out, size_t *len, char *err,
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
    cw_order_finalized r = {
        .order_id = o->order_id,
        .provider_id = o->provider_id,
        .contract_id = o->contract_id,
        .caregiver_id = o->caregiver_id,
        .elder_id = o->elder_id,
        .street_id = o->street_id,
        .service_day = day,
        /* The writer only reads the array. */
        .reasons = (const char **)o->reasons,
        .reasons_count = o->reason_count,
        .has_check_in_at = o->has_in,
        .check_in_at = o->in_at,
        .has_check_out_at = o->has_out,
        .check_out_at = o->out_at,
        .has_duration_minutes = has_duration,
        .duration_minutes = has_duration ? ledger_fin_duration_minutes(o->in_at, o->out_at) : 0,
        .unit_price_cents = o->unit_price_cents,
        .finalized_at = o->finalized_at,
        .ledger_index = (int64_t)o->ledger_index,
        .has_visits_per_month = o->visits_per_month > 0,
        .visits_per_month = o->visits_per_month,
        .has_minutes_per_visit = o->minutes_per_visit > 0,
        .minutes_per_visit = o->minutes_per_visit,
        .has_corrects_index = o->has_corrects,
        .corrects_index = (int64_t)o->corrects_index,
        .correction_id = o->has_corrects ? o->correction_id : NULL,
        .has_decided_at = o->has_corrects,
        .decided_at = o->decided_at,
    };
    int bad = cw_order_status_parse(ledger_fin_state_name(o->status), &r.status) != 0 ||
              cw_order_finalized_write(&v, &r) != 0;
    int rc = -1;
    if (bad)
        snprintf(err, errlen, "cannot fill OrderFinalized");
    else
        rc = cw_avro_encode(&v, s, out, len, err, errlen);
    avro_value_decref(&v);
    return rc;
}

int ledger_entry_decode(const uint8_t *bytes, size_t len, ledger_entry *e, char *err, size_t errlen)
{
    const cw_avro_schema *s;
    memset(e, 0, sizeof(*e));
    if (cw_avro_decode(bytes, len, &s, &e->v, err, errlen) != 0)
        return -1;
    if (strcmp(s->name, "OrderFinalized") == 0 && cw_order_finalized_read(&e->v, &e->rec) == 0)
        return 0;
    snprintf(err, errlen, "a %s that does not read as an OrderFinalized", s->name);
    avro_value_decref(&e->v);
    return -1;
}

void ledger_entry_release(ledger_entry *e)
{
    cw_order_finalized_release(&e->rec);
    avro_value_decref(&e->v);
}

long ledger_contract_for_order(const char *const *ids, const char *const *entries, size_t n,
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
