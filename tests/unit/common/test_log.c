#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define MAY_1_2024_MS 1714521600123LL

static char line[CW_LOG_LINE_MAX];

/* The len bytes at text: one JSON object ended by its only newline. */
static json_t *parse_line(const char *text, size_t len)
{
    assert_true(len > 0);
    assert_ptr_equal(memchr(text, '\n', len), text + len - 1);
    assert_null(memchr(text, '\0', len));
    json_error_t error;
    json_t *obj = json_loadb(text, len, 0, &error);
    if (!obj)
        fail_msg("not JSON (%s): %s", error.text, text);
    assert_true(json_is_object(obj));
    return obj;
}

static const char *field(const json_t *obj, const char *key)
{
    const json_t *value = json_object_get(obj, key);
    assert_non_null(value);
    assert_true(json_is_string(value));
    return json_string_value(value);
}

static void test_format_exact(void **state)
{
    (void)state;
    size_t n = cw_log_format_line(line, sizeof(line), MAY_1_2024_MS, CW_LOG_INFO, "ingest",
                                  "listening", "port", "8080", "bind", "127.0.0.1", NULL);
    assert_string_equal(line, "{\"ts\":\"2024-05-01T00:00:00.123Z\",\"level\":\"info\","
                              "\"service\":\"ingest\",\"msg\":\"listening\",\"port\":\"8080\","
                              "\"bind\":\"127.0.0.1\"}\n");
    assert_int_equal(n, strlen(line));
}

static void test_timestamps_and_levels(void **state)
{
    (void)state;
    cw_log_format_line(line, sizeof(line), 0, CW_LOG_DEBUG, "s", "m", NULL);
    assert_non_null(strstr(line, "\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"debug\""));
    cw_log_format_line(line, sizeof(line), -1, CW_LOG_WARN, "s", "m", NULL);
    assert_non_null(strstr(line, "\"ts\":\"1969-12-31T23:59:59.999Z\",\"level\":\"warn\""));
    cw_log_format_line(line, sizeof(line), 1709251199999LL, CW_LOG_ERROR, "s", "m", NULL);
    assert_non_null(strstr(line, "\"ts\":\"2024-02-29T23:59:59.999Z\",\"level\":\"error\""));
}

static void test_escaping(void **state)
{
    (void)state;
    const char *msg = "say \"hi\"\\ back\n\ttab\r\b\f\x01\x1f\x7f end";
    size_t n = cw_log_format_line(line, sizeof(line), 0, CW_LOG_INFO, "s", msg, NULL);
    assert_non_null(strstr(line, "\"msg\":\"say \\\"hi\\\"\\\\ back\\n\\ttab\\r\\b\\f\\u0001"
                                 "\\u001f\\u007f end\""));
    json_t *obj = parse_line(line, n);
    assert_string_equal(field(obj, "msg"), msg);
    json_decref(obj);
}

static void test_keys_are_escaped_too(void **state)
{
    (void)state;
    size_t n = cw_log_format_line(line, sizeof(line), 0, CW_LOG_INFO, "s", "m", "we\"ird\nkey",
                                  "v", NULL);
    json_t *obj = parse_line(line, n);
    assert_string_equal(field(obj, "we\"ird\nkey"), "v");
    json_decref(obj);
}

static void test_utf8_kept_and_invalid_bytes_replaced(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        const char *decoded;
    } cases[] = {
        {"护理员 上门", "护理员 上门"},
        {"emoji \xF0\x9F\x98\x80", "emoji \xF0\x9F\x98\x80"},
        {"bad \xFF byte", "bad \xEF\xBF\xBD byte"},
        {"cut \xE6\x8A", "cut \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"overlong \xC0\xAF", "overlong \xEF\xBF\xBD\xEF\xBF\xBD"},
        {"surrogate \xED\xA0\x80", "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"too high \xF4\x90\x80\x80",
         "too high \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"lone \x80 continuation", "lone \xEF\xBF\xBD continuation"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cw_log_format_line(line, sizeof(line), 0, CW_LOG_INFO, "s", "m", "text",
                                      cases[i].input, NULL);
        json_t *obj = parse_line(line, n);
        assert_string_equal(field(obj, "text"), cases[i].decoded);
        json_decref(obj);
    }
}

static void test_null_value_and_null_msg(void **state)
{
    (void)state;
    size_t n = cw_log_format_line(line, sizeof(line), 0, CW_LOG_INFO, NULL, NULL, "reason",
                                  (const char *)NULL, NULL);
    json_t *obj = parse_line(line, n);
    assert_string_equal(field(obj, "msg"), "");
    assert_string_equal(field(obj, "service"), "");
    assert_true(json_is_null(json_object_get(obj, "reason")));
    json_decref(obj);
}

