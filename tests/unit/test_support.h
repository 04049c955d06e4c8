/* What the unit tests share: the codec's setup for cmocka groups that
 * encode or decode records. Include it after <cmocka.h>. Each test
 * program is one translation unit, so the functions are static. */
#ifndef CW_TEST_SUPPORT_H
#define CW_TEST_SUPPORT_H

#include <stdio.h>

#include "avro_codec.h"

/* Group setup: loads the schemas (cw_avro_init); -1 fails the group. */
static inline int cw_test_setup_codec(void **state)
{
    (void)state;
    char err[256];
    if (cw_avro_init(err, sizeof err) != 0) {
        fprintf(stderr, "cw_avro_init: %s\n", err);
        return -1;
    }
    return 0;
}

/* Group teardown: frees what cw_test_setup_codec loaded. */
static inline int cw_test_teardown_codec(void **state)
{
    (void)state;
    cw_avro_shutdown();
    return 0;
}

#endif
