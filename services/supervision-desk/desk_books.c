/* The desk's books besides the cases: finalized orders, elders,
 * maintenance changes and caregiver status changes, each kept as read from
 * its topic (a later record of the same id replaces the earlier one). They
 * live in the desk (desk.h) under its lock; desk_books_free frees them with
 * the case book. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "supervision-desk/desk.h"

const desk_order *desk_order_find(const desk *d, const char *order_id)
{
    uint64_t i;
    return cw_idset_get(&d->orders.by_id, order_id, &i) == 1 ? &d->orders.items[i] : NULL;
}

const desk_elder *desk_elder_find(const desk *d, const char *elder_id)
{
    uint64_t i;
    return cw_idset_get(&d->elders.by_id, elder_id, &i) == 1 ? &d->elders.items[i] : NULL;
}

/* A later entry of an order (a correction) replaces the earlier one. */
int desk_order_put(desk *d, const desk_order *o)
{
    uint64_t i;
    desk_order copy = *o;
    const desk_elder *e = desk_elder_find(d, o->subject.elder_id);
    if (e)
        snprintf(copy.subject.community_id, sizeof(copy.subject.community_id), "%s",
                 e->community_id);
    if (cw_idset_get(&d->orders.by_id, o->subject.order_id, &i) == 1) {
        if (d->orders.items[i].ledger_index <= o->ledger_index)
            d->orders.items[i] = copy;
        return 0;
    }
    if (cw_grow((void **)&d->orders.items, &d->orders.cap, d->orders.count, sizeof(desk_order),
                256))
        return -1;
    if (cw_idset_add(&d->orders.by_id, o->subject.order_id, d->orders.count) != 1)
        return -1;
    d->orders.items[d->orders.count++] = copy;
    return 0;
}

int desk_elder_put(desk *d, const desk_elder *e)
{
    uint64_t i;
    if (cw_idset_get(&d->elders.by_id, e->elder_id, &i) == 1) {
        d->elders.items[i] = *e;
        return 0;
    }
    if (cw_grow((void **)&d->elders.items, &d->elders.cap, d->elders.count, sizeof(desk_elder),
                256))
        return -1;
    if (cw_idset_add(&d->elders.by_id, e->elder_id, d->elders.count) != 1)
        return -1;
    d->elders.items[d->elders.count++] = *e;
    return 0;
}

int desk_change_put(desk *d, const desk_change *c)
{
    uint64_t i;
    if (cw_idset_get(&d->changes.by_id, c->change_id, &i) == 1) {
        d->changes.items[i] = *c;
        return 0;
    }
    if (cw_grow((void **)&d->changes.items, &d->changes.cap, d->changes.count, sizeof(*c),
                256))
        return -1;
    if (cw_idset_add(&d->changes.by_id, c->change_id, d->changes.count) != 1)
        return -1;
    d->changes.items[d->changes.count++] = *c;
    return 0;
}

int desk_status_put(desk *d, const desk_status_change *c)
{
    if (cw_grow((void **)&d->statuses.items, &d->statuses.cap, d->statuses.count, sizeof(*c),
                256))
        return -1;
    d->statuses.items[d->statuses.count++] = *c;
    return 0;
}

const desk_visit *desk_visit_find(const desk *d, const char *order_id)
{
    uint64_t i;
    return cw_idset_get(&d->visits.by_id, order_id, &i) == 1 ? &d->visits.items[i] : NULL;
}

int desk_visit_merge(desk *d, const desk_visit *v, desk_visit_rec kind)
{
    uint64_t i;
    if (kind == DESK_VISIT_REC_OTHER)
        return 0;
    if (cw_idset_get(&d->visits.by_id, v->order_id, &i) != 1) {
        if (cw_grow((void **)&d->visits.items, &d->visits.cap, d->visits.count, sizeof(*v),
                    256))
            return -1;
        i = d->visits.count;
        if (cw_idset_add(&d->visits.by_id, v->order_id, i) != 1)
            return -1;
        memset(&d->visits.items[i], 0, sizeof(*v));
        memcpy(d->visits.items[i].order_id, v->order_id, sizeof(v->order_id));
        d->visits.count++;
    }
    desk_visit *have = &d->visits.items[i];
    switch (kind) {
    case DESK_VISIT_REC_ASSIGNED: /* a later revision replaces the schedule, whatever the order
                                 its partitions are read in */
        if (have->has_schedule && v->revision < have->revision)
            break;
        have->revision = v->revision;
        memcpy(have->service_type, v->service_type, sizeof(have->service_type));
        have->has_schedule = 1;
        have->scheduled_start = v->scheduled_start;
        have->scheduled_minutes = v->scheduled_minutes;
        break;
    case DESK_VISIT_REC_EVENT: /* the first check-in and check-out are the visit */
        if (v->check_in.present && !have->check_in.present)
            have->check_in = v->check_in;
        if (v->check_out.present && !have->check_out.present)
            have->check_out = v->check_out;
        break;
    case DESK_VISIT_REC_EVIDENCE:
        if (!have->has_evidence) {
            have->has_evidence = 1;
            have->evidence_at = v->evidence_at;
            memcpy(have->photo_sha256, v->photo_sha256, sizeof(have->photo_sha256));
            memcpy(have->recording_sha256, v->recording_sha256, sizeof(have->recording_sha256));
        }
        break;
    case DESK_VISIT_REC_OTHER: break;
    }
    return 0;
}

void desk_books_free(desk *d)
{
    free(d->visits.items);
    cw_idset_free(&d->visits.by_id);
    memset(&d->visits, 0, sizeof(d->visits));
    free(d->changes.items);
    cw_idset_free(&d->changes.by_id);
    free(d->statuses.items);
    memset(&d->changes, 0, sizeof(d->changes));
    memset(&d->statuses, 0, sizeof(d->statuses));
    desk_case_book_free(&d->book);
    free(d->orders.items);
    cw_idset_free(&d->orders.by_id);
    free(d->elders.items);
    cw_idset_free(&d->elders.by_id);
    memset(&d->orders, 0, sizeof(d->orders));
    memset(&d->elders, 0, sizeof(d->elders));
}

