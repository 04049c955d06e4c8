#include "avro_codec.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc64_avro.h"
#include "errbuf.h"

/* avro-c's last error message (copy it at once: one static buffer). Some
 * failures, such as writing bytes that were never set, leave it empty. */
static const char *avro_reason(void)
{
    const char *reason = avro_strerror();
    return reason != NULL && reason[0] != '\0' ? reason : "invalid value for the schema";
}

/* ===================================================================== *
 * Growable string
 * ===================================================================== */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int out_of_memory;
} strbuf;

static void sb_append(strbuf *sb, const char *s, size_t n)
{
    if (sb->out_of_memory)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap == 0 ? 256 : sb->cap;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *grown = realloc(sb->data, cap);
        if (grown == NULL) {
            sb->out_of_memory = 1;
            return;
        }
        sb->data = grown;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

static void sb_puts(strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

/* A JSON string literal; characters other than quote, backslash and control
 * characters are written as they are (UTF-8), as the [STRINGS] rule of the
 * canonical form asks. */
static void sb_put_json_string(strbuf *sb, const char *s)
{
    sb_puts(sb, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        char escaped[8];
        switch (*p) {
        case '"': sb_puts(sb, "\\\""); break;
        case '\\': sb_puts(sb, "\\\\"); break;
        case '\b': sb_puts(sb, "\\b"); break;
        case '\f': sb_puts(sb, "\\f"); break;
        case '\n': sb_puts(sb, "\\n"); break;
        case '\r': sb_puts(sb, "\\r"); break;
        case '\t': sb_puts(sb, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(escaped, sizeof escaped, "\\u%04X", (unsigned)*p);
                sb_puts(sb, escaped);
            } else {
                sb_append(sb, (const char *)p, 1);
            }
        }
    }
    sb_puts(sb, "\"");
}

/* ===================================================================== *
 * Parsing Canonical Form (Avro 1.11 specification)
 *
 * Written straight from the JSON: primitives as plain strings, full names
 * for named types (namespace attributes dropped), only the attributes
 * name, type, fields, symbols, items, values, size, in that order, and no
 * whitespace. A named type is spelled out where it is defined and by full
 * name where it is referred to.
 * ===================================================================== */

typedef struct {
    strbuf out;
    char **defined; /* full names of the named types defined so far */
    size_t n_defined;
    size_t cap_defined;
    char *err;
    size_t errlen;
} pcf_writer;

static int pcf_fail(pcf_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pcf_fail(pcf_writer *w, const char *fmt, ...)
{
    if (w->err != NULL && w->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err, w->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int is_primitive_type(const char *name)
{
    static const char *const primitives[] = {"null",   "boolean", "int",   "long",
                                             "float",  "double",  "bytes", "string"};
    for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++) {
        if (strcmp(name, primitives[i]) == 0)
            return 1;
    }
    return 0;
}

static int is_defined(const pcf_writer *w, const char *full_name)
{
    for (size_t i = 0; i < w->n_defined; i++) {
        if (strcmp(w->defined[i], full_name) == 0)
            return 1;
    }
    return 0;
}

static int define_name(pcf_writer *w, const char *full_name)
{
    if (is_defined(w, full_name))
        return pcf_fail(w, "schema: type %s is defined twice", full_name);
    if (w->n_defined == w->cap_defined) {
        size_t cap = w->cap_defined == 0 ? 8 : w->cap_defined * 2;
        char **grown = realloc(w->defined, cap * sizeof *grown);
        if (grown == NULL)
            return pcf_fail(w, "schema: out of memory");
        w->defined = grown;
        w->cap_defined = cap;
    }
    w->defined[w->n_defined] = strdup(full_name);
    if (w->defined[w->n_defined] == NULL)
        return pcf_fail(w, "schema: out of memory");
    w->n_defined++;
    return 0;
}

/* "space.name", or "name" in the null namespace. malloc'd. */
static char *qualify(const char *space, const char *name)
{
    size_t space_len = strlen(space), name_len = strlen(name);
    char *full = malloc(space_len + name_len + 2);
    if (full == NULL)
        return NULL;
    if (space_len == 0) {
        memcpy(full, name, name_len + 1);
    } else {
        memcpy(full, space, space_len);
        full[space_len] = '.';
        memcpy(full + space_len + 1, name, name_len + 1);
    }
    return full;
}

/* The full name of the named type defined by obj, and the namespace that
 * the types defined inside it inherit (both malloc'd). A dotted name is
 * already full; otherwise the type's own "namespace", else the enclosing
 * one, qualifies it. */
static int definition_names(pcf_writer *w, json_t *obj, const char *enclosing_space,
                            char **full_name, char **space)
{
    json_t *name = json_object_get(obj, "name");
    if (!json_is_string(name) || json_string_length(name) == 0)
        return pcf_fail(w, "schema: a named type has no \"name\"");
    const char *short_name = json_string_value(name);
    const char *last_dot = strrchr(short_name, '.');
    if (last_dot != NULL) {
        *full_name = strdup(short_name);
        *space = strndup(short_name, (size_t)(last_dot - short_name));
    } else {
        json_t *ns = json_object_get(obj, "namespace");
        if (ns != NULL && !json_is_string(ns) && !json_is_null(ns))
            return pcf_fail(w, "schema: \"namespace\" of %s is not a string", short_name);
        const char *own_space = json_is_string(ns) ? json_string_value(ns) : enclosing_space;
        *full_name = qualify(own_space, short_name);
        *space = strdup(own_space);
    }
    if (*full_name == NULL || *space == NULL) {
        free(*full_name);
        free(*space);
        *full_name = *space = NULL;
        return pcf_fail(w, "schema: out of memory");
    }
    return 0;
}

/* A reference to a named type: resolved in the enclosing namespace first,
 * then in the null namespace, as the Java implementation does. */
static int write_reference(pcf_writer *w, const char *name, const char *space)
{
    if (strchr(name, '.') == NULL && space[0] != '\0') {
        char *qualified = qualify(space, name);
        if (qualified == NULL)
            return pcf_fail(w, "schema: out of memory");
        int found = is_defined(w, qualified);
        if (found)
            sb_put_json_string(&w->out, qualified);
        free(qualified);
        if (found)
            return 0;
    }
    if (!is_defined(w, name))
        return pcf_fail(w, "schema: unknown type \"%s\"", name);
    sb_put_json_string(&w->out, name);
    return 0;
}

static int write_type_name(pcf_writer *w, const char *name, const char *space)
{
    if (is_primitive_type(name)) {
        sb_put_json_string(&w->out, name);
        return 0;
    }
    return write_reference(w, name, space);
}

static int write_schema(pcf_writer *w, json_t *schema, const char *space);

static int write_union(pcf_writer *w, json_t *branches, const char *space)
{
    size_t i;
    json_t *branch;
    sb_puts(&w->out, "[");
    json_array_foreach(branches, i, branch) {
        if (i > 0)
            sb_puts(&w->out, ",");
        if (write_schema(w, branch, space) != 0)
            return -1;
    }
    sb_puts(&w->out, "]");
    return 0;
}

static int write_field(pcf_writer *w, json_t *field, const char *space)
{
    json_t *name = json_object_get(field, "name");
    json_t *type = json_object_get(field, "type");
    if (!json_is_object(field) || !json_is_string(name) || type == NULL)
        return pcf_fail(w, "schema: a record field needs a \"name\" and a \"type\"");
    sb_puts(&w->out, "{\"name\":");
    sb_put_json_string(&w->out, json_string_value(name));
    sb_puts(&w->out, ",\"type\":");
    if (write_schema(w, type, space) != 0)
        return -1;
    sb_puts(&w->out, "}");
    return 0;
}

static int write_record_body(pcf_writer *w, json_t *obj, const char *full_name,
                             const char *inner_space)
{
    json_t *fields = json_object_get(obj, "fields");
    if (!json_is_array(fields))
        return pcf_fail(w, "schema: record %s has no \"fields\" array", full_name);
    sb_puts(&w->out, ",\"type\":\"record\",\"fields\":[");
    size_t i;
    json_t *field;
    json_array_foreach(fields, i, field) {
        if (i > 0)
            sb_puts(&w->out, ",");
        if (write_field(w, field, inner_space) != 0)
            return -1;
    }
    sb_puts(&w->out, "]}");
    return 0;
}

static int write_enum_body(pcf_writer *w, json_t *obj, const char *full_name)
{
    json_t *symbols = json_object_get(obj, "symbols");
    if (!json_is_array(symbols))
        return pcf_fail(w, "schema: enum %s has no \"symbols\" array", full_name);
    sb_puts(&w->out, ",\"type\":\"enum\",\"symbols\":[");
    size_t i;
    json_t *symbol;
    json_array_foreach(symbols, i, symbol) {
        if (!json_is_string(symbol))
            return pcf_fail(w, "schema: enum %s has a symbol that is not a string", full_name);
        if (i > 0)
            sb_puts(&w->out, ",");
        sb_put_json_string(&w->out, json_string_value(symbol));
    }
    sb_puts(&w->out, "]}");
    return 0;
}

/* The [INTEGERS] rule: "size" without quotes or leading zeros. */
static int write_fixed_body(pcf_writer *w, json_t *obj, const char *full_name)
{
    json_t *size = json_object_get(obj, "size");
    char digits[32];
    if (json_is_integer(size) && json_integer_value(size) >= 0) {
        snprintf(digits, sizeof digits, "%" JSON_INTEGER_FORMAT, json_integer_value(size));
    } else if (json_is_string(size) && json_string_length(size) > 0 &&
               strspn(json_string_value(size), "0123456789") == json_string_length(size)) {
        const char *s = json_string_value(size);
        while (s[0] == '0' && s[1] != '\0')
            s++;
        if (strlen(s) >= sizeof digits)
            return pcf_fail(w, "schema: fixed %s: size too large", full_name);
        snprintf(digits, sizeof digits, "%s", s);
    } else {
        return pcf_fail(w, "schema: fixed %s has no valid \"size\"", full_name);
    }
    sb_puts(&w->out, ",\"type\":\"fixed\",\"size\":");
    sb_puts(&w->out, digits);
    sb_puts(&w->out, "}");
    return 0;
}

static int write_named_type(pcf_writer *w, json_t *obj, const char *type, const char *space)
{
    char *full_name, *inner_space;
    if (definition_names(w, obj, space, &full_name, &inner_space) != 0)
        return -1;
    /* Defined before its fields are written, so a record may refer to itself. */
    int rc = define_name(w, full_name);
    if (rc == 0) {
        sb_puts(&w->out, "{\"name\":");
        sb_put_json_string(&w->out, full_name);
        if (strcmp(type, "enum") == 0)
            rc = write_enum_body(w, obj, full_name);
        else if (strcmp(type, "fixed") == 0)
            rc = write_fixed_body(w, obj, full_name);
        else
            rc = write_record_body(w, obj, full_name, inner_space);
    }
    free(full_name);
    free(inner_space);
    return rc;
}

static int write_container(pcf_writer *w, json_t *obj, const char *type, const char *space)
{
    const char *child_key = strcmp(type, "array") == 0 ? "items" : "values";
    json_t *child = json_object_get(obj, child_key);
    if (child == NULL)
        return pcf_fail(w, "schema: %s without \"%s\"", type, child_key);
    sb_puts(&w->out, "{\"type\":");
    sb_put_json_string(&w->out, type);
    sb_puts(&w->out, ",\"");
    sb_puts(&w->out, child_key);
    sb_puts(&w->out, "\":");
    if (write_schema(w, child, space) != 0)
        return -1;
    sb_puts(&w->out, "}");
    return 0;
}

static int write_object(pcf_writer *w, json_t *obj, const char *space)
{
    json_t *type_json = json_object_get(obj, "type");
    if (!json_is_string(type_json))
        return pcf_fail(w, "schema: an object schema needs a string \"type\"");
    const char *type = json_string_value(type_json);
    if (is_primitive_type(type)) {
        /* {"type":"long","logicalType":...} is just "long". */
        sb_put_json_string(&w->out, type);
        return 0;
    }
    /* The Java implementation writes an error type as a record. */
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0 ||
        strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0)
        return write_named_type(w, obj, type, space);
    if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0)
        return write_container(w, obj, type, space);
    return write_reference(w, type, space);
}

static int write_schema(pcf_writer *w, json_t *schema, const char *space)
{
    if (json_is_string(schema))
        return write_type_name(w, json_string_value(schema), space);
    if (json_is_array(schema))
        return write_union(w, schema, space);
    if (json_is_object(schema))
        return write_object(w, schema, space);
    return pcf_fail(w, "schema: expected a type name, a union or an object");
}

int cw_avro_canonical_form(const char *schema_json, char **out, char *err, size_t errlen)
{
    if (out == NULL)
        return -1;
    *out = NULL;
    if (schema_json == NULL) {
        cw_errf(err, errlen, "schema: no JSON");
        return -1;
    }
    json_error_t json_err;
    json_t *root = json_loads(schema_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &json_err);
    if (root == NULL) {
        cw_errf(err, errlen, "schema: invalid JSON at line %d: %s", json_err.line, json_err.text);
        return -1;
    }
    pcf_writer w = {.err = err, .errlen = errlen};
    int rc = write_schema(&w, root, "");
    json_decref(root);
    for (size_t i = 0; i < w.n_defined; i++)
        free(w.defined[i]);
    free(w.defined);
    if (rc == 0 && w.out.out_of_memory)
        rc = pcf_fail(&w, "schema: out of memory");
    if (rc != 0) {
        free(w.out.data);
        return -1;
    }
    *out = w.out.data;
    return 0;
}

/* ===================================================================== *
 * The loaded schemas
 * ===================================================================== */

static cw_avro_schema *loaded;
static size_t loaded_count;

/* Framing on Kafka and the resolver of foreign registry ids: set at
 * start-up, read-only afterwards. */
static cw_avro_framing framing = CW_AVRO_FRAMING_SINGLE_OBJECT;
static cw_avro_id_resolver id_resolver;
static void (*id_resolver_release)(void *ctx);
static void *id_resolver_ctx;

static void free_schema(cw_avro_schema *s)
{
    if (s->iface != NULL)
        avro_value_iface_decref(s->iface);
    if (s->schema != NULL)
        avro_schema_decref(s->schema);
    free(s->canonical);
    memset(s, 0, sizeof *s);
}

static void free_schemas(cw_avro_schema *schemas, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_schema(&schemas[i]);
    free(schemas);
}

static int load_schema(const struct cw_embedded_schema *e, cw_avro_schema *s, char *err,
                       size_t errlen)
{
    char detail[256];
    s->name = e->name;
    s->json = e->json;
    s->registry_id = -1;
    if (cw_avro_canonical_form(e->json, &s->canonical, detail, sizeof detail) != 0) {
        cw_errf(err, errlen, "schemas/%s.avsc: %s", e->name, detail);
        return -1;
    }
    s->fingerprint = cw_avro_crc64((const uint8_t *)s->canonical, strlen(s->canonical));
    if (avro_schema_from_json_length(e->json, e->json_len, &s->schema) != 0) {
        s->schema = NULL;
        cw_errf(err, errlen, "schemas/%s.avsc: %s", e->name, avro_reason());
        return -1;
    }
    if (!is_avro_record(s->schema) || strcmp(avro_schema_name(s->schema), e->name) != 0) {
        cw_errf(err, errlen, "schemas/%s.avsc must define the record %s", e->name, e->name);
        return -1;
    }
    s->iface = avro_generic_class_from_schema(s->schema);
    if (s->iface == NULL) {
        cw_errf(err, errlen, "schemas/%s.avsc: %s", e->name, avro_reason());
        return -1;
    }
    return 0;
}

/* Two schemas with one fingerprint could not be told apart on the wire. */
static int check_unique(const cw_avro_schema *schemas, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (schemas[i].fingerprint == schemas[j].fingerprint) {
                cw_errf(err, errlen, "schemas %s and %s have the same fingerprint %016" PRIx64,
                        schemas[i].name, schemas[j].name, schemas[i].fingerprint);
                return -1;
            }
        }
    }
    return 0;
}

