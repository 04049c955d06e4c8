/* Typed, validated reads of fields from a JSON object (jansson).
 *
 * Each reader takes the object, the field name and the JSON path prefix of
 * the object (for error messages: "", "home", "gps"), and on failure fills
 * an api_error with status 400 naming the full path. Strings returned are
 * borrowed from the JSON document. Optional readers set *present. */
#ifndef INGEST_JSON_FIELDS_H
#define INGEST_JSON_FIELDS_H

#include <jansson.h>
#include <stdint.h>

#include "access_keys.h" /* cw_id_is_valid */
#include "ingest/api_error.h"

#define ID_MAX_LEN 64

/* 64 hex digits. */
int ingest_is_sha256_hex(const char *s);

int ingest_json_require_object(json_t *obj, const char *prefix, const char *name, json_t **out,
                               api_error *err);
int ingest_json_optional_object(json_t *obj, const char *prefix, const char *name, json_t **out,
                                int *present, api_error *err);
int ingest_json_require_id(json_t *obj, const char *prefix, const char *name, const char **out,
                           api_error *err);
int ingest_json_require_text(json_t *obj, const char *prefix, const char *name, size_t max_len,
                             const char **out, api_error *err);
int ingest_json_optional_text(json_t *obj, const char *prefix, const char *name, size_t max_len,
                              const char **out, api_error *err);
int ingest_json_require_sha256(json_t *obj, const char *prefix, const char *name, char out[65],
                               api_error *err);
int ingest_json_optional_sha256(json_t *obj, const char *prefix, const char *name, char out[65],
                                int *present, api_error *err);
int ingest_json_require_number(json_t *obj, const char *prefix, const char *name, double min,
                               double max,
                               double *out, api_error *err);
int ingest_json_optional_number(json_t *obj, const char *prefix, const char *name, double min,
                                double max,
                                double *out, int *present, api_error *err);
int ingest_json_require_int(json_t *obj, const char *prefix, const char *name, int64_t min,
                            int64_t max,
                            int64_t *out, api_error *err);
int ingest_json_optional_int(json_t *obj, const char *prefix, const char *name, int64_t min,
                             int64_t max,
                             int64_t *out, int *present, api_error *err);
int ingest_json_require_bool(json_t *obj, const char *prefix, const char *name, int *out,
                             api_error *err);
int ingest_json_require_time(json_t *obj, const char *prefix, const char *name, int64_t *ms,
                             api_error *err);
int ingest_json_require_date(json_t *obj, const char *prefix, const char *name, int64_t *days,
                             const char **text, api_error *err);

/* Rejects members of obj not in allowed (NULL-terminated): a misspelt
 * optional field would otherwise be silently ignored. */
int ingest_json_reject_unknown(json_t *obj, const char *prefix, const char *const *allowed,
                               api_error *err);

#endif
