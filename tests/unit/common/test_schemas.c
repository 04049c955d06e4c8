/* The project's Avro schemas: the files in schemas/ are the ones compiled
 * in, follow the conventions (namespace, docs, null defaults, timestamps),
 * carry the contract's field names and types (docs/design.md §3, 4.2, 5, 6), have
 * the expected fingerprints, and every record survives an encode / decode
 * round trip field for field, with its optional fields present and null.
 *
 * Cross-checks with Python fastavro (tools/avro_fingerprints.py):
 * - CW_AVRO_DUMP_DIR=DIR: the round-trip payloads are also written to DIR as
 *   <Record>.present.bin and <Record>.null.bin, for
 *   `tools/avro_fingerprints.py --check-payloads DIR` to decode;
 * - CW_AVRO_FOREIGN_DIR=DIR: the messages that
 *   `tools/avro_fingerprints.py --write-payloads DIR` wrote are decoded here
 *   (otherwise that test is skipped). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_support.h"

#include <dirent.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"

#define SCHEMA_DIR CW_SOURCE_DIR "/schemas"

/* Fingerprints (CRC-64-AVRO of the Parsing Canonical Form) computed
 * independently with Python fastavro 1.13.1 from the .avsc files, by
 * tools/avro_fingerprints.py. A schema change changes its fingerprint on the
 * wire: update this table (the tool prints it) only on purpose. */
static const struct {
    const char *name;
    uint64_t fingerprint;
} expected_fingerprints[] = {
    {"Alert", UINT64_C(0x6ae708773d583481)},
    {"CaseEvent", UINT64_C(0x7ea24219d214c6fe)},
    {"Caregiver", UINT64_C(0xd1b307a5c454529a)},
    {"CaregiverStatusChanged", UINT64_C(0x2343ca56a7c3689f)},
    {"CheckResult", UINT64_C(0xfce504c82ce87155)},
    {"Contract", UINT64_C(0x624239b0276b1833)},
    {"DailyStatement", UINT64_C(0x12d6fb64e5933937)},
    {"DeadLetter", UINT64_C(0xd66bbf1e7116f94b)},
    {"Elder", UINT64_C(0x101c0e9e3c1a89d3)},
    {"ElderStatusChanged", UINT64_C(0x27edb6dd6b5e84d4)},
    {"Evidence", UINT64_C(0xd6ff234153869407)},
    {"EvidenceRequested", UINT64_C(0x8bc1990eb09c7ffb)},
    {"LedgerCheckpoint", UINT64_C(0x29755c85fc090a24)},
    {"OrderAssigned", UINT64_C(0xca3822e6431b3bef)},
    {"OrderChange", UINT64_C(0x81ce1475505d23f9)},
    {"OrderCorrection", UINT64_C(0x28162ab75b8e3978)},
    {"OrderFinalized", UINT64_C(0x7064f69d8f450323)},
    {"PaymentInstruction", UINT64_C(0x58527e117155ca05)},
    {"VisitEvent", UINT64_C(0x22a8f1f2602da294)},
};

/* The fields each record must have, as "name:type" separated by spaces.
 * Types as describe_schema() writes them: ?T is ["null", T], {..} a nested
 * record, enum(A|B) an enum. Records may gain fields; these must stay. */
