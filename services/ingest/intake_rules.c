#include "ingest/intake_rules.h"

#include <string.h>

intake_verdict ingest_rule_late_submission(int64_t at_ms, int64_t received_at_ms,
                                           const intake_thresholds *t)
{
    int64_t delay_ms = received_at_ms - at_ms;
    intake_verdict v = {.rule = "LATE_SUBMISSION",
                        .has_measured = 1,
                        .measured = (double)delay_ms / 60000.0,
                        .has_threshold = 1,
                        .threshold = (double)t->late_submission_ms / 60000.0,
                        .unit = "min"};
    /* Compared in integer milliseconds: 10:00.000 passes, 10:00.001 does not. */
    v.outcome = delay_ms > t->late_submission_ms ? CW_OUTCOME_YELLOW : CW_OUTCOME_PASS;
    return v;
}

static intake_verdict score_verdict(const char *rule, cw_outcome failure, int has_score,
                                    double score, double minimum)
{
    intake_verdict v = {.rule = rule,
                        .has_measured = has_score,
                        .measured = has_score ? score : 0,
                        .has_threshold = 1,
                        .threshold = minimum,
                        .unit = "score"};
    v.outcome = !has_score || score < minimum ? failure : CW_OUTCOME_PASS;
    return v;
}

intake_verdict ingest_rule_face_match(int has_score, double score, const intake_thresholds *t)
{
    return score_verdict("FACE_MISMATCH", CW_OUTCOME_ORANGE, has_score, score, t->face_match_min);
}

intake_verdict ingest_rule_voiceprint(int has_score, double score, const intake_thresholds *t)
{
    return score_verdict("VOICE_UNCONFIRMED", CW_OUTCOME_YELLOW, has_score, score,
                         t->voiceprint_match_min);
}

intake_verdict ingest_rule_photo_reuse(const char *order_id, const char *first_order_id)
{
    intake_verdict v = {.rule = "PHOTO_REUSE", .unit = ""};
    v.outcome = first_order_id && strcmp(first_order_id, order_id) != 0 ? CW_OUTCOME_ORANGE
                                                                           : CW_OUTCOME_PASS;
    return v;
}

intake_verdict ingest_rule_service_items(const char *service_type, const char *const *items,
                                         size_t n)
{
    intake_verdict v = {.rule = "SERVICE_MISMATCH", .has_measured = 1, .measured = (double)n,
                        .unit = "items", .outcome = n > 0 ? CW_OUTCOME_YELLOW : CW_OUTCOME_PASS};
    for (size_t i = 0; i < n; i++)
        if (items[i] != NULL && strcmp(items[i], service_type) == 0)
            v.outcome = CW_OUTCOME_PASS;
    return v;
}

intake_verdict ingest_rule_evidence_reuse(const char *reused_from)
{
    intake_verdict v = {.rule = "EVIDENCE_REUSE", .unit = ""};
    v.outcome = reused_from != NULL ? CW_OUTCOME_ORANGE : CW_OUTCOME_PASS;
    return v;
}
