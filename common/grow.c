#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

int cw_grow(void **items, size_t *cap, size_t count, size_t size, size_t first)
{
    if (count < *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : first;
    if (n <= count || n > SIZE_MAX / size)
        return -1;
    void *p = realloc(*items, n * size);
    if (!p)
        return -1;
    *items = p;
    *cap = n;
    return 0;
}
