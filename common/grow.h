/* Room for one more item in a growable array the caller owns (items,
 * cap), doubling it from `first`: the one realloc pattern of the services'
 * in-memory books. */
#ifndef CW_GROW_H
#define CW_GROW_H

#include <stddef.h>

/* Makes *items hold at least count + 1 items of size bytes. 0, or -1 out
 * of memory (*items and *cap unchanged). */
int cw_grow(void **items, size_t *cap, size_t count, size_t size, size_t first);

#endif
