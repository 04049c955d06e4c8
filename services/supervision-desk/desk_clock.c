#include "supervision-desk/desk_clock.h"

int desk_clock_init(desk_clock *k, int count, int64_t lateness_ms, int64_t quiet_ms)
{
    if (count < 0 || count > DESK_CLOCK_MAX_PARTITIONS)
        return -1;
    k->count = count;
    k->lateness_ms = lateness_ms;
    k->quiet_ms = quiet_ms;
    for (int p = 0; p < DESK_CLOCK_MAX_PARTITIONS; p++) {
        k->clock[p] = INT64_MIN;
        k->position[p] = 0;
        k->end[p] = -1;
        k->last_message_ms[p] = INT64_MIN;
    }
    return 0;
}

void desk_clock_read(desk_clock *k, int p, int64_t offset, int64_t at, int64_t now_ms)
{
    if (p < 0 || p >= k->count)
        return;
    if (at > k->clock[p])
        k->clock[p] = at;
    if (offset + 1 > k->position[p])
        k->position[p] = offset + 1;
    k->last_message_ms[p] = now_ms;
}

void desk_clock_set_ends(desk_clock *k, int p, int64_t position, int64_t end)
{
    if (p < 0 || p >= k->count)
        return;
    if (position > k->position[p])
        k->position[p] = position;
    if (end >= 0)
        k->end[p] = end;
}

static int caught_up(const desk_clock *k, int p, int64_t now_ms)
{
    int quiet = k->last_message_ms[p] == INT64_MIN || now_ms - k->last_message_ms[p] >= k->quiet_ms;
    return quiet && k->end[p] >= 0 && k->position[p] >= k->end[p];
}

int64_t desk_clock_watermark(const desk_clock *k, int64_t now_ms)
{
    int64_t lowest = INT64_MAX, highest = INT64_MIN;
    for (int p = 0; p < k->count; p++) {
        if (k->clock[p] > highest)
            highest = k->clock[p];
        if (!caught_up(k, p, now_ms) && k->clock[p] < lowest)
            lowest = k->clock[p];
    }
    int64_t wm = lowest == INT64_MAX ? highest : lowest;
    if (wm == INT64_MIN)
        return INT64_MIN;
    return wm - k->lateness_ms;
}
