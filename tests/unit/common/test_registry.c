/* The registry framing of the codec (cw_avro_to_wire, decoding 00 + id) and
 * the schema registry client (common/schema_registry): its pure parts, and
 * its requests and their outcomes against a responder thread of the test on
 * 127.0.0.1 that answers as Confluent's API does (canned answers by method
 * and path, every request recorded). The real registry is exercised by
 * tests/integration/test_registry.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "avro_codec.h"
#include "schema_registry.h"
#include "test_support.h"

/* Each test starts from freshly loaded schemas: framing, ids and the
 * resolver are codec state (cw_avro_shutdown drops them). */
#define setup cw_test_setup_codec
#define teardown cw_test_teardown_codec

/* A CheckResult as cw_avro_new_value makes it, single-object encoded. */
static void encode_check_result(uint8_t **buf, size_t *len)
{
    const cw_avro_schema *s = cw_avro_schema_by_name("CheckResult");
    avro_value_t v;
    char err[256];
    assert_int_equal(cw_avro_new_value(s, &v), 0);
    assert_int_equal(cw_av_set_str(&v, "check_id", "c-1"), 0);
    assert_int_equal(cw_avro_encode(&v, s, buf, len, err, sizeof err), 0);
    avro_value_decref(&v);
}

/* ------------------------------------------------------------------ */
/* Pure parts                                                          */
/* ------------------------------------------------------------------ */

static void subject_is_the_record_full_name(void **state)
{
    (void)state;
    char subject[128];
    for (size_t i = 0; i < cw_embedded_schema_count; i++) {
        const cw_avro_schema *s = cw_avro_schema_by_name(cw_embedded_schemas[i].name);
        char want[128];
        snprintf(want, sizeof want, "carewatch.v1.%s", s->name);
        assert_int_equal(cw_registry_subject(s, subject, sizeof subject), 0);
        assert_string_equal(subject, want);
    }
    assert_int_equal(cw_registry_subject(cw_avro_schema_by_name("VisitEvent"), subject, 8), -1);
}

static void register_body_carries_the_schema_text(void **state)
{
    (void)state;
    const cw_avro_schema *s = cw_avro_schema_by_name("Alert");
    char *body = cw_registry_register_body(s->json);
    assert_non_null(body);
    json_error_t je;
    json_t *o = json_loads(body, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "schema")), s->json);
    assert_int_equal(json_object_size(o), 1); /* no schemaType: AVRO is the API's default */
    json_decref(o);
    free(body);
}