static void test_secret_keys(void **state)
{
    (void)state;
    static const char *const secret[] = {
        "authorization", "Authorization", "proxy_authorization", "X-Auth-Token", "token",
        "redis_password", "PASSWORD", "db_passwd", "client_secret", "credentials",
        "key", "KEY", "api_key", "Api-Key", "apikey", "bearer", "Bearer",
    };
    static const char *const plain[] = {
        "keyspace", "monkey", "key_id", "event_id", "caregiver_id", "topic", "error", "bearing",
    };
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        if (!cw_log_key_is_secret(secret[i]))
            fail_msg("'%s' should be redacted", secret[i]);
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if (cw_log_key_is_secret(plain[i]))
            fail_msg("'%s' should not be redacted", plain[i]);
    }
}

static void test_redaction_in_line(void **state)
{
    (void)state;
    size_t n = cw_log_format_line(line, sizeof(line), 0, CW_LOG_WARN, "ingest", "auth failed",
                                  "Authorization", "Bearer abc123", "api_key", "k-999",
                                  "redis_password", NULL, "provider", "p-1", NULL);
    assert_null(strstr(line, "abc123"));
    assert_null(strstr(line, "k-999"));
    json_t *obj = parse_line(line, n);
    assert_string_equal(field(obj, "Authorization"), "[redacted]");
    assert_string_equal(field(obj, "api_key"), "[redacted]");
    assert_string_equal(field(obj, "redis_password"), "[redacted]");
    assert_string_equal(field(obj, "provider"), "p-1");
    json_decref(obj);
}

static void test_long_message_truncated_to_valid_json(void **state)
{
    (void)state;
    size_t big = 3 * CW_LOG_LINE_MAX;
    char *msg = malloc(big + 1);
    assert_non_null(msg);
    memset(msg, 'x', big);
    msg[big] = '\0';
    size_t n = cw_log_format_line(line, sizeof(line), 0, CW_LOG_INFO, "s", msg, "after", "gone",
                                  NULL);
    free(msg);
    assert_true(n < CW_LOG_LINE_MAX);
    assert_true(n > CW_LOG_LINE_MAX - 64);
    json_t *obj = parse_line(line, n);
    assert_true(json_is_true(json_object_get(obj, "truncated")));
    assert_null(json_object_get(obj, "after"));
    assert_true(strlen(field(obj, "msg")) > CW_LOG_LINE_MAX - 128);
    json_decref(obj);
}

/* Cuts at every possible point: inside escapes, multi-byte characters,
 * keys, values and between fields. */
static void test_every_buffer_size_gives_valid_json(void **state)
{
    (void)state;
    const char *msg = "quote\" back\\ nl\n ctl\x02 护理员 bad\xFF emoji\xF0\x9F\x98\x80 end";
    for (size_t size = CW_LOG_LINE_MIN; size <= 400; size++) {
        char *buf = malloc(size);
        assert_non_null(buf);
        size_t n = cw_log_format_line(buf, size, MAY_1_2024_MS, CW_LOG_ERROR, "payment-scheduler",
                                      msg, "order_id", "o-\"1\"", "token", "t", "detail", msg,
                                      NULL);
        assert_true(n < size);
        assert_int_equal(strlen(buf), n);
        json_t *obj = parse_line(buf, n);
        json_decref(obj);
        free(buf);
    }
}

static void test_buffer_below_minimum(void **state)
{
    (void)state;
    char small[CW_LOG_LINE_MIN - 1];
    memset(small, 'z', sizeof(small));
    assert_int_equal(cw_log_format_line(small, sizeof(small), 0, CW_LOG_INFO, "s", "m", NULL), 0);
    assert_string_equal(small, "");
}

static void test_level_names(void **state)
{
    (void)state;
    cw_log_level level = CW_LOG_DEBUG;
    assert_int_equal(cw_log_level_parse("ERROR", &level), 0);
    assert_int_equal(level, CW_LOG_ERROR);
    assert_int_equal(cw_log_level_parse("warning", &level), 0);
    assert_int_equal(level, CW_LOG_WARN);
    assert_int_equal(cw_log_level_parse("debug", &level), 0);
    assert_int_equal(level, CW_LOG_DEBUG);
    assert_int_equal(cw_log_level_parse("verbose", &level), -1);
    assert_int_equal(cw_log_level_parse(NULL, &level), -1);
    assert_int_equal(level, CW_LOG_DEBUG);
    assert_string_equal(cw_log_level_name(CW_LOG_INFO), "info");
}

