/* What a service's Redis state covers: a mark per input partition that its
 * state exists, and the input offsets that state reflects. A missing mark
 * or an offset behind the group's makes the stream replay (stream.h). */
#ifndef CW_PARTITION_MARKS_H
#define CW_PARTITION_MARKS_H

#include <stddef.h>
#include <stdint.h>

#include "redis.h"

/* Marks that this service holds state in Redis for one input partition
 * (cw:epoch:<service>:<topic>:<partition>). A missing mark means a first
 * start or a Redis that lost its data: the service must rebuild that state
 * by replaying the partition from the beginning, then set the mark.
 * cw_state_partition_marked: 1 marked, 0 not, -1 Redis error.
 * cw_state_partition_mark: 0 or -1. */
int cw_state_partition_marked(cw_redis *r, const char *service, const char *topic,
                              int partition);
int cw_state_partition_mark(cw_redis *r, const char *service, const char *topic, int partition);

/* The input offsets a service's Redis state reflects: the hash
 * cw:offsets:<service>, field "<topic>:<partition>" = the next offset to
 * handle. The stream writes them after a batch's results are acknowledged
 * and before its offsets are committed, never lowering one. Redis writes
 * land in order (AOF, snapshots), so a stored offset vouches for every
 * state change made before it; after Redis came back older (an old
 * snapshot, a replica that missed writes) the stored offsets are behind the
 * group's committed ones and the stream replays the difference (a
 * partition marked but with no offset stored counts as at its beginning:
 * the mark is set when it is replayed from there).
 * store: 0 or -1. load fills next[i] (-1 where none is stored): 0 or -1. */
int cw_state_offsets_store(cw_redis *r, const char *service, size_t n, const char *const *topics,
                           const int32_t *partitions, const int64_t *next);
int cw_state_offsets_load(cw_redis *r, const char *service, size_t n, const char *const *topics,
                          const int32_t *partitions, int64_t *next);

#endif
