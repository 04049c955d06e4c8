/* The supervision desk's corrections of final orders (orders.corrections,
 * OrderCorrection; correction_rules.h says what each one does). A
 * correction of an order that is final is appended at once as a correcting
 * entry, which before_produce publishes with the batch like any entry; one
 * of an order not final yet is held in the order's dossier and applied
 * before the batch that made the order final is produced. The log says
 * which corrections were applied and which entry is each order's latest
 * (read back at start-up), so neither a restart nor a replay after a Redis
 * loss appends one twice; a replay holds again what Redis lost. The held
 * corrections are kept in Redis by dossier_store.c (cw:lw:d:<order_id>
 * field corr:<correction_id>, and the set cw:lw:held of the orders with
 * held ones). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_records.h"
#include "ledger-writer/correction_rules.h"
#include "ledger-writer/finalized_record.h"
#include "ledger-writer/ledger_writer.h"
#include "log.h"
#include "timeutil.h"

#define INDEX_KEY_MAX 24

static void count(ledger_ctx *c, const char *outcome)
{
    cw_counter_add(c->correction_outcomes, CW_LABELS(outcome), 1);
}

static void index_key(uint64_t index, char *key)
{
    snprintf(key, INDEX_KEY_MAX, "%" PRIu64, index);
}

/* The order's latest entry: its first, then the entries correcting it. 1
 * and *index, or 0 when the order is not final. */
static int latest_entry(const ledger_ctx *c, const char *order_id, uint64_t *index)
{
    if (!cw_idset_get(&c->index, order_id, index))
        return 0;
    char key[INDEX_KEY_MAX];
    uint64_t next;
    for (;;) {
        index_key(*index, key);
        if (!cw_idset_get(&c->corrected, key, &next))
            return 1;
        *index = next;
    }
}

/* An entry as a correction reads it and copies it; strings borrow from
 * the entry. */
typedef struct {
    ledger_entry entry;
    ledger_finalized_order o;
    ledger_corr_latest latest;
} entry_view;

/* Reads entry index into *e (which the caller releases with
 * ledger_entry_release(&e->entry) on success). 0, or -1 logged. */
static int read_entry(ledger_ctx *c, uint64_t index, entry_view *e)
{
    const uint8_t *bytes;
    size_t len;
    memset(e, 0, sizeof(*e));
    if (ledger_entry_read(c, index, &e->entry, &bytes, &len) != 0)
        return -1;
    const cw_order_finalized *r = &e->entry.rec;
    ledger_finalized_order *o = &e->o;
    if (cw_date_parse(r->service_day, &o->service_day) != 0 ||
        ledger_corr_status_parse(cw_order_status_name(r->status), &o->status) != 0 ||
        r->reasons_count > LEDGER_CORR_MAX_REASONS) {
        char at[24];
        snprintf(at, sizeof(at), "%" PRIu64, index);
        cw_log_error("a ledger entry lacks a field", "index", at, NULL);
        ledger_entry_release(&e->entry);
        return -1;
    }
    o->order_id = r->order_id;
    o->provider_id = r->provider_id;
    o->contract_id = r->contract_id;
    o->caregiver_id = r->caregiver_id;
    o->elder_id = r->elder_id;
    o->street_id = r->street_id;
    o->reasons = r->reasons;
    o->reason_count = r->reasons_count;
    o->has_in = r->has_check_in_at;
    o->has_out = r->has_check_out_at;
    o->in_at = r->check_in_at;
    o->out_at = r->check_out_at;
    o->unit_price_cents = r->unit_price_cents;
    o->finalized_at = r->finalized_at;
    o->ledger_index = index;
    o->visits_per_month = r->has_visits_per_month ? r->visits_per_month : 0;
    o->minutes_per_visit = r->has_minutes_per_visit ? r->minutes_per_visit : 0;
    e->latest.status = o->status;
    e->latest.finalized_at = o->finalized_at;
    e->latest.correction_id = r->correction_id;
    e->latest.decided_at = r->decided_at;
    e->latest.corrected = r->has_corrects_index && r->has_decided_at && r->correction_id != NULL;
    return 0;
}

/* Appends x's correcting entry after latest (read into e). CW_OK (also
 * when it is refused, with a reason logged), or CW_FATAL when the disk
 * refused the append or the index cannot hold it: nothing may be published
 * then, and the restart reads the log back. */
