#include "metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A family beyond this many label combinations drops new ones: a label fed
 * from outside input must not grow memory without bound. */
#define MAX_SERIES_PER_FAMILY 1000
#define MAX_LABELS 8
#define NUMBER_TEXT_MAX 32

const double cw_metrics_default_buckets[CW_METRICS_DEFAULT_BUCKET_COUNT] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

/* One label combination of a family. */
typedef struct series {
    struct series *next;
    char **label_values;     /* one per label name */
    uint64_t count;          /* counter value, or histogram observation count */
    double value;            /* gauge value, or histogram sum */
    uint64_t *bucket_counts; /* histogram: observations per bound, not cumulative */
} series;

/* The handle types (cw_counter, ...) are never defined: a handle is a
 * family pointer under another name, so the compiler keeps the kinds apart. */
typedef struct family {
    struct family *next;
    metric_kind kind;
    char *name;
    char *help;
    char **label_names;
    size_t label_count;
    double *bounds;
    size_t bound_count;
    series *first_series;
    series *last_series;
    size_t series_count;
} family;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static family *first_family;
static family *last_family;

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

/* ---- names ---- */

static int is_name_start(char c, int allow_colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (allow_colon && c == ':');
}

static int is_name_char(char c, int allow_colon)
{
    return is_name_start(c, allow_colon) || (c >= '0' && c <= '9');
}

static int valid_name(const char *name, int allow_colon)
{
    if (!name || !is_name_start(name[0], allow_colon))
        return 0;
    for (const char *p = name + 1; *p; p++) {
        if (!is_name_char(*p, allow_colon))
            return 0;
    }
    return 1;
}

static int valid_metric_name(const char *name)
{
    return valid_name(name, 1);
}

/* Names starting with "__" are reserved by Prometheus; "le" is the
 * histogram bucket label. */
static int valid_label_name(const char *name, metric_kind kind)
{
    if (!valid_name(name, 0) || strncmp(name, "__", 2) == 0)
        return 0;
    return !(kind == KIND_HISTOGRAM && strcmp(name, "le") == 0);
}

static void free_strings(char **strings, size_t count)
{
    if (!strings)
        return;
    for (size_t i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

static char *copy_trimmed(const char *start, size_t len)
{
    while (len > 0 && *start == ' ') {
        start++;
        len--;
    }
    while (len > 0 && start[len - 1] == ' ')
        len--;
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, start, len);
        copy[len] = '\0';
    }
    return copy;
}

/* "topic, kind" -> {"topic", "kind"}. Returns 0, or -1 for a bad or repeated
 * name, too many names, or no memory. */
static int parse_label_names(const char *csv, metric_kind kind, char ***names_out,
                             size_t *count_out)
{
    *names_out = NULL;
    *count_out = 0;
    if (!csv || !csv[strspn(csv, " ")])
        return 0;
    char **names = calloc(MAX_LABELS, sizeof(*names));
    if (!names)
        return -1;
    size_t count = 0;
    const char *start = csv;
    for (;;) {
        if (count == MAX_LABELS)
            goto fail;
        size_t len = strcspn(start, ",");
        char *name = copy_trimmed(start, len);
        if (!name)
            goto fail;
        names[count++] = name;
        if (!valid_label_name(name, kind))
            goto fail;
        for (size_t i = 0; i + 1 < count; i++) {
            if (strcmp(names[i], name) == 0)
                goto fail;
        }
        if (start[len] == '\0')
            break;
        start += len + 1;
    }
    *names_out = names;
    *count_out = count;
    return 0;
fail:
    free_strings(names, count);
    return -1;
}

static int valid_bounds(const double *bounds, size_t count)
{
    if (count == 0)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
            return 0;
    }
    return 1;
}

/* ---- families ---- */

