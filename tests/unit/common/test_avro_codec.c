/* CRC-64-AVRO, Parsing Canonical Form, single-object framing, the body
 * check on decode, and the typed field helpers. Record-by-record round trips
 * of the project's schemas are in test_schemas.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_support.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "crc64_avro.h"

/* ------------------------------------------------------------------ */
/* Expected values                                                     */
/* ------------------------------------------------------------------ */

/* Test vectors of Apache Avro's share/test/data/schema-tests.txt (inputs,
 * canonical forms and fingerprints, the latter cross-checked there against
 * the Java reference implementation; printed as signed longs there, as
 * unsigned hex here). A fingerprint of 0 means the file gives none. */
typedef struct {
    const char *input;
    const char *canonical;
    uint64_t fingerprint;
} pcf_vector;

static const pcf_vector spec_vectors[] = {
    {"\"null\"", "\"null\"", UINT64_C(0x63dd24e7cc258f8a)},
    {"{\"type\":\"null\"}", "\"null\"", 0},
    {"\"boolean\"", "\"boolean\"", UINT64_C(0x9f42fc78a4d4f764)},
    {"{\"type\":\"boolean\"}", "\"boolean\"", 0},
    {"\"int\"", "\"int\"", UINT64_C(0x7275d51a3f395c8f)},
    {"{\"type\":\"int\"}", "\"int\"", 0},
    {"\"long\"", "\"long\"", UINT64_C(0xd054e14493f41db7)},
    {"{\"type\":\"long\"}", "\"long\"", 0},
    {"\"float\"", "\"float\"", UINT64_C(0x4d7c02cb3ea8d790)},
    {"{\"type\":\"float\"}", "\"float\"", 0},
    {"\"double\"", "\"double\"", UINT64_C(0x8e7535c032ab957e)},
    {"{\"type\":\"double\"}", "\"double\"", 0},
    {"\"bytes\"", "\"bytes\"", UINT64_C(0x4fc016dac3201965)},
    {"{\"type\":\"bytes\"}", "\"bytes\"", 0},
    {"\"string\"", "\"string\"", UINT64_C(0x8f014872634503c7)},
    {"{\"type\":\"string\"}", "\"string\"", 0},
    {"[  ]", "[]", UINT64_C(0xeec6e173d23fb9d1)},
    {"[ \"int\"  ]", "[\"int\"]", UINT64_C(0xb763638a48b2fb03)},
    {"[ \"int\" , {\"type\":\"boolean\"} ]", "[\"int\",\"boolean\"]",
     UINT64_C(0x4ad63578080c1602)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", UINT64_C(0xbd0c50c84319be7e)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"namespace\":\"x.y\"}",
     "{\"name\":\"x.y.foo\",\"type\":\"record\",\"fields\":[]}", UINT64_C(0x521d1a6b830ec4ab)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"a.b.foo\", \"namespace\":\"x.y\"}",
     "{\"name\":\"a.b.foo\",\"type\":\"record\",\"fields\":[]}", UINT64_C(0xbfefe5be5021e2b2)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"Useful info\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", UINT64_C(0xbd0c50c84319be7e)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", UINT64_C(0xbd0c50c84319be7e)},
    {"{\"fields\":[], \"type\":\"record\", \"name\":\"foo\", \"doc\":\"foo\", "
     "\"aliases\":[\"foo\",\"bar\"]}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[]}", UINT64_C(0xbd0c50c84319be7e)},
    {"{\"fields\":[{\"type\":{\"type\":\"boolean\"}, \"name\":\"f1\"}], \"type\":\"record\", "
     "\"name\":\"foo\"}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"}]}",
     UINT64_C(0x6cd8eaf1c968a33b)},
    {"{ \"fields\":[{\"type\":\"boolean\", \"aliases\":[], \"name\":\"f1\", "
     "\"default\":\"true\"},\n"
     "            {\"order\":\"descending\",\"name\":\"f2\",\"doc\":\"Hello\",\"type\":\"int\"}],\n"
     "  \"type\":\"record\", \"name\":\"foo\"\n}",
     "{\"name\":\"foo\",\"type\":\"record\",\"fields\":[{\"name\":\"f1\",\"type\":\"boolean\"},"
     "{\"name\":\"f2\",\"type\":\"int\"}]}",
     UINT64_C(0xbc8d05bd57f4934a)},
    {"{\"type\":\"enum\", \"name\":\"foo\", \"symbols\":[\"A1\"]}",
     "{\"name\":\"foo\",\"type\":\"enum\",\"symbols\":[\"A1\"]}", UINT64_C(0xa7fc039e15aa3169)},
    {"{\"namespace\":\"x.y.z\", \"type\":\"enum\", \"name\":\"foo\", \"doc\":\"foo bar\", "
     "\"symbols\":[\"A1\", \"A2\"]}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"enum\",\"symbols\":[\"A1\",\"A2\"]}",
     UINT64_C(0xc2433ae5f4999d8b)},
    {"{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}",
     "{\"name\":\"foo\",\"type\":\"fixed\",\"size\":15}", UINT64_C(0x18602ec3ed31a504)},
    {"{\"namespace\":\"x.y.z\", \"type\":\"fixed\", \"name\":\"foo\", \"doc\":\"foo bar\", "
     "\"size\":32}",
     "{\"name\":\"x.y.z.foo\",\"type\":\"fixed\",\"size\":32}", UINT64_C(0xd579d47693a6171e)},
    {"{ \"items\":{\"type\":\"null\"}, \"type\":\"array\"}",
     "{\"type\":\"array\",\"items\":\"null\"}", UINT64_C(0xf7d13f2f68170a6d)},
    {"{ \"values\":\"string\", \"type\":\"map\"}", "{\"type\":\"map\",\"values\":\"string\"}",
     UINT64_C(0x86ce965d92864572)},
    {"  {\"name\":\"PigValue\",\"type\":\"record\",\n"
     "   \"fields\":[{\"name\":\"value\", \"type\":[\"null\", \"int\", \"long\", \"PigValue\"]}]}",
     "{\"name\":\"PigValue\",\"type\":\"record\",\"fields\":[{\"name\":\"value\",\"type\":"
     "[\"null\",\"int\",\"long\",\"PigValue\"]}]}",
     UINT64_C(0xe795dc6656b7e95b)},
};

