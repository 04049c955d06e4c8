#include "payment-scheduler/ledger_progress.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"

#define WORD_BITS 64

void pay_ledger_progress_init(pay_ledger_progress *lp)
{
    memset(lp, 0, sizeof(*lp));
    lp->through = INT64_MIN;
}

void pay_ledger_progress_free(pay_ledger_progress *lp)
{
    free(lp->words);
    free(lp->pending);
    pay_ledger_progress_init(lp);
}

/* ---- entries ------------------------------------------------------------- */

static int is_set(const pay_ledger_progress *lp, int64_t index)
{
    int64_t rel = index - lp->base;
    if (rel < 0 || (uint64_t)rel >= (uint64_t)lp->word_count * WORD_BITS)
        return 0;
    return (int)((lp->words[rel / WORD_BITS] >> (rel % WORD_BITS)) & 1u);
}

/* Drops the words wholly below the prefix: nothing below it is looked at
 * again. */
static void compact(pay_ledger_progress *lp)
{
    size_t drop = (size_t)((lp->prefix - lp->base) / WORD_BITS);
    if (drop == 0)
        return;
    if (drop >= lp->word_count) {
        lp->word_count = 0;
    } else {
        memmove(lp->words, lp->words + drop, (lp->word_count - drop) * sizeof(*lp->words));
        lp->word_count -= drop;
    }
    lp->base += (int64_t)drop * WORD_BITS;
}

/* Makes room for index (>= prefix) in the bitset. 0 or -1. */
static int reach(pay_ledger_progress *lp, int64_t index)
{
    size_t need = (size_t)((index - lp->base) / WORD_BITS) + 1;
    if (need <= lp->word_count)
        return 0;
    compact(lp);
    need = (size_t)((index - lp->base) / WORD_BITS) + 1;
    if (need > lp->word_cap) {
        size_t cap = lp->word_cap ? lp->word_cap * 2 : 16;
        while (cap < need)
            cap *= 2;
        uint64_t *w = realloc(lp->words, cap * sizeof(*w));
        if (w == NULL)
            return -1;
        lp->words = w;
        lp->word_cap = cap;
    }
    memset(lp->words + lp->word_count, 0, (need - lp->word_count) * sizeof(*lp->words));
    lp->word_count = need;
    return 0;
}

/* Removes the n first pending checkpoints. */
static void drop_pending(pay_ledger_progress *lp, size_t n)
{
    if (n == 0)
        return; /* also: no array yet */
    memmove(lp->pending, lp->pending + n, (lp->pending_count - n) * sizeof(*lp->pending));
    lp->pending_count -= n;
}

/* After the prefix grew: the pending checkpoints it now covers count. The
 * pending ones all promise more than through, in tree_size order, so the
 * last one covered promises the most. */
static void fold_pending(pay_ledger_progress *lp)
{
    size_t n = 0;
    while (n < lp->pending_count && lp->pending[n].tree_size <= lp->prefix)
        n++;
    if (n == 0)
        return;
    lp->through = lp->pending[n - 1].finalized_through;
    drop_pending(lp, n);
}

pay_ledger_result pay_ledger_see_entry(pay_ledger_progress *lp, int64_t index)
{
    if (index < 0 || index >= PAY_LEDGER_INDEX_LIMIT)
        return PAY_LEDGER_REFUSED;
    if (index < lp->prefix || is_set(lp, index))
        return PAY_LEDGER_TAKEN;
    if (reach(lp, index) != 0)
        return PAY_LEDGER_NOMEM;
    int64_t rel = index - lp->base;
    lp->words[rel / WORD_BITS] |= UINT64_C(1) << (rel % WORD_BITS);
    if (index != lp->prefix)
        return PAY_LEDGER_TAKEN;
    for (;;) {
        int64_t r = lp->prefix - lp->base;
        if ((uint64_t)r >= (uint64_t)lp->word_count * WORD_BITS)
            break;
        if (r % WORD_BITS == 0 && lp->words[r / WORD_BITS] == UINT64_MAX)
            lp->prefix += WORD_BITS;
        else if (is_set(lp, lp->prefix))
            lp->prefix++;
        else
            break;
    }
    if (lp->prefix - lp->base >= (int64_t)lp->word_count * WORD_BITS) {
        /* Everything read is in the prefix: start the bitset afresh. */
        lp->word_count = 0;
        lp->base = lp->prefix - lp->prefix % WORD_BITS;
    } else if ((size_t)((lp->prefix - lp->base) / WORD_BITS) * 2 >= lp->word_count) {
        /* Half of it is behind the prefix: moving the rest down costs no
         * more than the entries that filled that half. */
        compact(lp);
    }
    fold_pending(lp);
    return PAY_LEDGER_TAKEN;
}

/* ---- checkpoints --------------------------------------------------------- */

/* Keeps every other pending checkpoint, the last (the furthest promise)
 * among them. Losing one can only delay G. */
static void thin_pending(pay_ledger_progress *lp)
{
    size_t kept = 0;
    for (size_t i = lp->pending_count % 2 == 0 ? 1 : 0; i < lp->pending_count; i += 2)
        lp->pending[kept++] = lp->pending[i];
    lp->pending_count = kept;
}

static pay_ledger_result add_pending(pay_ledger_progress *lp, int64_t tree_size, int64_t through)
{
    /* first: the first with tree_size >= this one's. The one before it has
     * the largest promise of those covered no later than this one. */
    size_t first = 0;
    while (first < lp->pending_count && lp->pending[first].tree_size < tree_size)
        first++;
    if (first > 0 && lp->pending[first - 1].finalized_through >= through)
        return PAY_LEDGER_TAKEN;
    /* The ones covered no sooner and promising no more are of no use. */
    size_t end = first;
    while (end < lp->pending_count && lp->pending[end].finalized_through <= through)
        end++;
    if (end > first) {
        memmove(lp->pending + first + 1, lp->pending + end,
                (lp->pending_count - end) * sizeof(*lp->pending));
        lp->pending_count -= end - first - 1;
        lp->pending[first] = (pay_ledger_mark){tree_size, through};
        return PAY_LEDGER_TAKEN;
    }
    if (lp->pending_count == PAY_LEDGER_PENDING_MAX) {
        thin_pending(lp);
        return add_pending(lp, tree_size, through);
    }
    if (cw_grow((void **)&lp->pending, &lp->pending_cap, lp->pending_count,
                sizeof(*lp->pending), 8) != 0)
        return PAY_LEDGER_NOMEM;
    memmove(lp->pending + first + 1, lp->pending + first,
            (lp->pending_count - first) * sizeof(*lp->pending));
    lp->pending[first] = (pay_ledger_mark){tree_size, through};
    lp->pending_count++;
    return PAY_LEDGER_TAKEN;
}

pay_ledger_result pay_ledger_see_checkpoint(pay_ledger_progress *lp, int64_t tree_size,
                                            int has_through, int64_t finalized_through)
{
    if (tree_size < 0 || tree_size > PAY_LEDGER_INDEX_LIMIT)
        return PAY_LEDGER_REFUSED;
    if (!has_through || finalized_through <= lp->through)
        return PAY_LEDGER_TAKEN;
    if (tree_size > lp->prefix)
        return add_pending(lp, tree_size, finalized_through);
    lp->through = finalized_through;
    size_t n = 0;
    while (n < lp->pending_count && lp->pending[n].finalized_through <= lp->through)
        n++;
    drop_pending(lp, n);
    return PAY_LEDGER_TAKEN;
}

int64_t pay_ledger_cap(int64_t stream_wm, int64_t through)
{
    return stream_wm < through ? stream_wm : through;
}
