/* The desk's event clock: a watermark over the partitions of visit.checks
 * (every verdict of the district, flagged or not, so time moves on while
 * nothing is flagged). Each partition's clock is the largest `at` of the
 * verdicts on visit events read from
 * it; the watermark is the smallest partition clock minus the allowed
 * lateness, so a deadline is passed only once every partition has passed it,
 * however fast each is read. A partition that is caught up (read to the end
 * the client knows of, and quiet for quiet_ms of wall time) follows the
 * others instead of holding them back; when every partition is caught up,
 * the watermark is the largest clock. INT64_MIN until a clock is known.
 *
 * Pure: wall times are passed in. The caller owns the struct. */
#ifndef DESK_CLOCK_H
#define DESK_CLOCK_H

#include <stdint.h>

#define DESK_CLOCK_MAX_PARTITIONS 64

typedef struct {
    int count;                                   /* partitions 0..count-1 */
    int64_t clock[DESK_CLOCK_MAX_PARTITIONS];    /* INT64_MIN: nothing read */
    int64_t position[DESK_CLOCK_MAX_PARTITIONS]; /* next offset to read */
    int64_t end[DESK_CLOCK_MAX_PARTITIONS];      /* end offset, as last known */
    int64_t last_message_ms[DESK_CLOCK_MAX_PARTITIONS];
    int64_t lateness_ms;
    int64_t quiet_ms;
} desk_clock;

/* count partitions (at most DESK_CLOCK_MAX_PARTITIONS); 0 or -1. */
int desk_clock_init(desk_clock *k, int count, int64_t lateness_ms, int64_t quiet_ms);
/* A record of partition p at offset, with event time at (INT64_MIN: a
 * record that moves no time), read at now_ms. */
void desk_clock_read(desk_clock *k, int p, int64_t offset, int64_t at, int64_t now_ms);
/* The partition's position (the client's: past transaction markers too)
 * and end offset as the client knows them; a negative value leaves that one
 * as it was. */
void desk_clock_set_ends(desk_clock *k, int p, int64_t position, int64_t end);
int64_t desk_clock_watermark(const desk_clock *k, int64_t now_ms);

#endif