/* Namespace inheritance by nested definitions, an own namespace, a dotted
 * name, references by short and full name, attributes (doc, aliases,
 * default, order, logicalType) stripped, keys out of order, a \u escape.
 * Expected canonical form and fingerprint computed with Python fastavro
 * 1.13.1 (fastavro.schema.to_parsing_canonical_form, fingerprint
 * "CRC-64-AVRO", whose hex string is the little-endian byte order). */
static const char nested_schema[] =
    "{\"doc\":\"outer\",\"fields\":[\n"
    "  {\"name\":\"inner\",\"type\":{\"type\":\"record\",\"name\":\"Inner\",\"fields\":"
    "[{\"name\":\"n\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"},"
    "\"doc\":\"d\"}]}},\n"
    "  {\"name\":\"again\",\"type\":\"Inner\",\"default\":{\"n\":1}},\n"
    "  {\"name\":\"kind\",\"type\":{\"symbols\":[\"\\u0041B\",\"CD\"],\"name\":\"Kind\","
    "\"namespace\":\"x\",\"type\":\"enum\",\"default\":\"CD\"}},\n"
    "  {\"name\":\"kind2\",\"type\":[\"null\",\"x.Kind\"],\"default\":null},\n"
    "  {\"name\":\"hash\",\"type\":{\"size\":32,\"type\":\"fixed\",\"name\":\"c.d.Hash\","
    "\"aliases\":[\"h\"]}},\n"
    "  {\"name\":\"hashes\",\"type\":{\"type\":\"map\",\"values\":\"c.d.Hash\"}},\n"
    "  {\"order\":\"ignore\",\"name\":\"list\",\"type\":{\"items\":{\"type\":\"record\","
    "\"name\":\"Item\",\"fields\":[]},\"type\":\"array\"}}],\n"
    " \"namespace\":\"a.b\",\"type\":\"record\",\"name\":\"Outer\",\"aliases\":[\"O\"]}";
static const char nested_canonical[] =
    "{\"name\":\"a.b.Outer\",\"type\":\"record\",\"fields\":["
    "{\"name\":\"inner\",\"type\":{\"name\":\"a.b.Inner\",\"type\":\"record\",\"fields\":"
    "[{\"name\":\"n\",\"type\":\"long\"}]}},"
    "{\"name\":\"again\",\"type\":\"a.b.Inner\"},"
    "{\"name\":\"kind\",\"type\":{\"name\":\"x.Kind\",\"type\":\"enum\",\"symbols\":"
    "[\"AB\",\"CD\"]}},"
    "{\"name\":\"kind2\",\"type\":[\"null\",\"x.Kind\"]},"
    "{\"name\":\"hash\",\"type\":{\"name\":\"c.d.Hash\",\"type\":\"fixed\",\"size\":32}},"
    "{\"name\":\"hashes\",\"type\":{\"type\":\"map\",\"values\":\"c.d.Hash\"}},"
    "{\"name\":\"list\",\"type\":{\"type\":\"array\",\"items\":{\"name\":\"a.b.Item\","
    "\"type\":\"record\",\"fields\":[]}}}]}";
#define NESTED_FINGERPRINT UINT64_C(0x7a3e3f903f4b2183)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static char *canonical_of(const char *json)
{
    char err[256] = "";
    char *out = NULL;
    if (cw_avro_canonical_form(json, &out, err, sizeof err) != 0)
        fail_msg("canonical form of %s: %s", json, err);
    return out;
}

static uint64_t crc64_of(const char *text)
{
    return cw_avro_crc64((const uint8_t *)text, strlen(text));
}

/* header for `record` followed by body[0..n), into out (>= 10 + n bytes). */
static size_t frame(const char *record, const uint8_t *body, size_t n, uint8_t *out)
{
    const cw_avro_schema *s = cw_avro_schema_by_name(record);
    assert_non_null(s);
    out[0] = 0xC3;
    out[1] = 0x01;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(s->fingerprint >> (8 * i));
    memcpy(out + 10, body, n);
    return 10 + n;
}

/* Decodes and expects failure with a message containing `expected`. */
static void assert_decode_fails(const uint8_t *buf, size_t len, const char *expected)
{
    char err[256] = "";
    const cw_avro_schema *s = (const cw_avro_schema *)1;
    avro_value_t v;
    assert_int_equal(cw_avro_decode(buf, len, &s, &v, err, sizeof err), -1);
    assert_null(s);
    assert_null(v.self);
    if (strstr(err, expected) == NULL)
        fail_msg("decode error \"%s\" does not mention \"%s\"", err, expected);
}

