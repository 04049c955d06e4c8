/* Validation of ingest's request bodies (docs/design.md §3): every field of every
 * request type — presence, type, range, format, unknown members — and the
 * values the parsed structs hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "avro_codec.h"
#include "ingest/json_fields.h"
#include "ingest/records.h"
#include "ingest/requests.h"

/* ---- JSON helpers ------------------------------------------------------------
 * Literals are written with single quotes for readability; J() turns them
 * into double quotes before parsing. Every document parsed in a test is kept
 * until the test ends, since parsed structs borrow its strings. */

#define MAX_DOCS 4096
static json_t *docs[MAX_DOCS];
static size_t ndocs;

static int free_docs(void **state)
{
    (void)state;
    for (size_t i = 0; i < ndocs; i++)
        json_decref(docs[i]);
    ndocs = 0;
    return 0;
}

static json_t *keep(json_t *doc)
{
    if (ndocs == MAX_DOCS)
        fail_msg("too many documents in one test");
    docs[ndocs++] = doc;
    return doc;
}

static json_t *load_quoted(const char *text)
{
    size_t n = strlen(text);
    char *buf = malloc(n + 1);
    assert_non_null(buf);
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t jerr;
    json_t *v = json_loads(buf, JSON_DECODE_ANY, &jerr);
    free(buf);
    if (!v)
        fail_msg("bad JSON literal %s: %s", text, jerr.text);
    return v;
}

static json_t *J(const char *text)
{
    return keep(load_quoted(text));
}

/* The object holding the last member of a dotted path ("home.lat"). */
static json_t *parent_of(json_t *doc, const char *path, char *leaf, size_t leaf_len)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *obj = doc;
    char *part = buf, *dot;
    while ((dot = strchr(part, '.'))) {
        *dot = '\0';
        obj = json_object_get(obj, part);
        if (!json_is_object(obj))
            fail_msg("no object at %s in test body", part);
        part = dot + 1;
    }
    snprintf(leaf, leaf_len, "%s", part);
    return obj;
}

/* text with the member at path removed (it must exist). */
static json_t *without(const char *text, const char *path)
{
    json_t *doc = J(text);
    char leaf[128];
    json_t *obj = parent_of(doc, path, leaf, sizeof(leaf));
    if (json_object_del(obj, leaf) != 0)
        fail_msg("test body has no %s", path);
    return doc;
}

/* text with the member at path set to the JSON value (single quotes ok). */
static json_t *with(const char *text, const char *path, const char *value)
{
    json_t *doc = J(text);
    char leaf[128];
    json_t *obj = parent_of(doc, path, leaf, sizeof(leaf));
    json_object_set_new(obj, leaf, load_quoted(value));
    return doc;
}

/* text with the member at path set to a string of len bytes (NULs allowed). */
static json_t *with_string(const char *text, const char *path, const char *s, size_t len)
{
    json_t *doc = J(text);
    char leaf[128];
    json_t *obj = parent_of(doc, path, leaf, sizeof(leaf));
    json_object_set_new(obj, leaf, json_stringn(s, len));
    return doc;
}

static json_t *with_repeated(const char *text, const char *path, char c, size_t len)
{
    char buf[1024];
    assert_true(len < sizeof(buf));
    memset(buf, c, len);
    return with_string(text, path, buf, len);
}

/* ---- parsers under one signature --------------------------------------------- */

typedef int (*parser)(json_t *body, api_error *err);

static elder_req elder;
static caregiver_req caregiver;
static contract_req contract;
static order_req order;
static visit_req visit;
static evidence_req evidence;
static unfreeze_req unfreeze;

static int p_elder(json_t *b, api_error *e)
{
    return ingest_parse_elder(b, &elder, e);
}
static int p_caregiver(json_t *b, api_error *e)
{
    return ingest_parse_caregiver(b, &caregiver, e);
}
static int p_contract(json_t *b, api_error *e)
{
    return ingest_parse_contract(b, &contract, e);
}
static int p_order(json_t *b, api_error *e)
{
    return ingest_parse_order(b, &order, e);
}
static int p_check_in(json_t *b, api_error *e)
{
    return ingest_parse_visit(b, CW_VISIT_KIND_CHECK_IN, &visit, e);
}
static int p_check_out(json_t *b, api_error *e)
{
    return ingest_parse_visit(b, CW_VISIT_KIND_CHECK_OUT, &visit, e);
}
static int p_evidence(json_t *b, api_error *e)
{
    return ingest_parse_evidence(b, &evidence, e);
}
static int p_unfreeze(json_t *b, api_error *e)
{
    return ingest_parse_unfreeze(b, &unfreeze, e);
}
static elder_status_req elder_status;
static int p_elder_status(json_t *b, api_error *e)
{
    return ingest_parse_elder_status(b, &elder_status, e);
}

static void accepts(parser p, json_t *body, const char *what, int line)
{
    api_error e;
    memset(&e, 0, sizeof(e));
    if (p(body, &e) != 0) {
        char *s = json_dumps(body, JSON_COMPACT);
        fail_msg("line %d: %s rejected %s: %d %s field=%s (%s)", line, what, s, e.status, e.code,
                 e.field, e.message);
    }
}

/* code NULL: any code. */
static void rejects(parser p, json_t *body, const char *code, const char *field,
                    const char *what, int line)
{
    api_error e;
    memset(&e, 0, sizeof(e));
    int rc = p(body, &e);
    if (rc != -1 || e.status != 400 || (code && strcmp(e.code, code) != 0) ||
        strcmp(e.field, field) != 0 || e.message[0] == '\0') {
        char *s = json_dumps(body, JSON_COMPACT);
        fail_msg("line %d: %s on %s: expected 400 %s field=%s, got rc=%d %d %s field=%s (%s)",
                 line, what, s, code ? code : "(any)", field, rc, e.status, e.code, e.field,
                 e.message);
    }
}

#define ACCEPTS(p, body) accepts(p, body, #p, __LINE__)
#define REJECTS(p, body, code, field) rejects(p, body, code, field, #p, __LINE__)

/* ---- request bodies ------------------------------------------------------------ */

#define SHA_A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_A_UPPER "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
#define SHA_B "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
#define SHA_C "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"

#define ID64 "A123456789b123456789c123456789d123456789e123456789f123456789_.:-"
#define ID64_NO_COLON "A123456789b123456789c123456789d123456789e123456789f123456789_.-Z"
#define ID65 ID64 "x"

#define ELDER_MIN                                                                            \
    "{'elder_id':'E1','street_id':'ST1','community_id':'CM1',"                               \
    "'home':{'lat':31.2304,'lon':121.4737}}"
#define ELDER_FULL                                                                           \
    "{'elder_id':'E-0001','street_id':'ST-07','community_id':'CM-12',"                       \
    "'home':{'lat':31.2304,'lon':121.4737,'crs':'GCJ02'},"                                   \
    "'visits_per_month':8,'minutes_per_visit':90,'geofence_radius_m':60}"

#define CAREGIVER_MIN "{'caregiver_id':'CG1','provider_id':'P001','certified':true}"
#define CAREGIVER_FULL                                                                       \
    "{'caregiver_id':'CG-0002','provider_id':'P002','certified':false,'level':'senior'}"

#define CONTRACT_MIN                                                                         \
    "{'contract_id':'K1','provider_id':'P001','period_start':'2024-05-01',"                  \
    "'period_end':'2024-05-31','budget_cents':100000000,'unit_price_cents':8000,"            \
    "'prepay_ratio':0.3,'invalid_deduction_cents':16000}"
#define CONTRACT_FULL                                                                        \
    "{'contract_id':'K-2024-05','provider_id':'P002','period_start':'2024-01-01',"           \
    "'period_end':'2024-12-31','budget_cents':250000000000,'unit_price_cents':12345,"        \
    "'prepay_ratio':0.25,'invalid_deduction_cents':0,'publication_lag_days':5,"        \
    "'street_ids':['S01','S02'],'historical':true,'provider_account':'6222 0210 0101 2345',"   \
    "'treasury_account':'GK-0301'}"

#define ORDER_FULL                                                                           \
    "{'order_id':'O1','elder_id':'E1','caregiver_id':'CG1','service_type':'bathing',"        \
    "'scheduled_start':'2024-05-01T09:00:00+08:00','scheduled_minutes':60}"

#define CHECK_IN_MIN                                                                         \
    "{'event_id':'EV1','order_id':'O1','caregiver_id':'CG1',"                                \
    "'at':'2024-05-01T09:02:00+08:00','gps':{'lat':31.2305,'lon':121.4736}}"
#define CHECK_IN_FULL                                                                        \
    "{'event_id':'EV1','order_id':'O1','caregiver_id':'CG1',"                                \
    "'at':'2024-05-01T09:02:00.250+08:00',"                                                  \
    "'gps':{'lat':31.2305,'lon':121.4736,'accuracy_m':12.5},"                                \
    "'beidou':{'lat':31.2306,'lon':121.4735},'face_match':0.93,"                             \
    "'photo_sha256':'" SHA_A "','device_id':'DEV-77'}"

#define CHECK_OUT_MIN                                                                        \
    "{'event_id':'EV2','order_id':'O1','caregiver_id':'CG1',"                                \
    "'at':'2024-05-01T10:01:00+08:00','gps':{'lat':31.2305,'lon':121.4736}}"
