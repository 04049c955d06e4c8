/* An elder's availability (docs/design.md §4.1 ELDER_UNAVAILABLE): the periods the
 * registry posted (ElderStatusChanged: ACTIVE, HOSPITALIZED or DECEASED
 * from `from`, until `to` when given) and what they say of one instant.
 *
 * Which record speaks for instant t, as known at instant known_by: of the
 * records received by known_by (received_at <= known_by) whose period holds
 * t (from <= t, and t < to when there is a `to`), the one with the latest
 * `from`; on a tie the one received last, then the graver status. None:
 * ACTIVE. So a discharge is an ACTIVE record from the day of discharge (or
 * a `to` on the stay), a later record corrects an earlier one, and death
 * lasts until a record says otherwise. known_by makes the answer depend on
 * the records alone, never on when a service happened to read them: a check-
 * in is judged with the periods received by its own receipt, an unvisited
 * order with those received by its no-show deadline.
 *
 * Redis keeps an elder's records as a hash CW_KEY_ELDER_STATUS, field
 * "<from>|<status>|<to or ->", value "<received_at>" (the first receipt of
 * the same period). Pure, but for the cw_state_* of reference_store.h. */
#ifndef CW_ELDER_STATUS_H
#define CW_ELDER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "avro_records.h" /* cw_elder_status: ACTIVE < HOSPITALIZED < DECEASED, the graver last */


typedef struct {
    cw_elder_status status;
    int64_t from;
    int has_to;
    int64_t to;
    int64_t received_at;
} cw_elder_period;


/* The status at t of the periods received by known_by (see above). */
cw_elder_status cw_elder_status_at(const cw_elder_period *periods, size_t n, int64_t t,
                                   int64_t known_by);

/* The Redis field and value of a period. 0, or -1 when they do not fit. */
int cw_elder_period_field(const cw_elder_period *p, char *buf, size_t len);
int cw_elder_period_value(const cw_elder_period *p, char *buf, size_t len);
/* A period from its field and value. 0, or -1 when malformed. */
int cw_elder_period_parse(const char *field, const char *value, cw_elder_period *out);

#endif