int cw_avro_init(char *err, size_t errlen)
{
    if (loaded != NULL)
        return 0;
    size_t n = cw_embedded_schema_count;
    cw_avro_schema *schemas = calloc(n, sizeof *schemas);
    if (schemas == NULL) {
        cw_errf(err, errlen, "avro: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (load_schema(&cw_embedded_schemas[i], &schemas[i], err, errlen) != 0) {
            free_schemas(schemas, i + 1);
            return -1;
        }
    }
    if (check_unique(schemas, n, err, errlen) != 0) {
        free_schemas(schemas, n);
        return -1;
    }
    loaded = schemas;
    loaded_count = n;
    return 0;
}

void cw_avro_shutdown(void)
{
    cw_avro_set_id_resolver(NULL, NULL, NULL);
    framing = CW_AVRO_FRAMING_SINGLE_OBJECT;
    free_schemas(loaded, loaded_count);
    loaded = NULL;
    loaded_count = 0;
}

const cw_avro_schema *cw_avro_schema_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < loaded_count; i++) {
        if (strcmp(loaded[i].name, name) == 0)
            return &loaded[i];
    }
    return NULL;
}

const cw_avro_schema *cw_avro_schema_by_fingerprint(uint64_t fp)
{
    for (size_t i = 0; i < loaded_count; i++) {
        if (loaded[i].fingerprint == fp)
            return &loaded[i];
    }
    return NULL;
}