#define CHECK_OUT_FULL                                                                       \
    "{'event_id':'EV2','order_id':'O1','caregiver_id':'CG1',"                                \
    "'at':'2024-05-01T02:01:00Z',"                                                           \
    "'gps':{'lat':-33.8688,'lon':-151.2093,'accuracy_m':0},"                                 \
    "'beidou':{'lat':-33.8689,'lon':-151.2094},'voiceprint_match':0.81,"                     \
    "'photo_sha256':'" SHA_B "','device_id':'DEV-77','items':['bathing','meal']}"

#define EVIDENCE_FULL                                                                        \
    "{'event_id':'EV9','order_id':'O1','at':'2024-05-03T10:00:00+08:00',"                   \
    "'watermark_photo_sha256':'" SHA_B "','elder_recording_sha256':'" SHA_C "'}"

#define UNFREEZE_FULL "{'reason':'reviewed by the district office'}"

/* 2024-05-01T08:00:00+08:00 */
#define MAY1_0800_CST 1714521600000LL
#define MINUTE 60000LL

/* ---- every field: missing, null, wrong type, bad format --------------------- */

/* K_PROVIDER: an id without ':' (the separator of a provider's own ids). */
typedef enum {
    K_ID,
    K_PROVIDER,
    K_TEXT,
    K_NUMBER,
    K_INT,
    K_BOOL,
    K_OBJECT,
    K_TIME,
    K_DATE,
    K_SHA,
    K_ARRAY
} kind;

typedef struct {
    const char *path;
    kind kind;
    int required;
} field_spec;

static const char *const not_a_string[] = {"1", "1.5", "true", "false", "[]", "{}", "['E1']", NULL};
static const char *const not_a_number[] = {"'1'", "'0.5'", "true", "[]", "{}", "[1]", NULL};
static const char *const not_an_int[] = {"'1'", "1.5", "true", "[]", "{}", "[1]", NULL};
static const char *const not_a_bool[] = {"'true'", "1", "0", "[]", "{}", "'yes'", NULL};
static const char *const not_an_object[] = {"'x'", "1", "true", "[]", "[{}]", NULL};
static const char *const not_an_array[] = {"'a'", "1", "true", "{}", NULL};

static const char *const *wrong_values(kind k)
{
    switch (k) {
    case K_NUMBER: return not_a_number;
    case K_INT: return not_an_int;
    case K_BOOL: return not_a_bool;
    case K_OBJECT: return not_an_object;
    case K_ARRAY: return not_an_array;
    default: return not_a_string;
    }
}

static int is_string_kind(kind k)
{
    return k == K_ID || k == K_PROVIDER || k == K_TEXT || k == K_TIME || k == K_DATE ||
           k == K_SHA;
}

static void check_every_field(parser p, const char *what, const char *full,
                              const field_spec *specs)
{
    for (const field_spec *f = specs; f->path; f++) {
        char label[96];
        snprintf(label, sizeof(label), "%s %s", what, f->path);
        /* Absent, and null (which counts as absent). */
        if (f->required) {
            rejects(p, without(full, f->path), "missing_field", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "null"), "missing_field", f->path, label, __LINE__);
        } else {
            accepts(p, without(full, f->path), label, __LINE__);
            accepts(p, with(full, f->path, "null"), label, __LINE__);
        }
        for (const char *const *v = wrong_values(f->kind); *v; v++)
            rejects(p, with(full, f->path, *v), "wrong_type", f->path, label, __LINE__);
        if (is_string_kind(f->kind)) {
            /* An embedded NUL would make the C string differ from the JSON one. */
            rejects(p, with_string(full, f->path, "ab\0cd", 5), "invalid_value", f->path, label,
                    __LINE__);
        }
        switch (f->kind) {
        case K_ID:
            accepts(p, with(full, f->path, "'x'"), label, __LINE__);
            accepts(p, with(full, f->path, "'" ID64 "'"), label, __LINE__);
            rejects(p, with(full, f->path, "'" ID65 "'"), "invalid_id", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "''"), "invalid_id", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "'a b'"), "invalid_id", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "'a/b'"), "invalid_id", f->path, label, __LINE__);
            break;
        case K_PROVIDER:
            accepts(p, with(full, f->path, "'x'"), label, __LINE__);
            accepts(p, with(full, f->path, "'" ID64_NO_COLON "'"), label, __LINE__);
            rejects(p, with(full, f->path, "'" ID65 "'"), "invalid_id", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "''"), "invalid_id", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "'P:1'"), "invalid_id", f->path, label, __LINE__);
            break;
        case K_TEXT:
            rejects(p, with(full, f->path, "''"), NULL, f->path, label, __LINE__);
            break;
        case K_TIME:
            rejects(p, with(full, f->path, "'2024-05-01T08:00:00'"), "invalid_time", f->path,
                    label, __LINE__);
            rejects(p, with(full, f->path, "''"), "invalid_time", f->path, label, __LINE__);
            break;
        case K_DATE:
            rejects(p, with(full, f->path, "'2024-02-30'"), "invalid_date", f->path, label,
                    __LINE__);
            rejects(p, with(full, f->path, "''"), "invalid_date", f->path, label, __LINE__);
            break;
        case K_SHA:
            rejects(p, with(full, f->path, "''"), "invalid_hash", f->path, label, __LINE__);
            rejects(p, with(full, f->path, "'" SHA_A "0'"), "invalid_hash", f->path, label,
                    __LINE__);
            break;
        default: break;
        }
    }
}

static void elder_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {
        {"elder_id", K_ID, 1},          {"street_id", K_ID, 1},
        {"community_id", K_ID, 1},      {"home", K_OBJECT, 1},
        {"home.lat", K_NUMBER, 1},      {"home.lon", K_NUMBER, 1},
        {"home.crs", K_TEXT, 0},        {"visits_per_month", K_INT, 0},
        {"minutes_per_visit", K_INT, 0}, {"geofence_radius_m", K_INT, 0},
        {NULL, K_ID, 0}};
    check_every_field(p_elder, "elder", ELDER_FULL, fields);
}

static void caregiver_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"caregiver_id", K_ID, 1},
                                        {"provider_id", K_PROVIDER, 1},
                                        {"certified", K_BOOL, 1},
                                        {"level", K_TEXT, 0},
                                        {NULL, K_ID, 0}};
    check_every_field(p_caregiver, "caregiver", CAREGIVER_FULL, fields);
}

static void contract_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"contract_id", K_ID, 1},
                                        {"provider_id", K_PROVIDER, 1},
                                        {"period_start", K_DATE, 1},
                                        {"period_end", K_DATE, 1},
                                        {"budget_cents", K_INT, 1},
                                        {"unit_price_cents", K_INT, 1},
                                        {"prepay_ratio", K_NUMBER, 1},
                                        {"invalid_deduction_cents", K_INT, 1},
                                        {"publication_lag_days", K_INT, 0},
                                        {"street_ids", K_ARRAY, 0},
                                        {"historical", K_BOOL, 0},
                                        {"provider_account", K_TEXT, 0},
                                        {"treasury_account", K_TEXT, 0},
                                        {NULL, K_ID, 0}};
    check_every_field(p_contract, "contract", CONTRACT_FULL, fields);
}

static void order_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"order_id", K_ID, 1},
                                        {"elder_id", K_ID, 1},
                                        {"caregiver_id", K_ID, 1},
                                        {"service_type", K_TEXT, 1},
                                        {"scheduled_start", K_TIME, 1},
                                        {"scheduled_minutes", K_INT, 1},
                                        {NULL, K_ID, 0}};
    check_every_field(p_order, "order", ORDER_FULL, fields);
}

static void check_in_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"event_id", K_ID, 1},
                                        {"order_id", K_ID, 1},
                                        {"caregiver_id", K_ID, 1},
                                        {"at", K_TIME, 1},
                                        {"gps", K_OBJECT, 1},
                                        {"gps.lat", K_NUMBER, 1},
                                        {"gps.lon", K_NUMBER, 1},
                                        {"gps.accuracy_m", K_NUMBER, 0},
                                        {"beidou", K_OBJECT, 0},
                                        {"beidou.lat", K_NUMBER, 1},
                                        {"beidou.lon", K_NUMBER, 1},
                                        {"face_match", K_NUMBER, 0},
                                        {"photo_sha256", K_SHA, 0},
                                        {"device_id", K_TEXT, 0},
                                        {NULL, K_ID, 0}};
    check_every_field(p_check_in, "check-in", CHECK_IN_FULL, fields);
}

static void check_out_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"event_id", K_ID, 1},
                                        {"order_id", K_ID, 1},
                                        {"caregiver_id", K_ID, 1},
                                        {"at", K_TIME, 1},
                                        {"gps", K_OBJECT, 1},
                                        {"gps.lat", K_NUMBER, 1},
                                        {"gps.lon", K_NUMBER, 1},
                                        {"gps.accuracy_m", K_NUMBER, 0},
                                        {"beidou", K_OBJECT, 0},
                                        {"beidou.lat", K_NUMBER, 1},
                                        {"beidou.lon", K_NUMBER, 1},
                                        {"voiceprint_match", K_NUMBER, 0},
                                        {"photo_sha256", K_SHA, 0},
                                        {"device_id", K_TEXT, 0},
                                        {"items", K_ARRAY, 0},
                                        {NULL, K_ID, 0}};
    check_every_field(p_check_out, "check-out", CHECK_OUT_FULL, fields);
}

