#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SERVICE_MAX 64
#define TRUNCATED_FIELD ",\"truncated\":true"
/* Kept free at the end of a line: the quote closing a cut string, the
 * truncated field, "}\n" and the NUL. */
#define TAIL_RESERVE (sizeof("\"" TRUNCATED_FIELD "}\n"))

static atomic_int current_level = CW_LOG_INFO;
static char service_name[SERVICE_MAX] = "carewatch";
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* ---- levels ---- */

const char *cw_log_level_name(cw_log_level level)
{
    if (level >= CW_LOG_DEBUG && level <= CW_LOG_ERROR)
        return level_names[level];
    return "error";
}

int cw_log_level_parse(const char *name, cw_log_level *level)
{
    if (!name)
        return -1;
    for (int i = CW_LOG_DEBUG; i <= CW_LOG_ERROR; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *level = (cw_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *level = CW_LOG_WARN;
        return 0;
    }
    return -1;
}

void cw_log_set_level(cw_log_level level)
{
    atomic_store(&current_level, (int)level);
}

int cw_log_enabled(cw_log_level level)
{
    return (int)level >= atomic_load(&current_level);
}

int cw_log_init(const char *service, const char *level_name)
{
    if (service)
        snprintf(service_name, sizeof(service_name), "%s", service);
    if (!level_name)
        return 0;
    cw_log_level level;
    if (cw_log_level_parse(level_name, &level))
        return -1;
    cw_log_set_level(level);
    return 0;
}

/* ---- redaction ---- */

static int contains_ignoring_case(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (; *text; text++) {
        if (strncasecmp(text, word, n) == 0)
            return 1;
    }
    return 0;
}

int cw_log_key_is_secret(const char *key)
{
    static const char *const contained[] = {"authorization", "secret", "password",
                                            "passwd",        "token",  "credential"};
    static const char *const whole[] = {"key", "api_key", "api-key", "apikey", "bearer"};
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
        if (strcasecmp(key, whole[i]) == 0)
            return 1;
    }
    for (size_t i = 0; i < sizeof(contained) / sizeof(contained[0]); i++) {
        if (contains_ignoring_case(key, contained[i]))
            return 1;
    }
    return 0;
}

/* ---- JSON line writer ---- */

typedef struct {
    char *buf;
    size_t limit; /* bytes usable before the reserved tail */
    size_t len;
    size_t fields;
    int truncated;
} line_writer;

static int put_raw(line_writer *w, const char *s, size_t n)
{
    if (w->len + n > w->limit)
        return -1;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at s, or 0 (overlong forms,
 * surrogates and code points above U+10FFFF are not well-formed). */
static size_t utf8_sequence_length(const unsigned char *s)
{
    size_t n;
    uint32_t lowest;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        lowest = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        lowest = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        lowest = 0x10000;
    } else {
        return 0;
    }
    uint32_t cp = s[0] & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (cp < lowest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Writes the JSON form of the character at s into out (at most 6 bytes).
 * Returns the number of bytes of s it stands for. */
static size_t escape_next(const unsigned char *s, char *out, size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    const char *escape = NULL;
    switch (s[0]) {
    case '"': escape = "\\\""; break;
    case '\\': escape = "\\\\"; break;
    case '\n': escape = "\\n"; break;
    case '\r': escape = "\\r"; break;
    case '\t': escape = "\\t"; break;
    case '\b': escape = "\\b"; break;
    case '\f': escape = "\\f"; break;
    default: break;
    }
    if (escape) {
        memcpy(out, escape, 2);
        *out_len = 2;
        return 1;
    }
    if (s[0] < 0x20 || s[0] == 0x7F) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[s[0] >> 4];
        out[5] = hex[s[0] & 0xF];
        *out_len = 6;
        return 1;
    }
    if (s[0] < 0x80) {
        out[0] = (char)s[0];
        *out_len = 1;
        return 1;
    }
    size_t n = utf8_sequence_length(s);
    if (n == 0) {
        memcpy(out, "\xEF\xBF\xBD", 3); /* U+FFFD REPLACEMENT CHARACTER */
        *out_len = 3;
        return 1;
    }
    memcpy(out, s, n);
    *out_len = n;
    return n;
}

/* A quoted JSON string. If may_cut, a string that does not fit is cut on a
 * character boundary and the line marked truncated; the closing quote may
 * then use the reserved tail. */
static int put_string(line_writer *w, const char *s, int may_cut)
{
    if (put_raw(w, "\"", 1))
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        char piece[6];
        size_t piece_len;
        size_t used = escape_next(p, piece, &piece_len);
        if (put_raw(w, piece, piece_len)) {
            if (!may_cut)
                return -1;
            w->truncated = 1;
            break;
        }
        p += used;
    }
    if (put_raw(w, "\"", 1) == 0)
        return 0;
    if (!may_cut)
        return -1;
    w->buf[w->len++] = '"';
    w->truncated = 1;
    return 0;
}