const cw_avro_schema *cw_avro_schema_by_registry_id(int32_t id)
{
    if (id < 0)
        return NULL;
    for (size_t i = 0; i < loaded_count; i++) {
        if (loaded[i].registry_id == id)
            return &loaded[i];
    }
    return NULL;
}

int cw_avro_set_registry_id(const cw_avro_schema *s, int32_t id)
{
    if (s == NULL || id < 0 || s < loaded || s >= loaded + loaded_count)
        return -1;
    const cw_avro_schema *other = cw_avro_schema_by_registry_id(id);
    if (other != NULL && other != s)
        return -1;
    loaded[s - loaded].registry_id = id;
    return 0;
}

void cw_avro_set_framing(cw_avro_framing f)
{
    framing = f;
}

cw_avro_framing cw_avro_get_framing(void)
{
    return framing;
}

void cw_avro_set_id_resolver(cw_avro_id_resolver fn, void (*release)(void *ctx), void *ctx)
{
    if (id_resolver_release != NULL)
        id_resolver_release(id_resolver_ctx);
    id_resolver = fn;
    id_resolver_release = release;
    id_resolver_ctx = ctx;
}

/* ===================================================================== *
 * Values
 * ===================================================================== */

int cw_avro_new_value(const cw_avro_schema *s, avro_value_t *out)
{
    if (s == NULL || out == NULL)
        return -1;
    if (avro_generic_value_new(s->iface, out) != 0) {
        out->iface = NULL;
        out->self = NULL;
        return -1;
    }
    if (cw_av_init_empty(out) != 0) {
        avro_value_decref(out);
        out->iface = NULL;
        out->self = NULL;
        return -1;
    }
    return 0;
}