static void assert_decodes(const uint8_t *buf, size_t len, avro_value_t *v)
{
    char err[256] = "";
    const cw_avro_schema *s = NULL;
    if (cw_avro_decode(buf, len, &s, v, err, sizeof err) != 0)
        fail_msg("decode: %s", err);
    assert_non_null(s);
}

/* A minimal valid DeadLetter body: service "a", source_topic "t",
 * partition 0, offset 0, key null, payload empty, reason "", at 0. */
static const uint8_t dead_letter_body[] = {0x02, 'a', 0x02, 't', 0x00, 0x00,
                                           0x00, 0x00, 0x00, 0x00};

/* ------------------------------------------------------------------ */
/* CRC-64-AVRO and canonical form                                      */
/* ------------------------------------------------------------------ */

static void crc64_of_nothing_is_the_empty_value(void **state)
{
    (void)state;
    assert_int_equal(cw_avro_crc64(NULL, 0), UINT64_C(0xc15d213aa4d7a795));
}

static void crc64_matches_avro_spec_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
        if (spec_vectors[i].fingerprint == 0)
            continue;
        uint64_t fp = crc64_of(spec_vectors[i].canonical);
        if (fp != spec_vectors[i].fingerprint)
            fail_msg("fingerprint of %s: %016" PRIx64 ", expected %016" PRIx64,
                     spec_vectors[i].canonical, fp, spec_vectors[i].fingerprint);
    }
}

static void canonical_form_matches_avro_spec_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
        char *pcf = canonical_of(spec_vectors[i].input);
        assert_string_equal(pcf, spec_vectors[i].canonical);
        free(pcf);
    }
}

static void canonical_form_resolves_namespaces_and_strips_attributes(void **state)
{
    (void)state;
    char *pcf = canonical_of(nested_schema);
    assert_string_equal(pcf, nested_canonical);
    assert_int_equal(crc64_of(pcf), NESTED_FINGERPRINT);
    free(pcf);
}

static void canonical_form_unquotes_fixed_size(void **state)
{
    (void)state;
    char *pcf = canonical_of("{\"type\":\"fixed\",\"name\":\"F\",\"size\":\"032\"}");
    assert_string_equal(pcf, "{\"name\":\"F\",\"type\":\"fixed\",\"size\":32}");
    free(pcf);
}

static void canonical_form_dotted_name_ignores_namespace(void **state)
{
    (void)state;
    /* The enum inherits q.r from the record's dotted name, not "ignored".
     * Fingerprint from fastavro 1.13.1. */
    char *pcf = canonical_of("{\"type\":\"record\",\"name\":\"q.r.Rec\",\"namespace\":\"ignored\","
                             "\"fields\":[{\"name\":\"e\",\"type\":{\"type\":\"enum\","
                             "\"name\":\"E\",\"symbols\":[\"A\"]}}]}");
    assert_string_equal(pcf, "{\"name\":\"q.r.Rec\",\"type\":\"record\",\"fields\":[{\"name\":"
                             "\"e\",\"type\":{\"name\":\"q.r.E\",\"type\":\"enum\",\"symbols\":"
                             "[\"A\"]}}]}");
    assert_int_equal(crc64_of(pcf), UINT64_C(0x4277fd6646af93f8));
    free(pcf);
}

static void canonical_form_reference_falls_back_to_null_namespace(void **state)
{
    (void)state;
    /* Inside namespace p, "Top" is not p.Top but the null-namespace Top, as
     * the Java parser resolves it (fastavro rejects this schema). */
    char *pcf = canonical_of("{\"type\":\"record\",\"name\":\"Top\",\"fields\":[{\"name\":\"n\","
                             "\"type\":{\"type\":\"record\",\"name\":\"N\",\"namespace\":\"p\","
                             "\"fields\":[{\"name\":\"t\",\"type\":[\"null\",\"Top\"]}]}}]}");
    assert_string_equal(pcf, "{\"name\":\"Top\",\"type\":\"record\",\"fields\":[{\"name\":\"n\","
                             "\"type\":{\"name\":\"p.N\",\"type\":\"record\",\"fields\":[{"
                             "\"name\":\"t\",\"type\":[\"null\",\"Top\"]}]}}]}");
    free(pcf);
}

