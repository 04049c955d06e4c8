#include "supervision-desk/desk_http.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "shutdown.h"
#include "supervision-desk/desk_ops.h"
#include "supervision-desk/live_feed.h"
#include "supervision-desk/static_files.h"
#include "timeutil.h"

/* A live stream sends a comment after this long without an event, so
 * proxies keep the connection and a closed client is noticed. */
#define LIVE_KEEPALIVE_MS 15000
#define LIVE_WAIT_STEP_MS 500

#define BODY_MAX (16 * 1024)

/* The OpenAPI 3.1 document of this API (docs/openapi/desk.json), compiled
 * in by services/CMakeLists.txt: len bytes, followed by a 0. */
extern const unsigned char desk_openapi_json[];
extern const size_t desk_openapi_json_len;

struct desk_http {
    struct MHD_Daemon *daemon;
    desk *d;
};

typedef enum {
    ROUTE_NONE,
    ROUTE_LIVEZ,
    ROUTE_READYZ,
    ROUTE_CASES,
    ROUTE_CASE,
    ROUTE_CASE_DEED,
    ROUTE_CALLBACKS,
    ROUTE_CALLBACK,
    ROUTE_COMPLAINTS,
    ROUTE_STATS,
    ROUTE_ORDER,
    ROUTE_CHANGES,
    ROUTE_CAREGIVER,
    ROUTE_PROOF,
    ROUTE_LIVE,
    ROUTE_STATIC,
    ROUTE_WHOAMI,
    ROUTE_CAREGIVERS,
    ROUTE_UNFREEZE,
    ROUTE_OPENAPI
} route_kind;

typedef struct {
    route_kind kind;
    int post;
    char id[DESK_CASE_ID_MAX]; /* case or order id */
    desk_deed deed;
} route;

typedef struct {
    route r;
    cw_role role;
    char *body; /* owned */
    size_t len;
    int too_large;
} request;

/* ---- routing ------------------------------------------------------------------ */

/* Copies the path segment after prefix into id; 0 when it is an id. */
static int take_id(const char *rest, char *id, size_t len, const char **after)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= len)
        return -1;
    memcpy(id, rest, n);
    id[n] = '\0';
    *after = slash ? slash : rest + n;
    return 0;
}

/* 0 and *r set, 404 unknown path, 405 known path with another method. */
static int route_of(const char *method, const char *url, route *r)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    const char *after;
    memset(r, 0, sizeof(*r));
    r->post = post;
    if (strcmp(url, "/livez") == 0 || strcmp(url, "/healthz") == 0)
        r->kind = ROUTE_LIVEZ;
    else if (strcmp(url, "/readyz") == 0)
        r->kind = ROUTE_READYZ;
    else if (strcmp(url, "/v1/cases") == 0)
        r->kind = ROUTE_CASES;
    else if (strcmp(url, "/v1/callbacks") == 0)
        r->kind = ROUTE_CALLBACKS;
    else if (strcmp(url, "/v1/complaints") == 0)
        r->kind = ROUTE_COMPLAINTS;
    else if (strcmp(url, "/v1/stats") == 0)
        r->kind = ROUTE_STATS;
    else if (strcmp(url, "/v1/changes") == 0)
        r->kind = ROUTE_CHANGES;
    else if (strcmp(url, "/v1/live") == 0)
        r->kind = ROUTE_LIVE;
    else if (strcmp(url, "/v1/whoami") == 0)
        r->kind = ROUTE_WHOAMI;
    else if (strcmp(url, "/v1/caregivers") == 0)
        r->kind = ROUTE_CAREGIVERS;
    else if (strcmp(url, "/v1/openapi.json") == 0)
        r->kind = ROUTE_OPENAPI;
    else if (desk_static_find(url) != NULL)
        r->kind = ROUTE_STATIC;
    else if (strncmp(url, "/v1/cases/", 10) == 0 &&
             take_id(url + 10, r->id, sizeof(r->id), &after) == 0) {
        if (*after == '\0')
            r->kind = ROUTE_CASE;
        else if (strcmp(after, "/acknowledge") == 0)
            r->kind = ROUTE_CASE_DEED, r->deed = DESK_DEED_ACKNOWLEDGE;
        else if (strcmp(after, "/resolve") == 0)
            r->kind = ROUTE_CASE_DEED, r->deed = DESK_DEED_RESOLVE;
        else if (strcmp(after, "/escalate") == 0)
            r->kind = ROUTE_CASE_DEED, r->deed = DESK_DEED_ESCALATE;
    } else if (strncmp(url, "/v1/callbacks/", 14) == 0 &&
               take_id(url + 14, r->id, DESK_ID_MAX, &after) == 0 && *after == '\0') {
        r->kind = ROUTE_CALLBACK;
    } else if (strncmp(url, "/v1/orders/", 11) == 0 &&
               take_id(url + 11, r->id, DESK_ID_MAX, &after) == 0) {
        if (*after == '\0')
            r->kind = ROUTE_ORDER;
        else if (strcmp(after, "/proof") == 0)
            r->kind = ROUTE_PROOF;
    } else if (strncmp(url, "/v1/caregivers/", 15) == 0 &&
               take_id(url + 15, r->id, DESK_ID_MAX, &after) == 0) {
        if (*after == '\0')
            r->kind = ROUTE_CAREGIVER;
        else if (strcmp(after, "/unfreeze") == 0)
            r->kind = ROUTE_UNFREEZE;
    }
    if (r->kind == ROUTE_NONE)
        return 404;
    if (r->kind == ROUTE_STATIC)
        return get ? 0 : 405;
    int wants_post = r->kind == ROUTE_CASE_DEED || r->kind == ROUTE_CALLBACK ||
                     r->kind == ROUTE_COMPLAINTS || r->kind == ROUTE_UNFREEZE;
    return (wants_post ? post : get) ? 0 : 405;
}