int cw_avro_reset_value(avro_value_t *value)
{
    if (value == NULL || avro_value_reset(value) != 0)
        return -1;
    return cw_av_init_empty(value);
}

/* ===================================================================== *
 * Encoding
 * ===================================================================== */

static void write_header(uint8_t *buf, uint64_t fingerprint)
{
    buf[0] = CW_AVRO_MARKER_0;
    buf[1] = CW_AVRO_MARKER_1;
    for (int i = 0; i < 8; i++)
        buf[2 + i] = (uint8_t)(fingerprint >> (8 * i));
}

static uint64_t read_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int value_has_schema(avro_value_t *value, const cw_avro_schema *s)
{
    avro_schema_t actual = avro_value_get_schema(value);
    return actual == s->schema || (actual != NULL && avro_schema_equal(actual, s->schema));
}

int cw_avro_encode(avro_value_t *value, const cw_avro_schema *s, uint8_t **out, size_t *len,
                   char *err, size_t errlen)
{
    if (out == NULL || len == NULL) {
        cw_errf(err, errlen, "encode: no output buffer");
        return -1;
    }
    *out = NULL;
    *len = 0;
    if (value == NULL || value->iface == NULL || s == NULL) {
        cw_errf(err, errlen, "encode: no value or schema");
        return -1;
    }
    if (!value_has_schema(value, s)) {
        cw_errf(err, errlen, "encode: the value is not a %s record", s->name);
        return -1;
    }
    size_t body_len;
    if (avro_value_sizeof(value, &body_len) != 0) {
        cw_errf(err, errlen, "encode %s: %s", s->name, avro_reason());
        return -1;
    }
    uint8_t *buf = malloc(CW_AVRO_HEADER_LEN + body_len);
    if (buf == NULL) {
        cw_errf(err, errlen, "encode %s: out of memory", s->name);
        return -1;
    }
    write_header(buf, s->fingerprint);
    avro_writer_t writer =
        avro_writer_memory((const char *)buf + CW_AVRO_HEADER_LEN, (int64_t)body_len);
    int rc = writer == NULL ? -1 : avro_value_write(writer, value);
    if (rc != 0)
        cw_errf(err, errlen, "encode %s: %s", s->name, avro_reason());
    if (writer != NULL)
        avro_writer_free(writer);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = CW_AVRO_HEADER_LEN + body_len;
    return 0;
}