/* ---- cw_log itself, with stderr sent to a temporary file ---- */

typedef struct {
    FILE *file;
    int saved_stderr;
} captured_stderr;

static captured_stderr capture_stderr(void)
{
    captured_stderr c = {.file = tmpfile(), .saved_stderr = dup(STDERR_FILENO)};
    assert_non_null(c.file);
    assert_true(c.saved_stderr >= 0);
    fflush(stderr);
    assert_true(dup2(fileno(c.file), STDERR_FILENO) >= 0);
    return c;
}

/* Restores stderr; returns what was written, which the caller frees. */
static char *release_stderr(captured_stderr *c)
{
    dup2(c->saved_stderr, STDERR_FILENO);
    close(c->saved_stderr);
    fseek(c->file, 0, SEEK_END);
    long size = ftell(c->file);
    assert_true(size >= 0);
    rewind(c->file);
    char *text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, c->file), (size_t)size);
    fclose(c->file);
    return text;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void test_level_filtering(void **state)
{
    (void)state;
    assert_int_equal(cw_log_init("test-svc", "warn"), 0);
    assert_int_equal(cw_log_init(NULL, "loud"), -1);
    assert_false(cw_log_enabled(CW_LOG_INFO));
    assert_true(cw_log_enabled(CW_LOG_WARN));

    captured_stderr c = capture_stderr();
    cw_log_debug("hidden debug", NULL);
    cw_log_info("hidden info", NULL);
    cw_log_warn("shown warn", "n", "1", NULL);
    cw_log_error("shown error", NULL);
    cw_log_set_level(CW_LOG_DEBUG);
    cw_log_debug("shown debug", NULL);
    cw_log_set_level(CW_LOG_INFO);
    char *text = release_stderr(&c);

    assert_int_equal(count_lines(text), 3);
    assert_null(strstr(text, "hidden"));
    char *second = strchr(text, '\n') + 1;
    json_t *warn = parse_line(text, (size_t)(second - text));
    assert_string_equal(field(warn, "level"), "warn");
    assert_string_equal(field(warn, "service"), "test-svc");
    assert_string_equal(field(warn, "msg"), "shown warn");
    assert_string_equal(field(warn, "n"), "1");
    json_decref(warn);
    assert_non_null(strstr(second, "\"level\":\"error\""));
    assert_non_null(strstr(second, "\"msg\":\"shown debug\""));
    free(text);
}

static void test_errno_preserved(void **state)
{
    (void)state;
    captured_stderr c = capture_stderr();
    errno = ERANGE;
    cw_log_error("something failed", "error", strerror(errno), NULL);
    int after = errno;
    free(release_stderr(&c));
    assert_int_equal(after, ERANGE);
}

#define THREADS 4
#define LINES_PER_THREAD 300

static void *log_many(void *arg)
{
    char payload[6000];
    memset(payload, 'a' + (int)(intptr_t)arg, sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++)
        cw_log_info("worker line", "payload", payload, NULL);
    return NULL;
}

static void test_threads_never_interleave(void **state)
{
    (void)state;
    captured_stderr c = capture_stderr();
    pthread_t threads[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, log_many, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    char *text = release_stderr(&c);

    assert_int_equal(count_lines(text), THREADS * LINES_PER_THREAD);
    for (char *start = text; *start;) {
        char *end = strchr(start, '\n') + 1;
        json_t *obj = parse_line(start, (size_t)(end - start));
        const char *payload = field(obj, "payload");
        const char one_letter[] = {payload[0], '\0'};
        assert_int_equal(strspn(payload, one_letter), 5999);
        assert_int_equal(strlen(payload), 5999);
        json_decref(obj);
        start = end;
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_exact),
        cmocka_unit_test(test_timestamps_and_levels),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_keys_are_escaped_too),
        cmocka_unit_test(test_utf8_kept_and_invalid_bytes_replaced),
        cmocka_unit_test(test_null_value_and_null_msg),
        cmocka_unit_test(test_secret_keys),
        cmocka_unit_test(test_redaction_in_line),
        cmocka_unit_test(test_long_message_truncated_to_valid_json),
        cmocka_unit_test(test_every_buffer_size_gives_valid_json),
        cmocka_unit_test(test_buffer_below_minimum),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_level_filtering),
        cmocka_unit_test(test_errno_preserved),
        cmocka_unit_test(test_threads_never_interleave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