static const struct {
    const char *record;
    const char *fields;
} contract[] = {
    {"Elder", "elder_id:string street_id:string community_id:string "
              "home:{lat:double,lon:double,crs:enum(WGS84|GCJ02|BD09)} visits_per_month:int "
              "minutes_per_visit:int updated_at:long"},
    {"Caregiver", "caregiver_id:string provider_id:string certified:boolean level:?string "
                  "updated_at:long person_id:?string"},
    {"Contract", "contract_id:string provider_id:string period_start:string period_end:string "
                 "budget_cents:long unit_price_cents:long prepay_ratio_ppm:int "
                 "invalid_deduction_cents:long publication_lag_days:int updated_at:long "
                 "historical:boolean provider_account:?string treasury_account:?string"},
    {"OrderAssigned", "order_id:string elder_id:string caregiver_id:string provider_id:string "
                      "service_type:string scheduled_start:long scheduled_minutes:int "
                      "received_at:long caregiver_certified:?boolean person_id:?string "
                      "revision:?int change:?{kind:enum(CANCEL|RESCHEDULE|REASSIGN),"
                      "reason_code:string,note:?string,requested_at:long,approved_by:?string,"
                      "previous_caregiver_id:?string,previous_scheduled_start:?long,"
                      "previous_person_id:?string,change_id:string}"},
    {"OrderChange", "change_id:string order_id:string provider_id:string street_id:string "
                    "kind:enum(CANCEL|RESCHEDULE|REASSIGN) reason_code:string note:?string "
                    "requested_at:long requested_by:string scheduled_start:long "
                    "caregiver_id:string state:enum(EFFECTIVE|PENDING|APPROVED) "
                    "approved_by:?string approved_at:?long approval_note:?string "
                    "new_scheduled_start:?long new_caregiver_id:?string revision:?int"},
    {"VisitEvent", "event_id:string kind:enum(CHECK_IN|CHECK_OUT) order_id:string "
                   "caregiver_id:string provider_id:string elder_id:string at:long "
                   "received_at:long gps:{lat:double,lon:double,accuracy_m:?double} "
                   "beidou:?{lat:double,lon:double} face_match:?double voiceprint_match:?double "
                   "photo_sha256:?string device_id:?string items:array<string>"},
    {"Evidence", "event_id:string order_id:string caregiver_id:string provider_id:string "
                 "at:long received_at:long watermark_photo_sha256:string "
                 "elder_recording_sha256:string"},
    {"ElderStatusChanged", "elder_id:string status:enum(ACTIVE|HOSPITALIZED|DECEASED) "
                           "from:long to:?long received_at:long"},
    {"CaseEvent", "event_id:string case_id:string seq:int kind:enum(ORDER|FREEZE|COMPLAINT) "
                  "action:enum(OPENED|ALERT_ADDED|ACKNOWLEDGED|ESCALATED|RESOLVED|REOPENED|"
                  "CALLBACK|COMPLAINT) status:enum(OPEN|ACKNOWLEDGED|ESCALATED|RESOLVED) "
                  "resolution:?enum(CONFIRMED|FALSE_ALARM|RECTIFIED|EVIDENCE_ACCEPTED) "
                  "colour:enum(YELLOW|ORANGE|RED) deadline:?long actor:string actor_role:string "
                  "note:string at:long recorded_at:long order_id:?string street_id:string "
                  "community_id:string provider_id:string caregiver_id:string elder_id:string"},
    {"EvidenceRequested", "request_id:string order_id:string provider_id:string "
                          "caregiver_id:string elder_id:string street_id:string "
                          "reasons:array<string> visit_end:long deadline:long at:long"},
    {"CheckResult", "check_id:string order_id:string caregiver_id:string event_id:?string "
                    "rule:string outcome:enum(PASS|YELLOW|ORANGE|RED) measured:?double "
                    "threshold:?double unit:string checker:string at:long produced_at:long"},
    {"Alert", "alert_id:string order_id:string rule:string colour:enum(YELLOW|ORANGE|RED) "
              "street_id:string community_id:string provider_id:string caregiver_id:string "
              "elder_id:string scheduled_start:?long scheduled_minutes:?int measured:?double "
              "threshold:?double at:long raised_at:long "
              "message_zh:string message_en:string"},
    {"CaregiverStatusChanged", "caregiver_id:string status:enum(ACTIVE|FROZEN) reason:string "
                               "order_id:?string at:long"},
    {"DailyStatement", "statement_id:string contract_id:string provider_id:string "
                       "service_day:string valid_orders:int invalid_orders:int gross_cents:long "
                       "deduction_cents:long late_valid_orders:int late_invalid_orders:int "
                       "published_at:long"},
    {"PaymentInstruction", "instruction_id:string contract_id:string provider_id:string "
                           "kind:enum(PREPAY|SETTLEMENT|CLAWBACK) amount_cents:long "
                           "period_start:string period_end:string created_at:long "
                           "payer_account:?string payee_account:?string"},
    {"OrderFinalized", "order_id:string provider_id:string contract_id:?string "
                       "caregiver_id:string elder_id:string street_id:string service_day:string "
                       "status:enum(VALID|INVALID|CANCELLED) reasons:array<string> check_in_at:?long "
                       "check_out_at:?long duration_minutes:?int unit_price_cents:long "
                       "finalized_at:long ledger_index:long visits_per_month:?int "
                       "minutes_per_visit:?int corrects_index:?long correction_id:?string "
                       "decided_at:?long"},
    {"OrderCorrection", "correction_id:string order_id:string "
                        "status:enum(VALID|INVALID|CANCELLED) reason:string case_id:string "
                        "decided_by:string decided_at:long note:string"},
    {"LedgerCheckpoint", "log_id:string tree_size:long root_hash:bytes hash_alg:string "
                         "timestamp:long key_id:string signature:bytes note:string"},
    {"DeadLetter", "service:string source_topic:string partition:int offset:long key:?bytes "
                   "payload:bytes reason:string at:long"},
};

/* ------------------------------------------------------------------ */
/* Schema files                                                        */
/* ------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *text = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 4096 + 1 > cap) {
            cap = cap == 0 ? 8192 : cap * 2;
            char *grown = realloc(text, cap);
            assert_non_null(grown);
            text = grown;
        }
        size_t n = fread(text + size, 1, cap - size - 1, f);
        size += n;
        if (n == 0)
            break;
    }
    fclose(f);
    text[size] = '\0';
    *len = size;
    return text;
}

static const struct cw_embedded_schema *embedded(const char *name)
{
    for (size_t i = 0; i < cw_embedded_schema_count; i++) {
        if (strcmp(cw_embedded_schemas[i].name, name) == 0)
            return &cw_embedded_schemas[i];
    }
    return NULL;
}

/* Calls check(record name, text, length, parsed JSON) for every .avsc file
 * in schemas/ and returns how many there are. */
static size_t for_each_schema_file(void (*check)(const char *, const char *, size_t, json_t *))
{
    DIR *dir = opendir(SCHEMA_DIR);
    assert_non_null(dir);
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t name_len = strlen(entry->d_name);
        if (name_len <= 5 || strcmp(entry->d_name + name_len - 5, ".avsc") != 0)
            continue;
        char path[1024], name[256];
        snprintf(path, sizeof path, "%s/%s", SCHEMA_DIR, entry->d_name);
        snprintf(name, sizeof name, "%.*s", (int)(name_len - 5), entry->d_name);
        size_t len;
        char *text = read_file(path, &len);
        assert_non_null(text);
        json_error_t json_err;
        json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &json_err);
        if (root == NULL)
            fail_msg("%s: line %d: %s", path, json_err.line, json_err.text);
        check(name, text, len, root);
        json_decref(root);
        free(text);
        count++;
    }
    closedir(dir);
    return count;
}

