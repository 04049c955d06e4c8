/* common/state: cw_watermark, the pure watermark of one input partition.
 * Backlog: only the partition's own clock. Caught up: the later of the
 * partition and service-wide clocks, and in live mode the wall clock too.
 * The allowed lateness is subtracted in every case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "event_clock.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
/* 2024-06-01T10:00:00Z */
#define T0 1717236000000LL
#define LATE (5 * MIN_MS)

enum { BACKLOG = 0, CAUGHT_UP = 1 };
enum { REPLAY = 0, LIVE = 1 };

/* ---- backlog ------------------------------------------------------------- */

static void test_backlog_ignores_global_and_wall_clock(void **state)
{
    (void)state;
    int64_t p = T0, g = T0 + 6 * HOUR_MS, now = T0 + 48 * HOUR_MS;
    assert_int_equal(cw_watermark(p, g, BACKLOG, now, LIVE, LATE), T0 - LATE);
    assert_int_equal(cw_watermark(p, g, BACKLOG, now, REPLAY, LATE), T0 - LATE);
}

static void test_backlog_partition_ahead_of_global(void **state)
{
    (void)state;
    int64_t p = T0 + HOUR_MS, g = T0;
    assert_int_equal(cw_watermark(p, g, BACKLOG, T0 - HOUR_MS, LIVE, LATE), p - LATE);
}

static void test_backlog_empty_partition(void **state)
{
    (void)state;
    /* Nothing seen yet: the watermark stays before every event. */
    assert_int_equal(cw_watermark(0, T0, BACKLOG, T0 + HOUR_MS, LIVE, LATE), -LATE);
}

/* ---- caught up, replay --------------------------------------------------- */

static void test_caught_up_uses_global_when_later(void **state)
{
    (void)state;
    int64_t p = T0, g = T0 + 2 * HOUR_MS;
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, 0, REPLAY, LATE), g - LATE);
}

static void test_caught_up_uses_partition_when_later(void **state)
{
    (void)state;
    int64_t p = T0 + 2 * HOUR_MS, g = T0;
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, 0, REPLAY, LATE), p - LATE);
}

static void test_caught_up_one_ms_difference(void **state)
{
    (void)state;
    assert_int_equal(cw_watermark(T0, T0 + 1, CAUGHT_UP, 0, REPLAY, LATE), T0 + 1 - LATE);
    assert_int_equal(cw_watermark(T0 + 1, T0, CAUGHT_UP, 0, REPLAY, LATE), T0 + 1 - LATE);
    assert_int_equal(cw_watermark(T0, T0, CAUGHT_UP, 0, REPLAY, LATE), T0 - LATE);
}

static void test_replay_never_uses_wall_clock(void **state)
{
    (void)state;
    int64_t p = T0, g = T0 + HOUR_MS, now = T0 + 72 * HOUR_MS;
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, now, REPLAY, LATE), g - LATE);
    assert_int_equal(cw_watermark(p, g, BACKLOG, now, REPLAY, LATE), p - LATE);
}

/* ---- caught up, live ----------------------------------------------------- */

static void test_live_caught_up_uses_wall_clock_when_later(void **state)
{
    (void)state;
    int64_t p = T0, g = T0 + HOUR_MS, now = T0 + 3 * HOUR_MS;
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, now, LIVE, LATE), now - LATE);
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, g + 1, LIVE, LATE), g + 1 - LATE);
}

static void test_live_caught_up_wall_clock_behind_global(void **state)
{
    (void)state;
    int64_t p = T0, g = T0 + HOUR_MS;
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, g - 1, LIVE, LATE), g - LATE);
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, g, LIVE, LATE), g - LATE);
}

static void test_live_caught_up_wall_clock_behind_partition(void **state)
{
    (void)state;
    int64_t p = T0 + 2 * HOUR_MS, g = T0 + HOUR_MS;
    assert_int_equal(cw_watermark(p, g, CAUGHT_UP, T0, LIVE, LATE), p - LATE);
}

/* A quiet partition that has seen nothing still advances once caught up. */
static void test_live_caught_up_quiet_partition(void **state)
{
    (void)state;
    assert_int_equal(cw_watermark(0, 0, CAUGHT_UP, T0, LIVE, LATE), T0 - LATE);
    assert_int_equal(cw_watermark(0, T0, CAUGHT_UP, 0, REPLAY, LATE), T0 - LATE);
}

/* ---- lateness ------------------------------------------------------------ */

static void test_lateness_subtracted_in_every_case(void **state)
{
    (void)state;
    int64_t p = T0, g = T0 + HOUR_MS, now = T0 + 2 * HOUR_MS;
    const int64_t lateness[] = {0, 1, LATE, 24 * HOUR_MS};
    for (size_t i = 0; i < sizeof(lateness) / sizeof(lateness[0]); i++) {
        int64_t l = lateness[i];
        assert_int_equal(cw_watermark(p, g, BACKLOG, now, LIVE, l), p - l);
        assert_int_equal(cw_watermark(p, g, BACKLOG, now, REPLAY, l), p - l);
        assert_int_equal(cw_watermark(p, g, CAUGHT_UP, now, REPLAY, l), g - l);
        assert_int_equal(cw_watermark(p, g, CAUGHT_UP, now, LIVE, l), now - l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backlog_ignores_global_and_wall_clock),
        cmocka_unit_test(test_backlog_partition_ahead_of_global),
        cmocka_unit_test(test_backlog_empty_partition),
        cmocka_unit_test(test_caught_up_uses_global_when_later),
        cmocka_unit_test(test_caught_up_uses_partition_when_later),
        cmocka_unit_test(test_caught_up_one_ms_difference),
        cmocka_unit_test(test_replay_never_uses_wall_clock),
        cmocka_unit_test(test_live_caught_up_uses_wall_clock_when_later),
        cmocka_unit_test(test_live_caught_up_wall_clock_behind_global),
        cmocka_unit_test(test_live_caught_up_wall_clock_behind_partition),
        cmocka_unit_test(test_live_caught_up_quiet_partition),
        cmocka_unit_test(test_lateness_subtracted_in_every_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
