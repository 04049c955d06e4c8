/* The supervision desk's corrections of final orders (orders.corrections,
 * OrderCorrection; correction_rules.h says what each one does). A
 * correction of an order that is final is appended at once as a correcting
 * entry, which before_produce publishes with the batch like any entry; one
 * of an order not final yet is held in the order's dossier and applied by
 * the tick once the order is final. The log says which corrections were
 * applied and which entry is each order's latest (read back at start-up),
 * so neither a restart nor a replay after a Redis loss appends one twice;
 * a replay holds again what Redis lost.
 *
 *   cw:lw:d:<order_id>  field corr:<correction_id>   a held correction
 *   cw:lw:held                                       orders with held ones
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_fields.h"
#include "correction_rules.h"
#include "finalized_record.h"
#include "ledger_writer.h"
#include "log.h"
#include "redis_keys.h"
#include "timeutil.h"

#define DOSSIER_KEY "cw:lw:d:%s"
#define HELD_KEY "cw:lw:held"
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

/* A field the writer's schema may not have (entries written before it
 * existed) reads as null. */
static int opt_long(avro_value_t *v, const char *field, int *has, int64_t *out)
{
    avro_value_t f;
    *has = 0;
    *out = 0;
    return cw_av_field(v, field, &f) != 0 ? 0 : cw_av_get_opt_long(v, field, has, out);
}

static int opt_int(avro_value_t *v, const char *field, int32_t *out)
{
    avro_value_t f;
    int has;
    *out = 0;
    return cw_av_field(v, field, &f) != 0 ? 0 : cw_av_get_opt_int(v, field, &has, out);
}

static int opt_str(avro_value_t *v, const char *field, const char **out)
{
    avro_value_t f;
    *out = NULL;
    return cw_av_field(v, field, &f) != 0 ? 0 : cw_av_get_opt_str(v, field, out);
}

/* An entry as a correction reads it and copies it; strings borrow from v. */
typedef struct {
    avro_value_t v;
    finalized_order o;
    const char *reasons[CORR_MAX_REASONS];
    corr_latest latest;
} entry_view;

/* Decodes entry index into *e (which the caller releases with
 * avro_value_decref(&e->v) on success). 0, or -1 logged. */
static int read_entry(ledger_ctx *c, uint64_t index, entry_view *e)
{
    const uint8_t *bytes;
    size_t len, reasons = 0;
    const cw_avro_schema *s;
    const char *day, *status;
    char err[256] = "";
    memset(e, 0, sizeof(*e));
    if (ledger_log_entry(c->log, index, &bytes, &len) != 0 ||
        cw_avro_decode(bytes, len, &s, &e->v, err, sizeof(err)) != 0) {
        cw_log_error("a ledger entry does not decode", "error", err, NULL);
        return -1;
    }
    finalized_order *o = &e->o;
    int64_t in_at, out_at, corrects;
    int has_corrects, has_decided;
    int32_t visits, minutes;
    int bad = cw_av_get_str(&e->v, "order_id", &o->order_id) ||
              cw_av_get_str(&e->v, "provider_id", &o->provider_id) ||
              cw_av_get_opt_str(&e->v, "contract_id", &o->contract_id) ||
              cw_av_get_str(&e->v, "caregiver_id", &o->caregiver_id) ||
              cw_av_get_str(&e->v, "elder_id", &o->elder_id) ||
              cw_av_get_str(&e->v, "street_id", &o->street_id) ||
              cw_av_get_str(&e->v, "service_day", &day) || cw_date_parse(day, &o->service_day) ||
              cw_av_get_enum(&e->v, "status", &status) ||
              corr_status_parse(status, &o->status) ||
              cw_av_get_array_size(&e->v, "reasons", &reasons) || reasons > CORR_MAX_REASONS ||
              cw_av_get_opt_long(&e->v, "check_in_at", &o->has_in, &in_at) ||
              cw_av_get_opt_long(&e->v, "check_out_at", &o->has_out, &out_at) ||
              cw_av_get_long(&e->v, "unit_price_cents", &o->unit_price_cents) ||
              cw_av_get_long(&e->v, "finalized_at", &o->finalized_at) ||
              opt_int(&e->v, "visits_per_month", &visits) ||
              opt_int(&e->v, "minutes_per_visit", &minutes) ||
              opt_long(&e->v, "corrects_index", &has_corrects, &corrects) ||
              opt_str(&e->v, "correction_id", &e->latest.correction_id) ||
              opt_long(&e->v, "decided_at", &has_decided, &e->latest.decided_at);
    for (size_t i = 0; !bad && i < reasons; i++)
        bad = cw_av_get_str_at(&e->v, "reasons", i, &e->reasons[i]);
    if (bad) {
        char at[24];
        snprintf(at, sizeof(at), "%" PRIu64, index);
        cw_log_error("a ledger entry lacks a field", "index", at, NULL);
        avro_value_decref(&e->v);
        return -1;
    }
    o->reasons = e->reasons;
    o->reason_count = reasons;
    o->in_at = in_at;
    o->out_at = out_at;
    o->ledger_index = index;
    o->visits_per_month = visits;
    o->minutes_per_visit = minutes;
    e->latest.status = o->status;
    e->latest.finalized_at = o->finalized_at;
    e->latest.corrected = has_corrects && has_decided && e->latest.correction_id != NULL;
    return 0;
}

