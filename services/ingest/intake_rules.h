/* Intake checks judged by ingest as an event arrives (docs/design.md §4 and 4.1):
 * LATE_SUBMISSION, FACE_MISMATCH, VOICE_UNCONFIRMED, PHOTO_REUSE, and
 * SERVICE_MISMATCH (seed 000 §1.3 B, 服务项目与需求错配), and for evidence
 * EVIDENCE_REUSE (seed 000 §1.3 C, PS水印照片 / 批量录音剪辑).
 * Pure functions: every input, the receipt time included, is a parameter.
 * Thresholds are crossed only when strictly exceeded. */
#ifndef INGEST_INTAKE_RULES_H
#define INGEST_INTAKE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h" /* cw_outcome */

typedef struct {
    int64_t late_submission_ms; /* default 10 min */
    double face_match_min;      /* default 0.80 */
    double voiceprint_match_min;
    int late_submission_enabled; /* off for historical imports */
} intake_thresholds;

typedef struct {
    const char *rule;
    cw_outcome outcome;
    int has_measured;
    double measured;
    int has_threshold;
    double threshold;
    const char *unit;
} intake_verdict;

/* Yellow when received_at - at exceeds the threshold; measured in minutes. */
intake_verdict ingest_rule_late_submission(int64_t at_ms, int64_t received_at_ms,
                                           const intake_thresholds *t);
/* Orange when the check-in's face score is missing or below the minimum. */
intake_verdict ingest_rule_face_match(int has_score, double score, const intake_thresholds *t);
/* Yellow when the check-out's voiceprint score is missing or below the minimum. */
intake_verdict ingest_rule_voiceprint(int has_score, double score, const intake_thresholds *t);
/* Orange when the photo hash was first used by another order.
 * first_order_id: the order that first claimed this hash (NULL when the event
 * carries no photo). */
intake_verdict ingest_rule_photo_reuse(const char *order_id, const char *first_order_id);
/* Orange when the evidence's photo or recording hash was first used by
 * evidence of another order (reused_from: that order, NULL when both
 * hashes are new or this order's own): the evidence is rejected, it cures
 * nothing. */
intake_verdict ingest_rule_evidence_reuse(const char *reused_from);
/* Yellow when the check-out lists items (n > 0) and none names the
 * order's service_type (exact text: the items a caregiver ticks come from
 * the same list as the order's service): the visit did not do what was
 * ordered. A check-out without items passes. Measured: how many items. */
intake_verdict ingest_rule_service_items(const char *service_type, const char *const *items,
                                         size_t n);

#endif
