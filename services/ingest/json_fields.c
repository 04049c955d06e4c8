#include "ingest/json_fields.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

int ingest_is_sha256_hex(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static void field_path(char *buf, size_t len, const char *prefix, const char *name)
{
    if (prefix && prefix[0])
        snprintf(buf, len, "%s.%s", prefix, name);
    else
        snprintf(buf, len, "%s", name);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* Looks up name; JSON null counts as absent. Returns the value or NULL. */
static json_t *member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return v && !json_is_null(v) ? v : NULL;
}

static int missing(const char *prefix, const char *name, api_error *err)
{
    char path[96];
    field_path(path, sizeof(path), prefix, name);
    return ingest_fail(err, 400, "missing_field", path, "%s is required", path);
}

static int wrong_type(const char *prefix, const char *name, const char *expected, const json_t *v,
                      api_error *err)
{
    char path[96];
    field_path(path, sizeof(path), prefix, name);
    return ingest_fail(err, 400, "wrong_type", path, "%s must be %s, got %s", path, expected,
                       json_type_name(v));
}

int ingest_json_require_object(json_t *obj, const char *prefix, const char *name, json_t **out,
                               api_error *err)
{
    int present;
    if (ingest_json_optional_object(obj, prefix, name, out, &present, err))
        return -1;
    return present ? 0 : missing(prefix, name, err);
}

int ingest_json_optional_object(json_t *obj, const char *prefix, const char *name, json_t **out,
                                int *present, api_error *err)
{
    json_t *v = member(obj, name);
    *present = v != NULL;
    *out = v;
    if (v && !json_is_object(v))
        return wrong_type(prefix, name, "an object", v, err);
    return 0;
}

static int read_string(json_t *obj, const char *prefix, const char *name, const char **out,
                       int *present, api_error *err)
{
    json_t *v = member(obj, name);
    *present = v != NULL;
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return wrong_type(prefix, name, "a string", v, err);
    /* An embedded NUL would make the C string differ from the JSON one. */
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        char path[96];
        field_path(path, sizeof(path), prefix, name);
        return ingest_fail(err, 400, "invalid_value", path, "%s contains a NUL character", path);
    }
    *out = json_string_value(v);
    return 0;
}

int ingest_json_require_id(json_t *obj, const char *prefix, const char *name, const char **out,
                           api_error *err)
{
    int present;
    if (read_string(obj, prefix, name, out, &present, err))
        return -1;
    if (!present)
        return missing(prefix, name, err);
    if (!cw_id_is_valid(*out)) {
        char path[96];
        field_path(path, sizeof(path), prefix, name);
        return ingest_fail(err, 400, "invalid_id", path,
                           "%s must be 1-64 characters of A-Z a-z 0-9 _ . : -", path);
    }
    return 0;
}

static int check_text(const char *s, const char *prefix, const char *name, size_t max_len,
                      api_error *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > max_len) {
        char path[96];
        field_path(path, sizeof(path), prefix, name);
        return ingest_fail(err, 400, "invalid_length", path, "%s must be 1-%zu bytes long", path,
                           max_len);
    }
    return 0;
}

int ingest_json_require_text(json_t *obj, const char *prefix, const char *name, size_t max_len,
                             const char **out, api_error *err)
{
    int present;
    if (read_string(obj, prefix, name, out, &present, err))
        return -1;
    if (!present)
        return missing(prefix, name, err);
    return check_text(*out, prefix, name, max_len, err);
}

int ingest_json_optional_text(json_t *obj, const char *prefix, const char *name, size_t max_len,
                              const char **out, api_error *err)
{
    int present;
    if (read_string(obj, prefix, name, out, &present, err))
        return -1;
    return present ? check_text(*out, prefix, name, max_len, err) : 0;
}

