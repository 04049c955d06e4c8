/* services/payment-scheduler/payment_records: OrderFinalized, Contract and
 * LedgerCheckpoint records read into the payment structs (with their
 * checks: a historical contract and its accounts too), and the statements
 * and instructions (with payer and payee) written out and read back. Records are built
 * with the common Avro codec from the schemas/ files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "payment-scheduler/payment_records.h"
#include "timeutil.h"

static int setup(void **state)
{
    (void)state;
    char err[256];
    if (cw_avro_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "cw_avro_init: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cw_avro_shutdown();
    return 0;
}

static int64_t day(const char *text)
{
    int64_t d;
    assert_int_equal(cw_date_parse(text, &d), 0);
    return d;
}

/* An encoded OrderFinalized; contract_id NULL writes null. malloc'd. */
static uint8_t *finalized(const char *order_id, const char *contract_id, const char *service_day,
                          const char *status, size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("OrderFinalized");
    avro_value_t v;
    uint8_t *buf = NULL;
    char err[256];
    assert_non_null(s);
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(cw_av_set_str(&v, "order_id", order_id), 0);
    assert_int_equal(cw_av_set_str(&v, "provider_id", "P01"), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "contract_id", contract_id), 0);
    assert_int_equal(cw_av_set_str(&v, "caregiver_id", "G1"), 0);
    assert_int_equal(cw_av_set_str(&v, "elder_id", "E1"), 0);
    assert_int_equal(cw_av_set_str(&v, "street_id", "S01"), 0);
    assert_int_equal(cw_av_set_str(&v, "service_day", service_day), 0);
    assert_int_equal(cw_av_set_enum(&v, "status", status), 0);
    assert_int_equal(cw_av_append_str(&v, "reasons", "GEO_DISTANCE"), 0);
    assert_int_equal(cw_av_set_long(&v, "unit_price_cents", 4000), 0);
    assert_int_equal(cw_av_set_long(&v, "finalized_at", 1714700000123LL), 0);
    assert_int_equal(cw_av_set_long(&v, "ledger_index", 7), 0);
    assert_int_equal(cw_avro_encode(&v, s, &buf, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return buf;
}

/* The fields every Contract has, into v (historical false, no accounts). */
static void fill_contract(avro_value_t *v, const char *period_start, const char *period_end,
                          int32_t ppm)
{
    assert_int_equal(cw_av_set_str(v, "contract_id", "C-2024-05"), 0);
    assert_int_equal(cw_av_set_str(v, "provider_id", "P01"), 0);
    assert_int_equal(cw_av_set_str(v, "period_start", period_start), 0);
    assert_int_equal(cw_av_set_str(v, "period_end", period_end), 0);
    assert_int_equal(cw_av_set_long(v, "budget_cents", 10000000), 0);
    assert_int_equal(cw_av_set_long(v, "unit_price_cents", 4000), 0);
    assert_int_equal(cw_av_set_int(v, "prepay_ratio_ppm", ppm), 0);
    assert_int_equal(cw_av_set_long(v, "invalid_deduction_cents", 18000), 0);
    assert_int_equal(cw_av_set_int(v, "publication_lag_days", 3), 0);
    assert_int_equal(cw_av_set_long(v, "updated_at", 1714000000000LL), 0);
}

/* A historical contract with its accounts (NULL: null). malloc'd. */
static uint8_t *historical_contract(const char *provider_account, const char *treasury_account,
                                    size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("Contract");
    avro_value_t v;
    uint8_t *buf = NULL;
    char err[256];
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    fill_contract(&v, "2024-05-01", "2024-05-31", 300000);
    assert_int_equal(cw_av_set_bool(&v, "historical", 1), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "provider_account", provider_account), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "treasury_account", treasury_account), 0);
    assert_int_equal(cw_avro_encode(&v, s, &buf, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return buf;
}

static uint8_t *contract_record(const char *period_start, const char *period_end, int32_t ppm,
                                size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("Contract");
    avro_value_t v;
    uint8_t *buf = NULL;
    char err[256];
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    fill_contract(&v, period_start, period_end, ppm);
    assert_int_equal(cw_avro_encode(&v, s, &buf, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return buf;
}

static void order_is_read_with_its_fields(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = finalized("O-1", "C-2024-05", "2024-05-02", "VALID", &len);
    avro_value_t v;
    pay_order o;
    char reason[256] = "";
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), 0);
    assert_string_equal(o.order_id, "O-1");
    assert_string_equal(o.provider_id, "P01");
    assert_string_equal(o.contract_id, "C-2024-05");
    assert_int_equal(o.service_day, day("2024-05-02"));
    assert_int_equal(o.valid, 1);
    assert_int_equal(o.finalized_at, 1714700000123LL);
    assert_int_equal(o.ledger_index, 7);
    avro_value_decref(&v);
    free(buf);

    buf = finalized("O-2", NULL, "2024-05-03", "INVALID", &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), 0);
    assert_null(o.contract_id);
    assert_int_equal(o.valid, 0);
    assert_int_equal(o.cancelled, 0);
    avro_value_decref(&v);
    free(buf);

    buf = finalized("O-3", "C-2024-05", "2024-05-03", "CANCELLED", &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), 0);
    assert_int_equal(o.valid, 0);
    assert_int_equal(o.cancelled, 1);
    avro_value_decref(&v);
    free(buf);
}