static cw_result append_correction(ledger_ctx *c, const ledger_corr_request *x, entry_view *e,
                                   uint64_t latest)
{
    const char *reasons[LEDGER_CORR_MAX_REASONS];
    long n = ledger_corr_reasons(e->o.reasons, e->o.reason_count, x->reason, reasons,
                                 LEDGER_CORR_MAX_REASONS);
    if (n < 0) {
        cw_log_error("a correction would give an entry too many reasons; not applied",
                     "correction_id", x->correction_id, NULL);
        count(c, "refused");
        return CW_OK;
    }
    ledger_finalized_order o = e->o;
    o.status = x->status;
    o.reasons = reasons;
    o.reason_count = (size_t)n;
    o.finalized_at =
        ledger_corr_finalized_at(x->decided_at, e->o.finalized_at, c->finalized_through);
    o.ledger_index = ledger_log_size(c->log);
    o.has_corrects = 1;
    o.corrects_index = latest;
    o.correction_id = x->correction_id;
    o.decided_at = x->decided_at;
    uint8_t *entry = NULL;
    size_t len = 0;
    uint64_t index;
    char err[256], key[INDEX_KEY_MAX];
    if (ledger_finalized_encode(&o, &entry, &len, err, sizeof(err)) != 0) {
        cw_log_error("cannot encode a correcting OrderFinalized; not applied", "correction_id",
                     x->correction_id, "error", err, NULL);
        count(c, "refused");
        return CW_OK;
    }
    if (ledger_log_append(c->log, entry, len, &index, err, sizeof(err)) != 0) {
        cw_log_error("cannot append to the ledger", "error", err, NULL);
        free(entry);
        return CW_FATAL;
    }
    free(entry);
    index_key(latest, key);
    /* Appended: without these it could be appended again (the restart
     * reads the log back). */
    if (cw_idset_add(&c->corrections, x->correction_id, index) < 0 ||
        cw_idset_add(&c->corrected, key, index) < 0) {
        cw_log_error("out of memory after a ledger append", NULL);
        return CW_FATAL;
    }
    char at[24];
    snprintf(at, sizeof(at), "%" PRIu64, index);
    cw_log_info("correcting entry appended", "order_id", x->order_id, "correction_id",
                x->correction_id, "status", ledger_fin_state_name(x->status), "ledger_index", at,
                NULL);
    count(c, "applied");
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
    return CW_OK;
}

/* Applies x to its final order: CW_OK, CW_RETRY (an entry that does not
 * read back) or CW_FATAL (append_correction). */
static cw_result apply(ledger_ctx *c, const ledger_corr_request *x)
{
    uint64_t latest, applied;
    if (cw_idset_get(&c->corrections, x->correction_id, &applied)) {
        count(c, "duplicate");
        return CW_OK;
    }
    if (!latest_entry(c, x->order_id, &latest))
        return CW_OK;
    entry_view e;
    if (read_entry(c, latest, &e) != 0)
        return CW_RETRY;
    cw_result rc = CW_OK;
    ledger_corr_action action = ledger_corr_decide(&e.latest, x);
    if (action == LEDGER_CORR_APPEND) {
        rc = append_correction(c, x, &e, latest);
    } else {
        cw_log_info("correction changes nothing", "order_id", x->order_id, "correction_id",
                    x->correction_id, "outcome", ledger_corr_action_name(action), NULL);
        count(c, action == LEDGER_CORR_SAME_STATUS ? "same_status" : "superseded");
    }
    ledger_entry_release(&e.entry);
    return rc;
}

/* Applies the corrections held in a final order's dossier, in decision
 * order, then forgets them. CW_OK, CW_RETRY or CW_FATAL (apply). */
static cw_result apply_held(ledger_ctx *c, const char *order_id)
{
    redisReply *hash;
    if (ledger_store_dossier(c, order_id, &hash) != CW_OK)
        return CW_RETRY;
    size_t pairs = hash->elements / 2, n = 0, ndel = 0;
    ledger_corr_request *held = calloc(pairs + 1, sizeof(*held));
    const char **del = calloc(pairs + 1, sizeof(*del));
    cw_result rc = held != NULL && del != NULL ? CW_OK : CW_RETRY;
    for (size_t i = 0; rc == CW_OK && i < pairs; i++) {
        const char *field = hash->element[2 * i]->str, *value = hash->element[2 * i + 1]->str;
        if (strncmp(field, LEDGER_CORR_HELD_PREFIX, strlen(LEDGER_CORR_HELD_PREFIX)) != 0)
            continue;
        del[ndel++] = field;
        if (ledger_corr_held_parse(order_id, field, value, &held[n]) == 0)
            n++;
        else
            cw_log_warn("a held correction does not parse; dropped", "order_id", order_id,
                        "field", field, NULL);
    }
    ledger_corr_sort(held, n);
    for (size_t i = 0; rc == CW_OK && i < n; i++)
        rc = apply(c, &held[i]);
    /* Left behind, they are applied again as duplicates. */
    if (rc == CW_OK)
        rc = ledger_store_unhold(c, order_id, del, ndel);
    free(held);
    free(del);
    freeReplyObject(hash);
    return rc;
}

