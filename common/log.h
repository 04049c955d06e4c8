/* Structured logging: one JSON object per line on stderr.
 *
 *   cw_log(CW_LOG_INFO, "listening", "port", "8080", NULL);
 *   -> {"ts":"2024-05-01T00:00:00.123Z","level":"info","service":"ingest",
 *       "msg":"listening","port":"8080"}
 *
 * Fields are (key, value) string pairs closed by NULL; a NULL value is
 * written as null. A field whose key names a secret is written as
 * "[redacted]", so a careless caller cannot leak a bearer key: keys that
 * contain authorization, secret, password, passwd, token or credential, or
 * equal key, api_key, api-key, apikey or bearer (any case).
 *
 * Strings are escaped for JSON; bytes that are not valid UTF-8 become U+FFFD.
 * A line is at most CW_LOG_LINE_MAX bytes: a longer one is cut inside a
 * string value and ends with "truncated":true, still valid JSON. Each line
 * is written whole under a lock, so threads never interleave. errno is
 * preserved. */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { CW_LOG_DEBUG = 0, CW_LOG_INFO, CW_LOG_WARN, CW_LOG_ERROR } cw_log_level;

#if defined(__GNUC__)
#define CW_LOG_SENTINEL __attribute__((sentinel))
#else
#define CW_LOG_SENTINEL
#endif

#define CW_LOG_LINE_MAX 8192
/* Smallest buffer cw_log_format_line writes into. */
#define CW_LOG_LINE_MIN 64

/* service is copied (up to 63 bytes); level_name is "debug", "info", "warn"
 * or "error". Either may be NULL to keep the current one. Returns 0, or -1
 * for an unknown level name (the level is left as is). Call it before
 * starting threads. Until then the service is "carewatch" and the level info. */
int cw_log_init(const char *service, const char *level_name);
void cw_log_set_level(cw_log_level level);
void cw_log(cw_log_level level, const char *msg, ...) CW_LOG_SENTINEL;

/* True if a message at level would be written (to skip costly fields). */
int cw_log_enabled(cw_log_level level);

/* "debug", "info", "warn" ("warning" too) or "error", any case. Returns 0,
 * or -1 for an unknown name. */
int cw_log_level_parse(const char *name, cw_log_level *level);
const char *cw_log_level_name(cw_log_level level);

/* True if a field with this key is written as "[redacted]". */
int cw_log_key_is_secret(const char *key);

/* Formats one line, newline included, as cw_log would write it at unix_ms
 * (milliseconds since the epoch) into a buffer of len bytes (cw_log uses
 * CW_LOG_LINE_MAX). len below CW_LOG_LINE_MIN gives "" and 0. Returns the
 * length without the terminating NUL. */
size_t cw_log_format_line(char *buf, size_t len, int64_t unix_ms, cw_log_level level,
                          const char *service, const char *msg, ...) CW_LOG_SENTINEL;
size_t cw_log_vformat_line(char *buf, size_t len, int64_t unix_ms, cw_log_level level,
                           const char *service, const char *msg, va_list fields);

#define cw_log_debug(...) cw_log(CW_LOG_DEBUG, __VA_ARGS__)
#define cw_log_info(...) cw_log(CW_LOG_INFO, __VA_ARGS__)
#define cw_log_warn(...) cw_log(CW_LOG_WARN, __VA_ARGS__)
#define cw_log_error(...) cw_log(CW_LOG_ERROR, __VA_ARGS__)

#endif