static family *find_family(const char *name)
{
    for (family *f = first_family; f; f = f->next) {
        if (strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

static int same_shape(const family *f, metric_kind kind, char **label_names, size_t label_count,
                      const double *bounds, size_t bound_count)
{
    if (f->kind != kind || f->label_count != label_count || f->bound_count != bound_count)
        return 0;
    for (size_t i = 0; i < label_count; i++) {
        if (strcmp(f->label_names[i], label_names[i]) != 0)
            return 0;
    }
    return bound_count == 0 || memcmp(f->bounds, bounds, bound_count * sizeof(*bounds)) == 0;
}

static void free_series(series *s, size_t label_count)
{
    free_strings(s->label_values, label_count);
    free(s->bucket_counts);
    free(s);
}

static void free_family(family *f)
{
    series *s = f->first_series;
    while (s) {
        series *next = s->next;
        free_series(s, f->label_count);
        s = next;
    }
    free(f->name);
    free(f->help);
    free_strings(f->label_names, f->label_count);
    free(f->bounds);
    free(f);
}

/* Takes label_names. */
static family *new_family(metric_kind kind, const char *name, const char *help,
                          char **label_names, size_t label_count, const double *bounds,
                          size_t bound_count)
{
    family *f = calloc(1, sizeof(*f));
    if (!f) {
        free_strings(label_names, label_count);
        return NULL;
    }
    f->kind = kind;
    f->label_names = label_names;
    f->label_count = label_count;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    if (bound_count > 0) {
        f->bounds = malloc(bound_count * sizeof(*bounds));
        if (f->bounds) {
            memcpy(f->bounds, bounds, bound_count * sizeof(*bounds));
            f->bound_count = bound_count;
        }
    }
    if (!f->name || !f->help || f->bound_count != bound_count) {
        free_family(f);
        return NULL;
    }
    return f;
}

/* ---- series ---- */

static const char *label_value_at(const char *const *values, size_t i)
{
    return values && values[i] ? values[i] : "";
}

static int labels_match(const series *s, const char *const *values, size_t label_count)
{
    for (size_t i = 0; i < label_count; i++) {
        if (strcmp(s->label_values[i], label_value_at(values, i)) != 0)
            return 0;
    }
    return 1;
}

static series *new_series(const family *f, const char *const *values)
{
    series *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->label_values = calloc(f->label_count ? f->label_count : 1, sizeof(char *));
    if (f->kind == KIND_HISTOGRAM)
        s->bucket_counts = calloc(f->bound_count, sizeof(uint64_t));
    int failed = !s->label_values || (f->kind == KIND_HISTOGRAM && !s->bucket_counts);
    for (size_t i = 0; !failed && i < f->label_count; i++) {
        s->label_values[i] = strdup(label_value_at(values, i));
        failed = !s->label_values[i];
    }
    if (failed) {
        free_series(s, f->label_count);
        return NULL;
    }
    return s;
}

/* The series of f with these label values, created on first use. NULL when
 * out of memory or the family is full. Called with the lock held. */
static series *series_for(family *f, const char *const *values)
{
    for (series *s = f->first_series; s; s = s->next) {
        if (labels_match(s, values, f->label_count))
            return s;
    }
    if (f->series_count >= MAX_SERIES_PER_FAMILY)
        return NULL;
    series *s = new_series(f, values);
    if (!s)
        return NULL;
    if (f->last_series)
        f->last_series->next = s;
    else
        f->first_series = s;
    f->last_series = s;
    f->series_count++;
    return s;
}

/* ---- registering ---- */

/* A new family with the one series a metric without labels has from the
 * start, so that it is rendered (as 0) before its first update. */
static family *create_family(metric_kind kind, const char *name, const char *help,
                             char **label_names, size_t label_count, const double *bounds,
                             size_t bound_count)
{
    family *f = new_family(kind, name, help, label_names, label_count, bounds, bound_count);
    if (f && label_count == 0 && !series_for(f, NULL)) {
        free_family(f);
        return NULL;
    }
    return f;
}

static void append_family(family *f)
{
    if (last_family)
        last_family->next = f;
    else
        first_family = f;
    last_family = f;
}

static family *register_family(metric_kind kind, const char *name, const char *help,
                               const char *label_names_csv, const double *bounds,
                               size_t bound_count)
{
    char **label_names;
    size_t label_count;
    if (!valid_metric_name(name) ||
        parse_label_names(label_names_csv, kind, &label_names, &label_count))
        return NULL;
    pthread_mutex_lock(&registry_lock);
    family *f = find_family(name);
    if (f) {
        if (!same_shape(f, kind, label_names, label_count, bounds, bound_count))
            f = NULL;
        free_strings(label_names, label_count);
    } else {
        f = create_family(kind, name, help, label_names, label_count, bounds, bound_count);
        if (f)
            append_family(f);
    }
    pthread_mutex_unlock(&registry_lock);
    return f;
}

cw_counter *cw_metrics_counter(const char *name, const char *help, const char *label_names_csv)
{
    return (cw_counter *)register_family(KIND_COUNTER, name, help, label_names_csv, NULL, 0);
}

cw_gauge *cw_metrics_gauge(const char *name, const char *help, const char *label_names_csv)
{
    return (cw_gauge *)register_family(KIND_GAUGE, name, help, label_names_csv, NULL, 0);
}

cw_histogram *cw_metrics_histogram(const char *name, const char *help, const char *label_names_csv,
                                   const double *bounds, size_t bound_count)
{
    if (!bounds) {
        bounds = cw_metrics_default_buckets;
        bound_count = CW_METRICS_DEFAULT_BUCKET_COUNT;
    }
    if (!valid_bounds(bounds, bound_count))
        return NULL;
    return (cw_histogram *)register_family(KIND_HISTOGRAM, name, help, label_names_csv, bounds,
                                           bound_count);
}

/* ---- updating ---- */

void cw_counter_add(cw_counter *counter, const char *const *label_values, uint64_t n)
{
    family *f = (family *)counter;
    if (!f)
        return;
    pthread_mutex_lock(&registry_lock);
    series *s = series_for(f, label_values);
    if (s)
        s->count += n;
    pthread_mutex_unlock(&registry_lock);
}

/* Sets the series' value to value, or adds value to it. */
static void gauge_update(cw_gauge *gauge, const char *const *label_values, double value, int add)
{
    family *f = (family *)gauge;
    if (!f)
        return;
    pthread_mutex_lock(&registry_lock);
    series *s = series_for(f, label_values);
    if (s)
        s->value = add ? s->value + value : value;
    pthread_mutex_unlock(&registry_lock);
}

void cw_gauge_set(cw_gauge *gauge, const char *const *label_values, double value)
{
    gauge_update(gauge, label_values, value, 0);
}

void cw_gauge_add(cw_gauge *gauge, const char *const *label_values, double delta)
{
    gauge_update(gauge, label_values, delta, 1);
}

void cw_histogram_observe(cw_histogram *histogram, const char *const *label_values, double value)
{
    family *f = (family *)histogram;
    if (!f)
        return;
    pthread_mutex_lock(&registry_lock);
    series *s = series_for(f, label_values);
    if (s) {
        size_t i = 0;
        while (i < f->bound_count && !(value <= f->bounds[i]))
            i++;
        if (i < f->bound_count)
            s->bucket_counts[i]++;
        s->count++;
        s->value += value;
    }
    pthread_mutex_unlock(&registry_lock);
}

/* ---- rendering ---- */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} text_buf;

static void buf_append(text_buf *b, const char *text, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, text, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(text_buf *b, const char *text)
{
    buf_append(b, text, strlen(text));
}

/* Escapes backslash and newline, and the double quote when in a label value
 * (HELP text keeps its quotes, as the format says). */
static void buf_put_escaped(text_buf *b, const char *text, int escape_quote)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\')
            buf_puts(b, "\\\\");
        else if (*p == '\n')
            buf_puts(b, "\\n");
        else if (*p == '"' && escape_quote)
            buf_puts(b, "\\\"");
        else
            buf_append(b, p, 1);
    }
}

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the special values. */
static void format_number(double v, char out[NUMBER_TEXT_MAX])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, NUMBER_TEXT_MAX, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, NUMBER_TEXT_MAX, "%.17g", v);
    }
}

