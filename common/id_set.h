/* A set of string ids, each with a 64-bit value (the ledger keeps an
 * order's ledger index there; a plain set passes 0): open addressing, kept
 * under 70% full. The set owns copies of its ids; cw_idset_free releases
 * them. A zeroed cw_idset is an empty set. */
#ifndef CW_ID_SET_H
#define CW_ID_SET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **ids;       /* NULL = empty slot */
    uint64_t *values; /* values[i] belongs to ids[i] */
    size_t capacity;  /* a power of two, or 0 before the first add */
    size_t count;
} cw_idset;

/* 1 when added, 0 when already present (its value unchanged), -1 out of
 * memory. */
int cw_idset_add(cw_idset *set, const char *id, uint64_t value);
int cw_idset_contains(const cw_idset *set, const char *id);
/* 1 and *value when present, 0 when not. */
int cw_idset_get(const cw_idset *set, const char *id, uint64_t *value);
void cw_idset_free(cw_idset *set);

#endif
