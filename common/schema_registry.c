#include "schema_registry.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc64_avro.h"
#include "errbuf.h"

typedef struct {
    int32_t id;
    const cw_avro_schema *schema; /* NULL: the id is not one of ours */
    char reason[160];             /* why, when schema is NULL */
} id_entry;

struct cw_registry {
    cw_http_url url;
    char url_text[CW_HTTP_HOST_MAX + CW_HTTP_PATH_MAX + 32];
    cw_http_limits limits;
    pthread_mutex_t lock; /* guards what follows */
    id_entry cache[CW_REGISTRY_CACHE_MAX];
    size_t cached;
    int64_t unreachable_until_ms; /* monotonic; 0 = try */
    char unreachable_reason[300];
};

/* Copies src into dst[len], cut to fit. */
static void copy_text(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cw_registry *cw_registry_new(const char *url, char *err, size_t errlen)
{
    cw_registry *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        cw_errf(err, errlen, "schema registry: out of memory");
        return NULL;
    }
    char why[200];
    if (cw_http_url_parse(url, &r->url, why, sizeof(why)) != 0) {
        cw_errf(err, errlen, "avro.registry_url: %s", why);
        free(r);
        return NULL;
    }
    int v6 = strchr(r->url.host, ':') != NULL;
    snprintf(r->url_text, sizeof(r->url_text), "http://%s%s%s:%s%s", v6 ? "[" : "", r->url.host,
             v6 ? "]" : "", r->url.port, r->url.base_path);
    r->limits = (cw_http_limits)CW_HTTP_DEFAULT_LIMITS;
    r->limits.timeout_ms = CW_REGISTRY_TIMEOUT_MS;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        cw_errf(err, errlen, "schema registry: cannot create a mutex");
        free(r);
        return NULL;
    }
    return r;
}