static void bad_orders_are_refused_with_a_reason(void **state)
{
    (void)state;
    size_t len;
    avro_value_t v;
    pay_order o;
    char reason[256];
    uint8_t *buf = finalized("O-1", "C1", "2024-02-30", "VALID", &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "service_day"));
    free(buf);

    char long_id[80];
    memset(long_id, 'x', 65);
    long_id[65] = '\0';
    buf = finalized(long_id, "C1", "2024-05-02", "VALID", &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "order_id"));
    free(buf);

    buf = finalized("O-1", "C1", "2024-05-02", "VALID", &len);
    assert_int_equal(pay_read_order(buf, len - 1, &v, &o, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "undecodable"));
    assert_int_equal(pay_read_order(NULL, 0, &v, &o, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "empty"));
    free(buf);

    /* A record of another type on the topic. */
    buf = contract_record("2024-05-01", "2024-05-31", 300000, &len);
    assert_int_equal(pay_read_order(buf, len, &v, &o, reason, sizeof(reason)), -1);
    assert_string_equal(reason, "a Contract record where OrderFinalized was expected");
    free(buf);
}

static void contract_is_read_and_checked(void **state)
{
    (void)state;
    size_t len;
    pay_contract c;
    char reason[256];
    uint8_t *buf = contract_record("2024-05-01", "2024-05-31", 300000, &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), 0);
    assert_string_equal(c.contract_id, "C-2024-05");
    assert_string_equal(c.provider_id, "P01");
    assert_int_equal(c.period_start, day("2024-05-01"));
    assert_int_equal(c.period_end, day("2024-05-31"));
    assert_int_equal(c.budget_cents, 10000000);
    assert_int_equal(c.unit_price_cents, 4000);
    assert_int_equal(c.prepay_ratio_ppm, 300000);
    assert_int_equal(c.invalid_deduction_cents, 18000);
    assert_int_equal(c.publication_lag_days, 3);
    assert_int_equal(c.updated_at, 1714000000000LL);
    assert_int_equal(c.historical, 0);
    assert_string_equal(c.provider_account, "");
    assert_string_equal(c.treasury_account, "");
    free(buf);

    buf = contract_record("2024-05-31", "2024-05-01", 300000, &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "period_end before period_start"));
    free(buf);
    buf = contract_record("2024-05-01", "2024-05-31", 1500000, &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "prepay_ratio_ppm"));
    free(buf);
}

