/* One alert per (order, rule), however often its check is re-emitted, and
 * an optional suppression window per caregiver and rule. Pure: the caller
 * reads and writes the state in Redis (claims.h) and asks here what to do.
 *
 * The state of one (order, rule) is its claim: the position of the message
 * that first raised it ("<topic>:<partition>:<offset>") and what became of
 * it:
 *   P  pending    claimed, the alert is being produced
 *   D  delivered  the alert was acknowledged by the broker
 *   S  suppressed inside the suppression window; no alert
 * A message meets one of these cases (dedup_decide):
 *   no claim                      -> NEW: claim P, produce (or WINDOW: claim S)
 *   claim of this message, P      -> RETRY: it crashed or stopped before the
 *                                    ack; produce again (same alert id)
 *   claim of this message, D      -> DELIVERED: read again after an offset
 *                                    reset; nothing
 *   claim of this message, S      -> WINDOW: decided before; nothing
 *   claim of another message      -> DUPLICATE: a re-emitted check; nothing
 * Claims rebuilt from alerts.all after a Redis loss carry that topic's
 * position, which no input message has, so every input meets DUPLICATE.
 *
 * The window: a new alert is suppressed when the last alert raised for the
 * same caregiver and rule was for another order and its event time is less
 * than window_ms away (either side). The last alert kept is the one with the
 * largest event time. */
#ifndef ALERT_DEDUP_H
#define ALERT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

/* A Kafka topic name (249), two numbers and separators. */
#define ALERT_POSITION_MAX 300
#define ALERT_ORDER_MAX 65 /* ids are 1..64 characters */
/* A claim's text: position, '|', state. */
#define ALERT_CLAIM_TEXT_MAX (ALERT_POSITION_MAX + 3)
/* A last alert's text: at, '|', order id. */
#define ALERT_LAST_TEXT_MAX (24 + ALERT_ORDER_MAX)

typedef enum {
    ALERT_CLAIM_PENDING = 'P',
    ALERT_CLAIM_DELIVERED = 'D',
    ALERT_CLAIM_SUPPRESSED = 'S'
} alert_claim_state;

typedef struct {
    char position[ALERT_POSITION_MAX];
    alert_claim_state state;
} alert_claim;

typedef struct {
    int64_t at;
    char order_id[ALERT_ORDER_MAX];
} alert_last;

/* "<topic>:<partition>:<offset>" into buf. 0, or -1 when it does not fit. */
int alert_position_format(char *buf, size_t len, const char *topic, int partition,
                          int64_t offset);

/* Claim text "<position>|<state>". format: 0, or -1 when it does not fit.
 * parse: 0, or -1 for text that is not a claim. */
int alert_claim_format(const alert_claim *c, char *buf, size_t len);
int alert_claim_parse(const char *text, alert_claim *out);

/* Last-alert text "<at>|<order_id>". Same conventions. */
int alert_last_format(const alert_last *l, char *buf, size_t len);
int alert_last_parse(const char *text, alert_last *out);

typedef struct {
    int has_claim;
    alert_claim claim;
    int has_last;
    alert_last last;
    const char *position; /* of this message */
    const char *order_id;
    int64_t at;        /* event time of what was judged */
    int64_t window_ms; /* 0: no window for this alert */
} alert_dedup_input;

typedef enum {
    ALERT_DEDUP_NEW = 0,
    ALERT_DEDUP_RETRY,
    ALERT_DEDUP_WINDOW,
    ALERT_DEDUP_DELIVERED,
    ALERT_DEDUP_DUPLICATE
} alert_dedup_action;

typedef struct {
    alert_dedup_action action;
    int produce;      /* NEW, RETRY */
    int write_claim;  /* no claim yet: write `claim` (only if still absent) */
    alert_claim claim;
    int write_last;   /* NEW raising the window's last alert: write `last` */
    alert_last last;
} alert_dedup_decision;

void alert_dedup_decide(const alert_dedup_input *in, alert_dedup_decision *out);

/* "new", "retry", "window", "delivered", "duplicate" (metric labels). */
const char *alert_dedup_action_name(alert_dedup_action a);

#endif
