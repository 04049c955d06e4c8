#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

/* The answer being built: counts of every line, and the failed lines
 * themselves up to max_failures (so that the answer's size is bounded
 * whatever the body holds). */
typedef struct {
    json_t *failures;
    size_t max_failures, failures_omitted;
    size_t lines, accepted, duplicates, rejected, not_processed;
    size_t resume_line; /* first line not final (503), 0 when none */
} batch_tally;

static void add_failure(batch_tally *t, size_t line, const api_error *err)
{
    t->rejected++;
    if (err->status == 503 && !t->resume_line)
        t->resume_line = line;
    if (json_array_size(t->failures) >= t->max_failures) {
        t->failures_omitted++;
        return;
    }
    json_t *result = json_pack("{s:I, s:i}", "line", (json_int_t)line, "status", err->status);
    json_t *detail = ingest_error_json(err);
    json_object_update(result, detail);
    json_decref(detail);
    json_array_append_new(t->failures, result);
}

static void add_success(batch_tally *t, const ingest_outcome *out)
{
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

/* Lines handled together: one prefetch, one produce, one Redis pipeline. */
#define CHUNK_LINES 1000

typedef enum { LINE_WAITING, LINE_DONE, LINE_FAILED, LINE_NOT_PROCESSED } line_state;

/* One non-blank line of the body. */
typedef struct {
    size_t line;
    json_t *doc; /* owned; NULL when the line is not a record */
    request_type type;
    line_state state;
    ingest_outcome out;
    api_error err;
} batch_line;

/* Parses a line into its record (without its "type" envelope, so that the
 * same record posted singly or in a batch is one idempotent submission). */
static void parse_line(batch_line *l, const char *text, size_t len)
{
    json_error_t jerr;
    l->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!l->doc) {
        ingest_fail(&l->err, 400, "invalid_json", "", "line %zu: %s (column %d)", l->line,
                    jerr.text, jerr.column);
        l->state = LINE_FAILED;
        return;
    }
    json_t *type_value = json_is_object(l->doc) ? json_object_get(l->doc, "type") : NULL;
    if (!json_is_object(l->doc)) {
        ingest_fail(&l->err, 400, "invalid_json", "", "each line must be a JSON object");
    } else if (!json_is_string(type_value) ||
               ingest_request_type_from_name(json_string_value(type_value), &l->type)) {
        ingest_fail(&l->err, 400, "unknown_type", "type",
                    "type must be elder, caregiver, contract, order, check-in, check-out or "
                    "evidence");
    } else {
        json_object_del(l->doc, "type");
        return;
    }
    json_decref(l->doc);
    l->doc = NULL;
    l->state = LINE_FAILED;
}

/* Where the next chunk of the body starts. */
typedef struct {
    const char *p, *end;
    size_t line; /* lines before p */
} body_cursor;

/* The next (at most CHUNK_LINES) non-blank lines of the body, parsed, into
 * lines; their count. */
static size_t next_chunk(body_cursor *c, batch_line *lines)
{
    size_t n = 0;
    while (c->p < c->end && n < CHUNK_LINES) {
        const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
        const char *stop = nl ? nl : c->end;
        c->line++;
        if (!is_blank(c->p, (size_t)(stop - c->p))) {
            memset(&lines[n], 0, sizeof(lines[n]));
            lines[n].line = c->line;
            parse_line(&lines[n], c->p, (size_t)(stop - c->p));
            n++;
        }
        c->p = nl ? nl + 1 : c->end;
    }
    return n;
}

static size_t count_remaining_lines(const body_cursor *c)
{
    size_t n = 0;
    for (const char *p = c->p; p < c->end;) {
        const char *nl = memchr(p, '\n', (size_t)(c->end - p));
        const char *stop = nl ? nl : c->end;
        if (!is_blank(p, (size_t)(stop - p)))
            n++;
        p = nl ? nl + 1 : c->end;
    }
    return n;
}

/* The number of the first non-blank line at or after the cursor. */
static size_t first_line_number(const body_cursor *c)
{
    size_t line = c->line;
    for (const char *p = c->p; p < c->end;) {
        const char *nl = memchr(p, '\n', (size_t)(c->end - p));
        const char *stop = nl ? nl : c->end;
        line++;
        if (!is_blank(p, (size_t)(stop - p)))
            return line;
        p = nl ? nl + 1 : c->end;
    }
    return 0;
}

static void fail_unavailable(batch_line *l, const char *what)
{
    ingest_fail(&l->err, 503, "unavailable", "",
                "%s is unavailable; this line was not accepted, retry it", what);
    l->state = LINE_FAILED;
}