int cw_avro_to_wire(const uint8_t *value, size_t len, const uint8_t **wire, size_t *wire_len,
                    uint8_t **owned, char *err, size_t errlen)
{
    *wire = value;
    *wire_len = len;
    *owned = NULL;
    if (framing != CW_AVRO_FRAMING_REGISTRY || value == NULL || len < CW_AVRO_HEADER_LEN ||
        value[0] != CW_AVRO_MARKER_0 || value[1] != CW_AVRO_MARKER_1)
        return 0;
    uint64_t fingerprint = read_le64(value + 2);
    const cw_avro_schema *s = cw_avro_schema_by_fingerprint(fingerprint);
    if (s == NULL || s->registry_id < 0) {
        cw_errf(err, errlen, "avro.framing registry: %s%s has no schema registry id",
                s != NULL ? "schema " : "unknown fingerprint ", s != NULL ? s->name : "");
        return -1;
    }
    size_t body_len = len - CW_AVRO_HEADER_LEN;
    uint8_t *buf = malloc(CW_AVRO_REGISTRY_HEADER_LEN + body_len);
    if (buf == NULL) {
        cw_errf(err, errlen, "avro.framing registry: out of memory");
        return -1;
    }
    uint32_t id = (uint32_t)s->registry_id;
    buf[0] = CW_AVRO_REGISTRY_MAGIC;
    buf[1] = (uint8_t)(id >> 24);
    buf[2] = (uint8_t)(id >> 16);
    buf[3] = (uint8_t)(id >> 8);
    buf[4] = (uint8_t)id;
    if (body_len > 0)
        memcpy(buf + CW_AVRO_REGISTRY_HEADER_LEN, value + CW_AVRO_HEADER_LEN, body_len);
    *wire = buf;
    *wire_len = CW_AVRO_REGISTRY_HEADER_LEN + body_len;
    *owned = buf;
    return 0;
}

