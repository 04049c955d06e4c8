/* Which orders the ledger holds, and at which index: an in-memory map from
 * order id to ledger index, rebuilt from the log at start-up. The ledger
 * is the source of truth for "is this order final": Redis can be lost, the
 * log cannot.
 *
 * The index owns copies of the ids it holds; order_index_free frees them. */
#ifndef ORDER_INDEX_H
#define ORDER_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **ids;       /* open addressing; NULL = empty slot */
    uint64_t *values; /* ledger index of ids[i] */
    size_t capacity;  /* a power of two, or 0 */
    size_t count;
} order_index;

/* 1 and *value when present, 0 when not. */
int order_index_get(const order_index *ix, const char *order_id, uint64_t *value);
/* Adds order_id -> value. 0 added, 1 already present (value unchanged),
 * -1 out of memory. */
int order_index_put(order_index *ix, const char *order_id, uint64_t value);
void order_index_free(order_index *ix);

#endif