/* The first line still waiting fails with 503; the ones after it are not
 * processed. */
static void stop_at_first_waiting(batch_line *lines, size_t n, const char *what)
{
    size_t i = 0;
    while (i < n && lines[i].state != LINE_WAITING)
        i++;
    if (i < n)
        fail_unavailable(&lines[i], what);
    for (; i < n; i++)
        if (lines[i].state == LINE_WAITING)
            lines[i].state = LINE_NOT_PROCESSED;
}

/* Handles the lines: one prefetch, the lines in order, one produce, one
 * Redis pipeline (batch_session.h). A line answered 503 stops the batch
 * there. Returns 503 when a dependency failed part way, else 200. */
static int run_lines(ingest_ctx *ctx, batch_line *lines, size_t n, const cw_role *role)
{
    ingest_batch *b = ingest_batch_begin(ctx);
    int expected = b != NULL;
    for (size_t i = 0; expected && i < n; i++)
        if (lines[i].doc && ingest_batch_expect(b, lines[i].type, lines[i].doc, role) != 0)
            expected = 0;
    if (!expected || ingest_batch_prefetch(b) != 0) {
        ingest_batch_end(b);
        stop_at_first_waiting(lines, n, "Redis");
        return 503;
    }
    int status = 200;
    for (size_t i = 0; i < n && status == 200; i++) {
        batch_line *l = &lines[i];
        if (l->state != LINE_WAITING)
            continue;
        l->state = ingest_batch_submit(b, l->line, l->type, l->doc, role, &l->out, &l->err) == 0
                       ? LINE_DONE
                       : LINE_FAILED;
        if (l->state == LINE_FAILED && l->err.status == 503) {
            status = 503;
            for (size_t k = i + 1; k < n; k++)
                if (lines[k].state == LINE_WAITING)
                    lines[k].state = LINE_NOT_PROCESSED;
        }
    }
    size_t first_failed = ingest_batch_finish(b);
    ingest_batch_end(b);
    for (size_t i = 0; first_failed && i < n; i++)
        if (lines[i].line >= first_failed && lines[i].state == LINE_DONE &&
            !lines[i].out.duplicate)
            fail_unavailable(&lines[i], "Kafka or Redis");
    return first_failed ? 503 : status;
}

json_t *ingest_post_batch(ingest_ctx *ctx, const char *data, size_t len, const cw_role *role,
                          int *status)
{
    batch_tally t = {.failures = json_array(), .max_failures = ctx->max_batch_failures};
    batch_line *lines = malloc(CHUNK_LINES * sizeof(*lines));
    if (!lines) {
        *status = 503;
        json_decref(t.failures);
        return json_pack("{s:s, s:s, s:s}", "error", "unavailable", "message",
                         "out of memory; nothing was accepted, retry", "field", "");
    }
    /* Chunk by chunk, so that memory does not grow with the body. */
    body_cursor cursor = {.p = data, .end = data + len};
    size_t total = count_remaining_lines(&cursor);
    t.lines = total;
    if (total > ctx->max_batch_lines) {
        *status = 413;
        free(lines);
        json_decref(t.failures);
        return json_pack("{s:s, s:s+, s:s}", "error", "too_many_lines", "message",
                         "the batch has more lines than http.max_batch_lines; nothing was "
                         "accepted, split it",
                         "", "field", "");
    }
    *status = 200;
    while (*status == 200 && cursor.p < cursor.end) {
        size_t n = next_chunk(&cursor, lines);
        *status = run_lines(ctx, lines, n, role);
        for (size_t i = 0; i < n; i++) {
            if (lines[i].state == LINE_DONE)
                add_success(&t, &lines[i].out);
            else if (lines[i].state == LINE_FAILED)
                add_failure(&t, lines[i].line, &lines[i].err);
            else if (t.not_processed++ == 0 && !t.resume_line)
                t.resume_line = lines[i].line;
            json_decref(lines[i].doc);
        }
    }
    size_t untried = count_remaining_lines(&cursor);
    if (untried && !t.resume_line)
        t.resume_line = first_line_number(&cursor);
    t.not_processed += untried;
    free(lines);
    json_t *resume = t.resume_line ? json_integer((json_int_t)t.resume_line) : json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o}", "lines", (json_int_t)t.lines,
                     "accepted", (json_int_t)t.accepted, "duplicates", (json_int_t)t.duplicates,
                     "rejected", (json_int_t)t.rejected, "not_processed",
                     (json_int_t)t.not_processed, "failures", t.failures, "failures_omitted",
                     (json_int_t)t.failures_omitted, "resume_line", resume);
}