static void historical_contract_is_read_with_its_accounts(void **state)
{
    (void)state;
    size_t len;
    pay_contract c;
    char reason[256];
    uint8_t *buf = historical_contract("6222 0210 0101 2345", "GK-0301-区", &len);
    /* 区 is not printable ASCII: ingest would have refused it. */
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "treasury_account is not 1-64 printable"));
    free(buf);

    buf = historical_contract("6222 0210 0101 2345", "GK-0301", &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), 0);
    assert_int_equal(c.historical, 1);
    assert_string_equal(c.provider_account, "6222 0210 0101 2345");
    assert_string_equal(c.treasury_account, "GK-0301");
    assert_int_equal(c.budget_cents, 10000000);
    free(buf);

    buf = historical_contract(NULL, "GK-0301", &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), 0);
    assert_string_equal(c.provider_account, "");
    assert_string_equal(c.treasury_account, "GK-0301");
    free(buf);

    char longest[PAY_ACCOUNT_MAX + 2];
    memset(longest, '7', PAY_ACCOUNT_MAX);
    longest[PAY_ACCOUNT_MAX] = '\0';
    buf = historical_contract(longest, NULL, &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), 0);
    assert_int_equal(strlen(c.provider_account), PAY_ACCOUNT_MAX);
    free(buf);
    longest[PAY_ACCOUNT_MAX] = '7';
    longest[PAY_ACCOUNT_MAX + 1] = '\0';
    buf = historical_contract(longest, NULL, &len);
    assert_int_equal(pay_read_contract(buf, len, &c, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "provider_account is longer than 64"));
    free(buf);
}

static void statement_round_trips_with_its_id(void **state)
{
    (void)state;
    pay_statement s = {.contract_id = "C-2024-05", .provider_id = "P01",
                       .service_day = day("2024-05-07"), .valid_orders = 12,
                       .invalid_orders = 3, .late_valid_orders = 2, .late_invalid_orders = 1,
                       .gross_cents = 56000, .deduction_cents = 72000,
                       .published_at = 1715356800000LL};
    cw_outbox ob = {0};
    char err[256], reason[256];
    assert_int_equal(pay_outbox_add_statement(&ob, &s, err, sizeof(err)), 0);
    assert_int_equal(ob.count, 1);
    assert_string_equal(ob.records[0].topic, "payments.statements");
    assert_memory_equal(ob.records[0].key, "C-2024-05", 9);
    assert_int_equal(ob.records[0].key_len, 9);

    const cw_avro_schema *schema;
    avro_value_t v;
    const char *id;
    assert_int_equal(cw_avro_decode(ob.records[0].value, ob.records[0].value_len, &schema, &v,
                                    err, sizeof(err)), 0);
    assert_int_equal(cw_av_get_str(&v, "statement_id", &id), 0);
    assert_string_equal(id, "C-2024-05:2024-05-07");
    avro_value_decref(&v);

    pay_statement back;
    assert_int_equal(pay_read_statement(ob.records[0].value, ob.records[0].value_len, &back,
                                        reason, sizeof(reason)), 0);
    assert_string_equal(back.contract_id, s.contract_id);
    assert_string_equal(back.provider_id, s.provider_id);
    assert_int_equal(back.service_day, s.service_day);
    assert_int_equal(back.valid_orders, 12);
    assert_int_equal(back.invalid_orders, 3);
    assert_int_equal(back.late_valid_orders, 2);
    assert_int_equal(back.late_invalid_orders, 1);
    assert_int_equal(back.gross_cents, 56000);
    assert_int_equal(back.deduction_cents, 72000);
    assert_int_equal(back.published_at, 1715356800000LL);
    cw_outbox_free(&ob);
}

static void instructions_round_trip_with_their_ids(void **state)
{
    (void)state;
    const cw_payment_kind kinds[] = {CW_PAYMENT_KIND_PREPAY, CW_PAYMENT_KIND_SETTLEMENT,
                                     CW_PAYMENT_KIND_CLAWBACK};
    const char *ids[] = {"C1:PREPAY", "C1:SETTLEMENT:2024-05-31", "C1:CLAWBACK:2024-05-31"};
    for (int i = 0; i < 3; i++) {
        pay_instruction in = {.contract_id = "C1", .provider_id = "P01", .kind = kinds[i],
                              .amount_cents = 3000000 + i, .period_start = day("2024-05-01"),
                              .period_end = day("2024-05-31"), .created_at = 1717430400000LL};
        cw_outbox ob = {0};
        char err[256], reason[256];
        assert_int_equal(pay_outbox_add_instruction(&ob, &in, err, sizeof(err)), 0);
        assert_string_equal(ob.records[0].topic, "payments.instructions");

        const cw_avro_schema *schema;
        avro_value_t v;
        const char *id, *kind;
        assert_int_equal(cw_avro_decode(ob.records[0].value, ob.records[0].value_len, &schema,
                                        &v, err, sizeof(err)), 0);
        assert_string_equal(schema->name, "PaymentInstruction");
        assert_int_equal(cw_av_get_str(&v, "instruction_id", &id), 0);
        assert_string_equal(id, ids[i]);
        assert_int_equal(cw_av_get_enum(&v, "kind", &kind), 0);
        assert_string_equal(kind, cw_payment_kind_name(kinds[i]));
        avro_value_decref(&v);

        pay_instruction back;
        assert_int_equal(pay_read_instruction(ob.records[0].value, ob.records[0].value_len,
                                              &back, reason, sizeof(reason)), 0);
        assert_int_equal(back.kind, kinds[i]);
        assert_int_equal(back.amount_cents, 3000000 + i);
        assert_int_equal(back.period_start, day("2024-05-01"));
        assert_int_equal(back.period_end, day("2024-05-31"));
        assert_int_equal(back.created_at, 1717430400000LL);
        assert_string_equal(back.provider_id, "P01");
        assert_string_equal(back.payer_account, "");
        assert_string_equal(back.payee_account, "");
        cw_outbox_free(&ob);
    }
}

