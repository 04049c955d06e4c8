/* UNDER_SERVED (docs/design.md §4.1; seed 000 §1.2 每月不少于4次、每次不少于1小时):
 * per elder and UTC+8 calendar month, once the month's orders are final,
 * fewer VALID orders than the elder's visits_per_month, or a VALID visit
 * shorter than minutes_per_visit. Pure: the finalized orders and the
 * watermark come as parameters; nothing is sent.
 *
 * When. Month M is judged when the watermark reaches its cutoff
 * C(M) = 00:00 UTC+8 of the first day of the next month + lag days (3 by
 * default, like the T+3 statement of M's last day: every evidence window of
 * the month has closed), with the orders of M (by service day) finalized
 * before C(M). An order finalized later does not change the judgment; the
 * month is judged once. Only elders with at least one order of the month
 * read (valid, invalid or cancelled) are judged.
 *
 * The duty (visits_per_month, minutes_per_visit) is what the ledger-writer
 * stamped on the elder's order of the month finalized last (ties: the
 * larger order id); a duty of 0 is none.
 *
 * Restart. The scheduler publishes the verdicts in the transaction of the
 * advance that passed C(M), with the statements and settlements; a month
 * whose cutoff is not after the latest statement's publication or
 * settlement's creation restored from the payment topics was judged before
 * the restart and is not judged again (pay_months_judged_through). A month
 * judged in a transaction that published neither may be judged again after
 * a restart: the same check ids and verdicts.
 *
 * Who frees: pay_months_free frees the months and their entries; verdicts
 * are appended to a caller's array (owned by the caller). */
#ifndef PAY_SERVICE_MONTHS_H
#define PAY_SERVICE_MONTHS_H

#include <stddef.h>
#include <stdint.h>

#include "payment-scheduler/payment_rules.h"

typedef struct {
    char elder_id[PAY_ID_MAX + 1];
    int64_t month_first_day; /* days since 1970-01-01 (UTC+8 calendar) */
    int32_t orders, valid_orders, short_valid_orders;
    int32_t visits_per_month, minutes_per_visit; /* the duty; 0: none */
    int under_served;                            /* the verdict: orange */
    int64_t at;                                  /* C(M), event time */
} pay_month_verdict;

/* An order as UNDER_SERVED reads it; strings borrowed for the call. */
typedef struct {
    const char *order_id, *elder_id;
    int64_t service_day;
    int valid;                 /* VALID */
    int has_duration;
    int32_t duration_minutes;
    int32_t visits_per_month, minutes_per_visit; /* 0: not known */
    int64_t finalized_at;
} pay_month_order;

typedef struct pay_months pay_months;

/* NULL when out of memory. */
pay_months *pay_months_new(int utc_offset_minutes, int lag_days);
void pay_months_free(pay_months *m);

/* The verdict's rule: orange when duty.visits > 0 and valid < visits, or
 * duty.minutes > 0 and some valid visit was shorter. */
int pay_under_served(int32_t valid, int32_t short_valid, int32_t visits_per_month,
                     int32_t minutes_per_visit);

/* The cutoff C(M) of the month holding service_day. */
int64_t pay_month_cutoff(const pay_months *m, int64_t service_day);

/* Counts an order read (not a duplicate), unless its month is judged
 * already or it was finalized at or after the cutoff. 0, or -1 (memory, or
 * an elder id longer than PAY_ID_MAX). */
int pay_months_note(pay_months *m, const pay_month_order *o);

/* Months whose cutoff is at or before t count as judged (a restart). */
void pay_months_judged_through(pay_months *m, int64_t t);

/* The earliest cutoff of a month not judged yet, or INT64_MAX. */
int64_t pay_months_next_due(const pay_months *m);

/* Judges every month whose cutoff the watermark has reached, appending one
 * verdict per elder of the month (months in order, elders by id) to
 * *out (grown with realloc; *count and *cap updated). 0, or -1 (memory). */
int pay_months_advance(pay_months *m, int64_t watermark, pay_month_verdict **out,
                       size_t *count, size_t *cap);

#endif
