#include "id_set.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits. */
static uint64_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t find_slot(char *const *slots, size_t capacity, const char *id)
{
    size_t i = (size_t)hash(id) & (capacity - 1);
    while (slots[i] != NULL && strcmp(slots[i], id) != 0)
        i = (i + 1) & (capacity - 1);
    return i;
}

static int grow(pay_idset *set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 64;
    char **slots = calloc(capacity, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < set->capacity; i++)
        if (set->slots[i] != NULL)
            slots[find_slot(slots, capacity, set->slots[i])] = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->capacity = capacity;
    return 0;
}

int pay_idset_add(pay_idset *set, const char *id)
{
    /* Kept under 70% full so probes stay short. */
    if ((set->count + 1) * 10 > set->capacity * 7 && grow(set) != 0)
        return -1;
    size_t i = find_slot(set->slots, set->capacity, id);
    if (set->slots[i] != NULL)
        return 0;
    set->slots[i] = strdup(id);
    if (set->slots[i] == NULL)
        return -1;
    set->count++;
    return 1;
}

int pay_idset_contains(const pay_idset *set, const char *id)
{
    if (set->capacity == 0)
        return 0;
    return set->slots[find_slot(set->slots, set->capacity, id)] != NULL;
}

void pay_idset_free(pay_idset *set)
{
    for (size_t i = 0; i < set->capacity; i++)
        free(set->slots[i]);
    free(set->slots);
    memset(set, 0, sizeof(*set));
}
