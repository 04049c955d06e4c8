/* A payment run over a period as a batch job:
 *
 *   carewatch-payment-scheduler --run 2024-05 [--out DIR]
 *
 * reads ref.contracts and orders.finalized from the beginning to their
 * current end (read_committed), computes every contract's statements and
 * instructions with the same rules as the streaming service (all records,
 * then one advance to the watermark: largest finalized_at minus the allowed
 * lateness, and the wall clock too in time.mode live) and writes the report
 * of the contracts whose period overlaps PERIOD into DIR:
 *
 *   payments-<PERIOD>.csv      totals by provider
 *   payments-<PERIOD>.html     the page for finance
 *   statements-<PERIOD>.csv    every daily statement
 *   instructions-<PERIOD>.csv  every PREPAY, SETTLEMENT and CLAWBACK
 *
 * It publishes nothing: the streaming service is the only one that pays.
 * Its instructions equal the ones the service published over the same
 * stream. */
#ifndef PAY_BATCH_RUN_H
#define PAY_BATCH_RUN_H

#include "config.h"

/* Returns the process exit code: 0 done, 1 Kafka or file failure, 2 a bad
 * PERIOD. */
int pay_batch_run(const cw_config *cfg, const char *period, const char *out_dir);

#endif