static void canonical_form_object_naming_a_type_is_a_reference(void **state)
{
    (void)state;
    char *pcf = canonical_of("{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":["
                             "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
                             "\"symbols\":[\"X\"]}},{\"name\":\"b\",\"type\":{\"type\":\"E\"}}]}");
    assert_string_equal(pcf, "{\"name\":\"n.R\",\"type\":\"record\",\"fields\":[{\"name\":\"a\","
                             "\"type\":{\"name\":\"n.E\",\"type\":\"enum\",\"symbols\":[\"X\"]}},"
                             "{\"name\":\"b\",\"type\":\"n.E\"}]}");
    free(pcf);
}

static void canonical_form_escapes_json_strings(void **state)
{
    (void)state;
    char *pcf = canonical_of("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"a\\\"b\\\\c\\n\","
                             "\"\\u00e9\"]}");
    assert_string_equal(pcf, "{\"name\":\"E\",\"type\":\"enum\",\"symbols\":[\"a\\\"b\\\\c\\n\","
                             "\"\xc3\xa9\"]}");
    free(pcf);
}

static void canonical_form_rejects_bad_schemas(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"{\"type\":", "invalid JSON"},
        {"\"Nope\"", "unknown type \"Nope\""},
        {"{\"type\":\"record\",\"name\":\"R\"}", "no \"fields\""},
        {"{\"type\":\"record\",\"fields\":[]}", "no \"name\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"f\"}]}", "\"type\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
         "\"enum\",\"name\":\"E\",\"symbols\":[]}},{\"name\":\"b\",\"type\":{\"type\":\"enum\","
         "\"name\":\"E\",\"symbols\":[]}}]}",
         "defined twice"},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", "size"},
        {"{\"type\":\"array\"}", "items"},
        {"{\"type\":3}", "\"type\""},
        {"12", "expected a type name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        char *out = (char *)"untouched";
        assert_int_equal(cw_avro_canonical_form(cases[i].json, &out, err, sizeof err), -1);
        assert_null(out);
        if (strstr(err, cases[i].error) == NULL)
            fail_msg("%s: error \"%s\" does not mention \"%s\"", cases[i].json, err,
                     cases[i].error);
    }
}

/* ------------------------------------------------------------------ */
/* Registry                                                            */
/* ------------------------------------------------------------------ */

static void registry_finds_every_schema_by_name_and_fingerprint(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(cw_avro_init(err, sizeof err), 0); /* second call: no-op */
    assert_true(cw_embedded_schema_count >= 14);
    for (size_t i = 0; i < cw_embedded_schema_count; i++) {
        const cw_avro_schema *s = cw_avro_schema_by_name(cw_embedded_schemas[i].name);
        assert_non_null(s);
        assert_string_equal(s->name, cw_embedded_schemas[i].name);
        assert_ptr_equal(cw_avro_schema_by_fingerprint(s->fingerprint), s);
        assert_int_equal(crc64_of(s->canonical), s->fingerprint);
        assert_non_null(s->iface);
    }
    assert_null(cw_avro_schema_by_name("NoSuchRecord"));
    assert_null(cw_avro_schema_by_name(NULL));
    assert_null(cw_avro_schema_by_fingerprint(0));
}

/* ------------------------------------------------------------------ */
/* Encoding and framing                                                */
/* ------------------------------------------------------------------ */

static void encode_writes_marker_and_little_endian_fingerprint(void **state)
{
    (void)state;
    const cw_avro_schema *s = cw_avro_schema_by_name("DeadLetter");
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(cw_av_set_str(&v, "service", "a"), 0);
    assert_int_equal(cw_av_set_str(&v, "source_topic", "t"), 0);
    char err[256] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cw_avro_encode(&v, s, &buf, &len, err, sizeof err) != 0)
        fail_msg("encode: %s", err);
    uint8_t expected[32];
    size_t expected_len = frame("DeadLetter", dead_letter_body, sizeof dead_letter_body, expected);
    assert_int_equal(len, expected_len);
    assert_memory_equal(buf, expected, len);
    assert_int_equal(buf[0], 0xC3);
    assert_int_equal(buf[1], 0x01);
    assert_int_equal(buf[2], (uint8_t)s->fingerprint);
    assert_int_equal(buf[9], (uint8_t)(s->fingerprint >> 56));
    free(buf);
    avro_value_decref(&v);
}

static void encode_rejects_value_of_another_schema(void **state)
{
    (void)state;
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("Elder"), &v), 0);
    char err[256] = "";
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    assert_int_equal(cw_avro_encode(&v, cw_avro_schema_by_name("CheckResult"), &buf, &len, err,
                                    sizeof err),
                     -1);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, "not a CheckResult record"));
    avro_value_decref(&v);
}

static void encode_rejects_union_without_branch(void **state)
{
    (void)state;
    const cw_avro_schema *s = cw_avro_schema_by_name("Caregiver");
    avro_value_t v;
    /* Straight from avro-c: "level" has no branch selected. */
    assert_int_equal(avro_generic_value_new(s->iface, &v), 0);
    char err[256] = "";
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(cw_avro_encode(&v, s, &buf, &len, err, sizeof err), -1);
    assert_null(buf);
    assert_non_null(strstr(err, "encode Caregiver"));
    avro_value_decref(&v);
}

/* ------------------------------------------------------------------ */
/* Decoding errors                                                     */
/* ------------------------------------------------------------------ */

static void decode_rejects_short_messages(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t len = frame("DeadLetter", dead_letter_body, sizeof dead_letter_body, buf);
    (void)len;
    assert_decode_fails(buf, 0, "shorter than the 10-byte header");
    assert_decode_fails(buf, 9, "shorter than the 10-byte header");
}

static void decode_rejects_wrong_marker(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t len = frame("DeadLetter", dead_letter_body, sizeof dead_letter_body, buf);
    buf[0] = 0x4f; /* e.g. an Avro container file, "Obj" */
    assert_decode_fails(buf, len, "not Avro single-object encoding");
    buf[0] = 0xC3;
    buf[1] = 0x02;
    assert_decode_fails(buf, len, "not Avro single-object encoding");
}

static void decode_rejects_unknown_fingerprint(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t len = frame("DeadLetter", dead_letter_body, sizeof dead_letter_body, buf);
    buf[5] ^= 0x10;
    assert_decode_fails(buf, len, "unknown schema fingerprint");
}

