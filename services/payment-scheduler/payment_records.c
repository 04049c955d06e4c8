#include "payment-scheduler/payment_records.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "avro_records.h"
#include "check_result.h"
#include "payment-scheduler/payment_scheduler.h" /* PAY_SERVICE */
#include "timeutil.h"
#include "topics.h"

/* ---- fields ---------------------------------------------------------------- */

/* Copies an id of 1..PAY_ID_MAX characters (dst: PAY_ID_MAX + 1 bytes). */
static int copy_id(char *dst, const char *src, const char *field, char *reason, size_t len)
{
    size_t n = strlen(src);
    if (n == 0 || n > PAY_ID_MAX) {
        snprintf(reason, len, "%s must have 1 to %d characters", field, PAY_ID_MAX);
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

static int check_id(const char *id, const char *field, char *reason, size_t len)
{
    char copy[PAY_ID_MAX + 1];
    return copy_id(copy, id, field, reason, len);
}

/* An optional account (NULL: null) into dst (PAY_ACCOUNT_MAX + 1 bytes):
 * "" when null. -1 with a reason when it is too long. */
static int copy_account(char *dst, const char *text, const char *field, char *reason,
                        size_t len)
{
    dst[0] = '\0';
    if (text == NULL)
        return 0;
    if (strlen(text) > PAY_ACCOUNT_MAX) {
        snprintf(reason, len, "%s is longer than %d characters", field, PAY_ACCOUNT_MAX);
        return -1;
    }
    snprintf(dst, PAY_ACCOUNT_MAX + 1, "%s", text);
    return 0;
}

static int parse_day(const char *text, const char *field, int64_t *day, char *reason,
                     size_t len)
{
    if (cw_date_parse(text, day) != 0) {
        snprintf(reason, len, "%s is not a YYYY-MM-DD date", field);
        return -1;
    }
    return 0;
}

/* "" is null on the wire. */
static const char *optional(const char *account)
{
    return account[0] != '\0' ? account : NULL;
}

/* ---- reading ------------------------------------------------------------- */

/* A correcting entry names the entry it corrects and its correction. */
static int check_correction(const pay_order *o, char *reason, size_t len)
{
    if (!o->has_corrects)
        return 0;
    if (o->correction_id == NULL || o->correction_id[0] == '\0' ||
        strlen(o->correction_id) > PAY_CORRECTION_ID_MAX || o->corrects_index < 0) {
        snprintf(reason, len, "a correcting OrderFinalized needs a correction_id of 1 to %d "
                 "characters and a corrects_index of 0 or more", PAY_CORRECTION_ID_MAX);
        return -1;
    }
    return 0;
}

static int order_from_record(const cw_order_finalized *f, pay_order *o, char *reason,
                             size_t len)
{
    memset(o, 0, sizeof(*o));
    o->order_id = f->order_id;
    o->provider_id = f->provider_id;
    o->contract_id = f->contract_id;
    o->elder_id = f->elder_id;
    o->valid = f->status == CW_ORDER_STATUS_VALID;
    o->cancelled = f->status == CW_ORDER_STATUS_CANCELLED;
    o->has_duration = f->has_duration_minutes;
    o->duration_minutes = f->duration_minutes;
    o->visits_per_month = f->visits_per_month;
    o->minutes_per_visit = f->minutes_per_visit;
    o->finalized_at = f->finalized_at;
    o->ledger_index = f->ledger_index;
    o->has_corrects = f->has_corrects_index;
    o->corrects_index = f->corrects_index;
    o->correction_id = f->correction_id;
    return check_correction(o, reason, len) || check_id(o->order_id, "order_id", reason, len) ||
                   check_id(o->provider_id, "provider_id", reason, len) ||
                   check_id(o->elder_id, "elder_id", reason, len) ||
                   (o->contract_id != NULL &&
                    check_id(o->contract_id, "contract_id", reason, len)) ||
                   parse_day(f->service_day, "service_day", &o->service_day, reason, len)
               ? -1
               : 0;
}

static int contract_from_record(const cw_contract *r, pay_contract *c, char *reason,
                                size_t len)
{
    memset(c, 0, sizeof(*c));
    c->budget_cents = r->budget_cents;
    c->unit_price_cents = r->unit_price_cents;
    c->prepay_ratio_ppm = r->prepay_ratio_ppm;
    c->invalid_deduction_cents = r->invalid_deduction_cents;
    c->publication_lag_days = r->publication_lag_days;
    c->updated_at = r->updated_at;
    c->historical = r->historical;
    if (copy_id(c->contract_id, r->contract_id, "contract_id", reason, len) ||
        copy_id(c->provider_id, r->provider_id, "provider_id", reason, len) ||
        parse_day(r->period_start, "period_start", &c->period_start, reason, len) ||
        parse_day(r->period_end, "period_end", &c->period_end, reason, len) ||
        copy_account(c->provider_account, r->provider_account, "provider_account", reason,
                     len) ||
        copy_account(c->treasury_account, r->treasury_account, "treasury_account", reason,
                     len))
        return -1;
    return pay_contract_check(c, reason, len);
}

int pay_checkpoint_from_avro(avro_value_t *v, pay_checkpoint *cp, char *reason,
                             size_t reason_len)
{
    avro_value_t field;
    const char *log_id;
    memset(cp, 0, sizeof(*cp));
    /* Absent from the writer's schema: the checkpoint promises nothing. */
    if (cw_av_field(v, "finalized_through", &field) != 0) {
        if (cw_av_get_str(v, "log_id", &log_id) == 0 &&
            cw_av_get_long(v, "tree_size", &cp->tree_size) == 0)
            return 0;
    } else {
        cw_ledger_checkpoint r;
        if (cw_ledger_checkpoint_read(v, &r) == 0) {
            cp->tree_size = r.tree_size;
            cp->has_through = r.has_finalized_through;
            cp->finalized_through = r.finalized_through;
            cw_ledger_checkpoint_release(&r);
            return 0;
        }
    }
    snprintf(reason, reason_len, "LedgerCheckpoint lacks a field");
    return -1;
}

static int statement_from_record(const cw_daily_statement *r, pay_statement *s, char *reason,
                                 size_t len)
{
    memset(s, 0, sizeof(*s));
    s->valid_orders = r->valid_orders;
    s->invalid_orders = r->invalid_orders;
    s->late_valid_orders = r->late_valid_orders;
    s->late_invalid_orders = r->late_invalid_orders;
    s->gross_cents = r->gross_cents;
    s->deduction_cents = r->deduction_cents;
    s->published_at = r->published_at;
    return copy_id(s->contract_id, r->contract_id, "contract_id", reason, len) ||
                   copy_id(s->provider_id, r->provider_id, "provider_id", reason, len) ||
                   parse_day(r->service_day, "service_day", &s->service_day, reason, len)
               ? -1
               : 0;
}

/* A correction's own instruction is "<contract_id>:<KIND>:<correction_id>"
 * where the contract's is "<contract_id>:<KIND>:<period_end>". */
static int read_correction_id(const char *instruction_id, pay_instruction *in, char *reason,
                              size_t len)
{
    char own[PAY_INSTRUCTION_ID_MAX];
    if (in->kind == CW_PAYMENT_KIND_PREPAY ||
        (pay_instruction_id(own, sizeof(own), in->contract_id, in->kind, in->period_end) == 0 &&
         strcmp(own, instruction_id) == 0))
        return 0;
    char prefix[PAY_ID_MAX + 16];
    int n = snprintf(prefix, sizeof(prefix), "%s:%s:", in->contract_id,
                     cw_payment_kind_name(in->kind));
    size_t plen = n > 0 ? (size_t)n : 0;
    if (n < 0 || plen >= sizeof(prefix) || strncmp(instruction_id, prefix, plen) != 0 ||
        instruction_id[plen] == '\0' || strlen(instruction_id + plen) > PAY_CORRECTION_ID_MAX) {
        snprintf(reason, len, "PaymentInstruction id %s is not its contract's", instruction_id);
        return -1;
    }
    snprintf(in->correction_id, sizeof(in->correction_id), "%s", instruction_id + plen);
    return 0;
}

static int instruction_from_record(const cw_payment_instruction *r, pay_instruction *in,
                                   char *reason, size_t len)
{
    memset(in, 0, sizeof(*in));
    in->kind = r->kind;
    in->amount_cents = r->amount_cents;
    in->created_at = r->created_at;
    return copy_id(in->contract_id, r->contract_id, "contract_id", reason, len) ||
                   copy_id(in->provider_id, r->provider_id, "provider_id", reason, len) ||
                   parse_day(r->period_start, "period_start", &in->period_start, reason, len) ||
                   parse_day(r->period_end, "period_end", &in->period_end, reason, len) ||
                   copy_account(in->payer_account, r->payer_account, "payer_account", reason,
                                len) ||
                   copy_account(in->payee_account, r->payee_account, "payee_account", reason,
                                len) ||
                   read_correction_id(r->instruction_id, in, reason, len)
               ? -1
               : 0;
}

/* The records read here, by schema. */
typedef enum { REC_ORDER, REC_CONTRACT, REC_CHECKPOINT, REC_STATEMENT, REC_INSTRUCTION } record;

static const char *const record_names[] = {"OrderFinalized", "Contract", "LedgerCheckpoint",
                                           "DailyStatement", "PaymentInstruction"};

/* The value v of record kind k into *out (a pay_order, pay_contract...):
 * the generated reader, then the conversion. 0, or -1 with a reason. */
static int convert(record k, avro_value_t *v, void *out, char *reason, size_t len)
{
    union {
        cw_order_finalized order;
        cw_contract contract;
        cw_daily_statement statement;
        cw_payment_instruction instruction;
    } r;
    int rc = -1;
    switch (k) {
    case REC_CHECKPOINT:
        return pay_checkpoint_from_avro(v, out, reason, len);
    case REC_ORDER:
        if (cw_order_finalized_read(v, &r.order) != 0)
            break;
        rc = order_from_record(&r.order, out, reason, len);
        cw_order_finalized_release(&r.order);
        return rc;
    case REC_CONTRACT:
        if (cw_contract_read(v, &r.contract) != 0)
            break;
        rc = contract_from_record(&r.contract, out, reason, len);
        cw_contract_release(&r.contract);
        return rc;
    case REC_STATEMENT:
        if (cw_daily_statement_read(v, &r.statement) != 0)
            break;
        rc = statement_from_record(&r.statement, out, reason, len);
        cw_daily_statement_release(&r.statement);
        return rc;
    case REC_INSTRUCTION:
        if (cw_payment_instruction_read(v, &r.instruction) != 0)
            break;
        rc = instruction_from_record(&r.instruction, out, reason, len);
        cw_payment_instruction_release(&r.instruction);
        return rc;
    }
    snprintf(reason, len, "%s lacks a field", record_names[k]);
    return -1;
}

/* Decodes a record of kind k into *v and converts it into *out. On success
 * the caller releases *v; on failure nothing is left to release. */
static int decode(const void *payload, size_t len, record k, avro_value_t *v, void *out,
                  char *reason, size_t reason_len)
{
    const cw_avro_schema *schema;
    char err[200];
    if (payload == NULL || len == 0) {
        snprintf(reason, reason_len, "undecodable: empty value");
        return -1;
    }
    if (cw_avro_decode(payload, len, &schema, v, err, sizeof(err)) != 0) {
        snprintf(reason, reason_len, "undecodable: %s", err);
        return -1;
    }
    if (strcmp(schema->name, record_names[k]) != 0) {
        snprintf(reason, reason_len, "a %s record where %s was expected", schema->name,
                 record_names[k]);
        avro_value_decref(v);
        return -1;
    }
    if (convert(k, v, out, reason, reason_len) != 0) {
        avro_value_decref(v);
        return -1;
    }
    return 0;
}

/* decode for a record whose struct keeps nothing of the value. */
static int read_record(const void *payload, size_t len, record k, void *out, char *reason,
                       size_t reason_len)
{
    avro_value_t v;
    if (decode(payload, len, k, &v, out, reason, reason_len) != 0)
        return -1;
    avro_value_decref(&v);
    return 0;
}

int pay_read_order(const void *payload, size_t len, avro_value_t *value, pay_order *o,
                   char *reason, size_t reason_len)
{
    return decode(payload, len, REC_ORDER, value, o, reason, reason_len);
}

int pay_read_contract(const void *payload, size_t len, pay_contract *c, char *reason,
                      size_t reason_len)
{
    return read_record(payload, len, REC_CONTRACT, c, reason, reason_len);
}

int pay_read_checkpoint(const void *payload, size_t len, pay_checkpoint *cp, char *reason,
                        size_t reason_len)
{
    return read_record(payload, len, REC_CHECKPOINT, cp, reason, reason_len);
}

int pay_read_statement(const void *payload, size_t len, pay_statement *s, char *reason,
                       size_t reason_len)
{
    return read_record(payload, len, REC_STATEMENT, s, reason, reason_len);
}

int pay_read_instruction(const void *payload, size_t len, pay_instruction *in, char *reason,
                         size_t reason_len)
{
    return read_record(payload, len, REC_INSTRUCTION, in, reason, reason_len);
}

/* ---- writing ------------------------------------------------------------- */

/* The records built here, by schema. */
typedef enum { OUT_STATEMENT, OUT_INSTRUCTION, OUT_ALERT } output;

static const struct {
    const char *schema;
    const char *topic;
} outputs[] = {
    [OUT_STATEMENT] = {"DailyStatement", CW_TOPIC_PAYMENT_STATEMENTS},
    [OUT_INSTRUCTION] = {"PaymentInstruction", CW_TOPIC_PAYMENT_INSTRUCTIONS},
    [OUT_ALERT] = {"Alert", CW_TOPIC_ALERTS_FINANCE},
};

/* Encodes rec (a cw_daily_statement, cw_payment_instruction or cw_alert)
 * into the outbox for its topic, keyed by key. 0, or -1 with err. */
static int add_output(cw_outbox *ob, output k, const void *rec, const char *key, char *err,
                      size_t errlen)
{
    const cw_avro_schema *schema = cw_avro_schema_by_name(outputs[k].schema);
    avro_value_t v;
    if (schema == NULL || cw_avro_new_value(schema, &v) != 0) {
        snprintf(err, errlen, "no %s schema", outputs[k].schema);
        return -1;
    }
    int filled = k == OUT_STATEMENT     ? cw_daily_statement_write(&v, rec)
                 : k == OUT_INSTRUCTION ? cw_payment_instruction_write(&v, rec)
                                        : cw_alert_write(&v, rec);
    int rc = -1;
    if (filled == 0)
        rc = cw_outbox_add_avro(ob, outputs[k].topic, key, &v, schema, err, errlen);
    else
        snprintf(err, errlen, "cannot fill %s %s", outputs[k].schema, key);
    avro_value_decref(&v);
    return rc;
}

int pay_outbox_add_statement(cw_outbox *ob, const pay_statement *s, char *err, size_t errlen)
{
    char id[PAY_RECORD_ID_MAX], day[16];
    if (pay_statement_id(id, sizeof(id), s->contract_id, s->service_day) != 0) {
        snprintf(err, errlen, "the statement id of %s does not fit", s->contract_id);
        return -1;
    }
    cw_date_format(s->service_day, day, sizeof(day));
    cw_daily_statement r = {.statement_id = id,
                            .contract_id = s->contract_id,
                            .provider_id = s->provider_id,
                            .service_day = day,
                            .valid_orders = s->valid_orders,
                            .invalid_orders = s->invalid_orders,
                            .gross_cents = s->gross_cents,
                            .deduction_cents = s->deduction_cents,
                            .late_valid_orders = s->late_valid_orders,
                            .late_invalid_orders = s->late_invalid_orders,
                            .published_at = s->published_at};
    return add_output(ob, OUT_STATEMENT, &r, s->contract_id, err, errlen);
}

int pay_outbox_add_instruction(cw_outbox *ob, const pay_instruction *in, char *err,
                               size_t errlen)
{
    char id[PAY_INSTRUCTION_ID_MAX], start[16], end[16];
    if (pay_instruction_record_id(in, id, sizeof(id)) != 0) {
        snprintf(err, errlen, "the instruction id of %s does not fit", in->contract_id);
        return -1;
    }
    cw_date_format(in->period_start, start, sizeof(start));
    cw_date_format(in->period_end, end, sizeof(end));
    cw_payment_instruction r = {.instruction_id = id,
                                .contract_id = in->contract_id,
                                .provider_id = in->provider_id,
                                .kind = in->kind,
                                .amount_cents = in->amount_cents,
                                .period_start = start,
                                .period_end = end,
                                .created_at = in->created_at,
                                .payer_account = optional(in->payer_account),
                                .payee_account = optional(in->payee_account)};
    return add_output(ob, OUT_INSTRUCTION, &r, in->contract_id, err, errlen);
}

int pay_month_subject(const pay_month_verdict *v, char *buf, size_t len)
{
    char day[16];
    cw_date_format(v->month_first_day, day, sizeof(day));
    int n = snprintf(buf, len, "%s:%.7s", v->elder_id, day);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int pay_outbox_add_month_verdict(cw_outbox *ob, const pay_month_verdict *v, char *err,
                                 size_t errlen)
{
    char subject[PAY_ID_MAX + 16];
    if (pay_month_subject(v, subject, sizeof(subject)) != 0) {
        snprintf(err, errlen, "UNDER_SERVED subject of %s does not fit", v->elder_id);
        return -1;
    }
    cw_verdict verdict = {.outcome = v->under_served ? CW_OUTCOME_ORANGE : CW_OUTCOME_PASS,
                          .has_measured = 1,
                          .measured = v->valid_orders,
                          .has_threshold = v->visits_per_month > 0,
                          .threshold = v->visits_per_month,
                          .unit = "visits"};
    if (cw_check_emit_verdict(ob, PAY_SERVICE, subject, "UNDER_SERVED", &verdict, subject, "",
                              NULL, v->at) != 0) {
        snprintf(err, errlen, "cannot add the UNDER_SERVED verdict of %s", subject);
        return -1;
    }
    return 0;
}

int pay_outbox_add_budget_alert(cw_outbox *ob, const pay_budget_alert *b, char *err,
                                size_t errlen)
{
    const char *rule = pay_budget_rule(b->level);
    int exceeded = b->level == PAY_BUDGET_EXCEEDED;
    char alert_id[PAY_RECORD_ID_MAX], statement[PAY_RECORD_ID_MAX], consumed[32], limit[32],
        budget[32], zh[512], en[512];
    if (pay_statement_id(statement, sizeof(statement), b->contract_id, b->service_day) != 0) {
        snprintf(err, errlen, "the statement id of %s does not fit", b->contract_id);
        return -1;
    }
    pay_format_yuan(consumed, sizeof(consumed), b->consumed_cents);
    pay_format_yuan(limit, sizeof(limit), b->threshold_cents);
    pay_format_yuan(budget, sizeof(budget), b->budget_cents);
    snprintf(alert_id, sizeof(alert_id), "%s:%s", b->contract_id, rule);
    snprintf(zh, sizeof(zh), "合同 %s（承接方 %s）已结算支出 %s 元，%s %s 元（预算 %s 元）（%s）",
             b->contract_id, b->provider_id, consumed, exceeded ? "超过预算" : "超过预算的 80%，即",
             limit, budget, exceeded ? "超预算支出" : "预算预警");
    snprintf(en, sizeof(en),
             "Contract %s (provider %s) has consumed %s yuan, more than %s %s yuan (budget %s "
             "yuan)",
             b->contract_id, b->provider_id, consumed, exceeded ? "its budget of" : "80 % of it,",
             limit, budget);
    cw_alert a = {.alert_id = alert_id,
                  .order_id = statement,
                  .rule = rule,
                  .colour = exceeded ? CW_COLOUR_RED : CW_COLOUR_ORANGE,
                  .street_id = "",
                  .community_id = "",
                  .provider_id = b->provider_id,
                  .caregiver_id = "",
                  .elder_id = "",
                  .has_measured = 1,
                  .measured = (double)b->consumed_cents / 100.0,
                  .has_threshold = 1,
                  .threshold = (double)b->threshold_cents / 100.0,
                  .at = b->at,
                  .raised_at = b->at,
                  .message_zh = zh,
                  .message_en = en};
    return add_output(ob, OUT_ALERT, &a, b->contract_id, err, errlen);
}
