/* Avro single-object encoding of carewatch's records, over avro-c.
 *
 * A record is encoded as  C3 01 | CRC-64-AVRO fingerprint (8 bytes, little
 * endian) of the schema's Parsing Canonical Form | Avro binary body. These
 * self-describing bytes are what the services keep (the ledger, Redis) and,
 * by default, what they put on Kafka.
 *
 * On Kafka the framing is a setting (avro.framing, common/avro_config.c):
 * single-object as above, or registry, the Confluent wire format
 *   00 | schema id (4 bytes, big endian) from a schema registry | same body
 * which kcat, Kafka Connect and ksqlDB read. The producer side turns an
 * encoded record into its wire form at the last moment (cw_avro_to_wire);
 * decoding accepts both framings whatever the setting, so a topic can move
 * from one to the other (docs/schemas.md).
 *
 * The schemas are the files schemas/<Record>.avsc, compiled into the library
 * (cmake/embed_schemas.cmake). cw_avro_init() parses them once; after that
 * the schemas, their value interfaces and fingerprints are shared read-only
 * by every thread. Values (avro_value_t) are not thread-safe: each thread
 * creates and uses its own. avro-c keeps its last error message in one
 * static buffer, so every function here copies it into the caller's err at
 * once; do Avro work of one value on one thread.
 *
 * Typical producer:
 *
 *   const cw_avro_schema *s = cw_avro_schema_by_name("CheckResult");
 *   avro_value_t v;
 *   cw_avro_new_value(s, &v);              // nullable fields start as null
 *   cw_av_set_str(&v, "check_id", id);     // helpers in avro_fields.h
 *   ...
 *   uint8_t *buf; size_t len;
 *   if (cw_avro_encode(&v, s, &buf, &len, err, sizeof err) == 0) { send; free(buf); }
 *   avro_value_decref(&v);
 *
 * Typical consumer:
 *
 *   const cw_avro_schema *s; avro_value_t v;
 *   if (cw_avro_decode(payload, len, &s, &v, err, sizeof err) != 0) -> dead letter
 *   if (strcmp(s->name, "VisitEvent") == 0) ...
 *   avro_value_decref(&v);
 */
#ifndef CW_AVRO_CODEC_H
#define CW_AVRO_CODEC_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "avro_fields.h"

/* One schema file compiled into the library (generated C file). */
struct cw_embedded_schema {
    const char *name; /* record name = file name without .avsc */
    const char *json; /* the file's text, NUL-terminated */
    size_t json_len;  /* without the NUL */
};
extern const struct cw_embedded_schema cw_embedded_schemas[];
extern const size_t cw_embedded_schema_count;

#define CW_AVRO_MARKER_0 0xC3
#define CW_AVRO_MARKER_1 0x01
/* Marker and fingerprint: the bytes before the body. */
#define CW_AVRO_HEADER_LEN 10
/* Confluent wire format: magic byte 0 and a 4-byte big-endian schema id. */
#define CW_AVRO_REGISTRY_MAGIC 0x00
#define CW_AVRO_REGISTRY_HEADER_LEN 5

/* A parsed schema. Owned by the codec; valid from cw_avro_init() to
 * cw_avro_shutdown(); never modify it. */
typedef struct cw_avro_schema {
    const char *name;          /* short record name, e.g. "CheckResult" */
    avro_schema_t schema;
    avro_value_iface_t *iface; /* generic value interface for schema */
    uint64_t fingerprint;      /* CRC-64-AVRO of canonical */
    char *canonical;           /* Parsing Canonical Form */
    const char *json;          /* the .avsc text as compiled in */
    int32_t registry_id;       /* the schema registry's id for it; -1 = none (yet) */
} cw_avro_schema;

/* Parses every embedded schema and computes its fingerprint. Call once at
 * start-up, before any thread uses the codec; calling it again while
 * initialized does nothing. Returns 0, or -1 with a message in err. */
int cw_avro_init(char *err, size_t errlen);

/* Frees everything cw_avro_init() made. Every value created from the schemas
 * must have been released first. */
void cw_avro_shutdown(void);

/* The schema whose record name is name ("CheckResult"), or NULL. */
const cw_avro_schema *cw_avro_schema_by_name(const char *name);

/* The schema with this fingerprint, or NULL. */
const cw_avro_schema *cw_avro_schema_by_fingerprint(uint64_t fp);

/* Creates an empty record value of schema s in *out, ready to encode:
 * nullable fields (unions whose first branch is null) hold null, strings,
 * bytes and arrays are empty, numbers 0, enums their first symbol, until
 * set (cw_av_init_empty()). The caller releases it with
 * avro_value_decref(out). Returns 0, or -1. */
int cw_avro_new_value(const cw_avro_schema *s, avro_value_t *out);