static void buf_put_number(text_buf *b, double v)
{
    char text[NUMBER_TEXT_MAX];
    format_number(v, text);
    buf_puts(b, text);
}

static void buf_put_count(text_buf *b, uint64_t n)
{
    char text[NUMBER_TEXT_MAX];
    snprintf(text, sizeof(text), "%" PRIu64, n);
    buf_puts(b, text);
}

static void buf_put_label(text_buf *b, const char *name, const char *value, int first)
{
    buf_puts(b, first ? "{" : ",");
    buf_puts(b, name);
    buf_puts(b, "=\"");
    buf_put_escaped(b, value, 1);
    buf_puts(b, "\"");
}

/* name+suffix{labels[,le="bound"]} followed by a space. le may be NULL. */
static void buf_put_sample_name(text_buf *b, const family *f, const char *suffix,
                                const series *s, const char *le)
{
    buf_puts(b, f->name);
    buf_puts(b, suffix);
    for (size_t i = 0; i < f->label_count; i++)
        buf_put_label(b, f->label_names[i], s->label_values[i], i == 0);
    if (le)
        buf_put_label(b, "le", le, f->label_count == 0);
    if (f->label_count > 0 || le)
        buf_puts(b, "}");
    buf_puts(b, " ");
}

static void render_header(text_buf *b, const family *f)
{
    if (f->help[0]) {
        buf_puts(b, "# HELP ");
        buf_puts(b, f->name);
        buf_puts(b, " ");
        buf_put_escaped(b, f->help, 0);
        buf_puts(b, "\n");
    }
    buf_puts(b, "# TYPE ");
    buf_puts(b, f->name);
    buf_puts(b, " ");
    buf_puts(b, kind_names[f->kind]);
    buf_puts(b, "\n");
}

