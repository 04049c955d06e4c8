#include "id_set.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits. */
static uint64_t hash_id(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t find_slot(char *const *ids, size_t capacity, const char *id)
{
    size_t i = (size_t)hash_id(id) & (capacity - 1);
    while (ids[i] != NULL && strcmp(ids[i], id) != 0)
        i = (i + 1) & (capacity - 1);
    return i;
}

static int grow(cw_idset *set)
{
    size_t capacity = set->capacity ? set->capacity * 2 : 64;
    char **ids = calloc(capacity, sizeof(*ids));
    uint64_t *values = calloc(capacity, sizeof(*values));
    if (ids == NULL || values == NULL) {
        free(ids);
        free(values);
        return -1;
    }
    for (size_t k = 0; k < set->capacity; k++) {
        if (set->ids[k] == NULL)
            continue;
        size_t i = find_slot(ids, capacity, set->ids[k]);
        ids[i] = set->ids[k];
        values[i] = set->values[k];
    }
    free(set->ids);
    free(set->values);
    set->ids = ids;
    set->values = values;
    set->capacity = capacity;
    return 0;
}

int cw_idset_add(cw_idset *set, const char *id, uint64_t value)
{
    if ((set->count + 1) * 10 > set->capacity * 7 && grow(set) != 0)
        return -1;
    size_t i = find_slot(set->ids, set->capacity, id);
    if (set->ids[i] != NULL)
        return 0;
    set->ids[i] = strdup(id);
    if (set->ids[i] == NULL)
        return -1;
    set->values[i] = value;
    set->count++;
    return 1;
}

int cw_idset_get(const cw_idset *set, const char *id, uint64_t *value)
{
    if (set->capacity == 0)
        return 0;
    size_t i = find_slot(set->ids, set->capacity, id);
    if (set->ids[i] == NULL)
        return 0;
    *value = set->values[i];
    return 1;
}

int cw_idset_contains(const cw_idset *set, const char *id)
{
    uint64_t unused;
    return cw_idset_get(set, id, &unused);
}

void cw_idset_free(cw_idset *set)
{
    for (size_t i = 0; i < set->capacity; i++)
        free(set->ids[i]);
    free(set->ids);
    free(set->values);
    memset(set, 0, sizeof(*set));
}