/* Empties value for reuse (avro_value_reset), leaving it as
 * cw_avro_new_value() makes it. Returns 0, or -1. */
int cw_avro_reset_value(avro_value_t *value);

/* Encodes value, a record of schema s, as a single-object encoded message.
 * On success returns 0 and sets *out to a malloc'd buffer of *len bytes that
 * the caller frees. On failure returns -1, leaves *out NULL and writes a
 * message into err (a union with no branch selected fails, for instance). */
int cw_avro_encode(avro_value_t *value, const cw_avro_schema *s, uint8_t **out, size_t *len,
                   char *err, size_t errlen);

/* Decodes a message in either framing: single-object (C3 01, the writer's
 * schema found by fingerprint) or registry (00 + schema id: an id given at
 * registration, else asked of the id resolver, below). On success returns
 * 0, sets *schema_out to the writer's schema and *value_out to
 * a new value that the caller releases with avro_value_decref(). On failure
 * returns -1, leaves value_out without a value (nothing to release) and
 * writes a message into err: shorter than the header, wrong marker, unknown
 * fingerprint, a body that is truncated, malformed for the schema (bad union
 * branch or enum index, negative length) or followed by trailing bytes.
 * The body is checked against the schema before avro-c reads it, so hostile
 * lengths never reach an allocation, and against the decode limits below:
 * a small message cannot become a large value. */
/* What one decoded message may hold (avro.* in the configuration). A
 * decoded value costs about CW_AVRO_ITEM_COST bytes per array or map item
 * beyond its strings' bytes: a 1 MB message of a million empty strings
 * would be a ~100 MB value. */
typedef struct {
    size_t max_items;         /* in one array or map, over all its blocks */
    size_t max_string_bytes;  /* one string or bytes value */
    size_t max_decoded_bytes; /* the estimate of the whole decoded value */
} cw_avro_limits;
#define CW_AVRO_ITEM_COST 128
#define CW_AVRO_DEFAULT_LIMITS ((cw_avro_limits){10000, 65536, 8u << 20})

/* Sets the limits every later cw_avro_decode applies (the defaults above
 * until then). Call at start-up, before threads decode. */
void cw_avro_set_limits(const cw_avro_limits *limits);

int cw_avro_decode(const uint8_t *buf, size_t len, const cw_avro_schema **schema_out,
                   avro_value_t *value_out, char *err, size_t errlen);

/* ---- Framing on Kafka (avro.framing) ---------------------------------- */

typedef enum {
    CW_AVRO_FRAMING_SINGLE_OBJECT = 0, /* the default */
    CW_AVRO_FRAMING_REGISTRY = 1
} cw_avro_framing;

/* Sets the framing cw_avro_to_wire writes. Call at start-up, before
 * threads produce; with REGISTRY, after every schema has its id. */
void cw_avro_set_framing(cw_avro_framing framing);
cw_avro_framing cw_avro_get_framing(void);

/* Records the registry's id of schema s (at start-up, before threads
 * decode). Returns 0, or -1 if id is negative or another schema has it. */
int cw_avro_set_registry_id(const cw_avro_schema *s, int32_t id);

/* The schema the registry id was recorded for, or NULL. */
const cw_avro_schema *cw_avro_schema_by_registry_id(int32_t id);

/* Asked by cw_avro_decode for a registry id none of the schemas has: returns
 * the local schema with the same fingerprint, or NULL with a reason in err.
 * It may be called from several threads at once. */
typedef const cw_avro_schema *(*cw_avro_id_resolver)(void *ctx, int32_t id, char *err,
                                                      size_t errlen);
/* Installs the resolver (NULL: none; unknown ids are then errors). release,
 * if not NULL, is called with ctx when the resolver is replaced and by
 * cw_avro_shutdown(). Call at start-up, before threads decode. */
void cw_avro_set_id_resolver(cw_avro_id_resolver fn, void (*release)(void *ctx), void *ctx);

/* The bytes to put on Kafka for value, a record cw_avro_encode made. With
 * single-object framing, or for a value that is not single-object encoded
 * (a tombstone, another format), *wire is value itself and *owned NULL.
 * With registry framing, *wire is  00 | the schema's registry id | body  in
 * a buffer that *owned points to and the caller frees (free(*owned)).
 * Returns 0, or -1 with a message in err: registry framing and a schema with
 * no registry id, or out of memory. */
int cw_avro_to_wire(const uint8_t *value, size_t len, const uint8_t **wire, size_t *wire_len,
                    uint8_t **owned, char *err, size_t errlen);


/* Parsing Canonical Form (Avro 1.11 specification) of a schema given as JSON
 * text. On success returns 0 and sets *out to a malloc'd NUL-terminated
 * string the caller frees; on failure returns -1 with a message in err. */
int cw_avro_canonical_form(const char *schema_json, char **out, char *err, size_t errlen);

#endif
