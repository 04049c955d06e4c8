/* The JSON error every ingest failure answers with:
 * {"error": code, "message": text, "field": json path}. */
#ifndef INGEST_API_ERROR_H
#define INGEST_API_ERROR_H

typedef struct {
    int status;        /* HTTP status */
    char code[40];     /* machine-readable: "out_of_range", "missing_field", ... */
    char message[256]; /* for people */
    char field[96];    /* JSON path of the offending field, "" when none */
} api_error;

/* Fills err; message is printf-style. Always returns -1 so callers can
 * `return ingest_fail(...)`. */
int ingest_fail(api_error *err, int status, const char *code, const char *field, const char *fmt,
                ...)
    __attribute__((format(printf, 5, 6)));

/* {"error": code, "message": ..., "field": ...}; caller decrefs. */
#include <jansson.h>
json_t *ingest_error_json(const api_error *err);

#endif