static void instruction_accounts_round_trip_and_empty_is_null(void **state)
{
    (void)state;
    pay_instruction in = {.contract_id = "H1", .provider_id = "P01",
                          .kind = CW_PAYMENT_KIND_CLAWBACK,
                          .amount_cents = 36000, .period_start = day("2024-05-01"),
                          .period_end = day("2024-05-31"), .created_at = 1717430400000LL,
                          .payer_account = "6222 0001", .payee_account = ""};
    cw_outbox ob = {0};
    char err[256], reason[256];
    assert_int_equal(pay_outbox_add_instruction(&ob, &in, err, sizeof(err)), 0);
    const cw_avro_schema *schema;
    avro_value_t v;
    const char *payer, *payee;
    assert_int_equal(cw_avro_decode(ob.records[0].value, ob.records[0].value_len, &schema, &v,
                                    err, sizeof(err)), 0);
    assert_int_equal(cw_av_get_opt_str(&v, "payer_account", &payer), 0);
    assert_int_equal(cw_av_get_opt_str(&v, "payee_account", &payee), 0);
    assert_string_equal(payer, "6222 0001");
    assert_null(payee); /* "" goes out as null */
    avro_value_decref(&v);

    pay_instruction back;
    assert_int_equal(pay_read_instruction(ob.records[0].value, ob.records[0].value_len, &back,
                                          reason, sizeof(reason)), 0);
    assert_string_equal(back.payer_account, "6222 0001");
    assert_string_equal(back.payee_account, "");
    assert_int_equal(back.kind, CW_PAYMENT_KIND_CLAWBACK);
    assert_int_equal(back.amount_cents, 36000);
    cw_outbox_free(&ob);
}

/* The fields every LedgerCheckpoint has, into v. */
static void fill_checkpoint(avro_value_t *v, int64_t tree_size)
{
    static const uint8_t root[32] = {1, 2, 3};
    assert_int_equal(cw_av_set_str(v, "log_id", "carewatch/ledger"), 0);
    assert_int_equal(cw_av_set_long(v, "tree_size", tree_size), 0);
    assert_int_equal(cw_av_set_bytes(v, "root_hash", root, sizeof(root)), 0);
    assert_int_equal(cw_av_set_str(v, "hash_alg", "SM3"), 0);
    assert_int_equal(cw_av_set_long(v, "timestamp", 1714700000000LL), 0);
    assert_int_equal(cw_av_set_str(v, "key_id", "1a2b3c4d"), 0);
    assert_int_equal(cw_av_set_bytes(v, "signature", root, 16), 0);
    assert_int_equal(cw_av_set_str(v, "note", "carewatch/ledger\n12\n"), 0);
}

/* An encoded LedgerCheckpoint of the compiled schema; has_through 0 writes
 * a null finalized_through. malloc'd. */
static uint8_t *checkpoint(int64_t tree_size, int has_through, int64_t through, size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("LedgerCheckpoint");
    avro_value_t v;
    uint8_t *buf = NULL;
    char err[256];
    assert_non_null(s);
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    fill_checkpoint(&v, tree_size);
    assert_int_equal(cw_av_set_opt_long(&v, "finalized_through", has_through, through), 0);
    assert_int_equal(cw_avro_encode(&v, s, &buf, len, err, sizeof(err)), 0);
    avro_value_decref(&v);
    return buf;
}