cw_result ledger_apply_held_corrections(ledger_ctx *c)
{
    if (c->held_orders == 0)
        return CW_OK;
    redisReply *members;
    if (ledger_store_held_orders(c, &members) != CW_OK)
        return CW_RETRY;
    long waiting = 0;
    cw_result rc = CW_OK;
    for (size_t i = 0; rc == CW_OK && i < members->elements; i++) {
        uint64_t index;
        const char *order_id = members->element[i]->str;
        if (!cw_idset_get(&c->index, order_id, &index))
            waiting++;
        else
            rc = apply_held(c, order_id);
    }
    if (rc == CW_OK)
        c->held_orders = waiting;
    freeReplyObject(members);
    return rc;
}

/* Keeps x in its order's dossier until the order is final. */
static cw_result hold(ledger_ctx *c, const ledger_corr_request *x)
{
    char field[LEDGER_CORR_ID_MAX + 8], value[LEDGER_CORR_REASON_MAX + 48];
    if (ledger_corr_held_field(x->correction_id, field, sizeof(field)) != 0 ||
        ledger_corr_held_value(x, value, sizeof(value)) != 0 ||
        ledger_store_hold(c, x->order_id, field, value) != CW_OK)
        return CW_RETRY;
    if (c->held_orders >= 0)
        c->held_orders++;
    cw_log_info("correction held until the order is final", "order_id", x->order_id,
                "correction_id", x->correction_id, NULL);
    count(c, "held");
    return CW_OK;
}

cw_result ledger_handle_correction(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out,
                                   char *reason, size_t len)
{
    (void)out;
    cw_order_correction k;
    ledger_corr_request x;
    if (cw_order_correction_read(msg->value, &k) != 0) {
        snprintf(reason, len, "OrderCorrection lacks a field");
        return CW_REJECT;
    }
    /* x copies what it keeps. */
    int made =
        ledger_corr_request_make(&x, k.correction_id, k.order_id, cw_order_status_name(k.status),
                                 k.reason, k.decided_at, reason, len);
    cw_order_correction_release(&k);
    if (made != 0)
        return CW_REJECT;
    uint64_t index;
    if (cw_idset_get(&c->corrections, x.correction_id, &index)) {
        count(c, "duplicate");
        return CW_OK;
    }
    if (!cw_idset_get(&c->index, x.order_id, &index))
        return hold(c, &x);
    /* Those held before it were decided before it. */
    cw_result rc = c->held_orders != 0 ? apply_held(c, x.order_id) : CW_OK;
    return rc == CW_OK ? apply(c, &x) : rc;
}

int ledger_corrections_start(ledger_ctx *c)
{
    c->correction_outcomes = cw_metrics_counter(
        "carewatch_ledger_corrections_total",
        "OrderCorrection records, by outcome (applied, held, same_status, superseded, "
        "duplicate, refused)",
        "outcome");
    c->held_orders = -1;
    uint64_t size = ledger_log_size(c->log), found = 0;
    for (uint64_t i = 0; i < size; i++) {
        const uint8_t *bytes;
        size_t len;
        ledger_entry e;
        char key[INDEX_KEY_MAX];
        if (ledger_entry_read(c, i, &e, &bytes, &len) != 0)
            return -1;
        int64_t corrects = e.rec.corrects_index;
        const char *id = e.rec.correction_id;
        int rc = 0;
        if (e.rec.has_corrects_index) {
            index_key((uint64_t)corrects, key);
            rc = id == NULL || corrects < 0 || (uint64_t)corrects >= i ||
                 cw_idset_add(&c->corrections, id, i) < 0 ||
                 cw_idset_add(&c->corrected, key, i) < 0;
            found++;
        }
        ledger_entry_release(&e);
        if (rc != 0) {
            snprintf(key, sizeof(key), "%" PRIu64, i);
            cw_log_error("a correcting ledger entry cannot be indexed", "index", key, NULL);
            return -1;
        }
    }
    char n[24];
    snprintf(n, sizeof(n), "%" PRIu64, found);
    cw_log_info("correcting entries indexed", "entries", n, NULL);
    return 0;
}