static void parse_id_takes_only_a_proper_id(void **state)
{
    (void)state;
    int32_t id = -1;
    char err[200];
    const char *ok = "{\"id\":42}";
    assert_int_equal(cw_registry_parse_id(ok, strlen(ok), &id, err, sizeof err), 0);
    assert_int_equal(id, 42);
    const char *bad[] = {"{\"id\":-1}", "{\"id\":\"7\"}", "{}", "[7]", "id=7",
                         "{\"id\":2147483648}", "{\"id\":1.5}", "{\"id\":1,\"id\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cw_registry_parse_id(bad[i], strlen(bad[i]), &id, err, sizeof err), -1);
    assert_int_equal(cw_registry_parse_id(NULL, 0, &id, err, sizeof err), -1);
}

static void parse_schema_takes_avro_only(void **state)
{
    (void)state;
    char *schema = NULL, err[200];
    const char *plain = "{\"schema\":\"\\\"string\\\"\"}";
    assert_int_equal(cw_registry_parse_schema(plain, strlen(plain), &schema, err, sizeof err), 0);
    assert_string_equal(schema, "\"string\"");
    free(schema);
    const char *typed = "{\"schema\":\"\\\"long\\\"\",\"schemaType\":\"AVRO\",\"references\":[]}";
    assert_int_equal(cw_registry_parse_schema(typed, strlen(typed), &schema, err, sizeof err), 0);
    assert_string_equal(schema, "\"long\"");
    free(schema);
    const char *proto = "{\"schema\":\"syntax = \\\"proto3\\\";\",\"schemaType\":\"PROTOBUF\"}";
    assert_int_equal(cw_registry_parse_schema(proto, strlen(proto), &schema, err, sizeof err),
                     -1);
    assert_null(schema);
    assert_non_null(strstr(err, "PROTOBUF"));
    const char *none = "{\"subject\":\"x\"}";
    assert_int_equal(cw_registry_parse_schema(none, strlen(none), &schema, err, sizeof err), -1);
}

static void match_schema_goes_by_canonical_form(void **state)
{
    (void)state;
    char err[200];
    const cw_avro_schema *visit = cw_avro_schema_by_name("VisitEvent");
    /* As a registry may hand it back: reformatted, keys reordered, docs
     * dropped. The Parsing Canonical Form is the same. */
    json_error_t je;
    json_t *o = json_loads(visit->json, 0, &je);
    assert_non_null(o);
    json_object_del(o, "doc");
    char *reformatted = json_dumps(o, JSON_INDENT(3) | JSON_SORT_KEYS);
    assert_ptr_equal(cw_registry_match_schema(reformatted, err, sizeof err), visit);
    free(reformatted);
    /* Another version of the record (a field more) is not ours. */
    json_array_append_new(json_object_get(o, "fields"),
                           json_pack("{s:s,s:[s,s],s:n}", "name", "extra", "type", "null",
                                     "string", "default"));
    char *changed = json_dumps(o, JSON_COMPACT);
    assert_null(cw_registry_match_schema(changed, err, sizeof err));
    assert_non_null(strstr(err, "none of this service's schemas"));
    free(changed);
    json_decref(o);
    assert_null(cw_registry_match_schema("{not json", err, sizeof err));
    assert_non_null(strstr(err, "does not parse"));
}

static void describe_error_quotes_the_registry(void **state)
{
    (void)state;
    char buf[300];
    const char *conflict = "{\"error_code\":409,\"message\":\"Schema being registered is "
                           "incompatible with an earlier schema\"}";
    cw_registry_describe_error(409, conflict, strlen(conflict), buf, sizeof buf);
    assert_string_equal(buf, "HTTP 409, error_code 409: Schema being registered is incompatible "
                             "with an earlier schema");
    cw_registry_describe_error(502, "<html>bad gateway</html>", 24, buf, sizeof buf);
    assert_string_equal(buf, "HTTP 502");
    cw_registry_describe_error(404, NULL, 0, buf, sizeof buf);
    assert_string_equal(buf, "HTTP 404");
}

/* ------------------------------------------------------------------ */
/* Codec framing                                                       */
/* ------------------------------------------------------------------ */

static void single_object_framing_sends_the_bytes_as_they_are(void **state)
{
    (void)state;
    uint8_t *buf, *owned;
    size_t len, wire_len;
    const uint8_t *wire;
    char err[200];
    encode_check_result(&buf, &len);
    assert_int_equal(cw_avro_get_framing(), CW_AVRO_FRAMING_SINGLE_OBJECT);
    assert_int_equal(cw_avro_to_wire(buf, len, &wire, &wire_len, &owned, err, sizeof err), 0);
    assert_ptr_equal(wire, buf);
    assert_int_equal(wire_len, len);
    assert_null(owned);
    free(buf);
}

static void registry_framing_writes_magic_id_and_body(void **state)
{
    (void)state;
    uint8_t *buf, *owned;
    size_t len, wire_len;
    const uint8_t *wire;
    char err[200];
    const cw_avro_schema *s = cw_avro_schema_by_name("CheckResult");
    encode_check_result(&buf, &len);
    cw_avro_set_framing(CW_AVRO_FRAMING_REGISTRY);
    /* No id yet: refused, nothing sent. */
    assert_int_equal(cw_avro_to_wire(buf, len, &wire, &wire_len, &owned, err, sizeof err), -1);
    assert_non_null(strstr(err, "CheckResult has no schema registry id"));
    assert_null(owned);

    assert_int_equal(cw_avro_set_registry_id(s, 0x01020304), 0);
    assert_int_equal(cw_avro_to_wire(buf, len, &wire, &wire_len, &owned, err, sizeof err), 0);
    assert_non_null(owned);
    assert_ptr_equal(wire, owned);
    assert_int_equal(wire_len, len - CW_AVRO_HEADER_LEN + CW_AVRO_REGISTRY_HEADER_LEN);
    const uint8_t header[] = {0x00, 0x01, 0x02, 0x03, 0x04};
    assert_memory_equal(wire, header, sizeof header);
    assert_memory_equal(wire + 5, buf + CW_AVRO_HEADER_LEN, len - CW_AVRO_HEADER_LEN);

    /* Both framings decode to the same record, whatever the setting. */
    for (int framing = 0; framing < 2; framing++) {
        cw_avro_set_framing(framing ? CW_AVRO_FRAMING_REGISTRY : CW_AVRO_FRAMING_SINGLE_OBJECT);
        const cw_avro_schema *got;
        avro_value_t v;
        const char *check_id;
        assert_int_equal(cw_avro_decode(wire, wire_len, &got, &v, err, sizeof err), 0);
        assert_ptr_equal(got, s);
        assert_int_equal(cw_av_get_str(&v, "check_id", &check_id), 0);
        assert_string_equal(check_id, "c-1");
        avro_value_decref(&v);
        assert_int_equal(cw_avro_decode(buf, len, &got, &v, err, sizeof err), 0);
        assert_ptr_equal(got, s);
        avro_value_decref(&v);
    }
    free(owned);

    /* What is not single-object encoded goes out untouched. */
    cw_avro_set_framing(CW_AVRO_FRAMING_REGISTRY);
    const uint8_t json[] = "{\"x\":1}";
    assert_int_equal(
        cw_avro_to_wire(json, sizeof json - 1, &wire, &wire_len, &owned, err, sizeof err), 0);
    assert_ptr_equal(wire, json);
    assert_null(owned);
    assert_int_equal(cw_avro_to_wire(NULL, 0, &wire, &wire_len, &owned, err, sizeof err), 0);
    free(buf);
}

static void registry_ids_are_one_per_schema(void **state)
{
    (void)state;
    const cw_avro_schema *a = cw_avro_schema_by_name("Alert");
    const cw_avro_schema *b = cw_avro_schema_by_name("Elder");
    assert_int_equal(cw_avro_set_registry_id(a, 5), 0);
    assert_int_equal(cw_avro_set_registry_id(a, 5), 0); /* again: same */
    assert_int_equal(cw_avro_set_registry_id(b, 5), -1);
    assert_int_equal(cw_avro_set_registry_id(b, -3), -1);
    assert_ptr_equal(cw_avro_schema_by_registry_id(5), a);
    assert_null(cw_avro_schema_by_registry_id(6));
    cw_avro_schema not_loaded = *a;
    assert_int_equal(cw_avro_set_registry_id(&not_loaded, 9), -1);
}

static void decode_refuses_bad_registry_headers(void **state)
{
    (void)state;
    const cw_avro_schema *s;
    avro_value_t v;
    char err[300];
    const uint8_t short_header[] = {0x00, 0x00, 0x01};
    assert_int_equal(cw_avro_decode(short_header, sizeof short_header, &s, &v, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "shorter than the 5-byte registry header"));
    const uint8_t huge_id[] = {0x00, 0x80, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(cw_avro_decode(huge_id, sizeof huge_id, &s, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range"));
    const uint8_t unknown[] = {0x00, 0x00, 0x00, 0x00, 0x63, 0x00};
    assert_int_equal(cw_avro_decode(unknown, sizeof unknown, &s, &v, err, sizeof err), -1);
    assert_string_equal(err, "unknown schema id 99 (no avro.registry_url to look it up)");
    assert_null(v.iface);
    /* A known id with a bad body: the same body checks as single-object. */
    assert_int_equal(cw_avro_set_registry_id(cw_avro_schema_by_name("CheckResult"), 99), 0);
    assert_int_equal(cw_avro_decode(unknown, sizeof unknown, &s, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "CheckResult: "));
}

/* ------------------------------------------------------------------ */
/* A responder speaking Confluent's API                                */
/* ------------------------------------------------------------------ */

#define MAX_SEEN 64

typedef struct {
    int listen_fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    atomic_int requests;
    char seen[MAX_SEEN][160]; /* "METHOD /path body" of each request */
    int incompatible;         /* refuse registrations with 409 */
} responder;

static const char *schema_answer(int id)
{
    /* 500: VisitEvent as carewatch has it; 501: a schema of someone else. */
    static char buf[16384];
    if (id == 500) {
        json_t *o = json_pack("{s:s}", "schema", cw_avro_schema_by_name("VisitEvent")->json);
        char *text = json_dumps(o, JSON_COMPACT);
        snprintf(buf, sizeof buf, "%s", text);
        free(text);
        json_decref(o);
        return buf;
    }
    if (id == 501)
        return "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"Other\\\","
               "\\\"fields\\\":[]}\"}";
    return NULL;
}

/* The answer to one request: status and body. */
static int answer_for(responder *r, const char *method, const char *path, const char *body,
                      char *out, size_t outlen)
{
    const char *base = "/apis/ccompat/v7";
    if (strncmp(path, base, strlen(base)) != 0) {
        snprintf(out, outlen, "{\"error_code\":404,\"message\":\"no such path\"}");
        return 404;
    }
    path += strlen(base);
    if (strcmp(method, "POST") == 0 && strncmp(path, "/subjects/carewatch.v1.", 23) == 0) {
        if (r->incompatible) {
            snprintf(out, outlen, "{\"error_code\":409,\"message\":\"Schema being registered is "
                                  "incompatible with an earlier schema\"}");
            return 409;
        }
        /* id = 100 + position of the record in the embedded list */
        const char *name = path + 23;
        for (size_t i = 0; i < cw_embedded_schema_count; i++) {
            size_t n = strlen(cw_embedded_schemas[i].name);
            if (strncmp(name, cw_embedded_schemas[i].name, n) == 0 &&
                strcmp(name + n, "/versions") == 0 && strstr(body, "\"schema\"") != NULL) {
                snprintf(out, outlen, "{\"id\":%zu}", 100 + i);
                return 200;
            }
        }
    }
    if (strcmp(method, "PUT") == 0 && strncmp(path, "/config/carewatch.v1.", 21) == 0 &&
        strcmp(body, "{\"compatibility\":\"BACKWARD\"}") == 0) {
        snprintf(out, outlen, "{\"compatibility\":\"BACKWARD\"}");
        return 200;
    }
    int id;
    if (strcmp(method, "GET") == 0 && sscanf(path, "/schemas/ids/%d", &id) == 1) {
        const char *s = schema_answer(id);
        if (s != NULL) {
            snprintf(out, outlen, "%s", s);
            return 200;
        }
        snprintf(out, outlen, "{\"error_code\":40403,\"message\":\"Schema %d not found\"}", id);
        return 404;
    }
    snprintf(out, outlen, "{\"error_code\":422,\"message\":\"unexpected\"}");
    return 422;
}

static void serve_one(responder *r, int fd)
{
    static char req[65536];
    size_t len = 0;
    char *end = NULL;
    size_t want = 0;
    while (len < sizeof req - 1) {
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
        if (end == NULL)
            continue;
        const char *cl = strstr(req, "Content-Length: ");
        want = (size_t)(end + 4 - req) + (cl != NULL && cl < end ? strtoul(cl + 16, NULL, 10) : 0);
        if (len >= want)
            break;
    }
    if (end == NULL)
        return;
    char method[8] = "", path[256] = "";
    if (sscanf(req, "%7s %255s", method, path) != 2)
        return;
    const char *body = end + 4;
    int k = atomic_fetch_add(&r->requests, 1);
    /* Cut to fit: the tests compare the start of a POST. */
    if (k < MAX_SEEN && snprintf(r->seen[k], sizeof r->seen[k], "%s %s %s", method, path, body) < 0)
        return;
    static char answer[32768], out[40000];
    int status = answer_for(r, method, path, body, answer, sizeof answer);
    int n = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                                      "Content-Length: %zu\r\n\r\n%s",
                     status, strlen(answer), answer);
    for (int off = 0; off < n;) {
        ssize_t w = send(fd, out + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (int)w;
    }
}

static void *responder_main(void *arg)
{
    responder *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd pfd = {.fd = r->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int fd = accept(r->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve_one(r, fd);
        close(fd);
    }
    return NULL;
}

static responder *responder_start(void)
{
    responder *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->listen_fd, 16), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(r->listen_fd, (struct sockaddr *)&a, &alen), 0);
    r->port = ntohs(a.sin_port);
    atomic_init(&r->stop, 0);
    atomic_init(&r->requests, 0);
    assert_int_equal(pthread_create(&r->thread, NULL, responder_main, r), 0);
    return r;
}

static void responder_stop(responder *r)
{
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    close(r->listen_fd);
    free(r);
}

static cw_registry *client_of(const responder *r)
{
    char url[128], err[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/apis/ccompat/v7/", r->port);
    cw_registry *c = cw_registry_new(url, err, sizeof err);
    assert_non_null(c);
    return c;
}

static void register_all_posts_every_schema_and_sets_backward(void **state)
{
    (void)state;
    responder *r = responder_start();
    cw_registry *c = client_of(r);
    char err[512];
    assert_int_equal(cw_registry_register_all(c, err, sizeof err), 0);
    assert_int_equal(atomic_load(&r->requests), (int)(2 * cw_embedded_schema_count));
    for (size_t i = 0; i < cw_embedded_schema_count; i++) {
        const cw_avro_schema *s = cw_avro_schema_by_name(cw_embedded_schemas[i].name);
        assert_int_equal(s->registry_id, (int32_t)(100 + i));
        char post[128], put[160];
        snprintf(post, sizeof post, "POST /apis/ccompat/v7/subjects/carewatch.v1.%s/versions {",
                 s->name);
        snprintf(put, sizeof put,
                 "PUT /apis/ccompat/v7/config/carewatch.v1.%s {\"compatibility\":\"BACKWARD\"}",
                 s->name);
        if (2 * i + 1 < MAX_SEEN) {
            assert_memory_equal(r->seen[2 * i], post, strlen(post));
            assert_string_equal(r->seen[2 * i + 1], put);
        }
    }
    cw_registry_free(c);
    responder_stop(r);
}

static void register_reports_an_incompatible_schema(void **state)
{
    (void)state;
    responder *r = responder_start();
    r->incompatible = 1;
    cw_registry *c = client_of(r);
    char err[512];
    assert_int_equal(cw_registry_register_all(c, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "registering %s (subject carewatch.v1.%s): POST http://127.0.0.1:",
             cw_embedded_schemas[0].name, cw_embedded_schemas[0].name);
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, "HTTP 409, error_code 409: Schema being registered is "
                                "incompatible with an earlier schema"));
    assert_int_equal(atomic_load(&r->requests), 1); /* stops at the first */
    cw_registry_free(c);
    responder_stop(r);
}

static void unknown_ids_are_looked_up_once(void **state)
{
    (void)state;
    responder *r = responder_start();
    cw_registry *c = client_of(r);
    char err[512];
    const cw_avro_schema *visit = cw_avro_schema_by_name("VisitEvent");
    assert_ptr_equal(cw_registry_lookup_id(c, 500, err, sizeof err), visit);
    assert_ptr_equal(cw_registry_lookup_id(c, 500, err, sizeof err), visit);
    assert_int_equal(atomic_load(&r->requests), 1);
    assert_string_equal(r->seen[0], "GET /apis/ccompat/v7/schemas/ids/500 ");

    assert_null(cw_registry_lookup_id(c, 501, err, sizeof err));
    assert_non_null(strstr(err, "none of this service's schemas"));
    err[0] = '\0';
    assert_null(cw_registry_lookup_id(c, 501, err, sizeof err));
    assert_non_null(strstr(err, "none of this service's schemas"));
    assert_null(cw_registry_lookup_id(c, 502, err, sizeof err));
    assert_non_null(strstr(err, "does not know it (HTTP 404, error_code 40403: Schema 502 not found)"));
    assert_null(cw_registry_lookup_id(c, 502, err, sizeof err));
    assert_int_equal(atomic_load(&r->requests), 3);

    /* Through the codec: a record with id 500 decodes as a VisitEvent. */
    uint8_t *buf;
    size_t len;
    avro_value_t v;
    const cw_avro_schema *s;
    assert_int_equal(cw_avro_new_value(visit, &v), 0);
    assert_int_equal(cw_avro_encode(&v, visit, &buf, &len, err, sizeof err), 0);
    avro_value_decref(&v);
    buf[5] = 0x00; /* 00 | 00 00 01 F4 | body, made in place from C3 01 | fp | body */
    buf[6] = 0x00;
    buf[7] = 0x00;
    buf[8] = 0x01;
    buf[9] = 0xF4;
    cw_registry_install_resolver(c); /* the codec frees c */
    assert_int_equal(cw_avro_decode(buf + 5, len - 5, &s, &v, err, sizeof err), 0);
    assert_ptr_equal(s, visit);
    avro_value_decref(&v);
    buf[9] = 0xF5; /* 501 */
    assert_int_equal(cw_avro_decode(buf + 5, len - 5, &s, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown schema id 501: its schema (fingerprint "));
    free(buf);
    assert_int_equal(atomic_load(&r->requests), 3);
    responder_stop(r);
}

static void an_unreachable_registry_is_not_asked_again_at_once(void **state)
{
    (void)state;
    responder *r = responder_start();
    int port = r->port;
    responder_stop(r); /* nobody listens on port now */
    char url[128], err[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/apis/ccompat/v7", port);
    cw_registry *c = cw_registry_new(url, err, sizeof err);
    assert_non_null(c);
    assert_null(cw_registry_lookup_id(c, 7, err, sizeof err));
    assert_non_null(strstr(err, "schema registry unreachable: GET http://127.0.0.1:"));
    assert_non_null(strstr(err, "Connection refused"));
    assert_null(cw_registry_lookup_id(c, 8, err, sizeof err));
    assert_non_null(strstr(err, "(not asked again for 5 s)"));
    assert_int_equal(cw_registry_register_all(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "schema registry unreachable"));
    cw_registry_free(c);
    assert_null(cw_registry_new("https://registry/", err, sizeof err));
    assert_non_null(strstr(err, "avro.registry_url: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(subject_is_the_record_full_name, setup, teardown),
        cmocka_unit_test_setup_teardown(register_body_carries_the_schema_text, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_id_takes_only_a_proper_id, setup, teardown),
        cmocka_unit_test_setup_teardown(parse_schema_takes_avro_only, setup, teardown),
        cmocka_unit_test_setup_teardown(match_schema_goes_by_canonical_form, setup, teardown),
        cmocka_unit_test_setup_teardown(describe_error_quotes_the_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(single_object_framing_sends_the_bytes_as_they_are, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_framing_writes_magic_id_and_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(registry_ids_are_one_per_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(decode_refuses_bad_registry_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(register_all_posts_every_schema_and_sets_backward, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(register_reports_an_incompatible_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_ids_are_looked_up_once, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreachable_registry_is_not_asked_again_at_once, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("schema registry", tests, NULL, NULL);
}