static void render_histogram_series(text_buf *b, const family *f, const series *s)
{
    uint64_t cumulative = 0;
    char le[NUMBER_TEXT_MAX];
    for (size_t i = 0; i < f->bound_count; i++) {
        cumulative += s->bucket_counts[i];
        format_number(f->bounds[i], le);
        buf_put_sample_name(b, f, "_bucket", s, le);
        buf_put_count(b, cumulative);
        buf_puts(b, "\n");
    }
    buf_put_sample_name(b, f, "_bucket", s, "+Inf");
    buf_put_count(b, s->count);
    buf_puts(b, "\n");
    buf_put_sample_name(b, f, "_sum", s, NULL);
    buf_put_number(b, s->value);
    buf_puts(b, "\n");
    buf_put_sample_name(b, f, "_count", s, NULL);
    buf_put_count(b, s->count);
    buf_puts(b, "\n");
}

static void render_family(text_buf *b, const family *f)
{
    render_header(b, f);
    for (const series *s = f->first_series; s; s = s->next) {
        if (f->kind == KIND_HISTOGRAM) {
            render_histogram_series(b, f, s);
            continue;
        }
        buf_put_sample_name(b, f, "", s, NULL);
        if (f->kind == KIND_COUNTER)
            buf_put_count(b, s->count);
        else
            buf_put_number(b, s->value);
        buf_puts(b, "\n");
    }
}

char *cw_metrics_render(void)
{
    text_buf b = {0};
    buf_puts(&b, ""); /* an empty registry renders as "", not NULL */
    pthread_mutex_lock(&registry_lock);
    for (const family *f = first_family; f; f = f->next)
        render_family(&b, f);
    pthread_mutex_unlock(&registry_lock);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

/* ---- the common metrics ---- */

#define EVENTS_IN "carewatch_events_in_total"
#define EVENTS_OUT "carewatch_events_out_total"
#define ERRORS "carewatch_errors_total"
#define PROCESSING "carewatch_processing_seconds"

static cw_counter *events_in_counter(void)
{
    return cw_metrics_counter(EVENTS_IN, "Records consumed, by topic.", "topic");
}

static cw_counter *events_out_counter(void)
{
    return cw_metrics_counter(EVENTS_OUT, "Records produced and acknowledged, by topic.",
                              "topic");
}

static cw_counter *errors_counter(void)
{
    return cw_metrics_counter(ERRORS, "Errors, by topic and kind.", "topic,kind");
}

static cw_histogram *processing_histogram(void)
{
    return cw_metrics_histogram(PROCESSING, "Time spent handling one record, by topic.", "topic",
                                NULL, 0);
}

int cw_metrics_init(const char *service, const char *version)
{
    cw_gauge *up = cw_metrics_gauge("carewatch_up", "1 while the service runs.", NULL);
    cw_gauge *build = cw_metrics_gauge("carewatch_build_info",
                                       "Always 1; the labels name the service and its version.",
                                       "service,version");
    if (!up || !build || !events_in_counter() || !events_out_counter() || !errors_counter() ||
        !processing_histogram())
        return -1;
    cw_gauge_set(up, NULL, 1);
    cw_gauge_set(build, CW_LABELS(service, version), 1);
    return 0;
}

void cw_metrics_shutdown(void)
{
    pthread_mutex_lock(&registry_lock);
    family *f = first_family;
    first_family = last_family = NULL;
    pthread_mutex_unlock(&registry_lock);
    while (f) {
        family *next = f->next;
        free_family(f);
        f = next;
    }
}

void cw_metrics_event_in(const char *topic)
{
    cw_counter_add(events_in_counter(), CW_LABELS(topic), 1);
}

void cw_metrics_event_out(const char *topic)
{
    cw_counter_add(events_out_counter(), CW_LABELS(topic), 1);
}

void cw_metrics_error(const char *topic, const char *kind)
{
    cw_counter_add(errors_counter(), CW_LABELS(topic, kind), 1);
}

void cw_metrics_observe_processing(const char *topic, double seconds)
{
    cw_histogram_observe(processing_histogram(), CW_LABELS(topic), seconds);
}

double cw_metrics_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}
