#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "admin_http.h"
#include "metrics.h"

#define REPLY_MAX 65536
#define STALL_TIMEOUT_MS 250

/* What the readiness callback answers; tests flip it. */
typedef struct {
    int ready;
    const char *reason;
    int calls;
} readiness_state;

static readiness_state readiness;

static int readiness_stub(void *user_data, char *reason, size_t reason_len)
{
    readiness_state *st = user_data;
    st->calls++;
    if (st->ready)
        return 0;
    snprintf(reason, reason_len, "%s", st->reason);
    return 1;
}

typedef struct {
    int status;
    char text[REPLY_MAX]; /* the whole reply, NUL-terminated */
    const char *body;     /* into text, after the blank line */
} http_reply;

static http_reply reply;

static int connect_to_admin(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cw_admin_port())};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    return fd;
}

static void send_all(int fd, const char *data)
{
    size_t len = strlen(data);
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* Sends one raw request and reads the reply until the server closes. */
static void raw_request(const char *request)
{
    int fd = connect_to_admin();
    send_all(fd, request);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(reply.text) - 1 &&
           (n = recv(fd, reply.text + len, sizeof(reply.text) - 1 - len, 0)) > 0)
        len += (size_t)n;
    close(fd);
    reply.text[len] = '\0';
    assert_int_equal(sscanf(reply.text, "HTTP/1.1 %d ", &reply.status), 1);
    char *blank = strstr(reply.text, "\r\n\r\n");
    assert_non_null(blank);
    reply.body = blank + 4;
}

static void request(const char *method, const char *path)
{
    char text[512];
    snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
             method, path);
    raw_request(text);
}

static void assert_reply(int status, const char *body)
{
    assert_int_equal(reply.status, status);
    assert_string_equal(reply.body, body);
}