/* ---- answering ------------------------------------------------------------------ */

static enum MHD_Result answer(struct MHD_Connection *conn, int status, json_t *body, int close)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        text = strdup("{\"error\":\"internal\",\"message\":\"out of memory\",\"field\":\"\"}");
    size_t len = text ? strlen(text) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text ? text : (char *)"", MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (close)
        MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, int status, const char *code,
                              const char *message)
{
    return answer(conn, status, desk_error(code, message, ""), 1);
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    return v && v[0] ? v : NULL;
}

/* The case list's filters from the query. 0, or 400 with *body. */
static int read_filter(struct MHD_Connection *conn, desk_case_filter *f, json_t **body)
{
    const char *v;
    memset(f, 0, sizeof(*f));
    f->status = f->colour = -1;
    f->since = INT64_MIN;
    if ((v = arg(conn, "status")) && (f->status = desk_filter_status(v)) < 0)
        goto bad_status;
    if ((v = arg(conn, "colour")) && (f->colour = desk_filter_colour(v)) < 0) {
        *body = desk_error("invalid_value", "colour: RED, ORANGE or YELLOW", "colour");
        return 400;
    }
    if ((v = arg(conn, "kind")) && desk_filter_kind(v) < 0) {
        *body = desk_error("invalid_value", "kind: ORDER, FREEZE or COMPLAINT", "kind");
        return 400;
    }
    f->kind = v;
    f->street_id = arg(conn, "street_id");
    if ((v = arg(conn, "since")) && cw_time_parse_rfc3339(v, &f->since) != 0) {
        *body = desk_error("invalid_value", "since: an RFC 3339 time", "since");
        return 400;
    }
    f->attention = (v = arg(conn, "attention")) && strcmp(v, "true") == 0;
    f->overdue = (v = arg(conn, "overdue")) && strcmp(v, "true") == 0;
    char *end;
    if ((v = arg(conn, "limit"))) {
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 500) {
            *body = desk_error("invalid_value", "limit: 1 to 500", "limit");
            return 400;
        }
        f->limit = (size_t)n;
    }
    if ((v = arg(conn, "cursor"))) {
        long long n = strtoll(v, &end, 10);
        if (*end || n < 0) {
            *body = desk_error("invalid_value", "cursor: as given in next_cursor", "cursor");
            return 400;
        }
        f->cursor = (size_t)n;
    }
    return 0;
bad_status:
    *body = desk_error("invalid_value", "status: OPEN, ACKNOWLEDGED, ESCALATED or RESOLVED",
                       "status");
    return 400;
}

