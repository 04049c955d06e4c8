#include <stdio.h>
#include <string.h>

#include "api.h"

typedef struct {
    json_t *results;
    size_t accepted, duplicates, rejected, not_processed;
} batch_tally;

static void add_failure(batch_tally *t, size_t line, const api_error *err)
{
    json_t *result = json_pack("{s:I, s:i}", "line", (json_int_t)line, "status", err->status);
    json_t *detail = api_error_json(err);
    json_object_update(result, detail);
    json_decref(detail);
    json_array_append_new(t->results, result);
    t->rejected++;
}

static void add_success(batch_tally *t, size_t line, const api_outcome *out)
{
    json_array_append_new(t->results,
                          json_pack("{s:I, s:i, s:s, s:s}", "line", (json_int_t)line, "status",
                                    out->duplicate ? 200 : 202, "result",
                                    out->duplicate ? "duplicate" : "accepted", "id", out->id));
    if (out->duplicate)
        t->duplicates++;
    else
        t->accepted++;
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Handles one NDJSON line. Returns -1 when the dependency outage (503)
 * means the rest of the batch must not be attempted. */
static int process_line(ingest_ctx *ctx, const char *text, size_t len, size_t line,
                        const auth_role *role, batch_tally *t)
{
    api_error err = {0};
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        api_fail(&err, 400, "invalid_json", "", "line %zu: %s (column %d)", line, jerr.text,
                 jerr.column);
        add_failure(t, line, &err);
        return 0;
    }
    json_t *type_value = json_is_object(doc) ? json_object_get(doc, "type") : NULL;
    request_type type;
    api_outcome out;
    int rc;
    if (!json_is_object(doc)) {
        rc = api_fail(&err, 400, "invalid_json", "", "each line must be a JSON object");
    } else if (!json_is_string(type_value) ||
               request_type_from_name(json_string_value(type_value), &type)) {
        rc = api_fail(&err, 400, "unknown_type", "type",
                      "type must be elder, caregiver, contract, order, check-in, check-out or "
                      "evidence");
    } else {
        /* The record is the line without its envelope, so that the same
         * record posted singly or in a batch is one idempotent submission. */
        json_object_del(doc, "type");
        rc = ingest_submit(ctx, type, doc, role, &out, &err);
    }
    json_decref(doc);
    if (rc == 0) {
        add_success(t, line, &out);
        return 0;
    }
    add_failure(t, line, &err);
    return err.status == 503 ? -1 : 0;
}

static size_t count_remaining_lines(const char *p, const char *end)
{
    size_t n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (!is_blank(p, (size_t)(stop - p)))
            n++;
        p = nl ? nl + 1 : end;
    }
    return n;
}

json_t *ingest_batch(ingest_ctx *ctx, const char *data, size_t len, const auth_role *role,
                     int *status)
{
    batch_tally t = {.results = json_array()};
    const char *p = data, *end = data + len;
    size_t line = 0;
    *status = 200;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line++;
        if (!is_blank(p, (size_t)(stop - p)) &&
            process_line(ctx, p, (size_t)(stop - p), line, role, &t)) {
            *status = 503;
            p = nl ? nl + 1 : end;
            t.not_processed = count_remaining_lines(p, end);
            break;
        }
        p = nl ? nl + 1 : end;
    }
    return json_pack("{s:o, s:I, s:I, s:I, s:I}", "results", t.results, "accepted",
                     (json_int_t)t.accepted, "duplicates", (json_int_t)t.duplicates, "rejected",
                     (json_int_t)t.rejected, "not_processed", (json_int_t)t.not_processed);
}
