#include "admin_http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

#define JSON_CONTENT_TYPE "application/json"
#define REASON_MAX 256

static struct MHD_Daemon *admin_daemon;
static int admin_port = -1;

/* Monotonic milliseconds of the last heartbeat; 0 = none yet. */
static atomic_llong last_heartbeat_ms;
static atomic_llong stall_timeout_ms = CW_ADMIN_DEFAULT_STALL_TIMEOUT_MS;

static pthread_mutex_t readiness_lock = PTHREAD_MUTEX_INITIALIZER;
static cw_readiness_fn readiness_fn;
static void *readiness_user_data;
/* carewatch_ready: the readiness asked again at every scrape, so that an
 * alert can see a running service that is not ready. */
static cw_gauge *ready_gauge;

static long long monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* +1 keeps the value clear of 0, which means "no heartbeat yet". */
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 + 1;
}

void cw_admin_heartbeat(void)
{
    atomic_store(&last_heartbeat_ms, monotonic_ms());
}

void cw_admin_set_stall_timeout_ms(int64_t ms)
{
    atomic_store(&stall_timeout_ms, (long long)ms);
}

void cw_admin_set_readiness(cw_readiness_fn readiness, void *user_data)
{
    pthread_mutex_lock(&readiness_lock);
    readiness_fn = readiness;
    readiness_user_data = user_data;
    pthread_mutex_unlock(&readiness_lock);
}

/* ---- probe answers ---- */