static enum MHD_Result dispatch(desk *d, struct MHD_Connection *conn, request *rq)
{
    json_t *body = NULL, *req = NULL;
    int status;
    if (rq->r.post) {
        json_error_t jerr;
        req = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req || !json_is_object(req)) {
            json_decref(req);
            return answer(conn, 400, desk_error("malformed_json", "the body must be a JSON object", ""),
                          0);
        }
    }
    desk_case_filter f;
    switch (rq->r.kind) {
    case ROUTE_CASES:
        status = read_filter(conn, &f, &body);
        if (status == 0)
            status = desk_ops_list_cases(d, &rq->role, &f, &body);
        break;
    case ROUTE_CASE: status = desk_ops_get_case(d, &rq->role, rq->r.id, &body); break;
    case ROUTE_CASE_DEED:
        status = desk_ops_deed(d, &rq->role, rq->r.id, rq->r.deed, req, &body);
        break;
    case ROUTE_CALLBACKS:
        status = desk_ops_callbacks(d, &rq->role, arg(conn, "street_id"), arg(conn, "day"), &body);
        break;
    case ROUTE_CALLBACK: status = desk_ops_callback(d, &rq->role, rq->r.id, req, &body); break;
    case ROUTE_COMPLAINTS: status = desk_ops_complaint(d, &rq->role, req, &body); break;
    case ROUTE_STATS:
        status = desk_ops_stats(d, &rq->role, arg(conn, "street_id"), arg(conn, "from"),
                                arg(conn, "to"), arg(conn, "by"), &body);
        break;
    case ROUTE_ORDER: status = desk_ops_order(d, &rq->role, rq->r.id, &body); break;
    case ROUTE_CHANGES:
        status = desk_ops_changes(d, &rq->role, arg(conn, "street_id"), arg(conn, "state"), &body);
        break;
    case ROUTE_CAREGIVER: status = desk_ops_caregiver(d, &rq->role, rq->r.id, &body); break;
    case ROUTE_PROOF: status = desk_ops_proof(d, &rq->role, rq->r.id, &body); break;
    case ROUTE_WHOAMI: status = desk_ops_whoami(&rq->role, &body); break;
    case ROUTE_CAREGIVERS: status = desk_ops_caregivers(d, &rq->role, &body); break;
    case ROUTE_UNFREEZE:
        status = desk_ops_unfreeze(
            d, &rq->role, rq->r.id,
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"), req, &body);
        break;
    default: status = 404; body = desk_error("not_found", "no such path", ""); break;
    }
    json_decref(req);
    return answer(conn, status, body, 0);
}

/* ---- the console and the live stream ------------------------------------------------ */

/* GET /v1/openapi.json: the API's description, no key (it holds no data). */
static enum MHD_Result serve_openapi(struct MHD_Connection *conn)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        desk_openapi_json_len, (void *)desk_openapi_json, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    enum MHD_Result rc = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* The console's files: no key (they hold no data; every call they make
 * carries the key the person signed in with). */
static enum MHD_Result serve_static(struct MHD_Connection *conn, const char *url)
{
    const struct desk_static_file *f = desk_static_find(url);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        f->len, (void *)f->bytes, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", desk_static_type(f->path));
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:");
    enum MHD_Result rc = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

typedef struct {
    desk *d;
    cw_role role;
    uint64_t next;     /* the feed's seq to send next */
    char *pending;     /* what was read but not yet sent (owned) */
    size_t pending_len, pending_off;
} live_reader;

/* Appends the SSE frames of the visible items after r->next (the lock
 * held). 0 or -1 out of memory. */
static int collect_live(live_reader *r)
{
    const desk_live_feed *f = &r->d->feed;
    if (f->last >= DESK_LIVE_FEED_SIZE && r->next <= f->last - DESK_LIVE_FEED_SIZE)
        r->next = f->last - DESK_LIVE_FEED_SIZE + 1; /* a reader that fell behind skips */
    size_t len = 0;
    for (uint64_t s = r->next; s <= f->last; s++) {
        const desk_live_item *item = desk_live_feed_get(f, s);
        if (item && desk_live_feed_visible(item, &r->role))
            len += strlen(item->json) + 32;
    }
    free(r->pending);
    r->pending = NULL;
    r->pending_len = r->pending_off = 0;
    if (len == 0) {
        r->next = f->last + 1;
        return 0;
    }
    r->pending = malloc(len + 1);
    if (!r->pending)
        return -1;
    for (; r->next <= f->last; r->next++) {
        const desk_live_item *item = desk_live_feed_get(f, r->next);
        if (!item || !desk_live_feed_visible(item, &r->role))
            continue;
        int w = snprintf(r->pending + r->pending_len, len + 1 - r->pending_len,
                         "id: %llu\nevent: case\ndata: %s\n\n", (unsigned long long)item->seq,
                         item->json);
        if (w < 0 || (size_t)w > len - r->pending_len)
            break;
        r->pending_len += (size_t)w;
    }
    return 0;
}

static ssize_t read_live(void *cls, uint64_t pos, char *buf, size_t max)
{
    live_reader *r = cls;
    (void)pos;
    if (r->pending_off == r->pending_len) {
        desk *d = r->d;
        int waited = 0, rc = 0;
        pthread_mutex_lock(&d->lock);
        while (d->feed.last < r->next && waited < LIVE_KEEPALIVE_MS && !cw_shutdown_requested()) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += LIVE_WAIT_STEP_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&d->feed.changed, &d->lock, &until);
            waited += LIVE_WAIT_STEP_MS;
        }
        if (d->feed.last >= r->next)
            rc = collect_live(r);
        pthread_mutex_unlock(&d->lock);
        if (rc != 0 || cw_shutdown_requested())
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (r->pending_len == 0) {
            static const char keepalive[] = ": keepalive\n\n";
            size_t n = sizeof(keepalive) - 1 < max ? sizeof(keepalive) - 1 : max;
            memcpy(buf, keepalive, n);
            return (ssize_t)n;
        }
    }
    size_t n = r->pending_len - r->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, r->pending + r->pending_off, n);
    r->pending_off += n;
    return (ssize_t)n;
}

