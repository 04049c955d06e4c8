#include "ingest/change_rules.h"

#include <string.h>

static const char *const reason_codes[] = {"ELDER_HOSPITALIZED", "ELDER_DECEASED",
                                           "ELDER_REFUSED",      "ELDER_ABSENT",
                                           "CAREGIVER_ILL",      "WEATHER",
                                           "OTHER"};

const char ingest_change_reason_list[] = "ELDER_HOSPITALIZED, ELDER_DECEASED, ELDER_REFUSED, "
                                  "ELDER_ABSENT, CAREGIVER_ILL, WEATHER, OTHER";

const char *ingest_change_action_name(change_action a)
{
    switch (a) {
    case CHANGE_CANCEL: return "CANCEL";
    case CHANGE_RESCHEDULE: return "RESCHEDULE";
    case CHANGE_REASSIGN: return "REASSIGN";
    case CHANGE_APPROVE: break;
    }
    return "APPROVE";
}

int ingest_change_reason_is_valid(const char *code)
{
    for (size_t i = 0; i < sizeof(reason_codes) / sizeof(reason_codes[0]); i++)
        if (strcmp(code, reason_codes[i]) == 0)
            return 1;
    return 0;
}

/* What no change may touch, in the order a client learns most from. */
static int untouchable(const order_maintenance *o, int64_t received, int64_t final_after_ms,
                       change_verdict *why)
{
    if (o->cancelled)
        *why = CHANGE_REFUSED_CANCELLED;
    else if (o->visited)
        *why = CHANGE_REFUSED_VISITED;
    else if (o->final || received > o->scheduled_start + final_after_ms)
        *why = CHANGE_REFUSED_FINAL;
    else
        return 0;
    return 1;
}

change_verdict ingest_change_decide(const order_maintenance *o, int64_t received,
                                    int64_t final_after_ms)
{
    change_verdict why;
    if (untouchable(o, received, final_after_ms, &why))
        return why;
    if (o->has_pending)
        return CHANGE_REFUSED_WAITING;
    return received < o->scheduled_start ? CHANGE_EFFECTIVE : CHANGE_PENDING;
}

change_verdict ingest_change_approve_decide(const order_maintenance *o, int64_t received,
                                            int64_t final_after_ms)
{
    change_verdict why;
    if (!o->has_pending)
        return CHANGE_REFUSED_NOTHING;
    if (untouchable(o, received, final_after_ms, &why))
        return why;
    return CHANGE_EFFECTIVE;
}