static void check_embedded_copy(const char *name, const char *text, size_t len, json_t *root)
{
    (void)root;
    const struct cw_embedded_schema *e = embedded(name);
    if (e == NULL)
        fail_msg("schemas/%s.avsc is not compiled in", name);
    assert_int_equal(e->json_len, len);
    assert_memory_equal(e->json, text, len);
    assert_int_equal(e->json[len], '\0');
}

static void schema_files_are_the_compiled_in_schemas(void **state)
{
    (void)state;
    size_t files = for_each_schema_file(check_embedded_copy);
    assert_int_equal(files, cw_embedded_schema_count);
}

static int is_timestamp_millis(json_t *type)
{
    return json_is_object(type) &&
           strcmp(json_string_value(json_object_get(type, "type")), "long") == 0 &&
           json_is_string(json_object_get(type, "logicalType")) &&
           strcmp(json_string_value(json_object_get(type, "logicalType")), "timestamp-millis") ==
               0;
}

static int is_time_field(const char *name)
{
    size_t len = strlen(name);
    return strcmp(name, "at") == 0 || strcmp(name, "timestamp") == 0 ||
           strcmp(name, "scheduled_start") == 0 || (len > 3 && strcmp(name + len - 3, "_at") == 0);
}

static void check_field_conventions(const char *record, json_t *field)
{
    const char *name = json_string_value(json_object_get(field, "name"));
    json_t *type = json_object_get(field, "type");
    int nullable = json_is_array(type) && json_is_string(json_array_get(type, 0)) &&
                   strcmp(json_string_value(json_array_get(type, 0)), "null") == 0;
    if (nullable) {
        json_t *dflt = json_object_get(field, "default");
        if (dflt == NULL || !json_is_null(dflt))
            fail_msg("%s.%s: a nullable field needs \"default\": null", record, name);
    }
    if (is_time_field(name)) {
        json_t *time_type = nullable ? json_array_get(type, 1) : type;
        if (!is_timestamp_millis(time_type))
            fail_msg("%s.%s: times are long timestamp-millis", record, name);
    }
    size_t len = strlen(name);
    if (len > 6 && strcmp(name + len - 6, "_cents") == 0 &&
        !(json_is_string(type) && strcmp(json_string_value(type), "long") == 0))
        fail_msg("%s.%s: money is long cents", record, name);
}

static void check_conventions(const char *name, const char *text, size_t len, json_t *root)
{
    (void)text;
    (void)len;
    assert_string_equal(json_string_value(json_object_get(root, "type")), "record");
    assert_string_equal(json_string_value(json_object_get(root, "name")), name);
    assert_string_equal(json_string_value(json_object_get(root, "namespace")), "carewatch.v1");
    json_t *doc = json_object_get(root, "doc");
    if (!json_is_string(doc) || json_string_length(doc) == 0)
        fail_msg("%s has no doc", name);
    size_t i;
    json_t *field;
    json_array_foreach(json_object_get(root, "fields"), i, field) {
        check_field_conventions(name, field);
    }
}

static void schema_files_follow_the_conventions(void **state)
{
    (void)state;
    for_each_schema_file(check_conventions);
}

/* ------------------------------------------------------------------ */
/* Contract and fingerprints                                           */
/* ------------------------------------------------------------------ */

static void append(char *buf, size_t size, const char *text)
{
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s", text);
}

static avro_schema_t unlinked(avro_schema_t schema)
{
    while (is_avro_link(schema))
        schema = avro_schema_link_target(schema);
    return schema;
}

static void describe_schema(avro_schema_t schema, char *buf, size_t size);

static void describe_record(avro_schema_t schema, char *buf, size_t size)
{
    append(buf, size, "{");
    for (size_t i = 0; i < avro_schema_record_size(schema); i++) {
        if (i > 0)
            append(buf, size, ",");
        append(buf, size, avro_schema_record_field_name(schema, (int)i));
        append(buf, size, ":");
        describe_schema(avro_schema_record_field_get_by_index(schema, (int)i), buf, size);
    }
    append(buf, size, "}");
}

static void describe_schema(avro_schema_t schema, char *buf, size_t size)
{
    schema = unlinked(schema);
    switch (avro_typeof(schema)) {
    case AVRO_RECORD:
        describe_record(schema, buf, size);
        break;
    case AVRO_ENUM:
        append(buf, size, "enum(");
        for (int i = 0; i < avro_schema_enum_number_of_symbols(schema); i++) {
            if (i > 0)
                append(buf, size, "|");
            append(buf, size, avro_schema_enum_get(schema, i));
        }
        append(buf, size, ")");
        break;
    case AVRO_ARRAY:
        append(buf, size, "array<");
        describe_schema(avro_schema_array_items(schema), buf, size);
        append(buf, size, ">");
        break;
    case AVRO_UNION:
        if (avro_schema_union_size(schema) == 2 &&
            is_avro_null(unlinked(avro_schema_union_branch(schema, 0)))) {
            append(buf, size, "?");
            describe_schema(avro_schema_union_branch(schema, 1), buf, size);
        } else {
            append(buf, size, "union");
        }
        break;
    default:
        append(buf, size, avro_schema_type_name(schema));
        break;
    }
}

