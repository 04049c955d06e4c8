/* The schema registry client: Confluent's REST API (Apicurio Registry serves
 * it under /apis/ccompat/v7), over common/http_client.
 *
 * With avro.framing: registry a service, at start (cw_avro_configure):
 *   - registers each of its schemas, compiled in from the .avsc files of schemas/, under
 *     its subject (POST /subjects/<subject>/versions) and records the id
 *     the registry answers (cw_avro_set_registry_id): records go on Kafka
 *     as 00 | id | body;
 *   - sets the subject's compatibility to BACKWARD (PUT /config/<subject>),
 *     so the registry refuses a later version that cannot read the records
 *     already written, and the service does not start with it.
 * Subjects follow RecordNameStrategy: the record's full name,
 * "carewatch.v1.VisitEvent", whatever the topic. visit.events carries
 * VisitEvent and OrderAssigned, alerts.all every alert of any street: one
 * subject per record type fits topics that carry several, and a record type
 * on several topics (Alert on alerts.street.* and alerts.command) is one
 * subject with one history.
 *
 * A record read with an id none of the service's schemas has (written by
 * another version of carewatch, or through another registry) is looked up
 * once (GET /schemas/ids/<id>): the answer's Parsing Canonical Form
 * fingerprint is matched against the compiled-in schemas. The outcome, a
 * schema or "not one of ours", is kept for good (an id never changes its
 * schema); a registry that cannot be reached is asked again at most every
 * 5 seconds, and records meanwhile fail to decode with that reason (the
 * stream then dead-letters them, as any undecodable record). */
#ifndef CW_SCHEMA_REGISTRY_H
#define CW_SCHEMA_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "avro_codec.h"
#include "http_client.h"

typedef struct cw_registry cw_registry;

/* Each request: 5 s, 16 KiB of headers, 1 MiB of body. */
#define CW_REGISTRY_TIMEOUT_MS 5000
/* Foreign ids remembered at most (further ones are looked up every time). */
#define CW_REGISTRY_CACHE_MAX 256
/* After a failed lookup (no answer), ids are not asked again for this long. */
#define CW_REGISTRY_RETRY_MS 5000

/* A client of the registry at url, its Confluent-compatible base
 * ("http://127.0.0.1:8085/apis/ccompat/v7"). Connects to nothing yet.
 * Returns NULL with a message in err for a bad URL. */
cw_registry *cw_registry_new(const char *url, char *err, size_t errlen);
void cw_registry_free(cw_registry *r);

/* The subject of schema s (RecordNameStrategy: "carewatch.v1.VisitEvent")
 * into buf. Returns 0, or -1 if it does not fit. */
int cw_registry_subject(const cw_avro_schema *s, char *buf, size_t len);

/* Registers s under its subject with compatibility BACKWARD and sets *id.
 * Returns 0, or -1 with a message in err naming the subject and the
 * registry's answer (an incompatible schema is refused with 409). */
int cw_registry_register(cw_registry *r, const cw_avro_schema *s, int32_t *id, char *err,
                         size_t errlen);

/* Registers every compiled-in schema and records each id in the codec.
 * Returns 0, or -1 at the first failure with a message in err. */
int cw_registry_register_all(cw_registry *r, char *err, size_t errlen);

/* The local schema that registry id stands for (see above), or NULL with a
 * reason in err. Thread-safe. */
const cw_avro_schema *cw_registry_lookup_id(cw_registry *r, int32_t id, char *err,
                                            size_t errlen);

/* Makes r the codec's resolver of unknown ids; the codec owns r from then
 * on and frees it in cw_avro_shutdown(). */
void cw_registry_install_resolver(cw_registry *r);

/* ---- The pure parts (unit-tested) ---------------------------------------- */

/* {"schema":"<schema_json as a JSON string>"}: malloc'd, or NULL. */
char *cw_registry_register_body(const char *schema_json);

/* The "id" of a registration's answer ({"id":7}). Returns 0, or -1. */
int cw_registry_parse_id(const char *body, size_t len, int32_t *id, char *err, size_t errlen);

/* The Avro schema text of GET /schemas/ids/<id>'s answer
 * ({"schema":"...","schemaType":"AVRO"}; no schemaType means AVRO), malloc'd
 * into *schema_json. Returns 0, or -1 with a message (another schema type,
 * no "schema"). */
int cw_registry_parse_schema(const char *body, size_t len, char **schema_json, char *err,
                             size_t errlen);

/* The local schema whose Parsing Canonical Form fingerprint equals that of
 * schema_json, or NULL with a reason in err. */
const cw_avro_schema *cw_registry_match_schema(const char *schema_json, char *err,
                                               size_t errlen);

/* "HTTP <status>" and, when body is the registry's error object
 * ({"error_code":40401,"message":"..."}), its code and message, into buf. */
void cw_registry_describe_error(int status, const char *body, size_t body_len, char *buf,
                                size_t len);

#endif
