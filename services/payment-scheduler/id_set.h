/* A set of strings (order ids, dead-letter keys), open addressing. The set
 * owns copies of its strings; pay_idset_free releases them. */
#ifndef PAY_ID_SET_H
#define PAY_ID_SET_H

#include <stddef.h>

typedef struct {
    char **slots;
    size_t capacity; /* a power of two, or 0 before the first add */
    size_t count;
} pay_idset;

/* 1 when added, 0 when already present, -1 out of memory. */
int pay_idset_add(pay_idset *set, const char *id);
int pay_idset_contains(const pay_idset *set, const char *id);
void pay_idset_free(pay_idset *set);

#endif