/* Appends x's correcting entry after latest (read into e). */
static void append_correction(ledger_ctx *c, const corr_request *x, entry_view *e,
                              uint64_t latest)
{
    const char *reasons[CORR_MAX_REASONS];
    long n = corr_reasons(e->o.reasons, e->o.reason_count, x->reason, reasons,
                          CORR_MAX_REASONS);
    if (n < 0) {
        cw_log_error("a correction would give an entry too many reasons; not applied",
                     "correction_id", x->correction_id, NULL);
        count(c, "refused");
        return;
    }
    finalized_order o = e->o;
    o.status = x->status;
    o.reasons = reasons;
    o.reason_count = (size_t)n;
    o.finalized_at = corr_finalized_at(x->decided_at, e->o.finalized_at, c->finalized_through);
    o.ledger_index = ledger_log_size(c->log);
    o.has_corrects = 1;
    o.corrects_index = latest;
    o.correction_id = x->correction_id;
    o.decided_at = x->decided_at;
    uint8_t *entry = NULL;
    size_t len = 0;
    uint64_t index;
    char err[256], key[INDEX_KEY_MAX];
    if (finalized_encode(&o, &entry, &len, err, sizeof(err)) != 0) {
        cw_log_error("cannot encode a correcting OrderFinalized; not applied", "correction_id",
                     x->correction_id, "error", err, NULL);
        count(c, "refused");
        return;
    }
    if (ledger_log_append(c->log, entry, len, &index, err, sizeof(err)) != 0) {
        /* As finalize: nothing the disk refused may be published. */
        cw_log_error("cannot append to the ledger; stopping", "error", err, NULL);
        free(entry);
        exit(1);
    }
    free(entry);
    index_key(latest, key);
    /* Appended: without these it could be appended again (the restart
     * reads the log back). */
    if (cw_idset_add(&c->corrections, x->correction_id, index) < 0 ||
        cw_idset_add(&c->corrected, key, index) < 0) {
        cw_log_error("out of memory after a ledger append; stopping", NULL);
        exit(1);
    }
    char at[24];
    snprintf(at, sizeof(at), "%" PRIu64, index);
    cw_log_info("correcting entry appended", "order_id", x->order_id, "correction_id",
                x->correction_id, "status", fin_state_name(x->status), "ledger_index", at, NULL);
    count(c, "applied");
    cw_gauge_set(c->size, NULL, (double)ledger_log_size(c->log));
}

/* Applies x to its final order. 0, or -1 (an entry that does not decode). */
static int apply(ledger_ctx *c, const corr_request *x)
{
    uint64_t latest, applied;
    if (cw_idset_get(&c->corrections, x->correction_id, &applied)) {
        count(c, "duplicate");
        return 0;
    }
    if (!latest_entry(c, x->order_id, &latest))
        return 0;
    entry_view e;
    if (read_entry(c, latest, &e) != 0)
        return -1;
    corr_action action = corr_decide(&e.latest, x);
    if (action == CORR_APPEND) {
        append_correction(c, x, &e, latest);
    } else {
        cw_log_info("correction changes nothing", "order_id", x->order_id, "correction_id",
                    x->correction_id, "outcome", corr_action_name(action), NULL);
        count(c, action == CORR_SAME_STATUS ? "same_status" : "superseded");
    }
    avro_value_decref(&e.v);
    return 0;
}

/* Applies the corrections held in a final order's dossier, in decision
 * order, then forgets them. CW_OK or CW_RETRY. */
static int apply_held(ledger_ctx *c, const char *order_id)
{
    char key[CW_KEY_MAX];
    snprintf(key, sizeof(key), DOSSIER_KEY, order_id);
    const char *hgetall[] = {"HGETALL", key};
    redisReply *hash = cw_redis_cmd(c->ck->redis, 2, hgetall);
    if (hash == NULL || hash->type != REDIS_REPLY_ARRAY) {
        if (hash)
            freeReplyObject(hash);
        return CW_RETRY;
    }
    size_t pairs = hash->elements / 2, n = 0;
    corr_request *held = calloc(pairs + 1, sizeof(*held));
    const char **del = calloc(pairs + 3, sizeof(*del));
    int rc = held != NULL && del != NULL ? CW_OK : CW_RETRY;
    size_t ndel = 2;
    for (size_t i = 0; rc == CW_OK && i < pairs; i++) {
        const char *field = hash->element[2 * i]->str, *value = hash->element[2 * i + 1]->str;
        if (strncmp(field, CORR_HELD_PREFIX, strlen(CORR_HELD_PREFIX)) != 0)
            continue;
        del[ndel++] = field;
        if (corr_held_parse(order_id, field, value, &held[n]) == 0)
            n++;
        else
            cw_log_warn("a held correction does not parse; dropped", "order_id", order_id,
                        "field", field, NULL);
    }
    corr_sort(held, n);
    for (size_t i = 0; rc == CW_OK && i < n; i++)
        if (apply(c, &held[i]) != 0)
            rc = CW_RETRY;
    if (rc == CW_OK) {
        del[0] = "HDEL";
        del[1] = key;
        const char *srem[] = {"SREM", HELD_KEY, order_id};
        redisReply *r1 = ndel > 2 ? cw_redis_cmd(c->ck->redis, (int)ndel, del) : NULL;
        redisReply *r2 = cw_redis_cmd(c->ck->redis, 3, srem);
        /* Left behind, they are applied again as duplicates. */
        if (r2 == NULL || (ndel > 2 && r1 == NULL))
            rc = CW_RETRY;
        if (r1)
            freeReplyObject(r1);
        if (r2)
            freeReplyObject(r2);
    }
    free(held);
    free(del);
    freeReplyObject(hash);
    return rc;
}