/* A field goes in whole, or with its value cut, or not at all. */
static void put_field(line_writer *w, const char *key, const char *value)
{
    if (w->truncated)
        return;
    size_t mark = w->len;
    int failed = (w->fields > 0 && put_raw(w, ",", 1)) || put_string(w, key, 0) ||
                 put_raw(w, ":", 1) || (value ? put_string(w, value, 1) : put_raw(w, "null", 4));
    if (failed) {
        w->len = mark;
        w->truncated = 1;
        return;
    }
    w->fields++;
}

static size_t finish_line(line_writer *w)
{
    if (w->truncated) {
        memcpy(w->buf + w->len, TRUNCATED_FIELD, sizeof(TRUNCATED_FIELD) - 1);
        w->len += sizeof(TRUNCATED_FIELD) - 1;
    }
    memcpy(w->buf + w->len, "}\n", 3);
    w->len += 2;
    return w->len;
}

static void format_timestamp(int64_t unix_ms, char *out, size_t len)
{
    int64_t seconds = unix_ms / 1000;
    int64_t millis = unix_ms % 1000;
    if (millis < 0) {
        millis += 1000;
        seconds--;
    }
    time_t t = (time_t)seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, len, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)millis);
}

size_t cw_log_vformat_line(char *buf, size_t len, int64_t unix_ms, cw_log_level level,
                           const char *service, const char *msg, va_list fields)
{
    if (len < CW_LOG_LINE_MIN) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    line_writer w = {.buf = buf, .limit = len - TAIL_RESERVE};
    char ts[96];
    format_timestamp(unix_ms, ts, sizeof(ts));
    put_raw(&w, "{", 1);
    put_field(&w, "ts", ts);
    put_field(&w, "level", cw_log_level_name(level));
    put_field(&w, "service", service ? service : "");
    put_field(&w, "msg", msg ? msg : "");
    for (;;) {
        const char *key = va_arg(fields, const char *);
        if (!key)
            break;
        const char *value = va_arg(fields, const char *);
        put_field(&w, key, cw_log_key_is_secret(key) ? "[redacted]" : value);
    }
    return finish_line(&w);
}

size_t cw_log_format_line(char *buf, size_t len, int64_t unix_ms, cw_log_level level,
                          const char *service, const char *msg, ...)
{
    va_list fields;
    va_start(fields, msg);
    size_t n = cw_log_vformat_line(buf, len, unix_ms, level, service, msg, fields);
    va_end(fields);
    return n;
}

/* ---- output ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_line(const char *line, size_t len)
{
    pthread_mutex_lock(&write_lock);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        line += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&write_lock);
}

void cw_log(cw_log_level level, const char *msg, ...)
{
    if (!cw_log_enabled(level))
        return;
    int saved_errno = errno;
    char line[CW_LOG_LINE_MAX];
    va_list fields;
    va_start(fields, msg);
    size_t n = cw_log_vformat_line(line, sizeof(line), now_ms(), level, service_name, msg, fields);
    va_end(fields);
    write_line(line, n);
    errno = saved_errno;
}