void cw_registry_free(cw_registry *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ===================================================================== *
 * Pure parts
 * ===================================================================== */

int cw_registry_subject(const cw_avro_schema *s, char *buf, size_t len)
{
    const char *space = s->schema != NULL ? avro_schema_namespace(s->schema) : NULL;
    int n = space != NULL && space[0] != '\0' ? snprintf(buf, len, "%s.%s", space, s->name)
                                              : snprintf(buf, len, "%s", s->name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

char *cw_registry_register_body(const char *schema_json)
{
    json_t *o = json_pack("{s:s}", "schema", schema_json);
    if (o == NULL)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

static json_t *load_object(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = body != NULL ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(o)) {
        cw_errf(err, errlen, "the registry's answer is not a JSON object");
        json_decref(o);
        return NULL;
    }
    return o;
}

int cw_registry_parse_id(const char *body, size_t len, int32_t *id, char *err, size_t errlen)
{
    json_t *o = load_object(body, len, err, errlen);
    if (o == NULL)
        return -1;
    json_t *v = json_object_get(o, "id");
    int rc = -1;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        cw_errf(err, errlen, "the registry's answer has no \"id\" from 0 to 2^31-1");
    else {
        *id = (int32_t)json_integer_value(v);
        rc = 0;
    }
    json_decref(o);
    return rc;
}

int cw_registry_parse_schema(const char *body, size_t len, char **schema_json, char *err,
                             size_t errlen)
{
    *schema_json = NULL;
    json_t *o = load_object(body, len, err, errlen);
    if (o == NULL)
        return -1;
    int rc = -1;
    json_t *type = json_object_get(o, "schemaType");
    json_t *schema = json_object_get(o, "schema");
    if (type != NULL && !json_is_null(type) &&
        (!json_is_string(type) || strcmp(json_string_value(type), "AVRO") != 0)) {
        cw_errf(err, errlen, "a %.40s schema, not Avro",
                json_is_string(type) ? json_string_value(type) : "non-Avro");
    } else if (!json_is_string(schema)) {
        cw_errf(err, errlen, "the registry's answer has no \"schema\" string");
    } else {
        *schema_json = strdup(json_string_value(schema));
        if (*schema_json == NULL)
            cw_errf(err, errlen, "out of memory");
        else
            rc = 0;
    }
    json_decref(o);
    return rc;
}

const cw_avro_schema *cw_registry_match_schema(const char *schema_json, char *err, size_t errlen)
{
    char *canonical = NULL;
    char why[200];
    if (cw_avro_canonical_form(schema_json, &canonical, why, sizeof(why)) != 0) {
        cw_errf(err, errlen, "its schema does not parse: %s", why);
        return NULL;
    }
    uint64_t fp = cw_avro_crc64((const uint8_t *)canonical, strlen(canonical));
    free(canonical);
    const cw_avro_schema *s = cw_avro_schema_by_fingerprint(fp);
    if (s == NULL)
        cw_errf(err, errlen,
                "its schema (fingerprint %016" PRIx64 ") is none of this service's schemas", fp);
    return s;
}

void cw_registry_describe_error(int status, const char *body, size_t body_len, char *buf,
                                size_t len)
{
    json_error_t je;
    json_t *o = body != NULL && body_len > 0 ? json_loadb(body, body_len, 0, &je) : NULL;
    json_t *code = json_object_get(o, "error_code");
    json_t *message = json_object_get(o, "message");
    if (json_is_integer(code) && json_is_string(message))
        snprintf(buf, len, "HTTP %d, error_code %" JSON_INTEGER_FORMAT ": %.300s", status,
                 json_integer_value(code), json_string_value(message));
    else if (json_is_string(message))
        snprintf(buf, len, "HTTP %d: %.300s", status, json_string_value(message));
    else
        snprintf(buf, len, "HTTP %d", status);
    json_decref(o);
}

/* ===================================================================== *
 * Requests
 * ===================================================================== */

/* One request; a status other than 200 is an error that quotes the
 * registry's message. On success the caller frees resp. */
static int call(cw_registry *r, const char *method, const char *path, const char *body,
                cw_http_response *resp, char *err, size_t errlen)
{
    char why[512];
    if (cw_http_request(&r->url, method, path, body != NULL ? "application/json" : NULL,
                        body, body != NULL ? strlen(body) : 0, &r->limits, resp, why,
                        sizeof(why)) != 0) {
        cw_errf(err, errlen, "schema registry unreachable: %s", why);
        return -1;
    }
    if (resp->status != 200) {
        cw_registry_describe_error(resp->status, resp->body, resp->body_len, why, sizeof(why));
        cw_errf(err, errlen, "%s %s%s: %s", method, r->url_text, path, why);
        cw_http_response_free(resp);
        return -1;
    }
    return 0;
}

int cw_registry_register(cw_registry *r, const cw_avro_schema *s, int32_t *id, char *err,
                         size_t errlen)
{
    char subject[256], path[400], why[700];
    if (cw_registry_subject(s, subject, sizeof(subject)) != 0) {
        cw_errf(err, errlen, "schema %s: subject name too long", s->name);
        return -1;
    }
    char *body = cw_registry_register_body(s->json);
    if (body == NULL) {
        cw_errf(err, errlen, "schema %s: out of memory", s->name);
        return -1;
    }
    cw_http_response resp;
    snprintf(path, sizeof(path), "/subjects/%s/versions", subject);
    int rc = call(r, "POST", path, body, &resp, why, sizeof(why));
    free(body);
    if (rc != 0) {
        cw_errf(err, errlen, "registering %s (subject %s): %s", s->name, subject, why);
        return -1;
    }
    rc = cw_registry_parse_id(resp.body, resp.body_len, id, why, sizeof(why));
    cw_http_response_free(&resp);
    if (rc != 0) {
        cw_errf(err, errlen, "registering %s (subject %s): %s", s->name, subject, why);
        return -1;
    }
    snprintf(path, sizeof(path), "/config/%s", subject);
    if (call(r, "PUT", path, "{\"compatibility\":\"BACKWARD\"}", &resp, why, sizeof(why)) != 0) {
        cw_errf(err, errlen, "setting compatibility BACKWARD on subject %s: %s", subject, why);
        return -1;
    }
    cw_http_response_free(&resp);
    return 0;
}

int cw_registry_register_all(cw_registry *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < cw_embedded_schema_count; i++) {
        const cw_avro_schema *s = cw_avro_schema_by_name(cw_embedded_schemas[i].name);
        int32_t id;
        if (s == NULL) {
            cw_errf(err, errlen, "schema %s is not loaded (cw_avro_init first)",
                    cw_embedded_schemas[i].name);
            return -1;
        }
        if (cw_registry_register(r, s, &id, err, errlen) != 0)
            return -1;
        if (cw_avro_set_registry_id(s, id) != 0) {
            cw_errf(err, errlen, "the registry gave %s the id %" PRId32 " of another schema",
                    s->name, id);
            return -1;
        }
    }
    return 0;
}

/* Asks the registry for id's schema and matches it (lock held). */
static const cw_avro_schema *fetch(cw_registry *r, int32_t id, int *definitive, char *err,
                                   size_t errlen)
{
    char path[64], why[600];
    cw_http_response resp;
    *definitive = 0;
    snprintf(path, sizeof(path), "/schemas/ids/%" PRId32, id);
    char tmp[600];
    if (cw_http_request(&r->url, "GET", path, NULL, NULL, 0, &r->limits, &resp, tmp,
                        sizeof(tmp)) != 0) {
        cw_errf(err, errlen, "schema registry unreachable: %s", tmp);
        return NULL;
    }
    if (resp.status == 404) {
        cw_registry_describe_error(resp.status, resp.body, resp.body_len, why, sizeof(why));
        cw_errf(err, errlen, "the registry does not know it (%s)", why);
        cw_http_response_free(&resp);
        *definitive = 1;
        return NULL;
    }
    if (resp.status != 200) {
        cw_registry_describe_error(resp.status, resp.body, resp.body_len, why, sizeof(why));
        cw_errf(err, errlen, "GET %s%s: %s", r->url_text, path, why);
        cw_http_response_free(&resp);
        return NULL;
    }
    char *schema_json = NULL;
    const cw_avro_schema *s = NULL;
    if (cw_registry_parse_schema(resp.body, resp.body_len, &schema_json, err, errlen) == 0)
        s = cw_registry_match_schema(schema_json, err, errlen);
    free(schema_json);
    cw_http_response_free(&resp);
    *definitive = 1; /* the registry answered: what id stands for does not change */
    return s;
}

const cw_avro_schema *cw_registry_lookup_id(cw_registry *r, int32_t id, char *err,
                                            size_t errlen)
{
    const cw_avro_schema *known = cw_avro_schema_by_registry_id(id);
    if (known != NULL)
        return known;
    if (pthread_mutex_lock(&r->lock) != 0) {
        cw_errf(err, errlen, "schema registry: lock failed");
        return NULL;
    }
    const cw_avro_schema *s = NULL;
    for (size_t i = 0; i < r->cached; i++) {
        if (r->cache[i].id == id) {
            s = r->cache[i].schema;
            if (s == NULL)
                cw_errf(err, errlen, "%s", r->cache[i].reason);
            pthread_mutex_unlock(&r->lock);
            return s;
        }
    }
    if (r->unreachable_until_ms != 0 && now_ms() < r->unreachable_until_ms) {
        cw_errf(err, errlen, "%s (not asked again for %d s)", r->unreachable_reason,
                CW_REGISTRY_RETRY_MS / 1000);
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    char why[400] = "";
    int definitive;
    s = fetch(r, id, &definitive, why, sizeof(why));
    if (definitive) {
        r->unreachable_until_ms = 0;
        if (r->cached < CW_REGISTRY_CACHE_MAX) {
            id_entry *e = &r->cache[r->cached++];
            e->id = id;
            e->schema = s;
            copy_text(e->reason, sizeof(e->reason), s == NULL ? why : "");
        }
    } else {
        r->unreachable_until_ms = now_ms() + CW_REGISTRY_RETRY_MS;
        copy_text(r->unreachable_reason, sizeof(r->unreachable_reason), why);
    }
    pthread_mutex_unlock(&r->lock);
    if (s == NULL)
        cw_errf(err, errlen, "%s", why);
    return s;
}

static const cw_avro_schema *resolve(void *ctx, int32_t id, char *err, size_t errlen)
{
    return cw_registry_lookup_id(ctx, id, err, errlen);
}

static void release(void *ctx)
{
    cw_registry_free(ctx);
}

void cw_registry_install_resolver(cw_registry *r)
{
    cw_avro_set_id_resolver(resolve, release, r);
}
