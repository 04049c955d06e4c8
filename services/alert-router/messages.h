/* The human-readable text of an alert, in Chinese and English: one template
 * per rule code of docs/design.md §4 (and CAREGIVER_FROZEN), filled with the
 * caregiver, the order, the measured value and the threshold, then a
 * sentence with the elder and the order's schedule:
 *
 *   护理员 CG05 在订单 O-TRAVEL-B 签到时移动速度 120.0 km/h，超过 80 km/h（不可能的行程）。
 *   老人 E012，预约 2024-07-08 10:15，60 分钟。
 *
 * An unknown rule code, or a rule whose values are missing, gets a generic
 * sentence naming the rule. Pure. */
#ifndef ALERT_MESSAGES_H
#define ALERT_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

/* Room for the longest message with 64-character ids. */
#define ALERT_MESSAGE_MAX 1024

#define ALERT_RULE_CAREGIVER_FROZEN "CAREGIVER_FROZEN"

typedef struct {
    const char *rule;
    const char *caregiver_id;
    const char *order_id;
    const char *elder_id;
    int has_measured;
    double measured;
    int has_threshold;
    double threshold;
    const char *unit;        /* the CheckResult's unit ("score", "m"...); may be NULL */
    int64_t scheduled_start; /* ms */
    int scheduled_minutes;
    int utc_offset_minutes;  /* how the schedule is shown (480: UTC+8) */
    /* CAREGIVER_FROZEN: the freeze's reason ("SCHEDULE_OVERLAP on order
     * O-1"); its first word names the rule that froze. NULL otherwise. */
    const char *reason;
} alert_message_input;

/* Writes both messages (NUL-terminated, valid UTF-8). 0, or -1 when a
 * buffer is too small (nothing partial is left: the buffer holds ""). */
int alert_messages(const alert_message_input *in, char *zh, size_t zh_len, char *en,
                   size_t en_len);

/* 1 when the rule code has a template of its own. */
int alert_rule_known(const char *rule);

/* The rule's short title ("不可能的行程", "impossible travel"); the code
 * itself for an unknown rule. */
const char *alert_rule_title_zh(const char *rule);
const char *alert_rule_title_en(const char *rule);

#endif