static void decode_rejects_every_truncation(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t len = frame("DeadLetter", dead_letter_body, sizeof dead_letter_body, buf);
    avro_value_t v;
    assert_decodes(buf, len, &v);
    avro_value_decref(&v);
    for (size_t cut = 10; cut < len; cut++)
        assert_decode_fails(buf, cut, "truncated body");
}

static void decode_rejects_trailing_bytes(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t len = frame("DeadLetter", dead_letter_body, sizeof dead_letter_body, buf);
    buf[len] = 0x00;
    assert_decode_fails(buf, len + 1, "DeadLetter: trailing bytes after the record: 1");
}

/* dead_letter_body with bytes [at, at + n) replaced by patch[0..n) and
 * the rest shifted to follow. */
static size_t patched_dead_letter(size_t at, size_t replaced, const uint8_t *patch, size_t n,
                                  uint8_t *out)
{
    uint8_t body[64];
    memcpy(body, dead_letter_body, at);
    memcpy(body + at, patch, n);
    size_t rest = sizeof dead_letter_body - at - replaced;
    memcpy(body + at + n, dead_letter_body + at + replaced, rest);
    return frame("DeadLetter", body, sizeof dead_letter_body - replaced + n, out);
}

static void decode_rejects_malformed_bodies(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t len;
    /* service length -1 */
    len = patched_dead_letter(0, 2, (const uint8_t[]){0x01}, 1, buf);
    assert_decode_fails(buf, len, "negative length");
    /* service length 2^62: must not reach an allocation */
    len = patched_dead_letter(
        0, 2, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 10,
        buf);
    assert_decode_fails(buf, len, "truncated body");
    /* varint of 11 bytes */
    len = patched_dead_letter(
        4, 1, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
        11, buf);
    assert_decode_fails(buf, len, "varint longer than 10 bytes");
    /* partition 2^31, beyond int */
    len = patched_dead_letter(4, 1, (const uint8_t[]){0x80, 0x80, 0x80, 0x80, 0x10}, 5, buf);
    assert_decode_fails(buf, len, "out of range");
    /* key union branch 2 of ["null", "bytes"] */
    len = patched_dead_letter(6, 1, (const uint8_t[]){0x04}, 1, buf);
    assert_decode_fails(buf, len, "union branch 2 does not exist");
    /* key union branch -1 */
    len = patched_dead_letter(6, 1, (const uint8_t[]){0x01}, 1, buf);
    assert_decode_fails(buf, len, "union branch -1 does not exist");
}

static void decode_rejects_bad_enum_index_and_boolean(void **state)
{
    (void)state;
    uint8_t buf[32];
    /* CaregiverStatusChanged: caregiver_id "", status index 2 of 2, ... */
    size_t len = frame("CaregiverStatusChanged", (const uint8_t[]){0x00, 0x04, 0x00, 0x00, 0x00},
                       5, buf);
    assert_decode_fails(buf, len, "enum index 2 does not exist");
    /* Caregiver: ids "", certified byte 2 */
    len = frame("Caregiver", (const uint8_t[]){0x00, 0x00, 0x02, 0x00, 0x00}, 5, buf);
    assert_decode_fails(buf, len, "boolean byte 2");
}

/* A VisitEvent encoded with no items ends with the empty array's 0 count:
 * other writers may split arrays into blocks, with or without byte sizes. */
static size_t visit_event_with_items(const uint8_t *items, size_t n, uint8_t *out)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("VisitEvent");
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    char err[256];
    uint8_t *buf;
    size_t len;
    assert_int_equal(cw_avro_encode(&v, s, &buf, &len, err, sizeof err), 0);
    avro_value_decref(&v);
    assert_int_equal(buf[len - 1], 0x00);
    memcpy(out, buf, len - 1);
    memcpy(out + len - 1, items, n);
    free(buf);
    return len - 1 + n;
}

