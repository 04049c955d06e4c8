/* common/http_client: URL parsing, request formatting and the response
 * parser (pure), then whole exchanges with a server thread of the test on
 * 127.0.0.1 that answers canned bytes: lengths, chunks, a body ended by the
 * close, a silent server (the deadline), one that talks too much (the
 * limits), and a closed port. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

static const cw_http_limits small_limits = {2000, 256, 64};
static const cw_http_limits default_limits = CW_HTTP_DEFAULT_LIMITS;

/* ------------------------------------------------------------------ */
/* URL                                                                 */
/* ------------------------------------------------------------------ */

static void url_parse_takes_host_port_and_path(void **state)
{
    (void)state;
    cw_http_url u;
    char err[200];
    assert_int_equal(cw_http_url_parse("http://127.0.0.1:8085/apis/ccompat/v7/", &u, err,
                                       sizeof err),
                     0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_string_equal(u.port, "8085");
    assert_string_equal(u.base_path, "/apis/ccompat/v7");
    assert_int_equal(cw_http_url_parse("HTTP://registry", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "registry");
    assert_string_equal(u.port, "80");
    assert_string_equal(u.base_path, "");
    assert_int_equal(cw_http_url_parse("http://[::1]:9/x", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "9");
    assert_string_equal(u.base_path, "/x");
}

static void url_parse_refuses_what_it_cannot_serve(void **state)
{
    (void)state;
    cw_http_url u;
    char err[200];
    const char *bad[] = {"https://registry/",  "ftp://x",          "registry:8081",
                         "http://",            "http://:80/",      "http://h:0/",
                         "http://h:65536/",    "http://h:8x/",     "http://u:p@h/",
                         "http://h/a?b=c",     "http://h/a#f",     "http://[::1/",
                         "http://[::1]x/",     "http://h/a b",     NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(cw_http_url_parse(bad[i], &u, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
    char long_host[400];
    memset(long_host, 'a', sizeof long_host);
    memcpy(long_host, "http://", 7);
    long_host[sizeof long_host - 1] = '\0';
    assert_int_equal(cw_http_url_parse(long_host, &u, err, sizeof err), -1);
}

/* ------------------------------------------------------------------ */
/* Request                                                             */
/* ------------------------------------------------------------------ */

static void request_has_host_length_and_close(void **state)
{
    (void)state;
    cw_http_url u;
    char buf[1024], err[200];
    size_t len;
    assert_int_equal(cw_http_url_parse("http://127.0.0.1:8085/apis/ccompat/v7", &u, err,
                                       sizeof err),
                     0);
    assert_int_equal(cw_http_format_request(buf, sizeof buf, &len, "POST", &u,
                                            "/subjects/carewatch.v1.Alert/versions",
                                            "application/json", 12, err, sizeof err),
                     0);
    assert_int_equal(len, strlen(buf));
    assert_non_null(strstr(buf, "POST /apis/ccompat/v7/subjects/carewatch.v1.Alert/versions "
                                "HTTP/1.1\r\n"));
    assert_non_null(strstr(buf, "\r\nHost: 127.0.0.1:8085\r\n"));
    assert_non_null(strstr(buf, "\r\nContent-Length: 12\r\n"));
    assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
    assert_memory_equal(buf + len - 4, "\r\n\r\n", 4);

    assert_int_equal(cw_http_url_parse("http://[::1]:9", &u, err, sizeof err), 0);
    assert_int_equal(
        cw_http_format_request(buf, sizeof buf, &len, "GET", &u, "/x", NULL, 0, err, sizeof err),
        0);
    assert_non_null(strstr(buf, "GET /x HTTP/1.1\r\nHost: [::1]:9\r\n"));
    assert_null(strstr(buf, "Content-Length"));
}

static void request_refuses_bad_tokens_and_small_buffers(void **state)
{
    (void)state;
    cw_http_url u;
    char buf[1024], err[200];
    size_t len;
    assert_int_equal(cw_http_url_parse("http://h", &u, err, sizeof err), 0);
    assert_int_equal(cw_http_format_request(buf, sizeof buf, &len, "GET", &u, "/a b", NULL, 0,
                                            err, sizeof err),
                     -1);
    assert_int_equal(cw_http_format_request(buf, sizeof buf, &len, "GET", &u, "relative", NULL,
                                            0, err, sizeof err),
                     -1);
    assert_int_equal(cw_http_format_request(buf, sizeof buf, &len, "G\r\nX", &u, "/", NULL, 0,
                                            err, sizeof err),
                     -1);
    assert_int_equal(cw_http_format_request(buf, sizeof buf, &len, "POST", &u, "/",
                                            "text/plain\r\nX-Evil: 1", 1, err, sizeof err),
                     -1);
    assert_int_equal(
        cw_http_format_request(buf, 40, &len, "GET", &u, "/", NULL, 0, err, sizeof err), -1);
}

/* ------------------------------------------------------------------ */
/* Response parser                                                     */
/* ------------------------------------------------------------------ */

static int parse(const char *text, int at_eof, const cw_http_limits *limits,
                 cw_http_response *resp, char *err, size_t errlen)
{
    return cw_http_parse_response(text, strlen(text), at_eof, limits, resp, err, errlen);
}

static void parser_reads_content_length(void **state)
{
    (void)state;
    cw_http_response r;
    char err[200];
    const char *full = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.schemaregistry.v1+json"
                       "\r\ncontent-length: 8\r\n\r\n{\"id\":7}";
    assert_int_equal(parse(full, 0, &default_limits, &r, err, sizeof err), CW_HTTP_PARSE_DONE);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"id\":7}");
    assert_int_equal(r.body_len, 8);
    assert_string_equal(r.content_type, "application/vnd.schemaregistry.v1+json");
    cw_http_response_free(&r);
    /* Every proper prefix asks for more; at EOF it is an error. */
    for (size_t n = 0; n < strlen(full); n++) {
        assert_int_equal(cw_http_parse_response(full, n, 0, &default_limits, &r, err, sizeof err),
                         CW_HTTP_PARSE_MORE);
        assert_int_equal(cw_http_parse_response(full, n, 1, &default_limits, &r, err, sizeof err),
                         CW_HTTP_PARSE_ERROR);
    }
    /* Bytes after the body (a misbehaving server) are ignored. */
    char extra[300];
    snprintf(extra, sizeof extra, "%sjunk", full);
    assert_int_equal(parse(extra, 0, &default_limits, &r, err, sizeof err), CW_HTTP_PARSE_DONE);
    assert_string_equal(r.body, "{\"id\":7}");
    cw_http_response_free(&r);
}

static void parser_reads_chunks_and_trailers(void **state)
{
    (void)state;
    cw_http_response r;
    char err[200];
    const char *chunked = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;ext=1\r\nhello\r\n1A\r\n, abcdefghijklmnopqrstuvwx\r\n0\r\n"
                          "X-Trailer: t\r\n\r\n";
    assert_int_equal(parse(chunked, 0, &default_limits, &r, err, sizeof err), CW_HTTP_PARSE_DONE);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "hello, abcdefghijklmnopqrstuvwx");
    cw_http_response_free(&r);
    for (size_t n = 0; n < strlen(chunked); n++) {
        assert_int_equal(
            cw_http_parse_response(chunked, n, 0, &default_limits, &r, err, sizeof err),
            CW_HTTP_PARSE_MORE);
        assert_int_equal(
            cw_http_parse_response(chunked, n, 1, &default_limits, &r, err, sizeof err),
            CW_HTTP_PARSE_ERROR);
    }
}

static void parser_reads_body_to_the_close_and_no_body_statuses(void **state)
{
    (void)state;
    cw_http_response r;
    char err[200];
    const char *until_close = "HTTP/1.0 200 OK\r\n\r\n{\"schema\":\"x\"}";
    assert_int_equal(parse(until_close, 0, &default_limits, &r, err, sizeof err),
                     CW_HTTP_PARSE_MORE);
    assert_int_equal(parse(until_close, 1, &default_limits, &r, err, sizeof err),
                     CW_HTTP_PARSE_DONE);
    assert_string_equal(r.body, "{\"schema\":\"x\"}");
    cw_http_response_free(&r);
    assert_int_equal(parse("HTTP/1.1 204 No Content\r\n\r\n", 0, &default_limits, &r, err,
                           sizeof err),
                     CW_HTTP_PARSE_DONE);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.body, "");
    cw_http_response_free(&r);
}

static void parser_refuses_malformed_responses(void **state)
{
    (void)state;
    cw_http_response r;
    char err[200];
    const char *bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 600 Odd\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n123456789\r\n",
        "HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse(bad[i], 1, &default_limits, &r, err, sizeof err),
                         CW_HTTP_PARSE_ERROR);
        assert_true(err[0] != '\0');
        assert_null(r.body);
    }
    assert_int_equal(parse("", 1, &default_limits, &r, err, sizeof err), CW_HTTP_PARSE_ERROR);
    assert_non_null(strstr(err, "without an answer"));
}

static void parser_applies_the_limits(void **state)
{
    (void)state;
    cw_http_response r;
    char err[200], big[1024];
    /* Headers over 256 bytes, even unfinished. */
    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nX-Pad: %0300d", 0);
    assert_int_equal(parse(big, 0, &small_limits, &r, err, sizeof err), CW_HTTP_PARSE_ERROR);
    assert_non_null(strstr(err, "headers longer than 256"));
    /* A declared body over 64 bytes: refused before it arrives. */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n", 0, &small_limits, &r,
                           err, sizeof err),
                     CW_HTTP_PARSE_ERROR);
    assert_non_null(strstr(err, "body of 65 bytes"));
    /* Chunks adding up to more. */
    snprintf(big, sizeof big,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n%064d\r\n1\r\nx\r\n", 0);
    assert_int_equal(parse(big, 0, &small_limits, &r, err, sizeof err), CW_HTTP_PARSE_ERROR);
    assert_non_null(strstr(err, "larger than 64"));
    /* A body without length that grows past the limit. */
    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\n\r\n%065d", 0);
    assert_int_equal(parse(big, 0, &small_limits, &r, err, sizeof err), CW_HTTP_PARSE_ERROR);
    /* Exactly 64 is fine. */
    snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n%064d", 0);
    assert_int_equal(parse(big, 0, &small_limits, &r, err, sizeof err), CW_HTTP_PARSE_DONE);
    assert_int_equal(r.body_len, 64);
    cw_http_response_free(&r);
}

