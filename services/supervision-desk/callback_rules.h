/* Which finalized orders the street calls back (Sanmen: every day's
 * service data is called back; Wuhan, Benxi: telephone call-backs), as a
 * pure, deterministic sample: a VALID order is drawn when its draw — the
 * first 8 bytes of SHA-256(seed, order id) as a fraction of 2^64 — is below
 * desk.callback_share (5 %); and each caregiver has at least one drawn
 * order per week (Monday to Sunday, UTC+8 service days): when none of a
 * week's VALID orders fell below the share, the one with the smallest draw
 * is taken. The draw depends on the order id alone, so the list is the same
 * however and whenever the orders were read; a day's list is complete once
 * every order of its week is final. */
#ifndef DESK_CALLBACK_RULES_H
#define DESK_CALLBACK_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "supervision-desk/case_record.h"

/* The order's draw in [0, 1). */
double desk_callback_draw(uint64_t seed, const char *order_id);

/* The week (days since the epoch of its Monday) of a YYYY-MM-DD service
 * day; -1 when the day is malformed. */
int64_t desk_callback_week(const char *service_day);

/* Marks in picked[i] (0/1) which of orders[0..n) are drawn. */
void desk_callback_sample(const desk_order *orders, size_t n, uint64_t seed, double share,
                          unsigned char *picked);

#endif
