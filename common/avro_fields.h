/* Typed access to the fields of an Avro record value (avro_value_t), by
 * field name, for building and reading carewatch's records.
 *
 *   cw_av_set_str(&v, "order_id", "o-1");
 *   cw_av_set_opt_double(&v, "measured", 1, 42.5);   // has_value = 1
 *   cw_av_set_opt_double(&v, "threshold", 0, 0);     // null
 *   cw_av_set_enum(&v, "outcome", "YELLOW");
 *
 *   const char *order_id;  int has; double measured;
 *   if (cw_av_get_str(&v, "order_id", &order_id) != 0 ||
 *       cw_av_get_opt_double(&v, "measured", &has, &measured) != 0) -> malformed
 *
 * Every function returns 0, or -1 when the field does not exist, has another
 * type, or the value is out of the schema's range (unknown enum symbol).
 *
 * Nullable fields are unions ["null", T]. The plain setters (cw_av_set_str...)
 * also accept such a field and select its T branch; the cw_av_set_opt_*
 * setters select null when told there is no value. The plain getters fail on
 * a null; the cw_av_get_opt_* getters report it (has = 0, or a NULL pointer)
 * and also accept a field that is not nullable.
 *
 * Setters copy what they are given. Pointers returned by getters borrow from
 * the value (strings, bytes) or from the schema (enum symbols) and stay
 * valid until the value is changed, reset or released. */
#ifndef CW_AVRO_FIELDS_H
#define CW_AVRO_FIELDS_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

/* The field itself (a nested record, an array, a union), for direct avro-c
 * access. *out borrows from rec. */
int cw_av_field(avro_value_t *rec, const char *field, avro_value_t *out);

/* --- setters --------------------------------------------------------- */

int cw_av_set_str(avro_value_t *rec, const char *field, const char *v);
/* v == NULL sets null. */
int cw_av_set_opt_str(avro_value_t *rec, const char *field, const char *v);
int cw_av_set_long(avro_value_t *rec, const char *field, int64_t v);
int cw_av_set_opt_long(avro_value_t *rec, const char *field, int has_value, int64_t v);
int cw_av_set_int(avro_value_t *rec, const char *field, int32_t v);
int cw_av_set_opt_int(avro_value_t *rec, const char *field, int has_value, int32_t v);
int cw_av_set_double(avro_value_t *rec, const char *field, double v);
int cw_av_set_opt_double(avro_value_t *rec, const char *field, int has_value, double v);
int cw_av_set_bool(avro_value_t *rec, const char *field, int v);
int cw_av_set_opt_bool(avro_value_t *rec, const char *field, int has_value, int v);
/* symbol must be one of the enum's symbols ("CHECK_IN"). */
int cw_av_set_enum(avro_value_t *rec, const char *field, const char *symbol);
int cw_av_set_bytes(avro_value_t *rec, const char *field, const void *buf, size_t len);
/* buf == NULL sets null. */
int cw_av_set_opt_bytes(avro_value_t *rec, const char *field, const void *buf, size_t len);
/* Sets a nullable field to null. */
int cw_av_set_null(avro_value_t *rec, const char *field);

/* Replaces the contents of an array-of-string field with items[0..n). */
int cw_av_set_str_array(avro_value_t *rec, const char *field, const char *const *items, size_t n);
/* Appends one string to an array-of-string field. */
int cw_av_append_str(avro_value_t *rec, const char *field, const char *item);

/* Selects the record branch of a nullable record field (["null", Fix]) and
 * returns it in *out for filling with the setters; a newly selected record
 * starts out as cw_av_init_empty() leaves it. *out borrows from rec. */
int cw_av_set_present(avro_value_t *rec, const char *field, avro_value_t *out);

/* Gives every field of a record value, through nested records, a value
 * that can be encoded: nullable fields (unions whose first branch is null)
 * null, bytes empty. avro-c leaves unions without a branch and bytes without
 * a buffer, and cannot encode either; cw_avro_new_value() and
 * cw_avro_reset_value() call this already. */
int cw_av_init_empty(avro_value_t *value);

/* --- getters --------------------------------------------------------- */

int cw_av_get_str(avro_value_t *rec, const char *field, const char **out);
/* *out = NULL when the field is null. */
int cw_av_get_opt_str(avro_value_t *rec, const char *field, const char **out);
int cw_av_get_long(avro_value_t *rec, const char *field, int64_t *out);
/* *has_value = 0 (and *out = 0) when the field is null. */
int cw_av_get_opt_long(avro_value_t *rec, const char *field, int *has_value, int64_t *out);
int cw_av_get_int(avro_value_t *rec, const char *field, int32_t *out);
int cw_av_get_opt_int(avro_value_t *rec, const char *field, int *has_value, int32_t *out);
int cw_av_get_double(avro_value_t *rec, const char *field, double *out);
int cw_av_get_opt_double(avro_value_t *rec, const char *field, int *has_value, double *out);
/* *out is 0 or 1. */
int cw_av_get_bool(avro_value_t *rec, const char *field, int *out);
/* *has_value = 0 (and *out = 0) when the field is null. */
int cw_av_get_opt_bool(avro_value_t *rec, const char *field, int *has_value, int *out);
/* *out is the symbol name, borrowed from the schema. */
int cw_av_get_enum(avro_value_t *rec, const char *field, const char **out);
/* *out = NULL when the field is null. */
int cw_av_get_opt_enum(avro_value_t *rec, const char *field, const char **out);
int cw_av_get_bytes(avro_value_t *rec, const char *field, const void **buf, size_t *len);
/* *buf = NULL and *len = 0 when the field is null. */
int cw_av_get_opt_bytes(avro_value_t *rec, const char *field, const void **buf, size_t *len);

/* Number of items of an array field. */
int cw_av_get_array_size(avro_value_t *rec, const char *field, size_t *n);
/* Item i of an array-of-string field. */
int cw_av_get_str_at(avro_value_t *rec, const char *field, size_t i, const char **out);

/* A nullable record field: *has_value = 0 when null, else 1 and *out is the
 * record (borrowed from rec). Also accepts a plain record field. */
int cw_av_get_present(avro_value_t *rec, const char *field, int *has_value, avro_value_t *out);

#endif
