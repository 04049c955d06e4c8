/* A caregiver's freezes: the one a red verdict causes, and an admin's
 * unfreeze at its place in the caregiver's stream (overlap_caregiver_step
 * says what each does to the status). */
#include <stdio.h>

#include "log.h"
#include "overlap-detector/overlap_detector.h"
#include "overlap-detector/overlap_records.h"

/* The status stored after a freeze or an unfreeze. */
static cw_caregiver_status status_after(overlap_cg_item item)
{
    int frozen = item == OVERLAP_CG_UNFREEZE;
    (void)overlap_caregiver_step(&frozen, item);
    return frozen ? CW_CAREGIVER_STATUS_FROZEN : CW_CAREGIVER_STATUS_ACTIVE;
}

int overlap_freeze(cw_redis_batch *b, cw_outbox *out, const char *caregiver_id, const char *rule,
                   const char *order_id, int64_t at)
{
    char reason[128];
    if (overlap_freeze_reason(rule, order_id, reason, sizeof(reason)) != 0)
        return -1;
    cw_caregiver_status_changed rec = {.caregiver_id = caregiver_id,
                                       .status = status_after(OVERLAP_CG_RED_VERDICT),
                                       .reason = reason,
                                       .order_id = order_id,
                                       .at = at};
    if (overlap_emit_status(out, &rec) != 0)
        return -1;
    overlap_store_add_status(b, caregiver_id, rec.status, reason, order_id, at);
    cw_log_info("caregiver frozen", "caregiver_id", caregiver_id, "reason", reason, NULL);
    return 0;
}

/* Every event before the unfreeze was judged with the caregiver frozen,
 * every event after it is judged active. Published on caregiver.status as
 * it came. */
cw_result overlap_handle_unfreeze(overlap_ctx *o, const cw_stream_msg *msg, cw_outbox *out,
                                  char *reason, size_t len)
{
    cw_caregiver_status_changed rec;
    if (cw_caregiver_status_changed_read(msg->value, &rec) != 0) {
        snprintf(reason, len, "CaregiverStatusChanged lacks a field");
        return CW_REJECT;
    }
    cw_result rc = CW_OK;
    cw_redis_batch b = {0};
    if (rec.status != CW_CAREGIVER_STATUS_ACTIVE) {
        snprintf(reason, len, "only an unfreeze (ACTIVE) may come on %s", msg->topic);
        rc = CW_REJECT;
    } else {
        overlap_store_add_status(&b, rec.caregiver_id, status_after(OVERLAP_CG_UNFREEZE),
                                 rec.reason, "", rec.at);
        if (overlap_store_write(o->ck->redis, &b) != 0 || overlap_emit_status(out, &rec) != 0)
            rc = CW_RETRY;
        else
            cw_log_info("caregiver unfrozen", "caregiver_id", rec.caregiver_id, "reason",
                        rec.reason, NULL);
    }
    cw_caregiver_status_changed_release(&rec);
    return rc;
}
