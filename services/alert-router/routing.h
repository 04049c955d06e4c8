/* Which topics an alert goes to. Pure: no Kafka, Redis or clock.
 *
 * The table has, per colour, a list of target templates, and per rule code
 * extra targets. A template is a topic name in which {street_id},
 * {community_id} and {provider_id} are replaced by the alert's own:
 *
 *   yellow: alerts.street.{street_id}, alerts.all
 *   orange: alerts.street.{street_id}, alerts.all
 *   red:    alerts.street.{street_id}, alerts.command, alerts.all
 *   extra:  FACE_MISMATCH=alerts.command     (one target per entry)
 *
 * docs/design.md §4.2 makes part of it a contract: every alert goes to alerts.all
 * and alerts.street.<street_id>, red also to alerts.command.
 * alert_routing_check_contract() refuses a table that drops any of these, so
 * configuration can only add targets. */
#ifndef ALERT_ROUTING_H
#define ALERT_ROUTING_H

#include <stddef.h>

#include "avro_records.h" /* cw_colour, cw_outcome */
#include "topics.h"

/* Kafka topic names are at most 249 characters. */
#define ALERT_TOPIC_MAX 250
#define ALERT_RULE_MAX 64
#define ALERT_MAX_COLOUR_TARGETS 8
#define ALERT_MAX_RULE_TARGETS 32
/* A colour's targets plus every extra target of one rule. */
#define ALERT_MAX_TARGETS (ALERT_MAX_COLOUR_TARGETS + ALERT_MAX_RULE_TARGETS)

/* The colour of a CheckResult's outcome: 0, or -1 for PASS (no alert). */
int alert_colour_of(cw_outcome outcome, cw_colour *out);

typedef struct {
    char rule[ALERT_RULE_MAX];
    char target[ALERT_TOPIC_MAX];
} alert_rule_target;

/* Zero-initialise, then fill with the setters. Plain data: no free. */
typedef struct {
    char colour[CW_COLOUR_COUNT][ALERT_MAX_COLOUR_TARGETS][ALERT_TOPIC_MAX];
    size_t colour_count[CW_COLOUR_COUNT];
    alert_rule_target extra[ALERT_MAX_RULE_TARGETS];
    size_t extra_count;
} alert_routing;

/* Replaces the colour's targets with templates[0..n). 0, or -1 with err: too
 * many, an unknown {placeholder}, an unclosed brace, or text that can never
 * form a topic name. */
int alert_routing_set_colour(alert_routing *r, cw_colour c, const char *const *templates,
                             size_t n, char *err, size_t errlen);
/* Adds "RULE=template". 0, or -1 with err. */
int alert_routing_add_rule_target(alert_routing *r, const char *spec, char *err, size_t errlen);
/* 0 when the table keeps the contract's targets, -1 with err naming the
 * first missing one. */
int alert_routing_check_contract(const alert_routing *r, char *err, size_t errlen);

/* What the templates are filled with (borrowed strings). */
typedef struct {
    const char *street_id;
    const char *community_id;
    const char *provider_id;
} alert_place;

typedef struct {
    char topics[ALERT_MAX_TARGETS][ALERT_TOPIC_MAX];
    size_t count;
    /* Targets whose expansion is not a valid topic name (an id with a ':'
     * or too long), to be reported; the alert still goes to the others. */
    char unroutable[ALERT_MAX_TARGETS][ALERT_TOPIC_MAX];
    size_t unroutable_count;
} alert_targets;

/* The topics of an alert: the colour's targets, then the rule's extras, each
 * once, in that order. Never fails; out is overwritten. */
void alert_route(const alert_routing *r, const char *rule, cw_colour c, const alert_place *p,
                 alert_targets *out);

/* 1 when name is a legal Kafka topic name: 1..249 characters of
 * [A-Za-z0-9._-], not "." or "..". */
int alert_topic_name_valid(const char *name);

#endif