static void free_live(void *cls)
{
    live_reader *r = cls;
    free(r->pending);
    free(r);
}

/* GET /v1/live: the case events the key may see, as Server-Sent Events
 * (event "case", data {case, event}), from now on. */
static enum MHD_Result serve_live(desk *d, struct MHD_Connection *conn, const cw_role *role)
{
    live_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return MHD_NO;
    r->d = d;
    r->role = *role;
    pthread_mutex_lock(&d->lock);
    r->next = d->feed.last + 1;
    pthread_mutex_unlock(&d->lock);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_live, r, free_live);
    if (!resp) {
        free_live(r);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- the first call: headers only ------------------------------------------------ */

/* What can be refused from the headers. 0 to go on; otherwise answered. */
static int judge_headers(struct desk_http *h, struct MHD_Connection *conn, const char *method,
                         const char *url, request *rq, enum MHD_Result *result)
{
    int rc = route_of(method, url, &rq->r);
    if (rc == 404) {
        *result = refuse(conn, 404, "not_found", "no such path");
        return -1;
    }
    if (rc == 405) {
        *result = refuse(conn, 405, "method_not_allowed", "not allowed on this path");
        return -1;
    }
    if (rq->r.kind == ROUTE_LIVEZ) {
        *result = answer(conn, 200, json_pack("{s:s}", "status", "ok"), 0);
        return -1;
    }
    if (rq->r.kind == ROUTE_STATIC) {
        *result = serve_static(conn, url);
        return -1;
    }
    if (rq->r.kind == ROUTE_OPENAPI) {
        *result = serve_openapi(conn);
        return -1;
    }
    if (rq->r.kind == ROUTE_READYZ) {
        int ready = desk_ops_ready(h->d);
        *result = answer(conn, ready ? 200 : 503,
                         ready ? json_pack("{s:s}", "status", "ready")
                               : json_pack("{s:s, s:s}", "status", "not ready", "reason",
                                           "rebuilding from Kafka"),
                         0);
        return -1;
    }
    const char *reason = "";
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (cw_key_lookup(&h->d->keys, auth, &rq->role, &reason) != 0) {
        *result = refuse(conn, 401, "unauthorized", reason);
        return -1;
    }
    if (rq->role.kind != CW_ROLE_STREET && rq->role.kind != CW_ROLE_COMMAND &&
        rq->role.kind != CW_ROLE_ADMIN) {
        *result = refuse(conn, 403, "forbidden", "the desk serves street, command and admin keys");
        return -1;
    }
    if ((rq->r.kind == ROUTE_CASE || rq->r.kind == ROUTE_CASE_DEED) &&
        !desk_ops_may_see(h->d, &rq->role, rq->r.id)) {
        *result = refuse(conn, 404, "not_found", "no case with this id");
        return -1;
    }
    if (!desk_ops_ready(h->d)) {
        *result = refuse(conn, 503, "unavailable", "the desk is rebuilding from Kafka");
        return -1;
    }
    if (rq->r.kind == ROUTE_LIVE) {
        *result = serve_live(h->d, conn, &rq->role);
        return -1;
    }
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (length && strtoull(length, NULL, 10) > BODY_MAX) {
        *result = refuse(conn, 413, "too_large", "a body is at most 16 KiB");
        return -1;
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct desk_http *h = cls;
    (void)version;
    request *rq = *con_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        enum MHD_Result result;
        if (judge_headers(h, conn, method, url, rq, &result) != 0)
            return result;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!rq->too_large && rq->len + *upload_data_size <= BODY_MAX) {
            char *grown = realloc(rq->body, rq->len + *upload_data_size + 1);
            if (!grown)
                return MHD_NO;
            memcpy(grown + rq->len, upload_data, *upload_data_size);
            rq->body = grown;
            rq->len += *upload_data_size;
            rq->body[rq->len] = '\0';
        } else {
            rq->too_large = 1;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->too_large)
        return refuse(conn, 413, "too_large", "a body is at most 16 KiB");
    return dispatch(h->d, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void log_mhd(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    if (n && msg[n - 1] == '\n')
        msg[n - 1] = '\0';
    cw_log_warn("http", "detail", msg, NULL);
}

desk_http *desk_http_start(desk *d, const char *bind_addr, int port, int idle_timeout_s,
                           unsigned max_connections, char *err, size_t errlen)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "http.bind: not an IPv4 address");
        return NULL;
    }
    desk_http *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->d = d;
    h->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
            MHD_USE_POLL,
        0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        h, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        max_connections, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d", bind_addr, port);
        free(h);
        return NULL;
    }
    return h;
}

int desk_http_port(const desk_http *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : -1;
}

void desk_http_stop(desk_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
