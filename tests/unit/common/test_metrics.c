#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static int reset_registry(void **state)
{
    cw_metrics_shutdown();
    return 0;
}

static void assert_render_equals(const char *expected)
{
    char *text = cw_metrics_render();
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_empty_registry_renders_empty_text(void **state)
{
    assert_render_equals("");
}

static void test_counter_with_labels(void **state)
{
    cw_counter *requests =
        cw_metrics_counter("test_requests_total", "Requests answered.", "route, status");
    assert_non_null(requests);
    cw_counter_add(requests, CW_LABELS("check-in", "202"), 2);
    cw_counter_add(requests, CW_LABELS("orders", "400"), 1);
    cw_counter_add(requests, CW_LABELS("check-in", "202"), 3);
    assert_render_equals("# HELP test_requests_total Requests answered.\n"
                         "# TYPE test_requests_total counter\n"
                         "test_requests_total{route=\"check-in\",status=\"202\"} 5\n"
                         "test_requests_total{route=\"orders\",status=\"400\"} 1\n");
}

static void test_metric_without_labels_renders_zero_before_use(void **state)
{
    assert_non_null(cw_metrics_counter("test_restarts_total", "Restarts.", NULL));
    assert_non_null(cw_metrics_gauge("test_queue_depth", "", ""));
    assert_render_equals("# HELP test_restarts_total Restarts.\n"
                         "# TYPE test_restarts_total counter\n"
                         "test_restarts_total 0\n"
                         "# TYPE test_queue_depth gauge\n"
                         "test_queue_depth 0\n");
}

static void test_labeled_family_without_series_has_header_only(void **state)
{
    assert_non_null(cw_metrics_counter("test_drops_total", "Drops.", "topic"));
    assert_render_equals("# HELP test_drops_total Drops.\n"
                         "# TYPE test_drops_total counter\n");
}

static void test_label_values_and_help_are_escaped(void **state)
{
    cw_counter *c = cw_metrics_counter("test_escape_total", "Back\\slash, \"quotes\"\nand newline.",
                                       "value");
    cw_counter_add(c, CW_LABELS("a\\b\"c\nd"), 1);
    cw_counter_add(c, CW_LABELS(NULL), 1);
    assert_render_equals("# HELP test_escape_total Back\\\\slash, \"quotes\"\\nand newline.\n"
                         "# TYPE test_escape_total counter\n"
                         "test_escape_total{value=\"a\\\\b\\\"c\\nd\"} 1\n"
                         "test_escape_total{value=\"\"} 1\n");
}

static void test_gauge_numbers(void **state)
{
    cw_gauge *g = cw_metrics_gauge("test_value", "Values.", "case");
    cw_gauge_set(g, CW_LABELS("tenth"), 0.1);
    cw_gauge_set(g, CW_LABELS("small"), 1e-7);
    cw_gauge_set(g, CW_LABELS("big"), 12345678901.0);
    cw_gauge_set(g, CW_LABELS("third"), 1.0 / 3.0);
    cw_gauge_set(g, CW_LABELS("nan"), NAN);
    cw_gauge_set(g, CW_LABELS("inf"), INFINITY);
    cw_gauge_set(g, CW_LABELS("-inf"), -INFINITY);
    cw_gauge_set(g, CW_LABELS("added"), 2);
    cw_gauge_add(g, CW_LABELS("added"), -0.5);
    assert_render_equals("# HELP test_value Values.\n"
                         "# TYPE test_value gauge\n"
                         "test_value{case=\"tenth\"} 0.1\n"
                         "test_value{case=\"small\"} 1e-07\n"
                         "test_value{case=\"big\"} 12345678901\n"
                         "test_value{case=\"third\"} 0.33333333333333331\n"
                         "test_value{case=\"nan\"} NaN\n"
                         "test_value{case=\"inf\"} +Inf\n"
                         "test_value{case=\"-inf\"} -Inf\n"
                         "test_value{case=\"added\"} 1.5\n");
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    static const double bounds[] = {0.5, 1};
    cw_histogram *h = cw_metrics_histogram("test_latency_seconds", "Latency.", "stage", bounds, 2);
    assert_non_null(h);
    cw_histogram_observe(h, CW_LABELS("decode"), 0.25);
    cw_histogram_observe(h, CW_LABELS("decode"), 0.5); /* a bound is inclusive */
    cw_histogram_observe(h, CW_LABELS("decode"), 0.75);
    cw_histogram_observe(h, CW_LABELS("decode"), 2);
    cw_histogram_observe(h, CW_LABELS("publish"), 1);
    assert_render_equals("# HELP test_latency_seconds Latency.\n"
                         "# TYPE test_latency_seconds histogram\n"
                         "test_latency_seconds_bucket{stage=\"decode\",le=\"0.5\"} 2\n"
                         "test_latency_seconds_bucket{stage=\"decode\",le=\"1\"} 3\n"
                         "test_latency_seconds_bucket{stage=\"decode\",le=\"+Inf\"} 4\n"
                         "test_latency_seconds_sum{stage=\"decode\"} 3.5\n"
                         "test_latency_seconds_count{stage=\"decode\"} 4\n"
                         "test_latency_seconds_bucket{stage=\"publish\",le=\"0.5\"} 0\n"
                         "test_latency_seconds_bucket{stage=\"publish\",le=\"1\"} 1\n"
                         "test_latency_seconds_bucket{stage=\"publish\",le=\"+Inf\"} 1\n"
                         "test_latency_seconds_sum{stage=\"publish\"} 1\n"
                         "test_latency_seconds_count{stage=\"publish\"} 1\n");
}

static void test_histogram_without_labels(void **state)
{
    static const double bounds[] = {0.001};
    cw_histogram *h = cw_metrics_histogram("test_wait_seconds", "Waits.", NULL, bounds, 1);
    cw_histogram_observe(h, NULL, 0.0005);
    assert_render_equals("# HELP test_wait_seconds Waits.\n"
                         "# TYPE test_wait_seconds histogram\n"
                         "test_wait_seconds_bucket{le=\"0.001\"} 1\n"
                         "test_wait_seconds_bucket{le=\"+Inf\"} 1\n"
                         "test_wait_seconds_sum 0.0005\n"
                         "test_wait_seconds_count 1\n");
}

static void test_registering_again_returns_same_handle(void **state)
{
    cw_counter *first = cw_metrics_counter("test_events_total", "Events.", "topic");
    cw_counter *again = cw_metrics_counter("test_events_total", "Other help.", " topic ");
    assert_non_null(first);
    assert_ptr_equal(first, again);
    cw_histogram *h = cw_metrics_histogram("test_h_seconds", "H.", NULL, NULL, 0);
    assert_ptr_equal(h, cw_metrics_histogram("test_h_seconds", "H.", NULL,
                                             cw_metrics_default_buckets,
                                             CW_METRICS_DEFAULT_BUCKET_COUNT));
}

static void test_conflicting_registration_is_refused(void **state)
{
    static const double other_bounds[] = {1, 2};
    assert_non_null(cw_metrics_counter("test_events_total", "Events.", "topic"));
    assert_null(cw_metrics_gauge("test_events_total", "Events.", "topic"));
    assert_null(cw_metrics_counter("test_events_total", "Events.", "topic,kind"));
    assert_null(cw_metrics_counter("test_events_total", "Events.", "kind"));
    assert_null(cw_metrics_counter("test_events_total", "Events.", NULL));
    assert_non_null(cw_metrics_histogram("test_h_seconds", "H.", NULL, NULL, 0));
    assert_null(cw_metrics_histogram("test_h_seconds", "H.", NULL, other_bounds, 2));
}

static void test_invalid_names_and_bounds_are_refused(void **state)
{
    static const double unordered[] = {1, 0.5};
    static const double repeated[] = {1, 1};
    static const double infinite[] = {1, INFINITY};
    assert_null(cw_metrics_counter(NULL, "x", NULL));
    assert_null(cw_metrics_counter("", "x", NULL));
    assert_null(cw_metrics_counter("9lives", "x", NULL));
    assert_null(cw_metrics_counter("has-dash", "x", NULL));
    assert_null(cw_metrics_counter("ok_name", "x", "bad-label"));
    assert_null(cw_metrics_counter("ok_name", "x", "__reserved"));
    assert_null(cw_metrics_counter("ok_name", "x", "a,,b"));
    assert_null(cw_metrics_counter("ok_name", "x", "a,b,a"));
    assert_null(cw_metrics_counter("ok_name", "x", "a,b,c,d,e,f,g,h,i"));
    assert_null(cw_metrics_histogram("ok_seconds", "x", "le", NULL, 0));
    assert_null(cw_metrics_histogram("ok_seconds", "x", NULL, unordered, 2));
    assert_null(cw_metrics_histogram("ok_seconds", "x", NULL, repeated, 2));
    assert_null(cw_metrics_histogram("ok_seconds", "x", NULL, infinite, 2));
    assert_null(cw_metrics_histogram("ok_seconds", "x", NULL, unordered, 0));
    assert_non_null(cw_metrics_counter("ns:ok_name", "x", "a,b,c,d,e,f,g,h"));
    assert_non_null(cw_metrics_counter("le_is_fine_on_counters", "x", "le"));
    /* Refused handles are NULL, and updating NULL does nothing. */
    cw_counter_add(NULL, NULL, 1);
    cw_gauge_set(NULL, NULL, 1);
    cw_gauge_add(NULL, NULL, 1);
    cw_histogram_observe(NULL, NULL, 1);
}

static void test_series_per_family_are_capped(void **state)
{
    cw_counter *c = cw_metrics_counter("test_paths_total", "Paths.", "path");
    char path[32];
    for (int i = 0; i < 1100; i++) {
        snprintf(path, sizeof(path), "/p%d", i);
        cw_counter_add(c, CW_LABELS(path), 1);
    }
    cw_counter_add(c, CW_LABELS("/p0"), 1);
    char *text = cw_metrics_render();
    assert_non_null(text);
    assert_int_equal(count_occurrences(text, "test_paths_total{"), 1000);
    assert_non_null(strstr(text, "test_paths_total{path=\"/p0\"} 2\n"));
    assert_null(strstr(text, "\"/p1000\""));
    free(text);
}

static void test_common_metrics(void **state)
{
    assert_int_equal(cw_metrics_init("geo-validator", "1.2.3"), 0);
    cw_metrics_event_in("visit.events");
    cw_metrics_event_in("visit.events");
    cw_metrics_event_out("visit.checks");
    cw_metrics_error("visit.events", "decode");
    cw_metrics_observe_processing("visit.events", 0.002);
    char *text = cw_metrics_render();
    assert_non_null(text);
    assert_non_null(strstr(text, "\ncarewatch_up 1\n"));
    assert_non_null(
        strstr(text, "\ncarewatch_build_info{service=\"geo-validator\",version=\"1.2.3\"} 1\n"));
    assert_non_null(strstr(text, "\ncarewatch_events_in_total{topic=\"visit.events\"} 2\n"));
    assert_non_null(strstr(text, "\ncarewatch_events_out_total{topic=\"visit.checks\"} 1\n"));
    assert_non_null(
        strstr(text, "\ncarewatch_errors_total{topic=\"visit.events\",kind=\"decode\"} 1\n"));
    assert_non_null(strstr(text, "\ncarewatch_processing_seconds_bucket{topic=\"visit.events\","
                                 "le=\"0.001\"} 0\n"));
    assert_non_null(strstr(text, "\ncarewatch_processing_seconds_bucket{topic=\"visit.events\","
                                 "le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(text, "\ncarewatch_processing_seconds_bucket{topic=\"visit.events\","
                                 "le=\"10\"} 1\n"));
    assert_non_null(strstr(text, "\ncarewatch_processing_seconds_bucket{topic=\"visit.events\","
                                 "le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "\ncarewatch_processing_seconds_sum{topic=\"visit.events\"} "
                                 "0.002\n"));
    assert_non_null(strstr(text, "\ncarewatch_processing_seconds_count{topic=\"visit.events\"} "
                                 "1\n"));
    assert_int_equal(count_occurrences(text, "# TYPE carewatch_processing_seconds histogram\n"),
                     1);
    assert_int_equal(count_occurrences(text, "# HELP carewatch_processing_seconds "), 1);
    assert_int_equal(count_occurrences(text, "# TYPE carewatch_events_in_total counter\n"), 1);
    assert_int_equal(count_occurrences(text, "_bucket{topic=\"visit.events\""),
                     CW_METRICS_DEFAULT_BUCKET_COUNT + 1);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

static void test_common_helpers_work_without_init(void **state)
{
    cw_metrics_event_in("ref.elders");
    char *text = cw_metrics_render();
    assert_non_null(text);
    assert_non_null(strstr(text, "carewatch_events_in_total{topic=\"ref.elders\"} 1\n"));
    assert_null(strstr(text, "carewatch_up"));
    free(text);
}

#define THREADS 8
#define ROUNDS 20000

static void *increment_many(void *arg)
{
    const char *topic = arg;
    cw_counter *c = cw_metrics_counter("test_concurrent_total", "Concurrent.", "topic");
    for (int i = 0; i < ROUNDS; i++) {
        cw_counter_add(c, CW_LABELS(topic), 1);
        cw_metrics_observe_processing(topic, 0.5);
        if (i % 1000 == 0)
            free(cw_metrics_render());
    }
    return NULL;
}

static void test_concurrent_updates_are_exact(void **state)
{
    static const char *const topics[] = {"even", "odd"};
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, increment_many, (void *)topics[i % 2]),
                         0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    char expected[128];
    char *text = cw_metrics_render();
    assert_non_null(text);
    for (int t = 0; t < 2; t++) {
        snprintf(expected, sizeof(expected), "test_concurrent_total{topic=\"%s\"} %d\n",
                 topics[t], THREADS / 2 * ROUNDS);
        assert_non_null(strstr(text, expected));
        snprintf(expected, sizeof(expected),
                 "carewatch_processing_seconds_count{topic=\"%s\"} %d\n", topics[t],
                 THREADS / 2 * ROUNDS);
        assert_non_null(strstr(text, expected));
        snprintf(expected, sizeof(expected), "carewatch_processing_seconds_sum{topic=\"%s\"} %d\n",
                 topics[t], THREADS / 2 * ROUNDS / 2);
        assert_non_null(strstr(text, expected));
    }
    assert_int_equal(count_occurrences(text, "# TYPE test_concurrent_total counter\n"), 1);
    free(text);
}

static void test_now_is_monotonic(void **state)
{
    double a = cw_metrics_now();
    double b = cw_metrics_now();
    assert_true(a > 0);
    assert_true(b >= a);
}

#define RESET_TEST(f) cmocka_unit_test_teardown(f, reset_registry)

int main(void)
{
    const struct CMUnitTest tests[] = {
        RESET_TEST(test_empty_registry_renders_empty_text),
        RESET_TEST(test_counter_with_labels),
        RESET_TEST(test_metric_without_labels_renders_zero_before_use),
        RESET_TEST(test_labeled_family_without_series_has_header_only),
        RESET_TEST(test_label_values_and_help_are_escaped),
        RESET_TEST(test_gauge_numbers),
        RESET_TEST(test_histogram_buckets_are_cumulative),
        RESET_TEST(test_histogram_without_labels),
        RESET_TEST(test_registering_again_returns_same_handle),
        RESET_TEST(test_conflicting_registration_is_refused),
        RESET_TEST(test_invalid_names_and_bounds_are_refused),
        RESET_TEST(test_series_per_family_are_capped),
        RESET_TEST(test_common_metrics),
        RESET_TEST(test_common_helpers_work_without_init),
        RESET_TEST(test_concurrent_updates_are_exact),
        RESET_TEST(test_now_is_monotonic),
    };
    return cmocka_run_group_tests(tests, reset_registry, reset_registry);
}