int lw_apply_held_corrections(ledger_ctx *c)
{
    if (c->held_orders == 0)
        return CW_OK;
    const char *argv[] = {"SMEMBERS", HELD_KEY};
    redisReply *members = cw_redis_cmd(c->ck->redis, 2, argv);
    if (members == NULL || members->type != REDIS_REPLY_ARRAY) {
        if (members)
            freeReplyObject(members);
        return CW_RETRY;
    }
    long waiting = 0;
    int rc = CW_OK;
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
static int hold(ledger_ctx *c, const corr_request *x)
{
    char key[CW_KEY_MAX], field[CORR_ID_MAX + 8], value[CORR_REASON_MAX + 48];
    snprintf(key, sizeof(key), DOSSIER_KEY, x->order_id);
    if (corr_held_field(x->correction_id, field, sizeof(field)) != 0 ||
        corr_held_value(x, value, sizeof(value)) != 0)
        return CW_RETRY;
    const char *hset[] = {"HSET", key, field, value};
    const char *sadd[] = {"SADD", HELD_KEY, x->order_id};
    cw_redis_batch b = {0};
    cw_redis_batch_add(&b, 4, hset);
    cw_redis_batch_add(&b, 3, sadd);
    if (cw_redis_batch_exec(c->ck->redis, &b) != 0)
        return CW_RETRY;
    if (c->held_orders >= 0)
        c->held_orders++;
    cw_log_info("correction held until the order is final", "order_id", x->order_id,
                "correction_id", x->correction_id, NULL);
    count(c, "held");
    return CW_OK;
}

int lw_handle_correction(ledger_ctx *c, const cw_stream_msg *msg, cw_outbox *out, char *reason,
                         size_t len)
{
    (void)out;
    const char *correction_id, *order_id, *status, *why_code;
    int64_t decided_at;
    avro_value_t *v = msg->value;
    if (cw_av_get_str(v, "correction_id", &correction_id) ||
        cw_av_get_str(v, "order_id", &order_id) || cw_av_get_enum(v, "status", &status) ||
        cw_av_get_str(v, "reason", &why_code) || cw_av_get_long(v, "decided_at", &decided_at)) {
        snprintf(reason, len, "OrderCorrection lacks a field");
        return CW_REJECT;
    }
    corr_request x;
    if (corr_request_make(&x, correction_id, order_id, status, why_code, decided_at, reason,
                          len) != 0)
        return CW_REJECT;
    uint64_t index;
    if (cw_idset_get(&c->corrections, x.correction_id, &index)) {
        count(c, "duplicate");
        return CW_OK;
    }
    if (!cw_idset_get(&c->index, x.order_id, &index))
        return hold(c, &x);
    /* Those held before it were decided before it. */
    if (c->held_orders != 0 && apply_held(c, x.order_id) != CW_OK)
        return CW_RETRY;
    return apply(c, &x) == 0 ? CW_OK : CW_RETRY;
}

int lw_corrections_start(ledger_ctx *c)
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
        const cw_avro_schema *s;
        avro_value_t v;
        char err[256] = "", key[INDEX_KEY_MAX];
        if (ledger_log_entry(c->log, i, &bytes, &len) != 0 ||
            cw_avro_decode(bytes, len, &s, &v, err, sizeof(err)) != 0) {
            cw_log_error("a ledger entry does not decode", "error", err, NULL);
            return -1;
        }
        int has;
        int64_t corrects;
        const char *id = NULL;
        int rc = opt_long(&v, "corrects_index", &has, &corrects) ||
                 opt_str(&v, "correction_id", &id);
        if (rc == 0 && has) {
            index_key((uint64_t)corrects, key);
            rc = id == NULL || corrects < 0 || (uint64_t)corrects >= i ||
                 cw_idset_add(&c->corrections, id, i) < 0 ||
                 cw_idset_add(&c->corrected, key, i) < 0;
            found++;
        }
        avro_value_decref(&v);
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