static void evidence_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"event_id", K_ID, 1},
                                        {"order_id", K_ID, 1},
                                        {"at", K_TIME, 1},
                                        {"watermark_photo_sha256", K_SHA, 1},
                                        {"elder_recording_sha256", K_SHA, 1},
                                        {NULL, K_ID, 0}};
    check_every_field(p_evidence, "evidence", EVIDENCE_FULL, fields);
}

static void unfreeze_every_field(void **state)
{
    (void)state;
    static const field_spec fields[] = {{"reason", K_TEXT, 1}, {NULL, K_ID, 0}};
    check_every_field(p_unfreeze, "unfreeze", UNFREEZE_FULL, fields);
}

/* ---- elder ---------------------------------------------------------------------- */

static void elder_minimal(void **state)
{
    (void)state;
    ACCEPTS(p_elder, J(ELDER_MIN));
    assert_string_equal(elder.elder_id, "E1");
    assert_string_equal(elder.street_id, "ST1");
    assert_string_equal(elder.community_id, "CM1");
    assert_true(elder.lat == 31.2304);
    assert_true(elder.lon == 121.4737);
    assert_int_equal(elder.crs, CW_CRS_WGS84);
    assert_int_equal(elder.visits_per_month, 4);
    assert_int_equal(elder.minutes_per_visit, 60);
}

static void elder_full(void **state)
{
    (void)state;
    ACCEPTS(p_elder, J(ELDER_FULL));
    assert_string_equal(elder.elder_id, "E-0001");
    assert_string_equal(elder.street_id, "ST-07");
    assert_string_equal(elder.community_id, "CM-12");
    assert_true(elder.lat == 31.2304);
    assert_true(elder.lon == 121.4737);
    assert_int_equal(elder.crs, CW_CRS_GCJ02);
    assert_int_equal(elder.visits_per_month, 8);
    assert_int_equal(elder.minutes_per_visit, 90);
}

static void elder_null_optionals_take_defaults(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_FULL, "visits_per_month", "null"));
    assert_int_equal(elder.visits_per_month, 4);
    assert_int_equal(elder.minutes_per_visit, 90);
    ACCEPTS(p_elder, with(ELDER_FULL, "minutes_per_visit", "null"));
    assert_int_equal(elder.minutes_per_visit, 60);
    ACCEPTS(p_elder, with(ELDER_FULL, "home.crs", "null"));
    assert_int_equal(elder.crs, CW_CRS_WGS84);
}

static void elder_lat_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_MIN, "home.lat", "90"));
    assert_true(elder.lat == 90.0);
    ACCEPTS(p_elder, with(ELDER_MIN, "home.lat", "-90"));
    assert_true(elder.lat == -90.0);
    ACCEPTS(p_elder, with(ELDER_MIN, "home.lat", "90.0"));
    ACCEPTS(p_elder, with(ELDER_MIN, "home.lat", "0"));
    assert_true(elder.lat == 0.0);
    REJECTS(p_elder, with(ELDER_MIN, "home.lat", "90.0000001"), "out_of_range", "home.lat");
    REJECTS(p_elder, with(ELDER_MIN, "home.lat", "-90.0000001"), "out_of_range", "home.lat");
    REJECTS(p_elder, with(ELDER_MIN, "home.lat", "91"), "out_of_range", "home.lat");
    REJECTS(p_elder, with(ELDER_MIN, "home.lat", "1e300"), "out_of_range", "home.lat");
}

static void elder_lon_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_MIN, "home.lon", "180"));
    assert_true(elder.lon == 180.0);
    ACCEPTS(p_elder, with(ELDER_MIN, "home.lon", "-180"));
    assert_true(elder.lon == -180.0);
    REJECTS(p_elder, with(ELDER_MIN, "home.lon", "180.0000001"), "out_of_range", "home.lon");
    REJECTS(p_elder, with(ELDER_MIN, "home.lon", "-180.0000001"), "out_of_range", "home.lon");
    REJECTS(p_elder, with(ELDER_MIN, "home.lon", "360"), "out_of_range", "home.lon");
}

static void elder_integer_coordinates(void **state)
{
    (void)state;
    ACCEPTS(p_elder, J("{'elder_id':'E1','street_id':'S','community_id':'C',"
                       "'home':{'lat':31,'lon':-121}}"));
    assert_true(elder.lat == 31.0);
    assert_true(elder.lon == -121.0);
}

static void elder_crs_values(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_MIN, "home.crs", "'WGS84'"));
    assert_int_equal(elder.crs, CW_CRS_WGS84);
    ACCEPTS(p_elder, with(ELDER_MIN, "home.crs", "'GCJ02'"));
    assert_int_equal(elder.crs, CW_CRS_GCJ02);
    ACCEPTS(p_elder, with(ELDER_MIN, "home.crs", "'BD09'"));
    assert_int_equal(elder.crs, CW_CRS_BD09);
}

static void elder_unknown_crs(void **state)
{
    (void)state;
    REJECTS(p_elder, with(ELDER_MIN, "home.crs", "'wgs84'"), "invalid_value", "home.crs");
    REJECTS(p_elder, with(ELDER_MIN, "home.crs", "'EPSG:4326'"), "invalid_value", "home.crs");
    REJECTS(p_elder, with(ELDER_MIN, "home.crs", "'GCJ-02'"), "invalid_value", "home.crs");
    REJECTS(p_elder, with(ELDER_MIN, "home.crs", "'BD09 '"), "invalid_value", "home.crs");
    REJECTS(p_elder, with(ELDER_MIN, "home.crs", "'CGCS2000'"), "invalid_value", "home.crs");
    REJECTS(p_elder, with(ELDER_MIN, "home.crs", "4326"), "wrong_type", "home.crs");
    /* The crs belongs in home, not at the top level. */
    REJECTS(p_elder, with(ELDER_MIN, "crs", "'GCJ02'"), "unknown_field", "crs");
}

static void elder_visits_per_month_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_MIN, "visits_per_month", "1"));
    assert_int_equal(elder.visits_per_month, 1);
    ACCEPTS(p_elder, with(ELDER_MIN, "visits_per_month", "62"));
    assert_int_equal(elder.visits_per_month, 62);
    REJECTS(p_elder, with(ELDER_MIN, "visits_per_month", "0"), "out_of_range", "visits_per_month");
    REJECTS(p_elder, with(ELDER_MIN, "visits_per_month", "63"), "out_of_range",
            "visits_per_month");
    REJECTS(p_elder, with(ELDER_MIN, "visits_per_month", "-4"), "out_of_range",
            "visits_per_month");
}

static void elder_geofence_radius_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_elder, J(ELDER_MIN));
    assert_int_equal(elder.has_geofence, 0);
    ACCEPTS(p_elder, with(ELDER_MIN, "geofence_radius_m", "1"));
    assert_int_equal(elder.has_geofence, 1);
    assert_int_equal(elder.geofence_radius_m, 1);
    ACCEPTS(p_elder, with(ELDER_MIN, "geofence_radius_m", "1000"));
    assert_int_equal(elder.geofence_radius_m, 1000);
    ACCEPTS(p_elder, with(ELDER_MIN, "geofence_radius_m", "null"));
    assert_int_equal(elder.has_geofence, 0);
    REJECTS(p_elder, with(ELDER_MIN, "geofence_radius_m", "0"), "out_of_range",
            "geofence_radius_m");
    REJECTS(p_elder, with(ELDER_MIN, "geofence_radius_m", "1001"), "out_of_range",
            "geofence_radius_m");
    REJECTS(p_elder, with(ELDER_MIN, "geofence_radius_m", "45.5"), NULL, "geofence_radius_m");
}

static void elder_minutes_per_visit_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_MIN, "minutes_per_visit", "1"));
    assert_int_equal(elder.minutes_per_visit, 1);
    ACCEPTS(p_elder, with(ELDER_MIN, "minutes_per_visit", "1440"));
    assert_int_equal(elder.minutes_per_visit, 1440);
    REJECTS(p_elder, with(ELDER_MIN, "minutes_per_visit", "0"), "out_of_range",
            "minutes_per_visit");
    REJECTS(p_elder, with(ELDER_MIN, "minutes_per_visit", "1441"), "out_of_range",
            "minutes_per_visit");
    REJECTS(p_elder, with(ELDER_MIN, "minutes_per_visit", "60.0"), "wrong_type",
            "minutes_per_visit");
}

static void elder_unknown_fields(void **state)
{
    (void)state;
    REJECTS(p_elder, with(ELDER_MIN, "nickname", "'Grandma'"), "unknown_field", "nickname");
    REJECTS(p_elder, with(ELDER_MIN, "Elder_id", "'E1'"), "unknown_field", "Elder_id");
    REJECTS(p_elder, with(ELDER_MIN, "home.alt", "12"), "unknown_field", "home.alt");
    REJECTS(p_elder, with(ELDER_MIN, "home.crs_name", "'WGS84'"), "unknown_field",
            "home.crs_name");
    /* A misspelt optional field is not silently dropped. */
    REJECTS(p_elder, with(ELDER_MIN, "visit_per_month", "8"), "unknown_field", "visit_per_month");
}

static void elder_home_missing_members(void **state)
{
    (void)state;
    REJECTS(p_elder, with(ELDER_MIN, "home", "{}"), "missing_field", "home.lat");
    REJECTS(p_elder, with(ELDER_MIN, "home", "{'lat':1}"), "missing_field", "home.lon");
    REJECTS(p_elder, with(ELDER_MIN, "home", "{'lon':1}"), "missing_field", "home.lat");
}

/* ---- identifiers ----------------------------------------------------------------- */

