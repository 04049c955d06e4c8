#include "ingest/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ingest/routes.h"

struct http_server {
    struct MHD_Daemon *daemon;
    http_settings settings;
    ingest_ctx *ctx;
    atomic_int in_flight;         /* requests begun and not completed */
    atomic_size_t in_flight_bytes; /* their bodies, as read so far */
};

/* Per-request state kept by libmicrohttpd between calls of the handler. */
typedef struct {
    route route;
    char *body;
    size_t len, cap, limit;
    int too_large;
    int overloaded; /* answered 503 at once */
    int refused;    /* the key: answered 401 or 403 at once */
    cw_role role;
    api_error auth_err;
    struct timespec started;
} request_state;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static const char *route_label(const route *r)
{
    static const char *const names[] = {"elder",    "caregiver", "contract", "order",
                                        "check-in", "check-out", "evidence"};
    switch (r->kind) {
    case ROUTE_SUBMIT: return names[r->type];
    case ROUTE_UNFREEZE: return "unfreeze";
    case ROUTE_ELDER_STATUS: return "elder_status";
    case ROUTE_ORDER_CHANGE: {
        static const char *const changes[] = {"cancel", "reschedule", "reassign",
                                              "approve_change"};
        return changes[r->change];
    }
    case ROUTE_BATCH: return "batch";
    case ROUTE_PROBE: return "probe";
    case ROUTE_OPENAPI: return "openapi";
    case ROUTE_NOT_FOUND: break;
    }
    return "unknown";
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, int status, char *text,
                                  const char *content_type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Takes the reference to doc. */
static enum MHD_Result queue_json(struct MHD_Connection *conn, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        text = strdup("{\"error\":\"internal\",\"message\":\"out of memory\",\"field\":\"\"}");
    if (!text)
        return MHD_NO;
    return queue_text(conn, status, text, "application/json");
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, const api_error *err)
{
    return queue_json(conn, err->status, ingest_error_json(err));
}

static enum MHD_Result queue_outcome(struct MHD_Connection *conn, const ingest_outcome *out)
{
    const char *status = out->duplicate ? "duplicate" : "accepted";
    json_t *doc = out->state ? json_pack("{s:s, s:s, s:s}", "status", status, "id", out->id,
                                         "change", out->state)
                             : json_pack("{s:s, s:s}", "status", status, "id", out->id);
    return queue_json(conn, out->duplicate ? 200 : 202, doc);
}

static int append_body(http_server *srv, request_state *rs, const char *data, size_t n)
{
    if (rs->too_large || rs->len + n > rs->limit) {
        rs->too_large = 1;
        return 0;
    }
    size_t before = atomic_fetch_add(&srv->in_flight_bytes, n);
    if (before + n > srv->settings.max_in_flight_bytes) {
        atomic_fetch_sub(&srv->in_flight_bytes, n);
        return -1; /* over the budget while reading: the connection is dropped */
    }
    if (rs->len + n + 1 > rs->cap) {
        size_t cap = rs->cap ? rs->cap : 4096;
        while (cap < rs->len + n + 1)
            cap *= 2;
        char *grown = realloc(rs->body, cap);
        if (!grown)
            return -1;
        rs->body = grown;
        rs->cap = cap;
    }
    memcpy(rs->body + rs->len, data, n);
    rs->len += n;
    rs->body[rs->len] = '\0';
    return 0;
}

static int authenticate(http_server *srv, struct MHD_Connection *conn, cw_role *role,
                        api_error *err);

static request_state *begin_request(http_server *srv, struct MHD_Connection *conn,
                                    const char *method, const char *url)
{
    request_state *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &rs->started);
    rs->route = ingest_route_request(method, url);
    rs->limit = rs->route.kind == ROUTE_BATCH ? srv->settings.max_batch_bytes
                                              : srv->settings.max_body_bytes;
    /* A declared length over the limit is refused without reading the body. */
    const char *declared = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_CONTENT_LENGTH);
    /* The key is judged from the headers, before any body is read. */
    if (rs->route.kind != ROUTE_PROBE && rs->route.kind != ROUTE_OPENAPI &&
        rs->route.kind != ROUTE_NOT_FOUND && rs->route.method_allowed &&
        (authenticate(srv, conn, &rs->role, &rs->auth_err) != 0 ||
         ingest_route_role_check(&rs->route, &rs->role, &rs->auth_err) != 0))
        rs->refused = 1;
    unsigned long long length = declared ? strtoull(declared, NULL, 10) : 0;
    if (length > rs->limit)
        rs->too_large = 1;
    int requests = atomic_fetch_add(&srv->in_flight, 1) + 1;
    if (rs->route.kind != ROUTE_PROBE && !rs->refused &&
        (requests > srv->settings.max_in_flight ||
         atomic_load(&srv->in_flight_bytes) + length > srv->settings.max_in_flight_bytes))
        rs->overloaded = 1;
    return rs;
}

