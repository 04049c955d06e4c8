#include "supervision-desk/callback_rules.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

double desk_callback_draw(uint64_t seed, const char *order_id)
{
    unsigned char in[8 + 64], digest[SHA256_DIGEST_LENGTH];
    size_t len = strlen(order_id);
    if (len > 64)
        len = 64;
    for (int i = 0; i < 8; i++)
        in[i] = (unsigned char)(seed >> (8 * i));
    memcpy(in + 8, order_id, len);
    SHA256(in, 8 + len, digest);
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | digest[i];
    return (double)(x >> 11) / 9007199254740992.0; /* 53 bits: exact in a double */
}

int64_t desk_callback_week(const char *service_day)
{
    int64_t days;
    if (cw_date_parse(service_day, &days) != 0)
        return -1;
    /* 1970-01-01 was a Thursday: Monday is 3 days before it. */
    int64_t since_monday = ((days + 3) % 7 + 7) % 7;
    return days - since_monday;
}

/* Sorting context: qsort has none, and the sample runs under the desk's
 * lock, one at a time. */
static const desk_order *sort_orders;
static const int64_t *sort_week;

static int by_caregiver_week(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(sort_orders[i].subject.caregiver_id, sort_orders[j].subject.caregiver_id);
    if (c != 0)
        return c;
    if (sort_week[i] != sort_week[j])
        return sort_week[i] < sort_week[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

void desk_callback_sample(const desk_order *orders, size_t n, uint64_t seed, double share,
                          unsigned char *picked)
{
    double *draw = calloc(n ? n : 1, sizeof(*draw));
    int64_t *week = calloc(n ? n : 1, sizeof(*week));
    size_t *valid = calloc(n ? n : 1, sizeof(*valid));
    size_t nv = 0;
    memset(picked, 0, n);
    if (!draw || !week || !valid)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (orders[i].status != CW_ORDER_STATUS_VALID)
            continue;
        draw[i] = desk_callback_draw(seed, orders[i].subject.order_id);
        week[i] = desk_callback_week(orders[i].service_day);
        picked[i] = draw[i] < share;
        valid[nv++] = i;
    }
    sort_orders = orders;
    sort_week = week;
    qsort(valid, nv, sizeof(*valid), by_caregiver_week);
    /* Each run of one caregiver's week: its smallest draw when none is
     * picked. */
    for (size_t a = 0; a < nv;) {
        size_t b = a, best = valid[a];
        int any = 0;
        while (b < nv &&
               strcmp(orders[valid[a]].subject.caregiver_id,
                      orders[valid[b]].subject.caregiver_id) == 0 &&
               week[valid[a]] == week[valid[b]]) {
            any |= picked[valid[b]];
            if (draw[valid[b]] < draw[best])
                best = valid[b];
            b++;
        }
        if (!any)
            picked[best] = 1;
        a = b;
    }
done:
    free(draw);
    free(week);
    free(valid);
}
