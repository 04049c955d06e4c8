#include "ingest/api_error.h"

#include <stdarg.h>
#include <stdio.h>

int ingest_fail(api_error *err, int status, const char *code, const char *field, const char *fmt,
                ...)
{
    err->status = status;
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

json_t *ingest_error_json(const api_error *err)
{
    return json_pack("{s:s, s:s, s:s}", "error", err->code, "message", err->message, "field",
                     err->field);
}
