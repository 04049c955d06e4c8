/* How far the ledger's promise reaches, as seen from orders.finalized and
 * ledger.checkpoints; pure, without I/O.
 *
 * A LedgerCheckpoint with finalized_through F and tree_size N says: every
 * order the ledger-writer will ever finalize with finalized_at <= F is
 * among its entries [0, N) (ledger_index < N). The scheduler has read every
 * such order once it has read the entries [0, N). So it tracks
 *
 *   P = the length of the prefix [0, P) of ledger indexes all read on
 *       orders.finalized (a republished entry repeats its index: a
 *       duplicate changes nothing), and
 *   G = the largest F among the checkpoints read with N <= P; INT64_MIN
 *       until there is one (a checkpoint whose F is null promises nothing).
 *
 * Then no order with finalized_at <= G is still to come, and the watermark
 * is capped by G (pay_ledger_cap): the ledger may hold a statement back
 * when a checker or the writer lags, never bring it forward. P and G only
 * grow, and depend only on which records were read, not on their order: a
 * checkpoint read before the entries it covers counts once they are read.
 *
 * Memory: seen indexes above P are a bitset that starts at P (the prefix
 * itself takes no room), so it spans the indexes read ahead of a gap. An
 * index of PAY_LEDGER_INDEX_LIMIT or more is refused (no ledger holds 2^31
 * entries; it would otherwise cost up to that many bits). Checkpoints not
 * counting yet (N > P) are kept, those that another one makes useless (a
 * smaller or equal N with a larger or equal F) dropped, and at most
 * PAY_LEDGER_PENDING_MAX of them: beyond that every other one is dropped,
 * which can only make G smaller for a while, never larger.
 *
 *   pay_ledger_progress lp;
 *   pay_ledger_progress_init(&lp);
 *   pay_ledger_see_entry(&lp, ledger_index)          per OrderFinalized
 *   pay_ledger_see_checkpoint(&lp, n, has_f, f)      per LedgerCheckpoint
 *   wm = pay_ledger_cap(stream_wm, lp.through);
 *   pay_ledger_progress_free(&lp);                   the caller owns lp */
#ifndef LEDGER_PROGRESS_H
#define LEDGER_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* Ledger indexes are 0 .. PAY_LEDGER_INDEX_LIMIT - 1; tree sizes 0 ..
 * PAY_LEDGER_INDEX_LIMIT. */
#define PAY_LEDGER_INDEX_LIMIT (INT64_C(1) << 31)
#define PAY_LEDGER_PENDING_MAX 4096

typedef struct {
    int64_t tree_size;
    int64_t finalized_through;
} pay_ledger_mark;

typedef struct {
    int64_t prefix;  /* P */
    int64_t through; /* G; INT64_MIN: nothing promised yet */
    /* Seen indexes from base on: bit i of words[i / 64] is index base + i.
     * base is a multiple of 64, <= prefix. */
    uint64_t *words;
    size_t word_count, word_cap;
    int64_t base;
    /* Checkpoints with tree_size > prefix, by tree_size, both fields
     * strictly increasing. */
    pay_ledger_mark *pending;
    size_t pending_count, pending_cap;
} pay_ledger_progress;

typedef enum {
    PAY_LEDGER_TAKEN = 0,   /* recorded (or a duplicate of what was) */
    PAY_LEDGER_REFUSED = 1, /* out of range: nothing recorded */
    PAY_LEDGER_NOMEM = -1
} pay_ledger_result;

void pay_ledger_progress_init(pay_ledger_progress *lp);
/* Releases what lp holds and leaves it as init does. */
void pay_ledger_progress_free(pay_ledger_progress *lp);

/* An entry of the log was read (OrderFinalized.ledger_index). REFUSED when
 * index < 0 or >= PAY_LEDGER_INDEX_LIMIT. */
pay_ledger_result pay_ledger_see_entry(pay_ledger_progress *lp, int64_t index);

/* A checkpoint was read: tree_size, and finalized_through when has_through.
 * REFUSED when tree_size < 0 or > PAY_LEDGER_INDEX_LIMIT. Without
 * finalized_through it is TAKEN and changes nothing. */
pay_ledger_result pay_ledger_see_checkpoint(pay_ledger_progress *lp, int64_t tree_size,
                                            int has_through, int64_t finalized_through);

/* The watermark capped by the ledger: min(stream_wm, through). */
int64_t pay_ledger_cap(int64_t stream_wm, int64_t through);

#endif