/* ===================================================================== *
 * Body check: walks the binary body along the schema before avro-c reads
 * it. avro-c trusts lengths and counts (it allocates what a length says
 * before reading the bytes) and cannot report trailing bytes.
 * ===================================================================== */

/* Nesting of records, unions and arrays the check follows. */
#define BODY_MAX_DEPTH 64
/* Items that take no bytes (null, empty records) in one array block. */
#define BODY_MAX_EMPTY_ITEMS 65536

static cw_avro_limits decode_limits = CW_AVRO_DEFAULT_LIMITS;

void cw_avro_set_limits(const cw_avro_limits *limits)
{
    decode_limits = *limits;
}

typedef struct {
    const uint8_t *p;
    size_t left;
    unsigned depth;
    size_t decoded; /* estimated bytes of the decoded value so far */
    const char *record;
    char *err;
    size_t errlen;
} body_reader;

static int body_fail(body_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "<record>: <message>" into the caller's err. */
static int body_fail(body_reader *r, const char *fmt, ...)
{
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    cw_errf(r->err, r->errlen, "%s: %s", r->record, detail);
    return -1;
}

static int body_skip(body_reader *r, size_t n)
{
    if (n > r->left)
        return body_fail(r, "truncated body: %zu bytes missing", n - r->left);
    r->p += n;
    r->left -= n;
    return 0;
}

/* A zig-zag varint (int or long). */
static int body_varint(body_reader *r, int64_t *out)
{
    uint64_t acc = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->left == 0)
            return body_fail(r, "truncated body: varint cut short");
        uint8_t b = *r->p++;
        r->left--;
        acc |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = (int64_t)((acc >> 1) ^ (0 - (acc & 1)));
            return 0;
        }
    }
    return body_fail(r, "malformed body: varint longer than 10 bytes");
}

/* A byte count of a string, bytes or block that must lie within the body. */
static int body_length(body_reader *r, size_t *out)
{
    int64_t n;
    if (body_varint(r, &n) != 0)
        return -1;
    if (n < 0)
        return body_fail(r, "malformed body: negative length %" PRId64, n);
    if ((uint64_t)n > r->left)
        return body_fail(r, "truncated body: length %" PRId64 " but %zu bytes left", n, r->left);
    *out = (size_t)n;
    return 0;
}

static avro_schema_t resolve_link(avro_schema_t schema)
{
    while (is_avro_link(schema))
        schema = avro_schema_link_target(schema);
    return schema;
}

/* Whether a value of schema can be encoded in zero bytes. */
static int may_be_empty(avro_schema_t schema, unsigned depth)
{
    if (depth > BODY_MAX_DEPTH || is_avro_link(schema))
        return 0;
    if (is_avro_null(schema))
        return 1;
    if (is_avro_fixed(schema))
        return avro_schema_fixed_size(schema) == 0;
    if (!is_avro_record(schema))
        return 0;
    size_t n = avro_schema_record_size(schema);
    for (size_t i = 0; i < n; i++) {
        if (!may_be_empty(avro_schema_record_field_get_by_index(schema, (int)i), depth + 1))
            return 0;
    }
    return 1;
}

static int check_value(body_reader *r, avro_schema_t schema);

/* Counts bytes of the decoded value against avro.max_decoded_bytes. */
static int body_grow(body_reader *r, size_t bytes)
{
    r->decoded += bytes;
    if (r->decoded > decode_limits.max_decoded_bytes)
        return body_fail(r, "over limit: decodes to more than %zu bytes (avro.max_decoded_bytes)",
                         decode_limits.max_decoded_bytes);
    return 0;
}

/* A string or bytes value: within avro.max_string_bytes. */
static int check_bytes(body_reader *r)
{
    size_t n;
    if (body_length(r, &n) != 0)
        return -1;
    if (n > decode_limits.max_string_bytes)
        return body_fail(r, "over limit: a string of %zu bytes (avro.max_string_bytes is %zu)", n,
                         decode_limits.max_string_bytes);
    return body_grow(r, n + 1) != 0 ? -1 : body_skip(r, n);
}

static int check_record(body_reader *r, avro_schema_t schema)
{
    size_t n = avro_schema_record_size(schema);
    for (size_t i = 0; i < n; i++) {
        if (check_value(r, avro_schema_record_field_get_by_index(schema, (int)i)) != 0)
            return -1;
    }
    return 0;
}

