/* The services' shared Redis state, by concern:
 *   reference_store.h   reference data and orders (the one writer of their hashes)
 *   order_revision.h    an order's revisions (pure)
 *   reference_replay.h  rebuilding them from Kafka
 *   event_clock.h       event clocks and the watermark
 *   timers.h            event-time timers
 *   partition_marks.h   what a service's Redis state covers
 * Include the one you use; this header includes them all for older code. */
#ifndef CW_STATE_H
#define CW_STATE_H

#include "event_clock.h"
#include "order_revision.h"
#include "partition_marks.h"
#include "reference_replay.h"
#include "reference_store.h"
#include "timers.h"

#endif