/* Takes the reference to doc. NULL when out of memory. */
static char *json_text(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

static char *status_json(const char *status, const char *reason)
{
    if (!reason)
        return json_text(json_pack("{s:s}", "status", status));
    return json_text(json_pack("{s:s, s:s}", "status", status, "reason", reason));
}

static char *error_json(const char *code, const char *message)
{
    return json_text(
        json_pack("{s:s, s:s, s:s}", "error", code, "message", message, "field", ""));
}

/* Milliseconds since the last heartbeat, starting the count now if there
 * was none yet. */
static long long heartbeat_age_ms(void)
{
    long long now = monotonic_ms();
    long long expected = 0;
    atomic_compare_exchange_strong(&last_heartbeat_ms, &expected, now);
    return now - atomic_load(&last_heartbeat_ms);
}

static char *answer_liveness(int *status)
{
    long long timeout = atomic_load(&stall_timeout_ms);
    long long age = heartbeat_age_ms();
    if (timeout <= 0 || age <= timeout) {
        *status = 200;
        return status_json("ok", NULL);
    }
    char reason[REASON_MAX];
    snprintf(reason, sizeof(reason), "no heartbeat from the main loop for %lld ms (limit %lld ms)",
             age, timeout);
    *status = 503;
    return status_json("stalled", reason);
}

static char *answer_readiness(int *status)
{
    pthread_mutex_lock(&readiness_lock);
    cw_readiness_fn fn = readiness_fn;
    void *user_data = readiness_user_data;
    pthread_mutex_unlock(&readiness_lock);

    char reason[REASON_MAX] = "";
    int ready = !fn || fn(user_data, reason, sizeof(reason)) == 0;
    if (ready_gauge != NULL)
        cw_gauge_set(ready_gauge, NULL, ready ? 1.0 : 0.0);
    if (ready) {
        *status = 200;
        return status_json("ready", NULL);
    }
    reason[sizeof(reason) - 1] = '\0';
    *status = 503;
    return status_json("not ready", reason[0] ? reason : "unspecified");
}

static char *answer_not_found(const char *url, int *status)
{
    char message[REASON_MAX];
    snprintf(message, sizeof(message), "no such endpoint: %s", url);
    *status = 404;
    return error_json("not_found", message);
}

int cw_admin_is_probe_path(const char *url)
{
    return strcmp(url, "/livez") == 0 || strcmp(url, "/healthz") == 0 ||
           strcmp(url, "/readyz") == 0 || strcmp(url, "/metrics") == 0;
}

void cw_admin_probe(const char *url, int *status, char **body, const char **content_type)
{
    *content_type = JSON_CONTENT_TYPE;
    if (strcmp(url, "/livez") == 0 || strcmp(url, "/healthz") == 0) {
        *body = answer_liveness(status);
    } else if (strcmp(url, "/readyz") == 0) {
        *body = answer_readiness(status);
    } else if (strcmp(url, "/metrics") == 0) {
        int readiness_status;
        free(answer_readiness(&readiness_status)); /* sets carewatch_ready */
        *status = 200;
        *content_type = CW_METRICS_CONTENT_TYPE;
        *body = cw_metrics_render();
    } else {
        *body = answer_not_found(url, status);
    }
    if (!*body) {
        *status = 500;
        *content_type = JSON_CONTENT_TYPE;
    }
}

/* ---- the listener ---- */

static struct MHD_Response *create_response(char *body)
{
    static char out_of_memory[] =
        "{\"error\":\"internal\",\"message\":\"out of memory\",\"field\":\"\"}";
    if (!body)
        return MHD_create_response_from_buffer(strlen(out_of_memory), out_of_memory,
                                               MHD_RESPMEM_PERSISTENT);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return resp;
}

/* Takes body; NULL (out of memory) is answered as a 500. */
static enum MHD_Result queue_body(struct MHD_Connection *conn, int status, char *body,
                                  const char *content_type, const char *allow)
{
    if (!body) {
        status = 500;
        content_type = JSON_CONTENT_TYPE;
    }
    struct MHD_Response *resp = create_response(body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result answer_method_not_allowed(struct MHD_Connection *conn, const char *method,
                                                 const char *url)
{
    char message[REASON_MAX];
    snprintf(message, sizeof(message), "%s is not allowed on %s", method, url);
    return queue_body(conn, 405, error_json("method_not_allowed", message), JSON_CONTENT_TYPE,
                      "GET, HEAD");
}

/* Every answer is queued on the first call, once the headers are in; a
 * request body, if any, is never needed and libmicrohttpd discards it. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    int is_read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (cw_admin_is_probe_path(url) && !is_read)
        return answer_method_not_allowed(conn, method, url);
    int status;
    char *body;
    const char *content_type;
    cw_admin_probe(url, &status, &body, &content_type);
    return queue_body(conn, status, body, content_type, NULL);
}

/* libmicrohttpd's messages are its format strings. */
static void log_mhd_error(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void log_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof(message), fmt, ap);
    message[strcspn(message, "\n")] = '\0';
    cw_log_warn("admin http server", "detail", message, NULL);
}

/* Fills addr from an IPv4 or IPv6 literal. Returns 0, or -1. */
static int parse_bind_address(const char *text, int port, struct sockaddr_storage *addr,
                                    int *is_ipv6)
{
    memset(addr, 0, sizeof(*addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *is_ipv6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *is_ipv6 = 1;
        return 0;
    }
    return -1;
}

static int bound_port(struct MHD_Daemon *daemon)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : -1;
}

int cw_admin_start(const char *bind_addr, int port, cw_readiness_fn readiness, void *user_data,
                   char *err, size_t errlen)
{
    if (!bind_addr)
        bind_addr = "127.0.0.1";
    if (admin_daemon) {
        snprintf(err, errlen, "the admin listener is already running");
        return -1;
    }
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "admin port out of range: %d", port);
        return -1;
    }
    struct sockaddr_storage addr;
    int is_ipv6;
    if (parse_bind_address(bind_addr, port, &addr, &is_ipv6)) {
        snprintf(err, errlen, "admin bind address is not an IP address: %s", bind_addr);
        return -1;
    }
    cw_admin_set_readiness(readiness, user_data);
    cw_admin_heartbeat();
    ready_gauge = cw_metrics_gauge("carewatch_ready",
                                   "1 when the service answers /readyz with 200, else 0 "
                                   "(asked at every scrape).",
                                   "");
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    if (is_ipv6)
        flags |= MHD_USE_IPv6;
    /* The logger goes first, or libmicrohttpd prints the options' own
     * messages to stderr as plain text. */
    admin_daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, log_mhd_error, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!admin_daemon) {
        snprintf(err, errlen, "cannot listen on %s port %d", bind_addr, port);
        return -1;
    }
    admin_port = bound_port(admin_daemon);
    return 0;
}

void cw_admin_stop(void)
{
    if (!admin_daemon)
        return;
    MHD_stop_daemon(admin_daemon);
    admin_daemon = NULL;
    admin_port = -1;
    ready_gauge = NULL; /* the registry may be shut down next */
}

int cw_admin_port(void)
{
    return admin_port;
}