static void check_contract_field(const char *record, avro_schema_t schema, const char *spec)
{
    char name[128];
    const char *colon = strchr(spec, ':');
    assert_non_null(colon);
    snprintf(name, sizeof name, "%.*s", (int)(colon - spec), spec);
    avro_schema_t field = avro_schema_record_field_get(schema, name);
    if (field == NULL)
        fail_msg("%s has no field %s", record, name);
    char described[512] = "";
    describe_schema(field, described, sizeof described);
    if (strcmp(described, colon + 1) != 0)
        fail_msg("%s.%s is %s, the contract says %s", record, name, described, colon + 1);
}

static void records_have_the_contract_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof contract / sizeof contract[0]; i++) {
        const cw_avro_schema *s = cw_avro_schema_by_name(contract[i].record);
        if (s == NULL)
            fail_msg("no schema %s", contract[i].record);
        char *fields = strdup(contract[i].fields);
        char *save = NULL;
        for (char *spec = strtok_r(fields, " ", &save); spec != NULL;
             spec = strtok_r(NULL, " ", &save))
            check_contract_field(contract[i].record, s->schema, spec);
        free(fields);
    }
}

static void fingerprints_match_independent_computation(void **state)
{
    (void)state;
    size_t n = sizeof expected_fingerprints / sizeof expected_fingerprints[0];
    assert_int_equal(cw_embedded_schema_count, n);
    for (size_t i = 0; i < n; i++) {
        const cw_avro_schema *s = cw_avro_schema_by_name(expected_fingerprints[i].name);
        if (s == NULL)
            fail_msg("no schema %s", expected_fingerprints[i].name);
        if (s->fingerprint != expected_fingerprints[i].fingerprint)
            fail_msg("%s: fingerprint %016" PRIx64 ", expected %016" PRIx64 " (canonical %s)",
                     s->name, s->fingerprint, expected_fingerprints[i].fingerprint, s->canonical);
    }
}

/* ------------------------------------------------------------------ */
/* Round trip of every record, generically                             */
/* ------------------------------------------------------------------ */

typedef enum { OPTIONAL_PRESENT, OPTIONAL_NULL } optional_mode;

/* Fills value with distinct, deterministic contents: *counter numbers the
 * leaves. Nullable fields and arrays are filled or left null / empty by
 * mode. */
static void fill_value(avro_value_t *value, optional_mode mode, unsigned *counter)
{
    unsigned k = ++*counter;
    char text[64];
    uint8_t bytes[4] = {0x00, 0xff, (uint8_t)k, 0x80};
    avro_schema_t schema = unlinked(avro_value_get_schema(value));
    switch (avro_value_get_type(value)) {
    case AVRO_STRING:
        /* Non-ASCII text: street and community names are Chinese. */
        snprintf(text, sizeof text, "v%u-\xe8\xa1\x97\xe9\x81\x93", k);
        assert_int_equal(avro_value_set_string(value, text), 0);
        break;
    case AVRO_BYTES:
        assert_int_equal(avro_value_set_bytes(value, bytes, sizeof bytes), 0);
        break;
    case AVRO_INT32:
        assert_int_equal(avro_value_set_int(value, (k % 2 ? -1 : 1) * (int32_t)(k * 100003)), 0);
        break;
    case AVRO_INT64:
        assert_int_equal(avro_value_set_long(value, INT64_C(1714521600000) + (int64_t)k * 60001),
                         0);
        break;
    case AVRO_DOUBLE:
        assert_int_equal(avro_value_set_double(value, (k % 2 ? -1.0 : 1.0) * (k + 0.125)), 0);
        break;
    case AVRO_FLOAT:
        assert_int_equal(avro_value_set_float(value, (float)k + 0.5f), 0);
        break;
    case AVRO_BOOLEAN:
        assert_int_equal(avro_value_set_boolean(value, (int)(k % 2)), 0);
        break;
    case AVRO_NULL:
        assert_int_equal(avro_value_set_null(value), 0);
        break;
    case AVRO_ENUM: {
        unsigned symbols = (unsigned)avro_schema_enum_number_of_symbols(schema);
        assert_int_equal(avro_value_set_enum(value, (int)(k % symbols)), 0);
        break;
    }
    case AVRO_FIXED: {
        uint8_t fixed[64] = {(uint8_t)k};
        assert_true(avro_schema_fixed_size(schema) <= 64);
        assert_int_equal(avro_value_set_fixed(value, fixed, (size_t)avro_schema_fixed_size(schema)),
                         0);
        break;
    }
    case AVRO_RECORD: {
        size_t n;
        assert_int_equal(avro_value_get_size(value, &n), 0);
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            assert_int_equal(avro_value_get_by_index(value, i, &child, NULL), 0);
            fill_value(&child, mode, counter);
        }
        break;
    }
    case AVRO_ARRAY: {
        assert_int_equal(avro_value_reset(value), 0);
        for (int i = 0; mode == OPTIONAL_PRESENT && i < 3; i++) {
            avro_value_t item;
            assert_int_equal(avro_value_append(value, &item, NULL), 0);
            fill_value(&item, mode, counter);
        }
        break;
    }
    case AVRO_MAP: {
        for (int i = 0; mode == OPTIONAL_PRESENT && i < 2; i++) {
            avro_value_t item;
            snprintf(text, sizeof text, "k%d", i);
            assert_int_equal(avro_value_add(value, text, &item, NULL, NULL), 0);
            fill_value(&item, mode, counter);
        }
        break;
    }
    case AVRO_UNION: {
        int has_null = is_avro_null(unlinked(avro_schema_union_branch(schema, 0)));
        int branch = mode == OPTIONAL_NULL && has_null ? 0 : (has_null ? 1 : 0);
        avro_value_t chosen;
        assert_int_equal(avro_value_set_branch(value, branch, &chosen), 0);
        fill_value(&chosen, mode, counter);
        break;
    }
    default:
        fail_msg("fill: unexpected type %d", (int)avro_value_get_type(value));
    }
}

