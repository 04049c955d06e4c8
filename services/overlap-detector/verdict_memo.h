/* The kept verdicts (cw:ov:memo:<check_id>, overlap_store.h): a verdict
 * that depends on the order records are processed in is kept the first
 * time it is settled, so that a replay repeats it. Its text is
 * "<OUTCOME>|<measured, -1 when none>|<other order>|<origin>". Pure. */
#ifndef OVERLAP_VERDICT_MEMO_H
#define OVERLAP_VERDICT_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "check_result.h"
#include "overlap-detector/overlap_rules.h"

#define OVERLAP_ORIGIN_MAX 160
#define OVERLAP_MEMO_MAX 400

typedef struct {
    cw_verdict v;
    char other[OVERLAP_ID_MAX]; /* the order it overlaps; "" when none */
    /* What settled the verdict: "<topic>:<partition>:<offset>" of the
     * record, or "timer:<member>". The freeze a red verdict causes is
     * applied again when the same record is replayed after a crash (its
     * later records are replayed too, an unfreeze among them), but not for
     * a duplicate of the record further down the stream, which would
     * freeze again a caregiver unfrozen since. */
    char origin[OVERLAP_ORIGIN_MAX];
} overlap_memo;

/* The stored text of m. 0, or -1 when it does not fit in len. */
int overlap_memo_format(const overlap_memo *m, char *buf, size_t len);

/* A kept verdict into m: its outcome and measured value (the rest of m->v
 * is left as it is), other and origin ("" for one kept before origins
 * were). 0, or -1 when stored is not that. */
int overlap_memo_parse(const char *stored, overlap_memo *m);

/* The origins: of a record, and of a timer. */
void overlap_origin_of_record(const char *topic, int partition, int64_t offset, char *buf,
                              size_t len);
void overlap_origin_of_timer(const char *member, char *buf, size_t len);

#endif