static void assert_header(const char *line)
{
    char wanted[256];
    snprintf(wanted, sizeof(wanted), "\r\n%s\r\n", line);
    if (!strstr(reply.text, wanted))
        fail_msg("no header \"%s\" in:\n%s", line, reply.text);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int start_admin(void **state)
{
    char err[256];
    readiness = (readiness_state){.ready = 1, .reason = ""};
    cw_admin_set_stall_timeout_ms(CW_ADMIN_DEFAULT_STALL_TIMEOUT_MS);
    if (cw_admin_start("127.0.0.1", 0, readiness_stub, &readiness, err, sizeof(err)) != 0) {
        fprintf(stderr, "cw_admin_start: %s\n", err);
        return -1;
    }
    return 0;
}

static int stop_admin(void **state)
{
    cw_admin_stop();
    cw_metrics_shutdown();
    return 0;
}

static void test_port_zero_picks_a_free_port(void **state)
{
    assert_true(cw_admin_port() > 0);
}

static void test_liveness(void **state)
{
    request("GET", "/livez");
    assert_reply(200, "{\"status\":\"ok\"}");
    assert_header("Content-Type: application/json");
    request("GET", "/healthz");
    assert_reply(200, "{\"status\":\"ok\"}");
    request("GET", "/livez?verbose=1");
    assert_reply(200, "{\"status\":\"ok\"}");
}

static void test_liveness_fails_when_heartbeat_stalls(void **state)
{
    /* Long enough for a request under valgrind, short enough to wait out. */
    cw_admin_set_stall_timeout_ms(STALL_TIMEOUT_MS);
    cw_admin_heartbeat();
    request("GET", "/livez");
    assert_int_equal(reply.status, 200);

    sleep_ms(2 * STALL_TIMEOUT_MS);
    request("GET", "/livez");
    assert_int_equal(reply.status, 503);
    assert_non_null(strstr(reply.body, "{\"status\":\"stalled\",\"reason\":\"no heartbeat"));
    request("GET", "/healthz");
    assert_int_equal(reply.status, 503);

    cw_admin_heartbeat();
    request("GET", "/livez");
    assert_reply(200, "{\"status\":\"ok\"}");

    cw_admin_set_stall_timeout_ms(0);
    sleep_ms(2 * STALL_TIMEOUT_MS);
    request("GET", "/livez");
    assert_reply(200, "{\"status\":\"ok\"}");
}

static void test_readiness_follows_callback(void **state)
{
    request("GET", "/readyz");
    assert_reply(200, "{\"status\":\"ready\"}");
    assert_header("Content-Type: application/json");

    readiness.ready = 0;
    readiness.reason = "redis unreachable: \"connection refused\"";
    request("GET", "/readyz");
    assert_reply(503,
                 "{\"status\":\"not ready\",\"reason\":\"redis unreachable: \\\"connection "
                 "refused\\\"\"}");

    readiness.reason = "";
    request("GET", "/readyz");
    assert_reply(503, "{\"status\":\"not ready\",\"reason\":\"unspecified\"}");

    readiness.ready = 1;
    request("GET", "/readyz");
    assert_reply(200, "{\"status\":\"ready\"}");
    assert_int_equal(readiness.calls, 4);
}

static void test_no_readiness_callback_means_ready(void **state)
{
    cw_admin_set_readiness(NULL, NULL);
    request("GET", "/readyz");
    assert_reply(200, "{\"status\":\"ready\"}");
}

static void test_metrics_endpoint(void **state)
{
    cw_counter *c = cw_metrics_counter("test_hits_total", "Hits.", "path");
    cw_counter_add(c, CW_LABELS("/x"), 7);
    request("GET", "/metrics");
    assert_int_equal(reply.status, 200);
    assert_non_null(strstr(reply.body, "# HELP test_hits_total Hits.\n"
                                       "# TYPE test_hits_total counter\n"
                                       "test_hits_total{path=\"/x\"} 7\n"));
    assert_header("Content-Type: text/plain; version=0.0.4; charset=utf-8");
}

/* carewatch_ready follows the readiness callback, asked at the scrape. */
static void test_metrics_report_readiness(void **state)
{
    (void)state;
    request("GET", "/metrics");
    assert_non_null(strstr(reply.body, "# TYPE carewatch_ready gauge\ncarewatch_ready 1\n"));
    readiness.ready = 0;
    readiness.reason = "kafka unreachable";
    request("GET", "/metrics");
    assert_int_equal(reply.status, 200);
    assert_non_null(strstr(reply.body, "\ncarewatch_ready 0\n"));
    readiness.ready = 1;
}

static void test_unknown_path_is_404(void **state)
{
    request("GET", "/nope");
    assert_reply(404, "{\"error\":\"not_found\",\"message\":\"no such endpoint: /nope\","
                      "\"field\":\"\"}");
    assert_header("Content-Type: application/json");
    request("GET", "/");
    assert_int_equal(reply.status, 404);
    request("DELETE", "/v1/orders");
    assert_int_equal(reply.status, 404);
}

static void test_other_methods_are_405(void **state)
{
    request("POST", "/livez");
    assert_reply(405, "{\"error\":\"method_not_allowed\",\"message\":\"POST is not allowed on "
                      "/livez\",\"field\":\"\"}");
    assert_header("Allow: GET, HEAD");
    raw_request("PUT /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                "Content-Length: 5\r\n\r\nhello");
    assert_int_equal(reply.status, 405);
    assert_header("Content-Type: application/json");
}

static void test_head_answers_without_body(void **state)
{
    request("HEAD", "/livez");
    assert_reply(200, "");
}

static void test_http_1_0_client(void **state)
{
    raw_request("GET /readyz HTTP/1.0\r\n\r\n");
    assert_reply(200, "{\"status\":\"ready\"}");
}

static void test_probe_function_for_other_servers(void **state)
{
    int status;
    char *body;
    const char *content_type;
    cw_admin_probe("/livez", &status, &body, &content_type);
    assert_int_equal(status, 200);
    assert_string_equal(body, "{\"status\":\"ok\"}");
    assert_string_equal(content_type, "application/json");
    free(body);

    cw_admin_probe("/metrics", &status, &body, &content_type);
    assert_int_equal(status, 200);
    assert_string_equal(content_type, CW_METRICS_CONTENT_TYPE);
    free(body);

    readiness.ready = 0;
    readiness.reason = "kafka down";
    cw_admin_probe("/readyz", &status, &body, &content_type);
    assert_int_equal(status, 503);
    assert_string_equal(body, "{\"status\":\"not ready\",\"reason\":\"kafka down\"}");
    free(body);

    cw_admin_probe("/other", &status, &body, &content_type);
    assert_int_equal(status, 404);
    free(body);

    assert_true(cw_admin_is_probe_path("/livez"));
    assert_true(cw_admin_is_probe_path("/healthz"));
    assert_true(cw_admin_is_probe_path("/readyz"));
    assert_true(cw_admin_is_probe_path("/metrics"));
    assert_false(cw_admin_is_probe_path("/metrics/"));
    assert_false(cw_admin_is_probe_path("/"));
}

static void test_second_start_is_refused(void **state)
{
    char err[256];
    int port = cw_admin_port();
    assert_int_equal(cw_admin_start("127.0.0.1", 0, NULL, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "the admin listener is already running");
    assert_int_equal(cw_admin_port(), port);
    request("GET", "/livez");
    assert_int_equal(reply.status, 200);
}

static void test_start_errors(void **state)
{
    char err[256];
    assert_int_equal(cw_admin_start("localhost", 0, NULL, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "admin bind address is not an IP address: localhost");
    assert_int_equal(cw_admin_start("127.0.0.1", 70000, NULL, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "admin port out of range: 70000");
    assert_int_equal(cw_admin_port(), -1);
}

static void test_port_in_use_is_an_error(void **state)
{
    char err[256];
    int port = cw_admin_port();
    cw_admin_stop();
    int blocker = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    assert_int_equal(bind(blocker, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(blocker, 1), 0);
    assert_int_equal(cw_admin_start("127.0.0.1", port, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot listen on 127.0.0.1 port"));
    close(blocker);
}

static void test_stop_is_idempotent(void **state)
{
    cw_admin_stop();
    cw_admin_stop();
    assert_int_equal(cw_admin_port(), -1);
}

#define SERVED_TEST(f) cmocka_unit_test_setup_teardown(f, start_admin, stop_admin)

int main(void)
{
    const struct CMUnitTest tests[] = {
        SERVED_TEST(test_port_zero_picks_a_free_port),
        SERVED_TEST(test_liveness),
        SERVED_TEST(test_liveness_fails_when_heartbeat_stalls),
        SERVED_TEST(test_readiness_follows_callback),
        SERVED_TEST(test_no_readiness_callback_means_ready),
        SERVED_TEST(test_metrics_endpoint),
        SERVED_TEST(test_metrics_report_readiness),
        SERVED_TEST(test_unknown_path_is_404),
        SERVED_TEST(test_other_methods_are_405),
        SERVED_TEST(test_head_answers_without_body),
        SERVED_TEST(test_http_1_0_client),
        SERVED_TEST(test_probe_function_for_other_servers),
        SERVED_TEST(test_second_start_is_refused),
        SERVED_TEST(test_port_in_use_is_an_error),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_stop_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
