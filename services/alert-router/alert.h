/* The Alert record (schemas/Alert.avsc, docs/design.md §4.2) and its id. */
#ifndef ALERT_ALERT_H
#define ALERT_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "routing.h"

/* "<order_id>:<rule>": 64 + 1 + rule code. */
#define ALERT_ID_MAX (65 + ALERT_RULE_MAX)

/* Every string is borrowed. */
typedef struct {
    const char *alert_id;
    const char *order_id;
    const char *rule;
    alert_colour colour;
    const char *street_id;
    const char *community_id;
    const char *provider_id;
    const char *caregiver_id;
    const char *elder_id;
    int has_schedule; /* the order's schedule is known */
    int64_t scheduled_start;
    int32_t scheduled_minutes;
    int has_measured;
    double measured;
    int has_threshold;
    double threshold;
    int64_t at;        /* event time of what was judged */
    int64_t raised_at; /* wall clock when routed */
    const char *message_zh;
    const char *message_en;
} alert_record;

/* The deterministic alert id of (order, rule): one alert per pair, so a
 * replay or a re-emitted check yields the same id. 0, or -1 when it does
 * not fit. */
int alert_id_format(char *buf, size_t len, const char *order_id, const char *rule);

/* Encodes a as an Alert (single-object encoding) into a malloc'd buffer the
 * caller frees. 0, or -1 with err. */
int alert_encode(const alert_record *a, uint8_t **out, size_t *len, char *err, size_t errlen);

#endif
