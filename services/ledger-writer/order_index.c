#include "order_index.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bit. */
static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t slot_of(char *const *ids, size_t capacity, const char *id)
{
    size_t mask = capacity - 1;
    size_t i = (size_t)hash_id(id) & mask;
    while (ids[i] != NULL && strcmp(ids[i], id) != 0)
        i = (i + 1) & mask;
    return i;
}

int order_index_get(const order_index *ix, const char *order_id, uint64_t *value)
{
    if (ix->capacity == 0)
        return 0;
    size_t i = slot_of(ix->ids, ix->capacity, order_id);
    if (ix->ids[i] == NULL)
        return 0;
    *value = ix->values[i];
    return 1;
}

static int grow(order_index *ix)
{
    size_t capacity = ix->capacity ? ix->capacity * 2 : 1024;
    char **ids = calloc(capacity, sizeof(*ids));
    uint64_t *values = calloc(capacity, sizeof(*values));
    if (ids == NULL || values == NULL) {
        free(ids);
        free(values);
        return -1;
    }
    for (size_t k = 0; k < ix->capacity; k++) {
        if (ix->ids[k] == NULL)
            continue;
        size_t i = slot_of(ids, capacity, ix->ids[k]);
        ids[i] = ix->ids[k];
        values[i] = ix->values[k];
    }
    free(ix->ids);
    free(ix->values);
    ix->ids = ids;
    ix->values = values;
    ix->capacity = capacity;
    return 0;
}

int order_index_put(order_index *ix, const char *order_id, uint64_t value)
{
    /* Kept at most half full, so probes stay short. */
    if ((ix->count + 1) * 2 > ix->capacity && grow(ix) != 0)
        return -1;
    size_t i = slot_of(ix->ids, ix->capacity, order_id);
    if (ix->ids[i] != NULL)
        return 1;
    char *copy = strdup(order_id);
    if (copy == NULL)
        return -1;
    ix->ids[i] = copy;
    ix->values[i] = value;
    ix->count++;
    return 0;
}

void order_index_free(order_index *ix)
{
    for (size_t i = 0; i < ix->capacity; i++)
        free(ix->ids[i]);
    free(ix->ids);
    free(ix->values);
    memset(ix, 0, sizeof(*ix));
}
