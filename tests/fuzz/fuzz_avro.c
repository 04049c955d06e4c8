/* Fuzzes Avro single-object decoding (cw_avro_decode, common/avro_codec.c)
 * of every schema in schemas/.
 *
 * Input: byte 0 picks the schema (modulo the number of schemas, in the
 * sorted order of the schemas/<Name>.avsc files); the rest is the Avro
 * binary body. The message decoded is the marker, that schema's
 * fingerprint and the body, as a producer would have framed it.
 *
 * Invariants checked (abort, a finding): a message that decodes names the
 * schema it was framed with, and its value encodes again into a message
 * that decodes too.
 *
 * The decode limits are the defaults (CW_AVRO_DEFAULT_LIMITS), as in a
 * service with the default configuration.
 *
 * Ownership: the framed message is malloc'd and freed here; decoded values
 * are released here (avro_value_decref); re-encoded bytes are malloc'd by
 * the codec and freed here. The schemas live from init to exit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_codec.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    cw_log_set_level(CW_LOG_ERROR);
    if (cw_avro_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_avro: %s\n", err);
        abort();
    }
    atexit(cw_avro_shutdown);
    return 0;
}

static void frame(uint8_t *msg, const cw_avro_schema *s, const uint8_t *body, size_t len)
{
    msg[0] = CW_AVRO_MARKER_0;
    msg[1] = CW_AVRO_MARKER_1;
    for (int i = 0; i < 8; i++)
        msg[2 + i] = (uint8_t)(s->fingerprint >> (8 * i));
    if (len > 0)
        memcpy(msg + CW_AVRO_HEADER_LEN, body, len);
}

static void fail(const char *what, const cw_avro_schema *s, const char *err)
{
    fprintf(stderr, "fuzz_avro: %s %s: %s\n", s->name, what, err);
    abort();
}

/* A decoded value encodes, and what it encodes into decodes. */
static void check_round_trip(const cw_avro_schema *s, avro_value_t *value)
{
    char err[256];
    uint8_t *again;
    size_t again_len;
    if (cw_avro_encode(value, s, &again, &again_len, err, sizeof(err)) != 0)
        fail("decoded value does not encode", s, err);
    const cw_avro_schema *again_schema;
    avro_value_t again_value;
    if (cw_avro_decode(again, again_len, &again_schema, &again_value, err, sizeof(err)) != 0)
        fail("re-encoded value does not decode", s, err);
    avro_value_decref(&again_value);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *name = cw_embedded_schemas[data[0] % cw_embedded_schema_count].name;
    const cw_avro_schema *s = cw_avro_schema_by_name(name);
    if (s == NULL)
        abort();
    size_t body_len = size - 1;
    uint8_t *msg = malloc(CW_AVRO_HEADER_LEN + body_len);
    if (msg == NULL)
        return 0;
    frame(msg, s, data + 1, body_len);

    const cw_avro_schema *decoded_schema;
    avro_value_t value;
    char err[256];
    size_t len = CW_AVRO_HEADER_LEN + body_len;
    if (cw_avro_decode(msg, len, &decoded_schema, &value, err, sizeof(err)) == 0) {
        if (decoded_schema != s)
            fail("decoded under another schema", s, decoded_schema->name);
        check_round_trip(s, &value);
        avro_value_decref(&value);
    }
    free(msg);
    return 0;
}