static void assert_same_value(avro_value_t *expected, avro_value_t *actual, const char *path);

static void assert_same_children(avro_value_t *expected, avro_value_t *actual, const char *path)
{
    size_t n_expected, n_actual;
    assert_int_equal(avro_value_get_size(expected, &n_expected), 0);
    assert_int_equal(avro_value_get_size(actual, &n_actual), 0);
    if (n_expected != n_actual)
        fail_msg("%s: %zu children decoded, %zu encoded", path, n_actual, n_expected);
    for (size_t i = 0; i < n_expected; i++) {
        avro_value_t e, a;
        const char *e_name = NULL, *a_name = NULL;
        assert_int_equal(avro_value_get_by_index(expected, i, &e, &e_name), 0);
        assert_int_equal(avro_value_get_by_index(actual, i, &a, &a_name), 0);
        char child_path[512];
        if (e_name != NULL) {
            assert_non_null(a_name);
            assert_string_equal(e_name, a_name);
            snprintf(child_path, sizeof child_path, "%s.%s", path, e_name);
        } else {
            snprintf(child_path, sizeof child_path, "%s[%zu]", path, i);
        }
        assert_same_value(&e, &a, child_path);
    }
}

static void assert_same_leaf(avro_value_t *expected, avro_value_t *actual, const char *path)
{
    const void *e_buf, *a_buf;
    size_t e_size, a_size;
    int32_t e_int, a_int;
    int64_t e_long, a_long;
    double e_double, a_double;
    float e_float, a_float;
    int e_flag, a_flag;
    switch (avro_value_get_type(expected)) {
    case AVRO_STRING:
        assert_int_equal(avro_value_get_string(expected, (const char **)&e_buf, &e_size), 0);
        assert_int_equal(avro_value_get_string(actual, (const char **)&a_buf, &a_size), 0);
        if (e_size != a_size || memcmp(e_buf, a_buf, e_size) != 0)
            fail_msg("%s: \"%s\" decoded, \"%s\" encoded", path, (const char *)a_buf,
                     (const char *)e_buf);
        break;
    case AVRO_BYTES:
    case AVRO_FIXED:
        if (avro_value_get_type(expected) == AVRO_BYTES) {
            assert_int_equal(avro_value_get_bytes(expected, &e_buf, &e_size), 0);
            assert_int_equal(avro_value_get_bytes(actual, &a_buf, &a_size), 0);
        } else {
            assert_int_equal(avro_value_get_fixed(expected, &e_buf, &e_size), 0);
            assert_int_equal(avro_value_get_fixed(actual, &a_buf, &a_size), 0);
        }
        if (e_size != a_size || memcmp(e_buf, a_buf, e_size) != 0)
            fail_msg("%s: bytes differ", path);
        break;
    case AVRO_INT32:
        assert_int_equal(avro_value_get_int(expected, &e_int), 0);
        assert_int_equal(avro_value_get_int(actual, &a_int), 0);
        if (e_int != a_int)
            fail_msg("%s: %" PRId32 " decoded, %" PRId32 " encoded", path, a_int, e_int);
        break;
    case AVRO_INT64:
        assert_int_equal(avro_value_get_long(expected, &e_long), 0);
        assert_int_equal(avro_value_get_long(actual, &a_long), 0);
        if (e_long != a_long)
            fail_msg("%s: %" PRId64 " decoded, %" PRId64 " encoded", path, a_long, e_long);
        break;
    case AVRO_DOUBLE:
        assert_int_equal(avro_value_get_double(expected, &e_double), 0);
        assert_int_equal(avro_value_get_double(actual, &a_double), 0);
        if (e_double != a_double)
            fail_msg("%s: %.17g decoded, %.17g encoded", path, a_double, e_double);
        break;
    case AVRO_FLOAT:
        assert_int_equal(avro_value_get_float(expected, &e_float), 0);
        assert_int_equal(avro_value_get_float(actual, &a_float), 0);
        if (e_float != a_float)
            fail_msg("%s: floats differ", path);
        break;
    case AVRO_BOOLEAN:
        assert_int_equal(avro_value_get_boolean(expected, &e_flag), 0);
        assert_int_equal(avro_value_get_boolean(actual, &a_flag), 0);
        if (e_flag != a_flag)
            fail_msg("%s: booleans differ", path);
        break;
    case AVRO_ENUM:
        assert_int_equal(avro_value_get_enum(expected, &e_int), 0);
        assert_int_equal(avro_value_get_enum(actual, &a_int), 0);
        if (e_int != a_int)
            fail_msg("%s: enum %" PRId32 " decoded, %" PRId32 " encoded", path, a_int, e_int);
        break;
    case AVRO_NULL:
        break;
    default:
        fail_msg("%s: unexpected type %d", path, (int)avro_value_get_type(expected));
    }
}