static void ids_length_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_MIN, "elder_id", "'E'"));
    assert_string_equal(elder.elder_id, "E");
    ACCEPTS(p_elder, with(ELDER_MIN, "elder_id", "'" ID64 "'"));
    assert_int_equal(strlen(elder.elder_id), 64);
    assert_string_equal(elder.elder_id, ID64);
    REJECTS(p_elder, with(ELDER_MIN, "elder_id", "''"), "invalid_id", "elder_id");
    REJECTS(p_elder, with(ELDER_MIN, "elder_id", "'" ID65 "'"), "invalid_id", "elder_id");
}

static void ids_character_set(void **state)
{
    (void)state;
    ACCEPTS(p_order, with(ORDER_FULL, "order_id", "'aZ09_.:-'"));
    assert_string_equal(order.order_id, "aZ09_.:-");
    static const char *const bad[] = {"'a b'",  "' a'",    "'a '",      "'a/b'",    "'a\\\\b'",
                                      "'a#b'",  "'a+b'",   "'a@b'",     "'a,b'",    "'a\\tb'",
                                      "'a\\nb'", "'\\u00e9'", "'\\u8001\\u4eba'", "'a\\u0301'", "'a*'",
                                      "'a?b'",  "'a%20b'", "'\\u00a0'", NULL};
    for (const char *const *v = bad; *v; v++)
        rejects(p_order, with(ORDER_FULL, "order_id", *v), "invalid_id", "order_id", *v,
                __LINE__);
}

/* ---- caregiver ------------------------------------------------------------------ */

static void caregiver_minimal(void **state)
{
    (void)state;
    ACCEPTS(p_caregiver, J(CAREGIVER_MIN));
    assert_string_equal(caregiver.caregiver_id, "CG1");
    assert_string_equal(caregiver.provider_id, "P001");
    assert_int_equal(caregiver.certified, 1);
    assert_null(caregiver.level);
}

static void caregiver_full(void **state)
{
    (void)state;
    ACCEPTS(p_caregiver, J(CAREGIVER_FULL));
    assert_string_equal(caregiver.caregiver_id, "CG-0002");
    assert_string_equal(caregiver.provider_id, "P002");
    assert_int_equal(caregiver.certified, 0);
    assert_string_equal(caregiver.level, "senior");
}

static void caregiver_level_length(void **state)
{
    (void)state;
    ACCEPTS(p_caregiver, with_repeated(CAREGIVER_MIN, "level", 'L', 32));
    assert_int_equal(strlen(caregiver.level), 32);
    REJECTS(p_caregiver, with_repeated(CAREGIVER_MIN, "level", 'L', 33), "invalid_length",
            "level");
    REJECTS(p_caregiver, with(CAREGIVER_MIN, "level", "''"), "invalid_length", "level");
    /* Free text: not restricted to id characters. */
    ACCEPTS(p_caregiver, with(CAREGIVER_MIN, "level", "'\\u9ad8\\u7ea7 2'"));
    assert_string_equal(caregiver.level, "\xe9\xab\x98\xe7\xba\xa7 2");
}

static void caregiver_unknown_fields(void **state)
{
    (void)state;
    REJECTS(p_caregiver, with(CAREGIVER_MIN, "name", "'Li'"), "unknown_field", "name");
    REJECTS(p_caregiver, with(CAREGIVER_MIN, "certfied", "true"), "unknown_field", "certfied");
}

/* ---- contract ------------------------------------------------------------------- */

static void contract_minimal(void **state)
{
    (void)state;
    ACCEPTS(p_contract, J(CONTRACT_MIN));
    assert_string_equal(contract.contract_id, "K1");
    assert_string_equal(contract.provider_id, "P001");
    assert_string_equal(contract.period_start, "2024-05-01");
    assert_string_equal(contract.period_end, "2024-05-31");
    assert_int_equal(contract.period_start_day, 19844);
    assert_int_equal(contract.period_end_day, 19874);
    assert_int_equal(contract.budget_cents, 100000000);
    assert_int_equal(contract.unit_price_cents, 8000);
    assert_int_equal(contract.prepay_ratio_ppm, 300000);
    assert_int_equal(contract.invalid_deduction_cents, 16000);
    assert_int_equal(contract.publication_lag_days, 3);
    assert_int_equal(contract.historical, 0);
    assert_null(contract.provider_account);
    assert_null(contract.treasury_account);
}

static void contract_full(void **state)
{
    (void)state;
    ACCEPTS(p_contract, J(CONTRACT_FULL));
    assert_string_equal(contract.contract_id, "K-2024-05");
    assert_string_equal(contract.provider_id, "P002");
    assert_string_equal(contract.period_start, "2024-01-01");
    assert_string_equal(contract.period_end, "2024-12-31");
    assert_int_equal(contract.period_start_day, 19723);
    assert_int_equal(contract.period_end_day, 20088);
    assert_int_equal(contract.budget_cents, 250000000000LL);
    assert_int_equal(contract.unit_price_cents, 12345);
    assert_int_equal(contract.prepay_ratio_ppm, 250000);
    assert_int_equal(contract.invalid_deduction_cents, 0);
    assert_int_equal(contract.publication_lag_days, 5);
    assert_int_equal(contract.historical, 1);
    assert_string_equal(contract.provider_account, "6222 0210 0101 2345");
    assert_string_equal(contract.treasury_account, "GK-0301");
}

/* Accounts are 1-64 printable ASCII characters; historical a boolean. */
static void contract_history_and_accounts(void **state)
{
    (void)state;
    static const char *const accounts[] = {"provider_account", "treasury_account"};
    for (int i = 0; i < 2; i++) {
        const char *name = accounts[i];
        ACCEPTS(p_contract, with_repeated(CONTRACT_MIN, name, '7', 64));
        REJECTS(p_contract, with_repeated(CONTRACT_MIN, name, '7', 65), "invalid_length", name);
        REJECTS(p_contract, with(CONTRACT_MIN, name, "''"), "invalid_length", name);
        ACCEPTS(p_contract, with(CONTRACT_MIN, name, "' !~'"));
        REJECTS(p_contract, with(CONTRACT_MIN, name, "'GK\\t0301'"), "invalid_value", name);
        REJECTS(p_contract, with(CONTRACT_MIN, name, "'国库0301'"), "invalid_value", name);
        REJECTS(p_contract, with(CONTRACT_MIN, name, "'GK\\u007f'"), "invalid_value", name);
    }
    ACCEPTS(p_contract, with(CONTRACT_MIN, "historical", "false"));
    assert_int_equal(contract.historical, 0);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "historical", "true"));
    assert_int_equal(contract.historical, 1);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "historical", "null"));
    assert_int_equal(contract.historical, 0);
    REJECTS(p_contract, with(CONTRACT_MIN, "historical", "'true'"), "wrong_type", "historical");
}

/* The Contract record carries what the request said: historical, and the
 * accounts or null. */
static void contract_record_carries_history_and_accounts(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(cw_avro_init(err, sizeof(err)), 0);
    const char *bodies[] = {CONTRACT_FULL, CONTRACT_MIN};
    for (int i = 0; i < 2; i++) {
        ACCEPTS(p_contract, J(bodies[i]));
        encoded_record rec;
        cw_contract record = ingest_contract_record(&contract, 1714000000000LL);
        assert_int_equal(ingest_encode_contract(&record, &rec, err, sizeof(err)), 0);
        const cw_avro_schema *schema;
        avro_value_t v;
        int historical = -1;
        const char *provider_account, *treasury_account;
        assert_int_equal(cw_avro_decode(rec.data, rec.len, &schema, &v, err, sizeof(err)), 0);
        assert_string_equal(schema->name, "Contract");
        assert_int_equal(cw_av_get_bool(&v, "historical", &historical), 0);
        assert_int_equal(cw_av_get_opt_str(&v, "provider_account", &provider_account), 0);
        assert_int_equal(cw_av_get_opt_str(&v, "treasury_account", &treasury_account), 0);
        if (i == 0) {
            assert_int_equal(historical, 1);
            assert_string_equal(provider_account, "6222 0210 0101 2345");
            assert_string_equal(treasury_account, "GK-0301");
        } else {
            assert_int_equal(historical, 0);
            assert_null(provider_account);
            assert_null(treasury_account);
        }
        avro_value_decref(&v);
        free(rec.data);
    }
    cw_avro_shutdown();
}

static void contract_period_order(void **state)
{
    (void)state;
    ACCEPTS(p_contract, with(CONTRACT_MIN, "period_end", "'2024-05-01'"));
    assert_int_equal(contract.period_end_day, contract.period_start_day);
    REJECTS(p_contract, with(CONTRACT_MIN, "period_end", "'2024-04-30'"), "out_of_range",
            "period_end");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_end", "'2023-05-31'"), "out_of_range",
            "period_end");
}

static void contract_streets(void **state)
{
    (void)state;
    ACCEPTS(p_contract, J(CONTRACT_MIN));
    assert_int_equal(contract.street_count, 0);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "street_ids", "['S01','S-02']"));
    assert_int_equal(contract.street_count, 2);
    assert_string_equal(contract.street_ids[1], "S-02");
    ACCEPTS(p_contract, with(CONTRACT_MIN, "street_ids", "null"));
    assert_int_equal(contract.street_count, 0);
    REJECTS(p_contract, with(CONTRACT_MIN, "street_ids", "'S01'"), "wrong_type", "street_ids");
    REJECTS(p_contract, with(CONTRACT_MIN, "street_ids", "['S01', 7]"), "invalid_id",
            "street_ids[1]");
    REJECTS(p_contract, with(CONTRACT_MIN, "street_ids", "['S 01']"), "invalid_id",
            "street_ids[0]");
    REJECTS(p_contract, with(CONTRACT_MIN, "street_ids", "['']"), "invalid_id", "street_ids[0]");
    char many[1024] = "[";
    for (int i = 0; i <= MAX_CONTRACT_STREETS; i++)
        strcat(many, i ? ",'S'" : "'S'");
    strcat(many, "]");
    REJECTS(p_contract, with(CONTRACT_MIN, "street_ids", many), "out_of_range", "street_ids");
}