static enum MHD_Result queue_overloaded(struct MHD_Connection *conn)
{
    const char *text = "{\"error\":\"overloaded\",\"message\":\"too many requests in "
                       "flight; nothing was accepted, retry after a second\",\"field\":\"\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result rc = MHD_queue_response(conn, 503, resp);
    MHD_destroy_response(resp);
    return rc;
}

static int authenticate(http_server *srv, struct MHD_Connection *conn, cw_role *role,
                        api_error *err)
{
    const char *header =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    return ingest_authenticate(&srv->ctx->auth, header, role, err);
}

static json_t *parse_body(const request_state *rs, api_error *err)
{
    if (rs->len == 0) {
        ingest_fail(err, 400, "invalid_json", "", "the request body is empty");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(rs->body, rs->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        ingest_fail(err, 400, "invalid_json", "", "%s (line %d, column %d)", jerr.text, jerr.line,
                    jerr.column);
    return doc;
}

static enum MHD_Result answer_probe(http_server *srv, struct MHD_Connection *conn,
                                    const char *url, int *status)
{
    char *body = NULL;
    const char *content_type = "application/json";
    *status = 500;
    srv->settings.probe(url, status, &body, &content_type);
    if (!body)
        body = strdup("{\"error\":\"internal\",\"message\":\"probe failed\",\"field\":\"\"}");
    if (!body)
        return MHD_NO;
    return queue_text(conn, *status, body, content_type);
}

/* The OpenAPI document: compiled in, no key. */
static enum MHD_Result answer_openapi(struct MHD_Connection *conn, int *status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        ingest_openapi_json_len, (void *)ingest_openapi_json, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    *status = 200;
    enum MHD_Result rc = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result answer_api(http_server *srv, struct MHD_Connection *conn,
                                  request_state *rs, int *status)
{
    api_error err = {0};
    ingest_outcome out;
    cw_role role = rs->role; /* judged from the headers in begin_request */
    if (rs->route.kind == ROUTE_BATCH) {
        json_t *doc = ingest_post_batch(srv->ctx, rs->body ? rs->body : "", rs->len, &role, status);
        return queue_json(conn, *status, doc);
    }
    json_t *doc = parse_body(rs, &err);
    int rc = -1;
    if (doc && rs->route.kind == ROUTE_SUBMIT)
        rc = ingest_submit(srv->ctx, rs->route.type, doc, &role, &out, &err);
    else if (doc && rs->route.kind == ROUTE_ELDER_STATUS)
        rc = ingest_elder_status(srv->ctx, rs->route.path_id, doc, &role, &out, &err);
    else if (doc && rs->route.kind == ROUTE_ORDER_CHANGE)
        rc = ingest_order_change(srv->ctx, rs->route.change, rs->route.path_id, doc, &role, &out,
                                 &err);
    else if (doc)
        rc = ingest_unfreeze(srv->ctx, rs->route.path_id, doc, &role, &out, &err);
    json_decref(doc);
    *status = rc == 0 ? (out.duplicate ? 200 : 202) : err.status;
    return rc == 0 ? queue_outcome(conn, &out) : queue_error(conn, &err);
}

static enum MHD_Result answer(http_server *srv, struct MHD_Connection *conn, request_state *rs,
                              const char *method, const char *url)
{
    api_error err = {0};
    int status;
    enum MHD_Result rc;
    if (rs->route.kind == ROUTE_NOT_FOUND) {
        ingest_fail(&err, 404, "not_found", "", "no such endpoint: %s %s", method, url);
        status = 404;
        rc = queue_error(conn, &err);
    } else if (!rs->route.method_allowed) {
        ingest_fail(&err, 405, "method_not_allowed", "", "%s is not allowed on %s", method, url);
        status = 405;
        rc = queue_error(conn, &err);
    } else if (rs->refused) {
        err = rs->auth_err;
        status = err.status;
        rc = queue_error(conn, &err);
    } else if (rs->too_large) {
        ingest_fail(&err, 413, "body_too_large", "", "the body exceeds %zu bytes", rs->limit);
        status = 413;
        rc = queue_error(conn, &err);
    } else if (rs->route.kind == ROUTE_PROBE) {
        rc = answer_probe(srv, conn, url, &status);
    } else if (rs->route.kind == ROUTE_OPENAPI) {
        rc = answer_openapi(conn, &status);
    } else {
        rc = answer_api(srv, conn, rs, &status);
    }
    if (srv->settings.observe)
        srv->settings.observe(route_label(&rs->route), status, seconds_since(&rs->started));
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    http_server *srv = cls;
    request_state *rs = *con_cls;
    if (!rs) {
        rs = begin_request(srv, conn, method, url);
        if (!rs)
            return MHD_NO;
        *con_cls = rs;
        /* Answered before the body is read (the connection then closes):
         * overload, an unknown path or method, a bad key, a declared body
         * over the limit. */
        if (rs->overloaded) {
            if (srv->settings.observe)
                srv->settings.observe(route_label(&rs->route), 503, 0);
            return queue_overloaded(conn);
        }
        if (rs->refused || rs->too_large || rs->route.kind == ROUTE_NOT_FOUND ||
            !rs->route.method_allowed)
            return answer(srv, conn, rs, method, url);
        return MHD_YES;
    }
    if (rs->overloaded || rs->too_large || rs->refused || rs->route.kind == ROUTE_NOT_FOUND ||
        !rs->route.method_allowed) {
        *upload_data_size = 0; /* only reached if a client sends the body anyway */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (seconds_since(&rs->started) > srv->settings.body_timeout_s) {
            cw_log_warn("body too slow: connection closed", "route", route_label(&rs->route),
                        NULL);
            if (srv->settings.observe)
                srv->settings.observe(route_label(&rs->route), 408,
                                      seconds_since(&rs->started));
            return MHD_NO;
        }
        if (append_body(srv, rs, upload_data, *upload_data_size))
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(srv, conn, rs, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)conn;
    (void)code;
    http_server *srv = cls;
    request_state *rs = *con_cls;
    if (rs) {
        atomic_fetch_sub(&srv->in_flight, 1);
        atomic_fetch_sub(&srv->in_flight_bytes, rs->len);
        free(rs->body);
        free(rs);
        *con_cls = NULL;
    }
}

/* libmicrohttpd's messages are its format strings. */
static void log_mhd_error(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void log_mhd_error(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    cw_log_warn("http server", "detail", msg, NULL);
}

http_server *ingest_http_start(const http_settings *settings, ingest_ctx *ctx, char *err,
                               size_t errlen)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)settings->port)};
    if (inet_pton(AF_INET, settings->bind_addr, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "http.bind: not an IPv4 address: %s", settings->bind_addr);
        return NULL;
    }
    http_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->settings = *settings;
    srv->ctx = ctx;
    atomic_init(&srv->in_flight, 0);
    atomic_init(&srv->in_flight_bytes, 0);
    /* A thread per connection: a request waiting for Kafka's
     * acknowledgement holds up no other connection. */
    srv->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
            MHD_USE_POLL,
        0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, log_mhd_error, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, settings->idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(settings->max_in_flight + 64),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, settings->max_per_ip, MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d", settings->bind_addr, settings->port);
        free(srv);
        return NULL;
    }
    return srv;
}

int ingest_http_port(const http_server *server)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : -1;
}

void ingest_http_stop(http_server *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    free(server);
}