static void assert_same_value(avro_value_t *expected, avro_value_t *actual, const char *path)
{
    avro_type_t type = avro_value_get_type(expected);
    if (avro_value_get_type(actual) != type)
        fail_msg("%s: type %d decoded, %d encoded", path, (int)avro_value_get_type(actual),
                 (int)type);
    if (type == AVRO_UNION) {
        int e_branch, a_branch;
        avro_value_t e, a;
        assert_int_equal(avro_value_get_discriminant(expected, &e_branch), 0);
        assert_int_equal(avro_value_get_discriminant(actual, &a_branch), 0);
        if (e_branch != a_branch)
            fail_msg("%s: union branch %d decoded, %d encoded", path, a_branch, e_branch);
        assert_int_equal(avro_value_get_current_branch(expected, &e), 0);
        assert_int_equal(avro_value_get_current_branch(actual, &a), 0);
        assert_same_value(&e, &a, path);
    } else if (type == AVRO_RECORD || type == AVRO_ARRAY || type == AVRO_MAP) {
        assert_same_children(expected, actual, path);
    } else {
        assert_same_leaf(expected, actual, path);
    }
}

static void dump_payload(const char *record, const char *variant, const uint8_t *buf, size_t len)
{
    const char *dir = getenv("CW_AVRO_DUMP_DIR");
    if (dir == NULL || dir[0] == '\0')
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s.bin", dir, record, variant);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("cannot write %s", path);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void assert_header(const uint8_t *buf, size_t len, uint64_t fingerprint)
{
    assert_true(len > CW_AVRO_HEADER_LEN);
    assert_int_equal(buf[0], 0xC3);
    assert_int_equal(buf[1], 0x01);
    for (int i = 0; i < 8; i++)
        assert_int_equal(buf[2 + i], (uint8_t)(fingerprint >> (8 * i)));
}

static void round_trip(const cw_avro_schema *s, optional_mode mode)
{
    char err[256] = "";
    avro_value_t original, decoded;
    unsigned counter = 0;
    assert_int_equal(cw_avro_new_value(s, &original), 0);
    fill_value(&original, mode, &counter);

    uint8_t *buf = NULL;
    size_t len = 0;
    if (cw_avro_encode(&original, s, &buf, &len, err, sizeof err) != 0)
        fail_msg("encode %s: %s", s->name, err);
    assert_header(buf, len, s->fingerprint);
    dump_payload(s->name, mode == OPTIONAL_PRESENT ? "present" : "null", buf, len);

    const cw_avro_schema *decoded_schema = NULL;
    if (cw_avro_decode(buf, len, &decoded_schema, &decoded, err, sizeof err) != 0)
        fail_msg("decode %s: %s", s->name, err);
    assert_ptr_equal(decoded_schema, s);
    assert_same_value(&original, &decoded, s->name);

    /* The decoded value encodes to the same bytes. */
    uint8_t *again = NULL;
    size_t again_len = 0;
    assert_int_equal(cw_avro_encode(&decoded, s, &again, &again_len, err, sizeof err), 0);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);

    free(again);
    free(buf);
    avro_value_decref(&decoded);
    avro_value_decref(&original);
}

static void every_record_round_trips_with_optionals_present(void **state)
{
    (void)state;
    for (size_t i = 0; i < cw_embedded_schema_count; i++)
        round_trip(cw_avro_schema_by_name(cw_embedded_schemas[i].name), OPTIONAL_PRESENT);
}

static void every_record_round_trips_with_optionals_null(void **state)
{
    (void)state;
    for (size_t i = 0; i < cw_embedded_schema_count; i++)
        round_trip(cw_avro_schema_by_name(cw_embedded_schemas[i].name), OPTIONAL_NULL);
}

static void assert_decodes_and_encodes_back(const char *path)
{
    size_t len;
    char *payload = read_file(path, &len);
    if (payload == NULL)
        fail_msg("cannot read %s", path);
    char err[256] = "";
    const cw_avro_schema *s;
    avro_value_t v;
    if (cw_avro_decode((const uint8_t *)payload, len, &s, &v, err, sizeof err) != 0)
        fail_msg("%s: %s", path, err);
    uint8_t *again;
    size_t again_len;
    if (cw_avro_encode(&v, s, &again, &again_len, err, sizeof err) != 0)
        fail_msg("%s: encode: %s", path, err);
    if (again_len != len || memcmp(again, payload, len) != 0)
        fail_msg("%s: the C codec encodes the %s record differently", path, s->name);
    free(again);
    avro_value_decref(&v);
    free(payload);
}

/* Messages another implementation (fastavro, tools/make_avro_fixtures.py)
 * wrote decode, and encode back to the same bytes: one per schema.
 * CW_AVRO_FOREIGN_DIR points the test at another set. */
static void foreign_payloads_decode_and_encode_back(void **state)
{
    (void)state;
    const char *dir_name = getenv("CW_AVRO_FOREIGN_DIR");
    int own_fixtures = dir_name == NULL || dir_name[0] == '\0';
    if (own_fixtures)
        dir_name = CW_SOURCE_DIR "/tests/unit/data/avro";
    DIR *dir = opendir(dir_name);
    if (dir == NULL)
        fail_msg("cannot open %s", dir_name);
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t name_len = strlen(entry->d_name);
        if (name_len <= 4 || strcmp(entry->d_name + name_len - 4, ".bin") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir_name, entry->d_name);
        assert_decodes_and_encodes_back(path);
        count++;
    }
    closedir(dir);
    assert_true(count > 0);
    if (own_fixtures)
        assert_int_equal(count, cw_embedded_schema_count);
}

/* ------------------------------------------------------------------ */
/* Round trips through the typed helpers, as services use them         */
/* ------------------------------------------------------------------ */