static void provider_ids_hold_no_colon(void **state)
{
    (void)state;
    REJECTS(p_contract, with(CONTRACT_MIN, "provider_id", "'P:1'"), "invalid_id", "provider_id");
    REJECTS(p_caregiver, with(CAREGIVER_MIN, "provider_id", "'P:1'"), "invalid_id",
            "provider_id");
}

static void contract_dates(void **state)
{
    (void)state;
    ACCEPTS(p_contract, with(CONTRACT_MIN, "period_start", "'2024-02-29'"));
    assert_int_equal(contract.period_start_day, 19782);
    REJECTS(p_contract, with(CONTRACT_MIN, "period_start", "'2023-02-29'"), "invalid_date",
            "period_start");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_start", "'2024-5-1'"), "invalid_date",
            "period_start");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_start", "'2024/05/01'"), "invalid_date",
            "period_start");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_end", "'2024-05-31T00:00:00+08:00'"),
            "invalid_date", "period_end");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_end", "'2024-13-01'"), "invalid_date",
            "period_end");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_end", "'31/05/2024'"), "invalid_date",
            "period_end");
    REJECTS(p_contract, with(CONTRACT_MIN, "period_end", "20240531"), "wrong_type",
            "period_end");
}

static void contract_money_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_contract, with(CONTRACT_MIN, "budget_cents", "0"));
    assert_int_equal(contract.budget_cents, 0);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "budget_cents", "1000000000000000"));
    assert_int_equal(contract.budget_cents, 1000000000000000LL);
    REJECTS(p_contract, with(CONTRACT_MIN, "budget_cents", "1000000000000001"), "out_of_range",
            "budget_cents");
    REJECTS(p_contract, with(CONTRACT_MIN, "budget_cents", "-1"), "out_of_range", "budget_cents");
    REJECTS(p_contract, with(CONTRACT_MIN, "budget_cents", "-9223372036854775808"),
            "out_of_range", "budget_cents");
    REJECTS(p_contract, with(CONTRACT_MIN, "budget_cents", "9223372036854775807"),
            "out_of_range", "budget_cents");
    REJECTS(p_contract, with(CONTRACT_MIN, "budget_cents", "100.5"), "wrong_type",
            "budget_cents");

    ACCEPTS(p_contract, with(CONTRACT_MIN, "unit_price_cents", "1"));
    assert_int_equal(contract.unit_price_cents, 1);
    REJECTS(p_contract, with(CONTRACT_MIN, "unit_price_cents", "0"), "out_of_range",
            "unit_price_cents");
    REJECTS(p_contract, with(CONTRACT_MIN, "unit_price_cents", "-8000"), "out_of_range",
            "unit_price_cents");

    ACCEPTS(p_contract, with(CONTRACT_MIN, "invalid_deduction_cents", "0"));
    assert_int_equal(contract.invalid_deduction_cents, 0);
    REJECTS(p_contract, with(CONTRACT_MIN, "invalid_deduction_cents", "-1"), "out_of_range",
            "invalid_deduction_cents");
    REJECTS(p_contract, with(CONTRACT_MIN, "invalid_deduction_cents", "1000000000000001"),
            "out_of_range", "invalid_deduction_cents");
}

static void contract_prepay_ratio(void **state)
{
    (void)state;
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "0"));
    assert_int_equal(contract.prepay_ratio_ppm, 0);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "1"));
    assert_int_equal(contract.prepay_ratio_ppm, 1000000);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "1.0"));
    assert_int_equal(contract.prepay_ratio_ppm, 1000000);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "0.3"));
    assert_int_equal(contract.prepay_ratio_ppm, 300000);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "0.7"));
    assert_int_equal(contract.prepay_ratio_ppm, 700000);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "0.000001"));
    assert_int_equal(contract.prepay_ratio_ppm, 1);
    REJECTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "1.0000001"), "out_of_range",
            "prepay_ratio");
    REJECTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "1.01"), "out_of_range",
            "prepay_ratio");
    REJECTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "30"), "out_of_range", "prepay_ratio");
    REJECTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "-0.0000001"), "out_of_range",
            "prepay_ratio");
    REJECTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "'30%'"), "wrong_type",
            "prepay_ratio");
}

/* A ratio with six decimals becomes exactly that many ppm: the product with
 * 1e6 is rounded, not truncated (0.000249 * 1e6 is 248.99999999999997). */
static void contract_prepay_ratio_sweep(void **state)
{
    (void)state;
    for (int k = 0; k < 1000000; k += 97) {
        char value[24];
        snprintf(value, sizeof(value), "%d.%06d", k / 1000000, k % 1000000);
        json_t *body = with(CONTRACT_MIN, "prepay_ratio", value);
        accepts(p_contract, body, value, __LINE__);
        if (contract.prepay_ratio_ppm != k)
            fail_msg("prepay_ratio %s -> %lld ppm", value, (long long)contract.prepay_ratio_ppm);
        free_docs(NULL);
    }
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "0.000249"));
    assert_int_equal(contract.prepay_ratio_ppm, 249);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "prepay_ratio", "0.000251"));
    assert_int_equal(contract.prepay_ratio_ppm, 251);
}

static void contract_publication_lag_days(void **state)
{
    (void)state;
    ACCEPTS(p_contract, J(CONTRACT_MIN));
    assert_int_equal(contract.publication_lag_days, 3);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "publication_lag_days", "null"));
    assert_int_equal(contract.publication_lag_days, 3);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "publication_lag_days", "0"));
    assert_int_equal(contract.publication_lag_days, 0);
    ACCEPTS(p_contract, with(CONTRACT_MIN, "publication_lag_days", "31"));
    assert_int_equal(contract.publication_lag_days, 31);
    REJECTS(p_contract, with(CONTRACT_MIN, "publication_lag_days", "-1"), "out_of_range",
            "publication_lag_days");
    REJECTS(p_contract, with(CONTRACT_MIN, "publication_lag_days", "32"), "out_of_range",
            "publication_lag_days");
    REJECTS(p_contract, with(CONTRACT_MIN, "publication_lag_days", "3.5"), "wrong_type",
            "publication_lag_days");
}

static void contract_unknown_fields(void **state)
{
    (void)state;
    REJECTS(p_contract, with(CONTRACT_MIN, "prepay_percent", "30"), "unknown_field",
            "prepay_percent");
    REJECTS(p_contract, with(CONTRACT_MIN, "budget", "1"), "unknown_field", "budget");
}

/* ---- order ---------------------------------------------------------------------- */

static void order_full(void **state)
{
    (void)state;
    ACCEPTS(p_order, J(ORDER_FULL));
    assert_string_equal(order.order_id, "O1");
    assert_string_equal(order.elder_id, "E1");
    assert_string_equal(order.caregiver_id, "CG1");
    assert_string_equal(order.service_type, "bathing");
    assert_int_equal(order.scheduled_start_ms, MAY1_0800_CST + 60 * MINUTE);
    assert_int_equal(order.scheduled_minutes, 60);
}

static void order_scheduled_minutes_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_order, with(ORDER_FULL, "scheduled_minutes", "1"));
    assert_int_equal(order.scheduled_minutes, 1);
    ACCEPTS(p_order, with(ORDER_FULL, "scheduled_minutes", "1440"));
    assert_int_equal(order.scheduled_minutes, 1440);
    REJECTS(p_order, with(ORDER_FULL, "scheduled_minutes", "0"), "out_of_range",
            "scheduled_minutes");
    REJECTS(p_order, with(ORDER_FULL, "scheduled_minutes", "1441"), "out_of_range",
            "scheduled_minutes");
    REJECTS(p_order, with(ORDER_FULL, "scheduled_minutes", "-60"), "out_of_range",
            "scheduled_minutes");
    REJECTS(p_order, with(ORDER_FULL, "scheduled_minutes", "60.5"), "wrong_type",
            "scheduled_minutes");
    REJECTS(p_order, with(ORDER_FULL, "scheduled_minutes", "'60'"), "wrong_type",
            "scheduled_minutes");
}

static void order_service_type_length(void **state)
{
    (void)state;
    ACCEPTS(p_order, with_repeated(ORDER_FULL, "service_type", 's', 64));
    assert_int_equal(strlen(order.service_type), 64);
    REJECTS(p_order, with_repeated(ORDER_FULL, "service_type", 's', 65), "invalid_length",
            "service_type");
    REJECTS(p_order, with(ORDER_FULL, "service_type", "''"), "invalid_length", "service_type");
    ACCEPTS(p_order, with(ORDER_FULL, "service_type", "'meal delivery'"));
    assert_string_equal(order.service_type, "meal delivery");
}

