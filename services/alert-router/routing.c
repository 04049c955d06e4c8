#include "alert-router/routing.h"

#include <stdio.h>
#include <string.h>

int alert_colour_of(cw_outcome outcome, cw_colour *out)
{
    switch (outcome) {
    case CW_OUTCOME_YELLOW: *out = CW_COLOUR_YELLOW; return 0;
    case CW_OUTCOME_ORANGE: *out = CW_COLOUR_ORANGE; return 0;
    case CW_OUTCOME_RED: *out = CW_COLOUR_RED; return 0;
    case CW_OUTCOME_PASS: break;
    }
    return -1;
}

int alert_topic_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= ALERT_TOPIC_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* The value of one placeholder name (between the braces), or NULL when the
 * name is unknown. */
static const char *placeholder(const char *name, size_t len, const alert_place *p)
{
    if (len == 9 && strncmp(name, "street_id", len) == 0)
        return p->street_id;
    if (len == 12 && strncmp(name, "community_id", len) == 0)
        return p->community_id;
    if (len == 11 && strncmp(name, "provider_id", len) == 0)
        return p->provider_id;
    return NULL;
}

typedef enum {
    EXPANDED,  /* out holds the topic */
    MALFORMED, /* an unclosed or stray brace, or an unknown placeholder */
    TOO_LONG   /* the result does not fit in out */
} expansion;

/* Fills a template into out (len bytes). */
static expansion expand(const char *tmpl, const alert_place *p, char *out, size_t len)
{
    size_t used = 0;
    for (const char *s = tmpl; *s;) {
        const char *piece = s;
        size_t piece_len = 1;
        if (*s == '{') {
            const char *close = strchr(s, '}');
            if (close == NULL)
                return MALFORMED;
            piece = placeholder(s + 1, (size_t)(close - s - 1), p);
            if (piece == NULL)
                return MALFORMED;
            piece_len = strlen(piece);
            s = close + 1;
        } else if (*s == '}') {
            return MALFORMED;
        } else {
            s++;
        }
        if (used + piece_len >= len)
            return TOO_LONG;
        memcpy(out + used, piece, piece_len);
        used += piece_len;
    }
    out[used] = '\0';
    return EXPANDED;
}

/* A template is acceptable when it expands, with short ids, to a legal
 * topic name. */
static int template_check(const char *tmpl, char *err, size_t errlen)
{
    static const alert_place sample = {"S", "C", "P"};
    char topic[ALERT_TOPIC_MAX];
    expansion rc = expand(tmpl, &sample, topic, sizeof(topic));
    if (rc == MALFORMED) {
        snprintf(err, errlen, "'%s': braces must hold {street_id}, {community_id} or {provider_id}",
                 tmpl);
        return -1;
    }
    if (rc != EXPANDED || !alert_topic_name_valid(topic)) {
        snprintf(err, errlen, "'%s' cannot form a Kafka topic name ([A-Za-z0-9._-], at most 249)",
                 tmpl);
        return -1;
    }
    return 0;
}

int alert_routing_set_colour(alert_routing *r, cw_colour c, const char *const *templates,
                             size_t n, char *err, size_t errlen)
{
    if ((unsigned)c >= CW_COLOUR_COUNT) {
        snprintf(err, errlen, "unknown colour");
        return -1;
    }
    if (n > ALERT_MAX_COLOUR_TARGETS) {
        snprintf(err, errlen, "%s: at most %d targets", cw_colour_name(c),
                 ALERT_MAX_COLOUR_TARGETS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (template_check(templates[i], err, errlen) != 0)
            return -1;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(r->colour[c][i], ALERT_TOPIC_MAX, "%s", templates[i]);
    r->colour_count[c] = n;
    return 0;
}

int alert_routing_add_rule_target(alert_routing *r, const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec) {
        snprintf(err, errlen, "'%s': expected RULE=topic", spec);
        return -1;
    }
    size_t rule_len = (size_t)(eq - spec);
    if (rule_len >= ALERT_RULE_MAX) {
        snprintf(err, errlen, "'%s': rule code too long", spec);
        return -1;
    }
    for (size_t i = 0; i < rule_len; i++) {
        char c = spec[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            snprintf(err, errlen, "'%s': a rule code is upper-case letters, digits and '_'",
                     spec);
            return -1;
        }
    }
    if (r->extra_count >= ALERT_MAX_RULE_TARGETS) {
        snprintf(err, errlen, "at most %d rule targets", ALERT_MAX_RULE_TARGETS);
        return -1;
    }
    if (template_check(eq + 1, err, errlen) != 0)
        return -1;
    alert_rule_target *t = &r->extra[r->extra_count++];
    memcpy(t->rule, spec, rule_len);
    t->rule[rule_len] = '\0';
    snprintf(t->target, sizeof(t->target), "%s", eq + 1);
    return 0;
}

static int has_template(const alert_routing *r, cw_colour c, const char *tmpl)
{
    for (size_t i = 0; i < r->colour_count[c]; i++)
        if (strcmp(r->colour[c][i], tmpl) == 0)
            return 1;
    return 0;
}

int alert_routing_check_contract(const alert_routing *r, char *err, size_t errlen)
{
    for (int c = 0; c < CW_COLOUR_COUNT; c++) {
        const char *need[3] = {CW_TOPIC_ALERTS_ALL, CW_TOPIC_ALERTS_STREET_TEMPLATE,
                               c == CW_COLOUR_RED ? CW_TOPIC_ALERTS_COMMAND : NULL};
        for (size_t i = 0; i < 3; i++) {
            if (need[i] != NULL && !has_template(r, (cw_colour)c, need[i])) {
                snprintf(err, errlen, "%s alerts must go to %s (docs/design.md §4.2)",
                         cw_colour_name((cw_colour)c), need[i]);
                return -1;
            }
        }
    }
    return 0;
}

static int listed(char list[][ALERT_TOPIC_MAX], size_t n, const char *topic)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], topic) == 0)
            return 1;
    return 0;
}

static void add_target(alert_targets *out, const char *tmpl, const alert_place *p)
{
    char topic[ALERT_TOPIC_MAX];
    expansion rc = expand(tmpl, p, topic, sizeof(topic));
    if (rc == EXPANDED && alert_topic_name_valid(topic)) {
        if (!listed(out->topics, out->count, topic) && out->count < ALERT_MAX_TARGETS)
            snprintf(out->topics[out->count++], ALERT_TOPIC_MAX, "%s", topic);
        return;
    }
    /* Report what it would have been; a name too long is cut. */
    if (rc != EXPANDED)
        snprintf(topic, sizeof(topic), "%s", tmpl);
    if (!listed(out->unroutable, out->unroutable_count, topic) &&
        out->unroutable_count < ALERT_MAX_TARGETS)
        snprintf(out->unroutable[out->unroutable_count++], ALERT_TOPIC_MAX, "%s", topic);
}

void alert_route(const alert_routing *r, const char *rule, cw_colour c, const alert_place *p,
                 alert_targets *out)
{
    out->count = 0;
    out->unroutable_count = 0;
    if ((unsigned)c >= CW_COLOUR_COUNT)
        return;
    for (size_t i = 0; i < r->colour_count[c]; i++)
        add_target(out, r->colour[c][i], p);
    for (size_t i = 0; i < r->extra_count; i++)
        if (strcmp(r->extra[i].rule, rule) == 0)
            add_target(out, r->extra[i].target, p);
}
