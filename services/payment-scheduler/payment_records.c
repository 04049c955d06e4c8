#include "payment_records.h"

#include <stdio.h>
#include <string.h>

#include "avro_codec.h"
#include "check_result.h"
#include "timeutil.h"
#include "topics.h"

/* Copies an id of 1..PAY_ID_MAX characters. */
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

/* An optional account field into dst (PAY_ACCOUNT_MAX + 1 bytes): "" when
 * null or when the writer's schema has no such field (written before the
 * accounts existed). -1 with a reason when it is too long. */
static int read_account(avro_value_t *v, const char *field, char *dst, char *reason, size_t len)
{
    avro_value_t f;
    const char *text = NULL;
    dst[0] = '\0';
    if (cw_av_field(v, field, &f) != 0)
        return 0;
    if (cw_av_get_opt_str(v, field, &text) != 0) {
        snprintf(reason, len, "%s is not a string", field);
        return -1;
    }
    if (text == NULL)
        return 0;
    if (strlen(text) > PAY_ACCOUNT_MAX) {
        snprintf(reason, len, "%s is longer than %d characters", field, PAY_ACCOUNT_MAX);
        return -1;
    }
    snprintf(dst, PAY_ACCOUNT_MAX + 1, "%s", text);
    return 0;
}

/* Contract.historical; false when the writer's schema has no such field. */
static int read_historical(avro_value_t *v, int *historical, char *reason, size_t len)
{
    avro_value_t f;
    *historical = 0;
    if (cw_av_field(v, "historical", &f) != 0)
        return 0;
    if (cw_av_get_bool(v, "historical", historical) != 0) {
        snprintf(reason, len, "historical is not a boolean");
        return -1;
    }
    return 0;
}

static int read_day(avro_value_t *v, const char *field, int64_t *day, char *reason, size_t len)
{
    const char *text;
    if (cw_av_get_str(v, field, &text) != 0 || cw_date_parse(text, day) != 0) {
        snprintf(reason, len, "%s is not a YYYY-MM-DD date", field);
        return -1;
    }
    return 0;
}

/* corrects_index and correction_id: null, or absent from the writer's
 * schema (entries written before corrections existed), for a first entry. */
