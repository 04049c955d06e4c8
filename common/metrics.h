/* Metrics registry rendered in the Prometheus text format 0.0.4.
 *
 * Every service gets the common metrics through the short helpers:
 *
 *   cw_metrics_init("geo-validator", "0.1.0");    // carewatch_up, build info
 *   cw_metrics_event_in(CW_TOPIC_VISIT_EVENTS);
 *   cw_metrics_error(CW_TOPIC_VISIT_EVENTS, "decode");
 *   cw_metrics_observe_processing(CW_TOPIC_VISIT_EVENTS, seconds);
 *   cw_metrics_event_out(CW_TOPIC_VISIT_CHECKS);
 *   ...
 *   cw_metrics_shutdown();                         // frees everything
 *
 * A service registers its own metrics once and keeps the handle:
 *
 *   cw_counter *requests = cw_metrics_counter(
 *       "carewatch_http_requests_total", "HTTP requests answered.", "route,status");
 *   cw_counter_add(requests, CW_LABELS("check-in", "202"), 1);
 *
 * label_names_csv lists up to 8 label names ("" or NULL for none).
 * label_values holds exactly one value per label name, in the same order
 * (NULL for a metric without labels); a NULL value is written as "". Values
 * are escaped on output, so any text is safe. A family keeps at most 1000
 * label combinations; updates to further ones are dropped, so a label fed
 * from request input cannot exhaust memory. Adding 0 creates a series, to
 * show it as 0 before its first event. Registering a name again with the same
 * type, labels (and buckets) returns the existing handle; a different shape,
 * or a name that is not a valid Prometheus name, returns NULL. Operations on
 * a NULL handle do nothing.
 *
 * All functions are thread-safe. Handles stay valid until cw_metrics_shutdown,
 * after which the registry is empty and may be used again (tests do). */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct cw_counter cw_counter;
typedef struct cw_gauge cw_gauge;
typedef struct cw_histogram cw_histogram;

/* CW_LABELS("a", "b") is a (const char *const *) for the label_values argument. */
#define CW_LABELS(...) ((const char *const[]){__VA_ARGS__})

/* Bounds of carewatch_processing_seconds, and of any histogram registered
 * with buckets == NULL: 0.001 s to 10 s. */
#define CW_METRICS_DEFAULT_BUCKET_COUNT 13
extern const double cw_metrics_default_buckets[CW_METRICS_DEFAULT_BUCKET_COUNT];

/* ---- the common metrics ---- */

/* Registers the common metrics and sets carewatch_up to 1 and
 * carewatch_build_info{service,version} to 1. Returns 0, or -1 out of memory. */
int cw_metrics_init(const char *service, const char *version);

/* Frees every metric and handle. */
void cw_metrics_shutdown(void);

/* carewatch_events_in_total{topic}: records consumed. */
void cw_metrics_event_in(const char *topic);
/* carewatch_events_out_total{topic}: records produced (acknowledged). */
void cw_metrics_event_out(const char *topic);
/* carewatch_errors_total{topic,kind}: kind is a short fixed word such as
 * "decode", "invalid", "produce", "redis". */
void cw_metrics_error(const char *topic, const char *kind);
/* carewatch_processing_seconds{topic}: time spent handling one record. */
void cw_metrics_observe_processing(const char *topic, double seconds);

/* Monotonic clock in seconds, for measuring durations to observe. */
double cw_metrics_now(void);

/* ---- registering and updating ---- */

cw_counter *cw_metrics_counter(const char *name, const char *help, const char *label_names_csv);
cw_gauge *cw_metrics_gauge(const char *name, const char *help, const char *label_names_csv);
/* bounds: strictly increasing finite upper bounds (the +Inf bucket is
 * implicit), or NULL for cw_metrics_default_buckets. */
cw_histogram *cw_metrics_histogram(const char *name, const char *help, const char *label_names_csv,
                                   const double *bounds, size_t bound_count);

void cw_counter_add(cw_counter *counter, const char *const *label_values, uint64_t n);
void cw_gauge_set(cw_gauge *gauge, const char *const *label_values, double value);
void cw_gauge_add(cw_gauge *gauge, const char *const *label_values, double delta);
void cw_histogram_observe(cw_histogram *histogram, const char *const *label_values, double value);

/* ---- output ---- */

/* The whole registry as Prometheus text, families in registration order and
 * series in creation order. malloc'd (the caller frees), or NULL out of
 * memory. */
char *cw_metrics_render(void);

/* The content type to serve cw_metrics_render's text with. */
#define CW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