static int check_union(body_reader *r, avro_schema_t schema)
{
    int64_t branch;
    if (body_varint(r, &branch) != 0)
        return -1;
    if (branch < 0 || (uint64_t)branch >= avro_schema_union_size(schema))
        return body_fail(r, "malformed body: union branch %" PRId64 " does not exist", branch);
    return check_value(r, avro_schema_union_branch(schema, (int)branch));
}

static int check_enum(body_reader *r, avro_schema_t schema)
{
    int64_t index;
    if (body_varint(r, &index) != 0)
        return -1;
    if (index < 0 || index >= avro_schema_enum_number_of_symbols(schema))
        return body_fail(r, "malformed body: enum index %" PRId64 " does not exist", index);
    return 0;
}

/* One block of an array or map: count items, each a key string (maps) and
 * a value of item_schema. A negative count is followed by the block's size
 * in bytes, which must match. */
static int check_block_items(body_reader *r, int64_t count, avro_schema_t item_schema, int is_map,
                             size_t *items)
{
    size_t declared_size = 0;
    int sized = count < 0;
    if (sized) {
        if (count == INT64_MIN)
            return body_fail(r, "malformed body: block count out of range");
        count = -count;
        if (body_length(r, &declared_size) != 0)
            return -1;
    }
    int items_may_be_empty = !is_map && may_be_empty(item_schema, 0);
    if ((!items_may_be_empty && (uint64_t)count > r->left) ||
        (items_may_be_empty && count > BODY_MAX_EMPTY_ITEMS))
        return body_fail(r, "truncated body: %" PRId64 " items do not fit", count);
    if ((uint64_t)count > decode_limits.max_items - *items)
        return body_fail(r, "over limit: more than %zu items in one array or map "
                            "(avro.max_array_items)",
                         decode_limits.max_items);
    *items += (size_t)count;
    if (body_grow(r, (size_t)count * CW_AVRO_ITEM_COST) != 0)
        return -1;
    size_t left_before = r->left;
    for (int64_t i = 0; i < count; i++) {
        if (is_map && check_bytes(r) != 0)
            return -1;
        if (check_value(r, item_schema) != 0)
            return -1;
    }
    if (sized && left_before - r->left != declared_size)
        return body_fail(r, "malformed body: block of %zu bytes declared as %zu",
                         left_before - r->left, declared_size);
    return 0;
}

static int check_blocks(body_reader *r, avro_schema_t item_schema, int is_map)
{
    size_t items = 0;
    for (;;) {
        int64_t count;
        if (body_varint(r, &count) != 0)
            return -1;
        if (count == 0)
            return 0;
        if (check_block_items(r, count, item_schema, is_map, &items) != 0)
            return -1;
    }
}

static int check_primitive(body_reader *r, avro_schema_t schema)
{
    int64_t v;
    switch (avro_typeof(schema)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (r->left > 0 && r->p[0] > 1)
            return body_fail(r, "malformed body: boolean byte %u", (unsigned)r->p[0]);
        return body_skip(r, 1);
    case AVRO_INT32:
        if (body_varint(r, &v) != 0)
            return -1;
        if (v < INT32_MIN || v > INT32_MAX)
            return body_fail(r, "malformed body: int %" PRId64 " out of range", v);
        return 0;
    case AVRO_INT64:
        return body_varint(r, &v);
    case AVRO_FLOAT:
        return body_skip(r, 4);
    case AVRO_DOUBLE:
        return body_skip(r, 8);
    case AVRO_STRING:
    case AVRO_BYTES:
        return check_bytes(r);
    case AVRO_FIXED:
        return body_skip(r, (size_t)avro_schema_fixed_size(schema));
    default:
        return body_fail(r, "unsupported schema type %d", (int)avro_typeof(schema));
    }
}

static int check_value(body_reader *r, avro_schema_t schema)
{
    schema = resolve_link(schema);
    if (++r->depth > BODY_MAX_DEPTH)
        return body_fail(r, "malformed body: nested deeper than %d", BODY_MAX_DEPTH);
    int rc;
    switch (avro_typeof(schema)) {
    case AVRO_RECORD: rc = check_record(r, schema); break;
    case AVRO_UNION: rc = check_union(r, schema); break;
    case AVRO_ENUM: rc = check_enum(r, schema); break;
    case AVRO_ARRAY: rc = check_blocks(r, avro_schema_array_items(schema), 0); break;
    case AVRO_MAP: rc = check_blocks(r, avro_schema_map_values(schema), 1); break;
    default: rc = check_primitive(r, schema); break;
    }
    r->depth--;
    return rc;
}