static void order_times(void **state)
{
    (void)state;
    ACCEPTS(p_order, with(ORDER_FULL, "scheduled_start", "'2024-05-01T08:00:00+08:00'"));
    assert_int_equal(order.scheduled_start_ms, MAY1_0800_CST);
    ACCEPTS(p_order, with(ORDER_FULL, "scheduled_start", "'2024-05-01T00:00:00Z'"));
    assert_int_equal(order.scheduled_start_ms, MAY1_0800_CST);
    ACCEPTS(p_order, with(ORDER_FULL, "scheduled_start", "'2024-05-01T00:00:00.125Z'"));
    assert_int_equal(order.scheduled_start_ms, MAY1_0800_CST + 125);
    ACCEPTS(p_order, with(ORDER_FULL, "scheduled_start", "'2024-04-30T20:00:00-04:00'"));
    assert_int_equal(order.scheduled_start_ms, MAY1_0800_CST);
}

static void order_bad_times(void **state)
{
    (void)state;
    static const char *const bad[] = {"'2024-05-01T08:00:00'",       "'2024-05-01 08:00'",
                                      "'2024-02-30T08:00:00+08:00'", "'2024-05-01T24:00:00+08:00'",
                                      "'2024-05-01T08:60:00+08:00'", "'2024-05-01'",
                                      "'tomorrow'",                  "'1714521600000'",
                                      "'2024-05-01T08:00:00+0800'",  "'2024-05-01T08:00:00+08:00 '",
                                      NULL};
    for (const char *const *v = bad; *v; v++)
        rejects(p_order, with(ORDER_FULL, "scheduled_start", *v), "invalid_time",
                "scheduled_start", *v, __LINE__);
    REJECTS(p_order, with(ORDER_FULL, "scheduled_start", "1714521600000"), "wrong_type",
            "scheduled_start");
}

static void order_unknown_fields(void **state)
{
    (void)state;
    REJECTS(p_order, with(ORDER_FULL, "provider_id", "'P001'"), "unknown_field", "provider_id");
    REJECTS(p_order, with(ORDER_FULL, "scheduled_end", "'2024-05-01T10:00:00+08:00'"),
            "unknown_field", "scheduled_end");
}

/* ---- check-in ------------------------------------------------------------------- */

static void check_in_minimal(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, J(CHECK_IN_MIN));
    assert_int_equal(visit.kind, CW_VISIT_KIND_CHECK_IN);
    assert_string_equal(visit.event_id, "EV1");
    assert_string_equal(visit.order_id, "O1");
    assert_string_equal(visit.caregiver_id, "CG1");
    assert_int_equal(visit.at_ms, MAY1_0800_CST + 62 * MINUTE);
    assert_true(visit.gps.lat == 31.2305);
    assert_true(visit.gps.lon == 121.4736);
    assert_false(visit.gps.has_accuracy);
    assert_false(visit.has_beidou);
    assert_false(visit.has_score);
    assert_false(visit.has_photo);
    assert_string_equal(visit.photo_sha256, "");
    assert_null(visit.device_id);
    assert_int_equal(visit.item_count, 0);
}

static void check_in_full(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, J(CHECK_IN_FULL));
    assert_int_equal(visit.kind, CW_VISIT_KIND_CHECK_IN);
    assert_string_equal(visit.event_id, "EV1");
    assert_int_equal(visit.at_ms, MAY1_0800_CST + 62 * MINUTE + 250);
    assert_true(visit.gps.lat == 31.2305);
    assert_true(visit.gps.lon == 121.4736);
    assert_true(visit.gps.has_accuracy);
    assert_true(visit.gps.accuracy_m == 12.5);
    assert_true(visit.has_beidou);
    assert_true(visit.beidou_lat == 31.2306);
    assert_true(visit.beidou_lon == 121.4735);
    assert_true(visit.has_score);
    assert_true(visit.score == 0.93);
    assert_true(visit.has_photo);
    assert_string_equal(visit.photo_sha256, SHA_A);
    assert_string_equal(visit.device_id, "DEV-77");
    assert_int_equal(visit.item_count, 0);
}

static void check_in_gps_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "gps", "{'lat':90,'lon':180}"));
    assert_true(visit.gps.lat == 90.0 && visit.gps.lon == 180.0);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "gps", "{'lat':-90,'lon':-180}"));
    assert_true(visit.gps.lat == -90.0 && visit.gps.lon == -180.0);
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.lat", "90.0000001"), "out_of_range", "gps.lat");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.lat", "-90.0000001"), "out_of_range", "gps.lat");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.lon", "180.0000001"), "out_of_range", "gps.lon");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.lon", "-180.0000001"), "out_of_range",
            "gps.lon");
}

static void check_in_gps_accuracy_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "gps.accuracy_m", "0"));
    assert_true(visit.gps.has_accuracy);
    assert_true(visit.gps.accuracy_m == 0.0);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "gps.accuracy_m", "100000"));
    assert_true(visit.gps.accuracy_m == 100000.0);
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.accuracy_m", "-0.1"), "out_of_range",
            "gps.accuracy_m");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.accuracy_m", "100000.1"), "out_of_range",
            "gps.accuracy_m");
}

static void check_in_beidou(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "beidou", "{'lat':-90,'lon':180}"));
    assert_true(visit.has_beidou);
    assert_true(visit.beidou_lat == -90.0);
    assert_true(visit.beidou_lon == 180.0);
    REJECTS(p_check_in, with(CHECK_IN_MIN, "beidou", "{'lat':90.0000001,'lon':0}"),
            "out_of_range", "beidou.lat");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "beidou", "{'lat':0,'lon':-180.0000001}"),
            "out_of_range", "beidou.lon");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "beidou", "{}"), "missing_field", "beidou.lat");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "beidou", "{'lat':1}"), "missing_field",
            "beidou.lon");
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "beidou", "null"));
    assert_false(visit.has_beidou);
}

static void check_in_gps_missing_members(void **state)
{
    (void)state;
    REJECTS(p_check_in, without(CHECK_IN_MIN, "gps"), "missing_field", "gps");
    REJECTS(p_check_in, without(CHECK_IN_MIN, "gps.lat"), "missing_field", "gps.lat");
    REJECTS(p_check_in, without(CHECK_IN_MIN, "gps.lon"), "missing_field", "gps.lon");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps", "{}"), "missing_field", "gps.lat");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.lon", "'121.4'"), "wrong_type", "gps.lon");
}

static void check_in_face_match_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "face_match", "0"));
    assert_true(visit.has_score);
    assert_true(visit.score == 0.0);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "face_match", "1"));
    assert_true(visit.score == 1.0);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "face_match", "0.80"));
    assert_true(visit.score == 0.80);
    REJECTS(p_check_in, with(CHECK_IN_MIN, "face_match", "-0.01"), "out_of_range", "face_match");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "face_match", "1.01"), "out_of_range", "face_match");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "face_match", "80"), "out_of_range", "face_match");
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "face_match", "null"));
    assert_false(visit.has_score);
}

static void check_in_photo_hash(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "photo_sha256", "'" SHA_A_UPPER "'"));
    assert_true(visit.has_photo);
    assert_string_equal(visit.photo_sha256, SHA_A);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "photo_sha256", "'9F86d081884C7D659a2feaa0c55ad015a3bf"
                                                           "4f1b2b0b822cd15d6c15b0f00A08'"));
    assert_string_equal(visit.photo_sha256, SHA_A);
    /* 63 and 65 characters, non-hex, whitespace, a prefix. */
    REJECTS(p_check_in,
            with(CHECK_IN_MIN, "photo_sha256",
                 "'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0'"),
            "invalid_hash", "photo_sha256");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "photo_sha256", "'" SHA_A "8'"), "invalid_hash",
            "photo_sha256");
    REJECTS(p_check_in,
            with(CHECK_IN_MIN, "photo_sha256",
                 "'gf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'"),
            "invalid_hash", "photo_sha256");
    REJECTS(p_check_in,
            with(CHECK_IN_MIN, "photo_sha256",
                 "' f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'"),
            "invalid_hash", "photo_sha256");
    REJECTS(p_check_in,
            with(CHECK_IN_MIN, "photo_sha256",
                 "'0x86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'"),
            "invalid_hash", "photo_sha256");
    REJECTS(p_check_in,
            with(CHECK_IN_MIN, "photo_sha256", "'sha256:" SHA_A "'"),
            "invalid_hash", "photo_sha256");
}

static void check_in_device_id(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with_repeated(CHECK_IN_MIN, "device_id", 'd', 128));
    assert_int_equal(strlen(visit.device_id), 128);
    REJECTS(p_check_in, with_repeated(CHECK_IN_MIN, "device_id", 'd', 129), "invalid_length",
            "device_id");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "device_id", "''"), "invalid_length", "device_id");
    /* Free text: a device label may hold spaces and slashes. */
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "device_id", "'Pixel 7 / android'"));
    assert_string_equal(visit.device_id, "Pixel 7 / android");
}

static void check_in_at_times(void **state)
{
    (void)state;
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "at", "'2024-05-01T08:00:00+08:00'"));
    assert_int_equal(visit.at_ms, MAY1_0800_CST);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "at", "'2024-05-01T00:00:00Z'"));
    assert_int_equal(visit.at_ms, MAY1_0800_CST);
    ACCEPTS(p_check_in, with(CHECK_IN_MIN, "at", "'2024-05-01T00:00:00.999999Z'"));
    assert_int_equal(visit.at_ms, MAY1_0800_CST + 999);
    REJECTS(p_check_in, with(CHECK_IN_MIN, "at", "'2024-05-01T08:00:00'"), "invalid_time", "at");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "at", "'2024-02-30T08:00:00+08:00'"), "invalid_time",
            "at");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "at", "'2024-05-01T24:00:00+08:00'"), "invalid_time",
            "at");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "at", "'now'"), "invalid_time", "at");
}