static void assert_items(avro_value_t *v, const char *first, const char *second)
{
    size_t n;
    const char *item;
    assert_int_equal(cw_av_get_array_size(v, "items", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cw_av_get_str_at(v, "items", 0, &item), 0);
    assert_string_equal(item, first);
    assert_int_equal(cw_av_get_str_at(v, "items", 1, &item), 0);
    assert_string_equal(item, second);
}

static void decode_accepts_arrays_in_several_blocks(void **state)
{
    (void)state;
    uint8_t buf[256];
    avro_value_t v;
    /* two blocks of one item */
    size_t len = visit_event_with_items(
        (const uint8_t[]){0x02, 0x02, 'x', 0x02, 0x02, 'y', 0x00}, 7, buf);
    assert_decodes(buf, len, &v);
    assert_items(&v, "x", "y");
    avro_value_decref(&v);
    /* one block of count -2 with its size, 4 bytes */
    len = visit_event_with_items((const uint8_t[]){0x03, 0x08, 0x02, 'x', 0x02, 'y', 0x00}, 7,
                                 buf);
    assert_decodes(buf, len, &v);
    assert_items(&v, "x", "y");
    avro_value_decref(&v);
}

static void decode_rejects_bad_array_blocks(void **state)
{
    (void)state;
    uint8_t buf[256];
    /* block size says 2 bytes, the items take 4 */
    size_t len = visit_event_with_items(
        (const uint8_t[]){0x03, 0x04, 0x02, 'x', 0x02, 'y', 0x00}, 7, buf);
    assert_decode_fails(buf, len, "declared as 2");
    /* count 1000 with 3 bytes left */
    len = visit_event_with_items((const uint8_t[]){0xd0, 0x0f, 0x02, 'x', 0x00}, 5, buf);
    assert_decode_fails(buf, len, "1000 items do not fit");
    /* no terminating 0 block */
    len = visit_event_with_items((const uint8_t[]){0x02, 0x02, 'x'}, 3, buf);
    assert_decode_fails(buf, len, "truncated body");
}

/* Limits: a small message cannot become a large value. Each case sets
 * the limits it needs and puts the defaults back. */
static void decode_applies_item_limits_over_every_block(void **state)
{
    (void)state;
    uint8_t buf[256];
    avro_value_t v;
    cw_avro_limits limits = CW_AVRO_DEFAULT_LIMITS;
    limits.max_items = 2;
    cw_avro_set_limits(&limits);
    size_t len = visit_event_with_items(
        (const uint8_t[]){0x02, 0x02, 'x', 0x02, 0x02, 'y', 0x00}, 7, buf);
    assert_decodes(buf, len, &v); /* two items: at the limit */
    avro_value_decref(&v);
    /* three items in three blocks of one: the count is over all blocks */
    len = visit_event_with_items(
        (const uint8_t[]){0x02, 0x02, 'x', 0x02, 0x02, 'y', 0x02, 0x02, 'z', 0x00}, 10, buf);
    assert_decode_fails(buf, len, "avro.max_array_items");
    /* three empty strings in one block */
    len = visit_event_with_items((const uint8_t[]){0x06, 0x00, 0x00, 0x00, 0x00}, 5, buf);
    assert_decode_fails(buf, len, "more than 2 items");
    cw_avro_set_limits(&CW_AVRO_DEFAULT_LIMITS);
    assert_decodes(buf, len, &v);
    avro_value_decref(&v);
}

static void decode_applies_string_and_size_limits(void **state)
{
    (void)state;
    uint8_t buf[256];
    avro_value_t v;
    cw_avro_limits limits = CW_AVRO_DEFAULT_LIMITS;
    limits.max_string_bytes = 3;
    cw_avro_set_limits(&limits);
    size_t len = visit_event_with_items(
        (const uint8_t[]){0x02, 0x06, 'a', 'b', 'c', 0x00}, 6, buf);
    assert_decodes(buf, len, &v); /* three bytes: at the limit */
    avro_value_decref(&v);
    len = visit_event_with_items((const uint8_t[]){0x02, 0x08, 'a', 'b', 'c', 'd', 0x00}, 7, buf);
    assert_decode_fails(buf, len, "avro.max_string_bytes");
    /* Four empty strings estimate 4 x 129 bytes plus the record's other
     * strings: over a 300-byte budget, within 4 KiB. */
    len = visit_event_with_items((const uint8_t[]){0x08, 0x00, 0x00, 0x00, 0x00, 0x00}, 6, buf);
    limits = CW_AVRO_DEFAULT_LIMITS;
    limits.max_decoded_bytes = 300;
    cw_avro_set_limits(&limits);
    assert_decode_fails(buf, len, "avro.max_decoded_bytes");
    limits.max_decoded_bytes = 4096;
    cw_avro_set_limits(&limits);
    assert_decodes(buf, len, &v);
    avro_value_decref(&v);
    cw_avro_set_limits(&CW_AVRO_DEFAULT_LIMITS);
}

/* ------------------------------------------------------------------ */
/* Field helpers                                                       */
/* ------------------------------------------------------------------ */

static void new_value_starts_with_nulls_and_encodes(void **state)
{
    (void)state;
    const cw_avro_schema *s = cw_avro_schema_by_name("CheckResult");
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    const char *event_id = "x";
    int has = 1;
    double measured = 1;
    assert_int_equal(cw_av_get_opt_str(&v, "event_id", &event_id), 0);
    assert_null(event_id);
    assert_int_equal(cw_av_get_opt_double(&v, "measured", &has, &measured), 0);
    assert_int_equal(has, 0);
    char err[256];
    uint8_t *buf;
    size_t len;
    assert_int_equal(cw_avro_encode(&v, s, &buf, &len, err, sizeof err), 0);
    free(buf);
    avro_value_decref(&v);
}

static void setters_and_getters_round_trip(void **state)
{
    (void)state;
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("VisitEvent"), &v), 0);

    assert_int_equal(cw_av_set_str(&v, "event_id", "e-1"), 0);
    assert_int_equal(cw_av_set_enum(&v, "kind", "CHECK_OUT"), 0);
    assert_int_equal(cw_av_set_long(&v, "at", INT64_C(1714521600123)), 0);
    assert_int_equal(cw_av_set_opt_double(&v, "face_match", 1, 0.8), 0);
    assert_int_equal(cw_av_set_opt_double(&v, "voiceprint_match", 0, 0), 0);
    assert_int_equal(cw_av_set_str(&v, "photo_sha256", "ab"), 0); /* nullable, plain setter */
    assert_int_equal(cw_av_set_opt_str(&v, "device_id", NULL), 0);
    static const char *const items[] = {"bath", "meal"};
    assert_int_equal(cw_av_set_str_array(&v, "items", items, 2), 0);
    assert_int_equal(cw_av_append_str(&v, "items", "walk"), 0);

    avro_value_t gps, beidou;
    assert_int_equal(cw_av_field(&v, "gps", &gps), 0);
    assert_int_equal(cw_av_set_double(&gps, "lat", 31.5), 0);
    assert_int_equal(cw_av_set_opt_double(&gps, "accuracy_m", 1, 4.5), 0);
    assert_int_equal(cw_av_set_present(&v, "beidou", &beidou), 0);
    assert_int_equal(cw_av_set_double(&beidou, "lon", 121.25), 0);

    const char *str;
    int64_t l;
    int has;
    double d;
    size_t n;
    assert_int_equal(cw_av_get_str(&v, "event_id", &str), 0);
    assert_string_equal(str, "e-1");
    assert_int_equal(cw_av_get_enum(&v, "kind", &str), 0);
    assert_string_equal(str, "CHECK_OUT");
    assert_int_equal(cw_av_get_long(&v, "at", &l), 0);
    assert_int_equal(l, INT64_C(1714521600123));
    assert_int_equal(cw_av_get_opt_double(&v, "face_match", &has, &d), 0);
    assert_int_equal(has, 1);
    assert_true(d == 0.8);
    assert_int_equal(cw_av_get_opt_double(&v, "voiceprint_match", &has, &d), 0);
    assert_int_equal(has, 0);
    assert_int_equal(cw_av_get_str(&v, "photo_sha256", &str), 0);
    assert_string_equal(str, "ab");
    assert_int_equal(cw_av_get_opt_str(&v, "device_id", &str), 0);
    assert_null(str);
    assert_int_equal(cw_av_get_str(&v, "device_id", &str), -1); /* null */
    assert_int_equal(cw_av_get_array_size(&v, "items", &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cw_av_get_str_at(&v, "items", 2, &str), 0);
    assert_string_equal(str, "walk");
    assert_int_equal(cw_av_get_str_at(&v, "items", 3, &str), -1);

    avro_value_t got;
    assert_int_equal(cw_av_get_present(&v, "beidou", &has, &got), 0);
    assert_int_equal(has, 1);
    assert_int_equal(cw_av_get_double(&got, "lon", &d), 0);
    assert_true(d == 121.25);
    assert_int_equal(cw_av_get_present(&v, "gps", &has, &got), 0); /* plain record */
    assert_int_equal(has, 1);
    assert_int_equal(cw_av_get_opt_double(&got, "lat", &has, &d), 0); /* plain double */
    assert_int_equal(has, 1);
    assert_true(d == 31.5);

    assert_int_equal(cw_av_set_null(&v, "beidou"), 0);
    assert_int_equal(cw_av_get_present(&v, "beidou", &has, &got), 0);
    assert_int_equal(has, 0);
    avro_value_decref(&v);
}

