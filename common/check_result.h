/* CheckResult records (docs/design.md §4.2), the verdict every checker emits for
 * every event it examines, PASS included. */
#ifndef CW_CHECK_RESULT_H
#define CW_CHECK_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h" /* cw_outcome */
#include "outbox.h"


typedef struct {
    char check_id[200]; /* deterministic: "<event or order id>:<rule>" */
    const char *order_id;
    const char *caregiver_id;
    const char *event_id; /* NULL for timer verdicts about an order */
    const char *rule;
    cw_outcome outcome;
    int has_measured;
    double measured;
    int has_threshold;
    double threshold;
    const char *unit; /* "m", "km/h", "min", "score", "" */
    const char *checker;
    int64_t at;          /* event time the verdict is about */
    int64_t produced_at; /* wall clock */
} cw_check;

/* What a rule concluded, before it becomes a record. */
typedef struct {
    cw_outcome outcome;
    int has_measured;
    double measured;
    int has_threshold;
    double threshold;
    const char *unit;
} cw_verdict;


/* Sets check_id to "<subject>:<rule>". 0, or -1 when it does not fit. */
int cw_check_set_id(cw_check *c, const char *subject, const char *rule);

/* Encodes c as a CheckResult keyed by order_id onto visit.checks.
 * 0, or -1 with err. */
int cw_check_emit(cw_outbox *ob, const cw_check *c, char *err, size_t errlen);

/* Builds and emits the CheckResult "<subject>:<rule>" of a verdict, with
 * the wall clock as produced_at; event_id may be NULL. Logs and returns -1
 * when it cannot (an id too long, out of memory). */
int cw_check_emit_verdict(cw_outbox *ob, const char *checker, const char *subject,
                          const char *rule, const cw_verdict *v, const char *order_id,
                          const char *caregiver_id, const char *event_id, int64_t at);

/* Encodes c as CheckResult bytes (malloc'd; caller frees). */
int cw_check_encode(const cw_check *c, uint8_t **out, size_t *len, char *err, size_t errlen);

#endif