int ingest_json_optional_sha256(json_t *obj, const char *prefix, const char *name, char out[65],
                                int *present, api_error *err)
{
    const char *s;
    out[0] = '\0';
    if (read_string(obj, prefix, name, &s, present, err))
        return -1;
    if (!*present)
        return 0;
    if (!ingest_is_sha256_hex(s)) {
        char path[96];
        field_path(path, sizeof(path), prefix, name);
        return ingest_fail(err, 400, "invalid_hash", path, "%s must be 64 hexadecimal digits",
                           path);
    }
    /* Hashes are compared as text, so one spelling: lower case. */
    for (size_t i = 0; i < 64; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[64] = '\0';
    return 0;
}

int ingest_json_require_sha256(json_t *obj, const char *prefix, const char *name, char out[65],
                               api_error *err)
{
    int present;
    if (ingest_json_optional_sha256(obj, prefix, name, out, &present, err))
        return -1;
    return present ? 0 : missing(prefix, name, err);
}

static int out_of_range(const char *prefix, const char *name, const char *range, api_error *err)
{
    char path[96];
    field_path(path, sizeof(path), prefix, name);
    return ingest_fail(err, 400, "out_of_range", path, "%s must be in %s", path, range);
}

int ingest_json_optional_number(json_t *obj, const char *prefix, const char *name, double min,
                                double max,
                                double *out, int *present, api_error *err)
{
    json_t *v = member(obj, name);
    *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_number(v))
        return wrong_type(prefix, name, "a number", v, err);
    double d = json_number_value(v);
    if (!isfinite(d) || d < min || d > max) {
        char range[64];
        snprintf(range, sizeof(range), "[%g, %g]", min, max);
        return out_of_range(prefix, name, range, err);
    }
    *out = d;
    return 0;
}

int ingest_json_require_number(json_t *obj, const char *prefix, const char *name, double min,
                               double max,
                               double *out, api_error *err)
{
    int present;
    if (ingest_json_optional_number(obj, prefix, name, min, max, out, &present, err))
        return -1;
    return present ? 0 : missing(prefix, name, err);
}

int ingest_json_optional_int(json_t *obj, const char *prefix, const char *name, int64_t min,
                             int64_t max,
                             int64_t *out, int *present, api_error *err)
{
    json_t *v = member(obj, name);
    *present = v != NULL;
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return wrong_type(prefix, name, "an integer", v, err);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max) {
        char range[64];
        snprintf(range, sizeof(range), "[%lld, %lld]", (long long)min, (long long)max);
        return out_of_range(prefix, name, range, err);
    }
    *out = i;
    return 0;
}

int ingest_json_require_int(json_t *obj, const char *prefix, const char *name, int64_t min,
                            int64_t max,
                            int64_t *out, api_error *err)
{
    int present;
    if (ingest_json_optional_int(obj, prefix, name, min, max, out, &present, err))
        return -1;
    return present ? 0 : missing(prefix, name, err);
}

int ingest_json_require_bool(json_t *obj, const char *prefix, const char *name, int *out,
                             api_error *err)
{
    json_t *v = member(obj, name);
    if (!v)
        return missing(prefix, name, err);
    if (!json_is_boolean(v))
        return wrong_type(prefix, name, "a boolean", v, err);
    *out = json_is_true(v);
    return 0;
}

int ingest_json_require_time(json_t *obj, const char *prefix, const char *name, int64_t *ms,
                             api_error *err)
{
    const char *s;
    int present;
    if (read_string(obj, prefix, name, &s, &present, err))
        return -1;
    if (!present)
        return missing(prefix, name, err);
    if (cw_time_parse_rfc3339(s, ms)) {
        char path[96];
        field_path(path, sizeof(path), prefix, name);
        return ingest_fail(err, 400, "invalid_time", path,
                           "%s must be an RFC 3339 time with offset, e.g. "
                           "2024-05-01T08:00:00+08:00",
                           path);
    }
    return 0;
}

int ingest_json_require_date(json_t *obj, const char *prefix, const char *name, int64_t *days,
                             const char **text, api_error *err)
{
    int present;
    if (read_string(obj, prefix, name, text, &present, err))
        return -1;
    if (!present)
        return missing(prefix, name, err);
    if (cw_date_parse(*text, days)) {
        char path[96];
        field_path(path, sizeof(path), prefix, name);
        return ingest_fail(err, 400, "invalid_date", path, "%s must be a date YYYY-MM-DD", path);
    }
    return 0;
}

int ingest_json_reject_unknown(json_t *obj, const char *prefix, const char *const *allowed,
                               api_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        int known = 0;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char path[96];
            field_path(path, sizeof(path), prefix, key);
            return ingest_fail(err, 400, "unknown_field", path, "unknown field %s", path);
        }
    }
    return 0;
}
