/* The payment-scheduler: pays only for valid visits, exactly once.
 *
 * Input:  orders.finalized (OrderFinalized, keyed by order_id),
 *         ref.contracts (Contract) and, with stream.wait_for_ledger,
 *         ledger.checkpoints (LedgerCheckpoint). Output: payments.statements
 *         (DailyStatement), payments.instructions (PaymentInstruction),
 *         alerts.finance (the budget alerts), visit.checks (UNDER_SERVED)
 *         and dead letters on dlq.payment-scheduler.
 *
 * Who does what (it keeps nothing in Redis: what it has paid is on Kafka):
 *   main.c             the options (--run, --out), start and end; wiring only
 *   scheduler.c        the streaming service (pay_serve): the restore from
 *                      the topics, then consume and publish in Kafka
 *                      transactions; the watermark's queries to the broker
 *   batch_run.c        `--run PERIOD`, the batch job (pay_batch_run) and
 *                      its report files
 *   pay_config.c       the configuration keys, read once into pay_settings
 *   payment_records.c  the records read (the generated readers) and built
 *                      (the generated writers), in one place
 *   payment_state.c    the payment run as a state machine (pure): statements,
 *                      settlements, corrections
 *   payment_rules.c    the formulas and the watermark (pure)
 *   service_months.c   UNDER_SERVED per elder and month (pure)
 *   ledger_progress.c  how far the ledger's promise reaches (pure)
 *   report.c           the finance report of a run, rendered (pure)
 *
 * Ownership: pay_serve's scheduler owns its pay_state, outbox and
 * pay_output for the life of the process (rebuilt at every restore); the
 * state appends its outputs to a pay_output its caller owns
 * (pay_output_free); a pay_order's strings borrow from the decoded value
 * pay_read_order leaves, which the caller releases (avro_value_decref).
 *
 * Event time. finalized_at is the event-time instant an order became final
 * (the ledger-writer never puts the wall clock there). Each partition of
 * orders.finalized has a clock, the largest finalized_at read from it; the
 * watermark is the smallest partition clock minus
 * stream.allowed_lateness_minutes, so a statement instant is passed only
 * once every partition has passed it, however fast each one is read. A
 * partition that is caught up follows the largest clock instead (and in
 * time.mode live the wall clock too), so an idle partition does not hold
 * the others back. Caught up means quiet (no record from it for
 * stream.quiet_partition_ms) and read to its end; that end is the one the
 * client cached from its last fetch, except that before following would
 * pass the next statement instant it is asked of the broker (the cached end
 * can be stale, and a record already on the broker must not become a late
 * adjustment). payment_rules.h has the rules, scheduler.c the queries. At
 * the end of the restore every partition has been read to the end the
 * broker gave, and all count as caught up.
 *
 * That watermark still depends on timing: when a checker or the
 * ledger-writer lags, the ledger goes on finalizing other orders with later
 * finalized_at, so the partitions pass T(D) while orders of day D are still
 * to come. So with stream.wait_for_ledger (the default) the watermark is
 *
 *   min(the partition watermark above, G)
 *
 * where G is the ledger's promise (ledger_progress.h): the largest
 * finalized_through of the checkpoints read on ledger.checkpoints whose
 * tree_size <= P, P being the length of the prefix [0, P) of ledger
 * indexes all read on orders.finalized; INT64_MIN (nothing due) until
 * there is one. Every order with finalized_at <= G is among those entries,
 * so a statement is published only once every order it can count has been
 * read, and which statement counts an order depends on the records alone.
 * G only holds statements back, never brings them forward; in time.mode
 * live the ledger's finalized_through follows the wall clock. Without
 * stream.wait_for_ledger (an orders.finalized written without a ledger)
 * ledger.checkpoints is not read and ledger indexes are not looked at.
 * `--run` is unchanged: it reads everything, then advances once.
 *
 * Statements and settlements come due by the watermark; they carry
 * deterministic ids and event-time instants (published_at = T(D),
 * created_at = T(period_end), the PREPAY the contract's updated_at).
 *
 * Exactly once. What has been paid is what payments.* hold; nothing else
 * is kept, not in Redis nor in files:
 *
 *  1. init_transactions with stream.transactional_id fences any earlier
 *     instance: its open transaction is aborted (or its commit completed)
 *     and its later writes fail. From then on this process is the only
 *     writer of payments.* and of these dead letters.
 *  2. Restore: read payments.instructions, payments.statements and
 *     dlq.payment-scheduler to their ends (read_committed: only committed
 *     transactions), then every contract, then all of orders.finalized from
 *     the beginning to its current end (ledger indexes included: P), then
 *     ledger.checkpoints likewise (G), and rebuild the state from them
 *     (payment_state.h, "Restart"): an order is counted by the published
 *     statement that covers it, or pending; a record without a dead letter
 *     that needs one gets it now. Committed offsets are not relied on (they
 *     expire in an idle group), so the state is a function of the topics
 *     alone.
 *  3. Stream: consume from where the restore stopped; per batch, everything
 *     the batch publishes (statements, instructions, dead letters) and the
 *     consumer positions (orders.finalized, ledger.checkpoints) go into one
 *     transaction. A checkpoint that does not decode, an order or checkpoint
 *     whose ledger index or tree size is out of range, go to the dead
 *     letters.
 *
 * A crash anywhere leaves each transaction committed whole or not at all;
 * the restart's restore sees exactly the committed ones, never publishes a
 * statement for a day at or before the last published one nor an
 * instruction already there, and recomputes all that was lost from the
 * input. A failed commit (aborted transaction) is handled the same way: the
 * state is rebuilt from the topics. Duplicated OrderFinalized records
 * (same order_id) count once.
 *
 * One instance runs per transactional id: the state of a contract spans all
 * partitions of orders.finalized, so the consumer assigns them all itself
 * (no group rebalancing); a second instance fences the first, which exits. */
#ifndef PAYMENT_SCHEDULER_H
#define PAYMENT_SCHEDULER_H

#include "config.h"

/* The name of the service: its logs, its dead letters (dlq.<name>), the
 * checker of its UNDER_SERVED CheckResults. */
#define PAY_SERVICE "payment-scheduler"

/* scheduler.c: runs until shutdown is requested. Returns the process exit
 * code: 0 clean stop, 1 fenced by another instance or a runtime failure,
 * 2 bad configuration. */
int pay_serve(const cw_config *cfg);

#endif