static void helpers_reject_missing_fields_and_wrong_types(void **state)
{
    (void)state;
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("CheckResult"), &v), 0);
    const char *str;
    int64_t l;
    int32_t i;
    int has;
    double d;
    assert_int_equal(cw_av_set_str(&v, "no_such_field", "x"), -1);
    assert_int_equal(cw_av_get_str(&v, "no_such_field", &str), -1);
    assert_int_equal(cw_av_set_long(&v, "rule", 1), -1);     /* string field */
    assert_int_equal(cw_av_set_int(&v, "at", 1), -1);        /* long field */
    assert_int_equal(cw_av_set_str(&v, "measured", "1"), -1); /* ["null","double"] */
    assert_int_equal(cw_av_set_null(&v, "rule"), -1);       /* not nullable */
    assert_int_equal(cw_av_set_enum(&v, "outcome", "PURPLE"), -1);
    assert_int_equal(cw_av_set_enum(&v, "rule", "PASS"), -1);
    assert_int_equal(cw_av_set_str(&v, "rule", NULL), -1);
    assert_int_equal(cw_av_get_long(&v, "rule", &l), -1);
    assert_int_equal(cw_av_get_int(&v, "at", &i), -1);
    assert_int_equal(cw_av_get_double(&v, "measured", &d), -1); /* null */
    assert_int_equal(cw_av_get_opt_double(&v, "rule", &has, &d), -1);
    assert_int_equal(cw_av_get_array_size(&v, "rule", &(size_t){0}), -1);
    assert_int_equal(cw_av_append_str(&v, "rule", "x"), -1);

    avro_value_t rule;
    assert_int_equal(cw_av_field(&v, "rule", &rule), 0);
    assert_int_equal(cw_av_get_str(&rule, "x", &str), -1); /* not a record */
    avro_value_decref(&v);
}

