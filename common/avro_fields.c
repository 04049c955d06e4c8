#include "avro_fields.h"

#include <string.h>

/* avro_typeof() of a schema, looking through the links avro-c uses for
 * recursive references. */
static avro_type_t schema_type(avro_schema_t schema)
{
    while (schema != NULL && is_avro_link(schema))
        schema = avro_schema_link_target(schema);
    return schema == NULL ? AVRO_NULL : avro_typeof(schema);
}

static int union_branch_of_type(avro_schema_t union_schema, avro_type_t type)
{
    size_t n = avro_schema_union_size(union_schema);
    for (size_t i = 0; i < n; i++) {
        if (schema_type(avro_schema_union_branch(union_schema, (int)i)) == type)
            return (int)i;
    }
    return -1;
}

int cw_av_field(avro_value_t *rec, const char *field, avro_value_t *out)
{
    if (rec == NULL || field == NULL || out == NULL || avro_value_get_type(rec) != AVRO_RECORD)
        return -1;
    return avro_value_get_by_name(rec, field, out, NULL) == 0 ? 0 : -1;
}

static char empty_bytes[1];

int cw_av_init_empty(avro_value_t *value)
{
    avro_type_t type = avro_value_get_type(value);
    if (type == AVRO_BYTES)
        return avro_value_set_bytes(value, empty_bytes, 0) == 0 ? 0 : -1;
    if (type == AVRO_UNION) {
        avro_value_t branch;
        avro_schema_t schema = avro_value_get_schema(value);
        if (avro_schema_union_size(schema) > 0 &&
            schema_type(avro_schema_union_branch(schema, 0)) == AVRO_NULL)
            return avro_value_set_branch(value, 0, &branch) == 0 ? 0 : -1;
        return 0;
    }
    if (type != AVRO_RECORD)
        return 0;
    size_t n;
    if (avro_value_get_size(value, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        avro_value_t child;
        if (avro_value_get_by_index(value, i, &child, NULL) != 0 || cw_av_init_empty(&child) != 0)
            return -1;
    }
    return 0;
}

/* The value to write a `type` into: the field itself when it has that type,
 * or, when the field is a union with a branch of that type, that branch
 * (selected now). */
static int writable_slot(avro_value_t *rec, const char *field, avro_type_t type,
                         avro_value_t *slot)
{
    avro_value_t value;
    if (cw_av_field(rec, field, &value) != 0)
        return -1;
    if (avro_value_get_type(&value) == type) {
        *slot = value;
        return 0;
    }
    if (avro_value_get_type(&value) != AVRO_UNION)
        return -1;
    int branch = union_branch_of_type(avro_value_get_schema(&value), type);
    if (branch < 0)
        return -1;
    int current;
    int newly_selected = avro_value_get_discriminant(&value, &current) != 0 || current != branch;
    if (avro_value_set_branch(&value, branch, slot) != 0)
        return -1;
    return newly_selected ? cw_av_init_empty(slot) : 0;
}

enum { SLOT_VALUE = 0, SLOT_NULL = 1 };

/* The field's value to read a `type` from, with a union's selected branch
 * in place of the union. Returns SLOT_VALUE with *slot, SLOT_NULL when the
 * value is null, or -1 when it is missing or of another type. */
static int readable_slot(avro_value_t *rec, const char *field, avro_type_t type,
                         avro_value_t *slot)
{
    avro_value_t value;
    if (cw_av_field(rec, field, &value) != 0)
        return -1;
    if (avro_value_get_type(&value) == AVRO_UNION) {
        avro_value_t branch;
        if (avro_value_get_current_branch(&value, &branch) != 0)
            return -1;
        value = branch;
    }
    avro_type_t actual = avro_value_get_type(&value);
    if (actual == AVRO_NULL && type != AVRO_NULL)
        return SLOT_NULL;
    if (actual != type)
        return -1;
    *slot = value;
    return SLOT_VALUE;
}

static int ok(int avro_rval)
{
    return avro_rval == 0 ? 0 : -1;
}

/* --- setters --------------------------------------------------------- */

int cw_av_set_null(avro_value_t *rec, const char *field)
{
    avro_value_t slot;
    if (writable_slot(rec, field, AVRO_NULL, &slot) != 0)
        return -1;
    return ok(avro_value_set_null(&slot));
}

int cw_av_set_str(avro_value_t *rec, const char *field, const char *v)
{
    avro_value_t slot;
    if (v == NULL || writable_slot(rec, field, AVRO_STRING, &slot) != 0)
        return -1;
    return ok(avro_value_set_string(&slot, v));
}

int cw_av_set_opt_str(avro_value_t *rec, const char *field, const char *v)
{
    return v == NULL ? cw_av_set_null(rec, field) : cw_av_set_str(rec, field, v);
}

int cw_av_set_long(avro_value_t *rec, const char *field, int64_t v)
{
    avro_value_t slot;
    if (writable_slot(rec, field, AVRO_INT64, &slot) != 0)
        return -1;
    return ok(avro_value_set_long(&slot, v));
}

int cw_av_set_opt_long(avro_value_t *rec, const char *field, int has_value, int64_t v)
{
    return has_value ? cw_av_set_long(rec, field, v) : cw_av_set_null(rec, field);
}

int cw_av_set_int(avro_value_t *rec, const char *field, int32_t v)
{
    avro_value_t slot;
    if (writable_slot(rec, field, AVRO_INT32, &slot) != 0)
        return -1;
    return ok(avro_value_set_int(&slot, v));
}

int cw_av_set_opt_int(avro_value_t *rec, const char *field, int has_value, int32_t v)
{
    return has_value ? cw_av_set_int(rec, field, v) : cw_av_set_null(rec, field);
}

int cw_av_set_double(avro_value_t *rec, const char *field, double v)
{
    avro_value_t slot;
    if (writable_slot(rec, field, AVRO_DOUBLE, &slot) != 0)
        return -1;
    return ok(avro_value_set_double(&slot, v));
}

int cw_av_set_opt_double(avro_value_t *rec, const char *field, int has_value, double v)
{
    return has_value ? cw_av_set_double(rec, field, v) : cw_av_set_null(rec, field);
}

int cw_av_set_bool(avro_value_t *rec, const char *field, int v)
{
    avro_value_t slot;
    if (writable_slot(rec, field, AVRO_BOOLEAN, &slot) != 0)
        return -1;
    return ok(avro_value_set_boolean(&slot, v != 0));
}

int cw_av_set_opt_bool(avro_value_t *rec, const char *field, int has_value, int v)
{
    return has_value ? cw_av_set_bool(rec, field, v) : cw_av_set_null(rec, field);
}

int cw_av_set_enum(avro_value_t *rec, const char *field, const char *symbol)
{
    avro_value_t slot;
    if (symbol == NULL || writable_slot(rec, field, AVRO_ENUM, &slot) != 0)
        return -1;
    int index = avro_schema_enum_get_by_name(avro_value_get_schema(&slot), symbol);
    if (index < 0)
        return -1;
    return ok(avro_value_set_enum(&slot, index));
}

int cw_av_set_bytes(avro_value_t *rec, const char *field, const void *buf, size_t len)
{
    avro_value_t slot;
    if ((buf == NULL && len > 0) || writable_slot(rec, field, AVRO_BYTES, &slot) != 0)
        return -1;
    /* avro-c takes a non-const pointer (it copies) and cannot encode bytes
     * whose buffer is NULL, even empty ones. */
    return ok(avro_value_set_bytes(&slot, buf == NULL ? empty_bytes : (void *)buf, len));
}

int cw_av_set_opt_bytes(avro_value_t *rec, const char *field, const void *buf, size_t len)
{
    return buf == NULL ? cw_av_set_null(rec, field) : cw_av_set_bytes(rec, field, buf, len);
}

/* The array field as a writable array of strings. */
static int string_array_slot(avro_value_t *rec, const char *field, avro_value_t *array)
{
    if (writable_slot(rec, field, AVRO_ARRAY, array) != 0)
        return -1;
    avro_schema_t items = avro_schema_array_items(avro_value_get_schema(array));
    return schema_type(items) == AVRO_STRING ? 0 : -1;
}

static int append_string(avro_value_t *array, const char *item)
{
    avro_value_t element;
    if (item == NULL || avro_value_append(array, &element, NULL) != 0)
        return -1;
    return ok(avro_value_set_string(&element, item));
}

int cw_av_set_str_array(avro_value_t *rec, const char *field, const char *const *items, size_t n)
{
    avro_value_t array;
    if ((items == NULL && n > 0) || string_array_slot(rec, field, &array) != 0)
        return -1;
    if (avro_value_reset(&array) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (append_string(&array, items[i]) != 0)
            return -1;
    }
    return 0;
}

int cw_av_append_str(avro_value_t *rec, const char *field, const char *item)
{
    avro_value_t array;
    if (string_array_slot(rec, field, &array) != 0)
        return -1;
    return append_string(&array, item);
}

int cw_av_set_present(avro_value_t *rec, const char *field, avro_value_t *out)
{
    if (out == NULL)
        return -1;
    return writable_slot(rec, field, AVRO_RECORD, out);
}

/* --- getters --------------------------------------------------------- */

int cw_av_get_str(avro_value_t *rec, const char *field, const char **out)
{
    avro_value_t slot;
    if (out == NULL || readable_slot(rec, field, AVRO_STRING, &slot) != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_string(&slot, out, NULL));
}

int cw_av_get_opt_str(avro_value_t *rec, const char *field, const char **out)
{
    avro_value_t slot;
    if (out == NULL)
        return -1;
    *out = NULL;
    int kind = readable_slot(rec, field, AVRO_STRING, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_string(&slot, out, NULL));
}

int cw_av_get_long(avro_value_t *rec, const char *field, int64_t *out)
{
    avro_value_t slot;
    if (out == NULL || readable_slot(rec, field, AVRO_INT64, &slot) != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_long(&slot, out));
}

int cw_av_get_opt_long(avro_value_t *rec, const char *field, int *has_value, int64_t *out)
{
    avro_value_t slot;
    if (has_value == NULL || out == NULL)
        return -1;
    *has_value = 0;
    *out = 0;
    int kind = readable_slot(rec, field, AVRO_INT64, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE || avro_value_get_long(&slot, out) != 0)
        return -1;
    *has_value = 1;
    return 0;
}

int cw_av_get_int(avro_value_t *rec, const char *field, int32_t *out)
{
    avro_value_t slot;
    if (out == NULL || readable_slot(rec, field, AVRO_INT32, &slot) != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_int(&slot, out));
}

int cw_av_get_opt_int(avro_value_t *rec, const char *field, int *has_value, int32_t *out)
{
    avro_value_t slot;
    if (has_value == NULL || out == NULL)
        return -1;
    *has_value = 0;
    *out = 0;
    int kind = readable_slot(rec, field, AVRO_INT32, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE || avro_value_get_int(&slot, out) != 0)
        return -1;
    *has_value = 1;
    return 0;
}

int cw_av_get_double(avro_value_t *rec, const char *field, double *out)
{
    avro_value_t slot;
    if (out == NULL || readable_slot(rec, field, AVRO_DOUBLE, &slot) != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_double(&slot, out));
}

int cw_av_get_opt_double(avro_value_t *rec, const char *field, int *has_value, double *out)
{
    avro_value_t slot;
    if (has_value == NULL || out == NULL)
        return -1;
    *has_value = 0;
    *out = 0;
    int kind = readable_slot(rec, field, AVRO_DOUBLE, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE || avro_value_get_double(&slot, out) != 0)
        return -1;
    *has_value = 1;
    return 0;
}

int cw_av_get_bool(avro_value_t *rec, const char *field, int *out)
{
    avro_value_t slot;
    int v;
    if (out == NULL || readable_slot(rec, field, AVRO_BOOLEAN, &slot) != SLOT_VALUE ||
        avro_value_get_boolean(&slot, &v) != 0)
        return -1;
    *out = v != 0;
    return 0;
}

int cw_av_get_opt_bool(avro_value_t *rec, const char *field, int *has_value, int *out)
{
    avro_value_t slot;
    int v;
    if (has_value == NULL || out == NULL)
        return -1;
    *has_value = 0;
    *out = 0;
    int kind = readable_slot(rec, field, AVRO_BOOLEAN, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE || avro_value_get_boolean(&slot, &v) != 0)
        return -1;
    *has_value = 1;
    *out = v != 0;
    return 0;
}

int cw_av_get_enum(avro_value_t *rec, const char *field, const char **out)
{
    avro_value_t slot;
    int index;
    if (out == NULL || readable_slot(rec, field, AVRO_ENUM, &slot) != SLOT_VALUE ||
        avro_value_get_enum(&slot, &index) != 0)
        return -1;
    avro_schema_t schema = avro_value_get_schema(&slot);
    if (index < 0 || index >= avro_schema_enum_number_of_symbols(schema))
        return -1;
    *out = avro_schema_enum_get(schema, index);
    return *out == NULL ? -1 : 0;
}

int cw_av_get_opt_enum(avro_value_t *rec, const char *field, const char **out)
{
    avro_value_t slot;
    if (out == NULL)
        return -1;
    *out = NULL;
    int kind = readable_slot(rec, field, AVRO_ENUM, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE)
        return -1;
    return cw_av_get_enum(rec, field, out);
}

int cw_av_get_bytes(avro_value_t *rec, const char *field, const void **buf, size_t *len)
{
    avro_value_t slot;
    if (buf == NULL || len == NULL || readable_slot(rec, field, AVRO_BYTES, &slot) != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_bytes(&slot, buf, len));
}

int cw_av_get_opt_bytes(avro_value_t *rec, const char *field, const void **buf, size_t *len)
{
    avro_value_t slot;
    if (buf == NULL || len == NULL)
        return -1;
    *buf = NULL;
    *len = 0;
    int kind = readable_slot(rec, field, AVRO_BYTES, &slot);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_bytes(&slot, buf, len));
}

int cw_av_get_array_size(avro_value_t *rec, const char *field, size_t *n)
{
    avro_value_t array;
    if (n == NULL || readable_slot(rec, field, AVRO_ARRAY, &array) != SLOT_VALUE)
        return -1;
    return ok(avro_value_get_size(&array, n));
}

int cw_av_get_str_at(avro_value_t *rec, const char *field, size_t i, const char **out)
{
    avro_value_t array, element;
    size_t n;
    if (out == NULL || readable_slot(rec, field, AVRO_ARRAY, &array) != SLOT_VALUE ||
        avro_value_get_size(&array, &n) != 0 || i >= n ||
        avro_value_get_by_index(&array, i, &element, NULL) != 0 ||
        avro_value_get_type(&element) != AVRO_STRING)
        return -1;
    return ok(avro_value_get_string(&element, out, NULL));
}

int cw_av_get_present(avro_value_t *rec, const char *field, int *has_value, avro_value_t *out)
{
    if (has_value == NULL || out == NULL)
        return -1;
    *has_value = 0;
    int kind = readable_slot(rec, field, AVRO_RECORD, out);
    if (kind == SLOT_NULL)
        return 0;
    if (kind != SLOT_VALUE)
        return -1;
    *has_value = 1;
    return 0;
}