static void check_in_unknown_fields(void **state)
{
    (void)state;
    REJECTS(p_check_in, with(CHECK_IN_MIN, "gps.speed", "3"), "unknown_field", "gps.speed");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "beidou", "{'lat':1,'lon':2,'accuracy_m':3}"),
            "unknown_field", "beidou.accuracy_m");
    /* Check-out only fields are unknown on a check-in. */
    REJECTS(p_check_in, with(CHECK_IN_MIN, "voiceprint_match", "0.9"), "unknown_field",
            "voiceprint_match");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "items", "['meal']"), "unknown_field", "items");
    REJECTS(p_check_in, with(CHECK_IN_MIN, "facematch", "0.9"), "unknown_field", "facematch");
}

/* ---- check-out ------------------------------------------------------------------ */

static void check_out_minimal(void **state)
{
    (void)state;
    ACCEPTS(p_check_out, J(CHECK_OUT_MIN));
    assert_int_equal(visit.kind, CW_VISIT_KIND_CHECK_OUT);
    assert_string_equal(visit.event_id, "EV2");
    assert_int_equal(visit.at_ms, MAY1_0800_CST + 121 * MINUTE);
    assert_false(visit.has_score);
    assert_false(visit.has_beidou);
    assert_false(visit.has_photo);
    assert_null(visit.device_id);
    assert_int_equal(visit.item_count, 0);
}

static void check_out_full(void **state)
{
    (void)state;
    ACCEPTS(p_check_out, J(CHECK_OUT_FULL));
    assert_int_equal(visit.kind, CW_VISIT_KIND_CHECK_OUT);
    assert_string_equal(visit.event_id, "EV2");
    assert_string_equal(visit.order_id, "O1");
    assert_string_equal(visit.caregiver_id, "CG1");
    assert_int_equal(visit.at_ms, MAY1_0800_CST + 121 * MINUTE);
    assert_true(visit.gps.lat == -33.8688);
    assert_true(visit.gps.lon == -151.2093);
    assert_true(visit.gps.has_accuracy);
    assert_true(visit.gps.accuracy_m == 0.0);
    assert_true(visit.has_beidou);
    assert_true(visit.beidou_lat == -33.8689);
    assert_true(visit.beidou_lon == -151.2094);
    assert_true(visit.has_score);
    assert_true(visit.score == 0.81);
    assert_true(visit.has_photo);
    assert_string_equal(visit.photo_sha256, SHA_B);
    assert_string_equal(visit.device_id, "DEV-77");
    assert_int_equal(visit.item_count, 2);
    assert_string_equal(visit.items[0], "bathing");
    assert_string_equal(visit.items[1], "meal");
}

static void check_out_voiceprint_bounds(void **state)
{
    (void)state;
    ACCEPTS(p_check_out, with(CHECK_OUT_MIN, "voiceprint_match", "0"));
    assert_true(visit.has_score);
    assert_true(visit.score == 0.0);
    ACCEPTS(p_check_out, with(CHECK_OUT_MIN, "voiceprint_match", "1"));
    assert_true(visit.score == 1.0);
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "voiceprint_match", "-0.01"), "out_of_range",
            "voiceprint_match");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "voiceprint_match", "1.01"), "out_of_range",
            "voiceprint_match");
    /* Check-in only field. */
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "face_match", "0.9"), "unknown_field",
            "face_match");
}

static void check_out_gps_bounds(void **state)
{
    (void)state;
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "gps.lat", "90.0000001"), "out_of_range",
            "gps.lat");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "gps.lon", "-180.0000001"), "out_of_range",
            "gps.lon");
    REJECTS(p_check_out, without(CHECK_OUT_MIN, "gps.lon"), "missing_field", "gps.lon");
    ACCEPTS(p_check_out, with(CHECK_OUT_MIN, "gps", "{'lat':90,'lon':-180,'accuracy_m':5}"));
    assert_true(visit.gps.accuracy_m == 5.0);
}

static void check_out_items(void **state)
{
    (void)state;
    ACCEPTS(p_check_out, with(CHECK_OUT_MIN, "items", "[]"));
    assert_int_equal(visit.item_count, 0);
    ACCEPTS(p_check_out, with(CHECK_OUT_MIN, "items", "null"));
    assert_int_equal(visit.item_count, 0);
    ACCEPTS(p_check_out, with(CHECK_OUT_MIN, "items", "['meal','meal','\\u52a9\\u6d74']"));
    assert_int_equal(visit.item_count, 3);
    assert_string_equal(visit.items[1], "meal");
    assert_string_equal(visit.items[2], "\xe5\x8a\xa9\xe6\xb5\xb4");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "'meal'"), "wrong_type", "items");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "{'0':'meal'}"), "wrong_type", "items");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "[1]"), "wrong_type", "items[0]");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "['meal',2]"), "wrong_type", "items[1]");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "['meal','bath',null]"), "wrong_type",
            "items[2]");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "[['meal']]"), "wrong_type", "items[0]");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "[{}]"), "wrong_type", "items[0]");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "items", "['meal','']"), "invalid_length",
            "items[1]");
}

static void check_out_item_length(void **state)
{
    (void)state;
    char item[130];
    memset(item, 'i', sizeof(item));
    json_t *body = J(CHECK_OUT_MIN);
    json_object_set_new(body, "items", json_pack("[s#]", item, (int)128));
    ACCEPTS(p_check_out, body);
    assert_int_equal(strlen(visit.items[0]), 128);
    body = J(CHECK_OUT_MIN);
    json_object_set_new(body, "items", json_pack("[s,s#]", "meal", item, (int)129));
    REJECTS(p_check_out, body, "invalid_length", "items[1]");
    body = J(CHECK_OUT_MIN);
    json_object_set_new(body, "items", json_pack("[s#]", "me\0al", (int)5));
    REJECTS(p_check_out, body, "invalid_length", "items[0]");
}

static json_t *check_out_with_n_items(size_t n)
{
    json_t *body = J(CHECK_OUT_MIN);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        char item[32];
        snprintf(item, sizeof(item), "item%zu", i);
        json_array_append_new(items, json_string(item));
    }
    json_object_set_new(body, "items", items);
    return body;
}

static void check_out_item_count(void **state)
{
    (void)state;
    ACCEPTS(p_check_out, check_out_with_n_items(1));
    assert_int_equal(visit.item_count, 1);
    ACCEPTS(p_check_out, check_out_with_n_items(100));
    assert_int_equal(visit.item_count, 100);
    assert_string_equal(visit.items[0], "item0");
    assert_string_equal(visit.items[99], "item99");
    REJECTS(p_check_out, check_out_with_n_items(101), "out_of_range", "items");
    REJECTS(p_check_out, check_out_with_n_items(5000), "out_of_range", "items");
}

static void check_out_unknown_fields(void **state)
{
    (void)state;
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "gps.alt", "3"), "unknown_field", "gps.alt");
    REJECTS(p_check_out, with(CHECK_OUT_MIN, "item", "['meal']"), "unknown_field", "item");
}

/* ---- evidence ------------------------------------------------------------------- */

static void evidence_full(void **state)
{
    (void)state;
    ACCEPTS(p_evidence, J(EVIDENCE_FULL));
    assert_string_equal(evidence.event_id, "EV9");
    assert_string_equal(evidence.order_id, "O1");
    assert_int_equal(evidence.at_ms, MAY1_0800_CST + 2 * 1440 * MINUTE + 120 * MINUTE);
    assert_string_equal(evidence.watermark_photo_sha256, SHA_B);
    assert_string_equal(evidence.elder_recording_sha256, SHA_C);
}

static void evidence_hashes_normalized_to_lower_case(void **state)
{
    (void)state;
    json_t *body = with(EVIDENCE_FULL, "watermark_photo_sha256", "'" SHA_A_UPPER "'");
    json_object_set_new(body, "elder_recording_sha256", json_string(SHA_A_UPPER));
    ACCEPTS(p_evidence, body);
    assert_string_equal(evidence.watermark_photo_sha256, SHA_A);
    assert_string_equal(evidence.elder_recording_sha256, SHA_A);
}

static void evidence_bad_hashes(void **state)
{
    (void)state;
    REJECTS(p_evidence,
            with(EVIDENCE_FULL, "watermark_photo_sha256",
                 "'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0'"),
            "invalid_hash", "watermark_photo_sha256");
    REJECTS(p_evidence, with(EVIDENCE_FULL, "elder_recording_sha256", "'" SHA_A "a'"),
            "invalid_hash", "elder_recording_sha256");
    REJECTS(p_evidence,
            with(EVIDENCE_FULL, "elder_recording_sha256",
                 "'zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'"),
            "invalid_hash", "elder_recording_sha256");
}

static void evidence_unknown_fields(void **state)
{
    (void)state;
    /* Evidence is about an order; it carries no caregiver or location. */
    REJECTS(p_evidence, with(EVIDENCE_FULL, "caregiver_id", "'CG1'"), "unknown_field",
            "caregiver_id");
    REJECTS(p_evidence, with(EVIDENCE_FULL, "gps", "{'lat':1,'lon':2}"), "unknown_field", "gps");
    REJECTS(p_evidence, with(EVIDENCE_FULL, "photo_sha256", "'" SHA_A "'"), "unknown_field",
            "photo_sha256");
}