/* Encodes v (a record of `record`), decodes it into *decoded. */
static void encode_decode(const char *record, avro_value_t *v, avro_value_t *decoded)
{
    const cw_avro_schema *s = cw_avro_schema_by_name(record);
    char err[256] = "";
    uint8_t *buf;
    size_t len;
    if (cw_avro_encode(v, s, &buf, &len, err, sizeof err) != 0)
        fail_msg("encode %s: %s", record, err);
    const cw_avro_schema *decoded_schema;
    if (cw_avro_decode(buf, len, &decoded_schema, decoded, err, sizeof err) != 0)
        fail_msg("decode %s: %s", record, err);
    assert_string_equal(decoded_schema->name, record);
    free(buf);
}

static void assert_str_field(avro_value_t *v, const char *field, const char *expected)
{
    const char *actual;
    if (cw_av_get_str(v, field, &actual) != 0)
        fail_msg("%s: not a string", field);
    assert_string_equal(actual, expected);
}

static void visit_event_round_trips_through_helpers(void **state)
{
    (void)state;
    avro_value_t v, gps, beidou, out, fix;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("VisitEvent"), &v), 0);
    assert_int_equal(cw_av_set_str(&v, "event_id", "ev-1"), 0);
    assert_int_equal(cw_av_set_enum(&v, "kind", "CHECK_IN"), 0);
    assert_int_equal(cw_av_set_str(&v, "order_id", "o-1"), 0);
    assert_int_equal(cw_av_set_str(&v, "caregiver_id", "cg-1"), 0);
    assert_int_equal(cw_av_set_str(&v, "provider_id", "p-1"), 0);
    assert_int_equal(cw_av_set_str(&v, "elder_id", "el-1"), 0);
    assert_int_equal(cw_av_set_long(&v, "at", INT64_C(1714521600000)), 0);
    assert_int_equal(cw_av_set_long(&v, "received_at", INT64_C(1714521601234)), 0);
    assert_int_equal(cw_av_field(&v, "gps", &gps), 0);
    assert_int_equal(cw_av_set_double(&gps, "lat", 31.2304), 0);
    assert_int_equal(cw_av_set_double(&gps, "lon", 121.4737), 0);
    assert_int_equal(cw_av_set_opt_double(&gps, "accuracy_m", 0, 0), 0);
    assert_int_equal(cw_av_set_present(&v, "beidou", &beidou), 0);
    assert_int_equal(cw_av_set_double(&beidou, "lat", 31.2305), 0);
    assert_int_equal(cw_av_set_double(&beidou, "lon", 121.4738), 0);
    assert_int_equal(cw_av_set_opt_double(&v, "face_match", 1, 0.93), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "photo_sha256", "9f86d081884c7d65"), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "device_id", NULL), 0);

    encode_decode("VisitEvent", &v, &out);

    const char *symbol;
    int64_t at;
    double d;
    int has;
    size_t n;
    assert_str_field(&out, "event_id", "ev-1");
    assert_int_equal(cw_av_get_enum(&out, "kind", &symbol), 0);
    assert_string_equal(symbol, "CHECK_IN");
    assert_str_field(&out, "order_id", "o-1");
    assert_str_field(&out, "caregiver_id", "cg-1");
    assert_str_field(&out, "provider_id", "p-1");
    assert_str_field(&out, "elder_id", "el-1");
    assert_int_equal(cw_av_get_long(&out, "at", &at), 0);
    assert_int_equal(at, INT64_C(1714521600000));
    assert_int_equal(cw_av_get_long(&out, "received_at", &at), 0);
    assert_int_equal(at, INT64_C(1714521601234));
    assert_int_equal(cw_av_field(&out, "gps", &fix), 0);
    assert_int_equal(cw_av_get_double(&fix, "lat", &d), 0);
    assert_true(d == 31.2304);
    assert_int_equal(cw_av_get_double(&fix, "lon", &d), 0);
    assert_true(d == 121.4737);
    assert_int_equal(cw_av_get_opt_double(&fix, "accuracy_m", &has, &d), 0);
    assert_int_equal(has, 0);
    assert_int_equal(cw_av_get_present(&out, "beidou", &has, &fix), 0);
    assert_int_equal(has, 1);
    assert_int_equal(cw_av_get_double(&fix, "lat", &d), 0);
    assert_true(d == 31.2305);
    assert_int_equal(cw_av_get_double(&fix, "lon", &d), 0);
    assert_true(d == 121.4738);
    assert_int_equal(cw_av_get_opt_double(&out, "face_match", &has, &d), 0);
    assert_int_equal(has, 1);
    assert_true(d == 0.93);
    assert_int_equal(cw_av_get_opt_double(&out, "voiceprint_match", &has, &d), 0);
    assert_int_equal(has, 0);
    assert_str_field(&out, "photo_sha256", "9f86d081884c7d65");
    assert_int_equal(cw_av_get_opt_str(&out, "device_id", &symbol), 0);
    assert_null(symbol);
    assert_int_equal(cw_av_get_array_size(&out, "items", &n), 0);
    assert_int_equal(n, 0);

    avro_value_decref(&out);
    avro_value_decref(&v);
}