static void int_bool_and_bytes_helpers(void **state)
{
    (void)state;
    avro_value_t v;
    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("DeadLetter"), &v), 0);
    assert_int_equal(cw_av_set_int(&v, "partition", -7), 0);
    assert_int_equal(cw_av_set_opt_bytes(&v, "key", "\0k", 2), 0);
    assert_int_equal(cw_av_set_bytes(&v, "payload", NULL, 0), 0);
    assert_int_equal(cw_av_set_bytes(&v, "payload", NULL, 1), -1);
    int32_t i;
    const void *buf;
    size_t len;
    assert_int_equal(cw_av_get_int(&v, "partition", &i), 0);
    assert_int_equal(i, -7);
    assert_int_equal(cw_av_get_opt_bytes(&v, "key", &buf, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "\0k", 2);
    assert_int_equal(cw_av_get_bytes(&v, "payload", &buf, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(cw_av_set_opt_bytes(&v, "key", NULL, 0), 0);
    assert_int_equal(cw_av_get_opt_bytes(&v, "key", &buf, &len), 0);
    assert_null(buf);
    assert_int_equal(cw_av_get_bytes(&v, "key", &buf, &len), -1);
    avro_value_decref(&v);

    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("Caregiver"), &v), 0);
    int b = -1;
    assert_int_equal(cw_av_set_bool(&v, "certified", 5), 0);
    assert_int_equal(cw_av_get_bool(&v, "certified", &b), 0);
    assert_int_equal(b, 1);
    avro_value_decref(&v);

    assert_int_equal(cw_avro_new_value(cw_avro_schema_by_name("OrderFinalized"), &v), 0);
    int has;
    int64_t l;
    assert_int_equal(cw_av_set_opt_int(&v, "duration_minutes", 1, 61), 0);
    assert_int_equal(cw_av_get_opt_int(&v, "duration_minutes", &has, &i), 0);
    assert_int_equal(has, 1);
    assert_int_equal(i, 61);
    assert_int_equal(cw_av_set_opt_long(&v, "check_in_at", 1, 5), 0);
    assert_int_equal(cw_av_set_opt_long(&v, "check_out_at", 0, 0), 0);
    assert_int_equal(cw_av_get_opt_long(&v, "check_in_at", &has, &l), 0);
    assert_int_equal(has, 1);
    assert_int_equal(l, 5);
    assert_int_equal(cw_av_get_opt_long(&v, "check_out_at", &has, &l), 0);
    assert_int_equal(has, 0);
    avro_value_decref(&v);
}

static void reset_value_restores_nulls_and_empties_arrays(void **state)
{
    (void)state;
    const cw_avro_schema *s = cw_avro_schema_by_name("VisitEvent");
    avro_value_t v, beidou;
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(cw_av_set_present(&v, "beidou", &beidou), 0);
    assert_int_equal(cw_av_set_opt_str(&v, "device_id", "d"), 0);
    assert_int_equal(cw_av_append_str(&v, "items", "x"), 0);
    assert_int_equal(cw_avro_reset_value(&v), 0);
    int has;
    const char *str;
    size_t n;
    assert_int_equal(cw_av_get_present(&v, "beidou", &has, &beidou), 0);
    assert_int_equal(has, 0);
    assert_int_equal(cw_av_get_opt_str(&v, "device_id", &str), 0);
    assert_null(str);
    assert_int_equal(cw_av_get_array_size(&v, "items", &n), 0);
    assert_int_equal(n, 0);
    char err[256];
    uint8_t *buf;
    size_t len;
    assert_int_equal(cw_avro_encode(&v, s, &buf, &len, err, sizeof err), 0);
    free(buf);
    avro_value_decref(&v);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(crc64_of_nothing_is_the_empty_value),
        cmocka_unit_test(crc64_matches_avro_spec_vectors),
        cmocka_unit_test(canonical_form_matches_avro_spec_vectors),
        cmocka_unit_test(canonical_form_resolves_namespaces_and_strips_attributes),
        cmocka_unit_test(canonical_form_unquotes_fixed_size),
        cmocka_unit_test(canonical_form_dotted_name_ignores_namespace),
        cmocka_unit_test(canonical_form_reference_falls_back_to_null_namespace),
        cmocka_unit_test(canonical_form_object_naming_a_type_is_a_reference),
        cmocka_unit_test(canonical_form_escapes_json_strings),
        cmocka_unit_test(canonical_form_rejects_bad_schemas),
    };
    const struct CMUnitTest codec[] = {
        cmocka_unit_test(registry_finds_every_schema_by_name_and_fingerprint),
        cmocka_unit_test(encode_writes_marker_and_little_endian_fingerprint),
        cmocka_unit_test(encode_rejects_value_of_another_schema),
        cmocka_unit_test(encode_rejects_union_without_branch),
        cmocka_unit_test(decode_rejects_short_messages),
        cmocka_unit_test(decode_rejects_wrong_marker),
        cmocka_unit_test(decode_rejects_unknown_fingerprint),
        cmocka_unit_test(decode_rejects_every_truncation),
        cmocka_unit_test(decode_rejects_trailing_bytes),
        cmocka_unit_test(decode_rejects_malformed_bodies),
        cmocka_unit_test(decode_rejects_bad_enum_index_and_boolean),
        cmocka_unit_test(decode_accepts_arrays_in_several_blocks),
        cmocka_unit_test(decode_rejects_bad_array_blocks),
        cmocka_unit_test(decode_applies_item_limits_over_every_block),
        cmocka_unit_test(decode_applies_string_and_size_limits),
        cmocka_unit_test(new_value_starts_with_nulls_and_encodes),
        cmocka_unit_test(setters_and_getters_round_trip),
        cmocka_unit_test(helpers_reject_missing_fields_and_wrong_types),
        cmocka_unit_test(int_bool_and_bytes_helpers),
        cmocka_unit_test(reset_value_restores_nulls_and_empties_arrays),
    };
    int failed = cmocka_run_group_tests_name("avro canonical form", pure, NULL, NULL);
    failed += cmocka_run_group_tests_name("avro codec", codec, cw_test_setup_codec, cw_test_teardown_codec);
    return failed;
}