static int read_correction(avro_value_t *v, pay_order *o, char *reason, size_t len)
{
    avro_value_t f;
    if (cw_av_field(v, "corrects_index", &f) != 0)
        return 0;
    if (cw_av_get_opt_long(v, "corrects_index", &o->has_corrects, &o->corrects_index) != 0 ||
        cw_av_get_opt_str(v, "correction_id", &o->correction_id) != 0) {
        snprintf(reason, len, "OrderFinalized corrects_index or correction_id is malformed");
        return -1;
    }
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

int pay_order_from_avro(avro_value_t *v, pay_order *o, char *reason, size_t reason_len)
{
    const char *status;
    int has_visits, has_minutes;
    memset(o, 0, sizeof(*o));
    if (cw_av_get_str(v, "order_id", &o->order_id) ||
        cw_av_get_str(v, "provider_id", &o->provider_id) ||
        cw_av_get_str(v, "elder_id", &o->elder_id) ||
        cw_av_get_opt_int(v, "duration_minutes", &o->has_duration, &o->duration_minutes) ||
        cw_av_get_opt_int(v, "visits_per_month", &has_visits, &o->visits_per_month) ||
        cw_av_get_opt_int(v, "minutes_per_visit", &has_minutes, &o->minutes_per_visit) ||
        cw_av_get_opt_str(v, "contract_id", &o->contract_id) ||
        cw_av_get_enum(v, "status", &status) ||
        cw_av_get_long(v, "finalized_at", &o->finalized_at) ||
        cw_av_get_long(v, "ledger_index", &o->ledger_index)) {
        snprintf(reason, reason_len, "OrderFinalized lacks a field");
        return -1;
    }
    if (read_correction(v, o, reason, reason_len) ||
        check_id(o->order_id, "order_id", reason, reason_len) ||
        check_id(o->provider_id, "provider_id", reason, reason_len) ||
        check_id(o->elder_id, "elder_id", reason, reason_len) ||
        (o->contract_id != NULL && check_id(o->contract_id, "contract_id", reason, reason_len)) ||
        read_day(v, "service_day", &o->service_day, reason, reason_len))
        return -1;
    o->valid = strcmp(status, "VALID") == 0;
    o->cancelled = strcmp(status, "CANCELLED") == 0;
    return 0;
}

int pay_contract_from_avro(avro_value_t *v, pay_contract *c, char *reason, size_t reason_len)
{
    const char *contract_id, *provider_id;
    memset(c, 0, sizeof(*c));
    if (cw_av_get_str(v, "contract_id", &contract_id) ||
        cw_av_get_str(v, "provider_id", &provider_id) ||
        cw_av_get_long(v, "budget_cents", &c->budget_cents) ||
        cw_av_get_long(v, "unit_price_cents", &c->unit_price_cents) ||
        cw_av_get_int(v, "prepay_ratio_ppm", &c->prepay_ratio_ppm) ||
        cw_av_get_long(v, "invalid_deduction_cents", &c->invalid_deduction_cents) ||
        cw_av_get_int(v, "publication_lag_days", &c->publication_lag_days) ||
        cw_av_get_long(v, "updated_at", &c->updated_at)) {
        snprintf(reason, reason_len, "Contract lacks a field");
        return -1;
    }
    if (copy_id(c->contract_id, contract_id, "contract_id", reason, reason_len) ||
        copy_id(c->provider_id, provider_id, "provider_id", reason, reason_len) ||
        read_day(v, "period_start", &c->period_start, reason, reason_len) ||
        read_day(v, "period_end", &c->period_end, reason, reason_len) ||
        read_historical(v, &c->historical, reason, reason_len) ||
        read_account(v, "provider_account", c->provider_account, reason, reason_len) ||
        read_account(v, "treasury_account", c->treasury_account, reason, reason_len))
        return -1;
    return pay_contract_check(c, reason, reason_len);
}

int pay_checkpoint_from_avro(avro_value_t *v, pay_checkpoint *cp, char *reason,
                             size_t reason_len)
{
    const char *log_id;
    avro_value_t field;
    memset(cp, 0, sizeof(*cp));
    if (cw_av_get_str(v, "log_id", &log_id) || cw_av_get_long(v, "tree_size", &cp->tree_size)) {
        snprintf(reason, reason_len, "LedgerCheckpoint lacks a field");
        return -1;
    }
    /* Absent from the writer's schema: the checkpoint promises nothing. */
    if (cw_av_field(v, "finalized_through", &field) != 0)
        return 0;
    if (cw_av_get_opt_long(v, "finalized_through", &cp->has_through,
                           &cp->finalized_through) != 0) {
        snprintf(reason, reason_len, "LedgerCheckpoint finalized_through is not a timestamp");
        return -1;
    }
    return 0;
}

int pay_statement_from_avro(avro_value_t *v, pay_statement *s, char *reason, size_t reason_len)
{
    const char *contract_id, *provider_id;
    memset(s, 0, sizeof(*s));
    if (cw_av_get_str(v, "contract_id", &contract_id) ||
        cw_av_get_str(v, "provider_id", &provider_id) ||
        cw_av_get_int(v, "valid_orders", &s->valid_orders) ||
        cw_av_get_int(v, "invalid_orders", &s->invalid_orders) ||
        cw_av_get_int(v, "late_valid_orders", &s->late_valid_orders) ||
        cw_av_get_int(v, "late_invalid_orders", &s->late_invalid_orders) ||
        cw_av_get_long(v, "gross_cents", &s->gross_cents) ||
        cw_av_get_long(v, "deduction_cents", &s->deduction_cents) ||
        cw_av_get_long(v, "published_at", &s->published_at)) {
        snprintf(reason, reason_len, "DailyStatement lacks a field");
        return -1;
    }
    return copy_id(s->contract_id, contract_id, "contract_id", reason, reason_len) ||
                   copy_id(s->provider_id, provider_id, "provider_id", reason, reason_len) ||
                   read_day(v, "service_day", &s->service_day, reason, reason_len)
               ? -1
               : 0;
}

/* A correction's own instruction is "<contract_id>:<KIND>:<correction_id>"
 * where the contract's is "<contract_id>:<KIND>:<period_end>". */
static int read_correction_id(const char *instruction_id, pay_instruction *in, char *reason,
                              size_t len)
{
    char own[PAY_INSTRUCTION_ID_MAX];
    if (in->kind == PAY_PREPAY ||
        (pay_instruction_id(own, sizeof(own), in->contract_id, in->kind, in->period_end) == 0 &&
         strcmp(own, instruction_id) == 0))
        return 0;
    char prefix[PAY_ID_MAX + 16];
    int n = snprintf(prefix, sizeof(prefix), "%s:%s:", in->contract_id, pay_kind_name(in->kind));
    size_t plen = n > 0 ? (size_t)n : 0;
    if (n < 0 || plen >= sizeof(prefix) || strncmp(instruction_id, prefix, plen) != 0 ||
        instruction_id[plen] == '\0' || strlen(instruction_id + plen) > PAY_CORRECTION_ID_MAX) {
        snprintf(reason, len, "PaymentInstruction id %s is not its contract's", instruction_id);
        return -1;
    }
    snprintf(in->correction_id, sizeof(in->correction_id), "%s", instruction_id + plen);
    return 0;
}

int pay_instruction_from_avro(avro_value_t *v, pay_instruction *in, char *reason,
                              size_t reason_len)
{
    const char *contract_id, *provider_id, *kind, *instruction_id;
    memset(in, 0, sizeof(*in));
    if (cw_av_get_str(v, "instruction_id", &instruction_id) ||
        cw_av_get_str(v, "contract_id", &contract_id) ||
        cw_av_get_str(v, "provider_id", &provider_id) || cw_av_get_enum(v, "kind", &kind) ||
        cw_av_get_long(v, "amount_cents", &in->amount_cents) ||
        cw_av_get_long(v, "created_at", &in->created_at) || pay_kind_parse(kind, &in->kind)) {
        snprintf(reason, reason_len, "PaymentInstruction lacks a field");
        return -1;
    }
    return copy_id(in->contract_id, contract_id, "contract_id", reason, reason_len) ||
                   copy_id(in->provider_id, provider_id, "provider_id", reason, reason_len) ||
                   read_day(v, "period_start", &in->period_start, reason, reason_len) ||
                   read_day(v, "period_end", &in->period_end, reason, reason_len) ||
                   read_account(v, "payer_account", in->payer_account, reason, reason_len) ||
                   read_account(v, "payee_account", in->payee_account, reason, reason_len) ||
                   read_correction_id(instruction_id, in, reason, reason_len)
               ? -1
               : 0;
}

/* Decodes a record of the schema named want into *v. */
static int decode(const void *payload, size_t len, const char *want, avro_value_t *v,
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
    if (strcmp(schema->name, want) != 0) {
        snprintf(reason, reason_len, "a %s record where %s was expected", schema->name, want);
        avro_value_decref(v);
        return -1;
    }
    return 0;
}

int pay_read_order(const void *payload, size_t len, avro_value_t *value, pay_order *o,
                   char *reason, size_t reason_len)
{
    if (decode(payload, len, "OrderFinalized", value, reason, reason_len) != 0)
        return -1;
    if (pay_order_from_avro(value, o, reason, reason_len) != 0) {
        avro_value_decref(value);
        return -1;
    }
    return 0;
}

int pay_read_contract(const void *payload, size_t len, pay_contract *c, char *reason,
                      size_t reason_len)
{
    avro_value_t v;
    if (decode(payload, len, "Contract", &v, reason, reason_len) != 0)
        return -1;
    int rc = pay_contract_from_avro(&v, c, reason, reason_len);
    avro_value_decref(&v);
    return rc;
}

int pay_read_checkpoint(const void *payload, size_t len, pay_checkpoint *cp, char *reason,
                        size_t reason_len)
{
    avro_value_t v;
    if (decode(payload, len, "LedgerCheckpoint", &v, reason, reason_len) != 0)
        return -1;
    int rc = pay_checkpoint_from_avro(&v, cp, reason, reason_len);
    avro_value_decref(&v);
    return rc;
}

int pay_read_statement(const void *payload, size_t len, pay_statement *s, char *reason,
                       size_t reason_len)
{
    avro_value_t v;
    if (decode(payload, len, "DailyStatement", &v, reason, reason_len) != 0)
        return -1;
    int rc = pay_statement_from_avro(&v, s, reason, reason_len);
    avro_value_decref(&v);
    return rc;
}

int pay_read_instruction(const void *payload, size_t len, pay_instruction *in, char *reason,
                         size_t reason_len)
{
    avro_value_t v;
    if (decode(payload, len, "PaymentInstruction", &v, reason, reason_len) != 0)
        return -1;
    int rc = pay_instruction_from_avro(&v, in, reason, reason_len);
    avro_value_decref(&v);
    return rc;
}

int pay_outbox_add_statement(cw_outbox *ob, const pay_statement *s, char *err, size_t errlen)
{
    const cw_avro_schema *schema = cw_avro_schema_by_name("DailyStatement");
    char id[PAY_RECORD_ID_MAX], day[16];
    avro_value_t v;
    if (schema == NULL || cw_avro_new_value(schema, &v) != 0) {
        snprintf(err, errlen, "no DailyStatement schema");
        return -1;
    }
    cw_date_format(s->service_day, day, sizeof(day));
    int rc = -1;
    if (pay_statement_id(id, sizeof(id), s->contract_id, s->service_day) == 0 &&
        cw_av_set_str(&v, "statement_id", id) == 0 &&
        cw_av_set_str(&v, "contract_id", s->contract_id) == 0 &&
        cw_av_set_str(&v, "provider_id", s->provider_id) == 0 &&
        cw_av_set_str(&v, "service_day", day) == 0 &&
        cw_av_set_int(&v, "valid_orders", s->valid_orders) == 0 &&
        cw_av_set_int(&v, "invalid_orders", s->invalid_orders) == 0 &&
        cw_av_set_long(&v, "gross_cents", s->gross_cents) == 0 &&
        cw_av_set_long(&v, "deduction_cents", s->deduction_cents) == 0 &&
        cw_av_set_int(&v, "late_valid_orders", s->late_valid_orders) == 0 &&
        cw_av_set_int(&v, "late_invalid_orders", s->late_invalid_orders) == 0 &&
        cw_av_set_long(&v, "published_at", s->published_at) == 0)
        rc = cw_outbox_add_avro(ob, CW_TOPIC_PAYMENT_STATEMENTS, s->contract_id, &v, schema, err,
                                errlen);
    else
        snprintf(err, errlen, "cannot fill DailyStatement %s", s->contract_id);
    avro_value_decref(&v);
    return rc;
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
    if (cw_check_emit_verdict(ob, "payment-scheduler", subject, "UNDER_SERVED", &verdict,
                              subject, "", NULL, v->at) != 0) {
        snprintf(err, errlen, "cannot add the UNDER_SERVED verdict of %s", subject);
        return -1;
    }
    return 0;
}

int pay_outbox_add_budget_alert(cw_outbox *ob, const pay_budget_alert *b, char *err,
                                size_t errlen)
{
    const cw_avro_schema *schema = cw_avro_schema_by_name("Alert");
    const char *rule = pay_budget_rule(b->level);
    int exceeded = b->level == PAY_BUDGET_EXCEEDED;
    char alert_id[PAY_RECORD_ID_MAX], statement[PAY_RECORD_ID_MAX], consumed[32], limit[32],
        budget[32], zh[512], en[512];
    avro_value_t v;
    if (schema == NULL || cw_avro_new_value(schema, &v) != 0) {
        snprintf(err, errlen, "no Alert schema");
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
    int rc = -1;
    if (pay_statement_id(statement, sizeof(statement), b->contract_id, b->service_day) == 0 &&
        cw_av_set_str(&v, "alert_id", alert_id) == 0 &&
        cw_av_set_str(&v, "order_id", statement) == 0 && cw_av_set_str(&v, "rule", rule) == 0 &&
        cw_av_set_enum(&v, "colour", exceeded ? "RED" : "ORANGE") == 0 &&
        cw_av_set_str(&v, "street_id", "") == 0 && cw_av_set_str(&v, "community_id", "") == 0 &&
        cw_av_set_str(&v, "provider_id", b->provider_id) == 0 &&
        cw_av_set_str(&v, "caregiver_id", "") == 0 && cw_av_set_str(&v, "elder_id", "") == 0 &&
        cw_av_set_opt_double(&v, "measured", 1, (double)b->consumed_cents / 100.0) == 0 &&
        cw_av_set_opt_double(&v, "threshold", 1, (double)b->threshold_cents / 100.0) == 0 &&
        cw_av_set_long(&v, "at", b->at) == 0 && cw_av_set_long(&v, "raised_at", b->at) == 0 &&
        cw_av_set_str(&v, "message_zh", zh) == 0 && cw_av_set_str(&v, "message_en", en) == 0)
        rc = cw_outbox_add_avro(ob, CW_TOPIC_ALERTS_FINANCE, b->contract_id, &v, schema, err,
                                errlen);
    else
        snprintf(err, errlen, "cannot fill the %s alert of %s", rule, b->contract_id);
    avro_value_decref(&v);
    return rc;
}

/* "" is null on the wire. */
static const char *optional(const char *account)
{
    return account[0] != '\0' ? account : NULL;
}

int pay_outbox_add_instruction(cw_outbox *ob, const pay_instruction *in, char *err,
                               size_t errlen)
{
    const cw_avro_schema *schema = cw_avro_schema_by_name("PaymentInstruction");
    char id[PAY_INSTRUCTION_ID_MAX], start[16], end[16];
    avro_value_t v;
    if (schema == NULL || cw_avro_new_value(schema, &v) != 0) {
        snprintf(err, errlen, "no PaymentInstruction schema");
        return -1;
    }
    cw_date_format(in->period_start, start, sizeof(start));
    cw_date_format(in->period_end, end, sizeof(end));
    int rc = -1;
    if (pay_instruction_record_id(in, id, sizeof(id)) == 0 &&
        cw_av_set_str(&v, "instruction_id", id) == 0 &&
        cw_av_set_str(&v, "contract_id", in->contract_id) == 0 &&
        cw_av_set_str(&v, "provider_id", in->provider_id) == 0 &&
        cw_av_set_enum(&v, "kind", pay_kind_name(in->kind)) == 0 &&
        cw_av_set_long(&v, "amount_cents", in->amount_cents) == 0 &&
        cw_av_set_str(&v, "period_start", start) == 0 &&
        cw_av_set_str(&v, "period_end", end) == 0 &&
        cw_av_set_long(&v, "created_at", in->created_at) == 0 &&
        cw_av_set_opt_str(&v, "payer_account", optional(in->payer_account)) == 0 &&
        cw_av_set_opt_str(&v, "payee_account", optional(in->payee_account)) == 0)
        rc = cw_outbox_add_avro(ob, CW_TOPIC_PAYMENT_INSTRUCTIONS, in->contract_id, &v, schema, err,
                                errlen);
    else
        snprintf(err, errlen, "cannot fill PaymentInstruction %s", in->contract_id);
    avro_value_decref(&v);
    return rc;
}