static void check_result_round_trips_through_helpers(void **state)
{
    (void)state;
    avro_value_t v, out;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("CheckResult"), &v), 0);
    assert_int_equal(cw_av_set_str(&v, "check_id", "ev-1:GEO_DISTANCE"), 0);
    assert_int_equal(cw_av_set_str(&v, "order_id", "o-1"), 0);
    assert_int_equal(cw_av_set_str(&v, "caregiver_id", "cg-1"), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "event_id", "ev-1"), 0);
    assert_int_equal(cw_av_set_str(&v, "rule", "GEO_DISTANCE"), 0);
    assert_int_equal(cw_av_set_enum(&v, "outcome", "YELLOW"), 0);
    assert_int_equal(cw_av_set_opt_double(&v, "measured", 1, 30.01), 0);
    assert_int_equal(cw_av_set_opt_double(&v, "threshold", 1, 30.0), 0);
    assert_int_equal(cw_av_set_str(&v, "unit", "m"), 0);
    assert_int_equal(cw_av_set_str(&v, "checker", "geo-validator"), 0);
    assert_int_equal(cw_av_set_long(&v, "at", INT64_C(1714521600000)), 0);
    assert_int_equal(cw_av_set_long(&v, "produced_at", INT64_C(1714521600500)), 0);

    encode_decode("CheckResult", &v, &out);

    const char *str;
    double d;
    int has;
    int64_t at;
    assert_str_field(&out, "check_id", "ev-1:GEO_DISTANCE");
    assert_str_field(&out, "order_id", "o-1");
    assert_str_field(&out, "caregiver_id", "cg-1");
    assert_int_equal(cw_av_get_opt_str(&out, "event_id", &str), 0);
    assert_string_equal(str, "ev-1");
    assert_str_field(&out, "rule", "GEO_DISTANCE");
    assert_int_equal(cw_av_get_enum(&out, "outcome", &str), 0);
    assert_string_equal(str, "YELLOW");
    assert_int_equal(cw_av_get_opt_double(&out, "measured", &has, &d), 0);
    assert_true(has && d == 30.01);
    assert_int_equal(cw_av_get_opt_double(&out, "threshold", &has, &d), 0);
    assert_true(has && d == 30.0);
    assert_str_field(&out, "unit", "m");
    assert_str_field(&out, "checker", "geo-validator");
    assert_int_equal(cw_av_get_long(&out, "at", &at), 0);
    assert_int_equal(at, INT64_C(1714521600000));
    assert_int_equal(cw_av_get_long(&out, "produced_at", &at), 0);
    assert_int_equal(at, INT64_C(1714521600500));
    avro_value_decref(&out);
    avro_value_decref(&v);
}

static void order_finalized_round_trips_through_helpers(void **state)
{
    (void)state;
    avro_value_t v, out;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("OrderFinalized"), &v), 0);
    static const char *const reasons[] = {"GEO_DISTANCE", "EVIDENCE_EXPIRED"};
    assert_int_equal(cw_av_set_str(&v, "order_id", "o-1"), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "contract_id", NULL), 0);
    assert_int_equal(cw_av_set_enum(&v, "status", "INVALID"), 0);
    assert_int_equal(cw_av_set_str_array(&v, "reasons", reasons, 2), 0);
    assert_int_equal(cw_av_set_opt_long(&v, "check_in_at", 1, INT64_C(1714521600000)), 0);
    assert_int_equal(cw_av_set_opt_long(&v, "check_out_at", 0, 0), 0);
    assert_int_equal(cw_av_set_opt_int(&v, "duration_minutes", 0, 0), 0);
    assert_int_equal(cw_av_set_long(&v, "unit_price_cents", 18000), 0);
    assert_int_equal(cw_av_set_long(&v, "ledger_index", 41), 0);

    encode_decode("OrderFinalized", &v, &out);

    const char *str;
    int has;
    int64_t l;
    int32_t i;
    size_t n;
    assert_int_equal(cw_av_get_opt_str(&out, "contract_id", &str), 0);
    assert_null(str);
    assert_int_equal(cw_av_get_enum(&out, "status", &str), 0);
    assert_string_equal(str, "INVALID");
    assert_int_equal(cw_av_get_array_size(&out, "reasons", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cw_av_get_str_at(&out, "reasons", 1, &str), 0);
    assert_string_equal(str, "EVIDENCE_EXPIRED");
    assert_int_equal(cw_av_get_opt_long(&out, "check_in_at", &has, &l), 0);
    assert_true(has && l == INT64_C(1714521600000));
    assert_int_equal(cw_av_get_opt_long(&out, "check_out_at", &has, &l), 0);
    assert_int_equal(has, 0);
    assert_int_equal(cw_av_get_opt_int(&out, "duration_minutes", &has, &i), 0);
    assert_int_equal(has, 0);
    assert_int_equal(cw_av_get_long(&out, "unit_price_cents", &l), 0);
    assert_int_equal(l, 18000);
    assert_int_equal(cw_av_get_long(&out, "ledger_index", &l), 0);
    assert_int_equal(l, 41);
    avro_value_decref(&out);
    avro_value_decref(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_files_are_the_compiled_in_schemas),
        cmocka_unit_test(schema_files_follow_the_conventions),
        cmocka_unit_test(records_have_the_contract_fields),
        cmocka_unit_test(fingerprints_match_independent_computation),
        cmocka_unit_test(every_record_round_trips_with_optionals_present),
        cmocka_unit_test(every_record_round_trips_with_optionals_null),
        cmocka_unit_test(foreign_payloads_decode_and_encode_back),
        cmocka_unit_test(visit_event_round_trips_through_helpers),
        cmocka_unit_test(check_result_round_trips_through_helpers),
        cmocka_unit_test(order_finalized_round_trips_through_helpers),
    };
    return cmocka_run_group_tests_name("avro schemas", tests, cw_test_setup_codec, cw_test_teardown_codec);
}