/* ------------------------------------------------------------------ */
/* Whole exchanges with a canned server                                */
/* ------------------------------------------------------------------ */

typedef struct {
    int listen_fd;
    int port;
    const char *answer; /* NULL: read the request, then say nothing */
    size_t answer_len;
    int answer_in_pieces; /* write one byte at a time */
    char request[4096];   /* what the client sent (headers and body) */
    size_t request_len;
    int hold_ms; /* with answer NULL: how long to stay silent */
    pthread_t thread;
} canned_server;

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads the request: headers, then Content-Length bytes. */
static void read_request(canned_server *s, int fd)
{
    size_t want = 0;
    while (s->request_len < sizeof s->request - 1) {
        ssize_t n = recv(fd, s->request + s->request_len, sizeof s->request - 1 - s->request_len,
                         0);
        if (n <= 0)
            break;
        s->request_len += (size_t)n;
        s->request[s->request_len] = '\0';
        char *end = strstr(s->request, "\r\n\r\n");
        if (end == NULL)
            continue;
        const char *cl = strstr(s->request, "Content-Length: ");
        want = (size_t)(end + 4 - s->request) + (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
        if (s->request_len >= want)
            break;
    }
}

static void *serve_once(void *arg)
{
    canned_server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    read_request(s, fd);
    if (s->answer == NULL) {
        sleep_ms(s->hold_ms);
    } else if (s->answer_in_pieces) {
        for (size_t i = 0; i < s->answer_len; i++) {
            if (send(fd, s->answer + i, 1, MSG_NOSIGNAL) != 1)
                break;
        }
    } else {
        size_t off = 0;
        while (off < s->answer_len) {
            ssize_t n = send(fd, s->answer + off, s->answer_len - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    close(fd);
    return NULL;
}

static void server_start(canned_server *s, const char *answer)
{
    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->answer_len = answer != NULL ? strlen(answer) : 0;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
}

static void server_run(canned_server *s)
{
    assert_int_equal(pthread_create(&s->thread, NULL, serve_once, s), 0);
}

static void server_stop(canned_server *s)
{
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
}

static void url_of(const canned_server *s, const char *path, cw_http_url *u)
{
    char text[128], err[200];
    snprintf(text, sizeof text, "http://127.0.0.1:%d%s", s->port, path);
    assert_int_equal(cw_http_url_parse(text, u, err, sizeof err), 0);
}

static void exchange_sends_the_body_and_reads_the_answer(void **state)
{
    (void)state;
    canned_server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n{\"id\":3}");
    s.answer_in_pieces = 1; /* one byte per segment: the reader must assemble */
    server_run(&s);
    cw_http_url u;
    url_of(&s, "/apis/ccompat/v7/", &u);
    cw_http_response r;
    char err[300];
    const char *body = "{\"schema\":\"\\\"int\\\"\"}";
    assert_int_equal(cw_http_request(&u, "POST", "/subjects/x/versions", "application/json", body,
                                     strlen(body), &default_limits, &r, err, sizeof err),
                     0);
    server_stop(&s);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"id\":3}");
    cw_http_response_free(&r);
    assert_non_null(strstr(s.request, "POST /apis/ccompat/v7/subjects/x/versions HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "Content-Type: application/json\r\n"));
    assert_string_equal(strstr(s.request, "\r\n\r\n") + 4, body);
}

static void exchange_reads_a_chunked_error_answer(void **state)
{
    (void)state;
    canned_server s;
    server_start(&s, "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "d\r\n{\"error_code\"\r\n13\r\n:409,\"message\":\"x\"}\r\n0\r\n\r\n");
    server_run(&s);
    cw_http_url u;
    url_of(&s, "", &u);
    cw_http_response r;
    char err[300];
    assert_int_equal(
        cw_http_request(&u, "GET", "/x", NULL, NULL, 0, &default_limits, &r, err, sizeof err), 0);
    server_stop(&s);
    assert_int_equal(r.status, 409);
    assert_string_equal(r.body, "{\"error_code\":409,\"message\":\"x\"}");
    cw_http_response_free(&r);
}

static void exchange_times_out_on_a_silent_server(void **state)
{
    (void)state;
    canned_server s;
    server_start(&s, NULL);
    s.hold_ms = 1500;
    server_run(&s);
    cw_http_url u;
    url_of(&s, "", &u);
    cw_http_response r;
    char err[300];
    cw_http_limits quick = default_limits;
    quick.timeout_ms = 300;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cw_http_request(&u, "GET", "/schemas/ids/1", NULL, NULL, 0, &quick, &r, err,
                                     sizeof err),
                     -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    server_stop(&s);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 250 && ms < 1400);
    assert_non_null(strstr(err, "timed out"));
    assert_non_null(strstr(err, "GET http://127.0.0.1:"));
    assert_null(r.body);
}

static void exchange_stops_at_the_limits(void **state)
{
    (void)state;
    static char answer[4096];
    snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\n\r\n%0300d", 0);
    canned_server s;
    server_start(&s, answer);
    server_run(&s);
    cw_http_url u;
    url_of(&s, "", &u);
    cw_http_response r;
    char err[300];
    assert_int_equal(
        cw_http_request(&u, "GET", "/", NULL, NULL, 0, &small_limits, &r, err, sizeof err), -1);
    server_stop(&s);
    assert_non_null(strstr(err, "larger than 64"));
}

static void exchange_reports_a_closed_port_and_an_early_close(void **state)
{
    (void)state;
    canned_server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    server_run(&s);
    cw_http_url u;
    url_of(&s, "", &u);
    cw_http_response r;
    char err[300];
    assert_int_equal(
        cw_http_request(&u, "GET", "/", NULL, NULL, 0, &default_limits, &r, err, sizeof err), -1);
    server_stop(&s);
    assert_non_null(strstr(err, "closed after 3 of 10 body bytes"));
    /* Nobody listens there any more. */
    assert_int_equal(
        cw_http_request(&u, "GET", "/", NULL, NULL, 0, &default_limits, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "connect: Connection refused"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(url_parse_takes_host_port_and_path),
        cmocka_unit_test(url_parse_refuses_what_it_cannot_serve),
        cmocka_unit_test(request_has_host_length_and_close),
        cmocka_unit_test(request_refuses_bad_tokens_and_small_buffers),
        cmocka_unit_test(parser_reads_content_length),
        cmocka_unit_test(parser_reads_chunks_and_trailers),
        cmocka_unit_test(parser_reads_body_to_the_close_and_no_body_statuses),
        cmocka_unit_test(parser_refuses_malformed_responses),
        cmocka_unit_test(parser_applies_the_limits),
        cmocka_unit_test(exchange_sends_the_body_and_reads_the_answer),
        cmocka_unit_test(exchange_reads_a_chunked_error_answer),
        cmocka_unit_test(exchange_times_out_on_a_silent_server),
        cmocka_unit_test(exchange_stops_at_the_limits),
        cmocka_unit_test(exchange_reports_a_closed_port_and_an_early_close),
    };
    return cmocka_run_group_tests_name("http client", tests, NULL, NULL);
}