/* ---- unfreeze ------------------------------------------------------------------- */

static void unfreeze_reason(void **state)
{
    (void)state;
    ACCEPTS(p_unfreeze, J(UNFREEZE_FULL));
    assert_string_equal(unfreeze.reason, "reviewed by the district office");
    ACCEPTS(p_unfreeze, with_repeated(UNFREEZE_FULL, "reason", 'r', 500));
    assert_int_equal(strlen(unfreeze.reason), 500);
    REJECTS(p_unfreeze, with_repeated(UNFREEZE_FULL, "reason", 'r', 501), "invalid_length",
            "reason");
    REJECTS(p_unfreeze, with(UNFREEZE_FULL, "reason", "''"), "invalid_length", "reason");
    REJECTS(p_unfreeze, J("{}"), "missing_field", "reason");
    REJECTS(p_unfreeze, with(UNFREEZE_FULL, "caregiver_id", "'CG1'"), "unknown_field",
            "caregiver_id");
}

/* ---- an elder's status ------------------------------------------------------------- */

static void elder_status_periods(void **state)
{
    (void)state;
    ACCEPTS(p_elder_status, J("{'status':'HOSPITALIZED','from':'2024-06-01T08:00:00+08:00',"
                              "'to':'2024-06-05T00:00:00+08:00'}"));
    assert_int_equal(elder_status.status, CW_ELDER_STATUS_HOSPITALIZED);
    assert_true(elder_status.from_ms == 1717200000000LL);
    assert_true(elder_status.has_to && elder_status.to_ms == 1717516800000LL);
    ACCEPTS(p_elder_status, J("{'status':'DECEASED','from':'2024-06-01T08:00:00+08:00'}"));
    assert_false(elder_status.has_to);
    ACCEPTS(p_elder_status, J("{'status':'ACTIVE','from':'2024-06-01T08:00:00Z','to':null}"));
    assert_false(elder_status.has_to);
    REJECTS(p_elder_status, J("{'status':'ASLEEP','from':'2024-06-01T08:00:00Z'}"),
            "invalid_value", "status");
    REJECTS(p_elder_status, J("{'status':'active','from':'2024-06-01T08:00:00Z'}"),
            "invalid_value", "status");
    REJECTS(p_elder_status, J("{'from':'2024-06-01T08:00:00Z'}"), "missing_field", "status");
    REJECTS(p_elder_status, J("{'status':'ACTIVE'}"), "missing_field", "from");
    REJECTS(p_elder_status, J("{'status':'ACTIVE','from':'yesterday'}"), "invalid_time", "from");
    REJECTS(p_elder_status,
            J("{'status':'HOSPITALIZED','from':'2024-06-01T08:00:00Z','to':'2024-06-01T08:00:00Z'}"),
            "invalid_value", "to");
    REJECTS(p_elder_status,
            J("{'status':'DECEASED','from':'2024-06-01T08:00:00Z','to':'2024-06-02T08:00:00Z'}"),
            "invalid_value", "to");
    REJECTS(p_elder_status,
            J("{'status':'ACTIVE','from':'2024-06-01T08:00:00Z','elder_id':'E1'}"),
            "unknown_field", "elder_id");
}

/* ---- the batch envelope's "type" member ---------------------------------------- */

static void type_member_tolerated(void **state)
{
    (void)state;
    ACCEPTS(p_elder, with(ELDER_FULL, "type", "'elder'"));
    assert_string_equal(elder.elder_id, "E-0001");
    ACCEPTS(p_caregiver, with(CAREGIVER_FULL, "type", "'caregiver'"));
    ACCEPTS(p_contract, with(CONTRACT_FULL, "type", "'contract'"));
    ACCEPTS(p_order, with(ORDER_FULL, "type", "'order'"));
    assert_string_equal(order.order_id, "O1");
    ACCEPTS(p_check_in, with(CHECK_IN_FULL, "type", "'check-in'"));
    ACCEPTS(p_check_out, with(CHECK_OUT_FULL, "type", "'check-out'"));
    assert_int_equal(visit.item_count, 2);
    ACCEPTS(p_evidence, with(EVIDENCE_FULL, "type", "'evidence'"));
}

static void type_member_only_at_top_level(void **state)
{
    (void)state;
    REJECTS(p_elder, with(ELDER_FULL, "home.type", "'home'"), "unknown_field", "home.type");
    REJECTS(p_check_in, with(CHECK_IN_FULL, "gps.type", "'gps'"), "unknown_field", "gps.type");
}

/* ---- the error document ---------------------------------------------------------- */

static void error_json_shape(void **state)
{
    (void)state;
    api_error e;
    memset(&e, 0, sizeof(e));
    REJECTS(p_elder, with(ELDER_MIN, "home.lat", "91"), "out_of_range", "home.lat");
    assert_int_equal(p_elder(with(ELDER_MIN, "home.lat", "91"), &e), -1);
    json_t *doc = keep(ingest_error_json(&e));
    assert_non_null(doc);
    assert_int_equal(json_object_size(doc), 3);
    assert_string_equal(json_string_value(json_object_get(doc, "error")), "out_of_range");
    assert_string_equal(json_string_value(json_object_get(doc, "field")), "home.lat");
    assert_string_equal(json_string_value(json_object_get(doc, "message")), e.message);
}

static void api_fail_fills_error(void **state)
{
    (void)state;
    api_error e;
    assert_int_equal(ingest_fail(&e, 404, "unknown_order", "order_id", "order %s is unknown", "O7"),
                     -1);
    assert_int_equal(e.status, 404);
    assert_string_equal(e.code, "unknown_order");
    assert_string_equal(e.field, "order_id");
    assert_string_equal(e.message, "order O7 is unknown");
    assert_int_equal(ingest_fail(&e, 401, "unauthorized", NULL, "no key"), -1);
    assert_string_equal(e.field, "");
}

/* ---- json_fields helpers --------------------------------------------------------- */

static void valid_id_helper(void **state)
{
    (void)state;
    assert_true(cw_id_is_valid("a"));
    assert_true(cw_id_is_valid(ID64));
    assert_false(cw_id_is_valid(""));
    assert_false(cw_id_is_valid(ID65));
    assert_false(cw_id_is_valid("a b"));
    assert_false(cw_id_is_valid("a/b"));
    assert_false(cw_id_is_valid("\xc3\xa9"));
}

static void valid_sha256_helper(void **state)
{
    (void)state;
    assert_true(ingest_is_sha256_hex(SHA_A));
    assert_true(ingest_is_sha256_hex(SHA_A_UPPER));
    assert_false(ingest_is_sha256_hex(""));
    assert_false(ingest_is_sha256_hex(SHA_A "0"));
    assert_false(ingest_is_sha256_hex(SHA_A + 1));
    assert_false(
        ingest_is_sha256_hex("gf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
}

#define T(fn) cmocka_unit_test_teardown(fn, free_docs)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(elder_every_field),
        T(caregiver_every_field),
        T(contract_every_field),
        T(order_every_field),
        T(check_in_every_field),
        T(check_out_every_field),
        T(evidence_every_field),
        T(unfreeze_every_field),
        T(elder_minimal),
        T(elder_full),
        T(elder_null_optionals_take_defaults),
        T(elder_lat_bounds),
        T(elder_lon_bounds),
        T(elder_integer_coordinates),
        T(elder_crs_values),
        T(elder_unknown_crs),
        T(elder_visits_per_month_bounds),
        T(elder_geofence_radius_bounds),
        T(elder_minutes_per_visit_bounds),
        T(elder_unknown_fields),
        T(elder_home_missing_members),
        T(ids_length_bounds),
        T(ids_character_set),
        T(caregiver_minimal),
        T(caregiver_full),
        T(caregiver_level_length),
        T(caregiver_unknown_fields),
        T(contract_minimal),
        T(contract_full),
        T(contract_period_order),
        T(contract_dates),
        T(contract_streets),
        T(provider_ids_hold_no_colon),
        T(contract_money_bounds),
        T(contract_prepay_ratio),
        T(contract_prepay_ratio_sweep),
        T(contract_publication_lag_days),
        T(contract_unknown_fields),
        T(contract_history_and_accounts),
        T(contract_record_carries_history_and_accounts),
        T(order_full),
        T(order_scheduled_minutes_bounds),
        T(order_service_type_length),
        T(order_times),
        T(order_bad_times),
        T(order_unknown_fields),
        T(check_in_minimal),
        T(check_in_full),
        T(check_in_gps_bounds),
        T(check_in_gps_accuracy_bounds),
        T(check_in_beidou),
        T(check_in_gps_missing_members),
        T(check_in_face_match_bounds),
        T(check_in_photo_hash),
        T(check_in_device_id),
        T(check_in_at_times),
        T(check_in_unknown_fields),
        T(check_out_minimal),
        T(check_out_full),
        T(check_out_voiceprint_bounds),
        T(check_out_gps_bounds),
        T(check_out_items),
        T(check_out_item_length),
        T(check_out_item_count),
        T(check_out_unknown_fields),
        T(evidence_full),
        T(evidence_hashes_normalized_to_lower_case),
        T(evidence_bad_hashes),
        T(evidence_unknown_fields),
        T(unfreeze_reason),
        T(elder_status_periods),
        T(type_member_tolerated),
        T(type_member_only_at_top_level),
        T(error_json_shape),
        T(api_fail_fills_error),
        T(valid_id_helper),
        T(valid_sha256_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