static int check_body(const cw_avro_schema *s, const uint8_t *body, size_t len, char *err,
                      size_t errlen)
{
    body_reader r = {.p = body, .left = len, .record = s->name, .err = err, .errlen = errlen};
    if (check_value(&r, s->schema) != 0)
        return -1;
    if (r.left > 0)
        return body_fail(&r, "trailing bytes after the record: %zu", r.left);
    return 0;
}

/* ===================================================================== *
 * Decoding
 * ===================================================================== */

static int read_body(const cw_avro_schema *s, const uint8_t *body, size_t len,
                     avro_value_t *value, char *err, size_t errlen)
{
    if (avro_generic_value_new(s->iface, value) != 0) {
        cw_errf(err, errlen, "decode %s: %s", s->name, avro_reason());
        return -1;
    }
    avro_reader_t reader = avro_reader_memory((const char *)body, (int64_t)len);
    int rc = reader == NULL ? -1 : avro_value_read(reader, value);
    if (rc != 0)
        cw_errf(err, errlen, "decode %s: %s", s->name, avro_reason());
    if (reader != NULL)
        avro_reader_free(reader);
    if (rc != 0) {
        avro_value_decref(value);
        value->iface = NULL;
        value->self = NULL;
        return -1;
    }
    return 0;
}

/* The writer's schema of a registry-framed message (00 + id). */
static const cw_avro_schema *schema_of_registry_id(const uint8_t *buf, size_t len, char *err,
                                                   size_t errlen)
{
    if (len < CW_AVRO_REGISTRY_HEADER_LEN) {
        cw_errf(err, errlen, "message of %zu bytes is shorter than the %d-byte registry header",
                len, CW_AVRO_REGISTRY_HEADER_LEN);
        return NULL;
    }
    uint32_t raw = ((uint32_t)buf[1] << 24) | ((uint32_t)buf[2] << 16) |
                   ((uint32_t)buf[3] << 8) | (uint32_t)buf[4];
    if (raw > INT32_MAX) {
        cw_errf(err, errlen, "schema id %" PRIu32 " out of range", raw);
        return NULL;
    }
    int32_t id = (int32_t)raw;
    const cw_avro_schema *s = cw_avro_schema_by_registry_id(id);
    if (s != NULL)
        return s;
    if (id_resolver == NULL) {
        cw_errf(err, errlen, "unknown schema id %" PRId32 " (no avro.registry_url to look it up)",
                id);
        return NULL;
    }
    char why[300] = "";
    s = id_resolver(id_resolver_ctx, id, why, sizeof why);
    if (s == NULL)
        cw_errf(err, errlen, "unknown schema id %" PRId32 ": %s", id,
                why[0] ? why : "not one of this service's schemas");
    return s;
}

int cw_avro_decode(const uint8_t *buf, size_t len, const cw_avro_schema **schema_out,
                   avro_value_t *value_out, char *err, size_t errlen)
{
    if (schema_out != NULL)
        *schema_out = NULL;
    if (value_out == NULL || (buf == NULL && len > 0)) {
        cw_errf(err, errlen, "decode: no input or output");
        return -1;
    }
    value_out->iface = NULL;
    value_out->self = NULL;
    const cw_avro_schema *s;
    size_t header_len;
    if (len >= 1 && buf[0] == CW_AVRO_REGISTRY_MAGIC) {
        s = schema_of_registry_id(buf, len, err, errlen);
        if (s == NULL)
            return -1;
        header_len = CW_AVRO_REGISTRY_HEADER_LEN;
    } else {
        if (len < CW_AVRO_HEADER_LEN) {
            cw_errf(err, errlen, "message of %zu bytes is shorter than the %d-byte header", len,
                    CW_AVRO_HEADER_LEN);
            return -1;
        }
        if (buf[0] != CW_AVRO_MARKER_0 || buf[1] != CW_AVRO_MARKER_1) {
            cw_errf(err, errlen,
                    "not Avro single-object encoding (C3 01) nor the registry framing (00): "
                    "starts with %02x %02x",
                    buf[0], buf[1]);
            return -1;
        }
        uint64_t fingerprint = read_le64(buf + 2);
        s = cw_avro_schema_by_fingerprint(fingerprint);
        if (s == NULL) {
            cw_errf(err, errlen, "unknown schema fingerprint %016" PRIx64, fingerprint);
            return -1;
        }
        header_len = CW_AVRO_HEADER_LEN;
    }
    const uint8_t *body = buf + header_len;
    size_t body_len = len - header_len;
    if (check_body(s, body, body_len, err, errlen) != 0 ||
        read_body(s, body, body_len, value_out, err, errlen) != 0)
        return -1;
    if (schema_out != NULL)
        *schema_out = s;
    return 0;
}