static void checkpoint_is_read_with_its_finalized_through(void **state)
{
    (void)state;
    size_t len;
    pay_checkpoint cp;
    char reason[256] = "";
    uint8_t *buf = checkpoint(12, 1, 1714700000999LL, &len);
    assert_int_equal(pay_read_checkpoint(buf, len, &cp, reason, sizeof(reason)), 0);
    assert_int_equal(cp.tree_size, 12);
    assert_int_equal(cp.has_through, 1);
    assert_int_equal(cp.finalized_through, 1714700000999LL);
    free(buf);

    buf = checkpoint(13, 0, 0, &len);
    assert_int_equal(pay_read_checkpoint(buf, len, &cp, reason, sizeof(reason)), 0);
    assert_int_equal(cp.tree_size, 13);
    assert_int_equal(cp.has_through, 0);
    free(buf);

    /* Cut short: undecodable, for the dead letters. */
    buf = checkpoint(14, 1, 5, &len);
    assert_int_equal(pay_read_checkpoint(buf, len - 3, &cp, reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "undecodable"));
    free(buf);
}

/* LedgerCheckpoint as it was before finalized_through existed. */
static const char old_checkpoint_schema[] =
    "{\"type\": \"record\", \"name\": \"LedgerCheckpoint\", \"namespace\": \"carewatch.v1\","
    " \"fields\": [{\"name\": \"log_id\", \"type\": \"string\"},"
    " {\"name\": \"tree_size\", \"type\": \"long\"},"
    " {\"name\": \"root_hash\", \"type\": \"bytes\"},"
    " {\"name\": \"hash_alg\", \"type\": \"string\"},"
    " {\"name\": \"timestamp\","
    " \"type\": {\"type\": \"long\", \"logicalType\": \"timestamp-millis\"}},"
    " {\"name\": \"key_id\", \"type\": \"string\"},"
    " {\"name\": \"signature\", \"type\": \"bytes\"},"
    " {\"name\": \"note\", \"type\": \"string\"}]}";

static void checkpoint_without_the_field_promises_nothing(void **state)
{
    (void)state;
    avro_schema_t schema;
    assert_int_equal(avro_schema_from_json_length(old_checkpoint_schema,
                                                  sizeof(old_checkpoint_schema) - 1, &schema),
                     0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    assert_non_null(iface);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    assert_int_equal(cw_av_init_empty(&v), 0);
    fill_checkpoint(&v, 40);
    pay_checkpoint cp = {.has_through = 7};
    char reason[256] = "";
    assert_int_equal(pay_checkpoint_from_avro(&v, &cp, reason, sizeof(reason)), 0);
    assert_int_equal(cp.tree_size, 40);
    assert_int_equal(cp.has_through, 0);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static void own_records_of_the_wrong_type_are_refused(void **state)
{
    (void)state;
    pay_statement s = {.contract_id = "C1", .provider_id = "P01", .service_day = 19845};
    cw_outbox ob = {0};
    char err[256], reason[256];
    pay_instruction in;
    assert_int_equal(pay_outbox_add_statement(&ob, &s, err, sizeof(err)), 0);
    assert_int_equal(pay_read_instruction(ob.records[0].value, ob.records[0].value_len, &in,
                                          reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "DailyStatement"));
    pay_checkpoint cp;
    assert_int_equal(pay_read_checkpoint(ob.records[0].value, ob.records[0].value_len, &cp,
                                         reason, sizeof(reason)), -1);
    assert_non_null(strstr(reason, "DailyStatement"));
    cw_outbox_free(&ob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_is_read_with_its_fields),
        cmocka_unit_test(bad_orders_are_refused_with_a_reason),
        cmocka_unit_test(contract_is_read_and_checked),
        cmocka_unit_test(historical_contract_is_read_with_its_accounts),
        cmocka_unit_test(instruction_accounts_round_trip_and_empty_is_null),
        cmocka_unit_test(statement_round_trips_with_its_id),
        cmocka_unit_test(instructions_round_trip_with_their_ids),
        cmocka_unit_test(checkpoint_is_read_with_its_finalized_through),
        cmocka_unit_test(checkpoint_without_the_field_promises_nothing),
        cmocka_unit_test(own_records_of_the_wrong_type_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
