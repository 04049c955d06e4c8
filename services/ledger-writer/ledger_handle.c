/* The ledger-writer's inputs, by record: which handler takes each, and
 * the timer that decides an order when its deadline has passed. */
#include <stdio.h>
#include <string.h>

#include "ledger-writer/ledger_writer.h"
#include "topics.h"

cw_result ledger_handle(void *ctx, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                        size_t len)
{
    ledger_ctx *c = ctx;
    const char *name = msg->schema->name;
    if (strcmp(name, "OrderAssigned") == 0 && strcmp(msg->topic, CW_TOPIC_VISIT_EVENTS) == 0)
        return CW_OK; /* the overlap-detector's copy; orders.assigned has it */
    if (strcmp(name, "OrderAssigned") == 0)
        return ledger_handle_order(c, msg, out, reason, len);
    if (strcmp(name, "VisitEvent") == 0)
        return ledger_handle_visit(c, msg, out, reason, len);
    if (strcmp(name, "CaregiverStatusChanged") == 0)
        return CW_OK; /* an admin's unfreeze: the overlap-detector applies it */
    if (strcmp(name, "Evidence") == 0)
        return ledger_handle_evidence(c, msg, out, reason, len);
    if (strcmp(name, "CheckResult") == 0)
        return ledger_handle_check(c, msg, out, reason, len);
    if (strcmp(name, "OrderCorrection") == 0)
        return ledger_handle_correction(c, msg, out, reason, len);
    snprintf(reason, len, "unexpected %s record on %s", name, msg->topic);
    return CW_REJECT;
}

int ledger_on_timer(void *ctx, const char *order_id, int64_t due, cw_outbox *out)
{
    (void)due;
    return ledger_evaluate(ctx, out, order_id);
}
